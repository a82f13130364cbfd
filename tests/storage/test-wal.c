/* tests/storage/test-wal.c: the WAL's write path on real files with real
 * fsyncs: what is appended and synced comes back on reopen, group commit,
 * async syncs on a main loop, segment rotation and compaction, and a write
 * past the file size limit taken for a full disk.  (A full disk at every
 * write point, and I/O errors: test-nospace.c.) */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "fixture.h"
#include "layout.h"
#include "wal-private.h"

static void
test_new_dir (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autofree char *meta = g_build_filename (f->dir, "meta.json", NULL);

  g_test_summary ("A new data directory opens empty, gets its meta file and one segment, "
                  "and reopens empty.");
  fixture_open (f, 0, &state);
  g_assert_cmpuint (state.epoch, ==, 0);
  g_assert_null (state.snapshot);
  g_assert_true (g_file_test (meta, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (count_files (f->dir, "seg-"), ==, 1);
  g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), ==, 0);
  g_assert_cmpuint (fixture_sync (f), ==, 0);
  g_assert_cmpuint (dsm_wal_get_stats (f->wal)->fsyncs, ==, 0);

  fixture_open (f, 0, &state);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
}

static void
test_reopen_gives_same_state (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };

  g_test_summary ("Hard state, entries with a truncation, and a compacting snapshot "
                  "appended and synced come back identical after reopening, twice.");
  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 1, 1);
  fixture_append_entries (f, 1, 10, 1);
  g_assert_cmpuint (fixture_sync (f), ==, 2);
  fixture_append_hard_state (f, 2, 3);
  fixture_append_entries (f, 7, 3, 2);   /* truncates 7..10 */
  fixture_append_snapshot (f, 5, 1, FALSE);
  fixture_append_entries (f, 10, 4, 2);
  fixture_append_hard_state (f, 3, 0);
  g_assert_cmpuint (fixture_sync (f), ==, f->seq);
  g_assert_cmpuint (dsm_wal_get_appended_seq (f->wal), ==, f->seq);

  for (guint round = 0; round < 2; round++)
    {
      fixture_open (f, 0, &state);
      assert_state_equal (&state, &f->expected);
      g_assert_cmpuint (state.entries->len, ==, 8);   /* 6..13 */
      g_assert_cmpuint (dsm_wal_get_stats (f->wal)->torn_bytes_dropped, ==, 0);
      dsm_durable_state_clear (&state);
    }
}

static void
test_unsynced_appends_are_not_durable (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };

  g_test_summary ("Closing without a sync drops what was appended since the last one, "
                  "as a crash would; the durable seq never claims it.");
  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 4, 2);
  fixture_sync (f);
  /* Appended behind the fixture's back: not in the expected state. */
  DsmPersist vote = { .kind = DSM_PERSIST_HARD_STATE, .seq = ++f->seq, .epoch = 5, .voted_for = 3 };
  dsm_wal_append (f->wal, &vote);
  g_assert_cmpuint (dsm_wal_get_appended_seq (f->wal), ==, 2);
  g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), ==, 1);
  fixture_open (f, 0, &state);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
}

static void
test_group_commit (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  const DsmWalStats *stats;

  g_test_summary ("Many appends and one sync: one fdatasync covers them all and every "
                  "seq is durable (group commit).");
  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 1, 1);
  for (guint i = 0; i < 299; i++)
    fixture_append_entries (f, i + 1, 1, 1);
  g_assert_cmpuint (fixture_sync (f), ==, 300);
  stats = dsm_wal_get_stats (f->wal);
  g_assert_cmpuint (stats->fsyncs, ==, 1);
  g_assert_cmpuint (stats->sync_batches, ==, 1);
  g_assert_cmpuint (stats->sync_records_max, ==, 300);
  g_assert_cmpuint (stats->records_written, ==, 300);
  g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), ==, 300);

  fixture_open (f, 0, &state);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
}

