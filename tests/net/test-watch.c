/* tests/net/test-watch.c: watch streams on real dsm-node processes
 * (docs/API.md, "Watching machines"): a watcher sees every change of its
 * machine in commit order across a leader kill and its own reconnects, a
 * watch from a compacted revision gets the resync answer (also when its
 * node installs a snapshot under it), a watcher that
 * falls behind is cut off and counted, limits and bad parameters are
 * refused by name. */
#include <string.h>

#include "cluster.h"
#include "raw-http.h"

/* One Server-Sent Event. */
typedef struct {
  guint64 id;                   /* 0: none */
  char *event;
  JsonNode *data;
} Event;

static void
event_free (gpointer data)
{
  Event *e = data;
  g_free (e->event);
  g_clear_pointer (&e->data, json_node_unref);
  g_free (e);
}

/* A watch over a raw connection: its head, then its events as they come. */
typedef struct {
  RawConn *raw;
  guint status;
  gsize parsed;                 /* bytes of raw->in taken as head or events */
  GPtrArray *events;            /* Event */
} Watch;

static void
watch_free (Watch *w)
{
  raw_close (w->raw);
  g_ptr_array_unref (w->events);
  g_free (w);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Watch, watch_free)

static Watch *
watch_open (Cluster *c, guint id, const char *target)
{
  Watch *w = g_new0 (Watch, 1);
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", target);

  w->raw = raw_connect (c->client_port[id], NULL);
  w->events = g_ptr_array_new_with_free_func (event_free);
  g_assert_true (raw_send_str (w->raw, request));
  return w;
}

/* Takes the whole events now in the buffer. */
static void
watch_parse (Watch *w)
{
  GString *in = w->raw->in;

  if (w->status == 0)
    {
      const char *end = g_strstr_len (in->str, (gssize) in->len, "\r\n\r\n");
      if (end == NULL)
        return;
      g_assert_true (g_str_has_prefix (in->str, "HTTP/1.1 "));
      w->status = (guint) g_ascii_strtoull (in->str + 9, NULL, 10);
      w->parsed = (gsize) (end - in->str) + 4;
    }
  for (;;)
    {
      const char *start = in->str + w->parsed;
      const char *end = g_strstr_len (start, (gssize) (in->len - w->parsed), "\n\n");
      if (end == NULL)
        return;
      g_autofree char *block = g_strndup (start, (gsize) (end - start));
      g_auto(GStrv) lines = g_strsplit (block, "\n", -1);
      Event *e = g_new0 (Event, 1);
      w->parsed += (gsize) (end - start) + 2;
      for (char **l = lines; *l != NULL; l++)
        if (g_str_has_prefix (*l, "id: "))
          e->id = g_ascii_strtoull (*l + 4, NULL, 10);
        else if (g_str_has_prefix (*l, "event: "))
          e->event = g_strdup (*l + 7);
        else if (g_str_has_prefix (*l, "data: "))
          {
            g_autoptr(GError) error = NULL;
            e->data = json_from_string (*l + 6, &error);
            g_assert_no_error (error);
          }
        else
          g_assert_true ((*l)[0] == ':');   /* a comment: keepalive or the opening line */
      if (e->event == NULL)
        event_free (e);
      else
        g_ptr_array_add (w->events, e);
    }
}

/* Reads until @n events came (TRUE), the server closed, or the budget ended. */
static gboolean
watch_wait (Watch *w, guint n, guint budget_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) budget_ms * 1000;

  watch_parse (w);
  while (w->events->len < n && !w->raw->closed && g_get_monotonic_time () < deadline)
    {
      raw_wait (w->raw, 100);
      watch_parse (w);
    }
  return w->events->len >= n;
}

/* Reads until the head came (the watch is registered then). */
static void
watch_wait_head (Watch *w)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) CLUSTER_BUDGET_MS * 1000;

  watch_parse (w);
  while (w->status == 0 && !w->raw->closed)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      raw_wait (w->raw, 100);
      watch_parse (w);
    }
  g_assert_cmpuint (w->status, !=, 0);
}

