/* tests/net/test-transport-members.c: peer transports whose peers follow
 * the membership (dsm_transport_set_members), live on 127.0.0.1:0 in one
 * process: a new member is dialed, a node no member may still connect
 * (and is forgotten with its connection), a member that leaves keeps its
 * connection for the linger time only, and the visitors are bounded. */
#include <string.h>

#include "codec.h"
#include "peer-pair.h"
#include "transport.h"

#define BUDGET_MS 10000
#define NODES 4

typedef struct {
  DsmConfig *config;            /* bootstrap: nodes 1 and 2 */
  DsmTransport *t[NODES + 1];   /* index = node id; 3 and 4 join later */
  guint16 port[NODES + 1];
  GPtrArray *received[NODES + 1];
  guint unsent[NODES + 1];
} Fixture;

typedef gboolean (*Cond) (Fixture *f, gconstpointer data);

static gboolean
wait_for (Fixture *f, Cond cond, gconstpointer data)
{
  gint64 deadline = g_get_monotonic_time () + BUDGET_MS * 1000;

  while (!cond (f, data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_main_context_iteration (NULL, TRUE);
    }
  return TRUE;
}

static gboolean
wakeup (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static char *
address_of (Fixture *f, DsmNodeId id)
{
  return g_strdup_printf ("127.0.0.1:%u", f->port[id]);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  DsmTransportOptions options;

  dsm_transport_options_init (&options);
  options.handshake_timeout_ms = 2000;
  options.linger_ms = 200;
  options.max_visitors = 1;
  f->config = dsm_config_new_default (2);
  f->config->reconnect_ms_min = 10;
  f->config->reconnect_ms_max = 100;
  g_clear_pointer (&f->config->secret, g_free);
  f->config->secret = g_strdup ("transport-members-secret");
  for (DsmNodeId id = 1; id <= NODES; id++)
    {
      g_autoptr(GError) error = NULL;
      /* Nodes 3 and 4 are no nodes of the bootstrap: they joined later. */
      f->t[id] = dsm_transport_new (f->config, id, &options, &error);
      g_assert_no_error (error);
      g_assert_true (dsm_transport_listen (f->t[id], "127.0.0.1:0", &f->port[id], &error));
      g_assert_no_error (error);
      f->received[id] = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_message_unref);
      g_signal_connect (f->t[id], "message", G_CALLBACK (peer_pair_on_message), f->received[id]);
      g_signal_connect (f->t[id], "unsent", G_CALLBACK (peer_pair_on_unsent), &f->unsent[id]);
    }
  for (DsmNodeId id = 1; id <= NODES; id++)
    for (DsmNodeId peer = 1; peer <= 2; peer++)
      if (peer != id)
        {
          g_autofree char *addr = address_of (f, peer);
          dsm_transport_set_peer_address (f->t[id], peer, addr);
        }
  g_timeout_add (5, wakeup, NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_source_remove_by_user_data (NULL);
  for (DsmNodeId id = 1; id <= NODES; id++)
    {
      if (f->t[id] != NULL)
        {
          dsm_transport_stop (f->t[id]);
          g_object_unref (f->t[id]);
        }
      g_ptr_array_unref (f->received[id]);
    }
  for (guint i = 0; i < 50 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  dsm_config_unref (f->config);
}

/* A membership of voters @ids (0-terminated) at the fixture's ports. */
static DsmMembership *
membership_of (Fixture *f, const DsmNodeId *ids)
{
  DsmMember members[NODES] = { { 0 } };
  char *addresses[NODES] = { NULL };
  g_autoptr(GError) error = NULL;
  guint n = 0;

  for (; ids[n] != 0; n++)
    {
      addresses[n] = address_of (f, ids[n]);
      members[n] = (DsmMember) { .id = ids[n], .role = DSM_MEMBER_VOTER, .peer_address = addresses[n],
                                 .client_address = NULL };
    }
  DsmMembership *m = dsm_membership_new (members, n, NODES + 1, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    g_free (addresses[i]);
  return m;
}

static DsmMessage *
commit_message (DsmNodeId from, DsmNodeId to, guint64 tag)
{
  DsmMessage *msg = dsm_message_new (DSM_MSG_COMMIT, from, to, 3);

  msg->commit_index = tag;
  msg->hb_seq = 1;
  return msg;
}

typedef struct {
  DsmNodeId to;
  guint64 tag;
} Delivery;

static gboolean
delivered (Fixture *f, gconstpointer data)
{
  const Delivery *d = data;

  for (guint i = 0; i < f->received[d->to]->len; i++)
    if (((DsmMessage *) f->received[d->to]->pdata[i])->commit_index == d->tag)
      return TRUE;
  return FALSE;
}

/* Sends until it arrives: the connection may still be in its handshake. */
static gboolean
send_until_delivered (Fixture *f, DsmNodeId from, DsmNodeId to, guint64 tag)
{
  Delivery d = { to, tag };
  gint64 deadline = g_get_monotonic_time () + BUDGET_MS * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(DsmMessage) msg = commit_message (from, to, tag);
      dsm_transport_send (f->t[from], msg);
      for (guint i = 0; i < 20 && !delivered (f, &d); i++)
        g_main_context_iteration (NULL, TRUE);
      if (delivered (f, &d))
        return TRUE;
    }
  return FALSE;
}

typedef struct {
  DsmNodeId at;
  DsmNodeId peer;
  gboolean want;               /* TRUE: a peer; FALSE: none */
} PeerQuery;

static gboolean
has_peer (Fixture *f, gconstpointer data)
{
  const PeerQuery *q = data;
  DsmTransportPeerInfo info = { 0 };
  gboolean known = dsm_transport_get_peer_info (f->t[q->at], q->peer, &info);

  dsm_transport_peer_info_clear (&info);
  return known == q->want;
}

static void
test_new_member_dialed (Fixture *f, gconstpointer data)
{
  static const DsmNodeId grown[] = { 1, 2, 3, 0 };
  g_autoptr(DsmMembership) m = membership_of (f, grown);
  DsmTransportPeerInfo info = { 0 };

  g_test_summary ("A node the membership gains is dialed at the address the membership gives, and "
                  "messages reach it both ways; before, it was no peer at all.");
  g_assert_false (dsm_transport_get_peer_info (f->t[1], 3, &info));
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[3]);
  dsm_transport_set_members (f->t[1], m, NULL);
  g_assert_true (dsm_transport_get_peer_info (f->t[1], 3, &info));
  g_autofree char *want = address_of (f, 3);
  g_assert_cmpstr (info.address, ==, want);
  dsm_transport_peer_info_clear (&info);
  g_assert_true (send_until_delivered (f, 1, 3, 11));
  g_assert_true (send_until_delivered (f, 3, 1, 12));
}

static void
test_visitor_forgotten_with_connection (Fixture *f, gconstpointer data)
{
  PeerQuery visitor = { 1, 3, TRUE }, gone = { 1, 3, FALSE };

  g_test_summary ("A node that is no member of ours (a node joining that our log does not list yet) may "
                  "connect once authenticated; we answer it on its connection, never dial it, and "
                  "forget it when the connection ends.");
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[3]);   /* its bootstrap peers are 1 and 2: it dials node 1 */
  g_assert_true (send_until_delivered (f, 3, 1, 21));
  g_assert_true (wait_for (f, has_peer, &visitor));
  g_assert_true (send_until_delivered (f, 1, 3, 22));
  dsm_transport_stop (f->t[3]);
  g_assert_true (wait_for (f, has_peer, &gone));
  /* Now a stranger: reported unsent, counted. */
  guint unsent = f->unsent[1];
  g_autoptr(DsmMessage) msg = commit_message (1, 3, 23);
  dsm_transport_send (f->t[1], msg);
  g_assert_cmpuint (f->unsent[1], ==, unsent + 1);
}

static void
test_member_leaves_after_linger (Fixture *f, gconstpointer data)
{
  static const DsmNodeId alone[] = { 1, 0 };
  g_autoptr(DsmMembership) m = membership_of (f, alone);
  PeerQuery gone = { 1, 2, FALSE };

  g_test_summary ("A member that leaves the membership keeps its connection for the linger time (what "
                  "the node owes it still goes out), then is closed and dialed no more.");
  dsm_transport_start (f->t[1]);
  g_assert_true (send_until_delivered (f, 1, 2, 31));
  dsm_transport_set_members (f->t[1], m, NULL);
  /* Within the linger time the connection still carries messages. */
  g_assert_true (send_until_delivered (f, 1, 2, 32));
  g_assert_true (wait_for (f, has_peer, &gone));
  g_assert_cmpuint (dsm_transport_get_n_connected (f->t[1]), ==, 0);
}

static void
test_visitors_bounded (Fixture *f, gconstpointer data)
{
  PeerQuery first = { 1, 3, TRUE }, second = { 1, 4, FALSE };
  g_autoptr(GString) metrics = g_string_new (NULL);

  g_test_summary ("Connections of nodes that are no members are bounded (max_visitors): one more is "
                  "refused at the handshake as unknown_node while the first keeps working.");
  dsm_transport_start (f->t[1]);
  dsm_transport_start (f->t[3]);
  g_assert_true (send_until_delivered (f, 3, 1, 41));
  g_assert_true (wait_for (f, has_peer, &first));
  dsm_transport_start (f->t[4]);
  for (guint i = 0; i < 200; i++)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (has_peer (f, &second));
  dsm_transport_render_metrics (f->t[1], metrics);
  g_assert_nonnull (strstr (metrics->str, "dsm_net_handshake_failures_total{node=\"1\",reason=\"unknown_node\"} "));
  g_assert_null (strstr (metrics->str, "dsm_net_handshake_failures_total{node=\"1\",reason=\"unknown_node\"} 0\n"));
  g_assert_true (send_until_delivered (f, 1, 3, 42));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (peer_pair_log_writer, NULL, NULL);
  g_test_add ("/net/transport-members/new-member-dialed", Fixture, NULL, fixture_set_up,
              test_new_member_dialed, fixture_tear_down);
  g_test_add ("/net/transport-members/visitor-forgotten-with-connection", Fixture, NULL, fixture_set_up,
              test_visitor_forgotten_with_connection, fixture_tear_down);
  g_test_add ("/net/transport-members/member-leaves-after-linger", Fixture, NULL, fixture_set_up,
              test_member_leaves_after_linger, fixture_tear_down);
  g_test_add ("/net/transport-members/visitors-bounded", Fixture, NULL, fixture_set_up,
              test_visitors_bounded, fixture_tear_down);
  return g_test_run ();
}
