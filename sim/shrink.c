/* sim/shrink.c: minimizing a failing run without changing its failure.
 * Every candidate must fail with the original's signature (the checker
 * and the kind of violation, dsm_failure_signature()); delta debugging
 * (ddmin) over the steps, then greedy passes over nodes, clients,
 * operations, machines, duration and the network's probabilities, until a
 * round changes nothing (docs/SIMULATOR.md, "Shrinking").  Edits go through
 * the scenario parser, so the result is always a valid file. */
#include "explore.h"

#include <stdio.h>
#include <string.h>

#include "sim.h"

/* A run costs up to a second: bound the whole search. */
#define SHRINK_RUNS_MAX 1500

typedef struct {
  guint64 seed;
  const char *signature;
  int mutant;
  guint attempts;
} Shrink;

/* ---- the failure's signature ---- */

/* "steps[3] (propose)" names a step by its place, which shrinking
 * changes: the signature names it by what it does instead. */
static void
signature_step (GString *out, const DsmScenario *scenario, guint index)
{
  const DsmStep *step = index < scenario->steps->len ? scenario->steps->pdata[index] : NULL;

  if (step == NULL)
    {
      g_string_append (out, "a step");
      return;
    }
  g_string_append (out, dsm_step_kind_to_string (step->kind));
  if (step->kind == DSM_STEP_AWAIT || step->kind == DSM_STEP_EXPECT)
    g_string_append_printf (out, " %s", dsm_condition_to_string (step->condition));
  if (step->cmd.machine != NULL)
    g_string_append_printf (out, " %s", step->cmd.machine);
  if (step->cmd.to != NULL)
    g_string_append_printf (out, " -> %s", step->cmd.to);
  if (step->machine != NULL)
    g_string_append_printf (out, " %s in %s", step->machine, step->state ? step->state : "-");
}

char *
dsm_failure_signature (const DsmScenario *scenario, const DsmSimReport *report)
{
  GString *out = g_string_new (NULL);
  const char *m = report->failure != NULL ? report->failure : "";

  g_return_val_if_fail (!report->ok, g_string_free (out, FALSE));
  g_string_append_printf (out, "%s: ", dsm_invariant_to_string (report->failed_invariant));
  /* The kind of violation: the message's first sentence, with numbers
   * (nodes, indices, epochs, times, counts) masked and steps named by
   * what they do. */
  for (const char *p = m; *p != '\0' && *p != '\n' && !(p[0] == '.' && (p[1] == ' ' || p[1] == '\0'));)
    {
      guint index = 0;
      int used = 0;
      if (g_str_has_prefix (p, "steps[") && sscanf (p, "steps[%u]%n", &index, &used) == 1 && used > 0)
        {
          signature_step (out, scenario, index);
          p += used;
          /* The kind in parentheses the message repeats. */
          if (g_str_has_prefix (p, " ("))
            {
              const char *close = strchr (p, ')');
              p = close != NULL ? close + 1 : p;
            }
          continue;
        }
      if (g_ascii_isdigit (*p))
        {
          g_string_append_c (out, '#');
          while (g_ascii_isdigit (*p))
            p++;
          continue;
        }
      g_string_append_c (out, *p++);
    }
  return g_string_free (out, FALSE);
}

/* ---- runs ---- */

/* Parses @root; returns the scenario when its run fails with the
 * signature sought (transfer full), else NULL. */
static DsmScenario *
try_json (Shrink *s, JsonNode *root)
{
  g_autofree char *text = json_to_string (root, FALSE);
  g_autoptr(DsmScenario) candidate = dsm_scenario_new_from_data (text, -1, "shrink", NULL);
  DsmSimOptions options = { .has_seed = TRUE, .seed = s->seed, .mutant = s->mutant };
  DsmSimReport report = { 0 };

  if (candidate == NULL || s->attempts >= SHRINK_RUNS_MAX)
    return NULL;
  s->attempts++;
  g_autoptr(DsmSim) sim = dsm_sim_new (candidate, &options);
  dsm_sim_run (sim, &report);
  g_autofree char *signature = report.ok ? NULL : dsm_failure_signature (candidate, &report);
  dsm_sim_report_clear (&report);
  return g_strcmp0 (signature, s->signature) == 0 ? g_steal_pointer (&candidate) : NULL;
}

static JsonNode *
scenario_tree (const DsmScenario *scenario)
{
  g_autofree char *text = dsm_scenario_to_json (scenario);
  return json_from_string (text, NULL);
}

static void
replace (DsmScenario **current, DsmScenario *smaller)
{
  dsm_scenario_free (*current);
  *current = smaller;
}

/* ---- ddmin over the steps ---- */

/* @current with only the steps whose @keep is set. */
static DsmScenario *
try_steps (Shrink *s, const DsmScenario *current, const gboolean *keep)
{
  g_autoptr(JsonNode) tree = scenario_tree (current);
  JsonArray *steps = json_object_get_array_member (json_node_get_object (tree), "steps");

  for (guint i = json_array_get_length (steps); i-- > 0;)
    if (!keep[i])
      json_array_remove_element (steps, i);
  return try_json (s, tree);
}

/* Zeller's ddmin: try each of n chunks alone, then each complement;
 * keep the first that still fails the same way; refine n when none
 * does, until chunks are single steps. */
