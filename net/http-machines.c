/* net/http-machines.c: the machine endpoints on the consensus loop:
 * transitions and linearizable reads through the core (dsm_host_submit;
 * a follower's core forwards them to the leader), stale reads and the
 * local listing from the node's store.  Their requests were routed and
 * checked on the HTTP workers (http-route.c). */
#include "http-private.h"

#include "codec.h"
#include "node.h"
#include "store.h"

/* ---- answers from the core ---- */

/* A machine's revision and, when it has any, its data (canonical JSON
 * object text, written as it is). */
static void
json_revision_and_data (GString *json, guint64 revision, const char *data)
{
  json_uint (json, "revision", revision);
  json_key (json, "data");
  g_string_append (json, data != NULL ? data : "{}");
}

static void
json_common (GString *json, const DsmClientReply *reply)
{
  json_string (json, "machine", reply->machine);
  json_string (json, "state", reply->state);
  if (reply->op == DSM_OP_TRANSITION)
    json_string (json, "requested", reply->requested);
}

/* The core's verdict as HTTP: 200 applied, 409 refused by the machine,
 * 400 a bad command, 507 a full disk (nothing accepted), 503 nothing
 * applied but retry (no leader, overloaded, a membership change in
 * progress) or outcome unknown (timeout, leadership lost). */
guint
http_reply_status (HttpCall *call, const DsmClientReply *reply)
{
  if (reply->status == DSM_REPLY_OK)
    return 200;
  if (reply->status == DSM_REPLY_UNKNOWN)
    return 503;
  switch (reply->reason)
    {
    case DSM_REJECT_INVALID_TRANSITION:
      return 409;
    case DSM_REJECT_BAD_REQUEST:
      return 400;
    case DSM_REJECT_NO_SPACE:
      /* The disk is full (PROTOCOL.md, "A full disk"): nothing was
       * accepted; writes resume by themselves when space comes back. */
      dsm_http_request_add_header (call->request, "Retry-After", "10");
      return 507;
    default:
      /* not_leader, overloaded, change_in_progress: nothing happened, retry later */
      dsm_http_request_add_header (call->request, "Retry-After", "1");
      return 503;
    }
}

static void
http_machine_on_reply (const DsmClientReply *reply, gpointer data)
{
  HttpCall *call = data;
  GString *json = g_string_new ("{");
  guint status = http_reply_status (call, reply);

  if (reply->status == DSM_REPLY_OK)
    {
      json_string (json, "machine", reply->machine);
      json_string (json, "state", reply->state);
      json_uint (json, "index", reply->index);
      if (reply->op == DSM_OP_READ)
        json_revision_and_data (json, reply->revision, reply->data);
      else
        json_uint (json, "revision", reply->revision);
      /* A machine plugin's answer (canonical JSON: core/store-plugin.c). */
      if (reply->op == DSM_OP_TRANSITION && reply->data != NULL)
        {
          json_key (json, "output");
          g_string_append (json, reply->data);
        }
      g_string_append_c (json, '}');
      http_answer (call, 200, json);
      return;
    }
  if (reply->status == DSM_REPLY_UNKNOWN)
    {
      json_string (json, "error", "timeout, outcome unknown");
      json_string (json, "reason", reply->reason != DSM_REJECT_NONE ? dsm_reject_reason_to_string (reply->reason) : "timeout");
      json_string (json, "outcome", "unknown");
    }
  else
    {
      json_string (json, "error", reply->detail != NULL ? reply->detail : dsm_reject_reason_to_string (reply->reason));
      json_string (json, "reason", dsm_reject_reason_to_string (reply->reason));
      json_string (json, "outcome", "rejected");
    }
  if (reply->detail != NULL && reply->status == DSM_REPLY_UNKNOWN)
    json_string (json, "detail", reply->detail);
  json_common (json, reply);
  /* Judged at its place in the log: the machine's revision then (a lost
   * compare-and-set names the one to read again). */
  if (reply->status == DSM_REPLY_REJECTED && reply->index != 0 && reply->op == DSM_OP_TRANSITION)
    json_uint (json, "revision", reply->revision);
  if (reply->leader_hint != DSM_NODE_NONE)
    json_uint (json, "leader", reply->leader_hint);
  g_string_append_c (json, '}');
  http_answer (call, status, json);
}

