/* net/loop-queue.h: hands work from any thread to one GMainContext (the
 * consensus loop) in batches: one wake-up for everything queued meanwhile,
 * a bounded queue, and a bounded batch per loop iteration.
 *
 * The HTTP workers push parsed client requests here; the loop runs them
 * (submits commands to the core, renders state) and answers through
 * dsm_http_request_respond(), which hands the answers back to the workers
 * the same way.  A native client protocol would push its requests here too. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _DsmLoopQueue DsmLoopQueue;

/* Runs on the loop's thread, once per item, in push order. */
typedef void (*DsmLoopQueueFunc) (gpointer item, gpointer user_data);

/**
 * dsm_loop_queue_new:
 * @context: the loop's context (referenced)
 * @max_items: items waiting at once; dsm_loop_queue_push() refuses more
 * @batch_max: items run per dispatch before the loop serves its other
 *   sources (timers, peers) again
 * Returns: (transfer full): the queue, attached to @context.
 */
DsmLoopQueue *dsm_loop_queue_new (GMainContext *context, guint max_items, guint batch_max,
                                  DsmLoopQueueFunc func, gpointer user_data);

/* From any thread.  FALSE when the queue is full or closed: the caller
 * keeps @item (and should answer "overloaded"). */
gboolean dsm_loop_queue_push (DsmLoopQueue *queue, gpointer item);

/* From any thread: pushes @items[0..n-1] at once, so the loop takes them
 * in one batch (all of them, or none yet).  Returns how many it took, from
 * the front: the caller keeps the others (the queue is full or closed). */
guint dsm_loop_queue_push_many (DsmLoopQueue *queue, gpointer *items, guint n);

/* On the loop's thread: refuses further pushes and returns the items that
 * were waiting, in order (transfer container). */
GPtrArray *dsm_loop_queue_close (DsmLoopQueue *queue);

/* Counters for metrics, on the loop's thread: items run, dispatches that
 * ran them, refusals, the largest batch, items waiting now. */
typedef struct {
  guint64 items;
  guint64 batches;
  guint64 refused;
  guint64 batch_max_seen;
  guint waiting;
} DsmLoopQueueStats;

void dsm_loop_queue_get_stats (DsmLoopQueue *queue, DsmLoopQueueStats *stats);

/* On the loop's thread, after dsm_loop_queue_close(). */
void dsm_loop_queue_free (DsmLoopQueue *queue);

G_END_DECLS
