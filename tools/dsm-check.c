/* tools/dsm-check.c: judges a recorded history (docs/HISTORY.md) against
 * the machine definitions: linearizability per machine, the agreement of
 * nodes' final states, and on a violation the smallest window of replies
 * that contradict one another.  Parsing and printing only; check/ judges.
 * Exit status: 0 ok, 1 violation, 2 bad input, 3 inconclusive. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "check/history-file.h"
#include "check/linearizability.h"
#include "check/plugin-spec.h"
#include "check/window.h"
#include "error.h"
#include "json.h"
#include "plugin/plugin.h"

#define EXIT_OK 0
#define EXIT_VIOLATION 1
#define EXIT_BAD_INPUT 2
#define EXIT_INCONCLUSIVE 3

/* Histories and configs are read whole: bounded first. */
#define HISTORY_BYTES_MAX (G_GUINT64_CONSTANT (1) << 30)
#define DEFINITION_BYTES_MAX (1024 * 1024)

static int
bad_input (const char *format, ...) G_GNUC_PRINTF (1, 2);

static int
bad_input (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("dsm-check: %s\n", message);
  return EXIT_BAD_INPUT;
}

static gboolean
read_bounded (const char *path, guint64 max, char **text, gsize *length, GError **error)
{
  GStatBuf st;

  if (strcmp (path, "-") == 0)
    {
      g_autoptr(GString) in = g_string_new (NULL);
      char buffer[65536];
      size_t n;
      while ((n = fread (buffer, 1, sizeof buffer, stdin)) > 0)
        {
          if (in->len + n > max)
            {
              g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "stdin: more than %" G_GUINT64_FORMAT " bytes", max);
              return FALSE;
            }
          g_string_append_len (in, buffer, (gssize) n);
        }
      *length = in->len;
      *text = g_string_free (g_steal_pointer (&in), FALSE);
      return TRUE;
    }
  if (g_stat (path, &st) == 0 && (guint64) st.st_size > max)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %" G_GUINT64_FORMAT " bytes, more than %" G_GUINT64_FORMAT,
                   path, (guint64) st.st_size, max);
      return FALSE;
    }
  return g_file_get_contents (path, text, length, error);
}

/* Definition files a config names resolve relative to it. */
static JsonNode *
load_definition (const char *path, gpointer user_data, GError **error)
{
  const char *dir = user_data;
  g_autofree char *full = g_path_is_absolute (path) ? g_strdup (path) : g_build_filename (dir, path, NULL);
  g_autofree char *text = NULL;
  gsize length = 0;

  if (!read_bounded (full, DEFINITION_BYTES_MAX, &text, &length, error))
    return NULL;
  return dsm_json_parse (text, (gssize) length, NULL, &dsm_config_json_errors, error);
}

/* A cluster config, or any object with "definitions" and
 * "default_definition": laid over the defaults. */
