/* net/net-error.c: the DSM_NET_ERROR domain and its metric labels. */
#include "net-error.h"

G_DEFINE_QUARK (dsm-net-error-quark, dsm_net_error)

static const char *const labels[DSM_NET_ERROR_N_CODES] = {
  [DSM_NET_ERROR_FRAME_TOO_LARGE] = "frame_too_large",
  [DSM_NET_ERROR_FRAME_EMPTY] = "frame_empty",
  [DSM_NET_ERROR_CHECKSUM] = "checksum",
  [DSM_NET_ERROR_TIMEOUT] = "timeout",
  [DSM_NET_ERROR_HANDSHAKE] = "handshake",
  [DSM_NET_ERROR_VERSION] = "version",
  [DSM_NET_ERROR_WRONG_CLUSTER] = "wrong_cluster",
  [DSM_NET_ERROR_UNKNOWN_NODE] = "unknown_node",
  [DSM_NET_ERROR_AUTH] = "auth",
  [DSM_NET_ERROR_REFUSED] = "refused",
  [DSM_NET_ERROR_DUPLICATE] = "duplicate",
  [DSM_NET_ERROR_DECODE] = "decode",
  [DSM_NET_ERROR_SPOOFED] = "spoofed",
  [DSM_NET_ERROR_CLOSED] = "closed",
  [DSM_NET_ERROR_IO] = "io",
  [DSM_NET_ERROR_ADDRESS] = "address",
  [DSM_NET_ERROR_SHUTDOWN] = "shutdown",
  [DSM_NET_ERROR_MAC] = "mac",
  [DSM_NET_ERROR_TLS] = "tls",
  [DSM_NET_ERROR_EVICTED] = "evicted",
  [DSM_NET_ERROR_FINGERPRINT] = "fingerprint_mismatch",
};

const char *
dsm_net_error_label (DsmNetError code)
{
  g_return_val_if_fail ((guint) code < DSM_NET_ERROR_N_CODES, "?");
  return labels[code];
}
