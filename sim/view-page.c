/* sim/view-page.c: writes the page: the data gathered from a trace and a
 * history as one compact JSON object, the checker's finding (for
 * linearizability, the smallest window of replies that contradict one
 * another), and the page's HTML, CSS and script, compiled in as resources
 * from sim/view/ (docs/SIMULATOR.md, "Seeing a run"). */
#include "view-private.h"

#include <gio/gio.h>
#include <string.h>

#include "check/linearizability.h"
#include "check/window.h"
#include "view-resources.h"

static void
write_flat (GString *out, const char *name, const GString *nums)
{
  g_string_append_printf (out, ",\"%s\":[", name);
  g_string_append_len (out, nums->str, nums->len > 0 ? (gssize) nums->len - 1 : 0);   /* no trailing comma */
  g_string_append_c (out, ']');
}

static gint
compare_ops (gconstpointer a, gconstpointer b)
{
  const ViewOp *x = *(ViewOp *const *) a, *y = *(ViewOp *const *) b;
  return x->op->id < y->op->id ? -1 : x->op->id > y->op->id;
}

/* (transfer container) (element-type ViewOp): by id. */
static GPtrArray *
sorted_ops (ViewData *d)
{
  GPtrArray *ops = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, d->ops);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (ops, value);
  g_ptr_array_sort (ops, compare_ops);
  return ops;
}

static int
op_result (const DsmHistoryOp *op)
{
  if (!op->completed)
    return 3;
  switch (op->status)
    {
    case DSM_REPLY_OK:
      return 0;
    case DSM_REPLY_REJECTED:
      return 1;
    default:
      return 2;
    }
}

static void
write_ops (ViewData *d, GPtrArray *ops, GString *out)
{
  g_string_append (out, ",\"o\":[");
  for (guint i = 0; i < ops->len; i++)
    {
      const ViewOp *vo = ops->pdata[i];
      const DsmHistoryOp *op = vo->op;
      g_autoptr(GString) text = g_string_new (NULL);
      dsm_history_op_describe (text, op);
      g_string_append_printf (out, "%s%" G_GUINT64_FORMAT ",%u,%u,%" G_GUINT64_FORMAT ",%" G_GINT64_FORMAT ",%d,%d,%u,%u",
                              i > 0 ? "," : "", op->id, op->client, vo->node, op->invoke_ms,
                              op->completed ? (gint64) op->complete_ms : (gint64) -1, op_result (op),
                              op->op == DSM_OP_READ ? 1 : 0, view_str (d, text->str), view_str (d, op->machine));
    }
  g_string_append_c (out, ']');
}

/* The linearizability finding: which machine, and the window's op ids. */
typedef struct {
  char *machine;
  char *explanation;
  GArray *ids;              /* guint64 */
  char *window_text;
} LinFinding;

static void
lin_finding_clear (LinFinding *f)
{
  g_free (f->machine);
  g_free (f->explanation);
  g_clear_pointer (&f->ids, g_array_unref);
  g_free (f->window_text);
}

/* Checks @vops (plus the first final state as reads, as dsm-check does);
 * returns FALSE when they are linearizable (or the check was inconclusive). */
