/* tools/dsm-real.c: runs scenarios on real dsm-node processes on loopback
 * (real/real.h): a report line per step on stderr, a table (or JSON) on
 * stdout, the history on request.  Parsing and printing only.
 * Exit status: 0 every check held, 1 a check failed, 2 bad input. */
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "real/real.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_BAD_INPUT 2

static volatile gint stop_requested;

static void
on_signal (int sig)
{
  /* The first signal ends the run cleanly (every node stopped, the folder
   * removed); a second one leaves at once, and the nodes die with us
   * (PR_SET_PDEATHSIG). */
  if (g_atomic_int_get (&stop_requested))
    _exit (128 + sig);
  g_atomic_int_set (&stop_requested, 1);
}

static int
usage_error (const char *format, ...) G_GNUC_PRINTF (1, 2);

static int
usage_error (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("dsm-real: %s\n(see dsm-real --help)\n", message);
  return EXIT_BAD_INPUT;
}

static void
print_line (const char *line, gpointer data)
{
  const char *name = data;
  g_printerr ("[%s] %s\n", name, line);
}

static char *
find_node (const char *program)
{
  g_autofree char *dir = g_path_get_dirname (program);
  g_autofree char *next_to_us = g_build_filename (dir, "dsm-node", NULL);

  if (g_file_test (next_to_us, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&next_to_us);
  return g_find_program_in_path ("dsm-node");
}

static void
print_table_header (void)
{
  g_print ("%-36s %6s %8s %9s %8s %10s  %-20s %s\n", "scenario", "seed", "commits", "elections", "wall",
           "unavail", "verdict", "skipped");
}

static char *
skipped_kinds (const DsmRealReport *r)
{
  g_autoptr(GString) kinds = g_string_new (NULL);

  for (guint i = 0; r->skipped != NULL && r->skipped[i] != NULL; i++)
    {
      const char *colon = strchr (r->skipped[i], ':');
      g_string_append_printf (kinds, "%s%.*s", i > 0 ? "," : "", (int) (colon - r->skipped[i]), r->skipped[i]);
    }
  return g_strdup (kinds->len > 0 ? kinds->str : "-");
}

static void
print_row (const DsmScenario *scenario, const DsmRealReport *r)
{
  g_autofree char *wall = g_strdup_printf ("%.1fs", r->wall_ms / 1000.0);
  g_autofree char *unavailable = g_strdup_printf ("%" G_GUINT64_FORMAT "ms", r->longest_unavailable_ms);
  g_autofree char *kinds = skipped_kinds (r);

  g_print ("%-36s %6" G_GUINT64_FORMAT " %8" G_GUINT64_FORMAT " %9" G_GUINT64_FORMAT " %8s %10s  %-20s %s\n",
           scenario->name, r->seed, r->commits, r->elections, wall, unavailable,
           r->ok ? "ok" : dsm_invariant_to_string (r->failed_invariant), kinds);
}

static void
json_string (GString *out, const char *key, const char *value)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), value);
  g_autofree char *text = json_to_string (node, FALSE);
  g_string_append_printf (out, ",\"%s\":%s", key, text);
}

