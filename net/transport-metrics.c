/* net/transport-metrics.c: what the transport shows of itself: its
 * counters in Prometheus text (families dsm_net_*, each sample labelled
 * with this node) and each peer's connection state for /v1/cluster. */
#include "transport-private.h"

#include <string.h>

#include "metrics.h"

static const char *const drop_labels[DROP_N_REASONS] = {
  [DROP_QUEUE_FULL] = "queue_full",
  [DROP_NO_CONNECTION] = "no_connection",
  [DROP_CONNECTION_LOST] = "connection_lost",
  [DROP_TOO_LARGE] = "too_large",
  [DROP_STOPPED] = "stopped",
};

static const char *const decode_labels[TRANSPORT_DECODE_CODES] = {
  [DSM_CODEC_ERROR_SYNTAX] = "syntax",
  [DSM_CODEC_ERROR_TOO_LARGE] = "too_large",
  [DSM_CODEC_ERROR_UNKNOWN_TYPE] = "unknown_type",
  [DSM_CODEC_ERROR_MISSING] = "missing_field",
  [DSM_CODEC_ERROR_TYPE] = "field_type",
  [DSM_CODEC_ERROR_INVALID] = "invalid",
};

const char *
transport_drop_reason_label (DropReason reason)
{
  return drop_labels[reason];
}

typedef guint64 (*PeerField) (const Peer *peer);

#define PEER_FIELD(name, expr) \
  static guint64 name (const Peer *peer) { return (expr); }

PEER_FIELD (f_connections_in, peer->m.connections_in)
PEER_FIELD (f_connections_out, peer->m.connections_out)
PEER_FIELD (f_disconnects, peer->m.disconnects)
PEER_FIELD (f_dials, peer->m.dials)
PEER_FIELD (f_dial_failures, peer->m.dial_failures)
PEER_FIELD (f_reconnects, peer->m.reconnects)
PEER_FIELD (f_frames_sent, peer->m.frames_sent)
PEER_FIELD (f_frames_received, peer->m.frames_received)
PEER_FIELD (f_bytes_sent, peer->m.bytes_sent)
PEER_FIELD (f_bytes_received, peer->m.bytes_received)
PEER_FIELD (f_delivered, peer->m.delivered)
PEER_FIELD (f_connected, peer->active != NULL ? 1 : 0)
PEER_FIELD (f_queue_bytes, peer->active != NULL ? dsm_link_get_queued_bytes (peer->active->link) : peer->pending_bytes)

static void
render_per_peer (DsmTransport *t, GString *out, const char *name, const char *type,
                 const char *help, PeerField field)
{
  dsm_metrics_write_header (out, name, type, help);
  for (guint i = 0; i < t->peers->len; i++)
    {
      Peer *peer = t->peers->pdata[i];
      g_autofree char *labels = g_strdup_printf ("node=\"%u\",peer=\"%u\"", t->self, peer->id);
      dsm_metrics_write_sample (out, name, labels, (double) field (peer));
    }
}

static void
render_by_reason (DsmTransport *t, GString *out, const char *name, const char *help,
                  const guint64 *values, guint n, const char *(*label) (guint))
{
  dsm_metrics_write_header (out, name, "counter", help);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *labels = g_strdup_printf ("node=\"%u\",reason=\"%s\"", t->self, label (i));
      dsm_metrics_write_sample (out, name, labels, (double) values[i]);
    }
}

static const char *
net_error_label (guint i)
{
  return dsm_net_error_label ((DsmNetError) i);
}

static const char *
decode_label (guint i)
{
  return decode_labels[i];
}

static void
render_counter (DsmTransport *t, GString *out, const char *name, const char *help, guint64 value)
{
  g_autofree char *labels = g_strdup_printf ("node=\"%u\"", t->self);

  dsm_metrics_write_header (out, name, "counter", help);
  dsm_metrics_write_sample (out, name, labels, (double) value);
}

