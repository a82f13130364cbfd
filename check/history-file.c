/* check/history-file.c: history files (history-file.h, docs/HISTORY.md):
 * the header, op lines and final-state lines, read through core/json.h. */
#include "check/history-file.h"

#include <string.h>

#include "codec.h"
#include "json.h"

/* A final line lists at most this many machines (a bound before we build
 * a table from outside input). */
#define FINAL_MACHINES_MAX (1u << 22)
#define HISTORY_DEPTH_MAX 16

static void
final_free (DsmHistoryFinal *final)
{
  g_free (final->node);
  g_clear_pointer (&final->machines, g_hash_table_unref);
  g_free (final);
}

void
dsm_history_file_free (DsmHistoryFile *file)
{
  if (file == NULL)
    return;
  g_clear_pointer (&file->config, dsm_config_unref);
  g_clear_pointer (&file->ops, g_ptr_array_unref);
  g_clear_pointer (&file->finals, g_ptr_array_unref);
  g_free (file);
}

/* Prefixes a JSON layer error with its line, in the history's domain. */
static void
line_prefix (GError **error, guint line)
{
  if (error != NULL && *error != NULL)
    g_prefix_error (error, "line %u: ", line);
}

/* ---- the header ---- */

static gboolean
read_header (DsmHistoryFile *file, const DsmJsonAt *root, GError **error)
{
  static const char *const known[] = { "dsm_history", "definitions", "default_definition", NULL };
  DsmJsonAt definitions, default_definition;
  guint64 format = 0;
  g_autoptr(GError) local = NULL;

  if (!dsm_json_get_object (root, known, error)
      || !dsm_json_read_uint (root, "dsm_history", DSM_JSON_REQUIRED, DSM_HISTORY_FORMAT,
                              DSM_HISTORY_FORMAT, &format, error)
      || !dsm_json_read_member (&definitions, root, "definitions", DSM_JSON_OPTIONAL, error)
      || !dsm_json_read_member (&default_definition, root, "default_definition",
                                DSM_JSON_OPTIONAL, error))
    return FALSE;
  if (definitions.node == NULL && default_definition.node == NULL)
    return TRUE;

  /* The config's own reader checks the definitions, as it does a
   * cluster's; laid over the built-in lifecycle alone. */
  g_autoptr(JsonObject) object = json_object_new ();
  if (definitions.node != NULL)
    json_object_set_member (object, "definitions", json_node_copy (definitions.node));
  if (default_definition.node != NULL)
    json_object_set_member (object, "default_definition", json_node_copy (default_definition.node));
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), object);
  g_autoptr(DsmConfig) config = dsm_config_new_default (1);
  if (!dsm_config_update_from_json (config, node, NULL, NULL, &local))
    {
      g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_INVALID, "%s", local->message);
      return FALSE;
    }
  g_clear_pointer (&file->config, dsm_config_unref);
  file->config = g_steal_pointer (&config);
  file->header_definitions = TRUE;
  return TRUE;
}

/* ---- final lines ---- */

static gboolean
read_name (const DsmJsonAt *at, const char *field, const char **out, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (!dsm_json_get_string (at, 0, out, error))
    return FALSE;
  if (!dsm_command_check_name (field, *out, &local))
    return dsm_json_fail (at, DSM_JSON_ERROR_INVALID, error, "%s", local->message);
  return TRUE;
}

