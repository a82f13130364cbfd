/* real/real.h: one scenario run on real dsm-node processes on loopback,
 * in real time: the simulator's mirror image (sim/sim.h).  Faults come
 * from the proxy between the nodes (proxy.h), signals and the nodes' data
 * directories; the workload from real HTTP clients with the scenario's
 * client ids and sequence numbers (scenario/workload.h); the verdict from
 * the same checkers (check/).  Faults that cannot be made real are
 * skipped, each kind with its reason.  docs/OPERATIONS.md, "Two
 * backends", tells how each step maps. */
#pragma once

#include <glib.h>

#include "check/checker.h"
#include "real/proxy.h"
#include "scenario/scenario.h"

G_BEGIN_DECLS

typedef struct _DsmReal DsmReal;

/* One line of the run's report, as it happens ("t=2013 ms steps[3] crash
 * leader: node 2 killed (SIGKILL)"). */
typedef void (*DsmRealLogFunc) (const char *line, gpointer user_data);

typedef struct {
  const char *node_path;      /* the dsm-node binary */
  const char *work_dir;       /* nullable: a new temporary folder */
  gboolean keep;              /* keep the folder (config, data, logs) after the run */
  gboolean has_seed;          /* run with @seed instead of the scenario's */
  guint64 seed;
  guint64 timeout_ms;         /* 0: the scenario's own bound (see dsm_real_bound_ms) */
  DsmRealLogFunc log;         /* nullable */
  gpointer log_data;
  const volatile gint *stop;  /* nullable: set non-zero (a signal) to end the run now */
  gboolean record;            /* every node records its core's inputs (dsm-node --record) to
                               * nodeN.rec in the run's folder */
} DsmRealOptions;

typedef struct {
  gboolean ok;
  DsmInvariant failed_invariant;
  char *failure;
  guint64 failed_at_ms;
  guint64 seed;
  guint64 wall_ms;            /* from the first node's start to the verdict */
  guint64 ops;
  guint64 ops_ok;
  guint64 ops_rejected;
  guint64 ops_unknown;
  guint64 commits;            /* transitions acknowledged */
  guint64 entries_committed;  /* the leader's commit index at the end */
  guint64 elections;          /* elections won, from the nodes' logs */
  guint64 retries;            /* Proposal resends, from the nodes' metrics */
  guint64 snapshots_installed;
  guint64 invalid_messages;   /* undecodable messages and refused frames */
  guint64 crashes;
  guint64 longest_unavailable_ms;
  char **skipped;             /* "kind: reason", one per fault kind skipped (NULL-terminated) */
  guint n_skipped_steps;
  DsmProxyStats proxy;
  char *work_dir;             /* when kept */
} DsmRealReport;

void dsm_real_report_clear (DsmRealReport *report);

/* Returns: (transfer full).  @scenario is copied. */
DsmReal *dsm_real_new (const DsmScenario *scenario, const DsmRealOptions *options);

/* Runs to the end (or the first violation, or the bound) and fills
 * @report.  Every process it started is gone when it returns. */
void dsm_real_run (DsmReal *real, DsmRealReport *report);

/* Appends the run's history file (docs/HISTORY.md): header, operations,
 * and the final states of the live nodes. */
void dsm_real_write_history (DsmReal *real, GString *out);

/* Kills whatever still runs and removes the folder (unless kept). */
void dsm_real_free (DsmReal *real);

/* The longest a run of @scenario may take before it fails liveness. */
guint64 dsm_real_bound_ms (const DsmScenario *scenario);

/**
 * dsm_real_skip_reason:
 * Returns: (nullable): why @step cannot be made real (a sentence), or NULL
 * when the real backend runs it.
 */
const char *dsm_real_skip_reason (const DsmStep *step);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmReal, dsm_real_free)

G_END_DECLS
