/* tests/core/test-watch.c: the change feed watches read (core/watch.h):
 * what an applied entry records, replay from a revision, and the floor
 * below which a watch is answered "compacted". */
#include "watch.h"

/* An applied transition of @machine, @from -> @to at @index (OK unless
 * @rejected). */
static DsmApplied *
applied_new (guint64 index, DsmOp op, const char *machine, const char *from, const char *to, gboolean rejected)
{
  DsmCommand cmd = { .op = op, .machine = (char *) machine, .to = (char *) to };
  DsmApplied *a = g_new0 (DsmApplied, 1);

  a->entry = dsm_entry_new (index, 1, machine != NULL ? DSM_ENTRY_COMMAND : DSM_ENTRY_NOOP,
                            machine != NULL ? &cmd : NULL);
  a->result.index = index;
  a->result.status = rejected ? DSM_REPLY_REJECTED : DSM_REPLY_OK;
  a->result.result_index = index;
  a->result.from = from;
  a->result.state = rejected ? from : to;
  return a;
}

static void
record (DsmWatchFeed *feed, guint64 index, const char *machine, const char *from, const char *to)
{
  DsmApplied *a = applied_new (index, DSM_OP_TRANSITION, machine, from, to, FALSE);
  dsm_watch_feed_record (feed, a);
  dsm_entry_unref (a->entry);
  g_free (a);
}

static guint64
replay_count (DsmWatchFeed *feed, const DsmWatchFilter *filter, guint64 from, guint64 *first)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new ();

  g_assert_true (dsm_watch_feed_replay (feed, filter, from, out));
  *first = out->len > 0 ? ((DsmChange *) out->pdata[0])->revision : 0;
  return out->len;
}

static void
test_record_changes_only (void)
{
  g_autoptr(DsmWatchFeed) feed = dsm_watch_feed_new (0);
  DsmApplied *noop = applied_new (1, DSM_OP_TRANSITION, NULL, NULL, NULL, FALSE);
  DsmApplied *rejected = applied_new (2, DSM_OP_TRANSITION, "a", "Init", "Stopped", TRUE);
  DsmApplied *read = applied_new (3, DSM_OP_READ, "a", "Init", "Init", FALSE);
  DsmApplied *ok = applied_new (4, DSM_OP_TRANSITION, "a", "Init", "Running", FALSE);
  const DsmChange *change;

  g_test_summary ("Only a transition that took effect is a change; its revision is its entry's index");
  g_assert_null (dsm_watch_feed_record (feed, noop));
  g_assert_null (dsm_watch_feed_record (feed, rejected));
  g_assert_null (dsm_watch_feed_record (feed, read));
  change = dsm_watch_feed_record (feed, ok);
  g_assert_nonnull (change);
  g_assert_cmpuint (change->revision, ==, 4);
  g_assert_cmpstr (change->machine, ==, "a");
  g_assert_cmpstr (change->from, ==, "Init");
  g_assert_cmpstr (change->to, ==, "Running");
  g_assert_cmpuint (dsm_watch_feed_get_length (feed), ==, 1);
  g_assert_cmpuint (dsm_watch_feed_get_revision (feed), ==, 4);
  DsmApplied *all[] = { noop, rejected, read, ok };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    dsm_applied_free (all[i]);
}

static void
test_replay_after_revision (void)
{
  g_autoptr(DsmWatchFeed) feed = dsm_watch_feed_new (0);
  DsmWatchFilter one = { .machine = "job-1" };
  DsmWatchFilter jobs = { .prefix = "job-" };
  DsmWatchFilter all = { .prefix = "" };
  guint64 first;

  g_test_summary ("A replay gives the matching changes strictly after the revision, in order");
  record (feed, 1, "job-1", "Init", "Running");
  record (feed, 2, "other", "Init", "Running");
  record (feed, 3, "job-2", "Init", "Running");
  record (feed, 4, "job-1", "Running", "Stopped");
  g_assert_cmpuint (replay_count (feed, &one, 0, &first), ==, 2);
  g_assert_cmpuint (first, ==, 1);
  g_assert_cmpuint (replay_count (feed, &one, 1, &first), ==, 1);
  g_assert_cmpuint (first, ==, 4);
  g_assert_cmpuint (replay_count (feed, &jobs, 1, &first), ==, 2);
  g_assert_cmpuint (first, ==, 3);
  g_assert_cmpuint (replay_count (feed, &all, 0, &first), ==, 4);
  g_assert_cmpuint (replay_count (feed, &all, 4, &first), ==, 0);
  /* A revision this node has not reached yet: nothing yet, not an error. */
  g_assert_cmpuint (replay_count (feed, &all, 99, &first), ==, 0);
}

