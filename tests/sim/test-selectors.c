/* tests/sim/test-selectors.c: node selectors when they run (issue 14):
 * "leader", "follower" and "random" in partition groups, a fault aimed at
 * a role nobody holds (fail, skip or wait, as "no_target" says), and
 * "await leader" holding only for a leader a majority follows. */
#include <string.h>

#include "sim.h"

static DsmScenario *
scenario_from_text (const char *single_quoted)
{
  g_autofree char *text = g_strdup (single_quoted);
  g_autoptr(GError) error = NULL;

  g_strdelimit (text, "'", '"');
  DsmScenario *scenario = dsm_scenario_new_from_data (text, -1, "test", &error);
  g_assert_no_error (error);
  return scenario;
}

/* Runs @scenario; returns its trace (transfer full) and fills @report. */
static char *
run (const DsmScenario *scenario, DsmSimReport *report)
{
  GString *trace = g_string_new (NULL);
  DsmSimOptions options = { .trace = trace };
  g_autoptr(DsmSim) sim = dsm_sim_new (scenario, &options);

  dsm_sim_run (sim, report);
  if (!report->ok)
    g_test_message ("%s: %s", dsm_invariant_to_string (report->failed_invariant), report->failure);
  return g_string_free (trace, FALSE);
}

static void
test_partition_selectors (void)
{
  g_autoptr(DsmScenario) s = scenario_from_text (
    "{'summary': 'x', 'seed': 4, 'nodes': 5, 'steps': ["
    " {'await': 'leader', 'within_ms': 2000},"
    " {'do': 'partition', 'groups': [['leader', 'follower']]},"
    " {'comment': 'The three left out elect a leader of their own.',"
    "  'await': 'leader', 'within_ms': 3000},"
    " {'do': 'propose', 'node': 'leader', 'machine': 'm', 'to': 'Running', 'expect': 'ok'}],"
    " 'expect': {'min_elections': 2}}");
  DsmSimReport report = { 0 };

  g_test_summary ("Partition groups take 'leader', 'follower' and 'random', resolved when the step runs; "
                  "the file writes them back as written");
  g_autofree char *json = dsm_scenario_to_json (s);
  g_assert_nonnull (strstr (json, "\"groups\": [[\"leader\", \"follower\"]]"));
  g_autofree char *trace = run (s, &report);
  g_assert_true (report.ok);
  g_assert_nonnull (strstr (trace, "\"ev\":\"fault\",\"do\":\"partition\""));
  dsm_sim_report_clear (&report);

  /* "all" has no place in a group, and "leader" names one node. */
  static const char *const bad[] = {
    "{'summary': 'x', 'seed': 1, 'nodes': 3, 'steps': [{'do': 'partition', 'groups': [['all']]}]}",
    "{'summary': 'x', 'seed': 1, 'nodes': 3, 'steps': [{'do': 'partition', 'groups': [['leader'], ['leader']]}]}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *text = g_strdup (bad[i]);
      g_autoptr(GError) error = NULL;
      g_strdelimit (text, "'", '"');
      g_autoptr(DsmScenario) refused = dsm_scenario_new_from_data (text, -1, "bad", &error);
      g_assert_null (refused);
      int code = i == 0 ? DSM_SCENARIO_ERROR_UNKNOWN : DSM_SCENARIO_ERROR_INVALID;
      g_assert_error (error, DSM_SCENARIO_ERROR, code);
    }
}

/* Every node crashed, then a fault aimed at the leader at once. */
#define NO_LEADER(extra) \
  "{'summary': 'x', 'seed': 2, 'nodes': 3, 'steps': [" \
  " {'await': 'leader', 'within_ms': 2000}," \
  " {'do': 'crash', 'node': 'all'}," \
  " {'do': 'restart', 'node': 'all'}," \
  " {'do': 'isolate', 'node': 'leader'" extra "}]}"

static void
test_no_target (void)
{
  DsmSimReport report = { 0 };

  g_test_summary ("A fault aimed at 'leader' when no node leads fails the run by default, is skipped "
                  "with no_target 'skip', and waits for a leader with 'wait'");
  g_autoptr(DsmScenario) fails = scenario_from_text (NO_LEADER (""));
  g_free (run (fails, &report));  /* the verdict counts here, not the trace */
  g_assert_false (report.ok);
  g_assert_cmpint (report.failed_invariant, ==, DSM_INVARIANT_EXPECTATIONS);
  g_assert_nonnull (strstr (report.failure, "steps[3] (isolate): no leader to aim at"));
  dsm_sim_report_clear (&report);

  g_autoptr(DsmScenario) skips = scenario_from_text (NO_LEADER (", 'no_target': 'skip'"));
  g_autofree char *t2 = run (skips, &report);
  g_assert_true (report.ok);
  g_assert_nonnull (strstr (t2, "\"ev\":\"skipped\",\"step\":\"steps[3]\",\"why\":\"no leader\""));
  g_assert_null (strstr (t2, "\"do\":\"isolate\""));
  dsm_sim_report_clear (&report);

  g_autoptr(DsmScenario) waits = scenario_from_text (NO_LEADER (", 'no_target': 'wait'"));
  g_autofree char *t3 = run (waits, &report);
  g_assert_true (report.ok);
  g_assert_null (strstr (t3, "\"ev\":\"skipped\""));
  /* The isolation comes after the restarted cluster's election. */
  const char *restart = strstr (t3, "\"ev\":\"restart\"");
  const char *won = restart != NULL ? strstr (restart, "\"event\":\"election_won\"") : NULL;
  g_assert_nonnull (won);
  g_assert_nonnull (strstr (won, "\"ev\":\"fault\",\"do\":\"isolate\""));
  g_autofree char *json = dsm_scenario_to_json (waits);
  g_assert_nonnull (strstr (json, "\"no_target\": \"wait\""));
  dsm_sim_report_clear (&report);
}

static void
test_await_leader_majority (void)
{
  g_autoptr(DsmScenario) s = scenario_from_text (
    "{'summary': 'x', 'seed': 5, 'nodes': 5, 'cluster': {'consensus_timeout_ms': 1000}, 'steps': ["
    " {'await': 'leader', 'within_ms': 2000},"
    " {'do': 'isolate', 'node': 'leader'},"
    " {'await': 'leader', 'within_ms': 3000},"
    " {'do': 'propose', 'node': 'leader', 'machine': 'm', 'to': 'Running', 'expect': 'ok'}]}");
  DsmSimReport report = { 0 };

  g_test_summary ("'await leader' right after the leader is isolated waits for the leader the majority "
                  "elects, so a proposal to 'leader' then commits (it once went to the isolated one)");
  g_free (run (s, &report));
  g_assert_true (report.ok);
  g_assert_cmpuint (report.elections, >=, 2);
  dsm_sim_report_clear (&report);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sim/selectors/partition-groups", test_partition_selectors);
  g_test_add_func ("/sim/selectors/no-target", test_no_target);
  g_test_add_func ("/sim/selectors/await-leader-majority", test_await_leader_majority);
  return g_test_run ();
}
