/* sim/disk.h: one simulated node's disk: the node's persist records in the
 * real record format (core/record.h), volatile until a modelled fsync
 * completes.  A crash loses what was not synced; armed faults tear the
 * last write, lose the last fsync, or damage a synced record, and recovery
 * runs the same record scanner as the real write-ahead log.  A full disk
 * fails every fsync until it has room again. */
#pragma once

#include <glib.h>

#include "node.h"
#include "outbox.h"
#include "scenario/prng.h"
#include "scenario/scenario.h"

G_BEGIN_DECLS

typedef struct _DsmSimDisk DsmSimDisk;

DsmSimDisk *dsm_sim_disk_new (DsmNodeId id, const DsmDiskModel *model, guint64 seed);
void dsm_sim_disk_free (DsmSimDisk *disk);

/* Appends @persist's record (volatile until synced). */
void dsm_sim_disk_write (DsmSimDisk *disk, const DsmPersist *persist);

/* The seq of the last record written, and of the last one synced. */
guint64 dsm_sim_disk_get_written_seq (const DsmSimDisk *disk);
guint64 dsm_sim_disk_get_synced_seq (const DsmSimDisk *disk);

/* The index of the snapshot a crash now would recover (the last one in
 * the durable records; 0: none).  Without a disk fault armed, a restart
 * re-applies nothing at or below it. */
guint64 dsm_sim_disk_get_durable_snapshot_index (const DsmSimDisk *disk);

/* Starts an fsync covering everything written: returns how long it takes.
 * One at a time: call only when none is in flight. */
guint64 dsm_sim_disk_sync_begin (DsmSimDisk *disk, guint64 *target_seq);
gboolean dsm_sim_disk_is_syncing (const DsmSimDisk *disk);

/* The fsync begun for @target_seq completed: TRUE, or FALSE when the disk
 * was full (nothing it covered became durable; the records stay written,
 * volatile, as the real WAL keeps an undone batch in memory). */
gboolean dsm_sim_disk_sync_end (DsmSimDisk *disk, guint64 target_seq);

/* No room (@full TRUE) or room again: while full every fsync fails.  It
 * stays full across crashes and restarts. */
void dsm_sim_disk_set_full (DsmSimDisk *disk, gboolean full);
gboolean dsm_sim_disk_is_full (const DsmSimDisk *disk);

/* Arms @fault: TORN_WRITE and LOST_FSYNC act at the next crash;
 * CORRUPT_RECORD damages a synced record now (not the last one, so
 * recovery must refuse rather than mistake it for a torn tail). */
void dsm_sim_disk_set_fault (DsmSimDisk *disk, DsmDiskFault fault);

/* The node crashed: unsynced records are lost (or torn), an in-flight
 * fsync never completes.  Returns a human summary of what was lost. */
char *dsm_sim_disk_crash (DsmSimDisk *disk);

/**
 * dsm_sim_disk_recover:
 * Scans the disk as a restarting node would; a torn tail is truncated.
 * Returns: FALSE with @error when the records are corrupt (the node must
 * refuse to start).
 */
gboolean dsm_sim_disk_recover (DsmSimDisk *disk, DsmDurableState *state, GError **error);

guint64 dsm_sim_disk_get_bytes (const DsmSimDisk *disk);
guint64 dsm_sim_disk_get_fsyncs (const DsmSimDisk *disk);

G_END_DECLS
