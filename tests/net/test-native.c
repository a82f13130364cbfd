/* tests/net/test-native.c: the native client protocol (docs/CLIENT.md) on
 * real dsm-node processes over real sockets: raw frames for the wire's
 * behaviour (pipelining, answers out of order, redirects, hostile input),
 * and libdsm-client for redirects and a leader killed mid-stream. */
#include <signal.h>
#include <string.h>
#include <zlib.h>

#include "client/dsm-client.h"
#include "client/dsm-wire.h"
#include "cluster.h"
#include "native-raw.h"

#define BUDGET_MS 30000
#define WRITE_TOKEN "write-token-0123456789abcdef"
#define READ_TOKEN "read-token-0123456789abcdefgh"
#define TOKENS "write " WRITE_TOKEN " writer\nread " READ_TOKEN " reader\n"
#define MAX_IN_FLIGHT 4

static Cluster *cluster;

/* ---- tests ---- */

static void
test_pipelined (void)
{
  guint leader = cluster_wait_leader (cluster, BUDGET_MS);
  NativeRaw *raw = native_raw_connect (cluster, leader);
  DsmWireMsg stale = { .type = DSM_WIRE_READ, .id = 4, .machine = (char *) "pipe-a", .flags = DSM_WIRE_READ_STALE };
  guint64 order[4];
  guint seen = 0;

  g_test_summary ("Requests pipelined on one connection are all answered, each by its id, and a stale read "
                  "sent after three writes comes back before them: answers do not wait for earlier ones.");
  g_autoptr(GByteArray) burst = g_byte_array_new ();

  native_raw_hello (raw, WRITE_TOKEN);
  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("pipe-%c", 'a' + i - 1);
      DsmWireMsg m = native_raw_transition (i, name, "Running");
      dsm_wire_encode (&m, burst);
    }
  /* One write: the worker reads the four in one go and hands them to
   * the loop in one batch. */
  dsm_wire_encode (&stale, burst);
  native_raw_send_bytes (raw, burst->data, burst->len);
  while (seen < 4)
    {
      DsmWireMsg answer;
      g_assert_true (native_raw_next (raw, &answer));
      g_assert_cmpint (answer.type, ==, DSM_WIRE_RESULT);
      g_assert_cmpint (answer.status, ==, DSM_WIRE_STATUS_OK);
      order[seen++] = answer.id;
      if (answer.id == 4)
        g_assert_cmpstr (answer.state, ==, "Init");
      else
        g_assert_cmpstr (answer.state, ==, "Running");
      dsm_wire_msg_clear (&answer);
    }
  /* The stale read is answered by the loop at once; the writes wait for
   * a quorum's fsync, which cannot happen in the same loop iteration. */
  g_assert_cmpuint (order[0], ==, 4);
  for (guint i = 1; i < 4; i++)
    for (guint j = 0; j < i; j++)
      g_assert_cmpuint (order[i], !=, order[j]);
  native_raw_free (raw);
}

static void
test_loop_writes (void)
{
  guint leader = cluster_wait_leader (cluster, BUDGET_MS);
  NativeRaw *raw = native_raw_connect (cluster, leader);
  g_autofree char *key = NULL;
  double before;

  g_test_summary ("One client, one write at a time: the loop writes every answer on the socket itself "
                  "(native.loop_write_bytes_max, default 64 KiB), whole and in order, and counts each in "
                  "dsm_native_answers_loop_written_total.");
  native_raw_hello (raw, WRITE_TOKEN);
  key = g_strdup_printf ("dsm_native_answers_loop_written_total{node=\"%u\"}", leader);
  before = cluster_metric (cluster, leader, key);
  g_assert_cmpfloat (before, >=, 0);
  for (guint i = 1; i <= 10; i++)
    {
      g_autofree char *name = g_strdup_printf ("loop-write-%u", i);
      DsmWireMsg m = native_raw_transition (i, name, "Running");
      DsmWireMsg answer;

      native_raw_expect_ok (raw, &m, &answer);
      g_assert_cmpstr (answer.machine, ==, name);
      g_assert_cmpstr (answer.state, ==, "Running");
      dsm_wire_msg_clear (&answer);
    }
  g_assert_cmpfloat (cluster_metric (cluster, leader, key) - before, ==, 10);
  native_raw_free (raw);
}

