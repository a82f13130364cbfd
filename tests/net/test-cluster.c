/* tests/net/test-cluster.c: three real dsm-node processes on loopback,
 * driven through the HTTP API and dsmctl: commits reach every node,
 * illegal transitions are refused everywhere, the cluster survives a
 * leader's kill -9 and a stopped follower, restarted nodes catch up,
 * hostile peer bytes leave nodes serving, bad requests get JSON 4xx, and
 * /metrics parses and counts.  Every wait polls the API with a deadline. */
#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "cluster.h"
#include "frame.h"
#include "handshake.h"
#include "store.h"
#include "tool.h"
#include "wal.h"

#define STEP_MS CLUSTER_BUDGET_MS

static double
metric_value (Cluster *c, guint id, const char *key)
{
  return cluster_metric (c, id, key);
}

static void
assert_propose_ok (Cluster *c, guint id, const char *machine, const char *state, const char *client, guint64 seq)
{
  g_autoptr(JsonNode) root = NULL;
  guint status = cluster_propose (c, id, machine, state, client, seq, STEP_MS, &root);

  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_get_string (root, "machine"), ==, machine);
  g_assert_cmpstr (json_get_string (root, "state"), ==, state);
  g_assert_cmpint (json_get_int (root, "index"), >, 0);
}

/* ---- behaviours ---- */

static void
test_commit_everywhere (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  g_autofree char *out = NULL, *err = NULL;
  guint leader = cluster_wait_leader (c, STEP_MS);
  guint follower = cluster_other_node (c, leader, 0);

  g_test_summary ("A transition through dsmctl and one through HTTP on a follower commit on every node.");
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "propose", "job-1", "Running", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "job-1: Running"));
  assert_propose_ok (c, follower, "job-2", "Running", NULL, 0);
  g_assert_true (cluster_wait_state_everywhere (c, "job-1", "Running", STEP_MS));
  g_assert_true (cluster_wait_state_everywhere (c, "job-2", "Running", STEP_MS));

  /* Linearizable reads from every node see both. */
  for (guint id = 1; id <= c->n; id++)
    {
      g_autoptr(JsonNode) root = NULL;
      g_assert_cmpuint (cluster_http (c, id, "GET", "/v1/machines/job-2", NULL, &root), ==, 200);
      g_assert_cmpstr (json_get_string (root, "state"), ==, "Running");
    }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "--json", "get", "job-1", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"state\":\"Running\""));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "list", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "job-2"));

  /* The listing comes in pages, in creation order, the same on every node. */
  g_assert_true (cluster_wait_state_everywhere (c, "job-2", "Running", STEP_MS));
  for (guint id = 1; id <= c->n; id++)
    {
      g_autoptr(JsonNode) p1 = NULL, p2 = NULL, p3 = NULL;
      g_assert_cmpuint (cluster_http (c, id, "GET", "/v1/machines?limit=1", NULL, &p1), ==, 200);
      g_assert_cmpint (json_get_int (p1, "total"), ==, 2);
      g_assert_cmpint (json_get_int (p1, "next_cursor"), ==, 1);
      g_assert_cmpstr (json_get_string (json_array_get_element (json_object_get_array_member (
                         json_node_get_object (p1), "machines"), 0), "machine"), ==, "job-1");
      g_assert_cmpuint (cluster_http (c, id, "GET", "/v1/machines?limit=1&cursor=1", NULL, &p2), ==, 200);
      g_assert_cmpstr (json_get_string (json_array_get_element (json_object_get_array_member (
                         json_node_get_object (p2), "machines"), 0), "machine"), ==, "job-2");
      g_assert_true (json_object_get_null_member (json_node_get_object (p2), "next_cursor"));
      g_assert_cmpuint (cluster_http (c, id, "GET", "/v1/machines?cursor=5", NULL, &p3), ==, 200);
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (p3), "machines")),
                        ==, 0);
      g_assert_true (json_object_get_null_member (json_node_get_object (p3), "next_cursor"));
    }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "status", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "leader"));
}

