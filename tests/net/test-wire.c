/* tests/net/test-wire.c: the native protocol's encoder (client/dsm-wire.c)
 * on its own: every message type at both versions encodes to the bytes the
 * field-by-field encoder wrote (kept here as hex), sizes its frame exactly
 * (dsm_wire_encoded_bytes()), writes the same frame into a caller's buffer
 * (dsm_wire_encode_into(), as a node's answers do), decodes back with
 * every string in one block (and packs a hand-built one's alike), and cuts
 * an over-long string at a character boundary. */
#include <string.h>

#include "client/dsm-wire.h"

/* Messages of every type at both versions, with empty, NULL and
 * multi-byte strings (a long one: test_long_string_cut()). */
typedef struct { DsmWireMsg msg; guint version; } WireSample;
static const WireSample samples[] = {
  { { .type = DSM_WIRE_HELLO, .id = 1, .version = 2, .token = (char *) "s3cret" }, 2 },
  { { .type = DSM_WIRE_TRANSITION, .id = 0x0102030405060708, .machine = (char *) "order-17", .to = (char *) "Running",
      .from = (char *) "Init", .definition = (char *) "lifecycle", .client_id = (char *) "c\xc3\xa9", .seq = 9,
      .flags = 1, .if_revision = 5, .payload = (char *) "{\"a\":1}" }, 2 },
  { { .type = DSM_WIRE_TRANSITION, .id = 3, .machine = (char *) "m", .to = (char *) "Running", .seq = 0,
      .flags = 1, .if_revision = 5, .payload = (char *) "{}" }, 1 },
  { { .type = DSM_WIRE_READ, .id = 4, .machine = (char *) "m", .flags = DSM_WIRE_READ_STALE }, 2 },
  { { .type = DSM_WIRE_WELCOME, .id = 5, .version = 2, .node = 3, .role = (char *) "write", .leader = 1,
      .leader_address = (char *) "127.0.0.1:7201", .max_in_flight = 256, .max_frame_bytes = 65536 }, 2 },
  { { .type = DSM_WIRE_RESULT, .id = 6, .status = 0, .index = 42, .machine = (char *) "order-17",
      .state = (char *) "Running", .revision = 7 }, 2 },
  { { .type = DSM_WIRE_RESULT, .id = 6, .status = 0, .index = 42, .machine = (char *) "order-17",
      .state = (char *) "Running", .revision = 7, .data = (char *) "{\"x\":true}" }, 1 },
  { { .type = DSM_WIRE_RESULT, .id = 7, .status = 1, .reason = (char *) "invalid_transition", .index = 0,
      .machine = (char *) "m", .state = (char *) "Init", .detail = (char *) "Init -> Done is not allowed",
      .revision = 3, .data = (char *) "{\"x\":true}" }, 2 },
  { { .type = DSM_WIRE_ERROR, .id = 8, .code = (char *) "not_leader", .closing = 0, .leader = 2,
      .leader_address = (char *) "127.0.0.1:7202", .retry_after_ms = 50, .message = (char *) "this node does not lead" }, 2 },
};

/* dsm_wire_encode_version() of each sample before it sized its frames once
 * (tree 7a51cec): the encoding did not change. */
static const char *const golden[] = {
  "00000013db71f86601000000000000000100020006733363726574",
  "0000004eba7c773302010203040506070800086f726465722d3137000752756e6e696e670004496e697400096c6966656379636c65000363c3a90000000000000009010000000000000005000000077b2261223a317d",
  "00000023b0665f5002000000000000000300016d000752756e6e696e670000000000000000000000000000",
  "0000000fb1ca7b7503000000000000000400016d000001",
  "00000032de7f4df28100000000000000050002000000030005777269746500000001000e3132372e302e302e313a373230310000010000010000",
  "000000359df01d4a820000000000000006000000000000000000002a00086f726465722d3137000752756e6e696e670000000000000000000700000000",
  "00000029930d03c1820000000000000006000000000000000000002a00086f726465722d3137000752756e6e696e670000",
  "00000062a3b316cf820000000000000007010012696e76616c69645f7472616e736974696f6e000000000000000000016d0004496e6974001b496e6974202d3e20446f6e65206973206e6f7420616c6c6f77656400000000000000030000000a7b2278223a747275657d",
  "00000047a701412b830000000000000008000a6e6f745f6c65616465720000000002000e3132372e302e302e313a3732303200000032001774686973206e6f646520646f6573206e6f74206c656164",
};

G_STATIC_ASSERT (G_N_ELEMENTS (golden) == G_N_ELEMENTS (samples));

static char *
hex (const guint8 *data, gsize length)
{
  GString *s = g_string_sized_new (length * 2);

  for (gsize i = 0; i < length; i++)
    g_string_append_printf (s, "%02x", data[i]);
  return g_string_free (s, FALSE);
}

