/* net/http.c: the HTTP API object (http.h): credentials and TLS from the
 * config, the server on its workers, the batched hand-off of calls to the
 * consensus loop, answers, the graceful stop, and the API's metrics.
 * Routing is http-route.c (workers); what each endpoint answers is
 * http-views.c and http-machines.c (the loop). */
#include "http-private.h"

#include <string.h>

#include "address.h"
#include "codec.h"
#include "config-files.h"
#include "error.h"
#include "metrics.h"
#include "netlog.h"
#include "node.h"

static const char *const route_names[ROUTE_N] = {
  [ROUTE_HEALTHZ] = "healthz",
  [ROUTE_METRICS] = "metrics",
  [ROUTE_CLUSTER] = "cluster",
  [ROUTE_MACHINES_LIST] = "machines_list",
  [ROUTE_MACHINE_GET] = "machine_get",
  [ROUTE_MACHINE_POST] = "machine_post",
  [ROUTE_MEMBERS] = "members",
  [ROUTE_MEMBERS_POST] = "members_post",
  [ROUTE_TRANSFER] = "leader_transfer",
  [ROUTE_DEFINITION_PUT] = "definition_put",
  [ROUTE_SNAPSHOT] = "snapshot",
  [ROUTE_WATCH] = "watch",
  [ROUTE_OTHER] = "other",
};

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
  dsm_codec_write_uint (out, value);
}

/* ---- answering ---- */

void
http_answer_raw (HttpCall *call, guint status, const char *content_type, GString *body)
{
  DsmHttpApi *api = call->api;
  DsmHttpRequest *request = call->request;

  g_assert (request != NULL);
  g_assert (status < HTTP_STATUS_SLOTS);
  /* Only the loop links calls, so only the loop sees a linked one. */
  if (call->link.data != NULL)
    {
      g_queue_unlink (&api->in_flight, &call->link);
      call->link.data = NULL;
    }
  __atomic_fetch_add (&api->answers[call->route][status], 1, __ATOMIC_RELAXED);
  dsm_net_histogram_observe_us_atomic (&api->latency[call->route], g_get_monotonic_time () - call->start_us);
  call->request = NULL;
  /* The call goes with its request: not one more touch after this. */
  dsm_http_request_respond (request, status, content_type, body);
}

void
http_answer (HttpCall *call, guint status, GString *json)
{
  g_string_append_c (json, '\n');
  http_answer_raw (call, status, "application/json", json);
}

void
http_answer_error (HttpCall *call, guint status, const char *reason, const char *format, ...)
{
  GString *json = g_string_new ("{");
  va_list args;

  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  json_string (json, "error", message);
  json_string (json, "reason", reason);
  g_string_append_c (json, '}');
  http_answer (call, status, json);
}

/* ---- the loop's side of the hand-off ---- */

/* Runs one call handed over by a worker, on the consensus loop. */
static void
http_run (gpointer item, gpointer user_data)
{
  HttpCall *call = item;
  DsmHttpApi *api = user_data;

  if (g_atomic_int_get (&api->stopping))
    {
      http_answer_error (call, 503, "stopping", "node shutting down");
      return;
    }
  switch (call->op)
    {
    case OP_HEALTHZ:
      http_view_healthz (call);
      break;
    case OP_METRICS:
      http_view_metrics (call);
      break;
    case OP_CLUSTER:
      http_view_cluster (call);
      break;
    case OP_LIST:
      http_machines_list (call);
      break;
    case OP_STALE_READ:
      http_machine_stale_read (call);
      break;
    case OP_SUBMIT:
      http_machine_submit (call);
      break;
    case OP_ADMIN_SUBMIT:
      http_admin_submit (call);
      break;
    case OP_MEMBERS:
      http_admin_members (call);
      break;
    case OP_TRANSFER:
      http_admin_transfer (call);
      break;
    case OP_SNAPSHOT:
      http_admin_snapshot (call);
      break;
    case OP_WATCH:
      http_watch_start (call);
      break;
    case OP_NONE:
    default:
      g_assert_not_reached ();
    }
}

/* ---- construction ---- */

