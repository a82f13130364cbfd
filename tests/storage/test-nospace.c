/* tests/storage/test-nospace.c: a full disk at every write point of the
 * WAL (record appends, segment creation and headers, snapshot files,
 * renames, file and directory syncs, and open): the write fails with
 * DSM_WAL_ERROR_NO_SPACE, nothing half-written stays on disk (the
 * directory is byte for byte what it was), recovery from that directory
 * gives the state before the write, the WAL keeps the write and writes it
 * once there is room, and an I/O error (not a full disk) still stops it.
 * The errors come from faults.c, which wraps the system calls. */
#include <errno.h>
#include <string.h>

#include "faults.h"
#include "fixture.h"
#include "wal-private.h"

/* ---- the batches under test ---- */

typedef struct {
  const char *name;
  guint64 segment_bytes;
  void (*setup) (Fixture *f);   /* appended and synced before */
  void (*append) (Fixture *f);  /* the batch the disk has no room for */
  gboolean deferred;            /* written by the snapshot writer after an async sync */
  gboolean at_open;             /* the write is the one open makes */
} BatchCase;

static void
setup_log (Fixture *f)
{
  fixture_append_hard_state (f, 1, 1);
  fixture_append_entries (f, 1, 20, 1);
}

static void
append_records (Fixture *f)
{
  fixture_append_hard_state (f, 2, 2);
  fixture_append_entries (f, 21, 5, 2);
  fixture_append_entries (f, 18, 4, 2);   /* truncates 18..25, written before and in the batch */
}

static void
append_rotating (Fixture *f)
{
  for (guint i = 0; i < 6; i++)
    fixture_append_entries (f, 21 + 10 * i, 10, 1);
}

static void
append_install (Fixture *f)
{
  fixture_append_hard_state (f, 2, 2);
  fixture_append_snapshot (f, 50, 2, TRUE);
  fixture_append_entries (f, 51, 3, 2);
}

static void
append_local_snapshot (Fixture *f)
{
  fixture_append_snapshot (f, 15, 1, FALSE);
  fixture_append_entries (f, 21, 3, 1);
}

static void
append_deferred_snapshot (Fixture *f)
{
  fixture_append_snapshot (f, 15, 1, FALSE);
}

static void
append_vote (Fixture *f)
{
  fixture_append_hard_state (f, 3, 3);
}

static const BatchCase cases[] = {
  { "records", 0, setup_log, append_records, FALSE, FALSE },
  { "rotation", 4096, setup_log, append_rotating, FALSE, FALSE },
  { "installed-snapshot", 0, setup_log, append_install, FALSE, FALSE },
  { "local-snapshot", 0, setup_log, append_local_snapshot, FALSE, FALSE },
  { "deferred-snapshot", 0, setup_log, append_deferred_snapshot, TRUE, FALSE },
  { "open", 0, setup_log, append_vote, FALSE, TRUE },
};

/* A full disk stays full for calls that need room; a failed fsync is one
 * writeback that could not allocate, and the next may well succeed. */
static gboolean
call_is_sticky (FaultCall call)
{
  return call == FAULT_PWRITE || call == FAULT_CREATE || call == FAULT_RENAME;
}

/* ---- helpers ---- */

static void
state_copy (DsmDurableState *to, const DsmDurableState *from)
{
  *to = *from;
  if (from->snapshot != NULL)
    to->snapshot = g_bytes_ref (from->snapshot);
  to->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  for (guint i = 0; from->entries != NULL && i < from->entries->len; i++)
    g_ptr_array_add (to->entries, dsm_entry_ref (from->entries->pdata[i]));
}

typedef struct {
  gboolean done;
  guint64 seq;
  GError *error;
} SyncResult;

static void
on_synced (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SyncResult *r = user_data;
  DsmWal *wal = g_task_get_task_data (G_TASK (result));

  r->seq = dsm_wal_sync_finish (wal, result, &r->error);
  r->done = TRUE;
}

/* An async sync, and the snapshot writer it may start, run to the end. */
static guint64
sync_async_and_wait (DsmWal *wal)
{
  SyncResult r = { 0 };

  dsm_wal_sync_async (wal, NULL, on_synced, &r);
  while (!r.done)
    g_main_context_iteration (NULL, TRUE);
  /* The writer's thread may still run: it is part of the work too. */
  fixture_wait_idle (wal);
  g_assert_false (dsm_wal_is_syncing (wal));
  g_assert_no_error (r.error);
  return r.seq;
}

