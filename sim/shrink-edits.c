/* sim/shrink-edits.c: the shrinker's edits besides deleting steps: the
 * workload written out as explicit operations, fewer nodes with the steps
 * remapped, and numbers lowered towards their floors (docs/SIMULATOR.md,
 * "Shrinking").  Each edit is one candidate run, kept only when it fails
 * with the original's signature. */
#include "shrink-private.h"

#include <string.h>

#include "sim.h"

/* ---- the workload as explicit operations ---- */

/* The step that sends what the trace line @o (an invoke or a retry of a
 * workload client's op) sent: at its time, to its node, the same command.
 * NULL for an op a step cannot carry. */
static JsonNode *
materialize_step (JsonObject *o)
{
  JsonObject *op = json_object_get_object_member (o, "op");
  const char *kind = json_object_get_string_member (op, "op");
  gboolean read = g_strcmp0 (kind, "read") == 0;

  /* A step has no payload to carry (a plugin machine's command input):
   * such a workload stays a workload. */
  if ((!read && g_strcmp0 (kind, "transition") != 0) || json_object_has_member (op, "payload"))
    return NULL;
  JsonObject *step = json_object_new ();
  json_object_set_int_member (step, "at_ms", json_object_get_int_member (o, "t"));
  json_object_set_string_member (step, "do", read ? "read" : "propose");
  json_object_set_int_member (step, "node", json_object_get_int_member (o, "node"));
  json_object_set_string_member (step, "machine", json_object_get_string_member (op, "machine"));
  if (json_object_has_member (op, "definition"))
    json_object_set_string_member (step, "definition", json_object_get_string_member (op, "definition"));
  if (!read)
    json_object_set_string_member (step, "to", json_object_get_string_member (op, "requested"));
  if (!read && json_object_has_member (op, "from"))
    json_object_set_string_member (step, "from", json_object_get_string_member (op, "from"));
  /* A read has no session: it changes nothing, and its retry is a read
   * again. */
  if (!read && json_object_has_member (op, "client_id"))
    {
      json_object_set_string_member (step, "client_id", json_object_get_string_member (op, "client_id"));
      json_object_set_int_member (step, "seq", json_object_get_int_member (op, "seq"));
    }
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, step);
  return node;
}

/* Appends to @steps the steps that @old holds at or before @t_ms, from *@k. */
static void
materialize_merge (JsonArray *steps, JsonArray *old, guint *k, gint64 t_ms)
{
  while (*k < json_array_get_length (old)
         && json_object_get_int_member (json_array_get_object_element (old, *k), "at_ms") <= t_ms)
    json_array_add_element (steps, json_node_copy (json_array_get_element (old, (*k)++)));
}

/* The workload is a closed loop: each client thinks after its last reply,
 * so any edit that moves a reply moves every later operation, and shrinking
 * the clients or the rate redraws them all (a shrunk run used to issue
 * more operations than the original).  Hypothesis shrinks the choices a
 * test made rather than its parameters; here that is what the run's
 * clients sent: every attempt (a first send or a retry, with the same
 * client id and seq, as the trace shows it) becomes a propose or read step
 * at its time, to its node, and ddmin deletes them one by one.  The
 * network draws the same latencies for them, so the run is mostly the
 * same; still, the conversion is a candidate like any edit and may be
 * refused. */
