/* tests/net/test-https.c: who may use a real node's HTTP API: bearer
 * tokens and their roles (401, 403), open paths, dsmctl with tokens, TLS
 * end to end with dsmctl, client certificates trusted or not, and the
 * configurations a node refuses to start with. */
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "cluster.h"
#include "raw-http.h"

#define BUDGET_MS 10000
#define ADMIN_TOKEN "admin-token-0123456789abcdef"
#define WRITE_TOKEN "write-token-0123456789abcdef"
#define READ_TOKEN "read-token-0123456789abcdefgh"
#define TOKENS "# role token name\n" \
               "admin " ADMIN_TOKEN " ops\n" \
               "write " WRITE_TOKEN " writer\n" \
               "read  " READ_TOKEN " reader\n"

static Cluster *token_cluster;

/* One request on a fresh connection, with "Authorization: @authorization" unless NULL. */
static RawResponse
ask (guint16 port, const char *method, const char *path, const char *authorization, const char *body)
{
  g_autoptr(RawConn) r = raw_connect (port, NULL);
  g_autofree char *request = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: x\r\n%s%s%sContent-Length: %zu\r\n\r\n%s", method,
                                              path, authorization != NULL ? "Authorization: " : "",
                                              authorization != NULL ? authorization : "",
                                              authorization != NULL ? "\r\n" : "", body != NULL ? strlen (body) : 0,
                                              body != NULL ? body : "");

  raw_send_str (r, request);
  return raw_read_response (r, BUDGET_MS);
}

static void
assert_answer (RawResponse response, guint status, const char *reason)
{
  g_autofree char *expected = reason != NULL ? g_strdup_printf ("\"reason\":\"%s\"", reason) : NULL;

  if (response.status != status || (expected != NULL && strstr (response.body, expected) == NULL))
    g_error ("got %u %s, expected %u %s", response.status, response.body, status, reason);
  raw_response_clear (&response);
}

static void
test_no_token (void)
{
  guint16 port = token_cluster->client_port[1];
  RawResponse response = ask (port, "POST", "/v1/machines/m", NULL, "{\"to\":\"Running\"}");
  g_autofree char *challenge = raw_response_header (&response, "WWW-Authenticate");

  g_test_summary ("Without a token a write is 401 with WWW-Authenticate: Bearer and the API's JSON error "
                  "shape; so is a read of /v1/cluster or a machine.");
  g_assert_cmpstr (challenge, ==, "Bearer realm=\"dsm\"");
  g_assert_nonnull (strstr (response.body, "\"error\":"));
  assert_answer (response, 401, "unauthorized");
  assert_answer (ask (port, "GET", "/v1/cluster", NULL, NULL), 401, "unauthorized");
  assert_answer (ask (port, "GET", "/v1/machines/m", NULL, NULL), 401, "unauthorized");
}

static void
test_roles (void)
{
  guint16 port = token_cluster->client_port[1];

  g_test_summary ("A read token may read but a write with it is 403; a write token may write; an admin token "
                  "may do both.");
  assert_answer (ask (port, "POST", "/v1/machines/roles", "Bearer " READ_TOKEN, "{\"to\":\"Running\"}"), 403,
                 "forbidden");
  assert_answer (ask (port, "GET", "/v1/machines/roles?stale=1", "Bearer " READ_TOKEN, NULL), 200, NULL);
  assert_answer (ask (port, "GET", "/v1/cluster", "Bearer " READ_TOKEN, NULL), 200, NULL);
  assert_answer (ask (port, "POST", "/v1/machines/roles", "Bearer " WRITE_TOKEN, "{\"to\":\"Running\"}"), 200, NULL);
  assert_answer (ask (port, "POST", "/v1/machines/roles", "bearer  " ADMIN_TOKEN, "{\"to\":\"Stopped\"}"), 200, NULL);
}

