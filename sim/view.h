/* sim/view.h: one self-contained HTML page drawing a run: a trace (and/or
 * a history) turned into compact JSON and embedded once in a page whose
 * HTML, CSS and script are compiled into the program (docs/SIMULATOR.md,
 * "Seeing a run"). */
#pragma once

#include <glib.h>

#include "check/checker.h"

G_BEGIN_DECLS

/**
 * DsmViewInput:
 * @title: the page's title (nullable: the scenario's name)
 * @trace: (nullable): a trace as `dsm-sim run --trace` writes it; not
 *   necessarily NUL-terminated
 * @history: (nullable): a history file (docs/HISTORY.md); when given its
 *   operations are drawn instead of the trace's
 * @has_finding: a checker failed: @invariant, @failure (nullable) and
 *   @failed_at_ms say which, where and when
 * @verdict_note: (nullable): a line shown when the verdict is not known
 */
typedef struct {
  const char *title;
  const char *trace;
  gsize trace_len;
  const char *history;
  gsize history_len;
  gboolean has_finding;
  DsmInvariant invariant;
  const char *failure;
  guint64 failed_at_ms;
  const char *verdict_note;
} DsmViewInput;

/* What the page holds, as the page itself counts it once drawn. */
typedef struct {
  guint lanes;              /* node lanes */
  guint64 arrows;           /* message copies with a fate: delivered, dropped, corrupted */
  guint64 in_flight;        /* sent, no fate yet when the trace ended (not drawn) */
  guint64 ops;              /* client operations */
  guint64 window_ops;       /* operations the finding names (linearizability window) */
  gsize data_bytes;         /* the embedded JSON */
} DsmViewCounts;

/**
 * dsm_view_render:
 * Appends the whole page to @out.  Input is outside data: a trace line or
 * history line that does not read is a GError naming its line.  For a
 * linearizability finding (or a history whose operations are not
 * linearizable) the smallest window of replies that contradict one another
 * (check/window.h) is computed and highlighted.
 *
 * Returns: FALSE with @error set when the input does not read.
 */
gboolean dsm_view_render (const DsmViewInput *input, GString *out, DsmViewCounts *counts, GError **error);

/**
 * dsm_view_path_for:
 * The page's path for a trace's: TRACE with ".trace" (or ".jsonl") replaced
 * by ".html", else TRACE + ".html".  Returns: (transfer full).
 */
char *dsm_view_path_for (const char *trace_path);

G_END_DECLS