static void
test_illegal_refused_everywhere (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  g_autofree char *out = NULL, *err = NULL;

  g_test_summary ("Running -> Init is refused with 409 on every node and by dsmctl (exit 1), and changes nothing.");
  assert_propose_ok (c, 1, "pump", "Running", NULL, 0);
  for (guint id = 1; id <= c->n; id++)
    {
      g_autoptr(JsonNode) root = NULL;
      g_assert_cmpuint (cluster_http (c, id, "POST", "/v1/machines/pump", "{\"to\":\"Init\"}", &root), ==, 409);
      g_assert_cmpstr (json_get_string (root, "reason"), ==, "invalid_transition");
      g_assert_cmpstr (json_get_string (root, "machine"), ==, "pump");
      g_assert_cmpstr (json_get_string (root, "state"), ==, "Running");
      g_assert_cmpstr (json_get_string (root, "requested"), ==, "Init");
      g_assert_nonnull (json_get_string (root, "error"));
    }
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "propose", "pump", "Init", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "invalid_transition"));
  g_assert_true (cluster_wait_state_everywhere (c, "pump", "Running", STEP_MS));
}

static void
test_leader_kill_then_commits (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  guint leader = cluster_wait_leader (c, STEP_MS);
  guint survivor = cluster_other_node (c, leader, 0);

  g_test_summary ("After kill -9 of the leader, a surviving node commits again; the killed node, restarted, "
                  "catches up to the same states (how fast: tools/bench/part-failover.sh measures it).");
  assert_propose_ok (c, survivor, "door", "Running", NULL, 0);
  gint64 killed_us = g_get_monotonic_time ();
  cluster_kill_node (c, leader);
  assert_propose_ok (c, survivor, "door", "Stopped", "failover", 1);
  gint64 failover_ms = (g_get_monotonic_time () - killed_us) / 1000;
  g_test_message ("leader %u killed; next commit after %" G_GINT64_FORMAT " ms", leader, failover_ms);
  assert_propose_ok (c, survivor, "door", "Init", "failover", 2);
  assert_propose_ok (c, survivor, "other", "Running", NULL, 0);

  cluster_start_node (c, leader);
  g_assert_true (cluster_wait_state_everywhere (c, "door", "Init", STEP_MS));
  g_assert_true (cluster_wait_state_everywhere (c, "other", "Running", STEP_MS));
  g_assert_cmpuint (cluster_wait_leader (c, STEP_MS), !=, 0);
}

static void
test_stopped_follower_catches_up (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  guint leader = cluster_wait_leader (c, STEP_MS);
  guint stopped = cluster_other_node (c, leader, 0);

  g_test_summary ("A follower stopped with SIGSTOP misses commits; after SIGCONT it catches up.");
  cluster_signal_node (c, stopped, SIGSTOP);
  for (guint i = 0; i < 20; i++)
    {
      g_autofree char *name = g_strdup_printf ("batch-%u", i);
      assert_propose_ok (c, leader, name, "Running", NULL, 0);
    }
  assert_propose_ok (c, leader, "batch-0", "Stopped", NULL, 0);
  cluster_signal_node (c, stopped, SIGCONT);
  g_assert_true (cluster_wait_state_everywhere (c, "batch-0", "Stopped", STEP_MS));
  g_assert_true (cluster_wait_state_everywhere (c, "batch-19", "Running", STEP_MS));
}

static void
test_restart_all_keeps_state (void)
{
  g_autoptr(Cluster) c = cluster_new (3);

  g_test_summary ("SIGTERM stops each node cleanly (exit 0); restarted from their data dirs they keep every commit.");
  assert_propose_ok (c, 1, "kept", "Running", NULL, 0);
  assert_propose_ok (c, 2, "kept", "Stopped", NULL, 0);
  for (guint id = 1; id <= c->n; id++)
    {
      g_autoptr(GError) error = NULL;
      cluster_signal_node (c, id, SIGTERM);
      g_assert_true (g_subprocess_wait (c->proc[id], NULL, &error));
      g_assert_true (g_subprocess_get_if_exited (c->proc[id]));
      g_assert_cmpint (g_subprocess_get_exit_status (c->proc[id]), ==, 0);
      g_clear_object (&c->proc[id]);
    }
  for (guint id = 1; id <= c->n; id++)
    cluster_start_node (c, id);
  g_assert_cmpuint (cluster_wait_leader (c, STEP_MS), !=, 0);
  g_assert_true (cluster_wait_state_everywhere (c, "kept", "Stopped", STEP_MS));
  assert_propose_ok (c, 3, "kept", "Init", NULL, 0);
}

static void
test_idempotent_retry (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  g_autoptr(JsonNode) first = NULL;
  g_autoptr(JsonNode) again = NULL;

  g_test_summary ("A command retried with the same client id and seq, on another node, applies once "
                  "and answers with the first outcome.");
  g_assert_cmpuint (cluster_propose (c, 1, "tap", "Running", "client-a", 1, STEP_MS, &first), ==, 200);
  assert_propose_ok (c, 2, "tap", "Stopped", "client-b", 1);
  g_assert_cmpuint (cluster_propose (c, 3, "tap", "Running", "client-a", 1, STEP_MS, &again), ==, 200);
  g_assert_cmpint (json_get_int (again, "index"), ==, json_get_int (first, "index"));
  g_assert_true (cluster_wait_state_everywhere (c, "tap", "Stopped", STEP_MS));
}

