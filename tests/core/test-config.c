/* tests/core/test-config.c: the cluster configuration: defaults, parsing
 * with errors that name the field, definition loading, overlays, copies
 * and writing the config back out. */
#include <string.h>

#include "config.h"
#include "error.h"

#define DOOR_JSON                                                                   \
  "{\"name\": \"door\", \"states\": [\"Closed\", \"Open\", \"Locked\"],"            \
  " \"initial\": \"Closed\", \"transitions\": ["                                    \
  "  {\"from\": \"Closed\", \"to\": \"Open\"}, {\"from\": \"Open\", \"to\": \"Closed\"}," \
  "  {\"from\": \"Closed\", \"to\": \"Locked\"}, {\"from\": \"Locked\", \"to\": \"Closed\"}]}"

/* Every key, nodes out of order, comments where humans put them. */
static const char full_config[] =
  "{\n"
  "  \"comment\": \"three nodes on one machine\",\n"
  "  \"cluster_id\": \"test-cluster\",\n"
  "  \"nodes\": [\n"
  "    {\"id\": 3, \"peer_address\": \"127.0.0.1:7003\", \"client_address\": \"127.0.0.1:8003\"},\n"
  "    {\"id\": 1, \"peer_address\": \"127.0.0.1:7001\", \"client_address\": \"127.0.0.1:8001\","
  "     \"comment\": \"the first\"},\n"
  "    {\"id\": 2, \"peer_address\": \"127.0.0.1:7002\", \"client_address\": null}\n"
  "  ],\n"
  "  \"heartbeat_ms\": 20,\n"
  "  \"election_timeout_ms_min\": 100,\n"
  "  \"election_timeout_ms_max\": 200,\n"
  "  \"consensus_timeout_ms\": 1500,\n"
  "  \"retry_attempts\": 3,\n"
  "  \"retry_delay_ms\": 40,\n"
  "  \"max_batch_entries\": 128,\n"
  "  \"max_batch_bytes\": 65536,\n"
  "  \"max_inflight_proposals\": 4,\n"
  "  \"max_pending_requests\": 500,\n"
  "  \"max_uncommitted_entries\": 1000,\n"
  "  \"max_sessions\": 300,\n"
  "  \"session_window\": 16,\n"
  "  \"max_frame_bytes\": 1048576,\n"
  "  \"max_write_queue_bytes\": 8388608,\n"
  "  \"reconnect_ms_min\": 10,\n"
  "  \"reconnect_ms_max\": 1000,\n"
  "  \"snapshot_threshold_entries\": 0,\n"
  "  \"snapshot_chunk_bytes\": 65536,\n"
  "  \"secret\": \"s3cret\",\n"
  "  \"definitions\": [" DOOR_JSON "],\n"
  "  \"default_definition\": \"door\"\n"
  "}\n";

static DsmConfig *
load (const char *text, GError **error)
{
  return dsm_config_new_from_data (text, -1, NULL, NULL, error);
}

static JsonNode *
parse (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_ref (json_parser_get_root (parser));
}

static void
test_defaults (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);

  g_test_summary ("The defaults are the documented ones (docs/CONFIG.md).");
  g_assert_cmpstr (config->cluster_id, ==, "dsm");
  g_assert_cmpuint (config->n_nodes, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpuint (config->nodes[i].id, ==, i + 1);
      g_assert_null (config->nodes[i].peer_address);
      g_assert_null (config->nodes[i].client_address);
    }
  g_assert_cmpuint (config->heartbeat_ms, ==, 50);
  g_assert_cmpuint (config->election_timeout_ms_min, ==, 150);
  g_assert_cmpuint (config->election_timeout_ms_max, ==, 300);
  g_assert_cmpuint (config->consensus_timeout_ms, ==, 2000);
  g_assert_cmpuint (config->retry_attempts, ==, 5);
  g_assert_cmpuint (config->retry_delay_ms, ==, 100);
  g_assert_cmpuint (config->max_batch_entries, ==, 256);
  g_assert_cmpuint (config->max_batch_bytes, ==, 262144);
  g_assert_cmpuint (config->max_inflight_proposals, ==, 8);
  g_assert_cmpuint (config->max_pending_requests, ==, 10000);
  g_assert_cmpuint (config->max_uncommitted_entries, ==, 20000);
  g_assert_cmpuint (config->max_sessions, ==, 10000);
  g_assert_cmpuint (config->session_window, ==, 64);
  g_assert_cmpuint (config->max_frame_bytes, ==, 4 * 1024 * 1024);
  g_assert_cmpuint (config->max_write_queue_bytes, ==, 64 * 1024 * 1024);
  g_assert_cmpuint (config->reconnect_ms_min, ==, 50);
  g_assert_cmpuint (config->reconnect_ms_max, ==, 2000);
  g_assert_cmpuint (config->snapshot_threshold_entries, ==, 10000);
  g_assert_cmpuint (config->snapshot_chunk_bytes, ==, 262144);
  g_assert_null (config->secret);
  g_assert_cmpuint (g_hash_table_size (config->definitions), ==, 1);
  g_assert_cmpstr (config->default_definition, ==, DSM_MACHINE_LIFECYCLE);
  g_assert_cmpstr (dsm_machine_def_get_name (dsm_config_find_definition (config, NULL)), ==,
                   DSM_MACHINE_LIFECYCLE);
}

