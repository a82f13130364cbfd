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

/* One record for an event of the core, at dsm_event_level(). */
void dsm_net_log_event (const DsmEvent *event);

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
