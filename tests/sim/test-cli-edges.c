/* tests/sim/test-cli-edges.c: the dsm-sim command line's smaller promises,
 * each found wanting once by a new user (issue 14): the help against
 * docs/SIMULATOR.md, seed ranges, error wording, progress, and traces that
 * name their planted bug, and output paths that are not regular files
 * (/dev/null) left in place.  meson passes the binaries in DSM_SIM and
 * DSM_SIM_MUTANT and the docs folder in DSM_DOCS_DIR. */
#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "tool.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_BAD_INPUT 2

static const char *dsm_sim;
static const char *dsm_sim_mutant;

#define GOOD "{\"summary\": \"A leader, then nothing.\", \"seed\": 3, \"nodes\": 3, " \
             "\"steps\": [{\"await\": \"leader\", \"within_ms\": 2000}]}"

static char *
write_file (const char *dir, const char *name, const char *text)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  return path;
}

/* The lines of SIMULATOR.md's synopsis block ("## The command line"). */
static GStrv
docs_synopsis (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("DSM_DOCS_DIR"), "SIMULATOR.md", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  const char *section = strstr (text, "\n## The command line\n");
  g_assert_nonnull (section);
  const char *start = strstr (section, "\n```\n");
  g_assert_nonnull (start);
  start += 5;
  const char *end = strstr (start, "```\n");
  g_assert_nonnull (end);
  g_autofree char *block = g_strndup (start, end - start - 1);
  return g_strsplit (block, "\n", -1);
}

static void
test_help_matches_docs (void)
{
  static const char *const commands[] = { "run", "explore", "merge", "replay", "replay-node", "shrink", "mutants", "view" };
  g_auto (GStrv) synopsis = docs_synopsis ();

  g_test_summary ("dsm-sim --help prints SIMULATOR.md's synopsis line for line, and every option of "
                  "every command's --help is in that command's synopsis lines");
  Result help = run_cmd (NULL, dsm_sim, "--help", NULL);
  assert_status (&help, EXIT_OK);
  g_assert_cmpuint (g_strv_length (synopsis), >=, 7);
  for (guint i = 0; synopsis[i] != NULL; i++)
    assert_contains (help.out, synopsis[i]);

  for (guint c = 0; c < G_N_ELEMENTS (commands); c++)
    {
      /* The command's lines: its own and the indented ones after it. */
      g_autofree char *head = g_strdup_printf ("dsm-sim %s ", commands[c]);
      g_autoptr(GString) lines = g_string_new (NULL);
      for (guint i = 0; synopsis[i] != NULL; i++)
        if (g_str_has_prefix (synopsis[i], head))
          {
            g_string_append (lines, synopsis[i]);
            for (guint k = i + 1; synopsis[k] != NULL && synopsis[k][0] == ' '; k++)
              g_string_append (lines, synopsis[k]);
          }
      g_assert_cmpuint (lines->len, >, 0);
      g_string_append_c (lines, ' ');

      Result r = run_cmd (NULL, dsm_sim, commands[c], "--help", NULL);
      assert_status (&r, EXIT_OK);
      g_autofree char *usage = g_strdup_printf ("Usage:\n  dsm-sim %s ", commands[c]);
      assert_contains (r.out, usage);
      /* Option lines: "  -o, --output=OUT   ..." or "  --seed=N  ...". */
      g_auto (GStrv) help_lines = g_strsplit (r.out, "\n", -1);
      for (guint l = 0; help_lines[l] != NULL; l++)
        {
          const char *opt = g_strchug (help_lines[l]);
          if (opt[0] != '-' || g_str_has_prefix (opt, "-h, --help"))
            continue;
          if (opt[1] != '-')
            {
              /* "-q, --quiet": the synopsis gives the short form. */
              g_autofree char *shortform = g_strndup (opt, 2);
              g_autofree char *closed = g_strdup_printf ("[%s]", shortform);
              g_autofree char *spaced = g_strdup_printf (" %s ", shortform);
              g_autofree char *opened = g_strdup_printf ("[%s ", shortform);   /* "[-o OUT]" */
              if (strstr (lines->str, closed) == NULL && strstr (lines->str, spaced) == NULL
                  && strstr (lines->str, opened) == NULL)
                g_test_fail_printf ("dsm-sim %s --help lists %s, which the synopsis does not", commands[c], shortform);
              continue;
            }
          g_autofree char *word = g_strndup (opt, strcspn (opt, " ="));
          if (g_str_has_prefix (word, "--help"))
            continue;
          g_autofree char *spaced = g_strdup_printf ("[%s ", word);
          g_autofree char *closed = g_strdup_printf ("[%s]", word);
          g_autofree char *alone = g_strdup_printf (" %s ", word);
          if (strstr (lines->str, spaced) == NULL && strstr (lines->str, closed) == NULL
              && strstr (lines->str, alone) == NULL)
            g_test_fail_printf ("dsm-sim %s --help lists %s, which SIMULATOR.md's synopsis does not: %s",
                                commands[c], word, lines->str);
        }
      result_clear (&r);
    }

  /* The seed budget the docs give is the one the command uses. */
  Result mutants = run_cmd (NULL, dsm_sim, "mutants", "--help", NULL);
  assert_contains (mutants.out, "(default 20000)");
  result_clear (&mutants);
  result_clear (&help);
}

