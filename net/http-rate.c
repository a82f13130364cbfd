/* net/http-rate.c: per-key token buckets behind one mutex (http-rate.h);
 * full buckets are forgotten when the table fills. */
#include "http-rate.h"

#define OVERFLOW_KEY "\x01overflow"

typedef struct {
  double tokens;
  gint64 last_us;
} Bucket;

struct _DsmHttpRate {
  guint per_second;
  guint burst;
  GMutex lock;
  GHashTable *buckets;          /* key -> Bucket */
  guint64 refused;
};

DsmHttpRate *
dsm_http_rate_new (guint per_second, guint burst)
{
  DsmHttpRate *rate = g_new0 (DsmHttpRate, 1);

  rate->per_second = per_second;
  rate->burst = MAX (burst, 1);
  g_mutex_init (&rate->lock);
  rate->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return rate;
}

void
dsm_http_rate_free (DsmHttpRate *rate)
{
  if (rate == NULL)
    return;
  g_hash_table_unref (rate->buckets);
  g_mutex_clear (&rate->lock);
  g_free (rate);
}

static void
bucket_refill (const DsmHttpRate *rate, Bucket *b, gint64 now_us)
{
  if (now_us > b->last_us)
    {
      b->tokens = MIN ((double) rate->burst, b->tokens + (double) (now_us - b->last_us) * rate->per_second / 1e6);
      b->last_us = now_us;
    }
}

static gboolean
bucket_is_full (gpointer key, gpointer value, gpointer data)
{
  const DsmHttpRate *rate = ((gpointer *) data)[0];
  gint64 now_us = *(gint64 *) ((gpointer *) data)[1];
  Bucket *b = value;

  bucket_refill (rate, b, now_us);
  return b->tokens >= rate->burst;
}

/* Under the lock: @key's bucket, made if need be. */
static Bucket *
rate_bucket (DsmHttpRate *rate, const char *key, gint64 now_us)
{
  Bucket *b = g_hash_table_lookup (rate->buckets, key);

  if (b != NULL)
    return b;
  if (g_hash_table_size (rate->buckets) >= DSM_HTTP_RATE_KEYS_MAX)
    {
      /* A full bucket is the same as no bucket: forget those. */
      gpointer data[2] = { rate, &now_us };
      g_hash_table_foreach_remove (rate->buckets, bucket_is_full, data);
      if (g_hash_table_size (rate->buckets) >= DSM_HTTP_RATE_KEYS_MAX)
        key = OVERFLOW_KEY;
      if ((b = g_hash_table_lookup (rate->buckets, key)) != NULL)
        return b;
    }
  b = g_new (Bucket, 1);
  b->tokens = rate->burst;
  b->last_us = now_us;
  g_hash_table_insert (rate->buckets, g_strdup (key), b);
  return b;
}

gboolean
dsm_http_rate_take (DsmHttpRate *rate, const char *key, gint64 now_us, guint *retry_after_s)
{
  gboolean ok;
  Bucket *b;

  *retry_after_s = 0;
  if (rate->per_second == 0)
    return TRUE;
  g_mutex_lock (&rate->lock);
  b = rate_bucket (rate, key, now_us);
  bucket_refill (rate, b, now_us);
  ok = b->tokens >= 1.0;
  if (ok)
    b->tokens -= 1.0;
  else
    {
      double wait_s = (1.0 - b->tokens) / rate->per_second;
      *retry_after_s = MAX (1, (guint) (wait_s + 0.999));
      rate->refused++;
    }
  g_mutex_unlock (&rate->lock);
  return ok;
}

guint64
dsm_http_rate_get_refused (DsmHttpRate *rate)
{
  g_mutex_lock (&rate->lock);
  guint64 refused = rate->refused;
  g_mutex_unlock (&rate->lock);
  return refused;
}
