/* tests/net/test-frame.c: the peer framing (length, CRC-32, payload), the
 * sealed frames' key derivation and MAC, and the handshake's encoding,
 * parsing and checks, without sockets. */
#include <string.h>

#include "config.h"
#include "frame.h"
#include "frame-mac.h"
#include "fingerprint.h"
#include "handshake.h"
#include "net-error.h"

static GBytes *
header_only (guint32 length, guint32 crc)
{
  guint32 h[2] = { GUINT32_TO_BE (length), GUINT32_TO_BE (crc) };
  return g_bytes_new (h, sizeof h);
}

static void
test_round_trip_byte_by_byte (void)
{
  const char *payloads[] = { "{}", "{\"type\":\"commit\"}", "x" };
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  g_autoptr(DsmFrameReader) reader = dsm_frame_reader_new (1024);
  guint got = 0;

  g_test_summary ("Frames split at every byte boundary come back whole and in order.");
  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    {
      g_autoptr(GBytes) frame = dsm_frame_encode (payloads[i], strlen (payloads[i]));
      g_byte_array_append (stream, g_bytes_get_data (frame, NULL), (guint) g_bytes_get_size (frame));
    }
  for (guint i = 0; i < stream->len; i++)
    {
      g_autoptr(GError) error = NULL;
      GBytes *payload = NULL;
      dsm_frame_reader_push (reader, stream->data + i, 1);
      while (dsm_frame_reader_pop (reader, &payload, &error))
        {
          gsize n;
          const char *data = g_bytes_get_data (payload, &n);
          g_assert_cmpuint (got, <, G_N_ELEMENTS (payloads));
          g_assert_cmpmem (data, n, payloads[got], strlen (payloads[got]));
          got++;
          g_bytes_unref (payload);
        }
      g_assert_no_error (error);
      g_assert_null (payload);
    }
  g_assert_cmpuint (got, ==, G_N_ELEMENTS (payloads));
  g_assert_cmpuint (dsm_frame_reader_get_buffered (reader), ==, 0);
}

static void
test_header_layout (void)
{
  g_autoptr(GBytes) frame = dsm_frame_encode ("abc", 3);
  const guint8 *p = g_bytes_get_data (frame, NULL);

  g_test_summary ("The header is the big-endian length then the big-endian zlib CRC-32.");
  g_assert_cmpuint (g_bytes_get_size (frame), ==, 11);
  g_assert_cmpmem (p, 4, "\0\0\0\3", 4);
  /* crc32("abc") = 0x352441c2 */
  g_assert_cmpmem (p + 4, 4, "\x35\x24\x41\xc2", 4);
  g_assert_cmpmem (p + 8, 3, "abc", 3);
}

