/* net/host.c: a real node's main-loop wiring (host.h): real time in, the
 * drain out, the WAL's group commit, the disk alarm, timers, logs and a
 * graceful stop.
 *
 *   running --dsm_host_stop() or WAL failure--> stopping
 *   stopping --fsync in flight done, remainder synced--> stopped (done callback)
 *
 * The nospace alarm, beside that (host_check_disk()):
 *   clear --a sync (or a snapshot file) did not fit--> raised
 *   raised --a retry every HOST_DISK_RETRY_MS succeeded--> clear
 * While raised, syncs start only from the retry timer.
 */
#include "host.h"

#include <string.h>

#include "histogram.h"
#include "log.h"
#include "http.h"
#include "native.h"
#include "metrics.h"
#include "netlog.h"
#include "recorder.h"
#include "recording.h"
#include "wake.h"

typedef struct {
  guint64 id;             /* its key in DsmHost.pending: no allocation of its own */
  DsmHostReplyFunc func;
  gpointer user_data;
} PendingReply;

struct _DsmHost {
  DsmConfig *config;
  DsmNodeId id;
  char *data_dir;
  DsmNode *node;
  DsmWal *wal;
  DsmTransport *transport;
  DsmHttpApi *http;
  DsmNative *native;            /* NULL: the config names no native_address for this node */
  DsmOutbox out;
  DsmWatchFeed *feed;        /* the changes watches replay (core/watch.h) */
  DsmRecorder *recorder;     /* nullable: --record */
  guint64 opened_ms;         /* when dsm_host_new() began reading the data directory */

  GSource *drain_source;     /* idle: drain after this iteration's inputs */
  GSource *timer;            /* ready at dsm_node_next_deadline() */
  guint64 timer_deadline_ms;
  GHashTable *pending;       /* request id -> PendingReply */
  guint64 next_request_id;

  gboolean syncing;           /* a sync runs in the WAL's sync thread */
  GSource *synced_source;     /* dispatched when the WAL's thread finished a sync (HostSynced) */
  guint sync_inline_entries_max;  /* 0: every sync in the worker */
  GSource *sync_inline_source;    /* idle: a sync on the loop, after this iteration's sends */
  guint64 durable_seq;
  gint64 sync_started_us;
  DsmNetHistogram sync_latency;
  GError *wal_failure;

  /* The nospace alarm (host_check_disk). */
  GSource *disk_timer;       /* every HOST_DISK_RETRY_MS: check, and retry while raised */
  gboolean nospace;
  char *nospace_reason;
  gint64 nospace_since_us;
  guint64 alarms_raised;
  guint64 alarms_cleared;
  gboolean stop_unwritten;   /* the stop's last sync did not fit: given up */

  gboolean stopping;
  gboolean stopped;
  GSourceFunc done;
  gpointer done_data;

  guint64 drains;
  guint64 drain_persists_max;
  guint64 late_timers;       /* timers run more than HOST_LATE_TIMER_MS late */
  guint64 late_timer_max_ms;
  guint64 inputs;
  guint64 epoch_published;   /* atomic: the node's epoch, for log records written by other threads */

  /* The memberships the transport was last given (their entries' indexes
   * and the objects, which are immutable and change with any entry). */
  DsmMembership *members_in_use;
  DsmMembership *members_committed;
  gboolean http_listening;
  gboolean removed_seen;     /* dsm_node_is_removed() reported */
  GSource *removed_stop;     /* the transport's end, a while after the removal */
  guint64 stalled_seen;      /* the stalled index reported */
};

static void host_drain (DsmHost *host);
static void host_maybe_sync (DsmHost *host);
static void host_stop_continue (DsmHost *host);

static void
host_recorder_close_stop (DsmRecorder *recorder)
{
  dsm_recorder_close (recorder, "stop");
}

/* Where the node's inputs are recorded, or NULL (recorder.h). */
static GString *
host_record (DsmHost *host)
{
  return dsm_recorder_lines (host->recorder);
}

/* The disk alarm's pace: how often a write that did not fit is tried
 * again, and the WAL's wait before writing a snapshot file again. */
#define HOST_DISK_RETRY_MS 1000

static guint64
host_now_ms (void)
{
  /* The only clock of a real node: monotonic, so a wall-clock jump does
   * not fire every timer at once. */
  return (guint64) g_get_monotonic_time () / 1000;
}

void
dsm_host_options_init (DsmHostOptions *options)
{
  memset (options, 0, sizeof *options);
  dsm_transport_options_init (&options->transport);
  options->sync_inline_entries_max = DSM_HOST_SYNC_INLINE_ENTRIES_DEFAULT;
}

/* ---- scheduling ---- */

static gboolean
host_on_drain (gpointer data)
{
  DsmHost *host = data;

  g_clear_pointer (&host->drain_source, g_source_unref);
  host_drain (host);
  return G_SOURCE_REMOVE;
}