static void
test_redirect (void)
{
  guint leader = cluster_wait_leader (cluster, BUDGET_MS);
  guint follower = cluster_other_node (cluster, leader, 0);
  g_autofree char *leader_address = cluster_native_address (cluster, leader);
  g_autofree char *follower_address = cluster_native_address (cluster, follower);
  NativeRaw *raw = native_raw_connect (cluster, follower);
  DsmWireMsg m = native_raw_transition (2, "redirect-a", "Running");
  DsmWireMsg answer;

  g_test_summary ("A follower answers a write with not_leader naming the leader's id and native address, and "
                  "the library, given only the follower, finds the leader and commits there.");
  native_raw_hello (raw, WRITE_TOKEN);
  native_raw_send (raw, &m);
  g_assert_true (native_raw_next (raw, &answer));
  g_assert_cmpint (answer.type, ==, DSM_WIRE_ERROR);
  g_assert_cmpstr (answer.code, ==, "not_leader");
  g_assert_cmpuint (answer.leader, ==, leader);
  g_assert_cmpstr (answer.leader_address, ==, leader_address);
  g_assert_false (answer.closing);
  dsm_wire_msg_clear (&answer);
  native_raw_free (raw);

  const char *nodes[] = { follower_address, NULL };
  DsmClientOptions options;
  dsm_client_options_init (&options);
  options.nodes = nodes;
  options.token = WRITE_TOKEN;
  g_autoptr(DsmClient) client = dsm_client_new (&options, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmClientResult) result = dsm_client_transition_sync (client, "redirect-b", "Running", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->status, ==, DSM_CLIENT_OK);
  g_assert_cmpstr (result->state, ==, "Running");
  g_assert_cmpuint (dsm_client_get_node (client), ==, leader);
  g_assert_cmpstr (dsm_client_get_address (client), ==, leader_address);
  g_assert_true (cluster_wait_state_everywhere (cluster, "redirect-b", "Running", BUDGET_MS));
}

typedef struct {
  DsmClient *client;
  guint next;
  guint total;
  guint acked;
  guint failed;
  guint kill_after;
  guint killed;
  GPtrArray *names;             /* acknowledged machines */
} Load;

static void load_send (Load *load);

static void
load_done (DsmClient *client, const DsmClientResult *result, const GError *error, gpointer data)
{
  Load *load = data;

  if (error != NULL)
    {
      g_printerr ("request failed: %s\n", error->message);
      load->failed++;
    }
  else
    {
      /* A retry applied twice would be refused invalid_transition (Running -> Running). */
      g_assert_cmpint (result->status, ==, DSM_CLIENT_OK);
      g_assert_cmpstr (result->state, ==, "Running");
      g_ptr_array_add (load->names, g_strdup (result->machine));
      load->acked++;
    }
  if (load->acked == load->kill_after && load->killed == 0)
    {
      load->killed = cluster_wait_leader (cluster, BUDGET_MS);
      cluster_kill_node (cluster, load->killed);
    }
  load_send (load);
}

static void
load_send (Load *load)
{
  if (load->next >= load->total)
    return;
  g_autofree char *name = g_strdup_printf ("kill-%u", load->next++);
  dsm_client_transition (load->client, name, "Running", NULL, NULL, load_done, load);
}

