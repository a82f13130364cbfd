/* sim/cluster.c: the simulator's event loop and the hosting of core nodes:
 * a binary heap of events ordered by (virtual time, sequence), each node's
 * outputs routed to the model disk, network and clients, every apply and
 * leadership handed to the checker.  Nothing here reads a clock: time is
 * the heap's. */
#include "sim-private.h"

#include <math.h>
#include <string.h>

#include "check/history-file.h"
#include "codec.h"

/* ---- the event heap ---- */

/* The heap holds each event's key beside its pointer, so sifting compares
 * without reading the events (a miss each on a run of 200,000 events);
 * only a moved event is written, for its heap_index. */
typedef SimHeapItem HeapItem;

static inline gboolean
item_before (const HeapItem *a, const HeapItem *b)
{
  return a->time_ms < b->time_ms || (a->time_ms == b->time_ms && a->seq < b->seq);
}

static void
event_free (DsmSim *sim, Event *ev)
{
  g_clear_pointer (&ev->msg, dsm_message_unref);
  g_clear_pointer (&ev->reply, dsm_client_reply_free);
  g_clear_pointer (&ev->op, clients_op_unref);
  g_ptr_array_add (sim->spare_events, ev);
}

Event *
sim_event_new (DsmSim *sim, EventKind kind, guint64 time_ms)
{
  Event *ev = sim->spare_events->len > 0 ? g_ptr_array_steal_index_fast (sim->spare_events, sim->spare_events->len - 1)
                                         : g_new (Event, 1);

  memset (ev, 0, sizeof *ev);
  ev->kind = kind;
  ev->time_ms = MAX (time_ms, sim->now_ms);
  return ev;
}

static inline void
heap_set (DsmSim *sim, guint i, const HeapItem *item)
{
  sim->heap[i] = *item;
  item->ev->heap_index = i;
}

static void
heap_up (DsmSim *sim, guint i)
{
  HeapItem *items = sim->heap;
  HeapItem item = items[i];
  while (i > 0)
    {
      guint parent = (i - 1) / 2;
      if (!item_before (&item, &items[parent]))
        break;
      heap_set (sim, i, &items[parent]);
      i = parent;
    }
  heap_set (sim, i, &item);
}

static void
heap_down (DsmSim *sim, guint i)
{
  HeapItem *items = sim->heap;
  guint len = sim->heap_len;
  HeapItem item = items[i];
  for (;;)
    {
      guint l = 2 * i + 1, r = l + 1, m = l;
      if (l >= len)
        break;
      if (r < len && item_before (&items[r], &items[l]))
        m = r;
      if (!item_before (&items[m], &item))
        break;
      heap_set (sim, i, &items[m]);
      i = m;
    }
  heap_set (sim, i, &item);
}

void
sim_schedule (DsmSim *sim, Event *ev)
{
  ev->seq = sim->event_seq++;
  if (sim->heap_len == sim->heap_cap)
    {
      sim->heap_cap = MAX (64, 2 * sim->heap_cap);
      sim->heap = g_renew (HeapItem, sim->heap, sim->heap_cap);
    }
  sim->heap[sim->heap_len] = (HeapItem) { .time_ms = ev->time_ms, .seq = ev->seq, .ev = ev };
  heap_up (sim, sim->heap_len++);
}

/* Removes a pending event (a timeout no longer needed): stale events left
 * in the heap would make every push and pop slower. */
void
sim_unschedule (DsmSim *sim, Event *ev)
{
  guint i = ev->heap_index;

  g_assert (i < sim->heap_len && sim->heap[i].ev == ev);
  HeapItem last = sim->heap[--sim->heap_len];
  if (last.ev != ev)
    {
      heap_set (sim, i, &last);
      heap_up (sim, i);
      heap_down (sim, last.ev->heap_index);
    }
  event_free (sim, ev);
}

static Event *
heap_pop (DsmSim *sim)
{
  if (sim->heap_len == 0)
    return NULL;
  Event *top = sim->heap[0].ev;
  HeapItem last = sim->heap[--sim->heap_len];
  if (sim->heap_len > 0)
    {
      heap_set (sim, 0, &last);
      heap_down (sim, 0);
    }
  return top;
}

static void cancel_tick (DsmSim *sim, SimNode *sn);

/* ---- node clocks (skew) ---- */

guint64
sim_local_now (const SimNode *sn, guint64 now_ms)
{
  if (sn->rate == 1.0)
    return sn->local_base + (now_ms - sn->virtual_base);
  return sn->local_base + (guint64) floor ((double) (now_ms - sn->virtual_base) * sn->rate);
}

static guint64
local_to_virtual (const SimNode *sn, guint64 local_ms)
{
  if (local_ms == G_MAXUINT64)
    return G_MAXUINT64;
  if (local_ms <= sn->local_base)
    return sn->virtual_base;
  if (sn->rate == 1.0)
    return sn->virtual_base + (local_ms - sn->local_base);
  /* The first virtual ms at which the node's clock reads local_ms: the
   * float quotient may land a step early, and a tick the node finds
   * premature would be rescheduled at the same instant forever. */
  guint64 v = sn->virtual_base + (guint64) ceil ((double) (local_ms - sn->local_base) / sn->rate);
  while (sim_local_now (sn, v) < local_ms)
    v++;
  return v;
}

