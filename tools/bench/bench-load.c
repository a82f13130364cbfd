/* tools/bench/bench-load.c: the one HTTP/JSON load generator of the
 * benchmark suite, driving dsm and etcd the same way (docs/BENCHMARKS.md).
 *
 * One thread, epoll, N keep-alive HTTP/1.1 connections with one request in
 * flight each (closed loop).  Every write names a fresh key, so each one is a
 * legal transition (dsm: machine Init -> Running; etcd: a put), and the
 * generator knows exactly which writes were acknowledged: it writes them to
 * --acked and `bench-load verify` checks them against the cluster's listing.
 * wrk cannot do that for etcd (its put reply does not name the key).
 *
 *   bench-load run --system dsm|etcd --op write|read --url HOST:PORT [--url ...]
 *                  -c CONNECTIONS -d SECONDS [--warmup S] [--prefix P]
 *                  [--acked FILE] [--keys FILE] [--timeout-ms T] [--token T]
 *                  [--kill-pid PID --kill-at S] [--timeline FILE]
 *   bench-load verify --system dsm|etcd --acked FILE --list FILE
 *
 * `run` prints one JSON object: requests, ok, errors by kind, ok/s over the
 * measured window, latency p50/p90/p99/max of the ok answers in that window
 * and, with --kill-pid, the failover time: from the SIGKILL it sends itself
 * to the first acknowledged write that was *sent* after it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef enum { SYSTEM_DSM, SYSTEM_ETCD } System;
typedef enum { OP_WRITE, OP_READ } Op;
typedef enum { CONN_DOWN, CONN_CONNECTING, CONN_BUSY, CONN_IDLE } ConnState;

typedef struct {
  struct sockaddr_in addr;
  char host[64];
} Target;

typedef struct {
  int fd;
  guint index;
  guint target;
  ConnState state;
  GString *out;
  gsize out_done;
  GString *in;
  char *key;                 /* the key of the request in flight */
  gint64 sent_ns;
  gint64 retry_at_ns;        /* when CONN_DOWN: reconnect at */
  guint64 counter;
} Conn;

typedef struct {
  System system;
  Op op;
  GArray *targets;           /* Target */
  guint n_conns;
  double duration_s, warmup_s;
  const char *prefix;
  char *auth_header;         /* "Authorization: Bearer T\r\n" (dsm, --token or $DSM_TOKEN), or "" */
  FILE *acked;
  GPtrArray *keys;           /* for reads */
  gint64 timeout_ns;
  int kill_pid;
  double kill_at_s;
  const char *timeline_path;

  int epfd;
  Conn *conns;
  gint64 start_ns, measure_from_ns, end_ns;
  gboolean stopping;
  guint64 read_cursor;

  /* results */
  guint64 requests, ok, ok_window, bad_answer;
  guint64 err_status[6];     /* by status class: 1xx..5xx (index 1..5), 0 other */
  guint64 err_timeout, err_connect, err_reset;
  GArray *latency_us;        /* guint32, ok answers in the window */
  GArray *ack_ms;            /* guint32 ms since start of every ok, for --timeline */
  gint64 kill_ns;
  gint64 first_ack_after_kill_ns;   /* of a request sent after the kill */
  guint64 acks_after_kill;
} Load;

static gint64
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static G_GNUC_NORETURN G_GNUC_PRINTF (1, 2) void
die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "bench-load: ");
  vfprintf (stderr, fmt, ap);
  fprintf (stderr, "\n");
  va_end (ap);
  exit (2);
}

static void
parse_target (const char *text, Target *t)
{
  const char *s = text;
  if (g_str_has_prefix (s, "http://"))
    s += 7;
  const char *colon = strrchr (s, ':');
  if (colon == NULL)
    die ("--url %s: expected HOST:PORT", text);
  g_autofree char *host = g_strndup (s, colon - s);
  int port = atoi (colon + 1);
  memset (t, 0, sizeof *t);
  t->addr.sin_family = AF_INET;
  t->addr.sin_port = htons ((guint16) port);
  if (g_strcmp0 (host, "localhost") == 0)
    host = (g_free (host), g_strdup ("127.0.0.1"));
  if (inet_pton (AF_INET, host, &t->addr.sin_addr) != 1 || port <= 0 || port > 65535)
    die ("--url %s: expected an IPv4 address and a port", text);
  g_snprintf (t->host, sizeof t->host, "%s:%d", host, port);
}