static void
test_defaults_pass_check (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (DSM_MAX_NODES);
  g_autoptr(GError) error = NULL;

  g_test_summary ("The defaults satisfy every cross-field check, at any cluster size.");
  g_assert_true (dsm_config_check (config, &error));
  g_assert_no_error (error);
}

static void
test_quorum (void)
{
  static const guint expected[][2] = { { 1, 1 }, { 2, 2 }, { 3, 2 }, { 4, 3 }, { 5, 3 },
                                       { 7, 4 }, { 64, 33 } };

  g_test_summary ("A quorum is a strict majority: two quorums always share a node.");
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(DsmConfig) config = dsm_config_new_default (expected[i][0]);

      g_assert_cmpuint (dsm_config_quorum (config), ==, expected[i][1]);
    }
}

static void
test_full (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load (full_config, &error);
  const DsmNodeConfig *node;
  const DsmMachineDef *door;

  g_test_summary ("A config giving every key reads back every value.");
  g_assert_no_error (error);
  g_assert_cmpstr (config->cluster_id, ==, "test-cluster");
  g_assert_cmpuint (config->n_nodes, ==, 3);
  g_assert_cmpuint (config->heartbeat_ms, ==, 20);
  g_assert_cmpuint (config->election_timeout_ms_min, ==, 100);
  g_assert_cmpuint (config->election_timeout_ms_max, ==, 200);
  g_assert_cmpuint (config->consensus_timeout_ms, ==, 1500);
  g_assert_cmpuint (config->retry_attempts, ==, 3);
  g_assert_cmpuint (config->retry_delay_ms, ==, 40);
  g_assert_cmpuint (config->max_batch_entries, ==, 128);
  g_assert_cmpuint (config->max_batch_bytes, ==, 65536);
  g_assert_cmpuint (config->max_inflight_proposals, ==, 4);
  g_assert_cmpuint (config->max_pending_requests, ==, 500);
  g_assert_cmpuint (config->max_uncommitted_entries, ==, 1000);
  g_assert_cmpuint (config->max_sessions, ==, 300);
  g_assert_cmpuint (config->session_window, ==, 16);
  g_assert_cmpuint (config->max_frame_bytes, ==, 1048576);
  g_assert_cmpuint (config->max_write_queue_bytes, ==, 8388608);
  g_assert_cmpuint (config->reconnect_ms_min, ==, 10);
  g_assert_cmpuint (config->reconnect_ms_max, ==, 1000);
  g_assert_cmpuint (config->snapshot_threshold_entries, ==, 0);
  g_assert_cmpuint (config->snapshot_chunk_bytes, ==, 65536);
  g_assert_cmpstr (config->secret, ==, "s3cret");
  g_assert_cmpstr (config->default_definition, ==, "door");

  node = dsm_config_find_node (config, 2);
  g_assert_nonnull (node);
  g_assert_cmpstr (node->peer_address, ==, "127.0.0.1:7002");
  g_assert_null (node->client_address);
  g_assert_null (dsm_config_find_node (config, 4));

  g_assert_cmpuint (g_hash_table_size (config->definitions), ==, 2);
  door = dsm_config_find_definition (config, "door");
  g_assert_nonnull (door);
  g_assert_true (dsm_config_find_definition (config, NULL) == door);
  g_assert_true (dsm_machine_def_allows (door, "Closed", "Locked"));
  g_assert_nonnull (dsm_config_find_definition (config, DSM_MACHINE_LIFECYCLE));
  g_assert_null (dsm_config_find_definition (config, "window"));
}

static void
test_nodes_sorted (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load ("{\"nodes\": [{\"id\": 30}, {\"id\": 4}, {\"id\": 2000}]}",
                                      &error);

  g_test_summary ("Nodes come out sorted by id whatever the file's order.");
  g_assert_no_error (error);
  g_assert_cmpuint (config->n_nodes, ==, 3);
  g_assert_cmpuint (config->nodes[0].id, ==, 4);
  g_assert_cmpuint (config->nodes[1].id, ==, 30);
  g_assert_cmpuint (config->nodes[2].id, ==, 2000);
}

static void
test_node_count (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load ("{\"nodes\": 5}", &error);

  g_test_summary ("\"nodes\": N means ids 1..N without addresses, the rest at defaults.");
  g_assert_no_error (error);
  g_assert_cmpuint (config->n_nodes, ==, 5);
  g_assert_cmpuint (config->nodes[4].id, ==, 5);
  g_assert_null (config->nodes[4].peer_address);
  g_assert_cmpuint (config->heartbeat_ms, ==, 50);
}

static void
test_addresses_ipv6 (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load ("{\"nodes\": [{\"id\": 1, \"peer_address\": \"[::1]:7001\","
                                      " \"client_address\": \"localhost:8001\"}]}", &error);

  g_test_summary ("An IPv6 host is written in brackets; names are fine too.");
  g_assert_no_error (error);
  g_assert_cmpstr (config->nodes[0].peer_address, ==, "[::1]:7001");
}

