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

/* 200 while the node takes part; 503 once it cannot: removed from the
 * cluster, or stopped applying at an entry it cannot apply (PROTOCOL.md,
 * "Entries a node cannot apply"): a probe restarting it on 503 is the
 * remedy for the second, and says the first loudly.  Also 503 while the
 * disk is full (the node takes no writes; docs/OPERATIONS.md, "A full
 * disk"), with the alarm listed. */
void
http_view_healthz (HttpCall *call)
{
  DsmHttpApi *api = call->api;
  DsmNode *node = dsm_host_get_node (api->host);
  GString *json = g_string_new ("{");
  DsmNodeId leader = dsm_node_get_leader (node);
  const char *stalled_reason = NULL;
  guint64 stalled = dsm_node_get_stalled_index (node, &stalled_reason);
  gboolean removed = dsm_node_is_removed (node);
  const char *reason = NULL;
  gint64 since_us = 0;
  DsmHostAlarm alarm = dsm_host_get_alarm (api->host, &reason, &since_us);

  json_string (json, "status", removed ? "removed" : stalled != 0 ? "apply_stalled"
                               : alarm != DSM_HOST_ALARM_NONE ? "no_space" : "ok");
  json_uint (json, "node", dsm_node_get_id (node));
  json_string (json, "role", dsm_role_to_string (dsm_node_get_role (node)));
  json_leader (json, leader);
  json_uint (json, "epoch", dsm_node_get_epoch (node));
  if (stalled != 0)
    {
      json_uint (json, "stalled_index", stalled);
      json_string (json, "stalled_reason", stalled_reason);
    }
  json_key (json, "alarms");
  g_string_append_c (json, '[');
  if (alarm != DSM_HOST_ALARM_NONE)
    {
      g_string_append_c (json, '{');
      json_string (json, "kind", dsm_host_alarm_to_string (alarm));
      json_string (json, "reason", reason);
      json_key (json, "since_seconds");
      g_string_append_printf (json, "%.1f", (double) (g_get_monotonic_time () - since_us) / 1e6);
      g_string_append_c (json, '}');
    }
  g_string_append (json, "]}");
  http_answer (call, removed || stalled != 0 || alarm != DSM_HOST_ALARM_NONE ? 503 : 200, json);
}

/* One rendering serves every /metrics call the loop runs in one batch (one
 * main-loop iteration: g_source_get_time() of the dispatching source is
 * that iteration's time).  Rendered one by one, 400 pipelined scrapes held
 * the consensus loop 88 ms and moved leadership (docs/SECURITY.md,
 * "Replaying the tables"); within a batch nothing the loop counts changes
 * between them, so the answers are the same. */
void
http_view_metrics (HttpCall *call)
{
  DsmHttpApi *api = call->api;
  GSource *source = g_main_current_source ();
  gint64 iteration = source != NULL ? g_source_get_time (source) : -1;

  if (api->metrics_text == NULL || iteration < 0 || iteration != api->metrics_iteration)
    {
      GString *text = g_string_new (NULL);
      dsm_host_render_metrics (api->host, text);
      dsm_http_api_render_metrics (api, text);
      if (api->metrics_text != NULL)
        g_string_free (api->metrics_text, TRUE);
      api->metrics_text = text;
      api->metrics_iteration = iteration;
    }
  g_assert (api->metrics_text != NULL);
  http_answer_raw (call, 200, "text/plain; version=0.0.4; charset=utf-8",
                   g_string_new_len (api->metrics_text->str, (gssize) api->metrics_text->len));
}

