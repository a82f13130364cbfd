/* tests/check/test-dsm-check.c: dsm-check as a user runs it: every history
 * the linearizability tests plant as a violation is found (exit 1, the
 * machine and a window named), every history the simulator writes on the
 * bundled scenarios passes (exit 0), final states that disagree or that
 * the history cannot end in are violations, bad files exit 2 naming the
 * line; unknown outcomes may or may not have applied; a long history
 * shrinks to the two replies that contradict; a search past its budget is
 * inconclusive.  meson passes DSM_CHECK, DSM_SIM and TEST_LINEARIZABILITY. */
#include <string.h>

#include <glib/gstdio.h>

#include "lines.h"
#include "seeds.h"
#include "tool.h"

#define EXIT_OK 0
#define EXIT_VIOLATION 1
#define EXIT_BAD_INPUT 2

static const char *dsm_check;

static char *
write_text (const char *dir, const char *name, const char *text)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
  return path;
}

static void
test_planted (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autoptr(GDir) d = NULL;
  const char *name;
  guint n = 0;

  g_test_summary ("Every history tests/check/test-linearizability.c plants as a violation, "
                  "written as a history file, makes dsm-check exit 1 naming the machine, "
                  "with a smallest window of replies that cannot all be true.");
  /* The linearizability tests write what they plant (DSM_PLANTED_DIR). */
  const char *argv[] = { g_getenv ("TEST_LINEARIZABILITY"), NULL };
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_autoptr(GError) error = NULL;
  g_subprocess_launcher_setenv (launcher, "DSM_PLANTED_DIR", dir, TRUE);
  g_autoptr(GSubprocess) child = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (child, NULL, &error));
  g_assert_no_error (error);

  d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      /* planted-N-MACHINE.jsonl */
      const char *machine = strchr (name + strlen ("planted-"), '-') + 1;
      g_autofree char *expected = g_strdup_printf ("VIOLATION on machine \"%.*s\"",
                                                   (int) (strlen (machine) - strlen (".jsonl")), machine);
      Result r = run_cmd (NULL, dsm_check, path, NULL);
      assert_status (&r, EXIT_VIOLATION);
      assert_contains (r.out, expected);
      assert_contains (r.out, "smallest window: ");
      assert_contains (r.out, "verdict: violation");
      result_clear (&r);
      n++;
    }
  g_test_message ("%u planted histories, each found", n);
  /* The hand-made violations (more than 10), a read changed to a state
   * that never existed in each random history, and another real state in
   * at least two thirds of them (tests/check/test-linearizability.c). */
  guint random = dsm_test_seeds (40);
  g_assert_cmpuint (n, >=, 10 + random + (2 * random + 2) / 3);
}

static void
test_simulated (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autoptr(GDir) d = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
  guint n = 0;

  g_test_summary ("The history dsm-sim writes for each bundled scenario (operations and the "
                  "live nodes' final states) passes dsm-check, --complete too.");
  d = g_dir_open (DSM_SCENARIOS_DIR, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (!g_str_has_suffix (name, ".json"))
        continue;
      g_autofree char *scenario = g_build_filename (DSM_SCENARIOS_DIR, name, NULL);
      g_autofree char *history = g_build_filename (dir, "h.jsonl", NULL);
      Result sim = run_cmd (NULL, g_getenv ("DSM_SIM"), "run", scenario, "--history", history, NULL);
      assert_status (&sim, EXIT_OK);
      /* dsm-sim's history holds every operation from an empty cluster. */
      Result r = run_cmd (NULL, dsm_check, "--complete", history, NULL);
      assert_status (&r, EXIT_OK);
      assert_contains (r.out, "final states: the ");
      assert_contains (r.out, "verdict: ok");
      result_clear (&sim);
      result_clear (&r);
      n++;
    }
  g_assert_cmpuint (n, >=, 19);
}

#define OP_RUNNING \
  "{\"id\":1,\"client\":1,\"seq\":0,\"op\":\"transition\",\"machine\":\"m\",\"requested\":\"Running\"," \
  "\"result\":\"ok\",\"state\":\"Running\",\"index\":2,\"invoke_ms\":0,\"complete_ms\":10}\n"

