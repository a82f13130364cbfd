/* tests/net/test-peer-security.c: live transports on 127.0.0.1:0 with
 * mutual TLS and with sealed frames, against peers that hold the wrong
 * certificate, claim another id or tamper with sealed frames; after each,
 * the real peers talk. */
#include <string.h>

#include "codec.h"
#include "fingerprint.h"
#include "frame.h"
#include "frame-mac.h"
#include "handshake.h"
#include "peer-pair.h"
#include "transport.h"

#define SECRET "peer-security-test-secret"

typedef struct {
  gboolean tls;
  const char *secret;
} Mode;

typedef struct {
  PeerPair pair;
} Fixture;

/* dsm-certs output, made once for all the cases (openssl takes seconds):
 * ca, peer-1..3; other/: another CA and its peer-3. */
static char *certs_dir;

static void
run_certs (const char *dir, const char *args)
{
  g_autofree char *command = g_strdup_printf ("%s %s --dir %s", g_getenv ("DSM_CERTS"), args, dir);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_nonnull (g_getenv ("DSM_CERTS"));
  g_assert_true (g_spawn_command_line_sync (command, &out, &err, &status, &error));
  g_assert_no_error (error);
  if (status != 0)
    g_error ("%s: %s", command, err);
}

static void
make_certs (void)
{
  g_autoptr(GError) error = NULL;

  certs_dir = g_dir_make_tmp ("dsm-peer-security-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *other = g_build_filename (certs_dir, "other", NULL);
  run_certs (certs_dir, "peer --cluster dsm 1 2 3");
  run_certs (other, "peer --cluster dsm 3");
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  const Mode *mode = data;
  DsmConfig *config = dsm_config_new_default (3);
  DsmTransportOptions options;

  config->reconnect_ms_min = 10;
  config->reconnect_ms_max = 100;
  config->secret = g_strdup (mode->secret);
  config->insecure = !mode->tls && mode->secret == NULL;
  dsm_transport_options_init (&options);
  if (mode->tls)
    {
      config->peer_tls_ca_file = g_build_filename (certs_dir, "ca.crt", NULL);
      config->peer_tls_cert_file = g_build_filename (certs_dir, "peer-{id}.crt", NULL);
      config->peer_tls_key_file = g_build_filename (certs_dir, "peer-{id}.key", NULL);
      /* No case here waits for a handshake deadline; a TLS handshake
       * must not hit one on a busy machine under sanitizers. */
      options.handshake_timeout_ms = PEER_PAIR_TLS_HANDSHAKE_MS;
    }
  peer_pair_init (&f->pair, config, &options);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  peer_pair_clear (&f->pair);
}

static guint64
metric (Fixture *f, const char *name, const char *labels)
{
  return peer_pair_metric (f->pair.t[1], name, labels);
}

static void
start_both (Fixture *f)
{
  dsm_transport_start (f->pair.t[1]);
  dsm_transport_start (f->pair.t[2]);
  peer_pair_assert_delivers (&f->pair, 1, 2, 1);
  peer_pair_assert_delivers (&f->pair, 2, 1, 2);
}

/* ---- a hostile peer, in a thread with blocking sockets ---- */

typedef enum {
  ATTACK_TLS_AS_3,        /* TLS with a certificate (ours or another CA's), hello as node 3 */
  ATTACK_TLS_CLAIM_2,     /* TLS with node 3's good certificate, hello as node 2 */
  ATTACK_PLAIN_HELLO,     /* a plaintext hello to a TLS port */
  ATTACK_SEALED,          /* the secret, a real handshake as node 3, then sealed frames */
} Attack;

typedef enum {
  TAMPER_REPLAY,          /* a good frame, then the same bytes again */
  TAMPER_FLIP,            /* a good frame with one payload bit flipped */
  TAMPER_REFLECT,         /* sealed with the acceptor-to-dialer key */
} Tamper;

typedef struct {
  Fixture *f;
  Attack attack;
  Tamper tamper;
  gboolean other_ca;
  char *reply;            /* the first frame back, if any */
  gboolean done;
} Hostile;

static gboolean
hostile_accept_any (GTlsConnection *conn, GTlsCertificate *cert, GTlsCertificateFlags errors, gpointer data)
{
  return TRUE;  /* the attacker does not care who node 1 is */
}

static GIOStream *
hostile_tls (Hostile *h, GSocketConnection *conn)
{
  const char *dir = h->other_ca ? "other" : ".";
  g_autofree char *cert_path = g_build_filename (certs_dir, dir, "peer-3.crt", NULL);
  g_autofree char *key_path = g_build_filename (certs_dir, dir, "peer-3.key", NULL);
  g_autoptr(GTlsCertificate) cert = g_tls_certificate_new_from_files (cert_path, key_path, NULL);
  g_autoptr(GIOStream) tls = g_tls_client_connection_new (G_IO_STREAM (conn), NULL, NULL);

  g_assert_nonnull (cert);
  g_assert_nonnull (tls);
  g_tls_connection_set_certificate (G_TLS_CONNECTION (tls), cert);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (hostile_accept_any), NULL);
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, NULL))
    return NULL;
  return g_steal_pointer (&tls);
}

