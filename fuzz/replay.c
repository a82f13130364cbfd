/* fuzz/replay.c: runs a fuzz target on files instead of under libFuzzer,
 * so every build replays the seed corpus (and the crashes kept in it) as
 * a test.  Arguments: files, or directories whose files are read in name
 * order. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>

static guint
replay_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  gsize size;

  if (!g_file_get_contents (path, &data, &size, &error))
    {
      fprintf (stderr, "replay: %s\n", error->message);
      exit (1);
    }
  /* libFuzzer hands out a buffer of exactly the input's size: so does
   * this copy, so ASan catches a read one byte past it. */
  g_autofree uint8_t *copy = g_memdup2 (data, size);
  LLVMFuzzerTestOneInput (copy, size);
  return 1;
}

static gint
replay_compare (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static guint
replay_dir (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) dir = g_dir_open (path, 0, &error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  guint n = 0;

  if (dir == NULL)
    {
      fprintf (stderr, "replay: %s\n", error->message);
      exit (1);
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_ptr_array_sort (names, replay_compare);
  for (guint i = 0; i < names->len; i++)
    n += replay_file (names->pdata[i]);
  return n;
}

int
main (int argc, char **argv)
{
  guint n = 0;

  LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++)
    n += g_file_test (argv[i], G_FILE_TEST_IS_DIR) ? replay_dir (argv[i]) : replay_file (argv[i]);
  printf ("replayed %u inputs\n", n);
  /* A corpus that is missing or empty tests nothing. */
  return n > 0 ? 0 : 1;
}
