/* tests/sim/test-disk.c: the simulator's model disk (sim/disk.h): what a
 * crash keeps and loses, each armed fault, and the equivalence that
 * justifies its shortcut (an undamaged disk recovers by folding its
 * records instead of scanning their bytes, sim/disk.c): for any sequence
 * of records the fold equals what the real scanner (core/record.h)
 * recovers from the same records' bytes. */
#include <string.h>

#include "disk.h"
#include "error.h"
#include "record.h"

/* ---- building persist records ---- */

static DsmPersist *
hard_state (guint64 seq, guint64 epoch, DsmNodeId voted_for)
{
  DsmPersist *p = g_new0 (DsmPersist, 1);

  *p = (DsmPersist) { .kind = DSM_PERSIST_HARD_STATE, .seq = seq, .epoch = epoch, .voted_for = voted_for };
  return p;
}

static DsmEntry *
entry_new (guint64 index, guint64 epoch, gboolean noop)
{
  g_autofree char *machine = g_strdup_printf ("m%" G_GUINT64_FORMAT, index % 3);
  DsmCommand cmd = {
    .op = DSM_OP_TRANSITION,
    .client_id = (char *) "c1",
    .seq = index,
    .machine = machine,
    .to = (char *) (index % 2 ? "Running" : "Stopped"),
  };
  return dsm_entry_new (index, epoch, noop ? DSM_ENTRY_NOOP : DSM_ENTRY_COMMAND, noop ? NULL : &cmd);
}

/* Entries first_index .. first_index + n - 1 of @epoch (n may be 0: a
 * truncation only). */
static DsmPersist *
entries (guint64 seq, guint64 first_index, guint n, guint64 epoch)
{
  DsmPersist *p = g_new0 (DsmPersist, 1);

  *p = (DsmPersist) { .kind = DSM_PERSIST_ENTRIES, .seq = seq, .first_index = first_index };
  p->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (p->entries, entry_new (first_index + i, epoch, first_index + i == 1));
  return p;
}

static DsmPersist *
snapshot (guint64 seq, guint64 index, guint64 epoch, gboolean reset_log)
{
  DsmPersist *p = g_new0 (DsmPersist, 1);
  g_autofree char *data = g_strdup_printf ("{\"snapshot-of\":%" G_GUINT64_FORMAT "}", index);

  *p = (DsmPersist) {
    .kind = DSM_PERSIST_SNAPSHOT, .seq = seq, .index = index, .snapshot_epoch = epoch,
    .reset_log = reset_log,
  };
  p->snapshot = g_bytes_new (data, strlen (data));
  return p;
}

static DsmDiskModel
disk_model (void)
{
  return (DsmDiskModel) { .fsync_ms_min = 1, .fsync_ms_max = 5 };
}

/* Writes @p (taking it) to @disk. */
static void
write_take (DsmSimDisk *disk, DsmPersist *p)
{
  dsm_sim_disk_write (disk, p);
  dsm_persist_free (p);
}

/* A whole fsync: begin and complete at once. */
static void
sync_now (DsmSimDisk *disk)
{
  guint64 target = 0;

  dsm_sim_disk_sync_begin (disk, &target);
  g_assert_cmpuint (target, ==, dsm_sim_disk_get_written_seq (disk));
  g_assert_true (dsm_sim_disk_sync_end (disk, target));
}

static void
crash (DsmSimDisk *disk, const char *expected_summary)
{
  g_autofree char *summary = dsm_sim_disk_crash (disk);

  g_test_message ("crash: %s", summary);
  if (expected_summary != NULL)
    g_assert_cmpstr (summary, ==, expected_summary);
}

static void
recover_ok (DsmSimDisk *disk, DsmDurableState *state)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (dsm_sim_disk_recover (disk, state, &error));
  g_assert_no_error (error);
}

static guint
n_entries (const DsmDurableState *state)
{
  return state->entries != NULL ? state->entries->len : 0;
}

static guint64
entry_index_at (const DsmDurableState *state, guint i)
{
  g_assert_cmpuint (i, <, n_entries (state));
  return ((const DsmEntry *) state->entries->pdata[i])->index;
}

/* Encoded size of @p, in bytes. */
static gsize
encoded_size (const DsmPersist *p)
{
  g_autoptr(GByteArray) bytes = g_byte_array_new ();

  dsm_record_encode (bytes, p);
  return bytes->len;
}