/* ---- requests ---- */

static void
conn_build_request (Load *l, Conn *c)
{
  const Target *t = &g_array_index (l->targets, Target, c->target);
  g_free (c->key);
  if (l->op == OP_WRITE)
    c->key = g_strdup_printf ("%s-%u-%" G_GUINT64_FORMAT, l->prefix, c->index, ++c->counter);
  else
    c->key = g_strdup (l->keys->pdata[l->read_cursor++ % l->keys->len]);
  g_string_truncate (c->out, 0);
  c->out_done = 0;
  if (l->system == SYSTEM_DSM)
    {
      if (l->op == OP_WRITE)
        g_string_append_printf (c->out,
                                "POST /v1/machines/%s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/json\r\n"
                                "Content-Length: 16\r\n\r\n{\"to\":\"Running\"}", c->key, t->host, l->auth_header);
      else
        g_string_append_printf (c->out, "GET /v1/machines/%s HTTP/1.1\r\nHost: %s\r\n%s\r\n", c->key, t->host,
                                l->auth_header);
    }
  else
    {
      g_autofree char *k64 = g_base64_encode ((const guchar *) c->key, strlen (c->key));
      g_autofree char *body = l->op == OP_WRITE
        ? g_strdup_printf ("{\"key\":\"%s\",\"value\":\"UnVubmluZw==\"}", k64)   /* "Running" */
        : g_strdup_printf ("{\"key\":\"%s\"}", k64);
      g_string_append_printf (c->out,
                              "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                              "Content-Length: %zu\r\n\r\n%s",
                              l->op == OP_WRITE ? "/v3/kv/put" : "/v3/kv/range", t->host, strlen (body), body);
    }
}

/* ---- connections ---- */

static void conn_send_next (Load *l, Conn *c);

static void
conn_close (Load *l, Conn *c, gint64 retry_delay_ns, gboolean next_target)
{
  if (c->fd >= 0)
    {
      epoll_ctl (l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
      close (c->fd);
    }
  c->fd = -1;
  c->state = CONN_DOWN;
  c->retry_at_ns = now_ns () + retry_delay_ns;
  if (next_target)
    c->target = (c->target + 1) % l->targets->len;
}

static void
conn_open (Load *l, Conn *c)
{
  const Target *t = &g_array_index (l->targets, Target, c->target);
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0)
    die ("socket: %s", g_strerror (errno));
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd = fd;
  g_string_truncate (c->in, 0);
  if (connect (fd, (const struct sockaddr *) &t->addr, sizeof t->addr) < 0 && errno != EINPROGRESS)
    {
      l->err_connect++;
      conn_close (l, c, 20 * 1000000, TRUE);
      return;
    }
  struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = c };
  epoll_ctl (l->epfd, EPOLL_CTL_ADD, fd, &ev);
  c->state = CONN_CONNECTING;
  c->sent_ns = now_ns ();    /* the connect counts against the timeout */
}