static void
hostile_sealed (Hostile *h, GInputStream *in, GOutputStream *out)
{
  g_autoptr(GBytes) secret = g_bytes_new_static (SECRET, strlen (SECRET));
  char nonce_d[DSM_HANDSHAKE_NONCE_HEX + 1], nonce_a[DSM_HANDSHAKE_NONCE_HEX + 1];
  DsmFrameKeys keys;

  g_autofree char *fingerprint = dsm_fingerprint_compute (h->f->pair.config);
  peer_pair_handshake_as (in, out, 3, 1, fingerprint, secret, nonce_d, nonce_a);
  dsm_frame_mac_derive_keys (secret, "dsm", 3, 1, nonce_d, nonce_a, &keys);
  g_autoptr(DsmFrameMac) mac = dsm_frame_mac_new (h->tamper == TAMPER_REFLECT ? keys.acceptor_to_dialer
                                                                             : keys.dialer_to_acceptor);
  g_autoptr(DsmMessage) msg = peer_pair_commit_message (3, 1, 777);
  g_autofree char *text = dsm_codec_encode_message (msg);
  g_autoptr(GBytes) frame = dsm_frame_mac_seal (mac, text, strlen (text));
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  g_byte_array_append (bytes, g_bytes_get_data (frame, NULL), (guint) g_bytes_get_size (frame));
  if (h->tamper == TAMPER_FLIP)
    bytes->data[bytes->len - 3] ^= 0x04;
  if (h->tamper == TAMPER_REPLAY)
    g_byte_array_append (bytes, g_bytes_get_data (frame, NULL), (guint) g_bytes_get_size (frame));
  g_output_stream_write_all (out, bytes->data, bytes->len, NULL, NULL, NULL);
}

