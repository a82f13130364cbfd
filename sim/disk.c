/* sim/disk.c: the model disk (see disk.h).
 *
 *   write --> volatile --sync_end--> durable (unless the disk is full:
 *   then the sync fails and the records stay volatile)
 *   crash: volatile lost (TORN_WRITE: a prefix of the first volatile record
 *   survives; LOST_FSYNC: the last sync's records were never durable).
 *
 * Records are kept as the persist requests themselves; their bytes (the
 * real record format) are made only once a fault damages the disk, and
 * from then on recovery runs the real record scanner over them.  An
 * undamaged disk recovers by folding its durable records, which is what
 * the scanner would return for their bytes (tests/sim/test-disk.c,
 * /sim/disk/fold-equals-scanner, checks that).
 *
 * Once a snapshot is durable the records it covers are compacted away,
 * one fsync later: the last fsync's records stay apart, so a LOST_FSYNC
 * armed afterwards can still lose exactly them. */
#include "disk.h"

#include <string.h>

#include "record.h"

struct _DsmSimDisk {
  DsmNodeId id;
  DsmDiskModel model;
  DsmPrng prng;
  GPtrArray *records;       /* DsmPersist copies, in write order */
  guint n_durable;          /* records[0, n_durable) survive a crash */
  guint n_durable_before;   /* n_durable before the last completed sync */
  guint64 written_seq;      /* the running node's persist seqs: they restart */
  guint64 synced_seq;       /* at 1 with each incarnation */
  gboolean syncing;
  guint64 sync_target;
  DsmDiskFault armed;
  gboolean compact_due;     /* a snapshot became durable: compact at the next fsync */
  gboolean full;            /* no room: fsyncs fail */
  guint64 fsyncs;

  /* Once damaged: the records' bytes, and where each record ends. */
  GByteArray *bytes;        /* NULL while undamaged */
  GArray *ends;             /* gsize per record */
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
  disk->records = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_persist_free);
  return disk;
}

static void
undamage (DsmSimDisk *disk)
{
  g_clear_pointer (&disk->bytes, g_byte_array_unref);
  g_clear_pointer (&disk->ends, g_array_unref);
}

void
dsm_sim_disk_free (DsmSimDisk *disk)
{
  if (disk == NULL)
    return;
  g_ptr_array_unref (disk->records);
  undamage (disk);
  g_free (disk);
}

/* Encodes every record from now on: a fault is about to touch bytes. */
static void
materialize (DsmSimDisk *disk)
{
  if (disk->bytes != NULL)
    return;
  disk->bytes = g_byte_array_new ();
  disk->ends = g_array_new (FALSE, FALSE, sizeof (gsize));
  for (guint i = 0; i < disk->records->len; i++)
    {
      dsm_record_encode (disk->bytes, disk->records->pdata[i]);
      gsize end = disk->bytes->len;
      g_array_append_val (disk->ends, end);
    }
}

static gsize
record_end (const DsmSimDisk *disk, guint n)
{
  return n == 0 ? 0 : g_array_index (disk->ends, gsize, n - 1);
}

void
dsm_sim_disk_write (DsmSimDisk *disk, const DsmPersist *persist)
{
  g_ptr_array_add (disk->records, persist_copy (persist));
  disk->written_seq = persist->seq;
  if (disk->bytes != NULL)
    {
      dsm_record_encode (disk->bytes, persist);
      gsize end = disk->bytes->len;
      g_array_append_val (disk->ends, end);
    }
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

guint64
dsm_sim_disk_get_durable_snapshot_index (const DsmSimDisk *disk)
{
  for (guint i = disk->n_durable; i-- > 0;)
    {
      const DsmPersist *p = disk->records->pdata[i];
      if (p->kind == DSM_PERSIST_SNAPSHOT)
        return p->index;
    }
  return 0;
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
  disk->sync_target = disk->written_seq;
  *target_seq = disk->sync_target;
  return dsm_prng_range (&disk->prng, disk->model.fsync_ms_min, disk->model.fsync_ms_max);
}

static void
fold (DsmDurableState *state, GPtrArray *records, guint n)
{
  memset (state, 0, sizeof *state);
  for (guint i = 0; i < n; i++)
    dsm_durable_state_apply (state, records->pdata[i]);
}

/* Once a snapshot is durable, the records before it are redundant:
 * rewrite the durable prefix as hard state, snapshot and the entries
 * after it, as a real WAL deletes old segments. */
static void
compact (DsmSimDisk *disk)
{
  DsmDurableState f;
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_persist_free);

  fold (&f, disk->records, disk->n_durable);
  DsmPersist *hard = g_new0 (DsmPersist, 1);
  *hard = (DsmPersist) { .kind = DSM_PERSIST_HARD_STATE, .seq = disk->synced_seq, .epoch = f.epoch, .voted_for = f.voted_for };
  g_ptr_array_add (records, hard);
  DsmPersist *snap = g_new0 (DsmPersist, 1);
  *snap = (DsmPersist) {
    .kind = DSM_PERSIST_SNAPSHOT, .seq = disk->synced_seq, .index = f.snapshot_index,
    .snapshot_epoch = f.snapshot_epoch, .snapshot = g_steal_pointer (&f.snapshot), .reset_log = TRUE,
  };
  g_ptr_array_add (records, snap);
  if (f.entries != NULL && f.entries->len > 0)
    {
      DsmPersist *entries = g_new0 (DsmPersist, 1);
      *entries = (DsmPersist) {
        .kind = DSM_PERSIST_ENTRIES, .seq = disk->synced_seq,
        .first_index = ((DsmEntry *) f.entries->pdata[0])->index, .entries = g_steal_pointer (&f.entries),
      };
      g_ptr_array_add (records, entries);
    }
  guint n = records->len;
  for (guint i = disk->n_durable; i < disk->records->len; i++)
    g_ptr_array_add (records, persist_copy (disk->records->pdata[i]));
  dsm_durable_state_clear (&f);
  g_ptr_array_unref (disk->records);
  disk->records = g_steal_pointer (&records);
  disk->n_durable = n;
  disk->n_durable_before = n;
}

