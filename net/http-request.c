/* net/http-request.c: one HTTP request of the server (http-server.h):
 * its accessors, its response headers and the thread-safe answer that
 * hands it back to its worker in batches. */
#include "http-server-private.h"

#include <string.h>

/* ---- requests ---- */

DsmHttpRequest *
http_request_new (Conn *conn, DsmHttpMessage *msg)
{
  DsmHttpRequest *r = g_new0 (DsmHttpRequest, 1);

  r->ref_count = 1;
  r->conn = conn;
  r->msg = msg;
  r->msg_owned = msg == NULL;
  r->received_us = g_get_monotonic_time ();
  return r;
}

DsmHttpRequest *
http_request_ref (DsmHttpRequest *request)
{
  g_atomic_int_inc (&request->ref_count);
  return request;
}

void
http_request_unref (DsmHttpRequest *request)
{
  if (request == NULL || !g_atomic_int_dec_and_test (&request->ref_count))
    return;
  if (request->data_destroy != NULL)
    request->data_destroy (request->data);
  if (request->msg_owned)
    dsm_http_message_free (request->msg);
  g_free (request->detached_host);
  g_free (request->content_type);
  if (request->body != NULL)
    g_string_free (request->body, TRUE);
  if (request->extra_headers != NULL)
    g_string_free (request->extra_headers, TRUE);
  if (request->stream != NULL)
    {
      /* Never reached its connection (which takes it over when it does). */
      http_stream_set_gone (request->stream);
      http_stream_unref (request->stream);
    }
  g_free (request);
}

DsmHttpRequest *
dsm_http_request_new_detached (DsmHttpMessage *msg, const char *peer_host)
{
  DsmHttpRequest *r;

  g_return_val_if_fail (msg != NULL, NULL);
  g_return_val_if_fail (peer_host != NULL, NULL);
  r = http_request_new (NULL, msg);
  r->msg_owned = TRUE;
  r->keep_alive = msg->keep_alive;
  r->version_minor = msg->version_minor;
  r->detached_host = g_strdup (peer_host);
  return r;
}

DsmHttpRequest *
dsm_http_request_ref (DsmHttpRequest *request)
{
  return http_request_ref (request);
}

void
dsm_http_request_unref (DsmHttpRequest *request)
{
  http_request_unref (request);
}

guint
dsm_http_request_get_status (DsmHttpRequest *request)
{
  return g_atomic_int_get (&request->answered) ? request->status : 0;
}

const char *
dsm_http_request_get_answer_body (DsmHttpRequest *request)
{
  return g_atomic_int_get (&request->answered) ? request->body->str : NULL;
}

const DsmHttpMessage *
dsm_http_request_get_message (DsmHttpRequest *request)
{
  return request->msg;
}

const char *
dsm_http_request_get_method (DsmHttpRequest *request)
{
  return request->msg->method;
}

const char *
dsm_http_request_get_target (DsmHttpRequest *request)
{
  return request->msg->target;
}

const char *
dsm_http_request_get_header (DsmHttpRequest *request, const char *name)
{
  return dsm_http_message_get_header (request->msg, name);
}

const guint8 *
dsm_http_request_get_body (DsmHttpRequest *request, gsize *length)
{
  GByteArray *body = request->msg->body;

  *length = body != NULL ? body->len : 0;
  return body != NULL && body->len > 0 ? body->data : (const guint8 *) "";
}

void
dsm_http_request_set_data (DsmHttpRequest *request, gpointer data, GDestroyNotify destroy)
{
  g_return_if_fail (request->data == NULL);
  request->data = data;
  request->data_destroy = destroy;
}

gpointer
dsm_http_request_get_data (DsmHttpRequest *request)
{
  return request->data;
}

void
dsm_http_request_add_header (DsmHttpRequest *request, const char *name, const char *value)
{
  g_return_if_fail (!g_atomic_int_get (&request->answered));
  /* A header must not smuggle a line break into the answer. */
  g_return_if_fail (strpbrk (name, "\r\n:") == NULL);
  g_return_if_fail (strpbrk (value, "\r\n") == NULL);

  if (request->extra_headers == NULL)
    request->extra_headers = g_string_new (NULL);
  g_string_append_printf (request->extra_headers, "%s: %s\r\n", name, value);
}

void
dsm_http_request_close_after (DsmHttpRequest *request)
{
  request->close_after = TRUE;
}

/* On the worker's thread: the answer goes to its connection, if any left. */
void
http_worker_deliver (Worker *w, DsmHttpRequest *request)
{
  g_assert (request->worker == w);
  request->ready = TRUE;
  if (request->conn != NULL && !http_conn_is_closed (request->conn))
    http_conn_on_answer (request->conn, request);
  else
    STAT_ADD (w, answers_dropped, 1);
  /* The handler's reference, handed over with the answer. */
  http_request_unref (request);
}

void
dsm_http_request_respond (DsmHttpRequest *request, guint status, const char *content_type, GString *body)
{
  Worker *w = request->worker;
  gboolean was_empty;

  g_return_if_fail (status >= 100 && status < STATUS_SLOTS);
  g_return_if_fail (g_atomic_int_compare_and_exchange (&request->answered, 0, 1));

  request->status = status;
  request->content_type = g_strdup (content_type);
  request->body = body != NULL ? body : g_string_new (NULL);
  if (w == NULL)
    {
      /* Detached: the answer stays with the request; the handler's
       * reference goes as it would to a worker. */
      request->ready = TRUE;
      http_request_unref (request);
      return;
    }
  if (g_thread_self () == g_atomic_pointer_get (&w->self))
    {
      http_worker_deliver (w, request);
      return;
    }
  g_mutex_lock (&w->answers_lock);
  was_empty = w->answers->len == 0;
  g_ptr_array_add (w->answers, request);
  g_mutex_unlock (&w->answers_lock);
  /* One wake-up per batch: later answers ride on this one. */
  if (was_empty)
    dsm_wake_signal (&w->answer_wake);
}

const char *
dsm_http_status_phrase (guint status)
{
  switch (status)
    {
    case 100: return "Continue";
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* These need the connection: on the worker thread, before the answer. */

const char *
dsm_http_request_get_peer_host (DsmHttpRequest *request)
{
  if (request->detached_host != NULL)
    return request->detached_host;
  return request->conn != NULL ? request->conn->host : "";
}

GTlsCertificate *
dsm_http_request_get_peer_certificate (DsmHttpRequest *request)
{
  return request->conn != NULL ? request->conn->peer_cert : NULL;
}