void
sim_set_rate (DsmSim *sim, SimNode *sn, double rate)
{
  sn->local_base = sim_local_now (sn, sim->now_ms);
  sn->virtual_base = sim->now_ms;
  sn->rate = rate;
  cancel_tick (sim, sn); /* reschedule against the new rate */
  if (sn->node != NULL)
    sim_process (sim, sn);
}

/* ---- node outputs ---- */

static void
schedule_tick (DsmSim *sim, SimNode *sn)
{
  guint64 at = local_to_virtual (sn, dsm_node_next_deadline (sn->node));

  if (at == G_MAXUINT64 || at >= sn->tick_at)
    return;
  if (sn->tick_event != NULL)
    sim_unschedule (sim, sn->tick_event);
  sn->tick_at = MAX (at, sim->now_ms);
  sn->tick_event = sim_event_new (sim, EV_TICK, sn->tick_at);
  sn->tick_event->node = sn->id;
  sim_schedule (sim, sn->tick_event);
}

static void
cancel_tick (DsmSim *sim, SimNode *sn)
{
  if (sn->tick_event != NULL)
    sim_unschedule (sim, sn->tick_event);
  sn->tick_event = NULL;
  sn->tick_at = G_MAXUINT64;
}

static void
begin_sync (DsmSim *sim, SimNode *sn)
{
  guint64 target = 0;
  guint64 latency = dsm_sim_disk_sync_begin (sn->disk, &target);
  Event *ev = sim_event_new (sim, EV_SYNC, sim->now_ms + latency);
  ev->node = sn->id;
  ev->gen = sn->incarnation;
  ev->request_id = target;
  sim_schedule (sim, ev);
}

/* While the disk is full only the retry timer starts a sync, as a real
 * node's host does (net/host.c). */
static void
schedule_sync (DsmSim *sim, SimNode *sn)
{
  if (sn->nospace || dsm_sim_disk_is_syncing (sn->disk)
      || dsm_sim_disk_get_written_seq (sn->disk) == dsm_sim_disk_get_synced_seq (sn->disk))
    return;
  begin_sync (sim, sn);
}

/* How often a node whose disk is full tries again: a real node's pace. */
#define SIM_NOSPACE_RETRY_MS 1000

/* The host's side of a full disk (net/host.c): a failed sync raises the
 * alarm once and tells the node; a retry every SIM_NOSPACE_RETRY_MS; the
 * first sync that succeeds clears it. */
static void
disk_alarm (DsmSim *sim, SimNode *sn, gboolean raised)
{
  g_assert (sn->node != NULL);
  if (raised)
    {
      Event *ev = sim_event_new (sim, EV_DISK_RETRY, sim->now_ms + SIM_NOSPACE_RETRY_MS);
      ev->node = sn->id;
      ev->gen = sn->incarnation;
      sim_schedule (sim, ev);
    }
  if (sn->nospace == raised)
    return;
  sn->nospace = raised;
  sim->report.disk_alarms += raised ? 1 : 0;
  trace_line (sim, "\"ev\":\"alarm\",\"node\":%u,\"kind\":\"nospace\",\"raised\":%s", sn->id,
              raised ? "true" : "false");
  dsm_node_set_disk_full (sn->node, sim_local_now (sn, sim->now_ms), raised);
  sim_process (sim, sn);
}

static void
send_message (DsmSim *sim, DsmMessage *msg)
{
  DsmNetFate fate;

  sim->report.messages_sent++;
  if (msg->to < 1 || msg->to > sim->capacity)
    {
      /* An answer to a stranger only a planted bug let in (sim/attacker.c):
       * no link leads there, as net/ counts messages to strangers. */
      sim->report.messages_dropped++;
      trace_message (sim, "drop", msg, "stranger");
      dsm_message_unref (msg);
      return;
    }
  dsm_sim_net_fate (sim->net, sim->now_ms, msg->from, msg->to, msg->type, &fate);
  if (fate.n == 0)
    {
      sim->report.messages_dropped++;
      trace_message (sim, "drop", msg, fate.drop_reason);
      dsm_message_unref (msg);
      return;
    }
  trace_message (sim, "send", msg, NULL);
  if (fate.n == 2)
    sim->report.messages_duplicated++;
  for (guint i = 0; i < fate.n; i++)
    {
      Event *ev = sim_event_new (sim, EV_DELIVER, sim->now_ms + fate.delay_ms[i]);
      ev->node = msg->to;
      ev->msg = i + 1 < fate.n ? dsm_message_ref (msg) : msg;
      ev->corrupt = fate.corrupt[i];
      sim_schedule (sim, ev);
    }
}

static void
handle_events (DsmSim *sim, SimNode *sn, GPtrArray *events)
{
  for (guint i = 0; i < events->len; i++)
    {
      const DsmEvent *event = events->pdata[i];
      if (event->kind == DSM_EVENT_ELECTION_WON)
        {
          sn->elections_won++;
          /* Won by a quorum of the configuration it uses: the latest in
           * its log (docs/CHECKERS.md, "Quorums"). */
          if (sn->node != NULL)
            dsm_checker_quorum (sim->checker, sim->now_ms, sn->id, event->epoch,
                                dsm_node_get_membership (sn->node, NULL), (guint) event->value, "election");
          sn->checked_commit = 0;
        }
      trace_node_event (sim, event);
    }
}

/* Whether voter @id's disk holds the entry (@index, @epoch): a live node
 * by what it reported durable, a crashed one by reading its disk back. */
