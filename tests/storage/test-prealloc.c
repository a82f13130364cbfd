/* tests/storage/test-prealloc.c: preallocated segments (STORAGE.md,
 * "Preallocated segments"): zeros written ahead of the records in steps,
 * a segment that ends cut to its records, and what recovery makes of the
 * states a crash leaves: right after preallocation, in the middle of an
 * overwrite, a zero tail in any segment, and garbage after the zeros. */
#include <string.h>

#include "fixture.h"

#define CLUSTER_ID "test-cluster"
#define STEP 4096

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

static gboolean
count_record (const DsmPersist *persist, const DsmRecordInfo *info, gpointer user_data,
              GError **error)
{
  (*(guint *) user_data)++;
  return TRUE;
}

/* Where the records of @path end, asserting nothing but zeros follows. */
static gsize
records_end (const char *path)
{
  g_autoptr(GBytes) bytes = read_file (path);
  const guint8 *data = g_bytes_get_data (bytes, NULL);
  gsize size = g_bytes_get_size (bytes);
  gsize valid = 0;
  gboolean torn = FALSE;
  guint records = 0;

  g_assert_true (dsm_record_scan (data, size, path, count_record, &records, &valid, &torn, NULL));
  g_assert_cmpuint (records, >, 0);
  for (gsize i = valid; i < size; i++)
    g_assert_cmpuint (data[i], ==, 0);
  return valid;
}

/* Opens @dir (asserting success) and checks it recovers @expected with no
 * torn tail and no warning. */
static void
assert_opens_clean (const char *dir, const DsmDurableState *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) warnings = NULL;
  DsmDurableState state = { 0 };
  DsmWal *wal = dsm_wal_open (dir, CLUSTER_ID, 1, NULL, &state, &error);

  g_assert_no_error (error);
  assert_state_equal (&state, expected);
  g_assert_cmpuint (dsm_wal_get_stats (wal)->torn_bytes_dropped, ==, 0);
  warnings = fixture_take_warnings ();
  g_assert_cmpuint (warnings->len, ==, 0);
  dsm_wal_close (wal);
  dsm_durable_state_clear (&state);
}

/* A log in one segment, preallocated in STEP steps, still open. */
static void
write_log (Fixture *f)
{
  DsmDurableState state = { 0 };

  fixture_preallocate_bytes = STEP;
  fixture_open (f, 0, &state);
  fixture_preallocate_bytes = 0;
  fixture_append_hard_state (f, 1, 1);
  fixture_append_entries (f, 1, 3, 1);
  fixture_sync (f);
  fixture_append_entries (f, 4, 2, 1);
  fixture_append_hard_state (f, 2, 0);
  fixture_sync (f);
}

static void
test_zeros_ahead (Fixture *f, gconstpointer data)
{
  g_autofree char *path = NULL;
  guint64 index = 6;

  g_test_summary ("Preallocated, the active segment is its records then zeros, grown in steps "
                  "at least half a step ahead; closed, it is cut to its records; it reopens "
                  "with everything, no torn tail and no warning.");
  write_log (f);
  path = last_segment_path (f);
  g_assert_cmpuint (file_size (path), ==, STEP);
  g_assert_cmpuint (records_end (path), <, STEP / 2);
  while (records_end (path) < 3 * STEP)
    {
      fixture_append_entries (f, index, 4, 2);
      index += 4;
      fixture_sync (f);
      g_assert_cmpuint (file_size (path) % STEP, ==, 0);
      g_assert_cmpuint (file_size (path) - records_end (path), >=, STEP / 2);
      g_assert_cmpuint (file_size (path) - records_end (path), <=, STEP + STEP / 2);
    }
  g_clear_pointer (&f->wal, dsm_wal_close);
  g_assert_cmpuint (file_size (path), ==, records_end (path));
  assert_opens_clean (f->dir, &f->expected);
}

