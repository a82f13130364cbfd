/* core/definitions.c: the versioned machine definitions of a store: the
 * bootstrap ones from the config, the ones DEFINE entries set, their JSON
 * for snapshots. */
#include "definitions.h"

#include <string.h>

#include "codec.h"
#include "error.h"

typedef struct {
  DsmMachineDef *def;   /* owned */
  guint64 version;
} Slot;

struct _DsmDefinitions {
  GHashTable *by_name;  /* name (owned by the def) -> Slot* */
  GPtrArray *retired;   /* (element-type DsmMachineDef) versions replaced, kept alive */
};

static void
slot_free (Slot *slot)
{
  dsm_machine_def_unref (slot->def);
  g_free (slot);
}

DsmDefinitions *
dsm_definitions_new (void)
{
  DsmDefinitions *defs = g_new0 (DsmDefinitions, 1);

  defs->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) slot_free);
  defs->retired = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_machine_def_unref);
  return defs;
}

DsmDefinitions *
dsm_definitions_new_bootstrap (const DsmConfig *config)
{
  DsmDefinitions *defs = dsm_definitions_new ();
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (config != NULL, defs);
  g_hash_table_iter_init (&iter, config->definitions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    dsm_definitions_set (defs, value, 0);
  return defs;
}

void
dsm_definitions_free (DsmDefinitions *defs)
{
  if (defs == NULL)
    return;
  g_hash_table_unref (defs->by_name);
  g_ptr_array_unref (defs->retired);
  g_free (defs);
}

const DsmMachineDef *
dsm_definitions_find (const DsmDefinitions *defs, const char *name, guint64 *version)
{
  const Slot *slot = name != NULL ? g_hash_table_lookup (defs->by_name, name) : NULL;

  if (version != NULL)
    *version = slot != NULL ? slot->version : 0;
  return slot != NULL ? slot->def : NULL;
}

guint
dsm_definitions_get_n (const DsmDefinitions *defs)
{
  return g_hash_table_size (defs->by_name);
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void
dsm_definitions_foreach (const DsmDefinitions *defs, DsmDefinitionsFunc func, gpointer user_data)
{
  guint n = 0;
  g_autofree const char **names = (const char **) g_hash_table_get_keys_as_array (defs->by_name, &n);

  qsort (names, n, sizeof names[0], compare_names);
  for (guint i = 0; i < n; i++)
    {
      const Slot *slot = g_hash_table_lookup (defs->by_name, names[i]);
      g_assert (slot != NULL && (i == 0 || strcmp (names[i - 1], names[i]) < 0));
      func (slot->def, slot->version, user_data);
    }
}

DsmMachineDef *
dsm_definitions_parse_spec (const char *name, const char *spec, GError **error)
{
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(DsmMachineDef) def = NULL;

  g_return_val_if_fail (name != NULL && spec != NULL, NULL);
  root = dsm_codec_parse (spec, strlen (spec), &parse_error);
  if (root == NULL)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_PARSE, "spec: %s", parse_error->message);
      return NULL;
    }
  def = dsm_machine_def_new_from_json (root, "spec", error);
  if (def == NULL)
    return NULL;
  if (strcmp (dsm_machine_def_get_name (def), name) != 0)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "spec.name: the definition is named \"%.128s\", the command \"%.128s\"",
                   dsm_machine_def_get_name (def), name);
      return NULL;
    }
  return g_steal_pointer (&def);
}

