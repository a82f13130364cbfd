/* real/proxy.h: a fault-injecting TCP proxy between every pair of real
 * nodes: each node's advertised peer_address is a front here, which reads
 * the dialer's handshake hello to learn the directed pair, then forwards
 * whole frames, delays or holds them, or cuts the connection.  Frames are
 * never rewritten except by a corrupt window, whose damaged frames the
 * receiver must refuse.  Runs in a thread of its own, so a busy driver
 * never stalls traffic.  docs/OPERATIONS.md, "Two backends", maps each
 * scenario fault to what the proxy does. */
#pragma once

#include <glib.h>

#include "types.h"

G_BEGIN_DECLS

typedef struct _DsmProxy DsmProxy;

/* What happens to frames from one node to another. */
typedef enum {
  DSM_PROXY_OPEN,   /* forwarded (after the latency and any delay window) */
  DSM_PROXY_HOLD,   /* kept in the proxy until the link opens: a one-way cut */
  DSM_PROXY_DROP,   /* no connection between the two: existing ones are cut, new
                     * ones closed at their hello (a partition) */
} DsmProxyLink;

typedef struct {
  guint64 connections;       /* accepted from dialers */
  guint64 refused;           /* closed at the hello: the pair was cut, or the hello was bad */
  guint64 frames;            /* forwarded whole */
  guint64 bytes;
  guint64 cut_partition;     /* connections closed because a partition began */
  guint64 reset_loss;        /* connections reset in place of a lost frame */
  guint64 corrupted;         /* frames sent with one bit flipped */
  guint64 truncated;         /* frames cut short, then the connection closed */
  guint64 held_frames_max;   /* most frames held at once on one connection */
} DsmProxyStats;

/**
 * dsm_proxy_new:
 * @node_ports: [1..@n_nodes]: where each node really listens (127.0.0.1)
 * @sealed: the cluster has a secret: after the handshake (two plain frames
 *   from the dialer, one from the acceptor) frames carry a 16-byte tag
 *   (OPERATIONS.md, "Framing")
 * @latency_ms_min, @latency_ms_max: each frame waits a time uniform in
 *   this range (order kept within a connection): the scenario's network
 *   latency on a loopback that has almost none
 * @seed: the proxy's dice (loss, corruption, latency)
 *
 * Binds one front per node on 127.0.0.1 (a free port) and starts the
 * proxy's thread.  Returns: (transfer full): the proxy, or NULL with @error.
 */
DsmProxy *dsm_proxy_new (guint n_nodes, const guint16 *node_ports, gboolean sealed,
                         guint latency_ms_min, guint latency_ms_max, guint64 seed,
                         GError **error);

/* Stops the thread, closes every connection and front. */
void dsm_proxy_free (DsmProxy *proxy);

/* The port of node @node's front: its peer_address in the config. */
guint16 dsm_proxy_get_port (DsmProxy *proxy, DsmNodeId node);

/* Frames from @from to @to (every connection between them, whoever dialed). */
void dsm_proxy_set_link (DsmProxy *proxy, DsmNodeId from, DsmNodeId to, DsmProxyLink link);
DsmProxyLink dsm_proxy_get_link (DsmProxy *proxy, DsmNodeId from, DsmNodeId to);

/* Windows over every link until @until_us (g_get_monotonic_time(); 0
 * ends the window): a lost frame resets its connection; a delayed frame
 * waits @ms more; a corrupt frame gets one bit flipped (@truncate: is cut
 * short and its connection closed).  Only frames after the handshake. */
void dsm_proxy_set_loss (DsmProxy *proxy, guint percent, gint64 until_us);
/* The network's own loss, under every window and kept by dsm_proxy_heal()
 * (a scenario's network.loss_percent): a lost frame resets its connection
 * as in a loss window. */
void dsm_proxy_set_base_loss (DsmProxy *proxy, guint percent);
void dsm_proxy_set_delay (DsmProxy *proxy, guint64 ms, gint64 until_us);
void dsm_proxy_set_corrupt (DsmProxy *proxy, guint percent, gboolean truncate, gint64 until_us);

/* Every link open, every window over; held frames flow. */
void dsm_proxy_heal (DsmProxy *proxy);

/* TRUE while some link is not open or a window is on. */
gboolean dsm_proxy_is_faulty (DsmProxy *proxy);

void dsm_proxy_get_stats (DsmProxy *proxy, DsmProxyStats *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmProxy, dsm_proxy_free)

G_END_DECLS
