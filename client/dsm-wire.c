/* client/dsm-wire.c: the native protocol's frames and messages
 * (dsm-wire.h): one field table per message type, walked alike by the
 * encoder and the strict decoder. */
#include "dsm-wire.h"

#include <string.h>
#include <zlib.h>

typedef enum { F_U8, F_U16, F_U32, F_U64, F_STR, F_TEXT } FieldKind;

typedef struct {
  FieldKind kind;
  const char *name;
  gsize offset;
  guint since;                  /* the version that added it (0: the first) */
} Field;

#define U8(n) { F_U8, #n, G_STRUCT_OFFSET (DsmWireMsg, n), 0 }
#define U16(n) { F_U16, #n, G_STRUCT_OFFSET (DsmWireMsg, n), 0 }
#define U32(n) { F_U32, #n, G_STRUCT_OFFSET (DsmWireMsg, n), 0 }
#define U64(n) { F_U64, #n, G_STRUCT_OFFSET (DsmWireMsg, n), 0 }
#define STR(n) { F_STR, #n, G_STRUCT_OFFSET (DsmWireMsg, n), 0 }
/* Version 2's fields, after every field of version 1. */
#define U8_2(n) { F_U8, #n, G_STRUCT_OFFSET (DsmWireMsg, n), 2 }
#define U64_2(n) { F_U64, #n, G_STRUCT_OFFSET (DsmWireMsg, n), 2 }
#define TEXT_2(n) { F_TEXT, #n, G_STRUCT_OFFSET (DsmWireMsg, n), 2 }
#define FIELDS_MAX 10

typedef struct {
  guint8 type;
  const char *name;
  gboolean request;
  Field fields[FIELDS_MAX];
  guint n_fields;
} MsgSpec;

static const MsgSpec specs[] = {
  { DSM_WIRE_HELLO, "hello", TRUE, { U16 (version), STR (token) }, 2 },
  { DSM_WIRE_TRANSITION, "transition", TRUE,
    { STR (machine), STR (to), STR (from), STR (definition), STR (client_id), U64 (seq), U8_2 (flags),
      U64_2 (if_revision), TEXT_2 (payload) }, 9 },
  { DSM_WIRE_READ, "read", TRUE, { STR (machine), STR (definition), U8 (flags) }, 3 },
  { DSM_WIRE_WELCOME, "welcome", FALSE,
    { U16 (version), U32 (node), STR (role), U32 (leader), STR (leader_address), U32 (max_in_flight),
      U32 (max_frame_bytes) }, 7 },
  { DSM_WIRE_RESULT, "result", FALSE,
    { U8 (status), STR (reason), U64 (index), STR (machine), STR (state), STR (detail), U64_2 (revision),
      TEXT_2 (data) }, 8 },
  { DSM_WIRE_ERROR, "error", FALSE,
    { STR (code), U8 (closing), U32 (leader), STR (leader_address), U32 (retry_after_ms), STR (message) }, 6 },
};

static const MsgSpec *
wire_spec (guint8 type)
{
  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    if (specs[i].type == type)
      return &specs[i];
  return NULL;
}

const char *
dsm_wire_type_name (guint8 type)
{
  const MsgSpec *spec = wire_spec (type);
  return spec != NULL ? spec->name : NULL;
}

/* Every string field of every type, once. */
#define MSG_STRINGS(msg) { &(msg)->token, &(msg)->machine, &(msg)->to, &(msg)->from, &(msg)->definition, \
                           &(msg)->client_id, &(msg)->role, &(msg)->leader_address, &(msg)->reason, &(msg)->state, \
                           &(msg)->detail, &(msg)->code, &(msg)->message, &(msg)->payload, &(msg)->data }

void
dsm_wire_msg_clear (DsmWireMsg *msg)
{
  char **strings[] = MSG_STRINGS (msg);

  if (msg->strings != NULL)
    g_free (msg->strings);
  else
    for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
      g_free (*strings[i]);
  memset (msg, 0, sizeof *msg);
}

void
dsm_wire_msg_copy_strings (DsmWireMsg *msg)
{
  char **strings[] = MSG_STRINGS (msg);
  gsize lengths[G_N_ELEMENTS (strings)];
  gsize size = 0;

  g_return_if_fail (msg->strings == NULL);
  for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
    {
      lengths[i] = *strings[i] != NULL ? strlen (*strings[i]) + 1 : 0;
      size += lengths[i];
    }
  if (size == 0)
    return;
  char *cursor = msg->strings = g_malloc (size);
  for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
    if (lengths[i] > 0)
      {
        *strings[i] = memcpy (cursor, *strings[i], lengths[i]);
        cursor += lengths[i];
      }
  g_assert ((gsize) (cursor - (char *) msg->strings) == size);
}

