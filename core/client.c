/* core/client.c: client commands from arrival to reply (PROTOCOL.md,
 * "Client requests").  Every submitted command gets exactly one reply,
 * at the latest consensus_timeout_ms after it arrived.
 *
 *   (submit) --no leader--> WAIT_LEADER --leader known--> (route)
 *   (route) --we lead, transition--> APPENDED --applied--> reply
 *   (route) --we lead, read--> READ_COMMIT --> READ_CONFIRM --quorum--> READ_APPLY --> reply
 *   (route) --another leads--> FORWARDED --reply from leader--> reply
 *   APPENDED --entry overwritten--> (route)       any --deadline--> reply "unknown"
 *
 * Requests live in DsmNode.requests (deadline order, which is arrival
 * order since the timeout is fixed) and, while they wait on something, in
 * the queue of their phase. */
#include "node-private.h"

#include <string.h>

#include "payload.h"

/* What a client hears from a node whose disk is full (PROTOCOL.md, "A
 * full disk"). */
#define NO_SPACE_REFUSED "this node's disk is full: nothing was applied; retry on another node"
#define NO_SPACE_UNKNOWN "this node's disk is full: the entry may still commit; " \
                         "retry with the same client_id and seq on another node"

/* ---- bookkeeping ---- */

/* A forwarded command, named by the node that forwarded it. */
typedef struct {
  DsmNodeId origin;
  guint64 request_id;
} ForwardKey;

#define FORWARDS_SEEN_MAX 65536

static guint
forward_key_hash (gconstpointer p)
{
  const ForwardKey *k = p;
  return g_int64_hash (&k->request_id) ^ (k->origin * 2654435761u);
}

static gboolean
forward_key_equal (gconstpointer a, gconstpointer b)
{
  const ForwardKey *x = a, *y = b;
  return x->origin == y->origin && x->request_id == y->request_id;
}

static void
request_free (Request *req)
{
  /* The command's strings go with it (client_submit()). */
  g_free (req);
}

void
client_init (DsmNode *node)
{
  g_queue_init (&node->requests);
  node->by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_queue_init (&node->appended);
  g_queue_init (&node->wait_leader);
  g_queue_init (&node->forwarded);
  g_queue_init (&node->read_commit);
  g_queue_init (&node->read_confirm);
  g_queue_init (&node->read_apply);
  node->forwards_seen = g_hash_table_new_full (forward_key_hash, forward_key_equal, g_free, NULL);
  g_queue_init (&node->forwards_order);
}

void
client_clear (DsmNode *node)
{
  Request *req;

  while ((req = g_queue_peek_head (&node->requests)) != NULL)
    {
      g_queue_unlink (&node->requests, &req->deadline_link);
      request_free (req);
    }
  g_clear_pointer (&node->by_id, g_hash_table_unref);
  g_queue_clear (&node->forwards_order);
  g_clear_pointer (&node->forwards_seen, g_hash_table_unref);
}

void
client_forwards_reset (DsmNode *node)
{
  g_queue_clear (&node->forwards_order);
  g_hash_table_remove_all (node->forwards_seen);
}

/* Within one leadership term a node never sends us the same forwarded
 * command twice on purpose (it retries only commands with a client id,
 * which sessions deduplicate), so a second copy of one without a client id
 * is the network duplicating it: proposing it again would apply it twice. */
static gboolean
forward_is_duplicate (DsmNode *node, DsmNodeId origin, guint64 request_id)
{
  ForwardKey key = { .origin = origin, .request_id = request_id };

  if (g_hash_table_contains (node->forwards_seen, &key))
    return TRUE;
  ForwardKey *stored = g_memdup2 (&key, sizeof key);
  g_hash_table_add (node->forwards_seen, stored);
  g_queue_push_tail (&node->forwards_order, stored);
  if (node->forwards_order.length > FORWARDS_SEEN_MAX)
    g_hash_table_remove (node->forwards_seen, g_queue_pop_head (&node->forwards_order));
  return FALSE;
}

guint
client_pending (const DsmNode *node)
{
  return node->requests.length;
}

static void
request_set_phase (Request *req, RequestPhase phase, GQueue *queue)
{
  g_assert (req->phase_link.data == req); /* client_submit() ties them */
  if (req->phase_queue != NULL)
    g_queue_unlink (req->phase_queue, &req->phase_link);
  req->phase = phase;
  req->phase_queue = queue;
  if (queue != NULL)
    g_queue_push_tail_link (queue, &req->phase_link);
}

static gboolean
request_is_idempotent (const Request *req)
{
  return req->cmd.op == DSM_OP_READ || req->cmd.client_id != NULL;
}

