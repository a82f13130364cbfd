/* core/name-table.c: names spread over shards by their hash, so no
 * insert rehashes more than one shard (core/name-table.h). */
#include "name-table.h"

#include <string.h>

/* A shard: open addressing with linear probing over a power-of-two array
 * of slots, at most 3/4 full.  A slot keeps the name's hash beside the
 * name and the value, so a lookup reads one slot (and the name it
 * matches) instead of a GHashTable's three arrays, and a growth moves the
 * slots without hashing a name again. */
typedef struct {
  guint hash;
  const char *name; /* NULL: an empty slot */
  gpointer value;
} Slot;

typedef struct {
  Slot *slots;
  guint mask;       /* slots - 1 */
  guint n;
} Shard;

#define SHARD_SLOTS_MIN 8

struct _DsmNameTable {
  Shard shards[DSM_NAME_TABLE_SHARDS]; /* slots allocated at their first name */
  GDestroyNotify value_free;
  guint size;
};

G_STATIC_ASSERT (DSM_NAME_TABLE_SHARDS == 256); /* name_table_shard() takes 8 bits */

/* The top bits of the string hash mixed by Fibonacci hashing pick the
 * shard; its low bits, mixed by shard_first(), the first slot within it,
 * so the two stay independent. */
static inline guint
name_table_shard (guint hash)
{
  return (hash * 2654435769u) >> 24;
}

static inline guint
shard_first (const Shard *shard, guint hash)
{
  return (hash ^ (hash >> 15)) & shard->mask;
}

static void
shard_grow (Shard *shard)
{
  Shard grown = { .mask = shard->slots != NULL ? 2 * shard->mask + 1 : SHARD_SLOTS_MIN - 1,
                  .n = shard->n };

  grown.slots = g_new0 (Slot, grown.mask + 1);
  for (guint i = 0; shard->slots != NULL && i <= shard->mask; i++)
    {
      const Slot *from = &shard->slots[i];
      if (from->name == NULL)
        continue;
      guint at = shard_first (&grown, from->hash);
      while (grown.slots[at].name != NULL)
        at = (at + 1) & grown.mask;
      grown.slots[at] = *from;
    }
  g_free (shard->slots);
  *shard = grown;
}

DsmNameTable *
dsm_name_table_new (GDestroyNotify value_free)
{
  DsmNameTable *table = g_new0 (DsmNameTable, 1);

  table->value_free = value_free;
  return table;
}

void
dsm_name_table_free (DsmNameTable *table)
{
  if (table == NULL)
    return;
  for (guint i = 0; i < DSM_NAME_TABLE_SHARDS; i++)
    {
      Shard *shard = &table->shards[i];
      for (guint j = 0; shard->slots != NULL && j <= shard->mask; j++)
        if (shard->slots[j].name != NULL && table->value_free != NULL)
          table->value_free (shard->slots[j].value);
      g_free (shard->slots);
    }
  g_free (table);
}

gpointer
dsm_name_table_lookup (const DsmNameTable *table, const char *name)
{
  guint hash = g_str_hash (name);
  const Shard *shard = &table->shards[name_table_shard (hash)];

  if (shard->slots == NULL)
    return NULL;
  for (guint at = shard_first (shard, hash);; at = (at + 1) & shard->mask)
    {
      const Slot *slot = &shard->slots[at];
      if (slot->name == NULL)
        return NULL;
      if (slot->hash == hash && strcmp (slot->name, name) == 0)
        return slot->value;
    }
}

void
dsm_name_table_insert (DsmNameTable *table, const char *name, gpointer value)
{
  guint hash = g_str_hash (name);
  Shard *shard = &table->shards[name_table_shard (hash)];

  if (shard->slots == NULL || 4 * (shard->n + 1) > 3 * (shard->mask + 1))
    shard_grow (shard);
  guint at = shard_first (shard, hash);
  for (; shard->slots[at].name != NULL; at = (at + 1) & shard->mask)
    {
      /* An insert over a present name would have lost the value its key
       * lives in. */
      gboolean present = shard->slots[at].hash == hash && strcmp (shard->slots[at].name, name) == 0;
      g_assert (!present);
    }
  shard->slots[at] = (Slot) { .hash = hash, .name = name, .value = value };
  shard->n++;
  table->size++;
}

guint
dsm_name_table_size (const DsmNameTable *table)
{
  return table->size;
}

guint
dsm_name_table_shard_size_max (const DsmNameTable *table)
{
  guint max = 0;

  for (guint i = 0; i < DSM_NAME_TABLE_SHARDS; i++)
    max = MAX (max, table->shards[i].n);
  return max;
}
