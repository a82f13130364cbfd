/* net/netlog.h: structured logging for real nodes.  Every record goes
 * through g_log_structured with MESSAGE, PRIORITY (from the level),
 * GLIB_DOMAIN "dsm", DSM_NODE, DSM_EPOCH, DSM_EVENT and, when they apply,
 * DSM_PEER, DSM_ROLE, DSM_INDEX, DSM_REASON.  dsm-node installs a writer
 * that filters by level and prints text or JSON lines (or hands records
 * to journald unchanged).  docs/OPERATIONS.md, "Logs". */
#pragma once

#include <glib.h>

#include "event.h"
#include "types.h"

G_BEGIN_DECLS

#define DSM_LOG_DOMAIN "dsm"

/* Where log records find the current epoch (the host's node). */
typedef guint64 (*DsmNetEpochFunc) (gpointer user_data);
void dsm_net_log_set_epoch_func (DsmNetEpochFunc func, gpointer user_data);

/* One record about @node's networking (@peer 0: none). */
void dsm_net_log (GLogLevelFlags level, DsmNodeId node, DsmNodeId peer, const char *event,
                  const char *format, ...) G_GNUC_PRINTF (5, 6);

/* The most often one (event, key) pair is logged by dsm_net_log_limited(). */
#define DSM_NET_LOG_LIMIT_INTERVAL_MS 10000

/**
 * dsm_net_log_limited:
 * @key: what the record is about, such as the source address ("10.0.0.9")
 *
 * Logs like dsm_net_log() for hostile or broken input, whose volume the
 * sender controls: at most one record per (@event, @key) every
 * DSM_NET_LOG_LIMIT_INTERVAL_MS, through one process-wide DsmLogLimiter
 * (below) behind a mutex; the next record printed says how many were
 * suppressed meanwhile.  Thread-safe (the HTTP workers use it).  Returns:
 * whether it logged.
 */
gboolean dsm_net_log_limited (GLogLevelFlags level, DsmNodeId node, const char *event, const char *key,
                              const char *format, ...) G_GNUC_PRINTF (5, 6);

/* Records dsm_net_log_limited() has suppressed since the process started. */
guint64 dsm_net_log_get_suppressed (void);

/* One record for an event of the core, at dsm_event_level(). */
void dsm_net_log_event (const DsmEvent *event);

/* ---- rate limiting ----
 *
 * Outside input must not decide how much we log: a stranger sending
 * garbage in a loop would fill the disk.  A limiter lets one record per
 * key (a source address, say) through per interval and counts the rest;
 * the next record let through says how many were suppressed. */
typedef struct _DsmLogLimiter DsmLogLimiter;

/* @max_keys bounds the memory: past it, keys share one slot. */
DsmLogLimiter *dsm_log_limiter_new (guint interval_ms, guint max_keys);
void dsm_log_limiter_free (DsmLogLimiter *limiter);

/**
 * dsm_log_limiter_allow:
 * @now_us: monotonic time
 * @suppressed: (out): records about @key suppressed since its last one
 *
 * Returns: whether a record about @key may be written now; when FALSE it
 * is counted as suppressed.
 */
gboolean dsm_log_limiter_allow (DsmLogLimiter *limiter, const char *key, gint64 now_us,
                                guint64 *suppressed);

/* Records suppressed so far, all keys (a metric). */
guint64 dsm_log_limiter_get_suppressed_total (const DsmLogLimiter *limiter);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmLogLimiter, dsm_log_limiter_free)

typedef enum {
  DSM_LOG_FORMAT_TEXT,
  DSM_LOG_FORMAT_JSON,
} DsmLogFormat;

/* Whether records at @level are printed (skip formatting those that are not). */
gboolean dsm_net_log_level_enabled (GLogLevelFlags level);

/* Parses "error", "critical", "warning", "message", "info", "debug". */
gboolean dsm_net_log_level_from_string (const char *text, GLogLevelFlags *out);

/**
 * dsm_net_log_install_writer:
 * @threshold: the least severe level printed (G_LOG_LEVEL_DEBUG: all)
 *
 * Installs the process's log writer: records at or above @threshold go to
 * journald when stderr is the journal, else to stderr as @format lines.
 */
void dsm_net_log_install_writer (GLogLevelFlags threshold, DsmLogFormat format);

G_END_DECLS
