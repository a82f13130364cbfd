/* net/conn-tls.h: what both client servers (the HTTP front end and the
 * native protocol) do with a connection's raw fd: reads and writes, plain
 * or through TLS, and a TLS server connection started on it once the
 * client's whole first record (its ClientHello) has arrived. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Raw I/O on @fd, or through @tls_in / @tls_out when not NULL (the fd is
 * then only polled): > 0 bytes, 0 end of stream, -1 would block, -2 failed. */
gssize dsm_conn_io_recv (int fd, GPollableInputStream *tls_in, guint8 *buf, gsize size);
gssize dsm_conn_io_send (int fd, GPollableOutputStream *tls_out, const guint8 *data, gsize length);

/* What the first bytes of a connection on a TLS port are. */
typedef enum {
  DSM_CONN_TLS_WAIT,            /* nothing yet */
  DSM_CONN_TLS_CLOSED,          /* the end, or a failed read */
  DSM_CONN_TLS_NOT_TLS,         /* not a TLS handshake record: a plain client */
  DSM_CONN_TLS_PARTIAL,         /* part of the ClientHello */
  DSM_CONN_TLS_WHOLE,           /* the whole first record: start the handshake */
} DsmConnTls;

/**
 * dsm_conn_tls_peek:
 * Looks (MSG_PEEK) at what @fd received.  glib-networking runs each
 * handshake on a thread of GLib's pool, which blocks on the socket: a
 * client that connects and sends nothing would hold one, so a server
 * starts the handshake only at DSM_CONN_TLS_WHOLE.
 */
DsmConnTls dsm_conn_tls_peek (int fd);

/**
 * dsm_conn_tls_new:
 * @socket_conn: (out) (transfer full): the GSocketConnection that owns @fd
 *   from now on (close it with g_socket_close()), set even when the TLS
 *   connection cannot be made; NULL when @fd could not be wrapped
 * A TLS server connection over @fd with @certificate, not requiring the
 * client's close_notify; the handshake is the caller's.
 * Returns: (transfer full): the connection, or NULL with @error.
 */
GTlsConnection *dsm_conn_tls_new (int fd, GTlsCertificate *certificate, GSocketConnection **socket_conn,
                                  GError **error);

G_END_DECLS
