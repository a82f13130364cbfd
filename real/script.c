/* real/script.c: a scenario's steps on the wall clock, as sim/script.c
 * runs them on virtual time: each at its at_ms or after_ms, faults at
 * once, waits, awaits polled every REAL_POLL_MS until their condition
 * holds or their within_ms passes, client steps through the script's own
 * client; then the final heal and the liveness phases.  A fault that
 * cannot be made real is skipped and the kind's reason recorded. */
#include "real-private.h"

#include <signal.h>
#include <string.h>

static void
script_fail (DsmReal *real, const DsmStep *step, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
script_fail (DsmReal *real, const DsmStep *step, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  real_fail (real, DSM_INVARIANT_EXPECTATIONS, "%s (%s): %s", step->where, dsm_step_kind_to_string (step->kind), what);
}

/* ---- targets ---- */

static gboolean
script_resolve_now (DsmReal *real, const DsmTarget *target, DsmNodeId *out)
{
  switch (target->kind)
    {
    case DSM_TARGET_NODE:
      *out = target->id;
      return TRUE;
    case DSM_TARGET_LEADER:
      *out = real_leader (real, NULL);
      break;
    case DSM_TARGET_FOLLOWER:
      *out = real_pick_live (real, TRUE);
      break;
    case DSM_TARGET_RANDOM:
      *out = real_pick_live (real, FALSE);
      break;
    case DSM_TARGET_ALL:
    default:
      *out = DSM_NODE_NONE;
      return TRUE;
    }
  return *out != DSM_NODE_NONE;
}

/* A role nobody holds: the step fails, is skipped or waits for it, as
 * its "no_target" says (docs/SCENARIOS.md, "Node selectors"). */
static gboolean
script_resolve (DsmReal *real, const DsmTarget *target, const DsmStep *step, DsmNodeId *out)
{
  const char *role = target->kind == DSM_TARGET_LEADER ? "leader"
                     : target->kind == DSM_TARGET_FOLLOWER ? "follower" : "live node";
  gint64 deadline_us = g_get_monotonic_time () + (gint64) real->scenario->expect.leader_within_ms * 1000;

  while (!script_resolve_now (real, target, out))
    {
      if (step->no_target == DSM_NO_TARGET_WAIT && g_get_monotonic_time () < deadline_us
          && real_wait_until (real, MIN (deadline_us, g_get_monotonic_time () + REAL_POLL_MS * 1000)))
        continue;
      if (step->no_target == DSM_NO_TARGET_SKIP)
        real_log (real, "%s (%s): skipped: no %s now", step->where, dsm_step_kind_to_string (step->kind), role);
      else
        script_fail (real, step, "no %s%s", role, step->no_target == DSM_NO_TARGET_WAIT ? " in time" : " to aim at");
      return FALSE;
    }
  return TRUE;
}

/* ---- conditions ---- */

static gboolean
node_has_state (DsmReal *real, DsmNodeId id, const char *machine, const char *state, GString *why)
{
  g_autofree char *found = dsm_real_api_stale_state (real->nodes[id].client_port, real->token, machine,
                                                     REAL_POLL_TIMEOUT_US);

  if (g_strcmp0 (found, state) == 0)
    return TRUE;
  if (why != NULL)
    g_string_append_printf (why, "node %u has %s in %s", id, machine, found != NULL ? found : "-");
  return FALSE;
}

static gboolean
condition_holds (DsmReal *real, const DsmStep *step, GString *why)
{
  switch (step->condition)
    {
    case DSM_CONDITION_LEADER:
      return real_leader_ready (real);
    case DSM_CONDITION_NO_LEADER:
      return real_leader (real, NULL) == DSM_NODE_NONE;
    case DSM_CONDITION_COMMITTED:
      {
        DsmNodeId id = real_leader (real, NULL);
        if (id == DSM_NODE_NONE)
          {
            if (why != NULL)
              g_string_append (why, "no leader");
            return FALSE;
          }
        return node_has_state (real, id, step->machine, step->state, why);
      }
    case DSM_CONDITION_CAUGHT_UP:
      return real_caught_up (real, why);
    case DSM_CONDITION_REPLIES:
      {
        g_mutex_lock (&real->lock);
        gboolean answered = real->scripted_pending == 0;
        g_mutex_unlock (&real->lock);
        return answered;
      }
    case DSM_CONDITION_STATE:
      for (guint id = 1; id <= real->n; id++)
        {
          gboolean wanted = step->on != DSM_NODES_ONE || step->on_id == id;
          if (!wanted)
            continue;
          if (!real_node_running (real, &real->nodes[id]))
            {
              if (step->on == DSM_NODES_LIVE)
                continue;
              if (why != NULL)
                g_string_append_printf (why, "node %u is down", id);
              return FALSE;
            }
          if (!node_has_state (real, id, step->machine, step->state, why))
            return FALSE;
        }
      return TRUE;
    default:
      g_assert_not_reached ();
    }
}

/* ---- the network: partitions, isolations and cuts as links ---- */

static void
links_apply (DsmReal *real)
{
  for (guint a = 1; a <= real->n; a++)
    for (guint b = 1; b <= real->n; b++)
      {
        if (a == b)
          continue;
        DsmProxyLink link = DSM_PROXY_OPEN;
        if (real->group[a] != real->group[b] || real->isolated[a] || real->isolated[b])
          link = DSM_PROXY_DROP;
        else if (real->cut[a * (real->n + 1) + b])
          link = DSM_PROXY_HOLD;
        if (dsm_proxy_get_link (real->proxy, a, b) != link)
          dsm_proxy_set_link (real->proxy, a, b, link);
      }
}

static void
links_heal (DsmReal *real)
{
  memset (real->group, 0, (real->n + 1) * sizeof *real->group);
  memset (real->isolated, 0, (real->n + 1) * sizeof *real->isolated);
  memset (real->cut, 0, (real->n + 1) * (real->n + 1) * sizeof *real->cut);
  dsm_proxy_heal (real->proxy);
}

static gint64
window_until (const DsmStep *step)
{
  return step->for_ms == 0 ? G_MAXINT64 : g_get_monotonic_time () + (gint64) step->for_ms * 1000;
}

/* ---- faults ---- */

static const char skip_duplicate[] =
  "TCP delivers each byte once, and a frame sent twice is refused by its sequence-numbered MAC, "
  "so a message cannot arrive twice";
static const char skip_reorder[] =
  "TCP delivers a connection's frames in order and a node keeps one connection per peer, "
  "so a later message cannot overtake an earlier one";

const char *
dsm_real_skip_reason (const DsmStep *step)
{
  g_return_val_if_fail (step != NULL, NULL);

  switch (step->kind)
    {
    case DSM_STEP_DUPLICATE:
      return skip_duplicate;
    case DSM_STEP_REORDER:
      return skip_reorder;
    case DSM_STEP_SKEW:
      return "a process reads the host's monotonic clock, whose rate it cannot be given from outside";
    case DSM_STEP_DISK_FAULT:
      if (step->disk_fault == DSM_DISK_FAULT_LOST_FSYNC)
        return "an fsync that lies cannot be made from user space: SIGKILL keeps the page cache, and "
               "dropping records would destroy some that a completed fsync made durable";
      return NULL;
    case DSM_STEP_WATCH_RECONNECT:
      return "the simulator's watchers only; watchers of real nodes across leader kills and their own "
             "reconnects are tests/net/test-watch.c";
    case DSM_STEP_FORGE:
    case DSM_STEP_REPLAY:
    case DSM_STEP_SPOOF:
      return "the simulator's attacker injects into its modelled links; against real nodes the same "
             "attacks are tests/net/test-cluster-tamper.c and tools/attack-replay (docs/SECURITY.md)";
    case DSM_STEP_DISK_FULL:
    case DSM_STEP_DISK_SPACE_RESTORED:
      return "filling a data directory needs a file system of its own for each node (a tmpfs, which "
             "needs root); tests/net/test-nospace.c fills real nodes' disks that way";
    case DSM_STEP_ADD_NODE:
    case DSM_STEP_REMOVE_NODE:
    case DSM_STEP_PROMOTE:
      return "the real backend does not drive membership changes yet: a joining node needs a proxy "
             "front of its own, and a removed one must leave the final checks (docs/OPERATIONS.md, "
             "\"Two backends\")";
    case DSM_STEP_AWAIT:
    case DSM_STEP_EXPECT:
      if (step->condition == DSM_CONDITION_VOTERS)
        return "the real backend does not read the nodes' membership (GET /v1/members) yet";
      return NULL;
    case DSM_STEP_PARTITION:
      if (step->group_targets != NULL)
        return "selectors in partition groups are resolved by the simulator only, for now";
      return NULL;
    case DSM_STEP_CUT:
      if (step->message_types != 0)
        return "a cut of some message types only is the simulator's, for now: the proxy forwards "
               "frames without reading their types";
      return NULL;
    case DSM_STEP_CRASH:
    case DSM_STEP_RESTART:
    case DSM_STEP_PAUSE:
    case DSM_STEP_ISOLATE:
    case DSM_STEP_HEAL:
    case DSM_STEP_LOSS:
    case DSM_STEP_DELAY:
    case DSM_STEP_CORRUPT:
    case DSM_STEP_PROPOSE:
    case DSM_STEP_READ:
    case DSM_STEP_WAIT:
    case DSM_STEP_TRANSFER_LEADER:
    case DSM_STEP_DEFINE:
      return NULL;
    default:
      return "the real backend does not run this kind of step yet";
    }
}

/* The name a skipped step's kind is reported under. */
static char *
skip_kind (const DsmStep *step)
{
  if (step->kind == DSM_STEP_DISK_FAULT)
    return g_strdup (step->disk_fault == DSM_DISK_FAULT_LOST_FSYNC ? "disk lost_fsync" : "disk");
  if (step->kind == DSM_STEP_AWAIT || step->kind == DSM_STEP_EXPECT)
    return g_strdup_printf ("%s %s", dsm_step_kind_to_string (step->kind), dsm_condition_to_string (step->condition));
  return g_strdup (dsm_step_kind_to_string (step->kind));
}

static void
skip_record (DsmReal *real, const char *kind, const char *reason)
{
  if (!g_hash_table_contains (real->skipped, kind))
    g_hash_table_insert (real->skipped, g_strdup (kind), g_strdup (reason));
}

static void
step_skip (DsmReal *real, const DsmStep *step, const char *kind, const char *reason)
{
  real_log (real, "%s (%s): SKIPPED: %s", step->where, kind, reason);
  skip_record (real, kind, reason);
  real->n_skipped_steps++;
}

/* The network model's own duplication and reordering, for the whole run:
 * as impossible on TCP as the steps (its loss is made real by the proxy,
 * its latencies by the proxy and the real sockets). */
static void
skip_settings (DsmReal *real)
{
  const DsmNetworkModel *net = &real->scenario->network;

  if (net->duplicate_percent > 0)
    {
      real_log (real, "network.duplicate_percent: SKIPPED: %s", skip_duplicate);
      skip_record (real, "network duplicate_percent", skip_duplicate);
    }
  if (net->reorder_percent > 0)
    {
      real_log (real, "network.reorder_percent: SKIPPED: %s", skip_reorder);
      skip_record (real, "network reorder_percent", skip_reorder);
    }
}

/* A step naming a node past the cluster's: one that only a membership
 * step (not run here) would have added. */
static DsmNodeId
step_missing_node (const DsmReal *real, const DsmStep *step)
{
  if (step->target.kind == DSM_TARGET_NODE && step->target.id > real->n)
    return step->target.id;
  if (step->target_to.kind == DSM_TARGET_NODE && step->target_to.id > real->n)
    return step->target_to.id;
  if ((step->kind == DSM_STEP_AWAIT || step->kind == DSM_STEP_EXPECT) && step->on == DSM_NODES_ONE
      && step->on_id > real->n)
    return step->on_id;
  return DSM_NODE_NONE;
}

/* Whether @step is skipped (and reported so). */
static gboolean
step_skipped (DsmReal *real, const DsmStep *step)
{
  const char *reason = dsm_real_skip_reason (step);
  DsmNodeId missing = step_missing_node (real, step);

  if (reason != NULL)
    {
      g_autofree char *kind = skip_kind (step);
      step_skip (real, step, kind, reason);
      return TRUE;
    }
  if (missing != DSM_NODE_NONE)
    {
      g_autofree char *kind = g_strdup_printf ("%s on a node added later", dsm_step_kind_to_string (step->kind));
      g_autofree char *why = g_strdup_printf ("node %u exists only once an add_node step (not run here) adds it",
                                              missing);
      step_skip (real, step, kind, why);
      return TRUE;
    }
  return FALSE;
}

static void
run_fault (DsmReal *real, const DsmStep *step)
{
  DsmNodeId id = DSM_NODE_NONE;

  switch (step->kind)
    {
    case DSM_STEP_CRASH:
      if (!script_resolve (real, &step->target, step, &id))
        return;
      for (guint i = 1; i <= real->n; i++)
        if ((id == DSM_NODE_NONE || id == i) && real_node_running (real, &real->nodes[i]))
          {
            real_node_crash (real, &real->nodes[i]);
            real_log (real, "%s (crash): node %u killed (SIGKILL)", step->where, i);
          }
      break;
    case DSM_STEP_RESTART:
      if (!script_resolve (real, &step->target, step, &id))
        return;
      for (guint i = 1; i <= real->n; i++)
        {
          RealNode *rn = &real->nodes[i];
          if ((id == DSM_NODE_NONE || id == i) && rn->proc == NULL && !rn->refused)
            {
              real_node_start (real, rn);
              real_log (real, "%s (restart): node %u started", step->where, i);
            }
        }
      break;
    case DSM_STEP_PARTITION:
      for (guint g = 0; g < step->groups->len; g++)
        {
          GArray *group = step->groups->pdata[g];
          for (guint k = 0; k < group->len; k++)
            real->group[g_array_index (group, DsmNodeId, k)] = g;
        }
      links_apply (real);
      real_log (real, "%s (partition): %u groups; connections across them cut, new ones closed at their hello",
                step->where, step->groups->len);
      break;
    case DSM_STEP_ISOLATE:
      if (!script_resolve (real, &step->target, step, &id))
        return;
      for (guint i = 1; i <= real->n; i++)
        if (id == DSM_NODE_NONE || id == i)
          real->isolated[i] = TRUE;
      links_apply (real);
      real_log (real, "%s (isolate): node %u cut off both ways", step->where, id);
      break;
    case DSM_STEP_CUT:
      {
        DsmNodeId to = DSM_NODE_NONE;
        if (!script_resolve (real, &step->target, step, &id) || !script_resolve (real, &step->target_to, step, &to))
          return;
        for (guint a = 1; a <= real->n; a++)
          for (guint b = 1; b <= real->n; b++)
            if (a != b && (id == DSM_NODE_NONE || id == a) && (to == DSM_NODE_NONE || to == b))
              real->cut[a * (real->n + 1) + b] = TRUE;
        links_apply (real);
        real_log (real, "%s (cut): frames from node %u to node %u held in the proxy", step->where, id, to);
        break;
      }
    case DSM_STEP_HEAL:
      links_heal (real);
      real_log (real, "%s (heal): every link open, every window over", step->where);
      break;
    case DSM_STEP_LOSS:
      dsm_proxy_set_loss (real->proxy, step->percent, window_until (step));
      real_log (real, "%s (loss): %u%% of frames lost, each with its connection (reset)", step->where, step->percent);
      break;
    case DSM_STEP_DELAY:
      dsm_proxy_set_delay (real->proxy, step->ms, window_until (step));
      real_log (real, "%s (delay): every frame %" G_GUINT64_FORMAT " ms later", step->where, step->ms);
      break;
    case DSM_STEP_CORRUPT:
      dsm_proxy_set_corrupt (real->proxy, step->percent, step->corrupt_mode == DSM_CORRUPT_TRUNCATE,
                             window_until (step));
      real_log (real, "%s (corrupt): %u%% of frames %s", step->where, step->percent,
                step->corrupt_mode == DSM_CORRUPT_TRUNCATE ? "cut short, then their connection closed"
                                                           : "with one bit flipped (the receiver must refuse them)");
      break;
    case DSM_STEP_PAUSE:
      if (!script_resolve (real, &step->target, step, &id))
        return;
      for (guint i = 1; i <= real->n; i++)
        if ((id == DSM_NODE_NONE || id == i) && real_node_running (real, &real->nodes[i]))
          {
            real_node_pause (real, &real->nodes[i], step->ms);
            real_log (real, "%s (pause): node %u stopped (SIGSTOP) for %" G_GUINT64_FORMAT " ms", step->where, i,
                      step->ms);
          }
      break;
    case DSM_STEP_DISK_FAULT:
      if (!script_resolve (real, &step->target, step, &id))
        return;
      for (guint i = 1; i <= real->n; i++)
        if (id == DSM_NODE_NONE || id == i)
          real->nodes[i].armed = step->disk_fault;
      real_log (real, "%s (disk): armed on node %u: strikes at its next crash", step->where, id);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* ---- steps ---- */

/* Polls @step's condition until it holds or @deadline_us passes. */
static gboolean
await_condition (DsmReal *real, const DsmStep *step, gint64 deadline_us)
{
  for (;;)
    {
      if (condition_holds (real, step, NULL))
        return TRUE;
      if (g_get_monotonic_time () >= deadline_us)
        return FALSE;
      if (!real_wait_until (real, MIN (deadline_us, g_get_monotonic_time () + REAL_POLL_MS * 1000)))
        return FALSE;
    }
}

static void
run_client_step (DsmReal *real, const DsmStep *step)
{
  DsmNodeId id = DSM_NODE_NONE;

  if (!script_resolve (real, &step->target, step, &id))
    {
      script_fail (real, step, "no node to send to");
      return;
    }
  if (id == DSM_NODE_NONE)
    id = real_pick_live (real, FALSE);
  if (id == DSM_NODE_NONE)
    id = 1;
  RealOp *rop = real_clients_issue_scripted (real, &step->cmd, id);
  real_log (real, "%s (%s): %s %s sent to node %u", step->where, dsm_step_kind_to_string (step->kind),
            step->cmd.machine, step->cmd.to != NULL ? step->cmd.to : "", id);
  if (!step->has_expect_reply)
    return;
  gint64 deadline = g_get_monotonic_time () + (gint64) step->within_ms * 1000;
  while (!g_atomic_int_get (&rop->done) && g_get_monotonic_time () < deadline)
    if (!real_wait_until (real, MIN (deadline, g_get_monotonic_time () + REAL_POLL_MS * 1000)))
      return;
  if (!g_atomic_int_get (&rop->done))
    {
      script_fail (real, step, "no reply within %" G_GUINT64_FORMAT " ms", step->within_ms);
      return;
    }
  const DsmHistoryOp *op = rop->op;
  real_log (real, "%s (%s): answered %s%s%s", step->where, dsm_step_kind_to_string (step->kind),
            dsm_reply_status_to_string (op->status), op->state ? ", state " : "", op->state ? op->state : "");
  if (op->status != step->expect_reply)
    script_fail (real, step, "expected %s, got %s (%s)%s%s", dsm_reply_status_to_string (step->expect_reply),
                 dsm_reply_status_to_string (op->status), dsm_reject_reason_to_string (op->reason),
                 op->state ? ", state " : "", op->state ? op->state : "");
}

static void
run_step (DsmReal *real, const DsmStep *step)
{
  if (step_skipped (real, step))
    return;
  switch (step->kind)
    {
    case DSM_STEP_WAIT:
      real_wait_until (real, g_get_monotonic_time () + (gint64) step->ms * 1000);
      break;
    case DSM_STEP_AWAIT:
      if (await_condition (real, step, g_get_monotonic_time () + (gint64) step->within_ms * 1000))
        real_log (real, "%s (await %s): holds", step->where, dsm_condition_to_string (step->condition));
      else if (!real->stopped)
        {
          g_autoptr(GString) why = g_string_new (NULL);
          condition_holds (real, step, why);
          script_fail (real, step, "not met within %" G_GUINT64_FORMAT " ms%s%s", step->within_ms,
                       why->len ? ": " : "", why->str);
        }
      break;
    case DSM_STEP_EXPECT:
      {
        g_autoptr(GString) why = g_string_new (NULL);
        if (!condition_holds (real, step, why))
          script_fail (real, step, "does not hold: %s", why->str);
        else
          real_log (real, "%s (expect %s): holds", step->where, dsm_condition_to_string (step->condition));
        break;
      }
    case DSM_STEP_PROPOSE:
    case DSM_STEP_READ:
      run_client_step (real, step);
      break;
    case DSM_STEP_TRANSFER_LEADER:
      {
        DsmNodeId to = DSM_NODE_NONE;
        if (step->target_to.kind == DSM_TARGET_ALL || script_resolve (real, &step->target_to, step, &to))
          real_admin_transfer (real, step, to);
        break;
      }
    case DSM_STEP_DEFINE:
      {
        g_autoptr(GString) why = g_string_new (NULL);
        if (real_admin_define (real, step, why))
          break;
        if (step->admin_wait)
          script_fail (real, step, "not done within %" G_GUINT64_FORMAT " ms: %s", step->within_ms, why->str);
        else
          real_log (real, "%s (define): not done: %s", step->where, why->str);
        break;
      }
    default:
      run_fault (real, step);
      break;
    }
}

void
real_script_run (DsmReal *real)
{
  GPtrArray *steps = real->scenario->steps;
  guint64 prev_done_ms = 0;

  skip_settings (real);
  for (guint i = 0; i < steps->len && real_ok (real); i++)
    {
      const DsmStep *step = steps->pdata[i];
      guint64 start = step->has_at ? step->at_ms : prev_done_ms + step->after_ms;
      if (!real_wait_until (real, real->start_us + (gint64) start * 1000))
        return;
      run_step (real, step);
      prev_done_ms = real_now_ms (real);
    }
}

/* ---- the final heal ---- */

static void
final_expectations (DsmReal *real)
{
  const DsmExpectations *e = &real->scenario->expect;
  RealCounters c = real_counters_total (real);
  DsmRealReport *r = &real->report;

  real_nodes_read_logs (real);
#define EXPECT_MIN(value, bound, what)                                                            \
  if ((value) < (bound))                                                                          \
    real_fail (real, DSM_INVARIANT_EXPECTATIONS, "expect.%s: %" G_GUINT64_FORMAT " < %" G_GUINT64_FORMAT, what, \
               (guint64) (value), (guint64) (bound));
  EXPECT_MIN (r->commits, e->min_commits, "min_commits");
  EXPECT_MIN (r->ops_unknown, e->min_unknown, "min_unknown");
  EXPECT_MIN (r->ops_rejected, e->min_rejected, "min_rejected");
  EXPECT_MIN (c.retries, e->min_retries, "min_retries");
  EXPECT_MIN (r->elections, e->min_elections, "min_elections");
  EXPECT_MIN (c.snapshots_installed, e->min_snapshots_installed, "min_snapshots_installed");
  EXPECT_MIN (c.invalid, e->min_invalid_messages, "min_invalid_messages");
#undef EXPECT_MIN
  if (e->max_elections != 0 && r->elections > e->max_elections)
    real_fail (real, DSM_INVARIANT_EXPECTATIONS, "expect.max_elections: %" G_GUINT64_FORMAT " > %" G_GUINT64_FORMAT,
               r->elections, e->max_elections);
  if (e->final_states == NULL)
    return;
  GHashTableIter iter;
  gpointer machine, state;
  g_hash_table_iter_init (&iter, e->final_states);
  while (g_hash_table_iter_next (&iter, &machine, &state))
    for (guint id = 1; id <= real->n; id++)
      {
        g_autoptr(GString) why = g_string_new (NULL);
        if (real_node_running (real, &real->nodes[id]) && !node_has_state (real, id, machine, state, why))
          real_fail (real, DSM_INVARIANT_EXPECTATIONS, "expect.final_states: %s, not %s", why->str,
                     (const char *) state);
      }
}

void
real_final_run (DsmReal *real)
{
  const DsmExpectations *expect = &real->scenario->expect;

  /* The workload ends at its own time, whatever the script did. */
  if (!real_wait_until (real, real->start_us + (gint64) real->workload_end_ms * 1000))
    return;
  links_heal (real);
  real_nodes_resume_due (real, TRUE);
  for (guint id = 1; id <= real->n; id++)
    {
      RealNode *rn = &real->nodes[id];
      if (rn->proc == NULL && !rn->refused)
        real_node_start (real, rn);
    }
  real_log (real, "final heal: network healed, every crashed node restarted");

  gint64 deadline = g_get_monotonic_time () + (gint64) expect->leader_within_ms * 1000;
  while (!real_leader_ready (real))
    if (g_get_monotonic_time () >= deadline
        || !real_wait_until (real, MIN (deadline, g_get_monotonic_time () + REAL_POLL_MS * 1000)))
      {
        if (!real->stopped)
          real_fail (real, DSM_INVARIANT_LIVENESS, "no leader within %" G_GUINT64_FORMAT " ms after the faults healed",
                     expect->leader_within_ms);
        return;
      }
  real_log (real, "final: leader %u is usable", real_leader (real, NULL));

  deadline = g_get_monotonic_time () + (gint64) expect->settle_ms * 1000;
  for (;;)
    {
      guint pending = real_clients_pending (real);
      if (pending == 0 && real_caught_up (real, NULL))
        break;
      if (g_get_monotonic_time () >= deadline
          || !real_wait_until (real, MIN (deadline, g_get_monotonic_time () + REAL_POLL_MS * 1000)))
        {
          g_autoptr(GString) why = g_string_new (NULL);
          real_caught_up (real, why);
          if (!real->stopped)
            real_fail (real, DSM_INVARIANT_LIVENESS,
                       "not settled %" G_GUINT64_FORMAT " ms after a leader was back: %u operations unanswered%s%s",
                       expect->settle_ms, pending, why->len ? ", " : "", why->str);
          return;
        }
    }
  real_log (real, "final: every operation answered, every live node caught up");
  final_expectations (real);
}
