/* core/record.c: persist records to and from checksummed bytes, the scan
 * that tells a torn tail from corruption, and the durable-state fold
 * (see record.h; docs/STORAGE.md, "Records"). */
#include "record.h"

#include <string.h>
#include <zlib.h>

#include "codec.h"
#include "error.h"
#include "json.h"
#include "json-write.h"

/* The largest integer every JSON implementation holds exactly. */
#define UINT_JSON_MAX (G_GUINT64_CONSTANT (1) << 53)

void
dsm_snapshot_ref_free (DsmSnapshotRef *ref)
{
  if (ref == NULL)
    return;
  g_free (ref->file);
  g_free (ref);
}

guint32
dsm_record_crc32 (const void *data, gsize length)
{
  const Bytef *p = data;
  uLong crc = crc32 (0L, Z_NULL, 0);

  /* zlib takes a uInt length: feed large buffers in pieces. */
  while (length > 0)
    {
      uInt piece = (uInt) MIN (length, (gsize) G_MAXINT32);

      crc = crc32 (crc, p, piece);
      p += piece;
      length -= piece;
    }
  return (guint32) crc;
}

static guint32
read_u32_le (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static void
write_u32_le (guint8 *p, guint32 value)
{
  p[0] = (guint8) value;
  p[1] = (guint8) (value >> 8);
  p[2] = (guint8) (value >> 16);
  p[3] = (guint8) (value >> 24);
}

void
dsm_record_frame (GByteArray *out, const void *payload, gsize length)
{
  guint8 header[DSM_RECORD_HEADER_BYTES];

  g_return_if_fail (out != NULL);
  g_return_if_fail (payload != NULL || length == 0);
  g_return_if_fail (length <= DSM_RECORD_PAYLOAD_BYTES_MAX);

  write_u32_le (header, (guint32) length);
  write_u32_le (header + 4, dsm_record_crc32 (payload, length));
  g_byte_array_append (out, header, sizeof header);
  g_byte_array_append (out, payload, (guint) length);
}

/* ------------------------------------------------------------------ */
/* Encoding                                                            */

/* By hand, not printf: a WAL writes several a batch, and printf allocated
 * a temporary string each time.  @key and @kind are our own names. */
static void
write_uint (GString *out, const char *key, guint64 value)
{
  g_assert (value <= UINT_JSON_MAX);
  DSM_JSON_APPEND_LITERAL (out, ",\"");
  dsm_json_append_str (out, key);
  DSM_JSON_APPEND_LITERAL (out, "\":");
  dsm_json_write_uint (out, value);
}

static void
write_head (GString *out, const char *kind, guint64 seq)
{
  DSM_JSON_APPEND_LITERAL (out, "{\"kind\":\"");
  dsm_json_append_str (out, kind);
  dsm_json_append_c (out, '"');
  write_uint (out, "seq", seq);
}

static void
write_snapshot_head (GString *out, const char *kind, const DsmPersist *persist)
{
  write_head (out, kind, persist->seq);
  write_uint (out, "index", persist->index);
  write_uint (out, "epoch", persist->snapshot_epoch);
  g_string_append (out, persist->reset_log ? ",\"reset_log\":true" : ",\"reset_log\":false");
}

static void
encode_payload (GString *json, const DsmPersist *persist)
{
  switch (persist->kind)
    {
    case DSM_PERSIST_HARD_STATE:
      write_head (json, "hard_state", persist->seq);
      write_uint (json, "epoch", persist->epoch);
      write_uint (json, "voted_for", persist->voted_for);
      break;
    case DSM_PERSIST_ENTRIES:
      g_assert (persist->entries != NULL);
      write_head (json, "entries", persist->seq);
      write_uint (json, "first_index", persist->first_index);
      g_string_append (json, ",\"entries\":[");
      for (guint i = 0; i < persist->entries->len; i++)
        {
          const DsmEntry *entry = persist->entries->pdata[i];

          /* Checked on encode as on decode: entries follow first_index. */
          g_assert (entry->index == persist->first_index + i);
          if (i > 0)
            g_string_append_c (json, ',');
          dsm_codec_write_entry (json, entry);
        }
      g_string_append_c (json, ']');
      break;
    case DSM_PERSIST_SNAPSHOT:
      {
        gsize size = 0;
        const guint8 *bytes;
        g_autofree char *base64 = NULL;

        g_assert (persist->snapshot != NULL);
        bytes = g_bytes_get_data (persist->snapshot, &size);
        base64 = g_base64_encode (bytes, size);
        write_snapshot_head (json, "snapshot", persist);
        g_string_append (json, ",\"data\":\"");
        g_string_append (json, base64);
        g_string_append_c (json, '"');
      }
      break;
    default:
      g_assert_not_reached ();
    }
  g_string_append_c (json, '}');
}

void
dsm_record_encode (GByteArray *out, const DsmPersist *persist)
{
  /* Entries sized in advance, as a Proposal's are (dsm_codec_encode_message()). */
  g_autoptr(GString) json = g_string_sized_new (256 + (persist != NULL && persist->kind == DSM_PERSIST_ENTRIES
                                                       ? dsm_codec_entries_size_hint (persist->entries) : 0));

  g_return_if_fail (out != NULL);
  g_return_if_fail (persist != NULL);
  g_return_if_fail (persist->first_index >= 1 || persist->kind != DSM_PERSIST_ENTRIES);

  encode_payload (json, persist);
  dsm_record_frame (out, json->str, json->len);
}

void
dsm_record_encode_snapshot_ref (GByteArray *out, const DsmPersist *persist,
                                const DsmSnapshotRef *ref)
{
  g_autoptr(GString) json = g_string_sized_new (256);

  g_return_if_fail (out != NULL);
  g_return_if_fail (persist != NULL && persist->kind == DSM_PERSIST_SNAPSHOT);
  g_return_if_fail (ref != NULL && dsm_record_file_name_is_valid (ref->file));

  write_snapshot_head (json, "snapshot_ref", persist);
  /* The name passed dsm_record_file_name_is_valid(): nothing to escape. */
  g_string_append_printf (json, ",\"file\":\"%s\"", ref->file);
  write_uint (json, "size_bytes", ref->size_bytes);
  write_uint (json, "crc32", ref->crc32);
  g_string_append_c (json, '}');
  dsm_record_frame (out, json->str, json->len);
}

gboolean
dsm_record_file_name_is_valid (const char *name)
{
  gsize length;

  if (name == NULL)
    return FALSE;
  length = strlen (name);
  if (length == 0 || length > 255 || name[0] == '.')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */

/* Every field of a record is required; paths start at "record". */
static gboolean
read_uint (const DsmJsonAt *object, const char *key, guint64 max, guint64 *out, GError **error)
{
  return dsm_json_read_uint (object, key, DSM_JSON_REQUIRED, 0, max, out, error);
}

static gboolean
decode_entries (const DsmJsonAt *object, DsmPersist *persist, GError **error)
{
  DsmJsonAt at;
  guint length = 0;

  if (!read_uint (object, "first_index", UINT_JSON_MAX, &persist->first_index, error))
    return FALSE;
  if (persist->first_index == 0)
    {
      dsm_json_at_member (&at, object, "first_index");
      return dsm_json_fail (&at, DSM_JSON_ERROR_INVALID, error, "must be at least 1");
    }
  if (!dsm_json_read_member (&at, object, "entries", DSM_JSON_REQUIRED, error)
      || !dsm_json_get_array (&at, G_MAXUINT, &length, error))
    return FALSE;
  persist->entries = g_ptr_array_new_full (length, (GDestroyNotify) dsm_entry_unref);
  for (guint i = 0; i < length; i++)
    {
      g_autofree char *where = g_strdup_printf ("record.entries[%u]", i);
      DsmJsonAt element;
      DsmEntry *entry;

      dsm_json_at_element (&element, &at, i);
      if ((entry = dsm_codec_entry_from_json (element.node, where, error)) == NULL)
        return FALSE;
      g_ptr_array_add (persist->entries, entry);
      if (entry->index != persist->first_index + i)
        return dsm_json_fail (&element, DSM_JSON_ERROR_INVALID, error,
                              "index %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
                              entry->index, persist->first_index + i);
    }
  return TRUE;
}

static gboolean
decode_snapshot (const DsmJsonAt *object, gboolean is_ref, DsmPersist *persist,
                 DsmSnapshotRef **ref, GError **error)
{
  g_autoptr(DsmSnapshotRef) out = NULL;
  const char *text = NULL;
  guint64 crc = 0;
  DsmJsonAt at;

  if (!read_uint (object, "index", UINT_JSON_MAX, &persist->index, error)
      || !read_uint (object, "epoch", UINT_JSON_MAX, &persist->snapshot_epoch, error)
      || !dsm_json_read_bool (object, "reset_log", DSM_JSON_REQUIRED, &persist->reset_log,
                              error))
    return FALSE;
  if (!is_ref)
    return dsm_json_read_member (&at, object, "data", DSM_JSON_REQUIRED, error)
           && dsm_json_get_base64 (&at, G_MAXSIZE, &persist->snapshot, error);

  out = g_new0 (DsmSnapshotRef, 1);
  if (!dsm_json_read_member (&at, object, "file", DSM_JSON_REQUIRED, error)
      || !dsm_json_get_string (&at, 0, &text, error))
    return FALSE;
  if (!dsm_record_file_name_is_valid (text))
    return dsm_json_fail (&at, DSM_JSON_ERROR_INVALID, error, "not a plain file name");
  out->file = g_strdup (text);
  if (!read_uint (object, "size_bytes", UINT_JSON_MAX, &out->size_bytes, error)
      || !read_uint (object, "crc32", G_MAXUINT32, &crc, error))
    return FALSE;
  out->crc32 = (guint32) crc;
  if (ref != NULL)
    *ref = g_steal_pointer (&out);
  return TRUE;
}

static DsmPersist *
decode_payload (const guint8 *payload, gsize length, DsmSnapshotRef **ref, GError **error)
{
  static const char *const kinds[] = { "hard_state", "entries", "snapshot", "snapshot_ref",
                                       NULL };
  g_autoptr(JsonNode) node = dsm_codec_parse ((const char *) payload, length, error);
  g_autoptr(DsmPersist) persist = g_new0 (DsmPersist, 1);
  guint64 voted_for = 0;
  guint kind = 0;
  DsmJsonAt root;
  gboolean ok;

  if (node == NULL)
    return NULL;
  dsm_json_at_root (&root, &dsm_codec_json_errors, node, "record");
  if (!dsm_json_get_object (&root, NULL, error)
      || !dsm_json_read_enum (&root, "kind", DSM_JSON_REQUIRED, kinds, &kind, error)
      || !read_uint (&root, "seq", UINT_JSON_MAX, &persist->seq, error))
    return NULL;

  switch (kind)
    {
    case 0:
      persist->kind = DSM_PERSIST_HARD_STATE;
      ok = read_uint (&root, "epoch", UINT_JSON_MAX, &persist->epoch, error)
           && read_uint (&root, "voted_for", DSM_NODE_ID_MAX, &voted_for, error);
      persist->voted_for = (DsmNodeId) voted_for;
      break;
    case 1:
      persist->kind = DSM_PERSIST_ENTRIES;
      ok = decode_entries (&root, persist, error);
      break;
    default:
      persist->kind = DSM_PERSIST_SNAPSHOT;
      ok = decode_snapshot (&root, kind == 3, persist, ref, error);
      break;
    }
  return ok ? g_steal_pointer (&persist) : NULL;
}

DsmPersist *
dsm_record_decode (const guint8 *data, gsize length, gsize *record_bytes,
                   DsmSnapshotRef **ref, GError **error)
{
  guint32 payload_bytes;
  guint32 crc;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (record_bytes != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  *record_bytes = 0;
  if (ref != NULL)
    *ref = NULL;
  if (length < DSM_RECORD_HEADER_BYTES)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_TOO_LARGE,
                   "incomplete header: %" G_GSIZE_FORMAT " of %d bytes",
                   length, DSM_RECORD_HEADER_BYTES);
      return NULL;
    }
  payload_bytes = read_u32_le (data);
  crc = read_u32_le (data + 4);
  if (payload_bytes > DSM_RECORD_PAYLOAD_BYTES_MAX)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_TOO_LARGE,
                   "absurd length %u", payload_bytes);
      return NULL;
    }
  if (payload_bytes > length - DSM_RECORD_HEADER_BYTES)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_TOO_LARGE,
                   "length %u runs past the end (%" G_GSIZE_FORMAT " bytes left)",
                   payload_bytes, length - DSM_RECORD_HEADER_BYTES);
      return NULL;
    }
  *record_bytes = DSM_RECORD_HEADER_BYTES + (gsize) payload_bytes;
  if (dsm_record_crc32 (data + DSM_RECORD_HEADER_BYTES, payload_bytes) != crc)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "checksum mismatch (length %u)", payload_bytes);
      return NULL;
    }
  return decode_payload (data + DSM_RECORD_HEADER_BYTES, payload_bytes, ref, error);
}

