/* net/http-conn-tls.c: the TLS side of a client connection: waiting for a
 * whole ClientHello, the handshake (glib-networking) and client
 * certificates verified against the client CA (docs/OPERATIONS.md, "TLS"). */
#include "http-server-private.h"

#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "conn-tls.h"
#include "netlog.h"

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

  if (c->registered)
    {
      /* The handshake polls the socket itself, from GLib's sources. */
      epoll_ctl (c->w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
      c->registered = FALSE;
    }
  c->awaiting_hello = FALSE;
  c->tls = dsm_conn_tls_new (c->fd, o->tls_certificate, &c->socket_conn, &error);
  if (c->tls == NULL)
    {
      if (c->socket_conn != NULL)
        dsm_net_log_limited (G_LOG_LEVEL_WARNING, o->node, "http_tls_failed", "setup",
                             "cannot start TLS (is glib-networking installed?): %s", error->message);
      http_conn_close (c);
      return;
    }
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

/* The handshake starts only once a whole ClientHello has arrived
 * (conn-tls.h says why); bytes that are not a TLS handshake get a
 * plain-text 400. */
void
http_conn_peek_hello (Conn *c)
{
  switch (dsm_conn_tls_peek (c->fd))
    {
    case DSM_CONN_TLS_WAIT:
    case DSM_CONN_TLS_PARTIAL:
      return;
    case DSM_CONN_TLS_CLOSED:
      http_conn_close (c);
      return;
    case DSM_CONN_TLS_WHOLE:
      conn_start_handshake (c);
      return;
    case DSM_CONN_TLS_NOT_TLS:
    default:
      break;
    }
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
}
