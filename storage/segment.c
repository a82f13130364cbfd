/* storage/segment.c: the WAL's writer.  Turns a batch of persists into
 * records in segment files, rotating segments, writing snapshot files and
 * starting base segments, with one write and one fdatasync per segment
 * touched (docs/STORAGE.md, "Write path").
 *
 * Ordering rules, each a reason for a sync below:
 * - a record reaches a new segment only after the older segment's records
 *   are durable, so a crash never leaves a hole in the seqs;
 * - a snapshot file is durable (file and directory fsynced) before the
 *   snapshot_ref naming it is written;
 * - a new segment's name is durable (directory fsynced) before the batch
 *   counts as durable;
 * - older segments and snapshots are removed only after the base segment
 *   replacing them is durable.
 * A batch the disk has no room for is taken back whole (undo.c). */
#include "wal-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>

#include "file.h"
#include "layout.h"
#include "record.h"
#include "recover.h"

/* ENTRIES records are split past this many (estimated) bytes, so each
 * stays far below the JSON decoder's input limit. */
#define ENTRIES_RECORD_BYTES_MAX (8 * 1024 * 1024)

typedef struct {
  DsmWal *wal;
  DsmWalCounts *counts;
  GByteArray *buffer;      /* records for the active segment, not yet written */
  gboolean new_names;      /* a file was created: the directory needs an fsync */
  gboolean new_base;
  DsmWalUndo undo;         /* how to take it all back */
  DsmWalLeftovers *leftovers; /* (nullable) where obsolete files go instead of removed */
} Batch;

static void
batch_init (Batch *b, DsmWal *wal, DsmWalCounts *counts, GByteArray *buffer)
{
  *b = (Batch) { .wal = wal, .counts = counts, .buffer = buffer };
  dsm_wal_undo_begin (wal, &b->undo);
}

/* A batch that failed: out of space it is undone (the caller writes it
 * again later); any other failure leaves the files as they are, and the
 * caller stops the WAL.  Always FALSE. */
static gboolean
batch_fail (Batch *b, GError *failure, GError **error)
{
  g_autoptr(GError) undo_error = NULL;

  if (g_error_matches (failure, DSM_WAL_ERROR, DSM_WAL_ERROR_NO_SPACE)
      && !dsm_wal_undo_apply (b->wal, &b->undo, &undo_error))
    {
      /* The files are in an unknown state now: stop. */
      g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_IO, "%s; undoing the write failed: %s",
                   failure->message, undo_error->message);
      g_error_free (failure);
      return FALSE;
    }
  g_propagate_error (error, failure);
  return FALSE;
}

/* Zeros written ahead of the records, so the syncs of the batches after
 * this one overwrite allocated, written blocks: the file's size and
 * extents stay as they are, and fdatasync has only data to write, no
 * journal commit (docs/STORAGE.md, "Preallocated segments").  When fewer
 * than half a step of zeros is left, the file grows to the next multiple
 * of the step at least half a step ahead, but not past the rotation size
 * (unless the records already are).  Written in this batch, before its
 * fdatasync, which makes them durable with the records. */
static gboolean
batch_preallocate (Batch *b, GError **error)
{
  static const guint8 zeros[64 * 1024];
  DsmWal *wal = b->wal;
  guint64 step = wal->options.preallocate_bytes;
  guint64 target;

  if (step == 0 || wal->segment_file_bytes - wal->segment_bytes >= step / 2)
    return TRUE;
  target = (wal->segment_bytes + step / 2 + step - 1) / step * step;
  target = MIN (target, MAX (wal->options.segment_bytes, wal->segment_bytes));
  while (wal->segment_file_bytes < target)
    {
      gsize length = (gsize) MIN (sizeof zeros, target - wal->segment_file_bytes);

      if (!dsm_file_pwrite_all (wal->segment_fd, wal->segment_path, zeros, length,
                                wal->segment_file_bytes, error))
        return FALSE;
      wal->segment_file_bytes += length;
    }
  return TRUE;
}

