/* tests/real/test-real.c: bundled scenarios on real dsm-node processes,
 * as `dsm-real run` runs them: each ends with a verdict of its own and a
 * history dsm-check passes (and fails once a violation is planted in
 * it); definitions and leadership transfers go through the admin API; a
 * torn tail is dropped by the killed node's recovery; a scenario
 * whose expectation cannot hold fails with exit 1; skipped faults are
 * named with their reason; and no node outlives the run, whether it ends
 * normally, by failing, at its bound, by SIGTERM or by SIGKILL of
 * dsm-real itself, with or without a node stopped by a pause.  meson passes DSM_REAL, DSM_SIM and DSM_CHECK. */
#include <signal.h>
#include <string.h>

#include <glib/gstdio.h>

#include "tool.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const char *dsm_real;

static char *
scenario_path (const char *name)
{
  return g_build_filename (DSM_SCENARIOS_DIR, name, NULL);
}

/* The pids of processes whose command line mentions @needle. */
static GArray *
processes_mentioning (const char *needle)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;

  while (proc != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      guint64 pid = 0;
      if (!g_ascii_string_to_unsigned (name, 10, 1, G_MAXUINT, &pid, NULL))
        continue;
      g_autofree char *path = g_strdup_printf ("/proc/%s/cmdline", name);
      g_autofree char *cmdline = NULL;
      gsize length = 0;
      if (!g_file_get_contents (path, &cmdline, &length, NULL))
        continue;
      for (gsize i = 0; i + 1 < length; i++)
        if (cmdline[i] == '\0')
          cmdline[i] = ' ';
      if (strstr (cmdline, needle) != NULL && strstr (cmdline, "dsm-node") != NULL)
        {
          guint p = (guint) pid;
          g_array_append_val (pids, p);
        }
    }
  return pids;
}

/* Waits (a bounded poll) until no dsm-node mentions @dir. */
static gboolean
nodes_gone (const char *dir)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GArray) pids = processes_mentioning (dir);
      if (pids->len == 0)
        return TRUE;
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_usleep (20 * 1000);
    }
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
    }
  g_remove (path);
}

/* Runs @name on real processes (in @dir, kept, when not NULL), expects a
 * verdict of ok and @expected_line among the step reports, and checks the
 * history it wrote with dsm-check.  Returns: (transfer full): the history. */
static char *
run_scenario_in (const char *name, const char *expected_line, const char *dir)
{
  g_autoptr(TmpDir) tmp = tmp_dir_new ();
  g_autofree char *path = scenario_path (name);
  g_autofree char *history = g_build_filename (tmp, "h.jsonl", NULL);
  g_autoptr(GError) error = NULL;
  char *text = NULL;

  Result r = dir != NULL ? run_cmd (NULL, dsm_real, "run", path, "--history", history, "--dir", dir, NULL)
                         : run_cmd (NULL, dsm_real, "run", path, "--history", history, NULL);
  assert_status (&r, EXIT_OK);
  assert_contains (r.out, " ok ");
  assert_contains (r.err, "verdict: ok");
  if (expected_line != NULL)
    assert_contains (r.err, expected_line);
  Result check = run_cmd (NULL, g_getenv ("DSM_CHECK"), history, NULL);
  assert_status (&check, EXIT_OK);
  assert_contains (check.out, "final states: the ");
  result_clear (&r);
  result_clear (&check);
  g_assert_true (g_file_get_contents (history, &text, NULL, &error));
  g_assert_no_error (error);
  g_remove (history);
  return text;
}

static void
run_scenario_ok (const char *name, const char *expected_line)
{
  g_free (run_scenario_in (name, expected_line, NULL));
}

static void
test_follower_crash (void)
{
  g_test_summary ("follower-crash on real processes: a follower SIGKILLed and restarted; "
                  "commits go on, its data directory recovers, and the history is linearizable.");
  run_scenario_ok ("follower-crash.json", "(crash): node ");
}

