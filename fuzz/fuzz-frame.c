/* fuzz/fuzz-frame.c: the frame reader of peer links (net/frame.c), plain
 * and sealed.  Plain: any byte stream, cut into reads of fuzzed sizes,
 * each frame's payload then decoded as a message as a link does.  Sealed:
 * the fuzzer picks payloads, the harness seals them as a peer would, then
 * tampers with the stream (a flipped bit, frames swapped, dropped or
 * replayed, plain frames first as after a handshake); whatever the reader
 * hands out must be exactly what was sent, in order, and nothing after a
 * tampered frame. */
#include "fuzz.h"

#include "codec.h"
#include "frame-mac.h"
#include "frame.h"
#include "net-error.h"

#define FRAME_BYTES_MAX 4096

static const size_t read_sizes[] = { 1, 2, 3, 7, 8, 20, 64, 4096, 65536 };

typedef struct {
  GPtrArray *sent;       /* GBytes payloads, in order */
  GPtrArray *popped;
} Frames;

/* Pushes @stream in reads of @read_size bytes, popping after each; after
 * @plain_first frames the reader starts opening sealed frames with @key. */
static void
fuzz_frame_read (const guint8 *stream, size_t size, size_t read_size, guint plain_first,
                 const guint8 *key, GPtrArray *popped)
{
  g_autoptr(DsmFrameReader) reader = dsm_frame_reader_new (FRAME_BYTES_MAX);
  gboolean sealed = FALSE;

  if (key != NULL && plain_first == 0)
    {
      dsm_frame_reader_set_mac (reader, dsm_frame_mac_new (key));
      sealed = TRUE;
    }
  for (size_t at = 0; at < size;)
    {
      size_t n = MIN (read_size, size - at);
      dsm_frame_reader_push (reader, stream + at, n);
      at += n;
      for (;;)
        {
          g_autoptr(GError) error = NULL;
          GBytes *payload = NULL;
          if (!dsm_frame_reader_pop (reader, &payload, &error))
            {
              g_assert (payload == NULL);
              if (error == NULL)
                break;
              g_assert (error->domain == DSM_NET_ERROR);
              return;
            }
          g_assert (payload != NULL);
          g_assert_cmpuint (g_bytes_get_size (payload), >=, 1);
          g_assert_cmpuint (g_bytes_get_size (payload), <=, FRAME_BYTES_MAX);
          g_ptr_array_add (popped, payload);
          if (key != NULL && !sealed && popped->len == plain_first)
            {
              dsm_frame_reader_set_mac (reader, dsm_frame_mac_new (key));
              sealed = TRUE;
            }
        }
      g_assert_cmpuint (dsm_frame_reader_get_buffered (reader), <, FRAME_BYTES_MAX + DSM_FRAME_SEALED_HEADER_BYTES + read_size);
    }
}

static void
fuzz_frame_plain (DsmFuzzInput *in, size_t read_size)
{
  g_autoptr(GPtrArray) popped = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  fuzz_frame_read (in->data, in->size, read_size, 0, NULL, popped);
  for (guint i = 0; i < popped->len; i++)
    {
      gsize length;
      const char *text = g_bytes_get_data (popped->pdata[i], &length);
      g_autoptr(GError) error = NULL;
      g_autoptr(DsmMessage) msg = dsm_codec_decode_message (text, length, &error);
      g_assert ((msg == NULL) == (error != NULL));
    }
}

typedef enum {
  TAMPER_NONE,
  TAMPER_FLIP,           /* one bit of the stream */
  TAMPER_SWAP,           /* two frames trade places */
  TAMPER_DROP,           /* a frame never arrives */
  TAMPER_REPLAY,         /* a frame arrives again later */
  TAMPER_REFLECT,        /* a frame sealed the other way comes back */
  TAMPER_N,
} Tamper;

