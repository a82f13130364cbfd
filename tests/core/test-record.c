/* tests/core/test-record.c: the persist record format shared by the WAL
 * and the simulator's disk: round trips, torn tails versus corruption,
 * and the durable-state fold. */
#include <string.h>

#include "error.h"
#include "record.h"

/* ---- helpers ---- */

static DsmEntry *
command_entry (guint64 index, guint64 epoch, const char *to)
{
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .client_id = (char *) "client \"1\"", .seq = index,
                     .machine = (char *) "pump-1", .to = (char *) to };

  return dsm_entry_new (index, epoch, DSM_ENTRY_COMMAND, &cmd);
}

static GPtrArray *
entries_new (guint64 first, guint n, guint64 epoch)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (entries, (first + i) % 3 == 0 ? dsm_entry_new (first + i, epoch, DSM_ENTRY_NOOP, NULL)
                                                    : command_entry (first + i, epoch, "Running"));
  return entries;
}

static DsmPersist *
hard_state_new (guint64 seq, guint64 epoch, DsmNodeId voted_for)
{
  DsmPersist *p = g_new0 (DsmPersist, 1);

  p->kind = DSM_PERSIST_HARD_STATE;
  p->seq = seq;
  p->epoch = epoch;
  p->voted_for = voted_for;
  return p;
}

static DsmPersist *
entries_persist_new (guint64 seq, guint64 first_index, guint n, guint64 epoch)
{
  DsmPersist *p = g_new0 (DsmPersist, 1);

  p->kind = DSM_PERSIST_ENTRIES;
  p->seq = seq;
  p->first_index = first_index;
  p->entries = entries_new (first_index, n, epoch);
  return p;
}

static DsmPersist *
snapshot_new (guint64 seq, guint64 index, guint64 epoch, gboolean reset_log)
{
  static const guint8 bytes[] = { 0, 1, 2, 0xff, 0xfe, '"', '\\', 0, 'x' };
  DsmPersist *p = g_new0 (DsmPersist, 1);

  p->kind = DSM_PERSIST_SNAPSHOT;
  p->seq = seq;
  p->index = index;
  p->snapshot_epoch = epoch;
  p->reset_log = reset_log;
  p->snapshot = g_bytes_new (bytes, sizeof bytes);
  return p;
}

static void
assert_persist_equal (const DsmPersist *a, const DsmPersist *b)
{
  g_assert_cmpint (a->kind, ==, b->kind);
  g_assert_cmpuint (a->seq, ==, b->seq);
  switch (a->kind)
    {
    case DSM_PERSIST_HARD_STATE:
      g_assert_cmpuint (a->epoch, ==, b->epoch);
      g_assert_cmpuint (a->voted_for, ==, b->voted_for);
      break;
    case DSM_PERSIST_ENTRIES:
      g_assert_cmpuint (a->first_index, ==, b->first_index);
      g_assert_cmpuint (a->entries->len, ==, b->entries->len);
      for (guint i = 0; i < a->entries->len; i++)
        g_assert_true (dsm_entry_equal (a->entries->pdata[i], b->entries->pdata[i]));
      break;
    case DSM_PERSIST_SNAPSHOT:
      g_assert_cmpuint (a->index, ==, b->index);
      g_assert_cmpuint (a->snapshot_epoch, ==, b->snapshot_epoch);
      g_assert_cmpint (a->reset_log, ==, b->reset_log);
      if (a->snapshot != NULL && b->snapshot != NULL)
        g_assert_true (g_bytes_equal (a->snapshot, b->snapshot));
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Collects decoded records (copies of the fields tests compare). */
typedef struct {
  GPtrArray *persists;
  GPtrArray *offsets;
  guint fail_at;    /* 0: never */
} Collected;

static gboolean
collect (const DsmPersist *persist, const DsmRecordInfo *info, gpointer user_data, GError **error)
{
  Collected *c = user_data;
  DsmPersist *copy = g_new0 (DsmPersist, 1);

  if (c->fail_at != 0 && c->persists->len + 1 == c->fail_at)
    {
      g_free (copy);
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID, "stop at %u", c->fail_at);
      return FALSE;
    }
  *copy = *persist;
  if (persist->entries != NULL)
    copy->entries = g_ptr_array_ref (persist->entries);
  if (persist->snapshot != NULL)
    copy->snapshot = g_bytes_ref (persist->snapshot);
  g_ptr_array_add (c->persists, copy);
  g_ptr_array_add (c->offsets, GSIZE_TO_POINTER (info->offset));
  return TRUE;
}

static void
collected_init (Collected *c)
{
  c->persists = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_persist_free);
  c->offsets = g_ptr_array_new ();
  c->fail_at = 0;
}