static void
test_extreme_values (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load ("{\"nodes\": [{\"id\": 2147483647}],"
                                      " \"max_write_queue_bytes\": 4294967295,"
                                      " \"election_timeout_ms_max\": 4294967295}", &error);

  g_test_summary ("The largest node id and the largest unsigned values are accepted.");
  g_assert_no_error (error);
  g_assert_cmpuint (config->nodes[0].id, ==, 2147483647);
  g_assert_cmpuint (config->max_write_queue_bytes, ==, G_MAXUINT);
}

/* Bad configs: each is refused with a code and names the field at fault. */
typedef struct {
  const char *test;
  const char *json;
  DsmConfigError code;
  const char *field;
} BadConfig;

static const BadConfig bad_configs[] = {
  { "root-not-object", "[1]", DSM_CONFIG_ERROR_TYPE, "configuration" },
  { "nodes-missing", "{\"heartbeat_ms\": 10}", DSM_CONFIG_ERROR_MISSING, "nodes" },
  { "unknown-key", "{\"nodes\": 3, \"heartbeat\": 10}", DSM_CONFIG_ERROR_UNKNOWN,
    "heartbeat: unknown key (did you mean \"heartbeat_ms\"?)" },
  { "nodes-string", "{\"nodes\": \"three\"}", DSM_CONFIG_ERROR_TYPE, "nodes" },
  { "nodes-count-zero", "{\"nodes\": 0}", DSM_CONFIG_ERROR_RANGE, "nodes" },
  { "nodes-count-too-many", "{\"nodes\": 65}", DSM_CONFIG_ERROR_RANGE, "nodes" },
  { "nodes-empty", "{\"nodes\": []}", DSM_CONFIG_ERROR_RANGE, "nodes" },
  { "node-not-object", "{\"nodes\": [{\"id\": 1}, 2]}", DSM_CONFIG_ERROR_TYPE, "nodes[1]" },
  { "node-missing-id", "{\"nodes\": [{\"peer_address\": \"a:1\"}]}", DSM_CONFIG_ERROR_MISSING,
    "nodes[0].id" },
  { "node-id-zero", "{\"nodes\": [{\"id\": 0}]}", DSM_CONFIG_ERROR_RANGE, "nodes[0].id" },
  { "node-id-negative", "{\"nodes\": [{\"id\": -2}]}", DSM_CONFIG_ERROR_RANGE, "nodes[0].id" },
  { "node-id-too-large", "{\"nodes\": [{\"id\": 2147483648}]}", DSM_CONFIG_ERROR_RANGE,
    "nodes[0].id" },
  { "node-id-float", "{\"nodes\": [{\"id\": 1.5}]}", DSM_CONFIG_ERROR_TYPE, "nodes[0].id" },
  { "node-id-string", "{\"nodes\": [{\"id\": \"1\"}]}", DSM_CONFIG_ERROR_TYPE, "nodes[0].id" },
  { "node-id-duplicate", "{\"nodes\": [{\"id\": 1}, {\"id\": 2}, {\"id\": 2}]}",
    DSM_CONFIG_ERROR_INVALID, "nodes[2].id: duplicate id 2" },
  { "node-unknown-key", "{\"nodes\": [{\"id\": 1, \"address\": \"h:1\"}]}",
    DSM_CONFIG_ERROR_UNKNOWN,
    "nodes[0].address: unknown key (known: id, peer_address, client_address, native_address)" },
  { "address-no-port", "{\"nodes\": [{\"id\": 1, \"peer_address\": \"localhost\"}]}",
    DSM_CONFIG_ERROR_INVALID, "nodes[0].peer_address" },
  { "address-port-zero", "{\"nodes\": [{\"id\": 1, \"peer_address\": \"h:0\"}]}",
    DSM_CONFIG_ERROR_INVALID, "nodes[0].peer_address" },
  { "address-port-too-big", "{\"nodes\": [{\"id\": 1, \"client_address\": \"h:65536\"}]}",
    DSM_CONFIG_ERROR_INVALID, "nodes[0].client_address" },
  { "address-port-not-number", "{\"nodes\": [{\"id\": 1, \"client_address\": \"h:http\"}]}",
    DSM_CONFIG_ERROR_INVALID, "nodes[0].client_address" },
  { "address-empty-host", "{\"nodes\": [{\"id\": 1, \"client_address\": \":80\"}]}",
    DSM_CONFIG_ERROR_INVALID, "nodes[0].client_address" },
  { "address-ipv6-unbracketed", "{\"nodes\": [{\"id\": 1, \"peer_address\": \"::1:7001\"}]}",
    DSM_CONFIG_ERROR_INVALID, "nodes[0].peer_address" },
  { "address-not-string", "{\"nodes\": [{\"id\": 1, \"client_address\": 8001}]}",
    DSM_CONFIG_ERROR_TYPE, "nodes[0].client_address" },
  { "address-duplicate",
    "{\"nodes\": [{\"id\": 1, \"peer_address\": \"h:7001\"},"
    " {\"id\": 2, \"peer_address\": \"H:7001\"}]}",
    DSM_CONFIG_ERROR_INVALID, "nodes[1].peer_address" },
  { "address-peer-is-client",
    "{\"nodes\": [{\"id\": 1, \"peer_address\": \"h:7001\"},"
    " {\"id\": 2, \"client_address\": \"h:7001\"}]}",
    DSM_CONFIG_ERROR_INVALID, "nodes[1].client_address" },
  { "uint-string", "{\"nodes\": 3, \"heartbeat_ms\": \"fast\"}", DSM_CONFIG_ERROR_TYPE,
    "heartbeat_ms: expected a positive integer, found \"fast\"" },
  { "uint-zero", "{\"nodes\": 3, \"heartbeat_ms\": 0}", DSM_CONFIG_ERROR_RANGE,
    "heartbeat_ms" },
  { "uint-negative", "{\"nodes\": 3, \"retry_delay_ms\": -1}", DSM_CONFIG_ERROR_RANGE,
    "retry_delay_ms" },
  { "uint-float", "{\"nodes\": 3, \"max_batch_entries\": 2.5}", DSM_CONFIG_ERROR_TYPE,
    "max_batch_entries" },
  { "uint-float-integral", "{\"nodes\": 3, \"max_sessions\": 100.0}", DSM_CONFIG_ERROR_TYPE,
    "max_sessions" },
  { "uint-too-large", "{\"nodes\": 3, \"max_sessions\": 4294967296}", DSM_CONFIG_ERROR_RANGE,
    "max_sessions" },
  { "uint-bool", "{\"nodes\": 3, \"session_window\": true}", DSM_CONFIG_ERROR_TYPE,
    "session_window" },
  { "uint-null", "{\"nodes\": 3, \"consensus_timeout_ms\": null}", DSM_CONFIG_ERROR_TYPE,
    "consensus_timeout_ms" },
  { "snapshot-chunk-zero", "{\"nodes\": 3, \"snapshot_chunk_bytes\": 0}",
    DSM_CONFIG_ERROR_RANGE, "snapshot_chunk_bytes" },
  { "heartbeat-not-below-election",
    "{\"nodes\": 3, \"heartbeat_ms\": 150, \"election_timeout_ms_min\": 150}",
    DSM_CONFIG_ERROR_INVALID, "heartbeat_ms: 150 must be < election_timeout_ms_min (150)" },
  { "election-min-above-max",
    "{\"nodes\": 3, \"election_timeout_ms_min\": 300, \"election_timeout_ms_max\": 200}",
    DSM_CONFIG_ERROR_INVALID,
    "election_timeout_ms_min: 300 must be <= election_timeout_ms_max (200)" },
  { "reconnect-min-above-max", "{\"nodes\": 3, \"reconnect_ms_min\": 3000}",
    DSM_CONFIG_ERROR_INVALID, "reconnect_ms_min" },
  { "batch-bytes-over-frame", "{\"nodes\": 3, \"max_batch_bytes\": 4194304}",
    DSM_CONFIG_ERROR_INVALID, "max_batch_bytes" },
  { "write-queue-below-frame", "{\"nodes\": 3, \"max_write_queue_bytes\": 1048576}",
    DSM_CONFIG_ERROR_INVALID, "max_write_queue_bytes" },
  { "cluster-id-empty", "{\"nodes\": 3, \"cluster_id\": \"\"}", DSM_CONFIG_ERROR_INVALID,
    "cluster_id" },
  { "cluster-id-number", "{\"nodes\": 3, \"cluster_id\": 7}", DSM_CONFIG_ERROR_TYPE,
    "cluster_id" },
  { "secret-empty", "{\"nodes\": 3, \"secret\": \"\"}", DSM_CONFIG_ERROR_INVALID, "secret" },
  { "secret-number", "{\"nodes\": 3, \"secret\": 1234}", DSM_CONFIG_ERROR_TYPE, "secret" },
  { "definitions-object", "{\"nodes\": 3, \"definitions\": {}}", DSM_CONFIG_ERROR_TYPE,
    "definitions" },
  { "definition-number", "{\"nodes\": 3, \"definitions\": [" DOOR_JSON ", 5]}",
    DSM_CONFIG_ERROR_TYPE, "definitions[1]" },
  { "definition-bad-state",
    "{\"nodes\": 3, \"definitions\": [" DOOR_JSON ", {\"name\": \"gate\", \"states\": [\"Up\"],"
    " \"initial\": \"Up\", \"transitions\": [{\"from\": \"Up\", \"to\": \"Dwon\"}]}]}",
    DSM_CONFIG_ERROR_INVALID, "definitions[1].transitions[0].to: \"Dwon\" is not a state of" },
  { "definition-unknown-key",
    "{\"nodes\": 3, \"definitions\": [{\"name\": \"x\", \"state\": [\"A\"]}]}",
    DSM_CONFIG_ERROR_UNKNOWN,
    "definitions[0].state: unknown key (did you mean \"states\"?)" },
  { "definition-duplicate", "{\"nodes\": 3, \"definitions\": [" DOOR_JSON ", " DOOR_JSON "]}",
    DSM_CONFIG_ERROR_INVALID, "definitions[1].name: duplicate definition \"door\"" },
  { "definition-lifecycle",
    "{\"nodes\": 3, \"definitions\": [{\"name\": \"lifecycle\", \"states\": [\"A\"],"
    " \"initial\": \"A\", \"transitions\": []}]}",
    DSM_CONFIG_ERROR_INVALID, "definitions[0].name: \"lifecycle\" is built in" },
  { "definition-path-no-loader", "{\"nodes\": 3, \"definitions\": [\"defs/door.json\"]}",
    DSM_CONFIG_ERROR_INVALID, "definitions[0]: \"defs/door.json\"" },
  { "definition-path-empty", "{\"nodes\": 3, \"definitions\": [\"\"]}",
    DSM_CONFIG_ERROR_INVALID, "definitions[0]" },
  { "default-definition-unknown", "{\"nodes\": 3, \"default_definition\": \"door\"}",
    DSM_CONFIG_ERROR_INVALID, "default_definition: \"door\" is not a known definition" },
  { "default-definition-number", "{\"nodes\": 3, \"default_definition\": 1}",
    DSM_CONFIG_ERROR_TYPE, "default_definition" },
  { "plugins-string", "{\"nodes\": 3, \"plugins\": \"bank-ledger\"}", DSM_CONFIG_ERROR_TYPE, "plugins" },
  { "plugins-number", "{\"nodes\": 3, \"plugins\": [\"a\", 7]}", DSM_CONFIG_ERROR_TYPE, "plugins[1]" },
  { "plugins-empty-name", "{\"nodes\": 3, \"plugins\": [\"\"]}", DSM_CONFIG_ERROR_INVALID,
    "plugins[0]: empty; expected a plugin's name or the path of its module" },
  { "plugins-twice", "{\"nodes\": 3, \"plugins\": [\"a\", \"b\", \"a\"]}", DSM_CONFIG_ERROR_INVALID,
    "plugins[2]: \"a\" given twice" },
  { "plugins-too-many", "{\"nodes\": 3, \"plugins\": [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\"]}",
    DSM_CONFIG_ERROR_RANGE, "plugins" },
};