gboolean
shrink_materialize (Shrink *s, DsmScenario **current)
{
  const DsmScenario *cur = *current;

  if (cur->workload.clients == 0 || s->attempts >= s->max_runs)
    return FALSE;
  for (guint i = 0; i < cur->steps->len; i++)
    if (!((const DsmStep *) cur->steps->pdata[i])->has_at)
      return FALSE; /* steps timed after one another: no place to merge into */

  g_autoptr(GString) trace = g_string_new (NULL);
  DsmSimOptions options = { .has_seed = TRUE, .seed = s->seed, .mutant = s->mutant, .trace = trace };
  DsmSimReport report = { 0 };
  g_autoptr(DsmSim) sim = dsm_sim_new (cur, &options);
  s->attempts++;
  dsm_sim_run (sim, &report);
  dsm_sim_report_clear (&report);

  g_autoptr(JsonNode) tree = shrink_tree (cur);
  JsonObject *root = json_node_get_object (tree);
  JsonArray *old = json_object_get_array_member (root, "steps");
  g_autoptr(JsonArray) steps = json_array_new ();
  guint k = 0;

  /* Line by line, cut in place: g_strsplit calls strstr on the rest of the
   * trace once per line, which AddressSanitizer's strstr (it measures the
   * whole rest each time) makes quadratic. */
  for (char *text = trace->str, *nl; *text != '\0'; text = nl + 1)
    {
      nl = strchr (text, '\n');
      g_assert (nl != NULL); /* our trace: every line ends with a newline */
      *nl = '\0';
      if (strstr (text, "\"ev\":\"invoke\"") == NULL && strstr (text, "\"ev\":\"retry\"") == NULL)
        continue;
      g_autoptr(JsonNode) line = json_from_string (text, NULL);
      /* Our own trace: every such line has its time, client, node and op. */
      g_assert (line != NULL && JSON_NODE_HOLDS_OBJECT (line));
      JsonObject *o = json_node_get_object (line);
      g_assert (json_object_has_member (o, "op") && json_object_has_member (o, "node"));
      if (json_object_get_int_member (o, "client") >= cur->workload.clients)
        continue; /* the script's: a step already */
      JsonNode *step = materialize_step (o);
      if (step == NULL)
        return FALSE;
      /* The trace is in time order; a step at the same millisecond goes
       * first. */
      materialize_merge (steps, old, &k, json_object_get_int_member (o, "t"));
      json_array_add_element (steps, step);
    }
  materialize_merge (steps, old, &k, G_MAXINT64);
  json_object_set_array_member (root, "steps", json_array_ref (steps));
  json_object_remove_member (root, "workload");
  DsmScenario *smaller = shrink_try_json (s, tree);
  if (smaller == NULL)
    return FALSE;
  shrink_replace (current, smaller);
  return TRUE;
}

/* ---- fewer nodes ---- */

/* Step members that name a node by id. */
static const char *const node_members[] = { "node", "from", "to", "as", "on" };

/* @current on @n nodes: each step naming a node past @n either aimed at
 * the node of the same place modulo @n (@drop FALSE), so a crash of node 5
 * among 3 becomes a crash of node 2, or left out (@drop TRUE); partition
 * groups lose the nodes that are gone. */
static JsonNode *
nodes_tree (const DsmScenario *current, guint n, gboolean drop)
{
  JsonNode *tree = shrink_tree (current);
  JsonObject *root = json_node_get_object (tree);
  JsonArray *steps = json_object_get_array_member (root, "steps");

  json_object_set_int_member (root, "nodes", n);
  for (guint i = json_array_get_length (steps); i-- > 0;)
    {
      JsonObject *step = json_array_get_object_element (steps, i);
      gboolean gone = FALSE;
      for (guint m = 0; m < G_N_ELEMENTS (node_members); m++)
        {
          JsonNode *v = json_object_get_member (step, node_members[m]);
          if (v == NULL || json_node_get_value_type (v) != G_TYPE_INT64 || json_node_get_int (v) <= (gint64) n)
            continue;
          gone = TRUE;
          json_object_set_int_member (step, node_members[m], (json_node_get_int (v) - 1) % n + 1);
        }
      JsonArray *groups = json_object_has_member (step, "groups") ? json_object_get_array_member (step, "groups") : NULL;
      for (guint g = groups != NULL ? json_array_get_length (groups) : 0; g-- > 0;)
        {
          JsonArray *group = json_array_get_array_element (groups, g);
          for (guint k = group != NULL ? json_array_get_length (group) : 0; k-- > 0;)
            {
              JsonNode *v = json_array_get_element (group, k);
              if (json_node_get_value_type (v) == G_TYPE_INT64 && json_node_get_int (v) > (gint64) n)
                json_array_remove_element (group, k);
            }
          if (group != NULL && json_array_get_length (group) == 0)
            json_array_remove_element (groups, g);
        }
      if (drop && gone)
        json_array_remove_element (steps, i);
    }
  return tree;
}

/* The fewest nodes, from 1 up, that still fail the same way: the steps
 * remapped first, then without the steps that named the nodes gone. */
gboolean
shrink_nodes (Shrink *s, DsmScenario **current)
{
  for (guint n = 1; n < (*current)->config->n_nodes; n++)
    for (guint drop = 0; drop < 2; drop++)
      {
        g_autoptr(JsonNode) tree = nodes_tree (*current, n, drop);
        DsmScenario *smaller = shrink_try_json (s, tree);
        if (smaller != NULL)
          {
            shrink_replace (current, smaller);
            return TRUE;
          }
      }
  return FALSE;
}

