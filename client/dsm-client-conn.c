/* client/dsm-client-conn.c: libdsm-client's connection (dsm-client.h):
 * connecting and the hello, frames written in batches and read back,
 * each answer matched to its request by id and its fate decided: done,
 * refused, redirected to the leader, or tried again with its session. */
#include "dsm-client-private.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

/* ---- requests ---- */

void
request_free (Request *r)
{
  dsm_wire_msg_clear (&r->msg);
  g_free (r->last_error);
  g_free (r);
}

void
request_finish (DsmClient *client, Request *r, const DsmWireMsg *answer, const GError *error)
{
  DsmClientResult result = { 0 };

  if (answer != NULL)
    {
      result.status = answer->status == DSM_WIRE_STATUS_OK ? DSM_CLIENT_OK
                      : answer->status == DSM_WIRE_STATUS_REJECTED ? DSM_CLIENT_REJECTED : DSM_CLIENT_UNKNOWN;
      result.reason = answer->reason;
      result.machine = answer->machine != NULL ? answer->machine : r->msg.machine;
      result.state = answer->state;
      result.index = answer->index;
      result.detail = answer->detail;
      result.revision = answer->revision;
      result.data = answer->data;
    }
  r->func (client, answer != NULL ? &result : NULL, error, r->data);
  request_free (r);
}

void
request_fail (DsmClient *client, Request *r, DsmClientErrorCode code, const char *message)
{
  g_autoptr(GError) error = g_error_new (DSM_CLIENT_ERROR, code, "%s %s: %s", dsm_wire_type_name (r->msg.type),
                                         r->msg.machine, message);
  request_finish (client, r, NULL, error);
}

/* Back in the queue for another try after @delay_ms (in id order, so
 * retried requests go before newer ones). */
void
request_retry (DsmClient *client, Request *r, guint delay_ms, const char *why)
{
  GList *l;

  g_free (r->last_error);
  r->last_error = g_strdup (why);
  r->not_before_us = g_get_monotonic_time () + (gint64) delay_ms * 1000;
  for (l = client->waiting.head; l != NULL && ((Request *) l->data)->msg.id < r->msg.id; l = l->next)
    ;
  if (l == NULL)
    g_queue_push_tail (&client->waiting, r);
  else
    g_queue_insert_before (&client->waiting, l, r);
}

/* ---- the connection ---- */

void
conn_unref (Conn *c)
{
  if (!g_atomic_int_dec_and_test (&c->refs))
    return;
  g_clear_object (&c->socket);
  g_object_unref (c->cancel);
  g_byte_array_unref (c->rx);
  g_byte_array_unref (c->tx);
  if (c->tx_busy != NULL)
    g_byte_array_unref (c->tx_busy);
  g_free (c->buf);
  g_free (c->address);
  g_clear_object (&c->tls_database);
  g_free (c->tls_server_name);
  g_main_context_unref (c->context);
  g_free (c);
}

/* Drops the connection; what it had in flight is tried again (with its
 * session: a transition that did commit is not applied twice). */
void
client_drop (DsmClient *client, const char *why, guint delay_ms)
{
  Conn *c = client->conn;
  GHashTableIter iter;
  gpointer value;

  if (c == NULL)
    return;
  client->conn = NULL;
  client->node = 0;
  c->client = NULL;
  g_cancellable_cancel (c->cancel);
  if (c->socket != NULL)
    g_io_stream_close (G_IO_STREAM (c->socket), NULL, NULL);
  conn_unref (c);
  g_hash_table_iter_init (&iter, client->sent);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      g_hash_table_iter_steal (&iter);
      request_retry (client, value, 0, why);
    }
  client->reconnect_at_us = g_get_monotonic_time () + (gint64) delay_ms * 1000;
}


static void
conn_on_written (GObject *source, GAsyncResult *res, gpointer data)
{
  Conn *c = data;
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), res, NULL, &error);
  g_clear_pointer (&c->tx_busy, g_byte_array_unref);
  if (c->client != NULL)
    {
      if (error != NULL)
        {
          g_autofree char *why = g_strdup_printf ("writing to %s: %s", c->address, error->message);
          DsmClient *client = c->client;
          client_drop (client, why, client->retry_delay_ms);
          client_kick (client);
        }
      else
        conn_flush (c);
    }
  conn_unref (c);
}