static gboolean
batch_flush (Batch *b, GError **error)
{
  DsmWal *wal = b->wal;

  if (b->buffer->len == 0)
    return TRUE;
  if (!dsm_file_pwrite_all (wal->segment_fd, wal->segment_path, b->buffer->data, b->buffer->len,
                            wal->segment_bytes, error))
    return FALSE;
  wal->segment_bytes += b->buffer->len;
  wal->segment_file_bytes = MAX (wal->segment_file_bytes, wal->segment_bytes);
  b->counts->bytes += b->buffer->len;
  g_byte_array_set_size (b->buffer, 0);
  return batch_preallocate (b, error);
}

static gboolean
batch_sync_segment (Batch *b, GError **error)
{
  if (b->wal->options.no_sync)
    return TRUE;
  if (!dsm_file_datasync (b->wal->segment_fd, b->wal->segment_path, error))
    return FALSE;
  b->counts->fsyncs++;
  return TRUE;
}

/* Encodes @persist under the next seq and folds it into the mirror. */
static void
batch_add (Batch *b, const DsmPersist *persist)
{
  DsmWal *wal = b->wal;
  DsmPersist record = *persist;

  record.seq = wal->next_seq++;
  dsm_record_encode (b->buffer, &record);
  b->counts->records++;
  if (persist->kind != DSM_PERSIST_SNAPSHOT)
    dsm_wal_undo_fold (wal, &b->undo, persist);
}

static void
batch_add_hard_state (Batch *b)
{
  DsmPersist hard_state = {
    .kind = DSM_PERSIST_HARD_STATE,
    .epoch = b->wal->mirror.epoch,
    .voted_for = b->wal->mirror.voted_for,
  };

  batch_add (b, &hard_state);
}

/* ENTRIES records of at most ENTRIES_RECORD_BYTES_MAX each; the first
 * keeps @first_index (and its truncation), the others append. */
static void
batch_add_entries (Batch *b, guint64 first_index, GPtrArray *entries)
{
  guint i = 0;

  do
    {
      g_autoptr(GPtrArray) piece = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
      gsize bytes = 0;
      DsmPersist record = { .kind = DSM_PERSIST_ENTRIES, .first_index = first_index,
                            .entries = piece };

      for (; i < entries->len; i++)
        {
          DsmEntry *entry = entries->pdata[i];

          bytes += dsm_entry_size_bytes (entry);
          if (piece->len > 0 && bytes > ENTRIES_RECORD_BYTES_MAX)
            break;
          g_ptr_array_add (piece, dsm_entry_ref (entry));
        }
      batch_add (b, &record);
      first_index += piece->len;
    }
  while (i < entries->len);
}

gboolean
dsm_wal_cut_segment (DsmWal *wal, GError **error)
{
  if (wal->segment_fd < 0 || wal->segment_file_bytes == wal->segment_bytes)
    return TRUE;
  g_assert (wal->segment_file_bytes > wal->segment_bytes);
  if (ftruncate (wal->segment_fd, (off_t) wal->segment_bytes) != 0)
    return dsm_file_fail (error, errno, wal->segment_path,
                          "cannot cut the zeros after the last record");
  wal->segment_file_bytes = wal->segment_bytes;
  return TRUE;
}

void
dsm_wal_close_segment (DsmWal *wal)
{
  if (wal->segment_fd >= 0)
    close (wal->segment_fd);
  wal->segment_fd = -1;
  g_clear_pointer (&wal->segment_path, g_free);
}

/* Creates the segment named by next_seq; the caller writes its header. */
static gboolean
batch_open_segment (Batch *b, GError **error)
{
  DsmWal *wal = b->wal;
  g_autofree char *name = dsm_layout_segment_name (wal->next_seq);
  g_autofree char *path = g_build_filename (wal->dir, name, NULL);
  int fd;

  g_assert (b->buffer->len == 0);
  /* The segment it replaces was cut to its records (dsm_wal_cut_segment()). */
  g_assert (wal->segment_fd < 0 || wal->segment_file_bytes == wal->segment_bytes);
  /* O_EXCL: a name is never reused, so an existing file is a bug or a
   * second writer, never something to overwrite. */
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return dsm_file_fail (error, errno, path, "cannot create segment");
  dsm_wal_close_segment (wal);
  wal->segment_fd = fd;
  wal->segment_path = g_steal_pointer (&path);
  wal->segment_bytes = 0;
  wal->segment_file_bytes = 0;
  g_ptr_array_add (wal->segments, g_steal_pointer (&name));
  b->counts->segments_created++;
  b->new_names = TRUE;
  return TRUE;
}