/* ---- replies ---- */

typedef struct {
  DsmReplyStatus status;
  DsmRejectReason reason;
  const char *state;
  guint64 index;
  const char *detail;
  DsmNodeId member;
  guint64 revision;
  const char *data;
} Outcome;

static void
reply_local (DsmNode *node, Request *req, const Outcome *o)
{
  DsmClientReply fields = {
    .request_id = req->request_id,
    .status = o->status,
    .reason = o->reason,
    .op = req->cmd.op,
    .machine = req->cmd.machine,
    .state = (char *) o->state,
    .requested = req->cmd.to,
    .index = o->index,
    .member = o->member,
    .leader_hint = node->leader_id,
    .detail = (char *) o->detail,
    .revision = o->revision,
    .data = (char *) o->data,
    .latency_ms = node->now_ms - req->submitted_ms,
  };

  /* Ours: a forwarded one is answered to its node (reply_remote()). */
  g_assert (req->origin == DSM_NODE_NONE);
  /* The codec admits only known statuses and reasons: they index counters. */
  g_assert ((guint) o->status < G_N_ELEMENTS (node->metrics.client_replies));
  g_assert ((guint) o->reason < G_N_ELEMENTS (node->metrics.client_rejects));
  DsmClientReply *reply = dsm_client_reply_new (&fields);

  node->metrics.client_replies[o->status]++;
  if (o->status != DSM_REPLY_OK)
    node->metrics.client_rejects[o->reason]++;
  dsm_histogram_observe (&node->metrics.commit_latency, (double) reply->latency_ms);
  g_ptr_array_add (node->out.replies, reply);
}

/* A forwarded request is answered to the node that forwarded it: a Reject
 * when nothing happened, a ClientReply otherwise. */
static void
reply_remote (DsmNode *node, Request *req, const Outcome *o)
{
  gboolean reject = o->status == DSM_REPLY_REJECTED;

  /* Only a leader takes forwarded commands (client_submit()). */
  g_assert (req->origin != DSM_NODE_NONE && req->origin != node->id);
  DsmMessage *msg = node_message (node, reject ? DSM_MSG_REJECT : DSM_MSG_CLIENT_REPLY, req->origin);

  msg->request_id = req->request_id;
  msg->status = reject ? DSM_REPLY_OK : o->status; /* a Reject's status is its type */
  msg->reason = o->reason;
  msg->leader_hint = node->leader_id;
  msg->index = o->index;
  msg->member = reject ? DSM_NODE_NONE : o->member;
  msg->state = g_strdup (o->state);
  msg->detail = g_strdup (o->detail);
  msg->revision = o->revision;
  msg->machine_data = g_strdup (o->data);
  if (reject)
    node_event (node, DSM_EVENT_REJECT, req->origin, o->index, req->request_id, o->reason,
                "%s", o->detail != NULL ? o->detail : "");
  node_send (node, msg);
}

static void
request_finish (DsmNode *node, Request *req, const Outcome *o)
{
  g_assert (req->deadline_link.data == req);
  /* Every request is in the deadline queue until this one answer. */
  g_assert (node->requests.length > 0);
  if (req->origin == DSM_NODE_NONE)
    {
      reply_local (node, req, o);
      /* A request refused for reusing a pending id must not unregister
       * the pending one. */
      if (g_hash_table_lookup (node->by_id, &req->request_id) == req)
        g_hash_table_remove (node->by_id, &req->request_id);
    }
  else
    reply_remote (node, req, o);
  request_set_phase (req, req->phase, NULL);
  g_queue_unlink (&node->requests, &req->deadline_link);
  request_free (req);
}

static void
request_reject (DsmNode *node, Request *req, DsmRejectReason reason, const char *state,
                const char *detail)
{
  Outcome o = { .status = DSM_REPLY_REJECTED, .reason = reason, .state = state, .detail = detail };
  request_finish (node, req, &o);
}

