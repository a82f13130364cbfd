/* net/transport.c: peers, dialing with backoff, the one-connection-per-
 * pair rule and the send path of the peer transport (transport.h).
 *
 * A peer's states (transport_peer_set_state):
 *
 *   CONNECTING --a connection established (ours or theirs)--> CONNECTED
 *   CONNECTING --dial failed, nothing established--> DISCONNECTED
 *   CONNECTED --its connection lost--> DISCONNECTED (or CONNECTING if our dial runs)
 *   DISCONNECTED --backoff timer: peer_dial()--> CONNECTING
 *   DISCONNECTED --the peer dials us and the handshake succeeds--> CONNECTED
 *
 * Both ends dial whenever they have no connection, so two connections
 * can cross.  The tie-break (peer_conn_wins) keeps the one the lower id
 * dialed, on both ends alike; two connections dialed by the same end
 * mean the older one is dead to that end, so the newer wins. */
#include "transport-private.h"

#include <string.h>

#include "address.h"
#include "fingerprint.h"
#include "frame.h"

G_DEFINE_TYPE (DsmTransport, dsm_transport, G_TYPE_OBJECT)

guint transport_signals[N_SIGNALS];

static void peer_dial (DsmTransport *t, Peer *peer);
static void peer_forget (DsmTransport *t, Peer *peer);

void
dsm_transport_options_init (DsmTransportOptions *options)
{
  /* A TLS handshake takes milliseconds, and up to seconds on an
   * overloaded host or under sanitizers; a silent stranger holds a
   * pending slot this long at most, and eviction bounds how many it holds
   * (transport-inbound.c). */
  options->handshake_timeout_ms = 5000;
  options->frame_timeout_ms = 5000;
  options->max_pending_inbound = 64;
  options->max_pending_inbound_per_source = 16;
  options->linger_ms = 10000;
  options->max_visitors = DSM_MAX_NODES;
  options->auth = NULL;
}

const char *
dsm_peer_state_to_string (DsmPeerState state)
{
  switch (state)
    {
    case DSM_PEER_DISCONNECTED:
      return "disconnected";
    case DSM_PEER_CONNECTING:
      return "connecting";
    case DSM_PEER_CONNECTED:
      return "connected";
    default:
      return "?";
    }
}

Peer *
transport_find_peer (DsmTransport *t, DsmNodeId id)
{
  for (guint i = 0; i < t->peers->len; i++)
    {
      Peer *peer = t->peers->pdata[i];
      if (peer->id == id)
        return peer;
    }
  return NULL;
}

static void
source_clear (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_source_unref (*source);
      *source = NULL;
    }
}

/* ---- peers come and go ---- */

static Peer *
peer_ref (Peer *peer)
{
  g_assert (peer->ref_count > 0);
  peer->ref_count++;
  return peer;
}

static void
peer_unref (gpointer data)
{
  Peer *peer = data;

  g_assert (peer->ref_count > 0);
  if (--peer->ref_count > 0)
    return;
  g_assert (peer->active == NULL);
  g_assert (peer->dialing == NULL);
  g_assert (peer->dial_cancel == NULL);
  g_assert (g_queue_is_empty (&peer->pending));
  g_assert (peer->dial_timer == NULL && peer->redial_timer == NULL && peer->linger_timer == NULL);
  g_free (peer->address);
  g_free (peer->last_error);
  g_free (peer);
}

