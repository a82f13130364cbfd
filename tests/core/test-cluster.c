/* tests/core/test-cluster.c: whole clusters of core nodes in the test
 * harness: agreement under load, minorities, leader changes, conflicting
 * clients, retries, crashes and snapshots.  Every run also checks, after
 * each input, one leader per epoch and identical applied entries. */
#include <glib.h>
#include <string.h>

#include "harness.h"
#include "log.h"

static const char *const cycle[] = { "Running", "Stopped", "Init" };

static DsmConfig *
config_for (guint n)
{
  return dsm_config_new_default (n);
}

static DsmNodeId
random_live_node (Harness *h)
{
  DsmNodeId to = 1 + (guint) g_rand_int_range (h->rng, 0, (gint32) h->n);
  while (h->nodes[to] == NULL)
    to = 1 + to % h->n;
  return to;
}

/* Submits one legal transition to each of @n_machines machines, spread over
 * the nodes, then waits for every reply; all must commit.  Like a real
 * client, each machine's client retries an "unknown" outcome with the same
 * (client id, sequence), which the cluster applies at most once. */
static void
commit_round (Harness *h, guint round, guint n_machines, guint64 *next_id)
{
  g_autofree guint64 *ids = g_new0 (guint64, n_machines);

  for (guint m = 0; m < n_machines; m++)
    {
      g_autofree char *machine = g_strdup_printf ("job-%u", m);
      g_autofree char *client = g_strdup_printf ("client-%u", m);
      ids[m] = (*next_id)++;
      harness_transition (h, random_live_node (h), ids[m], machine, cycle[round % 3], client, round + 1);
    }
  for (guint m = 0; m < n_machines; m++)
    {
      g_autofree char *machine = g_strdup_printf ("job-%u", m);
      g_autofree char *client = g_strdup_printf ("client-%u", m);
      for (guint attempt = 0;; attempt++)
        {
          g_assert_true (harness_wait_reply (h, ids[m], 30000));
          const DsmClientReply *reply = harness_reply (h, ids[m]);
          if (reply->status == DSM_REPLY_UNKNOWN && attempt < 5)
            {
              ids[m] = (*next_id)++;
              harness_transition (h, random_live_node (h), ids[m], machine, cycle[round % 3], client, round + 1);
              continue;
            }
          if (reply->status != DSM_REPLY_OK)
            g_error ("seed %" G_GUINT64_FORMAT ": request %" G_GUINT64_FORMAT " %s (%s): %s", h->seed, ids[m],
                     dsm_reply_status_to_string (reply->status), dsm_reject_reason_to_string (reply->reason),
                     reply->detail ? reply->detail : "");
          g_assert_cmpstr (reply->state, ==, cycle[round % 3]);
          break;
        }
    }
}

static gboolean
done_all_caught_up (Harness *h, gpointer data)
{
  DsmNodeId leader = harness_leader (h);
  return leader != 0 && harness_all_applied (h, dsm_node_get_commit_index (h->nodes[leader]));
}

static void
assert_stores_equal (Harness *h)
{
  g_assert_true (harness_run (h, 10000, done_all_caught_up, NULL));
  guint64 digest = 0;
  for (guint id = 1; id <= h->n; id++)
    {
      if (h->nodes[id] == NULL)
        continue;
      guint64 d = dsm_store_digest (dsm_node_get_store (h->nodes[id]));
      if (digest == 0)
        digest = d;
      g_assert_cmpuint (d, ==, digest);
    }
}

static void
run_thousand (guint n, guint loss_percent, guint64 seed)
{
  g_autoptr(DsmConfig) config = config_for (n);
  g_autoptr(Harness) h = harness_new (n, seed, config);
  guint64 next_id = 1;

  h->loss_percent = loss_percent;
  g_assert_true (harness_wait_leader (h, 10000));
  for (guint round = 0; round < 20; round++)
    commit_round (h, round, 50, &next_id);
  assert_stores_equal (h);
  for (guint id = 1; id <= n; id++)
    for (guint m = 0; m < 50; m++)
      {
        g_autofree char *machine = g_strdup_printf ("job-%u", m);
        g_assert_cmpstr (harness_state (h, id, machine), ==, cycle[19 % 3]);
      }
  g_assert_cmpuint (dsm_store_get_n_machines (dsm_node_get_store (h->nodes[1])), ==, 50);
}