static void
test_minority_partition (void)
{
  g_test_summary ("minority-partition-old-leader on real processes: the proxy isolates the "
                  "old leader, which cannot commit; the rest elect another; the heal loses "
                  "nothing acknowledged.");
  run_scenario_ok ("minority-partition-old-leader.json", "(isolate): node ");
}

static void
test_torn_write (void)
{
  g_autofree char *dir = g_dir_make_tmp ("dsm-real-test-XXXXXX", NULL);

  g_test_summary ("disk-torn-write on real processes: every node SIGKILLed with a torn tail "
                  "appended to its last segment; each recovers, saying it dropped the tail, and "
                  "nothing acknowledged is lost.");
  g_free (run_scenario_in ("disk-torn-write.json", "-byte record", dir));
  for (guint id = 1; id <= 3; id++)
    {
      g_autofree char *log = g_strdup_printf ("%s/node%u.log", dir, id);
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
      /* storage/wal.c's warning when recovery cuts a torn tail off. */
      assert_contains (text, "dropped a torn tail of ");
    }
  /* A run that passed leaves no node behind either. */
  g_assert_true (nodes_gone (dir));
  remove_tree (dir);
}

static void
test_paused_leader (void)
{
  g_test_summary ("paused-leader on real processes: the leader is SIGSTOPped past the election "
                  "timeout, the others elect another, and when SIGCONT resumes it, it steps down "
                  "and catches up.");
  run_scenario_ok ("paused-leader.json", "(pause): node ");
}

static void
test_unknown_outcome (void)
{
  g_test_summary ("consensus-timeout-unknown-outcome on real processes: with no quorum a "
                  "proposal is answered 503 outcome unknown, recorded as unknown in the history "
                  "dsm-check passes, and the compare-and-set retry resolves it.");
  g_autofree char *history = run_scenario_in ("consensus-timeout-unknown-outcome.json", NULL, NULL);
  assert_contains (history, "\"result\":\"unknown\"");
}

static void
test_compare_and_set (void)
{
  g_test_summary ("compare-and-set on real processes: clients read-modify-write two machines with "
                  "if_revision and payloads over HTTP across a leader kill; writers that lost their race "
                  "are refused naming the current revision, and dsm-check judges the history with its "
                  "model of data and revisions.");
  g_autofree char *history = run_scenario_in ("compare-and-set.json", "(crash): node ", NULL);
  /* Both halves of the race happened: won and lost compare-and-sets. */
  assert_contains (history, "\"result\":\"ok\",\"state\":");
  assert_contains (history, "\"if_revision\":");
  assert_contains (history, "\"reason\":\"invalid_transition\"");
  assert_contains (history, "\"data\":\"{\\\"");
}

static void
test_define (void)
{
  g_test_summary ("define-through-the-log on real processes: the definition goes through the "
                  "admin API (PUT /v1/definitions/door), a transition naming it works, and the "
                  "history's header carries it, so dsm-check judges the door's operations alone.");
  g_autofree char *history = run_scenario_in ("define-through-the-log.json", "(define): door defined after ", NULL);
  assert_contains (history, "\"definitions\":[{\"name\":\"door\"");
}

static void
test_transfer (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *path = g_build_filename (dir, "transfer.json", NULL);
  g_autoptr(GError) error = NULL;
  const char *text =
    "{ \"summary\": \"A leadership transfer on real processes.\", \"seed\": 1, \"nodes\": 3,\n"
    "  \"steps\": [ { \"await\": \"leader\", \"within_ms\": 5000 },\n"
    "    { \"do\": \"transfer_leader\", \"to\": \"follower\" },\n"
    "    { \"do\": \"wait\", \"ms\": 500 } ],\n"
    "  \"expect\": { \"min_elections\": 2 } }\n";

  g_test_summary ("A transfer_leader step on real processes goes through the admin API (POST "
                  "/v1/leader/transfer) and the chosen follower wins an election of its own.");
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  Result r = run_cmd (NULL, dsm_real, "run", path, NULL);
  assert_status (&r, EXIT_OK);
  assert_contains (r.err, "steps[1] (transfer_leader): node ");
  assert_contains (r.err, " hands over: {\"transfer\":\"started\"");
  result_clear (&r);
  g_remove (path);
}

