/* core/transfer.c: leadership transfer (PROTOCOL.md, "Leadership
 * transfer"): the leader stops proposing, brings the target's log up to
 * its own, sends it TimeoutNow, and the target campaigns at once without a
 * pre-vote, its VoteRequests marked so that voters in lease answer them.
 * Bounded: after twice the maximum election timeout the leader resumes.
 * TimeoutNow names the leader's last index and epoch, and goes again on
 * every later Ack of the target until the deadline (one may be lost); the
 * target campaigns only if its log ends there (a stale one, delayed past
 * an aborted transfer, is ignored).
 *
 *   leading --transfer_start()--> catching up --target matches our log--> TimeoutNow sent
 *   TimeoutNow sent --another Ack matching our log--> TimeoutNow sent again
 *   TimeoutNow sent --higher epoch--> follower (done)
 *   catching up / TimeoutNow sent --deadline--> leading (aborted), or follower if resigning */
#include "node-private.h"

gboolean
transfer_in_progress (const DsmNode *node)
{
  return node->transfer_target != DSM_NODE_NONE;
}

static void
transfer_send_timeout_now (DsmNode *node, Peer *peer)
{
  DsmMessage *msg = node_message (node, DSM_MSG_TIMEOUT_NOW, peer->id);

  msg->last_index = dsm_log_last_index (node->log);
  msg->last_epoch = dsm_log_last_epoch (node->log);
  /* A transfer holds new proposals: the log we vouch for stops growing. */
  g_assert (peer->match_index == msg->last_index);
  node_event (node, DSM_EVENT_TRANSFER, peer->id, peer->match_index, 1, DSM_REJECT_NONE,
              "node %u has our log: TimeoutNow sent", peer->id);
  node_send (node, msg);
}

gboolean
transfer_start (DsmNode *node, DsmNodeId target, gboolean resign, GError **error)
{
  g_assert (node->role == DSM_ROLE_LEADER);

  if (transfer_in_progress (node))
    {
      g_set_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_BUSY,
                   "a transfer to node %u is under way", node->transfer_target);
      return FALSE;
    }
  Peer *peer = target == DSM_NODE_NONE ? members_best_voter (node) : node_find_peer (node, target);
  if (peer == NULL || !peer->voter || peer->departing)
    {
      if (target == DSM_NODE_NONE)
        g_set_error_literal (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_NOT_LEADER,
                             "no other voter to hand leadership to");
      else
        g_set_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_NOT_LEADER,
                     "node %u is not a voter of the configuration", target);
      return FALSE;
    }
  node->transfer_target = peer->id;
  node->transfer_deadline_ms = node->now_ms + 2 * (guint64) node->config->election_timeout_ms_max;
  node->transfer_resign = resign;
  node->metrics.transfers_started++;
  node_event (node, DSM_EVENT_TRANSFER, peer->id, dsm_log_last_index (node->log), 0, DSM_REJECT_NONE,
              "handing leadership to node %u%s", peer->id, resign ? " (this node was removed)" : "");
  transfer_on_ack (node, peer);
  return TRUE;
}

/* The target's log reached ours: it may win now.  Sent again on every
 * later Ack until the deadline, since a TimeoutNow may be lost. */
void
transfer_on_ack (DsmNode *node, Peer *peer)
{
  if (!transfer_in_progress (node) || peer->id != node->transfer_target)
    return;
  g_assert (node->role == DSM_ROLE_LEADER);
  if (peer->match_index >= dsm_log_last_index (node->log))
    transfer_send_timeout_now (node, peer);
}

static void
transfer_end (DsmNode *node, guint64 outcome, const char *why)
{
  DsmNodeId target = node->transfer_target;

  g_assert (transfer_in_progress (node));
  node->transfer_target = DSM_NODE_NONE;
  if (outcome == 2)
    node->metrics.transfers_completed++;
  node_event (node, DSM_EVENT_TRANSFER, target, dsm_log_last_index (node->log), outcome,
              DSM_REJECT_NONE, "%s", why);
}

void
transfer_tick (DsmNode *node)
{
  if (!transfer_in_progress (node) || node->now_ms < node->transfer_deadline_ms)
    return;
  gboolean resign = node->transfer_resign;
  transfer_end (node, 3, "the target did not take over in time; leading again");
  if (resign || node->stalled_index != 0)
    node_become_follower (node, node->epoch, DSM_NODE_NONE, "resigning: no successor took over in time");
  else
    client_on_transfer_end (node);
}

guint64
transfer_next_deadline (const DsmNode *node)
{
  return transfer_in_progress (node) ? node->transfer_deadline_ms : G_MAXUINT64;
}

/* Done only if a later epoch took over; a step-down in our own epoch
 * (check-quorum, a full disk) ends it unfinished. */
void
transfer_on_step_down (DsmNode *node, gboolean newer_epoch)
{
  if (!transfer_in_progress (node))
    return;
  if (newer_epoch)
    transfer_end (node, 2, "stepped down: leadership moved on");
  else
    transfer_end (node, 3, "stepped down in its own epoch before a successor took over");
}

/* The leader of our epoch hands us leadership: campaign now. */
void
transfer_on_timeout_now (DsmNode *node, const DsmMessage *msg)
{
  if (!replication_follow_leader (node, msg))
    return;
  if (!election_may_campaign (node) || node->disk_full)
    {
      node->metrics.messages_ignored++;
      return;
    }
  /* The leader vouches for a log ending at (last_index, last_epoch): a
   * TimeoutNow about another log (stale, from a transfer that ended) would
   * have us bypass every voter's lease for nothing.  0: a sender that
   * predates the fields. */
  if (msg->last_index != 0
      && (msg->last_index != dsm_log_last_index (node->log) || msg->last_epoch != dsm_log_last_epoch (node->log)))
    {
      node->metrics.messages_ignored++;
      node_event (node, DSM_EVENT_TRANSFER, msg->from, dsm_log_last_index (node->log), 5, DSM_REJECT_NONE,
                  "TimeoutNow from node %u for a log ending at %" G_GUINT64_FORMAT " (epoch %" G_GUINT64_FORMAT
                  "), not ours: ignored", msg->from, msg->last_index, msg->last_epoch);
      return;
    }
  node_event (node, DSM_EVENT_TRANSFER, msg->from, dsm_log_last_index (node->log), 4, DSM_REJECT_NONE,
              "node %u hands leadership over: campaigning now", msg->from);
  election_start_transfer (node);
}

gboolean
dsm_node_transfer_leadership (DsmNode *node, guint64 now_ms, DsmNodeId target, GError **error)
{
  g_return_val_if_fail (node != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (now_ms > node->now_ms)
    node->now_ms = now_ms;
  if (node->role != DSM_ROLE_LEADER)
    {
      g_set_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_NOT_LEADER,
                   "not the leader (the leader is %s%u)", node->leader_id != DSM_NODE_NONE ? "node " : "unknown",
                   node->leader_id);
      return FALSE;
    }
  if (target == node->id)
    {
      g_set_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_NOT_LEADER,
                   "node %u leads already", target);
      return FALSE;
    }
  return transfer_start (node, target, FALSE, error);
}

DsmNodeId
dsm_node_get_transfer_target (const DsmNode *node)
{
  g_return_val_if_fail (node != NULL, DSM_NODE_NONE);
  return node->transfer_target;
}
