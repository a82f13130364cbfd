/* tests/sim/test-shrink.c: shrinking a failing run, over the mutant core
 * (core/node.h DSM_MUTANTS): a planted bug gives a real failure to
 * minimize.  Also checks that this build, with no mutant chosen, is the
 * correct core: the planted bugs are unreachable unless asked for. */
#include <string.h>

#include "explore.h"
#include "node.h"
#include "seeds.h"
#include "sim.h"

#ifndef DSM_MUTANTS
#error "test-shrink links the mutant core (dsm_sim_mutant_dep)"
#endif

typedef struct {
  gboolean ok;
  DsmInvariant failed;
  char signature[512];   /* dsm_failure_signature(), when !ok */
} Verdict;

static Verdict
run_with (const DsmScenario *scenario, guint64 seed, DsmMutant mutant)
{
  DsmSimOptions options = { .has_seed = TRUE, .seed = seed, .mutant = mutant };
  DsmSimReport report = { 0 };
  g_autoptr(DsmSim) sim = dsm_sim_new (scenario, &options);

  dsm_sim_run (sim, &report);
  Verdict v = { .ok = report.ok, .failed = report.failed_invariant };
  if (!report.ok)
    {
      g_autofree char *signature = dsm_failure_signature (scenario, &report);
      g_strlcpy (v.signature, signature, sizeof v.signature);
    }
  if (!report.ok)
    g_test_message ("seed %" G_GUINT64_FORMAT ", mutant %s: %s: %s", seed, dsm_mutant_to_string (mutant),
                    dsm_invariant_to_string (report.failed_invariant), report.failure);
  dsm_sim_report_clear (&report);
  return v;
}

/* The first explored seed (from 1) on which @mutant fails a check. */
static DsmScenario *
first_failing (DsmMutant mutant, guint64 max_seeds, Verdict *verdict)
{
  DsmExploreOptions options = { 0 };

  for (guint64 seed = 1; seed <= max_seeds; seed++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DsmScenario) scenario = dsm_explore_generate (seed, &options, &error);
      g_assert_no_error (error);
      *verdict = run_with (scenario, seed, mutant);
      if (!verdict->ok)
        return g_steal_pointer (&scenario);
    }
  return NULL;
}

/* A rough size: what the shrinker removes. */
static guint64
scenario_size (const DsmScenario *s)
{
  return s->steps->len + s->workload.clients + s->workload.machines + s->config->n_nodes
         + s->workload.duration_ms / 100 + (guint64) s->workload.rate_per_s;
}

static void
test_shrink_commit_without_majority (void)
{
  Verdict verdict;
  guint attempts = 0;

  g_test_summary ("dsm_shrink() turns a failing explored scenario into a smaller one that, with "
                  "the same seed and mutant, still fails the same invariant, and that the correct "
                  "core passes.");
  g_autoptr(DsmScenario) failing = first_failing (DSM_MUTANT_COMMIT_WITHOUT_MAJORITY, 20, &verdict);
  g_assert_nonnull (failing);
  g_autoptr(DsmScenario) smaller = dsm_shrink (failing, failing->seed, verdict.signature,
                                               DSM_MUTANT_COMMIT_WITHOUT_MAJORITY, 0, &attempts);
  g_test_message ("%s: %u runs; steps %u -> %u, nodes %u -> %u, clients %u -> %u, duration %"
                  G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " ms", failing->name, attempts,
                  failing->steps->len, smaller->steps->len, failing->config->n_nodes, smaller->config->n_nodes,
                  failing->workload.clients, smaller->workload.clients, failing->workload.duration_ms,
                  smaller->workload.duration_ms);
  g_assert_cmpuint (attempts, >, 0);
  g_assert_cmpuint (smaller->seed, ==, failing->seed);
  g_assert_cmpuint (smaller->steps->len, <=, failing->steps->len);
  g_assert_cmpuint (smaller->config->n_nodes, <=, failing->config->n_nodes);
  g_assert_cmpuint (scenario_size (smaller), <, scenario_size (failing));

  Verdict again = run_with (smaller, smaller->seed, DSM_MUTANT_COMMIT_WITHOUT_MAJORITY);
  g_assert_false (again.ok);
  g_assert_cmpint (again.failed, ==, verdict.failed);
  g_assert_cmpstr (again.signature, ==, verdict.signature);
  g_assert_true (run_with (smaller, smaller->seed, DSM_MUTANT_NONE).ok);

  /* What the shrinker writes is an ordinary scenario file. */
  g_autofree char *json = dsm_scenario_to_json (smaller);
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmScenario) back = dsm_scenario_new_from_data (json, -1, "shrunk", &error);
  g_assert_no_error (error);
  g_assert_false (run_with (back, back->seed, DSM_MUTANT_COMMIT_WITHOUT_MAJORITY).ok);
}

