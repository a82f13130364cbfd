/* core/json-parse.c: the strict JSON parser: one pass of recursive descent
 * over bounded text, building a json-glib tree (core/json.h).
 *
 * Strict where json-glib 1.6 is lax: it silently keeps the last of two
 * equal keys, accepts a second value after the first ({"a":1}{}), hex and
 * octal numbers, single quotes and comments, raw control characters in
 * strings, truncates strings at \u0000, lets a lone surrogate through as
 * invalid UTF-8, and turns -18446744073709551615 into 1.  Here every one
 * of these is an error naming the byte (or, for a duplicate key, the
 * path), nesting is bounded before the recursion goes deeper, and the
 * input's size before anything is allocated.  It also costs a fraction of
 * json-glib's GScanner (docs/BENCHMARKS.md, "Codec"). */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#include "json-private.h"

typedef struct {
  const char *data;
  gsize length;
  gsize at;                     /* the next byte to read */
  guint depth;
  guint depth_max;
  const DsmJsonErrors *errors;
  GString *scratch;             /* a string's decoded bytes, reused */
  GError **error;
} Parser;

/* "byte 17" on the first line, "line 3, byte 40" past it: wire messages
 * are one line, files people edit are many.  Counted only on failure. */
static char *
parse_position (const Parser *p, gsize at)
{
  guint line = 1;

  for (gsize i = 0; i < at && i < p->length; i++)
    if (p->data[i] == '\n')
      line++;
  if (line == 1)
    return g_strdup_printf ("byte %" G_GSIZE_FORMAT, at);
  return g_strdup_printf ("line %u, byte %" G_GSIZE_FORMAT, line, at);
}

static gboolean G_GNUC_PRINTF (4, 5)
parse_fail (Parser *p, DsmJsonError code, gsize at, const char *format, ...)
{
  g_autofree char *position = parse_position (p, at);
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  dsm_json_set_error (p->errors, code, p->error, "%s: %s", position, what);
  return FALSE;
}

/* Something other than @expected at p->at: say what was found. */
static gboolean
parse_fail_unexpected (Parser *p, const char *expected)
{
  guchar c;

  if (p->at >= p->length)
    return parse_fail (p, DSM_JSON_ERROR_SYNTAX, p->at, "unexpected end of input (expected %s)",
                       expected);
  c = (guchar) p->data[p->at];
  if (c == '\0')
    return parse_fail (p, DSM_JSON_ERROR_SYNTAX, p->at, "NUL byte");
  if (c >= 'a' && c <= 'z')
    return parse_fail (p, DSM_JSON_ERROR_SYNTAX, p->at, "unexpected word (expected %s)",
                       expected);
  return parse_fail (p, DSM_JSON_ERROR_SYNTAX, p->at,
                     "unexpected character 0x%02x (expected %s)", c, expected);
}

static inline void
parse_skip_space (Parser *p)
{
  while (p->at < p->length)
    {
      char c = p->data[p->at];

      if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
        return;
      p->at++;
    }
}

