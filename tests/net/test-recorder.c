/* tests/net/test-recorder.c: a node's recording file (net/recorder.h):
 * each open moves the earlier recordings one place down and drops the
 * oldest past `keep`, the file is private, and past its byte budget the
 * recording ends with an "end limit" line after whole flushes only. */
#include <string.h>

#include <glib/gstdio.h>

#include "recorder.h"
#include "recording.h"

static char *
read_text (const char *path)
{
  char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  return text;
}

static void
remove_flat (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_remove (path);
    }
  g_rmdir (dir);
}

static void
test_rotation (void)
{
  g_autofree char *dir = g_dir_make_tmp ("dsm-recorder-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "node.rec", NULL);
  g_autoptr(GError) error = NULL;
  DsmRecorderOptions options = { .path = path, .keep = 3 };
  GStatBuf st;

  g_test_summary ("Each start's recording pushes the earlier ones down (node.rec -> .1 -> .2) "
                  "and the oldest beyond keep goes; the files are mode 0600.");
  for (guint start = 1; start <= 4; start++)
    {
      DsmRecorder *recorder = dsm_recorder_open (&options, &error);
      g_assert_no_error (error);
      dsm_recording_write_tick (dsm_recorder_lines (recorder), start);
      dsm_recorder_close (recorder, "stop");
    }
  g_autofree char *newest = read_text (path);
  g_autofree char *one = g_strdup_printf ("%s.1", path);
  g_autofree char *two = g_strdup_printf ("%s.2", path);
  g_autofree char *three = g_strdup_printf ("%s.3", path);
  g_autofree char *older = read_text (one);
  g_autofree char *oldest = read_text (two);
  g_assert_cmpstr (newest, ==, "{\"i\":\"tick\",\"t\":4}\n{\"i\":\"end\",\"why\":\"stop\"}\n");
  g_assert_true (g_str_has_prefix (older, "{\"i\":\"tick\",\"t\":3}\n"));
  g_assert_true (g_str_has_prefix (oldest, "{\"i\":\"tick\",\"t\":2}\n"));
  g_assert_false (g_file_test (three, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  remove_flat (dir);
}

static guint limit_warnings;

/* Counts the node's "record_limit" warnings instead of printing them. */
static GLogWriterOutput
counting_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (strcmp (fields[i].key, "DSM_EVENT") == 0 && fields[i].length < 0
        && strcmp (fields[i].value, "record_limit") == 0)
      limit_warnings++;
  return G_LOG_WRITER_HANDLED;
}

static void
test_limit (void)
{
  g_autofree char *dir = g_dir_make_tmp ("dsm-recorder-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "node.rec", NULL);
  g_autoptr(GError) error = NULL;
  DsmRecorderOptions options = { .path = path, .max_bytes = 50, .keep = 1 };

  g_test_summary ("Past its byte budget a recording ends at the last whole flush with an "
                  "\"end limit\" line, and takes nothing more.");
  DsmRecorder *recorder = dsm_recorder_open (&options, &error);
  g_assert_no_error (error);
  dsm_recording_write_tick (dsm_recorder_lines (recorder), 1);
  dsm_recording_write_tick (dsm_recorder_lines (recorder), 2);
  dsm_recorder_flush (recorder);
  dsm_recording_write_tick (dsm_recorder_lines (recorder), 3);
  dsm_recorder_flush (recorder);
  g_assert_null (dsm_recorder_lines (recorder));
  dsm_recorder_close (recorder, "stop");
  g_autofree char *text = read_text (path);
  g_assert_cmpstr (text, ==, "{\"i\":\"tick\",\"t\":1}\n{\"i\":\"tick\",\"t\":2}\n{\"i\":\"end\",\"why\":\"limit\"}\n");
  g_assert_cmpuint (limit_warnings, ==, 1);
  remove_flat (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (counting_writer, NULL, NULL);
  g_test_add_func ("/net/recorder/rotation", test_rotation);
  g_test_add_func ("/net/recorder/limit", test_limit);
  return g_test_run ();
}
