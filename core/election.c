/* core/election.c: leader election (PROTOCOL.md, "Elections"): randomized
 * timeouts, a pre-vote round that changes no state, then a real vote in
 * epoch + 1.  A vote goes only to a candidate whose log is at least as up
 * to date as the voter's, and at most once per epoch (voted_for is durable
 * before the Vote leaves).
 *
 *   follower/candidate --timeout--> pre-candidate   election_start_pre_vote()
 *   pre-candidate --quorum--> candidate             election_start()
 *   candidate --quorum--> leader                    node_become_leader()
 */
#include "node-private.h"

/* A follower that heard from a leader within the minimum election timeout,
 * or a leader that a quorum answered recently, refuses to help depose it:
 * a node cut off and rejoining cannot disrupt a healthy cluster. */
gboolean
election_in_lease (const DsmNode *node)
{
  if (node->role == DSM_ROLE_LEADER)
    return TRUE;
  return node->leader_id != DSM_NODE_NONE
         && node->now_ms < node->last_leader_contact_ms + node->config->election_timeout_ms_min;
}

/* A node answers a vote request whatever its own log says of it: a
 * learner promoted by an entry it has not received yet is a voter in the
 * candidate's configuration, and its vote is needed (Raft thesis §4.1:
 * servers answer without consulting their configuration).  Candidates
 * ask, and count, only the voters of their own configuration, so a
 * learner's vote counts exactly where it is a voter.  Only a removed node
 * (the committed configuration says so: for good) stays out. */
static gboolean
election_may_vote (const DsmNode *node)
{
  return !node->removed;
}

static gboolean
log_up_to_date (const DsmNode *node, const DsmMessage *msg)
{
  guint64 last_epoch = dsm_log_last_epoch (node->log);

  if (MUTANT (node, DSM_MUTANT_VOTE_ANY_LOG))
    return TRUE;
  return msg->last_epoch > last_epoch
         || (msg->last_epoch == last_epoch && msg->last_index >= dsm_log_last_index (node->log));
}

/* Voters of the latest configuration in our log campaign, and so does a
 * voter of the committed one that an entry not yet committed removes: its
 * log may be the only one holding that entry, so without it nobody could
 * win (Raft thesis §4.2.2); it does not count its own vote.  Learners
 * never campaign, nor does a node whose removal committed, nor one that
 * cannot apply what it committed (PROTOCOL.md, "Learners", "Entries a
 * node cannot apply"). */
gboolean
election_may_campaign (const DsmNode *node)
{
  if (node->removed || node->stalled_index != 0)
    return FALSE;
  if (node->voter && node_counts (node, node->id))
    return TRUE;
  return dsm_membership_find (node->membership, node->id) == NULL
         && dsm_membership_is_voter (dsm_store_get_membership (node->store, NULL), node->id);
}

/* Votes are asked of the voters only: nobody else's answer counts. */
static void
broadcast_vote_request (DsmNode *node, guint64 epoch, gboolean pre_vote, gboolean transfer)
{
  g_assert (election_may_campaign (node));
  for (guint i = 0; i < node->n_peers; i++)
    {
      if (!node->peers[i].voter)
        continue;
      DsmMessage *msg = node_message (node, DSM_MSG_VOTE_REQUEST, node->peers[i].id);
      msg->epoch = epoch;
      msg->pre_vote = pre_vote;
      msg->transfer = transfer;
      msg->last_index = dsm_log_last_index (node->log);
      msg->last_epoch = dsm_log_last_epoch (node->log);
      node_send (node, msg);
    }
}

