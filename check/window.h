/* check/window.h: the smallest set of operations that cannot be
 * linearized: a non-linearizable machine's history shrunk, by delta
 * debugging, to the replies that contradict one another (what Knossos
 * and Porcupine show instead of the whole history).  docs/HISTORY.md,
 * "The smallest window", says how it is found and why it is sound. */
#pragma once

#include <glib.h>

#include "config.h"
#include "check/history.h"

G_BEGIN_DECLS

/**
 * DsmWindow:
 * @ops: (element-type DsmHistoryOp): the definite operations whose replies
 *   cannot all be true, by invocation time (copies); every other operation
 *   of the machine is taken as possibly applied, at most once, or never
 * @weakened: how many operations of the machine were made uncertain (a
 *   transition's reply ignored: applied at most once, or never) or, for
 *   reads and refusals, left out
 * @minimal: TRUE when no reply of @ops can be ignored without the rest
 *   becoming linearizable; FALSE when the check budget ran out first
 * @checks: linearizability checks the shrinking ran
 */
typedef struct {
  GPtrArray *ops;
  guint weakened;
  guint machine_ops;
  gboolean minimal;
  guint checks;
  guint64 from_ms;          /* the window: first invocation of @ops ... */
  guint64 to_ms;            /* ... last completion */
} DsmWindow;

void dsm_window_clear (DsmWindow *window);

/**
 * dsm_window_find:
 * @ops: (element-type DsmHistoryOp): a history (any machines, any order)
 *   whose @machine is not linearizable
 * @max_checks: budget of linearizability checks (0: 2000)
 * @window: (out caller-allocates): zeroed or cleared
 *
 * Weakening an operation only widens the set of legal orders, so a
 * history that stays non-linearizable with some replies ignored is
 * non-linearizable because of the replies that remain: those are the
 * window.  Nothing is ever deleted outright (deleting a write could make
 * a read unexplainable that the original history explained).
 *
 * Returns: FALSE when @machine turns out linearizable (or its check
 * inconclusive): there is nothing to shrink.
 */
gboolean dsm_window_find (GPtrArray *ops, DsmConfig *config, const char *machine,
                          guint max_checks, DsmWindow *window);

G_END_DECLS
