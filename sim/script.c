/* sim/script.c: a scenario's steps, run in sequence on virtual time, and
 * the final phase that heals everything and checks liveness.
 *
 *   READY --step time--> fault/expect (done at once) --> READY
 *   READY --wait--> WAITING --deadline--> READY
 *   READY --await--> AWAITING --condition--> READY   (--deadline--> failure)
 *   READY --propose/read with expect--> REPLY --answer--> READY
 *   READY --membership change or define (expect ok)--> ADMIN --committed--> READY
 *   READY --fault whose role nobody holds, no_target wait--> TARGET --held--> fault, READY
 *   READY --no steps left--> DONE
 * Final: RUNNING --script done, workload over--> heal, SETTLE_LEADER
 *   --leader within leader_within_ms--> SETTLE_CONVERGE
 *   --answers and caught up within settle_ms--> DONE */
#include "sim-private.h"

#include <string.h>

#include "codec.h"

/* Wakes the script at @at_ms (once: it is polled after every event, and
 * a timer per poll would flood the heap). */
static void
script_timer (DsmSim *sim, guint64 at_ms)
{
  if (sim->script_wakeups != NULL && g_hash_table_contains (sim->script_wakeups, &at_ms))
    return;
  if (sim->script_wakeups == NULL)
    sim->script_wakeups = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_hash_table_add (sim->script_wakeups, g_memdup2 (&at_ms, sizeof at_ms));
  sim_schedule (sim, sim_event_new (sim, EV_SCRIPT, at_ms));
}

static void
script_fail (DsmSim *sim, const DsmStep *step, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
script_fail (DsmSim *sim, const DsmStep *step, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  dsm_checker_fail (sim->checker, DSM_INVARIANT_EXPECTATIONS, sim->now_ms, "%s (%s): %s",
                    step->where, dsm_step_kind_to_string (step->kind), what);
}

/* ---- targets ---- */

static guint
pick_live_count (DsmSim *sim, gboolean followers_only)
{
  DsmNodeId leader = sim_leader (sim);
  guint n = 0;

  for (guint id = 1; id <= sim->n; id++)
    n += sim->nodes[id].node != NULL && !(followers_only && id == leader);
  return n;
}

static DsmNodeId
pick_live (DsmSim *sim, gboolean followers_only)
{
  DsmNodeId leader = sim_leader (sim);
  DsmNodeId candidates[DSM_MAX_NODES];
  guint n = 0;

  for (guint id = 1; id <= sim->n; id++)
    if (sim->nodes[id].node != NULL && !(followers_only && id == leader))
      candidates[n++] = id;
  if (n == 0)
    return DSM_NODE_NONE;
  return candidates[dsm_prng_range (&sim->fault_prng, 0, n - 1)];
}

gboolean
script_resolve_target (DsmSim *sim, const DsmTarget *target, const char *where, DsmNodeId *out)
{
  switch (target->kind)
    {
    case DSM_TARGET_NODE:
      *out = target->id;
      return TRUE;
    case DSM_TARGET_LEADER:
      *out = sim_leader (sim);
      break;
    case DSM_TARGET_FOLLOWER:
      *out = pick_live (sim, TRUE);
      break;
    case DSM_TARGET_RANDOM:
      *out = pick_live (sim, FALSE);
      break;
    case DSM_TARGET_ALL:
    default:
      *out = DSM_NODE_NONE;
      return TRUE;
    }
  if (*out == DSM_NODE_NONE)
    {
      /* A fault aimed at a role nobody holds right now hits nothing; the
       * trace says so. */
      trace_line (sim, "\"ev\":\"skipped\",\"step\":\"%s\",\"why\":\"no %s\"", where,
                  target->kind == DSM_TARGET_LEADER ? "leader" : target->kind == DSM_TARGET_FOLLOWER ? "follower" : "live node");
      return FALSE;
    }
  return TRUE;
}

/* Counts the nodes a partition's selectors may take: live ones, not
 * listed by id, and (for followers) not the leader. */
static void
partition_candidates (DsmSim *sim, const DsmStep *step, gboolean *listed, guint *n_live, guint *n_followers)
{
  DsmNodeId leader = sim_leader (sim);

  *n_live = *n_followers = 0;
  for (guint g = 0; g < step->group_targets->len; g++)
    {
      const GArray *group = step->group_targets->pdata[g];
      for (guint k = 0; k < group->len; k++)
        if (g_array_index (group, DsmTarget, k).kind == DSM_TARGET_NODE)
          listed[g_array_index (group, DsmTarget, k).id] = TRUE;
    }
  for (guint id = 1; id <= sim->n; id++)
    if (sim->nodes[id].node != NULL && !listed[id])
      {
        *n_live += 1;
        *n_followers += id != leader;
      }
}

/* The role a fault's selectors need that nobody holds now, or NULL when
 * the step can run.  Draws nothing, so checking it changes no run. */
static const char *
fault_missing_role (DsmSim *sim, const DsmStep *step)
{
  const DsmTarget *targets[] = { &step->target, &step->target_to };
  DsmNodeId leader = sim_leader (sim);

  if (step->kind == DSM_STEP_PARTITION && step->group_targets != NULL)
    {
      gboolean listed[DSM_MAX_NODES + 1] = { FALSE };
      guint n_live, n_followers, want_leader = 0, want_followers = 0, want_any = 0;
      partition_candidates (sim, step, listed, &n_live, &n_followers);
      for (guint g = 0; g < step->group_targets->len; g++)
        {
          const GArray *group = step->group_targets->pdata[g];
          for (guint k = 0; k < group->len; k++)
            {
              DsmTargetKind kind = g_array_index (group, DsmTarget, k).kind;
              want_leader += kind == DSM_TARGET_LEADER;
              want_followers += kind == DSM_TARGET_FOLLOWER;
              want_any += kind == DSM_TARGET_RANDOM;
            }
        }
      if (want_leader > 0 && (leader == DSM_NODE_NONE || listed[leader]))
        return "leader";
      if (want_followers > n_followers)
        return "follower";
      if (want_leader + want_followers + want_any > n_live)
        return "live node";
      return NULL;
    }
  if (step->kind == DSM_STEP_RESTART || step->kind == DSM_STEP_DISK_SPACE_RESTORED)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      DsmTargetKind kind = targets[i]->kind;
      if (kind == DSM_TARGET_LEADER && leader == DSM_NODE_NONE)
        return "leader";
      if ((kind == DSM_TARGET_FOLLOWER || kind == DSM_TARGET_RANDOM)
          && pick_live_count (sim, kind == DSM_TARGET_FOLLOWER) == 0)
        return kind == DSM_TARGET_FOLLOWER ? "follower" : "live node";
    }
  return NULL;
}

