/* net/frame-mac.c: HKDF key derivation, and sealing and opening frames
 * under HMAC-SHA256 with an implicit sequence number (frame-mac.h). */
#include "frame-mac.h"

#include <gnutls/crypto.h>
#include <string.h>

#include "frame.h"
#include "net-error.h"

#define SHA256_BYTES 32

/* GnuTLS, not GLib's GHmac: its SHA-256 uses the CPU's SHA instructions;
 * a sealed 16 KiB frame costs a quarter of the CPU it did
 * (docs/SECURITY.md, "Sealed-frame MAC cost"). */
struct _DsmFrameMac {
  gnutls_hmac_hd_t keyed;  /* keyed; gnutls_hmac_output() leaves it keyed again */
  guint64 seq;             /* the next frame's */
};

/* HMAC-SHA256 fails only for lack of memory or in a GnuTLS without
 * SHA-256 (FIPS mode allows it with our key sizes): like running out of
 * memory, nothing to recover from. */
static void
mac_check (int rc, const char *what)
{
  if (rc < 0)
    g_error ("%s: %s", what, gnutls_strerror (rc));
}

static void
hmac_sha256 (const guint8 *key, gsize key_length, const void *data, gsize length,
             guint8 out[SHA256_BYTES])
{
  g_assert (gnutls_hmac_get_len (GNUTLS_MAC_SHA256) == SHA256_BYTES);
  mac_check (gnutls_hmac_fast (GNUTLS_MAC_SHA256, key, key_length, data, length, out), "gnutls_hmac_fast");
}

/* HKDF-Expand with L = 32: one block, T(1) = HMAC(PRK, info || 0x01). */
static void
derive_keys_expand (const guint8 prk[SHA256_BYTES], const char *cluster_id, DsmNodeId dialer,
                    DsmNodeId acceptor, const char *direction, guint8 out[SHA256_BYTES])
{
  g_autoptr(GString) info = g_string_new (NULL);

  g_string_printf (info, "dsm-frame-mac-v2\n%s\n%u\n%u\n%s", cluster_id, dialer, acceptor, direction);
  g_string_append_c (info, '\x01');
  hmac_sha256 (prk, SHA256_BYTES, info->str, info->len, out);
}

void
dsm_frame_mac_derive_keys (GBytes *secret, const char *cluster_id, DsmNodeId dialer,
                           DsmNodeId acceptor, const char *dialer_nonce,
                           const char *acceptor_nonce, DsmFrameKeys *out)
{
  g_autofree char *salt = g_strconcat (dialer_nonce, acceptor_nonce, NULL);
  gsize secret_length = 0;
  const guint8 *secret_data = g_bytes_get_data (secret, &secret_length);
  guint8 prk[SHA256_BYTES];

  g_assert (strlen (dialer_nonce) == 32);
  g_assert (strlen (acceptor_nonce) == 32);
  g_assert (secret_length > 0);
  /* HKDF-Extract: the nonces are the salt, the secret the input key. */
  hmac_sha256 ((const guint8 *) salt, strlen (salt), secret_data, secret_length, prk);
  derive_keys_expand (prk, cluster_id, dialer, acceptor, "dialer-to-acceptor", out->dialer_to_acceptor);
  derive_keys_expand (prk, cluster_id, dialer, acceptor, "acceptor-to-dialer", out->acceptor_to_dialer);
  memset (prk, 0, sizeof prk);
}

DsmFrameMac *
dsm_frame_mac_new (const guint8 key[DSM_FRAME_MAC_KEY_BYTES])
{
  DsmFrameMac *mac = g_new0 (DsmFrameMac, 1);

  mac_check (gnutls_hmac_init (&mac->keyed, GNUTLS_MAC_SHA256, key, DSM_FRAME_MAC_KEY_BYTES), "gnutls_hmac_init");
  return mac;
}

void
dsm_frame_mac_free (DsmFrameMac *mac)
{
  if (mac == NULL)
    return;
  gnutls_hmac_deinit (mac->keyed, NULL);
  g_free (mac);
}

guint64
dsm_frame_mac_get_seq (const DsmFrameMac *mac)
{
  return mac->seq;
}

void
dsm_frame_mac_tag (const DsmFrameMac *mac, guint64 seq, const void *payload, gsize length,
                   guint8 out[DSM_FRAME_MAC_TAG_BYTES])
{
  guint8 header[12];
  guint64 be_seq = GUINT64_TO_BE (seq);
  guint32 be_length = GUINT32_TO_BE ((guint32) length);
  guint8 digest[SHA256_BYTES];

  g_assert (length <= G_MAXUINT32);
  memcpy (header, &be_seq, 8);
  memcpy (header + 8, &be_length, 4);
  /* The output resets the state to just after the key: the next frame
   * starts from there (the known answers in tests/net/test-frame.c seal
   * several frames with one DsmFrameMac). */
  mac_check (gnutls_hmac (mac->keyed, header, sizeof header), "gnutls_hmac");
  mac_check (gnutls_hmac (mac->keyed, payload, length), "gnutls_hmac");
  gnutls_hmac_output (mac->keyed, digest);
  memcpy (out, digest, DSM_FRAME_MAC_TAG_BYTES);
}

GBytes *
dsm_frame_mac_seal (DsmFrameMac *mac, const void *payload, gsize length)
{
  guint8 *buf = g_malloc (DSM_FRAME_SEALED_HEADER_BYTES + length);
  guint32 be_length = GUINT32_TO_BE ((guint32) length);

  g_assert (length >= 1);
  g_assert (length <= G_MAXUINT32);
  /* 2^64 frames are never sent: the seq cannot wrap and repeat a tag. */
  g_assert (mac->seq < G_MAXUINT64);
  memcpy (buf, &be_length, 4);
  dsm_frame_mac_tag (mac, mac->seq, payload, length, buf + 4);
  memcpy (buf + DSM_FRAME_SEALED_HEADER_BYTES, payload, length);
  mac->seq++;
  return g_bytes_new_take (buf, DSM_FRAME_SEALED_HEADER_BYTES + length);
}

gboolean
dsm_frame_mac_open (DsmFrameMac *mac, const guint8 *tag, const void *payload, gsize length,
                    GError **error)
{
  guint8 expected[DSM_FRAME_MAC_TAG_BYTES];
  guint8 diff = 0;

  dsm_frame_mac_tag (mac, mac->seq, payload, length, expected);
  /* Constant time: how much of a forged tag was right must not show. */
  for (guint i = 0; i < DSM_FRAME_MAC_TAG_BYTES; i++)
    diff |= (guint8) (expected[i] ^ tag[i]);
  if (diff != 0)
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_MAC,
                   "sealed frame %" G_GUINT64_FORMAT " (%" G_GSIZE_FORMAT " bytes): bad MAC "
                   "(forged, replayed, reordered, reflected or corrupted)", mac->seq, length);
      return FALSE;
    }
  g_assert (mac->seq < G_MAXUINT64);
  mac->seq++;
  return TRUE;
}
