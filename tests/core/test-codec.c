/* tests/core/test-codec.c: the JSON wire format: round trips, exact
 * encodings, limits, and refusal of malformed or hostile input. */
#include <string.h>

#include "codec.h"
#include "error.h"
#include "wire-samples.h"

#define COMMIT_JSON \
  "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":7,\"commit_index\":12,\"hb_seq\":78}"

static DsmMessage *
round_trip (const DsmMessage *msg)
{
  g_autofree char *text = dsm_codec_encode_message (msg);
  g_autoptr(GError) error = NULL;
  DsmMessage *decoded = dsm_codec_decode_message (text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_nonnull (decoded);
  return decoded;
}

static void
test_round_trip_type (gconstpointer data)
{
  DsmMessageType type = GPOINTER_TO_INT (data);
  g_autoptr(DsmMessage) msg = sample_message (type);
  g_autoptr(DsmMessage) decoded = round_trip (msg);

  g_test_summary ("A message with every field of its type set decodes to an "
                  "equal message.");

  g_assert_true (dsm_message_equal (msg, decoded));
  g_assert_cmpint (decoded->ref_count, ==, 1);
}

static void
test_round_trip_largest_numbers (void)
{
  g_autoptr(DsmMessage) msg = dsm_message_new (DSM_MSG_REJECT, DSM_NODE_ID_MAX, DSM_NODE_ID_MAX - 1,
                                               G_GUINT64_CONSTANT (1) << 53);
  g_autoptr(DsmMessage) decoded = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("2^53 and the largest node id (2^31 - 1, the one range of every part of dsm) "
                  "survive the wire: the limits are inclusive, and an id past it is refused both "
                  "when encoding is checked and when decoding.");

  msg->reason = DSM_REJECT_STALE_EPOCH;
  msg->hint_index = G_GUINT64_CONSTANT (1) << 53;
  msg->leader_hint = DSM_NODE_ID_MAX;
  decoded = round_trip (msg);
  g_assert_true (dsm_message_equal (msg, decoded));

  msg->leader_hint = (DsmNodeId) DSM_NODE_ID_MAX + 1;
  g_assert_false (dsm_message_check (msg, &error));
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "leader_hint"));
}

static void
test_round_trip_minimal (void)
{
  g_test_summary ("Every type round-trips with all optional fields unset and "
                  "numbers zero, where its check allows.");

  for (guint i = 0; i < DSM_MSG_N_TYPES; i++)
    {
      g_autoptr(DsmMessage) msg = dsm_message_new (i, 1, 2, 0);
      g_autoptr(DsmMessage) decoded = NULL;

      if (i == DSM_MSG_REJECT)
        msg->reason = DSM_REJECT_STALE_EPOCH;
      if (i == DSM_MSG_CLIENT_REQUEST)
        {
          msg->cmd.op = DSM_OP_READ;
          msg->cmd.machine = g_strdup ("m");
        }
      if (i == DSM_MSG_SNAPSHOT)
        {
          msg->last_index = 1;
          msg->data = g_bytes_new (NULL, 0);
        }
      decoded = round_trip (msg);
      g_assert_true (dsm_message_equal (msg, decoded));
    }
}

static void
test_round_trip_chunk_sizes (void)
{
  g_test_summary ("Chunks of every length modulo 3 (base64 padding), and the "
                  "largest chunk, round-trip.");

  for (gsize size = 0; size < 8; size++)
    {
      g_autoptr(DsmMessage) msg = sample_message (DSM_MSG_SNAPSHOT);
      g_autoptr(DsmMessage) decoded = NULL;

      g_bytes_unref (msg->data);
      msg->data = sample_data (size);
      decoded = round_trip (msg);
      g_assert_true (dsm_message_equal (msg, decoded));
    }
  {
    g_autoptr(DsmMessage) msg = sample_message (DSM_MSG_SNAPSHOT);
    g_autoptr(DsmMessage) decoded = NULL;

    g_bytes_unref (msg->data);
    msg->data = sample_data (DSM_MESSAGE_CHUNK_BYTES_MAX);
    decoded = round_trip (msg);
    g_assert_true (dsm_message_equal (msg, decoded));
  }
}

static void
test_round_trip_most_entries (void)
{
  g_autoptr(DsmMessage) msg = dsm_message_new (DSM_MSG_PROPOSAL, 1, 2, 3);
  g_autoptr(DsmMessage) decoded = NULL;

  g_test_summary ("A Proposal with DSM_MESSAGE_ENTRIES_MAX entries round-trips.");

  msg->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  for (guint i = 0; i < DSM_MESSAGE_ENTRIES_MAX; i++)
    g_ptr_array_add (msg->entries, dsm_entry_new (i + 1, 3, DSM_ENTRY_NOOP, NULL));
  decoded = round_trip (msg);
  g_assert_true (dsm_message_equal (msg, decoded));
}

static void
test_encode_commit_exactly (void)
{
  g_autoptr(DsmMessage) msg = sample_message (DSM_MSG_COMMIT);
  g_autofree char *text = dsm_codec_encode_message (msg);

  g_test_summary ("The wire format is pinned: header then the type's fields, "
                  "no spaces, nothing else.");

  g_assert_cmpstr (text, ==, COMMIT_JSON);
}

