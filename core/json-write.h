/* core/json-write.h: the JSON writer: values appended by hand to a
 * GString, with no allocation besides the string growing.  The wire codec,
 * records and histories write with it; core/json.h reads.
 *
 * Appending is inline: GLib 2.74's g_string_append_len() is an out-of-line
 * call with checks, and these run once per field on the hot path. */
#pragma once

#include <string.h>

#include <glib.h>

G_BEGIN_DECLS

/* Appends @length bytes of @data: the common case (room left) inline,
 * otherwise GString grows the buffer, geometrically. */
static inline void
dsm_json_append_len (GString *out, const char *data, gsize length)
{
  gsize at = out->len;

  if (G_UNLIKELY (at + length >= out->allocated_len))
    {
      g_string_set_size (out, at + length);
      out->len = at;
    }
  memcpy (out->str + at, data, length);
  out->len = at + length;
  out->str[out->len] = '\0';
}

static inline void
dsm_json_append_c (GString *out, char c)
{
  dsm_json_append_len (out, &c, 1);
}

/* @text is appended as it is: for our own names, which need no escaping. */
static inline void
dsm_json_append_str (GString *out, const char *text)
{
  dsm_json_append_len (out, text, strlen (text));
}

/* A string literal, its length known at compile time. */
#define DSM_JSON_APPEND_LITERAL(out, literal) \
  dsm_json_append_len ((out), "" literal, sizeof (literal) - 1)

/* Appends @value in decimal (no allocation, no printf). */
void dsm_json_write_uint (GString *out, guint64 value);

/* Appends true or false. */
void dsm_json_write_bool (GString *out, gboolean value);

/* Appends @text as a JSON string literal, quoted and escaped; invalid
 * UTF-8 becomes U+FFFD rather than output no reader accepts. */
void dsm_json_write_string (GString *out, const char *text);

/* Appends @bytes as a standard base64 string with padding, the one
 * spelling dsm_json_get_base64() reads back. */
void dsm_json_write_base64 (GString *out, GBytes *bytes);

G_END_DECLS
