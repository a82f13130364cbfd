/* tools/bench/bench-limits.c: the machine's physical limits the benchmark
 * report compares dsm against (docs/BENCHMARKS.md, part 4).
 *
 *   bench-limits fsync DIR [SECONDS [BYTES [prealloc]]]
 *                                      append BYTES-byte records (64) + fdatasync
 *                                      in DIR; "prealloc": into a file made full
 *                                      size first (overwrites, no block allocation)
 *   bench-limits rtt [ROUND_TRIPS]     TCP ping-pong over 127.0.0.1 (TCP_NODELAY)
 *
 * Each prints one JSON object: fsync: syncs/s and the p50/p99 of one
 * write+fdatasync; rtt: the p50/p99 of one 64-byte round trip. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die (const char *what)
{
  fprintf (stderr, "bench-limits: %s: %s\n", what, strerror (errno));
  exit (2);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
pct (double *v, size_t n, double p)
{
  size_t i = (size_t) (p / 100.0 * (n - 1) + 0.5);
  return v[i < n ? i : n - 1];
}

static int
cmd_fsync (const char *dir, double seconds, size_t bytes, int prealloc)
{
  char path[4096];
  static char record[1 << 20];
  size_t cap = 1 << 20, n = 0;
  off_t offset = 0;
  double *lat = malloc (cap * sizeof *lat);

  snprintf (path, sizeof path, "%s/bench-fsync.%d", dir, (int) getpid ());
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    die (path);
  if (bytes < 1 || bytes > sizeof record)
    bytes = 64;
  memset (record, 'r', bytes);
  if (prealloc)
    {
      /* Write the whole file once and sync it: later writes overwrite
       * allocated blocks, as in a preallocated WAL segment. */
      for (off_t o = 0; o < (off_t) (256 << 20); o += (off_t) sizeof record)
        if (pwrite (fd, record, sizeof record, o) != (ssize_t) sizeof record)
          die ("prealloc");
      if (fsync (fd) != 0)
        die ("fsync");
    }
  double start = now_s (), t = start;
  while (t - start < seconds && n < cap && offset + (off_t) bytes < (off_t) (256 << 20))
    {
      double t0 = now_s ();
      if (pwrite (fd, record, bytes, offset) != (ssize_t) bytes)
        die ("write");
      offset += (off_t) bytes;
      if (fdatasync (fd) != 0)
        die ("fdatasync");
      t = now_s ();
      lat[n++] = t - t0;
    }
  close (fd);
  unlink (path);
  qsort (lat, n, sizeof *lat, cmp_double);
  printf ("{\"bytes\":%zu,\"prealloc\":%s,\"fsyncs_per_s\":%.1f,\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"n\":%zu}\n", bytes, prealloc ? "true" : "false", n / (t - start),
          pct (lat, n, 50) * 1e3, pct (lat, n, 99) * 1e3, n);
  free (lat);
  return 0;
}

static void *
echo_thread (void *arg)
{
  int fd = *(int *) arg;
  char buf[64];
  for (;;)
    {
      ssize_t got = 0;
      while (got < (ssize_t) sizeof buf)
        {
          ssize_t r = read (fd, buf + got, sizeof buf - got);
          if (r <= 0)
            return NULL;
          got += r;
        }
      if (write (fd, buf, sizeof buf) != (ssize_t) sizeof buf)
        return NULL;
    }
}

static int
cmd_rtt (long trips)
{
  int one = 1;
  int ls = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t alen = sizeof a;
  if (ls < 0 || bind (ls, (struct sockaddr *) &a, sizeof a) != 0 || listen (ls, 1) != 0
      || getsockname (ls, (struct sockaddr *) &a, &alen) != 0)
    die ("listen");
  int c = socket (AF_INET, SOCK_STREAM, 0);
  if (connect (c, (struct sockaddr *) &a, sizeof a) != 0)
    die ("connect");
  int s = accept (ls, NULL, NULL);
  if (s < 0)
    die ("accept");
  setsockopt (c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt (s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  pthread_t th;
  pthread_create (&th, NULL, echo_thread, &s);

  double *lat = malloc (trips * sizeof *lat);
  char buf[64];
  memset (buf, 'p', sizeof buf);
  for (long i = 0; i < trips; i++)
    {
      double t0 = now_s ();
      if (write (c, buf, sizeof buf) != (ssize_t) sizeof buf)
        die ("write");
      ssize_t got = 0;
      while (got < (ssize_t) sizeof buf)
        {
          ssize_t r = read (c, buf + got, sizeof buf - got);
          if (r <= 0)
            die ("read");
          got += r;
        }
      lat[i] = now_s () - t0;
    }
  close (c);
  pthread_join (th, NULL);
  close (s);
  close (ls);
  qsort (lat, trips, sizeof *lat, cmp_double);
  printf ("{\"rtt_p50_us\":%.1f,\"rtt_p99_us\":%.1f,\"rtt_min_us\":%.1f,\"n\":%ld}\n", pct (lat, trips, 50) * 1e6,
          pct (lat, trips, 99) * 1e6, lat[0] * 1e6, trips);
  free (lat);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc >= 3 && strcmp (argv[1], "fsync") == 0)
    return cmd_fsync (argv[2], argc >= 4 ? atof (argv[3]) : 5.0, argc >= 5 ? (size_t) atol (argv[4]) : 64,
                      argc >= 6 && strcmp (argv[5], "prealloc") == 0);
  if (argc >= 2 && strcmp (argv[1], "rtt") == 0)
    return cmd_rtt (argc >= 3 ? atol (argv[2]) : 20000);
  fprintf (stderr, "usage: bench-limits fsync DIR [SECONDS [BYTES [prealloc]]] | rtt [ROUND_TRIPS]\n");
  return 2;
}