static DsmHistoryFinal *
read_final (const DsmJsonAt *root, guint line, GError **error)
{
  static const char *const known_root[] = { "final", NULL };
  static const char *const known[] = { "node", "machines", NULL };
  DsmJsonAt body, node, machines;
  g_autoptr(GList) members = NULL;
  guint n = 0;

  if (!dsm_json_get_object (root, known_root, error)
      || !dsm_json_read_member (&body, root, "final", DSM_JSON_REQUIRED, error)
      || !dsm_json_get_object (&body, known, error)
      || !dsm_json_read_member (&node, &body, "node", DSM_JSON_REQUIRED, error)
      || !dsm_json_read_member (&machines, &body, "machines", DSM_JSON_REQUIRED, error)
      || !dsm_json_get_object (&machines, NULL, error))
    return NULL;

  DsmHistoryFinal *final = g_new0 (DsmHistoryFinal, 1);
  final->line = line;
  final->machines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  /* A node is named by an id or by a name of the recording system. */
  if (JSON_NODE_HOLDS_VALUE (node.node) && json_node_get_value_type (node.node) == G_TYPE_INT64)
    {
      DsmNodeId id;
      if (!dsm_json_get_node_id (&node, &id, error))
        goto fail;
      final->node = g_strdup_printf ("%u", id);
    }
  else
    {
      const char *name;
      if (!read_name (&node, "node", &name, error))
        goto fail;
      final->node = g_strdup (name);
    }
  members = json_object_get_members (json_node_get_object (machines.node));
  for (GList *l = members; l != NULL; l = l->next, n++)
    {
      DsmJsonAt state;
      const char *value;
      g_autoptr(GError) local = NULL;

      if (n == FINAL_MACHINES_MAX)
        {
          dsm_json_fail (&machines, DSM_JSON_ERROR_TOO_LARGE, error, "more than %u machines",
                         FINAL_MACHINES_MAX);
          goto fail;
        }
      dsm_json_at_member (&state, &machines, l->data);
      if (!dsm_command_check_name ("machine", l->data, &local))
        {
          dsm_json_fail (&state, DSM_JSON_ERROR_INVALID, error, "%s", local->message);
          goto fail;
        }
      if (!read_name (&state, "state", &value, error))
        goto fail;
      g_hash_table_insert (final->machines, g_strdup (l->data), g_strdup (value));
    }
  return final;

fail:
  final_free (final);
  return NULL;
}

/* ---- the file ---- */

/* Which kind of line @root is: a header, a final state or an op. */
static gboolean
line_has_key (JsonNode *root, const char *key)
{
  return JSON_NODE_HOLDS_OBJECT (root) && json_object_has_member (json_node_get_object (root), key);
}

static gboolean
file_read_line (DsmHistoryFile *file, GHashTable *lines_by_id, GHashTable *final_nodes,
                const char *start, gsize length, guint line, GError **error)
{
  const DsmJsonLimits limits = { DSM_HISTORY_LINE_BYTES_MAX, HISTORY_DEPTH_MAX };
  g_autoptr(JsonNode) root = NULL;
  DsmJsonAt at;

  if (length == 0)
    {
      g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_PARSE, "line %u: empty line", line);
      return FALSE;
    }
  root = dsm_json_parse (start, (gssize) length, &limits, &dsm_history_json_errors, error);
  if (root == NULL)
    return FALSE;
  dsm_json_at_root (&at, &dsm_history_json_errors, root, NULL);
  if (line_has_key (root, "dsm_history"))
    {
      if (line != 1)
        {
          g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_INVALID,
                       "dsm_history: the header must be the first line");
          return FALSE;
        }
      return read_header (file, &at, error);
    }
  if (line_has_key (root, "final"))
    {
      DsmHistoryFinal *final = read_final (&at, line, error);
      if (final == NULL)
        return FALSE;
      g_ptr_array_add (file->finals, final);
      gpointer other = g_hash_table_lookup (final_nodes, final->node);
      if (other != NULL)
        {
          g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_INVALID,
                       "final.node: node \"%s\" already has a final line (line %u)", final->node,
                       GPOINTER_TO_UINT (other));
          return FALSE;
        }
      g_hash_table_insert (final_nodes, final->node, GUINT_TO_POINTER (line));
      return TRUE;
    }

  DsmHistoryOp *op = dsm_history_op_from_json (root, line, error);
  if (op == NULL)
    return FALSE;
  g_ptr_array_add (file->ops, op);
  /* Explanations name ops by id: two ops with one id would mislead. */
  gpointer other_line = g_hash_table_lookup (lines_by_id, &op->id);
  if (other_line != NULL)
    {
      g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_INVALID,
                   "line %u: id: %" G_GUINT64_FORMAT " is already the id on line %u", line, op->id,
                   GPOINTER_TO_UINT (other_line));
      return FALSE;
    }
  g_hash_table_insert (lines_by_id, &op->id, GUINT_TO_POINTER (line));
  return TRUE;
}

