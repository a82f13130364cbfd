/* net/link.c: a framed TCP (or TLS over TCP) stream read and written
 * without blocking from pollable sources, with a frame timeout and a
 * vectored write queue (link.h).
 *
 *   open --close()--> closed                     (owner's choice; no callbacks)
 *   open --EOF, error, bad frame, timeout--> closed  (`closed` callback)
 *   open --close_after_flush()--> flushing --queue empty or linger--> closed
 *
 * The read, write and flush sources point at the link without a reference;
 * closing (which the last unref does) destroys all three.  A flushing link
 * holds a reference to itself until it closes, so its owner may let go
 * at once and the refusal it queued still leaves. */
#include "link.h"

#include "frame.h"
#include "frame-mac.h"
#include "net-error.h"

#define READ_BYTES (64 * 1024)
#define WRITE_VECTORS_MAX 64
/* Reads per wake-up before yielding to the other links (the source stays
 * ready, so the rest is read on the next iteration). */
#define READS_PER_WAKE 8

typedef struct {
  GBytes *frame;
  gpointer tag;
} Item;

struct _DsmLink {
  gint ref_count;
  GIOStream *stream;
  GSource *read_source;         /* wakes us when the socket has bytes */
  DsmFrameReader *reader;
  guint frame_timeout_ms;
  GSource *frame_timer;
  GSource *linger_timer;
  DsmLinkCallbacks cb;
  gpointer user_data;
  char *remote;

  guint8 *read_buf;
  GQueue queue;                 /* Item, not yet written (the head maybe in part) */
  gsize write_offset;           /* bytes of the head item already written */
  GSource *write_source;        /* waiting for the socket to take more */
  GSource *flush_source;        /* an idle that writes what this iteration queued */
  gsize queued_bytes;           /* queue */
  guint64 bytes_read;

  gboolean closed;
  gboolean flushing;            /* and holding a reference to itself */
};

static void link_read_next (DsmLink *link);
static void link_flush (DsmLink *link);
static gboolean link_on_writable (DsmLink *link);
static void link_finish_close (DsmLink *link);

static void
item_drop (DsmLink *link, Item *item, gboolean report)
{
  if (report && link->cb.dropped != NULL)
    link->cb.dropped (link, item->tag, link->user_data);
  if (item->tag != NULL && link->cb.tag_free != NULL)
    link->cb.tag_free (item->tag);
  g_bytes_unref (item->frame);
}

/* (nullable) (transfer none): the TCP connection under @stream, TLS or not. */
static GSocketConnection *
link_socket_connection (GIOStream *stream)
{
  if (G_IS_TLS_CONNECTION (stream))
    {
      GIOStream *base = NULL;
      g_object_get (stream, "base-io-stream", &base, NULL);
      /* The TLS connection holds its base for as long as it lives. */
      if (base != NULL)
        g_object_unref (base);
      stream = base;
    }
  return G_IS_SOCKET_CONNECTION (stream) ? G_SOCKET_CONNECTION (stream) : NULL;
}

static char *
link_describe_remote (GIOStream *stream)
{
  GSocketConnection *connection = link_socket_connection (stream);

  if (connection == NULL)
    return g_strdup ("?");
  g_autoptr(GSocketAddress) addr = g_socket_connection_get_remote_address (connection, NULL);
  if (addr == NULL || !G_IS_INET_SOCKET_ADDRESS (addr))
    return g_strdup ("?");
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (addr)));
  return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (addr)));
}

DsmLink *
dsm_link_new (GIOStream *stream, gsize max_frame_bytes, guint frame_timeout_ms,
              const DsmLinkCallbacks *callbacks, gpointer user_data)
{
  DsmLink *link = g_new0 (DsmLink, 1);

  link->ref_count = 1;
  link->stream = g_object_ref (stream);
  link->reader = dsm_frame_reader_new (max_frame_bytes);
  link->frame_timeout_ms = frame_timeout_ms;
  link->cb = *callbacks;
  link->user_data = user_data;
  link->remote = link_describe_remote (stream);
  link->read_buf = g_malloc (READ_BYTES);
  g_queue_init (&link->queue);
  link_read_next (link);
  return link;
}

DsmLink *
dsm_link_ref (DsmLink *link)
{
  g_atomic_int_inc (&link->ref_count);
  return link;
}

void
dsm_link_unref (DsmLink *link)
{
  if (link == NULL || !g_atomic_int_dec_and_test (&link->ref_count))
    return;
  /* Operations in flight hold references: none is left. */
  if (!link->closed)
    {
      link->cb = (DsmLinkCallbacks) { .tag_free = link->cb.tag_free };
      link_finish_close (link);
    }
  g_io_stream_close (link->stream, NULL, NULL);
  g_object_unref (link->stream);
  dsm_frame_reader_free (link->reader);
  g_free (link->remote);
  g_free (link->read_buf);
  g_free (link);
}

