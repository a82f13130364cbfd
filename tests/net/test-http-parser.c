/* tests/net/test-http-parser.c: the strict HTTP/1.1 request parser fed
 * whole, byte by byte and split at every point: the same requests or the
 * same refusal, each limit enforced before the bytes it refuses are taken. */
#include <string.h>

#include "http-parser.h"

static const DsmHttpParserLimits limits = {
  .request_line_bytes_max = 256,
  .header_bytes_max = 512,
  .header_count_max = 8,
  .body_bytes_max = 64,
};

/* What a stream parses to: one line per request, or the error. */
typedef struct {
  GString *log;
  gint error_code;              /* -1: none */
  gsize taken;                  /* bytes consumed in all */
  guint heads;
} Outcome;

static void
outcome_clear (Outcome *o)
{
  g_string_free (o->log, TRUE);
}

static void
log_message (GString *log, const DsmHttpMessage *msg)
{
  g_string_append_printf (log, "%s %s 1.%u ka=%d cont=%d len=%" G_GINT64_FORMAT " chunked=%d [", msg->method,
                          msg->target, msg->version_minor, msg->keep_alive, msg->expect_continue,
                          msg->content_length, msg->chunked);
  for (guint i = 0; i < msg->headers->len; i++)
    {
      const DsmHttpHeader *h = &g_array_index (msg->headers, DsmHttpHeader, i);
      g_string_append_printf (log, "%s=%s;", h->name, h->value);
    }
  g_string_append (log, "] body=");
  g_string_append_len (log, (const char *) msg->body->data, msg->body->len);
  g_string_append_c (log, '\n');
}

/* Feeds @stream in pieces of the sizes in @cuts (then the rest), taking
 * every complete request. */
static Outcome
parse_pieces (const char *stream, gsize length, const gsize *cuts, guint n_cuts)
{
  g_autoptr(DsmHttpParser) p = dsm_http_parser_new (&limits);
  Outcome o = { g_string_new (NULL), -1, 0, 0 };
  gsize at = 0;

  for (guint piece = 0; piece <= n_cuts && o.error_code < 0; piece++)
    {
      gsize end = piece < n_cuts ? MIN (at + cuts[piece], length) : length;
      const guint8 *data = (const guint8 *) stream + at;
      gsize left = end - at;

      for (;;)
        {
          g_autoptr(GError) error = NULL;
          gsize n = 0;
          DsmHttpFeedResult r = dsm_http_parser_feed (p, data, left, &n, &error);

          g_assert_cmpuint (n, <=, left);
          data += n;
          left -= n;
          o.taken += n;
          if (r == DSM_HTTP_FEED_MORE)
            {
              g_assert_cmpuint (left, ==, 0);
              g_assert_no_error (error);
              break;
            }
          if (r == DSM_HTTP_FEED_ERROR)
            {
              g_assert_error (error, DSM_HTTP_PARSE_ERROR, error->code);
              o.error_code = error->code;
              break;
            }
          if (r == DSM_HTTP_FEED_HEAD)
            {
              g_assert_nonnull (dsm_http_parser_peek (p));
              o.heads++;
              continue;
            }
          g_assert_cmpint (r, ==, DSM_HTTP_FEED_DONE);
          g_autoptr(DsmHttpMessage) msg = dsm_http_parser_take (p);
          log_message (o.log, msg);
        }
      at = end;
    }
  return o;
}

static Outcome
parse_whole (const char *stream)
{
  return parse_pieces (stream, strlen (stream), NULL, 0);
}

/* The one-shot outcome must equal the byte-by-byte one and the outcome of
 * every split into two pieces and into three pieces. */
static void
assert_split_invariant (const char *stream)
{
  gsize length = strlen (stream);
  Outcome whole = parse_whole (stream);
  g_autofree gsize *ones = g_new (gsize, length);

  for (gsize i = 0; i < length; i++)
    ones[i] = 1;
  Outcome bytes = parse_pieces (stream, length, ones, (guint) length);
  g_assert_cmpstr (bytes.log->str, ==, whole.log->str);
  g_assert_cmpint (bytes.error_code, ==, whole.error_code);
  g_assert_cmpuint (bytes.taken, ==, whole.taken);
  g_assert_cmpuint (bytes.heads, ==, whole.heads);
  outcome_clear (&bytes);
  for (gsize a = 0; a <= length; a++)
    for (gsize b = 0; b <= length - a; b += (length > 200 ? 7 : 1))
      {
        gsize cuts[2] = { a, b };
        Outcome split = parse_pieces (stream, length, cuts, 2);
        if (g_strcmp0 (split.log->str, whole.log->str) != 0 || split.error_code != whole.error_code)
          g_error ("split at %" G_GSIZE_FORMAT "+%" G_GSIZE_FORMAT " of %s: got %s (error %d), expected %s (error %d)",
                   a, b, stream, split.log->str, split.error_code, whole.log->str, whole.error_code);
        g_assert_cmpuint (split.taken, ==, whole.taken);
        outcome_clear (&split);
      }
  outcome_clear (&whole);
}

