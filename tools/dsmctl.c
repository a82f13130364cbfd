/* tools/dsmctl.c: the command-line client of a dsm cluster's HTTP API.
 *
 *   dsmctl [--endpoints URL,...] [--json] [--timeout S] [--token T | --token-file F]
 *          [--cacert CA] [--cert C --key K] propose NAME STATE [--client-id ID --seq N]
 *   dsmctl ... get NAME [--stale]     dsmctl ... list     dsmctl ... status
 *   dsmctl --native ADDR,... [--native-tls [--cacert CA]] [--token T] propose NAME STATE | get NAME
 *          (docs/CLIENT.md)
 *
 * It asks the first endpoint that answers who leads, sends commands
 * there, and moves on to the next endpoint at once when one is down or
 * has no leader; when none answers at all it says so at once, and when
 * they answer without a leader it retries until --timeout.  A propose
 * always carries a client id and sequence (generated unless given), so
 * resending it elsewhere after a lost answer applies it at most once.
 *
 * Exit codes: 0 done; 1 refused (illegal transition, bad request,
 * credentials); 2 usage; 3 unavailable or outcome unknown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "entry.h"
#include "json.h"

#include "dsmctl.h"

#define LIST_PAGE_LIMIT 10000   /* the server's DSM_HTTP_LIST_LIMIT_MAX */
#define DEFAULT_ENDPOINTS "http://127.0.0.1:7101,http://127.0.0.1:7102,http://127.0.0.1:7103"

void
answer_clear (Answer *a)
{
  g_clear_pointer (&a->body, g_bytes_unref);
  g_clear_pointer (&a->root, json_node_unref);
  g_clear_pointer (&a->digest, g_free);
}

char *
ctl_new_client_id (void)
{
  return g_strdup_printf ("dsmctl-%d-%08x%08x", (int) getpid (), g_random_int (), g_random_int ());
}

void
ctl_problem (Ctl *ctl, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_free (ctl->last_problem);
  ctl->last_problem = g_strdup_vprintf (format, args);
  va_end (args);
}

