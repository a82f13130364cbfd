/* core/json.c: the typed readers of the JSON layer (core/json.h): cursors
 * that know their path, one reader per kind of value, and the words every
 * error uses ("PATH: expected WHAT, found VALUE").
 *
 * Paths are formatted only when an error needs one: a reader that succeeds
 * allocates nothing, which keeps the codec's decoding cheap. */
#include "json.h"

#include <string.h>

#include "json-private.h"

G_DEFINE_QUARK (dsm-json-error-quark, dsm_json_error)

void
dsm_json_set_error (const DsmJsonErrors *errors, DsmJsonError code, GError **error,
                    const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  g_assert (code < DSM_JSON_ERROR_N_CODES);
  if (error == NULL)
    return;
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (errors == NULL)
    g_set_error_literal (error, DSM_JSON_ERROR, (gint) code, message);
  else
    g_set_error_literal (error, errors->domain (), errors->codes[code], message);
}

/* ---- cursors ---- */

void
dsm_json_at_root (DsmJsonAt *at, const DsmJsonErrors *errors, JsonNode *node,
                  const char *label)
{
  g_return_if_fail (at != NULL);

  *at = (DsmJsonAt) { errors, NULL, label, -1, node, NULL };
}

/* The body of dsm_json_at_member(), inlined into every member reader. */
static inline void
at_member (DsmJsonAt *at, const DsmJsonAt *object, const char *key)
{
  *at = (DsmJsonAt) { object->errors, object, key, -1, NULL, NULL };
  if (object->node == NULL)
    return;
  /* The parent caches its JsonObject: an entry's dozen member reads then
   * cost one type check, not twelve (the codec's hot path).  A cursor
   * lives on its caller's stack, never in read-only memory, so filling
   * the cache through a const pointer is sound; json_node_get_object()
   * checks the type (a misuse is a critical warning and no member). */
  if (object->object == NULL)
    ((DsmJsonAt *) object)->object = json_node_get_object (object->node);
  at->node = json_object_get_member (object->object, key);
}

void
dsm_json_at_member (DsmJsonAt *at, const DsmJsonAt *object, const char *key)
{
  g_assert (object != NULL);
  g_assert (key != NULL);

  at_member (at, object, key);
}

void
dsm_json_at_element (DsmJsonAt *at, const DsmJsonAt *array, guint index)
{
  g_assert (array != NULL);

  *at = (DsmJsonAt) { array->errors, array, NULL, index, NULL, NULL };
  if (array->node != NULL && JSON_NODE_HOLDS_ARRAY (array->node)
      && index < json_array_get_length (json_node_get_array (array->node)))
    at->node = json_array_get_element (json_node_get_array (array->node), index);
}

static void
at_path_append (const DsmJsonAt *at, GString *out)
{
  if (at->parent != NULL)
    at_path_append (at->parent, out);
  if (at->key != NULL)
    {
      if (out->len > 0)
        g_string_append_c (out, '.');
      g_string_append (out, at->key);
    }
  if (at->index >= 0)
    g_string_append_printf (out, "[%" G_GINT64_FORMAT "]", at->index);
}

char *
dsm_json_at_path (const DsmJsonAt *at)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (at != NULL, NULL);

  at_path_append (at, out);
  return g_string_free (out, FALSE);
}

static gboolean G_GNUC_PRINTF (4, 0)
fail_valist (const DsmJsonAt *at, DsmJsonError code, GError **error, const char *format,
             va_list args)
{
  g_autofree char *path = NULL;
  g_autofree char *what = NULL;

  if (error == NULL)
    return FALSE;
  path = dsm_json_at_path (at);
  what = g_strdup_vprintf (format, args);
  if (path[0] == '\0')
    dsm_json_set_error (at->errors, code, error, "%s", what);
  else
    dsm_json_set_error (at->errors, code, error, "%s: %s", path, what);
  return FALSE;
}

gboolean
dsm_json_fail (const DsmJsonAt *at, DsmJsonError code, GError **error, const char *format, ...)
{
  va_list args;

  g_return_val_if_fail (at != NULL, FALSE);

  va_start (args, format);
  fail_valist (at, code, error, format, args);
  va_end (args);
  return FALSE;
}

