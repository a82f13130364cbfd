/* client/dsm-wire.h: the native client protocol's bytes (docs/CLIENT.md):
 * frames, and the messages inside them, encoded and decoded by one table
 * shared by the node (net/native*.c) and libdsm-client.  Pure functions of
 * their bytes: no I/O, no state, every length checked before it is used.
 *
 *   frame:   [u32 BE payload length][u32 BE CRC-32 of the payload][payload]
 *   payload: [u8 type][u64 BE request id][the type's fields, in table order]
 *   field:   u8 | u16 BE | u32 BE | u64 BE | string = [u16 BE length][UTF-8, no NUL]
 *            | text = [u32 BE length][UTF-8, no NUL] (JSON: payloads, data)
 *
 * Version 2 appends fields to two messages (transition: flags,
 * if_revision, payload; result: revision, data); a connection speaks the
 * version its hello named, and a node speaks every version from
 * DSM_WIRE_VERSION_MIN (docs/CLIENT.md, "Versions").
 *
 * Not installed: the library's users see dsm-client.h only. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The newest version, and the oldest a node still speaks. */
#define DSM_WIRE_VERSION 2
#define DSM_WIRE_VERSION_MIN 1
#define DSM_WIRE_HEADER_BYTES 8
/* The smallest payload: a type and a request id. */
#define DSM_WIRE_PAYLOAD_MIN 9
/* The frame size every node accepts whatever its native.max_frame_bytes. */
#define DSM_WIRE_FRAME_BYTES_MIN 1024

typedef enum {
  /* client -> node */
  DSM_WIRE_HELLO = 0x01,        /* version, token: the first frame of a connection */
  DSM_WIRE_TRANSITION = 0x02,   /* machine, to, from, definition, client_id, seq; v2: flags, if_revision, payload */
  DSM_WIRE_READ = 0x03,         /* machine, definition, flags (DSM_WIRE_READ_STALE) */
  /* node -> client */
  DSM_WIRE_WELCOME = 0x81,      /* version, node, role, leader, leader_address, max_in_flight, max_frame_bytes */
  DSM_WIRE_RESULT = 0x82,       /* status, reason, index, machine, state, detail; v2: revision, data */
  DSM_WIRE_ERROR = 0x83,        /* code, closing, leader, leader_address, retry_after_ms, message */
} DsmWireType;

/* READ flags. */
#define DSM_WIRE_READ_STALE 0x01
/* TRANSITION flags (version 2): if_revision is a condition. */
#define DSM_WIRE_TRANSITION_IF_REVISION 0x01

/* RESULT status: the core's DsmReplyStatus, by value. */
typedef enum {
  DSM_WIRE_STATUS_OK = 0,
  DSM_WIRE_STATUS_REJECTED = 1,
  DSM_WIRE_STATUS_UNKNOWN = 2,
} DsmWireStatus;

/* One message of either direction; the fields its type does not carry
 * stay 0 / NULL.  An empty string on the wire decodes as NULL, and NULL
 * encodes as empty.  dsm_wire_msg_clear() frees the strings: a decoded
 * message's all live in one block, @strings (take it whole or copy them,
 * never one alone), as do those of one dsm_wire_msg_copy_strings() packed;
 * otherwise a message built by hand owns each (and @strings is NULL). */
typedef struct {
  guint8 type;
  guint64 id;
  guint16 version;
  char *token;
  char *machine;
  char *to;
  char *from;
  char *definition;
  char *client_id;
  guint64 seq;
  guint8 flags;
  guint64 if_revision;
  char *payload;                /* text: a JSON object */
  guint32 node;
  char *role;
  guint32 leader;
  char *leader_address;
  guint32 max_in_flight;
  guint32 max_frame_bytes;
  guint8 status;
  char *reason;
  guint64 index;
  char *state;
  char *detail;
  guint64 revision;
  char *data;                   /* text: a JSON object; NULL: none */
  char *code;
  guint8 closing;
  guint32 retry_after_ms;
  char *message;
  gpointer strings;             /* decoded: the one block every string above lives in */
} DsmWireMsg;

void dsm_wire_msg_clear (DsmWireMsg *msg);

