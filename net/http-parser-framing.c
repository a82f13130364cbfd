/* net/http-parser-framing.c: what a request head means (Content-Length,
 * Transfer-Encoding, Connection, Expect, Host) and reading the body it
 * announces, by length or by chunks, within the body limit (RFC 9112, 6). */
#include "http-parser-private.h"

#include <string.h>

/* ---- header fields ---- */

/* Content-Length: one decimal number, once (RFC 9112, 6.3): a sign, a
 * list, a second header or a value past the limit is refused here, before
 * any body byte. */
static DsmHttpFeedResult
field_content_length (DsmHttpParser *p, const char *value)
{
  guint64 length = 0;
  gboolean huge = FALSE;

  if (p->saw_length)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_LENGTH, "Content-Length given twice");
  p->saw_length = TRUE;
  if (p->msg->chunked)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "both Content-Length and Transfer-Encoding");
  if (value[0] == '\0')
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_LENGTH, "Content-Length is empty");
  for (const char *c = value; *c != '\0'; c++)
    {
      if (!g_ascii_isdigit (*c))
        return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_LENGTH, "Content-Length \"%.32s\" is not a decimal number",
                     value);
      if (!huge)
        {
          length = length * 10 + (guint64) (*c - '0');
          huge = length > p->limits.body_bytes_max;
        }
    }
  if (huge)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BODY_TOO_LARGE, "Content-Length %.32s%s exceeds the limit of %u bytes",
                 value, strlen (value) > 32 ? "..." : "", p->limits.body_bytes_max);
  p->msg->content_length = (gint64) length;
  return DSM_HTTP_FEED_MORE;
}

static DsmHttpFeedResult
field_transfer_encoding (DsmHttpParser *p, const char *value)
{
  if (p->msg->chunked)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "Transfer-Encoding given twice");
  if (p->saw_length)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "both Content-Length and Transfer-Encoding");
  /* HTTP/1.0 has no transfer codings: the framing would be ambiguous. */
  if (p->msg->version_minor == 0)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "Transfer-Encoding in an HTTP/1.0 request");
  if (g_ascii_strcasecmp (value, "chunked") != 0)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_NOT_IMPLEMENTED, "Transfer-Encoding \"%.32s\": only chunked is supported",
                 value);
  p->msg->chunked = TRUE;
  return DSM_HTTP_FEED_MORE;
}

static void
field_connection (DsmHttpParser *p, const char *value)
{
  g_auto(GStrv) options = g_strsplit (value, ",", -1);

  for (char **o = options; *o != NULL; o++)
    {
      g_strstrip (*o);
      if (g_ascii_strcasecmp (*o, "close") == 0)
        p->close = TRUE;
      else if (g_ascii_strcasecmp (*o, "keep-alive") == 0)
        p->keep = TRUE;
    }
}

/* One complete header line (@p->name, the value in @p->token). */
DsmHttpFeedResult
http_parser_field_end (DsmHttpParser *p)
{
  g_autofree char *name = g_steal_pointer (&p->name);
  DsmHttpFeedResult result = DSM_HTTP_FEED_MORE;
  gsize end = p->token->len;

  /* Trailing whitespace is not part of the value (RFC 9110, 5.5). */
  while (end > 0 && (p->token->str[end - 1] == ' ' || p->token->str[end - 1] == '\t'))
    end--;
  g_string_truncate (p->token, end);
  g_assert (name != NULL);

  if (p->in_trailer)
    {
      /* Trailers are checked for syntax and size, and dropped: none may
       * change the framing or the request after the fact. */
      g_string_truncate (p->token, 0);
      return DSM_HTTP_FEED_MORE;
    }
  if (p->msg->headers->len >= p->limits.header_count_max)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_HEADER_TOO_LARGE, "more than %u header fields",
                 p->limits.header_count_max);
  if (strcmp (name, "content-length") == 0)
    result = field_content_length (p, p->token->str);
  else if (strcmp (name, "transfer-encoding") == 0)
    result = field_transfer_encoding (p, p->token->str);
  else if (strcmp (name, "host") == 0 && ++p->hosts > 1)
    result = http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "Host given twice");
  else if (strcmp (name, "connection") == 0)
    field_connection (p, p->token->str);
  else if (strcmp (name, "expect") == 0)
    {
      if (g_ascii_strcasecmp (p->token->str, "100-continue") != 0)
        result = http_parser_fail (p, DSM_HTTP_PARSE_ERROR_EXPECTATION, "Expect \"%.32s\": only 100-continue is supported",
                       p->token->str);
      else
        p->msg->expect_continue = TRUE;
    }
  if (result == DSM_HTTP_FEED_ERROR)
    return result;
  DsmHttpHeader header = { g_steal_pointer (&name), g_strndup (p->token->str, p->token->len) };
  g_array_append_val (p->msg->headers, header);
  g_string_truncate (p->token, 0);
  return DSM_HTTP_FEED_MORE;
}

