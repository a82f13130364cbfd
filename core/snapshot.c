/* core/snapshot.c: snapshots and log compaction (PROTOCOL.md, "Snapshots"):
 * a node snapshots its store every snapshot_threshold_entries applied
 * entries and, once the snapshot is durable, drops the log it covers; a
 * leader streams its snapshot in chunks to a follower that needs entries
 * it no longer has; the follower installs it whole or not at all.
 *
 * Leader, per follower:   none --next <= compacted--> sending
 *   sending --Ack(offset)--> sending --Ack(match = index)--> none
 * Follower: idle --chunk at 0--> receiving --chunks--> install --> idle */
#include "node-private.h"

#include "codec.h"

/* A leader sending more than a store restores is not one we trust. */
#define SNAPSHOT_BYTES_MAX DSM_CODEC_SNAPSHOT_BYTES_MAX

void
snapshot_peer_reset (Peer *peer)
{
  g_clear_pointer (&peer->snapshot, g_bytes_unref);
  peer->snapshot_index = 0;
  peer->snapshot_epoch = 0;
  peer->snapshot_offset = 0;
  peer->snapshot_in_flight = FALSE;
}

/* ---- taking one ---- */

/* The snapshot is written: its entries first, then the snapshot itself. */
static void
snapshot_taken (DsmNode *node)
{
  /* Entries applied but not yet handed to a persist (a follower applies
   * what it appends before the flush) must be written before the
   * snapshot that covers them, or the durable log would restart below it. */
  node_persist_entries_flush (node);
  g_clear_pointer (&node->pending_snapshot, g_bytes_unref);
  node->pending_snapshot = dsm_store_snapshot_finish (node->store);
  gsize size = g_bytes_get_size (node->pending_snapshot);
  g_assert (node->snapshot_bytes_max <= SNAPSHOT_BYTES_MAX);
  if (size > node->snapshot_bytes_max)
    {
      /* No node could restore it: neither this one after a restart nor a
       * follower it is sent to.  Keep the log instead, and try again only
       * once as many entry bytes as this snapshot weighed are applied. */
      g_clear_pointer (&node->pending_snapshot, g_bytes_unref);
      node->snapshot_refused_bytes = size;
      node->metrics.snapshots_refused++;
      node_event (node, DSM_EVENT_SNAPSHOT_REFUSED, DSM_NODE_NONE, node->pending_index, size,
                  DSM_REJECT_NONE, "%" G_GSIZE_FORMAT " bytes, more than the %" G_GUINT64_FORMAT
                  " a node restores", size, node->snapshot_bytes_max);
      return;
    }
  node->snapshot_refused_bytes = 0;
  node->snapshot_seq = node_persist_snapshot (node, node->pending_index, node->pending_epoch,
                                              node->pending_snapshot, FALSE);
}

/* A snapshot in progress writes snapshot_slice_machines machines at a
 * time, at most one slice per SNAPSHOT_SLICE_EVERY_MS of the node's time,
 * so a slice costs a few ms however large the store and takes a bounded
 * share of the loop: writing 500,000 machines at once held a live node's
 * loop ~170 ms, past the election timeout, and a slice on every input
 * (hundreds a second under load) was no better.  The first slice is
 * written at the begin. */
#define SNAPSHOT_SLICE_EVERY_MS 5

void
snapshot_continue (DsmNode *node)
{
  if (!dsm_store_snapshot_in_progress (node->store) || node->now_ms < node->snapshot_slice_at_ms)
    return;
  node->snapshot_slice_at_ms = node->now_ms + SNAPSHOT_SLICE_EVERY_MS;
  if (dsm_store_snapshot_step (node->store, node->config->snapshot_slice_machines))
    snapshot_taken (node);
}

