/* tests/core/test-snapshot.c: one node's snapshots, message by message
 * (PROTOCOL.md section 11): taking one every snapshot_threshold_entries and
 * compacting once it is durable; receiving one in chunks and installing it. */
#include <string.h>
#include <sys/mman.h>

#include "codec.h"
#include "error.h"
#include "log.h"
#include "node-rig.h"

static void
test_taken_after_threshold (void)
{
  DsmConfig *config = rig_config (3);
  config->snapshot_threshold_entries = 4;
  g_autoptr(Rig) rig = rig_new (config, NULL);
  static const guint64 epochs[] = { 1, 1, 1, 1 };

  g_test_summary ("Every snapshot_threshold_entries applied entries a node persists a snapshot "
                  "of its store, and drops the log it covers (keeping a trailing half "
                  "threshold) only once that snapshot is durable.");
  rig_step (rig, rig_proposal (2, 1, 0, 0, 3, epochs, 4));
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 3);
  g_assert_cmpuint (rig_count_persists (rig, DSM_PERSIST_SNAPSHOT), ==, 0);

  rig_step (rig, rig_commit (2, 1, 4, 0));
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 4);
  DsmPersist *persist = rig_find_persist (rig, DSM_PERSIST_SNAPSHOT);
  g_assert_nonnull (persist);
  g_assert_cmpuint (persist->index, ==, 4);
  g_assert_cmpuint (persist->snapshot_epoch, ==, 1);
  g_assert_false (persist->reset_log);
  g_assert_nonnull (persist->snapshot);
  g_assert_cmpuint (dsm_log_start_index (dsm_node_get_log (rig->node)), ==, 0);

  rig_persist_all (rig);
  g_assert_cmpuint (dsm_log_start_index (dsm_node_get_log (rig->node)), ==, 4 - 4 / 2);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 4);
  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->snapshots_taken, ==, 1);
  g_assert_cmpuint (rig_count_events (rig, DSM_EVENT_SNAPSHOT), ==, 1);
}

static void
test_compacted_log_freed_in_slices (void)
{
  DsmConfig *config = rig_config (3);
  config->snapshot_threshold_entries = 1000;
  g_autoptr(Rig) rig = rig_new (config, NULL);
  g_autofree guint64 *epochs = g_new (guint64, 1000);
  const DsmLog *log = dsm_node_get_log (rig->node);

  g_test_summary ("The log a durable snapshot covers is dropped at once but freed 256 entries "
                  "per input: freeing it whole held a live node's loop past the election "
                  "timeout at a million machines (core/queue.h).");
  for (guint i = 0; i < 1000; i++)
    epochs[i] = 1;
  rig_step (rig, rig_proposal (2, 1, 0, 0, 1000, epochs, 1000));
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 1000);
  g_assert_nonnull (rig_find_persist (rig, DSM_PERSIST_SNAPSHOT));

  /* Durable: entries up to 500 leave the log in the same input... */
  rig_persist_all (rig);
  g_assert_cmpuint (dsm_log_start_index (log), ==, 500);
  g_assert_null (dsm_log_get (log, 500));
  g_assert_nonnull (dsm_log_get (log, 501));
  g_assert_cmpuint (dsm_log_length (log), ==, 500);
  g_assert_cmpuint (dsm_log_pending_reclaim (log), ==, 500);

  /* ...and are freed by the next inputs, a bounded number each. */
  rig_tick (rig, rig->now_ms + 1);
  g_assert_cmpuint (dsm_log_pending_reclaim (log), ==, 500 - 256);
  rig_tick (rig, rig->now_ms + 1);
  g_assert_cmpuint (dsm_log_pending_reclaim (log), ==, 0);
  g_assert_cmpuint (dsm_log_length (log), ==, 500);
  g_assert_cmpuint (((DsmEntry *) dsm_log_get (log, 1000))->index, ==, 1000);
}

/* A leader's store after applying a no-op and two transitions at epoch 1,
 * and its snapshot cut into three chunks. */
typedef struct {
  DsmStore *store;
  GBytes *bytes;
  GBytes *chunks[3];
  gsize offsets[3];
} Source;

