/* scenario/scenario-private.h: what the scenario reader's files share: JSON
 * field readers that word every error "PATH: problem" the same way, and the
 * step reader and writer scenario.c calls. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "json.h"
#include "scenario/scenario.h"

G_BEGIN_DECLS

/* Longest virtual duration or time a scenario may name: one year.  Sums of
 * a few of them stay far from overflowing a guint64. */
#define DSM_SCENARIO_MS_MAX G_GUINT64_CONSTANT (31536000000)

/* Largest node count a scenario may ask for (the simulator's limit). */
#define DSM_SCENARIO_NODES_MAX 51

/* Largest seed: JSON integers are signed 64-bit in json-glib. */
#define DSM_SCENARIO_SEED_MAX ((guint64) G_MAXINT64)

/* No upper bound for dsm_scenario_json_uint(). */
#define DSM_SCENARIO_NO_MAX G_MAXUINT64

/* The JSON layer's errors (core/json.h) as DSM_SCENARIO_ERRORs. */
extern const DsmJsonErrors dsm_scenario_json_errors;

/* Returns: (transfer full): "@where.@key", or @key when @where is NULL. */
char *dsm_scenario_json_path (const char *where, const char *key);

/* Returns: (transfer full): a JSON value as an error shows it: "lead", 5,
 * 2.5, true, null, an object, an array; long strings are cut short. */
char *dsm_scenario_json_describe (JsonNode *node);

/* Returns: (transfer full): @text as a JSON string literal, cut short. */
char *dsm_scenario_json_quote (const char *text);

/**
 * dsm_scenario_json_check_members:
 * @known: NULL-terminated keys the object may have besides "comment"
 * @owner: (nullable): names the object in the message ("a \"crash\" step")
 * @elsewhere: (nullable): NULL-terminated keys of sibling schemas; such a
 *   key gets "not a key of @owner" rather than "unknown key"
 *
 * Fails with DSM_SCENARIO_ERROR_UNKNOWN on the first member (in file
 * order) that is not known, naming its path and a close known key.
 */
gboolean dsm_scenario_json_check_members (JsonObject *object, const char *where,
                                          const char *const *known, const char *owner,
                                          const char *const *elsewhere, GError **error);

/* Returns: (transfer none): @node as an object, or NULL with TYPE. */
JsonObject *dsm_scenario_json_object (JsonNode *node, const char *path, GError **error);

/* Returns: (transfer none): @node as an array, or NULL with TYPE. */
JsonArray *dsm_scenario_json_array (JsonNode *node, const char *path, const char *expected,
                                    GError **error);

/* Fails with MISSING: "@where.@key: required key is missing (@expected)". */
gboolean dsm_scenario_json_missing (const char *where, const char *key, const char *expected,
                                    GError **error);

/* The readers below take the member @key of @object.  When it is absent
 * they fail with MISSING if @required, else leave *@out alone and return
 * TRUE; so set the default first. */

/* An integer in @min..@max (@max may be DSM_SCENARIO_NO_MAX): floats,
 * strings and negatives are TYPE or RANGE errors. */
gboolean dsm_scenario_json_uint (JsonObject *object, const char *where, const char *key,
                                 gboolean required, guint64 min, guint64 max, guint64 *out,
                                 GError **error);

/* The same into a guint (@max must fit). */
gboolean dsm_scenario_json_uint32 (JsonObject *object, const char *where, const char *key,
                                   gboolean required, guint min, guint max, guint *out,
                                   GError **error);

/* A number (integer or not) in @min..@max. */
gboolean dsm_scenario_json_double (JsonObject *object, const char *where, const char *key,
                                   gboolean required, double min, double max, double *out,
                                   GError **error);

gboolean dsm_scenario_json_bool (JsonObject *object, const char *where, const char *key,
                                 gboolean required, gboolean *out, GError **error);

/**
 * dsm_scenario_json_name:
 * A name by dsm_command_check_name()'s rules (1..DSM_NAME_MAX bytes,
 * UTF-8, no control characters), and for the key "machine" by
 * dsm_command_check_machine_name()'s.  With @nullable a JSON null gives NULL.
 * *@out is replaced (the old string freed) on success only.
 */
gboolean dsm_scenario_json_name (JsonObject *object, const char *where, const char *key,
                                 gboolean required, gboolean nullable, char **out,
                                 GError **error);

/* One of the strings @names (NULL-terminated); *@out is its index. */
gboolean dsm_scenario_json_choice (JsonObject *object, const char *where, const char *key,
                                   gboolean required, const char *const *names, guint *out,
                                   GError **error);

/* Which words a node selector accepts besides a node id. */
typedef enum {
  DSM_SELECT_LEADER = 1 << 0,
  DSM_SELECT_FOLLOWER = 1 << 1,
  DSM_SELECT_RANDOM = 1 << 2,
  DSM_SELECT_ALL = 1 << 3,
} DsmSelect;

#define DSM_SELECT_LIVE (DSM_SELECT_LEADER | DSM_SELECT_FOLLOWER | DSM_SELECT_RANDOM)

/* A node selector: an id in 1..@n_nodes or one of the @allowed words. */
gboolean dsm_scenario_json_target (JsonObject *object, const char *where, const char *key,
                                   gboolean required, DsmSelect allowed, guint n_nodes,
                                   DsmTarget *out, GError **error);

/* A node id in 1..@n_nodes (INVALID otherwise). */
gboolean dsm_scenario_json_node_id (JsonNode *node, const char *path, guint n_nodes,
                                    DsmNodeId *out, GError **error);

/* The sections, read in this order by the root reader: each sets its
 * defaults, then lays the file's keys over them.  "cluster" needs
 * @self->config (the defaults for the node count); @folder (nullable)
 * resolves definition files named in cluster.definitions. */
gboolean dsm_scenario_read_cluster (DsmScenario *self, JsonObject *root, const char *folder,
                                    GError **error);
gboolean dsm_scenario_read_network (DsmScenario *self, JsonObject *root, GError **error);
gboolean dsm_scenario_read_disk (DsmScenario *self, JsonObject *root, GError **error);
gboolean dsm_scenario_read_workload (DsmScenario *self, JsonObject *root, GError **error);
gboolean dsm_scenario_read_expect (DsmScenario *self, JsonObject *root, GError **error);

/* @name (nullable: nothing to check) must be a definition of @config. */
gboolean dsm_scenario_check_definition (const DsmConfig *config, const char *path,
                                        const char *name, GError **error);

/* Reads "steps" (absent: none) into @self->steps; @self's config, network
 * and workload are already read, and give the steps' defaults. */
gboolean dsm_scenario_read_steps (DsmScenario *self, JsonObject *root, GError **error);

/* An "attack" step's keys (scenario-attack.c), after its verb and timing:
 * node ids up to @max_id name members. */
gboolean dsm_scenario_read_attack (const char *where, guint max_id, JsonObject *object,
                                   DsmStep *step, GError **error);

/* Adds an attack step's keys to @builder, node selectors by @add_target. */
void dsm_scenario_build_attack (JsonBuilder *builder, const DsmStep *step,
                                void (*add_target) (JsonBuilder *, const char *,
                                                    const DsmTarget *));

/* The scenario as the canonical JSON tree: every key, defaults explicit. */
JsonNode *dsm_scenario_build_json (const DsmScenario *self);

/* Writes a JSON tree: @pretty gives indented text with small containers
 * on one line; otherwise compact, without spaces.  Numbers are written
 * shortest-first (0.7, not 0.69999999999999996). */
char *dsm_scenario_write_json (JsonNode *root, gboolean pretty);

G_END_DECLS