static void
expect_stream_error (GBytes *bytes, gsize max, DsmNetError code)
{
  g_autoptr(DsmFrameReader) reader = dsm_frame_reader_new (max);
  g_autoptr(GError) error = NULL;
  GBytes *payload = NULL;

  dsm_frame_reader_push (reader, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_assert_false (dsm_frame_reader_pop (reader, &payload, &error));
  g_assert_null (payload);
  g_assert_error (error, DSM_NET_ERROR, (gint) code);
}

static void
test_oversized_refused_at_header (void)
{
  g_autoptr(GBytes) header = header_only (1025, 0);

  g_test_summary ("A frame announcing more than max_frame_bytes is refused from its header alone.");
  expect_stream_error (header, 1024, DSM_NET_ERROR_FRAME_TOO_LARGE);
}

static void
test_empty_refused (void)
{
  g_autoptr(GBytes) header = header_only (0, 0);

  g_test_summary ("A zero-length frame is refused: no message is empty.");
  expect_stream_error (header, 1024, DSM_NET_ERROR_FRAME_EMPTY);
}

static void
test_checksum_mismatch (void)
{
  g_autoptr(GBytes) frame = dsm_frame_encode ("{\"a\":1}", 7);
  g_autoptr(GByteArray) bad = g_byte_array_new ();

  g_test_summary ("One flipped payload bit is caught by the CRC.");
  g_byte_array_append (bad, g_bytes_get_data (frame, NULL), (guint) g_bytes_get_size (frame));
  bad->data[10] ^= 0x01;
  g_autoptr(GBytes) bytes = g_bytes_new (bad->data, bad->len);
  expect_stream_error (bytes, 1024, DSM_NET_ERROR_CHECKSUM);
}

static void
test_garbage (void)
{
  g_autoptr(GBytes) http = g_bytes_new_static ("GET / HTTP/1.1\r\n\r\n", 18);

  g_test_summary ("Text that is not a frame (an HTTP request) fails at its first header.");
  expect_stream_error (http, 4 * 1024 * 1024, DSM_NET_ERROR_FRAME_TOO_LARGE);
}

/* ---- handshake ---- */

static GBytes *
secret_bytes (const char *secret)
{
  return g_bytes_new (secret, strlen (secret));
}

static DsmHandshake *
round_trip (const DsmHandshake *hs, DsmHandshakeKind expect)
{
  g_autofree char *text = dsm_handshake_encode (hs);
  g_autoptr(GError) error = NULL;
  DsmHandshake *back = dsm_handshake_decode (text, strlen (text), expect, &error);

  g_assert_no_error (error);
  return back;
}

static void
test_handshake_with_secret (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(GBytes) secret = secret_bytes ("s3cret");
  char nd[DSM_HANDSHAKE_NONCE_HEX + 1], na[DSM_HANDSHAKE_NONCE_HEX + 1];
  g_autoptr(GError) error = NULL;

  g_autofree char *fp = dsm_fingerprint_compute (config);

  g_test_summary ("Dialer 1 and acceptor 2 with the same secret accept each other's proofs.");
  dsm_handshake_new_nonce (nd);
  dsm_handshake_new_nonce (na);
  g_assert_cmpstr (nd, !=, na);
  DsmHandshake hello = { .kind = DSM_HANDSHAKE_HELLO, .protocol = DSM_PROTOCOL_VERSION,
                         .cluster_id = config->cluster_id, .fingerprint = fp, .from = 1, .to = 2, .nonce = nd,
                         .auth = TRUE };
  g_autoptr(DsmHandshake) hello2 = round_trip (&hello, DSM_HANDSHAKE_HELLO);
  g_assert_cmpstr (hello2->fingerprint, ==, fp);
  g_assert_true (dsm_handshake_check_hello (config, fp, secret, 2, hello2, &error));
  g_assert_no_error (error);

  g_autofree char *proof_a = dsm_handshake_proof (secret, "welcome", config->cluster_id, 1, 2, nd, na);
  DsmHandshake welcome = { .kind = DSM_HANDSHAKE_WELCOME, .protocol = DSM_PROTOCOL_VERSION,
                           .cluster_id = config->cluster_id, .fingerprint = fp, .from = 2, .to = 1, .nonce = na,
                           .proof = proof_a };
  g_autoptr(DsmHandshake) welcome2 = round_trip (&welcome, DSM_HANDSHAKE_WELCOME);
  g_assert_true (dsm_handshake_check_welcome (config, fp, secret, 1, 2, nd, welcome2, &error));
  g_assert_no_error (error);

  g_autofree char *proof_d = dsm_handshake_proof (secret, "ready", config->cluster_id, 1, 2, nd, na);
  DsmHandshake ready = { .kind = DSM_HANDSHAKE_READY, .proof = proof_d };
  g_autoptr(DsmHandshake) ready2 = round_trip (&ready, DSM_HANDSHAKE_READY);
  g_assert_true (dsm_handshake_check_ready (config, secret, 2, 1, nd, na, ready2, &error));
  g_assert_no_error (error);

  /* A welcome proof replayed as a ready proof fails: the role is signed. */
  DsmHandshake replay = { .kind = DSM_HANDSHAKE_READY, .proof = proof_a };
  g_assert_false (dsm_handshake_check_ready (config, secret, 2, 1, nd, na, &replay, &error));
  g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH);
}

static void
test_handshake_wrong_secret (void)
{
  g_autoptr(DsmConfig) ours = dsm_config_new_default (3);
  g_autoptr(GBytes) alpha = secret_bytes ("alpha");
  g_autoptr(GBytes) beta = secret_bytes ("beta");
  g_autoptr(GError) error = NULL;
  char nd[DSM_HANDSHAKE_NONCE_HEX + 1], na[DSM_HANDSHAKE_NONCE_HEX + 1];

  g_test_summary ("A proof made with another secret is refused as AUTH.");
  dsm_handshake_new_nonce (nd);
  dsm_handshake_new_nonce (na);
  g_autofree char *proof = dsm_handshake_proof (beta, "ready", ours->cluster_id, 1, 2, nd, na);
  DsmHandshake ready = { .kind = DSM_HANDSHAKE_READY, .proof = proof };
  g_assert_false (dsm_handshake_check_ready (ours, alpha, 2, 1, nd, na, &ready, &error));
  g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH);
  g_clear_error (&error);

  DsmHandshake none = { .kind = DSM_HANDSHAKE_READY };
  g_assert_false (dsm_handshake_check_ready (ours, alpha, 2, 1, nd, na, &none, &error));
  g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH);
}

