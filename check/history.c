/* check/history.c: client history records and their JSON lines form:
 * written by hand with GString, read strictly through dsm_codec_parse(). */
#include "check/history.h"

#include <string.h>

#include "codec.h"

G_DEFINE_QUARK (dsm-history-error-quark, dsm_history_error)

/* Numbers stay exact in every JSON reader (codec.c's wire limit). */
#define HISTORY_UINT_MAX (G_GUINT64_CONSTANT (1) << 53)

DsmHistoryOp *
dsm_history_op_new (void)
{
  return g_new0 (DsmHistoryOp, 1);
}

DsmHistoryOp *
dsm_history_op_copy (const DsmHistoryOp *op)
{
  DsmHistoryOp *copy;

  g_return_val_if_fail (op != NULL, NULL);

  copy = g_memdup2 (op, sizeof *op);
  copy->client_id = g_strdup (op->client_id);
  copy->machine = g_strdup (op->machine);
  copy->definition = g_strdup (op->definition);
  copy->from = g_strdup (op->from);
  copy->requested = g_strdup (op->requested);
  copy->state = g_strdup (op->state);
  return copy;
}

void
dsm_history_op_free (DsmHistoryOp *op)
{
  if (op == NULL)
    return;
  g_free (op->client_id);
  g_free (op->machine);
  g_free (op->definition);
  g_free (op->from);
  g_free (op->requested);
  g_free (op->state);
  g_free (op);
}

/* ---- consistency, shared by the writer (a bug) and the reader (bad input) ---- */

static gboolean
op_check_name (guint line, const char *field, const char *name, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (name == NULL
      || (strcmp (field, "machine") == 0 ? dsm_command_check_machine_name (field, name, &local)
                                         : dsm_command_check_name (field, name, &local)))
    return TRUE;
  g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_INVALID, "line %u: %s", line,
               local->message);
  return FALSE;
}

static gboolean
op_fail (GError **error, DsmHistoryError code, guint line, const char *field,
         const char *what)
{
  g_set_error (error, DSM_HISTORY_ERROR, code, "line %u: %s: %s", line, field, what);
  return FALSE;
}

/* Everything a well-formed op satisfies beyond its JSON types. */
static gboolean
op_check (const DsmHistoryOp *op, guint line, GError **error)
{
  if (op->machine == NULL)
    return op_fail (error, DSM_HISTORY_ERROR_MISSING, line, "machine", "required field missing");
  if (!op_check_name (line, "machine", op->machine, error)
      || !op_check_name (line, "client_id", op->client_id, error)
      || !op_check_name (line, "definition", op->definition, error)
      || !op_check_name (line, "from", op->from, error)
      || !op_check_name (line, "requested", op->requested, error)
      || !op_check_name (line, "state", op->state, error))
    return FALSE;
  if (op->op == DSM_OP_TRANSITION && op->requested == NULL)
    return op_fail (error, DSM_HISTORY_ERROR_MISSING, line, "requested",
                    "a transition needs the requested state");
  if (op->op == DSM_OP_READ && op->requested != NULL)
    return op_fail (error, DSM_HISTORY_ERROR_INVALID, line, "requested",
                    "a read requests no state");
  if (!op->completed)
    {
      if (op->state != NULL)
        return op_fail (error, DSM_HISTORY_ERROR_INVALID, line, "state",
                        "a pending operation was told nothing");
      if (op->reason != DSM_REJECT_NONE)
        return op_fail (error, DSM_HISTORY_ERROR_INVALID, line, "reason",
                        "a pending operation was told nothing");
      if (op->index != 0)
        return op_fail (error, DSM_HISTORY_ERROR_INVALID, line, "index",
                        "a pending operation was told nothing");
      return TRUE;
    }
  if ((guint) op->status >= DSM_REPLY_N_STATUSES)
    return op_fail (error, DSM_HISTORY_ERROR_UNKNOWN, line, "result", "no such result");
  if ((guint) op->reason >= DSM_REJECT_N_REASONS)
    return op_fail (error, DSM_HISTORY_ERROR_UNKNOWN, line, "reason", "no such reason");
  if (op->status == DSM_REPLY_REJECTED && op->reason == DSM_REJECT_NONE)
    return op_fail (error, DSM_HISTORY_ERROR_MISSING, line, "reason",
                    "a rejection needs a reason other than \"none\"");
  if (op->complete_ms < op->invoke_ms)
    {
      g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_INVALID,
                   "line %u: complete_ms: %" G_GUINT64_FORMAT " is before invoke_ms %"
                   G_GUINT64_FORMAT, line, op->complete_ms, op->invoke_ms);
      return FALSE;
    }
  return TRUE;
}