void
conn_flush (Conn *c)
{
  if (c->tx_busy != NULL || c->tx->len == 0 || c->socket == NULL)
    return;
  c->tx_busy = c->tx;
  c->tx = g_byte_array_new ();
  g_atomic_int_inc (&c->refs);
  /* GIO answers on the thread-default context: make it the client's. */
  g_main_context_push_thread_default (c->context);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (c->socket)), c->tx_busy->data,
                                   c->tx_busy->len, G_PRIORITY_DEFAULT, c->cancel, conn_on_written, c);
  g_main_context_pop_thread_default (c->context);
}

/* FALSE when @r needs a later version than the connection's (and was failed). */
gboolean
client_send (DsmClient *client, Request *r)
{
  Conn *c = client->conn;

  if (c->version < 2 && (r->msg.payload != NULL || r->msg.flags != 0) && r->msg.type == DSM_WIRE_TRANSITION)
    {
      g_autofree char *why = g_strdup_printf ("unsupported: %s speaks native protocol version %u, without "
                                              "payloads or if_revision", c->address, c->version);
      request_fail (client, r, DSM_CLIENT_ERROR_REFUSED, why);
      return FALSE;
    }
  r->tries++;
  if (r->tries > 1)
    client->retries++;
  r->deadline_us = g_get_monotonic_time () + (gint64) client->request_timeout_ms * 1000;
  g_hash_table_insert (client->sent, &r->msg.id, r);
  dsm_wire_encode_version (&r->msg, c->version, c->tx);
  return TRUE;
}

/* Codes after which the same request may succeed later, or elsewhere. */
static gboolean
error_is_retryable (const char *code)
{
  static const char *const codes[] = { "not_leader", "no_leader", "overloaded", "too_many_in_flight",
                                       "rate_limited", "stopping", "timeout", "too_many_connections", NULL };
  return code != NULL && g_strv_contains (codes, code);
}

static void
client_on_welcome (DsmClient *client, Conn *c, const DsmWireMsg *m)
{
  /* Another node leads and we know where: go there, nothing is sent yet. */
  if (m->leader != 0 && m->leader != m->node && m->leader_address != NULL
      && g_strcmp0 (m->leader_address, c->address) != 0)
    {
      g_free (client->redirect);
      client->redirect = g_strdup (m->leader_address);
      client_drop (client, "redirected to the leader", 0);
      return;
    }
  c->ready = TRUE;
  client->node = m->node;
  client->in_flight_cap = MIN (client->max_in_flight, MAX (m->max_in_flight, 1));
}

static void
client_on_error (DsmClient *client, Conn *c, const DsmWireMsg *m)
{
  Request *r = m->id != 0 ? g_hash_table_lookup (client->sent, &m->id) : NULL;
  g_autofree char *why = g_strdup_printf ("%s: %s", m->code != NULL ? m->code : "error",
                                          m->message != NULL ? m->message : "");

  if (r != NULL)
    g_hash_table_steal (client->sent, &m->id);
  /* A node older than this library: say hello again in version 1
   * (docs/CLIENT.md, "Versions"); nothing was run. */
  if (g_strcmp0 (m->code, "bad_version") == 0 && m->id == c->hello_id && c->version > DSM_WIRE_VERSION_MIN)
    {
      client->version = DSM_WIRE_VERSION_MIN;
      g_free (client->redirect);
      client->redirect = g_strdup (c->address);
      client_drop (client, why, 0);
      return;
    }
  if (g_strcmp0 (m->code, "not_leader") == 0 && m->leader_address != NULL
      && g_strcmp0 (m->leader_address, c->address) != 0)
    {
      g_free (client->redirect);
      client->redirect = g_strdup (m->leader_address);
      if (r != NULL)
        request_retry (client, r, 0, why);
      client_drop (client, why, 0);
      return;
    }
  if (r != NULL)
    {
      if (error_is_retryable (m->code))
        request_retry (client, r, MAX (client->retry_delay_ms, m->retry_after_ms), why);
      else
        request_fail (client, r, DSM_CLIENT_ERROR_REFUSED, why);
    }
  if (g_strcmp0 (m->code, "not_leader") == 0 && r != NULL && r->tries >= client->attempts / 2)
    {
      /* A follower that cannot say where the leader is: try another node. */
      client_drop (client, why, client->retry_delay_ms);
      return;
    }
  /* The hello refused, or the connection refused before its welcome (a
   * TLS port to a plain client says tls_required with id 0). */
  gboolean hello_refused = (m->id == c->hello_id && m->id != 0) || (m->id == 0 && m->closing && !c->ready);
  if (m->closing || hello_refused)
    {
      /* No retry helps a refused hello: fail everything. */
      if (hello_refused && !error_is_retryable (m->code))
        {
          Request *w;
          client_drop (client, why, client->retry_delay_ms);
          while ((w = g_queue_pop_head (&client->waiting)) != NULL)
            request_fail (client, w, DSM_CLIENT_ERROR_REFUSED, why);
          return;
        }
      client_drop (client, why, client->retry_delay_ms);
    }
}

