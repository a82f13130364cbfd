/* real/disk.c: disk faults made real on a killed node's data directory
 * (docs/STORAGE.md's records and segments), and the data directories read
 * back at the end for check/logs.h.
 *
 * torn_write: the last segment gets a torn tail: a copy of its last
 *   record cut short, written right after it, as if the write in flight
 *   when the power went had reached the disk in part; recovery must drop
 *   it.  (Cutting into the
 *   existing last record instead could destroy a record a completed fsync
 *   made durable: that is lost_fsync, not a torn write.)
 * corrupt_record: one byte inside a record followed by another record is
 *   flipped; recovery must refuse the directory, and the node not start. */
#include "real-private.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "check/logs.h"
#include "record.h"
#include "wal.h"

/* The newest segment file of @dir (transfer full), or NULL. */
static char *
disk_last_segment (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  char *last = NULL;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, "seg-") && g_str_has_suffix (name, ".wal")
        && strlen (name) == strlen ("seg-0123456789abcdef.wal") && (last == NULL || strcmp (name, last) > 0))
      {
        g_free (last);
        last = g_strdup (name);
      }
  if (last == NULL)
    return NULL;
  char *path = g_build_filename (dir, last, NULL);
  g_free (last);
  return path;
}

static gboolean
disk_collect (const DsmPersist *persist, const DsmRecordInfo *info, gpointer user_data, GError **error)
{
  g_array_append_val ((GArray *) user_data, *info);
  return TRUE;
}

/* The records of @rn's newest segment, whose path and bytes are @path
 * and @bytes: their offsets and sizes.  NULL when there is none. */
static GArray *
disk_last_records (RealNode *rn, char **path, guint8 **bytes)
{
  g_autoptr(GArray) infos = g_array_new (FALSE, FALSE, sizeof (DsmRecordInfo));
  gsize length = 0, valid = 0;
  gboolean torn = FALSE;

  *path = disk_last_segment (rn->data_dir);
  if (*path == NULL || !g_file_get_contents (*path, (char **) bytes, &length, NULL))
    return NULL;
  if (!dsm_record_scan (*bytes, length, *path, disk_collect, infos, &valid, &torn, NULL))
    return NULL;
  return g_steal_pointer (&infos);
}

static void
disk_tear (DsmReal *real, RealNode *rn)
{
  g_autofree char *path = NULL;
  g_autofree guint8 *bytes = NULL;
  g_autoptr(GArray) infos = disk_last_records (rn, &path, &bytes);

  if (infos == NULL || infos->len == 0)
    {
      real_log (real, "node %u: torn_write: no record to tear", rn->id);
      return;
    }
  const DsmRecordInfo *last = &g_array_index (infos, DsmRecordInfo, infos->len - 1);
  gsize keep = 1 + (gsize) dsm_prng_range (&real->fault_prng, 0, last->size_bytes - 2);
  /* Right after the last record: over the zeros a node writes ahead of
   * its records (STORAGE.md, "Preallocated segments"), where the next
   * write would have gone. */
  int fd = g_open (path, O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0 || pwrite (fd, bytes + last->offset, keep, (off_t) (last->offset + last->size_bytes)) != (gssize) keep)
    real_log (real, "node %u: torn_write: cannot append to %s", rn->id, path);
  else
    real_log (real, "node %u: torn_write: %s ends with %" G_GSIZE_FORMAT " bytes of a %" G_GSIZE_FORMAT
              "-byte record", rn->id, path, keep, last->size_bytes);
  if (fd >= 0)
    close (fd);
}

