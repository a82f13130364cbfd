/* real/proxy.c: the fault-injecting peer proxy (proxy.h).  One thread,
 * one GMainContext, non-blocking sockets.  A connection's life:
 *
 *   accepted --hello read--> (pair cut: closed) | connecting upstream
 *   connecting --connected--> forwarding --either side closes, an error,
 *     a lost frame, a truncated frame or a partition--> closed
 *
 * Each direction parses whole frames (OPERATIONS.md, "Framing") into a
 * queue with a release time; the writer sends the head once it is due and
 * its link is not held. */
#include "proxy.h"

#include <errno.h>
#include <gio/gio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "frame.h"
#include "handshake.h"
#include "scenario/prng.h"

/* Bounds on what one connection may hold: past them the proxy stops
 * reading that side and TCP's flow control pushes back on the node. */
#define PROXY_QUEUED_BYTES_MAX (4u * 1024 * 1024)
#define PROXY_FRAME_BYTES_MAX (64u * 1024 * 1024)
#define PROXY_HELLO_BYTES_MAX (64u * 1024)
#define PROXY_READ_CHUNK 65536

typedef struct {
  GBytes *bytes;
  gint64 release_us;
  gboolean close_after;      /* a truncated frame: the connection ends with it */
} Frame;

typedef struct {
  GByteArray *in;            /* read, not yet a whole frame */
  guint frames_seen;
  GQueue frames;             /* Frame, to send in order */
  gsize queued_bytes;
  gint64 last_release_us;
  gsize written;             /* of the head frame */
  gboolean eof;              /* its reader saw the end */
} Dir;

typedef struct _Conn Conn;
struct _Conn {
  DsmProxy *proxy;
  DsmNodeId front;           /* the node whose front accepted it */
  DsmNodeId dialer;          /* from the hello; 0 before */
  GSocket *down;             /* the dialer's side */
  GSocket *up;               /* the acceptor's side; NULL before the hello */
  gboolean up_connected;
  Dir dirs[2];               /* [0] dialer -> acceptor, [1] acceptor -> dialer */
  GSource *down_source;
  GSource *up_source;
  GSource *timer;
  GIOCondition down_cond;
  GIOCondition up_cond;
  gboolean reset;             /* close abortively (a lost frame) */
  gboolean closed;
};

typedef struct {
  DsmProxy *proxy;
  DsmNodeId node;
  GSocket *socket;
  guint16 port;
  GSource *source;
} Front;

struct _DsmProxy {
  guint n;
  guint16 *node_ports;       /* [1..n] */
  gboolean sealed;
  guint latency_min, latency_max;
  Front *fronts;             /* [1..n] */
  GMainContext *context;
  GMainLoop *loop;
  GThread *thread;
  GPtrArray *conns;          /* Conn, live */
  DsmPrng prng;              /* proxy thread only */

  GMutex lock;               /* guards what other threads set, and stats */
  DsmProxyLink *links;       /* [from * (n + 1) + to] */
  guint base_loss_percent;   /* the scenario network's own: no heal ends it */
  guint loss_percent;
  gint64 loss_until;
  guint64 delay_ms;
  gint64 delay_until;
  guint corrupt_percent;
  gboolean corrupt_truncate;
  gint64 corrupt_until;
  DsmProxyStats stats;
};

static void conn_pump (Conn *conn);

/* ---- the rules, read under the lock ---- */

static DsmProxyLink
link_get_locked (DsmProxy *p, DsmNodeId from, DsmNodeId to)
{
  g_assert (from >= 1 && from <= p->n && to >= 1 && to <= p->n);
  return p->links[from * (p->n + 1) + to];
}

DsmProxyLink
dsm_proxy_get_link (DsmProxy *p, DsmNodeId from, DsmNodeId to)
{
  g_return_val_if_fail (from >= 1 && from <= p->n && to >= 1 && to <= p->n, DSM_PROXY_OPEN);
  g_mutex_lock (&p->lock);
  DsmProxyLink link = link_get_locked (p, from, to);
  g_mutex_unlock (&p->lock);
  return link;
}

