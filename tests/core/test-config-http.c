/* tests/core/test-config-http.c: the "http" section of the cluster config
 * (core/config-http.c): defaults, every key read and written back, and each
 * bad value refused with an error naming the field. */
#include <string.h>

#include "config.h"
#include "error.h"

static DsmConfig *
parse (const char *http, GError **error)
{
  g_autofree char *text = g_strdup_printf ("{\"nodes\": 3, \"http\": %s}", http);
  return dsm_config_new_from_data (text, -1, NULL, NULL, error);
}

static void
test_defaults (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  const DsmHttpConfig *h = &config->http;

  g_test_summary ("The HTTP defaults are the documented ones: 2 workers, 1024 connections (128 per address), "
                  "10 s header, body and write timeouts, 60 s idle, 64 KiB bodies, no rate limit, no TLS, "
                  "no credentials.");
  g_assert_cmpuint (h->workers, ==, 2);
  g_assert_cmpuint (h->max_connections, ==, 1024);
  g_assert_cmpuint (h->max_connections_per_address, ==, 128);
  g_assert_cmpuint (h->max_pipelined_requests, ==, 16);
  g_assert_cmpuint (h->header_timeout_ms, ==, 10000);
  g_assert_cmpuint (h->body_timeout_ms, ==, 10000);
  g_assert_cmpuint (h->idle_timeout_ms, ==, 60000);
  g_assert_cmpuint (h->write_timeout_ms, ==, 10000);
  g_assert_cmpuint (h->max_request_line_bytes, ==, 8192);
  g_assert_cmpuint (h->max_header_bytes, ==, 16384);
  g_assert_cmpuint (h->max_header_count, ==, 64);
  g_assert_cmpuint (h->max_body_bytes, ==, 65536);
  g_assert_cmpuint (h->rate_per_second, ==, 0);
  g_assert_cmpuint (h->rate_burst, ==, 100);
  g_assert_null (h->token_file);
  g_assert_null (h->tls_cert_file);
  g_assert_null (h->client_ca_file);
  g_assert_false (h->insecure_open);
  g_assert_cmpuint (g_strv_length (h->open_paths), ==, 0);
}

#define FULL "{\"workers\": 4, \"max_connections\": 50, \"max_connections_per_address\": 5, " \
             "\"max_pipelined_requests\": 2, \"header_timeout_ms\": 100, \"body_timeout_ms\": 200, " \
             "\"idle_timeout_ms\": 300, \"write_timeout_ms\": 400, \"max_request_line_bytes\": 512, " \
             "\"max_header_bytes\": 1024, \"max_header_count\": 8, \"max_body_bytes\": 4096, " \
             "\"rate_per_second\": 10, \"rate_burst\": 20, \"token_file\": \"tokens\", " \
             "\"tls_cert_file\": \"http-{id}.crt\", \"tls_key_file\": \"http-{id}.key\", " \
             "\"client_ca_file\": \"ca.crt\", \"client_cert_required\": true, " \
             "\"client_cert_roles\": {\"ops\": \"admin\", \"*\": \"read\", \"comment\": \"any verified cert reads\"}, " \
             "\"open_paths\": [\"/metrics\", \"/v1/cluster\"], \"comment\": \"all keys\"}"

static void
test_full_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = parse (FULL, &error);
  g_autofree char *json = NULL;
  g_autoptr(DsmConfig) again = NULL;
  g_autofree char *json_again = NULL;

  g_test_summary ("Every http key is read into the config and written back by dsm_config_to_json(), which "
                  "reads back to the same text.");
  g_assert_no_error (error);
  g_assert_cmpuint (config->http.workers, ==, 4);
  g_assert_cmpuint (config->http.write_timeout_ms, ==, 400);
  g_assert_cmpuint (config->http.rate_burst, ==, 20);
  g_assert_cmpstr (config->http.tls_cert_file, ==, "http-{id}.crt");
  g_assert_true (config->http.client_cert_required);
  g_assert_cmpstr (g_hash_table_lookup (config->http.client_cert_roles, "ops"), ==, "admin");
  g_assert_cmpstr (g_hash_table_lookup (config->http.client_cert_roles, "*"), ==, "read");
  g_assert_false (g_hash_table_contains (config->http.client_cert_roles, "comment"));
  g_assert_cmpuint (g_strv_length (config->http.open_paths), ==, 2);
  json = dsm_config_to_json (config);
  again = dsm_config_new_from_data (json, -1, NULL, NULL, &error);
  g_assert_no_error (error);
  json_again = dsm_config_to_json (again);
  g_assert_cmpstr (json, ==, json_again);
  g_assert_nonnull (strstr (json, "\"max_pipelined_requests\" : 2"));
}

