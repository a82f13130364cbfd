/* tests/real/test-proxy.c: the fault proxy between real sockets: a fake
 * dialer speaks the peer framing (a real hello, then frames with tags the
 * proxy never checks) to a fake acceptor through the proxy, and each
 * fault shows: bytes unchanged when open, a one-way hold, a partition
 * that cuts and refuses, a lost frame that resets, one flipped bit, a
 * truncated frame, and delays that keep the order.  Waits are bounded
 * polls of the sockets, never sleeps. */
#include <string.h>

#include <gio/gio.h>

#include "frame.h"
#include "handshake.h"
#include "real/proxy.h"

#define BUDGET_US (5 * G_USEC_PER_SEC)

typedef struct {
  GSocket *listener;        /* node 2, the acceptor */
  guint16 port2;
  DsmProxy *proxy;
  GSocket *dialer;          /* node 1's side */
  GSocket *acceptor;        /* node 2's side, once accepted */
} Fixture;

static GSocket *
listen_loopback (guint16 *port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, TRUE, &error));
  g_assert_true (g_socket_listen (socket, &error));
  g_autoptr(GSocketAddress) bound = g_socket_get_local_address (socket, &error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return socket;
}

/* A frame: plain (8-byte header) or sealed (20), payload as given. */
static GBytes *
frame_new (const char *payload, gboolean sealed)
{
  gsize header = sealed ? DSM_FRAME_SEALED_HEADER_BYTES : DSM_FRAME_HEADER_BYTES;
  gsize length = strlen (payload);
  guint8 *bytes = g_malloc0 (header + length);

  bytes[0] = (guint8) (length >> 24);
  bytes[1] = (guint8) (length >> 16);
  bytes[2] = (guint8) (length >> 8);
  bytes[3] = (guint8) length;
  memset (bytes + 4, 0xab, header - 4);
  memcpy (bytes + header, payload, length);
  return g_bytes_new_take (bytes, header + length);
}

static void
send_all (GSocket *socket, GBytes *bytes)
{
  gsize size = 0;
  const char *data = g_bytes_get_data (bytes, &size);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_socket_send (socket, data, size, NULL, &error), ==, (gssize) size);
  g_assert_no_error (error);
}

static void
send_frame (GSocket *socket, const char *payload, gboolean sealed)
{
  g_autoptr(GBytes) frame = frame_new (payload, sealed);
  send_all (socket, frame);
}

/* Reads exactly @size bytes within the budget; returns how many came
 * before the peer closed or the budget ran out. */
static gsize
recv_bytes (GSocket *socket, guint8 *out, gsize size, gint64 budget_us)
{
  gsize got = 0;
  gint64 deadline = g_get_monotonic_time () + budget_us;

  while (got < size)
    {
      g_autoptr(GError) error = NULL;
      gint64 left = deadline - g_get_monotonic_time ();
      if (left <= 0 || !g_socket_condition_timed_wait (socket, G_IO_IN, left, NULL, NULL))
        break;
      gssize n = g_socket_receive (socket, (char *) out + got, size - got, NULL, &error);
      if (n <= 0)
        break;
      got += (gsize) n;
    }
  return got;
}

/* Whether the peer closed @socket (EOF or reset) within the budget. */
static gboolean
closed_within (GSocket *socket, gint64 budget_us)
{
  gint64 deadline = g_get_monotonic_time () + budget_us;

  for (;;)
    {
      guint8 byte;
      g_autoptr(GError) error = NULL;
      gint64 left = deadline - g_get_monotonic_time ();
      if (left <= 0 || !g_socket_condition_timed_wait (socket, G_IO_IN, left, NULL, NULL))
        return FALSE;
      gssize n = g_socket_receive (socket, (char *) &byte, 1, NULL, &error);
      if (n <= 0)
        return TRUE;
    }
}

static void
expect_frame (GSocket *socket, const char *payload, gboolean sealed)
{
  g_autoptr(GBytes) want = frame_new (payload, sealed);
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (want, &size);
  g_autofree guint8 *got = g_malloc (size);

  g_assert_cmpuint (recv_bytes (socket, got, size, BUDGET_US), ==, size);
  g_assert_cmpmem (got, size, data, size);
}