static void
test_planted_violation (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *history = run_scenario_in ("follower-crash.json", NULL, NULL);
  g_autoptr(GString) planted = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  const char *finals = strstr (history, "{\"final\":");

  g_test_summary ("A history recorded from real processes, with one read planted after the "
                  "run that saw job back in Running after Stopped was acknowledged: dsm-check "
                  "finds it (exit 1), and the planted read is in the smallest window.  The same "
                  "history as recorded passes dsm-check --complete, and with a machine no operation "
                  "named planted in every node's final states fails it, as validity.");
  g_assert_nonnull (finals);
  g_string_append_len (planted, history, finals - history);
  g_string_append (planted, "{\"id\":1000000,\"client\":99,\"seq\":0,\"op\":\"read\",\"machine\":\"job\","
                            "\"result\":\"ok\",\"state\":\"Running\",\"index\":0,"
                            "\"invoke_ms\":100000000,\"complete_ms\":100000001}\n");
  g_string_append (planted, finals);
  g_autofree char *path = g_build_filename (dir, "planted.jsonl", NULL);
  g_assert_true (g_file_set_contents (path, planted->str, -1, &error));
  g_assert_no_error (error);
  Result r = run_cmd (NULL, g_getenv ("DSM_CHECK"), path, NULL);
  assert_status (&r, EXIT_FAILED);
  assert_contains (r.out, "VIOLATION on machine \"job\"");
  assert_contains (r.out, "op 1000000 (client 99, 100000000-100000001 ms): read -> ok, state Running");
  assert_contains (r.out, "verdict: violation");
  result_clear (&r);

  g_autofree char *recorded = g_build_filename (dir, "recorded.jsonl", NULL);
  g_assert_true (g_file_set_contents (recorded, history, -1, &error));
  r = run_cmd (NULL, g_getenv ("DSM_CHECK"), "--complete", recorded, NULL);
  assert_status (&r, EXIT_OK);
  result_clear (&r);
  g_auto (GStrv) parts = g_strsplit (history, "\"machines\":{", -1);
  g_assert_cmpuint (g_strv_length (parts), >=, 2);
  g_autofree char *invented = g_strjoinv ("\"machines\":{\"forged\":\"Running\",", parts);
  g_autofree char *invented_path = g_build_filename (dir, "invented.jsonl", NULL);
  g_assert_true (g_file_set_contents (invented_path, invented, -1, &error));
  r = run_cmd (NULL, g_getenv ("DSM_CHECK"), "--complete", invented_path, NULL);
  assert_status (&r, EXIT_FAILED);
  assert_contains (r.out, "validity: VIOLATION: node ");
  assert_contains (r.out, "holds machine \"forged\", which no operation of the history names");
  result_clear (&r);
}

/* scenarios/follower-crash.json, with every node serving before the
 * crash: "await leader" needs only a majority, and a follower still
 * starting (under load, or under the sanitizers) could be killed before
 * it opened its recording, leaving no first life to replay.  A node
 * opens its recording before it serves (net/host.c), and caught_up
 * waits until every running node answers. */
#define RECORDED_FOLLOWER_CRASH \
  "{ \"summary\": \"follower-crash, every node recording before the crash\", \"seed\": 3, \"nodes\": 3,\n" \
  "  \"steps\": [\n" \
  "    { \"await\": \"leader\", \"within_ms\": 2000 },\n" \
  "    { \"await\": \"caught_up\", \"within_ms\": 5000 },\n" \
  "    { \"do\": \"crash\", \"node\": \"follower\" },\n" \
  "    { \"do\": \"propose\", \"node\": \"leader\", \"machine\": \"job\", \"to\": \"Running\", \"expect\": \"ok\" },\n" \
  "    { \"do\": \"propose\", \"node\": \"random\", \"machine\": \"job\", \"to\": \"Stopped\", \"expect\": \"ok\" },\n" \
  "    { \"do\": \"wait\", \"ms\": 2000 },\n" \
  "    { \"expect\": \"leader\" },\n" \
  "    { \"do\": \"restart\", \"node\": \"all\" },\n" \
  "    { \"await\": \"caught_up\", \"within_ms\": 2000 },\n" \
  "    { \"expect\": \"state\", \"machine\": \"job\", \"state\": \"Stopped\", \"on\": \"all\" } ],\n" \
  "  \"expect\": { \"max_elections\": 1, \"final_states\": { \"job\": \"Stopped\" } } }\n"

