/* tests/net/test-native-data.c: payloads, revisions and compare-and-set
 * on the native protocol (docs/CLIENT.md, "Payloads"), on real dsm-node
 * processes: through libdsm-client, dsmctl --native and raw frames (bad
 * payloads, a client of protocol version 1). */
#include <string.h>

#include "client/dsm-client.h"
#include "native-raw.h"

#define BUDGET_MS 30000
#define WRITE_TOKEN "write-token-0123456789abcdef"
#define TOKENS "write " WRITE_TOKEN " writer\n"
/* Small enough to exceed in a test, big enough for every other payload here. */
#define PAYLOAD_BYTES_MAX 200

static Cluster *cluster;

static DsmClient *
data_client (void)
{
  DsmClientOptions options;
  g_autoptr(GPtrArray) nodes = g_ptr_array_new_with_free_func (g_free);

  for (guint id = 1; id <= cluster->n; id++)
    g_ptr_array_add (nodes, cluster_native_address (cluster, id));
  g_ptr_array_add (nodes, NULL);
  dsm_client_options_init (&options);
  options.nodes = (const char *const *) nodes->pdata;
  options.token = WRITE_TOKEN;
  return dsm_client_new (&options, NULL);
}

static DsmClientResult *
data_transition (DsmClient *client, const char *machine, const char *to, const char *payload, gint64 if_revision)
{
  DsmClientTransitionOptions t;
  g_autoptr(GError) error = NULL;
  DsmClientResult *r;

  dsm_client_transition_options_init (&t);
  t.payload = payload;
  t.has_if_revision = if_revision >= 0;
  t.if_revision = if_revision >= 0 ? (guint64) if_revision : 0;
  r = dsm_client_transition_full_sync (client, machine, to, &t, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
  return r;
}

static void
test_round_trip (void)
{
  g_autoptr(DsmClient) client = NULL;
  g_autoptr(DsmClientResult) first = NULL;
  g_autoptr(DsmClientResult) second = NULL;
  g_autoptr(DsmClientResult) read = NULL;
  g_autoptr(DsmClientResult) stale = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A payload sent through libdsm-client is merged into the machine's data (a null removes a "
                  "key), and a read answers the canonical data with the revision the write returned.");
  cluster_wait_leader (cluster, BUDGET_MS);
  client = data_client ();
  first = data_transition (client, "data-a", "Running", "{ \"owner\": \"ann\", \"count\": 1, \"tags\": [\"x\"] }", 0);
  g_assert_cmpint (first->status, ==, DSM_CLIENT_OK);
  g_assert_cmpuint (first->revision, ==, first->index);
  g_assert_cmpuint (first->revision, >, 0);
  second = data_transition (client, "data-a", "Stopped", "{\"count\": 2, \"tags\": null}", (gint64) first->revision);
  g_assert_cmpint (second->status, ==, DSM_CLIENT_OK);
  g_assert_cmpuint (second->revision, >, first->revision);
  read = dsm_client_read_sync (client, "data-a", NULL, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (read->status, ==, DSM_CLIENT_OK);
  g_assert_cmpstr (read->state, ==, "Stopped");
  g_assert_cmpuint (read->revision, ==, second->revision);
  /* Keys in byte order, no spaces: the one spelling every node stores. */
  g_assert_cmpstr (read->data, ==, "{\"count\":2,\"owner\":\"ann\"}");
  /* The leader's own applied state says the same. */
  stale = dsm_client_read_sync (client, "data-a", NULL, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stale->revision, ==, second->revision);
  g_assert_cmpstr (stale->data, ==, read->data);
  /* A machine never changed: revision 0, no data. */
  g_clear_pointer (&read, dsm_client_result_free);
  read = dsm_client_read_sync (client, "data-never", NULL, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (read->revision, ==, 0);
  g_assert_null (read->data);
  g_assert_true (cluster_wait_state_everywhere (cluster, "data-a", "Stopped", BUDGET_MS));
}

static void
test_if_revision (void)
{
  g_autoptr(DsmClient) client = NULL;
  g_autoptr(DsmClientResult) first = NULL;
  g_autoptr(DsmClientResult) lost = NULL;
  g_autoptr(DsmClientResult) won = NULL;
  g_autofree char *current = NULL;

  g_test_summary ("A transition with if_revision commits only at that revision: a writer holding an old revision "
                  "is rejected invalid_transition naming the current revision (HTTP's 409), nothing changes, and "
                  "a retry with that revision commits.");
  cluster_wait_leader (cluster, BUDGET_MS);
  client = data_client ();
  first = data_transition (client, "cas-a", "Running", "{\"count\": 1}", 0);
  g_assert_cmpint (first->status, ==, DSM_CLIENT_OK);
  /* A second writer still believes the machine was never changed. */
  lost = data_transition (client, "cas-a", "Stopped", "{\"count\": 7}", 0);
  g_assert_cmpint (lost->status, ==, DSM_CLIENT_REJECTED);
  g_assert_cmpstr (lost->reason, ==, "invalid_transition");
  g_assert_cmpstr (lost->state, ==, "Running");
  g_assert_cmpuint (lost->revision, ==, first->revision);
  current = g_strdup_printf ("revision %" G_GUINT64_FORMAT, first->revision);
  g_assert_nonnull (strstr (lost->detail, current));
  won = data_transition (client, "cas-a", "Stopped", "{\"count\": 2}", (gint64) lost->revision);
  g_assert_cmpint (won->status, ==, DSM_CLIENT_OK);
  g_assert_cmpuint (won->revision, >, first->revision);
}

static void
test_loop_writes_part (void)
{
  guint leader = cluster_wait_leader (cluster, BUDGET_MS);
  NativeRaw *raw = native_raw_connect (cluster, leader);
  g_autoptr(GByteArray) burst = g_byte_array_new ();
  gboolean seen[9] = { FALSE };
  g_autofree char *key = NULL;
  double before;

  g_test_summary ("With native.loop_write_bytes_max 7, shorter than any answer, the loop writes the first 7 bytes "
                  "of a drain's answers and the worker the rest, ahead of anything else: eight pipelined writes "
                  "with payloads and a read are all answered whole, each by its id, and none counts as written "
                  "by the loop.");
  native_raw_hello (raw, WRITE_TOKEN);
  key = g_strdup_printf ("dsm_native_answers_loop_written_total{node=\"%u\"}", leader);
  before = cluster_metric (cluster, leader, key);
  g_assert_cmpfloat (before, >=, 0);
  for (guint i = 1; i <= 8; i++)
    {
      g_autofree char *name = g_strdup_printf ("part-%u", i);
      g_autofree char *payload = g_strdup_printf ("{\"n\": %u}", i);
      DsmWireMsg m = native_raw_transition (i, name, "Running");

      m.payload = payload;
      dsm_wire_encode (&m, burst);
      /* Apart, so that the answers come in several drains. */
      native_raw_send_bytes (raw, burst->data, burst->len);
      g_byte_array_set_size (burst, 0);
    }
  for (guint n = 0; n < 8; n++)
    {
      DsmWireMsg answer;

      g_assert_true (native_raw_next (raw, &answer));
      g_assert_cmpint (answer.type, ==, DSM_WIRE_RESULT);
      g_assert_cmpint (answer.status, ==, DSM_WIRE_STATUS_OK);
      g_assert_cmpuint (answer.id, >=, 1);
      g_assert_cmpuint (answer.id, <=, 8);
      g_assert_false (seen[answer.id]);
      seen[answer.id] = TRUE;
      g_autofree char *name = g_strdup_printf ("part-%u", (guint) answer.id);
      g_assert_cmpstr (answer.machine, ==, name);
      g_assert_cmpstr (answer.state, ==, "Running");
      dsm_wire_msg_clear (&answer);
    }
  {
    DsmWireMsg read = { .type = DSM_WIRE_READ, .id = 9, .machine = (char *) "part-3" };
    DsmWireMsg answer;

    native_raw_expect_ok (raw, &read, &answer);
    g_assert_cmpstr (answer.data, ==, "{\"n\":3}");
    dsm_wire_msg_clear (&answer);
  }
  g_assert_cmpfloat (cluster_metric (cluster, leader, key), ==, before);
  native_raw_free (raw);
}

/* The leader's commit index, from its /v1/cluster view. */
static gint64
data_commit_index (guint leader)
{
  return cluster_view_int (cluster, leader, "commit_index");
}

static void
test_bad_payloads (void)
{
  guint leader = cluster_wait_leader (cluster, BUDGET_MS);
  NativeRaw *raw = native_raw_connect (cluster, leader);
  g_autoptr(GString) big = g_string_new ("{\"blob\": \"");
  gint64 before;
  struct {
    const char *payload;
    const char *code;
  } cases[] = {
    { NULL, "bad_payload" },                                     /* over payload_bytes_max (below) */
    { "{\"a\": {\"b\": {\"c\": {\"d\": {\"e\": 1}}}}}", "bad_payload" }, /* deeper than payload_depth_max */
    { "[1]", "bad_request" },                                    /* not an object */
    { "\"text\"", "bad_request" },
    { "{\"a\": 1, \"a\": 2}", "bad_request" },                   /* a key twice */
    { "{\"a\": ", "bad_request" },                               /* not JSON */
  };

  g_test_summary ("A payload over the configured limits is refused with bad_payload (HTTP's 413) and one that is "
                  "not a JSON object with bad_request, each naming the payload, before anything is proposed: the "
                  "commit index does not move and the connection keeps serving.");
  for (guint i = 0; i < PAYLOAD_BYTES_MAX; i++)
    g_string_append_c (big, 'x');
  g_string_append (big, "\"}");
  cases[0].payload = big->str;
  native_raw_hello (raw, WRITE_TOKEN);
  /* Settled: nothing else writes meanwhile (tests run one at a time). */
  cluster_wait_caught_up (cluster, leader, BUDGET_MS);
  before = data_commit_index (leader);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      DsmWireMsg m = native_raw_transition (10 + i, "bad-payload", "Running");
      DsmWireMsg answer;
      m.payload = (char *) cases[i].payload;
      native_raw_send (raw, &m);
      g_assert_true (native_raw_next (raw, &answer));
      g_assert_cmpint (answer.type, ==, DSM_WIRE_ERROR);
      g_assert_cmpuint (answer.id, ==, 10 + i);
      g_assert_cmpstr (answer.code, ==, cases[i].code);
      g_assert_false (answer.closing);
      g_assert_nonnull (strstr (answer.message, "payload"));
      dsm_wire_msg_clear (&answer);
    }
  /* Flags this version does not know, and an if_revision without its flag. */
  {
    DsmWireMsg m = native_raw_transition (20, "bad-payload", "Running");
    m.flags = 0x80;
    native_raw_send (raw, &m);
    native_raw_expect_error (raw, "bad_request", FALSE);
    m = native_raw_transition (21, "bad-payload", "Running");
    m.if_revision = 3;
    native_raw_send (raw, &m);
    native_raw_expect_error (raw, "bad_request", FALSE);
  }
  g_assert_cmpint (data_commit_index (leader), ==, before);
  {
    /* The same connection still commits a good one. */
    DsmWireMsg m = native_raw_transition (30, "bad-payload", "Running");
    DsmWireMsg answer;
    m.payload = (char *) "{\"ok\": true}";
    native_raw_expect_ok (raw, &m, &answer);
    g_assert_cmpuint (answer.revision, ==, answer.index);
    dsm_wire_msg_clear (&answer);
  }
  native_raw_free (raw);
  g_autofree char *key = g_strdup_printf ("dsm_native_errors_total{node=\"%u\",code=\"bad_payload\"}", leader);
  g_assert_cmpfloat (cluster_metric (cluster, leader, key), >=, 2);
}

static void
test_definition_fields (void)
{
  g_autoptr(DsmClient) client = NULL;
  g_autoptr(DsmClientResult) typed = NULL;
  g_autoptr(DsmClientResult) missing = NULL;
  g_autoptr(DsmClientResult) ok = NULL;
  DsmClientTransitionOptions t;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A payload of the wrong type for the definition's fields, or missing a required one, is "
                  "rejected bad_request naming the field; the right one commits.");
  cluster_wait_leader (cluster, BUDGET_MS);
  client = data_client ();
  dsm_client_transition_options_init (&t);
  t.definition = "job";
  t.payload = "{\"owner\": 7}";
  typed = dsm_client_transition_full_sync (client, "job-1", "Running", &t, &error);
  g_assert_no_error (error);
  g_assert_cmpint (typed->status, ==, DSM_CLIENT_REJECTED);
  g_assert_cmpstr (typed->reason, ==, "bad_request");
  g_assert_nonnull (strstr (typed->detail, "payload.owner: expected a string"));
  t.payload = "{\"retries\": 1}";
  missing = dsm_client_transition_full_sync (client, "job-1", "Running", &t, &error);
  g_assert_no_error (error);
  g_assert_cmpint (missing->status, ==, DSM_CLIENT_REJECTED);
  g_assert_nonnull (strstr (missing->detail, "payload.owner"));
  t.payload = "{\"owner\": \"ann\", \"retries\": 1}";
  ok = dsm_client_transition_full_sync (client, "job-1", "Running", &t, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ok->status, ==, DSM_CLIENT_OK);
}