static void
request_finish_result (DsmNode *node, Request *req, const DsmApplyResult *result)
{
  g_autofree char *detail = NULL;

  if (result->status == DSM_REPLY_REJECTED && req->cmd.op == DSM_OP_DEFINE)
    detail = g_strdup_printf ("definition \"%s\": refused when applied (a new version keeps every "
                              "state of the one it replaces; \"lifecycle\" never changes)",
                              req->cmd.definition);
  else if (result->status == DSM_REPLY_REJECTED && result->detail != NULL)
    detail = g_strdup_printf ("%s (when applied)", result->detail);
  else if (result->status == DSM_REPLY_REJECTED && req->cmd.has_if_revision
           && result->revision != req->cmd.if_revision)
    /* A compare-and-set on the revision that lost: name the current one. */
    detail = g_strdup_printf ("machine \"%s\" is at revision %" G_GUINT64_FORMAT " (in %s), not %"
                              G_GUINT64_FORMAT ": transition to %s refused when applied",
                              req->cmd.machine, result->revision,
                              result->state != NULL ? result->state : "?", req->cmd.if_revision,
                              req->cmd.to != NULL ? req->cmd.to : "?");
  else if (result->status == DSM_REPLY_REJECTED && req->cmd.from != NULL && result->state != NULL
           && strcmp (req->cmd.from, result->state) != 0)
    /* A compare-and-set that lost: say so, not that the move is illegal. */
    detail = g_strdup_printf ("machine \"%s\" is in %s, not %s: transition to %s refused when applied",
                              req->cmd.machine, result->state, req->cmd.from,
                              req->cmd.to != NULL ? req->cmd.to : "?");
  else if (result->status == DSM_REPLY_REJECTED)
    detail = g_strdup_printf ("machine \"%s\" is in %s: transition to %s refused when applied",
                              req->cmd.machine, result->state != NULL ? result->state : "?",
                              req->cmd.to != NULL ? req->cmd.to : "?");
  else if (result->status == DSM_REPLY_UNKNOWN)
    detail = g_strdup_printf ("client \"%s\" sequence %" G_GUINT64_FORMAT " is older than the session remembers",
                              req->cmd.client_id, req->cmd.seq);
  Outcome o = {
    .status = result->status,
    .reason = result->reason,
    .state = result->state,
    .index = result->result_index,
    .detail = detail,
    .member = result->member,
    .revision = result->revision,
    /* A machine plugin's answer travels as the reply's data. */
    .data = result->output,
  };
  request_finish (node, req, &o);
}

/* ---- leader: transitions ---- */

/* `proposed` is keyed by the commands of our uncommitted entries (the log
 * owns them), compared by (client id, seq): no allocation per command. */
guint
client_proposed_hash (gconstpointer p)
{
  const DsmCommand *cmd = p;
  return dsm_session_hash (cmd->client_id, cmd->seq);
}

gboolean
client_proposed_equal (gconstpointer a, gconstpointer b)
{
  const DsmCommand *x = a, *y = b;
  return x->seq == y->seq && strcmp (x->client_id, y->client_id) == 0;
}

static void
request_wait_for_entry (DsmNode *node, Request *req, guint64 index, guint64 epoch)
{
  /* An entry of our log, which only its leader proposes into. */
  g_assert (node->role == DSM_ROLE_LEADER);
  g_assert (index <= dsm_log_last_index (node->log));
  g_assert (epoch <= node->epoch);
  req->index = index;
  req->epoch = epoch;
  req->maybe_applied = TRUE;
  /* Keep `appended` sorted by index; new entries go last. */
  GList *after = node->appended.tail;
  while (after != NULL && ((Request *) after->data)->index > index)
    after = after->prev;
  if (req->phase_queue != NULL)
    g_queue_unlink (req->phase_queue, &req->phase_link);
  req->phase = REQ_APPENDED;
  req->phase_queue = &node->appended;
  if (after == NULL)
    g_queue_push_head_link (&node->appended, &req->phase_link);
  else
    g_queue_insert_after_link (&node->appended, after, &req->phase_link);
}

