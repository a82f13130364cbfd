/* net/http-conn-tls.c: the TLS side of a client connection: waiting for a
 * whole ClientHello, the handshake (glib-networking) and client
 * certificates verified against the client CA (docs/OPERATIONS.md, "TLS"). */
#include "http-server-private.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "netlog.h"

/* A TLS record header: type 22 (handshake), version, length. */
#define TLS_RECORD_HEADER 5

static void
conn_on_handshake (GObject *source, GAsyncResult *result, gpointer data)
{
  Conn *c = data;
  Worker *w = c->w;
  g_autoptr(GError) error = NULL;

  c->handshaking = FALSE;
  if (!g_tls_connection_handshake_finish (c->tls, result, &error))
    {
      STAT_ADD (w, tls_handshake_failures, 1);
      dsm_net_log_limited (G_LOG_LEVEL_INFO, w->server->options.node, "http_tls_failed", c->host,
                           "TLS handshake with %s failed: %s", c->host, error->message);
      http_conn_close (c);
    }
  else
    {
      c->peer_cert = g_tls_connection_get_peer_certificate (c->tls);
      if (c->peer_cert != NULL)
        g_object_ref (c->peer_cert);
      c->tls_in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (G_IO_STREAM (c->tls)));
      c->tls_out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (G_IO_STREAM (c->tls)));
      c->idle_since_us = 0;
      http_conn_read (c);
    }
  /* Outside the worker's own dispatches: finish what this callback did. */
  http_worker_end_dispatch (w);
}

/* A TLS server asks the application about every client certificate,
 * verified or not: accept exactly those the client CA verified. */
static gboolean
conn_accept_certificate (GTlsConnection *tls, GTlsCertificate *cert, GTlsCertificateFlags errors, gpointer data)
{
  return errors == 0;
}

static void
conn_start_handshake (Conn *c)
{
  DsmHttpServerOptions *o = &c->w->server->options;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new_from_fd (c->fd, &error);
  GIOStream *tls;

  if (c->registered)
    {
      /* The handshake polls the socket itself, from GLib's sources. */
      epoll_ctl (c->w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
      c->registered = FALSE;
    }
  c->awaiting_hello = FALSE;
  if (socket == NULL)
    {
      http_conn_close (c);
      return;
    }
  c->socket_conn = g_socket_connection_factory_create_connection (socket);
  tls = g_tls_server_connection_new (G_IO_STREAM (c->socket_conn), o->tls_certificate, &error);
  if (tls == NULL)
    {
      dsm_net_log_limited (G_LOG_LEVEL_WARNING, o->node, "http_tls_failed", "setup",
                           "cannot start TLS (is glib-networking installed?): %s", error->message);
      http_conn_close (c);
      return;
    }
  c->tls = G_TLS_CONNECTION (tls);
  g_tls_connection_set_require_close_notify (c->tls, FALSE);
  if (o->tls_client_ca != NULL)
    {
      g_tls_connection_set_database (c->tls, o->tls_client_ca);
      g_object_set (c->tls, "authentication-mode",
                    o->tls_client_cert_required ? G_TLS_AUTHENTICATION_REQUIRED : G_TLS_AUTHENTICATION_REQUESTED,
                    NULL);
      g_signal_connect (c->tls, "accept-certificate", G_CALLBACK (conn_accept_certificate), NULL);
    }
  c->cancel = g_cancellable_new ();
  c->handshaking = TRUE;
  g_tls_connection_handshake_async (c->tls, G_PRIORITY_DEFAULT, c->cancel, conn_on_handshake, c);
}

/* glib-networking runs each handshake on a thread of GLib's pool, which
 * blocks on the socket: a client that connects and sends nothing would
 * hold one.  So the handshake starts only once a whole first record (the
 * ClientHello) has arrived, watched here by epoll; bytes that are not a
 * TLS handshake get a plain-text 400. */
void
http_conn_peek_hello (Conn *c)
{
  guint8 head[TLS_RECORD_HEADER];
  gssize n = recv (c->fd, head, sizeof head, MSG_PEEK);
  int available = 0;

  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return;
  if (n <= 0)
    {
      http_conn_close (c);
      return;
    }
  if (head[0] != 0x16 || (n > 1 && head[1] != 0x03))
    {
      static const char body[] = "{\"error\":\"this port speaks HTTPS; use https://\",\"reason\":\"not_tls\"}\n";
      g_autofree char *answer = g_strdup_printf ("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                                                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                                 sizeof body - 1, body);
      STAT_ADD (c->w, parse_errors[DSM_HTTP_PARSE_ERROR_NOT_HTTP], 1);
      STAT_ADD (c->w, answered[400], 1);
      if (send (c->fd, answer, strlen (answer), MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
        shutdown (c->fd, SHUT_WR);
      c->unread_input = TRUE;
      c->no_more_requests = TRUE;
      c->awaiting_hello = FALSE;
      http_conn_finish (c);
      return;
    }
  if (n < TLS_RECORD_HEADER || ioctl (c->fd, FIONREAD, &available) < 0)
    return;
  if ((gsize) available >= TLS_RECORD_HEADER + ((gsize) head[3] << 8 | head[4]))
    conn_start_handshake (c);
}
