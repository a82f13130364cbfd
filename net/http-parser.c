/* net/http-parser.c: the strict incremental HTTP/1.1 request parser
 * (http-parser.h), one byte-driven state machine per connection (RFC 9112):
 *
 *   START -> METHOD -> TARGET -> VERSION -> FIELD_START <-> NAME -> VALUE
 *   FIELD_START --blank line--> HEAD reported, then BODY_LENGTH | CHUNK_* | COMPLETE
 *   CHUNK_SIZE -> CHUNK_EXT -> CHUNK_DATA -> ... -> size 0 -> trailer fields -> COMPLETE
 *   any state --bad byte or limit--> FAILED (for good) */
#include "http-parser-private.h"

#include <string.h>

G_DEFINE_QUARK (dsm-http-parse-error-quark, dsm_http_parse_error)

/* A method longer than this is no method we know. */
#define METHOD_BYTES_MAX 32
/* "HTTP/1.1" */
#define VERSION_BYTES 8

/* ---- errors ---- */

static const struct {
  guint status;
  const char *reason;
} error_table[DSM_HTTP_PARSE_ERROR_N_CODES] = {
  [DSM_HTTP_PARSE_ERROR_BAD_REQUEST] = { 400, "bad_request" },
  [DSM_HTTP_PARSE_ERROR_NOT_HTTP] = { 400, "not_http" },
  [DSM_HTTP_PARSE_ERROR_BAD_LENGTH] = { 400, "bad_length" },
  [DSM_HTTP_PARSE_ERROR_BODY_TOO_LARGE] = { 413, "body_too_large" },
  [DSM_HTTP_PARSE_ERROR_URI_TOO_LONG] = { 414, "uri_too_long" },
  [DSM_HTTP_PARSE_ERROR_EXPECTATION] = { 417, "expectation_failed" },
  [DSM_HTTP_PARSE_ERROR_HEADER_TOO_LARGE] = { 431, "header_too_large" },
  [DSM_HTTP_PARSE_ERROR_NOT_IMPLEMENTED] = { 501, "not_implemented" },
  [DSM_HTTP_PARSE_ERROR_VERSION] = { 505, "version_not_supported" },
};

guint
dsm_http_parse_error_status (DsmHttpParseError code)
{
  g_return_val_if_fail ((guint) code < DSM_HTTP_PARSE_ERROR_N_CODES, 400);
  return error_table[code].status;
}

const char *
dsm_http_parse_error_reason (DsmHttpParseError code)
{
  g_return_val_if_fail ((guint) code < DSM_HTTP_PARSE_ERROR_N_CODES, "bad_request");
  return error_table[code].reason;
}

DsmHttpFeedResult
http_parser_fail (DsmHttpParser *p, DsmHttpParseError code, const char *format, ...) G_GNUC_PRINTF (3, 4);

DsmHttpFeedResult
http_parser_fail (DsmHttpParser *p, DsmHttpParseError code, const char *format, ...)
{
  va_list args;

  g_assert (p->state != S_FAILED);
  va_start (args, format);
  p->error_message = g_strdup_vprintf (format, args);
  va_end (args);
  p->error_code = code;
  p->state = S_FAILED;
  return DSM_HTTP_FEED_ERROR;
}

/* ---- the message ---- */

static DsmHttpMessage *
message_new (void)
{
  DsmHttpMessage *msg = g_new0 (DsmHttpMessage, 1);

  msg->headers = g_array_new (FALSE, FALSE, sizeof (DsmHttpHeader));
  msg->content_length = -1;
  return msg;
}

void
dsm_http_message_free (DsmHttpMessage *msg)
{
  if (msg == NULL)
    return;
  for (guint i = 0; i < msg->headers->len; i++)
    {
      DsmHttpHeader *h = &g_array_index (msg->headers, DsmHttpHeader, i);
      g_free (h->name);
      g_free (h->value);
    }
  g_array_unref (msg->headers);
  if (msg->body != NULL)
    g_byte_array_unref (msg->body);
  g_free (msg->method);
  g_free (msg->target);
  g_free (msg);
}

