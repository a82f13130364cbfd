/* check/linearizability.h: checks that a client history is linearizable
 * against the sequential specification of the machine definitions:
 * a Wing & Gong search with Lowe's memoization, one machine instance at a
 * time (operations on different instances commute).  docs/CHECKERS.md
 * states the specification. */
#pragma once

#include <glib.h>

#include "config.h"
#include "check/history.h"

G_BEGIN_DECLS

/**
 * DsmLinearizabilityResult:
 * Filled by dsm_linearizability_check(); start from `{ 0 }` and release
 * with dsm_linearizability_result_clear().
 *
 * @explanation is NULL when every instance passed.  For a violation it
 * names the first reply that cannot be explained and the operations around
 * it (ids, clients, times, requested and reported states): the longest
 * legal order found and why no operation can come next.  It does not
 * repeat the instance's name, which is @machine.
 */
typedef struct {
  gboolean linearizable;
  gboolean inconclusive;    /* a machine's search passed max_states */
  char *machine;            /* the first machine that failed (or was inconclusive) */
  char *explanation;        /* which operations cannot be ordered, and why */
  guint64 states_explored;  /* search points cached, over every search run */
  guint machines_checked;
  guint ops_checked;        /* ops kept (not left out as below) */
} DsmLinearizabilityResult;

void dsm_linearizability_result_clear (DsmLinearizabilityResult *result);

/**
 * dsm_linearizability_check:
 * @ops: (element-type DsmHistoryOp): the history, in any order
 * @config: supplies the definitions (and the default one)
 * @max_states: search budget per machine (0: default 10 million)
 * @result: (out caller-allocates): zeroed or cleared; filled in
 *
 * Sequential specification (per machine, starting at its definition's
 * initial state S):
 *  - transition to T (from F): legal when F (if set) == S and the
 *    definition allows S -> T.  OK requires legal, then S := T and the
 *    reported state is T.  REJECTED/INVALID_TRANSITION requires not legal
 *    and the reported state is S.  UNKNOWN or not completed: either
 *    S := T (when legal) or no effect.
 *  - read: OK reports S.
 *  - anything REJECTED for another reason, and reads not OK, had no effect
 *    and observed nothing: they are left out.
 *
 * Definitions follow core/store.c: an op uses the definition it names,
 * else the instance's, else the config's default.  Until a transition
 * takes effect the instance is untouched: a read reports the initial state
 * of the definition it uses, and the first transition to take effect fixes
 * the instance's definition.  An op naming another definition (or one the
 * config lacks), or a state its definition lacks, would have been a
 * bad_request: it can be neither OK nor INVALID_TRANSITION, and if unknown
 * it had no effect.  A reported state is optional (NULL checks nothing),
 * except that an OK read without one is left out.
 *
 * Real time: op A precedes op B when A.complete_ms < B.invoke_ms; equal
 * times are concurrent.  UNKNOWN and not completed ops never complete (they
 * return at +infinity).
 *
 * A machine whose search passes @max_states cached points is
 * inconclusive: it counts as passing, and @result says so (a violation on
 * another machine still fails the check and is the one named).
 *
 * Returns: TRUE when every machine's history is linearizable (or the
 * search was inconclusive, which @result says).
 */
gboolean dsm_linearizability_check (GPtrArray *ops, DsmConfig *config, guint64 max_states,
                                    DsmLinearizabilityResult *result);

/* Fills @ops (empty) with the ops of instance @machine, in history order. */
typedef void (*DsmLinearizabilityOpsFunc) (const char *machine, GPtrArray *ops, gpointer user_data);

/**
 * dsm_linearizability_check_each:
 * @machines: every instance the history names, sorted by strcmp()
 * @get_ops: hands over one instance's ops at a time; they need to stay
 *   valid only until the next call
 *
 * The same check, the same verdict and the same @result as
 * dsm_linearizability_check() over the whole history, for a caller that
 * keeps the history in a form of its own and hands it over one instance
 * at a time (the simulator: check/history-pack.h), so that only one
 * instance's ops are ever whole at once.  The caller promises that no two
 * transitions of the history share a (client id, seq) pair, so there are
 * no copies to merge (dsm_linearizability_check() merges them first, even
 * across instances); copies within one instance are a bug caught here.
 *
 * Returns: TRUE when every machine's history is linearizable (or the
 * search was inconclusive, which @result says).
 */
gboolean dsm_linearizability_check_each (const char *const *machines, guint n_machines,
                                         DsmLinearizabilityOpsFunc get_ops, gpointer user_data,
                                         DsmConfig *config, guint64 max_states,
                                         DsmLinearizabilityResult *result);

G_END_DECLS
