/* tools/bench/bench-frame-mac.c: what sealing a peer frame costs next to
 * the plain CRC frame, per frame and per byte (docs/SECURITY.md,
 * "Sealed-frame MAC cost").  A benchmark, never a test: it prints figures.
 *
 *   bench-frame-mac [--frames N]
 *
 * For each payload size: encode (CRC) then read back, and seal (HMAC)
 * then open through a sealed reader, N times each; prints ns per frame,
 * in wall-clock time and in this process's CPU time (which other work on
 * a shared machine does not inflate). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "frame-mac.h"

typedef struct {
  double wall_ns;     /* per frame */
  double cpu_ns;
} Cost;

static gint64
cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static Cost
cost_since (gint64 wall_us, gint64 cpu_start_ns, guint frames)
{
  Cost c = { (double) (g_get_monotonic_time () - wall_us) * 1000.0 / frames,
             (double) (cpu_ns () - cpu_start_ns) / frames };

  return c;
}

static Cost
bench_plain (const char *payload, gsize length, guint frames)
{
  g_autoptr(DsmFrameReader) reader = dsm_frame_reader_new (length + 1);
  gint64 start = g_get_monotonic_time ();
  gint64 cpu_start = cpu_ns ();

  for (guint i = 0; i < frames; i++)
    {
      g_autoptr(GBytes) frame = dsm_frame_encode (payload, length);
      g_autoptr(GBytes) out = NULL;
      dsm_frame_reader_push (reader, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
      g_assert_true (dsm_frame_reader_pop (reader, &out, NULL));
    }
  return cost_since (start, cpu_start, frames);
}

static Cost
bench_sealed (const char *payload, gsize length, guint frames)
{
  guint8 key[DSM_FRAME_MAC_KEY_BYTES] = { 1, 2, 3 };
  g_autoptr(DsmFrameMac) sender = dsm_frame_mac_new (key);
  g_autoptr(DsmFrameReader) reader = dsm_frame_reader_new (length + 1);
  gint64 start = g_get_monotonic_time ();
  gint64 cpu_start = cpu_ns ();

  dsm_frame_reader_set_mac (reader, dsm_frame_mac_new (key));
  for (guint i = 0; i < frames; i++)
    {
      g_autoptr(GBytes) frame = dsm_frame_mac_seal (sender, payload, length);
      g_autoptr(GBytes) out = NULL;
      dsm_frame_reader_push (reader, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
      g_assert_true (dsm_frame_reader_pop (reader, &out, NULL));
    }
  return cost_since (start, cpu_start, frames);
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
  printf ("payload_bytes  plain_ns  sealed_ns  plain_cpu_ns  sealed_cpu_ns  sealed_extra_cpu_ns  sealed_MB_per_cpu_s\n");
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      g_autofree char *payload = g_malloc (sizes[s]);
      guint n = (guint) MAX (frames / (sizes[s] / 1024 + 1), 200u);
      memset (payload, 'x', sizes[s]);
      Cost plain = bench_plain (payload, sizes[s], n);
      Cost sealed = bench_sealed (payload, sizes[s], n);
      printf ("%13" G_GSIZE_FORMAT "  %8.0f  %9.0f  %12.0f  %13.0f  %19.0f  %19.0f\n", sizes[s], plain.wall_ns,
              sealed.wall_ns, plain.cpu_ns, sealed.cpu_ns, sealed.cpu_ns - plain.cpu_ns,
              (double) sizes[s] / sealed.cpu_ns * 1000.0);
    }
  return 0;
}