static void
test_run_seed_range (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *path = write_file (dir, "good.json", GOOD);

  g_test_summary ("run --seeds A..B runs the scenario once per seed, both ends included, and counts "
                  "the runs; a backwards range or --seed with --seeds is bad input");
  Result r = run_cmd (NULL, dsm_sim, "run", path, "--seeds", "7..9", NULL);
  assert_status (&r, EXIT_OK);
  assert_contains (r.out, " 7 ");
  assert_contains (r.out, " 8 ");
  assert_contains (r.out, " 9 ");
  g_assert_null (strstr (r.out, " 10 "));
  assert_contains (r.out, "3 runs, 0 failed\n");
  result_clear (&r);

  const char *const bad[][4] = {
    { "--seeds", "9..7" }, { "--seeds", "x..3" }, { "--seeds", "1..2", "--seed", "1" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const char *argv[8] = { dsm_sim, "run", path };
      for (guint k = 0; k < 4 && bad[i][k] != NULL; k++)
        argv[k + 3] = bad[i][k];
      Result b = run_argv (NULL, argv);
      assert_status (&b, EXIT_BAD_INPUT);
      result_clear (&b);
    }
}

static void
test_missing_file_words (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *path = g_build_filename (dir, "nosuch.json", NULL);

  g_test_summary ("A missing scenario file is named with the system's reason in plain ASCII under the "
                  "C locale (no '?' for GLib's quotes), and no table header comes before it");
  g_setenv ("LC_ALL", "C", TRUE);
  Result r = run_cmd (NULL, dsm_sim, "run", path, NULL);
  g_unsetenv ("LC_ALL");
  assert_status (&r, EXIT_BAD_INPUT);
  g_autofree char *expected = g_strdup_printf ("dsm-sim: %s: No such file or directory\n", path);
  g_assert_cmpstr (r.err, ==, expected);
  g_assert_cmpstr (r.out, ==, "");
  result_clear (&r);
}

static void
test_unknown_mutant (void)
{
  g_test_summary ("--mutant=NAME with a name the build lacks lists the names it has");
  Result r = run_cmd (NULL, dsm_sim_mutant, "explore", "--mutant=nope", NULL);
  assert_status (&r, EXIT_BAD_INPUT);
  assert_contains (r.err, "no mutant named \"nope\" (known: commit-without-majority, double-vote,");
  result_clear (&r);
}

static void
test_explore_output (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *out_arg = g_strdup_printf ("--out=%s", dir);

  g_test_summary ("dsm-sim-mutant explore prints no 'trying N' lines, and the progress line on stderr "
                  "gives the time left");
  Result r = run_cmd (NULL, dsm_sim_mutant, "explore", "--mutant=double-vote", "--seeds", "2", "--first", "500",
                      out_arg, NULL);
  g_assert_null (strstr (r.out, "trying"));
  assert_contains (r.err, "explored 2/2 seeds, ");
  assert_contains (r.err, " left\n");
  result_clear (&r);
}

/* Runs a mutant's exploration into @dir until a seed fails; returns its
 * file (the only one: no trace and page beside it). */
static char *
caught_scenario (const char *dir, const char *mutant_arg)
{
  g_autofree char *out_arg = g_strdup_printf ("--out=%s", dir);
  Result r = run_cmd (NULL, dsm_sim_mutant, "explore", mutant_arg, "--seeds", "20", "--stop-first", "-q", "--no-view",
                      out_arg, NULL);
  assert_status (&r, EXIT_FAILED);
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name = g_dir_read_name (d);
  g_assert_nonnull (name);
  result_clear (&r);
  return g_build_filename (dir, name, NULL);
}

static void
test_trace_names_mutant (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *explored = caught_scenario (dir, "--mutant=commit-without-majority");
  g_autofree char *contents = NULL;
  g_file_get_contents (explored, &contents, NULL, NULL);
  g_autofree char *small = write_file (dir, "small.json", contents);

  g_test_summary ("A mutant's trace names its planted bug: dsm-sim-mutant replays it identical without "
                  "being told, dsm-sim and another --mutant refuse it with the reason; the replay line "
                  "names the trace after the file run");
  Result run = run_cmd (dir, dsm_sim_mutant, "run", small, "--mutant=commit-without-majority", "--trace",
                        "small.trace", NULL);
  assert_status (&run, EXIT_FAILED);
  assert_contains (run.out, "--trace small.trace --mutant=commit-without-majority\n");
  g_autofree char *trace = g_build_filename (dir, "small.trace", NULL);
  g_autofree char *text = NULL;
  g_file_get_contents (trace, &text, NULL, NULL);
  g_assert_true (g_str_has_prefix (text, "{\"dsm_trace\":1,\"seed\":"));
  assert_contains (text, ",\"mutant\":\"commit-without-majority\",\"scenario\":");

  Result same = run_cmd (NULL, dsm_sim_mutant, "replay", trace, NULL);
  assert_status (&same, EXIT_OK);
  assert_contains (same.out, "identical: ");
  Result plain = run_cmd (NULL, dsm_sim, "replay", trace, NULL);
  assert_status (&plain, EXIT_BAD_INPUT);
  assert_contains (plain.err, "made with the planted bug \"commit-without-majority\": replay it with dsm-sim-mutant");
  Result other = run_cmd (NULL, dsm_sim_mutant, "replay", trace, "--mutant=double-vote", NULL);
  assert_status (&other, EXIT_BAD_INPUT);
  assert_contains (other.err, "not \"double-vote\"");

  result_clear (&run);
  result_clear (&same);
  result_clear (&plain);
  result_clear (&other);
}

/* The text of @path without its end line's wall time. */
static char *
report_without_wall (const char *path)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(GRegex) wall = g_regex_new (",\"wall_s\":[0-9.]+", 0, 0, NULL);
  return g_regex_replace_literal (wall, text, -1, 0, "", 0, NULL);
}