/* ---- the targets (docs/CHECKERS.md, "Each planted bug's failure, shrunk") ---- */

typedef struct {
  DsmMutant mutant;
  guint64 seed;            /* a failing swarm seed: its first (docs/CHECKERS.md, Mutants) unless that
                            * one misses the targets ("Each planted bug's failure, shrunk") */
  guint max_nodes;         /* the fewest nodes the shrinker reached when this was written */
} TargetCase;

static const TargetCase target_cases[] = {
  { DSM_MUTANT_DOUBLE_VOTE, 3, 2 },            /* its operations used to grow, 9 -> 114 */
  { DSM_MUTANT_STALE_EPOCH_APPEND, 379, 3 },   /* the first, 15: 279 operations */
  { DSM_MUTANT_FORGET_SESSIONS, 1, 3 },
  { DSM_MUTANT_VOTE_BEFORE_PERSIST, 722, 3 },  /* the first, 532: 14 fault steps */
};

/* How many client operations a run of @s issued before it ended. */
static guint64
operations (const DsmScenario *s, DsmMutant mutant)
{
  DsmSimOptions options = { .has_seed = TRUE, .seed = s->seed, .mutant = mutant };
  DsmSimReport report = { 0 };
  g_autoptr(DsmSim) sim = dsm_sim_new (s, &options);

  dsm_sim_run (sim, &report);
  guint64 ops = report.ops;
  dsm_sim_report_clear (&report);
  return ops;
}

static void
test_shrink_meets_targets (gconstpointer data)
{
  const TargetCase *c = data;
  DsmExploreOptions explore = { .swarm = TRUE };
  g_autoptr(GError) error = NULL;
  guint attempts = 0;

  g_test_summary ("The shrunk failure of a planted bug's failing swarm seed keeps its signature and "
                  "meets the targets: at most 5 fault steps, at most 20 client operations, no more nodes "
                  "than the shrinker reached when this was written; it is an ordinary scenario file with its "
                  "steps in time order, and reads back failing the same way");
  g_autoptr(DsmScenario) failing = dsm_explore_generate (c->seed, &explore, &error);
  g_assert_no_error (error);
  Verdict verdict = run_with (failing, c->seed, c->mutant);
  g_assert_false (verdict.ok);
  g_autoptr(DsmScenario) smaller = dsm_shrink (failing, c->seed, verdict.signature, c->mutant, 0, &attempts);
  guint64 ops = operations (smaller, c->mutant);
  g_test_message ("%s seed %" G_GUINT64_FORMAT ": %u runs; fault steps %u -> %u, operations %" G_GUINT64_FORMAT
                  " -> %" G_GUINT64_FORMAT ", nodes %u -> %u", dsm_mutant_to_string (c->mutant), c->seed, attempts,
                  dsm_shrink_fault_steps (failing), dsm_shrink_fault_steps (smaller), operations (failing, c->mutant), ops,
                  failing->config->n_nodes, smaller->config->n_nodes);
  g_assert_cmpuint (attempts, <, dsm_shrink_default_runs ()); /* it finished, not the budget */
  g_assert_cmpuint (dsm_shrink_fault_steps (smaller), <=, 5);
  g_assert_cmpuint (ops, <=, 20);
  g_assert_cmpuint (smaller->config->n_nodes, <=, c->max_nodes);
  g_assert_cmpuint (smaller->config->n_nodes, <=, failing->config->n_nodes);

  g_autofree char *json = dsm_scenario_to_json (smaller);
  g_autoptr(DsmScenario) back = dsm_scenario_new_from_data (json, -1, "shrunk", &error);
  g_assert_no_error (error);
  for (guint i = 1; i < back->steps->len; i++)
    {
      const DsmStep *prev = back->steps->pdata[i - 1], *step = back->steps->pdata[i];
      g_assert_true (step->has_at && prev->has_at);
      g_assert_cmpuint (prev->at_ms, <=, step->at_ms);
    }
  Verdict again = run_with (back, back->seed, c->mutant);
  g_assert_false (again.ok);
  g_assert_cmpstr (again.signature, ==, verdict.signature);
}

