/* core/node.c: one node's consensus engine: its inputs and outputs, the
 * persist-before-send gate, role changes, commit and apply.  Elections,
 * replication, client requests and snapshots live in their own files.
 *
 * Roles (PROTOCOL.md, "Roles"):
 *
 *   follower --election timeout--> pre-candidate    election_start_pre_vote()
 *   pre-candidate --quorum of pre-votes--> candidate (epoch + 1)
 *   candidate --quorum of votes--> leader            node_become_leader()
 *   any --higher epoch, or a leader's message--> follower   node_become_follower()
 *   leader --no quorum heard for an election timeout--> follower
 */
#include "node-private.h"

#include <string.h>

#include "codec.h"

/* ---- small helpers shared by the engine's files ---- */

/* The membership quorums are counted in: the latest in the log (the
 * config-on-commit mutant uses the committed one instead). */
static const DsmMembership *
node_quorum_membership (const DsmNode *node)
{
  if (MUTANT (node, DSM_MUTANT_CONFIG_ON_COMMIT))
    return dsm_store_get_membership (node->store, NULL);
  return node->membership;
}

guint
node_quorum (const DsmNode *node)
{
  return dsm_membership_quorum (node_quorum_membership (node));
}

gboolean
node_counts (const DsmNode *node, DsmNodeId id)
{
  if (MUTANT (node, DSM_MUTANT_LEARNER_COUNTS) && node->role == DSM_ROLE_LEADER && id != node->id)
    return dsm_membership_find (node_quorum_membership (node), id) != NULL;
  return dsm_membership_is_voter (node_quorum_membership (node), id);
}

Peer *
node_find_peer (DsmNode *node, DsmNodeId id)
{
  for (guint i = 0; i < node->n_peers; i++)
    if (node->peers[i].id == id)
      return &node->peers[i];
  return NULL;
}

guint64
node_random_election_timeout (DsmNode *node)
{
  guint min = node->config->election_timeout_ms_min;
  guint max = node->config->election_timeout_ms_max;

  return min + (guint64) g_rand_int_range (node->rng, 0, (gint32) (max - min + 1));
}

DsmMessage *
node_message (DsmNode *node, DsmMessageType type, DsmNodeId to)
{
  return dsm_message_new (type, node->id, to, node->epoch);
}

/* Messages that promise something about our durable state wait for the
 * persists issued before them (PROTOCOL.md, "Persist before send"): a Vote
 * promises voted_for, an Ack promises the entries, a VoteRequest our epoch.
 * A leader's Proposals and Commits go at once: it counts itself towards a
 * commit only once its own write is durable. */
static gboolean
node_send_needs_persist (const DsmNode *node, const DsmMessage *msg)
{
  switch (msg->type)
    {
    case DSM_MSG_VOTE_REQUEST:
      return !msg->pre_vote;
    case DSM_MSG_VOTE:
      return !msg->pre_vote && !MUTANT (node, DSM_MUTANT_ACK_BEFORE_PERSIST)
             && !MUTANT (node, DSM_MUTANT_VOTE_BEFORE_PERSIST);
    case DSM_MSG_ACK:
      return !MUTANT (node, DSM_MUTANT_ACK_BEFORE_PERSIST);
    case DSM_MSG_REJECT:
      return msg->reason == DSM_REJECT_STALE_EPOCH || msg->reason == DSM_REJECT_LOG_MISMATCH;
    case DSM_MSG_PROPOSAL:
    case DSM_MSG_COMMIT:
    case DSM_MSG_CLIENT_REQUEST:
    case DSM_MSG_CLIENT_REPLY:
    case DSM_MSG_SNAPSHOT:
    case DSM_MSG_N_TYPES:
    default:
      return FALSE;
    }
}

void
node_send (DsmNode *node, DsmMessage *msg)
{
  g_assert (msg->from == node->id);
  g_assert (msg->to != node->id);
  /* Only voters campaign (and a voter removed by an entry not yet
   * committed); a removed node never does (PROTOCOL.md, "Membership changes"). */
  g_assert (msg->type != DSM_MSG_VOTE_REQUEST || election_may_campaign (node));
  /* A leader replicates to peers only: members, or members being removed. */
  g_assert (msg->type != DSM_MSG_PROPOSAL || node_find_peer (node, msg->to) != NULL);
  /* They index the counters below. */
  g_assert ((guint) msg->type < DSM_MSG_N_TYPES);
  g_assert (msg->type != DSM_MSG_REJECT || (guint) msg->reason < DSM_REJECT_N_REASONS);

  node->metrics.messages_sent[msg->type]++;
  if (msg->type == DSM_MSG_REJECT)
    node->metrics.rejects_sent[msg->reason]++;
  if (node->persisted_seq < node->persist_seq && node_send_needs_persist (node, msg))
    {
      HeldMessage *held = g_new (HeldMessage, 1);
      held->msg = msg;
      held->seq = node->persist_seq;
      g_queue_push_tail (&node->held, held);
      return;
    }
  g_ptr_array_add (node->out.messages, msg);
}