static void
test_bad (gconstpointer data)
{
  const BadConfig *bad = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load (bad->json, &error);

  g_test_summary ("A bad config is refused with the right code and names the field at fault.");
  g_test_message ("%s", error ? error->message : "(no error)");
  g_assert_null (config);
  g_assert_error (error, DSM_CONFIG_ERROR, (gint) bad->code);
  if (strstr (error->message, bad->field) == NULL)
    g_error ("message \"%s\" does not name %s", error->message, bad->field);
}

static void
test_comments (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load (
    "{\"comment\": \"top\", \"nodes\": [{\"id\": 1, \"comment\": [\"any\", \"value\"]}],"
    " \"definitions\": [{\"comment\": \"a door\", \"name\": \"d\", \"states\": [\"A\"],"
    " \"initial\": \"A\", \"transitions\": [{\"from\": \"A\", \"to\": \"A\", \"comment\": 1}]}]}",
    &error);

  g_test_summary ("\"comment\" is allowed in every object and ignored.");
  g_assert_no_error (error);
  g_assert_nonnull (config);
}

static void
test_parse_syntax (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load ("{\"nodes\": 3,}", &error);

  g_test_summary ("Text that is not JSON is a PARSE error naming the byte and the problem.");
  g_assert_null (config);
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_PARSE);
  g_assert_cmpstr (error->message, ==, "byte 11: trailing comma before '}'");
}

