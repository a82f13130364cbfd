/* core/metrics.c: Prometheus text rendering of a node's counters
 * (exposition format 0.0.4: HELP, TYPE, then samples). */
#include "metrics.h"

const double dsm_metrics_latency_bounds_ms[DSM_METRICS_LATENCY_BUCKETS] = {
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000,
};

void
dsm_histogram_observe (DsmHistogram *hist, double value_ms)
{
  guint i = 0;

  while (i < DSM_METRICS_LATENCY_BUCKETS && value_ms > dsm_metrics_latency_bounds_ms[i])
    i++;
  hist->buckets[i]++;
  hist->count++;
  hist->sum += value_ms;
}

void
dsm_metrics_write_header (GString *out, const char *name, const char *type, const char *help)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
dsm_metrics_write_sample (GString *out, const char *name, const char *labels, double value)
{
  char number[G_ASCII_DTOSTR_BUF_SIZE];

  /* %.17g round-trips; integers print without exponent up to 2^53. */
  g_ascii_formatd (number, sizeof number, "%.17g", value);
  if (labels != NULL && labels[0] != '\0')
    g_string_append_printf (out, "%s{%s} %s\n", name, labels, number);
  else
    g_string_append_printf (out, "%s %s\n", name, number);
}

void
dsm_metrics_write_histogram (GString *out, const char *name, const char *help,
                             const char *labels, const DsmHistogram *hist)
{
  g_autofree char *bucket = g_strconcat (name, "_bucket", NULL);
  g_autofree char *sum = g_strconcat (name, "_sum", NULL);
  g_autofree char *count = g_strconcat (name, "_count", NULL);
  const char *sep = labels[0] != '\0' ? "," : "";
  guint64 cumulative = 0;

  dsm_metrics_write_header (out, name, "histogram", help);
  for (guint i = 0; i <= DSM_METRICS_LATENCY_BUCKETS; i++)
    {
      char le[G_ASCII_DTOSTR_BUF_SIZE] = "+Inf";
      if (i < DSM_METRICS_LATENCY_BUCKETS)
        g_ascii_formatd (le, sizeof le, "%g", dsm_metrics_latency_bounds_ms[i] / 1000.0);
      cumulative += hist->buckets[i];
      g_autofree char *l = g_strdup_printf ("%s%sle=\"%s\"", labels, sep, le);
      dsm_metrics_write_sample (out, bucket, l, (double) cumulative);
    }
  dsm_metrics_write_sample (out, sum, labels, hist->sum / 1000.0);
  dsm_metrics_write_sample (out, count, labels, (double) hist->count);
}

/* One family with one sample per value of a label (message type, reason...). */
static void
render_by_label (GString *out, const char *name, const char *help, const char *node_label,
                 const char *label, const guint64 *values, guint n,
                 const char *(*to_string) (guint))
{
  dsm_metrics_write_header (out, name, "counter", help);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *labels = g_strdup_printf ("%s,%s=\"%s\"", node_label, label, to_string (i));
      dsm_metrics_write_sample (out, name, labels, (double) values[i]);
    }
}

static const char *
message_type_name (guint i)
{
  return dsm_message_type_to_string ((DsmMessageType) i);
}

static const char *
reject_reason_name (guint i)
{
  return dsm_reject_reason_to_string ((DsmRejectReason) i);
}

static const char *
reply_status_name (guint i)
{
  return dsm_reply_status_to_string ((DsmReplyStatus) i);
}

static void
render_counter (GString *out, const char *name, const char *help, const char *labels, guint64 value)
{
  dsm_metrics_write_header (out, name, "counter", help);
  dsm_metrics_write_sample (out, name, labels, (double) value);
}

static void
render_gauge (GString *out, const char *name, const char *help, const char *labels, double value)
{
  dsm_metrics_write_header (out, name, "gauge", help);
  dsm_metrics_write_sample (out, name, labels, value);
}

