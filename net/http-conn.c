/* net/http-conn.c: one client connection on an HTTP worker: reading into
 * the parser, pipelined requests answered in order, writing, and the
 * lingering close (its TLS handshake: http-conn-tls.c; its deadlines:
 * http-conn-deadline.c).
 *
 *   [handshaking] --ClientHello complete, handshake done--> open
 *   open: read -> parse -> head_func -> body -> request_func; answers written in order
 *   open --refusal, parse error, Connection: close, timeout--> no more reading
 *        --answers written--> lingering (SHUT_WR, input discarded) --EOF or 2 s--> closed
 *   any --peer reset, write timeout, worker stop--> closed */
#include "http-server-private.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "codec.h"
#include "conn-tls.h"
#include "netlog.h"

#define READ_BYTES (64 * 1024)
/* After a refusal, input is read and dropped for at most this much (and
 * LINGER_MS, http-conn-deadline.c), so the client sees the answer rather
 * than a reset. */
#define LINGER_BYTES_MAX (1024 * 1024)
/* An answer buffer larger than this is not kept for the next one. */
#define OUT_KEEP_BYTES (64 * 1024)
/* Answers not yet taken by the client past which its requests are not
 * read: a client that pipelines and never reads holds this much of ours. */
#define OUT_BACKLOG_MAX (256 * 1024)


static void conn_feed (Conn *c, const guint8 *data, gsize length);

gboolean
http_conn_is_closed (const Conn *c)
{
  return c->closed;
}

gboolean
http_conn_is_handshaking (const Conn *c)
{
  return c->handshaking;
}

/* ---- epoll interest ---- */

static void
conn_watch (Conn *c, guint32 events)
{
  /* Once the client's end is known closed, EPOLLRDHUP would fire forever. */
  struct epoll_event ev = { .events = events | (c->peer_eof ? 0 : EPOLLRDHUP), .data.ptr = c };

  g_assert (!c->closed);
  if (c->registered && events == c->events)
    return;
  g_assert (epoll_ctl (c->w->epfd, c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) == 0);
  c->registered = TRUE;
  c->events = events;
}

static gboolean
conn_pipeline_full (const Conn *c)
{
  return c->pipeline.length >= c->w->server->options.max_pipelined_requests;
}

/* Whether the client's requests wait unread: its pipeline is full, or it
 * has not taken the answers it has, or bytes read are still held. */
static gboolean
conn_paused (const Conn *c)
{
  return conn_pipeline_full (c) || c->held_len > 0
         || (c->out != NULL && c->out->len - c->out_done > OUT_BACKLOG_MAX);
}

/* Read when more requests may come and the connection is not paused;
 * write while answers wait; keep reading (and dropping) input while
 * lingering. */
void
http_conn_update_interest (Conn *c)
{
  guint32 events = 0;

  if (c->closed || c->handshaking)
    return;
  if (c->lingering || c->awaiting_hello || (!c->no_more_requests && !conn_paused (c)))
    events |= EPOLLIN;
  if (c->out != NULL && c->out_done < c->out->len)
    events |= EPOLLOUT;
  conn_watch (c, events);
}

void
http_conn_mark_dirty (Conn *c)
{
  if (c->dirty || c->closed)
    return;
  c->dirty = TRUE;
  g_ptr_array_add (c->w->dirty, c);
}

/* ---- raw I/O: > 0 bytes, 0 end of stream, -1 would block, -2 failed ---- */

static gssize
conn_recv (Conn *c, guint8 *buf, gsize size)
{
  return dsm_conn_io_recv (c->fd, c->tls_in, buf, size);
}

static gssize
conn_send (Conn *c, const char *data, gsize length)
{
  return dsm_conn_io_send (c->fd, c->tls_out, (const guint8 *) data, length);
}

/* ---- closing ---- */

/* Drops the connection's hold on its requests: answers still to come for
 * them are dropped by the worker. */