void
node_event (DsmNode *node, DsmEventKind kind, DsmNodeId peer, guint64 index,
            guint64 value, DsmRejectReason reason, const char *format, ...)
{
  g_assert ((guint) kind < 32); /* a bit of event_mask */
  if ((node->event_mask & (1u << kind)) == 0)
    return;

  DsmEvent *event = g_new0 (DsmEvent, 1);
  event->kind = kind;
  event->time_ms = node->now_ms;
  event->node = node->id;
  event->epoch = node->epoch;
  event->role = node->role;
  event->peer = peer;
  event->index = index;
  event->value = value;
  event->reason = reason;
  if (format != NULL)
    {
      va_list args;
      va_start (args, format);
      event->detail = g_strdup_vprintf (format, args);
      va_end (args);
    }
  g_ptr_array_add (node->out.events, event);
}

/* ---- persistence ---- */

static void
persist_push (DsmNode *node, DsmPersist *persist)
{
  persist->seq = ++node->persist_seq;
  node->metrics.persists++;
  g_ptr_array_add (node->out.persists, persist);
}

void
node_persist_hard_state (DsmNode *node)
{
  DsmPersist *persist = g_new0 (DsmPersist, 1);

  persist->kind = DSM_PERSIST_HARD_STATE;
  persist->epoch = node->epoch;
  persist->voted_for = node->voted_for;
  persist_push (node, persist);
}

/* One ENTRIES persist covers everything appended since the last one: the
 * leader's group commit starts here. */
void
node_persist_entries_flush (DsmNode *node)
{
  if (node->unpersisted_from == 0)
    return;

  guint64 last = dsm_log_last_index (node->log);
  /* A truncation leaves it one past the log's end (node_log_truncate()). */
  g_assert (node->unpersisted_from <= last + 1);
  DsmPersist *persist = g_new0 (DsmPersist, 1);
  persist->kind = DSM_PERSIST_ENTRIES;
  persist->first_index = node->unpersisted_from;
  persist->entries = node->unpersisted_from <= last
                         ? dsm_log_slice (node->log, node->unpersisted_from, G_MAXUINT, G_MAXSIZE)
                         : g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  persist_push (node, persist);
  node->unpersisted_from = 0;

  PendingWrite *write = g_new (PendingWrite, 1);
  write->seq = persist->seq;
  write->last_index = last;
  g_queue_push_tail (&node->writes, write);
}

/* Returns the persist's seq.  Once it lands, the durable log reaches as far
 * as every entry already handed to an earlier persist. */
guint64
node_persist_snapshot (DsmNode *node, guint64 index, guint64 epoch, GBytes *snapshot,
                       gboolean reset_log)
{
  DsmPersist *persist = g_new0 (DsmPersist, 1);

  g_assert (snapshot != NULL);
  g_assert (epoch <= node->epoch); /* a snapshot holds entries we accepted */
  persist->kind = DSM_PERSIST_SNAPSHOT;
  persist->index = index;
  persist->snapshot_epoch = epoch;
  persist->snapshot = g_bytes_ref (snapshot);
  persist->reset_log = reset_log;
  persist_push (node, persist);

  PendingWrite *write = g_new (PendingWrite, 1);
  write->seq = persist->seq;
  write->last_index = dsm_log_last_index (node->log);
  if (node->unpersisted_from != 0)
    write->last_index = MIN (write->last_index, node->unpersisted_from - 1);
  g_queue_push_tail (&node->writes, write);
  return persist->seq;
}

static void
node_mark_unpersisted (DsmNode *node, guint64 index)
{
  if (node->unpersisted_from == 0 || index < node->unpersisted_from)
    node->unpersisted_from = index;
}

void
node_log_append (DsmNode *node, DsmEntry *entry)
{
  /* Committed entries never change; the log grows one entry at a time. */
  g_assert (entry->index > node->commit_index);
  g_assert (entry->index == dsm_log_last_index (node->log) + 1);
  dsm_log_append (node->log, entry);
  node_mark_unpersisted (node, entry->index);
  members_on_append (node, entry);
}

void
node_log_truncate (DsmNode *node, guint64 index)
{
  /* Committed entries never change (PROTOCOL.md, "Log matching"). */
  g_assert (index > node->commit_index);
  dsm_log_truncate_from (node->log, index);
  node_mark_unpersisted (node, index);
  if (node->durable_index >= index)
    node->durable_index = index - 1;
  members_on_truncate (node, index);
  client_on_truncate (node, index);
}

/* ---- roles ---- */

static void
node_reset_votes (DsmNode *node)
{
  for (guint i = 0; i < node->n_peers; i++)
    {
      node->peers[i].vote_answered = FALSE;
      node->peers[i].vote_granted = FALSE;
    }
  node->votes_granted = 0;
  node->votes_denied = 0;
}

