/* tools/dsm-sim-view.c: `dsm-sim view` writes one self-contained HTML page
 * of a trace and/or a history, and every failure run, explore and shrink
 * report gets one next to its trace (docs/SIMULATOR.md, "Seeing a run"). */
#include "dsm-sim-view.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "node.h"
#include "output.h"
#include "view.h"

#define EXIT_OK 0
#define EXIT_BAD_INPUT 2

/* Traces and histories are read whole: bounded first. */
#define VIEW_INPUT_BYTES_MAX (G_GUINT64_CONSTANT (2) << 30)

static gboolean
read_bounded (const char *path, char **text, gsize *length, GError **error)
{
  GStatBuf st;

  if (g_stat (path, &st) == 0 && (guint64) st.st_size > VIEW_INPUT_BYTES_MAX)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: larger than %" G_GUINT64_FORMAT " bytes", path,
                   VIEW_INPUT_BYTES_MAX);
      return FALSE;
    }
  return g_file_get_contents (path, text, length, error);
}

static void
print_written (const char *path, const DsmViewCounts *c, gsize page_bytes)
{
  g_print ("wrote %s: %u node lanes, %" G_GUINT64_FORMAT " message arrows (%" G_GUINT64_FORMAT
           " still in flight, not drawn), %" G_GUINT64_FORMAT " operations%s, %" G_GSIZE_FORMAT " bytes\n",
           path, c->lanes, c->arrows, c->in_flight, c->ops,
           c->window_ops > 0 ? ", the finding's window highlighted" : "", page_bytes);
}

/* Runs the trace's scenario and seed again, for the verdict: the trace
 * itself does not hold it.  Fills @report when the run reproduces the
 * trace byte for byte; else returns a note saying why there is none. */
/* The planted bug a trace's header names, as this build knows it: 0 for
 * none; -1 when this build cannot plant it. */
static int
traced_mutant (JsonObject *header, const char **name)
{
  *name = json_object_get_string_member_with_default (header, "mutant", NULL);
  if (*name == NULL)
    return 0;
#ifdef DSM_MUTANTS
  for (int m = 1; m < DSM_MUTANT_N; m++)
    if (g_strcmp0 (*name, dsm_mutant_to_string ((DsmMutant) m)) == 0)
      return m;
#endif
  return -1;
}

static char *
verdict_of (const char *trace, gsize length, DsmSimReport *report, gboolean *known)
{
  g_autoptr(GError) error = NULL;
  const char *newline = memchr (trace, '\n', length);
  g_autoptr(JsonParser) parser = json_parser_new ();

  *known = FALSE;
  if (newline == NULL || !json_parser_load_from_data (parser, trace, newline - trace, &error))
    return g_strdup ("The trace's header does not read: no verdict.");
  JsonNode *root = json_parser_get_root (parser);
  JsonObject *header = root != NULL && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *scenario_node = header != NULL ? json_object_get_member (header, "scenario") : NULL;
  JsonNode *seed_node = header != NULL ? json_object_get_member (header, "seed") : NULL;
  if (scenario_node == NULL || seed_node == NULL || !JSON_NODE_HOLDS_VALUE (seed_node)
      || json_node_get_value_type (seed_node) != G_TYPE_INT64 || json_node_get_int (seed_node) < 0)
    return g_strdup ("The trace's header names no scenario and seed: no verdict.");
  guint64 seed = (guint64) json_node_get_int (seed_node);
  JsonNode *mutant_node = json_object_get_member (header, "mutant");
  if (mutant_node != NULL && (!JSON_NODE_HOLDS_VALUE (mutant_node) || json_node_get_value_type (mutant_node) != G_TYPE_STRING))
    return g_strdup ("The trace's header names its planted bug with something other than a string: no verdict.");
  const char *mutant_name = NULL;
  int mutant = traced_mutant (header, &mutant_name);
  if (mutant < 0)
    return g_strdup_printf ("The trace was made with the planted bug \"%s\", which this build does not have "
                            "(dsm-sim-mutant view draws it with its verdict): no verdict.", mutant_name);
  g_autoptr(DsmScenario) scenario = dsm_scenario_new_from_json (scenario_node, "trace", &error);
  if (scenario == NULL)
    return g_strdup_printf ("The trace's scenario does not read (%s): no verdict.", error->message);

  g_autoptr(GString) again = g_string_new (NULL);
  dsm_sim_write_trace_header_full (scenario, seed, mutant_name, again);
  DsmSimOptions options = { .has_seed = TRUE, .seed = seed, .trace = again, .mutant = mutant };
  g_autoptr(DsmSim) sim = dsm_sim_new (scenario, &options);
  dsm_sim_run (sim, report);
  if (again->len != length || memcmp (again->str, trace, length) != 0)
    return g_strdup ("This build's run of the trace's scenario and seed differs from the trace (another "
                     "version): the verdict is not shown.");
  *known = TRUE;
  return NULL;
}

