/* tests/sim/test-mutants.c: each planted bug of the mutant core is caught
 * by the checker docs/CHECKERS.md ("Mutants") names, on the first explored
 * seed that catches it, and that seed passes without the bug: the checker,
 * not the scenario, tells them apart.  And the swarm profiles that make
 * exploration catch them all within 1,000 seeds. */
#include <string.h>

#include "check/linearizability.h"
#include "explore.h"
#include "node.h"
#include "sim.h"

#ifndef DSM_MUTANTS
#error "test-mutants links the mutant core (dsm_sim_mutant_dep)"
#endif

typedef struct {
  DsmMutant mutant;
  gboolean swarm;          /* explore --swarm */
  guint64 seed;            /* the first explored seed that catches it (dsm-sim mutants) */
  DsmInvariant caught_by;
} Caught;

/* `dsm-sim mutants --swarm --seeds 1000`: every planted bug within 1,000
 * seeds; and the new ones without swarm (docs/CHECKERS.md, "Mutants"). */
static const Caught caught[] = {
  { DSM_MUTANT_COMMIT_WITHOUT_MAJORITY, TRUE, 1, DSM_INVARIANT_QUORUMS },
  { DSM_MUTANT_DOUBLE_VOTE, TRUE, 3, DSM_INVARIANT_ELECTION_SAFETY },
  { DSM_MUTANT_VOTE_ANY_LOG, TRUE, 2, DSM_INVARIANT_AGREEMENT },
  { DSM_MUTANT_APPLY_BEFORE_COMMIT, TRUE, 1, DSM_INVARIANT_AGREEMENT },
  { DSM_MUTANT_COMMIT_OLD_EPOCH, TRUE, 7946, DSM_INVARIANT_AGREEMENT },
  { DSM_MUTANT_FORGET_EPOCH, TRUE, 34, DSM_INVARIANT_ELECTION_SAFETY },
  { DSM_MUTANT_ACK_BEFORE_PERSIST, TRUE, 1, DSM_INVARIANT_QUORUMS },
  { DSM_MUTANT_TWO_CHANGES, TRUE, 83, DSM_INVARIANT_AGREEMENT },
  { DSM_MUTANT_CONFIG_ON_COMMIT, TRUE, 5, DSM_INVARIANT_QUORUMS },
  { DSM_MUTANT_LEARNER_COUNTS, TRUE, 4, DSM_INVARIANT_QUORUMS },
  { DSM_MUTANT_READ_WITHOUT_CONFIRM, TRUE, 624, DSM_INVARIANT_LINEARIZABILITY },
  { DSM_MUTANT_SNAPSHOT_KEEPS_STATES, TRUE, 65, DSM_INVARIANT_STATE_MACHINE_SAFETY },
  { DSM_MUTANT_FORGET_SESSIONS, TRUE, 1, DSM_INVARIANT_VALIDITY },
  { DSM_MUTANT_STALE_EPOCH_APPEND, TRUE, 15, DSM_INVARIANT_ELECTION_SAFETY },
  { DSM_MUTANT_VOTE_BEFORE_PERSIST, TRUE, 532, DSM_INVARIANT_ELECTION_SAFETY },
  { DSM_MUTANT_READ_WITHOUT_CONFIRM, FALSE, 95, DSM_INVARIANT_LINEARIZABILITY },
  { DSM_MUTANT_SNAPSHOT_KEEPS_STATES, FALSE, 27, DSM_INVARIANT_STATE_MACHINE_SAFETY },
  { DSM_MUTANT_FORGET_SESSIONS, FALSE, 1, DSM_INVARIANT_VALIDITY },
  { DSM_MUTANT_STALE_EPOCH_APPEND, FALSE, 50, DSM_INVARIANT_ELECTION_SAFETY },
};

/* A history that is not linearizable is reported exactly as the whole
 * history's check words it, although the simulator keeps its history
 * packed and hands it to the checker one machine at a time
 * (check/history-pack.h, dsm_linearizability_check_each()). */
