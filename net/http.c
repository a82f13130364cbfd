/* net/http.c: the HTTP API's server: routing, request limits, JSON
 * responses, paused calls answered by the core, and the cluster, metrics
 * and health endpoints (http.h).  Machine endpoints: http-machines.c. */
#include "http-private.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "address.h"
#include "codec.h"
#include "metrics.h"
#include "netlog.h"
#include "node.h"
#include "transport.h"

static const char *const route_names[ROUTE_N] = {
  [ROUTE_HEALTHZ] = "healthz",
  [ROUTE_METRICS] = "metrics",
  [ROUTE_CLUSTER] = "cluster",
  [ROUTE_MACHINES_LIST] = "machines_list",
  [ROUTE_MACHINE_GET] = "machine_get",
  [ROUTE_MACHINE_POST] = "machine_post",
  [ROUTE_OTHER] = "other",
};

#define MACHINES_PREFIX "/v1/machines/"

/* ---- JSON writing ---- */

void
json_key (GString *out, const char *key)
{
  char last = out->len > 0 ? out->str[out->len - 1] : '{';

  if (last != '{' && last != '[')
    g_string_append_c (out, ',');
  dsm_codec_write_string (out, key);
  g_string_append_c (out, ':');
}

void
json_string (GString *out, const char *key, const char *value)
{
  json_key (out, key);
  if (value == NULL)
    g_string_append (out, "null");
  else
    dsm_codec_write_string (out, value);
}

void
json_uint (GString *out, const char *key, guint64 value)
{
  json_key (out, key);
  g_string_append_printf (out, "%" G_GUINT64_FORMAT, value);
}

/* ---- responses ---- */

static void
http_count (DsmHttpApi *api, Route route, guint status, gint64 start_us)
{
  g_autofree char *key = g_strdup_printf ("%s\x1f%u", route_names[route], status);
  guint64 *count = g_hash_table_lookup (api->responses, key);

  if (count == NULL)
    {
      count = g_new0 (guint64, 1);
      g_hash_table_insert (api->responses, g_steal_pointer (&key), count);
    }
  (*count)++;
  dsm_net_histogram_observe_us (&api->latency[route], g_get_monotonic_time () - start_us);
}

void
http_respond (DsmHttpApi *api, SoupServerMessage *msg, Route route, gint64 start_us,
              guint status, GString *json)
{
  g_string_append_c (json, '\n');
  gsize length = json->len;
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE,
                                    g_string_free (json, FALSE), length);
  http_count (api, route, status, start_us);
}

void
http_respond_error (DsmHttpApi *api, SoupServerMessage *msg, Route route, gint64 start_us,
                    guint status, const char *reason, const char *format, ...)
{
  GString *json = g_string_new ("{");
  va_list args;

  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  json_string (json, "error", message);
  json_string (json, "reason", reason);
  g_string_append_c (json, '}');
  http_respond (api, msg, route, start_us, status, json);
}

/* ---- paused calls ---- */

static void
http_call_free (HttpCall *call)
{
  g_signal_handler_disconnect (call->msg, call->finished_handler);
  g_queue_unlink (&call->api->in_flight, &call->link);
  g_object_unref (call->msg);
  g_free (call);
}

/* The message is done: written, or its client went away first (then the
 * core's answer, when it comes, has nobody to go to). */
static void
http_call_on_finished (SoupServerMessage *msg, gpointer data)
{
  HttpCall *call = data;

  if (!call->answered && call->request_id != 0)
    dsm_host_forget (call->api->host, call->request_id);
  http_call_free (call);
}

HttpCall *
http_call_new (DsmHttpApi *api, SoupServerMessage *msg, Route route, gint64 start_us)
{
  HttpCall *call = g_new0 (HttpCall, 1);

  call->api = api;
  call->msg = g_object_ref (msg);
  call->route = route;
  call->start_us = start_us;
  call->link.data = call;
  g_queue_push_tail_link (&api->in_flight, &call->link);
  call->finished_handler = g_signal_connect (msg, "finished", G_CALLBACK (http_call_on_finished), call);
  soup_server_message_pause (msg);
  return call;
}

void
http_call_answer (HttpCall *call, guint status, GString *json)
{
  g_assert (!call->answered);
  call->answered = TRUE;
  http_respond (call->api, call->msg, call->route, call->start_us, status, json);
  soup_server_message_unpause (call->msg);
}

/* ---- small endpoints ---- */

