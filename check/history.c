/* check/history.c: client history records and their JSON lines form:
 * written by hand with GString, read strictly through core/json.h. */
#include "check/history.h"

#include <string.h>

#include "codec.h"
#include "json.h"

G_DEFINE_QUARK (dsm-history-error-quark, dsm_history_error)

/* Numbers stay exact in every JSON reader (codec.c's wire limit). */
#define HISTORY_UINT_MAX (G_GUINT64_CONSTANT (1) << 53)

DsmHistoryOp *
dsm_history_op_new (void)
{
  return g_new0 (DsmHistoryOp, 1);
}

/* The op @cmd starts, but for its names. */
static DsmHistoryOp *
op_new_invoked (guint64 id, guint client, const DsmCommand *cmd, guint64 invoke_ms)
{
  DsmHistoryOp *op = dsm_history_op_new ();

  op->id = id;
  op->client = client;
  op->seq = cmd->seq;
  op->op = cmd->op;
  op->payload = g_strdup (cmd->payload);
  op->has_if_revision = cmd->has_if_revision;
  op->if_revision = cmd->if_revision;
  op->invoke_ms = invoke_ms;
  return op;
}

DsmHistoryOp *
dsm_history_op_new_invoked (guint64 id, guint client, const DsmCommand *cmd, guint64 invoke_ms)
{
  g_return_val_if_fail (cmd != NULL, NULL);

  DsmHistoryOp *op = op_new_invoked (id, client, cmd, invoke_ms);
  op->client_id = g_strdup (cmd->client_id);
  op->machine = g_strdup (cmd->machine);
  op->definition = g_strdup (cmd->definition);
  op->from = g_strdup (cmd->from);
  op->requested = g_strdup (cmd->to);
  return op;
}

DsmHistoryOp *
dsm_history_op_new_interned (guint64 id, guint client, const DsmCommand *cmd, guint64 invoke_ms,
                             DsmNames *names)
{
  g_return_val_if_fail (cmd != NULL, NULL);
  g_return_val_if_fail (names != NULL, NULL);

  DsmHistoryOp *op = op_new_invoked (id, client, cmd, invoke_ms);
  op->names_interned = TRUE;
  op->client_id = (char *) dsm_names_intern (names, cmd->client_id);
  op->machine = (char *) dsm_names_intern (names, cmd->machine);
  op->definition = (char *) dsm_names_intern (names, cmd->definition);
  op->from = (char *) dsm_names_intern (names, cmd->from);
  op->requested = (char *) dsm_names_intern (names, cmd->to);
  return op;
}

DsmHistoryOp *
dsm_history_op_copy (const DsmHistoryOp *op)
{
  DsmHistoryOp *copy;

  g_return_val_if_fail (op != NULL, NULL);

  copy = g_memdup2 (op, sizeof *op);
  copy->names_interned = FALSE;
  copy->client_id = g_strdup (op->client_id);
  copy->machine = g_strdup (op->machine);
  copy->definition = g_strdup (op->definition);
  copy->from = g_strdup (op->from);
  copy->requested = g_strdup (op->requested);
  copy->state = g_strdup (op->state);
  copy->payload = g_strdup (op->payload);
  copy->output = g_strdup (op->output);
  copy->data = g_strdup (op->data);
  return copy;
}

void
dsm_history_op_free (DsmHistoryOp *op)
{
  if (op == NULL)
    return;
  if (!op->names_interned)
    {
      g_free (op->client_id);
      g_free (op->machine);
      g_free (op->definition);
      g_free (op->from);
      g_free (op->requested);
      g_free (op->state);
    }
  g_free (op->payload);
  g_free (op->output);
  g_free (op->data);
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
  if (op->payload != NULL && strlen (op->payload) > DSM_HISTORY_TEXT_MAX)
    return op_fail (error, DSM_HISTORY_ERROR_TYPE, line, "payload", "longer than 16384 bytes");
  if (op->output != NULL && strlen (op->output) > DSM_HISTORY_TEXT_MAX)
    return op_fail (error, DSM_HISTORY_ERROR_TYPE, line, "output", "longer than 16384 bytes");
  if (op->data != NULL && strlen (op->data) > DSM_HISTORY_TEXT_MAX)
    return op_fail (error, DSM_HISTORY_ERROR_TYPE, line, "data", "longer than 16384 bytes");
  if (op->data != NULL && !(op->completed && op->status == DSM_REPLY_OK && op->op == DSM_OP_READ))
    return op_fail (error, DSM_HISTORY_ERROR_INVALID, line, "data", "only an ok read reports data");
  if (op->has_if_revision && op->op != DSM_OP_TRANSITION)
    return op_fail (error, DSM_HISTORY_ERROR_INVALID, line, "if_revision", "only a transition has a condition");
  if (op->has_revision && !op->completed)
    return op_fail (error, DSM_HISTORY_ERROR_INVALID, line, "revision", "a pending operation was told nothing");
  if (op->output != NULL && !(op->completed && op->status == DSM_REPLY_OK))
    return op_fail (error, DSM_HISTORY_ERROR_INVALID, line, "output",
                    "only an ok reply carries a result");
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
  g_return_if_fail (op->if_revision <= HISTORY_UINT_MAX && op->revision <= HISTORY_UINT_MAX);

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
  write_name (out, "payload", op->payload);
  if (op->has_if_revision)
    write_uint (out, "if_revision", op->if_revision);
  write_name (out, "output", op->output);
  if (op->has_revision)
    write_uint (out, "revision", op->revision);
  write_name (out, "data", op->data);
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
  "result", "reason", "state", "payload", "if_revision", "output", "revision", "data", "index", "invoke_ms",
  "complete_ms", NULL,
};