static void
test_shrink_is_deterministic (void)
{
  Verdict verdict;

  g_test_summary ("Shrinking the same failure twice gives the same scenario.");
  g_autoptr(DsmScenario) failing = first_failing (DSM_MUTANT_APPLY_BEFORE_COMMIT, 20, &verdict);
  g_assert_nonnull (failing);
  g_autoptr(DsmScenario) a = dsm_shrink (failing, failing->seed, verdict.signature, DSM_MUTANT_APPLY_BEFORE_COMMIT, 0, NULL);
  g_autoptr(DsmScenario) b = dsm_shrink (failing, failing->seed, verdict.signature, DSM_MUTANT_APPLY_BEFORE_COMMIT, 0, NULL);
  g_autofree char *ja = dsm_scenario_to_json (a);
  g_autofree char *jb = dsm_scenario_to_json (b);
  g_assert_cmpstr (ja, ==, jb);
}

static void
test_shrink_keeps_failed_step (void)
{
  g_autofree char *text = g_strdup (
    "{'summary': 'x', 'seed': 3, 'nodes': 3, 'steps': ["
    " {'await': 'leader', 'within_ms': 2000},"
    " {'do': 'crash', 'node': 1}, {'do': 'crash', 'node': 2}, {'do': 'crash', 'node': 3},"
    " {'do': 'propose', 'node': 1, 'machine': 'job', 'to': 'Running', 'expect': 'ok', 'within_ms': 500},"
    " {'do': 'restart', 'node': 'all'}],"
    " 'expect': {'invariants': ['liveness', 'expectations'], 'final_states': {'other': 'Running'}}}");
  g_autoptr(GError) error = NULL;

  g_test_summary ("The shrinker keeps the failure it was given: a failed expected reply is not traded for "
                  "another expectation (final_states) that fails without the step; the shrunk run has the "
                  "original's signature");
  g_strdelimit (text, "'", '"');
  g_autoptr(DsmScenario) failing = dsm_scenario_new_from_data (text, -1, "two-failures", &error);
  g_assert_no_error (error);
  Verdict verdict = run_with (failing, failing->seed, DSM_MUTANT_NONE);
  g_assert_false (verdict.ok);
  g_assert_true (g_str_has_prefix (verdict.signature, "expectations: propose job -> Running: no reply within # ms"));

  g_autoptr(DsmScenario) smaller = dsm_shrink (failing, failing->seed, verdict.signature, DSM_MUTANT_NONE, 0, NULL);
  Verdict again = run_with (smaller, smaller->seed, DSM_MUTANT_NONE);
  g_assert_cmpstr (again.signature, ==, verdict.signature);
  g_assert_cmpuint (smaller->steps->len, <, failing->steps->len);
  gboolean kept = FALSE;
  for (guint i = 0; i < smaller->steps->len; i++)
    kept = kept || ((const DsmStep *) smaller->steps->pdata[i])->kind == DSM_STEP_PROPOSE;
  g_assert_true (kept);
}

static void
test_no_mutant_is_correct (void)
{
  g_autoptr(GDir) dir = g_dir_open (DSM_SCENARIOS_DIR, 0, NULL);
  const char *name;
  guint n = 0;

  g_test_summary ("The mutant build with no mutant chosen is the correct core: every bundled "
                  "scenario passes (the planted bugs are unreachable in a normal run).");
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (!g_str_has_suffix (name, ".json"))
        continue;
      g_autofree char *path = g_build_filename (DSM_SCENARIOS_DIR, name, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(DsmScenario) scenario = dsm_scenario_new_from_file (path, &error);
      g_assert_no_error (error);
      if (!run_with (scenario, scenario->seed, DSM_MUTANT_NONE).ok)
        g_test_fail_printf ("%s fails in the mutant build without a mutant", path);
      n++;
    }
  g_assert_cmpuint (n, >=, 15);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sim/shrink/commit-without-majority", test_shrink_commit_without_majority);
  g_test_add_func ("/sim/shrink/deterministic", test_shrink_is_deterministic);
  g_test_add_func ("/sim/shrink/keeps-failed-step", test_shrink_keeps_failed_step);
  g_test_add_func ("/sim/mutant/none-is-correct", test_no_mutant_is_correct);
  /* Each case is a planted bug's failure shrunk, seconds of simulated
   * runs: where seeds are few (tests/seeds.h) only the first is. */
  for (guint i = 0; i < dsm_test_seeds (G_N_ELEMENTS (target_cases)); i++)
    {
      g_autofree char *path = g_strdup_printf ("/sim/shrink/targets/%s", dsm_mutant_to_string (target_cases[i].mutant));
      g_test_add_data_func (path, &target_cases[i], test_shrink_meets_targets);
    }

  return g_test_run ();
}
