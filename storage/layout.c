/* storage/layout.c: file names, the meta file and snapshot files of a
 * data directory (see layout.h; docs/STORAGE.md, "Directory layout"). */
#include "layout.h"

#include <errno.h>
#include <string.h>

#include "codec.h"
#include "json.h"
#include "file.h"
#include "wal.h"

#define SEQ_HEX_DIGITS 16

/* ---- names ---- */

static gboolean
parse_seq (const char *text, gsize length, guint64 *seq)
{
  guint64 value = 0;

  if (length != SEQ_HEX_DIGITS)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    {
      /* Lower case only: one number has one name. */
      if (!g_ascii_isxdigit (text[i]) || g_ascii_isupper (text[i]))
        return FALSE;
      value = (value << 4) | (guint64) g_ascii_xdigit_value (text[i]);
    }
  *seq = value;
  return value != 0;
}

static gboolean
parse_numbered (const char *name, const char *prefix, const char *suffix, guint64 *seq)
{
  gsize length = strlen (name);
  gsize prefix_length = strlen (prefix);
  gsize suffix_length = strlen (suffix);

  return length == prefix_length + SEQ_HEX_DIGITS + suffix_length
         && g_str_has_prefix (name, prefix) && g_str_has_suffix (name, suffix)
         && parse_seq (name + prefix_length, SEQ_HEX_DIGITS, seq);
}

DsmLayoutKind
dsm_layout_parse_name (const char *name, guint64 *seq)
{
  *seq = 0;
  if (strcmp (name, DSM_LAYOUT_META_NAME) == 0)
    return DSM_LAYOUT_META;
  if (g_str_has_suffix (name, ".tmp"))
    return DSM_LAYOUT_TMP;
  if (parse_numbered (name, "seg-", ".wal", seq))
    return DSM_LAYOUT_SEGMENT;
  if (parse_numbered (name, "snap-", ".snap", seq))
    return DSM_LAYOUT_SNAPSHOT;
  return DSM_LAYOUT_OTHER;
}

/* A name the writer makes must read back as the same kind and seq, or
 * recovery would ignore the file (seq 0 has no name: parse_seq). */
static char *
numbered_name (const char *prefix, guint64 seq, const char *suffix, DsmLayoutKind kind)
{
  char *name = g_strdup_printf ("%s%016" G_GINT64_MODIFIER "x%s", prefix, seq, suffix);
  guint64 back = 0;

  g_assert (seq != 0);
  g_assert (dsm_layout_parse_name (name, &back) == kind && back == seq);
  return name;
}

char *
dsm_layout_segment_name (guint64 seq)
{
  return numbered_name ("seg-", seq, ".wal", DSM_LAYOUT_SEGMENT);
}

char *
dsm_layout_snapshot_name (guint64 seq)
{
  return numbered_name ("snap-", seq, ".snap", DSM_LAYOUT_SNAPSHOT);
}

static guint32
read_u32_le (const guint8 *p)
{
  guint32 value;

  memcpy (&value, p, sizeof value);
  return GUINT32_FROM_LE (value);
}

/* ---- header fields, read with the JSON layer (core/json.h) ---- */

/* The owner fields every file header carries.  A problem is the layer's
 * message, naming the field ("node_id: expected a node id ..."). */
static gboolean
read_owner (const DsmJsonAt *root, guint64 *format, const char **cluster, DsmNodeId *node,
            GError **error)
{
  return dsm_json_get_object (root, NULL, error)
         && dsm_json_read_uint (root, "format", DSM_JSON_REQUIRED, 0, G_MAXUINT32, format, error)
         && dsm_json_read_string (root, "cluster_id", DSM_JSON_REQUIRED, 0, cluster, error)
         && dsm_json_read_node_id (root, "node_id", DSM_JSON_REQUIRED, node, error);
}

/* Checks the owner fields of the header at @root. */
static gboolean
check_owner (const DsmJsonAt *root, const char *path, const char *cluster_id,
             DsmNodeId node_id, GError **error)
{
  g_autoptr(GError) local = NULL;
  guint64 format = 0;
  DsmNodeId node = 0;
  const char *cluster = NULL;

  if (!read_owner (root, &format, &cluster, &node, &local))
    {
      g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CORRUPT, "%s: offset 0: header: %s",
                   path, local->message);
      return FALSE;
    }
  if (format != DSM_LAYOUT_FORMAT)
    {
      g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_FORMAT,
                   "%s: format %" G_GUINT64_FORMAT ", this build reads format %d",
                   path, format, DSM_LAYOUT_FORMAT);
      return FALSE;
    }
  if (cluster_id != NULL && (strcmp (cluster, cluster_id) != 0 || node != node_id))
    {
      g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_FOREIGN,
                   "%s: belongs to cluster \"%s\" node %u, not cluster \"%s\" node %u", path,
                   cluster, node, cluster_id, node_id);
      return FALSE;
    }
  return TRUE;
}

