/* net/transport-conn.c: one peer connection: its handshake and, once
 * established, the messages it carries (handshake.h has the wire).
 *
 *   dialer:   connected --send hello--> WAIT_WELCOME --welcome ok, send ready--> ESTABLISHED
 *   acceptor: accepted --> WAIT_HELLO --hello ok, send welcome--> WAIT_READY --ready ok--> ESTABLISHED
 *   any: a bad frame, a failed check, the deadline, EOF --> gone (transport_conn_gone)
 *   acceptor: a failed check is answered with `refuse` before the close.
 *
 * Frames after ESTABLISHED must decode as messages from the handshaken
 * peer to us; anything else closes the connection (the node goes on
 * serving everyone else). */
#include "transport-private.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "frame.h"

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

Conn *
conn_new (DsmTransport *t, GSocketConnection *connection, gboolean outbound, DsmNodeId peer_id)
{
  Conn *conn = g_new0 (Conn, 1);

  conn_tune_socket (connection);
  conn->transport = t;
  conn->outbound = outbound;
  conn->peer_id = peer_id;
  conn->link = dsm_link_new (G_IO_STREAM (connection), t->config->max_frame_bytes,
                             t->options.frame_timeout_ms, &conn_callbacks, conn);
  conn->timer = g_timeout_source_new (t->options.handshake_timeout_ms);
  g_source_set_callback (conn->timer, conn_on_timeout, conn, NULL);
  g_source_attach (conn->timer, g_main_context_get_thread_default ());

  if (outbound)
    {
      dsm_handshake_new_nonce (conn->nonce_dialer);
      DsmHandshake hello = {
        .kind = DSM_HANDSHAKE_HELLO,
        .protocol = DSM_PROTOCOL_VERSION,
        .cluster_id = t->config->cluster_id,
        .from = t->self,
        .to = peer_id,
        .nonce = conn->nonce_dialer,
        .auth = t->config->secret != NULL,
      };
      conn_send_handshake (conn, &hello);
      conn->state = CONN_WAIT_WELCOME;
    }
  else
    conn->state = CONN_WAIT_HELLO;
  return conn;
}

void
conn_free (Conn *conn)
{
  if (conn->timer != NULL)
    {
      g_source_destroy (conn->timer);
      g_source_unref (conn->timer);
    }
  dsm_link_close (conn->link);
  dsm_link_unref (conn->link);
  g_free (conn);
}

void
conn_send_message (Conn *conn, GBytes *frame, DsmMessage *msg)
{
  g_assert (conn->state == CONN_ESTABLISHED);
  dsm_link_send (conn->link, frame, msg);
}

/* ---- handshake ---- */

static void
conn_established (Conn *conn)
{
  DsmTransport *t = conn->transport;

  conn->state = CONN_ESTABLISHED;
  conn->established_us = g_get_monotonic_time ();
  g_source_destroy (conn->timer);
  g_clear_pointer (&conn->timer, g_source_unref);
  transport_peer_attach (t, transport_find_peer (t, conn->peer_id), conn);
}

/* A check failed on our side of an inbound handshake: say why to the
 * peer (its operator reads it in its log), then close. */
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
  g_autoptr(GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (payload, &length);
  g_autoptr(DsmHandshake) hello = dsm_handshake_decode (data, length, DSM_HANDSHAKE_HELLO, &error);

  if (hello == NULL)
    {
      transport_conn_gone (t, conn, error);
      return;
    }
  if (!dsm_handshake_check_hello (t->config, t->self, hello, &error))
    {
      conn_refuse (conn, error);
      return;
    }
  conn->peer_id = hello->from;
  g_strlcpy (conn->nonce_dialer, hello->nonce, sizeof conn->nonce_dialer);
  dsm_handshake_new_nonce (conn->nonce_acceptor);
  g_autofree char *proof = NULL;
  if (t->config->secret != NULL)
    proof = dsm_handshake_proof (t->config->secret, "welcome", t->config->cluster_id, conn->peer_id,
                                 t->self, conn->nonce_dialer, conn->nonce_acceptor);
  DsmHandshake welcome = {
    .kind = DSM_HANDSHAKE_WELCOME,
    .protocol = DSM_PROTOCOL_VERSION,
    .cluster_id = t->config->cluster_id,
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
  else if (!dsm_handshake_check_ready (t->config, t->self, conn->peer_id, conn->nonce_dialer,
                                       conn->nonce_acceptor, ready, &error))
    conn_refuse (conn, error);
  else
    conn_established (conn);
}

static void
conn_on_welcome (Conn *conn, GBytes *payload)
{
  DsmTransport *t = conn->transport;
  g_autoptr(GError) error = NULL;
  gsize length;
  const char *data = g_bytes_get_data (payload, &length);
  g_autoptr(DsmHandshake) welcome = dsm_handshake_decode (data, length, DSM_HANDSHAKE_WELCOME, &error);

  if (welcome == NULL
      || !dsm_handshake_check_welcome (t->config, t->self, conn->peer_id, conn->nonce_dialer,
                                       welcome, &error))
    {
      transport_conn_gone (t, conn, error);
      return;
    }
  g_strlcpy (conn->nonce_acceptor, welcome->nonce, sizeof conn->nonce_acceptor);
  g_autofree char *proof = NULL;
  if (t->config->secret != NULL)
    proof = dsm_handshake_proof (t->config->secret, "ready", t->config->cluster_id, t->self,
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
  peer->m.bytes_received += DSM_FRAME_HEADER_BYTES + length;
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