/* ---- writing ---- */

static void
write_uint (GString *out, const char *key, guint64 value)
{
  g_string_append_printf (out, ",\"%s\":%" G_GUINT64_FORMAT, key, value);
}

static void
write_name (GString *out, const char *key, const char *value)
{
  if (value == NULL)
    return;
  g_string_append_printf (out, ",\"%s\":", key);
  dsm_codec_write_string (out, value);
}

void
dsm_history_op_write_json (GString *out, const DsmHistoryOp *op)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (op != NULL);
  g_return_if_fail (op_check (op, 0, NULL));
  g_return_if_fail (op->id <= HISTORY_UINT_MAX && op->seq <= HISTORY_UINT_MAX);
  g_return_if_fail (op->invoke_ms <= HISTORY_UINT_MAX && op->complete_ms <= HISTORY_UINT_MAX);
  g_return_if_fail (op->index <= HISTORY_UINT_MAX);

  g_string_append_printf (out, "{\"id\":%" G_GUINT64_FORMAT ",\"client\":%u", op->id,
                          op->client);
  write_name (out, "client_id", op->client_id);
  write_uint (out, "seq", op->seq);
  g_string_append_printf (out, ",\"op\":\"%s\"", dsm_op_to_string (op->op));
  write_name (out, "machine", op->machine);
  write_name (out, "definition", op->definition);
  write_name (out, "from", op->from);
  write_name (out, "requested", op->requested);
  g_string_append_printf (out, ",\"result\":\"%s\"",
                          op->completed ? dsm_reply_status_to_string (op->status) : "pending");
  if (op->reason != DSM_REJECT_NONE)
    g_string_append_printf (out, ",\"reason\":\"%s\"", dsm_reject_reason_to_string (op->reason));
  write_name (out, "state", op->state);
  if (op->completed)
    write_uint (out, "index", op->index);
  write_uint (out, "invoke_ms", op->invoke_ms);
  if (op->completed)
    write_uint (out, "complete_ms", op->complete_ms);
  g_string_append_c (out, '}');
}

/* ---- reading ---- */

static const char *const known_keys[] = {
  "id", "client", "client_id", "seq", "op", "machine", "definition", "from", "requested",
  "result", "reason", "state", "index", "invoke_ms", "complete_ms",
};

static const char *
json_kind (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "an object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "an array";
  if (JSON_NODE_HOLDS_NULL (node))
    return "null";
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      return "an integer";
    case G_TYPE_DOUBLE:
      return "a number with a fraction or exponent";
    case G_TYPE_BOOLEAN:
      return "a boolean";
    case G_TYPE_STRING:
      return "a string";
    default:
      return "something else";
    }
}

static gboolean
read_uint (JsonObject *object, guint line, const char *key, gboolean required,
           guint64 max, guint64 *out, GError **error)
{
  JsonNode *node = json_object_get_member (object, key);
  gint64 value;

  if (node == NULL)
    return !required || op_fail (error, DSM_HISTORY_ERROR_MISSING, line, key,
                                 "required field missing");
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_TYPE,
                   "line %u: %s: expected an unsigned integer, found %s", line, key,
                   json_kind (node));
      return FALSE;
    }
  /* json-glib shows integers past 63 bits as negative: refused here. */
  value = json_node_get_int (node);
  if (value < 0 || (guint64) value > max)
    {
      g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_TYPE,
                   "line %u: %s: expected an unsigned integer up to %" G_GUINT64_FORMAT
                   ", found %" G_GINT64_FORMAT, line, key, max, value);
      return FALSE;
    }
  *out = (guint64) value;
  return TRUE;
}

