/* tools/bench/raft-fixture-bench.c: canonical/raft's in-memory test cluster
 * (libraft-dev's raft_fixture, virtual time) on the simulator benchmark's
 * workload, the peer of `dsm-sim run tools/bench/sim-workload.json`
 * (docs/BENCHMARKS.md, part 3).
 *
 *   raft-fixture-bench [--nodes N] [--commands N] [--in-flight N]
 *                      [--loss PERCENT] [--seed S]
 *
 * N nodes (5) with dsm-sim's default timing (heartbeat 50 ms, election
 * timeout 150-300 ms drawn afresh before every step, per-server network
 * latency 1-10 ms and disk latency 0-2 ms), a simple FSM (a
 * counter), COMMANDS commands (20,000) each one raft_apply() of one entry
 * with IN_FLIGHT (32) outstanding on the leader, PERCENT (10) of all
 * messages lost, and every 10 s of virtual time the leader isolated (odd
 * faults) or killed (even ones) for 2 s.  raft's own defaults otherwise
 * (snapshot every 1,024 entries, 2,048 kept): the fixture copies the
 * leader's whole log on every step for its append-only check, so its cost
 * grows with the log; dsm's 10,000-entry threshold would slow it ~10x.
 * A client whose command sees no answer within 2 s (dsm's
 * consensus_timeout_ms) gives up on it and sends a new one.  InstallSnapshot
 * messages are never lost (see lossy_send).  Prints one JSON object:
 * commands committed, fixture events (raft_fixture_step calls), virtual and
 * wall time, and their rates. */
#include <raft.h>
#include <raft/fixture.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_NODES RAFT_FIXTURE_MAX_SERVERS
#define CLIENT_TIMEOUT_MS 2000
#define FAULT_EVERY_MS 10000
#define FAULT_FOR_MS 2000

typedef struct {
  unsigned long long applied;
} Fsm;

typedef struct Request Request;

typedef struct {
  Request *current;
  raft_time deadline;
} Slot;

struct Request {
  struct raft_apply apply;
  int slot;            /* -1 once the client gave up on it */
};

static struct raft_fixture fixture;
static Fsm fsm_state[MAX_NODES];
static struct raft_fsm fsms[MAX_NODES];
static Slot slots[1024];
static unsigned n_slots = 32;
static unsigned long long committed, failed_applies, timeouts;
static unsigned loss_percent = 10;
static unsigned long long rng_state = 88172645463325252ULL;
static int (*fixture_send) (struct raft_io *, struct raft_io_send *, const struct raft_message *, raft_io_send_cb);
static unsigned long long messages_sent, messages_lost;

static unsigned
rng_next (void)
{
  /* xorshift64: the harness's own dice, seeded from --seed. */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (unsigned) (rng_state >> 11);
}

static int
fsm_apply (struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
  Fsm *s = fsm->data;
  (void) buf;
  s->applied++;
  *result = NULL;
  return 0;
}

static int
fsm_snapshot (struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
  Fsm *s = fsm->data;
  *bufs = raft_malloc (sizeof **bufs);
  (*bufs)[0].len = sizeof s->applied;
  (*bufs)[0].base = raft_malloc (sizeof s->applied);
  memcpy ((*bufs)[0].base, &s->applied, sizeof s->applied);
  *n_bufs = 1;
  return 0;
}

static int
fsm_restore (struct raft_fsm *fsm, struct raft_buffer *buf)
{
  Fsm *s = fsm->data;
  memcpy (&s->applied, buf->base, sizeof s->applied);
  raft_free (buf->base);
  return 0;
}

/* Message loss: a lost message is re-addressed to a server that does not
 * exist, so the fixture drops it when it would have been delivered (the
 * sender sees a successful send, as with a lossy network). */
