/* tests/net/test-transport.c: live peer transports on 127.0.0.1:0 in one
 * process: connecting, one connection per pair, reconnection, the write
 * queue bound, and every kind of hostile input against a listener, after
 * which the listener still serves a good peer. */
#include <string.h>

#include "codec.h"
#include "fingerprint.h"
#include "frame.h"
#include "handshake.h"
#include "transport.h"

#define BUDGET_MS 5000

typedef struct {
  DsmConfig *config;
  DsmTransport *t[3];           /* nodes 1 and 2 (index 0 unused) */
  guint16 port[3];
  GPtrArray *received[3];       /* DsmMessage received by node i */
  guint unsent[3];
  guint invalid[3];
} Fixture;

static GLogWriterOutput
quiet_writer (GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
  /* Hostile input is logged as warnings; the tests provoke them on purpose. */
  if (g_test_verbose ())
    return g_log_writer_standard_streams (level, fields, n, data);
  return G_LOG_WRITER_HANDLED;
}

static void
on_message (DsmTransport *t, DsmMessage *msg, gpointer data)
{
  g_ptr_array_add (data, dsm_message_ref (msg));
}

static void
on_unsent (DsmTransport *t, DsmMessage *msg, gpointer data)
{
  (*(guint *) data)++;
}

static void
on_invalid (DsmTransport *t, guint peer, gpointer data)
{
  (*(guint *) data)++;
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
      g_main_context_iteration (NULL, FALSE);
      if (!cond (f, data))
        g_main_context_iteration (NULL, TRUE);
    }
  return TRUE;
}

static gboolean
wakeup (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static DsmTransport *
fixture_transport (Fixture *f, DsmNodeId id, const DsmTransportOptions *options)
{
  g_autoptr(GError) error = NULL;
  DsmTransport *t = dsm_transport_new (f->config, id, options, &error);

  g_assert_no_error (error);
  g_assert_true (dsm_transport_listen (t, "127.0.0.1:0", &f->port[id], &error));
  g_assert_no_error (error);
  f->received[id] = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_message_unref);
  g_signal_connect (t, "message", G_CALLBACK (on_message), f->received[id]);
  g_signal_connect (t, "unsent", G_CALLBACK (on_unsent), &f->unsent[id]);
  g_signal_connect (t, "invalid", G_CALLBACK (on_invalid), &f->invalid[id]);
  return t;
}

