/* sim/watchers.c: the simulated watchers (docs/SCENARIOS.md, "Watchers"):
 * clients that hold a watch stream on one node, resume from the last
 * revision they saw on another node when theirs crashes or a
 * watch_reconnect step drops them, and report everything they receive to
 * the watch checker (check/watch-check.h).  Each node keeps the change
 * feed a real host keeps (core/watch.h); events reach a watcher as its
 * node applies them. */
#include <string.h>

#include "check/watch-check.h"
#include "log.h"
#include "sim-private.h"

/* After its node dies a watcher tries again within this (virtual) time. */
#define WATCH_RETRY_MS_MIN 20
#define WATCH_RETRY_MS_MAX 300

struct _SimWatcher {
  char *who;                /* "w0", ... */
  char *machine;            /* one of the two */
  char *prefix;
  DsmNodeId node;           /* DSM_NODE_NONE: not connected */
  guint64 revision;         /* every change it watches up to here was received */
  gboolean resumed;         /* connected before: a reconnect resumes */
  Event *timer;             /* its next try, in the heap */
};

static DsmWatchFilter
watcher_filter (const SimWatcher *w)
{
  DsmWatchFilter filter = { .machine = w->machine, .prefix = w->prefix };
  return filter;
}

static gboolean
skips_on_resume (const DsmSim *sim)
{
#ifdef DSM_MUTANTS
  return sim->options.mutant == DSM_MUTANT_WATCH_SKIP_ON_RESUME;
#else
  return FALSE;
#endif
}

/* The node's feed, made when first needed (at a start or restart it
 * holds nothing below what the node had applied). */
static DsmWatchFeed *
node_feed (SimNode *sn, guint64 first_index)
{
  if (sn->feed == NULL)
    sn->feed = dsm_watch_feed_new (first_index);
  return sn->feed;
}

void
watchers_init (DsmSim *sim)
{
  const DsmWorkload *load = &sim->scenario->workload;

  sim->n_watchers = load->watchers;
  sim->watchers = g_new0 (SimWatcher, sim->n_watchers);
  dsm_prng_init (&sim->watch_prng, sim->seed, "watchers", 0);
  /* Even ones follow one machine each; odd ones every workload machine. */
  for (guint i = 0; i < sim->n_watchers; i++)
    {
      SimWatcher *w = &sim->watchers[i];
      w->who = g_strdup_printf ("w%u", i);
      if (i % 2 == 0)
        w->machine = g_strdup_printf ("m%u", (i / 2) % MAX (load->machines, 1));
      else
        w->prefix = g_strdup ("m");
    }
}

void
watchers_clear (DsmSim *sim)
{
  for (guint i = 0; i < sim->n_watchers; i++)
    {
      g_free (sim->watchers[i].who);
      g_free (sim->watchers[i].machine);
      g_free (sim->watchers[i].prefix);
    }
  g_free (sim->watchers);
}

static void
watcher_receive (DsmSim *sim, SimWatcher *w, const DsmChange *change)
{
  DsmWatchFilter filter = watcher_filter (w);

  dsm_checker_watch_change (sim->checker, sim->now_ms, w->who, &filter, w->revision, change);
  if (change->revision > w->revision)
    w->revision = change->revision;
}

static void
resync_one (const char *machine, const DsmMachineDef *def, const char *state, guint64 index, gpointer data)
{
  gpointer *args = data;
  DsmSim *sim = args[0];
  SimWatcher *w = args[1];
  guint64 *revision = args[2];

  if (g_str_has_prefix (machine, w->prefix))
    dsm_checker_watch_resync (sim->checker, sim->now_ms, w->who, machine, w->revision, *revision, state);
}

/* The compacted answer: the watched machines' state as the node has them. */
static void
watcher_resync (DsmSim *sim, SimWatcher *w, SimNode *sn, guint64 revision)
{
  const DsmStore *store = dsm_node_get_store (sn->node);

  trace_line (sim, "\"ev\":\"watch_compacted\",\"watcher\":\"%s\",\"node\":%u,\"from\":%" G_GUINT64_FORMAT
              ",\"revision\":%" G_GUINT64_FORMAT, w->who, sn->id, w->revision, revision);
  if (w->machine != NULL)
    dsm_checker_watch_resync (sim->checker, sim->now_ms, w->who, w->machine, w->revision, revision,
                              dsm_store_read (store, w->machine, NULL, NULL));
  else
    {
      gpointer args[] = { sim, w, &revision };
      dsm_store_foreach_range (store, 0, G_MAXUINT, resync_one, args);
    }
  sim->report.watch_resyncs++;
  w->revision = MAX (w->revision, revision);
}

static void
watcher_connect (DsmSim *sim, SimWatcher *w, SimNode *sn)
{
  DsmWatchFeed *feed = node_feed (sn, dsm_node_get_applied_index (sn->node));
  DsmWatchFilter filter = watcher_filter (w);
  g_autoptr(GPtrArray) replay = g_ptr_array_new ();
  guint skip = 0;

  w->node = sn->id;
  trace_line (sim, "\"ev\":\"watch\",\"watcher\":\"%s\",\"node\":%u,\"from\":%" G_GUINT64_FORMAT, w->who, sn->id,
              w->revision);
  if (!dsm_watch_feed_replay (feed, &filter, w->revision, replay))
    watcher_resync (sim, w, sn, dsm_watch_feed_get_revision (feed));
  /* The planted bug: a resumed watch loses the first change it replays. */
  if (w->resumed && replay->len > 0 && skips_on_resume (sim))
    skip = 1;
  for (guint i = skip; i < replay->len; i++)
    watcher_receive (sim, w, replay->pdata[i]);
  w->revision = MAX (w->revision, dsm_watch_feed_get_revision (feed));
  w->resumed = TRUE;
  sim->report.watch_connects++;
}