static void
test_parse_empty (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load ("  \n", &error);

  g_test_summary ("An empty file is an error, not a default config.");
  g_assert_null (config);
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_PARSE);
}

static void
test_parse_trailing_garbage (void)
{
  static const char *const texts[] = {
    "{\"nodes\": 3} x",
    "{\"nodes\": 3} }",
    /* json-glib 1.6.6 accepts these two silently, keeping the first value. */
    "{\"nodes\": 3} {\"nodes\": 5}",
    "{\"nodes\": 3}\n[]",
  };

  g_test_summary ("Anything after the config object is an error, even another JSON value.");
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DsmConfig) config = load (texts[i], &error);

      g_assert_null (config);
      g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_PARSE);
    }
}

static void
test_parse_trailing_whitespace (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load ("\n  {\"nodes\": 3}  \n\n", &error);

  g_test_summary ("Whitespace around the object is fine.");
  g_assert_no_error (error);
  g_assert_cmpuint (config->n_nodes, ==, 3);
}

static void
test_parse_length (void)
{
  static const char text[] = "{\"nodes\": 2} trailing";
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = dsm_config_new_from_data (text, strlen ("{\"nodes\": 2}"),
                                                          NULL, NULL, &error);

  g_test_summary ("An explicit length bounds the text read.");
  g_assert_no_error (error);
  g_assert_cmpuint (config->n_nodes, ==, 2);
}

