/* storage/recover.h: reading a data directory back into the state a node
 * restarts from, without changing anything: what dsm_wal_open() acts on
 * and what dsm_wal_check_dir() reports.  Internal to storage/. */
#pragma once

#include <glib.h>

#include "node.h"

G_BEGIN_DECLS

/* One segment the replay read. */
typedef struct {
  char *name;
  guint64 first_seq;       /* from its name */
  guint64 last_seq;        /* of its last valid record; first_seq - 1 when it has none */
  gsize size_bytes;
  gsize valid_bytes;       /* where its last valid record ends: size_bytes unless torn
                            * or followed by zeros */
  gsize zero_bytes;        /* zeros after the last record: space the writer wrote ahead
                            * (DsmWalOptions.preallocate_bytes), not a torn record */
  guint records;
  gboolean base;           /* starts with hard state, snapshot_ref and entries */
} DsmRecoverSegment;

typedef struct {
  gboolean fresh;          /* neither meta.json nor WAL files: a new directory */
  char *cluster_id;        /* from meta.json */
  DsmNodeId node_id;
  DsmDurableState state;
  guint64 next_seq;        /* seq of the next record to write */
  GPtrArray *segments;     /* (element-type DsmRecoverSegment) replayed, oldest first */
  GPtrArray *obsolete;     /* (element-type utf8) names nothing depends on: segments
                            * before the start, unreferenced snapshots, *.tmp */
  char *snapshot_file;     /* the snapshot the state came from (nullable) */
  guint64 records;         /* replayed */
  guint64 torn_bytes;      /* dropped from the end of the last segment */
} DsmRecovery;

/**
 * dsm_recovery_run:
 * @cluster_id: (nullable): the expected owner; NULL takes meta.json's
 * @report: (nullable): gets one line per file and a summary
 *
 * Reads @dir into @rec (zero-initialized by the caller; clear it with
 * dsm_recovery_clear() whatever the result).  Changes nothing.
 *
 * Returns: FALSE with a DSM_WAL_ERROR naming the file and offset when a
 * node must not start from @dir.
 */
gboolean dsm_recovery_run (DsmRecovery *rec, const char *dir, const char *cluster_id,
                           DsmNodeId node_id, GString *report, GError **error);
void dsm_recovery_clear (DsmRecovery *rec);

/**
 * dsm_recovery_clip_entries:
 * @persist: an ENTRIES persist
 * @snapshot_index: where the log already starts (the durable snapshot's index)
 *
 * A follower catching up may apply entries it has not persisted yet and
 * snapshot them, so the core can hand over SNAPSHOT(i) and then ENTRIES
 * from below i (core/snapshot.c, snapshot_maybe_take(), runs before the
 * ENTRIES flush).  Folded as is, those entries would start the durable log
 * below snapshot_index + 1, which DsmDurableState forbids.  The entries the
 * snapshot covers are committed and identical to what it applied, so
 * leaving them out changes nothing else: the truncation at first_index
 * becomes one at @snapshot_index + 1, and every entry above stays.
 *
 * Returns: (transfer full) (nullable): @persist without its entries at or
 * below @snapshot_index, or NULL when it has none to leave out.
 */
DsmPersist *dsm_recovery_clip_entries (const DsmPersist *persist, guint64 snapshot_index);

G_END_DECLS
