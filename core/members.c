/* core/members.c: membership inside the engine (PROTOCOL.md, "Membership
 * changes"): the effective configuration is the latest CONFIG entry in the
 * log, committed or not, else the store's; the peer table follows it; a
 * leader proposes one change at a time, only once an entry of its own
 * epoch has committed, promotes learners that caught up, and a node the
 * committed membership no longer lists stops taking part.
 *
 *   member --CONFIG entry without us appended--> non-voter (no campaigns)
 *   non-voter --that entry truncated--> member
 *   non-voter --that entry applied--> removed (for good: ids are never reused)
 *   leader --its own removal applied--> transfer (resign) --> follower, removed */
#include "node-private.h"

#include <string.h>

/* ---- the peer table ---- */

static void
peer_init (DsmNode *node, Peer *peer, DsmNodeId id)
{
  memset (peer, 0, sizeof *peer);
  peer->id = id;
  peer->inflight = g_new0 (guint64, node->config->max_inflight_proposals);
  peer->reachable = TRUE;
  /* A member added while we lead is probed with our last entry (the one
   * that added it, usually), so that its answer tells where its log ends;
   * heard from now (check-quorum's grace). */
  peer->next_index = MAX (dsm_log_last_index (node->log), 1);
  peer->probing = TRUE;
  peer->last_heard_ms = node->now_ms;
  peer->heartbeat_due = TRUE;
}

/* A leader keeps a member whose removal committed until it was told so
 * (a Commit at or past the entry that removed it, which it then applies
 * and reports), unless it stopped answering: it gets nothing afterwards. */
static gboolean
peer_farewell_pending (const DsmNode *node, const Peer *peer)
{
  guint64 removal = 0;

  dsm_store_get_membership (node->store, &removal);
  return node->role == DSM_ROLE_LEADER && peer->departing && peer->reachable
         && peer->commit_sent < removal;
}

static void
peer_free (Peer *peer)
{
  g_free (peer->inflight);
  snapshot_peer_reset (peer);
}

/* Every member of the effective membership but us, and the members it
 * dropped that must still hear from us (departing: in the committed
 * membership, or told of their removal not yet), sorted by id.  Returns
 * how many ids it wrote to @ids. */
static guint
peer_ids (const DsmNode *node, DsmNodeId *ids, gboolean *departing)
{
  const DsmMembership *effective = node->membership;
  const DsmMembership *committed = dsm_store_get_membership (node->store, NULL);
  guint n = 0, i = 0, j = 0, k = 0;
  guint n_effective = dsm_membership_get_n_members (effective);
  guint n_committed = dsm_membership_get_n_members (committed);

  /* The three lists are sorted by id: merge them. */
  while (i < n_effective || j < n_committed || k < node->n_peers)
    {
      DsmNodeId a = i < n_effective ? dsm_membership_get_member (effective, i)->id : G_MAXUINT32;
      DsmNodeId b = j < n_committed ? dsm_membership_get_member (committed, j)->id : G_MAXUINT32;
      DsmNodeId c = k < node->n_peers ? node->peers[k].id : G_MAXUINT32;
      DsmNodeId id = MIN (a, MIN (b, c));
      gboolean in_effective = a == id;
      gboolean keep = a == id || b == id || (c == id && peer_farewell_pending (node, &node->peers[k]));
      i += a == id;
      j += b == id;
      k += c == id;
      if (id == node->id || !keep)
        continue;
      g_assert (n < 2 * DSM_MAX_NODES);
      ids[n] = id;
      departing[n] = !in_effective;
      n++;
    }
  return n;
}

static void
members_rebuild_peers (DsmNode *node)
{
  DsmNodeId ids[2 * DSM_MAX_NODES];
  gboolean departing[2 * DSM_MAX_NODES];
  guint n = peer_ids (node, ids, departing);
  gboolean same = n == node->n_peers;

  for (guint k = 0; same && k < n; k++)
    same = node->peers[k].id == ids[k] && node->peers[k].departing == departing[k];
  if (!same)
    {
      Peer *peers = g_new0 (Peer, MAX (n, 1));
      for (guint k = 0; k < n; k++)
        {
          Peer *old = node_find_peer (node, ids[k]);
          if (old != NULL)
            {
              peers[k] = *old;
              old->id = DSM_NODE_NONE; /* moved: not freed below */
              old->inflight = NULL;
              old->snapshot = NULL;
            }
          else
            peer_init (node, &peers[k], ids[k]);
          peers[k].departing = departing[k];
        }
      for (guint k = 0; k < node->n_peers; k++)
        if (node->peers[k].id != DSM_NODE_NONE)
          peer_free (&node->peers[k]);
      g_free (node->peers);
      node->peers = peers;
      node->n_peers = n;
    }
  for (guint k = 0; k < node->n_peers; k++)
    {
      Peer *peer = &node->peers[k];
      peer->voter = node_counts (node, peer->id);
      /* Sorted, no duplicates, never ourselves. */
      g_assert (peer->id != node->id);
      g_assert (k == 0 || node->peers[k - 1].id < peer->id);
    }
}

