/* tests/storage/test-recovery.c: crash recovery on real files: torn tails
 * truncated at every byte, corruption refused with the file and offset and
 * the directory untouched, foreign and damaged directories, the offline
 * check, and a node restarted from what the WAL recovered. */
#include <glib/gstdio.h>
#include <string.h>

#include "error.h"
#include "fixture.h"
#include "store.h"

#define CLUSTER_ID "test-cluster"

static gboolean
collect_offset (const DsmPersist *persist, const DsmRecordInfo *info, gpointer user_data,
                GError **error)
{
  g_array_append_val ((GArray *) user_data, info->offset);
  return TRUE;
}

/* The offsets of the records in @path. */
static GArray *
record_offsets (const char *path)
{
  g_autoptr(GBytes) bytes = read_file (path);
  g_autoptr(GError) error = NULL;
  GArray *offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  gsize valid = 0;
  gboolean torn = FALSE;

  g_assert_true (dsm_record_scan (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), path,
                                  collect_offset, offsets, &valid, &torn, &error));
  g_assert_no_error (error);
  g_assert_false (torn);
  return offsets;
}

static char *
segment_path (Fixture *f, guint i)
{
  g_autoptr(GPtrArray) segments = list_files (f->dir, "seg-");

  g_assert_cmpuint (i, <, segments->len);
  return g_build_filename (f->dir, segments->pdata[i], NULL);
}

static char *
last_segment_path (Fixture *f)
{
  return segment_path (f, count_files (f->dir, "seg-") - 1);
}

/* Asserts that opening @dir fails with @code and a message holding @needle,
 * and that the directory is untouched. */
static void
assert_open_fails (const char *dir, const char *cluster_id, DsmNodeId node_id,
                   gint code, const char *needle)
{
  g_autofree char *before = dir_fingerprint (dir);
  g_autofree char *after = NULL;
  g_autoptr(GError) error = NULL;
  DsmDurableState state = { 0 };
  DsmWal *wal = dsm_wal_open (dir, cluster_id, node_id, NULL, &state, &error);

  g_assert_null (wal);
  g_assert_nonnull (error);
  g_test_message ("open refused: %s", error->message);
  g_assert_error (error, DSM_WAL_ERROR, code);
  if (strstr (error->message, needle) == NULL)
    g_error ("expected \"%s\" in: %s", needle, error->message);
  after = dir_fingerprint (dir);
  g_assert_cmpstr (before, ==, after);
  g_assert_null (state.entries);
}

/* A log of several records in one segment, closed. */
static void
write_small_log (Fixture *f)
{
  DsmDurableState state = { 0 };

  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 1, 1);
  fixture_append_entries (f, 1, 3, 1);
  fixture_sync (f);
  fixture_append_entries (f, 4, 2, 1);
  fixture_append_hard_state (f, 2, 0);
  fixture_sync (f);
  g_clear_pointer (&f->wal, dsm_wal_close);
}

/* ---- torn tails ---- */

static void
test_torn_tail_every_byte (Fixture *f, gconstpointer data)
{
  DsmDurableState before = { 0 };
  g_autofree char *last = NULL;
  g_autoptr(GBytes) pristine = NULL;
  gsize start;
  gsize end;

  g_test_summary ("A last record cut at any byte by a crash is truncated on open: everything "
                  "before it comes back, the bytes dropped are logged and the file shrinks.");
  write_small_log (f);
  fixture_open (f, 0, &before);
  last = last_segment_path (f);
  start = file_size (last);
  fixture_append_entries (f, 6, 2, 2);
  fixture_sync (f);
  end = file_size (last);
  g_clear_pointer (&f->wal, dsm_wal_close);
  pristine = read_file (last);
  g_assert_cmpuint (end, >, start + 100);

  for (gsize cut = start + 1; cut < end; cut++)
    {
      g_autofree char *dir = g_strdup_printf ("%s-cut", f->dir);
      g_autofree char *name = g_path_get_basename (last);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *bytes_text = g_strdup_printf (" %" G_GSIZE_FORMAT " bytes", cut - start);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) warnings = NULL;
      DsmDurableState state = { 0 };
      DsmWal *wal;

      copy_dir (f->dir, dir);
      write_file (path, g_bytes_get_data (pristine, NULL), cut);
      wal = dsm_wal_open (dir, CLUSTER_ID, 1, NULL, &state, &error);
      g_assert_no_error (error);
      assert_state_equal (&state, &before);
      g_assert_cmpuint (dsm_wal_get_stats (wal)->torn_bytes_dropped, ==, cut - start);
      g_assert_cmpuint (file_size (path), ==, start);
      warnings = fixture_take_warnings ();
      g_assert_cmpuint (warnings->len, ==, 1);
      g_assert_nonnull (strstr (warnings->pdata[0], bytes_text));
      g_assert_nonnull (strstr (warnings->pdata[0], name));
      dsm_wal_close (wal);
      dsm_durable_state_clear (&state);
      remove_dir (dir);
    }
  dsm_durable_state_clear (&before);
}

