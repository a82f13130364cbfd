/* tests/net/peer-pair.c: two live peer transports on loopback and the
 * blocking I/O of hostile peers, shared by the transport tests (peer-pair.h). */
#include "peer-pair.h"

#include <glib/gstdio.h>
#include <string.h>

#include "frame.h"
#include "handshake.h"

GLogWriterOutput
peer_pair_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
  if (g_test_verbose ())
    return g_log_writer_standard_streams (level, fields, n, data);
  return G_LOG_WRITER_HANDLED;
}

void
peer_pair_on_message (DsmTransport *t, DsmMessage *msg, gpointer data)
{
  g_ptr_array_add (data, dsm_message_ref (msg));
}

void
peer_pair_on_unsent (DsmTransport *t, DsmMessage *msg, gpointer data)
{
  (*(guint *) data)++;
}

static void
on_invalid (DsmTransport *t, guint peer, gpointer data)
{
  (*(guint *) data)++;
}

static gboolean
wakeup (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

DsmTransport *
peer_pair_new_transport (PeerPair *p, DsmNodeId id, const char *address, const DsmTransportOptions *options)
{
  g_autoptr(GError) error = NULL;
  DsmTransport *t = dsm_transport_new (p->config, id, options, &error);

  g_assert_no_error (error);
  g_assert_true (dsm_transport_listen (t, address, &p->port[id], &error));
  g_assert_no_error (error);
  if (p->received[id] == NULL)
    p->received[id] = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_message_unref);
  g_signal_connect (t, "message", G_CALLBACK (peer_pair_on_message), p->received[id]);
  g_signal_connect (t, "unsent", G_CALLBACK (peer_pair_on_unsent), &p->unsent[id]);
  g_signal_connect (t, "invalid", G_CALLBACK (on_invalid), &p->invalid[id]);
  return t;
}

void
peer_pair_init (PeerPair *p, DsmConfig *config, const DsmTransportOptions *options)
{
  memset (p, 0, sizeof *p);
  p->config = config;
  for (DsmNodeId id = 1; id <= 2; id++)
    p->t[id] = peer_pair_new_transport (p, id, "127.0.0.1:0", options);
  for (DsmNodeId id = 1; id <= 2; id++)
    for (DsmNodeId peer = 1; peer <= 3; peer++)
      if (peer != id)
        {
          /* Node 3 never runs: dials to it fail and back off. */
          g_autofree char *addr = g_strdup_printf ("127.0.0.1:%u", peer <= 2 ? p->port[peer] : 1);
          dsm_transport_set_peer_address (p->t[id], peer, addr);
        }
  /* The loop turns at least this often while a helper thread works. */
  g_timeout_add (5, wakeup, NULL);
}

void
peer_pair_clear (PeerPair *p)
{
  g_source_remove_by_user_data (NULL);
  for (DsmNodeId id = 1; id <= 2; id++)
    {
      if (p->t[id] != NULL)
        {
          dsm_transport_stop (p->t[id]);
          g_clear_object (&p->t[id]);
        }
      g_clear_pointer (&p->received[id], g_ptr_array_unref);
    }
  /* Let cancelled operations unwind before the next test. */
  for (guint i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  g_clear_pointer (&p->config, dsm_config_unref);
}

gboolean
peer_pair_wait (PeerPair *p, PeerPairCond cond, gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) PEER_PAIR_BUDGET_MS * 1000;

  while (!cond (p, data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, TRUE);
    }
  return TRUE;
}

/* @self's view of its link with @peer: connected, which way, whether a dial of its own is in flight. */
static gboolean
peer_pair_view (PeerPair *p, DsmNodeId self, DsmNodeId peer, gboolean *outbound, gboolean *dialing)
{
  DsmTransportPeerInfo info = { 0 };
  gboolean connected = dsm_transport_get_peer_info (p->t[self], peer, &info) && info.state == DSM_PEER_CONNECTED;

  *outbound = info.outbound;
  *dialing = info.dialing;
  dsm_transport_peer_info_clear (&info);
  return connected;
}

gboolean
peer_pair_both_connected (PeerPair *p, gpointer data)
{
  gboolean out1, dialing1, out2, dialing2;

  if (dsm_transport_get_n_connected (p->t[1]) != 1 || dsm_transport_get_n_connected (p->t[2]) != 1)
    return FALSE;
  if (!peer_pair_view (p, 1, 2, &out1, &dialing1) || !peer_pair_view (p, 2, 1, &out2, &dialing2))
    return FALSE;
  /* Both ends dial, so two connections can cross: a message sent on the
   * one the tie-break drops can be lost with it (the transport is lossy by
   * contract; the protocol retries, a test that sends once must not), and
   * a dial still in flight can end in a handshake failure the other end
   * counts.  Settled: both ends hold the same connection and neither is
   * still dialing. */
  return out1 != out2 && !dialing1 && !dialing2;
}

DsmMessage *
peer_pair_commit_message (DsmNodeId from, DsmNodeId to, guint64 commit_index)
{
  DsmMessage *msg = dsm_message_new (DSM_MSG_COMMIT, from, to, 3);

  msg->commit_index = commit_index;
  msg->hb_seq = 1;
  return msg;
}

