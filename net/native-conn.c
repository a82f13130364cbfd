/* net/native-conn.c: one native connection on its worker (native.h):
 * bytes read and cut into frames, bounded before they are buffered, each
 * request handed to native.c; answers from the loop taken in batches and
 * written; errors, deadlines and the lingering close.  On a TLS port the
 * handshake comes first (native-conn-tls.c).
 *
 *   accepted --hello--> open: frames -> native_on_request(); answers in any order
 *   any --fatal error, timeout--> closing (error frame written, SHUT_WR, input
 *        discarded for LINGER_MS) --> closed     any --reset, write timeout--> closed */
#define _GNU_SOURCE
#include "native-private.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conn-tls.h"
#include "netlog.h"

/* Answers not taken by the client past which its requests are not read. */
#define OUT_BACKLOG_MAX (256 * 1024)
#define LINGER_MS 2000
#define LINGER_BYTES_MAX (1024 * 1024)
/* The most answers the loop writes in one sendmsg() (native_loop_write_held()). */
#define LOOP_WRITE_ANSWERS_MAX 64

/* ---- connections ---- */

NativeConn *
native_conn_ref (NativeConn *c)
{
  g_atomic_int_inc (&c->refs);
  return c;
}

void
native_conn_unref (NativeConn *c)
{
  if (!g_atomic_int_dec_and_test (&c->refs))
    return;
  g_assert (c->closed);
  g_assert (!c->handshaking);
  g_clear_object (&c->tls);
  g_clear_object (&c->socket_conn);
  g_clear_object (&c->cancel);
  g_byte_array_unref (c->in);
  g_byte_array_unref (c->out);
  g_mutex_clear (&c->send_lock);
  g_free (c->host);
  g_free (c->who);
  g_free (c);
}

void
native_conn_set_identity (NativeConn *c, DsmHttpRole role, const char *who, guint version)
{
  g_assert (version >= DSM_WIRE_VERSION_MIN && version <= DSM_WIRE_VERSION);
  c->authed = TRUE;
  c->version = version;
  c->role = role;
  g_free (c->who);
  c->who = g_strdup (who);
}

DsmHttpRole native_conn_get_role (const NativeConn *c) { return c->role; }
const char *native_conn_get_who (const NativeConn *c) { return c->who != NULL ? c->who : c->host; }
const char *native_conn_get_host (const NativeConn *c) { return c->host; }
gboolean native_conn_get_authed (const NativeConn *c) { return c->authed; }
guint native_conn_get_version (const NativeConn *c) { return c->version; }
guint native_conn_get_in_flight (const NativeConn *c) { return (guint) g_atomic_int_get (&c->in_flight); }

void
native_conn_add_in_flight (NativeConn *c)
{
  g_atomic_int_inc (&c->in_flight);
}

static gsize
conn_backlog (const NativeConn *c)
{
  return c->out->len - c->out_done;
}

void
native_conn_watch (NativeConn *c)
{
  guint32 events = EPOLLRDHUP;
  struct epoll_event ev;

  if (c->closed || c->handshaking)
    return;
  /* Level-triggered: a ClientHello cut short would wake the worker until
   * it is whole, so the sweep looks at it instead. */
  if ((c->lingering || (!c->closing && conn_backlog (c) <= OUT_BACKLOG_MAX)) && !c->tls_partial)
    events |= EPOLLIN;
  if (conn_backlog (c) > 0)
    events |= EPOLLOUT;
  if (c->registered && events == c->events)
    return;
  ev.events = events;
  ev.data.ptr = c;
  g_assert (epoll_ctl (c->w->epfd, c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) == 0);
  c->registered = TRUE;
  c->events = events;
}

/* The loop writes no more on the socket: it closes, or ends with an error. */
static void
conn_stop_loop_sends (NativeConn *c)
{
  g_mutex_lock (&c->send_lock);
  c->loop_may_send = FALSE;
  g_mutex_unlock (&c->send_lock);
}