static void
test_golden (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      const WireSample *w = &samples[i];
      g_autoptr(GByteArray) out = g_byte_array_new ();
      gsize size = dsm_wire_encoded_bytes (&w->msg, w->version);

      /* Appended after what the buffer already holds. */
      g_byte_array_append (out, (const guint8 *) "xyz", 3);
      dsm_wire_encode_version (&w->msg, w->version, out);
      g_autofree char *got = hex (out->data + 3, out->len - 3);
      g_assert_cmpstr (got, ==, golden[i]);
      g_assert_cmpmem (out->data, 3, "xyz", 3);
      g_assert_cmpuint (size, ==, out->len - 3);

      /* Into a buffer of exactly its size. */
      g_autofree guint8 *into = g_malloc (size);
      g_assert_cmpuint (dsm_wire_encode_into (&w->msg, w->version, into, size), ==, size);
      g_assert_cmpmem (into, size, out->data + 3, size);
    }
}

static void
test_round_trip (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (samples); i++)
    {
      const WireSample *w = &samples[i];
      g_autoptr(GByteArray) out = g_byte_array_new ();
      g_autoptr(GError) error = NULL;
      const guint8 *payload;
      gsize length, used;
      DsmWireMsg msg;

      dsm_wire_encode_version (&w->msg, w->version, out);
      g_assert_cmpint (dsm_wire_cut (out->data, out->len, 1 << 20, &payload, &length, &used, &error), ==, 1);
      g_assert_cmpuint (used, ==, out->len);
      g_assert_true (dsm_wire_decode_version (payload, length, (w->msg.type & 0x80) == 0, w->version, &msg, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (msg.type, ==, w->msg.type);
      g_assert_cmpuint (msg.id, ==, w->msg.id);
      g_assert_cmpstr (msg.machine, ==, w->msg.machine);
      g_assert_cmpstr (msg.state, ==, w->msg.state);
      g_assert_cmpstr (msg.message, ==, w->msg.message);
      /* Version 1 leaves version 2's fields out. */
      g_assert_cmpstr (msg.payload, ==, w->version >= 2 ? w->msg.payload : NULL);
      g_assert_cmpstr (msg.data, ==, w->version >= 2 ? w->msg.data : NULL);
      g_assert_cmpuint (msg.revision, ==, w->version >= 2 ? w->msg.revision : 0);
      dsm_wire_msg_clear (&msg);
    }
}

static gboolean
inside (const char *s, const char *block, gsize size)
{
  return s >= block && s + strlen (s) < block + size;
}

/* A decoded message's strings share one allocation, DsmWireMsg.strings:
 * every field points into it, each NUL-terminated, and
 * dsm_wire_msg_clear() frees it (a leak or a double free shows under
 * ASan).  One without strings has no block; a message that fails to
 * decode keeps none either. */
static void
test_decode_one_block (void)
{
  const WireSample *w = &samples[1];    /* a transition: five strings and a payload */
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  const guint8 *payload;
  gsize length, used;
  DsmWireMsg msg;

  dsm_wire_encode_version (&w->msg, w->version, out);
  g_assert_cmpint (dsm_wire_cut (out->data, out->len, 1 << 20, &payload, &length, &used, &error), ==, 1);
  g_assert_true (dsm_wire_decode_version (payload, length, TRUE, w->version, &msg, &error));
  g_assert_nonnull (msg.strings);
  gsize size = 0;
  const char *fields[] = { msg.machine, msg.to, msg.from, msg.definition, msg.client_id, msg.payload };
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    size += strlen (fields[i]) + 1;
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    g_assert_true (inside (fields[i], msg.strings, size));
  g_assert_cmpstr (msg.client_id, ==, "c\xc3\xa9");
  g_assert_cmpstr (msg.payload, ==, "{\"a\":1}");
  dsm_wire_msg_clear (&msg);
  g_assert_null (msg.strings);

  /* No string: no block. */
  DsmWireMsg bare = { .type = DSM_WIRE_READ, .id = 2 };
  g_byte_array_set_size (out, 0);
  dsm_wire_encode_version (&bare, 2, out);
  g_assert_cmpint (dsm_wire_cut (out->data, out->len, 1 << 20, &payload, &length, &used, &error), ==, 1);
  g_assert_true (dsm_wire_decode_version (payload, length, TRUE, 2, &msg, &error));
  g_assert_null (msg.strings);
  g_assert_null (msg.machine);
  dsm_wire_msg_clear (&msg);

  /* Cut after its first string: an error, and nothing held. */
  g_byte_array_set_size (out, 0);
  dsm_wire_encode_version (&w->msg, w->version, out);
  g_assert_false (dsm_wire_decode_version (out->data + DSM_WIRE_HEADER_BYTES, DSM_WIRE_PAYLOAD_MIN + 2 + 8 + 1, TRUE,
                                           w->version, &msg, &error));
  g_assert_error (error, DSM_WIRE_ERROR_DOMAIN, DSM_WIRE_ERROR_TRUNCATED);
  g_assert_null (msg.strings);
  g_assert_null (msg.machine);
  g_assert_cmpuint (msg.id, ==, w->msg.id);
  dsm_wire_msg_clear (&msg);

  /* Built by hand, each string its own: cleared one by one. */
  DsmWireMsg own = { .type = DSM_WIRE_ERROR, .code = g_strdup ("bad_request"), .message = g_strdup ("no") };
  dsm_wire_msg_clear (&own);
  g_assert_null (own.code);
}

/* A request built from its caller's strings keeps copies in one block
 * (dsm_wire_msg_copy_strings(), as libdsm-client builds each): the
 * caller's own are untouched, absent ones stay NULL, the frame is the
 * same, and dsm_wire_msg_clear() frees the block. */
static void
test_copy_strings (void)
{
  const WireSample *w = &samples[1];
  DsmWireMsg m = w->msg;
  g_autoptr(GByteArray) before = g_byte_array_new ();
  g_autoptr(GByteArray) after = g_byte_array_new ();

  dsm_wire_encode_version (&m, w->version, before);
  dsm_wire_msg_copy_strings (&m);
  g_assert_nonnull (m.strings);
  g_assert_true (m.machine != w->msg.machine);
  g_assert_cmpstr (m.machine, ==, w->msg.machine);
  gsize size = 0;
  const char *fields[] = { m.machine, m.to, m.from, m.definition, m.client_id, m.payload };
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    size += strlen (fields[i]) + 1;
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    g_assert_true (inside (fields[i], m.strings, size));
  g_assert_null (m.token);
  dsm_wire_encode_version (&m, w->version, after);
  g_assert_cmpmem (before->data, before->len, after->data, after->len);
  dsm_wire_msg_clear (&m);

  DsmWireMsg bare = { .type = DSM_WIRE_READ, .id = 2 };
  dsm_wire_msg_copy_strings (&bare);
  g_assert_null (bare.strings);
  dsm_wire_msg_clear (&bare);
}

/* A string longer than a u16 can say loses its tail at a character
 * boundary: here a 2-byte character straddles byte 65,535. */
static void
test_long_string_cut (void)
{
  gsize n = G_MAXUINT16 + 3;
  g_autofree char *message = g_malloc (n + 1);
  DsmWireMsg m = { .type = DSM_WIRE_ERROR, .id = 9, .code = (char *) "bad_request", .message = message };
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  const guint8 *payload;
  gsize length, used;
  DsmWireMsg back;

  memset (message, 'a', n);
  message[G_MAXUINT16 - 1] = (char) 0xc3;
  message[G_MAXUINT16] = (char) 0xa9;
  message[n] = '\0';
  dsm_wire_encode_version (&m, 2, out);
  g_assert_cmpuint (dsm_wire_encoded_bytes (&m, 2), ==, out->len);
  g_assert_cmpint (dsm_wire_cut (out->data, out->len, 1 << 20, &payload, &length, &used, &error), ==, 1);
  g_assert_true (dsm_wire_decode_version (payload, length, FALSE, 2, &back, &error));
  g_assert_cmpuint (strlen (back.message), ==, G_MAXUINT16 - 1);
  g_assert_cmpmem (back.message, G_MAXUINT16 - 1, message, G_MAXUINT16 - 1);
  dsm_wire_msg_clear (&back);
}

/* A node keeps room for a write's answer in each request
 * (NATIVE_ANSWER_ROOM_BYTES, 128 in net/native-private.h): a result naming
 * a machine and a state of 32 bytes each takes 110. */
static void
test_answer_size (void)
{
  char name[33];
  memset (name, 'n', 32);
  name[32] = '\0';
  DsmWireMsg m = { .type = DSM_WIRE_RESULT, .id = G_MAXUINT64, .index = G_MAXUINT64, .machine = name,
                   .state = name, .revision = G_MAXUINT64 };

  g_assert_cmpuint (dsm_wire_encoded_bytes (&m, 2), ==, 110);
  g_assert_cmpuint (dsm_wire_encoded_bytes (&m, 1), ==, 98);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/wire/encode-golden", test_golden);
  g_test_add_func ("/net/wire/round-trip", test_round_trip);
  g_test_add_func ("/net/wire/decode-one-block", test_decode_one_block);
  g_test_add_func ("/net/wire/copy-strings", test_copy_strings);
  g_test_add_func ("/net/wire/long-string-cut", test_long_string_cut);
  g_test_add_func ("/net/wire/answer-size", test_answer_size);
  return g_test_run ();
}
