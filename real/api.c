/* real/api.c: a small HTTP/1.1 client for the node's API (api.h): one
 * request per connection (Connection: close), a deadline on every wait,
 * answers bounded before they are buffered and read through core/json.h. */
#include "real/api.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "payload.h"

void
dsm_real_answer_clear (DsmRealAnswer *answer)
{
  g_clear_pointer (&answer->body, g_free);
  memset (answer, 0, sizeof *answer);
}

void
dsm_real_reply_clear (DsmRealReply *reply)
{
  g_clear_pointer (&reply->state, g_free);
  g_clear_pointer (&reply->data, g_free);
  memset (reply, 0, sizeof *reply);
}

/* Waits for @cond on @socket until @deadline; FALSE on timeout. */
static gboolean
api_wait (GSocket *socket, GIOCondition cond, gint64 deadline)
{
  gint64 left = deadline - g_get_monotonic_time ();

  return left > 0 && g_socket_condition_timed_wait (socket, cond, left, NULL, NULL);
}

/* The status and the body of a whole answer in @in, once it is whole:
 * headers end, then Content-Length bytes (or the close, without one). */
static gboolean
api_parse (GByteArray *in, gboolean closed, DsmRealAnswer *answer)
{
  const char *text = (const char *) in->data;
  const char *end = in->len > 0 ? g_strstr_len (text, in->len, "\r\n\r\n") : NULL;
  guint status = 0;

  if (end == NULL)
    return FALSE;
  if (in->len < 12 || strncmp (text, "HTTP/1.", 7) != 0 || sscanf (text + 9, "%3u", &status) != 1)
    return FALSE;
  gsize head = (gsize) (end - text) + 4;
  gsize length = G_MAXSIZE;
  g_autofree char *headers = g_strndup (text, head);
  g_auto (GStrv) lines = g_strsplit (headers, "\r\n", -1);
  for (guint i = 1; lines[i] != NULL; i++)
    if (g_ascii_strncasecmp (lines[i], "content-length:", 15) == 0)
      length = (gsize) g_ascii_strtoull (lines[i] + 15, NULL, 10);
  if (length == G_MAXSIZE ? !closed : in->len - head < length)
    return FALSE;
  if (length == G_MAXSIZE)
    length = in->len - head;
  answer->delivery = DSM_REAL_ANSWERED;
  answer->status = status;
  answer->body = g_strndup (text + head, length);
  answer->length = length;
  return TRUE;
}

void
dsm_real_api_request (guint16 port, const char *method, const char *path, const char *token,
                      const char *body, gint64 timeout_us, DsmRealAnswer *answer)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) target = g_inet_socket_address_new (lo, port);
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GString) request = g_string_new (NULL);
  g_autoptr(GByteArray) in = g_byte_array_new ();

  memset (answer, 0, sizeof *answer);
  answer->delivery = DSM_REAL_SENT_NOTHING;
  if (socket == NULL)
    return;
  g_socket_set_blocking (socket, FALSE);
  if (!g_socket_connect (socket, target, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING) || !api_wait (socket, G_IO_OUT, deadline))
        return;
      g_clear_error (&error);
      if (!g_socket_check_connect_result (socket, &error))
        return;
    }

  g_string_append_printf (request, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n", method,
                          path, port);
  if (token != NULL)
    g_string_append_printf (request, "Authorization: Bearer %s\r\n", token);
  if (body != NULL)
    g_string_append_printf (request, "Content-Type: application/json\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n",
                            strlen (body));
  g_string_append (request, "\r\n");
  if (body != NULL)
    g_string_append (request, body);

  /* From the first byte on, the node may have acted on it. */
  answer->delivery = DSM_REAL_NO_ANSWER;
  gsize sent = 0;
  while (sent < request->len)
    {
      g_clear_error (&error);
      gssize n = g_socket_send (socket, request->str + sent, request->len - sent, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) && api_wait (socket, G_IO_OUT, deadline))
        continue;
      if (n <= 0)
        return;
      sent += (gsize) n;
    }
  for (;;)
    {
      char buffer[16384];
      g_clear_error (&error);
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          if (!api_wait (socket, G_IO_IN, deadline))
            return;
          continue;
        }
      if (n < 0)
        return;
      if (n > 0)
        {
          if (in->len + (gsize) n > DSM_REAL_ANSWER_BYTES_MAX)
            return;
          g_byte_array_append (in, (const guint8 *) buffer, (guint) n);
        }
      if (api_parse (in, n == 0, answer) || n == 0)
        return;
    }
}