static void
test_parse_duplicate_key (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load ("{\"nodes\": 3,\n \"heartbeat_ms\": 10,\n"
                                      " \"heartbeat_ms\": 20}", &error);

  g_test_summary ("A key given twice is an error (json-glib would keep the last silently).");
  g_assert_null (config);
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_PARSE);
  g_assert_cmpstr (error->message, ==, "heartbeat_ms: duplicate key (line 3, byte 35)");
}

static void
test_parse_duplicate_nested_key (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load ("{\"nodes\": [{\"id\": 1}, {\"id\": 2, \"id\": 3}]}",
                                      &error);

  g_test_summary ("Duplicate keys are caught inside nested objects too.");
  g_assert_null (config);
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_PARSE);
  g_assert_cmpstr (error->message, ==, "nodes[1].id: duplicate key (byte 32)");
}

/* A loader serving one file from memory, recording what it was asked. */
typedef struct {
  guint calls;
  char *last_path;
} LoaderState;

static JsonNode *
loader_door (const char *path, gpointer user_data, GError **error)
{
  LoaderState *state = user_data;

  state->calls++;
  g_free (state->last_path);
  state->last_path = g_strdup (path);
  if (strcmp (path, "defs/door.json") == 0)
    return parse (DOOR_JSON);
  if (strcmp (path, "defs/broken.json") == 0)
    return parse ("{\"name\": \"broken\", \"states\": [\"A\"], \"initial\": \"B\","
                  " \"transitions\": []}");
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "No such file or directory");
  return NULL;
}