static void
leader_propose (DsmNode *node, Request *req)
{
  const DsmCommand *cmd = &req->cmd;

  /* Never appended: client_submit() refuses writes while the disk is
   * full, and a leader with other voters steps down (dsm_node_set_disk_full). */
  g_assert (!node->disk_full);
  g_assert (node->role == DSM_ROLE_LEADER);
  g_assert (cmd->op != DSM_OP_READ); /* leader_read()'s */

  if (cmd->client_id != NULL)
    {
      DsmApplyResult result = { 0 };
      gboolean stale = FALSE;
      if (!MUTANT (node, DSM_MUTANT_FORGET_SESSIONS)
          && dsm_store_lookup_session (node->store, cmd->client_id, cmd->seq, &result, &stale))
        {
          request_finish_result (node, req, &result);
          dsm_apply_result_clear (&result);
          return;
        }
      if (stale)
        {
          result.status = DSM_REPLY_UNKNOWN;
          result.reason = DSM_REJECT_STALE_REQUEST;
          request_finish_result (node, req, &result);
          return;
        }
      gpointer index;
      if (g_hash_table_lookup_extended (node->proposed, cmd, NULL, &index))
        {
          /* Already in our log, uncommitted: wait for that copy. */
          DsmEntry *entry = dsm_log_get (node->log, GPOINTER_TO_SIZE (index));
          g_assert (entry != NULL);
          g_assert (entry->cmd.seq == cmd->seq); /* `proposed` is keyed by it */
          request_wait_for_entry (node, req, entry->index, entry->epoch);
          return;
        }
    }

  if (dsm_log_last_index (node->log) - node->commit_index >= node->config->max_uncommitted_entries)
    {
      request_reject (node, req, DSM_REJECT_OVERLOADED, NULL,
                      "too many uncommitted entries; retry later");
      return;
    }

  /* Only what no later entry can change is refused here; whether the
   * transition is legal is decided when it is applied, at its place in the
   * log, identically on every node (PROTOCOL.md, "Validation").  A
   * membership change is checked against the latest configuration and the
   * one-change-at-a-time rule (PROTOCOL.md, "Membership changes"). */
  DsmRejectReason reason = DSM_REJECT_NONE;
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmEntry) entry = NULL;
  if (dsm_op_is_membership (cmd->op))
    entry = members_propose (node, cmd, &reason, &error);
  else if (dsm_store_check (node->store, cmd, &reason, &error))
    entry = dsm_entry_new (dsm_log_last_index (node->log) + 1, node->epoch, DSM_ENTRY_COMMAND, cmd);
  if (entry == NULL)
    {
      request_reject (node, req, reason, NULL, error->message);
      return;
    }
  node_log_append (node, entry);
  g_assert (entry->index == dsm_log_last_index (node->log));
  g_assert (entry->epoch == node->epoch);
  g_assert (entry->index > node->commit_index);
  if (cmd->client_id != NULL)
    g_hash_table_insert (node->proposed, &entry->cmd, GSIZE_TO_POINTER (entry->index));
  node->metrics.proposals++;
  if (cmd->op == DSM_OP_TRANSITION)
    node_event (node, DSM_EVENT_PROPOSAL, req->origin, entry->index, req->request_id, DSM_REJECT_NONE,
                "%s -> %s", cmd->machine, cmd->to);
  else
    node_event (node, DSM_EVENT_PROPOSAL, req->origin, entry->index, req->request_id, DSM_REJECT_NONE,
                "%s %s%u", dsm_op_to_string (cmd->op), cmd->definition != NULL ? cmd->definition : "node ",
                cmd->definition != NULL ? 0 : entry->cmd.node);
  request_wait_for_entry (node, req, entry->index, entry->epoch);
  replication_advance_commit (node); /* a single-node cluster */
}

/* Indexes the (client, seq) of our uncommitted entries, so a retry while
 * one is in flight waits for it instead of appending a copy.  The newest
 * DSM_NODE_APPLY_PER_INPUT of them at most: a leader elected over a long
 * backlog (every node just restarted) spent up to a second here.  A retry
 * of an older one is appended again, and applying it repeats the first
 * copy's outcome from its client's session (PROTOCOL.md, "Client
 * sessions"). */
void
client_leader_rebuild (DsmNode *node)
{
  guint64 last = dsm_log_last_index (node->log);
  guint64 from = node->commit_index + 1;

  g_assert (node->role == DSM_ROLE_LEADER);
  g_assert (from <= last + 1);
  if (last - from + 1 > DSM_NODE_APPLY_PER_INPUT)
    from = last - DSM_NODE_APPLY_PER_INPUT + 1;
  g_hash_table_remove_all (node->proposed);
  for (guint64 i = from; i <= last; i++)
    {
      const DsmEntry *entry = dsm_log_get (node->log, i);
      g_assert (entry != NULL); /* above the commit index: not compacted */
      if (entry->kind != DSM_ENTRY_NOOP && entry->cmd.client_id != NULL)
        g_hash_table_insert (node->proposed, (gpointer) &entry->cmd, GSIZE_TO_POINTER (i));
    }
}

/* ---- leader: reads ---- */

static void
read_register (DsmNode *node, Request *req)
{
  g_assert (node->role == DSM_ROLE_LEADER);
  g_assert (req->cmd.op == DSM_OP_READ);
  req->index = node->commit_index;
  /* The bug: no heartbeat round proves we still lead (an isolated old
   * leader answers from a stale state). */
  if ((node_quorum (node) <= 1 && node_counts (node, node->id)) || MUTANT (node, DSM_MUTANT_READ_WITHOUT_CONFIRM))
    {
      request_set_phase (req, REQ_READ_APPLY, &node->read_apply);
      return;
    }
  /* A new heartbeat round: echoes of it from a quorum prove we still led
   * after the read arrived (PROTOCOL.md, "Linearizable reads"). */
  node->hb_round++;
  req->read_round = node->hb_round;
  node->read_broadcast = TRUE;
  request_set_phase (req, REQ_READ_CONFIRM, &node->read_confirm);
}