static gboolean
lin_find (GPtrArray *vops, DsmHistoryFile *history, DsmConfig *config, LinFinding *f)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new ();
  g_autoptr(GPtrArray) final_reads = NULL;
  DsmLinearizabilityResult result = { 0 };

  for (guint i = 0; i < vops->len; i++)
    g_ptr_array_add (ops, ((ViewOp *) vops->pdata[i])->op);
  if (history != NULL && history->finals->len > 0)
    {
      final_reads = dsm_history_final_reads (history->ops, history->finals->pdata[0]);
      for (guint i = 0; i < final_reads->len; i++)
        g_ptr_array_add (ops, final_reads->pdata[i]);
    }
  gboolean linearizable = dsm_linearizability_check (ops, config, 0, &result);
  if (!linearizable)
    {
      DsmWindow window = { 0 };
      f->machine = g_strdup (result.machine);
      f->explanation = g_strdup (result.explanation);
      f->ids = g_array_new (FALSE, FALSE, sizeof (guint64));
      if (dsm_window_find (ops, config, result.machine, 0, &window))
        {
          GString *text = g_string_new (NULL);
          g_string_append_printf (text, "smallest window: %u replies of machine \"%s\", %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
                                  " ms%s; these replies cannot all be true:", window.ops->len, result.machine,
                                  window.from_ms, window.to_ms, window.minimal ? ", minimal" : ", reduced");
          for (guint i = 0; i < window.ops->len; i++)
            {
              const DsmHistoryOp *op = window.ops->pdata[i];
              g_array_append_val (f->ids, op->id);
              g_string_append (text, "\n  ");
              dsm_history_op_describe (text, op);
            }
          f->window_text = g_string_free (text, FALSE);
        }
      dsm_window_clear (&window);
    }
  dsm_linearizability_result_clear (&result);
  return !linearizable;
}

static void
write_finding (ViewData *d, const DsmViewInput *in, GPtrArray *ops, GString *out, DsmViewCounts *counts)
{
  LinFinding lin = { 0 };
  DsmConfig *config = d->history != NULL ? d->history->config : d->scenario != NULL ? d->scenario->config : NULL;
  gboolean judge_lin = ops->len > 0 && config != NULL
                       && ((in->has_finding && in->invariant == DSM_INVARIANT_LINEARIZABILITY)
                           || (!in->has_finding && d->history != NULL && in->trace == NULL));
  gboolean violation = judge_lin && lin_find (ops, d->history, config, &lin);
  g_autofree char *finals_why = NULL;
  gboolean finals_disagree = !in->has_finding && d->history != NULL
                             && !dsm_history_finals_agree (d->history->finals, &finals_why);

  g_string_append (out, ",\"x\":");
  if (!in->has_finding && !violation && !finals_disagree)
    {
      g_string_append (out, "null");
      lin_finding_clear (&lin);
      return;
    }
  g_string_append (out, "{\"inv\":");
  if (in->has_finding)
    view_write_string (out, dsm_invariant_to_string (in->invariant));
  else
    view_write_string (out, finals_disagree ? "final states" : "linearizability");
  g_string_append (out, ",\"msg\":");
  if (in->has_finding)
    view_write_string (out, in->failure);
  else if (finals_disagree)
    view_write_string (out, finals_why);
  else
    {
      g_autofree char *msg = g_strdup_printf ("machine \"%s\": %s", lin.machine, lin.explanation);
      view_write_string (out, msg);
    }
  g_string_append_printf (out, ",\"t\":%" G_GINT64_FORMAT, in->has_finding ? (gint64) in->failed_at_ms : (gint64) -1);
  g_string_append (out, ",\"machine\":");
  view_write_string (out, lin.machine);
  g_string_append (out, ",\"window\":");
  view_write_string (out, lin.window_text);
  g_string_append (out, ",\"ops\":[");
  for (guint i = 0; lin.ids != NULL && i < lin.ids->len; i++)
    g_string_append_printf (out, "%s%" G_GUINT64_FORMAT, i > 0 ? "," : "", g_array_index (lin.ids, guint64, i));
  g_string_append (out, "]}");
  counts->window_ops = lin.ids != NULL ? lin.ids->len : 0;
  lin_finding_clear (&lin);
}

static gboolean
read_history (ViewData *d, const DsmViewInput *in, GError **error)
{
  g_autoptr(GError) read_error = NULL;

  d->history = dsm_history_file_read (in->history, in->history_len, d->scenario != NULL ? d->scenario->config : NULL,
                                      &read_error);
  if (d->history == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "history: %s", read_error->message);
      return FALSE;
    }
  /* The history's operations are drawn: it is what the clients saw. */
  view_ops_clear (d);
  for (guint i = 0; i < d->history->ops->len; i++)
    {
      const DsmHistoryOp *op = d->history->ops->pdata[i];
      d->end_ms = MAX (d->end_ms, op->completed ? op->complete_ms : op->invoke_ms);
      view_op (d, dsm_history_op_copy (op), 0);
    }
  return TRUE;
}