static void
test_admin_roles (void)
{
  guint16 port = token_cluster->client_port[1];
  static const char *const writes[][3] = {
    { "POST", "/v1/members", "{\"op\":\"remove\",\"id\":9}" },
    { "POST", "/v1/leader/transfer", "{}" },
    { "PUT", "/v1/definitions/door", "{}" },
    { "GET", "/v1/snapshot", NULL },
  };

  g_test_summary ("The admin endpoints (membership changes, transfer, definitions, snapshots) are 403 for a "
                  "write token and 401 without one; the membership is readable with a read token; an admin "
                  "token reaches them (a bad change is then judged: 400).");
  for (guint i = 0; i < G_N_ELEMENTS (writes); i++)
    {
      assert_answer (ask (port, writes[i][0], writes[i][1], "Bearer " WRITE_TOKEN, writes[i][2]), 403, "forbidden");
      assert_answer (ask (port, writes[i][0], writes[i][1], NULL, writes[i][2]), 401, "unauthorized");
    }
  assert_answer (ask (port, "GET", "/v1/members", "Bearer " READ_TOKEN, NULL), 200, NULL);
  assert_answer (ask (port, "POST", "/v1/members", "Bearer " ADMIN_TOKEN, "{\"op\":\"remove\",\"id\":9}"), 400,
                 "bad_request");
  assert_answer (ask (port, "PUT", "/v1/definitions/door", "Bearer " ADMIN_TOKEN, "{\"name\":\"door\"}"), 400,
                 "bad_request");
  assert_answer (ask (port, "DELETE", "/v1/members", "Bearer " ADMIN_TOKEN, NULL), 405, "method_not_allowed");
  assert_answer (ask (port, "PUT", "/v1/definitions/door", "Bearer " ADMIN_TOKEN, NULL), 400, "bad_json");
  assert_answer (ask (port, "PUT", "/v1/definitions/a%2Fb%00", "Bearer " ADMIN_TOKEN, "{}"), 400, "bad_name");
}

static void
test_wrong_token (void)
{
  guint16 port = token_cluster->client_port[1];
  RawResponse response = ask (port, "GET", "/v1/cluster", "Bearer wrong-token-0123456789abcdef", NULL);
  g_autofree char *challenge = raw_response_header (&response, "WWW-Authenticate");

  g_test_summary ("A token that matches none, or credentials of another scheme, are 401 invalid_token, even "
                  "where no role is needed... except /healthz, which stays open.");
  g_assert_nonnull (strstr (challenge, "error=\"invalid_token\""));
  assert_answer (response, 401, "invalid_token");
  assert_answer (ask (port, "GET", "/v1/cluster", "Basic YWRtaW46YWRtaW4=", NULL), 401, "invalid_token");
  assert_answer (ask (port, "GET", "/v1/cluster", "Bearer", NULL), 401, "invalid_token");
  assert_answer (ask (port, "GET", "/healthz", "Bearer wrong-token-0123456789abcdef", NULL), 200, NULL);
}

static void
test_open_paths (void)
{
  guint16 port = token_cluster->client_port[1];

  g_test_summary ("/healthz is always open, /metrics when http.open_paths lists it; /v1/cluster is not.");
  assert_answer (ask (port, "GET", "/healthz", NULL, NULL), 200, NULL);
  assert_answer (ask (port, "GET", "/metrics", NULL, NULL), 200, NULL);
  assert_answer (ask (port, "GET", "/v1/cluster", NULL, NULL), 401, "unauthorized");
}