static int
parse_hex (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* The 4 hex digits of a \uXXXX escape whose backslash is at @at. */
static gboolean
parse_string_unit (const Parser *p, gsize at, guint *out)
{
  guint value = 0;

  if (at + 6 > p->length || p->data[at] != '\\' || p->data[at + 1] != 'u')
    return FALSE;
  for (gsize i = at + 2; i < at + 6; i++)
    {
      int digit = parse_hex (p->data[i]);

      if (digit < 0)
        return FALSE;
      value = value * 16 + (guint) digit;
    }
  *out = value;
  return TRUE;
}

/* A \u escape (or a surrogate pair of them) at p->at, appended as UTF-8. */
static gboolean
parse_string_escape_unicode (Parser *p)
{
  gsize start = p->at;
  char utf8[6];
  guint unit;
  guint low;

  if (!parse_string_unit (p, start, &unit))
    return parse_fail (p, DSM_JSON_ERROR_SYNTAX, start, "malformed \\u escape");
  if (unit == 0)
    return parse_fail (p, DSM_JSON_ERROR_SYNTAX, start, "\\u0000 in a string");
  if (unit >= 0xdc00 && unit <= 0xdfff)
    return parse_fail (p, DSM_JSON_ERROR_SYNTAX, start, "lone low surrogate");
  p->at += 6;
  if (unit >= 0xd800 && unit <= 0xdbff)
    {
      if (!parse_string_unit (p, p->at, &low) || low < 0xdc00 || low > 0xdfff)
        return parse_fail (p, DSM_JSON_ERROR_SYNTAX, start, "lone high surrogate");
      unit = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
      p->at += 6;
    }
  g_string_append_len (p->scratch, utf8, g_unichar_to_utf8 (unit, utf8));
  return TRUE;
}

/* A string from its opening quote at p->at into p->scratch; leaves p->at
 * past the closing quote. */
static gboolean
parse_string (Parser *p)
{
  gsize start = p->at;
  gsize run;
  guchar high = 0;

  g_assert (p->data[p->at] == '"');
  g_string_truncate (p->scratch, 0);
  run = ++p->at;
  while (p->at < p->length)
    {
      guchar c = (guchar) p->data[p->at];

      if (G_LIKELY (c >= 0x20 && c != '"' && c != '\\'))
        {
          high |= c & 0x80;
          p->at++;
          continue;
        }
      g_string_append_len (p->scratch, p->data + run, (gssize) (p->at - run));
      if (c == '"')
        {
          p->at++;
          /* Escapes write valid UTF-8; raw bytes past ASCII need checking. */
          if (high && !g_utf8_validate_len (p->scratch->str, p->scratch->len, NULL))
            return parse_fail (p, DSM_JSON_ERROR_SYNTAX, start, "invalid UTF-8 in a string");
          return TRUE;
        }
      if (c < 0x20)
        return parse_fail (p, DSM_JSON_ERROR_SYNTAX, p->at,
                           "raw control character 0x%02x in a string", c);
      if (p->at + 1 >= p->length)
        break;
      switch (p->data[p->at + 1])
        {
        case '"': g_string_append_c (p->scratch, '"'); break;
        case '\\': g_string_append_c (p->scratch, '\\'); break;
        case '/': g_string_append_c (p->scratch, '/'); break;
        case 'b': g_string_append_c (p->scratch, '\b'); break;
        case 'f': g_string_append_c (p->scratch, '\f'); break;
        case 'n': g_string_append_c (p->scratch, '\n'); break;
        case 'r': g_string_append_c (p->scratch, '\r'); break;
        case 't': g_string_append_c (p->scratch, '\t'); break;
        case 'u':
          if (!parse_string_escape_unicode (p))
            return FALSE;
          run = p->at;
          continue;
        default:
          return parse_fail (p, DSM_JSON_ERROR_SYNTAX, p->at, "invalid escape in a string");
        }
      p->at += 2;
      run = p->at;
    }
  return parse_fail (p, DSM_JSON_ERROR_SYNTAX, start, "unterminated string");
}

static gsize
parse_number_digits (const Parser *p, gsize i)
{
  while (i < p->length && p->data[i] >= '0' && p->data[i] <= '9')
    i++;
  return i;
}

/* A number with a fraction or an exponent.  g_ascii_strtod() needs a
 * NUL-terminated copy. */
static JsonNode *
parse_number_double (Parser *p, gsize start)
{
  g_autofree char *text = g_strndup (p->data + start, p->at - start);
  JsonNode *node = json_node_alloc ();

  return json_node_init_double (node, g_ascii_strtod (text, NULL));
}

/* A number by JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
/* An integer past 64 bits: no reader could take it, and as a double it
 * would read as a fraction, so it fails here, naming its path. */
static JsonNode *
parse_number_too_large (Parser *p, gsize start, const DsmJsonAt *at)
{
  g_autofree char *path = dsm_json_at_path (at);
  g_autofree char *position = parse_position (p, start);

  if (path[0] == '\0')
    dsm_json_set_error (p->errors, DSM_JSON_ERROR_RANGE, p->error,
                        "%s: integer out of range (more than 64 bits)", position);
  else
    dsm_json_set_error (p->errors, DSM_JSON_ERROR_RANGE, p->error,
                        "%s: integer out of range (more than 64 bits) (%s)", path, position);
  return NULL;
}

static JsonNode *
parse_number (Parser *p, const DsmJsonAt *at)
{
  gsize start = p->at;
  gsize i = start;
  gsize digits;
  gboolean negative = FALSE;
  gboolean integral = TRUE;
  guint64 magnitude = 0;

  if (p->data[i] == '-')
    {
      negative = TRUE;
      i++;
    }
  if (i >= p->length || p->data[i] < '0' || p->data[i] > '9')
    return parse_fail (p, DSM_JSON_ERROR_SYNTAX, start, "malformed number"), NULL;
  if (p->data[i] == '0' && i + 1 < p->length && p->data[i + 1] >= '0' && p->data[i + 1] <= '9')
    return parse_fail (p, DSM_JSON_ERROR_SYNTAX, start, "number with a leading zero"), NULL;
  digits = i;
  i = parse_number_digits (p, i);
  digits = i - digits;
  if (i < p->length && p->data[i] == '.')
    {
      if (i + 1 >= p->length || p->data[i + 1] < '0' || p->data[i + 1] > '9')
        return parse_fail (p, DSM_JSON_ERROR_SYNTAX, start, "malformed number"), NULL;
      i = parse_number_digits (p, i + 1);
      integral = FALSE;
    }
  if (i < p->length && (p->data[i] == 'e' || p->data[i] == 'E'))
    {
      i++;
      if (i < p->length && (p->data[i] == '+' || p->data[i] == '-'))
        i++;
      if (i >= p->length || p->data[i] < '0' || p->data[i] > '9')
        return parse_fail (p, DSM_JSON_ERROR_SYNTAX, start, "malformed number"), NULL;
      i = parse_number_digits (p, i);
      integral = FALSE;
    }
  p->at = i;
  if (!integral)
    return parse_number_double (p, start);
  /* 19 digits fit 64 bits unsigned, so the sum cannot wrap. */
  if (digits > 19)
    return parse_number_too_large (p, start, at);
  for (gsize d = start + (negative ? 1 : 0); d < i; d++)
    magnitude = magnitude * 10 + (guint64) (p->data[d] - '0');
  if (magnitude > (guint64) G_MAXINT64 + (negative ? 1 : 0))
    return parse_number_too_large (p, start, at);
  return json_node_init_int (json_node_alloc (),
                             negative ? (gint64) (0 - magnitude) : (gint64) magnitude);
}

static JsonNode *
parse_word (Parser *p)
{
  static const struct { const char *word; gsize length; } words[] = {
    { "true", 4 }, { "false", 5 }, { "null", 4 },
  };

  for (guint w = 0; w < G_N_ELEMENTS (words); w++)
    if (p->length - p->at >= words[w].length
        && memcmp (p->data + p->at, words[w].word, words[w].length) == 0
        && (p->at + words[w].length == p->length
            || !g_ascii_isalnum (p->data[p->at + words[w].length])))
      {
        p->at += words[w].length;
        if (w == 2)
          return json_node_init_null (json_node_alloc ());
        return json_node_init_boolean (json_node_alloc (), w == 0);
      }
  return parse_fail_unexpected (p, "a value"), NULL;
}

static JsonNode *parse_value (Parser *p, const DsmJsonAt *at);

static gboolean
parse_nest (Parser *p)
{
  if (++p->depth <= p->depth_max)
    return TRUE;
  return parse_fail (p, DSM_JSON_ERROR_TOO_DEEP, p->at, "nesting deeper than %u",
                     p->depth_max);
}

static JsonNode *
parse_array (Parser *p, const DsmJsonAt *at)
{
  g_autoptr(JsonArray) array = json_array_new ();
  guint index = 0;

  if (!parse_nest (p))
    return NULL;
  p->at++;
  parse_skip_space (p);
  if (p->at < p->length && p->data[p->at] == ']')
    p->at++;
  else
    for (;; index++)
      {
        DsmJsonAt element;
        JsonNode *node;

        dsm_json_at_element (&element, at, index);
        if (!(node = parse_value (p, &element)))
          return NULL;
        json_array_add_element (array, node);
        parse_skip_space (p);
        if (p->at < p->length && p->data[p->at] == ',')
          {
            p->at++;
            continue;
          }
        if (p->at < p->length && p->data[p->at] == ']')
          {
            p->at++;
            break;
          }
        return parse_fail_unexpected (p, "',' or ']'"), NULL;
      }
  p->depth--;
  return json_node_init_array (json_node_alloc (), array);
}

/* One "key": value pair into @object; a key seen before is an error. */
static gboolean
parse_object_member (Parser *p, JsonObject *object, const DsmJsonAt *at)
{
  g_autofree char *long_key = NULL;
  char short_key[64];
  const char *key;
  gsize key_at = p->at;
  guint size = json_object_get_size (object);
  DsmJsonAt member;
  JsonNode *node;

  if (p->at >= p->length || p->data[p->at] != '"')
    return parse_fail_unexpected (p, "a key string");
  if (!parse_string (p))
    return FALSE;
  g_assert (p->at >= key_at + 2 && p->at <= p->length);
  /* The value reuses the scratch buffer; keys are short, mostly. */
  if (p->scratch->len < sizeof short_key)
    key = memcpy (short_key, p->scratch->str, p->scratch->len + 1);
  else
    key = long_key = g_strndup (p->scratch->str, p->scratch->len);
  parse_skip_space (p);
  if (p->at >= p->length || p->data[p->at] != ':')
    return parse_fail_unexpected (p, "':'");
  p->at++;
  dsm_json_at_member (&member, at, key);
  member.node = NULL;
  if (!(node = parse_value (p, &member)))
    return FALSE;
  /* json-glib replaces a repeated key's value: the size tells. */
  json_object_set_member (object, key, node);
  if (json_object_get_size (object) == size)
    {
      g_autofree char *path = dsm_json_at_path (&member);
      g_autofree char *position = parse_position (p, key_at);

      dsm_json_set_error (p->errors, DSM_JSON_ERROR_DUPLICATE, p->error,
                          "%s: duplicate key (%s)", path, position);
      return FALSE;
    }
  return TRUE;
}

static JsonNode *
parse_object (Parser *p, const DsmJsonAt *at)
{
  g_autoptr(JsonObject) object = json_object_new ();
  gsize comma;

  if (!parse_nest (p))
    return NULL;
  p->at++;
  parse_skip_space (p);
  if (p->at < p->length && p->data[p->at] == '}')
    p->at++;
  else
    for (;;)
      {
        if (!parse_object_member (p, object, at))
          return NULL;
        parse_skip_space (p);
        if (p->at < p->length && p->data[p->at] == '}')
          {
            p->at++;
            break;
          }
        if (p->at >= p->length || p->data[p->at] != ',')
          return parse_fail_unexpected (p, "',' or '}'"), NULL;
        comma = p->at++;
        parse_skip_space (p);
        if (p->at < p->length && p->data[p->at] == '}')
          return parse_fail (p, DSM_JSON_ERROR_SYNTAX, comma, "trailing comma before '}'"),
                 NULL;
      }
  p->depth--;
  return json_node_init_object (json_node_alloc (), object);
}

static JsonNode *
parse_value (Parser *p, const DsmJsonAt *at)
{
  JsonNode *node;
  guint depth = p->depth;
  gsize start;

  parse_skip_space (p);
  if (p->at >= p->length)
    return parse_fail_unexpected (p, "a value"), NULL;
  start = p->at;
  switch (p->data[p->at])
    {
    case '{':
      node = parse_object (p, at);
      break;
    case '[':
      node = parse_array (p, at);
      break;
    case '"':
      node = parse_string (p) ? json_node_init_string (json_node_alloc (), p->scratch->str) : NULL;
      break;
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      node = parse_number (p, at);
      break;
    default:
      node = parse_word (p);
      break;
    }
  /* A value read took its bytes, no more than there are, and closed every
   * nest it opened; a failure leaves an error and no value. */
  g_assert (node == NULL || (p->at > start && p->at <= p->length && p->depth == depth));
  g_assert (node != NULL || p->error == NULL || *p->error != NULL);
  return node;
}

JsonNode *
dsm_json_parse (const char *data, gssize length, const DsmJsonLimits *limits,
                const DsmJsonErrors *errors, GError **error)
{
  static const DsmJsonLimits file_limits = { DSM_JSON_FILE_BYTES_MAX, DSM_JSON_FILE_DEPTH_MAX };
  g_autoptr(JsonNode) root = NULL;
  Parser p = { 0 };
  DsmJsonAt at;

  g_return_val_if_fail (data != NULL || length <= 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (limits == NULL)
    limits = &file_limits;
  if (length < 0)
    length = (gssize) strlen (data);
  if (length == 0)
    {
      dsm_json_set_error (errors, DSM_JSON_ERROR_SYNTAX, error, "input: empty");
      return NULL;
    }
  if ((gsize) length > limits->bytes_max)
    {
      dsm_json_set_error (errors, DSM_JSON_ERROR_TOO_LARGE, error,
                          "input: %" G_GSIZE_FORMAT " bytes, more than %" G_GSIZE_FORMAT,
                          (gsize) length, limits->bytes_max);
      return NULL;
    }
  p.data = data;
  p.length = (gsize) length;
  p.depth_max = limits->depth_max;
  p.errors = errors;
  p.scratch = g_string_sized_new (64);
  p.error = error;
  dsm_json_at_root (&at, errors, NULL, NULL);

  parse_skip_space (&p);
  if (p.at == p.length)
    parse_fail (&p, DSM_JSON_ERROR_SYNTAX, p.at, "no JSON value, only whitespace");
  else if ((root = parse_value (&p, &at)) != NULL)
    {
      g_assert (p.depth == 0);
      parse_skip_space (&p);
      if (p.at < p.length && p.data[p.at] == '\0')
        parse_fail (&p, DSM_JSON_ERROR_SYNTAX, p.at, "NUL byte");
      else if (p.at < p.length)
        parse_fail (&p, DSM_JSON_ERROR_SYNTAX, p.at, "trailing data after the JSON value");
      else
        g_assert (p.at == p.length);
      if (p.at < p.length)
        g_clear_pointer (&root, json_node_unref);
    }
  g_string_free (p.scratch, TRUE);
  return g_steal_pointer (&root);
}
