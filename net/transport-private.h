/* net/transport-private.h: the transport's state, shared by transport.c
 * (peers, dialing, sending), transport-conn.c (one connection and its
 * handshake) and transport-metrics.c.  Not for other users. */
#pragma once

#include "codec.h"
#include "error.h"
#include "handshake.h"
#include "link.h"
#include "net-error.h"
#include "netlog.h"
#include "peer-auth.h"
#include "transport.h"

G_BEGIN_DECLS

typedef enum {
  DROP_QUEUE_FULL,       /* the peer's write queue is at max_write_queue_bytes */
  DROP_NO_CONNECTION,    /* no connection and none being made (backoff) */
  DROP_CONNECTION_LOST,  /* queued, then the connection closed */
  DROP_TOO_LARGE,        /* encodes to more than max_frame_bytes */
  DROP_STOPPED,          /* the transport is stopping */
  DROP_N_REASONS,
} DropReason;

const char *transport_drop_reason_label (DropReason reason);

/* The codec's error codes, as decode-failure labels. */
#define TRANSPORT_DECODE_CODES 6

typedef struct {
  guint64 connections_in;      /* established, the peer dialed */
  guint64 connections_out;     /* established, we dialed */
  guint64 disconnects;         /* established connections lost */
  guint64 dials;
  guint64 dial_failures;       /* connect or handshake failed */
  guint64 reconnects;          /* dials after the first */
  guint64 frames_sent;
  guint64 frames_received;
  guint64 bytes_sent;
  guint64 bytes_received;
  guint64 delivered;           /* messages written to the socket */
  guint64 dropped[DROP_N_REASONS];
} PeerMetrics;

typedef struct {
  guint64 handshake_failures[DSM_NET_ERROR_N_CODES];
  guint64 protocol_errors[DSM_NET_ERROR_N_CODES];   /* after the handshake */
  guint64 decode_errors[TRANSPORT_DECODE_CODES];   /* by DsmCodecError */
  guint64 inbound_accepted;
  guint64 inbound_evicted;     /* pending handshakes closed for a newer connection */
  guint64 duplicates;          /* connections closed by the tie-break */
} TransportMetrics;

typedef enum {
  CONN_WAIT_TLS,      /* either: the TLS handshake runs */
  CONN_WAIT_WELCOME,  /* dialer: hello sent */
  CONN_WAIT_HELLO,    /* acceptor: nothing received yet */
  CONN_WAIT_READY,    /* acceptor: welcome sent */
  CONN_ESTABLISHED,
} ConnState;

typedef struct _Peer Peer;

typedef struct {
  DsmTransport *transport;   /* borrowed: the transport outlives its connections */
  GSocketConnection *socket;
  GIOStream *tls;            /* nullable: the TLS connection over socket */
  GCancellable *tls_cancel;  /* while the TLS handshake runs */
  DsmLink *link;             /* NULL until the TLS handshake is done */
  char *remote;              /* "ip:port" for logs */
  char *source;              /* "ip": what per-source bounds count */
  guint64 accepted_seq;      /* inbound: arrival order, for eviction */
  DsmFrameMac *send_mac;     /* nullable: seals what we send (with a secret) */
  gboolean outbound;
  DsmNodeId peer_id;         /* outbound: from the start; inbound: after hello */
  ConnState state;
  char nonce_dialer[DSM_HANDSHAKE_NONCE_HEX + 1];
  char nonce_acceptor[DSM_HANDSHAKE_NONCE_HEX + 1];
  GSource *timer;            /* handshake deadline */
  gint64 established_us;
} Conn;

typedef struct {
  GBytes *payload;           /* the message's JSON, framed when sent */
  DsmMessage *msg;
} Pending;

/* A peer is a member of the membership the host last gave
 * (dsm_transport_set_members: dialed, kept) or a node that dialed us
 * without being one (a joining node we do not know of yet, a removed node
 * still trying): kept only while its connection lasts, never dialed.  A
 * member that leaves the membership keeps its connection for
 * options.linger_ms (the leader's last Commit to a removed node goes
 * out on it), then is forgotten.  Peers are reference counted: a dial in
 * flight holds one. */
