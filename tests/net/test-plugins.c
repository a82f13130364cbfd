/* tests/net/test-plugins.c: the example machine plugins running in a
 * cluster of real dsm-node processes (docs/PLUGINS.md, "In a cluster"):
 * concurrent bank-ledger transfers keep every balance non-negative and
 * the total conserved on every node, job-queue leases behave, a retried
 * command hears its first answer, a node restarted from its data
 * directory has the same plugin state, and a node whose plugins differ,
 * or that cannot load one, does not join. */
#include <string.h>

#include "cluster.h"

#define ACCOUNTS 4
#define OPENING_BALANCE 100
#define TRANSFER_ROUNDS 6
#define TRANSFERS_PER_ROUND 12

/* Both examples, by path; snapshots every few entries, so a restarted
 * node recovers from one and a lagging one may be sent one. */
static char *
plugins_config (void)
{
  return g_strdup_printf ("\"plugins\": [\"%s\", \"%s\"], \"snapshot_threshold_entries\": 16",
                          BANK_LEDGER_PATH, JOB_QUEUE_PATH);
}

/* POSTs a command to machine @machine of @definition on node @id until
 * it is answered 200 or 409 (a 503 is retried with the same client id
 * and seq); returns the status and the answer. */
static guint
command (Cluster *c, guint id, const char *machine, const char *definition, const char *op, const char *payload,
         const char *client_id, guint64 seq, JsonNode **root)
{
  g_autofree char *path = g_strdup_printf ("/v1/machines/%s", machine);
  g_autofree char *body = g_strdup_printf ("{\"definition\":\"%s\",\"to\":\"%s\",\"payload\":%s,"
                                           "\"client_id\":\"%s\",\"seq\":%" G_GUINT64_FORMAT "}",
                                           definition, op, payload, client_id, seq);
  gint64 deadline = g_get_monotonic_time () + CLUSTER_BUDGET_MS * 1000;
  guint status = 0;

  do
    {
      if (root != NULL)
        g_clear_pointer (root, json_node_unref);
      status = cluster_http (c, id, "POST", path, body, root);
      if (status == 200 || status == 409)
        return status;
      id = id % c->n + 1;  /* no answer or 503: another node, the same command */
    }
  while (g_get_monotonic_time () < deadline);
  g_error ("%s %s %s: no answer but %u within the budget", machine, op, payload, status);
}

/* The plugin's answer in a 200: the "output" object's member @key. */
static gint64
output_int (JsonNode *root, const char *key)
{
  JsonObject *object = json_node_get_object (root);
  JsonNode *output = json_object_get_member (object, "output");

  g_assert_nonnull (output);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (output));
  return json_object_get_int_member (json_node_get_object (output), key);
}

/* Node @id's own applied data of @machine (GET ?stale=1): the plugin's
 * state text.  Returns: (transfer full). */
static char *
node_plugin_state (Cluster *c, guint id, const char *machine)
{
  g_autofree char *path = g_strdup_printf ("/v1/machines/%s?stale=1", machine);
  g_autoptr(JsonNode) root = NULL;

  g_assert_cmpuint (cluster_http (c, id, "GET", path, NULL, &root), ==, 200);
  JsonObject *data = json_object_get_object_member (json_node_get_object (root), "data");
  g_assert_nonnull (data);
  return g_strdup (json_object_get_string_member (data, "plugin_state"));
}

/* Every live node has caught up with the leader and holds the same state
 * of @machine; returns it (transfer full). */
static char *
same_state_everywhere (Cluster *c, const char *machine)
{
  char *first = NULL;

  for (guint id = 1; id <= c->n; id++)
    {
      if (!cluster_node_running (c, id))
        continue;
      cluster_wait_caught_up (c, id, CLUSTER_BUDGET_MS);
      g_autofree char *state = node_plugin_state (c, id, machine);
      if (first == NULL)
        first = g_steal_pointer (&state);
      else
        g_assert_cmpstr (state, ==, first);
    }
  g_assert_nonnull (first);
  return first;
}

/* The ledger's state is {"accounts":[[NAME,BALANCE],...]}: every balance
 * is >= 0 and they add up to @total. */
