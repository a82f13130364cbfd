/* net/histogram.c: second-based latency histograms (histogram.h). */
#include "histogram.h"

#include "metrics.h"

/* Upper bounds in microseconds: 25 µs .. 10 s. */
static const gint64 bounds_us[DSM_NET_HISTOGRAM_BUCKETS] = {
  25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
  100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

void
dsm_net_histogram_observe_us (DsmNetHistogram *hist, gint64 us)
{
  guint i = 0;

  us = MAX (us, 0);
  while (i < DSM_NET_HISTOGRAM_BUCKETS && us > bounds_us[i])
    i++;
  hist->buckets[i]++;
  hist->count++;
  hist->sum_us += (guint64) us;
}

void
dsm_net_histogram_observe_us_atomic (DsmNetHistogram *hist, gint64 us)
{
  guint i = 0;

  us = MAX (us, 0);
  while (i < DSM_NET_HISTOGRAM_BUCKETS && us > bounds_us[i])
    i++;
  __atomic_fetch_add (&hist->buckets[i], 1, __ATOMIC_RELAXED);
  __atomic_fetch_add (&hist->count, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add (&hist->sum_us, (guint64) us, __ATOMIC_RELAXED);
}

void
dsm_net_histogram_snapshot (const DsmNetHistogram *shared, DsmNetHistogram *copy)
{
  copy->count = 0;
  for (guint i = 0; i <= DSM_NET_HISTOGRAM_BUCKETS; i++)
    {
      copy->buckets[i] = __atomic_load_n (&shared->buckets[i], __ATOMIC_RELAXED);
      /* From the buckets, so the +Inf bucket and the count agree. */
      copy->count += copy->buckets[i];
    }
  copy->sum_us = __atomic_load_n (&shared->sum_us, __ATOMIC_RELAXED);
}

void
dsm_net_histogram_render (const DsmNetHistogram *hist, GString *out, const char *name,
                          const char *labels)
{
  g_autofree char *bucket = g_strconcat (name, "_bucket", NULL);
  g_autofree char *sum = g_strconcat (name, "_sum", NULL);
  g_autofree char *count = g_strconcat (name, "_count", NULL);
  const char *sep = labels[0] != '\0' ? "," : "";
  guint64 cumulative = 0;

  for (guint i = 0; i <= DSM_NET_HISTOGRAM_BUCKETS; i++)
    {
      char le[G_ASCII_DTOSTR_BUF_SIZE] = "+Inf";
      if (i < DSM_NET_HISTOGRAM_BUCKETS)
        g_ascii_formatd (le, sizeof le, "%g", (double) bounds_us[i] / 1e6);
      cumulative += hist->buckets[i];
      g_autofree char *l = g_strdup_printf ("%s%sle=\"%s\"", labels, sep, le);
      dsm_metrics_write_sample (out, bucket, l, (double) cumulative);
    }
  dsm_metrics_write_sample (out, sum, labels, (double) hist->sum_us / 1e6);
  dsm_metrics_write_sample (out, count, labels, (double) hist->count);
}
