/* net/http-conn-deadline.c: a client connection's deadlines, checked by
 * its worker's sweep: the head (and TLS handshake), the body, idling
 * between requests, the client taking its answers, the lingering close
 * (docs/OPERATIONS.md, "The front end: limits and timeouts"). */
#include "http-server-private.h"

#include "netlog.h"

/* After a refusal, input is read and dropped for at most this long (and
 * LINGER_BYTES_MAX, http-conn.c). */
#define LINGER_MS 2000

static void
conn_timeout (Conn *c, TimeoutKind kind, gboolean answer)
{
  static const char *const what[TIMEOUT_N] = {
    [TIMEOUT_HEADER] = "request head not complete within http.header_timeout_ms",
    [TIMEOUT_BODY] = "request body not complete within http.body_timeout_ms",
    [TIMEOUT_IDLE] = "idle",
    [TIMEOUT_WRITE] = "the client did not read its answer within http.write_timeout_ms",
  };

  STAT_ADD (c->w, timeouts[kind], 1);
  if (kind == TIMEOUT_HEADER || kind == TIMEOUT_BODY || kind == TIMEOUT_WRITE)
    dsm_net_log_limited (G_LOG_LEVEL_INFO, c->w->server->options.node, "http_timeout", c->host,
                         "closed the HTTP connection of %s: %s", c->host, what[kind]);
  if (c->handshaking)
    {
      g_cancellable_cancel (c->cancel);
      return;
    }
  if (answer)
    {
      /* 408, after the answers due before it; nothing more is read. */
      http_conn_answer_error (c, 408, "timeout", what[kind]);
      http_conn_mark_dirty (c);
      return;
    }
  http_conn_close (c);
}

void
http_conn_check_deadline (Conn *c, gint64 now)
{
  const DsmHttpServerOptions *o = &c->w->server->options;

  if (c->closed)
    return;
  if (c->lingering)
    {
      if (now - c->linger_since_us > LINGER_MS * 1000)
        http_conn_close (c);
      return;
    }
  if (c->write_blocked_us != 0 && now - c->write_blocked_us > (gint64) o->write_timeout_ms * 1000)
    {
      conn_timeout (c, TIMEOUT_WRITE, FALSE);
      return;
    }
  if (c->handshaking || c->awaiting_hello)
    {
      if (now - c->accepted_us > (gint64) o->header_timeout_ms * 1000)
        {
          if (c->handshaking)
            conn_timeout (c, TIMEOUT_HEADER, FALSE);
          else
            {
              STAT_ADD (c->w, timeouts[TIMEOUT_HEADER], 1);
              http_conn_close (c);
            }
        }
      return;
    }
  if (c->no_more_requests)
    return;
  if (c->body_since_us != 0 && c->current != NULL)
    {
      if (now - c->body_since_us > (gint64) o->body_timeout_ms * 1000)
        conn_timeout (c, TIMEOUT_BODY, TRUE);
      return;
    }
  if (c->head_since_us != 0 && dsm_http_parser_get_phase (c->parser) == DSM_HTTP_PHASE_HEAD)
    {
      if (now - c->head_since_us > (gint64) o->header_timeout_ms * 1000)
        conn_timeout (c, TIMEOUT_HEADER, TRUE);
      return;
    }
  if (c->idle_since_us != 0 && c->pipeline.length == 0)
    {
      /* A connection that never sent a request gets the header timeout. */
      guint limit_ms = c->served == 0 ? o->header_timeout_ms : o->idle_timeout_ms;
      if (now - c->idle_since_us > (gint64) limit_ms * 1000)
        conn_timeout (c, c->served == 0 ? TIMEOUT_HEADER : TIMEOUT_IDLE, FALSE);
    }
}