static gboolean
window_on (gint64 until_us, gint64 now)
{
  return until_us != 0 && now < until_us;
}

/* The source and destination of direction @d of @conn. */
static void
conn_ends (const Conn *conn, guint d, DsmNodeId *src, DsmNodeId *dst)
{
  *src = d == 0 ? conn->dialer : conn->front;
  *dst = d == 0 ? conn->front : conn->dialer;
}

/* ---- closing ---- */

static void
source_clear (GSource **source)
{
  if (*source == NULL)
    return;
  g_source_destroy (*source);
  g_clear_pointer (source, g_source_unref);
}

static void
frame_free (Frame *frame)
{
  g_bytes_unref (frame->bytes);
  g_free (frame);
}

static void
conn_close (Conn *conn, gboolean reset)
{
  if (conn->closed)
    return;
  conn->closed = TRUE;
  source_clear (&conn->down_source);
  source_clear (&conn->up_source);
  source_clear (&conn->timer);
  GSocket *sockets[2] = { conn->down, conn->up };
  for (guint i = 0; i < 2; i++)
    {
      if (sockets[i] == NULL)
        continue;
      if (reset)
        {
          /* An abortive close: the node sees its connection reset, as
           * when a router gives up on it. */
          struct linger lg = { .l_onoff = 1, .l_linger = 0 };
          setsockopt (g_socket_get_fd (sockets[i]), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
      g_socket_close (sockets[i], NULL);
    }
  for (guint d = 0; d < 2; d++)
    {
      g_queue_clear_full (&conn->dirs[d].frames, (GDestroyNotify) frame_free);
      g_byte_array_unref (conn->dirs[d].in);
    }
  g_clear_object (&conn->down);
  g_clear_object (&conn->up);
  g_ptr_array_remove_fast (conn->proxy->conns, conn);
  g_free (conn);
}

/* ---- reading ---- */

/* How many plain (handshake) frames direction @d carries before sealed ones. */
static guint
dir_plain_frames (const DsmProxy *p, guint d)
{
  return d == 0 ? 2 : 1;
}

static gsize
dir_header_bytes (const DsmProxy *p, const Dir *dir, guint d)
{
  if (p->sealed && dir->frames_seen >= dir_plain_frames (p, d))
    return DSM_FRAME_SEALED_HEADER_BYTES;
  return DSM_FRAME_HEADER_BYTES;
}

/* Learns the pair from the hello; FALSE when the connection must go. */
static gboolean
conn_on_hello (Conn *conn, const guint8 *payload, gsize length)
{
  DsmProxy *p = conn->proxy;
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmHandshake) hello = dsm_handshake_decode ((const char *) payload, length,
                                                        DSM_HANDSHAKE_HELLO, &error);

  if (hello == NULL || hello->to != conn->front || hello->from < 1 || hello->from > p->n
      || hello->from == hello->to)
    return FALSE;
  conn->dialer = hello->from;
  g_mutex_lock (&p->lock);
  gboolean cut = link_get_locked (p, conn->dialer, conn->front) == DSM_PROXY_DROP
                 || link_get_locked (p, conn->front, conn->dialer) == DSM_PROXY_DROP;
  g_mutex_unlock (&p->lock);
  if (cut)
    return FALSE;

  /* Now the acceptor's side: connect without blocking. */
  conn->up = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  if (conn->up == NULL)
    return FALSE;
  g_socket_set_blocking (conn->up, FALSE);
  g_socket_set_option (conn->up, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) target = g_inet_socket_address_new (lo, p->node_ports[conn->front]);
  if (g_socket_connect (conn->up, target, NULL, &error))
    conn->up_connected = TRUE;
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING))
    return FALSE;
  return TRUE;
}

/* The faults a sealed frame meets when it is read; FALSE: the connection
 * was reset in its place. */
