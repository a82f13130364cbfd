/* tests/net/test-loop-queue.c: the batched hand-off to the consensus loop
 * (net/loop-queue.c): items from other threads run on the loop's context,
 * in order, a bounded batch per dispatch, and a full queue refuses. */
#include "loop-queue.h"

typedef struct {
  GPtrArray *ran;               /* items, in the order run */
  GThread *loop_thread;
  gboolean wrong_thread;
} Seen;

static void
record (gpointer item, gpointer data)
{
  Seen *seen = data;

  if (g_thread_self () != seen->loop_thread)
    seen->wrong_thread = TRUE;
  g_ptr_array_add (seen->ran, item);
}

typedef struct {
  DsmLoopQueue *queue;
  guint first, count;
} Pusher;

static gpointer
push_many (gpointer data)
{
  Pusher *p = data;

  for (guint i = 0; i < p->count; i++)
    g_assert_true (dsm_loop_queue_push (p->queue, GUINT_TO_POINTER (p->first + i)));
  return NULL;
}

static void
test_threads_in_order (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  Seen seen = { g_ptr_array_new (), g_thread_self (), FALSE };
  DsmLoopQueue *q = dsm_loop_queue_new (context, 100000, 64, record, &seen);
  Pusher a = { q, 1, 5000 }, b = { q, 100001, 5000 };
  GThread *ta = g_thread_new ("a", push_many, &a);
  GThread *tb = g_thread_new ("b", push_many, &b);
  DsmLoopQueueStats stats;
  guint next_a = 1, next_b = 100001;

  g_test_summary ("Items pushed from two threads all run on the loop's thread, each thread's in its push "
                  "order, at most batch_max per dispatch, in fewer dispatches than items.");
  g_thread_join (ta);
  g_thread_join (tb);
  for (guint spins = 0; seen.ran->len < 10000 && spins < 100000; spins++)
    g_main_context_iteration (context, FALSE);
  g_assert_cmpuint (seen.ran->len, ==, 10000);
  g_assert_false (seen.wrong_thread);
  for (guint i = 0; i < seen.ran->len; i++)
    {
      guint v = GPOINTER_TO_UINT (seen.ran->pdata[i]);
      if (v > 100000)
        g_assert_cmpuint (v, ==, next_b++);
      else
        g_assert_cmpuint (v, ==, next_a++);
    }
  dsm_loop_queue_get_stats (q, &stats);
  g_assert_cmpuint (stats.items, ==, 10000);
  g_assert_cmpuint (stats.batch_max_seen, <=, 64);
  g_assert_cmpuint (stats.batches, <, 10000);
  g_assert_cmpuint (stats.waiting, ==, 0);
  g_ptr_array_unref (dsm_loop_queue_close (q));
  dsm_loop_queue_free (q);
  g_ptr_array_unref (seen.ran);
}

static void
test_full_and_closed (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  Seen seen = { g_ptr_array_new (), g_thread_self (), FALSE };
  DsmLoopQueue *q = dsm_loop_queue_new (context, 3, 2, record, &seen);
  GPtrArray *left;
  DsmLoopQueueStats stats;

  g_test_summary ("A queue holding max_items refuses the next push; closing hands back what waited, in "
                  "order, and refuses every later push.");
  for (guint i = 1; i <= 3; i++)
    g_assert_true (dsm_loop_queue_push (q, GUINT_TO_POINTER (i)));
  g_assert_false (dsm_loop_queue_push (q, GUINT_TO_POINTER (4)));
  /* One dispatch runs a batch of two; the third still counts as waiting. */
  g_main_context_iteration (context, FALSE);
  g_assert_cmpuint (seen.ran->len, ==, 2);
  g_assert_true (dsm_loop_queue_push (q, GUINT_TO_POINTER (5)));
  g_assert_true (dsm_loop_queue_push (q, GUINT_TO_POINTER (6)));
  g_assert_false (dsm_loop_queue_push (q, GUINT_TO_POINTER (7)));
  left = dsm_loop_queue_close (q);
  g_assert_cmpuint (left->len, ==, 3);
  g_assert_cmpuint (GPOINTER_TO_UINT (left->pdata[0]), ==, 3);
  g_assert_cmpuint (GPOINTER_TO_UINT (left->pdata[2]), ==, 6);
  g_assert_false (dsm_loop_queue_push (q, GUINT_TO_POINTER (8)));
  dsm_loop_queue_get_stats (q, &stats);
  g_assert_cmpuint (stats.refused, ==, 3);
  g_ptr_array_unref (left);
  dsm_loop_queue_free (q);
  g_ptr_array_unref (seen.ran);
}

static void
test_push_many (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  Seen seen = { g_ptr_array_new (), g_thread_self (), FALSE };
  DsmLoopQueue *q = dsm_loop_queue_new (context, 5, 16, record, &seen);
  gpointer items[4] = { GUINT_TO_POINTER (1), GUINT_TO_POINTER (2), GUINT_TO_POINTER (3), GUINT_TO_POINTER (4) };
  gpointer more[3] = { GUINT_TO_POINTER (5), GUINT_TO_POINTER (6), GUINT_TO_POINTER (7) };
  DsmLoopQueueStats stats;

  g_test_summary ("Items pushed together run in one dispatch, in order; past max_items the queue takes the "
                  "front of the array that fits and counts the rest refused; a closed queue takes none.");
  g_assert_cmpuint (dsm_loop_queue_push_many (q, items, 4), ==, 4);
  g_assert_cmpuint (dsm_loop_queue_push_many (q, more, 3), ==, 1);
  g_main_context_iteration (context, FALSE);
  g_assert_cmpuint (seen.ran->len, ==, 5);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpuint (GPOINTER_TO_UINT (seen.ran->pdata[i]), ==, i + 1);
  dsm_loop_queue_get_stats (q, &stats);
  g_assert_cmpuint (stats.batches, ==, 1);
  g_assert_cmpuint (stats.refused, ==, 2);
  g_ptr_array_unref (dsm_loop_queue_close (q));
  g_assert_cmpuint (dsm_loop_queue_push_many (q, more + 1, 2), ==, 0);
  dsm_loop_queue_free (q);
  g_ptr_array_unref (seen.ran);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/loop-queue/threads-in-order", test_threads_in_order);
  g_test_add_func ("/net/loop-queue/full-and-closed", test_full_and_closed);
  g_test_add_func ("/net/loop-queue/push-many", test_push_many);
  return g_test_run ();
}