static void
conn_release_pipeline (Conn *c)
{
  DsmHttpRequest *r;

  while ((r = g_queue_pop_head (&c->pipeline)) != NULL)
    {
      r->conn = NULL;
      if (r->stream != NULL)
        http_stream_set_gone (r->stream);
      /* The parser's message: it goes with the parser. */
      if (!r->msg_owned)
        r->msg = NULL;
      http_request_unref (r);
    }
  c->current = NULL;
}

void
http_conn_close (Conn *c)
{
  Worker *w = c->w;

  if (c->closed)
    return;
  g_assert (!c->handshaking);
  c->closed = TRUE;
  if (c->registered)
    epoll_ctl (w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
  conn_release_pipeline (c);
  http_conn_detach_stream (c);
  if (c->socket_conn != NULL)
    g_socket_close (g_socket_connection_get_socket (c->socket_conn), NULL);
  else
    close (c->fd);
  c->fd = -1;
  http_server_release_address (w->server, c->host);
  g_queue_unlink (&w->conns, &c->link);
  g_ptr_array_add (w->dead, c);
  STAT_ADD (w, closed, 1);
}

void
http_conn_abort (Conn *c)
{
  if (c->handshaking)
    {
      /* The handshake's callback closes it. */
      g_cancellable_cancel (c->cancel);
      return;
    }
  http_conn_close (c);
}

void
http_conn_free (Conn *c)
{
  g_assert (c->closed);
  g_assert (c->pipeline.length == 0);
  g_assert (c->stream == NULL);
  dsm_http_parser_free (c->parser);
  g_free (c->held);
  if (c->out != NULL)
    g_string_free (c->out, TRUE);
  g_clear_object (&c->peer_cert);
  g_clear_object (&c->tls);
  g_clear_object (&c->socket_conn);
  g_clear_object (&c->cancel);
  g_free (c->host);
  g_free (c);
}

/* Everything answered: close now, or first let the client finish sending
 * what it was sending (a refused body), so it reads our answer instead of
 * a reset. */
void
http_conn_finish (Conn *c)
{
  if (!c->unread_input || c->peer_eof)
    {
      http_conn_close (c);
      return;
    }
  if (c->tls == NULL)
    shutdown (c->fd, SHUT_WR);
  c->lingering = TRUE;
  c->linger_since_us = g_get_monotonic_time ();
  http_conn_update_interest (c);
}

static void
conn_linger_read (Conn *c)
{
  for (;;)
    {
      gssize n = conn_recv (c, c->w->scratch, READ_BYTES);
      if (n == -1)
        return;
      if (n <= 0 || (c->lingered_bytes += (gsize) n) > LINGER_BYTES_MAX)
        {
          http_conn_close (c);
          return;
        }
    }
}

/* ---- writing ---- */

static void
conn_write (Conn *c)
{
  gboolean ended = FALSE;

  for (;;)
    {
      while (c->out != NULL && c->out_done < c->out->len)
        {
          gssize n = conn_send (c, c->out->str + c->out_done, c->out->len - c->out_done);
          if (n == -1)
            break;
          if (n <= 0)
            {
              http_conn_close (c);
              return;
            }
          c->out_done += (gsize) n;
          STAT_ADD (c->w, bytes_written, n);
        }
      /* A streamed answer goes on with what its producer wrote meanwhile. */
      if ((c->out != NULL && c->out_done < c->out->len) || c->stream == NULL || !http_conn_pull_stream (c, &ended))
        break;
    }
  if (c->out != NULL && c->out_done < c->out->len)
    {
      if (c->write_blocked_us == 0)
        c->write_blocked_us = g_get_monotonic_time ();
      http_conn_update_interest (c);
      return;
    }
  c->write_blocked_us = 0;
  if (c->out != NULL)
    {
      if (c->out->allocated_len > OUT_KEEP_BYTES)
        {
          g_string_free (c->out, TRUE);
          c->out = NULL;
        }
      else
        g_string_truncate (c->out, 0);
      c->out_done = 0;
    }
  if (c->pipeline.length == 0 && c->current == NULL)
    {
      /* A stream stays open until its producer ends it. */
      if (c->stream != NULL && !ended && !c->peer_eof)
        {
          http_conn_update_interest (c);
          return;
        }
      if (c->no_more_requests || c->peer_eof)
        {
          http_conn_finish (c);
          return;
        }
      c->idle_since_us = g_get_monotonic_time ();
    }
  http_conn_update_interest (c);
}

static void
conn_append_answer (Conn *c, DsmHttpRequest *r, gboolean close)
{
  Worker *w = c->w;

  if (c->out == NULL)
    c->out = g_string_sized_new (256 + r->body->len);
  g_string_append_printf (c->out, "HTTP/1.1 %u %s\r\nDate: %s\r\nServer: dsm/" DSM_VERSION "\r\n", r->status,
                          dsm_http_status_phrase (r->status), http_worker_date (w));
  if (r->content_type != NULL)
    g_string_append_printf (c->out, "Content-Type: %s\r\n", r->content_type);
  if (r->stream != NULL)
    /* No length: the body is the stream, ended by the close. */
    g_string_append (c->out, "Cache-Control: no-cache\r\n");
  else
    g_string_append_printf (c->out, "Content-Length: %" G_GSIZE_FORMAT "\r\n", r->body->len);
  if (close)
    g_string_append (c->out, "Connection: close\r\n");
  else if (r->version_minor == 0)
    g_string_append (c->out, "Connection: keep-alive\r\n");
  if (r->extra_headers != NULL)
    g_string_append_len (c->out, r->extra_headers->str, (gssize) r->extra_headers->len);
  g_string_append (c->out, "\r\n");
  g_string_append_len (c->out, r->body->str, (gssize) r->body->len);
  STAT_ADD (w, answered[r->status], 1);
}

/* Moves the answers now at the head of the pipeline into the output, in
 * request order: a later answer waits for the earlier ones. */
static void
conn_collect_answers (Conn *c)
{
  DsmHttpRequest *r;

  while ((r = g_queue_peek_head (&c->pipeline)) != NULL && r->ready)
    {
      gboolean close = r->close_after || !r->keep_alive || r->stream != NULL;
      g_queue_pop_head (&c->pipeline);
      conn_append_answer (c, r, close);
      r->conn = NULL;
      if (r->stream != NULL)
        http_conn_attach_stream (c, g_steal_pointer (&r->stream));
      http_request_unref (r);
      if (close)
        {
          /* Nothing after this answer: requests behind it are dropped. */
          c->no_more_requests = TRUE;
          conn_release_pipeline (c);
          break;
        }
    }
}

void
http_conn_on_answer (Conn *c, DsmHttpRequest *request)
{
  g_assert (request->conn == c);
  g_assert (request->ready);
  if (g_queue_peek_head (&c->pipeline) == request)
    http_conn_mark_dirty (c);
}

/* Room again: parse what was held, then read on (a TLS stream may hold
 * decrypted bytes epoll cannot see, so it is read now, not on an event). */
static void
conn_resume (Conn *c)
{
  if (c->closed || c->no_more_requests || conn_pipeline_full (c))
    return;
  if (c->held_len > 0)
    {
      g_autofree guint8 *held = g_steal_pointer (&c->held);
      gsize held_len = c->held_len;
      c->held_len = 0;
      conn_feed (c, held, held_len);
    }
  if (!c->closed && !c->no_more_requests && !conn_paused (c))
    {
      if (c->tls != NULL)
        http_conn_read (c);
      else
        http_conn_update_interest (c);
    }
}

void
http_conn_flush (Conn *c)
{
  c->dirty = FALSE;
  if (c->closed)
    return;
  conn_collect_answers (c);
  conn_write (c);
  conn_resume (c);
}

/* ---- requests ---- */

/* An answer the connection gives itself (a parse error, a timeout),
 * after the answers to the requests before it. */
void
http_conn_answer_error (Conn *c, guint status, const char *reason, const char *message)
{
  DsmHttpRequest *r = c->current;
  GString *body = g_string_new ("{\"error\":");

  if (r == NULL)
    {
      r = http_request_new (c, NULL);
      r->worker = c->w;
      r->keep_alive = FALSE;
      r->version_minor = 1;
      g_queue_push_tail (&c->pipeline, r);
    }
  c->current = NULL;
  c->no_more_requests = TRUE;
  c->unread_input = TRUE;
  dsm_codec_write_string (body, message);
  g_string_append (body, ",\"reason\":");
  dsm_codec_write_string (body, reason);
  g_string_append (body, "}\n");
  dsm_http_request_close_after (r);
  /* The respond call takes a handler's reference. */
  http_request_ref (r);
  dsm_http_request_respond (r, status, "application/json", body);
}

static void
conn_on_parse_error (Conn *c, const GError *error)
{
  DsmHttpParseError code = (DsmHttpParseError) error->code;

  g_assert (error->domain == DSM_HTTP_PARSE_ERROR);
  STAT_ADD (c->w, parse_errors[code], 1);
  dsm_net_log_limited (G_LOG_LEVEL_INFO, c->w->server->options.node, "http_malformed", c->host,
                       "refused a request from %s: %s", c->host, error->message);
  http_conn_answer_error (c, dsm_http_parse_error_status (code), dsm_http_parse_error_reason (code), error->message);
}

static void
conn_on_head (Conn *c)
{
  DsmHttpServer *server = c->w->server;
  DsmHttpMessage *msg = (DsmHttpMessage *) dsm_http_parser_peek (c->parser);
  DsmHttpRequest *r = http_request_new (c, msg);

  g_assert (c->current == NULL);
  r->worker = c->w;
  r->msg_owned = FALSE;
  r->keep_alive = msg->keep_alive;
  r->version_minor = msg->version_minor;
  g_queue_push_tail (&c->pipeline, r);
  c->current = r;
  c->body_since_us = r->received_us;
  c->idle_since_us = 0;
  /* The head callback may answer at once (a refusal): that answer takes
   * the reference handed to it; otherwise it is given back. */
  http_request_ref (r);
  if (server->head_func (r, server->user_data))
    {
      g_assert (!g_atomic_int_get (&r->answered));
      http_request_unref (r);
      /* Interim 100 only when no earlier answer is still due, so answers
       * stay in order; otherwise the client sends its body after a pause. */
      if (msg->expect_continue && dsm_http_message_has_body (msg) && c->pipeline.length == 1
          && (c->out == NULL || c->out->len == c->out_done))
        {
          if (c->out == NULL)
            c->out = g_string_sized_new (256);
          g_string_append (c->out, "HTTP/1.1 100 Continue\r\n\r\n");
          http_conn_mark_dirty (c);
        }
      return;
    }
  g_assert (g_atomic_int_get (&r->answered));
  if (dsm_http_message_has_body (msg))
    {
      /* Refused before its body: the body is never read, so the stream
       * cannot be followed past it. */
      dsm_http_request_close_after (r);
      c->current = NULL;
      c->no_more_requests = TRUE;
      c->unread_input = TRUE;
    }
}

static void
conn_on_complete (Conn *c)
{
  DsmHttpServer *server = c->w->server;
  DsmHttpMessage *msg = dsm_http_parser_take (c->parser);
  DsmHttpRequest *r = c->current;

  g_assert (r != NULL);
  g_assert (r->msg == msg);
  r->msg_owned = TRUE;
  c->current = NULL;
  c->head_since_us = 0;
  c->body_since_us = 0;
  c->served++;
  if (!msg->keep_alive)
    c->no_more_requests = TRUE;
  if (!g_atomic_int_get (&r->answered))
    {
      http_request_ref (r);
      server->request_func (r, server->user_data);
    }
}

/* Feeds bytes to the parser up to a full pipeline (the rest is held). */
static void
conn_feed (Conn *c, const guint8 *data, gsize length)
{
  while (!c->closed && !c->no_more_requests)
    {
      g_autoptr(GError) error = NULL;
      DsmHttpPhase before = dsm_http_parser_get_phase (c->parser);
      gsize used = 0;

      if (c->current == NULL && before == DSM_HTTP_PHASE_IDLE && conn_paused (c))
        {
          if (length > 0)
            {
              g_assert (c->held == NULL);
              c->held = g_memdup2 (data, length);
              c->held_len = length;
            }
          return;
        }
      DsmHttpFeedResult result = dsm_http_parser_feed (c->parser, data, length, &used, &error);
      data += used;
      length -= used;
      if (before == DSM_HTTP_PHASE_IDLE && dsm_http_parser_get_phase (c->parser) != DSM_HTTP_PHASE_IDLE)
        {
          c->head_since_us = g_get_monotonic_time ();
          c->idle_since_us = 0;
        }
      switch (result)
        {
        case DSM_HTTP_FEED_MORE:
          g_assert (length == 0);
          return;
        case DSM_HTTP_FEED_HEAD:
          conn_on_head (c);
          break;
        case DSM_HTTP_FEED_DONE:
          conn_on_complete (c);
          break;
        case DSM_HTTP_FEED_ERROR:
        default:
          conn_on_parse_error (c, error);
          return;
        }
    }
}

/* ---- reading ---- */

static void
conn_on_eof (Conn *c)
{
  c->peer_eof = TRUE;
  if (c->current != NULL || dsm_http_parser_get_phase (c->parser) == DSM_HTTP_PHASE_HEAD)
    {
      /* Half a request, then the end: it will never be complete. */
      http_conn_close (c);
      return;
    }
  c->no_more_requests = TRUE;
  /* Answers still due are written first (a client may half-close). */
  if (c->pipeline.length == 0)
    http_conn_close (c);
}

void
http_conn_read (Conn *c)
{
  while (!c->closed && !c->no_more_requests && !conn_paused (c))
    {
      gssize n = conn_recv (c, c->w->scratch, READ_BYTES);
      if (n == -1)
        break;
      if (n == 0)
        {
          conn_on_eof (c);
          break;
        }
      if (n < 0)
        {
          http_conn_close (c);
          break;
        }
      STAT_ADD (c->w, bytes_read, n);
      conn_feed (c, c->w->scratch, (gsize) n);
      /* A short plain read drained the socket; epoll says when there is
       * more.  TLS may hold decrypted bytes epoll cannot see: read on. */
      if (c->tls == NULL && n < READ_BYTES)
        break;
    }
  if (!c->closed)
    http_conn_update_interest (c);
}

/* ---- the worker's entry points ---- */

Conn *
http_conn_new (Worker *w, int fd, char *peer_host)
{
  Conn *c = g_new0 (Conn, 1);

  c->w = w;
  c->fd = fd;
  c->host = peer_host;
  c->link.data = c;
  g_queue_push_tail_link (&w->conns, &c->link);
  c->parser = dsm_http_parser_new (&w->server->options.limits);
  c->accepted_us = g_get_monotonic_time ();
  c->idle_since_us = c->accepted_us;
  c->awaiting_hello = w->server->options.tls_certificate != NULL;
  http_conn_update_interest (c);
  return c;
}

void
http_conn_on_events (Conn *c, guint32 events)
{
  g_assert (!c->closed);
  if (c->awaiting_hello)
    {
      http_conn_peek_hello (c);
      return;
    }
  if (c->lingering)
    {
      conn_linger_read (c);
      return;
    }
  if (events & EPOLLOUT)
    {
      conn_write (c);
      conn_resume (c);
    }
  if (!c->closed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
    {
      if (!c->no_more_requests && !conn_paused (c))
        http_conn_read (c);
      else if (events & (EPOLLHUP | EPOLLERR))
        http_conn_close (c);
      else if (events & EPOLLRDHUP)
        {
          /* Not reading, but the client has gone: stop waiting for the
           * answers it would never read. */
          c->peer_eof = TRUE;
          if (c->pipeline.length == 0)
            http_conn_close (c);
          else
            http_conn_update_interest (c);
        }
    }
}