static void
test_torn_tail_then_appends (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autofree char *last = NULL;
  gsize size;

  g_test_summary ("After a torn tail is dropped the WAL appends after the good records and "
                  "a later reopen sees no hole.");
  write_small_log (f);
  last = last_segment_path (f);
  size = file_size (last);
  {
    g_autoptr(GBytes) bytes = read_file (last);
    g_autoptr(GByteArray) torn = g_byte_array_new ();

    /* A half-written record header and a few payload bytes. */
    g_byte_array_append (torn, g_bytes_get_data (bytes, NULL), (guint) size);
    g_byte_array_append (torn, (const guint8 *) "\x40\x00\x00\x00\x01\x02\x03\x04{\"kind\"", 15);
    write_file (last, torn->data, torn->len);
  }
  fixture_open (f, 0, &state);
  g_assert_cmpuint (dsm_wal_get_stats (f->wal)->torn_bytes_dropped, ==, 15);
  g_ptr_array_unref (fixture_take_warnings ());
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
  fixture_append_entries (f, 6, 3, 2);
  fixture_sync (f);
  fixture_open (f, 0, &state);
  assert_state_equal (&state, &f->expected);
  dsm_durable_state_clear (&state);
}

/* ---- corruption ---- */

static void
test_flipped_byte_is_corrupt (Fixture *f, gconstpointer data)
{
  g_autofree char *path = NULL;
  g_autoptr(GArray) offsets = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *needle = NULL;
  gsize at;

  g_test_summary ("A flipped byte in a record with more records after it refuses to open, "
                  "naming the file and offset, and changes nothing in the directory.");
  write_small_log (f);
  path = segment_path (f, 0);
  offsets = record_offsets (path);
  g_assert_cmpuint (offsets->len, >=, 4);
  at = g_array_index (offsets, gsize, 2);
  bytes = read_file (path);
  {
    g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));

    copy[at + DSM_RECORD_HEADER_BYTES + 5] ^= 0x01;
    write_file (path, copy, g_bytes_get_size (bytes));
  }
  needle = g_strdup_printf ("%s: corrupt record at offset %" G_GSIZE_FORMAT, path, at);
  assert_open_fails (f->dir, CLUSTER_ID, 1, DSM_WAL_ERROR_CORRUPT, needle);
}

static void
test_missing_segment_is_corrupt (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autofree char *second = NULL;

  g_test_summary ("A segment missing from the middle of the log (a gap in seqs) refuses to open.");
  fixture_open (f, 1024, &state);
  fixture_append_hard_state (f, 1, 1);
  for (guint i = 0; i < 10; i++)
    {
      fixture_append_entries (f, 5 * i + 1, 5, 1);
      fixture_sync (f);
    }
  g_clear_pointer (&f->wal, dsm_wal_close);
  g_assert_cmpuint (count_files (f->dir, "seg-"), >=, 3);
  second = segment_path (f, 1);
  g_assert_cmpint (g_unlink (second), ==, 0);
  assert_open_fails (f->dir, CLUSTER_ID, 1, DSM_WAL_ERROR_CORRUPT, "a segment is missing");
}

static void
test_torn_middle_segment_is_corrupt (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autofree char *first = NULL;
  g_autoptr(GBytes) bytes = NULL;

  g_test_summary ("A cut record in a segment that is not the last is corruption, not a torn tail.");
  fixture_open (f, 1024, &state);
  fixture_append_hard_state (f, 1, 1);
  for (guint i = 0; i < 10; i++)
    {
      fixture_append_entries (f, 5 * i + 1, 5, 1);
      fixture_sync (f);
    }
  g_clear_pointer (&f->wal, dsm_wal_close);
  first = segment_path (f, 0);
  bytes = read_file (first);
  write_file (first, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes) - 3);
  assert_open_fails (f->dir, CLUSTER_ID, 1, DSM_WAL_ERROR_CORRUPT, "not the last segment");
}

