/* storage/layout.h: the files of a data directory besides the records in
 * segments: their names, the meta file naming the directory's owner, and
 * snapshot files.  Internal to storage/; docs/STORAGE.md shows the bytes. */
#pragma once

#include <glib.h>

#include "outbox.h"
#include "record.h"
#include "types.h"

G_BEGIN_DECLS

#define DSM_LAYOUT_FORMAT 1
#define DSM_LAYOUT_META_NAME "meta.json"

typedef enum {
  DSM_LAYOUT_OTHER,      /* not ours: reported by checks, never touched */
  DSM_LAYOUT_META,
  DSM_LAYOUT_SEGMENT,    /* seg-<16 hex digits: first seq>.wal */
  DSM_LAYOUT_SNAPSHOT,   /* snap-<16 hex digits: seq of its base segment>.snap */
  DSM_LAYOUT_TMP,        /* *.tmp: a write that never completed */
} DsmLayoutKind;

/* What @name is; *@seq gets the number in a segment or snapshot name. */
DsmLayoutKind dsm_layout_parse_name (const char *name, guint64 *seq);

/* Returns: (transfer full): the file names for @seq. */
char *dsm_layout_segment_name (guint64 seq);
char *dsm_layout_snapshot_name (guint64 seq);

/* Creates @dir/meta.json atomically (tmp, fsync, rename, fsync dir). */
gboolean dsm_layout_write_meta (int dir_fd, const char *dir, const char *cluster_id,
                                DsmNodeId node_id, GError **error);

/**
 * dsm_layout_read_meta:
 * @cluster_id: (out) (transfer full)
 * Returns: FALSE with DSM_WAL_ERROR_CORRUPT (unreadable), _FORMAT (an
 * unknown format version) or _IO, naming the file.
 */
gboolean dsm_layout_read_meta (const char *dir, char **cluster_id, DsmNodeId *node_id,
                               GError **error);

/**
 * dsm_layout_write_snapshot:
 * Writes the bytes of the SNAPSHOT @persist to @dir/@name atomically, with
 * a header naming the owner and what the bytes cover.
 * @ref: (out) (transfer full): how a snapshot_ref record points at it
 */
gboolean dsm_layout_write_snapshot (int dir_fd, const char *dir, const char *name,
                                    const char *cluster_id, DsmNodeId node_id,
                                    const DsmPersist *persist, gboolean sync, guint64 *fsyncs,
                                    DsmSnapshotRef **ref, GError **error);

/**
 * dsm_layout_read_snapshot:
 * Reads and checks the snapshot @ref points at: its header, owner, the
 * (@index, @epoch) it covers, its size and checksum.
 * Returns: (transfer full): the snapshot bytes, or NULL with
 * DSM_WAL_ERROR_CORRUPT (missing, damaged or not the one expected) or
 * _FOREIGN, naming the file and the offset of what is wrong.
 */
GBytes *dsm_layout_read_snapshot (const char *dir, const DsmSnapshotRef *ref,
                                  const char *cluster_id, DsmNodeId node_id,
                                  guint64 index, guint64 epoch, GError **error);

G_END_DECLS