const char *
answer_string (const Answer *a, const char *key)
{
  if (a->root == NULL || !JSON_NODE_HOLDS_OBJECT (a->root))
    return NULL;
  JsonNode *node = json_object_get_member (json_node_get_object (a->root), key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gint64
answer_int (const Answer *a, const char *key, gint64 fallback)
{
  if (a->root == NULL || !JSON_NODE_HOLDS_OBJECT (a->root))
    return fallback;
  JsonNode *node = json_object_get_member (json_node_get_object (a->root), key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return fallback;
  return json_node_get_int (node);
}

/* One HTTP exchange, bounded by the overall deadline. */
gboolean
ctl_request (Ctl *ctl, const char *method, const char *base, const char *path, const char *body,
             Answer *out)
{
  g_autofree char *url = g_strconcat (base, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GError) error = NULL;
  gint64 left_s = (ctl->deadline_us - g_get_monotonic_time ()) / G_USEC_PER_SEC;

  memset (out, 0, sizeof *out);
  if (msg == NULL)
    {
      ctl_problem (ctl, "%s: not a valid URL", url);
      return FALSE;
    }
  /* A node that accepts but never answers (stopped) costs at most 5 s. */
  soup_session_set_timeout (ctl->session, (guint) CLAMP (left_s, 1, 5));
  if (ctl->authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", ctl->authorization);
  if (ctl->client_cert != NULL)
    soup_message_set_tls_client_certificate (msg, ctl->client_cert);
  if (ctl->client_id != NULL)
    {
      g_autofree char *seq = g_strdup_printf ("%" G_GINT64_FORMAT, ctl->seq);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Dsm-Client-Id", ctl->client_id);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Dsm-Seq", seq);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  out->body = soup_session_send_and_read (ctl->session, msg, NULL, &error);
  if (out->body == NULL)
    {
      ctl_problem (ctl, "%s: %s", base, error->message);
      return FALSE;
    }
  out->status = soup_message_get_status (msg);
  out->digest = g_strdup (soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                        "Dsm-Snapshot-Sha256"));
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize length;
  const char *data = g_bytes_get_data (out->body, &length);
  if (length > 0 && json_parser_load_from_data (parser, data, (gssize) length, NULL))
    out->root = json_node_ref (json_parser_get_root (parser));
  return TRUE;
}

void
ctl_print_raw (const Answer *a)
{
  gsize length;
  const char *data = g_bytes_get_data (a->body, &length);

  fwrite (data, 1, length, stdout);
  if (length == 0 || data[length - 1] != '\n')
    fputc ('\n', stdout);
}

/* A read's " data {...}" (the machine's data, as the node wrote it), if any. */
static void
ctl_print_data (const Answer *a)
{
  JsonNode *data = a->root != NULL && JSON_NODE_HOLDS_OBJECT (a->root)
                       ? json_object_get_member (json_node_get_object (a->root), "data")
                       : NULL;

  if (data == NULL || !JSON_NODE_HOLDS_OBJECT (data))
    return;
  g_autofree char *text = json_to_string (data, FALSE);
  printf (" data %s", text);
}

static gboolean
ctl_expired (Ctl *ctl)
{
  return g_get_monotonic_time () >= ctl->deadline_us;
}

/* Endpoints in the order to try: the leader first when one names it. */
static GPtrArray *
ctl_order (Ctl *ctl)
{
  GPtrArray *order = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < ctl->endpoints->len; i++)
    {
      Answer a;
      if (!ctl_request (ctl, "GET", ctl->endpoints->pdata[i], "/v1/cluster", NULL, &a) || a.status != 200)
        {
          answer_clear (&a);
          continue;
        }
      const char *leader = answer_string (&a, "leader_url");
      if (leader != NULL)
        g_ptr_array_add (order, g_strdup (leader));
      answer_clear (&a);
      break;
    }
  for (guint i = 0; i < ctl->endpoints->len; i++)
    if (order->len == 0 || g_strcmp0 (order->pdata[0], ctl->endpoints->pdata[i]) != 0)
      g_ptr_array_add (order, g_strdup (ctl->endpoints->pdata[i]));
  return order;
}

typedef enum {
  VERDICT_DONE,       /* 200 */
  VERDICT_REFUSED,    /* 4xx */
  VERDICT_RETRY,      /* try another endpoint */
  VERDICT_UNKNOWN,    /* 503 outcome unknown: retry with the same client id */
} Verdict;

static Verdict
ctl_verdict (Ctl *ctl, const char *base, const Answer *a)
{
  const char *error = answer_string (a, "error");

  if (a->status >= 200 && a->status < 300)
    return VERDICT_DONE;
  if (a->status >= 400 && a->status < 500)
    return VERDICT_REFUSED;
  ctl_problem (ctl, "%s: %u %s%s%s", base, a->status, error != NULL ? error : "",
               answer_string (a, "reason") != NULL ? " - " : "",
               answer_string (a, "reason") != NULL ? answer_string (a, "reason") : "");
  if (g_strcmp0 (answer_string (a, "outcome"), "unknown") == 0)
    return VERDICT_UNKNOWN;
  return VERDICT_RETRY;
}

/* Sends one command until it is answered for good or time runs out. */
int
ctl_command (Ctl *ctl, const char *method, const char *path, const char *body, Answer *done)
{
  gboolean unknown = FALSE;

  while (!ctl_expired (ctl))
    {
      g_autoptr(GPtrArray) order = ctl_order (ctl);
      guint answered = 0;
      for (guint i = 0; i < order->len && !ctl_expired (ctl); i++)
        {
          Answer a;
          if (!ctl_request (ctl, method, order->pdata[i], path, body, &a))
            continue;
          answered++;
          switch (ctl_verdict (ctl, order->pdata[i], &a))
            {
            case VERDICT_DONE:
              *done = a;
              return 0;
            case VERDICT_REFUSED:
              *done = a;
              return EXIT_REFUSED;
            case VERDICT_UNKNOWN:
              unknown = TRUE;
              break;
            case VERDICT_RETRY:
            default:
              break;
            }
          answer_clear (&a);
        }
      /* Not one endpoint answered (refused, unreachable, a TLS failure):
       * waiting will not change that, so say so now.  Endpoints that
       * answered without a leader may have one soon: try again. */
      if (answered == 0 && !unknown)
        break;
      g_usleep (100 * 1000);
    }
  memset (done, 0, sizeof *done);
  fprintf (stderr, "dsmctl: %s: %s\n", unknown ? "outcome unknown" : "cluster unavailable",
           ctl->last_problem != NULL ? ctl->last_problem : "no endpoint answered");
  return EXIT_UNAVAILABLE;
}

int
ctl_report (Ctl *ctl, int status, Answer *a)
{
  if (status == EXIT_UNAVAILABLE)
    return status;
  if (ctl->json)
    ctl_print_raw (a);
  else if (status == 0)
    {
      printf ("%s: %s (index %" G_GINT64_FORMAT ", revision %" G_GINT64_FORMAT ")",
              answer_string (a, "machine"), answer_string (a, "state"), answer_int (a, "index", 0),
              answer_int (a, "revision", 0));
      ctl_print_data (a);
      printf ("\n");
    }
  else
    fprintf (stderr, "dsmctl: refused (%u %s): %s\n", a->status,
             answer_string (a, "reason") != NULL ? answer_string (a, "reason") : "?",
             answer_string (a, "error") != NULL ? answer_string (a, "error") : "");
  answer_clear (a);
  return status;
}

/* ---- commands ---- */

static int
cmd_propose (Ctl *ctl, const char *name, const char *state, const char *client_id, gint64 seq,
             const char *from, const char *definition, JsonNode *payload, gint64 if_revision)
{
  g_autofree char *escaped = g_uri_escape_string (name, NULL, FALSE);
  g_autofree char *path = g_strconcat ("/v1/machines/", escaped, NULL);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *generated = NULL;
  Answer a;

  if (client_id == NULL)
    {
      /* Unique per invocation: resending after a lost answer is safe. */
      generated = ctl_new_client_id ();
      client_id = generated;
      seq = 1;
    }
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "to");
  json_builder_add_string_value (b, state);
  if (from != NULL)
    {
      json_builder_set_member_name (b, "from");
      json_builder_add_string_value (b, from);
    }
  if (definition != NULL)
    {
      json_builder_set_member_name (b, "definition");
      json_builder_add_string_value (b, definition);
    }
  if (payload != NULL)
    {
      json_builder_set_member_name (b, "payload");
      json_builder_add_value (b, json_node_copy (payload));
    }
  if (if_revision >= 0)
    {
      json_builder_set_member_name (b, "if_revision");
      json_builder_add_int_value (b, if_revision);
    }
  json_builder_set_member_name (b, "client_id");
  json_builder_add_string_value (b, client_id);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, seq);
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *body = json_to_string (root, FALSE);
  return ctl_report (ctl, ctl_command (ctl, "POST", path, body, &a), &a);
}