struct _Peer {
  gint ref_count;
  DsmNodeId id;
  char *address;             /* nullable: not a member, nowhere to dial */
  gboolean member;
  gboolean forgotten;        /* out of the table; only a dial in flight still holds it */
  guint64 dial_attempts;     /* a dial's callback acts only for the latest */
  GSource *linger_timer;     /* a former member's connection: closed when it fires */
  Conn *active;              /* established */
  Conn *dialing;             /* our outbound attempt, before it is established */
  GCancellable *dial_cancel; /* while connecting */
  GSource *dial_timer;       /* connect deadline */
  GSource *redial_timer;     /* backoff */
  guint backoff_ms;          /* next backoff ceiling */
  gboolean dialed_once;
  GQueue pending;            /* Pending: queued while CONNECTING */
  gsize pending_bytes;
  DsmPeerState state;
  gint64 since_us;
  char *last_error;
  PeerMetrics m;
};

struct _DsmTransport {
  GObject parent_instance;

  DsmConfig *config;
  DsmNodeId self;
  DsmTransportOptions options;
  DsmPeerAuth *auth;
  DsmLogLimiter *log_limiter; /* inbound trouble, per source address */
  guint64 accepted_seq;
  GSocketService *service;
  GSocketClient *client;
  GRand *rng;                /* backoff jitter only */
  char *fingerprint;         /* dsm_fingerprint_compute (config): the handshake compares it */
  char *plugins;             /* dsm_config_describe_plugins (config), NULL when "none": sent with it */
  GPtrArray *peers;          /* Peer*, sorted by id: members, former members lingering, visitors */
  guint64 unknown_sends;     /* messages to a node that is no peer (reported unsent) */
  GPtrArray *inbound;        /* Conn in their handshake, peer not yet known */
  gboolean started;
  gboolean stopped;
  TransportMetrics m;
  DsmTransportMessageFunc message_func;  /* the fast path past `message` */
  gpointer message_data;
};

enum {
  SIGNAL_MESSAGE,
  SIGNAL_UNSENT,
  SIGNAL_INVALID,
  SIGNAL_PEER_CHANGED,
  N_SIGNALS,
};
extern guint transport_signals[N_SIGNALS];

/* transport.c */
Peer *transport_find_peer (DsmTransport *t, DsmNodeId id);
/* FALSE with DSM_NET_ERROR_UNKNOWN_NODE when @id may not connect now
 * (too many connections of nodes that are no members). */
gboolean transport_admit (DsmTransport *t, DsmNodeId id, GError **error);
/* The peer of an established inbound connection, made a visitor when it
 * is no member. */
Peer *transport_peer_for_inbound (DsmTransport *t, DsmNodeId id);
void transport_peer_set_state (DsmTransport *t, Peer *peer, DsmPeerState state, const char *why);
void transport_peer_attach (DsmTransport *t, Peer *peer, Conn *conn);
void transport_conn_gone (DsmTransport *t, Conn *conn, const GError *error);
void transport_unsent (DsmTransport *t, Peer *peer, DsmMessage *msg, DropReason reason);

/* transport-inbound.c: a record about inbound trouble from @conn's source,
 * at most one per source per interval (netlog.h, DsmLogLimiter). */
void transport_log_inbound (DsmTransport *t, const Conn *conn, GLogLevelFlags level, const char *event,
                            const char *format, ...) G_GNUC_PRINTF (5, 6);

/* transport-inbound.c: the peer port's "incoming" handler. */
gboolean transport_on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source,
                                gpointer data);

/* transport-conn.c */
Conn *conn_new (DsmTransport *t, GSocketConnection *connection, gboolean outbound, DsmNodeId peer_id);
/* Starts the handshake (TLS first, when configured).  May fail at once
 * through transport_conn_gone(), which frees @conn: callers touch it no more. */
void conn_start (Conn *conn);
void conn_free (Conn *conn);   /* closes the link, no callbacks */
/* Frames @payload (sealed with a secret) and queues it. */
void conn_send_message (Conn *conn, GBytes *payload, DsmMessage *msg);
/* Bytes on the wire of a frame of @payload_bytes on @conn. */
gsize conn_frame_bytes (const Conn *conn, gsize payload_bytes);

/* transport-metrics.c */
void transport_metrics_render (DsmTransport *t, GString *out);

G_END_DECLS