/* ---- the effective membership ---- */

static void
members_update (DsmNode *node)
{
  DsmMembership *membership;
  guint64 index;

  if (node->config_indexes->len > 0)
    {
      index = g_array_index (node->config_indexes, guint64, node->config_indexes->len - 1);
      const DsmEntry *entry = dsm_log_get (node->log, index);
      g_assert (entry != NULL);
      g_assert (entry->kind == DSM_ENTRY_CONFIG);
      membership = entry->membership;
    }
  else
    membership = dsm_store_get_membership (node->store, &index);

  gboolean changed = node->membership == NULL || index != node->membership_index
                     || !dsm_membership_equal (membership, node->membership);
  if (changed)
    {
      DsmMembership *old = node->membership;
      node->membership = dsm_membership_ref (membership);
      node->membership_index = index;
      dsm_membership_unref (old);
    }
  node->voter = dsm_membership_is_voter (node->membership, node->id);
  members_rebuild_peers (node);
  node->metrics.node_count = dsm_membership_get_n_members (node->membership);
  if (changed)
    {
      g_autofree char *text = dsm_membership_format (node->membership);
      node->metrics.membership_changes++;
      node_event (node, DSM_EVENT_MEMBERSHIP, DSM_NODE_NONE, index, node->voter, DSM_REJECT_NONE,
                  "%s", text);
    }
  /* Only voters stand for election (PROTOCOL.md, "Learners"). */
  if (!election_may_campaign (node)
      && (node->role == DSM_ROLE_CANDIDATE || node->role == DSM_ROLE_PRE_CANDIDATE))
    node_become_follower (node, node->epoch, DSM_NODE_NONE, "not a voter of the latest configuration");
}

/* The committed membership lists us no more: we were removed, for good. */
static void
members_check_removed (DsmNode *node)
{
  guint64 index = 0;
  DsmMembership *committed = dsm_store_get_membership (node->store, &index);

  if (node->removed || !dsm_membership_was_removed (committed, node->id))
    return;
  node->removed = TRUE;
  node->removed_index = index;
  node->metrics.removed = 1;
  node_event (node, DSM_EVENT_REMOVED, DSM_NODE_NONE, index, 0, DSM_REJECT_NONE,
              "the entry at index %" G_GUINT64_FORMAT " removed this node from the cluster; "
              "it takes no further part", index);
  if (node->role == DSM_ROLE_LEADER)
    {
      /* The removal committed without us: hand over and step down. */
      if (!transfer_start (node, DSM_NODE_NONE, TRUE, NULL))
        node_become_follower (node, node->epoch, DSM_NODE_NONE, "removed from the cluster");
    }
  else if (node->role != DSM_ROLE_FOLLOWER)
    node_become_follower (node, node->epoch, DSM_NODE_NONE, "removed from the cluster");
}

static void
members_scan_log (DsmNode *node)
{
  guint64 applied = dsm_store_get_applied_index (node->store);

  g_array_set_size (node->config_indexes, 0);
  for (guint64 i = MAX (applied + 1, dsm_log_first_index (node->log)); i <= dsm_log_last_index (node->log); i++)
    if (dsm_log_get (node->log, i)->kind == DSM_ENTRY_CONFIG)
      g_array_append_val (node->config_indexes, i);
}

void
members_init (DsmNode *node)
{
  node->config_indexes = g_array_new (FALSE, FALSE, sizeof (guint64));
  members_scan_log (node);
  members_update (node);
  members_check_removed (node);
}

void
members_clear (DsmNode *node)
{
  for (guint i = 0; i < node->n_peers; i++)
    peer_free (&node->peers[i]);
  g_clear_pointer (&node->peers, g_free);
  node->n_peers = 0;
  g_clear_pointer (&node->config_indexes, g_array_unref);
  g_clear_pointer (&node->membership, dsm_membership_unref);
}