/* ---- closing ---- */

static void
timer_clear (GSource **timer)
{
  if (*timer != NULL)
    {
      g_source_destroy (*timer);
      g_source_unref (*timer);
      *timer = NULL;
    }
}

/* Drops what is queued and shuts the socket, so the peer sees the end at
 * once even while our cancelled operations are still unwinding.  A
 * flushing link drops its own reference last: callers that do not hold
 * one of theirs touch @link no more. */
static void
link_finish_close (DsmLink *link)
{
  gboolean held = link->flushing;
  Item *item;

  link->closed = TRUE;
  link->flushing = FALSE;
  timer_clear (&link->frame_timer);
  timer_clear (&link->linger_timer);
  timer_clear (&link->write_source);
  timer_clear (&link->flush_source);
  timer_clear (&link->read_source);
  link->write_offset = 0;
  while ((item = g_queue_pop_head (&link->queue)) != NULL)
    {
      link->queued_bytes -= g_bytes_get_size (item->frame);
      item_drop (link, item, TRUE);
      g_free (item);
    }
  GSocketConnection *connection = link_socket_connection (link->stream);
  if (connection != NULL)
    g_socket_shutdown (g_socket_connection_get_socket (connection), TRUE, TRUE, NULL);
  /* The flushing link's own reference: the last one when its owner let go. */
  if (held)
    dsm_link_unref (link);
}

/* The link failed on its own: tell the owner, once. */
static void
link_fail (DsmLink *link, const GError *error)
{
  if (link->closed)
    return;
  DsmLinkCallbacks cb = link->cb;
  gpointer user_data = link->user_data;

  dsm_link_ref (link);
  link_finish_close (link);
  /* The owner may free itself in `closed`: nothing may call it after. */
  link->cb = (DsmLinkCallbacks) { .tag_free = cb.tag_free };
  if (cb.closed != NULL)
    cb.closed (link, error, user_data);
  dsm_link_unref (link);
}

/* May drop the last reference (a flushing link's own): callers touch
 * @link no more. */
static void
link_close_now (DsmLink *link)
{
  if (link->closed)
    return;
  link->cb = (DsmLinkCallbacks) { .tag_free = link->cb.tag_free };
  link_finish_close (link);
}

void
dsm_link_close (DsmLink *link)
{
  /* A flushing link closes itself when its queue is written. */
  if (!link->flushing)
    link_close_now (link);
}

static gboolean
link_linger_expired (gpointer data)
{
  DsmLink *link = data;

  g_source_unref (link->linger_timer);
  link->linger_timer = NULL;
  link_close_now (link);
  return G_SOURCE_REMOVE;
}

void
dsm_link_close_after_flush (DsmLink *link, guint linger_ms)
{
  if (link->closed || link->flushing)
    return;
  link->cb = (DsmLinkCallbacks) { .tag_free = link->cb.tag_free };
  /* Our own reference: the owner may unref now, the queue still leaves. */
  dsm_link_ref (link);
  link->flushing = TRUE;
  timer_clear (&link->frame_timer);
  timer_clear (&link->read_source);
  if (g_queue_is_empty (&link->queue))
    {
      link_close_now (link);
      return;
    }
  link->linger_timer = g_timeout_source_new (linger_ms);
  g_source_set_callback (link->linger_timer, link_linger_expired, link, NULL);
  g_source_attach (link->linger_timer, g_main_context_get_thread_default ());
}

gboolean
dsm_link_is_closed (const DsmLink *link)
{
  return link->closed;
}

void
dsm_link_set_frame_mac (DsmLink *link, DsmFrameMac *mac)
{
  dsm_frame_reader_set_mac (link->reader, mac);
}

const char *
dsm_link_get_remote (const DsmLink *link)
{
  return link->remote;
}

/* ---- reading ---- */

static gboolean
link_frame_timeout (gpointer data)
{
  DsmLink *link = data;
  g_autoptr(GError) error = NULL;

  g_set_error (&error, DSM_NET_ERROR, DSM_NET_ERROR_TIMEOUT,
               "%" G_GSIZE_FORMAT " bytes of an unfinished frame and nothing more for %u ms",
               dsm_frame_reader_get_buffered (link->reader), link->frame_timeout_ms);
  g_source_unref (link->frame_timer);
  link->frame_timer = NULL;
  link_fail (link, error);
  return G_SOURCE_REMOVE;
}

/* The timer runs while part of a frame waits; every completed frame
 * restarts it, so a slow trickle cannot hold a connection forever. */