static void
host_schedule_drain (DsmHost *host)
{
  host->inputs++;
  if (host->drain_source != NULL || host->stopped)
    return;
  host->drain_source = g_idle_source_new ();
  g_source_set_priority (host->drain_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (host->drain_source, host_on_drain, host, NULL);
  g_source_attach (host->drain_source, g_main_context_get_thread_default ());
}

/* The node's timer.  Its deadline is read in prepare() on every loop
 * iteration instead of set with g_source_set_ready_time(): that function
 * writes the context's eventfd on every call, even from the loop's own
 * thread, and so cost a syscall and a wasted poll per drain (strace of a
 * follower, docs/BENCHMARKS.md "The loop's own wake-ups"). */
typedef struct {
  GSource source;
  gint64 deadline_us;  /* monotonic; -1: none */
} HostTimer;

static gboolean
timer_ready (GSource *source, gint *timeout)
{
  HostTimer *timer = (HostTimer *) source;

  if (timer->deadline_us < 0)
    {
      *timeout = -1;
      return FALSE;
    }
  gint64 now = g_source_get_time (source);
  if (now >= timer->deadline_us)
    {
      *timeout = 0;
      return TRUE;
    }
  /* Round up: poll() waking a little early would only spin. */
  *timeout = (gint) MIN ((timer->deadline_us - now + 999) / 1000, G_MAXINT);
  return FALSE;
}

static gboolean
timer_prepare (GSource *source, gint *timeout)
{
  return timer_ready (source, timeout);
}

static gboolean
timer_check (GSource *source)
{
  gint timeout;

  return timer_ready (source, &timeout);
}

static gboolean
timer_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  ((HostTimer *) source)->deadline_us = -1;
  return callback (data);
}

static GSourceFuncs timer_funcs = { .prepare = timer_prepare, .check = timer_check,
                                    .dispatch = timer_dispatch };

/* The loop's own thread reads the new deadline in its next prepare(), so
 * it needs no wake-up; any other caller (a test driving the host before
 * its loop runs) wakes the context as g_source_set_ready_time() would. */
static void
host_timer_set (DsmHost *host, guint64 deadline_ms)
{
  GMainContext *context = g_source_get_context (host->timer);

  g_assert (deadline_ms == G_MAXUINT64 || deadline_ms <= (guint64) G_MAXINT64 / 1000);
  ((HostTimer *) host->timer)->deadline_us = deadline_ms == G_MAXUINT64 ? -1 : (gint64) deadline_ms * 1000;
  if (context != NULL && !g_main_context_is_owner (context))
    g_main_context_wakeup (context);
}

/* A timer this late means the loop was blocked or starved of CPU that
 * long: heartbeats and election timers slipped by as much. */
#define HOST_LATE_TIMER_MS 50

static gboolean
host_on_timer (gpointer data)
{
  DsmHost *host = data;
  guint64 now = host_now_ms ();

  if (host->timer_deadline_ms != G_MAXUINT64 && now > host->timer_deadline_ms + HOST_LATE_TIMER_MS)
    {
      guint64 late = now - host->timer_deadline_ms;
      host->late_timers++;
      host->late_timer_max_ms = MAX (host->late_timer_max_ms, late);
      dsm_net_log (G_LOG_LEVEL_WARNING, host->id, DSM_NODE_NONE, "loop_late",
                   "the node's timer ran %" G_GUINT64_FORMAT " ms late: the event loop was blocked or "
                   "short of CPU (heartbeats and election timers slip as much)", late);
    }
  host->timer_deadline_ms = G_MAXUINT64;
  if (host_record (host) != NULL)
    dsm_recording_write_tick (host_record (host), now);
  dsm_node_tick (host->node, now);
  host_schedule_drain (host);
  return G_SOURCE_CONTINUE;
}

static void
host_arm_timer (DsmHost *host)
{
  guint64 deadline = dsm_node_next_deadline (host->node);

  if (deadline == host->timer_deadline_ms)
    return;
  host->timer_deadline_ms = deadline;
  host_timer_set (host, deadline);
}

/* ---- inputs ---- */

static void
host_on_message (DsmTransport *transport, DsmMessage *msg, gpointer data)
{
  DsmHost *host = data;
  guint64 now = host_now_ms ();

  if (host_record (host) != NULL)
    dsm_recording_write_step (host_record (host), now, msg);
  dsm_node_step (host->node, now, msg);
  host_schedule_drain (host);
}

static void
host_on_unsent (DsmTransport *transport, DsmMessage *msg, gpointer data)
{
  DsmHost *host = data;

  if (host_record (host) != NULL)
    dsm_recording_write_unsent (host_record (host), msg);
  dsm_node_report_unsent (host->node, msg);
}

static void
host_on_invalid (DsmTransport *transport, guint peer, gpointer data)
{
  DsmHost *host = data;

  if (host_record (host) != NULL)
    dsm_recording_write_invalid (host_record (host));
  dsm_node_report_invalid (host->node);
}

guint64
dsm_host_submit (DsmHost *host, const DsmCommand *cmd, DsmHostReplyFunc func, gpointer user_data)
{
  guint64 id = ++host->next_request_id;
  PendingReply *p = g_new (PendingReply, 1);

  p->id = id;
  p->func = func;
  p->user_data = user_data;
  g_hash_table_replace (host->pending, &p->id, p);
  guint64 now = host_now_ms ();
  if (host_record (host) != NULL)
    dsm_recording_write_submit (host_record (host), now, id, cmd);
  dsm_node_submit (host->node, now, id, cmd);
  host_schedule_drain (host);
  return id;
}

gboolean
dsm_host_transfer_leadership (DsmHost *host, DsmNodeId target, GError **error)
{
  if (dsm_node_get_role (host->node) == DSM_ROLE_LEADER && host_record (host) != NULL)
    dsm_recorder_close (host->recorder, "leadership transfer (not a recorded input)");
  if (!dsm_node_transfer_leadership (host->node, host_now_ms (), target, error))
    return FALSE;
  host_schedule_drain (host);
  return TRUE;
}

void
dsm_host_forget (DsmHost *host, guint64 request_id)
{
  g_hash_table_remove (host->pending, &request_id);
}

