/* plugin/plugin.c: a user's state machine loaded with GModule and checked
 * before use (docs/PLUGINS.md, "Loading" and "Versioning"). */
#include "plugin/plugin.h"

#include <gmodule.h>
#include <string.h>

#ifndef DSM_PLUGIN_DIR
#define DSM_PLUGIN_DIR "/usr/local/lib/dsm/plugins"
#endif

G_DEFINE_QUARK (dsm-plugin-error-quark, dsm_plugin_error)

struct _DsmPlugin {
  GModule *module;
  char *path;
  const DsmMachineImpl *impl;
};

/* Names and versions travel in configs, fingerprints and answers: short
 * printable words. */
static gboolean
check_impl_word (const char *word)
{
  gsize n = word != NULL ? strlen (word) : 0;

  if (n == 0 || n > DSM_MACHINE_NAME_MAX)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum (word[i]) && strchr ("-_.+", word[i]) == NULL)
      return FALSE;
  return TRUE;
}

gboolean
dsm_plugin_check_impl (const DsmMachineImpl *impl, const char *where, GError **error)
{
  g_return_val_if_fail (where != NULL, FALSE);

  if (impl == NULL)
    {
      g_set_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_INVALID,
                   "%s: its entry point returned no machine", where);
      return FALSE;
    }
  if (impl->abi_version != DSM_MACHINE_ABI_VERSION)
    {
      g_set_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_ABI,
                   "%s: built for machine ABI %u, this dsm speaks %u (rebuild it against this dsm's dsm-machine.h)",
                   where, impl->abi_version, DSM_MACHINE_ABI_VERSION);
      return FALSE;
    }
  if (impl->struct_size < sizeof (DsmMachineImpl))
    {
      g_set_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_ABI,
                   "%s: its DsmMachineImpl has %u bytes, this dsm's has %u (rebuild it against this dsm's dsm-machine.h)",
                   where, impl->struct_size, (guint) sizeof (DsmMachineImpl));
      return FALSE;
    }
  if (!check_impl_word (impl->name) || !check_impl_word (impl->version))
    {
      g_set_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_INVALID,
                   "%s: name and version must be 1 to %d letters, digits, '-', '_', '.' or '+'",
                   where, DSM_MACHINE_NAME_MAX);
      return FALSE;
    }

  const char *missing = impl->state_new == NULL  ? "state_new"
                        : impl->state_copy == NULL ? "state_copy"
                        : impl->state_free == NULL ? "state_free"
                        : impl->validate == NULL   ? "validate"
                        : impl->apply == NULL      ? "apply"
                        : impl->snapshot == NULL   ? "snapshot"
                        : impl->restore == NULL    ? "restore"
                                                   : NULL;
  if (missing != NULL)
    {
      g_set_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_INVALID,
                   "%s: machine \"%s\" has no %s function", where, impl->name, missing);
      return FALSE;
    }
  return TRUE;
}

/* The directories a plugin name is looked up in, in order. */
static GPtrArray *
load_search_dirs (void)
{
  GPtrArray *dirs = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv ("DSM_PLUGIN_PATH");

  if (env != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (env, ":", -1);
      for (guint i = 0; parts[i] != NULL; i++)
        if (parts[i][0] != '\0')
          g_ptr_array_add (dirs, g_strdup (parts[i]));
    }
  g_ptr_array_add (dirs, g_strdup (DSM_PLUGIN_DIR));
  return dirs;
}

/* Returns: (transfer full): the module file @spec names, or NULL. */
static char *
load_find (const char *spec, GError **error)
{
  if (strchr (spec, '/') != NULL)
    {
      if (g_file_test (spec, G_FILE_TEST_IS_REGULAR))
        return g_strdup (spec);
      g_set_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_NOT_FOUND,
                   "%s: no such plugin file", spec);
      return NULL;
    }
  if (!check_impl_word (spec))
    {
      g_set_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_NOT_FOUND,
                   "\"%s\" is neither a path nor a plugin name", spec);
      return NULL;
    }

  g_autoptr(GPtrArray) dirs = load_search_dirs ();
  g_autoptr(GString) tried = g_string_new (NULL);
  for (guint i = 0; i < dirs->len; i++)
    {
      const char *dir = dirs->pdata[i];
      g_autofree char *lib = g_strdup_printf ("lib%s.so", spec);
      g_autofree char *bare = g_strdup_printf ("%s.so", spec);
      const char *names[] = { lib, bare };
      for (guint k = 0; k < G_N_ELEMENTS (names); k++)
        {
          char *path = g_build_filename (dir, names[k], NULL);
          if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
            return path;
          g_string_append_printf (tried, "%s%s", tried->len > 0 ? ", " : "", path);
          g_free (path);
        }
    }
  g_set_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_NOT_FOUND,
               "plugin \"%s\" not found (tried %s; set DSM_PLUGIN_PATH or give a path)",
               spec, tried->str);
  return NULL;
}

DsmPlugin *
dsm_plugin_load (const char *spec, GError **error)
{
  g_return_val_if_fail (spec != NULL, NULL);

  g_autofree char *path = load_find (spec, error);
  if (path == NULL)
    return NULL;

  /* Local symbols: two plugins may define the same helper names. */
  GModule *module = g_module_open (path, G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      g_set_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_OPEN,
                   "%s: cannot load: %s", path, g_module_error ());
      return NULL;
    }

  gpointer symbol = NULL;
  if (!g_module_symbol (module, DSM_MACHINE_ENTRY_SYMBOL, &symbol) || symbol == NULL)
    {
      g_set_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_NO_ENTRY,
                   "%s: exports no %s (is it a dsm machine plugin? see DSM_MACHINE_DEFINE_ENTRY)",
                   path, DSM_MACHINE_ENTRY_SYMBOL);
      g_module_close (module);
      return NULL;
    }

  const DsmMachineImpl *impl = ((DsmMachineEntryFunc) symbol) ();
  if (!dsm_plugin_check_impl (impl, path, error))
    {
      g_module_close (module);
      return NULL;
    }

  /* Never unloaded: a plugin's libraries may register GObject types
   * (json-glib does), which cannot be registered twice in one process. */
  g_module_make_resident (module);
  DsmPlugin *plugin = g_new0 (DsmPlugin, 1);
  plugin->module = module;
  plugin->path = g_steal_pointer (&path);
  plugin->impl = impl;
  return plugin;
}

void
dsm_plugin_free (DsmPlugin *plugin)
{
  if (plugin == NULL)
    return;
  g_module_close (plugin->module);
  g_free (plugin->path);
  g_free (plugin);
}

const DsmMachineImpl *
dsm_plugin_get_impl (const DsmPlugin *plugin)
{
  g_return_val_if_fail (plugin != NULL, NULL);
  return plugin->impl;
}

const char *
dsm_plugin_get_path (const DsmPlugin *plugin)
{
  g_return_val_if_fail (plugin != NULL, NULL);
  return plugin->path;
}