static void
fuzz_frame_sealed (DsmFuzzInput *in, size_t read_size)
{
  static const guint8 key[DSM_FRAME_MAC_KEY_BYTES] = "fuzz frame key, 32 bytes long..";
  static const guint8 other_key[DSM_FRAME_MAC_KEY_BYTES] = "the other direction's key......";
  Tamper tamper = (Tamper) (dsm_fuzz_take_byte (in) % TAMPER_N);
  guint32 where = dsm_fuzz_take_u32 (in);
  guint plain_first = dsm_fuzz_take_byte (in) % 4;
  g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GPtrArray) popped = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(DsmFrameMac) mac = dsm_frame_mac_new (key);
  g_autoptr(DsmFrameMac) other = dsm_frame_mac_new (other_key);
  g_autoptr(GByteArray) stream = g_byte_array_new ();

  /* Payloads: [u16 length][bytes]...; the first plain_first go unsealed. */
  while (in->size > 0 && sent->len < 64)
    {
      guint16 length = (guint16) (dsm_fuzz_take_byte (in) | dsm_fuzz_take_byte (in) << 8);
      const uint8_t *bytes;
      length = (guint16) (1 + length % FRAME_BYTES_MAX);
      length = (guint16) dsm_fuzz_take_bytes (in, length, &bytes);
      if (length == 0)
        break;
      g_ptr_array_add (sent, g_bytes_new (bytes, length));
      if (sent->len <= plain_first)
        g_ptr_array_add (frames, dsm_frame_encode (bytes, length));
      else
        g_ptr_array_add (frames, dsm_frame_mac_seal (mac, bytes, length));
    }
  if (sent->len < plain_first)
    plain_first = sent->len;

  /* Tampering hits the sealed frames only: plain frames (the handshake's)
   * carry a CRC, not a MAC, and the handshake's proofs cover them. */
  guint n = frames->len - plain_first;
  guint i = n > 0 ? plain_first + where % n : 0;
  guint j = n > 0 ? plain_first + (where >> 16) % n : 0;
  gboolean tampered = n > 0 && tamper != TAMPER_NONE;
  gsize plain_bytes = 0;
  for (guint k = 0; k < plain_first; k++)
    plain_bytes += g_bytes_get_size (frames->pdata[k]);
  if (tampered && tamper == TAMPER_SWAP && i != j)
    {
      gpointer t = frames->pdata[i];
      frames->pdata[i] = frames->pdata[j];
      frames->pdata[j] = t;
    }
  else if (tampered && tamper == TAMPER_DROP)
    g_ptr_array_remove_index (frames, i);
  else if (tampered && tamper == TAMPER_REPLAY)
    g_ptr_array_insert (frames, (gint) (MAX (i, j) + 1), g_bytes_ref (frames->pdata[MIN (i, j)]));
  else if (tampered && tamper == TAMPER_REFLECT)
    {
      gsize length;
      const guint8 *bytes = g_bytes_get_data (sent->pdata[i], &length);
      g_ptr_array_insert (frames, (gint) i, dsm_frame_mac_seal (other, bytes, length));
    }
  for (guint k = 0; k < frames->len; k++)
    {
      gsize length;
      const guint8 *bytes = g_bytes_get_data (frames->pdata[k], &length);
      g_byte_array_append (stream, bytes, (guint) length);
    }
  if (tampered && tamper == TAMPER_FLIP)
    stream->data[plain_bytes + where % (stream->len - plain_bytes)] ^= (guint8) (1u << (where >> 29));

  fuzz_frame_read (stream->data, stream->len, read_size, plain_first, key, popped);

  /* Whatever was handed out is what was sent, in order, from the start. */
  g_assert_cmpuint (popped->len, <=, sent->len);
  for (guint k = 0; k < popped->len; k++)
    g_assert_true (g_bytes_equal (popped->pdata[k], sent->pdata[k]));
  if (!tampered)
    g_assert_cmpuint (popped->len, ==, sent->len);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  dsm_fuzz_setup ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  DsmFuzzInput in = { data, size };
  guint8 mode = dsm_fuzz_take_byte (&in);
  size_t read_size = read_sizes[(mode >> 1) % G_N_ELEMENTS (read_sizes)];

  if (mode & 1)
    fuzz_frame_sealed (&in, read_size);
  else
    fuzz_frame_plain (&in, read_size);
  return 0;
}