static gint
peer_compare (gconstpointer a, gconstpointer b)
{
  const Peer *x = *(Peer *const *) a, *y = *(Peer *const *) b;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* A new peer in the table (sorted by id, for metrics and logs). */
static Peer *
transport_add_peer (DsmTransport *t, DsmNodeId id, const char *address, gboolean member)
{
  Peer *peer = g_new0 (Peer, 1);

  g_assert (id != t->self);
  g_assert (id != DSM_NODE_NONE);
  g_assert (transport_find_peer (t, id) == NULL);
  peer->ref_count = 1;
  peer->id = id;
  peer->address = g_strdup (address);
  peer->member = member;
  peer->backoff_ms = t->config->reconnect_ms_min;
  peer->state = DSM_PEER_DISCONNECTED;
  peer->since_us = g_get_monotonic_time ();
  g_queue_init (&peer->pending);
  g_ptr_array_add (t->peers, peer);
  g_ptr_array_sort (t->peers, peer_compare);
  return peer;
}

/* ---- unsent messages ---- */

void
transport_unsent (DsmTransport *t, Peer *peer, DsmMessage *msg, DropReason reason)
{
  peer->m.dropped[reason]++;
  g_signal_emit (t, transport_signals[SIGNAL_UNSENT], 0, msg);
}

static void
peer_drop_pending (DsmTransport *t, Peer *peer, DropReason reason)
{
  Pending *p;

  while ((p = g_queue_pop_head (&peer->pending)) != NULL)
    {
      transport_unsent (t, peer, p->msg, reason);
      dsm_message_unref (p->msg);
      g_bytes_unref (p->payload);
      g_free (p);
    }
  peer->pending_bytes = 0;
}

/* ---- peer state ---- */

void
transport_peer_set_state (DsmTransport *t, Peer *peer, DsmPeerState state, const char *why)
{
  if (peer->state == state)
    return;
  DsmPeerState was = peer->state;
  peer->state = state;
  peer->since_us = g_get_monotonic_time ();
  if (why != NULL)
    {
      g_free (peer->last_error);
      peer->last_error = g_strdup (why);
    }
  if (state == DSM_PEER_CONNECTED || was == DSM_PEER_CONNECTED)
    g_signal_emit (t, transport_signals[SIGNAL_PEER_CHANGED], 0, (guint) peer->id,
                   state == DSM_PEER_CONNECTED);
}

/* Exponential backoff with jitter: the delay is drawn from [d/2, d] and d
 * doubles up to reconnect_ms_max, so nodes that lost each other at the
 * same moment do not redial in lockstep. */
static guint
peer_next_backoff (DsmTransport *t, Peer *peer)
{
  guint ceiling = peer->backoff_ms;
  guint delay = ceiling / 2 + (guint) g_rand_int_range (t->rng, 0, (gint32) (ceiling - ceiling / 2 + 1));

  peer->backoff_ms = (guint) MIN ((guint64) ceiling * 2, (guint64) t->config->reconnect_ms_max);
  return MAX (delay, 1u);
}

static gboolean
peer_on_redial (gpointer data)
{
  DsmTransport *t = ((gpointer *) data)[0];
  Peer *peer = ((gpointer *) data)[1];

  source_clear (&peer->redial_timer);
  peer_dial (t, peer);
  return G_SOURCE_REMOVE;
}

static void
peer_schedule_dial (DsmTransport *t, Peer *peer)
{
  if (t->stopped || !t->started || !peer->member || peer->address == NULL || peer->active != NULL
      || peer->dialing != NULL || peer->dial_cancel != NULL || peer->redial_timer != NULL)
    return;
  gpointer *data = g_new (gpointer, 2);
  data[0] = t;
  data[1] = peer;
  peer->redial_timer = g_timeout_source_new (peer_next_backoff (t, peer));
  g_source_set_callback (peer->redial_timer, peer_on_redial, data, g_free);
  g_source_attach (peer->redial_timer, g_main_context_get_thread_default ());
}

/* ---- dialing ---- */

typedef struct {
  DsmTransport *transport;   /* referenced */
  Peer *peer;                /* referenced */
  guint64 attempt;           /* the peer's dial_attempts when it started */
} Dial;

static void
peer_dial_failed (DsmTransport *t, Peer *peer, const GError *error)
{
  peer->m.dial_failures++;
  dsm_net_log (G_LOG_LEVEL_INFO, t->self, peer->id, "dial_failed", "dialing node %u at %s failed: %s",
               peer->id, peer->address, error->message);
  if (peer->active == NULL)
    {
      peer_drop_pending (t, peer, DROP_NO_CONNECTION);
      transport_peer_set_state (t, peer, DSM_PEER_DISCONNECTED, error->message);
    }
  peer_schedule_dial (t, peer);
}

static void
peer_on_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  Dial *dial = data;
  DsmTransport *t = dial->transport;
  Peer *peer = dial->peer;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection =
    g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, &error);

  /* A dial abandoned (the peer left the membership, the transport
   * stopped) finds nothing to do: its connection, if any, just closes. */
  if (!t->stopped && !peer->forgotten && dial->attempt == peer->dial_attempts)
    {
      g_clear_object (&peer->dial_cancel);
      source_clear (&peer->dial_timer);
      if (connection == NULL)
        peer_dial_failed (t, peer, error);
      else
        {
          peer->dialing = conn_new (t, connection, TRUE, peer->id);
          conn_start (peer->dialing);
        }
    }
  peer_unref (dial->peer);
  g_object_unref (dial->transport);
  g_free (dial);
}