static void
collected_clear (Collected *c)
{
  g_ptr_array_unref (c->persists);
  g_ptr_array_unref (c->offsets);
}

/* Three records; *@offsets gets where each starts. */
static GByteArray *
three_records (gsize offsets[3])
{
  GByteArray *out = g_byte_array_new ();
  g_autoptr(DsmPersist) a = hard_state_new (1, 2, 3);
  g_autoptr(DsmPersist) b = entries_persist_new (2, 1, 4, 2);
  g_autoptr(DsmPersist) c = entries_persist_new (3, 5, 2, 2);

  offsets[0] = out->len;
  dsm_record_encode (out, a);
  offsets[1] = out->len;
  dsm_record_encode (out, b);
  offsets[2] = out->len;
  dsm_record_encode (out, c);
  return out;
}

static void
round_trip (const DsmPersist *persist)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  Collected c;
  gsize valid = 0;
  gboolean torn = TRUE;

  collected_init (&c);
  dsm_record_encode (out, persist);
  g_assert_true (dsm_record_scan (out->data, out->len, "mem", collect, &c, &valid, &torn, &error));
  g_assert_no_error (error);
  g_assert_false (torn);
  g_assert_cmpuint (valid, ==, out->len);
  g_assert_cmpuint (c.persists->len, ==, 1);
  assert_persist_equal (persist, c.persists->pdata[0]);
  collected_clear (&c);
}

/* ---- round trips ---- */

static void
test_round_trip_hard_state (void)
{
  g_autoptr(DsmPersist) p = hard_state_new (7, 12, 3);
  g_autoptr(DsmPersist) zero = hard_state_new (1, 0, DSM_NODE_NONE);
  g_autoptr(DsmPersist) big = hard_state_new (G_GUINT64_CONSTANT (1) << 53, G_GUINT64_CONSTANT (1) << 53,
                                              DSM_NODE_ID_MAX);

  g_test_summary ("A hard state record decodes to the epoch and vote it was written with.");
  round_trip (p);
  round_trip (zero);
  round_trip (big);
}

static void
test_round_trip_entries (void)
{
  g_autoptr(DsmPersist) p = entries_persist_new (3, 10, 6, 4);
  g_autoptr(DsmPersist) truncation = entries_persist_new (4, 8, 0, 4);

  g_test_summary ("Entries records keep every entry and the truncation point, even with no entries.");
  round_trip (p);
  round_trip (truncation);
}

static void
test_round_trip_snapshot (void)
{
  g_autoptr(DsmPersist) p = snapshot_new (9, 100, 5, FALSE);
  g_autoptr(DsmPersist) reset = snapshot_new (10, 200, 6, TRUE);
  g_autoptr(DsmPersist) empty = snapshot_new (11, 1, 1, TRUE);

  g_test_summary ("A snapshot record carries its bytes inline (any bytes, NUL included), "
                  "so the simulator's disk needs nothing else.");
  round_trip (p);
  round_trip (reset);
  g_bytes_unref (empty->snapshot);
  empty->snapshot = g_bytes_new (NULL, 0);
  round_trip (empty);
}

