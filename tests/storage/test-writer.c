/* tests/storage/test-writer.c: the writer of a node's own snapshot files
 * against the group commit.  A thread is held at a known point of the
 * writer (faults.c's gate on the staged file's creation), and the test
 * looks at what the syncs do meanwhile: they answer, and they write.
 * The gate gives up after a minute so that a writer that blocks them
 * fails the test instead of hanging it. */
#include <string.h>

#include "faults.h"
#include "fixture.h"
#include "wal-private.h"

/* dsm_layout_write_snapshot() writes the staged file as "<name>.tmp". */
#define STAGED_CREATED "snap-staging.tmp.tmp"

static void
test_sync_answers_before_the_file (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  FixtureSyncResult r = { 0 };
  FixtureSyncResult next = { 0 };
  g_autoptr(GPtrArray) tmp = NULL;

  g_test_summary ("The sync whose batch carried a node's own snapshot answers while the "
                  "snapshot's file is still being written, and a later sync writes and answers "
                  "meanwhile too: the file holds back no group commit (it held them all for "
                  "0.3-0.9 s at 700,000 machines, and the leader lost its quorum).  Then the "
                  "file is written, and reopening finds the snapshot and every entry.");
  fixture_open (f, 0, &state);
  r.wal = next.wal = f->wal;
  fixture_append_hard_state (f, 3, 1);
  fixture_append_entries (f, 1, 20, 3);
  fixture_append_snapshot (f, 15, 3, FALSE);
  fixture_append_entries (f, 21, 5, 3);
  faults_gate_close (FAULT_CREATE, STAGED_CREATED);
  dsm_wal_sync_async (f->wal, NULL, fixture_on_synced, &r);
  /* The writer is at the file's creation and stays there. */
  faults_gate_wait ();
  fixture_iterate_until (&r, 1);
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.seq, ==, f->seq);

  fixture_append_entries (f, 26, 5, 3);
  dsm_wal_sync_async (f->wal, NULL, fixture_on_synced, &next);
  fixture_iterate_until (&next, 1);
  g_assert_no_error (next.error);
  g_assert_cmpuint (next.seq, ==, f->seq);
  /* Still at the gate: no snapshot file yet, the writer still counted. */
  g_assert_true (dsm_wal_is_syncing (f->wal));
  g_assert_cmpuint (count_files (f->dir, "snap-"), ==, 0);

  g_assert_true (faults_gate_open ());
  dsm_wal_close (g_steal_pointer (&f->wal));
  g_assert_cmpuint (count_files (f->dir, "snap-"), ==, 1);
  g_assert_cmpuint (count_files (f->dir, "seg-"), ==, 1);
  tmp = list_files (f->dir, "snap-staging");
  g_assert_cmpuint (tmp->len, ==, 0);
  fixture_open (f, 0, &state);
  g_assert_cmpuint (state.snapshot_index, ==, 15);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
}

static void
test_sync_thread_answers_before_the_file (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  FixtureNotified n = { 0 };
  g_autoptr(GError) error = NULL;

  g_test_summary ("The same through the WAL's own sync thread (dsm_wal_sync_start(), what a node "
                  "uses): the sync that carried the snapshot and a later one answer while the "
                  "writer is held at the staged file's creation.");
  g_mutex_init (&n.lock);
  g_cond_init (&n.cond);
  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 3, 1);
  fixture_append_entries (f, 1, 20, 3);
  fixture_append_snapshot (f, 15, 3, FALSE);
  fixture_append_entries (f, 21, 5, 3);
  faults_gate_close (FAULT_CREATE, STAGED_CREATED);
  g_assert_cmpuint (fixture_sync_thread (f->wal, &n, &error), ==, f->seq);
  g_assert_no_error (error);
  faults_gate_wait ();
  fixture_append_entries (f, 26, 5, 3);
  g_assert_cmpuint (fixture_sync_thread (f->wal, &n, &error), ==, f->seq);
  g_assert_no_error (error);
  g_assert_true (dsm_wal_is_syncing (f->wal));
  g_assert_cmpuint (count_files (f->dir, "snap-"), ==, 0);

  g_assert_true (faults_gate_open ());
  fixture_wait_idle (f->wal);
  g_assert_cmpuint (count_files (f->dir, "snap-"), ==, 1);
  g_assert_cmpuint (count_files (f->dir, "seg-"), ==, 1);
  fixture_open (f, 0, &state);
  g_assert_cmpuint (state.snapshot_index, ==, 15);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
  g_mutex_clear (&n.lock);
  g_cond_clear (&n.cond);
}

/* One async sync that carries a local snapshot at @index, waited for
 * until the writer is done with its file. */
static void
sync_with_snapshot (Fixture *f, guint64 index, guint64 epoch)
{
  FixtureSyncResult r = { .wal = f->wal };

  fixture_append_snapshot (f, index, epoch, FALSE);
  dsm_wal_sync_async (f->wal, NULL, fixture_on_synced, &r);
  fixture_iterate_until (&r, 1);
  g_assert_no_error (r.error);
  fixture_wait_idle (f->wal);
}

static void
test_obsolete_files_removed (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  guint64 index = 0;

  g_test_summary ("The segments and the snapshot file a written local snapshot makes obsolete "
                  "are removed by the writer after it let go of the I/O lock, and the entries "
                  "the snapshot covers freed there: after three such snapshots over rotated "
                  "segments, one segment and one snapshot file are left, and reopening gives "
                  "the same state.");
  fixture_open (f, 4096, &state);
  fixture_append_hard_state (f, 1, 1);
  for (guint round = 0; round < 3; round++)
    {
      for (guint i = 0; i < 20; i++)
        {
          fixture_append_entries (f, index + 1, 5, 1);
          index += 5;
          fixture_sync (f);
        }
      guint64 deleted = dsm_wal_get_stats (f->wal)->segments_deleted;
      guint segments = count_files (f->dir, "seg-");

      g_assert_cmpuint (segments, >=, 3);
      sync_with_snapshot (f, index - 3, 1);
      /* All but the new base, counted; the old snapshot file gone too. */
      g_assert_cmpuint (count_files (f->dir, "seg-"), ==, 1);
      g_assert_cmpuint (count_files (f->dir, "snap-"), ==, 1);
      g_assert_cmpuint (dsm_wal_get_stats (f->wal)->segments_deleted, ==, deleted + segments);
      fixture_append_entries (f, index + 1, 2, 1);
      index += 2;
      fixture_sync (f);
    }
  dsm_wal_close (g_steal_pointer (&f->wal));
  g_assert_cmpuint (count_files (f->dir, "seg-"), ==, 1);
  g_assert_cmpuint (count_files (f->dir, "snap-"), ==, 1);

  fixture_open (f, 4096, &state);
  g_assert_cmpuint (state.snapshot_index, ==, index - 5);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
}

int
main (int argc, char **argv)
{
  fixture_init_logging ();
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/storage/writer/sync-answers-before-the-file", test_sync_answers_before_the_file);
  ADD ("/storage/writer/sync-thread-answers-before-the-file", test_sync_thread_answers_before_the_file);
  ADD ("/storage/writer/obsolete-files-removed", test_obsolete_files_removed);
#undef ADD
  return g_test_run ();
}
