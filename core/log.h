/* core/log.h: the in-memory replicated log: entries (start_index, last_index].
 * Entries up to start_index were compacted away (a snapshot covers them,
 * and usually more: memory keeps a trailing window past the snapshot for
 * followers a little behind).  Indexes start at 1; index 0 with epoch 0 is
 * the empty log's sentinel. */
#pragma once

#include <glib.h>

#include "entry.h"

G_BEGIN_DECLS

typedef struct _DsmLog DsmLog;

DsmLog *dsm_log_new (void);
void dsm_log_free (DsmLog *log);

guint64 dsm_log_last_index (const DsmLog *log);
guint64 dsm_log_last_epoch (const DsmLog *log);
guint64 dsm_log_first_index (const DsmLog *log);     /* start_index + 1 */
guint64 dsm_log_start_index (const DsmLog *log);
guint64 dsm_log_start_epoch (const DsmLog *log);
guint dsm_log_length (const DsmLog *log);            /* entries held in memory */

/**
 * dsm_log_epoch_at:
 * Sets *@epoch to the epoch of the entry at @index (the start's epoch for
 * start_index, 0 for index 0).
 * Returns: FALSE when @index is compacted away or past the end.
 */
gboolean dsm_log_epoch_at (const DsmLog *log, guint64 index, guint64 *epoch);

/* Returns: (transfer none) (nullable): the entry at @index, if held. */
DsmEntry *dsm_log_get (const DsmLog *log, guint64 index);

/* Appends @entry (referenced); its index must be last_index + 1 and its
 * epoch at least last_epoch. */
void dsm_log_append (DsmLog *log, DsmEntry *entry);

/* Drops every entry at or after @index (> start_index). */
void dsm_log_truncate_from (DsmLog *log, guint64 index);

/* Drops entries up to and including @index, which must be held or be
 * the current start index; the log then starts after (index, epoch).
 * O(1): the dropped entries are released by dsm_log_reclaim(). */
void dsm_log_compact_to (DsmLog *log, guint64 index);

/* Releases at most @budget of the entries compaction dropped (queue.h).
 * Returns: how many are still waiting. */
guint dsm_log_reclaim (DsmLog *log, guint budget);
guint dsm_log_pending_reclaim (const DsmLog *log);

/* Empties the log and sets its start to (index, epoch): installing a
 * snapshot that the log does not reach. */
void dsm_log_reset (DsmLog *log, guint64 index, guint64 epoch);

/**
 * dsm_log_slice:
 * Returns: (transfer full) (element-type DsmEntry): up to @max_entries
 * entries from @from, stopping before the one that would pass
 * @max_bytes (at least one entry is returned when any exists).
 */
GPtrArray *dsm_log_slice (const DsmLog *log, guint64 from, guint max_entries, gsize max_bytes);

/* First index after the start whose entry has @epoch, scanning
 * back from @index (the fast log-mismatch hint). */
guint64 dsm_log_first_index_of_epoch (const DsmLog *log, guint64 index);

G_END_DECLS