static gboolean
peer_on_dial_timeout (gpointer data)
{
  Peer *peer = data;

  g_cancellable_cancel (peer->dial_cancel);
  source_clear (&peer->dial_timer);
  return G_SOURCE_REMOVE;
}

static void
peer_dial (DsmTransport *t, Peer *peer)
{
  if (t->stopped || !peer->member || peer->address == NULL || peer->active != NULL || peer->dialing != NULL
      || peer->dial_cancel != NULL)
    return;
  peer->m.dials++;
  peer->dial_attempts++;
  if (peer->dialed_once)
    peer->m.reconnects++;
  peer->dialed_once = TRUE;
  transport_peer_set_state (t, peer, DSM_PEER_CONNECTING, NULL);

  Dial *dial = g_new (Dial, 1);
  dial->transport = g_object_ref (t);
  dial->peer = peer_ref (peer);
  dial->attempt = peer->dial_attempts;
  peer->dial_cancel = g_cancellable_new ();
  peer->dial_timer = g_timeout_source_new (t->options.handshake_timeout_ms);
  g_source_set_callback (peer->dial_timer, peer_on_dial_timeout, peer, NULL);
  g_source_attach (peer->dial_timer, g_main_context_get_thread_default ());
  g_socket_client_connect_to_host_async (t->client, peer->address, 0, peer->dial_cancel,
                                         peer_on_connected, dial);
}

/* ---- connections established and gone ---- */

/* Does @fresh beat @old for the same peer?  Both ends compute the same. */
static gboolean
peer_conn_wins (DsmTransport *t, const Conn *fresh, const Conn *old)
{
  DsmNodeId fresh_dialer = fresh->outbound ? t->self : fresh->peer_id;
  DsmNodeId old_dialer = old->outbound ? t->self : old->peer_id;

  if (fresh_dialer == old_dialer)
    return TRUE;
  return fresh_dialer == MIN (t->self, fresh->peer_id);
}

static void
peer_flush_pending (DsmTransport *t, Peer *peer)
{
  Pending *p;

  while ((p = g_queue_pop_head (&peer->pending)) != NULL)
    {
      conn_send_message (peer->active, p->payload, p->msg);  /* the link owns msg now */
      g_bytes_unref (p->payload);
      g_free (p);
    }
  peer->pending_bytes = 0;
}

