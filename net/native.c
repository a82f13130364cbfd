/* net/native.c: the native client protocol (native.h): its object and
 * credentials, each request checked on its worker (hello, role, bounds,
 * rate) and handed to the consensus loop in batches, the loop's answers
 * (through the core on the leader, a redirect elsewhere, stale reads from
 * the store), the stop.  Sockets and deadlines are native-server.c, the
 * dsm_native_* metrics native-metrics.c. */
#include "native-private.h"

#include <string.h>

#include "address.h"
#include "config-files.h"
#include "error.h"
#include "membership.h"
#include "netlog.h"
#include "node.h"
#include "payload.h"
#include "store.h"

const char *const native_error_names[NE_N] = {
  [NE_BAD_FRAME] = "bad_frame",
  [NE_FRAME_TOO_LARGE] = "frame_too_large",
  [NE_BAD_TYPE] = "bad_type",
  [NE_BAD_REQUEST] = "bad_request",
  [NE_BAD_VERSION] = "bad_version",
  [NE_HELLO_REQUIRED] = "hello_required",
  [NE_BAD_TOKEN] = "bad_token",
  [NE_FORBIDDEN] = "forbidden",
  [NE_TOO_MANY_IN_FLIGHT] = "too_many_in_flight",
  [NE_RATE_LIMITED] = "rate_limited",
  [NE_OVERLOADED] = "overloaded",
  [NE_NOT_LEADER] = "not_leader",
  [NE_NO_LEADER] = "no_leader",
  [NE_STOPPING] = "stopping",
  [NE_TIMEOUT] = "timeout",
  [NE_TOO_MANY_CONNECTIONS] = "too_many_connections",
  [NE_BAD_PAYLOAD] = "bad_payload",
  [NE_TLS_REQUIRED] = "tls_required",
};

const char *
native_error_name (NativeError code)
{
  g_assert (code < NE_N);
  return native_error_names[code];
}

void
native_call_free (NativeCall *call)
{
  /* Its command's strings are in call->strings (the request's decoded
   * block), but for the payload, which native_take_payload() made. */
  g_free (call->cmd.payload);
  g_free (call->strings);
  if (call->answer != call->answer_room)
    g_free (call->answer);
  g_free (call);
}

void
native_call_set_answer (NativeCall *call, const DsmWireMsg *msg)
{
  gsize size = dsm_wire_encoded_bytes (msg, call->version);

  g_assert (call->answer == NULL);
  call->answer = size <= sizeof call->answer_room ? call->answer_room : g_malloc (size);
  call->answer_bytes = dsm_wire_encode_into (msg, call->version, call->answer, size);
}

/* ---- the worker's side ---- */

static void
native_on_hello (DsmNative *n, NativeConn *c, const DsmWireMsg *msg, NativeCall *call)
{
  DsmHttpRole role = DSM_HTTP_ROLE_ADMIN;
  g_autofree char *name = NULL;

  if (native_conn_get_authed (c))
    {
      native_conn_error (c, msg->id, NE_BAD_REQUEST, FALSE, 0, "hello %" G_GUINT64_FORMAT ": already said hello",
                         msg->id);
      return;
    }
  /* Every version from the oldest still spoken: an older client keeps
   * working after the node is upgraded (docs/CLIENT.md, "Versions"). */
  if (msg->version < DSM_WIRE_VERSION_MIN || msg->version > DSM_WIRE_VERSION)
    {
      native_conn_error (c, msg->id, NE_BAD_VERSION, TRUE, 0,
                         "hello %" G_GUINT64_FORMAT ": field \"version\" at byte 9: %u; this node speaks %u to %u",
                         msg->id, msg->version, DSM_WIRE_VERSION_MIN, DSM_WIRE_VERSION);
      return;
    }
  if (n->auth != NULL)
    {
      role = msg->token != NULL ? dsm_http_auth_check_token (n->auth, msg->token, &name) : DSM_HTTP_ROLE_NONE;
      if (role == DSM_HTTP_ROLE_NONE)
        {
          dsm_net_log_limited (G_LOG_LEVEL_WARNING, n->node, "native_auth_failed", native_conn_get_host (c),
                               "refused a native hello from %s: %s token", native_conn_get_host (c),
                               msg->token != NULL ? "invalid" : "no");
          native_conn_error (c, msg->id, NE_BAD_TOKEN, TRUE, 0, "hello %" G_GUINT64_FORMAT ": field \"token\": %s",
                             msg->id, msg->token != NULL ? "matches no token of http.token_file"
                                                         : "empty; this node asks for a bearer token");
          return;
        }
    }
  g_autofree char *who = name != NULL ? g_strdup_printf ("token %s", name)
                                      : g_strdup_printf ("address %s", native_conn_get_host (c));
  native_conn_set_identity (c, role, who, msg->version);
  call->type = DSM_WIRE_HELLO;
  call->role = role;
}

