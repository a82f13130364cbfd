/* tests/core/test-metrics.c: the Prometheus text rendering of a node's
 * counters (exposition format 0.0.4), which net/ serves on /metrics. */
#include <glib.h>
#include <string.h>

#include "metrics.h"

/* Every line is a comment (# HELP / # TYPE) or `name{labels} value`. */
static void
assert_exposition_format (const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr(GRegex) sample = g_regex_new ("^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\""
                                          "(,[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\")*\\})? [-+0-9.eE]+(Inf)?$",
                                          0, 0, NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      if (line[0] == '\0')
        continue;
      if (g_str_has_prefix (line, "# HELP ") || g_str_has_prefix (line, "# TYPE "))
        continue;
      if (!g_regex_match (sample, line, 0, NULL))
        g_error ("not an exposition line: %s", line);
    }
}

static void
test_render_counters (void)
{
  DsmMetrics m = { 0 };
  g_autoptr(GString) out = g_string_new (NULL);

  g_test_summary ("Counters render with HELP and TYPE lines and a node label, one sample "
                  "per message type or reason.");
  m.messages_sent[DSM_MSG_PROPOSAL] = 7;
  m.rejects_sent[DSM_REJECT_LOG_MISMATCH] = 2;
  m.retries = 3;
  m.node_count = 5;
  m.role = DSM_ROLE_LEADER;
  dsm_metrics_render (&m, 4, out);
  assert_exposition_format (out->str);
  g_assert_nonnull (strstr (out->str, "# TYPE dsm_messages_sent_total counter\n"));
  g_assert_nonnull (strstr (out->str, "dsm_messages_sent_total{node=\"4\",type=\"proposal\"} 7\n"));
  g_assert_nonnull (strstr (out->str, "dsm_rejects_sent_total{node=\"4\",reason=\"log_mismatch\"} 2\n"));
  g_assert_nonnull (strstr (out->str, "dsm_retries_total{node=\"4\"} 3\n"));
  g_assert_nonnull (strstr (out->str, "dsm_nodes{node=\"4\"} 5\n"));
  g_assert_nonnull (strstr (out->str, "dsm_role{node=\"4\",role=\"leader\"} 1\n"));
  g_assert_nonnull (strstr (out->str, "dsm_role{node=\"4\",role=\"follower\"} 0\n"));
}

static void
test_histogram_cumulative (void)
{
  DsmMetrics m = { 0 };
  g_autoptr(GString) out = g_string_new (NULL);

  g_test_summary ("The commit latency histogram's buckets are cumulative, in seconds, end with "
                  "+Inf equal to the count, and the sum adds the observations.");
  dsm_histogram_observe (&m.commit_latency, 0.5);
  dsm_histogram_observe (&m.commit_latency, 3);
  dsm_histogram_observe (&m.commit_latency, 3);
  dsm_histogram_observe (&m.commit_latency, 100000);
  dsm_metrics_render (&m, 1, out);
  assert_exposition_format (out->str);
  g_assert_nonnull (strstr (out->str, "# TYPE dsm_commit_latency_seconds histogram\n"));
  g_assert_nonnull (strstr (out->str, "dsm_commit_latency_seconds_bucket{node=\"1\",le=\"0.001\"} 1\n"));
  g_assert_nonnull (strstr (out->str, "dsm_commit_latency_seconds_bucket{node=\"1\",le=\"0.005\"} 3\n"));
  g_assert_nonnull (strstr (out->str, "dsm_commit_latency_seconds_bucket{node=\"1\",le=\"30\"} 3\n"));
  g_assert_nonnull (strstr (out->str, "dsm_commit_latency_seconds_bucket{node=\"1\",le=\"+Inf\"} 4\n"));
  g_assert_nonnull (strstr (out->str, "dsm_commit_latency_seconds_count{node=\"1\"} 4\n"));
  g_assert_nonnull (strstr (out->str, "dsm_commit_latency_seconds_sum{node=\"1\"} 100.0065"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/metrics/render-counters", test_render_counters);
  g_test_add_func ("/core/metrics/histogram-cumulative", test_histogram_cumulative);
  return g_test_run ();
}