static void
assert_ledger (const char *state, gint64 total)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  gint64 sum = 0;

  g_assert_true (json_parser_load_from_data (parser, state, -1, &error));
  g_assert_no_error (error);
  JsonArray *accounts = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)),
                                                      "accounts");
  g_assert_cmpuint (json_array_get_length (accounts), ==, ACCOUNTS);
  for (guint i = 0; i < json_array_get_length (accounts); i++)
    {
      gint64 balance = json_array_get_int_element (json_array_get_array_element (accounts, i), 1);
      g_assert_cmpint (balance, >=, 0);
      sum += balance;
    }
  g_assert_cmpint (sum, ==, total);
}

/* ---- concurrent transfers: several requests in flight at once ---- */

typedef struct {
  guint pending;
  guint ok, refused;
} Round;

typedef struct {
  Round *round;
  SoupMessage *msg;
} Transfer;

static void
transfer_done (GObject *source, GAsyncResult *result, gpointer data)
{
  Transfer *t = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  guint status = body != NULL ? soup_message_get_status (t->msg) : 0;

  /* A 503 (no leader yet, a forward lost) never happens on a healthy
   * cluster within the budget; count it as a failure to see it. */
  if (status == 200)
    t->round->ok++;
  else if (status == 409)
    t->round->refused++;
  else
    g_error ("a transfer was answered %u: %s", status, body != NULL ? (const char *) g_bytes_get_data (body, NULL)
                                                                    : error->message);
  t->round->pending--;
  g_object_unref (t->msg);
  g_free (t);
}

/* Sends TRANSFERS_PER_ROUND transfers at once, spread over the nodes,
 * between accounts chosen by @rand, and waits for every answer. */