void
snapshot_maybe_take (DsmNode *node)
{
  guint64 applied = dsm_store_get_applied_index (node->store);
  guint threshold = node->config->snapshot_threshold_entries;

  if (dsm_store_snapshot_in_progress (node->store))
    {
      snapshot_continue (node);
      return;
    }
  if (threshold == 0 || node->snapshot_seq != 0 || applied > node->commit_index
      || applied < node->snapshot_index + threshold)
    return;
  /* Serializing the whole store must not cost more than the log it lets
   * us drop: wait until the entries applied since the last one weigh at
   * least as much as it did.  Amortized, a snapshot then costs O(1) per
   * entry, and the log stays within max(threshold, store size). */
  if (node->snapshot != NULL && node->bytes_since_snapshot < g_bytes_get_size (node->snapshot))
    return;
  /* Likewise after a snapshot too large to keep (snapshot_taken()). */
  if (node->bytes_since_snapshot < node->snapshot_refused_bytes)
    return;

  /* The snapshot of the store as it is now, at @applied, written a slice
   * at a time from here (dsm_store_snapshot_begin(), snapshot_continue()). */
  /* Only what is committed goes into a snapshot (checked above), and a
   * newer one than the last. */
  g_assert (applied <= node->commit_index);
  g_assert (applied > node->snapshot_index || node->snapshot == NULL);
  node->pending_index = applied;
  node->pending_epoch = dsm_store_get_applied_epoch (node->store);
  node->pending_reset = FALSE;
  node->bytes_since_snapshot = 0;
  dsm_store_snapshot_begin (node->store);
  node->snapshot_slice_at_ms = 0;
  snapshot_continue (node);
}

void
snapshot_on_persisted (DsmNode *node)
{
  g_assert (node->pending_snapshot != NULL);
  /* Snapshots only move forward, and only over what is committed. */
  g_assert (node->pending_index >= node->snapshot_index);
  g_assert (node->pending_index <= node->commit_index);

  g_clear_pointer (&node->snapshot, g_bytes_unref);
  node->snapshot = g_steal_pointer (&node->pending_snapshot);
  node->snapshot_index = node->pending_index;
  node->snapshot_epoch = node->pending_epoch;
  node->snapshot_seq = 0;
  if (!node->pending_reset)
    {
      /* The log up to the snapshot is now redundant.  Memory keeps a
       * trailing half-threshold of it, so a follower a little behind
       * catches up from entries rather than a whole snapshot. */
      guint64 keep = node->config->snapshot_threshold_entries / 2;
      guint64 to = node->snapshot_index > keep ? node->snapshot_index - keep : 0;
      if (to > dsm_log_start_index (node->log))
        dsm_log_compact_to (node->log, to);
      /* The log still reaches the snapshot: entries after it are kept. */
      g_assert (dsm_log_start_index (node->log) <= node->snapshot_index);
      node->metrics.snapshots_taken++;
      node_event (node, DSM_EVENT_SNAPSHOT, DSM_NODE_NONE, node->snapshot_index,
                  g_bytes_get_size (node->snapshot), DSM_REJECT_NONE, NULL);
    }
}

/* ---- sending one (leader) ---- */

gboolean
snapshot_flush_peer (DsmNode *node, Peer *peer)
{
  /* Between attempts, move to a newer snapshot if one was taken. */
  if (peer->snapshot != NULL && peer->snapshot_offset == 0 && !peer->snapshot_in_flight
      && node->snapshot_index > peer->snapshot_index)
    snapshot_peer_reset (peer);
  if (peer->snapshot == NULL)
    {
      /* Proposals still in flight are moot: the snapshot replaces them. */
      replication_peer_reset_window (peer);
      g_assert (node->snapshot != NULL);
      peer->snapshot = g_bytes_ref (node->snapshot);
      peer->snapshot_index = node->snapshot_index;
      peer->snapshot_epoch = node->snapshot_epoch;
      peer->snapshot_offset = 0;
      peer->snapshot_in_flight = FALSE;
    }
  if (peer->snapshot_in_flight)
    return FALSE;

  gsize size = g_bytes_get_size (peer->snapshot);
  g_assert (peer->snapshot_offset <= size);
  g_assert (peer->snapshot_index <= node->commit_index);
  gsize length = MIN (size - peer->snapshot_offset, node->config->snapshot_chunk_bytes);
  DsmMessage *msg = node_message (node, DSM_MSG_SNAPSHOT, peer->id);
  msg->last_index = peer->snapshot_index;
  msg->last_epoch = peer->snapshot_epoch;
  msg->snapshot_offset = peer->snapshot_offset;
  msg->data = g_bytes_new_from_bytes (peer->snapshot, peer->snapshot_offset, length);
  msg->done = peer->snapshot_offset + length == size;
  msg->hb_seq = node->hb_round;
  peer->snapshot_in_flight = TRUE;
  peer->retry_deadline_ms = node->now_ms + node->config->retry_delay_ms;
  node_send (node, msg);
  return TRUE;
}

