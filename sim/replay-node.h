/* sim/replay-node.h: a recorded real node (core/recording.h) replayed
 * through a fresh core: the same config, seed and durable state, every
 * input in order, and every drain's outputs compared with the digest the
 * node recorded, so an incident on a real node can be stepped through
 * deterministically (docs/SIMULATOR.md, "Replaying a real node"). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint64 inputs;           /* lines fed to the core (drains included) */
  guint64 drains;
  gboolean identical;       /* every drain's outputs matched its digest */
  guint diverged_line;      /* the first drain that did not (0: none) */
  char *diverged;           /* what it recorded and what the replay gave */
  char *end;                /* the recording's "end" reason, or NULL when it stops short */
} DsmReplayNodeReport;

void dsm_replay_node_report_clear (DsmReplayNodeReport *report);

/**
 * dsm_replay_node:
 * @text: a whole recording
 * @trace: (nullable): every input and what the core put out after it,
 *   one JSON line each
 * @report: (out caller-allocates)
 *
 * Returns: FALSE with @error when the recording does not read (the
 * message names the line); otherwise TRUE, and @report says whether the
 * outputs were identical.
 */
gboolean dsm_replay_node (const char *text, gsize length, GString *trace, DsmReplayNodeReport *report,
                          GError **error);

G_END_DECLS