static DsmConfig *
load_config (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  gsize length = 0;

  if (!read_bounded (path, DSM_JSON_FILE_BYTES_MAX, &text, &length, error))
    return NULL;
  g_autoptr(JsonNode) root = dsm_json_parse (text, (gssize) length, NULL, &dsm_config_json_errors, error);
  g_autoptr(DsmConfig) config = dsm_config_new_default (1);
  if (root == NULL || !dsm_config_update_from_json (config, root, load_definition, dir, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  return g_steal_pointer (&config);
}

static void
print_indented (const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '\0')
      g_print ("  %s\n", lines[i]);
}

static void
print_window (GPtrArray *ops, DsmConfig *config, const char *machine, guint max_checks)
{
  DsmWindow window = { 0 };

  if (!dsm_window_find (ops, config, machine, max_checks, &window))
    {
      g_print ("smallest window: none found (the violation did not reproduce within the probe budget)\n");
      return;
    }
  g_print ("smallest window: %u %s of machine \"%s\", %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " ms, %s"
           " (%u checks); these replies cannot all be true, whatever the machine's other %u "
           "operations did (each may have taken effect at most once, or not at all):\n",
           window.ops->len, window.ops->len == 1 ? "reply" : "replies", machine, window.from_ms,
           window.to_ms, window.minimal ? "minimal" : "reduced (budget spent before it was minimal)",
           window.checks, window.machine_ops - window.ops->len);
  for (guint i = 0; i < window.ops->len; i++)
    {
      g_autoptr(GString) line = g_string_new ("  ");
      dsm_history_op_describe (line, window.ops->pdata[i]);
      g_print ("%s\n", line->str);
    }
  dsm_window_clear (&window);
}

/* Counts the machines the ops touch. */
static guint
count_machines (GPtrArray *ops)
{
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < ops->len; i++)
    g_hash_table_add (names, ((DsmHistoryOp *) ops->pdata[i])->machine);
  return g_hash_table_size (names);
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *plugin_spec = NULL;
  gboolean describe = FALSE;
  gboolean complete = FALSE;
  gint64 max_states = 0;
  gint max_checks = 0;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Machine definitions: a cluster config or {\"definitions\": [...]} (the header's win)", "FILE" },
    { "plugin", 'p', 0, G_OPTION_ARG_FILENAME, &plugin_spec,
      "A machine plugin, by path or name (docs/PLUGINS.md)", "PLUGIN" },
    { "describe", 0, 0, G_OPTION_ARG_NONE, &describe,
      "Print the plugin's name and version, and exit", NULL },
    { "max-states", 0, 0, G_OPTION_ARG_INT64, &max_states, "Search budget per machine (default 10 million)", "N" },
    { "max-checks", 0, 0, G_OPTION_ARG_INT, &max_checks, "Checks spent shrinking a violation (default 2000)", "N" },
    { "complete", 0, 0, G_OPTION_ARG_NONE, &complete,
      "The history holds every operation since the cluster was empty (as dsm-real's and dsm-sim's do): "
      "a machine of the final states no operation names was invented", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("HISTORY - judge a history of client operations");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "HISTORY is a file of JSON lines (docs/HISTORY.md), or - for stdin.\n"
    "Exit status: 0 linearizable and final states agree, 1 a violation,\n"
    "2 bad input, 3 inconclusive (the search passed its budget).");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return bad_input ("%s", error->message);

  g_autoptr(DsmPlugin) plugin = NULL;
  if (plugin_spec != NULL && (plugin = dsm_plugin_load (plugin_spec, &error)) == NULL)
    return bad_input ("%s", error->message);
  if (describe)
    {
      if (plugin == NULL)
        return bad_input ("--describe needs --plugin");
      const DsmMachineImpl *impl = dsm_plugin_get_impl (plugin);
      g_print ("%s %s (machine ABI %u)\n", impl->name, impl->version, impl->abi_version);
      return EXIT_OK;
    }
  if (argc != 2)
    return bad_input ("expected one history file (see dsm-check --help)");
  if (max_states < 0 || max_checks < 0)
    return bad_input ("--max-states and --max-checks take positive numbers");

  g_autoptr(DsmConfig) base = NULL;
  if (config_path != NULL && (base = load_config (config_path, &error)) == NULL)
    return bad_input ("%s", error->message);
  g_autofree char *text = NULL;
  gsize length = 0;
  if (!read_bounded (argv[1], HISTORY_BYTES_MAX, &text, &length, &error))
    return bad_input ("%s", error->message);
  g_autoptr(DsmHistoryFile) file = dsm_history_file_read (text, length, base, &error);
  if (file == NULL)
    return bad_input ("%s: %s", argv[1], error->message);

  guint n_machines = count_machines (file->ops);
  g_print ("history: %s: %u operations on %u machine%s, final states of %u node%s%s\n", argv[1],
           file->ops->len, n_machines, n_machines == 1 ? "" : "s", file->finals->len,
           file->finals->len == 1 ? "" : "s",
           file->header_definitions && base != NULL ? " (definitions from its header, not --config)" : "");

  gboolean violation = FALSE;
  g_autoptr(GPtrArray) ops = g_ptr_array_new ();
  g_autoptr(GPtrArray) plugin_ops = g_ptr_array_new ();
  g_autoptr(GPtrArray) final_reads = NULL;
  const DsmMachineImpl *impl = plugin != NULL ? dsm_plugin_get_impl (plugin) : NULL;
  for (guint i = 0; i < file->ops->len; i++)
    {
      const DsmHistoryOp *op = file->ops->pdata[i];
      /* A plugin's machines are judged by its own apply, nothing else. */
      gboolean of_plugin = impl != NULL && op->definition != NULL && strcmp (op->definition, impl->name) == 0;
      g_ptr_array_add (of_plugin ? plugin_ops : ops, file->ops->pdata[i]);
    }
  if (file->finals->len > 0)
    {
      g_autofree char *why = NULL;
      const DsmHistoryFinal *first = file->finals->pdata[0];
      if (!dsm_history_finals_agree (file->finals, &why))
        {
          g_print ("final states: DISAGREE: %s\n", why);
          violation = TRUE;
        }
      else
        g_print ("final states: the %u nodes agree on %u machines\n", file->finals->len,
                 g_hash_table_size (first->machines));
      /* The final states must be where the history can end: each is a
       * read after every operation. */
      /* Validity: with the whole history, nothing comes from nowhere.  Without
       * it, someone the history does not show may have written it. */
      const char *untouched = dsm_history_final_untouched (file->ops, first);
      if (untouched != NULL && complete)
        {
          g_print ("validity: VIOLATION: node %s holds machine \"%s\", which no operation of the history names\n",
                   first->node, untouched);
          violation = TRUE;
        }
      else if (untouched != NULL)
        g_print ("final states: node %s holds machine \"%s\" (and maybe more) that no operation names: not judged "
                 "(--complete judges it)\n", first->node, untouched);
      final_reads = dsm_history_final_reads (file->ops, first);
      for (guint i = 0; i < final_reads->len; i++)
        g_ptr_array_add (ops, final_reads->pdata[i]);
      if (final_reads->len > 0)
        g_print ("final states: node %s's are checked as reads after the last operation "
                 "(ops %" G_GUINT64_FORMAT " and up)\n", first->node,
                 ((DsmHistoryOp *) final_reads->pdata[0])->id);
    }

  int status = EXIT_OK;
  if (impl != NULL)
    {
      DsmLinearizabilityResult presult = { 0 };
      if (!dsm_plugin_spec_check (plugin_ops, impl, (guint64) max_states, &presult))
        {
          g_print ("plugin %s %s: VIOLATION on machine \"%s\":\n", impl->name, impl->version, presult.machine);
          print_indented (presult.explanation);
          violation = TRUE;
        }
      else if (presult.inconclusive)
        {
          g_print ("plugin %s %s: INCONCLUSIVE on machine \"%s\": %s\n", impl->name, impl->version,
                   presult.machine, presult.explanation);
          status = EXIT_INCONCLUSIVE;
        }
      else
        g_print ("plugin %s %s: linearizable by its own apply, %u machines, %u operations, %" G_GUINT64_FORMAT " search states\n",
                 impl->name, impl->version, presult.machines_checked, presult.ops_checked, presult.states_explored);
      dsm_linearizability_result_clear (&presult);
    }

  DsmLinearizabilityResult result = { 0 };
  gboolean linearizable = dsm_linearizability_check (ops, file->config, (guint64) max_states, &result);
  if (!linearizable)
    {
      g_print ("linearizability: VIOLATION on machine \"%s\":\n", result.machine);
      print_indented (result.explanation);
      print_window (ops, file->config, result.machine, (guint) max_checks);
      violation = TRUE;
    }
  else if (result.inconclusive)
    {
      g_print ("linearizability: INCONCLUSIVE on machine \"%s\": %s\n", result.machine, result.explanation);
      status = EXIT_INCONCLUSIVE;
    }
  else
    g_print ("linearizability: ok, %u machines, %u operations, %" G_GUINT64_FORMAT " search states\n",
             result.machines_checked, result.ops_checked, result.states_explored);
  dsm_linearizability_result_clear (&result);
  if (violation)
    status = EXIT_VIOLATION;
  g_print ("verdict: %s\n", status == EXIT_OK ? "ok" : status == EXIT_VIOLATION ? "violation" : "inconclusive");
  return status;
}