/* A transition's payload (version 2) as the command carries it: a JSON
 * object in canonical text within the config's payload limits, checked
 * here, before anything is proposed, as the HTTP port checks its body's
 * (docs/CLIENT.md, "Payloads").  FALSE once answered: bad_payload for a
 * payload over the limits (HTTP's 413), bad_request for one that is not
 * a JSON object. */
static gboolean
native_take_payload (DsmNative *n, NativeConn *c, const DsmWireMsg *msg, DsmCommand *cmd)
{
  const DsmConfig *config = n->config;
  DsmPayloadLimits limits = { config->payload_bytes_max, config->payload_depth_max, config->payload_fields_max };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) parsed = NULL;

  if (msg->payload == NULL)
    return TRUE;
  /* The ceilings bound the parse of what was sent; the configured limits
   * bound the canonical text every node stores. */
  parsed = dsm_payload_parse (msg->payload, "payload", &dsm_payload_ceilings, &error);
  if (parsed != NULL)
    cmd->payload = dsm_payload_canonical (parsed, "payload", &limits, &error);
  if (cmd->payload != NULL)
    return TRUE;
  g_assert (error != NULL);
  gboolean too_big = error->code == DSM_JSON_ERROR_TOO_LARGE || error->code == DSM_JSON_ERROR_TOO_DEEP;
  native_conn_error (c, msg->id, too_big ? NE_BAD_PAYLOAD : NE_BAD_REQUEST, FALSE, 0,
                     "transition %" G_GUINT64_FORMAT ": %s", msg->id, error->message);
  return FALSE;
}

/* The command of a transition or read, checked as the HTTP API checks it. */
static gboolean
native_take_command (DsmNative *n, NativeConn *c, DsmWireMsg *msg, NativeCall *call)
{
  g_autoptr(GError) error = NULL;
  DsmCommand *cmd = &call->cmd;
  guint8 known_flags = msg->type == DSM_WIRE_READ ? DSM_WIRE_READ_STALE : DSM_WIRE_TRANSITION_IF_REVISION;

  cmd->op = msg->type == DSM_WIRE_TRANSITION ? DSM_OP_TRANSITION : DSM_OP_READ;
  /* Borrowed from the request: native_on_request() hands their block to
   * the call once it is taken. */
  cmd->machine = msg->machine;
  cmd->definition = msg->definition;
  cmd->to = msg->to;
  cmd->from = msg->from;
  cmd->client_id = msg->client_id;
  cmd->seq = cmd->client_id != NULL ? msg->seq : 0;
  call->stale = msg->type == DSM_WIRE_READ && (msg->flags & DSM_WIRE_READ_STALE) != 0;
  if (msg->type == DSM_WIRE_TRANSITION)
    {
      cmd->has_if_revision = (msg->flags & DSM_WIRE_TRANSITION_IF_REVISION) != 0;
      cmd->if_revision = msg->if_revision;
    }
  if ((msg->flags & ~known_flags) != 0)
    g_set_error (&error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID, "flags: unknown bits 0x%02x",
                 msg->flags & ~known_flags);
  else if (msg->type == DSM_WIRE_TRANSITION && !cmd->has_if_revision && msg->if_revision != 0)
    g_set_error (&error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                 "if_revision: %" G_GUINT64_FORMAT " without the if_revision flag (0x01)", msg->if_revision);
  else if (cmd->machine == NULL)
    g_set_error_literal (&error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID, "machine: empty");
  else if (cmd->client_id != NULL && cmd->seq == 0)
    g_set_error_literal (&error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID, "seq: 0 with a client_id (starts at 1)");
  if (error == NULL && dsm_command_check_machine_name ("machine", cmd->machine, &error)
      && dsm_command_check (cmd, &error))
    return native_take_payload (n, c, msg, cmd);
  native_conn_error (c, msg->id, NE_BAD_REQUEST, FALSE, 0, "%s %" G_GUINT64_FORMAT ": %s",
                     dsm_wire_type_name (msg->type), msg->id, error->message);
  return FALSE;
}