static void
reads_answer (DsmNode *node)
{
  Request *req;

  while ((req = g_queue_peek_head (&node->read_apply)) != NULL
         && req->index <= dsm_store_get_applied_index (node->store))
    {
      guint64 revision = 0;
      const char *data = NULL;
      g_assert (req->cmd.op == DSM_OP_READ);
      const char *state = dsm_store_read_data (node->store, req->cmd.machine, req->cmd.definition,
                                               NULL, &revision, &data);
      node->metrics.reads++;
      if (state == NULL)
        {
          request_reject (node, req, DSM_REJECT_BAD_REQUEST, NULL, "machine definition mismatch");
          continue;
        }
      Outcome o = {
        .status = DSM_REPLY_OK, .state = state, .index = req->index, .revision = revision,
        .data = data,
      };
      request_finish (node, req, &o);
    }
}

static void
leader_read (DsmNode *node, Request *req)
{
  DsmRejectReason reason = DSM_REJECT_NONE;
  g_autoptr(GError) error = NULL;

  /* request_route() holds reads until an entry of our epoch commits: we
   * may not know everything committed before us until then. */
  g_assert (node->commit_index >= node->epoch_first_index);
  if (!dsm_store_check (node->store, &req->cmd, &reason, &error))
    {
      request_reject (node, req, reason, NULL, error->message);
      return;
    }
  read_register (node, req);
  reads_answer (node);
}

void
client_on_read_confirmed (DsmNode *node, guint64 round)
{
  Request *req;

  g_assert (round <= node->hb_round); /* rounds echoed were rounds we started */
  while ((req = g_queue_peek_head (&node->read_confirm)) != NULL && req->read_round <= round)
    request_set_phase (req, REQ_READ_APPLY, &node->read_apply);
  reads_answer (node);
}

static void client_reroute_waiting (DsmNode *node);

void
client_on_commit_advanced (DsmNode *node)
{
  Request *req;

  if (node->role == DSM_ROLE_LEADER && node->commit_index >= node->epoch_first_index)
    {
      while ((req = g_queue_peek_head (&node->read_commit)) != NULL)
        read_register (node, req);
      /* What a new leader held while settling (request_route()). */
      if (!transfer_in_progress (node) && node->wait_leader.length > 0)
        client_reroute_waiting (node);
    }
  reads_answer (node);
}

/* A slice of a backlog applied (node_apply_committed()). */
void
client_on_applied (DsmNode *node)
{
  reads_answer (node);
}

/* ---- routing ---- */

static void
request_forward (DsmNode *node, Request *req, DsmNodeId to)
{
  /* Only a node's own clients' commands travel on; a leader never
   * forwards to itself. */
  g_assert (req->origin == DSM_NODE_NONE);
  g_assert (to != DSM_NODE_NONE && to != node->id);
  DsmMessage *msg = node_message (node, DSM_MSG_CLIENT_REQUEST, to);

  msg->request_id = req->request_id;
  dsm_command_init_copy (&msg->cmd, &req->cmd);
  node_send (node, msg);
  node->metrics.client_forwards++;
  req->attempts++;
  req->forwarded_to = to;
  req->maybe_applied = req->maybe_applied || req->cmd.op != DSM_OP_READ;
  req->retry_ms = node->now_ms + node->config->retry_delay_ms;
  request_set_phase (req, REQ_FORWARDED, &node->forwarded);
}

/* A new leader until an entry of its own epoch commits: what it has
 * applied may lag what was committed (and acknowledged) before it. */
static gboolean
leader_settling (const DsmNode *node)
{
  g_assert (node->role == DSM_ROLE_LEADER);
  return node->commit_index < node->epoch_first_index;
}

