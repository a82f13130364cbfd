/* tests/check/test-lin-data.c: the linearizability checker's model of a
 * machine's data and revision (docs/CHECKERS.md, "The sequential
 * specification"): one hand-made history per behaviour, legal ones that
 * must pass and planted lost updates and bad merges that must not. */
#include <string.h>

#include "check/linearizability.h"

static GPtrArray *
history_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
}

/* A transition of machine "m" to @to, answered @result ("ok", "rejected"
 * as invalid_transition, "unknown"); an ok one took effect at @index. */
static DsmHistoryOp *
write_op (GPtrArray *history, const char *to, const char *payload, gint64 if_revision, guint64 invoke_ms,
          guint64 complete_ms, const char *result, guint64 index)
{
  DsmHistoryOp *op = dsm_history_op_new ();

  op->id = history->len + 1;
  op->client = history->len;
  op->op = DSM_OP_TRANSITION;
  op->machine = g_strdup ("m");
  op->requested = g_strdup (to);
  op->payload = g_strdup (payload);
  op->has_if_revision = if_revision >= 0;
  op->if_revision = if_revision >= 0 ? (guint64) if_revision : 0;
  op->invoke_ms = invoke_ms;
  op->complete_ms = complete_ms;
  op->completed = TRUE;
  g_assert_true (dsm_reply_status_from_string (result, &op->status));
  if (op->status == DSM_REPLY_REJECTED)
    op->reason = DSM_REJECT_INVALID_TRANSITION;
  if (op->status == DSM_REPLY_OK)
    {
      op->index = index;
      op->has_revision = TRUE;
      op->revision = index;
    }
  g_ptr_array_add (history, op);
  return op;
}

/* An ok read of "m" reporting @state, @revision and @data. */
static DsmHistoryOp *
read_op (GPtrArray *history, const char *state, guint64 revision, const char *data, guint64 invoke_ms,
         guint64 complete_ms)
{
  DsmHistoryOp *op = dsm_history_op_new ();

  op->id = history->len + 1;
  op->client = history->len;
  op->op = DSM_OP_READ;
  op->machine = g_strdup ("m");
  op->state = g_strdup (state);
  op->has_revision = TRUE;
  op->revision = revision;
  op->data = g_strdup (data);
  op->invoke_ms = invoke_ms;
  op->complete_ms = complete_ms;
  op->completed = TRUE;
  op->status = DSM_REPLY_OK;
  g_ptr_array_add (history, op);
  return op;
}

/* Checks @history; TRUE when linearizable; the explanation must hold @why
 * when it is not. */
static gboolean
check (GPtrArray *history, const char *why)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  DsmLinearizabilityResult result = { 0 };
  gboolean ok = dsm_linearizability_check (history, config, 0, &result);

  g_assert_false (result.inconclusive);
  if (!ok)
    {
      g_test_message ("%s", result.explanation);
      if (why != NULL)
        g_assert_nonnull (strstr (result.explanation, why));
    }
  dsm_linearizability_result_clear (&result);
  return ok;
}

static void
test_merge (void)
{
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("A payload merges one level deep: a key replaces, null removes, others stay; a read "
                  "reporting that data in any key order and spacing passes");
  write_op (h, "Running", "{\"a\": 1, \"b\": {\"x\": 1}}", -1, 0, 10, "ok", 2);
  write_op (h, "Stopped", "{\"b\": {\"y\": 2}, \"c\": null, \"d\": \"z\"}", -1, 20, 30, "ok", 3);
  write_op (h, "Init", "{\"a\": null}", -1, 40, 50, "ok", 4);
  read_op (h, "Init", 4, "{ \"d\": \"z\", \"b\": {\"y\": 2} }", 60, 70);
  g_assert_true (check (h, NULL));
}

static void
test_merge_dropped_key (void)
{
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("A read missing a key no write removed cannot be explained: the checker names the data "
                  "it saw and the data the model has");
  write_op (h, "Running", "{\"a\": 1}", -1, 0, 10, "ok", 2);
  write_op (h, "Stopped", "{\"b\": 2}", -1, 20, 30, "ok", 3);
  read_op (h, "Stopped", 3, "{\"b\":2}", 40, 50);
  g_assert_false (check (h, "it saw data {\"b\":2}, but the data was {\"a\":1,\"b\":2}"));
}

