/* core/replication.c: log replication (PROTOCOL.md, "Replication"): the
 * leader streams Proposals to each follower, pipelined up to
 * max_inflight_proposals and batched up to max_batch_entries; a follower
 * Acks what matches or Rejects with a hint; an entry of the leader's epoch
 * commits once a quorum holds it durably; Commit carries the commit index
 * and doubles as heartbeat.
 *
 * Per follower (leader side):
 *   probing --Ack--> pipelining --Reject(log_mismatch) or retry--> probing
 *   any --retry_attempts resends unanswered--> unreachable (empty probes)
 *   unreachable --any answer--> reachable */
#include "node-private.h"

#include <stdlib.h>

/* ---- leader: per-peer bookkeeping ---- */

void
replication_peer_reset_window (Peer *peer)
{
  peer->inflight_head = 0;
  peer->inflight_count = 0;
  peer->retry_deadline_ms = 0;
}

static gboolean
peer_window_open (const DsmNode *node, const Peer *peer)
{
  guint window = peer->probing || !peer->reachable ? 1 : node->config->max_inflight_proposals;
  return peer->inflight_count < window;
}

static void
peer_inflight_push (DsmNode *node, Peer *peer, guint64 last_index)
{
  guint max = node->config->max_inflight_proposals;

  g_assert (peer->inflight_count < max);
  /* Proposals go out in log order: the window's ends only grow. */
  g_assert (peer->inflight_count == 0
            || peer->inflight[(peer->inflight_head + peer->inflight_count - 1) % max] <= last_index);
  peer->inflight[(peer->inflight_head + peer->inflight_count) % max] = last_index;
  peer->inflight_count++;
  if (peer->retry_deadline_ms == 0)
    peer->retry_deadline_ms = node->now_ms + node->config->retry_delay_ms;
}

static void
peer_inflight_ack (DsmNode *node, Peer *peer, guint64 match_index)
{
  guint max = node->config->max_inflight_proposals;
  gboolean progress = FALSE;

  g_assert (peer->inflight_count <= max);
  while (peer->inflight_count > 0 && peer->inflight[peer->inflight_head] <= match_index)
    {
      peer->inflight_head = (peer->inflight_head + 1) % max;
      peer->inflight_count--;
      progress = TRUE;
    }
  if (peer->inflight_count == 0)
    peer->retry_deadline_ms = 0;
  else if (progress)
    peer->retry_deadline_ms = node->now_ms + node->config->retry_delay_ms;
}

void
replication_reset_peers (DsmNode *node)
{
  guint64 next = dsm_log_last_index (node->log) + 1;

  for (guint i = 0; i < node->n_peers; i++)
    {
      Peer *peer = &node->peers[i];
      peer->next_index = next;
      peer->match_index = 0;
      peer->probing = TRUE;
      peer->probe_next = 0;
      replication_peer_reset_window (peer);
      peer->attempts = 0;
      peer->reachable = TRUE;
      peer->last_heard_ms = node->now_ms;
      peer->last_sent_ms = 0;
      peer->acked_hb_seq = 0;
      peer->commit_sent = 0;
      peer->heartbeat_due = TRUE;
      peer->catch_up_rounds = 0;
      peer->catch_up_at_ms = node->now_ms;
      peer->answered_round = FALSE;
      snapshot_peer_reset (peer);
    }
}

/* ---- leader: sending ---- */