/* A live member other than @not, drawn from the watchers' own stream. */
static SimNode *
watchers_pick_node (DsmSim *sim, DsmNodeId not)
{
  DsmNodeId live[DSM_MAX_NODES];
  guint n = 0;

  for (DsmNodeId id = 1; id <= sim->n; id++)
    if (sim->nodes[id].node != NULL && sim_in_cluster (sim, id) && id != not)
      live[n++] = id;
  if (n == 0)
    return NULL;
  return &sim->nodes[live[dsm_prng_range (&sim->watch_prng, 0, n - 1)]];
}

static void
watcher_schedule (DsmSim *sim, SimWatcher *w, guint index, guint64 delay_ms)
{
  Event *ev;

  if (w->timer != NULL)
    return;
  ev = sim_event_new (sim, EV_WATCH, sim->now_ms + delay_ms);
  ev->client = index;
  w->timer = ev;
  sim_schedule (sim, ev);
}

void
watchers_start (DsmSim *sim)
{
  for (guint i = 0; i < sim->n_watchers; i++)
    watcher_schedule (sim, &sim->watchers[i], i, 0);
}

void
watchers_event (DsmSim *sim, Event *ev)
{
  SimWatcher *w = &sim->watchers[ev->client];
  SimNode *sn;

  g_assert (ev->client < sim->n_watchers);
  g_assert (w->timer == ev);
  w->timer = NULL;
  if (w->node != DSM_NODE_NONE)
    return;
  sn = watchers_pick_node (sim, DSM_NODE_NONE);
  if (sn == NULL)
    watcher_schedule (sim, w, ev->client, dsm_prng_range (&sim->watch_prng, WATCH_RETRY_MS_MIN, WATCH_RETRY_MS_MAX));
  else
    watcher_connect (sim, w, sn);
}

void
watchers_on_applies (DsmSim *sim, SimNode *sn, GPtrArray *applies)
{
  if (sim->n_watchers == 0 || applies->len == 0)
    return;
  DsmWatchFeed *feed = node_feed (sn, ((DsmApplied *) applies->pdata[0])->entry->index - 1);
  for (guint i = 0; i < applies->len; i++)
    {
      const DsmChange *change = dsm_watch_feed_record (feed, applies->pdata[i]);
      if (change == NULL)
        continue;
      for (guint k = 0; k < sim->n_watchers; k++)
        {
          SimWatcher *w = &sim->watchers[k];
          DsmWatchFilter filter = watcher_filter (w);
          if (w->node == sn->id && w->revision >= dsm_watch_feed_get_floor (feed) && change->revision > w->revision
              && dsm_watch_filter_matches (&filter, change->machine))
            watcher_receive (sim, w, change);
        }
    }
  dsm_watch_feed_sync (feed, dsm_log_start_index (dsm_node_get_log (sn->node)), dsm_node_get_applied_index (sn->node));
  /* A snapshot installed past a watcher's revision: it resyncs, as a real node's does. */
  for (guint k = 0; k < sim->n_watchers; k++)
    if (sim->watchers[k].node == sn->id && sim->watchers[k].revision < dsm_watch_feed_get_floor (feed))
      watcher_resync (sim, &sim->watchers[k], sn, dsm_watch_feed_get_revision (feed));
}

void
watchers_on_crash (DsmSim *sim, SimNode *sn)
{
  g_clear_pointer (&sn->feed, dsm_watch_feed_free);
  for (guint i = 0; i < sim->n_watchers; i++)
    if (sim->watchers[i].node == sn->id)
      {
        sim->watchers[i].node = DSM_NODE_NONE;
        watcher_schedule (sim, &sim->watchers[i], i,
                          dsm_prng_range (&sim->watch_prng, WATCH_RETRY_MS_MIN, WATCH_RETRY_MS_MAX));
      }
}

void
watchers_reconnect_all (DsmSim *sim)
{
  for (guint i = 0; i < sim->n_watchers; i++)
    {
      SimWatcher *w = &sim->watchers[i];
      SimNode *sn = watchers_pick_node (sim, w->node);
      if (w->node == DSM_NODE_NONE)
        continue;  /* already on its way back */
      trace_line (sim, "\"ev\":\"watch_drop\",\"watcher\":\"%s\",\"node\":%u", w->who, w->node);
      w->node = DSM_NODE_NONE;
      if (sn != NULL)
        watcher_connect (sim, w, sn);
      else
        watcher_schedule (sim, w, i, WATCH_RETRY_MS_MIN);
    }
}

void
watchers_finish (DsmSim *sim)
{
  for (guint i = 0; i < sim->n_watchers; i++)
    {
      SimWatcher *w = &sim->watchers[i];
      DsmWatchFilter filter = watcher_filter (w);
      if (w->node == DSM_NODE_NONE || sim->nodes[w->node].node == NULL)
        continue;
      dsm_checker_watch_caught_up (sim->checker, sim->now_ms, w->who, &filter, w->revision,
                                   dsm_node_get_applied_index (sim->nodes[w->node].node));
    }
}
