/* tests/core/test-json.c: the JSON layer every reader of outside input
 * uses: each parse error and each reader error, with the path it names. */
#include <string.h>

#include "error.h"
#include "json.h"

/* ---- parsing ---- */

typedef struct {
  const char *test;
  const char *text;
  gssize length;          /* -1: NUL-terminated */
  DsmJsonLimits limits;   /* zero: the file limits */
  DsmJsonError code;
  const char *message;    /* the whole message */
} BadText;

static const BadText bad_texts[] = {
  { "empty", "", -1, { 0 }, DSM_JSON_ERROR_SYNTAX, "input: empty" },
  { "whitespace", " \n ", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "line 2, byte 3: no JSON value, only whitespace" },
  { "missing-value", "{\"a\":}", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "byte 5: unexpected character 0x7d (expected a value)" },
  { "truncated", "{\"a\":[1,", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "byte 8: unexpected end of input (expected a value)" },
  { "missing-colon", "{\"a\" 1}", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "byte 5: unexpected character 0x31 (expected ':')" },
  { "bare-word", "[nul]", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "byte 1: unexpected word (expected a value)" },
  { "trailing-data", "{} x", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "byte 3: trailing data after the JSON value" },
  { "second-value", "{}\n{}", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "line 2, byte 3: trailing data after the JSON value" },
  { "trailing-comma", "{\"a\":1,}", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "byte 6: trailing comma before '}'" },
  { "comment", "{/* x */}", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "byte 1: unexpected character 0x2f (expected a key string)" },
  { "nul-byte", "{}\0", 3, { 0 }, DSM_JSON_ERROR_SYNTAX, "byte 2: NUL byte" },
  { "raw-control", "[\"a\tb\"]", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "byte 3: raw control character 0x09 in a string" },
  { "escaped-nul", "[\"a\\u0000\"]", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "byte 3: \\u0000 in a string" },
  { "lone-surrogate", "[\"\\ud800\"]", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "byte 2: lone high surrogate" },
  { "invalid-utf8", "[\"\xc3\x28\"]", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "byte 1: invalid UTF-8 in a string" },
  { "leading-zero", "[01]", -1, { 0 }, DSM_JSON_ERROR_SYNTAX,
    "byte 1: number with a leading zero" },
  { "duplicate-key", "{\"a\": {\"b\": 1, \"b\": 2}}", -1, { 0 }, DSM_JSON_ERROR_DUPLICATE,
    "a.b: duplicate key (byte 15)" },
  { "duplicate-key-in-array", "{\"n\": [{}, {\"x\": 1,\n \"x\": 1}]}", -1, { 0 },
    DSM_JSON_ERROR_DUPLICATE, "n[1].x: duplicate key (line 2, byte 21)" },
  { "too-deep", "[[[[1]]]]", -1, { 1024, 3 }, DSM_JSON_ERROR_TOO_DEEP,
    "byte 3: nesting deeper than 3" },
  { "too-large", "[1,2,3]", -1, { 4, 8 }, DSM_JSON_ERROR_TOO_LARGE,
    "input: 7 bytes, more than 4" },
  { "integer-past-64-bits", "{\"a\": [18446744073709551616]}", -1, { 0 },
    DSM_JSON_ERROR_RANGE, "a[0]: integer out of range (more than 64 bits) (byte 7)" },
  { "integer-below-64-bits", "-9223372036854775809", -1, { 0 }, DSM_JSON_ERROR_RANGE,
    "byte 0: integer out of range (more than 64 bits)" },
};

static void
test_parse_bad (gconstpointer data)
{
  const BadText *bad = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = dsm_json_parse (bad->text, bad->length,
                                             bad->limits.bytes_max ? &bad->limits : NULL, NULL,
                                             &error);

  g_test_summary ("Text that is not one strict JSON value is refused with its class of "
                  "error and a message naming the byte, or the path of a repeated key.");
  g_assert_null (root);
  g_assert_error (error, DSM_JSON_ERROR, (gint) bad->code);
  g_assert_cmpstr (error->message, ==, bad->message);
}

