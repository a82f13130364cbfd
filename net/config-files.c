/* net/config-files.c: paths of the files the config names, and private
 * files read only when private (config-files.h). */
#include "config-files.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "error.h"

char *
dsm_config_file_path (const char *name, DsmNodeId node, const char *dir)
{
  g_autoptr(GString) s = g_string_new (name);
  g_autofree char *id = g_strdup_printf ("%u", node);

  g_return_val_if_fail (name != NULL, NULL);

  g_string_replace (s, "{id}", id, 0);
  /* "dsm-node --config cluster.json" gives "." here, which
   * g_canonicalize_filename() refuses (it wants an absolute base): such a
   * folder starts at the working directory. */
  g_autofree char *base = dir != NULL && !g_path_is_absolute (dir) ? g_canonicalize_filename (dir, NULL) : NULL;
  char *path = g_canonicalize_filename (s->str, base != NULL ? base : dir);
  g_assert (g_path_is_absolute (path));
  return path;
}

char *
dsm_config_file_read_private (const char *path, const char *key, gsize bytes_max, gsize *length, GError **error)
{
  g_autofree char *text = NULL;
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s \"%s\": %s", key, path,
                   g_strerror (saved));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID, "%s \"%s\": not a regular file", key, path);
      return NULL;
    }
  if ((st.st_mode & 077) != 0)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "%s \"%s\": mode %04o lets others read or change it; chmod 600 it", key, path,
                   (guint) (st.st_mode & 07777));
      return NULL;
    }
  if ((guint64) st.st_size > bytes_max)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "%s \"%s\": %" G_GINT64_FORMAT " bytes, more than %" G_GSIZE_FORMAT, key, path,
                   (gint64) st.st_size, bytes_max);
      return NULL;
    }
  if (!g_file_get_contents (path, &text, length, error))
    {
      g_prefix_error (error, "%s: ", key);
      return NULL;
    }
  if (*length > bytes_max)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID, "%s \"%s\": grew while read", key, path);
      return NULL;
    }
  return g_steal_pointer (&text);
}