void
native_on_request (DsmNative *n, NativeConn *c, DsmWireMsg *msg)
{
  NativeCall *call = g_new0 (NativeCall, 1);
  guint retry_after_s;

  call->id = msg->id;
  call->start_us = g_get_monotonic_time ();
  if (msg->type == DSM_WIRE_HELLO)
    {
      NATIVE_ADD (n, requests[0], 1);
      native_on_hello (n, c, msg, call);
      if (call->type != DSM_WIRE_HELLO)
        goto refused;
    }
  else
    {
      DsmHttpRole needed = msg->type == DSM_WIRE_TRANSITION ? DSM_HTTP_ROLE_WRITE : DSM_HTTP_ROLE_READ;
      if (!native_conn_get_authed (c))
        {
          native_conn_error (c, msg->id, NE_HELLO_REQUIRED, TRUE, 0,
                             "%s %" G_GUINT64_FORMAT ": the first frame of a connection must be a hello",
                             dsm_wire_type_name (msg->type), msg->id);
          goto refused;
        }
      if (native_conn_get_role (c) < needed)
        {
          native_conn_error (c, msg->id, NE_FORBIDDEN, FALSE, 0, "%s %" G_GUINT64_FORMAT ": %s has role %s; this needs %s",
                             dsm_wire_type_name (msg->type), msg->id, native_conn_get_who (c),
                             dsm_http_role_to_string (native_conn_get_role (c)), dsm_http_role_to_string (needed));
          goto refused;
        }
      if (native_conn_get_in_flight (c) >= n->limits.max_in_flight)
        {
          native_conn_error (c, msg->id, NE_TOO_MANY_IN_FLIGHT, FALSE, 10,
                             "%s %" G_GUINT64_FORMAT ": %u requests of this connection are in flight "
                             "(native.max_in_flight)", dsm_wire_type_name (msg->type), msg->id,
                             native_conn_get_in_flight (c));
          goto refused;
        }
      if (!dsm_http_rate_take (n->rate, native_conn_get_who (c), call->start_us, &retry_after_s))
        {
          dsm_net_log_limited (G_LOG_LEVEL_INFO, n->node, "native_rate_limited", native_conn_get_who (c),
                               "native requests of %s over native.rate_per_second", native_conn_get_who (c));
          native_conn_error (c, msg->id, NE_RATE_LIMITED, FALSE, retry_after_s * 1000,
                             "more than %u requests a second (native.rate_per_second)", n->limits.rate_per_second);
          goto refused;
        }
      call->type = msg->type;
      if (!native_take_command (n, c, msg, call))
        goto refused;
      NATIVE_ADD (n, requests[msg->type == DSM_WIRE_TRANSITION ? 1 : call->stale ? 3 : 2], 1);
    }
  /* The command borrows the request's decoded strings: the call keeps
   * their block, and the message is left empty. */
  call->strings = msg->strings;
  memset (msg, 0, sizeof *msg);
  call->version = (guint8) native_conn_get_version (c);
  call->conn = native_conn_ref (c);
  native_conn_add_in_flight (c);
  g_ptr_array_add (c->w->to_loop, call);
  return;

refused:
  native_call_free (call);
}