static void
test_crash_after_preallocation (Fixture *f, gconstpointer data)
{
  g_autofree char *crashed = g_strconcat (f->dir, "-crashed", NULL);
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autofree char *next = NULL;
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  guint8 zeros[STEP] = { 0 };
  gsize end;

  g_test_summary ("A crash leaves the active segment with zeros after its records, and maybe a "
                  "next segment of zeros only (created and preallocated, no record landed): the "
                  "check reports the zeros as unused space, not a torn tail; open recovers "
                  "everything durable, cuts the zeros, removes the empty segment, warns of nothing.");
  write_log (f);
  copy_dir (f->dir, crashed);    /* the power goes: what the files hold now */
  {
    g_autofree char *last = last_segment_path (f);
    name = g_path_get_basename (last);
  }
  path = g_build_filename (crashed, name, NULL);
  end = records_end (path);
  g_assert_cmpuint (file_size (path), >, end);
  {
    /* Named by the seq after the last record's. */
    g_autoptr(GBytes) bytes = read_file (path);
    guint64 first_seq = g_ascii_strtoull (name + strlen ("seg-"), NULL, 16);
    g_autofree char *next_name = NULL;
    gsize valid = 0;
    gboolean torn = FALSE;
    guint records = 0;

    g_assert_true (dsm_record_scan (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), path,
                                    count_record, &records, &valid, &torn, NULL));
    next_name = g_strdup_printf ("seg-%016" G_GINT64_MODIFIER "x.wal", first_seq + records);
    next = g_build_filename (crashed, next_name, NULL);
  }
  write_file (next, zeros, sizeof zeros);

  g_assert_true (dsm_wal_check_dir (crashed, report, &error));
  g_assert_no_error (error);
  g_test_message ("%s", report->str);
  g_assert_nonnull (strstr (report->str, "bytes of zeros after the last record"));
  g_assert_null (strstr (report->str, "torn"));
  g_assert_nonnull (strstr (report->str, "result: good\n"));

  assert_opens_clean (crashed, &f->expected);
  g_assert_cmpuint (file_size (path), ==, end);
  /* The zeros were removed; the run that opened started its segment
   * under the same name, which holds its hard state now (closed: cut). */
  g_assert_cmpuint (file_size (next), ==, records_end (next));
  remove_dir (crashed);
}

static void
test_crash_mid_overwrite (Fixture *f, gconstpointer data)
{
  DsmDurableState before = { 0 };
  g_autofree char *last = NULL;
  g_autoptr(GBytes) pristine = NULL;
  gsize start;
  gsize end;

  g_test_summary ("A crash in the middle of a write over the zeros (its bytes landed up to any "
                  "point, zeros after them): everything before the write comes back; a write "
                  "that landed in part is a torn tail, dropped and logged; one of which nothing "
                  "landed is only zeros, dropped without a word.");
  write_log (f);
  g_clear_pointer (&f->wal, dsm_wal_close);
  fixture_preallocate_bytes = STEP;
  fixture_open (f, 0, &before);
  fixture_preallocate_bytes = 0;
  last = last_segment_path (f);
  start = records_end (last);
  fixture_append_entries (f, 6, 2, 2);
  fixture_sync (f);
  end = records_end (last);
  g_assert_cmpuint (end, >, start + 100);
  pristine = read_file (last);
  g_clear_pointer (&f->wal, dsm_wal_close);

  for (gsize cut = start; cut < end; cut++)
    {
      g_autofree char *dir = g_strdup_printf ("%s-cut", f->dir);
      g_autofree char *name = g_path_get_basename (last);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree guint8 *bytes = g_memdup2 (g_bytes_get_data (pristine, NULL),
                                            g_bytes_get_size (pristine));
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) warnings = NULL;
      DsmDurableState state = { 0 };
      DsmWal *wal;

      memset (bytes + cut, 0, end - cut);
      copy_dir (f->dir, dir);
      write_file (path, bytes, g_bytes_get_size (pristine));
      wal = dsm_wal_open (dir, CLUSTER_ID, 1, NULL, &state, &error);
      g_assert_no_error (error);
      assert_state_equal (&state, &before);
      warnings = fixture_take_warnings ();
      if (cut == start)
        {
          g_assert_cmpuint (dsm_wal_get_stats (wal)->torn_bytes_dropped, ==, 0);
          g_assert_cmpuint (warnings->len, ==, 0);
        }
      else
        {
          g_assert_cmpuint (dsm_wal_get_stats (wal)->torn_bytes_dropped, ==,
                            g_bytes_get_size (pristine) - start);
          g_assert_cmpuint (warnings->len, ==, 1);
          g_assert_nonnull (strstr (warnings->pdata[0], name));
        }
      g_assert_cmpuint (file_size (path), ==, start);
      dsm_wal_close (wal);
      dsm_durable_state_clear (&state);
      remove_dir (dir);
    }
  dsm_durable_state_clear (&before);
}

