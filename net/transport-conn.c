/* net/transport-conn.c: one peer connection: its handshake and, once
 * established, the messages it carries (handshake.h has the wire).
 *
 *   either:   connected --TLS configured--> WAIT_TLS --TLS handshake ok (dialer: the
 *             acceptor's certificate names the node dialed)--> as below, inside TLS
 *   dialer:   connected --send hello--> WAIT_WELCOME --welcome ok, send ready--> ESTABLISHED
 *   acceptor: accepted --> WAIT_HELLO --hello ok (TLS: the dialer's certificate names the
 *             node it claims), send welcome--> WAIT_READY --ready ok--> ESTABLISHED
 *   any: a bad frame, a failed check, the deadline (TLS included), EOF --> gone
 *        (transport_conn_gone)
 *   acceptor: a failed check is answered with `refuse`, flushed before the close.
 *
 * With a secret, ESTABLISHED turns on sealed frames both ways (frame-mac.h):
 * the dialer's send key is the dialer-to-acceptor one, its receive key the
 * other; frames before it (the handshake) are plain.
 *
 * Frames after ESTABLISHED must decode as messages from the handshaken
 * peer to us; anything else closes the connection (the node goes on
 * serving everyone else). */
#include "transport-private.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "frame.h"
#include "frame-mac.h"

static void conn_on_frame (DsmLink *link, GBytes *payload, gpointer user_data);
static void conn_on_sent (DsmLink *link, gpointer tag, gsize bytes, gpointer user_data);
static void conn_on_dropped (DsmLink *link, gpointer tag, gpointer user_data);
static void conn_on_closed (DsmLink *link, const GError *error, gpointer user_data);

static const DsmLinkCallbacks conn_callbacks = {
  .frame = conn_on_frame,
  .sent = conn_on_sent,
  .dropped = conn_on_dropped,
  .closed = conn_on_closed,
  .tag_free = (GDestroyNotify) dsm_message_unref,
};

/* Latency matters more than packet count (TCP_NODELAY); keepalive probes
 * find a peer whose host vanished without a FIN. */
static void
conn_tune_socket (GSocketConnection *connection)
{
  GSocket *socket = g_socket_connection_get_socket (connection);

  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_socket_set_keepalive (socket, TRUE);
#ifdef TCP_KEEPIDLE
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPIDLE, 5, NULL);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPINTVL, 2, NULL);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_KEEPCNT, 3, NULL);
#endif
}

static gboolean
conn_on_timeout (gpointer data)
{
  Conn *conn = data;
  g_autoptr(GError) error = NULL;

  g_set_error (&error, DSM_NET_ERROR, DSM_NET_ERROR_TIMEOUT,
               "handshake not finished within %u ms", conn->transport->options.handshake_timeout_ms);
  g_source_unref (conn->timer);
  conn->timer = NULL;
  transport_conn_gone (conn->transport, conn, error);
  return G_SOURCE_REMOVE;
}

static void
conn_send_handshake (Conn *conn, const DsmHandshake *hs)
{
  g_autoptr(GBytes) frame = dsm_frame_encode_take (dsm_handshake_encode (hs));

  dsm_link_send (conn->link, frame, NULL);
}

static char *
conn_new_describe (GSocketConnection *connection, char **source)
{
  g_autoptr(GSocketAddress) addr = g_socket_connection_get_remote_address (connection, NULL);

  if (addr == NULL || !G_IS_INET_SOCKET_ADDRESS (addr))
    {
      *source = g_strdup ("?");
      return g_strdup ("?");
    }
  *source = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (addr)));
  return g_strdup_printf ("%s:%u", *source, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (addr)));
}

Conn *
conn_new (DsmTransport *t, GSocketConnection *connection, gboolean outbound, DsmNodeId peer_id)
{
  Conn *conn = g_new0 (Conn, 1);

  conn_tune_socket (connection);
  conn->transport = t;
  conn->socket = g_object_ref (connection);
  conn->remote = conn_new_describe (connection, &conn->source);
  conn->outbound = outbound;
  conn->peer_id = peer_id;
  conn->state = CONN_WAIT_TLS;
  /* One deadline for all of it, TLS included: a silent or slow stranger
   * holds a pending slot this long at most. */
  conn->timer = g_timeout_source_new (t->options.handshake_timeout_ms);
  g_source_set_callback (conn->timer, conn_on_timeout, conn, NULL);
  g_source_attach (conn->timer, g_main_context_get_thread_default ());
  return conn;
}

