/* sim/view-faults.c: the trace's fault lines as intervals the page shades
 * (a node down, paused, isolated, its disk full; a partition, a cut, a
 * loss or delay window), and every line of a kind it does not know as a
 * mark carrying the line itself, so new kinds are drawn, not refused. */
#include "view-private.h"

#include <string.h>

static const char *const window_names[VIEW_WINDOW_N] = {
  [VIEW_WINDOW_LOSS] = "loss",
  [VIEW_WINDOW_DELAY] = "delay",
  [VIEW_WINDOW_DUPLICATE] = "duplicate",
  [VIEW_WINDOW_REORDER] = "reorder",
  [VIEW_WINDOW_CORRUPT] = "corrupt",
};

static void
open_start (ViewOpen *o, guint64 t, char *text)
{
  g_assert (!o->open);
  o->open = TRUE;
  o->since = t;
  o->text = text;
}

static void
open_close (ViewData *d, ViewOpen *o, guint node, guint64 t, const char *kind)
{
  if (!o->open)
    return;
  view_fault (d, node, o->since, MAX (t, o->since), kind, o->text);
  o->open = FALSE;
  g_clear_pointer (&o->text, g_free);
}

/* The scenario step a fault line names ("steps[3]"), if the header has it. */
static JsonObject *
fault_step (ViewData *d, JsonObject *o)
{
  const char *where = view_string (o, "step");
  guint64 i = 0;

  if (where == NULL || d->steps == NULL || !g_str_has_prefix (where, "steps["))
    return NULL;
  i = g_ascii_strtoull (where + strlen ("steps["), NULL, 10);
  JsonArray *steps = json_node_get_array (d->steps);
  if (i >= json_array_get_length (steps))
    return NULL;
  JsonNode *n = json_array_get_element (steps, (guint) i);
  return JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static char *
member_json (JsonObject *o, const char *name)
{
  JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
  return n != NULL ? json_to_string (n, FALSE) : g_strdup ("?");
}

/* Windows whose own end has passed are over. */
static void
windows_expire (ViewData *d, guint64 t)
{
  for (int k = 0; k < VIEW_WINDOW_N; k++)
    if (d->windows[k].open && d->window_until[k] <= t)
      open_close (d, &d->windows[k], 0, d->window_until[k], window_names[k]);
}

static void
network_heal (ViewData *d, guint64 t)
{
  GHashTableIter iter;
  gpointer key, value;

  open_close (d, &d->partition, 0, t, "partition");
  for (guint n = 0; n <= VIEW_NODE_MAX; n++)
    open_close (d, &d->isolated[n], n, t, "isolated");
  g_hash_table_iter_init (&iter, d->cuts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      guint from = (guint) g_ascii_strtoull (key, NULL, 10);
      open_close (d, value, from, t, "cut");
    }
  g_hash_table_remove_all (d->cuts);
  windows_expire (d, t);
  for (int k = 0; k < VIEW_WINDOW_N; k++)
    open_close (d, &d->windows[k], 0, t, window_names[k]);
}

static void
fault_step_line (ViewData *d, JsonObject *o, guint64 t)
{
  const char *what = view_string (o, "do");
  guint node = (guint) CLAMP (view_int (o, "node", 0), 0, VIEW_NODE_MAX);
  JsonObject *step = fault_step (d, o);

  windows_expire (d, t);
  if (what == NULL)
    what = "fault";
  if (g_strcmp0 (what, "crash") == 0 || g_strcmp0 (what, "restart") == 0)
    return;   /* the crash and restart lines say it, with what the disk kept */
  if (g_strcmp0 (what, "heal") == 0)
    {
      network_heal (d, t);
      view_mark (d, t, 0, "heal", "heal: every partition, isolation, cut and window ends");
      return;
    }
  if (g_strcmp0 (what, "partition") == 0)
    {
      open_close (d, &d->partition, 0, t, "partition");
      g_autofree char *groups = member_json (step, "groups");
      open_start (&d->partition, t, g_strdup_printf ("partition %s (the unlisted nodes are one more group)", groups));
      return;
    }
  if (g_strcmp0 (what, "isolate") == 0)
    {
      open_close (d, &d->isolated[node], node, t, "isolated");
      open_start (&d->isolated[node], t, g_strdup_printf ("node %u isolated", node));
      return;
    }
  if (g_strcmp0 (what, "cut") == 0)
    {
      gint64 from = view_int (step, "from", node), to = view_int (step, "to", 0);
      char *key = g_strdup_printf ("%" G_GINT64_FORMAT ">%" G_GINT64_FORMAT, from, to);
      ViewOpen *cut = g_hash_table_lookup (d->cuts, key);
      if (cut == NULL)
        {
          cut = g_new0 (ViewOpen, 1);
          g_hash_table_insert (d->cuts, key, cut);
        }
      else
        g_free (key);
      if (!cut->open)
        open_start (cut, t, g_strdup_printf ("one-way cut: %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT " dropped",
                                             from, to));
      return;
    }
  for (int k = 0; k < VIEW_WINDOW_N; k++)
    if (g_strcmp0 (what, window_names[k]) == 0)
      {
        gint64 for_ms = view_int (step, "for_ms", 0);
        open_close (d, &d->windows[k], 0, t, window_names[k]);
        g_autofree char *percent = member_json (step, "percent");
        g_autofree char *ms = member_json (step, "ms");
        open_start (&d->windows[k], t, k == VIEW_WINDOW_DELAY
                                         ? g_strdup_printf ("delay window: +%s ms", ms)
                                         : g_strdup_printf ("%s window: %s%%", window_names[k], percent));
        d->window_until[k] = for_ms > 0 ? t + (guint64) for_ms : G_MAXUINT64;
        return;
      }
  if (g_strcmp0 (what, "pause") == 0)
    {
      gint64 ms = view_int (step, "ms", 0);
      g_autofree char *text = g_strdup_printf ("node %u paused for %" G_GINT64_FORMAT " ms", node, ms);
      view_fault (d, node, t, t + (guint64) MAX (ms, 0), "paused", text);
      return;
    }
  if (g_strcmp0 (what, "disk_full") == 0)
    {
      open_close (d, &d->disk_full[node], node, t, "disk full");
      open_start (&d->disk_full[node], t, g_strdup_printf ("node %u's disk is full", node));
      return;
    }
  if (g_strcmp0 (what, "disk_space_restored") == 0)
    {
      for (guint n = 0; n <= VIEW_NODE_MAX; n++)
        if (n == node || node == 0)
          open_close (d, &d->disk_full[n], n, t, "disk full");
      return;
    }
  /* disk faults armed, skew, membership, transfers, anything newer */
  g_autofree char *text = NULL;
  if (step != NULL)
    {
      g_autoptr(JsonNode) n = json_node_new (JSON_NODE_OBJECT);
      json_node_set_object (n, step);
      text = json_to_string (n, FALSE);
    }
  else
    text = g_strdup (what);
  view_mark (d, t, node, g_strcmp0 (what, "disk") == 0 ? "disk fault" : "fault", text);
}

void
view_fault_line (ViewData *d, const char *ev, JsonObject *o, const char *line, gsize len, guint64 t)
{
  guint node = (guint) CLAMP (view_int (o, "node", 0), 0, VIEW_NODE_MAX);

  view_lane (d, node);
  if (g_strcmp0 (ev, "fault") == 0)
    {
      fault_step_line (d, o, t);
      return;
    }
  if (g_strcmp0 (ev, "crash") == 0)
    {
      view_role_close (d, node, t);
      open_close (d, &d->down[node], node, t, "down");
      open_start (&d->down[node], t, g_strdup_printf ("node %u down: %s", node, view_string (o, "disk") ?: "crashed"));
      view_mark (d, t, node, "crash", view_string (o, "disk"));
      return;
    }
  if (g_strcmp0 (ev, "restart") == 0)
    {
      open_close (d, &d->down[node], node, t, "down");
      g_autofree char *text = g_strdup_printf ("restarted: epoch %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " entries",
                                               view_int (o, "epoch", 0), view_int (o, "entries", 0));
      view_mark (d, t, node, "restart", text);
      return;
    }
  if (g_strcmp0 (ev, "heal") == 0)
    {
      network_heal (d, t);
      for (guint n = 0; n <= VIEW_NODE_MAX; n++)
        open_close (d, &d->disk_full[n], n, t, "disk full");
      view_mark (d, t, 0, "final heal", "the final heal: the network healed, disks given room, crashed nodes restarted");
      return;
    }
  /* refused, alarm, skipped, admin, join, sync_failed, and kinds this
   * reader has never heard of: a mark with the line itself. */
  g_autofree char *text = view_raw_text (line, len);
  view_mark (d, t, node, ev, text);
}

void
view_faults_close (ViewData *d, guint64 t)
{
  network_heal (d, t);
  for (guint n = 0; n <= VIEW_NODE_MAX; n++)
    {
      open_close (d, &d->down[n], n, t, "down");
      open_close (d, &d->disk_full[n], n, t, "disk full");
    }
}