static void
client_on_result (DsmClient *client, const DsmWireMsg *m)
{
  Request *r = g_hash_table_lookup (client->sent, &m->id);

  if (r == NULL)
    return;
  g_hash_table_steal (client->sent, &m->id);
  /* Outcome unknown, or refused for now: the same session tells, later. */
  if (r->tries < client->attempts
      && (m->status == DSM_WIRE_STATUS_UNKNOWN
          || (m->status == DSM_WIRE_STATUS_REJECTED
              && (g_strcmp0 (m->reason, "overloaded") == 0 || g_strcmp0 (m->reason, "change_in_progress") == 0))))
    {
      g_autofree char *why = g_strdup_printf ("%s (%s)", m->status == DSM_WIRE_STATUS_UNKNOWN ? "unknown" : "rejected",
                                              m->reason != NULL ? m->reason : "");
      request_retry (client, r, client->retry_delay_ms, why);
      return;
    }
  request_finish (client, r, m, NULL);
}

static void conn_read (Conn *c);

static void
conn_on_read (GObject *source, GAsyncResult *res, gpointer data)
{
  Conn *c = data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), res, &error);
  DsmClient *client = c->client;
  gsize at = 0;

  if (client == NULL)
    goto done;
  if (n <= 0)
    {
      g_autofree char *why = g_strdup_printf ("%s: %s", c->address, n == 0 ? "connection closed" : error->message);
      client_drop (client, why, client->retry_delay_ms);
      client_kick (client);
      goto done;
    }
  g_byte_array_append (c->rx, c->buf, (guint) n);
  while (c->client != NULL)
    {
      g_autoptr(GError) local = NULL;
      const guint8 *payload;
      gsize length, used;
      DsmWireMsg m;
      int cut = dsm_wire_cut (c->rx->data + at, c->rx->len - at, ANSWER_FRAME_MAX, &payload, &length, &used, &local);

      if (cut == 0)
        break;
      if (cut < 0 || !dsm_wire_decode_version (payload, length, FALSE, c->version, &m, &local))
        {
          g_autofree char *why = g_strdup_printf ("%s sent a bad frame: %s", c->address, local->message);
          if (cut > 0)
            dsm_wire_msg_clear (&m);
          client_drop (client, why, client->retry_delay_ms);
          break;
        }
      at += used;
      if (m.type == DSM_WIRE_WELCOME)
        client_on_welcome (client, c, &m);
      else if (m.type == DSM_WIRE_ERROR)
        client_on_error (client, c, &m);
      else
        client_on_result (client, &m);
      dsm_wire_msg_clear (&m);
    }
  if (c->client != NULL)
    {
      g_byte_array_remove_range (c->rx, 0, (guint) at);
      conn_read (c);
    }
  client_kick (client);

done:
  conn_unref (c);
}

static void
conn_read (Conn *c)
{
  g_atomic_int_inc (&c->refs);
  g_main_context_push_thread_default (c->context);
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (c->socket)), c->buf, READ_BYTES,
                             G_PRIORITY_DEFAULT, c->cancel, conn_on_read, c);
  g_main_context_pop_thread_default (c->context);
}