void
native_hand_to_loop (DsmNative *n, GPtrArray *calls)
{
  guint taken = dsm_loop_queue_push_many (n->queue, calls->pdata, calls->len);

  for (guint i = taken; i < calls->len; i++)
    {
      /* Never queued: it goes back through the worker's own answer path. */
      NativeCall *call = calls->pdata[i];
      NativeError code = g_atomic_int_get (&n->stopping) ? NE_STOPPING : NE_OVERLOADED;
      DsmWireMsg e = { .type = DSM_WIRE_ERROR, .id = call->id, .retry_after_ms = 100,
                       .code = (char *) native_error_name (code),
                       .message = (char *) "the queue to the consensus loop is full (max_pending_requests)" };
      NATIVE_ADD (n, errors[code], 1);
      native_call_set_answer (call, &e);
      native_server_deliver (call);
    }
  g_ptr_array_set_size (calls, 0);
}

/* ---- the loop's side ---- */

/* Fills the leader's id and native address: the one it joined with (the
 * membership's), else the config's (docs/CLIENT.md, "Leaders and redirects"). */
static void
native_leader (DsmNative *n, DsmWireMsg *msg, DsmNodeId hint)
{
  DsmNode *node = dsm_host_get_node (n->host);
  DsmNodeId leader = hint != DSM_NODE_NONE ? hint : dsm_node_get_leader (node);
  const DsmMember *member = leader != DSM_NODE_NONE ? dsm_membership_find (dsm_node_get_membership (node, NULL), leader)
                                                    : NULL;
  const DsmNodeConfig *nc = leader != DSM_NODE_NONE ? dsm_config_find_node (n->config, leader) : NULL;

  msg->leader = leader;
  msg->leader_address = member != NULL && member->native_address != NULL ? member->native_address
                        : nc != NULL ? nc->native_address : NULL;
}

/* Answers @call with @msg (its strings borrowed), from the loop. */
static void
native_answer (DsmNative *n, NativeCall *call, DsmWireMsg *msg)
{
  if (call->link.data != NULL)
    {
      g_queue_unlink (&n->in_flight, &call->link);
      call->link.data = NULL;
    }
  msg->id = call->id;
  if (msg->type == DSM_WIRE_ERROR)
    for (guint k = 0; k < NE_N; k++)
      if (strcmp (msg->code, native_error_names[k]) == 0)
        NATIVE_ADD (n, errors[k], 1);
  native_call_set_answer (call, msg);
  native_server_deliver_from_loop (call);
}

static void
native_answer_error (DsmNative *n, NativeCall *call, NativeError code, guint retry_after_ms, DsmNodeId hint,
                     const char *message)
{
  DsmWireMsg msg = { .type = DSM_WIRE_ERROR, .code = (char *) native_error_names[code],
                     .retry_after_ms = retry_after_ms, .message = (char *) message };

  native_leader (n, &msg, hint);
  if (code == NE_NOT_LEADER && msg.leader == DSM_NODE_NONE)
    msg.code = (char *) native_error_names[NE_NO_LEADER];
  native_answer (n, call, &msg);
}

static void
native_on_reply (const DsmClientReply *reply, gpointer data)
{
  NativeCall *call = data;
  DsmNative *n = call->native;
  /* Version 2: the revision (a lost compare-and-set names the current
   * one) and a read's data; version 1 leaves them out. */
  DsmWireMsg msg = { .type = DSM_WIRE_RESULT, .status = (guint8) reply->status, .index = reply->index,
                     .machine = reply->machine, .state = reply->state, .detail = reply->detail,
                     .revision = reply->revision, .data = reply->data };

  /* Nothing was applied and another node leads (or none yet): where to go. */
  if (reply->status == DSM_REPLY_REJECTED && reply->reason == DSM_REJECT_NOT_LEADER)
    {
      native_answer_error (n, call, NE_NOT_LEADER, 50, reply->leader_hint,
                           reply->detail != NULL ? reply->detail : "this node does not lead; nothing was applied");
      return;
    }
  if (reply->status != DSM_REPLY_OK)
    msg.reason = (char *) (reply->reason != DSM_REJECT_NONE ? dsm_reject_reason_to_string (reply->reason) : "timeout");
  native_answer (n, call, &msg);
}

