/* net/native-conn-tls.c: the TLS side of a native connection, as the HTTP
 * port does it (http-conn-tls.c): waiting for a whole ClientHello, the
 * handshake (glib-networking), a plain client told in a plain frame. */
#include "native-private.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netlog.h"

/* A TLS record header: type 22 (handshake), version, length. */
#define TLS_RECORD_HEADER 5

void
native_conn_close_socket (NativeConn *c)
{
  g_assert (!c->handshaking);
  if (c->socket_conn != NULL)
    g_socket_close (g_socket_connection_get_socket (c->socket_conn), NULL);
  else if (c->fd >= 0)
    close (c->fd);
  c->fd = -1;
}

static void
conn_on_handshake (GObject *source, GAsyncResult *result, gpointer data)
{
  NativeConn *c = data;
  NativeWorker *w = c->w;
  DsmNative *n = w->n;
  g_autoptr(GError) error = NULL;
  gboolean ok = g_tls_connection_handshake_finish (c->tls, result, &error);

  g_assert (c->handshaking);
  g_assert (w->handshakes > 0);
  c->handshaking = FALSE;
  w->handshakes--;
  if (c->closed)
    /* Closed meanwhile (a deadline, the node stopping): the socket was
     * left to this callback, the handshake's thread being done with it. */
    native_conn_close_socket (c);
  else if (!ok)
    {
      NATIVE_ADD (n, tls_handshake_failures, 1);
      dsm_net_log_limited (G_LOG_LEVEL_INFO, n->node, "native_tls_failed", c->host,
                           "TLS handshake with native client %s failed: %s", c->host, error->message);
      native_conn_close (c);
    }
  else
    {
      c->tls_in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (G_IO_STREAM (c->tls)));
      c->tls_out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (G_IO_STREAM (c->tls)));
      c->active_us = g_get_monotonic_time ();
      /* The hello may already wait, decrypted, where epoll cannot see it. */
      native_conn_read (c);
    }
  /* Outside the worker's own dispatches: finish what this callback did. */
  native_worker_end_dispatch (w);
  native_conn_unref (c);
}

static void
conn_start_handshake (NativeConn *c)
{
  DsmNative *n = c->w->n;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  GIOStream *tls;

  g_assert (c->tls == NULL);
  c->awaiting_tls = FALSE;
  if (c->registered)
    {
      /* The handshake polls the socket itself, from GLib's threads. */
      epoll_ctl (c->w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
      c->registered = FALSE;
      c->events = 0;
    }
  socket = g_socket_new_from_fd (c->fd, &error);
  if (socket == NULL)
    {
      native_conn_close (c);
      return;
    }
  c->socket_conn = g_socket_connection_factory_create_connection (socket);
  tls = g_tls_server_connection_new (G_IO_STREAM (c->socket_conn), n->tls_certificate, &error);
  if (tls == NULL)
    {
      dsm_net_log_limited (G_LOG_LEVEL_WARNING, n->node, "native_tls_failed", "setup",
                           "cannot start TLS on the native port (is glib-networking installed?): %s",
                           error->message);
      native_conn_close (c);
      return;
    }
  c->tls = G_TLS_CONNECTION (tls);
  g_tls_connection_set_require_close_notify (c->tls, FALSE);
  c->cancel = g_cancellable_new ();
  c->handshaking = TRUE;
  c->w->handshakes++;
  g_tls_connection_handshake_async (c->tls, G_PRIORITY_DEFAULT, c->cancel, conn_on_handshake, native_conn_ref (c));
}

/* glib-networking runs each handshake on a thread of GLib's pool, which
 * blocks on the socket: a client that connects and sends nothing would
 * hold one.  So the handshake starts only once a whole first record (the
 * ClientHello) has arrived, watched here by epoll. */
void
native_conn_tls_peek (NativeConn *c)
{
  DsmNative *n = c->w->n;
  guint8 head[TLS_RECORD_HEADER];
  gssize got = recv (c->fd, head, sizeof head, MSG_PEEK);
  int available = 0;

  g_assert (c->awaiting_tls);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return;
  if (got <= 0)
    {
      native_conn_close (c);
      return;
    }
  if (head[0] != 0x16 || (got > 1 && head[1] != 0x03))
    {
      /* A native frame starts with its length's high byte, 0 for any
       * frame a node takes: a plain client, which can read a plain frame. */
      c->awaiting_tls = FALSE;
      dsm_net_log_limited (G_LOG_LEVEL_INFO, n->node, "native_not_tls", c->host,
                           "refused a plain native connection from %s: this port speaks TLS", c->host);
      native_conn_error (c, 0, NE_TLS_REQUIRED, TRUE, 0,
                         "this port speaks TLS (the HTTP port's certificate): connect with TLS "
                         "(libdsm-client: options.tls; dsmctl: --native-tls)");
      return;
    }
  if (got == TLS_RECORD_HEADER && ioctl (c->fd, FIONREAD, &available) == 0
      && (gsize) available >= TLS_RECORD_HEADER + ((gsize) head[3] << 8 | head[4]))
    conn_start_handshake (c);
  else
    /* Not whole yet: the sweep looks again (native_conn_watch). */
    c->tls_partial = TRUE;
}
