/* tools/dsm-sim.c: the simulator's command line: run scenarios, explore
 * random ones, replay a trace, shrink a failure, prove the checkers on
 * planted bugs.  Argument parsing and printing only; sim/ does the work.
 * Exit status: 0 every check held, 1 a check failed, 2 bad input. */
#include <errno.h>
#include <glib.h>
#include <locale.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "dsm-sim-view.h"
#include "explore.h"
#include "explore-report.h"
#include "replay-node.h"
#include "node.h"
#include "output.h"
#include "sim.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_BAD_INPUT 2

static const char *program_path;
static const char *mutant_name;   /* the planted bug, in dsm-sim-mutant */

static int
usage_error (const char *format, ...) G_GNUC_PRINTF (1, 2);

static int
usage_error (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("dsm-sim: %s\n(see dsm-sim --help)\n", message);
  return EXIT_BAD_INPUT;
}

static gboolean
parse_options (GOptionContext *context, int *argc, char ***argv, int *status)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *status = usage_error ("%s", error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
write_file (const char *path, const char *contents, gsize length, GError **error)
{
  return dsm_output_write_simple (path, contents, length, error);
}

/* ---- run ---- */

static gboolean header_printed;

/* The header comes with the first row, so an error about a file that
 * does not load is not printed under an empty table. */
static void
print_table_header (void)
{
  if (header_printed)
    return;
  header_printed = TRUE;
  g_print ("%-40s %20s %8s %9s %10s %10s  %s\n", "scenario", "seed", "commits", "elections",
           "virtual", "events", "verdict");
}

static void
print_row (const DsmScenario *scenario, const DsmSimReport *r)
{
  print_table_header ();
  g_autofree char *virtual_s = g_strdup_printf ("%.1fs", r->virtual_ms / 1000.0);
  g_print ("%-40s %20" G_GUINT64_FORMAT " %8" G_GUINT64_FORMAT " %9" G_GUINT64_FORMAT " %10s %10" G_GUINT64_FORMAT "  %s\n",
           scenario->name, r->seed, r->commits, r->elections, virtual_s, r->events,
           r->ok ? "ok" : dsm_invariant_to_string (r->failed_invariant));
}

static void
print_failure (const char *path, const DsmScenario *scenario, const DsmSimReport *r)
{
  g_print ("FAILED %s: %s at t=%" G_GUINT64_FORMAT " ms: %s\n", scenario->name,
           dsm_invariant_to_string (r->failed_invariant), r->failed_at_ms, r->failure ? r->failure : "");
  g_autofree char *mutant_arg = mutant_name != NULL ? g_strdup_printf (" --mutant=%s", mutant_name) : g_strdup ("");
  /* The trace is named after the file run, not the scenario's name: a
   * shrunk file keeps its original's name, and its trace must not
   * overwrite the original's. */
  g_autofree char *base = path != NULL ? g_path_get_basename (path) : g_strdup (scenario->name);
  if (g_str_has_suffix (base, ".json"))
    base[strlen (base) - strlen (".json")] = '\0';
  g_print ("  replay: %s run %s --seed %" G_GUINT64_FORMAT " --trace %s.trace%s\n", program_path,
           path != NULL ? path : "SCENARIO.json", r->seed, base, mutant_arg);
}

typedef struct {
  gboolean has_seed;
  guint64 seed;
  const char *trace_path;
  const char *history_path;
  gboolean json;
  gboolean no_view;
  int mutant;
  gboolean last;            /* the process ends after this run */
} RunOptions;

/* The last run's simulator, left for the process's exit to reclaim:
 * freeing its objects one by one cost 6% of the benchmark run's
 * instructions (docs/BENCHMARKS.md, "Where the time goes").  Kept
 * reachable here, so it is no leak. */
static DsmSim *volatile left_for_exit;  /* volatile: never read, and an optimizer would drop the store */

/* One JSON object per scenario, every field of DsmSimReport plus the wall
 * time of the run (for tools/bench, docs/BENCHMARKS.md). */
static void
print_json (const DsmScenario *scenario, const DsmSimReport *r, double wall_s, guint64 unavailable_ms)
{
  g_print ("{\"scenario\":\"%s\",\"ok\":%s,\"failed_invariant\":\"%s\",\"seed\":%" G_GUINT64_FORMAT
           ",\"virtual_ms\":%" G_GUINT64_FORMAT ",\"events\":%" G_GUINT64_FORMAT
           ",\"messages_sent\":%" G_GUINT64_FORMAT ",\"messages_delivered\":%" G_GUINT64_FORMAT
           ",\"messages_dropped\":%" G_GUINT64_FORMAT ",\"messages_duplicated\":%" G_GUINT64_FORMAT
           ",\"messages_corrupted\":%" G_GUINT64_FORMAT ",\"ops\":%" G_GUINT64_FORMAT ",\"ops_ok\":%" G_GUINT64_FORMAT
           ",\"ops_rejected\":%" G_GUINT64_FORMAT ",\"ops_unknown\":%" G_GUINT64_FORMAT ",\"commits\":%" G_GUINT64_FORMAT
           ",\"entries_committed\":%" G_GUINT64_FORMAT ",\"elections\":%" G_GUINT64_FORMAT ",\"retries\":%" G_GUINT64_FORMAT
           ",\"snapshots_installed\":%" G_GUINT64_FORMAT ",\"invalid_messages\":%" G_GUINT64_FORMAT
           ",\"crashes\":%" G_GUINT64_FORMAT ",\"disk_alarms\":%" G_GUINT64_FORMAT ",\"fsyncs\":%" G_GUINT64_FORMAT
           ",\"lin_states\":%" G_GUINT64_FORMAT ",\"longest_unavailable_ms\":%" G_GUINT64_FORMAT ",\"wall_s\":%.6f}\n",
           scenario->name, r->ok ? "true" : "false", r->ok ? "" : dsm_invariant_to_string (r->failed_invariant), r->seed,
           r->virtual_ms, r->events, r->messages_sent, r->messages_delivered, r->messages_dropped,
           r->messages_duplicated, r->messages_corrupted, r->ops, r->ops_ok, r->ops_rejected, r->ops_unknown,
           r->commits, r->entries_committed, r->elections, r->retries, r->snapshots_installed, r->invalid_messages,
           r->crashes, r->disk_alarms, r->fsyncs, r->lin_states, unavailable_ms, wall_s);
}

/* "A..B" (or one seed "A"): seeds A to B, both included. */
static gboolean
parse_seed_range (const char *text, guint64 *first, guint64 *last, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text, "..", 2);

  if (!g_ascii_string_to_unsigned (parts[0], 10, 0, G_MAXINT64, first, error))
    return FALSE;
  *last = *first;
  if (parts[1] != NULL && !g_ascii_string_to_unsigned (parts[1], 10, 0, G_MAXINT64, last, error))
    return FALSE;
  if (*last < *first)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "\"%s\": the range A..B needs A <= B", text);
      return FALSE;
    }
  return TRUE;
}