static void
conn_want_write (Load *l, Conn *c, gboolean want)
{
  struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c };
  epoll_ctl (l->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
conn_flush (Load *l, Conn *c)
{
  while (c->out_done < c->out->len)
    {
      ssize_t n = send (c->fd, c->out->str + c->out_done, c->out->len - c->out_done, MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          conn_want_write (l, c, TRUE);
          return;
        }
      if (n <= 0)
        {
          l->err_reset++;
          conn_close (l, c, 10 * 1000000, TRUE);
          return;
        }
      c->out_done += (gsize) n;
    }
  conn_want_write (l, c, FALSE);
}

static void
conn_send_next (Load *l, Conn *c)
{
  if (l->stopping)
    {
      c->state = CONN_IDLE;
      return;
    }
  conn_build_request (l, c);
  c->state = CONN_BUSY;
  c->sent_ns = now_ns ();
  l->requests++;
  conn_flush (l, c);
}

static void
record_ok (Load *l, Conn *c, gint64 t)
{
  l->ok++;
  if (l->acked != NULL && l->op == OP_WRITE)
    fprintf (l->acked, "%s\n", c->key);
  if (t >= l->measure_from_ns && t <= l->end_ns)
    {
      guint32 us = (guint32) MIN ((t - c->sent_ns) / 1000, G_MAXUINT32);
      g_array_append_val (l->latency_us, us);
      l->ok_window++;
    }
  guint32 ms = (guint32) ((t - l->start_ns) / 1000000);
  g_array_append_val (l->ack_ms, ms);
  if (l->kill_ns != 0 && t >= l->kill_ns)
    {
      l->acks_after_kill++;
      if (l->first_ack_after_kill_ns == 0 && c->sent_ns >= l->kill_ns)
        l->first_ack_after_kill_ns = t;
    }
}

/* Decodes a chunked body in place; returns its length, or -1 if incomplete. */
static gssize
dechunk (const char *p, gsize len)
{
  gsize i = 0;
  for (;;)
    {
      const char *eol = g_strstr_len (p + i, len - i, "\r\n");
      if (eol == NULL)
        return -1;
      gsize size = strtoul (p + i, NULL, 16);
      i = (gsize) (eol - p) + 2;
      if (size == 0)
        return len >= i + 2 ? (gssize) (i + 2) : -1;
      if (len < i + size + 2)
        return -1;
      i += size + 2;
    }
}

/* Returns TRUE when a whole response was consumed from c->in. */
static gboolean
conn_parse (Load *l, Conn *c)
{
  char *head_end = g_strstr_len (c->in->str, c->in->len, "\r\n\r\n");
  if (head_end == NULL)
    return FALSE;
  gsize head_len = (gsize) (head_end - c->in->str) + 4;
  int status = 0;
  if (sscanf (c->in->str, "HTTP/1.%*d %d", &status) != 1)
    status = 0;
  gssize body_len = -1;
  gboolean chunked = FALSE, closing = FALSE;
  g_autofree char *head = g_ascii_strdown (c->in->str, (gssize) head_len);
  const char *cl = strstr (head, "\r\ncontent-length:");
  if (cl != NULL)
    body_len = strtol (cl + 17, NULL, 10);
  else if (strstr (head, "\r\ntransfer-encoding: chunked") != NULL)
    chunked = TRUE;
  else
    body_len = 0;
  if (strstr (head, "\r\nconnection: close") != NULL)
    closing = TRUE;
  gsize total;
  if (chunked)
    {
      gssize n = dechunk (c->in->str + head_len, c->in->len - head_len);
      if (n < 0)
        return FALSE;
      total = head_len + (gsize) n;
    }
  else
    {
      if (c->in->len < head_len + (gsize) body_len)
        return FALSE;
      total = head_len + (gsize) body_len;
    }

  gint64 t = now_ns ();
  const char *body = c->in->str + head_len;
  gsize blen = total - head_len;
  gboolean ok = FALSE;
  if (status == 200)
    {
      if (l->system == SYSTEM_DSM)
        ok = g_strstr_len (body, (gssize) blen, "\"state\":\"Running\"") != NULL;
      else if (l->op == OP_WRITE)
        ok = g_strstr_len (body, (gssize) blen, "\"error\"") == NULL;
      else
        ok = g_strstr_len (body, (gssize) blen, "\"kvs\"") != NULL;
      if (!ok)
        l->bad_answer++;
    }
  else
    l->err_status[status >= 100 && status < 600 ? status / 100 : 0]++;
  if (ok)
    record_ok (l, c, t);
  g_string_erase (c->in, 0, (gssize) total);
  if (closing)
    {
      conn_close (l, c, 0, FALSE);
      return TRUE;
    }
  /* A 503 (no leader, overloaded) asks us to back off a little. */
  if (status == 503)
    {
      c->state = CONN_IDLE;
      c->retry_at_ns = t + 5 * 1000000;
      return TRUE;
    }
  conn_send_next (l, c);
  return TRUE;
}

static void
conn_readable (Load *l, Conn *c)
{
  char buf[16384];
  for (;;)
    {
      ssize_t n = recv (c->fd, buf, sizeof buf, 0);
      if (n > 0)
        {
          g_string_append_len (c->in, buf, n);
          continue;
        }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        break;
      /* closed or reset */
      if (c->state == CONN_BUSY)
        l->err_reset++;
      conn_close (l, c, 10 * 1000000, TRUE);
      return;
    }
  while (c->state == CONN_BUSY && c->in->len > 0 && conn_parse (l, c))
    ;
}

static void
conn_event (Load *l, Conn *c, guint32 events)
{
  if (c->state == CONN_CONNECTING)
    {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt (c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events & (EPOLLERR | EPOLLHUP)))
        {
          l->err_connect++;
          conn_close (l, c, 20 * 1000000, TRUE);
          return;
        }
      conn_send_next (l, c);
      return;
    }
  if (events & EPOLLOUT)
    conn_flush (l, c);
  if (c->fd >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
    conn_readable (l, c);
}

/* ---- the loop ---- */

static void
load_run (Load *l)
{
  l->epfd = epoll_create1 (EPOLL_CLOEXEC);
  l->conns = g_new0 (Conn, l->n_conns);
  l->start_ns = now_ns ();
  l->measure_from_ns = l->start_ns + (gint64) (l->warmup_s * 1e9);
  l->end_ns = l->measure_from_ns + (gint64) (l->duration_s * 1e9);
  gint64 kill_at = l->kill_pid > 0 ? l->start_ns + (gint64) (l->kill_at_s * 1e9) : 0;
  gint64 drain_until = 0;

  for (guint i = 0; i < l->n_conns; i++)
    {
      Conn *c = &l->conns[i];
      c->index = i;
      c->fd = -1;
      c->target = i % l->targets->len;
      c->out = g_string_new (NULL);
      c->in = g_string_new (NULL);
      conn_open (l, c);
    }

  struct epoll_event events[256];
  for (;;)
    {
      gint64 t = now_ns ();
      if (kill_at != 0 && l->kill_ns == 0 && t >= kill_at)
        {
          if (kill (l->kill_pid, SIGKILL) != 0)
            die ("kill %d: %s", l->kill_pid, g_strerror (errno));
          l->kill_ns = now_ns ();
        }
      if (!l->stopping && t >= l->end_ns)
        {
          l->stopping = TRUE;
          drain_until = t + MIN (l->timeout_ns, 5 * (gint64) 1000000000);
        }
      gboolean busy = FALSE;
      for (guint i = 0; i < l->n_conns; i++)
        {
          Conn *c = &l->conns[i];
          if ((c->state == CONN_BUSY || c->state == CONN_CONNECTING) && t - c->sent_ns > l->timeout_ns)
            {
              if (c->state == CONN_BUSY)
                l->err_timeout++;
              else
                l->err_connect++;
              conn_close (l, c, 0, TRUE);
            }
          if (l->stopping)
            {
              busy |= c->state == CONN_BUSY;
              continue;
            }
          if (c->state == CONN_DOWN && t >= c->retry_at_ns)
            conn_open (l, c);
          else if (c->state == CONN_IDLE && t >= c->retry_at_ns)
            conn_send_next (l, c);
        }
      if (l->stopping && (!busy || t >= drain_until))
        break;
      int n = epoll_wait (l->epfd, events, G_N_ELEMENTS (events), 2);
      for (int i = 0; i < n; i++)
        {
          Conn *c = events[i].data.ptr;
          if (c->fd >= 0)
            conn_event (l, c, events[i].events);
        }
    }
  for (guint i = 0; i < l->n_conns; i++)
    if (l->conns[i].fd >= 0)
      close (l->conns[i].fd);
}

static int
cmp_u32 (const void *a, const void *b)
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

static void
load_report (Load *l)
{
  g_array_sort (l->latency_us, cmp_u32);
  double window = l->duration_s;
  printf ("{\"requests\":%" G_GUINT64_FORMAT ",\"ok\":%" G_GUINT64_FORMAT ",\"ok_in_window\":%" G_GUINT64_FORMAT
          ",\"rate\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f"
          ",\"errors\":{\"timeout\":%" G_GUINT64_FORMAT ",\"connect\":%" G_GUINT64_FORMAT ",\"reset\":%" G_GUINT64_FORMAT
          ",\"http_4xx\":%" G_GUINT64_FORMAT ",\"http_5xx\":%" G_GUINT64_FORMAT ",\"http_other\":%" G_GUINT64_FORMAT
          ",\"bad_answer\":%" G_GUINT64_FORMAT "}",
          l->requests, l->ok, l->ok_window, l->ok_window / window,
          pct_ms (l->latency_us, 50), pct_ms (l->latency_us, 90), pct_ms (l->latency_us, 99),
          pct_ms (l->latency_us, 100), l->err_timeout, l->err_connect, l->err_reset,
          l->err_status[4], l->err_status[5], l->err_status[0] + l->err_status[1] + l->err_status[2] + l->err_status[3],
          l->bad_answer);
  if (l->kill_pid > 0)
    {
      if (l->first_ack_after_kill_ns != 0)
        printf (",\"failover_ms\":%.1f", (l->first_ack_after_kill_ns - l->kill_ns) / 1e6);
      else
        printf (",\"failover_ms\":null");
      printf (",\"kill_at_ms\":%.1f,\"acks_after_kill\":%" G_GUINT64_FORMAT,
              (l->kill_ns - l->start_ns) / 1e6, l->acks_after_kill);
    }
  printf ("}\n");

  if (l->timeline_path != NULL)
    {
      FILE *f = fopen (l->timeline_path, "w");
      if (f == NULL)
        die ("%s: %s", l->timeline_path, g_strerror (errno));
      guint32 last = l->ack_ms->len ? g_array_index (l->ack_ms, guint32, l->ack_ms->len - 1) : 0;
      guint buckets = last / 10 + 1;
      guint *count = g_new0 (guint, buckets);
      for (guint i = 0; i < l->ack_ms->len; i++)
        count[g_array_index (l->ack_ms, guint32, i) / 10]++;
      double kill_ms = l->kill_ns ? (l->kill_ns - l->start_ns) / 1e6 : -1;
      fprintf (f, "# t_ms_since_kill acks_per_s (10 ms buckets)\n");
      for (guint b = 0; b < buckets; b++)
        fprintf (f, "%.0f %u\n", b * 10.0 - (kill_ms >= 0 ? kill_ms : 0), count[b] * 100);
      g_free (count);
      fclose (f);
    }
}

/* ---- verify ---- */

static int
cmd_verify (System system, const char *acked_path, const char *list_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_file (parser, list_path, &error))
    die ("%s: %s", list_path, error->message);
  JsonNode *root = json_parser_get_root (parser);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    die ("%s: not a JSON object", list_path);
  JsonObject *o = json_node_get_object (root);
  g_autoptr(GHashTable) present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *array_name = system == SYSTEM_DSM ? "machines" : "kvs";
  JsonArray *a = json_object_has_member (o, array_name) ? json_object_get_array_member (o, array_name) : NULL;
  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      JsonObject *e = json_array_get_object_element (a, i);
      if (system == SYSTEM_DSM)
        {
          if (g_strcmp0 (json_object_get_string_member_with_default (e, "state", ""), "Running") == 0)
            g_hash_table_add (present, g_strdup (json_object_get_string_member (e, "machine")));
        }
      else
        {
          gsize len = 0;
          guchar *k = g_base64_decode (json_object_get_string_member (e, "key"), &len);
          g_hash_table_add (present, g_strndup ((const char *) k, len));
          g_free (k);
        }
    }
  g_autofree char *acked = NULL;
  if (!g_file_get_contents (acked_path, &acked, NULL, &error))
    die ("%s", error->message);
  g_auto(GStrv) lines = g_strsplit (acked, "\n", -1);
  guint64 n_acked = 0, missing = 0;
  const char *first_missing = NULL;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '\0')
        continue;
      n_acked++;
      if (!g_hash_table_contains (present, lines[i]))
        {
          missing++;
          if (first_missing == NULL)
            first_missing = lines[i];
        }
    }
  printf ("{\"acked\":%" G_GUINT64_FORMAT ",\"present\":%u,\"missing\":%" G_GUINT64_FORMAT ",\"first_missing\":\"%s\"}\n",
          n_acked, g_hash_table_size (present), missing, first_missing ? first_missing : "");
  return missing == 0 ? 0 : 1;
}