static void
send_proposal (DsmNode *node, Peer *peer)
{
  guint64 prev_index = peer->next_index - 1;
  guint64 prev_epoch = 0;

  g_assert (node->role == DSM_ROLE_LEADER);
  /* flush_peer() streams a snapshot to a peer behind our log's start. */
  g_assert (peer->next_index > dsm_log_start_index (node->log));
  g_assert (peer->next_index <= dsm_log_last_index (node->log) + 1);
  g_assert (peer->match_index < peer->next_index);
  gboolean held = dsm_log_epoch_at (node->log, prev_index, &prev_epoch);
  g_assert (held);
  g_assert (prev_epoch <= node->epoch);

  DsmMessage *msg = node_message (node, DSM_MSG_PROPOSAL, peer->id);
  msg->prev_index = prev_index;
  msg->prev_epoch = prev_epoch;
  msg->commit_index = node->commit_index;
  msg->hb_seq = node->hb_round;
  /* An unreachable peer gets empty probes until it answers. */
  msg->entries = peer->reachable
                     ? dsm_log_slice (node->log, peer->next_index, node->config->max_batch_entries,
                                      node->config->max_batch_bytes)
                     : g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);

  guint64 last = prev_index + msg->entries->len;
  g_assert (msg->entries->len == 0 || ((DsmEntry *) msg->entries->pdata[0])->index == prev_index + 1);
  g_assert (last <= dsm_log_last_index (node->log));
  if (peer->probing)
    peer->probe_next = peer->next_index;
  peer_inflight_push (node, peer, last);
  peer->next_index = last + 1;
  peer->commit_sent = MAX (peer->commit_sent, MIN (node->commit_index, last));
  node_send (node, msg);
}

static void
send_commit (DsmNode *node, Peer *peer)
{
  DsmMessage *msg = node_message (node, DSM_MSG_COMMIT, peer->id);

  g_assert (node->role == DSM_ROLE_LEADER);
  /* Only what the follower is known to hold: its log may still carry a
   * deposed leader's entries past match_index. */
  msg->commit_index = MIN (node->commit_index, peer->match_index);
  msg->hb_seq = node->hb_round;
  peer->commit_sent = MAX (peer->commit_sent, msg->commit_index);
  node_send (node, msg);
}

static gboolean
peer_needs_snapshot (const DsmNode *node, const Peer *peer)
{
  return peer->snapshot != NULL || peer->next_index <= dsm_log_start_index (node->log);
}

/* Whether flush_peer() would send something now; dsm_node_has_output()
 * must agree with it exactly, or hosts spin. */
gboolean
replication_peer_has_output (const DsmNode *node, const Peer *peer, gboolean read_broadcast)
{
  if (peer_needs_snapshot (node, peer))
    {
      if (!peer->snapshot_in_flight && peer->reachable)
        return TRUE;
    }
  else if (peer->next_index <= dsm_log_last_index (node->log) && peer_window_open (node, peer))
    return TRUE;
  else if (!peer->reachable && peer->inflight_count == 0)
    return TRUE;
  return peer->heartbeat_due || read_broadcast
         || peer->commit_sent < MIN (node->commit_index, peer->match_index);
}

static void
flush_peer (DsmNode *node, Peer *peer, gboolean read_broadcast)
{
  gboolean sent = FALSE;

  if (peer_needs_snapshot (node, peer))
    {
      /* Heartbeats probe an unreachable peer; chunks wait for its answer. */
      if (peer->reachable)
        sent = snapshot_flush_peer (node, peer);
    }
  else if (peer->next_index <= dsm_log_last_index (node->log) && peer_window_open (node, peer))
    {
      /* An unreachable peer's window is one Proposal, without entries. */
      while (peer->next_index <= dsm_log_last_index (node->log) && peer_window_open (node, peer))
        send_proposal (node, peer);
      sent = TRUE;
    }
  else if (!peer->reachable && peer->inflight_count == 0)
    {
      /* An empty probe asks an unreachable peer whether it is back. */
      send_proposal (node, peer);
      sent = TRUE;
    }
  if (!sent && (peer->heartbeat_due || read_broadcast
                || peer->commit_sent < MIN (node->commit_index, peer->match_index)))
    {
      send_commit (node, peer);
      sent = TRUE;
    }
  if (sent)
    {
      peer->heartbeat_due = FALSE;
      peer->last_sent_ms = node->now_ms;
    }
}

void
replication_flush (DsmNode *node)
{
  g_assert (node->role == DSM_ROLE_LEADER);
  g_assert (members_uncommitted_own_changes (node) <= 1 || MUTANT (node, DSM_MUTANT_TWO_CHANGES));
  /* A leader outside its configuration learns it was removed when it
   * applies that entry, which may trail its commit (node_apply_committed()). */
  g_assert (dsm_membership_is_voter (node->membership, node->id) || node->removed
            || node->membership_index > dsm_store_get_applied_index (node->store)
            || MUTANT (node, DSM_MUTANT_CONFIG_ON_COMMIT));

  gboolean read_broadcast = node->read_broadcast;
  node->read_broadcast = FALSE;
  for (guint i = 0; i < node->n_peers; i++)
    flush_peer (node, &node->peers[i], read_broadcast);
}