static void
election_start (DsmNode *node, gboolean transfer)
{
  g_assert (node->role == DSM_ROLE_PRE_CANDIDATE);
  g_assert (election_may_campaign (node));

  guint64 was_epoch = node->epoch;
  node->role = DSM_ROLE_CANDIDATE;
  node->epoch++;
  g_assert (node->epoch == was_epoch + 1);
  node->voted_for = node->id;
  node->leader_id = DSM_NODE_NONE;
  node_persist_hard_state (node);
  for (guint i = 0; i < node->n_peers; i++)
    node->peers[i].vote_answered = node->peers[i].vote_granted = FALSE;
  /* Our own vote, if we are a voter of our configuration. */
  node->votes_granted = node_counts (node, node->id) ? 1 : 0;
  node->votes_denied = 0;
  node->election_deadline_ms = node->now_ms + node_random_election_timeout (node);
  g_assert (node->election_deadline_ms > node->now_ms);
  node->metrics.elections_started++;
  node_event (node, DSM_EVENT_ELECTION_START, DSM_NODE_NONE, dsm_log_last_index (node->log),
              0, DSM_REJECT_NONE, NULL);
  node_event (node, DSM_EVENT_ROLE_CHANGE, DSM_NODE_NONE, 0, 0, DSM_REJECT_NONE,
              transfer ? "the leader handed over" : "pre-vote won");
  broadcast_vote_request (node, node->epoch, FALSE, transfer);
  if (node->votes_granted >= node_quorum (node))
    node_become_leader (node);
}

/* TimeoutNow: no pre-vote (the leader vouches for us), and our requests
 * carry `transfer` so that voters in lease answer them. */
void
election_start_transfer (DsmNode *node)
{
  g_assert (node->role == DSM_ROLE_FOLLOWER);
  node->role = DSM_ROLE_PRE_CANDIDATE;
  election_start (node, TRUE);
}

void
election_start_pre_vote (DsmNode *node)
{
  g_assert (node->role != DSM_ROLE_LEADER);
  g_assert (election_may_campaign (node));

  DsmRole was = node->role;
  node->role = DSM_ROLE_PRE_CANDIDATE;
  node->leader_id = DSM_NODE_NONE;
  for (guint i = 0; i < node->n_peers; i++)
    node->peers[i].vote_answered = node->peers[i].vote_granted = FALSE;
  /* Our own vote, if we are a voter of our configuration. */
  node->votes_granted = node_counts (node, node->id) ? 1 : 0;
  node->votes_denied = 0;
  node->election_deadline_ms = node->now_ms + node_random_election_timeout (node);
  node_event (node, DSM_EVENT_ELECTION_START, DSM_NODE_NONE, dsm_log_last_index (node->log),
              1, DSM_REJECT_NONE, NULL);
  if (was != DSM_ROLE_PRE_CANDIDATE)
    node_event (node, DSM_EVENT_ROLE_CHANGE, DSM_NODE_NONE, 0, 0, DSM_REJECT_NONE, "election timeout");
  broadcast_vote_request (node, node->epoch + 1, TRUE, FALSE);
  if (node->votes_granted >= node_quorum (node))
    election_start (node, FALSE);
}

void
election_tick (DsmNode *node)
{
  g_assert (node->role != DSM_ROLE_LEADER);
  if (node->now_ms < node->election_deadline_ms)
    return;
  if (!election_may_campaign (node) || node->disk_full)
    {
      /* A learner, a node that joined and is not a member yet, a removed
       * node: never a VoteRequest (the timer only keeps its rhythm).  A
       * node whose disk is full could not make its epoch and its vote for
       * itself durable, so its VoteRequests could never leave (rule P). */
      node->election_deadline_ms = node->now_ms + node_random_election_timeout (node);
      return;
    }
  election_start_pre_vote (node);
}

static void
reply_vote (DsmNode *node, const DsmMessage *request, guint64 epoch, gboolean granted)
{
  DsmMessage *msg = node_message (node, DSM_MSG_VOTE, request->from);
  msg->epoch = epoch;
  msg->pre_vote = request->pre_vote;
  msg->granted = granted;
  node_send (node, msg);
}

static void
on_pre_vote_request (DsmNode *node, const DsmMessage *msg)
{
  /* Granting a pre-vote changes nothing here: not our epoch, not our vote. */
  gboolean grant = msg->epoch > node->epoch && !election_in_lease (node) && log_up_to_date (node, msg)
                   && election_may_vote (node);

  reply_vote (node, msg, grant ? msg->epoch : node->epoch, grant);
}

/* A candidate the committed membership removed: tell it, instead of a vote
 * (its own log may not have the entry that removed it). */
