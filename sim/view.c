/* sim/view.c: reads a trace (and/or a history) into the compact JSON the
 * page draws: lanes, message copies paired with their sends, faults as
 * intervals, roles and epochs, applies, marks, client operations.
 * docs/SIMULATOR.md, "Seeing a run", describes the page. */
#include "view-private.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "codec.h"

/* A trace line is bounded before it is parsed, as history lines are. */
#define VIEW_LINE_BYTES_MAX (1024 * 1024)
/* Marks keep at most this much of a line they do not understand. */
#define VIEW_RAW_TEXT_MAX 300

guint
view_str (ViewData *d, const char *text)
{
  gpointer value;

  if (text == NULL)
    text = "";
  if (g_hash_table_lookup_extended (d->str_index, text, NULL, &value))
    return GPOINTER_TO_UINT (value);
  char *copy = g_strdup (text);
  g_ptr_array_add (d->strings, copy);
  g_hash_table_insert (d->str_index, copy, GUINT_TO_POINTER (d->strings->len - 1));
  return d->strings->len - 1;
}

static void
append_nums (GString *out, guint n, const gint64 *values)
{
  for (guint i = 0; i < n; i++)
    g_string_append_printf (out, "%" G_GINT64_FORMAT ",", values[i]);
}

void
view_mark (ViewData *d, guint64 t, guint node, const char *kind, const char *text)
{
  gint64 v[] = { (gint64) t, node, view_str (d, kind), view_str (d, text) };
  append_nums (d->marks, G_N_ELEMENTS (v), v);
  d->n_marks++;
}

void
view_fault (ViewData *d, guint node, guint64 from, guint64 to, const char *kind, const char *text)
{
  gint64 v[] = { node, (gint64) from, (gint64) to, view_str (d, kind), view_str (d, text) };
  append_nums (d->faults, G_N_ELEMENTS (v), v);
}

void
view_lane (ViewData *d, guint node)
{
  if (node == 0 || node > VIEW_NODE_MAX)
    return;
  if (!d->lane_seen[node])
    {
      d->lane_seen[node] = TRUE;
      d->lanes++;
    }
}

gint64
view_int (JsonObject *o, const char *name, gint64 fallback)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) == G_TYPE_STRING)
    return fallback;
  if (json_node_get_value_type (n) == G_TYPE_BOOLEAN)
    return json_node_get_boolean (n);
  if (json_node_get_value_type (n) == G_TYPE_DOUBLE)
    return (gint64) json_node_get_double (n);
  return json_node_get_int (n);
}

const char *
view_string (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

/* "k=v k=v" of @o's members but those in @skip (NULL-terminated). */
static char *
describe_members (JsonObject *o, const char *const *skip)
{
  GString *out = g_string_new (NULL);
  g_autoptr(GList) names = json_object_get_members (o);

  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;
      if (g_strv_contains (skip, name))
        continue;
      JsonNode *n = json_object_get_member (o, name);
      g_autofree char *value = NULL;
      if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
        value = g_strdup (json_node_get_string (n));
      else
        value = json_to_string (n, FALSE);
      g_string_append_printf (out, "%s%s=%s", out->len > 0 ? " " : "", name, value);
    }
  return g_string_free (out, FALSE);
}

/* ---- messages ---- */

typedef struct {
  GQueue sends;             /* guint64 send times, oldest first (as pointers) */
  guint64 last_send;        /* the last one paired: a duplicate's other copy */
  gboolean has_last;
} SendQueue;

static void
send_queue_free (gpointer data)
{
  SendQueue *q = data;
  g_queue_clear (&q->sends);
  g_free (q);
}

/* The part of a message line that names the message: from "from" up to
 * "why" (or the end).  Two copies of one message, or two messages with
 * identical contents, share it. */
static char *
message_key (const char *line, gsize len)
{
  const char *from = g_strstr_len (line, len, "\"from\":");
  if (from == NULL)
    return NULL;
  const char *end = g_strstr_len (from, len - (from - line), ",\"why\":");
  if (end == NULL)
    end = line + len - 1;   /* the closing brace */
  return g_strndup (from, end - from);
}

