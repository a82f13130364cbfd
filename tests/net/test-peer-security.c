/* tests/net/test-peer-security.c: live transports on 127.0.0.1:0 with
 * mutual TLS and with sealed frames, against peers that hold the wrong
 * certificate, claim another id, tamper with sealed frames, or hold the
 * peer port with silent connections; after each, the real peers talk. */
#include <glib/gstdio.h>
#include <string.h>

#include "codec.h"
#include "fingerprint.h"
#include "frame.h"
#include "frame-mac.h"
#include "handshake.h"
#include "transport.h"

#define BUDGET_MS 10000
#define SECRET "peer-security-test-secret"

typedef struct {
  gboolean tls;
  const char *secret;
} Mode;

typedef struct {
  char *certs;                  /* dsm-certs output: ca, peer-1..3; other/ another CA */
  DsmConfig *config;
  DsmTransport *t[3];
  guint16 port[3];
  GPtrArray *received[3];
} Fixture;

static guint warnings;          /* warning records seen, for the log bound */

static GLogWriterOutput
counting_writer (GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
  if (level & G_LOG_LEVEL_WARNING)
    g_atomic_int_inc (&warnings);
  if (g_test_verbose ())
    return g_log_writer_standard_streams (level, fields, n, data);
  return G_LOG_WRITER_HANDLED;
}

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
on_message (DsmTransport *t, DsmMessage *msg, gpointer data)
{
  g_ptr_array_add (data, dsm_message_ref (msg));
}

static gboolean
wakeup (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

typedef gboolean (*Cond) (Fixture *f, gpointer data);

static gboolean
wait_for (Fixture *f, Cond cond, gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + BUDGET_MS * 1000;

  while (!cond (f, data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, TRUE);
    }
  return TRUE;
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  const Mode *mode = data;
  g_autoptr(GError) error = NULL;
  DsmTransportOptions options;

  f->certs = g_dir_make_tmp ("dsm-peer-security-XXXXXX", &error);
  g_assert_no_error (error);
  f->config = dsm_config_new_default (3);
  f->config->reconnect_ms_min = 10;
  f->config->reconnect_ms_max = 100;
  f->config->secret = g_strdup (mode->secret);
  f->config->insecure = !mode->tls && mode->secret == NULL;
  if (mode->tls)
    {
      g_autofree char *other = g_build_filename (f->certs, "other", NULL);
      run_certs (f->certs, "peer --cluster dsm 1 2 3");
      run_certs (other, "peer --cluster dsm 3");
      f->config->peer_tls_ca_file = g_build_filename (f->certs, "ca.crt", NULL);
      f->config->peer_tls_cert_file = g_build_filename (f->certs, "peer-{id}.crt", NULL);
      f->config->peer_tls_key_file = g_build_filename (f->certs, "peer-{id}.key", NULL);
    }
  dsm_transport_options_init (&options);
  options.handshake_timeout_ms = 1000;
  for (DsmNodeId id = 1; id <= 2; id++)
    {
      f->t[id] = dsm_transport_new (f->config, id, &options, &error);
      g_assert_no_error (error);
      g_assert_true (dsm_transport_listen (f->t[id], "127.0.0.1:0", &f->port[id], &error));
      g_assert_no_error (error);
      f->received[id] = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_message_unref);
      g_signal_connect (f->t[id], "message", G_CALLBACK (on_message), f->received[id]);
    }
  for (DsmNodeId id = 1; id <= 2; id++)
    for (DsmNodeId peer = 1; peer <= 3; peer++)
      if (peer != id)
        {
          g_autofree char *addr = g_strdup_printf ("127.0.0.1:%u", peer <= 2 ? f->port[peer] : 1);
          dsm_transport_set_peer_address (f->t[id], peer, addr);
        }
  g_timeout_add (5, wakeup, NULL);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
  g_remove (path);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_source_remove_by_user_data (NULL);
  for (DsmNodeId id = 1; id <= 2; id++)
    {
      dsm_transport_stop (f->t[id]);
      g_object_unref (f->t[id]);
      g_ptr_array_unref (f->received[id]);
    }
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  dsm_config_unref (f->config);
  remove_tree (f->certs);
  g_free (f->certs);
}

static gboolean
both_connected (Fixture *f, gpointer data)
{
  return dsm_transport_get_n_connected (f->t[1]) == 1 && dsm_transport_get_n_connected (f->t[2]) == 1;
}

static gboolean
has_commit (Fixture *f, gpointer data)
{
  guint64 want = GPOINTER_TO_SIZE (data) & 0xffffffff;
  DsmNodeId to = (DsmNodeId) (GPOINTER_TO_SIZE (data) >> 32);

  for (guint i = 0; i < f->received[to]->len; i++)
    if (((DsmMessage *) f->received[to]->pdata[i])->commit_index == want)
      return TRUE;
  return FALSE;
}