static char *
hello_payload (DsmNodeId from, DsmNodeId to)
{
  char nonce[DSM_HANDSHAKE_NONCE_HEX + 1];
  dsm_handshake_new_nonce (nonce);
  DsmHandshake hello = { .kind = DSM_HANDSHAKE_HELLO, .protocol = DSM_PROTOCOL_VERSION,
                         .cluster_id = (char *) "test", .from = from, .to = to, .nonce = nonce,
                         .auth = TRUE };
  return dsm_handshake_encode (&hello);
}

/* Node 1 dials node 2 through the proxy and both finish the handshake's
 * frames: from here on frames are sealed. */
static void
fixture_connect (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) front = g_inet_socket_address_new (lo, dsm_proxy_get_port (f->proxy, 2));
  g_autofree char *hello = hello_payload (1, 2);

  g_clear_object (&f->dialer);
  g_clear_object (&f->acceptor);
  f->dialer = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_true (g_socket_connect (f->dialer, front, NULL, &error));
  g_assert_no_error (error);
  send_frame (f->dialer, hello, FALSE);
  g_assert_true (g_socket_condition_timed_wait (f->listener, G_IO_IN, BUDGET_US, NULL, NULL));
  f->acceptor = g_socket_accept (f->listener, NULL, &error);
  g_assert_no_error (error);
  expect_frame (f->acceptor, hello, FALSE);
  send_frame (f->acceptor, "{\"welcome\":{}}", FALSE);
  expect_frame (f->dialer, "{\"welcome\":{}}", FALSE);
  send_frame (f->dialer, "{\"ready\":{}}", FALSE);
  expect_frame (f->acceptor, "{\"ready\":{}}", FALSE);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  guint16 ports[3] = { 0 };
  g_autoptr(GError) error = NULL;

  f->listener = listen_loopback (&f->port2);
  ports[1] = 1; /* node 1 is never dialed here */
  ports[2] = f->port2;
  f->proxy = dsm_proxy_new (2, ports, TRUE, 0, 0, 7, &error);
  g_assert_no_error (error);
  fixture_connect (f);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->dialer);
  g_clear_object (&f->acceptor);
  dsm_proxy_free (f->proxy);
  g_object_unref (f->listener);
}

/* The proxy counts a frame just after sending it: its counters may
 * trail what a socket already received, briefly. */
static void
wait_frames (DsmProxy *proxy, guint64 frames)
{
  gint64 deadline = g_get_monotonic_time () + BUDGET_US;
  DsmProxyStats stats;

  do
    {
      dsm_proxy_get_stats (proxy, &stats);
      if (stats.frames >= frames)
        break;
      g_thread_yield ();
    }
  while (g_get_monotonic_time () < deadline);
  g_assert_cmpuint (stats.frames, ==, frames);
}

static void
test_forwards_unchanged (Fixture *f, gconstpointer data)
{
  DsmProxyStats stats;

  g_test_summary ("An open link forwards every frame both ways, byte for byte.");
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *a = g_strdup_printf ("{\"n\":%u,\"dir\":\"a\"}", i);
      g_autofree char *b = g_strdup_printf ("{\"n\":%u,\"dir\":\"b\"}", i);
      send_frame (f->dialer, a, TRUE);
      send_frame (f->acceptor, b, TRUE);
      expect_frame (f->acceptor, a, TRUE);
      expect_frame (f->dialer, b, TRUE);
    }
  wait_frames (f->proxy, 43);
  dsm_proxy_get_stats (f->proxy, &stats);
  g_assert_cmpuint (stats.connections, ==, 1);
}

static void
test_one_way_hold (Fixture *f, gconstpointer data)
{
  guint8 byte;

  g_test_summary ("A one-way cut holds frames from 1 to 2 while 2's reach 1; healing "
                  "delivers the held ones, in order.");
  dsm_proxy_set_link (f->proxy, 1, 2, DSM_PROXY_HOLD);
  g_assert_true (dsm_proxy_is_faulty (f->proxy));
  send_frame (f->dialer, "{\"held\":1}", TRUE);
  send_frame (f->dialer, "{\"held\":2}", TRUE);
  send_frame (f->acceptor, "{\"flows\":1}", TRUE);
  expect_frame (f->dialer, "{\"flows\":1}", TRUE);
  /* The other way round nothing arrives while it holds. */
  g_assert_cmpuint (recv_bytes (f->acceptor, &byte, 1, G_USEC_PER_SEC / 5), ==, 0);
  dsm_proxy_heal (f->proxy);
  g_assert_false (dsm_proxy_is_faulty (f->proxy));
  expect_frame (f->acceptor, "{\"held\":1}", TRUE);
  expect_frame (f->acceptor, "{\"held\":2}", TRUE);
}

