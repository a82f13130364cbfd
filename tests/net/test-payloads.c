/* tests/net/test-payloads.c: data and compare-and-set on real dsm-node
 * processes (docs/API.md, POST /v1/machines/{name}): read-modify-write
 * clients on one machine lose no update across a leader kill, and
 * payloads are replicated identically, to a restarted node too. */
#include <string.h>

#include "cluster.h"

static const char *
next_state (const char *state)
{
  return strcmp (state, "Init") == 0 ? "Running" : strcmp (state, "Running") == 0 ? "Stopped" : "Init";
}

/* Sends @body to the leader until it is answered 200 or 409 (a retry with
 * the same client id and seq applies at most once). */
static guint
post_until_answered (Cluster *c, const char *path, const char *body, JsonNode **root)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) CLUSTER_BUDGET_MS * 1000;

  for (;;)
    {
      g_clear_pointer (root, json_node_unref);
      guint status = cluster_http (c, cluster_wait_leader (c, CLUSTER_BUDGET_MS), "POST", path, body, root);
      if (status == 200 || status == 409)
        return status;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    }
}

/* A linearizable read on the leader: its state, revision and counter. */
static void
read_counter (Cluster *c, const char *machine, char **state, guint64 *revision, gint64 *counter)
{
  g_autofree char *path = g_strdup_printf ("/v1/machines/%s", machine);
  gint64 deadline = g_get_monotonic_time () + (gint64) CLUSTER_BUDGET_MS * 1000;
  g_autoptr(JsonNode) root = NULL;

  while (cluster_http (c, cluster_wait_leader (c, CLUSTER_BUDGET_MS), "GET", path, NULL, &root) != 200)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_clear_pointer (&root, json_node_unref);
    }
  *state = g_strdup (json_get_string (root, "state"));
  *revision = (guint64) json_get_int (root, "revision");
  JsonObject *data = json_node_get_object (json_object_get_member (json_node_get_object (root), "data"));
  *counter = json_object_has_member (data, "counter") ? json_object_get_int_member (data, "counter") : 0;
}

#define N_CLIENTS 4
#define N_WRITES 6   /* each client's successful increments */

static void
test_cas_counter (void)
{
  g_autoptr(Cluster) c = cluster_new_with_config (3, "\"snapshot_threshold_entries\": 20");
  guint wins[N_CLIENTS] = { 0 };
  guint64 seq[N_CLIENTS] = { 0 };
  guint total = 0, lost = 0;
  gboolean killed = FALSE;

  g_test_summary ("Clients incrementing one counter by read, then transition with if_revision, retrying on "
                  "409, lose no update, across a leader kill: the counter ends equal to the writes answered ok, "
                  "and each loser's 409 names the winner's revision");
  while (total < N_CLIENTS * N_WRITES)
    {
      char *states[N_CLIENTS] = { NULL };
      guint64 revisions[N_CLIENTS];
      gint64 counters[N_CLIENTS];

      /* Everyone still writing reads first, then everyone writes: the
       * first write of a pass wins, the others raced and lost. */
      for (guint k = 0; k < N_CLIENTS; k++)
        if (wins[k] < N_WRITES)
          read_counter (c, "counter", &states[k], &revisions[k], &counters[k]);
      guint64 winner = 0;
      for (guint k = 0; k < N_CLIENTS; k++)
        {
          g_autoptr(JsonNode) root = NULL;
          if (wins[k] == N_WRITES)
            continue;
          g_autofree char *body = g_strdup_printf (
            "{\"to\": \"%s\", \"payload\": {\"counter\": %" G_GINT64_FORMAT ", \"by\": \"c%u\"}, "
            "\"if_revision\": %" G_GUINT64_FORMAT ", \"client_id\": \"c%u\", \"seq\": %" G_GUINT64_FORMAT "}",
            next_state (states[k]), counters[k] + 1, k, revisions[k], k, ++seq[k]);
          guint status = post_until_answered (c, "/v1/machines/counter", body, &root);
          if (status == 200)
            {
              wins[k]++;
              total++;
              winner = (guint64) json_get_int (root, "revision");
              g_assert_cmpint (json_get_int (root, "index"), ==, (gint64) winner);
            }
          else
            {
              lost++;
              g_assert_cmpstr (json_get_string (root, "reason"), ==, "invalid_transition");
              /* Another client's write came between its read and its write. */
              g_assert_cmpuint ((guint64) json_get_int (root, "revision"), !=, revisions[k]);
              if (winner != 0)
                g_assert_cmpint (json_get_int (root, "revision"), ==, (gint64) winner);
            }
          g_free (states[k]);
        }
      if (!killed && total >= N_CLIENTS * N_WRITES / 2)
        {
          /* Halfway, the leader dies with the clients mid-race. */
          cluster_kill_node (c, cluster_wait_leader (c, CLUSTER_BUDGET_MS));
          killed = TRUE;
        }
    }
  g_autofree char *state = NULL;
  guint64 revision = 0;
  gint64 counter = 0;
  read_counter (c, "counter", &state, &revision, &counter);
  g_test_message ("%u writes won, %u lost their race; counter %" G_GINT64_FORMAT, total, lost, counter);
  g_assert_cmpint (counter, ==, N_CLIENTS * N_WRITES);
  g_assert_cmpuint (lost, >=, N_WRITES);
}