static void
test_loader_string_definition (void)
{
  LoaderState state = { 0, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = dsm_config_new_from_data (
    "{\"nodes\": 3, \"definitions\": [\"defs/door.json\"], \"default_definition\": \"door\"}",
    -1, loader_door, &state, &error);

  g_test_summary ("A string in \"definitions\" is a path the host's loader reads.");
  g_assert_no_error (error);
  g_assert_cmpuint (state.calls, ==, 1);
  g_assert_cmpstr (state.last_path, ==, "defs/door.json");
  g_assert_nonnull (dsm_config_find_definition (config, "door"));
  g_assert_cmpstr (config->default_definition, ==, "door");
  g_free (state.last_path);
}

static void
test_loader_error_propagated (void)
{
  LoaderState state = { 0, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = dsm_config_new_from_data (
    "{\"nodes\": 3, \"definitions\": [" DOOR_JSON ", \"defs/missing.json\"]}",
    -1, loader_door, &state, &error);

  g_test_summary ("The loader's error comes back as it was, prefixed with the entry and path.");
  g_assert_null (config);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_cmpstr (error->message, ==,
                   "definitions[1] (\"defs/missing.json\"): No such file or directory");
  g_free (state.last_path);
}

static void
test_loader_bad_file (void)
{
  LoaderState state = { 0, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = dsm_config_new_from_data (
    "{\"nodes\": 3, \"definitions\": [\"defs/broken.json\"]}", -1, loader_door, &state, &error);

  g_test_summary ("A loaded definition's errors name the entry, the path and the field.");
  g_assert_null (config);
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message,
                                   "definitions[0] (\"defs/broken.json\").initial: "));
  g_free (state.last_path);
}

static void
test_update_overlay (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(JsonNode) overlay = parse ("{\"heartbeat_ms\": 20, \"election_timeout_ms_min\": 100,"
                                       " \"comment\": \"fast elections\"}");
  g_autoptr(GError) error = NULL;

  g_test_summary ("An overlay changes the keys it gives and keeps every other value.");
  g_assert_true (dsm_config_update_from_json (config, overlay, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (config->heartbeat_ms, ==, 20);
  g_assert_cmpuint (config->election_timeout_ms_min, ==, 100);
  g_assert_cmpuint (config->election_timeout_ms_max, ==, 300);
  g_assert_cmpuint (config->n_nodes, ==, 3);
  g_assert_cmpstr (config->cluster_id, ==, "dsm");
  g_assert_cmpstr (config->default_definition, ==, DSM_MACHINE_LIFECYCLE);
}

static void
test_update_node_count (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(JsonNode) overlay = parse ("{\"nodes\": 5}");
  g_autoptr(GError) error = NULL;

  g_test_summary ("A scenario's \"nodes\": 5 gives nodes 1..5.");
  g_assert_true (dsm_config_update_from_json (config, overlay, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (config->n_nodes, ==, 5);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpuint (config->nodes[i].id, ==, i + 1);
  g_assert_cmpuint (dsm_config_quorum (config), ==, 3);
}

static void
test_update_definitions (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(JsonNode) overlay = parse ("{\"definitions\": [" DOOR_JSON "],"
                                       " \"default_definition\": \"door\"}");
  g_autoptr(GError) error = NULL;

  g_test_summary ("An overlay may add definitions and pick one as the default.");
  g_assert_true (dsm_config_update_from_json (config, overlay, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (config->definitions), ==, 2);
  g_assert_cmpstr (dsm_machine_def_get_name (dsm_config_find_definition (config, NULL)), ==,
                   "door");
}

static void
test_update_cross_field (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(JsonNode) overlay = parse ("{\"heartbeat_ms\": 500}");
  g_autoptr(GError) error = NULL;

  g_test_summary ("An overlay is checked against the values it keeps.");
  g_assert_false (dsm_config_update_from_json (config, overlay, NULL, NULL, &error));
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "heartbeat_ms: 500 must be <"));
}

static void
test_update_atomic (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(JsonNode) overlay = parse ("{\"heartbeat_ms\": 10, \"cluster_id\": \"other\","
                                       " \"nodes\": 7, \"max_sessions\": -1}");
  g_autoptr(GError) error = NULL;

  g_test_summary ("A failed overlay leaves the config exactly as it was.");
  g_assert_false (dsm_config_update_from_json (config, overlay, NULL, NULL, &error));
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_RANGE);
  g_assert_cmpuint (config->heartbeat_ms, ==, 50);
  g_assert_cmpstr (config->cluster_id, ==, "dsm");
  g_assert_cmpuint (config->n_nodes, ==, 3);
  g_assert_cmpuint (config->max_sessions, ==, 10000);
}

static void
test_update_unknown_key (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(JsonNode) overlay = parse ("{\"election_timeout_min_ms\": 100}");
  g_autoptr(GError) error = NULL;

  g_test_summary ("Overlays get the typo guard too, with a hint.");
  g_assert_false (dsm_config_update_from_json (config, overlay, NULL, NULL, &error));
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_UNKNOWN);
  g_assert_nonnull (strstr (error->message, "did you mean \"election_timeout_ms_min\""));
}

static void
test_copy_independent (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load (full_config, &error);
  g_autoptr(DsmConfig) copy = NULL;

  g_test_summary ("A copy is deep: changing it leaves the original alone.");
  g_assert_no_error (error);
  copy = dsm_config_copy (config);
  g_assert_cmpint (copy->ref_count, ==, 1);
  g_assert_cmpuint (copy->heartbeat_ms, ==, 20);
  g_assert_true (copy->nodes != config->nodes);
  g_assert_cmpstr (copy->nodes[0].peer_address, ==, config->nodes[0].peer_address);
  g_assert_true (copy->nodes[0].peer_address != config->nodes[0].peer_address);
  g_assert_true (copy->definitions != config->definitions);

  copy->heartbeat_ms = 30;
  g_free (copy->nodes[0].peer_address);
  copy->nodes[0].peer_address = g_strdup ("127.0.0.1:9999");
  g_hash_table_remove (copy->definitions, "door");
  g_assert_cmpuint (config->heartbeat_ms, ==, 20);
  g_assert_cmpstr (config->nodes[0].peer_address, ==, "127.0.0.1:7001");
  g_assert_nonnull (dsm_config_find_definition (config, "door"));
}

static void
test_ref_unref (void)
{
  DsmConfig *config = dsm_config_new_default (1);

  g_test_summary ("Holders share one config by reference.");
  g_assert_true (dsm_config_ref (config) == config);
  g_assert_cmpint (config->ref_count, ==, 2);
  dsm_config_unref (config);
  g_assert_cmpstr (config->cluster_id, ==, "dsm");
  dsm_config_unref (config);
}

static void
test_to_json_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load (full_config, &error);
  g_autofree char *text = NULL;
  g_autoptr(DsmConfig) again = NULL;
  g_autofree char *text_again = NULL;

  g_test_summary ("to_json writes what new_from_data reads back, value for value.");
  g_assert_no_error (error);
  text = dsm_config_to_json (config);
  again = load (text, &error);
  g_assert_no_error (error);
  text_again = dsm_config_to_json (again);
  g_assert_cmpstr (text, ==, text_again);

  g_assert_cmpstr (again->cluster_id, ==, "test-cluster");
  g_assert_cmpuint (again->n_nodes, ==, 3);
  g_assert_cmpuint (again->nodes[2].id, ==, 3);
  g_assert_cmpstr (again->nodes[2].client_address, ==, "127.0.0.1:8003");
  g_assert_null (again->nodes[1].client_address);
  g_assert_cmpuint (again->snapshot_threshold_entries, ==, 0);
  g_assert_cmpuint (again->max_write_queue_bytes, ==, 8388608);
  g_assert_cmpstr (again->secret, ==, "s3cret");
  g_assert_cmpstr (again->default_definition, ==, "door");
  g_assert_true (dsm_machine_def_allows (dsm_config_find_definition (again, "door"),
                                         "Locked", "Closed"));
}

static void
test_plugins (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load ("{\"nodes\": 3, \"plugins\": [\"bank-ledger\", \"plugins/libjob-queue.so\"]}",
                                      &error);

  g_test_summary ("\"plugins\" keeps the names and paths as written, for the host to load; "
                  "dsm_config_to_json() writes them back and a copy keeps them.");
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (config->plugins), ==, 2);
  g_assert_cmpstr (config->plugins[0], ==, "bank-ledger");
  g_assert_cmpstr (config->plugins[1], ==, "plugins/libjob-queue.so");
  /* Nothing loaded yet: the core runs no plugin of its own. */
  g_autofree char *described = dsm_config_describe_plugins (config);
  g_assert_cmpstr (described, ==, "none");

  g_autofree char *text = dsm_config_to_json (config);
  g_autoptr(DsmConfig) again = load (text, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->plugins[1], ==, "plugins/libjob-queue.so");
  g_autoptr(DsmConfig) copy = dsm_config_copy (config);
  g_assert_cmpstr (copy->plugins[0], ==, "bank-ledger");

  g_autoptr(DsmConfig) none = load ("{\"nodes\": 3}", &error);
  g_assert_null (none->plugins);
}