static gboolean
dir_decide (Conn *conn, guint d, Frame *frame, gsize header)
{
  DsmProxy *p = conn->proxy;
  gint64 now = g_get_monotonic_time ();
  /* Faults strike messages, not the handshake (frames_seen counts this one). */
  gboolean past_handshake = conn->dirs[d].frames_seen > dir_plain_frames (p, d);
  guint64 delay_ms;

  g_mutex_lock (&p->lock);
  guint loss = MAX (p->base_loss_percent, window_on (p->loss_until, now) ? p->loss_percent : 0);
  guint corrupt = window_on (p->corrupt_until, now) ? p->corrupt_percent : 0;
  gboolean truncate = p->corrupt_truncate;
  delay_ms = window_on (p->delay_until, now) ? p->delay_ms : 0;
  g_mutex_unlock (&p->lock);

  if (past_handshake && loss > 0 && dsm_prng_chance (&p->prng, loss))
    {
      /* TCP never loses one message: the frame is lost with its
       * connection, and the nodes redial. */
      g_mutex_lock (&p->lock);
      p->stats.reset_loss++;
      g_mutex_unlock (&p->lock);
      return FALSE;
    }
  if (past_handshake && corrupt > 0 && dsm_prng_chance (&p->prng, corrupt))
    {
      gsize size = 0;
      const guint8 *data = g_bytes_get_data (frame->bytes, &size);
      g_assert (size > header);
      if (truncate)
        {
          gsize keep = header + (gsize) dsm_prng_range (&p->prng, 0, size - header - 1);
          GBytes *cut = g_bytes_new (data, keep);
          g_bytes_unref (frame->bytes);
          frame->bytes = cut;
          frame->close_after = TRUE;
        }
      else
        {
          guint8 *copy = g_memdup2 (data, size);
          gsize at = header + (gsize) dsm_prng_range (&p->prng, 0, size - header - 1);
          copy[at] ^= (guint8) (1u << dsm_prng_range (&p->prng, 0, 7));
          g_bytes_unref (frame->bytes);
          frame->bytes = g_bytes_new_take (copy, size);
        }
      g_mutex_lock (&p->lock);
      if (truncate)
        p->stats.truncated++;
      else
        p->stats.corrupted++;
      g_mutex_unlock (&p->lock);
    }
  guint64 latency = p->latency_max > 0 ? dsm_prng_range (&p->prng, p->latency_min, p->latency_max) : 0;
  Dir *dir = &conn->dirs[d];
  frame->release_us = MAX (now + (gint64) ((latency + delay_ms) * 1000), dir->last_release_us);
  dir->last_release_us = frame->release_us;
  return TRUE;
}

/* Cuts whole frames out of what direction @d read; FALSE: close. */
static gboolean
dir_parse (Conn *conn, guint d)
{
  DsmProxy *p = conn->proxy;
  Dir *dir = &conn->dirs[d];

  for (;;)
    {
      gsize header = dir_header_bytes (p, dir, d);
      if (dir->in->len < header)
        return TRUE;
      guint32 length = ((guint32) dir->in->data[0] << 24) | ((guint32) dir->in->data[1] << 16)
                       | ((guint32) dir->in->data[2] << 8) | dir->in->data[3];
      /* The node refuses these itself; the proxy only bounds its buffer. */
      if (length == 0 || length > PROXY_FRAME_BYTES_MAX
          || (conn->dialer == 0 && length > PROXY_HELLO_BYTES_MAX))
        return FALSE;
      if (dir->in->len < header + length)
        return TRUE;
      Frame *frame = g_new0 (Frame, 1);
      frame->bytes = g_bytes_new (dir->in->data, header + length);
      dir->frames_seen++;
      if (d == 0 && conn->dialer == 0 && !conn_on_hello (conn, dir->in->data + header, length))
        {
          frame_free (frame);
          g_mutex_lock (&p->lock);
          p->stats.refused++;
          g_mutex_unlock (&p->lock);
          return FALSE;
        }
      g_byte_array_remove_range (dir->in, 0, header + length);
      if (!dir_decide (conn, d, frame, header))
        {
          frame_free (frame);
          conn->reset = TRUE;
          return FALSE;
        }
      dir->queued_bytes += g_bytes_get_size (frame->bytes);
      g_queue_push_tail (&dir->frames, frame);
    }
}

