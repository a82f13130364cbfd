/* tests/net/test-admin.c: operating a cluster of real dsm-node processes
 * through the admin API and dsmctl: the membership (grow with --join,
 * replace a dead node, remove the leader), leadership transfer, machine
 * definitions through the log, and backup then restore into a new
 * cluster.  Every wait polls within a budget; nothing is timed. */
#include <glib/gstdio.h>
#include <string.h>

#include "cluster.h"

#define STEP_MS 30000
#define ORDER_SPEC "{\"name\": \"order\", \"states\": [\"Init\", \"Paid\", \"Shipped\"], \"initial\": \"Init\", " \
                   "\"transitions\": [{\"from\": \"Init\", \"to\": \"Paid\"}, {\"from\": \"Paid\", \"to\": \"Shipped\"}]}"

static void
assert_propose_ok (Cluster *c, guint id, const char *machine, const char *state)
{
  g_autoptr(JsonNode) root = NULL;

  g_assert_cmpuint (cluster_propose (c, id, machine, state, NULL, 0, STEP_MS, &root), ==, 200);
  g_assert_cmpstr (json_get_string (root, "state"), ==, state);
}

/* The voters (@role "voter") or learners node @id's membership lists, as
 * "1 2 4"; NULL when it does not answer. */
static char *
members_of (Cluster *c, guint id, const char *role)
{
  g_autoptr(JsonNode) root = NULL;

  if (cluster_http (c, id, "GET", "/v1/members", NULL, &root) != 200 || root == NULL)
    return NULL;
  JsonArray *members = json_object_get_array_member (json_node_get_object (root), "members");
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < json_array_get_length (members); i++)
    {
      JsonObject *m = json_array_get_object_element (members, i);
      if (g_strcmp0 (json_object_get_string_member (m, "role"), role) == 0)
        g_string_append_printf (s, "%s%" G_GINT64_FORMAT, s->len > 0 ? " " : "", json_object_get_int_member (m, "id"));
    }
  return g_string_free (s, FALSE);
}

/* Polls until every node of @ids (0-terminated) lists exactly @voters as
 * voters. */
static gboolean
wait_voters (Cluster *c, const guint *ids, const char *voters)
{
  gint64 deadline = g_get_monotonic_time () + STEP_MS * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      gboolean all = TRUE;
      for (const guint *id = ids; *id != 0 && all; id++)
        {
          g_autofree char *found = members_of (c, *id, "voter");
          all = g_strcmp0 (found, voters) == 0;
        }
      if (all)
        return TRUE;
      g_usleep (50 * 1000);
    }
  return FALSE;
}

static gint64
healthz_field (Cluster *c, guint id, const char *key, guint *status)
{
  g_autoptr(JsonNode) root = NULL;

  *status = cluster_http (c, id, "GET", "/healthz", NULL, &root);
  return root != NULL ? json_get_int (root, key) : -1;
}

/* ---- behaviours ---- */

static void
test_members_list (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonNode) root = NULL;
  guint leader = cluster_wait_leader (c, STEP_MS);

  g_test_summary ("GET /v1/members lists the bootstrap's three voters with their addresses and the next id; "
                  "dsmctl member list prints them; a malformed change is refused 400 before the log.");
  g_assert_cmpuint (cluster_http (c, leader, "GET", "/v1/members", NULL, &root), ==, 200);
  g_assert_cmpint (json_get_int (root, "next_id"), ==, 4);
  g_autofree char *voters = members_of (c, leader, "voter");
  g_assert_cmpstr (voters, ==, "1 2 3");
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "member", "list", NULL), ==, 0);
  g_autofree char *peer1 = g_strdup_printf ("127.0.0.1:%u", c->peer_port[1]);
  g_assert_nonnull (strstr (out, peer1));
  g_assert_nonnull (strstr (out, "voter"));
  g_clear_pointer (&root, json_node_unref);
  g_assert_cmpuint (cluster_http (c, leader, "POST", "/v1/members", "{\"op\":\"grow\"}", &root), ==, 400);
  g_clear_pointer (&root, json_node_unref);
  g_assert_cmpuint (cluster_http (c, leader, "POST", "/v1/members", "{\"op\":\"remove\",\"id\":\"x\"}", &root), ==, 400);
}