void
transport_peer_attach (DsmTransport *t, Peer *peer, Conn *conn)
{
  g_assert (peer != NULL);
  g_assert (conn->state == CONN_ESTABLISHED);

  if (conn->outbound)
    {
      g_assert (peer->dialing == conn);
      peer->dialing = NULL;
    }
  else
    g_ptr_array_remove_fast (t->inbound, conn);

  if (peer->active != NULL)
    {
      Conn *loser = peer_conn_wins (t, conn, peer->active) ? peer->active : conn;
      t->m.duplicates++;
      dsm_net_log (G_LOG_LEVEL_INFO, t->self, peer->id, "duplicate_connection",
                   "two connections with node %u: keeping the one node %u dialed",
                   peer->id, loser == conn ? (peer->active->outbound ? t->self : peer->id)
                                           : (conn->outbound ? t->self : peer->id));
      if (loser == conn)
        {
          conn_free (conn);
          return;
        }
      peer->active = NULL;
      conn_free (loser);
    }

  peer->active = conn;
  peer->backoff_ms = t->config->reconnect_ms_min;
  if (conn->outbound)
    peer->m.connections_out++;
  else
    peer->m.connections_in++;
  source_clear (&peer->redial_timer);
  dsm_net_log (G_LOG_LEVEL_MESSAGE, t->self, peer->id, "peer_connected",
               "connected to node %u (%s, %s, %s)", peer->id, conn->outbound ? "dialed" : "accepted",
               conn->remote, dsm_peer_auth_describe (t->auth));
  peer_flush_pending (t, peer);
  transport_peer_set_state (t, peer, DSM_PEER_CONNECTED, NULL);
}

static gboolean
error_is_hostile (const GError *error)
{
  if (error->domain != DSM_NET_ERROR)
    return FALSE;
  switch (error->code)
    {
    case DSM_NET_ERROR_CLOSED:
    case DSM_NET_ERROR_IO:
    case DSM_NET_ERROR_SHUTDOWN:
    case DSM_NET_ERROR_DUPLICATE:
      return FALSE;
    default:
      return TRUE;
    }
}

/* @conn failed or was refused (@error says why); forget and free it. */
void
transport_conn_gone (DsmTransport *t, Conn *conn, const GError *error)
{
  Peer *peer = transport_find_peer (t, conn->peer_id);
  gboolean hostile = error_is_hostile (error);
  guint code = error->domain == DSM_NET_ERROR ? (guint) error->code : DSM_NET_ERROR_IO;
  const char *who = conn->remote;

  if (conn->state != CONN_ESTABLISHED)
    {
      GLogLevelFlags level = hostile ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_INFO;
      if (!conn->outbound)
        g_ptr_array_remove (t->inbound, conn);
      if (hostile || code == DSM_NET_ERROR_CLOSED)
        t->m.handshake_failures[code]++;
      /* Whoever dials us decides how often an inbound failure happens:
       * those records are rate-limited per source.  Our own dials are
       * paced by the backoff. */
      if (conn->outbound)
        dsm_net_log (level, t->self, conn->peer_id, "handshake_failed", "outbound handshake with %s failed: %s",
                     who, error->message);
      else
        transport_log_inbound (t, conn, level, "handshake_failed", "inbound handshake with %s%s failed: %s",
                               who, conn->peer_id != DSM_NODE_NONE ? "" : " (node unknown)", error->message);
      if (conn->outbound && peer != NULL && peer->dialing == conn)
        {
          peer->dialing = NULL;
          conn_free (conn);
          peer_dial_failed (t, peer, error);
          return;
        }
      conn_free (conn);
      return;
    }

  g_assert (peer != NULL);
  if (hostile)
    t->m.protocol_errors[code]++;
  if (peer->active != conn)
    {
      conn_free (conn);  /* a tie-break loser already replaced */
      return;
    }
  peer->active = NULL;
  peer->m.disconnects++;
  dsm_net_log (hostile ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_MESSAGE, t->self, peer->id,
               hostile ? "protocol_error" : "peer_disconnected",
               "connection with node %u (%s) closed: %s", peer->id, who, error->message);
  conn_free (conn);
  transport_peer_set_state (t, peer, peer->dialing != NULL ? DSM_PEER_CONNECTING : DSM_PEER_DISCONNECTED,
                            error->message);
  /* A node that is no member was a peer only for that connection. */
  if (!peer->member)
    peer_forget (t, peer);
  else
    peer_schedule_dial (t, peer);
}

