/* net/http-admin.c: the administrative endpoints on the consensus loop:
 * the membership, membership changes and definitions through the core,
 * leadership transfer, and backups (docs/API.md, "Administration").
 * Their requests were routed, authorized (admin) and read on the HTTP
 * workers (http-route.c). */
#include "http-private.h"

#include "backup.h"
#include "codec.h"
#include "error.h"
#include "membership.h"
#include "netlog.h"
#include "node.h"

/* ---- GET /v1/members ---- */

static void
json_members (GString *json, const char *key, const DsmMembership *membership, gboolean tls)
{
  json_key (json, key);
  g_string_append_c (json, '[');
  for (guint i = 0; i < dsm_membership_get_n_members (membership); i++)
    {
      const DsmMember *m = dsm_membership_get_member (membership, i);
      g_autofree char *url = m->client_address != NULL
                               ? g_strdup_printf ("%s://%s", tls ? "https" : "http", m->client_address)
                               : NULL;
      if (i > 0)
        g_string_append_c (json, ',');
      g_string_append_c (json, '{');
      json_uint (json, "id", m->id);
      json_string (json, "role", dsm_member_role_to_string (m->role));
      json_string (json, "peer_address", m->peer_address);
      json_string (json, "client_url", url);
      g_string_append_c (json, '}');
    }
  g_string_append_c (json, ']');
}

/* The membership this node uses and the committed one (they differ
 * while a change is not committed yet): PROTOCOL.md, "Membership changes". */
void
http_admin_members (HttpCall *call)
{
  DsmNode *node = dsm_host_get_node (call->api->host);
  guint64 index = 0, committed_index = 0;
  const DsmMembership *in_use = dsm_node_get_membership (node, &index);
  const DsmMembership *committed = dsm_node_get_committed_membership (node, &committed_index);
  GString *json = g_string_new ("{");

  json_uint (json, "node", dsm_node_get_id (node));
  json_key (json, "leader");
  dsm_codec_write_uint (json, dsm_node_get_leader (node));
  json_uint (json, "index", index);
  json_key (json, "committed");
  g_string_append (json, index <= committed_index ? "true" : "false");
  json_uint (json, "next_id", dsm_membership_get_next_id (in_use));
  json_members (json, "members", in_use, call->api->tls);
  if (committed_index < index)
    {
      json_uint (json, "committed_index", committed_index);
      json_members (json, "committed_members", committed, call->api->tls);
    }
  g_string_append_c (json, '}');
  http_answer (call, 200, json);
}

/* ---- POST /v1/members, PUT /v1/definitions/{name} ---- */

static void
http_admin_on_reply (const DsmClientReply *reply, gpointer data)
{
  HttpCall *call = data;
  guint status = http_reply_status (call, reply);
  GString *json = g_string_new ("{");

  json_string (json, "op", dsm_op_to_string (reply->op));
  if (reply->status == DSM_REPLY_OK)
    {
      if (reply->op == DSM_OP_DEFINE)
        {
          json_string (json, "definition", call->cmd.definition);
          json_uint (json, "version", reply->index);
        }
      else
        json_uint (json, "id", reply->member);
      json_uint (json, "index", reply->index);
      g_string_append_c (json, '}');
      http_answer (call, 200, json);
      return;
    }
  json_string (json, "error", reply->detail != NULL ? reply->detail
                              : reply->status == DSM_REPLY_UNKNOWN ? "timeout, outcome unknown"
                              : dsm_reject_reason_to_string (reply->reason));
  json_string (json, "reason", reply->reason != DSM_REJECT_NONE ? dsm_reject_reason_to_string (reply->reason)
                                                                 : "timeout");
  json_string (json, "outcome", reply->status == DSM_REPLY_UNKNOWN ? "unknown" : "rejected");
  if (reply->leader_hint != DSM_NODE_NONE)
    json_uint (json, "leader", reply->leader_hint);
  g_string_append_c (json, '}');
  http_answer (call, status, json);
}

void
http_admin_submit (HttpCall *call)
{
  DsmHttpApi *api = call->api;

  dsm_net_log (G_LOG_LEVEL_MESSAGE, api->node, DSM_NODE_NONE, "admin_command", "%s asks for %s%s%s",
               call->who, dsm_op_to_string (call->cmd.op), call->cmd.definition != NULL ? " of " : "",
               call->cmd.definition != NULL ? call->cmd.definition : "");
  http_submit (call, http_admin_on_reply);
}

/* ---- POST /v1/leader/transfer ---- */

/* Starts a transfer on this node, which must lead (the core says why
 * not); the answer does not wait for the new leader: GET /v1/cluster
 * shows it (PROTOCOL.md, "Leadership transfer"). */
void
http_admin_transfer (HttpCall *call)
{
  DsmNode *node = dsm_host_get_node (call->api->host);
  g_autoptr(GError) error = NULL;

  if (!dsm_host_transfer_leadership (call->api->host, call->target, &error))
    {
      /* Not the leader: 503, so that clients try the leader; a transfer
       * under way: 409; a target that is no other voter: 400. */
      gboolean leads = dsm_node_get_role (node) == DSM_ROLE_LEADER;
      gboolean busy = g_error_matches (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_BUSY);
      DsmNodeId leader = dsm_node_get_leader (node);
      GString *json = g_string_new ("{");
      json_string (json, "error", error->message);
      json_string (json, "reason", !leads ? "not_leader" : busy ? "change_in_progress" : "bad_request");
      json_string (json, "outcome", "rejected");
      if (leader != DSM_NODE_NONE)
        json_uint (json, "leader", leader);
      g_string_append_c (json, '}');
      if (!leads)
        dsm_http_request_add_header (call->request, "Retry-After", "1");
      http_answer (call, !leads ? 503 : busy ? 409 : 400, json);
      return;
    }
  dsm_net_log (G_LOG_LEVEL_MESSAGE, call->api->node, call->target, "admin_transfer",
               "%s asks for a leadership transfer to %s", call->who,
               call->target != DSM_NODE_NONE ? "the named node" : "the most up-to-date voter");
  GString *json = g_string_new ("{");
  json_string (json, "transfer", "started");
  json_uint (json, "from", dsm_node_get_id (node));
  json_uint (json, "to", dsm_node_get_transfer_target (node));
  json_uint (json, "epoch", dsm_node_get_epoch (node));
  g_string_append_c (json, '}');
  http_answer (call, 202, json);
}

/* ---- GET /v1/snapshot ---- */

/* The node's applied state, a consistent prefix of the committed log,
 * as a backup file (backup.h) with its SHA-256 in a header too. */
void
http_admin_snapshot (HttpCall *call)
{
  DsmNode *node = dsm_host_get_node (call->api->host);
  GString *body = g_string_new (NULL);
  g_autofree char *sha256 = NULL;

  dsm_backup_write (body, dsm_node_get_store (node), call->api->config->cluster_id, dsm_node_get_id (node),
                    &sha256);
  dsm_http_request_add_header (call->request, "Dsm-Snapshot-Sha256", sha256);
  dsm_net_log (G_LOG_LEVEL_MESSAGE, call->api->node, DSM_NODE_NONE, "admin_snapshot",
               "%s takes a backup at index %" G_GUINT64_FORMAT " (%" G_GSIZE_FORMAT " bytes, sha256 %.12s)",
               call->who, dsm_node_get_applied_index (node), body->len, sha256);
  http_answer_raw (call, 200, "application/octet-stream", body);
}