static void
assert_reported_as_whole (DsmSim *sim, const DsmScenario *scenario, const DsmSimReport *report)
{
  DsmLinearizabilityResult result = { 0 };

  if (report->failed_invariant != DSM_INVARIANT_LINEARIZABILITY)
    return;
  g_assert_false (dsm_linearizability_check (dsm_sim_get_history (sim), scenario->config, 0, &result));
  g_autofree char *expected = g_strdup_printf ("machine %s: %s", result.machine, result.explanation);
  g_assert_cmpstr (report->failure, ==, expected);
  dsm_linearizability_result_clear (&result);
}

static void
test_caught (gconstpointer data)
{
  const Caught *c = data;
  DsmExploreOptions explore = { .swarm = c->swarm };
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmScenario) scenario = dsm_explore_generate (c->seed, &explore, &error);
  g_assert_no_error (error);

  g_test_summary ("A planted bug is caught on its seed by the checker CHECKERS.md names; the correct "
                  "core passes that seed");
  DsmSimOptions with = { .has_seed = TRUE, .seed = c->seed, .mutant = c->mutant };
  DsmSimReport report = { 0 };
  g_autoptr(DsmSim) sim = dsm_sim_new (scenario, &with);
  dsm_sim_run (sim, &report);
  g_test_message ("%s, seed %" G_GUINT64_FORMAT ": %s: %s", dsm_mutant_to_string (c->mutant), c->seed,
                  report.ok ? "ok" : dsm_invariant_to_string (report.failed_invariant),
                  report.failure ? report.failure : "");
  g_assert_false (report.ok);
  g_assert_cmpstr (dsm_invariant_to_string (report.failed_invariant), ==, dsm_invariant_to_string (c->caught_by));
  assert_reported_as_whole (sim, scenario, &report);
  dsm_sim_report_clear (&report);

  DsmSimOptions without = { .has_seed = TRUE, .seed = c->seed };
  g_autoptr(DsmSim) correct = dsm_sim_new (scenario, &without);
  dsm_sim_run (correct, &report);
  g_assert_true (report.ok);
  dsm_sim_report_clear (&report);
}

/* Planted bugs the explorer does not reach (it draws no watchers, nor
 * payloads), each caught on a bundled scenario by the checker CHECKERS.md
 * names; with @ignored left out of the scenario's invariants, the next
 * checker that catches it. */
typedef struct {
  const char *name;
  DsmMutant mutant;
  const char *scenario;
  DsmInvariant caught_by;
  gint ignored;            /* a DsmInvariant, or -1 */
} CaughtOn;

static const CaughtOn caught_on[] = {
  { "watch-skip-on-resume", DSM_MUTANT_WATCH_SKIP_ON_RESUME, "watch-leader-crash.json", DSM_INVARIANT_WATCH, -1 },
  { "apply-ignores-if-revision", DSM_MUTANT_APPLY_IGNORES_IF_REVISION, "compare-and-set.json",
    DSM_INVARIANT_VALIDITY, -1 },
  { "apply-ignores-if-revision/without-validity", DSM_MUTANT_APPLY_IGNORES_IF_REVISION, "compare-and-set.json",
    DSM_INVARIANT_LINEARIZABILITY, DSM_INVARIANT_VALIDITY },
  { "merge-drops-keys", DSM_MUTANT_MERGE_DROPS_KEYS, "compare-and-set.json", DSM_INVARIANT_LINEARIZABILITY, -1 },
  { "heartbeat-same-round", DSM_MUTANT_HEARTBEAT_SAME_ROUND, "idle-leader.json", DSM_INVARIANT_EXPECTATIONS, -1 },
  { "commit-old-epoch", DSM_MUTANT_COMMIT_OLD_EPOCH, "figure-eight.json", DSM_INVARIANT_AGREEMENT, -1 },
};

