/* tools/output.c: the files a command line writes where its user points
 * it: renamed into place when regular, written in place when a device. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes into @path as it is, for a path that exists and is no regular
 * file.  O_NOCTTY: a terminal named as the output must not become the
 * controlling one. */
static gboolean
output_write_in_place (const char *path, const char *contents, gsize length, GError **error)
{
  int fd = g_open (path, O_WRONLY | O_CLOEXEC | O_NOCTTY, 0);
  gsize done = 0;

  if (fd < 0)
    {
      int errsv = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errsv), "Failed to open “%s” for writing: %s", path,
                   g_strerror (errsv));
      return FALSE;
    }
  while (done < length)
    {
      gssize n = write (fd, contents + done, length - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int errsv = n < 0 ? errno : EIO;
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errsv), "Failed to write “%s”: %s", path,
                       g_strerror (errsv));
          (void) close (fd);
          return FALSE;
        }
      done += (gsize) n;
    }
  g_assert (done == length);
  if (close (fd) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errsv), "Failed to close “%s”: %s", path,
                   g_strerror (errsv));
      return FALSE;
    }
  return TRUE;
}

gboolean
dsm_output_write (const char *path, const char *contents, gsize length, GFileSetContentsFlags flags, int mode,
                  GError **error)
{
  GStatBuf st;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (contents != NULL || length == 0, FALSE);
  g_return_val_if_fail (length <= G_MAXSSIZE, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* g_stat() follows symbolic links, as g_file_set_contents_full() does
   * before it renames: /dev/stdout is written in place too. */
  if (g_stat (path, &st) == 0 && !S_ISREG (st.st_mode))
    return output_write_in_place (path, contents != NULL ? contents : "", length, error);
  return g_file_set_contents_full (path, contents != NULL ? contents : "", (gssize) length, flags, mode, error);
}

gboolean
dsm_output_write_simple (const char *path, const char *contents, gsize length, GError **error)
{
  return dsm_output_write (path, contents, length, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_ONLY_EXISTING,
                           0666, error);
}
