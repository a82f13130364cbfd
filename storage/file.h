/* storage/file.h: the few POSIX file operations the WAL needs, each
 * turning errno into a DSM_WAL_ERROR_IO that names the file.  Internal to
 * storage/. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes all of @length bytes at @offset (retrying short writes and EINTR). */
gboolean dsm_file_pwrite_all (int fd, const char *path, const void *data, gsize length,
                              guint64 offset, GError **error);

/* fdatasync(2): the data and the size, which is all an appended file needs. */
gboolean dsm_file_datasync (int fd, const char *path, GError **error);

/* fsync(2) of a directory: makes created, renamed and deleted names durable. */
gboolean dsm_file_sync_dir (int dir_fd, const char *dir, GError **error);

/**
 * dsm_file_write_atomic:
 * Writes @data to @dir/@name as a new file that appears whole or not at
 * all: @name.tmp is written and fsynced, renamed over @name, and @dir
 * fsynced.  With @sync FALSE the fsyncs are skipped (benchmarks only).
 * Adds the number of fsyncs made to *@fsyncs.
 */
gboolean dsm_file_write_atomic (int dir_fd, const char *dir, const char *name,
                                const void *data, gsize length, gboolean sync,
                                guint64 *fsyncs, GError **error);

/* The same for a file of @head then @body (nullable, @body_length 0),
 * without joining them in memory first (a snapshot file's body is the
 * whole store). */
gboolean dsm_file_write_atomic2 (int dir_fd, const char *dir, const char *name,
                                 const void *head, gsize head_length, const void *body, gsize body_length,
                                 gboolean sync, guint64 *fsyncs, GError **error);

/* Truncates @path to @length and fsyncs it. */
gboolean dsm_file_truncate (const char *path, guint64 length, GError **error);

/* Opens @path for writing, cut back to @length bytes (fdatasynced unless
 * @sync is FALSE): how a batch undone for lack of space gets its segment
 * back.  Returns: the descriptor, or -1 with @error. */
int dsm_file_reopen_truncated (const char *path, guint64 length, gboolean sync, GError **error);

/* Removes @dir/@name; a missing file is not an error. */
gboolean dsm_file_remove (const char *dir, const char *name, GError **error);

/* Whether @errsv says the disk is out of space (ENOSPC, EDQUOT, EFBIG). */
gboolean dsm_file_is_no_space (int errsv);

/* Sets "@path: @what: <strerror(@errsv)>" as DSM_WAL_ERROR_NO_SPACE when
 * dsm_file_is_no_space (@errsv), else as DSM_WAL_ERROR_IO; returns FALSE. */
gboolean dsm_file_fail (GError **error, int errsv, const char *path, const char *what);

G_END_DECLS
