/* tools/bench/bench-native.c: the benchmark suite's load generator for
 * dsm's native client protocol (docs/CLIENT.md), through libdsm-client,
 * next to bench-load's HTTP/JSON.  It takes bench-load's arguments and
 * prints bench-load's figures (the same closed loop: each client keeps one
 * request in flight; the same --acked file of acknowledged keys, checked
 * afterwards by `bench-load verify --system dsm`), as etcd-native does for
 * etcd's gRPC client, so tools/bench compares like with like.
 *
 *   bench-native run --url HOST:PORT [--url ...] -c CLIENTS [--conns N]
 *                    -d SECONDS [--warmup S] [--prefix P] [--acked FILE]
 *                    [--op write|read] [--keys FILE] [--token T] [--timeout-ms T]
 *
 * --url names native addresses (the first is tried first; the library
 * moves to the leader itself).  CLIENTS requests are kept in flight over
 * N connections (default one per 8 clients, etcd's own ratio), each a
 * libdsm-client on one thread.  A write is a fresh machine Init ->
 * Running; a read is a linearizable read of a key of --keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsm-client.h"

typedef struct {
  DsmClient **clients;
  guint n_conns;
  gboolean read;
  char **keys;
  guint n_keys;
  guint next_key;
  const char *prefix;
  FILE *acked;
  gint64 window_start_us;
  gint64 end_us;
  guint64 counter;
  guint64 requests;
  guint64 ok;
  guint64 ok_window;
  guint64 rejected;
  guint64 unknown;
  guint64 failed;
  guint outstanding;
  GArray *latency_us;           /* guint32, ok answers in the window */
} Bench;

typedef struct {
  Bench *b;
  guint conn;
  char *key;
  gint64 sent_us;
} Op;

static void bench_send (Bench *b, guint conn);

static void
bench_done (DsmClient *client, const DsmClientResult *result, const GError *error, gpointer data)
{
  Op *op = data;
  Bench *b = op->b;
  gint64 now = g_get_monotonic_time ();
  guint conn = op->conn;

  b->outstanding--;
  if (error != NULL)
    {
      if (++b->failed <= 5)
        g_printerr ("bench-native: %s: %s\n", op->key, error->message);
    }
  else if (result->status == DSM_CLIENT_OK)
    {
      b->ok++;
      if (b->acked != NULL && !b->read)
        fprintf (b->acked, "%s\n", op->key);
      if (op->sent_us >= b->window_start_us && now <= b->end_us)
        {
          guint32 us = (guint32) MIN (now - op->sent_us, (gint64) G_MAXUINT32);
          b->ok_window++;
          g_array_append_val (b->latency_us, us);
        }
    }
  else if (result->status == DSM_CLIENT_REJECTED)
    b->rejected++;
  else
    b->unknown++;
  g_free (op->key);
  g_free (op);
  if (now < b->end_us)
    bench_send (b, conn);
}

static void
bench_send (Bench *b, guint conn)
{
  Op *op = g_new0 (Op, 1);

  op->b = b;
  op->conn = conn;
  op->sent_us = g_get_monotonic_time ();
  b->requests++;
  b->outstanding++;
  if (b->read)
    {
      op->key = g_strdup (b->keys[b->next_key++ % b->n_keys]);
      dsm_client_read (b->clients[conn], op->key, NULL, FALSE, bench_done, op);
    }
  else
    {
      op->key = g_strdup_printf ("%s-%u-%" G_GUINT64_FORMAT, b->prefix, conn, ++b->counter);
      dsm_client_transition (b->clients[conn], op->key, "Running", NULL, NULL, bench_done, op);
    }
}

