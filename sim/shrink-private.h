/* sim/shrink-private.h: what the shrinker's files share: one search (its
 * seed, signature, budget) and the candidate runs every edit goes through
 * (docs/SIMULATOR.md, "Shrinking"). */
#pragma once

#include <json-glib/json-glib.h>

#include "explore.h"

typedef struct {
  guint64 seed;
  const char *signature;
  int mutant;
  guint attempts;
  guint max_runs;
  GHashTable *refused;   /* candidates (compact JSON) that did not fail the same way */
} Shrink;

/* Parses @root; returns the scenario when its run fails with the
 * signature sought (transfer full), else NULL (also past the budget). */
DsmScenario *shrink_try_json (Shrink *s, JsonNode *root);

/* @scenario as a JSON tree (transfer full): the canonical file. */
JsonNode *shrink_tree (const DsmScenario *scenario);

/* Frees *@current and puts @smaller (transfer full) in its place. */
void shrink_replace (DsmScenario **current, DsmScenario *smaller);

/* Whether a step is a client operation (propose, read) rather than a
 * fault, a membership change or a wait. */
gboolean shrink_step_is_op (const DsmStep *step);

/* shrink-edits.c: the edits besides deleting steps; each returns TRUE
 * when it kept a smaller scenario in *@current. */
gboolean shrink_materialize (Shrink *s, DsmScenario **current);
gboolean shrink_nodes (Shrink *s, DsmScenario **current);
gboolean shrink_values (Shrink *s, DsmScenario **current);