static void
json_client_url (GString *json, const char *key, const DsmConfig *config, const DsmMember *member)
{
  g_autofree char *url = member != NULL && member->client_address != NULL
                           ? g_strdup_printf ("%s://%s", config->http.tls_cert_file != NULL ? "https" : "http",
                                              member->client_address)
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

static void
view_cluster_member (GString *json, DsmHttpApi *api, const DsmMember *member, gboolean departing,
                     const DsmPeerStatus *peers, guint n_peers)
{
  DsmNode *node = dsm_host_get_node (api->host);
  gboolean is_leader = dsm_node_get_role (node) == DSM_ROLE_LEADER;

  g_string_append_c (json, '{');
  json_uint (json, "id", member->id);
  json_key (json, "self");
  g_string_append (json, member->id == dsm_node_get_id (node) ? "true" : "false");
  json_string (json, "member", departing ? "departing" : dsm_member_role_to_string (member->role));
  json_string (json, "peer_address", member->peer_address);
  json_client_url (json, "client_url", api->config, member);
  for (guint j = 0; j < n_peers; j++)
    if (peers[j].id == member->id)
      view_cluster_peer (json, api, &peers[j], is_leader);
  g_string_append_c (json, '}');
}

/* The membership this node uses (its log's: PROTOCOL.md, "Membership
 * changes"), with what it knows of each peer; a member whose removal is
 * not committed yet shows as "departing". */
void
http_view_cluster (HttpCall *call)
{
  DsmHttpApi *api = call->api;
  DsmNode *node = dsm_host_get_node (api->host);
  const DsmConfig *config = api->config;
  DsmNodeId self = dsm_node_get_id (node);
  DsmNodeId leader = dsm_node_get_leader (node);
  DsmPeerStatus peers[DSM_MAX_NODES];
  guint n_peers = dsm_node_get_peers (node, peers, G_N_ELEMENTS (peers));
  guint64 membership_index = 0, committed_index = 0;
  const DsmMembership *membership = dsm_node_get_membership (node, &membership_index);
  const DsmMembership *committed = dsm_node_get_committed_membership (node, &committed_index);
  const char *stalled_reason = NULL;
  guint64 stalled = dsm_node_get_stalled_index (node, &stalled_reason);
  const DsmMember *leader_member = leader != DSM_NODE_NONE ? dsm_membership_find (membership, leader) : NULL;
  GString *json = g_string_new ("{");

  if (leader_member == NULL && leader != DSM_NODE_NONE)
    leader_member = dsm_membership_find (committed, leader);
  json_string (json, "cluster_id", config->cluster_id);
  json_uint (json, "node", self);
  json_string (json, "role", dsm_role_to_string (dsm_node_get_role (node)));
  json_leader (json, leader);
  json_client_url (json, "leader_url", config, leader_member);
  json_uint (json, "epoch", dsm_node_get_epoch (node));
  json_uint (json, "commit_index", dsm_node_get_commit_index (node));
  json_uint (json, "applied_index", dsm_node_get_applied_index (node));
  json_uint (json, "last_index", dsm_node_get_last_index (node));
  json_key (json, "voter");
  g_string_append (json, dsm_node_is_voter (node) ? "true" : "false");
  json_key (json, "removed");
  g_string_append (json, dsm_node_is_removed (node) ? "true" : "false");
  json_key (json, "stalled_index");
  if (stalled != 0)
    dsm_codec_write_uint (json, stalled);
  else
    g_string_append (json, "null");
  json_string (json, "stalled_reason", stalled != 0 ? stalled_reason : NULL);
  json_uint (json, "membership_index", membership_index);
  json_key (json, "membership_committed");
  g_string_append (json, membership_index <= committed_index ? "true" : "false");
  json_uint (json, "next_id", dsm_membership_get_next_id (membership));
  json_key (json, "nodes");
  g_string_append_c (json, '[');
  for (guint i = 0; i < dsm_membership_get_n_members (membership); i++)
    {
      if (i > 0)
        g_string_append_c (json, ',');
      view_cluster_member (json, api, dsm_membership_get_member (membership, i), FALSE, peers, n_peers);
    }
  /* Members the committed membership still lists: removed by an entry
   * not committed yet. */
  for (guint i = 0; i < dsm_membership_get_n_members (committed); i++)
    {
      const DsmMember *m = dsm_membership_get_member (committed, i);
      if (dsm_membership_find (membership, m->id) != NULL)
        continue;
      g_string_append_c (json, ',');
      view_cluster_member (json, api, m, TRUE, peers, n_peers);
    }
  g_string_append (json, "]}");
  http_answer (call, 200, json);
}