/* ---- the drain ---- */

static void
host_deliver_reply (DsmHost *host, const DsmClientReply *reply)
{
  PendingReply *p = g_hash_table_lookup (host->pending, &reply->request_id);

  if (p == NULL)
    return;  /* forgotten: the client went away */
  DsmHostReplyFunc func = p->func;
  gpointer user_data = p->user_data;
  g_hash_table_remove (host->pending, &reply->request_id);
  func (reply, user_data);
}

/* ---- the membership (PROTOCOL.md, "Membership changes") ---- */

static gboolean
host_on_removed_stop (gpointer data)
{
  DsmHost *host = data;

  g_clear_pointer (&host->removed_stop, g_source_unref);
  dsm_net_log (G_LOG_LEVEL_MESSAGE, host->id, DSM_NODE_NONE, "peers_closed",
               "node %u was removed: its peer connections are closed", host->id);
  dsm_transport_stop (host->transport);
  return G_SOURCE_REMOVE;
}

/* Peers follow the membership the node uses, and the committed one while
 * a removal is not committed (the departing node still gets entries). */
static void
host_follow_membership (DsmHost *host)
{
  DsmMembership *in_use = dsm_node_get_membership (host->node, NULL);
  DsmMembership *committed = dsm_node_get_committed_membership (host->node, NULL);

  if (in_use != host->members_in_use || committed != host->members_committed)
    {
      dsm_transport_set_members (host->transport, in_use, committed);
      dsm_membership_unref (host->members_in_use);
      dsm_membership_unref (host->members_committed);
      host->members_in_use = dsm_membership_ref (in_use);
      host->members_committed = dsm_membership_ref (committed);
    }
  if (dsm_node_is_removed (host->node) && !host->removed_seen)
    {
      /* A removed node takes no part any more, for good (ids are never
       * reused); its links stay up a little for the handover of a removed
       * leader (PROTOCOL.md, "Removing the leader"). */
      host->removed_seen = TRUE;
      dsm_net_log (G_LOG_LEVEL_WARNING, host->id, DSM_NODE_NONE, "node_removed",
                   "node %u was removed from the cluster: it takes no part any more and answers "
                   "clients 503 removed; stop it (its data directory may be deleted)", host->id);
      host->removed_stop = g_timeout_source_new (2 * host->config->election_timeout_ms_max + 5000);
      g_source_set_callback (host->removed_stop, host_on_removed_stop, host, NULL);
      g_source_attach (host->removed_stop, g_main_context_get_thread_default ());
    }
}

static void
host_drain (DsmHost *host)
{
  if (host->stopped)
    return;
  host->drains++;
  if (host->native != NULL)
    dsm_native_hold_answers (host->native);
  while (dsm_node_has_output (host->node))
    {
      dsm_node_drain (host->node, &host->out);
      if (host_record (host) != NULL)
        dsm_recording_write_drain (host_record (host), &host->out);
      /* 1. persists, in order (host contract); synced below */
      for (guint i = 0; i < host->out.persists->len; i++)
        if (host->wal_failure == NULL)
          dsm_wal_append (host->wal, host->out.persists->pdata[i]);
      host->drain_persists_max = MAX (host->drain_persists_max, host->out.persists->len);
      /* 2. messages: the node held back those that wait on a persist;
       * a membership appended in this drain may address new peers */
      host_follow_membership (host);
      for (guint i = 0; i < host->out.messages->len; i++)
        dsm_transport_send (host->transport, host->out.messages->pdata[i]);
      /* 3. replies to our clients */
      for (guint i = 0; i < host->out.replies->len; i++)
        host_deliver_reply (host, host->out.replies->pdata[i]);
      /* 4. applied entries: their changes to the watches (docs/API.md,
       * "Watching machines"), in apply order */
      for (guint i = 0; i < host->out.applies->len; i++)
        {
          const DsmChange *change = dsm_watch_feed_record (host->feed, host->out.applies->pdata[i]);
          if (change != NULL)
            dsm_http_api_publish (host->http, change);
        }
      /* 5. events, for the log */
      for (guint i = 0; i < host->out.events->len; i++)
        dsm_net_log_event (host->out.events->pdata[i]);
      dsm_outbox_reset (&host->out);
    }
  if (host->native != NULL)
    dsm_native_release_answers (host->native);
  dsm_watch_feed_sync (host->feed, dsm_log_start_index (dsm_node_get_log (host->node)),
                       dsm_node_get_applied_index (host->node));
  dsm_http_api_resync_behind (host->http);
  __atomic_store_n (&host->epoch_published, dsm_node_get_epoch (host->node), __ATOMIC_RELAXED);
  dsm_recorder_flush (host->recorder);
  host_maybe_sync (host);
  host_arm_timer (host);
}

/* ---- group commit ---- */

/* The end of a sync in the WAL's own thread reaches the loop as an eventfd
 * in its poll set, written by that thread with no lock held: no GTask,
 * no idle source attached from the other thread under the context's lock
 * (docs/BENCHMARKS.md, "The WAL's own thread"). */
typedef struct {
  GSource source;
  DsmWake wake;
  DsmHost *host;
} HostSynced;

static void host_synced (DsmHost *host, guint64 seq, GError *error_owned);

/* The drain a finished sync asked for runs now, not from an idle on the
 * loop's next iteration: the messages the sync released (Acks, replies)
 * leave one poll() sooner. */
static void
host_drain_now (DsmHost *host)
{
  if (host->drain_source == NULL)
    return;
  g_source_destroy (host->drain_source);
  g_clear_pointer (&host->drain_source, g_source_unref);
  host_drain (host);
}