/* Reads what @socket has for direction @d; FALSE: close. */
static gboolean
dir_read (Conn *conn, guint d, GSocket *socket)
{
  Dir *dir = &conn->dirs[d];
  guint8 buffer[PROXY_READ_CHUNK];

  while (!dir->eof && dir->queued_bytes + dir->in->len < PROXY_QUEUED_BYTES_MAX)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive (socket, (char *) buffer, sizeof buffer, NULL, &error);
      if (n < 0)
        return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
      if (n == 0)
        {
          dir->eof = TRUE;
          break;
        }
      g_byte_array_append (dir->in, buffer, (guint) n);
      if (!dir_parse (conn, d))
        return FALSE;
    }
  return TRUE;
}

/* ---- writing ---- */

/* Sends what is due in direction @d; FALSE: close.  *@blocked: the
 * socket took less than offered; *@next_us: when the head is due. */
static gboolean
dir_write (Conn *conn, guint d, gboolean *blocked, gint64 *next_us)
{
  DsmProxy *p = conn->proxy;
  Dir *dir = &conn->dirs[d];
  GSocket *socket = d == 0 ? conn->up : conn->down;
  DsmNodeId src, dst;

  *blocked = FALSE;
  if (socket == NULL || (d == 0 && !conn->up_connected))
    return TRUE;
  conn_ends (conn, d, &src, &dst);
  while (!g_queue_is_empty (&dir->frames))
    {
      Frame *frame = g_queue_peek_head (&dir->frames);
      gint64 now = g_get_monotonic_time ();
      if (frame->release_us > now)
        {
          *next_us = MIN (*next_us, frame->release_us);
          return TRUE;
        }
      if (conn->dialer != 0 && dsm_proxy_get_link (p, src, dst) == DSM_PROXY_HOLD)
        return TRUE;  /* heal wakes every connection */
      gsize size = 0;
      const guint8 *data = g_bytes_get_data (frame->bytes, &size);
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (socket, (const char *) data + dir->written, size - dir->written, NULL, &error);
      if (n < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return FALSE;
          *blocked = TRUE;
          return TRUE;
        }
      dir->written += (gsize) n;
      if (dir->written < size)
        {
          *blocked = TRUE;
          return TRUE;
        }
      dir->written = 0;
      dir->queued_bytes -= size;
      g_queue_pop_head (&dir->frames);
      gboolean close_after = frame->close_after;
      frame_free (frame);
      g_mutex_lock (&p->lock);
      p->stats.frames++;
      p->stats.bytes += size;
      g_mutex_unlock (&p->lock);
      if (close_after)
        return FALSE;
    }
  return TRUE;
}

/* ---- the event loop ---- */

static gboolean
conn_on_socket (GSocket *socket, GIOCondition condition, gpointer data)
{
  Conn *conn = data;

  if (socket == conn->up && !conn->up_connected && (condition & (G_IO_OUT | G_IO_ERR | G_IO_HUP)))
    {
      g_autoptr(GError) error = NULL;
      if (!g_socket_check_connect_result (socket, &error))
        {
          /* The acceptor is down: the dialer sees its connection end. */
          conn_close (conn, FALSE);
          return G_SOURCE_REMOVE;
        }
      conn->up_connected = TRUE;
    }
  conn_pump (conn);
  return G_SOURCE_CONTINUE;
}

static gboolean
conn_on_timer (gpointer data)
{
  conn_pump (data);
  return G_SOURCE_CONTINUE;
}

