/* net/http-server.c: the HTTP server's workers (http-server.h): threads
 * with their own GMainContext and epoll set, accepting from one shared
 * listening socket (EPOLLEXCLUSIVE: one worker wakes per connection),
 * connection caps, answers handed in from other threads, deadline sweeps
 * and metrics.  One connection's life is http-conn.c. */
#define _GNU_SOURCE
#include "http-server-private.h"

#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "address.h"
#include "metrics.h"
#include "netlog.h"

#define READ_BYTES (64 * 1024)
#define EVENTS_PER_WAKE 64
#define ACCEPTS_PER_WAKE 64
/* After EMFILE the listening socket stays readable: stop asking for a while. */
#define ACCEPT_PAUSE_MS 100

/* ---- options ---- */

void
dsm_http_server_options_init (DsmHttpServerOptions *options)
{
  memset (options, 0, sizeof *options);
  options->workers = 2;
  options->limits.request_line_bytes_max = 8 * 1024;
  options->limits.header_bytes_max = 16 * 1024;
  options->limits.header_count_max = 64;
  options->limits.body_bytes_max = 64 * 1024;
  options->header_timeout_ms = 10000;
  options->body_timeout_ms = 10000;
  options->idle_timeout_ms = 60000;
  options->write_timeout_ms = 10000;
  options->max_connections = 1024;
  options->max_connections_per_address = 128;
  options->max_pipelined_requests = 16;
}

/* ---- the worker's sources ---- */

const char *
http_worker_date (Worker *w)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (now != w->date_second)
    {
      g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc (now);
      g_autofree char *text = g_date_time_format (t, "%a, %d %b %Y %H:%M:%S GMT");

      g_snprintf (w->date, sizeof w->date, "%s", text);
      w->date_second = now;
    }
  return w->date;
}

/* The end of every dispatch: write what this wake-up answered, free what
 * it closed (events later in the batch may still name a closed one). */
void
http_worker_end_dispatch (Worker *w)
{
  for (guint i = 0; i < w->dirty->len; i++)
    http_conn_flush (w->dirty->pdata[i]);
  g_ptr_array_set_size (w->dirty, 0);
  for (guint i = 0; i < w->dead->len; i++)
    http_conn_free (w->dead->pdata[i]);
  g_ptr_array_set_size (w->dead, 0);
}

static gboolean
answer_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  Worker *w = data;
  GPtrArray *batch;

  /* Cleared before taking the batch: an answer queued after the swap
   * finds the queue empty and signals again, so none is missed. */
  dsm_wake_clear (&w->answer_wake);
  g_mutex_lock (&w->answers_lock);
  batch = w->answers;
  w->answers = w->answers_spare;
  w->answers_spare = NULL;
  g_mutex_unlock (&w->answers_lock);
  if (batch->len > 0)
    {
      STAT_ADD (w, answer_batches, 1);
      STAT_ADD (w, answers_from_threads, batch->len);
    }
  for (guint i = 0; i < batch->len; i++)
    http_worker_deliver (w, batch->pdata[i]);
  g_ptr_array_set_size (batch, 0);
  g_mutex_lock (&w->answers_lock);
  w->answers_spare = batch;
  g_mutex_unlock (&w->answers_lock);
  /* After the answers: a stream's head is in its connection before its bytes. */
  http_worker_take_streams (w);
  http_worker_end_dispatch (w);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs answer_funcs = { .dispatch = answer_dispatch };

static gboolean
worker_on_sweep (gpointer data)
{
  Worker *w = data;
  gint64 now = g_get_monotonic_time ();

  for (GList *l = w->conns.head, *next; l != NULL; l = next)
    {
      next = l->next;
      http_conn_check_deadline (l->data, now);
      http_conn_check_stream (l->data, now);
    }
  http_worker_end_dispatch (w);
  return G_SOURCE_CONTINUE;
}

static gboolean
worker_resume_accept (gpointer data)
{
  Worker *w = data;
  struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL };

  epoll_ctl (w->epfd, EPOLL_CTL_ADD, w->server->listen_fd, &ev);
  return G_SOURCE_REMOVE;
}

/* ---- accepting ---- */

void
http_server_release_address (DsmHttpServer *server, const char *host)
{
  dsm_conn_caps_release (&server->caps, host);
}