static void
test_record_replay (void)
{
  g_autofree char *dir = g_dir_make_tmp ("dsm-real-test-XXXXXX", NULL);
  g_autoptr(TmpDir) tmp = tmp_dir_new ();
  g_autofree char *path = g_build_filename (tmp, "recorded-follower-crash.json", NULL);
  g_autoptr(GDir) d = NULL;
  const char *name;
  guint replayed = 0;

  g_test_summary ("Every node of a real run records its core's inputs (dsm-node --record); each "
                  "recording, the killed node's cut short by SIGKILL and its restart's included, "
                  "replays through a fresh core with identical outputs at every drain; a recording "
                  "with one input changed diverges, and one whose start comes after its first "
                  "message is refused.");
  g_assert_true (g_file_set_contents (path, RECORDED_FOLLOWER_CRASH, -1, NULL));
  Result r = run_cmd (NULL, dsm_real, "run", path, "--dir", dir, "--record", "-q", NULL);
  assert_status (&r, EXIT_OK);
  result_clear (&r);
  d = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (strstr (name, ".rec") == NULL)
        continue;
      g_autofree char *recording = g_build_filename (dir, name, NULL);
      Result replay = run_cmd (NULL, g_getenv ("DSM_SIM"), "replay-node", recording, NULL);
      assert_status (&replay, EXIT_OK);
      assert_contains (replay.out, "identical: ");
      result_clear (&replay);
      replayed++;
    }
  /* Three nodes, and the crashed follower's first life rotated aside. */
  g_assert_cmpuint (replayed, ==, 4);

  /* One client command arriving at another time: the core's outputs
   * carry its times (a reply's latency, deadlines), so the replay must
   * notice. */
  g_autofree char *text = NULL;
  char *submit = NULL;
  g_autoptr(GError) error = NULL;
  for (guint id = 1; id <= 3 && submit == NULL; id++)
    {
      g_autofree char *recording = g_strdup_printf ("%s/node%u.rec", dir, id);
      g_clear_pointer (&text, g_free);
      g_assert_true (g_file_get_contents (recording, &text, NULL, &error));
      submit = strstr (text, "{\"i\":\"submit\",\"t\":");
    }
  /* The script sent two proposals: some node took them. */
  g_assert_nonnull (submit);
  char *digit = submit + strlen ("{\"i\":\"submit\",\"t\":");
  *digit = *digit == '9' ? '8' : *digit + 1;
  g_autofree char *tampered = g_build_filename (dir, "tampered.rec", NULL);
  g_assert_true (g_file_set_contents (tampered, text, -1, &error));
  Result diverged = run_cmd (NULL, g_getenv ("DSM_SIM"), "replay-node", tampered, NULL);
  assert_status (&diverged, EXIT_FAILED);
  assert_contains (diverged.out, "DIVERGED after ");
  result_clear (&diverged);

  /* Every life began with a start (its election timer counted from
   * there, not from the load); one moved after the first step is refused,
   * not fed to a core that asserts it comes first. */
  g_clear_pointer (&text, g_free);
  g_autofree char *node1 = g_build_filename (dir, "node1.rec", NULL);
  g_assert_true (g_file_get_contents (node1, &text, NULL, &error));
  char *start = strstr (text, "\n{\"i\":\"start\",\"t\":");
  g_assert_nonnull (start);
  char *start_end = strchr (start + 1, '\n');
  g_assert_nonnull (start_end);
  /* A follower that hears its leader in time may never tick: its first
   * timed input is a step. */
  char *tick = strstr (start_end, "\n{\"i\":\"step\",\"t\":");
  g_assert_nonnull (tick);
  char *tick_end = strchr (tick + 1, '\n');
  g_assert_nonnull (tick_end);
  g_autoptr(GString) moved = g_string_new_len (text, start - text);
  g_string_append_len (moved, start_end, tick_end - start_end);
  g_string_append_len (moved, start, start_end - start);
  g_string_append (moved, tick_end);
  g_autofree char *late = g_build_filename (dir, "late-start.rec", NULL);
  g_assert_true (g_file_set_contents (late, moved->str, (gssize) moved->len, &error));
  Result refused = run_cmd (NULL, g_getenv ("DSM_SIM"), "replay-node", late, NULL);
  assert_status (&refused, EXIT_USAGE);
  assert_contains (refused.err, "start: after the node's first timed input");
  result_clear (&refused);
  remove_tree (dir);
}

