/* sim/explore-report.h: the machine-readable report of an exploration
 * (one per shard), and merging the shards' reports into the report of
 * the whole run (docs/SIMULATOR.md, "Exploring on many machines"). */
#pragma once

#include <glib.h>

#include "sim.h"

G_BEGIN_DECLS

#define DSM_EXPLORE_REPORT_ERROR (dsm_explore_report_error_quark ())
GQuark dsm_explore_report_error_quark (void);

typedef enum {
  DSM_EXPLORE_REPORT_ERROR_PARSE,      /* a line that is not the report's */
  DSM_EXPLORE_REPORT_ERROR_MISMATCH,   /* shards of different runs */
  DSM_EXPLORE_REPORT_ERROR_INCOMPLETE, /* a shard missing, given twice, or unfinished */
} DsmExploreReportError;

/* Which part of a run a shard explores: shard @k (1 to @n) of the seeds
 * @first .. @first + @seeds - 1, a contiguous block; the blocks of the
 * N shards are disjoint and their union is the whole range. */
void dsm_explore_shard_range (guint64 first, guint64 seeds, guint k, guint n, guint64 *from, guint64 *count);

/* Parses "K/N" (1 <= K <= N <= 1000000). */
gboolean dsm_explore_shard_parse (const char *text, guint *k, guint *n, GError **error);

/* The report's lines, appended to @out: the header (the run: its first
 * seed and count, the shard, the options that change what a seed does),
 * one line per failing seed, and the end (counts, wall time).  A report
 * without its end line is of an unfinished shard. */
void dsm_explore_report_header (GString *out, guint64 first, guint64 seeds, guint k, guint n, guint64 from,
                                guint64 count, const char *options);
void dsm_explore_report_failure (GString *out, guint64 seed, const DsmSimReport *report, const char *scenario_path);
void dsm_explore_report_end (GString *out, guint64 explored, guint64 failed, double wall_s);

/**
 * dsm_explore_report_merge:
 * @texts: (element-type utf8): the shards' reports, in any order
 * @names: (element-type utf8): their file names, for messages
 * @out: the merged report: the header of shard 1/1 over the whole range,
 *   every failure in seed order, the summed end line
 * @failed: (out): failing seeds in all
 *
 * Returns: FALSE with @error when the reports are not the N shards of one
 * run, each once and finished.
 */
gboolean dsm_explore_report_merge (GPtrArray *texts, GPtrArray *names, GString *out, guint64 *failed,
                                   GError **error);

G_END_DECLS