static void
test_partition_cuts_and_refuses (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) front = g_inet_socket_address_new (lo, dsm_proxy_get_port (f->proxy, 2));
  g_autofree char *hello = hello_payload (1, 2);
  DsmProxyStats stats;

  g_test_summary ("A partition closes the pair's connection on both sides and closes a new "
                  "one at its hello; after the heal a new one goes through.");
  dsm_proxy_set_link (f->proxy, 1, 2, DSM_PROXY_DROP);
  dsm_proxy_set_link (f->proxy, 2, 1, DSM_PROXY_DROP);
  g_assert_true (closed_within (f->dialer, BUDGET_US));
  g_assert_true (closed_within (f->acceptor, BUDGET_US));

  g_autoptr(GSocket) again = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_true (g_socket_connect (again, front, NULL, &error));
  send_frame (again, hello, FALSE);
  g_assert_true (closed_within (again, BUDGET_US));
  dsm_proxy_get_stats (f->proxy, &stats);
  g_assert_cmpuint (stats.cut_partition, ==, 1);
  g_assert_cmpuint (stats.refused, ==, 1);

  dsm_proxy_heal (f->proxy);
  fixture_connect (f);
  send_frame (f->dialer, "{\"after\":1}", TRUE);
  expect_frame (f->acceptor, "{\"after\":1}", TRUE);
}

static void
test_loss_resets (Fixture *f, gconstpointer data)
{
  DsmProxyStats stats;

  g_test_summary ("A lost frame is lost with its connection: both sides see it close, the "
                  "frame never arrives.");
  dsm_proxy_set_loss (f->proxy, 100, g_get_monotonic_time () + 60 * G_USEC_PER_SEC);
  send_frame (f->dialer, "{\"lost\":1}", TRUE);
  g_assert_true (closed_within (f->acceptor, BUDGET_US));
  g_assert_true (closed_within (f->dialer, BUDGET_US));
  dsm_proxy_get_stats (f->proxy, &stats);
  g_assert_cmpuint (stats.reset_loss, ==, 1);
}

static void
test_base_loss_outlives_heal (Fixture *f, gconstpointer data)
{
  DsmProxyStats stats;

  g_test_summary ("The network's own loss (a scenario's network.loss_percent) is no window: "
                  "a heal does not end it, and a frame it loses resets its connection.");
  dsm_proxy_set_base_loss (f->proxy, 100);
  dsm_proxy_heal (f->proxy);
  send_frame (f->dialer, "{\"lost\":1}", TRUE);
  g_assert_true (closed_within (f->acceptor, BUDGET_US));
  g_assert_true (closed_within (f->dialer, BUDGET_US));
  dsm_proxy_get_stats (f->proxy, &stats);
  g_assert_cmpuint (stats.reset_loss, ==, 1);
}

static void
test_corrupt_flips_one_bit (Fixture *f, gconstpointer data)
{
  const char *payload = "{\"type\":\"commit\",\"epoch\":3,\"commit\":17}";
  g_autoptr(GBytes) sent = frame_new (payload, TRUE);
  gsize size = 0;
  const guint8 *bytes = g_bytes_get_data (sent, &size);
  g_autofree guint8 *got = g_malloc (size);
  guint bits = 0;

  g_test_summary ("A corrupt frame arrives whole with exactly one bit of its payload flipped "
                  "(the receiver's tag check must refuse it); the header is untouched.");
  dsm_proxy_set_corrupt (f->proxy, 100, FALSE, g_get_monotonic_time () + 60 * G_USEC_PER_SEC);
  send_all (f->dialer, sent);
  g_assert_cmpuint (recv_bytes (f->acceptor, got, size, BUDGET_US), ==, size);
  g_assert_cmpmem (got, DSM_FRAME_SEALED_HEADER_BYTES, bytes, DSM_FRAME_SEALED_HEADER_BYTES);
  for (gsize i = 0; i < size; i++)
    bits += (guint) __builtin_popcount (got[i] ^ bytes[i]);
  g_assert_cmpuint (bits, ==, 1);
}