static void
test_shards_merge (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *out_arg = g_strdup_printf ("--out=%s", dir);
  g_autofree char *whole = g_build_filename (dir, "whole.jsonl", NULL);
  const char *mutant = "--mutant=apply-before-commit";
  char *shard[3];

  g_test_summary ("explore --shard K/N explores disjoint blocks whose union is the whole range, and merge "
                  "turns the N reports into the whole run's report (the same failures, in seed order); "
                  "a missing, repeated or foreign shard is refused");
  Result all = run_cmd (NULL, dsm_sim_mutant, "explore", mutant, "--seeds", "24", "-q", out_arg, "--report", whole, NULL);
  assert_status (&all, EXIT_FAILED);
  guint64 next = 1;
  for (guint k = 0; k < 3; k++)
    {
      g_autofree char *name = g_strdup_printf ("shard-%u.jsonl", k + 1);
      g_autofree char *spec = g_strdup_printf ("%u/3", k + 1);
      shard[k] = g_build_filename (dir, name, NULL);
      Result r = run_cmd (NULL, dsm_sim_mutant, "explore", mutant, "--seeds", "24", "-q", out_arg, "--shard", spec,
                          "--report", shard[k], NULL);
      g_assert_true (r.status == EXIT_OK || r.status == EXIT_FAILED);
      g_autofree char *text = NULL;
      g_file_get_contents (shard[k], &text, NULL, NULL);
      /* Blocks in order, each starting where the last ended. */
      g_autofree char *from = g_strdup_printf (",\"from\":%" G_GUINT64_FORMAT ",\"count\":8,", next);
      assert_contains (text, from);
      next += 8;
      result_clear (&r);
    }
  g_autofree char *merged_path = g_build_filename (dir, "merged.jsonl", NULL);
  Result merged = run_cmd (NULL, dsm_sim, "merge", shard[2], shard[0], shard[1], NULL);
  assert_status (&merged, EXIT_FAILED);
  g_file_set_contents (merged_path, merged.out, -1, NULL);
  g_autofree char *a = report_without_wall (whole);
  g_autofree char *b = report_without_wall (merged_path);
  g_assert_cmpstr (b, ==, a);
  assert_contains (a, "{\"seed\":");

  Result missing = run_cmd (NULL, dsm_sim, "merge", shard[0], shard[2], NULL);
  assert_status (&missing, EXIT_BAD_INPUT);
  assert_contains (missing.err, "shard 2/3 is missing");
  Result twice = run_cmd (NULL, dsm_sim, "merge", shard[0], shard[1], shard[1], shard[2], NULL);
  assert_status (&twice, EXIT_BAD_INPUT);
  assert_contains (twice.err, "shard 2/3 is given twice");
  Result foreign = run_cmd (NULL, dsm_sim, "merge", shard[0], whole, NULL);
  assert_status (&foreign, EXIT_BAD_INPUT);
  assert_contains (foreign.err, "a shard of another run");

  for (guint k = 0; k < 3; k++)
    g_free (shard[k]);
  result_clear (&all);
  result_clear (&merged);
  result_clear (&missing);
  result_clear (&twice);
  result_clear (&foreign);
}

