/* fuzz/fuzz.c: the harness the fuzz targets share (fuzz.h): fatal
 * criticals, silent logs, a byte reader for the targets' own choices, a
 * scratch directory and the config data directories are made for. */
#include "fuzz.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GLogWriterOutput
fuzz_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if ((level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR)) == 0)
    return G_LOG_WRITER_HANDLED;
  /* A g_return_if_fail or a critical log reached from outside input is a
   * finding: crash so the fuzzer keeps the input. */
  for (gsize i = 0; i < n_fields; i++)
    if (strcmp (fields[i].key, "MESSAGE") == 0)
      fprintf (stderr, "fuzz: critical reached from input: %s\n",
               fields[i].length < 0 ? (const char *) fields[i].value : "(binary)");
  abort ();
}

void
dsm_fuzz_setup (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
      g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR);
      g_once_init_leave (&once, 1);
    }
}

guint8
dsm_fuzz_take_byte (DsmFuzzInput *in)
{
  guint8 b;

  if (in->size == 0)
    return 0;
  b = in->data[0];
  in->data++;
  in->size--;
  return b;
}

guint32
dsm_fuzz_take_u32 (DsmFuzzInput *in)
{
  guint32 v = 0;

  for (guint i = 0; i < 4; i++)
    v |= (guint32) dsm_fuzz_take_byte (in) << (8 * i);
  return v;
}

size_t
dsm_fuzz_take_bytes (DsmFuzzInput *in, size_t length, const uint8_t **out)
{
  size_t n = MIN (length, in->size);

  *out = in->data;
  in->data += n;
  in->size -= n;
  return n;
}

size_t
dsm_fuzz_take_until (DsmFuzzInput *in, guint8 separator, const uint8_t **out)
{
  const uint8_t *end = memchr (in->data, separator, in->size);
  size_t n = end != NULL ? (size_t) (end - in->data) : in->size;

  *out = in->data;
  in->data += n;
  in->size -= n;
  if (end != NULL)
    dsm_fuzz_take_byte (in);
  return n;
}

static char *scratch_dir;

static void
fuzz_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);
        if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
          fuzz_remove_tree (child);
        else
          g_unlink (child);
      }
  g_rmdir (path);
}

static void
fuzz_scratch_remove (void)
{
  if (scratch_dir != NULL)
    fuzz_remove_tree (scratch_dir);
}

const char *
dsm_fuzz_scratch_dir (void)
{
  if (scratch_dir == NULL)
    {
      g_autoptr(GError) error = NULL;
      scratch_dir = g_dir_make_tmp ("dsm-fuzz-XXXXXX", &error);
      g_assert_no_error (error);
      atexit (fuzz_scratch_remove);
    }
  return scratch_dir;
}

DsmConfig *
dsm_fuzz_config_new (void)
{
  DsmConfig *config = dsm_config_new_default (3);

  g_free (config->cluster_id);
  config->cluster_id = g_strdup ("fuzz");
  return config;
}
