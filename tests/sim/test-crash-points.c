/* tests/sim/test-crash-points.c: a node crashes at every millisecond of
 * the persist path of one command (client hop, append, write, fsync,
 * persisted, Ack, commit, apply, reply), once for the leader and once for
 * a follower, with and without a torn last write; every run must keep
 * every invariant (docs/CHECKERS.md), so no instant of the path loses an
 * acknowledged commit or lets a reply run ahead of the disk. */
#include <glib.h>

#include "sim.h"

/* Long enough to cover the command's whole path at these latencies. */
#define CRASH_POINTS_MS 40

static DsmScenario *
crash_point_scenario (guint offset_ms, const char *victim, gboolean torn)
{
  /* Armed on every node: only the one that crashes is affected. */
  const char *fault = torn ? "{\"do\":\"disk\",\"node\":\"all\",\"fault\":\"torn_write\"}," : "";
  g_autofree char *text = g_strdup_printf (
    "{\"name\":\"crash-point-%s-%u%s\",\"summary\":\"Crash the %s %u ms into a command.\",\"seed\":5,\"nodes\":3,"
    "\"network\":{\"latency_ms_min\":2,\"latency_ms_max\":4},"
    "\"disk\":{\"fsync_ms_min\":5,\"fsync_ms_max\":5},"
    "\"steps\":["
    "{\"await\":\"leader\",\"within_ms\":3000},"
    "{\"do\":\"propose\",\"node\":\"leader\",\"machine\":\"job\",\"to\":\"Running\",\"client_id\":\"c\",\"seq\":1},"
    "%s"
    "{\"do\":\"crash\",\"node\":\"%s\",\"after_ms\":%u},"
    "{\"do\":\"restart\",\"node\":\"all\",\"after_ms\":300},"
    "{\"await\":\"leader\",\"within_ms\":3000},"
    "{\"do\":\"propose\",\"node\":\"leader\",\"machine\":\"job\",\"to\":\"Running\",\"client_id\":\"c\",\"seq\":1,\"expect\":\"ok\"},"
    "{\"await\":\"caught_up\",\"within_ms\":3000},"
    "{\"expect\":\"state\",\"machine\":\"job\",\"state\":\"Running\",\"on\":\"all\"}"
    "]}",
    victim, offset_ms, torn ? "-torn" : "", victim, offset_ms, fault, victim, offset_ms);
  g_autoptr(GError) error = NULL;
  DsmScenario *scenario = dsm_scenario_new_from_data (text, -1, "crash-point", &error);
  g_assert_no_error (error);
  return scenario;
}

static void
run_crash_points (const char *victim, gboolean torn)
{
  for (guint offset = 0; offset <= CRASH_POINTS_MS; offset++)
    {
      g_autoptr(DsmScenario) scenario = crash_point_scenario (offset, victim, torn);
      g_autoptr(DsmSim) sim = dsm_sim_new (scenario, NULL);
      DsmSimReport report = { 0 };
      dsm_sim_run (sim, &report);
      if (!report.ok)
        g_error ("%s crashed %u ms in%s: %s failed at t=%" G_GUINT64_FORMAT ": %s",
                 victim, offset, torn ? " (torn write)" : "", dsm_invariant_to_string (report.failed_invariant),
                 report.failed_at_ms, report.failure);
      g_assert_cmpuint (report.crashes, ==, 1);
      dsm_sim_report_clear (&report);
    }
}

static void
test_leader (void)
{
  g_test_summary ("The leader crashing at any millisecond of a command's persist path loses "
                  "nothing acknowledged; the command's retry resolves it exactly once.");
  run_crash_points ("leader", FALSE);
}

static void
test_follower (void)
{
  g_test_summary ("A follower crashing at any millisecond of the path: the same.");
  run_crash_points ("follower", FALSE);
}

static void
test_leader_torn (void)
{
  g_test_summary ("The leader crashing mid-write at any instant, its last unsynced write torn: "
                  "recovery drops the torn tail and nothing acknowledged is lost.");
  run_crash_points ("leader", TRUE);
}

static void
test_follower_torn (void)
{
  g_test_summary ("A follower crashing mid-write with a torn last write: the same.");
  run_crash_points ("follower", TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sim/crash-points/leader", test_leader);
  g_test_add_func ("/sim/crash-points/follower", test_follower);
  g_test_add_func ("/sim/crash-points/leader-torn", test_leader_torn);
  g_test_add_func ("/sim/crash-points/follower-torn", test_follower_torn);
  return g_test_run ();
}