G_DEFINE_QUARK (dsm-wire-error-quark, dsm_wire_error)

const char *
dsm_wire_error_code_name (DsmWireErrorCode code)
{
  switch (code)
    {
    case DSM_WIRE_ERROR_FRAME_EMPTY:
    case DSM_WIRE_ERROR_CHECKSUM:
      return "bad_frame";
    case DSM_WIRE_ERROR_FRAME_TOO_LARGE:
      return "frame_too_large";
    case DSM_WIRE_ERROR_BAD_TYPE:
      return "bad_type";
    case DSM_WIRE_ERROR_TRUNCATED:
    case DSM_WIRE_ERROR_BAD_STRING:
    case DSM_WIRE_ERROR_TRAILING:
    default:
      return "bad_request";
    }
}

gboolean
dsm_wire_error_is_fatal (DsmWireErrorCode code)
{
  return code == DSM_WIRE_ERROR_FRAME_EMPTY || code == DSM_WIRE_ERROR_FRAME_TOO_LARGE
         || code == DSM_WIRE_ERROR_CHECKSUM;
}

/* ---- frames ---- */

static guint32
wire_crc32 (const guint8 *data, gsize length)
{
  uLong crc = crc32 (0L, Z_NULL, 0);

  /* Frames are far below 4 GiB (u32 lengths): one call. */
  g_assert (length <= G_MAXUINT32);
  return (guint32) crc32 (crc, data, (uInt) length);
}

static guint32
get_u32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

int
dsm_wire_cut (const guint8 *data, gsize length, gsize max_frame_bytes, const guint8 **payload,
              gsize *payload_length, gsize *consumed, GError **error)
{
  *payload = NULL;
  *payload_length = 0;
  *consumed = 0;
  if (length < DSM_WIRE_HEADER_BYTES)
    return 0;
  gsize size = get_u32 (data);
  guint32 crc = get_u32 (data + 4);
  if (size == 0)
    {
      g_set_error_literal (error, DSM_WIRE_ERROR_DOMAIN, DSM_WIRE_ERROR_FRAME_EMPTY, "frame header: length 0");
      return -1;
    }
  if (size > max_frame_bytes)
    {
      g_set_error (error, DSM_WIRE_ERROR_DOMAIN, DSM_WIRE_ERROR_FRAME_TOO_LARGE,
                   "frame header: length %" G_GSIZE_FORMAT " exceeds max_frame_bytes %" G_GSIZE_FORMAT, size,
                   max_frame_bytes);
      return -1;
    }
  if (length - DSM_WIRE_HEADER_BYTES < size)
    return 0;
  guint32 actual = wire_crc32 (data + DSM_WIRE_HEADER_BYTES, size);
  if (actual != crc)
    {
      g_set_error (error, DSM_WIRE_ERROR_DOMAIN, DSM_WIRE_ERROR_CHECKSUM,
                   "frame of %" G_GSIZE_FORMAT " bytes: CRC-32 %08x, header says %08x", size, actual, crc);
      return -1;
    }
  *payload = data + DSM_WIRE_HEADER_BYTES;
  *payload_length = size;
  *consumed = DSM_WIRE_HEADER_BYTES + size;
  return 1;
}

/* ---- decoding ---- */

typedef struct {
  const guint8 *p;
  gsize length;
  gsize at;
  const DsmWireMsg *msg;
  /* The string fields read, copied into one block once all are checked. */
  struct {
    gsize offset;               /* the field's in DsmWireMsg */
    const guint8 *bytes;
    gsize length;
  } strings[FIELDS_MAX];
  guint n_strings;
  gsize strings_bytes;
} Reader;

static gboolean
reader_take (Reader *r, gsize n, const Field *f, const guint8 **out, GError **error)
{
  if (r->length - r->at < n)
    {
      g_set_error (error, DSM_WIRE_ERROR_DOMAIN, DSM_WIRE_ERROR_TRUNCATED,
                   "%s %" G_GUINT64_FORMAT ": field \"%s\" at byte %" G_GSIZE_FORMAT ": needs %" G_GSIZE_FORMAT
                   " bytes, the payload has %" G_GSIZE_FORMAT " left",
                   dsm_wire_type_name (r->msg->type), r->msg->id, f->name, r->at, n, r->length - r->at);
      return FALSE;
    }
  *out = r->p + r->at;
  r->at += n;
  return TRUE;
}

