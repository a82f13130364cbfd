/* scenario/scenario-sections.c: the top-level sections of a scenario file:
 * "cluster" (laid over the config defaults), "network", "disk", "workload"
 * and "expect", each with its documented defaults (docs/SCENARIOS.md). */
#include "scenario/scenario-private.h"

#include <string.h>

#include "check/checker.h"
#include "error.h"

/* A section object: TRUE with *@object NULL when the file leaves it out. */
static gboolean
section_read (JsonObject *root, const char *key, const char *const *known,
              JsonObject **object, GError **error)
{
  JsonNode *member = json_object_get_member (root, key);

  *object = NULL;
  if (member == NULL)
    return TRUE;
  if (!(*object = dsm_scenario_json_object (member, key, error)))
    return FALSE;
  return dsm_scenario_json_check_members (*object, key, known, NULL, NULL, error);
}

static gboolean
check_min_max (const char *where, const char *min_key, guint64 min, const char *max_key,
               guint64 max, GError **error)
{
  if (min <= max)
    return TRUE;
  g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
               "%s.%s: %" G_GUINT64_FORMAT " must be <= %s (%" G_GUINT64_FORMAT ")",
               where, min_key, min, max_key, max);
  return FALSE;
}

gboolean
dsm_scenario_read_network (DsmScenario *self, JsonObject *root, GError **error)
{
  static const char *const known[] = {
    "latency_ms_min", "latency_ms_max", "loss_percent", "duplicate_percent",
    "reorder_percent", "reorder_ms_max", "client_latency_ms_min", "client_latency_ms_max",
    NULL,
  };
  /* A minute is already far beyond any election timeout. */
  const guint latency_max = 60000;
  DsmNetworkModel *net = &self->network;
  JsonObject *object;

  net->latency_ms_min = 1;
  net->latency_ms_max = 10;
  net->loss_percent = 0;
  net->duplicate_percent = 0;
  net->reorder_percent = 0;
  net->reorder_ms_max = 50;
  net->client_latency_ms_min = 0;
  net->client_latency_ms_max = 2;
  if (!section_read (root, "network", known, &object, error))
    return FALSE;
  if (object == NULL)
    return TRUE;
  return dsm_scenario_json_uint32 (object, "network", "latency_ms_min", FALSE, 0, latency_max,
                                   &net->latency_ms_min, error)
      && dsm_scenario_json_uint32 (object, "network", "latency_ms_max", FALSE, 0, latency_max,
                                   &net->latency_ms_max, error)
      && dsm_scenario_json_uint32 (object, "network", "loss_percent", FALSE, 0, 100,
                                   &net->loss_percent, error)
      && dsm_scenario_json_uint32 (object, "network", "duplicate_percent", FALSE, 0, 100,
                                   &net->duplicate_percent, error)
      && dsm_scenario_json_uint32 (object, "network", "reorder_percent", FALSE, 0, 100,
                                   &net->reorder_percent, error)
      && dsm_scenario_json_uint32 (object, "network", "reorder_ms_max", FALSE, 0, latency_max,
                                   &net->reorder_ms_max, error)
      && dsm_scenario_json_uint32 (object, "network", "client_latency_ms_min", FALSE, 0,
                                   latency_max, &net->client_latency_ms_min, error)
      && dsm_scenario_json_uint32 (object, "network", "client_latency_ms_max", FALSE, 0,
                                   latency_max, &net->client_latency_ms_max, error)
      && check_min_max ("network", "latency_ms_min", net->latency_ms_min, "latency_ms_max",
                        net->latency_ms_max, error)
      && check_min_max ("network", "client_latency_ms_min", net->client_latency_ms_min,
                        "client_latency_ms_max", net->client_latency_ms_max, error);
}

