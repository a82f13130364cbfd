/* fuzz/fuzz-backup.c: backup files (net/backup.c), as `dsmctl snapshot
 * save` checks them and `dsm-node --restore` seeds a new cluster from them:
 * reading and verifying the file, seeding the new cluster's snapshot, and
 * restoring it into a data directory a node then recovers and starts from.
 *
 * Input: [flags] then, flags bit 0 clear: the backup file as it is; bit 0
 * set: [u16 LE index][snapshot bytes], and the harness writes the header
 * with the right size and SHA-256, so the fuzzer reaches the snapshot
 * decoder behind the digest.  Flags bit 1: a backup that seeds is also
 * restored into a fresh data directory (the path of --restore). */
#include "fuzz.h"

#include <glib/gstdio.h>

#include "backup.h"
#include "node.h"
#include "recover.h"

static DsmConfig *config;

/* Recovers what --restore wrote: it must start a node, at the backup's
 * index, from the snapshot the seed made. */
static void
fuzz_backup_restore (const char *path, const DsmBackup *read, GBytes *seeded)
{
  g_autofree char *dir = g_build_filename (dsm_fuzz_scratch_dir (), "restored", NULL);
  DsmBackup backup = { 0 };
  g_autoptr(GError) error = NULL;

  gboolean restored = dsm_backup_restore (path, config, 1, dir, &backup, &error);
  if (restored)
    {
      g_assert_no_error (error);
      g_assert_cmpstr (backup.sha256, ==, read->sha256);
      DsmRecovery rec = { 0 };
      g_autoptr(GString) report = g_string_new (NULL);
      g_assert_true (dsm_recovery_run (&rec, dir, config->cluster_id, 1, report, &error));
      g_assert_no_error (error);
      g_assert_nonnull (rec.state.snapshot);
      g_assert_true (g_bytes_equal (rec.state.snapshot, seeded));
      g_autoptr(DsmNode) node = dsm_node_new (config, 1, g_rand_new_with_seed (1), &rec.state, 0, &error);
      g_assert_no_error (error);
      g_assert_nonnull (node);
      g_assert_cmpuint (dsm_node_get_applied_index (node), ==, read->index);
      dsm_recovery_clear (&rec);
    }
  else
    g_assert_nonnull (error); /* a write failed: nothing here makes one fail */
  dsm_backup_clear (&backup);

  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;
  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *file = g_build_filename (dir, name, NULL);
      g_assert_cmpint (g_unlink (file), ==, 0);
    }
  g_rmdir (dir);
}

static void
fuzz_backup_file (const guint8 *data, gsize size, gboolean restore)
{
  DsmBackup backup = { 0 };
  g_autoptr(GError) error = NULL;

  if (!dsm_backup_read (data, size, "fuzz.backup", &backup, &error))
    {
      g_assert_nonnull (error);
      g_assert_null (backup.snapshot);
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (backup.sha256), ==, 64);
  g_autoptr(GBytes) seeded = dsm_backup_seed (&backup, config, &error);
  if (seeded == NULL)
    g_assert_nonnull (error);
  else
    {
      /* Every node seeded from one file and one config gets the same bytes. */
      g_autoptr(GBytes) again = dsm_backup_seed (&backup, config, &error);
      g_assert_no_error (error);
      g_assert_true (g_bytes_equal (seeded, again));
      if (restore)
        {
          g_autofree char *path = g_build_filename (dsm_fuzz_scratch_dir (), "fuzz.backup", NULL);
          g_file_set_contents (path, (const char *) data, (gssize) size, &error);
          g_assert_no_error (error);
          fuzz_backup_restore (path, &backup, seeded);
          g_unlink (path);
        }
    }
  dsm_backup_clear (&backup);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  dsm_fuzz_setup ();
  config = dsm_fuzz_config_new ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  DsmFuzzInput in = { data, size };
  guint8 flags = dsm_fuzz_take_byte (&in);

  if (!(flags & 1))
    {
      fuzz_backup_file (in.data, in.size, flags & 2);
      return 0;
    }
  guint16 index = (guint16) (dsm_fuzz_take_byte (&in) | dsm_fuzz_take_byte (&in) << 8);
  g_autofree char *digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256, in.data, in.size);
  g_autoptr(GString) file = g_string_new (NULL);
  g_string_append_printf (file,
                          "{\"format\":\"" DSM_BACKUP_FORMAT "\",\"cluster_id\":\"old\",\"node\":2,\"index\":%u,"
                          "\"epoch\":3,\"bytes\":%" G_GSIZE_FORMAT ",\"sha256\":\"%s\"}\n",
                          index, in.size, digest);
  g_string_append_len (file, (const char *) in.data, (gssize) in.size);
  fuzz_backup_file ((const guint8 *) file->str, file->len, flags & 2);
  return 0;
}
