/* tests/net/load.c: a client load on real nodes and the checks that it
 * lost nothing (load.h), shared by test-crash.c and test-nospace.c. */
#include "load.h"

#include <signal.h>
#include <string.h>

#include "entry.h"
#include "wal.h"

/* Budgets a passing run never comes near, even on a loaded machine under
 * sanitizers (tests/net/cluster.h, CLUSTER_BUDGET_MS). */
#define ACK_BUDGET_MS CLUSTER_BUDGET_MS      /* one command, retries included */
#define PROGRESS_BUDGET_MS CLUSTER_BUDGET_MS
#define CATCH_UP_BUDGET_MS CLUSTER_BUDGET_MS
#define POLL_US (10 * 1000)

static const char *const states[] = { "Init", "Running", "Stopped" };

typedef struct {
  guint machine;     /* 0 .. LOAD_MACHINES_PER_CLIENT - 1 */
  guint state;       /* index into states[] */
  guint64 seq;
  guint64 index;     /* the log index the 200 named */
} Ack;

typedef struct {
  gint stop;         /* atomic: finish the command in flight, then return */
  gint acked;        /* atomic: acknowledgements of every client so far */
} Shared;

typedef struct {
  guint number;
  const char *prefix;
  char *client_id;
  guint n_nodes;
  guint16 client_port[CLUSTER_MAX + 1];
  GRand *rng;
  Shared *shared;
  GArray *acks;      /* Ack, in the order the client saw them */
  guint current[LOAD_MACHINES_PER_CLIENT];  /* the state after the last ack */
  guint64 retries;
  char *failure;     /* the first unexpected answer, or NULL */
  GThread *thread;
} Client;

struct _Load {
  Cluster *cluster;
  char *prefix;
  Shared shared;
  Client *clients[LOAD_CLIENTS];
};

static char *
machine_name (const Client *client, guint machine)
{
  return g_strdup_printf ("%s-c%u-m%u", client->prefix, client->number, machine);
}

/* One POST; the status (0: no answer) and, for JSON bodies, the root. */
static guint
client_post (Client *client, SoupSession *session, guint node, const char *path, const char *body,
             JsonNode **root)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u%s", client->client_port[node], path);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr(GBytes) request = g_bytes_new (body, strlen (body));
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();

  *root = NULL;
  soup_message_set_request_body_from_bytes (msg, "application/json", request);
  reply = soup_session_send_and_read (session, msg, NULL, NULL);
  if (reply == NULL)
    return 0;
  if (json_parser_load_from_data (parser, g_bytes_get_data (reply, NULL), (gssize) g_bytes_get_size (reply), NULL))
    *root = json_node_ref (json_parser_get_root (parser));
  return soup_message_get_status (msg);
}

/* Sends one transition with its (client_id, seq) until a 200, moving to the
 * next node after a refused connection, a lost answer, a 503 (nothing
 * applied, or outcome unknown: the retry learns which) or a 507 (that
 * node's disk is full).  Anything else is
 * recorded as a failure: each client owns its machines and always asks for
 * the one legal next state, so a 409 means a transition was lost or applied
 * twice. */
