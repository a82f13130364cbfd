/* tests/check/test-dsm-check.c: dsm-check as a user runs it: every history
 * the linearizability tests plant as a violation is found (exit 1, the
 * machine and a window named), every history the simulator writes on the
 * bundled scenarios passes (exit 0), final states that disagree or that
 * the history cannot end in are violations, bad files exit 2 naming the
 * line.  meson passes DSM_CHECK, DSM_SIM and TEST_LINEARIZABILITY. */
#include <string.h>

#include <glib/gstdio.h>

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
  /* The hand-made violations and at least the 40 mutated random ones. */
  g_assert_cmpuint (n, >=, 60);
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
                  "live nodes' final states) passes dsm-check.");
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
      Result r = run_cmd (NULL, dsm_check, history, NULL);
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
  g_test_add_func ("/check/dsm-check/custom-definitions", test_custom_definitions);
  g_test_add_func ("/check/dsm-check/bad-input", test_bad_input);
  return g_test_run ();
}