static void
native_welcome (DsmNative *n, NativeCall *call)
{
  DsmWireMsg msg = { .type = DSM_WIRE_WELCOME, .version = call->version, .node = n->node,
                     .max_in_flight = n->limits.max_in_flight, .max_frame_bytes = n->limits.max_frame_bytes };

  /* The role was decided on the worker; it is written there too. */
  msg.role = (char *) dsm_http_role_to_string (call->role);
  native_leader (n, &msg, DSM_NODE_NONE);
  native_answer (n, call, &msg);
}

static void
native_stale_read (DsmNative *n, NativeCall *call)
{
  DsmNode *node = dsm_host_get_node (n->host);
  guint64 revision = 0;
  const char *data = NULL;
  const char *state = dsm_store_read_data (dsm_node_get_store (node), call->cmd.machine, call->cmd.definition, NULL,
                                           &revision, &data);
  DsmWireMsg msg = { .type = DSM_WIRE_RESULT, .machine = call->cmd.machine, .state = (char *) state,
                     .index = dsm_node_get_applied_index (node), .revision = revision, .data = (char *) data };

  if (state == NULL)
    {
      msg.status = DSM_WIRE_STATUS_REJECTED;
      msg.reason = (char *) dsm_reject_reason_to_string (DSM_REJECT_BAD_REQUEST);
      msg.detail = (char *) "no such definition, or the machine is of another one (as of this node's applied index)";
    }
  native_answer (n, call, &msg);
}

/* One request handed over by a worker, on the consensus loop. */
static void
native_run (gpointer item, gpointer user_data)
{
  NativeCall *call = item;
  DsmNative *n = user_data;
  DsmNode *node = dsm_host_get_node (n->host);

  call->native = n;
  if (g_atomic_int_get (&n->stopping))
    native_answer_error (n, call, NE_STOPPING, 1000, DSM_NODE_NONE, "node shutting down");
  else if (call->type == DSM_WIRE_HELLO)
    native_welcome (n, call);
  else if (call->stale)
    native_stale_read (n, call);
  else if (dsm_node_get_role (node) != DSM_ROLE_LEADER)
    /* The client goes to the leader itself: one hop less than forwarding. */
    native_answer_error (n, call, NE_NOT_LEADER, 50, DSM_NODE_NONE, "this node does not lead; nothing was applied");
  else
    {
      call->link.data = call;
      g_queue_push_tail_link (&n->in_flight, &call->link);
      call->host_request = dsm_host_submit (n->host, &call->cmd, native_on_reply, call);
    }
}

/* ---- construction ---- */

DsmNative *
dsm_native_new (DsmHost *host, const char *base_dir, GError **error)
{
  DsmConfig *config = dsm_host_get_config (host);
  DsmNative *n = g_new0 (DsmNative, 1);
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();

  n->host = host;
  n->config = dsm_config_ref (config);
  n->limits = config->native;
  n->node = dsm_node_get_id (dsm_host_get_node (host));
  n->listen_fd = -1;
  g_queue_init (&n->in_flight);
  dsm_conn_caps_init (&n->caps, n->limits.max_connections, n->limits.max_connections_per_address);
  n->rate = dsm_http_rate_new (n->limits.rate_per_second, n->limits.rate_burst);
  if (config->http.token_file != NULL)
    {
      g_autofree char *path = dsm_config_file_path (config->http.token_file, n->node, base_dir);
      n->auth = dsm_http_auth_new ();
      if (!dsm_http_auth_load_tokens (n->auth, path, error))
        {
          dsm_native_free (n);
          return NULL;
        }
    }
  else if (config->http.client_ca_file != NULL)
    /* The HTTP port asks for certificates, which this port cannot check:
     * with no tokens to match, every hello is refused (docs/CLIENT.md). */
    n->auth = dsm_http_auth_new ();
  if (config->http.tls_cert_file != NULL)
    {
      /* TLS as on the HTTP port, with its certificate (docs/CLIENT.md, "TLS"). */
      g_autofree char *cert = dsm_config_file_path (config->http.tls_cert_file, n->node, base_dir);
      g_autofree char *key = dsm_config_file_path (config->http.tls_key_file, n->node, base_dir);
      g_autoptr(GError) local = NULL;
      n->tls_certificate = g_tls_certificate_new_from_files (cert, key, &local);
      if (n->tls_certificate == NULL)
        {
          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                       "native protocol: http.tls_cert_file \"%s\", http.tls_key_file \"%s\": %s", cert, key,
                       local->message);
          dsm_native_free (n);
          return NULL;
        }
    }
  n->queue = dsm_loop_queue_new (context, config->max_pending_requests, DSM_NATIVE_LOOP_BATCH_MAX, native_run, n);
  return n;
}