/* Ends the active segment: its records written, the zeros after them cut
 * off, and both durable, so a segment no longer written ends with its
 * last record. */
static gboolean
batch_end_segment (Batch *b, GError **error)
{
  return batch_flush (b, error) && dsm_wal_cut_segment (b->wal, error)
         && batch_sync_segment (b, error);
}

/* Ends the active segment (its records durable) and starts the next with
 * the hard state, so a segment never depends on the one before for it. */
static gboolean
batch_rotate (Batch *b, GError **error)
{
  if (!batch_end_segment (b, error) || !batch_open_segment (b, error))
    return FALSE;
  batch_add_hard_state (b);
  b->wal->segment_header_bytes = b->buffer->len;
  return TRUE;
}

/* The snapshot file @name (durable, named in a durable directory) becomes
 * the base: a new segment with the hard state, a snapshot_ref with
 * reset_log and the live entries after it, needing nothing older. */
static gboolean
batch_snapshot_base (Batch *b, const DsmPersist *persist, const char *name, const DsmSnapshotRef *ref,
                     GError **error)
{
  DsmWal *wal = b->wal;
  DsmPersist marker = *persist;

  b->counts->snapshots_written++;
  dsm_wal_undo_fold (wal, &b->undo, persist);
  g_clear_pointer (&wal->mirror.snapshot, g_bytes_unref);
  if (wal->snapshot_file != NULL)
    g_ptr_array_add (wal->old_snapshots, wal->snapshot_file);
  wal->snapshot_file = g_strdup (name);

  if (!batch_open_segment (b, error))
    return FALSE;
  wal->base = wal->segments->len - 1;
  batch_add_hard_state (b);
  marker.seq = wal->next_seq++;
  marker.reset_log = TRUE;
  dsm_record_encode_snapshot_ref (b->buffer, &marker, ref);
  b->counts->records++;
  /* The mirror holds exactly the entries after the snapshot. */
  g_assert (wal->mirror.entries->len == 0
            || ((DsmEntry *) wal->mirror.entries->pdata[0])->index == persist->index + 1);
  {
    /* A copy: writing the entries folds them into the mirror again. */
    g_autoptr(GPtrArray) live = g_ptr_array_new_full (wal->mirror.entries->len,
                                                      (GDestroyNotify) dsm_entry_unref);

    for (guint i = 0; i < wal->mirror.entries->len; i++)
      g_ptr_array_add (live, dsm_entry_ref (wal->mirror.entries->pdata[i]));
    batch_add_entries (b, persist->index + 1, live);
  }
  wal->segment_header_bytes = b->buffer->len;
  b->new_base = TRUE;
  return TRUE;
}

/* A snapshot in a batch: its own file, then a base segment. */
static gboolean
batch_snapshot (Batch *b, const DsmPersist *persist, GError **error)
{
  DsmWal *wal = b->wal;
  g_autofree char *name = dsm_layout_snapshot_name (wal->next_seq);
  g_autoptr(DsmSnapshotRef) ref = NULL;

  if (wal->segment_fd >= 0 && !batch_end_segment (b, error))
    return FALSE;
  /* Named for the undo first: the file may be in place even when writing
   * it failed (at the directory's fsync after the rename). */
  dsm_wal_undo_created_snapshot (&b->undo, name);
  if (!dsm_layout_write_snapshot (wal->dir_fd, wal->dir, name, wal->cluster_id, wal->node_id,
                                  persist, !wal->options.no_sync, &b->counts->fsyncs, &ref, error))
    return FALSE;
  return batch_snapshot_base (b, persist, name, ref, error);
}

