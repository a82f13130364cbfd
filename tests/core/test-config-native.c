/* tests/core/test-config-native.c: the native protocol's config
 * (core/config-native.c and nodes[].native_address): defaults, every key
 * read and written back, and bad values refused naming the field. */
#include <string.h>

#include "config.h"
#include "error.h"

static DsmConfig *
parse (const char *nodes, const char *native, GError **error)
{
  g_autofree char *text = g_strdup_printf ("{\"nodes\": %s%s%s}", nodes, native != NULL ? ", \"native\": " : "",
                                           native != NULL ? native : "");
  return dsm_config_new_from_data (text, -1, NULL, NULL, error);
}

static void
test_defaults (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  const DsmNativeConfig *n = &config->native;

  g_test_summary ("The native defaults are the documented ones (docs/CONFIG.md, \"Native protocol\"), and no "
                  "node has a native address.");
  g_assert_cmpuint (n->workers, ==, 2);
  g_assert_cmpuint (n->max_connections, ==, 1024);
  g_assert_cmpuint (n->max_connections_per_address, ==, 128);
  g_assert_cmpuint (n->max_in_flight, ==, 256);
  g_assert_cmpuint (n->max_frame_bytes, ==, 65536);
  g_assert_cmpuint (n->hello_timeout_ms, ==, 10000);
  g_assert_cmpuint (n->idle_timeout_ms, ==, 300000);
  g_assert_cmpuint (n->write_timeout_ms, ==, 10000);
  g_assert_cmpuint (n->rate_per_second, ==, 0);
  g_assert_cmpuint (n->rate_burst, ==, 1000);
  g_assert_cmpuint (n->loop_write_bytes_max, ==, 65536);
  for (guint i = 0; i < config->n_nodes; i++)
    g_assert_null (config->nodes[i].native_address);
}

#define NODES "[{\"id\": 1, \"peer_address\": \"127.0.0.1:7001\", \"native_address\": \"127.0.0.1:9001\"}, " \
              "{\"id\": 2, \"peer_address\": \"127.0.0.1:7002\"}]"
#define FULL "{\"workers\": 3, \"max_connections\": 50, \"max_connections_per_address\": 5, \"max_in_flight\": 7, " \
             "\"max_frame_bytes\": 2048, \"hello_timeout_ms\": 100, \"idle_timeout_ms\": 200, " \
             "\"write_timeout_ms\": 300, \"rate_per_second\": 10, \"rate_burst\": 20, " \
             "\"loop_write_bytes_max\": 0}"

static void
test_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = parse (NODES, FULL, &error);
  g_autoptr(DsmConfig) again = NULL;
  g_autofree char *json = NULL;
  g_autofree char *json_again = NULL;
  g_autoptr(DsmConfig) copy = NULL;

  g_test_summary ("Every native key and a node's native_address are read, written back by "
                  "dsm_config_to_json() and copied by dsm_config_copy().");
  g_assert_no_error (error);
  g_assert_cmpstr (dsm_config_find_node (config, 1)->native_address, ==, "127.0.0.1:9001");
  g_assert_null (dsm_config_find_node (config, 2)->native_address);
  g_assert_cmpuint (config->native.workers, ==, 3);
  g_assert_cmpuint (config->native.max_in_flight, ==, 7);
  g_assert_cmpuint (config->native.max_frame_bytes, ==, 2048);
  g_assert_cmpuint (config->native.rate_burst, ==, 20);
  g_assert_cmpuint (config->native.loop_write_bytes_max, ==, 0);
  json = dsm_config_to_json (config);
  again = dsm_config_new_from_data (json, -1, NULL, NULL, &error);
  g_assert_no_error (error);
  json_again = dsm_config_to_json (again);
  g_assert_cmpstr (json, ==, json_again);
  copy = dsm_config_copy (config);
  g_assert_cmpstr (dsm_config_find_node (copy, 1)->native_address, ==, "127.0.0.1:9001");
  g_assert_cmpuint (copy->native.idle_timeout_ms, ==, 200);
}

static void
test_refused (void)
{
  static const struct {
    const char *nodes;
    const char *native;
    const char *field;
  } cases[] = {
    { "3", "{\"max_in_flight\": 0}", "native.max_in_flight" },
    { "3", "{\"max_frame_bytes\": 100}", "native.max_frame_bytes" },
    { "3", "{\"workers\": 65}", "native.workers" },
    { "3", "{\"loop_write_bytes_max\": 16777217}", "native.loop_write_bytes_max" },
    { "3", "{\"hello_timeout\": 5}", "hello_timeout" },
    { "3", "[]", "native" },
    { "[{\"id\": 1, \"native_address\": \"nowhere\"}]", NULL, "nodes[0].native_address" },
    { "[{\"id\": 1, \"client_address\": \"127.0.0.1:9001\", \"native_address\": \"127.0.0.1:9001\"}]", NULL,
      "nodes[0].native_address" },
  };

  g_test_summary ("Out-of-range native limits, unknown keys, a malformed native address and one shared with "
                  "another address are refused, the error naming the field.");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DsmConfig) config = parse (cases[i].nodes, cases[i].native, &error);
      g_assert_null (config);
      g_assert_error (error, DSM_CONFIG_ERROR, error->code);
      if (strstr (error->message, cases[i].field) == NULL)
        g_error ("case %u: \"%s\" does not name %s", i, error->message, cases[i].field);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/config-native/defaults", test_defaults);
  g_test_add_func ("/core/config-native/round-trip", test_round_trip);
  g_test_add_func ("/core/config-native/refused", test_refused);
  return g_test_run ();
}
