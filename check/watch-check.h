/* check/watch-check.h: the watch invariant (docs/CHECKERS.md, "Watch"),
 * judged against the committed log the checker keeps: the simulator
 * reports what each of its watchers receives, the checker says whether a
 * real client could tell a gap, a duplicate or a wrong resync. */
#pragma once

#include "check/checker.h"
#include "watch.h"

G_BEGIN_DECLS

/* Watcher @who, having seen every change up to @last, receives @change:
 * a committed change of a machine it watches, after @last, with none it
 * watches in between. */
void dsm_checker_watch_change (DsmChecker *checker, guint64 now_ms, const char *who, const DsmWatchFilter *filter,
                               guint64 last, const DsmChange *change);

/* Watcher @who (at @last) is answered "compacted": @machine is in @state
 * as of @revision, which must not be before @last and must be the state
 * the committed log gives it there. */
void dsm_checker_watch_resync (DsmChecker *checker, guint64 now_ms, const char *who, const char *machine,
                               guint64 last, guint64 revision, const char *state);

/* At the end: watcher @who, at @last, is connected to a node that applied
 * up to @applied, so it has every change it watches up to there. */
void dsm_checker_watch_caught_up (DsmChecker *checker, guint64 now_ms, const char *who,
                                  const DsmWatchFilter *filter, guint64 last, guint64 applied);

G_END_DECLS