static void
message_line (ViewData *d, const char *ev, JsonObject *o, const char *line, gsize len, guint64 t)
{
  static const char *const skip[] = { "t", "ev", "from", "to", "msg", "epoch", NULL };
  g_autofree char *key = message_key (line, len);
  guint from = (guint) view_int (o, "from", 0), to = (guint) view_int (o, "to", 0);
  const char *why = view_string (o, "why");

  view_lane (d, from);
  view_lane (d, to);
  if (key == NULL)
    return;
  SendQueue *q = g_hash_table_lookup (d->pending, key);
  if (q == NULL)
    {
      q = g_new0 (SendQueue, 1);
      g_hash_table_insert (d->pending, g_strdup (key), q);
    }
  if (g_strcmp0 (ev, "send") == 0)
    {
      g_queue_push_tail (&q->sends, GSIZE_TO_POINTER ((gsize) t));
      d->sent++;
      return;
    }

  /* A fate: delivered, corrupted, or dropped (at the send, by loss or a
   * partition, when no copy is on its way; else in flight). */
  int fate = g_strcmp0 (ev, "deliver") == 0 ? VIEW_FATE_DELIVERED
           : g_strcmp0 (ev, "corrupt") == 0 ? VIEW_FATE_CORRUPT
           : VIEW_FATE_DROPPED;
  gboolean at_send = fate == VIEW_FATE_DROPPED
                     && (g_strcmp0 (why, "loss") == 0
                         || (g_strcmp0 (why, "partition") == 0 && g_queue_is_empty (&q->sends)));
  guint64 sent_at = t;
  if (at_send)
    fate = VIEW_FATE_DROPPED_AT_SEND;
  else if (!g_queue_is_empty (&q->sends))
    {
      sent_at = (guint64) GPOINTER_TO_SIZE (g_queue_pop_head (&q->sends));
      q->last_send = sent_at;
      q->has_last = TRUE;
    }
  else if (q->has_last)
    sent_at = q->last_send;   /* the second copy of a duplicated message */
  sent_at = MIN (sent_at, t);   /* a trace whose times go back (edited by hand) */

  g_autofree char *detail = describe_members (o, skip);
  gint64 v[] = { (gint64) sent_at, (gint64) t, from, to, view_str (d, view_string (o, "msg")),
                 view_int (o, "epoch", 0), fate, view_str (d, detail) };
  append_nums (d->msgs, G_N_ELEMENTS (v), v);
  d->arrows++;
}

/* ---- roles ---- */

void
view_role_close (ViewData *d, guint node, guint64 t)
{
  ViewRole *r = &d->roles_open[node];
  if (r->role == NULL)
    return;
  gint64 v[] = { node, (gint64) r->since, (gint64) t, view_str (d, r->role), (gint64) r->epoch };
  append_nums (d->roles, G_N_ELEMENTS (v), v);
  g_clear_pointer (&r->role, g_free);
}

static void
node_event (ViewData *d, JsonObject *e, guint64 t)
{
  static const char *const skip[] = { "event", "t", "node", NULL };
  const char *kind = view_string (e, "event");
  guint node = (guint) view_int (e, "node", 0);

  view_lane (d, node);
  if (g_strcmp0 (kind, "role_change") == 0 && node <= VIEW_NODE_MAX)
    {
      view_role_close (d, node, t);
      d->roles_open[node].role = g_strdup (view_string (e, "role"));
      d->roles_open[node].since = t;
      d->roles_open[node].epoch = (guint64) view_int (e, "epoch", 0);
      return;
    }
  g_autofree char *text = describe_members (e, skip);
  view_mark (d, t, node, kind != NULL ? kind : "node", text);
}

/* ---- operations ---- */

