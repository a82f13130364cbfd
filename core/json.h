/* core/json.h: the one JSON layer every reader of outside input uses: a
 * strict, bounded parser and typed readers whose errors name the field.
 *
 * Parsing (core/json-parse.c) builds a json-glib tree but refuses what
 * json-glib lets through: a key given twice in one object, anything after
 * the first value, nesting or input past their bounds, raw control
 * characters, \u0000, lone surrogates, invalid UTF-8, hex, comments.
 *
 * Reading (core/json.c) walks that tree with a DsmJsonAt cursor: each
 * reader checks one value's type and bounds and, on failure, words the
 * error "PATH: problem" with the value's full path, formatted only then:
 *
 *     nodes[2].peer_address: expected "host:port" or null, found 7001
 *     network.latency_ms_mx: unknown key (did you mean "latency_ms_max"?)
 *
 * Values in messages are quoted, cut short and escaped, and an unknown
 * name gets a "did you mean" (core/json-words.c).
 *
 * Errors carry the caller's own GError domain and codes (DsmJsonErrors),
 * so a config error stays a DSM_CONFIG_ERROR and a codec error a
 * DSM_CODEC_ERROR; with NULL they are DSM_JSON_ERROR. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "types.h"

G_BEGIN_DECLS

/* What went wrong, whatever the caller's domain calls it. */
typedef enum {
  DSM_JSON_ERROR_SYNTAX,     /* not JSON: grammar, escapes, UTF-8, trailing data */
  DSM_JSON_ERROR_DUPLICATE,  /* a key given twice in one object */
  DSM_JSON_ERROR_TOO_DEEP,   /* nesting past the parser's bound */
  DSM_JSON_ERROR_TOO_LARGE,  /* the input, a string or an array past its bound */
  DSM_JSON_ERROR_MISSING,    /* a required key is absent */
  DSM_JSON_ERROR_TYPE,       /* a value of the wrong JSON type */
  DSM_JSON_ERROR_RANGE,      /* a number outside its range */
  DSM_JSON_ERROR_CHOICE,     /* a string outside its table of names */
  DSM_JSON_ERROR_UNKNOWN,    /* a key the schema does not have */
  DSM_JSON_ERROR_INVALID,    /* well-typed but refused by the caller's own check */
  DSM_JSON_ERROR_N_CODES,
} DsmJsonError;

#define DSM_JSON_ERROR (dsm_json_error_quark ())
GQuark dsm_json_error_quark (void);

/* The GError domain and codes a module raises the layer's errors in:
 * codes[DSM_JSON_ERROR_TYPE] is, say, DSM_CONFIG_ERROR_TYPE.  Tables are
 * static const data of the module. */
typedef struct {
  GQuark (*domain) (void);
  gint codes[DSM_JSON_ERROR_N_CODES];
} DsmJsonErrors;

/* ---- parsing ---- */

/* Bounds a document must keep; dsm_json_parse() checks them before it
 * allocates for what they bound. */
typedef struct {
  gsize bytes_max;   /* the whole text */
  guint depth_max;   /* nested objects and arrays; the root's is 1 */
} DsmJsonLimits;

/* Configs, definitions, scenarios: files people write. */
#define DSM_JSON_FILE_BYTES_MAX (16 * 1024 * 1024)
#define DSM_JSON_FILE_DEPTH_MAX 32

/**
 * dsm_json_parse:
 * @data: JSON text, not necessarily NUL-terminated
 * @length: bytes in @data, or -1 when @data is NUL-terminated
 * @limits: (nullable): NULL means the file limits above
 * @errors: (nullable): the caller's domain; NULL means DSM_JSON_ERROR
 *
 * Parses exactly one JSON value.  Syntax errors name the place ("byte 17:
 * unexpected end of input", "line 3, byte 40: ..." past the first line); a
 * duplicate key names its path ("nodes[1].id: duplicate key (byte 30)").
 * Integers that fit 64 signed bits are G_TYPE_INT64 values, other numbers
 * G_TYPE_DOUBLE.
 *
 * Returns: (transfer full): the root, or NULL with @error set.
 */
