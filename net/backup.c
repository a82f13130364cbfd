/* net/backup.c: backup files (backup.h): written from a node's store,
 * read and verified, and turned into the first snapshot of a new cluster. */
#include "backup.h"

#include <string.h>

#include "codec.h"
#include "membership.h"
#include "wal.h"

void
dsm_backup_clear (DsmBackup *backup)
{
  g_clear_pointer (&backup->cluster_id, g_free);
  g_clear_pointer (&backup->sha256, g_free);
  g_clear_pointer (&backup->snapshot, g_bytes_unref);
  memset (backup, 0, sizeof *backup);
}

void
dsm_backup_write (GString *out, const DsmStore *store, const char *cluster_id, DsmNodeId node, char **sha256)
{
  g_autoptr(GBytes) snapshot = dsm_store_snapshot (store);
  gsize length = 0;
  const guint8 *data = g_bytes_get_data (snapshot, &length);
  char *digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, length);

  g_string_append_printf (out, "{\"format\":\"%s\",\"cluster_id\":", DSM_BACKUP_FORMAT);
  dsm_codec_write_string (out, cluster_id);
  g_string_append_printf (out, ",\"node\":%u,\"index\":%" G_GUINT64_FORMAT ",\"epoch\":%" G_GUINT64_FORMAT
                          ",\"bytes\":%" G_GSIZE_FORMAT ",\"sha256\":\"%s\"}\n",
                          node, dsm_store_get_applied_index (store), dsm_store_get_applied_epoch (store), length,
                          digest);
  g_string_append_len (out, (const char *) data, (gssize) length);
  *sha256 = digest;
}

static gboolean
backup_fail (GError **error, const char *where, const char *what)
{
  g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a sound %s backup: %s", where,
               DSM_BACKUP_FORMAT, what);
  return FALSE;
}

static gboolean
backup_uint (JsonObject *obj, const char *key, guint64 max, guint64 *out)
{
  JsonNode *node = json_object_get_member (obj, key);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
      || json_node_get_int (node) < 0 || (guint64) json_node_get_int (node) > max)
    return FALSE;
  *out = (guint64) json_node_get_int (node);
  return TRUE;
}

static const char *
backup_string (JsonObject *obj, const char *key)
{
  JsonNode *node = json_object_get_member (obj, key);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gboolean
dsm_backup_read (const guint8 *data, gsize length, const char *where, DsmBackup *backup, GError **error)
{
  const guint8 *newline = memchr (data, '\n', MIN (length, DSM_BACKUP_HEADER_MAX));
  g_autoptr(GError) local = NULL;
  guint64 node = 0, bytes = 0;

  memset (backup, 0, sizeof *backup);
  if (newline == NULL)
    return backup_fail (error, where, "no header line in its first 4096 bytes");
  g_autoptr(JsonNode) root = dsm_codec_parse ((const char *) data, (gsize) (newline - data), &local);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return backup_fail (error, where, "its header line is not a JSON object");
  JsonObject *obj = json_node_get_object (root);
  const char *format = backup_string (obj, "format");
  const char *cluster_id = backup_string (obj, "cluster_id");
  const char *sha256 = backup_string (obj, "sha256");
  if (g_strcmp0 (format, DSM_BACKUP_FORMAT) != 0)
    return backup_fail (error, where, "header.format is not \"" DSM_BACKUP_FORMAT "\"");
  if (cluster_id == NULL || sha256 == NULL || strlen (sha256) != 64
      || !backup_uint (obj, "node", DSM_NODE_ID_MAX, &node) || !backup_uint (obj, "index", G_MAXINT64, &backup->index)
      || !backup_uint (obj, "epoch", G_MAXINT64, &backup->epoch)
      || !backup_uint (obj, "bytes", DSM_BACKUP_BYTES_MAX, &bytes))
    return backup_fail (error, where, "its header needs cluster_id, node, index, epoch, bytes and sha256");
  const guint8 *body = newline + 1;
  gsize body_length = length - (gsize) (body - data);
  if (body_length != bytes)
    {
      g_autofree char *what = g_strdup_printf ("the header says %" G_GUINT64_FORMAT " snapshot bytes, %" G_GSIZE_FORMAT
                                               " follow (truncated or appended to)", bytes, body_length);
      return backup_fail (error, where, what);
    }
  g_autofree char *digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256, body, body_length);
  if (strcmp (digest, sha256) != 0)
    {
      g_autofree char *what = g_strdup_printf ("the snapshot's SHA-256 is %s, the header says %s (corrupt)", digest,
                                               sha256);
      return backup_fail (error, where, what);
    }
  backup->cluster_id = g_strdup (cluster_id);
  backup->node = (DsmNodeId) node;
  backup->sha256 = g_steal_pointer (&digest);
  backup->snapshot = g_bytes_new (body, body_length);
  return TRUE;
}

