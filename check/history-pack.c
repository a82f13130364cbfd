/* check/history-pack.c: the compact history of history-pack.h: records in
 * chunks of a fixed size (never moved, so no doubling and no copy as the
 * history grows), an op in flight whole and pointed to by its record, and the
 * rare texts (payloads, plugin outputs, reads' data) and compare-and-set
 * revisions in a table of their own. */
#include "check/history-pack.h"

/* 4,096 records of 48 bytes: 192 KiB, past malloc's mmap threshold, so a
 * chunk is pages of its own and leaves no hole among the small blocks of
 * the heap. */
#define CHUNK_RECORDS 4096u

/* Record.op_flags: the DsmOp in the low four bits, then these. */
enum {
  FLAG_LIVE = 1u << 4,            /* in flight: the record holds only the op (owned) */
  FLAG_HAS_IF_REVISION = 1u << 5,
  FLAG_EXTRA = 1u << 6,           /* texts, if_revision or wide numbers in pack->extras */
};
#define OP_MASK 0x0fu

/* Record.outcome: the DsmReplyStatus in bits 0-1, the DsmRejectReason in
 * bits 2-5, then these. */
enum {
  OUTCOME_COMPLETED = 1u << 6,
  OUTCOME_HAS_REVISION = 1u << 7,
};

G_STATIC_ASSERT (DSM_OP_N_OPS <= 16);
G_STATIC_ASSERT (DSM_REPLY_N_STATUSES <= 4);
G_STATIC_ASSERT (DSM_REJECT_N_REASONS <= 16);

/* One sealed op.  Names are DsmNames ids (0: NULL).  Numbers are 32 bits
 * (a run's virtual milliseconds, seqs and indices fit by far); an op with
 * one that does not fit keeps all of them whole in its Extra. */
typedef struct {
  union {
    struct {
      guint32 seq;
      guint32 index;
    };
    DsmHistoryOp *live;           /* FLAG_LIVE */
  };
  guint32 revision;
  guint32 invoke_ms;
  guint32 complete_ms;
  guint32 client_id;
  guint32 machine;
  guint32 definition;
  guint32 from;
  guint32 requested;
  guint32 state;
  guint16 client;
  guint8 op_flags;
  guint8 outcome;
} Record;

G_STATIC_ASSERT (sizeof (Record) == 48);

/* What few ops carry beyond the record. */
typedef struct {
  char *payload;
  char *output;
  char *data;
  guint64 if_revision;
  gboolean wide;                  /* the numbers below, not the record's, are the op's */
  guint client;
  guint64 seq;
  guint64 index;
  guint64 revision;
  guint64 invoke_ms;
  guint64 complete_ms;
} Extra;

struct _DsmHistoryPack {
  DsmNames *names;
  GPtrArray *chunks;      /* Record[CHUNK_RECORDS] each */
  guint len;
  GHashTable *extras;     /* GUINT_TO_POINTER (i) -> Extra, owned */
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
      if (r->op_flags & FLAG_LIVE)
        dsm_history_op_free (r->live);
    }
  g_hash_table_unref (pack->extras);
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
  r->op_flags = FLAG_LIVE;
  r->live = op;
}

/* The id of @name, a pointer into the pack's names (NULL: 0). */
static guint32
pack_name_id (const DsmHistoryPack *pack, const char *name)
{
  return dsm_names_id_of (pack->names, name);
}