JsonNode *dsm_json_parse (const char *data, gssize length, const DsmJsonLimits *limits,
                          const DsmJsonErrors *errors, GError **error);

/* ---- where a value sits ---- */

/**
 * DsmJsonAt:
 * A value and its place in the document, for readers and their errors.
 * Cursors live on the stack and point at their parent: a member's cursor
 * must not outlive the object's.  Fill a root with dsm_json_at_root(),
 * children with dsm_json_at_member() and dsm_json_at_element().
 */
typedef struct _DsmJsonAt DsmJsonAt;
struct _DsmJsonAt {
  const DsmJsonErrors *errors;  /* (nullable) inherited from the root */
  const DsmJsonAt *parent;      /* (nullable) */
  const char *key;              /* (nullable) a member's key, or the root's label */
  gint64 index;                 /* >= 0: element @index of the parent array */
  JsonNode *node;               /* (nullable) NULL: the member is absent */
  /*< private >*/
  JsonObject *object;           /* @node's object, once a member was looked up */
};

/**
 * dsm_json_at_root:
 * @label: (nullable): the root's name in paths ("message", "definitions[1]
 *   (\"door.json\")"); NULL: paths start at the root's keys
 */
void dsm_json_at_root (DsmJsonAt *at, const DsmJsonErrors *errors, JsonNode *node,
                       const char *label);

/* The member @key of the object at @object (which must hold an object);
 * at->node is NULL when it is absent.  @key must outlive @at. */
void dsm_json_at_member (DsmJsonAt *at, const DsmJsonAt *object, const char *key);

/* Element @index of the array at @array (which must hold an array). */
void dsm_json_at_element (DsmJsonAt *at, const DsmJsonAt *array, guint index);

/* Returns: (transfer full): "nodes[2].peer_address"; "" at an unlabelled root. */
char *dsm_json_at_path (const DsmJsonAt *at);

/**
 * dsm_json_fail:
 * Sets @error to "PATH: MESSAGE" in the cursor's domain, with the code
 * the domain gives @code.  For checks of the caller's own ("expected
 * \"host:port\""), so they read like the layer's.  Returns: FALSE.
 */
gboolean dsm_json_fail (const DsmJsonAt *at, DsmJsonError code, GError **error,
                        const char *format, ...) G_GNUC_PRINTF (4, 5);

/* ---- typed readers of the value at a cursor ---- */

/* The value at @at must be present (at->node != NULL) for these. */

/* An integer in @min..@max: no fraction, no exponent, no string.
 * "expected an unsigned integer, found \"7\"" / "found 70000, more than 65535". */
gboolean dsm_json_get_uint (const DsmJsonAt *at, guint64 min, guint64 max, guint64 *out,
                            GError **error);
gboolean dsm_json_get_uint32 (const DsmJsonAt *at, guint min, guint max, guint *out,
                              GError **error);

/* A number in @min..@max, integer or not. */
gboolean dsm_json_get_double (const DsmJsonAt *at, double min, double max, double *out,
                              GError **error);

gboolean dsm_json_get_bool (const DsmJsonAt *at, gboolean *out, GError **error);

/* A string of at most @bytes_max bytes (0: no bound beyond the input's);
 * *@out borrows the tree's copy. */
gboolean dsm_json_get_string (const DsmJsonAt *at, gsize bytes_max, const char **out,
                              GError **error);

/* A node id: an integer in 1..DSM_NODE_ID_MAX (core/types.h), the range
 * every JSON reader and every language's int agrees on. */
#define DSM_JSON_NODE_ID_MAX DSM_NODE_ID_MAX
gboolean dsm_json_get_node_id (const DsmJsonAt *at, DsmNodeId *out, GError **error);

/* One of @names (NULL-terminated); *@out is its index.  A near miss gets
 * "did you mean". */
gboolean dsm_json_get_enum (const DsmJsonAt *at, const char *const *names, guint *out,
                            GError **error);