static void
transfer_round (Cluster *c, SoupSession *session, GRand *rand, guint64 *seq, Round *round)
{
  round->pending = TRANSFERS_PER_ROUND;
  for (guint i = 0; i < TRANSFERS_PER_ROUND; i++)
    {
      guint from = (guint) g_rand_int_range (rand, 0, ACCOUNTS);
      guint to = (from + (guint) g_rand_int_range (rand, 1, ACCOUNTS)) % ACCOUNTS;
      guint amount = (guint) g_rand_int_range (rand, 1, 80);
      g_autofree char *url = cluster_url (c, i % c->n + 1, "/v1/machines/bank");
      g_autofree char *body = g_strdup_printf ("{\"definition\":\"bank-ledger\",\"to\":\"transfer\","
                                               "\"payload\":{\"from\":\"acct%u\",\"to\":\"acct%u\",\"amount\":%u},"
                                               "\"client_id\":\"mover\",\"seq\":%" G_GUINT64_FORMAT "}",
                                               from, to, amount, ++*seq);
      Transfer *t = g_new0 (Transfer, 1);
      t->round = round;
      t->msg = soup_message_new ("POST", url);
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (t->msg, "application/json", bytes);
      soup_session_send_and_read_async (session, t->msg, G_PRIORITY_DEFAULT, NULL, transfer_done, t);
    }
  gint64 deadline = g_get_monotonic_time () + CLUSTER_BUDGET_MS * 1000;
  while (round->pending > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (round->pending, ==, 0);
}

static void
test_bank_ledger (void)
{
  g_autofree char *extra = plugins_config ();
  g_autoptr(Cluster) c = cluster_new_with_config (3, extra);
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", CLUSTER_REQUEST_TIMEOUT_S, NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (15);
  guint64 seq = 0;
  Round total = { 0 };

  g_test_summary ("Concurrent transfers through every node of a real cluster: the ledger refuses each "
                  "overdraft, every node ends with the same balances, none negative, the total conserved.");
  for (guint i = 0; i < ACCOUNTS; i++)
    {
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *open = g_strdup_printf ("{\"account\":\"acct%u\"}", i);
      g_autofree char *deposit = g_strdup_printf ("{\"account\":\"acct%u\",\"amount\":%d}", i, OPENING_BALANCE);
      g_assert_cmpuint (command (c, i % 3 + 1, "bank", "bank-ledger", "open", open, "setup", ++seq, NULL), ==, 200);
      g_assert_cmpuint (command (c, i % 3 + 1, "bank", "bank-ledger", "deposit", deposit, "setup", ++seq, &root),
                        ==, 200);
      g_assert_cmpint (output_int (root, "balance"), ==, OPENING_BALANCE);
    }
  seq = 0;
  for (guint r = 0; r < TRANSFER_ROUNDS; r++)
    {
      Round round = { 0 };
      transfer_round (c, session, rand, &seq, &round);
      total.ok += round.ok;
      total.refused += round.refused;
    }
  g_test_message ("%u transfers applied, %u refused", total.ok, total.refused);
  g_assert_cmpuint (total.ok + total.refused, ==, TRANSFER_ROUNDS * TRANSFERS_PER_ROUND);
  g_assert_cmpuint (total.ok, >, 0);
  /* Amounts up to 79 from balances of 100 and moving ones refuse some. */
  g_assert_cmpuint (total.refused, >, 0);

  g_autofree char *state = same_state_everywhere (c, "bank");
  assert_ledger (state, ACCOUNTS * OPENING_BALANCE);
  cluster_assert_running (c);
}

static void
test_retry_same_answer (void)
{
  g_autofree char *extra = plugins_config ();
  g_autoptr(Cluster) c = cluster_new_with_config (3, extra);
  g_autoptr(JsonNode) first = NULL, again = NULL, elsewhere = NULL;

  g_test_summary ("A retried command (same client id and seq), to the same node or another, is applied once "
                  "and answered the plugin's first output.");
  g_assert_cmpuint (command (c, 1, "till", "bank-ledger", "open", "{\"account\":\"x\"}", "cashier", 1, NULL), ==, 200);
  g_assert_cmpuint (command (c, 1, "till", "bank-ledger", "deposit", "{\"account\":\"x\",\"amount\":7}", "cashier", 2,
                             &first), ==, 200);
  g_assert_cmpint (output_int (first, "balance"), ==, 7);
  g_assert_cmpuint (command (c, 1, "till", "bank-ledger", "deposit", "{\"account\":\"x\",\"amount\":7}", "cashier", 2,
                             &again), ==, 200);
  g_assert_cmpuint (command (c, 2, "till", "bank-ledger", "deposit", "{\"account\":\"x\",\"amount\":7}", "cashier", 2,
                             &elsewhere), ==, 200);
  g_assert_cmpint (output_int (again, "balance"), ==, 7);
  g_assert_cmpint (output_int (elsewhere, "balance"), ==, 7);
  g_assert_cmpint (json_get_int (again, "index"), ==, json_get_int (first, "index"));

  g_autofree char *state = same_state_everywhere (c, "till");
  g_assert_cmpstr (state, ==, "{\"accounts\":[[\"x\",7]]}");
}

static void
test_job_queue (void)
{
  g_autofree char *extra = plugins_config ();
  g_autoptr(Cluster) c = cluster_new_with_config (3, extra);
  guint64 seq = 0;

  g_test_summary ("Job-queue leases on a real cluster: the oldest job goes first, only the lease's worker "
                  "completes it before its deadline, an expired lease returns its job; every node agrees.");
#define JQ(node, op, payload, root) command (c, node, "jobs", "job-queue", op, payload, "dispatcher", ++seq, root)
  g_assert_cmpuint (JQ (1, "enqueue", "{\"job\":\"j1\"}", NULL), ==, 200);
  g_assert_cmpuint (JQ (2, "enqueue", "{\"job\":\"j2\"}", NULL), ==, 200);
  {
    g_autoptr(JsonNode) a = NULL, b = NULL, none = NULL;
    g_assert_cmpuint (JQ (3, "lease", "{\"worker\":\"w1\",\"now\":1000,\"lease_ms\":500}", &a), ==, 200);
    g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (json_node_get_object (a), "output"),
                                                    "job"), ==, "j1");
    g_assert_cmpint (output_int (a, "deadline"), ==, 1500);
    g_assert_cmpuint (JQ (1, "lease", "{\"worker\":\"w2\",\"now\":1100,\"lease_ms\":500}", &b), ==, 200);
    g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (json_node_get_object (b), "output"),
                                                    "job"), ==, "j2");
    g_assert_cmpuint (JQ (2, "lease", "{\"worker\":\"w3\",\"now\":1200,\"lease_ms\":500}", &none), ==, 200);
    g_assert_true (json_object_get_null_member (json_object_get_object_member (json_node_get_object (none), "output"),
                                                "job"));
  }
  {
    g_autoptr(JsonNode) wrong = NULL, late = NULL, done = NULL;
    g_assert_cmpuint (JQ (1, "complete", "{\"job\":\"j1\",\"worker\":\"w2\",\"now\":1300}", &wrong), ==, 409);
    g_assert_nonnull (strstr (json_get_string (wrong, "error"), "job-queue complete refused"));
    g_assert_cmpuint (JQ (2, "complete", "{\"job\":\"j2\",\"worker\":\"w2\",\"now\":1700}", &late), ==, 409);
    g_assert_cmpuint (JQ (3, "complete", "{\"job\":\"j1\",\"worker\":\"w1\",\"now\":1400}", &done), ==, 200);
  }
  {
    g_autoptr(JsonNode) expired = NULL, again = NULL;
    g_assert_cmpuint (JQ (1, "expire", "{\"now\":2000}", &expired), ==, 200);
    JsonArray *jobs = json_object_get_array_member (json_object_get_object_member (json_node_get_object (expired),
                                                                                   "output"), "expired");
    g_assert_cmpuint (json_array_get_length (jobs), ==, 1);
    g_assert_cmpstr (json_array_get_string_element (jobs, 0), ==, "j2");
    g_assert_cmpuint (JQ (2, "lease", "{\"worker\":\"w3\",\"now\":2001,\"lease_ms\":500}", &again), ==, 200);
    g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (json_node_get_object (again),
                                                                                   "output"), "job"), ==, "j2");
  }
