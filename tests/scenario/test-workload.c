/* tests/scenario/test-workload.c: what a scenario's clients issue is a
 * function of the scenario, the seed and what they saw, so the simulator
 * and a real-process driver issue the same operations. */
#include <string.h>

#include "scenario/scenario.h"
#include "scenario/workload.h"

static DsmScenario *
load (const char *workload)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("{\"summary\": \"w\", \"seed\": 1, \"nodes\": 3,"
                                           " \"workload\": {\"duration_ms\": 1000, %s}}", workload);
  DsmScenario *scenario = dsm_scenario_new_from_data (text, -1, NULL, &error);

  g_assert_no_error (error);
  return scenario;
}

/* "c0 seq 3 transition m1 -> Running", one line per operation. */
static char *
issue (DsmScenario *scenario, guint64 seed, guint n_ops)
{
  g_autoptr(DsmWorkloadRun) run = dsm_workload_run_new (&scenario->workload, scenario->config,
                                                        seed);
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < n_ops; i++)
    {
      guint client = i % scenario->workload.clients;
      guint64 think = dsm_workload_run_think_ms (run, client);
      DsmCommand cmd;

      dsm_workload_run_next (run, client, &cmd);
      g_string_append_printf (out, "%s seq %" G_GUINT64_FORMAT " after %" G_GUINT64_FORMAT
                              " ms: %s %s%s%s\n", cmd.client_id ? cmd.client_id : "-",
                              cmd.seq, think, dsm_op_to_string (cmd.op), cmd.machine,
                              cmd.to ? " -> " : "", cmd.to ? cmd.to : "");
    }
  return g_string_free (out, FALSE);
}

static void
test_same_seed_same_operations (void)
{
  g_autoptr(DsmScenario) scenario = load ("\"clients\": 3, \"machines\": 4");
  g_autofree char *first = issue (scenario, 7, 200);
  g_autofree char *again = issue (scenario, 7, 200);
  g_autofree char *other = issue (scenario, 8, 200);

  g_test_summary ("The same scenario and seed issue the same operations, think times "
                  "included; another seed issues others.");
  g_assert_cmpstr (first, ==, again);
  g_assert_cmpstr (first, !=, other);
}

static void
test_idempotent_ids (void)
{
  g_autoptr(DsmScenario) scenario = load ("\"clients\": 2, \"read_percent\": 100");
  g_autoptr(DsmWorkloadRun) run = dsm_workload_run_new (&scenario->workload, scenario->config,
                                                        1);
  DsmCommand cmd;

  g_test_summary ("Clients are c0, c1... then the script's; each numbers its operations "
                  "from 1, so retries can be told from new operations.");
  g_assert_cmpuint (dsm_workload_run_get_n_clients (run), ==, 3);
  g_assert_cmpstr (dsm_workload_run_get_client_id (run, 2), ==, "script");
  for (guint64 seq = 1; seq <= 3; seq++)
    {
      dsm_workload_run_next (run, 1, &cmd);
      g_assert_cmpstr (cmd.client_id, ==, "c1");
      g_assert_cmpuint (cmd.seq, ==, seq);
      g_assert_cmpint (cmd.op, ==, DSM_OP_READ);
      g_assert_null (cmd.to);
    }
}

static void
test_observed_state_guides (void)
{
  g_autoptr(DsmScenario) scenario = load ("\"clients\": 1, \"machines\": 1,"
                                          " \"read_percent\": 0");
  g_autoptr(DsmWorkloadRun) run = dsm_workload_run_new (&scenario->workload, scenario->config,
                                                        3);
  guint from_running = 0;

  g_test_summary ("Transitions start from the state a client last saw: after seeing "
                  "Running, most proposals are Running -> Stopped.");
  dsm_workload_run_observe (run, "m0", NULL, "Running");
  for (guint i = 0; i < 400; i++)
    {
      DsmCommand cmd;

      dsm_workload_run_next (run, 0, &cmd);
      g_assert_cmpint (cmd.op, ==, DSM_OP_TRANSITION);
      if (strcmp (cmd.to, "Stopped") == 0)
        from_running++;
    }
  /* 75% legal moves plus a third of the random ones: about 83%. */
  g_assert_cmpuint (from_running, >, 280);
  g_assert_cmpuint (from_running, <, 380);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/scenario/workload/same-seed-same-operations",
                   test_same_seed_same_operations);
  g_test_add_func ("/scenario/workload/idempotent-ids", test_idempotent_ids);
  g_test_add_func ("/scenario/workload/observed-state-guides", test_observed_state_guides);
  return g_test_run ();
}