/* ---- crash without faults ---- */

static void
test_unsynced_lost (void)
{
  DsmDiskModel model = disk_model ();
  DsmSimDisk *disk = dsm_sim_disk_new (1, &model, 1);
  DsmDurableState state;

  g_test_summary ("A crash loses every write not yet covered by a completed fsync.");
  write_take (disk, hard_state (1, 3, 2));
  sync_now (disk);
  write_take (disk, entries (2, 1, 2, 3));
  write_take (disk, hard_state (3, 4, 0));
  g_assert_cmpuint (dsm_sim_disk_get_written_seq (disk), ==, 3);
  g_assert_cmpuint (dsm_sim_disk_get_synced_seq (disk), ==, 1);
  crash (disk, "unsynced writes lost (2 records)");
  recover_ok (disk, &state);
  g_assert_cmpuint (state.epoch, ==, 3);
  g_assert_cmpuint (state.voted_for, ==, 2);
  g_assert_cmpuint (n_entries (&state), ==, 0);
  dsm_durable_state_clear (&state);
  dsm_sim_disk_free (disk);
}

static void
test_full_fails_syncs (void)
{
  DsmDiskModel model = disk_model ();
  DsmSimDisk *disk = dsm_sim_disk_new (1, &model, 1);
  DsmDurableState state;
  guint64 target = 0;

  g_test_summary ("A full disk fails every fsync: nothing it covered becomes durable (a crash loses "
                  "it), it stays full across the crash, and with room again the next fsync makes "
                  "everything written durable.");
  write_take (disk, hard_state (1, 3, 2));
  sync_now (disk);
  dsm_sim_disk_set_full (disk, TRUE);
  write_take (disk, entries (2, 1, 2, 3));
  dsm_sim_disk_sync_begin (disk, &target);
  g_assert_false (dsm_sim_disk_sync_end (disk, target));
  g_assert_false (dsm_sim_disk_is_syncing (disk));
  g_assert_cmpuint (dsm_sim_disk_get_synced_seq (disk), ==, 1);
  g_assert_cmpuint (dsm_sim_disk_get_fsyncs (disk), ==, 1);
  crash (disk, "unsynced writes lost (1 records)");
  g_assert_true (dsm_sim_disk_is_full (disk));
  recover_ok (disk, &state);
  g_assert_cmpuint (n_entries (&state), ==, 0);
  dsm_durable_state_clear (&state);

  write_take (disk, entries (1, 1, 2, 3));
  dsm_sim_disk_sync_begin (disk, &target);
  g_assert_false (dsm_sim_disk_sync_end (disk, target));
  dsm_sim_disk_set_full (disk, FALSE);
  sync_now (disk);
  crash (disk, "unsynced writes lost (0 records)");
  recover_ok (disk, &state);
  g_assert_cmpuint (n_entries (&state), ==, 2);
  dsm_durable_state_clear (&state);
  dsm_sim_disk_free (disk);
}

static void
test_synced_survive (void)
{
  DsmDiskModel model = disk_model ();
  DsmSimDisk *disk = dsm_sim_disk_new (1, &model, 1);
  DsmDurableState state;

  g_test_summary ("Everything a completed fsync covered survives the crash, folded as the node "
                  "wrote it (a later ENTRIES record truncates and appends).");
  write_take (disk, hard_state (1, 2, 1));
  write_take (disk, entries (2, 1, 3, 2));
  sync_now (disk);
  write_take (disk, entries (3, 3, 2, 2)); /* replaces index 3, appends 4 */
  sync_now (disk);
  crash (disk, "unsynced writes lost (0 records)");
  recover_ok (disk, &state);
  g_assert_cmpuint (state.epoch, ==, 2);
  g_assert_cmpuint (n_entries (&state), ==, 4);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpuint (entry_index_at (&state, i), ==, i + 1);
  dsm_durable_state_clear (&state);
  dsm_sim_disk_free (disk);
}

