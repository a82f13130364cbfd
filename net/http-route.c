/* net/http-route.c: the HTTP API's worker side: each request is routed,
 * its credentials checked (tokens, client certificates, roles), its rate
 * limited, its query and body read strictly, then handed to the consensus
 * loop, or refused on the spot (docs/OPERATIONS.md, "HTTP API").  Runs on
 * the HTTP worker threads: it reads the immutable config, never the node. */
#include "http-private.h"

#include <string.h>

#include "codec.h"
#include "error.h"
#include "json.h"
#include "payload.h"
#include "netlog.h"

#define MACHINES "/v1/machines"
#define MACHINES_PREFIX "/v1/machines/"
#define DEFINITIONS_PREFIX "/v1/definitions/"

void
http_call_free (gpointer data)
{
  HttpCall *call = data;

  dsm_command_clear (&call->cmd);
  g_free (call->prefix);
  g_free (call->who);
  g_free (call);
}

/* ---- routing ---- */

static gboolean
route_method_not_allowed (HttpCall *call, const char *method, const char *allow)
{
  dsm_http_request_add_header (call->request, "Allow", allow);
  http_answer_error (call, 405, "method_not_allowed", "%s is not allowed here; use %s", method, allow);
  return FALSE;
}

/* The administrative endpoints (docs/API.md, "Administration"):
 * the membership (reading it needs the read role), leadership transfer,
 * definitions and snapshots, all admin. */
static gboolean
route_match_admin (HttpCall *call, const char *method, const char *path, DsmHttpRole *needed)
{
  gboolean get = strcmp (method, "GET") == 0;
  gboolean post = strcmp (method, "POST") == 0;

  *needed = DSM_HTTP_ROLE_ADMIN;
  if (strcmp (path, "/v1/members") == 0)
    {
      call->route = post ? ROUTE_MEMBERS_POST : ROUTE_MEMBERS;
      call->op = post ? OP_ADMIN_SUBMIT : OP_MEMBERS;
      if (get)
        *needed = DSM_HTTP_ROLE_READ;
      return get || post || route_method_not_allowed (call, method, "GET, POST");
    }
  if (strcmp (path, "/v1/leader/transfer") == 0)
    {
      call->route = ROUTE_TRANSFER;
      call->op = OP_TRANSFER;
      return post || route_method_not_allowed (call, method, "POST");
    }
  if (strcmp (path, "/v1/snapshot") == 0)
    {
      call->route = ROUTE_SNAPSHOT;
      call->op = OP_SNAPSHOT;
      return get || route_method_not_allowed (call, method, "GET");
    }
  if (g_str_has_prefix (path, DEFINITIONS_PREFIX))
    {
      const char *segment = path + strlen (DEFINITIONS_PREFIX);
      g_autofree char *name = strchr (segment, '/') == NULL ? g_uri_unescape_string (segment, NULL) : NULL;
      g_autoptr(GError) error = NULL;

      call->route = ROUTE_DEFINITION_PUT;
      call->op = OP_ADMIN_SUBMIT;
      if (strcmp (method, "PUT") != 0)
        return route_method_not_allowed (call, method, "PUT");
      if (name == NULL || !dsm_command_check_name ("definition", name, &error))
        {
          http_answer_error (call, 400, "bad_name", "%s",
                             error != NULL ? error->message : "bad definition name in the path (one segment)");
          return FALSE;
        }
      call->cmd.op = DSM_OP_DEFINE;
      call->cmd.definition = g_steal_pointer (&name);
      return TRUE;
    }
  http_answer_error (call, 404, "not_found", "no such endpoint; see /v1/machines, /v1/cluster, /v1/members, "
                     "/v1/leader/transfer, /v1/definitions/NAME, /v1/snapshot, /metrics, /healthz");
  return FALSE;
}

/* The route, the operation and the role a request needs, from its method
 * and path; FALSE once answered (404, 405, 400 for a bad name). */