static void
test_sync_async (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  FixtureSyncResult r = { 0 };
  FixtureSyncResult again = { 0 };

  g_test_summary ("A sync started from a main loop writes in a worker and calls back in the "
                  "caller's context; a second sync started meanwhile waits its turn.");
  fixture_open (f, 0, &state);
  r.wal = again.wal = f->wal;
  fixture_append_hard_state (f, 2, 2);
  fixture_append_entries (f, 1, 5, 2);
  dsm_wal_sync_async (f->wal, NULL, fixture_on_synced, &r);
  fixture_append_entries (f, 6, 5, 2);
  dsm_wal_sync_async (f->wal, NULL, fixture_on_synced, &again);
  fixture_iterate_until (&r, 1);
  fixture_iterate_until (&again, 1);
  g_assert_no_error (r.error);
  g_assert_no_error (again.error);
  g_assert_cmpuint (r.seq, >=, 2);
  g_assert_cmpuint (again.seq, ==, 3);
  g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), ==, 3);
  g_assert_false (dsm_wal_is_syncing (f->wal));

  fixture_open (f, 0, &state);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
}

static void
test_sync_thread (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;
  FixtureNotified n = { 0 };
  GThread *first;
  guint64 seq = 7;

  g_test_summary ("A sync handed to the WAL's own thread calls its notify once, from that one "
                  "thread (the same for every sync, never the caller's), and the collect then gives "
                  "what is durable; nothing is collected while none finished; reopening finds it.");
  g_mutex_init (&n.lock);
  g_cond_init (&n.cond);
  fixture_open (f, 0, &state);
  g_assert_false (dsm_wal_sync_collect (f->wal, &seq, &error));
  g_assert_cmpuint (seq, ==, 7);
  fixture_append_hard_state (f, 2, 2);
  fixture_append_entries (f, 1, 5, 2);
  g_assert_cmpuint (fixture_sync_thread (f->wal, &n, &error), ==, f->seq);
  g_assert_no_error (error);
  first = n.thread;
  g_assert_true (first != g_thread_self ());
  g_assert_false (dsm_wal_sync_collect (f->wal, &seq, &error));
  g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), ==, f->seq);

  fixture_append_entries (f, 6, 5, 2);
  g_assert_cmpuint (fixture_sync_thread (f->wal, &n, &error), ==, f->seq);
  g_assert_no_error (error);
  g_assert_true (n.thread == first);
  g_assert_cmpuint (dsm_wal_get_stats (f->wal)->sync_batches, ==, 2);
  g_assert_cmpuint (dsm_wal_get_stats (f->wal)->syncs_inline, ==, 0);
  g_assert_false (dsm_wal_is_syncing (f->wal));

  /* One started and never collected: close waits for it and ends the thread. */
  fixture_append_entries (f, 11, 1, 2);
  dsm_wal_sync_start (f->wal, fixture_on_notify, &n);
  fixture_open (f, 0, &state);
  g_assert_cmpuint (n.notified, ==, 3);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
  g_cond_clear (&n.cond);
  g_mutex_clear (&n.lock);
}

static void
test_sync_thread_snapshot_deferred (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;
  FixtureNotified n = { 0 };

  g_test_summary ("Through the WAL's own thread too, a local snapshot is durable with its batch and "
                  "its file is written by a thread of its own after the notify: the sync thread "
                  "takes the next batch meanwhile, and close waits for the file.");
  g_mutex_init (&n.lock);
  g_cond_init (&n.cond);
  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 3, 1);
  fixture_append_entries (f, 1, 20, 3);
  fixture_append_snapshot (f, 15, 3, FALSE);
  fixture_append_entries (f, 21, 5, 3);
  g_assert_cmpuint (fixture_sync_thread (f->wal, &n, &error), ==, f->seq);
  g_assert_no_error (error);
  fixture_append_entries (f, 26, 2, 3);
  g_assert_cmpuint (fixture_sync_thread (f->wal, &n, &error), ==, f->seq);
  g_assert_no_error (error);

  dsm_wal_close (g_steal_pointer (&f->wal));
  g_assert_cmpuint (count_files (f->dir, "snap-"), ==, 1);
  fixture_open (f, 0, &state);
  g_assert_cmpuint (state.snapshot_index, ==, 15);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
  g_cond_clear (&n.cond);
  g_mutex_clear (&n.lock);
}

