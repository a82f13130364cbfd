/* scenario/workload.h: the operations a scenario's clients issue, as a
 * function of the scenario, the run's seed and the states clients saw.
 *
 * Both backends issue the same operations from it: which machine, read or
 * transition, to which state, with which (client id, seq), and how long a
 * client thinks first.  Delivery (which node, over which hop, retries) is
 * the backend's. */
#pragma once

#include <glib.h>

#include "config.h"
#include "entry.h"
#include "scenario/prng.h"
#include "scenario/scenario.h"

G_BEGIN_DECLS

typedef struct _DsmWorkloadRun DsmWorkloadRun;

/**
 * dsm_workload_run_new:
 * @workload: (transfer none): must outlive the run (the scenario's)
 * @config: (transfer none): resolves machine definitions; must outlive it
 * @seed: the run's seed: client i draws from the stream ("client", i)
 *
 * Returns: (transfer full): the clients of @workload (ids "c0", "c1"...),
 * then one more for the script's own operations (id "script").
 */
DsmWorkloadRun *dsm_workload_run_new (const DsmWorkload *workload, const DsmConfig *config,
                                      guint64 seed);
void dsm_workload_run_free (DsmWorkloadRun *run);

/* Workload clients plus the script's, which is the last. */
guint dsm_workload_run_get_n_clients (const DsmWorkloadRun *run);
const char *dsm_workload_run_get_client_id (const DsmWorkloadRun *run, guint client);

/* The client's random stream, for what its backend decides with it (the
 * simulator picks a node); draws must keep their order for replays. */
DsmPrng *dsm_workload_run_get_prng (DsmWorkloadRun *run, guint client);

/* How long workload client @client waits before its next operation:
 * uniform in [0, 2 * mean), the mean spreading rate_per_s over the clients. */
guint64 dsm_workload_run_think_ms (DsmWorkloadRun *run, guint client);

/**
 * dsm_workload_run_next:
 * @cmd: (out caller-allocates): the operation; its strings are borrowed
 *   from @run and valid until the run is freed
 *
 * The next operation of workload client @client: a read of read_percent
 * of the time, else a transition, mostly a legal one from the state last
 * seen on that machine, sometimes any state (to be rejected).  With an
 * idempotent workload it carries the client id and its next seq.
 */
void dsm_workload_run_next (DsmWorkloadRun *run, guint client, DsmCommand *cmd);

/* A client saw @machine in @state (a reply): later choices start there.
 * @definition (nullable: the default) names the machine's definition. */
void dsm_workload_run_observe (DsmWorkloadRun *run, const char *machine,
                               const char *definition, const char *state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmWorkloadRun, dsm_workload_run_free)

G_END_DECLS