static void
test_sync_in_flight (void)
{
  DsmDiskModel model = disk_model ();
  DsmSimDisk *disk = dsm_sim_disk_new (1, &model, 1);
  DsmDurableState state;
  guint64 target = 0;

  g_test_summary ("An fsync still in flight at the crash never completes: what it covered is "
                  "lost, and the disk is idle afterwards.");
  write_take (disk, hard_state (1, 1, 1));
  sync_now (disk);
  write_take (disk, entries (2, 1, 1, 1));
  dsm_sim_disk_sync_begin (disk, &target);
  g_assert_cmpuint (target, ==, 2);
  g_assert_true (dsm_sim_disk_is_syncing (disk));
  crash (disk, "unsynced writes lost (1 records)");
  g_assert_false (dsm_sim_disk_is_syncing (disk));
  recover_ok (disk, &state);
  g_assert_cmpuint (n_entries (&state), ==, 0);
  g_assert_cmpuint (state.epoch, ==, 1);
  dsm_durable_state_clear (&state);
  dsm_sim_disk_free (disk);
}

static void
test_sync_covers_only_target (void)
{
  DsmDiskModel model = disk_model ();
  DsmSimDisk *disk = dsm_sim_disk_new (1, &model, 1);
  DsmDurableState state;
  guint64 target = 0;

  g_test_summary ("An fsync makes durable what was written before it began, not what was "
                  "written while it ran (group commit, PROTOCOL.md \"Host contract\").");
  write_take (disk, hard_state (1, 1, 1));
  dsm_sim_disk_sync_begin (disk, &target);
  write_take (disk, entries (2, 1, 1, 1));
  dsm_sim_disk_sync_end (disk, target);
  g_assert_cmpuint (dsm_sim_disk_get_synced_seq (disk), ==, 1);
  g_assert_cmpuint (dsm_sim_disk_get_written_seq (disk), ==, 2);
  crash (disk, NULL);
  recover_ok (disk, &state);
  g_assert_cmpuint (state.epoch, ==, 1);
  g_assert_cmpuint (n_entries (&state), ==, 0);
  dsm_durable_state_clear (&state);
  dsm_sim_disk_free (disk);
}

static void
test_fsync_latency (void)
{
  DsmDiskModel model = { .fsync_ms_min = 3, .fsync_ms_max = 4 };
  DsmSimDisk *disk = dsm_sim_disk_new (1, &model, 1);
  guint seen[5] = { 0 };

  g_test_summary ("Each fsync takes fsync_ms_min to fsync_ms_max, and is counted.");
  for (guint i = 1; i <= 200; i++)
    {
      guint64 target = 0;
      write_take (disk, hard_state (i, i, 1));
      guint64 ms = dsm_sim_disk_sync_begin (disk, &target);
      g_assert_cmpuint (ms, >=, 3);
      g_assert_cmpuint (ms, <=, 4);
      seen[ms]++;
      dsm_sim_disk_sync_end (disk, target);
    }
  g_assert_cmpuint (seen[3], >, 0);
  g_assert_cmpuint (seen[4], >, 0);
  g_assert_cmpuint (dsm_sim_disk_get_fsyncs (disk), ==, 200);
  dsm_sim_disk_free (disk);
}

static void
test_seqs_restart (void)
{
  DsmDiskModel model = disk_model ();
  DsmSimDisk *disk = dsm_sim_disk_new (1, &model, 1);
  DsmDurableState state;

  g_test_summary ("A restarted node numbers its persists from 1 again; the disk keeps the "
                  "older incarnation's records and adds the new ones after them.");
  write_take (disk, hard_state (1, 1, 1));
  write_take (disk, entries (2, 1, 2, 1));
  write_take (disk, hard_state (3, 2, 0));
  sync_now (disk);
  crash (disk, NULL);
  recover_ok (disk, &state);
  dsm_durable_state_clear (&state);
  g_assert_cmpuint (dsm_sim_disk_get_written_seq (disk), ==, 0);
  g_assert_cmpuint (dsm_sim_disk_get_synced_seq (disk), ==, 0);

  write_take (disk, entries (1, 3, 1, 2));
  sync_now (disk);
  write_take (disk, hard_state (2, 3, 3));
  crash (disk, "unsynced writes lost (1 records)");
  recover_ok (disk, &state);
  g_assert_cmpuint (state.epoch, ==, 2);
  g_assert_cmpuint (n_entries (&state), ==, 3);
  g_assert_cmpuint (entry_index_at (&state, 2), ==, 3);
  dsm_durable_state_clear (&state);
  dsm_sim_disk_free (disk);
}