static int
cmp_u32 (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

static double
pct_ms (GArray *sorted, double p)
{
  if (sorted->len == 0)
    return 0;
  gsize i = (gsize) (p / 100.0 * (sorted->len - 1) + 0.5);
  return g_array_index (sorted, guint32, MIN (i, sorted->len - 1)) / 1000.0;
}

static void G_GNUC_NORETURN
die (const char *what, const char *value)
{
  fprintf (stderr, "bench-native: %s%s%s (see the top of tools/bench/bench-native.c)\n", what,
           value != NULL ? ": " : "", value != NULL ? value : "");
  exit (2);
}

/* "http://127.0.0.1:7201/" and "127.0.0.1:7201" alike: host:port. */
static char *
bench_address (const char *url)
{
  const char *start = strstr (url, "://") != NULL ? strstr (url, "://") + 3 : url;
  const char *slash = strchr (start, '/');
  return slash != NULL ? g_strndup (start, (gsize) (slash - start)) : g_strdup (start);
}

int
main (int argc, char **argv)
{
  g_autoptr(GPtrArray) nodes = g_ptr_array_new_with_free_func (g_free);
  Bench b = { .prefix = "w" };
  guint clients = 1, conns = 0, timeout_ms = 10000;
  double duration = 10, warmup = 1;
  const char *acked_path = NULL, *token = NULL, *keys_path = NULL;

  if (argc < 2 || strcmp (argv[1], "run") != 0)
    die ("usage: bench-native run --url HOST:PORT -c CLIENTS -d SECONDS ...", NULL);
  for (int i = 2; i < argc; i += 2)
    {
      const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (v == NULL)
        die ("an option without its value", a);
      if (strcmp (a, "--url") == 0)
        g_ptr_array_add (nodes, bench_address (v));
      else if (strcmp (a, "-c") == 0 && atoi (v) >= 1)
        clients = (guint) atoi (v);
      else if (strcmp (a, "--conns") == 0 && atoi (v) >= 1)
        conns = (guint) atoi (v);
      else if (strcmp (a, "-d") == 0 && atof (v) > 0)
        duration = atof (v);
      else if (strcmp (a, "--warmup") == 0 && atof (v) >= 0)
        warmup = atof (v);
      else if (strcmp (a, "--prefix") == 0)
        b.prefix = v;
      else if (strcmp (a, "--acked") == 0)
        acked_path = v;
      else if (strcmp (a, "--keys") == 0)
        keys_path = v;
      else if (strcmp (a, "--token") == 0)
        token = v;
      else if (strcmp (a, "--timeout-ms") == 0 && atoi (v) >= 1)
        timeout_ms = (guint) atoi (v);
      else if (strcmp (a, "--op") == 0 && (strcmp (v, "write") == 0 || strcmp (v, "read") == 0))
        b.read = strcmp (v, "read") == 0;
      else if (strcmp (a, "--system") == 0 && strcmp (v, "dsm") == 0)
        ;
      else
        die ("unknown option or bad value", a);
    }
  if (nodes->len == 0)
    die ("--url HOST:PORT is required", NULL);
  if (token == NULL)
    token = g_getenv ("DSM_TOKEN");
  if (b.read)
    {
      g_autofree char *text = NULL;
      if (keys_path == NULL || !g_file_get_contents (keys_path, &text, NULL, NULL))
        die ("--op read needs a readable --keys FILE", keys_path);
      b.keys = g_strsplit_set (g_strstrip (text), "\n", -1);
      b.n_keys = g_strv_length (b.keys);
      if (b.n_keys == 0 || b.keys[0][0] == '\0')
        die ("--keys: no key", keys_path);
    }
  if (conns == 0)
    conns = (clients + 7) / 8;
  conns = MIN (conns, clients);
  g_ptr_array_add (nodes, NULL);
  if (acked_path != NULL && (b.acked = fopen (acked_path, "w")) == NULL)
    die ("cannot write --acked", acked_path);

  DsmClientOptions options;
  dsm_client_options_init (&options);
  options.nodes = (const char *const *) nodes->pdata;
  options.token = token;
  options.max_in_flight = (clients + conns - 1) / conns;
  options.request_timeout_ms = timeout_ms;
  options.attempts = 100;
  b.n_conns = conns;
  b.clients = g_new0 (DsmClient *, conns);
  b.latency_us = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint c = 0; c < conns; c++)
    b.clients[c] = dsm_client_new (&options, NULL);
  b.window_start_us = g_get_monotonic_time () + (gint64) (warmup * G_USEC_PER_SEC);
  b.end_us = b.window_start_us + (gint64) (duration * G_USEC_PER_SEC);
  /* Client k on connection k % conns: each keeps one request in flight. */
  for (guint k = 0; k < clients; k++)
    bench_send (&b, k % conns);
  /* Until every request is answered: the acknowledged list is complete. */
  while (b.outstanding > 0)
    g_main_context_iteration (NULL, TRUE);

  guint64 retries = 0;
  for (guint c = 0; c < conns; c++)
    {
      retries += dsm_client_get_retries (b.clients[c]);
      dsm_client_free (b.clients[c]);
    }
  if (b.acked != NULL)
    fclose (b.acked);
  g_array_sort (b.latency_us, cmp_u32);
  printf ("{\"requests\":%" G_GUINT64_FORMAT ",\"ok\":%" G_GUINT64_FORMAT ",\"ok_in_window\":%" G_GUINT64_FORMAT
          ",\"rate\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f"
          ",\"errors\":{\"rejected\":%" G_GUINT64_FORMAT ",\"unknown\":%" G_GUINT64_FORMAT ",\"failed\":%" G_GUINT64_FORMAT
          "},\"retries\":%" G_GUINT64_FORMAT ",\"clients\":%u,\"connections\":%u}\n",
          b.requests, b.ok, b.ok_window, b.ok_window / duration, pct_ms (b.latency_us, 50),
          pct_ms (b.latency_us, 90), pct_ms (b.latency_us, 99), pct_ms (b.latency_us, 100), b.rejected, b.unknown,
          b.failed, retries, clients, conns);
  g_array_unref (b.latency_us);
  g_free (b.clients);
  g_strfreev (b.keys);
  return 0;
}