static void
test_concurrent_read_either_side (void)
{
  g_autoptr(GPtrArray) before = history_new ();
  g_autoptr(GPtrArray) after = history_new ();

  g_test_summary ("A read concurrent with a write of a key sees the data before it or after it, "
                  "with the revision that goes with it");
  write_op (before, "Running", "{\"k\": 1}", 0, 0, 10, "ok", 2);
  write_op (before, "Stopped", "{\"k\": 2}", -1, 20, 50, "ok", 3);
  read_op (before, "Running", 2, "{\"k\":1}", 30, 40);
  g_assert_true (check (before, NULL));
  write_op (after, "Running", "{\"k\": 1}", 0, 0, 10, "ok", 2);
  write_op (after, "Stopped", "{\"k\": 2}", -1, 20, 50, "ok", 3);
  read_op (after, "Stopped", 3, "{\"k\":2}", 30, 40);
  g_assert_true (check (after, NULL));
}

static void
test_cas_lost_update (void)
{
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("Two read-modify-writes from one read revision both answered ok: the second cannot "
                  "be explained, its if_revision no longer matches (a lost update)");
  write_op (h, "Running", "{\"n\": 1}", 0, 0, 10, "ok", 2);
  read_op (h, "Running", 2, "{\"n\":1}", 20, 30);
  read_op (h, "Running", 2, "{\"n\":1}", 20, 30);
  write_op (h, "Stopped", "{\"n\": 2}", 2, 40, 50, "ok", 3);
  write_op (h, "Init", "{\"n\": 2}", 2, 60, 70, "ok", 4);
  g_assert_false (check (h, "its if_revision 2 does not match the revision 3"));
}

static void
test_cas_loser_rejected (void)
{
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("The same race with the second writer refused invalid_transition naming the "
                  "current revision is linearizable");
  write_op (h, "Running", "{\"n\": 1}", 0, 0, 10, "ok", 2);
  write_op (h, "Stopped", "{\"n\": 2}", 2, 40, 50, "ok", 3);
  DsmHistoryOp *lost = write_op (h, "Stopped", "{\"n\": 2}", 2, 40, 70, "rejected", 0);
  lost->state = g_strdup ("Stopped");
  lost->has_revision = TRUE;
  lost->revision = 3;
  read_op (h, "Stopped", 3, "{\"n\":2}", 80, 90);
  g_assert_true (check (h, NULL));
}

static void
test_cas_rejected_though_current (void)
{
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("A compare-and-set refused while the machine was at its revision and the move legal "
                  "cannot be explained");
  write_op (h, "Running", NULL, 0, 0, 10, "ok", 2);
  write_op (h, "Stopped", NULL, 2, 20, 30, "rejected", 0);
  g_assert_false (check (h, "was legal at that revision"));
}

static void
test_unknown_write_revision (void)
{
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("A write whose outcome is unknown may have taken effect at a revision nobody was told: "
                  "a read of a revision no known write has, and a compare-and-set on it, are explained "
                  "by it");
  write_op (h, "Running", "{\"n\": 1}", 0, 0, 10, "ok", 2);
  write_op (h, "Stopped", "{\"n\": 7}", 2, 20, 30, "unknown", 0);
  read_op (h, "Stopped", 5, "{\"n\":7}", 40, 50);
  write_op (h, "Init", "{\"n\": 8}", 5, 60, 70, "ok", 6);
  read_op (h, "Init", 6, "{\"n\":8}", 80, 90);
  g_assert_true (check (h, NULL));
}

static void
test_read_wrong_revision (void)
{
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("On a machine with compare-and-sets, a read reporting the revision of an earlier "
                  "write than the last one that completed before it cannot be explained");
  write_op (h, "Running", NULL, 0, 0, 10, "ok", 2);
  write_op (h, "Stopped", NULL, -1, 20, 30, "ok", 3);
  read_op (h, "Stopped", 2, "{}", 40, 50);
  g_assert_false (check (h, "it saw revision 2, but the revision was 3"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/check/lin-data/merge", test_merge);
  g_test_add_func ("/check/lin-data/merge-dropped-key", test_merge_dropped_key);
  g_test_add_func ("/check/lin-data/concurrent-read-either-side", test_concurrent_read_either_side);
  g_test_add_func ("/check/lin-data/cas-lost-update", test_cas_lost_update);
  g_test_add_func ("/check/lin-data/cas-loser-rejected", test_cas_loser_rejected);
  g_test_add_func ("/check/lin-data/cas-rejected-though-current", test_cas_rejected_though_current);
  g_test_add_func ("/check/lin-data/unknown-write-revision", test_unknown_write_revision);
  g_test_add_func ("/check/lin-data/read-wrong-revision", test_read_wrong_revision);
  return g_test_run ();
}