const char *
dsm_http_message_get_header (const DsmHttpMessage *msg, const char *name)
{
  g_return_val_if_fail (msg != NULL, NULL);

  for (guint i = 0; i < msg->headers->len; i++)
    {
      const DsmHttpHeader *h = &g_array_index (msg->headers, DsmHttpHeader, i);
      if (strcmp (h->name, name) == 0)
        return h->value;
    }
  return NULL;
}

gboolean
dsm_http_message_has_body (const DsmHttpMessage *msg)
{
  return msg->chunked || msg->content_length > 0;
}

/* ---- character classes (RFC 9110, 5.6.2 and 5.5) ---- */

static gboolean
is_tchar (guchar c)
{
  return g_ascii_isalnum (c) || (c != 0 && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

/* ---- lifetime ---- */

DsmHttpParser *
dsm_http_parser_new (const DsmHttpParserLimits *limits)
{
  DsmHttpParser *p = g_new0 (DsmHttpParser, 1);

  g_return_val_if_fail (limits != NULL, NULL);
  g_return_val_if_fail (limits->request_line_bytes_max >= 16, NULL);
  g_return_val_if_fail (limits->header_bytes_max >= 16, NULL);

  p->limits = *limits;
  p->token = g_string_sized_new (64);
  p->state = S_START;
  return p;
}

static void
parser_reset (DsmHttpParser *p)
{
  g_clear_pointer (&p->msg, dsm_http_message_free);
  g_clear_pointer (&p->name, g_free);
  g_string_truncate (p->token, 0);
  p->line_bytes = 0;
  p->header_bytes = 0;
  p->hosts = 0;
  p->saw_length = FALSE;
  p->close = FALSE;
  p->keep = FALSE;
  p->in_trailer = FALSE;
  p->remaining = 0;
  p->chunk_digits = 0;
  p->state = S_START;
}

void
dsm_http_parser_free (DsmHttpParser *parser)
{
  if (parser == NULL)
    return;
  parser_reset (parser);
  g_string_free (parser->token, TRUE);
  g_free (parser->error_message);
  g_free (parser);
}

const DsmHttpMessage *
dsm_http_parser_peek (const DsmHttpParser *parser)
{
  return parser->msg;
}

DsmHttpMessage *
dsm_http_parser_take (DsmHttpParser *parser)
{
  g_return_val_if_fail (parser->state == S_COMPLETE, NULL);

  DsmHttpMessage *msg = g_steal_pointer (&parser->msg);
  g_assert (msg != NULL);
  g_assert (msg->body != NULL);
  parser_reset (parser);
  return msg;
}

DsmHttpPhase
dsm_http_parser_get_phase (const DsmHttpParser *parser)
{
  switch (parser->state)
    {
    case S_START:
      return DSM_HTTP_PHASE_IDLE;
    case S_BODY_LENGTH:
    case S_CHUNK_SIZE:
    case S_CHUNK_EXT:
    case S_CHUNK_SIZE_LF:
    case S_CHUNK_DATA:
    case S_CHUNK_DATA_CR:
    case S_CHUNK_DATA_LF:
      return DSM_HTTP_PHASE_BODY;
    case S_COMPLETE:
      return DSM_HTTP_PHASE_COMPLETE;
    case S_FAILED:
      return DSM_HTTP_PHASE_FAILED;
    case S_FIELD_START:
    case S_NAME:
    case S_VALUE:
    case S_VALUE_LF:
    case S_HEAD_LF:
      return parser->in_trailer ? DSM_HTTP_PHASE_BODY : DSM_HTTP_PHASE_HEAD;
    case S_START_LF:
    case S_METHOD:
    case S_TARGET:
    case S_VERSION:
    case S_VERSION_LF:
    default:
      return DSM_HTTP_PHASE_HEAD;
    }
}

/* ---- the request line ---- */

static DsmHttpFeedResult
version_end (DsmHttpParser *p)
{
  const char *v = p->token->str;

  if (p->token->len == VERSION_BYTES && memcmp (v, "HTTP/1.", 7) == 0 && (v[7] == '0' || v[7] == '1'))
    {
      p->msg->version_minor = (guint) (v[7] - '0');
      g_string_truncate (p->token, 0);
      return DSM_HTTP_FEED_MORE;
    }
  if (p->token->len == VERSION_BYTES && memcmp (v, "HTTP/", 5) == 0 && g_ascii_isdigit (v[5]) && v[6] == '.'
      && g_ascii_isdigit (v[7]))
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_VERSION, "%s is not supported; use HTTP/1.1", v);
  return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "malformed HTTP version");
}