/* Copies the strings @msg points to (borrowed, none in a block yet) into
 * one block it then holds, @strings, as a decoded message's are: a
 * request built from its caller's strings costs one allocation for all. */
void dsm_wire_msg_copy_strings (DsmWireMsg *msg);

/* "hello", "transition"...; NULL for a type this version does not know. */
const char *dsm_wire_type_name (guint8 type);

#define DSM_WIRE_ERROR_DOMAIN (dsm_wire_error_quark ())
GQuark dsm_wire_error_quark (void);

typedef enum {
  DSM_WIRE_ERROR_FRAME_EMPTY,     /* a frame of length 0 */
  DSM_WIRE_ERROR_FRAME_TOO_LARGE, /* longer than the reader's maximum */
  DSM_WIRE_ERROR_CHECKSUM,        /* the CRC-32 does not match */
  DSM_WIRE_ERROR_BAD_TYPE,        /* a type this version does not know (or the wrong direction) */
  DSM_WIRE_ERROR_TRUNCATED,       /* a field runs past the payload's end */
  DSM_WIRE_ERROR_BAD_STRING,      /* a string that is not UTF-8, or holds a NUL */
  DSM_WIRE_ERROR_TRAILING,        /* bytes after the type's last field */
} DsmWireErrorCode;

/* The error code a node answers for it ("frame_too_large", "bad_frame"...). */
const char *dsm_wire_error_code_name (DsmWireErrorCode code);

/* Framing errors lose the stream's boundaries: the connection must close. */
gboolean dsm_wire_error_is_fatal (DsmWireErrorCode code);

/**
 * dsm_wire_cut:
 * @data, @length: bytes received and not consumed yet
 * @max_frame_bytes: the largest payload accepted
 * @payload, @payload_length: (out): the frame's payload (inside @data)
 * @consumed: (out): header and payload bytes of the frame
 *
 * Cuts the next frame from a stream, checking its length as soon as the
 * header is there (before its payload is waited for) and then its CRC.
 * Returns: 1 with a frame, 0 when more bytes are needed, -1 with @error
 * (FRAME_EMPTY, FRAME_TOO_LARGE, CHECKSUM) when the stream is bad.
 */
int dsm_wire_cut (const guint8 *data, gsize length, gsize max_frame_bytes, const guint8 **payload,
                  gsize *payload_length, gsize *consumed, GError **error);

/**
 * dsm_wire_decode_version:
 * @request: TRUE on the node (client -> node types), FALSE on the client
 * @version: the connection's, DSM_WIRE_VERSION_MIN .. DSM_WIRE_VERSION:
 *   the fields of later versions are not expected
 * @msg: (out caller-allocates): cleared first; on failure it keeps the
 *   type and id when the payload had them (the error frame echoes the id)
 *
 * Returns: FALSE with a DSM_WIRE_ERROR_DOMAIN error naming the request,
 * the field and its byte offset.
 */
gboolean dsm_wire_decode_version (const guint8 *payload, gsize length, gboolean request, guint version,
                                  DsmWireMsg *msg, GError **error);

/* dsm_wire_decode_version() at DSM_WIRE_VERSION. */
gboolean dsm_wire_decode (const guint8 *payload, gsize length, gboolean request, DsmWireMsg *msg, GError **error);

/* Appends @msg as one whole frame of @version to @out: the fields of
 * later versions are left out (the caller checked they are unset).  The
 * frame is sized once (dsm_wire_encoded_bytes()), not grown field by field. */
void dsm_wire_encode_version (const DsmWireMsg *msg, guint version, GByteArray *out);

/* The bytes of @msg's whole frame (header included) at @version. */
gsize dsm_wire_encoded_bytes (const DsmWireMsg *msg, guint version);

/* Writes @msg's whole frame at @version into @out, which has @size bytes,
 * at least dsm_wire_encoded_bytes() (asserted: a caller's bug otherwise).
 * Returns the bytes written, dsm_wire_encoded_bytes(). */
gsize dsm_wire_encode_into (const DsmWireMsg *msg, guint version, guint8 *out, gsize size);

/* dsm_wire_encode_version() at DSM_WIRE_VERSION. */
void dsm_wire_encode (const DsmWireMsg *msg, GByteArray *out);

G_END_DECLS