/* ---- faults ---- */

static void
test_lost_fsync (void)
{
  DsmDiskModel model = disk_model ();
  DsmSimDisk *disk = dsm_sim_disk_new (1, &model, 1);
  DsmDurableState state;

  g_test_summary ("lost_fsync loses exactly the last completed fsync (every record it covered) "
                  "and what was never synced; the fsyncs before it survive.");
  write_take (disk, hard_state (1, 1, 1));
  write_take (disk, entries (2, 1, 1, 1));
  sync_now (disk);
  write_take (disk, entries (3, 2, 2, 1));
  write_take (disk, hard_state (4, 2, 2));
  sync_now (disk);
  write_take (disk, entries (5, 4, 1, 2));
  dsm_sim_disk_set_fault (disk, DSM_DISK_FAULT_LOST_FSYNC);
  crash (disk, "the last fsync was lost (3 records)");
  recover_ok (disk, &state);
  g_assert_cmpuint (state.epoch, ==, 1);
  g_assert_cmpuint (state.voted_for, ==, 1);
  g_assert_cmpuint (n_entries (&state), ==, 1);
  dsm_durable_state_clear (&state);
  dsm_sim_disk_free (disk);
}

static void
test_lost_fsync_once (void)
{
  DsmDiskModel model = disk_model ();
  DsmSimDisk *disk = dsm_sim_disk_new (1, &model, 1);
  DsmDurableState state;

  g_test_summary ("An armed fault strikes at one crash only: the next crash loses only unsynced "
                  "writes.");
  write_take (disk, hard_state (1, 1, 1));
  sync_now (disk);
  write_take (disk, hard_state (2, 2, 1));
  sync_now (disk);
  dsm_sim_disk_set_fault (disk, DSM_DISK_FAULT_LOST_FSYNC);
  crash (disk, "the last fsync was lost (1 records)");
  recover_ok (disk, &state);
  g_assert_cmpuint (state.epoch, ==, 1);
  dsm_durable_state_clear (&state);

  write_take (disk, hard_state (1, 5, 3));
  sync_now (disk);
  crash (disk, "unsynced writes lost (0 records)");
  recover_ok (disk, &state);
  g_assert_cmpuint (state.epoch, ==, 5);
  dsm_durable_state_clear (&state);
  dsm_sim_disk_free (disk);
}

static void
test_lost_fsync_after_snapshot (void)
{
  DsmDiskModel model = disk_model ();
  DsmSimDisk *disk = dsm_sim_disk_new (1, &model, 1);
  DsmDurableState state;

  g_test_summary ("lost_fsync loses the last fsync even when that fsync made a snapshot durable "
                  "(which lets the disk compact what the snapshot covers).");
  write_take (disk, hard_state (1, 2, 1));
  write_take (disk, entries (2, 1, 3, 2));
  sync_now (disk);
  write_take (disk, snapshot (3, 2, 2, FALSE));
  sync_now (disk);
  dsm_sim_disk_set_fault (disk, DSM_DISK_FAULT_LOST_FSYNC);
  crash (disk, "the last fsync was lost (1 records)");
  recover_ok (disk, &state);
  g_assert_cmpuint (state.snapshot_index, ==, 0);
  g_assert_null (state.snapshot);
  g_assert_cmpuint (n_entries (&state), ==, 3);
  dsm_durable_state_clear (&state);

  /* And once a later fsync completed, the snapshot is no longer the last. */
  write_take (disk, snapshot (1, 2, 2, FALSE));
  sync_now (disk);
  write_take (disk, hard_state (2, 3, 0));
  sync_now (disk);
  dsm_sim_disk_set_fault (disk, DSM_DISK_FAULT_LOST_FSYNC);
  crash (disk, NULL);
  recover_ok (disk, &state);
  g_assert_cmpuint (state.epoch, ==, 2);
  g_assert_cmpuint (state.snapshot_index, ==, 2);
  g_assert_cmpuint (n_entries (&state), ==, 1);
  g_assert_cmpuint (entry_index_at (&state, 0), ==, 3);
  dsm_durable_state_clear (&state);
  dsm_sim_disk_free (disk);
}