void
node_become_follower (DsmNode *node, guint64 epoch, DsmNodeId leader, const char *why)
{
  g_assert (epoch >= node->epoch);

  DsmRole was = node->role;
  DsmNodeId had_leader = node->leader_id;
  gboolean newer = epoch > node->epoch;
  if (epoch > node->epoch)
    {
      node->epoch = epoch;
      node->voted_for = DSM_NODE_NONE;
      node_persist_hard_state (node);
    }
  if (was == DSM_ROLE_LEADER)
    {
      transfer_on_step_down (node, newer);
      node->metrics.step_downs++;
      node_event (node, DSM_EVENT_STEP_DOWN, DSM_NODE_NONE, 0, 0, DSM_REJECT_NONE, "%s", why);
      g_hash_table_remove_all (node->proposed);
    }
  else if (was == DSM_ROLE_CANDIDATE || was == DSM_ROLE_PRE_CANDIDATE)
    {
      node->metrics.elections_lost++;
      node_event (node, DSM_EVENT_ELECTION_LOST, DSM_NODE_NONE, 0, 0, DSM_REJECT_NONE, "%s", why);
    }
  node->role = DSM_ROLE_FOLLOWER;
  node->leader_id = leader;
  node_reset_votes (node);
  node->election_deadline_ms = node->now_ms + node_random_election_timeout (node);
  if (leader != DSM_NODE_NONE)
    {
      node->last_leader_contact_ms = node->now_ms;
    }
  if (was != DSM_ROLE_FOLLOWER || leader != had_leader)
    node_event (node, DSM_EVENT_ROLE_CHANGE, leader, 0, 0, DSM_REJECT_NONE, "%s", why);
  if (was == DSM_ROLE_LEADER)
    {
      client_on_step_down (node);
      client_on_transfer_end (node);
    }
  if (leader != DSM_NODE_NONE && leader != had_leader)
    client_on_leader_known (node);
}

void
node_become_leader (DsmNode *node)
{
  g_assert (node->role == DSM_ROLE_CANDIDATE);
  g_assert (node->votes_granted >= node_quorum (node));
  g_assert (node->voted_for == node->id);
  g_assert (election_may_campaign (node));
  g_assert (!transfer_in_progress (node));

  node->role = DSM_ROLE_LEADER;
  node->leader_id = node->id;
  node->metrics.elections_won++;
  node_event (node, DSM_EVENT_ELECTION_WON, DSM_NODE_NONE, 0, node->votes_granted,
              DSM_REJECT_NONE, NULL);
  node_event (node, DSM_EVENT_ROLE_CHANGE, node->id, 0, 0, DSM_REJECT_NONE, "won the election");
  replication_reset_peers (node);
  members_on_become_leader (node);
  node->heartbeat_deadline_ms = node->now_ms;
  node->quorum_deadline_ms = node->now_ms + node->config->election_timeout_ms_max;

  /* A no-op of our epoch lets entries of earlier epochs commit with it and
   * tells us when reads are safe (PROTOCOL.md, "Elections"). */
  g_autoptr(DsmEntry) noop = dsm_entry_new (dsm_log_last_index (node->log) + 1, node->epoch,
                                            DSM_ENTRY_NOOP, NULL);
  node_log_append (node, noop);
  node->epoch_first_index = noop->index;
  client_leader_rebuild (node);
  client_forwards_reset (node);
  client_on_leader_known (node);
  replication_advance_commit (node);  /* a single-node cluster commits at once */
}

/* Common epoch handling for every message from a peer.  Returns FALSE
 * when the message is stale and must be ignored (after answering it). */
gboolean
node_check_epoch (DsmNode *node, const DsmMessage *msg)
{
  if (msg->epoch > node->epoch)
    {
      gboolean from_leader = msg->type == DSM_MSG_PROPOSAL || msg->type == DSM_MSG_COMMIT
                             || msg->type == DSM_MSG_SNAPSHOT;
      node_become_follower (node, msg->epoch, from_leader ? msg->from : DSM_NODE_NONE,
                            "saw a higher epoch");
      return TRUE;
    }
  /* The bug: epochs compared with != where < was meant, so a deposed
   * leader's Proposal takes this follower back to its epoch. */
  if (msg->epoch < node->epoch && msg->type == DSM_MSG_PROPOSAL && MUTANT (node, DSM_MUTANT_STALE_EPOCH_APPEND))
    {
      node->epoch = msg->epoch;
      node->voted_for = DSM_NODE_NONE;
      node_persist_hard_state (node);
      node_become_follower (node, msg->epoch, msg->from, "saw another epoch");
      return TRUE;
    }
  if (msg->epoch < node->epoch)
    {
      node->metrics.messages_ignored++;
      /* Tell a deposed leader so it steps down. */
      if (msg->type == DSM_MSG_PROPOSAL || msg->type == DSM_MSG_COMMIT || msg->type == DSM_MSG_SNAPSHOT)
        replication_send_reject (node, msg->from, DSM_REJECT_STALE_EPOCH, msg);
      return FALSE;
    }
  return TRUE;
}

