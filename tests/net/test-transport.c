/* tests/net/test-transport.c: live peer transports on 127.0.0.1:0 in one
 * process: connecting, one connection per pair, reconnection, the write
 * queue bound, and every kind of hostile input against a listener, after
 * which the listener still serves a good peer. */
#include <string.h>

#include "codec.h"
#include "fingerprint.h"
#include "frame.h"
#include "handshake.h"
#include "peer-pair.h"
#include "transport.h"

typedef PeerPair Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  const char *secret = data;
  DsmConfig *config = dsm_config_new_default (3);

  config->reconnect_ms_min = 10;
  config->reconnect_ms_max = 100;
  config->max_frame_bytes = 64 * 1024;
  config->max_write_queue_bytes = 64 * 1024;
  g_clear_pointer (&config->secret, g_free);
  config->secret = g_strdup (secret);
  /* Without a secret the links run unauthenticated, as they may only
   * when the config says so (docs/SECURITY.md). */
  config->insecure = secret == NULL;
  /* The default deadlines (5 s to handshake, 5 s to finish a frame): the
   * silence and half-frame cases wait for them, and nothing legitimate
   * comes near them even on a loaded machine. */
  peer_pair_init (f, config, NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  peer_pair_clear (f);
}

/* ---- behaviours ---- */

static void
test_connect_and_deliver (Fixture *f, gconstpointer data)
{
  g_test_summary ("Two transports dial each other, settle on one connection and carry messages both ways.");
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[2]);
  peer_pair_assert_delivers (f, 1, 2, 11);
  peer_pair_assert_delivers (f, 2, 1, 12);
  g_assert_cmpuint (peer_pair_metric (f->t[1], "dsm_net_peer_connected", "node=\"1\",peer=\"2\""), ==, 1);
  g_assert_cmpuint (peer_pair_metric (f->t[1], "dsm_net_messages_delivered_total", "node=\"1\",peer=\"2\""), >=, 1);
  g_assert_cmpuint (peer_pair_metric (f->t[2], "dsm_net_frames_received_total", "node=\"2\",peer=\"1\""), >=, 1);
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
  g_assert_true (peer_pair_wait (f, one_each_side_settled, NULL));
  peer_pair_assert_delivers (f, 2, 1, 21);
}

static void
test_reconnects_after_restart (Fixture *f, gconstpointer data)
{
  g_test_summary ("When node 2 goes away and comes back on the same port, node 1 reconnects on its own.");
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[2]);
  peer_pair_assert_delivers (f, 1, 2, 31);

  g_autofree char *addr = g_strdup_printf ("127.0.0.1:%u", f->port[2]);
  dsm_transport_stop (f->t[2]);
  g_clear_object (&f->t[2]);
  g_ptr_array_set_size (f->received[2], 0);
  f->t[2] = peer_pair_new_transport (f, 2, addr, NULL);
  /* Node 2 does not dial: node 1's backoff must find it. */
  peer_pair_assert_delivers (f, 1, 2, 32);
  /* The new node 2 never dials: the connection is node 1's (its first
   * dial may still have been in flight, so it need not be a redial). */
  g_assert_cmpuint (peer_pair_metric (f->t[2], "dsm_net_connections_inbound_total", "node=\"2\",peer=\"1\""), ==, 1);
}

#define UNREACHABLE_SENDS 20

static gboolean
all_unsent (Fixture *f, gpointer data)
{
  return f->unsent[1] == UNREACHABLE_SENDS
         && peer_pair_metric (f->t[1], "dsm_net_dial_failures_total", "node=\"1\",peer=\"3\"") >= 1
         && peer_pair_metric (f->t[1], "dsm_net_write_queue_bytes", "node=\"1\",peer=\"3\"") == 0;
}

static void
test_unreachable_peer_is_unsent (Fixture *f, gconstpointer data)
{
  g_autoptr(DsmMessage) msg = peer_pair_commit_message (1, 3, 1);

  g_test_summary ("Messages to a peer that cannot be reached are each reported unsent (queued while a dial "
                  "runs, dropped when it fails, refused at once during the backoff), never queued forever; "
                  "the reachable peer connects all the same.");
  dsm_transport_start (f->t[1]);
  for (guint i = 0; i < UNREACHABLE_SENDS; i++)
    {
      dsm_transport_send (f->t[1], msg);
      g_main_context_iteration (NULL, TRUE);
    }
  /* Not a race with the dial: every message ends as unsent, whenever the
   * dial to node 3 fails. */
  g_assert_true (peer_pair_wait (f, all_unsent, NULL));
  g_assert_true (peer_pair_wait (f, peer_pair_both_connected, NULL));
  g_assert_cmpuint (f->unsent[1], ==, UNREACHABLE_SENDS);
}

static gboolean
queue_empty (Fixture *f, gpointer data)
{
  return peer_pair_metric (f->t[1], "dsm_net_write_queue_bytes", "node=\"1\",peer=\"2\"") == 0;
}

