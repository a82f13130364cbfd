/* net/http-machines.c: the machine endpoints of the HTTP API: transitions
 * (POST), linearizable and stale reads (GET), and the local listing.
 * Transitions and linearizable reads go through the core
 * (dsm_host_submit); a follower's core forwards them to the leader, so
 * any node answers any request. */
#include "http-private.h"

#include <string.h>

#include "codec.h"
#include "node.h"
#include "store.h"

/* ---- answers from the core ---- */

static void
json_common (GString *json, const DsmClientReply *reply)
{
  json_string (json, "machine", reply->machine);
  json_string (json, "state", reply->state);
  if (reply->op == DSM_OP_TRANSITION)
    json_string (json, "requested", reply->requested);
}

/* The core's verdict as HTTP: 200 applied, 409 refused by the machine,
 * 400 a bad command, 503 nothing applied but retry (no leader,
 * overloaded) or outcome unknown (timeout, leadership lost). */
static void
http_machine_on_reply (const DsmClientReply *reply, gpointer data)
{
  HttpCall *call = data;
  GString *json = g_string_new ("{");
  guint status;

  if (reply->status == DSM_REPLY_OK)
    {
      json_string (json, "machine", reply->machine);
      json_string (json, "state", reply->state);
      json_uint (json, "index", reply->index);
      g_string_append_c (json, '}');
      http_call_answer (call, 200, json);
      return;
    }
  if (reply->status == DSM_REPLY_UNKNOWN)
    {
      status = 503;
      json_string (json, "error", "timeout, outcome unknown");
      json_string (json, "reason", reply->reason != DSM_REJECT_NONE ? dsm_reject_reason_to_string (reply->reason) : "timeout");
      json_string (json, "outcome", "unknown");
    }
  else
    {
      switch (reply->reason)
        {
        case DSM_REJECT_INVALID_TRANSITION:
          status = 409;
          break;
        case DSM_REJECT_BAD_REQUEST:
          status = 400;
          break;
        default:
          status = 503;  /* not_leader, overloaded: nothing happened, retry later */
          soup_message_headers_replace (soup_server_message_get_response_headers (call->msg), "Retry-After", "1");
          break;
        }
      json_string (json, "error", reply->detail != NULL ? reply->detail : dsm_reject_reason_to_string (reply->reason));
      json_string (json, "reason", dsm_reject_reason_to_string (reply->reason));
      json_string (json, "outcome", "rejected");
    }
  if (reply->detail != NULL && reply->status == DSM_REPLY_UNKNOWN)
    json_string (json, "detail", reply->detail);
  json_common (json, reply);
  if (reply->leader_hint != DSM_NODE_NONE)
    json_uint (json, "leader", reply->leader_hint);
  g_string_append_c (json, '}');
  http_call_answer (call, status, json);
}

static void
http_submit (DsmHttpApi *api, SoupServerMessage *msg, Route route, gint64 start_us,
             const DsmCommand *cmd)
{
  HttpCall *call = http_call_new (api, msg, route, start_us);

  call->request_id = dsm_host_submit (api->host, cmd, http_machine_on_reply, call);
}

/* ---- POST /v1/machines/{name} ---- */

static const char *const post_keys[] = { "to", "from", "definition", "client_id", "seq", NULL };

