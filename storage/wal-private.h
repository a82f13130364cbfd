/* storage/wal-private.h: the WAL's state, shared by wal.c (the API, its
 * threads and recovery on open) and segment.c (the writer).  Internal. */
#pragma once

#include "record.h"
#include "wal.h"

G_BEGIN_DECLS

struct _DsmWal {
  char *dir;
  char *cluster_id;
  DsmNodeId node_id;
  DsmWalOptions options;
  int dir_fd;                  /* also holds the directory's flock */

  /* The caller's thread only. */
  guint64 appended_seq;
  DsmWalStats stats_view;

  GMutex lock;                 /* guards the fields down to io_lock */
  GCond idle;                  /* signalled when in_flight drops to 0 */
  GPtrArray *queue;            /* (element-type DsmPersist) appended, not yet written */
  guint64 durable_seq;
  GError *failure;             /* set once a write or sync failed; never cleared */
  guint in_flight;             /* syncs started and not finished */
  DsmWalStats stats;
  DsmPersist *deferred;        /* the newest local snapshot made durable by the log, its file not yet written */
  gboolean snapshot_writing;   /* a worker is writing deferred snapshots */

  GMutex io_lock;              /* held by the one sync writing; guards what follows */
  DsmDurableState mirror;      /* the fold of everything written, without snapshot bytes */
  GPtrArray *segments;         /* (element-type utf8) names, oldest first; the last is active */
  guint base;                  /* index in segments of the newest base segment */
  int segment_fd;              /* the active segment, -1 before the first */
  char *segment_path;
  guint64 segment_bytes;       /* its size */
  guint64 segment_header_bytes;
  guint64 next_seq;            /* of the next record written */
  char *snapshot_file;         /* the live snapshot file (nullable) */
  GPtrArray *old_snapshots;    /* (element-type utf8) to remove once a newer base is durable */
};

/* Counters one batch adds to the stats. */
typedef struct {
  guint64 fsyncs;
  guint64 records;
  guint64 bytes;
  guint64 segments_created;
  guint64 segments_deleted;
  guint64 snapshots_written;
} DsmWalCounts;

/**
 * dsm_wal_write_batch:
 * With io_lock held: writes @batch (element-type DsmPersist) to the log,
 * rotating segments and writing snapshot files as needed, then makes it
 * all durable.  On failure what was written is in an unknown state: the
 * caller stops the WAL.
 */
gboolean dsm_wal_write_batch (DsmWal *wal, GPtrArray *batch, DsmWalCounts *counts,
                              GError **error);

/**
 * dsm_wal_write_staged_snapshot:
 * With io_lock held: makes the local snapshot @persist, whose file was
 * written and synced as @dir/@staged without the lock, the new base: the
 * file renamed to its seq's name (directory synced), a base segment with
 * the entries after it, older files removed.  A snapshot that another
 * (installed or newer) already covers is dropped with its file.
 * @ref: the staged file's ref; its name is updated
 */
gboolean dsm_wal_write_staged_snapshot (DsmWal *wal, const DsmPersist *persist, const char *staged,
                                        DsmSnapshotRef *ref, DsmWalCounts *counts, GError **error);

/* With io_lock held: creates the segment at next_seq holding the current
 * hard state, and makes it durable (used by open). */
gboolean dsm_wal_start_segment (DsmWal *wal, DsmWalCounts *counts, GError **error);

/* Closes the active segment's descriptor. */
void dsm_wal_close_segment (DsmWal *wal);

G_END_DECLS