static gboolean
route_match (HttpCall *call, const char *method, const char *path, DsmHttpRole *needed)
{
  gboolean get = strcmp (method, "GET") == 0;
  gboolean post = strcmp (method, "POST") == 0;
  const DsmHttpConfig *http = &call->api->config->http;

  *needed = DSM_HTTP_ROLE_READ;
  if (strcmp (path, "/healthz") == 0)
    {
      call->route = ROUTE_HEALTHZ;
      call->op = OP_HEALTHZ;
      *needed = DSM_HTTP_ROLE_NONE;
      return get || route_method_not_allowed (call, method, "GET");
    }
  if (strcmp (path, "/metrics") == 0 || strcmp (path, "/v1/cluster") == 0)
    {
      gboolean metrics = path[1] == 'm';
      call->route = metrics ? ROUTE_METRICS : ROUTE_CLUSTER;
      call->op = metrics ? OP_METRICS : OP_CLUSTER;
      if (g_strv_contains ((const char *const *) http->open_paths, path))
        *needed = DSM_HTTP_ROLE_NONE;
      return get || route_method_not_allowed (call, method, "GET");
    }
  if (strcmp (path, MACHINES) == 0 || strcmp (path, MACHINES_PREFIX) == 0)
    {
      call->route = ROUTE_MACHINES_LIST;
      call->op = OP_LIST;
      if (g_strv_contains ((const char *const *) http->open_paths, MACHINES))
        *needed = DSM_HTTP_ROLE_NONE;
      return get || route_method_not_allowed (call, method, "GET");
    }
  if (g_str_has_prefix (path, MACHINES_PREFIX))
    {
      const char *segment = path + strlen (MACHINES_PREFIX);
      g_autoptr(GError) error = NULL;
      g_autofree char *name = NULL;

      call->route = post ? ROUTE_MACHINE_POST : ROUTE_MACHINE_GET;
      if (!get && !post)
        return route_method_not_allowed (call, method, "GET, POST");
      /* One segment, percent-decoded: "a%2Fb" is the machine "a/b". */
      name = strchr (segment, '/') == NULL ? g_uri_unescape_string (segment, NULL) : NULL;
      if (name == NULL)
        {
          http_answer_error (call, 400, "bad_name",
                             "bad machine name in the path (one segment; percent-encode '/' as %%2F)");
          return FALSE;
        }
      if (!dsm_command_check_machine_name ("machine", name, &error))
        {
          http_answer_error (call, 400, "bad_name", "%s", error->message);
          return FALSE;
        }
      call->cmd.machine = g_steal_pointer (&name);
      if (post)
        {
          call->op = OP_SUBMIT;
          *needed = DSM_HTTP_ROLE_WRITE;
        }
      else
        {
          call->op = OP_SUBMIT;
          call->cmd.op = DSM_OP_READ;
          if (g_strv_contains ((const char *const *) http->open_paths, MACHINES))
            *needed = DSM_HTTP_ROLE_NONE;
        }
      return TRUE;
    }
  return route_match_admin (call, method, path, needed);
}

/* ---- credentials ---- */

static const char *
route_token (const char *authorization)
{
  if (g_ascii_strncasecmp (authorization, "Bearer ", 7) != 0)
    return NULL;
  authorization += 7;
  while (*authorization == ' ')
    authorization++;
  return *authorization != '\0' ? authorization : NULL;
}

static void
route_count_auth (HttpCall *call, AuthFailure reason)
{
  __atomic_fetch_add (&call->api->auth_failures[reason], 1, __ATOMIC_RELAXED);
}

/* Who is asking (for logs and the rate limit), what they may do, and
 * whether they may do this; FALSE once answered (401, 403, 429). */