static void
test_simple_get (void)
{
  Outcome o = parse_whole ("GET /v1/machines/job-1?stale=1 HTTP/1.1\r\nHost: x\r\nUser-Agent:  curl/7 \r\n\r\n");

  g_test_summary ("A GET parses to its method, raw target, version, headers (names lower-cased, values "
                  "trimmed), keep-alive by default in HTTP/1.1, and an empty body.");
  g_assert_cmpint (o.error_code, ==, -1);
  g_assert_cmpstr (o.log->str, ==,
                   "GET /v1/machines/job-1?stale=1 1.1 ka=1 cont=0 len=-1 chunked=0 [host=x;user-agent=curl/7;] body=\n");
  g_assert_cmpuint (o.heads, ==, 1);
  outcome_clear (&o);
}

static const char *const valid_streams[] = {
  "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n",
  "POST /v1/machines/m HTTP/1.1\r\nHost: a\r\nContent-Length: 16\r\n\r\n{\"to\":\"Running\"}",
  "POST /v1/machines/m HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
  "4;ext=1\r\n{\"to\r\n0C\r\n\":\"Running\"}\r\n0\r\nX-Trailer: t\r\n\r\n",
  /* Pipelined: three requests in one stream, the last one HTTP/1.0. */
  "GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"
  "GET /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  "\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nExpect: 100-continue\r\n\r\n",
  "GET / HTTP/1.0\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n",
};

static void
test_every_split (void)
{
  g_test_summary ("Valid streams (a body by length, a chunked body with extensions and trailers, three "
                  "pipelined requests, leading blank lines) parse the same fed whole, byte by byte and "
                  "split anywhere into two or three pieces.");
  for (guint i = 0; i < G_N_ELEMENTS (valid_streams); i++)
    {
      Outcome o = parse_whole (valid_streams[i]);
      g_assert_cmpint (o.error_code, ==, -1);
      g_assert_cmpuint (o.taken, ==, strlen (valid_streams[i]));
      outcome_clear (&o);
      assert_split_invariant (valid_streams[i]);
    }
}

static void
test_framing_details (void)
{
  Outcome chunked = parse_whole (valid_streams[2]);
  Outcome pipelined = parse_whole (valid_streams[3]);
  Outcome close = parse_whole (valid_streams[4]);

  g_test_summary ("Chunks are joined and trailers dropped; pipelined requests come out in order; HTTP/1.0 "
                  "keeps the connection only when asked; Connection: close and Expect: 100-continue are read.");
  g_assert_cmpstr (chunked.log->str, ==,
                   "POST /v1/machines/m 1.1 ka=1 cont=0 len=-1 chunked=1 [host=a;transfer-encoding=chunked;] "
                   "body={\"to\":\"Running\"}\n");
  g_assert_cmpstr (pipelined.log->str, ==,
                   "GET /a 1.1 ka=1 cont=0 len=-1 chunked=0 [host=a;] body=\n"
                   "POST /b 1.1 ka=1 cont=0 len=2 chunked=0 [host=a;content-length=2;] body={}\n"
                   "GET /c 1.0 ka=1 cont=0 len=-1 chunked=0 [connection=keep-alive;] body=\n");
  g_assert_cmpuint (pipelined.heads, ==, 3);
  g_assert_cmpstr (close.log->str, ==,
                   "GET / 1.1 ka=0 cont=1 len=-1 chunked=0 [host=a;connection=close;expect=100-continue;] body=\n");
  outcome_clear (&chunked);
  outcome_clear (&pipelined);
  outcome_clear (&close);
}

typedef struct {
  const char *name;
  const char *stream;
  DsmHttpParseError code;
} BadCase;

