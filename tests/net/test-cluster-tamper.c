/* tests/net/test-cluster-tamper.c: three real dsm-node processes whose
 * peer links all run through proxies (tests/net/proxy.c) that, once the
 * links carry sealed frames, flip a byte of one of them or replay an
 * earlier one: the receiving node closes the connection as "mac", counts
 * it, applies nothing of it, and the cluster reconnects and commits on
 * (docs/OPERATIONS.md, "Sealed frames"; docs/SECURITY.md). */
#include <string.h>

#include "cluster.h"
#include "proxy.h"

#define NODES 3

/* Every connection goes through the proxy in front of its acceptor, which
 * keeps its stats by dialer: whichever end dials and whichever connection
 * the tie-break keeps, a link's frames are seen. */
typedef struct {
  Cluster *c;
  Proxy *proxy[NODES + 1];               /* in front of node i */
  double mac_before[NODES + 1];          /* dsm_net_protocol_errors_total{reason="mac"} */
  double disconnects_before[NODES + 1][NODES + 1];   /* [node][peer] */
} Tampered;

#define FOR_EACH_LINK(d, a) \
  for (guint d = 1; d <= NODES; d++) \
    for (guint a = 1; a <= NODES; a++) \
      if (d != a)

static double
metric (Cluster *c, guint id, const char *family, const char *reason)
{
  g_autofree char *key = g_strdup_printf ("%s{node=\"%u\",reason=\"%s\"}", family, id, reason);
  double v = cluster_metric (c, id, key);

  return v < 0 ? 0 : v;
}

static double
peer_metric (Cluster *c, guint id, const char *family, guint peer)
{
  g_autofree char *key = g_strdup_printf ("%s{node=\"%u\",peer=\"%u\"}", family, id, peer);

  return cluster_metric (c, id, key);
}

static ProxyStats
link_stats (Tampered *t, guint dialer, guint acceptor)
{
  ProxyStats stats;

  proxy_get_stats (t->proxy[acceptor], dialer, &stats);
  return stats;
}

/* Every pair of nodes has completed a handshake through a proxy. */
static gboolean
tampered_links_up (Tampered *t)
{
  FOR_EACH_LINK (d, a)
    if (d < a && link_stats (t, d, a).readies + link_stats (t, a, d).readies == 0)
      return FALSE;
  return TRUE;
}

static void
tampered_start (Tampered *t)
{
  t->c = cluster_prepare (NODES, NULL);
  /* Node a listens where the config had it; every config (one text, so
   * one fingerprint) sends its dialers to a's proxy. */
  for (guint a = 1; a <= NODES; a++)
    {
      t->proxy[a] = proxy_new (t->c->peer_port[a]);
      t->c->peer_listen[a] = t->c->peer_port[a];
      g_autofree char *direct = g_strdup_printf ("\"peer_address\": \"127.0.0.1:%u\"", t->c->peer_port[a]);
      g_autofree char *proxied = g_strdup_printf ("\"peer_address\": \"127.0.0.1:%u\"",
                                                  proxy_get_port (t->proxy[a]));
      for (guint id = 1; id <= NODES; id++)
        cluster_set_node_config (t->c, id, direct, proxied);
    }
  cluster_start_all (t->c);
  gint64 deadline = g_get_monotonic_time () + (gint64) CLUSTER_BUDGET_MS * 1000;
  while (!tampered_links_up (t))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
    }
}

static void
tampered_stop (Tampered *t)
{
  cluster_free (t->c);
  for (guint a = 1; a <= NODES; a++)
    proxy_free (t->proxy[a]);
}

static guint
tampered_count (Tampered *t)
{
  guint n = 0;

  FOR_EACH_LINK (d, a)
    n += link_stats (t, d, a).tampered;
  return n;
}

/* Commits transitions of @machine through the leader until a proxy has
 * tampered with a frame carrying it; returns the machine's last state. */
static const char *
propose_until_tampered (Tampered *t, const char *machine)
{
  static const char *const states[] = { "Running", "Stopped", "Init" };
  gint64 deadline = g_get_monotonic_time () + (gint64) CLUSTER_BUDGET_MS * 1000;
  const char *state = NULL;

  for (guint64 seq = 1; tampered_count (t) == 0; seq++)
    {
      g_autoptr(JsonNode) root = NULL;
      guint leader = cluster_wait_leader (t->c, CLUSTER_BUDGET_MS);
      g_assert_cmpuint (leader, !=, 0);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      state = states[(seq - 1) % G_N_ELEMENTS (states)];
      g_assert_cmpuint (cluster_propose (t->c, leader, machine, state, machine, seq, CLUSTER_BUDGET_MS, &root),
                        ==, 200);
    }
  return state;
}

/* The node the tampered frame went to closes that connection as "mac",
 * counts it once and says so in its log, and is connected to the sender
 * again after (through a proxy: they pass everything now). */
