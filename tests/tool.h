/* tests/tool.h: running our programs from tests as a user would
 * (GSubprocess): their exit status and output, and flat temporary
 * folders that remove themselves.  Shared by the tests of dsm-sim,
 * dsm-check and dsm-real. */
#pragma once

#include <gio/gio.h>

typedef struct {
  int status;
  char *out;
  char *err;
} Result;

void result_clear (Result *r);

/* Runs @argv in @cwd (nullable), waits for it and logs the command line. */
Result run_argv (const char *cwd, const char *const *argv);

/* Runs a NULL-terminated argument list. */
Result run_cmd (const char *cwd, const char *first, ...) G_GNUC_NULL_TERMINATED;

/* Fails the test, showing both outputs, unless @r exited with @status. */
void assert_status (const Result *r, int status);

/* Fails the test, showing @text, unless it holds @fragment. */
void assert_contains (const char *text, const char *fragment);

/* A new temporary folder (transfer full). */
char *tmp_dir_new (void);

/* Removes the flat folder @dir and frees the string. */
void tmp_dir_remove (char *dir);

/* Removes @path, and everything under it when it is a folder. */
void tree_remove (const char *path);

/* A temporary folder's path; freeing it removes the folder (flat). */
typedef char TmpDir;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TmpDir, tmp_dir_remove)
