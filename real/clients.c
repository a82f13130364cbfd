/* real/clients.c: the scenario's clients as real HTTP clients, one thread
 * each: what they issue, with which (client id, seq), and how long they
 * think first come from scenario/workload.c, exactly as in the simulator;
 * when they retry from the same rules (dsm_workload_retry).  Each logical
 * operation is one history record, invoked at its first send and
 * completed by its final answer, in milliseconds since the run began.
 *
 *   issue --send--> attempt --ok / rejected / unknown--> done
 *   attempt --refusal that changed nothing, or unknown and idempotent--> pause, another node
 *   retries exhausted --> done (unknown if an attempt may have applied) */
#include "real-private.h"

#include <string.h>

typedef struct {
  DsmReal *real;
  guint client;
  DsmNodeId leader_hint;
} ClientThread;

static void
real_op_free (RealOp *rop)
{
  dsm_command_clear (&rop->cmd);
  g_free (rop);
}

/* How long a client waits for one answer: a node answers within
 * consensus_timeout_ms; the margin covers the rest (as the simulator's
 * clients do). */
static gint64
client_timeout_us (DsmReal *real)
{
  return (gint64) (real->config->consensus_timeout_ms + 2 * real->scenario->network.client_latency_ms_max + 100)
         * 1000;
}

/* Sleeps until @until_us unless the clients must stop; FALSE then. */
static gboolean
client_sleep_until (DsmReal *real, gint64 until_us)
{
  for (;;)
    {
      if (g_atomic_int_get (&real->stop_clients))
        return FALSE;
      gint64 left = until_us - g_get_monotonic_time ();
      if (left <= 0)
        return TRUE;
      g_usleep (MIN (left, REAL_POLL_MS * 1000));
    }
}

/* ---- one operation ---- */

/* Under the lock. */
static RealOp *
op_new (DsmReal *real, guint client, const DsmCommand *cmd, DsmNodeId node, gboolean scripted)
{
  RealOp *rop = g_new0 (RealOp, 1);
  DsmHistoryOp *op = dsm_history_op_new_invoked (real->history->len + 1, client, cmd, real_now_ms (real));

  rop->real = real;
  rop->client = client;
  rop->scripted = scripted;
  rop->node = node;
  dsm_command_init_copy (&rop->cmd, cmd);
  rop->op = op;
  g_ptr_array_add (real->history, op);
  g_ptr_array_add (real->ops, rop);
  real->report.ops++;
  return rop;
}

static void
op_complete (RealOp *rop, DsmReplyStatus status, DsmRejectReason reason, const DsmRealReply *reply)
{
  const char *state = reply->state;
  guint64 index = reply->index;
  DsmReal *real = rop->real;
  DsmHistoryOp *op = rop->op;

  g_mutex_lock (&real->lock);
  op->completed = TRUE;
  op->status = status;
  op->reason = status == DSM_REPLY_OK ? DSM_REJECT_NONE : reason;
  op->state = g_strdup (state);
  op->index = status == DSM_REPLY_OK ? index : 0;
  /* As the simulator's clients record it (sim/clients.c, op_complete). */
  op->has_revision = reply->has_revision && (status == DSM_REPLY_OK || reason == DSM_REJECT_INVALID_TRANSITION);
  op->revision = op->has_revision ? reply->revision : 0;
  if (status == DSM_REPLY_OK && op->op == DSM_OP_READ)
    op->data = g_strdup (reply->data != NULL ? reply->data : "{}");
  op->complete_ms = MAX (real_now_ms (real), op->invoke_ms);
  switch (status)
    {
    case DSM_REPLY_OK:
      real->report.ops_ok++;
      if (op->op == DSM_OP_TRANSITION)
        {
          real->report.commits++;
          real->max_acked_index = MAX (real->max_acked_index, op->index);
          dsm_checker_acked (real->checker, op->complete_ms, op);
        }
      break;
    case DSM_REPLY_REJECTED:
      real->report.ops_rejected++;
      break;
    case DSM_REPLY_UNKNOWN:
    default:
      real->report.ops_unknown++;
      break;
    }
  if (state != NULL && (status == DSM_REPLY_OK || reason == DSM_REJECT_INVALID_TRANSITION))
    dsm_workload_run_observe (real->workload, rop->cmd.machine, rop->cmd.definition, state);
  if (!rop->scripted)
    dsm_workload_run_answered (real->workload, rop->client, &rop->cmd, status == DSM_REPLY_OK, state, op->revision,
                               op->data);
  if (rop->scripted)
    real->scripted_pending--;
  g_mutex_unlock (&real->lock);
  g_atomic_int_set (&rop->done, 1);
}

static DsmNodeId
client_pick_node (ClientThread *ct)
{
  DsmReal *real = ct->real;

  if (real->scenario->workload.target == DSM_WORKLOAD_TARGET_LEADER)
    {
      DsmNodeId hint = ct->leader_hint != DSM_NODE_NONE ? ct->leader_hint : real->leader;
      if (hint != DSM_NODE_NONE)
        return hint;
    }
  return 1 + (DsmNodeId) dsm_prng_range (dsm_workload_run_get_prng (real->workload, ct->client), 0, real->n - 1);
}

/* Sends @rop until it is done: once for the script, with the workload's
 * retries for a client (@ct). */