static void
request_route (DsmNode *node, Request *req, DsmNodeId hint)
{
  if (node->role == DSM_ROLE_LEADER)
    {
      if (leader_settling (node) && !dsm_op_is_membership (req->cmd.op))
        /* Held until an entry of our epoch commits (PROTOCOL.md,
         * "Validation"): a definition or machine state the store is
         * asked about may come from an entry committed before us that we
         * have not applied yet, and refusing it would contradict an
         * acknowledged write.  Membership changes are refused instead
         * (members_propose(), "Membership changes"). */
        request_set_phase (req, REQ_WAIT_LEADER, &node->wait_leader);
      else if (req->cmd.op == DSM_OP_READ)
        leader_read (node, req);
      else if (transfer_in_progress (node))
        /* Held until the transfer ends (PROTOCOL.md, "Leadership transfer"):
         * the target must catch up with a log that stops growing. */
        request_set_phase (req, REQ_WAIT_LEADER, &node->wait_leader);
      else
        leader_propose (node, req);
      return;
    }
  g_assert (req->origin == DSM_NODE_NONE);
  DsmNodeId to = hint != DSM_NODE_NONE && hint != node->id ? hint : node->leader_id;
  if (to != DSM_NODE_NONE && to != node->id)
    request_forward (node, req, to);
  else
    request_set_phase (req, REQ_WAIT_LEADER, &node->wait_leader);
}

/* A payload within the configured limits (docs/CONFIG.md, "Payloads"),
 * checked where the command enters the cluster, before it is forwarded,
 * proposed or buffered anywhere else. */
static gboolean
submit_check_payload (const DsmNode *node, const DsmCommand *cmd, GError **error)
{
  if (cmd->payload == NULL)
    return TRUE;
  DsmPayloadLimits limits = {
    node->config->payload_bytes_max, node->config->payload_depth_max,
    node->config->payload_fields_max,
  };
  g_autoptr(JsonNode) payload = dsm_payload_parse (cmd->payload, "payload", &limits, error);
  return payload != NULL;
}

void
client_submit (DsmNode *node, guint64 request_id, DsmNodeId origin, const DsmCommand *cmd)
{
  g_autoptr(GError) error = NULL;

  if (origin != DSM_NODE_NONE && node->role == DSM_ROLE_LEADER && cmd->client_id == NULL
      && cmd->op != DSM_OP_READ && forward_is_duplicate (node, origin, request_id))
    {
      node->metrics.messages_ignored++;
      return;
    }

  /* A removed node may hold this very command in its log: the forwarder
   * retries commands with a client id, and a removed leader appended the
   * first copy before its removal committed.  `removed` would tell the
   * client it changed nothing (a retry then gets a definite refusal for a
   * command that commits: a linearizability violation, explore seed 3966).
   * No answer: the forwarder's timeout reports the outcome unknown, the
   * truth.  A command without a client id is never retried, so its first
   * copy is refused below. */
  if (origin != DSM_NODE_NONE && node->removed && cmd->client_id != NULL)
    {
      node->metrics.messages_ignored++;
      return;
    }

  /* The command's strings after the request, in one allocation: a
   * command of its own was a malloc and a free per string (three a
   * transition) on every write the leader takes. */
  gsize strings = dsm_command_strings_size (cmd);
  Request *req = g_malloc0 (sizeof (Request) + strings);

  req->request_id = request_id;
  req->origin = origin;
  dsm_command_init_packed (&req->cmd, cmd, (char *) (req + 1), strings);
  req->submitted_ms = node->now_ms;
  req->deadline_ms = node->now_ms + node->config->consensus_timeout_ms;
  req->deadline_link.data = req;
  req->phase_link.data = req;
  g_queue_push_tail_link (&node->requests, &req->deadline_link);
  if (origin == DSM_NODE_NONE)
    node->metrics.client_requests++;

  if (!dsm_command_check (cmd, &error) || !submit_check_payload (node, cmd, &error))
    request_reject (node, req, DSM_REJECT_BAD_REQUEST, NULL, error->message);
  else if (node->removed)
    request_reject (node, req, DSM_REJECT_REMOVED, NULL, "this node was removed from the cluster");
  else if (origin == DSM_NODE_NONE && g_hash_table_contains (node->by_id, &request_id))
    request_reject (node, req, DSM_REJECT_BAD_REQUEST, NULL, "request id already pending");
  else if (node->requests.length > node->config->max_pending_requests)
    request_reject (node, req, DSM_REJECT_OVERLOADED, NULL, "too many pending requests");
  else if (origin != DSM_NODE_NONE && node->role != DSM_ROLE_LEADER)
    request_reject (node, req, DSM_REJECT_NOT_LEADER, NULL, "not the leader");
  else if (node->disk_full && cmd->op != DSM_OP_READ)
    request_reject (node, req, DSM_REJECT_NO_SPACE, NULL, NO_SPACE_REFUSED);
  else
    {
      if (origin == DSM_NODE_NONE)
        g_hash_table_insert (node->by_id, &req->request_id, req);
      request_route (node, req, DSM_NODE_NONE);
    }
}

