/* sim/admin.c: what an operator does to a simulated cluster: membership
 * changes and machine definitions through the log, retried until they
 * commit or their deadline passes, the nodes that join (fresh ids, empty
 * disks), and leadership transfers.  Not part of the client history: the
 * checkers judge their effects (PROTOCOL.md, "Membership changes").
 *
 *   issue --send to the leader--> in flight --ok--> done
 *   in flight --change_in_progress, not_leader, unknown, no answer--> pause --> in flight
 *   any --deadline--> done (the last outcome) */
#include "sim-private.h"

#include <string.h>

struct _AdminOp {
  DsmCommand cmd;           /* client_id "admin", a seq of its own: retries apply once */
  guint64 deadline_ms;
  guint64 request_id;       /* the attempt in flight; 0: none */
  Event *timer;             /* its timeout, or the pause before a retry */
  guint attempts;
  gboolean done;
  DsmReplyStatus status;
  DsmRejectReason reason;
  DsmNodeId member;         /* what the change added or named */
  char *detail;
  DsmNodeId joining;        /* ADD_MEMBER: the node started for it */
  guint keep_voters;        /* REMOVE_MEMBER: give up rather than go down to this many */
};

static void
admin_op_free (AdminOp *op)
{
  dsm_command_clear (&op->cmd);
  g_free (op->detail);
  g_free (op);
}

void
admin_init (DsmSim *sim)
{
  sim->admin_ops = g_ptr_array_new_with_free_func ((GDestroyNotify) admin_op_free);
  sim->admin_requests = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
}

void
admin_clear (DsmSim *sim)
{
  g_clear_pointer (&sim->admin_requests, g_hash_table_unref);
  g_clear_pointer (&sim->admin_ops, g_ptr_array_unref);
}

/* ---- members of the cluster ---- */

/* The membership the current leader uses, or NULL without one. */
static DsmMembership *
admin_membership (DsmSim *sim)
{
  DsmNodeId leader = sim_leader (sim);
  return leader != DSM_NODE_NONE ? dsm_node_get_membership (sim->nodes[leader].node, NULL) : NULL;
}

/* A node the run should wait for: live, not removed, and a member of the
 * leader's configuration (a node whose addition never committed, or one
 * removed, gets nothing more and is no part of the cluster). */
gboolean
sim_in_cluster (DsmSim *sim, DsmNodeId id)
{
  DsmNode *node = sim->nodes[id].node;
  DsmMembership *membership = admin_membership (sim);

  if (node == NULL || dsm_node_is_removed (node))
    return FALSE;
  return membership == NULL || dsm_membership_find (membership, id) != NULL;
}

/* ---- one attempt ---- */

static guint64
admin_timeout_ms (DsmSim *sim)
{
  return sim->config->consensus_timeout_ms + 100;
}

static DsmNodeId
admin_target (DsmSim *sim)
{
  DsmNodeId leader = sim_leader (sim);

  if (leader != DSM_NODE_NONE)
    return leader;
  for (guint id = 1; id <= sim->n; id++)
    if (sim->nodes[id].node != NULL && !dsm_node_is_removed (sim->nodes[id].node))
      return id;
  return DSM_NODE_NONE;
}

static void
admin_timer (DsmSim *sim, AdminOp *op, guint64 at_ms)
{
  if (op->timer != NULL)
    sim_unschedule (sim, op->timer);
  op->timer = sim_event_new (sim, EV_ADMIN, MIN (at_ms, op->deadline_ms));
  op->timer->admin = op;
  sim_schedule (sim, op->timer);
}

static void admin_finish (DsmSim *sim, AdminOp *op, DsmReplyStatus status, DsmRejectReason reason,
                          DsmNodeId member, const char *detail);