static void
test_parse_values (void)
{
  static const char text[] =
    " {\"i\": [0, -1, 9223372036854775807, -9223372036854775808],"
    " \"d\": [2.5, 1e3, -0.0],"
    " \"s\": \"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\xc3\xa9\","
    " \"w\": [true, false, null], \"o\": {}, \"a\": []} ";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = dsm_json_parse (text, -1, NULL, NULL, &error);
  JsonObject *object;
  JsonArray *ints;
  JsonArray *words;

  g_test_summary ("Every kind of value parses: integers to the ends of 64 bits as integers, "
                  "fractions and exponents as doubles, every escape, UTF-8 as it is.");
  g_assert_no_error (error);
  object = json_node_get_object (root);
  ints = json_object_get_array_member (object, "i");
  g_assert_cmpint (json_array_get_int_element (ints, 1), ==, -1);
  g_assert_cmpint (json_array_get_int_element (ints, 2), ==, G_MAXINT64);
  g_assert_cmpint (json_array_get_int_element (ints, 3), ==, G_MININT64);
  g_assert_cmpuint (json_node_get_value_type (json_array_get_element (ints, 0)), ==,
                    G_TYPE_INT64);
  g_assert_cmpfloat (json_array_get_double_element (json_object_get_array_member (object, "d"),
                                                    1), ==, 1000.0);
  g_assert_cmpstr (json_object_get_string_member (object, "s"), ==,
                   "a\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9");
  words = json_object_get_array_member (object, "w");
  g_assert_true (json_array_get_boolean_element (words, 0));
  g_assert_false (json_array_get_boolean_element (words, 1));
  g_assert_true (json_array_get_null_element (words, 2));
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (object, "o")), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "a")), ==, 0);
}

static void
test_parse_length (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = dsm_json_parse ("[1] garbage", 3, NULL, NULL, &error);

  g_test_summary ("Only @length bytes are read: the text need not be NUL-terminated.");
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (root)), ==, 1);
}

static void
test_parse_domain (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = dsm_json_parse ("{\"a\": 1, \"a\": 2}", -1, NULL,
                                             &dsm_config_json_errors, &error);

  g_test_summary ("Errors come in the caller's domain, with its code for the class.");
  g_assert_null (root);
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_PARSE);
}

/* ---- readers ---- */

static const char *const network_keys[] = { "latency_ms_min", "latency_ms_max", NULL };
static const char *const roles[] = { "leader", "follower", NULL };

typedef enum {
  READ_UINT,        /* key, min, max */
  READ_UINT_BIG,    /* key, min 1, no max */
  READ_DOUBLE,      /* key, 0..1 */
  READ_BOOL,
  READ_STRING,      /* key, at most 3 bytes */
  READ_NULLABLE_STRING,
  READ_NODE_ID_IN_ARRAY,  /* nodes[*].id */
  READ_ENUM,        /* key, roles */
  READ_OBJECT,      /* key, network_keys */
  READ_ARRAY,       /* key, at most 2 */
} ReadKind;

typedef struct {
  const char *test;
  const char *json;
  ReadKind kind;
  const char *key;
  DsmJsonError code;
  const char *message;
} BadRead;