/* Every live node's own view of @machine (a stale read), as one text. */
static char *
node_view (Cluster *c, guint id, const char *machine)
{
  g_autofree char *path = g_strdup_printf ("/v1/machines/%s?stale=1", machine);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  g_assert_cmpuint (cluster_http (c, id, "GET", path, NULL, &root), ==, 200);
  JsonObject *object = json_node_get_object (root);
  json_object_remove_member (object, "index");  /* the node's applied index */
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static void
test_replicated_identically (void)
{
  g_autoptr(Cluster) c = cluster_new_with_config (3, "\"snapshot_threshold_entries\": 20");
  static const char *const machines[] = { "p0", "p1", "p2" };
  const char *states[3] = { "Init", "Init", "Init" };
  guint64 seq = 0;

  g_test_summary ("After transitions with payloads (keys replaced, added, removed), every node, one restarted "
                  "from its disk after missing some, answers the same state, revision and data for each machine");
  for (guint i = 0; i < 60; i++)
    {
      g_autoptr(JsonNode) root = NULL;
      guint m = i % 3;
      if (i == 15)
        cluster_kill_node (c, 3);
      g_autofree char *body = g_strdup_printf (
        "{\"to\": \"%s\", \"payload\": {\"k%u\": %u, \"k%u\": null, \"deep\": {\"i\": %u}}, "
        "\"client_id\": \"w\", \"seq\": %" G_GUINT64_FORMAT "}",
        next_state (states[m]), i % 5, i, (i + 2) % 5, i, ++seq);
      g_autofree char *path = g_strdup_printf ("/v1/machines/%s", machines[m]);
      g_assert_cmpuint (post_until_answered (c, path, body, &root), ==, 200);
      states[m] = next_state (states[m]);
    }
  cluster_start_node (c, 3);
  for (guint id = 1; id <= 3; id++)
    cluster_wait_caught_up (c, id, CLUSTER_BUDGET_MS);
  for (guint m = 0; m < 3; m++)
    {
      g_autofree char *first = node_view (c, 1, machines[m]);
      g_test_message ("%s", first);
      g_assert_nonnull (strstr (first, "\"deep\":{\"i\":"));
      for (guint id = 2; id <= 3; id++)
        {
          g_autofree char *other = node_view (c, id, machines[m]);
          g_assert_cmpstr (other, ==, first);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/payloads/cas-counter-across-leader-kill", test_cas_counter);
  g_test_add_func ("/payloads/replicated-identically", test_replicated_identically);
  return g_test_run ();
}
