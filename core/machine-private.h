/* core/machine-private.h: JSON checking helpers machine.c shares with
 * config.c, so definitions and configs word their errors the same way. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/**
 * dsm_machine_json_describe:
 * Returns: (transfer full): how an error message shows a JSON value it did
 * not expect: `"fast"`, `50.5`, `true`, `null`, `an object`, `an array`;
 * long strings are cut short.
 */
char *dsm_machine_json_describe (JsonNode *node);

/* Returns: (transfer full): @text as a JSON string literal, cut short. */
char *dsm_machine_json_quote (const char *text);

/**
 * dsm_machine_json_join:
 * @where: (nullable): the enclosing path ("definitions[1]")
 * @field: (nullable): the member ("states[2]")
 * Returns: (transfer full): "definitions[1].states[2]", or whichever of
 * the two is set; "(root)" when neither is.
 */
char *dsm_machine_json_join (const char *where, const char *field);

/**
 * dsm_machine_json_check_members:
 * @known: NULL-terminated member names the schema has
 *
 * Fails with DSM_CONFIG_ERROR_UNKNOWN on the first member of @object that
 * is neither in @known nor "comment" (kept for humans, ignored), naming
 * it and suggesting a close known name.
 */
gboolean dsm_machine_json_check_members (JsonObject *object, const char *where,
                                         const char *const *known, GError **error);

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

G_END_DECLS