static void
write_owner (GString *json, const char *cluster_id, DsmNodeId node_id)
{
  g_string_append_printf (json, "\"format\":%d,\"cluster_id\":", DSM_LAYOUT_FORMAT);
  dsm_codec_write_string (json, cluster_id);
  g_string_append_printf (json, ",\"node_id\":%u", node_id);
}

/* ---- meta ---- */

gboolean
dsm_layout_write_meta (int dir_fd, const char *dir, const char *cluster_id,
                       DsmNodeId node_id, GError **error)
{
  g_autoptr(GString) json = g_string_new ("{");
  guint64 fsyncs = 0;

  g_assert (cluster_id != NULL && node_id != DSM_NODE_NONE);
  write_owner (json, cluster_id, node_id);
  g_string_append (json, "}\n");
  return dsm_file_write_atomic (dir_fd, dir, DSM_LAYOUT_META_NAME, json->str, json->len,
                                TRUE, &fsyncs, error);
}

gboolean
dsm_layout_read_meta (const char *dir, char **cluster_id, DsmNodeId *node_id,
                      GError **error)
{
  g_autofree char *path = g_build_filename (dir, DSM_LAYOUT_META_NAME, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) root = NULL;
  gsize length = 0;
  DsmNodeId node = 0;
  const char *cluster = NULL;
  DsmJsonAt at;

  if (!g_file_get_contents (path, &text, &length, &local))
    {
      g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  root = dsm_codec_parse (text, length, &local);
  if (root == NULL)
    {
      g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CORRUPT, "%s: not a meta file: %s",
                   path, local->message);
      return FALSE;
    }
  dsm_json_at_root (&at, NULL, root, NULL);
  if (!check_owner (&at, path, NULL, 0, error)
      || !dsm_json_read_string (&at, "cluster_id", DSM_JSON_REQUIRED, 0, &cluster, NULL)
      || !dsm_json_read_node_id (&at, "node_id", DSM_JSON_REQUIRED, &node, NULL))
    return FALSE;
  *cluster_id = g_strdup (cluster);
  *node_id = (DsmNodeId) node;
  return TRUE;
}

/* ---- snapshot files ---- */

gboolean
dsm_layout_write_snapshot (int dir_fd, const char *dir, const char *name,
                           const char *cluster_id, DsmNodeId node_id,
                           const DsmPersist *persist, gboolean sync, guint64 *fsyncs,
                           DsmSnapshotRef **ref, GError **error)
{
  g_autoptr(GString) json = g_string_new ("{\"kind\":\"snapshot_file\",");
  g_autoptr(GByteArray) head = g_byte_array_new ();
  gsize size = 0;
  const guint8 *bytes = g_bytes_get_data (persist->snapshot, &size);
  guint32 crc = dsm_record_crc32 (bytes, size);

  g_assert (persist->kind == DSM_PERSIST_SNAPSHOT);
  g_assert (cluster_id != NULL && node_id != DSM_NODE_NONE);
  g_assert (ref != NULL && *ref == NULL);
  write_owner (json, cluster_id, node_id);
  g_string_append_printf (json, ",\"index\":%" G_GUINT64_FORMAT ",\"epoch\":%" G_GUINT64_FORMAT
                          ",\"size_bytes\":%" G_GSIZE_FORMAT ",\"crc32\":%u}",
                          persist->index, persist->snapshot_epoch, size, crc);
  dsm_record_frame (head, json->str, json->len);
  if (!dsm_file_write_atomic2 (dir_fd, dir, name, head->data, head->len, bytes, size, sync, fsyncs, error))
    return FALSE;

  *ref = g_new0 (DsmSnapshotRef, 1);
  (*ref)->file = g_strdup (name);
  (*ref)->size_bytes = size;
  (*ref)->crc32 = crc;
  return TRUE;
}

static gboolean G_GNUC_PRINTF (4, 5)
snapshot_fail (GError **error, const char *path, gsize offset, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CORRUPT, "%s: offset %" G_GSIZE_FORMAT ": %s",
               path, offset, text);
  return FALSE;
}

