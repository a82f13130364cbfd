/* net/frame.h: the byte framing of peer connections.  A plain frame is
 *
 *   [u32 big-endian payload length][u32 big-endian CRC-32 of the payload][payload]
 *
 * and a sealed one (after the handshake, with a shared secret)
 *
 *   [u32 big-endian payload length][16-byte MAC tag (frame-mac.h)][payload]
 *
 * where the payload is one JSON text (a handshake step or a message from
 * dsm_codec_encode_message()) and the CRC is zlib's crc32.  A reader
 * refuses a length of 0 or above its maximum as soon as the header arrives,
 * before buffering the body (docs/OPERATIONS.md, "Peer protocol"). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DSM_FRAME_HEADER_BYTES 8
#define DSM_FRAME_SEALED_HEADER_BYTES 20

typedef struct _DsmFrameMac DsmFrameMac;

/* CRC-32 (zlib, ISO-HDLC polynomial) of @length bytes. */
guint32 dsm_frame_crc32 (const void *data, gsize length);

/**
 * dsm_frame_encode:
 * Returns: (transfer full): header followed by @payload.
 */
GBytes *dsm_frame_encode (const void *payload, gsize length);

/* Takes ownership of @text (a NUL-terminated string) and frames it without
 * copying the payload twice. */
GBytes *dsm_frame_encode_take (char *text);

typedef struct _DsmFrameReader DsmFrameReader;

/* A reader accepting payloads of 1..@max_frame_bytes. */
DsmFrameReader *dsm_frame_reader_new (gsize max_frame_bytes);
void dsm_frame_reader_free (DsmFrameReader *reader);

/* From the next frame on, frames are sealed and opened with @mac
 * (transfer full): a bad tag is DSM_NET_ERROR_MAC, and no payload of a
 * frame that fails reaches the caller. */
void dsm_frame_reader_set_mac (DsmFrameReader *reader, DsmFrameMac *mac);

/* Appends bytes read from the stream. */
void dsm_frame_reader_push (DsmFrameReader *reader, const void *data, gsize length);

/**
 * dsm_frame_reader_pop:
 * @payload: (out) (transfer full): the next complete frame's payload
 *
 * Returns: TRUE with *@payload set when a frame is complete; FALSE with
 * *@payload NULL and no error when more bytes are needed; FALSE with a
 * DSM_NET_ERROR (FRAME_TOO_LARGE, FRAME_EMPTY, CHECKSUM, MAC) when the stream
 * is bad, after which the reader must be dropped.
 */
gboolean dsm_frame_reader_pop (DsmFrameReader *reader, GBytes **payload, GError **error);

/* Bytes held that do not make a whole frame yet (0: at a frame boundary). */
gsize dsm_frame_reader_get_buffered (const DsmFrameReader *reader);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmFrameReader, dsm_frame_reader_free)

G_END_DECLS