static void
test_three_nodes_commit_thousand (void)
{
  g_test_summary ("A 3-node cluster elects one leader per epoch and commits 1,000 "
                  "transitions across 50 machines identically on every node.");
  run_thousand (3, 0, 11);
}

static void
test_five_nodes_commit_thousand_lossy (void)
{
  g_test_summary ("A 5-node cluster losing 5% of messages still commits 1,000 transitions "
                  "identically: retries and pipelining recover every loss.");
  run_thousand (5, 5, 12);
}

static void
test_single_node (void)
{
  g_test_summary ("A 1-node cluster is its own quorum: it elects itself and commits alone.");
  g_autoptr(Harness) h = harness_new (1, 3, NULL);
  guint64 next_id = 1;

  g_assert_true (harness_wait_leader (h, 5000));
  for (guint round = 0; round < 3; round++)
    commit_round (h, round, 5, &next_id);
}

static void
test_minority_leader_cannot_commit (void)
{
  g_test_summary ("A leader cut off with a minority cannot commit: its client hears "
                  "'outcome unknown', the majority moves on, and on healing the old "
                  "leader's entry is discarded everywhere.");
  g_autoptr(Harness) h = harness_new (5, 21, NULL);

  g_assert_true (harness_wait_leader (h, 10000));
  DsmNodeId old = harness_leader (h);
  DsmNodeId buddy = old % 5 + 1;
  harness_partition (h, HARNESS_BIT (old) | HARNESS_BIT (buddy));

  harness_transition (h, old, 1, "door", "Running", NULL, 0);
  g_assert_true (harness_wait_reply (h, 1, 10000));
  g_assert_cmpint (harness_reply (h, 1)->status, ==, DSM_REPLY_UNKNOWN);
  g_assert_cmpuint (dsm_node_get_applied_index (h->nodes[old]), <, dsm_node_get_last_index (h->nodes[old]));

  /* The majority elects its own leader and commits a conflicting history. */
  DsmNodeId other = buddy % 5 + 1;
  harness_transition (h, other, 2, "door", "Running", NULL, 0);
  g_assert_true (harness_wait_reply (h, 2, 10000));
  g_assert_cmpint (harness_reply (h, 2)->status, ==, DSM_REPLY_OK);
  harness_transition (h, other, 3, "door", "Stopped", NULL, 0);
  g_assert_true (harness_wait_reply (h, 3, 10000));
  g_assert_cmpint (harness_reply (h, 3)->status, ==, DSM_REPLY_OK);

  harness_heal (h);
  assert_stores_equal (h);
  g_assert_cmpint (dsm_node_get_role (h->nodes[old]), !=, DSM_ROLE_LEADER);
  for (guint id = 1; id <= 5; id++)
    g_assert_cmpstr (harness_state (h, id, "door"), ==, "Stopped");
}

static void
test_new_leader_finishes_old_entry (void)
{
  g_test_summary ("An entry a majority holds when its leader dies is committed by the "
                  "next leader (with its no-op), never lost.");
  g_autoptr(Harness) h = harness_new (3, 31, NULL);

  g_assert_true (harness_wait_leader (h, 10000));
  DsmNodeId old = harness_leader (h);
  /* Acks cannot reach the leader, so it never commits the entry. */
  for (guint id = 1; id <= 3; id++)
    h->cut[id][old] = id != old;
  harness_transition (h, old, 1, "pump", "Running", NULL, 0);
  harness_advance (h, 40);
  guint holders = 0;
  for (guint id = 1; id <= 3; id++)
    if (dsm_node_get_last_index (h->nodes[id]) == dsm_node_get_last_index (h->nodes[old]))
      holders++;
  g_assert_cmpuint (holders, >=, 2); /* a majority, the leader included */
  g_assert_cmpuint (dsm_node_get_commit_index (h->nodes[old]), <, dsm_node_get_last_index (h->nodes[old]));
  g_assert_null (harness_reply (h, 1));

  harness_crash (h, old);
  harness_heal (h);
  g_assert_true (harness_wait_leader (h, 10000));
  assert_stores_equal (h);
  for (guint id = 1; id <= 3; id++)
    if (id != old)
      g_assert_cmpstr (harness_state (h, id, "pump"), ==, "Running");
  harness_restart (h, old);
  assert_stores_equal (h);
  g_assert_cmpstr (harness_state (h, old, "pump"), ==, "Running");
}