/* ---- leader: timers ---- */

static void
tick_retry (DsmNode *node, Peer *peer)
{
  if (peer->attempts < node->config->retry_attempts)
    {
      peer->attempts++;
      node->metrics.retries++;
      node_event (node, DSM_EVENT_RETRY, peer->id, peer->match_index + 1, peer->attempts,
                  DSM_REJECT_NONE, NULL);
    }
  else if (peer->reachable)
    {
      peer->reachable = FALSE;
      node->metrics.peers_unreachable_total++;
      node_event (node, DSM_EVENT_PEER_UNREACHABLE, peer->id, peer->match_index, peer->attempts,
                  DSM_REJECT_NONE, NULL);
    }
  /* Resend from what is known to match: the lost Proposal and everything
   * pipelined after it.  A lost probe is resent where it was (or where a
   * Reject since moved it back): nothing is known to match yet, which for
   * every peer of a new leader is match_index 0, and going back to index 1
   * sent a peer that was only down during the election the whole snapshot
   * (92 MB at a million machines). */
  replication_peer_reset_window (peer);
  guint64 from = peer->match_index + 1;
  if (peer->probing && peer->probe_next > from)
    from = MIN (peer->probe_next, peer->next_index);
  g_assert (from > peer->match_index && from <= peer->next_index);
  peer->next_index = from;
  peer->probing = TRUE;
  peer->snapshot_in_flight = FALSE;
}

static void
tick_check_quorum (DsmNode *node)
{
  guint64 window = node->config->election_timeout_ms_max;
  guint active = node_counts (node, node->id) ? 1 : 0;

  /* Voters only: a leader that hears from learners alone has no quorum. */
  for (guint i = 0; i < node->n_peers; i++)
    if (node->peers[i].voter && node->peers[i].last_heard_ms + window >= node->now_ms)
      active++;
  if (active < node_quorum (node))
    {
      node_become_follower (node, node->epoch, DSM_NODE_NONE,
                            "no quorum answered within the election timeout");
      return;
    }
  node->quorum_deadline_ms = node->now_ms + window;
}

void
replication_tick (DsmNode *node)
{
  gboolean new_round = FALSE;

  g_assert (node->role == DSM_ROLE_LEADER);

  for (guint i = 0; i < node->n_peers; i++)
    {
      Peer *peer = &node->peers[i];
      if (peer->retry_deadline_ms != 0 && node->now_ms >= peer->retry_deadline_ms)
        tick_retry (node, peer);
      if (!peer->heartbeat_due && node->now_ms >= peer->last_sent_ms + node->config->heartbeat_ms)
        {
          peer->heartbeat_due = TRUE;
          new_round = TRUE;
        }
    }
  /* A heartbeat starts a round of its own: a follower Acks a Commit only
   * for a round it has not echoed yet (replication_on_commit()), so an
   * idle follower's answers, which check-quorum counts, need new rounds.
   * The bug: an idle leader hears nothing and steps down. */
  if (new_round && !MUTANT (node, DSM_MUTANT_HEARTBEAT_SAME_ROUND))
    node->hb_round++;
  if (node->now_ms >= node->quorum_deadline_ms)
    tick_check_quorum (node);
}

guint64
replication_next_deadline (const DsmNode *node)
{
  guint64 next = node->quorum_deadline_ms;

  for (guint i = 0; i < node->n_peers; i++)
    {
      const Peer *peer = &node->peers[i];
      if (!peer->heartbeat_due)
        next = MIN (next, peer->last_sent_ms + node->config->heartbeat_ms);
      if (peer->retry_deadline_ms != 0)
        next = MIN (next, peer->retry_deadline_ms);
    }
  return next;
}

/* ---- leader: answers ---- */

static int
compare_desc (const void *a, const void *b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? 1 : x > y ? -1 : 0;
}