static void
test_expectation_fails (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *path = g_build_filename (dir, "wrong.json", NULL);
  g_autoptr(GError) error = NULL;
  const char *text =
    "{ \"summary\": \"A committed transition reported in a state it is not in.\", \"seed\": 1, \"nodes\": 3,\n"
    "  \"steps\": [ { \"await\": \"leader\", \"within_ms\": 5000 },\n"
    "    { \"do\": \"propose\", \"machine\": \"job\", \"to\": \"Running\", \"expect\": \"ok\" },\n"
    "    { \"expect\": \"state\", \"machine\": \"job\", \"state\": \"Stopped\" } ] }\n";

  g_autofree char *work = g_dir_make_tmp ("dsm-real-test-XXXXXX", NULL);

  g_test_summary ("A scenario whose expectation does not hold on real nodes exits 1 naming the "
                  "step, and leaves no node behind.");
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  Result r = run_cmd (NULL, dsm_real, "run", path, "-q", "--dir", work, NULL);
  assert_status (&r, EXIT_FAILED);
  assert_contains (r.out, "FAILED wrong: expectations at t=");
  assert_contains (r.out, "steps[2] (expect): does not hold: node ");
  result_clear (&r);
  g_assert_true (nodes_gone (work));
  remove_tree (work);
  g_remove (path);
}

static void
test_skips_are_stated (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *path = g_build_filename (dir, "skips.json", NULL);
  g_autoptr(GError) error = NULL;
  const char *text =
    "{ \"summary\": \"Faults only a simulator can make are skipped.\", \"seed\": 1, \"nodes\": 3,\n"
    "  \"network\": { \"duplicate_percent\": 5, \"reorder_percent\": 5 },\n"
    "  \"steps\": [ { \"await\": \"leader\", \"within_ms\": 5000 },\n"
    "    { \"do\": \"skew\", \"node\": 2, \"rate\": 2.0 },\n"
    "    { \"do\": \"duplicate\", \"percent\": 10, \"for_ms\": 100 },\n"
    "    { \"do\": \"reorder\", \"percent\": 10, \"ms\": 5, \"for_ms\": 100 },\n"
    "    { \"do\": \"disk\", \"node\": 1, \"fault\": \"lost_fsync\" },\n"
    "    { \"do\": \"propose\", \"machine\": \"job\", \"to\": \"Running\", \"expect\": \"ok\" } ] }\n";

  g_test_summary ("Faults real processes cannot suffer, as steps or as the network model's "
                  "own settings, are skipped, never silently: each kind is named with its "
                  "reason, and the rest of the story still runs.");
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  Result r = run_cmd (NULL, dsm_real, "run", path, NULL);
  assert_status (&r, EXIT_OK);
  assert_contains (r.out, "disk lost_fsync,duplicate,network duplicate_percent,network reorder_percent,reorder,skew");
  assert_contains (r.out, "skipped skew: a process reads the host's monotonic clock");
  assert_contains (r.out, "skipped duplicate: TCP delivers each byte once");
  assert_contains (r.out, "skipped reorder: TCP delivers a connection's frames in order");
  assert_contains (r.out, "skipped disk lost_fsync: an fsync that lies cannot be made");
  assert_contains (r.err, "steps[1] (skew): SKIPPED: ");
  assert_contains (r.err, "network.duplicate_percent: SKIPPED: TCP delivers each byte once");
  assert_contains (r.err, "network.reorder_percent: SKIPPED: TCP delivers a connection's frames in order");
  result_clear (&r);
  g_remove (path);
}