/* The requests waiting for a leader, or held by ours, go where they now
 * belong (ours to propose if we still lead; the new leader's otherwise). */
static void
client_reroute_waiting (DsmNode *node)
{
  GQueue held = G_QUEUE_INIT;
  Request *req;

  /* Move them aside first: routing may park them in wait_leader again. */
  while ((req = g_queue_peek_head (&node->wait_leader)) != NULL)
    {
      request_set_phase (req, req->phase, NULL);
      g_queue_push_tail (&held, req);
    }
  while ((req = g_queue_pop_head (&held)) != NULL)
    {
      if (node->role != DSM_ROLE_LEADER && req->origin != DSM_NODE_NONE)
        request_reject (node, req, DSM_REJECT_NOT_LEADER, NULL, "leadership moved; resend");
      else
        request_route (node, req, DSM_NODE_NONE);
    }
}

/* A leadership transfer ended: the commands it held go on. */
void
client_on_transfer_end (DsmNode *node)
{
  client_reroute_waiting (node);
}

void
client_on_leader_known (DsmNode *node)
{
  /* A leader handing over holds its proposals there (request_route()). */
  if (node->role == DSM_ROLE_LEADER && transfer_in_progress (node))
    return;
  client_reroute_waiting (node);
}

/* ---- answers from the leader (at the forwarding node) ---- */

static Request *
forwarded_request (DsmNode *node, const DsmMessage *msg)
{
  Request *req = g_hash_table_lookup (node->by_id, &msg->request_id);

  if (req == NULL || req->phase != REQ_FORWARDED)
    {
      node->metrics.messages_ignored++;  /* answered already, or timed out */
      return NULL;
    }
  return req;
}

void
client_on_reply (DsmNode *node, const DsmMessage *msg)
{
  Request *req = forwarded_request (node, msg);

  if (req == NULL)
    return;
  Outcome o = {
    .status = msg->status,
    .reason = msg->reason,
    .state = msg->state,
    .index = msg->index,
    .detail = msg->detail,
    .member = msg->member,
    .revision = msg->revision,
    .data = msg->machine_data,
  };
  request_finish (node, req, &o);
}

void
client_on_reject (DsmNode *node, const DsmMessage *msg)
{
  Request *req = forwarded_request (node, msg);

  if (req == NULL)
    return;
  if (msg->reason != DSM_REJECT_NOT_LEADER)
    {
      Outcome o = {
        .status = DSM_REPLY_REJECTED,
        .reason = msg->reason,
        .state = msg->state,
        .index = msg->index,
        .detail = msg->detail,
        .revision = msg->revision,
      };
      request_finish (node, req, &o);
      return;
    }
  /* The node we asked no longer leads: ask the one it names, or wait. */
  if (req->attempts > node->config->retry_attempts)
    request_set_phase (req, REQ_FORWARDED, NULL); /* the deadline answers it */
  else if (msg->leader_hint != msg->from)
    request_route (node, req, msg->leader_hint);
  else
    request_set_phase (req, REQ_WAIT_LEADER, &node->wait_leader);
}

/* ---- log events ---- */

void
client_on_apply (DsmNode *node, const DsmEntry *entry, const DsmApplyResult *result)
{
  Request *req;

  if (entry->kind != DSM_ENTRY_NOOP && entry->cmd.client_id != NULL
      && g_hash_table_size (node->proposed) > 0)
    g_hash_table_remove (node->proposed, &entry->cmd);
  while ((req = g_queue_peek_head (&node->appended)) != NULL && req->index <= entry->index)
    {
      if (req->index == entry->index && req->epoch == entry->epoch)
        request_finish_result (node, req, result);
      else
        {
          Outcome o = {
            .status = DSM_REPLY_UNKNOWN,
            .detail = "the entry was replaced before it committed",
          };
          request_finish (node, req, &o);
        }
    }
}

void
client_on_truncate (DsmNode *node, guint64 index)
{
  Request *req;

  /* Overwritten by a later leader, the entry can never commit: safe to
   * propose again (PROTOCOL.md, "Client requests"). */
  g_assert (index > node->commit_index); /* node_log_truncate()'s */
  while ((req = g_queue_peek_tail (&node->appended)) != NULL && req->index >= index)
    {
      if (req->origin != DSM_NODE_NONE)
        request_reject (node, req, DSM_REJECT_NOT_LEADER, NULL, "leadership changed; resend");
      else if (req->attempts > node->config->retry_attempts)
        {
          Outcome o = { .status = DSM_REPLY_UNKNOWN, .detail = "entry overwritten; retries exhausted" };
          request_finish (node, req, &o);
        }
      else
        {
          req->attempts++;
          request_route (node, req, DSM_NODE_NONE);
        }
    }
}