/* ---- commit and apply ---- */

void
node_set_commit (DsmNode *node, guint64 index)
{
  if (index <= node->commit_index)
    return;
  g_assert (index <= dsm_log_last_index (node->log));

  guint64 before = node->commit_index;
  node->commit_index = index;
  node->metrics.entries_committed += index - before;
  node_event (node, DSM_EVENT_COMMIT, DSM_NODE_NONE, index, index - before, DSM_REJECT_NONE, NULL);
  node_apply_committed (node);
  client_on_commit_advanced (node);
}

/* A committed entry this node cannot interpret: stop applying there for
 * good, loudly, rather than skip it or guess (PROTOCOL.md, "Entries a node
 * cannot apply"); a leader hands over, since it can answer nobody. */
static void
node_apply_stall (DsmNode *node, const DsmEntry *entry, const char *why)
{
  g_assert (node->stalled_index == 0);
  node->stalled_index = entry->index;
  node->stalled_reason = g_strdup (why);
  node->metrics.apply_stalled_index = entry->index;
  node_event (node, DSM_EVENT_APPLY_STALLED, DSM_NODE_NONE, entry->index, 0, DSM_REJECT_NONE, "%s", why);
  if (node->role == DSM_ROLE_LEADER && !transfer_start (node, DSM_NODE_NONE, TRUE, NULL))
    node_become_follower (node, node->epoch, DSM_NODE_NONE, "cannot apply a committed entry");
  else if (node->role == DSM_ROLE_CANDIDATE || node->role == DSM_ROLE_PRE_CANDIDATE)
    node_become_follower (node, node->epoch, DSM_NODE_NONE, "cannot apply a committed entry");
}

/* The last index this node may apply: the commit index (or, for the
 * mutant, all it holds). */
static guint64
node_apply_limit (const DsmNode *node)
{
  if (MUTANT (node, DSM_MUTANT_APPLY_BEFORE_COMMIT))
    return dsm_log_last_index (node->log);
  return node->commit_index;
}

gboolean
node_apply_pending (const DsmNode *node)
{
  return node->stalled_index == 0 && dsm_store_get_applied_index (node->store) < node_apply_limit (node);
}

/* Applies committed entries in log order, DSM_NODE_APPLY_PER_INPUT at
 * most: after a restart, the first commit a node learns may be hundreds of
 * thousands of entries past its snapshot.  Applied at once, at a million
 * machines, that held the loop for 6 s, and each new leader stepped down
 * for want of a quorum it could not hear.  dsm_node_tick() applies the
 * rest, a slice per loop iteration. */
void
node_apply_committed (DsmNode *node)
{
  guint64 limit = node_apply_limit (node);
  guint64 applied_before = dsm_store_get_applied_index (node->store);

  /* The rest waits for the next tick (DSM_NODE_APPLY_PER_INPUT). */
  if (limit > applied_before + DSM_NODE_APPLY_PER_INPUT)
    limit = applied_before + DSM_NODE_APPLY_PER_INPUT;
  while (node->stalled_index == 0 && dsm_store_get_applied_index (node->store) < limit)
    {
      DsmEntry *entry = dsm_log_get (node->log, dsm_store_get_applied_index (node->store) + 1);
      g_assert (entry != NULL);

      DsmApplyResult result;
      g_autoptr(GError) error = NULL;
      if (!dsm_store_apply (node->store, entry, &result, &error))
        {
          g_assert (dsm_store_get_applied_index (node->store) == entry->index - 1);
          node_apply_stall (node, entry, error->message);
          break;
        }
      g_assert (dsm_store_get_applied_index (node->store) == entry->index);
      node->metrics.entries_applied++;
      node->bytes_since_snapshot += dsm_entry_size_bytes (entry);
      client_on_apply (node, entry, &result);
      if (node->report_applies)
        {
          DsmApplied *applied = g_new0 (DsmApplied, 1);
          applied->entry = dsm_entry_ref (entry);
          applied->result = result;
          g_ptr_array_add (node->out.applies, applied);
        }
      else
        dsm_apply_result_clear (&result);
    }
  g_assert (dsm_store_get_applied_index (node->store) - applied_before <= DSM_NODE_APPLY_PER_INPUT);
  g_assert (node->stalled_index != 0 || dsm_store_get_applied_index (node->store) == limit);
  members_on_applied (node);
  snapshot_maybe_take (node);
}

/* ---- construction ---- */