/* One JSON object per scenario (scripts and tools/dsm-differential read it). */
static void
print_json (const DsmScenario *scenario, const DsmRealReport *r)
{
  g_autoptr(GString) out = g_string_new ("{\"backend\":\"real\"");

  json_string (out, "scenario", scenario->name);
  g_string_append_printf (out, ",\"ok\":%s", r->ok ? "true" : "false");
  json_string (out, "failed_invariant", r->ok ? "" : dsm_invariant_to_string (r->failed_invariant));
  json_string (out, "failure", r->failure != NULL ? r->failure : "");
  g_string_append_printf (out, ",\"seed\":%" G_GUINT64_FORMAT ",\"wall_ms\":%" G_GUINT64_FORMAT
                          ",\"ops\":%" G_GUINT64_FORMAT ",\"ops_ok\":%" G_GUINT64_FORMAT
                          ",\"ops_rejected\":%" G_GUINT64_FORMAT ",\"ops_unknown\":%" G_GUINT64_FORMAT
                          ",\"commits\":%" G_GUINT64_FORMAT ",\"entries_committed\":%" G_GUINT64_FORMAT
                          ",\"elections\":%" G_GUINT64_FORMAT ",\"retries\":%" G_GUINT64_FORMAT
                          ",\"snapshots_installed\":%" G_GUINT64_FORMAT ",\"invalid_messages\":%" G_GUINT64_FORMAT
                          ",\"crashes\":%" G_GUINT64_FORMAT ",\"longest_unavailable_ms\":%" G_GUINT64_FORMAT
                          ",\"skipped_steps\":%u",
                          r->seed, r->wall_ms, r->ops, r->ops_ok, r->ops_rejected, r->ops_unknown, r->commits,
                          r->entries_committed, r->elections, r->retries, r->snapshots_installed,
                          r->invalid_messages, r->crashes, r->longest_unavailable_ms, r->n_skipped_steps);
  g_string_append (out, ",\"skipped\":[");
  for (guint i = 0; r->skipped != NULL && r->skipped[i] != NULL; i++)
    {
      g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), r->skipped[i]);
      g_autofree char *text = json_to_string (node, FALSE);
      g_string_append_printf (out, "%s%s", i > 0 ? "," : "", text);
    }
  g_string_append_printf (out, "],\"proxy\":{\"connections\":%" G_GUINT64_FORMAT ",\"refused\":%" G_GUINT64_FORMAT
                          ",\"frames\":%" G_GUINT64_FORMAT ",\"cut_partition\":%" G_GUINT64_FORMAT
                          ",\"reset_loss\":%" G_GUINT64_FORMAT ",\"corrupted\":%" G_GUINT64_FORMAT
                          ",\"truncated\":%" G_GUINT64_FORMAT "}}",
                          r->proxy.connections, r->proxy.refused, r->proxy.frames, r->proxy.cut_partition,
                          r->proxy.reset_loss, r->proxy.corrupted, r->proxy.truncated);
  g_print ("%s\n", out->str);
}

typedef struct {
  const char *node_path;
  gboolean has_seed;
  guint64 seed;
  const char *history_path;
  const char *dir;
  gboolean keep;
  gboolean json;
  gboolean quiet;
  gboolean record;
  guint64 timeout_ms;
} RunOptions;

static int
run_one (const char *path, const DsmScenario *scenario, const RunOptions *o)
{
  DsmRealOptions options = {
    .node_path = o->node_path,
    .work_dir = o->dir,
    .keep = o->keep || o->dir != NULL,
    .has_seed = o->has_seed,
    .seed = o->seed,
    .timeout_ms = o->timeout_ms,
    .log = o->quiet ? NULL : print_line,
    .log_data = scenario->name,
    .stop = &stop_requested,
    .record = o->record,
  };
  DsmRealReport report = { 0 };
  g_autoptr(DsmReal) real = dsm_real_new (scenario, &options);

  dsm_real_run (real, &report);
  if (o->json)
    print_json (scenario, &report);
  else
    print_row (scenario, &report);
  for (guint i = 0; !o->json && report.skipped != NULL && report.skipped[i] != NULL; i++)
    g_print ("  skipped %s\n", report.skipped[i]);
  if (!report.ok && !o->json)
    g_print ("FAILED %s: %s at t=%" G_GUINT64_FORMAT " ms: %s\n", scenario->name,
             dsm_invariant_to_string (report.failed_invariant), report.failed_at_ms,
             report.failure != NULL ? report.failure : "");
  if (report.work_dir != NULL && !o->json)
    g_print ("  kept %s (config, data directories, node logs)\n", report.work_dir);
  if (o->history_path != NULL)
    {
      g_autoptr(GString) history = g_string_new (NULL);
      g_autoptr(GError) error = NULL;
      dsm_real_write_history (real, history);
      if (!dsm_output_write_simple (o->history_path, history->str, history->len, &error))
        g_printerr ("dsm-real: %s\n", error->message);
    }
  int status = report.ok ? EXIT_OK : EXIT_FAILED;
  dsm_real_report_clear (&report);
  return status;
}