static void
fixture_set_up_with (Fixture *f, const char *secret)
{
  DsmTransportOptions options;

  dsm_transport_options_init (&options);
  options.frame_timeout_ms = 300;
  options.handshake_timeout_ms = 1000;
  f->config = dsm_config_new_default (3);
  f->config->reconnect_ms_min = 10;
  f->config->reconnect_ms_max = 100;
  f->config->max_frame_bytes = 64 * 1024;
  f->config->max_write_queue_bytes = 64 * 1024;
  g_clear_pointer (&f->config->secret, g_free);
  f->config->secret = g_strdup (secret);
  /* Without a secret the links run unauthenticated, as they may only
   * when the config says so (docs/SECURITY.md). */
  f->config->insecure = secret == NULL;
  for (DsmNodeId id = 1; id <= 2; id++)
    f->t[id] = fixture_transport (f, id, &options);
  for (DsmNodeId id = 1; id <= 2; id++)
    for (DsmNodeId peer = 1; peer <= 3; peer++)
      if (peer != id)
        {
          /* Node 3 never runs: dials to it fail and back off. */
          g_autofree char *addr = g_strdup_printf ("127.0.0.1:%u", peer <= 2 ? f->port[peer] : 1);
          dsm_transport_set_peer_address (f->t[id], peer, addr);
        }
  /* A periodic wakeup keeps the loop turning while a helper thread works. */
  g_timeout_add (5, wakeup, NULL);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  fixture_set_up_with (f, data);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_source_remove_by_user_data (NULL);
  for (DsmNodeId id = 1; id <= 2; id++)
    {
      if (f->t[id] != NULL)
        {
          dsm_transport_stop (f->t[id]);
          g_object_unref (f->t[id]);
        }
      g_ptr_array_unref (f->received[id]);
    }
  /* Let cancelled operations unwind before the next test. */
  for (guint i = 0; i < 50 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  dsm_config_unref (f->config);
}

static gboolean
both_connected (Fixture *f, gpointer data)
{
  return dsm_transport_get_n_connected (f->t[1]) == 1 && dsm_transport_get_n_connected (f->t[2]) == 1;
}

static DsmMessage *
commit_message (DsmNodeId from, DsmNodeId to, guint64 commit_index)
{
  DsmMessage *msg = dsm_message_new (DSM_MSG_COMMIT, from, to, 3);

  msg->commit_index = commit_index;
  msg->hb_seq = 1;
  return msg;
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

/* Sends a Commit carrying @tag from @from to @to and waits for it. */
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
  for (char **lines = g_strsplit (text->str, "\n", -1), **l = lines; *l != NULL; l++)
    if (g_str_has_prefix (*l, prefix))
      {
        guint64 v = g_ascii_strtoull (*l + strlen (prefix), NULL, 10);
        g_strfreev (lines);
        return v;
      }
  g_error ("no sample %s", prefix);
}

/* ---- behaviours ---- */

static void
test_connect_and_deliver (Fixture *f, gconstpointer data)
{
  g_test_summary ("Two transports dial each other, settle on one connection and carry messages both ways.");
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[2]);
  assert_delivers (f, 1, 2, 11);
  assert_delivers (f, 2, 1, 12);
  g_assert_cmpuint (metric (f->t[1], "dsm_net_peer_connected", "node=\"1\",peer=\"2\""), ==, 1);
  g_assert_cmpuint (metric (f->t[1], "dsm_net_messages_delivered_total", "node=\"1\",peer=\"2\""), >=, 1);
  g_assert_cmpuint (metric (f->t[2], "dsm_net_frames_received_total", "node=\"2\",peer=\"1\""), >=, 1);
}

static gboolean
one_each_side_settled (Fixture *f, gpointer data)
{
  DsmTransportPeerInfo a, b;
  gboolean ok;

  dsm_transport_get_peer_info (f->t[1], 2, &a);
  dsm_transport_get_peer_info (f->t[2], 1, &b);
  /* The lower id's outbound connection wins on both ends. */
  ok = a.state == DSM_PEER_CONNECTED && b.state == DSM_PEER_CONNECTED && a.outbound && !b.outbound;
  dsm_transport_peer_info_clear (&a);
  dsm_transport_peer_info_clear (&b);
  return ok;
}

static void
test_simultaneous_dial_resolves (Fixture *f, gconstpointer data)
{
  g_test_summary ("When both ends dial at once, both keep the connection node 1 dialed.");
  dsm_transport_start (f->t[2]);
  dsm_transport_start (f->t[1]);
  g_assert_true (wait_for (f, one_each_side_settled, NULL));
  assert_delivers (f, 2, 1, 21);
}

static void
test_reconnects_after_restart (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *addr = NULL;

  g_test_summary ("When node 2 goes away and comes back on the same port, node 1 reconnects on its own.");
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[2]);
  assert_delivers (f, 1, 2, 31);

  guint16 port = f->port[2];
  dsm_transport_stop (f->t[2]);
  g_clear_object (&f->t[2]);
  g_ptr_array_set_size (f->received[2], 0);

  DsmTransportOptions options;
  dsm_transport_options_init (&options);
  f->t[2] = dsm_transport_new (f->config, 2, &options, &error);
  g_assert_no_error (error);
  addr = g_strdup_printf ("127.0.0.1:%u", port);
  g_assert_true (dsm_transport_listen (f->t[2], addr, NULL, &error));
  g_assert_no_error (error);
  g_signal_connect (f->t[2], "message", G_CALLBACK (on_message), f->received[2]);
  /* Node 2 does not dial: node 1's backoff must find it. */
  assert_delivers (f, 1, 2, 32);
  /* The new node 2 never dials: the connection is node 1's (its first
   * dial may still have been in flight, so it need not be a redial). */
  g_assert_cmpuint (metric (f->t[2], "dsm_net_connections_inbound_total", "node=\"2\",peer=\"1\""), ==, 1);
}

