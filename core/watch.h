/* core/watch.h: the change feed that watches read (docs/API.md, "Watching
 * machines"): every committed change of a machine this node applied, in
 * commit order, held back to the start of the node's log, and which
 * machines a watch follows.  Pure: real hosts and the simulator feed it the
 * applies of their outbox and serve their own watchers from it. */
#pragma once

#include <glib.h>

#include "outbox.h"

G_BEGIN_DECLS

/**
 * DsmChange:
 * One committed change of one machine.  @revision is the log index of the
 * entry that made it (the machine's revision from then on).  Its strings
 * live in its own allocation: build one with dsm_change_new() only.
 */
typedef struct {
  guint64 revision;
  char *machine;
  char *from;
  char *to;
} DsmChange;

DsmChange *dsm_change_new (guint64 revision, const char *machine, const char *from, const char *to);
void dsm_change_free (DsmChange *change);

/* Which machines a watch follows: one by name, or every name starting
 * with a prefix ("" for all).  Exactly one of the two is set. */
typedef struct {
  const char *machine;   /* nullable */
  const char *prefix;    /* nullable */
} DsmWatchFilter;

gboolean dsm_watch_filter_matches (const DsmWatchFilter *filter, const char *machine);

typedef struct _DsmWatchFeed DsmWatchFeed;

/**
 * dsm_watch_feed_new:
 * @applied_index: the index the node's store is applied to now: changes
 *   at or below it are not known (a snapshot covers them)
 * Returns: (transfer full): an empty feed.
 */
DsmWatchFeed *dsm_watch_feed_new (guint64 applied_index);
void dsm_watch_feed_free (DsmWatchFeed *feed);

/**
 * dsm_watch_feed_record:
 * Takes one applied entry, in apply order.  An entry that does not follow
 * the last one seen (a snapshot was installed in between) first empties
 * the feed: the changes between are not known.  An entry at or below the
 * last one seen (applied before the feed began) is ignored.
 * Returns: (transfer none) (nullable): the change it made, valid until the
 *   feed next forgets (dsm_watch_feed_sync()), or NULL when it changed no
 *   machine (a rejected or repeated command, a read, a define, a no-op).
 */
const DsmChange *dsm_watch_feed_record (DsmWatchFeed *feed, const DsmApplied *applied);

/**
 * dsm_watch_feed_sync:
 * After a drain: the node's log starts after @log_start_index (changes at
 * or below it are forgotten: compacted) and its store is applied up to
 * @applied_index (past the last entry recorded: a snapshot was installed,
 * and the feed starts over from it).
 */
void dsm_watch_feed_sync (DsmWatchFeed *feed, guint64 log_start_index, guint64 applied_index);

/* Changes after this revision are all held; a watch from below it is
 * answered "compacted". */
guint64 dsm_watch_feed_get_floor (const DsmWatchFeed *feed);
/* The last applied index the feed saw. */
guint64 dsm_watch_feed_get_revision (const DsmWatchFeed *feed);
/* Changes held (for metrics). */
guint dsm_watch_feed_get_length (const DsmWatchFeed *feed);

/**
 * dsm_watch_feed_replay:
 * @out: (element-type DsmChange): gets the changes (borrowed, valid until
 *   the next record or sync) after @from_revision that @filter matches,
 *   in commit order
 * Returns: FALSE, adding nothing, when @from_revision is below the floor:
 *   changes after it are no longer all known (compacted).
 */
gboolean dsm_watch_feed_replay (const DsmWatchFeed *feed, const DsmWatchFilter *filter, guint64 from_revision,
                                GPtrArray *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmChange, dsm_change_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmWatchFeed, dsm_watch_feed_free)

G_END_DECLS
