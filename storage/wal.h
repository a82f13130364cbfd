/* storage/wal.h: a node's durable state on a real disk: a write-ahead log
 * of persist records in checksummed segment files, snapshot files, and
 * crash recovery.  docs/STORAGE.md describes the on-disk format.
 *
 * Threading: dsm_wal_append() only queues; a worker thread writes the
 * queue and fsyncs it (group commit: one fsync covers every record queued
 * since the last one), so the main loop never blocks on the disk.  The
 * worker is GLib's pool (dsm_wal_sync_async()) or the WAL's own sync
 * thread (dsm_wal_sync_start(), what a node uses); a small batch may also
 * be written in the caller's thread (dsm_wal_sync_inline()).
 *
 * Out of space (ENOSPC, EDQUOT, EFBIG) is not a failure: the write is
 * undone (nothing half-written stays on disk), kept, and written again by
 * the next sync; dsm_wal_get_nospace() says so meanwhile.  Any other error
 * stops the WAL for good (docs/STORAGE.md, "Out of space"). */
#pragma once

#include <gio/gio.h>

#include "node.h"
#include "outbox.h"
#include "recover.h"

G_BEGIN_DECLS

#define DSM_WAL_ERROR (dsm_wal_error_quark ())
GQuark dsm_wal_error_quark (void);

typedef enum {
  DSM_WAL_ERROR_IO,          /* the disk said no (errno in the message) */
  DSM_WAL_ERROR_CORRUPT,     /* a bad record or snapshot not at the tail: refuse to start */
  DSM_WAL_ERROR_FOREIGN,     /* the directory belongs to another cluster or node */
  DSM_WAL_ERROR_FORMAT,      /* an unknown format version */
  DSM_WAL_ERROR_CLOSED,      /* an earlier write or sync failed: the WAL takes no more work */
  DSM_WAL_ERROR_LOCKED,      /* another process has the directory open */
  DSM_WAL_ERROR_NO_SPACE,    /* out of space: the write was undone and waits for the next sync */
} DsmWalError;

/* Pass NULL for the defaults. */
typedef struct {
  guint64 segment_bytes;     /* rotate segments past this size (0: the default, 64 MiB) */
  gboolean no_sync;          /* skip fsync (benchmarks of the CPU path only; never in production) */
  guint snapshot_retry_ms;   /* after a snapshot file did not fit, the next try waits this
                              * long (0: the next sync tries again) */
  guint64 preallocate_bytes; /* grow the active segment ahead of its records in zero-filled
                              * steps of this many bytes, so most syncs overwrite and do not
                              * change the file's size (0: none, every sync appends);
                              * docs/STORAGE.md, "Preallocated segments" */
} DsmWalOptions;

/* What a node uses for DsmWalOptions.preallocate_bytes. */
#define DSM_WAL_PREALLOCATE_BYTES_DEFAULT (1024 * 1024)

/* Counters of the work appends and syncs did since dsm_wal_open() returned
 * (what open itself wrote is not counted), and what open recovered. */
typedef struct {
  guint64 fsyncs;            /* fdatasync and fsync calls, directories included */
  guint64 records_written;
  guint64 bytes_written;
  guint64 segments_created;
  guint64 segments_deleted;
  guint64 snapshots_written;
  guint64 recovered_records;
  guint64 torn_bytes_dropped;  /* at the last open */
  guint64 sync_batches;        /* number of group commits (syncs that wrote something) */
  guint64 sync_records_max;    /* largest batch, in persists */
  guint64 nospace_failures;    /* writes that failed for lack of space and were undone */
  guint64 syncs_inline;        /* syncs dsm_wal_sync_inline() ran in the caller's thread */
} DsmWalStats;

typedef struct _DsmWal DsmWal;

/**
 * dsm_wal_open:
 * Opens (creating if absent or empty) the data directory @dir for node
 * @node_id of @cluster_id, recovers what it holds into @state, and returns
 * a WAL ready for appends.  A torn tail (a partly written last record) is
 * truncated and logged with the number of bytes dropped; corruption
 * anywhere else, a bad snapshot, or a directory of another cluster or
 * node is an error naming the file and offset, and nothing is changed.
 * The directory is locked (flock) while the WAL is open.
 *
 * @options: (nullable): NULL for the defaults
 * @state: (out caller-allocates): overwritten with the recovered state
 *   (zeroed fields for a new directory); free with dsm_durable_state_clear()
 *
 * Returns: (transfer full): the WAL, or NULL with @error.
 */
DsmWal *dsm_wal_open (const char *dir, const char *cluster_id, DsmNodeId node_id,
                      const DsmWalOptions *options, DsmDurableState *state, GError **error);

/* Queues @persist (borrowed; its entries and snapshot bytes are referenced,
 * which is thread-safe: their counts are atomic) for the next sync.
 * Seqs must increase.  After a failure the WAL drops appends: the next
 * sync reports DSM_WAL_ERROR_CLOSED. */
void dsm_wal_append (DsmWal *wal, const DsmPersist *persist);

/* The seq of the last persist appended, and of the last made durable. */
guint64 dsm_wal_get_appended_seq (const DsmWal *wal);
guint64 dsm_wal_get_durable_seq (const DsmWal *wal);