void
client_on_snapshot_installed (DsmNode *node)
{
  Request *req;
  guint64 applied = dsm_store_get_applied_index (node->store);

  /* Entries we waited for were skipped by the snapshot: the session may
   * still tell their outcome. */
  while ((req = g_queue_peek_head (&node->appended)) != NULL && req->index <= applied)
    {
      DsmApplyResult result = { 0 };
      gboolean stale = FALSE;
      if (req->cmd.client_id != NULL
          && dsm_store_lookup_session (node->store, req->cmd.client_id, req->cmd.seq, &result, &stale))
        request_finish_result (node, req, &result);
      else
        {
          Outcome o = { .status = DSM_REPLY_UNKNOWN, .detail = "a snapshot replaced the log" };
          request_finish (node, req, &o);
        }
      dsm_apply_result_clear (&result);
    }
  reads_answer (node);
}

void
client_on_step_down (DsmNode *node)
{
  Request *req;
  GQueue *queues[] = { &node->read_commit, &node->read_confirm };

  /* Unconfirmed reads cannot be served by a deposed leader.  Confirmed ones
   * (READ_APPLY) stay: their read point was fixed while we led. */
  for (guint i = 0; i < G_N_ELEMENTS (queues); i++)
    while ((req = g_queue_peek_head (queues[i])) != NULL)
      {
        if (req->origin != DSM_NODE_NONE)
          request_reject (node, req, DSM_REJECT_NOT_LEADER, NULL, "leadership lost; resend");
        else
          request_route (node, req, DSM_NODE_NONE);
      }
}

/* The disk just filled.  Transitions waiting for a leader never reached
 * a log: refused.  Those in our log wait on entries we may never learn
 * committed while full (we answer the leader nothing): "unknown", at
 * once rather than at their timeout, so their clients retry elsewhere
 * with the same (client id, seq) and learn the outcome there. */
void
client_on_disk_full (DsmNode *node)
{
  Request *req;
  GList *l, *next;

  g_assert (node->disk_full);
  while ((req = g_queue_peek_head (&node->appended)) != NULL)
    {
      Outcome o = { .status = DSM_REPLY_UNKNOWN, .reason = DSM_REJECT_NO_SPACE, .detail = NO_SPACE_UNKNOWN };
      request_finish (node, req, &o);
    }
  for (l = node->wait_leader.head; l != NULL; l = next)
    {
      next = l->next;
      req = l->data;
      if (req->cmd.op != DSM_OP_READ)
        request_reject (node, req, DSM_REJECT_NO_SPACE, NULL, NO_SPACE_REFUSED);
    }
  g_assert (node->appended.length == 0);
}

/* ---- time ---- */

void
client_tick (DsmNode *node)
{
  Request *req;

  while ((req = g_queue_peek_head (&node->requests)) != NULL && req->deadline_ms <= node->now_ms)
    {
      g_assert (req->deadline_ms >= req->submitted_ms);
      g_autofree char *detail = g_strdup_printf ("not answered within consensus_timeout_ms (%u ms)%s",
                                                 node->config->consensus_timeout_ms,
                                                 req->maybe_applied ? ": outcome unknown" : "");
      node->metrics.consensus_timeouts++;
      node_event (node, DSM_EVENT_TIMEOUT, req->origin, req->index, req->request_id,
                  DSM_REJECT_NONE, "%s", detail);
      if (req->maybe_applied || req->cmd.op == DSM_OP_READ)
        {
          Outcome o = { .status = DSM_REPLY_UNKNOWN, .detail = detail };
          request_finish (node, req, &o);
        }
      else
        request_reject (node, req, DSM_REJECT_NOT_LEADER, NULL, detail);
    }

  while ((req = g_queue_peek_head (&node->forwarded)) != NULL && req->retry_ms <= node->now_ms)
    {
      if (request_is_idempotent (req) && req->attempts <= node->config->retry_attempts)
        request_route (node, req, DSM_NODE_NONE);
      else
        request_set_phase (req, REQ_FORWARDED, NULL); /* the deadline answers it */
    }
}

guint64
client_next_deadline (const DsmNode *node)
{
  guint64 next = G_MAXUINT64;
  const Request *req;

  if ((req = g_queue_peek_head ((GQueue *) &node->requests)) != NULL)
    next = MIN (next, req->deadline_ms);
  if ((req = g_queue_peek_head ((GQueue *) &node->forwarded)) != NULL)
    next = MIN (next, req->retry_ms);
  return next;
}
