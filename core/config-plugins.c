/* core/config-plugins.c: the "plugins" key: the machine plugins a node
 * loads, by path or name (docs/CONFIG.md, "Machine plugins").  The core
 * only keeps the strings: the host loads the modules (plugin/). */
#include "config-private.h"

#include <string.h>

#include "error.h"

gboolean
dsm_plugins_config_apply (char ***plugins, const DsmJsonAt *at, GError **error)
{
  g_autoptr(GPtrArray) specs = g_ptr_array_new_with_free_func (g_free);
  guint length;

  if (!dsm_json_get_array (at, DSM_CONFIG_PLUGINS_MAX, &length, error))
    return FALSE;
  for (guint i = 0; i < length; i++)
    {
      DsmJsonAt element;
      const char *spec = NULL;

      dsm_json_at_element (&element, at, i);
      if (!dsm_json_get_string (&element, DSM_CONFIG_PLUGIN_SPEC_BYTES_MAX, &spec, error))
        return FALSE;
      if (spec[0] == '\0')
        return dsm_json_fail (&element, DSM_JSON_ERROR_INVALID, error,
                              "empty; expected a plugin's name or the path of its module");
      if (g_ptr_array_find_with_equal_func (specs, spec, g_str_equal, NULL))
        return dsm_json_fail (&element, DSM_JSON_ERROR_INVALID, error, "\"%s\" given twice", spec);
      g_ptr_array_add (specs, g_strdup (spec));
    }
  g_ptr_array_add (specs, NULL);
  g_strfreev (*plugins);
  *plugins = (char **) g_ptr_array_free (g_steal_pointer (&specs), FALSE);
  return TRUE;
}

void
dsm_plugins_config_to_json (char *const *plugins, JsonBuilder *builder)
{
  if (plugins == NULL || plugins[0] == NULL)
    return;
  json_builder_set_member_name (builder, "plugins");
  json_builder_begin_array (builder);
  for (char *const *p = plugins; *p != NULL; p++)
    json_builder_add_string_value (builder, *p);
  json_builder_end_array (builder);
}

static int
describe_compare (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

char *
dsm_config_describe_plugins (const DsmConfig *config)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (config != NULL, NULL);
  g_hash_table_iter_init (&iter, config->definitions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      const DsmMachineImpl *impl = dsm_machine_def_get_impl (value);
      if (impl != NULL)
        g_ptr_array_add (names, g_strdup_printf ("%s %s", impl->name, impl->version));
    }
  if (names->len == 0)
    return g_strdup ("none");
  /* Sorted: the same set reads the same on every node. */
  g_ptr_array_sort (names, describe_compare);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (", ", (char **) names->pdata);
}
