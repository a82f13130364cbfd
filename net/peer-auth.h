/* net/peer-auth.h: how one node authenticates its peer links, resolved
 * from the config: the shared secret (inline or from a private file),
 * the mutual-TLS certificate and CA, or insecure on purpose; and the
 * checks that bind a peer's certificate to the node id it claims
 * (docs/SECURITY.md, "Peer links"). */
#pragma once

#include <gio/gio.h>

#include "config.h"
#include "types.h"

G_BEGIN_DECLS

/* The shortest secret accepted, in bytes. */
#define DSM_PEER_SECRET_BYTES_MIN 16
/* The largest secret_file read. */
#define DSM_PEER_SECRET_FILE_BYTES_MAX 4096

typedef struct _DsmPeerAuth DsmPeerAuth;

/**
 * dsm_peer_auth_new:
 * @config_dir: (nullable): relative paths in @config resolve against it
 *   (NULL: the current directory)
 *
 * Reads secret_file (a regular file no one but its owner may read or
 * write), loads the TLS certificate, key and CA ("{id}" in their paths
 * becomes @self), and refuses a node of a multi-node cluster that would
 * run with no peer authentication unless the config says "insecure".
 *
 * Returns: (transfer full): the node's peer authentication, or NULL with
 * a DSM_CONFIG_ERROR (or the file's GIO/GLib error) naming the key.
 */
DsmPeerAuth *dsm_peer_auth_new (const DsmConfig *config, DsmNodeId self, const char *config_dir,
                                GError **error);

DsmPeerAuth *dsm_peer_auth_ref (DsmPeerAuth *auth);
void dsm_peer_auth_unref (DsmPeerAuth *auth);

/* (nullable): the secret's bytes; NULL when the cluster uses none. */
GBytes *dsm_peer_auth_get_secret (const DsmPeerAuth *auth);

/* Whether peer links run TLS. */
gboolean dsm_peer_auth_uses_tls (const DsmPeerAuth *auth);

/* Whether peer links run unauthenticated, as the config asked. */
gboolean dsm_peer_auth_is_insecure (const DsmPeerAuth *auth);

/* "secret", "tls", "tls+secret" or "insecure", for logs. */
const char *dsm_peer_auth_describe (const DsmPeerAuth *auth);

/* Returns: (transfer full): the DNS name a peer certificate of node @id
 * carries: "node-ID.CLUSTER". */
char *dsm_peer_auth_certificate_name (const char *cluster_id, DsmNodeId id);

/**
 * dsm_peer_auth_wrap:
 * @peer: the node dialed (@outbound), or DSM_NODE_NONE while unknown
 *
 * Returns: (transfer full): a TLS client (@outbound) or server connection
 * over @connection presenting this node's certificate, trusting only the
 * configured CA and requiring the peer's certificate; the caller runs
 * the handshake.  NULL with a DSM_NET_ERROR_TLS error.
 */
GIOStream *dsm_peer_auth_wrap (DsmPeerAuth *auth, GSocketConnection *connection, gboolean outbound,
                               DsmNodeId peer, GError **error);

/**
 * dsm_peer_auth_check_peer:
 * After the TLS handshake: the peer's certificate chains to the CA and
 * names node @claimed of this cluster exactly (no wildcard).  FALSE with
 * DSM_NET_ERROR_AUTH saying what the certificate names instead.
 */
gboolean dsm_peer_auth_check_peer (DsmPeerAuth *auth, GTlsConnection *tls, DsmNodeId claimed,
                                   GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmPeerAuth, dsm_peer_auth_unref)

G_END_DECLS