static void
test_unreachable_peer_is_unsent (Fixture *f, gconstpointer data)
{
  g_autoptr(DsmMessage) msg = commit_message (1, 3, 1);

  g_test_summary ("Messages to a peer that cannot be reached are reported unsent, never queued forever.");
  dsm_transport_start (f->t[1]);
  for (guint i = 0; i < 20; i++)
    {
      dsm_transport_send (f->t[1], msg);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_true (wait_for (f, both_connected, NULL));
  g_assert_cmpuint (f->unsent[1], >=, 1);
  g_assert_cmpuint (metric (f->t[1], "dsm_net_dial_failures_total", "node=\"1\",peer=\"3\""), >=, 1);
}

static gboolean
queue_empty (Fixture *f, gpointer data)
{
  return metric (f->t[1], "dsm_net_write_queue_bytes", "node=\"1\",peer=\"2\"") == 0;
}

static void
test_write_queue_bound (Fixture *f, gconstpointer data)
{
  g_test_summary ("Past max_write_queue_bytes a peer's messages are dropped and reported, not buffered.");
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[2]);
  g_assert_true (wait_for (f, both_connected, NULL));
  /* Many sends in one turn of the loop: the queue fills before any write completes. */
  for (guint i = 0; i < 5000; i++)
    {
      g_autoptr(DsmMessage) msg = commit_message (1, 2, 1000 + i);
      dsm_transport_send (f->t[1], msg);
    }
  g_assert_cmpuint (f->unsent[1], >, 0);
  g_assert_cmpuint (metric (f->t[1], "dsm_net_messages_dropped_total", "node=\"1\",peer=\"2\",reason=\"queue_full\""),
                    ==, f->unsent[1]);
  /* Once the queue drains, messages flow again. */
  g_assert_true (wait_for (f, queue_empty, NULL));
  assert_delivers (f, 1, 2, 99999);
}

/* ---- hostile peers ---- */

typedef enum {
  HANDSHAKE_NONE,   /* send the bytes first thing */
  HANDSHAKE_AS_3,   /* complete a handshake as node 3, then send them */
} HostileMode;

typedef struct {
  const char *name;
  HostileMode mode;
  const char *hello;          /* nullable: a custom hello frame payload */
  GBytes *bytes;              /* sent after the handshake, or first */
  const char *metric;
  const char *labels;
  gboolean expect_invalid;    /* the core is told of an undecodable message */
} Hostile;

typedef struct {
  guint16 port;
  const Hostile *h;
  const char *secret;
  const char *fingerprint;    /* the acceptor's bootstrap fingerprint */
  gboolean closed_by_peer;
  gboolean done;
  char *refusal;              /* a refuse frame's text, if one came */
} HostileRun;

static GBytes *
read_frame_blocking (GInputStream *in)
{
  guint8 header[8];
  gsize n = 0;

  if (!g_input_stream_read_all (in, header, 8, &n, NULL, NULL) || n != 8)
    return NULL;
  guint32 length = GUINT32_FROM_BE (*(guint32 *) header);
  if (length > 1024 * 1024)
    return NULL;
  guint8 *payload = g_malloc (length);
  if (!g_input_stream_read_all (in, payload, length, &n, NULL, NULL) || n != length)
    {
      g_free (payload);
      return NULL;
    }
  return g_bytes_new_take (payload, length);
}