DsmHistoryFile *
dsm_history_file_read (const char *text, gsize length, DsmConfig *base, GError **error)
{
  g_autoptr(DsmHistoryFile) file = g_new0 (DsmHistoryFile, 1);
  g_autoptr(GHashTable) lines_by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GHashTable) final_nodes = g_hash_table_new (g_str_hash, g_str_equal);
  gsize at = 0;
  guint line = 0;

  g_return_val_if_fail (text != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  file->config = base != NULL ? dsm_config_ref (base) : dsm_config_new_default (1);
  file->ops = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
  file->finals = g_ptr_array_new_with_free_func ((GDestroyNotify) final_free);
  while (at < length)
    {
      const char *start = text + at;
      const char *newline = memchr (start, '\n', length - at);
      gsize line_length = newline != NULL ? (gsize) (newline - start) : length - at;
      g_autoptr(GError) local = NULL;

      line++;
      at += line_length + (newline != NULL ? 1 : 0);
      if (!file_read_line (file, lines_by_id, final_nodes, start, line_length, line, &local))
        {
          /* The op reader names the line itself; the others do not. */
          if (!g_str_has_prefix (local->message, "line "))
            line_prefix (&local, line);
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
    }
  return g_steal_pointer (&file);
}

/* ---- writing ---- */

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void
dsm_history_write_header (GString *out, const DsmConfig *config)
{
  g_autofree const char **names = NULL;
  guint n_names = 0;
  gboolean first = TRUE;

  g_return_if_fail (out != NULL);
  g_return_if_fail (config != NULL);

  g_string_append_printf (out, "{\"dsm_history\":%d,\"default_definition\":", DSM_HISTORY_FORMAT);
  dsm_codec_write_string (out, config->default_definition);
  g_string_append (out, ",\"definitions\":[");
  names = (const char **) g_hash_table_get_keys_as_array (config->definitions, &n_names);
  qsort (names, n_names, sizeof *names, compare_strings);
  for (guint i = 0; i < n_names; i++)
    {
      if (strcmp (names[i], DSM_MACHINE_LIFECYCLE) == 0)
        continue;  /* built in: redefining it is refused */
      g_autoptr(JsonNode) def = dsm_machine_def_to_json (g_hash_table_lookup (config->definitions, names[i]));
      g_autofree char *text = json_to_string (def, FALSE);
      g_string_append_printf (out, "%s%s", first ? "" : ",", text);
      first = FALSE;
    }
  g_string_append (out, "]}\n");
}

void
dsm_history_write_final (GString *out, const char *node, GHashTable *machines)
{
  g_autofree const char **names = NULL;
  guint n_names = 0;

  g_return_if_fail (out != NULL);
  g_return_if_fail (node != NULL);
  g_return_if_fail (machines != NULL);

  g_string_append (out, "{\"final\":{\"node\":");
  dsm_codec_write_string (out, node);
  g_string_append (out, ",\"machines\":{");
  names = (const char **) g_hash_table_get_keys_as_array (machines, &n_names);
  qsort (names, n_names, sizeof *names, compare_strings);
  for (guint i = 0; i < n_names; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      dsm_codec_write_string (out, names[i]);
      g_string_append_c (out, ':');
      dsm_codec_write_string (out, g_hash_table_lookup (machines, names[i]));
    }
  g_string_append (out, "}}}\n");
}

/* ---- judging final states ---- */

/* The first machine of @a that @b lacks or holds in another state. */
static const char *
finals_first_difference (const DsmHistoryFinal *a, const DsmHistoryFinal *b)
{
  g_autofree const char **names = NULL;
  guint n_names = 0;

  names = (const char **) g_hash_table_get_keys_as_array (a->machines, &n_names);
  qsort (names, n_names, sizeof *names, compare_strings);
  for (guint i = 0; i < n_names; i++)
    if (g_strcmp0 (g_hash_table_lookup (a->machines, names[i]),
                   g_hash_table_lookup (b->machines, names[i])) != 0)
      return names[i];
  return NULL;
}

gboolean
dsm_history_finals_agree (GPtrArray *finals, char **why)
{
  g_return_val_if_fail (finals != NULL, FALSE);
  g_return_val_if_fail (why != NULL && *why == NULL, FALSE);

  for (guint i = 1; i < finals->len; i++)
    {
      const DsmHistoryFinal *a = finals->pdata[0];
      const DsmHistoryFinal *b = finals->pdata[i];
      const char *machine = finals_first_difference (a, b);

      if (machine == NULL)
        machine = finals_first_difference (b, a);
      if (machine == NULL)
        continue;
      const char *in_a = g_hash_table_lookup (a->machines, machine);
      const char *in_b = g_hash_table_lookup (b->machines, machine);
      g_autofree char *has_a = in_a != NULL ? g_strdup_printf ("has it in %s", in_a) : g_strdup ("never touched it");
      g_autofree char *has_b = in_b != NULL ? g_strdup_printf ("has it in %s", in_b) : g_strdup ("never touched it");
      *why = g_strdup_printf ("machine \"%s\": node %s %s, node %s %s", machine, a->node, has_a,
                              b->node, has_b);
      return FALSE;
    }
  return TRUE;
}

const char *
dsm_history_final_untouched (GPtrArray *ops, const DsmHistoryFinal *final)
{
  g_autoptr(GHashTable) touched = g_hash_table_new (g_str_hash, g_str_equal);
  const char *first = NULL;
  GHashTableIter iter;
  gpointer name;

  g_return_val_if_fail (ops != NULL && final != NULL, NULL);
  for (guint i = 0; i < ops->len; i++)
    g_hash_table_add (touched, ((DsmHistoryOp *) ops->pdata[i])->machine);
  g_hash_table_iter_init (&iter, final->machines);
  while (g_hash_table_iter_next (&iter, &name, NULL))
    if (!g_hash_table_contains (touched, name) && (first == NULL || strcmp (name, first) < 0))
      first = name;
  return first;
}

GPtrArray *
dsm_history_final_reads (GPtrArray *ops, const DsmHistoryFinal *final)
{
  GPtrArray *reads = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
  g_autoptr(GHashTable) touched = g_hash_table_new (g_str_hash, g_str_equal);
  guint64 last_ms = 0, last_id = 0;

  g_return_val_if_fail (ops != NULL, reads);
  g_return_val_if_fail (final != NULL, reads);

  for (guint i = 0; i < ops->len; i++)
    {
      const DsmHistoryOp *op = ops->pdata[i];
      g_hash_table_add (touched, op->machine);
      last_ms = MAX (last_ms, op->completed ? op->complete_ms : op->invoke_ms);
      last_id = MAX (last_id, op->id);
    }
  g_autofree const char **names = NULL;
  guint n_names = 0;
  names = (const char **) g_hash_table_get_keys_as_array (final->machines, &n_names);
  qsort (names, n_names, sizeof *names, compare_strings);
  for (guint i = 0; i < n_names; i++)
    {
      if (!g_hash_table_contains (touched, names[i]))
        continue;
      DsmHistoryOp *read = dsm_history_op_new ();
      read->id = ++last_id;
      read->client = G_MAXUINT;
      read->op = DSM_OP_READ;
      read->machine = g_strdup (names[i]);
      read->completed = TRUE;
      read->status = DSM_REPLY_OK;
      read->state = g_strdup (g_hash_table_lookup (final->machines, names[i]));
      read->invoke_ms = last_ms + 1;
      read->complete_ms = last_ms + 1;
      g_ptr_array_add (reads, read);
    }
  return reads;
}