/* The batch's sync: NO_SPACE expected when @full. */
static void
sync_batch (Fixture *f, const BatchCase *c, gboolean full)
{
  g_autoptr(GError) error = NULL;
  guint64 seq;

  if (c->deferred)
    {
      /* The log part is durable at once; only the snapshot's file waits. */
      g_assert_cmpuint (sync_async_and_wait (f->wal), ==, f->seq);
      g_assert_cmpint (dsm_wal_get_nospace (f->wal, NULL), ==, full);
      return;
    }
  seq = dsm_wal_sync (f->wal, &error);
  if (full)
    {
      g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_NO_SPACE);
      g_assert_cmpuint (seq, ==, 0);
    }
  else
    {
      g_assert_no_error (error);
      g_assert_cmpuint (seq, ==, f->seq);
    }
}

/* Recovery from a copy of the directory as it is now gives @expected,
 * with no torn tail to drop, and the offline check finds it sound. */
static void
assert_recovers (Fixture *f, const DsmDurableState *expected)
{
  g_autofree char *copy = g_strconcat (f->dir, "-copy", NULL);
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  DsmDurableState state = { 0 };
  DsmWal *wal;

  copy_dir (f->dir, copy);
  g_assert_true (dsm_wal_check_dir (copy, report, &error));
  g_assert_no_error (error);
  g_assert_null (strstr (report->str, "torn"));
  wal = dsm_wal_open (copy, "test-cluster", 1, NULL, &state, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_wal_get_stats (wal)->torn_bytes_dropped, ==, 0);
  assert_state_equal (&state, expected);
  dsm_wal_close (wal);
  dsm_durable_state_clear (&state);
  remove_dir (copy);
}

static void
take_counts (guint *counts)
{
  for (guint call = 0; counts != NULL && call < FAULT_N_CALLS; call++)
    counts[call] = faults_count (call);
}

/* One run of @c with the @nth call of @call out of space, or (@nth 0)
 * none, @counts getting the calls the batch made. */
/* With preallocation, a batch undone out of space may cut zeros written
 * ahead: the records must be what they were. */
static char *
case_fingerprint (const char *dir)
{
  return fixture_preallocate_bytes > 0 ? dir_fingerprint_records (dir) : dir_fingerprint (dir);
}

static void
run_case (const BatchCase *c, FaultCall call, guint nth, guint *counts)
{
  Fixture fixture, *f = &fixture;
  DsmDurableState state = { 0 }, before_state = { 0 };
  g_autofree char *before = NULL;
  g_autofree char *reason = NULL;
  gboolean full = nth > 0;

  fixture_set_up (f, NULL);
  fixture_open (f, c->segment_bytes, &state);
  c->setup (f);
  fixture_sync (f);
  if (c->at_open)
    g_clear_pointer (&f->wal, dsm_wal_close);
  state_copy (&before_state, &f->expected);
  before = case_fingerprint (f->dir);

  faults_reset ();
  if (full)
    faults_arm (call, nth, ENOSPC, call_is_sticky (call));
  if (c->at_open)
    {
      /* A full disk does not keep the node from starting. */
      fixture_open (f, c->segment_bytes, &state);
      assert_state_equal (&state, &before_state);
      dsm_durable_state_clear (&state);
      g_assert_cmpint (dsm_wal_get_nospace (f->wal, NULL), ==, full);
      take_counts (counts);
    }
  c->append (f);
  if (!c->at_open || !full)
    sync_batch (f, c, full);
  if (!c->at_open)
    take_counts (counts);
  if (!full)
    goto done;

  g_assert_cmpuint (faults_injected (), >=, 1);
  g_assert_true (dsm_wal_get_nospace (f->wal, &reason));
  g_assert_nonnull (strstr (reason, g_strerror (ENOSPC)));
  g_assert_cmpuint (dsm_wal_get_stats (f->wal)->nospace_failures, >=, 1);
  if (!c->deferred)
    g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), <, f->seq);
  /* Nothing half-written: the directory is what it was. */
  {
    g_autofree char *after = case_fingerprint (f->dir);
    g_assert_cmpstr (after, ==, before);
  }
  assert_recovers (f, &before_state);

  if (call_is_sticky (call))
    {
      /* Still full: the retry fails the same way, and still leaves nothing. */
      g_autofree char *again = NULL;
      sync_batch (f, c, TRUE);
      again = case_fingerprint (f->dir);
      g_assert_cmpstr (again, ==, before);
    }

  /* Room again: the next sync writes the batch, and everything is there. */
  faults_disarm (call);
  sync_batch (f, c, FALSE);
  g_assert_false (dsm_wal_get_nospace (f->wal, NULL));
  g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), ==, f->seq);