/* Counts one byte of the request line against its limit. */
static gboolean
line_byte (DsmHttpParser *p)
{
  return ++p->line_bytes <= p->limits.request_line_bytes_max;
}

static DsmHttpFeedResult
uri_too_long (DsmHttpParser *p)
{
  return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_URI_TOO_LONG, "request line longer than %u bytes",
               p->limits.request_line_bytes_max);
}

/* Counts one byte of the header section against its limit. */
static gboolean
header_byte (DsmHttpParser *p)
{
  return ++p->header_bytes <= p->limits.header_bytes_max;
}

static DsmHttpFeedResult
header_too_large (DsmHttpParser *p)
{
  return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_HEADER_TOO_LARGE, "header section longer than %u bytes",
               p->limits.header_bytes_max);
}

/* The first byte of a request: anything but a token character means the
 * peer does not speak HTTP here (a TLS ClientHello starts with 0x16). */
static DsmHttpFeedResult
start_byte (DsmHttpParser *p, guchar c)
{
  if (c == '\r')
    {
      /* Empty lines before a request are ignored (RFC 9112, 2.2), within
       * the request line's budget. */
      p->state = S_START_LF;
      return line_byte (p) ? DSM_HTTP_FEED_MORE : uri_too_long (p);
    }
  if (!is_tchar (c))
    {
      if (c == 0x16)
        return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_NOT_HTTP, "a TLS handshake on a plain HTTP port; use http://");
      return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_NOT_HTTP, "byte 0x%02x cannot start an HTTP request", c);
    }
  p->msg = message_new ();
  g_string_append_c (p->token, (char) c);
  p->state = S_METHOD;
  return line_byte (p) ? DSM_HTTP_FEED_MORE : uri_too_long (p);
}

static DsmHttpFeedResult
method_byte (DsmHttpParser *p, guchar c)
{
  if (!line_byte (p))
    return uri_too_long (p);
  if (c == ' ')
    {
      p->msg->method = g_strndup (p->token->str, p->token->len);
      g_string_truncate (p->token, 0);
      p->state = S_TARGET;
      return DSM_HTTP_FEED_MORE;
    }
  if (!is_tchar (c))
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "byte 0x%02x in the method", c);
  if (p->token->len >= METHOD_BYTES_MAX)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "method longer than %d bytes", METHOD_BYTES_MAX);
  g_string_append_c (p->token, (char) c);
  return DSM_HTTP_FEED_MORE;
}

/* The request-target: visible ASCII only (RFC 3986 characters; anything
 * else must be percent-encoded).  Takes a run of bytes at once. */
static DsmHttpFeedResult
target_bytes (DsmHttpParser *p, const guint8 *data, gsize length, gsize *i)
{
  gsize start = *i, j = *i;

  while (j < length && data[j] > 0x20 && data[j] < 0x7f)
    j++;
  if (p->line_bytes + (j - start) > p->limits.request_line_bytes_max)
    {
      /* Taken up to the first byte over the limit, wherever the input was split. */
      *i = start + (p->limits.request_line_bytes_max - p->line_bytes) + 1;
      return uri_too_long (p);
    }
  p->line_bytes += j - start;
  g_string_append_len (p->token, (const char *) data + start, (gssize) (j - start));
  if (j == length)
    {
      *i = j;
      return DSM_HTTP_FEED_MORE;
    }
  *i = j + 1;
  if (data[j] != ' ')
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "byte 0x%02x in the request target", data[j]);
  if (!line_byte (p))
    return uri_too_long (p);
  if (p->token->len == 0)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "empty request target");
  /* Origin form ("/path?query") only, or "*" (OPTIONS). */
  if (p->token->str[0] != '/' && strcmp (p->token->str, "*") != 0)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "the request target must start with '/'");
  p->msg->target = g_strndup (p->token->str, p->token->len);
  g_string_truncate (p->token, 0);
  p->state = S_VERSION;
  return DSM_HTTP_FEED_MORE;
}