void
replication_advance_commit (DsmNode *node)
{
  if (node->role != DSM_ROLE_LEADER)
    return;

  guint64 matches[2 * DSM_MAX_NODES + 1];
  guint n = 0;
  guint quorum = node_quorum (node);
  /* The voters of the latest configuration in our log, committed or not
   * (PROTOCOL.md, "Membership changes"); ourselves only if one of them,
   * and only for what our own disk holds. */
  if (node_counts (node, node->id))
    matches[n++] = node->durable_index;
  for (guint i = 0; i < node->n_peers; i++)
    if (node->peers[i].voter)
      matches[n++] = node->peers[i].match_index;
  g_assert (n == dsm_membership_get_n_voters (node->membership)
            || MUTANT (node, DSM_MUTANT_LEARNER_COUNTS) || MUTANT (node, DSM_MUTANT_CONFIG_ON_COMMIT));
  g_assert (quorum >= 1);
  if (n < quorum)
    return;
  qsort (matches, n, sizeof matches[0], compare_desc);

  guint64 index = matches[quorum - 1];
  /* Sorted: a quorum holds at least this much. */
  g_assert (index <= matches[0]);
  if (MUTANT (node, DSM_MUTANT_COMMIT_WITHOUT_MAJORITY))
    index = node->durable_index;
  if (index <= node->commit_index)
    return;

  /* Only an entry of our own epoch commits by counting replicas; earlier
   * ones commit with it (PROTOCOL.md, "Commit rule"). */
  guint64 epoch = 0;
  gboolean held = dsm_log_epoch_at (node->log, index, &epoch);
  g_assert (held);
  g_assert (epoch <= node->epoch);
  if (epoch == node->epoch || MUTANT (node, DSM_MUTANT_COMMIT_OLD_EPOCH))
    node_set_commit (node, index);
  /* A leader commits only what its own log holds. */
  g_assert (node->commit_index <= dsm_log_last_index (node->log));
}

guint64
replication_confirmed_round (const DsmNode *node)
{
  guint quorum = node_quorum (node);
  guint64 rounds[2 * DSM_MAX_NODES];
  guint n = 0;
  /* We confirm every round ourselves, if we are a voter: the other voters
   * of a quorum must echo it. */
  guint need = node_counts (node, node->id) ? quorum - 1 : quorum;

  if (need == 0)
    return node->hb_round;
  for (guint i = 0; i < node->n_peers; i++)
    if (node->peers[i].voter)
      rounds[n++] = node->peers[i].acked_hb_seq;
  if (n < need)
    return 0;
  qsort (rounds, n, sizeof rounds[0], compare_desc);
  /* on_answer() keeps every echo at or below the rounds we started. */
  g_assert (rounds[need - 1] <= node->hb_round);
  return rounds[need - 1];
}

/* Any answer in our epoch: the peer is alive and recognises us. */
static Peer *
on_answer (DsmNode *node, const DsmMessage *msg)
{
  Peer *peer = node_find_peer (node, msg->from);

  peer->last_heard_ms = node->now_ms;
  peer->answered_round = TRUE;
  peer->attempts = 0;
  if (msg->hb_seq > peer->acked_hb_seq && msg->hb_seq <= node->hb_round)
    peer->acked_hb_seq = msg->hb_seq;
  if (!peer->reachable)
    {
      peer->reachable = TRUE;
      node_event (node, DSM_EVENT_PEER_REACHABLE, peer->id, peer->match_index, 0,
                  DSM_REJECT_NONE, NULL);
    }
  return peer;
}

void
replication_on_ack (DsmNode *node, const DsmMessage *msg)
{
  if (!node_check_epoch (node, msg))
    return;
  if (node->role != DSM_ROLE_LEADER)
    {
      node->metrics.messages_ignored++;
      return;
    }

  Peer *peer = on_answer (node, msg);
  if (peer->snapshot != NULL)
    {
      /* Streaming a snapshot: only its chunk answers move things on. */
      if (msg->last_index != 0)
        snapshot_on_ack (node, peer, msg);
    }
  else if (msg->match_index <= dsm_log_last_index (node->log))
    {
      if (msg->match_index > peer->match_index)
        peer->match_index = msg->match_index;
      if (peer->next_index <= peer->match_index)
        peer->next_index = peer->match_index + 1;
      /* The answer to our latest Proposal: the logs match, pipeline again. */
      if (msg->match_index + 1 >= peer->next_index)
        peer->probing = FALSE;
      peer_inflight_ack (node, peer, msg->match_index);
      g_assert (peer->match_index <= dsm_log_last_index (node->log));
      g_assert (peer->next_index > peer->match_index);
    }
  transfer_on_ack (node, peer);
  replication_advance_commit (node);
  client_on_read_confirmed (node, replication_confirmed_round (node));
}