static void
test_definition_put (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  g_autofree char *spec = cluster_write_file (c, "order.json", ORDER_SPEC, 0644);
  g_autofree char *bad = cluster_write_file (c, "bad.json", "{\"name\": \"order\", \"states\": []}", 0644);
  g_autofree char *out = NULL, *err = NULL;
  guint leader = cluster_wait_leader (c, STEP_MS);

  g_test_summary ("Issue 11's case the right way: `dsmctl definition put order FILE` defines it through the "
                  "log; a transition naming it then applies on every node alike (node 3 included, whatever its "
                  "config file said); a transition naming an unknown definition is refused where proposed; an "
                  "invalid definition is refused and changes nothing.");
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "propose", "o-1", "Paid", "--definition", "order", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "order"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "definition", "put", "order", spec, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "definition order: version"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "propose", "o-2", "Paid", "--definition", "order", NULL), ==, 0);
  g_assert_true (cluster_wait_state_everywhere (c, "o-2", "Paid", STEP_MS));
  for (guint id = 1; id <= c->n; id++)
    {
      g_autoptr(JsonNode) root = NULL;
      g_assert_cmpuint (cluster_http (c, id, "GET", "/v1/machines/o-2?stale=1&definition=order", NULL, &root), ==, 200);
      g_assert_cmpstr (json_get_string (root, "state"), ==, "Paid");
    }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "definition", "put", "order", bad, NULL), ==, 1);
  /* Still the good version: the next transition of it applies. */
  assert_propose_ok (c, leader, "o-2", "Shipped");
}

static void
test_leader_transfer (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  guint leader = cluster_wait_leader (c, STEP_MS);
  guint target = cluster_other_node (c, leader, 0);
  g_autofree char *target_s = g_strdup_printf ("%u", target);
  g_autofree char *out = NULL, *err = NULL;

  g_test_summary ("`dsmctl leader transfer ID` moves leadership to that voter; the cluster commits after; a "
                  "transfer to a node that is no voter is refused.");
  assert_propose_ok (c, leader, "before", "Running");
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "leader", "transfer", target_s, NULL), ==, 0);
  /* The node answers "transfer started", not done: until the target has
   * won its election every node still names the old leader, and a busy
   * machine gives the first poll time to see that (as
   * test-native-join.c waits too). */
  gint64 deadline = g_get_monotonic_time () + STEP_MS * 1000;
  while (cluster_wait_leader (c, STEP_MS) != target)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
    }
  assert_propose_ok (c, target, "after", "Running");
  g_assert_true (cluster_wait_state_everywhere (c, "after", "Running", STEP_MS));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "leader", "transfer", "9", NULL), ==, 1);
}

static void
test_grow_with_join (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  guint leader = cluster_wait_leader (c, STEP_MS);
  static const guint everyone[] = { 1, 2, 3, 4, 0 };
  guint status = 0;

  g_test_summary ("A fourth node started empty with `dsm-node --join URL` (no file edited anywhere) is added as "
                  "a learner, dialed by the others at the address it gave, catches up, is promoted, and serves "
                  "and forwards writes; every node lists four voters.");
  assert_propose_ok (c, leader, "a", "Running");
  guint slot = cluster_start_joiner (c, cluster_other_node (c, leader, 0));
  g_assert_cmpuint (slot, ==, 4);
  g_assert_true (wait_voters (c, everyone, "1 2 3 4"));
  g_assert_cmpint (healthz_field (c, 4, "node", &status), ==, 4);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (cluster_wait_state_everywhere (c, "a", "Running", STEP_MS));
  assert_propose_ok (c, 4, "b", "Running");
  g_assert_true (cluster_wait_state_everywhere (c, "b", "Running", STEP_MS));
  /* Restarted, it is node 4 again (its data directory says so). */
  cluster_kill_node (c, 4);
  cluster_start_node (c, 4);
  assert_propose_ok (c, leader, "c", "Running");
  g_assert_true (cluster_wait_state_everywhere (c, "c", "Running", STEP_MS));
}

