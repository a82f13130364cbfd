/* sim/explore.c: scenarios generated from a seed (swarm testing), written
 * as ordinary scenario JSON so any failure found is a file one can run,
 * read, replay and shrink. */
#include "explore.h"

#include <string.h>

#include "scenario/prng.h"

typedef enum {
  FAULT_CRASH,
  FAULT_CRASH_LEADER,
  FAULT_PARTITION,
  FAULT_ISOLATE_LEADER,
  FAULT_CUT,
  FAULT_LOSS,
  FAULT_DELAY,
  FAULT_DUPLICATE,
  FAULT_REORDER,
  FAULT_CORRUPT,
  FAULT_TORN_WRITE,
  FAULT_CORRUPT_RECORD,
  FAULT_LOST_FSYNC,
  FAULT_SKEW,
  FAULT_BOUNCE,         /* crash a node and restart it moments later */
  FAULT_BOUNCE_LEADER,
  FAULT_CHURN,          /* leaders cut off and crashed in quick succession */
  FAULT_POWER_LOSS,     /* every node at once, unsynced writes gone */
  FAULT_N,
} FaultKind;

/* How likely each kind is to be enabled for a seed (percent). */
static const guint fault_enable_percent[FAULT_N] = {
  [FAULT_CRASH] = 60,
  [FAULT_CRASH_LEADER] = 60,
  [FAULT_PARTITION] = 50,
  [FAULT_ISOLATE_LEADER] = 50,
  [FAULT_CUT] = 40,
  [FAULT_LOSS] = 50,
  [FAULT_DELAY] = 30,
  [FAULT_DUPLICATE] = 30,
  [FAULT_REORDER] = 30,
  [FAULT_CORRUPT] = 20,
  [FAULT_TORN_WRITE] = 30,
  [FAULT_CORRUPT_RECORD] = 10,
  [FAULT_LOST_FSYNC] = 0,
  [FAULT_SKEW] = 20,
  [FAULT_BOUNCE] = 40,
  [FAULT_BOUNCE_LEADER] = 40,
  [FAULT_CHURN] = 40,
  [FAULT_POWER_LOSS] = 30,
};

static guint64
pick (DsmPrng *prng, guint64 lo, guint64 hi)
{
  return dsm_prng_range (prng, lo, hi);
}

static void
append_section (GString *out, JsonObject *base, const char *name)
{
  if (base == NULL || !json_object_has_member (base, name))
    return;
  g_autofree char *text = json_to_string (json_object_get_member (base, name), FALSE);
  g_string_append_printf (out, "\"%s\":%s,", name, text);
}

typedef struct {
  guint64 at;
  guint order;
  char *json;
} TimedStep;

static void
timed_step_clear (TimedStep *t)
{
  g_free (t->json);
}

