/* core/log.c: the in-memory log, a queue of entries (queue.h): its
 * front is dropped by compaction in O(1) and the dropped entries are
 * freed a bounded number per input (dsm_log_reclaim()). */
#include "log.h"

#include "queue.h"

struct _DsmLog {
  DsmQueue entries;        /* live items are indexes start_index+1.. */
  guint64 start_index;
  guint64 start_epoch;
};

DsmLog *
dsm_log_new (void)
{
  DsmLog *log = g_new0 (DsmLog, 1);

  dsm_queue_init (&log->entries, (GDestroyNotify) dsm_entry_unref);
  return log;
}

void
dsm_log_free (DsmLog *log)
{
  if (log == NULL)
    return;
  dsm_queue_clear (&log->entries);
  g_free (log);
}

guint
dsm_log_length (const DsmLog *log)
{
  return dsm_queue_length (&log->entries);
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
  return ((DsmEntry *) dsm_queue_get (&log->entries, dsm_log_length (log) - 1))->epoch;
}

DsmEntry *
dsm_log_get (const DsmLog *log, guint64 index)
{
  if (index <= log->start_index || index > dsm_log_last_index (log))
    return NULL;
  DsmEntry *entry = dsm_queue_get (&log->entries, (guint) (index - log->start_index - 1));
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
  dsm_queue_push (&log->entries, dsm_entry_ref (entry));
}

void
dsm_log_truncate_from (DsmLog *log, guint64 index)
{
  g_assert (index > log->start_index);
  if (index > dsm_log_last_index (log))
    return;
  dsm_queue_truncate (&log->entries, (guint) (index - log->start_index - 1));
  g_assert (dsm_log_last_index (log) == index - 1);
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

  dsm_queue_drop_front (&log->entries, (guint) (index - log->start_index));
  log->start_index = index;
  log->start_epoch = epoch;
  g_assert (dsm_log_first_index (log) == index + 1);
}

guint
dsm_log_reclaim (DsmLog *log, guint budget)
{
  return dsm_queue_reclaim (&log->entries, budget);
}

guint
dsm_log_pending_reclaim (const DsmLog *log)
{
  return dsm_queue_pending (&log->entries);
}

void
dsm_log_reset (DsmLog *log, guint64 index, guint64 epoch)
{
  dsm_queue_reset (&log->entries);
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
  DsmEntry **at = (DsmEntry **) dsm_queue_items (&log->entries) + (from - log->start_index - 1);
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
