/* check/history-pack.c: the compact history of history-pack.h: records in
 * chunks of a fixed size (never moved, so no doubling and no copy as the
 * history grows), an op in flight whole and pointed to by its record, and the
 * rare texts (payloads, plugin outputs, reads' data) and compare-and-set
 * revisions in a table of their own. */
#include "check/history-pack.h"

/* 4,096 records of 72 bytes: 288 KiB, past malloc's mmap threshold, so a
 * chunk is pages of its own and leaves no hole among the small blocks of
 * the heap. */
#define CHUNK_RECORDS 4096u

enum {
  FLAG_LIVE = 1u << 0,            /* in flight: the record holds only the op (owned) */
  FLAG_COMPLETED = 1u << 1,
  FLAG_HAS_IF_REVISION = 1u << 2,
  FLAG_HAS_REVISION = 1u << 3,
  FLAG_EXTRA = 1u << 4,           /* texts or if_revision in pack->extras */
};

/* One sealed op.  Names are DsmNames ids (0: NULL). */
typedef struct {
  union {
    guint64 seq;
    DsmHistoryOp *live;           /* FLAG_LIVE */
  };
  guint64 index;
  guint64 revision;
  guint64 invoke_ms;
  guint64 complete_ms;
  guint32 client;
  guint32 client_id;
  guint32 machine;
  guint32 definition;
  guint32 from;
  guint32 requested;
  guint32 state;
  guint8 op;
  guint8 status;
  guint8 reason;
  guint8 flags;
} Record;

G_STATIC_ASSERT (sizeof (Record) == 72);

/* What few ops carry beyond the record. */
typedef struct {
  char *payload;
  char *output;
  char *data;
  guint64 if_revision;
} Extra;

struct _DsmHistoryPack {
  DsmNames *names;
  GPtrArray *chunks;      /* Record[CHUNK_RECORDS] each */
  guint len;
  GHashTable *extras;     /* GUINT_TO_POINTER (i) -> Extra, owned */
  GHashTable *ids;        /* an interned name's pointer -> GUINT_TO_POINTER (its id) */
};

static void
extra_free (Extra *extra)
{
  g_free (extra->payload);
  g_free (extra->output);
  g_free (extra->data);
  g_free (extra);
}

DsmHistoryPack *
dsm_history_pack_new (DsmNames *names)
{
  DsmHistoryPack *pack = g_new0 (DsmHistoryPack, 1);

  g_return_val_if_fail (names != NULL, NULL);
  pack->names = names;
  pack->chunks = g_ptr_array_new_with_free_func (g_free);
  pack->extras = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) extra_free);
  pack->ids = g_hash_table_new (g_direct_hash, g_direct_equal);
  return pack;
}

void
dsm_history_pack_free (DsmHistoryPack *pack)
{
  if (pack == NULL)
    return;
  for (guint i = 0; i < pack->len; i++)
    {
      Record *r = (Record *) pack->chunks->pdata[i / CHUNK_RECORDS] + i % CHUNK_RECORDS;
      if (r->flags & FLAG_LIVE)
        dsm_history_op_free (r->live);
    }
  g_hash_table_unref (pack->extras);
  g_hash_table_unref (pack->ids);
  g_ptr_array_unref (pack->chunks);
  g_free (pack);
}

static Record *
pack_record (const DsmHistoryPack *pack, guint i)
{
  g_assert (i < pack->len);
  return (Record *) pack->chunks->pdata[i / CHUNK_RECORDS] + i % CHUNK_RECORDS;
}

void
dsm_history_pack_add (DsmHistoryPack *pack, DsmHistoryOp *op)
{
  g_return_if_fail (pack != NULL);
  g_return_if_fail (op != NULL);
  g_return_if_fail (op->names_interned);
  g_return_if_fail (op->id == (guint64) pack->len + 1);
  g_assert (pack->len < G_MAXUINT - 1);

  if (pack->len % CHUNK_RECORDS == 0)
    g_ptr_array_add (pack->chunks, g_new0 (Record, CHUNK_RECORDS));
  guint i = pack->len++;
  Record *r = pack_record (pack, i);
  r->flags = FLAG_LIVE;
  r->live = op;
}

/* The id of @name, a pointer into the pack's names (NULL: 0). */
static guint32
pack_name_id (DsmHistoryPack *pack, const char *name)
{
  if (name == NULL)
    return 0;
  gpointer id = g_hash_table_lookup (pack->ids, name);
  if (id != NULL)
    return GPOINTER_TO_UINT (id);
  guint32 fresh = dsm_names_find (pack->names, name);
  /* Interned in these names, so the very same pointer comes back. */
  g_assert (fresh != 0);
  g_assert (dsm_names_get (pack->names, fresh) == name);
  g_hash_table_insert (pack->ids, (gpointer) name, GUINT_TO_POINTER (fresh));
  return fresh;
}