static void
source_init (Source *src, DsmConfig *config)
{
  g_autoptr(DsmEntry) noop = dsm_entry_new (1, 1, DSM_ENTRY_NOOP, NULL);
  g_autoptr(DsmEntry) first = rig_command_entry (2, 1, "m", "Running");
  g_autoptr(DsmEntry) second = rig_command_entry (3, 1, "n", "Running");
  DsmEntry *entries[] = { noop, first, second };

  src->store = dsm_store_new (config);
  for (guint i = 0; i < G_N_ELEMENTS (entries); i++)
    {
      DsmApplyResult result;
      g_assert_true (dsm_store_apply (src->store, entries[i], &result, NULL));
      g_assert_cmpint (result.status, ==, DSM_REPLY_OK);
      dsm_apply_result_clear (&result);
    }
  src->bytes = dsm_store_snapshot (src->store);
  gsize size = g_bytes_get_size (src->bytes);
  g_assert_cmpuint (size, >=, 3);
  for (guint i = 0; i < 3; i++)
    {
      src->offsets[i] = i * (size / 3);
      gsize end = i == 2 ? size : (i + 1) * (size / 3);
      src->chunks[i] = g_bytes_new_from_bytes (src->bytes, src->offsets[i], end - src->offsets[i]);
    }
}

static void
source_clear (Source *src)
{
  for (guint i = 0; i < 3; i++)
    g_bytes_unref (src->chunks[i]);
  g_bytes_unref (src->bytes);
  dsm_store_free (src->store);
}

static DsmMessage *
chunk (const Source *src, guint i)
{
  DsmMessage *msg = rig_message (DSM_MSG_SNAPSHOT, 2, 1);

  msg->last_index = 3;
  msg->last_epoch = 1;
  msg->snapshot_offset = src->offsets[i];
  msg->data = g_bytes_ref (src->chunks[i]);
  msg->done = i == 2;
  return msg;
}

static DsmMessage *
chunk_ack (Rig *rig)
{
  DsmMessage *ack = rig_find_message (rig, DSM_MSG_ACK, 2);

  g_assert_nonnull (ack);
  g_assert_cmpuint (ack->last_index, ==, 3);
  return ack;
}

static void
test_install_in_order (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  Source src;

  g_test_summary ("Chunks received in order are each acknowledged with the next offset; the "
                  "last one installs the snapshot whole (same store as the sender's), persists "
                  "it, and Acks match_index = its index once durable.");
  source_init (&src, rig->config);
  rig_follow (rig, 2, 1);

  for (guint i = 0; i < 2; i++)
    {
      rig_step (rig, chunk (&src, i));
      DsmMessage *ack = chunk_ack (rig);
      g_assert_cmpuint (ack->snapshot_offset, ==, src.offsets[i + 1]);
      g_assert_cmpuint (ack->match_index, ==, 0);
    }
  rig_step (rig, chunk (&src, 2));
  DsmPersist *persist = rig_find_persist (rig, DSM_PERSIST_SNAPSHOT);
  g_assert_nonnull (persist);
  g_assert_cmpuint (persist->index, ==, 3);
  g_assert_true (persist->reset_log);
  g_assert_null (rig_find_message (rig, DSM_MSG_ACK, 2));
  g_assert_cmpuint (dsm_store_digest (dsm_node_get_store (rig->node)), ==, dsm_store_digest (src.store));
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 3);
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 3);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 3);

  rig_persist_all (rig);
  g_assert_cmpuint (chunk_ack (rig)->match_index, ==, 3);
  source_clear (&src);
}

static void
test_out_of_order_chunk (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  Source src;

  g_test_summary ("A chunk past the bytes received so far is answered with the offset the "
                  "follower wants, so a lost chunk is resent rather than the whole snapshot.");
  source_init (&src, rig->config);
  rig_follow (rig, 2, 1);
  rig_step (rig, chunk (&src, 0));

  rig_step (rig, chunk (&src, 2));
  DsmMessage *ack = chunk_ack (rig);
  g_assert_cmpuint (ack->snapshot_offset, ==, src.offsets[1]);
  g_assert_cmpuint (ack->match_index, ==, 0);
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 0);

  rig_step (rig, chunk (&src, 1));
  g_assert_cmpuint (chunk_ack (rig)->snapshot_offset, ==, src.offsets[2]);
  source_clear (&src);
}

static void
test_chunk_without_start (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  Source src;

  g_test_summary ("A middle chunk with no transfer under way is answered with offset 0: start "
                  "again from the beginning.");
  source_init (&src, rig->config);
  rig_follow (rig, 2, 1);
  rig_step (rig, chunk (&src, 1));

  DsmMessage *ack = chunk_ack (rig);
  g_assert_cmpuint (ack->snapshot_offset, ==, 0);
  g_assert_cmpuint (ack->match_index, ==, 0);
  source_clear (&src);
}