DsmNode *
dsm_node_new (DsmConfig *config, DsmNodeId id, GRand *rng,
              const DsmDurableState *durable, guint64 now_ms, GError **error)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (id != DSM_NODE_NONE, NULL);
  g_return_val_if_fail (rng != NULL, NULL);

  g_autoptr(DsmNode) node = g_new0 (DsmNode, 1);
  node->config = dsm_config_ref (config);
  node->id = id;
  node->rng = rng;
  node->now_ms = now_ms;
  node->log = dsm_log_new ();
  node->store = dsm_store_new (config);
  node->snapshot_bytes_max = DSM_CODEC_SNAPSHOT_BYTES_MAX;
  node->proposed = g_hash_table_new (client_proposed_hash, client_proposed_equal);
  node->event_mask = G_MAXUINT32;
  node->report_applies = TRUE;
  g_queue_init (&node->held);
  g_queue_init (&node->writes);
  dsm_outbox_init (&node->out);
  client_init (node);

  if (durable != NULL)
    {
      node->epoch = durable->epoch;
      node->voted_for = durable->voted_for;
      if (!snapshot_restore_durable (node, durable, error))
        return NULL;
    }
  /* The membership: the snapshot's (or the bootstrap), then the log's. */
  members_init (node);
  node->durable_index = dsm_log_last_index (node->log);
  node->commit_index = dsm_store_get_applied_index (node->store);
  node->role = DSM_ROLE_FOLLOWER;
  node->election_deadline_ms = now_ms + node_random_election_timeout (node);
  return g_steal_pointer (&node);
}

void
dsm_node_start (DsmNode *node, guint64 now_ms)
{
  g_return_if_fail (node != NULL);
  /* Before any input: a follower that has heard nothing, owes nothing and
   * applies nothing, whose only timer is its election's. */
  g_assert (!node->had_input);
  g_assert (node->role == DSM_ROLE_FOLLOWER);
  g_assert (node->leader_id == DSM_NODE_NONE);
  g_assert (!node_apply_pending (node));
  g_assert (node->election_deadline_ms > node->now_ms);
  g_return_if_fail (now_ms >= node->now_ms);

  node->had_input = TRUE;
  node->election_deadline_ms += now_ms - node->now_ms;
  node->now_ms = now_ms;
}

void
dsm_node_free (DsmNode *node)
{
  if (node == NULL)
    return;
  client_clear (node);
  members_clear (node);
  g_free (node->stalled_reason);
  HeldMessage *held;
  while ((held = g_queue_pop_head (&node->held)) != NULL)
    {
      dsm_message_unref (held->msg);
      g_free (held);
    }
  g_queue_clear_full (&node->writes, g_free);
  dsm_outbox_clear (&node->out);
  g_clear_pointer (&node->snapshot, g_bytes_unref);
  g_clear_pointer (&node->incoming, g_byte_array_unref);
  g_hash_table_unref (node->proposed);
  dsm_store_free (node->store);
  dsm_log_free (node->log);
  if (node->rng != NULL)
    g_rand_free (node->rng);
  dsm_config_unref (node->config);
  g_free (node);
}

void
dsm_durable_state_clear (DsmDurableState *state)
{
  g_clear_pointer (&state->snapshot, g_bytes_unref);
  g_clear_pointer (&state->entries, g_ptr_array_unref);
  memset (state, 0, sizeof *state);
}

/* ---- inputs ---- */

/* Compacted entries freed per input: at the hundreds to thousands of
 * inputs a second of a loaded node, far faster than a snapshot cycle
 * drops them, for a bounded ~0.1 ms of each input. */
#define NODE_LOG_RECLAIM_PER_INPUT 256

static void
node_advance_time (DsmNode *node, guint64 now_ms)
{
  node->had_input = TRUE;
  /* Hosts may hand in the same time twice, never an earlier one. */
  if (now_ms > node->now_ms)
    node->now_ms = now_ms;
  /* Any input may move a snapshot in progress on by a slice (paced by time). */
  snapshot_continue (node);
  /* And free a bounded part of the log the last snapshot compacted away
   * (log.h): all at once, at a million machines, it held the loop past
   * the election timeout. */
  dsm_log_reclaim (node->log, NODE_LOG_RECLAIM_PER_INPUT);
}

