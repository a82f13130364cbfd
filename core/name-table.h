/* core/name-table.h: a string-keyed table (the store's machines by name)
 * that never rehashes all of itself at once.
 *
 * Why: a GHashTable doubles when it is 15/16 full, and rehashes every
 * entry in that one insert.  The store's table of machines did so at
 * 493,000 and 986,000 machines, 42 and 59 ms on this machine (docs/
 * BENCHMARKS.md, "The machines' table grows a slice at a time"), on every
 * node's loop at the same applied index: the benchmark's max latency at
 * 64 clients.  Here the names are spread over DSM_NAME_TABLE_SHARDS
 * shards by their hash, so each growth moves 1/256 of them, and the
 * shards grow at different moments.  A shard is an open-addressing array
 * of (hash, name, value) slots (core/name-table.c): a lookup hashes the
 * name once and reads one slot and the name it matches, where a sharded
 * GHashTable hashed it twice and read three arrays (docs/BENCHMARKS.md,
 * "The store's lookups on the simulator's hot path").
 *
 * Deterministic: the shard of a name is a function of its bytes only.
 * Names are never removed (the store forgets no machine). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DSM_NAME_TABLE_SHARDS 256

typedef struct _DsmNameTable DsmNameTable;

/* @value_free (nullable) frees a value when the table is freed.  Keys are
 * not copied: each key must live as long as its value (the store's
 * instances own their names). */
DsmNameTable *dsm_name_table_new (GDestroyNotify value_free);
void dsm_name_table_free (DsmNameTable *table);

gpointer dsm_name_table_lookup (const DsmNameTable *table, const char *name);
/* @name must not be in the table yet. */
void dsm_name_table_insert (DsmNameTable *table, const char *name, gpointer value);
guint dsm_name_table_size (const DsmNameTable *table);

/* For tests: the most names one shard holds, which bounds what one
 * insert can rehash. */
guint dsm_name_table_shard_size_max (const DsmNameTable *table);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmNameTable, dsm_name_table_free)

G_END_DECLS
