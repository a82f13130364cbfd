/* net/wake.h: waking a thread's GMainContext from another thread without
 * taking that context's lock: an eventfd the source polls.
 *
 * g_source_set_ready_time() from another thread writes the target
 * context's wake-up fd while holding the context's lock; on 2 vCPUs the
 * woken thread often preempts the writer there and then blocks on that
 * lock, so one hand-off cost three context switches (docs/BENCHMARKS.md,
 * "The hand-offs' lock convoy").  A DsmWake's signal takes no lock. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int fd;                       /* eventfd, non-blocking; -1 before init */
  gpointer tag;                 /* the source's unix fd tag */
} DsmWake;

/**
 * dsm_wake_init:
 * Adds an eventfd to @source (not yet attached, or attached: either), so
 * @source is dispatched when dsm_wake_signal() was called.  The source may
 * recurse (GLib then leaves its fds in the poll set around a dispatch,
 * instead of writing the context's own wake-up fd twice per dispatch).
 * Aborts if the process has no file descriptors left for the eventfd, as
 * GLib does for a context's own wake-up fd.
 */
void dsm_wake_init (DsmWake *wake, GSource *source);

/* From any thread, without locks: the source is dispatched once soon. */
void dsm_wake_signal (DsmWake *wake);

/* In the source's dispatch, before looking for work: consumes the signals,
 * so one sent after this call dispatches the source again. */
void dsm_wake_clear (DsmWake *wake);

/* Closes the eventfd (the source, destroyed or not, must not dispatch
 * again); safe on a wake never initialized. */
void dsm_wake_finish (DsmWake *wake);

G_END_DECLS