static void
admin_send (DsmSim *sim, AdminOp *op)
{
  DsmNodeId id = admin_target (sim);
  DsmMembership *membership = admin_membership (sim);

  /* The bound holds at every attempt, not just the first: two removals
   * started at 4 voters must not both go through. */
  if (op->keep_voters != 0 && membership != NULL
      && dsm_membership_get_n_voters (membership) <= op->keep_voters)
    {
      admin_finish (sim, op, DSM_REPLY_REJECTED, DSM_REJECT_NONE, DSM_NODE_NONE,
                    "skipped: the cluster is down to its voters' bound");
      return;
    }

  op->attempts++;
  op->request_id = ++sim->next_request_id;
  admin_timer (sim, op, sim->now_ms + admin_timeout_ms (sim));
  if (id == DSM_NODE_NONE)
    return; /* nobody up: the timer retries */
  g_hash_table_insert (sim->admin_requests, g_memdup2 (&op->request_id, sizeof op->request_id), op);
  trace_line (sim, "\"ev\":\"admin\",\"op\":\"%s\",\"node\":%u,\"to\":%u,\"attempt\":%u",
              dsm_op_to_string (op->cmd.op), op->cmd.node, id, op->attempts);
  dsm_node_submit (sim->nodes[id].node, sim_local_now (&sim->nodes[id], sim->now_ms), op->request_id, &op->cmd);
  sim_process (sim, &sim->nodes[id]);
}

static void
admin_finish (DsmSim *sim, AdminOp *op, DsmReplyStatus status, DsmRejectReason reason,
              DsmNodeId member, const char *detail)
{
  op->done = TRUE;
  op->status = status;
  op->reason = reason;
  op->member = member;
  g_free (op->detail);
  op->detail = g_strdup (detail);
  op->request_id = 0;
  if (op->timer != NULL)
    sim_unschedule (sim, op->timer);
  op->timer = NULL;
  trace_line (sim, "\"ev\":\"admin_done\",\"op\":\"%s\",\"node\":%u,\"status\":\"%s\",\"reason\":\"%s\"",
              dsm_op_to_string (op->cmd.op), member != DSM_NODE_NONE ? member : op->cmd.node,
              dsm_reply_status_to_string (status), dsm_reject_reason_to_string (reason));
  /* A node started to join that never became a member gets nothing: it
   * leaves the run, as an operator would stop it. */
  if (op->joining != DSM_NODE_NONE && status != DSM_REPLY_OK)
    sim_crash (sim, &sim->nodes[op->joining]);
  if (status == DSM_REPLY_OK)
    sim->report.membership_changes++;
}

/* Answers that changed nothing, or may not have: try again (the session
 * makes a second copy apply at most once). */
static gboolean
admin_retryable (DsmReplyStatus status, DsmRejectReason reason)
{
  if (status == DSM_REPLY_UNKNOWN)
    return TRUE;
  return status == DSM_REPLY_REJECTED
         && (reason == DSM_REJECT_CHANGE_IN_PROGRESS || reason == DSM_REJECT_NOT_LEADER
             || reason == DSM_REJECT_OVERLOADED || reason == DSM_REJECT_NO_SPACE
             || reason == DSM_REJECT_REMOVED);
}

static void
admin_outcome (DsmSim *sim, AdminOp *op, DsmReplyStatus status, DsmRejectReason reason,
               DsmNodeId member, const char *detail)
{
  op->request_id = 0;
  if (admin_retryable (status, reason) && sim->now_ms + sim->config->retry_delay_ms < op->deadline_ms)
    {
      op->status = status;
      op->reason = reason;
      admin_timer (sim, op, sim->now_ms + sim->config->retry_delay_ms);
      return;
    }
  admin_finish (sim, op, status, reason, member, detail);
}

gboolean
admin_on_reply (DsmSim *sim, const DsmClientReply *reply)
{
  AdminOp *op = g_hash_table_lookup (sim->admin_requests, &reply->request_id);

  if (op == NULL)
    return FALSE;
  g_hash_table_remove (sim->admin_requests, &reply->request_id);
  if (op->done || op->request_id != reply->request_id)
    return TRUE; /* an earlier attempt's answer */
  admin_outcome (sim, op, reply->status, reply->reason, reply->member, reply->detail);
  return TRUE;
}