static void
test_covered_snapshot_acked (void)
{
  static const guint64 log_epochs[] = { 1, 1, 1 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 1, log_epochs, 3);
  Source src;

  g_test_summary ("A snapshot at or below the follower's commit index is acknowledged without "
                  "being installed: the follower already has it all.");
  source_init (&src, rig->config);
  rig_step (rig, rig_commit (2, 1, 3, 0));
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 3);
  guint64 digest = dsm_store_digest (dsm_node_get_store (rig->node));

  rig_step (rig, chunk (&src, 0));
  g_assert_cmpuint (chunk_ack (rig)->match_index, ==, 3);
  g_assert_cmpuint (rig_count_persists (rig, DSM_PERSIST_SNAPSHOT), ==, 0);
  g_assert_cmpuint (dsm_store_digest (dsm_node_get_store (rig->node)), ==, digest);
  source_clear (&src);
}

static void
collect_name (const char *machine, const DsmMachineDef *def, const char *state, guint64 index, gpointer data)
{
  g_string_append_printf (data, "%s=%s@%" G_GUINT64_FORMAT " ", machine, state, index);
}

static char *
store_range (const DsmStore *store, guint start, guint limit, guint *visited)
{
  GString *out = g_string_new (NULL);

  *visited = dsm_store_foreach_range (store, start, limit, collect_name, out);
  return g_string_free (out, FALSE);
}

static void
test_store_range_survives_restore (void)
{
  g_autoptr(DsmConfig) config = rig_config (3);
  g_autoptr(DsmStore) store = dsm_store_new (config);
  g_autoptr(DsmStore) restored = dsm_store_new (config);
  const char *names[] = { "zeta", "alpha", "mu", "alpha" };
  g_autoptr(GError) error = NULL;
  guint visited;

  g_test_summary ("A store lists its instances by position in creation order, a page at a time, and a "
                  "restored snapshot keeps those positions: cursors of GET /v1/machines mean the same "
                  "machine on every node.");
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(DsmEntry) entry = rig_command_entry (i + 1, 1, names[i], i < 3 ? "Running" : "Stopped");
      DsmApplyResult result;
      g_assert_true (dsm_store_apply (store, entry, &result, NULL));
      dsm_apply_result_clear (&result);
    }
  g_autofree char *all = store_range (store, 0, 100, &visited);
  g_assert_cmpstr (all, ==, "zeta=Running@1 alpha=Stopped@4 mu=Running@3 ");
  g_assert_cmpuint (visited, ==, 3);
  g_autofree char *middle = store_range (store, 1, 1, &visited);
  g_assert_cmpstr (middle, ==, "alpha=Stopped@4 ");
  g_assert_cmpuint (visited, ==, 1);
  g_autofree char *tail = store_range (store, 2, 5, &visited);
  g_assert_cmpstr (tail, ==, "mu=Running@3 ");
  g_autofree char *past = store_range (store, 3, 5, &visited);
  g_assert_cmpstr (past, ==, "");
  g_assert_cmpuint (visited, ==, 0);

  g_autoptr(GBytes) bytes = dsm_store_snapshot (store);
  g_assert_true (dsm_store_restore (restored, bytes, &error));
  g_assert_no_error (error);
  g_autofree char *again = store_range (restored, 0, 100, &visited);
  g_assert_cmpstr (again, ==, all);
}

/* Applies entry @index, a transition of machine @k to the state after
 * @state[k] in the lifecycle, with a session when @client is set. */
static void
apply_next (DsmStore *store, guint64 index, guint k, guint *states, const char *client, guint64 seq)
{
  static const char *const cycle[] = { "Init", "Running", "Stopped" };
  g_autofree char *name = g_strdup_printf ("m%03u", k);
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = name, .to = (char *) cycle[(states[k] + 1) % 3],
                     .client_id = (char *) client, .seq = seq };
  g_autoptr(DsmEntry) entry = dsm_entry_new (index, 1, DSM_ENTRY_COMMAND, &cmd);
  DsmApplyResult result;

  g_assert_true (dsm_store_apply (store, entry, &result, NULL));
  g_assert_cmpint (result.status, ==, DSM_REPLY_OK);
  dsm_apply_result_clear (&result);
  states[k] = (states[k] + 1) % 3;
}

