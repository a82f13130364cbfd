/* tests/net/proxy.h: a TCP proxy for the peer links of real nodes that
 * understands their framing (frame.h) and, when armed, tampers with one
 * sealed frame: it flips a byte of it, or sends it again later (a replay
 * of an earlier frame).  It runs in its own threads with blocking GIO
 * sockets, so the test's thread may block on HTTP meanwhile.
 *
 * It assumes links with a secret and no TLS: from the dialer, two plain
 * frames (hello, ready) and then sealed ones; from the acceptor, one plain
 * frame (welcome) and then sealed ones (docs/OPERATIONS.md, "Peer
 * protocol").  One proxy stands in front of one node for every dialer
 * (their configs must be the same file: the handshake compares their
 * fingerprints); it tells the dialers apart by their hellos' "from". */
#pragma once

#include <gio/gio.h>

typedef enum {
  PROXY_FLIP,       /* the needle's last byte XOR 0x03 ('a' becomes 'b') */
  PROXY_REPLAY,     /* the frame again, verbatim, after the next one its way */
} ProxyTamper;

typedef struct _Proxy Proxy;

/* Dialer ids the stats tell apart: 1..PROXY_DIALERS_MAX. */
#define PROXY_DIALERS_MAX 16

/* Listens on 127.0.0.1 (a free port) and forwards each connection to
 * 127.0.0.1:@target_port, frame by frame, untouched until armed. */
Proxy *proxy_new (guint16 target_port);

/* Closes every connection and joins the threads. */
void proxy_free (Proxy *proxy);

guint16 proxy_get_port (Proxy *proxy);

/**
 * proxy_arm:
 * @shots: (inout): tampers left, shared by the proxies armed with it
 *   (atomic; it must outlive the arming)
 *
 * The next sealed frame, either way, whose payload contains @needle is
 * tampered with as @tamper says, if a shot is left; then the proxy passes
 * everything again.  With one shot for all the proxies of a cluster,
 * exactly one frame is tampered with, on whichever link carries it first.
 */
void proxy_arm (Proxy *proxy, ProxyTamper tamper, const char *needle, gint *shots);

typedef struct {
  guint connections;          /* accepted and forwarded (of every dialer, in dialer 0's stats) */
  guint readies;              /* handshakes the dialer completed through us */
  guint sealed_to_target;     /* sealed frames forwarded, each way */
  guint sealed_from_target;
  guint tampered;             /* 0 or 1 */
  gboolean tampered_to_target;  /* the tampered frame went to the target (the acceptor) */
} ProxyStats;

/* The stats of the connections whose hello came from node @dialer (0: not
 * said yet or out of range), over the proxy's life. */
void proxy_get_stats (Proxy *proxy, guint dialer, ProxyStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Proxy, proxy_free)
