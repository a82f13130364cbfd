/* tests/net/proxy.c: a frame-aware TCP proxy between real nodes that
 * flips or replays one sealed frame when armed (proxy.h). */
#include "proxy.h"

#include <string.h>

#include "frame.h"
#include "handshake.h"

/* The largest frame passed on: a node's max_frame_bytes is at most 4 MiB. */
#define PROXY_FRAME_BYTES_MAX (4 * 1024 * 1024)

struct _Proxy {
  guint16 target_port;
  GSocketListener *listener;
  guint16 port;
  GCancellable *cancel;          /* cancelled by proxy_free: every blocking call returns */
  GThread *acceptor;
  GMutex lock;                   /* guards everything below */
  GPtrArray *threads;            /* GThread: the pumps */
  GPtrArray *connections;        /* GSocketConnection, both ends of each link */
  gboolean armed;
  ProxyTamper tamper;
  char *needle;
  gint *shots;                   /* shared with other proxies: atomic */
  ProxyStats stats[PROXY_DIALERS_MAX + 1];   /* by dialer, 0: unknown */
};

/* What the two pumps of one connection share. */
typedef struct {
  gint refs;                     /* atomic: one per pump */
  gint dialer;                   /* atomic: the hello's "from", 0 before */
} Link;

typedef struct {
  Proxy *proxy;
  GSocketConnection *from;       /* referenced */
  GSocketConnection *to;         /* referenced */
  gboolean to_target;
  guint plain_frames;            /* frames before the sealed ones, this way */
  Link *link;
} Pump;

/* The stats of @pump's dialer; the caller holds the proxy's lock. */
static ProxyStats *
pump_stats (Pump *pump)
{
  return &pump->proxy->stats[g_atomic_int_get (&pump->link->dialer)];
}

/* The dialer's first frame is its hello: it names the dialer. */
static void
pump_learn_dialer (Pump *pump, const GByteArray *frame, gsize header)
{
  g_autoptr(DsmHandshake) hello = dsm_handshake_decode ((const char *) frame->data + header, frame->len - header,
                                                        DSM_HANDSHAKE_HELLO, NULL);

  if (hello != NULL && hello->from >= 1 && hello->from <= PROXY_DIALERS_MAX)
    g_atomic_int_set (&pump->link->dialer, (gint) hello->from);
}

/* Ends both connections of a link: the other pump's reads end too. */
static void
pump_shutdown (Pump *pump)
{
  g_socket_shutdown (g_socket_connection_get_socket (pump->from), TRUE, TRUE, NULL);
  g_socket_shutdown (g_socket_connection_get_socket (pump->to), TRUE, TRUE, NULL);
}

static gboolean
pump_write (Pump *pump, const guint8 *data, gsize length)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (pump->to));

  return g_output_stream_write_all (out, data, length, NULL, pump->proxy->cancel, NULL);
}

/* Whether to tamper with this sealed frame, and how.  The first frame
 * with the needle disarms the proxy, shot or not. */
static gboolean
pump_take_tamper (Pump *pump, GByteArray *frame, gsize header, ProxyTamper *tamper)
{
  Proxy *proxy = pump->proxy;
  gboolean take = FALSE;

  g_mutex_lock (&proxy->lock);
  if (pump->to_target)
    pump_stats (pump)->sealed_to_target++;
  else
    pump_stats (pump)->sealed_from_target++;
  if (proxy->armed)
    {
      /* The payload is JSON text: no NUL inside. */
      const char *payload = (const char *) frame->data + header;
      const char *at = g_strstr_len (payload, (gssize) (frame->len - header), proxy->needle);
      if (at != NULL)
        proxy->armed = FALSE;
      /* Take one of the shots left, if any. */
      gint left = at != NULL ? g_atomic_int_get (proxy->shots) : 0;
      while (left > 0 && !g_atomic_int_compare_and_exchange (proxy->shots, left, left - 1))
        left = g_atomic_int_get (proxy->shots);
      if (left > 0)
        {
          take = TRUE;
          *tamper = proxy->tamper;
          pump_stats (pump)->tampered++;
          pump_stats (pump)->tampered_to_target = pump->to_target;
          if (*tamper == PROXY_FLIP)
            frame->data[header + (gsize) (at - payload) + strlen (proxy->needle) - 1] ^= 0x03;
        }
    }
  g_mutex_unlock (&proxy->lock);
  return take;
}

static gpointer
pump_run (gpointer data)
{
  Pump *pump = data;
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (pump->from));
  g_autoptr(GByteArray) frame = g_byte_array_new ();
  g_autoptr(GByteArray) replay = NULL;   /* a frame to send again after the next one */
  guint frames = 0;

  for (;;)
    {
      gboolean sealed = frames >= pump->plain_frames;
      gsize header = sealed ? DSM_FRAME_SEALED_HEADER_BYTES : DSM_FRAME_HEADER_BYTES;
      gsize n = 0;
      guint32 be_length;
      ProxyTamper tamper = PROXY_FLIP;

      g_byte_array_set_size (frame, (guint) header);
      if (!g_input_stream_read_all (in, frame->data, header, &n, pump->proxy->cancel, NULL) || n != header)
        break;
      memcpy (&be_length, frame->data, 4);
      gsize length = GUINT32_FROM_BE (be_length);
      if (length > PROXY_FRAME_BYTES_MAX)
        break;
      g_byte_array_set_size (frame, (guint) (header + length));
      if (!g_input_stream_read_all (in, frame->data + header, length, &n, pump->proxy->cancel, NULL) || n != length)
        break;
      frames++;
      if (pump->to_target && frames == 1)
        pump_learn_dialer (pump, frame, header);
      gboolean tampered = sealed && pump_take_tamper (pump, frame, header, &tamper);
      if (!pump_write (pump, frame->data, frame->len))
        break;
      if (pump->to_target && frames == pump->plain_frames)
        {
          g_mutex_lock (&pump->proxy->lock);
          pump_stats (pump)->readies++;   /* the dialer's ready went through */
          g_mutex_unlock (&pump->proxy->lock);
        }
      /* An earlier frame, again: its tag was for an older seq. */
      if (replay != NULL && !pump_write (pump, replay->data, replay->len))
        break;
      g_clear_pointer (&replay, g_byte_array_unref);
      if (tampered && tamper == PROXY_REPLAY)
        {
          replay = g_byte_array_new ();
          g_byte_array_append (replay, frame->data, frame->len);
        }
    }
  pump_shutdown (pump);
  g_object_unref (pump->from);
  g_object_unref (pump->to);
  if (g_atomic_int_dec_and_test (&pump->link->refs))
    g_free (pump->link);
  g_free (pump);
  return NULL;
}