static void
test_store_incremental_snapshot (void)
{
  g_autoptr(DsmConfig) config = rig_config (3);
  g_autoptr(DsmStore) store = dsm_store_new (config);
  g_autoptr(DsmStore) at_begin = dsm_store_new (config);
  g_autoptr(DsmStore) restored = dsm_store_new (config);
  g_autoptr(GBytes) expected = NULL;
  g_autoptr(GBytes) written = NULL;
  g_autoptr(GError) error = NULL;
  guint states[200] = { 0 };
  guint states_copy[200] = { 0 };
  guint64 index = 0, seq = 0;
  guint steps = 0;

  g_test_summary ("A snapshot written a slice at a time while entries go on being applied (to "
                  "machines it has written, machines it has not reached, new machines, sessions) "
                  "has the bytes of the snapshot of the store at its begin.");
  for (guint k = 0; k < 100; k++)
    {
      index++;
      seq++;
      apply_next (store, index, k, states, k % 3 == 0 ? "client-a" : NULL, seq);
      apply_next (at_begin, index, k, states_copy, k % 3 == 0 ? "client-a" : NULL, seq);
    }
  expected = dsm_store_snapshot (at_begin);

  dsm_store_snapshot_begin (store);
  g_assert_true (dsm_store_snapshot_in_progress (store));
  while (!dsm_store_snapshot_step (store, 7))
    {
      steps++;
      /* behind the cursor, ahead of it (twice: the first value is kept),
       * a new machine, and a session's command */
      guint cursor = MIN (steps * 7, 99);
      apply_next (store, ++index, cursor - cursor / 2, states, NULL, 0);
      apply_next (store, ++index, MIN (cursor + 5, 99), states, NULL, 0);
      apply_next (store, ++index, MIN (cursor + 5, 99), states, NULL, 0);
      apply_next (store, ++index, 100 + steps, states, "client-a", ++seq);
    }
  g_assert_cmpuint (steps, ==, 100 / 7);
  written = dsm_store_snapshot_finish (store);
  g_assert_false (dsm_store_snapshot_in_progress (store));
  g_assert_cmpmem (g_bytes_get_data (written, NULL), g_bytes_get_size (written),
                   g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));

  g_assert_true (dsm_store_restore (restored, written, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_store_digest (restored), ==, dsm_store_digest (at_begin));
  /* The store itself kept every later change. */
  g_assert_cmpuint (dsm_store_get_applied_index (store), ==, index);
  g_assert_cmpuint (dsm_store_get_n_machines (store), ==, 100 + steps);
}


/* Steps @rig with @msg; TRUE if that step persisted a snapshot. */
static gboolean
step_persists_snapshot (Rig *rig, DsmMessage *msg)
{
  rig_step (rig, msg);
  return rig_find_persist (rig, DSM_PERSIST_SNAPSHOT) != NULL;
}

static void
test_too_large_not_kept (void)
{
  DsmConfig *config = rig_config (3);
  config->snapshot_threshold_entries = 4;
  g_autoptr(Rig) rig = rig_new (config, NULL);
  static const guint64 epochs[] = { 1, 1, 1, 1 };
  const DsmMetrics *metrics = dsm_node_get_metrics (rig->node);
  gboolean kept = FALSE;
  guint64 last = 0;

  g_test_summary ("A snapshot larger than a node restores is not kept: no snapshot persisted, the log "
                  "not compacted, counted and reported; the node tries again only once as many entry "
                  "bytes as that snapshot weighed are applied, and keeps one that fits.");
  dsm_node_set_snapshot_bytes_max (rig->node, 64);
  kept = step_persists_snapshot (rig, rig_proposal (2, 1, 0, 0, 3, epochs, 4));
  kept = step_persists_snapshot (rig, rig_commit (2, 1, 4, 0)) || kept;
  g_assert_false (kept);
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 4);
  g_assert_cmpuint (metrics->snapshots_refused, ==, 1);
  g_assert_cmpuint (rig_count_events (rig, DSM_EVENT_SNAPSHOT_REFUSED), ==, 1);
  rig_persist_all (rig);
  g_assert_cmpuint (metrics->snapshots_taken, ==, 0);
  g_assert_cmpuint (dsm_log_start_index (dsm_node_get_log (rig->node)), ==, 0);

  /* Room again: the next snapshot waits until the entries applied since
   * weigh as much as the refused one, several rounds of four here. */
  dsm_node_set_snapshot_bytes_max (rig->node, DSM_CODEC_SNAPSHOT_BYTES_MAX);
  guint rounds = 0;
  for (last = 4; !kept; last += 4, rounds++)
    {
      g_assert_cmpuint (last, <, 400);
      kept = step_persists_snapshot (rig, rig_proposal (2, 1, last, 1, last + 3, epochs, 4));
      kept = step_persists_snapshot (rig, rig_commit (2, 1, last + 4, 0)) || kept;
    }
  g_assert_cmpuint (rounds, >, 1);
  g_assert_cmpuint (metrics->snapshots_refused, ==, 1);
  rig_persist_all (rig);
  g_assert_cmpuint (metrics->snapshots_taken, ==, 1);
  g_assert_cmpuint (dsm_log_start_index (dsm_node_get_log (rig->node)), >, 0);
}

