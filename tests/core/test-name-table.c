/* tests/core/test-name-table.c: the store's table of machines by name
 * (core/name-table.h): every name found, absent ones not, each value freed
 * once, and no shard holding more than a small slice of the names, which
 * is what bounds the rehash one insert can do. */
#include "name-table.h"

static guint freed;

static void
count_free (gpointer value)
{
  freed++;
  g_free (value);
}

/* Names shaped like the benchmark's machines: wn<run>-<client>-<n>. */
static char *
bench_name (guint i)
{
  return g_strdup_printf ("wn1-%u-%u", i % 64, i);
}

static void
test_lookup_insert_free (void)
{
  const guint n = 20000;
  DsmNameTable *table = dsm_name_table_new (count_free);

  g_test_summary ("Every inserted name is found with its value, absent names are not, the size "
                  "counts the names, and freeing the table frees each value once.");
  freed = 0;
  g_assert_null (dsm_name_table_lookup (table, "wn1-0-0"));
  for (guint i = 0; i < n; i++)
    {
      /* The value owns its key, as the store's instances own their names. */
      char *name = bench_name (i);
      dsm_name_table_insert (table, name, name);
    }
  g_assert_cmpuint (dsm_name_table_size (table), ==, n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = bench_name (i);
      const char *found = dsm_name_table_lookup (table, name);
      g_assert_nonnull (found);
      g_assert_cmpstr (found, ==, name);
    }
  g_assert_null (dsm_name_table_lookup (table, "wn1-0-20000"));
  g_assert_null (dsm_name_table_lookup (table, ""));
  g_assert_cmpuint (freed, ==, 0);
  dsm_name_table_free (table);
  g_assert_cmpuint (freed, ==, n);
}

static void
test_shards_bounded (void)
{
  const guint n = 200000;
  g_autoptr(DsmNameTable) table = dsm_name_table_new (g_free);

  g_test_summary ("200,000 benchmark-shaped names spread over the shards: none holds more than "
                  "twice its even share, so no insert rehashes more than that (a single "
                  "GHashTable rehashed all of them at once at each doubling).");
  for (guint i = 0; i < n; i++)
    {
      char *name = bench_name (i);
      dsm_name_table_insert (table, name, name);
      /* Bounded at every size, not only at the end. */
      if (i == 9999 || i == n - 1)
        g_assert_cmpuint (dsm_name_table_shard_size_max (table), <=,
                          2 * (i + 1) / DSM_NAME_TABLE_SHARDS);
    }
  g_assert_cmpuint (dsm_name_table_size (table), ==, n);
}

static void
test_duplicate_aborts (void)
{
  g_test_summary ("Inserting a name already present is a bug (it would free the value its key "
                  "lives in): it aborts.");
  if (g_test_subprocess ())
    {
      g_autoptr(DsmNameTable) table = dsm_name_table_new (NULL);
      dsm_name_table_insert (table, "m", GUINT_TO_POINTER (1));
      dsm_name_table_insert (table, "m", GUINT_TO_POINTER (2));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*present*");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/name-table/lookup-insert-free", test_lookup_insert_free);
  g_test_add_func ("/core/name-table/shards-bounded", test_shards_bounded);
  g_test_add_func ("/core/name-table/duplicate-aborts", test_duplicate_aborts);
  return g_test_run ();
}
