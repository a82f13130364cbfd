/* tests/core/harness.c: the core tests' deterministic cluster (see harness.h). */
#include "harness.h"

#include <string.h>

#include "log.h"
#include "record.h"

static void
harness_message_free (HarnessMessage *m)
{
  dsm_message_unref (m->msg);
  g_free (m);
}

static DsmNode *
harness_make_node (Harness *h, DsmNodeId id)
{
  g_autoptr(GError) error = NULL;
  GRand *rng = g_rand_new_with_seed (g_rand_int (h->rng));
  DsmNode *node = dsm_node_new (h->config, id, rng, &h->durable[id], h->now_ms, &error);

  g_assert_no_error (error);
  dsm_node_set_event_mask (node, 0);
  return node;
}

Harness *
harness_new (guint n, guint64 seed, DsmConfig *config)
{
  Harness *h = g_new0 (Harness, 1);

  g_assert (n >= 1 && n <= HARNESS_MAX);
  h->config = config != NULL ? dsm_config_ref (config) : dsm_config_new_default (n);
  g_assert_cmpuint (h->config->n_nodes, ==, n);
  h->n = n;
  h->seed = seed;
  h->rng = g_rand_new_with_seed ((guint32) seed);
  h->in_flight = g_ptr_array_new_with_free_func ((GDestroyNotify) harness_message_free);
  h->latency_ms_min = 1;
  h->latency_ms_max = 10;
  h->replies = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                      (GDestroyNotify) dsm_client_reply_free);
  h->leaders = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  h->committed = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  g_ptr_array_add (h->committed, dsm_entry_new (0, 0, DSM_ENTRY_NOOP, NULL)); /* index 0 */
  for (DsmNodeId id = 1; id <= n; id++)
    h->nodes[id] = harness_make_node (h, id);
  return h;
}

void
harness_free (Harness *h)
{
  for (guint id = 1; id <= HARNESS_MAX; id++)
    {
      dsm_node_free (h->nodes[id]);
      dsm_durable_state_clear (&h->durable[id]);
    }
  g_ptr_array_unref (h->in_flight);
  g_hash_table_unref (h->replies);
  g_hash_table_unref (h->leaders);
  g_ptr_array_unref (h->committed);
  g_rand_free (h->rng);
  dsm_config_unref (h->config);
  g_free (h);
}

/* ---- checks after every input ---- */

static void
check_leaders (Harness *h)
{
  for (guint id = 1; id <= h->n; id++)
    {
      DsmNode *node = h->nodes[id];
      if (node == NULL || dsm_node_get_role (node) != DSM_ROLE_LEADER)
        continue;
      guint64 epoch = dsm_node_get_epoch (node);
      gpointer other = g_hash_table_lookup (h->leaders, &epoch);
      if (other != NULL && GPOINTER_TO_UINT (other) != id)
        g_error ("seed %" G_GUINT64_FORMAT ": nodes %u and %u both lead epoch %" G_GUINT64_FORMAT,
                 h->seed, GPOINTER_TO_UINT (other), id, epoch);
      g_hash_table_insert (h->leaders, g_memdup2 (&epoch, sizeof epoch), GUINT_TO_POINTER (id));
    }
}

static void
check_applied (Harness *h, DsmNodeId id, const DsmApplied *applied)
{
  guint64 index = applied->entry->index;

  h->applied_count[id] = index;
  if (index < h->committed->len)
    {
      if (!dsm_entry_equal (h->committed->pdata[index], applied->entry))
        g_error ("seed %" G_GUINT64_FORMAT ": node %u applied a different entry at index %" G_GUINT64_FORMAT,
                 h->seed, id, index);
      return;
    }
  g_assert_cmpuint (index, ==, h->committed->len);
  g_ptr_array_add (h->committed, dsm_entry_ref (applied->entry));
}

/* ---- moving outputs ---- */