static void
test_sync_inline (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;
  guint64 seq = 0;
  guint64 fsyncs;

  g_test_summary ("A small batch of log records is written and fsynced in the caller's thread: "
                  "it is durable when the call returns (reopening finds it), and counted apart.");
  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 2, 2);
  fixture_append_entries (f, 1, 3, 2);
  fsyncs = dsm_wal_get_stats (f->wal)->fsyncs;
  g_assert_true (dsm_wal_sync_inline (f->wal, 3, &seq, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (seq, ==, f->seq);
  g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), ==, f->seq);
  g_assert_cmpuint (dsm_wal_get_stats (f->wal)->syncs_inline, ==, 1);
  g_assert_cmpuint (dsm_wal_get_stats (f->wal)->sync_batches, ==, 1);
  g_assert_cmpuint (dsm_wal_get_stats (f->wal)->fsyncs, >, fsyncs);
  /* Nothing appended since: nothing to write, nothing run. */
  g_assert_false (dsm_wal_sync_inline (f->wal, 3, &seq, &error));
  g_assert_cmpuint (dsm_wal_get_stats (f->wal)->syncs_inline, ==, 1);

  fixture_open (f, 0, &state);
  assert_state_equal (&state, &f->expected);
  g_assert_cmpuint (state.entries->len, ==, 3);
  dsm_durable_state_clear (&state);
}

static void
test_sync_inline_declines (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;
  FixtureSyncResult r = { 0 };
  guint64 seq = 0;

  g_test_summary ("The caller's thread writes only a small batch of log records while no sync runs "
                  "in the worker: a batch past the limit, one holding a snapshot, or one appended "
                  "while the worker syncs is declined untouched and left for group commit.");
  fixture_open (f, 0, &state);
  r.wal = f->wal;
  fixture_append_hard_state (f, 1, 1);
  fixture_append_entries (f, 1, 5, 1);
  g_assert_false (dsm_wal_sync_inline (f->wal, 4, &seq, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), ==, 0);
  g_assert_cmpuint (fixture_sync (f), ==, f->seq);

  fixture_append_entries (f, 6, 1, 1);
  fixture_append_snapshot (f, 4, 1, FALSE);
  g_assert_false (dsm_wal_sync_inline (f->wal, 100, &seq, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), ==, f->seq - 2);

  /* The worker's sync takes the queue (the snapshot with it); what is
   * appended while it runs waits for the worker's next turn. */
  dsm_wal_sync_async (f->wal, NULL, fixture_on_synced, &r);
  fixture_append_entries (f, 7, 1, 1);
  if (dsm_wal_is_syncing (f->wal))
    g_assert_false (dsm_wal_sync_inline (f->wal, 100, &seq, &error));
  fixture_iterate_until (&r, 1);
  g_assert_no_error (r.error);
  g_assert_cmpuint (dsm_wal_get_stats (f->wal)->syncs_inline, <=, 1);
  g_assert_cmpuint (fixture_sync (f), ==, f->seq);

  fixture_open (f, 0, &state);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
}