/* A string member (borrowed from the tree); an optional one may be absent
 * or null. */
static gboolean
read_string (JsonObject *object, guint line, const char *key, gboolean required,
             const char **out, GError **error)
{
  JsonNode *node = json_object_get_member (object, key);

  *out = NULL;
  if (node == NULL || (!required && JSON_NODE_HOLDS_NULL (node)))
    return !required || op_fail (error, DSM_HISTORY_ERROR_MISSING, line, key,
                                 "required field missing");
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_TYPE,
                   "line %u: %s: expected a string, found %s", line, key, json_kind (node));
      return FALSE;
    }
  *out = json_node_get_string (node);
  return TRUE;
}

static gboolean
read_name (JsonObject *object, guint line, const char *key, gboolean required, char **out,
           GError **error)
{
  const char *text;

  if (!read_string (object, line, key, required, &text, error))
    return FALSE;
  *out = g_strdup (text);
  return TRUE;
}

static gboolean
read_check_keys (JsonObject *object, guint line, GError **error)
{
  g_autoptr(GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    {
      gboolean known = FALSE;

      for (guint i = 0; i < G_N_ELEMENTS (known_keys) && !known; i++)
        known = strcmp (l->data, known_keys[i]) == 0;
      if (!known)
        {
          g_autoptr(GString) quoted = g_string_new (NULL);

          dsm_codec_write_string (quoted, l->data);
          g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_UNKNOWN,
                       "line %u: unknown key %s", line, quoted->str);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
read_op_kind (JsonObject *object, guint line, DsmHistoryOp *op, GError **error)
{
  const char *text;

  if (!read_string (object, line, "op", TRUE, &text, error))
    return FALSE;
  if (strcmp (text, "transition") == 0)
    op->op = DSM_OP_TRANSITION;
  else if (strcmp (text, "read") == 0)
    op->op = DSM_OP_READ;
  else
    return op_fail (error, DSM_HISTORY_ERROR_UNKNOWN, line, "op",
                    "expected \"transition\" or \"read\"");
  return TRUE;
}

static gboolean
read_outcome (JsonObject *object, guint line, DsmHistoryOp *op, GError **error)
{
  const char *result;
  const char *reason;

  if (!read_string (object, line, "result", TRUE, &result, error)
      || !read_string (object, line, "reason", FALSE, &reason, error))
    return FALSE;
  op->completed = strcmp (result, "pending") != 0;
  if (op->completed && !dsm_reply_status_from_string (result, &op->status))
    return op_fail (error, DSM_HISTORY_ERROR_UNKNOWN, line, "result",
                    "expected \"ok\", \"rejected\", \"unknown\" or \"pending\"");
  if (reason != NULL && !dsm_reject_reason_from_string (reason, &op->reason))
    return op_fail (error, DSM_HISTORY_ERROR_UNKNOWN, line, "reason", "no such reason");
  if (!op->completed && json_object_has_member (object, "complete_ms"))
    return op_fail (error, DSM_HISTORY_ERROR_INVALID, line, "complete_ms",
                    "a pending operation never completed");
  return read_uint (object, line, "index", op->completed, HISTORY_UINT_MAX, &op->index, error)
         && read_uint (object, line, "complete_ms", op->completed, HISTORY_UINT_MAX,
                       &op->complete_ms, error);
}

DsmHistoryOp *
dsm_history_op_from_json (JsonNode *root, guint line, GError **error)
{
  g_autoptr(DsmHistoryOp) op = dsm_history_op_new ();
  JsonObject *object;
  guint64 client = 0;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_TYPE,
                   "line %u: expected an object, found %s", line, json_kind (root));
      return NULL;
    }
  object = json_node_get_object (root);
  if (!read_check_keys (object, line, error)
      || !read_uint (object, line, "id", TRUE, HISTORY_UINT_MAX, &op->id, error)
      || !read_uint (object, line, "client", TRUE, G_MAXUINT, &client, error)
      || !read_name (object, line, "client_id", FALSE, &op->client_id, error)
      || !read_uint (object, line, "seq", TRUE, HISTORY_UINT_MAX, &op->seq, error)
      || !read_op_kind (object, line, op, error)
      || !read_name (object, line, "machine", TRUE, &op->machine, error)
      || !read_name (object, line, "definition", FALSE, &op->definition, error)
      || !read_name (object, line, "from", FALSE, &op->from, error)
      || !read_name (object, line, "requested", FALSE, &op->requested, error)
      || !read_outcome (object, line, op, error)
      || !read_name (object, line, "state", FALSE, &op->state, error)
      || !read_uint (object, line, "invoke_ms", TRUE, HISTORY_UINT_MAX, &op->invoke_ms, error)
      || !op_check (op, line, error))
    return NULL;
  op->client = (guint) client;
  return g_steal_pointer (&op);
}

GPtrArray *
dsm_history_read (const char *text, gsize length, GError **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
  g_autoptr(GHashTable) lines_by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                             g_free, NULL);
  gsize at = 0;
  guint line = 0;

  g_return_val_if_fail (text != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  while (at < length)
    {
      const char *start = text + at;
      const char *newline = memchr (start, '\n', length - at);
      gsize line_length = newline != NULL ? (gsize) (newline - start) : length - at;
      g_autoptr(GError) local = NULL;
      g_autoptr(JsonNode) root = NULL;
      DsmHistoryOp *op;
      gpointer other_line;

      line++;
      at += line_length + (newline != NULL ? 1 : 0);
      if (line_length == 0)
        {
          g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_PARSE,
                       "line %u: empty line", line);
          return NULL;
        }
      root = dsm_codec_parse (start, line_length, &local);
      if (root == NULL)
        {
          g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_PARSE, "line %u: %s", line,
                       local->message);
          return NULL;
        }
      op = dsm_history_op_from_json (root, line, error);
      if (op == NULL)
        return NULL;
      g_ptr_array_add (ops, op);
      /* Explanations name ops by id: two ops with one id would mislead. */
      other_line = g_hash_table_lookup (lines_by_id, &op->id);
      if (other_line != NULL)
        {
          g_set_error (error, DSM_HISTORY_ERROR, DSM_HISTORY_ERROR_INVALID,
                       "line %u: id: %" G_GUINT64_FORMAT " is already the id on line %u", line,
                       op->id, GPOINTER_TO_UINT (other_line));
          return NULL;
        }
      g_hash_table_insert (lines_by_id, g_memdup2 (&op->id, sizeof op->id),
                           GUINT_TO_POINTER (line));
    }
  return g_steal_pointer (&ops);
}