void
members_on_append (DsmNode *node, const DsmEntry *entry)
{
  if (entry->kind != DSM_ENTRY_CONFIG)
    return;
  g_assert (entry->index > dsm_store_get_applied_index (node->store));
  g_assert (node->config_indexes->len == 0
            || g_array_index (node->config_indexes, guint64, node->config_indexes->len - 1) < entry->index);
  /* By log matching the configuration before this entry in our log is the
   * one its leader changed: one voter apart (dsm_membership_change()). */
  g_assert (dsm_membership_voter_difference (node->membership, entry->membership) <= 1
            || MUTANT (node, DSM_MUTANT_TWO_CHANGES));
  /* Rule C3, where a leader appends its own change (members_propose()):
   * an entry of its epoch committed first, no other change uncommitted. */
  g_assert (node->role != DSM_ROLE_LEADER || node->commit_index >= node->epoch_first_index
            || MUTANT (node, DSM_MUTANT_TWO_CHANGES));
  g_assert (node->role != DSM_ROLE_LEADER || members_uncommitted_changes (node) == 0
            || MUTANT (node, DSM_MUTANT_TWO_CHANGES));
  g_array_append_val (node->config_indexes, entry->index);
  /* In force from now on, committed or not (PROTOCOL.md, "Membership changes"). */
  members_update (node);
}

void
members_on_truncate (DsmNode *node, guint64 index)
{
  guint before = node->config_indexes->len;

  while (node->config_indexes->len > 0
         && g_array_index (node->config_indexes, guint64, node->config_indexes->len - 1) >= index)
    g_array_set_size (node->config_indexes, node->config_indexes->len - 1);
  /* The entry that made it is gone: back to the configuration before it. */
  if (node->config_indexes->len != before)
    members_update (node);
}

void
members_on_applied (DsmNode *node)
{
  guint64 applied = dsm_store_get_applied_index (node->store);
  guint drop = 0;

  while (drop < node->config_indexes->len && g_array_index (node->config_indexes, guint64, drop) <= applied)
    drop++;
  if (drop > 0)
    g_array_remove_range (node->config_indexes, 0, drop);
  if (drop > 0)
    members_update (node);  /* the same membership; departing peers may leave */
  members_check_removed (node);
}

void
members_on_snapshot_installed (DsmNode *node)
{
  members_scan_log (node);
  members_update (node);
  members_check_removed (node);
}

void
members_on_become_leader (DsmNode *node)
{
  for (guint i = 0; i < node->n_peers; i++)
    {
      node->peers[i].catch_up_rounds = 0;
      node->peers[i].catch_up_at_ms = node->now_ms;
    }
}

guint
members_uncommitted_changes (const DsmNode *node)
{
  guint n = 0;

  for (guint i = 0; i < node->config_indexes->len; i++)
    if (g_array_index (node->config_indexes, guint64, i) > node->commit_index)
      n++;
  return n;
}

/* Config entries of the leader's own epoch not yet committed: rule C3
 * keeps it at one (PROTOCOL.md, "Membership changes"). */
guint
members_uncommitted_own_changes (const DsmNode *node)
{
  guint n = 0;

  for (guint i = 0; i < node->config_indexes->len; i++)
    {
      guint64 index = g_array_index (node->config_indexes, guint64, i);
      if (index > node->commit_index && dsm_log_get (node->log, index)->epoch == node->epoch)
        n++;
    }
  return n;
}

/* ---- proposing a change (leader) ---- */

/* A learner becomes a voter only once it has answered us in this epoch
 * with a log holding everything committed (PROTOCOL.md, "Learners"): a
 * voter whose Acks the quorum needs must not be dead or have the log still
 * to fetch (a one-voter cluster promoting a dead learner could never commit
 * again, nor undo it).  A member that is no learner is left to
 * dsm_membership_change() to refuse. */
static gboolean
members_propose_ready (DsmNode *node, DsmNodeId id, GError **error)
{
  const DsmMember *member = dsm_membership_find (node->membership, id);

  if (member == NULL || member->role != DSM_MEMBER_LEARNER)
    return TRUE;
  Peer *peer = node_find_peer (node, id);
  /* Every member but us is a peer. */
  g_assert (peer != NULL);
  /* match_index restarts at 0 in every epoch and commit_index is past our
   * no-op (rule C3): reaching it takes an answer of this epoch. */
  if (peer->reachable && peer->match_index >= node->commit_index)
    return TRUE;
  g_set_error (error, DSM_MEMBERSHIP_ERROR, DSM_MEMBERSHIP_ERROR_INVALID,
               "learner %u is not ready: its log reaches index %" G_GUINT64_FORMAT " of %"
               G_GUINT64_FORMAT " committed%s; retry once it has caught up", id, peer->match_index,
               node->commit_index, peer->reachable ? "" : ", and it does not answer");
  return FALSE;
}

