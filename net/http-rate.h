/* net/http-rate.h: token buckets limiting requests per client key (a
 * token's name, a certificate's name or an address), shared by every HTTP
 * worker.  docs/OPERATIONS.md, "Limits". */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _DsmHttpRate DsmHttpRate;

/* Buckets remembered at once; beyond, new keys share one bucket. */
#define DSM_HTTP_RATE_KEYS_MAX 16384

/* @per_second tokens a second, at most @burst saved up; per_second 0: no limit. */
DsmHttpRate *dsm_http_rate_new (guint per_second, guint burst);
void dsm_http_rate_free (DsmHttpRate *rate);

/**
 * dsm_http_rate_take:
 * @retry_after_s: (out): when refused, whole seconds until a token is back (>= 1)
 *
 * Takes a token from @key's bucket at time @now_us (a monotonic clock).
 * Thread-safe.  Returns: FALSE when the bucket is empty.
 */
gboolean dsm_http_rate_take (DsmHttpRate *rate, const char *key, gint64 now_us, guint *retry_after_s);

/* Requests refused so far. */
guint64 dsm_http_rate_get_refused (DsmHttpRate *rate);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmHttpRate, dsm_http_rate_free)

G_END_DECLS