static const BadRead bad_reads[] = {
  { "uint-missing", "{}", READ_UINT, "n", DSM_JSON_ERROR_MISSING, "n: required key is missing" },
  { "uint-string", "{\"n\": \"7\"}", READ_UINT, "n", DSM_JSON_ERROR_TYPE,
    "n: expected an integer from 1 to 10, found \"7\"" },
  { "uint-fraction", "{\"n\": 1.5}", READ_UINT, "n", DSM_JSON_ERROR_TYPE,
    "n: expected an integer from 1 to 10, found 1.5" },
  { "uint-below", "{\"n\": 0}", READ_UINT, "n", DSM_JSON_ERROR_RANGE,
    "n: expected an integer from 1 to 10, found 0" },
  { "uint-above", "{\"n\": 11}", READ_UINT, "n", DSM_JSON_ERROR_RANGE,
    "n: expected an integer from 1 to 10, found 11" },
  { "uint-negative", "{\"n\": -3}", READ_UINT_BIG, "n", DSM_JSON_ERROR_RANGE,
    "n: expected a positive integer, found -3" },
  { "uint-above-big", "{\"n\": 5000000000}", READ_UINT_BIG, "n", DSM_JSON_ERROR_RANGE,
    "n: expected a positive integer, found 5000000000, more than 4294967295" },
  { "double-string", "{\"r\": \"x\"}", READ_DOUBLE, "r", DSM_JSON_ERROR_TYPE,
    "r: expected a number from 0 to 1, found \"x\"" },
  { "double-range", "{\"r\": 5}", READ_DOUBLE, "r", DSM_JSON_ERROR_RANGE,
    "r: expected a number from 0 to 1, found 5" },
  { "bool-number", "{\"b\": 1}", READ_BOOL, "b", DSM_JSON_ERROR_TYPE,
    "b: expected true or false, found 1" },
  { "string-number", "{\"s\": 5}", READ_STRING, "s", DSM_JSON_ERROR_TYPE,
    "s: expected a string, found 5" },
  { "string-null", "{\"s\": null}", READ_STRING, "s", DSM_JSON_ERROR_TYPE,
    "s: expected a string, found null" },
  { "string-too-long", "{\"s\": \"abcd\"}", READ_STRING, "s", DSM_JSON_ERROR_TOO_LARGE,
    "s: string of 4 bytes, more than 3" },
  { "nullable-string-object", "{\"s\": {}}", READ_NULLABLE_STRING, "s", DSM_JSON_ERROR_TYPE,
    "s: expected a string or null, found an object" },
  { "node-id-zero", "{\"nodes\": [{\"id\": 1}, {\"id\": 0}]}", READ_NODE_ID_IN_ARRAY, "nodes",
    DSM_JSON_ERROR_RANGE,
    "nodes[1].id: expected a node id (an integer from 1 to 2147483647), found 0" },
  { "node-id-string", "{\"nodes\": [{\"id\": \"2\"}]}", READ_NODE_ID_IN_ARRAY, "nodes",
    DSM_JSON_ERROR_TYPE,
    "nodes[0].id: expected a node id (an integer from 1 to 2147483647), found \"2\"" },
  { "enum-typo", "{\"role\": \"leadr\"}", READ_ENUM, "role", DSM_JSON_ERROR_CHOICE,
    "role: expected \"leader\" or \"follower\", found \"leadr\" (did you mean \"leader\"?)" },
  { "enum-far", "{\"role\": \"king\"}", READ_ENUM, "role", DSM_JSON_ERROR_CHOICE,
    "role: expected \"leader\" or \"follower\", found \"king\"" },
  { "enum-number", "{\"role\": 1}", READ_ENUM, "role", DSM_JSON_ERROR_TYPE,
    "role: expected \"leader\" or \"follower\", found 1" },
  { "object-array", "{\"network\": []}", READ_OBJECT, "network", DSM_JSON_ERROR_TYPE,
    "network: expected an object, found an array" },
  { "object-typo", "{\"network\": {\"latency_ms_mx\": 1}}", READ_OBJECT, "network",
    DSM_JSON_ERROR_UNKNOWN,
    "network.latency_ms_mx: unknown key (did you mean \"latency_ms_max\"?)" },
  { "object-word-order", "{\"network\": {\"latency_max_ms\": 1}}", READ_OBJECT, "network",
    DSM_JSON_ERROR_UNKNOWN,
    "network.latency_max_ms: unknown key (did you mean \"latency_ms_max\"?)" },
  { "object-unknown", "{\"network\": {\"comment\": 1, \"speed\": 1}}", READ_OBJECT, "network",
    DSM_JSON_ERROR_UNKNOWN,
    "network.speed: unknown key (known: latency_ms_min, latency_ms_max)" },
  { "array-object", "{\"a\": {}}", READ_ARRAY, "a", DSM_JSON_ERROR_TYPE,
    "a: expected an array, found an object" },
  { "array-too-long", "{\"a\": [1, 2, 3]}", READ_ARRAY, "a", DSM_JSON_ERROR_TOO_LARGE,
    "a: 3 elements, more than 2" },
};