DsmEntry *
members_propose (DsmNode *node, const DsmCommand *cmd, DsmRejectReason *reason, GError **error)
{
  g_assert (node->role == DSM_ROLE_LEADER);
  g_assert (dsm_op_is_membership (cmd->op));

  *reason = DSM_REJECT_CHANGE_IN_PROGRESS;
  if (node->removed || transfer_in_progress (node))
    {
      g_set_error (error, DSM_MEMBERSHIP_ERROR, DSM_MEMBERSHIP_ERROR_INVALID,
                   "the leader is handing over leadership; retry with the next one");
      return NULL;
    }
  /* A new leader's log may end with a change of an earlier epoch that a
   * rival never saw; committing an entry of our own epoch first settles
   * which configuration is current (the 2015 fix to single-server changes;
   * PROTOCOL.md, "Membership changes"). */
  if (node->commit_index < node->epoch_first_index && !MUTANT (node, DSM_MUTANT_TWO_CHANGES))
    {
      g_set_error (error, DSM_MEMBERSHIP_ERROR, DSM_MEMBERSHIP_ERROR_INVALID,
                   "the leader has not committed an entry of its epoch yet; retry");
      return NULL;
    }
  if (node->membership_index > node->commit_index && !MUTANT (node, DSM_MUTANT_TWO_CHANGES))
    {
      g_set_error (error, DSM_MEMBERSHIP_ERROR, DSM_MEMBERSHIP_ERROR_INVALID,
                   "the change at index %" G_GUINT64_FORMAT " has not committed yet; retry",
                   node->membership_index);
      return NULL;
    }
  g_assert (members_uncommitted_changes (node) == 0 || MUTANT (node, DSM_MUTANT_TWO_CHANGES));
  if (cmd->op == DSM_OP_PROMOTE_MEMBER && !members_propose_ready (node, cmd->node, error))
    return NULL;

  DsmNodeId member = DSM_NODE_NONE;
  *reason = DSM_REJECT_BAD_REQUEST;
  g_autoptr(DsmMembership) changed = dsm_membership_change (node->membership, cmd, &member, error);
  if (changed == NULL)
    return NULL;
  g_assert (dsm_membership_voter_difference (node->membership, changed) <= 1);

  DsmCommand resolved;
  dsm_command_init_copy (&resolved, cmd);
  resolved.node = member;  /* an add without an id records the one it got */
  DsmEntry *entry = dsm_entry_new_config (dsm_log_last_index (node->log) + 1, node->epoch, &resolved,
                                          changed);
  dsm_command_clear (&resolved);
  *reason = DSM_REJECT_NONE;
  return entry;
}

/* ---- learners (leader) ---- */

static void
tick_promote (DsmNode *node, DsmNodeId id)
{
  DsmCommand cmd = { .op = DSM_OP_PROMOTE_MEMBER, .node = id };
  DsmRejectReason reason;

  /* A leader with a full disk (the only voter) appends nothing: the
   * promotion waits for room (PROTOCOL.md, "A full disk"). */
  if (node->disk_full)
    return;
  g_autoptr(DsmEntry) entry = members_propose (node, &cmd, &reason, NULL);
  if (entry == NULL)
    return; /* another change first; the learner stays caught up and is tried again */
  node_log_append (node, entry);
  node->metrics.proposals++;
  node_event (node, DSM_EVENT_PROPOSAL, DSM_NODE_NONE, entry->index, 0, DSM_REJECT_NONE,
              "promote node %u: it caught up", id);
  replication_advance_commit (node);
}

/* A learner is caught up when, at learner_catch_up_rounds consecutive
 * heartbeat intervals, its log held the configuration in force and
 * reached within learner_catch_up_entries of ours (PROTOCOL.md,
 * "Learners"). */