static void
test_handshake_refusals (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(DsmConfig) other = dsm_config_new_default (4);
  g_autofree char *fp = dsm_fingerprint_compute (config);
  g_autofree char *other_fp = dsm_fingerprint_compute (other);
  char nd[DSM_HANDSHAKE_NONCE_HEX + 1];
  struct {
    const char *cluster;
    const char *fingerprint;   /* NULL: none sent */
    DsmNodeId from, to;
    guint protocol;
    gboolean auth;
    DsmNetError code;
  } cases[] = {
    { "other", fp, 1, 2, DSM_PROTOCOL_VERSION, FALSE, DSM_NET_ERROR_WRONG_CLUSTER },
    { NULL, fp, 2, 2, DSM_PROTOCOL_VERSION, FALSE, DSM_NET_ERROR_UNKNOWN_NODE },
    { NULL, fp, 1, 3, DSM_PROTOCOL_VERSION, FALSE, DSM_NET_ERROR_UNKNOWN_NODE },
    { NULL, fp, 1, 2, 99, FALSE, DSM_NET_ERROR_VERSION },
    { NULL, NULL, 1, 2, DSM_PROTOCOL_VERSION_MIN - 1, FALSE, DSM_NET_ERROR_VERSION },
    { NULL, other_fp, 1, 2, DSM_PROTOCOL_VERSION, FALSE, DSM_NET_ERROR_FINGERPRINT },
    { NULL, NULL, 1, 2, DSM_PROTOCOL_VERSION, FALSE, DSM_NET_ERROR_FINGERPRINT },
    { NULL, fp, 1, 2, DSM_PROTOCOL_VERSION, TRUE, DSM_NET_ERROR_AUTH },
  };

  g_test_summary ("The acceptor refuses another cluster, its own id, a misdialed node, a protocol "
                  "version out of its range (an older one without a fingerprint is told \"version\"), "
                  "another bootstrap fingerprint or none, and a secret on one side only; an id its "
                  "bootstrap does not list is admitted (a node joining later).");
  dsm_handshake_new_nonce (nd);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      DsmHandshake hello = { .kind = DSM_HANDSHAKE_HELLO, .protocol = cases[i].protocol,
                             .cluster_id = cases[i].cluster ? (char *) cases[i].cluster : config->cluster_id,
                             .fingerprint = (char *) cases[i].fingerprint, .from = cases[i].from,
                             .to = cases[i].to, .nonce = nd, .auth = cases[i].auth };
      g_assert_false (dsm_handshake_check_hello (config, fp, NULL, 2, &hello, &error));
      g_assert_error (error, DSM_NET_ERROR, (gint) cases[i].code);
    }
  g_autoptr(GError) error = NULL;
  DsmHandshake joiner = { .kind = DSM_HANDSHAKE_HELLO, .protocol = DSM_PROTOCOL_VERSION,
                          .cluster_id = config->cluster_id, .fingerprint = fp, .from = 9, .to = 2, .nonce = nd };
  g_assert_true (dsm_handshake_check_hello (config, fp, NULL, 2, &joiner, &error));
  g_assert_no_error (error);
}