gboolean
dsm_scenario_read_disk (DsmScenario *self, JsonObject *root, GError **error)
{
  static const char *const known[] = { "fsync_ms_min", "fsync_ms_max", NULL };
  const guint fsync_max = 60000;
  JsonObject *object;

  self->disk.fsync_ms_min = 0;
  self->disk.fsync_ms_max = 2;
  if (!section_read (root, "disk", known, &object, error))
    return FALSE;
  if (object == NULL)
    return TRUE;
  return dsm_scenario_json_uint32 (object, "disk", "fsync_ms_min", FALSE, 0, fsync_max,
                                   &self->disk.fsync_ms_min, error)
      && dsm_scenario_json_uint32 (object, "disk", "fsync_ms_max", FALSE, 0, fsync_max,
                                   &self->disk.fsync_ms_max, error)
      && check_min_max ("disk", "fsync_ms_min", self->disk.fsync_ms_min, "fsync_ms_max",
                        self->disk.fsync_ms_max, error);
}

/* A definition a command or the workload names must exist in the cluster;
 * the states it names are the machine's business at run time. */
gboolean
dsm_scenario_check_definition (const DsmConfig *config, const char *path, const char *name,
                               GError **error)
{
  g_autofree char *quoted = NULL;

  if (name == NULL || dsm_config_find_definition (config, name) != NULL)
    return TRUE;
  quoted = dsm_scenario_json_quote (name);
  g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
               "%s: %s is not a definition of the cluster (add it to cluster.definitions)",
               path, quoted);
  return FALSE;
}

static gboolean
read_workload_keys (DsmScenario *self, JsonObject *object, GError **error)
{
  static const char *const targets[] = { "random", "leader", NULL };
  DsmWorkload *load = &self->workload;
  guint target = load->target;

  if (!dsm_scenario_json_uint32 (object, "workload", "clients", FALSE, 0, 1000, &load->clients,
                                 error)
      || !dsm_scenario_json_uint32 (object, "workload", "machines", FALSE, 1, 10000,
                                    &load->machines, error)
      || !dsm_scenario_json_name (object, "workload", "definition", FALSE, TRUE,
                                  &load->definition, error)
      || !dsm_scenario_check_definition (self->config, "workload.definition", load->definition,
                                         error)
      || !dsm_scenario_json_double (object, "workload", "rate_per_s", FALSE, 0.001, 100000,
                                    &load->rate_per_s, error)
      || !dsm_scenario_json_uint32 (object, "workload", "read_percent", FALSE, 0, 100,
                                    &load->read_percent, error)
      || !dsm_scenario_json_uint (object, "workload", "start_ms", FALSE, 0, DSM_SCENARIO_MS_MAX,
                                  &load->start_ms, error)
      || !dsm_scenario_json_uint (object, "workload", "duration_ms", load->clients > 0,
                                  load->clients > 0 ? 1 : 0, DSM_SCENARIO_MS_MAX,
                                  &load->duration_ms, error)
      || !dsm_scenario_json_choice (object, "workload", "target", FALSE, targets, &target, error)
      || !dsm_scenario_json_bool (object, "workload", "idempotent", FALSE, &load->idempotent,
                                  error)
      || !dsm_scenario_json_uint32 (object, "workload", "watchers", FALSE, 0, 100, &load->watchers,
                                    error)
      || !dsm_scenario_json_uint32 (object, "workload", "payload_percent", FALSE, 0, 100,
                                    &load->payload_percent, error)
      || !dsm_scenario_json_uint32 (object, "workload", "cas_percent", FALSE, 0, 100, &load->cas_percent,
                                    error))
    return FALSE;
  load->target = (DsmWorkloadTarget) target;
  return TRUE;
}

gboolean
dsm_scenario_read_workload (DsmScenario *self, JsonObject *root, GError **error)
{
  static const char *const known[] = {
    "clients", "machines", "definition", "rate_per_s", "read_percent", "start_ms",
    "duration_ms", "target", "idempotent", "watchers", "payload_percent", "cas_percent", NULL,
  };
  DsmWorkload *load = &self->workload;
  JsonObject *object;

  load->clients = 0;
  load->machines = 4;
  load->definition = NULL;
  load->rate_per_s = 50;
  load->read_percent = 20;
  load->start_ms = 0;
  load->duration_ms = 0;
  load->target = DSM_WORKLOAD_TARGET_RANDOM;
  load->idempotent = TRUE;
  load->watchers = 0;
  load->payload_percent = 0;
  load->cas_percent = 0;
  if (!section_read (root, "workload", known, &object, error))
    return FALSE;
  if (object == NULL)
    return TRUE;
  return read_workload_keys (self, object, error);
}

