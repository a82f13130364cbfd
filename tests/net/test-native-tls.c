/* tests/net/test-native-tls.c: TLS on the native port (docs/CLIENT.md,
 * "TLS") on a real dsm-node whose HTTP port has TLS: libdsm-client (through
 * dsmctl --native-tls) trusting the right CA, a wrong CA and a wrong name
 * refused, a plain client told so in a plain frame and counted, and raw
 * frames over TLS (a bad frame still closes cleanly). */
#include <string.h>

#include "native-raw.h"

#define BUDGET_MS 30000
/* dsmctl's --timeout where the certificate is refused: long, because the
 * refusal must end dsmctl at the first handshake, not at the timeout (it
 * retried every 100 ms until then before).  The node's count of failed
 * handshakes tells how many were tried. */
#define REFUSED_TIMEOUT_S "30"
#define POLL_US 10000
#define WRITE_TOKEN "write-token-0123456789abcdef"
#define TOKENS "write " WRITE_TOKEN " writer\n"

static Cluster *cluster;
static char *ca;
static char *rogue_ca;

static char *
tls_address (void)
{
  return cluster_native_address (cluster, 1);
}

static double
tls_metric (const char *name, const char *labels)
{
  g_autofree char *key = g_strdup_printf ("%s{node=\"1\"%s}", name, labels);
  return cluster_metric (cluster, 1, key);
}

static void
test_handshake (void)
{
  g_autofree char *address = tls_address ();
  g_autofree char *out = NULL, *err = NULL;

  g_test_summary ("dsmctl --native --native-tls trusting the cluster's CA proposes and reads through "
                  "libdsm-client over TLS, the node's certificate verified for 127.0.0.1 and for the name "
                  "--tls-server-name gives.");
  cluster_wait_leader (cluster, BUDGET_MS);
  g_assert_cmpint (cluster_dsmctl_run (TRUE, &out, &err, "--native", address, "--native-tls", "--cacert", ca, "--token",
                               WRITE_TOKEN, "--timeout", "30", "propose", "tls-a", "Running", "--payload",
                               "{\"by\": \"tls\"}", NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "tls-a: Running (index "));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl_run (TRUE, &out, &err, "--native", address, "--native-tls", "--cacert", ca, "--tls-server-name",
                               "localhost", "--token", WRITE_TOKEN, "--timeout", "30", "get", "tls-a", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "data {\"by\":\"tls\"}"));
}

/* Waits until node 1 has counted at least @want failed handshakes; returns
 * the count then. */
static double
wait_handshake_failures (double want)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) BUDGET_MS * 1000;
  double seen;

  while ((seen = tls_metric ("dsm_native_tls_handshake_failures_total", "")) < want
         && g_get_monotonic_time () < deadline)
    g_usleep (POLL_US);
  return seen;
}