/* TRUE while a sync runs in the worker. */
gboolean dsm_wal_is_syncing (const DsmWal *wal);

/**
 * dsm_wal_sync_async:
 * Writes and fsyncs everything appended so far in the worker thread.  At
 * most one sync writes at a time: a sync started while another runs waits
 * for it, then writes whatever was appended meanwhile (possibly nothing,
 * returning the durable seq at once).  The callback runs in the thread-default
 * main context of the caller; dsm_wal_sync_finish() returns the highest
 * persist seq now durable, or 0 with @error:
 * - DSM_WAL_ERROR_NO_SPACE: the disk is full; nothing of the batch was
 *   kept on disk, the batch waits at the head of the queue and the next
 *   sync writes it again (the caller decides when: a retry every second);
 * - any other code: an I/O failure, after which the WAL refuses further
 *   work (a node that cannot persist must stop).
 */
void dsm_wal_sync_async (DsmWal *wal, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data);
guint64 dsm_wal_sync_finish (DsmWal *wal, GAsyncResult *result, GError **error);

/* Called in the WAL's sync thread when a sync it was handed finished, with
 * no lock held: it should only wake the caller's loop (an eventfd write). */
typedef void (*DsmWalNotify) (gpointer user_data);

/**
 * dsm_wal_sync_start:
 * The group commit of dsm_wal_sync_async(), handed to the WAL's own sync
 * thread (started by the first call) without a GTask, a thread pool or a
 * main context between them: the request is a flag and a condition
 * variable signalled after unlocking, the answer is @notify, after which
 * the caller takes the result with dsm_wal_sync_collect().  A node's loop
 * passes a @notify that writes an eventfd its poll watches, so a sync costs
 * one wake-up each way (docs/BENCHMARKS.md, "The WAL's own thread").  At
 * most one started sync not yet collected.  Deferred snapshot files are
 * written by a thread of their own, so the next sync does not wait for them.
 */
void dsm_wal_sync_start (DsmWal *wal, DsmWalNotify notify, gpointer user_data);

/**
 * dsm_wal_sync_collect:
 * Returns: FALSE while the sync dsm_wal_sync_start() started runs (nothing
 *   is taken); TRUE once it finished: @seq and @error are then as
 *   dsm_wal_sync_finish() gives them, and another may be started.
 */
gboolean dsm_wal_sync_collect (DsmWal *wal, guint64 *seq, GError **error);

/* The same, blocking (tools and tests). */
guint64 dsm_wal_sync (DsmWal *wal, GError **error);

/**
 * dsm_wal_sync_inline:
 * The group commit in the caller's thread, when that costs nobody a wait:
 * the queue holds at most @entries_max entries and no snapshot, and no
 * sync runs in the worker.  A node whose loop is idle saves the hand-off
 * to the worker and back (docs/BENCHMARKS.md, "Where the time goes");
 * under load batches grow past @entries_max and the worker's group commit
 * takes over.
 * @seq: (out): when it ran, what dsm_wal_sync_finish() would return
 * Returns: FALSE when it declined (nothing happened: start
 *   dsm_wal_sync_async()); TRUE when it ran, then @seq and @error are as
 *   dsm_wal_sync_finish() gives them (a full disk, a failure).
 */
gboolean dsm_wal_sync_inline (DsmWal *wal, guint entries_max, guint64 *seq, GError **error);

const DsmWalStats *dsm_wal_get_stats (const DsmWal *wal);

/**
 * dsm_wal_get_nospace:
 * Whether the WAL is out of space now: the last batch, or the file of the
 * newest local snapshot, failed for lack of space and has not been
 * written since.  The next sync tries again (a snapshot file, not before
 * snapshot_retry_ms).
 * @reason: (out) (optional) (transfer full): the error text, or NULL
 */
gboolean dsm_wal_get_nospace (DsmWal *wal, char **reason);

/* Waits for running syncs, then closes the files.  Appends not yet synced
 * are dropped, as a crash would drop them.  Callbacks of syncs started
 * before still run; they must not touch @wal. */
void dsm_wal_close (DsmWal *wal);

/**
 * dsm_wal_check_dir:
 * Verifies @dir offline without changing it: meta, every segment record's
 * checksum and sequence, every snapshot; appends a human report to @report.
 * Returns: FALSE with @error on the first problem that would stop a node
 * from starting (a torn tail is reported but is not an error).
 */
gboolean dsm_wal_check_dir (const char *dir, GString *report, GError **error);

/* What dsm_wal_check_dir_with() asks of the state it recovered, before its
 * result line: FALSE with @error when a node would still refuse it (the
 * WAL cannot tell: a snapshot whose checksum holds may not restore). */
typedef gboolean (*DsmWalCheckStateFunc) (const DsmRecovery *rec, GString *report, gpointer data, GError **error);

/* dsm_wal_check_dir(), and @check (nullable) on what recovered. */
gboolean dsm_wal_check_dir_with (const char *dir, DsmWalCheckStateFunc check, gpointer data, GString *report,
                                 GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmWal, dsm_wal_close)

G_END_DECLS