void
dsm_history_op_describe (GString *out, const DsmHistoryOp *op)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (op != NULL);

  g_string_append_printf (out, "op %" G_GUINT64_FORMAT " (client %u", op->id, op->client);
  if (op->client_id != NULL)
    g_string_append_printf (out, " \"%s\" seq %" G_GUINT64_FORMAT, op->client_id, op->seq);
  if (op->completed)
    g_string_append_printf (out, ", %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " ms): ",
                            op->invoke_ms, op->complete_ms);
  else
    g_string_append_printf (out, ", invoked %" G_GUINT64_FORMAT " ms, never completed): ",
                            op->invoke_ms);
  if (op->op == DSM_OP_READ)
    g_string_append (out, "read");
  else
    g_string_append_printf (out, "transition to %s", op->requested);
  if (op->from != NULL)
    g_string_append_printf (out, " from %s", op->from);
  if (op->definition != NULL)
    g_string_append_printf (out, " (definition %s)", op->definition);
  if (!op->completed)
    g_string_append (out, " -> pending");
  else
    g_string_append_printf (out, " -> %s", dsm_reply_status_to_string (op->status));
  if (op->completed && op->reason != DSM_REJECT_NONE)
    g_string_append_printf (out, " %s", dsm_reject_reason_to_string (op->reason));
  if (op->state != NULL)
    g_string_append_printf (out, ", state %s", op->state);
}
