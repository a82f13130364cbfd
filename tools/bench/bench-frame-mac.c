/* tools/bench/bench-frame-mac.c: what sealing a peer frame costs next to
 * the plain CRC frame, per frame and per byte (docs/SECURITY.md,
 * "Sealed-frame MAC cost").  A benchmark, never a test: it prints figures.
 *
 *   bench-frame-mac [--frames N]
 *
 * For each payload size: encode (CRC) then read back, and seal (HMAC)
 * then open through a sealed reader, N times each; prints ns per frame. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "frame-mac.h"

static double
bench_plain (const char *payload, gsize length, guint frames)
{
  g_autoptr(DsmFrameReader) reader = dsm_frame_reader_new (length + 1);
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < frames; i++)
    {
      g_autoptr(GBytes) frame = dsm_frame_encode (payload, length);
      g_autoptr(GBytes) out = NULL;
      dsm_frame_reader_push (reader, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
      g_assert_true (dsm_frame_reader_pop (reader, &out, NULL));
    }
  return (double) (g_get_monotonic_time () - start) * 1000.0 / frames;
}

static double
bench_sealed (const char *payload, gsize length, guint frames)
{
  guint8 key[DSM_FRAME_MAC_KEY_BYTES] = { 1, 2, 3 };
  g_autoptr(DsmFrameMac) sender = dsm_frame_mac_new (key);
  g_autoptr(DsmFrameReader) reader = dsm_frame_reader_new (length + 1);
  gint64 start = g_get_monotonic_time ();

  dsm_frame_reader_set_mac (reader, dsm_frame_mac_new (key));
  for (guint i = 0; i < frames; i++)
    {
      g_autoptr(GBytes) frame = dsm_frame_mac_seal (sender, payload, length);
      g_autoptr(GBytes) out = NULL;
      dsm_frame_reader_push (reader, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
      g_assert_true (dsm_frame_reader_pop (reader, &out, NULL));
    }
  return (double) (g_get_monotonic_time () - start) * 1000.0 / frames;
}

int
main (int argc, char **argv)
{
  const gsize sizes[] = { 120, 1024, 16 * 1024, 256 * 1024 };
  guint frames = 20000;

  if (argc == 3 && strcmp (argv[1], "--frames") == 0)
    frames = (guint) strtoul (argv[2], NULL, 10);
  if (frames == 0)
    {
      fprintf (stderr, "usage: bench-frame-mac [--frames N]\n");
      return 2;
    }
  printf ("payload_bytes  plain_ns_per_frame  sealed_ns_per_frame  sealed_extra_ns  sealed_MB_per_s\n");
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      g_autofree char *payload = g_malloc (sizes[s]);
      guint n = (guint) MAX (frames / (sizes[s] / 1024 + 1), 200u);
      memset (payload, 'x', sizes[s]);
      double plain = bench_plain (payload, sizes[s], n);
      double sealed = bench_sealed (payload, sizes[s], n);
      printf ("%13" G_GSIZE_FORMAT "  %18.0f  %19.0f  %15.0f  %15.0f\n", sizes[s], plain, sealed,
              sealed - plain, (double) sizes[s] / sealed * 1000.0);
    }
  return 0;
}
