/* storage/wal.c: the WAL's API: open (recovery, then the changes it
 * allows), append (queue under a mutex), the seqs and stats, close, and
 * the offline check.  Syncs (group commit, deferred snapshots, out of
 * space) are sync.c; the writer itself is segment.c; the read-only
 * recovery is recover.c.
 *
 * Threads: the caller's thread appends and reads the seqs; a sync runs in
 * a GTask worker (or the caller, for dsm_wal_sync()) and takes io_lock for
 * the whole write, so one sync writes at a time and a sync takes every
 * record queued before it started writing: one fdatasync per batch.
 *
 *   open ──dsm_wal_open()──> WORKING ──a write or sync fails──> FAILED
 *                             |  append queues, sync writes       |  append drops,
 *                             |                                   |  sync: CLOSED
 *                             └──────dsm_wal_close()──────────────┴──> freed
 *
 * (sync.c's wal_sync_locked() and snapshot_writer_loop() make the one
 * transition: they set wal->failure.)  Out of space is not a failure:
 * WORKING stays, with nospace_log (the undone batch waits at the head of
 * the queue) or nospace_snapshot (the deferred snapshot waits) set until
 * the write succeeds (docs/STORAGE.md, "Out of space"); open itself may
 * leave it set, with no active segment yet. */
#include "wal-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "file.h"
#include "layout.h"
#include "record.h"
#include "recover.h"

#define SEGMENT_BYTES_DEFAULT (64 * 1024 * 1024)

G_DEFINE_QUARK (dsm-wal-error-quark, dsm_wal_error)

/* The WAL's copies share the node's entries: they are immutable and
 * their reference count is atomic (core/entry.c), so the worker thread may
 * hold and drop references while the node does the same. */
static GPtrArray *
entries_share (const GPtrArray *entries)
{
  GPtrArray *copy = g_ptr_array_new_full (entries->len, (GDestroyNotify) dsm_entry_unref);

  for (guint i = 0; i < entries->len; i++)
    g_ptr_array_add (copy, dsm_entry_ref (entries->pdata[i]));
  return copy;
}

static DsmPersist *
persist_copy (const DsmPersist *persist)
{
  DsmPersist *copy = g_new (DsmPersist, 1);

  *copy = *persist;
  if (persist->entries != NULL)
    copy->entries = entries_share (persist->entries);
  if (persist->snapshot != NULL)
    copy->snapshot = g_bytes_ref (persist->snapshot);
  return copy;
}

GPtrArray *
dsm_wal_queue_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_persist_free);
}

/* ---- open ---- */

static DsmWal *
wal_new (const char *dir, const char *cluster_id, DsmNodeId node_id,
         const DsmWalOptions *options, int dir_fd)
{
  DsmWal *wal = g_new0 (DsmWal, 1);

  wal->dir = g_strdup (dir);
  wal->cluster_id = g_strdup (cluster_id);
  wal->node_id = node_id;
  if (options != NULL)
    wal->options = *options;
  if (wal->options.segment_bytes == 0)
    wal->options.segment_bytes = SEGMENT_BYTES_DEFAULT;
  wal->dir_fd = dir_fd;
  g_mutex_init (&wal->lock);
  g_cond_init (&wal->idle);
  g_cond_init (&wal->sync_wanted);
  wal->queue = dsm_wal_queue_new ();
  g_mutex_init (&wal->io_lock);
  wal->segments = g_ptr_array_new_with_free_func (g_free);
  wal->segment_fd = -1;
  wal->old_snapshots = g_ptr_array_new_with_free_func (g_free);
  return wal;
}