/* Writes a failure's page (and its trace, unless @trace_path was written:
 * else next to the failing scenario's name in dsm-sim-failures/) and prints
 * its path (docs/SIMULATOR.md, "Seeing a run"). */
static void
print_page (const DsmScenario *scenario, guint64 seed, int mutant, const GString *trace, const char *trace_path,
            const DsmSimReport *report)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *default_path = NULL;

  if (trace_path == NULL)
    {
      g_autofree char *name = g_strdup_printf ("%s-%" G_GUINT64_FORMAT ".trace", scenario->name, seed);
      default_path = g_build_filename ("dsm-sim-failures", name, NULL);
      if (g_mkdir_with_parents ("dsm-sim-failures", 0755) != 0)
        {
          g_printerr ("dsm-sim: dsm-sim-failures: %s\n", g_strerror (errno));
          return;
        }
    }
  g_autofree char *page = dsm_sim_view_failure (scenario, seed, mutant, mutant_name, trace, trace_path ? trace_path : default_path,
                                                trace != NULL, report, &error);
  if (page == NULL)
    g_printerr ("dsm-sim: %s\n", error->message);
  else
    g_print ("  page: %s\n", page);
}

/* Runs one scenario; returns its exit status. */
static int
run_one (const char *path, const DsmScenario *scenario, const RunOptions *opts)
{
  g_autoptr(GString) trace = opts->trace_path != NULL ? g_string_new (NULL) : NULL;
  DsmSimOptions options = {
    .has_seed = opts->has_seed,
    .seed = opts->seed,
    .trace = trace,
    .mutant = opts->mutant,
  };
  DsmSimReport report = { 0 };
  g_autoptr(GError) error = NULL;

  if (trace != NULL)
    dsm_sim_write_trace_header_full (scenario, opts->has_seed ? opts->seed : scenario->seed, mutant_name, trace);
  gint64 started = g_get_monotonic_time ();
  g_autoptr(DsmSim) sim = dsm_sim_new (scenario, &options);
  dsm_sim_run (sim, &report);
  double wall_s = (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC;
  if (opts->json)
    {
      /* The same measure as dsm-real's, from the history. */
      const DsmWorkload *w = &scenario->workload;
      guint64 unavailable_ms = w->clients > 0 ? dsm_sim_longest_unavailable (sim, w->start_ms,
                                                                             w->start_ms + w->duration_ms)
                                              : 0;
      print_json (scenario, &report, wall_s, unavailable_ms);
    }
  else
    print_row (scenario, &report);
  if (trace != NULL && !write_file (opts->trace_path, trace->str, trace->len, &error))
    g_printerr ("dsm-sim: %s\n", error->message);
  g_clear_error (&error);
  if (opts->history_path != NULL)
    {
      g_autoptr(GString) history = g_string_new (NULL);
      dsm_sim_write_history (sim, history);
      if (!write_file (opts->history_path, history->str, history->len, &error))
        g_printerr ("dsm-sim: %s\n", error->message);
    }
  int status = report.ok ? EXIT_OK : EXIT_FAILED;
  if (!report.ok)
    {
      print_failure (path, scenario, &report);
      if (!opts->no_view)
        print_page (scenario, report.seed, opts->mutant, trace, opts->trace_path, &report);
    }
  dsm_sim_report_clear (&report);
  if (opts->last)
    left_for_exit = g_steal_pointer (&sim);
  return status;
}

static int
cmd_run (int argc, char **argv, int mutant)
{
  g_autofree char *seed_text = NULL;
  g_autofree char *seeds_text = NULL;
  g_autofree char *trace_path = NULL;
  g_autofree char *history_path = NULL;
  gboolean json = FALSE, no_view = FALSE;
  GOptionEntry entries[] = {
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "Run with this seed instead of the file's", "N" },
    { "seeds", 0, 0, G_OPTION_ARG_STRING, &seeds_text, "Run each scenario with every seed from A to B", "A..B" },
    { "no-view", 0, 0, G_OPTION_ARG_NONE, &no_view, "Write no trace and page for a failure", NULL },
    { "trace", 0, 0, G_OPTION_ARG_FILENAME, &trace_path, "Write the trace (JSON lines) here", "FILE" },
    { "history", 0, 0, G_OPTION_ARG_FILENAME, &history_path, "Write the client history (JSON lines) here", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print each run's report as one JSON object (with its wall time)", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[FILE|DIR] - run scenarios (default: the bundled ones)");
  int status = EXIT_OK;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!parse_options (context, &argc, &argv, &status))
    return status;
  if (argc > 2)
    return usage_error ("run takes one scenario file or folder");
  const char *target = argc == 2 ? argv[1] : DSM_SCENARIOS_DIR;

  RunOptions opts = { .trace_path = trace_path, .history_path = history_path, .json = json, .no_view = no_view,
                      .mutant = mutant };
  guint64 last_seed = 0;
  if (seed_text != NULL && seeds_text != NULL)
    return usage_error ("--seed and --seeds: give one or the other");
  if (seed_text != NULL)
    {
      g_autoptr(GError) error = NULL;
      if (!g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXINT64, &opts.seed, &error))
        return usage_error ("--seed: %s", error->message);
      opts.has_seed = TRUE;
      last_seed = opts.seed;
    }
  if (seeds_text != NULL)
    {
      g_autoptr(GError) error = NULL;
      if (!parse_seed_range (seeds_text, &opts.seed, &last_seed, &error))
        return usage_error ("--seeds: %s", error->message);
      opts.has_seed = TRUE;
      if (last_seed != opts.seed && (trace_path != NULL || history_path != NULL))
        return usage_error ("--trace and --history need a single seed, not a range");
    }

  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) files = dsm_scenario_list_files (target, &error);
  if (files == NULL)
    return usage_error ("%s", error->message);
  if (files->len == 0)
    return usage_error ("%s: no scenario files (*.json)", target);
  if (files->len > 1 && (trace_path != NULL || history_path != NULL))
    return usage_error ("--trace and --history need a single scenario, not a folder");

  gboolean bad_input = FALSE;
  guint64 runs = 0, failures = 0;
  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr(GError) load_error = NULL;
      g_autoptr(DsmScenario) scenario = dsm_scenario_new_from_file (files->pdata[i], &load_error);
      if (scenario == NULL)
        {
          g_printerr ("dsm-sim: %s\n", load_error->message);
          bad_input = TRUE;
          continue;
        }
      RunOptions one = opts;
      do
        {
          runs++;
          one.last = i + 1 == files->len && (seeds_text == NULL || one.seed == last_seed);
          if (run_one (files->pdata[i], scenario, &one) != EXIT_OK)
            failures++;
        }
      while (seeds_text != NULL && one.seed++ < last_seed);
    }
  if (seeds_text != NULL && !json)
    g_print ("%" G_GUINT64_FORMAT " runs, %" G_GUINT64_FORMAT " failed\n", runs, failures);
  return bad_input ? EXIT_BAD_INPUT : failures > 0 ? EXIT_FAILED : EXIT_OK;
}

