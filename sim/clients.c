/* sim/clients.c: the simulated clients: the workload's (each with one
 * operation in flight at a time, at the scenario's rate) and the script's
 * (its propose and read steps).  A client sends to a node over a modelled
 * hop, waits up to its own timeout, retries "unknown" outcomes with the
 * same (client id, seq) and rejections that changed nothing, and records
 * each logical operation in the history.
 *
 *   issue --send--> in flight --reply ok/rejected--> done
 *   in flight --unknown, not leader, timeout--> retry wait --> in flight
 *   retries exhausted --> done (unknown if any attempt may have applied) */
#include "sim-private.h"

#include <string.h>

ClientOp *
clients_op_ref (ClientOp *co)
{
  g_assert (co->refs > 0);
  co->refs++;
  return co;
}

void
clients_op_unref (ClientOp *co)
{
  g_assert (co->refs > 0);
  if (--co->refs > 0)
    return;
  /* Nothing refers to it any more: no event, no request, no client. */
  g_assert (co->timer == NULL);
  g_free (co); /* its command's strings with it (clients_issue()) */
}

/* DsmSim.requests is keyed by the request id itself, held in the
 * pointer: no allocation per attempt.  Ids count up from 1 in a run. */
static gpointer
request_key (guint64 request_id)
{
  g_assert ((guint64) (gsize) request_id == request_id);
  return GSIZE_TO_POINTER ((gsize) request_id);
}

/* Takes the requests table's entry for @request_id out, with its
 * reference (NULL: none). */
static ClientOp *
clients_take_request (DsmSim *sim, guint64 request_id)
{
  gpointer co = NULL;

  if (!g_hash_table_steal_extended (sim->requests, request_key (request_id), NULL, &co))
    return NULL;
  return co;
}

void
clients_init (DsmSim *sim)
{
  const DsmWorkload *w = &sim->scenario->workload;

  sim->ops = g_ptr_array_new_with_free_func ((GDestroyNotify) clients_op_unref);
  sim->requests = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) clients_op_unref);
  sim->workload = dsm_workload_run_new (w, sim->config, sim->seed);
  sim->n_clients = dsm_workload_run_get_n_clients (sim->workload); /* the last is the script's */
  g_assert (sim->n_clients == w->clients + 1);
  sim->clients = g_new0 (Client, sim->n_clients);
  for (guint i = 0; i < sim->n_clients; i++)
    sim->clients[i].index = i;
  sim->workload_end_ms = w->clients > 0 ? w->start_ms + w->duration_ms : 0;
}

void
clients_clear (DsmSim *sim)
{
  for (guint i = 0; i < sim->n_clients; i++)
    g_clear_pointer (&sim->clients[i].current, clients_op_unref);
  g_free (sim->clients);
  g_hash_table_unref (sim->requests);
  g_ptr_array_unref (sim->ops);
  dsm_workload_run_free (sim->workload);
}

guint
clients_pending (DsmSim *sim)
{
  guint pending = sim->scripted_pending;

  for (guint i = 0; i < sim->n_clients; i++)
    if (sim->clients[i].current != NULL)
      pending++;
  return pending;
}

static void
op_cancel_timer (DsmSim *sim, ClientOp *co)
{
  if (co->timer != NULL)
    sim_unschedule (sim, co->timer);
  co->timer = NULL;
}

/* ---- one attempt ---- */

static guint64
client_timeout_ms (DsmSim *sim)
{
  /* A node answers within consensus_timeout_ms; the hops and a margin
   * cover the rest.  Past this, the node is presumed down. */
  return sim->config->consensus_timeout_ms + 2 * sim->scenario->network.client_latency_ms_max + 100;
}

static void
client_send (DsmSim *sim, ClientOp *co, DsmNodeId node)
{
  co->attempts++;
  co->request_id = ++sim->next_request_id;
  co->node = node;
  g_hash_table_insert (sim->requests, request_key (co->request_id), clients_op_ref (co));

  Event *arrive = sim_event_new (sim, EV_CLIENT_ARRIVE, sim->now_ms + dsm_sim_net_client_latency (sim->net));
  arrive->node = node;
  arrive->op = clients_op_ref (co);
  arrive->request_id = co->request_id;
  sim_schedule (sim, arrive);

  g_assert (co->timer == NULL);
  co->timer = sim_event_new (sim, EV_CLIENT_TIMER, sim->now_ms + client_timeout_ms (sim));
  co->timer->op = clients_op_ref (co);
  co->timer->request_id = co->request_id;
  sim_schedule (sim, co->timer);
  if (co->attempts > 1)
    trace_op (sim, "retry", co);
}

static DsmNodeId
client_pick_node (DsmSim *sim, Client *c)
{
  if (sim->scenario->workload.target == DSM_WORKLOAD_TARGET_LEADER && c->leader_hint != DSM_NODE_NONE)
    return c->leader_hint;
  return 1 + (DsmNodeId) dsm_prng_range (dsm_workload_run_get_prng (sim->workload, c->index), 0,
                                         sim->n - 1);
}

