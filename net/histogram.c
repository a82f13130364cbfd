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
