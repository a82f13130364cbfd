/* tests/core/node-rig.c: one node under test, driven message by message
 * (see node-rig.h). */
#include "node-rig.h"

DsmConfig *
rig_config (guint n_nodes)
{
  return dsm_config_new_default (n_nodes);
}

Rig *
rig_new (DsmConfig *config, const DsmDurableState *durable)
{
  g_autoptr(GError) error = NULL;
  Rig *rig = g_new0 (Rig, 1);

  rig->config = config;
  dsm_outbox_init (&rig->out);
  rig->node = dsm_node_new (config, RIG_SELF, g_rand_new_with_seed (RIG_SEED), durable, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (rig->node);
  return rig;
}

Rig *
rig_new_with_log (DsmConfig *config, guint64 epoch, const guint64 *epochs, guint n_entries)
{
  DsmDurableState durable = { .epoch = epoch, .entries = rig_entries (1, epochs, n_entries) };
  Rig *rig = rig_new (config, &durable);

  dsm_durable_state_clear (&durable);
  return rig;
}

void
rig_free (Rig *rig)
{
  dsm_node_free (rig->node);
  dsm_outbox_clear (&rig->out);
  dsm_config_unref (rig->config);
  g_free (rig);
}

void
rig_drain (Rig *rig)
{
  dsm_outbox_reset (&rig->out);
  dsm_node_drain (rig->node, &rig->out);
  for (guint i = 0; i < rig->out.persists->len; i++)
    {
      const DsmPersist *persist = rig->out.persists->pdata[i];
      g_assert_cmpuint (persist->seq, >, rig->seq_seen);
      rig->seq_seen = persist->seq;
    }
}

/* ---- inputs ---- */

void
rig_step (Rig *rig, DsmMessage *msg)
{
  g_autoptr(DsmMessage) owned = msg;

  dsm_node_step (rig->node, rig->now_ms, owned);
  rig_drain (rig);
}

void
rig_tick (Rig *rig, guint64 now_ms)
{
  g_assert_cmpuint (now_ms, >=, rig->now_ms);
  rig->now_ms = now_ms;
  dsm_node_tick (rig->node, now_ms);
  rig_drain (rig);
}

void
rig_persist_all (Rig *rig)
{
  if (rig->seq_seen > 0)
    dsm_node_persisted (rig->node, rig->now_ms, rig->seq_seen);
  rig_drain (rig);
}

void
rig_transition (Rig *rig, guint64 request_id, const char *machine, const char *to,
                const char *client_id, guint64 seq)
{
  DsmCommand cmd = {
    .op = DSM_OP_TRANSITION,
    .client_id = (char *) client_id,
    .seq = seq,
    .machine = (char *) machine,
    .to = (char *) to,
  };

  dsm_node_submit (rig->node, rig->now_ms, request_id, &cmd);
  rig_drain (rig);
}

void
rig_read (Rig *rig, guint64 request_id, const char *machine)
{
  DsmCommand cmd = { .op = DSM_OP_READ, .machine = (char *) machine };

  dsm_node_submit (rig->node, rig->now_ms, request_id, &cmd);
  rig_drain (rig);
}

/* ---- messages ---- */

DsmMessage *
rig_message (DsmMessageType type, DsmNodeId from, guint64 epoch)
{
  return dsm_message_new (type, from, RIG_SELF, epoch);
}

DsmMessage *
rig_vote_request (DsmNodeId from, guint64 epoch, gboolean pre_vote, guint64 last_index,
                  guint64 last_epoch)
{
  DsmMessage *msg = rig_message (DSM_MSG_VOTE_REQUEST, from, epoch);

  msg->pre_vote = pre_vote;
  msg->last_index = last_index;
  msg->last_epoch = last_epoch;
  return msg;
}

DsmMessage *
rig_vote (DsmNodeId from, guint64 epoch, gboolean pre_vote, gboolean granted)
{
  DsmMessage *msg = rig_message (DSM_MSG_VOTE, from, epoch);

  msg->pre_vote = pre_vote;
  msg->granted = granted;
  return msg;
}

GPtrArray *
rig_entries (guint64 first_index, const guint64 *epochs, guint n_entries)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);

  for (guint i = 0; i < n_entries; i++)
    g_ptr_array_add (entries, dsm_entry_new (first_index + i, epochs[i], DSM_ENTRY_NOOP, NULL));
  return entries;
}

DsmEntry *
rig_command_entry (guint64 index, guint64 epoch, const char *machine, const char *to)
{
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = (char *) machine, .to = (char *) to };

  return dsm_entry_new (index, epoch, DSM_ENTRY_COMMAND, &cmd);
}