/* ---- membership ---- */

gboolean
transport_admit (DsmTransport *t, DsmNodeId id, GError **error)
{
  guint visitors = 0;

  if (transport_find_peer (t, id) != NULL)
    return TRUE;
  for (guint i = 0; i < t->peers->len; i++)
    if (!((Peer *) t->peers->pdata[i])->member)
      visitors++;
  if (visitors < t->options.max_visitors)
    return TRUE;
  g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_UNKNOWN_NODE,
               "node %u is no member and %u nodes that are none are connected already", id, visitors);
  return FALSE;
}

Peer *
transport_peer_for_inbound (DsmTransport *t, DsmNodeId id)
{
  Peer *peer = transport_find_peer (t, id);

  if (peer != NULL)
    return peer;
  /* Authenticated, and no member of ours: a node joining that our log
   * does not list yet, or a removed one still trying, which the core
   * answers (PROTOCOL.md, "Removing a node").  Never dialed. */
  dsm_net_log (G_LOG_LEVEL_INFO, t->self, id, "peer_visitor",
               "node %u connected; it is no member of the membership this node uses", id);
  return transport_add_peer (t, id, NULL, FALSE);
}

/* Ends everything of @peer's: its dial, timers, queue (reported unsent
 * for @drop) and connections. */
static void
peer_close (DsmTransport *t, Peer *peer, DropReason drop, const char *why)
{
  if (peer->dial_cancel != NULL)
    g_cancellable_cancel (peer->dial_cancel);
  g_clear_object (&peer->dial_cancel);
  source_clear (&peer->dial_timer);
  source_clear (&peer->redial_timer);
  source_clear (&peer->linger_timer);
  peer_drop_pending (t, peer, drop);
  if (peer->dialing != NULL)
    conn_free (g_steal_pointer (&peer->dialing));
  if (peer->active != NULL)
    conn_free (g_steal_pointer (&peer->active));
  transport_peer_set_state (t, peer, DSM_PEER_DISCONNECTED, why);
}

/* Drops @peer from the table: its dial, queue and connections end. */
static void
peer_forget (DsmTransport *t, Peer *peer)
{
  g_assert (!peer->member);
  g_assert (!peer->forgotten);
  peer_close (t, peer, DROP_NO_CONNECTION, "no longer a member");
  peer->forgotten = TRUE;
  g_assert (g_ptr_array_remove (t->peers, peer));
}

static gboolean
peer_on_linger_end (gpointer data)
{
  gpointer *pair = data;
  DsmTransport *t = pair[0];
  Peer *peer = pair[1];

  g_assert (!peer->member);
  dsm_net_log (G_LOG_LEVEL_MESSAGE, t->self, peer->id, "peer_forgotten",
               "closing the connection of node %u, a member no more", peer->id);
  peer_forget (t, peer);
  return G_SOURCE_REMOVE;
}

/* @peer left the membership: no more dials; its connection stays open a
 * while for what the node still owes it, then closes. */
static void
peer_leave (DsmTransport *t, Peer *peer)
{
  g_assert (peer->member);
  peer->member = FALSE;
  if (peer->dial_cancel != NULL)
    g_cancellable_cancel (peer->dial_cancel);
  g_clear_object (&peer->dial_cancel);
  source_clear (&peer->dial_timer);
  source_clear (&peer->redial_timer);
  if (peer->dialing != NULL)
    conn_free (g_steal_pointer (&peer->dialing));
  if (peer->active == NULL)
    {
      dsm_net_log (G_LOG_LEVEL_MESSAGE, t->self, peer->id, "peer_left", "node %u left the membership", peer->id);
      peer_forget (t, peer);
      return;
    }
  dsm_net_log (G_LOG_LEVEL_MESSAGE, t->self, peer->id, "peer_left",
               "node %u left the membership: its connection closes in %u ms", peer->id, t->options.linger_ms);
  gpointer *pair = g_new (gpointer, 2);
  pair[0] = t;
  pair[1] = peer;
  peer->linger_timer = g_timeout_source_new (t->options.linger_ms);
  g_source_set_callback (peer->linger_timer, peer_on_linger_end, pair, g_free);
  g_source_attach (peer->linger_timer, g_main_context_get_thread_default ());
}