static gboolean
batch_add_persist (Batch *b, const DsmPersist *persist, GError **error)
{
  DsmWal *wal = b->wal;
  guint64 size = wal->segment_bytes + b->buffer->len;

  if (persist->kind == DSM_PERSIST_SNAPSHOT)
    return batch_snapshot (b, persist, error);
  if (size >= wal->options.segment_bytes && size > wal->segment_header_bytes
      && !batch_rotate (b, error))
    return FALSE;
  if (persist->kind == DSM_PERSIST_ENTRIES)
    {
      /* Entries the snapshot already covers stay out of the log
       * (dsm_recovery_clip_entries() says when the core sends them). */
      g_autoptr(DsmPersist) clipped = dsm_recovery_clip_entries (persist, wal->mirror.snapshot_index);
      const DsmPersist *p = clipped != NULL ? clipped : persist;

      batch_add_entries (b, p->first_index, p->entries);
    }
  else
    batch_add (b, persist);
  return TRUE;
}

/* Once a base segment is durable nothing older is needed.  A failure to
 * remove is only logged: the next open removes what is left. */
static void
batch_remove_obsolete (Batch *b)
{
  DsmWal *wal = b->wal;

  if (b->leftovers != NULL)
    {
      /* Left to the caller, after io_lock: each name is in no list of
       * the WAL's any more, and names are never reused. */
      g_assert (b->leftovers->segments == NULL && b->leftovers->snapshots == NULL);
      b->leftovers->segments = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < wal->base; i++)
        g_ptr_array_add (b->leftovers->segments, g_steal_pointer (&wal->segments->pdata[i]));
      g_ptr_array_remove_range (wal->segments, 0, wal->base);
      wal->base = 0;
      b->leftovers->snapshots = g_steal_pointer (&wal->old_snapshots);
      wal->old_snapshots = g_ptr_array_new_with_free_func (g_free);
      return;
    }
  for (guint i = 0; i < wal->base; i++)
    {
      g_autoptr(GError) error = NULL;

      if (dsm_file_remove (wal->dir, wal->segments->pdata[i], &error))
        b->counts->segments_deleted++;
      else
        g_warning ("%s", error->message);
    }
  g_ptr_array_remove_range (wal->segments, 0, wal->base);
  wal->base = 0;
  for (guint i = 0; i < wal->old_snapshots->len; i++)
    {
      g_autoptr(GError) error = NULL;

      if (!dsm_file_remove (wal->dir, wal->old_snapshots->pdata[i], &error))
        g_warning ("%s", error->message);
    }
  g_ptr_array_set_size (wal->old_snapshots, 0);
}

/* Makes what the batch wrote durable: the active segment, then the
 * directory if a file was created; then removes what a new base made
 * obsolete. */
static gboolean
batch_finish (Batch *b, GError **error)
{
  DsmWal *wal = b->wal;

  if (!batch_flush (b, error) || !batch_sync_segment (b, error))
    return FALSE;
  if (b->new_names && !wal->options.no_sync)
    {
      if (!dsm_file_sync_dir (wal->dir_fd, wal->dir, error))
        return FALSE;
      b->counts->fsyncs++;
    }
  if (b->new_base)
    batch_remove_obsolete (b);
  return TRUE;
}

/* The active segment, created at the start of a batch when there is none:
 * at open, or after open ran out of space for it.  Each run appends to a
 * segment of its own, opening with the hard state. */
static gboolean
batch_start_segment (Batch *b, GError **error)
{
  if (!batch_open_segment (b, error))
    return FALSE;
  batch_add_hard_state (b);
  b->wal->segment_header_bytes = b->buffer->len;
  return TRUE;
}

