/* storage/undo.c: what a batch changed, kept so that a batch the disk had
 * no room for can be taken back: the files it created are removed, the
 * segment it appended to is cut back to its old size, and the writer's
 * state (mirror, names, seqs) is as before.  The same batch then goes out
 * again at the next sync (docs/STORAGE.md, "Out of space").
 *
 * Cheap on the common path: a batch that only appends costs a few saved
 * integers; the mirror's entries are copied only before a fold first
 * removes some (a truncation or a snapshot, which are rare). */
#include "wal-private.h"

#include <errno.h>
#include <unistd.h>

#include "file.h"

void
dsm_wal_undo_begin (DsmWal *wal, DsmWalUndo *undo)
{
  *undo = (DsmWalUndo) {
    .next_seq = wal->next_seq,
    .n_segments = wal->segments->len,
    .base = wal->base,
    .segment_name = wal->segment_fd >= 0 ? g_path_get_basename (wal->segment_path) : NULL,
    .segment_bytes = wal->segment_bytes,
    .segment_header_bytes = wal->segment_header_bytes,
    .snapshot_file = g_strdup (wal->snapshot_file),
    .n_old_snapshots = wal->old_snapshots->len,
    .epoch = wal->mirror.epoch,
    .voted_for = wal->mirror.voted_for,
    .snapshot_index = wal->mirror.snapshot_index,
    .snapshot_epoch = wal->mirror.snapshot_epoch,
    .n_entries = wal->mirror.entries->len,
    .snapshots_created = g_ptr_array_new_with_free_func (g_free),
  };
}

void
dsm_wal_undo_clear (DsmWalUndo *undo)
{
  g_free (undo->segment_name);
  g_free (undo->snapshot_file);
  g_clear_pointer (&undo->entries, g_ptr_array_unref);
  g_clear_pointer (&undo->snapshots_created, g_ptr_array_unref);
}

/* Whether folding @persist removes entries from @mirror (so the entries
 * must be saved first). */
static gboolean
fold_removes (const DsmDurableState *mirror, const DsmPersist *persist)
{
  const GPtrArray *entries = mirror->entries;

  if (entries->len == 0)
    return FALSE;
  if (persist->kind == DSM_PERSIST_SNAPSHOT)
    return TRUE;
  return persist->kind == DSM_PERSIST_ENTRIES
         && ((const DsmEntry *) entries->pdata[entries->len - 1])->index >= persist->first_index;
}

void
dsm_wal_undo_fold (DsmWal *wal, DsmWalUndo *undo, const DsmPersist *persist)
{
  GPtrArray *entries = wal->mirror.entries;

  /* Until now the batch only appended: the first n_entries are the
   * mirror's entries as the batch found them. */
  if (undo->entries == NULL && fold_removes (&wal->mirror, persist))
    {
      g_assert (entries->len >= undo->n_entries);
      undo->entries = g_ptr_array_new_full (undo->n_entries, (GDestroyNotify) dsm_entry_unref);
      for (guint i = 0; i < undo->n_entries; i++)
        g_ptr_array_add (undo->entries, dsm_entry_ref (entries->pdata[i]));
    }
  dsm_durable_state_apply (&wal->mirror, persist);
}

void
dsm_wal_undo_created_snapshot (DsmWalUndo *undo, const char *name)
{
  g_ptr_array_add (undo->snapshots_created, g_strdup (name));
}

/* Removes the files the batch created, then makes their removal durable
 * before the old segment is cut back: a crash in between then finds the
 * old segment with part of the batch (a prefix of what was appended,
 * which recovery may return), never a newer segment after a gap. */
static gboolean
undo_remove_created (DsmWal *wal, DsmWalUndo *undo, GError **error)
{
  gboolean removed = wal->segments->len > undo->n_segments || undo->snapshots_created->len > 0;

  for (guint i = undo->n_segments; i < wal->segments->len; i++)
    if (!dsm_file_remove (wal->dir, wal->segments->pdata[i], error))
      return FALSE;
  for (guint i = 0; i < undo->snapshots_created->len; i++)
    if (!dsm_file_remove (wal->dir, undo->snapshots_created->pdata[i], error))
      return FALSE;
  g_ptr_array_set_size (wal->segments, undo->n_segments);
  return !removed || wal->options.no_sync || dsm_file_sync_dir (wal->dir_fd, wal->dir, error);
}

gboolean
dsm_wal_undo_apply (DsmWal *wal, DsmWalUndo *undo, GError **error)
{
  dsm_wal_close_segment (wal);
  if (!undo_remove_created (wal, undo, error))
    return FALSE;
  if (undo->segment_name != NULL)
    {
      /* What the batch wrote there was never reported durable: cut it off,
       * torn record and all. */
      g_autofree char *path = g_build_filename (wal->dir, undo->segment_name, NULL);
      int fd = dsm_file_reopen_truncated (path, undo->segment_bytes, !wal->options.no_sync, error);

      if (fd < 0)
        return FALSE;
      wal->segment_fd = fd;
      wal->segment_path = g_steal_pointer (&path);
    }
  g_assert (wal->segments->len == undo->n_segments);
  wal->segment_bytes = undo->segment_bytes;
  /* Cut back, the segment lost its zeros too: the next batch writes them again. */
  wal->segment_file_bytes = undo->segment_bytes;
  wal->segment_header_bytes = undo->segment_header_bytes;
  wal->next_seq = undo->next_seq;
  wal->base = undo->base;
  g_free (wal->snapshot_file);
  wal->snapshot_file = g_steal_pointer (&undo->snapshot_file);
  /* Drops (and frees) the name a new base moved there. */
  g_ptr_array_set_size (wal->old_snapshots, undo->n_old_snapshots);

  wal->mirror.epoch = undo->epoch;
  wal->mirror.voted_for = undo->voted_for;
  wal->mirror.snapshot_index = undo->snapshot_index;
  wal->mirror.snapshot_epoch = undo->snapshot_epoch;
  if (undo->entries != NULL)
    {
      g_ptr_array_unref (wal->mirror.entries);
      wal->mirror.entries = g_steal_pointer (&undo->entries);
    }
  else
    {
      g_assert (wal->mirror.entries->len >= undo->n_entries);
      g_ptr_array_set_size (wal->mirror.entries, undo->n_entries);
    }
  g_assert (wal->mirror.entries->len == undo->n_entries);
  g_assert (wal->segment_fd >= 0 || undo->segment_name == NULL);
  return TRUE;
}