static void
test_round_trip_snapshot_ref (void)
{
  g_autoptr(DsmPersist) p = snapshot_new (12, 300, 7, TRUE);
  DsmSnapshotRef ref = { (char *) "snap-000000000000000c.snap", 123456, 0xdeadbeef };
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmSnapshotRef) decoded_ref = NULL;
  gsize record_bytes = 0;
  g_autoptr(DsmPersist) decoded = NULL;

  g_test_summary ("A snapshot_ref record names the file, size and checksum of the bytes it leaves out.");
  dsm_record_encode_snapshot_ref (out, p, &ref);
  decoded = dsm_record_decode (out->data, out->len, &record_bytes, &decoded_ref, &error);
  g_assert_no_error (error);
  g_assert_nonnull (decoded);
  g_assert_cmpuint (record_bytes, ==, out->len);
  g_assert_null (decoded->snapshot);
  assert_persist_equal (p, decoded);
  g_assert_nonnull (decoded_ref);
  g_assert_cmpstr (decoded_ref->file, ==, ref.file);
  g_assert_cmpuint (decoded_ref->size_bytes, ==, ref.size_bytes);
  g_assert_cmpuint (decoded_ref->crc32, ==, ref.crc32);
}

static void
test_decode_rejects_bad_payloads (void)
{
  static const char *const payloads[] = {
    "{\"kind\":\"entries\",\"seq\":1,\"first_index\":3,\"entries\":[{\"index\":4,\"epoch\":1,\"kind\":\"noop\"}]}",
    "{\"kind\":\"entries\",\"seq\":1,\"first_index\":0,\"entries\":[]}",
    "{\"kind\":\"hard_state\",\"seq\":1,\"epoch\":-1,\"voted_for\":0}",
    "{\"kind\":\"hard_state\",\"seq\":1,\"epoch\":1}",
    "{\"kind\":\"hard_state\",\"seq\":1,\"epoch\":1,\"voted_for\":4294967296}",
    "{\"kind\":\"hard_state\",\"seq\":1,\"epoch\":1,\"voted_for\":2147483648}",
    "{\"kind\":\"snapshot\",\"seq\":1,\"index\":1,\"epoch\":1,\"reset_log\":true,\"data\":\"a!==\"}",
    ("{\"kind\":\"snapshot_ref\",\"seq\":1,\"index\":1,\"epoch\":1,\"reset_log\":true,"
     "\"file\":\"../etc/passwd\",\"size_bytes\":1,\"crc32\":1}"),
    "{\"kind\":\"vote\",\"seq\":1}",
    "[1,2]",
    "{\"kind\":\"hard_state\",\"seq\":1,\"epoch\":1,\"voted_for\":0}{}",
  };

  g_test_summary ("A record whose checksum matches but whose payload is not a valid record "
                  "is refused: entries off their index, bad numbers, unsafe file names.");
  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    {
      g_autoptr(GByteArray) out = g_byte_array_new ();
      g_autoptr(GError) error = NULL;
      gsize record_bytes = 0;
      DsmPersist *p;

      dsm_record_frame (out, payloads[i], strlen (payloads[i]));
      p = dsm_record_decode (out->data, out->len, &record_bytes, NULL, &error);
      g_assert_null (p);
      g_assert_error (error, DSM_CODEC_ERROR, error->code);
      g_assert_cmpuint (record_bytes, ==, out->len);
    }
}

/* ---- scanning ---- */