/* The partition's groups with its selectors resolved, the nodes left out
 * one more group (transfer full). */
static GPtrArray *
partition_resolve (DsmSim *sim, const DsmStep *step)
{
  gboolean listed[DSM_MAX_NODES + 1] = { FALSE };
  guint n_live, n_followers;
  DsmNodeId leader = sim_leader (sim);
  GPtrArray *groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);

  partition_candidates (sim, step, listed, &n_live, &n_followers);
  if (leader != DSM_NODE_NONE)
    for (guint g = 0; g < step->group_targets->len; g++)
      {
        const GArray *group = step->group_targets->pdata[g];
        for (guint k = 0; k < group->len; k++)
          if (g_array_index (group, DsmTarget, k).kind == DSM_TARGET_LEADER)
            listed[leader] = TRUE;
      }
  for (guint g = 0; g < step->group_targets->len; g++)
    {
      const GArray *group = step->group_targets->pdata[g];
      GArray *ids = g_array_new (FALSE, FALSE, sizeof (DsmNodeId));
      for (guint k = 0; k < group->len; k++)
        {
          const DsmTarget *t = &g_array_index (group, DsmTarget, k);
          DsmNodeId id = t->kind == DSM_TARGET_NODE ? t->id : t->kind == DSM_TARGET_LEADER ? leader : DSM_NODE_NONE;
          if (t->kind == DSM_TARGET_FOLLOWER || t->kind == DSM_TARGET_RANDOM)
            {
              DsmNodeId candidates[DSM_MAX_NODES];
              guint n = 0;
              for (guint c = 1; c <= sim->n; c++)
                if (sim->nodes[c].node != NULL && !listed[c] && !(t->kind == DSM_TARGET_FOLLOWER && c == leader))
                  candidates[n++] = c;
              g_assert (n > 0); /* fault_missing_role() counted them */
              id = candidates[dsm_prng_range (&sim->fault_prng, 0, n - 1)];
              listed[id] = TRUE;
            }
          g_assert (id != DSM_NODE_NONE);
          g_array_append_val (ids, id);
        }
      g_ptr_array_add (groups, ids);
    }
  GArray *rest = g_array_new (FALSE, FALSE, sizeof (DsmNodeId));
  for (DsmNodeId id = 1; id <= sim->n; id++)
    if (!listed[id])
      g_array_append_val (rest, id);
  g_ptr_array_add (groups, rest);
  return groups;
}

