/* net/http-watch.c: watch streams on the consensus loop (docs/API.md,
 * "Watching machines"): a watch replays the changes after its revision
 * from the node's change feed (core/watch.h), or answers "compacted" with
 * the current state, then gets every live change as it is applied, as
 * Server-Sent Events.  The loop never waits on a watcher: each write is
 * bounded (http.watch_buffer_bytes) and a watcher that falls behind is cut
 * off with a reason. */
#include "http-private.h"

#include <string.h>

#include "codec.h"
#include "netlog.h"

struct _HttpWatcher {
  DsmHttpApi *api;
  DsmHttpStream *stream;        /* the producer's handle */
  char *machine;                /* one of the two */
  char *prefix;
  char *who;
  guint64 revision;             /* changes up to this one are behind the watcher */
  GList link;                   /* in api->watchers */
};

static const char *const close_reasons[WATCH_CLOSE_N] = {
  [WATCH_CLOSE_SLOW] = "slow",
  [WATCH_CLOSE_GONE] = "client_gone",
  [WATCH_CLOSE_STOPPING] = "stopping",
  [WATCH_CLOSE_RESYNC_TOO_LARGE] = "resync_too_large",
};

static DsmWatchFilter
watcher_filter (const HttpWatcher *w)
{
  DsmWatchFilter filter = { .machine = w->machine, .prefix = w->prefix };
  return filter;
}

/* The event of one change (docs/API.md, "Watching machines"). */
void
http_watch_format_change (GString *out, const DsmChange *change)
{
  g_string_append_printf (out, "id: %" G_GUINT64_FORMAT "\nevent: change\ndata: {", change->revision);
  json_string (out, "machine", change->machine);
  json_uint (out, "revision", change->revision);
  json_string (out, "from", change->from);
  json_string (out, "to", change->to);
  g_string_append (out, "}\n\n");
}

/* Ends @w's stream with a cutoff event naming @why, and forgets @w. */
static void
watcher_close (HttpWatcher *w, WatchClose why, const char *detail)
{
  DsmHttpApi *api = w->api;
  g_autoptr(GString) last = NULL;
  guint *count;

  if (why != WATCH_CLOSE_GONE)
    {
      last = g_string_new ("event: cutoff\ndata: {");
      json_string (last, "reason", close_reasons[why]);
      json_string (last, "detail", detail);
      json_uint (last, "revision", w->revision);
      g_string_append (last, "}\n\n");
    }
  dsm_http_stream_end (w->stream, last != NULL ? last->str : NULL);
  api->watch_closed[why]++;
  if (why != WATCH_CLOSE_GONE && why != WATCH_CLOSE_STOPPING)
    dsm_net_log_limited (G_LOG_LEVEL_INFO, api->node, "watch_cutoff", w->who, "cut off the watch of %s: %s",
                         w->who, detail);
  g_queue_unlink (&api->watchers, &w->link);
  count = g_hash_table_lookup (api->watchers_by_who, w->who);
  g_assert (count != NULL && *count > 0);
  if (--*count == 0)
    g_hash_table_remove (api->watchers_by_who, w->who);
  g_free (w->machine);
  g_free (w->prefix);
  g_free (w->who);
  g_free (w);
}

/* Writes @text to @w; FALSE once @w is closed (slow or gone). */
static gboolean
watcher_write (HttpWatcher *w, const GString *text, WatchClose too_large)
{
  switch (dsm_http_stream_write (w->stream, text->str, text->len))
    {
    case DSM_HTTP_STREAM_OK:
      return TRUE;
    case DSM_HTTP_STREAM_GONE:
      watcher_close (w, WATCH_CLOSE_GONE, "the client went away");
      return FALSE;
    case DSM_HTTP_STREAM_FULL:
    default:
      watcher_close (w, too_large, too_large == WATCH_CLOSE_SLOW
                     ? "the client did not read its events: http.watch_buffer_bytes would be passed; "
                       "resume from the revision of the last event read"
                     : "the current state of the machines watched is larger than http.watch_buffer_bytes; "
                       "watch a narrower prefix");
      return FALSE;
    }
}