void
dsm_history_pack_seal (DsmHistoryPack *pack, guint64 id)
{
  g_return_if_fail (pack != NULL);
  g_return_if_fail (id >= 1 && id <= pack->len);
  guint i = (guint) (id - 1);
  Record *r = pack_record (pack, i);
  g_return_if_fail (r->op_flags == FLAG_LIVE);
  g_autoptr(DsmHistoryOp) op = g_steal_pointer (&r->live);
  g_assert (op->id == id && op->names_interned);
  g_assert ((guint) op->op < DSM_OP_N_OPS && (guint) op->status < DSM_REPLY_N_STATUSES
            && (guint) op->reason < DSM_REJECT_N_REASONS);

  gboolean wide = op->client > G_MAXUINT16 || op->seq > G_MAXUINT32 || op->index > G_MAXUINT32
                  || op->revision > G_MAXUINT32 || op->invoke_ms > G_MAXUINT32 || op->complete_ms > G_MAXUINT32;
  r->seq = (guint32) op->seq;
  r->index = (guint32) op->index;
  r->revision = (guint32) op->revision;
  r->invoke_ms = (guint32) op->invoke_ms;
  r->complete_ms = (guint32) op->complete_ms;
  r->client = (guint16) op->client;
  r->client_id = pack_name_id (pack, op->client_id);
  r->machine = pack_name_id (pack, op->machine);
  r->definition = pack_name_id (pack, op->definition);
  r->from = pack_name_id (pack, op->from);
  r->requested = pack_name_id (pack, op->requested);
  r->state = pack_name_id (pack, op->state);
  r->op_flags = (guint8) op->op | (op->has_if_revision ? FLAG_HAS_IF_REVISION : 0);
  r->outcome = (guint8) ((guint) op->status | (guint) op->reason << 2 | (op->completed ? OUTCOME_COMPLETED : 0)
                         | (op->has_revision ? OUTCOME_HAS_REVISION : 0));
  if (wide || op->payload != NULL || op->output != NULL || op->data != NULL || op->if_revision != 0)
    {
      Extra *extra = g_new0 (Extra, 1);
      extra->payload = g_steal_pointer (&op->payload);
      extra->output = g_steal_pointer (&op->output);
      extra->data = g_steal_pointer (&op->data);
      extra->if_revision = op->if_revision;
      extra->wide = wide;
      extra->client = op->client;
      extra->seq = op->seq;
      extra->index = op->index;
      extra->revision = op->revision;
      extra->invoke_ms = op->invoke_ms;
      extra->complete_ms = op->complete_ms;
      g_hash_table_insert (pack->extras, GUINT_TO_POINTER (i), extra);
      r->op_flags |= FLAG_EXTRA;
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
  if (r->op_flags & FLAG_LIVE)
    return r->live;

  *scratch = (DsmHistoryOp) {
    .id = (guint64) i + 1,
    .client = r->client,
    .op = (DsmOp) (r->op_flags & OP_MASK),
    .client_id = (char *) dsm_names_get (pack->names, r->client_id),
    .seq = r->seq,
    .machine = (char *) dsm_names_get (pack->names, r->machine),
    .definition = (char *) dsm_names_get (pack->names, r->definition),
    .from = (char *) dsm_names_get (pack->names, r->from),
    .requested = (char *) dsm_names_get (pack->names, r->requested),
    .completed = (r->outcome & OUTCOME_COMPLETED) != 0,
    .status = (DsmReplyStatus) (r->outcome & 0x3u),
    .reason = (DsmRejectReason) ((r->outcome >> 2) & 0xfu),
    .has_if_revision = (r->op_flags & FLAG_HAS_IF_REVISION) != 0,
    .state = (char *) dsm_names_get (pack->names, r->state),
    .has_revision = (r->outcome & OUTCOME_HAS_REVISION) != 0,
    .names_interned = TRUE,
    .revision = r->revision,
    .index = r->index,
    .invoke_ms = r->invoke_ms,
    .complete_ms = r->complete_ms,
  };
  if (r->op_flags & FLAG_EXTRA)
    {
      const Extra *extra = g_hash_table_lookup (pack->extras, GUINT_TO_POINTER (i));
      g_assert (extra != NULL);
      scratch->payload = extra->payload;
      scratch->output = extra->output;
      scratch->data = extra->data;
      scratch->if_revision = extra->if_revision;
      if (extra->wide)
        {
          scratch->client = extra->client;
          scratch->seq = extra->seq;
          scratch->index = extra->index;
          scratch->revision = extra->revision;
          scratch->invoke_ms = extra->invoke_ms;
          scratch->complete_ms = extra->complete_ms;
        }
    }
  return scratch;
}

guint32
dsm_history_pack_get_machine (const DsmHistoryPack *pack, guint i)
{
  g_return_val_if_fail (pack != NULL, 0);
  const Record *r = pack_record (pack, i);
  if (r->op_flags & FLAG_LIVE)
    return dsm_names_id_of (pack->names, r->live->machine);
  return r->machine;
}

gsize
dsm_history_pack_get_record_bytes (const DsmHistoryPack *pack)
{
  g_return_val_if_fail (pack != NULL, 0);
  return (gsize) pack->chunks->len * CHUNK_RECORDS * sizeof (Record);
}