/* ---- conditions ---- */

static gboolean
condition_holds (DsmSim *sim, const DsmStep *step, GString *why)
{
  switch (step->condition)
    {
    case DSM_CONDITION_LEADER:
      return sim_leader_ready (sim);
    case DSM_CONDITION_NO_LEADER:
      return sim_leader (sim) == DSM_NODE_NONE;
    case DSM_CONDITION_COMMITTED:
      {
        DsmNodeId id = sim_leader (sim);
        const char *state = id != DSM_NODE_NONE
                                ? dsm_store_read (dsm_node_get_store (sim->nodes[id].node), step->machine, NULL, NULL)
                                : NULL;
        if (why != NULL)
          g_string_append_printf (why, "leader %u has %s in %s", id, step->machine, state ? state : "-");
        return g_strcmp0 (state, step->state) == 0;
      }
    case DSM_CONDITION_CAUGHT_UP:
      return sim_caught_up (sim, why);
    case DSM_CONDITION_REPLIES:
      return sim->scripted_pending == 0;
    case DSM_CONDITION_VOTERS:
      {
        DsmNodeId id = sim_leader (sim);
        if (id == DSM_NODE_NONE)
          {
            if (why != NULL)
              g_string_append (why, "no leader");
            return FALSE;
          }
        DsmMembership *m = dsm_node_get_committed_membership (sim->nodes[id].node, NULL);
        guint voters = dsm_membership_get_n_voters (m);
        guint learners = dsm_membership_get_n_members (m) - voters;
        if (why != NULL)
          g_string_append_printf (why, "leader %u's committed configuration has %u voters, %u learners",
                                  id, voters, learners);
        return voters == step->count && learners == 0;
      }
    case DSM_CONDITION_STATE:
      for (guint id = 1; id <= sim->n; id++)
        {
          DsmNode *node = sim->nodes[id].node;
          gboolean wanted = step->on == DSM_NODES_ALL || step->on == DSM_NODES_LIVE
                            || (step->on == DSM_NODES_ONE && step->on_id == id);
          if (!wanted)
            continue;
          if (node == NULL)
            {
              if (step->on == DSM_NODES_LIVE)
                continue;
              if (why != NULL)
                g_string_append_printf (why, "node %u is down", id);
              return FALSE;
            }
          const char *state = dsm_store_read (dsm_node_get_store (node), step->machine, NULL, NULL);
          if (g_strcmp0 (state, step->state) != 0)
            {
              if (why != NULL)
                g_string_append_printf (why, "node %u has %s in %s", id, step->machine, state ? state : "-");
              return FALSE;
            }
        }
      return TRUE;
    default:
      g_assert_not_reached ();
    }
}

/* ---- faults ---- */

static void
fault_trace (DsmSim *sim, const DsmStep *step, DsmNodeId node)
{
  if (sim->trace != NULL)
    trace_line (sim, "\"ev\":\"fault\",\"do\":\"%s\",\"node\":%u,\"step\":\"%s\"",
                dsm_step_kind_to_string (step->kind), node, step->where);
}

static guint64
storm_until (DsmSim *sim, const DsmStep *step)
{
  return step->for_ms == 0 ? G_MAXUINT64 : sim->now_ms + step->for_ms;
}