static void
test_garbage_after_zeros (Fixture *f, gconstpointer data)
{
  g_autofree char *crashed = g_strconcat (f->dir, "-crashed", NULL);
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *needle = NULL;
  g_autoptr(GError) error = NULL;
  DsmDurableState state = { 0 };
  gsize end;

  g_test_summary ("Non-zero bytes after the zeros are not unused space: the first zero header "
                  "is corruption (more data follows it), named by file and offset, and the "
                  "directory is left as it was.");
  write_log (f);
  copy_dir (f->dir, crashed);
  {
    g_autofree char *last = last_segment_path (f);
    name = g_path_get_basename (last);
  }
  path = g_build_filename (crashed, name, NULL);
  end = records_end (path);
  {
    g_autoptr(GBytes) bytes = read_file (path);
    g_autofree guint8 *damaged = g_memdup2 (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));

    memcpy (damaged + end + 100, "garbage", 7);
    write_file (path, damaged, g_bytes_get_size (bytes));
  }
  before = dir_fingerprint (crashed);
  g_assert_null (dsm_wal_open (crashed, CLUSTER_ID, 1, NULL, &state, &error));
  g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CORRUPT);
  g_test_message ("open refused: %s", error->message);
  needle = g_strdup_printf ("offset %" G_GSIZE_FORMAT, end);
  g_assert_nonnull (strstr (error->message, name));
  g_assert_nonnull (strstr (error->message, needle));
  g_assert_nonnull (strstr (error->message, "not a torn tail"));
  after = dir_fingerprint (crashed);
  g_assert_cmpstr (before, ==, after);
  remove_dir (crashed);
}

static void
test_rotated_segments_cut (Fixture *f, gconstpointer data)
{
  g_autoptr(GPtrArray) segments = NULL;
  DsmDurableState state = { 0 };
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  g_test_summary ("Preallocated, every segment but the active one ends with its last record "
                  "(the zeros stop at the rotation size, which the records have reached when the "
                  "segment rotates), as does the active one once closed: the check reports no "
                  "zeros and recovery gets everything.");
  fixture_preallocate_bytes = 512;
  fixture_open (f, 2048, &state);
  fixture_preallocate_bytes = 0;
  dsm_durable_state_clear (&state);
  fixture_append_hard_state (f, 1, 1);
  for (guint64 index = 1; index <= 80; index += 4)
    {
      fixture_append_entries (f, index, 4, 1);
      fixture_sync (f);
    }
  segments = list_files (f->dir, "seg-");
  g_assert_cmpuint (segments->len, >=, 3);
  for (guint i = 0; i + 1 < segments->len; i++)
    {
      g_autofree char *path = segment_path (f, i);
      g_assert_cmpuint (file_size (path), ==, records_end (path));
    }
  {
    g_autofree char *active = last_segment_path (f);
    g_assert_cmpuint (file_size (active), >, records_end (active));
  }
  g_clear_pointer (&f->wal, dsm_wal_close);
  g_assert_true (dsm_wal_check_dir (f->dir, report, &error));
  g_assert_no_error (error);
  g_assert_null (strstr (report->str, "zeros"));
  g_assert_null (strstr (report->str, "torn"));
  assert_opens_clean (f->dir, &f->expected);
}