static void
test_torn_write (void)
{
  DsmDiskModel model = disk_model ();
  DsmSimDisk *disk = dsm_sim_disk_new (2, &model, 1);
  g_autoptr(DsmPersist) a = hard_state (1, 4, 2);
  g_autoptr(DsmPersist) b = entries (2, 1, 3, 4);
  g_autoptr(DsmPersist) c = entries (3, 4, 2, 4);
  DsmDurableState state;

  g_test_summary ("torn_write leaves a prefix of the first unsynced record on the disk; "
                  "recovery runs the real scanner, drops the torn tail and recovers exactly "
                  "what was synced.");
  dsm_sim_disk_write (disk, a);
  dsm_sim_disk_write (disk, b);
  sync_now (disk);
  dsm_sim_disk_write (disk, c);
  g_assert_cmpuint (dsm_sim_disk_get_bytes (disk), ==, 0); /* undamaged: no bytes kept */
  dsm_sim_disk_set_fault (disk, DSM_DISK_FAULT_TORN_WRITE);
  crash (disk, "the first unsynced write was torn (1 records, one of them in part)");

  gsize synced = encoded_size (a) + encoded_size (b);
  guint64 bytes = dsm_sim_disk_get_bytes (disk);
  g_assert_cmpuint (bytes, >, synced);
  g_assert_cmpuint (bytes, <, synced + encoded_size (c));

  recover_ok (disk, &state);
  g_assert_cmpuint (state.epoch, ==, 4);
  g_assert_cmpuint (state.voted_for, ==, 2);
  g_assert_cmpuint (n_entries (&state), ==, 3);
  g_assert_cmpuint (dsm_sim_disk_get_bytes (disk), ==, 0); /* scanned and truncated */
  dsm_durable_state_clear (&state);
  dsm_sim_disk_free (disk);
}

static void
test_torn_write_nothing_pending (void)
{
  DsmDiskModel model = disk_model ();
  DsmSimDisk *disk = dsm_sim_disk_new (2, &model, 1);
  DsmDurableState state;

  g_test_summary ("torn_write with nothing unsynced tears nothing.");
  write_take (disk, hard_state (1, 4, 2));
  sync_now (disk);
  dsm_sim_disk_set_fault (disk, DSM_DISK_FAULT_TORN_WRITE);
  crash (disk, "unsynced writes lost (0 records)");
  recover_ok (disk, &state);
  g_assert_cmpuint (state.epoch, ==, 4);
  dsm_durable_state_clear (&state);
  dsm_sim_disk_free (disk);
}

static void
test_corrupt_record (void)
{
  DsmDiskModel model = disk_model ();
  DsmSimDisk *disk = dsm_sim_disk_new (3, &model, 1);
  DsmDurableState state;
  g_autoptr(GError) error = NULL;

  g_test_summary ("corrupt_record damages a synced record that is not the last: recovery "
                  "refuses with an error naming the disk and the record's offset, rather than "
                  "mistaking it for a torn tail.");
  write_take (disk, hard_state (1, 1, 1));
  write_take (disk, entries (2, 1, 4, 1));
  write_take (disk, hard_state (3, 2, 3));
  sync_now (disk);
  write_take (disk, entries (4, 5, 1, 2));
  dsm_sim_disk_set_fault (disk, DSM_DISK_FAULT_CORRUPT_RECORD);
  g_assert_cmpuint (dsm_sim_disk_get_bytes (disk), >, 0);
  crash (disk, NULL);
  g_assert_false (dsm_sim_disk_recover (disk, &state, &error));
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "node 3 disk"));
  g_assert_nonnull (strstr (error->message, "at offset "));
  dsm_durable_state_clear (&state);

  /* The damage stays: a second attempt refuses too. */
  g_clear_error (&error);
  g_assert_false (dsm_sim_disk_recover (disk, &state, &error));
  g_assert_nonnull (error);
  dsm_durable_state_clear (&state);
  dsm_sim_disk_free (disk);
}