static void
link_arm_frame_timer (DsmLink *link, gboolean progressed)
{
  if (progressed || dsm_frame_reader_get_buffered (link->reader) == 0)
    timer_clear (&link->frame_timer);
  if (dsm_frame_reader_get_buffered (link->reader) > 0 && link->frame_timer == NULL)
    {
      link->frame_timer = g_timeout_source_new (link->frame_timeout_ms);
      g_source_set_callback (link->frame_timer, link_frame_timeout, link, NULL);
      g_source_attach (link->frame_timer, g_main_context_get_thread_default ());
    }
}

/* Reads without blocking until the socket is empty, handing each complete
 * frame to the owner; no GTask per read. */
static gboolean
link_on_readable (DsmLink *link)
{
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (link->stream));
  /* A plain socket that filled less than the buffer is empty now; asking
   * again would only return EAGAIN, and the level-triggered source fires
   * again for whatever arrives later.  TLS may hold decrypted bytes
   * back, so a TLS link reads until it would block. */
  gboolean short_read_drains = G_IS_SOCKET_CONNECTION (link->stream);
  gboolean progressed = FALSE;
  g_autoptr(GError) error = NULL;

  dsm_link_ref (link);
  for (guint reads = 0; reads < READS_PER_WAKE && !link->closed && !link->flushing; reads++)
    {
      gssize n = g_pollable_input_stream_read_nonblocking (in, link->read_buf, READ_BYTES, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_clear_error (&error);
          break;
        }
      if (n <= 0)
        {
          if (n == 0)
            g_set_error_literal (&error, DSM_NET_ERROR, DSM_NET_ERROR_CLOSED, "connection closed by peer");
          else
            g_prefix_error (&error, "read: ");
          break;
        }
      link->bytes_read += (guint64) n;
      dsm_frame_reader_push (link->reader, link->read_buf, (gsize) n);
      for (;;)
        {
          g_autoptr(GBytes) payload = NULL;
          if (!dsm_frame_reader_pop (link->reader, &payload, &error))
            break;
          progressed = TRUE;
          if (link->cb.frame != NULL)
            link->cb.frame (link, payload, link->user_data);
          if (link->closed || link->flushing)
            break;
        }
      if (error != NULL || (short_read_drains && n < READ_BYTES))
        break;
    }

  gboolean keep = !link->closed && !link->flushing && error == NULL;
  if (error != NULL)
    link_fail (link, error);
  else if (keep)
    link_arm_frame_timer (link, progressed);
  if (!keep && link->read_source != NULL)
    {
      /* Closing destroyed the source already; returning REMOVE is then moot. */
      g_source_unref (link->read_source);
      link->read_source = NULL;
    }
  dsm_link_unref (link);
  return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static gboolean
link_on_socket_readable (GSocket *socket, GIOCondition condition, gpointer data)
{
  (void) socket;
  (void) condition;
  return link_on_readable (data);
}

static gboolean
link_on_stream_readable (GObject *stream, gpointer data)
{
  (void) stream;
  return link_on_readable (data);
}

static gboolean
link_on_socket_writable (GSocket *socket, GIOCondition condition, gpointer data)
{
  (void) socket;
  (void) condition;
  return link_on_writable (data);
}

static gboolean
link_on_stream_writable (GObject *stream, gpointer data)
{
  (void) stream;
  return link_on_writable (data);
}

/* A source ready when the link's stream can be read (G_IO_IN) or written
 * (G_IO_OUT).  A plain TCP link watches its socket directly.  GIO's
 * pollable source would wrap that socket source as a child, and GLib
 * blocks a child around each dispatch: it takes the socket out of the poll
 * set and puts it back, writing the context's eventfd twice and forcing
 * one more poll() on every read (strace of a follower: docs/BENCHMARKS.md
 * "The loop's own wake-ups").  A TLS link keeps the pollable source,
 * since TLS may hold decrypted bytes the socket no longer shows.  Nothing
 * here runs the loop recursively, so the source need not be blocked. */
static GSource *
link_stream_source (DsmLink *link, GIOCondition condition)
{
  GSource *source;

  g_assert (condition == G_IO_IN || condition == G_IO_OUT);
  if (G_IS_SOCKET_CONNECTION (link->stream))
    {
      GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (link->stream));
      source = g_socket_create_source (socket, condition, NULL);
      g_source_set_callback (source,
                             condition == G_IO_IN ? G_SOURCE_FUNC (link_on_socket_readable)
                                                  : G_SOURCE_FUNC (link_on_socket_writable),
                             link, NULL);
    }
  else if (condition == G_IO_IN)
    {
      GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (link->stream));
      source = g_pollable_input_stream_create_source (in, NULL);
      g_source_set_callback (source, G_SOURCE_FUNC (link_on_stream_readable), link, NULL);
    }
  else
    {
      GPollableOutputStream *out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (link->stream));
      source = g_pollable_output_stream_create_source (out, NULL);
      g_source_set_callback (source, G_SOURCE_FUNC (link_on_stream_writable), link, NULL);
    }
  g_source_set_can_recurse (source, TRUE);
  g_source_attach (source, g_main_context_get_thread_default ());
  return source;
}