static void
test_handshake_malformed (void)
{
  const char *bad[] = {
    "not json",
    "[]",
    "{\"hello\":1}",
    "{\"hello\":{},\"extra\":{}}",
    "{\"hello\":{\"protocol\":\"1\",\"from\":1,\"to\":2,\"cluster_id\":\"dsm\",\"nonce\":\"00000000000000000000000000000000\",\"auth\":false}}",
    "{\"hello\":{\"protocol\":1,\"from\":-1,\"to\":2,\"cluster_id\":\"dsm\",\"nonce\":\"00000000000000000000000000000000\",\"auth\":false}}",
    "{\"hello\":{\"protocol\":1,\"from\":1,\"to\":2,\"cluster_id\":\"dsm\",\"nonce\":\"short\",\"auth\":false}}",
    "{\"hello\":{\"protocol\":1,\"from\":1,\"to\":2,\"cluster_id\":\"dsm\",\"nonce\":\"00000000000000000000000000000000\",\"auth\":false,\"x\":1}}",
    "{\"welcome\":{\"protocol\":1}}",
    "{\"hello\":{\"protocol\":2,\"protocol\":2,\"from\":1,\"to\":2,\"cluster_id\":\"dsm\",\"nonce\":\"00000000000000000000000000000000\",\"auth\":false}}",
    "{\"hello\":{\"protocol\":2,\"from\":1,\"to\":2,\"cluster_id\":\"dsm\",\"nonce\":\"00000000000000000000000000000000\",\"auth\":false}} {}",
    "{\"hello\":{\"protocol\":2,\"from\":1,\"to\":2,\"cluster_id\":\"dsm\",\"nonce\":\"0000000000000000000000000000000A\",\"auth\":false}}",
  };

  g_test_summary ("Malformed hellos (not JSON, wrong shapes, wrong types, bad nonces, unknown or duplicate "
                  "keys, trailing data) are HANDSHAKE errors.");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DsmHandshake) hs = dsm_handshake_decode (bad[i], strlen (bad[i]), DSM_HANDSHAKE_HELLO, &error);
      g_assert_null (hs);
      g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_HANDSHAKE);
    }
}

static void
test_handshake_refuse_reaches_dialer (void)
{
  DsmHandshake refuse = { .kind = DSM_HANDSHAKE_REFUSE, .reason = (char *) "wrong_cluster",
                          .detail = (char *) "node 1 belongs to cluster \"a\"" };
  g_autofree char *text = dsm_handshake_encode (&refuse);
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmHandshake) hs = dsm_handshake_decode (text, strlen (text), DSM_HANDSHAKE_WELCOME, &error);

  g_test_summary ("A refusal in place of a welcome becomes a REFUSED error carrying the peer's reason.");
  g_assert_null (hs);
  g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "wrong_cluster"));
}

/* Found by fuzz/fuzz-handshake.c: the refusal quotes the hello's cluster
 * id (up to 1 KiB), so its detail outgrew what the dialer reads, and the
 * dialer heard "malformed handshake" instead of the reason. */
static void
test_handshake_refuse_long_detail (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autofree char *fp = dsm_fingerprint_compute (config);
  g_autoptr(GString) theirs = g_string_new ("x");
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) refused = NULL;

  g_test_summary ("A refusal quoting a hello's 1 KiB cluster id of multi-byte characters still "
                  "reaches the dialer with its reason, its detail cut at a character boundary.");
  while (theirs->len < 1000)
    g_string_append (theirs, "\\u00e9\\u0001");
  g_autofree char *text = g_strdup_printf ("{\"hello\":{\"protocol\":%u,\"from\":2,\"to\":1,\"cluster_id\":\"%s\","
                                           "\"fingerprint\":\"%s\",\"nonce\":\"0123456789abcdef0123456789abcdef\","
                                           "\"auth\":false}}", DSM_PROTOCOL_VERSION, theirs->str, fp);
  g_autoptr(DsmHandshake) hello = dsm_handshake_decode (text, strlen (text), DSM_HANDSHAKE_HELLO, &error);
  g_assert_no_error (error);
  g_assert_false (dsm_handshake_check_hello (config, fp, NULL, 1, hello, &error));
  g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_WRONG_CLUSTER);
  g_assert_cmpuint (strlen (error->message), >, DSM_HANDSHAKE_DETAIL_BYTES_MAX);

  DsmHandshake refuse = { .kind = DSM_HANDSHAKE_REFUSE,
                          .reason = (char *) dsm_net_error_label (DSM_NET_ERROR_WRONG_CLUSTER),
                          .detail = error->message };
  g_autofree char *sent = dsm_handshake_encode (&refuse);
  g_autoptr(DsmHandshake) back = dsm_handshake_decode (sent, strlen (sent), DSM_HANDSHAKE_WELCOME, &refused);
  g_assert_null (back);
  g_assert_error (refused, DSM_NET_ERROR, DSM_NET_ERROR_REFUSED);
  g_assert_nonnull (strstr (refused->message, "wrong_cluster"));
  g_assert_true (g_utf8_validate (refused->message, -1, NULL));
}

/* ---- sealed frames ---- */