static gpointer
hostile_thread (gpointer data)
{
  Hostile *h = data;
  g_autoptr(GSocketConnection) conn = peer_pair_connect (h->f->pair.port[1]);
  g_autoptr(GIOStream) stream = G_IO_STREAM (g_object_ref (conn));

  if (h->attack == ATTACK_TLS_AS_3 || h->attack == ATTACK_TLS_CLAIM_2)
    {
      g_clear_object (&stream);
      stream = hostile_tls (h, conn);
    }
  if (stream != NULL)
    {
      GInputStream *in = g_io_stream_get_input_stream (stream);
      GOutputStream *out = g_io_stream_get_output_stream (stream);
      if (h->attack == ATTACK_SEALED)
        hostile_sealed (h, in, out);
      else
        {
          char nonce[DSM_HANDSHAKE_NONCE_HEX + 1];
          dsm_handshake_new_nonce (nonce);
          g_autofree char *fingerprint = dsm_fingerprint_compute (h->f->pair.config);
          DsmHandshake hello = { .kind = DSM_HANDSHAKE_HELLO, .protocol = DSM_PROTOCOL_VERSION,
                                 .cluster_id = (char *) "dsm", .fingerprint = fingerprint, .to = 1, .nonce = nonce,
                                 .from = h->attack == ATTACK_TLS_CLAIM_2 ? 2 : 3 };
          g_autofree char *text = dsm_handshake_encode (&hello);
          peer_pair_write_frame (out, text);
          g_autoptr(GBytes) reply = peer_pair_read_frame (in, 64 * 1024);
          if (reply != NULL)
            h->reply = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
        }
      /* Until node 1 closes on us; a welcome needs no more (we close). */
      if (h->reply == NULL || strstr (h->reply, "\"welcome\"") == NULL)
        peer_pair_read_to_close (in);
    }
  g_atomic_int_set (&h->done, TRUE);
  return NULL;
}

static gboolean
hostile_done (PeerPair *p, gpointer data)
{
  return g_atomic_int_get (&((Hostile *) data)->done);
}

/* Runs @h against node 1 until it is closed on. */
static void
hostile_run (Fixture *f, Hostile *h)
{
  h->f = f;
  GThread *thread = g_thread_new ("hostile", hostile_thread, h);
  g_assert_true (peer_pair_wait (&f->pair, hostile_done, h));
  g_thread_join (thread);
}

/* ... and asserts node 1 counted it once in @metric_name{@labels}. */
static void
hostile_run_counted (Fixture *f, Hostile *h, const char *metric_name, const char *labels)
{
  guint64 before = metric (f, metric_name, labels);

  hostile_run (f, h);
  g_assert_cmpuint (metric (f, metric_name, labels), ==, before + 1);
}

/* ---- behaviours ---- */

static void
test_connect (Fixture *f, gconstpointer data)
{
  const Mode *mode = data;
  g_autofree char *label = g_strdup_printf ("node=\"1\",mode=\"%s\"",
                                            mode->tls ? (mode->secret ? "tls+secret" : "tls") : "secret");

  g_test_summary ("Two transports with this mode connect and carry messages both ways, and say which "
                  "mode in their metrics.");
  start_both (f);
  g_assert_cmpuint (metric (f, "dsm_net_peer_auth", label), ==, 1);
  g_assert_cmpuint (metric (f, "dsm_net_insecure", "node=\"1\""), ==, 0);
}

static void
test_tls_untrusted (Fixture *f, gconstpointer data)
{
  Hostile h = { .attack = ATTACK_TLS_AS_3, .other_ca = TRUE };

  g_test_summary ("A peer whose certificate another CA signed fails the TLS handshake; real peers talk on.");
  start_both (f);
  hostile_run_counted (f, &h, "dsm_net_handshake_failures_total", "node=\"1\",reason=\"tls\"");
  g_assert_null (h.reply);
  peer_pair_assert_delivers (&f->pair, 2, 1, 3);
}

static void
test_tls_wrong_id (Fixture *f, gconstpointer data)
{
  Hostile h = { .attack = ATTACK_TLS_CLAIM_2 };

  g_test_summary ("A peer with a valid certificate for node 3 that claims to be node 2 is refused as "
                  "auth, and the refusal reaches it before the close.");
  start_both (f);
  hostile_run_counted (f, &h, "dsm_net_handshake_failures_total", "node=\"1\",reason=\"auth\"");
  g_assert_nonnull (h.reply);
  g_assert_nonnull (strstr (h.reply, "\"refuse\""));
  g_assert_nonnull (strstr (h.reply, "node-3.dsm"));
  g_free (h.reply);
  peer_pair_assert_delivers (&f->pair, 2, 1, 4);
}