static gboolean
client_command (Client *client, SoupSession *session, guint machine, guint64 seq)
{
  g_autofree char *name = machine_name (client, machine);
  g_autofree char *path = g_strdup_printf ("/v1/machines/%s", name);
  guint to = (client->current[machine] + 1) % G_N_ELEMENTS (states);
  g_autofree char *body = g_strdup_printf ("{\"to\":\"%s\",\"client_id\":\"%s\",\"seq\":%" G_GUINT64_FORMAT "}",
                                           states[to], client->client_id, seq);
  gint64 deadline = g_get_monotonic_time () + ACK_BUDGET_MS * 1000;
  guint node = (guint) g_rand_int_range (client->rng, 1, (gint32) client->n_nodes + 1);

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonNode) root = NULL;
      guint status = client_post (client, session, node, path, body, &root);
      if (status == 200)
        {
          Ack ack = { .machine = machine, .state = to, .seq = seq, .index = (guint64) json_get_int (root, "index") };
          if (g_strcmp0 (json_get_string (root, "machine"), name) != 0
              || g_strcmp0 (json_get_string (root, "state"), states[to]) != 0 || json_get_int (root, "index") <= 0)
            {
              client->failure = g_strdup_printf ("%s seq %" G_GUINT64_FORMAT ": 200 with machine %s state %s index %"
                                                 G_GINT64_FORMAT ", expected %s %s", client->client_id, seq,
                                                 json_get_string (root, "machine"), json_get_string (root, "state"),
                                                 json_get_int (root, "index"), name, states[to]);
              return FALSE;
            }
          client->current[machine] = to;
          g_array_append_val (client->acks, ack);
          g_atomic_int_inc (&client->shared->acked);
          return TRUE;
        }
      /* 507: that node's disk is full, nothing was applied there. */
      if (status != 0 && status != 507
          && (status != 503 || g_strcmp0 (json_get_string (root, "reason"), "stale_request") == 0))
        {
          client->failure = g_strdup_printf ("%s seq %" G_GUINT64_FORMAT " (%s -> %s) on node %u: status %u, %s (%s)",
                                             client->client_id, seq, name, states[to], node, status,
                                             json_get_string (root, "error"), json_get_string (root, "reason"));
          return FALSE;
        }
      client->retries++;
      node = node % client->n_nodes + 1;
      g_usleep (POLL_US);
    }
  client->failure = g_strdup_printf ("%s seq %" G_GUINT64_FORMAT " (%s -> %s): no 200 within %d ms",
                                     client->client_id, seq, name, states[to], ACK_BUDGET_MS);
  return FALSE;
}

static gpointer
client_run (gpointer data)
{
  Client *client = data;
  /* A session serves the thread that made it. */
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 5, "proxy-resolver", NULL, NULL);
  guint64 seq = 0;

  while (!g_atomic_int_get (&client->shared->stop))
    {
      guint machine = (guint) g_rand_int_range (client->rng, 0, LOAD_MACHINES_PER_CLIENT);
      if (!client_command (client, session, machine, ++seq))
        break;
    }
  return NULL;
}

static Client *
client_new (Cluster *c, const char *prefix, Shared *shared, guint number, guint32 seed)
{
  Client *client = g_new0 (Client, 1);

  client->number = number;
  client->prefix = prefix;
  client->client_id = g_strdup_printf ("%s-%u-client-%u", prefix, seed, number);
  client->n_nodes = c->n;
  memcpy (client->client_port, c->client_port, sizeof client->client_port);
  client->rng = g_rand_new_with_seed (seed + number + 1);
  client->shared = shared;
  client->acks = g_array_new (FALSE, FALSE, sizeof (Ack));
  client->thread = g_thread_new (client->client_id, client_run, client);
  return client;
}

static void
client_free (Client *client)
{
  g_assert_null (client->thread);
  g_rand_free (client->rng);
  g_array_unref (client->acks);
  g_free (client->failure);
  g_free (client->client_id);
  g_free (client);
}

static void
wait_progress (Cluster *c, Shared *shared, gint more, const char *after)
{
  gint target = g_atomic_int_get (&shared->acked) + more;
  gint64 deadline = g_get_monotonic_time () + PROGRESS_BUDGET_MS * 1000;

  while (g_atomic_int_get (&shared->acked) < target)
    {
      if (g_get_monotonic_time () >= deadline)
        {
          cluster_print_views (c);
          g_error ("no progress for %d ms %s: %d acknowledgements, waiting for %d (logs in %s)", PROGRESS_BUDGET_MS,
                   after, g_atomic_int_get (&shared->acked), target, c->dir);
        }
      g_usleep (POLL_US);
    }
}

/* Every node reports the same commit and applied index, and has applied
 * everything committed. */
static gint64
wait_converged (Cluster *c)
{
  gint64 deadline = g_get_monotonic_time () + CATCH_UP_BUDGET_MS * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      gint64 commit = cluster_view_int (c, 1, "commit_index");
      gboolean same = commit > 0;
      for (guint id = 1; id <= c->n && same; id++)
        same = cluster_view_int (c, id, "commit_index") == commit && cluster_view_int (c, id, "applied_index") == commit;
      if (same)
        return commit;
      g_usleep (POLL_US);
    }
  cluster_print_views (c);
  g_error ("the nodes' commit and applied indexes did not converge within %d ms", CATCH_UP_BUDGET_MS);
}