static int
open_dir_locked (const char *dir, GError **error)
{
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      dsm_file_fail (error, errno, dir, "cannot create the data directory");
      return -1;
    }
  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    {
      dsm_file_fail (error, errno, dir, "cannot open the data directory");
      return -1;
    }
  /* Two writers on one log would interleave records: the second refuses. */
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int errsv = errno;

      close (fd);
      if (errsv == EWOULDBLOCK)
        g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_LOCKED,
                     "%s: the data directory is in use by another process", dir);
      else
        dsm_file_fail (error, errsv, dir, "cannot lock the data directory");
      return -1;
    }
  return fd;
}

static void
log_torn_tail (const char *path, gsize offset, guint64 bytes)
{
  g_autofree char *message =
      g_strdup_printf ("%s: dropped a torn tail of %" G_GUINT64_FORMAT " bytes at offset %"
                       G_GSIZE_FORMAT " (a write cut short by a crash, never acknowledged)",
                       path, bytes, offset);
  g_autofree char *bytes_text = g_strdup_printf ("%" G_GUINT64_FORMAT, bytes);

  /* Plain string fields first: g_log_structured() formats only MESSAGE, last. */
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                    "DSM_FILE", path,
                    "DSM_TORN_BYTES", bytes_text,
                    "MESSAGE", "%s", message);
}

/* Cuts the zeros a preallocating writer left after the records of the
 * segments (the last one's when it crashed or was killed), so every
 * segment ends with its last record for the tools that read it. */
static gboolean
open_cut_zeros (DsmWal *wal, DsmRecovery *rec, GError **error)
{
  for (guint i = 0; i < rec->segments->len; i++)
    {
      DsmRecoverSegment *segment = rec->segments->pdata[i];
      g_autofree char *path = g_build_filename (wal->dir, segment->name, NULL);

      if (segment->zero_bytes == 0 || segment->records == 0)
        continue;
      if (!dsm_file_truncate (path, segment->valid_bytes, error))
        return FALSE;
      g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                        "MESSAGE", "%s: cut %" G_GSIZE_FORMAT " bytes of zeros written ahead "
                        "after the last record", path, segment->zero_bytes);
    }
  return TRUE;
}

/* Truncates a torn tail and removes what nothing depends on; an empty
 * last segment goes too, since the new active segment takes its name. */
static gboolean
open_clean_up (DsmWal *wal, DsmRecovery *rec, GError **error)
{
  gboolean removed = FALSE;

  if (!open_cut_zeros (wal, rec, error))
    return FALSE;

  for (guint i = 0; i < rec->obsolete->len; i++)
    {
      if (!dsm_file_remove (wal->dir, rec->obsolete->pdata[i], error))
        return FALSE;
      removed = TRUE;
    }
  if (rec->segments->len > 0)
    {
      DsmRecoverSegment *last = rec->segments->pdata[rec->segments->len - 1];
      g_autofree char *path = g_build_filename (wal->dir, last->name, NULL);

      if (last->records == 0)
        {
          if (!dsm_file_remove (wal->dir, last->name, error))
            return FALSE;
          g_ptr_array_set_size (rec->segments, rec->segments->len - 1);
          removed = TRUE;
        }
      else if (rec->torn_bytes > 0
               && !dsm_file_truncate (path, last->valid_bytes, error))
        return FALSE;
      if (rec->torn_bytes > 0)
        log_torn_tail (path, last->valid_bytes, rec->torn_bytes);
    }
  return !removed || dsm_file_sync_dir (wal->dir_fd, wal->dir, error);
}