static gboolean
route_authorize (HttpCall *call, DsmHttpRole needed)
{
  DsmHttpApi *api = call->api;
  DsmHttpRequest *request = call->request;
  const char *authorization = dsm_http_request_get_header (request, "authorization");
  GTlsCertificate *cert = dsm_http_request_get_peer_certificate (request);
  DsmHttpRole role = DSM_HTTP_ROLE_NONE;
  gboolean invalid = FALSE;
  guint retry_after_s;

  if (api->auth != NULL && authorization != NULL)
    {
      const char *token = route_token (authorization);
      g_autofree char *name = NULL;

      role = token != NULL ? dsm_http_auth_check_token (api->auth, token, &name) : DSM_HTTP_ROLE_NONE;
      invalid = role == DSM_HTTP_ROLE_NONE;
      if (!invalid)
        call->who = g_strdup_printf ("token %s", name);
    }
  else if (api->auth != NULL && cert != NULL)
    {
      g_autofree char *cn = NULL;
      role = dsm_http_auth_check_certificate (api->auth, cert, &cn);
      call->who = g_strdup_printf ("certificate %s", cn != NULL ? cn : "(no CN)");
    }
  if (call->who == NULL)
    call->who = g_strdup_printf ("address %s", dsm_http_request_get_peer_host (request));

  if (!dsm_http_rate_take (api->rate, call->who, g_get_monotonic_time (), &retry_after_s))
    {
      g_autofree char *retry = g_strdup_printf ("%u", retry_after_s);
      __atomic_fetch_add (&api->rate_limited, 1, __ATOMIC_RELAXED);
      dsm_net_log_limited (G_LOG_LEVEL_INFO, api->node, "http_rate_limited", call->who,
                           "HTTP requests of %s over http.rate_per_second: answered 429", call->who);
      dsm_http_request_add_header (request, "Retry-After", retry);
      http_answer_error (call, 429, "rate_limited", "more than %u requests a second; retry in %u s",
                         api->config->http.rate_per_second, retry_after_s);
      return FALSE;
    }
  if (api->auth == NULL || needed == DSM_HTTP_ROLE_NONE)
    return TRUE;
  if (invalid)
    {
      route_count_auth (call, AUTH_FAIL_INVALID);
      dsm_net_log_limited (G_LOG_LEVEL_WARNING, api->node, "http_auth_failed", dsm_http_request_get_peer_host (request),
                           "refused a request from %s: invalid credentials", dsm_http_request_get_peer_host (request));
      dsm_http_request_add_header (request, "WWW-Authenticate", "Bearer realm=\"dsm\", error=\"invalid_token\"");
      http_answer_error (call, 401, "invalid_token", "the Authorization header holds no valid bearer token");
      return FALSE;
    }
  if (authorization == NULL && cert == NULL)
    {
      route_count_auth (call, AUTH_FAIL_MISSING);
      dsm_http_request_add_header (request, "WWW-Authenticate", "Bearer realm=\"dsm\"");
      http_answer_error (call, 401, "unauthorized", "credentials needed: send Authorization: Bearer TOKEN");
      return FALSE;
    }
  if (role < needed)
    {
      route_count_auth (call, AUTH_FAIL_FORBIDDEN);
      http_answer_error (call, 403, "forbidden", "%s has role %s; this needs %s", call->who,
                         dsm_http_role_to_string (role), dsm_http_role_to_string (needed));
      return FALSE;
    }
  return TRUE;
}

/* ---- the query ---- */

typedef struct {
  const char *name;
  char *value;                  /* NULL: absent */
} Param;

/* Splits "a=1&b" into the parameters @params names; FALSE once answered
 * (400: unknown, repeated, empty or badly encoded). */
static gboolean
route_split_query (HttpCall *call, const char *query, Param *params, guint n_params, const char *expected)
{
  g_auto(GStrv) pairs = NULL;

  if (query == NULL)
    return TRUE;
  pairs = g_strsplit (query, "&", -1);
  for (char **p = pairs; *p != NULL; p++)
    {
      const char *eq = strchr (*p, '=');
      g_autofree char *raw_key = eq != NULL ? g_strndup (*p, (gsize) (eq - *p)) : g_strdup (*p);
      g_autofree char *key = g_uri_unescape_string (raw_key, NULL);
      g_autofree char *value = g_uri_unescape_string (eq != NULL ? eq + 1 : "", NULL);
      Param *param = NULL;

      if (key == NULL || value == NULL || key[0] == '\0')
        {
          http_answer_error (call, 400, "bad_request", "query: \"%.64s\" is not a parameter (key=value, "
                             "percent-encoded)", *p);
          return FALSE;
        }
      for (guint i = 0; i < n_params; i++)
        if (strcmp (params[i].name, key) == 0)
          param = &params[i];
      if (param == NULL)
        {
          g_autoptr(GString) quoted = g_string_new (NULL);
          dsm_codec_write_string (quoted, key);
          http_answer_error (call, 400, "bad_request", "unknown query parameter %s (%s)", quoted->str, expected);
          return FALSE;
        }
      if (param->value != NULL)
        {
          http_answer_error (call, 400, "bad_request", "query parameter %s given twice", key);
          return FALSE;
        }
      param->value = g_steal_pointer (&value);
    }
  return TRUE;
}

