/* storage/recover.c: the read-only half of crash recovery: list the data
 * directory, check its owner, pick where the log starts, replay segments
 * and snapshots into a DsmDurableState, and decide what is a torn tail
 * and what is corruption (docs/STORAGE.md, "Recovery"). */
#include "recover.h"

#include <string.h>

#include "error.h"
#include "layout.h"
#include "record.h"
#include "wal.h"

static void
recover_segment_free (DsmRecoverSegment *segment)
{
  if (segment == NULL)
    return;
  g_free (segment->name);
  g_free (segment);
}

void
dsm_recovery_clear (DsmRecovery *rec)
{
  g_free (rec->cluster_id);
  dsm_durable_state_clear (&rec->state);
  g_clear_pointer (&rec->segments, g_ptr_array_unref);
  g_clear_pointer (&rec->obsolete, g_ptr_array_unref);
  g_free (rec->snapshot_file);
  memset (rec, 0, sizeof *rec);
}

static void G_GNUC_PRINTF (2, 3)
report_line (GString *report, const char *format, ...)
{
  va_list args;

  if (report == NULL)
    return;
  va_start (args, format);
  g_string_append_vprintf (report, format, args);
  va_end (args);
  g_string_append_c (report, '\n');
}

/* ---- listing ---- */

typedef struct {
  GPtrArray *segments;     /* DsmRecoverSegment, sorted by first_seq */
  GPtrArray *snapshots;    /* names */
  GPtrArray *tmp;          /* names */
  gboolean has_meta;
} Listing;

static void
listing_clear (Listing *listing)
{
  g_clear_pointer (&listing->segments, g_ptr_array_unref);
  g_clear_pointer (&listing->snapshots, g_ptr_array_unref);
  g_clear_pointer (&listing->tmp, g_ptr_array_unref);
}

static gint
segment_compare (gconstpointer a, gconstpointer b)
{
  const DsmRecoverSegment *x = *(DsmRecoverSegment *const *) a;
  const DsmRecoverSegment *y = *(DsmRecoverSegment *const *) b;

  return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

static gint
name_compare (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static gboolean
list_dir (const char *dir, Listing *listing, GString *report, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GDir) handle = g_dir_open (dir, 0, &local);
  const char *name;

  if (handle == NULL)
    {
      g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  listing->segments = g_ptr_array_new_with_free_func ((GDestroyNotify) recover_segment_free);
  listing->snapshots = g_ptr_array_new_with_free_func (g_free);
  listing->tmp = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      guint64 seq = 0;

      switch (dsm_layout_parse_name (name, &seq))
        {
        case DSM_LAYOUT_META:
          listing->has_meta = TRUE;
          break;
        case DSM_LAYOUT_SEGMENT:
          {
            DsmRecoverSegment *segment = g_new0 (DsmRecoverSegment, 1);

            segment->name = g_strdup (name);
            segment->first_seq = seq;
            segment->last_seq = seq - 1;
            g_ptr_array_add (listing->segments, segment);
          }
          break;
        case DSM_LAYOUT_SNAPSHOT:
          g_ptr_array_add (listing->snapshots, g_strdup (name));
          break;
        case DSM_LAYOUT_TMP:
          g_ptr_array_add (listing->tmp, g_strdup (name));
          break;
        case DSM_LAYOUT_OTHER:
        default:
          report_line (report, "  %s: not a dsm file, ignored", name);
          break;
        }
    }
  g_ptr_array_sort (listing->segments, segment_compare);
  g_ptr_array_sort (listing->snapshots, name_compare);
  return TRUE;
}

/* ---- where the log starts ---- */

static GMappedFile *
map_file (const char *path, GError **error)
{
  g_autoptr(GError) local = NULL;
  GMappedFile *mapped = g_mapped_file_new (path, FALSE, &local);

  if (mapped == NULL)
    g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_IO, "%s", local->message);
  return mapped;
}

/* A base segment opens with a hard state, a snapshot that resets the log
 * and the live entries after it: everything before it is obsolete.  The
 * WAL deletes older segments only once such a header is durable, so a
 * header cut short is not a base (the older segments are still there). */