static void
proxy_start_pump (Proxy *proxy, GSocketConnection *from, GSocketConnection *to, gboolean to_target, Link *link)
{
  Pump *pump = g_new0 (Pump, 1);

  /* The caller counted this pump's reference to @link before starting
   * either pump: a pump that ends at once must not free it first. */
  g_assert (g_atomic_int_get (&link->refs) > 0);
  pump->link = link;
  pump->proxy = proxy;
  pump->from = g_object_ref (from);
  pump->to = g_object_ref (to);
  pump->to_target = to_target;
  /* The dialer sends hello and ready in plain frames, the acceptor welcome. */
  pump->plain_frames = to_target ? 2 : 1;
  g_ptr_array_add (proxy->threads, g_thread_new ("proxy-pump", pump_run, pump));
}

static gpointer
proxy_accept_run (gpointer data)
{
  Proxy *proxy = data;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", proxy->target_port);

  g_socket_client_set_enable_proxy (client, FALSE);
  for (;;)
    {
      g_autoptr(GSocketConnection) in = g_socket_listener_accept (proxy->listener, NULL, proxy->cancel, NULL);
      if (in == NULL)
        break;  /* cancelled */
      g_autoptr(GSocketConnection) out = g_socket_client_connect_to_host (client, target, 0, proxy->cancel, NULL);
      if (out == NULL)
        continue;  /* the target is down: the dialer sees the close */
      g_mutex_lock (&proxy->lock);
      proxy->stats[0].connections++;
      g_ptr_array_add (proxy->connections, g_object_ref (in));
      g_ptr_array_add (proxy->connections, g_object_ref (out));
      Link *link = g_new0 (Link, 1);
      link->refs = 2;   /* one per pump */
      proxy_start_pump (proxy, in, out, TRUE, link);
      proxy_start_pump (proxy, out, in, FALSE, link);
      g_mutex_unlock (&proxy->lock);
    }
  return NULL;
}

Proxy *
proxy_new (guint16 target_port)
{
  Proxy *proxy = g_new0 (Proxy, 1);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  proxy->target_port = target_port;
  proxy->listener = g_socket_listener_new ();
  proxy->cancel = g_cancellable_new ();
  g_mutex_init (&proxy->lock);
  proxy->threads = g_ptr_array_new ();
  proxy->connections = g_ptr_array_new_with_free_func (g_object_unref);
  g_assert_true (g_socket_listener_add_address (proxy->listener, any, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                                NULL, &bound, &error));
  g_assert_no_error (error);
  proxy->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  proxy->acceptor = g_thread_new ("proxy-accept", proxy_accept_run, proxy);
  return proxy;
}

void
proxy_free (Proxy *proxy)
{
  if (proxy == NULL)
    return;
  g_cancellable_cancel (proxy->cancel);
  g_thread_join (proxy->acceptor);
  /* No pump starts any more; close what is open so every read returns. */
  g_mutex_lock (&proxy->lock);
  for (guint i = 0; i < proxy->connections->len; i++)
    g_socket_shutdown (g_socket_connection_get_socket (proxy->connections->pdata[i]), TRUE, TRUE, NULL);
  g_mutex_unlock (&proxy->lock);
  for (guint i = 0; i < proxy->threads->len; i++)
    g_thread_join (proxy->threads->pdata[i]);
  g_ptr_array_unref (proxy->threads);
  g_ptr_array_unref (proxy->connections);
  g_socket_listener_close (proxy->listener);
  g_object_unref (proxy->listener);
  g_object_unref (proxy->cancel);
  g_mutex_clear (&proxy->lock);
  g_free (proxy->needle);
  g_free (proxy);
}

guint16
proxy_get_port (Proxy *proxy)
{
  return proxy->port;
}

void
proxy_arm (Proxy *proxy, ProxyTamper tamper, const char *needle, gint *shots)
{
  g_mutex_lock (&proxy->lock);
  g_free (proxy->needle);
  proxy->needle = g_strdup (needle);
  proxy->tamper = tamper;
  proxy->shots = shots;
  proxy->armed = TRUE;
  g_mutex_unlock (&proxy->lock);
}

void
proxy_get_stats (Proxy *proxy, guint dialer, ProxyStats *stats)
{
  g_assert_cmpuint (dialer, <=, PROXY_DIALERS_MAX);
  g_mutex_lock (&proxy->lock);
  *stats = proxy->stats[dialer];
  g_mutex_unlock (&proxy->lock);
}