static void
enqueue (Harness *h, DsmMessage *msg)
{
  if (h->cut[msg->from][msg->to] || h->nodes[msg->to] == NULL
      || (h->loss_percent > 0 && (guint) g_rand_int_range (h->rng, 0, 100) < h->loss_percent))
    {
      h->messages_dropped++;
      dsm_message_unref (msg);
      return;
    }
  HarnessMessage *m = g_new (HarnessMessage, 1);
  m->deliver_ms = h->now_ms + g_rand_int_range (h->rng, h->latency_ms_min, h->latency_ms_max + 1);
  m->seq = h->seq++;
  m->msg = msg;
  g_ptr_array_add (h->in_flight, m);
}

static void
process (Harness *h, DsmNodeId id)
{
  DsmOutbox out;

  dsm_outbox_init (&out);
  while (h->nodes[id] != NULL && dsm_node_has_output (h->nodes[id]))
    {
      DsmNode *node = h->nodes[id];
      dsm_node_drain (node, &out);
      guint64 last_seq = 0;
      for (guint i = 0; i < out.persists->len; i++)
        {
          DsmPersist *p = out.persists->pdata[i];
          dsm_durable_state_apply (&h->durable[id], p);
          last_seq = p->seq;
        }
      for (guint i = 0; i < out.messages->len; i++)
        {
          enqueue (h, out.messages->pdata[i]);
          out.messages->pdata[i] = NULL;
        }
      for (guint i = 0; i < out.replies->len; i++)
        {
          DsmClientReply *reply = out.replies->pdata[i];
          g_hash_table_replace (h->replies, g_memdup2 (&reply->request_id, sizeof reply->request_id), reply);
          out.replies->pdata[i] = NULL;
        }
      for (guint i = 0; i < out.applies->len; i++)
        check_applied (h, id, out.applies->pdata[i]);
      dsm_outbox_reset (&out);
      if (last_seq != 0)
        dsm_node_persisted (node, h->now_ms, last_seq);
    }
  dsm_outbox_clear (&out);
  check_leaders (h);
}

/* ---- the event loop ---- */

static gboolean
harness_step (Harness *h, guint64 until_ms)
{
  gint best_msg = -1;
  for (guint i = 0; i < h->in_flight->len; i++)
    {
      HarnessMessage *m = h->in_flight->pdata[i], *b = best_msg < 0 ? NULL : h->in_flight->pdata[best_msg];
      if (b == NULL || m->deliver_ms < b->deliver_ms || (m->deliver_ms == b->deliver_ms && m->seq < b->seq))
        best_msg = (gint) i;
    }
  DsmNodeId best_node = 0;
  guint64 best_deadline = G_MAXUINT64;
  for (guint id = 1; id <= h->n; id++)
    if (h->nodes[id] != NULL && dsm_node_next_deadline (h->nodes[id]) < best_deadline)
      {
        best_deadline = dsm_node_next_deadline (h->nodes[id]);
        best_node = id;
      }

  guint64 msg_ms = best_msg < 0 ? G_MAXUINT64 : ((HarnessMessage *) h->in_flight->pdata[best_msg])->deliver_ms;
  guint64 next = MIN (msg_ms, MAX (best_deadline, h->now_ms));
  if (next > until_ms)
    return FALSE;
  h->now_ms = MAX (h->now_ms, next);

  if (msg_ms <= best_deadline)
    {
      HarnessMessage *m = g_ptr_array_steal_index (h->in_flight, (guint) best_msg);
      DsmNodeId to = m->msg->to;
      if (h->nodes[to] != NULL && !h->cut[m->msg->from][to])
        {
          h->messages_delivered++;
          dsm_node_step (h->nodes[to], h->now_ms, m->msg);
          process (h, to);
        }
      harness_message_free (m);
    }
  else
    {
      dsm_node_tick (h->nodes[best_node], h->now_ms);
      process (h, best_node);
    }
  return TRUE;
}

gboolean
harness_run (Harness *h, guint64 budget_ms, HarnessDone done, gpointer data)
{
  guint64 until = h->now_ms + budget_ms;

  while (done == NULL || !done (h, data))
    if (!harness_step (h, until))
      {
        h->now_ms = until;
        return done != NULL && done (h, data);
      }
  return TRUE;
}

void
harness_advance (Harness *h, guint64 ms)
{
  harness_run (h, ms, NULL, NULL);
}

/* ---- clients ---- */

