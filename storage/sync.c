/* storage/sync.c: the WAL's group commit: a sync takes the whole queue and
 * writes it with one fdatasync, in a GTask worker, in the WAL's own sync
 * thread (dsm_wal_sync_start(), signalled with no main context between),
 * or the caller's thread (a small batch with no worker busy:
 * dsm_wal_sync_inline());
 * the node's own snapshots are written after the sync has answered, in a
 * thread the worker that claims them starts; and a write the disk has no room for is
 * undone and kept for the next sync (docs/STORAGE.md, "Write path" and
 * "Out of space").
 *
 * Locks: io_lock for a sync's whole write (one writer at a time), lock
 * for the queue, the seqs, the stats and the out-of-space state. */
#include "wal-private.h"

#include "file.h"
#include "layout.h"

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

/* The persists of @batch the group commit writes now (borrowed): all but
 * the local snapshots when @defer. */
static GPtrArray *
batch_to_write (GPtrArray *batch, gboolean defer)
{
  GPtrArray *written = g_ptr_array_sized_new (batch->len);

  for (guint i = 0; i < batch->len; i++)
    if (!defer || !persist_is_local_snapshot (batch->pdata[i]))
      g_ptr_array_add (written, batch->pdata[i]);
  return written;
}

/* With wal->lock held, after @batch was written: moves its newest local
 * snapshot (which covers the others) into wal->deferred, unless an older
 * batch left a newer one there. */
static void
wal_defer_snapshots (DsmWal *wal, GPtrArray *batch)
{
  for (guint i = batch->len; i > 0; i--)
    if (persist_is_local_snapshot (batch->pdata[i - 1]))
      {
        DsmPersist *newest = g_ptr_array_steal_index (batch, i - 1);

        if (wal->deferred != NULL && wal->deferred->index > newest->index)
          dsm_persist_free (newest);
        else
          {
            g_clear_pointer (&wal->deferred, dsm_persist_free);
            wal->deferred = newest;
          }
        return;
      }
}

/* With wal->lock held: a batch that did not fit goes back to the head of
 * the queue, before what was appended meanwhile, for the next sync. */
static void
wal_requeue (DsmWal *wal, GPtrArray *batch)
{
  g_ptr_array_extend_and_steal (batch, g_steal_pointer (&wal->queue));
  wal->queue = g_ptr_array_ref (batch);
}

/* The group commit: with io_lock held, takes the whole queue and writes it
 * with one fdatasync (local snapshots deferred when @defer).  A failure is
 * kept: fsync's failure leaves the page cache in an unknown state, so no
 * later sync may claim durability.  Out of space, the batch was undone and
 * goes back to the queue instead. */
