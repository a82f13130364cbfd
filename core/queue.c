/* core/queue.c: see queue.h. */
#include "queue.h"

#include <string.h>

static void
queue_check (const DsmQueue *queue)
{
  g_assert (queue->reclaimed <= queue->head);
  g_assert (queue->head <= queue->slots->len);
}

void
dsm_queue_init (DsmQueue *queue, GDestroyNotify free_func)
{
  g_assert (free_func != NULL);
  queue->slots = g_ptr_array_new ();
  queue->head = 0;
  queue->reclaimed = 0;
  queue->free_func = free_func;
}

void
dsm_queue_reset (DsmQueue *queue)
{
  queue_check (queue);
  for (guint i = queue->reclaimed; i < queue->slots->len; i++)
    queue->free_func (queue->slots->pdata[i]);
  g_ptr_array_set_size (queue->slots, 0);
  queue->head = 0;
  queue->reclaimed = 0;
}

void
dsm_queue_clear (DsmQueue *queue)
{
  if (queue->slots == NULL)
    return;
  dsm_queue_reset (queue);
  g_ptr_array_unref (g_steal_pointer (&queue->slots));
}

/* Moves the items not yet freed (dropped and live) to the array's start
 * once the freed slots before them are at least half the array, so
 * dropping the front costs amortised O(1) per item. */
static void
queue_repack (DsmQueue *queue)
{
  if (queue->reclaimed < 64 || queue->reclaimed < queue->slots->len / 2)
    return;
  guint kept = queue->slots->len - queue->reclaimed;
  memmove (queue->slots->pdata, queue->slots->pdata + queue->reclaimed, kept * sizeof (gpointer));
  /* The array has no free function: shrinking it frees nothing. */
  g_ptr_array_set_size (queue->slots, kept);
  queue->head -= queue->reclaimed;
  queue->reclaimed = 0;
  queue_check (queue);
}

void
dsm_queue_push (DsmQueue *queue, gpointer item)
{
  g_assert (item != NULL);
  g_ptr_array_add (queue->slots, item);
}

void
dsm_queue_truncate (DsmQueue *queue, guint length)
{
  g_assert (length <= dsm_queue_length (queue));
  for (guint i = queue->head + length; i < queue->slots->len; i++)
    queue->free_func (queue->slots->pdata[i]);
  g_ptr_array_set_size (queue->slots, queue->head + length);
  queue_check (queue);
}

void
dsm_queue_drop_front (DsmQueue *queue, guint n)
{
  g_assert (n <= dsm_queue_length (queue));
  queue->head += n;
  queue_check (queue);
}

guint
dsm_queue_reclaim (DsmQueue *queue, guint budget)
{
  guint end = queue->reclaimed + MIN (budget, dsm_queue_pending (queue));

  for (guint i = queue->reclaimed; i < end; i++)
    {
      queue->free_func (queue->slots->pdata[i]);
      queue->slots->pdata[i] = NULL;
    }
  queue->reclaimed = end;
  queue_check (queue);
  queue_repack (queue);
  return dsm_queue_pending (queue);
}