/* ------------------------------------------------------------------ */
/* Scanning: torn tail or corruption                                   */

/* The offset of the first non-zero byte in [from, length), or length. */
static gsize
find_nonzero (const guint8 *data, gsize from, gsize length)
{
  for (gsize i = from; i < length; i++)
    if (data[i] != 0)
      return i;
  return length;
}

/* The offset of the first position in [from, length) where a record with
 * a plausible header and a matching checksum starts, or length.  Payloads
 * are JSON objects, so only a '{' after the header is worth a checksum;
 * and JSON text holds no NUL byte, so a header (whose length field of a
 * sane size holds one) is never found inside a torn record's own payload. */
static gsize
find_valid_record (const guint8 *data, gsize from, gsize length)
{
  for (gsize at = from; at + DSM_RECORD_HEADER_BYTES < length; at++)
    {
      guint32 payload_bytes = read_u32_le (data + at);

      if (payload_bytes == 0 || payload_bytes > length - at - DSM_RECORD_HEADER_BYTES
          || data[at + DSM_RECORD_HEADER_BYTES] != '{')
        continue;
      if (dsm_record_crc32 (data + at + DSM_RECORD_HEADER_BYTES, payload_bytes)
          == read_u32_le (data + at + 4))
        return at;
    }
  return length;
}

