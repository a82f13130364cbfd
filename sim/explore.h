/* sim/explore.h: random scenarios drawn from a seed, for exploration:
 * swarm testing (each seed enables its own mix of fault kinds at its own
 * intensities) over a random timed fault schedule and workload. */
#pragma once

#include <glib.h>

#include "scenario/scenario.h"

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
} DsmExploreOptions;

/**
 * dsm_explore_generate:
 * Returns: (transfer full): the scenario for @seed, named "explore-SEED",
 * or NULL with @error if @options->base does not fit (e.g. too many nodes).
 */
DsmScenario *dsm_explore_generate (guint64 seed, const DsmExploreOptions *options, GError **error);

/**
 * dsm_shrink:
 * @seed: the seed the failure needs
 * @invariant: the invariant it violates
 * @attempts: (out) (optional): runs tried
 *
 * Removes steps, workload and nodes from @scenario while the run with
 * @seed still violates @invariant.
 *
 * Returns: (transfer full): the smallest failing scenario found (with
 * @seed as its seed).
 */
DsmScenario *dsm_shrink (const DsmScenario *scenario, guint64 seed, int invariant,
                         int mutant, guint *attempts);

G_END_DECLS