void
dsm_node_step (DsmNode *node, guint64 now_ms, const DsmMessage *msg)
{
  g_return_if_fail (node != NULL && msg != NULL);
  node_advance_time (node, now_ms);

  /* Answers need what we keep per peer; a leader's messages and requests
   * may come from a member we do not know yet (a node that joined learns
   * the membership from the log its leader sends). */
  gboolean answer = msg->type == DSM_MSG_VOTE || msg->type == DSM_MSG_ACK
                    || (msg->type == DSM_MSG_REJECT
                        && (msg->reason == DSM_REJECT_STALE_EPOCH || msg->reason == DSM_REJECT_LOG_MISMATCH));
  if (msg->to != node->id || msg->from == node->id || (guint) msg->type >= DSM_MSG_N_TYPES
      || (answer && node_find_peer (node, msg->from) == NULL))
    {
      node->metrics.messages_ignored++;
      return;
    }
  /* A removed node takes no further part (PROTOCOL.md, "Membership
   * changes") but answering `removed` to the commands forwarded to it
   * (client_submit()), except a removed leader handing over: it still needs the
   * Acks that tell it its successor has its log (TimeoutNow goes out on
   * one), and the higher epoch that ends its term. */
  if (node->removed && node->role != DSM_ROLE_LEADER && msg->type != DSM_MSG_CLIENT_REPLY
      && msg->type != DSM_MSG_REJECT && msg->type != DSM_MSG_CLIENT_REQUEST)
    {
      node->metrics.messages_ignored++;
      return;
    }
  node->metrics.messages_received[msg->type]++;

  switch (msg->type)
    {
    case DSM_MSG_VOTE_REQUEST:
      election_on_vote_request (node, msg);
      break;
    case DSM_MSG_VOTE:
      election_on_vote (node, msg);
      break;
    case DSM_MSG_PROPOSAL:
      replication_on_proposal (node, msg);
      break;
    case DSM_MSG_COMMIT:
      replication_on_commit (node, msg);
      break;
    case DSM_MSG_ACK:
      replication_on_ack (node, msg);
      break;
    case DSM_MSG_REJECT:
      if (msg->reason == DSM_REJECT_STALE_EPOCH || msg->reason == DSM_REJECT_LOG_MISMATCH)
        replication_on_reject (node, msg);
      else if (msg->reason == DSM_REJECT_REMOVED && msg->request_id == 0)
        members_on_removed_reject (node, msg);
      else
        client_on_reject (node, msg);
      break;
    case DSM_MSG_TIMEOUT_NOW:
      transfer_on_timeout_now (node, msg);
      break;
    case DSM_MSG_CLIENT_REQUEST:
      client_submit (node, msg->request_id, msg->from, &msg->cmd);
      break;
    case DSM_MSG_CLIENT_REPLY:
      client_on_reply (node, msg);
      break;
    case DSM_MSG_SNAPSHOT:
      snapshot_on_chunk (node, msg);
      break;
    case DSM_MSG_N_TYPES:
    default:
      g_assert_not_reached ();
    }
}

void
dsm_node_tick (DsmNode *node, guint64 now_ms)
{
  g_return_if_fail (node != NULL);
  node_advance_time (node, now_ms);

  /* The next slice of a backlog of committed entries: on ticks only, so
   * a loop iteration does one slice however many messages it reads. */
  if (node_apply_pending (node))
    {
      node_apply_committed (node);
      client_on_applied (node);
    }
  if (node->role == DSM_ROLE_LEADER)
    {
      replication_tick (node);
      if (node->role == DSM_ROLE_LEADER)
        transfer_tick (node);
      if (node->role == DSM_ROLE_LEADER)
        members_tick_leader (node);
    }
  else
    election_tick (node);
  client_tick (node);
}

void
dsm_node_submit (DsmNode *node, guint64 now_ms, guint64 request_id, const DsmCommand *cmd)
{
  g_return_if_fail (node != NULL && cmd != NULL);
  node_advance_time (node, now_ms);
  client_submit (node, request_id, DSM_NODE_NONE, cmd);
}

void
dsm_node_persisted (DsmNode *node, guint64 now_ms, guint64 seq)
{
  g_return_if_fail (node != NULL);
  g_return_if_fail (seq <= node->persist_seq);
  node_advance_time (node, now_ms);
  if (seq <= node->persisted_seq)
    return;
  node->persisted_seq = seq;

  PendingWrite *write;
  while ((write = g_queue_peek_head (&node->writes)) != NULL && write->seq <= seq)
    {
      node->durable_index = MIN (write->last_index, dsm_log_last_index (node->log));
      g_free (g_queue_pop_head (&node->writes));
    }

  HeldMessage *held;
  while ((held = g_queue_peek_head (&node->held)) != NULL && held->seq <= seq)
    {
      g_ptr_array_add (node->out.messages, held->msg);
      g_free (g_queue_pop_head (&node->held));
    }

  if (node->snapshot_seq != 0 && node->snapshot_seq <= seq)
    snapshot_on_persisted (node);
  if (node->role == DSM_ROLE_LEADER)
    replication_advance_commit (node);
}

/* Whether another voter could lead in our place. */
static gboolean
node_has_other_voters (const DsmNode *node)
{
  for (guint i = 0; i < node->n_peers; i++)
    if (node->peers[i].voter)
      return TRUE;
  return FALSE;
}