static int
cmd_get (Ctl *ctl, const char *name, gboolean stale)
{
  g_autofree char *escaped = g_uri_escape_string (name, NULL, FALSE);
  g_autofree char *path = g_strconcat ("/v1/machines/", escaped, stale ? "?stale=1" : "", NULL);
  Answer a;

  return ctl_report (ctl, ctl_command (ctl, "GET", path, NULL, &a), &a);
}

/* The node answers a page at a time (GET /v1/machines?cursor=&limit=):
 * pages are read in turn and printed as one listing.  The first page's
 * node, indexes and note describe it (a node's local view). */
static int
cmd_list (Ctl *ctl)
{
  g_autoptr(JsonArray) machines = json_array_new ();
  g_autoptr(JsonNode) first = NULL;
  gint64 cursor = 0;

  for (;;)
    {
      g_autofree char *path = g_strdup_printf ("/v1/machines?limit=%d&cursor=%" G_GINT64_FORMAT,
                                               LIST_PAGE_LIMIT, cursor);
      Answer a;
      int status = ctl_command (ctl, "GET", path, NULL, &a);
      if (status != 0)
        return ctl_report (ctl, status, &a);
      JsonObject *obj = JSON_NODE_HOLDS_OBJECT (a.root) ? json_node_get_object (a.root) : NULL;
      JsonNode *page = obj != NULL ? json_object_get_member (obj, "machines") : NULL;
      JsonNode *next = obj != NULL ? json_object_get_member (obj, "next_cursor") : NULL;
      /* No next_cursor: a node from before paging, which lists everything. */
      if (page == NULL || !JSON_NODE_HOLDS_ARRAY (page)
          || (next != NULL && !JSON_NODE_HOLDS_NULL (next)
              && (json_node_get_value_type (next) != G_TYPE_INT64 || json_node_get_int (next) <= cursor)))
        {
          fprintf (stderr, "dsmctl: list: the answer to GET %s is not a listing page\n", path);
          answer_clear (&a);
          return EXIT_UNAVAILABLE;
        }
      JsonArray *items = json_node_get_array (page);
      for (guint i = 0; i < json_array_get_length (items); i++)
        {
          JsonNode *item = json_array_get_element (items, i);
          if (!JSON_NODE_HOLDS_OBJECT (item))
            {
              fprintf (stderr, "dsmctl: list: machines[%u] of GET %s is not an object\n", i, path);
              answer_clear (&a);
              return EXIT_UNAVAILABLE;
            }
          json_array_add_element (machines, json_node_copy (item));
        }
      gboolean done = next == NULL || JSON_NODE_HOLDS_NULL (next);
      cursor = done ? cursor : json_node_get_int (next);
      if (first == NULL)
        first = json_node_ref (a.root);
      answer_clear (&a);
      if (done)
        break;
    }

  JsonObject *head = json_node_get_object (first);
  if (ctl->json)
    {
      g_autoptr(JsonNode) out = json_node_new (JSON_NODE_OBJECT);
      JsonObject *o = json_object_new ();
      static const char *const keys[] = { "node", "commit_index", "applied_index", "note" };
      for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
        if (json_object_has_member (head, keys[k]))
          json_object_set_member (o, keys[k], json_node_copy (json_object_get_member (head, keys[k])));
      json_object_set_array_member (o, "machines", json_array_ref (machines));
      json_node_take_object (out, o);
      g_autofree char *text = json_to_string (out, FALSE);
      printf ("%s\n", text);
      return 0;
    }
  printf ("%-24s %-16s %-16s %s\n", "MACHINE", "DEFINITION", "STATE", "INDEX");
  for (guint i = 0; i < json_array_get_length (machines); i++)
    {
      JsonObject *m = json_array_get_object_element (machines, i);
      printf ("%-24s %-16s %-16s %" G_GINT64_FORMAT "\n",
              json_object_get_string_member_with_default (m, "machine", "?"),
              json_object_get_string_member_with_default (m, "definition", "?"),
              json_object_get_string_member_with_default (m, "state", "?"),
              json_object_get_int_member_with_default (m, "index", 0));
    }
  printf ("(local view of node %" G_GINT64_FORMAT " at applied index %" G_GINT64_FORMAT ")\n",
          json_object_get_int_member_with_default (head, "node", 0),
          json_object_get_int_member_with_default (head, "applied_index", 0));
  return 0;
}