void
dsm_http_api_publish (DsmHttpApi *api, const DsmChange *change)
{
  g_autoptr(GString) text = NULL;

  for (GList *l = api->watchers.head, *next; l != NULL; l = next)
    {
      HttpWatcher *w = l->data;
      DsmWatchFilter filter = watcher_filter (w);
      next = l->next;
      /* A watch from a revision this node has not applied yet starts there;
       * one left behind by a snapshot install waits for its resync. */
      if (w->revision < dsm_watch_feed_get_floor (dsm_host_get_watch_feed (api->host))
          || change->revision <= w->revision || !dsm_watch_filter_matches (&filter, change->machine))
        continue;
      if (text == NULL)
        {
          text = g_string_new (NULL);
          http_watch_format_change (text, change);
        }
      if (watcher_write (w, text, WATCH_CLOSE_SLOW))
        {
          w->revision = change->revision;
          api->watch_events++;
        }
    }
}

/* ---- the compacted answer ---- */

typedef struct {
  GString *out;
  const char *prefix;
  gsize bytes_max;
  gboolean first;
} Resync;

static void
resync_one (const char *machine, const DsmMachineDef *def, const char *state, guint64 index, gpointer data)
{
  Resync *r = data;

  if (!g_str_has_prefix (machine, r->prefix) || r->out->len > r->bytes_max)
    return;
  g_string_append (r->out, r->first ? "{" : ",{");
  r->first = FALSE;
  json_string (r->out, "machine", machine);
  json_string (r->out, "state", state);
  g_string_append_c (r->out, '}');
}

/* "compacted, resync from here": the current state of what @w watches
 * and the revision it is current as of, which is the event's id. */
static void
watch_format_compacted (HttpWatcher *w, const DsmStore *store, GString *out, gsize bytes_max)
{
  g_string_append_printf (out, "id: %" G_GUINT64_FORMAT "\nevent: compacted\ndata: {", w->revision);
  json_uint (out, "revision", w->revision);
  if (w->machine != NULL)
    {
      json_string (out, "machine", w->machine);
      json_string (out, "state", dsm_store_read (store, w->machine, NULL, NULL));
    }
  else
    {
      Resync r = { .out = out, .prefix = w->prefix, .bytes_max = bytes_max, .first = TRUE };
      json_string (out, "prefix", w->prefix);
      json_key (out, "machines");
      g_string_append_c (out, '[');
      dsm_store_foreach_range (store, 0, G_MAXUINT, resync_one, &r);
      g_string_append_c (out, ']');
    }
  g_string_append (out, "}\n\n");
}

/* Forgets the watchers whose client went away while nothing was written
 * to them (a quiet watch learns it only here): they hold no slot. */
static void
watch_sweep_gone (DsmHttpApi *api)
{
  for (GList *l = api->watchers.head, *next; l != NULL; l = next)
    {
      next = l->next;
      if (dsm_http_stream_is_gone (((HttpWatcher *) l->data)->stream))
        watcher_close (l->data, WATCH_CLOSE_GONE, "the client went away");
    }
}

/* ---- starting a watch ---- */

/* The stream answer, counted like any other; what was written to
 * @stream before (the replay) goes with its head. */
static void
watch_answer_stream (HttpCall *call, DsmHttpStream *stream)
{
  DsmHttpApi *api = call->api;
  DsmHttpRequest *request = call->request;

  __atomic_fetch_add (&api->answers[call->route][200], 1, __ATOMIC_RELAXED);
  dsm_net_histogram_observe_us_atomic (&api->latency[call->route], g_get_monotonic_time () - call->start_us);
  call->request = NULL;
  dsm_http_request_respond_stream (request, stream, 200, "text/event-stream");
}