static void
assert_refused_as_mac (Tampered *t)
{
  guint expected[NODES + 1] = { 0 };

  FOR_EACH_LINK (d, a)
    {
      ProxyStats stats = link_stats (t, d, a);
      if (stats.tampered == 0)
        continue;
      guint receiver = stats.tampered_to_target ? a : d;
      g_test_message ("the proxy from node %u to node %u tampered with a frame to node %u", d, a, receiver);
      expected[receiver]++;
    }
  for (guint id = 1; id <= NODES; id++)
    {
      gint64 deadline = g_get_monotonic_time () + (gint64) CLUSTER_BUDGET_MS * 1000;
      while (metric (t->c, id, "dsm_net_protocol_errors_total", "mac") < t->mac_before[id] + expected[id])
        {
          g_assert_cmpint (g_get_monotonic_time (), <, deadline);
          g_usleep (20 * 1000);
        }
      g_assert_cmpfloat (metric (t->c, id, "dsm_net_protocol_errors_total", "mac"), ==,
                         t->mac_before[id] + expected[id]);
      if (expected[id] == 0)
        continue;
      g_autofree char *log_path = g_strdup_printf ("%s/node%u.log", t->c->dir, id);
      g_autofree char *log = NULL;
      g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
      g_assert_nonnull (strstr (log, "event=protocol_error"));
      g_assert_nonnull (strstr (log, "bad MAC"));
    }
  FOR_EACH_LINK (d, a)
    {
      ProxyStats stats = link_stats (t, d, a);
      guint receiver = stats.tampered_to_target ? a : d;
      guint sender = stats.tampered_to_target ? d : a;
      gint64 deadline = g_get_monotonic_time () + (gint64) CLUSTER_BUDGET_MS * 1000;
      while (stats.tampered > 0
             && (peer_metric (t->c, receiver, "dsm_net_disconnects_total", sender)
                   < t->disconnects_before[receiver][sender] + 1
                 || peer_metric (t->c, receiver, "dsm_net_peer_connected", sender) != 1))
        {
          g_assert_cmpint (g_get_monotonic_time (), <, deadline);
          g_usleep (20 * 1000);
        }
    }
}

/* The cluster commits on, every node (the receivers too) applies it. */
static void
assert_recovered (Tampered *t, const char *machine, const char *state)
{
  g_autoptr(JsonNode) root = NULL;
  guint leader = cluster_wait_leader (t->c, CLUSTER_BUDGET_MS);

  g_assert_true (cluster_wait_state_everywhere (t->c, machine, state, CLUSTER_BUDGET_MS));
  g_assert_cmpuint (leader, !=, 0);
  g_assert_cmpuint (cluster_propose (t->c, leader, "after-tamper", "Running", "after-tamper", 1,
                                     CLUSTER_BUDGET_MS, &root), ==, 200);
  g_assert_true (cluster_wait_state_everywhere (t->c, "after-tamper", "Running", CLUSTER_BUDGET_MS));
}

/* Whether node @id has applied a transition of @machine (its listing
 * holds only machines ever touched). */
static gboolean
node_lists_machine (Cluster *c, guint id, const char *machine)
{
  g_autoptr(JsonNode) root = NULL;

  g_assert_cmpuint (cluster_http (c, id, "GET", "/v1/machines?limit=1000", NULL, &root), ==, 200);
  JsonArray *machines = json_object_get_array_member (json_node_get_object (root), "machines");
  g_assert_nonnull (machines);
  g_assert_true (json_node_is_null (json_object_get_member (json_node_get_object (root), "next_cursor")));
  for (guint i = 0; i < json_array_get_length (machines); i++)
    if (g_strcmp0 (json_get_string (json_array_get_element (machines, i), "machine"), machine) == 0)
      return TRUE;
  return FALSE;
}

typedef struct {
  ProxyTamper tamper;
  const char *machine;        /* the frame tampered with carries it */
  const char *forged;         /* nullable: the machine a flipped byte names instead */
  const char *summary;
} Case;

static void
test_tamper (gconstpointer data)
{
  const Case *k = data;
  Tampered t = { 0 };

  g_test_summary (k->summary);
  tampered_start (&t);
  for (guint id = 1; id <= NODES; id++)
    t.mac_before[id] = metric (t.c, id, "dsm_net_protocol_errors_total", "mac");
  FOR_EACH_LINK (node, peer)
    t.disconnects_before[node][peer] = peer_metric (t.c, node, "dsm_net_disconnects_total", peer);
  /* One frame in all, on whichever link carries the machine first. */
  gint shots = 1;
  for (guint a = 1; a <= NODES; a++)
    proxy_arm (t.proxy[a], k->tamper, k->machine, &shots);
  const char *state = propose_until_tampered (&t, k->machine);
  g_assert_cmpuint (tampered_count (&t), ==, 1);
  assert_refused_as_mac (&t);
  assert_recovered (&t, k->machine, state);
  /* Nothing forged was applied anywhere: every node lists the machine
   * proposed and none the one the flipped byte names. */
  for (guint id = 1; id <= NODES && k->forged != NULL; id++)
    {
      g_assert_true (node_lists_machine (t.c, id, k->machine));
      g_assert_false (node_lists_machine (t.c, id, k->forged));
    }
  tampered_stop (&t);
}

int
main (int argc, char **argv)
{
  static const Case flip = {
    PROXY_FLIP, "victim-a", "victim-b",
    "A proxy flips one byte of a sealed Proposal between real nodes (victim-a becomes victim-b): the "
    "receiver closes the connection as mac, counts it in /metrics and logs it; no node ever has victim-b; "
    "the link reconnects and the cluster commits on, on every node.",
  };
  static const Case replay = {
    PROXY_REPLAY, "victim-r", NULL,
    "A proxy sends a sealed Proposal between real nodes again after the next frame (a replay of an earlier "
    "frame): the receiver closes the connection as mac, counts it in /metrics and logs it; the link "
    "reconnects and the cluster commits on, on every node.",
  };

  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/net/cluster-tamper/flipped-byte", &flip, test_tamper);
  g_test_add_data_func ("/net/cluster-tamper/replayed-frame", &replay, test_tamper);
  return g_test_run ();
}