static char *
page_path_for_history (const char *history_path)
{
  return dsm_view_path_for (history_path);
}

int
dsm_sim_view_command (int argc, char **argv)
{
  g_autofree char *history_path = NULL, *out_path = NULL;
  GOptionEntry entries[] = {
    { "history", 0, 0, G_OPTION_ARG_FILENAME, &history_path, "Draw this history's operations (docs/HISTORY.md)", "FILE" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Write the page here (default: next to the trace)", "OUT" },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("[TRACE] - draw a run as one self-contained HTML page");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("dsm-sim: %s\n(see dsm-sim view --help)\n", error->message);
      return EXIT_BAD_INPUT;
    }
  if (argc > 2 || (argc == 1 && history_path == NULL))
    {
      g_printerr ("dsm-sim: view takes a trace, a --history FILE, or both\n(see dsm-sim view --help)\n");
      return EXIT_BAD_INPUT;
    }
  const char *trace_path = argc == 2 ? argv[1] : NULL;
  g_autofree char *trace = NULL, *history = NULL;
  gsize trace_len = 0, history_len = 0;
  if ((trace_path != NULL && !read_bounded (trace_path, &trace, &trace_len, &error))
      || (history_path != NULL && !read_bounded (history_path, &history, &history_len, &error)))
    {
      g_printerr ("dsm-sim: %s\n", error->message);
      return EXIT_BAD_INPUT;
    }

  DsmSimReport report = { 0 };
  gboolean known = FALSE;
  g_autofree char *note = trace != NULL ? verdict_of (trace, trace_len, &report, &known) : NULL;
  /* A trace's page is titled by its scenario; a history's by its file. */
  g_autofree char *title = trace == NULL ? g_path_get_basename (history_path) : NULL;
  DsmViewInput input = {
    .title = title,
    .trace = trace, .trace_len = trace_len, .history = history, .history_len = history_len,
    .has_finding = known && !report.ok, .invariant = report.failed_invariant, .failure = report.failure,
    .failed_at_ms = report.failed_at_ms, .verdict_note = note,
  };
  g_autoptr(GString) page = g_string_new (NULL);
  DsmViewCounts counts = { 0 };
  gboolean rendered = dsm_view_render (&input, page, &counts, &error);
  dsm_sim_report_clear (&report);
  if (!rendered)
    {
      g_printerr ("dsm-sim: %s: %s\n", trace_path != NULL && history_path == NULL ? trace_path
                                       : trace_path == NULL ? history_path : "view", error->message);
      return EXIT_BAD_INPUT;
    }
  if (out_path == NULL)
    out_path = trace_path != NULL ? dsm_view_path_for (trace_path) : page_path_for_history (history_path);
  if (!dsm_output_write_simple (out_path, page->str, page->len, &error))
    {
      g_printerr ("dsm-sim: %s\n", error->message);
      return EXIT_BAD_INPUT;
    }
  if (note != NULL)
    g_print ("%s\n", note);
  print_written (out_path, &counts, page->len);
  return EXIT_OK;
}

char *
dsm_sim_view_failure (const DsmScenario *scenario, guint64 seed, int mutant, const char *mutant_name, const GString *trace,
                      const char *trace_path, gboolean trace_written, const DsmSimReport *report, GError **error)
{
  g_autoptr(GString) again = NULL;
  DsmSimReport report_again = { 0 };

  g_return_val_if_fail (!report->ok, NULL);
  if (trace == NULL)
    {
      /* Tracing never steers a run (docs/SIMULATOR.md, "Traces and replay"):
       * the same scenario and seed fail the same way, now traced. */
      again = g_string_new (NULL);
      dsm_sim_write_trace_header_full (scenario, seed, mutant_name, again);
      DsmSimOptions options = { .has_seed = TRUE, .seed = seed, .trace = again, .mutant = mutant };
      g_autoptr(DsmSim) sim = dsm_sim_new (scenario, &options);
      dsm_sim_run (sim, &report_again);
      g_assert (!report_again.ok);
      g_assert (report_again.failed_invariant == report->failed_invariant);
      dsm_sim_report_clear (&report_again);
      trace = again;
    }
  if (!trace_written && !dsm_output_write_simple (trace_path, trace->str, trace->len, error))
    return NULL;
  DsmViewInput input = {
    .trace = trace->str, .trace_len = trace->len, .has_finding = TRUE, .invariant = report->failed_invariant,
    .failure = report->failure, .failed_at_ms = report->failed_at_ms,
  };
  g_autoptr(GString) page = g_string_new (NULL);
  if (!dsm_view_render (&input, page, NULL, error))
    return NULL;
  g_autofree char *path = dsm_view_path_for (trace_path);
  if (!dsm_output_write_simple (path, page->str, page->len, error))
    return NULL;
  return g_steal_pointer (&path);
}
