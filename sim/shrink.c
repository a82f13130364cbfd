/* sim/shrink.c: minimizing a failing run.  Greedy passes over the
 * scenario's JSON (drop a step; halve the workload's duration, clients,
 * rate and machines; drop two nodes), keeping each edit while the run with
 * the same seed still violates the same invariant, until a whole round
 * changes nothing.  Edits go through the scenario parser, so the result
 * is always a valid file. */
#include "explore.h"

#include "sim.h"

typedef struct {
  guint64 seed;
  int invariant;
  int mutant;
  guint attempts;
} Shrink;

static DsmScenario *
try_json (Shrink *s, JsonNode *root)
{
  g_autofree char *text = json_to_string (root, FALSE);
  g_autoptr(DsmScenario) candidate = dsm_scenario_new_from_data (text, -1, "shrink", NULL);
  DsmSimOptions options = { .has_seed = TRUE, .seed = s->seed, .mutant = s->mutant };
  DsmSimReport report = { 0 };

  if (candidate == NULL)
    return NULL;
  s->attempts++;
  g_autoptr(DsmSim) sim = dsm_sim_new (candidate, &options);
  dsm_sim_run (sim, &report);
  gboolean same = !report.ok && (int) report.failed_invariant == s->invariant;
  dsm_sim_report_clear (&report);
  return same ? g_steal_pointer (&candidate) : NULL;
}

static JsonNode *
scenario_tree (const DsmScenario *scenario)
{
  g_autofree char *text = dsm_scenario_to_json (scenario);
  return json_from_string (text, NULL);
}

/* Tries @edit on a copy of @current's tree; on success replaces @current. */
typedef gboolean (*Edit) (JsonObject *root, guint i);

static gboolean
shrink_pass (Shrink *s, DsmScenario **current, Edit edit, guint n)
{
  gboolean changed = FALSE;

  for (guint i = n; i-- > 0;)
    {
      g_autoptr(JsonNode) tree = scenario_tree (*current);
      if (tree == NULL || !edit (json_node_get_object (tree), i))
        continue;
      DsmScenario *smaller = try_json (s, tree);
      if (smaller != NULL)
        {
          dsm_scenario_free (*current);
          *current = smaller;
          changed = TRUE;
        }
    }
  return changed;
}

static gboolean
edit_drop_step (JsonObject *root, guint i)
{
  JsonArray *steps = json_object_get_array_member (root, "steps");
  if (steps == NULL || i >= json_array_get_length (steps))
    return FALSE;
  json_array_remove_element (steps, i);
  return TRUE;
}

static gboolean
halve_member (JsonObject *obj, const char *name, gint64 floor)
{
  if (obj == NULL || !json_object_has_member (obj, name))
    return FALSE;
  JsonNode *node = json_object_get_member (obj, name);
  if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
    {
      double v = json_node_get_double (node);
      if (v / 2 < floor)
        return FALSE;
      json_object_set_double_member (obj, name, v / 2);
      return TRUE;
    }
  gint64 v = json_node_get_int (node);
  if (v / 2 < floor)
    return FALSE;
  json_object_set_int_member (obj, name, v / 2);
  return TRUE;
}

static gboolean
edit_workload (JsonObject *root, guint i)
{
  static const char *const members[] = { "duration_ms", "clients", "rate_per_s", "machines" };
  JsonObject *w = json_object_get_object_member (root, "workload");

  g_assert (i < G_N_ELEMENTS (members));
  return halve_member (w, members[i], i == 0 ? 100 : 1);
}

static gboolean
edit_nodes (JsonObject *root, guint i)
{
  gint64 n = json_object_get_int_member (root, "nodes");
  if (n <= 3)
    return FALSE;
  json_object_set_int_member (root, "nodes", n - 2);
  return TRUE;
}

DsmScenario *
dsm_shrink (const DsmScenario *scenario, guint64 seed, int invariant, int mutant, guint *attempts)
{
  Shrink s = { .seed = seed, .invariant = invariant, .mutant = mutant };
  g_autoptr(JsonNode) tree = scenario_tree (scenario);
  JsonObject *root = json_node_get_object (tree);
  json_object_set_int_member (root, "seed", (gint64) seed);
  g_autofree char *text = json_to_string (tree, FALSE);
  DsmScenario *current = dsm_scenario_new_from_data (text, -1, scenario->name, NULL);

  g_return_val_if_fail (current != NULL, NULL);
  for (gboolean changed = TRUE; changed;)
    {
      changed = shrink_pass (&s, &current, edit_drop_step, current->steps->len);
      changed |= shrink_pass (&s, &current, edit_workload, 4);
      changed |= shrink_pass (&s, &current, edit_nodes, 1);
    }
  if (attempts != NULL)
    *attempts = s.attempts;
  return current;
}