static void
test_replace_dead_node (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  guint leader = cluster_wait_leader (c, STEP_MS);
  guint dead = cluster_other_node (c, leader, 0);
  guint other = cluster_other_node (c, leader, dead);
  g_autofree char *dead_s = g_strdup_printf ("%u", dead);
  g_autofree char *out = NULL, *err = NULL;
  guint remaining[] = { leader, other, 4, 0 };
  g_autofree char *expect = g_strdup_printf ("%u %u 4", MIN (leader, other), MAX (leader, other));

  g_test_summary ("A node killed for good is removed with `dsmctl member remove`, and a new node joining takes "
                  "its place with a new id (ids are never reused); every acknowledged write is on the three "
                  "nodes after.");
  assert_propose_ok (c, leader, "before", "Running");
  cluster_kill_node (c, dead);
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "member", "remove", dead_s, NULL), ==, 0);
  guint slot = cluster_start_joiner (c, leader);
  g_assert_cmpuint (slot, ==, 4);
  g_assert_true (wait_voters (c, remaining, expect));
  assert_propose_ok (c, 4, "after", "Running");
  g_assert_true (cluster_wait_state_everywhere (c, "before", "Running", STEP_MS));
  g_assert_true (cluster_wait_state_everywhere (c, "after", "Running", STEP_MS));
}

static void
test_remove_leader (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  guint leader = cluster_wait_leader (c, STEP_MS);
  guint a = cluster_other_node (c, leader, 0), b = cluster_other_node (c, leader, a);
  g_autofree char *leader_s = g_strdup_printf ("%u", leader);
  g_autofree char *out = NULL, *err = NULL;
  guint remaining[] = { a, b, 0 };
  g_autofree char *expect = g_strdup_printf ("%u %u", MIN (a, b), MAX (a, b));
  guint status = 0;

  g_test_summary ("Removing the leader: the change commits, the leader hands over and steps down, says it was "
                  "removed (/healthz 503), and the two others elect a leader between them and commit.");
  assert_propose_ok (c, leader, "before", "Running");
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "member", "remove", leader_s, NULL), ==, 0);
  g_assert_true (wait_voters (c, remaining, expect));
  gint64 deadline = g_get_monotonic_time () + STEP_MS * 1000;
  while (healthz_field (c, leader, "node", &status), status != 503)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
  cluster_kill_node (c, leader);
  guint next = cluster_wait_leader (c, STEP_MS);
  g_assert_true (next == a || next == b);
  assert_propose_ok (c, next, "after", "Running");
  g_assert_true (cluster_wait_state_everywhere (c, "before", "Running", STEP_MS));
  g_assert_true (cluster_wait_state_everywhere (c, "after", "Running", STEP_MS));
}

static int
restore (Cluster *c, guint id, const char *file, char **out, char **err)
{
  g_autofree char *id_s = g_strdup_printf ("%u", id);
  g_autofree char *data = g_strdup_printf ("%s/node%u", c->dir, id);
  const char *argv[] = { g_getenv ("DSM_NODE"), "--config", c->config_path, "--id", id_s, "--data-dir", data,
                         "--restore", file, NULL };

  return cluster_run_tool (argv, out, err);
}