static gboolean
http_api_load_credentials (DsmHttpApi *api, const char *base_dir, DsmHttpServerOptions *options, GError **error)
{
  const DsmHttpConfig *http = &api->config->http;

  if (http->token_file != NULL)
    {
      g_autofree char *path = dsm_config_file_path (http->token_file, api->node, base_dir);
      api->auth = dsm_http_auth_new ();
      if (!dsm_http_auth_load_tokens (api->auth, path, error))
        return FALSE;
    }
  if (http->tls_cert_file != NULL)
    {
      g_autofree char *cert = dsm_config_file_path (http->tls_cert_file, api->node, base_dir);
      g_autofree char *key = dsm_config_file_path (http->tls_key_file, api->node, base_dir);
      g_autoptr(GError) local = NULL;
      options->tls_certificate = g_tls_certificate_new_from_files (cert, key, &local);
      if (options->tls_certificate == NULL)
        {
          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                       "http.tls_cert_file \"%s\", http.tls_key_file \"%s\": %s", cert, key, local->message);
          return FALSE;
        }
      api->tls = TRUE;
    }
  if (http->client_ca_file != NULL)
    {
      g_autofree char *ca = dsm_config_file_path (http->client_ca_file, api->node, base_dir);
      GHashTableIter iter;
      gpointer name, role_name;

      g_autoptr(GError) local = NULL;
      options->tls_client_ca = g_tls_file_database_new (ca, &local);
      if (options->tls_client_ca == NULL)
        {
          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID, "http.client_ca_file \"%s\": %s", ca,
                       local->message);
          return FALSE;
        }
      options->tls_client_cert_required = http->client_cert_required;
      if (api->auth == NULL)
        api->auth = dsm_http_auth_new ();
      g_hash_table_iter_init (&iter, http->client_cert_roles);
      while (g_hash_table_iter_next (&iter, &name, &role_name))
        {
          DsmHttpRole role;
          g_assert (dsm_http_role_from_string (role_name, &role));
          dsm_http_auth_add_certificate_role (api->auth, name, role);
        }
    }
  return TRUE;
}

/* What a worker needs of the API (config, credentials, rate limit),
 * without the server, the loop or the host. */
static DsmHttpApi *
http_api_new_detached (DsmConfig *config, DsmNodeId node, const char *base_dir, DsmHttpServerOptions *options,
                       GError **error)
{
  const DsmHttpConfig *http = &config->http;
  DsmHttpApi *api = g_new0 (DsmHttpApi, 1);

  api->config = dsm_config_ref (config);
  api->node = node;
  api->answers = g_malloc0 (sizeof (guint64[ROUTE_N][HTTP_STATUS_SLOTS]));
  g_queue_init (&api->in_flight);
  g_queue_init (&api->watchers);
  api->watchers_by_who = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  api->rate = dsm_http_rate_new (http->rate_per_second, http->rate_burst);
  dsm_http_server_options_init (options);
  if (!http_api_load_credentials (api, base_dir, options, error))
    {
      g_clear_object (&options->tls_certificate);
      g_clear_object (&options->tls_client_ca);
      dsm_http_api_free (api);
      return NULL;
    }
  return api;
}

DsmHttpApi *
dsm_http_api_new_detached (DsmConfig *config, DsmNodeId node, const char *base_dir, GError **error)
{
  DsmHttpServerOptions options;
  DsmHttpApi *api = http_api_new_detached (config, node, base_dir, &options, error);

  if (api != NULL)
    {
      g_clear_object (&options.tls_certificate);
      g_clear_object (&options.tls_client_ca);
    }
  return api;
}

DsmHttpApi *
dsm_http_api_new (DsmHost *host, const char *base_dir, GError **error)
{
  DsmConfig *config = dsm_host_get_config (host);
  const DsmHttpConfig *http = &config->http;
  DsmHttpServerOptions options;
  DsmHttpApi *api = http_api_new_detached (config, dsm_node_get_id (dsm_host_get_node (host)), base_dir,
                                           &options, error);
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  if (api == NULL)
    return NULL;
  api->host = host;
  options.workers = http->workers;
  options.limits.request_line_bytes_max = http->max_request_line_bytes;
  options.limits.header_bytes_max = http->max_header_bytes;
  options.limits.header_count_max = http->max_header_count;
  options.limits.body_bytes_max = http->max_body_bytes;
  options.header_timeout_ms = http->header_timeout_ms;
  options.body_timeout_ms = http->body_timeout_ms;
  options.idle_timeout_ms = http->idle_timeout_ms;
  options.write_timeout_ms = http->write_timeout_ms;
  options.max_connections = http->max_connections;
  options.max_connections_per_address = http->max_connections_per_address;
  options.max_pipelined_requests = http->max_pipelined_requests;
  options.node = api->node;
  api->server = dsm_http_server_new (&options, http_route_on_head, http_route_on_request, api);
  g_clear_object (&options.tls_certificate);
  g_clear_object (&options.tls_client_ca);
  /* The core bounds the requests it holds (max_pending_requests); the
   * queue in front of it holds no more. */
  api->queue = dsm_loop_queue_new (context, config->max_pending_requests, DSM_HTTP_LOOP_BATCH_MAX, http_run, api);
  return api;
}

