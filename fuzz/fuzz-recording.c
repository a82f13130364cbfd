/* fuzz/fuzz-recording.c: a recording of a real node (core/recording.c), as
 * `dsm-sim replay-node` reads it and feeds it to a fresh core
 * (sim/replay-node.c).  A recording is a file people pass around: its
 * header builds a node from any config and durable state, and every line
 * after it is an input to that core, so the replay must refuse whatever
 * the core would assert on (a host's contract broken) with a GError.
 *
 * Input: the recording as it is. */
#include "fuzz.h"

#include "replay-node.h"

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  dsm_fuzz_setup ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GString) trace = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  DsmReplayNodeReport report = { 0 };

  gboolean read = dsm_replay_node ((const char *) data, size, trace, &report, &error);
  /* A recording that does not read says why; one that reads is identical
   * up to its end or names the line it diverged at. */
  g_assert (read == (error == NULL));
  if (read)
    {
      g_assert (report.identical == (report.diverged == NULL));
      g_assert (report.drains <= report.inputs);
      if (!report.identical)
        g_assert_cmpuint (report.diverged_line, >, 1);
    }
  dsm_replay_node_report_clear (&report);
  return 0;
}