gboolean
dsm_record_scan (const guint8 *data, gsize length, const char *where,
                 DsmRecordFunc func, gpointer user_data,
                 gsize *valid_bytes, gboolean *torn, GError **error)
{
  gsize at = 0;

  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (where != NULL, FALSE);
  g_return_val_if_fail (func != NULL, FALSE);
  g_return_val_if_fail (valid_bytes != NULL && torn != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *torn = FALSE;
  while (at < length)
    {
      g_autoptr(GError) bad = NULL;
      g_autoptr(DsmSnapshotRef) ref = NULL;
      gsize record_bytes = 0;
      g_autoptr(DsmPersist) persist = dsm_record_decode (data + at, length - at, &record_bytes,
                                                         &ref, &bad);
      DsmRecordInfo info = { at, record_bytes, ref };

      if (persist == NULL)
        {
          /* A bad record whose length we trust ends there; one whose
           * length runs past the end might be a damaged length field
           * hiding good records behind it, so look for one. */
          gsize end = record_bytes != 0 ? at + record_bytes : length;
          gsize more = find_nonzero (data, end, length);

          if (more == length && record_bytes == 0)
            more = find_valid_record (data, at + 1, length);
          *valid_bytes = at;
          if (more < length)
            {
              g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                           "%s: corrupt record at offset %" G_GSIZE_FORMAT ": %s; more data "
                           "follows at offset %" G_GSIZE_FORMAT ", so this is not a torn tail",
                           where, at, bad->message, more);
              return FALSE;
            }
          *torn = TRUE;
          return TRUE;
        }
      /* A decoded record has a length, inside what was given: else the scan would stand still or overrun. */
      g_assert (record_bytes > 0 && record_bytes <= length - at);
      if (!func (persist, &info, user_data, error))
        {
          *valid_bytes = at;
          return FALSE;
        }
      at += record_bytes;
    }
  *valid_bytes = length;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* The durable-state fold                                              */

static guint64
entry_index (const GPtrArray *entries, guint i)
{
  return ((const DsmEntry *) entries->pdata[i])->index;
}

void
dsm_durable_state_apply (DsmDurableState *state, const DsmPersist *persist)
{
  GPtrArray *entries;
  guint keep;

  g_return_if_fail (state != NULL);
  g_return_if_fail (persist != NULL);

  if (state->entries == NULL)
    state->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  entries = state->entries;
  switch (persist->kind)
    {
    case DSM_PERSIST_HARD_STATE:
      state->epoch = persist->epoch;
      state->voted_for = persist->voted_for;
      break;
    case DSM_PERSIST_ENTRIES:
      g_assert (persist->entries != NULL);
      keep = entries->len;
      while (keep > 0 && entry_index (entries, keep - 1) >= persist->first_index)
        keep--;
      g_ptr_array_remove_range (entries, keep, entries->len - keep);
      for (guint i = 0; i < persist->entries->len; i++)
        g_ptr_array_add (entries, dsm_entry_ref (persist->entries->pdata[i]));
      g_assert (keep == 0 || entry_index (entries, keep - 1) < persist->first_index);
      break;
    case DSM_PERSIST_SNAPSHOT:
      g_assert (persist->snapshot != NULL);
      g_clear_pointer (&state->snapshot, g_bytes_unref);
      state->snapshot = g_bytes_ref (persist->snapshot);
      state->snapshot_index = persist->index;
      state->snapshot_epoch = persist->snapshot_epoch;
      keep = 0;
      while (keep < entries->len
             && (persist->reset_log || entry_index (entries, keep) <= persist->index))
        keep++;
      g_ptr_array_remove_range (entries, 0, keep);
      /* What the snapshot covers is gone from the log; a reset empties it. */
      g_assert (entries->len == 0 || (!persist->reset_log && entry_index (entries, 0) > persist->index));
      break;
    default:
      g_assert_not_reached ();
    }
}

gboolean
dsm_durable_state_check (const DsmDurableState *state, GError **error)
{
  guint64 last_index, last_epoch;

  g_return_val_if_fail (state != NULL, FALSE);

  last_index = state->snapshot_index;
  last_epoch = state->snapshot_epoch;
  if (state->snapshot == NULL && state->snapshot_index != 0)
    {
      g_set_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_DURABLE_STATE,
                   "snapshot index %" G_GUINT64_FORMAT " given without a snapshot", state->snapshot_index);
      return FALSE;
    }
  for (guint i = 0; state->entries != NULL && i < state->entries->len; i++)
    {
      const DsmEntry *entry = state->entries->pdata[i];
      if (entry->index <= state->snapshot_index)
        continue;
      if (entry->index != last_index + 1 || entry->epoch < last_epoch || entry->epoch > state->epoch)
        {
          g_set_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_DURABLE_STATE,
                       "log entry %u: index %" G_GUINT64_FORMAT " epoch %" G_GUINT64_FORMAT
                       " does not follow index %" G_GUINT64_FORMAT " epoch %" G_GUINT64_FORMAT
                       " within epoch %" G_GUINT64_FORMAT,
                       i, entry->index, entry->epoch, last_index, last_epoch, state->epoch);
          return FALSE;
        }
      last_index = entry->index;
      last_epoch = entry->epoch;
    }
  return TRUE;
}
