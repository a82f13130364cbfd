/* net/native-conn-tls.c: the TLS side of a native connection, as the HTTP
 * port does it (http-conn-tls.c): waiting for a whole ClientHello, the
 * handshake (glib-networking), a plain client told in a plain frame. */
#include "native-private.h"

#include <sys/epoll.h>
#include <unistd.h>

#include "conn-tls.h"
#include "netlog.h"

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

  g_assert (c->tls == NULL);
  c->awaiting_tls = FALSE;
  if (c->registered)
    {
      /* The handshake polls the socket itself, from GLib's threads. */
      epoll_ctl (c->w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
      c->registered = FALSE;
      c->events = 0;
    }
  c->tls = dsm_conn_tls_new (c->fd, n->tls_certificate, &c->socket_conn, &error);
  if (c->tls == NULL)
    {
      if (c->socket_conn != NULL)
        dsm_net_log_limited (G_LOG_LEVEL_WARNING, n->node, "native_tls_failed", "setup",
                             "cannot start TLS on the native port (is glib-networking installed?): %s",
                             error->message);
      native_conn_close (c);
      return;
    }
  c->cancel = g_cancellable_new ();
  c->handshaking = TRUE;
  c->w->handshakes++;
  g_tls_connection_handshake_async (c->tls, G_PRIORITY_DEFAULT, c->cancel, conn_on_handshake, native_conn_ref (c));
}

/* The handshake starts only once a whole ClientHello has arrived
 * (conn-tls.h says why). */
void
native_conn_tls_peek (NativeConn *c)
{
  DsmNative *n = c->w->n;

  g_assert (c->awaiting_tls);
  switch (dsm_conn_tls_peek (c->fd))
    {
    case DSM_CONN_TLS_WAIT:
      return;
    case DSM_CONN_TLS_CLOSED:
      native_conn_close (c);
      return;
    case DSM_CONN_TLS_PARTIAL:
      /* Not whole yet: the sweep looks again (native_conn_watch). */
      c->tls_partial = TRUE;
      return;
    case DSM_CONN_TLS_WHOLE:
      conn_start_handshake (c);
      return;
    case DSM_CONN_TLS_NOT_TLS:
    default:
      break;
    }
  /* A native frame starts with its length's high byte, 0 for any frame a
   * node takes: a plain client, which can read a plain frame. */
  c->awaiting_tls = FALSE;
  dsm_net_log_limited (G_LOG_LEVEL_INFO, n->node, "native_not_tls", c->host,
                       "refused a plain native connection from %s: this port speaks TLS", c->host);
  native_conn_error (c, 0, NE_TLS_REQUIRED, TRUE, 0,
                     "this port speaks TLS (the HTTP port's certificate): connect with TLS "
                     "(libdsm-client: options.tls; dsmctl: --native-tls)");
}