void
view_op (ViewData *d, DsmHistoryOp *op, guint node)
{
  ViewOp *vo = g_hash_table_lookup (d->ops, &op->id);
  if (vo == NULL)
    {
      vo = g_new0 (ViewOp, 1);
      vo->id = op->id;
      g_hash_table_insert (d->ops, &vo->id, vo);   /* the key lives as long as the value */
    }
  else
    dsm_history_op_free (vo->op);
  vo->op = op;
  vo->node = node;
}

static gboolean
op_line (ViewData *d, JsonObject *o, guint line, GError **error)
{
  JsonNode *n = json_object_get_member (o, "op");
  if (n == NULL)
    return TRUE;
  DsmHistoryOp *op = dsm_history_op_from_json (n, line, error);
  if (op == NULL)
    return FALSE;
  view_op (d, op, (guint) view_int (o, "node", 0));
  return TRUE;
}

/* ---- the header ---- */

static gboolean
header_line (ViewData *d, JsonObject *h, GError **error)
{
  JsonNode *scenario = json_object_get_member (h, "scenario");
  if (scenario == NULL || !JSON_NODE_HOLDS_OBJECT (scenario))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "line 1: a trace header has no scenario");
      return FALSE;
    }
  JsonObject *s = json_node_get_object (scenario);
  d->seed = (guint64) view_int (h, "seed", 0);
  d->scenario_json = json_to_string (scenario, FALSE);
  d->name = g_strdup (view_string (s, "name"));
  gint64 nodes = view_int (s, "nodes", 0);
  for (gint64 id = 1; id <= nodes && id <= VIEW_NODE_MAX; id++)
    view_lane (d, (guint) id);
  JsonNode *steps = json_object_get_member (s, "steps");
  if (steps != NULL && JSON_NODE_HOLDS_ARRAY (steps))
    d->steps = json_node_ref (steps);
  d->scenario = dsm_scenario_new_from_json (scenario, d->name != NULL ? d->name : "trace", NULL);
  return TRUE;
}

/* ---- one line ---- */

static gboolean
trace_line_read (ViewData *d, JsonParser *parser, const char *line, gsize len, guint number, GError **error)
{
  g_autoptr(GError) parse_error = NULL;

  if (len > VIEW_LINE_BYTES_MAX)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "line %u: longer than %d bytes", number,
                   VIEW_LINE_BYTES_MAX);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, line, (gssize) len, &parse_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "line %u: %s", number, parse_error->message);
      return FALSE;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "line %u: not a JSON object", number);
      return FALSE;
    }
  JsonObject *o = json_node_get_object (root);
  if (number == 1)
    {
      if (!json_object_has_member (o, "dsm_trace"))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "line 1 is not a dsm trace header");
          return FALSE;
        }
      return header_line (d, o, error);
    }

  const char *ev = view_string (o, "ev");
  gint64 t = view_int (o, "t", -1);
  if (ev == NULL || t < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "line %u: no \"t\" and \"ev\"", number);
      return FALSE;
    }
  g_assert (t >= 0);
  d->end_ms = MAX (d->end_ms, (guint64) t);
  d->lines++;
  if (g_strcmp0 (ev, "send") == 0 || g_strcmp0 (ev, "deliver") == 0 || g_strcmp0 (ev, "drop") == 0
      || g_strcmp0 (ev, "corrupt") == 0)
    message_line (d, ev, o, line, len, (guint64) t);
  else if (g_strcmp0 (ev, "node") == 0)
    {
      JsonNode *e = json_object_get_member (o, "event");
      if (e != NULL && JSON_NODE_HOLDS_OBJECT (e))
        node_event (d, json_node_get_object (e), (guint64) t);
    }
  else if (g_strcmp0 (ev, "apply") == 0)
    {
      guint node = (guint) view_int (o, "node", 0);
      g_autofree char *text = g_strdup_printf ("%s %s%s%s", view_string (o, "status") ?: "",
                                               view_string (o, "machine") ?: "",
                                               view_string (o, "state") != NULL ? " -> " : "",
                                               view_string (o, "state") ?: "");
      gint64 v[] = { t, node, view_int (o, "index", 0), view_int (o, "epoch", 0), view_str (d, text) };
      append_nums (d->applies, G_N_ELEMENTS (v), v);
      view_lane (d, node);
    }
  else if (g_strcmp0 (ev, "invoke") == 0 || g_strcmp0 (ev, "complete") == 0)
    return op_line (d, o, number, error);
  else if (g_strcmp0 (ev, "sync") == 0)
    d->syncs++;
  else if (g_strcmp0 (ev, "retry") == 0)
    {
      guint node = (guint) view_int (o, "node", 0);
      view_mark (d, (guint64) t, node, "client retry", "a client retried here");
    }
  else
    view_fault_line (d, ev, o, line, len, (guint64) t);
  return TRUE;
}