static gboolean
election_tell_removed (DsmNode *node, const DsmMessage *msg)
{
  const DsmMembership *committed = dsm_store_get_membership (node->store, NULL);

  if (!dsm_membership_was_removed (committed, msg->from))
    return FALSE;
  DsmMessage *reject = node_message (node, DSM_MSG_REJECT, msg->from);
  reject->reason = DSM_REJECT_REMOVED;
  node_event (node, DSM_EVENT_REJECT, msg->from, 0, 0, DSM_REJECT_REMOVED, "it was removed from the cluster");
  node_send (node, reject);
  return TRUE;
}

void
election_on_vote_request (DsmNode *node, const DsmMessage *msg)
{
  if (election_tell_removed (node, msg))
    return;
  if (msg->pre_vote)
    {
      on_pre_vote_request (node, msg);
      return;
    }
  if (node->disk_full)
    {
      /* Neither a new epoch nor a vote could be made durable, and the Vote
       * would wait for that forever: as if the request were lost. */
      node->metrics.messages_ignored++;
      return;
    }
  if (msg->epoch < node->epoch)
    {
      node->metrics.messages_ignored++;
      reply_vote (node, msg, node->epoch, FALSE);
      return;
    }
  if (msg->epoch > node->epoch)
    {
      /* A transfer's candidate was sent by the leader itself: the lease
       * that guards the leader must not stop it (PROTOCOL.md, "Leadership
       * transfer"). */
      if (election_in_lease (node) && !msg->transfer)
        {
          node->metrics.messages_ignored++;
          return;
        }
      node_become_follower (node, msg->epoch, DSM_NODE_NONE, "vote requested in a higher epoch");
    }

  gboolean free_to_vote = node->voted_for == DSM_NODE_NONE || node->voted_for == msg->from
                          || MUTANT (node, DSM_MUTANT_DOUBLE_VOTE);
  gboolean grant = free_to_vote && node->role != DSM_ROLE_LEADER && log_up_to_date (node, msg)
                   && election_may_vote (node);
  /* A request from an older epoch was answered above; a newer one made
   * us a follower of its epoch. */
  g_assert (msg->epoch == node->epoch);
  if (grant)
    {
      /* The vote must be durable before the reply leaves: a restart must not
       * let us vote twice in one epoch (node_send holds the Vote). */
      /* (The double-vote mutant grants a second vote without recording it.) */
      if (node->voted_for == DSM_NODE_NONE)
        {
          node->voted_for = msg->from;
          node_persist_hard_state (node);
        }
      g_assert (node->voted_for == msg->from || MUTANT (node, DSM_MUTANT_DOUBLE_VOTE));
      g_assert (node->role != DSM_ROLE_LEADER);
      node->election_deadline_ms = node->now_ms + node_random_election_timeout (node);
    }
  reply_vote (node, msg, node->epoch, grant);
}

void
election_on_vote (DsmNode *node, const DsmMessage *msg)
{
  if (msg->epoch > node->epoch && !(msg->pre_vote && msg->granted))
    {
      node_become_follower (node, msg->epoch, DSM_NODE_NONE, "a voter is in a higher epoch");
      return;
    }

  gboolean counts = msg->pre_vote ? node->role == DSM_ROLE_PRE_CANDIDATE && msg->epoch == node->epoch + 1
                                  : node->role == DSM_ROLE_CANDIDATE && msg->epoch == node->epoch;
  Peer *peer = node_find_peer (node, msg->from);
  /* Only a voter of our configuration is part of our quorum. */
  if (!counts || peer->vote_answered || !peer->voter)
    {
      if (!counts)
        node->metrics.messages_ignored++;
      return;
    }
  g_assert (node->role == DSM_ROLE_CANDIDATE || node->role == DSM_ROLE_PRE_CANDIDATE);
  peer->vote_answered = TRUE;
  peer->vote_granted = msg->granted;
  if (msg->granted)
    node->votes_granted++;
  else
    node->votes_denied++;

  g_assert (node->votes_granted <= dsm_membership_get_n_voters (node->membership)
            || MUTANT (node, DSM_MUTANT_CONFIG_ON_COMMIT));
  g_assert (node->votes_granted + node->votes_denied <= node->n_peers + 1);
  if (node->votes_granted >= node_quorum (node))
    {
      if (msg->pre_vote)
        election_start (node, FALSE);
      else
        node_become_leader (node);
    }
  else if (node->votes_denied >= node_quorum (node))
    node_become_follower (node, node->epoch, DSM_NODE_NONE, "a quorum refused its vote");
}
