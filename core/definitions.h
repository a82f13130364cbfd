/* core/definitions.h: the machine definitions a store knows, by name, each
 * at its latest version: the log index of the DEFINE entry that set it (0
 * for the ones the config file bootstraps).  Replicated state, identical
 * on every node that applied the same prefix (PROTOCOL.md, "Machine
 * definitions"). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "config.h"
#include "machine.h"

G_BEGIN_DECLS

typedef struct _DsmDefinitions DsmDefinitions;

/* Returns: (transfer full): the config's definitions, each at version 0. */
DsmDefinitions *dsm_definitions_new_bootstrap (const DsmConfig *config);
/* Returns: (transfer full): none at all (filled by restore). */
DsmDefinitions *dsm_definitions_new (void);
void dsm_definitions_free (DsmDefinitions *defs);

/**
 * dsm_definitions_find:
 * @version: (out) (optional): the log index that set it
 * Returns: (transfer none) (nullable): the latest version of @name.  A
 * definition handed out stays valid as long as @defs lives, even once a
 * newer version replaces it (apply results and sessions hold them).
 */
const DsmMachineDef *dsm_definitions_find (const DsmDefinitions *defs, const char *name,
                                           guint64 *version);

guint dsm_definitions_get_n (const DsmDefinitions *defs);

/* Calls @func for every definition in name order. */
typedef void (*DsmDefinitionsFunc) (const DsmMachineDef *def, guint64 version, gpointer user_data);
void dsm_definitions_foreach (const DsmDefinitions *defs, DsmDefinitionsFunc func, gpointer user_data);

/**
 * dsm_definitions_parse_spec:
 * @name: the name the command gave; the text must define the same one
 * @spec: the definition as JSON text
 *
 * Parses and validates a DEFINE command's definition with the machine
 * validator (dsm_machine_def_new_from_json()).
 *
 * Returns: (transfer full): the definition, or NULL with a DSM_CONFIG_ERROR
 * naming the field.
 */
DsmMachineDef *dsm_definitions_parse_spec (const char *name, const char *spec, GError **error);

/**
 * dsm_definitions_check_update:
 * Whether @def may become the new version of its name: "lifecycle" is
 * built in and never changes, and a newer version keeps every state of
 * the one it replaces (instances in those states must stay meaningful).
 *
 * Returns: FALSE with a DSM_MACHINE_ERROR saying why.
 */
gboolean dsm_definitions_check_update (const DsmDefinitions *defs, const DsmMachineDef *def,
                                       GError **error);

/* Makes @def (referenced) the latest version of its name, at @version. */
void dsm_definitions_set (DsmDefinitions *defs, DsmMachineDef *def, guint64 version);

/* Appends [{"name":S,"version":N,"spec":S},...] in name order; "spec" is
 * the definition's JSON text. */
void dsm_definitions_write_json (GString *out, const DsmDefinitions *defs);

/* Reads what dsm_definitions_write_json() wrote.  A definition equal to
 * one of @config's (nullable) is that very object, so pointers into the
 * config's definitions stay valid across restores.  Errors are
 * DSM_MACHINE_ERROR_CORRUPT naming @where's element. */
DsmDefinitions *dsm_definitions_from_json (JsonNode *node, const char *where, const DsmConfig *config,
                                           GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmDefinitions, dsm_definitions_free)

G_END_DECLS