static void
test_finals_disagree (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *path = write_text (dir, "h.jsonl",
                                      OP_RUNNING
                                      "{\"final\":{\"node\":1,\"machines\":{\"m\":\"Running\"}}}\n"
                                      "{\"final\":{\"node\":\"n2\",\"machines\":{\"m\":\"Stopped\"}}}\n");

  g_test_summary ("Two nodes ending with a machine in different states is a violation naming "
                  "both.");
  Result r = run_cmd (NULL, dsm_check, path, NULL);
  assert_status (&r, EXIT_VIOLATION);
  assert_contains (r.out, "final states: DISAGREE: machine \"m\": node 1 has it in Running, node n2 has it in Stopped");
  result_clear (&r);
}

static void
test_final_not_explained (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *path = write_text (dir, "h.jsonl",
                                      OP_RUNNING
                                      "{\"final\":{\"node\":1,\"machines\":{\"m\":\"Init\"}}}\n");

  g_test_summary ("A final state the history cannot end in (an acknowledged transition "
                  "undone by nobody) is a linearizability violation, shrunk to the write and "
                  "the final read.");
  Result r = run_cmd (NULL, dsm_check, path, NULL);
  assert_status (&r, EXIT_VIOLATION);
  assert_contains (r.out, "VIOLATION on machine \"m\"");
  assert_contains (r.out, "smallest window: 2 replies of machine \"m\", 0-11 ms, minimal");
  result_clear (&r);
}

static void
test_final_invented (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *path = write_text (dir, "h.jsonl",
                                      OP_RUNNING
                                      "{\"final\":{\"node\":1,\"machines\":{\"m\":\"Running\",\"z\":\"Running\",\"y\":\"Stopped\"}}}\n");

  g_test_summary ("A machine of the final states that no operation names: with --complete (the history "
                  "holds every operation since the cluster was empty) a validity violation naming the first "
                  "in name order; without, said and not judged.");
  Result r = run_cmd (NULL, dsm_check, "--complete", path, NULL);
  assert_status (&r, EXIT_VIOLATION);
  assert_contains (r.out, "validity: VIOLATION: node 1 holds machine \"y\", which no operation of the history names");
  result_clear (&r);
  r = run_cmd (NULL, dsm_check, path, NULL);
  assert_status (&r, EXIT_OK);
  assert_contains (r.out, "holds machine \"y\" (and maybe more) that no operation names: not judged");
  result_clear (&r);
  /* Every machine named: --complete finds nothing to say. */
  g_autofree char *named = write_text (dir, "n.jsonl", OP_RUNNING "{\"final\":{\"node\":1,\"machines\":{\"m\":\"Running\"}}}\n");
  r = run_cmd (NULL, dsm_check, "--complete", named, NULL);
  assert_status (&r, EXIT_OK);
  g_assert_null (strstr (r.out, "validity"));
  result_clear (&r);
}

static void
test_custom_definitions (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *path = write_text (dir, "h.jsonl",
    "{\"dsm_history\":1,\"definitions\":[{\"name\":\"door\",\"states\":[\"Closed\",\"Open\"],"
    "\"initial\":\"Closed\",\"transitions\":[{\"from\":\"Closed\",\"to\":\"Open\"}]}]}\n"
    "{\"id\":1,\"client\":1,\"seq\":0,\"op\":\"transition\",\"machine\":\"d\",\"definition\":\"door\","
    "\"requested\":\"Open\",\"result\":\"ok\",\"state\":\"Open\",\"index\":2,\"invoke_ms\":0,\"complete_ms\":10}\n"
    "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"transition\",\"machine\":\"d\",\"requested\":\"Closed\","
    "\"result\":\"ok\",\"state\":\"Closed\",\"index\":3,\"invoke_ms\":20,\"complete_ms\":30}\n");

  g_test_summary ("The header's definitions judge the ops: Open -> Closed is not a move of "
                  "this door, so its acknowledgement is a violation.");
  Result r = run_cmd (NULL, dsm_check, path, NULL);
  assert_status (&r, EXIT_VIOLATION);
  assert_contains (r.out, "Open -> Closed is not a legal transition");
  result_clear (&r);
}