/* @peer is (again) a member at @address. */
static void
peer_join (DsmTransport *t, Peer *peer, const char *address)
{
  gboolean was_member = peer->member;

  peer->member = TRUE;
  source_clear (&peer->linger_timer);
  if (peer->address == NULL && address != NULL)
    peer->address = g_strdup (address);
  if (!was_member)
    dsm_net_log (G_LOG_LEVEL_MESSAGE, t->self, peer->id, "peer_joined", "node %u is a member at %s",
                 peer->id, peer->address != NULL ? peer->address : "(no address)");
  if (t->started && peer->active == NULL)
    peer_dial (t, peer);
}

static const DsmMember *
set_members_find (const DsmMembership *const *sets, guint n_sets, DsmNodeId id)
{
  for (guint s = 0; s < n_sets; s++)
    {
      const DsmMember *m = sets[s] != NULL ? dsm_membership_find (sets[s], id) : NULL;
      if (m != NULL)
        return m;
    }
  return NULL;
}

void
dsm_transport_set_members (DsmTransport *t, const DsmMembership *in_use, const DsmMembership *committed)
{
  const DsmMembership *sets[] = { in_use, committed };

  g_return_if_fail (in_use != NULL);
  if (t->stopped)
    return;
  for (guint s = 0; s < G_N_ELEMENTS (sets); s++)
    for (guint i = 0; sets[s] != NULL && i < dsm_membership_get_n_members (sets[s]); i++)
      {
        const DsmMember *m = dsm_membership_get_member (sets[s], i);
        const DsmMember *first = set_members_find (sets, G_N_ELEMENTS (sets), m->id);
        Peer *peer = m->id != t->self ? transport_find_peer (t, m->id) : NULL;
        if (m->id == t->self)
          continue;
        if (peer == NULL)
          peer = transport_add_peer (t, m->id, NULL, FALSE);
        /* The membership in use names the address when both do. */
        if (!peer->member || peer->address == NULL)
          peer_join (t, peer, first->peer_address);
      }
  /* Members of neither leave (copy: leaving may drop them from the table). */
  g_autoptr(GPtrArray) leaving = g_ptr_array_new ();
  for (guint i = 0; i < t->peers->len; i++)
    {
      Peer *peer = t->peers->pdata[i];
      if (peer->member && set_members_find (sets, G_N_ELEMENTS (sets), peer->id) == NULL)
        g_ptr_array_add (leaving, peer);
    }
  for (guint i = 0; i < leaving->len; i++)
    peer_leave (t, leaving->pdata[i]);
}

/* ---- public API ---- */