static void
disk_corrupt (DsmReal *real, RealNode *rn)
{
  g_autofree char *path = NULL;
  g_autofree guint8 *bytes = NULL;
  g_autoptr(GArray) infos = disk_last_records (rn, &path, &bytes);

  if (infos == NULL || infos->len < 2)
    {
      /* As in the simulator: needs a record with another after it. */
      real_log (real, "node %u: corrupt_record: fewer than two records, nothing damaged", rn->id);
      return;
    }
  guint victim = (guint) dsm_prng_range (&real->fault_prng, 0, infos->len - 2);
  const DsmRecordInfo *info = &g_array_index (infos, DsmRecordInfo, victim);
  gsize at = info->offset + DSM_RECORD_HEADER_BYTES
             + (gsize) dsm_prng_range (&real->fault_prng, 0, info->size_bytes - DSM_RECORD_HEADER_BYTES - 1);
  guint8 byte = bytes[at] ^ 0x20;
  int fd = g_open (path, O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0 || pwrite (fd, &byte, 1, (off_t) at) != 1)
    real_log (real, "node %u: corrupt_record: cannot write %s", rn->id, path);
  else
    real_log (real, "node %u: corrupt_record: byte %" G_GSIZE_FORMAT " of %s (record %u of %u) damaged",
              rn->id, at, path, victim + 1, infos->len);
  if (fd >= 0)
    close (fd);
}

void
real_disk_strike (DsmReal *real, RealNode *rn)
{
  DsmDiskFault fault = rn->armed;

  rn->armed = DSM_DISK_FAULT_NONE;
  switch (fault)
    {
    case DSM_DISK_FAULT_TORN_WRITE:
      disk_tear (real, rn);
      break;
    case DSM_DISK_FAULT_CORRUPT_RECORD:
      disk_corrupt (real, rn);
      break;
    case DSM_DISK_FAULT_LOST_FSYNC:   /* refused when armed (dsm_real_skip_reason) */
    case DSM_DISK_FAULT_NONE:
    default:
      break;
    }
}

/* After every node stopped: their logs, as their WAL recovers them, must
 * agree below the commit index and hold every acknowledged transition. */
void
real_disk_check_logs (DsmReal *real, guint64 commit_index)
{
  g_autoptr(GArray) states = g_array_new (FALSE, TRUE, sizeof (DsmDurableState));
  g_autoptr(GArray) logs = g_array_new (FALSE, TRUE, sizeof (DsmNodeLog));
  g_autoptr(GPtrArray) wals = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_wal_close);

  g_array_set_size (states, real->n + 1);
  for (guint id = 1; id <= real->n; id++)
    {
      RealNode *rn = &real->nodes[id];
      g_autoptr(GError) error = NULL;
      if (rn->refused || rn->starts == 0)
        continue;  /* down at the end: its disk is not a live node's */
      DsmWal *wal = dsm_wal_open (rn->data_dir, "real", id, NULL, &g_array_index (states, DsmDurableState, id), &error);
      if (wal == NULL)
        {
          real_fail (real, DSM_INVARIANT_DURABILITY, "node %u's data directory does not recover after a clean stop: %s",
                     id, error->message);
          continue;
        }
      g_ptr_array_add (wals, wal);
      DsmNodeLog log = { .id = id, .state = &g_array_index (states, DsmDurableState, id) };
      g_array_append_val (logs, log);
    }
  DsmInvariant invariant = DSM_INVARIANT_N;
  g_autofree char *why = NULL;
  guint checked = 0;
  g_mutex_lock (&real->lock);
  gboolean ok = dsm_logs_check ((DsmNodeLog *) logs->data, logs->len, commit_index, real->history, &checked,
                                &invariant, &why);
  g_mutex_unlock (&real->lock);
  if (!ok)
    real_fail (real, invariant, "data directories: %s", why);
  else
    real_log (real, "data directories: %u logs agree up to index %" G_GUINT64_FORMAT "; acknowledged "
              "transitions found at their index %u times (once per log not covering them by a snapshot)",
              logs->len, commit_index, checked);
  for (guint id = 0; id <= real->n; id++)
    dsm_durable_state_clear (&g_array_index (states, DsmDurableState, id));
}