static void
test_scan_all_good (void)
{
  gsize offsets[3];
  g_autoptr(GByteArray) data = three_records (offsets);
  g_autoptr(GError) error = NULL;
  Collected c;
  gsize valid = 0;
  gboolean torn = TRUE;

  g_test_summary ("A clean run of records decodes in order with their offsets.");
  collected_init (&c);
  g_assert_true (dsm_record_scan (data->data, data->len, "mem", collect, &c, &valid, &torn, &error));
  g_assert_no_error (error);
  g_assert_false (torn);
  g_assert_cmpuint (valid, ==, data->len);
  g_assert_cmpuint (c.persists->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpuint (GPOINTER_TO_SIZE (c.offsets->pdata[i]), ==, offsets[i]);
      g_assert_cmpuint (((DsmPersist *) c.persists->pdata[i])->seq, ==, i + 1);
    }
  collected_clear (&c);
}

static void
test_scan_torn_tail_every_length (void)
{
  gsize offsets[3];
  g_autoptr(GByteArray) data = three_records (offsets);

  g_test_summary ("A last record cut at any byte is a torn tail: the records before it "
                  "come back and the valid prefix ends where it starts.");
  for (gsize cut = offsets[2] + 1; cut < data->len; cut++)
    {
      g_autoptr(GError) error = NULL;
      Collected c;
      gsize valid = 0;
      gboolean torn = FALSE;

      collected_init (&c);
      g_assert_true (dsm_record_scan (data->data, cut, "mem", collect, &c, &valid, &torn, &error));
      g_assert_no_error (error);
      g_assert_true (torn);
      g_assert_cmpuint (valid, ==, offsets[2]);
      g_assert_cmpuint (c.persists->len, ==, 2);
      collected_clear (&c);
    }
}

static void
test_scan_torn_last_record_damaged (void)
{
  gsize offsets[3];
  g_autoptr(GByteArray) data = three_records (offsets);

  g_test_summary ("A last record whose bytes were zeroed or damaged (a page that never "
                  "reached the disk) is a torn tail too.");
  for (gsize at = offsets[2] + DSM_RECORD_HEADER_BYTES; at < data->len; at += 7)
    {
      g_autoptr(GByteArray) copy = g_byte_array_new ();
      g_autoptr(GError) error = NULL;
      Collected c;
      gsize valid = 0;
      gboolean torn = FALSE;

      g_byte_array_append (copy, data->data, data->len);
      memset (copy->data + at, 0, MIN ((gsize) 16, data->len - at));
      collected_init (&c);
      g_assert_true (dsm_record_scan (copy->data, copy->len, "mem", collect, &c, &valid, &torn, &error));
      g_assert_no_error (error);
      g_assert_true (torn);
      g_assert_cmpuint (valid, ==, offsets[2]);
      collected_clear (&c);
    }
}

static void
test_scan_flipped_byte_is_corruption (void)
{
  gsize offsets[3];
  g_autoptr(GByteArray) data = three_records (offsets);
  g_autofree char *expected = g_strdup_printf ("wal-test: corrupt record at offset %" G_GSIZE_FORMAT,
                                               offsets[1]);

  g_test_summary ("Any byte changed in a record with more records after it, header "
                  "included, is corruption naming the file and offset, never a torn tail.");
  for (gsize at = offsets[1]; at < offsets[2]; at++)
    {
      g_autoptr(GByteArray) copy = g_byte_array_new ();
      g_autoptr(GError) error = NULL;
      Collected c;
      gsize valid = 0;
      gboolean torn = FALSE;

      g_byte_array_append (copy, data->data, data->len);
      copy->data[at] ^= 0x5a;
      collected_init (&c);
      g_assert_false (dsm_record_scan (copy->data, copy->len, "wal-test", collect, &c, &valid,
                                       &torn, &error));
      g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID);
      if (!g_str_has_prefix (error->message, expected))
        g_error ("flip at %" G_GSIZE_FORMAT ": %s", at, error->message);
      g_assert_false (torn);
      g_assert_cmpuint (valid, ==, offsets[1]);
      g_assert_cmpuint (c.persists->len, ==, 1);
      collected_clear (&c);
    }
}