void
dsm_node_set_disk_full (DsmNode *node, guint64 now_ms, gboolean full)
{
  g_return_if_fail (node != NULL);
  node_advance_time (node, now_ms);
  if (node->disk_full == full)
    return;
  node->disk_full = full;
  if (!full)
    return;
  /* A leader whose own entries cannot become durable leaves the commits
   * to a quorum of others; it could not win again before its disk has
   * room, since it starts no election (PROTOCOL.md, "A full disk"). */
  if ((node->role == DSM_ROLE_LEADER && node_has_other_voters (node))
      || node->role == DSM_ROLE_PRE_CANDIDATE || node->role == DSM_ROLE_CANDIDATE)
    node_become_follower (node, node->epoch, DSM_NODE_NONE, "its disk is full");
  client_on_disk_full (node);
  g_assert (node->role == DSM_ROLE_FOLLOWER || !node_has_other_voters (node));
}

void
dsm_node_report_unsent (DsmNode *node, const DsmMessage *msg)
{
  g_return_if_fail (node != NULL && msg != NULL);
  if ((guint) msg->type < DSM_MSG_N_TYPES)
    node->metrics.messages_failed[msg->type]++;
}

void
dsm_node_report_invalid (DsmNode *node)
{
  g_return_if_fail (node != NULL);
  node->metrics.messages_invalid++;
}

/* ---- outputs ---- */

static void
drain_move (GPtrArray **from, GPtrArray **to)
{
  g_assert ((*to)->len == 0);
  GPtrArray *tmp = *to;
  *to = *from;
  *from = tmp;
}

void
dsm_node_drain (DsmNode *node, DsmOutbox *out)
{
  g_return_if_fail (node != NULL && out != NULL);

  if (node->role == DSM_ROLE_LEADER)
    replication_flush (node);
  node_persist_entries_flush (node);

  drain_move (&node->out.persists, &out->persists);
  drain_move (&node->out.messages, &out->messages);
  drain_move (&node->out.replies, &out->replies);
  drain_move (&node->out.applies, &out->applies);
  drain_move (&node->out.events, &out->events);
}

gboolean
dsm_node_has_output (const DsmNode *node)
{
  if (!dsm_outbox_is_empty (&node->out) || node->unpersisted_from != 0)
    return TRUE;
  if (node->role != DSM_ROLE_LEADER)
    return FALSE;
  for (guint i = 0; i < node->n_peers; i++)
    if (replication_peer_has_output (node, &node->peers[i], node->read_broadcast))
      return TRUE;
  return FALSE;
}

guint64
dsm_node_next_deadline (const DsmNode *node)
{
  /* A backlog of committed entries goes on at the next tick: now. */
  if (node_apply_pending (node))
    return node->now_ms;

  guint64 next = client_next_deadline (node);

  if (node->role == DSM_ROLE_LEADER)
    {
      next = MIN (next, replication_next_deadline (node));
      next = MIN (next, transfer_next_deadline (node));
      next = MIN (next, members_next_deadline (node));
    }
  else
    next = MIN (next, node->election_deadline_ms);
  return next;
}

void
dsm_node_set_event_mask (DsmNode *node, guint32 mask)
{
  node->event_mask = mask;
}

void
dsm_node_set_report_applies (DsmNode *node, gboolean report)
{
  node->report_applies = report;
}

/* ---- getters ---- */

DsmNodeId
dsm_node_get_id (const DsmNode *node)
{
  return node->id;
}

DsmRole
dsm_node_get_role (const DsmNode *node)
{
  return node->role;
}

guint64
dsm_node_get_epoch (const DsmNode *node)
{
  return node->epoch;
}

DsmNodeId
dsm_node_get_voted_for (const DsmNode *node)
{
  return node->voted_for;
}

DsmNodeId
dsm_node_get_leader (const DsmNode *node)
{
  return node->leader_id;
}

gboolean
dsm_node_get_disk_full (const DsmNode *node)
{
  return node->disk_full;
}

guint64
dsm_node_get_commit_index (const DsmNode *node)
{
  return node->commit_index;
}

guint64
dsm_node_get_applied_index (const DsmNode *node)
{
  return dsm_store_get_applied_index (node->store);
}

guint64
dsm_node_get_last_index (const DsmNode *node)
{
  return dsm_log_last_index (node->log);
}

guint64
dsm_node_get_durable_index (const DsmNode *node)
{
  return node->durable_index;
}

const DsmLog *
dsm_node_get_log (const DsmNode *node)
{
  return node->log;
}

const DsmStore *
dsm_node_get_store (const DsmNode *node)
{
  return node->store;
}

void
dsm_node_set_snapshot_bytes_max (DsmNode *node, guint64 bytes)
{
  g_return_if_fail (node != NULL);
  g_return_if_fail (bytes >= 1 && bytes <= DSM_CODEC_SNAPSHOT_BYTES_MAX);
  node->snapshot_bytes_max = bytes;
}

DsmConfig *
dsm_node_get_config (const DsmNode *node)
{
  return node->config;
}

