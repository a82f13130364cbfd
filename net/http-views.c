/* net/http-views.c: the health, metrics and cluster endpoints, rendered
 * on the consensus loop from the node's state (docs/OPERATIONS.md,
 * "GET /v1/cluster", "GET /healthz, GET /metrics"). */
#include "http-private.h"

#include "codec.h"
#include "node.h"
#include "transport.h"

static void
json_leader (GString *json, DsmNodeId leader)
{
  json_key (json, "leader");
  if (leader == DSM_NODE_NONE)
    g_string_append (json, "null");
  else
    dsm_codec_write_uint (json, leader);
}

void
http_view_healthz (HttpCall *call)
{
  DsmHttpApi *api = call->api;
  DsmNode *node = dsm_host_get_node (api->host);
  GString *json = g_string_new ("{");
  DsmNodeId leader = dsm_node_get_leader (node);

  json_string (json, "status", "ok");
  json_uint (json, "node", dsm_node_get_id (node));
  json_string (json, "role", dsm_role_to_string (dsm_node_get_role (node)));
  json_leader (json, leader);
  json_uint (json, "epoch", dsm_node_get_epoch (node));
  g_string_append_c (json, '}');
  http_answer (call, 200, json);
}

void
http_view_metrics (HttpCall *call)
{
  GString *text = g_string_new (NULL);

  dsm_host_render_metrics (call->api->host, text);
  dsm_http_api_render_metrics (call->api, text);
  http_answer_raw (call, 200, "text/plain; version=0.0.4; charset=utf-8", text);
}

static void
json_client_url (GString *json, const char *key, const DsmConfig *config, const DsmNodeConfig *node)
{
  g_autofree char *url = node != NULL && node->client_address != NULL
                           ? g_strdup_printf ("%s://%s", config->http.tls_cert_file != NULL ? "https" : "http",
                                              node->client_address)
                           : NULL;
  json_string (json, key, url);
}

static void
view_cluster_peer (GString *json, DsmHttpApi *api, const DsmPeerStatus *status, gboolean leader)
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

void
http_view_cluster (HttpCall *call)
{
  DsmHttpApi *api = call->api;
  DsmNode *node = dsm_host_get_node (api->host);
  const DsmConfig *config = api->config;
  DsmNodeId self = dsm_node_get_id (node);
  DsmNodeId leader = dsm_node_get_leader (node);
  gboolean is_leader = dsm_node_get_role (node) == DSM_ROLE_LEADER;
  DsmPeerStatus peers[DSM_MAX_NODES];
  guint n_peers = dsm_node_get_peers (node, peers, G_N_ELEMENTS (peers));
  GString *json = g_string_new ("{");

  json_string (json, "cluster_id", config->cluster_id);
  json_uint (json, "node", self);
  json_string (json, "role", dsm_role_to_string (dsm_node_get_role (node)));
  json_leader (json, leader);
  json_client_url (json, "leader_url", config, leader != DSM_NODE_NONE ? dsm_config_find_node (config, leader) : NULL);
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
      json_client_url (json, "client_url", config, nc);
      for (guint j = 0; j < n_peers; j++)
        if (peers[j].id == nc->id)
          view_cluster_peer (json, api, &peers[j], is_leader);
      g_string_append_c (json, '}');
    }
  g_string_append (json, "]}");
  http_answer (call, 200, json);
}
