/* tests/net/native-raw.c: raw frames to a node's native port
 * (native-raw.h), shared by the native protocol's tests. */
#include "native-raw.h"

NativeRaw *
native_raw_new (GIOStream *stream)
{
  NativeRaw *raw = g_new0 (NativeRaw, 1);

  raw->stream = stream;
  raw->rx = g_byte_array_new ();
  raw->version = DSM_WIRE_VERSION;
  return raw;
}

NativeRaw *
native_raw_connect (Cluster *c, guint id)
{
  g_autoptr(GSocketClient) sc = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *address = cluster_native_address (c, id);
  GSocketConnection *conn = g_socket_client_connect_to_host (sc, address, 0, NULL, &error);

  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (conn), CLUSTER_REQUEST_TIMEOUT_S);
  return native_raw_new (G_IO_STREAM (conn));
}

void
native_raw_free (NativeRaw *raw)
{
  g_object_unref (raw->stream);
  g_byte_array_unref (raw->rx);
  g_free (raw);
}

void
native_raw_send_bytes (NativeRaw *raw, const guint8 *data, gsize length)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (raw->stream), data, length, NULL, NULL, &error);
  g_assert_no_error (error);
}

void
native_raw_send (NativeRaw *raw, const DsmWireMsg *msg)
{
  g_autoptr(GByteArray) frame = g_byte_array_new ();

  dsm_wire_encode_version (msg, raw->version, frame);
  native_raw_send_bytes (raw, frame->data, frame->len);
}

gboolean
native_raw_next (NativeRaw *raw, DsmWireMsg *msg)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      const guint8 *payload;
      gsize length, used;
      guint8 buf[4096];
      int cut = dsm_wire_cut (raw->rx->data, raw->rx->len, 1 << 20, &payload, &length, &used, &error);

      g_assert_no_error (error);
      if (cut > 0)
        {
          g_assert_true (dsm_wire_decode_version (payload, length, FALSE, raw->version, msg, &error));
          g_assert_no_error (error);
          g_byte_array_remove_range (raw->rx, 0, (guint) used);
          return TRUE;
        }
      gssize n = g_input_stream_read (g_io_stream_get_input_stream (raw->stream), buf, sizeof buf, NULL, &error);
      if (n <= 0)
        return FALSE;
      g_byte_array_append (raw->rx, buf, (guint) n);
    }
}

void
native_raw_hello (NativeRaw *raw, const char *token)
{
  DsmWireMsg hello = { .type = DSM_WIRE_HELLO, .id = 1, .version = (guint16) raw->version, .token = (char *) token };
  DsmWireMsg answer;

  native_raw_send (raw, &hello);
  g_assert_true (native_raw_next (raw, &answer));
  g_assert_cmpint (answer.type, ==, DSM_WIRE_WELCOME);
  g_assert_cmpuint (answer.id, ==, 1);
  g_assert_cmpuint (answer.version, ==, raw->version);
  dsm_wire_msg_clear (&answer);
}

void
native_raw_expect_error (NativeRaw *raw, const char *code, gboolean closing)
{
  DsmWireMsg answer;

  g_assert_true (native_raw_next (raw, &answer));
  g_assert_cmpint (answer.type, ==, DSM_WIRE_ERROR);
  g_assert_cmpstr (answer.code, ==, code);
  g_assert_nonnull (answer.message);
  g_assert_cmpint (answer.closing, ==, closing);
  dsm_wire_msg_clear (&answer);
  if (closing)
    g_assert_false (native_raw_next (raw, &answer));
}

void
native_raw_expect_ok (NativeRaw *raw, const DsmWireMsg *msg, DsmWireMsg *answer)
{
  DsmWireMsg got;

  native_raw_send (raw, msg);
  g_assert_true (native_raw_next (raw, &got));
  g_assert_cmpint (got.type, ==, DSM_WIRE_RESULT);
  g_assert_cmpuint (got.id, ==, msg->id);
  g_assert_cmpint (got.status, ==, DSM_WIRE_STATUS_OK);
  if (answer != NULL)
    *answer = got;
  else
    dsm_wire_msg_clear (&got);
}

DsmWireMsg
native_raw_transition (guint64 id, const char *machine, const char *to)
{
  DsmWireMsg m = { .type = DSM_WIRE_TRANSITION, .id = id, .machine = (char *) machine, .to = (char *) to };
  return m;
}