static void
test_dsmctl_tokens (void)
{
  g_autofree char *endpoints = cluster_endpoints (token_cluster);
  g_autofree char *tokens = g_build_filename (token_cluster->dir, "tokens", NULL);
  g_autofree char *out = NULL, *err = NULL;

  g_test_summary ("dsmctl sends --token, --token-file or $DSM_TOKEN as a bearer token; a refusal for "
                  "credentials exits 1 at once, naming the status.");
  g_assert_cmpint (cluster_dsmctl_run (FALSE, &out, &err, "--endpoints", endpoints, "--token", WRITE_TOKEN, "propose", "ctl", "Running",
                           NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl_run (FALSE, &out, &err, "--endpoints", endpoints, "--token-file", tokens, "get", "ctl", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Running"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_setenv ("DSM_TOKEN", READ_TOKEN, TRUE);
  g_assert_cmpint (cluster_dsmctl_run (FALSE, &out, &err, "--endpoints", endpoints, "propose", "ctl", "Stopped", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "403"));
  g_unsetenv ("DSM_TOKEN");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl_run (FALSE, &out, &err, "--endpoints", endpoints, "get", "ctl", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "401"));
}

/* Runs dsm-node on @config (a 1-node config written to a temp dir with
 * @file_name of @file_mode beside it); returns its exit status. */
static int
node_refuses (const char *config, const char *file_name, const char *file_contents, int file_mode, char **err)
{
  g_autoptr(Cluster) c = cluster_prepare (1, NULL);
  g_autofree char *path = cluster_write_file (c, "refused.json", config, 0644);
  g_autofree char *data = g_build_filename (c->dir, "data", NULL);
  g_autofree char *out = NULL;
  const char *argv[] = { g_getenv ("DSM_NODE"), "--config", path, "--id", "1", "--data-dir", data, NULL };

  if (file_name != NULL)
    g_free (cluster_write_file (c, file_name, file_contents, file_mode));

  return cluster_run_tool (argv, &out, err);
}

static void
test_refused_configs (void)
{
  g_autofree char *err = NULL;
  g_autofree char *open_config = g_strdup_printf ("{\"nodes\": [{\"id\": 1, \"client_address\": \"0.0.0.0:%u\"}]}",
                                                  token_cluster->client_port[1] + 1);

  g_test_summary ("A node refuses to start (exit 2, a config error) with a token file others may read (and "
                  "never prints a token), and without credentials on an address that is not loopback unless "
                  "http.insecure_open says so.");
  g_assert_cmpint (node_refuses ("{\"nodes\": [{\"id\": 1, \"client_address\": \"127.0.0.1:1\"}], "
                                 "\"http\": {\"token_file\": \"tokens\"}}", "tokens", TOKENS, 0644, &err), ==, 2);
  g_assert_nonnull (strstr (err, "chmod 600"));
  g_assert_null (strstr (err, ADMIN_TOKEN));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (node_refuses ("{\"nodes\": [{\"id\": 1, \"client_address\": \"127.0.0.1:1\"}], "
                                 "\"http\": {\"token_file\": \"tokens\"}}", "tokens", "admin short\n", 0600, &err), ==, 2);
  g_assert_nonnull (strstr (err, "line 1"));
  g_assert_null (strstr (err, "short"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (node_refuses (open_config, NULL, NULL, 0, &err), ==, 2);
  g_assert_nonnull (strstr (err, "insecure_open"));
}

/* ---- TLS ---- */

static void
make_certs (Cluster *c)
{
  g_autofree char *certs = g_build_filename (c->dir, "certs", NULL);
  g_autofree char *rogue = g_build_filename (c->dir, "rogue", NULL);
  g_autofree char *out = NULL, *err = NULL;
  const char *cluster[] = { g_getenv ("DSM_CERTS"), "cluster", "--dir", certs, "--cluster", "test", "-n", "1", NULL };
  const char *other[] = { g_getenv ("DSM_CERTS"), "client", "--dir", rogue, "admin", NULL };

  g_assert_cmpint (cluster_run_tool (cluster, &out, &err), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* Another CA's certificate, with the same name as the admin's. */
  g_assert_cmpint (cluster_run_tool (other, &out, &err), ==, 0);
}

static void
test_tls_end_to_end (void)
{
  g_autoptr(Cluster) c = cluster_prepare (1, "\"http\": { \"tls_cert_file\": \"certs/http-{id}.crt\", "
                                             "\"tls_key_file\": \"certs/http-{id}.key\", \"client_ca_file\": "
                                             "\"certs/ca.crt\", \"client_cert_roles\": {\"admin\": \"admin\"}, "
                                             "\"token_file\": \"tokens\" }");
  g_autofree char *tokens = cluster_write_file (c, "tokens", TOKENS, 0600);
  g_autofree char *ca = g_build_filename (c->dir, "certs", "ca.crt", NULL);
  g_autofree char *cert = g_build_filename (c->dir, "certs", "client-admin.crt", NULL);
  g_autofree char *key = g_build_filename (c->dir, "certs", "client-admin.key", NULL);
  g_autofree char *rogue_cert = g_build_filename (c->dir, "rogue", "client-admin.crt", NULL);
  g_autofree char *rogue_key = g_build_filename (c->dir, "rogue", "client-admin.key", NULL);
  g_autofree char *endpoints = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonNode) root = NULL;

  g_test_summary ("HTTPS end to end: dsmctl with --cacert and a token, or with a client certificate mapped "
                  "to a role, proposes and reads; a client certificate from another CA, a client that does "
                  "not trust the node's CA, and plain HTTP on the TLS port are refused.");
  make_certs (c);
  cluster_use_tls (c, ca);
  cluster_set_token (c, ADMIN_TOKEN);
  cluster_start_all (c);
  endpoints = cluster_endpoints (c);
  g_assert_true (g_str_has_prefix (endpoints, "https://"));
  g_assert_cmpuint (cluster_http (c, 1, "GET", "/v1/cluster", NULL, &root), ==, 200);
  g_assert_true (g_str_has_prefix (json_get_string (root, "leader_url"), "https://"));

  g_assert_cmpint (cluster_dsmctl_run (TRUE, &out, &err, "--endpoints", endpoints, "--cacert", ca, "--token-file", tokens, "propose",
                           "tls", "Running", NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl_run (TRUE, &out, &err, "--endpoints", endpoints, "--cacert", ca, "--cert", cert, "--key", key,
                           "propose", "tls", "Stopped", NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl_run (TRUE, &out, &err, "--endpoints", endpoints, "--cacert", ca, "--cert", cert, "--key", key, "get",
                           "tls", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "Stopped"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Refused at the handshake: dsmctl says so at once (no endpoint answers). */
  g_assert_cmpint (cluster_dsmctl_run (TRUE, &out, &err, "--endpoints", endpoints, "--cacert", ca, "--cert", rogue_cert, "--key",
                           rogue_key, "get", "tls", NULL), ==, 3);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl_run (TRUE, &out, &err, "--endpoints", endpoints, "--token-file", tokens, "get", "tls", NULL), ==, 3);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_autoptr(RawConn) plain = raw_connect (c->client_port[1], NULL);
  raw_send_str (plain, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  RawResponse response = raw_read_response (plain, BUDGET_MS);
  g_assert_cmpuint (response.status, ==, 400);
  g_assert_nonnull (strstr (response.body, "not_tls"));
  g_assert_true (raw_wait_closed (plain, BUDGET_MS));
  raw_response_clear (&response);
}

/* Polls until a request with @token answers @status (the node reads its
 * token file on SIGHUP, on its own time), within BUDGET_MS. */
static gboolean
wait_token_status (guint16 port, const char *token, guint status)
{
  g_autofree char *authorization = g_strdup_printf ("Bearer %s", token);
  gint64 deadline = g_get_monotonic_time () + (gint64) BUDGET_MS * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      RawResponse response = ask (port, "GET", "/v1/cluster", authorization, NULL);
      gboolean done = response.status == status;
      raw_response_clear (&response);
      if (done)
        return TRUE;
      g_usleep (20 * 1000);
    }
  return FALSE;
}

static double
token_loads (const char *result)
{
  g_autofree char *key = g_strdup_printf ("dsm_http_token_file_loads_total{node=\"1\",result=\"%s\"}", result);
  return cluster_metric (token_cluster, 1, key);
}

#define NEW_TOKEN "rotated-token-0123456789abcdef"

static void
test_token_reload (void)
{
  guint16 port = token_cluster->client_port[1];
  g_autofree char *path = NULL;
  gint64 deadline;

  g_test_summary ("SIGHUP makes a running node read its token file again: a token added works and one "
                  "removed is refused (401) from then on, with no restart; a file then made readable by "
                  "others is refused whole, counted, and the tokens in use keep working.");
  g_assert_cmpfloat (token_loads ("taken"), ==, 1);
  path = cluster_write_file (token_cluster, "tokens", "admin " NEW_TOKEN " rotated\n", 0600);
  cluster_signal_node (token_cluster, 1, SIGHUP);
  g_assert_true (wait_token_status (port, NEW_TOKEN, 200));
  g_assert_true (wait_token_status (port, ADMIN_TOKEN, 401));
  g_assert_cmpfloat (token_loads ("taken"), ==, 2);
  g_assert_cmpfloat (token_loads ("refused"), ==, 0);

  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  cluster_signal_node (token_cluster, 1, SIGHUP);
  deadline = g_get_monotonic_time () + (gint64) BUDGET_MS * 1000;
  while (token_loads ("refused") < 1 && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  g_assert_cmpfloat (token_loads ("refused"), ==, 1);
  g_assert_true (wait_token_status (port, NEW_TOKEN, 200));
  g_assert_true (cluster_node_running (token_cluster, 1));

  /* Back to the file the other tests use. */
  g_free (cluster_write_file (token_cluster, "tokens", TOKENS, 0600));
  cluster_signal_node (token_cluster, 1, SIGHUP);
  g_assert_true (wait_token_status (port, ADMIN_TOKEN, 200));
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/https/no-token", test_no_token);
  g_test_add_func ("/net/https/roles", test_roles);
  g_test_add_func ("/net/https/admin-roles", test_admin_roles);
  g_test_add_func ("/net/https/wrong-token", test_wrong_token);
  g_test_add_func ("/net/https/open-paths", test_open_paths);
  g_test_add_func ("/net/https/dsmctl-tokens", test_dsmctl_tokens);
  g_test_add_func ("/net/https/refused-configs", test_refused_configs);
  g_test_add_func ("/net/https/tls-end-to-end", test_tls_end_to_end);
  g_test_add_func ("/net/https/token-reload", test_token_reload);
  token_cluster = cluster_prepare (1, "\"http\": { \"token_file\": \"tokens\", \"open_paths\": [\"/metrics\"] }");
  g_free (cluster_write_file (token_cluster, "tokens", TOKENS, 0600));
  cluster_set_token (token_cluster, ADMIN_TOKEN);
  cluster_start_all (token_cluster);
  status = g_test_run ();
  cluster_free_after_run (token_cluster, status);
  return status;
}