void
replication_on_reject (DsmNode *node, const DsmMessage *msg)
{
  if (!node_check_epoch (node, msg))
    return;
  if (node->role != DSM_ROLE_LEADER || msg->reason != DSM_REJECT_LOG_MISMATCH)
    {
      node->metrics.messages_ignored++;
      return;
    }

  Peer *peer = on_answer (node, msg);
  /* Ignore answers to Proposals overtaken since: sent before a snapshot,
   * before the last Ack, or before we rewound (every Proposal sent since
   * the rewind has prev_index < next_index). */
  if (peer->snapshot != NULL || msg->prev_index < peer->match_index
      || msg->prev_index >= peer->next_index)
    return;
  if (msg->hint_epoch == 0 && msg->hint_index <= peer->match_index)
    {
      /* The follower's log ends before entries it acknowledged: its disk
       * lost them (a lying fsync, outside what consensus can promise to
       * survive).  Replicate them again rather than retry forever. */
      node->metrics.peers_data_loss++;
      node_event (node, DSM_EVENT_DATA_LOSS, peer->id, msg->hint_index - 1, peer->match_index,
                  DSM_REJECT_NONE, NULL);
      peer->match_index = msg->hint_index - 1;
    }
  guint64 next = MIN (msg->prev_index, msg->hint_index);
  peer->next_index = MAX (peer->match_index + 1, MAX (next, 1));
  /* Rewinds only: the Reject answered a Proposal from below next_index. */
  g_assert (peer->next_index > peer->match_index);
  peer->probing = TRUE;
  replication_peer_reset_window (peer);
  client_on_read_confirmed (node, replication_confirmed_round (node));
}

/* ---- follower ---- */

void
replication_send_reject (DsmNode *node, DsmNodeId to, DsmRejectReason reason,
                         const DsmMessage *about)
{
  DsmMessage *msg = node_message (node, DSM_MSG_REJECT, to);

  msg->reason = reason;
  msg->prev_index = about->prev_index;
  msg->hb_seq = about->hb_seq;
  if (reason == DSM_REJECT_LOG_MISMATCH)
    {
      guint64 last = dsm_log_last_index (node->log);
      if (last < about->prev_index)
        msg->hint_index = last + 1;
      else
        {
          /* Skip back over the whole conflicting epoch at once. */
          gboolean held = dsm_log_epoch_at (node->log, about->prev_index, &msg->hint_epoch);
          g_assert (held);
          msg->hint_index = dsm_log_first_index_of_epoch (node->log, about->prev_index);
        }
    }
  node_event (node, DSM_EVENT_REJECT, to, about->prev_index, 0, reason, NULL);
  node_send (node, msg);
}

/* A valid message from the leader of our epoch: follow it. */
gboolean
replication_follow_leader (DsmNode *node, const DsmMessage *msg)
{
  if (!node_check_epoch (node, msg))
    return FALSE;
  if (node->role == DSM_ROLE_LEADER)
    {
      /* Two leaders in one epoch cannot happen (PROTOCOL.md, "Election
       * safety"); a forged message must not make us act on it. */
      node->metrics.messages_ignored++;
      return FALSE;
    }
  if (node->role != DSM_ROLE_FOLLOWER || node->leader_id != msg->from)
    node_become_follower (node, node->epoch, msg->from, "heard from the leader");
  node->last_leader_contact_ms = node->now_ms;
  node->election_deadline_ms = node->now_ms + node_random_election_timeout (node);
  return TRUE;
}

