/* tests/sim/test-attacker.c: the simulator's attacker (sim/attacker.c):
 * forged, replayed and spoofed frames are refused by the modelled links
 * and handshakes, counted, and change nothing (the run equals its
 * attack-free twin); over the mutant core, the planted bug that lets them
 * through (trust-unauthenticated) is caught by the safety checkers, and a
 * harmless one by attacker_inert.  docs/SIMULATOR.md, "The attacker". */
#include <string.h>

#include "lines.h"
#include "node.h"
#include "seeds.h"
#include "sim.h"

#ifndef DSM_MUTANTS
#error "test-attacker links the mutant core (dsm_sim_mutant_dep)"
#endif

static const char *const attack_files[] = {
  "attack-forge-proposal.json",
  "attack-replay-traffic.json",
  "attack-spoof-stranger.json",
};

/* Seeds each bundled attack scenario runs over, besides its own (a fifth
 * where seeds are few: tests/seeds.h). */
#define SEEDS dsm_test_seeds (20)

static DsmScenario *
scenario_from_file (const char *name)
{
  g_autofree char *path = g_build_filename (DSM_SCENARIOS_DIR, name, NULL);
  g_autoptr(GError) error = NULL;
  DsmScenario *scenario = dsm_scenario_new_from_file (path, &error);

  g_assert_no_error (error);
  return scenario;
}

typedef struct {
  DsmSimReport report;
  GString *trace;
} Run;

static void
run_clear (Run *run)
{
  dsm_sim_report_clear (&run->report);
  if (run->trace != NULL)
    g_string_free (run->trace, TRUE);
}

static void
run_with (const DsmScenario *scenario, guint64 seed, DsmMutant mutant, gboolean disarmed, Run *run)
{
  DsmSimOptions options = { .has_seed = TRUE, .seed = seed, .mutant = mutant, .disarmed = disarmed };

  memset (run, 0, sizeof *run);
  run->trace = options.trace = g_string_new (NULL);
  g_autoptr(DsmSim) sim = dsm_sim_new (scenario, &options);
  dsm_sim_run (sim, &run->report);
  if (!run->report.ok)
    g_test_message ("%s seed %" G_GUINT64_FORMAT " mutant %s: %s: %s", scenario->name, seed,
                    dsm_mutant_to_string (mutant), dsm_invariant_to_string (run->report.failed_invariant),
                    run->report.failure);
}

/* @trace without its attack lines. */
static char *
core_lines (const GString *trace)
{
  g_auto(GStrv) lines = test_lines_split (trace->str);
  GString *out = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    if (strstr (lines[i], "\"ev\":\"attack\"") == NULL)
      g_string_append_printf (out, "%s\n", lines[i]);
  return g_string_free (out, FALSE);
}

static guint
count_lines (const GString *trace, const char *needle)
{
  guint n = 0;

  for (const char *p = trace->str; (p = strstr (p, needle)) != NULL; p++)
    n++;
  return n;
}

static void
test_scenarios_over_seeds (void)
{
  g_test_summary ("Every bundled attack scenario holds every check, attacker_inert included, over "
                  "many seeds: each injection is refused and counted, none reaches a core.");
  for (guint f = 0; f < G_N_ELEMENTS (attack_files); f++)
    {
      g_autoptr(DsmScenario) scenario = scenario_from_file (attack_files[f]);
      for (guint64 seed = 0; seed <= SEEDS; seed++)
        {
          Run run;
          run_with (scenario, seed == 0 ? scenario->seed : seed, DSM_MUTANT_NONE, FALSE, &run);
          g_assert_true (run.report.ok);
          g_assert_cmpuint (run.report.attacks_accepted, ==, 0);
          g_assert_cmpuint (run.report.attacks_refused, >, 0);
          g_assert_cmpuint (run.report.attacks_refused, ==, run.report.attacks_injected);
          g_assert_cmpuint (count_lines (run.trace, "\"verdict\":\"refused\""), ==, run.report.attacks_refused);
          run_clear (&run);
        }
    }
}

static void
test_refusal_reasons (void)
{
  static const struct {
    const char *file;
    const char *why;
  } cases[] = {
    { "attack-forge-proposal.json", "\"why\":\"mac\"" },
    { "attack-replay-traffic.json", "\"why\":\"mac\"" },
    { "attack-spoof-stranger.json", "\"why\":\"auth\"" },
    { "attack-spoof-stranger.json", "\"why\":\"wrong_cluster\"" },
  };

  g_test_summary ("Each attack is refused for the reason net/ gives: a forged or replayed frame "
                  "fails the MAC, a stranger fails the handshake's proof or names another cluster.");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(DsmScenario) scenario = scenario_from_file (cases[i].file);
      Run run;
      run_with (scenario, scenario->seed, DSM_MUTANT_NONE, FALSE, &run);
      g_assert_true (run.report.ok);
      g_assert_cmpuint (count_lines (run.trace, cases[i].why), >, 0);
      run_clear (&run);
    }
}