static gboolean
route_query_flag (HttpCall *call, const Param *param, gboolean *out)
{
  const char *v = param->value;

  *out = FALSE;
  if (v == NULL)
    return TRUE;
  if (v[0] == '\0' || strcmp (v, "1") == 0 || strcmp (v, "true") == 0)
    *out = TRUE;
  else if (strcmp (v, "0") != 0 && strcmp (v, "false") != 0)
    {
      g_autoptr(GString) quoted = g_string_new (NULL);
      dsm_codec_write_string (quoted, v);
      http_answer_error (call, 400, "bad_request", "query parameter %s: expected 1, true, 0 or false, found %.80s",
                         param->name, quoted->str);
      return FALSE;
    }
  return TRUE;
}

static gboolean
route_query_uint (HttpCall *call, const Param *param, guint64 min, guint64 max, guint64 fallback, guint64 *out)
{
  g_autoptr(GError) error = NULL;

  *out = fallback;
  if (param->value == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (param->value, 10, min, max, out, &error))
    {
      http_answer_error (call, 400, "bad_request", "query parameter %s: %s", param->name, error->message);
      return FALSE;
    }
  return TRUE;
}

static void
params_clear (Param *params, guint n)
{
  for (guint i = 0; i < n; i++)
    g_free (params[i].value);
}

/* A watch's revision: from_revision, or the Last-Event-ID an
 * EventSource resends on reconnecting (the later of the two); FALSE once
 * answered. */
static gboolean
route_watch_revision (HttpCall *call, const Param *from)
{
  const char *last_id = dsm_http_request_get_header (call->request, "last-event-id");
  guint64 last = 0;
  g_autoptr(GError) error = NULL;

  if (!route_query_uint (call, from, 0, G_MAXINT64, 0, &call->from_revision))
    return FALSE;
  call->from_given = from->value != NULL;
  if (last_id == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (last_id, 10, 0, G_MAXINT64, &last, &error))
    {
      http_answer_error (call, 400, "bad_request", "header Last-Event-ID: %s", error->message);
      return FALSE;
    }
  call->from_revision = MAX (call->from_revision, last);
  call->from_given = TRUE;
  return TRUE;
}

/* Parameters that only a watch (@watch) takes, or only a plain read; the
 * first one given where it does not belong is named in a 400. */
static gboolean
route_query_only (HttpCall *call, const Param *params, guint n, gboolean watch, const char *const *watch_only)
{
  for (guint i = 0; i < n; i++)
    {
      gboolean for_watch = g_strv_contains (watch_only, params[i].name);
      if (params[i].value == NULL || strcmp (params[i].name, "watch") == 0 || for_watch == watch)
        continue;
      http_answer_error (call, 400, "bad_request", watch ? "query parameter %s does not go with watch=1"
                         : "query parameter %s needs watch=1", params[i].name);
      return FALSE;
    }
  return TRUE;
}