static void
check_acks_ordered (Client *client)
{
  for (guint i = 1; i < client->acks->len; i++)
    {
      const Ack *prev = &g_array_index (client->acks, Ack, i - 1);
      const Ack *ack = &g_array_index (client->acks, Ack, i);
      /* A command sent after the previous one's 200 commits after it. */
      g_assert_cmpuint (ack->seq, ==, prev->seq + 1);
      g_assert_cmpuint (ack->index, >, prev->index);
    }
}

static const Ack *
last_ack (const Client *client, guint machine)
{
  for (guint i = client->acks->len; i > 0; i--)
    if (g_array_index (client->acks, Ack, i - 1).machine == machine)
      return &g_array_index (client->acks, Ack, i - 1);
  return NULL;
}

/* GET /v1/machines?stale on every node: the last acknowledged state. */
static void
check_final_states (Cluster *c, Client **clients)
{
  for (guint k = 0; k < LOAD_CLIENTS; k++)
    for (guint m = 0; m < LOAD_MACHINES_PER_CLIENT; m++)
      {
        const Ack *ack = last_ack (clients[k], m);
        g_autofree char *name = machine_name (clients[k], m);
        g_autofree char *path = g_strdup_printf ("/v1/machines/%s?stale=1", name);
        for (guint id = 1; id <= c->n; id++)
          {
            g_autoptr(JsonNode) root = NULL;
            g_assert_cmpuint (cluster_http (c, id, "GET", path, NULL, &root), ==, 200);
            g_assert_cmpstr (json_get_string (root, "state"), ==, states[ack != NULL ? ack->state : 0]);
          }
      }
}

/* GET /v1/machines on node @id, page by page (small pages, so paging is
 * exercised), as machine -> "definition state index". */
static GHashTable *
node_listing (Cluster *c, guint id, gint64 applied)
{
  GHashTable *listing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gint64 cursor = 0;
  gboolean more = TRUE;

  while (more)
    {
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *path = g_strdup_printf ("/v1/machines?limit=7&cursor=%" G_GINT64_FORMAT, cursor);
      g_assert_cmpuint (cluster_http (c, id, "GET", path, NULL, &root), ==, 200);
      g_assert_cmpint (json_get_int (root, "applied_index"), ==, applied);
      g_assert_cmpint (json_get_int (root, "cursor"), ==, cursor);
      JsonObject *obj = json_node_get_object (root);
      JsonArray *machines = json_object_get_array_member (obj, "machines");
      g_assert_nonnull (machines);
      g_assert_cmpuint (json_array_get_length (machines), <=, 7);
      for (guint i = 0; i < json_array_get_length (machines); i++)
        {
          JsonNode *m = json_array_get_element (machines, i);
          g_assert_true (g_hash_table_insert (listing, g_strdup (json_get_string (m, "machine")),
                                              g_strdup_printf ("%s %s %" G_GINT64_FORMAT,
                                                               json_get_string (m, "definition"),
                                                               json_get_string (m, "state"),
                                                               json_get_int (m, "index"))));
        }
      more = !json_object_get_null_member (obj, "next_cursor");
      if (more)
        {
          g_assert_cmpuint (json_array_get_length (machines), ==, 7);
          cursor = json_object_get_int_member (obj, "next_cursor");
        }
      else
        g_assert_cmpint (cursor + json_array_get_length (machines), ==, json_get_int (root, "total"));
    }
  return listing;
}

/* The nodes list the same machines, states and indexes, and each of ours
 * was last changed by its last acknowledged transition. */