static void
test_new_leader_discards_unreplicated_entry (void)
{
  g_test_summary ("An entry only the dead leader held is discarded: the next leader "
                  "overwrites it and the restarted node follows.");
  g_autoptr(Harness) h = harness_new (3, 41, NULL);

  g_assert_true (harness_wait_leader (h, 10000));
  DsmNodeId old = harness_leader (h);
  harness_partition (h, HARNESS_BIT (old));
  harness_transition (h, old, 1, "pump", "Running", NULL, 0);
  harness_advance (h, 20);
  guint64 orphan = dsm_node_get_last_index (h->nodes[old]);
  harness_crash (h, old);
  harness_heal (h);
  g_assert_true (harness_wait_leader (h, 10000));

  DsmNodeId other = old % 3 + 1;
  harness_transition (h, other, 2, "valve", "Running", NULL, 0);
  g_assert_true (harness_wait_reply (h, 2, 10000));
  g_assert_cmpint (harness_reply (h, 2)->status, ==, DSM_REPLY_OK);
  harness_restart (h, old);
  assert_stores_equal (h);
  g_assert_cmpstr (harness_state (h, old, "pump"), ==, "Init");
  g_assert_cmpstr (harness_state (h, old, "valve"), ==, "Running");
  const DsmEntry *entry = dsm_log_get (dsm_node_get_log (h->nodes[old]), orphan);
  g_assert_nonnull (entry);
  g_assert_true (entry->kind != DSM_ENTRY_COMMAND || g_strcmp0 (entry->cmd.machine, "pump") != 0);
}

static void
test_conflicting_proposals (void)
{
  g_test_summary ("Clients racing the same transition on one machine through different "
                  "nodes get exactly one commit; the rest are rejected as invalid.");
  g_autoptr(Harness) h = harness_new (3, 51, NULL);
  guint ok = 0, rejected = 0;

  g_assert_true (harness_wait_leader (h, 10000));
  for (guint64 id = 1; id <= 9; id++)
    harness_transition (h, 1 + (DsmNodeId) (id % 3), id, "shared", "Running", NULL, 0);
  for (guint64 id = 1; id <= 9; id++)
    {
      g_assert_true (harness_wait_reply (h, id, 10000));
      const DsmClientReply *reply = harness_reply (h, id);
      if (reply->status == DSM_REPLY_OK)
        ok++;
      else
        {
          g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
          g_assert_cmpint (reply->reason, ==, DSM_REJECT_INVALID_TRANSITION);
          g_assert_cmpstr (reply->state, ==, "Running");
          g_assert_nonnull (strstr (reply->detail, "shared"));
          rejected++;
        }
    }
  g_assert_cmpuint (ok, ==, 1);
  g_assert_cmpuint (rejected, ==, 8);
  assert_stores_equal (h);
}