static void
test_truncate_closes (Fixture *f, gconstpointer data)
{
  const char *payload = "{\"type\":\"commit\",\"epoch\":3,\"commit\":17}";
  gsize size = DSM_FRAME_SEALED_HEADER_BYTES + strlen (payload);
  g_autofree guint8 *got = g_malloc (size);

  g_test_summary ("A truncated frame arrives cut short, then its connection closes.");
  dsm_proxy_set_corrupt (f->proxy, 100, TRUE, g_get_monotonic_time () + 60 * G_USEC_PER_SEC);
  send_frame (f->dialer, payload, TRUE);
  gsize n = recv_bytes (f->acceptor, got, size, BUDGET_US);
  g_assert_cmpuint (n, >=, DSM_FRAME_SEALED_HEADER_BYTES);
  g_assert_cmpuint (n, <, size);
}

static void
test_delay_keeps_order (Fixture *f, gconstpointer data)
{
  g_test_summary ("A delay window holds frames back but keeps their order.");
  dsm_proxy_set_delay (f->proxy, 30, g_get_monotonic_time () + 60 * G_USEC_PER_SEC);
  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *p = g_strdup_printf ("{\"n\":%u}", i);
      send_frame (f->dialer, p, TRUE);
    }
  for (guint i = 0; i < 10; i++)
    {
      g_autofree char *p = g_strdup_printf ("{\"n\":%u}", i);
      expect_frame (f->acceptor, p, TRUE);
    }
}

static void
test_bad_hello_refused (void)
{
  g_autoptr(GError) error = NULL;
  guint16 port = 0;
  g_autoptr(GSocket) listener = listen_loopback (&port);
  guint16 ports[3] = { 0, 1, port };
  g_autoptr(DsmProxy) proxy = dsm_proxy_new (2, ports, TRUE, 0, 0, 1, &error);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) front = g_inet_socket_address_new (lo, dsm_proxy_get_port (proxy, 2));
  g_autofree char *wrong_node = hello_payload (1, 1);

  g_test_summary ("A connection whose first frame is not a hello to the front's node, or "
                  "whose length is absurd, is closed unread by the node.");
  const char *firsts[] = { "{\"not\":\"a hello\"}", wrong_node };
  for (guint i = 0; i < G_N_ELEMENTS (firsts); i++)
    {
      g_autoptr(GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
      g_assert_true (g_socket_connect (s, front, NULL, &error));
      send_frame (s, firsts[i], FALSE);
      g_assert_true (closed_within (s, BUDGET_US));
    }
  g_autoptr(GSocket) huge = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_true (g_socket_connect (huge, front, NULL, &error));
  g_assert_cmpint (g_socket_send (huge, "\xff\xff\xff\xff\0\0\0\0", 8, NULL, &error), ==, 8);
  g_assert_true (closed_within (huge, BUDGET_US));
  g_assert_false (g_socket_condition_timed_wait (listener, G_IO_IN, 0, NULL, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/real/proxy/forwards-unchanged", test_forwards_unchanged);
  ADD ("/real/proxy/one-way-hold", test_one_way_hold);
  ADD ("/real/proxy/partition-cuts-and-refuses", test_partition_cuts_and_refuses);
  ADD ("/real/proxy/loss-resets", test_loss_resets);
  ADD ("/real/proxy/base-loss-outlives-heal", test_base_loss_outlives_heal);
  ADD ("/real/proxy/corrupt-flips-one-bit", test_corrupt_flips_one_bit);
  ADD ("/real/proxy/truncate-closes", test_truncate_closes);
  ADD ("/real/proxy/delay-keeps-order", test_delay_keeps_order);
#undef ADD
  g_test_add_func ("/real/proxy/bad-hello-refused", test_bad_hello_refused);
  return g_test_run ();
}