static Event *
watch_event (Watch *w, guint i)
{
  g_assert_cmpuint (i, <, w->events->len);
  return w->events->pdata[i];
}

static void
propose_ok (Cluster *c, guint id, const char *machine, const char *state)
{
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *client = g_strdup_printf ("w-%s", machine);
  static guint64 seq;

  g_assert_cmpuint (cluster_propose (c, id, machine, state, client, ++seq, CLUSTER_BUDGET_MS, &root), ==, 200);
}

static const char *const cycle[] = { "Running", "Stopped", "Init" };

/* `dsmctl watch` as a child, its output read when it exits. */
static GSubprocess *
dsmctl_watch_spawn (Cluster *c, const char *const *args)
{
  g_autofree char *endpoints = cluster_endpoints (c);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GSubprocess *proc;

  g_ptr_array_add (argv, (char *) g_getenv ("DSMCTL"));
  g_ptr_array_add (argv, (char *) "--endpoints");
  g_ptr_array_add (argv, endpoints);
  g_ptr_array_add (argv, (char *) "--timeout");
  g_ptr_array_add (argv, (char *) "30");
  g_ptr_array_add (argv, (char *) "watch");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);
  proc = g_subprocess_newv ((const char *const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  return proc;
}

/* Waits for @proc to exit; its stdout lines. */
static GStrv
dsmctl_watch_finish (GSubprocess *proc)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  g_test_message ("dsmctl watch: exit %d\n%s%s", g_subprocess_get_exit_status (proc), out, err);
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
  return g_strsplit (g_strchomp (out), "\n", -1);
}

/* ---- a shared single node with small limits ---- */

static Cluster *small;

#define SMALL_CONFIG "\"snapshot_threshold_entries\": 40, \"http\": {\"watch_buffer_bytes\": 1024, " \
  "\"max_watchers_per_client\": 3, \"watch_keepalive_ms\": 200}"

static void
test_replay_then_live (void)
{
  g_autoptr(Watch) one = NULL;
  g_autoptr(Watch) jobs = NULL;
  guint64 floor;

  g_test_summary ("A watch from a revision replays the changes after it, then gets live ones; a prefix "
                  "watch gets its machines only");
  floor = (guint64) cluster_metric (small, 1, "dsm_watch_feed_floor{node=\"1\"}");
  propose_ok (small, 1, "job-a", "Running");
  propose_ok (small, 1, "other", "Running");
  propose_ok (small, 1, "job-a", "Stopped");
  g_autofree char *target = g_strdup_printf ("/v1/machines/job-a?watch=1&from_revision=%" G_GUINT64_FORMAT, floor);
  one = watch_open (small, 1, target);
  g_assert_true (watch_wait (one, 2, CLUSTER_BUDGET_MS));
  g_assert_cmpuint (one->status, ==, 200);
  g_assert_cmpstr (watch_event (one, 0)->event, ==, "change");
  g_assert_cmpstr (json_get_string (watch_event (one, 0)->data, "to"), ==, "Running");
  g_assert_cmpstr (json_get_string (watch_event (one, 1)->data, "from"), ==, "Running");
  g_assert_cmpstr (json_get_string (watch_event (one, 1)->data, "to"), ==, "Stopped");
  g_assert_cmpuint (watch_event (one, 0)->id, <, watch_event (one, 1)->id);
  g_assert_cmpint (json_get_int (watch_event (one, 1)->data, "revision"), ==, (gint64) watch_event (one, 1)->id);

  jobs = watch_open (small, 1, "/v1/machines?watch=1&prefix=job-");
  watch_wait_head (jobs);
  g_assert_cmpuint (jobs->status, ==, 200);
  propose_ok (small, 1, "other", "Stopped");
  propose_ok (small, 1, "job-b", "Running");
  g_assert_true (watch_wait (jobs, 1, CLUSTER_BUDGET_MS));
  g_assert_cmpstr (json_get_string (watch_event (jobs, 0)->data, "machine"), ==, "job-b");
  propose_ok (small, 1, "job-a", "Init");
  g_assert_true (watch_wait (one, 3, CLUSTER_BUDGET_MS));
  g_assert_true (watch_wait (jobs, 2, CLUSTER_BUDGET_MS));
  g_assert_cmpuint (watch_event (jobs, 1)->id, ==, watch_event (one, 2)->id);
}