/* ---- answers as replies ---- */

static JsonNode *
api_parse_body (const DsmRealAnswer *answer)
{
  if (answer->delivery != DSM_REAL_ANSWERED || answer->body == NULL)
    return NULL;
  return dsm_json_parse (answer->body, (gssize) answer->length, NULL, NULL, NULL);
}

static const char *
body_string (JsonNode *root, const char *key)
{
  DsmJsonAt at, member;
  const char *value = NULL;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  dsm_json_at_root (&at, NULL, root, NULL);
  if (!dsm_json_read_member (&member, &at, key, DSM_JSON_OPTIONAL, NULL) || member.node == NULL
      || !dsm_json_get_string (&member, DSM_NAME_MAX, &value, NULL))
    return NULL;
  return value;
}

static guint64
body_uint (JsonNode *root, const char *key)
{
  DsmJsonAt at;
  guint64 value = 0;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return 0;
  dsm_json_at_root (&at, NULL, root, NULL);
  if (!dsm_json_read_uint (&at, key, DSM_JSON_OPTIONAL, 0, G_MAXINT64, &value, NULL))
    return 0;
  return value;
}

/* The machine's revision and data an answer carries (docs/API.md): the
 * data in canonical form, as the checker compares it. */
static void
reply_read_revision (JsonNode *root, DsmRealReply *reply)
{
  JsonObject *object;
  JsonNode *data;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return;
  object = json_node_get_object (root);
  reply->has_revision = json_object_has_member (object, "revision");
  reply->revision = body_uint (root, "revision");
  data = json_object_get_member (object, "data");
  if (data != NULL && JSON_NODE_HOLDS_OBJECT (data))
    reply->data = dsm_payload_to_text (data);
}

static char *
command_path (const DsmCommand *cmd)
{
  g_autofree char *escaped = g_uri_escape_string (cmd->machine, NULL, FALSE);

  if (cmd->op == DSM_OP_READ && cmd->definition != NULL)
    {
      g_autofree char *def = g_uri_escape_string (cmd->definition, NULL, FALSE);
      return g_strdup_printf ("/v1/machines/%s?definition=%s", escaped, def);
    }
  return g_strdup_printf ("/v1/machines/%s", escaped);
}

static char *
command_body (const DsmCommand *cmd)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "to");
  json_builder_add_string_value (builder, cmd->to);
  if (cmd->from != NULL)
    {
      json_builder_set_member_name (builder, "from");
      json_builder_add_string_value (builder, cmd->from);
    }
  if (cmd->definition != NULL)
    {
      json_builder_set_member_name (builder, "definition");
      json_builder_add_string_value (builder, cmd->definition);
    }
  if (cmd->payload != NULL)
    {
      /* The workload's own text: it parses (dsm_workload_run_next()). */
      g_autoptr(JsonNode) payload = dsm_payload_parse (cmd->payload, "payload", &dsm_payload_ceilings, NULL);
      g_assert (payload != NULL);
      json_builder_set_member_name (builder, "payload");
      json_builder_add_value (builder, g_steal_pointer (&payload));
    }
  if (cmd->has_if_revision)
    {
      json_builder_set_member_name (builder, "if_revision");
      json_builder_add_int_value (builder, (gint64) cmd->if_revision);
    }
  if (cmd->client_id != NULL)
    {
      json_builder_set_member_name (builder, "client_id");
      json_builder_add_string_value (builder, cmd->client_id);
      json_builder_set_member_name (builder, "seq");
      json_builder_add_int_value (builder, (gint64) cmd->seq);
    }
  json_builder_end_object (builder);
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