DsmMessage *
rig_proposal (DsmNodeId from, guint64 epoch, guint64 prev_index, guint64 prev_epoch,
              guint64 commit_index, const guint64 *epochs, guint n_entries)
{
  DsmMessage *msg = rig_message (DSM_MSG_PROPOSAL, from, epoch);

  msg->prev_index = prev_index;
  msg->prev_epoch = prev_epoch;
  msg->commit_index = commit_index;
  msg->entries = rig_entries (prev_index + 1, epochs, n_entries);
  return msg;
}

DsmMessage *
rig_commit (DsmNodeId from, guint64 epoch, guint64 commit_index, guint64 hb_seq)
{
  DsmMessage *msg = rig_message (DSM_MSG_COMMIT, from, epoch);

  msg->commit_index = commit_index;
  msg->hb_seq = hb_seq;
  return msg;
}

DsmMessage *
rig_ack (DsmNodeId from, guint64 epoch, guint64 match_index, guint64 hb_seq)
{
  DsmMessage *msg = rig_message (DSM_MSG_ACK, from, epoch);

  msg->match_index = match_index;
  msg->hb_seq = hb_seq;
  return msg;
}

/* ---- looking into the outbox ---- */

guint
rig_count_messages (const Rig *rig, DsmMessageType type)
{
  guint n = 0;

  for (guint i = 0; i < rig->out.messages->len; i++)
    if (((DsmMessage *) rig->out.messages->pdata[i])->type == type)
      n++;
  return n;
}

DsmMessage *
rig_find_message (const Rig *rig, DsmMessageType type, DsmNodeId to)
{
  for (guint i = 0; i < rig->out.messages->len; i++)
    {
      DsmMessage *msg = rig->out.messages->pdata[i];
      if (msg->type == type && msg->to == to)
        return msg;
    }
  return NULL;
}

guint
rig_count_persists (const Rig *rig, DsmPersistKind kind)
{
  guint n = 0;

  for (guint i = 0; i < rig->out.persists->len; i++)
    if (((DsmPersist *) rig->out.persists->pdata[i])->kind == kind)
      n++;
  return n;
}

DsmPersist *
rig_find_persist (const Rig *rig, DsmPersistKind kind)
{
  for (guint i = 0; i < rig->out.persists->len; i++)
    {
      DsmPersist *persist = rig->out.persists->pdata[i];
      if (persist->kind == kind)
        return persist;
    }
  return NULL;
}

DsmClientReply *
rig_find_reply (const Rig *rig, guint64 request_id)
{
  for (guint i = 0; i < rig->out.replies->len; i++)
    {
      DsmClientReply *reply = rig->out.replies->pdata[i];
      if (reply->request_id == request_id)
        return reply;
    }
  return NULL;
}

guint
rig_count_events (const Rig *rig, DsmEventKind kind)
{
  guint n = 0;

  for (guint i = 0; i < rig->out.events->len; i++)
    if (((DsmEvent *) rig->out.events->pdata[i])->kind == kind)
      n++;
  return n;
}

gboolean
rig_peer (const Rig *rig, DsmNodeId peer, DsmPeerStatus *out)
{
  DsmPeerStatus peers[DSM_MAX_NODES];
  guint n = dsm_node_get_peers (rig->node, peers, G_N_ELEMENTS (peers));

  for (guint i = 0; i < n; i++)
    if (peers[i].id == peer)
      {
        *out = peers[i];
        return TRUE;
      }
  return FALSE;
}

/* ---- states ---- */

void
rig_elect (Rig *rig)
{
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  rig_tick (rig, MAX (rig->now_ms, dsm_node_next_deadline (rig->node)));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_PRE_CANDIDATE);

  guint64 epoch = dsm_node_get_epoch (rig->node) + 1;
  rig_step (rig, rig_vote (2, epoch, TRUE, TRUE));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_CANDIDATE);
  rig_persist_all (rig);
  /* Node 2 grants; in a bigger cluster nodes 3, 4... grant until a quorum. */
  for (DsmNodeId id = 2; dsm_node_get_role (rig->node) != DSM_ROLE_LEADER; id++)
    {
      g_assert_cmpuint (id, <=, rig->config->n_nodes);
      rig_step (rig, rig_vote (id, epoch, FALSE, TRUE));
    }
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, epoch);
}

void
rig_elect_committed (Rig *rig)
{
  rig_elect (rig);
  guint64 noop = dsm_node_get_last_index (rig->node);
  guint64 epoch = dsm_node_get_epoch (rig->node);

  rig_persist_all (rig);
  for (guint i = 0; i < rig->config->n_nodes; i++)
    {
      DsmNodeId id = rig->config->nodes[i].id;
      if (id != RIG_SELF)
        rig_step (rig, rig_ack (id, epoch, noop, 0));
    }
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, noop);
}

void
rig_follow (Rig *rig, DsmNodeId leader, guint64 epoch)
{
  rig_step (rig, rig_commit (leader, epoch, 0, 0));
  rig_persist_all (rig);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_get_leader (rig->node), ==, leader);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, epoch);
}