gboolean
dsm_definitions_check_update (const DsmDefinitions *defs, const DsmMachineDef *def, GError **error)
{
  const char *name = dsm_machine_def_get_name (def);
  const DsmMachineDef *current = dsm_definitions_find (defs, name, NULL);

  if (strcmp (name, DSM_MACHINE_LIFECYCLE) == 0)
    {
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_DEFINITION_MISMATCH,
                   "\"%s\" is built in and never changes", DSM_MACHINE_LIFECYCLE);
      return FALSE;
    }
  if (current == NULL)
    return TRUE;
  if (dsm_machine_def_get_impl (current) != NULL)
    {
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_DEFINITION_MISMATCH,
                   "definition \"%.128s\" is a machine plugin: it changes with its code, not "
                   "through the log (docs/PLUGINS.md)", name);
      return FALSE;
    }
  for (guint i = 0; i < dsm_machine_def_get_n_states (current); i++)
    {
      const char *state = dsm_machine_def_get_state (current, i);
      if (dsm_machine_def_lookup_state (def, state) == NULL)
        {
          g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_UNKNOWN_STATE,
                       "definition \"%.128s\": the new version drops state \"%.128s\"; a version keeps "
                       "every state of the one it replaces",
                       name, state);
          return FALSE;
        }
    }
  return TRUE;
}

void
dsm_definitions_set (DsmDefinitions *defs, DsmMachineDef *def, guint64 version)
{
  Slot *slot = g_hash_table_lookup (defs->by_name, dsm_machine_def_get_name (def));

  /* A replacement passed dsm_definitions_check_update() and comes later in
   * the log: the built-in and a plugin's definitions are set once. */
  g_assert (slot == NULL || version > slot->version);
  g_assert (slot == NULL || (strcmp (dsm_machine_def_get_name (def), DSM_MACHINE_LIFECYCLE) != 0
                             && dsm_machine_def_get_impl (slot->def) == NULL));
  if (slot == NULL)
    {
      slot = g_new0 (Slot, 1);
      slot->def = dsm_machine_def_ref (def);
      g_hash_table_insert (defs->by_name, (gpointer) dsm_machine_def_get_name (slot->def), slot);
    }
  else
    {
      /* The key is the old version's name string: re-key with the new one. */
      g_ptr_array_add (defs->retired, dsm_machine_def_ref (slot->def));
      g_hash_table_steal (defs->by_name, dsm_machine_def_get_name (slot->def));
      dsm_machine_def_unref (slot->def);
      slot->def = dsm_machine_def_ref (def);
      g_hash_table_insert (defs->by_name, (gpointer) dsm_machine_def_get_name (slot->def), slot);
    }
  slot->version = version;
  g_assert (g_hash_table_lookup (defs->by_name, dsm_machine_def_get_name (def)) == slot && slot->def == def);
}

static char *
def_text (const DsmMachineDef *def)
{
  g_autoptr(JsonNode) node = dsm_machine_def_to_json (def);
  return json_to_string (node, FALSE);
}

static void
write_one (const DsmMachineDef *def, guint64 version, gpointer user_data)
{
  GString *out = user_data;
  g_autofree char *text = def_text (def);

  g_assert (out->len > 0);
  if (out->str[out->len - 1] != '[')
    g_string_append_c (out, ',');
  g_string_append (out, "{\"name\":");
  dsm_codec_write_string (out, dsm_machine_def_get_name (def));
  g_string_append (out, ",\"version\":");
  dsm_codec_write_uint (out, version);
  g_string_append (out, ",\"spec\":");
  dsm_codec_write_string (out, text);
  g_string_append_c (out, '}');
}

void
dsm_definitions_write_json (GString *out, const DsmDefinitions *defs)
{
  g_string_append_c (out, '[');
  dsm_definitions_foreach (defs, write_one, out);
  g_string_append_c (out, ']');
}

static gboolean G_GNUC_PRINTF (3, 4)
corrupt (GError **error, const char *where, const char *format, ...)
{
  va_list args;
  g_autofree char *what = NULL;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT, "snapshot %s: %s", where, what);
  return FALSE;
}

/* A restored definition equal to the config's is the config's object:
 * definitions the config bootstrapped then keep one identity for the
 * whole life of the config, whatever snapshots come and go. */