static void
test_local_snapshot_deferred (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  FixtureSyncResult r = { 0 };
  g_autoptr(GPtrArray) tmp = NULL;

  g_test_summary ("A snapshot the node took itself is durable with its batch (the log holds what "
                  "it covers); its file and new base segment are written after the sync answered, "
                  "and close waits for them: reopening finds the snapshot, the entries after it, "
                  "one segment and no staged file.");
  fixture_open (f, 0, &state);
  r.wal = f->wal;
  fixture_append_hard_state (f, 3, 1);
  fixture_append_entries (f, 1, 20, 3);
  fixture_append_snapshot (f, 15, 3, FALSE);
  fixture_append_entries (f, 21, 5, 3);
  dsm_wal_sync_async (f->wal, NULL, fixture_on_synced, &r);
  fixture_iterate_until (&r, 1);
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.seq, ==, f->seq);

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
test_staged_snapshot_overtaken (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmSnapshotRef) ref = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  DsmWalCounts counts = { 0 };
  DsmWalLeftovers leftovers = { 0 };
  g_autoptr(GBytes) bytes = g_bytes_new_static ("{\"old\":1}", 9);
  DsmPersist local = { .kind = DSM_PERSIST_SNAPSHOT, .seq = 999, .index = 5, .snapshot_epoch = 2,
                       .snapshot = bytes };

  g_test_summary ("A local snapshot whose file was being written when a snapshot installed from the "
                  "leader (covering more) became the base is dropped with its file, and the "
                  "directory is as the install left it.");
  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 2, 1);
  fixture_append_entries (f, 1, 10, 2);
  fixture_append_snapshot (f, 8, 2, TRUE);
  fixture_sync (f);
  before = dir_fingerprint (f->dir);

  g_assert_true (dsm_layout_write_snapshot (f->wal->dir_fd, f->wal->dir, "snap-staging.tmp", f->wal->cluster_id,
                                            f->wal->node_id, &local, TRUE, &counts.fsyncs, &ref, &error));
  g_assert_no_error (error);
  g_mutex_lock (&f->wal->io_lock);
  g_assert_true (dsm_wal_write_staged_snapshot (f->wal, &local, "snap-staging.tmp", ref, &counts,
                                                &leftovers, &error));
  g_mutex_unlock (&f->wal->io_lock);
  g_assert_no_error (error);
  g_assert_cmpuint (counts.snapshots_written, ==, 0);
  g_assert_null (leftovers.segments);
  g_assert_null (leftovers.entries);
  after = dir_fingerprint (f->dir);
  g_assert_cmpstr (after, ==, before);

  fixture_open (f, 0, &state);
  g_assert_cmpuint (state.snapshot_index, ==, 8);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
}

static void
test_rotation_and_compaction (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  const DsmWalStats *stats;
  guint64 index = 0;

  g_test_summary ("Segments rotate at segment_bytes, each opening with the hard state; a "
                  "snapshot starts a base segment and the segments and snapshot before it "
                  "are deleted; reopening gives the same state.");
  fixture_open (f, 4096, &state);
  fixture_append_hard_state (f, 1, 1);
  for (guint round = 0; round < 40; round++)
    {
      fixture_append_entries (f, index + 1, 5, 1);
      index += 5;
      fixture_sync (f);
    }
  g_assert_cmpuint (count_files (f->dir, "seg-"), >=, 4);
  fixture_open (f, 4096, &state);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);

  fixture_append_snapshot (f, 195, 1, FALSE);
  fixture_append_entries (f, index + 1, 2, 1);
  fixture_sync (f);
  stats = dsm_wal_get_stats (f->wal);
  g_assert_cmpuint (stats->snapshots_written, ==, 1);
  g_assert_cmpuint (stats->segments_deleted, >=, 4);
  g_assert_cmpuint (count_files (f->dir, "seg-"), ==, 1);
  g_assert_cmpuint (count_files (f->dir, "snap-"), ==, 1);

  fixture_open (f, 4096, &state);
  assert_state_equal (&state, &f->expected);
  g_assert_cmpuint (state.snapshot_index, ==, 195);
  g_assert_cmpuint (state.entries->len, ==, 7);   /* 196..202 */
  dsm_durable_state_clear (&state);

  /* A follower installing a leader's snapshot drops its whole log. */
  fixture_append_hard_state (f, 2, 2);
  fixture_append_snapshot (f, 500, 2, TRUE);
  fixture_append_entries (f, 501, 3, 2);
  fixture_sync (f);
  g_assert_cmpuint (count_files (f->dir, "snap-"), ==, 1);
  g_assert_cmpuint (count_files (f->dir, "seg-"), ==, 1);
  fixture_open (f, 4096, &state);
  assert_state_equal (&state, &f->expected);
  g_assert_cmpuint (state.snapshot_index, ==, 500);
  dsm_durable_state_clear (&state);
}