static void
test_caught_on_scenario (gconstpointer data)
{
  const CaughtOn *c = data;
  g_autofree char *path = g_build_filename (DSM_SCENARIOS_DIR, c->scenario, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmScenario) scenario = dsm_scenario_new_from_file (path, &error);
  DsmSimReport report = { 0 };

  g_assert_no_error (error);
  g_test_summary ("A planted bug is caught on a bundled scenario by the checker CHECKERS.md names; the correct "
                  "build passes it");
  if (c->ignored >= 0)
    scenario->expect.invariants &= ~(1u << c->ignored);
  DsmSimOptions with = { .mutant = c->mutant };
  g_autoptr(DsmSim) sim = dsm_sim_new (scenario, &with);
  dsm_sim_run (sim, &report);
  g_test_message ("%s on %s: %s: %s", dsm_mutant_to_string (c->mutant), c->scenario,
                  report.ok ? "ok" : dsm_invariant_to_string (report.failed_invariant),
                  report.failure ? report.failure : "");
  g_assert_false (report.ok);
  g_assert_cmpstr (dsm_invariant_to_string (report.failed_invariant), ==, dsm_invariant_to_string (c->caught_by));
  assert_reported_as_whole (sim, scenario, &report);
  dsm_sim_report_clear (&report);

  DsmSimOptions without = { 0 };
  g_autoptr(DsmSim) correct = dsm_sim_new (scenario, &without);
  dsm_sim_run (correct, &report);
  g_test_message ("correct build: %s", report.ok ? "ok" : report.failure);
  g_assert_true (report.ok);
  dsm_sim_report_clear (&report);
}

static void
test_swarm (void)
{
  g_autoptr(GHashTable) profiles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint three = 0;

  g_test_summary ("explore --swarm draws a profile per seed (how hard its faults hit), deterministic and "
                  "named in the scenario's summary; without --swarm a seed has no profile");
  for (guint64 seed = 1; seed <= 60; seed++)
    {
      DsmExploreOptions plain = { 0 }, swarm = { .swarm = TRUE };
      g_autoptr(GError) error = NULL;
      g_autoptr(DsmScenario) p = dsm_explore_generate (seed, &plain, &error);
      g_autoptr(DsmScenario) a = dsm_explore_generate (seed, &swarm, &error);
      g_autoptr(DsmScenario) b = dsm_explore_generate (seed, &swarm, &error);
      g_assert_no_error (error);
      g_autofree char *expected = g_strdup_printf ("Random faults drawn from seed %" G_GUINT64_FORMAT ".", seed);
      g_assert_cmpstr (p->summary, ==, expected);
      g_assert_cmpstr (a->json, ==, b->json);
      const char *profile = strstr (a->summary, "; swarm: ");
      g_assert_nonnull (profile);
      g_hash_table_add (profiles, g_strdup (profile));
      g_assert_true (a->config->n_nodes == 3 || a->config->n_nodes == 5);
      three += a->config->n_nodes == 3;
      g_assert_cmpuint (p->config->n_nodes, ==, 5);
    }
  g_assert_cmpuint (g_hash_table_size (profiles), >, 10);
  g_assert_cmpuint (three, >, 0);
  g_assert_cmpuint (three, <, 60);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (caught); i++)
    {
      g_autofree char *path = g_strdup_printf ("/sim/mutant/caught%s/%s", caught[i].swarm ? "-swarm" : "",
                                               dsm_mutant_to_string (caught[i].mutant));
      g_test_add_data_func (path, &caught[i], test_caught);
    }
  for (guint i = 0; i < G_N_ELEMENTS (caught_on); i++)
    {
      g_autofree char *path = g_strdup_printf ("/sim/mutant/caught-scenario/%s", caught_on[i].name);
      g_test_add_data_func (path, &caught_on[i], test_caught_on_scenario);
    }
  g_test_add_func ("/sim/explore/swarm", test_swarm);
  return g_test_run ();
}