static void
test_compaction_raises_floor (void)
{
  g_autoptr(DsmWatchFeed) feed = dsm_watch_feed_new (0);
  DsmWatchFilter all = { .prefix = "" };
  g_autoptr(GPtrArray) out = g_ptr_array_new ();
  guint64 first;

  g_test_summary ("Changes the log compacted away are forgotten: a replay from below is refused, "
                  "from the new floor it is whole");
  for (guint64 i = 1; i <= 6; i++)
    record (feed, i, "m", i % 2 ? "Init" : "Running", i % 2 ? "Running" : "Init");
  dsm_watch_feed_sync (feed, 4, 6);
  g_assert_cmpuint (dsm_watch_feed_get_floor (feed), ==, 4);
  g_assert_false (dsm_watch_feed_replay (feed, &all, 3, out));
  g_assert_cmpuint (out->len, ==, 0);
  g_assert_cmpuint (replay_count (feed, &all, 4, &first), ==, 2);
  g_assert_cmpuint (first, ==, 5);
}

static void
test_snapshot_install_starts_over (void)
{
  g_autoptr(DsmWatchFeed) feed = dsm_watch_feed_new (0);
  DsmWatchFilter all = { .prefix = "" };
  g_autoptr(GPtrArray) out = g_ptr_array_new ();
  guint64 first;

  g_test_summary ("A store that jumped past the feed (a snapshot installed) leaves nothing known below it");
  record (feed, 1, "m", "Init", "Running");
  dsm_watch_feed_sync (feed, 0, 10);
  g_assert_cmpuint (dsm_watch_feed_get_floor (feed), ==, 10);
  g_assert_false (dsm_watch_feed_replay (feed, &all, 0, out));
  /* And an apply that skips ahead does the same. */
  record (feed, 20, "m", "Running", "Stopped");
  g_assert_cmpuint (dsm_watch_feed_get_floor (feed), ==, 19);
  g_assert_cmpuint (replay_count (feed, &all, 19, &first), ==, 1);
  g_assert_cmpuint (first, ==, 20);
}

static void
test_change_owns_packed_strings (void)
{
  char machine[] = "m1", from[] = "Init", to[] = "Running";

  g_test_summary ("A change copies its strings (into its own allocation): changing or freeing the "
                  "caller's afterwards changes nothing; a creation has no from.");
  DsmChange *change = dsm_change_new (7, machine, from, to);
  DsmChange *created = dsm_change_new (8, machine, NULL, to);
  machine[0] = 'x';
  from[0] = 'x';
  to[0] = 'x';
  g_assert_cmpuint (change->revision, ==, 7);
  g_assert_cmpstr (change->machine, ==, "m1");
  g_assert_cmpstr (change->from, ==, "Init");
  g_assert_cmpstr (change->to, ==, "Running");
  g_assert_null (created->from);
  g_assert_cmpstr (created->to, ==, "Running");
  /* Freed without a leak or a bad free (the sanitizer build checks). */
  dsm_change_free (change);
  dsm_change_free (created);
  dsm_change_free (NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/watch/change-owns-packed-strings", test_change_owns_packed_strings);
  g_test_add_func ("/watch/record-changes-only", test_record_changes_only);
  g_test_add_func ("/watch/replay-after-revision", test_replay_after_revision);
  g_test_add_func ("/watch/compaction-raises-floor", test_compaction_raises_floor);
  g_test_add_func ("/watch/snapshot-install-starts-over", test_snapshot_install_starts_over);
  return g_test_run ();
}
