/* tests/net/test-frame.c: the peer framing (length, CRC-32, payload) and
 * the handshake's encoding, parsing and checks, without sockets. */
#include <string.h>

#include "config.h"
#include "frame.h"
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

static DsmConfig *
config_with_secret (const char *secret)
{
  DsmConfig *config = dsm_config_new_default (3);

  g_free (config->secret);
  config->secret = g_strdup (secret);
  return config;
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
  g_autoptr(DsmConfig) config = config_with_secret ("s3cret");
  char nd[DSM_HANDSHAKE_NONCE_HEX + 1], na[DSM_HANDSHAKE_NONCE_HEX + 1];
  g_autoptr(GError) error = NULL;

  g_test_summary ("Dialer 1 and acceptor 2 with the same secret accept each other's proofs.");
  dsm_handshake_new_nonce (nd);
  dsm_handshake_new_nonce (na);
  g_assert_cmpstr (nd, !=, na);
  DsmHandshake hello = { .kind = DSM_HANDSHAKE_HELLO, .protocol = DSM_PROTOCOL_VERSION,
                         .cluster_id = config->cluster_id, .from = 1, .to = 2, .nonce = nd, .auth = TRUE };
  g_autoptr(DsmHandshake) hello2 = round_trip (&hello, DSM_HANDSHAKE_HELLO);
  g_assert_true (dsm_handshake_check_hello (config, 2, hello2, &error));
  g_assert_no_error (error);

  g_autofree char *proof_a = dsm_handshake_proof ("s3cret", "welcome", config->cluster_id, 1, 2, nd, na);
  DsmHandshake welcome = { .kind = DSM_HANDSHAKE_WELCOME, .protocol = DSM_PROTOCOL_VERSION,
                           .cluster_id = config->cluster_id, .from = 2, .to = 1, .nonce = na, .proof = proof_a };
  g_autoptr(DsmHandshake) welcome2 = round_trip (&welcome, DSM_HANDSHAKE_WELCOME);
  g_assert_true (dsm_handshake_check_welcome (config, 1, 2, nd, welcome2, &error));
  g_assert_no_error (error);

  g_autofree char *proof_d = dsm_handshake_proof ("s3cret", "ready", config->cluster_id, 1, 2, nd, na);
  DsmHandshake ready = { .kind = DSM_HANDSHAKE_READY, .proof = proof_d };
  g_autoptr(DsmHandshake) ready2 = round_trip (&ready, DSM_HANDSHAKE_READY);
  g_assert_true (dsm_handshake_check_ready (config, 2, 1, nd, na, ready2, &error));
  g_assert_no_error (error);

  /* A welcome proof replayed as a ready proof fails: the role is signed. */
  DsmHandshake replay = { .kind = DSM_HANDSHAKE_READY, .proof = proof_a };
  g_assert_false (dsm_handshake_check_ready (config, 2, 1, nd, na, &replay, &error));
  g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH);
}

static void
test_handshake_wrong_secret (void)
{
  g_autoptr(DsmConfig) ours = config_with_secret ("alpha");
  g_autoptr(GError) error = NULL;
  char nd[DSM_HANDSHAKE_NONCE_HEX + 1], na[DSM_HANDSHAKE_NONCE_HEX + 1];

  g_test_summary ("A proof made with another secret is refused as AUTH.");
  dsm_handshake_new_nonce (nd);
  dsm_handshake_new_nonce (na);
  g_autofree char *proof = dsm_handshake_proof ("beta", "ready", ours->cluster_id, 1, 2, nd, na);
  DsmHandshake ready = { .kind = DSM_HANDSHAKE_READY, .proof = proof };
  g_assert_false (dsm_handshake_check_ready (ours, 2, 1, nd, na, &ready, &error));
  g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH);
  g_clear_error (&error);

  DsmHandshake none = { .kind = DSM_HANDSHAKE_READY };
  g_assert_false (dsm_handshake_check_ready (ours, 2, 1, nd, na, &none, &error));
  g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH);
}

static void
test_handshake_refusals (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  char nd[DSM_HANDSHAKE_NONCE_HEX + 1];
  struct {
    const char *cluster;
    DsmNodeId from, to;
    guint protocol;
    gboolean auth;
    DsmNetError code;
  } cases[] = {
    { "other", 1, 2, DSM_PROTOCOL_VERSION, FALSE, DSM_NET_ERROR_WRONG_CLUSTER },
    { NULL, 9, 2, DSM_PROTOCOL_VERSION, FALSE, DSM_NET_ERROR_UNKNOWN_NODE },
    { NULL, 2, 2, DSM_PROTOCOL_VERSION, FALSE, DSM_NET_ERROR_UNKNOWN_NODE },
    { NULL, 1, 3, DSM_PROTOCOL_VERSION, FALSE, DSM_NET_ERROR_UNKNOWN_NODE },
    { NULL, 1, 2, 99, FALSE, DSM_NET_ERROR_VERSION },
    { NULL, 1, 2, DSM_PROTOCOL_VERSION, TRUE, DSM_NET_ERROR_AUTH },
  };

  g_test_summary ("The acceptor refuses another cluster, unknown or self ids, a misdialed node, "
                  "another protocol version and a secret on one side only.");
  dsm_handshake_new_nonce (nd);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      DsmHandshake hello = { .kind = DSM_HANDSHAKE_HELLO, .protocol = cases[i].protocol,
                             .cluster_id = cases[i].cluster ? (char *) cases[i].cluster : config->cluster_id,
                             .from = cases[i].from, .to = cases[i].to, .nonce = nd, .auth = cases[i].auth };
      g_assert_false (dsm_handshake_check_hello (config, 2, &hello, &error));
      g_assert_error (error, DSM_NET_ERROR, (gint) cases[i].code);
    }
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
  };

  g_test_summary ("Malformed hellos (not JSON, wrong shapes, wrong types, bad nonces, unknown keys) are HANDSHAKE errors.");
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
  g_test_add_func ("/net/handshake/with-secret", test_handshake_with_secret);
  g_test_add_func ("/net/handshake/wrong-secret", test_handshake_wrong_secret);
  g_test_add_func ("/net/handshake/refusals", test_handshake_refusals);
  g_test_add_func ("/net/handshake/malformed", test_handshake_malformed);
  g_test_add_func ("/net/handshake/refuse-reaches-dialer", test_handshake_refuse_reaches_dialer);
  return g_test_run ();
}
