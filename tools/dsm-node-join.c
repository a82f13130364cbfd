/* tools/dsm-node-join.c: `dsm-node --join URL`: a new node asks a member
 * of a running cluster to add it as a learner (POST /v1/members) and
 * learns its id; the cluster's leader then replicates to it
 * (docs/OPERATIONS.md, "Growing the cluster"). */
#include "dsm-node-join.h"

#include <libsoup/soup.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "layout.h"

gboolean
dsm_node_join_known_id (const char *data_dir, const char *cluster_id, DsmNodeId *id, GError **error)
{
  g_autofree char *meta = g_build_filename (data_dir, "meta.json", NULL);
  g_autofree char *found_cluster = NULL;

  *id = DSM_NODE_NONE;
  if (!g_file_test (meta, G_FILE_TEST_EXISTS))
    return TRUE;
  if (!dsm_layout_read_meta (data_dir, &found_cluster, id, error))
    return FALSE;
  if (g_strcmp0 (found_cluster, cluster_id) != 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s belongs to cluster \"%s\", not \"%s\"", data_dir,
                   found_cluster, cluster_id);
      return FALSE;
    }
  return TRUE;
}

static char *
join_body (const DsmNodeJoinOptions *options, const char *client_id)
{
  GString *body = g_string_new ("{\"op\":\"add\",\"peer_address\":");

  dsm_codec_write_string (body, options->peer_address);
  g_string_append (body, ",\"client_address\":");
  dsm_codec_write_string (body, options->client_address);
  /* Clients learn it from the membership (docs/CLIENT.md, "Leaders and redirects"). */
  if (options->native_address != NULL)
    {
      g_string_append (body, ",\"native_address\":");
      dsm_codec_write_string (body, options->native_address);
    }
  g_string_append (body, ",\"client_id\":");
  dsm_codec_write_string (body, client_id);
  g_string_append (body, ",\"seq\":1}");
  return g_string_free (body, FALSE);
}

static const char *
join_reason (JsonNode *root, const char *key)
{
  JsonNode *node = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_object_get_member (json_node_get_object (root), key)
                                                                 : NULL;
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gboolean
dsm_node_join (const DsmNodeJoinOptions *options, DsmNodeId *id, GError **error)
{
  g_autoptr(SoupSession) session = soup_session_new_with_options ("proxy-resolver", NULL, "timeout", 5, NULL);
  g_autofree char *base = g_strdup (options->url);
  /* One client id for every attempt: a retry after a lost answer is the
   * same command, applied once (PROTOCOL.md, "Client sessions"). */
  g_autofree char *client_id = g_strdup_printf ("join-%d-%08x%08x", (int) getpid (), g_random_int (), g_random_int ());
  g_autofree char *body = join_body (options, client_id);
  gint64 deadline = g_get_monotonic_time () + (gint64) options->timeout_s * G_USEC_PER_SEC;
  g_autofree char *last = NULL;

  while (g_str_has_suffix (base, "/"))
    base[strlen (base) - 1] = '\0';
  g_autofree char *url = g_strconcat (base, "/v1/members", NULL);
  if (options->cacert != NULL)
    {
      g_autoptr(GTlsDatabase) ca = g_tls_file_database_new (options->cacert, error);
      if (ca == NULL)
        return FALSE;
      soup_session_set_tls_database (session, ca);
    }
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
      g_autoptr(GError) local = NULL;
      if (msg == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "--join %s: not a valid URL", options->url);
          return FALSE;
        }
      if (options->token != NULL)
        {
          g_autofree char *authorization = g_strconcat ("Bearer ", options->token, NULL);
          soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", authorization);
        }
      g_autoptr(GBytes) request = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, "application/json", request);
      g_autoptr(GBytes) answer = soup_session_send_and_read (session, msg, NULL, &local);
      guint status = answer != NULL ? soup_message_get_status (msg) : 0;
      gsize length = 0;
      const char *data = answer != NULL ? g_bytes_get_data (answer, &length) : NULL;
      g_autoptr(JsonNode) root = data != NULL ? dsm_codec_parse (data, length, NULL) : NULL;
      if (status == 200)
        {
          JsonNode *member = root != NULL && JSON_NODE_HOLDS_OBJECT (root)
                               ? json_object_get_member (json_node_get_object (root), "id") : NULL;
          if (member == NULL || !JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_INT64
              || json_node_get_int (member) < 1 || json_node_get_int (member) > DSM_NODE_ID_MAX)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "--join %s: the answer names no node id", url);
              return FALSE;
            }
          *id = (DsmNodeId) json_node_get_int (member);
          return TRUE;
        }
      if (status >= 400 && status < 500)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "--join %s: refused (%u %s): %s", url, status,
                       join_reason (root, "reason") != NULL ? join_reason (root, "reason") : "?",
                       join_reason (root, "error") != NULL ? join_reason (root, "error") : "");
          return FALSE;
        }
      /* 503 (no leader yet, a change in progress) or no answer: retry. */
      g_free (last);
      last = status != 0 ? g_strdup_printf ("%u %s", status, join_reason (root, "reason") != NULL
                                                             ? join_reason (root, "reason") : "")
                         : g_strdup (local->message);
      g_usleep (200 * 1000);
    }
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "--join %s: not added within %u s (last: %s)", url,
               options->timeout_s, last != NULL ? last : "no attempt");
  return FALSE;
}