static void
conn_mark_dirty (NativeConn *c)
{
  if (c->dirty || c->closed)
    return;
  c->dirty = TRUE;
  g_ptr_array_add (c->w->dirty, native_conn_ref (c));
}

void
native_conn_close (NativeConn *c)
{
  if (c->closed)
    return;
  c->closed = TRUE;
  conn_stop_loop_sends (c);
  if (c->registered)
    epoll_ctl (c->w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
  if (c->handshaking)
    /* Its thread still uses the socket: the handshake's callback closes it. */
    g_cancellable_cancel (c->cancel);
  else
    native_conn_close_socket (c);
  dsm_conn_caps_release (&c->w->n->caps, c->host);
  g_queue_unlink (&c->w->conns, &c->link);
  NATIVE_ADD (c->w->n, closed, 1);
  native_conn_unref (c);
}

void
native_conn_send (NativeConn *c, const DsmWireMsg *msg)
{
  if (c->closed)
    return;
  dsm_wire_encode_version (msg, c->version, c->out);
  conn_mark_dirty (c);
}

void
native_conn_error (NativeConn *c, guint64 id, NativeError code, gboolean closing, guint retry_after_ms,
                   const char *format, ...)
{
  DsmWireMsg msg = { .type = DSM_WIRE_ERROR, .id = id, .closing = closing, .retry_after_ms = retry_after_ms };
  va_list args;

  g_assert (code < NE_N);
  NATIVE_ADD (c->w->n, errors[code], 1);
  va_start (args, format);
  msg.message = g_strdup_vprintf (format, args);
  va_end (args);
  msg.code = (char *) native_error_name (code);
  native_conn_send (c, &msg);
  msg.code = NULL;
  g_free (msg.message);
  if (closing)
    {
      c->closing = TRUE;
      conn_stop_loop_sends (c);
      native_conn_watch (c);
    }
}

/* ---- raw I/O ---- */

gssize
native_conn_recv (NativeConn *c, guint8 *buf, gsize size)
{
  return dsm_conn_io_recv (c->fd, c->tls_in, buf, size);
}

gssize
native_conn_send_bytes (NativeConn *c, const guint8 *data, gsize length)
{
  return dsm_conn_io_send (c->fd, c->tls_out, data, length);
}

/* ---- reading ---- */

/* Cuts and handles every whole frame read, while the client takes its answers. */
static void
conn_process (NativeConn *c)
{
  DsmNative *n = c->w->n;

  while (!c->closed && !c->closing && conn_backlog (c) <= OUT_BACKLOG_MAX)
    {
      g_autoptr(GError) error = NULL;
      const guint8 *payload;
      gsize length, used;
      DsmWireMsg msg;
      int cut = dsm_wire_cut (c->in->data + c->in_start, c->in->len - c->in_start, n->limits.max_frame_bytes,
                              &payload, &length, &used, &error);
      if (cut == 0)
        break;
      if (cut < 0)
        {
          NativeError code = error->code == DSM_WIRE_ERROR_FRAME_TOO_LARGE ? NE_FRAME_TOO_LARGE : NE_BAD_FRAME;
          dsm_net_log_limited (G_LOG_LEVEL_INFO, n->node, "native_malformed", c->host,
                               "native connection from %s: %s at stream byte %" G_GSIZE_FORMAT, c->host,
                               error->message, c->in_start);
          native_conn_error (c, 0, code, TRUE, 0, "%s", error->message);
          return;
        }
      c->in_start += used;
      c->active_us = g_get_monotonic_time ();
      if (!dsm_wire_decode_version (payload, length, TRUE, c->version, &msg, &error))
        {
          /* The frame's bounds are sound: the stream goes on. */
          NativeError code = error->code == DSM_WIRE_ERROR_BAD_TYPE ? NE_BAD_TYPE : NE_BAD_REQUEST;
          /* Before the hello the version is unknown: a request of any
           * layout is one sent too early. */
          if (!c->authed && code == NE_BAD_REQUEST && msg.type != DSM_WIRE_HELLO)
            code = NE_HELLO_REQUIRED;
          dsm_net_log_limited (G_LOG_LEVEL_INFO, n->node, "native_malformed", c->host,
                               "native request from %s: %s", c->host, error->message);
          native_conn_error (c, msg.id, code, !c->authed, 0, "%s", error->message);
          dsm_wire_msg_clear (&msg);
          continue;
        }
      native_on_request (n, c, &msg);
      dsm_wire_msg_clear (&msg);
    }
  /* Keep the buffer to the frame being read. */
  if (c->in_start > 0 && (c->in_start == c->in->len || c->in_start >= NATIVE_READ_BYTES))
    {
      g_byte_array_remove_range (c->in, 0, (guint) c->in_start);
      c->in_start = 0;
    }
}

void
native_conn_read (NativeConn *c)
{
  NativeWorker *w = c->w;

  if (c->awaiting_tls)
    {
      native_conn_tls_peek (c);
      if (!c->closed && !c->handshaking)
        native_conn_watch (c);
      return;
    }
  g_assert (!c->handshaking);
  while (!c->closed && (c->lingering || (!c->closing && conn_backlog (c) <= OUT_BACKLOG_MAX)))
    {
      gssize got = native_conn_recv (c, w->scratch, NATIVE_READ_BYTES);
      if (got == -1)
        break;
      if (got <= 0)
        {
          native_conn_close (c);
          return;
        }
      NATIVE_ADD (w->n, bytes_in, got);
      if (c->lingering)
        {
          if ((c->lingered += (gsize) got) > LINGER_BYTES_MAX)
            native_conn_close (c);
          continue;
        }
      g_byte_array_append (c->in, w->scratch, (guint) got);
      conn_process (c);
      /* A short plain read drained the socket; epoll says when there is
       * more.  TLS may hold decrypted bytes epoll cannot see: read on. */
      if (c->tls == NULL && got < NATIVE_READ_BYTES)
        break;
    }
  native_conn_watch (c);
}

/* ---- writing ---- */

void
native_conn_write (NativeConn *c)
{
  gboolean failed = FALSE;

  if (c->closed || c->handshaking)
    return;
  g_mutex_lock (&c->send_lock);
  if (c->loop_partial)
    {
      /* The rest of the loop's frame goes first: it is on its way
       * (native_worker_take_answer() writes again). */
      g_mutex_unlock (&c->send_lock);
      return;
    }
  while (conn_backlog (c) > 0)
    {
      gssize sent = native_conn_send_bytes (c, c->out->data + c->out_done, conn_backlog (c));
      if (sent == -1)
        break;
      if (sent <= 0)
        {
          failed = TRUE;
          break;
        }
      NATIVE_ADD (c->w->n, bytes_out, sent);
      c->out_done += (gsize) sent;
      c->active_us = g_get_monotonic_time ();
    }
  /* A frame of ours may be cut short on the socket: the loop waits for
   * the whole backlog to go. */
  c->loop_may_send = c->plain && !failed && !c->closing && conn_backlog (c) == 0;
  g_mutex_unlock (&c->send_lock);
  if (failed)
    {
      native_conn_close (c);
      return;
    }
  if (conn_backlog (c) > 0)
    {
      if (c->write_blocked_us == 0)
        c->write_blocked_us = g_get_monotonic_time ();
      native_conn_watch (c);
      return;
    }
  c->write_blocked_us = 0;
  g_byte_array_set_size (c->out, 0);
  c->out_done = 0;
  if (c->closing && !c->lingering)
    {
      /* Let the client read the error before it sees the end (under TLS
       * the record layer carries the end: the client closes). */
      if (c->tls == NULL)
        shutdown (c->fd, SHUT_WR);
      c->lingering = TRUE;
      c->linger_since_us = g_get_monotonic_time ();
    }
  else if (!c->closing && c->in->len > c->in_start)
    /* Room again: frames read while paused come first. */
    conn_process (c);
  native_conn_watch (c);
}

void
native_worker_end_dispatch (NativeWorker *w)
{
  /* A write that makes room reads the frames held meanwhile: their
   * requests go to the loop too, before the worker sleeps. */
  do
    {
      if (w->to_loop->len > 0)
        native_hand_to_loop (w->n, w->to_loop);
      for (guint i = 0; i < w->dirty->len; i++)
        {
          NativeConn *c = w->dirty->pdata[i];
          c->dirty = FALSE;
          native_conn_write (c);
          native_conn_unref (c);
        }
      g_ptr_array_set_size (w->dirty, 0);
    }
  while (w->to_loop->len > 0);
}

/* ---- answers from the loop ---- */

void
native_server_deliver (NativeCall *call)
{
  NativeWorker *w = call->conn->w;
  gboolean was_empty;

  g_mutex_lock (&w->answers_lock);
  was_empty = w->answers->len == 0;
  g_ptr_array_add (w->answers, call);
  g_mutex_unlock (&w->answers_lock);
  if (was_empty)
    dsm_wake_signal (&w->answer_wake);
}

void
native_server_deliver_from_loop (NativeCall *call)
{
  NativeWorker *w = call->conn->w;

  if (w->n->holding == 0)
    {
      native_server_deliver (call);
      return;
    }
  g_ptr_array_add (w->held, call);
}

/* The loop's: writes the answers held for @w on their socket itself, when
 * they are all for one plain connection with no part of a frame pending
 * there, in one sendmsg() that never blocks; the worker is not woken for
 * them, and counts them at its next dispatch.  What the socket does not
 * take goes to the worker as before, the rest of a frame cut short first.
 * At one client this takes the worker's wake-up and its send off each
 * write's path (docs/BENCHMARKS.md, "The loop writes its answers"). */
static void
native_loop_write_held (NativeWorker *w)
{
  GPtrArray *held = w->held;
  NativeConn *c = ((NativeCall *) held->pdata[0])->conn;
  struct iovec iov[LOOP_WRITE_ANSWERS_MAX];
  struct msghdr mh = { .msg_iov = iov };
  gsize budget = w->n->limits.loop_write_bytes_max;
  guint direct = 0;
  gssize sent;
  gsize left;

  if (!c->plain || budget == 0 || held->len > LOOP_WRITE_ANSWERS_MAX)
    return;
  for (guint i = 0; i < held->len; i++)
    {
      NativeCall *call = held->pdata[i];
      if (call->conn != c || call->answer == NULL)
        return;
    }
  /* At most native.loop_write_bytes_max: the rest is the worker's. */
  for (guint i = 0; i < held->len && budget > 0; i++)
    {
      NativeCall *call = held->pdata[i];
      iov[i].iov_base = call->answer;
      iov[i].iov_len = MIN (call->answer_bytes, budget);
      budget -= iov[i].iov_len;
      mh.msg_iovlen = i + 1;
    }
  g_mutex_lock (&c->send_lock);
  if (!c->loop_may_send)
    {
      g_mutex_unlock (&c->send_lock);
      return;
    }
  /* Taken before the client can see an answer and send again; given back
   * for each answer not begun. */
  g_atomic_int_add (&c->in_flight, -(gint) held->len);
  sent = sendmsg (c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
  /* Would block, or failed: the worker writes, and sees any failure. */
  left = sent > 0 ? (gsize) sent : 0;
  gint64 now = g_get_monotonic_time ();
  for (guint i = 0; i < held->len; i++)
    {
      NativeCall *call = held->pdata[i];
      gsize length = call->answer_bytes;

      if (left >= length)
        {
          call->loop_sent = NATIVE_LOOP_SENT_ALL;
          call->answered_us = now;
          left -= length;
          direct++;
        }
      else if (left > 0)
        {
          call->loop_sent = NATIVE_LOOP_SENT_PART;
          call->answer_done = left;
          left = 0;
          c->loop_partial = TRUE;
          c->loop_may_send = FALSE;
        }
      else
        g_atomic_int_inc (&c->in_flight);
    }
  g_mutex_unlock (&c->send_lock);
  g_assert (left == 0);
  NATIVE_ADD (w->n, bytes_out, MAX (sent, 0));
  NATIVE_ADD (w->n, answers_loop_written, direct);
  /* Sorted before any goes: the worker may free a written call as soon as
   * it is in w->answered, so none is looked at after. */
  NativeCall *written[LOOP_WRITE_ANSWERS_MAX];
  guint kept = 0, n_written = 0;
  for (guint i = 0; i < held->len; i++)
    {
      NativeCall *call = held->pdata[i];
      if (call->loop_sent == NATIVE_LOOP_SENT_ALL)
        written[n_written++] = call;
      else
        /* The worker's, as if the loop had written nothing (or the rest). */
        held->pdata[kept++] = call;
    }
  g_ptr_array_set_size (held, kept);
  g_assert (n_written == direct);
  g_mutex_lock (&w->answers_lock);
  for (guint i = 0; i < n_written; i++)
    g_ptr_array_add (w->answered, written[i]);
  g_mutex_unlock (&w->answers_lock);
}

void
dsm_native_hold_answers (DsmNative *n)
{
  g_return_if_fail (n != NULL);

  n->holding++;
}

void
dsm_native_release_answers (DsmNative *n)
{
  g_return_if_fail (n != NULL);
  g_assert (n->holding > 0);

  if (--n->holding > 0)
    return;
  for (guint i = 0; i < n->n_workers; i++)
    {
      NativeWorker *w = n->workers[i];
      gboolean was_empty;

      if (w->held->len == 0)
        continue;
      native_loop_write_held (w);
      if (w->held->len == 0)
        continue;
      g_mutex_lock (&w->answers_lock);
      was_empty = w->answers->len == 0;
      g_ptr_array_extend_and_steal (w->answers, g_steal_pointer (&w->held));
      g_mutex_unlock (&w->answers_lock);
      w->held = g_ptr_array_new ();
      if (was_empty)
        dsm_wake_signal (&w->answer_wake);
    }
}

void
native_worker_take_answer (NativeWorker *w, NativeCall *call)
{
  NativeConn *c = call->conn;

  g_assert (c->w == w);
  if (call->loop_sent == NATIVE_LOOP_SENT_NONE)
    {
      g_assert (g_atomic_int_get (&c->in_flight) > 0);
      g_atomic_int_add (&c->in_flight, -1);
    }
  if (call->loop_sent == NATIVE_LOOP_SENT_ALL)
    {
      /* On the socket already: counted only. */
      c->active_us = MAX (c->active_us, call->answered_us);
      dsm_net_histogram_observe_us_atomic (&w->n->latency, call->answered_us - call->start_us);
    }
  else if (call->answer != NULL && !c->closed)
    {
      if (call->loop_sent == NATIVE_LOOP_SENT_PART)
        {
          /* Ahead of every byte not written yet: nothing was written
           * since the loop's frame began (native_conn_write()). */
          g_byte_array_remove_range (c->out, 0, (guint) c->out_done);
          c->out_done = 0;
          g_byte_array_prepend (c->out, call->answer + call->answer_done,
                                (guint) (call->answer_bytes - call->answer_done));
          g_mutex_lock (&c->send_lock);
          c->loop_partial = FALSE;
          g_mutex_unlock (&c->send_lock);
        }
      else
        g_byte_array_append (c->out, call->answer, (guint) call->answer_bytes);
      c->active_us = g_get_monotonic_time ();
      conn_mark_dirty (c);
      dsm_net_histogram_observe_us_atomic (&w->n->latency, c->active_us - call->start_us);
    }
  else
    NATIVE_ADD (w->n, answers_dropped, 1);
  native_call_free (call);
  native_conn_unref (c);
}

/* Takes every call of *@list (w->answers or w->answered), swapped for an
 * empty array under the lock, and hands each to native_worker_take_answer(). */
static void
take_all (NativeWorker *w, GPtrArray **list)
{
  g_autoptr(GPtrArray) batch = g_ptr_array_new ();

  g_mutex_lock (&w->answers_lock);
  GPtrArray *taken = *list;
  *list = batch;
  batch = taken;
  g_mutex_unlock (&w->answers_lock);
  for (guint i = 0; i < batch->len; i++)
    native_worker_take_answer (w, batch->pdata[i]);
}

void
native_worker_take_answered (NativeWorker *w)
{
  take_all (w, &w->answered);
}

gboolean
native_worker_answer_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  NativeWorker *w = data;

  native_worker_take_answered (w);
  /* Cleared before taking: answers queued after the swap signal again. */
  dsm_wake_clear (&w->answer_wake);
  take_all (w, &w->answers);
  native_worker_end_dispatch (w);
  return G_SOURCE_CONTINUE;
}

GSourceFuncs native_worker_answer_funcs = { .dispatch = native_worker_answer_dispatch };

/* ---- deadlines ---- */

static void
conn_check_deadline (NativeConn *c, gint64 now)
{
  DsmNative *n = c->w->n;

  if (c->write_blocked_us != 0 && now - c->write_blocked_us > (gint64) n->limits.write_timeout_ms * 1000)
    {
      NATIVE_ADD (n, timeouts[NT_WRITE], 1);
      native_conn_close (c);
    }
  else if (c->lingering)
    {
      if (now - c->linger_since_us > LINGER_MS * 1000)
        native_conn_close (c);
    }
  else if (c->closing)
    return;
  else if ((c->awaiting_tls || c->handshaking) && now - c->accepted_us > (gint64) n->limits.hello_timeout_ms * 1000)
    {
      /* No frame can be sent before TLS is up: the end says it. */
      NATIVE_ADD (n, timeouts[NT_HELLO], 1);
      native_conn_close (c);
    }
  else if (c->tls_partial)
    {
      c->tls_partial = FALSE;
      native_conn_read (c);
    }
  else if (c->awaiting_tls || c->handshaking)
    return;
  else if (!c->authed && now - c->accepted_us > (gint64) n->limits.hello_timeout_ms * 1000)
    {
      NATIVE_ADD (n, timeouts[NT_HELLO], 1);
      native_conn_error (c, 0, NE_TIMEOUT, TRUE, 0, "no hello within native.hello_timeout_ms (%u ms)",
                         n->limits.hello_timeout_ms);
    }
  else if (native_conn_get_in_flight (c) == 0 && conn_backlog (c) == 0
           && now - c->active_us > (gint64) n->limits.idle_timeout_ms * 1000)
    {
      NATIVE_ADD (n, timeouts[NT_IDLE], 1);
      native_conn_error (c, 0, NE_TIMEOUT, TRUE, 0, "idle for native.idle_timeout_ms (%u ms)",
                         n->limits.idle_timeout_ms);
    }
}

gboolean
native_worker_on_sweep (gpointer data)
{
  NativeWorker *w = data;
  gint64 now;

  /* The answers the loop wrote count as activity first. */
  native_worker_take_answered (w);
  now = g_get_monotonic_time ();
  for (GList *l = w->conns.head, *next; l != NULL; l = next)
    {
      next = l->next;
      conn_check_deadline (l->data, now);
    }
  native_worker_end_dispatch (w);
  return G_SOURCE_CONTINUE;
}

NativeConn *
native_conn_new (NativeWorker *w, int fd, const char *host)
{
  NativeConn *c = g_new0 (NativeConn, 1);

  c->refs = 1;
  c->w = w;
  c->fd = fd;
  c->host = g_strdup (host);
  c->in = g_byte_array_new ();
  c->out = g_byte_array_new ();
  c->plain = w->n->tls_certificate == NULL;
  g_mutex_init (&c->send_lock);
  c->loop_may_send = c->plain;
  /* The hello's fields are the same in every version. */
  c->version = DSM_WIRE_VERSION_MIN;
  c->link.data = c;
  c->accepted_us = c->active_us = g_get_monotonic_time ();
  c->awaiting_tls = w->n->tls_certificate != NULL;
  g_queue_push_tail_link (&w->conns, &c->link);
  native_conn_watch (c);
  return c;
}