static void
test_corrupt_record_needs_two (void)
{
  DsmDiskModel model = disk_model ();
  DsmSimDisk *disk = dsm_sim_disk_new (3, &model, 1);
  DsmDurableState state;

  g_test_summary ("With fewer than two synced records there is no record but the last to "
                  "damage: corrupt_record does nothing and the node recovers.");
  write_take (disk, hard_state (1, 7, 3));
  sync_now (disk);
  write_take (disk, entries (2, 1, 1, 7));
  dsm_sim_disk_set_fault (disk, DSM_DISK_FAULT_CORRUPT_RECORD);
  g_assert_cmpuint (dsm_sim_disk_get_bytes (disk), ==, 0);
  crash (disk, NULL);
  recover_ok (disk, &state);
  g_assert_cmpuint (state.epoch, ==, 7);
  dsm_durable_state_clear (&state);
  dsm_sim_disk_free (disk);
}

/* ---- the fold equals the scanner ---- */

static gboolean
scan_fold (const DsmPersist *persist, const DsmRecordInfo *info, gpointer user_data, GError **error)
{
  dsm_durable_state_apply (user_data, persist);
  return TRUE;
}

/* What the real WAL's scanner recovers from @records' bytes. */
static void
scan_records (GPtrArray *records, DsmDurableState *state)
{
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  gsize valid = 0;
  gboolean torn = TRUE;

  for (guint i = 0; i < records->len; i++)
    dsm_record_encode (bytes, records->pdata[i]);
  memset (state, 0, sizeof *state);
  g_assert_true (dsm_record_scan (bytes->data, bytes->len, "expected", scan_fold, state, &valid,
                                  &torn, &error));
  g_assert_no_error (error);
  g_assert_false (torn);
  g_assert_cmpuint (valid, ==, bytes->len);
}

static void
assert_same_state (const DsmDurableState *a, const DsmDurableState *b, guint64 seed)
{
  if (a->epoch != b->epoch || a->voted_for != b->voted_for || a->snapshot_index != b->snapshot_index
      || a->snapshot_epoch != b->snapshot_epoch || n_entries (a) != n_entries (b))
    g_error ("seed %" G_GUINT64_FORMAT ": recovered epoch %" G_GUINT64_FORMAT " vote %u snapshot %"
             G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " %u entries; the scanner: epoch %" G_GUINT64_FORMAT
             " vote %u snapshot %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " %u entries",
             seed, a->epoch, a->voted_for, a->snapshot_index, a->snapshot_epoch, n_entries (a),
             b->epoch, b->voted_for, b->snapshot_index, b->snapshot_epoch, n_entries (b));
  g_assert_true ((a->snapshot == NULL) == (b->snapshot == NULL));
  if (a->snapshot != NULL)
    g_assert_true (g_bytes_equal (a->snapshot, b->snapshot));
  for (guint i = 0; i < n_entries (a); i++)
    g_assert_true (dsm_entry_equal (a->entries->pdata[i], b->entries->pdata[i]));
}

/* A log's shape while generating records, as a node would write them. */
typedef struct {
  guint64 epoch;
  guint64 last_index;
  guint64 snapshot_index;
} LogShape;

static DsmPersist *
random_record (DsmPrng *prng, LogShape *log, guint64 seq)
{
  guint kind = (guint) dsm_prng_range (prng, 0, 9);

  if (kind < 2)
    {
      log->epoch += dsm_prng_range (prng, 0, 1);
      return hard_state (seq, log->epoch, (DsmNodeId) dsm_prng_range (prng, 0, 5));
    }
  if (kind < 8)
    {
      /* Append, or overwrite a suffix as a follower resolving a conflict does. */
      guint64 first = dsm_prng_range (prng, log->snapshot_index + 1, log->last_index + 1);
      guint n = (guint) dsm_prng_range (prng, 0, 4);
      log->last_index = first + n - 1;
      return entries (seq, first, n, log->epoch);
    }
  if (kind == 8 && log->last_index > log->snapshot_index)
    {
      /* The node compacts its own log. */
      guint64 index = dsm_prng_range (prng, log->snapshot_index + 1, log->last_index);
      log->snapshot_index = index;
      return snapshot (seq, index, log->epoch, FALSE);
    }
  /* A snapshot installed from the leader, past the log. */
  guint64 index = log->last_index + dsm_prng_range (prng, 1, 20);
  log->snapshot_index = log->last_index = index;
  return snapshot (seq, index, log->epoch, TRUE);
}