void
http_machine_post (DsmHttpApi *api, SoupServerMessage *msg, const char *name, gint64 start_us)
{
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr(GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (body, &length);

  if (length > DSM_HTTP_BODY_BYTES_MAX)
    {
      http_respond_error (api, msg, ROUTE_MACHINE_POST, start_us, 413, "body_too_large",
                          "request body of %" G_GSIZE_FORMAT " bytes exceeds %d", length, DSM_HTTP_BODY_BYTES_MAX);
      return;
    }
  g_autoptr(JsonNode) root = dsm_codec_parse (data != NULL ? data : "", length, &error);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      http_respond_error (api, msg, ROUTE_MACHINE_POST, start_us, 400, "bad_json",
                          "body: %s", root == NULL ? error->message : "expected a JSON object like {\"to\": \"Running\"}");
      return;
    }

  /* Build the core's command object from the body, refusing unknown keys
   * (a typo such as "state" must not pass as a command without "to"). */
  JsonObject *in = json_node_get_object (root);
  g_autoptr(GList) members = json_object_get_members (in);
  g_autoptr(JsonObject) object = json_object_new ();
  for (GList *l = members; l != NULL; l = l->next)
    {
      if (!g_strv_contains (post_keys, l->data))
        {
          http_respond_error (api, msg, ROUTE_MACHINE_POST, start_us, 400, "bad_request",
                              "body: unknown key \"%s\" (expected to, from, definition, client_id, seq)",
                              (const char *) l->data);
          return;
        }
      json_object_set_member (object, l->data, json_node_copy (json_object_get_member (in, l->data)));
    }
  if (!json_object_has_member (object, "to"))
    {
      http_respond_error (api, msg, ROUTE_MACHINE_POST, start_us, 400, "bad_request",
                          "body: \"to\" is required, e.g. {\"to\": \"Running\"}");
      return;
    }
  json_object_set_string_member (object, "op", "transition");
  json_object_set_string_member (object, "machine", name);
  g_autoptr(JsonNode) cmd_node = json_node_init_object (json_node_alloc (), object);
  DsmCommand cmd;
  if (!dsm_codec_command_from_json (cmd_node, "body", &cmd, &error))
    {
      http_respond_error (api, msg, ROUTE_MACHINE_POST, start_us, 400, "bad_request", "%s", error->message);
      return;
    }
  if (cmd.definition != NULL && dsm_config_find_definition (dsm_host_get_config (api->host), cmd.definition) == NULL)
    {
      http_respond_error (api, msg, ROUTE_MACHINE_POST, start_us, 400, "unknown_definition",
                          "body.definition: no machine definition named \"%s\"", cmd.definition);
      dsm_command_clear (&cmd);
      return;
    }
  http_submit (api, msg, ROUTE_MACHINE_POST, start_us, &cmd);
  dsm_command_clear (&cmd);
}

/* ---- GET /v1/machines/{name} ---- */

static gboolean
query_flag (const char *value)
{
  return value != NULL && (strcmp (value, "1") == 0 || strcmp (value, "true") == 0 || value[0] == '\0');
}

static gboolean
http_query_check (DsmHttpApi *api, SoupServerMessage *msg, Route route, gint64 start_us,
                  GHashTable *query, const char *const *allowed)
{
  GHashTableIter iter;
  gpointer key;

  if (query == NULL)
    return TRUE;
  g_hash_table_iter_init (&iter, query);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_strv_contains (allowed, key))
      {
        http_respond_error (api, msg, route, start_us, 400, "bad_request", "unknown query parameter \"%s\"",
                            (const char *) key);
        return FALSE;
      }
  return TRUE;
}