done:
  fixture_open (f, c->segment_bytes, &state);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
  dsm_durable_state_clear (&before_state);
  fixture_tear_down (f, NULL);
}

typedef struct {
  const BatchCase *c;
  guint64 preallocate_bytes;
} CaseRun;

static void
test_every_write_point (gconstpointer data)
{
  const CaseRun *run = data;
  const BatchCase *c = run->c;
  guint counts[FAULT_N_CALLS];
  guint runs = 0;

  g_test_summary ("Out of space at each write point of one kind of batch (every call of pwrite, "
                  "create, rename, fdatasync and fsync it makes, in turn): the sync fails with "
                  "NO_SPACE, the data directory is byte for byte what it was, recovery gives the "
                  "state before the batch, and once there is room the same batch is written.");
  fixture_preallocate_bytes = run->preallocate_bytes;
  run_case (c, FAULT_PWRITE, 0, counts);
  g_assert_cmpuint (counts[FAULT_PWRITE], >=, 1);
  /* Preallocated, a segment that ends is cut to its records (a shrinking
   * ftruncate, which needs no room). */
  if (run->preallocate_bytes == 0)
    g_assert_cmpuint (counts[FAULT_FTRUNCATE], ==, 0);
  for (guint call = 0; call < FAULT_FTRUNCATE; call++)
    for (guint nth = 1; nth <= counts[call]; nth++)
      {
        run_case (c, call, nth, NULL);
        runs++;
      }
  g_test_message ("%s: %u write points (pwrite %u, create %u, rename %u, fdatasync %u, fsync %u)",
                  c->name, runs, counts[FAULT_PWRITE], counts[FAULT_CREATE], counts[FAULT_RENAME],
                  counts[FAULT_FDATASYNC], counts[FAULT_FSYNC]);
  fixture_preallocate_bytes = 0;
}

/* ---- ordering, back-off, and errors that are not a full disk ---- */

static void
test_retry_keeps_order (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;

  g_test_summary ("A batch that did not fit goes back ahead of what was appended after it: the "
                  "retry writes both in append order, and the seqs report as one prefix.");
  fixture_open (f, 0, &state);
  setup_log (f);
  fixture_sync (f);
  faults_reset ();
  faults_arm (FAULT_PWRITE, 1, ENOSPC, TRUE);
  fixture_append_entries (f, 21, 5, 1);
  g_assert_cmpuint (dsm_wal_sync (f->wal, &error), ==, 0);
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_NO_SPACE);
  g_clear_error (&error);
  fixture_append_entries (f, 24, 5, 1);   /* replaces 24..25 from the first batch */
  fixture_append_hard_state (f, 2, 3);
  faults_disarm (FAULT_PWRITE);
  g_assert_cmpuint (fixture_sync (f), ==, f->seq);
  g_assert_cmpuint (dsm_wal_get_stats (f->wal)->nospace_failures, ==, 1);

  fixture_open (f, 0, &state);
  assert_state_equal (&state, &f->expected);
  g_assert_cmpuint (state.entries->len, ==, 28);
  dsm_durable_state_clear (&state);
}

static void
test_snapshot_retry_waits (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  DsmWalOptions options = { .snapshot_retry_ms = 3600 * 1000 };
  g_autoptr(GError) error = NULL;
  guint creates;

  g_test_summary ("A snapshot file that did not fit is not tried again before snapshot_retry_ms: "
                  "a busy log's syncs do not rewrite a large file over and over on a full disk; "
                  "the log's own batches go on meanwhile.");
  g_clear_pointer (&f->wal, dsm_wal_close);
  f->wal = dsm_wal_open (f->dir, "test-cluster", 1, &options, &state, &error);
  g_assert_no_error (error);
  setup_log (f);
  fixture_sync (f);
  faults_reset ();
  faults_arm (FAULT_CREATE, 1, ENOSPC, TRUE);
  append_deferred_snapshot (f);
  g_assert_cmpuint (sync_async_and_wait (f->wal), ==, f->seq);
  g_assert_true (dsm_wal_get_nospace (f->wal, NULL));
  creates = faults_count (FAULT_CREATE);

  faults_disarm (FAULT_CREATE);
  fixture_append_entries (f, 21, 2, 1);
  g_assert_cmpuint (sync_async_and_wait (f->wal), ==, f->seq);
  g_assert_cmpuint (faults_count (FAULT_CREATE), ==, creates);
  g_assert_true (dsm_wal_get_nospace (f->wal, NULL));
}