static const BadCase bad_cases[] = {
  { "length-negative", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_LENGTH },
  { "length-not-number", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_LENGTH },
  { "length-empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_LENGTH },
  { "length-list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2, 2\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_LENGTH },
  { "length-twice-same", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
    DSM_HTTP_PARSE_ERROR_BAD_LENGTH },
  { "length-twice-other", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    DSM_HTTP_PARSE_ERROR_BAD_LENGTH },
  { "length-over-limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65\r\n\r\n", DSM_HTTP_PARSE_ERROR_BODY_TOO_LARGE },
  { "length-2^64", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
    DSM_HTTP_PARSE_ERROR_BODY_TOO_LARGE },
  { "length-and-chunked", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
    DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "chunked-and-length", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n",
    DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "chunked-twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "coding-gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    DSM_HTTP_PARSE_ERROR_NOT_IMPLEMENTED },
  { "coding-in-1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "chunk-over-limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n",
    DSM_HTTP_PARSE_ERROR_BODY_TOO_LARGE },
  { "chunks-over-limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n"
    "01234567890123456789012345678901\r\n21\r\n", DSM_HTTP_PARSE_ERROR_BODY_TOO_LARGE },
  { "chunk-size-huge", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n",
    DSM_HTTP_PARSE_ERROR_BODY_TOO_LARGE },
  { "chunk-size-not-hex", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "chunk-overrun", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
    DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "chunk-line-long", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxx\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "tls-client-hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", DSM_HTTP_PARSE_ERROR_NOT_HTTP },
  { "binary", "\x01\x02\x03", DSM_HTTP_PARSE_ERROR_NOT_HTTP },
  { "lone-lf-line", "GET / HTTP/1.1\nHost: a\n\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "bare-cr", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "obs-fold", "GET / HTTP/1.1\r\nHost: a\r\n  folded\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "space-before-colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "nul-in-value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "no-colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "http2-preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", DSM_HTTP_PARSE_ERROR_VERSION },
  { "http-0.9", "GET /\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "version-junk", "GET / HTTQ/1.1\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "no-host", "GET / HTTP/1.1\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "two-hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "expect-other", "GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", DSM_HTTP_PARSE_ERROR_EXPECTATION },
  { "absolute-target", "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "control-in-target", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "two-spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "method-long", "GETGETGETGETGETGETGETGETGETGETGETG / HTTP/1.1\r\n", DSM_HTTP_PARSE_ERROR_BAD_REQUEST },
  { "too-many-headers", "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\n\r\n",
    DSM_HTTP_PARSE_ERROR_HEADER_TOO_LARGE },
};

/* Expands "%L" into a request line or header past the test limits. */
static char *
long_case (const char *prefix, gsize fill, const char *suffix)
{
  g_autofree char *x = g_strnfill (fill, 'x');
  return g_strconcat (prefix, x, suffix, NULL);
}

static void
test_bad_input (void)
{
  g_test_summary ("Each malformed or oversized request is refused with its own code (hence status), the "
                  "same fed whole or byte by byte, and the parser stays refused.");
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      const BadCase *bc = &bad_cases[i];
      /* Embedded NULs: the length is the literal's, not strlen. */
      gsize length = strcmp (bc->name, "nul-in-value") == 0 ? 35 : strlen (bc->stream);
      Outcome o = parse_pieces (bc->stream, length, NULL, 0);
      if (o.error_code != (gint) bc->code)
        g_error ("%s: error %d, expected %d (%s)", bc->name, o.error_code, bc->code, o.log->str);
      outcome_clear (&o);
      if (strcmp (bc->name, "nul-in-value") != 0)
        assert_split_invariant (bc->stream);
    }
}

static void
test_long_lines (void)
{
  g_autofree char *line = long_case ("GET /", 300, " HTTP/1.1\r\nHost: a\r\n\r\n");
  g_autofree char *header = long_case ("GET / HTTP/1.1\r\nHost: a\r\nX-Big: ", 600, "\r\n\r\n");
  g_autofree char *fine = long_case ("GET /", 200, " HTTP/1.1\r\nHost: a\r\n\r\n");
  Outcome o;

  g_test_summary ("A request line over its limit is 414 and a header section over its limit 431, both "
                  "refused as soon as the limit is passed, not at the line's end.");
  o = parse_whole (line);
  g_assert_cmpint (o.error_code, ==, DSM_HTTP_PARSE_ERROR_URI_TOO_LONG);
  g_assert_cmpuint (o.taken, <, 300);
  outcome_clear (&o);
  o = parse_whole (header);
  g_assert_cmpint (o.error_code, ==, DSM_HTTP_PARSE_ERROR_HEADER_TOO_LARGE);
  g_assert_cmpuint (o.taken, <, 600);
  outcome_clear (&o);
  o = parse_whole (fine);
  g_assert_cmpint (o.error_code, ==, -1);
  outcome_clear (&o);
  assert_split_invariant (line);
}

static void
test_refused_before_body (void)
{
  const char *head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 104857600\r\n";
  g_autofree char *stream = long_case (head, 1000, "");
  Outcome o = parse_whole (stream);

  g_test_summary ("A Content-Length over the limit is refused when its header line ends: not one byte "
                  "after it (the body that follows) is taken.");
  g_assert_cmpint (o.error_code, ==, DSM_HTTP_PARSE_ERROR_BODY_TOO_LARGE);
  g_assert_cmpuint (o.taken, ==, strlen (head));
  outcome_clear (&o);
}

static void
test_first_byte (void)
{
  g_autoptr(DsmHttpParser) p = dsm_http_parser_new (&limits);
  g_autoptr(GError) error = NULL;
  const guint8 hello[] = { 0x16, 0x03, 0x01, 0x00 };
  gsize n;

  g_test_summary ("A TLS ClientHello on the plain port is refused at its first byte, with a message that "
                  "says so, and every later call is refused too.");
  g_assert_cmpint (dsm_http_parser_feed (p, hello, sizeof hello, &n, &error), ==, DSM_HTTP_FEED_ERROR);
  g_assert_error (error, DSM_HTTP_PARSE_ERROR, DSM_HTTP_PARSE_ERROR_NOT_HTTP);
  g_assert_nonnull (strstr (error->message, "TLS"));
  g_assert_cmpuint (n, ==, 1);
  g_clear_error (&error);
  g_assert_cmpint (dsm_http_parser_feed (p, (const guint8 *) "GET", 3, &n, &error), ==, DSM_HTTP_FEED_ERROR);
  g_assert_cmpuint (n, ==, 0);
  g_assert_error (error, DSM_HTTP_PARSE_ERROR, DSM_HTTP_PARSE_ERROR_NOT_HTTP);
  g_assert_cmpint (dsm_http_parser_get_phase (p), ==, DSM_HTTP_PHASE_FAILED);
}

static void
test_phases (void)
{
  g_autoptr(DsmHttpParser) p = dsm_http_parser_new (&limits);
  const char *head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n";
  gsize n;

  g_test_summary ("The phase says idle between requests, head while one arrives, body after its head, "
                  "complete until taken: the connection's timeouts follow it.");
  g_assert_cmpint (dsm_http_parser_get_phase (p), ==, DSM_HTTP_PHASE_IDLE);
  g_assert_cmpint (dsm_http_parser_feed (p, (const guint8 *) head, 3, &n, NULL), ==, DSM_HTTP_FEED_MORE);
  g_assert_cmpint (dsm_http_parser_get_phase (p), ==, DSM_HTTP_PHASE_HEAD);
  g_assert_cmpint (dsm_http_parser_feed (p, (const guint8 *) head + 3, strlen (head) - 3, &n, NULL), ==,
                   DSM_HTTP_FEED_HEAD);
  g_assert_cmpint (dsm_http_parser_get_phase (p), ==, DSM_HTTP_PHASE_BODY);
  g_assert_true (dsm_http_message_has_body (dsm_http_parser_peek (p)));
  g_assert_cmpint (dsm_http_parser_feed (p, (const guint8 *) "{", 1, &n, NULL), ==, DSM_HTTP_FEED_MORE);
  g_assert_cmpint (dsm_http_parser_feed (p, (const guint8 *) "}GET", 4, &n, NULL), ==, DSM_HTTP_FEED_DONE);
  g_assert_cmpuint (n, ==, 1);
  g_assert_cmpint (dsm_http_parser_get_phase (p), ==, DSM_HTTP_PHASE_COMPLETE);
  g_assert_cmpint (dsm_http_parser_feed (p, (const guint8 *) "GET", 3, &n, NULL), ==, DSM_HTTP_FEED_DONE);
  g_assert_cmpuint (n, ==, 0);
  g_autoptr(DsmHttpMessage) msg = dsm_http_parser_take (p);
  g_assert_cmpmem (msg->body->data, msg->body->len, "{}", 2);
  g_assert_cmpstr (dsm_http_message_get_header (msg, "content-length"), ==, "2");
  g_assert_cmpint (dsm_http_parser_get_phase (p), ==, DSM_HTTP_PHASE_IDLE);
}

static void
test_error_table (void)
{
  g_test_summary ("Every parse error maps to a 4xx or 5xx status and a distinct reason word.");
  for (guint i = 0; i < DSM_HTTP_PARSE_ERROR_N_CODES; i++)
    {
      guint status = dsm_http_parse_error_status ((DsmHttpParseError) i);
      g_assert_cmpuint (status, >=, 400);
      g_assert_cmpuint (status, <, 600);
      for (guint j = 0; j < i; j++)
        g_assert_cmpstr (dsm_http_parse_error_reason ((DsmHttpParseError) i), !=,
                         dsm_http_parse_error_reason ((DsmHttpParseError) j));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/http-parser/simple-get", test_simple_get);
  g_test_add_func ("/net/http-parser/every-split", test_every_split);
  g_test_add_func ("/net/http-parser/framing-details", test_framing_details);
  g_test_add_func ("/net/http-parser/bad-input", test_bad_input);
  g_test_add_func ("/net/http-parser/long-lines", test_long_lines);
  g_test_add_func ("/net/http-parser/refused-before-body", test_refused_before_body);
  g_test_add_func ("/net/http-parser/first-byte", test_first_byte);
  g_test_add_func ("/net/http-parser/phases", test_phases);
  g_test_add_func ("/net/http-parser/error-table", test_error_table);
  return g_test_run ();
}