/* In the WAL's sync thread (DsmWalNotify). */
static void
host_wal_notify (gpointer data)
{
  dsm_wake_signal (&((HostSynced *) data)->wake);
}

static gboolean
synced_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  HostSynced *synced = (HostSynced *) source;
  DsmHost *host = synced->host;
  GError *error = NULL;
  guint64 seq = 0;

  dsm_wake_clear (&synced->wake);
  if (host->syncing && dsm_wal_sync_collect (host->wal, &seq, &error))
    {
      host->syncing = FALSE;
      host_synced (host, seq, error);
      host_drain_now (host);
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs synced_funcs = { .dispatch = synced_dispatch };

static void
host_start_sync (DsmHost *host)
{
  g_assert (!host->syncing);
  host->syncing = TRUE;
  host->sync_started_us = g_get_monotonic_time ();
  dsm_wal_sync_start (host->wal, host_wal_notify, host->synced_source);
}

/* @text with the data directory left out of file names: the alarm's
 * reason is served to anyone who asks /healthz. */
static char *
host_relative_reason (DsmHost *host, const char *text)
{
  g_autofree char *prefix = g_strconcat (host->data_dir, G_DIR_SEPARATOR_S, NULL);
  g_auto(GStrv) parts = g_strsplit (text, prefix, -1);

  return g_strjoinv ("", parts);
}

/* The alarm follows the WAL: raised while something it was asked to write
 * waits for room.  Each change is logged once, counted, and told to the
 * node, which then gives up what needs the disk (PROTOCOL.md, "A full
 * disk"). */
static void
host_check_disk (DsmHost *host)
{
  g_autofree char *reason = NULL;
  gboolean full = dsm_wal_get_nospace (host->wal, &reason);

  if (full)
    {
      g_free (host->nospace_reason);
      host->nospace_reason = host_relative_reason (host, reason);
    }
  if (full == host->nospace)
    return;
  host->nospace = full;
  if (full)
    {
      host->alarms_raised++;
      host->nospace_since_us = g_get_monotonic_time ();
      dsm_net_log (G_LOG_LEVEL_WARNING, host->id, DSM_NODE_NONE, "alarm_raised",
                   "disk full, alarm nospace raised: %s; the node takes no writes (a leader hands over), "
                   "retries every %d ms and resumes by itself once there is room", reason,
                   HOST_DISK_RETRY_MS);
    }
  else
    {
      host->alarms_cleared++;
      g_clear_pointer (&host->nospace_reason, g_free);
      dsm_net_log (G_LOG_LEVEL_MESSAGE, host->id, DSM_NODE_NONE, "alarm_cleared",
                   "disk has room again, alarm nospace cleared after %.1f s: the node takes writes again",
                   (double) (g_get_monotonic_time () - host->nospace_since_us) / 1e6);
    }
  guint64 now = host_now_ms ();
  if (host_record (host) != NULL)
    dsm_recording_write_disk_full (host_record (host), now, full);
  dsm_node_set_disk_full (host->node, now, full);
  host_schedule_drain (host);
}

/* A sync ended, in the worker or inline: @seq is durable, or @error
 * (owned) says why not.  Both paths end here, so a failure or a full disk
 * is handled the same whichever thread wrote. */
static void
host_synced (DsmHost *host, guint64 seq, GError *error_owned)
{
  g_autoptr(GError) error = error_owned;

  g_assert (!host->syncing);
  g_assert (error != NULL || seq >= host->durable_seq);
  dsm_net_histogram_observe_us (&host->sync_latency, g_get_monotonic_time () - host->sync_started_us);
  if (g_error_matches (error, DSM_WAL_ERROR, DSM_WAL_ERROR_NO_SPACE))
    {
      /* Not a failure: the WAL keeps the batch; the retry timer tries
       * again.  A stopping node gives up instead, as a crash would: none
       * of it was acknowledged. */
      if (host->stopping)
        {
          host->stop_unwritten = TRUE;
          host_stop_continue (host);
        }
      else
        host_check_disk (host);
      return;
    }
  if (error != NULL)
    {
      /* A node that cannot persist must not promise anything more. */
      dsm_net_log (G_LOG_LEVEL_CRITICAL, host->id, DSM_NODE_NONE, "wal_failed",
                   "write-ahead log failed, stopping: %s", error->message);
      host->wal_failure = g_steal_pointer (&error);
      if (!host->stopping)
        dsm_host_stop (host);
      else
        host_stop_continue (host);
      return;
    }
  host->durable_seq = seq;
  if (host->stopping)
    {
      host_stop_continue (host);
      return;
    }
  /* What is durable first: held messages written before the disk filled
   * may leave; then the node may take on work again. */
  guint64 now = host_now_ms ();
  if (host_record (host) != NULL)
    dsm_recording_write_persisted (host_record (host), now, seq);
  dsm_node_persisted (host->node, now, seq);
  host_check_disk (host);
  host_schedule_drain (host);
  host_maybe_sync (host);
}

/* A small batch with no sync in the worker is written and fsynced on the
 * loop when it has nothing else to do: the worker's hand-off and its way
 * back cost more than the write (docs/BENCHMARKS.md, "Where the time
 * goes").  It runs from an idle of a priority below every input's and
 * below the links' flushes: this drain's messages are on the wire first,
 * and a loop that drains any input first (a message, a request, a timer)
 * is busy and hands the batch to the worker instead (host_maybe_sync()).
 * Those waiting on the sync leave once it reports.  A batch the WAL
 * declines (larger, a snapshot, a sync in the worker) goes to the worker
 * too. */
static gboolean
host_on_sync_inline (gpointer data)
{
  DsmHost *host = data;
  GError *error = NULL;
  guint64 seq = 0;

  g_clear_pointer (&host->sync_inline_source, g_source_unref);
  g_assert (!host->stopping);
  /* The disk alarm raised meanwhile (its timer then retries), or its
   * timer's retry runs in the worker. */
  if (host->syncing || host->wal_failure != NULL || host->nospace)
    return G_SOURCE_REMOVE;
  host->sync_started_us = g_get_monotonic_time ();
  if (dsm_wal_sync_inline (host->wal, host->sync_inline_entries_max, &seq, &error))
    {
      host_synced (host, seq, error);
      host_drain_now (host);
    }
  else
    host_start_sync (host);
  return G_SOURCE_REMOVE;
}

static void
host_cancel_sync_inline (DsmHost *host)
{
  if (host->sync_inline_source != NULL)
    g_source_destroy (host->sync_inline_source);
  g_clear_pointer (&host->sync_inline_source, g_source_unref);
}

/* A leader with other voters keeps its loop free while it fsyncs: the
 * followers' Acks can commit without its own write (any majority does),
 * and its clients wait on it.  Measured at 1 client: fsyncing inline on
 * the leader too made p50 bimodal (1.5 or 4.9 ms) on a busy disk, where
 * followers alone gained (docs/BENCHMARKS.md, "Where the time goes"). */
static gboolean
host_leads_others (DsmHost *host)
{
  return dsm_node_get_role (host->node) == DSM_ROLE_LEADER
         && dsm_membership_get_n_voters (dsm_node_get_membership (host->node, NULL)) > 1;
}

/* At most one sync in flight; everything appended while it runs goes in
 * the next one (group commit).  While the disk is full only the retry
 * timer starts one. */
static void
host_maybe_sync (DsmHost *host)
{
  if (host->syncing || host->wal_failure != NULL || host->stopped || host->nospace)
    return;
  if (dsm_wal_get_appended_seq (host->wal) <= host->durable_seq)
    return;
  /* Another drain before the loop went idle: it is busy, and the
   * worker's group commit lets it go on taking input meanwhile. */
  if (host->sync_inline_source != NULL || host->sync_inline_entries_max == 0 || host->stopping
      || host_leads_others (host))
    {
      host_cancel_sync_inline (host);
      host_start_sync (host);
      return;
    }
  host->sync_inline_source = g_idle_source_new ();
  g_source_set_priority (host->sync_inline_source, G_PRIORITY_DEFAULT_IDLE);
  g_source_set_callback (host->sync_inline_source, host_on_sync_inline, host, NULL);
  g_source_attach (host->sync_inline_source, g_main_context_get_thread_default ());
}

/* Every HOST_DISK_RETRY_MS: picks up a snapshot file that did not fit
 * (no sync reports those), and while the alarm is raised tries the write
 * again; an empty sync still retries the WAL's deferred snapshot and a
 * segment open could not create. */
static gboolean
host_on_disk_timer (gpointer data)
{
  DsmHost *host = data;

  host_check_disk (host);
  if (host->nospace && !host->syncing && !host->stopping && host->wal_failure == NULL)
    host_start_sync (host);
  return G_SOURCE_CONTINUE;
}

/* ---- construction ---- */

/* Log records come from the HTTP workers too: they read the epoch the
 * loop published after its last drain, never the node itself. */
static guint64
host_epoch (gpointer data)
{
  DsmHost *host = data;
  return __atomic_load_n (&host->epoch_published, __ATOMIC_RELAXED);
}

/* Events whose level would not be printed are not even built. */
static guint32
host_event_mask (void)
{
  guint32 mask = 0;

  for (guint kind = 0; kind < DSM_EVENT_N_KINDS; kind++)
    {
      DsmEvent probe = { .kind = (DsmEventKind) kind };
      if (dsm_net_log_level_enabled (dsm_event_level (&probe)))
        mask |= 1u << kind;
    }
  return mask;
}

DsmHost *
dsm_host_new (DsmConfig *config, DsmNodeId id, const DsmHostOptions *options, GError **error)
{
  const DsmNodeConfig *self = dsm_config_find_node (config, id);
  const char *peer_address = options->peer_address != NULL ? options->peer_address
                             : self != NULL ? self->peer_address : NULL;
  const char *client_address = options->client_address != NULL ? options->client_address
                               : self != NULL ? self->client_address : NULL;
  DsmDurableState durable = { 0 };
  DsmWalOptions wal_options = { .no_sync = options->no_sync, .snapshot_retry_ms = HOST_DISK_RETRY_MS,
                                .preallocate_bytes = DSM_WAL_PREALLOCATE_BYTES_DEFAULT };

  g_return_val_if_fail (options->data_dir != NULL, NULL);
  g_return_val_if_fail (id != DSM_NODE_NONE, NULL);

  /* Peer authentication first: a node that must not start touches no
   * data directory (docs/SECURITY.md). */
  DsmTransportOptions transport_options = options->transport;
  g_autoptr(DsmPeerAuth) auth = transport_options.auth != NULL ? dsm_peer_auth_ref (transport_options.auth)
                                                                 : dsm_peer_auth_new (config, id, options->config_dir, error);
  if (auth == NULL)
    return NULL;
  transport_options.auth = auth;

  g_autoptr(DsmHost) host = g_new0 (DsmHost, 1);
  host->config = dsm_config_ref (config);
  host->id = id;
  host->data_dir = g_strdup (options->data_dir);
  host->opened_ms = host_now_ms ();
  host->timer_deadline_ms = G_MAXUINT64;
  host->sync_inline_entries_max = options->sync_inline_entries_max;
  host->pending = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  dsm_outbox_init (&host->out);

  host->wal = dsm_wal_open (options->data_dir, config->cluster_id, id, &wal_options, &durable, error);
  if (host->wal == NULL)
    return NULL;
  host->synced_source = g_source_new (&synced_funcs, sizeof (HostSynced));
  g_source_set_name (host->synced_source, "dsm-host-synced");
  ((HostSynced *) host->synced_source)->host = host;
  dsm_wake_init (&((HostSynced *) host->synced_source)->wake, host->synced_source);
  g_source_attach (host->synced_source, g_main_context_get_thread_default ());
  /* Election timeouts are the node's only randomness; seeded by the OS,
   * with a seed a recording keeps (docs/SIMULATOR.md, "Replaying a real
   * node"). */
  guint32 seed = g_random_int ();
  guint64 now = host_now_ms ();
  host->node = dsm_node_new (config, id, g_rand_new_with_seed (seed), &durable, now, error);
  if (host->node != NULL && options->record_path != NULL)
    {
      DsmRecorderOptions record = { .path = options->record_path, .max_bytes = options->record_max_bytes,
                                    .keep = options->record_keep };
      host->recorder = dsm_recorder_open (&record, error);
      if (host->recorder == NULL)
        {
          dsm_durable_state_clear (&durable);
          return NULL;
        }
      dsm_recording_write_header (host_record (host), config, id, seed, &durable, now);
    }
  dsm_durable_state_clear (&durable);
  if (host->node == NULL)
    {
      g_prefix_error (error, "%s: ", options->data_dir);
      return NULL;
    }
  host->epoch_published = dsm_node_get_epoch (host->node);
  guint32 mask = host_event_mask ();
  if (host_record (host) != NULL)
    {
      dsm_recording_write_report_applies (host_record (host), TRUE);
      dsm_recording_write_event_mask (host_record (host), mask);
    }
  /* Applied entries feed the watches. */
  dsm_node_set_report_applies (host->node, TRUE);
  host->feed = dsm_watch_feed_new (dsm_node_get_applied_index (host->node));
  dsm_node_set_event_mask (host->node, mask);
  dsm_net_log_set_epoch_func (host_epoch, host);

  host->transport = dsm_transport_new (config, id, &transport_options, error);
  if (host->transport == NULL)
    return NULL;
  /* Peers dial the config's peer_address; a node behind a proxy or NAT
   * listens elsewhere (OPERATIONS.md, "Running a node"). */
  const char *listen_address = options->peer_listen_address != NULL ? options->peer_listen_address
                                                                     : peer_address;
  if (listen_address != NULL && !dsm_transport_listen (host->transport, listen_address, NULL, error))
    return NULL;
  host_follow_membership (host);
  dsm_transport_set_message_func (host->transport, host_on_message, host);
  g_signal_connect (host->transport, "unsent", G_CALLBACK (host_on_unsent), host);
  g_signal_connect (host->transport, "invalid", G_CALLBACK (host_on_invalid), host);

  host->http = dsm_http_api_new (host, options->config_dir, error);
  if (host->http == NULL
      || (client_address != NULL && !dsm_http_api_listen (host->http, client_address, error)))
    return NULL;
  host->http_listening = client_address != NULL;
  /* The native protocol where the config (or, for a node that joined,
   * its command line) names an address for this node. */
  const char *native_address = options->native_address != NULL ? options->native_address
                               : self != NULL ? self->native_address : NULL;
  if (native_address != NULL)
    {
      host->native = dsm_native_new (host, options->config_dir, error);
      if (host->native == NULL || !dsm_native_listen (host->native, native_address, error))
        return NULL;
    }

  host->timer = g_source_new (&timer_funcs, sizeof (HostTimer));
  ((HostTimer *) host->timer)->deadline_us = -1;
  g_source_set_callback (host->timer, host_on_timer, host, NULL);
  g_source_attach (host->timer, g_main_context_get_thread_default ());
  host->disk_timer = g_timeout_source_new (HOST_DISK_RETRY_MS);
  g_source_set_callback (host->disk_timer, host_on_disk_timer, host, NULL);
  g_source_attach (host->disk_timer, g_main_context_get_thread_default ());
  return g_steal_pointer (&host);
}

void
dsm_host_start (DsmHost *host)
{
  /* Reading the WAL and restoring a large snapshot may have taken
   * seconds: the node's election timer starts now, so that the load is not
   * taken for the leader's silence (and the first timer for a late one). */
  guint64 now = host_now_ms ();
  if (host_record (host) != NULL)
    dsm_recording_write_start (host_record (host), now);
  dsm_node_start (host->node, now);
  dsm_net_log (G_LOG_LEVEL_MESSAGE, host->id, DSM_NODE_NONE, "node_started",
               "node %u of cluster \"%s\" started: epoch %" G_GUINT64_FORMAT ", last index %" G_GUINT64_FORMAT
               ", applied index %" G_GUINT64_FORMAT ", data directory read in %" G_GUINT64_FORMAT " ms",
               host->id, host->config->cluster_id, dsm_node_get_epoch (host->node),
               dsm_node_get_last_index (host->node), dsm_node_get_applied_index (host->node),
               now - MIN (now, host->opened_ms));
  dsm_transport_start (host->transport);
  if (host->http_listening)
    dsm_http_api_start (host->http);
  if (host->native != NULL)
    dsm_native_start (host->native);
  /* A node may start on a full disk: open could not create its segment. */
  host_check_disk (host);
  host_schedule_drain (host);
}

/* ---- stopping ---- */

static void
host_stop_continue (DsmHost *host)
{
  if (host->stopped || host->syncing)
    return;
  /* Sync what the node appended before the stop (one try when the disk
   * is full), then we are done. */
  if (host->wal_failure == NULL && !host->stop_unwritten
      && dsm_wal_get_appended_seq (host->wal) > host->durable_seq)
    {
      host_start_sync (host);
      return;
    }
  host->stopped = TRUE;
  g_clear_pointer (&host->recorder, host_recorder_close_stop);
  /* The HTTP server stays up until dsm_host_free(), so the 503 answers
   * given at the stop can still be written while the loop winds down. */
  dsm_net_log (G_LOG_LEVEL_MESSAGE, host->id, DSM_NODE_NONE, "node_stopped",
               "node %u stopped%s", host->id,
               host->wal_failure != NULL ? " after a WAL failure"
               : host->stop_unwritten ? " (the disk is full: what was not written yet is dropped, none of it acknowledged)"
               : "");
  if (host->done != NULL)
    host->done (host->done_data);
}

void
dsm_host_set_stopped_func (DsmHost *host, GSourceFunc func, gpointer user_data)
{
  host->done = func;
  host->done_data = user_data;
}

void
dsm_host_stop (DsmHost *host)
{
  if (host->stopping)
    return;
  host->stopping = TRUE;
  host_cancel_sync_inline (host);
  if (host->drain_source != NULL)
    {
      g_source_destroy (host->drain_source);
      g_clear_pointer (&host->drain_source, g_source_unref);
    }
  host_timer_set (host, G_MAXUINT64);
  if (host->removed_stop != NULL)
    g_source_destroy (host->removed_stop);
  g_clear_pointer (&host->removed_stop, g_source_unref);
  g_source_destroy (host->disk_timer);
  dsm_http_api_shutdown (host->http);
  if (host->native != NULL)
    dsm_native_shutdown (host->native);
  g_hash_table_remove_all (host->pending);
  g_signal_handlers_disconnect_by_data (host->transport, host);
  dsm_transport_stop (host->transport);
  host_stop_continue (host);
}

gboolean
dsm_host_reload_tokens (DsmHost *host, GError **error)
{
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (host != NULL, FALSE);

  if (host->http == NULL || host->config->http.token_file == NULL)
    {
      dsm_net_log (G_LOG_LEVEL_MESSAGE, host->id, DSM_NODE_NONE, "tokens_reload_skipped",
                   "asked to read the token file again, but http.token_file is not set");
      return TRUE;
    }
  /* Both ports read the same file: HTTP first, so a file refused there is
   * not half taken by the native port. */
  if (!dsm_http_api_reload_tokens (host->http, &local)
      || (host->native != NULL && !dsm_native_reload_tokens (host->native, &local)))
    {
      dsm_net_log (G_LOG_LEVEL_WARNING, host->id, DSM_NODE_NONE, "tokens_reload_refused",
                   "kept the tokens in use: %s", local->message);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  dsm_net_log (G_LOG_LEVEL_MESSAGE, host->id, DSM_NODE_NONE, "tokens_reloaded",
               "read http.token_file again: its tokens serve every later request");
  return TRUE;
}

gboolean
dsm_host_failed (const DsmHost *host)
{
  return host->wal_failure != NULL;
}

const char *
dsm_host_alarm_to_string (DsmHostAlarm alarm)
{
  return alarm == DSM_HOST_ALARM_NOSPACE ? "nospace" : "none";
}

DsmHostAlarm
dsm_host_get_alarm (DsmHost *host, const char **reason, gint64 *since_us)
{
  g_return_val_if_fail (host != NULL, DSM_HOST_ALARM_NONE);
  if (reason != NULL)
    *reason = host->nospace ? host->nospace_reason : NULL;
  if (since_us != NULL)
    *since_us = host->nospace ? host->nospace_since_us : 0;
  return host->nospace ? DSM_HOST_ALARM_NOSPACE : DSM_HOST_ALARM_NONE;
}

void
dsm_host_free (DsmHost *host)
{
  if (host == NULL)
    return;
  g_assert (!host->syncing);
  host_cancel_sync_inline (host);
  g_clear_pointer (&host->recorder, host_recorder_close_stop);
  if (host->transport != NULL)
    {
      g_signal_handlers_disconnect_by_data (host->transport, host);
      dsm_transport_stop (host->transport);
      g_object_unref (host->transport);
    }
  if (host->http != NULL)
    dsm_http_api_disconnect (host->http);
  g_clear_pointer (&host->http, dsm_http_api_free);
  g_clear_pointer (&host->native, dsm_native_free);
  if (host->drain_source != NULL)
    g_source_destroy (host->drain_source);
  g_clear_pointer (&host->drain_source, g_source_unref);
  if (host->timer != NULL)
    g_source_destroy (host->timer);
  g_clear_pointer (&host->timer, g_source_unref);
  if (host->removed_stop != NULL)
    g_source_destroy (host->removed_stop);
  g_clear_pointer (&host->removed_stop, g_source_unref);
  g_clear_pointer (&host->members_in_use, dsm_membership_unref);
  g_clear_pointer (&host->members_committed, dsm_membership_unref);
  if (host->disk_timer != NULL)
    g_source_destroy (host->disk_timer);
  g_clear_pointer (&host->disk_timer, g_source_unref);
  g_free (host->nospace_reason);
  g_free (host->data_dir);
  dsm_outbox_clear (&host->out);
  g_clear_pointer (&host->feed, dsm_watch_feed_free);
  g_hash_table_unref (host->pending);
  dsm_net_log_set_epoch_func (NULL, NULL);
  g_clear_pointer (&host->node, dsm_node_free);
  /* The WAL's sync thread ends with it: nothing writes the eventfd after. */
  g_clear_pointer (&host->wal, dsm_wal_close);
  if (host->synced_source != NULL)
    {
      g_source_destroy (host->synced_source);
      dsm_wake_finish (&((HostSynced *) host->synced_source)->wake);
    }
  g_clear_pointer (&host->synced_source, g_source_unref);
  g_clear_error (&host->wal_failure);
  dsm_config_unref (host->config);
  g_free (host);
}

/* ---- accessors and metrics ---- */

const DsmWatchFeed *
dsm_host_get_watch_feed (DsmHost *host)
{
  return host->feed;
}

DsmNode *
dsm_host_get_node (DsmHost *host)
{
  return host->node;
}

DsmTransport *
dsm_host_get_transport (DsmHost *host)
{
  return host->transport;
}

DsmConfig *
dsm_host_get_config (DsmHost *host)
{
  return host->config;
}

static void
render_one (GString *out, const char *labels, const char *name, const char *type, const char *help,
            double value)
{
  dsm_metrics_write_header (out, name, type, help);
  dsm_metrics_write_sample (out, name, labels, value);
}

void
dsm_host_render_metrics (DsmHost *host, GString *out)
{
  g_autofree char *nl = g_strdup_printf ("node=\"%u\"", host->id);
  const DsmWalStats *s = dsm_wal_get_stats (host->wal);

  dsm_metrics_render (dsm_node_get_metrics (host->node), host->id, out);
  dsm_transport_render_metrics (host->transport, out);
  if (host->native != NULL)
    dsm_native_render_metrics (host->native, out);

  render_one (out, nl, "dsm_wal_fsyncs_total", "counter", "fsync/fdatasync calls by the write-ahead log.", (double) s->fsyncs);
  render_one (out, nl, "dsm_wal_records_written_total", "counter", "Persist records written.", (double) s->records_written);
  render_one (out, nl, "dsm_wal_bytes_written_total", "counter", "Bytes written to segments and snapshots.", (double) s->bytes_written);
  render_one (out, nl, "dsm_wal_sync_batches_total", "counter", "Group commits (one fsync each).", (double) s->sync_batches);
  render_one (out, nl, "dsm_wal_sync_records_max", "gauge", "Most records made durable by one group commit.", (double) s->sync_records_max);
  render_one (out, nl, "dsm_wal_syncs_inline_total", "counter",
              "Group commits fsynced on the event loop (small batches, no sync in the WAL's thread).",
              (double) s->syncs_inline);
  render_one (out, nl, "dsm_wal_segments_created_total", "counter", "Segment files created.", (double) s->segments_created);
  render_one (out, nl, "dsm_wal_segments_deleted_total", "counter", "Segment files deleted after snapshots.", (double) s->segments_deleted);
  render_one (out, nl, "dsm_wal_snapshots_written_total", "counter", "Snapshot files written.", (double) s->snapshots_written);
  render_one (out, nl, "dsm_wal_recovered_records", "gauge", "Records replayed when the node started.", (double) s->recovered_records);
  render_one (out, nl, "dsm_wal_torn_bytes_dropped", "gauge", "Bytes of a torn tail dropped when the node started.", (double) s->torn_bytes_dropped);
  render_one (out, nl, "dsm_wal_durable_seq", "gauge", "Highest persist sequence number known durable.", (double) host->durable_seq);
  render_one (out, nl, "dsm_wal_nospace_failures_total", "counter",
              "Writes that did not fit on the disk and were undone (each retry counts).", (double) s->nospace_failures);
  {
    g_autofree char *kl = g_strdup_printf ("%s,kind=\"nospace\"", nl);
    render_one (out, kl, "dsm_alarm", "gauge",
                "1 while the alarm is raised: nospace, a write waits for room on the disk (the node takes no writes).",
                host->nospace ? 1 : 0);
    render_one (out, kl, "dsm_alarms_raised_total", "counter", "Times the alarm was raised.", (double) host->alarms_raised);
    render_one (out, kl, "dsm_alarms_cleared_total", "counter", "Times the alarm cleared by itself.",
                (double) host->alarms_cleared);
  }
  dsm_metrics_write_header (out, "dsm_wal_sync_seconds", "histogram",
                            "Time from starting a group commit to its completion (write + fsync).");
  dsm_net_histogram_render (&host->sync_latency, out, "dsm_wal_sync_seconds", nl);

  render_one (out, nl, "dsm_host_drains_total", "counter",
              "Outbox drains: each batches the inputs of one main-loop iteration.", (double) host->drains);
  render_one (out, nl, "dsm_host_inputs_total", "counter",
              "Inputs handed to the node (messages, commands, timer ticks).", (double) host->inputs);
  render_one (out, nl, "dsm_host_late_timers_total", "counter",
              "Node timers run over 50 ms late: the event loop was blocked or short of CPU.",
              (double) host->late_timers);
  render_one (out, nl, "dsm_host_late_timer_max_seconds", "gauge",
              "The latest a node timer has run.", (double) host->late_timer_max_ms / 1000.0);
}