static void
send_ack (DsmNode *node, const DsmMessage *about, guint64 match_index)
{
  DsmMessage *msg = node_message (node, DSM_MSG_ACK, about->from);

  msg->match_index = match_index;
  msg->hb_seq = about->hb_seq;
  node->last_ack_epoch = node->epoch;
  node->last_ack_to = about->from;
  node->last_ack_hb_seq = about->hb_seq;
  node_send (node, msg);
}

/* A follower whose disk is full takes nothing from the leader: entries it
 * could not make durable would wait in memory, and the Ack for them could
 * never leave (rule P).  It answers nothing, so the leader counts it
 * unreachable, as if it were cut off, until its disk has room. */
gboolean
replication_disk_full (DsmNode *node)
{
  if (!node->disk_full)
    return FALSE;
  node->metrics.messages_ignored++;
  return TRUE;
}

void
replication_on_proposal (DsmNode *node, const DsmMessage *msg)
{
  if (!replication_follow_leader (node, msg) || replication_disk_full (node))
    return;

  guint n = msg->entries != NULL ? msg->entries->len : 0;
  guint first = 0;
  guint64 snapshot_index = dsm_log_start_index (node->log);

  if (msg->prev_index < snapshot_index)
    {
      /* What we compacted is committed, hence in the leader's log too. */
      while (first < n && ((DsmEntry *) msg->entries->pdata[first])->index <= snapshot_index)
        first++;
    }
  else
    {
      guint64 epoch = 0;
      if (!dsm_log_epoch_at (node->log, msg->prev_index, &epoch) || epoch != msg->prev_epoch)
        {
          replication_send_reject (node, msg->from, DSM_REJECT_LOG_MISMATCH, msg);
          return;
        }
    }

  for (guint i = first; i < n; i++)
    {
      DsmEntry *entry = msg->entries->pdata[i];
      guint64 epoch = 0;
      if (dsm_log_epoch_at (node->log, entry->index, &epoch))
        {
          if (epoch == entry->epoch)
            continue;
          if (entry->index <= node->commit_index)
            {
              node->metrics.messages_ignored++;
              return; /* would rewrite a committed entry: not from a real leader */
            }
          node_log_truncate (node, entry->index);
        }
      node_log_append (node, entry);
    }

  guint64 match = MAX (msg->prev_index + n, snapshot_index);
  /* The Ack claims what the log now holds, matching the leader's. */
  g_assert (match <= dsm_log_last_index (node->log));
  if (msg->commit_index > node->commit_index)
    node_set_commit (node, MIN (msg->commit_index, match));
  g_assert (node->commit_index <= dsm_log_last_index (node->log));
  if (MUTANT (node, DSM_MUTANT_APPLY_BEFORE_COMMIT))
    node_apply_committed (node);
  node_persist_entries_flush (node);
  send_ack (node, msg, match);
}

void
replication_on_commit (DsmNode *node, const DsmMessage *msg)
{
  if (!replication_follow_leader (node, msg))
    return;
  guint64 last = dsm_log_last_index (node->log);
  /* What is committed may be applied with a full disk too (stale reads). */
  if (msg->commit_index > node->commit_index)
    node_set_commit (node, MIN (msg->commit_index, last));
  g_assert (node->commit_index <= last);
  if (replication_disk_full (node))
    return;
  if (msg->commit_index > last)
    {
      /* The leader only tells us what we acknowledged: we lost some of it
       * (a disk that lied about an fsync).  Say where our log ends. */
      DsmMessage about = *msg;
      about.prev_index = msg->commit_index;
      replication_send_reject (node, msg->from, DSM_REJECT_LOG_MISMATCH, &about);
      return;
    }
  /* An Ack of a Commit says only "alive, and I echo your round": match_index
   * 0 moves no commit.  If our last Ack to this leader in this epoch
   * already echoed this round, it said all of that (PROTOCOL.md, "Commit");
   * the leader starts a new round for every heartbeat and every read, so
   * check-quorum and reads still hear from us each round. */
  if (node->last_ack_epoch == node->epoch && node->last_ack_to == msg->from
      && node->last_ack_hb_seq == msg->hb_seq)
    {
      node->metrics.commits_unanswered++;
      return;
    }
  send_ack (node, msg, 0);
}