static void
shrink_steps (Shrink *s, DsmScenario **current)
{
  guint n = 2;

  for (;;)
    {
      guint len = (*current)->steps->len;
      if (len == 0)
        return;
      g_autofree gboolean *keep = g_new0 (gboolean, len);
      DsmScenario *smaller = try_steps (s, *current, keep); /* none at all */
      if (smaller != NULL)
        {
          replace (current, smaller);
          return;
        }
      if (len == 1)
        return;
      n = MIN (n, len);
      gboolean reduced = FALSE;
      for (guint pass = 0; pass < 2 && !reduced; pass++)
        for (guint c = 0; c < n && !reduced; c++)
          {
            guint lo = len * c / n, hi = len * (c + 1) / n;
            /* pass 0: the chunk alone; pass 1: all but the chunk. */
            for (guint i = 0; i < len; i++)
              keep[i] = (i >= lo && i < hi) == (pass == 0);
            if ((smaller = try_steps (s, *current, keep)) != NULL)
              {
                replace (current, smaller);
                n = pass == 0 ? 2 : MAX (n - 1, 2);
                reduced = TRUE;
              }
          }
      if (!reduced)
        {
          if (n >= len || s->attempts >= SHRINK_RUNS_MAX)
            return;
          n = MIN (2 * n, len);
        }
    }
}

/* ---- the rest: greedy, smallest value first ---- */

/* Sets @member of @path's object ("" for the root) to @value in a copy
 * of @current, and keeps it if it fails the same way. */
static gboolean
try_set (Shrink *s, DsmScenario **current, const char *path, const char *member, double value)
{
  g_autoptr(JsonNode) tree = scenario_tree (*current);
  JsonObject *obj = json_node_get_object (tree);

  if (path[0] != '\0')
    obj = json_object_has_member (obj, path) ? json_object_get_object_member (obj, path) : NULL;
  if (obj == NULL || !json_object_has_member (obj, member))
    return FALSE;
  JsonNode *node = json_object_get_member (obj, member);
  if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
    {
      if (json_node_get_double (node) <= value)
        return FALSE;
      json_object_set_double_member (obj, member, value);
    }
  else
    {
      if (json_node_get_int (node) <= (gint64) value)
        return FALSE;
      json_object_set_int_member (obj, member, (gint64) value);
    }
  DsmScenario *smaller = try_json (s, tree);
  if (smaller == NULL)
    return FALSE;
  replace (current, smaller);
  return TRUE;
}

static double
member_value (const DsmScenario *current, const char *path, const char *member)
{
  g_autoptr(JsonNode) tree = scenario_tree (current);
  JsonObject *obj = json_node_get_object (tree);

  if (path[0] != '\0')
    obj = json_object_has_member (obj, path) ? json_object_get_object_member (obj, path) : NULL;
  if (obj == NULL || !json_object_has_member (obj, member))
    return 0;
  return json_node_get_double (json_object_get_member (obj, member));
}

/* The smallest value from @floor up that still fails the same way,
 * trying the floor, then halving the distance. */
static gboolean
shrink_value (Shrink *s, DsmScenario **current, const char *path, const char *member, double floor)
{
  gboolean changed = FALSE;

  if (try_set (s, current, path, member, floor))
    return TRUE;
  for (double v = member_value (*current, path, member); v - floor >= 2;)
    {
      double half = floor + (double) (gint64) ((v - floor) / 2);
      if (!try_set (s, current, path, member, half))
        break;
      changed = TRUE;
      v = half;
    }
  return changed;
}

static gboolean
shrink_nodes (Shrink *s, DsmScenario **current)
{
  for (guint n = 1; n < (*current)->config->n_nodes; n++)
    if (try_set (s, current, "", "nodes", n))
      return TRUE;
  return FALSE;
}

DsmScenario *
dsm_shrink (const DsmScenario *scenario, guint64 seed, const char *signature, int mutant, guint *attempts)
{
  Shrink s = { .seed = seed, .signature = signature, .mutant = mutant };
  g_autoptr(JsonNode) tree = scenario_tree (scenario);
  JsonObject *root = json_node_get_object (tree);
  json_object_set_int_member (root, "seed", (gint64) seed);
  g_autofree char *text = json_to_string (tree, FALSE);
  DsmScenario *current = dsm_scenario_new_from_data (text, -1, scenario->name, NULL);

  g_return_val_if_fail (current != NULL && signature != NULL, NULL);
  for (gboolean changed = TRUE; changed && s.attempts < SHRINK_RUNS_MAX;)
    {
      guint before = current->steps->len;
      shrink_steps (&s, &current);
      changed = current->steps->len < before;
      changed |= shrink_nodes (&s, &current);
      changed |= shrink_value (&s, &current, "workload", "clients", 0);
      changed |= shrink_value (&s, &current, "workload", "duration_ms", 100);
      changed |= shrink_value (&s, &current, "workload", "rate_per_s", 1);
      changed |= shrink_value (&s, &current, "workload", "machines", 1);
      changed |= shrink_value (&s, &current, "workload", "read_percent", 0);
      changed |= shrink_value (&s, &current, "network", "loss_percent", 0);
      changed |= shrink_value (&s, &current, "network", "duplicate_percent", 0);
      changed |= shrink_value (&s, &current, "network", "reorder_percent", 0);
    }
  if (attempts != NULL)
    *attempts = s.attempts;
  return current;
}