void
admin_event (DsmSim *sim, Event *ev)
{
  AdminOp *op = ev->admin;

  g_assert (op->timer == ev && !op->done);
  op->timer = NULL;
  if (sim->now_ms >= op->deadline_ms)
    {
      admin_finish (sim, op, op->attempts > 0 && op->status != DSM_REPLY_OK ? op->status : DSM_REPLY_UNKNOWN,
                    op->reason, DSM_NODE_NONE, "deadline passed");
      return;
    }
  if (op->request_id != 0)
    {
      /* No answer: the node is down or the answer was lost.  The change
       * may have been proposed: retry, it applies at most once. */
      g_hash_table_remove (sim->admin_requests, &op->request_id);
      op->request_id = 0;
      op->status = DSM_REPLY_UNKNOWN;
    }
  admin_send (sim, op);
}

/* ---- what steps and faults ask for ---- */

static AdminOp *
admin_issue_bounded (DsmSim *sim, const DsmCommand *cmd, guint64 within_ms, guint keep_voters)
{
  AdminOp *op = g_new0 (AdminOp, 1);

  op->keep_voters = keep_voters;
  dsm_command_init_copy (&op->cmd, cmd);
  g_free (op->cmd.client_id);
  op->cmd.client_id = g_strdup ("admin");
  op->cmd.seq = ++sim->admin_seq;
  dsm_checker_submitted (sim->checker, &op->cmd);
  op->deadline_ms = sim->now_ms + within_ms;
  g_ptr_array_add (sim->admin_ops, op);
  admin_send (sim, op);
  return op;
}

AdminOp *
admin_issue (DsmSim *sim, const DsmCommand *cmd, guint64 within_ms)
{
  return admin_issue_bounded (sim, cmd, within_ms, 0);
}

/* The next id no node of this run ever had. */
static DsmNodeId
admin_fresh_id (DsmSim *sim)
{
  return sim->n + 1;
}

AdminOp *
admin_add_node (DsmSim *sim, guint64 within_ms, guint max_members, GString *skipped)
{
  DsmMembership *membership = admin_membership (sim);

  if (sim->n >= sim->capacity)
    {
      g_string_append_printf (skipped, "no room for another node (%u)", sim->capacity);
      return NULL;
    }
  if (max_members != 0 && membership != NULL && dsm_membership_get_n_members (membership) >= max_members)
    {
      g_string_append_printf (skipped, "%u members already", dsm_membership_get_n_members (membership));
      return NULL;
    }
  DsmNodeId id = admin_fresh_id (sim);
  sim->n = id;
  sim_node_add (sim, id);
  DsmCommand cmd = { .op = DSM_OP_ADD_MEMBER, .node = id };
  AdminOp *op = admin_issue (sim, &cmd, within_ms);
  op->joining = op->done ? DSM_NODE_NONE : id;
  if (op->done && op->status != DSM_REPLY_OK)
    sim_crash (sim, &sim->nodes[id]);
  return op;
}

AdminOp *
admin_remove_node (DsmSim *sim, DsmNodeId id, guint64 within_ms, guint keep_voters, GString *skipped)
{
  DsmMembership *membership = admin_membership (sim);

  if (keep_voters != 0 && (membership == NULL || dsm_membership_get_n_voters (membership) <= keep_voters))
    {
      g_string_append_printf (skipped, "%u voters or fewer", keep_voters);
      return NULL;
    }
  DsmCommand cmd = { .op = DSM_OP_REMOVE_MEMBER, .node = id };
  return admin_issue_bounded (sim, &cmd, within_ms, keep_voters);
}

gboolean
admin_op_done (const AdminOp *op, DsmReplyStatus *status, const char **detail)
{
  if (status != NULL)
    *status = op->status;
  if (detail != NULL)
    *detail = op->detail;
  return op->done;
}