static void
http_healthz (DsmHttpApi *api, SoupServerMessage *msg, gint64 start_us)
{
  DsmNode *node = dsm_host_get_node (api->host);
  GString *json = g_string_new ("{");
  DsmNodeId leader = dsm_node_get_leader (node);

  json_string (json, "status", api->shutting_down ? "stopping" : "ok");
  json_uint (json, "node", dsm_node_get_id (node));
  json_string (json, "role", dsm_role_to_string (dsm_node_get_role (node)));
  json_key (json, "leader");
  if (leader == DSM_NODE_NONE)
    g_string_append (json, "null");
  else
    g_string_append_printf (json, "%u", leader);
  json_uint (json, "epoch", dsm_node_get_epoch (node));
  g_string_append_c (json, '}');
  http_respond (api, msg, ROUTE_HEALTHZ, start_us, api->shutting_down ? 503 : 200, json);
}

static void
http_metrics (DsmHttpApi *api, SoupServerMessage *msg, gint64 start_us)
{
  GString *text = g_string_new (NULL);

  dsm_host_render_metrics (api->host, text);
  dsm_http_api_render_metrics (api, text);
  gsize length = text->len;
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "text/plain; version=0.0.4; charset=utf-8", SOUP_MEMORY_TAKE,
                                    g_string_free (text, FALSE), length);
  http_count (api, ROUTE_METRICS, 200, start_us);
}

static void
json_client_url (GString *json, const char *key, const DsmNodeConfig *node)
{
  g_autofree char *url = node != NULL && node->client_address != NULL
                           ? g_strdup_printf ("http://%s", node->client_address) : NULL;
  json_string (json, key, url);
}

static void
http_cluster_peer (GString *json, DsmHttpApi *api, const DsmPeerStatus *status, gboolean leader)
{
  DsmNode *node = dsm_host_get_node (api->host);
  DsmTransportPeerInfo info;

  dsm_transport_get_peer_info (dsm_host_get_transport (api->host), status->id, &info);
  json_string (json, "connection", dsm_peer_state_to_string (info.state));
  json_key (json, "connection_age_seconds");
  g_string_append_printf (json, "%.3f", (double) (g_get_monotonic_time () - info.since_us) / 1e6);
  json_key (json, "dialed");
  g_string_append (json, info.state == DSM_PEER_CONNECTED ? (info.outbound ? "true" : "false") : "null");
  json_uint (json, "write_queue_bytes", info.queued_bytes);
  json_uint (json, "reconnects", info.reconnects);
  json_string (json, "last_error", info.last_error);
  /* Reachability and lag are the leader's knowledge (dsm_node_get_peers). */
  json_key (json, "reachable");
  g_string_append (json, leader ? (status->reachable ? "true" : "false") : "null");
  json_key (json, "match_index");
  if (leader)
    g_string_append_printf (json, "%" G_GUINT64_FORMAT, status->match_index);
  else
    g_string_append (json, "null");
  json_key (json, "lag");
  if (leader)
    g_string_append_printf (json, "%" G_GUINT64_FORMAT,
                            dsm_node_get_last_index (node) - MIN (status->match_index, dsm_node_get_last_index (node)));
  else
    g_string_append (json, "null");
  dsm_transport_peer_info_clear (&info);
}

static void
http_cluster (DsmHttpApi *api, SoupServerMessage *msg, gint64 start_us)
{
  DsmNode *node = dsm_host_get_node (api->host);
  DsmConfig *config = dsm_host_get_config (api->host);
  DsmNodeId self = dsm_node_get_id (node);
  DsmNodeId leader = dsm_node_get_leader (node);
  gboolean is_leader = dsm_node_get_role (node) == DSM_ROLE_LEADER;
  DsmPeerStatus peers[DSM_MAX_NODES];
  guint n_peers = dsm_node_get_peers (node, peers, G_N_ELEMENTS (peers));
  GString *json = g_string_new ("{");

  json_string (json, "cluster_id", config->cluster_id);
  json_uint (json, "node", self);
  json_string (json, "role", dsm_role_to_string (dsm_node_get_role (node)));
  json_key (json, "leader");
  if (leader == DSM_NODE_NONE)
    g_string_append (json, "null");
  else
    g_string_append_printf (json, "%u", leader);
  json_client_url (json, "leader_url", leader != DSM_NODE_NONE ? dsm_config_find_node (config, leader) : NULL);
  json_uint (json, "epoch", dsm_node_get_epoch (node));
  json_uint (json, "commit_index", dsm_node_get_commit_index (node));
  json_uint (json, "applied_index", dsm_node_get_applied_index (node));
  json_uint (json, "last_index", dsm_node_get_last_index (node));
  json_key (json, "nodes");
  g_string_append_c (json, '[');
  for (guint i = 0; i < config->n_nodes; i++)
    {
      const DsmNodeConfig *nc = &config->nodes[i];
      if (i > 0)
        g_string_append_c (json, ',');
      g_string_append_c (json, '{');
      json_uint (json, "id", nc->id);
      json_key (json, "self");
      g_string_append (json, nc->id == self ? "true" : "false");
      json_string (json, "peer_address", nc->peer_address);
      json_client_url (json, "client_url", nc);
      for (guint j = 0; j < n_peers; j++)
        if (peers[j].id == nc->id)
          http_cluster_peer (json, api, &peers[j], is_leader);
      g_string_append_c (json, '}');
    }
  g_string_append (json, "]}");
  http_respond (api, msg, ROUTE_CLUSTER, start_us, 200, json);
}

