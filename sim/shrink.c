/* sim/shrink.c: minimizing a failing run without changing its failure.
 * Every candidate must fail with the original's signature (the checker
 * and the kind of violation, dsm_failure_signature()); the workload turned
 * into explicit operations, delta debugging (ddmin) over the faults and
 * over the operations, then nodes and values, until a round changes
 * nothing (docs/SIMULATOR.md, "Shrinking").  Edits go through the scenario
 * parser, so the result is always a valid file. */
#include "shrink-private.h"

#include <stdio.h>
#include <string.h>

#include "sim.h"

/* A run costs 10 to 300 ms: bound the whole search. */
#define SHRINK_RUNS_DEFAULT 4000

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

DsmScenario *
shrink_try_json (Shrink *s, JsonNode *root)
{
  g_autofree char *text = json_to_string (root, FALSE);
  DsmSimOptions options = { .has_seed = TRUE, .seed = s->seed, .mutant = s->mutant };
  DsmSimReport report = { 0 };

  /* A candidate refused once is refused again (the runs are
   * deterministic): later rounds and the second order try many of the
   * same ones, and the cache spares those runs. */
  if (g_hash_table_contains (s->refused, text) || s->attempts >= s->max_runs)
    return NULL;
  g_autoptr(DsmScenario) candidate = dsm_scenario_new_from_data (text, -1, "shrink", NULL);
  if (candidate == NULL)
    {
      g_hash_table_add (s->refused, g_steal_pointer (&text));
      return NULL;
    }
  s->attempts++;
  /* Every candidate is judged by every invariant the scenario names, as
   * any run is: the signature compares what failed first. */
  g_autoptr(DsmSim) sim = dsm_sim_new (candidate, &options);
  dsm_sim_run (sim, &report);
  g_autofree char *signature = report.ok ? NULL : dsm_failure_signature (candidate, &report);
  dsm_sim_report_clear (&report);
  if (g_strcmp0 (signature, s->signature) == 0)
    return g_steal_pointer (&candidate);
  g_hash_table_add (s->refused, g_steal_pointer (&text));
  return NULL;
}

JsonNode *
shrink_tree (const DsmScenario *scenario)
{
  g_autofree char *text = dsm_scenario_to_json (scenario);
  JsonNode *tree = json_from_string (text, NULL);

  g_assert (tree != NULL && JSON_NODE_HOLDS_OBJECT (tree)); /* the writer writes what the reader reads */
  return tree;
}

void
shrink_replace (DsmScenario **current, DsmScenario *smaller)
{
  dsm_scenario_free (*current);
  *current = smaller;
}

gboolean
shrink_step_is_op (const DsmStep *step)
{
  return step->kind == DSM_STEP_PROPOSE || step->kind == DSM_STEP_READ;
}

guint
dsm_shrink_fault_steps (const DsmScenario *scenario)
{
  guint n = 0;

  g_return_val_if_fail (scenario != NULL, 0);
  for (guint i = 0; i < scenario->steps->len; i++)
    n += !shrink_step_is_op (scenario->steps->pdata[i]);
  return n;
}

/* ---- ddmin over one class of steps ---- */

/* @current without the steps whose @drop is set. */
static DsmScenario *
try_steps (Shrink *s, const DsmScenario *current, const gboolean *drop)
{
  g_autoptr(JsonNode) tree = shrink_tree (current);
  JsonArray *steps = json_object_get_array_member (json_node_get_object (tree), "steps");

  g_assert (json_array_get_length (steps) == current->steps->len);
  for (guint i = json_array_get_length (steps); i-- > 0;)
    if (drop[i])
      json_array_remove_element (steps, i);
  return shrink_try_json (s, tree);
}

/* The places of @current's steps of one class (operations or not). */
static GArray *
steps_of_class (const DsmScenario *current, gboolean ops)
{
  GArray *places = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; i < current->steps->len; i++)
    if (shrink_step_is_op (current->steps->pdata[i]) == ops)
      g_array_append_val (places, i);
  return places;
}

/* Zeller's ddmin over the steps of one class, the others kept as they
 * are: all of them gone first, then each of n chunks kept alone, then
 * each complement; the first that still fails the same way is kept, and
 * n is refined when none does, until chunks are single steps.  Faults
 * and operations are minimized apart: either list is short next to both,
 * and deleting a fault moves no operation (they are at fixed times). */
static gboolean
shrink_steps (Shrink *s, DsmScenario **current, gboolean ops)
{
  guint n = 2;
  gboolean changed = FALSE;

  for (;;)
    {
      g_autoptr(GArray) places = steps_of_class (*current, ops);
      guint len = places->len;
      if (len == 0 || s->attempts >= s->max_runs)
        return changed;
      g_autofree gboolean *drop = g_new0 (gboolean, (*current)->steps->len);
      for (guint i = 0; i < len; i++)
        drop[g_array_index (places, guint, i)] = TRUE;
      DsmScenario *smaller = try_steps (s, *current, drop);
      if (smaller != NULL)
        {
          shrink_replace (current, smaller);
          return TRUE;
        }
      if (len == 1)
        return changed;
      n = MIN (n, len);
      gboolean reduced = FALSE;
      for (guint pass = 0; pass < 2 && !reduced; pass++)
        for (guint c = 0; c < n && !reduced; c++)
          {
            guint lo = len * c / n, hi = len * (c + 1) / n;
            /* pass 0: the chunk alone; pass 1: all but the chunk (with
             * n = 2 the complements are the chunks again). */
            if (pass == 1 && n == 2)
              break;
            for (guint i = 0; i < len; i++)
              drop[g_array_index (places, guint, i)] = (i >= lo && i < hi) != (pass == 0);
            if ((smaller = try_steps (s, *current, drop)) != NULL)
              {
                shrink_replace (current, smaller);
                n = pass == 0 ? 2 : MAX (n - 1, 2);
                reduced = changed = TRUE;
              }
          }
      if (!reduced)
        {
          if (n >= len)
            return changed;
          n = MIN (2 * n, len);
        }
    }
}

