/* net/conn-tls.c: raw I/O and TLS on a client connection's fd, shared by
 * the HTTP front end and the native protocol (conn-tls.h). */
#include "conn-tls.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* A TLS record header: type 22 (handshake), version, length. */
#define TLS_RECORD_HEADER 5

gssize
dsm_conn_io_recv (int fd, GPollableInputStream *tls_in, guint8 *buf, gsize size)
{
  if (tls_in != NULL)
    {
      g_autoptr(GError) error = NULL;
      gssize got = g_pollable_input_stream_read_nonblocking (tls_in, buf, size, NULL, &error);
      if (got >= 0)
        return got;
      return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) ? -1 : -2;
    }
  gssize got = recv (fd, buf, size, 0);
  if (got >= 0)
    return got;
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
}

gssize
dsm_conn_io_send (int fd, GPollableOutputStream *tls_out, const guint8 *data, gsize length)
{
  if (tls_out != NULL)
    {
      g_autoptr(GError) error = NULL;
      gssize sent = g_pollable_output_stream_write_nonblocking (tls_out, data, length, NULL, &error);
      if (sent >= 0)
        return sent;
      return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK) ? -1 : -2;
    }
  gssize sent = send (fd, data, length, MSG_NOSIGNAL);
  if (sent >= 0)
    return sent;
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
}

DsmConnTls
dsm_conn_tls_peek (int fd)
{
  guint8 head[TLS_RECORD_HEADER];
  gssize got = recv (fd, head, sizeof head, MSG_PEEK);
  int available = 0;

  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return DSM_CONN_TLS_WAIT;
  if (got <= 0)
    return DSM_CONN_TLS_CLOSED;
  if (head[0] != 0x16 || (got > 1 && head[1] != 0x03))
    return DSM_CONN_TLS_NOT_TLS;
  if (got == TLS_RECORD_HEADER && ioctl (fd, FIONREAD, &available) == 0
      && (gsize) available >= TLS_RECORD_HEADER + ((gsize) head[3] << 8 | head[4]))
    return DSM_CONN_TLS_WHOLE;
  return DSM_CONN_TLS_PARTIAL;
}

GTlsConnection *
dsm_conn_tls_new (int fd, GTlsCertificate *certificate, GSocketConnection **socket_conn, GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);
  GIOStream *tls;

  g_return_val_if_fail (certificate != NULL, NULL);
  *socket_conn = NULL;
  if (socket == NULL)
    return NULL;
  *socket_conn = g_socket_connection_factory_create_connection (socket);
  tls = g_tls_server_connection_new (G_IO_STREAM (*socket_conn), certificate, error);
  if (tls == NULL)
    return NULL;
  g_tls_connection_set_require_close_notify (G_TLS_CONNECTION (tls), FALSE);
  return G_TLS_CONNECTION (tls);
}
