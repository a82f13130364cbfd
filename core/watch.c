/* core/watch.c: the change feed watches read (watch.h): the changes the
 * applied entries made, from the start of the node's log on. */
#include "watch.h"

#include <string.h>

struct _DsmWatchFeed {
  GPtrArray *changes;     /* DsmChange, revisions strictly increasing */
  guint64 floor;          /* every change after it is in @changes */
  guint64 revision;       /* the last applied index seen */
};

DsmChange *
dsm_change_new (guint64 revision, const char *machine, const char *from, const char *to)
{
  DsmChange *change = g_new0 (DsmChange, 1);

  g_return_val_if_fail (machine != NULL && to != NULL, NULL);
  change->revision = revision;
  change->machine = g_strdup (machine);
  change->from = g_strdup (from);
  change->to = g_strdup (to);
  return change;
}

void
dsm_change_free (DsmChange *change)
{
  if (change == NULL)
    return;
  g_free (change->machine);
  g_free (change->from);
  g_free (change->to);
  g_free (change);
}

gboolean
dsm_watch_filter_matches (const DsmWatchFilter *filter, const char *machine)
{
  g_assert ((filter->machine == NULL) != (filter->prefix == NULL));
  if (filter->machine != NULL)
    return strcmp (filter->machine, machine) == 0;
  return g_str_has_prefix (machine, filter->prefix);
}

DsmWatchFeed *
dsm_watch_feed_new (guint64 applied_index)
{
  DsmWatchFeed *feed = g_new0 (DsmWatchFeed, 1);

  feed->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_change_free);
  feed->floor = applied_index;
  feed->revision = applied_index;
  return feed;
}

void
dsm_watch_feed_free (DsmWatchFeed *feed)
{
  if (feed == NULL)
    return;
  g_ptr_array_unref (feed->changes);
  g_free (feed);
}

/* Nothing at or below @index is known any more. */
static void
feed_start_over (DsmWatchFeed *feed, guint64 index)
{
  g_ptr_array_set_size (feed->changes, 0);
  feed->floor = index;
  feed->revision = index;
}

const DsmChange *
dsm_watch_feed_record (DsmWatchFeed *feed, const DsmApplied *applied)
{
  const DsmEntry *entry = applied->entry;
  const DsmApplyResult *result = &applied->result;
  DsmChange *change;

  /* Applied before the feed began (a node applies as it starts). */
  if (entry->index <= feed->revision)
    return NULL;
  if (entry->index != feed->revision + 1)
    feed_start_over (feed, entry->index - 1);
  feed->revision = entry->index;
  if (entry->kind != DSM_ENTRY_COMMAND || entry->cmd.op != DSM_OP_TRANSITION || result->status != DSM_REPLY_OK
      || result->duplicate || result->state == NULL)
    return NULL;
  /* A transition that took effect took effect here, in this entry. */
  g_assert (result->result_index == 0 || result->result_index == entry->index);
  change = dsm_change_new (entry->index, entry->cmd.machine, result->from, result->state);
  g_ptr_array_add (feed->changes, change);
  return change;
}

void
dsm_watch_feed_sync (DsmWatchFeed *feed, guint64 log_start_index, guint64 applied_index)
{
  guint drop = 0;

  if (applied_index > feed->revision)
    feed_start_over (feed, applied_index);
  if (log_start_index <= feed->floor)
    return;
  /* Compacted: the changes the log no longer holds go too. */
  while (drop < feed->changes->len && ((DsmChange *) feed->changes->pdata[drop])->revision <= log_start_index)
    drop++;
  g_ptr_array_remove_range (feed->changes, 0, drop);
  feed->floor = MIN (log_start_index, feed->revision);
  g_assert (feed->changes->len == 0 || ((DsmChange *) feed->changes->pdata[0])->revision > feed->floor);
}

guint64
dsm_watch_feed_get_floor (const DsmWatchFeed *feed)
{
  return feed->floor;
}

guint64
dsm_watch_feed_get_revision (const DsmWatchFeed *feed)
{
  return feed->revision;
}

guint
dsm_watch_feed_get_length (const DsmWatchFeed *feed)
{
  return feed->changes->len;
}

gboolean
dsm_watch_feed_replay (const DsmWatchFeed *feed, const DsmWatchFilter *filter, guint64 from_revision,
                       GPtrArray *out)
{
  guint lo = 0, hi = feed->changes->len;

  if (from_revision < feed->floor)
    return FALSE;
  /* The first change after @from_revision. */
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (((DsmChange *) feed->changes->pdata[mid])->revision <= from_revision)
        lo = mid + 1;
      else
        hi = mid;
    }
  for (guint i = lo; i < feed->changes->len; i++)
    {
      DsmChange *change = feed->changes->pdata[i];
      g_assert (change->revision > from_revision);
      if (dsm_watch_filter_matches (filter, change->machine))
        g_ptr_array_add (out, change);
    }
  return TRUE;
}