static void
test_zero_tail_middle_segment (Fixture *f, gconstpointer data)
{
  g_autofree char *copy = g_strconcat (f->dir, "-copy", NULL);
  g_autofree char *first = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  DsmDurableState state = { 0 };
  guint8 zeros[1000] = { 0 };
  gsize end;

  g_test_summary ("Zeros after the last record of a segment that is not the last (a crash "
                  "before its cut was durable) are unused space too: open recovers everything "
                  "and cuts them.  A record zeroed there is not: the next segment's name "
                  "shows the gap in the seqs, and open refuses.");
  fixture_open (f, 2048, &state);
  dsm_durable_state_clear (&state);
  fixture_append_hard_state (f, 1, 1);
  for (guint64 index = 1; index <= 60; index += 4)
    {
      fixture_append_entries (f, index, 4, 1);
      fixture_sync (f);
    }
  g_clear_pointer (&f->wal, dsm_wal_close);
  g_assert_cmpuint (count_files (f->dir, "seg-"), >=, 2);
  first = segment_path (f, 0);
  bytes = read_file (first);
  end = g_bytes_get_size (bytes);

  /* Zeros after its records: unused space. */
  copy_dir (f->dir, copy);
  {
    g_autofree char *name = g_path_get_basename (first);
    g_autofree char *path = g_build_filename (copy, name, NULL);
    g_autoptr(GByteArray) grown = g_byte_array_new ();

    g_byte_array_append (grown, g_bytes_get_data (bytes, NULL), (guint) end);
    g_byte_array_append (grown, zeros, sizeof zeros);
    write_file (path, grown->data, grown->len);
    assert_opens_clean (copy, &f->expected);
    g_assert_cmpuint (file_size (path), ==, end);
  }
  remove_dir (copy);

  /* Its last record zeroed: a record is missing. */
  copy_dir (f->dir, copy);
  {
    g_autofree char *name = g_path_get_basename (first);
    g_autofree char *path = g_build_filename (copy, name, NULL);
    g_autofree guint8 *cut_data = g_memdup2 (g_bytes_get_data (bytes, NULL), end);
    GArray *offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
    gsize last_offset;

    {
      gsize valid = 0;
      gboolean torn = FALSE;
      guint records = 0;
      g_assert_true (dsm_record_scan (cut_data, end, path, count_record, &records, &valid, &torn, NULL));
      g_assert_cmpuint (records, >=, 2);
    }
    /* The offset of its last record: scan again, keeping each offset. */
    {
      gsize at = 0;
      while (at < end)
        {
          gsize record_bytes = 0;
          g_autoptr(DsmPersist) persist = dsm_record_decode (cut_data + at, end - at, &record_bytes,
                                                             NULL, NULL);
          g_assert_nonnull (persist);
          g_array_append_val (offsets, at);
          at += record_bytes;
        }
    }
    last_offset = g_array_index (offsets, gsize, offsets->len - 1);
    g_array_unref (offsets);
    memset (cut_data + last_offset, 0, end - last_offset);
    write_file (path, cut_data, end);
    g_assert_null (dsm_wal_open (copy, CLUSTER_ID, 1, NULL, &state, &error));
    g_assert_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CORRUPT);
    g_test_message ("open refused: %s", error->message);
    g_assert_nonnull (strstr (error->message, "the log continues at seq"));
  }
  remove_dir (copy);
}

int
main (int argc, char **argv)
{
  fixture_init_logging ();
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/storage/prealloc/zeros-ahead", test_zeros_ahead);
  ADD ("/storage/prealloc/crash-after-preallocation", test_crash_after_preallocation);
  ADD ("/storage/prealloc/crash-mid-overwrite", test_crash_mid_overwrite);
  ADD ("/storage/prealloc/garbage-after-zeros", test_garbage_after_zeros);
  ADD ("/storage/prealloc/rotated-segments-cut", test_rotated_segments_cut);
  ADD ("/storage/prealloc/zero-tail-middle-segment", test_zero_tail_middle_segment);
#undef ADD
  return g_test_run ();
}