static void
test_scan_zero_padding_is_tail (void)
{
  gsize offsets[3];
  g_autoptr(GByteArray) data = three_records (offsets);
  gsize end = data->len;
  g_autoptr(GError) error = NULL;
  Collected c;
  gsize valid = 0;
  gboolean torn = FALSE;

  g_test_summary ("Zero bytes after the last record (a file extended but never written) "
                  "are a torn tail, not corruption.");
  g_byte_array_set_size (data, (guint) (end + 4096));
  memset (data->data + end, 0, 4096);
  collected_init (&c);
  g_assert_true (dsm_record_scan (data->data, data->len, "mem", collect, &c, &valid, &torn, &error));
  g_assert_no_error (error);
  g_assert_true (torn);
  g_assert_cmpuint (valid, ==, end);
  g_assert_cmpuint (c.persists->len, ==, 3);
  collected_clear (&c);
}

static void
test_scan_absurd_length (void)
{
  gsize offsets[3];
  g_autoptr(GByteArray) data = three_records (offsets);
  g_autoptr(GByteArray) tail = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  Collected c;
  gsize valid = 0;
  gboolean torn = FALSE;

  g_test_summary ("A length past 1 GiB is the tail when nothing valid follows it, and "
                  "corruption when records do.");
  g_byte_array_append (tail, data->data, (guint) offsets[2]);
  g_byte_array_append (tail, (const guint8 *) "\xff\xff\xff\x7f" "abcd" "{junk", 9);
  collected_init (&c);
  g_assert_true (dsm_record_scan (tail->data, tail->len, "mem", collect, &c, &valid, &torn, &error));
  g_assert_no_error (error);
  g_assert_true (torn);
  g_assert_cmpuint (valid, ==, offsets[2]);
  collected_clear (&c);

  data->data[offsets[1] + 3] = 0x7f;
  collected_init (&c);
  g_assert_false (dsm_record_scan (data->data, data->len, "mem", collect, &c, &valid, &torn, &error));
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID);
  g_assert_cmpuint (valid, ==, offsets[1]);
  collected_clear (&c);
}

static void
test_scan_callback_error_stops (void)
{
  gsize offsets[3];
  g_autoptr(GByteArray) data = three_records (offsets);
  g_autoptr(GError) error = NULL;
  Collected c;
  gsize valid = 0;
  gboolean torn = FALSE;

  g_test_summary ("The callback can refuse a record (a gap in seqs): the scan fails with its error.");
  collected_init (&c);
  c.fail_at = 2;
  g_assert_false (dsm_record_scan (data->data, data->len, "mem", collect, &c, &valid, &torn, &error));
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "stop at 2");
  g_assert_cmpuint (valid, ==, offsets[1]);
  collected_clear (&c);
}

static void
test_scan_random_damage_never_crashes (void)
{
  gsize offsets[3];
  g_autoptr(GByteArray) data = three_records (offsets);
  g_autoptr(GRand) rng = g_rand_new_with_seed (42);

  g_test_summary ("Random byte flips and cuts give a torn tail, corruption or a clean "
                  "scan, never a crash or an accepted bad record (seed 42).");
  for (guint round = 0; round < 3000; round++)
    {
      g_autoptr(GByteArray) copy = g_byte_array_new ();
      g_autoptr(GError) error = NULL;
      Collected c;
      gsize valid = 0;
      gboolean torn = FALSE;
      guint flips = (guint) g_rand_int_range (rng, 1, 5);
      gsize length = data->len;

      g_byte_array_append (copy, data->data, data->len);
      for (guint i = 0; i < flips; i++)
        copy->data[g_rand_int_range (rng, 0, (gint32) copy->len)] = (guint8) g_rand_int (rng);
      if (g_rand_boolean (rng))
        length = (gsize) g_rand_int_range (rng, 0, (gint32) copy->len + 1);
      collected_init (&c);
      if (dsm_record_scan (copy->data, length, "mem", collect, &c, &valid, &torn, &error))
        {
          g_assert_cmpuint (valid, <=, length);
          g_assert_true (torn || valid == length);
        }
      else
        g_assert_nonnull (error);
      /* Whatever decoded is a prefix of what was written, or a flip the
       * CRC cannot see (none within one record). */
      for (guint i = 0; i < c.persists->len; i++)
        g_assert_cmpuint (((DsmPersist *) c.persists->pdata[i])->seq, ==, i + 1);
      collected_clear (&c);
    }
}