static gboolean
segment_is_base (const char *path, GError **error)
{
  static const DsmPersistKind header[] = {
    DSM_PERSIST_HARD_STATE, DSM_PERSIST_SNAPSHOT, DSM_PERSIST_ENTRIES,
  };
  g_autoptr(GMappedFile) mapped = map_file (path, error);
  const guint8 *data;
  gsize length;
  gsize at = 0;

  if (mapped == NULL)
    return FALSE;
  data = (const guint8 *) g_mapped_file_get_contents (mapped);
  length = g_mapped_file_get_length (mapped);
  if (length == 0)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (header); i++)
    {
      gsize record_bytes = 0;
      g_autoptr(DsmPersist) persist = dsm_record_decode (data + at, length - at, &record_bytes,
                                                         NULL, NULL);

      if (persist == NULL || persist->kind != header[i]
          || (persist->kind == DSM_PERSIST_SNAPSHOT && !persist->reset_log))
        return FALSE;
      at += record_bytes;
    }
  return TRUE;
}

/* The newest base segment, else the oldest segment. */
static gboolean
find_start (const char *dir, GPtrArray *segments, guint *start, GError **error)
{
  g_assert (segments->len > 0);
  for (guint i = segments->len; i-- > 0;)
    {
      DsmRecoverSegment *segment = segments->pdata[i];
      g_autofree char *path = g_build_filename (dir, segment->name, NULL);
      g_autoptr(GError) local = NULL;

      segment->base = segment_is_base (path, &local);
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      if (segment->base)
        {
          *start = i;
          return TRUE;
        }
    }
  *start = 0;
  return TRUE;
}

/* ---- replay ---- */

typedef struct {
  DsmRecovery *rec;
  const char *dir;
  const char *path;
  DsmRecoverSegment *segment;
  GHashTable *referenced;  /* snapshot file names the replay used */
} Replay;

static gboolean G_GNUC_PRINTF (4, 5)
corrupt (GError **error, const char *path, gsize offset, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CORRUPT, "%s: record at offset %"
               G_GSIZE_FORMAT ": %s", path, offset, text);
  return FALSE;
}

DsmPersist *
dsm_recovery_clip_entries (const DsmPersist *persist, guint64 snapshot_index)
{
  DsmPersist *clipped;

  g_return_val_if_fail (persist->kind == DSM_PERSIST_ENTRIES, NULL);
  if (persist->first_index > snapshot_index)
    return NULL;
  clipped = g_new0 (DsmPersist, 1);
  clipped->kind = DSM_PERSIST_ENTRIES;
  clipped->seq = persist->seq;
  clipped->first_index = snapshot_index + 1;
  clipped->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  for (guint i = 0; i < persist->entries->len; i++)
    {
      DsmEntry *entry = persist->entries->pdata[i];
      if (entry->index > snapshot_index)
        g_ptr_array_add (clipped->entries, dsm_entry_ref (entry));
    }
  g_assert (clipped->entries->len == 0
            || ((DsmEntry *) clipped->entries->pdata[0])->index == clipped->first_index);
  return clipped;
}

static guint64
state_last_index (const DsmDurableState *state)
{
  if (state->entries != NULL && state->entries->len > 0)
    return ((DsmEntry *) state->entries->pdata[state->entries->len - 1])->index;
  return state->snapshot_index;
}

static gboolean
replay_snapshot_ref (Replay *replay, const DsmPersist *persist, const DsmRecordInfo *info,
                     GError **error)
{
  DsmRecovery *rec = replay->rec;
  DsmPersist loaded = *persist;
  g_autoptr(GError) local = NULL;
  g_autoptr(GBytes) bytes = dsm_layout_read_snapshot (replay->dir, info->snapshot_ref,
                                                      rec->cluster_id, rec->node_id,
                                                      persist->index, persist->snapshot_epoch,
                                                      &local);

  if (bytes == NULL)
    {
      g_set_error (error, DSM_WAL_ERROR, local->code, "%s (needed by %s, record at offset %"
                   G_GSIZE_FORMAT ")", local->message, replay->path, info->offset);
      return FALSE;
    }
  loaded.snapshot = bytes;
  dsm_durable_state_apply (&rec->state, &loaded);
  g_assert (rec->state.snapshot_index == persist->index && rec->state.snapshot == bytes);
  g_hash_table_add (replay->referenced, g_strdup (info->snapshot_ref->file));
  g_free (rec->snapshot_file);
  rec->snapshot_file = g_strdup (info->snapshot_ref->file);
  return TRUE;
}