static void
run_fault (DsmSim *sim, const DsmStep *step)
{
  DsmNodeId id = DSM_NODE_NONE;

  switch (step->kind)
    {
    case DSM_STEP_CRASH:
      if (!script_resolve_target (sim, &step->target, step->where, &id))
        return;
      if (id == DSM_NODE_NONE)
        for (guint i = 1; i <= sim->n; i++)
          sim_crash (sim, &sim->nodes[i]);
      else
        sim_crash (sim, &sim->nodes[id]);
      break;
    case DSM_STEP_RESTART:
      if (!script_resolve_target (sim, &step->target, step->where, &id))
        return;
      for (guint i = 1; i <= sim->n; i++)
        if (id == DSM_NODE_NONE || id == i)
          sim_restart (sim, &sim->nodes[i]);
      break;
    case DSM_STEP_PARTITION:
      if (step->groups != NULL)
        dsm_sim_net_partition (sim->net, step->groups);
      else
        {
          g_autoptr(GPtrArray) groups = partition_resolve (sim, step);
          dsm_sim_net_partition (sim->net, groups);
        }
      break;
    case DSM_STEP_ISOLATE:
      if (!script_resolve_target (sim, &step->target, step->where, &id))
        return;
      dsm_sim_net_isolate (sim->net, id);
      break;
    case DSM_STEP_CUT:
      {
        DsmNodeId to = DSM_NODE_NONE;
        if (!script_resolve_target (sim, &step->target, step->where, &id)
            || !script_resolve_target (sim, &step->target_to, step->where, &to))
          return;
        /* "all" (DSM_NODE_NONE) on one side: every other node. */
        for (DsmNodeId a = 1; a <= sim->capacity; a++)
          for (DsmNodeId b = 1; b <= sim->capacity; b++)
            if (a != b && (id == DSM_NODE_NONE || id == a) && (to == DSM_NODE_NONE || to == b))
              dsm_sim_net_cut (sim->net, a, b, step->message_types);
        break;
      }
    case DSM_STEP_HEAL:
      dsm_sim_net_heal (sim->net);
      break;
    case DSM_STEP_WATCH_RECONNECT:
      watchers_reconnect_all (sim);
      break;
    case DSM_STEP_LOSS:
      dsm_sim_net_storm (sim->net, DSM_STORM_LOSS, step->percent, 0, DSM_CORRUPT_FLIP, storm_until (sim, step));
      break;
    case DSM_STEP_DELAY:
      dsm_sim_net_storm (sim->net, DSM_STORM_DELAY, 100, step->ms, DSM_CORRUPT_FLIP, storm_until (sim, step));
      break;
    case DSM_STEP_DUPLICATE:
      dsm_sim_net_storm (sim->net, DSM_STORM_DUPLICATE, step->percent, 0, DSM_CORRUPT_FLIP, storm_until (sim, step));
      break;
    case DSM_STEP_REORDER:
      dsm_sim_net_storm (sim->net, DSM_STORM_REORDER, step->percent, step->ms, DSM_CORRUPT_FLIP, storm_until (sim, step));
      break;
    case DSM_STEP_CORRUPT:
      dsm_sim_net_storm (sim->net, DSM_STORM_CORRUPT, step->percent, 0, step->corrupt_mode, storm_until (sim, step));
      break;
    case DSM_STEP_DISK_FAULT:
      if (!script_resolve_target (sim, &step->target, step->where, &id))
        return;
      for (guint i = 1; i <= sim->n; i++)
        if (id == DSM_NODE_NONE || id == i)
          dsm_sim_disk_set_fault (sim->nodes[i].disk, step->disk_fault);
      break;
    case DSM_STEP_SKEW:
      if (!script_resolve_target (sim, &step->target, step->where, &id))
        return;
      for (guint i = 1; i <= sim->n; i++)
        if (id == DSM_NODE_NONE || id == i)
          sim_set_rate (sim, &sim->nodes[i], step->rate);
      break;
    case DSM_STEP_PAUSE:
      if (!script_resolve_target (sim, &step->target, step->where, &id))
        return;
      for (guint i = 1; i <= sim->n; i++)
        if ((id == DSM_NODE_NONE || id == i) && sim->nodes[i].node != NULL)
          sim->nodes[i].paused_until = MAX (sim->nodes[i].paused_until, sim->now_ms + step->ms);
      break;
    case DSM_STEP_DISK_FULL:
    case DSM_STEP_DISK_SPACE_RESTORED:
      /* The node finds out at its next sync, and with room again at its
       * next retry, as a real one does. */
      if (!script_resolve_target (sim, &step->target, step->where, &id))
        return;
      for (guint i = 1; i <= sim->n; i++)
        if (id == DSM_NODE_NONE || id == i)
          dsm_sim_disk_set_full (sim->nodes[i].disk, step->kind == DSM_STEP_DISK_FULL);
      break;
    default:
      g_assert_not_reached ();
    }
  fault_trace (sim, step, id);
}