static void
write_frame_blocking (GOutputStream *out, const char *text)
{
  g_autoptr(GBytes) frame = dsm_frame_encode (text, strlen (text));
  g_output_stream_write_all (out, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), NULL, NULL, NULL);
}

/* The hostile peer: plain blocking socket code in a thread, while the
 * main thread runs the transports' loop. */
static gpointer
hostile_thread (gpointer data)
{
  HostileRun *run = data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();

  g_socket_client_set_enable_proxy (client, FALSE);
  g_autofree char *addr = g_strdup_printf ("127.0.0.1:%u", run->port);
  g_autoptr(GSocketConnection) conn = g_socket_client_connect_to_host (client, addr, 0, NULL, NULL);

  g_assert_nonnull (conn);
  g_socket_set_timeout (g_socket_connection_get_socket (conn), 5);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));

  if (run->h->hello != NULL)
    {
      write_frame_blocking (out, run->h->hello);
      g_autoptr(GBytes) reply = read_frame_blocking (in);
      if (reply != NULL)
        run->refusal = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
    }
  else if (run->h->mode == HANDSHAKE_AS_3)
    {
      char nonce[DSM_HANDSHAKE_NONCE_HEX + 1];
      dsm_handshake_new_nonce (nonce);
      DsmHandshake hello = { .kind = DSM_HANDSHAKE_HELLO, .protocol = DSM_PROTOCOL_VERSION,
                             .cluster_id = (char *) "dsm", .fingerprint = (char *) run->fingerprint, .from = 3, .to = 1,
                             .nonce = nonce, .auth = run->secret != NULL };
      g_autofree char *text = dsm_handshake_encode (&hello);
      write_frame_blocking (out, text);
      g_autoptr(GBytes) reply = read_frame_blocking (in);
      g_assert_nonnull (reply);
      g_autoptr(DsmHandshake) welcome = dsm_handshake_decode (g_bytes_get_data (reply, NULL),
                                                              g_bytes_get_size (reply),
                                                              DSM_HANDSHAKE_WELCOME, NULL);
      g_assert_nonnull (welcome);
      /* With a secret, prove a wrong one. */
      g_autoptr(GBytes) wrong = g_bytes_new_static ("not-the-secret-at-all", 21);
      g_autofree char *proof = run->secret != NULL
        ? dsm_handshake_proof (wrong, "ready", "dsm", 3, 1, nonce, welcome->nonce) : NULL;
      DsmHandshake ready = { .kind = DSM_HANDSHAKE_READY, .proof = proof };
      g_autofree char *ready_text = dsm_handshake_encode (&ready);
      write_frame_blocking (out, ready_text);
    }
  if (run->h->bytes != NULL)
    g_output_stream_write_all (out, g_bytes_get_data (run->h->bytes, NULL), g_bytes_get_size (run->h->bytes),
                               NULL, NULL, NULL);

  /* Wait for the node to close on us (EOF or reset), at most the socket timeout. */
  guint8 buf[4096];
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_input_stream_read (in, buf, sizeof buf, NULL, &error);
      if (n == 0 || (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)))
        {
          run->closed_by_peer = TRUE;
          break;
        }
      if (n < 0)
        break;
    }
  g_atomic_int_set (&run->done, TRUE);
  return NULL;
}

static gboolean
hostile_done (Fixture *f, gpointer data)
{
  return g_atomic_int_get (&((HostileRun *) data)->done);
}

static void
run_hostile (Fixture *f, const Hostile *h, const char *secret)
{
  g_autofree char *fingerprint = dsm_fingerprint_compute (f->config);
  HostileRun run = { .port = f->port[1], .h = h, .secret = secret, .fingerprint = fingerprint };
  guint64 before = metric (f->t[1], h->metric, h->labels);
  guint invalid_before = f->invalid[1];

  GThread *thread = g_thread_new (h->name, hostile_thread, &run);
  g_assert_true (wait_for (f, hostile_done, &run));
  g_thread_join (thread);
  g_assert_true (run.closed_by_peer);
  g_assert_cmpuint (metric (f->t[1], h->metric, h->labels), ==, before + 1);
  if (h->expect_invalid)
    g_assert_cmpuint (f->invalid[1], ==, invalid_before + 1);
  g_free (run.refusal);

  /* Node 1 goes on serving node 2. */
  assert_delivers (f, 2, 1, g_str_hash (h->name));
  assert_delivers (f, 1, 2, g_str_hash (h->name) + 1);
}