static void
test_leader_kill (void)
{
  g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func (g_free);
  Load load = { .total = 400, .kill_after = 100, .names = g_ptr_array_new_with_free_func (g_free) };
  DsmClientOptions options;
  gint64 deadline = g_get_monotonic_time () + 4 * BUDGET_MS * 1000;

  g_test_summary ("Sixteen writes outstanding through the library (four in flight, the node's native.max_in_flight) "
                  "while the leader is killed: every write is "
                  "acknowledged once (none refused as a duplicate), after retries on the new leader, and every "
                  "acknowledged write is on every live node.");
  cluster_wait_leader (cluster, BUDGET_MS);
  for (guint id = 1; id <= cluster->n; id++)
    g_ptr_array_add (addresses, cluster_native_address (cluster, id));
  g_ptr_array_add (addresses, NULL);
  dsm_client_options_init (&options);
  options.nodes = (const char *const *) addresses->pdata;
  options.token = WRITE_TOKEN;
  options.attempts = 200;
  options.request_timeout_ms = 2000;
  options.max_in_flight = MAX_IN_FLIGHT;
  load.client = dsm_client_new (&options, NULL);
  for (guint i = 0; i < 16; i++)
    load_send (&load);
  while (load.acked + load.failed < load.total)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_cmpuint (load.failed, ==, 0);
  g_assert_cmpuint (load.acked, ==, load.total);
  g_assert_cmpuint (load.killed, !=, 0);
  g_assert_cmpuint (dsm_client_get_retries (load.client), >, 0);
  g_assert_cmpuint (dsm_client_get_node (load.client), !=, load.killed);
  for (guint i = 0; i < load.names->len; i++)
    g_assert_true (cluster_wait_state_everywhere (cluster, load.names->pdata[i], "Running", BUDGET_MS));
  dsm_client_free (load.client);
  g_ptr_array_unref (load.names);
  cluster_start_node (cluster, load.killed);
  cluster_wait_leader (cluster, BUDGET_MS);
}