static gboolean
read_expect_invariants (DsmExpectations *expect, JsonObject *object, GError **error)
{
  const char *expected = "\"all\" or an array of invariant names";
  JsonNode *member = json_object_get_member (object, "invariants");
  JsonArray *array;

  expect->invariants = DSM_INVARIANTS_ALL;
  if (member == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (member) && json_node_get_value_type (member) == G_TYPE_STRING
      && strcmp (json_node_get_string (member), "all") == 0)
    return TRUE;
  if (!(array = dsm_scenario_json_array (member, "expect.invariants", expected, error)))
    return FALSE;
  expect->invariants = 0;
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *path = g_strdup_printf ("expect.invariants[%u]", i);
      g_autofree char *quoted = NULL;
      JsonNode *item = json_array_get_element (array, i);
      DsmInvariant invariant;

      if (!JSON_NODE_HOLDS_VALUE (item) || json_node_get_value_type (item) != G_TYPE_STRING)
        {
          g_autofree char *found = dsm_scenario_json_describe (item);

          g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_TYPE,
                       "%s: expected an invariant name, found %s", path, found);
          return FALSE;
        }
      quoted = dsm_scenario_json_quote (json_node_get_string (item));
      if (!dsm_invariant_from_string (json_node_get_string (item), &invariant))
        {
          GString *names = g_string_new (NULL);

          for (guint k = 0; k < DSM_INVARIANT_N; k++)
            g_string_append_printf (names, "%s%s", k ? ", " : "",
                                    dsm_invariant_to_string ((DsmInvariant) k));
          g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_UNKNOWN,
                       "%s: unknown invariant %s (known: %s)", path, quoted, names->str);
          g_string_free (names, TRUE);
          return FALSE;
        }
      if (expect->invariants & (1u << invariant))
        {
          g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                       "%s: %s is listed twice", path, quoted);
          return FALSE;
        }
      expect->invariants |= 1u << invariant;
    }
  return TRUE;
}

static gboolean
read_expect_final_states (DsmExpectations *expect, JsonObject *object, GError **error)
{
  JsonNode *member = json_object_get_member (object, "final_states");
  JsonObject *states;
  JsonObjectIter iter;
  const char *machine;
  JsonNode *value;

  if (member == NULL)
    return TRUE;
  if (!(states = dsm_scenario_json_object (member, "expect.final_states", error)))
    return FALSE;
  json_object_iter_init_ordered (&iter, states);
  while (json_object_iter_next_ordered (&iter, &machine, &value))
    {
      g_autofree char *path = g_strdup_printf ("expect.final_states.%s", machine);
      GError *local_error = NULL;
      char *state = NULL;

      /* "comment" is a comment in every object, this map included. */
      if (strcmp (machine, "comment") == 0)
        continue;
      if (!dsm_command_check_machine_name (path, machine, &local_error))
        {
          g_set_error_literal (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                               local_error->message);
          g_error_free (local_error);
          return FALSE;
        }
      if (!dsm_scenario_json_name (states, "expect.final_states", machine, TRUE, FALSE, &state,
                                   error))
        return FALSE;
      g_hash_table_replace (expect->final_states, g_strdup (machine), state);
    }
  return TRUE;
}