static void
test_compacted_answer (void)
{
  g_autoptr(Watch) w = NULL;
  gint64 deadline = g_get_monotonic_time () + CLUSTER_BUDGET_MS * 1000;
  guint i = 0;
  Event *e;

  g_test_summary ("A watch from a revision the log no longer holds is answered compacted: the current state "
                  "and the revision to resume from, then live changes");
  /* Enough entries for snapshots to move the log's start past revision 1. */
  while (cluster_metric (small, 1, "dsm_watch_feed_floor{node=\"1\"}") < 2)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      propose_ok (small, 1, "comp", cycle[i++ % 3]);
    }
  w = watch_open (small, 1, "/v1/machines/comp?watch=1&from_revision=1");
  g_assert_true (watch_wait (w, 1, CLUSTER_BUDGET_MS));
  e = watch_event (w, 0);
  g_assert_cmpstr (e->event, ==, "compacted");
  g_assert_cmpstr (json_get_string (e->data, "machine"), ==, "comp");
  g_assert_cmpstr (json_get_string (e->data, "state"), ==, cycle[(i - 1) % 3]);
  g_assert_cmpint (json_get_int (e->data, "revision"), ==, (gint64) e->id);
  g_assert_cmpuint (e->id, >=, 2);
  g_assert_cmpfloat (cluster_metric (small, 1, "dsm_watch_compacted_total{node=\"1\"}"), >=, 1);
  propose_ok (small, 1, "comp", cycle[i % 3]);
  g_assert_true (watch_wait (w, 2, CLUSTER_BUDGET_MS));
  g_assert_cmpstr (watch_event (w, 1)->event, ==, "change");
  g_assert_cmpstr (json_get_string (watch_event (w, 1)->data, "from"), ==, cycle[(i - 1) % 3]);
  g_assert_cmpuint (watch_event (w, 1)->id, >, e->id);
}

static void
test_dsmctl_compacted (void)
{
  static const char *const args[] = { "comp", "--from-revision", "1", "--count", "1", NULL };
  g_autoptr(GSubprocess) ctl = dsmctl_watch_spawn (small, args);
  g_auto(GStrv) lines = NULL;
  g_autoptr(JsonNode) root = NULL;
  gint64 deadline = g_get_monotonic_time () + CLUSTER_BUDGET_MS * 1000;

  g_test_summary ("dsmctl watch from a compacted revision prints the state to resync from, then the changes "
                  "after it");
  g_assert_cmpuint (cluster_http (small, 1, "GET", "/v1/machines/comp?stale=1", NULL, &root), ==, 200);
  const char *now = json_get_string (root, "state");
  const char *next = strcmp (now, "Init") == 0 ? "Running" : strcmp (now, "Running") == 0 ? "Stopped" : "Init";
  /* Once its watch is open (counted), the change it must print. */
  while (cluster_metric (small, 1, "dsm_watch_compacted_total{node=\"1\"}") < 2)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20000);
    }
  propose_ok (small, 1, "comp", next);
  lines = dsmctl_watch_finish (ctl);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  g_autofree char *is = g_strdup_printf (" comp is %s", now);
  g_assert_true (g_str_has_suffix (lines[0], is));
  g_autofree char *change = g_strdup_printf (" comp %s -> %s", now, next);
  g_assert_true (g_str_has_suffix (lines[1], change));
}

