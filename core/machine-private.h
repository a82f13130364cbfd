/* core/machine-private.h: the name rule machine.c shares with config.c,
 * so definitions and configs word their errors the same way. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "json.h"

G_BEGIN_DECLS

/**
 * dsm_machine_check_name:
 * Checks a definition, state or cluster name: 1..DSM_NAME_MAX bytes of
 * valid UTF-8 without control characters.  The rule is fixed byte
 * arithmetic (no Unicode tables), so every node agrees on it whatever its
 * GLib version.
 *
 * Returns: FALSE with DSM_CONFIG_ERROR_INVALID naming @path otherwise.
 */
gboolean dsm_machine_check_name (const char *name, const char *path, GError **error);

/* ---- declared data (core/machine-fields.c) ---- */

typedef struct _DsmMachineFields DsmMachineFields;

/**
 * dsm_machine_fields_from_json:
 * Reads the optional "fields" of the definition object at @definition:
 * {"NAME": "string"|"integer"|"number"|"boolean"|"array"|"object", ...}.
 * Returns: (transfer full): the fields (none declared when absent), or
 * NULL with @error naming the field.
 */
DsmMachineFields *dsm_machine_fields_from_json (const DsmJsonAt *definition, GError **error);
void dsm_machine_fields_free (DsmMachineFields *fields);

/* TRUE when the definition has "fields" (even {}): payloads are checked
 * against them; without it a payload may carry any keys. */
gboolean dsm_machine_fields_declared (const DsmMachineFields *fields);

/* Reads the optional "requires" of the transition object at @transition
 * (states @from -> @to): declared field names, each once. */
gboolean dsm_machine_fields_read_requires (DsmMachineFields *fields, const DsmJsonAt *transition,
                                           guint from, guint to, GError **error);

/**
 * dsm_machine_fields_check:
 * @payload: (nullable): the payload object; NULL when there is none
 * @from_name: (nullable): NULL skips the required fields (any move)
 * Judges @payload for the move @from -> @to: known keys of the declared
 * types (null is any type's: it removes the key), and every required one
 * present and not null.  Errors (DSM_JSON_ERROR) name the field:
 * "payload.retries: expected an integer, found "3"".
 */
gboolean dsm_machine_fields_check (const DsmMachineFields *fields, const char *from_name, guint from,
                                   const char *to_name, guint to, JsonNode *payload, GError **error);

/* Adds "fields" (when declared) to the definition object being built. */
void dsm_machine_fields_to_json (const DsmMachineFields *fields, JsonBuilder *builder);
/* Adds "requires" (when any) to the transition @from -> @to being built. */
void dsm_machine_fields_requires_to_json (const DsmMachineFields *fields, guint from, guint to,
                                          JsonBuilder *builder);

G_END_DECLS