/* POST /v1/machines/{name}, and GET without ?stale: the core answers. */
void
http_machine_submit (HttpCall *call)
{
  http_submit (call, http_machine_on_reply);
}

void
http_submit (HttpCall *call, DsmHostReplyFunc on_reply)
{
  DsmHttpApi *api = call->api;

  g_assert (call->link.data == NULL);
  call->link.data = call;
  g_queue_push_tail_link (&api->in_flight, &call->link);
  call->request_id = dsm_host_submit (api->host, &call->cmd, on_reply, call);
}

/* ---- GET /v1/machines/{name}?stale=1 ---- */

void
http_machine_stale_read (HttpCall *call)
{
  /* This node's applied state, without asking anyone: may lag. */
  DsmNode *node = dsm_host_get_node (call->api->host);
  const DsmStore *store = dsm_node_get_store (node);
  guint64 revision = 0;
  const char *data = NULL;
  const char *state = dsm_store_read_data (store, call->cmd.machine, call->cmd.definition, NULL,
                                           &revision, &data);
  GString *json;

  /* The definitions this node applied: the replicated ones, not its
   * config file's (PROTOCOL.md, "Machine definitions"). */
  if (call->cmd.definition != NULL
      && dsm_definitions_find (dsm_store_get_definitions (store), call->cmd.definition, NULL) == NULL)
    {
      http_answer_error (call, 400, "unknown_definition",
                         "no machine definition named \"%s\" as of this node's applied index %" G_GUINT64_FORMAT,
                         call->cmd.definition, dsm_node_get_applied_index (node));
      return;
    }
  if (state == NULL)
    {
      http_answer_error (call, 400, "bad_request", "machine \"%s\" is not of definition \"%s\"", call->cmd.machine,
                         call->cmd.definition);
      return;
    }
  json = g_string_new ("{");
  json_string (json, "machine", call->cmd.machine);
  json_string (json, "state", state);
  json_uint (json, "index", dsm_node_get_applied_index (node));
  json_revision_and_data (json, revision, data);
  g_string_append_c (json, '}');
  http_answer (call, 200, json);
}

/* ---- GET /v1/machines ---- */

static void
list_one (const char *machine, const DsmMachineDef *def, const char *state, guint64 index, gpointer data)
{
  GString *json = data;

  g_string_append_c (json, '{');
  json_string (json, "machine", machine);
  json_string (json, "definition", dsm_machine_def_get_name (def));
  json_string (json, "state", state);
  json_uint (json, "index", index);
  g_string_append (json, "},");
}

void
http_machines_list (HttpCall *call)
{
  DsmNode *node = dsm_host_get_node (call->api->host);
  const DsmStore *store = dsm_node_get_store (node);
  guint total = dsm_store_get_n_machines (store);
  GString *json = g_string_new ("{");
  guint listed;

  g_assert (call->limit >= 1 && call->limit <= DSM_HTTP_LIST_LIMIT_MAX);
  json_uint (json, "node", dsm_node_get_id (node));
  json_uint (json, "commit_index", dsm_node_get_commit_index (node));
  json_uint (json, "applied_index", dsm_node_get_applied_index (node));
  json_string (json, "note", "this node's local view: every instance it has applied, as of applied_index, "
                             "in creation order (the same on every node), a page at a time from cursor; "
                             "instances never touched are in their initial state and not listed");
  json_uint (json, "total", total);
  json_uint (json, "cursor", call->cursor);
  json_key (json, "machines");
  g_string_append_c (json, '[');
  listed = dsm_store_foreach_range (store, (guint) call->cursor, (guint) call->limit, list_one, json);
  if (json->str[json->len - 1] == ',')
    g_string_truncate (json, json->len - 1);
  g_string_append_c (json, ']');
  /* The cursor of the next page, or null when this one reached the end. */
  json_key (json, "next_cursor");
  if (call->cursor + listed < total)
    g_string_append_printf (json, "%" G_GUINT64_FORMAT, call->cursor + listed);
  else
    g_string_append (json, "null");
  g_string_append_c (json, '}');
  http_answer (call, 200, json);
}