static DsmMessage *
commit_message (DsmNodeId from, DsmNodeId to, guint64 commit_index)
{
  DsmMessage *msg = dsm_message_new (DSM_MSG_COMMIT, from, to, 3);

  msg->commit_index = commit_index;
  msg->hb_seq = 1;
  return msg;
}

static void
assert_delivers (Fixture *f, DsmNodeId from, DsmNodeId to, guint64 tag)
{
  g_autoptr(DsmMessage) msg = commit_message (from, to, tag);

  g_assert_true (wait_for (f, both_connected, NULL));
  dsm_transport_send (f->t[from], msg);
  g_assert_true (wait_for (f, has_commit, GSIZE_TO_POINTER (((gsize) to << 32) | tag)));
}

static guint64
metric (DsmTransport *t, const char *name, const char *labels)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *prefix = g_strdup_printf ("%s{%s} ", name, labels);

  dsm_transport_render_metrics (t, text);
  g_auto(GStrv) lines = g_strsplit (text->str, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix (*l, prefix))
      return g_ascii_strtoull (*l + strlen (prefix), NULL, 10);
  g_error ("no sample %s", prefix);
}

static void
start_both (Fixture *f)
{
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[2]);
  assert_delivers (f, 1, 2, 1);
  assert_delivers (f, 2, 1, 2);
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

static GBytes *
read_frame (GInputStream *in)
{
  guint8 header[8];
  gsize n = 0;

  if (!g_input_stream_read_all (in, header, 8, &n, NULL, NULL) || n != 8)
    return NULL;
  guint32 length = GUINT32_FROM_BE (*(guint32 *) header);
  if (length > 64 * 1024)
    return NULL;
  g_autofree guint8 *payload = g_malloc (length);
  if (!g_input_stream_read_all (in, payload, length, &n, NULL, NULL) || n != length)
    return NULL;
  return g_bytes_new (payload, length);
}

static void
write_bytes (GOutputStream *out, GBytes *bytes)
{
  g_output_stream_write_all (out, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL, NULL, NULL);
}

static void
write_text_frame (GOutputStream *out, const char *text)
{
  g_autoptr(GBytes) frame = dsm_frame_encode (text, strlen (text));
  write_bytes (out, frame);
}

static gboolean
hostile_accept_any (GTlsConnection *conn, GTlsCertificate *cert, GTlsCertificateFlags errors, gpointer data)
{
  return TRUE;  /* the attacker does not care who node 1 is */
}

static GIOStream *
hostile_tls (Hostile *h, GSocketConnection *conn)
{
  const char *dir = h->other_ca ? "other" : ".";
  g_autofree char *cert_path = g_build_filename (h->f->certs, dir, "peer-3.crt", NULL);
  g_autofree char *key_path = g_build_filename (h->f->certs, dir, "peer-3.key", NULL);
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
  char nonce[DSM_HANDSHAKE_NONCE_HEX + 1];
  DsmFrameKeys keys;

  dsm_handshake_new_nonce (nonce);
  g_autofree char *fingerprint = dsm_fingerprint_compute (h->f->config);
  DsmHandshake hello = { .kind = DSM_HANDSHAKE_HELLO, .protocol = DSM_PROTOCOL_VERSION,
                         .cluster_id = (char *) "dsm", .fingerprint = fingerprint, .from = 3, .to = 1,
                         .nonce = nonce, .auth = TRUE };
  g_autofree char *hello_text = dsm_handshake_encode (&hello);
  write_text_frame (out, hello_text);
  g_autoptr(GBytes) reply = read_frame (in);
  g_assert_nonnull (reply);
  g_autoptr(DsmHandshake) welcome = dsm_handshake_decode (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply),
                                                          DSM_HANDSHAKE_WELCOME, NULL);
  g_assert_nonnull (welcome);
  g_autofree char *proof = dsm_handshake_proof (secret, "ready", "dsm", 3, 1, nonce, welcome->nonce);
  DsmHandshake ready = { .kind = DSM_HANDSHAKE_READY, .proof = proof };
  g_autofree char *ready_text = dsm_handshake_encode (&ready);
  write_text_frame (out, ready_text);

  dsm_frame_mac_derive_keys (secret, "dsm", 3, 1, nonce, welcome->nonce, &keys);
  g_autoptr(DsmFrameMac) mac = dsm_frame_mac_new (h->tamper == TAMPER_REFLECT ? keys.acceptor_to_dialer
                                                                             : keys.dialer_to_acceptor);
  g_autoptr(DsmMessage) msg = commit_message (3, 1, 777);
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
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autofree char *addr = g_strdup_printf ("127.0.0.1:%u", h->f->port[1]);

  g_socket_client_set_enable_proxy (client, FALSE);
  g_autoptr(GSocketConnection) conn = g_socket_client_connect_to_host (client, addr, 0, NULL, NULL);
  g_assert_nonnull (conn);
  g_socket_set_timeout (g_socket_connection_get_socket (conn), 5);
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
          g_autofree char *fingerprint = dsm_fingerprint_compute (h->f->config);
          DsmHandshake hello = { .kind = DSM_HANDSHAKE_HELLO, .protocol = DSM_PROTOCOL_VERSION,
                                 .cluster_id = (char *) "dsm", .fingerprint = fingerprint, .to = 1, .nonce = nonce,
                                 .from = h->attack == ATTACK_TLS_CLAIM_2 ? 2 : 3 };
          g_autofree char *text = dsm_handshake_encode (&hello);
          write_text_frame (out, text);
          g_autoptr(GBytes) reply = read_frame (in);
          if (reply != NULL)
            h->reply = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
        }
      /* Until node 1 closes on us. */
      guint8 buf[1024];
      while (g_input_stream_read (in, buf, sizeof buf, NULL, NULL) > 0)
        ;
    }
  g_atomic_int_set (&h->done, TRUE);
  return NULL;
}