/* Every endpoint's own view: a node that is down shows as such. */
static int
cmd_status (Ctl *ctl)
{
  guint up = 0;
  gint64 leader = 0;

  if (ctl->json)
    printf ("[");
  else
    printf ("%-28s %-6s %-14s %-7s %-7s %-8s %-8s\n", "ENDPOINT", "NODE", "ROLE", "LEADER", "EPOCH", "COMMIT", "APPLIED");
  for (guint i = 0; i < ctl->endpoints->len; i++)
    {
      const char *base = ctl->endpoints->pdata[i];
      Answer a;
      gboolean ok = ctl_request (ctl, "GET", base, "/v1/cluster", NULL, &a) && a.status == 200 && a.root != NULL;
      if (ctl->json)
        {
          if (i > 0)
            printf (",");
          if (ok)
            {
              gsize n;
              const char *d = g_bytes_get_data (a.body, &n);
              while (n > 0 && d[n - 1] == '\n')
                n--;
              printf ("{\"endpoint\":\"%s\",\"cluster\":%.*s}", base, (int) n, d);
            }
          else
            printf ("{\"endpoint\":\"%s\",\"cluster\":null}", base);
        }
      else if (ok)
        {
          char leader_s[24] = "-";
          if (answer_int (&a, "leader", 0) != 0)
            g_snprintf (leader_s, sizeof leader_s, "%" G_GINT64_FORMAT, answer_int (&a, "leader", 0));
          printf ("%-28s %-6" G_GINT64_FORMAT " %-14s %-7s %-7" G_GINT64_FORMAT " %-8" G_GINT64_FORMAT " %-8" G_GINT64_FORMAT "\n",
                  base, answer_int (&a, "node", 0), answer_string (&a, "role"), leader_s,
                  answer_int (&a, "epoch", 0), answer_int (&a, "commit_index", 0), answer_int (&a, "applied_index", 0));
        }
      else
        printf ("%-28s %-6s %s\n", base, "-", "down");
      if (ok)
        {
          up++;
          leader = MAX (leader, answer_int (&a, "leader", 0));
        }
      answer_clear (&a);
    }
  if (ctl->json)
    printf ("]\n");
  if (up == 0)
    {
      fprintf (stderr, "dsmctl: cluster unavailable: %s\n", ctl->last_problem != NULL ? ctl->last_problem : "no endpoint answered");
      return EXIT_UNAVAILABLE;
    }
  if (leader == 0)
    {
      fprintf (stderr, "dsmctl: no leader known to any endpoint\n");
      return EXIT_UNAVAILABLE;
    }
  return 0;
}

