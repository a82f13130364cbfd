/* tests/net/test-backup.c: backup files (net/backup.h): written from a
 * store, read back verified, refused when torn, altered or malformed,
 * and seeded into a new cluster's membership. */
#include <string.h>

#include "backup.h"
#include "membership.h"

static DsmStore *
store_with_machines (DsmConfig *config)
{
  DsmStore *store = dsm_store_new (config);
  DsmApplyResult result = { 0 };
  g_autoptr(GError) error = NULL;

  for (guint i = 1; i <= 3; i++)
    {
      DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = g_strdup_printf ("m-%u", i), .to = g_strdup ("Running") };
      g_autoptr(DsmEntry) entry = dsm_entry_new (i, 1, DSM_ENTRY_COMMAND, &cmd);
      g_assert_true (dsm_store_apply (store, entry, &result, &error));
      g_assert_no_error (error);
      dsm_apply_result_clear (&result);
      dsm_command_clear (&cmd);
    }
  return store;
}

static GString *
backup_of (DsmStore *store, char **sha256)
{
  GString *out = g_string_new (NULL);

  dsm_backup_write (out, store, "dsm", 2, sha256);
  return out;
}

static void
test_round_trip (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(DsmStore) store = store_with_machines (config);
  g_autofree char *sha256 = NULL;
  g_autoptr(GString) file = backup_of (store, &sha256);
  g_autoptr(GError) error = NULL;
  DsmBackup backup = { 0 };

  g_test_summary ("A backup reads back with its header (cluster, node, index, epoch, digest) and the "
                  "snapshot restores to a store with the same digest.");
  g_assert_true (dsm_backup_read ((const guint8 *) file->str, file->len, "f", &backup, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (backup.cluster_id, ==, "dsm");
  g_assert_cmpuint (backup.node, ==, 2);
  g_assert_cmpuint (backup.index, ==, 3);
  g_assert_cmpstr (backup.sha256, ==, sha256);
  g_autoptr(DsmStore) copy = dsm_store_new (config);
  g_assert_true (dsm_store_restore (copy, backup.snapshot, &error));
  g_assert_cmpuint (dsm_store_digest (copy), ==, dsm_store_digest (store));
  dsm_backup_clear (&backup);
}

static void
test_refusals (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(DsmStore) store = store_with_machines (config);
  g_autofree char *sha256 = NULL;
  g_autoptr(GString) file = backup_of (store, &sha256);
  const char *newline = strchr (file->str, '\n');
  struct {
    const char *name;
    GString *data;
    const char *expect;
  } cases[] = {
    { "torn", g_string_new_len (file->str, (gssize) file->len - 5), "follow" },
    { "appended", g_string_append (g_string_new_len (file->str, (gssize) file->len), "x"), "follow" },
    { "altered", g_string_new_len (file->str, (gssize) file->len), "SHA-256" },
    { "no header", g_string_new ("{\"format\":\"dsm-backup-1\"}"), "no header line" },
    { "other format", g_string_new ("{\"format\":\"tar\"}\n"), "format" },
    { "header fields", g_string_new ("{\"format\":\"dsm-backup-1\",\"node\":\"x\"}\n"), "needs" },
    { "not json", g_string_new ("hello\n"), "JSON object" },
  };

  g_test_summary ("A torn, appended-to or altered backup, and a missing, foreign or malformed header, are "
                  "each refused with an error naming the file and what is wrong.");
  cases[2].data->str[(newline - file->str) + 10] ^= 0x01;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      DsmBackup backup = { 0 };
      g_assert_false (dsm_backup_read ((const guint8 *) cases[i].data->str, cases[i].data->len, "backup.dsm",
                                       &backup, &error));
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
      if (strstr (error->message, cases[i].expect) == NULL || strstr (error->message, "backup.dsm") == NULL)
        g_error ("%s: %s", cases[i].name, error->message);
      g_assert_null (backup.snapshot);
      g_string_free (cases[i].data, TRUE);
    }
}

static void
test_seed_membership (void)
{
  g_autoptr(DsmConfig) old = dsm_config_new_default (5);
  g_autoptr(DsmConfig) fresh = dsm_config_new_default (3);
  g_autoptr(DsmStore) store = store_with_machines (old);
  g_autofree char *sha256 = NULL;
  g_autoptr(GString) file = backup_of (store, &sha256);
  g_autoptr(GError) error = NULL;
  DsmBackup backup = { 0 };

  g_test_summary ("Seeding keeps the machines and takes the new config's bootstrap membership in place of the "
                  "old cluster's; two seeds of one backup are byte-identical.");
  g_assert_true (dsm_backup_read ((const guint8 *) file->str, file->len, "f", &backup, &error));
  g_autoptr(GBytes) a = dsm_backup_seed (&backup, fresh, &error);
  g_assert_no_error (error);
  g_autoptr(GBytes) b = dsm_backup_seed (&backup, fresh, &error);
  g_assert_true (g_bytes_equal (a, b));
  g_autoptr(DsmStore) seeded = dsm_store_new (fresh);
  g_assert_true (dsm_store_restore (seeded, a, &error));
  g_assert_cmpstr (dsm_store_read (seeded, "m-2", NULL, NULL), ==, "Running");
  g_assert_cmpuint (dsm_membership_get_n_voters (dsm_store_get_membership (seeded, NULL)), ==, 3);
  dsm_backup_clear (&backup);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/backup/round-trip", test_round_trip);
  g_test_add_func ("/net/backup/refusals", test_refusals);
  g_test_add_func ("/net/backup/seed-membership", test_seed_membership);
  return g_test_run ();
}