/**
 * dsm_json_get_object:
 * @known: (nullable): NULL-terminated keys the object may have besides
 *   "comment" (kept for humans); NULL: any key (a wire format that lets a
 *   newer peer add fields)
 *
 * The value must be an object with no unknown key; the first unknown one
 * (in document order) is "PATH.KEY: unknown key (did you mean \"K\"?)" or
 * "(known: a, b)" when nothing is close.
 */
gboolean dsm_json_get_object (const DsmJsonAt *at, const char *const *known, GError **error);

/**
 * dsm_json_get_base64:
 * A string of standard base64 with padding, in the one spelling
 * dsm_json_write_base64() writes (alphabet, padding and unused bits
 * checked), decoding to at most @bytes_max bytes.
 * Returns: TRUE with *@out (transfer full) the bytes.
 */
gboolean dsm_json_get_base64 (const DsmJsonAt *at, gsize bytes_max, GBytes **out,
                              GError **error);

/* An array of at most @length_max elements; *@length its length. */
gboolean dsm_json_get_array (const DsmJsonAt *at, guint length_max, guint *length,
                             GError **error);

/* ---- typed readers of an object's member ---- */

/* Whether a member must be there.  An absent optional member leaves *out
 * as it was, so set the default first; a nullable one may also be null,
 * which leaves numbers and booleans alone and sets a string to NULL. */
typedef enum {
  DSM_JSON_REQUIRED,
  DSM_JSON_OPTIONAL,
  DSM_JSON_NULLABLE,
} DsmJsonNeed;

/**
 * dsm_json_read_member:
 * Fills @at with the member @key of @object.  Returns: FALSE with MISSING
 * ("PATH.KEY: required key is missing") when a required member is absent;
 * otherwise TRUE, with at->node NULL when the member is absent.
 */
gboolean dsm_json_read_member (DsmJsonAt *at, const DsmJsonAt *object, const char *key,
                               DsmJsonNeed need, GError **error);

/* The dsm_json_get_*() readers on the member @key of @object. */
gboolean dsm_json_read_uint (const DsmJsonAt *object, const char *key, DsmJsonNeed need,
                             guint64 min, guint64 max, guint64 *out, GError **error);
gboolean dsm_json_read_uint32 (const DsmJsonAt *object, const char *key, DsmJsonNeed need,
                               guint min, guint max, guint *out, GError **error);
gboolean dsm_json_read_double (const DsmJsonAt *object, const char *key, DsmJsonNeed need,
                               double min, double max, double *out, GError **error);
gboolean dsm_json_read_bool (const DsmJsonAt *object, const char *key, DsmJsonNeed need,
                             gboolean *out, GError **error);
gboolean dsm_json_read_string (const DsmJsonAt *object, const char *key, DsmJsonNeed need,
                               gsize bytes_max, const char **out, GError **error);
gboolean dsm_json_read_node_id (const DsmJsonAt *object, const char *key, DsmJsonNeed need,
                                DsmNodeId *out, GError **error);
gboolean dsm_json_read_enum (const DsmJsonAt *object, const char *key, DsmJsonNeed need,
                             const char *const *names, guint *out, GError **error);

/* ---- words for messages ---- */

/**
 * dsm_json_describe:
 * Returns: (transfer full): a value as an error shows it: `"fast"`,
 * `50.5`, `true`, `null`, `an object`, `an array`, `nothing` (NULL); long
 * strings are cut short, control characters escaped.
 */
char *dsm_json_describe (JsonNode *node);

/* Returns: (transfer full): @text as a JSON string literal, cut short. */
char *dsm_json_quote (const char *text);

/**
 * dsm_json_suggest:
 * Returns: (transfer none): the name in @known (NULL-terminated) that
 * @word is likely a typo of, or NULL.  Close means a small edit distance,
 * or the same words of a snake_case name in another order
 * ("election_timeout_min_ms" for "election_timeout_ms_min").
 */
const char *dsm_json_suggest (const char *word, const char *const *known);

G_END_DECLS