static gboolean
read_bad (const BadRead *bad, const DsmJsonAt *root, GError **error)
{
  DsmJsonAt at;
  guint64 u64 = 0;
  guint u32 = 0;
  double d = 0;
  gboolean b = FALSE;
  const char *s = NULL;
  DsmNodeId id = 0;
  guint length = 0;

  switch (bad->kind)
    {
    case READ_UINT:
      return dsm_json_read_uint (root, bad->key, DSM_JSON_REQUIRED, 1, 10, &u64, error);
    case READ_UINT_BIG:
      return dsm_json_read_uint32 (root, bad->key, DSM_JSON_REQUIRED, 1, G_MAXUINT, &u32, error);
    case READ_DOUBLE:
      return dsm_json_read_double (root, bad->key, DSM_JSON_REQUIRED, 0, 1, &d, error);
    case READ_BOOL:
      return dsm_json_read_bool (root, bad->key, DSM_JSON_REQUIRED, &b, error);
    case READ_STRING:
      return dsm_json_read_string (root, bad->key, DSM_JSON_REQUIRED, 3, &s, error);
    case READ_NULLABLE_STRING:
      return dsm_json_read_string (root, bad->key, DSM_JSON_NULLABLE, 3, &s, error);
    case READ_NODE_ID_IN_ARRAY:
      if (!dsm_json_read_member (&at, root, bad->key, DSM_JSON_REQUIRED, error)
          || !dsm_json_get_array (&at, 8, &length, error))
        return FALSE;
      for (guint i = 0; i < length; i++)
        {
          DsmJsonAt element;

          dsm_json_at_element (&element, &at, i);
          if (!dsm_json_get_object (&element, NULL, error)
              || !dsm_json_read_node_id (&element, "id", DSM_JSON_REQUIRED, &id, error))
            return FALSE;
        }
      return TRUE;
    case READ_ENUM:
      return dsm_json_read_enum (root, bad->key, DSM_JSON_REQUIRED, roles, &u32, error);
    case READ_OBJECT:
      return dsm_json_read_member (&at, root, bad->key, DSM_JSON_REQUIRED, error)
             && dsm_json_get_object (&at, network_keys, error);
    case READ_ARRAY:
      return dsm_json_read_member (&at, root, bad->key, DSM_JSON_REQUIRED, error)
             && dsm_json_get_array (&at, 2, &length, error);
    default:
      g_assert_not_reached ();
    }
}

static void
test_read_bad (gconstpointer data)
{
  const BadRead *bad = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = dsm_json_parse (bad->json, -1, NULL, NULL, &error);
  DsmJsonAt root;

  g_test_summary ("A value of the wrong type, out of its range, too long, missing or unknown "
                  "is refused with its class of error and a message naming its full path, "
                  "what was expected and what was found.");
  g_assert_no_error (error);
  dsm_json_at_root (&root, NULL, node, NULL);
  g_assert_false (read_bad (bad, &root, &error));
  g_assert_error (error, DSM_JSON_ERROR, (gint) bad->code);
  g_assert_cmpstr (error->message, ==, bad->message);
  /* The same read without an error to fill still fails. */
  g_assert_false (read_bad (bad, &root, NULL));
}