static gboolean
durably_holds (DsmSim *sim, DsmNodeId id, guint64 index, guint64 epoch)
{
  SimNode *sn = &sim->nodes[id];
  guint64 found = 0;

  if (id < 1 || id > sim->n)
    return FALSE;
  if (sn->node != NULL)
    {
      const DsmLog *log = dsm_node_get_log (sn->node);
      if (dsm_node_get_durable_index (sn->node) < index)
        return FALSE;
      if (index <= dsm_log_start_index (log))
        return TRUE; /* in its snapshot: committed there */
      return dsm_log_epoch_at (log, index, &found) && found == epoch;
    }
  DsmDurableState durable = { 0 };
  gboolean holds = FALSE;
  /* A disk an injected fault destroyed cannot say what it held before:
   * the benefit of the doubt (its Ack may well have counted). */
  if (sn->refused || !dsm_sim_disk_recover (sn->disk, &durable, NULL))
    return TRUE;
  if (durable.snapshot_index >= index)
    holds = TRUE;
  for (guint i = 0; !holds && durable.entries != NULL && i < durable.entries->len; i++)
    {
      const DsmEntry *entry = durable.entries->pdata[i];
      holds = entry->index == index && entry->epoch == epoch;
    }
  dsm_durable_state_clear (&durable);
  return holds;
}

/* A leader's commit index moved: the entry there must be on a quorum of
 * its configuration's voters' disks (docs/CHECKERS.md, "Quorums"). */
static void
check_commit_quorum (DsmSim *sim, SimNode *sn)
{
  DsmNode *node = sn->node;
  guint64 commit = dsm_node_get_commit_index (node);
  guint64 epoch = 0;

  if (commit <= sn->checked_commit)
    return;
  sn->checked_commit = commit;
  if (!dsm_log_epoch_at (dsm_node_get_log (node), commit, &epoch) || epoch != dsm_node_get_epoch (node))
    return; /* learned from an earlier leader (snapshots), or older entries: not this commit */
  DsmMembership *used = dsm_node_get_membership (node, NULL);
  guint holders = 0;
  for (guint i = 0; i < dsm_membership_get_n_members (used); i++)
    {
      const DsmMember *m = dsm_membership_get_member (used, i);
      if (m->role == DSM_MEMBER_VOTER && durably_holds (sim, m->id, commit, epoch))
        holders++;
    }
  dsm_checker_quorum (sim->checker, sim->now_ms, sn->id, epoch, used, holders, "commit");
}

/* The steps after which every index below the lowest one a node or a
 * client could still need is safe to forget (sim_forget()): network
 * faults, crashes and restarts of an intact disk, clock skews and pauses,
 * waits.  Not: disk faults (a restart may recover an older snapshot),
 * membership changes (a new node applies from its first entry), scripted
 * proposals (their (client id, seq) pairs may repeat), attacks. */