/* The blank line after the fields: the framing is known now. */
DsmHttpFeedResult
http_parser_head_end (DsmHttpParser *p)
{
  DsmHttpMessage *msg = p->msg;

  if (p->in_trailer)
    {
      p->state = S_COMPLETE;
      return DSM_HTTP_FEED_DONE;
    }
  if (msg->version_minor == 1 && p->hosts == 0)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "an HTTP/1.1 request needs a Host header");
  msg->keep_alive = msg->version_minor == 1 ? !p->close : (p->keep && !p->close);
  msg->body = g_byte_array_sized_new (msg->content_length > 0 ? (guint) msg->content_length : 0);
  if (msg->chunked)
    p->state = S_CHUNK_SIZE;
  else if (msg->content_length > 0)
    {
      p->remaining = (guint64) msg->content_length;
      p->state = S_BODY_LENGTH;
    }
  else
    p->state = S_COMPLETE;
  p->line_bytes = 0;
  return DSM_HTTP_FEED_HEAD;
}

/* ---- bodies ---- */

DsmHttpFeedResult
http_parser_body_bytes (DsmHttpParser *p, const guint8 *data, gsize length, gsize *i)
{
  gsize n = (gsize) MIN ((guint64) (length - *i), p->remaining);

  g_assert (p->msg->body->len + n <= p->limits.body_bytes_max);
  g_byte_array_append (p->msg->body, data + *i, (guint) n);
  *i += n;
  p->remaining -= n;
  if (p->remaining > 0)
    return DSM_HTTP_FEED_MORE;
  if (p->state == S_CHUNK_DATA)
    {
      p->state = S_CHUNK_DATA_CR;
      return DSM_HTTP_FEED_MORE;
    }
  p->state = S_COMPLETE;
  return DSM_HTTP_FEED_DONE;
}

static gboolean
chunk_line_byte (DsmHttpParser *p)
{
  return ++p->line_bytes <= CHUNK_LINE_BYTES_MAX;
}

DsmHttpFeedResult
http_parser_chunk_size_byte (DsmHttpParser *p, guchar c)
{
  if (!chunk_line_byte (p))
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "chunk-size line longer than %d bytes",
                 CHUNK_LINE_BYTES_MAX);
  if (g_ascii_isxdigit (c))
    {
      p->chunk_digits++;
      p->remaining = p->remaining * 16 + (guint64) g_ascii_xdigit_value ((char) c);
      /* Checked digit by digit, so the size cannot overflow first. */
      if (p->msg->body->len + p->remaining > p->limits.body_bytes_max)
        return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BODY_TOO_LARGE, "chunked body exceeds the limit of %u bytes",
                     p->limits.body_bytes_max);
      return DSM_HTTP_FEED_MORE;
    }
  if (p->chunk_digits == 0)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "byte 0x%02x where a chunk size was expected", c);
  if (c == '\r')
    {
      p->state = S_CHUNK_SIZE_LF;
      return DSM_HTTP_FEED_MORE;
    }
  if (c == ';' || c == ' ' || c == '\t')
    {
      p->state = S_CHUNK_EXT;
      return DSM_HTTP_FEED_MORE;
    }
  return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "byte 0x%02x in a chunk size", c);
}

/* Chunk extensions are read over and ignored (we define none). */
DsmHttpFeedResult
http_parser_chunk_ext_byte (DsmHttpParser *p, guchar c)
{
  if (!chunk_line_byte (p))
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "chunk-size line longer than %d bytes",
                 CHUNK_LINE_BYTES_MAX);
  if (c == '\r')
    {
      p->state = S_CHUNK_SIZE_LF;
      return DSM_HTTP_FEED_MORE;
    }
  if (!is_field_char (c))
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "byte 0x%02x in a chunk extension", c);
  return DSM_HTTP_FEED_MORE;
}

void
http_parser_chunk_size_end (DsmHttpParser *p)
{
  p->line_bytes = 0;
  p->chunk_digits = 0;
  if (p->remaining == 0)
    {
      /* The last chunk: the trailer section follows, ended by a blank line. */
      p->in_trailer = TRUE;
      p->state = S_FIELD_START;
    }
  else
    p->state = S_CHUNK_DATA;
}