/* The byte stream is ready (TCP, or TLS after its handshake): frames flow. */
static void
conn_start_link (Conn *conn, GIOStream *stream)
{
  DsmTransport *t = conn->transport;

  conn->link = dsm_link_new (stream, t->config->max_frame_bytes, t->options.frame_timeout_ms,
                             &conn_callbacks, conn);
  if (!conn->outbound)
    {
      conn->state = CONN_WAIT_HELLO;
      return;
    }
  dsm_handshake_new_nonce (conn->nonce_dialer);
  DsmHandshake hello = {
    .kind = DSM_HANDSHAKE_HELLO,
    .protocol = DSM_PROTOCOL_VERSION,
    .cluster_id = t->config->cluster_id,
    .fingerprint = t->fingerprint,
    .plugins = t->plugins,
    .from = t->self,
    .to = conn->peer_id,
    .nonce = conn->nonce_dialer,
    .auth = dsm_peer_auth_get_secret (t->auth) != NULL,
  };
  conn_send_handshake (conn, &hello);
  conn->state = CONN_WAIT_WELCOME;
}

typedef struct {
  Conn *conn;                /* valid while cancel is not cancelled */
  GCancellable *cancel;
} TlsWait;

static void
conn_on_tls_handshake (GObject *source, GAsyncResult *result, gpointer data)
{
  TlsWait *wait = data;
  g_autoptr(GError) local = NULL;
  gboolean ok = g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &local);

  /* Cancelled means the connection is gone (conn_free cancels first). */
  if (!g_cancellable_is_cancelled (wait->cancel))
    {
      Conn *conn = wait->conn;
      DsmTransport *t = conn->transport;
      g_autoptr(GError) error = NULL;

      g_clear_object (&conn->tls_cancel);
      if (!ok)
        g_set_error (&error, DSM_NET_ERROR, DSM_NET_ERROR_TLS, "TLS handshake: %s", local->message);
      else if (conn->outbound)
        dsm_peer_auth_check_peer (t->auth, G_TLS_CONNECTION (conn->tls), conn->peer_id, &error);
      if (error != NULL)
        transport_conn_gone (t, conn, error);
      else
        conn_start_link (conn, conn->tls);
    }
  g_object_unref (wait->cancel);
  g_free (wait);
}

void
conn_start (Conn *conn)
{
  DsmTransport *t = conn->transport;
  g_autoptr(GError) error = NULL;

  if (!dsm_peer_auth_uses_tls (t->auth))
    {
      conn_start_link (conn, G_IO_STREAM (conn->socket));
      return;
    }
  conn->tls = dsm_peer_auth_wrap (t->auth, conn->socket, conn->outbound, conn->peer_id, &error);
  if (conn->tls == NULL)
    {
      transport_conn_gone (t, conn, error);
      return;
    }
  TlsWait *wait = g_new (TlsWait, 1);
  wait->conn = conn;
  wait->cancel = g_cancellable_new ();
  conn->tls_cancel = g_object_ref (wait->cancel);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (conn->tls), G_PRIORITY_DEFAULT, wait->cancel,
                                    conn_on_tls_handshake, wait);
}

void
conn_free (Conn *conn)
{
  if (conn->timer != NULL)
    {
      g_source_destroy (conn->timer);
      g_source_unref (conn->timer);
    }
  if (conn->tls_cancel != NULL)
    {
      g_cancellable_cancel (conn->tls_cancel);
      g_object_unref (conn->tls_cancel);
    }
  if (conn->link != NULL)
    {
      dsm_link_close (conn->link);
      dsm_link_unref (conn->link);
    }
  else
    /* No link to shut it: the peer must see the end now. */
    g_socket_shutdown (g_socket_connection_get_socket (conn->socket), TRUE, TRUE, NULL);
  g_clear_object (&conn->tls);
  g_object_unref (conn->socket);
  dsm_frame_mac_free (conn->send_mac);
  g_free (conn->remote);
  g_free (conn->source);
  g_free (conn);
}

gsize
conn_frame_bytes (const Conn *conn, gsize payload_bytes)
{
  return payload_bytes + (conn->send_mac != NULL ? DSM_FRAME_SEALED_HEADER_BYTES : DSM_FRAME_HEADER_BYTES);
}

void
conn_send_message (Conn *conn, GBytes *payload, DsmMessage *msg)
{
  gsize length = 0;
  const void *data = g_bytes_get_data (payload, &length);
  g_autoptr(GBytes) frame = NULL;

  g_assert (conn->state == CONN_ESTABLISHED);
  g_assert (conn->link != NULL);
  frame = conn->send_mac != NULL ? dsm_frame_mac_seal (conn->send_mac, data, length)
                                 : dsm_frame_encode (data, length);
  dsm_link_send (conn->link, frame, msg);
}

