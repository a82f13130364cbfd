/* tests/net/test-client-version.c: libdsm-client against a node of
 * protocol version 1 (docs/CLIENT.md, "Versions"), played by a fake node on
 * a thread of this process over real loopback TCP: the library says hello
 * again in version 1, reads and plain transitions work, and a transition
 * with a payload fails "unsupported" rather than go without it. */
#include <string.h>

#include "client/dsm-client.h"
#include "client/dsm-wire.h"

typedef struct {
  GSocket *listener;
  guint16 port;
  GThread *thread;
  guint hellos[3];              /* by version said */
  guint requests;               /* answered in version 1 */
} Fake;

/* The next frame's payload, decoded in version 1; FALSE at the end. */
static gboolean
fake_next (GSocket *socket, GByteArray *rx, DsmWireMsg *msg)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      const guint8 *payload;
      gsize length, used;
      guint8 buf[4096];
      int cut = dsm_wire_cut (rx->data, rx->len, 65536, &payload, &length, &used, &error);

      g_assert_cmpint (cut, >=, 0);
      if (cut > 0)
        {
          /* A version-1 node: a version-2 request is trailing bytes to it. */
          gboolean ok = dsm_wire_decode_version (payload, length, TRUE, 1, msg, &error);
          g_assert_no_error (error);
          g_assert_true (ok);
          g_byte_array_remove_range (rx, 0, (guint) used);
          return TRUE;
        }
      gssize n = g_socket_receive (socket, (gchar *) buf, sizeof buf, NULL, NULL);
      if (n <= 0)
        return FALSE;
      g_byte_array_append (rx, buf, (guint) n);
    }
}

static void
fake_send (GSocket *socket, const DsmWireMsg *msg)
{
  g_autoptr(GByteArray) frame = g_byte_array_new ();

  dsm_wire_encode_version (msg, 1, frame);
  g_assert_cmpint (g_socket_send (socket, (const gchar *) frame->data, frame->len, NULL, NULL), ==, frame->len);
}

/* Serves connections until one in version 1 ends. */
static gpointer
fake_run (gpointer data)
{
  Fake *fake = data;
  gboolean served_v1 = FALSE;

  while (!served_v1)
    {
      g_autoptr(GSocket) socket = g_socket_accept (fake->listener, NULL, NULL);
      g_autoptr(GByteArray) rx = g_byte_array_new ();
      DsmWireMsg hello;

      g_assert_nonnull (socket);
      if (!fake_next (socket, rx, &hello))
        continue;
      g_assert_cmpint (hello.type, ==, DSM_WIRE_HELLO);
      fake->hellos[MIN (hello.version, 2)]++;
      if (hello.version != 1)
        {
          DsmWireMsg refusal = { .type = DSM_WIRE_ERROR, .id = hello.id, .closing = 1,
                                 .code = (char *) "bad_version", .message = (char *) "this node speaks 1" };
          fake_send (socket, &refusal);
          dsm_wire_msg_clear (&hello);
          continue;
        }
      DsmWireMsg welcome = { .type = DSM_WIRE_WELCOME, .id = hello.id, .version = 1, .node = 1, .role = (char *) "admin",
                             .leader = 1, .max_in_flight = 4, .max_frame_bytes = 65536 };
      fake_send (socket, &welcome);
      dsm_wire_msg_clear (&hello);
      served_v1 = TRUE;
      DsmWireMsg m;
      while (fake_next (socket, rx, &m))
        {
          DsmWireMsg result = { .type = DSM_WIRE_RESULT, .id = m.id, .status = DSM_WIRE_STATUS_OK, .index = 7,
                                .machine = m.machine, .state = (char *) (m.type == DSM_WIRE_READ ? "Init" : m.to) };
          fake_send (socket, &result);
          fake->requests++;
          dsm_wire_msg_clear (&m);
        }
    }
  return NULL;
}

static void
test_version_1_node (void)
{
  Fake fake = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *address = NULL;
  DsmClientOptions options;
  DsmClientTransitionOptions t;

  g_test_summary ("A node of protocol version 1 refuses libdsm-client's version-2 hello with bad_version: the "
                  "library says hello again in version 1 on the same node, reads and plain transitions work "
                  "(revision 0, no data), and a transition with a payload fails unsupported, never sent.");
  fake.listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (fake.listener, any, TRUE, &error));
  g_assert_true (g_socket_listen (fake.listener, &error));
  bound = g_socket_get_local_address (fake.listener, &error);
  g_assert_no_error (error);
  fake.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  address = g_strdup_printf ("127.0.0.1:%u", fake.port);
  fake.thread = g_thread_new ("fake-node", fake_run, &fake);

  const char *nodes[] = { address, NULL };
  dsm_client_options_init (&options);
  options.nodes = nodes;
  options.attempts = 3;
  DsmClient *client = dsm_client_new (&options, NULL);
  dsm_client_transition_options_init (&t);
  t.payload = "{\"owner\": \"ann\"}";
  DsmClientResult *refused = dsm_client_transition_full_sync (client, "old-a", "Running", &t, &error);
  g_assert_null (refused);
  g_assert_error (error, DSM_CLIENT_ERROR, DSM_CLIENT_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "unsupported"));
  g_clear_error (&error);

  DsmClientResult *read = dsm_client_read_sync (client, "old-a", NULL, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (read->status, ==, DSM_CLIENT_OK);
  g_assert_cmpstr (read->state, ==, "Init");
  g_assert_cmpuint (read->revision, ==, 0);
  g_assert_null (read->data);
  dsm_client_result_free (read);
  DsmClientResult *moved = dsm_client_transition_sync (client, "old-a", "Running", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (moved->state, ==, "Running");
  dsm_client_result_free (moved);
  dsm_client_free (client);

  g_thread_join (fake.thread);
  g_assert_cmpuint (fake.hellos[2], ==, 1);
  g_assert_cmpuint (fake.hellos[1], ==, 1);
  g_assert_cmpuint (fake.requests, ==, 2);
  g_object_unref (fake.listener);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/native/client/version-1-node", test_version_1_node);
  return g_test_run ();
}