DsmTransport *
dsm_transport_new (DsmConfig *config, DsmNodeId self, const DsmTransportOptions *options,
                   GError **error)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (self != DSM_NODE_NONE, NULL);

  DsmPeerAuth *auth = options != NULL && options->auth != NULL ? dsm_peer_auth_ref (options->auth)
                                                                : dsm_peer_auth_new (config, self, NULL, error);
  if (auth == NULL)
    return NULL;
  DsmTransport *t = g_object_new (DSM_TYPE_TRANSPORT, NULL);
  t->config = dsm_config_ref (config);
  t->fingerprint = dsm_fingerprint_compute (config);
  t->plugins = dsm_config_describe_plugins (config);
  if (strcmp (t->plugins, "none") == 0)
    g_clear_pointer (&t->plugins, g_free);
  t->self = self;
  t->auth = auth;
  if (options != NULL)
    t->options = *options;
  else
    dsm_transport_options_init (&t->options);
  t->options.auth = NULL;  /* t->auth holds it */
  g_return_val_if_fail (t->options.max_pending_inbound >= 1, t);
  g_return_val_if_fail (t->options.max_pending_inbound_per_source >= 1, t);
  /* The bootstrap membership until the host says otherwise
   * (dsm_transport_set_members). */
  for (guint i = 0; i < config->n_nodes; i++)
    if (config->nodes[i].id != self)
      transport_add_peer (t, config->nodes[i].id, config->nodes[i].peer_address, TRUE);
  return t;
}

gboolean
dsm_transport_listen (DsmTransport *t, const char *address, guint16 *port_out, GError **error)
{
  g_autoptr(GSocketAddress) addr = dsm_net_resolve (address, "peer address", error);
  g_autoptr(GSocketAddress) effective = NULL;

  if (addr == NULL)
    return FALSE;
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (t->service), addr, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, &effective, error))
    {
      g_prefix_error (error, "listening for peers on %s: ", address);
      return FALSE;
    }
  if (port_out != NULL)
    *port_out = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_socket_service_start (t->service);
  return TRUE;
}

void
dsm_transport_set_peer_address (DsmTransport *t, DsmNodeId id, const char *address)
{
  Peer *peer = transport_find_peer (t, id);

  g_return_if_fail (peer != NULL);
  g_free (peer->address);
  peer->address = g_strdup (address);
}

void
dsm_transport_start (DsmTransport *t)
{
  g_return_if_fail (!t->started);
  t->started = TRUE;
  if (t->peers->len > 0 && dsm_peer_auth_is_insecure (t->auth))
    dsm_net_log (G_LOG_LEVEL_WARNING, t->self, DSM_NODE_NONE, "insecure",
                 "peer links are not authenticated (\"insecure\": true): any process that can reach "
                 "a peer port on this host can pose as a node and rewrite the cluster's state");
  for (guint i = 0; i < t->peers->len; i++)
    peer_dial (t, t->peers->pdata[i]);
}

void
dsm_transport_stop (DsmTransport *t)
{
  if (t->stopped)
    return;
  t->stopped = TRUE;
  g_socket_service_stop (t->service);
  g_socket_listener_close (G_SOCKET_LISTENER (t->service));
  for (guint i = 0; i < t->peers->len; i++)
    peer_close (t, t->peers->pdata[i], DROP_STOPPED, "stopped");
  while (t->inbound->len > 0)
    conn_free (g_ptr_array_steal_index_fast (t->inbound, t->inbound->len - 1));
}

void
dsm_transport_set_message_func (DsmTransport *t, DsmTransportMessageFunc func, gpointer user_data)
{
  t->message_func = func;
  t->message_data = user_data;
}

