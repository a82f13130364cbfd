/* core/queue.h: a queue of pointers over a growable array, for the
 * in-memory log and the change feed: items are appended at the back, the
 * front is dropped in O(1), and what was dropped is freed a bounded number
 * at a time (dsm_queue_reclaim()) rather than all at once.
 *
 * Why: a node drops the log its snapshot covers in one step, and that log
 * grows with the store (snapshot.c waits until the entries since the last
 * snapshot weigh as much as it did).  Freeing 300,000 entries and their
 * changes in one call held a live node's loop 1.2-1.7 s at a store of a
 * million machines, past the election timeout: an election at every
 * snapshot (docs/BENCHMARKS.md, "Freeing the compacted log in slices").
 *
 * Slots: [0, reclaimed) are NULL, [reclaimed, head) dropped but not yet
 * freed, [head, len) live. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  GPtrArray *slots;
  guint head;
  guint reclaimed;
  GDestroyNotify free_func;
} DsmQueue;

void dsm_queue_init (DsmQueue *queue, GDestroyNotify free_func);
/* Frees every item, live or dropped. */
void dsm_queue_clear (DsmQueue *queue);

static inline guint
dsm_queue_length (const DsmQueue *queue)
{
  return queue->slots->len - queue->head;
}

/* The live items, in order: valid until the queue next changes. */
static inline gpointer *
dsm_queue_items (const DsmQueue *queue)
{
  return queue->slots->pdata + queue->head;
}

static inline gpointer
dsm_queue_get (const DsmQueue *queue, guint i)
{
  g_assert (i < dsm_queue_length (queue));
  return queue->slots->pdata[queue->head + i];
}

/* Items dropped but not yet freed. */
static inline guint
dsm_queue_pending (const DsmQueue *queue)
{
  return queue->head - queue->reclaimed;
}

void dsm_queue_push (DsmQueue *queue, gpointer item);

/* Frees the live items from position @length on, at once (the back of a
 * log is what is not committed yet: bounded by the window of proposals). */
void dsm_queue_truncate (DsmQueue *queue, guint length);

/* Drops the first @n live items in O(1); they are freed by later
 * dsm_queue_reclaim() calls (or dsm_queue_clear()/reset). */
void dsm_queue_drop_front (DsmQueue *queue, guint n);

/* Frees at most @budget dropped items, oldest first.  Returns: how many
 * dropped items are still waiting. */
guint dsm_queue_reclaim (DsmQueue *queue, guint budget);

/* Frees every item, live or dropped, at once: the queue starts empty. */
void dsm_queue_reset (DsmQueue *queue);

G_END_DECLS
