/* check/logs.h: what the logs of a stopped cluster must show, read back
 * from the nodes' disks: no two nodes hold different entries at a
 * committed index (agreement), and every acknowledged transition sits at
 * the index its answer named on every node that was live at the end
 * (durability).  The real backend's view of what the simulator checks at
 * every apply (docs/CHECKERS.md). */
#pragma once

#include <glib.h>

#include "check/checker.h"
#include "node.h"

G_BEGIN_DECLS

typedef struct {
  DsmNodeId id;
  const DsmDurableState *state;   /* what the node's data directory recovers */
} DsmNodeLog;

/**
 * dsm_logs_check:
 * @logs: (array length=n_logs): the nodes that were live at the end
 * @commit_index: the cluster's commit index at the end: entries past it
 *   may differ (an uncommitted tail), entries up to it may not
 * @history: (element-type DsmHistoryOp): the client history
 * @checked: (out) (optional): acknowledged transitions found at their
 *   index (those a snapshot covers are judged by the final states instead)
 * @invariant: (out): on failure, DSM_INVARIANT_AGREEMENT or _DURABILITY
 * @why: (out) (transfer full): on failure, the nodes, index and entries
 *
 * Returns: TRUE when both hold.
 */
gboolean dsm_logs_check (const DsmNodeLog *logs, guint n_logs, guint64 commit_index,
                         GPtrArray *history, guint *checked, DsmInvariant *invariant, char **why);

G_END_DECLS