static void
test_foreign_dir (Fixture *f, gconstpointer data)
{
  g_autofree char *meta = NULL;

  g_test_summary ("A directory of another cluster or another node refuses to open, naming "
                  "its meta file.");
  write_small_log (f);
  meta = g_build_filename (f->dir, "meta.json", NULL);
  assert_open_fails (f->dir, "other-cluster", 1, DSM_WAL_ERROR_FOREIGN, meta);
  assert_open_fails (f->dir, CLUSTER_ID, 2, DSM_WAL_ERROR_FOREIGN, meta);
}

static void
test_unknown_format (Fixture *f, gconstpointer data)
{
  g_autofree char *meta = NULL;
  const char *text = "{\"format\":2,\"cluster_id\":\"test-cluster\",\"node_id\":1}\n";

  g_test_summary ("A meta file of a newer format refuses to open rather than misread it.");
  write_small_log (f);
  meta = g_build_filename (f->dir, "meta.json", NULL);
  write_file (meta, text, strlen (text));
  assert_open_fails (f->dir, CLUSTER_ID, 1, DSM_WAL_ERROR_FORMAT, meta);
}

static void
test_segments_without_meta (Fixture *f, gconstpointer data)
{
  g_autofree char *meta = NULL;

  g_test_summary ("Segments without a meta file are not taken for a new directory.");
  write_small_log (f);
  meta = g_build_filename (f->dir, "meta.json", NULL);
  g_assert_cmpint (g_unlink (meta), ==, 0);
  assert_open_fails (f->dir, CLUSTER_ID, 1, DSM_WAL_ERROR_CORRUPT, "meta.json: missing");
}

/* A log whose state depends on a snapshot file; returns its path. */
static char *
write_log_with_snapshot (Fixture *f)
{
  DsmDurableState state = { 0 };
  g_autoptr(GPtrArray) snapshots = NULL;

  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 1, 1);
  fixture_append_entries (f, 1, 10, 1);
  fixture_append_snapshot (f, 8, 1, FALSE);
  fixture_append_entries (f, 11, 2, 1);
  fixture_sync (f);
  g_clear_pointer (&f->wal, dsm_wal_close);
  snapshots = list_files (f->dir, "snap-");
  g_assert_cmpuint (snapshots->len, ==, 1);
  return g_build_filename (f->dir, snapshots->pdata[0], NULL);
}

static void
test_corrupt_snapshot (Fixture *f, gconstpointer data)
{
  g_autofree char *snap = write_log_with_snapshot (f);
  g_autoptr(GBytes) bytes = read_file (snap);
  gsize size = g_bytes_get_size (bytes);

  g_test_summary ("A snapshot the log depends on that is damaged (header or bytes) or "
                  "missing refuses to open, naming the snapshot file.");
  for (guint i = 0; i < 3; i++)
    {
      gsize at = i == 0 ? 3 : i == 1 ? 20 : size - 1;
      g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (bytes, NULL), size);

      copy[at] ^= 0x10;
      write_file (snap, copy, size);
      assert_open_fails (f->dir, CLUSTER_ID, 1, DSM_WAL_ERROR_CORRUPT, snap);
    }
  write_file (snap, g_bytes_get_data (bytes, NULL), size - 1);
  assert_open_fails (f->dir, CLUSTER_ID, 1, DSM_WAL_ERROR_CORRUPT, snap);
  g_assert_cmpint (g_unlink (snap), ==, 0);
  assert_open_fails (f->dir, CLUSTER_ID, 1, DSM_WAL_ERROR_CORRUPT, "missing");
}

