/* storage/wal.c: the WAL's API: open (recovery, then the changes it
 * allows), append (queue under a mutex), sync (group commit in a worker
 * thread, or blocking), close, and the offline check.  The writer itself
 * is segment.c; the read-only recovery is recover.c.
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
 * (wal_sync_locked() and snapshot_writer_loop() make the one transition:
 * they set wal->failure.)
 *
 * Local snapshots (the node's own, not installed from a leader) are
 * counted durable with the batch they are in, since the log holds what
 * they cover, and their files are written after the sync has answered, by
 * the worker that claims them, without io_lock (docs/STORAGE.md). */
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

static GPtrArray *
queue_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_persist_free);
}

static void
stats_add (DsmWalStats *stats, const DsmWalCounts *counts)
{
  stats->fsyncs += counts->fsyncs;
  stats->records_written += counts->records;
  stats->bytes_written += counts->bytes;
  stats->segments_created += counts->segments_created;
  stats->segments_deleted += counts->segments_deleted;
  stats->snapshots_written += counts->snapshots_written;
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
  wal->queue = queue_new ();
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

/* Truncates a torn tail and removes what nothing depends on; an empty
 * last segment goes too, since the new active segment takes its name. */
static gboolean
open_clean_up (DsmWal *wal, DsmRecovery *rec, GError **error)
{
  gboolean removed = FALSE;

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

  /* Appends go to a segment of this run, opening with the hard state. */
  g_mutex_lock (&wal->io_lock);
  gboolean ok = dsm_wal_start_segment (wal, &counts, error);
  g_mutex_unlock (&wal->io_lock);
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

/* ---- append and sync ---- */

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

/* A snapshot the node took of its own applied state covers entries the
 * log already holds durably: losing its file loses nothing.  The group
 * commit may count it durable at once and leave its file to
 * snapshot_writer_loop(), so the log's next fsyncs do not wait behind
 * writing the whole store (a commit stall of 330 ms at 200,000
 * machines, on every node at the same index).  An installed snapshot
 * (reset_log) replaces the log and is written in order. */
static gboolean
persist_is_local_snapshot (const DsmPersist *persist)
{
  return persist->kind == DSM_PERSIST_SNAPSHOT && !persist->reset_log;
}

/* Moves the local snapshots out of @batch; keeps the newest in
 * wal->deferred (under wal->lock), which covers the others. */
static void
wal_defer_snapshots (DsmWal *wal, GPtrArray *batch)
{
  DsmPersist *newest = NULL;

  for (guint i = 0; i < batch->len;)
    if (persist_is_local_snapshot (batch->pdata[i]))
      {
        g_clear_pointer (&newest, dsm_persist_free);
        newest = g_ptr_array_steal_index (batch, i);
      }
    else
      i++;
  if (newest == NULL)
    return;
  g_mutex_lock (&wal->lock);
  if (wal->deferred != NULL && wal->deferred->index > newest->index)
    g_clear_pointer (&newest, dsm_persist_free);
  else
    {
      g_clear_pointer (&wal->deferred, dsm_persist_free);
      wal->deferred = newest;
    }
  g_mutex_unlock (&wal->lock);
}

/* The group commit: with io_lock held, takes the whole queue and writes it
 * with one fdatasync (local snapshots deferred when @defer).  A failure is
 * kept: fsync's failure leaves the page cache in an unknown state, so no
 * later sync may claim durability. */
static guint64
wal_sync_locked (DsmWal *wal, gboolean defer, GError **error)
{
  g_autoptr(GPtrArray) batch = NULL;
  g_autoptr(GError) local = NULL;
  DsmWalCounts counts = { 0 };
  guint64 durable, last_seq;
  guint n_persists;
  gboolean ok;

  g_mutex_lock (&wal->lock);
  if (wal->failure != NULL)
    {
      g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CLOSED,
                   "%s: the WAL stopped after an earlier failure: %s", wal->dir,
                   wal->failure->message);
      g_mutex_unlock (&wal->lock);
      return 0;
    }
  batch = g_steal_pointer (&wal->queue);
  wal->queue = queue_new ();
  durable = wal->durable_seq;
  g_mutex_unlock (&wal->lock);
  if (batch->len == 0)
    return durable;
  n_persists = batch->len;
  last_seq = ((DsmPersist *) batch->pdata[batch->len - 1])->seq;
  if (defer)
    wal_defer_snapshots (wal, batch);

  ok = batch->len == 0 || dsm_wal_write_batch (wal, batch, &counts, &local);

  g_mutex_lock (&wal->lock);
  stats_add (&wal->stats, &counts);
  if (ok)
    {
      wal->durable_seq = durable = last_seq;
      wal->stats.sync_batches++;
      wal->stats.sync_records_max = MAX (wal->stats.sync_records_max, n_persists);
    }
  else
    wal->failure = g_error_copy (local);
  g_mutex_unlock (&wal->lock);
  if (!ok)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return 0;
    }
  return durable;
}