/* ---- replay ---- */

static int
cmd_replay (int argc, char **argv, int mutant)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("TRACE - re-run a trace and compare it event for event");
  int status = EXIT_OK;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (!parse_options (context, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error ("replay takes one trace file");
  if (!g_file_get_contents (argv[1], &contents, &length, &error))
    return usage_error ("%s", error->message);

  const char *newline = memchr (contents, '\n', length);
  if (newline == NULL)
    return usage_error ("%s: no header line", argv[1]);
  g_autoptr(JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, contents, newline - contents, &error))
    return usage_error ("%s: line 1: %s", argv[1], error->message);
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *header = JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  if (header == NULL || !json_object_has_member (header, "dsm_trace") || !json_object_has_member (header, "scenario")
      || !json_object_has_member (header, "seed"))
    return usage_error ("%s: line 1 is not a dsm trace header", argv[1]);
  guint64 seed = (guint64) json_object_get_int_member (header, "seed");
  /* A trace made with a planted bug replays only with that bug. */
  const char *traced_mutant = json_object_has_member (header, "mutant")
                                  ? json_object_get_string_member_with_default (header, "mutant", "?")
                                  : NULL;
#ifdef DSM_MUTANTS
  if (traced_mutant != NULL && mutant_name == NULL)
    {
      for (int m = 1; m < DSM_MUTANT_N; m++)
        if (g_strcmp0 (traced_mutant, dsm_mutant_to_string ((DsmMutant) m)) == 0)
          mutant = m;
      if (mutant == 0)
        return usage_error ("%s: made with the planted bug \"%s\", which this build does not have", argv[1],
                            traced_mutant);
      mutant_name = traced_mutant;
    }
#endif
  if (g_strcmp0 (traced_mutant, mutant_name) != 0)
    {
      if (traced_mutant == NULL)
        return usage_error ("%s: made without a planted bug; replay it without --mutant", argv[1]);
      if (mutant_name == NULL)
        return usage_error ("%s: made with the planted bug \"%s\": replay it with dsm-sim-mutant replay %s",
                            argv[1], traced_mutant, argv[1]);
      return usage_error ("%s: made with the planted bug \"%s\", not \"%s\"", argv[1], traced_mutant, mutant_name);
    }
  g_autoptr(DsmScenario) scenario = dsm_scenario_new_from_json (json_object_get_member (header, "scenario"),
                                                                "trace", &error);
  if (scenario == NULL)
    return usage_error ("%s: header: %s", argv[1], error->message);

  g_autoptr(GString) trace = g_string_new (NULL);
  dsm_sim_write_trace_header_full (scenario, seed, mutant_name, trace);
  DsmSimOptions options = { .has_seed = TRUE, .seed = seed, .trace = trace, .mutant = mutant };
  DsmSimReport report = { 0 };
  g_autoptr(DsmSim) sim = dsm_sim_new (scenario, &options);
  dsm_sim_run (sim, &report);
  print_table_header ();
  print_row (scenario, &report);
  dsm_sim_report_clear (&report);

  /* Compare line by line and show the first divergence. */
  guint line = 1;
  gsize a = 0, b = 0;
  while (a < length && b < trace->len)
    {
      const char *ea = memchr (contents + a, '\n', length - a);
      const char *eb = memchr (trace->str + b, '\n', trace->len - b);
      gsize la = ea ? (gsize) (ea - contents) - a : length - a;
      gsize lb = eb ? (gsize) (eb - trace->str) - b : trace->len - b;
      if (la != lb || memcmp (contents + a, trace->str + b, la) != 0)
        {
          g_print ("DIVERGED at line %u:\n  trace:  %.*s\n  replay: %.*s\n", line, (int) MIN (la, 400),
                   contents + a, (int) MIN (lb, 400), trace->str + b);
          return EXIT_FAILED;
        }
      a += la + 1;
      b += lb + 1;
      line++;
    }
  if (a < length || b < trace->len)
    {
      g_print ("DIVERGED at line %u: one run ended before the other (trace %" G_GSIZE_FORMAT " bytes, replay %" G_GSIZE_FORMAT ")\n",
               line, length, trace->len);
      return EXIT_FAILED;
    }
  g_print ("identical: %u events, %" G_GSIZE_FORMAT " bytes\n", line - 2, length);
  return EXIT_OK;
}

/* ---- replay-node ---- */

/* Recordings are read whole: bounded first. */
#define RECORDING_BYTES_MAX (G_GUINT64_CONSTANT (4) << 30)