/* ---- main ---- */

int
main (int argc, char **argv)
{
  Load l = { .n_conns = 1, .duration_s = 10, .prefix = "b", .timeout_ns = 10 * (gint64) 1000000000 };
  const char *acked_path = NULL, *keys_path = NULL, *list_path = NULL, *system = NULL, *op = "write";
  const char *token = g_getenv ("DSM_TOKEN");

  if (argc < 2 || (strcmp (argv[1], "run") != 0 && strcmp (argv[1], "verify") != 0))
    die ("usage: bench-load run|verify ... (see the comment at the top of tools/bench/bench-load.c)");
  gboolean verify = strcmp (argv[1], "verify") == 0;
  l.targets = g_array_new (FALSE, TRUE, sizeof (Target));
  for (int i = 2; i < argc; i++)
    {
      const char *a = argv[i];
      const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp (a, name) == 0 && (v != NULL || (die ("%s needs a value", name), 0)) && ++i)
      if (ARG ("--system")) system = v;
      else if (ARG ("--op")) op = v;
      else if (ARG ("--url")) { Target t; parse_target (v, &t); g_array_append_val (l.targets, t); }
      else if (ARG ("-c")) l.n_conns = (guint) atoi (v);
      else if (ARG ("-d")) l.duration_s = g_ascii_strtod (v, NULL);
      else if (ARG ("--warmup")) l.warmup_s = g_ascii_strtod (v, NULL);
      else if (ARG ("--prefix")) l.prefix = v;
      else if (ARG ("--acked")) acked_path = v;
      else if (ARG ("--keys")) keys_path = v;
      else if (ARG ("--list")) list_path = v;
      else if (ARG ("--timeout-ms")) l.timeout_ns = (gint64) atoi (v) * 1000000;
      else if (ARG ("--kill-pid")) l.kill_pid = atoi (v);
      else if (ARG ("--kill-at")) l.kill_at_s = g_ascii_strtod (v, NULL);
      else if (ARG ("--timeline")) l.timeline_path = v;
      else if (ARG ("--token")) token = v;
      else die ("unknown argument \"%s\"", a);
#undef ARG
    }
  if (system == NULL || (strcmp (system, "dsm") != 0 && strcmp (system, "etcd") != 0))
    die ("--system must be dsm or etcd");
  l.system = strcmp (system, "dsm") == 0 ? SYSTEM_DSM : SYSTEM_ETCD;
  /* dsm's API asks for a bearer token (docs/OPERATIONS.md, "Authentication"). */
  l.auth_header = token != NULL && token[0] != '\0' && l.system == SYSTEM_DSM
                    ? g_strdup_printf ("Authorization: Bearer %s\r\n", token) : g_strdup ("");
  if (verify)
    {
      if (acked_path == NULL || list_path == NULL)
        die ("verify needs --acked FILE and --list FILE");
      return cmd_verify (l.system, acked_path, list_path);
    }
  if (strcmp (op, "write") != 0 && strcmp (op, "read") != 0)
    die ("--op must be write or read");
  l.op = strcmp (op, "write") == 0 ? OP_WRITE : OP_READ;
  if (l.targets->len == 0)
    die ("--url is required");
  if (l.n_conns < 1 || l.n_conns > 4096 || l.duration_s <= 0 || l.timeout_ns <= 0)
    die ("bad -c, -d or --timeout-ms");
  if (acked_path != NULL && (l.acked = fopen (acked_path, "w")) == NULL)
    die ("%s: %s", acked_path, g_strerror (errno));
  if (l.op == OP_READ)
    {
      g_autofree char *text = NULL;
      if (keys_path == NULL || !g_file_get_contents (keys_path, &text, NULL, NULL))
        die ("--op read needs --keys FILE (one key a line)");
      l.keys = g_ptr_array_new_with_free_func (g_free);
      g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        if (lines[i][0] != '\0')
          g_ptr_array_add (l.keys, g_strdup (lines[i]));
      if (l.keys->len == 0)
        die ("%s: no keys", keys_path);
    }
  if (l.kill_pid > 0 && l.kill_at_s <= 0)
    die ("--kill-pid needs --kill-at SECONDS");
  signal (SIGPIPE, SIG_IGN);
  l.latency_us = g_array_sized_new (FALSE, FALSE, sizeof (guint32), 1 << 16);
  l.ack_ms = g_array_sized_new (FALSE, FALSE, sizeof (guint32), 1 << 16);
  load_run (&l);
  if (l.acked != NULL)
    fclose (l.acked);
  load_report (&l);
  return 0;
}