/* Known answers computed outside dsm, with Python's hmac module and
 * checked against `openssl kdf ... HKDF` (docs/OPERATIONS.md, "Sealed
 * frames"):
 *
 *   prk = hmac.new((nd + na).encode(), secret, sha256).digest()
 *   k   = hmac.new(prk, b"dsm-frame-mac-v2\ntest\n1\n2\n" + dir + b"\x01", sha256).digest()
 *   tag = hmac.new(k, struct.pack(">QI", seq, len(p)) + p, sha256).digest()[:16] */
#define KAT_SECRET "integration-test-secret"
#define KAT_NONCE_D "00112233445566778899aabbccddeeff"
#define KAT_NONCE_A "ffeeddccbbaa99887766554433221100"
#define KAT_D2A "cb8b6777412f797f777f9d6e66a181b68c72994668371e825ee6c88ca063961f"
#define KAT_A2D "78bcefc608a85e1f939992b7924a8b782ee3d8436d3559f9092f66fe1db32ca6"
#define KAT_PAYLOAD "{\"type\":\"commit\"}"
#define KAT_TAG_0 "c231b808d17504748a3a98bc7650a0cf"
#define KAT_TAG_1 "5cc84e2f52e24ada5eefb23dff02221d"
/* 16 KiB of bytes (i * 31 + 7) % 251: many SHA-256 blocks, and NULs. */
#define KAT_LARGE_BYTES 16384
#define KAT_LARGE_TAG_0 "670589550306a6494bd7ac9e85a2dd1e"
#define KAT_LARGE_TAG_1 "882d304ed8963917dcc2dba7762c1bb7"
#define KAT_LARGE_TAG_5 "b2c83e54765be7badae6a2cc126de295"

static char *
hex (const guint8 *data, gsize n)
{
  GString *s = g_string_new (NULL);

  for (gsize i = 0; i < n; i++)
    g_string_append_printf (s, "%02x", data[i]);
  return g_string_free (s, FALSE);
}

static void
kat_keys (DsmFrameKeys *keys)
{
  g_autoptr(GBytes) secret = g_bytes_new_static (KAT_SECRET, strlen (KAT_SECRET));

  dsm_frame_mac_derive_keys (secret, "test", 1, 2, KAT_NONCE_D, KAT_NONCE_A, keys);
}

static void
test_mac_key_derivation (void)
{
  DsmFrameKeys keys;

  g_test_summary ("The per-connection, per-direction keys are HKDF-SHA256 of the secret, salted by both "
                  "nonces, as computed independently by Python and openssl.");
  kat_keys (&keys);
  g_autofree char *d2a = hex (keys.dialer_to_acceptor, sizeof keys.dialer_to_acceptor);
  g_autofree char *a2d = hex (keys.acceptor_to_dialer, sizeof keys.acceptor_to_dialer);
  g_assert_cmpstr (d2a, ==, KAT_D2A);
  g_assert_cmpstr (a2d, ==, KAT_A2D);

  /* Another nonce, node or cluster gives other keys. */
  g_autoptr(GBytes) secret = g_bytes_new_static (KAT_SECRET, strlen (KAT_SECRET));
  DsmFrameKeys other;
  dsm_frame_mac_derive_keys (secret, "test", 1, 2, KAT_NONCE_A, KAT_NONCE_D, &other);
  g_assert_true (memcmp (other.dialer_to_acceptor, keys.dialer_to_acceptor, sizeof keys.dialer_to_acceptor) != 0);
  dsm_frame_mac_derive_keys (secret, "test", 1, 3, KAT_NONCE_D, KAT_NONCE_A, &other);
  g_assert_true (memcmp (other.dialer_to_acceptor, keys.dialer_to_acceptor, sizeof keys.dialer_to_acceptor) != 0);
  dsm_frame_mac_derive_keys (secret, "prod", 1, 2, KAT_NONCE_D, KAT_NONCE_A, &other);
  g_assert_true (memcmp (other.dialer_to_acceptor, keys.dialer_to_acceptor, sizeof keys.dialer_to_acceptor) != 0);
}