gboolean
dsm_http_api_listen (DsmHttpApi *api, const char *address, GError **error)
{
  g_autoptr(GSocketAddress) addr = dsm_net_resolve (address, "client address", error);
  gboolean loopback;

  if (addr == NULL)
    return FALSE;
  loopback = G_IS_INET_SOCKET_ADDRESS (addr)
             && g_inet_address_get_is_loopback (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (addr)));
  /* No silent insecurity: an API anyone on the network may write to must
   * be asked for by name (docs/OPERATIONS.md, "Authentication"). */
  if (api->auth == NULL && !api->config->http.insecure_open && !loopback)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "HTTP API on %s: no credentials configured and the address is not loopback; set "
                   "http.token_file (or http.client_ca_file), or http.insecure_open: true to serve anyone", address);
      return FALSE;
    }
  if (!dsm_http_server_listen (api->server, address, error))
    return FALSE;
  if (api->auth == NULL)
    dsm_net_log (G_LOG_LEVEL_WARNING, api->node, DSM_NODE_NONE, "http_insecure",
                 "HTTP API on %s without credentials: %s may read and write every machine", address,
                 loopback ? "every local user" : "anyone who can reach it");
  else
    dsm_net_log (G_LOG_LEVEL_MESSAGE, api->node, DSM_NODE_NONE, "http_listening",
                 "HTTP API on %s%s: %u bearer token(s)%s", address, api->tls ? " (TLS)" : "",
                 dsm_http_auth_get_n_tokens (api->auth),
                 api->config->http.client_ca_file != NULL ? ", client certificates" : "");
  return TRUE;
}

guint16
dsm_http_api_get_port (DsmHttpApi *api)
{
  return dsm_http_server_get_port (api->server);
}

void
dsm_http_api_start (DsmHttpApi *api)
{
  dsm_http_server_start (api->server);
}

/* ---- stopping ---- */

void
dsm_http_api_shutdown (DsmHttpApi *api)
{
  g_autoptr(GPtrArray) waiting = NULL;
  HttpCall *call;

  if (g_atomic_int_get (&api->stopping))
    return;
  g_atomic_int_set (&api->stopping, 1);
  if (api->server != NULL)
    dsm_http_server_stop_accepting (api->server);
  waiting = dsm_loop_queue_close (api->queue);
  for (guint i = 0; i < waiting->len; i++)
    http_answer_error (waiting->pdata[i], 503, "stopping", "node shutting down");
  http_watch_end_all (api);
  while ((call = g_queue_peek_head (&api->in_flight)) != NULL)
    {
      GString *json = g_string_new ("{");
      dsm_host_forget (api->host, call->request_id);
      json_string (json, "error", "node shutting down; outcome unknown");
      json_string (json, "reason", "stopping");
      json_string (json, "outcome", "unknown");
      g_string_append_c (json, '}');
      http_answer (call, 503, json);
    }
}

void
dsm_http_api_disconnect (DsmHttpApi *api)
{
  dsm_http_api_shutdown (api);
  g_clear_pointer (&api->server, dsm_http_server_free);
}

gboolean
dsm_http_api_reload_tokens (DsmHttpApi *api, GError **error)
{
  g_return_val_if_fail (api != NULL, FALSE);

  return api->auth == NULL || dsm_http_auth_reload_tokens (api->auth, error);
}

void
dsm_http_api_free (DsmHttpApi *api)
{
  if (api == NULL)
    return;
  if (api->queue != NULL)
    dsm_http_api_disconnect (api);
  g_clear_pointer (&api->server, dsm_http_server_free);
  g_clear_pointer (&api->queue, dsm_loop_queue_free);
  g_clear_pointer (&api->auth, dsm_http_auth_free);
  g_clear_pointer (&api->rate, dsm_http_rate_free);
  if (api->metrics_text != NULL)
    g_string_free (api->metrics_text, TRUE);
  g_assert (api->watchers.length == 0);
  g_hash_table_unref (api->watchers_by_who);
  dsm_config_unref (api->config);
  g_free (api->answers);
  g_free (api);
}

/* ---- metrics ---- */

static void
render_one (GString *out, const char *labels, const char *name, const char *type, const char *help, double value)
{
  dsm_metrics_write_header (out, name, type, help);
  dsm_metrics_write_sample (out, name, labels, value);
}

