/* storage/wal-private.h: the WAL's state, shared by wal.c (the API and
 * recovery on open), sync.c (group commit, its threads, the deferred
 * snapshots), segment.c (the writer) and undo.c.  Internal. */
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
  GError *nospace_log;         /* the last batch did not fit: undone, back in the queue */
  GError *nospace_snapshot;    /* the deferred snapshot's file did not fit: kept in deferred */
  gint64 snapshot_retry_us;    /* monotonic: its next try, not before */
  guint in_flight;             /* syncs started and not finished */
  DsmWalStats stats;
  DsmPersist *deferred;        /* the newest local snapshot made durable by the log, its file not yet written */
  gboolean snapshot_writing;   /* a worker is writing deferred snapshots */

  /* The sync thread (dsm_wal_sync_start()), started by the first request;
   * these fields under lock too. */
  GThread *sync_thread;
  GCond sync_wanted;           /* signalled, after unlocking, for a request or the quit */
  gboolean sync_requested;     /* started, not yet taken by the thread */
  gboolean sync_running;       /* started, not yet collected */
  gboolean sync_done;          /* finished: sync_seq and sync_error wait for the collect */
  gboolean sync_quit;          /* close: the thread ends */
  guint64 sync_seq;
  GError *sync_error;
  DsmWalNotify sync_notify;
  gpointer sync_notify_data;

  GMutex io_lock;              /* held by the one sync writing; guards what follows */
  DsmDurableState mirror;      /* the fold of everything written, without snapshot bytes */
  GPtrArray *segments;         /* (element-type utf8) names, oldest first; the last is active */
  guint base;                  /* index in segments of the newest base segment */
  int segment_fd;              /* the active segment; -1 before the first, or when open
                                * could not create one for lack of space */
  char *segment_path;
  guint64 segment_bytes;       /* its records' size: where the next record goes */
  guint64 segment_file_bytes;  /* its file's size: segment_bytes, then zeros written ahead
                                * (options.preallocate_bytes) */
  guint64 segment_header_bytes;
  guint64 next_seq;            /* of the next record written */
  char *snapshot_file;         /* the live snapshot file (nullable) */
  GPtrArray *old_snapshots;    /* (element-type utf8) to remove once a newer base is durable */
};

/* Returns: (transfer full): an empty queue of DsmPersist (wal.c). */
GPtrArray *dsm_wal_queue_new (void);

/* Counters one batch adds to the stats. */
typedef struct {
  guint64 fsyncs;
  guint64 records;
  guint64 bytes;
  guint64 segments_created;
  guint64 segments_deleted;
  guint64 snapshots_written;
} DsmWalCounts;

/* What a batch may change, as it was when the batch began (undo.c). */
typedef struct {
  guint64 next_seq;
  guint n_segments;
  guint base;
  char *segment_name;          /* the active segment (nullable: none) */
  guint64 segment_bytes;
  guint64 segment_header_bytes;
  char *snapshot_file;
  guint n_old_snapshots;
  guint64 epoch;               /* the mirror's fields */
  DsmNodeId voted_for;
  guint64 snapshot_index;
  guint64 snapshot_epoch;
  guint n_entries;
  GPtrArray *entries;          /* the mirror's entries, saved before a fold first removed
                                * some (NULL: the batch only appended) */
  GPtrArray *snapshots_created;/* (element-type utf8) snapshot files the batch wrote */
} DsmWalUndo;

/* With io_lock held, at the start of a batch. */
void dsm_wal_undo_begin (DsmWal *wal, DsmWalUndo *undo);
/* Folds @persist into the mirror, saving the entries it removes first. */
void dsm_wal_undo_fold (DsmWal *wal, DsmWalUndo *undo, const DsmPersist *persist);
/* The batch wrote snapshot file @name. */
void dsm_wal_undo_created_snapshot (DsmWalUndo *undo, const char *name);
/**
 * dsm_wal_undo_apply:
 * Takes the batch back: removes the files it created (the directory
 * synced), cuts the segment it appended to back to its old size and
 * reopens it, restores the writer's state.  FALSE with @error when the
 * disk refuses even that: the caller stops the WAL.
 */
gboolean dsm_wal_undo_apply (DsmWal *wal, DsmWalUndo *undo, GError **error);
void dsm_wal_undo_clear (DsmWalUndo *undo);

/**
 * dsm_wal_write_batch:
 * With io_lock held: writes @batch (element-type DsmPersist, borrowed) to
 * the log, starting a segment first when there is no active one (at open,
 * or when open ran out of space), rotating segments and writing snapshot
 * files as needed, then makes it all durable.  On DSM_WAL_ERROR_NO_SPACE
 * the batch is undone: the files and the writer's state (mirror, names,
 * seqs) are as before it, so the same batch can be written again.  On any
 * other failure what was written is in an unknown state: the caller stops
 * the WAL.
 */
gboolean dsm_wal_write_batch (DsmWal *wal, GPtrArray *batch, DsmWalCounts *counts,
                              GError **error);

/* What a new base made obsolete, for the caller to drop once it let go
 * of io_lock: the WAL's next group commit need not wait for it. */
typedef struct {
  GPtrArray *segments;         /* (element-type utf8) older segments' names */
  GPtrArray *snapshots;        /* (element-type utf8) older snapshot files' names */
  GPtrArray *entries;          /* (element-type DsmEntry) the mirror's entries the
                                * snapshot covers, their last references */
} DsmWalLeftovers;

/* Without io_lock: removes the files (a failure to is only logged, as
 * when the batch removes them; the next open removes what is left),
 * frees the entries, and counts the segments removed in @counts. */
void dsm_wal_leftovers_drop (DsmWal *wal, DsmWalLeftovers *leftovers, DsmWalCounts *counts);

/**
 * dsm_wal_write_staged_snapshot:
 * With io_lock held: makes the local snapshot @persist, whose file was
 * written and synced as @dir/@staged without the lock, the new base: the
 * file renamed to its seq's name (directory synced), a base segment with
 * the entries after it, older files removed.  A snapshot that another
 * (installed or newer) already covers is dropped with its file.  Out of
 * space, it is undone as a batch is (the staged file is the caller's).
 * What the new base replaces goes to @leftovers (zeroed by the caller;
 * set only on success) rather than being removed and freed under the lock.
 * @ref: the staged file's ref; its name is updated
 */
gboolean dsm_wal_write_staged_snapshot (DsmWal *wal, const DsmPersist *persist, const char *staged,
                                        DsmSnapshotRef *ref, DsmWalCounts *counts,
                                        DsmWalLeftovers *leftovers, GError **error);

/* Ends the WAL's sync thread, if it was started (sync.c; close, with
 * in_flight 0). */
void dsm_wal_sync_thread_join (DsmWal *wal);

/* Closes the active segment's descriptor. */
void dsm_wal_close_segment (DsmWal *wal);

/* Cuts the active segment's zeros written ahead off (ftruncate), so a
 * segment no longer written ends with its last record. */
gboolean dsm_wal_cut_segment (DsmWal *wal, GError **error);

G_END_DECLS