static void
test_encode_proposal_exactly (void)
{
  g_autoptr(DsmMessage) msg = dsm_message_new (DSM_MSG_PROPOSAL, 3, 1, 2);
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = (char *) "m", .to = (char *) "B",
                     .client_id = (char *) "c", .seq = 9 };
  g_autofree char *text = NULL;

  g_test_summary ("Entries are objects with index, epoch, kind and, for "
                  "commands, the command's members inline.");

  msg->prev_index = 4;
  msg->prev_epoch = 1;
  msg->commit_index = 4;
  msg->hb_seq = 6;
  msg->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  g_ptr_array_add (msg->entries, dsm_entry_new (5, 2, DSM_ENTRY_NOOP, NULL));
  g_ptr_array_add (msg->entries, dsm_entry_new (6, 2, DSM_ENTRY_COMMAND, &cmd));
  text = dsm_codec_encode_message (msg);
  g_assert_cmpstr (text, ==,
                   "{\"type\":\"proposal\",\"from\":3,\"to\":1,\"epoch\":2,"
                   "\"prev_index\":4,\"prev_epoch\":1,\"commit_index\":4,\"hb_seq\":6,"
                   "\"entries\":[{\"index\":5,\"epoch\":2,\"kind\":\"noop\"},"
                   "{\"index\":6,\"epoch\":2,\"kind\":\"command\",\"op\":\"transition\","
                   "\"machine\":\"m\",\"to\":\"B\",\"client_id\":\"c\",\"seq\":9}]}");
}

static void
test_encode_proposal_keeps_entry_json (void)
{
  g_autoptr(DsmMessage) to_first = dsm_message_new (DSM_MSG_PROPOSAL, 3, 1, 2);
  g_autoptr(DsmMessage) to_second = NULL;
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = (char *) "m\"q", .to = (char *) "B",
                     .client_id = (char *) "c", .seq = 9 };
  g_autoptr(DsmEntry) entry = dsm_entry_new (6, 2, DSM_ENTRY_COMMAND, &cmd);
  g_autoptr(DsmEntry) twin = dsm_entry_new (6, 2, DSM_ENTRY_COMMAND, &cmd);
  g_autoptr(GString) wal = g_string_new (NULL);
  g_autoptr(GString) wal_again = g_string_new (NULL);
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *expected = NULL;

  g_test_summary ("A Proposal encodes each entry once and keeps its text on the entry: "
                  "the leader's next Proposal carrying it and its WAL write reuse the "
                  "same bytes; a WAL write alone (a follower's) keeps nothing.");

  /* A follower writes entries only to its WAL: no copy kept. */
  dsm_codec_write_entry (wal, twin);
  g_assert_null (dsm_entry_get_json (twin));

  to_first->prev_index = 5;
  to_first->prev_epoch = 2;
  to_first->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  g_ptr_array_add (to_first->entries, dsm_entry_ref (entry));
  to_second = dsm_message_copy (to_first);
  to_second->to = 2;
  first = dsm_codec_encode_message (to_first);
  g_assert_nonnull (dsm_entry_get_json (entry));
  g_assert_cmpstr (dsm_entry_get_json (entry)->text, ==, wal->str);
  second = dsm_codec_encode_message (to_second);
  expected = g_strconcat ("{\"type\":\"proposal\",\"from\":3,\"to\":2,\"epoch\":2,"
                          "\"prev_index\":5,\"prev_epoch\":2,\"commit_index\":0,\"hb_seq\":0,"
                          "\"entries\":[", wal->str, "]}", NULL);
  g_assert_cmpstr (second, ==, expected);
  dsm_codec_write_entry (wal_again, entry);
  g_assert_cmpstr (wal_again->str, ==, wal->str);
}

static void
test_encode_appends (void)
{
  g_autoptr(DsmMessage) msg = sample_message (DSM_MSG_COMMIT);
  g_autoptr(GString) out = g_string_new ("prefix ");

  g_test_summary ("dsm_codec_write_message() appends to what the string holds "
                  "(framing writes a header first).");

  dsm_codec_write_message (out, msg);
  g_assert_cmpstr (out->str, ==, "prefix " COMMIT_JSON);
}

static void
test_encode_snapshot_base64 (void)
{
  g_autoptr(DsmMessage) msg = sample_message (DSM_MSG_SNAPSHOT);
  g_autofree char *text = NULL;

  g_test_summary ("Snapshot data is standard padded base64.");

  g_bytes_unref (msg->data);
  msg->data = g_bytes_new ("hello", 5);
  text = dsm_codec_encode_message (msg);
  g_assert_nonnull (strstr (text, ",\"data\":\"aGVsbG8=\",\"done\":true}"));
}