static void
test_illegal_transition_rejected (void)
{
  g_test_summary ("An illegal transition is judged at its place in the log and refused "
                  "identically on every node, naming the machine, its state and the "
                  "requested state; an unknown state is refused at once.");
  g_autoptr(Harness) h = harness_new (3, 52, NULL);

  g_assert_true (harness_wait_leader (h, 10000));
  DsmNodeId follower = harness_leader (h) % 3 + 1;
  harness_transition (h, follower, 1, "job-42", "Stopped", NULL, 0);
  g_assert_true (harness_wait_reply (h, 1, 10000));
  const DsmClientReply *reply = harness_reply (h, 1);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_INVALID_TRANSITION);
  g_assert_cmpstr (reply->state, ==, "Init");
  g_assert_cmpstr (reply->requested, ==, "Stopped");
  g_assert_nonnull (strstr (reply->detail, "job-42"));
  guint64 judged_at = reply->index;
  g_assert_cmpuint (judged_at, >, 0);
  assert_stores_equal (h);
  for (guint id = 1; id <= 3; id++)
    {
      g_assert_cmpstr (harness_state (h, id, "job-42"), ==, "Init");
      g_assert_cmpuint (dsm_store_get_n_machines (dsm_node_get_store (h->nodes[id])), ==, 0);
    }

  guint64 last = dsm_node_get_last_index (h->nodes[harness_leader (h)]);
  harness_transition (h, follower, 2, "job-42", "Sleeping", NULL, 0);
  g_assert_true (harness_wait_reply (h, 2, 10000));
  g_assert_cmpint (harness_reply (h, 2)->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (harness_reply (h, 2)->reason, ==, DSM_REJECT_BAD_REQUEST);
  g_assert_nonnull (strstr (harness_reply (h, 2)->detail, "Sleeping"));
  g_assert_cmpuint (dsm_node_get_last_index (h->nodes[harness_leader (h)]), ==, last);
}

static void
test_retried_command_applied_once (void)
{
  g_test_summary ("A command retried with the same (client id, sequence), through any node "
                  "and even after later commands, is applied once and answered with its "
                  "first outcome.");
  g_autoptr(Harness) h = harness_new (3, 61, NULL);

  g_assert_true (harness_wait_leader (h, 10000));
  harness_transition (h, 1, 1, "m", "Running", "client-a", 1);
  harness_transition (h, 2, 2, "m", "Running", "client-a", 1);
  g_assert_true (harness_wait_reply (h, 1, 10000));
  g_assert_true (harness_wait_reply (h, 2, 10000));
  g_assert_cmpint (harness_reply (h, 1)->status, ==, DSM_REPLY_OK);
  g_assert_cmpint (harness_reply (h, 2)->status, ==, DSM_REPLY_OK);
  g_assert_cmpuint (harness_reply (h, 1)->index, ==, harness_reply (h, 2)->index);

  harness_transition (h, 3, 3, "m", "Stopped", "client-a", 2);
  g_assert_true (harness_wait_reply (h, 3, 10000));
  g_assert_cmpint (harness_reply (h, 3)->status, ==, DSM_REPLY_OK);

  /* The late duplicate of seq 1 must not move the machine back. */
  harness_transition (h, 3, 4, "m", "Running", "client-a", 1);
  g_assert_true (harness_wait_reply (h, 4, 10000));
  g_assert_cmpint (harness_reply (h, 4)->status, ==, DSM_REPLY_OK);
  g_assert_cmpuint (harness_reply (h, 4)->index, ==, harness_reply (h, 1)->index);
  assert_stores_equal (h);
  for (guint id = 1; id <= 3; id++)
    g_assert_cmpstr (harness_state (h, id, "m"), ==, "Stopped");
}

static void
test_retry_after_timeout (void)
{
  g_test_summary ("A command answered 'outcome unknown' by the consensus timeout and "
                  "retried after the partition heals takes effect exactly once.");
  g_autoptr(Harness) h = harness_new (3, 71, NULL);

  g_assert_true (harness_wait_leader (h, 10000));
  DsmNodeId leader = harness_leader (h);
  /* The leader gets the entry to one follower, but no ack comes back. */
  for (guint id = 1; id <= 3; id++)
    h->cut[id][leader] = id != leader;
  harness_transition (h, leader, 1, "m", "Running", "c", 7);
  g_assert_true (harness_wait_reply (h, 1, 10000));
  g_assert_cmpint (harness_reply (h, 1)->status, ==, DSM_REPLY_UNKNOWN);
  g_assert_cmpuint (dsm_node_get_metrics (h->nodes[leader])->consensus_timeouts, >=, 1);

  harness_heal (h);
  g_assert_true (harness_wait_leader (h, 10000));
  harness_transition (h, 1, 2, "m", "Running", "c", 7);
  g_assert_true (harness_wait_reply (h, 2, 10000));
  g_assert_cmpint (harness_reply (h, 2)->status, ==, DSM_REPLY_OK);
  assert_stores_equal (h);

  guint applied_changes = 0;
  for (guint64 i = 1; i < h->committed->len; i++)
    {
      const DsmEntry *e = h->committed->pdata[i];
      if (e->kind == DSM_ENTRY_COMMAND && g_strcmp0 (e->cmd.client_id, "c") == 0)
        applied_changes++;
    }
  /* One or two copies may be in the log; the store changed once. */
  g_assert_cmpuint (applied_changes, >=, 1);
  g_assert_cmpstr (harness_state (h, 1, "m"), ==, "Running");
}