static void
test_bad_requests (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  g_autofree char *huge = g_strnfill (100 * 1024, ' ');
  g_autofree char *huge_body = g_strdup_printf ("{\"to\":\"Running\"%s}", huge);
  struct {
    const char *method, *path, *body;
    guint status;
    const char *reason;
  } cases[] = {
    { "POST", "/v1/machines/m", "{not json", 400, "bad_json" },
    { "POST", "/v1/machines/m", "[1]", 400, "bad_json" },
    { "POST", "/v1/machines/m", "{\"to\":\"Flying\"}", 400, "bad_request" },
    { "POST", "/v1/machines/m", "{\"to\":5}", 400, "bad_request" },
    { "POST", "/v1/machines/m", "{\"state\":\"Running\"}", 400, "bad_request" },
    { "POST", "/v1/machines/m", "{\"to\":\"Running\",\"definition\":\"nope\"}", 400, "bad_request" },
    { "POST", "/v1/machines/m", "{\"to\":\"Running\",\"client_id\":\"x\"}", 400, "bad_request" },
    { "POST", "/v1/machines/m", huge_body, 413, "body_too_large" },
    { "PUT", "/v1/machines/m", "{}", 405, "method_not_allowed" },
    { "DELETE", "/v1/cluster", NULL, 405, "method_not_allowed" },
    { "GET", "/v1/machines/a%00b", NULL, 400, "bad_name" },
    { "GET", "/v1/machines/a/b", NULL, 400, "bad_name" },
    { "GET", "/v1/machines/m?definition=nope", NULL, 400, "bad_request" },
    { "GET", "/v1/machines/m?definition=nope&stale=1", NULL, 400, "unknown_definition" },
    { "GET", "/v1/machines/m?colour=red", NULL, 400, "bad_request" },
    { "GET", "/v2/anything", NULL, 404, "not_found" },
    { "GET", "/v1/machines?limit=0", NULL, 400, "bad_request" },
    { "GET", "/v1/machines?limit=10001", NULL, 400, "bad_request" },
    { "GET", "/v1/machines?limit=ten", NULL, 400, "bad_request" },
    { "GET", "/v1/machines?cursor=-1", NULL, 400, "bad_request" },
    { "GET", "/v1/machines?cursor=99999999999", NULL, 400, "bad_request" },
    { "GET", "/v1/machines?page=2", NULL, 400, "bad_request" },
  };

  g_test_summary ("Bad JSON, unknown states and definitions, wrong types, unknown keys, huge bodies, wrong "
                  "methods, bad names and unknown paths get a 4xx with a JSON error body.");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) root = NULL;
      guint status = cluster_http (c, 2, cases[i].method, cases[i].path, cases[i].body, &root);
      if (status != cases[i].status || g_strcmp0 (json_get_string (root, "reason"), cases[i].reason) != 0)
        g_error ("%s %s: got %u %s, expected %u %s", cases[i].method, cases[i].path, status,
                 json_get_string (root, "reason"), cases[i].status, cases[i].reason);
      g_assert_nonnull (json_get_string (root, "error"));
    }
  /* Names are percent-decoded: a '/' inside one is fine when encoded. */
  assert_propose_ok (c, 1, "a/b c", "Running", NULL, 0);
  g_assert_true (cluster_wait_state_everywhere (c, "a/b c", "Running", STEP_MS));
}

/* Raw bytes on a node's peer port, as a hostile or confused peer. */
static gboolean
hostile_send (Cluster *c, guint id, GBytes *bytes)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();

  g_socket_client_set_enable_proxy (client, FALSE);
  g_autofree char *addr = g_strdup_printf ("127.0.0.1:%u", c->peer_port[id]);
  g_autoptr(GSocketConnection) conn = g_socket_client_connect_to_host (client, addr, 0, NULL, NULL);
  guint8 buf[4096];

  g_assert_nonnull (conn);
  g_socket_set_timeout (g_socket_connection_get_socket (conn), 10);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), g_bytes_get_data (bytes, NULL),
                             g_bytes_get_size (bytes), NULL, NULL, NULL);
  /* The node must close on us (EOF or reset), not wait for more. */
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf, sizeof buf, NULL, &error);
      if (n == 0 || (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)))
        return TRUE;
      if (n < 0)
        return FALSE;
    }
}