/* @state holds the snapshot at @snapshot_index and exactly the entries
 * after it, up to @last_index. */
static void
assert_log_after_snapshot (const DsmDurableState *state, guint64 snapshot_index, guint64 last_index)
{
  g_assert_cmpuint (state->snapshot_index, ==, snapshot_index);
  g_assert_nonnull (state->snapshot);
  g_assert_cmpuint (state->entries->len, ==, last_index - snapshot_index);
  for (guint i = 0; i < state->entries->len; i++)
    g_assert_cmpuint (((DsmEntry *) state->entries->pdata[i])->index, ==, snapshot_index + 1 + i);
}

static void
test_entries_below_snapshot_left_out (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A catching-up follower snapshots entries it applied before persisting them, so "
                  "SNAPSHOT(12) comes before ENTRIES 9..14: the WAL keeps only 13..14, and the "
                  "recovered log starts right after its snapshot, as DsmDurableState requires.");
  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 1, 1);
  fixture_append_entries (f, 1, 8, 1);
  fixture_sync (f);
  fixture_append_snapshot (f, 12, 1, FALSE);
  fixture_append_entries (f, 9, 6, 1);
  fixture_sync (f);
  g_assert_true (dsm_wal_check_dir (f->dir, report, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (report->str, "snapshot index 12 epoch 1, 2 entries after it (last index 14)"));
  g_string_truncate (report, 0);
  /* The writer's mirror starts after the snapshot too: the next base
   * segment copies 17 only. */
  fixture_append_entries (f, 15, 3, 1);
  fixture_append_snapshot (f, 16, 1, FALSE);
  fixture_sync (f);

  fixture_open (f, 0, &state);
  assert_log_after_snapshot (&state, 16, 17);
  dsm_durable_state_clear (&state);
  g_clear_pointer (&f->wal, dsm_wal_close);
  g_assert_true (dsm_wal_check_dir (f->dir, report, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (report->str, "snapshot index 16 epoch 1, 1 entries after it (last index 17)"));
}

static void
test_old_entries_below_snapshot_recover (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GPtrArray) segments = NULL;
  g_autoptr(GByteArray) record = g_byte_array_new ();
  g_autoptr(DsmPersist) entries = NULL;
  g_autofree char *last = NULL;
  g_autoptr(GBytes) bytes = NULL;

  g_test_summary ("A directory written before the WAL left such entries out (SNAPSHOT(12), then an "
                  "ENTRIES record from 9 on disk) recovers with the log starting at 13.");
  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 1, 1);
  fixture_append_entries (f, 1, 8, 1);
  fixture_append_snapshot (f, 12, 1, FALSE);
  fixture_sync (f);
  g_clear_pointer (&f->wal, dsm_wal_close);

  /* Append the old writer's record to the last segment, under its next seq
   * (the base segment holds hard state, snapshot_ref and entries). */
  segments = list_files (f->dir, "seg-");
  last = g_build_filename (f->dir, segments->pdata[segments->len - 1], NULL);
  entries = fixture_entries (f, 9, 6, 1);
  entries->seq = g_ascii_strtoull ((const char *) segments->pdata[segments->len - 1] + 4, NULL, 16) + 3;
  bytes = read_file (last);
  g_byte_array_append (record, g_bytes_get_data (bytes, NULL), (guint) g_bytes_get_size (bytes));
  dsm_record_encode (record, entries);
  write_file (last, record->data, record->len);

  fixture_open (f, 0, &state);
  assert_log_after_snapshot (&state, 12, 14);
  dsm_durable_state_clear (&state);
}