/* ---- routing ---- */

static void
http_method_not_allowed (DsmHttpApi *api, SoupServerMessage *msg, Route route, gint64 start_us,
                         const char *allow)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", allow);
  http_respond_error (api, msg, route, start_us, 405, "method_not_allowed", "%s is not allowed here; use %s",
                      soup_server_message_get_method (msg), allow);
}

static gboolean
http_is (SoupServerMessage *msg, const char *method)
{
  return strcmp (soup_server_message_get_method (msg), method) == 0;
}

static void
http_handle (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
             gpointer user_data)
{
  DsmHttpApi *api = user_data;
  gint64 start_us = g_get_monotonic_time ();

  if (api->shutting_down)
    {
      http_respond_error (api, msg, ROUTE_OTHER, start_us, 503, "stopping", "node shutting down");
      return;
    }
  if (strcmp (path, "/healthz") == 0)
    {
      if (!http_is (msg, "GET"))
        http_method_not_allowed (api, msg, ROUTE_HEALTHZ, start_us, "GET");
      else
        http_healthz (api, msg, start_us);
    }
  else if (strcmp (path, "/metrics") == 0)
    {
      if (!http_is (msg, "GET"))
        http_method_not_allowed (api, msg, ROUTE_METRICS, start_us, "GET");
      else
        http_metrics (api, msg, start_us);
    }
  else if (strcmp (path, "/v1/cluster") == 0)
    {
      if (!http_is (msg, "GET"))
        http_method_not_allowed (api, msg, ROUTE_CLUSTER, start_us, "GET");
      else
        http_cluster (api, msg, start_us);
    }
  else if (strcmp (path, "/v1/machines") == 0 || strcmp (path, MACHINES_PREFIX) == 0)
    {
      if (!http_is (msg, "GET"))
        http_method_not_allowed (api, msg, ROUTE_MACHINES_LIST, start_us, "GET");
      else
        http_machines_list (api, msg, query, start_us);
    }
  else if (g_str_has_prefix (path, MACHINES_PREFIX))
    {
      const char *segment = path + strlen (MACHINES_PREFIX);
      Route route = http_is (msg, "POST") ? ROUTE_MACHINE_POST : ROUTE_MACHINE_GET;
      g_autofree char *name = strchr (segment, '/') == NULL ? g_uri_unescape_string (segment, NULL) : NULL;
      g_autoptr(GError) error = NULL;

      if (name == NULL)
        http_respond_error (api, msg, route, start_us, 400, "bad_name",
                            "bad machine name in the path (percent-encode '/' as %%2F)");
      else if (!dsm_command_check_name ("machine", name, &error))
        http_respond_error (api, msg, route, start_us, 400, "bad_name", "%s", error->message);
      else if (http_is (msg, "POST"))
        http_machine_post (api, msg, name, start_us);
      else if (http_is (msg, "GET"))
        http_machine_get (api, msg, name, query, start_us);
      else
        http_method_not_allowed (api, msg, ROUTE_OTHER, start_us, "GET, POST");
    }
  else
    http_respond_error (api, msg, ROUTE_OTHER, start_us, 404, "not_found",
                        "no such endpoint; see /v1/machines, /v1/cluster, /metrics, /healthz");
}

/* Before the body is read: refuse bodies over the limit, and bodies of
 * unknown length, so no client makes us buffer more than the limit. */
static void
http_early (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
            gpointer user_data)
{
  DsmHttpApi *api = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  SoupEncoding encoding = soup_message_headers_get_encoding (headers);

  if (encoding == SOUP_ENCODING_CHUNKED || encoding == SOUP_ENCODING_EOF)
    http_respond_error (api, msg, ROUTE_OTHER, g_get_monotonic_time (), 411, "length_required",
                        "request bodies need a Content-Length");
  else if (encoding == SOUP_ENCODING_CONTENT_LENGTH
           && soup_message_headers_get_content_length (headers) > DSM_HTTP_BODY_BYTES_MAX)
    http_respond_error (api, msg, ROUTE_OTHER, g_get_monotonic_time (), 413, "body_too_large",
                        "request body of %" G_GINT64_FORMAT " bytes exceeds %d",
                        soup_message_headers_get_content_length (headers), DSM_HTTP_BODY_BYTES_MAX);
}

/* ---- public API ---- */

