/* net/transport.h: the peer transport of a real node: a GSocketService
 * for peers dialing in, a GSocketClient dialing out, one handshaken
 * connection per peer pair, reconnection with exponential backoff and
 * jitter, a bounded write queue per peer and metrics for all of it.
 * Messages travel as frames (frame.h) of the core's JSON codec after the
 * handshake (handshake.h).
 *
 * Signals (all on the thread-default main context of the creator):
 *   message (DsmMessage *msg)   a valid message from a peer (borrowed)
 *   unsent  (DsmMessage *msg)   a message that will not be delivered
 *   invalid (guint peer)        a peer sent something that did not decode
 *   peer-changed (guint peer, gboolean connected)
 *
 * docs/OPERATIONS.md, "Peer protocol", describes the wire and the rules. */
#pragma once

#include <gio/gio.h>

#include "config.h"
#include "membership.h"
#include "message.h"
#include "peer-auth.h"
#include "types.h"

G_BEGIN_DECLS

#define DSM_TYPE_TRANSPORT (dsm_transport_get_type ())
G_DECLARE_FINAL_TYPE (DsmTransport, dsm_transport, DSM, TRANSPORT, GObject)

typedef struct {
  guint handshake_timeout_ms;   /* connect + TLS + handshake must finish within this */
  guint frame_timeout_ms;       /* a started frame must finish within this */
  guint max_pending_inbound;    /* connections still in their handshake, in all */
  guint max_pending_inbound_per_source;  /* ... from one source address */
  guint linger_ms;              /* a former member's connection stays open this long */
  guint max_visitors;           /* connections of nodes that are no members, at once */
  DsmPeerAuth *auth;            /* nullable: NULL resolves it from the config
                                 * (dsm_peer_auth_new, paths against the
                                 * current directory) */
} DsmTransportOptions;

/* Defaults: 5000 ms, 5000 ms, 64, 16, 10000 ms, 64, NULL. */
void dsm_transport_options_init (DsmTransportOptions *options);

/**
 * dsm_transport_new:
 * @config: referenced; its nodes other than @self are the first peers
 *   (a node joining later is none of them)
 * @options: (nullable): NULL for the defaults
 * Returns: (transfer full): a transport that neither listens nor dials
 * yet, or NULL with @error when the peer authentication cannot be set up
 * (dsm_peer_auth_new()).
 */
DsmTransport *dsm_transport_new (DsmConfig *config, DsmNodeId self, const DsmTransportOptions *options,
                                 GError **error);

/**
 * dsm_transport_listen:
 * @address: "host:port" (port 0 picks a free one, for tests)
 * @port_out: (out) (optional): the port bound
 *
 * Returns: FALSE with @error (DSM_NET_ERROR_ADDRESS, or the bind's GIO error).
 */
gboolean dsm_transport_listen (DsmTransport *self, const char *address, guint16 *port_out,
                               GError **error);

/**
 * dsm_transport_set_members:
 * @in_use: the membership the node uses (dsm_node_get_membership())
 * @committed: (nullable): the committed one, whose members a removal not
 *   yet committed still counts (dsm_node_get_committed_membership())
 *
 * Peers are the members of either (addresses from them; the first
 * config's nodes until this is called): new members are dialed, members
 * of neither are dialed no more and their connection closes after a
 * grace period.  Nodes that are no members may still connect, once
 * authenticated (a joining node, a removed node that has not heard);
 * they are peers while their connection lasts.
 */
void dsm_transport_set_members (DsmTransport *self, const DsmMembership *in_use, const DsmMembership *committed);

/* Overrides where @peer is dialed (tests that bound port 0). */
void dsm_transport_set_peer_address (DsmTransport *self, DsmNodeId peer, const char *address);

/* Starts dialing every peer; reconnects on its own from then on. */
void dsm_transport_start (DsmTransport *self);

/* Closes every connection and stops dialing; later sends are unsent. */
void dsm_transport_stop (DsmTransport *self);

/* Delivers valid messages to @func instead of the `message` signal: the
 * node's host takes every message, and marshalling a signal emission per
 * message (closure lookup, GValue boxing) showed in the leader's profile. */
typedef void (*DsmTransportMessageFunc) (DsmTransport *self, DsmMessage *msg, gpointer user_data);
void dsm_transport_set_message_func (DsmTransport *self, DsmTransportMessageFunc func, gpointer user_data);

/* Queues @msg (to msg->to) or reports it through `unsent`. */
void dsm_transport_send (DsmTransport *self, const DsmMessage *msg);

typedef enum {
  DSM_PEER_DISCONNECTED,  /* waiting to redial (backoff) */
  DSM_PEER_CONNECTING,    /* dialing or handshaking, no connection yet */
  DSM_PEER_CONNECTED,
} DsmPeerState;

const char *dsm_peer_state_to_string (DsmPeerState state);

typedef struct {
  DsmNodeId id;
  DsmPeerState state;
  gboolean outbound;            /* CONNECTED: we dialed it */
  gboolean dialing;             /* a dial of ours is in flight (it may cross the connection held) */
  gint64 since_us;              /* monotonic time of the last state change */
  gsize queued_bytes;
  guint64 reconnects;
  char *address;                /* where we dial it */
  char *last_error;             /* nullable: why the last connection or dial ended */
} DsmTransportPeerInfo;

void dsm_transport_peer_info_clear (DsmTransportPeerInfo *info);

/* Fills @info for @peer; FALSE when @peer is not a peer. */
gboolean dsm_transport_get_peer_info (DsmTransport *self, DsmNodeId peer, DsmTransportPeerInfo *info);

/* Connections currently established. */
guint dsm_transport_get_n_connected (DsmTransport *self);

/* Appends the transport's metrics (Prometheus text, dsm_net_* families). */
void dsm_transport_render_metrics (DsmTransport *self, GString *out);

G_END_DECLS
