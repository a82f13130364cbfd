/* scenario/scenario.c: scenario files in: loading, the top-level sections
 * (cluster, network, disk, workload, expect), copies and freeing.
 * Steps are read in scenario-steps.c, written back in scenario-write.c;
 * docs/SCENARIOS.md documents every key. */
#include "scenario/scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>

#include <string.h>

#include "error.h"
#include "scenario/scenario-private.h"

G_DEFINE_QUARK (dsm-scenario-error-quark, dsm_scenario_error)

static const char *const step_kind_names[] = {
  [DSM_STEP_CRASH] = "crash",
  [DSM_STEP_RESTART] = "restart",
  [DSM_STEP_PARTITION] = "partition",
  [DSM_STEP_ISOLATE] = "isolate",
  [DSM_STEP_CUT] = "cut",
  [DSM_STEP_HEAL] = "heal",
  [DSM_STEP_LOSS] = "loss",
  [DSM_STEP_DELAY] = "delay",
  [DSM_STEP_DUPLICATE] = "duplicate",
  [DSM_STEP_REORDER] = "reorder",
  [DSM_STEP_CORRUPT] = "corrupt",
  [DSM_STEP_DISK_FAULT] = "disk",
  [DSM_STEP_SKEW] = "skew",
  [DSM_STEP_PAUSE] = "pause",
  [DSM_STEP_DISK_FULL] = "disk_full",
  [DSM_STEP_DISK_SPACE_RESTORED] = "disk_space_restored",
  [DSM_STEP_PROPOSE] = "propose",
  [DSM_STEP_READ] = "read",
  [DSM_STEP_ADD_NODE] = "add_node",
  [DSM_STEP_REMOVE_NODE] = "remove_node",
  [DSM_STEP_PROMOTE] = "promote",
  [DSM_STEP_TRANSFER_LEADER] = "transfer_leader",
  [DSM_STEP_DEFINE] = "define",
  [DSM_STEP_WAIT] = "wait",
  [DSM_STEP_AWAIT] = "await",
  [DSM_STEP_EXPECT] = "expect",
  [DSM_STEP_FORGE] = "forge",
  [DSM_STEP_REPLAY] = "replay",
  [DSM_STEP_SPOOF] = "spoof",
  [DSM_STEP_WATCH_RECONNECT] = "watch_reconnect",
};

const char *
dsm_step_kind_to_string (DsmStepKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (step_kind_names), "?");
  return step_kind_names[kind];
}

static const char *const condition_names[] = {
  [DSM_CONDITION_LEADER] = "leader",
  [DSM_CONDITION_NO_LEADER] = "no_leader",
  [DSM_CONDITION_COMMITTED] = "committed",
  [DSM_CONDITION_CAUGHT_UP] = "caught_up",
  [DSM_CONDITION_REPLIES] = "replies",
  [DSM_CONDITION_STATE] = "state",
  [DSM_CONDITION_VOTERS] = "voters",
};

const char *
dsm_condition_to_string (DsmCondition condition)
{
  g_return_val_if_fail ((guint) condition < G_N_ELEMENTS (condition_names), "?");
  return condition_names[condition];
}

/* ---- lifetime ---- */

void
dsm_step_clear (DsmStep *step)
{
  g_return_if_fail (step != NULL);

  g_clear_pointer (&step->where, g_free);
  g_clear_pointer (&step->groups, g_ptr_array_unref);
  g_clear_pointer (&step->group_targets, g_ptr_array_unref);
  dsm_command_clear (&step->cmd);
  g_clear_pointer (&step->machine, g_free);
  g_clear_pointer (&step->state, g_free);
  g_clear_pointer (&step->message, g_free);
  g_clear_pointer (&step->cluster, g_free);
}

static void
step_free (gpointer data)
{
  DsmStep *step = data;

  dsm_step_clear (step);
  g_free (step);
}

static GHashTable *
final_states_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/* An empty scenario: the struct's invariants hold (steps and final_states
 * exist), nothing else is set. */
static DsmScenario *
scenario_alloc (void)
{
  DsmScenario *self = g_new0 (DsmScenario, 1);

  self->steps = g_ptr_array_new_with_free_func (step_free);
  self->expect.final_states = final_states_new ();
  return self;
}

void
dsm_scenario_free (DsmScenario *scenario)
{
  if (scenario == NULL)
    return;
  g_free (scenario->name);
  g_free (scenario->summary);
  g_free (scenario->path);
  g_clear_pointer (&scenario->config, dsm_config_unref);
  /* After the config: its definitions point into the plugins' modules,
   * which stay loaded anyway (plugin/plugin.h). */
  g_clear_pointer (&scenario->plugins, dsm_plugin_set_free);
  g_free (scenario->workload.definition);
  g_clear_pointer (&scenario->steps, g_ptr_array_unref);
  g_clear_pointer (&scenario->expect.final_states, g_hash_table_unref);
  g_free (scenario->json);
  g_free (scenario);
}