static gboolean
read_expect_counts (DsmExpectations *expect, JsonObject *object, GError **error)
{
  static const struct {
    const char *key;
    gsize offset;
  } counts[] = {
    { "min_commits", G_STRUCT_OFFSET (DsmExpectations, min_commits) },
    { "min_unknown", G_STRUCT_OFFSET (DsmExpectations, min_unknown) },
    { "min_rejected", G_STRUCT_OFFSET (DsmExpectations, min_rejected) },
    { "min_retries", G_STRUCT_OFFSET (DsmExpectations, min_retries) },
    { "min_elections", G_STRUCT_OFFSET (DsmExpectations, min_elections) },
    { "max_elections", G_STRUCT_OFFSET (DsmExpectations, max_elections) },
    { "min_snapshots_installed", G_STRUCT_OFFSET (DsmExpectations, min_snapshots_installed) },
    { "min_invalid_messages", G_STRUCT_OFFSET (DsmExpectations, min_invalid_messages) },
    { "min_attacks_refused", G_STRUCT_OFFSET (DsmExpectations, min_attacks_refused) },
  };

  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    if (!dsm_scenario_json_uint (object, "expect", counts[i].key, FALSE, 0,
                                 (guint64) G_MAXINT64,
                                 G_STRUCT_MEMBER_P (expect, counts[i].offset), error))
      return FALSE;
  if (expect->max_elections != 0 && expect->min_elections > expect->max_elections)
    return check_min_max ("expect", "min_elections", expect->min_elections, "max_elections",
                          expect->max_elections, error);
  return TRUE;
}

gboolean
dsm_scenario_read_expect (DsmScenario *self, JsonObject *root, GError **error)
{
  static const char *const known[] = {
    "invariants", "min_commits", "leader_within_ms", "settle_ms", "min_unknown",
    "min_rejected", "min_retries", "min_elections", "max_elections",
    "min_snapshots_installed", "min_invalid_messages", "min_attacks_refused", "final_states",
    NULL,
  };
  DsmExpectations *expect = &self->expect;
  JsonObject *object;

  expect->invariants = DSM_INVARIANTS_ALL;
  /* Five election timeouts: a few split votes may come first. */
  expect->leader_within_ms = 5 * (guint64) self->config->election_timeout_ms_max;
  /* Long enough for an operation begun just before the heal to run
   * through every retry a client makes, each up to a consensus timeout. */
  expect->settle_ms = MAX (10000, (guint64) (self->config->retry_attempts + 1)
                                      * (self->config->consensus_timeout_ms + 500));
  if (!section_read (root, "expect", known, &object, error))
    return FALSE;
  if (object == NULL)
    return TRUE;
  return read_expect_invariants (expect, object, error)
      && dsm_scenario_json_uint (object, "expect", "leader_within_ms", FALSE, 1,
                                 DSM_SCENARIO_MS_MAX, &expect->leader_within_ms, error)
      && dsm_scenario_json_uint (object, "expect", "settle_ms", FALSE, 1, DSM_SCENARIO_MS_MAX,
                                 &expect->settle_ms, error)
      && read_expect_counts (expect, object, error)
      && read_expect_final_states (expect, object, error);
}

/* ---- the cluster ---- */

/* Resolves string entries of cluster.definitions against the scenario
 * file's folder, so a scenario can share definitions with a real config. */
static JsonNode *
read_cluster_load_definition (const char *path, gpointer user_data, GError **error)
{
  const char *folder = user_data;
  g_autofree char *full = g_path_is_absolute (path) ? g_strdup (path)
                                                    : g_build_filename (folder, path, NULL);
  g_autoptr(GMappedFile) file = NULL;
  JsonNode *root;

  /* Mapped, so the size is checked before anything is copied; parsed by
   * the strict layer (a key given twice is an error, as in configs). */
  if (!(file = g_mapped_file_new (full, FALSE, error)))
    return NULL;
  if (g_mapped_file_get_length (file) > DSM_JSON_FILE_BYTES_MAX)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_RANGE,
                   "%s: %" G_GSIZE_FORMAT " bytes, more than %u", full,
                   g_mapped_file_get_length (file), (guint) DSM_JSON_FILE_BYTES_MAX);
      return NULL;
    }
  if (g_mapped_file_get_length (file) == 0)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_PARSE,
                   "%s: empty file; expected a definition object", full);
      return NULL;
    }
  root = dsm_json_parse (g_mapped_file_get_contents (file), (gssize) g_mapped_file_get_length (file),
                         NULL, &dsm_scenario_json_errors, error);
  if (root == NULL)
    g_prefix_error (error, "%s: ", full);
  return root;
}