static void
check_listings_agree (Cluster *c, Client **clients, gint64 applied)
{
  g_autoptr(GHashTable) first = node_listing (c, 1, applied);
  GHashTableIter iter;
  gpointer key, value;

  for (guint id = 2; id <= c->n; id++)
    {
      g_autoptr(GHashTable) other = node_listing (c, id, applied);
      g_assert_cmpuint (g_hash_table_size (other), ==, g_hash_table_size (first));
      g_hash_table_iter_init (&iter, first);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_assert_cmpstr (g_hash_table_lookup (other, key), ==, value);
    }
  for (guint k = 0; k < LOAD_CLIENTS; k++)
    for (guint m = 0; m < LOAD_MACHINES_PER_CLIENT; m++)
      {
        const Ack *ack = last_ack (clients[k], m);
        g_autofree char *name = machine_name (clients[k], m);
        g_autofree char *expected = ack != NULL ? g_strdup_printf ("lifecycle %s %" G_GUINT64_FORMAT, states[ack->state], ack->index)
                                                : NULL;
        g_assert_cmpstr (g_hash_table_lookup (first, name), ==, expected);
      }
}

static void
stop_node_cleanly (Cluster *c, guint id)
{
  g_autoptr(GError) error = NULL;

  cluster_signal_node (c, id, SIGTERM);
  g_assert_true (g_subprocess_wait (c->proc[id], NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (c->proc[id]));
  g_assert_cmpint (g_subprocess_get_exit_status (c->proc[id]), ==, 0);
  g_clear_object (&c->proc[id]);
}

/* (client_id, seq) -> the Ack, for the log check. */
static GHashTable *
acks_by_command (Client **clients)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint k = 0; k < LOAD_CLIENTS; k++)
    for (guint i = 0; i < clients[k]->acks->len; i++)
      {
        const Ack *ack = &g_array_index (clients[k]->acks, Ack, i);
        g_hash_table_insert (table, g_strdup_printf ("%s/%" G_GUINT64_FORMAT, clients[k]->client_id, ack->seq),
                             (gpointer) ack);
      }
  return table;
}

/* The stopped node's log, as its WAL recovers it: every acknowledged
 * transition after the node's snapshot sits at the index its 200 named,
 * each command of ours first appears there (a copy earlier would mean it
 * applied before the answer's index: twice), and no command of ours that
 * was never acknowledged committed. */
static void
check_node_log (Cluster *c, guint id, Client **clients, GHashTable *acks, guint64 commit, GPtrArray **log_out,
                guint64 *snapshot_index_out)
{
  g_autofree char *data = cluster_data_dir (c, id);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  DsmDurableState durable = { 0 };
  DsmWal *wal = dsm_wal_open (data, "test", id, NULL, &durable, &error);
  guint checked = 0;

  g_assert_no_error (error);
  g_assert_nonnull (durable.entries);
  for (guint i = 0; i < durable.entries->len; i++)
    {
      const DsmEntry *e = durable.entries->pdata[i];
      g_assert_cmpuint (e->index, ==, durable.snapshot_index + 1 + i);
      if (e->index > commit || e->kind != DSM_ENTRY_COMMAND || e->cmd.client_id == NULL)
        continue;
      g_autofree char *key = g_strdup_printf ("%s/%" G_GUINT64_FORMAT, e->cmd.client_id, e->cmd.seq);
      const Ack *ack = g_hash_table_lookup (acks, key);
      if (!g_str_has_prefix (e->cmd.client_id, clients[0]->prefix))
        continue;
      if (ack == NULL)
        g_error ("node %u: %s at index %" G_GUINT64_FORMAT " committed but was never acknowledged", id, key, e->index);
      if (!g_hash_table_contains (seen, key) && ack->index > durable.snapshot_index)
        {
          g_assert_cmpuint (e->index, ==, ack->index);
          g_assert_cmpstr (e->cmd.to, ==, states[ack->state]);
          checked++;
        }
      g_hash_table_add (seen, g_steal_pointer (&key));
    }
  /* Every ack past the snapshot was found at its index. */
  for (guint k = 0; k < LOAD_CLIENTS; k++)
    for (guint i = 0; i < clients[k]->acks->len; i++)
      {
        const Ack *ack = &g_array_index (clients[k]->acks, Ack, i);
        g_autofree char *key = g_strdup_printf ("%s/%" G_GUINT64_FORMAT, clients[k]->client_id, ack->seq);
        g_autofree char *name = machine_name (clients[k], ack->machine);
        if (ack->index <= durable.snapshot_index)
          continue;
        const DsmEntry *e = durable.entries->pdata[ack->index - durable.snapshot_index - 1];
        g_assert_true (g_hash_table_contains (seen, key));
        g_assert_cmpstr (e->cmd.machine, ==, name);
      }
  g_test_message ("node %u: snapshot at %" G_GUINT64_FORMAT ", %u entries after it, %u acknowledged transitions "
                  "found in the log at their index", id, durable.snapshot_index, durable.entries->len, checked);
  *log_out = g_ptr_array_ref (durable.entries);
  *snapshot_index_out = durable.snapshot_index;
  dsm_durable_state_clear (&durable);
  dsm_wal_close (wal);
}