gboolean
dsm_sim_disk_sync_end (DsmSimDisk *disk, guint64 target_seq)
{
  g_assert (disk->syncing && disk->sync_target == target_seq);
  disk->syncing = FALSE;
  if (disk->full)
    return FALSE;
  disk->fsyncs++;
  /* Compact what the fsyncs before this one made durable (a snapshot among
   * it), never the previous fsync's records alone: see the top. */
  if (disk->compact_due && disk->bytes == NULL && disk->armed == DSM_DISK_FAULT_NONE)
    {
      compact (disk);
      disk->compact_due = FALSE;
    }
  disk->n_durable_before = disk->n_durable;

  while (disk->n_durable < disk->records->len)
    {
      const DsmPersist *p = disk->records->pdata[disk->n_durable];
      if (p->seq > target_seq)
        break;
      disk->compact_due = disk->compact_due || p->kind == DSM_PERSIST_SNAPSHOT;
      disk->n_durable++;
    }
  disk->synced_seq = MAX (disk->synced_seq, target_seq);
  return TRUE;
}

void
dsm_sim_disk_set_full (DsmSimDisk *disk, gboolean full)
{
  disk->full = full;
}

gboolean
dsm_sim_disk_is_full (const DsmSimDisk *disk)
{
  return disk->full;
}

void
dsm_sim_disk_set_fault (DsmSimDisk *disk, DsmDiskFault fault)
{
  if (fault != DSM_DISK_FAULT_CORRUPT_RECORD)
    {
      disk->armed = fault;
      return;
    }
  /* Damage a byte inside a durable record that is not the last one, so
   * recovery must refuse rather than take it for a torn tail. */
  if (disk->n_durable < 2)
    return;
  materialize (disk);
  guint victim = (guint) dsm_prng_range (&disk->prng, 0, disk->n_durable - 2);
  gsize start = record_end (disk, victim), end = record_end (disk, victim + 1);
  gsize at = dsm_prng_range (&disk->prng, start + DSM_RECORD_HEADER_BYTES, end - 1);
  disk->bytes->data[at] ^= 0x20;
  disk->armed = DSM_DISK_FAULT_CORRUPT_RECORD;
}

char *
dsm_sim_disk_crash (DsmSimDisk *disk)
{
  guint keep = disk->n_durable;
  gsize torn = 0;
  const char *what = "unsynced writes lost";

  if (disk->armed == DSM_DISK_FAULT_LOST_FSYNC)
    {
      keep = disk->n_durable_before;
      what = "the last fsync was lost";
    }
  else if (disk->armed == DSM_DISK_FAULT_TORN_WRITE && keep < disk->records->len)
    {
      materialize (disk);
      torn = dsm_prng_range (&disk->prng, 1, record_end (disk, keep + 1) - record_end (disk, keep) - 1);
      what = "the first unsynced write was torn";
    }
  guint lost = disk->records->len - keep;
  g_ptr_array_set_size (disk->records, keep);
  if (disk->bytes != NULL)
    {
      g_byte_array_set_size (disk->bytes, (guint) (record_end (disk, keep) + torn));
      g_array_set_size (disk->ends, keep);
    }
  disk->n_durable = MIN (disk->n_durable, keep);
  disk->n_durable_before = MIN (disk->n_durable_before, keep);
  disk->syncing = FALSE;
  disk->compact_due = FALSE; /* the snapshot may be gone; the next one compacts */
  if (disk->armed != DSM_DISK_FAULT_CORRUPT_RECORD)
    disk->armed = DSM_DISK_FAULT_NONE;
  return g_strdup_printf ("%s (%u records%s)", what, lost, torn ? ", one of them in part" : "");
}

static gboolean
recover_fold (const DsmPersist *persist, const DsmRecordInfo *info, gpointer user_data, GError **error)
{
  GPtrArray *records = user_data;
  g_ptr_array_add (records, persist_copy (persist));
  return TRUE;
}

gboolean
dsm_sim_disk_recover (DsmSimDisk *disk, DsmDurableState *state, GError **error)
{
  memset (state, 0, sizeof *state);
  if (disk->bytes != NULL)
    {
      /* Damaged: what survives is what the real scanner makes of it. */
      gsize valid = 0;
      gboolean torn = FALSE;
      g_autofree char *where = g_strdup_printf ("node %u disk", disk->id);
      g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_persist_free);
      if (!dsm_record_scan (disk->bytes->data, disk->bytes->len, where, recover_fold, records,
                            &valid, &torn, error))
        return FALSE;
      g_ptr_array_unref (disk->records);
      disk->records = g_steal_pointer (&records);
      disk->n_durable = disk->records->len;
      undamage (disk);
      disk->armed = DSM_DISK_FAULT_NONE;
    }
  disk->n_durable_before = disk->n_durable;
  disk->written_seq = 0;
  disk->synced_seq = 0;
  fold (state, disk->records, disk->n_durable);
  return TRUE;
}

guint64
dsm_sim_disk_get_bytes (const DsmSimDisk *disk)
{
  return disk->bytes != NULL ? disk->bytes->len : 0;
}

guint64
dsm_sim_disk_get_fsyncs (const DsmSimDisk *disk)
{
  return disk->fsyncs;
}