static GBytes *
framed (const char *text)
{
  return dsm_frame_encode (text, strlen (text));
}

static GBytes *
raw (const void *data, gsize n)
{
  return g_bytes_new (data, n);
}

/* A valid Commit from node 3 with @from and @to replaced by the texts given. */
static char *
commit_text (const char *search, const char *replace)
{
  g_autoptr(DsmMessage) msg = commit_message (3, 1, 5);
  g_autofree char *text = dsm_codec_encode_message (msg);
  g_autoptr(GString) s = g_string_new (text);

  if (search != NULL)
    g_assert_cmpuint (g_string_replace (s, search, replace, 1), ==, 1);
  return g_strdup (s->str);
}

static void
test_hostile_inputs (Fixture *f, gconstpointer data)
{
  guint32 oversized[2] = { GUINT32_TO_BE (64 * 1024 + 1), 0 };
  guint32 half[3] = { GUINT32_TO_BE (100), 0, 0 };
  g_autofree char *good = commit_text (NULL, NULL);
  g_autofree char *unknown_type = commit_text ("\"commit\"", "\"gossip\"");
  g_autofree char *wrong_type = commit_text ("\"from\":3", "\"from\":\"three\"");
  g_autofree char *spoofed = commit_text ("\"from\":3", "\"from\":2");
  g_autoptr(GBytes) bad_crc_frame = framed (good);
  g_autoptr(GByteArray) bad_crc = g_byte_array_new ();
  g_byte_array_append (bad_crc, g_bytes_get_data (bad_crc_frame, NULL), (guint) g_bytes_get_size (bad_crc_frame));
  bad_crc->data[bad_crc->len - 2] ^= 0x20;
  g_autofree char *wrong_cluster = g_strdup_printf (
    "{\"hello\":{\"protocol\":%d,\"from\":3,\"to\":1,\"cluster_id\":\"other\",\"nonce\":\"%032d\",\"auth\":false}}",
    DSM_PROTOCOL_VERSION, 0);
  g_autofree char *unknown_node = g_strdup_printf (
    "{\"hello\":{\"protocol\":%d,\"from\":1,\"to\":1,\"cluster_id\":\"dsm\",\"nonce\":\"%032d\",\"auth\":false}}",
    DSM_PROTOCOL_VERSION, 0);

  Hostile cases[] = {
    { "garbage", HANDSHAKE_NONE, NULL, raw ("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27),
      "dsm_net_handshake_failures_total", "node=\"1\",reason=\"frame_too_large\"", FALSE },
    { "silence", HANDSHAKE_NONE, NULL, NULL,
      "dsm_net_handshake_failures_total", "node=\"1\",reason=\"timeout\"", FALSE },
    { "wrong-cluster", HANDSHAKE_NONE, wrong_cluster, NULL,
      "dsm_net_handshake_failures_total", "node=\"1\",reason=\"wrong_cluster\"", FALSE },
    { "unknown-node", HANDSHAKE_NONE, unknown_node, NULL,
      "dsm_net_handshake_failures_total", "node=\"1\",reason=\"unknown_node\"", FALSE },
    { "bad-hello", HANDSHAKE_NONE, "{\"hello\":{\"protocol\":true}}", NULL,
      "dsm_net_handshake_failures_total", "node=\"1\",reason=\"handshake\"", FALSE },
    { "oversized", HANDSHAKE_AS_3, NULL, raw (oversized, sizeof oversized),
      "dsm_net_protocol_errors_total", "node=\"1\",reason=\"frame_too_large\"", FALSE },
    { "half-frame", HANDSHAKE_AS_3, NULL, raw (half, sizeof half),
      "dsm_net_protocol_errors_total", "node=\"1\",reason=\"timeout\"", FALSE },
    { "crc-mismatch", HANDSHAKE_AS_3, NULL, raw (bad_crc->data, bad_crc->len),
      "dsm_net_protocol_errors_total", "node=\"1\",reason=\"checksum\"", FALSE },
    { "not-json", HANDSHAKE_AS_3, NULL, framed ("\x01\x02garbage"),
      "dsm_net_decode_errors_total", "node=\"1\",reason=\"syntax\"", TRUE },
    { "unknown-type", HANDSHAKE_AS_3, NULL, framed (unknown_type),
      "dsm_net_decode_errors_total", "node=\"1\",reason=\"unknown_type\"", TRUE },
    { "wrong-field-type", HANDSHAKE_AS_3, NULL, framed (wrong_type),
      "dsm_net_decode_errors_total", "node=\"1\",reason=\"field_type\"", TRUE },
    { "spoofed-sender", HANDSHAKE_AS_3, NULL, framed (spoofed),
      "dsm_net_protocol_errors_total", "node=\"1\",reason=\"spoofed\"", TRUE },
  };

  g_test_summary ("Garbage, silence, wrong cluster, a hello claiming the listener's own id, a bad hello, an oversized frame, half a "
                  "frame then silence, a CRC mismatch, non-JSON, an unknown message type, a wrong field "
                  "type and a spoofed sender each close that connection with a metric; node 1 keeps "
                  "serving node 2 after each.");
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[2]);
  assert_delivers (f, 1, 2, 1);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      if (g_test_verbose ())
        g_printerr ("hostile: %s\n", cases[i].name);
      run_hostile (f, &cases[i], NULL);
      g_clear_pointer (&cases[i].bytes, g_bytes_unref);
    }
}

