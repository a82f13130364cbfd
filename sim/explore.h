/* sim/explore.h: random scenarios drawn from a seed, for exploration:
 * swarm testing (each seed enables its own mix of fault kinds at its own
 * intensities) over a random timed fault schedule and workload. */
#pragma once

#include <glib.h>

#include "scenario/scenario.h"
#include "sim.h"

G_BEGIN_DECLS

typedef struct {
  guint nodes;                 /* 0: from the base, else 5 */
  const DsmScenario *base;     /* nullable: cluster, network, disk and workload to start from */
  gboolean allow_lost_fsync;   /* outside the fault model consensus can survive */
  gboolean no_membership;      /* no membership changes or transfers among the faults */
  gboolean allow_disk_full;    /* disks that fill and get room again, drawn from a stream of
                                * their own: the seed's other faults stay what they were */
  guint attack_percent;        /* seeds (in 100) that also get an attacker: forged, replayed and
                                * spoofed frames from a stream of their own (0: none) */
  gboolean swarm;              /* each seed also draws how hard its faults hit (a swarm
                                * profile, from a stream of its own, named in the summary):
                                * docs/SIMULATOR.md, "Swarm profiles" */
} DsmExploreOptions;

/**
 * dsm_explore_generate:
 * Returns: (transfer full): the scenario for @seed, named "explore-SEED",
 * or NULL with @error if @options->base does not fit (e.g. too many nodes).
 */
DsmScenario *dsm_explore_generate (guint64 seed, const DsmExploreOptions *options, GError **error);

/**
 * dsm_failure_signature:
 * The failure of @report (a run of @scenario that failed) as the shrinker
 * compares it: the invariant, then the kind of violation (the message's
 * first sentence, numbers masked as '#', a step named by what it does
 * rather than its place): "agreement: nodes # and # applied different
 * entries at index # (epochs # and #)".
 *
 * Returns: (transfer full): the signature.
 */
char *dsm_failure_signature (const DsmScenario *scenario, const DsmSimReport *report);

/**
 * dsm_shrink:
 * @seed: the seed the failure needs
 * @signature: its dsm_failure_signature()
 * @max_runs: the budget of candidate runs (0: dsm_shrink_default_runs())
 * @attempts: (out) (optional): runs tried
 *
 * The workload turned into explicit operations, delta debugging over the
 * faults and over the operations, then fewer nodes, then the workload's,
 * network's and disk's numbers towards their floors, keeping an edit only
 * when the run with @seed fails with @signature still
 * (docs/SIMULATOR.md, "Shrinking").  Deterministic.
 *
 * Returns: (transfer full): the smallest such scenario found (with @seed
 * as its seed).
 */
DsmScenario *dsm_shrink (const DsmScenario *scenario, guint64 seed, const char *signature,
                         int mutant, guint max_runs, guint *attempts);

/* The steps of @scenario that are not a client's propose or read: faults,
 * membership changes, waits (what the shrinker's targets count). */
guint dsm_shrink_fault_steps (const DsmScenario *scenario);

/* The budget dsm_shrink() uses when given 0. */
guint dsm_shrink_default_runs (void);

G_END_DECLS