static void
link_read_next (DsmLink *link)
{
  g_assert (link->read_source == NULL);
  link->read_source = link_stream_source (link, G_IO_IN);
}

guint64
dsm_link_get_bytes_read (const DsmLink *link)
{
  return link->bytes_read;
}

/* ---- writing ----
 *
 * Messages queued during one main-loop iteration (one drain of the node)
 * go out in one writev from an idle, without blocking: what the socket does
 * not take now waits for it to be writable.  No GTask, no callback round
 * trip per message. */

static void
link_write_done (DsmLink *link, gsize written)
{
  /* `sent` may close the link, which empties the queue. */
  while (written > 0 && !link->closed)
    {
      Item *item = g_queue_peek_head (&link->queue);
      gsize size = g_bytes_get_size (item->frame);
      gsize left = size - link->write_offset;
      if (written < left)
        {
          link->write_offset += written;
          return;
        }
      written -= left;
      link->write_offset = 0;
      g_queue_pop_head (&link->queue);
      link->queued_bytes -= size;
      if (link->cb.sent != NULL)
        link->cb.sent (link, item->tag, size, link->user_data);
      item_drop (link, item, FALSE);
      g_free (item);
    }
}

static gboolean
link_on_writable (DsmLink *link)
{
  g_source_unref (link->write_source);
  link->write_source = NULL;
  link_flush (link);
  return G_SOURCE_REMOVE;
}

static void
link_flush (DsmLink *link)
{
  GPollableOutputStream *out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (link->stream));
  GOutputVector vectors[WRITE_VECTORS_MAX];

  dsm_link_ref (link);
  while (!link->closed && !g_queue_is_empty (&link->queue))
    {
      guint n = 0;
      gsize total = 0;
      for (GList *l = link->queue.head; l != NULL && n < WRITE_VECTORS_MAX; l = l->next, n++)
        {
          Item *item = l->data;
          gsize size = 0;
          const guint8 *data = g_bytes_get_data (item->frame, &size);
          gsize skip = n == 0 ? link->write_offset : 0;
          vectors[n].buffer = data + skip;
          vectors[n].size = size - skip;
          total += size - skip;
        }
      gsize written = 0;
      g_autoptr(GError) error = NULL;
      GPollableReturn res = g_pollable_output_stream_writev_nonblocking (out, vectors, n, &written,
                                                                          NULL, &error);
      if (res == G_POLLABLE_RETURN_FAILED)
        {
          g_prefix_error (&error, "write: ");
          link_fail (link, error);
          break;
        }
      if (res == G_POLLABLE_RETURN_OK)
        link_write_done (link, written);
      if (res == G_POLLABLE_RETURN_WOULD_BLOCK || written < total)
        {
          /* The socket is full: wait for room. */
          if (link->write_source == NULL && !link->closed)
            {
              link->write_source = link_stream_source (link, G_IO_OUT);
            }
          break;
        }
    }
  if (!link->closed && link->flushing && g_queue_is_empty (&link->queue))
    link_close_now (link);
  dsm_link_unref (link);
}

static gboolean
link_on_flush (gpointer data)
{
  DsmLink *link = data;

  g_source_unref (link->flush_source);
  link->flush_source = NULL;
  link_flush (link);
  return G_SOURCE_REMOVE;
}

void
dsm_link_send (DsmLink *link, GBytes *frame, gpointer tag)
{
  Item *item;

  if (link->closed || link->flushing)
    {
      Item dead = { g_bytes_ref (frame), tag };
      item_drop (link, &dead, FALSE);
      return;
    }
  item = g_new (Item, 1);
  item->frame = g_bytes_ref (frame);
  item->tag = tag;
  link->queued_bytes += g_bytes_get_size (frame);
  g_queue_push_tail (&link->queue, item);
  if (link->write_source == NULL && link->flush_source == NULL)
    {
      link->flush_source = g_idle_source_new ();
      g_source_set_priority (link->flush_source, G_PRIORITY_DEFAULT);
      g_source_set_callback (link->flush_source, link_on_flush, link, NULL);
      g_source_attach (link->flush_source, g_main_context_get_thread_default ());
    }
}

gsize
dsm_link_get_queued_bytes (const DsmLink *link)
{
  return link->queued_bytes;
}