void
members_tick_leader (DsmNode *node)
{
  guint rounds = node->config->learner_catch_up_rounds;
  DsmNodeId promote = DSM_NODE_NONE;

  g_assert (node->role == DSM_ROLE_LEADER);
  /* Departing peers told of their removal (or gone quiet) leave. */
  for (guint i = 0; i < node->n_peers; i++)
    if (node->peers[i].departing && !peer_farewell_pending (node, &node->peers[i])
        && dsm_membership_find (dsm_store_get_membership (node->store, NULL), node->peers[i].id) == NULL)
      {
        members_rebuild_peers (node);
        break;
      }
  if (rounds == 0)
    return;
  for (guint i = 0; i < node->n_peers; i++)
    {
      Peer *peer = &node->peers[i];
      const DsmMember *member = dsm_membership_find (node->membership, peer->id);
      if (member == NULL || member->role != DSM_MEMBER_LEARNER || node->now_ms < peer->catch_up_at_ms)
        continue;
      peer->catch_up_at_ms = node->now_ms + node->config->heartbeat_ms;
      /* It answered us since the last check (not merely never found
       * unreachable: a learner never started is "reachable" at first),
       * holds everything committed (so the configuration that made it a
       * learner too), and its log is within reach of ours. */
      gboolean near = peer->answered_round && peer->match_index >= node->commit_index
                      && peer->match_index >= node->membership_index
                      && peer->match_index + node->config->learner_catch_up_entries
                             >= dsm_log_last_index (node->log);
      peer->answered_round = FALSE;
      peer->catch_up_rounds = near ? peer->catch_up_rounds + 1 : 0;
      if (peer->catch_up_rounds >= rounds && promote == DSM_NODE_NONE)
        promote = peer->id;
    }
  if (promote != DSM_NODE_NONE)
    tick_promote (node, promote);
}

guint64
members_next_deadline (const DsmNode *node)
{
  guint64 next = G_MAXUINT64;

  if (node->role != DSM_ROLE_LEADER || node->config->learner_catch_up_rounds == 0)
    return next;
  /* The same peers members_tick_leader() looks at, or its deadline
   * would never move and the host would tick in a loop. */
  for (guint i = 0; i < node->n_peers; i++)
    {
      const DsmMember *member = dsm_membership_find (node->membership, node->peers[i].id);
      if (member != NULL && member->role == DSM_MEMBER_LEARNER)
        next = MIN (next, node->peers[i].catch_up_at_ms);
    }
  return next;
}

/* The voter to hand leadership to: the most up to date, reachable first. */
Peer *
members_best_voter (DsmNode *node)
{
  Peer *best = NULL;

  for (guint i = 0; i < node->n_peers; i++)
    {
      Peer *peer = &node->peers[i];
      if (!peer->voter || peer->departing)
        continue;
      if (best == NULL || (peer->reachable && !best->reachable)
          || (peer->reachable == best->reachable && peer->match_index > best->match_index))
        best = peer;
    }
  return best;
}

/* A member says our removal committed (we missed the entry). */
void
members_on_removed_reject (DsmNode *node, const DsmMessage *msg)
{
  if (node->removed)
    return;
  node->removed = TRUE;
  node->removed_index = 0;
  node->metrics.removed = 1;
  node_event (node, DSM_EVENT_REMOVED, msg->from, 0, 0, DSM_REJECT_REMOVED,
              "node %u says this node was removed from the cluster; it takes no further part", msg->from);
  /* A leader told so is stale (its own removal it learns by applying it):
   * it stops leading too. */
  if (node->role != DSM_ROLE_FOLLOWER)
    node_become_follower (node, node->epoch, DSM_NODE_NONE, "removed from the cluster");
}

/* ---- public API ---- */

DsmMembership *
dsm_node_get_membership (const DsmNode *node, guint64 *index)
{
  g_return_val_if_fail (node != NULL, NULL);
  if (index != NULL)
    *index = node->membership_index;
  return node->membership;
}

DsmMembership *
dsm_node_get_committed_membership (const DsmNode *node, guint64 *index)
{
  g_return_val_if_fail (node != NULL, NULL);
  return dsm_store_get_membership (node->store, index);
}

gboolean
dsm_node_is_removed (const DsmNode *node)
{
  g_return_val_if_fail (node != NULL, FALSE);
  return node->removed;
}

gboolean
dsm_node_is_voter (const DsmNode *node)
{
  g_return_val_if_fail (node != NULL, FALSE);
  return node->voter && !node->removed;
}

guint64
dsm_node_get_stalled_index (const DsmNode *node, const char **reason)
{
  g_return_val_if_fail (node != NULL, 0);
  if (reason != NULL)
    *reason = node->stalled_reason;
  return node->stalled_index;
}