static void
test_hostile_peer_input (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  guint leader = cluster_wait_leader (c, STEP_MS);
  g_autofree char *key_garbage = g_strdup_printf ("dsm_net_handshake_failures_total{node=\"%u\",reason=\"frame_too_large\"}", leader);
  g_autofree char *key_cluster = g_strdup_printf ("dsm_net_handshake_failures_total{node=\"%u\",reason=\"wrong_cluster\"}", leader);
  g_autofree char *key_auth = g_strdup_printf ("dsm_net_handshake_failures_total{node=\"%u\",reason=\"auth\"}", leader);
  g_autofree char *key_crc = g_strdup_printf ("dsm_net_handshake_failures_total{node=\"%u\",reason=\"checksum\"}", leader);
  g_autofree char *wrong_cluster = g_strdup_printf ("{\"hello\":{\"protocol\":%d,\"from\":2,\"to\":1,"
                                                    "\"cluster_id\":\"other\","
                                                    "\"nonce\":\"00000000000000000000000000000000\",\"auth\":true}}",
                                                    DSM_PROTOCOL_VERSION);
  g_autofree char *no_auth = g_strdup_printf ("{\"hello\":{\"protocol\":%d,\"from\":%u,\"to\":%u,\"cluster_id\":\"test\","
                                              "\"nonce\":\"00000000000000000000000000000000\",\"auth\":false}}",
                                              DSM_PROTOCOL_VERSION, cluster_other_node (c, leader, 0), leader);
  g_autoptr(GBytes) garbage = g_bytes_new_static ("GET / HTTP/1.0\r\n\r\n", 18);
  g_autoptr(GBytes) wrong = dsm_frame_encode (wrong_cluster, strlen (wrong_cluster));
  g_autoptr(GBytes) unauth = dsm_frame_encode (no_auth, strlen (no_auth));
  g_autoptr(GByteArray) bad_crc = g_byte_array_new ();
  g_byte_array_append (bad_crc, g_bytes_get_data (wrong, NULL), (guint) g_bytes_get_size (wrong));
  bad_crc->data[12] ^= 1;
  g_autoptr(GBytes) crc = g_bytes_new (bad_crc->data, bad_crc->len);

  g_test_summary ("Garbage, a bad CRC, another cluster's hello and a hello without the secret on the leader's "
                  "peer port are each closed and counted; the cluster keeps committing.");
  assert_propose_ok (c, leader, "before", "Running", NULL, 0);
  double g0 = metric_value (c, leader, key_garbage), w0 = metric_value (c, leader, key_cluster);
  double a0 = metric_value (c, leader, key_auth), c0 = metric_value (c, leader, key_crc);
  g_assert_true (hostile_send (c, leader, garbage));
  g_assert_true (hostile_send (c, leader, crc));
  g_assert_true (hostile_send (c, leader, wrong));
  g_assert_true (hostile_send (c, leader, unauth));
  g_assert_cmpfloat (metric_value (c, leader, key_garbage), ==, g0 + 1);
  g_assert_cmpfloat (metric_value (c, leader, key_crc), ==, c0 + 1);
  g_assert_cmpfloat (metric_value (c, leader, key_cluster), ==, w0 + 1);
  g_assert_cmpfloat (metric_value (c, leader, key_auth), ==, a0 + 1);
  assert_propose_ok (c, leader, "after", "Running", NULL, 0);
  g_assert_true (cluster_wait_state_everywhere (c, "after", "Running", STEP_MS));
}