void
http_watch_start (HttpCall *call)
{
  DsmHttpApi *api = call->api;
  const DsmHttpConfig *http = &api->config->http;
  const DsmWatchFeed *feed = dsm_host_get_watch_feed (api->host);
  const DsmStore *store = dsm_node_get_store (dsm_host_get_node (api->host));
  guint *count;
  g_autoptr(GPtrArray) replay = g_ptr_array_new ();
  g_autoptr(GString) text = g_string_new (NULL);
  HttpWatcher *w;
  gboolean whole;

  watch_sweep_gone (api);
  count = g_hash_table_lookup (api->watchers_by_who, call->who);
  if (api->watchers.length >= http->max_watchers)
    {
      api->watch_refused[WATCH_REFUSE_NODE_CAP]++;
      dsm_http_request_add_header (call->request, "Retry-After", "1");
      http_answer_error (call, 503, "too_many_watchers", "this node serves at most %u watches (http.max_watchers)",
                         http->max_watchers);
      return;
    }
  if (count != NULL && *count >= http->max_watchers_per_client)
    {
      api->watch_refused[WATCH_REFUSE_CLIENT_CAP]++;
      http_answer_error (call, 429, "too_many_watchers", "%s has %u watches open on this node "
                         "(http.max_watchers_per_client)", call->who, *count);
      return;
    }
  if (count == NULL)
    {
      count = g_new0 (guint, 1);
      g_hash_table_insert (api->watchers_by_who, g_strdup (call->who), count);
    }
  ++*count;

  w = g_new0 (HttpWatcher, 1);
  w->api = api;
  w->machine = call->cmd.machine != NULL ? g_strdup (call->cmd.machine) : NULL;
  w->prefix = call->cmd.machine == NULL ? g_strdup (call->prefix != NULL ? call->prefix : "") : NULL;
  w->who = g_strdup (call->who);
  w->link.data = w;
  g_queue_push_tail_link (&api->watchers, &w->link);
  api->watch_opened++;

  /* Without a revision the watch starts now: live changes only. */
  guint64 from = call->from_given ? call->from_revision : dsm_watch_feed_get_revision (feed);
  DsmWatchFilter filter = watcher_filter (w);
  DsmHttpRequest *request = call->request;
  whole = dsm_watch_feed_replay (feed, &filter, from, replay);
  /* The request keeps its own reference: @stream outlives a cut-off @w. */
  DsmHttpStream *stream = dsm_http_stream_new (request, http->watch_buffer_bytes, http->watch_keepalive_ms);
  w->stream = stream;
  w->revision = from;
  /* The replay is written before the head leaves: at most the buffer's
   * worth, whatever the connection does (the rest: cut off, resume). */
  if (!whole)
    {
      api->watch_compacted++;
      w->revision = dsm_watch_feed_get_revision (feed);
      watch_format_compacted (w, store, text, http->watch_buffer_bytes);
      if (!watcher_write (w, text, WATCH_CLOSE_RESYNC_TOO_LARGE))
        {
          /* (Its cutoff names the revision the state would have had.) */
          watch_answer_stream (call, stream);
          return;
        }
    }
  for (guint i = 0; i < replay->len; i++)
    {
      const DsmChange *change = replay->pdata[i];
      g_string_truncate (text, 0);
      http_watch_format_change (text, change);
      if (!watcher_write (w, text, WATCH_CLOSE_SLOW))
        {
          watch_answer_stream (call, stream);
          return;
        }
      /* The cut-off's revision is the last change written. */
      w->revision = change->revision;
      api->watch_events++;
      api->watch_replayed++;
    }
  w->revision = MAX (from, dsm_watch_feed_get_revision (feed));
  /* An opening comment, so the client knows the watch is on. */
  if (whole && replay->len == 0)
    {
      g_string_printf (text, ": watching from revision %" G_GUINT64_FORMAT "\n\n", from);
      watcher_write (w, text, WATCH_CLOSE_SLOW);
    }
  watch_answer_stream (call, stream);
}