void
http_machine_get (DsmHttpApi *api, SoupServerMessage *msg, const char *name, GHashTable *query,
                  gint64 start_us)
{
  static const char *const allowed[] = { "stale", "definition", NULL };
  const char *definition = query != NULL ? g_hash_table_lookup (query, "definition") : NULL;
  DsmConfig *config = dsm_host_get_config (api->host);

  if (!http_query_check (api, msg, ROUTE_MACHINE_GET, start_us, query, allowed))
    return;
  if (definition != NULL && dsm_config_find_definition (config, definition) == NULL)
    {
      http_respond_error (api, msg, ROUTE_MACHINE_GET, start_us, 400, "unknown_definition",
                          "no machine definition named \"%s\"", definition);
      return;
    }
  if (query != NULL && query_flag (g_hash_table_lookup (query, "stale")))
    {
      /* This node's applied state, without asking anyone: may lag. */
      DsmNode *node = dsm_host_get_node (api->host);
      const char *state = dsm_store_read (dsm_node_get_store (node), name, definition, NULL);
      if (state == NULL)
        {
          http_respond_error (api, msg, ROUTE_MACHINE_GET, start_us, 400, "bad_request",
                              "machine \"%s\" is not of definition \"%s\"", name, definition);
          return;
        }
      GString *json = g_string_new ("{");
      json_string (json, "machine", name);
      json_string (json, "state", state);
      json_uint (json, "index", dsm_node_get_applied_index (node));
      g_string_append_c (json, '}');
      http_respond (api, msg, ROUTE_MACHINE_GET, start_us, 200, json);
      return;
    }
  DsmCommand cmd = { .op = DSM_OP_READ, .machine = (char *) name, .definition = (char *) definition };
  http_submit (api, msg, ROUTE_MACHINE_GET, start_us, &cmd);
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

/* A query parameter that must be an unsigned integer in [@min, @max];
 * absent: @fallback.  FALSE (answered 400) when it is anything else. */
static gboolean
query_uint (DsmHttpApi *api, SoupServerMessage *msg, Route route, gint64 start_us, GHashTable *query,
            const char *key, guint64 min, guint64 max, guint64 fallback, guint64 *out)
{
  const char *text = query != NULL ? g_hash_table_lookup (query, key) : NULL;
  g_autoptr(GError) error = NULL;

  *out = fallback;
  if (text == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, min, max, out, &error))
    {
      http_respond_error (api, msg, route, start_us, 400, "bad_request", "query parameter %s: %s", key,
                          error->message);
      return FALSE;
    }
  return TRUE;
}

void
http_machines_list (DsmHttpApi *api, SoupServerMessage *msg, GHashTable *query, gint64 start_us)
{
  static const char *const allowed[] = { "cursor", "limit", NULL };
  DsmNode *node = dsm_host_get_node (api->host);
  const DsmStore *store = dsm_node_get_store (node);
  guint total = dsm_store_get_n_machines (store);
  guint64 cursor, limit;
  GString *json;
  guint listed;

  if (!http_query_check (api, msg, ROUTE_MACHINES_LIST, start_us, query, allowed)
      || !query_uint (api, msg, ROUTE_MACHINES_LIST, start_us, query, "cursor", 0, G_MAXUINT, 0, &cursor)
      || !query_uint (api, msg, ROUTE_MACHINES_LIST, start_us, query, "limit", 1, DSM_HTTP_LIST_LIMIT_MAX,
                      DSM_HTTP_LIST_LIMIT_DEFAULT, &limit))
    return;
  json = g_string_new ("{");
  json_uint (json, "node", dsm_node_get_id (node));
  json_uint (json, "commit_index", dsm_node_get_commit_index (node));
  json_uint (json, "applied_index", dsm_node_get_applied_index (node));
  json_string (json, "note", "this node's local view: every instance it has applied, as of applied_index, "
                             "in creation order (the same on every node), a page at a time from cursor; "
                             "instances never touched are in their initial state and not listed");
  json_uint (json, "total", total);
  json_uint (json, "cursor", cursor);
  json_key (json, "machines");
  g_string_append_c (json, '[');
  listed = dsm_store_foreach_range (store, (guint) cursor, (guint) limit, list_one, json);
  if (json->str[json->len - 1] == ',')
    g_string_truncate (json, json->len - 1);
  g_string_append_c (json, ']');
  /* The cursor of the next page, or null when this one reached the end. */
  json_key (json, "next_cursor");
  if (cursor + listed < total)
    g_string_append_printf (json, "%" G_GUINT64_FORMAT, cursor + listed);
  else
    g_string_append (json, "null");
  g_string_append_c (json, '}');
  http_respond (api, msg, ROUTE_MACHINES_LIST, start_us, 200, json);
}