static void
test_encode_malformed_aborts (void)
{
  g_test_summary ("Encoding a message that fails dsm_message_check() is a bug "
                  "and aborts, naming the field.");

  if (g_test_subprocess ())
    {
      g_autoptr(DsmMessage) msg = sample_message (DSM_MSG_COMMIT);
      g_autofree char *text = NULL;

      msg->from = 0;
      text = dsm_codec_encode_message (msg);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*commit.from: must not be 0*");
}

static void
test_write_string_escapes (void)
{
  g_autoptr(GString) out = g_string_new (NULL);

  g_test_summary ("Quotes, backslashes and every control character are escaped; "
                  "other UTF-8 passes through.");

  dsm_codec_write_string (out, "a\"b\\c/\n\r\t\b\f\x01\x1f\x7f é😀");
  g_assert_cmpstr (out->str, ==,
                   "\"a\\\"b\\\\c/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f é😀\"");
}

static void
test_write_string_repairs_utf8 (void)
{
  g_autoptr(GString) out = g_string_new (NULL);

  g_test_summary ("Invalid UTF-8 is written as U+FFFD, so the output is always JSON.");

  dsm_codec_write_string (out, "a\xffz");
  g_assert_cmpstr (out->str, ==, "\"a\xef\xbf\xbdz\"");
}

static void
test_string_round_trip_every_byte (void)
{
  GString *text = g_string_new (NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;

  g_test_summary ("Every ASCII character and multi-byte UTF-8 survives "
                  "dsm_codec_write_string() and the parser.");

  for (int c = 1; c < 0x80; c++)
    g_string_append_c (text, (char) c);
  g_string_append (text, "é✓😀\\\"\\u0041");
  expected = g_string_free (text, FALSE);

  dsm_codec_write_string (out, expected);
  node = dsm_codec_parse (out->str, out->len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_node_get_string (node), ==, expected);
}

static void
test_names_round_trip (void)
{
  g_autoptr(DsmMessage) msg = sample_message (DSM_MSG_CLIENT_REQUEST);
  g_autoptr(DsmMessage) decoded = NULL;

  g_test_summary ("Names with quotes, backslashes, slashes and non-ASCII "
                  "characters round-trip in a command.");

  g_free (msg->cmd.machine);
  msg->cmd.machine = g_strdup ("\"q\" \\b\\ /s/ ünï 字 😀 \\u0000");
  decoded = round_trip (msg);
  g_assert_cmpstr (decoded->cmd.machine, ==, msg->cmd.machine);
}

static void
test_decode_ignores_unknown_fields (void)
{
  static const char text[] =
    "{\"future\":{\"x\":[1,2.5,\"s\",null]},\"type\":\"commit\",\"from\":1,\"to\":2,"
    "\"epoch\":7,\"commit_index\":12,\"hb_seq\":78,\"entries\":\"not mine\"}";
  g_autoptr(DsmMessage) expected = sample_message (DSM_MSG_COMMIT);
  g_autoptr(DsmMessage) msg = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Fields the decoder does not know, or that another type uses, "
                  "are ignored (forward compatibility), in any order.");

  msg = dsm_codec_decode_message (text, sizeof text - 1, &error);
  g_assert_no_error (error);
  g_assert_true (dsm_message_equal (msg, expected));
}

static void
test_decode_optional_null (void)
{
  static const char text[] =
    "{\"type\":\"reject\",\"from\":1,\"to\":2,\"epoch\":7,\"reason\":\"not_leader\","
    "\"prev_index\":0,\"hint_index\":0,\"hint_epoch\":0,\"leader_hint\":3,\"hb_seq\":0,\"request_id\":5,\"index\":0,"
    "\"cmd\":null,\"state\":null,\"detail\":null}";
  g_autoptr(DsmMessage) msg = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Optional fields may be null as well as absent.");

  msg = dsm_codec_decode_message (text, sizeof text - 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (msg->reason, ==, DSM_REJECT_NOT_LEADER);
  g_assert_cmpuint (msg->leader_hint, ==, 3);
  g_assert_null (msg->cmd.machine);
  g_assert_null (msg->state);
  g_assert_null (msg->detail);
}

static void
test_decode_honours_length (void)
{
  static const char text[] = COMMIT_JSON "{garbage past the length";
  g_autoptr(DsmMessage) msg = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Input need not be NUL-terminated: bytes past @length are not read.");

  msg = dsm_codec_decode_message (text, strlen (COMMIT_JSON), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (msg->hb_seq, ==, 78);
}

static void
test_decode_whitespace_around (void)
{
  static const char text[] = " \r\n\t" COMMIT_JSON "\n \t\r\n";
  g_autoptr(DsmMessage) msg = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("JSON whitespace before and after the object is fine.");

  msg = dsm_codec_decode_message (text, sizeof text - 1, &error);
  g_assert_no_error (error);
}

static void
test_parse_depth_limit (void)
{
  char text[2 * (DSM_CODEC_DEPTH_MAX + 1)];
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Nesting up to DSM_CODEC_DEPTH_MAX parses; one more does not.");

  memset (text, '[', DSM_CODEC_DEPTH_MAX);
  memset (text + DSM_CODEC_DEPTH_MAX, ']', DSM_CODEC_DEPTH_MAX);
  node = dsm_codec_parse (text, 2 * DSM_CODEC_DEPTH_MAX, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node);

  memset (text, '[', DSM_CODEC_DEPTH_MAX + 1);
  memset (text + DSM_CODEC_DEPTH_MAX + 1, ']', DSM_CODEC_DEPTH_MAX + 1);
  g_assert_null (dsm_codec_parse (text, sizeof text, &error));
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_SYNTAX);
  g_assert_nonnull (strstr (error->message, "nesting deeper than 8"));
}

static void
test_parse_scalars_and_numbers (void)
{
  static const char *const valid[] = {
    "0", "-0", "12", "-7", "1.5", "-0.25e-3", "1E+9", "true", "false", "null",
    "\"\"", "\"\\/\\b\\f\\u00e9\\ud83d\\ude00\"", "{}", "[]", "[1,[2,{\"a\":[]}]]",
  };

  g_test_summary ("Standard JSON values the pre-scan must not refuse.");

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(GError) error = NULL;

      node = dsm_codec_parse (valid[i], strlen (valid[i]), &error);
      if (error != NULL)
        g_error ("%s: %s", valid[i], error->message);
    }
}

static void
test_entry_round_trip (void)
{
  DsmCommand cmd;
  g_autoptr(DsmEntry) noop = dsm_entry_new (1, 1, DSM_ENTRY_NOOP, NULL);
  g_autoptr(DsmEntry) command = NULL;
  DsmEntry *entries[2];

  g_test_summary ("Entries alone (the write-ahead log's records) round-trip.");

  sample_command_init (&cmd, DSM_OP_TRANSITION);
  command = dsm_entry_new (G_GUINT64_CONSTANT (1) << 53, 5, DSM_ENTRY_COMMAND, &cmd);
  dsm_command_clear (&cmd);
  entries[0] = noop;
  entries[1] = command;
  for (guint i = 0; i < G_N_ELEMENTS (entries); i++)
    {
      g_autoptr(GString) out = g_string_new (NULL);
      g_autoptr(DsmEntry) decoded = NULL;
      g_autoptr(GError) error = NULL;

      dsm_codec_write_entry (out, entries[i]);
      decoded = dsm_codec_decode_entry (out->str, out->len, &error);
      g_assert_no_error (error);
      g_assert_true (dsm_entry_equal (decoded, entries[i]));
    }
}

static void
test_command_round_trip (void)
{
  DsmCommand commands[3];

  g_test_summary ("Commands alone (the HTTP API's bodies) round-trip: full, "
                  "bare transition, bare read.");

  sample_command_init (&commands[0], DSM_OP_TRANSITION);
  commands[1] = (DsmCommand) { .op = DSM_OP_TRANSITION, .machine = g_strdup ("m"),
                               .to = g_strdup ("B") };
  commands[2] = (DsmCommand) { .op = DSM_OP_READ, .machine = g_strdup ("m") };
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autoptr(GString) out = g_string_new (NULL);
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(GError) error = NULL;
      DsmCommand decoded;

      dsm_codec_write_command (out, &commands[i]);
      node = dsm_codec_parse (out->str, out->len, &error);
      g_assert_no_error (error);
      g_assert_true (dsm_codec_command_from_json (node, "body", &decoded, &error));
      g_assert_no_error (error);
      g_assert_true (dsm_command_equal (&decoded, &commands[i]));
      dsm_command_clear (&decoded);
      dsm_command_clear (&commands[i]);
    }
}

