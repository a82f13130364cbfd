/* net/backup.h: the backup file `GET /v1/snapshot` streams, `dsmctl
 * snapshot save` verifies and `dsm-node --restore` seeds a new cluster
 * from: one header line of JSON naming the snapshot's size and SHA-256,
 * then the snapshot's bytes (docs/OPERATIONS.md, "Backup and restore").
 *
 *   {"format":"dsm-backup-1","cluster_id":S,"node":N,"index":I,"epoch":E,
 *    "bytes":B,"sha256":"<64 hex>"}\n
 *   <B bytes: dsm_store_snapshot()>
 */
#pragma once

#include <glib.h>

#include "codec.h"
#include "config.h"
#include "store.h"

G_BEGIN_DECLS

#define DSM_BACKUP_FORMAT "dsm-backup-1"
/* The longest header line read, and the largest snapshot accepted: the
 * largest a store restores. */
#define DSM_BACKUP_HEADER_MAX 4096
#define DSM_BACKUP_BYTES_MAX DSM_CODEC_SNAPSHOT_BYTES_MAX

typedef struct {
  char *cluster_id;
  DsmNodeId node;            /* the node that wrote it */
  guint64 index;             /* the snapshot's applied index */
  guint64 epoch;             /* ... and epoch */
  char *sha256;              /* of the snapshot bytes, lowercase hex */
  GBytes *snapshot;          /* the snapshot bytes, verified */
} DsmBackup;

void dsm_backup_clear (DsmBackup *backup);

/**
 * dsm_backup_write:
 * Appends to @out the backup of @store (its state at its applied index),
 * written by node @node of @cluster_id.  Sets @sha256 (transfer full)
 * to the digest in its header.
 */
void dsm_backup_write (GString *out, const DsmStore *store, const char *cluster_id, DsmNodeId node,
                       char **sha256);

/**
 * dsm_backup_read:
 * @where: names the data in errors (a file name)
 *
 * Parses and verifies a backup: the header's keys and types, the size
 * and the SHA-256 of what follows.
 * Returns: FALSE with a G_FILE_ERROR_INVAL error naming @where and what
 * is wrong; @backup is then cleared.
 */
gboolean dsm_backup_read (const guint8 *data, gsize length, const char *where, DsmBackup *backup,
                          GError **error);

/**
 * dsm_backup_seed:
 * The snapshot a node of a *new* cluster starts from: @backup's machines,
 * sessions and definitions, with @config's bootstrap membership in place
 * of the old cluster's (whose addresses and ids mean nothing to the new
 * one).  Every node seeded from one backup and one config gets the same
 * bytes.  The result is checked by restoring it into a store of @config.
 *
 * Returns: (transfer full): the snapshot bytes, or NULL with @error.
 */
GBytes *dsm_backup_seed (const DsmBackup *backup, DsmConfig *config, GError **error);

/**
 * dsm_backup_restore:
 * @path: a backup file (dsmctl snapshot save)
 * @dir: a data directory that does not exist or is empty
 *
 * Verifies @path and seeds @dir for node @id of @config's new cluster:
 * its WAL holds the seeded snapshot (dsm_backup_seed) at the backup's
 * index and epoch, durably, and nothing else.  Every node of the new
 * cluster is seeded from the same file and config.
 * Returns: FALSE with @error (the file is unsound, @dir holds something,
 * a write failed); @dir may then hold a partial WAL: delete it.
 */
gboolean dsm_backup_restore (const char *path, DsmConfig *config, DsmNodeId id, const char *dir,
                             DsmBackup *backup, GError **error);

G_END_DECLS