/* ---- arguments ---- */

static GPtrArray *
parse_endpoints (const char *text)
{
  GPtrArray *endpoints = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  for (char **p = parts; *p != NULL; p++)
    {
      g_autofree char *e = g_strstrip (g_strdup (*p));
      if (e[0] == '\0')
        continue;
      while (g_str_has_suffix (e, "/"))
        e[strlen (e) - 1] = '\0';
      g_ptr_array_add (endpoints, g_str_has_prefix (e, "http://") || g_str_has_prefix (e, "https://")
                                    ? g_steal_pointer (&e) : g_strconcat ("http://", e, NULL));
    }
  return endpoints;
}

/* The token in a token file: the first line that is not blank or a
 * comment; either the token alone, or the server's "ROLE TOKEN [NAME]". */
static gboolean
read_token_file (const char *path, char **token, GError **error)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    {
      g_auto(GStrv) fields = NULL;
      g_strstrip (*l);
      if ((*l)[0] == '\0' || (*l)[0] == '#')
        continue;
      fields = g_regex_split_simple ("[ \t]+", *l, 0, 0);
      *token = g_strdup (g_strv_length (fields) >= 2 ? fields[1] : fields[0]);
      return TRUE;
    }
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "--token-file %s: no token in it", path);
  return FALSE;
}

int
ctl_usage (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "dsmctl: %s\nTry 'dsmctl --help'.\n", message);
  return EXIT_USAGE;
}