static void
test_leftovers_removed (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autofree char *orphan = g_build_filename (f->dir, "snap-00000000000000ff.snap", NULL);
  g_autofree char *tmp = g_build_filename (f->dir, "snap-0000000000000100.snap.tmp", NULL);
  g_autofree char *other = g_build_filename (f->dir, "NOTES", NULL);

  g_test_summary ("Unfinished writes and snapshots nothing refers to are removed on open; "
                  "files that are not ours are left alone.");
  write_small_log (f);
  write_file (orphan, "junk", 4);
  write_file (tmp, "junk", 4);
  write_file (other, "mine", 4);
  fixture_open (f, 0, &state);
  assert_state_equal (&state, &f->expected);
  g_assert_false (g_file_test (orphan, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (tmp, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_EXISTS));
  dsm_durable_state_clear (&state);
}

/* ---- crashes while a snapshot starts a base segment ---- */

static void
state_copy (DsmDurableState *dest, const DsmDurableState *src)
{
  *dest = *src;
  dest->snapshot = src->snapshot != NULL ? g_bytes_ref (src->snapshot) : NULL;
  dest->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  for (guint i = 0; src->entries != NULL && i < src->entries->len; i++)
    g_ptr_array_add (dest->entries, dsm_entry_ref (src->entries->pdata[i]));
}

/* Leaves in @saved the directory as it was before a snapshot's sync, and
 * in f->dir as it is after; returns the base segment's name. */
static char *
snapshot_after_copy (Fixture *f, const char *saved, DsmDurableState *before)
{
  DsmDurableState state = { 0 };
  g_autoptr(GPtrArray) segments = NULL;

  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 1, 1);
  fixture_append_entries (f, 1, 10, 1);
  fixture_sync (f);
  state_copy (before, &f->expected);
  copy_dir (f->dir, saved);
  fixture_append_snapshot (f, 7, 1, FALSE);
  fixture_sync (f);
  g_clear_pointer (&f->wal, dsm_wal_close);
  segments = list_files (f->dir, "seg-");
  g_assert_cmpuint (segments->len, ==, 1);
  return g_strdup (segments->pdata[0]);
}

/* Copies @name from @from to @to, cut to @length bytes (G_MAXSIZE: whole). */
static void
copy_file (const char *from, const char *to, const char *name, gsize length)
{
  g_autofree char *src = g_build_filename (from, name, NULL);
  g_autofree char *dst = g_build_filename (to, name, NULL);
  g_autoptr(GBytes) bytes = read_file (src);

  write_file (dst, g_bytes_get_data (bytes, NULL), MIN (length, g_bytes_get_size (bytes)));
}

static void
test_crash_while_starting_base (Fixture *f, gconstpointer data)
{
  g_autofree char *saved = g_strdup_printf ("%s-saved", f->dir);
  g_autofree char *base = NULL;
  g_autofree char *base_path = NULL;
  g_autoptr(GArray) offsets = NULL;
  g_autoptr(GPtrArray) snaps = NULL;
  g_autoptr(GError) error = NULL;
  DsmDurableState before = { 0 };
  DsmDurableState state = { 0 };
  DsmWal *wal;

  g_test_summary ("A crash after the snapshot file landed but before the base segment's "
                  "header did: recovery replays the older segments, drops the cut header "
                  "and the unreferenced snapshot, and loses nothing that was durable.");
  base = snapshot_after_copy (f, saved, &before);
  base_path = g_build_filename (f->dir, base, NULL);
  offsets = record_offsets (base_path);
  snaps = list_files (f->dir, "snap-");
  copy_file (f->dir, saved, snaps->pdata[0], G_MAXSIZE);
  /* The base's hard state landed, its snapshot_ref only in part. */
  copy_file (f->dir, saved, base, g_array_index (offsets, gsize, 1) + 20);
  wal = dsm_wal_open (saved, CLUSTER_ID, 1, NULL, &state, &error);
  g_assert_no_error (error);
  g_ptr_array_unref (fixture_take_warnings ());
  assert_state_equal (&state, &before);
  g_assert_cmpuint (dsm_wal_get_stats (wal)->torn_bytes_dropped, ==, 20);
  g_assert_cmpuint (count_files (saved, "snap-"), ==, 0);
  dsm_wal_close (wal);
  dsm_durable_state_clear (&state);
  dsm_durable_state_clear (&before);
  remove_dir (saved);
}

static void
test_crash_before_old_segments_deleted (Fixture *f, gconstpointer data)
{
  g_autofree char *saved = g_strdup_printf ("%s-saved", f->dir);
  g_autofree char *base = NULL;
  g_autoptr(GPtrArray) snaps = NULL;
  g_autoptr(GError) error = NULL;
  DsmDurableState before = { 0 };
  DsmDurableState state = { 0 };
  DsmWal *wal;

  g_test_summary ("A crash after the base segment was durable but before the older segments "
                  "were deleted: recovery starts from the base and removes the rest.");
  base = snapshot_after_copy (f, saved, &before);
  snaps = list_files (f->dir, "snap-");
  copy_file (f->dir, saved, snaps->pdata[0], G_MAXSIZE);
  copy_file (f->dir, saved, base, G_MAXSIZE);
  g_assert_cmpuint (count_files (saved, "seg-"), ==, 2);
  wal = dsm_wal_open (saved, CLUSTER_ID, 1, NULL, &state, &error);
  g_assert_no_error (error);
  assert_state_equal (&state, &f->expected);
  g_assert_cmpuint (state.snapshot_index, ==, 7);
  g_assert_cmpuint (count_files (saved, "seg-"), ==, 2);   /* the base and this run's */
  dsm_wal_close (wal);
  dsm_durable_state_clear (&state);
  dsm_durable_state_clear (&before);
  remove_dir (saved);
}

