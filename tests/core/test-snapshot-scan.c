/* tests/core/test-snapshot-scan.c: the snapshot reader that skips the
 * JSON tree (core/snapshot-scan.c) reads every snapshot dsm writes, and
 * a store restored through it equals the one written; whatever else it
 * declines, so the full reader's answers and errors stand. */
#include <string.h>

#include "config.h"
#include "error.h"
#include "snapshot-scan.h"
#include "store.h"

typedef struct {
  guint headers, machines, sessions, results;
} Counts;

static gboolean
count_header (const DsmSnapshotHeader *header, gpointer data)
{
  ((Counts *) data)->headers++;
  return header->membership_length > 0 && header->definitions_length > 0;
}

static gboolean
count_machine (const char *name, const char *def, const char *state, guint64 index,
               const char *payload, gpointer data)
{
  ((Counts *) data)->machines++;
  return name != NULL && def != NULL && state != NULL;
}

static gboolean
count_session (const char *client_id, guint64 last_index, gpointer data)
{
  ((Counts *) data)->sessions++;
  return client_id != NULL;
}

static gboolean
count_result (const DsmSnapshotResult *result, gpointer data)
{
  ((Counts *) data)->results++;
  return result->status != NULL && result->reason != NULL;
}

static const DsmSnapshotScanFuncs count_funcs = {
  count_header, count_machine, count_session, count_result,
};

/* Entry @index: machine @machine to @to for client @client (NULL: none),
 * with @payload (NULL: none); the apply must succeed (any outcome). */
static void
apply (DsmStore *store, guint64 index, const char *machine, const char *to, const char *client,
       guint64 seq, const char *payload)
{
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = (char *) machine, .to = (char *) to,
                     .client_id = (char *) client, .seq = seq, .payload = (char *) payload };
  g_autoptr(DsmEntry) entry = dsm_entry_new (index, 1, DSM_ENTRY_COMMAND, &cmd);
  DsmApplyResult result;
  g_autoptr(GError) error = NULL;

  g_assert_true (dsm_store_apply (store, entry, &result, &error));
  g_assert_no_error (error);
  dsm_apply_result_clear (&result);
}

/* A store with machines with and without data, sessions of several
 * clients with ok and rejected results, written as a snapshot. */
static GBytes *
sample_snapshot_of (DsmConfig *config, guint *n_machines)
{
  static const char *const cycle[] = { "Running", "Stopped", "Init", "Bogus" };
  g_autoptr(DsmStore) store = dsm_store_new (config);
  guint64 index = 0;

  for (guint i = 0; i < 60; i++)
    {
      g_autofree char *machine = g_strdup_printf ("m\xc3\xa9-%u", i % 17);
      g_autofree char *client = g_strdup_printf ("client \"%u\"", i % 5);
      apply (store, ++index, machine, cycle[i % 4], i % 3 == 0 ? NULL : client, i + 1,
             i % 4 == 1 ? "{\"k\":\"v\\n\",\"n\":1}" : NULL);
    }
  *n_machines = dsm_store_get_n_machines (store);
  return dsm_store_snapshot (store);
}

static GBytes *
sample_snapshot (DsmConfig *config)
{
  guint n_machines;

  return sample_snapshot_of (config, &n_machines);
}

static void
assert_restores_alike (DsmConfig *config, GBytes *snapshot, GBytes *expected)
{
  g_autoptr(DsmStore) restored = dsm_store_new (config);
  g_autoptr(GError) error = NULL;

  g_assert_true (dsm_store_restore (restored, snapshot, &error));
  g_assert_no_error (error);
  g_autoptr(GBytes) again = dsm_store_snapshot (restored);
  g_assert_cmpmem (g_bytes_get_data (again, NULL), g_bytes_get_size (again),
                   g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));
}

/* How often @word occurs in the @size bytes of @text. */
static guint
occurrences (const char *text, gsize size, const char *word)
{
  guint n = 0;

  for (const char *at = text; (at = g_strstr_len (at, (gssize) (text + size - at), word)) != NULL; at++)
    n++;
  return n;
}

static void
test_reads_what_dsm_writes (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (1);
  guint n_machines = 0;
  g_autoptr(GBytes) snapshot = sample_snapshot_of (config, &n_machines);
  Counts counts = { 0 };
  gsize size = 0;
  const char *text = g_bytes_get_data (snapshot, &size);

  g_test_summary ("A snapshot as the store writes it (escaped and non-ASCII names, machine data, "
                  "sessions with ok and rejected results) is read whole without a JSON tree, and "
                  "the store restored from it writes the same bytes.");
  g_assert_true (dsm_snapshot_scan (text, size, &count_funcs, &counts));
  g_assert_cmpuint (counts.headers, ==, 1);
  g_assert_cmpuint (counts.machines, ==, n_machines);
  g_assert_cmpuint (counts.machines, >, 10);
  g_assert_cmpuint (counts.sessions, ==, occurrences (text, size, "{\"client_id\":"));
  g_assert_cmpuint (counts.sessions, ==, 5);
  g_assert_cmpuint (counts.results, >, 5);
  assert_restores_alike (config, snapshot, snapshot);
}