static int
cmd_run (int argc, char **argv, const char *program)
{
  g_autofree char *seed_text = NULL, *history_path = NULL, *dir = NULL, *node_path = NULL;
  gint64 timeout_ms = 0;
  gboolean json = FALSE, keep = FALSE, quiet = FALSE, record = FALSE;
  GOptionEntry entries[] = {
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "Run with this seed instead of the file's", "N" },
    { "history", 0, 0, G_OPTION_ARG_FILENAME, &history_path, "Write the history file (docs/HISTORY.md) here", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print each run's report as one JSON object", NULL },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &keep, "Keep the run's folder (config, data directories, logs)", NULL },
    { "record", 0, 0, G_OPTION_ARG_NONE, &record,
      "Every node records its core's inputs to nodeN.rec in the folder (kept), for dsm-sim replay-node", NULL },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir, "Run in this folder (kept); one scenario only", "DIR" },
    { "node", 0, 0, G_OPTION_ARG_FILENAME, &node_path, "The dsm-node to run (default: next to dsm-real, or PATH)", "PATH" },
    { "timeout-ms", 0, 0, G_OPTION_ARG_INT64, &timeout_ms, "End a run that takes longer (a liveness failure)", "MS" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No report lines per step on stderr", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[FILE|DIR] - run scenarios on real processes");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error ("%s", error->message);
  if (argc > 2)
    return usage_error ("run takes one scenario file or folder");
  RunOptions o = { .history_path = history_path, .dir = dir, .keep = keep || record, .json = json, .quiet = quiet,
                   .record = record };
  if (seed_text != NULL)
    {
      if (!g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXINT64, &o.seed, &error))
        return usage_error ("--seed: %s", error->message);
      o.has_seed = TRUE;
    }
  if (timeout_ms < 0)
    return usage_error ("--timeout-ms: expected a positive number");
  o.timeout_ms = (guint64) timeout_ms;
  g_autofree char *found = node_path != NULL ? g_strdup (node_path) : find_node (program);
  if (found == NULL || !g_file_test (found, G_FILE_TEST_IS_EXECUTABLE))
    return usage_error ("no dsm-node next to dsm-real nor in PATH (give --node)");
  o.node_path = found;

  const char *target = argc == 2 ? argv[1] : DSM_SCENARIOS_DIR;
  g_autoptr(GPtrArray) files = dsm_scenario_list_files (target, &error);
  if (files == NULL)
    return usage_error ("%s", error->message);
  if (files->len == 0)
    return usage_error ("%s: no scenario files (*.json)", target);
  if (files->len > 1 && (history_path != NULL || dir != NULL))
    return usage_error ("--history and --dir need a single scenario, not a folder");

  struct sigaction action = { .sa_handler = on_signal };
  sigemptyset (&action.sa_mask);
  sigaction (SIGINT, &action, NULL);
  sigaction (SIGTERM, &action, NULL);
  signal (SIGPIPE, SIG_IGN);

  gboolean bad_input = FALSE, failed = FALSE;
  if (!json)
    print_table_header ();
  for (guint i = 0; i < files->len && !g_atomic_int_get (&stop_requested); i++)
    {
      g_autoptr(GError) load_error = NULL;
      g_autoptr(DsmScenario) scenario = dsm_scenario_new_from_file (files->pdata[i], &load_error);
      if (scenario == NULL)
        {
          g_printerr ("dsm-real: %s\n", load_error->message);
          bad_input = TRUE;
          continue;
        }
      if (run_one (files->pdata[i], scenario, &o) != EXIT_OK)
        failed = TRUE;
    }
  return bad_input ? EXIT_BAD_INPUT : failed ? EXIT_FAILED : EXIT_OK;
}

static const char *const summary =
  "Commands:\n"
  "  run [FILE|DIR] [--seed N] [--history FILE] [--json] [--keep] [--dir DIR]\n"
  "      [--record] [--node PATH] [--timeout-ms MS] [-q]\n"
  "                         run scenarios (default: the bundled folder) on real\n"
  "                         dsm-node processes; a line per step on stderr, a table\n"
  "\n"
  "Faults the real backend cannot make are skipped, each kind with its reason.\n"
  "Exit status: 0 all checks held, 1 a check failed, 2 bad input.\n"
  "docs/OPERATIONS.md, \"Two backends\", explains.";

int
main (int argc, char **argv)
{
  const char *program = argv[0];

  if (argc < 2 || g_strcmp0 (argv[1], "--help") == 0 || g_strcmp0 (argv[1], "-h") == 0)
    {
      g_print ("Usage: dsm-real COMMAND [OPTIONS]\n\n%s\n", summary);
      return argc < 2 ? EXIT_BAD_INPUT : EXIT_OK;
    }
  if (g_strcmp0 (argv[1], "--version") == 0)
    {
      g_print ("dsm-real %s\n", DSM_VERSION);
      return EXIT_OK;
    }
  const char *command = argv[1];
  argv[1] = argv[0];
  if (g_strcmp0 (command, "run") == 0)
    return cmd_run (argc - 1, argv + 1, program);
  return usage_error ("unknown command \"%s\"", command);
}