void
dsm_metrics_render (const DsmMetrics *m, DsmNodeId node, GString *out)
{
  g_autofree char *nl = g_strdup_printf ("node=\"%u\"", node);

  render_by_label (out, "dsm_messages_sent_total", "Messages handed to the transport, by type.",
                   nl, "type", m->messages_sent, DSM_MSG_N_TYPES, message_type_name);
  render_by_label (out, "dsm_messages_received_total", "Valid messages received, by type.",
                   nl, "type", m->messages_received, DSM_MSG_N_TYPES, message_type_name);
  render_by_label (out, "dsm_messages_failed_total", "Messages the transport could not deliver, by type.",
                   nl, "type", m->messages_failed, DSM_MSG_N_TYPES, message_type_name);
  render_counter (out, "dsm_messages_invalid_total", "Received messages that did not decode.", nl, m->messages_invalid);
  render_counter (out, "dsm_messages_ignored_total", "Received messages dropped as stale or misaddressed.", nl, m->messages_ignored);
  render_counter (out, "dsm_proposals_total", "Client commands appended to the log by this node as leader.", nl, m->proposals);
  render_counter (out, "dsm_entries_committed_total", "Log entries this node learned committed.", nl, m->entries_committed);
  render_counter (out, "dsm_entries_applied_total", "Log entries applied to the state machine.", nl, m->entries_applied);
  render_by_label (out, "dsm_rejects_sent_total", "Reject messages sent to peers, by reason.",
                   nl, "reason", m->rejects_sent, DSM_REJECT_N_REASONS, reject_reason_name);
  render_counter (out, "dsm_retries_total", "Unanswered Proposals resent.", nl, m->retries);
  render_counter (out, "dsm_commits_unanswered_total", "Commits from the leader not Acked: the last Ack already echoed their heartbeat round.", nl, m->commits_unanswered);
  render_counter (out, "dsm_peers_unreachable_total", "Times a peer was marked unreachable after its retries.", nl, m->peers_unreachable_total);
  render_counter (out, "dsm_peer_data_losses_total", "Times a peer's log ended before entries it had acknowledged (its disk lost them).", nl, m->peers_data_loss);
  render_counter (out, "dsm_elections_started_total", "Elections started (real rounds, not pre-votes).", nl, m->elections_started);
  render_counter (out, "dsm_elections_won_total", "Elections won.", nl, m->elections_won);
  render_counter (out, "dsm_elections_lost_total", "Elections lost or abandoned.", nl, m->elections_lost);
  render_counter (out, "dsm_step_downs_total", "Times this node stopped being leader.", nl, m->step_downs);
  render_counter (out, "dsm_snapshots_taken_total", "Snapshots of the state machine taken.", nl, m->snapshots_taken);
  render_counter (out, "dsm_snapshots_installed_total", "Snapshots received from a leader and installed.", nl, m->snapshots_installed);
  render_counter (out, "dsm_snapshots_refused_total", "Snapshots taken but not kept: larger than a node restores (the log is not compacted).", nl, m->snapshots_refused);
  render_counter (out, "dsm_persists_total", "Durable writes requested from the host.", nl, m->persists);
  render_counter (out, "dsm_membership_changes_total", "Changes of the membership this node uses.", nl, m->membership_changes);
  render_counter (out, "dsm_transfers_started_total", "Leadership transfers this node began as leader.", nl, m->transfers_started);
  render_counter (out, "dsm_transfers_completed_total", "Leadership transfers that ended with a later epoch taking over.", nl, m->transfers_completed);
  render_counter (out, "dsm_client_requests_total", "Client commands submitted to this node.", nl, m->client_requests);
  render_counter (out, "dsm_client_forwards_total", "Client commands forwarded to the leader.", nl, m->client_forwards);
  render_by_label (out, "dsm_client_replies_total", "Client replies, by status.",
                   nl, "status", m->client_replies, DSM_REPLY_N_STATUSES, reply_status_name);
  render_by_label (out, "dsm_client_rejects_total", "Rejected client commands, by reason.",
                   nl, "reason", m->client_rejects, DSM_REJECT_N_REASONS, reject_reason_name);
  render_counter (out, "dsm_consensus_timeouts_total", "Commands answered 'outcome unknown' after consensus_timeout_ms.", nl, m->consensus_timeouts);
  render_counter (out, "dsm_reads_total", "Linearizable reads served.", nl, m->reads);
  dsm_metrics_write_histogram (out, "dsm_commit_latency_seconds",
                               "Time from a client command's arrival to its reply.", nl, &m->commit_latency);
  render_gauge (out, "dsm_nodes", "Members of the membership this node uses (voters and learners).", nl, (double) m->node_count);
  render_gauge (out, "dsm_voters", "Voters of the membership this node uses.", nl, (double) m->voters);
  render_gauge (out, "dsm_learners", "Learners of the membership this node uses.", nl, (double) m->learners);
  render_gauge (out, "dsm_removed", "1 once this node was removed from the cluster.", nl, (double) m->removed);
  render_gauge (out, "dsm_apply_stalled_index", "The committed entry this node cannot apply (0: none); it applies nothing past it.", nl, (double) m->apply_stalled_index);
  render_gauge (out, "dsm_peers_reachable", "Peers that answered recently (leader only).", nl, (double) m->peers_reachable);
  render_gauge (out, "dsm_epoch", "Current epoch.", nl, (double) m->epoch);
  render_gauge (out, "dsm_commit_index", "Highest index known committed.", nl, (double) m->commit_index);
  render_gauge (out, "dsm_applied_index", "Highest index applied.", nl, (double) m->applied_index);
  render_gauge (out, "dsm_last_index", "Last index in the log.", nl, (double) m->last_index);
  render_gauge (out, "dsm_pending_requests", "Client requests waiting for an answer.", nl, (double) m->pending_requests);
  dsm_metrics_write_header (out, "dsm_role", "gauge", "1 for the node's current role.");
  for (DsmRole r = DSM_ROLE_FOLLOWER; r <= DSM_ROLE_LEADER; r++)
    {
      g_autofree char *labels = g_strdup_printf ("%s,role=\"%s\"", nl, dsm_role_to_string (r));
      dsm_metrics_write_sample (out, "dsm_role", labels, m->role == r ? 1 : 0);
    }
}
