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
 *
 * With payload_percent, that share of the transitions carry a payload
 * (keys "k0".."k3", an integer or null); with cas_percent, that share of
 * the operations start a read-modify-write: a read, then, once
 * dsm_workload_run_answered() says it was answered ok, this client's next
 * operation is a transition to a legal state from the one read, with
 * if_revision the revision read and the payload {"n": N + 1, "by": ID}
 * (N: the read's data "n", 0 when absent).  These choices draw from a
 * stream of their own ("payload", @client), so a workload without them
 * draws exactly as before.  The payload text is valid until the next call
 * for @client.
 */
void dsm_workload_run_next (DsmWorkloadRun *run, guint client, DsmCommand *cmd);

/**
 * dsm_workload_run_answered:
 * @cmd: the operation workload client @client sent (as run_next gave it)
 * @ok: its final answer was ok
 * @state: (nullable): the state it reported
 * @revision: the machine's revision it reported
 * @data: (nullable): an ok read's data, a JSON object's text
 *
 * Tells the workload how @client's operation ended, for a read-modify-
 * write's second half (dsm_workload_run_next()).
 */
void dsm_workload_run_answered (DsmWorkloadRun *run, guint client, const DsmCommand *cmd, gboolean ok,
                                const char *state, guint64 revision, const char *data);

/* A client saw @machine in @state (a reply): later choices start there.
 * @definition (nullable: the default) names the machine's definition. */
void dsm_workload_run_observe (DsmWorkloadRun *run, const char *machine,
                               const char *definition, const char *state);

/* ---- what a client does with an answer (both backends' clients) ---- */

/* A refusal that changed nothing: the command may simply be sent again. */
gboolean dsm_workload_unchanged (DsmReplyStatus status, DsmRejectReason reason);

/**
 * dsm_workload_retry:
 * @attempts: attempts made so far (>= 1)
 *
 * Whether a workload client sends @cmd again (after retry_delay_ms, to
 * another node) once an attempt ended with @status: on a refusal that
 * changed nothing, and on an unknown outcome when the command is
 * idempotent (a (client id, seq), or a read), while fewer than
 * @retry_attempts retries were made.  The script's client never retries.
 */
gboolean dsm_workload_retry (const DsmCommand *cmd, guint attempts, guint retry_attempts,
                             DsmReplyStatus status, DsmRejectReason reason);

/**
 * dsm_workload_outcome:
 * @maybe_applied: an earlier attempt ended without an answer or unknown
 * Returns: the status the operation's history records for its final
 * answer: a refusal that changed nothing cannot undo an earlier attempt
 * that may have applied, so that leaves the outcome unknown.
 */
DsmReplyStatus dsm_workload_outcome (DsmReplyStatus status, DsmRejectReason reason,
                                     gboolean maybe_applied);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmWorkloadRun, dsm_workload_run_free)

G_END_DECLS
