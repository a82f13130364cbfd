/* net/frame.c: length + CRC-32 framing of peer connections (frame.h),
 * and the incremental reader that cuts a byte stream back into frames. */
#include "frame.h"

#include <string.h>
#include <zlib.h>

#include "frame-mac.h"
#include "net-error.h"

guint32
dsm_frame_crc32 (const void *data, gsize length)
{
  uLong crc = crc32 (0L, Z_NULL, 0);
  const Bytef *p = data;

  /* zlib takes uInt lengths: feed large buffers in pieces. */
  while (length > 0)
    {
      uInt n = (uInt) MIN (length, (gsize) G_MAXUINT32);
      crc = crc32 (crc, p, n);
      p += n;
      length -= n;
    }
  return (guint32) crc;
}

static void
frame_write_header (guint8 *out, gsize length, guint32 crc)
{
  guint32 be_length = GUINT32_TO_BE ((guint32) length);
  guint32 be_crc = GUINT32_TO_BE (crc);

  memcpy (out, &be_length, 4);
  memcpy (out + 4, &be_crc, 4);
}

GBytes *
dsm_frame_encode (const void *payload, gsize length)
{
  g_return_val_if_fail (length <= G_MAXUINT32, NULL);

  guint8 *buf = g_malloc (DSM_FRAME_HEADER_BYTES + length);
  frame_write_header (buf, length, dsm_frame_crc32 (payload, length));
  if (length > 0)
    memcpy (buf + DSM_FRAME_HEADER_BYTES, payload, length);
  return g_bytes_new_take (buf, DSM_FRAME_HEADER_BYTES + length);
}

GBytes *
dsm_frame_encode_take (char *text)
{
  gsize length = strlen (text);
  GBytes *frame = dsm_frame_encode (text, length);

  g_free (text);
  return frame;
}

/* ---- reader ---- */

struct _DsmFrameReader {
  GByteArray *buf;
  gsize start;          /* first byte not yet consumed */
  gsize max_frame_bytes;
  DsmFrameMac *mac;     /* nullable: plain frames */
};

DsmFrameReader *
dsm_frame_reader_new (gsize max_frame_bytes)
{
  DsmFrameReader *reader = g_new0 (DsmFrameReader, 1);

  g_return_val_if_fail (max_frame_bytes >= 1, NULL);
  reader->buf = g_byte_array_new ();
  reader->max_frame_bytes = max_frame_bytes;
  return reader;
}

void
dsm_frame_reader_free (DsmFrameReader *reader)
{
  if (reader == NULL)
    return;
  g_byte_array_unref (reader->buf);
  dsm_frame_mac_free (reader->mac);
  g_free (reader);
}

void
dsm_frame_reader_set_mac (DsmFrameReader *reader, DsmFrameMac *mac)
{
  g_return_if_fail (reader->mac == NULL);
  reader->mac = mac;
}

void
dsm_frame_reader_push (DsmFrameReader *reader, const void *data, gsize length)
{
  /* Drop consumed bytes before growing, so the buffer holds at most one
   * frame plus one read. */
  if (reader->start > 0 && (reader->start == reader->buf->len || reader->start >= reader->buf->len / 2))
    {
      g_byte_array_remove_range (reader->buf, 0, (guint) reader->start);
      reader->start = 0;
    }
  g_byte_array_append (reader->buf, data, (guint) length);
}

gboolean
dsm_frame_reader_pop (DsmFrameReader *reader, GBytes **payload, GError **error)
{
  const guint8 *p = reader->buf->data + reader->start;
  gsize available = reader->buf->len - reader->start;
  gsize header = reader->mac != NULL ? DSM_FRAME_SEALED_HEADER_BYTES : DSM_FRAME_HEADER_BYTES;
  guint32 be_length, be_crc;

  *payload = NULL;
  if (available < header)
    return FALSE;
  memcpy (&be_length, p, 4);
  memcpy (&be_crc, p + 4, 4);
  gsize length = GUINT32_FROM_BE (be_length);
  guint32 crc = GUINT32_FROM_BE (be_crc);

  if (length == 0)
    {
      g_set_error_literal (error, DSM_NET_ERROR, DSM_NET_ERROR_FRAME_EMPTY,
                           "frame of length 0");
      return FALSE;
    }
  if (length > reader->max_frame_bytes)
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_FRAME_TOO_LARGE,
                   "frame of %" G_GSIZE_FORMAT " bytes exceeds max_frame_bytes (%" G_GSIZE_FORMAT ")",
                   length, reader->max_frame_bytes);
      return FALSE;
    }
  if (available - header < length)
    return FALSE;

  if (reader->mac != NULL)
    {
      /* The MAC covers what the CRC would, and an attacker too. */
      if (!dsm_frame_mac_open (reader->mac, p + 4, p + header, length, error))
        return FALSE;
      *payload = g_bytes_new (p + header, length);
      reader->start += header + length;
      return TRUE;
    }
  guint32 actual = dsm_frame_crc32 (p + DSM_FRAME_HEADER_BYTES, length);
  if (actual != crc)
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_CHECKSUM,
                   "frame of %" G_GSIZE_FORMAT " bytes: CRC-32 %08x, header says %08x",
                   length, actual, crc);
      return FALSE;
    }
  *payload = g_bytes_new (p + DSM_FRAME_HEADER_BYTES, length);
  reader->start += DSM_FRAME_HEADER_BYTES + length;
  return TRUE;
}

gsize
dsm_frame_reader_get_buffered (const DsmFrameReader *reader)
{
  return reader->buf->len - reader->start;
}