/* ---- steps ---- */

static void
step_done (DsmSim *sim)
{
  sim->step++;
  sim->prev_done_ms = sim->now_ms;
  sim->script = SCRIPT_READY;
  sim->awaited = NULL;
  sim->awaited_admin = NULL;
}

static void
run_client_step (DsmSim *sim, const DsmStep *step)
{
  DsmNodeId id = DSM_NODE_NONE;

  if (!script_resolve_target (sim, &step->target, step->where, &id))
    {
      script_fail (sim, step, "no node to send to");
      return;
    }
  if (id == DSM_NODE_NONE)
    id = pick_live (sim, FALSE);
  if (id == DSM_NODE_NONE)
    id = 1;
  ClientOp *co = clients_issue (sim, sim->n_clients - 1, &step->cmd, id, TRUE);
  if (step->has_expect_reply)
    {
      sim->script = SCRIPT_REPLY;
      sim->awaited = co;
      sim->script_deadline = sim->now_ms + step->within_ms;
      script_timer (sim, sim->script_deadline);
      return;
    }
  step_done (sim);
}

/* A member of the leader's configuration for remove_node: the one named,
 * or one drawn ("random": any, "follower": not the leader). */
static DsmNodeId
pick_member (DsmSim *sim, const DsmStep *step)
{
  DsmNodeId leader = sim_leader (sim);
  DsmNodeId candidates[DSM_MAX_NODES];
  guint n = 0;

  if (step->target.kind == DSM_TARGET_NODE)
    return step->target.id;
  if (step->target.kind == DSM_TARGET_LEADER || leader == DSM_NODE_NONE)
    return leader;
  DsmMembership *m = dsm_node_get_membership (sim->nodes[leader].node, NULL);
  for (guint i = 0; i < dsm_membership_get_n_members (m); i++)
    {
      DsmNodeId id = dsm_membership_get_member (m, i)->id;
      if (!(step->target.kind == DSM_TARGET_FOLLOWER && id == leader))
        candidates[n++] = id;
    }
  return n == 0 ? DSM_NODE_NONE : candidates[dsm_prng_range (&sim->fault_prng, 0, n - 1)];
}

static void
run_transfer (DsmSim *sim, const DsmStep *step)
{
  DsmNodeId leader = sim_leader (sim);
  DsmNodeId to = DSM_NODE_NONE;
  g_autoptr(GError) error = NULL;

  if (leader == DSM_NODE_NONE)
    {
      trace_line (sim, "\"ev\":\"skipped\",\"step\":\"%s\",\"why\":\"no leader\"", step->where);
      return;
    }
  if (step->target_to.kind != DSM_TARGET_ALL && !script_resolve_target (sim, &step->target_to, step->where, &to))
    return;
  SimNode *sn = &sim->nodes[leader];
  if (!dsm_node_transfer_leadership (sn->node, sim_local_now (sn, sim->now_ms), to, &error))
    {
      g_autoptr(GString) why = g_string_new (NULL);
      dsm_codec_write_string (why, error->message);
      trace_line (sim, "\"ev\":\"skipped\",\"step\":\"%s\",\"why\":%s", step->where, why->str);
      return;
    }
  sim->report.transfers++;
  sim_process (sim, sn);
}

/* Membership changes and defines: through the log, retried until they
 * commit (admin.c); the step waits for that unless it says "expect": "any". */
