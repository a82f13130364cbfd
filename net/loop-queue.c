/* net/loop-queue.c: the batched hand-off of work to the consensus loop
 * (loop-queue.h): a mutex-guarded array swapped out whole by the loop. */
#include "loop-queue.h"

#include "wake.h"

struct _DsmLoopQueue {
  GSource source;               /* first: the queue is its own GSource */
  DsmWake wake;                 /* pushers signal it, without the context's lock */
  DsmLoopQueueFunc func;
  gpointer user_data;
  guint max_items;
  guint batch_max;

  GMutex lock;
  GPtrArray *items;             /* waiting, oldest first */
  gint outstanding;             /* atomic: pushed and not yet run (items + the rest of running) */
  gboolean closed;
  guint64 refused;

  GPtrArray *running;           /* taken by the loop; only the loop touches it */
  guint running_at;
  guint64 run;
  guint64 batches;
  guint64 batch_max_seen;
};

static gboolean
queue_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  DsmLoopQueue *q = (DsmLoopQueue *) source;
  guint ran = 0;

  /* Reset before taking: an item pushed after the swap finds the queue
   * empty and signals again, so none waits unseen.  (The ready time is
   * only ever set by the loop itself, below.) */
  dsm_wake_clear (&q->wake);
  g_source_set_ready_time (source, -1);
  if (q->running_at >= q->running->len)
    {
      g_ptr_array_set_size (q->running, 0);
      q->running_at = 0;
      g_mutex_lock (&q->lock);
      GPtrArray *taken = q->items;
      q->items = q->running;
      q->running = taken;
      g_mutex_unlock (&q->lock);
    }
  while (q->running_at < q->running->len && ran < q->batch_max)
    {
      gpointer item = q->running->pdata[q->running_at];
      q->running->pdata[q->running_at++] = NULL;
      g_atomic_int_dec_and_test (&q->outstanding);
      q->func (item, q->user_data);
      ran++;
    }
  if (ran > 0)
    {
      q->run += ran;
      q->batches++;
      q->batch_max_seen = MAX (q->batch_max_seen, ran);
    }
  /* More than one batch's worth: the rest on the next iteration, after
   * the loop's timers and peers had their turn. */
  if (q->running_at < q->running->len)
    g_source_set_ready_time (source, 0);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs queue_funcs = { .dispatch = queue_dispatch };

DsmLoopQueue *
dsm_loop_queue_new (GMainContext *context, guint max_items, guint batch_max, DsmLoopQueueFunc func,
                    gpointer user_data)
{
  DsmLoopQueue *q;

  g_return_val_if_fail (max_items >= 1, NULL);
  g_return_val_if_fail (batch_max >= 1, NULL);
  g_return_val_if_fail (func != NULL, NULL);

  q = (DsmLoopQueue *) g_source_new (&queue_funcs, sizeof (DsmLoopQueue));
  g_source_set_name (&q->source, "dsm-loop-queue");
  g_source_set_priority (&q->source, G_PRIORITY_DEFAULT);
  q->func = func;
  q->user_data = user_data;
  q->max_items = max_items;
  q->batch_max = batch_max;
  g_mutex_init (&q->lock);
  q->items = g_ptr_array_new ();
  q->running = g_ptr_array_new ();
  dsm_wake_init (&q->wake, &q->source);
  g_source_attach (&q->source, context);
  return q;
}

gboolean
dsm_loop_queue_push (DsmLoopQueue *q, gpointer item)
{
  gboolean was_empty;

  g_return_val_if_fail (item != NULL, FALSE);

  g_mutex_lock (&q->lock);
  if (q->closed || (guint) g_atomic_int_get (&q->outstanding) >= q->max_items)
    {
      q->refused++;
      g_mutex_unlock (&q->lock);
      return FALSE;
    }
  was_empty = q->items->len == 0;
  g_ptr_array_add (q->items, item);
  g_atomic_int_inc (&q->outstanding);
  g_mutex_unlock (&q->lock);
  /* One wake-up per batch: items pushed before the loop runs ride on it. */
  if (was_empty)
    dsm_wake_signal (&q->wake);
  return TRUE;
}

guint
dsm_loop_queue_push_many (DsmLoopQueue *q, gpointer *items, guint n)
{
  gboolean was_empty;
  guint room, taken;

  g_mutex_lock (&q->lock);
  room = q->closed ? 0 : q->max_items - MIN (q->max_items, (guint) g_atomic_int_get (&q->outstanding));
  taken = MIN (n, room);
  was_empty = q->items->len == 0;
  for (guint i = 0; i < taken; i++)
    {
      g_assert (items[i] != NULL);
      g_ptr_array_add (q->items, items[i]);
    }
  g_atomic_int_add (&q->outstanding, (gint) taken);
  q->refused += n - taken;
  g_mutex_unlock (&q->lock);
  if (was_empty && taken > 0)
    dsm_wake_signal (&q->wake);
  return taken;
}

GPtrArray *
dsm_loop_queue_close (DsmLoopQueue *q)
{
  GPtrArray *left = g_ptr_array_new ();

  for (guint i = q->running_at; i < q->running->len; i++)
    g_ptr_array_add (left, q->running->pdata[i]);
  g_ptr_array_set_size (q->running, 0);
  q->running_at = 0;
  g_mutex_lock (&q->lock);
  q->closed = TRUE;
  g_atomic_int_set (&q->outstanding, 0);
  for (guint i = 0; i < q->items->len; i++)
    g_ptr_array_add (left, q->items->pdata[i]);
  g_ptr_array_set_size (q->items, 0);
  g_mutex_unlock (&q->lock);
  return left;
}

void
dsm_loop_queue_get_stats (DsmLoopQueue *q, DsmLoopQueueStats *stats)
{
  g_mutex_lock (&q->lock);
  stats->refused = q->refused;
  stats->waiting = (guint) g_atomic_int_get (&q->outstanding);
  g_mutex_unlock (&q->lock);
  stats->items = q->run;
  stats->batches = q->batches;
  stats->batch_max_seen = q->batch_max_seen;
}

void
dsm_loop_queue_free (DsmLoopQueue *q)
{
  if (q == NULL)
    return;
  g_return_if_fail (q->closed);
  g_assert (q->items->len == 0);
  g_source_destroy (&q->source);
  dsm_wake_finish (&q->wake);
  g_ptr_array_unref (q->items);
  g_ptr_array_unref (q->running);
  g_mutex_clear (&q->lock);
  g_source_unref (&q->source);
}