static void
test_slow_watcher_cut_off (void)
{
  g_autoptr(Watch) w = NULL;
  double before = cluster_metric (small, 1, "dsm_watchers_closed_total{node=\"1\",reason=\"slow\"}");
  guint64 floor;
  g_autofree char *target = NULL;
  Event *last;

  g_test_summary ("A watcher whose events pass http.watch_buffer_bytes is cut off with a reason event naming "
                  "the last revision it got, and counted");
  /* More events than 1024 bytes hold, replayed (the log keeps at least
   * half a snapshot threshold past its snapshot): the replay is written
   * before the answer leaves, so it is cut off whatever the client reads. */
  for (guint i = 0; i < 45; i++)
    propose_ok (small, 1, "slow", cycle[i % 3]);
  floor = (guint64) cluster_metric (small, 1, "dsm_watch_feed_floor{node=\"1\"}");
  target = g_strdup_printf ("/v1/machines/slow?watch=1&from_revision=%" G_GUINT64_FORMAT, floor);
  w = watch_open (small, 1, target);
  g_assert_true (raw_wait_closed (w->raw, CLUSTER_BUDGET_MS));
  watch_parse (w);
  g_assert_cmpuint (w->events->len, >=, 2);
  last = watch_event (w, w->events->len - 1);
  g_assert_cmpstr (last->event, ==, "cutoff");
  g_assert_cmpstr (json_get_string (last->data, "reason"), ==, "slow");
  /* The client resumes from the last change it got. */
  g_assert_cmpint (json_get_int (last->data, "revision"), ==, (gint64) watch_event (w, w->events->len - 2)->id);
  g_assert_cmpfloat (cluster_metric (small, 1, "dsm_watchers_closed_total{node=\"1\",reason=\"slow\"}"), ==,
                     before + 1);
}

static void
test_keepalive (void)
{
  g_autoptr(Watch) w = watch_open (small, 1, "/v1/machines/quiet?watch=1");
  double before = cluster_metric (small, 1, "dsm_http_stream_keepalives_total{node=\"1\"}");
  gint64 deadline = g_get_monotonic_time () + CLUSTER_BUDGET_MS * 1000;

  g_test_summary ("A quiet watch gets keepalive comments (http.watch_keepalive_ms), counted");
  while (strstr (w->raw->in->str, ": keepalive") == NULL && g_get_monotonic_time () < deadline)
    raw_wait (w->raw, 100);
  g_assert_nonnull (strstr (w->raw->in->str, ": keepalive"));
  g_assert_cmpfloat (cluster_metric (small, 1, "dsm_http_stream_keepalives_total{node=\"1\"}"), >, before);
}

static void
test_watchers_per_client (void)
{
  g_autoptr(GPtrArray) open = g_ptr_array_new_with_free_func ((GDestroyNotify) watch_free);
  g_autoptr(Watch) refused = NULL;
  g_autoptr(JsonNode) root = NULL;
  gint64 deadline = g_get_monotonic_time () + CLUSTER_BUDGET_MS * 1000;

  g_test_summary ("A client with http.max_watchers_per_client watches open gets 429 for the next, counted; "
                  "a watch whose client went away frees its slot");
  /* Earlier tests' watches are closed: their slots free once the node sees them gone. */
  while (cluster_metric (small, 1, "dsm_watchers{node=\"1\"}") > 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20000);
    }
  for (guint i = 0; i < 3; i++)
    {
      Watch *w = watch_open (small, 1, "/v1/machines/capped?watch=1");
      g_ptr_array_add (open, w);
      watch_wait_head (w);
      g_assert_cmpuint (w->status, ==, 200);
    }
  refused = watch_open (small, 1, "/v1/machines/capped?watch=1");
  RawResponse r = raw_read_response (refused->raw, CLUSTER_BUDGET_MS);
  g_assert_cmpuint (r.status, ==, 429);
  g_assert_nonnull (strstr (r.body, "too_many_watchers"));
  raw_response_clear (&r);
  g_assert_cmpfloat (cluster_metric (small, 1, "dsm_watchers_refused_total{node=\"1\",reason=\"client_cap\"}"), >=, 1);
  g_ptr_array_set_size (open, 0);
  while (cluster_metric (small, 1, "dsm_watchers{node=\"1\"}") > 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (20000);
    }
  g_assert_cmpuint (cluster_http (small, 1, "GET", "/v1/machines/capped?watch=0", NULL, &root), ==, 200);
}

