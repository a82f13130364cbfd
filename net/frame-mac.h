/* net/frame-mac.h: the per-frame MAC of peer connections with a shared
 * secret: keys derived per connection and per direction, and a sequence
 * number in every tag (docs/OPERATIONS.md, "Sealed frames").
 *
 *   salt   = nonce_D || nonce_A                          (64 ASCII hex digits)
 *   PRK    = HMAC-SHA256(salt, secret)                   (HKDF-Extract, RFC 5869)
 *   K_dir  = HMAC-SHA256(PRK, "dsm-frame-mac-v2\n" CLUSTER "\n" D "\n" A "\n" DIR || 0x01)
 *            DIR = "dialer-to-acceptor" or "acceptor-to-dialer"   (HKDF-Expand, L = 32)
 *   tag    = HMAC-SHA256(K_dir, seq:u64 BE || length:u32 BE || payload)[0..16)
 *
 * seq counts the frames sent in that direction after the handshake, from
 * 0, and is never sent: a frame replayed, dropped, reordered or reflected
 * back to its sender is checked against another seq or key, and fails. */
#pragma once

#include <glib.h>

#include "types.h"

G_BEGIN_DECLS

#define DSM_FRAME_MAC_KEY_BYTES 32
#define DSM_FRAME_MAC_TAG_BYTES 16

typedef struct {
  guint8 dialer_to_acceptor[DSM_FRAME_MAC_KEY_BYTES];
  guint8 acceptor_to_dialer[DSM_FRAME_MAC_KEY_BYTES];
} DsmFrameKeys;

/* Derives both directions' keys of one connection (the formula above);
 * the nonces are the handshake's, 32 lowercase hex digits each. */
void dsm_frame_mac_derive_keys (GBytes *secret, const char *cluster_id, DsmNodeId dialer,
                                DsmNodeId acceptor, const char *dialer_nonce,
                                const char *acceptor_nonce, DsmFrameKeys *out);

/* One direction of one connection: its key and the next frame's seq. */
typedef struct _DsmFrameMac DsmFrameMac;

DsmFrameMac *dsm_frame_mac_new (const guint8 key[DSM_FRAME_MAC_KEY_BYTES]);
void dsm_frame_mac_free (DsmFrameMac *mac);

/* The tag of @payload as frame number @seq (tests, and the two below). */
void dsm_frame_mac_tag (const DsmFrameMac *mac, guint64 seq, const void *payload, gsize length,
                        guint8 out[DSM_FRAME_MAC_TAG_BYTES]);

/* The seq the next sealed or opened frame gets. */
guint64 dsm_frame_mac_get_seq (const DsmFrameMac *mac);

/**
 * dsm_frame_mac_seal:
 * Returns: (transfer full): the sealed frame of @payload
 * ([length][tag][payload], frame.h) as the next frame of this direction.
 */
GBytes *dsm_frame_mac_seal (DsmFrameMac *mac, const void *payload, gsize length);

/* Checks @tag against @payload as the next frame; TRUE moves seq on.
 * Constant time in the comparison.  FALSE: DSM_NET_ERROR_MAC. */
gboolean dsm_frame_mac_open (DsmFrameMac *mac, const guint8 *tag, const void *payload,
                             gsize length, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmFrameMac, dsm_frame_mac_free)

G_END_DECLS