static int
lossy_send (struct raft_io *io, struct raft_io_send *req, const struct raft_message *message, raft_io_send_cb cb)
{
  messages_sent++;
  int lost = rng_next () % 100 < loss_percent;
  /* Losing an InstallSnapshot crashes libraft 0.15 here (a SIGSEGV in a
   * memcpy under raft_fixture_step, e.g. --nodes 3 --seed 3): snapshots
   * always arrive.  That favours the peer slightly. */
  if (lost && message->type == RAFT_IO_INSTALL_SNAPSHOT)
    lost = 0;
  if (lost)
    {
      struct raft_message copy = *message;
      copy.server_id = 999;
      messages_lost++;
      return fixture_send (io, req, &copy, cb);
    }
  return fixture_send (io, req, message, cb);
}

/* The live leader of the highest term, or -1. */
static int
current_leader (void)
{
  int best = -1;
  raft_term term = 0;
  for (unsigned i = 0; i < fixture.n; i++)
    {
      struct raft *r = raft_fixture_get (&fixture, i);
      if (raft_fixture_alive (&fixture, i) && raft_state (r) == RAFT_LEADER && r->current_term >= term)
        {
          best = (int) i;
          term = r->current_term;
        }
    }
  return best;
}

static void submit (unsigned slot);

static void
apply_cb (struct raft_apply *apply, int status, void *result)
{
  Request *req = apply->data;
  (void) result;
  if (status == 0)
    committed++;
  else
    failed_applies++;
  if (req->slot >= 0)
    slots[req->slot].current = NULL;
  free (req);
}

static void
submit (unsigned slot)
{
  int leader = current_leader ();
  if (leader < 0)
    return;
  Request *req = calloc (1, sizeof *req);
  struct raft_buffer buf = { .len = 8, .base = raft_malloc (8) };
  memset (buf.base, 0, 8);
  req->slot = (int) slot;
  req->apply.data = req;
  if (raft_apply (raft_fixture_get (&fixture, (unsigned) leader), &req->apply, &buf, 1, apply_cb) != 0)
    {
      raft_free (buf.base);
      free (req);
      return;
    }
  slots[slot].current = req;
  slots[slot].deadline = raft_fixture_time (&fixture) + CLIENT_TIMEOUT_MS;
}