void
snapshot_on_ack (DsmNode *node, Peer *peer, const DsmMessage *msg)
{
  if (msg->last_index != peer->snapshot_index)
    return; /* about an earlier snapshot */
  peer->snapshot_in_flight = FALSE;
  peer->retry_deadline_ms = 0;
  if (msg->match_index >= peer->snapshot_index)
    {
      /* A follower cannot hold more than we sent it: a claim past our log
       * (a broken peer) must not count towards a commit we cannot make. */
      peer->match_index = MAX (peer->match_index, MIN (msg->match_index, dsm_log_last_index (node->log)));
      g_assert (peer->match_index <= dsm_log_last_index (node->log));
      peer->next_index = peer->match_index + 1;
      peer->probing = FALSE;
      replication_peer_reset_window (peer);
      snapshot_peer_reset (peer);
      return;
    }
  peer->snapshot_offset = MIN (msg->snapshot_offset, g_bytes_get_size (peer->snapshot));
}

/* ---- receiving one (follower) ---- */

static void
send_chunk_ack (DsmNode *node, const DsmMessage *about, guint64 offset, guint64 match_index)
{
  DsmMessage *msg = node_message (node, DSM_MSG_ACK, about->from);

  msg->last_index = about->last_index;
  msg->snapshot_offset = offset;
  msg->match_index = match_index;
  msg->hb_seq = about->hb_seq;
  node_send (node, msg);
}

static void
incoming_reset (DsmNode *node)
{
  g_clear_pointer (&node->incoming, g_byte_array_unref);
  node->incoming_index = 0;
  node->incoming_epoch = 0;
  node->incoming_from = DSM_NODE_NONE;
}

static gboolean
install (DsmNode *node, const DsmMessage *msg, GBytes *bytes)
{
  g_autoptr(GError) error = NULL;

  /* The leader's snapshot supersedes the one this node was writing. */
  dsm_store_snapshot_cancel (node->store);

  if (!dsm_store_restore (node->store, bytes, &error)
      || dsm_store_get_applied_index (node->store) != msg->last_index)
    {
      /* The store is unchanged on failure; a mismatched index means the
       * leader sent something it should not have: ask again from scratch. */
      node->metrics.messages_ignored++;
      return FALSE;
    }

  guint64 epoch = 0;
  gboolean keep = dsm_log_epoch_at (node->log, msg->last_index, &epoch) && epoch == msg->last_epoch;
  if (keep)
    dsm_log_compact_to (node->log, msg->last_index);
  else
    {
      /* Waiters on entries the snapshot replaces learn their fate below. */
      if (dsm_log_last_index (node->log) > msg->last_index)
        node_log_truncate (node, msg->last_index + 1);
      dsm_log_reset (node->log, msg->last_index, msg->last_epoch);
      node->unpersisted_from = 0;
    }
  if (node->unpersisted_from != 0 && node->unpersisted_from <= msg->last_index)
    node->unpersisted_from = dsm_log_last_index (node->log) > msg->last_index ? msg->last_index + 1 : 0;
  node->commit_index = MAX (node->commit_index, msg->last_index);

  g_clear_pointer (&node->pending_snapshot, g_bytes_unref);
  node->pending_snapshot = g_bytes_ref (bytes);
  node->pending_index = msg->last_index;
  node->pending_epoch = msg->last_epoch;
  node->pending_reset = !keep;
  node->bytes_since_snapshot = 0;
  node->snapshot_seq = node_persist_snapshot (node, msg->last_index, msg->last_epoch, bytes, !keep);
  node->metrics.snapshots_installed++;
  node_event (node, DSM_EVENT_SNAPSHOT, msg->from, msg->last_index, g_bytes_get_size (bytes),
              DSM_REJECT_NONE, NULL);
  /* The snapshot carries the membership as of its index. */
  members_on_snapshot_installed (node);
  client_on_snapshot_installed (node);
  return TRUE;
}