static void
test_hostile_bad_secret (Fixture *f, gconstpointer data)
{
  Hostile h = { "bad-proof", HANDSHAKE_AS_3, NULL, NULL,
                "dsm_net_handshake_failures_total", "node=\"1\",reason=\"auth\"", FALSE };

  g_test_summary ("With a secret set, a peer proving another secret is refused; the real peers still talk.");
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[2]);
  assert_delivers (f, 1, 2, 1);
  run_hostile (f, &h, "s3cret-s3cret-s3cret");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (quiet_writer, NULL, NULL);

  g_test_add ("/net/transport/connect-and-deliver", Fixture, NULL,
              fixture_set_up, test_connect_and_deliver, fixture_tear_down);
  g_test_add ("/net/transport/connect-with-secret", Fixture, "s3cret-s3cret-s3cret",
              fixture_set_up, test_connect_and_deliver, fixture_tear_down);
  g_test_add ("/net/transport/simultaneous-dial-resolves", Fixture, NULL,
              fixture_set_up, test_simultaneous_dial_resolves, fixture_tear_down);
  g_test_add ("/net/transport/reconnects-after-restart", Fixture, NULL,
              fixture_set_up, test_reconnects_after_restart, fixture_tear_down);
  g_test_add ("/net/transport/unreachable-peer-is-unsent", Fixture, NULL,
              fixture_set_up, test_unreachable_peer_is_unsent, fixture_tear_down);
  g_test_add ("/net/transport/write-queue-bound", Fixture, NULL,
              fixture_set_up, test_write_queue_bound, fixture_tear_down);
  g_test_add ("/net/transport/hostile-inputs", Fixture, NULL,
              fixture_set_up, test_hostile_inputs, fixture_tear_down);
  g_test_add ("/net/transport/hostile-bad-secret", Fixture, "s3cret-s3cret-s3cret",
              fixture_set_up, test_hostile_bad_secret, fixture_tear_down);
  return g_test_run ();
}