/* A store of @n machines, each with @data_bytes of data. */
static DsmStore *
store_with_data (DsmConfig *config, guint n, gsize data_bytes)
{
  DsmStore *store = dsm_store_new (config);
  g_autofree char *filler = g_strnfill (data_bytes, 'x');
  g_autofree char *payload = g_strdup_printf ("{\"b\":\"%s\"}", filler);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("big-%06u", i);
      DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = name, .to = (char *) "Running", .payload = payload };
      g_autoptr(DsmEntry) entry = dsm_entry_new (i + 1, 1, DSM_ENTRY_COMMAND, &cmd);
      DsmApplyResult result;
      g_assert_true (dsm_store_apply (store, entry, &result, NULL));
      g_assert_cmpint (result.status, ==, DSM_REPLY_OK);
      dsm_apply_result_clear (&result);
    }
  return store;
}

static void
test_store_restores_past_message_cap (void)
{
  g_autoptr(DsmConfig) config = rig_config (3);
  DsmStore *store = store_with_data (config, 17000, 4000);
  g_autoptr(DsmStore) restored = dsm_store_new (config);
  g_autoptr(GBytes) bytes = dsm_store_snapshot (store);
  g_autoptr(GBytes) again = NULL;

  dsm_store_free (store);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A snapshot larger than the largest message (64 MiB) restores, byte for byte: the "
                  "restore's cap was the message cap, so a store of ~700,000 machines wrote snapshots "
                  "neither a restart nor a lagging follower could read back.");
  g_assert_cmpuint (g_bytes_get_size (bytes), >, DSM_CODEC_INPUT_BYTES_MAX);
  g_assert_cmpuint (g_bytes_get_size (bytes), <=, DSM_CODEC_SNAPSHOT_BYTES_MAX);
  g_assert_true (dsm_store_restore (restored, bytes, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_store_get_n_machines (restored), ==, 17000);
  again = dsm_store_snapshot (restored);
  g_assert_true (g_bytes_equal (again, bytes));
}

static void
test_store_restore_over_cap_refused (void)
{
  g_autoptr(DsmConfig) config = rig_config (3);
  g_autoptr(DsmStore) store = dsm_store_new (config);
  g_autoptr(GError) error = NULL;
  /* The size alone is refused, before a byte is read: the bytes are pages
   * nothing may touch. */
  gsize size = DSM_CODEC_SNAPSHOT_BYTES_MAX + 1;
  void *pages = mmap (NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  g_assert_true (pages != MAP_FAILED);
  g_autoptr(GBytes) huge = g_bytes_new_static (pages, size);

  g_test_summary ("A snapshot past DSM_CODEC_SNAPSHOT_BYTES_MAX is refused by its size, as corrupt, "
                  "and the store is unchanged.");
  g_assert_false (dsm_store_restore (store, huge, &error));
  g_assert_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "more than 1073741824"));
  g_assert_cmpuint (dsm_store_get_n_machines (store), ==, 0);
  g_clear_pointer (&huge, g_bytes_unref);
  g_assert_cmpint (munmap (pages, size), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/node/snapshot/taken-after-threshold", test_taken_after_threshold);
  g_test_add_func ("/core/node/snapshot/compacted-log-freed-in-slices", test_compacted_log_freed_in_slices);
  g_test_add_func ("/core/node/snapshot/install-in-order", test_install_in_order);
  g_test_add_func ("/core/node/snapshot/out-of-order-chunk", test_out_of_order_chunk);
  g_test_add_func ("/core/node/snapshot/chunk-without-start", test_chunk_without_start);
  g_test_add_func ("/core/node/snapshot/covered-snapshot-acked", test_covered_snapshot_acked);
  g_test_add_func ("/core/store/range-survives-restore", test_store_range_survives_restore);
  g_test_add_func ("/core/store/incremental-snapshot", test_store_incremental_snapshot);
  g_test_add_func ("/core/node/snapshot/too-large-not-kept", test_too_large_not_kept);
  g_test_add_func ("/core/store/restores-past-message-cap", test_store_restores_past_message_cap);
  g_test_add_func ("/core/store/restore-over-cap-refused", test_store_restore_over_cap_refused);
  return g_test_run ();
}