static void
write_lanes (ViewData *d, GString *out)
{
  gboolean first = TRUE;

  g_string_append (out, ",\"lanes\":[");
  for (guint node = 1; node <= VIEW_NODE_MAX; node++)
    if (d->lane_seen[node])
      {
        g_string_append_printf (out, "%s[%u,\"node %u\"]", first ? "" : ",", node, node);
        first = FALSE;
      }
  /* A history without a trace: a lane per node whose final states it lists. */
  for (guint i = 0; d->lanes == 0 && d->history != NULL && i < d->history->finals->len; i++)
    {
      const DsmHistoryFinal *final = d->history->finals->pdata[i];
      g_string_append_printf (out, "%s[%u,", first ? "" : ",", i + 1);
      g_autofree char *label = g_strdup_printf ("node %s", final->node);
      view_write_string (out, label);
      g_string_append_c (out, ']');
      first = FALSE;
    }
  g_string_append_c (out, ']');
}

static void
write_finals (ViewData *d, GString *out)
{
  g_string_append (out, ",\"fin\":[");
  for (guint i = 0; d->history != NULL && i < d->history->finals->len; i++)
    {
      const DsmHistoryFinal *final = d->history->finals->pdata[i];
      g_autoptr(GList) names = g_list_sort (g_hash_table_get_keys (final->machines), (GCompareFunc) strcmp);
      g_autoptr(GString) text = g_string_new (NULL);
      for (GList *l = names; l != NULL; l = l->next)
        g_string_append_printf (text, "%s%s=%s", text->len > 0 ? " " : "", (char *) l->data,
                                (char *) g_hash_table_lookup (final->machines, l->data));
      g_string_append_printf (out, "%s[", i > 0 ? "," : "");
      view_write_string (out, final->node);
      g_string_append_c (out, ',');
      view_write_string (out, text->str);
      g_string_append_c (out, ']');
    }
  g_string_append_c (out, ']');
}

static void
write_data (ViewData *d, const DsmViewInput *in, GString *out, DsmViewCounts *counts)
{
  g_autoptr(GPtrArray) ops = sorted_ops (d);

  g_string_append (out, "{\"v\":1,\"title\":");
  view_write_string (out, in->title != NULL ? in->title : d->name != NULL ? d->name : "history");
  g_string_append_printf (out, ",\"seed\":%" G_GUINT64_FORMAT ",\"end\":%" G_GUINT64_FORMAT ",\"lines\":%" G_GUINT64_FORMAT
                          ",\"sent\":%" G_GUINT64_FORMAT ",\"in_flight\":%" G_GUINT64_FORMAT ",\"syncs\":%" G_GUINT64_FORMAT
                          ",\"trace\":%s,\"history\":%s",
                          d->seed, d->end_ms, d->lines, d->sent, d->in_flight, d->syncs, in->trace != NULL ? "true" : "false",
                          d->history != NULL ? "true" : "false");
  g_string_append (out, ",\"note\":");
  view_write_string (out, in->verdict_note);
  g_string_append_printf (out, ",\"scenario\":%s", d->scenario_json != NULL ? d->scenario_json : "null");
  write_lanes (d, out);
  write_flat (out, "m", d->msgs);
  write_flat (out, "r", d->roles);
  write_flat (out, "a", d->applies);
  write_flat (out, "k", d->marks);
  write_flat (out, "f", d->faults);
  write_ops (d, ops, out);
  write_finals (d, out);
  write_finding (d, in, ops, out, counts);
  /* last, so every string above is in it */
  g_string_append (out, ",\"s\":[");
  for (guint i = 0; i < d->strings->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      view_write_string (out, d->strings->pdata[i]);
    }
  g_string_append (out, "]}");
  counts->lanes = d->lanes > 0 ? d->lanes : d->history != NULL ? d->history->finals->len : 0;
  counts->arrows = d->arrows;
  counts->in_flight = d->in_flight;
  counts->ops = ops->len;
}