static gboolean
open_apply (DsmWal *wal, DsmRecovery *rec, GError **error)
{
  DsmWalCounts counts = { 0 };
  const DsmDurableState *state = &rec->state;
  g_autoptr(GPtrArray) nothing = g_ptr_array_new ();
  GError *local = NULL;
  gboolean ok;

  if (rec->fresh && !dsm_layout_write_meta (wal->dir_fd, wal->dir, wal->cluster_id,
                                            wal->node_id, error))
    return FALSE;
  if (!open_clean_up (wal, rec, error))
    return FALSE;

  wal->mirror.epoch = state->epoch;
  wal->mirror.voted_for = state->voted_for;
  wal->mirror.snapshot_index = state->snapshot_index;
  wal->mirror.snapshot_epoch = state->snapshot_epoch;
  wal->mirror.entries = state->entries != NULL
                          ? entries_share (state->entries)
                          : g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  for (guint i = 0; i < rec->segments->len; i++)
    g_ptr_array_add (wal->segments, g_strdup (((DsmRecoverSegment *) rec->segments->pdata[i])->name));
  wal->snapshot_file = g_strdup (rec->snapshot_file);
  wal->next_seq = rec->next_seq;

  /* Appends go to a segment of this run, opening with the hard state (an
   * empty batch starts it).  A full disk does not stop the node: it starts
   * out of space, and the first sync that finds room creates the segment. */
  g_mutex_lock (&wal->io_lock);
  ok = dsm_wal_write_batch (wal, nothing, &counts, &local);
  g_mutex_unlock (&wal->io_lock);
  if (!ok && g_error_matches (local, DSM_WAL_ERROR, DSM_WAL_ERROR_NO_SPACE))
    {
      wal->nospace_log = local;
      wal->stats.nospace_failures++;
      return TRUE;
    }
  if (!ok)
    g_propagate_error (error, local);
  return ok;
}

DsmWal *
dsm_wal_open (const char *dir, const char *cluster_id, DsmNodeId node_id,
              const DsmWalOptions *options, DsmDurableState *state, GError **error)
{
  DsmRecovery rec = { 0 };
  DsmWal *wal;
  int dir_fd;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (cluster_id != NULL, NULL);
  g_return_val_if_fail (node_id != DSM_NODE_NONE, NULL);
  g_return_val_if_fail (state != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  memset (state, 0, sizeof *state);
  if ((dir_fd = open_dir_locked (dir, error)) < 0)
    return NULL;
  wal = wal_new (dir, cluster_id, node_id, options, dir_fd);
  if (!dsm_recovery_run (&rec, dir, cluster_id, node_id, NULL, error)
      || !open_apply (wal, &rec, error))
    {
      dsm_recovery_clear (&rec);
      dsm_wal_close (wal);
      return NULL;
    }
  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_INFO,
                    "MESSAGE", "%s: recovered %" G_GUINT64_FORMAT " records: epoch %"
                    G_GUINT64_FORMAT ", snapshot index %" G_GUINT64_FORMAT ", next seq %"
                    G_GUINT64_FORMAT, dir, rec.records, rec.state.epoch,
                    rec.state.snapshot_index, rec.next_seq);
  wal->stats.recovered_records = rec.records;
  wal->stats.torn_bytes_dropped = rec.torn_bytes;
  *state = rec.state;
  memset (&rec.state, 0, sizeof rec.state);
  dsm_recovery_clear (&rec);
  return wal;
}

/* ---- append ---- */

void
dsm_wal_append (DsmWal *wal, const DsmPersist *persist)
{
  DsmPersist *copy;

  g_return_if_fail (wal != NULL);
  g_return_if_fail (persist != NULL);
  g_return_if_fail (persist->seq > wal->appended_seq);
  g_return_if_fail (persist->kind != DSM_PERSIST_ENTRIES || persist->entries != NULL);
  g_return_if_fail (persist->kind != DSM_PERSIST_SNAPSHOT || persist->snapshot != NULL);

  wal->appended_seq = persist->seq;
  copy = persist_copy (persist);
  g_mutex_lock (&wal->lock);
  if (wal->failure == NULL)
    {
      g_ptr_array_add (wal->queue, copy);
      copy = NULL;
    }
  g_mutex_unlock (&wal->lock);
  g_clear_pointer (&copy, dsm_persist_free);
}

guint64
dsm_wal_get_appended_seq (const DsmWal *wal)
{
  g_return_val_if_fail (wal != NULL, 0);
  return wal->appended_seq;
}

