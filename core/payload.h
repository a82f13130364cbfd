/* core/payload.h: a transition's payload and a machine's data as JSON
 * text: the one canonical spelling every node writes, parsing with bounds,
 * and merging a payload into the data (docs/PROTOCOL.md, "Payloads"). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* What a payload may be; the core's ceilings are core/entry.h's
 * DSM_PAYLOAD_*_MAX, the configured limits (docs/CONFIG.md) are lower. */
typedef struct {
  gsize bytes_max;    /* the text */
  guint depth_max;    /* nesting; the payload object itself is 1 */
  guint fields_max;   /* top-level keys */
} DsmPayloadLimits;

/* The ceilings, the limits every node applies whatever its config. */
extern const DsmPayloadLimits dsm_payload_ceilings;
/* A machine's merged data: DSM_DATA_BYTES_MAX, any number of fields. */
extern const DsmPayloadLimits dsm_payload_data_limits;

/**
 * dsm_payload_write:
 * Appends @node (any JSON value) to @out in canonical form: no spaces,
 * object keys in byte order, integers in decimal, other numbers in the
 * shortest spelling that reads back to the same double and always with a
 * '.' or an exponent (so a double stays a double).  Writing what
 * dsm_payload_parse() read from canonical text gives the same text.
 */
void dsm_payload_write (GString *out, JsonNode *node);

/* Returns: (transfer full): @node in canonical form. */
char *dsm_payload_to_text (JsonNode *node);

/**
 * dsm_payload_parse:
 * @what: the name errors start with ("payload", "data")
 * Parses @text, which must be a JSON object within @limits.  Errors are
 * DSM_JSON_ERROR naming the place: "payload: 70000 bytes, more than
 * 4096", "payload.tags[2]: nested deeper than 4 levels".
 *
 * Returns: (transfer full): the object, or NULL with @error set.
 */
JsonNode *dsm_payload_parse (const char *text, const char *what, const DsmPayloadLimits *limits,
                             GError **error);

/**
 * dsm_payload_canonical:
 * @payload: a parsed payload; anything but an object is refused
 * @what: the name errors start with ("body.payload")
 * Writes @payload in canonical form (the text a command carries and every
 * node stores) and checks that text within @limits: what both client
 * ports do before proposing a transition.  Errors are DSM_JSON_ERROR:
 * TYPE for a value that is not an object, TOO_LARGE or TOO_DEEP for one
 * over @limits ("body.payload: 5000 bytes, more than 4096").
 *
 * Returns: (transfer full): the canonical text, or NULL with @error set.
 */
char *dsm_payload_canonical (JsonNode *payload, const char *what, const DsmPayloadLimits *limits, GError **error);

/**
 * dsm_payload_merge:
 * @data: (nullable): the machine's data as canonical text; NULL is {}
 * @payload: an object
 * Merges @payload into @data one level deep: each key of @payload
 * replaces the same key of the data, and a key whose value is null
 * removes it (the top level of RFC 7386's merge patch).
 *
 * Returns: (transfer full) (nullable): the new data as canonical text,
 * NULL when it is empty.
 */
char *dsm_payload_merge (const char *data, JsonNode *payload);

G_END_DECLS
