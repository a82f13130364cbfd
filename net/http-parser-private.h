/* net/http-parser-private.h: the request parser's state, shared by
 * http-parser.c (syntax: the request line, header lines, the driver) and
 * http-parser-framing.c (what the head means: lengths, codings, bodies).
 * Not for other users. */
#pragma once

#include "http-parser.h"

G_BEGIN_DECLS

/* A chunk-size line: hex digits and extensions we skip. */
#define CHUNK_LINE_BYTES_MAX 256

typedef enum {
  S_START,
  S_START_LF,
  S_METHOD,
  S_TARGET,
  S_VERSION,
  S_VERSION_LF,
  S_FIELD_START,
  S_NAME,
  S_VALUE,
  S_VALUE_LF,
  S_HEAD_LF,
  S_BODY_LENGTH,
  S_CHUNK_SIZE,
  S_CHUNK_EXT,
  S_CHUNK_SIZE_LF,
  S_CHUNK_DATA,
  S_CHUNK_DATA_CR,
  S_CHUNK_DATA_LF,
  S_COMPLETE,
  S_FAILED,
} State;

struct _DsmHttpParser {
  DsmHttpParserLimits limits;
  State state;
  DsmHttpMessage *msg;
  GString *token;               /* the method, target, version, name or value being read */
  char *name;                   /* a header's name while its value is read */
  gsize line_bytes;             /* request line (or chunk line) bytes so far */
  gsize header_bytes;           /* header (and trailer) bytes so far */
  guint hosts;
  gboolean saw_length;
  gboolean close;               /* Connection: close */
  gboolean keep;                /* Connection: keep-alive */
  gboolean in_trailer;          /* the fields after the last chunk: checked, not kept */
  guint64 remaining;            /* body bytes left: of the Content-Length or of this chunk */
  guint chunk_digits;
  DsmHttpParseError error_code;
  char *error_message;
};

/* A field value's bytes: visible ASCII, space, tab and obs-text. */
static inline gboolean
is_field_char (guchar c)
{
  return (c >= 0x20 && c != 0x7f) || c == '\t';
}

/* Refuses the request for good: @p is spent. */
DsmHttpFeedResult http_parser_fail (DsmHttpParser *p, DsmHttpParseError code, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

/* http-parser-framing.c */
DsmHttpFeedResult http_parser_field_end (DsmHttpParser *p);
DsmHttpFeedResult http_parser_head_end (DsmHttpParser *p);
DsmHttpFeedResult http_parser_body_bytes (DsmHttpParser *p, const guint8 *data, gsize length, gsize *i);
DsmHttpFeedResult http_parser_chunk_size_byte (DsmHttpParser *p, guchar c);
DsmHttpFeedResult http_parser_chunk_ext_byte (DsmHttpParser *p, guchar c);
void http_parser_chunk_size_end (DsmHttpParser *p);

G_END_DECLS