/* Watches @socket for @cond, replacing the source when @cond changed. */
static void
conn_watch (Conn *conn, GSocket *socket, GSource **source, GIOCondition *current, GIOCondition cond)
{
  if (socket == NULL || (*source != NULL && *current == cond))
    return;
  source_clear (source);
  *current = cond;
  if (cond == 0)
    return;
  *source = g_socket_create_source (socket, cond, NULL);
  g_source_set_callback (*source, (GSourceFunc) (void (*) (void)) conn_on_socket, conn, NULL);
  g_source_attach (*source, conn->proxy->context);
}

/* Reads what can be read, writes what is due, and waits for the rest. */
static void
conn_pump (Conn *conn)
{
  gint64 next_us = G_MAXINT64;
  gboolean blocked[2] = { FALSE, FALSE };

  if (!dir_read (conn, 0, conn->down))
    goto close;
  if (conn->up != NULL && conn->up_connected && !dir_read (conn, 1, conn->up))
    goto close;
  for (guint d = 0; d < 2; d++)
    if (!dir_write (conn, d, &blocked[d], &next_us))
      goto close;
  /* A side that ended closes the connection once what it sent is out. */
  for (guint d = 0; d < 2; d++)
    if (conn->dirs[d].eof && g_queue_is_empty (&conn->dirs[d].frames))
      goto close;

  GIOCondition down_cond = 0, up_cond = 0;
  if (!conn->dirs[0].eof && conn->dirs[0].queued_bytes + conn->dirs[0].in->len < PROXY_QUEUED_BYTES_MAX)
    down_cond |= G_IO_IN;
  if (blocked[1])
    down_cond |= G_IO_OUT;
  if (conn->up != NULL && !conn->up_connected)
    up_cond = G_IO_OUT;
  else if (conn->up != NULL)
    {
      if (!conn->dirs[1].eof && conn->dirs[1].queued_bytes + conn->dirs[1].in->len < PROXY_QUEUED_BYTES_MAX)
        up_cond |= G_IO_IN;
      if (blocked[0])
        up_cond |= G_IO_OUT;
    }
  conn_watch (conn, conn->down, &conn->down_source, &conn->down_cond, down_cond);
  conn_watch (conn, conn->up, &conn->up_source, &conn->up_cond, up_cond);
  g_source_set_ready_time (conn->timer, next_us == G_MAXINT64 ? -1 : next_us);

  guint64 held = g_queue_get_length (&conn->dirs[0].frames) + g_queue_get_length (&conn->dirs[1].frames);
  g_mutex_lock (&conn->proxy->lock);
  conn->proxy->stats.held_frames_max = MAX (conn->proxy->stats.held_frames_max, held);
  g_mutex_unlock (&conn->proxy->lock);
  return;

close:
  conn_close (conn, conn->reset);
}

static gboolean
timer_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  g_source_set_ready_time (source, -1);
  return callback (data);
}

static GSourceFuncs timer_funcs = { .dispatch = timer_dispatch };

static gboolean
front_on_accept (GSocket *socket, GIOCondition condition, gpointer data)
{
  Front *front = data;
  DsmProxy *p = front->proxy;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      GSocket *down = g_socket_accept (socket, NULL, &error);
      if (down == NULL)
        break;
      g_socket_set_blocking (down, FALSE);
      g_socket_set_option (down, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
      Conn *conn = g_new0 (Conn, 1);
      conn->proxy = p;
      conn->front = front->node;
      conn->down = down;
      for (guint d = 0; d < 2; d++)
        conn->dirs[d].in = g_byte_array_new ();
      conn->timer = g_source_new (&timer_funcs, sizeof (GSource));
      g_source_set_callback (conn->timer, conn_on_timer, conn, NULL);
      g_source_attach (conn->timer, p->context);
      g_ptr_array_add (p->conns, conn);
      g_mutex_lock (&p->lock);
      p->stats.connections++;
      g_mutex_unlock (&p->lock);
      conn_pump (conn);
    }
  return G_SOURCE_CONTINUE;
}