/* A refused connection gets its 503 in one best-effort write, then closes
 * (a TLS port cannot say anything before a handshake: it just closes). */
static void
worker_refuse (Worker *w, int fd, RefuseKind kind, const char *host)
{
  static const char *const reasons[REFUSE_N] = {
    [REFUSE_NODE_CAP] = "too many connections to this node",
    [REFUSE_ADDRESS_CAP] = "too many connections from your address",
    [REFUSE_STOPPING] = "node shutting down",
  };
  static const char *const words[REFUSE_N] = {
    [REFUSE_NODE_CAP] = "too_many_connections",
    [REFUSE_ADDRESS_CAP] = "too_many_connections",
    [REFUSE_STOPPING] = "stopping",
  };

  STAT_ADD (w, refused[kind], 1);
  if (w->server->options.tls_certificate == NULL)
    {
      g_autofree char *body = g_strdup_printf ("{\"error\":\"%s\",\"reason\":\"%s\"}\n", reasons[kind], words[kind]);
      g_autofree char *answer = g_strdup_printf ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                                 "Content-Length: %zu\r\nConnection: close\r\nRetry-After: 1\r\n\r\n%s",
                                                 strlen (body), body);
      if (send (fd, answer, strlen (answer), MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
        STAT_ADD (w, answered[503], 1);
      shutdown (fd, SHUT_WR);
    }
  close (fd);
  if (kind != REFUSE_STOPPING)
    dsm_net_log_limited (G_LOG_LEVEL_WARNING, w->server->options.node, "http_refused", host,
                         "refused an HTTP connection from %s: %s", host, reasons[kind]);
}

static void
worker_accept (Worker *w)
{
  DsmHttpServer *server = w->server;

  for (guint i = 0; i < ACCEPTS_PER_WAKE; i++)
    {
      struct sockaddr_storage ss;
      socklen_t len = sizeof ss;
      char host[64];
      int fd = accept4 (server->listen_fd, (struct sockaddr *) &ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            {
              dsm_net_log_limited (G_LOG_LEVEL_WARNING, server->options.node, "http_accept_failed", "accept",
                                   "cannot accept HTTP connections: %s (raise the file limit or lower "
                                   "http.max_connections)", g_strerror (errno));
              epoll_ctl (w->epfd, EPOLL_CTL_DEL, server->listen_fd, NULL);
              GSource *pause = g_timeout_source_new (ACCEPT_PAUSE_MS);
              g_source_set_callback (pause, worker_resume_accept, w, NULL);
              g_source_attach (pause, w->context);
              g_source_unref (pause);
            }
          return;
        }
      dsm_net_peer_host (&ss, host, sizeof host);
      DsmAdmit verdict = dsm_conn_caps_admit (&server->caps, host, g_atomic_int_get (&server->accepting));
      if (verdict != DSM_ADMIT_OK)
        {
          worker_refuse (w, fd, (RefuseKind) verdict, host);
          continue;
        }
      STAT_ADD (w, accepted, 1);
      http_conn_new (w, fd, g_strdup (host));
    }
}

static gboolean
worker_on_epoll (gint fd, GIOCondition condition, gpointer data)
{
  Worker *w = data;
  struct epoll_event events[EVENTS_PER_WAKE];
  int n = epoll_wait (w->epfd, events, EVENTS_PER_WAKE, 0);

  for (int i = 0; i < n; i++)
    {
      Conn *conn = events[i].data.ptr;
      if (conn == NULL)
        worker_accept (w);
      else if (!http_conn_is_closed (conn))
        http_conn_on_events (conn, events[i].events);
    }
  http_worker_end_dispatch (w);
  return G_SOURCE_CONTINUE;
}

/* ---- worker threads ---- */

static gpointer
worker_run (gpointer data)
{
  Worker *w = data;

  g_main_context_push_thread_default (w->context);
  /* Before any request exists: answers from this thread are delivered at once. */
  g_atomic_pointer_set (&w->self, g_thread_self ());
  g_main_loop_run (w->loop);

  /* Stopping: write the answers handed in last (the 503s of a node that
   * stops), as far as the sockets take them now, then close every
   * connection; TLS handshakes in flight end in their callbacks, which
   * run on this context. */
  answer_dispatch (w->answer_source, NULL, w);
  while (w->conns.head != NULL)
    {
      gboolean handshakes = FALSE;
      for (GList *l = w->conns.head, *next; l != NULL; l = next)
        {
          next = l->next;
          if (http_conn_is_handshaking (l->data))
            handshakes = TRUE;
          if (!http_conn_is_closed (l->data))
            http_conn_abort (l->data);
        }
      http_worker_end_dispatch (w);
      if (handshakes)
        g_main_context_iteration (w->context, TRUE);
    }
  http_worker_end_dispatch (w);
  g_main_context_pop_thread_default (w->context);
  return NULL;
}

static gboolean
worker_quit (gpointer data)
{
  Worker *w = data;

  g_main_loop_quit (w->loop);
  return G_SOURCE_REMOVE;
}

static Worker *
worker_new (DsmHttpServer *server, guint index)
{
  Worker *w = g_new0 (Worker, 1);

  w->server = server;
  w->index = index;
  w->context = g_main_context_new ();
  w->loop = g_main_loop_new (w->context, FALSE);
  w->epfd = epoll_create1 (EPOLL_CLOEXEC);
  g_assert (w->epfd >= 0);
  g_mutex_init (&w->answers_lock);
  w->answers = g_ptr_array_new ();
  w->answers_spare = g_ptr_array_new ();
  w->streams = g_ptr_array_new ();
  w->streams_spare = g_ptr_array_new ();
  w->dirty = g_ptr_array_new ();
  w->dead = g_ptr_array_new ();
  w->scratch = g_malloc (READ_BYTES);
  g_queue_init (&w->conns);

  w->epoll_source = g_unix_fd_source_new (w->epfd, G_IO_IN);
  /* Not blocked around each dispatch: that rewrites the poll set and the
   * context's eventfd twice per wake-up (see link_stream_source() in net/link.c). */
  g_source_set_can_recurse (w->epoll_source, TRUE);
  g_source_set_callback (w->epoll_source, (GSourceFunc) (void (*) (void)) worker_on_epoll, w, NULL);
  g_source_attach (w->epoll_source, w->context);
  w->answer_source = g_source_new (&answer_funcs, sizeof (GSource));
  g_source_set_callback (w->answer_source, NULL, w, NULL);
  dsm_wake_init (&w->answer_wake, w->answer_source);
  g_source_attach (w->answer_source, w->context);
  w->sweep_source = g_timeout_source_new (server->sweep_ms);
  g_source_set_callback (w->sweep_source, worker_on_sweep, w, NULL);
  g_source_attach (w->sweep_source, w->context);
  return w;
}

static void
worker_free (Worker *w)
{
  g_assert (w->conns.length == 0);
  /* Answers that arrived after the loop stopped: their connections are gone. */
  for (guint i = 0; i < w->answers->len; i++)
    http_request_unref (w->answers->pdata[i]);
  g_ptr_array_unref (w->answers);
  g_ptr_array_unref (w->answers_spare);
  for (guint i = 0; i < w->streams->len; i++)
    http_stream_unref (w->streams->pdata[i]);
  g_ptr_array_unref (w->streams);
  g_ptr_array_unref (w->streams_spare);
  g_ptr_array_unref (w->dirty);
  g_ptr_array_unref (w->dead);
  g_source_destroy (w->epoll_source);
  g_source_unref (w->epoll_source);
  g_source_destroy (w->answer_source);
  g_source_unref (w->answer_source);
  dsm_wake_finish (&w->answer_wake);
  g_source_destroy (w->sweep_source);
  g_source_unref (w->sweep_source);
  close (w->epfd);
  g_main_loop_unref (w->loop);
  g_main_context_unref (w->context);
  g_mutex_clear (&w->answers_lock);
  g_free (w->scratch);
  g_free (w);
}

/* ---- the server ---- */

DsmHttpServer *
dsm_http_server_new (const DsmHttpServerOptions *options, DsmHttpHeadFunc head_func,
                     DsmHttpRequestFunc request_func, gpointer user_data)
{
  DsmHttpServer *server = g_new0 (DsmHttpServer, 1);
  guint shortest;

  g_return_val_if_fail (options->workers >= 1, NULL);
  g_return_val_if_fail (options->max_pipelined_requests >= 1, NULL);
  g_return_val_if_fail (head_func != NULL && request_func != NULL, NULL);

  server->options = *options;
  if (options->tls_certificate != NULL)
    g_object_ref (options->tls_certificate);
  if (options->tls_client_ca != NULL)
    g_object_ref (options->tls_client_ca);
  server->head_func = head_func;
  server->request_func = request_func;
  server->user_data = user_data;
  server->listen_fd = -1;
  dsm_conn_caps_init (&server->caps, options->max_connections, options->max_connections_per_address);
  /* Deadlines are checked a few times per shortest timeout. */
  shortest = MIN (MIN (options->header_timeout_ms, options->body_timeout_ms),
                  MIN (options->idle_timeout_ms, options->write_timeout_ms));
  server->sweep_ms = CLAMP (shortest / 4, 5, 250);
  server->n_workers = options->workers;
  server->workers = g_new0 (Worker *, server->n_workers);
  for (guint i = 0; i < server->n_workers; i++)
    server->workers[i] = worker_new (server, i);
  return server;
}

gboolean
dsm_http_server_listen (DsmHttpServer *server, const char *address, GError **error)
{
  g_return_val_if_fail (server->listen_fd < 0, FALSE);
  server->listen_fd = dsm_net_listen_tcp (address, "HTTP API", &server->port, error);
  return server->listen_fd >= 0;
}

guint16
dsm_http_server_get_port (DsmHttpServer *server)
{
  return server->port;
}

void
dsm_http_server_start (DsmHttpServer *server)
{
  g_return_if_fail (!server->started);
  g_return_if_fail (server->listen_fd >= 0);

  server->started = TRUE;
  g_atomic_int_set (&server->accepting, 1);
  for (guint i = 0; i < server->n_workers; i++)
    {
      Worker *w = server->workers[i];
      /* EPOLLEXCLUSIVE: one connection wakes one worker, not all of them. */
      struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL };
      g_autofree char *name = g_strdup_printf ("dsm-http-%u", i);

      g_assert (epoll_ctl (w->epfd, EPOLL_CTL_ADD, server->listen_fd, &ev) == 0);
      w->thread = g_thread_new (name, worker_run, w);
    }
}