static void
test_io_error_stops_the_wal (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;

  g_test_summary ("EIO is not a full disk: the data on disk is in doubt, so the sync fails with "
                  "DSM_WAL_ERROR_IO naming the file, and the WAL refuses every later sync.");
  fixture_open (f, 0, &state);
  setup_log (f);
  fixture_sync (f);
  faults_reset ();
  faults_arm (FAULT_FDATASYNC, 1, EIO, FALSE);
  fixture_append_entries (f, 21, 5, 1);
  g_assert_cmpuint (dsm_wal_sync (f->wal, &error), ==, 0);
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "seg-"));
  g_assert_nonnull (strstr (error->message, g_strerror (EIO)));
  g_clear_error (&error);
  g_assert_false (dsm_wal_get_nospace (f->wal, NULL));

  fixture_append_hard_state (f, 2, 2);
  g_assert_cmpuint (dsm_wal_sync (f->wal, &error), ==, 0);
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CLOSED);
  g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), ==, 2);
}

static void
test_inline_io_error_stops_the_wal (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;
  guint64 seq = 1;

  g_test_summary ("A sync in the caller's thread fails as the worker's does: EIO on its fdatasync "
                  "is an I/O failure, nothing more is durable, and the WAL refuses every later sync.");
  fixture_open (f, 0, &state);
  setup_log (f);
  fixture_sync (f);
  faults_reset ();
  faults_arm (FAULT_FDATASYNC, 1, EIO, FALSE);
  fixture_append_entries (f, 21, 2, 1);
  g_assert_true (dsm_wal_sync_inline (f->wal, 8, &seq, &error));
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_IO);
  g_assert_cmpuint (seq, ==, 0);
  g_assert_cmpuint (faults_injected (), ==, 1);
  g_clear_error (&error);
  g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), ==, 2);

  fixture_append_hard_state (f, 2, 2);
  g_assert_cmpuint (dsm_wal_sync (f->wal, &error), ==, 0);
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CLOSED);
}

static void
test_inline_nospace_keeps_batch (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;
  guint64 seq = 1;

  g_test_summary ("A full disk under a sync in the caller's thread is what it is under the worker: "
                  "the batch is undone and kept, the WAL reports itself out of space, and the next "
                  "sync writes the batch once there is room.");
  fixture_open (f, 0, &state);
  setup_log (f);
  fixture_sync (f);
  faults_reset ();
  faults_arm (FAULT_PWRITE, 1, ENOSPC, TRUE);
  fixture_append_entries (f, 21, 2, 1);
  g_assert_true (dsm_wal_sync_inline (f->wal, 8, &seq, &error));
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_NO_SPACE);
  g_assert_cmpuint (seq, ==, 0);
  g_clear_error (&error);
  g_assert_true (dsm_wal_get_nospace (f->wal, NULL));
  faults_disarm (FAULT_PWRITE);
  g_assert_true (dsm_wal_sync_inline (f->wal, 8, &seq, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (seq, ==, f->seq);
  g_assert_false (dsm_wal_get_nospace (f->wal, NULL));

  fixture_open (f, 0, &state);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
}

static void
test_thread_io_error_stops_the_wal (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;
  FixtureNotified n = { 0 };

  g_test_summary ("A sync in the WAL's own thread fails as the others do: EIO on its fdatasync is "
                  "collected as an I/O failure, nothing more is durable, and the next sync there "
                  "is refused.");
  g_mutex_init (&n.lock);
  g_cond_init (&n.cond);
  fixture_open (f, 0, &state);
  setup_log (f);
  fixture_sync (f);
  faults_reset ();
  faults_arm (FAULT_FDATASYNC, 1, EIO, FALSE);
  fixture_append_entries (f, 21, 2, 1);
  g_assert_cmpuint (fixture_sync_thread (f->wal, &n, &error), ==, 0);
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_IO);
  g_assert_cmpuint (faults_injected (), ==, 1);
  g_clear_error (&error);
  g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), ==, 2);
  fixture_append_hard_state (f, 2, 2);
  g_assert_cmpuint (fixture_sync_thread (f->wal, &n, &error), ==, 0);
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CLOSED);
  g_assert_cmpuint (n.notified, ==, 2);
  g_cond_clear (&n.cond);
  g_mutex_clear (&n.lock);
}