static void
test_metrics_count (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  guint leader = cluster_wait_leader (c, STEP_MS);
  guint follower = cluster_other_node (c, leader, 0);
  g_autofree char *requests = g_strdup_printf ("dsm_client_requests_total{node=\"%u\"}", follower);
  g_autofree char *ok = g_strdup_printf ("dsm_http_requests_total{node=\"%u\",route=\"machine_post\",code=\"200\"}", follower);
  g_autofree char *committed = g_strdup_printf ("dsm_entries_committed_total{node=\"%u\"}", leader);
  g_autofree char *fsyncs = g_strdup_printf ("dsm_wal_fsyncs_total{node=\"%u\"}", leader);
  g_autofree char *connected = g_strdup_printf ("dsm_net_peer_connected{node=\"%u\",peer=\"%u\"}", leader, follower);
  g_autofree char *latency = g_strdup_printf ("dsm_http_request_duration_seconds_count{node=\"%u\",route=\"machine_post\"}", follower);

  g_test_summary ("/metrics on every node parses as Prometheus text, and its counters grow with the "
                  "requests and commits made.");
  for (guint id = 1; id <= c->n; id++)
    g_assert_cmpfloat (metric_value (c, id, "dsm_nodes{node=\"1\"}") , <=, 3);
  double r0 = metric_value (c, follower, requests), k0 = metric_value (c, leader, committed);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("counted-%u", i);
      assert_propose_ok (c, follower, name, "Running", NULL, 0);
    }
  g_assert_cmpfloat (metric_value (c, follower, requests), >=, r0 + 5);
  g_assert_cmpfloat (metric_value (c, follower, ok), >=, 5);
  g_assert_cmpfloat (metric_value (c, follower, latency), >=, 5);
  g_assert_cmpfloat (metric_value (c, leader, committed), >=, k0 + 5);
  g_assert_cmpfloat (metric_value (c, leader, fsyncs), >=, 1);
  g_assert_cmpfloat (metric_value (c, leader, connected), ==, 1);
}

static void
test_prometheus_parser_rejects (void)
{
  const char *bad[] = {
    "no_type 1\n",
    "# TYPE x counter\nx{a=\"1\" 1\n",
    "# TYPE x counter\nx{a=1} 1\n",
    "# TYPE x counter\nx one\n",
    "# TYPE x counter\n# TYPE x gauge\n",
    "# TYPE x counter\nx 1\nx 2\n",
  };

  g_test_summary ("The test's Prometheus parser refuses what the format forbids, so passing it means something.");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GHashTable) t = prometheus_parse (bad[i], &error);
      g_assert_null (t);
      g_assert_nonnull (error);
    }
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) ok = prometheus_parse ("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.5\nh_count 2\n", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_hash_table_size (ok), ==, 3);
}

