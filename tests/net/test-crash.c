/* tests/net/test-crash.c: three real dsm-node processes with fsync on,
 * kill -9 of random nodes (the leader in some rounds) under a client load
 * (load.h), and at the end proof that no acknowledged transition was lost,
 * reordered or applied twice, and that the nodes agree (issue 5, "Real
 * processes").
 *
 * The kill schedule comes from a seeded GRand: the seed is printed and
 * DSM_CRASH_SEED replays the schedule (the timing of real processes does
 * not replay).  DSM_CRASH_ROUNDS runs more rounds for a soak. */
#include <stdlib.h>

#include "cluster.h"
#include "load.h"

#define ROUNDS_DEFAULT 10
#define ROUNDS_WORKER_SYNC 4   /* the worker-only variant: its path is the one tested longest */
/* A snapshot every ~2000 entries (about a second of this load): crashes hit
 * snapshots in progress, and a node down for long enough catches up from
 * the leader's snapshot rather than from its log (it keeps 1000 entries). */
#define CONFIG_EXTRA "\"snapshot_threshold_entries\": 2000"
#define CATCH_UP_BUDGET_MS CLUSTER_BUDGET_MS

static void
kill_rounds (Cluster *c, Load *load, GRand *rng, guint rounds)
{
  for (guint round = 0; round < rounds; round++)
    {
      load_wait_progress (load, 200, "with every node up");
      cluster_assert_running (c);
      guint leader = cluster_wait_leader (c, CATCH_UP_BUDGET_MS);
      g_assert_cmpuint (leader, !=, 0);
      /* Every third round takes the leader; the others a random node,
       * which is the leader a third of the time. */
      guint victim = round % 3 == 0 ? leader : (guint) g_rand_int_range (rng, 1, (gint32) c->n + 1);
      guint down_ms = (guint) g_rand_int_range (rng, 100, 1200);
      g_test_message ("round %u: kill -9 node %u%s at %d acks, down %u ms", round, victim,
                      victim == leader ? " (leader)" : "", load_acked (load), down_ms);
      cluster_kill_node (c, victim);
      /* Pacing only: the load runs on the majority while the node is down. */
      g_usleep (down_ms * 1000);
      load_wait_progress (load, 50, "with one node down");
      cluster_assert_running (c);
      cluster_start_node (c, victim);
      cluster_wait_caught_up (c, victim, CATCH_UP_BUDGET_MS);
    }
}

static guint32
crash_seed (void)
{
  const char *env = g_getenv ("DSM_CRASH_SEED");

  return env != NULL ? (guint32) g_ascii_strtoull (env, NULL, 10) : g_random_int ();
}

/* @node_args: more dsm-node arguments, or NULL; @rounds_default: unless
 * DSM_CRASH_ROUNDS says. */
static void
kill9_run (const char *const *node_args, guint rounds_default)
{
  guint32 seed = crash_seed ();
  const char *rounds_env = g_getenv ("DSM_CRASH_ROUNDS");
  guint rounds = rounds_env != NULL ? (guint) g_ascii_strtoull (rounds_env, NULL, 10) : rounds_default;
  g_autoptr(GRand) rng = g_rand_new_with_seed (seed);
  g_autoptr(Cluster) c = NULL;
  g_autoptr(Load) load = NULL;
  gint64 started_us = g_get_monotonic_time ();

  /* Printed first, so an abort anywhere still names the seed. */
  g_printerr ("# crash test seed %u (DSM_CRASH_SEED=%u replays the kill schedule), %u rounds\n", seed, seed, rounds);
  c = cluster_prepare (3, CONFIG_EXTRA);
  cluster_set_node_args (c, node_args);
  cluster_start_all (c);
  g_printerr ("# cluster dir %s\n", c->dir);
  load = load_start (c, "crash", seed);

  kill_rounds (c, load, rng, rounds);

  /* The worker-only run must not have fsynced on a loop. */
  if (node_args != NULL)
    for (guint id = 1; id <= c->n; id++)
      {
        g_autofree char *key = g_strdup_printf ("dsm_wal_syncs_inline_total{node=\"%u\"}", id);
        g_assert_cmpfloat (cluster_metric (c, id, key), ==, 0);
      }
  guint64 retries = load_stop (load);
  gint64 commit = load_check (load);
  g_test_message ("%d acknowledged transitions (%" G_GUINT64_FORMAT " retries), commit index %" G_GINT64_FORMAT
                  ", %.1f s", load_acked (load), retries, commit, (g_get_monotonic_time () - started_us) / 1e6);
}

static void
test_kill9_loses_no_ack (void)
{
  g_test_summary ("Under a load of clients retrying with (client_id, seq), kill -9 of random nodes and of the "
                  "leader, then restarts, lose no acknowledged transition: every node ends in each machine's "
                  "last acknowledged state, the nodes agree, and the logs hold each ack at its index once.");
  kill9_run (NULL, ROUNDS_DEFAULT);
}

static void
test_kill9_worker_sync_loses_no_ack (void)
{
  const char *const args[] = { "--sync-inline-entries", "0", NULL };

  g_test_summary ("The same with every group commit in the WAL's worker (--sync-inline-entries 0), none on a "
                  "node's loop: kill -9 of random nodes and the leader under load loses no acknowledged "
                  "transition either.");
  kill9_run (args, ROUNDS_WORKER_SYNC);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/crash/kill9-under-load-loses-no-ack", test_kill9_loses_no_ack);
  g_test_add_func ("/net/crash/kill9-worker-sync-loses-no-ack", test_kill9_worker_sync_loses_no_ack);
  return g_test_run ();
}
