/* net/histogram.h: latency histograms in seconds with microsecond
 * resolution (HTTP requests, fsyncs), rendered in Prometheus text.  The
 * core's DsmHistogram has millisecond buckets for simulated time; real
 * latencies on loopback and fast disks live below a millisecond. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DSM_NET_HISTOGRAM_BUCKETS 18

typedef struct {
  guint64 buckets[DSM_NET_HISTOGRAM_BUCKETS + 1];  /* last: +Inf; not cumulative */
  guint64 count;
  guint64 sum_us;
} DsmNetHistogram;

void dsm_net_histogram_observe_us (DsmNetHistogram *hist, gint64 us);

/* The same for a histogram several threads observe at once (relaxed
 * atomics); read it with dsm_net_histogram_snapshot(). */
void dsm_net_histogram_observe_us_atomic (DsmNetHistogram *hist, gint64 us);

/* Copies @shared, read with atomic loads, into @copy for rendering. */
void dsm_net_histogram_snapshot (const DsmNetHistogram *shared, DsmNetHistogram *copy);

/* Samples only (_bucket, _sum, _count); the caller writes the header once
 * per family.  @labels: "" or 'a="b"'. */
void dsm_net_histogram_render (const DsmNetHistogram *hist, GString *out, const char *name,
                               const char *labels);

G_END_DECLS