void
dsm_http_server_stop_accepting (DsmHttpServer *server)
{
  /* New connections are still accepted, to be answered 503 "stopping". */
  g_atomic_int_set (&server->accepting, 0);
}

void
dsm_http_server_free (DsmHttpServer *server)
{
  if (server == NULL)
    return;
  for (guint i = 0; i < server->n_workers; i++)
    if (server->workers[i]->thread != NULL)
      g_main_context_invoke (server->workers[i]->context, worker_quit, server->workers[i]);
  for (guint i = 0; i < server->n_workers; i++)
    {
      if (server->workers[i]->thread != NULL)
        g_thread_join (server->workers[i]->thread);
      worker_free (server->workers[i]);
    }
  g_free (server->workers);
  if (server->listen_fd >= 0)
    close (server->listen_fd);
  dsm_conn_caps_clear (&server->caps);
  g_clear_object (&server->options.tls_certificate);
  g_clear_object (&server->options.tls_client_ca);
  g_free (server);
}

/* ---- metrics ---- */

#define SUM(server, field) server_sum (server, G_STRUCT_OFFSET (WorkerStats, field))

static guint64
server_sum (DsmHttpServer *server, glong offset)
{
  guint64 total = 0;

  for (guint i = 0; i < server->n_workers; i++)
    total += __atomic_load_n ((guint64 *) G_STRUCT_MEMBER_P (&server->workers[i]->stats, offset), __ATOMIC_RELAXED);
  return total;
}