/* In the proxy's thread: cut the connections of dropped pairs, and let
 * every other one send what it may now. */
static gboolean
proxy_apply_links (gpointer data)
{
  DsmProxy *p = data;
  g_autoptr(GPtrArray) cut = g_ptr_array_new ();
  g_autoptr(GPtrArray) live = g_ptr_array_new ();

  g_mutex_lock (&p->lock);
  for (guint i = 0; i < p->conns->len; i++)
    {
      Conn *conn = p->conns->pdata[i];
      if (conn->dialer != 0
          && (link_get_locked (p, conn->dialer, conn->front) == DSM_PROXY_DROP
              || link_get_locked (p, conn->front, conn->dialer) == DSM_PROXY_DROP))
        g_ptr_array_add (cut, conn);
      else
        g_ptr_array_add (live, conn);
    }
  p->stats.cut_partition += cut->len;
  g_mutex_unlock (&p->lock);
  for (guint i = 0; i < cut->len; i++)
    conn_close (cut->pdata[i], FALSE);
  for (guint i = 0; i < live->len; i++)
    conn_pump (live->pdata[i]);
  return G_SOURCE_REMOVE;
}

static void
proxy_wake (DsmProxy *p)
{
  g_main_context_invoke (p->context, proxy_apply_links, p);
}

/* ---- the public side ---- */

static gpointer
proxy_thread (gpointer data)
{
  DsmProxy *p = data;

  g_main_context_push_thread_default (p->context);
  for (guint id = 1; id <= p->n; id++)
    {
      Front *front = &p->fronts[id];
      front->source = g_socket_create_source (front->socket, G_IO_IN, NULL);
      g_source_set_callback (front->source, (GSourceFunc) (void (*) (void)) front_on_accept, front, NULL);
      g_source_attach (front->source, p->context);
    }
  g_main_loop_run (p->loop);
  while (p->conns->len > 0)
    conn_close (p->conns->pdata[0], FALSE);
  for (guint id = 1; id <= p->n; id++)
    source_clear (&p->fronts[id].source);
  g_main_context_pop_thread_default (p->context);
  return NULL;
}

DsmProxy *
dsm_proxy_new (guint n_nodes, const guint16 *node_ports, gboolean sealed, guint latency_ms_min,
               guint latency_ms_max, guint64 seed, GError **error)
{
  g_return_val_if_fail (n_nodes >= 1, NULL);
  g_return_val_if_fail (latency_ms_min <= latency_ms_max, NULL);

  DsmProxy *p = g_new0 (DsmProxy, 1);
  p->n = n_nodes;
  p->node_ports = g_memdup2 (node_ports, (n_nodes + 1) * sizeof *node_ports);
  p->sealed = sealed;
  p->latency_min = latency_ms_min;
  p->latency_max = latency_ms_max;
  p->links = g_new0 (DsmProxyLink, (n_nodes + 1) * (n_nodes + 1));
  p->fronts = g_new0 (Front, n_nodes + 1);
  p->conns = g_ptr_array_new ();
  g_mutex_init (&p->lock);
  dsm_prng_init (&p->prng, seed, "network", 0);
  p->context = g_main_context_new ();
  p->loop = g_main_loop_new (p->context, FALSE);
  for (guint id = 1; id <= n_nodes; id++)
    {
      Front *front = &p->fronts[id];
      g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
      g_autoptr(GSocketAddress) bound = NULL;

      front->proxy = p;
      front->node = id;
      front->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
      if (front->socket == NULL || !g_socket_bind (front->socket, any, TRUE, error)
          || !g_socket_listen (front->socket, error)
          || (bound = g_socket_get_local_address (front->socket, error)) == NULL)
        {
          dsm_proxy_free (p);
          return NULL;
        }
      g_socket_set_blocking (front->socket, FALSE);
      front->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    }
  p->thread = g_thread_new ("dsm-proxy", proxy_thread, p);
  return p;
}