static DsmMachineDef *
read_one_intern (const DsmConfig *config, DsmMachineDef *def)
{
  const DsmMachineDef *known = config != NULL ? dsm_config_find_definition (config, dsm_machine_def_get_name (def))
                                              : NULL;
  if (known == NULL)
    return def;
  g_assert (strcmp (dsm_machine_def_get_name (known), dsm_machine_def_get_name (def)) == 0);
  g_autofree char *a = def_text (def);
  g_autofree char *b = def_text (known);
  if (strcmp (a, b) != 0)
    return def;
  dsm_machine_def_unref (def);
  return dsm_machine_def_ref ((DsmMachineDef *) known);
}

static gboolean
read_one (DsmDefinitions *defs, const DsmConfig *config, JsonNode *node, const char *where, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return corrupt (error, where, "expected an object");
  JsonObject *obj = json_node_get_object (node);
  JsonNode *name = json_object_get_member (obj, "name");
  JsonNode *version = json_object_get_member (obj, "version");
  JsonNode *spec = json_object_get_member (obj, "spec");
  if (name == NULL || !JSON_NODE_HOLDS_VALUE (name) || json_node_get_value_type (name) != G_TYPE_STRING
      || spec == NULL || !JSON_NODE_HOLDS_VALUE (spec) || json_node_get_value_type (spec) != G_TYPE_STRING)
    return corrupt (error, where, "expected \"name\" and \"spec\" strings");
  if (version == NULL || !JSON_NODE_HOLDS_VALUE (version)
      || json_node_get_value_type (version) != G_TYPE_INT64 || json_node_get_int (version) < 0)
    return corrupt (error, where, ".version: expected an unsigned integer");

  g_autoptr(GError) local = NULL;
  g_autoptr(DsmMachineDef) def = NULL;
  if (strstr (json_node_get_string (spec), "\"plugin\":") != NULL)
    {
      /* A plugin's definition is its code: this node must run the very
       * plugin (name and version) that wrote the snapshot. */
      const DsmMachineDef *known = config != NULL ? dsm_config_find_definition (config, json_node_get_string (name))
                                                  : NULL;
      g_autofree char *text = known != NULL ? def_text (known) : NULL;
      if (text == NULL || dsm_machine_def_get_impl (known) == NULL
          || strcmp (text, json_node_get_string (spec)) != 0)
        return corrupt (error, where, "definition \"%.128s\" needs the machine plugin %s, which this node does not run%s%s",
                        json_node_get_string (name), json_node_get_string (spec),
                        text != NULL ? ": it runs " : "", text != NULL ? text : "");
      def = dsm_machine_def_ref ((DsmMachineDef *) known);
    }
  else
    {
      def = dsm_definitions_parse_spec (json_node_get_string (name), json_node_get_string (spec), &local);
      if (def == NULL)
        return corrupt (error, where, "%s", local->message);
      def = read_one_intern (config, g_steal_pointer (&def));
    }
  if (dsm_definitions_find (defs, dsm_machine_def_get_name (def), NULL) != NULL)
    return corrupt (error, where, "definition \"%.128s\" listed twice", dsm_machine_def_get_name (def));
  dsm_definitions_set (defs, def, (guint64) json_node_get_int (version));
  return TRUE;
}

DsmDefinitions *
dsm_definitions_from_json (JsonNode *node, const char *where, const DsmConfig *config, GError **error)
{
  g_autoptr(DsmDefinitions) defs = dsm_definitions_new ();

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      corrupt (error, where, "expected an array");
      return NULL;
    }
  JsonArray *array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *at = g_strdup_printf ("%s[%u]", where, i);
      if (!read_one (defs, config, json_array_get_element (array, i), at, error))
        return NULL;
    }
  if (dsm_definitions_find (defs, DSM_MACHINE_LIFECYCLE, NULL) == NULL)
    {
      corrupt (error, where, "the built-in \"%s\" definition is missing", DSM_MACHINE_LIFECYCLE);
      return NULL;
    }
  return g_steal_pointer (&defs);
}
