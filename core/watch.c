/* core/watch.c: the change feed watches read (watch.h): the changes the
 * applied entries made, from the start of the node's log on. */
#include "watch.h"

#include <string.h>

#include "queue.h"

/* Changes dropped by compaction freed per sync (queue.h): a compaction
 * drops as many as the log since the last snapshot held. */
#define FEED_RECLAIM_PER_SYNC 256

struct _DsmWatchFeed {
  DsmQueue changes;      /* DsmChange, revisions strictly increasing */
  guint64 floor;          /* every change after it is in @changes */
  guint64 revision;       /* the last applied index seen */
};

DsmChange *
dsm_change_new (guint64 revision, const char *machine, const char *from, const char *to)
{
  g_return_val_if_fail (machine != NULL && to != NULL, NULL);

  /* The strings live after the change, in one allocation: every node
   * records one change per applied transition, and three strings of
   * their own were three more mallocs and frees a write on each. */
  gsize machine_n = strlen (machine) + 1;
  gsize from_n = from != NULL ? strlen (from) + 1 : 0;
  gsize to_n = strlen (to) + 1;
  DsmChange *change = g_malloc (sizeof (DsmChange) + machine_n + from_n + to_n);
  char *cursor = (char *) (change + 1);

  change->revision = revision;
  change->machine = memcpy (cursor, machine, machine_n);
  cursor += machine_n;
  change->from = from != NULL ? memcpy (cursor, from, from_n) : NULL;
  cursor += from_n;
  change->to = memcpy (cursor, to, to_n);
  g_assert (cursor + to_n == (char *) (change + 1) + machine_n + from_n + to_n);
  return change;
}

void
dsm_change_free (DsmChange *change)
{
  /* The strings go with it (dsm_change_new()). */
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

  dsm_queue_init (&feed->changes, (GDestroyNotify) dsm_change_free);
  feed->floor = applied_index;
  feed->revision = applied_index;
  return feed;
}

void
dsm_watch_feed_free (DsmWatchFeed *feed)
{
  if (feed == NULL)
    return;
  dsm_queue_clear (&feed->changes);
  g_free (feed);
}

/* The feed's invariant (O(1)): the changes it holds are after its floor
 * and at or before the last applied index it saw. */
static void
feed_check (const DsmWatchFeed *feed)
{
  guint n = dsm_queue_length (&feed->changes);

  g_assert (feed->floor <= feed->revision);
  g_assert (n == 0 || ((const DsmChange *) dsm_queue_get (&feed->changes, 0))->revision > feed->floor);
  g_assert (n == 0 || ((const DsmChange *) dsm_queue_get (&feed->changes, n - 1))->revision <= feed->revision);
}

/* Nothing at or below @index is known any more. */
static void
feed_start_over (DsmWatchFeed *feed, guint64 index)
{
  dsm_queue_reset (&feed->changes);
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
  dsm_queue_push (&feed->changes, change);
  feed_check (feed);
  return change;
}

/* The position of the first change after @revision. */
static guint
feed_find_after (const DsmWatchFeed *feed, guint64 revision)
{
  gpointer *changes = dsm_queue_items (&feed->changes);
  guint lo = 0, hi = dsm_queue_length (&feed->changes);

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (((DsmChange *) changes[mid])->revision <= revision)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

void
dsm_watch_feed_sync (DsmWatchFeed *feed, guint64 log_start_index, guint64 applied_index)
{
  if (applied_index > feed->revision)
    feed_start_over (feed, applied_index);
  dsm_queue_reclaim (&feed->changes, FEED_RECLAIM_PER_SYNC);
  if (log_start_index <= feed->floor)
    return;
  /* Compacted: the changes the log no longer holds go too. */
  dsm_queue_drop_front (&feed->changes, feed_find_after (feed, log_start_index));
  feed->floor = MIN (log_start_index, feed->revision);
  feed_check (feed);
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
  return dsm_queue_length (&feed->changes);
}

gboolean
dsm_watch_feed_replay (const DsmWatchFeed *feed, const DsmWatchFilter *filter, guint64 from_revision,
                       GPtrArray *out)
{
  guint n = dsm_queue_length (&feed->changes);

  if (from_revision < feed->floor)
    return FALSE;
  for (guint i = feed_find_after (feed, from_revision); i < n; i++)
    {
      DsmChange *change = dsm_queue_get (&feed->changes, i);
      g_assert (change->revision > from_revision);
      if (dsm_watch_filter_matches (filter, change->machine))
        g_ptr_array_add (out, change);
    }
  return TRUE;
}