#undef JQ
  g_autofree char *state = same_state_everywhere (c, "jobs");
  g_assert_nonnull (strstr (state, "j1"));
  cluster_assert_running (c);
}

static void
test_restart_keeps_state (void)
{
  g_autofree char *extra = plugins_config ();
  g_autoptr(Cluster) c = cluster_new_with_config (3, extra);
  guint64 seq = 0;

  g_test_summary ("A node killed and restarted from its data directory (its snapshot and WAL, past several "
                  "snapshots of the plugin's state) holds the same ledger as the others, and so does a "
                  "whole cluster restarted.");
  g_assert_cmpuint (command (c, 1, "bank", "bank-ledger", "open", "{\"account\":\"a\"}", "c", ++seq, NULL), ==, 200);
  g_assert_cmpuint (command (c, 1, "bank", "bank-ledger", "open", "{\"account\":\"b\"}", "c", ++seq, NULL), ==, 200);
  g_assert_cmpuint (command (c, 2, "bank", "bank-ledger", "deposit", "{\"account\":\"a\",\"amount\":1000}", "c", ++seq,
                             NULL), ==, 200);
  /* Past snapshot_threshold_entries (16) while every node is up... */
  for (guint i = 0; i < 20; i++)
    g_assert_cmpuint (command (c, i % 3 + 1, "bank", "bank-ledger", "transfer",
                               i % 2 ? "{\"from\":\"b\",\"to\":\"a\",\"amount\":3}"
                                     : "{\"from\":\"a\",\"to\":\"b\",\"amount\":5}", "c", ++seq, NULL), ==, 200);
  g_autofree char *before = same_state_everywhere (c, "bank");
  guint victim = cluster_other_node (c, cluster_wait_leader (c, CLUSTER_BUDGET_MS), 0);
  cluster_kill_node (c, victim);
  /* ... and again while it is down. */
  for (guint i = 0; i < 20; i++)
    g_assert_cmpuint (command (c, cluster_other_node (c, victim, 0), "bank", "bank-ledger", "transfer",
                               "{\"from\":\"a\",\"to\":\"b\",\"amount\":1}", "c", ++seq, NULL), ==, 200);
  cluster_start_node (c, victim);
  g_autofree char *after = same_state_everywhere (c, "bank");
  g_assert_cmpstr (after, !=, before);
  g_assert_cmpstr (after, ==, "{\"accounts\":[[\"a\",960],[\"b\",40]]}");

  /* Every node from its own disk at once. */
  gint64 committed = cluster_view_int (c, cluster_wait_leader (c, CLUSTER_BUDGET_MS), "commit_index");
  for (guint id = 1; id <= 3; id++)
    cluster_kill_node (c, id);
  for (guint id = 1; id <= 3; id++)
    cluster_start_node (c, id);
  /* A new leader knows the commit index only once an entry of its epoch
   * commits; until then every node may agree on an older prefix (their
   * snapshots' state), which is not the point of the comparison. */
  gint64 deadline = g_get_monotonic_time () + (gint64) CLUSTER_BUDGET_MS * 1000;
  while (cluster_view_int (c, cluster_wait_leader (c, CLUSTER_BUDGET_MS), "commit_index") < committed)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
    }
  g_autofree char *restarted = same_state_everywhere (c, "bank");
  g_assert_cmpstr (restarted, ==, after);
}