static void
conn_on_connected (GObject *source, GAsyncResult *res, gpointer data)
{
  Conn *c = data;
  g_autoptr(GError) error = NULL;
  GSocketConnection *socket = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), res, &error);
  DsmClient *client = c->client;

  if (client == NULL)
    {
      g_clear_object (&socket);
      conn_unref (c);
      return;
    }
  if (socket == NULL)
    {
      g_autofree char *why = g_strdup_printf ("connecting to %s: %s", c->address, error->message);
      Request *r;
      client_drop (client, why, client->retry_delay_ms);
      /* A certificate this client does not trust stays untrusted however
       * often it is retried: once every node has shown one in a row, the
       * waiting requests fail now instead of at their last attempt. */
      if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE)
          && ++client->cert_refusals >= client->n_nodes)
        {
          g_assert (client->n_nodes > 0);
          while ((r = g_queue_pop_head (&client->waiting)) != NULL)
            request_fail (client, r, DSM_CLIENT_ERROR_FAILED, why);
          client->cert_refusals = 0;
          conn_unref (c);
          return;
        }
      /* Nothing was sent: the waiting requests count this as a try. */
      for (GList *l = client->waiting.head; l != NULL; l = l->next)
        {
          r = l->data;
          g_free (r->last_error);
          r->last_error = g_strdup (why);
          r->tries++;
        }
      while ((r = g_queue_peek_head (&client->waiting)) != NULL && r->tries >= client->attempts)
        request_fail (client, g_queue_pop_head (&client->waiting), DSM_CLIENT_ERROR_FAILED, why);
      client_kick (client);
      conn_unref (c);
      return;
    }
  client->cert_refusals = 0;
  c->socket = socket;
  g_socket_set_option (g_socket_connection_get_socket (socket), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  {
    DsmWireMsg hello = { .type = DSM_WIRE_HELLO, .id = c->hello_id, .version = (guint16) c->version,
                         .token = client->token };
    dsm_wire_encode_version (&hello, c->version, c->tx);
  }
  conn_flush (c);
  conn_read (c);
  conn_unref (c);
}

/* The TLS connection exists, its handshake not begun: whom to trust and
 * what name the certificate must carry (docs/CLIENT.md, "TLS"). */
static void
conn_on_event (GSocketClient *sc, GSocketClientEvent event, GSocketConnectable *connectable, GIOStream *stream,
               gpointer data)
{
  Conn *c = data;

  if (event != G_SOCKET_CLIENT_TLS_HANDSHAKING || !G_IS_TLS_CLIENT_CONNECTION (stream))
    return;
  if (c->tls_database != NULL)
    g_tls_connection_set_database (G_TLS_CONNECTION (stream), c->tls_database);
  if (c->tls_server_name != NULL)
    {
      g_autoptr(GSocketConnectable) identity = g_network_address_new (c->tls_server_name, 0);
      g_tls_client_connection_set_server_identity (G_TLS_CLIENT_CONNECTION (stream), identity);
    }
}

static void
conn_unref_notify (gpointer data, GClosure *closure)
{
  conn_unref (data);
}

void
client_connect (DsmClient *client)
{
  g_autoptr(GSocketClient) sc = g_socket_client_new ();
  Conn *c = g_new0 (Conn, 1);

  c->refs = 2;                  /* the client's, and the connect callback's */
  c->client = client;
  c->cancel = g_cancellable_new ();
  c->buf = g_malloc (READ_BYTES);
  c->rx = g_byte_array_new ();
  c->tx = g_byte_array_new ();
  c->hello_id = client->next_id++;
  c->version = client->version;
  if (client->redirect != NULL)
    c->address = g_steal_pointer (&client->redirect);
  else
    c->address = g_strdup (client->nodes[client->next_node++ % client->n_nodes]);
  client->conn = c;
  c->context = g_main_context_ref (client->context);
  g_socket_client_set_timeout (sc, (client->request_timeout_ms + 999) / 1000);
  if (client->tls)
    {
      c->tls_database = client->tls_database != NULL ? g_object_ref (client->tls_database) : NULL;
      c->tls_server_name = g_strdup (client->tls_server_name);
      g_socket_client_set_tls (sc, TRUE);
      g_atomic_int_inc (&c->refs);
      g_signal_connect_data (sc, "event", G_CALLBACK (conn_on_event), c, conn_unref_notify, 0);
    }
  g_main_context_push_thread_default (c->context);
  g_socket_client_connect_to_host_async (sc, c->address, 0, c->cancel, conn_on_connected, c);
  g_main_context_pop_thread_default (c->context);
}