void
transport_metrics_render (DsmTransport *t, GString *out)
{
  render_per_peer (t, out, "dsm_net_peer_connected", "gauge",
                   "1 while a handshaken connection with the peer is up.", f_connected);
  render_per_peer (t, out, "dsm_net_connections_inbound_total", "counter",
                   "Connections from the peer that completed the handshake.", f_connections_in);
  render_per_peer (t, out, "dsm_net_connections_outbound_total", "counter",
                   "Connections to the peer that completed the handshake.", f_connections_out);
  render_per_peer (t, out, "dsm_net_disconnects_total", "counter",
                   "Established connections with the peer that closed.", f_disconnects);
  render_per_peer (t, out, "dsm_net_dials_total", "counter", "Connection attempts to the peer.", f_dials);
  render_per_peer (t, out, "dsm_net_dial_failures_total", "counter",
                   "Connection attempts that failed to connect or to complete the handshake.", f_dial_failures);
  render_per_peer (t, out, "dsm_net_reconnects_total", "counter",
                   "Connection attempts after the first (redials after a failure or a loss).", f_reconnects);
  render_per_peer (t, out, "dsm_net_frames_sent_total", "counter", "Frames written to the peer.", f_frames_sent);
  render_per_peer (t, out, "dsm_net_frames_received_total", "counter",
                   "Message frames read from the peer.", f_frames_received);
  render_per_peer (t, out, "dsm_net_bytes_sent_total", "counter", "Bytes written to the peer.", f_bytes_sent);
  render_per_peer (t, out, "dsm_net_bytes_received_total", "counter",
                   "Bytes of message frames read from the peer.", f_bytes_received);
  render_per_peer (t, out, "dsm_net_messages_delivered_total", "counter",
                   "Messages written to the peer's socket.", f_delivered);
  render_per_peer (t, out, "dsm_net_write_queue_bytes", "gauge",
                   "Bytes queued for the peer and not yet written.", f_queue_bytes);

  dsm_metrics_write_header (out, "dsm_net_messages_dropped_total", "counter",
                            "Messages not delivered to the peer, by reason (reported to the core as unsent).");
  for (guint i = 0; i < t->peers->len; i++)
    for (guint r = 0; r < DROP_N_REASONS; r++)
      {
        const Peer *peer = t->peers->pdata[i];
        g_autofree char *labels = g_strdup_printf ("node=\"%u\",peer=\"%u\",reason=\"%s\"", t->self,
                                                   peer->id, drop_labels[r]);
        dsm_metrics_write_sample (out, "dsm_net_messages_dropped_total", labels, (double) peer->m.dropped[r]);
      }
  dsm_metrics_write_header (out, "dsm_net_messages_to_strangers_total", "counter",
                            "Messages the node addressed to a node that is no peer (not a member, not "
                            "connected): reported to the core as unsent.");
  g_autofree char *self_label = g_strdup_printf ("node=\"%u\"", t->self);
  dsm_metrics_write_sample (out, "dsm_net_messages_to_strangers_total", self_label, (double) t->unknown_sends);

  render_by_reason (t, out, "dsm_net_handshake_failures_total",
                    "Connections closed before their handshake completed, by reason.",
                    t->m.handshake_failures, DSM_NET_ERROR_N_CODES, net_error_label);
  render_by_reason (t, out, "dsm_net_protocol_errors_total",
                    "Established connections closed for bad input (bad frame, undecodable or spoofed message, timeout), by reason.",
                    t->m.protocol_errors, DSM_NET_ERROR_N_CODES, net_error_label);
  render_by_reason (t, out, "dsm_net_decode_errors_total",
                    "Peer frames that did not decode as messages, by codec error.",
                    t->m.decode_errors, TRANSPORT_DECODE_CODES, decode_label);
  render_counter (t, out, "dsm_net_inbound_accepted_total", "TCP connections accepted on the peer port.",
                  t->m.inbound_accepted);
  render_counter (t, out, "dsm_net_inbound_evicted_total",
                  "Pending inbound handshakes closed to make room for a newer connection.", t->m.inbound_evicted);
  render_counter (t, out, "dsm_net_log_suppressed_total",
                  "Log records about inbound trouble suppressed by the per-source rate limit.",
                  dsm_log_limiter_get_suppressed_total (t->log_limiter));

  g_autofree char *labels = g_strdup_printf ("node=\"%u\"", t->self);
  dsm_metrics_write_header (out, "dsm_net_insecure", "gauge",
                            "1 when peer links run unauthenticated (\"insecure\": true).");
  dsm_metrics_write_sample (out, "dsm_net_insecure", labels, dsm_peer_auth_is_insecure (t->auth) ? 1 : 0);
  g_autofree char *mode = g_strdup_printf ("node=\"%u\",mode=\"%s\"", t->self, dsm_peer_auth_describe (t->auth));
  dsm_metrics_write_header (out, "dsm_net_peer_auth", "gauge",
                            "Always 1; the label says how peer links are authenticated: secret, tls, tls+secret, insecure.");
  dsm_metrics_write_sample (out, "dsm_net_peer_auth", mode, 1);
  render_counter (t, out, "dsm_net_duplicate_connections_total",
                  "Connections closed by the one-connection-per-peer tie-break.", t->m.duplicates);
}

/* ---- peer introspection ---- */

void
dsm_transport_peer_info_clear (DsmTransportPeerInfo *info)
{
  g_clear_pointer (&info->address, g_free);
  g_clear_pointer (&info->last_error, g_free);
}

gboolean
dsm_transport_get_peer_info (DsmTransport *t, DsmNodeId id, DsmTransportPeerInfo *info)
{
  Peer *peer = transport_find_peer (t, id);

  memset (info, 0, sizeof *info);
  if (peer == NULL)
    return FALSE;
  info->id = peer->id;
  info->state = peer->state;
  info->outbound = peer->active != NULL && peer->active->outbound;
  info->dialing = peer->dialing != NULL || peer->dial_cancel != NULL;  /* handshaking, or connecting */
  info->since_us = peer->since_us;
  info->queued_bytes = peer->active != NULL ? dsm_link_get_queued_bytes (peer->active->link) : peer->pending_bytes;
  info->reconnects = peer->m.reconnects;
  info->address = g_strdup (peer->address);
  info->last_error = g_strdup (peer->last_error);
  return TRUE;
}

guint
dsm_transport_get_n_connected (DsmTransport *t)
{
  guint n = 0;

  for (guint i = 0; i < t->peers->len; i++)
    if (((Peer *) t->peers->pdata[i])->active != NULL)
      n++;
  return n;
}

void
dsm_transport_render_metrics (DsmTransport *t, GString *out)
{
  transport_metrics_render (t, out);
}