static GPtrArray *
groups_copy (const GPtrArray *groups)
{
  GPtrArray *copy = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);

  for (guint i = 0; i < groups->len; i++)
    {
      GArray *group = g_ptr_array_index (groups, i);
      GArray *ids = g_array_sized_new (FALSE, FALSE, g_array_get_element_size (group), group->len);

      g_array_append_vals (ids, group->data, group->len);
      g_ptr_array_add (copy, ids);
    }
  return copy;
}

static DsmStep *
step_copy (const DsmStep *step)
{
  DsmStep *copy = g_new (DsmStep, 1);

  *copy = *step;
  copy->where = g_strdup (step->where);
  copy->groups = step->groups ? groups_copy (step->groups) : NULL;
  copy->group_targets = step->group_targets ? groups_copy (step->group_targets) : NULL;
  dsm_command_init_copy (&copy->cmd, &step->cmd);
  copy->machine = g_strdup (step->machine);
  copy->state = g_strdup (step->state);
  copy->message = g_strdup (step->message);
  copy->cluster = g_strdup (step->cluster);
  return copy;
}

DsmScenario *
dsm_scenario_copy (const DsmScenario *scenario)
{
  DsmScenario *copy;
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (scenario != NULL, NULL);

  copy = scenario_alloc ();
  copy->name = g_strdup (scenario->name);
  copy->summary = g_strdup (scenario->summary);
  copy->path = g_strdup (scenario->path);
  copy->seed = scenario->seed;
  /* A copy the shrinker may change, not a shared reference. */
  copy->config = scenario->config ? dsm_config_copy (scenario->config) : NULL;
  copy->network = scenario->network;
  copy->disk = scenario->disk;
  copy->workload = scenario->workload;
  copy->workload.definition = g_strdup (scenario->workload.definition);
  for (guint i = 0; scenario->steps && i < scenario->steps->len; i++)
    g_ptr_array_add (copy->steps, step_copy (g_ptr_array_index (scenario->steps, i)));
  copy->expect = scenario->expect;
  copy->expect.final_states = final_states_new ();
  if (scenario->expect.final_states != NULL)
    {
      g_hash_table_iter_init (&iter, scenario->expect.final_states);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (copy->expect.final_states, g_strdup (key), g_strdup (value));
    }
  copy->json = g_strdup (scenario->json);
  return copy;
}

void
dsm_scenario_update_json (DsmScenario *scenario)
{
  g_autoptr(JsonNode) root = NULL;

  g_return_if_fail (scenario != NULL);
  g_return_if_fail (scenario->config != NULL);

  root = dsm_scenario_build_json (scenario);
  g_free (scenario->json);
  scenario->json = dsm_scenario_write_json (root, FALSE);
}

char *
dsm_scenario_to_json (const DsmScenario *scenario)
{
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (scenario != NULL, NULL);
  g_return_val_if_fail (scenario->config != NULL, NULL);

  root = dsm_scenario_build_json (scenario);
  return dsm_scenario_write_json (root, TRUE);
}

/* ---- the root ---- */

static gboolean
read_summary (DsmScenario *self, JsonObject *root, GError **error)
{
  const char *expected = "one sentence saying what the scenario shows";
  JsonNode *member = json_object_get_member (root, "summary");
  g_autofree char *stripped = NULL;

  if (member == NULL)
    return dsm_scenario_json_missing (NULL, "summary", expected, error);
  if (!JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_STRING)
    {
      g_autofree char *found = dsm_scenario_json_describe (member);

      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_TYPE,
                   "summary: expected %s (a string), found %s", expected, found);
      return FALSE;
    }
  stripped = g_strstrip (g_strdup (json_node_get_string (member)));
  if (*stripped == '\0')
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                   "summary: empty; say in one sentence what the scenario shows");
      return FALSE;
    }
  self->summary = g_strdup (json_node_get_string (member));
  return TRUE;
}

/* "dir/leader-crash.json" names the scenario "leader-crash". */
static char *
read_name_default (const char *name)
{
  g_autofree char *base = NULL;

  if (name == NULL)
    return g_strdup ("scenario");
  base = g_path_get_basename (name);
  if (g_str_has_suffix (base, ".json") && strlen (base) > strlen (".json"))
    base[strlen (base) - strlen (".json")] = '\0';
  return g_steal_pointer (&base);
}

