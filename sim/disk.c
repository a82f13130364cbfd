/* sim/disk.c: the model disk (see disk.h).
 *
 *   write --> volatile --sync_end--> durable
 *   crash: volatile lost (TORN_WRITE: a prefix of the first volatile record
 *   survives; LOST_FSYNC: the last sync's records were never durable). */
#include "disk.h"

#include <string.h>

#include "record.h"

typedef struct {
  guint64 seq;
  gsize end;               /* offset just past the record */
} Record;

struct _DsmSimDisk {
  DsmNodeId id;
  DsmDiskModel model;
  DsmPrng prng;
  GByteArray *bytes;
  GArray *records;         /* Record, in write order */
  gsize durable_end;       /* bytes [0, durable_end) survive a crash */
  gsize previous_durable_end;
  guint64 written_seq;     /* the running node's persist seqs: they restart */
  guint64 synced_seq;      /* at 1 with each incarnation */
  gboolean syncing;
  guint64 sync_target;
  DsmDiskFault armed;
  guint64 fsyncs;
  /* The durable prefix, folded, to rewrite the log compactly once a
   * snapshot makes its start redundant. */
  DsmDurableState folded;
  GPtrArray *unsynced;     /* DsmPersist copies not yet folded */
};

static DsmPersist *
persist_copy (const DsmPersist *p)
{
  DsmPersist *copy = g_new0 (DsmPersist, 1);

  *copy = *p;
  if (p->entries != NULL)
    copy->entries = g_ptr_array_ref (p->entries);
  if (p->snapshot != NULL)
    copy->snapshot = g_bytes_ref (p->snapshot);
  return copy;
}

DsmSimDisk *
dsm_sim_disk_new (DsmNodeId id, const DsmDiskModel *model, guint64 seed)
{
  DsmSimDisk *disk = g_new0 (DsmSimDisk, 1);

  disk->id = id;
  disk->model = *model;
  dsm_prng_init (&disk->prng, seed, "disk", id);
  disk->bytes = g_byte_array_new ();
  disk->records = g_array_new (FALSE, FALSE, sizeof (Record));
  disk->unsynced = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_persist_free);
  return disk;
}

void
dsm_sim_disk_free (DsmSimDisk *disk)
{
  if (disk == NULL)
    return;
  g_byte_array_unref (disk->bytes);
  g_array_unref (disk->records);
  g_ptr_array_unref (disk->unsynced);
  dsm_durable_state_clear (&disk->folded);
  g_free (disk);
}

void
dsm_sim_disk_write (DsmSimDisk *disk, const DsmPersist *persist)
{
  dsm_record_encode (disk->bytes, persist);
  Record r = { .seq = persist->seq, .end = disk->bytes->len };
  g_array_append_val (disk->records, r);
  g_ptr_array_add (disk->unsynced, persist_copy (persist));
  disk->written_seq = persist->seq;
}

guint64
dsm_sim_disk_get_written_seq (const DsmSimDisk *disk)
{
  return disk->written_seq;
}

guint64
dsm_sim_disk_get_synced_seq (const DsmSimDisk *disk)
{
  return disk->synced_seq;
}

gboolean
dsm_sim_disk_is_syncing (const DsmSimDisk *disk)
{
  return disk->syncing;
}

guint64
dsm_sim_disk_sync_begin (DsmSimDisk *disk, guint64 *target_seq)
{
  g_assert (!disk->syncing);
  disk->syncing = TRUE;
  disk->sync_target = dsm_sim_disk_get_written_seq (disk);
  *target_seq = disk->sync_target;
  return dsm_prng_range (&disk->prng, disk->model.fsync_ms_min, disk->model.fsync_ms_max);
}

/* Rewrites the log from the folded durable state once a snapshot covers
 * its start: what a real WAL does by deleting old segments. */
static void
compact (DsmSimDisk *disk)
{
  DsmDurableState *f = &disk->folded;
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  g_autoptr(GArray) records = g_array_new (FALSE, FALSE, sizeof (Record));
  guint64 seq = disk->synced_seq;

  DsmPersist hard = { .kind = DSM_PERSIST_HARD_STATE, .seq = seq, .epoch = f->epoch, .voted_for = f->voted_for };
  dsm_record_encode (bytes, &hard);
  DsmPersist snap = {
    .kind = DSM_PERSIST_SNAPSHOT, .seq = seq, .index = f->snapshot_index,
    .snapshot_epoch = f->snapshot_epoch, .snapshot = f->snapshot, .reset_log = TRUE,
  };
  dsm_record_encode (bytes, &snap);
  if (f->entries != NULL && f->entries->len > 0)
    {
      DsmPersist entries = {
        .kind = DSM_PERSIST_ENTRIES, .seq = seq,
        .first_index = ((DsmEntry *) f->entries->pdata[0])->index, .entries = f->entries,
      };
      dsm_record_encode (bytes, &entries);
    }
  Record r = { .seq = seq, .end = bytes->len };
  g_array_append_val (records, r);

  /* Carry the volatile tail over unchanged. */
  gsize tail = disk->bytes->len - disk->durable_end;
  gsize shift = bytes->len;
  g_byte_array_append (bytes, disk->bytes->data + disk->durable_end, (guint) tail);
  for (guint i = 0; i < disk->records->len; i++)
    {
      Record old = g_array_index (disk->records, Record, i);
      if (old.end > disk->durable_end)
        {
          old.end = old.end - disk->durable_end + shift;
          g_array_append_val (records, old);
        }
    }
  g_byte_array_unref (disk->bytes);
  disk->bytes = g_steal_pointer (&bytes);
  g_array_unref (disk->records);
  disk->records = g_steal_pointer (&records);
  disk->durable_end = shift;
  disk->previous_durable_end = shift;
}