static void
test_tls_plaintext (Fixture *f, gconstpointer data)
{
  Hostile h = { .attack = ATTACK_PLAIN_HELLO };

  g_test_summary ("A plaintext hello on a TLS peer port fails the TLS handshake.");
  start_both (f);
  hostile_run_counted (f, &h, "dsm_net_handshake_failures_total", "node=\"1\",reason=\"tls\"");
  g_assert_null (h.reply);
}

static void
test_tls_good_peer_3 (Fixture *f, gconstpointer data)
{
  Hostile h = { .attack = ATTACK_TLS_AS_3 };

  g_test_summary ("Node 3's own certificate, claiming node 3, gets a welcome (the binding accepts the "
                  "right id; the refusals above are not for every stranger alike).");
  start_both (f);
  hostile_run (f, &h);
  g_assert_nonnull (h.reply);
  g_assert_nonnull (strstr (h.reply, "\"welcome\""));
  g_free (h.reply);
}

static void
test_sealed (Fixture *f, gconstpointer data)
{
  const Tamper tampers[] = { TAMPER_FLIP, TAMPER_REFLECT, TAMPER_REPLAY };

  g_test_summary ("A peer knowing the secret gets a sealed frame through; a frame with a flipped bit, a "
                  "frame sealed with the reflected direction's key, and a replayed frame close the "
                  "connection as mac, and nothing of them reaches the receiver.");
  start_both (f);
  for (guint i = 0; i < G_N_ELEMENTS (tampers); i++)
    {
      Hostile h = { .attack = ATTACK_SEALED, .tamper = tampers[i] };
      guint before = f->pair.received[1]->len;
      hostile_run_counted (f, &h, "dsm_net_protocol_errors_total", "node=\"1\",reason=\"mac\"");
      /* The replay's first copy is good and arrives; nothing else does. */
      g_assert_cmpuint (f->pair.received[1]->len, ==, before + (tampers[i] == TAMPER_REPLAY ? 1 : 0));
      g_assert_true (peer_pair_has_commit (&f->pair, 1, 777) == (tampers[i] == TAMPER_REPLAY));
    }
  peer_pair_assert_delivers (&f->pair, 2, 1, 5);
}

int
main (int argc, char **argv)
{
  static const Mode tls = { TRUE, NULL };
  static const Mode tls_secret = { TRUE, SECRET };
  static const Mode secret = { FALSE, SECRET };

  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (peer_pair_log_writer, NULL, NULL);
  make_certs ();
  g_test_add ("/net/peer-security/tls-connect", Fixture, &tls, fixture_set_up, test_connect, fixture_tear_down);
  g_test_add ("/net/peer-security/tls-and-secret-connect", Fixture, &tls_secret, fixture_set_up, test_connect,
              fixture_tear_down);
  g_test_add ("/net/peer-security/secret-connect", Fixture, &secret, fixture_set_up, test_connect,
              fixture_tear_down);
  g_test_add ("/net/peer-security/tls-untrusted-certificate", Fixture, &tls, fixture_set_up, test_tls_untrusted,
              fixture_tear_down);
  g_test_add ("/net/peer-security/tls-certificate-for-another-id", Fixture, &tls, fixture_set_up,
              test_tls_wrong_id, fixture_tear_down);
  g_test_add ("/net/peer-security/tls-plaintext-refused", Fixture, &tls, fixture_set_up, test_tls_plaintext,
              fixture_tear_down);
  g_test_add ("/net/peer-security/tls-right-id-welcomed", Fixture, &tls, fixture_set_up, test_tls_good_peer_3,
              fixture_tear_down);
  g_test_add ("/net/peer-security/sealed-frames-tampered", Fixture, &secret, fixture_set_up, test_sealed,
              fixture_tear_down);
  int status = g_test_run ();
  peer_pair_remove_tree (certs_dir);
  g_free (certs_dir);
  return status;
}