static void
test_command_from_json_names_where (void)
{
  static const char text[] = "{\"op\":\"transition\",\"machine\":\"m\"}";
  g_autoptr(JsonNode) node = dsm_codec_parse (text, sizeof text - 1, NULL);
  g_autoptr(GError) error = NULL;
  DsmCommand cmd;

  g_test_summary ("A command's errors start with the caller's path, and the "
                  "command is left cleared.");

  g_assert_false (dsm_codec_command_from_json (node, "scenario.steps[2]", &cmd, &error));
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_MISSING);
  g_assert_cmpstr (error->message, ==, "scenario.steps[2].to: required key is missing");
  g_assert_null (cmd.machine);
}

static void
test_entry_decode_refuses (void)
{
  static const struct {
    const char *text;
    DsmCodecError code;
    const char *message;
  } rows[] = {
    { "{\"index\":0,\"epoch\":1,\"kind\":\"noop\"}", DSM_CODEC_ERROR_INVALID,
      "entry.index: must be at least 1" },
    { "{\"index\":1,\"epoch\":1,\"kind\":\"command\",\"op\":\"read\",\"machine\":\"\"}",
      DSM_CODEC_ERROR_INVALID, "entry.machine: empty name" },
    { "{\"index\":1,\"epoch\":1,\"kind\":\"other\"}", DSM_CODEC_ERROR_TYPE,
      "entry.kind: expected \"noop\", \"command\" or \"config\", found \"other\"" },
    { "{\"index\":1,\"kind\":\"noop\"}", DSM_CODEC_ERROR_MISSING,
      "entry.epoch: required key is missing" },
    { "[]", DSM_CODEC_ERROR_TYPE, "entry: expected an object, found an array" },
  };

  g_test_summary ("A bad log record is refused with the field named.");

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_null (dsm_codec_decode_entry (rows[i].text, strlen (rows[i].text), &error));
      g_assert_error (error, DSM_CODEC_ERROR, (gint) rows[i].code);
      g_assert_cmpstr (error->message, ==, rows[i].message);
    }
}

/* ------------------------------------------------------------------ */
/* Malformed input: one row per way of being wrong.                    */

typedef struct {
  const char *name;
  const char *text;          /* NULL: built by make() */
  gsize length;              /* 0: strlen (text) */
  GBytes *(*make) (void);
  DsmCodecError code;
  const char *mentions;      /* the error message contains this */
} Malformed;

static GBytes *
make_depth_bomb (void)
{
  gsize size = 10000;
  char *text = g_malloc (size);

  memset (text, '[', size);
  return g_bytes_new_take (text, size);
}

static GBytes *
make_oversized (void)
{
  gsize size = DSM_CODEC_INPUT_BYTES_MAX + 1;
  char *text = g_malloc (size);

  /* Valid-looking all the way: only the size is wrong. */
  memset (text, ' ', size);
  text[0] = '{';
  text[size - 1] = '}';
  return g_bytes_new_take (text, size);
}

static GBytes *
make_too_many_entries (void)
{
  GString *text = g_string_new ("{\"type\":\"proposal\",\"from\":1,\"to\":2,\"epoch\":1,"
                                "\"prev_index\":0,\"prev_epoch\":0,\"commit_index\":0,"
                                "\"hb_seq\":0,\"entries\":[");

  for (guint i = 1; i <= DSM_MESSAGE_ENTRIES_MAX + 1; i++)
    g_string_append_printf (text, "%s{\"index\":%u,\"epoch\":1,\"kind\":\"noop\"}",
                            i > 1 ? "," : "", i);
  g_string_append (text, "]}");
  return g_string_free_to_bytes (text);
}

static GBytes *
make_big_chunk (void)
{
  g_autoptr(GBytes) data = sample_data (DSM_MESSAGE_CHUNK_BYTES_MAX + 1);
  g_autofree char *base64 = g_base64_encode (g_bytes_get_data (data, NULL),
                                             g_bytes_get_size (data));
  char *text = g_strdup_printf ("{\"type\":\"snapshot\",\"from\":1,\"to\":2,\"epoch\":1,"
                                "\"last_index\":1,\"last_epoch\":1,\"snapshot_offset\":0,\"hb_seq\":0,"
                                "\"data\":\"%s\",\"done\":false}", base64);

  return g_bytes_new_take (text, strlen (text));
}

#define MSG(fields) "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":7,\"hb_seq\":1" fields "}"
#define PROPOSAL(entries) \
  "{\"type\":\"proposal\",\"from\":1,\"to\":2,\"epoch\":3,\"prev_index\":1," \
  "\"prev_epoch\":1,\"commit_index\":1,\"hb_seq\":1,\"entries\":" entries "}"
#define REQUEST(cmd) \
  "{\"type\":\"client_request\",\"from\":1,\"to\":2,\"epoch\":3,\"request_id\":1,\"cmd\":" cmd "}"
