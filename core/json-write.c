/* core/json-write.c: the JSON writer's out-of-line parts (core/json-write.h):
 * numbers, escaped strings and base64. */
#include "json-write.h"

void
dsm_json_write_uint (GString *out, guint64 value)
{
  char digits[24];
  gsize at = sizeof digits;

  do
    {
      digits[--at] = (char) ('0' + value % 10);
      value /= 10;
    }
  while (value != 0);
  dsm_json_append_len (out, digits + at, sizeof digits - at);
}

void
dsm_json_write_bool (GString *out, gboolean value)
{
  if (value)
    DSM_JSON_APPEND_LITERAL (out, "true");
  else
    DSM_JSON_APPEND_LITERAL (out, "false");
}

/* Writes @text quoted and escaped; returns whether it had any byte past
 * ASCII (whose UTF-8 the caller then checks). */
static gboolean
write_string_escaped (GString *out, const char *text)
{
  static const char hex[] = "0123456789abcdef";
  const char *run = text;
  const char *p;
  guchar high = 0;

  dsm_json_append_c (out, '"');
  for (p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      high |= c & 0x80;
      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      dsm_json_append_len (out, run, (gsize) (p - run));
      run = p + 1;
      switch (c)
        {
        case '"': DSM_JSON_APPEND_LITERAL (out, "\\\""); break;
        case '\\': DSM_JSON_APPEND_LITERAL (out, "\\\\"); break;
        case '\n': DSM_JSON_APPEND_LITERAL (out, "\\n"); break;
        case '\r': DSM_JSON_APPEND_LITERAL (out, "\\r"); break;
        case '\t': DSM_JSON_APPEND_LITERAL (out, "\\t"); break;
        case '\b': DSM_JSON_APPEND_LITERAL (out, "\\b"); break;
        case '\f': DSM_JSON_APPEND_LITERAL (out, "\\f"); break;
        default:
          {
            char escape[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

            dsm_json_append_len (out, escape, sizeof escape);
          }
          break;
        }
    }
  dsm_json_append_len (out, run, (gsize) (p - run));
  dsm_json_append_c (out, '"');
  return high != 0;
}

void
dsm_json_write_string (GString *out, const char *text)
{
  gsize start;

  g_return_if_fail (out != NULL);
  g_return_if_fail (text != NULL);

  /* JSON text is UTF-8: a broken sequence becomes U+FFFD rather than
   * output no reader accepts.  ASCII, the common case, is one pass. */
  start = out->len;
  if (G_LIKELY (!write_string_escaped (out, text)) || g_utf8_validate (text, -1, NULL))
    return;
  {
    g_autofree char *valid = g_utf8_make_valid (text, -1);

    g_string_truncate (out, start);
    write_string_escaped (out, valid);
  }
}

void
dsm_json_write_base64 (GString *out, GBytes *bytes)
{
  gsize size = 0;
  const guchar *data = g_bytes_get_data (bytes, &size);
  gsize start = out->len;
  gsize written;
  gint state = 0;
  gint save = 0;

  /* Encode straight into the string's buffer (g_base64_encode_step()
   * needs at most (size / 3 + 1) * 4 + 4 bytes without line breaks). */
  g_string_set_size (out, start + 1 + (size / 3 + 1) * 4 + 4 + 1);
  out->str[start] = '"';
  written = g_base64_encode_step (data, size, FALSE, out->str + start + 1, &state, &save);
  written += g_base64_encode_close (FALSE, out->str + start + 1 + written, &state, &save);
  out->str[start + 1 + written] = '"';
  g_string_truncate (out, start + 1 + written + 1);
}