static void
test_thread_nospace_keeps_batch (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;
  FixtureNotified n = { 0 };

  g_test_summary ("A full disk under a sync in the WAL's own thread: the batch is undone and kept, "
                  "the WAL reports itself out of space, and the next sync there writes the batch "
                  "once there is room.");
  g_mutex_init (&n.lock);
  g_cond_init (&n.cond);
  fixture_open (f, 0, &state);
  setup_log (f);
  fixture_sync (f);
  faults_reset ();
  faults_arm (FAULT_PWRITE, 1, ENOSPC, TRUE);
  fixture_append_entries (f, 21, 2, 1);
  g_assert_cmpuint (fixture_sync_thread (f->wal, &n, &error), ==, 0);
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_NO_SPACE);
  g_clear_error (&error);
  g_assert_true (dsm_wal_get_nospace (f->wal, NULL));
  faults_disarm (FAULT_PWRITE);
  g_assert_cmpuint (fixture_sync_thread (f->wal, &n, &error), ==, f->seq);
  g_assert_no_error (error);
  g_assert_false (dsm_wal_get_nospace (f->wal, NULL));

  fixture_open (f, 0, &state);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
  g_cond_clear (&n.cond);
  g_mutex_clear (&n.lock);
}

static void
test_failed_undo_stops_the_wal (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;

  g_test_summary ("A batch that did not fit and cannot be undone either (the truncation fails) "
                  "leaves the segment in an unknown state: an I/O failure, and the WAL stops.");
  fixture_open (f, 0, &state);
  setup_log (f);
  fixture_sync (f);
  faults_reset ();
  faults_arm (FAULT_PWRITE, 1, ENOSPC, TRUE);
  faults_arm (FAULT_FTRUNCATE, 1, EIO, TRUE);
  fixture_append_entries (f, 21, 5, 1);
  g_assert_cmpuint (dsm_wal_sync (f->wal, &error), ==, 0);
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "undoing the write failed"));
  g_clear_error (&error);
  faults_reset ();
  g_assert_cmpuint (dsm_wal_sync (f->wal, &error), ==, 0);
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CLOSED);
}

int
main (int argc, char **argv)
{
  fixture_init_logging ();
  g_test_init (&argc, &argv, NULL);

  static CaseRun runs[2 * G_N_ELEMENTS (cases)];

  /* Each batch appending, then with its segments preallocated in small
   * steps (STORAGE.md, "Preallocated segments"): the zeros written ahead
   * are write points too. */
  for (guint i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      const BatchCase *c = &cases[i % G_N_ELEMENTS (cases)];
      gboolean preallocated = i >= G_N_ELEMENTS (cases);
      g_autofree char *path = g_strdup_printf ("/storage/nospace/every-write-point/%s%s", c->name,
                                               preallocated ? "-preallocated" : "");

      runs[i] = (CaseRun) { c, preallocated ? 512 : 0 };
      g_test_add_data_func (path, &runs[i], test_every_write_point);
    }
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/storage/nospace/retry-keeps-order", test_retry_keeps_order);
  ADD ("/storage/nospace/snapshot-retry-waits", test_snapshot_retry_waits);
  ADD ("/storage/nospace/io-error-stops-the-wal", test_io_error_stops_the_wal);
  ADD ("/storage/nospace/failed-undo-stops-the-wal", test_failed_undo_stops_the_wal);
  ADD ("/storage/nospace/inline-io-error-stops-the-wal", test_inline_io_error_stops_the_wal);
  ADD ("/storage/nospace/inline-nospace-keeps-batch", test_inline_nospace_keeps_batch);
  ADD ("/storage/nospace/thread-io-error-stops-the-wal", test_thread_io_error_stops_the_wal);
  ADD ("/storage/nospace/thread-nospace-keeps-batch", test_thread_nospace_keeps_batch);
#undef ADD
  return g_test_run ();
}