static void
test_wrong_ca (void)
{
  g_autofree char *address = tls_address ();
  g_autofree char *out = NULL, *err = NULL;
  double before = tls_metric ("dsm_native_tls_handshake_failures_total", "");

  g_test_summary ("A client trusting another CA, or expecting another name, refuses the node's certificate: "
                  "nothing is sent, dsmctl exits 3 (unavailable) naming the certificate after one handshake, "
                  "not at --timeout, and the node counts exactly those failed handshakes.");
  cluster_wait_leader (cluster, BUDGET_MS);
  g_assert_cmpint (cluster_dsmctl_run (TRUE, &out, &err, "--native", address, "--native-tls", "--cacert", rogue_ca, "--token",
                               WRITE_TOKEN, "--timeout", REFUSED_TIMEOUT_S, "get", "tls-a", NULL), ==, 3);
  g_assert_nonnull (strstr (err, "ertificate"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpfloat (wait_handshake_failures (before + 1), ==, before + 1);
  g_assert_cmpint (cluster_dsmctl_run (TRUE, &out, &err, "--native", address, "--native-tls", "--cacert", ca, "--tls-server-name",
                               "node-9.elsewhere", "--token", WRITE_TOKEN, "--timeout", REFUSED_TIMEOUT_S, "get", "tls-a", NULL),
                   ==, 3);
  g_assert_nonnull (strstr (err, "ertificate"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpfloat (wait_handshake_failures (before + 2), ==, before + 2);
  /* Listed twice, the node is tried twice: every node gets its chance. */
  {
    g_autofree char *twice = g_strdup_printf ("%s,%s", address, address);
    g_assert_cmpint (cluster_dsmctl_run (TRUE, &out, &err, "--native", twice, "--native-tls", "--cacert", rogue_ca, "--token",
                                 WRITE_TOKEN, "--timeout", REFUSED_TIMEOUT_S, "get", "tls-a", NULL), ==, 3);
    g_assert_nonnull (strstr (err, "ertificate"));
    g_assert_cmpfloat (wait_handshake_failures (before + 4), ==, before + 4);
  }
}

static void
test_plain_client (void)
{
  g_autofree char *address = tls_address ();
  g_autofree char *out = NULL, *err = NULL;
  NativeRaw *raw;
  DsmWireMsg hello = { .type = DSM_WIRE_HELLO, .id = 1, .version = DSM_WIRE_VERSION, .token = (char *) WRITE_TOKEN };

  g_test_summary ("A plain client on the TLS port gets one plain error frame, tls_required, before the node "
                  "closes (libdsm-client fails at once, no retry helps), and the node counts it and keeps "
                  "serving TLS clients.");
  cluster_wait_leader (cluster, BUDGET_MS);
  raw = native_raw_connect (cluster, 1);
  native_raw_send (raw, &hello);
  native_raw_expect_error (raw, "tls_required", TRUE);
  native_raw_free (raw);
  g_assert_cmpint (cluster_dsmctl_run (TRUE, &out, &err, "--native", address, "--token", WRITE_TOKEN, "--timeout", "30", "get",
                               "tls-a", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "tls_required"));
  g_assert_cmpfloat (tls_metric ("dsm_native_errors_total", ",code=\"tls_required\""), >=, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl_run (TRUE, &out, &err, "--native", address, "--native-tls", "--cacert", ca, "--token",
                               WRITE_TOKEN, "--timeout", "30", "get", "tls-a", NULL), ==, 0);
  cluster_assert_running (cluster);
}

static void
test_stalled_hello (void)
{
  NativeRaw *raw;
  /* A TLS record header announcing an 80-byte ClientHello, and no more. */
  static const guint8 head[] = { 0x16, 0x03, 0x01, 0x00, 0x50 };
  guint8 buf[64];
  double before = tls_metric ("dsm_native_timeouts_total", ",kind=\"hello\"");
  g_autoptr(GError) error = NULL;

  g_test_summary ("A ClientHello cut short holds no handshake thread: the node waits for the rest (looking again "
                  "on its sweep, not spinning on epoll) and closes the connection, without a frame, after "
                  "native.hello_timeout_ms, counting the timeout.");
  cluster_wait_leader (cluster, BUDGET_MS);
  raw = native_raw_connect (cluster, 1);
  native_raw_send_bytes (raw, head, sizeof head);
  /* The end, or a reset (the bytes the node only peeked at are unread). */
  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (raw->stream), buf, sizeof buf, NULL, &error),
                   <=, 0);
  if (error != NULL)
    g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
  native_raw_free (raw);
  g_assert_cmpfloat (tls_metric ("dsm_native_timeouts_total", ",kind=\"hello\""), >=, before + 1);
}

static void
test_bad_frame_over_tls (void)
{
  g_autoptr(GSocketClient) sc = g_socket_client_new ();
  g_autoptr(GTlsDatabase) db = NULL;
  g_autoptr(GSocketConnection) tcp = NULL;
  g_autoptr(GSocketConnectable) identity = g_network_address_new ("127.0.0.1", cluster->native_port[1]);
  g_autoptr(GError) error = NULL;
  g_autofree char *address = tls_address ();
  GIOStream *tls;
  NativeRaw *raw;

  g_test_summary ("Raw frames over TLS: a hello and a transition are answered, then a frame with a bad CRC gets "
                  "bad_frame and the end of the stream (the close works without a plain shutdown).");
  cluster_wait_leader (cluster, BUDGET_MS);
  db = g_tls_file_database_new (ca, &error);
  g_assert_no_error (error);
  tcp = g_socket_client_connect_to_host (sc, address, 0, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (tcp), CLUSTER_REQUEST_TIMEOUT_S);
  tls = g_tls_client_connection_new (G_IO_STREAM (tcp), identity, &error);
  g_assert_no_error (error);
  g_tls_connection_set_database (G_TLS_CONNECTION (tls), db);
  g_assert_true (g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &error));
  g_assert_no_error (error);
  raw = native_raw_new (tls);
  native_raw_hello (raw, WRITE_TOKEN);
  {
    DsmWireMsg m = native_raw_transition (2, "tls-raw", "Running");
    native_raw_expect_ok (raw, &m, NULL);
  }
  {
    DsmWireMsg m = native_raw_transition (3, "tls-raw", "Stopped");
    g_autoptr(GByteArray) frame = g_byte_array_new ();
    dsm_wire_encode (&m, frame);
    frame->data[frame->len - 1] ^= 0x40;
    native_raw_send_bytes (raw, frame->data, frame->len);
    native_raw_expect_error (raw, "bad_frame", TRUE);
  }
  native_raw_free (raw);
}

int
main (int argc, char **argv)
{
  g_autofree char *certs = NULL;
  g_autofree char *rogue = NULL;
  g_autofree char *out = NULL, *err = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  /* No GLib pool thread may end while this process exits.  The TLS
   * handshakes run in GTask's pool, whose idle threads end on their own
   * (half a second without work, then beyond the global pool's limit of
   * unused threads or its idle time), and LeakSanitizer, stopping every
   * thread at exit, once crashed tracing one that was ending ("Tracer
   * caught signal 11").  With no limit and no idle time, an idle thread
   * waits for work until the process ends. */
  g_thread_pool_set_max_unused_threads (-1);
  g_thread_pool_set_max_idle_time (0);
  g_test_add_func ("/net/native/tls/handshake", test_handshake);
  g_test_add_func ("/net/native/tls/wrong-ca-or-name", test_wrong_ca);
  g_test_add_func ("/net/native/tls/plain-client-refused", test_plain_client);
  g_test_add_func ("/net/native/tls/stalled-client-hello", test_stalled_hello);
  g_test_add_func ("/net/native/tls/bad-frame-over-tls", test_bad_frame_over_tls);
  cluster = cluster_prepare (1, "\"http\": { \"tls_cert_file\": \"certs/http-{id}.crt\", "
                                "\"tls_key_file\": \"certs/http-{id}.key\", \"token_file\": \"tokens\", "
                                "\"open_paths\": [\"/metrics\"] }, \"native\": { \"hello_timeout_ms\": 1000 }");
  certs = g_build_filename (cluster->dir, "certs", NULL);
  rogue = g_build_filename (cluster->dir, "rogue", NULL);
  {
    const char *make[] = { g_getenv ("DSM_CERTS"), "cluster", "--dir", certs, "--cluster", "test", "-n", "1", NULL };
    const char *other[] = { g_getenv ("DSM_CERTS"), "http", "--dir", rogue, "1", NULL };
    g_assert_cmpint (cluster_run_tool (make, &out, &err), ==, 0);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    /* Another CA, with a certificate for the same addresses. */
    g_assert_cmpint (cluster_run_tool (other, &out, &err), ==, 0);
  }
  ca = g_build_filename (certs, "ca.crt", NULL);
  rogue_ca = g_build_filename (rogue, "ca.crt", NULL);
  g_free (cluster_write_file (cluster, "tokens", TOKENS, 0600));
  cluster_use_tls (cluster, ca);
  cluster_set_token (cluster, WRITE_TOKEN);
  cluster_start_all (cluster);
  status = g_test_run ();
  cluster_free_after_run (cluster, status);
  g_free (ca);
  g_free (rogue_ca);
  return status;
}
