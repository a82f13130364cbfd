/* core/machine.h: state machine definitions: which states exist, which one
 * a new instance starts in, and which transitions are legal.  The built-in
 * "lifecycle" definition is Init -> Running -> Stopped -> Init. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "plugin/dsm-machine.h"

G_BEGIN_DECLS

#define DSM_MACHINE_STATES_MAX 64
#define DSM_MACHINE_LIFECYCLE "lifecycle"

typedef struct _DsmMachineDef DsmMachineDef;

/**
 * dsm_machine_def_new_lifecycle:
 * Returns: (transfer full): the built-in definition "lifecycle": states
 * Init, Running, Stopped, initial Init, and exactly the transitions
 * Init->Running, Running->Stopped, Stopped->Init.
 */
DsmMachineDef *dsm_machine_def_new_lifecycle (void);

/**
 * dsm_machine_def_new_from_json:
 * @node: an object {"name": N, "states": [..], "initial": S,
 *        "transitions": [{"from": A, "to": B, "requires": [F, ..]}, ...],
 *        "fields": {F: TYPE, ...}} ("requires" and "fields" optional)
 * @where: (nullable): prefixed to error messages ("config.definitions[2]")
 *
 * Every problem is a DSM_CONFIG_ERROR naming the field: missing or
 * mistyped keys, unknown keys, empty or duplicate states, an initial
 * state or transition endpoint that is not a state, duplicate transitions,
 * names that are empty, too long or not printable.
 *
 * Returns: (transfer full): the definition, or NULL with @error set.
 */
DsmMachineDef *dsm_machine_def_new_from_json (JsonNode *node, const char *where,
                                              GError **error);

/* The one state of a plugin's definition: its instances' real state is
 * the plugin's own (docs/PLUGINS.md). */
#define DSM_MACHINE_PLUGIN_STATE "ready"

/**
 * dsm_machine_def_new_plugin:
 * @impl: a loaded, checked machine plugin (plugin/plugin.h); it must
 *   outlive the definition
 * Returns: (transfer full): the definition named @impl->name whose
 * instances the plugin runs: one state, DSM_MACHINE_PLUGIN_STATE, no
 * transitions of its own; a command's `to` is the plugin's operation and
 * its payload the plugin's to judge (core/store.c).  dsm_machine_def_to_json()
 * writes it with "plugin": {"name", "version"}, which no JSON definition
 * may carry, so fingerprints and snapshots name the code it needs.
 */
DsmMachineDef *dsm_machine_def_new_plugin (const DsmMachineImpl *impl);

/* Returns: (nullable): the plugin of a plugin definition, else NULL. */
const DsmMachineImpl *dsm_machine_def_get_impl (const DsmMachineDef *def);

DsmMachineDef *dsm_machine_def_ref (DsmMachineDef *def);
void dsm_machine_def_unref (DsmMachineDef *def);

const char *dsm_machine_def_get_name (const DsmMachineDef *def);
guint dsm_machine_def_get_n_states (const DsmMachineDef *def);
const char *dsm_machine_def_get_state (const DsmMachineDef *def, guint i);
const char *dsm_machine_def_get_initial (const DsmMachineDef *def);

/**
 * dsm_machine_def_lookup_state:
 * Returns: the canonical (definition-owned) spelling of @state, or NULL
 * when the definition has no such state.  States compare exactly.
 */
const char *dsm_machine_def_lookup_state (const DsmMachineDef *def, const char *state);

gboolean dsm_machine_def_allows (const DsmMachineDef *def, const char *from, const char *to);

/**
 * dsm_machine_def_validate:
 * @machine: (nullable): the instance's name, for the message
 * Returns: TRUE when @from -> @to is legal; otherwise FALSE with a
 * DSM_MACHINE_ERROR (UNKNOWN_STATE or INVALID_TRANSITION) whose message
 * names @machine, the current state and the requested one.
 */
gboolean dsm_machine_def_validate (const DsmMachineDef *def, const char *machine,
                                   const char *from, const char *to, GError **error);

/**
 * dsm_machine_def_check_payload:
 * @payload: (nullable): the transition's payload object, NULL for none
 * @from: (nullable): with @to, the move; NULL: any move (the required
 *   fields are not checked, only the declared ones)
 * Judges the payload of a move @from -> @to (states of @def) against the
 * fields the definition declares and the ones the move requires
 * (docs/CONFIG.md, "Machine definitions").  Deterministic: every node
 * gives the same verdict for the same definition and payload.
 *
 * Returns: FALSE with a DSM_JSON_ERROR naming the field otherwise.
 */
gboolean dsm_machine_def_check_payload (const DsmMachineDef *def, const char *from, const char *to,
                                        JsonNode *payload, GError **error);

/* Writes the definition back as the JSON object new_from_json() reads. */
JsonNode *dsm_machine_def_to_json (const DsmMachineDef *def);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmMachineDef, dsm_machine_def_unref)

G_END_DECLS