static gboolean
hostile_done (Fixture *f, gpointer data)
{
  return g_atomic_int_get (&((Hostile *) data)->done);
}

static void
run_hostile (Fixture *f, Hostile *h, const char *metric_name, const char *labels)
{
  guint64 before = metric (f->t[1], metric_name, labels);

  h->f = f;
  GThread *thread = g_thread_new ("hostile", hostile_thread, h);
  g_assert_true (wait_for (f, hostile_done, h));
  g_thread_join (thread);
  g_assert_cmpuint (metric (f->t[1], metric_name, labels), ==, before + 1);
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
  g_assert_cmpuint (metric (f->t[1], "dsm_net_peer_auth", label), ==, 1);
  g_assert_cmpuint (metric (f->t[1], "dsm_net_insecure", "node=\"1\""), ==, 0);
}

static void
test_tls_untrusted (Fixture *f, gconstpointer data)
{
  Hostile h = { .attack = ATTACK_TLS_AS_3, .other_ca = TRUE };

  g_test_summary ("A peer whose certificate another CA signed fails the TLS handshake; real peers talk on.");
  start_both (f);
  run_hostile (f, &h, "dsm_net_handshake_failures_total", "node=\"1\",reason=\"tls\"");
  g_assert_null (h.reply);
  assert_delivers (f, 2, 1, 3);
}

static void
test_tls_wrong_id (Fixture *f, gconstpointer data)
{
  Hostile h = { .attack = ATTACK_TLS_CLAIM_2 };

  g_test_summary ("A peer with a valid certificate for node 3 that claims to be node 2 is refused as "
                  "auth, and the refusal reaches it before the close.");
  start_both (f);
  run_hostile (f, &h, "dsm_net_handshake_failures_total", "node=\"1\",reason=\"auth\"");
  g_assert_nonnull (h.reply);
  g_assert_nonnull (strstr (h.reply, "\"refuse\""));
  g_assert_nonnull (strstr (h.reply, "node-3.dsm"));
  assert_delivers (f, 2, 1, 4);
}

static void
test_tls_plaintext (Fixture *f, gconstpointer data)
{
  Hostile h = { .attack = ATTACK_PLAIN_HELLO };

  g_test_summary ("A plaintext hello on a TLS peer port fails the TLS handshake.");
  start_both (f);
  run_hostile (f, &h, "dsm_net_handshake_failures_total", "node=\"1\",reason=\"tls\"");
  g_assert_null (h.reply);
}

static void
test_tls_good_peer_3 (Fixture *f, gconstpointer data)
{
  Hostile h = { .attack = ATTACK_TLS_AS_3 };

  g_test_summary ("Node 3's own certificate, claiming node 3, gets a welcome (the binding accepts the "
                  "right id; the refusals above are not for every stranger alike).");
  start_both (f);
  h.f = f;
  GThread *thread = g_thread_new ("hostile", hostile_thread, &h);
  g_assert_true (wait_for (f, hostile_done, &h));
  g_thread_join (thread);
  g_assert_nonnull (h.reply);
  g_assert_nonnull (strstr (h.reply, "\"welcome\""));
  g_free (h.reply);
}

static gboolean
has_777 (Fixture *f, gpointer data)
{
  return has_commit (f, GSIZE_TO_POINTER (((gsize) 1 << 32) | 777));
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
      guint before = f->received[1]->len;
      run_hostile (f, &h, "dsm_net_protocol_errors_total", "node=\"1\",reason=\"mac\"");
      /* The replay's first copy is good and arrives; nothing else does. */
      g_assert_cmpuint (f->received[1]->len, ==, before + (tampers[i] == TAMPER_REPLAY ? 1 : 0));
      g_assert_true (has_777 (f, NULL) == (tampers[i] == TAMPER_REPLAY));
    }
  assert_delivers (f, 2, 1, 5);
}

int
main (int argc, char **argv)
{
  static const Mode tls = { TRUE, NULL };
  static const Mode tls_secret = { TRUE, SECRET };
  static const Mode secret = { FALSE, SECRET };

  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (counting_writer, NULL, NULL);
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
  return g_test_run ();
}