int
main (int argc, char **argv)
{
  g_autofree char *endpoints = NULL;
  g_autofree char *native = NULL;
  g_autofree char *client_id = NULL;
  g_autofree char *from = NULL;
  g_autofree char *definition = NULL;
  g_autofree char *payload_text = NULL;
  gint64 if_revision = -1;
  gboolean json = FALSE, stale = FALSE, version = FALSE;
  double timeout_s = 10;
  gint64 seq = 0;
  gint64 member_id = 0;
  g_autofree char *token = NULL;
  g_autofree char *token_file = NULL;
  g_autofree char *cacert = NULL;
  gboolean native_tls = FALSE;
  g_autofree char *tls_server_name = NULL;
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  g_autofree char *prefix = NULL;
  gint64 from_revision = -1;
  gint64 count = 0;
  GOptionEntry entries[] = {
    { "endpoints", 'e', 0, G_OPTION_ARG_STRING, &endpoints,
      "Comma-separated node URLs (default $DSM_ENDPOINTS, else " DEFAULT_ENDPOINTS ")", "URL,..." },
    { "native", 'n', 0, G_OPTION_ARG_STRING, &native,
      "propose and get over the native protocol, to these host:port addresses (default $DSM_NATIVE)", "ADDR,..." },
    { "native-tls", 0, 0, G_OPTION_ARG_NONE, &native_tls,
      "--native over TLS, trusting --cacert (default: the system's CAs)", NULL },
    { "tls-server-name", 0, 0, G_OPTION_ARG_STRING, &tls_server_name,
      "--native-tls: the name the nodes' certificates carry (default: each address's host)", "NAME" },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, "Print the server's JSON as is (for scripts)", NULL },
    { "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &timeout_s, "Give up after S seconds (default 10)", "S" },
    { "token", 0, 0, G_OPTION_ARG_STRING, &token, "Bearer token (default $DSM_TOKEN)", "TOKEN" },
    { "token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file,
      "Read the bearer token from FILE: its first token line (default $DSM_TOKEN_FILE)", "FILE" },
    { "cacert", 0, 0, G_OPTION_ARG_FILENAME, &cacert, "Trust the nodes' certificates signed by this CA (https)", "FILE" },
    { "cert", 0, 0, G_OPTION_ARG_FILENAME, &cert, "Client certificate (PEM), with --key", "FILE" },
    { "key", 0, 0, G_OPTION_ARG_FILENAME, &key, "The client certificate's private key (PEM)", "FILE" },
    { "client-id", 0, 0, G_OPTION_ARG_STRING, &client_id, "propose: client id for idempotent retries", "ID" },
    { "seq", 0, 0, G_OPTION_ARG_INT64, &seq, "propose: sequence number with --client-id (from 1)", "N" },
    { "from", 0, 0, G_OPTION_ARG_STRING, &from, "propose: only if the machine is in this state", "STATE" },
    { "definition", 0, 0, G_OPTION_ARG_STRING, &definition, "propose: machine definition (default lifecycle)", "NAME" },
    { "payload", 0, 0, G_OPTION_ARG_STRING, &payload_text, "propose: a JSON object merged into the machine's data", "JSON" },
    { "if-revision", 0, 0, G_OPTION_ARG_INT64, &if_revision,
      "propose: only if the machine is still at this revision (0: never changed)", "N" },
    { "stale", 0, 0, G_OPTION_ARG_NONE, &stale, "get: read the node's local state, without consensus", NULL },
    { "prefix", 0, 0, G_OPTION_ARG_STRING, &prefix, "watch: every machine whose name starts with P", "P" },
    { "from-revision", 0, 0, G_OPTION_ARG_INT64, &from_revision,
      "watch: the changes after revision R (default: from now on)", "R" },
    { "count", 0, 0, G_OPTION_ARG_INT64, &count, "watch: stop after N changes (default: never)", "N" },
    { "id", 0, 0, G_OPTION_ARG_INT64, &member_id, "member add: the id to give (default: the next free one)", "N" },
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("COMMAND [ARGS] - the dsm cluster client");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Commands:\n"
    "  propose NAME STATE   move machine NAME to STATE once committed\n"
    "  get NAME             its state (linearizable; --stale: this node's view)\n"
    "  list                 every machine the leader has applied\n"
    "  status               each endpoint's role, leader, epoch and indexes\n"
    "  watch NAME           print each change of NAME as it commits, resuming after a\n"
    "                       node's failure (--prefix P instead of NAME: every machine\n"
    "                       named P...; --from-revision R; --count N; --timeout: give\n"
    "                       up after S seconds without a node that serves the watch)\n"
    "  member list          the membership (voters, learners, addresses)\n"
    "  member add PEER_ADDR CLIENT_ADDR [--id N]   add a learner; prints its id\n"
    "  member promote ID    make learner ID a voter\n"
    "  member remove ID     remove node ID (the leader hands over first)\n"
    "  leader transfer [ID] move leadership to voter ID (default: the most up to date)\n"
    "  definition put NAME FILE   define or update machine definition NAME (admin)\n"
    "  snapshot save FILE   save a backup of the cluster's state, verified (admin)\n"
    "\n"
    "Exit codes: 0 done, 1 refused (illegal transition, bad request, credentials),\n"
    "2 usage, 3 unavailable or outcome unknown.  See docs/OPERATIONS.md.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ctl_usage ("%s", error->message);
  if (version)
    {
      printf ("dsmctl %s\n", DSM_VERSION);
      return 0;
    }
  if (argc < 2)
    return ctl_usage ("a command is required: propose, get, list, status, watch, member, leader, definition or "
                      "snapshot");
  if (member_id != 0 && !g_str_equal (argv[1], "member"))
    return ctl_usage ("--id belongs to member add");
  if (timeout_s <= 0 || timeout_s > 3600)
    return ctl_usage ("--timeout %g: expected 0 < S <= 3600", timeout_s);
  if ((client_id != NULL) != (seq != 0) || seq < 0)
    return ctl_usage ("--client-id and --seq (>= 1) go together");

  const char *command = argv[1];
  guint nargs = (guint) argc - 2;
  gboolean is_propose = g_str_equal (command, "propose");
  if (!is_propose && (client_id != NULL || from != NULL || definition != NULL || payload_text != NULL
                      || if_revision != -1))
    return ctl_usage ("--client-id, --seq, --from, --definition, --payload and --if-revision belong to propose");
  if (if_revision < -1)
    return ctl_usage ("--if-revision %" G_GINT64_FORMAT ": expected a revision >= 0", if_revision);
  g_autoptr(JsonNode) payload = NULL;
  if (payload_text != NULL)
    {
      payload = dsm_json_parse (payload_text, -1, NULL, NULL, &error);
      if (payload == NULL || !JSON_NODE_HOLDS_OBJECT (payload))
        return ctl_usage ("--payload: %s", payload == NULL ? error->message : "expected a JSON object");
    }
  if (!g_str_equal (command, "get") && stale)
    return ctl_usage ("--stale belongs to get");
  gboolean is_watch = g_str_equal (command, "watch");
  if (!is_watch && (prefix != NULL || from_revision != -1 || count != 0))
    return ctl_usage ("--prefix, --from-revision and --count belong to watch");
  if (is_watch && (from_revision < -1 || count < 0))
    return ctl_usage ("--from-revision and --count: expected 0 or more");
  if (is_watch && (prefix != NULL) == (nargs == 1))
    return ctl_usage ("watch takes NAME or --prefix P (one of the two)");
  if (native == NULL && g_getenv ("DSM_NATIVE") != NULL && g_getenv ("DSM_NATIVE")[0] != '\0'
      && (is_propose || g_str_equal (command, "get")))
    native = g_strdup (g_getenv ("DSM_NATIVE"));
  if (native != NULL && !is_propose && !g_str_equal (command, "get"))
    return ctl_usage ("--native serves propose and get; %s goes over HTTP (--endpoints)", command);
  if (native != NULL && client_id != NULL)
    return ctl_usage ("--client-id and --seq are not for --native: the library numbers its own session");
  if (native == NULL && (native_tls || tls_server_name != NULL))
    return ctl_usage ("--native-tls and --tls-server-name go with --native");
  if (native != NULL && cert != NULL)
    return ctl_usage ("--cert and --key are not for --native: it takes bearer tokens only");
  if (native != NULL && tls_server_name != NULL && !native_tls)
    return ctl_usage ("--tls-server-name needs --native-tls");

  if ((cert != NULL) != (key != NULL))
    return ctl_usage ("--cert and --key go together");
  if (token != NULL && token_file != NULL)
    return ctl_usage ("--token and --token-file: give one");

  Ctl ctl = { 0 };
  if (token == NULL && token_file == NULL)
    {
      token = g_strdup (g_getenv ("DSM_TOKEN"));
      if (token == NULL || token[0] == '\0')
        {
          g_clear_pointer (&token, g_free);
          token_file = g_strdup (g_getenv ("DSM_TOKEN_FILE"));
        }
    }
  if (token_file != NULL && !read_token_file (token_file, &token, &error))
    return ctl_usage ("%s", error->message);
  if (token != NULL)
    {
      if (token[0] == '\0' || strpbrk (token, " \t\r\n") != NULL)
        return ctl_usage ("the token is empty or holds whitespace");
      ctl.authorization = g_strconcat ("Bearer ", token, NULL);
    }
  if (cert != NULL)
    {
      ctl.client_cert = g_tls_certificate_new_from_files (cert, key, &error);
      if (ctl.client_cert == NULL)
        return ctl_usage ("--cert %s --key %s: %s", cert, key, error->message);
    }
  const char *env = g_getenv ("DSM_ENDPOINTS");
  ctl.endpoints = parse_endpoints (endpoints != NULL ? endpoints : env != NULL ? env : DEFAULT_ENDPOINTS);
  if (ctl.endpoints->len == 0)
    return ctl_usage ("--endpoints: no URL given");
  ctl.json = json;
  ctl.deadline_us = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  /* Nodes are reached directly: a proxy from the environment would only
   * stand between dsmctl and the cluster. */
  ctl.session = soup_session_new_with_options ("proxy-resolver", NULL, NULL);
  if (cacert != NULL)
    {
      /* GTlsFileDatabase wants an absolute path. */
      g_autofree char *absolute = g_canonicalize_filename (cacert, NULL);
      g_autoptr(GTlsDatabase) ca = g_tls_file_database_new (absolute, &error);
      if (ca == NULL)
        {
          g_object_unref (ctl.session);
          return ctl_usage ("--cacert %s: %s", cacert, error->message);
        }
      soup_session_set_tls_database (ctl.session, ca);
    }

  /* The cluster's own machine-name rule, before anything is sent. */
  if ((is_propose && nargs == 2) || ((g_str_equal (command, "get") || is_watch) && nargs == 1))
    {
      if (!dsm_command_check_machine_name ("NAME", argv[2], &error))
        {
          g_object_unref (ctl.session);
          g_clear_object (&ctl.client_cert);
          g_free (ctl.authorization);
          g_ptr_array_unref (ctl.endpoints);
          return ctl_usage ("%s", error->message);
        }
    }

  int status;
  if (native != NULL && ((is_propose && nargs == 2) || (g_str_equal (command, "get") && nargs == 1)))
    {
      CtlNative args = { .nodes = native, .token = token, .timeout_s = timeout_s, .json = json, .command = command,
                         .name = argv[2], .state = is_propose ? argv[3] : NULL, .from = from,
                         .definition = definition, .payload = payload_text, .if_revision = if_revision,
                         .stale = stale, .tls = native_tls, .tls_ca_file = native_tls ? cacert : NULL,
                         .tls_server_name = tls_server_name };
      status = cmd_native (&args);
    }
  else if (is_propose && nargs == 2)
    status = cmd_propose (&ctl, argv[2], argv[3], client_id, seq, from, definition, payload, if_revision);
  else if (g_str_equal (command, "get") && nargs == 1)
    status = cmd_get (&ctl, argv[2], stale);
  else if (g_str_equal (command, "list") && nargs == 0)
    status = cmd_list (&ctl);
  else if (g_str_equal (command, "status") && nargs == 0)
    status = cmd_status (&ctl);
  else if (is_watch && nargs <= 1)
    status = cmd_watch (&ctl, nargs == 1 ? argv[2] : NULL, prefix, from_revision >= 0, MAX (from_revision, 0), count,
                        timeout_s);
  else if (g_str_equal (command, "member"))
    status = cmd_member (&ctl, argc - 1, argv + 1, member_id);
  else if (g_str_equal (command, "leader"))
    status = cmd_leader (&ctl, argc - 1, argv + 1);
  else if (g_str_equal (command, "definition"))
    status = cmd_definition (&ctl, argc - 1, argv + 1);
  else if (g_str_equal (command, "snapshot"))
    status = cmd_snapshot (&ctl, argc - 1, argv + 1);
  else if (is_propose || g_str_equal (command, "get") || g_str_equal (command, "list") || g_str_equal (command, "status"))
    status = ctl_usage ("wrong arguments for %s (see --help)", command);
  else
    status = ctl_usage ("unknown command \"%s\"", command);

  g_object_unref (ctl.session);
  g_ptr_array_unref (ctl.endpoints);
  g_free (ctl.last_problem);
  g_free (ctl.authorization);
  g_clear_object (&ctl.client_cert);
  return status;
}
