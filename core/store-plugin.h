/* core/store-plugin.h: how the store runs a machine plugin's command
 * (store-plugin.c); for core/store.c only. */
#pragma once

#include <glib.h>

#include "entry.h"
#include "plugin/dsm-machine.h"

G_BEGIN_DECLS

/* Largest answer a plugin's apply may give, as canonical JSON text. */
#define DSM_PLUGIN_OUTPUT_BYTES_MAX DSM_PAYLOAD_BYTES_MAX

/**
 * dsm_store_plugin_run:
 * @impl: the instance's plugin
 * @cmd: a transition: @cmd->to is the plugin's operation, @cmd->payload
 *   (nullable: "{}") its payload
 * @data: (nullable): the instance's data ({"plugin_state": ...}); NULL:
 *   a new instance, the plugin's state_new()
 * @merged: (out) (optional): when given, the command is applied: the new
 *   data (transfer full)
 * @output: (out) (optional): with @merged, the plugin's answer in
 *   canonical JSON (transfer full)
 *
 * The plugin's validate judges the command in the instance's state; with
 * @merged, its apply runs too.  What the plugin gives back is outside
 * input (docs/PLUGINS.md, "Determinism rules"): data that does not
 * restore, an answer that is not a JSON object within
 * DSM_PLUGIN_OUTPUT_BYTES_MAX, or a state past DSM_DATA_BYTES_MAX refuse
 * the command, the same way on every node, and change nothing.
 *
 * Returns: TRUE when accepted (and applied); else FALSE with a
 * DSM_MACHINE_ERROR: INVALID_TRANSITION when the plugin refused it
 * (its message), CORRUPT when the plugin's own output is unusable.
 */
gboolean dsm_store_plugin_run (const DsmMachineImpl *impl, const DsmCommand *cmd, const char *data,
                               char **merged, char **output, GError **error);

G_END_DECLS