static gboolean
proxy_quit (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

void
dsm_proxy_free (DsmProxy *p)
{
  if (p == NULL)
    return;
  if (p->thread != NULL)
    {
      g_main_context_invoke (p->context, proxy_quit, p->loop);
      g_thread_join (p->thread);
    }
  for (guint id = 1; id <= p->n; id++)
    if (p->fronts[id].socket != NULL)
      {
        g_socket_close (p->fronts[id].socket, NULL);
        g_object_unref (p->fronts[id].socket);
      }
  g_ptr_array_unref (p->conns);
  g_main_loop_unref (p->loop);
  g_main_context_unref (p->context);
  g_mutex_clear (&p->lock);
  g_free (p->fronts);
  g_free (p->links);
  g_free (p->node_ports);
  g_free (p);
}

guint16
dsm_proxy_get_port (DsmProxy *p, DsmNodeId node)
{
  g_return_val_if_fail (node >= 1 && node <= p->n, 0);
  return p->fronts[node].port;
}

void
dsm_proxy_set_link (DsmProxy *p, DsmNodeId from, DsmNodeId to, DsmProxyLink link)
{
  g_return_if_fail (from >= 1 && from <= p->n && to >= 1 && to <= p->n && from != to);
  g_mutex_lock (&p->lock);
  p->links[from * (p->n + 1) + to] = link;
  g_mutex_unlock (&p->lock);
  proxy_wake (p);
}

void
dsm_proxy_set_loss (DsmProxy *p, guint percent, gint64 until_us)
{
  g_return_if_fail (percent <= 100);
  g_mutex_lock (&p->lock);
  p->loss_percent = percent;
  p->loss_until = until_us;
  g_mutex_unlock (&p->lock);
}

void
dsm_proxy_set_base_loss (DsmProxy *p, guint percent)
{
  g_return_if_fail (percent <= 100);
  g_mutex_lock (&p->lock);
  p->base_loss_percent = percent;
  g_mutex_unlock (&p->lock);
}

void
dsm_proxy_set_delay (DsmProxy *p, guint64 ms, gint64 until_us)
{
  g_mutex_lock (&p->lock);
  p->delay_ms = ms;
  p->delay_until = until_us;
  g_mutex_unlock (&p->lock);
}

void
dsm_proxy_set_corrupt (DsmProxy *p, guint percent, gboolean truncate, gint64 until_us)
{
  g_return_if_fail (percent <= 100);
  g_mutex_lock (&p->lock);
  p->corrupt_percent = percent;
  p->corrupt_truncate = truncate;
  p->corrupt_until = until_us;
  g_mutex_unlock (&p->lock);
}

void
dsm_proxy_heal (DsmProxy *p)
{
  g_mutex_lock (&p->lock);
  memset (p->links, 0, (p->n + 1) * (p->n + 1) * sizeof *p->links);
  p->loss_until = p->delay_until = p->corrupt_until = 0;
  g_mutex_unlock (&p->lock);
  proxy_wake (p);
}

gboolean
dsm_proxy_is_faulty (DsmProxy *p)
{
  gint64 now = g_get_monotonic_time ();
  gboolean faulty = FALSE;

  g_mutex_lock (&p->lock);
  for (guint i = 0; i < (p->n + 1) * (p->n + 1) && !faulty; i++)
    faulty = p->links[i] != DSM_PROXY_OPEN;
  faulty = faulty || window_on (p->loss_until, now) || window_on (p->delay_until, now)
           || window_on (p->corrupt_until, now);
  g_mutex_unlock (&p->lock);
  return faulty;
}

void
dsm_proxy_get_stats (DsmProxy *p, DsmProxyStats *out)
{
  g_mutex_lock (&p->lock);
  *out = p->stats;
  g_mutex_unlock (&p->lock);
}
