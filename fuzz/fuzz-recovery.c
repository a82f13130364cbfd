/* fuzz/fuzz-recovery.c: a node's restart from its data directory
 * (storage/recover.c, storage/layout.c, core/record.c) and from the state
 * recovered (core/node.c's restore, core/store.c's snapshot decoding), on
 * directories whose files come from the input, and the store's snapshot
 * decoder on raw bytes.  What recovers must start a node; the offline
 * check (dsm-node --check-data-dir) must agree with recovery.
 *
 * Input: [flags] then, flags bit 1 clear: chunks [file][u16 LE length]
 * [bytes] appended to the file chunk_names[file % 4] names (meta.json is
 * written valid unless a chunk gives it); flags bit 0: a chunk of a
 * segment is a record payload the harness frames (length, CRC-32), so
 * the fuzzer reaches the decoder behind the checksum.  Flags bit 1 set:
 * the rest is a store snapshot. */
#include "fuzz.h"

#include <glib/gstdio.h>

#include "codec.h"
#include "node.h"
#include "record.h"
#include "recover.h"
#include "store.h"
#include "wal.h"

#define META "{\"format\":1,\"cluster_id\":\"fuzz\",\"node_id\":1}\n"

static const char *const chunk_names[] = {
  "seg-0000000000000001.wal",
  "seg-0000000000000055.wal",
  "snap-0000000000000055.snap",
  "meta.json",
};

static DsmConfig *config;

static void
fuzz_recovery_restore (GBytes *snapshot)
{
  g_autoptr(GError) error = NULL;
  DsmStore *store = dsm_store_new (config);

  if (dsm_store_restore (store, snapshot, &error))
    {
      /* What restored snapshots to bytes that restore to the same bytes. */
      g_autoptr(GBytes) once = dsm_store_snapshot (store);
      DsmStore *again = dsm_store_new (config);
      g_assert_true (dsm_store_restore (again, once, &error));
      g_assert_no_error (error);
      g_autoptr(GBytes) twice = dsm_store_snapshot (again);
      g_assert_true (g_bytes_equal (once, twice));
      dsm_store_free (again);
    }
  else
    g_assert_nonnull (error);
  dsm_store_free (store);
}

static void
fuzz_recovery_dir (DsmFuzzInput *in, gboolean frame)
{
  g_autofree char *dir = g_build_filename (dsm_fuzz_scratch_dir (), "data", NULL);
  GByteArray *files[G_N_ELEMENTS (chunk_names)];
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    files[i] = g_byte_array_new ();
  while (in->size > 0)
    {
      guint file = dsm_fuzz_take_byte (in) % G_N_ELEMENTS (chunk_names);
      guint16 length = (guint16) (dsm_fuzz_take_byte (in) | dsm_fuzz_take_byte (in) << 8);
      const uint8_t *bytes;
      length = (guint16) dsm_fuzz_take_bytes (in, length, &bytes);
      if (frame && file < 2)
        dsm_record_frame (files[file], bytes, length);
      else
        g_byte_array_append (files[file], bytes, length);
    }
  if (files[3]->len == 0)
    g_byte_array_append (files[3], (const guint8 *) META, strlen (META));

  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (dir, chunk_names[i], NULL);
      if (files[i]->len > 0)
        {
          g_file_set_contents_full (path, (const char *) files[i]->data, (gssize) files[i]->len,
                                    G_FILE_SET_CONTENTS_NONE, 0600, &error);
          g_assert_no_error (error);
        }
      g_byte_array_unref (files[i]);
    }

  DsmRecovery rec = { 0 };
  g_autoptr(GString) report = g_string_new (NULL);
  gboolean recovered = dsm_recovery_run (&rec, dir, NULL, 1, report, &error);
  if (recovered)
    {
      g_assert_no_error (error);
      /* The state recovered is one a node starts from. */
      g_autoptr(DsmNode) node = dsm_node_new (config, 1, g_rand_new_with_seed (1), &rec.state, 0, &error);
      g_assert_no_error (error);
      g_assert_nonnull (node);
      if (rec.state.snapshot != NULL)
        fuzz_recovery_restore (rec.state.snapshot);
    }
  else
    g_assert_nonnull (error);
  g_clear_error (&error);
  dsm_recovery_clear (&rec);

  /* The offline check passes exactly the directories a node starts from. */
  g_autoptr(GString) check_report = g_string_new (NULL);
  gboolean checked = dsm_wal_check_dir (dir, check_report, &error);
  g_assert_cmpint (checked, ==, recovered);
  g_assert_true (checked == (error == NULL));

  for (guint i = 0; i < G_N_ELEMENTS (chunk_names); i++)
    {
      g_autofree char *path = g_build_filename (dir, chunk_names[i], NULL);
      g_unlink (path);
    }
  /* Recovery and the check change nothing: no other file may be left. */
  g_assert_cmpint (g_rmdir (dir), ==, 0);
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

  if (flags & 2)
    {
      g_autoptr(GBytes) snapshot = g_bytes_new (in.data, in.size);
      fuzz_recovery_restore (snapshot);
    }
  else
    fuzz_recovery_dir (&in, flags & 1);
  return 0;
}