static void
test_crash_restart_catches_up (void)
{
  g_test_summary ("A follower that crashes misses commits, restarts from its durable "
                  "state and catches up to the same machine states.");
  g_autoptr(Harness) h = harness_new (3, 81, NULL);
  guint64 next_id = 1;

  g_assert_true (harness_wait_leader (h, 10000));
  commit_round (h, 0, 10, &next_id);
  DsmNodeId victim = harness_leader (h) % 3 + 1;
  harness_crash (h, victim);
  commit_round (h, 1, 10, &next_id);
  commit_round (h, 2, 10, &next_id);
  harness_restart (h, victim);
  assert_stores_equal (h);
  g_assert_cmpstr (harness_state (h, victim, "job-3"), ==, "Init");
}

static void
test_leader_crash_new_leader (void)
{
  g_test_summary ("Killing the leader: a new one is elected within the election bound "
                  "and commits continue; the old one rejoins as a follower.");
  g_autoptr(Harness) h = harness_new (3, 91, NULL);
  guint64 next_id = 1;

  g_assert_true (harness_wait_leader (h, 10000));
  commit_round (h, 0, 10, &next_id);
  DsmNodeId old = harness_leader (h);
  guint64 old_epoch = dsm_node_get_epoch (h->nodes[old]);
  harness_crash (h, old);
  g_assert_true (harness_wait_leader (h, 3000));
  g_assert_cmpuint (dsm_node_get_epoch (h->nodes[harness_leader (h)]), >, old_epoch);
  commit_round (h, 1, 10, &next_id);
  harness_restart (h, old);
  assert_stores_equal (h);
}

static void
test_whole_cluster_restart (void)
{
  g_test_summary ("Every node crashes at once; restarted from their durable state they "
                  "recover every committed transition.");
  g_autoptr(Harness) h = harness_new (3, 101, NULL);
  guint64 next_id = 1;

  g_assert_true (harness_wait_leader (h, 10000));
  commit_round (h, 0, 20, &next_id);
  commit_round (h, 1, 20, &next_id);
  for (guint id = 1; id <= 3; id++)
    harness_crash (h, id);
  for (guint id = 1; id <= 3; id++)
    harness_restart (h, id);
  g_assert_true (harness_wait_leader (h, 10000));
  assert_stores_equal (h);
  for (guint id = 1; id <= 3; id++)
    g_assert_cmpstr (harness_state (h, id, "job-7"), ==, "Stopped");
}

static void
test_snapshot_catch_up (void)
{
  g_test_summary ("A follower down while the leader compacted its log catches up by "
                  "receiving a snapshot in chunks, and survives a restart from it.");
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  config->snapshot_threshold_entries = 40;
  config->snapshot_chunk_bytes = 256;
  g_autoptr(Harness) h = harness_new (3, 111, config);
  guint64 next_id = 1;

  g_assert_true (harness_wait_leader (h, 10000));
  DsmNodeId victim = harness_leader (h) % 3 + 1;
  harness_crash (h, victim);
  for (guint round = 0; round < 6; round++)
    commit_round (h, round, 30, &next_id);
  DsmNodeId leader = harness_leader (h);
  g_assert_cmpuint (dsm_log_start_index (dsm_node_get_log (h->nodes[leader])), >, 0);
  harness_restart (h, victim);
  assert_stores_equal (h);
  g_assert_cmpuint (dsm_node_get_metrics (h->nodes[victim])->snapshots_installed, ==, 1);
  harness_crash (h, victim);
  harness_restart (h, victim);
  assert_stores_equal (h);
  g_assert_cmpstr (harness_state (h, victim, "job-29"), ==, "Init");
}

