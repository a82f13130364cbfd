/* tests/storage/fixture.c: shared helpers of the storage tests (see fixture.h). */
#include "fixture.h"
#include "wal-private.h"

#include <glib/gstdio.h>
#include <string.h>

#define CLUSTER_ID "test-cluster"
#define NODE_ID 1

/* ---- logging ---- */

static GMutex warnings_lock;
static GPtrArray *warnings;

static const char *
field_text (const GLogField *fields, gsize n_fields, const char *key)
{
  for (gsize i = 0; i < n_fields; i++)
    if (strcmp (fields[i].key, key) == 0)
      return fields[i].length < 0 ? fields[i].value : NULL;
  return NULL;
}

/* The WAL's torn-tail warnings are what the tests expect to see; any other
 * warning goes to GLib's writer, which aborts the test. */
static GLogWriterOutput
capture_writer (GLogLevelFlags log_level, const GLogField *fields, gsize n_fields,
                gpointer user_data)
{
  if ((log_level & G_LOG_LEVEL_WARNING) != 0
      && field_text (fields, n_fields, "DSM_TORN_BYTES") != NULL)
    {
      g_mutex_lock (&warnings_lock);
      g_ptr_array_add (warnings, g_strdup (field_text (fields, n_fields, "MESSAGE")));
      g_mutex_unlock (&warnings_lock);
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

void
fixture_init_logging (void)
{
  warnings = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (capture_writer, NULL, NULL);
}

GPtrArray *
fixture_take_warnings (void)
{
  GPtrArray *taken;

  g_mutex_lock (&warnings_lock);
  taken = warnings;
  warnings = g_ptr_array_new_with_free_func (g_free);
  g_mutex_unlock (&warnings_lock);
  return taken;
}

/* ---- fixture ---- */

void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  memset (f, 0, sizeof *f);
  f->dir = g_dir_make_tmp ("dsm-wal-XXXXXX", &error);
  g_assert_no_error (error);
  g_ptr_array_unref (fixture_take_warnings ());
}

void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->wal, dsm_wal_close);
  dsm_durable_state_clear (&f->expected);
  remove_dir (f->dir);
  g_free (f->dir);
}

void
fixture_wait_idle (DsmWal *wal)
{
  g_mutex_lock (&wal->lock);
  while (wal->in_flight > 0)
    g_cond_wait (&wal->idle, &wal->lock);
  g_mutex_unlock (&wal->lock);
}

void
fixture_on_synced (GObject *source, GAsyncResult *result, gpointer user_data)
{
  FixtureSyncResult *r = user_data;

  r->seq = dsm_wal_sync_finish (r->wal, result, &r->error);
  r->calls++;
}

void
fixture_iterate_until (FixtureSyncResult *r, guint calls)
{
  for (guint budget = 1000; r->calls < calls && budget > 0; budget--)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (r->calls, ==, calls);
}

guint64 fixture_preallocate_bytes;

DsmWal *
fixture_open (Fixture *f, guint64 segment_bytes, DsmDurableState *state)
{
  g_autoptr(GError) error = NULL;
  DsmWalOptions options = { .segment_bytes = segment_bytes,
                            .preallocate_bytes = fixture_preallocate_bytes };

  g_clear_pointer (&f->wal, dsm_wal_close);
  f->wal = dsm_wal_open (f->dir, CLUSTER_ID, NODE_ID, &options, state, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->wal);
  return f->wal;
}

static DsmPersist *
fixture_push (Fixture *f, DsmPersist *p)
{
  p->seq = ++f->seq;
  dsm_durable_state_apply (&f->expected, p);
  if (f->wal != NULL)
    dsm_wal_append (f->wal, p);
  return p;
}

DsmPersist *
fixture_hard_state (Fixture *f, guint64 epoch, DsmNodeId voted_for)
{
  DsmPersist *p = g_new0 (DsmPersist, 1);

  p->kind = DSM_PERSIST_HARD_STATE;
  p->epoch = epoch;
  p->voted_for = voted_for;
  return fixture_push (f, p);
}

DsmPersist *
fixture_entries (Fixture *f, guint64 first_index, guint n, guint64 epoch)
{
  DsmPersist *p = g_new0 (DsmPersist, 1);

  p->kind = DSM_PERSIST_ENTRIES;
  p->first_index = first_index;
  p->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *client = g_strdup_printf ("client-%u", (guint) ((first_index + i) % 7));
      DsmCommand cmd = { .op = DSM_OP_TRANSITION, .client_id = client, .seq = first_index + i,
                         .machine = (char *) "pump-1", .to = (char *) "Running" };

      g_ptr_array_add (p->entries, (first_index + i) % 5 == 0
                                       ? dsm_entry_new (first_index + i, epoch, DSM_ENTRY_NOOP, NULL)
                                       : dsm_entry_new (first_index + i, epoch, DSM_ENTRY_COMMAND, &cmd));
    }
  return fixture_push (f, p);
}

DsmPersist *
fixture_snapshot (Fixture *f, guint64 index, guint64 epoch, gboolean reset_log, GBytes *bytes)
{
  DsmPersist *p = g_new0 (DsmPersist, 1);

  p->kind = DSM_PERSIST_SNAPSHOT;
  p->index = index;
  p->snapshot_epoch = epoch;
  p->reset_log = reset_log;
  if (bytes != NULL)
    p->snapshot = g_bytes_ref (bytes);
  else
    {
      g_autofree char *text = g_strdup_printf ("{\"snapshot-of\":%" G_GUINT64_FORMAT "}\n%s",
                                               index, "\x01\x02 binary \xff tail");

      p->snapshot = g_bytes_new (text, strlen (text) + 1);
    }
  return fixture_push (f, p);
}

