/* tests/core/test-queue.c: the queue under the log and the change feed
 * (core/queue.h): O(1) drops from the front, freed a bounded number at a
 * time, never twice and never lost. */
#include "queue.h"

static guint freed;

static void
count_free (gpointer item)
{
  freed++;
  g_free (item);
}

static guint *
item_new (guint value)
{
  guint *item = g_new (guint, 1);
  *item = value;
  return item;
}

/* A fresh queue holding 0..@n-1, the free counter at zero. */
static void
queue_fill (DsmQueue *queue, guint n)
{
  freed = 0;
  dsm_queue_init (queue, count_free);
  for (guint i = 0; i < n; i++)
    dsm_queue_push (queue, item_new (i));
}

static guint
item_at (const DsmQueue *queue, guint i)
{
  return *(const guint *) dsm_queue_get (queue, i);
}

static void
test_drop_then_reclaim (void)
{
  DsmQueue queue;

  g_test_summary ("Dropping the front frees nothing; each reclaim frees at most its budget, "
                  "oldest first, and the live items keep their order and positions.");
  queue_fill (&queue, 100);
  dsm_queue_drop_front (&queue, 70);
  g_assert_cmpuint (freed, ==, 0);
  g_assert_cmpuint (dsm_queue_length (&queue), ==, 30);
  g_assert_cmpuint (dsm_queue_pending (&queue), ==, 70);
  g_assert_cmpuint (item_at (&queue, 0), ==, 70);

  g_assert_cmpuint (dsm_queue_reclaim (&queue, 30), ==, 40);
  g_assert_cmpuint (freed, ==, 30);
  g_assert_cmpuint (dsm_queue_reclaim (&queue, 0), ==, 40);
  g_assert_cmpuint (freed, ==, 30);
  g_assert_cmpuint (dsm_queue_reclaim (&queue, 1000), ==, 0);
  g_assert_cmpuint (freed, ==, 70);
  /* Everything before the live items freed: they moved to the front. */
  g_assert_cmpuint (dsm_queue_length (&queue), ==, 30);
  for (guint i = 0; i < 30; i++)
    g_assert_cmpuint (item_at (&queue, i), ==, 70 + i);
  g_assert_true (dsm_queue_items (&queue)[0] == dsm_queue_get (&queue, 0));

  dsm_queue_clear (&queue);
  g_assert_cmpuint (freed, ==, 100);
}

static void
test_truncate_reset_clear (void)
{
  DsmQueue queue;

  g_test_summary ("Truncating frees the back at once; reset and clear free every item, "
                  "dropped or live, exactly once.");
  queue_fill (&queue, 10);
  dsm_queue_drop_front (&queue, 4);
  dsm_queue_truncate (&queue, 2);
  g_assert_cmpuint (freed, ==, 4);
  g_assert_cmpuint (dsm_queue_length (&queue), ==, 2);
  g_assert_cmpuint (item_at (&queue, 1), ==, 5);
  dsm_queue_reclaim (&queue, 1);
  g_assert_cmpuint (freed, ==, 5);

  dsm_queue_reset (&queue);
  g_assert_cmpuint (freed, ==, 10);
  g_assert_cmpuint (dsm_queue_length (&queue), ==, 0);
  g_assert_cmpuint (dsm_queue_pending (&queue), ==, 0);

  dsm_queue_push (&queue, item_new (42));
  dsm_queue_drop_front (&queue, 1);
  dsm_queue_clear (&queue);
  g_assert_cmpuint (freed, ==, 11);
  dsm_queue_clear (&queue);
  g_assert_cmpuint (freed, ==, 11);
}

static void
test_long_run_stays_bounded (void)
{
  DsmQueue queue;
  guint next = 0, first = 0;

  g_test_summary ("A log's life: append, compact, reclaim a little per input, over many "
                  "cycles; the array never holds more than twice the items not yet freed "
                  "(plus a constant).");
  freed = 0;
  dsm_queue_init (&queue, count_free);
  for (guint cycle = 0; cycle < 200; cycle++)
    {
      for (guint i = 0; i < 97; i++)
        dsm_queue_push (&queue, item_new (next++));
      guint drop = dsm_queue_length (&queue) - 13;
      dsm_queue_drop_front (&queue, drop);
      first += drop;
      for (guint input = 0; input < 5; input++)
        dsm_queue_reclaim (&queue, 32);
      g_assert_cmpuint (item_at (&queue, 0), ==, first);
      g_assert_cmpuint (item_at (&queue, dsm_queue_length (&queue) - 1), ==, next - 1);
      g_assert_cmpuint (freed + dsm_queue_pending (&queue), ==, first);
      g_assert_cmpuint (queue.slots->len, <=, 2 * (dsm_queue_length (&queue) + dsm_queue_pending (&queue)) + 64);
    }
  dsm_queue_clear (&queue);
  g_assert_cmpuint (freed, ==, next);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/queue/drop-then-reclaim", test_drop_then_reclaim);
  g_test_add_func ("/core/queue/truncate-reset-clear", test_truncate_reset_clear);
  g_test_add_func ("/core/queue/long-run-stays-bounded", test_long_run_stays_bounded);
  return g_test_run ();
}