guint64
dsm_wal_get_durable_seq (const DsmWal *wal)
{
  DsmWal *self = (DsmWal *) wal;
  guint64 seq;

  g_return_val_if_fail (wal != NULL, 0);
  g_mutex_lock (&self->lock);
  seq = self->durable_seq;
  g_mutex_unlock (&self->lock);
  return seq;
}

gboolean
dsm_wal_is_syncing (const DsmWal *wal)
{
  DsmWal *self = (DsmWal *) wal;
  gboolean syncing;

  g_return_val_if_fail (wal != NULL, FALSE);
  g_mutex_lock (&self->lock);
  syncing = self->in_flight > 0;
  g_mutex_unlock (&self->lock);
  return syncing;
}

const DsmWalStats *
dsm_wal_get_stats (const DsmWal *wal)
{
  DsmWal *self = (DsmWal *) wal;

  g_return_val_if_fail (wal != NULL, NULL);
  g_mutex_lock (&self->lock);
  self->stats_view = self->stats;
  g_mutex_unlock (&self->lock);
  return &self->stats_view;
}

void
dsm_wal_close (DsmWal *wal)
{
  if (wal == NULL)
    return;
  g_mutex_lock (&wal->lock);
  while (wal->in_flight > 0)
    g_cond_wait (&wal->idle, &wal->lock);
  g_mutex_unlock (&wal->lock);
  dsm_wal_sync_thread_join (wal);

  /* A closed segment ends with its last record, as a rotated one does
   * (not synced: recovery reads zeros after the last record as unused
   * space too).  After a failure the files are left as they are. */
  if (wal->failure == NULL)
    {
      g_autoptr(GError) local = NULL;

      if (!dsm_wal_cut_segment (wal, &local))
        g_warning ("%s", local->message);
    }
  dsm_wal_close_segment (wal);
  close (wal->dir_fd);  /* releases the flock */
  g_clear_pointer (&wal->deferred, dsm_persist_free);
  g_ptr_array_unref (wal->queue);
  g_clear_error (&wal->failure);
  g_clear_error (&wal->nospace_log);
  g_clear_error (&wal->nospace_snapshot);
  dsm_durable_state_clear (&wal->mirror);
  g_ptr_array_unref (wal->segments);
  g_ptr_array_unref (wal->old_snapshots);
  g_free (wal->snapshot_file);
  g_mutex_clear (&wal->io_lock);
  g_cond_clear (&wal->sync_wanted);
  g_cond_clear (&wal->idle);
  g_mutex_clear (&wal->lock);
  g_free (wal->cluster_id);
  g_free (wal->dir);
  g_free (wal);
}

/* ---- offline check ---- */

gboolean
dsm_wal_check_dir (const char *dir, GString *report, GError **error)
{
  return dsm_wal_check_dir_with (dir, NULL, NULL, report, error);
}

gboolean
dsm_wal_check_dir_with (const char *dir, DsmWalCheckStateFunc check, gpointer data, GString *report,
                        GError **error)
{
  DsmRecovery rec = { 0 };
  g_autoptr(GError) local = NULL;
  gboolean ok;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (report != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_IO, "%s: not a directory", dir);
      return FALSE;
    }
  ok = dsm_recovery_run (&rec, dir, NULL, 0, report, &local);
  if (ok && check != NULL)
    {
      ok = check (&rec, report, data, &local);
      g_assert (ok == (local == NULL));
    }
  if (!ok)
    g_string_append_printf (report, "result: a node would refuse to start: %s\n", local->message);
  else if (rec.torn_bytes > 0)
    g_string_append_printf (report, "result: good; opening drops a torn tail of %" G_GUINT64_FORMAT
                            " bytes\n", rec.torn_bytes);
  else
    g_string_append (report, "result: good\n");
  dsm_recovery_clear (&rec);
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&local));
  return ok;
}