/* Starts dsm-real on the scenario file @path in @dir, its step reports on
 * a pipe, waits until its three nodes run, and returns it. */
static GSubprocess *
start_run (const char *dir, const char *path)
{
  g_autoptr(GError) error = NULL;
  const char *argv[] = { dsm_real, "run", path, "--dir", dir, NULL };
  GSubprocess *child = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                          &error);
  g_assert_no_error (error);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  for (;;)
    {
      g_autoptr(GArray) pids = processes_mentioning (dir);
      if (pids->len == 3)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20 * 1000);
    }
  return child;
}

static GSubprocess *
start_long_run (const char *dir)
{
  g_autofree char *path = scenario_path ("steady-state.json");

  return start_run (dir, path);
}

/* Whether process @pid is stopped (SIGSTOP): state T in /proc/PID/stat. */
static gboolean
process_stopped (guint pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%u/stat", pid);
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  /* "pid (comm) S ...": the command may hold spaces and parentheses. */
  const char *close = strrchr (text, ')');
  return close != NULL && close[1] == ' ' && close[2] == 'T';
}

/* Starts, in @dir, a run whose node 1 is SIGSTOPped at once for a
 * minute, and returns it once that node is stopped. */
static GSubprocess *
start_paused_run (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "paused.json", NULL);
  g_autoptr(GError) error = NULL;
  const char *text =
    "{ \"summary\": \"A node stopped for a minute.\", \"seed\": 1, \"nodes\": 3,\n"
    "  \"steps\": [ { \"do\": \"pause\", \"node\": 1, \"ms\": 60000 },\n"
    "    { \"do\": \"wait\", \"ms\": 60000 } ] }\n";

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
  GSubprocess *child = start_run (dir, path);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  for (;;)
    {
      g_autoptr(GArray) pids = processes_mentioning (dir);
      for (guint i = 0; i < pids->len; i++)
        if (process_stopped (g_array_index (pids, guint, i)))
          return child;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (10 * 1000);
    }
}

static void
test_bound_cleans_up (void)
{
  g_autofree char *dir = g_dir_make_tmp ("dsm-real-test-XXXXXX", NULL);
  g_autofree char *path = scenario_path ("steady-state.json");

  g_test_summary ("A run that passes its bound (--timeout-ms) fails liveness, exit 1, and stops "
                  "every node it started on the way out.");
  Result r = run_cmd (NULL, dsm_real, "run", path, "--dir", dir, "--timeout-ms", "1500", "-q", NULL);
  assert_status (&r, EXIT_FAILED);
  assert_contains (r.out, "the run passed its bound of 1500 ms");
  result_clear (&r);
  g_assert_true (nodes_gone (dir));
  remove_tree (dir);
}

/* Sends @sig to the dsm-real @child (SIGKILL: force exit), waits for it,
 * checks that no node it started in @dir is left, and removes @dir.
 * Returns: (transfer full): its step reports. */
static char *
end_run (GSubprocess *child, int sig, const char *dir)
{
  g_autoptr(GError) error = NULL;
  char *reports = NULL;

  if (sig == SIGKILL)
    g_subprocess_force_exit (child);
  else
    g_subprocess_send_signal (child, sig);
  g_assert_true (g_subprocess_communicate_utf8 (child, NULL, NULL, NULL, &reports, &error));
  g_assert_no_error (error);
  g_assert_true (nodes_gone (dir));
  remove_tree (dir);
  return reports;
}