static void
op_run (RealOp *rop, ClientThread *ct)
{
  DsmReal *real = rop->real;
  DsmNodeId node = rop->node;
  gboolean maybe_applied = FALSE;

  for (guint attempts = 1;; attempts++)
    {
      DsmRealReply reply = { 0 };

      dsm_real_api_command (real->nodes[node].client_port, real->token, &rop->cmd, client_timeout_us (real), &reply);
      if (reply.status == DSM_REPLY_UNKNOWN)
        maybe_applied = TRUE;
      if (ct != NULL && reply.leader_hint >= 1 && reply.leader_hint <= real->n)
        ct->leader_hint = reply.leader_hint;
      if (ct != NULL && !reply.answered && ct->leader_hint == node)
        ct->leader_hint = DSM_NODE_NONE;
      gboolean retry = ct != NULL
                       && dsm_workload_retry (&rop->cmd, attempts, real->config->retry_attempts, reply.status,
                                              reply.reason);
      if (!retry)
        {
          op_complete (rop, dsm_workload_outcome (reply.status, reply.reason, maybe_applied), reply.reason, &reply);
          dsm_real_reply_clear (&reply);
          return;
        }
      dsm_real_reply_clear (&reply);
      if (!client_sleep_until (real, g_get_monotonic_time () + (gint64) real->config->retry_delay_ms * 1000))
        return;  /* the run ended: the operation stays pending */
      /* Another node, as a client with a list of endpoints does. */
      g_mutex_lock (&real->lock);
      DsmNodeId next = client_pick_node (ct);
      g_mutex_unlock (&real->lock);
      if (next == node && real->n > 1)
        next = next % real->n + 1;
      node = next;
    }
}

/* ---- workload clients ---- */

static gpointer
client_thread (gpointer data)
{
  ClientThread *ct = data;
  DsmReal *real = ct->real;
  const DsmWorkload *w = &real->scenario->workload;

  for (;;)
    {
      DsmCommand cmd;

      g_mutex_lock (&real->lock);
      guint64 think = dsm_workload_run_think_ms (real->workload, ct->client);
      g_mutex_unlock (&real->lock);
      guint64 at = MAX (real_now_ms (real), w->start_ms) + think;
      if (at >= real->workload_end_ms || !client_sleep_until (real, real->start_us + (gint64) at * 1000))
        break;
      /* What to issue is the scenario's; where to send it is ours, drawn
       * after it from the same stream. */
      g_mutex_lock (&real->lock);
      dsm_workload_run_next (real->workload, ct->client, &cmd);
      RealOp *rop = op_new (real, ct->client, &cmd, client_pick_node (ct), FALSE);
      g_mutex_unlock (&real->lock);
      op_run (rop, ct);
      if (!g_atomic_int_get (&rop->done))
        break;
    }
  g_free (ct);
  return NULL;
}

void
real_clients_start (DsmReal *real)
{
  real->ops = g_ptr_array_new_with_free_func ((GDestroyNotify) real_op_free);
  real->threads = g_ptr_array_new ();
  for (guint i = 0; i < real->scenario->workload.clients; i++)
    {
      ClientThread *ct = g_new0 (ClientThread, 1);
      g_autofree char *name = g_strdup_printf ("dsm-client-%u", i);
      ct->real = real;
      ct->client = i;
      g_mutex_lock (&real->lock);
      g_ptr_array_add (real->threads, g_thread_new (name, client_thread, ct));
      g_mutex_unlock (&real->lock);
    }
}

/* ---- the script's client ---- */

static gpointer
scripted_thread (gpointer data)
{
  op_run (data, NULL);
  return NULL;
}

RealOp *
real_clients_issue_scripted (DsmReal *real, const DsmCommand *cmd, DsmNodeId node)
{
  g_mutex_lock (&real->lock);
  RealOp *rop = op_new (real, real->scenario->workload.clients, cmd, node, TRUE);
  real->scripted_pending++;
  g_ptr_array_add (real->threads, g_thread_new ("dsm-script-op", scripted_thread, rop));
  g_mutex_unlock (&real->lock);
  return rop;
}

guint
real_clients_pending (DsmReal *real)
{
  guint pending = 0;

  g_mutex_lock (&real->lock);
  for (guint i = 0; i < real->ops->len; i++)
    pending += !g_atomic_int_get (&((RealOp *) real->ops->pdata[i])->done);
  g_mutex_unlock (&real->lock);
  return pending;
}

void
real_clients_join (DsmReal *real)
{
  g_atomic_int_set (&real->stop_clients, 1);
  for (;;)
    {
      g_mutex_lock (&real->lock);
      GThread *thread = real->threads->len > 0 ? g_ptr_array_steal_index (real->threads, 0) : NULL;
      g_mutex_unlock (&real->lock);
      if (thread == NULL)
        break;
      g_thread_join (thread);
    }
}

DsmNodeId
real_pick_live (DsmReal *real, gboolean followers_only)
{
  DsmNodeId candidates[DSM_MAX_NODES];
  DsmNodeId leader = followers_only ? real_leader (real, NULL) : DSM_NODE_NONE;
  guint n = 0;

  for (guint id = 1; id <= real->n; id++)
    if (real_node_running (real, &real->nodes[id]) && id != leader && n < DSM_MAX_NODES)
      candidates[n++] = id;
  if (n == 0)
    return DSM_NODE_NONE;
  return candidates[dsm_prng_range (&real->fault_prng, 0, n - 1)];
}