static void
test_bad_parameters (void)
{
  static const struct {
    const char *target;
    const char *named;
  } bad[] = {
    { "/v1/machines/m?watch=1&from_revision=x", "from_revision" },
    { "/v1/machines/m?watch=1&from_revision=-1", "from_revision" },
    { "/v1/machines/m?watch=yes", "watch" },
    { "/v1/machines/m?from_revision=3", "from_revision" },
    { "/v1/machines/m?watch=1&stale=1", "stale" },
    { "/v1/machines/m?watch=1&prefix=a", "prefix" },
    { "/v1/machines?prefix=a", "prefix" },
    { "/v1/machines?watch=1&cursor=2", "cursor" },
    { "/v1/machines?watch=1&prefix=%01", "prefix" },
    { "/v1/machines?watch=1&watch=1", "watch" },
  };

  g_test_summary ("Bad watch parameters get a 400 naming the parameter");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonNode) root = NULL;
      g_test_message ("%s", bad[i].target);
      g_assert_cmpuint (cluster_http (small, 1, "GET", bad[i].target, NULL, &root), ==, 400);
      g_assert_nonnull (strstr (json_get_string (root, "error"), bad[i].named));
    }
  /* And a Last-Event-ID that is no revision. */
  g_autoptr(RawConn) raw = raw_connect (small->client_port[1], NULL);
  raw_send_str (raw, "GET /v1/machines/m?watch=1 HTTP/1.1\r\nHost: x\r\nLast-Event-ID: soon\r\n\r\n");
  RawResponse r = raw_read_response (raw, CLUSTER_BUDGET_MS);
  g_assert_cmpuint (r.status, ==, 400);
  g_assert_nonnull (strstr (r.body, "Last-Event-ID"));
  raw_response_clear (&r);
}

/* ---- a three-node cluster: a leader kill and reconnects ---- */

/* Follows one machine across reconnects, as a client would: on a closed
 * stream it resumes on another live node from the last revision it saw. */
typedef struct {
  Cluster *c;
  Watch *w;
  guint node;
  guint64 revision;
  GPtrArray *seen;              /* Event (borrowed from closed watches kept in @old) */
  GPtrArray *old;               /* Watch */
  guint reconnects;
} Follower;

static void
follower_connect (Follower *f, guint node)
{
  g_autofree char *target = g_strdup_printf ("/v1/machines/kept?watch=1&from_revision=%" G_GUINT64_FORMAT,
                                             f->revision);
  if (f->w != NULL)
    g_ptr_array_add (f->old, f->w);
  f->node = node;
  f->w = watch_open (f->c, node, target);
  f->reconnects++;
}

/* Takes what came; reconnects when the stream ended. */
static void
follower_poll (Follower *f, guint budget_ms)
{
  guint before = f->w->events->len;

  watch_wait (f->w, before + 1, budget_ms);
  for (guint i = before; i < f->w->events->len; i++)
    {
      Event *e = f->w->events->pdata[i];
      g_assert_cmpstr (e->event, !=, "compacted");
      if (strcmp (e->event, "change") != 0)
        continue;
      g_ptr_array_add (f->seen, e);
      f->revision = e->id;
    }
  if (f->w->raw->closed)
    follower_connect (f, cluster_other_node (f->c, f->node, 0) != 0 ? cluster_other_node (f->c, f->node, 0) : f->node);
}