static void
check_data_dirs (Cluster *c, Client **clients, guint64 commit)
{
  g_autoptr(GHashTable) acks = acks_by_command (clients);
  GPtrArray *logs[CLUSTER_MAX + 1] = { NULL };
  guint64 snapshot_index[CLUSTER_MAX + 1] = { 0 };

  for (guint id = 1; id <= c->n; id++)
    {
      g_autofree char *data = cluster_data_dir (c, id);
      g_autofree char *out = NULL, *err = NULL;
      /* With the config: the node a start would build from it, too. */
      const char *config = c->node_config[id] != NULL ? c->node_config[id] : c->config_path;
      const char *argv[] = { g_getenv ("DSM_NODE"), "--check-data-dir", data, "--config", config, NULL };
      int status = cluster_run_tool (argv, &out, &err);
      if (status != 0)
        g_error ("dsm-node --check-data-dir %s: exit %d\n%s%s", data, status, out, err);
      check_node_log (c, id, clients, acks, commit, &logs[id], &snapshot_index[id]);
    }
  /* Where two logs overlap below the commit index, they hold the same entries. */
  for (guint a = 1; a <= c->n; a++)
    for (guint b = a + 1; b <= c->n; b++)
      for (guint i = 0; i < logs[a]->len; i++)
        {
          const DsmEntry *ea = logs[a]->pdata[i];
          if (ea->index > commit || ea->index <= snapshot_index[b] || ea->index - snapshot_index[b] > logs[b]->len)
            continue;
          const DsmEntry *eb = logs[b]->pdata[ea->index - snapshot_index[b] - 1];
          g_assert_true (dsm_entry_equal (ea, eb));
        }
  for (guint id = 1; id <= c->n; id++)
    g_ptr_array_unref (logs[id]);
}

/* ---- the load ---- */

Load *
load_start (Cluster *c, const char *prefix, guint32 seed)
{
  Load *load = g_new0 (Load, 1);

  load->cluster = c;
  load->prefix = g_strdup (prefix);
  for (guint k = 0; k < LOAD_CLIENTS; k++)
    load->clients[k] = client_new (c, load->prefix, &load->shared, k, seed);
  return load;
}

gint
load_acked (Load *load)
{
  return g_atomic_int_get (&load->shared.acked);
}

void
load_wait_progress (Load *load, gint more, const char *after)
{
  wait_progress (load->cluster, &load->shared, more, after);
}

guint64
load_stop (Load *load)
{
  guint64 retries = 0;

  g_atomic_int_set (&load->shared.stop, 1);
  for (guint k = 0; k < LOAD_CLIENTS; k++)
    {
      Client *client = load->clients[k];
      if (client->thread == NULL)
        continue;
      g_thread_join (g_steal_pointer (&client->thread));
      if (client->failure != NULL)
        g_error ("%s", client->failure);
      retries += client->retries;
      check_acks_ordered (client);
    }
  return retries;
}

gint64
load_check (Load *load)
{
  Cluster *c = load->cluster;
  gint64 commit;

  cluster_assert_running (c);
  commit = wait_converged (c);
  check_final_states (c, load->clients);
  check_listings_agree (c, load->clients, commit);
  for (guint id = 1; id <= c->n; id++)
    stop_node_cleanly (c, id);
  check_data_dirs (c, load->clients, (guint64) commit);
  return commit;
}

void
load_free (Load *load)
{
  if (load == NULL)
    return;
  load_stop (load);
  for (guint k = 0; k < LOAD_CLIENTS; k++)
    client_free (load->clients[k]);
  g_free (load->prefix);
  g_free (load);
}
