/* tests/check/test-logs.c: the check of stopped nodes' logs
 * (check/logs.h) on hand-made logs: agreeing logs pass, two entries at
 * one committed index are an agreement failure, an acknowledged
 * transition missing from a log or replaced in it a durability failure,
 * and what a snapshot covers or lies past the commit index is left alone. */
#include "check/logs.h"

#include "check/history.h"

static DsmEntry *
command (guint64 index, guint64 epoch, const char *machine, const char *to, const char *client_id, guint64 seq)
{
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = (char *) machine, .to = (char *) to,
                     .client_id = (char *) client_id, .seq = seq };
  return dsm_entry_new (index, epoch, DSM_ENTRY_COMMAND, &cmd);
}

/* A log of @n entries from @snapshot_index + 1: a no-op, then "m" moved
 * by client "c" with seq = index. */
static void
log_fill (DsmDurableState *log, guint64 snapshot_index, guint n)
{
  static const char *const states[] = { "Init", "Running", "Stopped" };

  log->snapshot_index = snapshot_index;
  log->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  for (guint64 index = snapshot_index + 1; index <= snapshot_index + n; index++)
    g_ptr_array_add (log->entries, index == 1 ? dsm_entry_new (1, 1, DSM_ENTRY_NOOP, NULL)
                                              : command (index, 1, "m", states[index % 3], "c", index));
}

static void
acked (GPtrArray *history, guint64 index, const char *to)
{
  DsmHistoryOp *op = dsm_history_op_new ();

  op->id = history->len + 1;
  op->client_id = g_strdup ("c");
  op->seq = index;
  op->op = DSM_OP_TRANSITION;
  op->machine = g_strdup ("m");
  op->requested = g_strdup (to);
  op->completed = TRUE;
  op->status = DSM_REPLY_OK;
  op->state = g_strdup (to);
  op->index = index;
  g_ptr_array_add (history, op);
}

typedef struct {
  DsmDurableState a, b, c;
  GPtrArray *history;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  log_fill (&f->a, 0, 10);
  log_fill (&f->b, 0, 12);   /* two entries past the commit index */
  log_fill (&f->c, 6, 4);    /* a snapshot at 6 */
  f->history = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
  acked (f->history, 4, "Running");
  acked (f->history, 9, "Init");
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  dsm_durable_state_clear (&f->a);
  dsm_durable_state_clear (&f->b);
  dsm_durable_state_clear (&f->c);
  g_ptr_array_unref (f->history);
}

static gboolean
check (Fixture *f, DsmInvariant *invariant, char **why, guint *checked)
{
  DsmNodeLog logs[] = { { 1, &f->a }, { 2, &f->b }, { 3, &f->c } };
  return dsm_logs_check (logs, G_N_ELEMENTS (logs), 10, f->history, checked, invariant, why);
}

static void
test_agreeing (Fixture *f, gconstpointer data)
{
  DsmInvariant invariant = DSM_INVARIANT_N;
  g_autofree char *why = NULL;
  guint checked = 0;

  g_test_summary ("Logs that agree up to the commit index and hold every acknowledged "
                  "transition pass; a snapshot covering an ack is not held against it.");
  g_assert_true (check (f, &invariant, &why, &checked));
  g_assert_null (why);
  /* index 4 on nodes 1 and 2 (node 3's snapshot covers it), index 9 on all three */
  g_assert_cmpuint (checked, ==, 5);
}

static void
test_tail_past_commit (Fixture *f, gconstpointer data)
{
  DsmInvariant invariant = DSM_INVARIANT_N;
  g_autofree char *why = NULL;

  g_test_summary ("Entries past the commit index may differ: an uncommitted tail is no "
                  "disagreement.");
  g_ptr_array_set_size (f->a.entries, 11);
  f->a.entries->pdata[10] = command (11, 2, "x", "Running", NULL, 0);
  g_assert_true (check (f, &invariant, &why, NULL));
}

static void
test_disagreement (Fixture *f, gconstpointer data)
{
  DsmInvariant invariant = DSM_INVARIANT_N;
  g_autofree char *why = NULL;

  g_test_summary ("Two nodes holding different entries at a committed index is an agreement "
                  "failure naming both nodes and the index.");
  dsm_entry_unref (f->c.entries->pdata[1]);
  f->c.entries->pdata[1] = command (8, 2, "m", "Stopped", "d", 1);
  g_assert_false (check (f, &invariant, &why, NULL));
  g_assert_cmpint (invariant, ==, DSM_INVARIANT_AGREEMENT);
  g_assert_cmpstr (why, ==, "nodes 1 and 3 hold different entries at committed index 8 (epochs 1 and 2)");
}

static void
test_lost_ack (Fixture *f, gconstpointer data)
{
  DsmInvariant invariant = DSM_INVARIANT_N;
  g_autofree char *why = NULL;

  g_test_summary ("A log that ends before an acknowledged index is a durability failure.");
  g_ptr_array_set_size (f->a.entries, 8);
  g_assert_false (check (f, &invariant, &why, NULL));
  g_assert_cmpint (invariant, ==, DSM_INVARIANT_DURABILITY);
  g_assert_true (g_str_has_prefix (why, "node 1's log ends at index 8, before acknowledged op 2"));
}

static void
test_replaced_ack (Fixture *f, gconstpointer data)
{
  DsmInvariant invariant = DSM_INVARIANT_N;
  g_autofree char *why = NULL;

  g_test_summary ("An acknowledged index holding another command on every node is a "
                  "durability failure (agreement alone would not see it).");
  DsmDurableState *logs[] = { &f->a, &f->b, &f->c };
  for (guint k = 0; k < G_N_ELEMENTS (logs); k++)
    {
      guint at = (guint) (9 - logs[k]->snapshot_index - 1);
      dsm_entry_unref (logs[k]->entries->pdata[at]);
      logs[k]->entries->pdata[at] = command (9, 1, "m", "Init", "other", 3);
    }
  g_assert_false (check (f, &invariant, &why, NULL));
  g_assert_cmpint (invariant, ==, DSM_INVARIANT_DURABILITY);
  g_assert_true (g_str_has_prefix (why, "node 1 holds another entry (epoch 1) at index 9 than acknowledged op 2"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/check/logs/agreeing", test_agreeing);
  ADD ("/check/logs/tail-past-commit", test_tail_past_commit);
  ADD ("/check/logs/disagreement", test_disagreement);
  ADD ("/check/logs/lost-ack", test_lost_ack);
  ADD ("/check/logs/replaced-ack", test_replaced_ack);
#undef ADD
  return g_test_run ();
}