/* Each route's parameters, checked before any body is read. */
static gboolean
route_parse_query (HttpCall *call, const char *query)
{
  static const char *const watch_only[] = { "from_revision", "prefix", NULL };
  gboolean ok = TRUE;
  gboolean watch = FALSE;

  if (call->route == ROUTE_MACHINE_GET)
    {
      Param params[] = { { "stale", NULL }, { "definition", NULL }, { "watch", NULL }, { "from_revision", NULL } };
      gboolean stale = FALSE;
      g_autoptr(GError) error = NULL;

      ok = route_split_query (call, query, params, G_N_ELEMENTS (params),
                              "expected stale, definition, watch, from_revision")
           && route_query_flag (call, &params[0], &stale) && route_query_flag (call, &params[2], &watch)
           && route_query_only (call, params, G_N_ELEMENTS (params), watch, watch_only);
      if (ok && params[1].value != NULL && !dsm_command_check_name ("query parameter definition", params[1].value, &error))
        {
          http_answer_error (call, 400, "bad_request", "%s", error->message);
          ok = FALSE;
        }
      if (ok && watch)
        {
          ok = route_watch_revision (call, &params[3]);
          call->route = ROUTE_WATCH;
          call->op = OP_WATCH;
        }
      else if (ok)
        {
          call->cmd.definition = g_steal_pointer (&params[1].value);
          if (stale)
            call->op = OP_STALE_READ;
        }
      params_clear (params, G_N_ELEMENTS (params));
      return ok;
    }
  if (call->route == ROUTE_MACHINES_LIST)
    {
      Param params[] = { { "cursor", NULL }, { "limit", NULL }, { "watch", NULL }, { "prefix", NULL },
                         { "from_revision", NULL } };
      g_autoptr(GError) error = NULL;

      ok = route_split_query (call, query, params, G_N_ELEMENTS (params),
                              "expected cursor, limit, watch, prefix, from_revision")
           && route_query_flag (call, &params[2], &watch)
           && route_query_only (call, params, G_N_ELEMENTS (params), watch, watch_only)
           && route_query_uint (call, &params[0], 0, G_MAXUINT, 0, &call->cursor)
           && route_query_uint (call, &params[1], 1, DSM_HTTP_LIST_LIMIT_MAX, DSM_HTTP_LIST_LIMIT_DEFAULT, &call->limit);
      /* A prefix follows the rule of names, but may be empty (every machine). */
      if (ok && watch && params[3].value != NULL && params[3].value[0] != '\0'
          && !dsm_command_check_name ("query parameter prefix", params[3].value, &error))
        {
          http_answer_error (call, 400, "bad_request", "%s", error->message);
          ok = FALSE;
        }
      if (ok && watch)
        {
          ok = route_watch_revision (call, &params[4]);
          call->route = ROUTE_WATCH;
          call->op = OP_WATCH;
          call->prefix = g_strdup (params[3].value != NULL ? params[3].value : "");
        }
      params_clear (params, G_N_ELEMENTS (params));
      return ok;
    }
  /* Every other route takes no parameter. */
  return route_split_query (call, query, NULL, 0, "this endpoint takes none");
}

/* ---- the POST body ---- */

static const char *const post_keys[] = {
  "to", "from", "definition", "client_id", "seq", "payload", "if_revision", NULL,
};

/* The body's "payload" object, in its canonical text (the one spelling
 * every node stores) and within the config's payload limits (docs/CONFIG.md,
 * "Payloads"), replaced in @in by that text: the core's command carries
 * it as a string.  FALSE once answered. */