void
fixture_append_hard_state (Fixture *f, guint64 epoch, DsmNodeId voted_for)
{
  dsm_persist_free (fixture_hard_state (f, epoch, voted_for));
}

void
fixture_append_entries (Fixture *f, guint64 first_index, guint n, guint64 epoch)
{
  dsm_persist_free (fixture_entries (f, first_index, n, epoch));
}

void
fixture_append_snapshot (Fixture *f, guint64 index, guint64 epoch, gboolean reset_log)
{
  dsm_persist_free (fixture_snapshot (f, index, epoch, reset_log, NULL));
}

guint64
fixture_sync (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  guint64 seq = dsm_wal_sync (f->wal, &error);

  g_assert_no_error (error);
  return seq;
}

void
fixture_on_notify (gpointer data)
{
  FixtureNotified *n = data;

  g_mutex_lock (&n->lock);
  n->notified++;
  n->thread = g_thread_self ();
  g_cond_signal (&n->cond);
  g_mutex_unlock (&n->lock);
}

guint64
fixture_sync_thread (DsmWal *wal, FixtureNotified *n, GError **error)
{
  guint before;
  guint64 seq = 1;

  g_mutex_lock (&n->lock);
  before = n->notified;
  g_mutex_unlock (&n->lock);
  dsm_wal_sync_start (wal, fixture_on_notify, n);
  g_mutex_lock (&n->lock);
  while (n->notified == before)
    g_cond_wait (&n->cond, &n->lock);
  g_assert_cmpuint (n->notified, ==, before + 1);
  g_mutex_unlock (&n->lock);
  g_assert_true (dsm_wal_sync_collect (wal, &seq, error));
  return seq;
}

void
assert_state_equal (const DsmDurableState *a, const DsmDurableState *b)
{
  guint a_len = a->entries != NULL ? a->entries->len : 0;
  guint b_len = b->entries != NULL ? b->entries->len : 0;

  g_assert_cmpuint (a->epoch, ==, b->epoch);
  g_assert_cmpuint (a->voted_for, ==, b->voted_for);
  g_assert_cmpuint (a->snapshot_index, ==, b->snapshot_index);
  g_assert_cmpuint (a->snapshot_epoch, ==, b->snapshot_epoch);
  g_assert_cmpint (a->snapshot != NULL, ==, b->snapshot != NULL);
  if (a->snapshot != NULL)
    g_assert_true (g_bytes_equal (a->snapshot, b->snapshot));
  g_assert_cmpuint (a_len, ==, b_len);
  for (guint i = 0; i < a_len; i++)
    g_assert_true (dsm_entry_equal (a->entries->pdata[i], b->entries->pdata[i]));
}

/* ---- files ---- */

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

GPtrArray *
list_files (const char *dir, const char *prefix)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) handle = g_dir_open (dir, 0, &error);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (handle)) != NULL)
    if (g_str_has_prefix (name, prefix))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  return names;
}

guint
count_files (const char *dir, const char *prefix)
{
  g_autoptr(GPtrArray) names = list_files (dir, prefix);

  return names->len;
}

GBytes *
read_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *data = NULL;
  gsize length = 0;

  g_file_get_contents (path, &data, &length, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, length);
}

void
write_file (const char *path, const void *data, gsize length)
{
  g_autoptr(GError) error = NULL;

  /* GLib 2.74 writes in place without truncating under
   * G_FILE_SET_CONTENTS_NONE: start from no file. */
  (void) g_unlink (path);
  g_file_set_contents_full (path, data, (gssize) length, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
}

gsize
file_size (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return (gsize) st.st_size;
}

static char *
fingerprint (const char *dir, gboolean records_only)
{
  g_autoptr(GPtrArray) names = list_files (dir, "");
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autoptr(GBytes) bytes = read_file (path);
      const guint8 *data = g_bytes_get_data (bytes, NULL);
      gsize size = g_bytes_get_size (bytes);

      if (records_only && g_str_has_prefix (names->pdata[i], "seg-"))
        while (size > 0 && data[size - 1] == 0)
          size--;
      g_string_append_printf (out, "%s %" G_GSIZE_FORMAT " %u\n", (char *) names->pdata[i],
                              size, dsm_record_crc32 (data, size));
    }
  return g_string_free (out, FALSE);
}

char *
dir_fingerprint (const char *dir)
{
  return fingerprint (dir, FALSE);
}

char *
dir_fingerprint_records (const char *dir)
{
  return fingerprint (dir, TRUE);
}

void
copy_dir (const char *from, const char *to)
{
  g_autoptr(GPtrArray) names = list_files (from, "");

  g_assert_cmpint (g_mkdir_with_parents (to, 0700), ==, 0);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *src = g_build_filename (from, names->pdata[i], NULL);
      g_autofree char *dst = g_build_filename (to, names->pdata[i], NULL);
      g_autoptr(GBytes) bytes = read_file (src);

      write_file (dst, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    }
}

void
remove_dir (const char *dir)
{
  g_autoptr(GPtrArray) names = NULL;

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    return;
  names = list_files (dir, "");
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);

      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}