void
dsm_real_api_command (guint16 port, const char *token, const DsmCommand *cmd, gint64 timeout_us,
                      DsmRealReply *reply)
{
  g_autofree char *path = command_path (cmd);
  g_autofree char *body = cmd->op == DSM_OP_TRANSITION ? command_body (cmd) : NULL;
  DsmRealAnswer answer = { 0 };

  memset (reply, 0, sizeof *reply);
  dsm_real_api_request (port, cmd->op == DSM_OP_TRANSITION ? "POST" : "GET", path, token, body, timeout_us,
                        &answer);
  reply->maybe_sent = answer.delivery != DSM_REAL_SENT_NOTHING;
  if (answer.delivery == DSM_REAL_SENT_NOTHING)
    {
      /* Nobody listens there (a node that is down): nothing happened. */
      reply->status = DSM_REPLY_REJECTED;
      reply->reason = DSM_REJECT_NOT_LEADER;
      return;
    }
  if (answer.delivery == DSM_REAL_NO_ANSWER)
    {
      reply->status = DSM_REPLY_UNKNOWN;
      dsm_real_answer_clear (&answer);
      return;
    }
  reply->answered = TRUE;
  g_autoptr(JsonNode) root = api_parse_body (&answer);
  const char *reason = body_string (root, "reason");
  const char *outcome = body_string (root, "outcome");
  DsmRejectReason parsed = DSM_REJECT_NONE;
  if (reason != NULL && !dsm_reject_reason_from_string (reason, &parsed))
    parsed = DSM_REJECT_NONE;
  reply->leader_hint = (DsmNodeId) body_uint (root, "leader");
  reply->index = body_uint (root, "index");
  reply->state = g_strdup (body_string (root, "state"));
  reply_read_revision (root, reply);
  switch (answer.status)
    {
    case 200:
      reply->status = DSM_REPLY_OK;
      break;
    case 409:
      reply->status = DSM_REPLY_REJECTED;
      reply->reason = DSM_REJECT_INVALID_TRANSITION;
      break;
    case 400:
      reply->status = DSM_REPLY_REJECTED;
      reply->reason = DSM_REJECT_BAD_REQUEST;
      break;
    case 503:
    case 507:
      if (g_strcmp0 (outcome, "rejected") == 0 && parsed != DSM_REJECT_NONE)
        {
          reply->status = DSM_REPLY_REJECTED;
          reply->reason = parsed;
        }
      else if (g_strcmp0 (outcome, "rejected") == 0 || g_strcmp0 (reason, "too_many_connections") == 0)
        {
          /* Refused before the core saw it: nothing happened. */
          reply->status = DSM_REPLY_REJECTED;
          reply->reason = DSM_REJECT_OVERLOADED;
        }
      else
        {
          reply->status = DSM_REPLY_UNKNOWN;
          reply->reason = parsed == DSM_REJECT_STALE_REQUEST ? parsed : DSM_REJECT_NONE;
        }
      break;
    default:
      /* Anything else (401, 429, 5xx) says nothing about the command. */
      reply->status = DSM_REPLY_UNKNOWN;
      break;
    }
  if (reply->status != DSM_REPLY_OK && reply->reason != DSM_REJECT_INVALID_TRANSITION)
    g_clear_pointer (&reply->state, g_free);
  if (reply->status != DSM_REPLY_OK)
    reply->index = 0;
  dsm_real_answer_clear (&answer);
}