static void
run_admin_step (DsmSim *sim, const DsmStep *step)
{
  g_autoptr(GString) skipped = g_string_new (NULL);
  AdminOp *op = NULL;

  switch (step->kind)
    {
    case DSM_STEP_ADD_NODE:
      op = admin_add_node (sim, step->within_ms, step->count, skipped);
      break;
    case DSM_STEP_REMOVE_NODE:
      {
        DsmNodeId id = pick_member (sim, step);
        if (id == DSM_NODE_NONE)
          g_string_append (skipped, "no member to remove");
        else
          op = admin_remove_node (sim, id, step->within_ms, step->count, skipped);
        break;
      }
    case DSM_STEP_PROMOTE:
      {
        DsmCommand cmd = { .op = DSM_OP_PROMOTE_MEMBER, .node = step->target.id };
        op = admin_issue (sim, &cmd, step->within_ms);
        break;
      }
    case DSM_STEP_DEFINE:
      op = admin_issue (sim, &step->cmd, step->within_ms);
      break;
    default:
      g_assert_not_reached ();
    }
  if (op == NULL)
    {
      g_autoptr(GString) why = g_string_new (NULL);
      dsm_codec_write_string (why, skipped->str);
      trace_line (sim, "\"ev\":\"skipped\",\"step\":\"%s\",\"why\":%s", step->where, why->str);
      if (step->admin_wait)
        script_fail (sim, step, "not started: %s", skipped->str);
      step_done (sim);
      return;
    }
  if (!step->admin_wait)
    {
      step_done (sim);
      return;
    }
  sim->script = SCRIPT_ADMIN;
  sim->awaited_admin = op;
  sim->script_deadline = sim->now_ms + step->within_ms + 1;
  script_timer (sim, sim->script_deadline);
}

/* Starts the current step; returns FALSE when it must wait for something. */
static gboolean
run_step (DsmSim *sim, const DsmStep *step)
{
  switch (step->kind)
    {
    case DSM_STEP_WAIT:
      sim->script = SCRIPT_WAITING;
      sim->script_deadline = sim->now_ms + step->ms;
      script_timer (sim, sim->script_deadline);
      return FALSE;
    case DSM_STEP_AWAIT:
      if (condition_holds (sim, step, NULL))
        {
          step_done (sim);
          return TRUE;
        }
      sim->script = SCRIPT_AWAITING;
      sim->script_deadline = sim->now_ms + step->within_ms;
      script_timer (sim, sim->script_deadline);
      return FALSE;
    case DSM_STEP_EXPECT:
      {
        g_autoptr(GString) why = g_string_new (NULL);
        if (!condition_holds (sim, step, why))
          script_fail (sim, step, "does not hold: %s", why->str);
        step_done (sim);
        return TRUE;
      }
    case DSM_STEP_PROPOSE:
    case DSM_STEP_READ:
      run_client_step (sim, step);
      return sim->script == SCRIPT_READY;
    case DSM_STEP_ADD_NODE:
    case DSM_STEP_REMOVE_NODE:
    case DSM_STEP_PROMOTE:
    case DSM_STEP_DEFINE:
      run_admin_step (sim, step);
      return sim->script == SCRIPT_READY;
    case DSM_STEP_TRANSFER_LEADER:
      run_transfer (sim, step);
      step_done (sim);
      return TRUE;
    case DSM_STEP_FORGE:
    case DSM_STEP_REPLAY:
    case DSM_STEP_SPOOF:
      attacker_run (sim, step);
      step_done (sim);
      return TRUE;
    default:
      {
        const char *missing = fault_missing_role (sim, step);
        if (missing != NULL && step->no_target == DSM_NO_TARGET_WAIT)
          {
            sim->script = SCRIPT_TARGET;
            sim->script_deadline = sim->now_ms + sim->scenario->expect.leader_within_ms;
            script_timer (sim, sim->script_deadline);
            return FALSE;
          }
        if (missing != NULL && step->no_target == DSM_NO_TARGET_FAIL)
          script_fail (sim, step, "no %s to aim at", missing);
        else if (missing != NULL)
          trace_line (sim, "\"ev\":\"skipped\",\"step\":\"%s\",\"why\":\"no %s\"", step->where, missing);
        else
          run_fault (sim, step);
        step_done (sim);
        return TRUE;
      }
    }
}

void
script_advance (DsmSim *sim)
{
  GPtrArray *steps = sim->scenario->steps;

  while (sim->script == SCRIPT_READY && dsm_checker_ok (sim->checker))
    {
      if (sim->step >= steps->len)
        {
          sim->script = SCRIPT_DONE;
          return;
        }
      const DsmStep *step = steps->pdata[sim->step];
      guint64 start = step->has_at ? step->at_ms : sim->prev_done_ms + step->after_ms;
      if (sim->now_ms < start)
        {
          script_timer (sim, start);
          sim->script_next_ms = start;
          return;
        }
      run_step (sim, step);
    }
}