GBytes *
dsm_backup_seed (const DsmBackup *backup, DsmConfig *config, GError **error)
{
  gsize length = 0;
  const char *data = g_bytes_get_data (backup->snapshot, &length);
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) root = dsm_codec_parse_snapshot (data, length, &local);

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "the backup's snapshot is not a JSON object%s%s",
                   local != NULL ? ": " : "", local != NULL ? local->message : "");
      return NULL;
    }
  JsonObject *obj = json_node_get_object (root);
  /* The new cluster's members are its config's: the old ids and
   * addresses mean nothing to it (a dsm-store-1 snapshot has none and
   * restores with the bootstrap anyway). */
  if (json_object_has_member (obj, "membership"))
    {
      g_autoptr(DsmMembership) bootstrap = dsm_membership_new_bootstrap (config);
      g_autoptr(GString) text = g_string_new (NULL);
      dsm_membership_write_json (text, bootstrap);
      JsonNode *membership = dsm_codec_parse (text->str, text->len, NULL);
      g_assert (membership != NULL);
      json_object_set_member (obj, "membership", membership);
      json_object_set_int_member (obj, "membership_index", 0);
    }
  char *rewritten = json_to_string (root, FALSE);
  gsize rewritten_length = strlen (rewritten);
  g_autoptr(GBytes) candidate = g_bytes_new_take (rewritten, rewritten_length);
  g_autoptr(DsmStore) store = dsm_store_new (config);
  if (!dsm_store_restore (store, candidate, error))
    return NULL;
  if (dsm_store_get_applied_index (store) != backup->index)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "the backup's header says index %" G_GUINT64_FORMAT ", its snapshot %" G_GUINT64_FORMAT,
                   backup->index, dsm_store_get_applied_index (store));
      return NULL;
    }
  /* The store's own canonical bytes: what every node seeded alike holds. */
  return dsm_store_snapshot (store);
}

static gboolean
restore_dir_is_empty (const char *dir, GError **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);

  if (d == NULL)
    return TRUE;   /* absent: the WAL creates it */
  if (g_dir_read_name (d) != NULL)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                   "%s is not empty: a restore seeds a new node's data directory only", dir);
      return FALSE;
    }
  return TRUE;
}

gboolean
dsm_backup_restore (const char *path, DsmConfig *config, DsmNodeId id, const char *dir, DsmBackup *backup,
                    GError **error)
{
  g_autofree char *data = NULL;
  gsize length = 0;
  DsmDurableState durable = { 0 };

  memset (backup, 0, sizeof *backup);
  if (!restore_dir_is_empty (dir, error) || !g_file_get_contents (path, &data, &length, error)
      || !dsm_backup_read ((const guint8 *) data, length, path, backup, error))
    return FALSE;
  g_autoptr(GBytes) seeded = dsm_backup_seed (backup, config, error);
  if (seeded == NULL)
    return FALSE;
  DsmWal *wal = dsm_wal_open (dir, config->cluster_id, id, NULL, &durable, error);
  if (wal == NULL)
    return FALSE;
  /* A new directory: nothing recovered. */
  g_assert (durable.snapshot == NULL && durable.epoch == 0);
  dsm_durable_state_clear (&durable);
  /* The epoch the backup's state was reached in: the new cluster's first
   * election goes past it, and the snapshot's epoch stays consistent. */
  DsmPersist hard = { .kind = DSM_PERSIST_HARD_STATE, .seq = 1, .epoch = backup->epoch };
  DsmPersist snap = { .kind = DSM_PERSIST_SNAPSHOT, .seq = 2, .index = backup->index,
                      .snapshot_epoch = backup->epoch, .snapshot = seeded, .reset_log = TRUE };
  dsm_wal_append (wal, &hard);
  dsm_wal_append (wal, &snap);
  guint64 durable_seq = dsm_wal_sync (wal, error);
  dsm_wal_close (wal);
  return durable_seq == 2;
}