static void
test_read_good (void)
{
  static const char *const keys[] = { "n", "s", "b", "e", "id", "o", "z", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = dsm_json_parse (
    "{\"n\": 7, \"s\": \"abc\", \"b\": true, \"e\": \"follower\", \"id\": 2147483647,"
    " \"o\": {\"comment\": \"ignored\"}, \"z\": null}", -1, NULL, NULL, &error);
  DsmJsonAt root;
  guint64 n = 0;
  guint absent = 99;
  const char *s = NULL;
  const char *z = "unset";
  gboolean b = FALSE;
  guint e = 0;
  DsmNodeId id = 0;
  guint64 kept = 5;

  g_test_summary ("Good values are read; absent optional members and nullable nulls leave "
                  "the default, except a nullable string, which becomes NULL.");
  g_assert_no_error (error);
  dsm_json_at_root (&root, NULL, node, NULL);
  g_assert_true (dsm_json_get_object (&root, keys, &error));
  g_assert_true (dsm_json_read_uint (&root, "n", DSM_JSON_REQUIRED, 0, 7, &n, &error));
  g_assert_true (dsm_json_read_uint32 (&root, "missing", DSM_JSON_OPTIONAL, 0, 1, &absent,
                                       &error));
  g_assert_true (dsm_json_read_string (&root, "s", DSM_JSON_REQUIRED, 3, &s, &error));
  g_assert_true (dsm_json_read_bool (&root, "b", DSM_JSON_REQUIRED, &b, &error));
  g_assert_true (dsm_json_read_enum (&root, "e", DSM_JSON_REQUIRED, roles, &e, &error));
  g_assert_true (dsm_json_read_node_id (&root, "id", DSM_JSON_REQUIRED, &id, &error));
  g_assert_true (dsm_json_read_uint (&root, "z", DSM_JSON_NULLABLE, 0, 9, &kept, &error));
  g_assert_true (dsm_json_read_string (&root, "z", DSM_JSON_NULLABLE, 0, &z, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 7);
  g_assert_cmpuint (absent, ==, 99);
  g_assert_cmpstr (s, ==, "abc");
  g_assert_true (b);
  g_assert_cmpuint (e, ==, 1);
  g_assert_cmpuint (id, ==, 2147483647);
  g_assert_cmpuint (kept, ==, 5);
  g_assert_null (z);
}

static void
test_fail_labelled (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = dsm_json_parse ("{\"cmd\": {\"to\": \"x\"}}", -1, NULL, NULL, &error);
  DsmJsonAt root;
  DsmJsonAt cmd;
  DsmJsonAt to;

  g_test_summary ("A caller's own check reads like the layer's: the root's label, then the "
                  "path, then the problem, in the caller's domain.");
  g_assert_no_error (error);
  dsm_json_at_root (&root, &dsm_codec_json_errors, node, "client_request");
  dsm_json_at_member (&cmd, &root, "cmd");
  dsm_json_at_member (&to, &cmd, "to");
  g_assert_false (dsm_json_fail (&to, DSM_JSON_ERROR_INVALID, &error, "not allowed in a %s",
                                 "read"));
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "client_request.cmd.to: not allowed in a read");
}

static void
test_describe (void)
{
  g_autoptr(JsonNode) text = json_node_init_string (json_node_alloc (),
                                                    "line\none \"quoted\" \x1b and a tail that "
                                                    "goes on past forty-eight characters");
  g_autofree char *described = dsm_json_describe (text);
  g_autofree char *nothing = dsm_json_describe (NULL);

  g_test_summary ("Values in messages are quoted, escaped and cut short, so a hostile value "
                  "cannot garble a log line.");
  g_assert_cmpstr (described, ==,
                   "\"line\\none \\\"quoted\\\" \\u001B and a tail that goes on past...\"");
  g_assert_cmpstr (nothing, ==, "nothing");
}

static void
test_suggest (void)
{
  static const char *const known[] = { "heartbeat_ms", "election_timeout_ms_min",
                                       "election_timeout_ms_max", "id", NULL };

  g_test_summary ("\"Did you mean\" offers a close name, or the same words in another "
                  "order, and nothing for a name that is merely short or unrelated.");
  g_assert_cmpstr (dsm_json_suggest ("heartbeat", known), ==, "heartbeat_ms");
  g_assert_cmpstr (dsm_json_suggest ("election_timeout_min_ms", known), ==,
                   "election_timeout_ms_min");
  g_assert_cmpstr (dsm_json_suggest ("election_timeout_ms_mx", known), ==,
                   "election_timeout_ms_max");
  g_assert_null (dsm_json_suggest ("address", known));
  g_assert_null (dsm_json_suggest ("ok", known));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (bad_texts); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/json/parse/refuses/%s", bad_texts[i].test);

      g_test_add_data_func (path, &bad_texts[i], test_parse_bad);
    }
  g_test_add_func ("/core/json/parse/values", test_parse_values);
  g_test_add_func ("/core/json/parse/length", test_parse_length);
  g_test_add_func ("/core/json/parse/domain", test_parse_domain);
  for (guint i = 0; i < G_N_ELEMENTS (bad_reads); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/json/read/refuses/%s", bad_reads[i].test);

      g_test_add_data_func (path, &bad_reads[i], test_read_bad);
    }
  g_test_add_func ("/core/json/read/good", test_read_good);
  g_test_add_func ("/core/json/read/fail-labelled", test_fail_labelled);
  g_test_add_func ("/core/json/describe", test_describe);
  g_test_add_func ("/core/json/suggest", test_suggest);
  return g_test_run ();
}