/* Reads the FIFO @path names to its end (transfer full): in a thread of
 * its own, since the writer's open waits for a reader. */
static gpointer
fifo_read (gpointer path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static void
test_trace_into_fifo (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *path = write_file (dir, "good.json", GOOD);
  g_autofree char *fifo = g_build_filename (dir, "trace.fifo", NULL);
  g_autofree char *regular = g_build_filename (dir, "trace.jsonl", NULL);
  GStatBuf st;

  g_test_summary ("--trace naming a FIFO writes the trace through it and leaves it a FIFO, as for a device: "
                  "renaming a file over /dev/null replaced it with a regular file (we run as root), and "
                  "every program reading /dev/null as empty input then read whatever had been written to it");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  GThread *reader = g_thread_new ("fifo-read", fifo_read, fifo);
  Result r = run_cmd (NULL, dsm_sim, "run", path, "--trace", fifo, NULL);
  assert_status (&r, EXIT_OK);
  g_assert_cmpint (g_stat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));
  g_autofree char *through = g_thread_join (reader);

  /* The same trace as into a regular file, which is renamed into place. */
  Result again = run_cmd (NULL, dsm_sim, "run", path, "--trace", regular, NULL);
  assert_status (&again, EXIT_OK);
  g_assert_cmpint (g_stat (regular, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_autofree char *expected = NULL;
  g_file_get_contents (regular, &expected, NULL, NULL);
  g_assert_true (g_str_has_prefix (expected, "{\"dsm_trace\":1,"));
  g_assert_cmpstr (through, ==, expected);
  result_clear (&r);
  result_clear (&again);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  dsm_sim = g_getenv ("DSM_SIM");
  dsm_sim_mutant = g_getenv ("DSM_SIM_MUTANT");
  if (dsm_sim == NULL || dsm_sim_mutant == NULL || g_getenv ("DSM_DOCS_DIR") == NULL)
    {
      g_printerr ("test-cli-edges: set DSM_SIM, DSM_SIM_MUTANT and DSM_DOCS_DIR (meson test does)\n");
      return 1;
    }
  g_test_add_func ("/sim/cli/help-matches-docs", test_help_matches_docs);
  g_test_add_func ("/sim/cli/run/seed-range", test_run_seed_range);
  g_test_add_func ("/sim/cli/missing-file-words", test_missing_file_words);
  g_test_add_func ("/sim/cli/unknown-mutant", test_unknown_mutant);
  g_test_add_func ("/sim/cli/explore/output", test_explore_output);
  g_test_add_func ("/sim/cli/replay/trace-names-mutant", test_trace_names_mutant);
  g_test_add_func ("/sim/cli/explore/shards-merge", test_shards_merge);
  g_test_add_func ("/sim/cli/run/trace-into-fifo", test_trace_into_fifo);
  return g_test_run ();
}