static GBytes *
resource (const char *name)
{
  g_autofree char *path = g_strconcat ("/org/dsm/view/", name, NULL);
  GBytes *bytes = g_resource_lookup_data (dsm_view_get_resource (), path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_assert (bytes != NULL);   /* compiled in by sim/meson.build */
  return bytes;
}

/* Appends @template with each "@NAME@" of @names replaced by @values. */
static void
fill_template (GString *out, GBytes *template, const char *const *names, GBytes *const *values, guint n)
{
  gsize length = 0;
  const char *text = g_bytes_get_data (template, &length);
  gsize at = 0;

  while (at < length)
    {
      const char *marker = g_strstr_len (text + at, length - at, "@VIEW_");
      if (marker == NULL)
        {
          g_string_append_len (out, text + at, length - at);
          return;
        }
      g_string_append_len (out, text + at, marker - (text + at));
      at = marker - text;
      guint i = 0;
      while (i < n && strncmp (marker, names[i], strlen (names[i])) != 0)
        i++;
      g_assert (i < n);   /* the template names only what we fill */
      gsize value_length = 0;
      const char *value = g_bytes_get_data (values[i], &value_length);
      g_string_append_len (out, value, value_length);
      at += strlen (names[i]);
    }
}

gboolean
dsm_view_render (const DsmViewInput *in, GString *out, DsmViewCounts *counts, GError **error)
{
  g_autoptr(ViewData) d = view_data_new ();
  DsmViewCounts local = { 0 };

  g_return_val_if_fail (in != NULL && out != NULL, FALSE);
  g_return_val_if_fail (in->trace != NULL || in->history != NULL, FALSE);
  if (counts == NULL)
    counts = &local;
  if (in->trace != NULL && !view_read_trace (d, in->trace, in->trace_len, error))
    return FALSE;
  if (in->history != NULL && !read_history (d, in, error))
    return FALSE;

  g_autoptr(GString) data = g_string_new (NULL);
  write_data (d, in, data, counts);
  /* '<' only occurs inside JSON strings, where \u003c means the same: the
   * script element can then never be closed by the data. */
  g_autoptr(GString) escaped = g_string_sized_new (data->len + data->len / 64);
  for (gsize i = 0; i < data->len; i++)
    if (data->str[i] == '<')
      g_string_append (escaped, "\\u003c");
    else
      g_string_append_c (escaped, data->str[i]);
  counts->data_bytes = escaped->len;

  g_autoptr(GBytes) html = resource ("view.html");
  g_autoptr(GBytes) css = resource ("view.css");
  g_autoptr(GBytes) js = resource ("view.js");
  g_autoptr(GBytes) json = g_bytes_new_static (escaped->str, escaped->len);
  const char *const names[] = { "@VIEW_CSS@", "@VIEW_JS@", "@VIEW_DATA@" };
  GBytes *const values[] = { css, js, json };
  fill_template (out, html, names, values, G_N_ELEMENTS (names));
  return TRUE;
}

char *
dsm_view_path_for (const char *trace_path)
{
  g_return_val_if_fail (trace_path != NULL, NULL);
  gsize length = strlen (trace_path);
  if (g_str_has_suffix (trace_path, ".trace"))
    length -= strlen (".trace");
  else if (g_str_has_suffix (trace_path, ".jsonl"))
    length -= strlen (".jsonl");
  g_autofree char *stem = g_strndup (trace_path, length);
  return g_strconcat (stem, ".html", NULL);
}
