/* tests/tool.c: running our programs from tests (tool.h). */
#include "tool.h"

#include <glib/gstdio.h>
#include <string.h>

void
result_clear (Result *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

/* Runs @argv in @cwd (nullable) and waits for it. */
Result
run_argv (const char *cwd, const char *const *argv)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GError) error = NULL;
  Result r = { 0 };

  if (cwd != NULL)
    g_subprocess_launcher_set_cwd (launcher, cwd);
  g_autoptr(GSubprocess) child = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (child, NULL, NULL, &r.out, &r.err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (child));
  r.status = g_subprocess_get_exit_status (child);
  g_autofree char *line = g_strjoinv (" ", (char **) argv);
  g_test_message ("$ %s -> %d", line, r.status);
  return r;
}

/* Runs a NULL-terminated argument list. */
Result
run_cmd (const char *cwd, const char *first, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  va_list args;

  va_start (args, first);
  for (const char *a = first; a != NULL; a = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  return run_argv (cwd, (const char *const *) argv->pdata);
}

void
assert_status (const Result *r, int status)
{
  if (r->status != status)
    g_error ("exit status %d, expected %d\n--- stdout:\n%s\n--- stderr:\n%s", r->status, status, r->out, r->err);
}

void
assert_contains (const char *text, const char *fragment)
{
  if (strstr (text, fragment) == NULL)
    g_error ("\"%s\" not found in:\n%s", fragment, text);
}

char *
tmp_dir_new (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("dsm-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

void
tree_remove (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          tree_remove (child);
        }
    }
  g_remove (path);
}

void
tmp_dir_remove (char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
  g_free (dir);
}