void
dsm_real_api_view (guint16 port, const char *token, gint64 timeout_us, DsmRealView *view)
{
  DsmRealAnswer answer = { 0 };

  memset (view, 0, sizeof *view);
  dsm_real_api_request (port, "GET", "/v1/cluster", token, NULL, timeout_us, &answer);
  g_autoptr(JsonNode) root = answer.status == 200 ? api_parse_body (&answer) : NULL;
  if (root != NULL)
    {
      const char *role = body_string (root, "role");
      view->answered = TRUE;
      view->role = g_strcmp0 (role, "leader") == 0 ? DSM_ROLE_LEADER : DSM_ROLE_FOLLOWER;
      view->leader = (DsmNodeId) body_uint (root, "leader");
      view->epoch = body_uint (root, "epoch");
      view->commit_index = body_uint (root, "commit_index");
      view->applied_index = body_uint (root, "applied_index");
    }
  dsm_real_answer_clear (&answer);
}

char *
dsm_real_api_stale_state (guint16 port, const char *token, const char *machine, gint64 timeout_us)
{
  g_autofree char *escaped = g_uri_escape_string (machine, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("/v1/machines/%s?stale=1", escaped);
  DsmRealAnswer answer = { 0 };
  char *state = NULL;

  dsm_real_api_request (port, "GET", path, token, NULL, timeout_us, &answer);
  g_autoptr(JsonNode) root = answer.status == 200 ? api_parse_body (&answer) : NULL;
  state = g_strdup (body_string (root, "state"));
  dsm_real_answer_clear (&answer);
  return state;
}

GHashTable *
dsm_real_api_list (guint16 port, const char *token, gint64 timeout_us)
{
  g_autoptr(GHashTable) machines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  guint64 cursor = 0;

  for (;;)
    {
      g_autofree char *path = g_strdup_printf ("/v1/machines?limit=1000&cursor=%" G_GUINT64_FORMAT, cursor);
      DsmRealAnswer answer = { 0 };
      DsmJsonAt at, list, next;
      guint n = 0;

      dsm_real_api_request (port, "GET", path, token, NULL, timeout_us, &answer);
      g_autoptr(JsonNode) root = answer.status == 200 ? api_parse_body (&answer) : NULL;
      dsm_real_answer_clear (&answer);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        return NULL;
      dsm_json_at_root (&at, NULL, root, NULL);
      if (!dsm_json_read_member (&list, &at, "machines", DSM_JSON_REQUIRED, NULL)
          || !dsm_json_get_array (&list, 10000, &n, NULL))
        return NULL;
      for (guint i = 0; i < n; i++)
        {
          DsmJsonAt item;
          const char *machine = NULL, *state = NULL;
          dsm_json_at_element (&item, &list, i);
          if (!dsm_json_read_string (&item, "machine", DSM_JSON_REQUIRED, DSM_NAME_MAX, &machine, NULL)
              || !dsm_json_read_string (&item, "state", DSM_JSON_REQUIRED, DSM_NAME_MAX, &state, NULL))
            return NULL;
          g_hash_table_replace (machines, g_strdup (machine), g_strdup (state));
        }
      if (!dsm_json_read_member (&next, &at, "next_cursor", DSM_JSON_NULLABLE, NULL))
        return NULL;
      if (next.node == NULL || JSON_NODE_HOLDS_NULL (next.node))
        return g_steal_pointer (&machines);
      if (!dsm_json_get_uint (&next, cursor + 1, G_MAXINT64, &cursor, NULL))
        return NULL;
    }
}

double
dsm_real_api_metric_sum (const char *text, const char *name)
{
  gsize name_length = strlen (name);
  double sum = 0;

  for (const char *line = text; line != NULL && *line != '\0';)
    {
      const char *end = strchr (line, '\n');
      if (*line != '#' && strncmp (line, name, name_length) == 0
          && (line[name_length] == '{' || line[name_length] == ' '))
        {
          const char *space = end != NULL ? g_strrstr_len (line, end - line, " ") : strrchr (line, ' ');
          if (space != NULL)
            sum += g_ascii_strtod (space + 1, NULL);
        }
      line = end != NULL ? end + 1 : NULL;
    }
  return sum;
}