static int
cmd_replay_node (int argc, char **argv, int mutant)
{
  g_autofree char *trace_path = NULL;
  GOptionEntry entries[] = {
    { "trace", 0, 0, G_OPTION_ARG_FILENAME, &trace_path, "Write every input and output (JSON lines) here", "FILE" },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("RECORDING - replay a recorded real node (dsm-node --record)");
  int status = EXIT_OK;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  GStatBuf st;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!parse_options (context, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error ("replay-node takes one recording");
  if (g_stat (argv[1], &st) == 0 && (guint64) st.st_size > RECORDING_BYTES_MAX)
    return usage_error ("%s: larger than %" G_GUINT64_FORMAT " bytes", argv[1], RECORDING_BYTES_MAX);
  if (!g_file_get_contents (argv[1], &contents, &length, &error))
    return usage_error ("%s", error->message);

  g_autoptr(GString) trace = trace_path != NULL ? g_string_new (NULL) : NULL;
  DsmReplayNodeReport report = { 0 };
  if (!dsm_replay_node (contents, length, trace, &report, &error))
    return usage_error ("%s: %s", argv[1], error->message);
  if (trace != NULL && !write_file (trace_path, trace->str, trace->len, &error))
    g_printerr ("dsm-sim: %s\n", error->message);
  if (report.identical)
    g_print ("identical: %" G_GUINT64_FORMAT " inputs, %" G_GUINT64_FORMAT " drains%s%s\n", report.inputs,
             report.drains, report.end != NULL ? "; the recording ended: " : "; the recording stops short (no end line)",
             report.end != NULL ? report.end : "");
  else
    g_print ("DIVERGED after %" G_GUINT64_FORMAT " inputs: %s\n", report.inputs, report.diverged);
  status = report.identical ? EXIT_OK : EXIT_FAILED;
  dsm_replay_node_report_clear (&report);
  return status;
}

/* ---- explore ---- */

typedef struct {
  guint64 first;
  guint64 seeds;
  guint nodes;
  const DsmScenario *base;
  const char *out_dir;
  gboolean lost_fsync;
  gboolean no_membership;
  gboolean disk_full;
  guint attack_percent;
  gboolean swarm;
  gboolean stop_first;
  gboolean quiet;
  gboolean announce;   /* "trying SEED" on stdout, for cmd_mutants's child */
  gboolean no_view;
  int mutant;
  FILE *report;        /* nullable: the report's failure lines go here */
} ExploreOptions;

/* Returns the first failing seed's report in @first_failure (if any). */
static guint64
explore (const ExploreOptions *o, guint64 *failed_seed, DsmInvariant *failed_invariant, guint64 *explored)
{
  DsmExploreOptions gen = { .nodes = o->nodes, .base = o->base, .allow_lost_fsync = o->lost_fsync,
                            .no_membership = o->no_membership, .allow_disk_full = o->disk_full,
                            .attack_percent = o->attack_percent, .swarm = o->swarm };
  guint64 failures = 0;
  gint64 started = g_get_monotonic_time ();
  gint64 last_progress = started;

  for (guint64 i = 0; i < o->seeds; i++)
    {
      guint64 seed = o->first + i;
      g_autoptr(GError) error = NULL;
      g_autoptr(DsmScenario) scenario = dsm_explore_generate (seed, &gen, &error);
      if (scenario == NULL)
        {
          g_printerr ("dsm-sim: seed %" G_GUINT64_FORMAT ": %s\n", seed, error->message);
          failures++;
          continue;
        }
      if (o->announce)
        {
          g_print ("trying %" G_GUINT64_FORMAT "\n", seed);
          fflush (stdout);
        }
      DsmSimOptions options = { .mutant = o->mutant };
      DsmSimReport report = { 0 };
      g_autoptr(DsmSim) sim = dsm_sim_new (scenario, &options);
      dsm_sim_run (sim, &report);
      if (!report.ok)
        {
          failures++;
          g_autofree char *name = g_strdup_printf ("explore-%" G_GUINT64_FORMAT ".json", seed);
          g_autofree char *path = g_build_filename (o->out_dir, name, NULL);
          if (!o->quiet)
            print_failure (path, scenario, &report);
          g_autofree char *json = dsm_scenario_to_json (scenario);
          if (g_mkdir_with_parents (o->out_dir, 0755) != 0)
            g_printerr ("dsm-sim: %s: %s\n", o->out_dir, g_strerror (errno));
          else if (!write_file (path, json, strlen (json), &error))
            g_printerr ("dsm-sim: %s\n", error->message);
          else if (!o->no_view)
            {
              g_autofree char *trace_name = g_strdup_printf ("explore-%" G_GUINT64_FORMAT ".trace", seed);
              g_autofree char *trace_path = g_build_filename (o->out_dir, trace_name, NULL);
              g_autofree char *page = dsm_sim_view_failure (scenario, report.seed, o->mutant, mutant_name, NULL, trace_path, FALSE,
                                                            &report, &error);
              if (page == NULL)
                g_printerr ("dsm-sim: %s\n", error->message);
              else if (!o->quiet)
                g_print ("  page: %s\n", page);
            }
          g_clear_error (&error);
          if (o->report != NULL)
            {
              g_autoptr(GString) line = g_string_new (NULL);
              dsm_explore_report_failure (line, seed, &report, path);
              fputs (line->str, o->report);
              fflush (o->report);
            }
          if (failures == 1)
            {
              *failed_seed = seed;
              *failed_invariant = report.failed_invariant;
            }
        }
      dsm_sim_report_clear (&report);
      *explored = i + 1;
      if (failures > 0 && o->stop_first)
        break;
      gint64 now = g_get_monotonic_time ();
      if (!o->quiet && (now - last_progress > G_USEC_PER_SEC || i + 1 == o->seeds))
        {
          double elapsed = (now - started) / (double) G_USEC_PER_SEC;
          double rate = (i + 1) / MAX (elapsed, 1e-6);
          guint64 left_s = (guint64) ((o->seeds - i - 1) / rate + 0.5);
          g_printerr ("explored %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " seeds, %" G_GUINT64_FORMAT
                      " failed, %.0f seeds/s, %" G_GUINT64_FORMAT ":%02" G_GUINT64_FORMAT ":%02" G_GUINT64_FORMAT " left\n",
                      i + 1, o->seeds, failures, rate, left_s / 3600, left_s / 60 % 60, left_s % 60);
          last_progress = now;
        }
    }
  return failures;
}

static int
cmd_explore (int argc, char **argv, int mutant)
{
  g_autofree char *seeds_text = NULL, *first_text = NULL, *nodes_text = NULL, *base_path = NULL;
  g_autofree char *out_dir = NULL, *attack_text = NULL;
  gboolean lost_fsync = FALSE, no_membership = FALSE, disk_full = FALSE, stop_first = FALSE, quiet = FALSE;
  gboolean announce = FALSE, swarm = FALSE;
  g_autofree char *shard_text = NULL, *report_path = NULL;
  gboolean no_view = FALSE;
  GOptionEntry entries[] = {
    { "seeds", 0, 0, G_OPTION_ARG_STRING, &seeds_text, "How many seeds (default 100)", "N" },
    { "first", 0, 0, G_OPTION_ARG_STRING, &first_text, "First seed (default 1)", "S" },
    { "nodes", 0, 0, G_OPTION_ARG_STRING, &nodes_text, "Cluster size (default 5, or the base's)", "N" },
    { "base", 0, 0, G_OPTION_ARG_FILENAME, &base_path, "Take cluster, network and disk from this scenario", "FILE" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out_dir, "Write failing scenarios here (default dsm-explore-failures)", "DIR" },
    { "lost-fsync", 0, 0, G_OPTION_ARG_NONE, &lost_fsync, "Also lose fsyncs (outside what consensus survives)", NULL },
    { "no-membership", 0, 0, G_OPTION_ARG_NONE, &no_membership, "No membership changes or leadership transfers", NULL },
    { "disk-full", 0, 0, G_OPTION_ARG_NONE, &disk_full, "Also fill disks and give them room again", NULL },
    { "attack-percent", 0, 0, G_OPTION_ARG_STRING, &attack_text,
      "Seeds in 100 that also get an attacker: forged, replayed, spoofed frames (default 10)", "P" },
    { "stop-first", 0, 0, G_OPTION_ARG_NONE, &stop_first, "Stop at the first failure", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "No progress or failure details", NULL },
    { "swarm", 0, 0, G_OPTION_ARG_NONE, &swarm, "Each seed also draws how hard its faults hit", NULL },
    { "shard", 0, 0, G_OPTION_ARG_STRING, &shard_text, "Explore only block K of N of the seeds", "K/N" },
    { "report", 0, 0, G_OPTION_ARG_FILENAME, &report_path, "Write the machine-readable report (JSON lines) here", "FILE" },
    { "announce-seeds", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &announce, "Print each seed before running it", NULL },
    { "no-view", 0, 0, G_OPTION_ARG_NONE, &no_view, "Write no trace and page for a failure", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- run random fault schedules");
  int status = EXIT_OK;
  guint64 seeds = 100, first = 1, nodes = 0, attack_percent = 10;
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!parse_options (context, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return usage_error ("explore takes no arguments besides options");
  if ((seeds_text && !g_ascii_string_to_unsigned (seeds_text, 10, 1, G_MAXUINT64, &seeds, &error))
      || (first_text && !g_ascii_string_to_unsigned (first_text, 10, 0, G_MAXINT64 / 2, &first, &error))
      || (nodes_text && !g_ascii_string_to_unsigned (nodes_text, 10, 1, 51, &nodes, &error))
      || (attack_text && !g_ascii_string_to_unsigned (attack_text, 10, 0, 100, &attack_percent, &error)))
    return usage_error ("%s", error->message);
  g_autoptr(DsmScenario) base = NULL;
  if (base_path != NULL && (base = dsm_scenario_new_from_file (base_path, &error)) == NULL)
    return usage_error ("%s", error->message);
  ExploreOptions o = {
    .first = first, .seeds = seeds, .nodes = (guint) nodes, .base = base,
    .out_dir = out_dir != NULL ? out_dir : "dsm-explore-failures", .lost_fsync = lost_fsync,
    .no_membership = no_membership,
    .disk_full = disk_full, .attack_percent = (guint) attack_percent,
    .swarm = swarm,
    .stop_first = stop_first, .quiet = quiet, .announce = announce, .no_view = no_view,
    .mutant = mutant,
  };
  guint shard = 1, shards = 1;
  if (shard_text != NULL && !dsm_explore_shard_parse (shard_text, &shard, &shards, &error))
    return usage_error ("%s", error->message);
  dsm_explore_shard_range (first, seeds, shard, shards, &o.first, &o.seeds);
  if (report_path != NULL && (o.report = fopen (report_path, "w")) == NULL)
    return usage_error ("%s: %s", report_path, g_strerror (errno));
  if (o.report != NULL)
    {
      /* What changes what a seed does: shards of one run agree on it. */
      g_autofree char *options = g_strdup_printf ("nodes=%u base=%s lost_fsync=%d no_membership=%d disk_full=%d "
                                                  "attack_percent=%u stop_first=%d swarm=%d mutant=%s",
                                                  o.nodes, base_path ? base_path : "-", lost_fsync, no_membership,
                                                  disk_full, (guint) attack_percent, stop_first, swarm,
                                                  mutant_name ? mutant_name : "-");
      g_autoptr(GString) header = g_string_new (NULL);
      dsm_explore_report_header (header, first, seeds, shard, shards, o.first, o.seeds, options);
      fputs (header->str, o.report);
      fflush (o.report);
    }
  guint64 failed_seed = 0;
  DsmInvariant failed_invariant = DSM_INVARIANT_N;
  gint64 started = g_get_monotonic_time ();
  guint64 explored = 0;
  guint64 failures = o.seeds > 0 ? explore (&o, &failed_seed, &failed_invariant, &explored) : 0;
  if (o.report != NULL)
    {
      g_autoptr(GString) end = g_string_new (NULL);
      dsm_explore_report_end (end, explored, failures, (g_get_monotonic_time () - started) / (double) G_USEC_PER_SEC);
      fputs (end->str, o.report);
      if (fclose (o.report) != 0)
        g_printerr ("dsm-sim: %s: %s\n", report_path, g_strerror (errno));
    }
  if (mutant != 0 && failures > 0)
    g_print ("caught %" G_GUINT64_FORMAT " %s\n", failed_seed, dsm_invariant_to_string (failed_invariant));
  return failures > 0 ? EXIT_FAILED : EXIT_OK;
}

/* ---- merge ---- */

/* Reports are read whole: bounded first. */
#define REPORT_BYTES_MAX (G_GUINT64_CONSTANT (1) << 30)

static int
cmd_merge (int argc, char **argv, int mutant)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("REPORT... - merge the reports of an exploration's shards");
  int status = EXIT_OK;
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;

  if (!parse_options (context, &argc, &argv, &status))
    return status;
  if (argc < 2)
    return usage_error ("merge takes the shards' report files");
  for (int i = 1; i < argc; i++)
    {
      GStatBuf st;
      char *text = NULL;
      if (g_stat (argv[i], &st) == 0 && (guint64) st.st_size > REPORT_BYTES_MAX)
        return usage_error ("%s: larger than %" G_GUINT64_FORMAT " bytes", argv[i], REPORT_BYTES_MAX);
      if (!g_file_get_contents (argv[i], &text, NULL, &error))
        return usage_error ("%s", error->message);
      g_ptr_array_add (texts, text);
      g_ptr_array_add (names, argv[i]);
    }
  g_autoptr(GString) merged = g_string_new (NULL);
  guint64 failed = 0;
  if (!dsm_explore_report_merge (texts, names, merged, &failed, &error))
    return usage_error ("%s", error->message);
  g_print ("%s", merged->str);
  return failed > 0 ? EXIT_FAILED : EXIT_OK;
}

/* ---- shrink ---- */

/* Runs @scenario with @seed (tracing into @trace, nullable); returns how
 * many client operations it issued. */
static guint
shrink_run (const DsmScenario *scenario, guint64 seed, int mutant, GString *trace, DsmSimReport *report)
{
  DsmSimOptions options = { .has_seed = TRUE, .seed = seed, .mutant = mutant, .trace = trace };
  g_autoptr(DsmSim) sim = dsm_sim_new (scenario, &options);

  dsm_sim_run (sim, report);
  return dsm_sim_get_n_ops (sim);
}

static int
cmd_shrink (int argc, char **argv, int mutant)
{
  g_autofree char *seed_text = NULL, *out_path = NULL;
  gboolean no_view = FALSE;
  int max_runs = 0;
  GOptionEntry entries[] = {
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_text, "The failing seed (default: the file's)", "N" },
    { "max-runs", 0, 0, G_OPTION_ARG_INT, &max_runs, "The budget of candidate runs (default 4000)", "N" },
    { "no-view", 0, 0, G_OPTION_ARG_NONE, &no_view, "Write no trace and page for the shrunk failure", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Write the minimized scenario here", "OUT" },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("FILE - minimize a failing scenario");
  int status = EXIT_OK;
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!parse_options (context, &argc, &argv, &status))
    return status;
  if (argc != 2 || out_path == NULL)
    return usage_error ("shrink takes a scenario file and -o OUT");
  if (max_runs < 0)
    return usage_error ("--max-runs: expected a count of runs, found %d", max_runs);
  g_autoptr(DsmScenario) scenario = dsm_scenario_new_from_file (argv[1], &error);
  if (scenario == NULL)
    return usage_error ("%s", error->message);
  guint64 seed = scenario->seed;
  if (seed_text != NULL && !g_ascii_string_to_unsigned (seed_text, 10, 0, G_MAXINT64, &seed, &error))
    return usage_error ("--seed: %s", error->message);

  DsmSimReport report = { 0 };
  guint ops_before = shrink_run (scenario, seed, mutant, NULL, &report);
  if (report.ok)
    return usage_error ("%s does not fail with seed %" G_GUINT64_FORMAT ": nothing to shrink", argv[1], seed);
  g_autofree char *signature = dsm_failure_signature (scenario, &report);
  g_print ("fails with %s: %s\nsignature: %s\n", dsm_invariant_to_string (report.failed_invariant), report.failure,
           signature);
  dsm_sim_report_clear (&report);

  guint attempts = 0;
  gint64 started = g_get_monotonic_time ();
  g_autoptr(DsmScenario) smaller = dsm_shrink (scenario, seed, signature, mutant, (guint) max_runs, &attempts);
  double seconds = (double) (g_get_monotonic_time () - started) / G_USEC_PER_SEC;
  guint budget = max_runs > 0 ? (guint) max_runs : dsm_shrink_default_runs ();
  g_autoptr(GString) trace = g_string_new (NULL);
  dsm_sim_write_trace_header_full (smaller, seed, mutant_name, trace);
  guint ops_after = shrink_run (smaller, seed, mutant, trace, &report);
  g_autofree char *after = report.ok ? g_strdup ("ok") : dsm_failure_signature (smaller, &report);
  /* dsm_shrink() keeps only runs with the signature: anything else is our bug. */
  g_assert (g_strcmp0 (after, signature) == 0);
  g_autofree char *json = dsm_scenario_to_json (smaller);
  g_autofree char *stem = g_str_has_suffix (out_path, ".json") ? g_strndup (out_path, strlen (out_path) - 5)
                                                                  : g_strdup (out_path);
  g_autofree char *trace_path = g_strdup_printf ("%s.trace", stem);
  if (!write_file (out_path, json, strlen (json), &error)
      || (!no_view && !write_file (trace_path, trace->str, trace->len, &error)))
    return usage_error ("%s", error->message);
  g_print ("shrunk in %u runs%s, %.1f s of wall time, the same failure: %s\n", attempts,
           attempts >= budget ? " (the budget: not minimal)" : "", seconds, report.failure);
  g_print ("%-12s %8s %8s\n", "", "before", "after");
  g_print ("%-12s %8u %8u\n", "steps", scenario->steps->len, smaller->steps->len);
  g_print ("%-12s %8u %8u\n", "fault steps", dsm_shrink_fault_steps (scenario), dsm_shrink_fault_steps (smaller));
  g_print ("%-12s %8u %8u\n", "nodes", scenario->config->n_nodes, smaller->config->n_nodes);
  g_print ("%-12s %8u %8u\n", "clients", scenario->workload.clients, smaller->workload.clients);
  g_print ("%-12s %8u %8u\n", "operations", ops_before, ops_after);
  g_print ("%-12s %8u %8u\n", "machines", scenario->workload.machines, smaller->workload.machines);
  g_print ("%-12s %8" G_GUINT64_FORMAT " %8" G_GUINT64_FORMAT "\n", "duration_ms", scenario->workload.duration_ms,
           smaller->workload.duration_ms);
  if (no_view)
    g_print ("wrote %s\n", out_path);
  else
    {
      /* The shrunk failure's trace (the header names the planted bug, so
       * replay takes it from there) and its page, next to it. */
      g_print ("wrote %s and %s\n", out_path, trace_path);
      g_print ("  replay: %s replay %s\n", program_path, trace_path);
      g_autofree char *page = dsm_sim_view_failure (smaller, seed, mutant, mutant_name, trace, trace_path, TRUE, &report,
                                                    &error);
      if (page == NULL)
        g_printerr ("dsm-sim: %s\n", error->message);
      else
        g_print ("  page: %s\n", page);
    }
  dsm_sim_report_clear (&report);
  return EXIT_OK;
}

/* ---- mutants ---- */

#ifdef DSM_MUTANTS
/* Runs one mutant's exploration in a child, so a planted bug that trips
 * an assertion is reported as caught by it rather than killing us all. */
static int
mutant_hunt (DsmMutant mutant, guint64 first, guint64 seeds, gboolean swarm, guint64 *needed, char **caught_by)
{
  g_autofree char *seeds_arg = g_strdup_printf ("--seeds=%" G_GUINT64_FORMAT, seeds);
  g_autofree char *first_arg = g_strdup_printf ("--first=%" G_GUINT64_FORMAT, first);
  g_autofree char *mutant_arg = g_strdup_printf ("--mutant=%s", dsm_mutant_to_string (mutant));
  g_autofree char *out_dir = g_dir_make_tmp ("dsm-mutant-XXXXXX", NULL);
  g_autofree char *out_arg = g_strdup_printf ("--out=%s", out_dir ? out_dir : "/tmp");
  const char *child[] = { program_path, "explore", seeds_arg, first_arg, mutant_arg, out_arg,
                          "--stop-first", "--quiet", "--announce-seeds", swarm ? "--swarm" : NULL, NULL };
  g_autofree char *out = NULL;
  int wait_status = 0;
  g_autoptr(GError) error = NULL;

  if (!g_spawn_sync (NULL, (char **) child, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL,
                     &wait_status, &error))
    {
      *caught_by = g_strdup (error->message);
      return -1;
    }
  if (out_dir != NULL)
    {
      g_autoptr(GDir) dir = g_dir_open (out_dir, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (out_dir, name, NULL);
          g_unlink (path);
        }
      g_rmdir (out_dir);
    }
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  guint64 last_tried = 0;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint64 seed = 0;
      char invariant[64];
      if (sscanf (lines[i], "trying %" G_GUINT64_FORMAT, &seed) == 1)
        last_tried = seed;
      else if (sscanf (lines[i], "caught %" G_GUINT64_FORMAT " %63s", &seed, invariant) == 2)
        {
          *needed = seed - first + 1;
          *caught_by = g_strdup (invariant);
          return 1;
        }
    }
  if (WIFSIGNALED (wait_status) && last_tried != 0)
    {
      *needed = last_tried - first + 1;
      *caught_by = g_strdup_printf ("assertion (signal %d)", WTERMSIG (wait_status));
      return 1;
    }
  return 0;
}

/* Planted bugs exploration cannot reach, or seldom does, each with the
 * bundled scenario that runs the code they break (docs/CHECKERS.md,
 * "Mutants"): the explorer draws no watchers, nor payloads; Raft's figure 8
 * needs three leaders in a row, each cut off at the right message, which a
 * swarm draws about once in several thousand seeds. */
static const char *
mutant_scenario (DsmMutant mutant)
{
  if (mutant == DSM_MUTANT_COMMIT_OLD_EPOCH)
    return "figure-eight.json";
  if (mutant == DSM_MUTANT_WATCH_SKIP_ON_RESUME)
    return "watch-leader-crash.json";
  if (mutant == DSM_MUTANT_APPLY_IGNORES_IF_REVISION || mutant == DSM_MUTANT_MERGE_DROPS_KEYS)
    return "compare-and-set.json";
  if (mutant == DSM_MUTANT_HEARTBEAT_SAME_ROUND)
    return "idle-leader.json";
  return NULL;
}

/* Runs the bundled @scenario_name with @mutant planted on seeds @first,
 * @first + 1, ... (at most @seeds of them) until a run fails; 1 when one
 * did (@needed and @caught_by say how), 0 when none, -1 when the scenario
 * cannot be read (@caught_by says why). */
static int
mutant_hunt_scenario (DsmMutant mutant, const char *scenario_name, guint64 first, guint64 seeds, guint64 *needed,
                      char **caught_by)
{
  g_autofree char *path = g_build_filename (DSM_SCENARIOS_DIR, scenario_name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmScenario) scenario = dsm_scenario_new_from_file (path, &error);

  if (scenario == NULL)
    {
      *caught_by = g_strdup (error->message);
      return -1;
    }
  for (guint64 i = 0; i < seeds; i++)
    {
      DsmSimOptions options = { .has_seed = TRUE, .seed = first + i, .mutant = mutant };
      g_autoptr(DsmSim) sim = dsm_sim_new (scenario, &options);
      DsmSimReport report = { 0 };

      dsm_sim_run (sim, &report);
      gboolean ok = report.ok;
      if (!ok)
        {
          *needed = i + 1;
          *caught_by = g_strdup_printf ("%s, on scenarios/%s", dsm_invariant_to_string (report.failed_invariant),
                                        scenario_name);
        }
      dsm_sim_report_clear (&report);
      if (!ok)
        return 1;
    }
  return 0;
}

/* With --mutant=NAME (@only), that planted bug's row alone: each row's hunt
 * is independent of the others (its own seeds from @first), so the row is
 * the one the whole table prints. */
static int
cmd_mutants (int argc, char **argv, int only)
{
  g_autofree char *seeds_text = NULL, *first_text = NULL;
  gboolean swarm = FALSE;
  GOptionEntry entries[] = {
    { "seeds", 0, 0, G_OPTION_ARG_STRING, &seeds_text, "Seeds to try per mutant (default 20000)", "N" },
    { "first", 0, 0, G_OPTION_ARG_STRING, &first_text, "First seed (default 1)", "S" },
    { "swarm", 0, 0, G_OPTION_ARG_NONE, &swarm, "Explore in swarm mode (explore --swarm)", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- show the checkers catch planted protocol bugs");
  int status = EXIT_OK;
  guint64 seeds = 20000, first = 1;
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!parse_options (context, &argc, &argv, &status))
    return status;
  if ((seeds_text && !g_ascii_string_to_unsigned (seeds_text, 10, 1, G_MAXUINT64, &seeds, &error))
      || (first_text && !g_ascii_string_to_unsigned (first_text, 10, 0, G_MAXUINT64, &first, &error)))
    return usage_error ("%s", error->message);

  gboolean all = TRUE;
  g_print ("%-26s %12s  %s\n", "mutant", "seeds needed", "caught by");
  for (int m = 1; m < DSM_MUTANT_N; m++)
    {
      if (only != 0 && m != only)
        continue;
      guint64 needed = 0;
      g_autofree char *caught_by = NULL;
      const char *scenario = mutant_scenario ((DsmMutant) m);
      int found = scenario != NULL ? mutant_hunt_scenario ((DsmMutant) m, scenario, first, seeds, &needed, &caught_by)
                                   : mutant_hunt ((DsmMutant) m, first, seeds, swarm, &needed, &caught_by);
      if (found == 1)
        g_print ("%-26s %12" G_GUINT64_FORMAT "  %s\n", dsm_mutant_to_string ((DsmMutant) m), needed, caught_by);
      else
        {
          all = FALSE;
          g_print ("%-26s %12s  NOT CAUGHT in %" G_GUINT64_FORMAT " seeds%s%s\n", dsm_mutant_to_string ((DsmMutant) m),
                   "-", seeds, caught_by ? ": " : "", caught_by ? caught_by : "");
        }
    }
  return all ? EXIT_OK : EXIT_FAILED;
}
#else
/* The planted bugs live only in dsm-sim-mutant: this build cannot reach them. */
static int
cmd_mutants (int argc, char **argv, int unused)
{
  g_autofree char *dir = g_path_get_dirname (program_path);
  g_autofree char *mutant_path = g_build_filename (dir, "dsm-sim-mutant", NULL);
  int wait_status = 0;
  g_autoptr(GError) error = NULL;

  if (!g_file_test (mutant_path, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_free (mutant_path);
      mutant_path = g_find_program_in_path ("dsm-sim-mutant");
    }
  if (mutant_path == NULL)
    return usage_error ("dsm-sim-mutant is not next to dsm-sim nor in PATH");
  argv[0] = mutant_path;
  g_autoptr(GPtrArray) child = g_ptr_array_new ();
  g_ptr_array_add (child, mutant_path);
  g_ptr_array_add (child, "mutants");
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (child, argv[i]);
  g_ptr_array_add (child, NULL);
  if (!g_spawn_sync (NULL, (char **) child->pdata, NULL, G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, NULL, NULL,
                     &wait_status, &error))
    return usage_error ("%s", error->message);
  return WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : EXIT_FAILED;
}
#endif

/* ---- main ---- */

/* The synopsis is docs/SIMULATOR.md's "The command line", line for line:
 * /sim/cli/help-matches-docs holds the two, and every command's options,
 * together. */
static const char *const summary =
  "  dsm-sim run [FILE|DIR] [--seed N | --seeds A..B] [--trace FILE] [--history FILE] [--json] [--no-view]\n"
  "  dsm-sim explore [--seeds N] [--first S] [--nodes N] [--base FILE] [--out DIR]\n"
  "                  [--lost-fsync] [--no-membership] [--disk-full] [--attack-percent P]\n"
  "                  [--stop-first] [-q] [--no-view] [--swarm] [--shard K/N] [--report FILE]\n"
  "  dsm-sim merge REPORT...\n"
  "  dsm-sim replay TRACE\n"
  "  dsm-sim replay-node RECORDING [--trace FILE]\n"
  "  dsm-sim shrink FILE [--seed N] -o OUT [--max-runs N] [--no-view]\n"
  "  dsm-sim view [TRACE] [--history FILE] [-o OUT]\n"
  "  dsm-sim mutants [--seeds N] [--first S] [--swarm]\n"
  "  dsm-sim-mutant COMMAND ... --mutant=NAME\n"
  "\n"
  "Commands:\n"
  "  run          run scenarios (default: the bundled folder): a table, and a replay\n"
  "               line per failure\n"
  "  explore      random fault schedules, one per seed; a shard of them\n"
  "  merge        the shards' reports as one run's, failures in seed order\n"
  "  replay       re-run a trace from its header and compare every event\n"
  "  replay-node  replay a real node's recording (dsm-node --record) through a core\n"
  "               and compare every output\n"
  "  shrink       minimize a failing scenario, keeping its failure\n"
  "  mutants      show every planted protocol bug is caught (dsm-sim-mutant has them)\n"
  "  view         draw a run (a trace, a history) as one self-contained HTML page;\n"
  "               run, explore and shrink write one for every failure\n"
  "\n"
  "Exit status: 0 all checks held, 1 a check failed, 2 bad input.\n"
  "Each command takes --help.  docs/SIMULATOR.md and docs/SCENARIOS.md explain.";

/* The allocator's policy for long runs (docs/BENCHMARKS.md, "The
 * allocator's slack"): a block of 128 KiB or more (a snapshot, a node's
 * log array, a chunk of the history) always gets pages of its own, given
 * back when it is freed, and the heap's top is given back without a pad.
 * glibc's default raises its mmap threshold to the size of each such
 * block freed, after which the next ones land in the heap and leave holes
 * of their size among the long-lived small blocks when they go.  No
 * effect on what a run does: traces are the same. */
static void
tune_allocator (void)
{
#ifdef __GLIBC__
  mallopt (M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

int
main (int argc, char **argv)
{
  int mutant = 0;

  tune_allocator ();
  program_path = argv[0];
  /* Messages from GLib (file errors) come in the user's charset, not as
   * '?' for every character the C locale lacks. */
  setlocale (LC_ALL, "");
  if (argc < 2 || g_strcmp0 (argv[1], "--help") == 0 || g_strcmp0 (argv[1], "-h") == 0)
    {
      g_print ("Usage: dsm-sim COMMAND [OPTIONS]\n\n%s\n", summary);
      return argc < 2 ? EXIT_BAD_INPUT : EXIT_OK;
    }
  if (g_strcmp0 (argv[1], "--version") == 0)
    {
      g_print ("dsm-sim %s\n", DSM_VERSION);
      return EXIT_OK;
    }

  const char *command = argv[1];
  /* "Usage: dsm-sim run ...", also from dsm-sim-mutant's mutants, which
   * dsm-sim runs for `dsm-sim mutants`. */
  g_autofree char *self = g_path_get_basename (argv[0]);
#ifdef DSM_MUTANTS
  if (g_strcmp0 (command, "mutants") == 0)
    {
      g_free (self);
      self = g_strdup ("dsm-sim");
    }
#endif
  g_autofree char *prgname = g_strdup_printf ("%s %s", self, command);
  g_set_prgname (prgname);
  argv[1] = argv[0];
  argc--;
  argv++;
#ifdef DSM_MUTANTS
  /* --mutant=NAME plants a bug for any command of this build. */
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix (argv[i], "--mutant="))
      {
        const char *name = argv[i] + strlen ("--mutant=");
        for (int m = 1; m < DSM_MUTANT_N; m++)
          if (g_strcmp0 (name, dsm_mutant_to_string ((DsmMutant) m)) == 0)
            mutant = m;
        if (mutant == 0)
          {
            g_autoptr(GString) known = g_string_new (NULL);
            for (int m = 1; m < DSM_MUTANT_N; m++)
              g_string_append_printf (known, "%s%s", m > 1 ? ", " : "", dsm_mutant_to_string ((DsmMutant) m));
            return usage_error ("--mutant: no mutant named \"%s\" (known: %s)", name, known->str);
          }
        mutant_name = name;
        memmove (&argv[i], &argv[i + 1], (argc - i) * sizeof argv[0]);
        argc--;
        i--;
      }
#endif
  if (g_strcmp0 (command, "run") == 0)
    return cmd_run (argc, argv, mutant);
  if (g_strcmp0 (command, "explore") == 0)
    return cmd_explore (argc, argv, mutant);
  if (g_strcmp0 (command, "replay") == 0)
    return cmd_replay (argc, argv, mutant);
  if (g_strcmp0 (command, "shrink") == 0)
    return cmd_shrink (argc, argv, mutant);
  if (g_strcmp0 (command, "replay-node") == 0)
    return cmd_replay_node (argc, argv, mutant);
  if (g_strcmp0 (command, "mutants") == 0)
    return cmd_mutants (argc, argv, mutant);
  if (g_strcmp0 (command, "merge") == 0)
    return cmd_merge (argc, argv, mutant);
  if (g_strcmp0 (command, "view") == 0)
    return dsm_sim_view_command (argc, argv);
  return usage_error ("unknown command \"%s\"", command);
}