static void
add_step (GArray *steps, guint64 at, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
add_step (GArray *steps, guint64 at, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  TimedStep t = { .at = at, .order = steps->len, .json = g_strdup_vprintf (format, args) };
  va_end (args);
  g_array_append_val (steps, t);
}

static int
compare_timed (gconstpointer a, gconstpointer b)
{
  const TimedStep *x = a, *y = b;
  if (x->at != y->at)
    return x->at < y->at ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* One fault at @at, with its healing step where it has one. */
static void
append_fault (GArray *steps, DsmPrng *prng, FaultKind kind, guint nodes, guint64 at,
              gboolean *corrupt_used)
{
  guint64 lasting = pick (prng, 200, 3000);
  guint a = (guint) pick (prng, 1, nodes), b = (guint) pick (prng, 1, nodes);

  switch (kind)
    {
    case FAULT_CRASH:
    case FAULT_CRASH_LEADER:
      if (kind == FAULT_CRASH_LEADER)
        add_step (steps, at, "\"do\":\"crash\",\"node\":\"leader\",\"no_target\":\"skip\"");
      else
        add_step (steps, at, "\"do\":\"crash\",\"node\":%u", a);
      break;
    case FAULT_PARTITION:
      {
        guint split = (guint) pick (prng, 1, nodes - 1);
        g_autoptr(GString) group = g_string_new (NULL);
        for (guint id = 1; id <= split; id++)
          g_string_append_printf (group, "%s%u", id > 1 ? "," : "", id);
        add_step (steps, at, "\"do\":\"partition\",\"groups\":[[%s]]", group->str);
        break;
      }
    case FAULT_ISOLATE_LEADER:
      add_step (steps, at, "\"do\":\"isolate\",\"node\":\"leader\",\"no_target\":\"skip\"");
      break;
    case FAULT_CUT:
      if (a == b)
        b = a % nodes + 1;
      add_step (steps, at, "\"do\":\"cut\",\"from\":%u,\"to\":%u", a, b);
      break;
    case FAULT_LOSS:
      add_step (steps, at, "\"do\":\"loss\",\"percent\":%u,\"for_ms\":%" G_GUINT64_FORMAT "",
                              (guint) pick (prng, 10, 80), lasting);
      return;
    case FAULT_DELAY:
      add_step (steps, at, "\"do\":\"delay\",\"ms\":%u,\"for_ms\":%" G_GUINT64_FORMAT "",
                              (guint) pick (prng, 20, 400), lasting);
      return;
    case FAULT_DUPLICATE:
      add_step (steps, at, "\"do\":\"duplicate\",\"percent\":%u,\"for_ms\":%" G_GUINT64_FORMAT "",
                              (guint) pick (prng, 5, 50), lasting);
      return;
    case FAULT_REORDER:
      {
        guint percent = (guint) pick (prng, 10, 60);
        guint ms = (guint) pick (prng, 5, 200);
        add_step (steps, at, "\"do\":\"reorder\",\"percent\":%u,\"ms\":%u,\"for_ms\":%" G_GUINT64_FORMAT,
                  percent, ms, lasting);
        return;
      }
    case FAULT_CORRUPT:
      {
        guint percent = (guint) pick (prng, 5, 40);
        const char *mode = pick (prng, 0, 1) ? "flip" : "truncate";
        add_step (steps, at, "\"do\":\"corrupt\",\"percent\":%u,\"mode\":\"%s\",\"for_ms\":%" G_GUINT64_FORMAT,
                  percent, mode, lasting);
        return;
      }
    case FAULT_TORN_WRITE:
    case FAULT_LOST_FSYNC:
    case FAULT_CORRUPT_RECORD:
      if (kind == FAULT_CORRUPT_RECORD)
        {
          /* At most one node loses its disk: a majority must survive. */
          if (*corrupt_used)
            return;
          *corrupt_used = TRUE;
        }
      add_step (steps, at, "\"do\":\"disk\",\"node\":%u,\"fault\":\"%s\"", a,
                kind == FAULT_TORN_WRITE ? "torn_write" : kind == FAULT_LOST_FSYNC ? "lost_fsync" : "corrupt_record");
      add_step (steps, at, "\"do\":\"crash\",\"node\":%u", a);
      break;
    case FAULT_BOUNCE:
    case FAULT_BOUNCE_LEADER:
      {
        /* Down for about an election: crashes amid votes and appends. */
        guint64 down = pick (prng, 5, 400);
        if (kind == FAULT_BOUNCE_LEADER)
          add_step (steps, at, "\"do\":\"crash\",\"node\":\"leader\",\"no_target\":\"skip\"");
        else
          add_step (steps, at, "\"do\":\"crash\",\"node\":%u", a);
        add_step (steps, at + down, "\"do\":\"restart\",\"node\":\"all\"");
        return;
      }
    case FAULT_CHURN:
      {
        /* Leaders come and go with entries of their own epochs stranded
         * on too few nodes: the history that makes a careless commit rule
         * lose data (Raft's figure 8). */
        guint64 t = at;
        guint rounds = (guint) pick (prng, 2, 8);
        for (guint r = 0; r < rounds; r++)
          {
            add_step (steps, t, "\"do\":\"isolate\",\"node\":\"leader\",\"no_target\":\"skip\"");
            t += pick (prng, 30, 400);
            if (dsm_prng_chance (prng, 30))
              {
                /* The next leader too, before either is back. */
                add_step (steps, t, "\"do\":\"isolate\",\"node\":\"leader\",\"no_target\":\"skip\"");
                t += pick (prng, 30, 400);
              }
            add_step (steps, t, "\"do\":\"crash\",\"node\":\"leader\",\"no_target\":\"skip\"");
            t += pick (prng, 0, 200);
            add_step (steps, t, "\"do\":\"heal\"");
            t += pick (prng, 0, 300);
            add_step (steps, t, "\"do\":\"restart\",\"node\":\"all\"");
            t += pick (prng, 0, 300);
          }
        return;
      }
    case FAULT_POWER_LOSS:
      /* What was acknowledged must be on a quorum's disks by now. */
      add_step (steps, at, "\"do\":\"crash\",\"node\":\"all\"");
      add_step (steps, at + pick (prng, 1, 200), "\"do\":\"restart\",\"node\":\"all\"");
      return;
    case FAULT_SKEW:
      add_step (steps, at, "\"do\":\"skew\",\"node\":%u,\"rate\":%.2f",
                              a, 0.8 + 0.4 * dsm_prng_double (prng));
      return;
    default:
      g_assert_not_reached ();
    }

  /* Partitions, cuts and isolations heal; crashed nodes come back. */
  if (kind == FAULT_CRASH || kind == FAULT_CRASH_LEADER || kind == FAULT_TORN_WRITE
      || kind == FAULT_LOST_FSYNC || kind == FAULT_CORRUPT_RECORD)
    add_step (steps, at + lasting, "\"do\":\"restart\",\"node\":\"all\"");
  else
    add_step (steps, at + lasting, "\"do\":\"heal\"");
}

/* Membership faults (PROTOCOL.md, "Membership changes"), drawn from a
 * stream of their own so the rest of a seed's schedule is what it was
 * before them: fresh nodes join, members leave (the leader too), a member
 * is replaced (removed, a fresh one added), leadership is handed over.
 * Bounded at run time: no removal at 3 voters or fewer, no addition at 7
 * members; "expect": "any", so a change that cannot commit in time (a
 * partition, a crashed leader) is a fault, not a failure. */
static void
append_membership_faults (GArray *steps, guint64 seed, guint64 duration)
{
  DsmPrng prng;

  dsm_prng_init (&prng, seed, "explore-membership", 0);
  if (!dsm_prng_chance (&prng, 60))
    return;
  gboolean add = dsm_prng_chance (&prng, 70), remove = dsm_prng_chance (&prng, 60);
  gboolean replace = dsm_prng_chance (&prng, 50), transfer = dsm_prng_chance (&prng, 50);
  if (!add && !remove && !replace && !transfer)
    add = TRUE;
  guint n = (guint) pick (&prng, 1, 6);
  for (guint i = 0; i < n; i++)
    {
      guint64 at = pick (&prng, 200, duration);
      guint kind = (guint) pick (&prng, 0, 3);
      gboolean on[] = { add, remove, replace, transfer };
      while (!on[kind])
        kind = (kind + 1) % 4;
      switch (kind)
        {
        case 0:
          add_step (steps, at, "\"do\":\"add_node\",\"max_members\":7,\"expect\":\"any\",\"within_ms\":5000");
          break;
        case 1:
          add_step (steps, at, "\"do\":\"remove_node\",\"node\":\"random\",\"keep_voters\":3,\"expect\":\"any\","
                    "\"within_ms\":5000");
          break;
        case 2:
          add_step (steps, at, "\"do\":\"remove_node\",\"node\":\"random\",\"keep_voters\":3,\"expect\":\"any\","
                    "\"within_ms\":5000");
          add_step (steps, at + pick (&prng, 0, 500),
                    "\"do\":\"add_node\",\"max_members\":7,\"expect\":\"any\",\"within_ms\":5000");
          break;
        default:
          add_step (steps, at, "\"do\":\"transfer_leader\"");
          break;
        }
    }
}

/* Disks filling (a follower's or the leader's) and getting room again.
 * Their own stream of the seed: with or without them, every other choice
 * of the seed is the same, and so are the runs of seeds pinned in tests. */
static void
append_disk_full (GArray *steps, guint64 seed, guint nodes, guint64 duration)
{
  DsmPrng prng;

  dsm_prng_init (&prng, seed, "explore-disk-full", 0);
  if (!dsm_prng_chance (&prng, 40))
    return;
  for (guint i = 0, n = (guint) pick (&prng, 1, 4); i < n; i++)
    {
      guint64 at = pick (&prng, 200, duration);
      guint64 lasting = pick (&prng, 100, 4000);
      guint id = (guint) pick (&prng, 1, nodes);
      if (dsm_prng_chance (&prng, 50))
        {
          add_step (steps, at, "\"do\":\"disk_full\",\"node\":\"leader\",\"no_target\":\"skip\"");
          add_step (steps, at + lasting, "\"do\":\"disk_space_restored\",\"node\":\"all\"");
        }
      else
        {
          add_step (steps, at, "\"do\":\"disk_full\",\"node\":%u", id);
          add_step (steps, at + lasting, "\"do\":\"disk_space_restored\",\"node\":%u", id);
        }
    }
}

/* The attacker (docs/SIMULATOR.md, "The attacker"): 1 to 6 injections at
 * random times, each a forged Proposal at epoch+100 committing an invented
 * transition (the attack of issue 10's first row), a forged VoteRequest or
 * Commit, a replay of up to 50 captured frames, or a stranger's connection
 * (an unknown id, a member's id without the secret, another cluster).
 * From a stream of its own, like the disk-full faults. */
static void
append_attacks (GArray *steps, guint64 seed, guint percent, guint64 duration)
{
  static const char proposal[] =
    "\"message\":{\"type\":\"proposal\",\"epoch\":\"+100\",\"prev_index\":\"+0\",\"prev_epoch\":\"+0\","
    "\"commit_index\":\"+1\",\"hb_seq\":0,\"entries\":[{\"index\":\"+1\",\"epoch\":\"+100\",\"kind\":\"command\","
    "\"op\":\"transition\",\"machine\":\"m0\",\"to\":\"Stopped\"}]}";
  DsmPrng prng;

  dsm_prng_init (&prng, seed, "explore-attack", 0);
  if (!dsm_prng_chance (&prng, percent))
    return;
  for (guint i = 0, n = (guint) pick (&prng, 1, 6); i < n; i++)
    {
      guint64 at = pick (&prng, 200, duration);
      switch (pick (&prng, 0, 5))
        {
        case 0:
          add_step (steps, at, "\"attack\":\"forge\",\"to\":\"follower\",\"as\":\"leader\",%s", proposal);
          break;
        case 1:
          add_step (steps, at, "\"attack\":\"forge\",\"to\":\"random\",\"as\":\"random\",\"message\":"
                    "{\"type\":\"vote_request\",\"epoch\":\"+100\",\"pre_vote\":false,\"last_index\":\"+1000\","
                    "\"last_epoch\":\"+100\"}");
          break;
        case 2:
          add_step (steps, at, "\"attack\":\"forge\",\"to\":\"follower\",\"as\":\"leader\",\"message\":"
                    "{\"type\":\"commit\",\"epoch\":\"+0\",\"commit_index\":\"+50\",\"hb_seq\":0}");
          break;
        case 3:
          add_step (steps, at, "\"attack\":\"replay\",\"count\":%u,\"window_ms\":%u", (guint) pick (&prng, 1, 50),
                    (guint) pick (&prng, 0, 2000));
          break;
        case 4:
          add_step (steps, at, "\"attack\":\"spoof\",\"to\":\"random\",\"as\":%s,%s",
                    dsm_prng_chance (&prng, 50) ? "\"leader\"" : "1000", proposal);
          break;
        default:
          add_step (steps, at, "\"attack\":\"spoof\",\"to\":\"random\",\"as\":\"random\",\"cluster\":\"another\",%s",
                    proposal);
          break;
        }
    }
}

/* How hard a seed's faults hit, in swarm mode: drawn from a stream of its
 * own, so the seed's other draws are what they are without it, and laid
 * over them.  Each knob widens the window some rare bug needs. */
typedef struct {
  gboolean on;
  guint fsync_max;       /* 0: the seed's own; else slow disks, long unsynced windows */
  gboolean trickle;      /* batches and in-flight windows of one: partial replication */
  guint faults_min, faults_max;
  guint burst_percent;   /* chance of a burst of crash/restart pairs */
  gboolean churn;        /* leader churn, crashes and bounces of leaders forced on */
  guint nodes;           /* 0: the seed's own (5); 3: fewer voters, so two quorums overlap in one */
  char *name;            /* what was drawn, for the summary */
} Swarm;

static void
swarm_draw (guint64 seed, gboolean on, Swarm *s)
{
  static const char *const intensity[] = { "calm", "busy", "storm" };
  static const guint faults[][2] = { { 1, 6 }, { 2, 24 }, { 20, 60 } };
  static const guint bursts[] = { 0, 30, 90 };
  DsmPrng prng;

  memset (s, 0, sizeof *s);
  s->on = on;
  s->burst_percent = 30;
  s->faults_min = 2;
  s->faults_max = 24;
  if (!on)
    return;
  dsm_prng_init (&prng, seed, "explore-swarm", 0);
  guint level = (guint) pick (&prng, 0, 2);
  s->faults_min = faults[level][0];
  s->faults_max = faults[level][1];
  s->fsync_max = dsm_prng_chance (&prng, 40) ? (guint) pick (&prng, 20, 100) : 0;
  s->trickle = dsm_prng_chance (&prng, 40);
  s->burst_percent = bursts[pick (&prng, 0, G_N_ELEMENTS (bursts) - 1)];
  s->churn = dsm_prng_chance (&prng, 40);
  s->nodes = dsm_prng_chance (&prng, 40) ? 3 : 0;
  s->name = g_strdup_printf ("swarm: %s, %u-%u faults%s%s, bursts %u%%%s%s", intensity[level], s->faults_min,
                             s->faults_max, s->fsync_max ? ", slow disks" : "", s->trickle ? ", trickle" : "",
                             s->burst_percent, s->churn ? ", leader churn" : "", s->nodes ? ", 3 nodes" : "");
}

DsmScenario *
dsm_explore_generate (guint64 seed, const DsmExploreOptions *options, GError **error)
{
  Swarm swarm;
  swarm_draw (seed, options->swarm, &swarm);
  g_autofree char *swarm_name = swarm.name;
  DsmPrng prng;
  g_autoptr(JsonNode) base_root = NULL;
  JsonObject *base = NULL;

  dsm_prng_init (&prng, seed, "explore", 0);
  if (options->base != NULL)
    {
      g_autofree char *text = dsm_scenario_to_json (options->base);
      base_root = json_from_string (text, error);
      if (base_root == NULL)
        return NULL;
      base = json_node_get_object (base_root);
    }
  guint nodes = options->nodes != 0 ? options->nodes : options->base != NULL ? options->base->config->n_nodes
                : swarm.nodes != 0 ? swarm.nodes : 5;

  gboolean enabled[FAULT_N];
  gboolean any = FALSE;
  for (guint k = 0; k < FAULT_N; k++)
    {
      guint percent = k == FAULT_LOST_FSYNC && options->allow_lost_fsync ? 20 : fault_enable_percent[k];
      enabled[k] = nodes > 1 && dsm_prng_chance (&prng, percent);
      any = any || enabled[k];
    }
  if (!any && nodes > 1)
    enabled[FAULT_CRASH_LEADER] = TRUE;
  if (swarm.churn && nodes > 2)
    enabled[FAULT_CHURN] = enabled[FAULT_CRASH_LEADER] = enabled[FAULT_BOUNCE_LEADER] = TRUE;

  guint64 duration = pick (&prng, 3000, 8000);
  GString *out = g_string_new (NULL);
  g_string_append_printf (out, "{\"name\":\"explore-%" G_GUINT64_FORMAT "\",\"summary\":\"Random faults drawn from seed %" G_GUINT64_FORMAT "%s%s.\","
                          "\"seed\":%" G_GUINT64_FORMAT ",\"nodes\":%u,",
                          seed, seed, swarm.on ? "; " : "", swarm.on ? swarm_name : "", seed, nodes);
  if (base != NULL)
    {
      append_section (out, base, "cluster");
      append_section (out, base, "network");
      append_section (out, base, "disk");
    }
  else
    {
      /* The configuration is part of the swarm: small batches and windows
       * make partial acknowledgements, short timeouts make elections. */
      static const guint batches[] = { 1, 1, 2, 3, 8, 64, 256 };
      guint snapshot = pick (&prng, 0, 1) ? 50 + (guint) pick (&prng, 0, 200) : 10000;
      /* Small slices keep snapshots in progress across many inputs; drawn
       * from the seed apart from the stream, so the rest of a seed's
       * schedule is what it was before the knob existed. */
      guint slice = seed % 2 == 1 ? 1 + (guint) ((seed / 2) % 3) : 4096;
      guint batch = batches[pick (&prng, 0, G_N_ELEMENTS (batches) - 1)];
      guint inflight = (guint) pick (&prng, 1, 8);
      guint heartbeat = (guint) pick (&prng, 20, 60);
      guint election = (guint) pick (&prng, 100, 300);
      guint retries = (guint) pick (&prng, 1, 5);
      guint retry_delay = (guint) pick (&prng, 20, 200);
      if (swarm.trickle)
        batch = inflight = 1;
      g_string_append_printf (out, "\"cluster\":{\"snapshot_threshold_entries\":%u,\"snapshot_slice_machines\":%u,"
                              "\"max_batch_entries\":%u,"
                              "\"max_inflight_proposals\":%u,\"heartbeat_ms\":%u,\"election_timeout_ms_min\":%u,"
                              "\"election_timeout_ms_max\":%u,\"retry_attempts\":%u,\"retry_delay_ms\":%u},",
                              snapshot, slice, batch, inflight, heartbeat, MAX (election, heartbeat + 1),
                              2 * MAX (election, heartbeat + 1), retries, retry_delay);
      guint latency = (guint) pick (&prng, 2, 30);
      guint loss = enabled[FAULT_LOSS] ? (guint) pick (&prng, 0, 5) : 0;
      guint fsync = (guint) pick (&prng, 1, 10);
      if (swarm.fsync_max != 0)
        fsync = swarm.fsync_max;
      g_string_append_printf (out, "\"network\":{\"latency_ms_min\":1,\"latency_ms_max\":%u,\"loss_percent\":%u},",
                              latency, loss);
      g_string_append_printf (out, "\"disk\":{\"fsync_ms_min\":0,\"fsync_ms_max\":%u},", fsync);
    }
  /* One pick per statement: argument order is unspecified in C. */
  guint clients = (guint) pick (&prng, 1, 6);
  guint machines = (guint) pick (&prng, 1, 6);
  guint rate = (guint) pick (&prng, 20, 300);
  guint reads = (guint) pick (&prng, 0, 50);
  /* Clients that follow leader hints keep feeding a leader that was just
   * cut off: entries of its epoch stranded on one node, which churn needs. */
  const char *target = dsm_prng_chance (&prng, enabled[FAULT_CHURN] ? 80 : 50) ? "leader" : "random";
  g_string_append_printf (out, "\"workload\":{\"clients\":%u,\"machines\":%u,\"rate_per_s\":%u,\"read_percent\":%u,"
                          "\"duration_ms\":%" G_GUINT64_FORMAT ",\"target\":\"%s\"},",
                          clients, machines, rate, reads, duration, target);

  g_autoptr(GArray) steps = g_array_new (FALSE, FALSE, sizeof (TimedStep));
  g_array_set_clear_func (steps, (GDestroyNotify) timed_step_clear);
  guint n_faults = (guint) pick (&prng, swarm.faults_min, swarm.faults_max);
  gboolean corrupt_used = FALSE;
  for (guint i = 0; i < n_faults; i++)
    {
      guint k;
      do
        k = (guint) pick (&prng, 0, FAULT_N - 1);
      while (!enabled[k]);
      append_fault (steps, &prng, (FaultKind) k, nodes, pick (&prng, 200, duration), &corrupt_used);
    }
  /* Now and then a burst: nodes bouncing every few milliseconds while
   * elections run, the schedule that finds vote and epoch bugs. */
  if (nodes > 2 && dsm_prng_chance (&prng, swarm.burst_percent))
    {
      guint64 start = pick (&prng, 200, duration);
      guint bounces = (guint) pick (&prng, 5, 30);
      for (guint i = 0; i < bounces; i++)
        {
          guint64 at = start + pick (&prng, 0, 2000);
          guint id = (guint) pick (&prng, 1, nodes);
          guint64 down = pick (&prng, 1, 60);
          add_step (steps, at, "\"do\":\"crash\",\"node\":%u", id);
          add_step (steps, at + down, "\"do\":\"restart\",\"node\":%u", id);
        }
    }
  if (!options->no_membership && nodes > 1)
    append_membership_faults (steps, seed, duration);
  if (options->allow_disk_full && nodes > 1)
    append_disk_full (steps, seed, nodes, duration);
  if (options->attack_percent > 0 && nodes > 1)
    append_attacks (steps, seed, options->attack_percent, duration);
  g_array_sort (steps, compare_timed);
  g_string_append (out, "\"steps\":[");
  for (guint i = 0; i < steps->len; i++)
    {
      const TimedStep *t = &g_array_index (steps, TimedStep, i);
      g_string_append_printf (out, "%s{\"at_ms\":%" G_GUINT64_FORMAT ",%s}", i > 0 ? "," : "", t->at, t->json);
    }
  /* Catching up after the heal may take an RTT per entry (batches of one,
   * a window of one): the liveness bounds leave room for that. */
  g_string_append (out, "],\"expect\":{\"leader_within_ms\":10000,\"settle_ms\":20000}}");

  g_autofree char *name = g_strdup_printf ("explore-%" G_GUINT64_FORMAT, seed);
  g_autofree char *text = g_string_free (out, FALSE);
  return dsm_scenario_new_from_data (text, -1, name, error);
}