const DsmJsonErrors dsm_history_json_errors = {
  dsm_history_error_quark,
  {
    [DSM_JSON_ERROR_SYNTAX] = DSM_HISTORY_ERROR_PARSE,
    [DSM_JSON_ERROR_DUPLICATE] = DSM_HISTORY_ERROR_PARSE,
    [DSM_JSON_ERROR_TOO_DEEP] = DSM_HISTORY_ERROR_PARSE,
    [DSM_JSON_ERROR_TOO_LARGE] = DSM_HISTORY_ERROR_TYPE,
    [DSM_JSON_ERROR_MISSING] = DSM_HISTORY_ERROR_MISSING,
    [DSM_JSON_ERROR_TYPE] = DSM_HISTORY_ERROR_TYPE,
    [DSM_JSON_ERROR_RANGE] = DSM_HISTORY_ERROR_TYPE,
    [DSM_JSON_ERROR_CHOICE] = DSM_HISTORY_ERROR_UNKNOWN,
    [DSM_JSON_ERROR_UNKNOWN] = DSM_HISTORY_ERROR_UNKNOWN,
    [DSM_JSON_ERROR_INVALID] = DSM_HISTORY_ERROR_INVALID,
  },
};

static gboolean
read_uint (const DsmJsonAt *object, const char *key, gboolean required, guint64 max,
           guint64 *out, GError **error)
{
  return dsm_json_read_uint (object, key, required ? DSM_JSON_REQUIRED : DSM_JSON_OPTIONAL, 0,
                             max, out, error);
}

/* An optional number: *@has says whether it was there. */
static gboolean
read_optional_uint (const DsmJsonAt *object, const char *key, gboolean *has, guint64 *out, GError **error)
{
  DsmJsonAt at;

  dsm_json_at_member (&at, object, key);
  *has = at.node != NULL;
  return read_uint (object, key, FALSE, HISTORY_UINT_MAX, out, error);
}

/* A name, copied; an optional one may be absent or null. */
static gboolean
read_name (const DsmJsonAt *object, const char *key, gboolean required, char **out,
           GError **error)
{
  const char *text = NULL;

  if (!dsm_json_read_string (object, key, required ? DSM_JSON_REQUIRED : DSM_JSON_NULLABLE, 0,
                             &text, error))
    return FALSE;
  *out = g_strdup (text);
  return TRUE;
}

static gboolean
read_op_kind (const DsmJsonAt *object, DsmHistoryOp *op, GError **error)
{
  static const char *const kinds[] = { "transition", "read", NULL };
  guint kind = 0;

  if (!dsm_json_read_enum (object, "op", DSM_JSON_REQUIRED, kinds, &kind, error))
    return FALSE;
  op->op = kind == 0 ? DSM_OP_TRANSITION : DSM_OP_READ;
  return TRUE;
}

static gboolean
read_outcome (const DsmJsonAt *object, DsmHistoryOp *op, GError **error)
{
  const char *result = NULL;
  const char *reason = NULL;
  DsmJsonAt at;

  if (!dsm_json_read_string (object, "result", DSM_JSON_REQUIRED, 0, &result, error)
      || !dsm_json_read_string (object, "reason", DSM_JSON_NULLABLE, 0, &reason, error))
    return FALSE;
  op->completed = strcmp (result, "pending") != 0;
  if (op->completed && !dsm_reply_status_from_string (result, &op->status))
    {
      dsm_json_at_member (&at, object, "result");
      return dsm_json_fail (&at, DSM_JSON_ERROR_CHOICE, error,
                            "expected \"ok\", \"rejected\", \"unknown\" or \"pending\"");
    }
  if (reason != NULL && !dsm_reject_reason_from_string (reason, &op->reason))
    {
      dsm_json_at_member (&at, object, "reason");
      return dsm_json_fail (&at, DSM_JSON_ERROR_CHOICE, error, "no such reason");
    }
  dsm_json_at_member (&at, object, "complete_ms");
  if (!op->completed && at.node != NULL)
    return dsm_json_fail (&at, DSM_JSON_ERROR_INVALID, error,
                          "a pending operation never completed");
  return read_uint (object, "index", op->completed, HISTORY_UINT_MAX, &op->index, error)
         && read_uint (object, "complete_ms", op->completed, HISTORY_UINT_MAX, &op->complete_ms,
                       error);
}