static void
test_mac_tags (void)
{
  DsmFrameKeys keys;
  guint8 tag[DSM_FRAME_MAC_TAG_BYTES];

  g_test_summary ("A frame's tag is HMAC-SHA256 over seq, length and payload, cut to 16 bytes; seq "
                  "counts the frames of one direction from 0.");
  kat_keys (&keys);
  g_autoptr(DsmFrameMac) mac = dsm_frame_mac_new (keys.dialer_to_acceptor);
  dsm_frame_mac_tag (mac, 0, KAT_PAYLOAD, strlen (KAT_PAYLOAD), tag);
  g_autofree char *t0 = hex (tag, sizeof tag);
  g_assert_cmpstr (t0, ==, KAT_TAG_0);

  g_autoptr(GBytes) f0 = dsm_frame_mac_seal (mac, KAT_PAYLOAD, strlen (KAT_PAYLOAD));
  g_autoptr(GBytes) f1 = dsm_frame_mac_seal (mac, KAT_PAYLOAD, strlen (KAT_PAYLOAD));
  const guint8 *p0 = g_bytes_get_data (f0, NULL), *p1 = g_bytes_get_data (f1, NULL);
  g_assert_cmpuint (g_bytes_get_size (f0), ==, DSM_FRAME_SEALED_HEADER_BYTES + strlen (KAT_PAYLOAD));
  g_assert_cmpmem (p0, 4, "\0\0\0\x11", 4);
  g_autofree char *h0 = hex (p0 + 4, 16), *h1 = hex (p1 + 4, 16);
  g_assert_cmpstr (h0, ==, KAT_TAG_0);
  g_assert_cmpstr (h1, ==, KAT_TAG_1);
  g_assert_cmpmem (p0 + DSM_FRAME_SEALED_HEADER_BYTES, strlen (KAT_PAYLOAD), KAT_PAYLOAD, strlen (KAT_PAYLOAD));
  g_assert_cmpuint (dsm_frame_mac_get_seq (mac), ==, 2);
}

static void
test_mac_tags_large (void)
{
  DsmFrameKeys keys;
  guint8 tag[DSM_FRAME_MAC_TAG_BYTES];
  g_autofree guint8 *payload = g_malloc (KAT_LARGE_BYTES);

  g_test_summary ("Tags of a 16 KiB binary payload match the known answers, at seq 0, 1 and 5, with "
                  "a small frame's tag computed in between: each tag starts from the bare key.");
  for (guint i = 0; i < KAT_LARGE_BYTES; i++)
    payload[i] = (guint8) ((i * 31 + 7) % 251);
  kat_keys (&keys);
  g_autoptr(DsmFrameMac) mac = dsm_frame_mac_new (keys.dialer_to_acceptor);
  g_autoptr(GBytes) f0 = dsm_frame_mac_seal (mac, payload, KAT_LARGE_BYTES);
  dsm_frame_mac_tag (mac, 0, KAT_PAYLOAD, strlen (KAT_PAYLOAD), tag);
  g_autofree char *small = hex (tag, sizeof tag);
  g_autoptr(GBytes) f1 = dsm_frame_mac_seal (mac, payload, KAT_LARGE_BYTES);
  dsm_frame_mac_tag (mac, 5, payload, KAT_LARGE_BYTES, tag);
  g_autofree char *t5 = hex (tag, sizeof tag);
  g_autofree char *h0 = hex ((const guint8 *) g_bytes_get_data (f0, NULL) + 4, 16);
  g_autofree char *h1 = hex ((const guint8 *) g_bytes_get_data (f1, NULL) + 4, 16);
  g_assert_cmpstr (h0, ==, KAT_LARGE_TAG_0);
  g_assert_cmpstr (small, ==, KAT_TAG_0);
  g_assert_cmpstr (h1, ==, KAT_LARGE_TAG_1);
  g_assert_cmpstr (t5, ==, KAT_LARGE_TAG_5);
}

/* A reader opening what the dialer sealed, as the acceptor does. */
static DsmFrameReader *
sealed_reader (const DsmFrameKeys *keys, gboolean reflected)
{
  DsmFrameReader *reader = dsm_frame_reader_new (1024);

  dsm_frame_reader_set_mac (reader, dsm_frame_mac_new (reflected ? keys->acceptor_to_dialer
                                                                 : keys->dialer_to_acceptor));
  return reader;
}

/* Pushes @frames (in that order) and pops until an error; returns the
 * number of payloads that came out, the error in @error. */