static DsmHttpFeedResult
version_byte (DsmHttpParser *p, guchar c)
{
  if (c == '\r')
    {
      p->state = S_VERSION_LF;
      return version_end (p);
    }
  if (!line_byte (p))
    return uri_too_long (p);
  if (c <= 0x20 || c >= 0x7f || p->token->len >= VERSION_BYTES)
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "malformed HTTP version");
  g_string_append_c (p->token, (char) c);
  return DSM_HTTP_FEED_MORE;
}

/* ---- header lines (the head's, and the trailer's) ---- */

static DsmHttpFeedResult
field_start_byte (DsmHttpParser *p, guchar c)
{
  if (!header_byte (p))
    return header_too_large (p);
  if (c == '\r')
    {
      p->state = S_HEAD_LF;
      return DSM_HTTP_FEED_MORE;
    }
  if (c == ' ' || c == '\t')
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "folded header line (obsolete line folding)");
  if (!is_tchar (c))
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "byte 0x%02x in a header name", c);
  g_string_append_c (p->token, g_ascii_tolower ((char) c));
  p->state = S_NAME;
  return DSM_HTTP_FEED_MORE;
}

static DsmHttpFeedResult
name_byte (DsmHttpParser *p, guchar c)
{
  if (!header_byte (p))
    return header_too_large (p);
  if (c == ':')
    {
      p->name = g_strndup (p->token->str, p->token->len);
      g_string_truncate (p->token, 0);
      p->state = S_VALUE;
      return DSM_HTTP_FEED_MORE;
    }
  /* No whitespace between a name and its colon (RFC 9112, 5.1). */
  if (!is_tchar (c))
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "byte 0x%02x in a header name", c);
  g_string_append_c (p->token, g_ascii_tolower ((char) c));
  return DSM_HTTP_FEED_MORE;
}

/* A run of a field value's bytes, up to its CR. */
static DsmHttpFeedResult
value_bytes (DsmHttpParser *p, const guint8 *data, gsize length, gsize *i)
{
  gsize start = *i, j = *i;

  while (j < length && data[j] != '\r' && is_field_char (data[j]))
    j++;
  if (p->header_bytes + (j - start) > p->limits.header_bytes_max)
    {
      *i = start + (p->limits.header_bytes_max - p->header_bytes) + 1;
      return header_too_large (p);
    }
  p->header_bytes += j - start;
  for (gsize k = start; k < j; k++)
    {
      /* Leading whitespace is not part of the value. */
      if (p->token->len == 0 && (data[k] == ' ' || data[k] == '\t'))
        continue;
      g_string_append_len (p->token, (const char *) data + k, (gssize) (j - k));
      break;
    }
  if (j == length)
    {
      *i = j;
      return DSM_HTTP_FEED_MORE;
    }
  *i = j + 1;
  if (!header_byte (p))
    return header_too_large (p);
  if (data[j] != '\r')
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "byte 0x%02x in a header value", data[j]);
  p->state = S_VALUE_LF;
  return DSM_HTTP_FEED_MORE;
}

/* A CR must be followed by LF: bare CRs and bare LFs are refused
 * (request smuggling hides in the difference between parsers). */
static DsmHttpFeedResult
expect_lf (DsmHttpParser *p, guchar c)
{
  if (c != '\n')
    return http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "CR not followed by LF");
  return DSM_HTTP_FEED_MORE;
}

/* ---- the driver ---- */

