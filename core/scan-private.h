/* core/scan-private.h: a scanner of JSON text in the shapes dsm writes it,
 * for the readers that skip the JSON tree (core/codec-fast.c for
 * messages, core/snapshot-scan.c for snapshots).
 *
 * Every helper either reads what the full parser (core/json-parse.c)
 * would read as the same value, or returns FALSE ("decline") so the
 * caller hands the whole input to the full reader, which decides with
 * its own errors.  Nothing here reports an error. */
#pragma once

#include <glib.h>
#include <string.h>

typedef struct {
  const char *at;
  const char *end;
} Scan;

/* A string's raw text between its quotes. */
typedef struct {
  const char *text;
  gsize length;
  gboolean escaped;   /* holds a backslash escape other than \u */
  gboolean high;      /* holds bytes past ASCII: UTF-8 to check */
} Span;

static inline void
scan_space (Scan *s)
{
  while (s->at < s->end && (*s->at == ' ' || *s->at == '\n' || *s->at == '\r' || *s->at == '\t'))
    s->at++;
}

static inline gboolean
scan_char (Scan *s, char c)
{
  scan_space (s);
  if (s->at >= s->end || *s->at != c)
    return FALSE;
  s->at++;
  return TRUE;
}

/* A string; FALSE (decline) for \u escapes, raw control characters (a
 * syntax error) and an unterminated string. */
static inline gboolean
scan_string (Scan *s, Span *out)
{
  const char *p;

  if (!scan_char (s, '"'))
    return FALSE;
  p = out->text = s->at;
  out->escaped = FALSE;
  out->high = FALSE;
  while (p < s->end)
    {
      guchar c = (guchar) *p;

      if (c == '"')
        {
          out->length = (gsize) (p - out->text);
          s->at = p + 1;
          return TRUE;
        }
      if (c < 0x20)
        return FALSE;
      if (c == '\\')
        {
          if (p + 1 >= s->end || p[1] == '\0' || strchr ("\"\\/bfnrt", p[1]) == NULL)
            return FALSE;
          out->escaped = TRUE;
          p += 2;
          continue;
        }
      out->high |= c >= 0x80;
      p++;
    }
  return FALSE;
}

static inline gboolean
span_is (const Span *span, const char *word)
{
  gsize n = strlen (word);

  return span->length == n && !span->escaped && memcmp (span->text, word, n) == 0;
}

/* Writes @span's value, its escapes decoded, to @out (room for
 * span->length bytes); returns its length. */
static inline gsize
span_unescape (const Span *span, char *out)
{
  gsize n = 0;

  for (gsize i = 0; i < span->length; i++)
    {
      char c = span->text[i];

      if (c == '\\')
        {
          g_assert (i + 1 < span->length);   /* scan_string() saw the pair */
          switch ((c = span->text[++i]))
            {
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            default: break;   /* '"', '\\' and '/' stand for themselves */
            }
        }
      out[n++] = c;
    }
  g_assert (n <= span->length);
  return n;
}

/* Whether @n decoded bytes of @span at @text are what the full decoder's
 * string readers accept: valid UTF-8 and at most @bytes_max (0: no bound). */
static inline gboolean
span_fits (const Span *span, const char *text, gsize n, gsize bytes_max)
{
  return !(bytes_max > 0 && n > bytes_max) && !(span->high && !g_utf8_validate_len (text, n, NULL));
}

/* @span's value as a new string, or NULL (decline) when it is not valid
 * UTF-8 or longer than @bytes_max (0: no bound), as the full decoder's
 * string readers judge it. */
static inline char *
span_dup (const Span *span, gsize bytes_max)
{
  char *out;
  gsize n;

  if (!span->escaped)
    {
      out = g_strndup (span->text, span->length);
      n = span->length;
    }
  else
    {
      out = g_malloc (span->length + 1);
      n = span_unescape (span, out);
      out[n] = '\0';
    }
  if (!span_fits (span, out, n, bytes_max))
    {
      g_free (out);
      return NULL;
    }
  return out;
}

/* @span's value into @out (its contents replaced), with span_dup()'s
 * judgement; FALSE: decline.  Reusing one buffer, a reader of many
 * strings allocates none of its own. */
static inline gboolean
span_into (const Span *span, GString *out, gsize bytes_max)
{
  gsize n;

  g_string_set_size (out, span->length);
  if (!span->escaped)
    {
      memcpy (out->str, span->text, span->length);
      n = span->length;
    }
  else
    n = span_unescape (span, out->str);
  g_string_truncate (out, n);
  return span_fits (span, out->str, n, bytes_max);
}

/* A plain non-negative integer of at most 16 digits and at most @max;
 * FALSE (decline) for anything else: signs, fractions, exponents, leading
 * zeros (a syntax error), larger values (the full decoder names them). */
static inline gboolean
scan_uint (Scan *s, guint64 max, guint64 *out)
{
  const char *p;
  guint64 value = 0;
  guint digits = 0;

  scan_space (s);
  for (p = s->at; p < s->end && *p >= '0' && *p <= '9'; p++)
    {
      if (++digits > 16)
        return FALSE;
      value = value * 10 + (guint64) (*p - '0');
    }
  if (digits == 0 || (digits > 1 && *s->at == '0') || value > max)
    return FALSE;
  if (p < s->end && (*p == '.' || *p == 'e' || *p == 'E'))
    return FALSE;
  s->at = p;
  *out = value;
  return TRUE;
}

/* TRUE, past it, when the next value is null. */
static inline gboolean
scan_null (Scan *s)
{
  scan_space (s);
  if (s->end - s->at < 4 || memcmp (s->at, "null", 4) != 0)
    return FALSE;
  s->at += 4;
  return TRUE;
}
