/* plugin/plugins.h: the machine plugins a host runs: the ones its config
 * names ("plugins") and its --plugin flags, loaded and added to the config
 * (docs/CONFIG.md, "Machine plugins"; docs/PLUGINS.md, "In a cluster"). */
#pragma once

#include <glib.h>

#include "core/config.h"
#include "plugin/plugin.h"

G_BEGIN_DECLS

typedef struct _DsmPluginSet DsmPluginSet;

/**
 * dsm_plugin_set_load:
 * @config: not shared yet (ref_count 1); its "plugins" are loaded and each
 *   added with dsm_config_add_plugin()
 * @flags: (nullable): more plugins (--plugin), NULL-terminated
 * @config_dir: (nullable): where a relative path in @config's "plugins"
 *   resolves (the config file's folder); NULL: the working directory.
 *   A flag's relative path resolves against the working directory.
 *
 * Returns: (transfer full): the loaded plugins, which must outlive
 * @config; or NULL with a DSM_PLUGIN_ERROR (or the DSM_CONFIG_ERROR of a
 * name a definition already has) naming the entry ("plugins[1]
 * (\"ledger\"): ..." or "--plugin \"ledger\": ...") and what is wrong:
 * not found, not loadable, another ABI, or two plugins of one name.
 */
DsmPluginSet *dsm_plugin_set_load (DsmConfig *config, const char *const *flags, const char *config_dir,
                                   GError **error);
void dsm_plugin_set_free (DsmPluginSet *set);  /* NULL is ignored */

/* Returns: the plugins loaded, and (transfer none) the @i-th's table. */
guint dsm_plugin_set_get_n (const DsmPluginSet *set);
const DsmMachineImpl *dsm_plugin_set_get_impl (const DsmPluginSet *set, guint i);

/* Returns: (transfer none) (nullable): the plugin named @name. */
const DsmMachineImpl *dsm_plugin_set_find (const DsmPluginSet *set, const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmPluginSet, dsm_plugin_set_free)

G_END_DECLS
