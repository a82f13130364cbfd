/* tests/plugin/test-sim-plugins.c: the example machine plugins in the
 * simulator: each example's scenarios pass over many seeds, judged by the
 * plugin's own apply (docs/PLUGINS.md, "Checking"), and the planted-bug
 * ledger fails the linearizability check in the same scenario. */
#include <string.h>

#include "scenario/scenario.h"
#include "sim.h"
#include "tests/seeds.h"

#define SEEDS 40

static DsmScenario *
load_scenario (const char *path, const char *replace, const char *with)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  if (replace != NULL)
    {
      g_assert_nonnull (strstr (text, replace));
      g_auto(GStrv) parts = g_strsplit (text, replace, 2);
      g_free (text);
      text = g_strconcat (parts[0], with, parts[1], NULL);
    }
  g_autofree char *base = g_path_get_basename (path);
  *strrchr (base, '.') = '\0';
  DsmScenario *scenario = dsm_scenario_new_from_data (text, -1, base, &error);
  g_assert_no_error (error);
  g_assert_nonnull (scenario->plugins);
  return scenario;
}

/* Runs @scenario with @seed; returns the simulator (its history), the
 * report in @report. */
static DsmSim *
run_seed (const DsmScenario *scenario, guint64 seed, DsmSimReport *report)
{
  DsmSimOptions options = { .has_seed = TRUE, .seed = seed };
  DsmSim *sim = dsm_sim_new (scenario, &options);

  memset (report, 0, sizeof *report);
  dsm_sim_run (sim, report);
  return sim;
}

static void
test_scenario_seeds (gconstpointer path)
{
  g_autoptr(DsmScenario) scenario = load_scenario (path, NULL, NULL);
  guint seeds = dsm_test_seeds (SEEDS);
  guint64 ok_ops = 0, refused = 0;

  g_test_summary ("An example plugin's scenario passes every invariant over many seeds, its machine judged "
                  "by the plugin's own validate and apply.");
  for (guint64 seed = 1; seed <= seeds; seed++)
    {
      DsmSimReport report;
      g_autoptr(DsmSim) sim = run_seed (scenario, seed, &report);
      if (!report.ok)
        g_error ("%s seed %" G_GUINT64_FORMAT ": %s: %s (replay: dsm-sim run %s --seed %" G_GUINT64_FORMAT ")",
                 scenario->name, seed, dsm_invariant_to_string (report.failed_invariant), report.failure,
                 (const char *) path, seed);
      ok_ops += report.ops_ok;
      refused += report.ops_rejected;
      /* Answers were recorded for the checker: a plugin's output. */
      GPtrArray *history = dsm_sim_get_history (sim);
      gboolean outputs = FALSE;
      for (guint i = 0; i < history->len; i++)
        outputs |= ((const DsmHistoryOp *) history->pdata[i])->output != NULL;
      g_assert_true (outputs);
      dsm_sim_report_clear (&report);
    }
  g_test_message ("%u seeds: %" G_GUINT64_FORMAT " ok, %" G_GUINT64_FORMAT " refused", seeds, ok_ops, refused);
  g_assert_cmpuint (ok_ops, >, 0);
  g_assert_cmpuint (refused, >, 0);
}

static void
test_planted_bug (void)
{
  /* The planted-bug build of the ledger, by path; only linearizability
   * checked, so it is that checker (the plugin's apply as specification)
   * that must see it, not the replicas' disagreement. */
  g_autoptr(DsmScenario) scenario = load_scenario (BANK_SCENARIO, "\"bank-ledger\"\n", "\"" BANK_LEDGER_BUG_PATH "\"\n");
  guint seeds = dsm_test_seeds (SEEDS);
  guint caught = 0;

  g_test_summary ("The planted-bug ledger (a balance check skipped now and then) in the bank scenario is caught "
                  "by the linearizability checker replaying the plugin's own apply.");
  scenario->expect.invariants = 1u << DSM_INVARIANT_LINEARIZABILITY;
  for (guint64 seed = 1; seed <= seeds; seed++)
    {
      DsmSimReport report;
      dsm_sim_free (run_seed (scenario, seed, &report));
      if (!report.ok)
        {
          g_assert_cmpint (report.failed_invariant, ==, DSM_INVARIANT_LINEARIZABILITY);
          g_assert_nonnull (strstr (report.failure, "plugin bank-ledger"));
          if (caught++ == 0)
            g_test_message ("seed %" G_GUINT64_FORMAT ": %s", seed, report.failure);
        }
      dsm_sim_report_clear (&report);
    }
  g_test_message ("caught in %u of %u seeds", caught, seeds);
  g_assert_cmpuint (caught, >, 0);
}

typedef struct {
  const char *text;
  const char *says;
} BadScenario;

static const BadScenario bad_scenarios[] = {
  { "{\"summary\": \"s\", \"seed\": 1, \"nodes\": 3, \"cluster\": {\"plugins\": [\"no-such-machine\"]}, \"steps\": []}",
    "cluster.plugins[0] (\"no-such-machine\"): plugin \"no-such-machine\" not found" },
  { "{\"summary\": \"s\", \"seed\": 1, \"nodes\": 3, \"cluster\": {\"plugins\": [\"bank-ledger\"]}, \"steps\": ["
    "{\"do\": \"propose\", \"machine\": \"m\", \"definition\": \"bank-ledger\", \"to\": \"open\", \"payload\": [1]}]}",
    "steps[0].payload: expected an object" },
  { "{\"summary\": \"s\", \"seed\": 1, \"nodes\": 3, \"steps\": ["
    "{\"do\": \"propose\", \"machine\": \"m\", \"definition\": \"bank-ledger\", \"to\": \"open\"}]}",
    "steps[0].definition: \"bank-ledger\" is not a definition of the cluster" },
};

static void
test_bad_scenario (gconstpointer data)
{
  const BadScenario *bad = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmScenario) scenario = dsm_scenario_new_from_data (bad->text, -1, "bad", &error);

  g_test_summary ("A scenario naming a plugin that does not load, a payload that is no object, or a plugin's "
                  "definition its cluster does not load, is refused naming the field.");
  g_assert_null (scenario);
  g_assert_nonnull (error);
  if (strstr (error->message, bad->says) == NULL)
    g_error ("\"%s\" does not say \"%s\"", error->message, bad->says);
}

int
main (int argc, char **argv)
{
  g_autofree char *bank_dir = g_path_get_dirname (BANK_LEDGER_PATH);
  g_autofree char *jobs_dir = g_path_get_dirname (JOB_QUEUE_PATH);
  g_autofree char *path = g_strdup_printf ("%s:%s", bank_dir, jobs_dir);

  g_test_init (&argc, &argv, NULL);
  /* The scenarios name the plugins; the build's are found here. */
  g_setenv ("DSM_PLUGIN_PATH", path, TRUE);
  g_test_add_data_func ("/plugin/sim/bank-ledger/transfers-leader-crash", BANK_SCENARIO, test_scenario_seeds);
  g_test_add_data_func ("/plugin/sim/job-queue/leases-partition", JOBS_SCENARIO, test_scenario_seeds);
  g_test_add_func ("/plugin/sim/planted-bug-caught", test_planted_bug);
  for (guint i = 0; i < G_N_ELEMENTS (bad_scenarios); i++)
    {
      g_autofree char *name = g_strdup_printf ("/plugin/sim/bad-scenario/%u", i);
      g_test_add_data_func (name, &bad_scenarios[i], test_bad_scenario);
    }
  return g_test_run ();
}