#define SNAPSHOT(data) \
  "{\"type\":\"snapshot\",\"from\":1,\"to\":2,\"epoch\":3,\"last_index\":1,\"last_epoch\":1," \
  "\"snapshot_offset\":0,\"hb_seq\":0,\"data\":" data ",\"done\":true}"
#define REPLY(status) \
  "{\"type\":\"client_reply\",\"from\":1,\"to\":2,\"epoch\":3,\"request_id\":1," \
  "\"status\":" status ",\"reason\":\"none\",\"index\":4,\"leader_hint\":0}"
#define REJECT(reason) \
  "{\"type\":\"reject\",\"from\":1,\"to\":2,\"epoch\":3,\"reason\":" reason ",\"prev_index\":0," \
  "\"hint_index\":0,\"hint_epoch\":0,\"leader_hint\":0,\"hb_seq\":0,\"request_id\":0,\"index\":0}"
#define NAME129 \
  "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\""

#define SYNTAX DSM_CODEC_ERROR_SYNTAX
#define TOO_LARGE DSM_CODEC_ERROR_TOO_LARGE
#define UNKNOWN_TYPE DSM_CODEC_ERROR_UNKNOWN_TYPE
#define MISSING DSM_CODEC_ERROR_MISSING
#define TYPE DSM_CODEC_ERROR_TYPE
#define INVALID DSM_CODEC_ERROR_INVALID