DsmHttpFeedResult
dsm_http_parser_feed (DsmHttpParser *parser, const guint8 *data, gsize length, gsize *consumed,
                      GError **error)
{
  DsmHttpParser *p = parser;
  DsmHttpFeedResult r = DSM_HTTP_FEED_MORE;
  gsize i = 0;

  g_return_val_if_fail (parser != NULL, DSM_HTTP_FEED_ERROR);
  g_return_val_if_fail (data != NULL || length == 0, DSM_HTTP_FEED_ERROR);
  g_return_val_if_fail (consumed != NULL, DSM_HTTP_FEED_ERROR);

  *consumed = 0;
  if (p->state == S_COMPLETE)
    return DSM_HTTP_FEED_DONE;
  while (p->state != S_FAILED && i < length)
    {
      guchar c = data[i];

      switch (p->state)
        {
        case S_TARGET:
          r = target_bytes (p, data, length, &i);
          continue;
        case S_VALUE:
          r = value_bytes (p, data, length, &i);
          continue;
        case S_BODY_LENGTH:
        case S_CHUNK_DATA:
          r = http_parser_body_bytes (p, data, length, &i);
          if (r == DSM_HTTP_FEED_DONE)
            {
              *consumed = i;
              return r;
            }
          continue;
        default:
          break;
        }
      i++;
      switch (p->state)
        {
        case S_START:
          r = start_byte (p, c);
          break;
        case S_START_LF:
          r = expect_lf (p, c);
          p->state = r == DSM_HTTP_FEED_ERROR ? S_FAILED : S_START;
          break;
        case S_METHOD:
          r = method_byte (p, c);
          break;
        case S_VERSION:
          r = version_byte (p, c);
          break;
        case S_VERSION_LF:
          r = expect_lf (p, c);
          if (r != DSM_HTTP_FEED_ERROR)
            p->state = S_FIELD_START;
          break;
        case S_FIELD_START:
          r = field_start_byte (p, c);
          break;
        case S_NAME:
          r = name_byte (p, c);
          break;
        case S_VALUE_LF:
          if ((r = expect_lf (p, c)) != DSM_HTTP_FEED_ERROR && (r = http_parser_field_end (p)) != DSM_HTTP_FEED_ERROR)
            p->state = S_FIELD_START;
          break;
        case S_HEAD_LF:
          if ((r = expect_lf (p, c)) != DSM_HTTP_FEED_ERROR)
            r = http_parser_head_end (p);
          if (r == DSM_HTTP_FEED_HEAD || r == DSM_HTTP_FEED_DONE)
            {
              *consumed = i;
              return r;
            }
          break;
        case S_CHUNK_SIZE:
          r = http_parser_chunk_size_byte (p, c);
          break;
        case S_CHUNK_EXT:
          r = http_parser_chunk_ext_byte (p, c);
          break;
        case S_CHUNK_SIZE_LF:
          if ((r = expect_lf (p, c)) != DSM_HTTP_FEED_ERROR)
            http_parser_chunk_size_end (p);
          break;
        case S_CHUNK_DATA_CR:
          if (c != '\r')
            r = http_parser_fail (p, DSM_HTTP_PARSE_ERROR_BAD_REQUEST, "chunk data longer than its size");
          else
            p->state = S_CHUNK_DATA_LF;
          break;
        case S_CHUNK_DATA_LF:
          if ((r = expect_lf (p, c)) != DSM_HTTP_FEED_ERROR)
            p->state = S_CHUNK_SIZE;
          break;
        case S_TARGET:
        case S_VALUE:
        case S_BODY_LENGTH:
        case S_CHUNK_DATA:
        case S_COMPLETE:
        case S_FAILED:
        default:
          g_assert_not_reached ();
        }
    }
  *consumed = i;
  if (p->state == S_FAILED)
    {
      g_set_error_literal (error, DSM_HTTP_PARSE_ERROR, (gint) p->error_code, p->error_message);
      return DSM_HTTP_FEED_ERROR;
    }
  g_assert (r == DSM_HTTP_FEED_MORE);
  g_assert (i == length);
  return DSM_HTTP_FEED_MORE;
}