void
snapshot_on_chunk (DsmNode *node, const DsmMessage *msg)
{
  /* Installing needs the disk: a full one takes no snapshot either. */
  if (!replication_follow_leader (node, msg) || replication_disk_full (node))
    return;

  /* A node stuck on an entry it cannot apply takes no state from others:
   * it would hold the same entry's effects (PROTOCOL.md, "Entries a node
   * cannot apply"). */
  if (node->stalled_index != 0)
    {
      node->metrics.messages_ignored++;
      return;
    }
  /* Already covered by what we committed: nothing to install. */
  if (msg->last_index <= node->commit_index)
    {
      incoming_reset (node);
      send_chunk_ack (node, msg, msg->snapshot_offset + g_bytes_get_size (msg->data), node->commit_index);
      return;
    }

  gboolean same = node->incoming != NULL && node->incoming_index == msg->last_index
                  && node->incoming_epoch == msg->last_epoch && node->incoming_from == msg->from;
  if (msg->snapshot_offset == 0 && !same)
    {
      incoming_reset (node);
      node->incoming = g_byte_array_new ();
      node->incoming_index = msg->last_index;
      node->incoming_epoch = msg->last_epoch;
      node->incoming_from = msg->from;
      same = TRUE;
    }
  gsize size = g_bytes_get_size (msg->data);
  if (!same || msg->snapshot_offset != node->incoming->len
      || node->incoming->len + size > SNAPSHOT_BYTES_MAX)
    {
      guint64 want = same && node->incoming->len + size <= SNAPSHOT_BYTES_MAX ? node->incoming->len : 0;
      if (want == 0)
        incoming_reset (node);
      send_chunk_ack (node, msg, want, 0);
      return;
    }

  g_byte_array_append (node->incoming, g_bytes_get_data (msg->data, NULL), size);
  if (!msg->done)
    {
      send_chunk_ack (node, msg, node->incoming->len, 0);
      return;
    }

  g_autoptr(GBytes) bytes = g_byte_array_free_to_bytes (g_steal_pointer (&node->incoming));
  incoming_reset (node);
  if (!install (node, msg, bytes))
    {
      send_chunk_ack (node, msg, 0, 0);
      return;
    }
  send_chunk_ack (node, msg, g_bytes_get_size (bytes), msg->last_index);
}

/* ---- restart ---- */

gboolean
snapshot_restore_durable (DsmNode *node, const DsmDurableState *durable, GError **error)
{
  if (durable->snapshot != NULL)
    {
      if (!dsm_store_restore (node->store, durable->snapshot, error))
        {
          g_prefix_error (error, "snapshot at index %" G_GUINT64_FORMAT ": ", durable->snapshot_index);
          return FALSE;
        }
      if (dsm_store_get_applied_index (node->store) != durable->snapshot_index)
        {
          g_set_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_DURABLE_STATE,
                       "snapshot claims index %" G_GUINT64_FORMAT " but holds index %" G_GUINT64_FORMAT,
                       durable->snapshot_index, dsm_store_get_applied_index (node->store));
          return FALSE;
        }
      dsm_log_reset (node->log, durable->snapshot_index, durable->snapshot_epoch);
      node->snapshot = g_bytes_ref (durable->snapshot);
      node->snapshot_index = durable->snapshot_index;
      node->snapshot_epoch = durable->snapshot_epoch;
    }
  else if (durable->snapshot_index != 0)
    {
      g_set_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_DURABLE_STATE,
                   "snapshot index %" G_GUINT64_FORMAT " given without a snapshot",
                   durable->snapshot_index);
      return FALSE;
    }

  for (guint i = 0; durable->entries != NULL && i < durable->entries->len; i++)
    {
      DsmEntry *entry = durable->entries->pdata[i];
      guint64 expected = dsm_log_last_index (node->log) + 1;
      if (entry->index < expected)
        continue; /* covered by the snapshot */
      if (entry->index != expected || entry->epoch < dsm_log_last_epoch (node->log)
          || entry->epoch > durable->epoch)
        {
          g_set_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_DURABLE_STATE,
                       "log entry %u: index %" G_GUINT64_FORMAT " epoch %" G_GUINT64_FORMAT
                       " does not follow index %" G_GUINT64_FORMAT " epoch %" G_GUINT64_FORMAT
                       " within epoch %" G_GUINT64_FORMAT,
                       i, entry->index, entry->epoch, expected - 1,
                       dsm_log_last_epoch (node->log), durable->epoch);
          return FALSE;
        }
      dsm_log_append (node->log, entry);
    }
  return TRUE;
}
