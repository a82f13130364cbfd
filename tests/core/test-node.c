/* tests/core/test-node.c: one node's life around its handlers: restarting
 * from durable state (and refusing inconsistent state), and the deadline
 * it reports to its host.  The handlers themselves are tested in
 * test-election.c, test-replication.c, test-client.c and test-snapshot.c. */
#include "error.h"
#include "log.h"
#include "node-rig.h"

/* ---- restart ---- */

static void
test_restart_restores_durable_state (void)
{
  DsmConfig *config = rig_config (3);
  g_autoptr(DsmStore) store = dsm_store_new (config);
  g_autoptr(DsmEntry) noop = dsm_entry_new (1, 1, DSM_ENTRY_NOOP, NULL);
  g_autoptr(DsmEntry) running = rig_command_entry (2, 1, "m", "Running");
  DsmApplyResult result;

  g_test_summary ("A restarted node gets back its epoch, vote, snapshot and the log after it, "
                  "and commits exactly up to the snapshot: a vote survives restarts, and "
                  "entries past the snapshot are learned committed again from the leader.");
  g_assert_true (dsm_store_apply (store, noop, &result, NULL));
  dsm_apply_result_clear (&result);
  g_assert_true (dsm_store_apply (store, running, &result, NULL));
  dsm_apply_result_clear (&result);

  DsmDurableState durable = {
    .epoch = 3,
    .voted_for = 2,
    .snapshot_index = 2,
    .snapshot_epoch = 1,
    .snapshot = dsm_store_snapshot (store),
    .entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref),
  };
  g_ptr_array_add (durable.entries, rig_command_entry (3, 2, "m", "Stopped"));
  g_ptr_array_add (durable.entries, dsm_entry_new (4, 3, DSM_ENTRY_NOOP, NULL));
  g_autoptr(Rig) rig = rig_new (config, &durable);
  dsm_durable_state_clear (&durable);

  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 3);
  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, 2);
  const DsmLog *log = dsm_node_get_log (rig->node);
  g_assert_cmpuint (dsm_log_start_index (log), ==, 2);
  g_assert_cmpuint (dsm_log_start_epoch (log), ==, 1);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 4);
  g_assert_cmpuint (dsm_log_last_epoch (log), ==, 3);
  g_assert_cmpuint (dsm_log_get (log, 3)->epoch, ==, 2);
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 2);
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 2);
  g_assert_cmpuint (dsm_store_digest (dsm_node_get_store (rig->node)), ==, dsm_store_digest (store));
  g_assert_cmpstr (dsm_store_read (dsm_node_get_store (rig->node), "m", NULL, NULL), ==, "Running");
}

/* dsm_node_new() on @durable must fail with DURABLE_STATE. */
static void
check_durable_refused (GPtrArray *entries, guint64 epoch)
{
  g_autoptr(DsmConfig) config = rig_config (3);
  g_autoptr(GError) error = NULL;
  DsmDurableState durable = { .epoch = epoch, .entries = entries };

  DsmNode *node = dsm_node_new (config, RIG_SELF, g_rand_new_with_seed (RIG_SEED), &durable, 0, &error);
  g_assert_null (node);
  g_assert_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_DURABLE_STATE);
  dsm_durable_state_clear (&durable);
}

static void
test_restart_entries_not_contiguous (void)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);

  g_test_summary ("A log with a hole is not something this node ever wrote: refuse to start "
                  "rather than replicate a corrupt log.");
  g_ptr_array_add (entries, dsm_entry_new (1, 1, DSM_ENTRY_NOOP, NULL));
  g_ptr_array_add (entries, dsm_entry_new (3, 1, DSM_ENTRY_NOOP, NULL));
  check_durable_refused (entries, 1);
}

static void
test_restart_entry_epoch_above_hard_state (void)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);

  g_test_summary ("An entry newer than the durable epoch means the hard state was lost: "
                  "starting would let the node vote again in an epoch it already saw.");
  g_ptr_array_add (entries, dsm_entry_new (1, 1, DSM_ENTRY_NOOP, NULL));
  g_ptr_array_add (entries, dsm_entry_new (2, 5, DSM_ENTRY_NOOP, NULL));
  check_durable_refused (entries, 3);
}

/* ---- the host's deadline ---- */

static void
test_deadline_election (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  guint min = rig->config->election_timeout_ms_min;
  guint max = rig->config->election_timeout_ms_max;

  g_test_summary ("A follower's next deadline is its election deadline, drawn in [min, max] "
                  "after the last word from its leader: the host wakes it exactly then.");
  guint64 deadline = dsm_node_next_deadline (rig->node);
  g_assert_cmpuint (deadline, >=, min);
  g_assert_cmpuint (deadline, <=, max);
  rig_tick (rig, deadline - 1);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_next_deadline (rig->node), ==, deadline);

  rig->now_ms = 1000;
  rig_step (rig, rig_commit (2, 1, 0, 0));
  deadline = dsm_node_next_deadline (rig->node);
  g_assert_cmpuint (deadline, >=, 1000 + min);
  g_assert_cmpuint (deadline, <=, 1000 + max);
}