/* Found by fuzz/fuzz-recovery.c: every record intact, but an entry of a
 * later epoch than the hard state's, which dsm_node_new() refuses; the
 * directory passed recovery and the offline check, then the node could not
 * start from it. */
static void
test_entry_past_epoch_is_corrupt (Fixture *f, gconstpointer data)
{
  DsmDurableState state = { 0 };
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A log whose records are intact but which a node cannot restart from (an "
                  "entry past the hard state's epoch) is corrupt, for open and the offline "
                  "check alike, naming the directory and the entry.");
  fixture_open (f, 0, &state);
  fixture_append_hard_state (f, 1, 0);
  fixture_append_entries (f, 1, 1, 2);
  fixture_sync (f);
  g_clear_pointer (&f->wal, dsm_wal_close);

  assert_open_fails (f->dir, CLUSTER_ID, 1, DSM_WAL_ERROR_CORRUPT, "index 1 epoch 2 does not follow");
  g_assert_false (dsm_wal_check_dir (f->dir, report, &error));
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, f->dir));
}

/* ---- the offline check ---- */

static void
test_check_dir (Fixture *f, gconstpointer data)
{
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *last = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GBytes) bytes = NULL;

  g_test_summary ("check_dir passes a good directory, reports a torn tail without failing, "
                  "fails a corrupt one, and never changes anything.");
  g_free (write_log_with_snapshot (f));
  g_assert_true (dsm_wal_check_dir (f->dir, report, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (report->str, "result: good\n"));
  g_assert_nonnull (strstr (report->str, "cluster \"test-cluster\", node 1"));
  g_assert_nonnull (strstr (report->str, "snapshot at index 8"));

  last = last_segment_path (f);
  bytes = read_file (last);
  write_file (last, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes) - 5);
  before = dir_fingerprint (f->dir);
  g_string_truncate (report, 0);
  g_assert_true (dsm_wal_check_dir (f->dir, report, &error));
  g_assert_no_error (error);
  g_assert_nonnull (strstr (report->str, "torn tail"));
  after = dir_fingerprint (f->dir);
  g_assert_cmpstr (before, ==, after);

  {
    g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));

    copy[DSM_RECORD_HEADER_BYTES + 3] ^= 0x20;
    write_file (last, copy, g_bytes_get_size (bytes));
  }
  g_string_truncate (report, 0);
  g_assert_false (dsm_wal_check_dir (f->dir, report, &error));
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "offset 0"));
  g_assert_nonnull (strstr (report->str, "refuse to start"));
}

/* ---- a node restarted from the recovered state ---- */

static DsmEntry *
command (guint64 index, guint64 epoch, const char *to)
{
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .client_id = (char *) "c", .seq = index,
                     .machine = (char *) "pump-1", .to = (char *) to };

  return dsm_entry_new (index, epoch, DSM_ENTRY_COMMAND, &cmd);
}

static void
append_entries (DsmWal *wal, guint64 *seq, DsmEntry **entries, guint n)
{
  g_autoptr(GPtrArray) array = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  DsmPersist p = { .kind = DSM_PERSIST_ENTRIES, .seq = ++*seq, .first_index = entries[0]->index,
                   .entries = array };

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (array, dsm_entry_ref (entries[i]));
  dsm_wal_append (wal, &p);
}