static void
test_sigterm_cleans_up (void)
{
  g_autofree char *dir = g_dir_make_tmp ("dsm-real-test-XXXXXX", NULL);

  g_test_summary ("SIGTERM to dsm-real mid-run stops every node it started before it exits "
                  "(a liveness failure: the run was interrupted).");
  g_autoptr(GSubprocess) child = start_long_run (dir);
  g_autofree char *reports = end_run (child, SIGTERM, dir);
  g_assert_true (g_subprocess_get_if_exited (child));
  g_assert_cmpint (g_subprocess_get_exit_status (child), ==, EXIT_FAILED);
  assert_contains (reports, "the run was interrupted");
}

static void
test_sigkill_cleans_up (void)
{
  g_autofree char *dir = g_dir_make_tmp ("dsm-real-test-XXXXXX", NULL);

  g_test_summary ("Even SIGKILL of dsm-real leaves no node behind: each dies with it "
                  "(PR_SET_PDEATHSIG).");
  g_autoptr(GSubprocess) child = start_long_run (dir);
  g_free (end_run (child, SIGKILL, dir));
}

static void
test_sigterm_while_paused (void)
{
  g_autofree char *dir = g_dir_make_tmp ("dsm-real-test-XXXXXX", NULL);

  g_test_summary ("SIGTERM to dsm-real while a node is SIGSTOPped by a pause step: the stopped "
                  "node is resumed and stops cleanly on its SIGTERM like the others (no SIGKILL "
                  "fallback), and none is left behind.");
  g_autoptr(GSubprocess) child = start_paused_run (dir);
  g_autofree char *reports = end_run (child, SIGTERM, dir);
  g_assert_true (g_subprocess_get_if_exited (child));
  g_assert_cmpint (g_subprocess_get_exit_status (child), ==, EXIT_FAILED);
  assert_contains (reports, "the run was interrupted");
  /* node_stop's fallback when a node ignores SIGTERM, as a stopped one would. */
  g_assert_null (strstr (reports, "did not stop within"));
  g_assert_null (strstr (reports, "on SIGTERM"));
}

static void
test_sigkill_while_paused (void)
{
  g_autofree char *dir = g_dir_make_tmp ("dsm-real-test-XXXXXX", NULL);

  g_test_summary ("SIGKILL of dsm-real while a node is SIGSTOPped: the stopped node dies with "
                  "it too (SIGKILL reaches a stopped process).");
  g_autoptr(GSubprocess) child = start_paused_run (dir);
  g_free (end_run (child, SIGKILL, dir));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  dsm_real = g_getenv ("DSM_REAL");
  g_assert_nonnull (dsm_real);

  g_test_add_func ("/real/scenarios/follower-crash", test_follower_crash);
  g_test_add_func ("/real/scenarios/minority-partition-old-leader", test_minority_partition);
  g_test_add_func ("/real/scenarios/disk-torn-write", test_torn_write);
  g_test_add_func ("/real/scenarios/consensus-timeout-unknown-outcome", test_unknown_outcome);
  g_test_add_func ("/real/scenarios/paused-leader", test_paused_leader);
  g_test_add_func ("/real/scenarios/define-through-the-log", test_define);
  g_test_add_func ("/real/scenarios/compare-and-set", test_compare_and_set);
  g_test_add_func ("/real/admin/transfer-leader", test_transfer);
  g_test_add_func ("/real/history/planted-violation-found", test_planted_violation);
  g_test_add_func ("/real/record/replays-identical", test_record_replay);
  g_test_add_func ("/real/run/expectation-fails", test_expectation_fails);
  g_test_add_func ("/real/run/skips-are-stated", test_skips_are_stated);
  g_test_add_func ("/real/run/bound-cleans-up", test_bound_cleans_up);
  g_test_add_func ("/real/run/sigterm-cleans-up", test_sigterm_cleans_up);
  g_test_add_func ("/real/run/sigkill-cleans-up", test_sigkill_cleans_up);
  g_test_add_func ("/real/run/sigterm-while-paused-cleans-up", test_sigterm_while_paused);
  g_test_add_func ("/real/run/sigkill-while-paused-cleans-up", test_sigkill_while_paused);
  return g_test_run ();
}