static const Malformed malformed[] = {
  /* Not one JSON object. */
  { "empty", "", 0, NULL, SYNTAX, "input: empty" },
  { "whitespace", " \n\t ", 0, NULL, SYNTAX, "no JSON value" },
  { "not-json", "hello", 0, NULL, SYNTAX, "byte 0: unexpected word" },
  { "truncated", "{\"type\":\"commit\",\"from\":1", 0, NULL, SYNTAX, "unexpected end" },
  { "unterminated-string", "{\"type\":\"commi", 0, NULL, SYNTAX, "unterminated string" },
  { "array-root", "[" COMMIT_JSON "]", 0, NULL, TYPE, "message: expected an object, found an array" },
  { "string-root", "\"commit\"", 0, NULL, TYPE, "message: expected an object, found \"commit\"" },
  { "trailing-garbage", COMMIT_JSON " xx", 0, NULL, SYNTAX, "trailing data" },
  { "two-objects", COMMIT_JSON "{}", 0, NULL, SYNTAX, "trailing data" },
  { "object-then-array", COMMIT_JSON "[]", 0, NULL, SYNTAX, "trailing data" },
  { "depth-bomb", NULL, 0, make_depth_bomb, SYNTAX, "byte 8: nesting deeper than 8" },
  { "oversized", NULL, 0, make_oversized, TOO_LARGE, "input: 67108865 bytes" },
  { "nul-byte", COMMIT_JSON, sizeof COMMIT_JSON, NULL, SYNTAX, "NUL byte" },
  { "nul-in-string", "{\"type\":\"com\0mit\"}", 18, NULL, SYNTAX, "byte 12: raw control" },
  { "nul-escape", MSG (",\"x\":\"a\\u0000b\""), 0, NULL, SYNTAX, "\\u0000" },
  { "raw-newline-in-string", "{\"type\":\"com\nmit\"}", 0, NULL, SYNTAX, "raw control character 0x0a" },
  { "lone-high-surrogate", MSG (",\"x\":\"\\ud800x\""), 0, NULL, SYNTAX, "lone high surrogate" },
  { "lone-low-surrogate", MSG (",\"x\":\"\\udc00\""), 0, NULL, SYNTAX, "lone low surrogate" },
  { "bad-escape", MSG (",\"x\":\"\\x41\""), 0, NULL, SYNTAX, "invalid escape" },
  { "invalid-utf8", MSG (",\"x\":\"\xff\""), 0, NULL, SYNTAX, "UTF-8" },
  { "byte-order-mark", "\xef\xbb\xbf" COMMIT_JSON, 0, NULL, SYNTAX, "byte 0: unexpected character 0xef" },
  { "single-quotes", "{'type':'commit'}", 0, NULL, SYNTAX, "byte 1: unexpected character 0x27" },
  { "comment", MSG ("/* hi */"), 0, NULL, SYNTAX, "unexpected character 0x2f" },
  { "hex-number", MSG (",\"commit_index\":0x10"), 0, NULL, SYNTAX, "unexpected word" },
  { "leading-zero", MSG (",\"commit_index\":010"), 0, NULL, SYNTAX, "leading zero" },
  { "trailing-comma", MSG (",\"commit_index\":1,"), 0, NULL, SYNTAX, "trailing comma" },
  { "bare-word", MSG (",\"commit_index\":True"), 0, NULL, SYNTAX, "unexpected character 0x54" },
  { "huge-negative", MSG (",\"commit_index\":-18446744073709551615"), 0, NULL, TYPE,
    "commit_index: integer out of range (more than 64 bits)" },
  /* The header. */
  { "unknown-type", "{\"type\":\"gossip\",\"from\":1,\"to\":2,\"epoch\":1}", 0, NULL,
    UNKNOWN_TYPE, "message.type: unknown type" },
  { "missing-type", "{\"from\":1,\"to\":2,\"epoch\":1}", 0, NULL, MISSING,
    "message.type: required key is missing" },
  { "type-not-string", "{\"type\":3,\"from\":1,\"to\":2,\"epoch\":1}", 0, NULL, TYPE,
    "message.type: expected a string, found 3" },
  { "missing-epoch", "{\"type\":\"commit\",\"from\":1,\"to\":2,\"commit_index\":1,\"hb_seq\":1}",
    0, NULL, MISSING, "commit.epoch: required key is missing" },
  { "epoch-string", "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":\"7\"}", 0, NULL, TYPE,
    "commit.epoch: expected a non-negative integer, found \"7\"" },
  { "epoch-negative", "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":-1}", 0, NULL, TYPE,
    "commit.epoch: expected a non-negative integer, found -1" },
  { "epoch-float", "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":7.0}", 0, NULL, TYPE,
    "commit.epoch: expected a non-negative integer, found 7.0" },
  { "epoch-exponent", "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":7e0}", 0, NULL, TYPE,
    "commit.epoch: expected a non-negative integer, found 7.0" },
  { "epoch-2^64", "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":18446744073709551616}",
    0, NULL, TYPE, "epoch: integer out of range (more than 64 bits)" },
  { "epoch-2^53+1", "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":9007199254740993}",
    0, NULL, TYPE, "commit.epoch: expected a non-negative integer, found 9007199254740993, more than 9007199254740992" },
  { "epoch-null", "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":null}", 0, NULL, TYPE,
    "commit.epoch: expected a non-negative integer, found null" },
  { "from-zero", "{\"type\":\"commit\",\"from\":0,\"to\":2,\"epoch\":1,\"commit_index\":1,\"hb_seq\":1}",
    0, NULL, INVALID, "commit.from: must not be 0" },
  { "from-is-to", "{\"type\":\"commit\",\"from\":2,\"to\":2,\"epoch\":1,\"commit_index\":1,\"hb_seq\":1}",
    0, NULL, INVALID, "commit.to: equals from (2)" },
  { "from-past-32-bits", "{\"type\":\"commit\",\"from\":4294967296,\"to\":2,\"epoch\":1}", 0, NULL,
    TYPE, "commit.from: expected an integer from 0 to 2147483647, found 4294967296" },
  { "from-past-node-ids", "{\"type\":\"commit\",\"from\":2147483648,\"to\":2,\"epoch\":1}", 0, NULL,
    TYPE, "commit.from: expected an integer from 0 to 2147483647, found 2147483648" },
  /* Type fields. */
  { "missing-hb-seq", "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":1,\"commit_index\":1}",
    0, NULL, MISSING, "commit.hb_seq: required key is missing" },
  { "granted-not-boolean", "{\"type\":\"vote\",\"from\":1,\"to\":2,\"epoch\":1,\"pre_vote\":false,"
    "\"granted\":1}", 0, NULL, TYPE, "vote.granted: expected true or false, found 1" },
  { "vote-request-last-epoch", "{\"type\":\"vote_request\",\"from\":1,\"to\":2,\"epoch\":1,"
    "\"pre_vote\":false,\"last_index\":1,\"last_epoch\":2}", 0, NULL, INVALID,
    "vote_request.last_epoch: 2 is newer" },
  { "entries-not-array", PROPOSAL ("{}"), 0, NULL, TYPE,
    "proposal.entries: expected an array, found an object" },
  { "entry-not-object", PROPOSAL ("[3]"), 0, NULL, TYPE,
    "proposal.entries[0]: expected an object, found 3" },
  { "entry-missing-index", PROPOSAL ("[{\"epoch\":1,\"kind\":\"noop\"}]"), 0, NULL, MISSING,
    "proposal.entries[0].index: required key is missing" },
  { "entry-epoch-string", PROPOSAL ("[{\"index\":2,\"epoch\":1,\"kind\":\"noop\"},"
    "{\"index\":3,\"epoch\":\"1\",\"kind\":\"noop\"}]"), 0, NULL, TYPE,
    "proposal.entries[1].epoch: expected a non-negative integer, found \"1\"" },
  { "entries-not-contiguous", PROPOSAL ("[{\"index\":2,\"epoch\":1,\"kind\":\"noop\"},"
    "{\"index\":4,\"epoch\":1,\"kind\":\"noop\"}]"), 0, NULL, INVALID,
    "proposal.entries[1].index: expected 3, found 4" },
  { "entry-epoch-past-message", PROPOSAL ("[{\"index\":2,\"epoch\":4,\"kind\":\"noop\"}]"), 0, NULL,
    INVALID, "proposal.entries[0].epoch: 4 is newer than the message epoch 3" },
  { "entry-unknown-kind", PROPOSAL ("[{\"index\":2,\"epoch\":1,\"kind\":\"magic\"}]"), 0, NULL,
    TYPE, "proposal.entries[0].kind" },
  { "entry-bad-command", PROPOSAL ("[{\"index\":2,\"epoch\":1,\"kind\":\"command\","
    "\"op\":\"read\",\"machine\":\"m\\u0007\"}]"), 0, NULL, INVALID,
    "proposal.entries[0].machine: control character U+0007" },
  { "too-many-entries", NULL, 0, make_too_many_entries, TOO_LARGE,
    "proposal.entries: 4097 elements, more than 4096" },
  { "reason-unknown", REJECT ("\"grumpy\""), 0, NULL, TYPE, "reject.reason: unknown reason" },
  { "reason-none", REJECT ("\"none\""), 0, NULL, INVALID, "reject.reason: invalid reason 0" },
  { "reason-number", REJECT ("2"), 0, NULL, TYPE, "reject.reason: expected a string" },
  { "status-unknown", REPLY ("\"fine\""), 0, NULL, TYPE, "client_reply.status: unknown status" },
  { "missing-cmd", "{\"type\":\"client_request\",\"from\":1,\"to\":2,\"epoch\":3,\"request_id\":1}",
    0, NULL, MISSING, "client_request.cmd: required key is missing" },
  { "cmd-not-object", REQUEST ("[]"), 0, NULL, TYPE, "client_request.cmd: expected an object" },
  { "machine-too-long", REQUEST ("{\"op\":\"read\",\"machine\":" NAME129 "}"), 0, NULL, TOO_LARGE,
    "client_request.cmd.machine: string of 129 bytes, more than 128" },
  { "machine-control-chars", REQUEST ("{\"op\":\"read\",\"machine\":\"a\\u001bb\"}"), 0, NULL,
    INVALID, "client_request.cmd.machine: control character U+001B" },
  { "machine-empty", REQUEST ("{\"op\":\"read\",\"machine\":\"\"}"), 0, NULL, INVALID,
    "client_request.cmd.machine: empty name" },
  { "op-unknown", REQUEST ("{\"op\":\"delete\",\"machine\":\"m\"}"), 0, NULL, TYPE,
    "client_request.cmd.op" },
  { "transition-without-to", REQUEST ("{\"op\":\"transition\",\"machine\":\"m\"}"), 0, NULL,
    MISSING, "client_request.cmd.to: required key is missing" },
  { "read-with-to", REQUEST ("{\"op\":\"read\",\"machine\":\"m\",\"to\":\"B\"}"), 0, NULL,
    INVALID, "client_request.cmd.to: not allowed in a read" },
  { "client-without-seq", REQUEST ("{\"op\":\"read\",\"machine\":\"m\",\"client_id\":\"c\"}"),
    0, NULL, MISSING, "client_request.cmd.seq: required key is missing" },
  { "seq-without-client", REQUEST ("{\"op\":\"read\",\"machine\":\"m\",\"seq\":3}"), 0, NULL,
    INVALID, "client_request.cmd.seq: 3 given without a client_id" },
  { "state-too-long", "{\"type\":\"client_reply\",\"from\":1,\"to\":2,\"epoch\":3,\"request_id\":1,"
    "\"status\":\"ok\",\"reason\":\"none\",\"index\":4,\"leader_hint\":0,\"state\":" NAME129 "}", 0, NULL, TOO_LARGE,
    "client_reply.state: string of 129 bytes" },
  { "detail-number", "{\"type\":\"client_reply\",\"from\":1,\"to\":2,\"epoch\":3,\"request_id\":1,"
    "\"status\":\"ok\",\"reason\":\"none\",\"index\":4,\"leader_hint\":0,\"detail\":5}", 0, NULL, TYPE,
    "client_reply.detail: expected a string or null, found 5" },
  { "data-garbage", SNAPSHOT ("\"!!not*base64\""), 0, NULL, TYPE, "snapshot.data: not base64" },
  { "data-bad-length", SNAPSHOT ("\"aGVsbG8\""), 0, NULL, TYPE, "snapshot.data: not base64" },
  { "data-inner-padding", SNAPSHOT ("\"aG==bG8=\""), 0, NULL, TYPE, "snapshot.data: not base64" },
  { "data-unused-bits", SNAPSHOT ("\"aGVsbG9=\""), 0, NULL, TYPE, "snapshot.data: not base64" },
  { "data-missing", "{\"type\":\"snapshot\",\"from\":1,\"to\":2,\"epoch\":3,\"last_index\":1,"
    "\"last_epoch\":1,\"snapshot_offset\":0,\"hb_seq\":0,\"done\":true}", 0, NULL, MISSING,
    "snapshot.data: required key is missing" },
  { "data-too-big", NULL, 0, make_big_chunk, TOO_LARGE, "snapshot.data: 1048577 bytes of data, more than 1048576" },
};