static void
test_snapshot_restore (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  g_autofree char *spec = cluster_write_file (c, "order.json", ORDER_SPEC, 0644);
  g_autofree char *file = g_build_filename (c->dir, "backup.dsm", NULL);
  g_autofree char *torn = g_build_filename (c->dir, "torn.dsm", NULL);
  g_autofree char *out = NULL, *err = NULL;
  g_autofree char *text = NULL;
  gsize length = 0;
  guint leader = cluster_wait_leader (c, STEP_MS);

  g_test_summary ("`dsmctl snapshot save` writes a verified backup; `dsm-node --restore` seeds each node of a "
                  "new cluster (new ports, the same config otherwise) from it; the new cluster serves the same "
                  "states and definitions and takes writes; a torn backup is refused.");
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "definition", "put", "order", spec, NULL), ==, 0);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("m-%u", i);
      assert_propose_ok (c, leader, name, "Running");
    }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "propose", "o-1", "Paid", "--definition", "order", NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "snapshot", "save", file, NULL), ==, 0);
  g_assert_nonnull (strstr (out, "sha256"));

  g_autoptr(Cluster) fresh = cluster_prepare (3, NULL);
  g_assert_true (g_file_get_contents (file, &text, &length, NULL));
  g_assert_true (g_file_set_contents (torn, text, (gssize) length - 7, NULL));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (restore (fresh, 1, torn, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "not a sound"));
  for (guint id = 1; id <= fresh->n; id++)
    {
      g_clear_pointer (&out, g_free);
      g_clear_pointer (&err, g_free);
      g_assert_cmpint (restore (fresh, id, file, &out, &err), ==, 0);
    }
  cluster_start_all (fresh);
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *name = g_strdup_printf ("m-%u", i);
      g_assert_true (cluster_wait_state_everywhere (fresh, name, "Running", STEP_MS));
    }
  g_assert_true (cluster_wait_state_everywhere (fresh, "o-1", "Paid", STEP_MS));
  guint fresh_leader = cluster_wait_leader (fresh, STEP_MS);
  assert_propose_ok (fresh, fresh_leader, "o-1", "Shipped");
  g_assert_true (cluster_wait_state_everywhere (fresh, "o-1", "Shipped", STEP_MS));
  g_autofree char *voters = members_of (fresh, fresh_leader, "voter");
  g_assert_cmpstr (voters, ==, "1 2 3");
}

/* ---- grow and shrink under a write load ---- */

typedef struct {
  guint16 ports[CLUSTER_MAX + 1];   /* client ports of every slot */
  gint stop;                         /* atomic */
  GArray *acked;                     /* guint: the writes answered 200 */
  guint unknown;                     /* writes that ended without an answer: not acknowledged */
} Load;

/* Writes load-1, load-2, ... one after another, each with a client id and
 * its seq (a retry elsewhere applies it once), trying the nodes in turn
 * until one answers 200; records what was acknowledged. */
static gpointer
load_thread (gpointer data)
{
  Load *load = data;
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 5, "proxy-resolver", NULL, NULL);
  guint next = 0;

  for (guint k = 1; !g_atomic_int_get (&load->stop); k++)
    {
      g_autofree char *path = g_strdup_printf ("/v1/machines/load-%u", k);
      g_autofree char *body = g_strdup_printf ("{\"to\":\"Running\",\"client_id\":\"load\",\"seq\":%u}", k);
      gboolean done = FALSE;
      for (guint attempt = 0; attempt < 400 && !done; attempt++)
        {
          guint slot = 1 + (next++ % CLUSTER_MAX);
          g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u%s", load->ports[slot], path);
          g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
          g_autoptr(GBytes) request = g_bytes_new (body, strlen (body));
          soup_message_set_request_body_from_bytes (msg, "application/json", request);
          g_autoptr(GBytes) answer = soup_session_send_and_read (session, msg, NULL, NULL);
          if (answer != NULL && soup_message_get_status (msg) == 200)
            done = TRUE;
          else if (answer == NULL || soup_message_get_status (msg) >= 500)
            g_usleep (20 * 1000);
          else
            g_error ("load-%u refused: %u", k, soup_message_get_status (msg));
        }
      if (done)
        g_array_append_val (load->acked, k);
      else
        {
          load->unknown++;
          break;   /* the session's next seq would be refused as out of order */
        }
    }
  return NULL;
}

/* Every acknowledged write is in the listing of each node of @ids. */
static gboolean
wait_acked_everywhere (Cluster *c, const guint *ids, const GArray *acked)
{
  gint64 deadline = g_get_monotonic_time () + STEP_MS * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      gboolean all = TRUE;
      for (const guint *id = ids; *id != 0 && all; id++)
        {
          g_autoptr(JsonNode) root = NULL;
          g_autoptr(GHashTable) have = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
          if (cluster_http (c, *id, "GET", "/v1/machines?limit=10000", NULL, &root) != 200 || root == NULL)
            {
              all = FALSE;
              break;
            }
          JsonArray *machines = json_object_get_array_member (json_node_get_object (root), "machines");
          for (guint i = 0; i < json_array_get_length (machines); i++)
            {
              JsonObject *m = json_array_get_object_element (machines, i);
              if (g_strcmp0 (json_object_get_string_member (m, "state"), "Running") == 0)
                g_hash_table_add (have, g_strdup (json_object_get_string_member (m, "machine")));
            }
          for (guint i = 0; i < acked->len && all; i++)
            {
              g_autofree char *name = g_strdup_printf ("load-%u", g_array_index (acked, guint, i));
              all = g_hash_table_contains (have, name);
            }
        }
      if (all)
        return TRUE;
      g_usleep (100 * 1000);
    }
  return FALSE;
}