/* ---- numbers towards their floors ---- */

static JsonObject *
value_object (JsonNode *tree, const char *path)
{
  JsonObject *obj = json_node_get_object (tree);

  return json_object_has_member (obj, path) ? json_object_get_object_member (obj, path) : NULL;
}

static gboolean
value_get (const DsmScenario *current, const char *path, const char *member, double *value)
{
  g_autoptr(JsonNode) tree = shrink_tree (current);
  JsonObject *obj = value_object (tree, path);

  if (obj == NULL || !json_object_has_member (obj, member))
    return FALSE;
  *value = json_node_get_double (json_object_get_member (obj, member));
  return TRUE;
}

/* Sets @path.@member to @value (below what it is) and keeps the result
 * if it fails the same way. */
static gboolean
value_try (Shrink *s, DsmScenario **current, const char *path, const char *member, gint64 value)
{
  g_autoptr(JsonNode) tree = shrink_tree (*current);
  JsonObject *obj = value_object (tree, path);

  g_assert (obj != NULL && json_object_has_member (obj, member)); /* value_get() found it */
  if (json_node_get_value_type (json_object_get_member (obj, member)) == G_TYPE_DOUBLE)
    json_object_set_double_member (obj, member, (double) value);
  else
    json_object_set_int_member (obj, member, value);
  DsmScenario *smaller = shrink_try_json (s, tree);
  if (smaller == NULL)
    return FALSE;
  shrink_replace (current, smaller);
  return TRUE;
}

/* The smallest of a few values between the floor and the current one that
 * still fails the same way: the floor, an eighth, a quarter and half of
 * the way up, one less; again from the value kept, until none is.  A
 * failure is not monotone in a number, so a refused half does not end the
 * search as a bisection would. */
static gboolean
value_shrink (Shrink *s, DsmScenario **current, const char *path, const char *member, const char *floor_member,
              double floor)
{
  gboolean changed = FALSE;
  double v;

  if (floor_member != NULL && !value_get (*current, path, floor_member, &floor))
    return FALSE;
  while (s->attempts < s->max_runs && value_get (*current, path, member, &v) && v > floor)
    {
      gint64 lo = (gint64) floor, span = (gint64) v - lo;
      gint64 tries[] = { lo, lo + span / 8, lo + span / 4, lo + span / 2, (gint64) v - 1 };
      gboolean kept = FALSE;
      for (guint i = 0; i < G_N_ELEMENTS (tries) && !kept; i++)
        if (tries[i] < (gint64) v && (i == 0 || tries[i] > tries[i - 1]))
          kept = value_try (s, current, path, member, tries[i]);
      if (!kept)
        break;
      changed = TRUE;
    }
  return changed;
}

typedef struct {
  const char *path;
  const char *member;
  double floor;
  const char *floor_member;  /* nullable: the floor is this member's value */
  gboolean workload;         /* only while the workload is a closed loop */
} Value;

static const Value values[] = {
  { "workload", "clients", 0, NULL, TRUE },
  { "workload", "duration_ms", 100, NULL, TRUE },
  { "workload", "rate_per_s", 1, NULL, TRUE },
  { "workload", "machines", 1, NULL, TRUE },
  { "workload", "read_percent", 0, NULL, TRUE },
  { "network", "loss_percent", 0, NULL, FALSE },
  { "network", "duplicate_percent", 0, NULL, FALSE },
  { "network", "reorder_percent", 0, NULL, FALSE },
  { "network", "reorder_ms_max", 0, NULL, FALSE },
  { "network", "latency_ms_max", 0, "latency_ms_min", FALSE },
  { "network", "client_latency_ms_max", 0, "client_latency_ms_min", FALSE },
  { "disk", "fsync_ms_max", 0, "fsync_ms_min", FALSE },
  /* A snapshot after fewer entries needs fewer operations before it. */
  { "cluster", "snapshot_threshold_entries", 1, NULL, FALSE },
};

gboolean
shrink_values (Shrink *s, DsmScenario **current)
{
  gboolean changed = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    if (!values[i].workload || (*current)->workload.clients > 0)
      changed |= value_shrink (s, current, values[i].path, values[i].member, values[i].floor_member,
                               values[i].floor);
  return changed;
}
