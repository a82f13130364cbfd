/* net/link.c: a framed TCP stream with an async read loop, a frame
 * timeout and a vectored write queue (link.h).
 *
 *   open --close()--> closed                     (owner's choice; no callbacks)
 *   open --EOF, error, bad frame, timeout--> closed  (`closed` callback)
 *   open --close_after_flush()--> flushing --queue empty or linger--> closed
 *
 * Every GIO operation in flight holds a reference, so a link outlives its
 * owner's last unref until those operations come back cancelled. */
#include "link.h"

#include "frame.h"
#include "net-error.h"

#define READ_BYTES (64 * 1024)
#define WRITE_VECTORS_MAX 64

typedef struct {
  GBytes *frame;
  gpointer tag;
} Item;

struct _DsmLink {
  gint ref_count;
  GIOStream *stream;
  GCancellable *read_cancel;
  GCancellable *write_cancel;
  DsmFrameReader *reader;
  guint frame_timeout_ms;
  GSource *frame_timer;
  GSource *linger_timer;
  DsmLinkCallbacks cb;
  gpointer user_data;
  char *remote;

  guint8 *read_buf;
  GQueue queue;                 /* Item, not yet handed to a write */
  Item *writing;                /* the items of the write in flight */
  GOutputVector *vectors;       /* their buffers, alive until the write completes */
  guint n_writing;
  gsize queued_bytes;           /* queue + writing */
  guint64 bytes_read;

  gboolean closed;
  gboolean flushing;
};

static void link_read_next (DsmLink *link);
static void link_write_next (DsmLink *link);
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

static char *
link_describe_remote (GIOStream *stream)
{
  if (!G_IS_SOCKET_CONNECTION (stream))
    return g_strdup ("?");
  g_autoptr(GSocketAddress) addr = g_socket_connection_get_remote_address (G_SOCKET_CONNECTION (stream), NULL);
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
  link->read_cancel = g_cancellable_new ();
  link->write_cancel = g_cancellable_new ();
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
  g_assert (link->writing == NULL);
  if (!link->closed)
    {
      link->cb = (DsmLinkCallbacks) { .tag_free = link->cb.tag_free };
      link_finish_close (link);
    }
  g_io_stream_close (link->stream, NULL, NULL);
  g_object_unref (link->stream);
  g_object_unref (link->read_cancel);
  g_object_unref (link->write_cancel);
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
 * once even while our cancelled operations are still unwinding. */
static void
link_finish_close (DsmLink *link)
{
  Item *item;

  link->closed = TRUE;
  link->flushing = FALSE;
  timer_clear (&link->frame_timer);
  timer_clear (&link->linger_timer);
  g_cancellable_cancel (link->read_cancel);
  g_cancellable_cancel (link->write_cancel);
  while ((item = g_queue_pop_head (&link->queue)) != NULL)
    {
      link->queued_bytes -= g_bytes_get_size (item->frame);
      item_drop (link, item, TRUE);
      g_free (item);
    }
  if (G_IS_SOCKET_CONNECTION (link->stream))
    g_socket_shutdown (g_socket_connection_get_socket (G_SOCKET_CONNECTION (link->stream)),
                       TRUE, TRUE, NULL);
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

static void
link_close_now (DsmLink *link)
{
  if (link->closed)
    return;
  link_finish_close (link);
  link->cb = (DsmLinkCallbacks) { .tag_free = link->cb.tag_free };
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
  link->flushing = TRUE;
  timer_clear (&link->frame_timer);
  g_cancellable_cancel (link->read_cancel);
  if (link->writing == NULL && g_queue_is_empty (&link->queue))
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

static void
link_on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  DsmLink *link = data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  if (link->closed || link->flushing)
    {
      dsm_link_unref (link);
      return;
    }
  if (n <= 0)
    {
      if (n == 0)
        g_set_error_literal (&error, DSM_NET_ERROR, DSM_NET_ERROR_CLOSED, "connection closed by peer");
      else
        g_prefix_error (&error, "read: ");
      link_fail (link, error);
      dsm_link_unref (link);
      return;
    }

  link->bytes_read += (guint64) n;
  dsm_frame_reader_push (link->reader, link->read_buf, (gsize) n);
  gboolean progressed = FALSE;
  for (;;)
    {
      g_autoptr(GBytes) payload = NULL;
      if (!dsm_frame_reader_pop (link->reader, &payload, &error))
        break;
      progressed = TRUE;
      if (link->cb.frame != NULL)
        link->cb.frame (link, payload, link->user_data);
      if (link->closed || link->flushing)
        {
          dsm_link_unref (link);
          return;
        }
    }
  if (error != NULL)
    link_fail (link, error);
  else
    {
      link_arm_frame_timer (link, progressed);
      link_read_next (link);
    }
  dsm_link_unref (link);
}

static void
link_read_next (DsmLink *link)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (link->stream), link->read_buf, READ_BYTES,
                             G_PRIORITY_DEFAULT, link->read_cancel, link_on_read, dsm_link_ref (link));
}

guint64
dsm_link_get_bytes_read (const DsmLink *link)
{
  return link->bytes_read;
}

/* ---- writing ---- */

static void
link_on_written (GObject *source, GAsyncResult *result, gpointer data)
{
  DsmLink *link = data;
  g_autoptr(GError) error = NULL;
  gboolean ok = g_output_stream_writev_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error);
  Item *items = link->writing;
  guint n = link->n_writing;

  link->writing = NULL;
  link->n_writing = 0;
  g_clear_pointer (&link->vectors, g_free);
  for (guint i = 0; i < n; i++)
    {
      gsize size = g_bytes_get_size (items[i].frame);
      link->queued_bytes -= size;
      if (ok && !link->closed && link->cb.sent != NULL)
        link->cb.sent (link, items[i].tag, size, link->user_data);
      item_drop (link, &items[i], !ok);
    }
  g_free (items);

  if (!ok)
    {
      g_prefix_error (&error, "write: ");
      link_fail (link, error);
    }
  else if (!link->closed)
    {
      if (!g_queue_is_empty (&link->queue))
        link_write_next (link);
      else if (link->flushing)
        link_close_now (link);
    }
  dsm_link_unref (link);
}

static void
link_write_next (DsmLink *link)
{
  guint n = MIN (g_queue_get_length (&link->queue), WRITE_VECTORS_MAX);

  g_assert (link->writing == NULL);
  g_assert (n > 0);
  link->writing = g_new (Item, n);
  link->vectors = g_new (GOutputVector, n);
  link->n_writing = n;
  for (guint i = 0; i < n; i++)
    {
      Item *item = g_queue_pop_head (&link->queue);
      link->writing[i] = *item;
      g_free (item);
      link->vectors[i].buffer = g_bytes_get_data (link->writing[i].frame, &link->vectors[i].size);
    }
  /* GIO reads the vectors and the frames until the callback runs. */
  g_output_stream_writev_all_async (g_io_stream_get_output_stream (link->stream), link->vectors, n,
                                    G_PRIORITY_DEFAULT, link->write_cancel, link_on_written,
                                    dsm_link_ref (link));
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
  if (link->writing == NULL)
    link_write_next (link);
}

gsize
dsm_link_get_queued_bytes (const DsmLink *link)
{
  return link->queued_bytes;
}