/* Checks the header record of a snapshot file; sets *@data_offset. */
static gboolean
snapshot_check_header (const guint8 *data, gsize length, const char *path,
                       const DsmSnapshotRef *ref, const char *cluster_id, DsmNodeId node_id,
                       guint64 index, guint64 epoch, gsize *data_offset, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) root = NULL;
  DsmJsonAt at;
  guint32 header_bytes;
  guint64 file_index = 0, file_epoch = 0, size_bytes = 0, crc = 0;

  if (length < DSM_RECORD_HEADER_BYTES)
    return snapshot_fail (error, path, 0, "file of %" G_GSIZE_FORMAT " bytes has no header", length);
  header_bytes = read_u32_le (data);
  if (header_bytes > length - DSM_RECORD_HEADER_BYTES)
    return snapshot_fail (error, path, 0, "header length %u runs past the end", header_bytes);
  if (dsm_record_crc32 (data + DSM_RECORD_HEADER_BYTES, header_bytes)
      != read_u32_le (data + 4))
    return snapshot_fail (error, path, 0, "header checksum mismatch");
  root = dsm_codec_parse ((const char *) data + DSM_RECORD_HEADER_BYTES, header_bytes, &local);
  if (root == NULL)
    return snapshot_fail (error, path, DSM_RECORD_HEADER_BYTES, "header: %s", local->message);
  dsm_json_at_root (&at, NULL, root, NULL);
  if (!check_owner (&at, path, cluster_id, node_id, error))
    return FALSE;
  if (!dsm_json_read_uint (&at, "index", DSM_JSON_REQUIRED, 0, G_MAXUINT64, &file_index, &local)
      || !dsm_json_read_uint (&at, "epoch", DSM_JSON_REQUIRED, 0, G_MAXUINT64, &file_epoch,
                              &local)
      || !dsm_json_read_uint (&at, "size_bytes", DSM_JSON_REQUIRED, 0, G_MAXUINT64, &size_bytes,
                              &local)
      || !dsm_json_read_uint (&at, "crc32", DSM_JSON_REQUIRED, 0, G_MAXUINT32, &crc, &local))
    return snapshot_fail (error, path, DSM_RECORD_HEADER_BYTES, "header: %s", local->message);
  if (file_index != index || file_epoch != epoch || size_bytes != ref->size_bytes
      || crc != ref->crc32)
    return snapshot_fail (error, path, DSM_RECORD_HEADER_BYTES,
                          "holds index %" G_GUINT64_FORMAT " epoch %" G_GUINT64_FORMAT
                          " (%" G_GUINT64_FORMAT " bytes, crc32 %" G_GUINT64_FORMAT
                          "), the log expects index %" G_GUINT64_FORMAT " epoch %" G_GUINT64_FORMAT
                          " (%" G_GUINT64_FORMAT " bytes, crc32 %u)",
                          file_index, file_epoch, size_bytes, crc, index, epoch,
                          ref->size_bytes, ref->crc32);
  *data_offset = DSM_RECORD_HEADER_BYTES + header_bytes;
  g_assert (*data_offset <= length);
  return TRUE;
}

GBytes *
dsm_layout_read_snapshot (const char *dir, const DsmSnapshotRef *ref,
                          const char *cluster_id, DsmNodeId node_id,
                          guint64 index, guint64 epoch, GError **error)
{
  g_autofree char *path = g_build_filename (dir, ref->file, NULL);
  g_autoptr(GError) local = NULL;
  g_autoptr(GMappedFile) mapped = g_mapped_file_new (path, FALSE, &local);
  const guint8 *data;
  gsize length;
  gsize offset = 0;

  g_assert (ref != NULL && ref->file != NULL);
  if (mapped == NULL)
    {
      gboolean missing = g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT);

      g_set_error (error, DSM_WAL_ERROR, missing ? DSM_WAL_ERROR_CORRUPT : DSM_WAL_ERROR_IO,
                   "%s: %s", path, missing ? "missing, but the log depends on it" : local->message);
      return NULL;
    }
  data = (const guint8 *) g_mapped_file_get_contents (mapped);
  length = g_mapped_file_get_length (mapped);
  if (!snapshot_check_header (data, length, path, ref, cluster_id, node_id, index, epoch,
                              &offset, error))
    return NULL;
  if (length - offset != ref->size_bytes)
    {
      snapshot_fail (error, path, offset, "%" G_GSIZE_FORMAT " snapshot bytes, the header says %"
                     G_GUINT64_FORMAT, length - offset, ref->size_bytes);
      return NULL;
    }
  if (dsm_record_crc32 (data + offset, length - offset) != ref->crc32)
    {
      snapshot_fail (error, path, offset, "snapshot bytes do not match their checksum");
      return NULL;
    }
  return g_bytes_new (data + offset, length - offset);
}
