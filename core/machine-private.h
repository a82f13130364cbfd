/* core/machine-private.h: the name rule machine.c shares with config.c,
 * so definitions and configs word their errors the same way. */
#pragma once

#include <glib.h>

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

G_END_DECLS