ClientOp *
clients_issue (DsmSim *sim, guint client, const DsmCommand *cmd, DsmNodeId node, gboolean scripted)
{
  /* The command's strings live after the op, in its allocation. */
  gsize strings_size = dsm_command_strings_size (cmd);
  ClientOp *co = g_malloc0 (sizeof (ClientOp) + strings_size);
  co->refs = 1; /* the client's: DsmSim.ops for a scripted op, Client.current otherwise */
  DsmHistoryOp *op = dsm_history_op_new_interned ((guint64) dsm_history_pack_get_len (sim->history) + 1, client,
                                                  cmd, sim->now_ms, sim->names);

  co->client = client;
  co->scripted = scripted;
  co->first_new = dsm_checker_get_committed (sim->checker) + 1;
  dsm_command_init_packed (&co->cmd, cmd, (char *) (co + 1), strings_size);
  dsm_checker_submitted (sim->checker, cmd);
  co->op = op;
  dsm_history_pack_add (sim->history, op);
  if (scripted && cmd->op == DSM_OP_TRANSITION && cmd->client_id != NULL)
    sim->history_copies = TRUE;
  sim->report.ops++;
  if (scripted)
    {
      g_ptr_array_add (sim->ops, co);
      sim->scripted_pending++;
    }
  co->node = node; /* for the trace: the node the first attempt goes to */
  trace_op (sim, "invoke", co);
  client_send (sim, co, node);
  return co;
}

/* ---- the workload ---- */

static void
workload_schedule_next (DsmSim *sim, Client *c)
{
  const DsmWorkload *w = &sim->scenario->workload;
  guint64 think = dsm_workload_run_think_ms (sim->workload, c->index);
  guint64 at = MAX (sim->now_ms, w->start_ms) + think;

  if (at >= sim->workload_end_ms)
    return;
  Event *ev = sim_event_new (sim, EV_CLIENT_NEXT, at);
  ev->client = c->index;
  sim_schedule (sim, ev);
}

void
clients_start (DsmSim *sim)
{
  for (guint i = 0; i + 1 < sim->n_clients; i++)
    workload_schedule_next (sim, &sim->clients[i]);
}

static void
workload_next (DsmSim *sim, Client *c)
{
  DsmCommand cmd;

  g_assert (c->current == NULL);
  /* What to issue is the scenario's; where to send it is ours, drawn
   * after it from the same stream. */
  dsm_workload_run_next (sim->workload, c->index, &cmd);
  c->current = clients_issue (sim, c->index, &cmd, client_pick_node (sim, c), FALSE);
}

/* ---- outcomes ---- */

/* @reply: NULL when the client gave up waiting. */
static void
op_complete (DsmSim *sim, ClientOp *co, DsmReplyStatus status, DsmRejectReason reason,
             const DsmClientReply *reply)
{
  DsmHistoryOp *op = co->op;
  const char *state = reply != NULL ? reply->state : NULL;

  status = dsm_workload_outcome (status, reason, co->maybe_applied);
  op->completed = TRUE;
  op->status = status;
  op->reason = reason;
  g_assert (op->names_interned);
  op->state = (char *) dsm_names_intern (sim->names, state);
  op->index = reply != NULL ? reply->index : 0;
  /* The revision a reply names is the machine's: after an ok transition,
   * current for a read or a refused one (docs/API.md). */
  op->has_revision = reply != NULL && (status == DSM_REPLY_OK || reason == DSM_REJECT_INVALID_TRANSITION);
  op->revision = op->has_revision ? reply->revision : 0;
  if (status == DSM_REPLY_OK && op->op == DSM_OP_READ)
    op->data = g_strdup (reply->data != NULL ? reply->data : "{}");
  op->complete_ms = sim->now_ms;
  co->done = TRUE;
  co->request_id = 0;
  op_cancel_timer (sim, co);
  if (co->scripted)
    sim->scripted_pending--;
  trace_op (sim, "complete", co);

  switch (status)
    {
    case DSM_REPLY_OK:
      sim->report.ops_ok++;
      if (op->op == DSM_OP_TRANSITION)
        {
          sim->report.commits++;
          sim->max_acked_index = MAX (sim->max_acked_index, op->index);
          dsm_checker_acked (sim->checker, sim->now_ms, op);
        }
      break;
    case DSM_REPLY_REJECTED:
      sim->report.ops_rejected++;
      break;
    case DSM_REPLY_UNKNOWN:
    default:
      sim->report.ops_unknown++;
      break;
    }
  if (state != NULL && (status == DSM_REPLY_OK || reason == DSM_REJECT_INVALID_TRANSITION))
    dsm_workload_run_observe (sim->workload, co->cmd.machine, co->cmd.definition, state);
  if (!co->scripted)
    dsm_workload_run_answered (sim->workload, co->client, &co->cmd, status == DSM_REPLY_OK, state, op->revision,
                               op->data);

  if (!co->scripted)
    {
      Client *c = &sim->clients[co->client];
      /* Done: nothing changes the record again (a late answer to an
       * earlier attempt finds co->done), so it is packed.  A scripted op
       * stays whole: the script reads its reply. */
      dsm_history_pack_seal (sim->history, op->id);
      co->op = NULL;
      g_assert (c->current == co);
      c->current = NULL;
      workload_schedule_next (sim, c);
      clients_op_unref (co); /* the client's; the caller's event still holds one */
    }
}