static void
test_start_counts_from_start (void)
{
  g_autoptr(Rig) loaded = rig_new (rig_config (3), NULL);
  g_autoptr(Rig) started = rig_new (rig_config (3), NULL);
  guint64 load_ms = 10 * loaded->config->election_timeout_ms_max;

  g_test_summary ("A node its host took long to load (a large snapshot) counts its election "
                  "timeout from dsm_node_start(), not from dsm_node_new(): without the start, its "
                  "first tick after the load is a pre-vote, as if the leader had been silent.");
  guint64 deadline = dsm_node_next_deadline (started->node);
  g_assert_cmpuint (dsm_node_next_deadline (loaded->node), ==, deadline); /* same seed */

  /* Not started: the load counts as silence. */
  rig_tick (loaded, load_ms);
  g_assert_cmpuint (rig_count_messages (loaded, DSM_MSG_VOTE_REQUEST), ==, 2);

  /* Started after the load: the same timeout, from the start. */
  dsm_node_start (started->node, load_ms);
  started->now_ms = load_ms;
  g_assert_cmpuint (dsm_node_next_deadline (started->node), ==, load_ms + deadline);
  rig_tick (started, load_ms);
  rig_tick (started, load_ms + deadline - 1);
  g_assert_cmpuint (rig_count_messages (started, DSM_MSG_VOTE_REQUEST), ==, 0);
  g_assert_cmpint (dsm_node_get_role (started->node), ==, DSM_ROLE_FOLLOWER);
  rig_tick (started, load_ms + deadline);
  g_assert_cmpuint (rig_count_messages (started, DSM_MSG_VOTE_REQUEST), ==, 2);
}

static void
test_start_after_input_is_a_bug (void)
{
  g_test_summary ("dsm_node_start() after a timed input is a host's bug, asserted: the node's "
                  "timers may already run from that input.");
  if (g_test_subprocess ())
    {
      g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
      rig_tick (rig, 5);
      dsm_node_start (rig->node, 10);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*had_input*");
}

static void
test_deadline_leader (void)
{
  DsmConfig *config = rig_config (3);
  config->heartbeat_ms = 120;
  config->retry_delay_ms = 100;
  g_autoptr(Rig) rig = rig_new (config, NULL);

  g_test_summary ("A leader's next deadline is its earliest retry while a Proposal is "
                  "unanswered, then its next heartbeat.");
  rig_elect (rig);
  guint64 t = rig->now_ms;
  g_assert_cmpuint (dsm_node_next_deadline (rig->node), ==, t + 100);

  rig_persist_all (rig);
  rig_step (rig, rig_ack (2, 1, 1, 0));
  rig_step (rig, rig_ack (3, 1, 1, 0));
  g_assert_cmpuint (dsm_node_next_deadline (rig->node), ==, t + 120);
}

static void
test_deadline_client (void)
{
  DsmConfig *config = rig_config (3);
  config->consensus_timeout_ms = 100;
  g_autoptr(Rig) rig = rig_new (config, NULL);

  g_test_summary ("A pending client request's consensus deadline counts when it is the "
                  "earliest, so the timeout answer is never late.");
  guint64 election = dsm_node_next_deadline (rig->node);
  g_assert_cmpuint (election, >, 100);
  rig_transition (rig, 5, "m", "Running", NULL, 0);
  g_assert_cmpuint (dsm_node_next_deadline (rig->node), ==, 100);

  rig_tick (rig, 100);
  g_assert_nonnull (rig_find_reply (rig, 5));
  g_assert_cmpuint (dsm_node_next_deadline (rig->node), ==, election);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/node/restart/restores-durable-state", test_restart_restores_durable_state);
  g_test_add_func ("/core/node/restart/entries-not-contiguous", test_restart_entries_not_contiguous);
  g_test_add_func ("/core/node/restart/entry-epoch-above-hard-state", test_restart_entry_epoch_above_hard_state);
  g_test_add_func ("/core/node/deadline/election", test_deadline_election);
  g_test_add_func ("/core/node/deadline/leader", test_deadline_leader);
  g_test_add_func ("/core/node/start/counts-from-start", test_start_counts_from_start);
  g_test_add_func ("/core/node/start/after-input-is-a-bug", test_start_after_input_is_a_bug);
  g_test_add_func ("/core/node/deadline/client", test_deadline_client);
  return g_test_run ();
}