/* Folds one record, checking what a crash can never produce: a missing
 * seq, a log with a hole, an epoch going back. */
static gboolean
replay_record (const DsmPersist *persist, const DsmRecordInfo *info, gpointer user_data,
               GError **error)
{
  Replay *replay = user_data;
  DsmRecovery *rec = replay->rec;

  if (persist->seq != rec->next_seq)
    return corrupt (error, replay->path, info->offset, "seq %" G_GUINT64_FORMAT
                    ", expected %" G_GUINT64_FORMAT " (a record is missing)",
                    persist->seq, rec->next_seq);
  switch (persist->kind)
    {
    case DSM_PERSIST_HARD_STATE:
      if (persist->epoch < rec->state.epoch)
        return corrupt (error, replay->path, info->offset, "epoch %" G_GUINT64_FORMAT
                        " after epoch %" G_GUINT64_FORMAT, persist->epoch, rec->state.epoch);
      dsm_durable_state_apply (&rec->state, persist);
      g_assert (rec->state.epoch == persist->epoch);
      break;
    case DSM_PERSIST_ENTRIES:
      {
        /* Directories written before the writer clipped such records. */
        g_autoptr(DsmPersist) clipped = dsm_recovery_clip_entries (persist, rec->state.snapshot_index);

        if (persist->first_index > state_last_index (&rec->state) + 1)
          return corrupt (error, replay->path, info->offset, "entries from index %"
                          G_GUINT64_FORMAT " leave a hole after index %" G_GUINT64_FORMAT,
                          persist->first_index, state_last_index (&rec->state));
        const DsmPersist *applied = clipped != NULL ? clipped : persist;
        dsm_durable_state_apply (&rec->state, applied);
        /* The record's last entry is the log's last: a record overwrites
         * what it follows and everything after. */
        g_assert (applied->entries->len == 0
                  || rec->state.entries->pdata[rec->state.entries->len - 1]
                     == applied->entries->pdata[applied->entries->len - 1]);
      }
      break;
    case DSM_PERSIST_SNAPSHOT:
      if (info->snapshot_ref != NULL)
        {
          if (!replay_snapshot_ref (replay, persist, info, error))
            return FALSE;
        }
      else
        dsm_durable_state_apply (&rec->state, persist);
      break;
    default:
      g_assert_not_reached ();
    }
  g_assert (replay->segment->records == 0 || replay->segment->last_seq + 1 == persist->seq);
  rec->next_seq++;
  rec->records++;
  replay->segment->records++;
  replay->segment->last_seq = persist->seq;
  return TRUE;
}

static gboolean
all_zero (const guint8 *data, gsize length)
{
  for (gsize i = 0; i < length; i++)
    if (data[i] != 0)
      return FALSE;
  return TRUE;
}