static void
op_retry_later (DsmSim *sim, ClientOp *co)
{
  co->request_id = 0;
  op_cancel_timer (sim, co);
  co->timer = sim_event_new (sim, EV_CLIENT_TIMER, sim->now_ms + sim->config->retry_delay_ms);
  co->timer->op = clients_op_ref (co);
  co->timer->request_id = 0; /* a retry, not a timeout */
  sim_schedule (sim, co->timer);
}

static void
op_outcome (DsmSim *sim, ClientOp *co, DsmReplyStatus status, DsmRejectReason reason,
            const DsmClientReply *reply)
{
  DsmNodeId leader_hint = reply != NULL ? reply->leader_hint : DSM_NODE_NONE;
  /* Scripted operations get one attempt: the scenario says what to expect. */
  gboolean retry = !co->scripted
                   && dsm_workload_retry (&co->cmd, co->attempts, sim->config->retry_attempts, status, reason);

  if (status == DSM_REPLY_UNKNOWN)
    co->maybe_applied = TRUE;
  if (!co->scripted && leader_hint != DSM_NODE_NONE)
    sim->clients[co->client].leader_hint = leader_hint;
  if (retry)
    op_retry_later (sim, co);
  else
    op_complete (sim, co, status, reason, reply);
}

void
clients_on_reply (DsmSim *sim, const DsmClientReply *reply)
{
  ClientOp *co = clients_take_request (sim, reply->request_id);

  if (co == NULL)
    {
      admin_on_reply (sim, reply);
      return;
    }
  if (co->done || co->request_id != reply->request_id)
    {
      clients_op_unref (co);
      return; /* an earlier attempt's answer */
    }
  Event *ev = sim_event_new (sim, EV_CLIENT_REPLY, sim->now_ms + dsm_sim_net_client_latency (sim->net));
  ev->op = co; /* the table's reference, handed on */
  ev->request_id = reply->request_id;
  ev->reply = dsm_client_reply_new (reply);
  sim_schedule (sim, ev);
}

void
clients_event (DsmSim *sim, Event *ev)
{
  ClientOp *co = ev->op;

  switch (ev->kind)
    {
    case EV_CLIENT_NEXT:
      workload_next (sim, &sim->clients[ev->client]);
      break;
    case EV_CLIENT_ARRIVE:
      {
        SimNode *sn = &sim->nodes[ev->node];
        if (co->done || co->request_id != ev->request_id || sn->node == NULL)
          break; /* superseded, or the node is down: the timer will notice */
        dsm_node_submit (sn->node, sim_local_now (sn, sim->now_ms), co->request_id, &co->cmd);
        sim_process (sim, sn);
        break;
      }
    case EV_CLIENT_REPLY:
      if (co->done || co->request_id != ev->request_id)
        break;
      op_cancel_timer (sim, co);
      /* A machine plugin's answer, for the checker to compare with the
       * plugin's own apply (docs/PLUGINS.md, "Checking"). */
      if (ev->reply->status == DSM_REPLY_OK && co->cmd.op == DSM_OP_TRANSITION && ev->reply->data != NULL)
        {
          g_free (co->op->output);
          co->op->output = g_strdup (ev->reply->data);
        }
      op_outcome (sim, co, ev->reply->status, ev->reply->reason, ev->reply);
      break;
    case EV_CLIENT_TIMER:
      g_assert (co->timer == ev && !co->done);
      co->timer = NULL;
      if (ev->request_id == 0)
        {
          /* The pause before a retry is over: try elsewhere, as a client
           * with a list of endpoints does after one failed it. */
          Client *c = &sim->clients[co->client];
          DsmNodeId node = client_pick_node (sim, c);
          if (node == co->node && sim->n > 1)
            node = node % sim->n + 1;
          client_send (sim, co, node);
        }
      else if (co->request_id == ev->request_id)
        {
          if (!co->scripted && sim->clients[co->client].leader_hint == co->node)
            sim->clients[co->client].leader_hint = DSM_NODE_NONE;
          /* The event holds a reference: dropping the table's is safe. */
          g_hash_table_remove (sim->requests, request_key (co->request_id));
          op_outcome (sim, co, DSM_REPLY_UNKNOWN, DSM_REJECT_NONE, NULL);
        }
      break;
    default:
      g_assert_not_reached ();
    }
}