gboolean
dsm_native_listen (DsmNative *n, const char *address, GError **error)
{
  const DsmHttpConfig *http = &n->config->http;
  g_autoptr(GSocketAddress) addr = dsm_net_resolve (address, "native address", error);
  gboolean loopback;
  const char *refusal = NULL;

  if (addr == NULL)
    return FALSE;
  loopback = G_IS_INET_SOCKET_ADDRESS (addr)
             && g_inet_address_get_is_loopback (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (addr)));
  /* The HTTP port's guarantees hold here or the port stays shut
   * (docs/CLIENT.md, "Security"). */
  if (!loopback && n->auth == NULL && !http->insecure_open)
    refusal = "no credentials configured and the address is not loopback; set http.token_file, or "
              "http.insecure_open: true to serve anyone";
  if (refusal != NULL)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID, "native protocol on %s: %s", address, refusal);
      return FALSE;
    }
  if (!native_server_listen (n, address, error))
    return FALSE;
  dsm_net_log (n->auth == NULL ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_MESSAGE, n->node, DSM_NODE_NONE, "native_listening",
               "native protocol on %s (%s): %s", address, n->tls_certificate != NULL ? "TLS" : "plain TCP",
               n->auth != NULL ? "bearer tokens of http.token_file"
                               : "no credentials: anyone who can reach it may read and write every machine");
  return TRUE;
}

guint16
dsm_native_get_port (DsmNative *n)
{
  return n->port;
}

void
dsm_native_start (DsmNative *n)
{
  native_server_start (n);
}

void
dsm_native_shutdown (DsmNative *n)
{
  g_autoptr(GPtrArray) waiting = NULL;
  NativeCall *call;

  if (g_atomic_int_get (&n->stopping))
    return;
  g_atomic_int_set (&n->stopping, 1);
  if (n->listen_fd >= 0)
    native_server_stop_accepting (n);
  waiting = dsm_loop_queue_close (n->queue);
  for (guint i = 0; i < waiting->len; i++)
    {
      call = waiting->pdata[i];
      call->native = n;
      native_answer_error (n, call, NE_STOPPING, 1000, DSM_NODE_NONE, "node shutting down");
    }
  while ((call = g_queue_peek_head (&n->in_flight)) != NULL)
    {
      dsm_host_forget (n->host, call->host_request);
      DsmWireMsg msg = { .type = DSM_WIRE_RESULT, .status = DSM_WIRE_STATUS_UNKNOWN, .reason = (char *) "stopping",
                         .machine = call->cmd.machine, .detail = (char *) "node shutting down; outcome unknown" };
      native_answer (n, call, &msg);
    }
}

gboolean
dsm_native_reload_tokens (DsmNative *n, GError **error)
{
  g_return_val_if_fail (n != NULL, FALSE);

  return n->auth == NULL || dsm_http_auth_reload_tokens (n->auth, error);
}

void
dsm_native_free (DsmNative *n)
{
  if (n == NULL)
    return;
  if (n->queue != NULL)
    dsm_native_shutdown (n);
  native_server_free (n);
  g_clear_pointer (&n->queue, dsm_loop_queue_free);
  g_clear_pointer (&n->auth, dsm_http_auth_free);
  g_clear_pointer (&n->rate, dsm_http_rate_free);
  g_clear_object (&n->tls_certificate);
  dsm_conn_caps_clear (&n->caps);
  dsm_config_unref (n->config);
  g_free (n);
}