void
dsm_transport_send (DsmTransport *t, const DsmMessage *msg)
{
  Peer *peer = transport_find_peer (t, msg->to);

  if (peer == NULL)
    {
      /* A node the membership no longer (or not yet) lists and that is
       * not connected: the core's retries or the next membership deal
       * with it. */
      t->unknown_sends++;
      g_signal_emit (t, transport_signals[SIGNAL_UNSENT], 0, msg);
      return;
    }
  if (t->stopped)
    {
      transport_unsent (t, peer, (DsmMessage *) msg, DROP_STOPPED);
      return;
    }
  if (peer->active == NULL && peer->dialing == NULL && peer->dial_cancel == NULL)
    {
      transport_unsent (t, peer, (DsmMessage *) msg, DROP_NO_CONNECTION);
      return;
    }

  char *text = dsm_codec_encode_message (msg);
  g_autoptr(GBytes) payload = g_bytes_new_take (text, strlen (text));
  gsize length = g_bytes_get_size (payload);
  if (length > t->config->max_frame_bytes)
    {
      dsm_net_log (G_LOG_LEVEL_WARNING, t->self, peer->id, "frame_too_large",
                   "a %s of %" G_GSIZE_FORMAT " bytes exceeds max_frame_bytes; not sent",
                   dsm_message_type_to_string (msg->type), length);
      transport_unsent (t, peer, (DsmMessage *) msg, DROP_TOO_LARGE);
      return;
    }
  /* A sealed frame's header, the larger: the bound holds whichever the
   * connection uses. */
  gsize size = length + DSM_FRAME_SEALED_HEADER_BYTES;
  /* The bound: a slow or stopped peer costs at most max_write_queue_bytes;
   * past it we shed, and the core's retries resend what matters. */
  gsize queued = peer->active != NULL ? dsm_link_get_queued_bytes (peer->active->link) : peer->pending_bytes;
  if (queued + size > t->config->max_write_queue_bytes)
    {
      transport_unsent (t, peer, (DsmMessage *) msg, DROP_QUEUE_FULL);
      return;
    }
  if (peer->active != NULL)
    {
      conn_send_message (peer->active, payload, dsm_message_ref ((DsmMessage *) msg));
      return;
    }
  Pending *p = g_new (Pending, 1);
  p->payload = g_steal_pointer (&payload);
  p->msg = dsm_message_ref ((DsmMessage *) msg);
  peer->pending_bytes += size;
  g_queue_push_tail (&peer->pending, p);
}

/* ---- GObject ---- */

static void
dsm_transport_dispose (GObject *object)
{
  DsmTransport *t = DSM_TRANSPORT (object);

  if (t->service != NULL)
    dsm_transport_stop (t);
  g_clear_object (&t->service);
  g_clear_object (&t->client);
  G_OBJECT_CLASS (dsm_transport_parent_class)->dispose (object);
}

static void
dsm_transport_finalize (GObject *object)
{
  DsmTransport *t = DSM_TRANSPORT (object);

  g_ptr_array_unref (t->peers);
  g_ptr_array_unref (t->inbound);
  g_rand_free (t->rng);
  g_free (t->fingerprint);
  g_free (t->plugins);
  dsm_log_limiter_free (t->log_limiter);
  dsm_peer_auth_unref (t->auth);
  if (t->config != NULL)
    dsm_config_unref (t->config);
  G_OBJECT_CLASS (dsm_transport_parent_class)->finalize (object);
}

static void
dsm_transport_class_init (DsmTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = dsm_transport_dispose;
  object_class->finalize = dsm_transport_finalize;

  transport_signals[SIGNAL_MESSAGE] =
    g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_POINTER);
  transport_signals[SIGNAL_UNSENT] =
    g_signal_new ("unsent", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_POINTER);
  transport_signals[SIGNAL_INVALID] =
    g_signal_new ("invalid", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT);
  transport_signals[SIGNAL_PEER_CHANGED] =
    g_signal_new ("peer-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_BOOLEAN);
}

static void
dsm_transport_init (DsmTransport *t)
{
  t->service = g_socket_service_new ();
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (t->service), DSM_NET_LISTEN_BACKLOG);
  g_signal_connect (t->service, "incoming", G_CALLBACK (transport_on_incoming), t);
  t->client = g_socket_client_new ();
  /* Peers are dialed directly, whatever http_proxy says. */
  g_socket_client_set_enable_proxy (t->client, FALSE);
  t->inbound = g_ptr_array_new ();
  t->peers = g_ptr_array_new_with_free_func (peer_unref);
  /* One record per source address per 10 s; 1,024 addresses tracked. */
  t->log_limiter = dsm_log_limiter_new (10 * 1000, 1024);
  /* Jitter only: seeded from the OS, nothing to replay here. */
  t->rng = g_rand_new ();
}