static gboolean
done_read (Harness *h, gpointer data)
{
  return harness_reply (h, GPOINTER_TO_SIZE (data)) != NULL;
}

static void
test_linearizable_read (void)
{
  g_test_summary ("A read through a follower after a committed write returns that write; "
                  "a leader cut off in a minority cannot answer reads.");
  g_autoptr(Harness) h = harness_new (3, 121, NULL);

  g_assert_true (harness_wait_leader (h, 10000));
  DsmNodeId leader = harness_leader (h);
  DsmNodeId follower = leader % 3 + 1;
  harness_transition (h, leader, 1, "m", "Running", NULL, 0);
  g_assert_true (harness_wait_reply (h, 1, 10000));
  DsmCommand read = { .op = DSM_OP_READ, .machine = "m" };
  harness_submit (h, follower, 2, &read);
  g_assert_true (harness_wait_reply (h, 2, 10000));
  g_assert_cmpint (harness_reply (h, 2)->status, ==, DSM_REPLY_OK);
  g_assert_cmpstr (harness_reply (h, 2)->state, ==, "Running");
  g_assert_cmpuint (harness_reply (h, 2)->index, >=, harness_reply (h, 1)->index);

  harness_partition (h, HARNESS_BIT (leader));
  harness_submit (h, leader, 3, &read);
  harness_advance (h, 100);
  g_assert_null (harness_reply (h, 3));
  g_assert_true (harness_run (h, 10000, done_read, GSIZE_TO_POINTER (3)));
  g_assert_cmpint (harness_reply (h, 3)->status, !=, DSM_REPLY_OK);
}

static void
test_seeds_are_deterministic (void)
{
  g_test_summary ("The same seed gives the same run: same leaders, same log.");
  guint64 last[2], epoch[2];

  for (guint run = 0; run < 2; run++)
    {
      g_autoptr(Harness) h = harness_new (5, 4242, NULL);
      guint64 next_id = 1;
      h->loss_percent = 10;
      g_assert_true (harness_wait_leader (h, 10000));
      commit_round (h, 0, 20, &next_id);
      last[run] = dsm_node_get_last_index (h->nodes[harness_leader (h)]);
      epoch[run] = dsm_node_get_epoch (h->nodes[harness_leader (h)]);
      g_assert_cmpuint (h->now_ms, >, 0);
    }
  g_assert_cmpuint (last[0], ==, last[1]);
  g_assert_cmpuint (epoch[0], ==, epoch[1]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/cluster/three-nodes-commit-thousand", test_three_nodes_commit_thousand);
  g_test_add_func ("/core/cluster/five-nodes-commit-thousand-lossy", test_five_nodes_commit_thousand_lossy);
  g_test_add_func ("/core/cluster/single-node", test_single_node);
  g_test_add_func ("/core/cluster/minority-leader-cannot-commit", test_minority_leader_cannot_commit);
  g_test_add_func ("/core/cluster/new-leader-finishes-old-entry", test_new_leader_finishes_old_entry);
  g_test_add_func ("/core/cluster/new-leader-discards-unreplicated-entry", test_new_leader_discards_unreplicated_entry);
  g_test_add_func ("/core/cluster/conflicting-proposals", test_conflicting_proposals);
  g_test_add_func ("/core/cluster/illegal-transition-rejected", test_illegal_transition_rejected);
  g_test_add_func ("/core/cluster/retried-command-applied-once", test_retried_command_applied_once);
  g_test_add_func ("/core/cluster/retry-after-timeout", test_retry_after_timeout);
  g_test_add_func ("/core/cluster/crash-restart-catches-up", test_crash_restart_catches_up);
  g_test_add_func ("/core/cluster/leader-crash-new-leader", test_leader_crash_new_leader);
  g_test_add_func ("/core/cluster/whole-cluster-restart", test_whole_cluster_restart);
  g_test_add_func ("/core/cluster/snapshot-catch-up", test_snapshot_catch_up);
  g_test_add_func ("/core/cluster/linearizable-read", test_linearizable_read);
  g_test_add_func ("/core/cluster/seeds-are-deterministic", test_seeds_are_deterministic);
  return g_test_run ();
}