static void
test_twin_and_determinism (void)
{
  g_test_summary ("An attacked run is byte-identical for its seed, and without its attack lines "
                  "it is its attack-free twin's trace: the attacker draws from its own stream.");
  for (guint f = 0; f < G_N_ELEMENTS (attack_files); f++)
    {
      g_autoptr(DsmScenario) scenario = scenario_from_file (attack_files[f]);
      Run a, b, twin;
      run_with (scenario, 5, DSM_MUTANT_NONE, FALSE, &a);
      run_with (scenario, 5, DSM_MUTANT_NONE, FALSE, &b);
      run_with (scenario, 5, DSM_MUTANT_NONE, TRUE, &twin);
      g_assert_cmpstr (a.trace->str, ==, b.trace->str);
      g_assert_cmpuint (count_lines (a.trace, "\"ev\":\"attack\""), >, 0);
      g_assert_cmpuint (count_lines (twin.trace, "\"ev\":\"attack\""), ==, 0);
      g_assert_cmpuint (twin.report.attacks_injected, ==, 0);
      g_autofree char *core = core_lines (a.trace);
      g_assert_cmpstr (core, ==, twin.trace->str);
      run_clear (&a);
      run_clear (&b);
      run_clear (&twin);
    }
}

static gboolean
is_safety (DsmInvariant invariant)
{
  return invariant == DSM_INVARIANT_AGREEMENT || invariant == DSM_INVARIANT_VALIDITY
         || invariant == DSM_INVARIANT_STATE_MACHINE_SAFETY || invariant == DSM_INVARIANT_DURABILITY
         || invariant == DSM_INVARIANT_LINEARIZABILITY || invariant == DSM_INVARIANT_ELECTION_SAFETY
         || invariant == DSM_INVARIANT_QUORUMS;
}

static void
test_mutant_caught_by_safety (void)
{
  static const char *const files[] = { "attack-forge-proposal.json", "attack-spoof-stranger.json" };

  g_test_summary ("With links that trust unauthenticated frames, the forged Proposal at epoch+100 "
                  "(forged, or from a stranger) is caught as an invented entry by validity on every "
                  "seed tried, at the first forged entry applied.  Without that check the run still "
                  "fails on every seed, a safety checker on at least nine of ten, agreement most "
                  "often; on the rest the forged entries became every node's log, which only the "
                  "scenario's final state showed before validity looked for inventions.");
  for (guint f = 0; f < G_N_ELEMENTS (files); f++)
    {
      g_autoptr(DsmScenario) scenario = scenario_from_file (files[f]);
      /* Only safety may catch it: not the script's expectations, not the
       * twin comparison. */
      scenario->expect.invariants &= ~((1u << DSM_INVARIANT_EXPECTATIONS) | (1u << DSM_INVARIANT_ATTACKER_INERT));
      for (guint64 seed = 1; seed <= 10; seed++)
        {
          Run run;
          run_with (scenario, seed, DSM_MUTANT_TRUST_UNAUTHENTICATED, FALSE, &run);
          g_assert_false (run.report.ok);
          g_assert_cmpint (run.report.failed_invariant, ==, DSM_INVARIANT_VALIDITY);
          g_assert_nonnull (strstr (run.report.failure, "was never submitted: the entry was invented"));
          g_assert_cmpuint (run.report.attacks_accepted, >, 0);
          run_clear (&run);
        }

      /* The other checkers, on their own (and the script's expectations). */
      guint agreement = 0, safety = 0;
      scenario->expect.invariants |= 1u << DSM_INVARIANT_EXPECTATIONS;
      scenario->expect.invariants &= ~(1u << DSM_INVARIANT_VALIDITY);
      for (guint64 seed = 1; seed <= 10; seed++)
        {
          Run run;
          run_with (scenario, seed, DSM_MUTANT_TRUST_UNAUTHENTICATED, FALSE, &run);
          g_test_message ("%s seed %" G_GUINT64_FORMAT ": %s", files[f], seed,
                          run.report.ok ? "ok" : dsm_invariant_to_string (run.report.failed_invariant));
          g_assert_false (run.report.ok);
          g_assert_true (is_safety (run.report.failed_invariant)
                         || run.report.failed_invariant == DSM_INVARIANT_EXPECTATIONS);
          g_assert_cmpuint (run.report.attacks_accepted, >, 0);
          safety += is_safety (run.report.failed_invariant);
          agreement += run.report.failed_invariant == DSM_INVARIANT_AGREEMENT;
          run_clear (&run);
        }
      g_assert_cmpuint (safety, >=, 9);
      g_assert_cmpuint (agreement, >=, 5);
    }
}

static void
test_inert_catches_harmless_injection (void)
{
  g_test_summary ("A replayed frame the mutant links let through breaks no safety rule (a duplicate "
                  "is harmless to the protocol), yet attacker_inert sees the run leave its twin.");
  g_autoptr(DsmScenario) scenario = scenario_from_file ("attack-replay-traffic.json");
  scenario->expect.invariants &= ~(1u << DSM_INVARIANT_EXPECTATIONS);
  for (guint64 seed = 1; seed <= 5; seed++)
    {
      Run run;
      run_with (scenario, seed, DSM_MUTANT_TRUST_UNAUTHENTICATED, FALSE, &run);
      g_assert_false (run.report.ok);
      g_assert_cmpint (run.report.failed_invariant, ==, DSM_INVARIANT_ATTACKER_INERT);
      g_assert_cmpuint (run.report.attacks_accepted, >, 0);
      g_assert_nonnull (strstr (run.report.failure, "differs from the attack-free twin's"));
      run_clear (&run);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sim/attacker/scenarios-over-seeds", test_scenarios_over_seeds);
  g_test_add_func ("/sim/attacker/refusal-reasons", test_refusal_reasons);
  g_test_add_func ("/sim/attacker/twin-and-determinism", test_twin_and_determinism);
  g_test_add_func ("/sim/attacker/mutant-caught-by-safety", test_mutant_caught_by_safety);
  g_test_add_func ("/sim/attacker/inert-catches-harmless-injection", test_inert_catches_harmless_injection);
  return g_test_run ();
}