static void
test_malformed (gconstpointer data)
{
  const Malformed *row = data;
  g_autoptr(GBytes) made = row->make != NULL ? row->make () : NULL;
  const char *text = made != NULL ? g_bytes_get_data (made, NULL) : row->text;
  gsize length = made != NULL ? g_bytes_get_size (made)
                              : row->length > 0 ? row->length : strlen (row->text);
  g_autoptr(DsmMessage) msg = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("Malformed input is refused with the specific DSM_CODEC_ERROR "
                  "code and a message naming the field or byte.");

  msg = dsm_codec_decode_message (text, length, &error);
  g_assert_null (msg);
  g_assert_nonnull (error);
  if (!g_error_matches (error, DSM_CODEC_ERROR, (gint) row->code)
      || strstr (error->message, row->mentions) == NULL)
    g_error ("%s: expected code %d mentioning \"%s\", got code %d: %s",
             row->name, row->code, row->mentions, error->code, error->message);
}

/* ------------------------------------------------------------------ */
/* Random mutations of valid encodings.                                 */

#define MUTATION_SEED 20240601
#define MUTATION_ITERATIONS 20000

static void
mutate (GRand *rand, GByteArray *bytes)
{
  static const char interesting[] = "{}[]\":,\\-.0123456789eE+truefalsnul \t\n\x01\x7f\xc3\xff";
  guint8 byte;
  guint at;
  guint run;

  switch (g_rand_int_range (rand, 0, 4))
    {
    case 0: /* flip one bit */
      if (bytes->len == 0)
        return;
      at = (guint) g_rand_int_range (rand, 0, (gint32) bytes->len);
      bytes->data[at] ^= (guint8) (1u << g_rand_int_range (rand, 0, 8));
      break;
    case 1: /* replace with a byte JSON cares about */
      if (bytes->len == 0)
        return;
      at = (guint) g_rand_int_range (rand, 0, (gint32) bytes->len);
      bytes->data[at] = (guint8) interesting[g_rand_int_range (rand, 0, sizeof interesting)];
      break;
    case 2: /* insert */
      at = (guint) g_rand_int_range (rand, 0, (gint32) bytes->len + 1);
      byte = g_rand_boolean (rand)
             ? (guint8) interesting[g_rand_int_range (rand, 0, sizeof interesting)]
             : (guint8) g_rand_int_range (rand, 0, 256);
      g_byte_array_set_size (bytes, bytes->len + 1);
      memmove (bytes->data + at + 1, bytes->data + at, bytes->len - 1 - at);
      bytes->data[at] = byte;
      break;
    default: /* delete a run of up to 4 bytes */
      if (bytes->len == 0)
        return;
      at = (guint) g_rand_int_range (rand, 0, (gint32) bytes->len);
      run = (guint) g_rand_int_range (rand, 1, 5);
      g_byte_array_remove_range (bytes, at, MIN (run, bytes->len - at));
      break;
    }
}