static void
test_hostile (void)
{
  guint leader = cluster_wait_leader (cluster, BUDGET_MS);
  NativeRaw *raw;

  g_test_summary ("Bad frames, an oversized frame, a bad token, a request before the hello, a malformed "
                  "request, a role too low and too many requests in flight are each answered with an error "
                  "frame naming the code, and the node keeps serving.");

  /* A CRC that does not match: the stream is lost, the connection closes. */
  raw = native_raw_connect (cluster, leader);
  {
    DsmWireMsg hello = { .type = DSM_WIRE_HELLO, .id = 1, .version = DSM_WIRE_VERSION, .token = (char *) WRITE_TOKEN };
    g_autoptr(GByteArray) frame = g_byte_array_new ();
    dsm_wire_encode (&hello, frame);
    frame->data[frame->len - 1] ^= 0x40;
    native_raw_send_bytes (raw, frame->data, frame->len);
    native_raw_expect_error (raw, "bad_frame", TRUE);
  }
  native_raw_free (raw);

  /* A header announcing more than native.max_frame_bytes: refused at once. */
  raw = native_raw_connect (cluster, leader);
  {
    guint8 header[8] = { 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0 };
    native_raw_send_bytes (raw, header, sizeof header);
    native_raw_expect_error (raw, "frame_too_large", TRUE);
  }
  native_raw_free (raw);

  /* A token that matches none. */
  raw = native_raw_connect (cluster, leader);
  {
    DsmWireMsg hello = { .type = DSM_WIRE_HELLO, .id = 1, .version = DSM_WIRE_VERSION,
                         .token = (char *) "not-a-token-of-this-cluster" };
    native_raw_send (raw, &hello);
    native_raw_expect_error (raw, "bad_token", TRUE);
  }
  native_raw_free (raw);

  /* A request before the hello. */
  raw = native_raw_connect (cluster, leader);
  {
    DsmWireMsg m = native_raw_transition (5, "hostile-a", "Running");
    native_raw_send (raw, &m);
    native_raw_expect_error (raw, "hello_required", TRUE);
  }
  native_raw_free (raw);

  /* On an open connection: a malformed request, an unknown type, a role
   * too low: each answered, the connection goes on. */
  raw = native_raw_connect (cluster, leader);
  native_raw_hello (raw, READ_TOKEN);
  {
    DsmWireMsg bad = { .type = DSM_WIRE_READ, .id = 2, .machine = (char *) "bad\x01name" };
    /* Type 0x7f, id 3: a frame sound in its bounds, of no known type. */
    guint8 unknown[DSM_WIRE_HEADER_BYTES + DSM_WIRE_PAYLOAD_MIN] = { 0, 0, 0, 9, 0, 0, 0, 0, 0x7f, 0, 0, 0, 0, 0, 0, 0, 3 };
    guint32 crc = (guint32) crc32 (crc32 (0L, Z_NULL, 0), unknown + DSM_WIRE_HEADER_BYTES, DSM_WIRE_PAYLOAD_MIN);
    DsmWireMsg write = native_raw_transition (4, "hostile-b", "Running");
    DsmWireMsg read = { .type = DSM_WIRE_READ, .id = 5, .machine = (char *) "hostile-b" };
    DsmWireMsg answer;

    native_raw_send (raw, &bad);
    native_raw_expect_error (raw, "bad_request", FALSE);
    for (guint i = 0; i < 4; i++)
      unknown[4 + i] = (guint8) (crc >> (24 - 8 * i));
    native_raw_send_bytes (raw, unknown, sizeof unknown);
    native_raw_expect_error (raw, "bad_type", FALSE);
    native_raw_send (raw, &write);
    native_raw_expect_error (raw, "forbidden", FALSE);
    native_raw_send (raw, &read);
    g_assert_true (native_raw_next (raw, &answer));
    g_assert_cmpint (answer.type, ==, DSM_WIRE_RESULT);
    g_assert_cmpuint (answer.id, ==, 5);
    dsm_wire_msg_clear (&answer);
  }
  native_raw_free (raw);

  /* More requests in flight than native.max_in_flight: the extra ones
   * are refused, the first ones answered. */
  raw = native_raw_connect (cluster, leader);
  native_raw_hello (raw, WRITE_TOKEN);
  {
    g_autoptr(GByteArray) burst = g_byte_array_new ();
    guint results = 0, refused = 0;
    for (guint i = 0; i < 10; i++)
      {
        g_autofree char *name = g_strdup_printf ("burst-%u", i);
        DsmWireMsg m = native_raw_transition (10 + i, name, "Running");
        dsm_wire_encode (&m, burst);
      }
    /* One write: the worker reads the ten in one go, before any answer. */
    native_raw_send_bytes (raw, burst->data, burst->len);
    while (results + refused < 10)
      {
        DsmWireMsg answer;
        g_assert_true (native_raw_next (raw, &answer));
        if (answer.type == DSM_WIRE_ERROR)
          {
            g_assert_cmpstr (answer.code, ==, "too_many_in_flight");
            refused++;
          }
        else
          {
            g_assert_cmpint (answer.type, ==, DSM_WIRE_RESULT);
            results++;
          }
        dsm_wire_msg_clear (&answer);
      }
    g_assert_cmpuint (results, ==, MAX_IN_FLIGHT);
    g_assert_cmpuint (refused, ==, 10 - MAX_IN_FLIGHT);
  }
  native_raw_free (raw);

  /* Still serving, and it counted what it refused. */
  raw = native_raw_connect (cluster, leader);
  native_raw_hello (raw, WRITE_TOKEN);
  {
    DsmWireMsg m = native_raw_transition (1, "hostile-after", "Running");
    native_raw_expect_ok (raw, &m, NULL);
  }
  native_raw_free (raw);
  cluster_assert_running (cluster);
  const char *codes[] = { "bad_frame", "frame_too_large", "bad_token", "hello_required", "bad_request", "bad_type", "forbidden",
                          "too_many_in_flight" };
  for (guint i = 0; i < G_N_ELEMENTS (codes); i++)
    {
      g_autofree char *key = g_strdup_printf ("dsm_native_errors_total{node=\"%u\",code=\"%s\"}", leader, codes[i]);
      g_assert_cmpfloat (cluster_metric (cluster, leader, key), >=, 1);
    }
}