/* ---- the durable-state fold ---- */

static guint64
state_index (const DsmDurableState *state, guint i)
{
  return ((DsmEntry *) state->entries->pdata[i])->index;
}

static void
test_durable_state_apply (void)
{
  DsmDurableState state = { 0 };
  g_autoptr(DsmPersist) hs = hard_state_new (1, 3, 2);
  g_autoptr(DsmPersist) e1 = entries_persist_new (2, 1, 10, 3);
  g_autoptr(DsmPersist) e2 = entries_persist_new (3, 6, 2, 3);
  g_autoptr(DsmPersist) compact = snapshot_new (4, 4, 3, FALSE);
  g_autoptr(DsmPersist) reset = snapshot_new (5, 20, 4, TRUE);

  g_test_summary ("The fold keeps the vote, truncates from first_index, compacts up to a "
                  "snapshot or drops the whole log with reset_log.");
  dsm_durable_state_apply (&state, hs);
  g_assert_cmpuint (state.epoch, ==, 3);
  g_assert_cmpuint (state.voted_for, ==, 2);
  dsm_durable_state_apply (&state, e1);
  g_assert_cmpuint (state.entries->len, ==, 10);
  dsm_durable_state_apply (&state, e2);
  g_assert_cmpuint (state.entries->len, ==, 7);
  g_assert_cmpuint (state_index (&state, 6), ==, 7);
  dsm_durable_state_apply (&state, compact);
  g_assert_cmpuint (state.snapshot_index, ==, 4);
  g_assert_cmpuint (state.entries->len, ==, 3);
  g_assert_cmpuint (state_index (&state, 0), ==, 5);
  dsm_durable_state_apply (&state, reset);
  g_assert_cmpuint (state.snapshot_index, ==, 20);
  g_assert_cmpuint (state.snapshot_epoch, ==, 4);
  g_assert_cmpuint (state.entries->len, ==, 0);
  g_assert_true (g_bytes_equal (state.snapshot, reset->snapshot));
  dsm_durable_state_clear (&state);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/core/record/round-trip/hard-state", test_round_trip_hard_state);
  g_test_add_func ("/core/record/round-trip/entries", test_round_trip_entries);
  g_test_add_func ("/core/record/round-trip/snapshot", test_round_trip_snapshot);
  g_test_add_func ("/core/record/round-trip/snapshot-ref", test_round_trip_snapshot_ref);
  g_test_add_func ("/core/record/decode/rejects-bad-payloads", test_decode_rejects_bad_payloads);
  g_test_add_func ("/core/record/scan/all-good", test_scan_all_good);
  g_test_add_func ("/core/record/scan/torn-tail-every-length", test_scan_torn_tail_every_length);
  g_test_add_func ("/core/record/scan/torn-last-record-damaged", test_scan_torn_last_record_damaged);
  g_test_add_func ("/core/record/scan/flipped-byte-is-corruption", test_scan_flipped_byte_is_corruption);
  g_test_add_func ("/core/record/scan/zero-padding-is-tail", test_scan_zero_padding_is_tail);
  g_test_add_func ("/core/record/scan/absurd-length", test_scan_absurd_length);
  g_test_add_func ("/core/record/scan/callback-error-stops", test_scan_callback_error_stops);
  g_test_add_func ("/core/record/scan/random-damage-never-crashes", test_scan_random_damage_never_crashes);
  g_test_add_func ("/core/record/durable-state-apply", test_durable_state_apply);
  return g_test_run ();
}
