/* core/metrics.h: counters a node keeps about itself, and the Prometheus
 * text rendering net/ serves on /metrics and sim/ writes into reports.
 * Plain counters: the core is single-threaded per node. */
#pragma once

#include <glib.h>

#include "message.h"
#include "types.h"

G_BEGIN_DECLS

/* Upper bounds (ms) of the commit latency histogram buckets; +Inf follows. */
#define DSM_METRICS_LATENCY_BUCKETS 14
extern const double dsm_metrics_latency_bounds_ms[DSM_METRICS_LATENCY_BUCKETS];

typedef struct {
  guint64 buckets[DSM_METRICS_LATENCY_BUCKETS + 1]; /* last = +Inf, not cumulative */
  guint64 count;
  double sum;
} DsmHistogram;

void dsm_histogram_observe (DsmHistogram *hist, double value_ms);

typedef struct {
  /* Messages by type. */
  guint64 messages_sent[DSM_MSG_N_TYPES];
  guint64 messages_received[DSM_MSG_N_TYPES];
  guint64 messages_failed[DSM_MSG_N_TYPES];   /* the host could not deliver */
  guint64 messages_invalid;                   /* the host could not decode */
  guint64 messages_ignored;                   /* stale or not for us */

  /* Consensus. */
  guint64 proposals;            /* client commands appended by this leader */
  guint64 entries_committed;
  guint64 entries_applied;
  guint64 rejects_sent[DSM_REJECT_N_REASONS];
  guint64 retries;
  guint64 commits_unanswered;   /* Commits a follower did not Ack: its last Ack echoed their round */
  guint64 peers_unreachable_total;   /* times a peer became unreachable */
  guint64 peers_data_loss;           /* times a peer's log ended before what it acknowledged */
  guint64 elections_started;
  guint64 elections_won;
  guint64 elections_lost;
  guint64 step_downs;
  guint64 snapshots_taken;
  guint64 snapshots_installed;
  guint64 snapshots_refused;    /* taken but larger than a node restores: not kept */
  guint64 persists;             /* persist requests issued */
  guint64 membership_changes;   /* effective membership changes (appends, truncations, installs) */
  guint64 transfers_started;    /* leadership transfers this node began as leader */
  guint64 transfers_completed;  /* ... that ended with a later epoch taking over */

  /* Clients. */
  guint64 client_requests;
  guint64 client_forwards;
  guint64 client_replies[DSM_REPLY_N_STATUSES];
  guint64 client_rejects[DSM_REJECT_N_REASONS];
  guint64 consensus_timeouts;
  guint64 reads;
  DsmHistogram commit_latency;  /* submit to reply, ms, on the node the client used */

  /* Gauges, refreshed by dsm_node_get_metrics(). */
  guint64 node_count;
  guint64 peers_reachable;
  guint64 epoch;
  guint64 commit_index;
  guint64 applied_index;
  guint64 last_index;
  guint64 pending_requests;
  guint64 voters;               /* voters of the effective membership */
  guint64 learners;
  guint64 removed;              /* 1 once this node was removed from the cluster */
  guint64 apply_stalled_index;  /* 0, or the committed entry this node cannot apply */
  DsmRole role;
} DsmMetrics;

/* Appends every metric in Prometheus text exposition format (version
 * 0.0.4), each sample labelled node="@node". */
void dsm_metrics_render (const DsmMetrics *metrics, DsmNodeId node, GString *out);

/* Helpers the hosts use for their own metrics, so every family is
 * rendered the same way. @labels is "" or 'a="b",c="d"'. */
void dsm_metrics_write_header (GString *out, const char *name, const char *type, const char *help);
void dsm_metrics_write_sample (GString *out, const char *name, const char *labels, double value);
void dsm_metrics_write_histogram (GString *out, const char *name, const char *help,
                                  const char *labels, const DsmHistogram *hist);

G_END_DECLS