gboolean
dsm_wal_write_batch (DsmWal *wal, GPtrArray *batch, DsmWalCounts *counts, GError **error)
{
  g_autoptr(GByteArray) buffer = g_byte_array_sized_new (64 * 1024);
  GError *failure = NULL;
  Batch b;
  gboolean ok;

  batch_init (&b, wal, counts, buffer);
  ok = wal->segment_fd >= 0 || batch_start_segment (&b, &failure);
  for (guint i = 0; ok && i < batch->len; i++)
    ok = batch_add_persist (&b, batch->pdata[i], &failure);
  ok = ok && batch_finish (&b, &failure);
  if (!ok)
    batch_fail (&b, failure, error);
  dsm_wal_undo_clear (&b.undo);
  g_assert (!ok || wal->segment_fd >= 0);
  return ok;
}

static gboolean
staged_snapshot_write (Batch *b, const DsmPersist *persist, const char *staged, DsmSnapshotRef *ref,
                       GError **error)
{
  DsmWal *wal = b->wal;
  g_autofree char *name = dsm_layout_snapshot_name (wal->next_seq);
  g_autofree char *from = g_build_filename (wal->dir, staged, NULL);
  g_autofree char *to = g_build_filename (wal->dir, name, NULL);

  if (!batch_end_segment (b, error))
    return FALSE;
  dsm_wal_undo_created_snapshot (&b->undo, name);
  if (rename (from, to) != 0)
    return dsm_file_fail (error, errno, to, "rename failed");
  if (!wal->options.no_sync)
    {
      if (!dsm_file_sync_dir (wal->dir_fd, wal->dir, error))
        return FALSE;
      b->counts->fsyncs++;
    }
  g_free (ref->file);
  ref->file = g_strdup (name);
  return batch_snapshot_base (b, persist, name, ref, error) && batch_finish (b, error);
}

gboolean
dsm_wal_write_staged_snapshot (DsmWal *wal, const DsmPersist *persist, const char *staged,
                               DsmSnapshotRef *ref, DsmWalCounts *counts,
                               DsmWalLeftovers *leftovers, GError **error)
{
  g_autoptr(GByteArray) buffer = g_byte_array_sized_new (64 * 1024);
  GError *failure = NULL;
  Batch b;
  gboolean ok;

  g_assert (!persist->reset_log);
  /* Overtaken while it was being written: a snapshot installed from the
   * leader (or a newer one) already covers it. */
  if (persist->index <= wal->mirror.snapshot_index)
    return dsm_file_remove (wal->dir, staged, error);
  /* Written after the batch that carried it, so there is an active
   * segment: that batch started one if open could not. */
  g_assert (wal->segment_fd >= 0);
  g_assert (leftovers->segments == NULL && leftovers->snapshots == NULL
            && leftovers->entries == NULL);
  batch_init (&b, wal, counts, buffer);
  b.leftovers = leftovers;
  ok = staged_snapshot_write (&b, persist, staged, ref, &failure);
  if (!ok)
    {
      batch_fail (&b, failure, error);
      /* Undone: nothing became obsolete (a failure before the removal
       * left the lists empty; none comes after it). */
      g_assert (leftovers->segments == NULL && leftovers->snapshots == NULL);
    }
  else
    /* The log the snapshot covers: the undo's copy of the mirror's
     * entries holds their last references (a million machines' log
     * since the last snapshot, 50-200 ms to free). */
    leftovers->entries = g_steal_pointer (&b.undo.entries);
  dsm_wal_undo_clear (&b.undo);
  return ok;
}

void
dsm_wal_leftovers_drop (DsmWal *wal, DsmWalLeftovers *leftovers, DsmWalCounts *counts)
{
  GPtrArray *lists[] = { leftovers->segments, leftovers->snapshots };

  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    for (guint i = 0; lists[l] != NULL && i < lists[l]->len; i++)
      {
        g_autoptr(GError) error = NULL;

        if (!dsm_file_remove (wal->dir, lists[l]->pdata[i], &error))
          g_warning ("%s", error->message);
        else if (l == 0)
          counts->segments_deleted++;
      }
  g_clear_pointer (&leftovers->segments, g_ptr_array_unref);
  g_clear_pointer (&leftovers->snapshots, g_ptr_array_unref);
  g_clear_pointer (&leftovers->entries, g_ptr_array_unref);
}