static void
test_to_json_default (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (2);
  g_autofree char *text = dsm_config_to_json (config);
  g_autoptr(JsonNode) root = parse (text);
  JsonObject *object = json_node_get_object (root);

  g_test_summary ("The built-in lifecycle is not written out; a NULL secret is left out.");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "definitions")),
                    ==, 0);
  g_assert_false (json_object_has_member (object, "secret"));
  g_assert_cmpint (json_object_get_int_member (object, "heartbeat_ms"), ==, 50);
}

static void
test_check_unsorted (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A config built in code must keep its nodes sorted by id.");
  config->nodes[0].id = 9;
  g_assert_false (dsm_config_check (config, &error));
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "nodes[1].id"));
}

static void
test_check_zero_limit (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A config built in code gets the same limits as a parsed one.");
  config->max_inflight_proposals = 0;
  g_assert_false (dsm_config_check (config, &error));
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_RANGE);
  g_assert_true (g_str_has_prefix (error->message, "max_inflight_proposals"));
}

static void
test_check_lifecycle_replaced (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(JsonNode) node = parse ("{\"name\": \"lifecycle\", \"states\": [\"A\"],"
                                    " \"initial\": \"A\", \"transitions\": []}");
  g_autoptr(GError) error = NULL;
  DsmMachineDef *def = dsm_machine_def_new_from_json (node, NULL, &error);

  g_test_summary ("Every node must agree on lifecycle, so it cannot be swapped in code either.");
  g_assert_no_error (error);
  g_hash_table_replace (config->definitions, g_strdup ("lifecycle"), def);
  g_assert_false (dsm_config_check (config, &error));
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "\"lifecycle\" is built in"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/core/config/defaults/values", test_defaults);
  g_test_add_func ("/core/config/defaults/pass-check", test_defaults_pass_check);
  g_test_add_func ("/core/config/quorum", test_quorum);
  g_test_add_func ("/core/config/parse/full", test_full);
  g_test_add_func ("/core/config/parse/nodes-sorted", test_nodes_sorted);
  g_test_add_func ("/core/config/parse/node-count", test_node_count);
  g_test_add_func ("/core/config/parse/ipv6", test_addresses_ipv6);
  g_test_add_func ("/core/config/parse/extreme-values", test_extreme_values);
  g_test_add_func ("/core/config/parse/comments", test_comments);
  g_test_add_func ("/core/config/parse/syntax", test_parse_syntax);
  g_test_add_func ("/core/config/parse/empty", test_parse_empty);
  g_test_add_func ("/core/config/parse/trailing-garbage", test_parse_trailing_garbage);
  g_test_add_func ("/core/config/parse/trailing-whitespace", test_parse_trailing_whitespace);
  g_test_add_func ("/core/config/parse/length", test_parse_length);
  g_test_add_func ("/core/config/parse/duplicate-key", test_parse_duplicate_key);
  g_test_add_func ("/core/config/parse/duplicate-nested-key", test_parse_duplicate_nested_key);
  for (guint i = 0; i < G_N_ELEMENTS (bad_configs); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/config/bad/%s", bad_configs[i].test);

      g_test_add_data_func (path, &bad_configs[i], test_bad);
    }
  g_test_add_func ("/core/config/loader/string-definition", test_loader_string_definition);
  g_test_add_func ("/core/config/loader/error-propagated", test_loader_error_propagated);
  g_test_add_func ("/core/config/loader/bad-file", test_loader_bad_file);
  g_test_add_func ("/core/config/update/overlay", test_update_overlay);
  g_test_add_func ("/core/config/update/node-count", test_update_node_count);
  g_test_add_func ("/core/config/update/definitions", test_update_definitions);
  g_test_add_func ("/core/config/update/cross-field", test_update_cross_field);
  g_test_add_func ("/core/config/update/atomic", test_update_atomic);
  g_test_add_func ("/core/config/update/unknown-key", test_update_unknown_key);
  g_test_add_func ("/core/config/copy/independent", test_copy_independent);
  g_test_add_func ("/core/config/ref-unref", test_ref_unref);
  g_test_add_func ("/core/config/to-json/round-trip", test_to_json_round_trip);
  g_test_add_func ("/core/config/to-json/default", test_to_json_default);
  g_test_add_func ("/core/config/plugins", test_plugins);
  g_test_add_func ("/core/config/check/unsorted", test_check_unsorted);
  g_test_add_func ("/core/config/check/zero-limit", test_check_zero_limit);
  g_test_add_func ("/core/config/check/lifecycle-replaced", test_check_lifecycle_replaced);

  return g_test_run ();
}