static void
test_version_1 (void)
{
  guint leader = cluster_wait_leader (cluster, BUDGET_MS);
  NativeRaw *raw = native_raw_connect (cluster, leader);
  DsmWireMsg m = native_raw_transition (2, "old-client", "Running");
  DsmWireMsg read = { .type = DSM_WIRE_READ, .id = 3, .machine = (char *) "data-a" };
  DsmWireMsg answer;

  g_test_summary ("A client of protocol version 1 keeps working: its hello is welcomed in version 1, and its "
                  "transitions and reads are answered in version 1's layout (no revision or data: a strict "
                  "version-1 decoder takes them); a hello of a version the node does not know is refused.");
  raw->version = 1;
  native_raw_hello (raw, WRITE_TOKEN);
  native_raw_send (raw, &m);
  /* native_raw_next decodes in version 1: a version-2 answer's extra
   * fields would be trailing bytes, and fail. */
  g_assert_true (native_raw_next (raw, &answer));
  g_assert_cmpint (answer.type, ==, DSM_WIRE_RESULT);
  g_assert_cmpint (answer.status, ==, DSM_WIRE_STATUS_OK);
  g_assert_cmpuint (answer.revision, ==, 0);
  dsm_wire_msg_clear (&answer);
  native_raw_send (raw, &read);
  g_assert_true (native_raw_next (raw, &answer));
  g_assert_cmpint (answer.type, ==, DSM_WIRE_RESULT);
  g_assert_null (answer.data);
  dsm_wire_msg_clear (&answer);
  native_raw_free (raw);

  raw = native_raw_connect (cluster, leader);
  {
    DsmWireMsg hello = { .type = DSM_WIRE_HELLO, .id = 1, .version = DSM_WIRE_VERSION + 1,
                         .token = (char *) WRITE_TOKEN };
    native_raw_send (raw, &hello);
    native_raw_expect_error (raw, "bad_version", TRUE);
  }
  native_raw_free (raw);
}