static gboolean
replay_segment (Replay *replay, gboolean last, GString *report, GError **error)
{
  DsmRecoverSegment *segment = replay->segment;
  DsmRecovery *rec = replay->rec;
  g_autoptr(GMappedFile) mapped = map_file (replay->path, error);
  g_autoptr(GError) local = NULL;
  const guint8 *data;
  gboolean torn = FALSE;

  if (mapped == NULL)
    return FALSE;
  if (segment->first_seq != rec->next_seq)
    return corrupt (error, replay->path, 0, "the file name says seq %" G_GUINT64_FORMAT
                    ", the log continues at seq %" G_GUINT64_FORMAT " (a segment is missing)",
                    segment->first_seq, rec->next_seq);
  data = (const guint8 *) g_mapped_file_get_contents (mapped);
  segment->size_bytes = g_mapped_file_get_length (mapped);
  if (!dsm_record_scan (data, segment->size_bytes, replay->path, replay_record, replay,
                        &segment->valid_bytes, &torn, &local))
    {
      if (local->domain == DSM_WAL_ERROR)
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CORRUPT, "%s", local->message);
      return FALSE;
    }
  g_assert (segment->valid_bytes <= segment->size_bytes);
  g_assert (torn || segment->valid_bytes == segment->size_bytes);
  g_assert (rec->next_seq == segment->first_seq + segment->records);
  /* Nothing but zeros from the end of a record to the end of the file:
   * the space a preallocating writer fills with zeros ahead of its
   * records, in any segment.  Nothing can hide there: a record zeroed
   * in a segment that is not the last leaves a gap in the seqs, which
   * the next segment's first record shows. */
  if (torn && all_zero (data + segment->valid_bytes, segment->size_bytes - segment->valid_bytes))
    {
      segment->zero_bytes = segment->size_bytes - segment->valid_bytes;
      torn = FALSE;
    }
  if (torn && !last)
    {
      gsize record_bytes = 0;
      g_autoptr(DsmPersist) persist = dsm_record_decode (data + segment->valid_bytes,
                                                         segment->size_bytes - segment->valid_bytes,
                                                         &record_bytes, NULL, &local);
      g_assert (persist == NULL);
      return corrupt (error, replay->path, segment->valid_bytes,
                      "%s, and this is not the last segment, so not a torn tail", local->message);
    }
  report_line (report, "  %s: %" G_GSIZE_FORMAT " bytes, %u records, seq %" G_GUINT64_FORMAT
               "..%" G_GUINT64_FORMAT "%s", segment->name, segment->size_bytes,
               segment->records, segment->first_seq, segment->last_seq,
               segment->base ? ", starts from a snapshot" : "");
  if (segment->zero_bytes > 0)
    report_line (report, "  %s: %" G_GSIZE_FORMAT " bytes of zeros after the last record, at offset %"
                 G_GSIZE_FORMAT " (space written ahead, unused; open %s)",
                 segment->name, segment->zero_bytes, segment->valid_bytes,
                 segment->records > 0 ? "cuts it off" : "replaces the segment");
  if (torn)
    {
      rec->torn_bytes = segment->size_bytes - segment->valid_bytes;
      report_line (report, "  %s: torn tail: %" G_GUINT64_FORMAT " bytes at offset %" G_GSIZE_FORMAT
                   " (a write cut short by a crash; open truncates it)",
                   segment->name, rec->torn_bytes, segment->valid_bytes);
    }
  return TRUE;
}

static gboolean
replay_all (DsmRecovery *rec, const char *dir, Listing *listing, GString *report,
            GError **error)
{
  g_autoptr(GHashTable) referenced = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint start = 0;

  if (!find_start (dir, listing->segments, &start, error))
    return FALSE;
  for (guint i = 0; i < start; i++)
    {
      DsmRecoverSegment *segment = listing->segments->pdata[i];

      report_line (report, "  %s: obsolete (before the last snapshot), open removes it",
                   segment->name);
      g_ptr_array_add (rec->obsolete, g_strdup (segment->name));
    }
  DsmRecoverSegment *first = listing->segments->pdata[start];
  if (!first->base && first->first_seq != 1)
    {
      g_autofree char *path = g_build_filename (dir, first->name, NULL);

      return corrupt (error, path, 0, "the log starts at seq %" G_GUINT64_FORMAT " without a "
                      "snapshot at its head: earlier segments are missing or its header is damaged",
                      first->first_seq);
    }
  rec->next_seq = first->first_seq;
  for (guint i = start; i < listing->segments->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, ((DsmRecoverSegment *) listing->segments->pdata[i])->name, NULL);
      Replay replay = { rec, dir, path, listing->segments->pdata[i], referenced };

      if (!replay_segment (&replay, i + 1 == listing->segments->len, report, error))
        return FALSE;
    }
  for (guint i = 0; i < listing->snapshots->len; i++)
    {
      const char *name = listing->snapshots->pdata[i];

      if (g_hash_table_contains (referenced, name))
        report_line (report, "  %s: snapshot at index %" G_GUINT64_FORMAT ", %" G_GSIZE_FORMAT
                     " bytes, checksum good", name, rec->state.snapshot_index,
                     rec->state.snapshot != NULL ? g_bytes_get_size (rec->state.snapshot) : 0);
      else
        {
          report_line (report, "  %s: not referenced by the log, open removes it", name);
          g_ptr_array_add (rec->obsolete, g_strdup (name));
        }
    }
  /* Replayed segments move to the recovery, in order. */
  for (guint i = start; i < listing->segments->len; i++)
    g_ptr_array_add (rec->segments, g_steal_pointer (&listing->segments->pdata[i]));
  g_assert (rec->segments->len == listing->segments->len - start);
  return TRUE;
}