static guint64
get_uint (const guint8 *p, guint n)
{
  guint64 v = 0;

  for (guint i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

static gboolean
decode_field (Reader *r, const Field *f, DsmWireMsg *msg, GError **error)
{
  static const guint widths[] = { [F_U8] = 1, [F_U16] = 2, [F_U32] = 4, [F_U64] = 8, [F_STR] = 2, [F_TEXT] = 4 };
  gpointer where = G_STRUCT_MEMBER_P (msg, f->offset);
  const guint8 *p;
  gsize start = r->at;

  if (!reader_take (r, widths[f->kind], f, &p, error))
    return FALSE;
  switch (f->kind)
    {
    case F_U8:
      *(guint8 *) where = p[0];
      return TRUE;
    case F_U16:
      *(guint16 *) where = (guint16) get_uint (p, 2);
      return TRUE;
    case F_U32:
      *(guint32 *) where = (guint32) get_uint (p, 4);
      return TRUE;
    case F_U64:
      *(guint64 *) where = get_uint (p, 8);
      return TRUE;
    case F_STR:
    case F_TEXT:
    default:
      {
        gsize n = (gsize) get_uint (p, widths[f->kind]);
        if (!reader_take (r, n, f, &p, error))
          return FALSE;
        if (memchr (p, '\0', n) != NULL || !g_utf8_validate_len ((const char *) p, n, NULL))
          {
            g_set_error (error, DSM_WIRE_ERROR_DOMAIN, DSM_WIRE_ERROR_BAD_STRING,
                         "%s %" G_GUINT64_FORMAT ": field \"%s\" at byte %" G_GSIZE_FORMAT
                         ": not UTF-8 without NUL", dsm_wire_type_name (msg->type), msg->id, f->name, start);
            return FALSE;
          }
        g_assert (*(char **) where == NULL);
        if (n > 0)
          {
            g_assert (r->n_strings < FIELDS_MAX);
            r->strings[r->n_strings].offset = f->offset;
            r->strings[r->n_strings].bytes = p;
            r->strings[r->n_strings].length = n;
            r->n_strings++;
            r->strings_bytes += n + 1;
          }
        return TRUE;
      }
    }
}

gboolean
dsm_wire_decode_version (const guint8 *payload, gsize length, gboolean request, guint version, DsmWireMsg *msg,
                         GError **error)
{
  Reader r = { .p = payload, .length = length, .at = DSM_WIRE_PAYLOAD_MIN, .msg = msg };
  const MsgSpec *spec;

  g_assert (version >= DSM_WIRE_VERSION_MIN && version <= DSM_WIRE_VERSION);
  memset (msg, 0, sizeof *msg);
  if (length < DSM_WIRE_PAYLOAD_MIN)
    {
      g_set_error (error, DSM_WIRE_ERROR_DOMAIN, DSM_WIRE_ERROR_TRUNCATED,
                   "payload of %" G_GSIZE_FORMAT " bytes: a message starts with a type and an 8-byte request id",
                   length);
      return FALSE;
    }
  msg->type = payload[0];
  msg->id = get_uint (payload + 1, 8);
  spec = wire_spec (msg->type);
  if (spec == NULL || spec->request != request)
    {
      g_set_error (error, DSM_WIRE_ERROR_DOMAIN, DSM_WIRE_ERROR_BAD_TYPE,
                   "request %" G_GUINT64_FORMAT ": type 0x%02x at byte 0 is not a %s this version knows", msg->id,
                   msg->type, request ? "request" : "response");
      return FALSE;
    }
  for (guint i = 0; i < spec->n_fields; i++)
    if (spec->fields[i].since <= version && !decode_field (&r, &spec->fields[i], msg, error))
      return FALSE;
  if (r.at != length)
    {
      g_set_error (error, DSM_WIRE_ERROR_DOMAIN, DSM_WIRE_ERROR_TRAILING,
                   "%s %" G_GUINT64_FORMAT ": %" G_GSIZE_FORMAT " bytes after the last field, at byte %" G_GSIZE_FORMAT,
                   spec->name, msg->id, length - r.at, r.at);
      return FALSE;
    }
  /* Every string in one allocation, each NUL-terminated: a request's
   * fields cost the worker that reads it one malloc, not one each. */
  if (r.n_strings > 0)
    {
      char *cursor = msg->strings = g_malloc (r.strings_bytes);
      for (guint i = 0; i < r.n_strings; i++)
        {
          memcpy (cursor, r.strings[i].bytes, r.strings[i].length);
          cursor[r.strings[i].length] = '\0';
          G_STRUCT_MEMBER (char *, msg, r.strings[i].offset) = cursor;
          cursor += r.strings[i].length + 1;
        }
      g_assert ((gsize) (cursor - (char *) msg->strings) == r.strings_bytes);
    }
  return TRUE;
}

gboolean
dsm_wire_decode (const guint8 *payload, gsize length, gboolean request, DsmWireMsg *msg, GError **error)
{
  return dsm_wire_decode_version (payload, length, request, DSM_WIRE_VERSION, msg, error);
}

/* ---- encoding ---- */

/* A string field's length as sent: our own strings (names up to
 * DSM_NAME_MAX, tokens, messages) are cut at a character boundary if
 * longer than a u16 can say, not sent wrong; JSON text is bounded by the
 * core (DSM_DATA_BYTES_MAX) and never cut. */
static gsize
field_string_bytes (const Field *f, const char *s)
{
  gsize n = s != NULL ? strlen (s) : 0;

  if (f->kind == F_STR && n > G_MAXUINT16)
    n = (gsize) (g_utf8_find_prev_char (s, s + G_MAXUINT16) - s);
  g_assert (n <= G_MAXUINT32);
  return n;
}

gsize
dsm_wire_encoded_bytes (const DsmWireMsg *msg, guint version)
{
  static const gsize widths[] = { [F_U8] = 1, [F_U16] = 2, [F_U32] = 4, [F_U64] = 8, [F_STR] = 2, [F_TEXT] = 4 };
  const MsgSpec *spec = wire_spec (msg->type);
  gsize size = DSM_WIRE_HEADER_BYTES + DSM_WIRE_PAYLOAD_MIN;

  g_return_val_if_fail (spec != NULL, 0);
  g_assert (version >= DSM_WIRE_VERSION_MIN && version <= DSM_WIRE_VERSION);
  for (guint i = 0; i < spec->n_fields; i++)
    {
      const Field *f = &spec->fields[i];
      if (f->since > version)
        continue;
      size += widths[f->kind];
      if (f->kind == F_STR || f->kind == F_TEXT)
        size += field_string_bytes (f, *(char *const *) G_STRUCT_MEMBER_P ((gpointer) msg, f->offset));
    }
  return size;
}

static guint8 *
put_uint (guint8 *p, guint64 v, guint n)
{
  for (guint i = 0; i < n; i++)
    p[i] = (guint8) (v >> (8 * (n - 1 - i)));
  return p + n;
}

gsize
dsm_wire_encode_into (const DsmWireMsg *msg, guint version, guint8 *out, gsize size)
{
  const MsgSpec *spec = wire_spec (msg->type);
  guint8 *p = out + DSM_WIRE_HEADER_BYTES;

  g_return_val_if_fail (spec != NULL, 0);
  g_assert (version >= DSM_WIRE_VERSION_MIN && version <= DSM_WIRE_VERSION);
  g_assert (size >= DSM_WIRE_HEADER_BYTES + DSM_WIRE_PAYLOAD_MIN);
  p = put_uint (p, msg->type, 1);
  p = put_uint (p, msg->id, 8);
  for (guint i = 0; i < spec->n_fields; i++)
    {
      const Field *f = &spec->fields[i];
      gconstpointer where = G_STRUCT_MEMBER_P ((gpointer) msg, f->offset);
      if (f->since > version)
        continue;
      switch (f->kind)
        {
        case F_U8:
          g_assert ((gsize) (p - out) + 1 <= size);
          p = put_uint (p, *(const guint8 *) where, 1);
          break;
        case F_U16:
          g_assert ((gsize) (p - out) + 2 <= size);
          p = put_uint (p, *(const guint16 *) where, 2);
          break;
        case F_U32:
          g_assert ((gsize) (p - out) + 4 <= size);
          p = put_uint (p, *(const guint32 *) where, 4);
          break;
        case F_U64:
          g_assert ((gsize) (p - out) + 8 <= size);
          p = put_uint (p, *(const guint64 *) where, 8);
          break;
        case F_STR:
        case F_TEXT:
        default:
          {
            const char *s = *(char *const *) where;
            guint width = f->kind == F_STR ? 2 : 4;
            gsize n = field_string_bytes (f, s);
            g_assert ((gsize) (p - out) + width + n <= size);
            p = put_uint (p, n, width);
            if (n > 0)
              memcpy (p, s, n);
            p += n;
            break;
          }
        }
    }
  gsize used = (gsize) (p - out);
  gsize payload = used - DSM_WIRE_HEADER_BYTES;
  guint32 crc = wire_crc32 (out + DSM_WIRE_HEADER_BYTES, payload);
  put_uint (out, payload, 4);
  put_uint (out + 4, crc, 4);
  return used;
}

void
dsm_wire_encode_version (const DsmWireMsg *msg, guint version, GByteArray *out)
{
  guint start = out->len;
  gsize size = dsm_wire_encoded_bytes (msg, version);

  g_return_if_fail (size > 0);
  g_assert (size <= G_MAXUINT - start);
  g_byte_array_set_size (out, start + (guint) size);
  gsize used = dsm_wire_encode_into (msg, version, out->data + start, size);
  g_assert (used == size);
}

void
dsm_wire_encode (const DsmWireMsg *msg, GByteArray *out)
{
  dsm_wire_encode_version (msg, DSM_WIRE_VERSION, out);
}