static void
test_overlay_keeps (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_test_summary ("An overlay's http object changes the keys it names and keeps the others.");
  config->http.idle_timeout_ms = 1234;
  g_assert_true (json_parser_load_from_data (parser, "{\"http\": {\"workers\": 3}}", -1, NULL));
  g_assert_true (dsm_config_update_from_json (config, json_parser_get_root (parser), NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (config->http.workers, ==, 3);
  g_assert_cmpuint (config->http.idle_timeout_ms, ==, 1234);
}

static void
test_copy_independent (void)
{
  g_autoptr(DsmConfig) config = parse (FULL, NULL);
  g_autoptr(DsmConfig) copy = dsm_config_copy (config);

  g_test_summary ("A copy's http strings, roles and paths are its own.");
  g_free (copy->http.token_file);
  copy->http.token_file = g_strdup ("other");
  g_hash_table_remove (copy->http.client_cert_roles, "ops");
  g_assert_cmpstr (config->http.token_file, ==, "tokens");
  g_assert_true (g_hash_table_contains (config->http.client_cert_roles, "ops"));
  g_assert_cmpstr (copy->http.open_paths[0], ==, "/metrics");
}

typedef struct {
  const char *name;
  const char *http;
  gint code;
  const char *message;
} BadCase;

static const BadCase bad_cases[] = {
  { "not-object", "[]", DSM_CONFIG_ERROR_TYPE, "http: expected an object" },
  { "unknown-key", "{\"timeout_ms\": 5}", DSM_CONFIG_ERROR_UNKNOWN, "http.timeout_ms: unknown key" },
  { "workers-zero", "{\"workers\": 0}", DSM_CONFIG_ERROR_RANGE, "http.workers" },
  { "workers-many", "{\"workers\": 65}", DSM_CONFIG_ERROR_RANGE, "http.workers" },
  { "timeout-tiny", "{\"header_timeout_ms\": 5}", DSM_CONFIG_ERROR_RANGE, "http.header_timeout_ms" },
  { "timeout-string", "{\"idle_timeout_ms\": \"60s\"}", DSM_CONFIG_ERROR_TYPE, "http.idle_timeout_ms" },
  { "body-tiny", "{\"max_body_bytes\": 10}", DSM_CONFIG_ERROR_RANGE, "http.max_body_bytes" },
  { "burst-zero", "{\"rate_burst\": 0}", DSM_CONFIG_ERROR_RANGE, "http.rate_burst" },
  { "cert-without-key", "{\"tls_cert_file\": \"a.crt\"}", DSM_CONFIG_ERROR_INVALID, "http.tls_key_file" },
  { "key-without-cert", "{\"tls_key_file\": \"a.key\"}", DSM_CONFIG_ERROR_INVALID, "http.tls_cert_file" },
  { "ca-without-tls", "{\"client_ca_file\": \"ca.crt\"}", DSM_CONFIG_ERROR_INVALID, "http.client_ca_file" },
  { "required-without-ca", "{\"client_cert_required\": true}", DSM_CONFIG_ERROR_INVALID, "http.client_cert_required" },
  { "roles-without-ca", "{\"client_cert_roles\": {\"ops\": \"admin\"}}", DSM_CONFIG_ERROR_INVALID,
    "http.client_cert_roles" },
  { "role-unknown", "{\"tls_cert_file\": \"a\", \"tls_key_file\": \"b\", \"client_ca_file\": \"c\", "
    "\"client_cert_roles\": {\"ops\": \"root\"}}", DSM_CONFIG_ERROR_INVALID, "http.client_cert_roles.ops" },
  { "role-number", "{\"tls_cert_file\": \"a\", \"tls_key_file\": \"b\", \"client_ca_file\": \"c\", "
    "\"client_cert_roles\": {\"ops\": 3}}", DSM_CONFIG_ERROR_TYPE, "http.client_cert_roles.ops" },
  { "open-path-unknown", "{\"open_paths\": [\"/v1/machines/x\"]}", DSM_CONFIG_ERROR_INVALID, "http.open_paths[0]" },
  { "open-path-twice", "{\"open_paths\": [\"/metrics\", \"/metrics\"]}", DSM_CONFIG_ERROR_INVALID,
    "http.open_paths[1]" },
  { "open-paths-string", "{\"open_paths\": \"/metrics\"}", DSM_CONFIG_ERROR_TYPE, "http.open_paths" },
  { "insecure-with-tokens", "{\"insecure_open\": true, \"token_file\": \"t\"}", DSM_CONFIG_ERROR_INVALID,
    "http.insecure_open" },
  { "insecure-not-bool", "{\"insecure_open\": 1}", DSM_CONFIG_ERROR_TYPE, "http.insecure_open" },
  { "token-file-empty", "{\"token_file\": \"\"}", DSM_CONFIG_ERROR_INVALID, "http.token_file" },
  { "token-file-number", "{\"token_file\": 7}", DSM_CONFIG_ERROR_TYPE, "http.token_file" },
};

static void
test_bad (gconstpointer data)
{
  const BadCase *bc = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = parse (bc->http, &error);

  g_test_summary ("A bad http value is refused with the field's path in the message.");
  g_assert_null (config);
  g_assert_error (error, DSM_CONFIG_ERROR, bc->code);
  if (strstr (error->message, bc->message) == NULL)
    g_error ("%s: \"%s\" does not say \"%s\"", bc->name, error->message, bc->message);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/config-http/defaults", test_defaults);
  g_test_add_func ("/core/config-http/full-round-trip", test_full_round_trip);
  g_test_add_func ("/core/config-http/overlay-keeps", test_overlay_keeps);
  g_test_add_func ("/core/config-http/copy-independent", test_copy_independent);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/config-http/bad/%s", bad_cases[i].name);
      g_test_add_data_func (path, &bad_cases[i], test_bad);
    }
  return g_test_run ();
}