static gboolean
route_parse_payload (HttpCall *call, JsonObject *in)
{
  const DsmConfig *config = call->api->config;
  JsonNode *payload = json_object_get_member (in, "payload");

  if (payload == NULL || JSON_NODE_HOLDS_NULL (payload))
    {
      json_object_remove_member (in, "payload");
      return TRUE;
    }
  DsmPayloadLimits limits = {
    config->payload_bytes_max, config->payload_depth_max, config->payload_fields_max,
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *text = dsm_payload_canonical (payload, "body.payload", &limits, &error);
  if (text == NULL)
    {
      if (error->code == DSM_JSON_ERROR_TYPE)
        http_answer_error (call, 400, "bad_request", "%s", error->message);
      else
        http_answer_error (call, error->code == DSM_JSON_ERROR_TOO_LARGE || error->code == DSM_JSON_ERROR_TOO_DEEP
                                     ? 413
                                     : 400,
                           "bad_payload", "%s", error->message);
      return FALSE;
    }
  json_object_set_string_member (in, "payload", text);
  return TRUE;
}

static gboolean
route_parse_body (HttpCall *call)
{
  gsize length;
  const char *data = (const char *) dsm_http_request_get_body (call->request, &length);
  g_autoptr(GError) error = NULL;
  /* Deep enough for a payload as deep as any config allows, under the body. */
  static const DsmJsonLimits limits = { DSM_CODEC_INPUT_BYTES_MAX, 1 + DSM_PAYLOAD_DEPTH_MAX };
  g_autoptr(JsonNode) root = length > 0 ? dsm_json_parse (data, (gssize) length, &limits,
                                                         &dsm_codec_json_errors, &error)
                                        : dsm_codec_parse (data, length, &error);
  g_autofree char *machine = g_steal_pointer (&call->cmd.machine);

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      http_answer_error (call, 400, "bad_json", "body: %s",
                         root == NULL ? error->message : "expected a JSON object like {\"to\": \"Running\"}");
      return FALSE;
    }
  /* The core's command object from the body, refusing unknown keys (a
   * typo such as "state" must not pass as a command without "to"). */
  JsonObject *in = json_node_get_object (root);
  g_autoptr(GList) members = json_object_get_members (in);
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (post_keys, l->data))
      {
        g_autoptr(GString) quoted = g_string_new (NULL);
        dsm_codec_write_string (quoted, l->data);
        http_answer_error (call, 400, "bad_request", "body: unknown key %s (expected to, from, definition, "
                           "client_id, seq, payload, if_revision)", quoted->str);
        return FALSE;
      }
  if (!json_object_has_member (in, "to"))
    {
      http_answer_error (call, 400, "bad_request", "body: \"to\" is required, e.g. {\"to\": \"Running\"}");
      return FALSE;
    }
  if (!route_parse_payload (call, in))
    return FALSE;
  json_object_set_string_member (in, "op", "transition");
  json_object_set_string_member (in, "machine", machine);
  if (!dsm_codec_command_from_json (root, "body", &call->cmd, &error))
    {
      http_answer_error (call, 400, "bad_request", "%s", error->message);
      return FALSE;
    }
  /* Whether the definition exists is the leader's to say, from the
   * replicated definitions (PROTOCOL.md, "Machine definitions"): the
   * config file only bootstrapped them. */
  return TRUE;
}

/* ---- the admin bodies ---- */

/* The body as a JSON object with keys from @allowed only; NULL once
 * answered.  An empty body is {} when @empty_ok. */
static JsonNode *
route_body_object (HttpCall *call, const char *const *allowed, const char *expected, gboolean empty_ok)
{
  gsize length;
  const char *data = (const char *) dsm_http_request_get_body (call->request, &length);
  g_autoptr(GError) error = NULL;

  if (length == 0 && empty_ok)
    return json_node_init_object (json_node_alloc (), json_object_new ());
  g_autoptr(JsonNode) root = dsm_codec_parse (data, length, &error);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      http_answer_error (call, 400, "bad_json", "body: %s", root == NULL ? error->message : "expected a JSON object");
      return NULL;
    }
  g_autoptr(GList) members = json_object_get_members (json_node_get_object (root));
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      {
        g_autoptr(GString) quoted = g_string_new (NULL);
        dsm_codec_write_string (quoted, l->data);
        http_answer_error (call, 400, "bad_request", "body: unknown key %s (expected %s)", quoted->str, expected);
        return NULL;
      }
  return g_steal_pointer (&root);
}

/* POST /v1/members {"op": "add"|"promote"|"remove", "id", "peer_address",
 * "client_address", "native_address", "client_id", "seq"}: the core's
 * membership command. */