static void
test_node_restarts_from_recovered_state (Fixture *f, gconstpointer data)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  DsmStore *store = dsm_store_new (config);
  DsmEntry *entries[5] = {
    dsm_entry_new (1, 1, DSM_ENTRY_NOOP, NULL), command (2, 1, "Running"),
    command (3, 2, "Stopped"), dsm_entry_new (4, 3, DSM_ENTRY_NOOP, NULL), command (5, 3, "Init"),
  };
  DsmDurableState state = { 0 };
  g_autoptr(GBytes) snapshot = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmNode) node = NULL;
  guint64 seq = 0;

  g_test_summary ("A node built from the state the WAL recovered keeps its epoch, its vote, "
                  "its snapshot and its log: a restart forgets nothing it persisted.");
  for (guint i = 0; i < 3; i++)
    {
      DsmApplyResult result = { 0 };

      g_assert_true (dsm_store_apply (store, entries[i], &result, NULL));
      dsm_apply_result_clear (&result);
    }
  snapshot = dsm_store_snapshot (store);
  dsm_store_free (store);

  fixture_open (f, 0, &state);
  DsmPersist hs1 = { .kind = DSM_PERSIST_HARD_STATE, .seq = ++seq, .epoch = 1, .voted_for = 1 };
  dsm_wal_append (f->wal, &hs1);
  append_entries (f->wal, &seq, entries, 2);
  DsmPersist hs2 = { .kind = DSM_PERSIST_HARD_STATE, .seq = ++seq, .epoch = 2, .voted_for = 2 };
  dsm_wal_append (f->wal, &hs2);
  append_entries (f->wal, &seq, entries + 2, 1);
  DsmPersist snap = { .kind = DSM_PERSIST_SNAPSHOT, .seq = ++seq, .index = 3, .snapshot_epoch = 2,
                      .snapshot = snapshot, .reset_log = FALSE };
  dsm_wal_append (f->wal, &snap);
  DsmPersist hs3 = { .kind = DSM_PERSIST_HARD_STATE, .seq = ++seq, .epoch = 3, .voted_for = 3 };
  dsm_wal_append (f->wal, &hs3);
  append_entries (f->wal, &seq, entries + 3, 2);
  g_assert_cmpuint (fixture_sync (f), ==, seq);

  fixture_open (f, 0, &state);
  node = dsm_node_new (config, 2, g_rand_new_with_seed (7), &state, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_node_get_epoch (node), ==, 3);
  g_assert_cmpuint (dsm_node_get_voted_for (node), ==, 3);
  g_assert_cmpint (dsm_node_get_role (node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_get_last_index (node), ==, 5);
  g_assert_cmpuint (dsm_log_start_index (dsm_node_get_log (node)), ==, 3);
  g_assert_cmpuint (dsm_log_start_epoch (dsm_node_get_log (node)), ==, 2);
  g_assert_cmpuint (dsm_node_get_applied_index (node), ==, 3);
  for (guint64 i = 4; i <= 5; i++)
    g_assert_true (dsm_entry_equal (dsm_log_get (dsm_node_get_log (node), i), entries[i - 1]));
  g_assert_cmpstr (dsm_store_read (dsm_node_get_store (node), "pump-1", NULL, NULL), ==, "Stopped");

  dsm_durable_state_clear (&state);
  for (guint i = 0; i < G_N_ELEMENTS (entries); i++)
    dsm_entry_unref (entries[i]);
}

int
main (int argc, char **argv)
{
  fixture_init_logging ();
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/storage/recovery/torn-tail-every-byte", test_torn_tail_every_byte);
  ADD ("/storage/recovery/torn-tail-then-appends", test_torn_tail_then_appends);
  ADD ("/storage/recovery/flipped-byte-is-corrupt", test_flipped_byte_is_corrupt);
  ADD ("/storage/recovery/missing-segment-is-corrupt", test_missing_segment_is_corrupt);
  ADD ("/storage/recovery/torn-middle-segment-is-corrupt", test_torn_middle_segment_is_corrupt);
  ADD ("/storage/recovery/foreign-dir", test_foreign_dir);
  ADD ("/storage/recovery/unknown-format", test_unknown_format);
  ADD ("/storage/recovery/segments-without-meta", test_segments_without_meta);
  ADD ("/storage/recovery/corrupt-snapshot", test_corrupt_snapshot);
  ADD ("/storage/recovery/leftovers-removed", test_leftovers_removed);
  ADD ("/storage/recovery/crash-while-starting-base", test_crash_while_starting_base);
  ADD ("/storage/recovery/crash-before-old-segments-deleted", test_crash_before_old_segments_deleted);
  ADD ("/storage/recovery/entry-past-epoch-is-corrupt", test_entry_past_epoch_is_corrupt);
  ADD ("/storage/recovery/check-dir", test_check_dir);
  ADD ("/storage/recovery/node-restarts-from-recovered-state", test_node_restarts_from_recovered_state);
#undef ADD
  return g_test_run ();
}