static void
test_leader_kill_and_reconnects (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  Follower f = { .c = c, .seen = g_ptr_array_new (), .old = g_ptr_array_new_with_free_func ((GDestroyNotify) watch_free) };
  g_autoptr(GArray) acked = g_array_new (FALSE, FALSE, sizeof (guint64));
  guint leader = cluster_wait_leader (c, CLUSTER_BUDGET_MS);
  const char *state = "Init";
  guint64 seq = 0;

  static const char *const ctl_args[] = { "kept", "--from-revision", "0", "--count", "36", NULL };
  g_autoptr(GSubprocess) ctl = NULL;
  g_auto(GStrv) lines = NULL;

  g_test_summary ("A watcher sees every change of its machine in commit order, no gap and no duplicate, "
                  "across a leader kill and its own reconnects to other nodes; so does dsmctl watch");
  /* On the leader, so that its death ends the stream. */
  follower_connect (&f, leader);
  ctl = dsmctl_watch_spawn (c, ctl_args);
  for (guint i = 0; i < 36; i++)
    {
      g_autoptr(JsonNode) root = NULL;
      if (i == 12)
        {
          /* The leader dies; the watcher's node may be the next one's follower. */
          cluster_kill_node (c, leader);
          leader = cluster_wait_leader (c, CLUSTER_BUDGET_MS);
        }
      if (i == 24)
        /* The watcher drops its own connection and resumes elsewhere. */
        follower_connect (&f, cluster_other_node (c, f.node, 0));
      g_assert_cmpuint (cluster_propose (c, cluster_other_node (c, 0, 0), "kept", cycle[i % 3], "keeper", ++seq, CLUSTER_BUDGET_MS, &root),
                        ==, 200);
      g_array_append_val (acked, (guint64) { (guint64) json_get_int (root, "index") });
      follower_poll (&f, 50);
    }
  gint64 deadline = g_get_monotonic_time () + CLUSTER_BUDGET_MS * 1000;
  while (f.seen->len < 36)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      follower_poll (&f, 200);
    }
  /* The first connection, the one the kill ended, the one dropped. */
  g_assert_cmpuint (f.reconnects, >=, 3);
  /* Every change once, in order, each from the state the one before left. */
  g_assert_cmpuint (f.seen->len, ==, 36);
  for (guint i = 0; i < f.seen->len; i++)
    {
      Event *e = f.seen->pdata[i];
      g_assert_cmpstr (json_get_string (e->data, "from"), ==, state);
      state = json_get_string (e->data, "to");
      g_assert_cmpstr (state, ==, cycle[i % 3]);
      g_assert_cmpuint (e->id, ==, g_array_index (acked, guint64, i));
    }
  /* dsmctl printed the same: "REVISION NAME FROM -> TO", once each. */
  lines = dsmctl_watch_finish (ctl);
  g_assert_cmpuint (g_strv_length (lines), ==, 36);
  state = "Init";
  for (guint i = 0; i < 36; i++)
    {
      g_autofree char *want = g_strdup_printf ("%" G_GUINT64_FORMAT " kept %s -> %s", g_array_index (acked, guint64, i),
                                               state, cycle[i % 3]);
      g_assert_cmpstr (lines[i], ==, want);
      state = cycle[i % 3];
    }
  g_ptr_array_unref (f.seen);
  g_ptr_array_add (f.old, f.w);
  g_ptr_array_unref (f.old);
}

