/* net/http-stream.c: streamed answers of the HTTP server (http-server.h):
 * a producer on any thread writes, bounded, never waiting on the client;
 * the connection's worker takes what was written once it has written what
 * it had, and keeps a quiet stream alive with comment lines. */
#include "http-server-private.h"

#include <string.h>

#define KEEPALIVE ": keepalive\n\n"

static DsmHttpStream *
stream_ref (DsmHttpStream *stream)
{
  g_atomic_int_inc (&stream->ref_count);
  return stream;
}

void
http_stream_unref (DsmHttpStream *stream)
{
  if (stream == NULL || !g_atomic_int_dec_and_test (&stream->ref_count))
    return;
  g_assert (stream->conn == NULL);
  g_string_free (stream->pending, TRUE);
  g_mutex_clear (&stream->lock);
  g_free (stream);
}

void
http_stream_set_gone (DsmHttpStream *stream)
{
  g_atomic_int_set (&stream->gone, 1);
}

DsmHttpStream *
dsm_http_stream_new (DsmHttpRequest *request, gsize bytes_max, guint keepalive_ms)
{
  DsmHttpStream *stream = g_new0 (DsmHttpStream, 1);

  g_return_val_if_fail (request->stream == NULL, NULL);
  g_return_val_if_fail (bytes_max > 0 && keepalive_ms > 0, NULL);
  stream->ref_count = 2;        /* the producer's and the request's (the connection's, once attached) */
  stream->worker = request->worker;
  stream->bytes_max = bytes_max;
  stream->keepalive_ms = keepalive_ms;
  stream->pending = g_string_new (NULL);
  g_mutex_init (&stream->lock);
  if (request->worker == NULL)
    http_stream_set_gone (stream);   /* detached: no connection to stream to */
  request->stream = stream;
  return stream;
}

void
dsm_http_request_respond_stream (DsmHttpRequest *request, DsmHttpStream *stream, guint status,
                                 const char *content_type)
{
  g_return_if_fail (request->stream == stream);
  dsm_http_request_respond (request, status, content_type, NULL);
}

/* Under stream->lock: has the worker take the stream's bytes, once. */
static void
stream_wake (DsmHttpStream *stream)
{
  Worker *w = stream->worker;
  gboolean was_empty;

  if (stream->queued || w == NULL)
    return;
  stream->queued = TRUE;
  g_mutex_lock (&w->answers_lock);
  was_empty = w->answers->len == 0 && w->streams->len == 0;
  g_ptr_array_add (w->streams, stream_ref (stream));
  g_mutex_unlock (&w->answers_lock);
  if (was_empty)
    dsm_wake_signal (&w->answer_wake);
}

DsmHttpStreamResult
dsm_http_stream_write (DsmHttpStream *stream, const char *data, gsize length)
{
  DsmHttpStreamResult result = DSM_HTTP_STREAM_OK;

  if (g_atomic_int_get (&stream->gone))
    return DSM_HTTP_STREAM_GONE;
  g_mutex_lock (&stream->lock);
  g_assert (!stream->ended);
  if (stream->pending->len + length > stream->bytes_max)
    result = DSM_HTTP_STREAM_FULL;
  else
    {
      g_string_append_len (stream->pending, data, (gssize) length);
      stream_wake (stream);
    }
  g_mutex_unlock (&stream->lock);
  return result;
}

gboolean
dsm_http_stream_is_gone (DsmHttpStream *stream)
{
  return g_atomic_int_get (&stream->gone);
}

void
dsm_http_stream_end (DsmHttpStream *stream, const char *last)
{
  g_mutex_lock (&stream->lock);
  g_assert (!stream->ended);
  if (last != NULL)
    g_string_append (stream->pending, last);
  stream->ended = TRUE;
  stream_wake (stream);
  g_mutex_unlock (&stream->lock);
  http_stream_unref (stream);
}

/* ---- the worker's side ---- */

void
http_worker_take_streams (Worker *w)
{
  GPtrArray *batch;

  g_mutex_lock (&w->answers_lock);
  batch = w->streams;
  w->streams = w->streams_spare;
  w->streams_spare = NULL;
  g_mutex_unlock (&w->answers_lock);
  for (guint i = 0; i < batch->len; i++)
    {
      DsmHttpStream *stream = batch->pdata[i];
      g_mutex_lock (&stream->lock);
      stream->queued = FALSE;
      g_mutex_unlock (&stream->lock);
      /* Not attached yet: the connection pulls when it attaches. */
      if (stream->conn != NULL)
        http_conn_mark_dirty (stream->conn);
      http_stream_unref (stream);
    }
  g_ptr_array_set_size (batch, 0);
  g_mutex_lock (&w->answers_lock);
  w->streams_spare = batch;
  g_mutex_unlock (&w->answers_lock);
}

void
http_conn_attach_stream (Conn *c, DsmHttpStream *stream)
{
  g_assert (c->stream == NULL);
  g_assert (stream->conn == NULL);
  g_assert (stream->worker == c->w);
  c->stream = stream;
  stream->conn = c;
  stream->written_us = g_get_monotonic_time ();
  STAT_ADD (c->w, streams_open, 1);
}

gboolean
http_conn_pull_stream (Conn *c, gboolean *ended)
{
  DsmHttpStream *stream = c->stream;
  gboolean got;

  g_assert (stream != NULL);
  g_assert (c->out == NULL || c->out_done == c->out->len);
  g_mutex_lock (&stream->lock);
  got = stream->pending->len > 0;
  if (got)
    {
      if (c->out == NULL)
        c->out = g_string_sized_new (stream->pending->len);
      g_string_truncate (c->out, 0);
      c->out_done = 0;
      g_string_append_len (c->out, stream->pending->str, (gssize) stream->pending->len);
      g_string_truncate (stream->pending, 0);
      stream->written_us = g_get_monotonic_time ();
    }
  *ended = stream->ended && !got;
  g_mutex_unlock (&stream->lock);
  return got;
}

/* On closing @c: the producer's next write learns the client is gone. */
void
http_conn_detach_stream (Conn *c)
{
  DsmHttpStream *stream = c->stream;

  if (stream == NULL)
    return;
  http_stream_set_gone (stream);
  stream->conn = NULL;
  c->stream = NULL;
  STAT_ADD (c->w, streams_open, (guint64) -1);
  http_stream_unref (stream);
}

void
http_conn_check_stream (Conn *c, gint64 now)
{
  DsmHttpStream *stream = c->stream;

  if (stream == NULL || c->closed || (c->out != NULL && c->out_done < c->out->len)
      || now - stream->written_us < (gint64) stream->keepalive_ms * 1000)
    return;
  if (c->out == NULL)
    c->out = g_string_new (NULL);
  g_string_truncate (c->out, 0);
  c->out_done = 0;
  g_string_append (c->out, KEEPALIVE);
  stream->written_us = now;
  STAT_ADD (c->w, stream_keepalives, 1);
  http_conn_mark_dirty (c);
}