void
dsm_http_api_render_metrics (DsmHttpApi *api, GString *out)
{
  static const char *const auth_reasons[AUTH_FAIL_N] = { "missing", "invalid", "forbidden" };
  g_autofree char *nl = g_strdup_printf ("node=\"%u\"", api->node);
  DsmLoopQueueStats q;

  dsm_metrics_write_header (out, "dsm_http_requests_total", "counter",
                            "HTTP requests answered, by route and status code.");
  for (guint r = 0; r < ROUTE_N; r++)
    for (guint s = 100; s < HTTP_STATUS_SLOTS; s++)
      {
        guint64 n = __atomic_load_n (&api->answers[r][s], __ATOMIC_RELAXED);
        if (n == 0)
          continue;
        g_autofree char *labels = g_strdup_printf ("%s,route=\"%s\",code=\"%u\"", nl, route_names[r], s);
        dsm_metrics_write_sample (out, "dsm_http_requests_total", labels, (double) n);
      }
  dsm_metrics_write_header (out, "dsm_http_request_duration_seconds", "histogram",
                            "Time from a request's head to its answer, by route.");
  for (guint r = 0; r < ROUTE_N; r++)
    {
      g_autofree char *labels = g_strdup_printf ("%s,route=\"%s\"", nl, route_names[r]);
      DsmNetHistogram copy;
      dsm_net_histogram_snapshot (&api->latency[r], &copy);
      dsm_net_histogram_render (&copy, out, "dsm_http_request_duration_seconds", labels);
    }
  if (api->queue != NULL)
    {
      dsm_loop_queue_get_stats (api->queue, &q);
      render_one (out, nl, "dsm_http_requests_in_flight", "gauge",
                  "Requests handed to the consensus loop and not answered yet (queued or waiting on the core).",
                  (double) (api->in_flight.length + q.waiting));
      render_one (out, nl, "dsm_http_loop_batches_total", "counter",
                  "Batches of requests the consensus loop took from the HTTP workers (one wake-up each).",
                  (double) q.batches);
      render_one (out, nl, "dsm_http_loop_requests_total", "counter",
                  "Requests the consensus loop took from the HTTP workers (requests / batches = batching).",
                  (double) q.items);
      render_one (out, nl, "dsm_http_loop_batch_max", "gauge", "The largest batch the loop took at once.",
                  (double) q.batch_max_seen);
    }
  render_one (out, nl, "dsm_http_overloaded_total", "counter",
              "Requests answered 503 overloaded because the queue to the consensus loop was full.",
              (double) __atomic_load_n (&api->overloaded, __ATOMIC_RELAXED));
  render_one (out, nl, "dsm_http_auth_enabled", "gauge",
              "1 when the API asks for credentials (tokens or client certificates), 0 when it serves anyone.",
              api->auth != NULL ? 1 : 0);
  render_one (out, nl, "dsm_http_tls", "gauge", "1 when the API speaks HTTPS.", api->tls ? 1 : 0);
  if (api->auth != NULL && dsm_http_auth_has_token_file (api->auth))
    {
      render_one (out, nl, "dsm_http_tokens", "gauge", "Bearer tokens of http.token_file in use.",
                  (double) dsm_http_auth_get_n_tokens (api->auth));
      dsm_metrics_write_header (out, "dsm_http_token_file_loads_total", "counter",
                                "Reads of http.token_file (at start and on SIGHUP): taken, or refused "
                                "(the tokens in use kept).");
      for (guint taken = 0; taken < 2; taken++)
        {
          g_autofree char *labels = g_strdup_printf ("%s,result=\"%s\"", nl, taken ? "taken" : "refused");
          dsm_metrics_write_sample (out, "dsm_http_token_file_loads_total", labels,
                                    (double) dsm_http_auth_get_reloads (api->auth, taken));
        }
    }
  dsm_metrics_write_header (out, "dsm_http_auth_failures_total", "counter",
                            "Requests refused for credentials: missing (401), invalid (401), forbidden (403).");
  for (guint k = 0; k < AUTH_FAIL_N; k++)
    {
      g_autofree char *labels = g_strdup_printf ("%s,reason=\"%s\"", nl, auth_reasons[k]);
      dsm_metrics_write_sample (out, "dsm_http_auth_failures_total", labels,
                                (double) __atomic_load_n (&api->auth_failures[k], __ATOMIC_RELAXED));
    }
  render_one (out, nl, "dsm_http_rate_limited_total", "counter",
              "Requests answered 429 by the per-client token bucket (http.rate_per_second).",
              (double) __atomic_load_n (&api->rate_limited, __ATOMIC_RELAXED));
  render_one (out, nl, "dsm_log_suppressed_total", "counter",
              "Log records about hostile or broken input suppressed by the per-source rate limit.",
              (double) dsm_net_log_get_suppressed ());
  http_watch_render_metrics (api, out, nl);
  if (api->server != NULL)
    dsm_http_server_render_metrics (api->server, out, nl);
}
