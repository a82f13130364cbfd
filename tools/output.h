/* tools/output.h: the files a command line writes where its user points
 * it (traces, histories, pages, backups), without replacing a device. */
#pragma once

#include <glib.h>

/* Writes @length bytes of @contents to @path.  A regular file (or a path
 * that does not exist yet) is written as g_file_set_contents_full() does
 * with @flags and @mode: a temporary file renamed over @path, so a reader
 * never sees half of it.  Anything else that exists there (a device such
 * as /dev/null, a FIFO, a terminal) is opened and written in place: a
 * rename would put a regular file where the device was, and as root that
 * succeeds (docs/OPERATIONS.md, "Output files").  Returns FALSE with
 * @error (G_FILE_ERROR, naming @path) set on failure. */
gboolean dsm_output_write (const char *path, const char *contents, gsize length, GFileSetContentsFlags flags,
                           int mode, GError **error);

/* dsm_output_write() with g_file_set_contents()'s flags and mode. */
gboolean dsm_output_write_simple (const char *path, const char *contents, gsize length, GError **error);