static void
test_fold_equals_scanner (void)
{
  guint with_snapshot = 0;

  g_test_summary ("For an undamaged disk, recovery by folding the durable records (and the "
                  "compaction after a durable snapshot) equals what the real record scanner "
                  "recovers from the same records' bytes: the shortcut is sound.  500 random "
                  "record sequences over two incarnations.");
  for (guint64 seed = 1; seed <= 500; seed++)
    {
      DsmPrng prng;
      DsmDiskModel model = disk_model ();
      DsmSimDisk *disk = dsm_sim_disk_new (1, &model, seed);
      g_autoptr(GPtrArray) durable = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_persist_free);
      LogShape log = { .epoch = 1 };
      gboolean snapshot_durable = FALSE;

      dsm_prng_init (&prng, seed, "test-disk", 0);
      for (guint incarnation = 0; incarnation < 2; incarnation++)
        {
          g_autoptr(GPtrArray) pending = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_persist_free);
          guint n = (guint) dsm_prng_range (&prng, 1, 40);
          guint64 target = 0;
          guint in_sync = 0; /* records the fsync in flight covers */

          for (guint64 seq = 1; seq <= n; seq++)
            {
              DsmPersist *p = random_record (&prng, &log, seq);
              dsm_sim_disk_write (disk, p);
              g_ptr_array_add (pending, p);
              if (!dsm_sim_disk_is_syncing (disk) && dsm_prng_chance (&prng, 40))
                {
                  dsm_sim_disk_sync_begin (disk, &target);
                  in_sync = pending->len;
                }
              else if (dsm_sim_disk_is_syncing (disk) && dsm_prng_chance (&prng, 50))
                {
                  dsm_sim_disk_sync_end (disk, target);
                  for (guint i = 0; i < in_sync; i++)
                    {
                      DsmPersist *done = g_ptr_array_steal_index (pending, 0);
                      snapshot_durable = snapshot_durable || done->kind == DSM_PERSIST_SNAPSHOT;
                      g_ptr_array_add (durable, done);
                    }
                  in_sync = 0;
                }
            }
          g_free (dsm_sim_disk_crash (disk));
          DsmDurableState recovered, scanned;
          recover_ok (disk, &recovered);
          scan_records (durable, &scanned);
          assert_same_state (&recovered, &scanned, seed);
          g_assert_cmpuint (dsm_sim_disk_get_bytes (disk), ==, 0);
          /* What the restarted node knows is the recovered log. */
          log.last_index = n_entries (&recovered) > 0
                               ? entry_index_at (&recovered, n_entries (&recovered) - 1)
                               : recovered.snapshot_index;
          log.snapshot_index = recovered.snapshot_index;
          dsm_durable_state_clear (&recovered);
          dsm_durable_state_clear (&scanned);
        }
      with_snapshot += snapshot_durable ? 1 : 0;
      dsm_sim_disk_free (disk);
    }
  g_test_message ("%u of 500 sequences had a durable snapshot (compacted)", with_snapshot);
  g_assert_cmpuint (with_snapshot, >, 100);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sim/disk/crash/unsynced-lost", test_unsynced_lost);
  g_test_add_func ("/sim/disk/crash/synced-survive", test_synced_survive);
  g_test_add_func ("/sim/disk/full/fails-syncs", test_full_fails_syncs);
  g_test_add_func ("/sim/disk/crash/sync-in-flight", test_sync_in_flight);
  g_test_add_func ("/sim/disk/sync/covers-only-target", test_sync_covers_only_target);
  g_test_add_func ("/sim/disk/sync/latency", test_fsync_latency);
  g_test_add_func ("/sim/disk/seqs-restart", test_seqs_restart);
  g_test_add_func ("/sim/disk/fault/lost-fsync", test_lost_fsync);
  g_test_add_func ("/sim/disk/fault/lost-fsync-once", test_lost_fsync_once);
  g_test_add_func ("/sim/disk/fault/lost-fsync-after-snapshot", test_lost_fsync_after_snapshot);
  g_test_add_func ("/sim/disk/fault/torn-write", test_torn_write);
  g_test_add_func ("/sim/disk/fault/torn-write-nothing-pending", test_torn_write_nothing_pending);
  g_test_add_func ("/sim/disk/fault/corrupt-record", test_corrupt_record);
  g_test_add_func ("/sim/disk/fault/corrupt-record-needs-two", test_corrupt_record_needs_two);
  g_test_add_func ("/sim/disk/fold-equals-scanner", test_fold_equals_scanner);

  return g_test_run ();
}
