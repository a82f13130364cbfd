/* plugin/plugins.c: loading the plugins a host's config and flags name,
 * and handing their tables to the config (plugins.h). */
#include "plugin/plugins.h"

#include <string.h>

struct _DsmPluginSet {
  GPtrArray *plugins;   /* DsmPlugin*, in load order */
};

void
dsm_plugin_set_free (DsmPluginSet *set)
{
  if (set == NULL)
    return;
  g_ptr_array_unref (set->plugins);
  g_free (set);
}

/* Loads @spec (named in errors as @where) and adds it to @config. */
static gboolean
load_one (DsmPluginSet *set, DsmConfig *config, const char *spec, const char *base, const char *where,
          GError **error)
{
  /* A path (it has a '/') is relative to @base; a name is searched for. */
  g_autofree char *path = strchr (spec, '/') != NULL && !g_path_is_absolute (spec) && base != NULL
                          ? g_build_filename (base, spec, NULL)
                          : g_strdup (spec);
  GError *local = NULL;
  DsmPlugin *plugin = dsm_plugin_load (path, &local);

  if (plugin == NULL)
    {
      g_propagate_prefixed_error (error, local, "%s: ", where);
      return FALSE;
    }
  g_ptr_array_add (set->plugins, plugin);
  const DsmMachineImpl *impl = dsm_plugin_get_impl (plugin);
  for (guint i = 0; i + 1 < set->plugins->len; i++)
    if (strcmp (dsm_plugin_get_impl (set->plugins->pdata[i])->name, impl->name) == 0)
      {
        g_set_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_INVALID,
                     "%s: a second plugin named \"%s\" (%s; the first is %s)", where, impl->name,
                     dsm_plugin_get_path (plugin), dsm_plugin_get_path (set->plugins->pdata[i]));
        return FALSE;
      }
  if (!dsm_config_add_plugin (config, impl, &local))
    {
      g_propagate_prefixed_error (error, local, "%s: ", where);
      return FALSE;
    }
  return TRUE;
}

DsmPluginSet *
dsm_plugin_set_load (DsmConfig *config, const char *const *flags, const char *config_dir, GError **error)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr(DsmPluginSet) set = g_new0 (DsmPluginSet, 1);
  set->plugins = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_plugin_free);
  for (guint i = 0; config->plugins != NULL && config->plugins[i] != NULL; i++)
    {
      g_autofree char *where = g_strdup_printf ("plugins[%u] (\"%s\")", i, config->plugins[i]);
      if (!load_one (set, config, config->plugins[i], config_dir, where, error))
        return NULL;
    }
  for (guint i = 0; flags != NULL && flags[i] != NULL; i++)
    {
      g_autofree char *where = g_strdup_printf ("--plugin \"%s\"", flags[i]);
      if (!load_one (set, config, flags[i], NULL, where, error))
        return NULL;
    }
  return g_steal_pointer (&set);
}

guint
dsm_plugin_set_get_n (const DsmPluginSet *set)
{
  g_return_val_if_fail (set != NULL, 0);
  return set->plugins->len;
}

const DsmMachineImpl *
dsm_plugin_set_get_impl (const DsmPluginSet *set, guint i)
{
  g_return_val_if_fail (set != NULL && i < set->plugins->len, NULL);
  return dsm_plugin_get_impl (set->plugins->pdata[i]);
}

const DsmMachineImpl *
dsm_plugin_set_find (const DsmPluginSet *set, const char *name)
{
  g_return_val_if_fail (set != NULL && name != NULL, NULL);
  for (guint i = 0; i < set->plugins->len; i++)
    if (strcmp (dsm_plugin_get_impl (set->plugins->pdata[i])->name, name) == 0)
      return dsm_plugin_get_impl (set->plugins->pdata[i]);
  return NULL;
}
