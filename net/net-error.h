/* net/net-error.h: the GError domain of net/: what a peer, a socket or a
 * frame did wrong.  Each code is also a metric label (dsm_net_error_label). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DSM_NET_ERROR (dsm_net_error_quark ())
GQuark dsm_net_error_quark (void);

typedef enum {
  DSM_NET_ERROR_FRAME_TOO_LARGE, /* a frame header announcing more than max_frame_bytes */
  DSM_NET_ERROR_FRAME_EMPTY,     /* a frame of length 0 */
  DSM_NET_ERROR_CHECKSUM,        /* CRC-32 of the payload differs from the header's */
  DSM_NET_ERROR_TIMEOUT,         /* a handshake or a started frame not finished in time */
  DSM_NET_ERROR_HANDSHAKE,       /* a malformed or unexpected handshake frame */
  DSM_NET_ERROR_VERSION,         /* another protocol version */
  DSM_NET_ERROR_WRONG_CLUSTER,   /* the peer belongs to another cluster */
  DSM_NET_ERROR_UNKNOWN_NODE,    /* the peer claims our id, dialed another, or too many non-members are connected */
  DSM_NET_ERROR_AUTH,            /* the secret proof failed, or only one side has a secret */
  DSM_NET_ERROR_REFUSED,         /* the peer refused our handshake (its reason follows) */
  DSM_NET_ERROR_DUPLICATE,       /* a second connection to a peer lost the tie-break */
  DSM_NET_ERROR_DECODE,          /* a frame's payload is not a valid message */
  DSM_NET_ERROR_SPOOFED,         /* a message whose sender or addressee is not this link's */
  DSM_NET_ERROR_CLOSED,          /* the peer closed the connection */
  DSM_NET_ERROR_IO,              /* the socket failed (the GIO error follows) */
  DSM_NET_ERROR_ADDRESS,         /* an address that does not parse or resolve */
  DSM_NET_ERROR_SHUTDOWN,        /* we are stopping */
  DSM_NET_ERROR_MAC,             /* a sealed frame's MAC is wrong: forged, replayed, reordered or corrupted */
  DSM_NET_ERROR_TLS,             /* the TLS handshake failed or the peer's certificate is not trusted */
  DSM_NET_ERROR_EVICTED,         /* a pending handshake closed to make room for a newer connection */
  DSM_NET_ERROR_FINGERPRINT,     /* the peer was started from other bootstrap settings (PROTOCOL.md, "Bootstrap") */
  DSM_NET_ERROR_N_CODES,
} DsmNetError;

/* A short label for metrics and logs ("frame_too_large", "checksum"...). */
const char *dsm_net_error_label (DsmNetError code);

G_END_DECLS