DsmHttpApi *
dsm_http_api_new (DsmHost *host)
{
  DsmHttpApi *api = g_new0 (DsmHttpApi, 1);

  api->host = host;
  /* raw-paths: we decode the machine name ourselves, so %2F stays in it. */
  api->server = soup_server_new ("server-header", "dsm/" DSM_VERSION " ", "raw-paths", TRUE, NULL);
  api->responses = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_queue_init (&api->in_flight);
  soup_server_add_early_handler (api->server, NULL, http_early, api, NULL);
  soup_server_add_handler (api->server, NULL, http_handle, api, NULL);
  return api;
}

gboolean
dsm_http_api_listen (DsmHttpApi *api, const char *address, GError **error)
{
  g_autoptr(GSocketAddress) addr = dsm_net_resolve (address, "client address", error);

  g_autoptr(GSocket) socket = NULL;

  if (addr == NULL)
    return FALSE;
  /* Our own socket, for its backlog: soup_server_listen() keeps GSocket's 10. */
  socket = g_socket_new (g_socket_address_get_family (addr), G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket != NULL)
    {
      g_socket_set_listen_backlog (socket, DSM_NET_LISTEN_BACKLOG);
      /* libsoup writes a response's headers and body with two sends: with
       * Nagle on, the body may wait for the client's ACK of the headers.
       * (Measured under wrk on loopback, it made no difference within the
       * run-to-run spread; the wrk tail turned out to be snapshots.)
       * Accepted sockets inherit TCP_NODELAY from the listener on Linux. */
      g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
    }
  if (socket == NULL || !g_socket_bind (socket, addr, TRUE, error) || !g_socket_listen (socket, error)
      || !soup_server_listen_socket (api->server, socket, 0, error))
    {
      g_prefix_error (error, "HTTP API on %s: ", address);
      return FALSE;
    }
  return TRUE;
}

void
dsm_http_api_shutdown (DsmHttpApi *api)
{
  api->shutting_down = TRUE;
  /* Answering may finish (and free) a call at once: step first. */
  for (GList *l = api->in_flight.head, *next; l != NULL; l = next)
    {
      HttpCall *call = l->data;
      next = l->next;
      if (call->answered)
        continue;
      GString *json = g_string_new ("{");
      json_string (json, "error", "node shutting down; outcome unknown");
      json_string (json, "reason", "stopping");
      json_string (json, "outcome", "unknown");
      g_string_append_c (json, '}');
      http_call_answer (call, 503, json);
    }
}

void
dsm_http_api_disconnect (DsmHttpApi *api)
{
  soup_server_disconnect (api->server);
}

void
dsm_http_api_free (DsmHttpApi *api)
{
  HttpCall *call;

  if (api == NULL)
    return;
  while ((call = g_queue_peek_head (&api->in_flight)) != NULL)
    http_call_free (call);
  soup_server_disconnect (api->server);
  g_object_unref (api->server);
  g_hash_table_unref (api->responses);
  g_free (api);
}

static gint
compare_keys (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void
dsm_http_api_render_metrics (DsmHttpApi *api, GString *out)
{
  DsmNodeId self = dsm_node_get_id (dsm_host_get_node (api->host));
  g_autofree const char **keys = (const char **) g_hash_table_get_keys_as_array (api->responses, NULL);
  guint n = g_hash_table_size (api->responses);

  qsort (keys, n, sizeof *keys, compare_keys);
  dsm_metrics_write_header (out, "dsm_http_requests_total", "counter",
                            "HTTP requests answered, by route and status code.");
  for (guint i = 0; i < n; i++)
    {
      g_auto(GStrv) parts = g_strsplit (keys[i], "\x1f", 2);
      g_autofree char *labels = g_strdup_printf ("node=\"%u\",route=\"%s\",code=\"%s\"", self, parts[0], parts[1]);
      dsm_metrics_write_sample (out, "dsm_http_requests_total", labels,
                                (double) *(guint64 *) g_hash_table_lookup (api->responses, keys[i]));
    }
  dsm_metrics_write_header (out, "dsm_http_request_duration_seconds", "histogram",
                            "Time from a request's arrival (body read) to its answer, by route.");
  for (guint r = 0; r < ROUTE_N; r++)
    {
      g_autofree char *labels = g_strdup_printf ("node=\"%u\",route=\"%s\"", self, route_names[r]);
      dsm_net_histogram_render (&api->latency[r], out, "dsm_http_request_duration_seconds", labels);
    }
  g_autofree char *nl = g_strdup_printf ("node=\"%u\"", self);
  dsm_metrics_write_header (out, "dsm_http_requests_in_flight", "gauge",
                            "Requests waiting for the consensus core's answer.");
  dsm_metrics_write_sample (out, "dsm_http_requests_in_flight", nl, (double) api->in_flight.length);
}