void
dsm_http_api_resync_behind (DsmHttpApi *api)
{
  const DsmWatchFeed *feed = dsm_host_get_watch_feed (api->host);
  const DsmStore *store = dsm_node_get_store (dsm_host_get_node (api->host));

  for (GList *l = api->watchers.head, *next; l != NULL; l = next)
    {
      HttpWatcher *w = l->data;
      g_autoptr(GString) text = g_string_new (NULL);
      next = l->next;
      if (w->revision >= dsm_watch_feed_get_floor (feed))
        continue;
      /* The node installed a snapshot past what @w had: the changes in
       * between are not known, so @w resyncs to the state as applied now. */
      w->revision = dsm_watch_feed_get_revision (feed);
      api->watch_compacted++;
      watch_format_compacted (w, store, text, api->config->http.watch_buffer_bytes);
      watcher_write (w, text, WATCH_CLOSE_RESYNC_TOO_LARGE);
    }
}

/* ---- stopping, metrics ---- */

void
http_watch_end_all (DsmHttpApi *api)
{
  while (api->watchers.head != NULL)
    watcher_close (api->watchers.head->data, WATCH_CLOSE_STOPPING, "node shutting down; resume on another node");
}

static void
render_one (GString *out, const char *labels, const char *name, const char *type, const char *help, double value)
{
  dsm_metrics_write_header (out, name, type, help);
  dsm_metrics_write_sample (out, name, labels, value);
}

void
http_watch_render_metrics (DsmHttpApi *api, GString *out, const char *nl)
{
  static const char *const refusals[WATCH_REFUSE_N] = { "node_cap", "client_cap" };
  const DsmWatchFeed *feed = api->host != NULL ? dsm_host_get_watch_feed (api->host) : NULL;

  watch_sweep_gone (api);
  render_one (out, nl, "dsm_watchers", "gauge", "Watch streams open on this node.", api->watchers.length);
  render_one (out, nl, "dsm_watchers_opened_total", "counter", "Watch streams started.", (double) api->watch_opened);
  dsm_metrics_write_header (out, "dsm_watchers_closed_total", "counter",
                            "Watch streams ended by the node, by reason: slow (cut off: its buffer was full), "
                            "client_gone, stopping, resync_too_large.");
  for (guint k = 0; k < WATCH_CLOSE_N; k++)
    {
      g_autofree char *labels = g_strdup_printf ("%s,reason=\"%s\"", nl, close_reasons[k]);
      dsm_metrics_write_sample (out, "dsm_watchers_closed_total", labels, (double) api->watch_closed[k]);
    }
  dsm_metrics_write_header (out, "dsm_watchers_refused_total", "counter",
                            "Watches refused: node_cap (503, http.max_watchers), client_cap (429, "
                            "http.max_watchers_per_client).");
  for (guint k = 0; k < WATCH_REFUSE_N; k++)
    {
      g_autofree char *labels = g_strdup_printf ("%s,reason=\"%s\"", nl, refusals[k]);
      dsm_metrics_write_sample (out, "dsm_watchers_refused_total", labels, (double) api->watch_refused[k]);
    }
  render_one (out, nl, "dsm_watch_events_total", "counter", "Change events written to watch streams.",
              (double) api->watch_events);
  render_one (out, nl, "dsm_watch_events_replayed_total", "counter",
              "Change events replayed from the change feed to watches that resumed from a revision.",
              (double) api->watch_replayed);
  render_one (out, nl, "dsm_watch_compacted_total", "counter",
              "Watches from a revision older than the change feed holds, answered \"compacted\".",
              (double) api->watch_compacted);
  if (feed != NULL)
    {
      render_one (out, nl, "dsm_watch_feed_changes", "gauge", "Changes the change feed holds (since the log's start).",
                  dsm_watch_feed_get_length (feed));
      render_one (out, nl, "dsm_watch_feed_floor", "gauge",
                  "The revision below which a watch is answered \"compacted\".", (double) dsm_watch_feed_get_floor (feed));
    }
}