gboolean
peer_pair_has_commit (PeerPair *p, DsmNodeId to, guint64 commit_index)
{
  for (guint i = 0; i < p->received[to]->len; i++)
    if (((DsmMessage *) p->received[to]->pdata[i])->commit_index == commit_index)
      return TRUE;
  return FALSE;
}

typedef struct {
  DsmNodeId to;
  guint64 tag;
} Expect;

static gboolean
assert_delivers_arrived (PeerPair *p, gpointer data)
{
  const Expect *e = data;

  return peer_pair_has_commit (p, e->to, e->tag);
}

void
peer_pair_assert_delivers (PeerPair *p, DsmNodeId from, DsmNodeId to, guint64 tag)
{
  g_autoptr(DsmMessage) msg = peer_pair_commit_message (from, to, tag);
  Expect e = { to, tag };

  g_assert_true (peer_pair_wait (p, peer_pair_both_connected, NULL));
  dsm_transport_send (p->t[from], msg);
  g_assert_true (peer_pair_wait (p, assert_delivers_arrived, &e));
}

guint64
peer_pair_metric (DsmTransport *t, const char *name, const char *labels)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *prefix = g_strdup_printf ("%s{%s} ", name, labels);

  dsm_transport_render_metrics (t, text);
  g_auto(GStrv) lines = g_strsplit (text->str, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix (*l, prefix))
      return g_ascii_strtoull (*l + strlen (prefix), NULL, 10);
  g_error ("no sample %s", prefix);
}

/* ---- a hostile peer's blocking I/O ---- */

GSocketConnection *
peer_pair_connect (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autofree char *addr = g_strdup_printf ("127.0.0.1:%u", port);
  g_autoptr(GError) error = NULL;

  g_socket_client_set_enable_proxy (client, FALSE);
  GSocketConnection *conn = g_socket_client_connect_to_host (client, addr, 0, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (g_socket_connection_get_socket (conn), PEER_PAIR_BUDGET_MS / 1000);
  return conn;
}

GBytes *
peer_pair_read_frame (GInputStream *in, gsize max_bytes)
{
  guint8 header[DSM_FRAME_HEADER_BYTES];
  guint32 be_length;
  gsize n = 0;

  if (!g_input_stream_read_all (in, header, sizeof header, &n, NULL, NULL) || n != sizeof header)
    return NULL;
  memcpy (&be_length, header, 4);
  gsize length = GUINT32_FROM_BE (be_length);
  if (length > max_bytes)
    return NULL;
  g_autofree guint8 *payload = g_malloc (length);
  if (!g_input_stream_read_all (in, payload, length, &n, NULL, NULL) || n != length)
    return NULL;
  return g_bytes_new_take (g_steal_pointer (&payload), length);
}

void
peer_pair_write_frame (GOutputStream *out, const char *text)
{
  g_autoptr(GBytes) frame = dsm_frame_encode (text, strlen (text));

  g_output_stream_write_all (out, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), NULL, NULL, NULL);
}

gboolean
peer_pair_read_to_close (GInputStream *in)
{
  guint8 buf[4096];

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_input_stream_read (in, buf, sizeof buf, NULL, &error);
      if (n == 0)
        return TRUE;
      if (n < 0)
        return !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
    }
}

void
peer_pair_handshake_as (GInputStream *in, GOutputStream *out, DsmNodeId from, DsmNodeId to,
                        const char *fingerprint, GBytes *secret, char *nonce_d, char *nonce_a)
{
  dsm_handshake_new_nonce (nonce_d);
  DsmHandshake hello = { .kind = DSM_HANDSHAKE_HELLO, .protocol = DSM_PROTOCOL_VERSION,
                         .cluster_id = (char *) "dsm", .fingerprint = (char *) fingerprint, .from = from,
                         .to = to, .nonce = nonce_d, .auth = secret != NULL };
  g_autofree char *hello_text = dsm_handshake_encode (&hello);
  peer_pair_write_frame (out, hello_text);

  g_autoptr(GBytes) reply = peer_pair_read_frame (in, 64 * 1024);
  g_assert_nonnull (reply);
  g_autoptr(DsmHandshake) welcome = dsm_handshake_decode (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply),
                                                          DSM_HANDSHAKE_WELCOME, NULL);
  g_assert_nonnull (welcome);
  g_strlcpy (nonce_a, welcome->nonce, DSM_HANDSHAKE_NONCE_HEX + 1);

  g_autofree char *proof = secret != NULL
    ? dsm_handshake_proof (secret, "ready", "dsm", from, to, nonce_d, nonce_a) : NULL;
  DsmHandshake ready = { .kind = DSM_HANDSHAKE_READY, .proof = proof };
  g_autofree char *ready_text = dsm_handshake_encode (&ready);
  peer_pair_write_frame (out, ready_text);
}

void
peer_pair_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      peer_pair_remove_tree (child);
    }
  g_remove (path);
}
