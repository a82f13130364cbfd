/* storage/file.c: write, sync, rename and remove with errors that name
 * the file and carry errno's text (see file.h). */
#define _GNU_SOURCE  /* sync_file_range */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "wal.h"

gboolean
dsm_file_is_no_space (int errsv)
{
  /* EFBIG: past the file size limit (RLIMIT_FSIZE or the file system's):
   * like a full disk, nothing of the write is wrong but its size. */
  return errsv == ENOSPC || errsv == EDQUOT || errsv == EFBIG;
}

gboolean
dsm_file_fail (GError **error, int errsv, const char *path, const char *what)
{
  g_set_error (error, DSM_WAL_ERROR,
               dsm_file_is_no_space (errsv) ? DSM_WAL_ERROR_NO_SPACE : DSM_WAL_ERROR_IO,
               "%s: %s: %s", path, what, g_strerror (errsv));
  return FALSE;
}

gboolean
dsm_file_pwrite_all (int fd, const char *path, const void *data, gsize length,
                     guint64 offset, GError **error)
{
  const guint8 *p = data;

  while (length > 0)
    {
      ssize_t n = pwrite (fd, p, MIN (length, (gsize) G_MAXSSIZE), (off_t) offset);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return dsm_file_fail (error, errno, path, "write failed");
        }
      /* A zero-byte write of a non-empty buffer would loop forever. */
      if (n == 0)
        return dsm_file_fail (error, EIO, path, "write made no progress");
      p += n;
      length -= (gsize) n;
      offset += (guint64) n;
    }
  return TRUE;
}

gboolean
dsm_file_datasync (int fd, const char *path, GError **error)
{
  /* No retry on EINTR or anything else: after a failed sync the kernel may
   * already have dropped the dirty pages, so a second call could report
   * success for data that never reached the disk.  The caller stops, or,
   * out of space, undoes the batch and later writes every byte of it again
   * (docs/STORAGE.md, "Out of space"): never a bare second fsync. */
  if (fdatasync (fd) != 0)
    return dsm_file_fail (error, errno, path, "fdatasync failed");
  return TRUE;
}

gboolean
dsm_file_sync_dir (int dir_fd, const char *dir, GError **error)
{
  if (fsync (dir_fd) != 0)
    return dsm_file_fail (error, errno, dir, "fsync of the directory failed");
  return TRUE;
}

/* A large file (a snapshot of a big store) is written a chunk at a time,
 * each chunk sent to the disk before the next (sync_file_range): on ext4
 * (data=ordered) every journal commit first writes out all dirty data, so
 * 30 MB left dirty until one final fdatasync held the other files' small
 * fdatasyncs (the log's group commits, on every node of a machine) for
 * 400-600 ms.  Paced, a commit meets at most one chunk. */
#define WRITE_PACE_BYTES (1024 * 1024)

static gboolean
write_paced (int fd, const char *path, const void *data, gsize length, guint64 offset, gboolean sync,
             GError **error)
{
  const guint8 *p = data;

  while (length > 0)
    {
      gsize n = sync ? MIN (length, (gsize) WRITE_PACE_BYTES) : length;

      if (!dsm_file_pwrite_all (fd, path, p, n, offset, error))
        return FALSE;
#ifdef SYNC_FILE_RANGE_WRITE
      /* Only a hint to start and finish writeback: the fdatasync after
       * the last chunk is what makes the file durable. */
      if (sync && length > n
          && sync_file_range (fd, (off64_t) offset, (off64_t) n,
                              SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0
          && (errno == EIO || dsm_file_is_no_space (errno)))
        /* A write-back error is the disk's; anything else (a file system
         * without the call: EINVAL, ENOSYS) leaves it to the fdatasync. */
        return dsm_file_fail (error, errno, path, "sync_file_range failed");
#endif
      p += n;
      offset += n;
      length -= n;
    }
  return TRUE;
}

gboolean
dsm_file_write_atomic (int dir_fd, const char *dir, const char *name,
                       const void *data, gsize length, gboolean sync,
                       guint64 *fsyncs, GError **error)
{
  return dsm_file_write_atomic2 (dir_fd, dir, name, data, length, NULL, 0, sync, fsyncs, error);
}

gboolean
dsm_file_write_atomic2 (int dir_fd, const char *dir, const char *name,
                        const void *head, gsize head_length, const void *body, gsize body_length,
                        gboolean sync, guint64 *fsyncs, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *tmp = g_strconcat (path, ".tmp", NULL);
  int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  gboolean ok;

  if (fd < 0)
    return dsm_file_fail (error, errno, tmp, "cannot create");
  ok = write_paced (fd, tmp, head, head_length, 0, sync, error)
       && write_paced (fd, tmp, body, body_length, head_length, sync, error)
       && (!sync || dsm_file_datasync (fd, tmp, error));
  if (close (fd) != 0 && ok)
    ok = dsm_file_fail (error, errno, tmp, "close failed");
  if (!ok)
    {
      (void) g_unlink (tmp);
      return FALSE;
    }
  if (sync)
    (*fsyncs)++;
  if (g_rename (tmp, path) != 0)
    {
      int errsv = errno;

      (void) g_unlink (tmp);
      return dsm_file_fail (error, errsv, path, "rename failed");
    }
  if (sync)
    {
      if (!dsm_file_sync_dir (dir_fd, dir, error))
        return FALSE;
      (*fsyncs)++;
    }
  return TRUE;
}

gboolean
dsm_file_truncate (const char *path, guint64 length, GError **error)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  gboolean ok = TRUE;

  if (fd < 0)
    return dsm_file_fail (error, errno, path, "cannot open");
  if (ftruncate (fd, (off_t) length) != 0)
    ok = dsm_file_fail (error, errno, path, "ftruncate failed");
  else if (fsync (fd) != 0)
    ok = dsm_file_fail (error, errno, path, "fsync failed");
  close (fd);
  return ok;
}

int
dsm_file_reopen_truncated (const char *path, guint64 length, gboolean sync, GError **error)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);

  if (fd < 0)
    {
      dsm_file_fail (error, errno, path, "cannot open");
      return -1;
    }
  if (ftruncate (fd, (off_t) length) != 0)
    dsm_file_fail (error, errno, path, "ftruncate failed");
  else if (sync && fdatasync (fd) != 0)
    dsm_file_fail (error, errno, path, "fdatasync failed");
  else
    return fd;
  close (fd);
  return -1;
}

gboolean
dsm_file_remove (const char *dir, const char *name, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  if (g_unlink (path) != 0 && errno != ENOENT)
    return dsm_file_fail (error, errno, path, "cannot remove");
  return TRUE;
}