/* The op's fields, errors naming the key; the caller adds the line. */
static gboolean
op_from_json_read (const DsmJsonAt *root, DsmHistoryOp *op, GError **error)
{
  guint client = 0;

  if (!dsm_json_get_object (root, known_keys, error)
      || !read_uint (root, "id", TRUE, HISTORY_UINT_MAX, &op->id, error)
      || !dsm_json_read_uint32 (root, "client", DSM_JSON_REQUIRED, 0, G_MAXUINT, &client, error)
      || !read_name (root, "client_id", FALSE, &op->client_id, error)
      || !read_uint (root, "seq", TRUE, HISTORY_UINT_MAX, &op->seq, error)
      || !read_op_kind (root, op, error)
      || !read_name (root, "machine", TRUE, &op->machine, error)
      || !read_name (root, "definition", FALSE, &op->definition, error)
      || !read_name (root, "from", FALSE, &op->from, error)
      || !read_name (root, "requested", FALSE, &op->requested, error)
      || !read_outcome (root, op, error)
      || !read_name (root, "state", FALSE, &op->state, error)
      || !read_name (root, "payload", FALSE, &op->payload, error)
      || !read_name (root, "output", FALSE, &op->output, error)
      || !read_name (root, "data", FALSE, &op->data, error)
      || !read_optional_uint (root, "if_revision", &op->has_if_revision, &op->if_revision, error)
      || !read_optional_uint (root, "revision", &op->has_revision, &op->revision, error)
      || !read_uint (root, "invoke_ms", TRUE, HISTORY_UINT_MAX, &op->invoke_ms, error))
    return FALSE;
  op->client = client;
  return TRUE;
}

DsmHistoryOp *
dsm_history_op_from_json (JsonNode *root, guint line, GError **error)
{
  g_autoptr(DsmHistoryOp) op = dsm_history_op_new ();
  DsmJsonAt at;

  dsm_json_at_root (&at, &dsm_history_json_errors, root, NULL);
  if (!op_from_json_read (&at, op, error))
    {
      g_prefix_error (error, "line %u: ", line);
      return NULL;
    }
  if (!op_check (op, line, error))
    return NULL;
  return g_steal_pointer (&op);
}

GPtrArray *
dsm_history_read (const char *text, gsize length, GError **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
  g_autoptr(GHashTable) lines_by_id = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                             g_free, NULL);
  /* A line is one op: a few hundred bytes, two levels at most. */
  static const DsmJsonLimits line_limits = { 64 * 1024, 4 };
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
      root = dsm_json_parse (start, (gssize) line_length, &line_limits,
                             &dsm_history_json_errors, &local);
      if (root == NULL)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local), "line %u: ", line);
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
  if (op->payload != NULL)
    g_string_append_printf (out, ", payload %s", op->payload);
  if (op->has_if_revision)
    g_string_append_printf (out, " if revision %" G_GUINT64_FORMAT, op->if_revision);
  if (op->completed && op->has_revision)
    g_string_append_printf (out, ", revision %" G_GUINT64_FORMAT, op->revision);
  if (op->data != NULL)
    g_string_append_printf (out, ", data %s", op->data);
  if (op->output != NULL)
    g_string_append_printf (out, ", result %s", op->output);
}

static gint
compare_times (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

guint64
dsm_history_longest_unavailable (GPtrArray *ops, guint64 from_ms, guint64 to_ms)
{
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (guint64));

  g_return_val_if_fail (ops != NULL, 0);
  for (guint i = 0; i < ops->len; i++)
    {
      const DsmHistoryOp *op = ops->pdata[i];
      if (op->completed && op->status == DSM_REPLY_OK)
        g_array_append_val (times, op->complete_ms);
    }
  return dsm_history_longest_unavailable_times (times, from_ms, to_ms);
}

guint64
dsm_history_longest_unavailable_times (GArray *times, guint64 from_ms, guint64 to_ms)
{
  guint64 longest = 0, last = from_ms;

  g_return_val_if_fail (times != NULL, 0);
  if (to_ms <= from_ms)
    return 0;
  g_array_sort (times, compare_times);
  for (guint i = 0; i < times->len; i++)
    {
      guint64 t = g_array_index (times, guint64, i);
      if (t <= from_ms || t >= to_ms)
        continue;
      longest = MAX (longest, t - last);
      last = t;
    }
  return MAX (longest, to_ms - last);
}