/* The config's own error, reworded as ours with the "cluster." prefix
 * (every config message starts with the field's path). */
static void
read_cluster_error (GError *config_error, GError **error)
{
  static const DsmScenarioError codes[] = {
    [DSM_CONFIG_ERROR_PARSE] = DSM_SCENARIO_ERROR_PARSE,
    [DSM_CONFIG_ERROR_MISSING] = DSM_SCENARIO_ERROR_MISSING,
    [DSM_CONFIG_ERROR_TYPE] = DSM_SCENARIO_ERROR_TYPE,
    [DSM_CONFIG_ERROR_RANGE] = DSM_SCENARIO_ERROR_RANGE,
    [DSM_CONFIG_ERROR_INVALID] = DSM_SCENARIO_ERROR_INVALID,
    [DSM_CONFIG_ERROR_UNKNOWN] = DSM_SCENARIO_ERROR_UNKNOWN,
  };

  if (config_error->domain == DSM_CONFIG_ERROR
      && (guint) config_error->code < G_N_ELEMENTS (codes))
    {
      g_set_error (error, DSM_SCENARIO_ERROR, codes[config_error->code], "cluster.%s",
                   config_error->message);
      g_error_free (config_error);
      return;
    }
  /* A definition file that could not be read keeps its domain. */
  g_prefix_error (&config_error, "cluster.");
  g_propagate_error (error, config_error);
}

/* The keys a "cluster" object may have: every config key but "nodes",
 * which the scenario's own "nodes" sets. */
static GStrv
read_cluster_known_keys (const DsmConfig *config)
{
  g_autofree char *text = dsm_config_to_json (config);
  g_autoptr(JsonNode) node = json_from_string (text, NULL);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonObjectIter iter;
  const char *key;

  g_assert (node != NULL);
  json_object_iter_init_ordered (&iter, json_node_get_object (node));
  while (json_object_iter_next_ordered (&iter, &key, NULL))
    if (strcmp (key, "nodes") != 0)
      g_strv_builder_add (builder, key);
  /* Written only when set. */
  if (!json_object_has_member (json_node_get_object (node), "secret"))
    g_strv_builder_add (builder, "secret");
  if (!json_object_has_member (json_node_get_object (node), "plugins"))
    g_strv_builder_add (builder, "plugins");
  return g_strv_builder_end (builder);
}

/* Loads the plugins "cluster.plugins" names (by name, or by a path
 * relative to the scenario's folder) before the workload and the steps
 * name their definitions (docs/SCENARIOS.md, "cluster"). */
static gboolean
read_cluster_plugins (DsmScenario *self, const char *folder, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (self->config->plugins == NULL || self->config->plugins[0] == NULL)
    return TRUE;
  g_assert (self->plugins == NULL);
  self->plugins = dsm_plugin_set_load (self->config, NULL, folder, &local);
  if (self->plugins == NULL)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID, "cluster.%s", local->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
dsm_scenario_read_cluster (DsmScenario *self, JsonObject *root, const char *folder, GError **error)
{
  JsonNode *member = json_object_get_member (root, "cluster");
  g_auto(GStrv) known = NULL;
  GError *config_error = NULL;
  JsonObject *object;

  if (member == NULL)
    return TRUE;
  if (!(object = dsm_scenario_json_object (member, "cluster", error)))
    return FALSE;
  if (json_object_has_member (object, "nodes"))
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_UNKNOWN,
                   "cluster.nodes: not a key of a scenario's cluster; the top-level \"nodes\" "
                   "sets the node count");
      return FALSE;
    }
  known = read_cluster_known_keys (self->config);
  if (!dsm_scenario_json_check_members (object, "cluster", (const char *const *) known, NULL,
                                        NULL, error))
    return FALSE;
  if (!dsm_config_update_from_json (self->config, member,
                                    folder ? read_cluster_load_definition : NULL,
                                    (gpointer) folder, &config_error))
    {
      read_cluster_error (config_error, error);
      return FALSE;
    }
  return read_cluster_plugins (self, folder, error);
}