static guint64
wal_sync_serialized (DsmWal *wal, gboolean defer, GError **error)
{
  guint64 seq;

  g_mutex_lock (&wal->io_lock);
  seq = wal_sync_locked (wal, defer, error);
  g_mutex_unlock (&wal->io_lock);
  return seq;
}

#define SNAPSHOT_STAGED_NAME "snap-staging.tmp"  /* a .tmp: removed by the next open */

/* With wal->lock held: whether the caller becomes the one worker writing
 * the deferred snapshots (there are some, and nobody writes them yet). */
static gboolean
snapshot_writer_claim (DsmWal *wal)
{
  if (wal->snapshot_writing || wal->deferred == NULL)
    return FALSE;
  wal->snapshot_writing = TRUE;
  return TRUE;
}

/* The claimed writer, wal->lock held on entry and on return: writes the
 * deferred local snapshots, newest first taken, until none is left.  A
 * file is written and synced without io_lock, so group commits go on
 * meanwhile; only the switch to the new base takes it.  A failure stops
 * the WAL as a failed sync does. */
static void
snapshot_writer_loop (DsmWal *wal)
{
  while (wal->deferred != NULL && wal->failure == NULL)
    {
      g_autoptr(DsmPersist) persist = g_steal_pointer (&wal->deferred);
      g_autoptr(DsmSnapshotRef) ref = NULL;
      g_autoptr(GError) error = NULL;
      DsmWalCounts counts = { 0 };
      gboolean ok;

      g_mutex_unlock (&wal->lock);
      ok = dsm_layout_write_snapshot (wal->dir_fd, wal->dir, SNAPSHOT_STAGED_NAME, wal->cluster_id,
                                      wal->node_id, persist, !wal->options.no_sync, &counts.fsyncs, &ref,
                                      &error);
      if (ok)
        {
          g_mutex_lock (&wal->io_lock);
          ok = dsm_wal_write_staged_snapshot (wal, persist, SNAPSHOT_STAGED_NAME, ref, &counts, &error);
          g_mutex_unlock (&wal->io_lock);
        }
      g_mutex_lock (&wal->lock);
      stats_add (&wal->stats, &counts);
      if (!ok && wal->failure == NULL)
        wal->failure = g_steal_pointer (&error);
    }
  g_clear_pointer (&wal->deferred, dsm_persist_free);
  wal->snapshot_writing = FALSE;
}

static void
sync_in_thread (GTask *task, gpointer source_object, gpointer task_data,
                GCancellable *cancellable)
{
  DsmWal *wal = task_data;
  GError *error = NULL;
  guint64 seq = wal_sync_serialized (wal, TRUE, &error);
  gboolean writer;

  /* in_flight counts this sync until the deferred snapshot files it
   * claimed are written: dsm_wal_close() waits for them.  Otherwise this
   * is the last touch of @wal: close may free it once in_flight is 0. */
  g_mutex_lock (&wal->lock);
  writer = snapshot_writer_claim (wal);
  if (!writer && --wal->in_flight == 0)
    g_cond_broadcast (&wal->idle);
  g_mutex_unlock (&wal->lock);

  /* The caller learns what is durable now, before any snapshot file. */
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_memdup2 (&seq, sizeof seq), g_free);

  if (writer)
    {
      g_mutex_lock (&wal->lock);
      snapshot_writer_loop (wal);
      if (--wal->in_flight == 0)
        g_cond_broadcast (&wal->idle);
      g_mutex_unlock (&wal->lock);
    }
}

void
dsm_wal_sync_async (DsmWal *wal, GCancellable *cancellable,
                    GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (wal != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, dsm_wal_sync_async);
  g_task_set_task_data (task, wal, NULL);
  g_mutex_lock (&wal->lock);
  wal->in_flight++;
  g_mutex_unlock (&wal->lock);
  g_task_run_in_thread (task, sync_in_thread);
}

guint64
dsm_wal_sync_finish (DsmWal *wal, GAsyncResult *result, GError **error)
{
  g_autofree guint64 *seq = NULL;

  g_return_val_if_fail (g_task_is_valid (result, NULL), 0);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == dsm_wal_sync_async, 0);

  seq = g_task_propagate_pointer (G_TASK (result), error);
  return seq != NULL ? *seq : 0;
}

guint64
dsm_wal_sync (DsmWal *wal, GError **error)
{
  g_return_val_if_fail (wal != NULL, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);
  return wal_sync_serialized (wal, FALSE, error);
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

  dsm_wal_close_segment (wal);
  close (wal->dir_fd);  /* releases the flock */
  g_clear_pointer (&wal->deferred, dsm_persist_free);
  g_ptr_array_unref (wal->queue);
  g_clear_error (&wal->failure);
  dsm_durable_state_clear (&wal->mirror);
  g_ptr_array_unref (wal->segments);
  g_ptr_array_unref (wal->old_snapshots);
  g_free (wal->snapshot_file);
  g_mutex_clear (&wal->io_lock);
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