static gboolean
read_name (DsmScenario *self, JsonObject *root, const char *name, GError **error)
{
  GError *local_error = NULL;

  self->name = read_name_default (name);
  if (json_object_has_member (root, "name"))
    return dsm_scenario_json_name (root, NULL, "name", TRUE, FALSE, &self->name, error);
  /* The name goes into canonical JSON, which must read back. */
  if (!dsm_command_check_name ("name", self->name, &local_error))
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                   "%s (from the file name); set \"name\"", local_error->message);
      g_error_free (local_error);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_root (DsmScenario *self, JsonNode *node, const char *name, const char *folder,
           GError **error)
{
  static const char *const known[] = {
    "name", "summary", "seed", "nodes", "cluster", "network", "disk", "workload", "steps",
    "expect", NULL,
  };
  JsonObject *root;
  guint n_nodes = 0;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_autofree char *found = dsm_scenario_json_describe (node);

      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_TYPE,
                   "(root): expected the scenario as a JSON object, found %s", found);
      return FALSE;
    }
  root = json_node_get_object (node);
  if (!dsm_scenario_json_check_members (root, NULL, known, NULL, NULL, error)
      || !read_name (self, root, name, error)
      || !read_summary (self, root, error)
      || !dsm_scenario_json_uint (root, NULL, "seed", TRUE, 0, DSM_SCENARIO_SEED_MAX,
                                  &self->seed, error)
      || !dsm_scenario_json_uint32 (root, NULL, "nodes", TRUE, 1, DSM_SCENARIO_NODES_MAX,
                                    &n_nodes, error))
    return FALSE;
  self->config = dsm_config_new_default (n_nodes);
  return dsm_scenario_read_cluster (self, root, folder, error)
      && dsm_scenario_read_network (self, root, error)
      && dsm_scenario_read_disk (self, root, error)
      && dsm_scenario_read_workload (self, root, error)
      && dsm_scenario_read_steps (self, root, error)
      && dsm_scenario_read_expect (self, root, error);
}

static DsmScenario *
scenario_new (JsonNode *root, const char *name, const char *folder, GError **error)
{
  g_autoptr(DsmScenario) self = scenario_alloc ();

  if (!read_root (self, root, name, folder, error))
    {
      if (name != NULL)
        g_prefix_error (error, "%s: ", name);
      return NULL;
    }
  dsm_scenario_update_json (self);
  return g_steal_pointer (&self);
}

DsmScenario *
dsm_scenario_new_from_json (JsonNode *root, const char *name, GError **error)
{
  g_return_val_if_fail (root != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return scenario_new (root, name, NULL, error);
}

/* Parses @text strictly (core/json.h): a key given twice, trailing data
 * and nesting past the file bound are PARSE errors without the file name. */
static JsonNode *
parse_text (const char *text, gssize length, GError **error)
{
  return dsm_json_parse (text, length, NULL, &dsm_scenario_json_errors, error);
}

static DsmScenario *
scenario_new_from_data (const char *text, gssize length, const char *name, const char *folder,
                        GError **error)
{
  g_autoptr(JsonNode) root = parse_text (text, length, error);

  if (root == NULL)
    {
      if (name != NULL)
        g_prefix_error (error, "%s: ", name);
      return NULL;
    }
  return scenario_new (root, name, folder, error);
}

DsmScenario *
dsm_scenario_new_from_data (const char *text, gssize length, const char *name, GError **error)
{
  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return scenario_new_from_data (text, length, name, NULL, error);
}

DsmScenario *
dsm_scenario_new_from_file (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autofree char *folder = NULL;
  DsmScenario *self;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Open it first for the system's reason in our own words: GLib's
   * message quotes the path with characters the C locale cannot print. */
  int fd = g_open (path, O_RDONLY, 0);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "%s: %s", path, g_strerror (saved));
      return NULL;
    }
  g_close (fd, NULL);
  if (!g_file_get_contents (path, &text, &length, error))
    {
      g_prefix_error (error, "%s: ", path);
      return NULL;
    }
  folder = g_path_get_dirname (path);
  if (!(self = scenario_new_from_data (text, (gssize) length, path, folder, error)))
    return NULL;
  self->path = g_strdup (path);
  return self;
}

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

GPtrArray *
dsm_scenario_list_files (const char *path, GError **error)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (files, g_strdup (path));
      return g_steal_pointer (&files);
    }
  g_autoptr(GDir) dir = g_dir_open (path, 0, error);
  if (dir == NULL)
    return NULL;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".json"))
      g_ptr_array_add (files, g_build_filename (path, name, NULL));
  g_ptr_array_sort (files, compare_paths);
  return g_steal_pointer (&files);
}