void
dsm_history_pack_seal (DsmHistoryPack *pack, guint64 id)
{
  g_return_if_fail (pack != NULL);
  g_return_if_fail (id >= 1 && id <= pack->len);
  guint i = (guint) (id - 1);
  Record *r = pack_record (pack, i);
  g_return_if_fail (r->flags == FLAG_LIVE);
  g_autoptr(DsmHistoryOp) op = g_steal_pointer (&r->live);
  g_assert (op->id == id && op->names_interned);
  g_assert ((guint) op->op <= G_MAXUINT8 && (guint) op->status <= G_MAXUINT8 && (guint) op->reason <= G_MAXUINT8);

  r->seq = op->seq;
  r->index = op->index;
  r->revision = op->revision;
  r->invoke_ms = op->invoke_ms;
  r->complete_ms = op->complete_ms;
  r->client = op->client;
  r->client_id = pack_name_id (pack, op->client_id);
  r->machine = pack_name_id (pack, op->machine);
  r->definition = pack_name_id (pack, op->definition);
  r->from = pack_name_id (pack, op->from);
  r->requested = pack_name_id (pack, op->requested);
  r->state = pack_name_id (pack, op->state);
  r->op = (guint8) op->op;
  r->status = (guint8) op->status;
  r->reason = (guint8) op->reason;
  r->flags = (op->completed ? FLAG_COMPLETED : 0) | (op->has_if_revision ? FLAG_HAS_IF_REVISION : 0)
             | (op->has_revision ? FLAG_HAS_REVISION : 0);
  if (op->payload != NULL || op->output != NULL || op->data != NULL || op->if_revision != 0)
    {
      Extra *extra = g_new0 (Extra, 1);
      extra->payload = g_steal_pointer (&op->payload);
      extra->output = g_steal_pointer (&op->output);
      extra->data = g_steal_pointer (&op->data);
      extra->if_revision = op->if_revision;
      g_hash_table_insert (pack->extras, GUINT_TO_POINTER (i), extra);
      r->flags |= FLAG_EXTRA;
    }
}

guint
dsm_history_pack_get_len (const DsmHistoryPack *pack)
{
  g_return_val_if_fail (pack != NULL, 0);
  return pack->len;
}

const DsmHistoryOp *
dsm_history_pack_get (const DsmHistoryPack *pack, guint i, DsmHistoryOp *scratch)
{
  g_return_val_if_fail (pack != NULL, NULL);
  g_return_val_if_fail (scratch != NULL, NULL);
  const Record *r = pack_record (pack, i);
  if (r->flags & FLAG_LIVE)
    return r->live;

  *scratch = (DsmHistoryOp) {
    .id = (guint64) i + 1,
    .client = r->client,
    .op = (DsmOp) r->op,
    .client_id = (char *) dsm_names_get (pack->names, r->client_id),
    .seq = r->seq,
    .machine = (char *) dsm_names_get (pack->names, r->machine),
    .definition = (char *) dsm_names_get (pack->names, r->definition),
    .from = (char *) dsm_names_get (pack->names, r->from),
    .requested = (char *) dsm_names_get (pack->names, r->requested),
    .completed = (r->flags & FLAG_COMPLETED) != 0,
    .status = (DsmReplyStatus) r->status,
    .reason = (DsmRejectReason) r->reason,
    .has_if_revision = (r->flags & FLAG_HAS_IF_REVISION) != 0,
    .state = (char *) dsm_names_get (pack->names, r->state),
    .has_revision = (r->flags & FLAG_HAS_REVISION) != 0,
    .names_interned = TRUE,
    .revision = r->revision,
    .index = r->index,
    .invoke_ms = r->invoke_ms,
    .complete_ms = r->complete_ms,
  };
  if (r->flags & FLAG_EXTRA)
    {
      const Extra *extra = g_hash_table_lookup (pack->extras, GUINT_TO_POINTER (i));
      g_assert (extra != NULL);
      scratch->payload = extra->payload;
      scratch->output = extra->output;
      scratch->data = extra->data;
      scratch->if_revision = extra->if_revision;
    }
  return scratch;
}

guint32
dsm_history_pack_get_machine (const DsmHistoryPack *pack, guint i)
{
  g_return_val_if_fail (pack != NULL, 0);
  const Record *r = pack_record (pack, i);
  if (r->flags & FLAG_LIVE)
    return dsm_names_find (pack->names, r->live->machine);
  return r->machine;
}

gsize
dsm_history_pack_get_record_bytes (const DsmHistoryPack *pack)
{
  g_return_val_if_fail (pack != NULL, 0);
  return (gsize) pack->chunks->len * CHUNK_RECORDS * sizeof (Record);
}
