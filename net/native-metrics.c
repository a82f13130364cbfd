/* net/native-metrics.c: the native protocol's dsm_native_* metrics
 * (docs/CLIENT.md, "Metrics"), counted by any thread, rendered on the loop. */
#include "native-private.h"

#include "metrics.h"

static void
render_family (GString *out, const char *nl, const char *name, const char *help, const char *label,
               const char *const *values, const guint64 *counters, guint count)
{
  dsm_metrics_write_header (out, name, "counter", help);
  for (guint k = 0; k < count; k++)
    {
      g_autofree char *labels = g_strdup_printf ("%s,%s=\"%s\"", nl, label, values[k]);
      dsm_metrics_write_sample (out, name, labels, (double) __atomic_load_n (&counters[k], __ATOMIC_RELAXED));
    }
}

static void
render_one (GString *out, const char *nl, const char *name, const char *type, const char *help, double value)
{
  dsm_metrics_write_header (out, name, type, help);
  dsm_metrics_write_sample (out, name, nl, value);
}

void
dsm_native_render_metrics (DsmNative *n, GString *out)
{
  static const char *const types[] = { "hello", "transition", "read", "stale_read" };
  static const char *const timeouts[NT_N] = { "hello", "idle", "write" };
  static const char *const refusals[NR_N] = { "node_cap", "address_cap", "stopping" };
  g_autofree char *nl = g_strdup_printf ("node=\"%u\"", n->node);
  DsmLoopQueueStats q;
  DsmNetHistogram copy;
  guint open, open_max;

  dsm_conn_caps_get (&n->caps, &open, &open_max);
  dsm_loop_queue_get_stats (n->queue, &q);
  render_family (out, nl, "dsm_native_requests_total", "Native requests read, by type.", "type", types,
                 n->requests, G_N_ELEMENTS (types));
  render_family (out, nl, "dsm_native_errors_total", "Native ERROR frames sent, by code (docs/CLIENT.md, \"Errors\").",
                 "code", native_error_names, n->errors, NE_N);
  render_family (out, nl, "dsm_native_timeouts_total",
                 "Native connections closed for a deadline: hello, idle, write (the client did not take its answers).",
                 "kind", timeouts, n->timeouts, NT_N);
  render_family (out, nl, "dsm_native_connections_refused_total",
                 "Native connections refused at once: node_cap, address_cap, stopping.", "reason", refusals,
                 n->refused, NR_N);
  render_one (out, nl, "dsm_native_connections_open", "gauge", "Native connections open now.", open);
  render_one (out, nl, "dsm_native_connections_open_max", "gauge", "The most native connections open at once.",
              open_max);
  render_one (out, nl, "dsm_native_connections_accepted_total", "counter", "Native connections accepted.",
              (double) __atomic_load_n (&n->accepted, __ATOMIC_RELAXED));
  render_one (out, nl, "dsm_native_connections_closed_total", "counter", "Native connections closed.",
              (double) __atomic_load_n (&n->closed, __ATOMIC_RELAXED));
  render_one (out, nl, "dsm_native_bytes_received_total", "counter", "Bytes read from native clients.",
              (double) __atomic_load_n (&n->bytes_in, __ATOMIC_RELAXED));
  render_one (out, nl, "dsm_native_bytes_sent_total", "counter", "Bytes written to native clients.",
              (double) __atomic_load_n (&n->bytes_out, __ATOMIC_RELAXED));
  render_one (out, nl, "dsm_native_answers_dropped_total", "counter",
              "Answers whose connection had closed (the command may still have committed).",
              (double) __atomic_load_n (&n->answers_dropped, __ATOMIC_RELAXED));
  render_one (out, nl, "dsm_native_answers_loop_written_total", "counter",
              "Answers the consensus loop wrote on the client's socket itself, without waking a worker.",
              (double) __atomic_load_n (&n->answers_loop_written, __ATOMIC_RELAXED));
  render_one (out, nl, "dsm_native_requests_in_flight", "gauge",
              "Native requests handed to the consensus loop and not answered yet.",
              (double) (n->in_flight.length + q.waiting));
  render_one (out, nl, "dsm_native_loop_batches_total", "counter",
              "Batches of native requests the consensus loop took (one wake-up each).", (double) q.batches);
  render_one (out, nl, "dsm_native_loop_requests_total", "counter",
              "Native requests the consensus loop took (requests / batches = batching).", (double) q.items);
  render_one (out, nl, "dsm_native_workers", "gauge", "Native worker threads.", n->n_workers);
  render_one (out, nl, "dsm_native_tls_handshake_failures_total", "counter",
              "TLS handshakes with native clients that failed (a client that does not trust the certificate).",
              (double) __atomic_load_n (&n->tls_handshake_failures, __ATOMIC_RELAXED));
  dsm_metrics_write_header (out, "dsm_native_request_duration_seconds", "histogram",
                            "Time from a native request's frame to its answer, written by the loop or "
                            "reaching its worker.");
  dsm_net_histogram_snapshot (&n->latency, &copy);
  dsm_net_histogram_render (&copy, out, "dsm_native_request_duration_seconds", nl);
}
