/* core/json-private.h: what the JSON layer's two files share: raising an
 * error in the caller's domain (core/json.h, DsmJsonErrors). */
#pragma once

#include "json.h"

G_BEGIN_DECLS

/* Sets @error to the formatted message in @errors' domain, with the code
 * it gives @code (DSM_JSON_ERROR and @code itself when @errors is NULL). */
void dsm_json_set_error (const DsmJsonErrors *errors, DsmJsonError code, GError **error,
                         const char *format, ...) G_GNUC_PRINTF (4, 5);

G_END_DECLS