/* One op line: a transition (@requested set) or a read. */
static void
append_op (GString *out, guint id, guint client, const char *requested, const char *result,
           const char *state, guint invoke_ms, guint complete_ms)
{
  g_string_append_printf (out, "{\"id\":%u,\"client\":%u,\"seq\":0,\"op\":\"%s\",\"machine\":\"m\",", id, client,
                          requested != NULL ? "transition" : "read");
  if (requested != NULL)
    g_string_append_printf (out, "\"requested\":\"%s\",", requested);
  g_string_append_printf (out, "\"result\":\"%s\",", result);
  if (state != NULL)
    g_string_append_printf (out, "\"state\":\"%s\",", state);
  if (strcmp (result, "pending") == 0)
    g_string_append_printf (out, "\"invoke_ms\":%u}\n", invoke_ms);
  else
    g_string_append_printf (out, "\"index\":0,\"invoke_ms\":%u,\"complete_ms\":%u}\n", invoke_ms, complete_ms);
}

static void
test_unknown_outcomes (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autoptr(GString) applied = g_string_new (NULL);
  g_autoptr(GString) not_applied = g_string_new (NULL);
  g_autoptr(GString) pending = g_string_new (NULL);
  g_autoptr(GString) too_early = g_string_new (NULL);

  g_test_summary ("An operation of unknown outcome (a timeout, a 503 unknown) or with no answer "
                  "(pending) may have taken effect at any time after it was sent, or never: "
                  "dsm-check passes reads that saw it and reads that did not, and finds a read "
                  "that saw it before it was sent.");
  /* Running (ok), then Stopped sent with no known outcome; a read sees Running,
   * a later one Stopped: it applied in between. */
  append_op (applied, 1, 1, "Running", "ok", "Running", 0, 10);
  append_op (applied, 2, 2, "Stopped", "unknown", NULL, 20, 1000);
  append_op (applied, 3, 3, NULL, "ok", "Running", 30, 40);
  append_op (applied, 4, 3, NULL, "ok", "Stopped", 50, 60);
  /* The same, with every read after it seeing Running: it never applied. */
  append_op (not_applied, 1, 1, "Running", "ok", "Running", 0, 10);
  append_op (not_applied, 2, 2, "Stopped", "unknown", NULL, 20, 1000);
  append_op (not_applied, 3, 3, NULL, "ok", "Running", 1100, 1110);
  /* No answer ever came, and a read long after saw it applied. */
  append_op (pending, 1, 1, "Running", "ok", "Running", 0, 10);
  append_op (pending, 2, 2, "Stopped", "pending", NULL, 20, 0);
  append_op (pending, 3, 3, NULL, "ok", "Stopped", 5000, 5010);
  /* A read that saw Stopped completed before the unknown op was sent. */
  append_op (too_early, 1, 1, "Running", "ok", "Running", 0, 10);
  append_op (too_early, 2, 3, NULL, "ok", "Stopped", 20, 30);
  append_op (too_early, 3, 2, "Stopped", "unknown", NULL, 40, 1000);

  const GString *passing[] = { applied, not_applied, pending };
  for (guint i = 0; i < G_N_ELEMENTS (passing); i++)
    {
      g_autofree char *path = write_text (dir, "h.jsonl", passing[i]->str);
      Result r = run_cmd (NULL, dsm_check, path, NULL);
      assert_status (&r, EXIT_OK);
      assert_contains (r.out, "verdict: ok");
      result_clear (&r);
    }
  g_autofree char *path = write_text (dir, "h.jsonl", too_early->str);
  Result r = run_cmd (NULL, dsm_check, path, NULL);
  assert_status (&r, EXIT_VIOLATION);
  assert_contains (r.out, "VIOLATION on machine \"m\"");
  assert_contains (r.out, "op 2 (client 3, 20-30 ms): read -> ok, state Stopped");
  result_clear (&r);
}