static void
randomize_election_timeouts (void)
{
  for (unsigned i = 0; i < fixture.n; i++)
    raft_fixture_set_randomized_election_timeout (&fixture, i, 150 + rng_next () % 151);
}

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main (int argc, char **argv)
{
  unsigned n = 5;
  unsigned long long target = 20000;

  for (int i = 1; i + 1 < argc; i += 2)
    {
      if (strcmp (argv[i], "--nodes") == 0) n = (unsigned) atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--commands") == 0) target = strtoull (argv[i + 1], NULL, 10);
      else if (strcmp (argv[i], "--in-flight") == 0) n_slots = (unsigned) atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--loss") == 0) loss_percent = (unsigned) atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--seed") == 0) rng_state = strtoull (argv[i + 1], NULL, 10) * 2654435761ULL + 1;
      else { fprintf (stderr, "raft-fixture-bench: unknown argument %s\n", argv[i]); return 2; }
    }
  if (n < 1 || n > MAX_NODES || n_slots < 1 || n_slots > 1024 || loss_percent > 100)
    {
      fprintf (stderr, "raft-fixture-bench: --nodes 1..%d, --in-flight 1..1024, --loss 0..100\n", MAX_NODES);
      return 2;
    }

  double wall_start = now_s ();
  if (raft_fixture_initialize (&fixture) != 0)
    return 1;
  for (unsigned i = 0; i < n; i++)
    {
      fsms[i] = (struct raft_fsm) { .version = 1, .data = &fsm_state[i], .apply = fsm_apply,
                                    .snapshot = fsm_snapshot, .restore = fsm_restore };
      if (raft_fixture_grow (&fixture, &fsms[i]) != 0)
        return 1;
    }
  struct raft_configuration conf;
  if (raft_fixture_configuration (&fixture, n, &conf) != 0 || raft_fixture_bootstrap (&fixture, &conf) != 0)
    return 1;
  raft_configuration_close (&conf);
  for (unsigned i = 0; i < n; i++)
    {
      struct raft *r = raft_fixture_get (&fixture, i);
      raft_set_heartbeat_timeout (r, 50);
      raft_set_election_timeout (r, 150);
      raft_fixture_set_network_latency (&fixture, i, 1 + rng_next () % 10);
      raft_fixture_set_disk_latency (&fixture, i, rng_next () % 3);
      fixture_send = fixture.servers[i].io.send;
      fixture.servers[i].io.send = lossy_send;
    }
  randomize_election_timeouts ();
  if (raft_fixture_start (&fixture) != 0)
    return 1;

  unsigned long long events = 0, faults = 0, elections = 0;
  raft_time next_fault = FAULT_EVERY_MS, heal_at = 0;
  int faulted = -1, fault_kind = 0;
  raft_term last_term = 0;
  const raft_time max_time = 3600 * 1000;

  while (committed < target && raft_fixture_time (&fixture) < max_time)
    {
      raft_time now = raft_fixture_time (&fixture);
      if (faulted < 0 && now >= next_fault)
        {
          int leader = current_leader ();
          next_fault += FAULT_EVERY_MS;
          if (leader >= 0)
            {
              faulted = leader;
              fault_kind = (int) (faults++ % 2);
              heal_at = now + FAULT_FOR_MS;
              if (fault_kind == 0)
                for (unsigned j = 0; j < n; j++)
                  {
                    if ((int) j == leader)
                      continue;
                    raft_fixture_saturate (&fixture, (unsigned) leader, j);
                    raft_fixture_saturate (&fixture, j, (unsigned) leader);
                  }
              else
                raft_fixture_kill (&fixture, (unsigned) leader);
            }
        }
      else if (faulted >= 0 && now >= heal_at)
        {
          if (fault_kind == 0)
            for (unsigned j = 0; j < n; j++)
              {
                if ((int) j == faulted)
                  continue;
                raft_fixture_desaturate (&fixture, (unsigned) faulted, j);
                raft_fixture_desaturate (&fixture, j, (unsigned) faulted);
              }
          else
            raft_fixture_revive (&fixture, (unsigned) faulted);
          faulted = -1;
        }
      for (unsigned s = 0; s < n_slots; s++)
        {
          if (slots[s].current != NULL && now >= slots[s].deadline)
            {
              slots[s].current->slot = -1;   /* the client gives up; the entry may still commit */
              slots[s].current = NULL;
              timeouts++;
            }
          if (slots[s].current == NULL)
            submit (s);
        }
      /* The fixture's io->random() returns a fixed value per server: draw
       * a fresh one before every step, so each election timer reset gets
       * its own random timeout as with a real raft_io. */
      randomize_election_timeouts ();
      raft_fixture_step (&fixture);
      events++;
      int leader = current_leader ();
      if (leader >= 0 && raft_fixture_get (&fixture, (unsigned) leader)->current_term != last_term)
        {
          last_term = raft_fixture_get (&fixture, (unsigned) leader)->current_term;
          elections++;
        }
    }
  double wall = now_s () - wall_start;
  raft_time virtual_ms = raft_fixture_time (&fixture);
  printf ("{\"nodes\":%u,\"committed\":%llu,\"events\":%llu,\"virtual_ms\":%llu,\"wall_s\":%.4f,"
          "\"commits_per_wall_s\":%.1f,\"events_per_wall_s\":%.1f,\"elections\":%llu,\"faults\":%llu,"
          "\"client_timeouts\":%llu,\"failed_applies\":%llu,\"messages_sent\":%llu,\"messages_lost\":%llu}\n",
          n, committed, events, (unsigned long long) virtual_ms, wall, committed / wall, events / wall, elections,
          faults, timeouts, failed_applies, messages_sent, messages_lost);
  fflush (stdout);
  /* raft_fixture_close() would fire the callbacks of requests still in
   * flight; the process ends here, so the OS reclaims it all. */
  return committed >= target ? 0 : 1;
}