static void
test_write_queue_bound (Fixture *f, gconstpointer data)
{
  g_test_summary ("Past max_write_queue_bytes a peer's messages are dropped and reported, not buffered.");
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[2]);
  g_assert_true (peer_pair_wait (f, peer_pair_both_connected, NULL));
  /* Many sends in one turn of the loop: the queue fills before any write completes. */
  for (guint i = 0; i < 5000; i++)
    {
      g_autoptr(DsmMessage) msg = peer_pair_commit_message (1, 2, 1000 + i);
      dsm_transport_send (f->t[1], msg);
    }
  g_assert_cmpuint (f->unsent[1], >, 0);
  g_assert_cmpuint (peer_pair_metric (f->t[1], "dsm_net_messages_dropped_total", "node=\"1\",peer=\"2\",reason=\"queue_full\""),
                    ==, f->unsent[1]);
  /* Once the queue drains, messages flow again. */
  g_assert_true (peer_pair_wait (f, queue_empty, NULL));
  peer_pair_assert_delivers (f, 1, 2, 99999);
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
  const char *refusal;        /* nullable: the reason the refuse frame must name */
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

/* The hostile peer: plain blocking socket code in a thread, while the
 * main thread runs the transports' loop. */
static gpointer
hostile_thread (gpointer data)
{
  HostileRun *run = data;
  g_autoptr(GSocketConnection) conn = peer_pair_connect (run->port);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (conn));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (conn));

  if (run->h->hello != NULL)
    {
      peer_pair_write_frame (out, run->h->hello);
      g_autoptr(GBytes) reply = peer_pair_read_frame (in, 64 * 1024);
      if (reply != NULL)
        run->refusal = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
    }
  else if (run->h->mode == HANDSHAKE_AS_3)
    {
      /* With a secret, prove a wrong one. */
      g_autoptr(GBytes) wrong = g_bytes_new_static ("not-the-secret-at-all", 21);
      char nonce_d[DSM_HANDSHAKE_NONCE_HEX + 1], nonce_a[DSM_HANDSHAKE_NONCE_HEX + 1];
      peer_pair_handshake_as (in, out, 3, 1, run->fingerprint, run->secret != NULL ? wrong : NULL, nonce_d, nonce_a);
    }
  if (run->h->bytes != NULL)
    g_output_stream_write_all (out, g_bytes_get_data (run->h->bytes, NULL), g_bytes_get_size (run->h->bytes),
                               NULL, NULL, NULL);

  /* The node closes on us (EOF or reset), or the budget runs out. */
  run->closed_by_peer = peer_pair_read_to_close (in);
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
  guint64 before = peer_pair_metric (f->t[1], h->metric, h->labels);
  guint invalid_before = f->invalid[1];

  GThread *thread = g_thread_new (h->name, hostile_thread, &run);
  g_assert_true (peer_pair_wait (f, hostile_done, &run));
  g_thread_join (thread);
  g_assert_true (run.closed_by_peer);
  g_assert_cmpuint (peer_pair_metric (f->t[1], h->metric, h->labels), ==, before + 1);
  if (h->expect_invalid)
    g_assert_cmpuint (f->invalid[1], ==, invalid_before + 1);
  /* A refusal is flushed before the close, naming the reason. */
  if (h->refusal != NULL)
    {
      g_assert_nonnull (run.refusal);
      g_assert_nonnull (strstr (run.refusal, "\"refuse\""));
      g_assert_nonnull (strstr (run.refusal, h->refusal));
    }
  g_free (run.refusal);

  /* Node 1 goes on serving node 2. */
  peer_pair_assert_delivers (f, 2, 1, g_str_hash (h->name));
  peer_pair_assert_delivers (f, 1, 2, g_str_hash (h->name) + 1);
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
  g_autoptr(DsmMessage) msg = peer_pair_commit_message (3, 1, 5);
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
      "dsm_net_handshake_failures_total", "node=\"1\",reason=\"wrong_cluster\"", FALSE, "\"wrong_cluster\"" },
    { "unknown-node", HANDSHAKE_NONE, unknown_node, NULL,
      "dsm_net_handshake_failures_total", "node=\"1\",reason=\"unknown_node\"", FALSE, "\"unknown_node\"" },
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
                  "type and a spoofed sender each close that connection with a metric (a wrong cluster "
                  "or node after a refusal naming it); node 1 keeps serving node 2 after each.");
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[2]);
  peer_pair_assert_delivers (f, 1, 2, 1);
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
                "dsm_net_handshake_failures_total", "node=\"1\",reason=\"auth\"", FALSE, NULL };

  g_test_summary ("With a secret set, a peer proving another secret is refused; the real peers still talk.");
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[2]);
  peer_pair_assert_delivers (f, 1, 2, 1);
  run_hostile (f, &h, "s3cret-s3cret-s3cret");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (peer_pair_log_writer, NULL, NULL);

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