static void
check_reply (DsmSim *sim, const DsmStep *step, const ClientOp *co)
{
  const DsmHistoryOp *op = co->op;

  if (op->status != step->expect_reply)
    script_fail (sim, step, "expected %s, got %s (%s)%s%s", dsm_reply_status_to_string (step->expect_reply),
                 dsm_reply_status_to_string (op->status), dsm_reject_reason_to_string (op->reason),
                 op->state ? ", state " : "", op->state ? op->state : "");
}

void
script_poll (DsmSim *sim)
{
  const DsmStep *step = sim->step < sim->scenario->steps->len ? sim->scenario->steps->pdata[sim->step] : NULL;

  switch (sim->script)
    {
    case SCRIPT_READY:
      if (sim->now_ms < sim->script_next_ms)
        return; /* the next step's time has not come */
      break;
    case SCRIPT_WAITING:
      if (sim->now_ms < sim->script_deadline)
        return;
      step_done (sim);
      break;
    case SCRIPT_AWAITING:
      if (condition_holds (sim, step, NULL))
        step_done (sim);
      else if (sim->now_ms >= sim->script_deadline)
        {
          g_autoptr(GString) why = g_string_new (NULL);
          condition_holds (sim, step, why);
          script_fail (sim, step, "not met within %" G_GUINT64_FORMAT " ms%s%s", step->within_ms,
                       why->len ? ": " : "", why->str);
          /* Past its deadline the step is over either way: when the
           * scenario does not check expectations the script goes on
           * (script_advance() stops at a checked failure). */
          step_done (sim);
        }
      else
        return;
      break;
    case SCRIPT_REPLY:
      if (sim->awaited->done)
        {
          check_reply (sim, step, sim->awaited);
          step_done (sim);
        }
      else if (sim->now_ms >= sim->script_deadline)
        {
          script_fail (sim, step, "no reply within %" G_GUINT64_FORMAT " ms", step->within_ms);
          step_done (sim);
        }
      else
        return;
      break;
    case SCRIPT_TARGET:
      {
        const char *missing = fault_missing_role (sim, step);
        if (missing == NULL)
          run_fault (sim, step);
        else if (sim->now_ms >= sim->script_deadline)
          script_fail (sim, step, "no %s within %" G_GUINT64_FORMAT " ms", missing,
                       sim->scenario->expect.leader_within_ms);
        else
          return;
        step_done (sim);
        break;
      }
    case SCRIPT_ADMIN:
      {
        DsmReplyStatus status;
        const char *detail = NULL;
        if (admin_op_done (sim->awaited_admin, &status, &detail))
          {
            if (status != DSM_REPLY_OK)
              script_fail (sim, step, "%s: %s", dsm_reply_status_to_string (status), detail ? detail : "");
            step_done (sim);
          }
        else if (sim->now_ms >= sim->script_deadline)
          {
            script_fail (sim, step, "not committed within %" G_GUINT64_FORMAT " ms", step->within_ms);
            step_done (sim);
          }
        else
          return;
        break;
      }
    case SCRIPT_DONE:
    default:
      return;
    }
  script_advance (sim);
}

/* ---- the final heal ---- */

static void
final_heal (DsmSim *sim)
{
  const DsmExpectations *expect = &sim->scenario->expect;

  dsm_sim_net_heal (sim->net);
  for (guint id = 1; id <= sim->n; id++)
    {
      /* Paused nodes go on; what waited for them comes when it was due. */
      sim->nodes[id].paused_until = MIN (sim->nodes[id].paused_until, sim->now_ms);
      dsm_sim_disk_set_full (sim->nodes[id].disk, FALSE);
      sim_restart (sim, &sim->nodes[id]);
    }
  trace_line (sim, "\"ev\":\"heal\"");
  sim->final = PHASE_SETTLE_LEADER;
  sim->final_deadline = sim->now_ms + expect->leader_within_ms;
  script_timer (sim, sim->final_deadline);
}