void
harness_submit (Harness *h, DsmNodeId id, guint64 request_id, const DsmCommand *cmd)
{
  g_assert (h->nodes[id] != NULL);
  dsm_node_submit (h->nodes[id], h->now_ms, request_id, cmd);
  process (h, id);
}

void
harness_transition (Harness *h, DsmNodeId id, guint64 request_id, const char *machine,
                    const char *to, const char *client_id, guint64 seq)
{
  DsmCommand cmd = {
    .op = DSM_OP_TRANSITION,
    .client_id = (char *) client_id,
    .seq = seq,
    .machine = (char *) machine,
    .to = (char *) to,
  };
  harness_submit (h, id, request_id, &cmd);
}

const DsmClientReply *
harness_reply (Harness *h, guint64 request_id)
{
  return g_hash_table_lookup (h->replies, &request_id);
}

static gboolean
done_reply (Harness *h, gpointer data)
{
  return harness_reply (h, *(guint64 *) data) != NULL;
}

gboolean
harness_wait_reply (Harness *h, guint64 request_id, guint64 budget_ms)
{
  return harness_run (h, budget_ms, done_reply, &request_id);
}

DsmNodeId
harness_leader (Harness *h)
{
  DsmNodeId leader = 0;
  guint64 epoch = 0;

  for (guint id = 1; id <= h->n; id++)
    if (h->nodes[id] != NULL && dsm_node_get_role (h->nodes[id]) == DSM_ROLE_LEADER
        && dsm_node_get_epoch (h->nodes[id]) >= epoch)
      {
        leader = id;
        epoch = dsm_node_get_epoch (h->nodes[id]);
      }
  return leader;
}

static gboolean
done_leader (Harness *h, gpointer data)
{
  DsmNodeId leader = harness_leader (h);
  /* A leader whose no-op committed is one clients can use. */
  return leader != 0 && dsm_node_get_commit_index (h->nodes[leader]) >= 1
         && dsm_node_get_commit_index (h->nodes[leader]) == dsm_node_get_last_index (h->nodes[leader]);
}

gboolean
harness_wait_leader (Harness *h, guint64 budget_ms)
{
  return harness_run (h, budget_ms, done_leader, NULL);
}

/* ---- faults ---- */

void
harness_partition (Harness *h, guint32 group)
{
  for (guint a = 1; a <= h->n; a++)
    for (guint b = 1; b <= h->n; b++)
      h->cut[a][b] = ((group & HARNESS_BIT (a)) != 0) != ((group & HARNESS_BIT (b)) != 0);
}

void
harness_heal (Harness *h)
{
  memset (h->cut, 0, sizeof h->cut);
}

void
harness_crash (Harness *h, DsmNodeId id)
{
  g_clear_pointer (&h->nodes[id], dsm_node_free);
}

void
harness_add_node (Harness *h, DsmNodeId id)
{
  g_assert (id >= 1 && id <= HARNESS_MAX);
  g_assert (h->nodes[id] == NULL);
  dsm_durable_state_clear (&h->durable[id]);
  h->n = MAX (h->n, id);
  h->nodes[id] = harness_make_node (h, id);
}

void
harness_wipe (Harness *h, DsmNodeId id)
{
  harness_crash (h, id);
  dsm_durable_state_clear (&h->durable[id]);
}

void
harness_deliver (Harness *h, DsmMessage *msg)
{
  DsmNodeId to = msg->to;

  g_assert (h->nodes[to] != NULL);
  dsm_node_step (h->nodes[to], h->now_ms, msg);
  dsm_message_unref (msg);
  process (h, to);
}

void
harness_restart (Harness *h, DsmNodeId id)
{
  g_assert (h->nodes[id] == NULL);
  h->nodes[id] = harness_make_node (h, id);
  h->restarts[id]++;
}

gboolean
harness_all_applied (Harness *h, guint64 index)
{
  for (guint id = 1; id <= h->n; id++)
    if (h->nodes[id] != NULL && dsm_node_get_applied_index (h->nodes[id]) < index)
      return FALSE;
  return TRUE;
}

const char *
harness_state (Harness *h, DsmNodeId id, const char *machine)
{
  return dsm_store_read (dsm_node_get_store (h->nodes[id]), machine, NULL, NULL);
}