/* ---- the whole directory ---- */

static gboolean
recovery_read_owner (DsmRecovery *rec, const char *dir, const char *cluster_id,
                     DsmNodeId node_id, GString *report, GError **error)
{
  g_autofree char *path = g_build_filename (dir, DSM_LAYOUT_META_NAME, NULL);

  if (!dsm_layout_read_meta (dir, &rec->cluster_id, &rec->node_id, error))
    return FALSE;
  if (cluster_id != NULL && (strcmp (cluster_id, rec->cluster_id) != 0 || node_id != rec->node_id))
    {
      g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_FOREIGN,
                   "%s: this directory belongs to cluster \"%s\" node %u, not cluster \"%s\" node %u",
                   path, rec->cluster_id, rec->node_id, cluster_id, node_id);
      return FALSE;
    }
  report_line (report, "%s: cluster \"%s\", node %u, format %d", path, rec->cluster_id,
               rec->node_id, DSM_LAYOUT_FORMAT);
  return TRUE;
}

static void
report_state (const DsmRecovery *rec, GString *report)
{
  const DsmDurableState *state = &rec->state;
  guint n_entries = state->entries != NULL ? state->entries->len : 0;

  report_line (report, "state: epoch %" G_GUINT64_FORMAT ", voted_for %u, snapshot index %"
               G_GUINT64_FORMAT " epoch %" G_GUINT64_FORMAT ", %u entries after it (last index %"
               G_GUINT64_FORMAT "), %" G_GUINT64_FORMAT " records replayed",
               state->epoch, state->voted_for, state->snapshot_index, state->snapshot_epoch,
               n_entries, state_last_index (state), rec->records);
}

/* Every record may be intact and the log they make still not one a node
 * can restart from (an entry past the hard state's epoch): dsm_node_new()
 * would refuse it, so the directory is corrupt, and the offline check
 * says so too. */
static gboolean
recovery_check_state (const DsmRecovery *rec, const char *dir, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (dsm_durable_state_check (&rec->state, &local))
    return TRUE;
  g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CORRUPT, "%s: the log its segments hold cannot be "
               "restarted from: %s", dir, local->message);
  return FALSE;
}

gboolean
dsm_recovery_run (DsmRecovery *rec, const char *dir, const char *cluster_id,
                  DsmNodeId node_id, GString *report, GError **error)
{
  Listing listing = { NULL };
  gboolean ok = FALSE;

  g_return_val_if_fail (rec != NULL && rec->segments == NULL, FALSE);

  rec->segments = g_ptr_array_new_with_free_func ((GDestroyNotify) recover_segment_free);
  rec->obsolete = g_ptr_array_new_with_free_func (g_free);
  rec->next_seq = 1;
  if (!list_dir (dir, &listing, report, error))
    goto out;
  for (guint i = 0; i < listing.tmp->len; i++)
    {
      report_line (report, "  %s: an unfinished write, open removes it",
                   (char *) listing.tmp->pdata[i]);
      g_ptr_array_add (rec->obsolete, g_strdup (listing.tmp->pdata[i]));
    }
  if (!listing.has_meta)
    {
      if (listing.segments->len > 0 || listing.snapshots->len > 0)
        {
          g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CORRUPT,
                       "%s/%s: missing, but the directory holds WAL files", dir,
                       DSM_LAYOUT_META_NAME);
          goto out;
        }
      rec->fresh = TRUE;
      report_line (report, "%s: empty: a node would initialize it", dir);
      ok = TRUE;
      goto out;
    }
  if (!recovery_read_owner (rec, dir, cluster_id, node_id, report, error))
    goto out;
  if (listing.segments->len == 0)
    {
      if (listing.snapshots->len > 0)
        {
          g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_CORRUPT,
                       "%s/%s: a snapshot file without any segment: the log is missing", dir,
                       (char *) listing.snapshots->pdata[0]);
          goto out;
        }
      /* Meta is written first: a crash before the first segment. */
      report_line (report, "%s: no segment yet: a node would start empty", dir);
      ok = TRUE;
      goto out;
    }
  if (!replay_all (rec, dir, &listing, report, error))
    goto out;
  if (!recovery_check_state (rec, dir, error))
    goto out;
  report_state (rec, report);
  ok = TRUE;
out:
  listing_clear (&listing);
  return ok;
}
