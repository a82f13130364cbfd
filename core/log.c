/* core/log.c: the in-memory log, a window of entries over a growable
 * array whose front is dropped by compaction without copying each time. */
#include "log.h"

#include <string.h>

struct _DsmLog {
  GPtrArray *entries;       /* entries[head..] are indexes start_index+1.. */
  guint head;               /* slots before head were compacted away */
  guint64 start_index;
  guint64 start_epoch;
};

/* Compacted slots hold NULL until the array is repacked. */
static void
slot_unref (gpointer entry)
{
  if (entry != NULL)
    dsm_entry_unref (entry);
}

DsmLog *
dsm_log_new (void)
{
  DsmLog *log = g_new0 (DsmLog, 1);

  log->entries = g_ptr_array_new_with_free_func (slot_unref);
  return log;
}

void
dsm_log_free (DsmLog *log)
{
  if (log == NULL)
    return;
  /* Slots before head are already NULL. */
  g_ptr_array_unref (log->entries);
  g_free (log);
}

guint
dsm_log_length (const DsmLog *log)
{
  return log->entries->len - log->head;
}

guint64
dsm_log_start_index (const DsmLog *log)
{
  return log->start_index;
}

guint64
dsm_log_start_epoch (const DsmLog *log)
{
  return log->start_epoch;
}

guint64
dsm_log_first_index (const DsmLog *log)
{
  return log->start_index + 1;
}

guint64
dsm_log_last_index (const DsmLog *log)
{
  return log->start_index + dsm_log_length (log);
}

guint64
dsm_log_last_epoch (const DsmLog *log)
{
  if (dsm_log_length (log) == 0)
    return log->start_epoch;
  return ((DsmEntry *) g_ptr_array_index (log->entries, log->entries->len - 1))->epoch;
}

DsmEntry *
dsm_log_get (const DsmLog *log, guint64 index)
{
  if (index <= log->start_index || index > dsm_log_last_index (log))
    return NULL;
  DsmEntry *entry = g_ptr_array_index (log->entries, log->head + (index - log->start_index - 1));
  g_assert (entry->index == index);
  return entry;
}

gboolean
dsm_log_epoch_at (const DsmLog *log, guint64 index, guint64 *epoch)
{
  if (index == log->start_index)
    {
      *epoch = log->start_epoch;
      return TRUE;
    }
  DsmEntry *entry = dsm_log_get (log, index);
  if (entry == NULL)
    return FALSE;
  *epoch = entry->epoch;
  return TRUE;
}

void
dsm_log_append (DsmLog *log, DsmEntry *entry)
{
  g_assert (entry->index == dsm_log_last_index (log) + 1);
  g_assert (entry->epoch >= dsm_log_last_epoch (log));
  g_ptr_array_add (log->entries, dsm_entry_ref (entry));
}

void
dsm_log_truncate_from (DsmLog *log, guint64 index)
{
  g_assert (index > log->start_index);
  if (index > dsm_log_last_index (log))
    return;
  g_ptr_array_set_size (log->entries, log->head + (guint) (index - log->start_index - 1));
  g_assert (dsm_log_last_index (log) == index - 1);
}

/* Moves the live window to the array's start once the dead prefix is at
 * least half the array, so compaction costs amortised O(1) per entry. */
static void
compact_to_repack (DsmLog *log)
{
  if (log->head < 64 || log->head < log->entries->len / 2)
    return;
  guint live = log->entries->len - log->head;
  memmove (log->entries->pdata, log->entries->pdata + log->head, live * sizeof (gpointer));
  /* The moved-from tail slots still hold pointers now owned elsewhere:
   * clear them so set_size does not unref them. */
  for (guint i = live; i < log->entries->len; i++)
    log->entries->pdata[i] = NULL;
  g_ptr_array_set_size (log->entries, live);
  log->head = 0;
}

void
dsm_log_compact_to (DsmLog *log, guint64 index)
{
  if (index == log->start_index)
    return;
  guint64 epoch = 0;
  gboolean held = dsm_log_epoch_at (log, index, &epoch);
  g_assert (held);
  g_assert (index > log->start_index);

  guint n = (guint) (index - log->start_index);
  for (guint i = 0; i < n; i++)
    {
      dsm_entry_unref (log->entries->pdata[log->head + i]);
      log->entries->pdata[log->head + i] = NULL;
    }
  log->head += n;
  log->start_index = index;
  log->start_epoch = epoch;
  compact_to_repack (log);
  g_assert (dsm_log_first_index (log) == index + 1);
}

void
dsm_log_reset (DsmLog *log, guint64 index, guint64 epoch)
{
  g_ptr_array_set_size (log->entries, 0);
  log->head = 0;
  log->start_index = index;
  log->start_epoch = epoch;
}

GPtrArray *
dsm_log_slice (const DsmLog *log, guint64 from, guint max_entries, gsize max_bytes)
{
  g_assert (from > log->start_index);

  /* Count first, so the array is allocated once at its size. */
  guint64 last = dsm_log_last_index (log);
  guint n = 0;
  gsize bytes = 0;
  DsmEntry **at = (DsmEntry **) log->entries->pdata + log->head + (from - log->start_index - 1);
  while (from + n <= last && n < max_entries)
    {
      gsize size = dsm_entry_size_bytes (at[n]);
      if (n > 0 && bytes + size > max_bytes)
        break;
      bytes += size;
      n++;
    }

  GPtrArray *out = g_ptr_array_new_full (n, (GDestroyNotify) dsm_entry_unref);
  for (guint i = 0; i < n; i++)
    out->pdata[i] = dsm_entry_ref (at[i]);
  out->len = n;
  return out;
}

guint64
dsm_log_first_index_of_epoch (const DsmLog *log, guint64 index)
{
  guint64 epoch;

  if (!dsm_log_epoch_at (log, index, &epoch))
    return index;
  while (index > log->start_index + 1)
    {
      guint64 before;
      gboolean held = dsm_log_epoch_at (log, index - 1, &before);
      g_assert (held);
      if (before != epoch)
        break;
      index--;
    }
  return index;
}