static void
test_smallest_window (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autoptr(GString) text = g_string_new ("{\"dsm_history\":1,\"default_definition\":\"counter\","
                                          "\"definitions\":[{\"name\":\"counter\",\"states\":[");
  const guint n = 60;

  g_test_summary ("In a long history of a machine that only counts up, with one contradiction "
                  "(a read of an old count just after a later one was acknowledged), the "
                  "smallest window is those two replies: the other 59 operations are left "
                  "free, and none of them can count down.");
  /* The counter: s0 -> s1 -> ... -> sN, each step one transition. */
  for (guint i = 0; i <= n; i++)
    g_string_append_printf (text, "%s\"s%u\"", i > 0 ? "," : "", i);
  g_string_append (text, "],\"initial\":\"s0\",\"transitions\":[");
  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "%s{\"from\":\"s%u\",\"to\":\"s%u\"}", i > 0 ? "," : "", i, i + 1);
  g_string_append (text, "]}]}\n");
  for (guint i = 1; i <= n; i++)
    {
      g_autofree char *to = g_strdup_printf ("s%u", i);
      guint t = i * 20;
      append_op (text, i, 1 + i % 3, to, "ok", to, t, t + 10);
    }
  /* After op 32 (s32, 640-650 ms) is acknowledged, a read sees s20. */
  append_op (text, n + 1, 9, NULL, "ok", "s20", 652, 655);
  g_autofree char *path = write_text (dir, "h.jsonl", text->str);
  Result r = run_cmd (NULL, dsm_check, path, NULL);
  assert_status (&r, EXIT_VIOLATION);
  assert_contains (r.out, "61 operations on 1 machine");
  assert_contains (r.out, "smallest window: 2 replies of machine \"m\", 640-655 ms, minimal");
  assert_contains (r.out, "op 32 (client 3, 640-650 ms): transition to s32 -> ok, state s32");
  assert_contains (r.out, "op 61 (client 9, 652-655 ms): read -> ok, state s20");
  assert_contains (r.out, "verdict: violation");
  result_clear (&r);
}

static void
test_inconclusive (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autoptr(GString) text = g_string_new (NULL);

  g_test_summary ("A search that passes --max-states without an answer is inconclusive, exit 3, "
                  "never a pass; with the default budget the same history is found a violation.");
  /* Eight clients' transitions, all concurrent and of unknown outcome: many orders to try. */
  const char *to[] = { "Running", "Stopped", "Init", "Running", "Stopped", "Init", "Running", "Stopped" };
  for (guint i = 0; i < G_N_ELEMENTS (to); i++)
    append_op (text, i + 1, i + 1, to[i], "unknown", NULL, 0, 100);
  /* Then reads see three full cycles, which needs a third Init: there is none. */
  for (guint i = 0; i < 9; i++)
    append_op (text, 9 + i, 9, NULL, "ok", to[i % 3], 200 + i * 20, 210 + i * 20);
  g_autofree char *path = write_text (dir, "h.jsonl", text->str);
  Result r = run_cmd (NULL, dsm_check, "--max-states", "2", path, NULL);
  assert_status (&r, 3);
  assert_contains (r.out, "INCONCLUSIVE on machine \"m\"");
  assert_contains (r.out, "verdict: inconclusive");
  result_clear (&r);
  Result full = run_cmd (NULL, dsm_check, path, NULL);
  assert_status (&full, EXIT_VIOLATION);
  assert_contains (full.out, "verdict: violation");
  result_clear (&full);
}

static void
test_docs_example (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *doc = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("The complete example of docs/HISTORY.md passes dsm-check with the output the "
                  "doc shows, and with its read moved to 50-51 ms and the final lines dropped "
                  "it is the violation, and the window, the doc shows.");
  g_assert_true (g_file_get_contents (DSM_HISTORY_DOC, &doc, NULL, &error));
  g_assert_no_error (error);
  const char *section = strstr (doc, "\n## A complete example\n");
  g_assert_nonnull (section);
  const char *start = strstr (section, "```json\n");
  g_assert_nonnull (start);
  start += strlen ("```json\n");
  const char *end = strstr (start, "```\n");
  g_assert_nonnull (end);
  g_autofree char *history = g_strndup (start, end - start);

  g_free (write_text (dir, "door.jsonl", history));
  Result r = run_cmd (dir, dsm_check, "door.jsonl", NULL);
  assert_status (&r, EXIT_OK);
  assert_contains (doc, r.out);  /* the doc shows the whole output */
  result_clear (&r);

  /* The doc's second run: the read late, no final lines. */
  g_auto(GStrv) lines = test_lines_split (history);
  g_autoptr(GString) late = g_string_new (NULL);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      if (g_str_has_prefix (lines[i], "{\"final\""))
        continue;
      g_autofree char *moved = g_strdup (lines[i]);
      char *at = strstr (moved, "\"invoke_ms\":20,\"complete_ms\":21");
      if (at != NULL)
        memcpy (at, "\"invoke_ms\":50,\"complete_ms\":51", strlen ("\"invoke_ms\":50,\"complete_ms\":51"));
      g_string_append_printf (late, "%s\n", moved);
    }
  g_free (write_text (dir, "door-late-read.jsonl", late->str));
  Result v = run_cmd (dir, dsm_check, "door-late-read.jsonl", NULL);
  assert_status (&v, EXIT_VIOLATION);
  g_auto(GStrv) out_lines = test_lines_split (v.out);
  gboolean in_window = FALSE;
  guint explained = 0;
  for (guint i = 0; out_lines[i] != NULL; i++)
    {
      /* The doc folds the window's long line in two, and shows the first
       * two lines of the search's explanation only. */
      if (g_str_has_prefix (out_lines[i], "smallest window: "))
        {
          in_window = TRUE;
          continue;
        }
      if (!in_window && g_str_has_prefix (out_lines[i], "  ") && ++explained > 2)
        continue;
      assert_contains (doc, out_lines[i]);
    }
  assert_contains (v.out, "smallest window: 3 replies of machine \"front\", 0-51 ms, minimal");
  result_clear (&v);
}

