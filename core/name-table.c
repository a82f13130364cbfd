/* core/name-table.c: names spread over GHashTables by their hash, so no
 * insert rehashes more than one shard (core/name-table.h). */
#include "name-table.h"

struct _DsmNameTable {
  GHashTable *shards[DSM_NAME_TABLE_SHARDS]; /* created at their first name */
  GDestroyNotify value_free;
  guint size;
};

G_STATIC_ASSERT (DSM_NAME_TABLE_SHARDS == 256); /* name_table_shard() takes 8 bits */

/* The top bits of the string hash mixed by Fibonacci hashing: GHashTable
 * takes the hash modulo a prime, so the shard and the slot within it
 * stay independent. */
static inline guint
name_table_shard (const char *name)
{
  return (guint) ((g_str_hash (name) * 2654435769u) >> 24);
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
    g_clear_pointer (&table->shards[i], g_hash_table_unref);
  g_free (table);
}

gpointer
dsm_name_table_lookup (const DsmNameTable *table, const char *name)
{
  GHashTable *shard = table->shards[name_table_shard (name)];

  return shard != NULL ? g_hash_table_lookup (shard, name) : NULL;
}

void
dsm_name_table_insert (DsmNameTable *table, const char *name, gpointer value)
{
  GHashTable **shard = &table->shards[name_table_shard (name)];

  if (*shard == NULL)
    *shard = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, table->value_free);
  /* An insert over a present name would have freed the value its key
   * lives in. */
  gboolean added = g_hash_table_insert (*shard, (gpointer) name, value);
  g_assert (added);
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
    if (table->shards[i] != NULL)
      max = MAX (max, g_hash_table_size (table->shards[i]));
  return max;
}