static void
test_locked (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;
  DsmWal *second;

  g_test_summary ("A data directory in use refuses a second writer.");
  fixture_open (f, 0, &state);
  second = dsm_wal_open (f->dir, "test-cluster", 1, NULL, &state, &error);
  g_assert_null (second);
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_LOCKED);
}

static void
test_file_size_limit_is_out_of_space (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *segment = NULL;
  g_autoptr(GPtrArray) segments = NULL;
  struct rlimit old_limit, limit;
  void (*old_handler) (int);
  gsize size;

  g_test_summary ("The kernel refusing a write past RLIMIT_FSIZE (EFBIG, after a short write of what "
                  "fitted) is out of space, not a broken disk: the sync fails with NO_SPACE and the "
                  "file's name, the segment is cut back to its size before the batch, and the same "
                  "batch is written once the limit is lifted.");
  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 1, 1);
  fixture_sync (f);
  segments = list_files (f->dir, "seg-");
  segment = g_build_filename (f->dir, segments->pdata[0], NULL);
  size = file_size (segment);

  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  old_handler = signal (SIGXFSZ, SIG_IGN);
  limit = old_limit;
  limit.rlim_cur = 4096;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limit), ==, 0);
  fixture_append_entries (f, 1, 200, 1);
  g_assert_cmpuint (dsm_wal_sync (f->wal, &error), ==, 0);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  signal (SIGXFSZ, old_handler);

  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_NO_SPACE);
  g_assert_nonnull (strstr (error->message, "seg-"));
  g_assert_nonnull (strstr (error->message, g_strerror (EFBIG)));
  g_assert_cmpuint (file_size (segment), ==, size);
  g_assert_true (dsm_wal_get_nospace (f->wal, &reason));
  g_assert_cmpstr (reason, ==, error->message);
  g_assert_cmpuint (dsm_wal_get_durable_seq (f->wal), ==, 1);

  g_assert_cmpuint (fixture_sync (f), ==, 2);
  g_assert_false (dsm_wal_get_nospace (f->wal, NULL));
  fixture_open (f, 0, &state);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
}

int
main (int argc, char **argv)
{
  fixture_init_logging ();
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/storage/wal/new-dir", test_new_dir);
  ADD ("/storage/wal/reopen-gives-same-state", test_reopen_gives_same_state);
  ADD ("/storage/wal/unsynced-appends-are-not-durable", test_unsynced_appends_are_not_durable);
  ADD ("/storage/wal/group-commit", test_group_commit);
  ADD ("/storage/wal/sync-async", test_sync_async);
  ADD ("/storage/wal/sync-thread", test_sync_thread);
  ADD ("/storage/wal/sync-thread-snapshot-deferred", test_sync_thread_snapshot_deferred);
  ADD ("/storage/wal/sync-inline", test_sync_inline);
  ADD ("/storage/wal/sync-inline-declines", test_sync_inline_declines);
  ADD ("/storage/wal/local-snapshot-deferred", test_local_snapshot_deferred);
  ADD ("/storage/wal/staged-snapshot-overtaken", test_staged_snapshot_overtaken);
  ADD ("/storage/wal/rotation-and-compaction", test_rotation_and_compaction);
  ADD ("/storage/wal/entries-below-snapshot-left-out", test_entries_below_snapshot_left_out);
  ADD ("/storage/wal/old-entries-below-snapshot-recover", test_old_entries_below_snapshot_recover);
  ADD ("/storage/wal/locked", test_locked);
  ADD ("/storage/wal/file-size-limit-is-out-of-space", test_file_size_limit_is_out_of_space);
#undef ADD
  return g_test_run ();
}