/* ---- handshake ---- */

/* With a secret: from here on, both directions are sealed under this
 * connection's own keys. */
static void
conn_established_keys (Conn *conn)
{
  DsmTransport *t = conn->transport;
  GBytes *secret = dsm_peer_auth_get_secret (t->auth);
  DsmFrameKeys keys;

  if (secret == NULL)
    return;
  g_assert (conn->send_mac == NULL);
  dsm_frame_mac_derive_keys (secret, t->config->cluster_id, conn->outbound ? t->self : conn->peer_id,
                             conn->outbound ? conn->peer_id : t->self, conn->nonce_dialer,
                             conn->nonce_acceptor, &keys);
  conn->send_mac = dsm_frame_mac_new (conn->outbound ? keys.dialer_to_acceptor : keys.acceptor_to_dialer);
  dsm_link_set_frame_mac (conn->link, dsm_frame_mac_new (conn->outbound ? keys.acceptor_to_dialer
                                                                        : keys.dialer_to_acceptor));
  memset (&keys, 0, sizeof keys);
}

static void
conn_established (Conn *conn)
{
  DsmTransport *t = conn->transport;

  conn_established_keys (conn);
  conn->state = CONN_ESTABLISHED;
  conn->established_us = g_get_monotonic_time ();
  g_source_destroy (conn->timer);
  g_clear_pointer (&conn->timer, g_source_unref);
  transport_peer_attach (t, conn->outbound ? transport_find_peer (t, conn->peer_id)
                                           : transport_peer_for_inbound (t, conn->peer_id), conn);
}

/* A check failed on our side of an inbound handshake: say why to the
 * peer (its operator reads it in its log), then close once it is
 * written: the link outlives us until then (link.h). */
static void
conn_refuse (Conn *conn, const GError *error)
{
  DsmTransport *t = conn->transport;
  DsmHandshake refuse = {
    .kind = DSM_HANDSHAKE_REFUSE,
    .reason = (char *) dsm_net_error_label ((DsmNetError) error->code),
    .detail = error->message,
  };

  conn_send_handshake (conn, &refuse);
  dsm_link_close_after_flush (conn->link, 500);
  transport_conn_gone (t, conn, error);
}