const DsmMetrics *
dsm_node_get_metrics (DsmNode *node)
{
  DsmMetrics *m = &node->metrics;
  guint reachable = 0;

  for (guint i = 0; i < node->n_peers; i++)
    if (node->role == DSM_ROLE_LEADER && node->peers[i].reachable)
      reachable++;
  m->node_count = dsm_membership_get_n_members (node->membership);
  m->voters = dsm_membership_get_n_voters (node->membership);
  m->learners = m->node_count - m->voters;
  m->removed = node->removed;
  m->apply_stalled_index = node->stalled_index;
  m->peers_reachable = reachable;
  m->epoch = node->epoch;
  m->commit_index = node->commit_index;
  m->applied_index = dsm_store_get_applied_index (node->store);
  m->last_index = dsm_log_last_index (node->log);
  m->pending_requests = client_pending (node);
  m->role = node->role;
  return m;
}

guint
dsm_node_get_peers (const DsmNode *node, DsmPeerStatus *out, guint n_out)
{
  guint n = MIN (n_out, node->n_peers);

  for (guint i = 0; i < n; i++)
    {
      const Peer *peer = &node->peers[i];
      gboolean leader = node->role == DSM_ROLE_LEADER;
      const DsmMember *member = dsm_membership_find (node->membership, peer->id);
      out[i] = (DsmPeerStatus) {
        .id = peer->id,
        .role = member != NULL ? member->role : DSM_MEMBER_LEARNER,
        .departing = peer->departing,
        .reachable = leader ? peer->reachable : FALSE,
        .match_index = leader ? peer->match_index : 0,
        .next_index = leader ? peer->next_index : 0,
        .last_heard_ms = leader ? peer->last_heard_ms : 0,
      };
    }
  return n;
}

#ifdef DSM_MUTANTS
static const char *const mutant_names[DSM_MUTANT_N] = {
  [DSM_MUTANT_NONE] = "none",
  [DSM_MUTANT_COMMIT_WITHOUT_MAJORITY] = "commit-without-majority",
  [DSM_MUTANT_DOUBLE_VOTE] = "double-vote",
  [DSM_MUTANT_VOTE_ANY_LOG] = "vote-any-log",
  [DSM_MUTANT_APPLY_BEFORE_COMMIT] = "apply-before-commit",
  [DSM_MUTANT_COMMIT_OLD_EPOCH] = "commit-old-epoch",
  [DSM_MUTANT_FORGET_EPOCH] = "forget-epoch",
  [DSM_MUTANT_ACK_BEFORE_PERSIST] = "ack-before-persist",
  [DSM_MUTANT_TWO_CHANGES] = "two-changes",
  [DSM_MUTANT_CONFIG_ON_COMMIT] = "config-on-commit",
  [DSM_MUTANT_LEARNER_COUNTS] = "learner-counts",
  [DSM_MUTANT_TRUST_UNAUTHENTICATED] = "trust-unauthenticated",
  [DSM_MUTANT_READ_WITHOUT_CONFIRM] = "read-without-confirm",
  [DSM_MUTANT_SNAPSHOT_KEEPS_STATES] = "snapshot-keeps-states",
  [DSM_MUTANT_FORGET_SESSIONS] = "forget-sessions",
  [DSM_MUTANT_STALE_EPOCH_APPEND] = "stale-epoch-append",
  [DSM_MUTANT_VOTE_BEFORE_PERSIST] = "vote-before-persist",
  [DSM_MUTANT_WATCH_SKIP_ON_RESUME] = "watch-skip-on-resume",
  [DSM_MUTANT_APPLY_IGNORES_IF_REVISION] = "apply-ignores-if-revision",
  [DSM_MUTANT_MERGE_DROPS_KEYS] = "merge-drops-keys",
  [DSM_MUTANT_HEARTBEAT_SAME_ROUND] = "heartbeat-same-round",
};

const char *
dsm_mutant_to_string (DsmMutant mutant)
{
  g_return_val_if_fail ((guint) mutant < DSM_MUTANT_N, "?");
  return mutant_names[mutant];
}

void
dsm_node_set_mutant (DsmNode *node, DsmMutant mutant)
{
  node->mutant = mutant;
  dsm_store_set_mutants (node->store, mutant == DSM_MUTANT_FORGET_SESSIONS, mutant == DSM_MUTANT_SNAPSHOT_KEEPS_STATES);
  dsm_store_set_payload_mutants (node->store, mutant == DSM_MUTANT_APPLY_IGNORES_IF_REVISION,
                                 mutant == DSM_MUTANT_MERGE_DROPS_KEYS);
  /* The bug: restart without the hard state, guessing the epoch from the
   * log, so the node may vote a second time in an epoch. */
  if (mutant == DSM_MUTANT_FORGET_EPOCH)
    {
      node->epoch = dsm_log_last_epoch (node->log);
      node->voted_for = DSM_NODE_NONE;
    }
}
#endif
