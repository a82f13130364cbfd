/* tools/bench/bench-abuse.c: the HTTP attacks of issue 10 against one node,
 * for tools/bench/abuse.sh, which watches the node's loop and leadership
 * meanwhile (docs/BENCHMARKS.md, "Client abuse").  One thread, epoll.
 *
 *   bench-abuse body      --url HOST:PORT [--mb N]            POST with Content-Length N MB, then stream it
 *   bench-abuse slowloris --url HOST:PORT -c N -d S [--interval-ms I]
 *                                                             N heads, one header line per connection every I ms
 *   bench-abuse idle      --url HOST:PORT -c N -d S           N connections that send nothing
 *
 * Prints one JSON object: what was sent, the first status answered, how
 * many connections the node closed, and how many were still open at the end. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  gboolean open;
  gboolean connected;
  gint64 next_line_ns;
  guint lines;
  char first_status[4];
} Conn;

static G_NORETURN void die (const char *format, ...) G_GNUC_PRINTF (1, 2);

static G_NORETURN void
die (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  fprintf (stderr, "bench-abuse: ");
  vfprintf (stderr, format, args);
  fprintf (stderr, "\n");
  va_end (args);
  exit (2);
}

static gint64
now_ns (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (gint64) t.tv_sec * 1000000000 + t.tv_nsec;
}

static struct sockaddr_in target;
static char target_host[64];

static void
parse_target (const char *text)
{
  const char *colon = strrchr (text, ':');

  if (colon == NULL || colon - text >= (long) sizeof target_host)
    die ("--url HOST:PORT");
  memcpy (target_host, text, (size_t) (colon - text));
  target.sin_family = AF_INET;
  target.sin_port = htons ((guint16) atoi (colon + 1));
  if (inet_pton (AF_INET, target_host, &target.sin_addr) != 1)
    die ("--url: %s is not an IPv4 address", target_host);
}

static int
conn_open (int epfd, Conn *c)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c };

  if (fd < 0)
    return -1;
  if (connect (fd, (struct sockaddr *) &target, sizeof target) < 0 && errno != EINPROGRESS)
    {
      close (fd);
      return -1;
    }
  c->fd = fd;
  c->open = TRUE;
  epoll_ctl (epfd, EPOLL_CTL_ADD, fd, &ev);
  return fd;
}

/* Reads what the node sent: the first status, or its close. */
static void
conn_read (Conn *c, guint *closed_by_node)
{
  char buf[4096];
  gssize n;

  while ((n = recv (c->fd, buf, sizeof buf, 0)) > 0)
    if (c->first_status[0] == '\0' && n >= 12 && memcmp (buf, "HTTP/1.", 7) == 0)
      memcpy (c->first_status, buf + 9, 3);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
    {
      close (c->fd);
      c->open = FALSE;
      (*closed_by_node)++;
    }
}

static void
print_statuses (GString *out, Conn *conns, guint n)
{
  g_autoptr(GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key, value;
  gboolean first = TRUE;

  for (guint i = 0; i < n; i++)
    if (conns[i].first_status[0] != '\0')
      {
        guint count = GPOINTER_TO_UINT (g_hash_table_lookup (counts, conns[i].first_status));
        g_hash_table_replace (counts, g_strndup (conns[i].first_status, 3), GUINT_TO_POINTER (count + 1));
      }
  g_string_append (out, "\"answers\":{");
  g_hash_table_iter_init (&iter, counts);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      g_string_append_printf (out, "%s\"%s\":%u", first ? "" : ",", (char *) key, GPOINTER_TO_UINT (value));
      first = FALSE;
    }
  g_string_append_c (out, '}');
}