static guint64
wal_sync_locked (DsmWal *wal, gboolean defer, GError **error)
{
  g_autoptr(GPtrArray) batch = NULL;
  g_autoptr(GPtrArray) written = NULL;
  GError *local = NULL;
  DsmWalCounts counts = { 0 };
  guint64 durable, last_seq = 0;
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
  wal->queue = dsm_wal_queue_new ();
  durable = wal->durable_seq;
  g_mutex_unlock (&wal->lock);
  /* Nothing to write, unless open left no active segment to write to. */
  if (batch->len == 0 && wal->segment_fd >= 0)
    return durable;
  if (batch->len > 0)
    last_seq = ((DsmPersist *) batch->pdata[batch->len - 1])->seq;
  written = batch_to_write (batch, defer);

  /* A batch of local snapshots only has nothing for the log itself. */
  ok = (written->len == 0 && wal->segment_fd >= 0) || dsm_wal_write_batch (wal, written, &counts, &local);

  g_mutex_lock (&wal->lock);
  if (ok)
    {
      stats_add (&wal->stats, &counts);
      g_clear_error (&wal->nospace_log);
      if (batch->len > 0)
        {
          wal->durable_seq = durable = last_seq;
          wal->stats.sync_batches++;
          wal->stats.sync_records_max = MAX (wal->stats.sync_records_max, batch->len);
        }
      if (defer)
        wal_defer_snapshots (wal, batch);
    }
  else if (g_error_matches (local, DSM_WAL_ERROR, DSM_WAL_ERROR_NO_SPACE))
    {
      /* Undone: only its fsyncs happened. */
      wal->stats.fsyncs += counts.fsyncs;
      wal->stats.nospace_failures++;
      g_clear_error (&wal->nospace_log);
      wal->nospace_log = g_error_copy (local);
      wal_requeue (wal, batch);
    }
  else
    {
      stats_add (&wal->stats, &counts);
      wal->failure = g_error_copy (local);
    }
  g_mutex_unlock (&wal->lock);
  if (!ok)
    {
      g_propagate_error (error, local);
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
 * the deferred snapshots (there are some, nobody writes them yet, and a
 * file that did not fit is not retried before its time). */
static gboolean
snapshot_writer_claim (DsmWal *wal)
{
  if (wal->snapshot_writing || wal->deferred == NULL)
    return FALSE;
  if (wal->nospace_snapshot != NULL && g_get_monotonic_time () < wal->snapshot_retry_us)
    return FALSE;
  wal->snapshot_writing = TRUE;
  return TRUE;
}

/* With wal->lock held: the snapshot file @persist did not fit.  It is
 * kept for the next try (unless a newer one took its place), and the WAL
 * is out of space until a snapshot file is written. */
static void
snapshot_writer_no_space (DsmWal *wal, DsmPersist *persist, GError *error)
{
  wal->stats.nospace_failures++;
  g_clear_error (&wal->nospace_snapshot);
  /* The operator's question is how much to free. */
  wal->nospace_snapshot = g_error_new (DSM_WAL_ERROR, DSM_WAL_ERROR_NO_SPACE,
                                       "writing a snapshot file of %" G_GSIZE_FORMAT " bytes: %s",
                                       g_bytes_get_size (persist->snapshot), error->message);
  g_error_free (error);
  wal->snapshot_retry_us = g_get_monotonic_time () + (gint64) wal->options.snapshot_retry_ms * 1000;
  if (wal->deferred == NULL)
    wal->deferred = persist;
  else
    dsm_persist_free (persist);
}

/* The claimed writer, wal->lock held on entry and on return: writes the
 * deferred local snapshots, newest first taken, until none is left.  A
 * file is written and synced without io_lock, so group commits go on
 * meanwhile; only the switch to the new base takes it.  Out of space, the
 * snapshot waits for a later try (nothing of it stays on disk); any other
 * failure stops the WAL as a failed sync does. */
static void
snapshot_writer_loop (DsmWal *wal)
{
  while (wal->deferred != NULL && wal->failure == NULL)
    {
      g_autoptr(DsmPersist) persist = g_steal_pointer (&wal->deferred);
      g_autoptr(DsmSnapshotRef) ref = NULL;
      g_autoptr(GError) error = NULL;
      DsmWalCounts counts = { 0 };
      DsmWalLeftovers leftovers = { 0 };
      gboolean ok;

      g_mutex_unlock (&wal->lock);
      ok = dsm_layout_write_snapshot (wal->dir_fd, wal->dir, SNAPSHOT_STAGED_NAME, wal->cluster_id,
                                      wal->node_id, persist, !wal->options.no_sync, &counts.fsyncs, &ref,
                                      &error);
      if (ok)
        {
          g_mutex_lock (&wal->io_lock);
          ok = dsm_wal_write_staged_snapshot (wal, persist, SNAPSHOT_STAGED_NAME, ref, &counts,
                                              &leftovers, &error);
          g_mutex_unlock (&wal->io_lock);
          /* Removing the old files (45-80 ms for a 64 MiB segment on
           * ext4) and freeing the log they held (50-220 ms at a million
           * machines) held io_lock, and with it every group commit. */
          dsm_wal_leftovers_drop (wal, &leftovers, &counts);
        }
      g_mutex_lock (&wal->lock);
      if (ok)
        {
          stats_add (&wal->stats, &counts);
          g_clear_error (&wal->nospace_snapshot);
        }
      else if (g_error_matches (error, DSM_WAL_ERROR, DSM_WAL_ERROR_NO_SPACE))
        {
          /* Nothing half-written stays: not the staged file either (it is
           * in place when only the directory's fsync failed, or the
           * rename to its seq's name). */
          (void) dsm_file_remove (wal->dir, SNAPSHOT_STAGED_NAME, NULL);
          wal->stats.fsyncs += counts.fsyncs;
          snapshot_writer_no_space (wal, g_steal_pointer (&persist), g_steal_pointer (&error));
          break;
        }
      else if (wal->failure == NULL)
        wal->failure = g_steal_pointer (&error);
    }
  if (wal->failure != NULL)
    g_clear_pointer (&wal->deferred, dsm_persist_free);
  wal->snapshot_writing = FALSE;
}

/* A thread of its own for the deferred snapshot files a sync claimed, so
 * the sync thread is free for the next group commit at once.  in_flight
 * still counts the sync that claimed them: close waits for this thread. */
static gpointer
snapshot_thread_main (gpointer data)
{
  DsmWal *wal = data;

  g_mutex_lock (&wal->lock);
  snapshot_writer_loop (wal);
  if (--wal->in_flight == 0)
    g_cond_broadcast (&wal->idle);
  g_mutex_unlock (&wal->lock);
  return NULL;
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

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_memdup2 (&seq, sizeof seq), g_free);

  /* The caller learns what is durable now, before any snapshot file: a
   * GTask run in a thread calls back only once its function returns, so
   * the files are written in a thread of their own here too (written in
   * this one, they held the answer for the whole file). */
  if (writer)
    g_thread_unref (g_thread_new ("dsm-wal-snap", snapshot_thread_main, wal));
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

/* ---- the WAL's own sync thread (dsm_wal_sync_start) ---- */

/* Waits for a request (sync_requested), runs the group commit, leaves the
 * result for dsm_wal_sync_collect() and calls the caller's notify after
 * unlocking: the woken loop, often run at once on this vCPU, finds the
 * lock free (docs/BENCHMARKS.md, "The hand-offs' lock convoy"). */
static gpointer
sync_thread_main (gpointer data)
{
  DsmWal *wal = data;

  g_mutex_lock (&wal->lock);
  for (;;)
    {
      GError *error = NULL;
      DsmWalNotify notify;
      gpointer notify_data;
      guint64 seq;

      while (!wal->sync_requested && !wal->sync_quit)
        g_cond_wait (&wal->sync_wanted, &wal->lock);
      if (!wal->sync_requested)
        break;
      wal->sync_requested = FALSE;
      g_mutex_unlock (&wal->lock);

      seq = wal_sync_serialized (wal, TRUE, &error);

      g_mutex_lock (&wal->lock);
      g_assert (wal->sync_running && !wal->sync_done);
      wal->sync_seq = seq;
      wal->sync_error = error;
      wal->sync_done = TRUE;
      notify = wal->sync_notify;
      notify_data = wal->sync_notify_data;
      if (snapshot_writer_claim (wal))
        g_thread_unref (g_thread_new ("dsm-wal-snap", snapshot_thread_main, wal));
      else if (--wal->in_flight == 0)
        g_cond_broadcast (&wal->idle);
      g_mutex_unlock (&wal->lock);
      notify (notify_data);
      g_mutex_lock (&wal->lock);
    }
  g_mutex_unlock (&wal->lock);
  return NULL;
}

void
dsm_wal_sync_start (DsmWal *wal, DsmWalNotify notify, gpointer user_data)
{
  g_return_if_fail (wal != NULL);
  g_return_if_fail (notify != NULL);

  g_mutex_lock (&wal->lock);
  g_assert (!wal->sync_running && !wal->sync_quit);
  wal->sync_running = TRUE;
  wal->sync_requested = TRUE;
  wal->sync_notify = notify;
  wal->sync_notify_data = user_data;
  wal->in_flight++;
  if (wal->sync_thread == NULL)
    wal->sync_thread = g_thread_new ("dsm-wal-sync", sync_thread_main, wal);
  g_mutex_unlock (&wal->lock);
  /* After unlocking: the thread woken here takes the lock at once. */
  g_cond_signal (&wal->sync_wanted);
}

gboolean
dsm_wal_sync_collect (DsmWal *wal, guint64 *seq, GError **error)
{
  gboolean done;

  g_return_val_if_fail (wal != NULL, FALSE);
  g_return_val_if_fail (seq != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_mutex_lock (&wal->lock);
  done = wal->sync_done;
  if (done)
    {
      g_assert (wal->sync_running);
      wal->sync_done = wal->sync_running = FALSE;
      *seq = wal->sync_seq;
      if (wal->sync_error != NULL)
        g_propagate_error (error, g_steal_pointer (&wal->sync_error));
    }
  g_mutex_unlock (&wal->lock);
  return done;
}

/* Ends the sync thread (wal.c's close, once in_flight is 0). */
void
dsm_wal_sync_thread_join (DsmWal *wal)
{
  g_mutex_lock (&wal->lock);
  wal->sync_quit = TRUE;
  g_mutex_unlock (&wal->lock);
  g_cond_signal (&wal->sync_wanted);
  g_clear_pointer (&wal->sync_thread, g_thread_join);
  g_clear_error (&wal->sync_error);
}

/* With wal->lock held: whether the queue is a batch the caller may write
 * in its own thread: log records only (a snapshot's bytes are O(store),
 * and a local one would leave a file for a worker to write), at most
 * @entries_max entries. */
static gboolean
queue_is_small (const GPtrArray *queue, guint entries_max)
{
  guint entries = 0;

  for (guint i = 0; i < queue->len; i++)
    {
      const DsmPersist *persist = queue->pdata[i];

      if (persist->kind == DSM_PERSIST_SNAPSHOT)
        return FALSE;
      if (persist->kind == DSM_PERSIST_ENTRIES)
        entries += persist->entries->len;
      if (entries > entries_max)
        return FALSE;
    }
  return TRUE;
}

gboolean
dsm_wal_sync_inline (DsmWal *wal, guint entries_max, guint64 *seq, GError **error)
{
  GError *local = NULL;
  gboolean small;

  g_return_val_if_fail (wal != NULL, FALSE);
  g_return_val_if_fail (seq != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* No sync in a worker (nor a snapshot file it writes after one): the
   * inline write would wait for it on io_lock, and it is group commit's
   * turn anyway. */
  g_mutex_lock (&wal->lock);
  small = wal->in_flight == 0 && wal->queue->len > 0 && queue_is_small (wal->queue, entries_max);
  g_mutex_unlock (&wal->lock);
  if (!small || !g_mutex_trylock (&wal->io_lock))
    return FALSE;
  /* Nothing to defer: the batch holds no snapshot. */
  *seq = wal_sync_locked (wal, FALSE, &local);
  g_mutex_unlock (&wal->io_lock);
  g_mutex_lock (&wal->lock);
  wal->stats.syncs_inline++;
  g_mutex_unlock (&wal->lock);
  if (local != NULL)
    g_propagate_error (error, local);
  return TRUE;
}

guint64
dsm_wal_sync (DsmWal *wal, GError **error)
{
  g_return_val_if_fail (wal != NULL, 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);
  return wal_sync_serialized (wal, FALSE, error);
}

gboolean
dsm_wal_get_nospace (DsmWal *wal, char **reason)
{
  const GError *nospace;

  g_return_val_if_fail (wal != NULL, FALSE);
  g_mutex_lock (&wal->lock);
  nospace = wal->nospace_log != NULL ? wal->nospace_log : wal->nospace_snapshot;
  if (reason != NULL)
    *reason = nospace != NULL ? g_strdup (nospace->message) : NULL;
  g_mutex_unlock (&wal->lock);
  return nospace != NULL;
}