static void
test_reads_every_result_field (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (1);
  g_autoptr(GBytes) snapshot = sample_snapshot (config);
  g_autofree char *text = g_strndup (g_bytes_get_data (snapshot, NULL), g_bytes_get_size (snapshot));
  Counts counts = { 0 };

  g_test_summary ("A session result's optional member and output (membership changes, plugins' "
                  "answers) are read and written back in place.");
  /* The last result of the last session (an ok transition, with a
   * revision) gains both, where the writer puts them. */
  char *end = strrchr (text, '}');
  char *revision = g_strrstr (text, ",\"revision\":");
  g_assert_nonnull (end);
  g_assert_nonnull (revision);
  g_assert_true (end - text > 4 && strncmp (end - 4, "}]}]}", 5) == 0);
  g_assert_null (strchr (revision, '{'));
  g_autofree char *edited = g_strdup_printf ("%.*s,\"member\":7%.*s,\"output\":\"{\\\"x\\\":1}\"}]}]}",
                                             (int) (revision - text), text,
                                             (int) (end - 4 - revision), revision);
  g_autoptr(GBytes) bytes = g_bytes_new (edited, strlen (edited));
  g_assert_true (dsm_snapshot_scan (edited, strlen (edited), &count_funcs, &counts));
  assert_restores_alike (config, bytes, bytes);
}

/* @text with the first @from replaced by @to. */
static GBytes *
edit (const char *text, const char *from, const char *to)
{
  const char *at = strstr (text, from);

  g_assert_nonnull (at);
  g_autofree char *out = g_strdup_printf ("%.*s%s%s", (int) (at - text), text, to, at + strlen (from));
  gsize n = strlen (out);
  return g_bytes_new_take (g_steal_pointer (&out), n);
}

static void
test_declines_other_shapes (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (1);
  g_autoptr(GBytes) snapshot = sample_snapshot (config);
  g_autofree char *text = g_strndup (g_bytes_get_data (snapshot, NULL), g_bytes_get_size (snapshot));
  g_test_summary ("Another shape of the same snapshot is restored alike: spaces the fast reader "
                  "reads, and \\u escapes and reordered keys it declines for the full reader.");
  /* Spaces between tokens: read by both. */
  g_autoptr(GBytes) spaced = edit (text, "{\"name\":", "{ \"name\" : ");
  Counts counts = { 0 };
  g_assert_true (dsm_snapshot_scan (g_bytes_get_data (spaced, NULL), g_bytes_get_size (spaced),
                                    &count_funcs, &counts));
  assert_restores_alike (config, spaced, snapshot);
  /* A \u escape, keys in another order: declined, read by the full reader. */
  const char *declined[][2] = {
    { "\"m\xc3\xa9-0\"", "\"m\\u00e9-0\"" },
    { "{\"format\":\"dsm-store-2\",\"applied_index\":", "{\"applied_index\":" },
  };
  g_autofree char *format = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (declined); i++)
    {
      g_autoptr(GBytes) bytes = edit (text, declined[i][0], declined[i][1]);
      g_autoptr(GBytes) moved = NULL;
      if (i == 1)
        {
          /* the format moves to the end */
          g_autofree char *t = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
          t[strlen (t) - 1] = '\0';
          format = g_strconcat (t, ",\"format\":\"dsm-store-2\"}", NULL);
          moved = g_bytes_new (format, strlen (format));
        }
      GBytes *variant = moved != NULL ? moved : bytes;
      g_assert_false (dsm_snapshot_scan (g_bytes_get_data (variant, NULL), g_bytes_get_size (variant),
                                         &count_funcs, &counts));
      assert_restores_alike (config, variant, snapshot);
    }
}

static void
test_errors_from_the_full_reader (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (1);
  g_autoptr(GBytes) snapshot = sample_snapshot (config);
  g_autofree char *text = g_strndup (g_bytes_get_data (snapshot, NULL), g_bytes_get_size (snapshot));
  const char *bad[][3] = {
    { "\"definition\":", "\"definition\":\"d\",\"definition\":", "duplicate" },
    { "\"state\":\"", "\"state\":\"No", "is not a state of" },
    { "\"m\xc3\xa9-1\"", "\"m\xc3\xa9-0\"", "duplicate machine" },
    { "\"status\":\"", "\"status\":\"x", "bad status" },
    { "\"applied_index\":", "\"applied_index\":-", "snapshot" },
    { "\"sessions\":[", "\"sessions\":[{\"client_id\":\"z\",\"last_index\":1,\"results\":[{\"seq\":2,"
      "\"status\":\"ok\",\"reason\":\"none\",\"index\":1},{\"seq\":2,\"status\":\"ok\","
      "\"reason\":\"none\",\"index\":1}]},", "not ascending" },
  };

  g_test_summary ("A corrupt snapshot is refused by the full reader, with its error naming what and "
                  "where, and the store is left as it was.");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GBytes) bytes = edit (text, bad[i][0], bad[i][1]);
      g_autoptr(DsmStore) store = dsm_store_new (config);
      g_autoptr(GError) error = NULL;
      Counts counts = { 0 };

      g_assert_false (dsm_snapshot_scan (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                         &count_funcs, &counts)
                      && dsm_store_restore (store, bytes, NULL));
      g_assert_false (dsm_store_restore (store, bytes, &error));
      g_assert_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, bad[i][2]));
      g_assert_cmpuint (dsm_store_get_n_machines (store), ==, 0);
    }
  /* Trailing bytes after the snapshot: the full parser's syntax error. */
  g_autofree char *trailing = g_strconcat (text, "{}", NULL);
  g_autoptr(GBytes) bytes = g_bytes_new (trailing, strlen (trailing));
  g_autoptr(DsmStore) store = dsm_store_new (config);
  g_autoptr(GError) error = NULL;
  g_assert_false (dsm_store_restore (store, bytes, &error));
  g_assert_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/snapshot-scan/reads-what-dsm-writes", test_reads_what_dsm_writes);
  g_test_add_func ("/core/snapshot-scan/reads-every-result-field", test_reads_every_result_field);
  g_test_add_func ("/core/snapshot-scan/declines-other-shapes", test_declines_other_shapes);
  g_test_add_func ("/core/snapshot-scan/errors-from-the-full-reader", test_errors_from_the_full_reader);
  return g_test_run ();
}