static void
final_check_expectations (DsmSim *sim)
{
  const DsmExpectations *e = &sim->scenario->expect;
  const DsmSimReport *r = &sim->report;
  guint64 retries = 0, installed = 0, invalid = 0, elections = 0;

  for (guint id = 1; id <= sim->n; id++)
    {
      SimNode *sn = &sim->nodes[id];
      const DsmMetrics *m = sn->node != NULL ? dsm_node_get_metrics (sn->node) : NULL;
      retries += sn->retries + (m ? m->retries : 0);
      installed += sn->snapshots_installed + (m ? m->snapshots_installed : 0);
      invalid += sn->invalid + (m ? m->messages_invalid : 0);
      elections += sn->elections_won;
    }
#define EXPECT_MIN(value, bound, what)                                                           \
  if ((value) < (bound))                                                                         \
    dsm_checker_fail (sim->checker, DSM_INVARIANT_EXPECTATIONS, sim->now_ms,                     \
                      "expect.%s: %" G_GUINT64_FORMAT " < %" G_GUINT64_FORMAT, what, (guint64) (value), (guint64) (bound));
  EXPECT_MIN (r->commits, e->min_commits, "min_commits");
  EXPECT_MIN (r->ops_unknown, e->min_unknown, "min_unknown");
  EXPECT_MIN (r->ops_rejected, e->min_rejected, "min_rejected");
  EXPECT_MIN (retries, e->min_retries, "min_retries");
  EXPECT_MIN (elections, e->min_elections, "min_elections");
  EXPECT_MIN (installed, e->min_snapshots_installed, "min_snapshots_installed");
  EXPECT_MIN (invalid, e->min_invalid_messages, "min_invalid_messages");
  EXPECT_MIN (r->attacks_refused, e->min_attacks_refused, "min_attacks_refused");
#undef EXPECT_MIN
  if (e->max_elections != 0 && elections > e->max_elections)
    dsm_checker_fail (sim->checker, DSM_INVARIANT_EXPECTATIONS, sim->now_ms,
                      "expect.max_elections: %" G_GUINT64_FORMAT " > %" G_GUINT64_FORMAT, elections, e->max_elections);

  if (e->final_states == NULL)
    return;
  GHashTableIter iter;
  gpointer machine, state;
  g_hash_table_iter_init (&iter, e->final_states);
  while (g_hash_table_iter_next (&iter, &machine, &state))
    for (guint id = 1; id <= sim->n; id++)
      {
        DsmNode *node = sim->nodes[id].node;
        const char *found = node ? dsm_store_read (dsm_node_get_store (node), machine, NULL, NULL) : NULL;
        if (node != NULL && sim_in_cluster (sim, id) && g_strcmp0 (found, state) != 0)
          dsm_checker_fail (sim->checker, DSM_INVARIANT_EXPECTATIONS, sim->now_ms,
                            "expect.final_states: node %u has %s in %s, not %s", id,
                            (const char *) machine, found ? found : "-", (const char *) state);
      }
}

void
final_poll (DsmSim *sim)
{
  switch (sim->final)
    {
    case PHASE_RUNNING:
      if (sim->script == SCRIPT_DONE && sim->now_ms >= sim->workload_end_ms)
        final_heal (sim);
      break;
    case PHASE_SETTLE_LEADER:
      if (sim_leader_ready (sim))
        {
          sim->final = PHASE_SETTLE_CONVERGE;
          sim->final_deadline = sim->now_ms + sim->scenario->expect.settle_ms;
          script_timer (sim, sim->final_deadline);
        }
      else if (sim->now_ms >= sim->final_deadline)
        dsm_checker_fail (sim->checker, DSM_INVARIANT_LIVENESS, sim->now_ms,
                          "no leader within %" G_GUINT64_FORMAT " ms after the faults healed",
                          sim->scenario->expect.leader_within_ms);
      break;
    case PHASE_SETTLE_CONVERGE:
      {
        guint pending = clients_pending (sim);
        if (pending == 0 && sim_caught_up (sim, NULL))
          {
            sim->final = PHASE_DONE;
            final_check_expectations (sim);
          }
        else if (sim->now_ms >= sim->final_deadline)
          {
            g_autoptr(GString) why = g_string_new (NULL);
            sim_caught_up (sim, why);
            dsm_checker_fail (sim->checker, DSM_INVARIANT_LIVENESS, sim->now_ms,
                              "not settled %" G_GUINT64_FORMAT " ms after a leader was back: %u operations unanswered%s%s",
                              sim->scenario->expect.settle_ms, pending, why->len ? ", " : "", why->str);
          }
        break;
      }
    case PHASE_DONE:
    default:
      break;
    }
}