static guint
sealed_pop_all (DsmFrameReader *reader, GBytes **frames, guint n, GError **error)
{
  guint got = 0;
  GBytes *payload = NULL;

  for (guint i = 0; i < n; i++)
    dsm_frame_reader_push (reader, g_bytes_get_data (frames[i], NULL), g_bytes_get_size (frames[i]));
  while (dsm_frame_reader_pop (reader, &payload, error))
    {
      got++;
      g_bytes_unref (payload);
    }
  g_assert_null (payload);
  return got;
}

static void
test_mac_refuses_tampering (void)
{
  DsmFrameKeys keys;
  const char *texts[] = { "{\"a\":1}", "{\"b\":2}", "{\"c\":3}" };
  GBytes *frames[3];

  g_test_summary ("A sealed reader passes frames in order and refuses, with no payload, a bit flipped "
                  "anywhere, a frame replayed, dropped or reordered, and a frame reflected back to its "
                  "sender (the other direction's key).");
  kat_keys (&keys);
  g_autoptr(DsmFrameMac) sender = dsm_frame_mac_new (keys.dialer_to_acceptor);
  for (guint i = 0; i < 3; i++)
    frames[i] = dsm_frame_mac_seal (sender, texts[i], strlen (texts[i]));

  struct {
    const char *name;
    guint order[4];
    guint n;
    gboolean reflected;
    guint good;               /* payloads out before the refusal (3: no refusal) */
  } cases[] = {
    { "in order", { 0, 1, 2 }, 3, FALSE, 3 },
    { "replayed", { 0, 0 }, 2, FALSE, 1 },
    { "dropped", { 0, 2 }, 2, FALSE, 1 },
    { "reordered", { 1, 0 }, 2, FALSE, 0 },
    { "reflected", { 0 }, 1, TRUE, 0 },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(DsmFrameReader) reader = sealed_reader (&keys, cases[c].reflected);
      g_autoptr(GError) error = NULL;
      GBytes *seq[4];
      for (guint i = 0; i < cases[c].n; i++)
        seq[i] = frames[cases[c].order[i]];
      guint got = sealed_pop_all (reader, seq, cases[c].n, &error);
      g_assert_cmpuint (got, ==, cases[c].good);
      if (cases[c].good == cases[c].n)
        g_assert_no_error (error);
      else
        g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_MAC);
    }

  /* Every single bit of a frame, flipped, is refused (the length's bits
   * as a bad MAC, a length out of bounds or a frame never completed). */
  gsize size = g_bytes_get_size (frames[0]);
  for (gsize bit = 0; bit < size * 8; bit++)
    {
      g_autoptr(DsmFrameReader) reader = sealed_reader (&keys, FALSE);
      g_autoptr(GError) error = NULL;
      g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (frames[0], NULL), size);
      copy[bit / 8] ^= (guint8) (1u << (bit % 8));
      g_autoptr(GBytes) flipped = g_bytes_new (copy, size);
      g_assert_cmpuint (sealed_pop_all (reader, &flipped, 1, &error), ==, 0);
      if (bit >= 32)
        g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_MAC);
    }
  for (guint i = 0; i < 3; i++)
    g_bytes_unref (frames[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/frame/round-trip-byte-by-byte", test_round_trip_byte_by_byte);
  g_test_add_func ("/net/frame/header-layout", test_header_layout);
  g_test_add_func ("/net/frame/oversized-refused-at-header", test_oversized_refused_at_header);
  g_test_add_func ("/net/frame/empty-refused", test_empty_refused);
  g_test_add_func ("/net/frame/checksum-mismatch", test_checksum_mismatch);
  g_test_add_func ("/net/frame/garbage", test_garbage);
  g_test_add_func ("/net/frame-mac/key-derivation", test_mac_key_derivation);
  g_test_add_func ("/net/frame-mac/tags", test_mac_tags);
  g_test_add_func ("/net/frame-mac/tags-large", test_mac_tags_large);
  g_test_add_func ("/net/frame-mac/refuses-tampering", test_mac_refuses_tampering);
  g_test_add_func ("/net/handshake/with-secret", test_handshake_with_secret);
  g_test_add_func ("/net/handshake/wrong-secret", test_handshake_wrong_secret);
  g_test_add_func ("/net/handshake/refusals", test_handshake_refusals);
  g_test_add_func ("/net/handshake/malformed", test_handshake_malformed);
  g_test_add_func ("/net/handshake/refuse-reaches-dialer", test_handshake_refuse_reaches_dialer);
  g_test_add_func ("/net/handshake/refuse-long-detail", test_handshake_refuse_long_detail);
  return g_test_run ();
}