static void
test_compacted_by_installed_snapshot (void)
{
  g_autoptr(Cluster) c = cluster_new_with_config (3, "\"snapshot_threshold_entries\": 20");
  guint leader = cluster_wait_leader (c, CLUSTER_BUDGET_MS);
  guint follower = cluster_other_node (c, leader, 0);
  guint64 seq = 0, last = 0;
  g_autoptr(Watch) w = NULL;
  gint64 deadline;

  g_test_summary ("A follower that installs a snapshot past its watches answers them compacted, at a "
                  "revision it applied, and their live changes go on from there without a gap (the path a "
                  "snapshot installed under a watch takes)");
  g_autoptr(JsonNode) first = NULL;
  g_assert_cmpuint (cluster_propose (c, leader, "snap", "Running", "snapper", ++seq, CLUSTER_BUDGET_MS, &first), ==, 200);
  cluster_wait_caught_up (c, follower, CLUSTER_BUDGET_MS);
  w = watch_open (c, follower, "/v1/machines/snap?watch=1&from_revision=0");
  g_assert_true (watch_wait (w, 1, CLUSTER_BUDGET_MS));
  g_assert_cmpstr (watch_event (w, 0)->event, ==, "change");
  /* The follower stops: the others write past several snapshots, so the
   * leader's log no longer holds what the follower needs next. */
  g_autofree char *floor_key = g_strdup_printf ("dsm_watch_feed_floor{node=\"%u\"}", leader);
  g_autofree char *installed_key = g_strdup_printf ("dsm_snapshots_installed_total{node=\"%u\"}", follower);
  cluster_signal_node (c, follower, SIGSTOP);
  deadline = g_get_monotonic_time () + CLUSTER_BUDGET_MS * 1000;
  for (guint i = 0; cluster_metric (c, leader, floor_key) < 45; i++)
    {
      g_autoptr(JsonNode) root = NULL;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_assert_cmpuint (cluster_propose (c, leader, "snap", cycle[(i + 1) % 3], "snapper", ++seq, CLUSTER_BUDGET_MS,
                                         &root), ==, 200);
    }
  cluster_signal_node (c, follower, SIGCONT);
  cluster_wait_caught_up (c, follower, CLUSTER_BUDGET_MS);
  g_assert_cmpfloat (cluster_metric (c, follower, installed_key), >=, 1);
  /* The watch catches up with the machine's revision on the leader: a
   * change or two may have reached it before the stop took hold, then at
   * least one compacted answer (one per snapshot installed under it), then
   * changes, each in order. */
  g_autoptr(JsonNode) now = NULL;
  g_assert_cmpuint (cluster_http (c, leader, "GET", "/v1/machines/snap", NULL, &now), ==, 200);
  guint64 revision = (guint64) json_get_int (now, "revision");
  const char *state = NULL;
  guint n_compacted = 0;
  for (guint at = 1;; at++)
    {
      g_assert_true (watch_wait (w, at + 1, CLUSTER_BUDGET_MS));
      Event *e = watch_event (w, at);
      g_assert_cmpuint (e->id, >, watch_event (w, at - 1)->id);
      if (g_strcmp0 (e->event, "compacted") == 0)
        {
          n_compacted++;
          g_assert_cmpint (json_get_int (e->data, "revision"), ==, (gint64) e->id);
          state = json_get_string (e->data, "state");
        }
      else
        {
          g_assert_cmpstr (e->event, ==, "change");
          if (state != NULL)
            g_assert_cmpstr (json_get_string (e->data, "from"), ==, state);
          state = json_get_string (e->data, "to");
        }
      last = e->id;
      if (last >= revision)
        break;
    }
  g_assert_cmpuint (n_compacted, >=, 1);
  g_assert_cmpuint (last, ==, revision);
  g_assert_cmpstr (state, ==, json_get_string (now, "state"));
  /* Live changes follow, each from the state the one before left. */
  guint seen = w->events->len;
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(JsonNode) root = NULL;
      const char *to = g_strcmp0 (state, "Init") == 0 ? "Running" : g_strcmp0 (state, "Running") == 0 ? "Stopped" : "Init";
      g_assert_cmpuint (cluster_propose (c, leader, "snap", to, "snapper", ++seq, CLUSTER_BUDGET_MS, &root), ==, 200);
      g_assert_true (watch_wait (w, seen + i + 1, CLUSTER_BUDGET_MS));
      Event *change = watch_event (w, seen + i);
      g_assert_cmpstr (change->event, ==, "change");
      g_assert_cmpstr (json_get_string (change->data, "from"), ==, state);
      g_assert_cmpstr (json_get_string (change->data, "to"), ==, to);
      g_assert_cmpuint (change->id, ==, (guint64) json_get_int (root, "index"));
      g_assert_cmpuint (change->id, >, last);
      last = change->id;
      state = to;
    }
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  small = cluster_new_with_config (1, SMALL_CONFIG);
  g_test_add_func ("/watch/replay-then-live", test_replay_then_live);
  g_test_add_func ("/watch/compacted-answer", test_compacted_answer);
  g_test_add_func ("/watch/dsmctl-compacted", test_dsmctl_compacted);
  g_test_add_func ("/watch/slow-watcher-cut-off", test_slow_watcher_cut_off);
  g_test_add_func ("/watch/keepalive", test_keepalive);
  g_test_add_func ("/watch/watchers-per-client", test_watchers_per_client);
  g_test_add_func ("/watch/bad-parameters", test_bad_parameters);
  g_test_add_func ("/watch/leader-kill-and-reconnects", test_leader_kill_and_reconnects);
  g_test_add_func ("/watch/compacted-by-installed-snapshot", test_compacted_by_installed_snapshot);
  status = g_test_run ();
  cluster_free_after_run (small, status);
  return status;
}