/* ddmin leaves a list 1-minimal: no single step can go.  Two that only
 * matter together (a crash and its restart, an isolation and its heal)
 * can still go as a pair: with few faults left, every pair is tried. */
#define SHRINK_PAIRS_MAX_STEPS 12

static gboolean
shrink_pairs (Shrink *s, DsmScenario **current)
{
  g_autoptr(GArray) places = steps_of_class (*current, FALSE);

  if (places->len < 2 || places->len > SHRINK_PAIRS_MAX_STEPS)
    return FALSE;
  g_autofree gboolean *drop = g_new0 (gboolean, (*current)->steps->len);
  for (guint i = 0; i < places->len; i++)
    for (guint j = i + 1; j < places->len; j++)
      {
        guint a = g_array_index (places, guint, i), b = g_array_index (places, guint, j);
        drop[a] = drop[b] = TRUE;
        DsmScenario *smaller = try_steps (s, *current, drop);
        drop[a] = drop[b] = FALSE;
        if (smaller != NULL)
          {
            shrink_replace (current, smaller);
            return TRUE;
          }
      }
  return FALSE;
}

/* The budget a search gets when the caller names none. */
guint
dsm_shrink_default_runs (void)
{
  return SHRINK_RUNS_DEFAULT;
}

/* One greedy search from @start, in rounds until one changes nothing.
 * Cheapest and largest cuts first, as Hypothesis orders its passes: the
 * closed-loop workload becomes operations at fixed times (deleting a fault
 * then leaves them where they were), the faults, the operations, pairs of
 * faults, the nodes, then every number towards its floor.  With
 * @materialize_first FALSE the faults are cut under the workload as it
 * was for one round first: a greedy search stops in a local minimum, and
 * which one depends on the order. */
static DsmScenario *
shrink_search (Shrink *s, const DsmScenario *start, gboolean materialize_first)
{
  g_autofree char *text = dsm_scenario_to_json (start);
  DsmScenario *current = dsm_scenario_new_from_data (text, -1, start->name, NULL);
  gboolean materialize = materialize_first;

  g_assert (current != NULL); /* the writer writes what the reader reads */
  for (gboolean changed = TRUE; changed && s->attempts < s->max_runs;)
    {
      /* The conversion is tried again each round: a quieter run may
       * allow it. */
      changed = materialize && shrink_materialize (s, &current);
      changed |= shrink_steps (s, &current, FALSE);
      changed |= shrink_steps (s, &current, TRUE);
      changed |= shrink_pairs (s, &current);
      changed |= shrink_nodes (s, &current);
      changed |= shrink_values (s, &current);
      changed |= !materialize && current->workload.clients > 0;
      materialize = TRUE;
    }
  return current;
}

/* What the targets count (docs/CHECKERS.md, "Each planted bug's failure,
 * shrunk"): fault steps, client operations issued before the failure and
 * nodes, together; one run. */
static guint64
shrink_size (Shrink *s, const DsmScenario *scenario)
{
  DsmSimOptions options = { .has_seed = TRUE, .seed = s->seed, .mutant = s->mutant };
  DsmSimReport report = { 0 };
  g_autoptr(DsmSim) sim = dsm_sim_new (scenario, &options);
  guint64 size = scenario->config->n_nodes;

  dsm_sim_run (sim, &report);
  size += report.ops;
  dsm_sim_report_clear (&report);
  return size + dsm_shrink_fault_steps (scenario);
}

DsmScenario *
dsm_shrink (const DsmScenario *scenario, guint64 seed, const char *signature, int mutant, guint max_runs,
            guint *attempts)
{
  g_autoptr(GHashTable) refused = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Shrink s = { .seed = seed, .signature = signature, .mutant = mutant, .refused = refused };
  guint budget = max_runs > 0 ? max_runs : SHRINK_RUNS_DEFAULT;
  g_autoptr(JsonNode) tree = shrink_tree (scenario);
  JsonObject *root = json_node_get_object (tree);
  json_object_set_int_member (root, "seed", (gint64) seed);
  g_autofree char *text = json_to_string (tree, FALSE);
  g_autoptr(DsmScenario) start = dsm_scenario_new_from_data (text, -1, scenario->name, NULL);

  g_return_val_if_fail (start != NULL && signature != NULL, NULL);
  /* Two orders, each with half the budget (the second also gets what the
   * first left); the smaller result wins, the first on a tie. */
  s.max_runs = budget / 2;
  DsmScenario *best = shrink_search (&s, start, TRUE);
  s.max_runs = budget;
  if (start->workload.clients > 0)
    {
      DsmScenario *other = shrink_search (&s, start, FALSE);
      s.max_runs = G_MAXUINT; /* the sizes are measured, not searched */
      if (shrink_size (&s, other) < shrink_size (&s, best))
        shrink_replace (&best, other);
      else
        dsm_scenario_free (other);
    }
  if (attempts != NULL)
    *attempts = s.attempts;
  return best;
}
