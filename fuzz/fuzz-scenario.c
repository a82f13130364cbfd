/* fuzz/fuzz-scenario.c: scenario files (scenario/scenario-read.c and the
 * config it lays over the defaults).  A scenario that parses must write
 * back (canonical JSON) to text that parses to a scenario writing the
 * same text, and copy to one that writes it too. */
#include "fuzz.h"

#include "scenario/scenario.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  dsm_fuzz_setup ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmScenario) scenario = dsm_scenario_new_from_data ((const char *) data, (gssize) size, "fuzz",
                                                                &error);

  if (scenario == NULL)
    {
      g_assert_nonnull (error);
      return 0;
    }
  g_autofree char *text = dsm_scenario_to_json (scenario);
  g_autoptr(DsmScenario) again = dsm_scenario_new_from_data (text, -1, "fuzz", &error);
  g_assert_no_error (error);
  g_autofree char *text_again = dsm_scenario_to_json (again);
  g_assert_cmpstr (text, ==, text_again);
  g_autoptr(DsmScenario) copy = dsm_scenario_copy (scenario);
  g_autofree char *text_copy = dsm_scenario_to_json (copy);
  g_assert_cmpstr (text, ==, text_copy);
  return 0;
}
