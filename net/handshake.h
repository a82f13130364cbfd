/* net/handshake.h: the first frames on every peer connection (inside TLS
 * when the cluster uses it), which name the cluster, both node ids and the
 * protocol version and the bootstrap fingerprint and, with a shared
 * secret, prove with HMAC-SHA256 that both ends know it.
 *
 *   dialer                                   acceptor
 *     hello   {protocol, cluster_id, fingerprint, [plugins], from, to, nonce_d, auth}  -->
 *             <--  welcome {protocol, cluster_id, fingerprint, [plugins], from, to, nonce_a, proof_a}
 *                  (or refuse {reason, detail}, then close)
 *     ready   {proof_d}                                         -->
 *
 *   proof_a = HMAC-SHA256(secret, "dsm-handshake-v2\nwelcome\n" CLUSTER "\n" D "\n" A "\n" nonce_d "\n" nonce_a)
 *   proof_d = the same with "ready"
 *
 * Nonces are 16 bytes from the OS's random source, in hex.  The role word
 * keeps one side's proof from being replayed as the other's; fresh nonces
 * on both sides keep an old proof from being replayed at all.  With a
 * secret, every frame after the handshake is sealed under keys derived
 * from it and both nonces (frame-mac.h; docs/OPERATIONS.md, "Peer
 * protocol"). */
#pragma once

#include <glib.h>

#include "config.h"
#include "types.h"

G_BEGIN_DECLS

/* The protocol this build speaks, and the oldest it accepts from a peer
 * (docs/OPERATIONS.md, "Rolling upgrades"): a release that changes the
 * wire or the log's entries raises DSM_PROTOCOL_VERSION, and keeps
 * DSM_PROTOCOL_VERSION_MIN at the previous one only while it still reads
 * and never sends what that one cannot.  3: membership and definitions
 * through the log, the fingerprint in the handshake. */
#define DSM_PROTOCOL_VERSION 3
#define DSM_PROTOCOL_VERSION_MIN 3
#define DSM_HANDSHAKE_FINGERPRINT_HEX 64   /* SHA-256, dsm_fingerprint_compute() */
/* dsm_config_describe_plugins() of at most DSM_CONFIG_PLUGINS_MAX plugins
 * fits: 8 x ("NAME VERSION", 2 x 64 + 1) + ", "s. */
#define DSM_HANDSHAKE_PLUGINS_BYTES_MAX 2048
#define DSM_HANDSHAKE_NONCE_HEX 32   /* 16 random bytes */
#define DSM_HANDSHAKE_PROOF_HEX 64   /* HMAC-SHA256 */
#define DSM_HANDSHAKE_DETAIL_BYTES_MAX 1024   /* a refusal's detail, as read and as sent */

typedef enum {
  DSM_HANDSHAKE_HELLO,
  DSM_HANDSHAKE_WELCOME,
  DSM_HANDSHAKE_READY,
  DSM_HANDSHAKE_REFUSE,
} DsmHandshakeKind;

typedef struct {
  DsmHandshakeKind kind;
  guint protocol;           /* HELLO, WELCOME */
  char *cluster_id;         /* HELLO, WELCOME */
  char *fingerprint;        /* HELLO, WELCOME: nullable when decoded (an older protocol has none) */
  char *plugins;            /* HELLO, WELCOME: nullable: no machine plugins (dsm_config_describe_plugins()) */
  DsmNodeId from;           /* HELLO, WELCOME */
  DsmNodeId to;             /* HELLO, WELCOME */
  char *nonce;              /* HELLO, WELCOME */
  gboolean auth;            /* HELLO: the dialer has a secret */
  char *proof;              /* WELCOME, READY: nullable (no secret) */
  char *reason;             /* REFUSE: a dsm_net_error_label() */
  char *detail;             /* REFUSE: human-readable */
} DsmHandshake;

void dsm_handshake_free (DsmHandshake *hs);

/* Returns: (transfer full): @hs as one line of JSON (a frame payload). */
char *dsm_handshake_encode (const DsmHandshake *hs);

/**
 * dsm_handshake_decode:
 * @expected: the step the connection is at; a REFUSE is accepted at
 *   WELCOME (and comes back as a DSM_NET_ERROR_REFUSED error)
 *
 * Strict: unknown keys, missing keys and wrong JSON types are errors.
 * Returns: (transfer full): the step, or NULL with a DSM_NET_ERROR
 * (HANDSHAKE, or REFUSED carrying the peer's reason).
 */
DsmHandshake *dsm_handshake_decode (const char *data, gsize length, DsmHandshakeKind expected,
                                    GError **error);

/* Fills @out (DSM_HANDSHAKE_NONCE_HEX + 1 bytes) with a fresh random nonce. */
void dsm_handshake_new_nonce (char *out);

/* Returns: (transfer full): the hex proof for @role ("welcome" or "ready"). */
char *dsm_handshake_proof (GBytes *secret, const char *role, const char *cluster_id,
                           DsmNodeId dialer, DsmNodeId acceptor,
                           const char *dialer_nonce, const char *acceptor_nonce);

/**
 * dsm_handshake_check_hello:
 * @secret: (nullable): this node's secret
 *
 * @fingerprint: this node's dsm_fingerprint_compute() of @config
 *
 * The acceptor's check of a HELLO: protocol version, cluster, bootstrap
 * fingerprint, a node other than us as sender, us as addressee, secrets
 * on both sides or neither.  Errors: VERSION, WRONG_CLUSTER, FINGERPRINT,
 * UNKNOWN_NODE, AUTH.
 */
gboolean dsm_handshake_check_hello (const DsmConfig *config, const char *fingerprint, GBytes *secret,
                                    DsmNodeId self, const DsmHandshake *hello, GError **error);

/* The dialer's check of a WELCOME from @peer, fingerprint and proof included. */
gboolean dsm_handshake_check_welcome (const DsmConfig *config, const char *fingerprint, GBytes *secret,
                                      DsmNodeId self, DsmNodeId peer, const char *dialer_nonce,
                                      const DsmHandshake *welcome, GError **error);

/* The acceptor's check of a READY's proof. */
gboolean dsm_handshake_check_ready (const DsmConfig *config, GBytes *secret, DsmNodeId self,
                                    DsmNodeId peer, const char *dialer_nonce,
                                    const char *acceptor_nonce, const DsmHandshake *ready,
                                    GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmHandshake, dsm_handshake_free)

G_END_DECLS
