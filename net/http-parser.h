/* net/http-parser.h: an incremental, strict HTTP/1.1 request parser: bytes
 * in, a request head, a complete request or an error out.  A pure function
 * of its input (no I/O, no clock), so tests and fuzzers can drive it.
 *
 * Every limit is enforced as the bytes arrive, before they are kept: a
 * request line over its limit is refused at its first byte too many, a
 * Content-Length over the body limit when its header line ends, a chunked
 * body when its running total passes the limit.  docs/OPERATIONS.md,
 * "HTTP front end", lists what is refused and with which status. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DSM_HTTP_PARSE_ERROR (dsm_http_parse_error_quark ())
GQuark dsm_http_parse_error_quark (void);

/* Why a request was refused; each maps to one status and one reason word. */
typedef enum {
  DSM_HTTP_PARSE_ERROR_BAD_REQUEST,      /* 400 bad_request: malformed syntax or framing */
  DSM_HTTP_PARSE_ERROR_NOT_HTTP,         /* 400 not_http: the first bytes are not HTTP (a TLS ClientHello...) */
  DSM_HTTP_PARSE_ERROR_BAD_LENGTH,       /* 400 bad_length: a Content-Length that is not one decimal number */
  DSM_HTTP_PARSE_ERROR_BODY_TOO_LARGE,   /* 413 body_too_large */
  DSM_HTTP_PARSE_ERROR_URI_TOO_LONG,     /* 414 uri_too_long: the request line is over its limit */
  DSM_HTTP_PARSE_ERROR_EXPECTATION,      /* 417 expectation_failed: an Expect other than 100-continue */
  DSM_HTTP_PARSE_ERROR_HEADER_TOO_LARGE, /* 431 header_too_large: header bytes or count over the limit */
  DSM_HTTP_PARSE_ERROR_NOT_IMPLEMENTED,  /* 501 not_implemented: a transfer coding other than chunked */
  DSM_HTTP_PARSE_ERROR_VERSION,          /* 505 version_not_supported: not HTTP/1.0 or 1.1 */
  DSM_HTTP_PARSE_ERROR_N_CODES,
} DsmHttpParseError;

/* The HTTP status answering @code, and its stable reason word. */
guint dsm_http_parse_error_status (DsmHttpParseError code);
const char *dsm_http_parse_error_reason (DsmHttpParseError code);

typedef struct {
  guint request_line_bytes_max;  /* method, target and version, without CRLF */
  guint header_bytes_max;        /* every header line with its CRLF (trailers count too) */
  guint header_count_max;
  guint body_bytes_max;          /* the decoded body */
} DsmHttpParserLimits;

typedef struct {
  char *name;                    /* lower case */
  char *value;                   /* without surrounding whitespace */
} DsmHttpHeader;

/**
 * DsmHttpMessage:
 * One request as parsed.  Strings are owned; @body holds the decoded body
 * (chunks joined) once the request is complete.
 */
typedef struct {
  char *method;
  char *target;                  /* the request-target, raw (percent-encoded) */
  guint version_minor;           /* 0 or 1: HTTP/1.0 or HTTP/1.1 */
  GArray *headers;               /* DsmHttpHeader, in arrival order */
  gint64 content_length;         /* -1: none */
  gboolean chunked;
  gboolean keep_alive;           /* from the version and Connection */
  gboolean expect_continue;      /* Expect: 100-continue */
  GByteArray *body;
} DsmHttpMessage;

void dsm_http_message_free (DsmHttpMessage *msg);

/* The value of the only header @name (lower case), NULL when absent. */
const char *dsm_http_message_get_header (const DsmHttpMessage *msg, const char *name);

/* Whether a body follows the head (a Content-Length above 0, or chunked). */
gboolean dsm_http_message_has_body (const DsmHttpMessage *msg);

typedef enum {
  DSM_HTTP_FEED_MORE,           /* every byte taken; feed more */
  DSM_HTTP_FEED_HEAD,           /* the head is complete: dsm_http_parser_peek() */
  DSM_HTTP_FEED_DONE,           /* the request is complete: dsm_http_parser_take() */
  DSM_HTTP_FEED_ERROR,          /* refused: the parser is spent, the connection should close */
} DsmHttpFeedResult;

/* Where the parser stands, for the caller's timeouts. */
typedef enum {
  DSM_HTTP_PHASE_IDLE,           /* between requests: not a byte of the next one yet */
  DSM_HTTP_PHASE_HEAD,           /* inside a request line or its headers */
  DSM_HTTP_PHASE_BODY,           /* head reported, body not complete */
  DSM_HTTP_PHASE_COMPLETE,       /* a request waits to be taken */
  DSM_HTTP_PHASE_FAILED,
} DsmHttpPhase;

typedef struct _DsmHttpParser DsmHttpParser;

DsmHttpParser *dsm_http_parser_new (const DsmHttpParserLimits *limits);
void dsm_http_parser_free (DsmHttpParser *parser);

/**
 * dsm_http_parser_feed:
 * @consumed: (out): bytes of @data taken (the rest belongs to a later call)
 *
 * Parses up to the next event.  HEAD is returned once per request, right
 * after its blank line; the next call goes on with the body, or returns
 * DONE at once (taking nothing) when there is none.  After DONE, bytes of
 * the next (pipelined) request are left untaken until
 * dsm_http_parser_take().  ERROR sets @error (DSM_HTTP_FEED_ERROR); every
 * later call returns ERROR again.
 */
DsmHttpFeedResult dsm_http_parser_feed (DsmHttpParser *parser, const guint8 *data, gsize length,
                                         gsize *consumed, GError **error);

/* The request whose head was reported (borrowed; complete after DONE). */
const DsmHttpMessage *dsm_http_parser_peek (const DsmHttpParser *parser);

/* Returns: (transfer full): the complete request; the parser starts over. */
DsmHttpMessage *dsm_http_parser_take (DsmHttpParser *parser);

DsmHttpPhase dsm_http_parser_get_phase (const DsmHttpParser *parser);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmHttpParser, dsm_http_parser_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmHttpMessage, dsm_http_message_free)

G_END_DECLS