static void
test_grow_shrink_under_load (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  static const guint five[] = { 1, 2, 3, 4, 5, 0 };
  Load load = { .acked = g_array_new (FALSE, FALSE, sizeof (guint)) };
  g_autofree char *out = NULL, *err = NULL;

  g_test_summary ("Under a steady write load: grow 3 to 5 with --join, then shrink 5 to 3 removing the leader "
                  "first; every acknowledged write is on every remaining node, and the removed nodes no longer "
                  "count (with one of the three down, the other two commit).");
  for (guint slot = 1; slot <= CLUSTER_MAX; slot++)
    load.ports[slot] = c->client_port[slot];
  GThread *writer = g_thread_new ("load", load_thread, &load);
  cluster_wait_leader (c, STEP_MS);
  g_assert_cmpuint (cluster_start_joiner (c, 1), ==, 4);
  g_assert_cmpuint (cluster_start_joiner (c, 2), ==, 5);
  g_assert_true (wait_voters (c, five, "1 2 3 4 5"));

  guint leader = cluster_wait_leader (c, STEP_MS);
  g_autofree char *leader_s = g_strdup_printf ("%u", leader);
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "member", "remove", leader_s, NULL), ==, 0);
  guint second = cluster_other_node (c, leader, 0);
  g_autofree char *second_s = g_strdup_printf ("%u", second);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (cluster_dsmctl (c, &out, &err, "member", "remove", second_s, NULL), ==, 0);
  guint rest[4] = { 0 }, n_rest = 0;
  for (guint id = 1; id <= 5; id++)
    if (id != leader && id != second)
      rest[n_rest++] = id;
  g_autofree char *expect = g_strdup_printf ("%u %u %u", rest[0], rest[1], rest[2]);
  g_assert_true (wait_voters (c, rest, expect));
  cluster_kill_node (c, leader);
  cluster_kill_node (c, second);

  g_atomic_int_set (&load.stop, 1);
  g_thread_join (writer);
  g_assert_cmpuint (load.unknown, ==, 0);
  g_assert_cmpuint (load.acked->len, >, 0);
  g_assert_true (wait_acked_everywhere (c, rest, load.acked));

  /* Three voters now: two of them are a quorum without the removed two. */
  cluster_kill_node (c, rest[2]);
  guint survivors[] = { rest[0], rest[1], 0 };
  guint next = cluster_wait_leader (c, STEP_MS);
  g_assert_true (next == rest[0] || next == rest[1]);
  g_autoptr(JsonNode) root = NULL;
  /* With a session, retried while the new leader settles. */
  g_assert_cmpuint (cluster_propose (c, next, "after-shrink", "Running", "after-shrink", 1, STEP_MS, &root), ==, 200);
  g_assert_true (wait_acked_everywhere (c, survivors, load.acked));
  if (g_test_verbose ())
    g_printerr ("# %u writes acknowledged under the membership changes\n", load.acked->len);
  g_array_unref (load.acked);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/admin/members-list", test_members_list);
  g_test_add_func ("/net/admin/definition-put-then-use", test_definition_put);
  g_test_add_func ("/net/admin/leader-transfer", test_leader_transfer);
  g_test_add_func ("/net/admin/grow-with-join", test_grow_with_join);
  g_test_add_func ("/net/admin/replace-dead-node", test_replace_dead_node);
  g_test_add_func ("/net/admin/remove-leader", test_remove_leader);
  g_test_add_func ("/net/admin/snapshot-save-restore", test_snapshot_restore);
  g_test_add_func ("/net/admin/grow-shrink-under-load", test_grow_shrink_under_load);
  return g_test_run ();
}