/* Many connections: @lines every @interval_ms (0: none), for @duration_s. */
static void
run_many (guint n, double duration_s, guint interval_ms, const char *mode)
{
  int epfd = epoll_create1 (EPOLL_CLOEXEC);
  Conn *conns = g_new0 (Conn, n);
  gint64 start = now_ns (), end = start + (gint64) (duration_s * 1e9);
  guint opened = 0, failed = 0, closed_by_node = 0, still_open = 0;
  g_autofree char *head = g_strdup_printf ("GET /healthz HTTP/1.1\r\nHost: %s\r\n", target_host);
  g_autoptr(GString) out = g_string_new ("{");

  for (guint i = 0; i < n; i++)
    {
      if (conn_open (epfd, &conns[i]) < 0)
        failed++;
      else
        opened++;
      conns[i].next_line_ns = start;
    }
  while (now_ns () < end)
    {
      struct epoll_event events[256];
      int k = epoll_wait (epfd, events, 256, 50);
      gint64 t = now_ns ();

      for (int e = 0; e < k; e++)
        {
          Conn *c = events[e].data.ptr;
          if (!c->open)
            continue;
          if (events[e].events & EPOLLOUT)
            {
              struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
              c->connected = TRUE;
              epoll_ctl (epfd, EPOLL_CTL_MOD, c->fd, &ev);
            }
          if (events[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            conn_read (c, &closed_by_node);
        }
      if (interval_ms == 0)
        continue;
      for (guint i = 0; i < n; i++)
        {
          Conn *c = &conns[i];
          if (!c->open || !c->connected || t < c->next_line_ns)
            continue;
          if (c->lines == 0)
            send (c->fd, head, strlen (head), MSG_NOSIGNAL);
          else
            send (c->fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL);
          c->lines++;
          c->next_line_ns = t + (gint64) interval_ms * 1000000;
        }
    }
  for (guint i = 0; i < n; i++)
    if (conns[i].open)
      {
        still_open++;
        close (conns[i].fd);
      }
  g_string_append_printf (out, "\"mode\":\"%s\",\"connections\":%u,\"connect_failed\":%u,\"closed_by_node\":%u,"
                          "\"still_open\":%u,\"seconds\":%.1f,", mode, opened, failed, closed_by_node, still_open,
                          duration_s);
  print_statuses (out, conns, n);
  g_string_append (out, "}");
  printf ("%s\n", out->str);
  close (epfd);
  g_free (conns);
}

/* One POST of @mb MB: the head, then the body as fast as the node takes it. */
static void
run_body (guint mb)
{
  Conn c = { 0 };
  int epfd = epoll_create1 (EPOLL_CLOEXEC);
  guint64 total = (guint64) mb * 1024 * 1024, sent = 0;
  g_autofree char *head = g_strdup_printf ("POST /v1/machines/big HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                                           "Content-Length: %" G_GUINT64_FORMAT "\r\n\r\n", target_host, total);
  static char chunk[64 * 1024];
  gint64 start = now_ns (), answered_ns = 0;
  guint closed = 0;
  int one = 1;

  memset (chunk, ' ', sizeof chunk);
  if (conn_open (epfd, &c) < 0)
    die ("connect: %s", g_strerror (errno));
  setsockopt (c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  /* Wait for the connection, then write until the node closes or all is sent. */
  while (!c.connected && now_ns () - start < 5000000000)
    {
      struct epoll_event ev;
      if (epoll_wait (epfd, &ev, 1, 100) == 1 && (ev.events & EPOLLOUT))
        c.connected = TRUE;
    }
  if (send (c.fd, head, strlen (head), MSG_NOSIGNAL) < 0)
    die ("send: %s", g_strerror (errno));
  while (c.open && sent < total && now_ns () - start < 120000000000)
    {
      gssize n = send (c.fd, chunk, MIN (sizeof chunk, total - sent), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0)
        sent += (guint64) n;
      else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        break;
      conn_read (&c, &closed);
      if (c.first_status[0] != '\0' && answered_ns == 0)
        answered_ns = now_ns ();
      if (n < 0)
        {
          struct epoll_event ev;
          epoll_wait (epfd, &ev, 1, 10);
        }
    }
  /* The answer may come after the last byte. */
  for (gint64 until = now_ns () + 5000000000; c.open && c.first_status[0] == '\0' && now_ns () < until;)
    {
      struct epoll_event ev;
      if (epoll_wait (epfd, &ev, 1, 100) == 1)
        conn_read (&c, &closed);
    }
  if (answered_ns == 0 && c.first_status[0] != '\0')
    answered_ns = now_ns ();
  printf ("{\"mode\":\"body\",\"body_bytes\":%" G_GUINT64_FORMAT ",\"sent_bytes\":%" G_GUINT64_FORMAT ","
          "\"status\":\"%s\",\"answered_after_ms\":%.1f,\"closed_by_node\":%s,\"seconds\":%.2f}\n",
          total, sent, c.first_status[0] != '\0' ? c.first_status : "none",
          answered_ns != 0 ? (double) (answered_ns - start) / 1e6 : -1.0, c.open ? "false" : "true",
          (double) (now_ns () - start) / 1e9);
  if (c.open)
    close (c.fd);
  close (epfd);
}

int
main (int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  guint n = 100, interval_ms = 2000, mb = 100;
  double duration_s = 10;

  for (int i = 2; i < argc; i += 2)
    {
      const char *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (v == NULL)
        die ("%s needs a value", argv[i]);
      if (strcmp (argv[i], "--url") == 0)
        parse_target (v);
      else if (strcmp (argv[i], "-c") == 0)
        n = (guint) atoi (v);
      else if (strcmp (argv[i], "-d") == 0)
        duration_s = g_ascii_strtod (v, NULL);
      else if (strcmp (argv[i], "--interval-ms") == 0)
        interval_ms = (guint) atoi (v);
      else if (strcmp (argv[i], "--mb") == 0)
        mb = (guint) atoi (v);
      else
        die ("unknown argument %s", argv[i]);
    }
  if (target.sin_port == 0)
    die ("usage: bench-abuse body|slowloris|idle --url HOST:PORT [-c N] [-d S] [--interval-ms I] [--mb N]");
  if (strcmp (mode, "body") == 0)
    run_body (mb);
  else if (strcmp (mode, "slowloris") == 0)
    run_many (n, duration_s, MAX (interval_ms, 1), "slowloris");
  else if (strcmp (mode, "idle") == 0)
    run_many (n, duration_s, 0, "idle");
  else
    die ("unknown mode \"%s\"", mode);
  return 0;
}