static gboolean
step_lets_forget (const DsmStep *step)
{
  switch (step->kind)
    {
    case DSM_STEP_CRASH:
    case DSM_STEP_RESTART:
    case DSM_STEP_PARTITION:
    case DSM_STEP_ISOLATE:
    case DSM_STEP_CUT:
    case DSM_STEP_HEAL:
    case DSM_STEP_LOSS:
    case DSM_STEP_DELAY:
    case DSM_STEP_DUPLICATE:
    case DSM_STEP_REORDER:
    case DSM_STEP_CORRUPT:
    case DSM_STEP_SKEW:
    case DSM_STEP_PAUSE:
    case DSM_STEP_WAIT:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
scenario_lets_forget (const DsmScenario *scenario)
{
  if (scenario->workload.watchers > 0)
    return FALSE;
  for (guint i = 0; i < scenario->steps->len; i++)
    if (!step_lets_forget (scenario->steps->pdata[i]))
      return FALSE;
  return TRUE;
}

/* Lets the checker drop its records of the indices no node can apply
 * again and no client can still be told about (docs/CHECKERS.md,
 * "Forgetting what no node can apply again"): below every node's applied
 * index and the snapshot its disk would recover, and below the first
 * index applied after every unanswered op was issued.  Looked at every
 * FORGET_EVERY indices committed. */
#define FORGET_EVERY 1024

static void
sim_forget (DsmSim *sim)
{
  guint64 next = dsm_checker_get_committed (sim->checker) + 1;
  guint64 keep = next;

  if (next < sim->forget_at)
    return;
  sim->forget_at = next + FORGET_EVERY;
  g_assert (sim->n == sim->capacity);
  for (DsmNodeId id = 1; id <= sim->n; id++)
    {
      const SimNode *sn = &sim->nodes[id];
      keep = MIN (keep, dsm_sim_disk_get_durable_snapshot_index (sn->disk) + 1);
      if (sn->node != NULL)
        keep = MIN (keep, dsm_node_get_applied_index (sn->node) + 1);
    }
  for (guint i = 0; i < sim->n_clients; i++)
    {
      const ClientOp *co = sim->clients[i].current;
      if (co != NULL && !co->done)
        keep = MIN (keep, co->first_new);
    }
  dsm_checker_forget_below (sim->checker, keep);
}

guint64
dsm_sim_get_forgotten (DsmSim *sim)
{
  return dsm_checker_get_forgotten (sim->checker);
}

void
sim_process (DsmSim *sim, SimNode *sn)
{
  DsmOutbox *out = &sim->out;
  gboolean applied = FALSE;

  while (sn->node != NULL && dsm_node_has_output (sn->node))
    {
      dsm_node_drain (sn->node, out);
      applied = applied || out->applies->len > 0;
      for (guint i = 0; i < out->persists->len; i++)
        dsm_sim_disk_write (sn->disk, out->persists->pdata[i]);
      for (guint i = 0; i < out->messages->len; i++)
        {
          send_message (sim, out->messages->pdata[i]);
          out->messages->pdata[i] = NULL;
        }
      for (guint i = 0; i < out->replies->len; i++)
        clients_on_reply (sim, out->replies->pdata[i]);
      for (guint i = 0; i < out->applies->len; i++)
        {
          trace_apply (sim, sn->id, out->applies->pdata[i]);
          dsm_checker_apply (sim->checker, sim->now_ms, sn->id, out->applies->pdata[i]);
        }
      watchers_on_applies (sim, sn, out->applies);
      handle_events (sim, sn, out->events);
      dsm_outbox_reset (out);
    }
  if (applied && sim->may_forget)
    sim_forget (sim);
  if (sn->node == NULL)
    return;
  schedule_sync (sim, sn);
  if (dsm_node_get_role (sn->node) == DSM_ROLE_LEADER)
    {
      dsm_checker_leader (sim->checker, sim->now_ms, sn->id, dsm_node_get_epoch (sn->node));
      check_commit_quorum (sim, sn);
    }
  schedule_tick (sim, sn);
}

/* ---- crash and restart ---- */

static void
node_start (DsmSim *sim, SimNode *sn, const DsmDurableState *durable)
{
  DsmPrng prng;
  g_autoptr(GError) error = NULL;

  dsm_prng_init (&prng, sim->seed, "node", sn->id * 1000003ull + sn->incarnation);
  sn->node = dsm_node_new (sim->config, sn->id, dsm_prng_new_grand (&prng), durable,
                           sim_local_now (sn, sim->now_ms), &error);
  if (sn->node == NULL)
    {
      /* The core found the recovered state inconsistent: like a corrupt
       * disk, the node refuses to start. */
      sn->refused = TRUE;
      trace_line (sim, "\"ev\":\"refused\",\"node\":%u,\"error\":\"core\"", sn->id);
      return;
    }
#ifdef DSM_MUTANTS
  dsm_node_set_mutant (sn->node, (DsmMutant) sim->options.mutant);
#endif
  if (sim->trace == NULL)
    dsm_node_set_event_mask (sn->node, (1u << DSM_EVENT_ELECTION_WON) | (1u << DSM_EVENT_RETRY)
                                           | (1u << DSM_EVENT_SNAPSHOT));
  cancel_tick (sim, sn);
  sim_process (sim, sn);
}

static void
node_bank_counters (SimNode *sn)
{
  const DsmMetrics *m = dsm_node_get_metrics (sn->node);
  sn->retries += m->retries;
  sn->snapshots_installed += m->snapshots_installed;
  sn->invalid += m->messages_invalid;
}

void
sim_crash (DsmSim *sim, SimNode *sn)
{
  if (sn->node == NULL)
    return;
  node_bank_counters (sn);
  g_clear_pointer (&sn->node, dsm_node_free);
  attacker_on_crash (sim, sn->id);
  watchers_on_crash (sim, sn);
  g_autofree char *lost = dsm_sim_disk_crash (sn->disk);
  sn->incarnation++;
  sn->paused_until = 0;  /* a stopped process dies too */
  sn->nospace = FALSE;   /* the host's state; the disk stays as full as it was */
  cancel_tick (sim, sn);
  sim->report.crashes++;
  trace_line (sim, "\"ev\":\"crash\",\"node\":%u,\"disk\":\"%s\"", sn->id, lost);
}

gboolean
sim_restart (DsmSim *sim, SimNode *sn)
{
  DsmDurableState durable;
  g_autoptr(GError) error = NULL;

  if (sn->node != NULL || sn->refused)
    return FALSE;
  if (!dsm_sim_disk_recover (sn->disk, &durable, &error))
    {
      sn->refused = TRUE;
      g_autoptr(GString) why = g_string_new (NULL);
      dsm_codec_write_string (why, error->message);
      trace_line (sim, "\"ev\":\"refused\",\"node\":%u,\"error\":%s", sn->id, why->str);
      return FALSE;
    }
  trace_line (sim, "\"ev\":\"restart\",\"node\":%u,\"epoch\":%" G_GUINT64_FORMAT ",\"entries\":%u",
              sn->id, durable.epoch, durable.entries ? durable.entries->len : 0);
  node_start (sim, sn, &durable);
  dsm_durable_state_clear (&durable);
  /* A real node needs room to start a segment: on a full disk it starts
   * in the alarm. */
  if (sn->node != NULL && dsm_sim_disk_is_full (sn->disk))
    disk_alarm (sim, sn, TRUE);
  return sn->node != NULL;
}

/* ---- cluster-wide questions ---- */

/* Whether a majority of the voters of leader @id's configuration follow
 * it: itself, and live, running nodes in its epoch that name it leader
 * and that it can reach and hear.  An isolated old leader that still
 * believes it leads is followed by nobody it can reach: it is no leader
 * to wait for or aim at (docs/SCENARIOS.md, "Node selectors"). */
static gboolean
sim_leader_followed (DsmSim *sim, DsmNodeId id)
{
  DsmNode *leader = sim->nodes[id].node;
  DsmMembership *m = dsm_node_get_membership (leader, NULL);
  guint64 epoch = dsm_node_get_epoch (leader);
  guint following = 0;

  for (guint i = 1; i <= sim->n; i++)
    {
      DsmNode *node = sim->nodes[i].node;
      if (!dsm_membership_is_voter (m, i) || node == NULL || sim->now_ms < sim->nodes[i].paused_until)
        continue;
      if (i == id
          || (dsm_node_get_epoch (node) == epoch && dsm_node_get_leader (node) == id
              && dsm_sim_net_connected (sim->net, id, i) && dsm_sim_net_connected (sim->net, i, id)))
        following++;
    }
  return following * 2 > dsm_membership_get_n_voters (m);
}

/* The leader of the highest epoch among running, unremoved nodes that
 * believe they lead; with @followed, only one a majority follows.  A
 * paused or removed leader answers nobody. */
static DsmNodeId
sim_leader_of (DsmSim *sim, gboolean followed)
{
  DsmNodeId leader = DSM_NODE_NONE;
  guint64 epoch = 0;

  for (guint id = 1; id <= sim->n; id++)
    {
      DsmNode *node = sim->nodes[id].node;
      if (node != NULL && sim->now_ms >= sim->nodes[id].paused_until && dsm_node_get_role (node) == DSM_ROLE_LEADER
          && !dsm_node_is_removed (node) && dsm_node_get_epoch (node) >= epoch
          && (!followed || sim_leader_followed (sim, id)))
        {
          leader = id;
          epoch = dsm_node_get_epoch (node);
        }
    }
  return leader;
}

/* What "leader" names in a step: the leader a majority follows, else
 * (none does: a lone leader whose followers crashed, an isolated old
 * leader before the majority elects another) the one that believes it
 * leads (docs/SCENARIOS.md, "Node selectors"). */
DsmNodeId
sim_leader (DsmSim *sim)
{
  DsmNodeId followed = sim_leader_of (sim, TRUE);

  return followed != DSM_NODE_NONE ? followed : sim_leader_of (sim, FALSE);
}

/* A leader a majority follows that committed an entry of its own epoch:
 * one clients can use ("await leader", the end of a run). */
gboolean
sim_leader_ready (DsmSim *sim)
{
  DsmNodeId id = sim_leader_of (sim, TRUE);
  guint64 epoch = 0;

  if (id == DSM_NODE_NONE)
    return FALSE;
  DsmNode *node = sim->nodes[id].node;
  return dsm_log_epoch_at (dsm_node_get_log (node), dsm_node_get_commit_index (node), &epoch)
         && epoch == dsm_node_get_epoch (node);
}

/* The end of a run: a leader that has committed an entry of its own epoch,
 * a commit index at or past every index a client was told is committed,
 * and every live node applied up to it.  A leader elected a moment ago
 * (a node just restarted, commit index still 0) satisfies none of the
 * first two, so a run can no longer end before it has converged and then
 * find live nodes that never re-applied an acknowledged entry. */
gboolean
sim_caught_up (DsmSim *sim, GString *why)
{
  DsmNodeId id = sim_leader_of (sim, TRUE);

  if (id == DSM_NODE_NONE)
    {
      if (why != NULL)
        g_string_append (why, "no leader a majority follows");
      return FALSE;
    }
  DsmNode *leader = sim->nodes[id].node;
  guint64 commit = dsm_node_get_commit_index (leader);
  if (!sim_leader_ready (sim))
    {
      if (why != NULL)
        g_string_append_printf (why, "leader %u has not committed an entry of its epoch %" G_GUINT64_FORMAT,
                                id, dsm_node_get_epoch (leader));
      return FALSE;
    }
  if (commit < sim->max_acked_index)
    {
      if (why != NULL)
        g_string_append_printf (why, "leader %u committed %" G_GUINT64_FORMAT
                                ", short of acknowledged index %" G_GUINT64_FORMAT,
                                id, commit, sim->max_acked_index);
      return FALSE;
    }
  for (guint i = 1; i <= sim->n; i++)
    {
      DsmNode *node = sim->nodes[i].node;
      if (node != NULL && sim_in_cluster (sim, i) && dsm_node_get_applied_index (node) < commit)
        {
          if (why != NULL)
            g_string_append_printf (why, "node %u applied %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT,
                                    i, dsm_node_get_applied_index (node), commit);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- dispatch ---- */

static void
deliver (DsmSim *sim, Event *ev)
{
  SimNode *sn = &sim->nodes[ev->node];
  DsmMessage *msg = ev->msg;

  if (sn->node == NULL || !dsm_sim_net_carries (sim->net, msg->from, msg->to, msg->type))
    {
      sim->report.messages_dropped++;
      trace_message (sim, "drop", msg, sn->node == NULL                                           ? "down"
                                       : dsm_sim_net_connected (sim->net, msg->from, msg->to) ? "cut"
                                                                                                : "partition");
      return;
    }
  g_autoptr(DsmMessage) survived = NULL;
  if (ev->corrupt)
    {
      g_autoptr(GError) error = NULL;
      sim->report.messages_corrupted++;
      survived = dsm_sim_net_corrupt (sim->net, msg, &error);
      if (survived == NULL)
        {
          /* What net/ does with a frame it cannot decode. */
          dsm_node_report_invalid (sn->node);
          g_autoptr(GString) why = g_string_new (NULL);
          dsm_codec_write_string (why, error->message);
          trace_message (sim, "corrupt", msg, why->str);
          sim_process (sim, sn);
          return;
        }
      msg = survived;
    }
  sim->report.messages_delivered++;
  trace_message (sim, "deliver", msg, NULL);
  attacker_on_deliver (sim, msg);
  dsm_node_step (sn->node, sim_local_now (sn, sim->now_ms), msg);
  sim_process (sim, sn);
}

/* A paused node takes no input: what reaches it (messages, its timer, an
 * fsync's completion, client requests) waits for the end of the pause, in
 * the order it came.  Returns TRUE when @ev was put off. */
static gboolean
defer_if_paused (DsmSim *sim, Event *ev)
{
  if (ev->kind != EV_DELIVER && ev->kind != EV_TICK && ev->kind != EV_SYNC && ev->kind != EV_CLIENT_ARRIVE)
    return FALSE;
  SimNode *sn = &sim->nodes[ev->node];
  if (sn->node == NULL || sim->now_ms >= sn->paused_until)
    return FALSE;
  ev->time_ms = sn->paused_until;
  if (ev->kind == EV_TICK)
    sn->tick_at = sn->paused_until;
  sim_schedule (sim, ev);
  return TRUE;
}

static void
dispatch (DsmSim *sim, Event *ev)
{
  SimNode *sn = ev->node != DSM_NODE_NONE ? &sim->nodes[ev->node] : NULL;

  switch (ev->kind)
    {
    case EV_DELIVER:
      deliver (sim, ev);
      break;
    case EV_TICK:
      g_assert (sn->tick_event == ev && sn->node != NULL);
      sn->tick_event = NULL;
      sn->tick_at = G_MAXUINT64;
      dsm_node_tick (sn->node, sim_local_now (sn, sim->now_ms));
      sim_process (sim, sn);
      break;
    case EV_SYNC:
      if (ev->gen != sn->incarnation)
        break; /* the node crashed before the fsync finished */
      if (!dsm_sim_disk_sync_end (sn->disk, ev->request_id))
        {
          trace_line (sim, "\"ev\":\"sync_failed\",\"node\":%u,\"seq\":%" G_GUINT64_FORMAT ",\"why\":\"disk full\"",
                      sn->id, ev->request_id);
          if (sn->node != NULL)
            disk_alarm (sim, sn, TRUE);
          break;
        }
      if (sim->trace != NULL)
        trace_line (sim, "\"ev\":\"sync\",\"node\":%u,\"seq\":%" G_GUINT64_FORMAT, sn->id, ev->request_id);
      if (sn->node != NULL)
        {
          dsm_node_persisted (sn->node, sim_local_now (sn, sim->now_ms), ev->request_id);
          if (sn->nospace)
            disk_alarm (sim, sn, FALSE);
          sim_process (sim, sn);
        }
      break;
    case EV_DISK_RETRY:
      /* Tries again what did not fit (an empty sync stands for the segment
       * a node restarted on a full disk could not create). */
      if (ev->gen == sn->incarnation && sn->node != NULL && sn->nospace && !dsm_sim_disk_is_syncing (sn->disk))
        begin_sync (sim, sn);
      break;
    case EV_CLIENT_ARRIVE:
    case EV_CLIENT_REPLY:
    case EV_CLIENT_TIMER:
    case EV_CLIENT_NEXT:
      clients_event (sim, ev);
      break;
    case EV_SCRIPT:
      break; /* script_poll and final_poll run after every event */
    case EV_ADMIN:
      admin_event (sim, ev);
      break;
    case EV_WATCH:
      watchers_event (sim, ev);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* ---- construction and the run ---- */

void
dsm_sim_report_clear (DsmSimReport *report)
{
  g_clear_pointer (&report->failure, g_free);
}

DsmSim *
dsm_sim_new (const DsmScenario *scenario, const DsmSimOptions *options)
{
  DsmSim *sim = g_new0 (DsmSim, 1);

  sim->scenario = dsm_scenario_copy (scenario);
  sim->config = dsm_config_ref (sim->scenario->config);
  if (options != NULL)
    sim->options = *options;
  sim->seed = sim->options.has_seed ? sim->options.seed : scenario->seed;
  sim->trace = sim->options.trace;
  sim->spare_events = g_ptr_array_new_with_free_func (g_free);
  sim->n = sim->config->n_nodes;
  /* Room for every node an add_node step may start (fresh ids N + 1...). */
  sim->capacity = sim->n;
  for (guint i = 0; i < sim->scenario->steps->len; i++)
    if (((const DsmStep *) sim->scenario->steps->pdata[i])->kind == DSM_STEP_ADD_NODE)
      sim->capacity = MIN (sim->capacity + 1, DSM_MAX_NODES);
  sim->nodes = g_new0 (SimNode, sim->capacity + 1);
  sim->net = dsm_sim_net_new (sim->capacity, &sim->scenario->network, sim->seed);
  sim->checker = dsm_checker_new (sim->config, sim->scenario->expect.invariants);
  /* Every command a node may log comes from clients_issue() or admin_issue(). */
  dsm_checker_track_submissions (sim->checker);
  sim->may_forget = scenario_lets_forget (sim->scenario);
  dsm_prng_init (&sim->fault_prng, sim->seed, "faults", 0);
  dsm_outbox_init (&sim->out);
  sim->names = dsm_names_new ();
  sim->history = dsm_history_pack_new (sim->names);
  for (guint id = 1; id <= sim->capacity; id++)
    {
      SimNode *sn = &sim->nodes[id];
      sn->id = id;
      sn->rate = 1.0;
      sn->tick_at = G_MAXUINT64;
      sn->disk = dsm_sim_disk_new (id, &sim->scenario->disk, sim->seed);
    }
  clients_init (sim);
  admin_init (sim);
  attacker_init (sim);
  watchers_init (sim);
  return sim;
}

/* A node joins: fresh id, empty disk. */
void
sim_node_add (DsmSim *sim, DsmNodeId id)
{
  g_assert (id >= 1 && id <= sim->capacity);
  g_assert (sim->nodes[id].node == NULL);
  trace_line (sim, "\"ev\":\"join\",\"node\":%u", id);
  node_start (sim, &sim->nodes[id], NULL);
}

void
dsm_sim_free (DsmSim *sim)
{
  if (sim == NULL)
    return;
  for (guint id = 1; id <= sim->capacity; id++)
    {
      dsm_node_free (sim->nodes[id].node);
      dsm_watch_feed_free (sim->nodes[id].feed);
      dsm_sim_disk_free (sim->nodes[id].disk);
    }
  g_free (sim->nodes);
  for (guint i = 0; i < sim->heap_len; i++)
    {
      Event *ev = sim->heap[i].ev;
      /* A pending timeout goes with its op's last reference. */
      if (ev->kind == EV_CLIENT_TIMER && ev->op->timer == ev)
        ev->op->timer = NULL;
      event_free (sim, ev);
    }
  g_free (sim->heap);
  g_ptr_array_unref (sim->spare_events);
  clients_clear (sim);
  admin_clear (sim);
  attacker_clear (sim);
  watchers_clear (sim);
  g_clear_pointer (&sim->history_whole, g_ptr_array_unref);
  dsm_history_pack_free (sim->history);
  dsm_names_free (sim->names); /* after the ops that point into it */
  dsm_outbox_clear (&sim->out);
  g_clear_pointer (&sim->script_wakeups, g_hash_table_unref);
  dsm_checker_free (sim->checker);
  dsm_sim_net_free (sim->net);
  dsm_config_unref (sim->config);
  dsm_scenario_free (sim->scenario);
  dsm_sim_report_clear (&sim->report);
  g_free (sim);
}

GPtrArray *
dsm_sim_get_history (DsmSim *sim)
{
  guint n = dsm_history_pack_get_len (sim->history);

  g_clear_pointer (&sim->history_whole, g_ptr_array_unref);
  sim->history_whole = g_ptr_array_new_full (n, (GDestroyNotify) dsm_history_op_free);
  for (guint i = 0; i < n; i++)
    {
      DsmHistoryOp scratch;
      g_ptr_array_add (sim->history_whole, dsm_history_op_copy (dsm_history_pack_get (sim->history, i, &scratch)));
    }
  return sim->history_whole;
}

guint
dsm_sim_get_n_ops (DsmSim *sim)
{
  return dsm_history_pack_get_len (sim->history);
}

guint64
dsm_sim_longest_unavailable (DsmSim *sim, guint64 from_ms, guint64 to_ms)
{
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (guint64));

  for (guint i = 0; i < dsm_history_pack_get_len (sim->history); i++)
    {
      DsmHistoryOp scratch;
      const DsmHistoryOp *op = dsm_history_pack_get (sim->history, i, &scratch);
      if (op->completed && op->status == DSM_REPLY_OK)
        g_array_append_val (times, op->complete_ms);
    }
  return dsm_history_longest_unavailable_times (times, from_ms, to_ms);
}

static void
history_add_machine (const char *machine, const DsmMachineDef *def, const char *state,
                     guint64 index, gpointer user_data)
{
  g_hash_table_insert (user_data, g_strdup (machine), g_strdup (state));
}

void
dsm_sim_write_history (DsmSim *sim, GString *out)
{
  g_return_if_fail (sim != NULL);
  g_return_if_fail (out != NULL);

  /* The definitions the run knew at its end: the config's and those the
   * log defined (the checker's model keeps them). */
  dsm_history_write_header (out, dsm_checker_get_config (sim->checker));
  for (guint i = 0; i < dsm_history_pack_get_len (sim->history); i++)
    {
      DsmHistoryOp scratch;
      dsm_history_op_write_json (out, dsm_history_pack_get (sim->history, i, &scratch));
      g_string_append_c (out, '\n');
    }
  for (guint id = 1; id <= sim->n; id++)
    {
      DsmNode *node = sim->nodes[id].node;
      /* Removed nodes, and nodes that never became members, are no part
       * of the cluster's final state. */
      if (node == NULL || !sim_in_cluster (sim, id))
        continue;
      g_autoptr(GHashTable) machines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_autofree char *name = g_strdup_printf ("%u", id);
      dsm_store_foreach_range (dsm_node_get_store (node), 0, G_MAXUINT, history_add_machine, machines);
      dsm_history_write_final (out, name, machines);
    }
}

/* The history by machine, for dsm_checker_finish_each(): the ops' places
 * grouped by machine (a counting sort on the machines' names ids), and
 * one machine's ops unpacked at a time. */
typedef struct {
  DsmSim *sim;
  guint *start;        /* by names id: where its ops begin in order (n_ids + 1) */
  guint *order;        /* the ops' places, machine after machine, each in history order */
  GArray *scratch;     /* DsmHistoryOp: the machine being checked, unpacked */
} ByMachine;

static void
by_machine_get_ops (const char *machine, GPtrArray *ops, gpointer user_data)
{
  ByMachine *by = user_data;
  guint32 id = dsm_names_find (by->sim->names, machine);
  guint n = by->start[id + 1] - by->start[id];

  g_assert (id != 0);
  g_array_set_size (by->scratch, n);
  for (guint j = 0; j < n; j++)
    {
      DsmHistoryOp *slot = &g_array_index (by->scratch, DsmHistoryOp, j);
      g_ptr_array_add (ops, (gpointer) dsm_history_pack_get (by->sim->history, by->order[by->start[id] + j], slot));
    }
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The end of run's checks.  With nothing to merge and no plugin to
 * judge, the history is handed to the checker one machine at a time, so
 * it is never whole in memory (check/history-pack.h). */
static void
run_finish_checks (DsmSim *sim, const guint64 *applied, guint live)
{
  if (sim->history_copies || dsm_checker_has_plugins (sim->checker))
    {
      dsm_checker_finish (sim->checker, sim->now_ms, dsm_sim_get_history (sim), applied, live);
      g_clear_pointer (&sim->history_whole, g_ptr_array_unref);
      return;
    }

  guint n = dsm_history_pack_get_len (sim->history);
  guint n_ids = dsm_names_get_n (sim->names) + 1;
  g_autofree guint *start = g_new0 (guint, n_ids + 1);
  g_autofree guint *fill = g_new0 (guint, n_ids);
  g_autofree guint *order = g_new (guint, MAX (n, 1));
  g_autoptr(GPtrArray) machines = g_ptr_array_new ();
  g_autoptr(GArray) scratch = g_array_new (FALSE, TRUE, sizeof (DsmHistoryOp));

  for (guint i = 0; i < n; i++)
    {
      guint32 id = dsm_history_pack_get_machine (sim->history, i);
      g_assert (id != 0 && id < n_ids);
      start[id + 1]++;
    }
  for (guint id = 1; id < n_ids; id++)
    {
      if (start[id + 1] > 0)
        g_ptr_array_add (machines, (gpointer) dsm_names_get (sim->names, id));
      start[id + 1] += start[id];
    }
  for (guint i = 0; i < n; i++)
    {
      guint32 id = dsm_history_pack_get_machine (sim->history, i);
      order[start[id] + fill[id]++] = i;
    }
  g_ptr_array_sort (machines, compare_names);
  ByMachine by = { .sim = sim, .start = start, .order = order, .scratch = scratch };
  dsm_checker_finish_each (sim->checker, sim->now_ms, (const char *const *) machines->pdata, machines->len,
                           by_machine_get_ops, &by, applied, live);
}

static void
run_finish (DsmSim *sim, DsmSimReport *report)
{
  g_autofree guint64 *applied = g_new0 (guint64, sim->n);
  guint live = 0;

  for (guint id = 1; id <= sim->n; id++)
    if (sim->nodes[id].node != NULL && sim_in_cluster (sim, id))
      applied[live++] = dsm_node_get_applied_index (sim->nodes[id].node);
  if (dsm_checker_ok (sim->checker) && sim->final == PHASE_DONE)
    watchers_finish (sim);
  if (dsm_checker_ok (sim->checker) && sim->final == PHASE_DONE)
    run_finish_checks (sim, applied, live);

  for (guint id = 1; id <= sim->n; id++)
    {
      SimNode *sn = &sim->nodes[id];
      if (sn->node != NULL)
        node_bank_counters (sn);
      report->retries += sn->retries;
      report->snapshots_installed += sn->snapshots_installed;
      report->invalid_messages += sn->invalid;
      report->elections += sn->elections_won;
      report->fsyncs += dsm_sim_disk_get_fsyncs (sn->disk);
    }
  report->ok = dsm_checker_ok (sim->checker);
  if (!report->ok)
    {
      report->failed_invariant = dsm_checker_get_failed (sim->checker);
      report->failure = g_strdup (dsm_checker_get_message (sim->checker));
      report->failed_at_ms = dsm_checker_get_failed_at (sim->checker);
    }
  report->seed = sim->seed;
  report->virtual_ms = sim->now_ms;
  report->events = sim->events;
  report->entries_committed = dsm_checker_get_committed (sim->checker);
  report->lin_states = dsm_checker_get_lin_states (sim->checker);
}

void
dsm_sim_run (DsmSim *sim, DsmSimReport *report)
{
  guint64 max_events = sim->options.max_events != 0 ? sim->options.max_events : 50000000;

  attacker_run_twin (sim);
  for (guint id = 1; id <= sim->n; id++)
    node_start (sim, &sim->nodes[id], NULL);
  clients_start (sim);
  watchers_start (sim);
  script_advance (sim);

  Event *ev;
  while (!sim->stop && sim->final != PHASE_DONE && (ev = heap_pop (sim)) != NULL)
    {
      g_assert (ev->time_ms >= sim->now_ms);
      sim->now_ms = ev->time_ms;
      sim->events++;
      if (!defer_if_paused (sim, ev))
        {
          dispatch (sim, ev);
          event_free (sim, ev);
        }
      script_poll (sim);
      final_poll (sim);
      if (!dsm_checker_ok (sim->checker))
        sim->stop = TRUE;
      else if (sim->events >= max_events)
        {
          dsm_checker_fail (sim->checker, DSM_INVARIANT_LIVENESS, sim->now_ms,
                            "the run passed %" G_GUINT64_FORMAT " events without settling", max_events);
          sim->stop = TRUE;
        }
    }
  if (sim->final == PHASE_DONE)
    attacker_compare_twin (sim);
  *report = sim->report;
  sim->report.failure = NULL;
  run_finish (sim, report);
}