static void
test_dsmctl (void)
{
  guint leader = cluster_wait_leader (cluster, BUDGET_MS);
  guint follower = cluster_other_node (cluster, leader, 0);
  g_autofree char *address = cluster_native_address (cluster, follower);
  const char *propose[] = { g_getenv ("DSMCTL"), "--native", address, "--token", WRITE_TOKEN, "--timeout", "30",
                            "propose", "ctl-data", "Running", "--payload", "{\"owner\": \"bo\"}", "--if-revision",
                            "0", NULL };
  const char *get[] = { g_getenv ("DSMCTL"), "--native", address, "--token", WRITE_TOKEN, "--timeout", "30",
                        "--json", "get", "ctl-data", NULL };
  const char *lost[] = { g_getenv ("DSMCTL"), "--native", address, "--token", WRITE_TOKEN, "--timeout", "30",
                         "propose", "ctl-data", "Stopped", "--if-revision", "1", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_test_summary ("dsmctl --native carries --payload and --if-revision: a get prints the revision and the data, "
                  "and a lost compare-and-set exits 1 naming the current revision.");
  g_assert_cmpint (cluster_run_tool (propose, &out, &err), ==, 0);
  g_assert_true (g_str_has_prefix (out, "ctl-data: Running (index "));
  g_assert_nonnull (strstr (out, ", revision "));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_run_tool (get, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "\"data\":{\"owner\":\"bo\"}"));
  g_assert_nonnull (strstr (out, "\"revision\":"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_run_tool (lost, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "invalid_transition"));
  g_assert_nonnull (strstr (err, "at revision "));
}

#define JOB_DEFINITION                                                                                            \
  "\"definitions\": [{\"name\": \"job\", \"states\": [\"Queued\", \"Running\"], \"initial\": \"Queued\", "        \
  "\"fields\": {\"owner\": \"string\", \"retries\": \"integer\"}, "                                                \
  "\"transitions\": [{\"from\": \"Queued\", \"to\": \"Running\", \"requires\": [\"owner\"]}]}]"

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/native/data/round-trip", test_round_trip);
  g_test_add_func ("/net/native/data/if-revision-conflict", test_if_revision);
  g_test_add_func ("/net/native/data/bad-payloads", test_bad_payloads);
  g_test_add_func ("/net/native/data/definition-fields", test_definition_fields);
  g_test_add_func ("/net/native/data/version-1-client", test_version_1);
  g_test_add_func ("/net/native/data/dsmctl", test_dsmctl);
  g_test_add_func ("/net/native/data/loop-writes-part", test_loop_writes_part);
  cluster = cluster_prepare (3, "\"http\": { \"token_file\": \"tokens\", \"open_paths\": [\"/metrics\", \"/v1/cluster\"] }, "
                                "\"payload_bytes_max\": " G_STRINGIFY (PAYLOAD_BYTES_MAX) ", "
                                /* Every answer the loop writes is cut short: the worker writes its rest. */
                                "\"native\": { \"loop_write_bytes_max\": 7 }, " JOB_DEFINITION);
  g_free (cluster_write_file (cluster, "tokens", TOKENS, 0600));
  cluster_set_token (cluster, WRITE_TOKEN);
  cluster_start_all (cluster);
  status = g_test_run ();
  cluster_free_after_run (cluster, status);
  return status;
}