guint64
dsm_http_server_get_answered (DsmHttpServer *server, guint status)
{
  g_return_val_if_fail (status < STATUS_SLOTS, 0);
  return server_sum (server, G_STRUCT_OFFSET (WorkerStats, answered) + (glong) (status * sizeof (guint64)));
}

static void
render_one (GString *out, const char *labels, const char *name, const char *type, const char *help, double value)
{
  dsm_metrics_write_header (out, name, type, help);
  dsm_metrics_write_sample (out, name, labels, value);
}

/* A counter family with one label: the @n per-worker counters from @offset
 * in WorkerStats, summed over the workers, labelled @label="@values[k]". */
static void
render_labelled (DsmHttpServer *server, GString *out, const char *labels, const char *name, const char *help,
                 const char *label, const char *const *values, guint n, glong offset)
{
  dsm_metrics_write_header (out, name, "counter", help);
  for (guint k = 0; k < n; k++)
    {
      g_autofree char *l = g_strdup_printf ("%s,%s=\"%s\"", labels, label, values[k]);
      dsm_metrics_write_sample (out, name, l, (double) server_sum (server, offset + (glong) (k * sizeof (guint64))));
    }
}

void
dsm_http_server_render_metrics (DsmHttpServer *server, GString *out, const char *labels)
{
  static const char *const timeouts[TIMEOUT_N] = { "header", "body", "idle", "write" };
  static const char *const refusals[REFUSE_N] = { "node_cap", "address_cap", "stopping" };
  const char *reasons[DSM_HTTP_PARSE_ERROR_N_CODES];
  guint open, open_max;

  dsm_conn_caps_get (&server->caps, &open, &open_max);

  render_one (out, labels, "dsm_http_connections_open", "gauge", "Client connections open now.", open);
  render_one (out, labels, "dsm_http_connections_open_max", "gauge", "The most client connections open at once.",
              open_max);
  render_one (out, labels, "dsm_http_connections_accepted_total", "counter", "Client connections accepted.",
              (double) SUM (server, accepted));
  render_one (out, labels, "dsm_http_connections_closed_total", "counter", "Client connections closed.",
              (double) SUM (server, closed));
  render_labelled (server, out, labels, "dsm_http_connections_refused_total",
                   "Connections answered 503 and closed at once: node_cap (http.max_connections), "
                   "address_cap (http.max_connections_per_address), stopping.",
                   "reason", refusals, REFUSE_N, G_STRUCT_OFFSET (WorkerStats, refused));
  render_labelled (server, out, labels, "dsm_http_timeouts_total",
                   "Connections closed for a deadline: header (head or TLS handshake), body, idle, "
                   "write (the client did not take its answer).",
                   "kind", timeouts, TIMEOUT_N, G_STRUCT_OFFSET (WorkerStats, timeouts));
  for (guint k = 0; k < DSM_HTTP_PARSE_ERROR_N_CODES; k++)
    reasons[k] = dsm_http_parse_error_reason ((DsmHttpParseError) k);
  render_labelled (server, out, labels, "dsm_http_malformed_requests_total",
                   "Requests refused by the parser before routing, by reason (each closes its connection).",
                   "reason", reasons, DSM_HTTP_PARSE_ERROR_N_CODES, G_STRUCT_OFFSET (WorkerStats, parse_errors));
  render_one (out, labels, "dsm_http_tls_handshake_failures_total", "counter",
              "TLS handshakes that failed (bad or missing client certificate, not TLS, timeout).",
              (double) SUM (server, tls_handshake_failures));
  render_one (out, labels, "dsm_http_bytes_received_total", "counter", "Bytes read from clients (after TLS).",
              (double) SUM (server, bytes_read));
  render_one (out, labels, "dsm_http_bytes_sent_total", "counter", "Bytes written to clients (before TLS).",
              (double) SUM (server, bytes_written));
  render_one (out, labels, "dsm_http_answers_dropped_total", "counter",
              "Answers whose client had gone away (the command may still have committed).",
              (double) SUM (server, answers_dropped));
  render_one (out, labels, "dsm_http_answer_batches_total", "counter",
              "Wake-ups of an HTTP worker by answers from the consensus loop (answers / batches = batching).",
              (double) SUM (server, answer_batches));
  render_one (out, labels, "dsm_http_answers_handed_total", "counter",
              "Answers handed to an HTTP worker by the consensus loop.", (double) SUM (server, answers_from_threads));
  render_one (out, labels, "dsm_http_streams_open", "gauge",
              "Streamed answers (watches) whose connection is open now.", (double) SUM (server, streams_open));
  render_one (out, labels, "dsm_http_stream_keepalives_total", "counter",
              "Keepalive comments written to quiet streams (http.watch_keepalive_ms).",
              (double) SUM (server, stream_keepalives));
  render_one (out, labels, "dsm_http_workers", "gauge", "HTTP worker threads.", server->n_workers);
}