static gboolean
route_parse_members (HttpCall *call)
{
  static const char *const keys[] = { "op", "id", "peer_address", "client_address", "native_address", "client_id",
                                      "seq", NULL };
  static const char *const ops[][2] = { { "add", "add_member" }, { "promote", "promote_member" },
                                        { "remove", "remove_member" } };
  g_autoptr(JsonNode) root = route_body_object (call, keys,
                                                "op, id, peer_address, client_address, native_address, client_id, "
                                                "seq", FALSE);
  g_autoptr(GError) error = NULL;
  const char *core_op = NULL;

  if (root == NULL)
    return FALSE;
  JsonObject *in = json_node_get_object (root);
  JsonNode *op = json_object_get_member (in, "op");
  for (guint i = 0; op != NULL && JSON_NODE_HOLDS_VALUE (op) && json_node_get_value_type (op) == G_TYPE_STRING
                    && i < G_N_ELEMENTS (ops); i++)
    if (strcmp (json_node_get_string (op), ops[i][0]) == 0)
      core_op = ops[i][1];
  if (core_op == NULL)
    {
      http_answer_error (call, 400, "bad_request", "body.op: expected \"add\", \"promote\" or \"remove\"");
      return FALSE;
    }
  json_object_set_string_member (in, "op", core_op);
  if (json_object_has_member (in, "id"))
    {
      json_object_set_member (in, "node", json_node_copy (json_object_get_member (in, "id")));
      json_object_remove_member (in, "id");
    }
  if (!dsm_codec_command_from_json (root, "body", &call->cmd, &error))
    {
      http_answer_error (call, 400, "bad_request", "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

/* PUT /v1/definitions/{name}: the body is the definition's JSON text;
 * the leader validates it (PROTOCOL.md, "Machine definitions"). */
static gboolean
route_parse_definition (HttpCall *call)
{
  gsize length;
  const char *data = (const char *) dsm_http_request_get_body (call->request, &length);
  g_autoptr(GError) error = NULL;

  if (length > DSM_SPEC_BYTES_MAX)
    {
      http_answer_error (call, 413, "body_too_large", "a definition is at most %u bytes", DSM_SPEC_BYTES_MAX);
      return FALSE;
    }
  if (length == 0 || data == NULL)
    {
      http_answer_error (call, 400, "bad_json", "body: the definition's JSON is required (docs/CONFIG.md, "
                         "\"Machine definitions\")");
      return FALSE;
    }
  if (!g_utf8_validate (data, (gssize) length, NULL) || memchr (data, '\0', length) != NULL)
    {
      http_answer_error (call, 400, "bad_json", "body: not UTF-8 text");
      return FALSE;
    }
  call->cmd.spec = g_strndup (data, length);
  /* A client id makes a retried PUT apply once (like a transition's). */
  const char *client_id = dsm_http_request_get_header (call->request, "dsm-client-id");
  const char *seq = dsm_http_request_get_header (call->request, "dsm-seq");
  if ((client_id != NULL) != (seq != NULL)
      || (seq != NULL && !g_ascii_string_to_unsigned (seq, 10, 1, G_MAXINT64, &call->cmd.seq, NULL)))
    {
      http_answer_error (call, 400, "bad_request", "headers Dsm-Client-Id and Dsm-Seq (>= 1) go together");
      return FALSE;
    }
  call->cmd.client_id = g_strdup (client_id);
  if (!dsm_command_check (&call->cmd, &error))
    {
      http_answer_error (call, 400, "bad_request", "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

/* POST /v1/leader/transfer {"to": N} (or no body: the most up-to-date voter). */
static gboolean
route_parse_transfer (HttpCall *call)
{
  static const char *const keys[] = { "to", NULL };
  g_autoptr(JsonNode) root = route_body_object (call, keys, "to", TRUE);

  if (root == NULL)
    return FALSE;
  JsonNode *to = json_object_get_member (json_node_get_object (root), "to");
  if (to == NULL || JSON_NODE_HOLDS_NULL (to))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (to) || json_node_get_value_type (to) != G_TYPE_INT64 || json_node_get_int (to) < 1
      || json_node_get_int (to) > DSM_NODE_ID_MAX)
    {
      http_answer_error (call, 400, "bad_request", "body.to: expected a node id");
      return FALSE;
    }
  call->target = (DsmNodeId) json_node_get_int (to);
  return TRUE;
}

/* ---- the server's callbacks ---- */

gboolean
http_route_on_head (DsmHttpRequest *request, gpointer user_data)
{
  DsmHttpApi *api = user_data;
  HttpCall *call = g_new0 (HttpCall, 1);
  const char *target = dsm_http_request_get_target (request);
  const char *method = dsm_http_request_get_method (request);
  const char *question = strchr (target, '?');
  g_autofree char *path = question != NULL ? g_strndup (target, (gsize) (question - target)) : g_strdup (target);
  DsmHttpRole needed;

  call->api = api;
  call->request = request;
  call->route = ROUTE_OTHER;
  call->start_us = g_get_monotonic_time ();
  dsm_http_request_set_data (request, call, http_call_free);

  if (g_atomic_int_get (&api->stopping))
    {
      http_answer_error (call, 503, "stopping", "node shutting down");
      return FALSE;
    }
  if (!route_match (call, method, path, &needed) || !route_authorize (call, needed))
    return FALSE;
  if (strcmp (method, "GET") == 0 && dsm_http_message_has_body (dsm_http_request_get_message (request)))
    {
      http_answer_error (call, 400, "bad_request", "a GET request takes no body");
      return FALSE;
    }
  return route_parse_query (call, question != NULL ? question + 1 : NULL);
}

/* The whole request is in: its body read strictly; FALSE once answered. */
static gboolean
route_check_request (HttpCall *call, DsmHttpRequest *request)
{
  g_assert (call != NULL);
  g_assert (call->request == request);
  g_assert (call->op != OP_NONE);
  return (call->route != ROUTE_MACHINE_POST || route_parse_body (call))
         && (call->route != ROUTE_MEMBERS_POST || route_parse_members (call))
         && (call->route != ROUTE_DEFINITION_PUT || route_parse_definition (call))
         && (call->route != ROUTE_TRANSFER || route_parse_transfer (call));
}

void
http_route_on_request (DsmHttpRequest *request, gpointer user_data)
{
  DsmHttpApi *api = user_data;
  HttpCall *call = dsm_http_request_get_data (request);

  if (!route_check_request (call, request))
    return;
  if (dsm_loop_queue_push (api->queue, call))
    return;
  if (g_atomic_int_get (&api->stopping))
    {
      http_answer_error (call, 503, "stopping", "node shutting down");
      return;
    }
  __atomic_fetch_add (&api->overloaded, 1, __ATOMIC_RELAXED);
  dsm_http_request_add_header (request, "Retry-After", "1");
  http_answer_error (call, 503, "overloaded", "too many requests waiting for the consensus loop; retry later");
}

/* ---- the worker side without sockets (http.h) ---- */

static const char *const op_names[] = {
  [OP_NONE] = NULL,
  [OP_HEALTHZ] = "healthz",
  [OP_METRICS] = "metrics",
  [OP_CLUSTER] = "cluster",
  [OP_LIST] = "list",
  [OP_STALE_READ] = "stale_read",
  [OP_SUBMIT] = "submit",
  [OP_ADMIN_SUBMIT] = "admin_submit",
  [OP_MEMBERS] = "members",
  [OP_TRANSFER] = "transfer",
  [OP_SNAPSHOT] = "snapshot",
  [OP_WATCH] = "watch",
};

void
dsm_http_api_route (DsmHttpApi *api, DsmHttpMessage *msg, const char *peer_host, DsmHttpRouted *out)
{
  DsmHttpRequest *request = dsm_http_request_new_detached (msg, peer_host);

  memset (out, 0, sizeof *out);
  /* The reference a server hands its callbacks (http-conn.c): the head
   * callback's, which its answer takes; when it does not answer, the same
   * reference goes on to the request callback, which answers or hands the
   * call to the loop. */
  dsm_http_request_ref (request);
  if (http_route_on_head (request, api))
    {
      HttpCall *call = dsm_http_request_get_data (request);
      g_assert (dsm_http_request_get_status (request) == 0);
      if (route_check_request (call, request))
        {
          out->op = op_names[call->op];
          if (call->op == OP_WATCH)
            {
              out->watch_machine = g_strdup (call->cmd.machine);
              out->watch_prefix = g_strdup (call->prefix);
              out->from_revision = call->from_revision;
              out->from_given = call->from_given;
            }
          else
            dsm_command_init_copy (&out->cmd, &call->cmd);
          g_assert (out->op != NULL);
          /* The loop would answer it: the handler's reference goes here. */
          dsm_http_request_unref (request);
        }
    }
  out->status = dsm_http_request_get_status (request);
  out->body = g_strdup (dsm_http_request_get_answer_body (request));
  g_assert ((out->status != 0) == (out->op == NULL));
  dsm_http_request_unref (request);
}

void
dsm_http_routed_clear (DsmHttpRouted *routed)
{
  g_free (routed->body);
  g_free (routed->watch_machine);
  g_free (routed->watch_prefix);
  dsm_command_clear (&routed->cmd);
  memset (routed, 0, sizeof *routed);
}