static void
conn_on_hello (Conn *conn, GBytes *payload)
{
  DsmTransport *t = conn->transport;
  GBytes *secret = dsm_peer_auth_get_secret (t->auth);
  g_autoptr(GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (payload, &length);
  g_autoptr(DsmHandshake) hello = dsm_handshake_decode (data, length, DSM_HANDSHAKE_HELLO, &error);

  if (hello == NULL)
    {
      transport_conn_gone (t, conn, error);
      return;
    }
  if (!dsm_handshake_check_hello (t->config, t->fingerprint, secret, t->self, hello, &error)
      || !transport_admit (t, hello->from, &error)
      || (conn->tls != NULL
          && !dsm_peer_auth_check_peer (t->auth, G_TLS_CONNECTION (conn->tls), hello->from, &error)))
    {
      conn_refuse (conn, error);
      return;
    }
  conn->peer_id = hello->from;
  g_strlcpy (conn->nonce_dialer, hello->nonce, sizeof conn->nonce_dialer);
  dsm_handshake_new_nonce (conn->nonce_acceptor);
  g_autofree char *proof = NULL;
  if (secret != NULL)
    proof = dsm_handshake_proof (secret, "welcome", t->config->cluster_id, conn->peer_id,
                                 t->self, conn->nonce_dialer, conn->nonce_acceptor);
  DsmHandshake welcome = {
    .kind = DSM_HANDSHAKE_WELCOME,
    .protocol = DSM_PROTOCOL_VERSION,
    .cluster_id = t->config->cluster_id,
    .fingerprint = t->fingerprint,
    .plugins = t->plugins,
    .from = t->self,
    .to = conn->peer_id,
    .nonce = conn->nonce_acceptor,
    .proof = proof,
  };
  conn_send_handshake (conn, &welcome);
  conn->state = CONN_WAIT_READY;
}

static void
conn_on_ready (Conn *conn, GBytes *payload)
{
  DsmTransport *t = conn->transport;
  g_autoptr(GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (payload, &length);
  g_autoptr(DsmHandshake) ready = dsm_handshake_decode (data, length, DSM_HANDSHAKE_READY, &error);

  if (ready == NULL)
    transport_conn_gone (t, conn, error);
  else if (!dsm_handshake_check_ready (t->config, dsm_peer_auth_get_secret (t->auth), t->self,
                                       conn->peer_id, conn->nonce_dialer, conn->nonce_acceptor,
                                       ready, &error))
    conn_refuse (conn, error);
  else
    conn_established (conn);
}

static void
conn_on_welcome (Conn *conn, GBytes *payload)
{
  DsmTransport *t = conn->transport;
  GBytes *secret = dsm_peer_auth_get_secret (t->auth);
  g_autoptr(GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (payload, &length);
  g_autoptr(DsmHandshake) welcome = dsm_handshake_decode (data, length, DSM_HANDSHAKE_WELCOME, &error);

  if (welcome == NULL
      || !dsm_handshake_check_welcome (t->config, t->fingerprint, secret, t->self, conn->peer_id,
                                       conn->nonce_dialer, welcome, &error))
    {
      transport_conn_gone (t, conn, error);
      return;
    }
  g_strlcpy (conn->nonce_acceptor, welcome->nonce, sizeof conn->nonce_acceptor);
  g_autofree char *proof = NULL;
  if (secret != NULL)
    proof = dsm_handshake_proof (secret, "ready", t->config->cluster_id, t->self,
                                 conn->peer_id, conn->nonce_dialer, conn->nonce_acceptor);
  DsmHandshake ready = { .kind = DSM_HANDSHAKE_READY, .proof = proof };
  conn_send_handshake (conn, &ready);
  conn_established (conn);
}

/* ---- established ---- */

static void
conn_on_message (Conn *conn, GBytes *payload)
{
  DsmTransport *t = conn->transport;
  Peer *peer = transport_find_peer (t, conn->peer_id);
  g_autoptr(GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (payload, &length);
  g_autoptr(DsmMessage) msg = dsm_codec_decode_message (data, length, &error);

  peer->m.frames_received++;
  peer->m.bytes_received += conn_frame_bytes (conn, length);
  if (msg == NULL)
    {
      if (error->domain == DSM_CODEC_ERROR && (guint) error->code < TRANSPORT_DECODE_CODES)
        t->m.decode_errors[error->code]++;
      g_signal_emit (t, transport_signals[SIGNAL_INVALID], 0, (guint) conn->peer_id);
      g_autoptr(GError) wrapped = g_error_new (DSM_NET_ERROR, DSM_NET_ERROR_DECODE,
                                               "undecodable message: %s", error->message);
      transport_conn_gone (t, conn, wrapped);
      return;
    }
  if (msg->from != conn->peer_id || msg->to != t->self)
    {
      g_signal_emit (t, transport_signals[SIGNAL_INVALID], 0, (guint) conn->peer_id);
      g_set_error (&error, DSM_NET_ERROR, DSM_NET_ERROR_SPOOFED,
                   "a %s from node %u to node %u on the connection of node %u to node %u",
                   dsm_message_type_to_string (msg->type), msg->from, msg->to, conn->peer_id, t->self);
      transport_conn_gone (t, conn, error);
      return;
    }
  if (t->message_func != NULL)
    t->message_func (t, msg, t->message_data);
  else
    g_signal_emit (t, transport_signals[SIGNAL_MESSAGE], 0, msg);
}

static void
conn_on_frame (DsmLink *link, GBytes *payload, gpointer user_data)
{
  Conn *conn = user_data;

  switch (conn->state)
    {
    case CONN_WAIT_HELLO:
      conn_on_hello (conn, payload);
      break;
    case CONN_WAIT_READY:
      conn_on_ready (conn, payload);
      break;
    case CONN_WAIT_WELCOME:
      conn_on_welcome (conn, payload);
      break;
    case CONN_ESTABLISHED:
      conn_on_message (conn, payload);
      break;
    case CONN_WAIT_TLS:
    default:
      g_assert_not_reached ();
    }
}

static void
conn_on_sent (DsmLink *link, gpointer tag, gsize bytes, gpointer user_data)
{
  Conn *conn = user_data;
  Peer *peer = conn->state == CONN_ESTABLISHED ? transport_find_peer (conn->transport, conn->peer_id) : NULL;

  if (peer == NULL)
    return;
  peer->m.frames_sent++;
  peer->m.bytes_sent += bytes;
  if (tag != NULL)
    peer->m.delivered++;
}

static void
conn_on_dropped (DsmLink *link, gpointer tag, gpointer user_data)
{
  Conn *conn = user_data;
  Peer *peer = transport_find_peer (conn->transport, conn->peer_id);

  if (tag != NULL && peer != NULL)
    transport_unsent (conn->transport, peer, tag, DROP_CONNECTION_LOST);
}

static void
conn_on_closed (DsmLink *link, const GError *error, gpointer user_data)
{
  Conn *conn = user_data;

  transport_conn_gone (conn->transport, conn, error);
}