static void
mutation_check_decoded (const DsmMessage *msg, guint iteration, const GByteArray *input)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmMessage) again = NULL;

  if (!dsm_message_check (msg, &error))
    g_error ("seed %u iteration %u: decoded a message failing the check (%s): %.*s",
             MUTATION_SEED, iteration, error->message, (int) input->len, input->data);
  /* What decodes must also re-encode to the same message. */
  again = round_trip (msg);
  if (!dsm_message_equal (msg, again))
    g_error ("seed %u iteration %u: decoded message does not round-trip: %.*s",
             MUTATION_SEED, iteration, (int) input->len, input->data);
}

static void
test_mutations (void)
{
  g_autoptr(GPtrArray) samples = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GRand) rand = g_rand_new_with_seed (MUTATION_SEED);
  guint decoded = 0;
  guint refused = 0;

  g_test_summary ("Random bit flips, insertions and deletions in valid encodings "
                  "never crash: each result decodes to a message passing the "
                  "check, or is a DSM_CODEC_ERROR (fixed seed, printed on failure).");

  for (guint i = 0; i < DSM_MSG_N_TYPES; i++)
    {
      g_autoptr(DsmMessage) msg = sample_message (i);

      if (i == DSM_MSG_SNAPSHOT)
        {
          g_bytes_unref (msg->data);
          msg->data = sample_data (10);
        }
      g_ptr_array_add (samples, dsm_codec_encode_message (msg));
    }
  g_ptr_array_add (samples, g_strdup (COMMIT_JSON));

  for (guint iteration = 0; iteration < MUTATION_ITERATIONS; iteration++)
    {
      const char *sample = g_ptr_array_index (samples, iteration % samples->len);
      g_autoptr(GByteArray) input = g_byte_array_new ();
      g_autoptr(DsmMessage) msg = NULL;
      g_autoptr(GError) error = NULL;
      guint mutations = (guint) g_rand_int_range (rand, 1, 4);

      g_byte_array_append (input, (const guint8 *) sample, (guint) strlen (sample));
      for (guint m = 0; m < mutations; m++)
        mutate (rand, input);

      msg = dsm_codec_decode_message ((const char *) input->data, input->len, &error);
      if (msg != NULL)
        {
          g_assert_no_error (error);
          mutation_check_decoded (msg, iteration, input);
          decoded++;
        }
      else
        {
          if (error == NULL || error->domain != DSM_CODEC_ERROR || error->message[0] == '\0')
            g_error ("seed %u iteration %u: NULL without a DSM_CODEC_ERROR: %.*s",
                     MUTATION_SEED, iteration, (int) input->len, input->data);
          refused++;
        }
    }
  g_test_message ("%u mutants decoded, %u refused", decoded, refused);
  /* Both outcomes happen, or the test exercises nothing. */
  g_assert_cmpuint (decoded, >, 100);
  g_assert_cmpuint (refused, >, 100);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < DSM_MSG_N_TYPES; i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/codec/round-trip/%s",
                                               dsm_message_type_to_string (i));

      g_test_add_data_func (path, GINT_TO_POINTER (i), test_round_trip_type);
    }
  g_test_add_func ("/core/codec/round-trip-largest-numbers", test_round_trip_largest_numbers);
  g_test_add_func ("/core/codec/round-trip-minimal", test_round_trip_minimal);
  g_test_add_func ("/core/codec/round-trip-chunk-sizes", test_round_trip_chunk_sizes);
  g_test_add_func ("/core/codec/round-trip-most-entries", test_round_trip_most_entries);
  g_test_add_func ("/core/codec/encode-commit-exactly", test_encode_commit_exactly);
  g_test_add_func ("/core/codec/encode-proposal-exactly", test_encode_proposal_exactly);
  g_test_add_func ("/core/codec/encode-proposal-keeps-entry-json",
                   test_encode_proposal_keeps_entry_json);
  g_test_add_func ("/core/codec/encode-appends", test_encode_appends);
  g_test_add_func ("/core/codec/encode-snapshot-base64", test_encode_snapshot_base64);
  g_test_add_func ("/core/codec/encode-malformed-aborts", test_encode_malformed_aborts);
  g_test_add_func ("/core/codec/write-string-escapes", test_write_string_escapes);
  g_test_add_func ("/core/codec/write-string-repairs-utf8", test_write_string_repairs_utf8);
  g_test_add_func ("/core/codec/string-round-trip-every-byte", test_string_round_trip_every_byte);
  g_test_add_func ("/core/codec/names-round-trip", test_names_round_trip);
  g_test_add_func ("/core/codec/decode-ignores-unknown-fields", test_decode_ignores_unknown_fields);
  g_test_add_func ("/core/codec/decode-optional-null", test_decode_optional_null);
  g_test_add_func ("/core/codec/decode-honours-length", test_decode_honours_length);
  g_test_add_func ("/core/codec/decode-whitespace-around", test_decode_whitespace_around);
  g_test_add_func ("/core/codec/parse-depth-limit", test_parse_depth_limit);
  g_test_add_func ("/core/codec/parse-scalars-and-numbers", test_parse_scalars_and_numbers);
  g_test_add_func ("/core/codec/entry-round-trip", test_entry_round_trip);
  g_test_add_func ("/core/codec/command-round-trip", test_command_round_trip);
  g_test_add_func ("/core/codec/command-from-json-names-where", test_command_from_json_names_where);
  g_test_add_func ("/core/codec/entry-decode-refuses", test_entry_decode_refuses);
  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/codec/malformed/%s", malformed[i].name);

      g_test_add_data_func (path, &malformed[i], test_malformed);
    }
  g_test_add_func ("/core/codec/mutations", test_mutations);
  return g_test_run ();
}
