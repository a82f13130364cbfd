/* check/watch-check.c: the watch invariant (docs/CHECKERS.md, "Watch"):
 * what a simulated watcher received, across its reconnects, against the
 * committed log the checker keeps: every change of its machines after the
 * revision it started from, in commit order, once, and a compacted answer
 * that states the machine as the log had it at its revision. */
#include "check/watch-check.h"

/* The first committed change @filter matches in (@after, @before), or 0. */
static guint64
watch_check_missed (const DsmChecker *checker, const DsmWatchFilter *filter, guint64 after, guint64 before)
{
  for (guint64 i = after + 1; i < before; i++)
    {
      const char *machine, *state;
      if (dsm_checker_get_change (checker, i, &machine, &state) && dsm_watch_filter_matches (filter, machine))
        return i;
    }
  return 0;
}

void
dsm_checker_watch_change (DsmChecker *checker, guint64 now_ms, const char *who, const DsmWatchFilter *filter,
                          guint64 last, const DsmChange *change)
{
  const char *machine, *state;
  guint64 missed;

  if (change->revision <= last)
    {
      dsm_checker_fail (checker, DSM_INVARIANT_WATCH, now_ms,
                        "watcher %s got revision %" G_GUINT64_FORMAT " (%s) after revision %" G_GUINT64_FORMAT
                        ": out of order or twice", who, change->revision, change->machine, last);
      return;
    }
  if (!dsm_checker_get_change (checker, change->revision, &machine, &state) || g_strcmp0 (machine, change->machine) != 0
      || g_strcmp0 (state, change->to) != 0)
    {
      dsm_checker_fail (checker, DSM_INVARIANT_WATCH, now_ms,
                        "watcher %s got %s -> %s at revision %" G_GUINT64_FORMAT ", which is not the change the "
                        "committed log has there", who, change->machine, change->to, change->revision);
      return;
    }
  if (!dsm_watch_filter_matches (filter, change->machine))
    {
      dsm_checker_fail (checker, DSM_INVARIANT_WATCH, now_ms, "watcher %s got a change of %s, which it does not watch",
                        who, change->machine);
      return;
    }
  missed = watch_check_missed (checker, filter, last, change->revision);
  if (missed != 0)
    {
      dsm_checker_get_change (checker, missed, &machine, &state);
      dsm_checker_fail (checker, DSM_INVARIANT_WATCH, now_ms,
                        "watcher %s missed revision %" G_GUINT64_FORMAT " (%s -> %s): it got %" G_GUINT64_FORMAT
                        " after %" G_GUINT64_FORMAT, who, missed, machine, state, change->revision, last);
    }
}

void
dsm_checker_watch_resync (DsmChecker *checker, guint64 now_ms, const char *who, const char *machine, guint64 last,
                          guint64 revision, const char *state)
{
  const char *expected = NULL;

  if (revision < last)
    {
      dsm_checker_fail (checker, DSM_INVARIANT_WATCH, now_ms,
                        "watcher %s was told to resync at revision %" G_GUINT64_FORMAT ", before revision %"
                        G_GUINT64_FORMAT " it had already seen", who, revision, last);
      return;
    }
  /* The machine's state as of @revision: its last change up to there. */
  for (guint64 i = revision; i > 0 && expected == NULL; i--)
    {
      const char *m, *s;
      if (dsm_checker_get_change (checker, i, &m, &s) && g_strcmp0 (m, machine) == 0)
        expected = s;
    }
  if (expected == NULL)
    expected = dsm_checker_get_initial (checker, machine);
  if (g_strcmp0 (expected, state) != 0)
    dsm_checker_fail (checker, DSM_INVARIANT_WATCH, now_ms,
                      "watcher %s was told %s is %s as of revision %" G_GUINT64_FORMAT "; the committed log has %s",
                      who, machine, state, revision, expected);
}

void
dsm_checker_watch_caught_up (DsmChecker *checker, guint64 now_ms, const char *who, const DsmWatchFilter *filter,
                             guint64 last, guint64 applied)
{
  guint64 missed = applied > last ? watch_check_missed (checker, filter, last, applied + 1) : 0;
  const char *machine, *state;

  if (missed == 0)
    return;
  dsm_checker_get_change (checker, missed, &machine, &state);
  dsm_checker_fail (checker, DSM_INVARIANT_WATCH, now_ms,
                    "watcher %s ended at revision %" G_GUINT64_FORMAT " on a node that applied up to %"
                    G_GUINT64_FORMAT ": it never got revision %" G_GUINT64_FORMAT " (%s -> %s)",
                    who, last, applied, missed, machine, state);
}