static const struct {
  const char *text;
  const char *message;
} bad_files[] = {
  { "{\"dsm_history\":2}\n", "line 1: dsm_history: " },
  { OP_RUNNING "{\"dsm_history\":1}\n", "line 2: dsm_history: the header must be the first line" },
  { "{\"final\":{\"node\":1,\"machines\":{\"m\":7}}}\n", "line 1: final.machines.m: expected a string" },
  { "{\"final\":{\"node\":1}}\n", "line 1: final.machines: required key is missing" },
  { OP_RUNNING "\n", "line 2: empty line" },
  { "{\"id\":1,\"colour\":2}\n", "line 1: colour: unknown key" },
  { "{\"final\":{\"node\":1,\"machines\":{}}}\n{\"final\":{\"node\":1,\"machines\":{}}}\n",
    "line 2: final.node: node \"1\" already has a final line (line 1)" },
  { "{\"dsm_history\":1,\"definitions\":[{\"name\":\"x\"}]}\n", "line 1: definitions[0]" },
  { "not json\n", "line 1: " },
};

static void
test_bad_input (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();

  g_test_summary ("A malformed history exits 2 with a message naming the line and the field; "
                  "so do a missing file and a bad option.");
  for (guint i = 0; i < G_N_ELEMENTS (bad_files); i++)
    {
      g_autofree char *path = write_text (dir, "bad.jsonl", bad_files[i].text);
      Result r = run_cmd (NULL, dsm_check, path, NULL);
      assert_status (&r, EXIT_BAD_INPUT);
      assert_contains (r.err, bad_files[i].message);
      result_clear (&r);
    }
  Result missing = run_cmd (NULL, dsm_check, "/nonexistent/h.jsonl", NULL);
  assert_status (&missing, EXIT_BAD_INPUT);
  result_clear (&missing);
  Result option = run_cmd (NULL, dsm_check, "--bogus", NULL);
  assert_status (&option, EXIT_BAD_INPUT);
  result_clear (&option);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  dsm_check = g_getenv ("DSM_CHECK");
  g_assert_nonnull (dsm_check);

  g_test_add_func ("/check/dsm-check/planted", test_planted);
  g_test_add_func ("/check/dsm-check/simulated", test_simulated);
  g_test_add_func ("/check/dsm-check/finals-disagree", test_finals_disagree);
  g_test_add_func ("/check/dsm-check/final-not-explained", test_final_not_explained);
  g_test_add_func ("/check/dsm-check/final-invented", test_final_invented);
  g_test_add_func ("/check/dsm-check/custom-definitions", test_custom_definitions);
  g_test_add_func ("/check/dsm-check/unknown-outcomes", test_unknown_outcomes);
  g_test_add_func ("/check/dsm-check/smallest-window", test_smallest_window);
  g_test_add_func ("/check/dsm-check/inconclusive", test_inconclusive);
  g_test_add_func ("/check/dsm-check/docs-example", test_docs_example);
  g_test_add_func ("/check/dsm-check/bad-input", test_bad_input);
  return g_test_run ();
}
