/* net/native-server.c: the native protocol's workers (native.h): threads
 * with their own GMainContext and epoll set accepting from one listening
 * socket (EPOLLEXCLUSIVE), the connection caps, the listening socket.  One
 * connection's life is native-conn.c; what a request means is native.c. */
#define _GNU_SOURCE
#include "native-private.h"

#include <errno.h>
#include <glib-unix.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "address.h"
#include "netlog.h"

#define EVENTS_PER_WAKE 64
#define ACCEPTS_PER_WAKE 64
#define ACCEPT_PAUSE_MS 100

/* ---- accepting ---- */

/* A refused connection hears why in one best-effort frame, then closes. */
static void
worker_refuse (NativeWorker *w, int fd, NativeRefusal why, const char *host)
{
  static const char *const reasons[NR_N] = {
    [NR_NODE_CAP] = "too many native connections to this node (native.max_connections)",
    [NR_ADDRESS_CAP] = "too many native connections from your address (native.max_connections_per_address)",
    [NR_STOPPING] = "node shutting down",
  };
  DsmWireMsg msg = { .type = DSM_WIRE_ERROR, .closing = 1, .retry_after_ms = 1000,
                     .code = (char *) native_error_name (why == NR_STOPPING ? NE_STOPPING : NE_TOO_MANY_CONNECTIONS),
                     .message = (char *) reasons[why] };
  g_autoptr(GByteArray) frame = g_byte_array_new ();

  NATIVE_ADD (w->n, refused[why], 1);
  /* A TLS client could not read a plain frame: it sees the end. */
  if (w->n->tls_certificate == NULL)
    {
      NATIVE_ADD (w->n, errors[why == NR_STOPPING ? NE_STOPPING : NE_TOO_MANY_CONNECTIONS], 1);
      dsm_wire_encode (&msg, frame);
      if (send (fd, frame->data, frame->len, MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
        shutdown (fd, SHUT_WR);
    }
  close (fd);
  if (why != NR_STOPPING)
    dsm_net_log_limited (G_LOG_LEVEL_WARNING, w->n->node, "native_refused", host,
                         "refused a native connection from %s: %s", host, reasons[why]);
}

static gboolean
worker_resume_accept (gpointer data)
{
  NativeWorker *w = data;
  struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL };

  epoll_ctl (w->epfd, EPOLL_CTL_ADD, w->n->listen_fd, &ev);
  return G_SOURCE_REMOVE;
}

static void
worker_accept (NativeWorker *w)
{
  DsmNative *n = w->n;

  for (guint i = 0; i < ACCEPTS_PER_WAKE; i++)
    {
      struct sockaddr_storage ss;
      socklen_t len = sizeof ss;
      char host[64];
      int fd = accept4 (n->listen_fd, (struct sockaddr *) &ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            {
              dsm_net_log_limited (G_LOG_LEVEL_WARNING, n->node, "native_accept_failed", "accept",
                                   "cannot accept native connections: %s (raise the file limit or lower "
                                   "native.max_connections)", g_strerror (errno));
              epoll_ctl (w->epfd, EPOLL_CTL_DEL, n->listen_fd, NULL);
              GSource *pause = g_timeout_source_new (ACCEPT_PAUSE_MS);
              g_source_set_callback (pause, worker_resume_accept, w, NULL);
              g_source_attach (pause, w->context);
              g_source_unref (pause);
            }
          return;
        }
      dsm_net_peer_host (&ss, host, sizeof host);
      DsmAdmit why = dsm_conn_caps_admit (&n->caps, host, g_atomic_int_get (&n->accepting));
      if (why != DSM_ADMIT_OK)
        {
          worker_refuse (w, fd, (NativeRefusal) why, host);
          continue;
        }
      NATIVE_ADD (n, accepted, 1);
      native_conn_new (w, fd, host);
    }
}

static gboolean
worker_on_epoll (gint fd, GIOCondition condition, gpointer data)
{
  NativeWorker *w = data;
  struct epoll_event events[EVENTS_PER_WAKE];
  int count = epoll_wait (w->epfd, events, EVENTS_PER_WAKE, 0);

  /* Before any request: what the loop answered is out of flight. */
  native_worker_take_answered (w);
  for (int i = 0; i < count; i++)
    {
      NativeConn *c = events[i].data.ptr;
      if (c == NULL)
        {
          worker_accept (w);
          continue;
        }
      if (c->closed)
        continue;
      /* Held across the events: a close in one must not free it. */
      native_conn_ref (c);
      if (events[i].events & EPOLLOUT)
        native_conn_write (c);
      if (!c->closed && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
        {
          if (c->events & EPOLLIN)
            native_conn_read (c);
          else if (events[i].events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
            native_conn_close (c);
        }
      native_conn_unref (c);
    }
  native_worker_end_dispatch (w);
  return G_SOURCE_CONTINUE;
}

/* ---- worker threads ---- */

static gpointer
worker_run (gpointer data)
{
  NativeWorker *w = data;

  g_main_context_push_thread_default (w->context);
  g_main_loop_run (w->loop);
  /* Stopping: the answers handed in last ("stopping"), written as far as
   * the sockets take them now, then every connection closes. */
  native_worker_answer_dispatch (w->answer_source, NULL, w);
  while (w->conns.head != NULL)
    native_conn_close (w->conns.head->data);
  /* Cancelled handshakes end on GLib's threads; their callbacks close
   * their sockets here. */
  while (w->handshakes > 0)
    g_main_context_iteration (w->context, TRUE);
  g_main_context_pop_thread_default (w->context);
  return NULL;
}

static gboolean
worker_quit (gpointer data)
{
  NativeWorker *w = data;

  g_main_loop_quit (w->loop);
  return G_SOURCE_REMOVE;
}

static NativeWorker *
worker_new (DsmNative *n)
{
  NativeWorker *w = g_new0 (NativeWorker, 1);

  w->n = n;
  w->context = g_main_context_new ();
  w->loop = g_main_loop_new (w->context, FALSE);
  w->epfd = epoll_create1 (EPOLL_CLOEXEC);
  g_assert (w->epfd >= 0);
  g_mutex_init (&w->answers_lock);
  w->answers = g_ptr_array_new ();
  w->answered = g_ptr_array_new ();
  w->held = g_ptr_array_new ();
  w->dirty = g_ptr_array_new ();
  w->to_loop = g_ptr_array_new ();
  w->scratch = g_malloc (NATIVE_READ_BYTES);
  g_queue_init (&w->conns);
  w->epoll_source = g_unix_fd_source_new (w->epfd, G_IO_IN);
  /* Not blocked around each dispatch: that rewrites the poll set and the
   * context's eventfd twice per wake-up (see link_stream_source() in net/link.c). */
  g_source_set_can_recurse (w->epoll_source, TRUE);
  g_source_set_callback (w->epoll_source, (GSourceFunc) (void (*) (void)) worker_on_epoll, w, NULL);
  g_source_attach (w->epoll_source, w->context);
  w->answer_source = g_source_new (&native_worker_answer_funcs, sizeof (GSource));
  g_source_set_callback (w->answer_source, NULL, w, NULL);
  dsm_wake_init (&w->answer_wake, w->answer_source);
  g_source_attach (w->answer_source, w->context);
  w->sweep_source = g_timeout_source_new (n->sweep_ms);
  g_source_set_callback (w->sweep_source, native_worker_on_sweep, w, NULL);
  g_source_attach (w->sweep_source, w->context);
  return w;
}

static void
worker_free (NativeWorker *w)
{
  /* Answers that came after the loop stopped: their connections are closed. */
  g_assert (w->held->len == 0);
  native_worker_take_answered (w);
  for (guint i = 0; i < w->answers->len; i++)
    native_worker_take_answer (w, w->answers->pdata[i]);
  g_ptr_array_set_size (w->answers, 0);
  native_worker_end_dispatch (w);
  while (w->conns.head != NULL)
    native_conn_close (w->conns.head->data);
  g_ptr_array_unref (w->answers);
  g_ptr_array_unref (w->answered);
  g_ptr_array_unref (w->held);
  g_ptr_array_unref (w->dirty);
  g_ptr_array_unref (w->to_loop);
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

gboolean
native_server_listen (DsmNative *n, const char *address, GError **error)
{
  g_return_val_if_fail (n->listen_fd < 0, FALSE);
  n->listen_fd = dsm_net_listen_tcp (address, "native protocol", &n->port, error);
  if (n->listen_fd < 0)
    return FALSE;
  n->n_workers = n->limits.workers;
  n->sweep_ms = CLAMP (MIN (n->limits.hello_timeout_ms, MIN (n->limits.idle_timeout_ms, n->limits.write_timeout_ms)) / 4,
                       5, 250);
  n->workers = g_new0 (NativeWorker *, n->n_workers);
  for (guint i = 0; i < n->n_workers; i++)
    n->workers[i] = worker_new (n);
  return TRUE;
}

void
native_server_start (DsmNative *n)
{
  g_return_if_fail (!n->started);
  g_return_if_fail (n->listen_fd >= 0);
  n->started = TRUE;
  g_atomic_int_set (&n->accepting, 1);
  for (guint i = 0; i < n->n_workers; i++)
    {
      NativeWorker *w = n->workers[i];
      struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = NULL };
      g_autofree char *name = g_strdup_printf ("dsm-native-%u", i);

      g_assert (epoll_ctl (w->epfd, EPOLL_CTL_ADD, n->listen_fd, &ev) == 0);
      w->thread = g_thread_new (name, worker_run, w);
    }
}

void
native_server_stop_accepting (DsmNative *n)
{
  g_atomic_int_set (&n->accepting, 0);
}

void
native_server_free (DsmNative *n)
{
  for (guint i = 0; i < n->n_workers; i++)
    if (n->workers[i]->thread != NULL)
      g_main_context_invoke (n->workers[i]->context, worker_quit, n->workers[i]);
  for (guint i = 0; i < n->n_workers; i++)
    {
      if (n->workers[i]->thread != NULL)
        g_thread_join (n->workers[i]->thread);
      worker_free (n->workers[i]);
    }
  g_clear_pointer (&n->workers, g_free);
  n->n_workers = 0;
  if (n->listen_fd >= 0)
    close (n->listen_fd);
  n->listen_fd = -1;
}