void
dsm_sim_disk_sync_end (DsmSimDisk *disk, guint64 target_seq)
{
  g_assert (disk->syncing && disk->sync_target == target_seq);
  disk->syncing = FALSE;
  disk->fsyncs++;
  disk->previous_durable_end = disk->durable_end;
  /* Records already durable may carry an earlier incarnation's seqs. */
  for (guint i = 0; i < disk->records->len; i++)
    {
      Record *r = &g_array_index (disk->records, Record, i);
      if (r->end > disk->durable_end && r->seq <= target_seq)
        disk->durable_end = r->end;
    }
  disk->synced_seq = MAX (disk->synced_seq, target_seq);

  gboolean snapshot = FALSE;
  guint folded = 0;
  for (; folded < disk->unsynced->len; folded++)
    {
      DsmPersist *p = disk->unsynced->pdata[folded];
      if (p->seq > target_seq)
        break;
      dsm_durable_state_apply (&disk->folded, p);
      snapshot = snapshot || p->kind == DSM_PERSIST_SNAPSHOT;
    }
  g_ptr_array_remove_range (disk->unsynced, 0, folded);
  if (snapshot && disk->armed == DSM_DISK_FAULT_NONE)
    compact (disk);
}

void
dsm_sim_disk_set_fault (DsmSimDisk *disk, DsmDiskFault fault)
{
  if (fault != DSM_DISK_FAULT_CORRUPT_RECORD)
    {
      disk->armed = fault;
      return;
    }
  /* Damage a byte inside a synced record that is not the last one. */
  guint n = 0;
  while (n < disk->records->len && g_array_index (disk->records, Record, n).end <= disk->durable_end)
    n++;
  if (n < 2)
    return; /* nothing that is not the tail */
  guint victim = (guint) dsm_prng_range (&disk->prng, 0, n - 2);
  gsize start = victim == 0 ? 0 : g_array_index (disk->records, Record, victim - 1).end;
  gsize end = g_array_index (disk->records, Record, victim).end;
  gsize at = dsm_prng_range (&disk->prng, start + DSM_RECORD_HEADER_BYTES, end - 1);
  disk->bytes->data[at] ^= 0x20;
  disk->armed = DSM_DISK_FAULT_CORRUPT_RECORD;
}

char *
dsm_sim_disk_crash (DsmSimDisk *disk)
{
  gsize keep = disk->durable_end;
  const char *what = "unsynced writes lost";

  if (disk->armed == DSM_DISK_FAULT_LOST_FSYNC)
    {
      keep = disk->previous_durable_end;
      what = "the last fsync was lost";
    }
  else if (disk->armed == DSM_DISK_FAULT_TORN_WRITE && disk->bytes->len > keep)
    {
      gsize next_end = disk->bytes->len;
      for (guint i = 0; i < disk->records->len; i++)
        if (g_array_index (disk->records, Record, i).end > keep)
          {
            next_end = g_array_index (disk->records, Record, i).end;
            break;
          }
      keep += dsm_prng_range (&disk->prng, 1, next_end - keep - 1);
      what = "the first unsynced write was torn";
    }
  gsize lost = disk->bytes->len - keep;
  g_byte_array_set_size (disk->bytes, (guint) keep);
  guint n = 0;
  while (n < disk->records->len && g_array_index (disk->records, Record, n).end <= keep)
    n++;
  g_array_set_size (disk->records, n);
  disk->durable_end = MIN (disk->durable_end, keep);
  disk->previous_durable_end = MIN (disk->previous_durable_end, keep);
  disk->syncing = FALSE;
  g_ptr_array_set_size (disk->unsynced, 0);
  if (disk->armed != DSM_DISK_FAULT_CORRUPT_RECORD)
    disk->armed = DSM_DISK_FAULT_NONE;
  return g_strdup_printf ("%s (%" G_GSIZE_FORMAT " bytes)", what, lost);
}

static gboolean
recover_fold (const DsmPersist *persist, const DsmRecordInfo *info, gpointer user_data, GError **error)
{
  dsm_durable_state_apply (user_data, persist);
  return TRUE;
}

gboolean
dsm_sim_disk_recover (DsmSimDisk *disk, DsmDurableState *state, GError **error)
{
  gsize valid = 0;
  gboolean torn = FALSE;
  g_autofree char *where = g_strdup_printf ("node %u disk", disk->id);

  memset (state, 0, sizeof *state);
  if (!dsm_record_scan (disk->bytes->data, disk->bytes->len, where, recover_fold, state, &valid, &torn, error))
    {
      dsm_durable_state_clear (state);
      return FALSE;
    }
  /* A torn tail is cut off, as the real WAL truncates its last segment. */
  g_byte_array_set_size (disk->bytes, (guint) valid);
  guint n = 0;
  while (n < disk->records->len && g_array_index (disk->records, Record, n).end <= valid)
    n++;
  g_array_set_size (disk->records, n);
  disk->durable_end = valid;
  disk->previous_durable_end = valid;
  disk->written_seq = 0;
  disk->synced_seq = 0;
  /* The folded copy starts again from what survived. */
  dsm_durable_state_clear (&disk->folded);
  disk->folded = *state;
  if (state->snapshot != NULL)
    g_bytes_ref (state->snapshot);
  disk->folded.entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  for (guint i = 0; state->entries != NULL && i < state->entries->len; i++)
    g_ptr_array_add (disk->folded.entries, dsm_entry_ref (state->entries->pdata[i]));
  return TRUE;
}

guint64
dsm_sim_disk_get_bytes (const DsmSimDisk *disk)
{
  return disk->bytes->len;
}

guint64
dsm_sim_disk_get_fsyncs (const DsmSimDisk *disk)
{
  return disk->fsyncs;
}
