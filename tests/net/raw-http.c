/* tests/net/raw-http.c: raw TCP clients of the HTTP port (raw-http.h). */
#include "raw-http.h"

#include <string.h>
#include <sys/socket.h>

static RawConn *
raw_connect_full (guint16 port, const char *source, int rcvbuf)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GSocketAddress) addr = g_inet_socket_address_new (lo, port);
  RawConn *r = g_new0 (RawConn, 1);

  r->in = g_string_new (NULL);
  r->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  if (rcvbuf > 0)
    g_assert_true (g_socket_set_option (r->socket, SOL_SOCKET, SO_RCVBUF, rcvbuf, &error));
  if (source != NULL)
    {
      g_autoptr(GInetAddress) src = g_inet_address_new_from_string (source);
      g_autoptr(GSocketAddress) local = g_inet_socket_address_new (src, 0);
      g_assert_true (g_socket_bind (r->socket, local, FALSE, &error));
    }
  g_socket_set_timeout (r->socket, 10);
  g_assert_true (g_socket_connect (r->socket, addr, NULL, &error));
  g_assert_no_error (error);
  g_socket_set_blocking (r->socket, FALSE);
  return r;
}

RawConn *
raw_connect (guint16 port, const char *source)
{
  return raw_connect_full (port, source, 0);
}

RawConn *
raw_connect_with_rcvbuf (guint16 port, int rcvbuf)
{
  return raw_connect_full (port, NULL, rcvbuf);
}

void
raw_close (RawConn *r)
{
  if (r == NULL)
    return;
  g_socket_close (r->socket, NULL);
  g_object_unref (r->socket);
  g_string_free (r->in, TRUE);
  g_free (r);
}

gboolean
raw_send (RawConn *r, const void *data, gsize length)
{
  gsize done = 0;

  while (done < length)
    {
      g_autoptr(GError) error = NULL;
      gssize n;

      if (!g_socket_condition_timed_wait (r->socket, G_IO_OUT, 5 * G_USEC_PER_SEC, NULL, NULL))
        return FALSE;
      n = g_socket_send (r->socket, (const char *) data + done, length - done, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        continue;
      if (n <= 0)
        return FALSE;
      done += (gsize) n;
    }
  return TRUE;
}

gboolean
raw_send_str (RawConn *r, const char *text)
{
  return raw_send (r, text, strlen (text));
}

/* Reads what is there, or waits up to @budget_ms for it. */
gboolean
raw_wait (RawConn *r, guint budget_ms)
{
  char buf[16384];
  g_autoptr(GError) error = NULL;
  gssize n;

  if (r->closed)
    return FALSE;
  if (!g_socket_condition_timed_wait (r->socket, G_IO_IN | G_IO_HUP | G_IO_ERR, (gint64) budget_ms * 1000, NULL, NULL))
    return FALSE;
  n = g_socket_receive (r->socket, buf, sizeof buf, NULL, &error);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return FALSE;
  if (n <= 0)
    {
      r->closed = TRUE;
      return TRUE;
    }
  g_string_append_len (r->in, buf, n);
  return TRUE;
}

/* The length of the first whole response in @in, or 0. */
static gsize
raw_complete (const GString *in, gsize *head_length, gsize *body_length)
{
  const char *end = g_strstr_len (in->str, (gssize) in->len, "\r\n\r\n");
  g_autofree char *head = NULL;
  const char *cl;

  if (end == NULL)
    return 0;
  *head_length = (gsize) (end - in->str) + 4;
  head = g_ascii_strdown (in->str, (gssize) *head_length);
  cl = strstr (head, "\r\ncontent-length:");
  *body_length = cl != NULL ? (gsize) g_ascii_strtoull (cl + 17, NULL, 10) : 0;
  if (in->len < *head_length + *body_length)
    return 0;
  return *head_length + *body_length;
}

RawResponse
raw_read_response (RawConn *r, guint budget_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) budget_ms * 1000;
  RawResponse response = { 0 };
  gsize head_length, body_length, total;

  while ((total = raw_complete (r->in, &head_length, &body_length)) == 0)
    {
      gint64 left = deadline - g_get_monotonic_time ();
      if (r->closed || left <= 0)
        return response;
      raw_wait (r, (guint) (left / 1000) + 1);
    }
  response.head = g_strndup (r->in->str, head_length);
  response.body = g_strndup (r->in->str + head_length, body_length);
  response.status = (guint) g_ascii_strtoull (response.head + 9, NULL, 10);
  g_string_erase (r->in, 0, (gssize) total);
  return response;
}

gboolean
raw_wait_closed (RawConn *r, guint budget_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) budget_ms * 1000;

  while (!r->closed)
    {
      gint64 left = deadline - g_get_monotonic_time ();
      if (left <= 0)
        return FALSE;
      raw_wait (r, (guint) (left / 1000) + 1);
    }
  return TRUE;
}

void
raw_response_clear (RawResponse *response)
{
  g_clear_pointer (&response->head, g_free);
  g_clear_pointer (&response->body, g_free);
  response->status = 0;
}

char *
raw_response_header (const RawResponse *response, const char *name)
{
  g_auto(GStrv) lines = response->head != NULL ? g_strsplit (response->head, "\r\n", -1) : NULL;
  gsize n = strlen (name);

  for (char **l = lines; l != NULL && *l != NULL; l++)
    if (g_ascii_strncasecmp (*l, name, n) == 0 && (*l)[n] == ':')
      return g_strstrip (g_strdup (*l + n + 1));
  return NULL;
}