/* "PATH: expected WHAT, found VALUE". */
static gboolean
fail_expected (const DsmJsonAt *at, DsmJsonError code, const char *expected, GError **error)
{
  g_autofree char *found = NULL;

  if (error == NULL)
    return FALSE;
  found = dsm_json_describe (at->node);
  return dsm_json_fail (at, code, error, "expected %s, found %s", expected, found);
}

/* A scalar of @type: json_node_get_value_type() is G_TYPE_INVALID for
 * null and the container types for objects and arrays, so one call tells. */
static inline gboolean
holds (JsonNode *node, GType type)
{
  return json_node_get_value_type (node) == type;
}

/* ---- readers of the value at a cursor ---- */

static char *
get_uint_expected (guint64 min, guint64 max)
{
  /* Bounds past 32 bits are there to stop overflow, not to inform. */
  if (max < G_MAXUINT32)
    return g_strdup_printf ("an integer from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                            min, max);
  if (min == 0)
    return g_strdup ("a non-negative integer");
  if (min == 1)
    return g_strdup ("a positive integer");
  return g_strdup_printf ("an integer >= %" G_GUINT64_FORMAT, min);
}

/* The error half of a uint read, out of line. */
static gboolean G_GNUC_NO_INLINE
get_uint_fail (const DsmJsonAt *at, guint64 min, guint64 max, GError **error)
{
  g_autofree char *expected = NULL;
  gint64 value;

  if (error == NULL)
    return FALSE;
  expected = get_uint_expected (min, max);
  if (!holds (at->node, G_TYPE_INT64))
    return fail_expected (at, DSM_JSON_ERROR_TYPE, expected, error);
  value = json_node_get_int (at->node);
  if (value >= 0 && (guint64) value > max && max >= G_MAXUINT32)
    return dsm_json_fail (at, DSM_JSON_ERROR_RANGE, error,
                          "expected %s, found %" G_GINT64_FORMAT ", more than %" G_GUINT64_FORMAT,
                          expected, value, max);
  return fail_expected (at, DSM_JSON_ERROR_RANGE, expected, error);
}

/* The common case, inlined into the member readers: an integer in range. */
static inline gboolean
get_uint (const DsmJsonAt *at, guint64 min, guint64 max, guint64 *out, GError **error)
{
  if (G_LIKELY (holds (at->node, G_TYPE_INT64)))
    {
      gint64 value = json_node_get_int (at->node);

      if (G_LIKELY (value >= 0 && (guint64) value >= min && (guint64) value <= max))
        {
          *out = (guint64) value;
          return TRUE;
        }
    }
  return get_uint_fail (at, min, max, error);
}

gboolean
dsm_json_get_uint (const DsmJsonAt *at, guint64 min, guint64 max, guint64 *out,
                   GError **error)
{
  g_return_val_if_fail (at != NULL && at->node != NULL, FALSE);
  g_return_val_if_fail (min <= max, FALSE);

  return get_uint (at, min, max, out, error);
}

static inline gboolean
get_uint32 (const DsmJsonAt *at, guint min, guint max, guint *out, GError **error)
{
  guint64 value = 0;

  if (!get_uint (at, min, max, &value, error))
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

gboolean
dsm_json_get_uint32 (const DsmJsonAt *at, guint min, guint max, guint *out, GError **error)
{
  g_return_val_if_fail (at != NULL && at->node != NULL, FALSE);
  g_return_val_if_fail (min <= max, FALSE);

  return get_uint32 (at, min, max, out, error);
}

gboolean
dsm_json_get_double (const DsmJsonAt *at, double min, double max, double *out,
                     GError **error)
{
  char min_text[G_ASCII_DTOSTR_BUF_SIZE];
  char max_text[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *expected = NULL;
  gboolean number;
  double value = 0;

  g_return_val_if_fail (at != NULL && at->node != NULL, FALSE);

  number = holds (at->node, G_TYPE_INT64) || holds (at->node, G_TYPE_DOUBLE);
  if (number)
    value = holds (at->node, G_TYPE_INT64) ? (double) json_node_get_int (at->node)
                                           : json_node_get_double (at->node);
  /* Written this way round so a NaN is out of range too. */
  if (number && value >= min && value <= max)
    {
      *out = value;
      return TRUE;
    }
  g_ascii_dtostr (min_text, sizeof min_text, min);
  g_ascii_dtostr (max_text, sizeof max_text, max);
  expected = g_strdup_printf ("a number from %s to %s", min_text, max_text);
  return fail_expected (at, number ? DSM_JSON_ERROR_RANGE : DSM_JSON_ERROR_TYPE, expected,
                        error);
}

gboolean
dsm_json_get_bool (const DsmJsonAt *at, gboolean *out, GError **error)
{
  g_return_val_if_fail (at != NULL && at->node != NULL, FALSE);

  if (G_LIKELY (holds (at->node, G_TYPE_BOOLEAN)))
    {
      *out = json_node_get_boolean (at->node);
      return TRUE;
    }
  return fail_expected (at, DSM_JSON_ERROR_TYPE, "true or false", error);
}

/* A string value's checks past its type. */
static inline gboolean
get_string_bounded (const DsmJsonAt *at, gsize bytes_max, const char **out, GError **error)
{
  const char *text = json_node_get_string (at->node);
  gsize length;

  if (bytes_max > 0 && (length = strlen (text)) > bytes_max)
    return dsm_json_fail (at, DSM_JSON_ERROR_TOO_LARGE, error,
                          "string of %" G_GSIZE_FORMAT " bytes, more than %" G_GSIZE_FORMAT,
                          length, bytes_max);
  *out = text;
  return TRUE;
}

gboolean
dsm_json_get_string (const DsmJsonAt *at, gsize bytes_max, const char **out, GError **error)
{
  g_return_val_if_fail (at != NULL && at->node != NULL, FALSE);

  if (G_UNLIKELY (!holds (at->node, G_TYPE_STRING)))
    return fail_expected (at, DSM_JSON_ERROR_TYPE, "a string", error);
  return get_string_bounded (at, bytes_max, out, error);
}

gboolean
dsm_json_get_node_id (const DsmJsonAt *at, DsmNodeId *out, GError **error)
{
  guint64 value = 0;

  g_return_val_if_fail (at != NULL && at->node != NULL, FALSE);

  if (G_LIKELY (holds (at->node, G_TYPE_INT64)))
    {
      gint64 id = json_node_get_int (at->node);

      if (id >= 1 && id <= DSM_JSON_NODE_ID_MAX)
        value = (guint64) id;
    }
  if (value == 0)
    {
      g_autofree char *expected = g_strdup_printf ("a node id (an integer from 1 to %u)",
                                                   DSM_JSON_NODE_ID_MAX);

      return fail_expected (at, holds (at->node, G_TYPE_INT64) ? DSM_JSON_ERROR_RANGE
                                                               : DSM_JSON_ERROR_TYPE,
                            expected, error);
    }
  *out = (DsmNodeId) value;
  return TRUE;
}

/* '"a", "b" or "c"' */
static char *
get_enum_expected (const char *const *names)
{
  GString *out = g_string_new (NULL);
  guint n = g_strv_length ((char **) names);

  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (out, i + 1 == n ? " or " : ", ");
      g_string_append_printf (out, "\"%s\"", names[i]);
    }
  return g_string_free (out, FALSE);
}

gboolean
dsm_json_get_enum (const DsmJsonAt *at, const char *const *names, guint *out, GError **error)
{
  g_autofree char *expected = NULL;
  g_autofree char *found = NULL;
  const char *text = NULL;
  const char *hint;

  g_return_val_if_fail (at != NULL && at->node != NULL, FALSE);
  g_return_val_if_fail (names != NULL && names[0] != NULL, FALSE);

  if (holds (at->node, G_TYPE_STRING))
    {
      text = json_node_get_string (at->node);
      for (guint i = 0; names[i] != NULL; i++)
        if (strcmp (text, names[i]) == 0)
          {
            *out = i;
            return TRUE;
          }
    }
  if (error == NULL)
    return FALSE;
  expected = get_enum_expected (names);
  if (!holds (at->node, G_TYPE_STRING))
    return fail_expected (at, DSM_JSON_ERROR_TYPE, expected, error);
  found = dsm_json_quote (text);
  if ((hint = dsm_json_suggest (text, names)) != NULL)
    return dsm_json_fail (at, DSM_JSON_ERROR_CHOICE, error,
                          "expected %s, found %s (did you mean \"%s\"?)", expected, found, hint);
  return dsm_json_fail (at, DSM_JSON_ERROR_CHOICE, error, "expected %s, found %s", expected,
                        found);
}

static gboolean
get_object_check_keys (const DsmJsonAt *at, const char *const *known, GError **error)
{
  JsonObjectIter iter;
  const char *key;

  json_object_iter_init_ordered (&iter, json_node_get_object (at->node));
  while (json_object_iter_next_ordered (&iter, &key, NULL))
    {
      DsmJsonAt member;
      const char *hint;

      if (strcmp (key, "comment") == 0 || g_strv_contains (known, key))
        continue;
      dsm_json_at_member (&member, at, key);
      if ((hint = dsm_json_suggest (key, known)) != NULL)
        return dsm_json_fail (&member, DSM_JSON_ERROR_UNKNOWN, error,
                              "unknown key (did you mean \"%s\"?)", hint);
      {
        g_autofree char *keys = g_strjoinv (", ", (char **) known);

        return dsm_json_fail (&member, DSM_JSON_ERROR_UNKNOWN, error,
                              "unknown key (known: %s)", keys);
      }
    }
  return TRUE;
}

gboolean
dsm_json_get_object (const DsmJsonAt *at, const char *const *known, GError **error)
{
  g_return_val_if_fail (at != NULL && at->node != NULL, FALSE);

  if (G_UNLIKELY (!JSON_NODE_HOLDS_OBJECT (at->node)))
    return fail_expected (at, DSM_JSON_ERROR_TYPE, "an object", error);
  return known == NULL || get_object_check_keys (at, known, error);
}

gboolean
dsm_json_get_array (const DsmJsonAt *at, guint length_max, guint *length, GError **error)
{
  guint n;

  g_return_val_if_fail (at != NULL && at->node != NULL, FALSE);

  if (G_UNLIKELY (!JSON_NODE_HOLDS_ARRAY (at->node)))
    return fail_expected (at, DSM_JSON_ERROR_TYPE, "an array", error);
  n = json_array_get_length (json_node_get_array (at->node));
  if (n > length_max)
    return dsm_json_fail (at, DSM_JSON_ERROR_TOO_LARGE, error, "%u elements, more than %u", n,
                          length_max);
  *length = n;
  return TRUE;
}

static int
get_base64_value (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* g_base64_decode() skips what it does not know, so the alphabet, the
 * padding and the unused low bits are checked here: one value, one
 * spelling. */
static gboolean
get_base64_check (const char *text, gsize length, gsize padding)
{
  gsize digits = length - padding;

  for (gsize i = 0; i < digits; i++)
    if (get_base64_value (text[i]) < 0)
      return FALSE;
  if (padding == 2)
    return (get_base64_value (text[digits - 1]) & 0x0f) == 0;
  if (padding == 1)
    return (get_base64_value (text[digits - 1]) & 0x03) == 0;
  return TRUE;
}

gboolean
dsm_json_get_base64 (const DsmJsonAt *at, gsize bytes_max, GBytes **out, GError **error)
{
  const char *text;
  gsize length;
  gsize padding = 0;
  gsize size;
  guchar *bytes;
  gint state = 0;
  guint save = 0;

  g_return_val_if_fail (at != NULL && at->node != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  if (!holds (at->node, G_TYPE_STRING))
    return fail_expected (at, DSM_JSON_ERROR_TYPE, "a base64 string", error);
  text = json_node_get_string (at->node);
  length = strlen (text);
  if (length % 4 != 0)
    return dsm_json_fail (at, DSM_JSON_ERROR_TYPE, error,
                          "not base64: length %" G_GSIZE_FORMAT " is not a multiple of 4",
                          length);
  if (length > 0 && text[length - 1] == '=')
    padding = text[length - 2] == '=' ? 2 : 1;
  size = length / 4 * 3 - padding;
  if (size > bytes_max)
    return dsm_json_fail (at, DSM_JSON_ERROR_TOO_LARGE, error,
                          "%" G_GSIZE_FORMAT " bytes of data, more than %" G_GSIZE_FORMAT,
                          size, bytes_max);
  if (!get_base64_check (text, length, padding))
    return dsm_json_fail (at, DSM_JSON_ERROR_TYPE, error,
                          "not base64: a character outside the alphabet or misplaced padding");
  bytes = g_malloc (size + 3);
  size = g_base64_decode_step (text, length, bytes, &state, &save);
  *out = g_bytes_new_take (bytes, size);
  return TRUE;
}

/* ---- readers of an object's member ---- */

gboolean
dsm_json_read_member (DsmJsonAt *at, const DsmJsonAt *object, const char *key,
                      DsmJsonNeed need, GError **error)
{
  g_return_val_if_fail (object != NULL && object->node != NULL, FALSE);

  at_member (at, object, key);
  if (G_LIKELY (at->node != NULL) || need != DSM_JSON_REQUIRED)
    return TRUE;
  return dsm_json_fail (at, DSM_JSON_ERROR_MISSING, error, "required key is missing");
}

/* The member readers: look the member up inline, then read it. */
#define READ_MEMBER(object, key, need, error, get) \
  G_STMT_START { \
    DsmJsonAt at_; \
    at_member (&at_, (object), (key)); \
    if (G_UNLIKELY (at_.node == NULL)) \
      return (need) != DSM_JSON_REQUIRED \
             || dsm_json_fail (&at_, DSM_JSON_ERROR_MISSING, (error), "required key is missing"); \
    if ((need) == DSM_JSON_NULLABLE && JSON_NODE_HOLDS_NULL (at_.node)) \
      return TRUE; \
    return get; \
  } G_STMT_END

gboolean
dsm_json_read_uint (const DsmJsonAt *object, const char *key, DsmJsonNeed need, guint64 min,
                    guint64 max, guint64 *out, GError **error)
{
  g_return_val_if_fail (min <= max, FALSE);
  READ_MEMBER (object, key, need, error, get_uint (&at_, min, max, out, error));
}

gboolean
dsm_json_read_uint32 (const DsmJsonAt *object, const char *key, DsmJsonNeed need, guint min,
                      guint max, guint *out, GError **error)
{
  g_return_val_if_fail (min <= max, FALSE);
  READ_MEMBER (object, key, need, error, get_uint32 (&at_, min, max, out, error));
}

gboolean
dsm_json_read_double (const DsmJsonAt *object, const char *key, DsmJsonNeed need, double min,
                      double max, double *out, GError **error)
{
  READ_MEMBER (object, key, need, error, dsm_json_get_double (&at_, min, max, out, error));
}

gboolean
dsm_json_read_bool (const DsmJsonAt *object, const char *key, DsmJsonNeed need, gboolean *out,
                    GError **error)
{
  READ_MEMBER (object, key, need, error, dsm_json_get_bool (&at_, out, error));
}

gboolean
dsm_json_read_string (const DsmJsonAt *object, const char *key, DsmJsonNeed need,
                      gsize bytes_max, const char **out, GError **error)
{
  DsmJsonAt at;

  at_member (&at, object, key);
  if (at.node == NULL)
    return need != DSM_JSON_REQUIRED
           || dsm_json_fail (&at, DSM_JSON_ERROR_MISSING, error, "required key is missing");
  /* One type query for the common case, a string. */
  if (G_LIKELY (holds (at.node, G_TYPE_STRING)))
    return get_string_bounded (&at, bytes_max, out, error);
  if (need != DSM_JSON_NULLABLE)
    return fail_expected (&at, DSM_JSON_ERROR_TYPE, "a string", error);
  if (JSON_NODE_HOLDS_NULL (at.node))
    {
      *out = NULL;
      return TRUE;
    }
  return fail_expected (&at, DSM_JSON_ERROR_TYPE, "a string or null", error);
}

gboolean
dsm_json_read_node_id (const DsmJsonAt *object, const char *key, DsmJsonNeed need,
                       DsmNodeId *out, GError **error)
{
  READ_MEMBER (object, key, need, error, dsm_json_get_node_id (&at_, out, error));
}

gboolean
dsm_json_read_enum (const DsmJsonAt *object, const char *key, DsmJsonNeed need,
                    const char *const *names, guint *out, GError **error)
{
  READ_MEMBER (object, key, need, error, dsm_json_get_enum (&at_, names, out, error));
}