/* Whether node @id's log says @text. */
static gboolean
node_log_says (Cluster *c, guint id, const char *text)
{
  g_autofree char *path = g_strdup_printf ("%s/node%u.log", c->dir, id);
  g_autofree char *log = NULL;

  return g_file_get_contents (path, &log, NULL, NULL) && strstr (log, text) != NULL;
}

static void
test_other_plugins_refused (void)
{
  g_autofree char *extra = plugins_config ();
  g_autoptr(Cluster) c = cluster_new_with_config (3, extra);
  g_autofree char *both = g_strdup_printf ("\"%s\", \"%s\"", BANK_LEDGER_PATH, JOB_QUEUE_PATH);
  g_autofree char *one = g_strdup_printf ("\"%s\"", BANK_LEDGER_PATH);

  g_test_summary ("A node restarted without one of the cluster's plugins is refused by its peers, and both "
                  "ends' logs name the plugins that differ.");
  cluster_kill_node (c, 3);
  cluster_set_node_config (c, 3, both, one);
  cluster_start_node (c, 3);
  const char *says = "runs the machine plugins [bank-ledger 1.0.0, job-queue 1.0.0], this node [bank-ledger 1.0.0]";
  const char *heard = "runs the machine plugins [bank-ledger 1.0.0], this node [bank-ledger 1.0.0, job-queue 1.0.0]";
  gint64 deadline = g_get_monotonic_time () + CLUSTER_BUDGET_MS * 1000;
  while (!(node_log_says (c, 3, says) && (node_log_says (c, 1, heard) || node_log_says (c, 2, heard)))
         && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);  /* polling a file the node writes; no event to wait on */
  g_assert_true (node_log_says (c, 3, says));
  g_assert_true (node_log_says (c, 1, heard) || node_log_says (c, 2, heard));
}

static void
test_missing_plugin_exit (void)
{
  g_autofree char *extra = g_strdup_printf ("\"plugins\": [\"%s\", \"no-such-machine\"]", BANK_LEDGER_PATH);
  g_autoptr(Cluster) c = cluster_prepare (1, extra);
  g_autofree char *data_dir = cluster_data_dir (c, 1);
  g_autofree char *out = NULL, *err = NULL;
  const char *argv[] = { g_getenv ("DSM_NODE"), "--config", c->config_path, "--id", "1", "--data-dir", data_dir,
                         NULL };

  g_test_summary ("dsm-node refuses to start (exit 2) when its config names a plugin that does not load, "
                  "naming the entry; so it does for a --plugin of another ABI.");
  g_assert_cmpint (cluster_run_tool (argv, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "plugins[1] (\"no-such-machine\"): "));

  g_autofree char *out2 = NULL, *err2 = NULL;
  g_autoptr(Cluster) bare = cluster_prepare (1, NULL);
  g_autofree char *bare_dir = cluster_data_dir (bare, 1);
  const char *argv2[] = { g_getenv ("DSM_NODE"), "--config", bare->config_path, "--id", "1", "--data-dir", bare_dir,
                          "--plugin", BAD_ABI_PATH, NULL };
  g_assert_cmpint (cluster_run_tool (argv2, &out2, &err2), ==, 2);
  g_assert_nonnull (strstr (err2, "built for machine ABI 2, this dsm speaks 1"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/plugins/bank-ledger/concurrent-transfers", test_bank_ledger);
  g_test_add_func ("/net/plugins/retry-same-answer", test_retry_same_answer);
  g_test_add_func ("/net/plugins/job-queue/leases", test_job_queue);
  g_test_add_func ("/net/plugins/restart-keeps-state", test_restart_keeps_state);
  g_test_add_func ("/net/plugins/other-plugins-refused", test_other_plugins_refused);
  g_test_add_func ("/net/plugins/missing-plugin-exits", test_missing_plugin_exit);
  return g_test_run ();
}
