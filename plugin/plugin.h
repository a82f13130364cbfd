/* plugin/plugin.h: loading a user's state machine (dsm-machine.h) from a
 * shared module with GModule, and checking it before dsm trusts it
 * (docs/PLUGINS.md, "Loading").  The hosts (dsm-node, dsm-sim, dsm-check)
 * load; core/ only ever sees the DsmMachineImpl table. */
#pragma once

#include <glib.h>

#include "plugin/dsm-machine.h"

G_BEGIN_DECLS

#define DSM_PLUGIN_ERROR (dsm_plugin_error_quark ())
GQuark dsm_plugin_error_quark (void);

typedef enum {
  DSM_PLUGIN_ERROR_NOT_FOUND,  /* no module of that name or path */
  DSM_PLUGIN_ERROR_OPEN,       /* the module does not load (dlopen's reason) */
  DSM_PLUGIN_ERROR_NO_ENTRY,   /* it exports no dsm_machine_entry */
  DSM_PLUGIN_ERROR_ABI,        /* built against another DSM_MACHINE_ABI_VERSION */
  DSM_PLUGIN_ERROR_INVALID,    /* a bad name or version, a required function missing */
} DsmPluginError;

typedef struct _DsmPlugin DsmPlugin;

/**
 * dsm_plugin_load:
 * @spec: a path (it contains a '/') to the module, or a plugin name looked
 *   up as lib@spec.so, then @spec.so, in each directory of the
 *   DSM_PLUGIN_PATH environment variable (':'-separated), then in dsm's
 *   installed plugin directory
 *
 * Opens the module, calls its entry point and checks the table
 * (dsm_plugin_check_impl()).  A loaded module stays in the process
 * for good (resident: the libraries it links may register GObject
 * types, which cannot be unloaded); dsm_plugin_free() frees the handle.
 *
 * Returns: (transfer full): the plugin, or NULL with a DSM_PLUGIN_ERROR
 * naming @spec and what is wrong ("bank-ledger: built for machine ABI 2,
 * this dsm speaks 1").
 */
DsmPlugin *dsm_plugin_load (const char *spec, GError **error);
void dsm_plugin_free (DsmPlugin *plugin);  /* NULL is ignored */

/* Returns: (transfer none): the machine's table, valid until the plugin is freed. */
const DsmMachineImpl *dsm_plugin_get_impl (const DsmPlugin *plugin);
/* Returns: (transfer none): the file the module was loaded from. */
const char *dsm_plugin_get_path (const DsmPlugin *plugin);

/**
 * dsm_plugin_check_impl:
 * @where: named in the error (a path, or a plugin name)
 * Returns: TRUE when @impl speaks DSM_MACHINE_ABI_VERSION, is at least as
 * large as this dsm's DsmMachineImpl, has a valid name and version and
 * every required function; else FALSE with a DSM_PLUGIN_ERROR.
 */
gboolean dsm_plugin_check_impl (const DsmMachineImpl *impl, const char *where, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmPlugin, dsm_plugin_free)

G_END_DECLS