gboolean
view_read_trace (ViewData *d, const char *text, gsize length, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize at = 0;
  guint number = 0;

  while (at < length)
    {
      const char *start = text + at;
      const char *newline = memchr (start, '\n', length - at);
      gsize len = newline != NULL ? (gsize) (newline - start) : length - at;
      number++;
      at += len + (newline != NULL ? 1 : 0);
      if (len == 0)
        continue;
      if (!trace_line_read (d, parser, start, len, number, error))
        return FALSE;
    }
  if (number == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the trace is empty");
      return FALSE;
    }
  /* What is still open ends with the trace. */
  for (guint node = 0; node <= VIEW_NODE_MAX; node++)
    view_role_close (d, node, d->end_ms);
  view_faults_close (d, d->end_ms);
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, d->pending);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    d->in_flight += g_queue_get_length (&((SendQueue *) value)->sends);
  return TRUE;
}

void
view_ops_clear (ViewData *d)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, d->ops);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      dsm_history_op_free (((ViewOp *) value)->op);
      g_free (value);
    }
  g_hash_table_remove_all (d->ops);
}

ViewData *
view_data_new (void)
{
  ViewData *d = g_new0 (ViewData, 1);
  d->strings = g_ptr_array_new_with_free_func (g_free);
  d->str_index = g_hash_table_new (g_str_hash, g_str_equal);
  d->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, send_queue_free);
  d->msgs = g_string_new (NULL);
  d->roles = g_string_new (NULL);
  d->applies = g_string_new (NULL);
  d->marks = g_string_new (NULL);
  d->faults = g_string_new (NULL);
  d->ops = g_hash_table_new (g_int64_hash, g_int64_equal);
  d->cuts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  view_str (d, "");   /* string 0 is the empty one */
  return d;
}

void
view_data_free (ViewData *d)
{
  view_ops_clear (d);
  g_hash_table_unref (d->ops);
  for (guint node = 0; node <= VIEW_NODE_MAX; node++)
    g_free (d->roles_open[node].role);
  g_hash_table_unref (d->cuts);
  g_hash_table_unref (d->str_index);
  g_ptr_array_unref (d->strings);
  g_hash_table_unref (d->pending);
  g_string_free (d->msgs, TRUE);
  g_string_free (d->roles, TRUE);
  g_string_free (d->applies, TRUE);
  g_string_free (d->marks, TRUE);
  g_string_free (d->faults, TRUE);
  g_clear_pointer (&d->steps, json_node_unref);
  g_clear_pointer (&d->finals, g_ptr_array_unref);
  g_clear_pointer (&d->scenario, dsm_scenario_free);
  g_clear_pointer (&d->history, dsm_history_file_free);
  g_free (d->scenario_json);
  g_free (d->name);
  g_free (d);
}

/* A raw line shown as is (bounded). */
char *
view_raw_text (const char *line, gsize len)
{
  g_autofree char *cut = g_strndup (line, MIN (len, VIEW_RAW_TEXT_MAX));
  g_autofree char *valid = g_utf8_make_valid (cut, -1);   /* the cut may split a character */
  return g_strconcat (valid, len > VIEW_RAW_TEXT_MAX ? "..." : "", NULL);
}

/* Writes @s as a JSON string (escaped). */
void
view_write_string (GString *out, const char *s)
{
  dsm_codec_write_string (out, s != NULL ? s : "");
}