static void
test_dsmctl (void)
{
  guint leader = cluster_wait_leader (cluster, BUDGET_MS);
  guint follower = cluster_other_node (cluster, leader, 0);
  g_autofree char *address = cluster_native_address (cluster, follower);
  const char *propose[] = { g_getenv ("DSMCTL"), "--native", address, "--token", WRITE_TOKEN, "--timeout", "30",
                            "propose", "ctl-a", "Running", NULL };
  const char *get[] = { g_getenv ("DSMCTL"), "--native", address, "--token", WRITE_TOKEN, "--timeout", "30",
                        "get", "ctl-a", NULL };
  const char *illegal[] = { g_getenv ("DSMCTL"), "--native", address, "--token", WRITE_TOKEN, "--timeout", "30",
                            "propose", "ctl-a", "Init", NULL };
  const char *bad_token[] = { g_getenv ("DSMCTL"), "--native", address, "--token", "not-a-token-of-this-cluster",
                              "--timeout", "30", "get", "ctl-a", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_test_summary ("dsmctl --native proposes and reads through libdsm-client given a follower's native address; "
                  "an illegal transition and a bad token exit 1.");
  g_assert_cmpint (cluster_run_tool (propose, &out, &err), ==, 0);
  g_assert_true (g_str_has_prefix (out, "ctl-a: Running (index "));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_run_tool (get, &out, &err), ==, 0);
  g_assert_true (g_str_has_prefix (out, "ctl-a: Running (index "));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_run_tool (illegal, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "invalid_transition"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_run_tool (bad_token, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "bad_token"));
}

#define ROTATED_TOKEN "rotated-token-0123456789abcdef"

static void
test_token_reload (void)
{
  guint leader = cluster_wait_leader (cluster, BUDGET_MS);
  g_autofree char *address = cluster_native_address (cluster, leader);
  const char *get[] = { g_getenv ("DSMCTL"), "--native", address, "--token", ROTATED_TOKEN, "--timeout", "30",
                        "get", "ctl-a", NULL };
  gint64 deadline = g_get_monotonic_time () + (gint64) BUDGET_MS * 1000;
  int status = -1;

  g_test_summary ("The native port reads the token file again on SIGHUP too: a token added to it opens a "
                  "hello from then on, without a restart.");
  g_free (cluster_write_file (cluster, "tokens", TOKENS "write " ROTATED_TOKEN " rotated\n", 0600));
  cluster_signal_node (cluster, leader, SIGHUP);
  while (status != 0 && g_get_monotonic_time () < deadline)
    {
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      if ((status = cluster_run_tool (get, &out, &err)) != 0)
        {
          g_assert_nonnull (strstr (err, "bad_token"));
          g_usleep (20 * 1000);
        }
    }
  g_assert_cmpint (status, ==, 0);
  g_free (cluster_write_file (cluster, "tokens", TOKENS, 0600));
  cluster_signal_node (cluster, leader, SIGHUP);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/native/pipelined-out-of-order", test_pipelined);
  g_test_add_func ("/net/native/redirect-from-follower", test_redirect);
  g_test_add_func ("/net/native/loop-writes-answers", test_loop_writes);
  g_test_add_func ("/net/native/hostile-input", test_hostile);
  g_test_add_func ("/net/native/dsmctl", test_dsmctl);
  g_test_add_func ("/net/native/token-reload", test_token_reload);
  g_test_add_func ("/net/native/leader-kill", test_leader_kill);
  cluster = cluster_prepare (3, "\"http\": { \"token_file\": \"tokens\", \"open_paths\": [\"/metrics\", \"/v1/machines\"] }, "
                                "\"native\": { \"max_in_flight\": 4 }");
  g_free (cluster_write_file (cluster, "tokens", TOKENS, 0600));
  cluster_set_token (cluster, WRITE_TOKEN);
  cluster_start_all (cluster);
  status = g_test_run ();
  cluster_free_after_run (cluster, status);
  return status;
}