static void
test_node_usage_errors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("dsm-usage-XXXXXX", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.json", NULL);
  g_autofree char *out = NULL, *err = NULL;
  const char *node = g_getenv ("DSM_NODE");

  g_test_summary ("dsm-node exits 2 with a clear message on a bad config or arguments; --version and "
                  "--check-data-dir work.");
  g_assert_true (g_file_set_contents (bad, "{\"nodes\": [{\"id\": 1, \"heartbeat\": 5}]}", -1, NULL));
  const char *argv1[] = { node, "--config", bad, "--id", "1", "--data-dir", dir, NULL };
  g_assert_cmpint (cluster_run_tool (argv1, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "bad.json"));
  g_assert_nonnull (strstr (err, "heartbeat"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  const char *argv2[] = { node, "--id", "1", NULL };
  g_assert_cmpint (cluster_run_tool (argv2, &out, &err), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  const char *argv3[] = { node, "--version", NULL };
  g_assert_cmpint (cluster_run_tool (argv3, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "dsm-node"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  const char *argv4[] = { g_getenv ("DSMCTL"), "frobnicate", NULL };
  g_assert_cmpint (cluster_run_tool (argv4, &out, &err), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  const char *argv5[] = { g_getenv ("DSMCTL"), "--endpoints", "http://127.0.0.1:1", "--timeout", "0.5", "get", "x", NULL };
  g_assert_cmpint (cluster_run_tool (argv5, &out, &err), ==, 3);
  g_assert_nonnull (strstr (err, "unavailable"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_remove (bad);
  g_rmdir (dir);
}

/* Node 1's data directory of cluster "chk" under @dir: hard state, then
 * @snapshot installed at index 3 (the WAL checks its checksum, not what is
 * inside). */
static char *
write_data_dir (const char *dir, const char *name, GBytes *snapshot)
{
  g_autofree char *data = g_build_filename (dir, name, NULL);
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;

  DsmWal *wal = dsm_wal_open (data, "chk", 1, NULL, &state, &error);
  g_assert_no_error (error);
  DsmPersist hard = { .kind = DSM_PERSIST_HARD_STATE, .seq = 1, .epoch = 1, .voted_for = 1 };
  DsmPersist snap = { .kind = DSM_PERSIST_SNAPSHOT, .seq = 2, .index = 3, .snapshot_epoch = 1,
                      .snapshot = snapshot, .reset_log = TRUE };
  dsm_wal_append (wal, &hard);
  dsm_wal_append (wal, &snap);
  g_assert_cmpuint (dsm_wal_sync (wal, &error), ==, 2);
  g_assert_no_error (error);
  dsm_wal_close (wal);
  dsm_durable_state_clear (&state);
  return g_steal_pointer (&data);
}

static void
test_check_data_dir_with_config (void)
{
  g_autofree char *dir = g_dir_make_tmp ("dsm-check-XXXXXX", NULL);
  g_autofree char *config_path = g_build_filename (dir, "cluster.json", NULL);
  g_autofree char *other_path = g_build_filename (dir, "other.json", NULL);
  g_autoptr(GError) error = NULL;
  const char *node = g_getenv ("DSM_NODE");
  const char *nodes = "\"nodes\": [ { \"id\": 1, \"peer_address\": \"127.0.0.1:1\", \"client_address\": \"127.0.0.1:2\" },"
                      " { \"id\": 2, \"peer_address\": \"127.0.0.1:3\", \"client_address\": \"127.0.0.1:4\" },"
                      " { \"id\": 3, \"peer_address\": \"127.0.0.1:5\", \"client_address\": \"127.0.0.1:6\" } ] }";
  g_autofree char *config_text = g_strdup_printf ("{ \"cluster_id\": \"chk\", %s", nodes);
  g_autofree char *other_text = g_strdup_printf ("{ \"cluster_id\": \"other\", %s", nodes);

  g_test_summary ("dsm-node --check-data-dir --config builds the node a start would build: a snapshot "
                  "whose checksum holds but whose store does not restore passes the WAL's check alone "
                  "and is refused with the config (exit 1, naming it), as the node refuses it at start; "
                  "a sound one reports its machines; another cluster's config is refused.");
  g_assert_true (g_file_set_contents (config_path, config_text, -1, &error));
  g_assert_true (g_file_set_contents (other_path, other_text, -1, &error));

  /* A store of one machine, snapshotted at index 3. */
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  DsmStore *store = dsm_store_new (config);
  for (guint64 i = 1; i <= 3; i++)
    {
      g_autoptr(DsmEntry) entry = NULL;
      if (i < 3)
        entry = dsm_entry_new (i, 1, DSM_ENTRY_NOOP, NULL);
      else
        {
          DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = (char *) "pump", .to = (char *) "Running" };
          entry = dsm_entry_new (i, 1, DSM_ENTRY_COMMAND, &cmd);
        }
      DsmApplyResult result;
      g_assert_true (dsm_store_apply (store, entry, &result, &error));
      dsm_apply_result_clear (&result);
    }
  g_autoptr(GBytes) good_snapshot = dsm_store_snapshot (store);
  dsm_store_free (store);
  g_autoptr(GBytes) bad_snapshot = g_bytes_new_static ("{\"machines\": 7}", 15);
  g_autofree char *good = write_data_dir (dir, "good", good_snapshot);
  g_autofree char *bad = write_data_dir (dir, "bad", bad_snapshot);

  for (guint with_config = 0; with_config <= 1; with_config++)
    {
      g_autofree char *out = NULL, *err = NULL;
      const char *argv[] = { node, "--check-data-dir", bad, with_config ? "--config" : NULL, config_path, NULL };
      int status = cluster_run_tool (argv, &out, &err);
      if (!with_config)
        {
          /* The WAL alone cannot tell: the gap the config closes. */
          g_assert_cmpint (status, ==, 0);
          g_assert_nonnull (strstr (out, "result: good"));
          continue;
        }
      g_assert_cmpint (status, ==, 1);
      g_assert_nonnull (strstr (out, "result: a node would refuse to start: node 1, built from it with the config: "));
      g_assert_nonnull (strstr (err, "snapshot"));
    }

  g_autofree char *out = NULL, *err = NULL;
  const char *argv_good[] = { node, "--check-data-dir", good, "--config", config_path, NULL };
  g_assert_cmpint (cluster_run_tool (argv_good, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "node: built as node 1 of cluster \"chk\": 1 machines at applied index 3, last index 3\n"));
  g_assert_nonnull (strstr (out, "result: good\n"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  const char *argv_other[] = { node, "--check-data-dir", good, "--config", other_path, NULL };
  g_assert_cmpint (cluster_run_tool (argv_other, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "meta.json: cluster \"chk\", not the config's \"other\""));
  tree_remove (dir);
}

/* ---- tools/dsm-cluster ---- */

static gboolean
port_free (guint16 port)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, port);

  return socket != NULL && g_socket_bind (socket, addr, TRUE, NULL);
}

/* A base port P with P..P+3, P+100..P+103 and P+200..P+202 (native) free (a fourth node is added), from a range derived
 * from our pid so parallel runs rarely collide.
 *
 * The range is the script's alone: 12000..19999, below what the cluster
 * helpers draw from (20000..31999, tests/net/cluster.c) and below the
 * kernel's ephemeral range (32768 and up by default), which outgoing
 * connections and port-0 listeners take from.  The fourth node's ports
 * stay unbound from this check until `add` starts it, and node 1's are
 * free again between kill and restart: in the helpers' range, a cluster
 * another test starts meanwhile could take one of them (it happened once:
 * `add` failed, its node unable to bind). */
#define SCRIPT_PORT_MIN 12000
#define SCRIPT_PORT_SPAN (20000 - SCRIPT_PORT_MIN - 204)

static guint16
script_base_port (void)
{
  for (guint attempt = 0; attempt < 200; attempt++)
    {
      guint16 base = (guint16) (SCRIPT_PORT_MIN + ((guint) getpid () * 13 + attempt * 211) % SCRIPT_PORT_SPAN);
      gboolean ok = TRUE;
      for (guint i = 0; i < 4 && ok; i++)
        ok = port_free ((guint16) (base + i)) && port_free ((guint16) (base + 100 + i))
             && port_free ((guint16) (base + 200 + i));
      if (ok)
        return base;
    }
  g_error ("no free port range found");
}

static int
script (const char *dir, char **out, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *err = NULL;
  va_list args;
  const char *arg;

  g_ptr_array_add (argv, (char *) g_getenv ("DSM_CLUSTER"));
  va_start (args, out);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  if (dir != NULL)
    {
      g_ptr_array_add (argv, (char *) "--dir");
      g_ptr_array_add (argv, (char *) dir);
    }
  g_ptr_array_add (argv, NULL);
  int status = cluster_run_tool ((const char *const *) argv->pdata, out, &err);
  if (status != 0 && g_test_verbose ())
    g_printerr ("dsm-cluster: %s", err);
  return status;
}

static void
script_steps (const char *dir, guint16 base)
{
  g_autofree char *port = g_strdup_printf ("%u", base);
  g_autofree char *endpoints = g_strdup_printf ("http://127.0.0.1:%u,http://127.0.0.1:%u,http://127.0.0.1:%u",
                                                base + 100, base + 101, base + 102);
  char *out = NULL;

  g_assert_cmpint (script (dir, &out, "up", "-n", "3", "--base-port", port, NULL), ==, 0);
  g_auto(GStrv) urls = g_strsplit (g_strstrip (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (urls), ==, 3);
  g_assert_true (g_str_has_prefix (urls[0], "http://127.0.0.1:"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (script (dir, &out, "status", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "role=leader"));
  g_clear_pointer (&out, g_free);

  g_autofree char *tokens = g_build_filename (dir, "tokens", NULL);
  const char *propose[] = { g_getenv ("DSMCTL"), "--endpoints", endpoints, "--token-file", tokens, "propose",
                            "scripted", "Running", NULL };
  const char *anonymous[] = { g_getenv ("DSMCTL"), "--endpoints", endpoints, "propose", "scripted", "Stopped", NULL };
  char *err = NULL;
  g_assert_cmpint (cluster_run_tool (propose, &out, &err), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* The script's cluster asks for its token. */
  g_assert_cmpint (cluster_run_tool (anonymous, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "401"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (script (dir, &out, "kill", "1", NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (script (dir, &out, "status", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "node 1 down"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (script (dir, &out, "restart", "1", NULL), ==, 0);
  g_clear_pointer (&out, g_free);

  const char *get[] = { g_getenv ("DSMCTL"), "--endpoints", endpoints, "--token-file", tokens, "get", "scripted", NULL };
  g_assert_cmpint (cluster_run_tool (get, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "Running"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Grow by one node, which the cluster names 4, then remove it. */
  g_assert_cmpint (script (dir, &out, "add", NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "node 4 http://127.0.0.1:"));
  g_clear_pointer (&out, g_free);
  const char *members[] = { g_getenv ("DSMCTL"), "--endpoints", endpoints, "--token-file", tokens, "member", "list",
                            NULL };
  g_assert_cmpint (cluster_run_tool (members, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "\n4 "));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (script (dir, &out, "status", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "node 4 pid "));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (script (dir, &out, "remove", "4", NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (cluster_run_tool (members, &out, &err), ==, 0);
  g_assert_null (strstr (out, "\n4 "));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (script (dir, &out, "status", NULL), ==, 0);
  g_assert_null (strstr (out, "node 4"));
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (script (dir, &out, "down", NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (script (dir, &out, "status", NULL), ==, 0);
  g_assert_null (strstr (out, " pid "));
  g_clear_pointer (&out, g_free);

  /* up --config: the operator's own file, re-indented, with its files
   * next to it; the nodes find them and the script reads it alike. */
  g_autofree char *conf_dir = g_build_filename (dir, "conf", NULL);
  g_autofree char *generated = g_build_filename (dir, "cluster.json", NULL);
  g_autofree char *mine = g_build_filename (conf_dir, "mine.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_assert_cmpint (g_mkdir_with_parents (conf_dir, 0700), ==, 0);
  g_assert_true (json_parser_load_from_file (parser, generated, NULL));
  json_generator_set_root (gen, json_parser_get_root (parser));
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_indent (gen, 7);
  g_assert_true (json_generator_to_file (gen, mine, NULL));
  g_assert_cmpint (g_chmod (mine, 0600), ==, 0);
  for (guint i = 0; i < 2; i++)
    {
      const char *name = i == 0 ? "secret" : "tokens";
      g_autofree char *from = g_build_filename (dir, name, NULL);
      g_autofree char *to = g_build_filename (conf_dir, name, NULL);
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (from, &text, NULL, NULL));
      g_assert_true (g_file_set_contents_full (to, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, NULL));
    }
  g_assert_cmpint (script (dir, &out, "up", "--config", mine, NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (script (dir, &out, "status", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "role=leader"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (script (dir, &out, "down", NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (script (NULL, &out, "frobnicate", NULL), ==, 2);
  g_clear_pointer (&out, g_free);
}

static void
test_dsm_cluster_script (void)
{
  if (g_test_subprocess ())
    {
      script_steps (g_getenv ("DSM_SCRIPT_TEST_DIR"), (guint16) atoi (g_getenv ("DSM_SCRIPT_TEST_PORT")));
      return;
    }
  g_test_summary ("tools/dsm-cluster starts 3 nodes and prints their URLs, reports status, kills and "
                  "restarts a node, adds a fourth (the cluster names it) and removes it, takes the cluster "
                  "down, and starts it again from the operator's own (re-indented) config with up --config.");
  g_autofree char *curl = g_find_program_in_path ("curl");
  if (curl == NULL)
    {
      g_test_skip ("the script needs curl");
      return;
    }
  g_autofree char *dir = g_dir_make_tmp ("dsm-script-XXXXXX", NULL);
  g_autofree char *port = g_strdup_printf ("%u", script_base_port ());
  g_setenv ("DSM_SCRIPT_TEST_DIR", dir, TRUE);
  g_setenv ("DSM_SCRIPT_TEST_PORT", port, TRUE);
  /* The script's nodes are not our children: run the steps in a
   * subprocess, then take the cluster down whatever happened there. */
  g_test_trap_subprocess (NULL, 180 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_autofree char *out = NULL;
  script (dir, &out, "down", NULL);
  for (guint id = 1; id <= 4; id++)
    {
      g_autofree char *pidfile = g_strdup_printf ("%s/node%u.pid", dir, id);
      g_autofree char *pid = NULL;
      if (g_file_get_contents (pidfile, &pid, NULL, NULL) && atoi (pid) > 0)
        kill (atoi (pid), SIGKILL);
    }
  g_test_trap_assert_passed ();
  const char *rm[] = { "rm", "-rf", dir, NULL };
  g_autofree char *o = NULL, *e = NULL;
  cluster_run_tool (rm, &o, &e);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/cluster/commit-everywhere", test_commit_everywhere);
  g_test_add_func ("/net/cluster/illegal-refused-everywhere", test_illegal_refused_everywhere);
  g_test_add_func ("/net/cluster/leader-kill-then-commits", test_leader_kill_then_commits);
  g_test_add_func ("/net/cluster/stopped-follower-catches-up", test_stopped_follower_catches_up);
  g_test_add_func ("/net/cluster/restart-all-keeps-state", test_restart_all_keeps_state);
  g_test_add_func ("/net/cluster/idempotent-retry", test_idempotent_retry);
  g_test_add_func ("/net/cluster/bad-requests", test_bad_requests);
  g_test_add_func ("/net/cluster/hostile-peer-input", test_hostile_peer_input);
  g_test_add_func ("/net/cluster/metrics-count", test_metrics_count);
  g_test_add_func ("/net/cluster/prometheus-parser-rejects", test_prometheus_parser_rejects);
  g_test_add_func ("/net/cluster/node-usage-errors", test_node_usage_errors);
  g_test_add_func ("/net/cluster/check-data-dir-with-config", test_check_data_dir_with_config);
  g_test_add_func ("/net/cluster/dsm-cluster-script", test_dsm_cluster_script);
  return g_test_run ();
}
