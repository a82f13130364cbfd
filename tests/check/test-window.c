/* tests/check/test-window.c: the smallest window of a non-linearizable
 * history (check/window.h): the replies it keeps contradict one another
 * with every other operation weakened, and each of them is needed. */
#include <string.h>

#include "check/linearizability.h"
#include "check/window.h"

static DsmHistoryOp *
add_op (GPtrArray *h, guint client, DsmOp kind, const char *requested, guint64 invoke_ms,
        guint64 complete_ms, const char *result, const char *state)
{
  DsmHistoryOp *op = dsm_history_op_new ();

  op->id = h->len + 1;
  op->client = client;
  op->op = kind;
  op->machine = g_strdup ("m");
  op->requested = g_strdup (requested);
  op->invoke_ms = invoke_ms;
  op->completed = strcmp (result, "pending") != 0;
  if (op->completed)
    {
      g_assert_true (dsm_reply_status_from_string (result, &op->status));
      op->complete_ms = complete_ms;
      op->state = g_strdup (state);
      if (op->status == DSM_REPLY_REJECTED)
        op->reason = DSM_REJECT_INVALID_TRANSITION;
    }
  g_ptr_array_add (h, op);
  return op;
}

static GPtrArray *
history_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
}

static gboolean
linearizable (GPtrArray *ops, DsmConfig *config)
{
  DsmLinearizabilityResult result = { 0 };
  gboolean ok = dsm_linearizability_check (ops, config, 0, &result);

  g_assert_false (result.inconclusive);
  dsm_linearizability_result_clear (&result);
  return ok;
}

/* The history with only the ops of @keep believed: what window.h promises
 * fails, and fails no more once any one of them is weakened too. */
static GPtrArray *
believe_only (GPtrArray *h, GPtrArray *keep, guint64 except_id)
{
  GPtrArray *out = history_new ();

  for (guint i = 0; i < h->len; i++)
    {
      const DsmHistoryOp *op = h->pdata[i];
      gboolean kept = FALSE;

      for (guint k = 0; k < keep->len && !kept; k++)
        kept = ((DsmHistoryOp *) keep->pdata[k])->id == op->id && op->id != except_id;
      if (kept || !op->completed || op->status == DSM_REPLY_UNKNOWN)
        g_ptr_array_add (out, dsm_history_op_copy (op));
      else if (op->op == DSM_OP_TRANSITION && op->status == DSM_REPLY_OK)
        {
          DsmHistoryOp *weak = dsm_history_op_copy (op);
          weak->status = DSM_REPLY_UNKNOWN;
          weak->index = 0;
          g_clear_pointer (&weak->state, g_free);
          g_ptr_array_add (out, weak);
        }
      else if (op->op == DSM_OP_TRANSITION && op->status == DSM_REPLY_REJECTED
               && op->reason != DSM_REJECT_INVALID_TRANSITION)
        g_ptr_array_add (out, dsm_history_op_copy (op));
    }
  return out;
}

static void
assert_window_minimal (GPtrArray *h, DsmConfig *config, const DsmWindow *w)
{
  g_autoptr(GPtrArray) only = believe_only (h, w->ops, 0);

  g_assert_true (w->minimal);
  g_assert_false (linearizable (only, config));
  for (guint k = 0; k < w->ops->len; k++)
    {
      g_autoptr(GPtrArray) fewer = believe_only (h, w->ops, ((DsmHistoryOp *) w->ops->pdata[k])->id);
      g_assert_true (linearizable (fewer, config));
    }
}

static void
test_stale_read (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(GPtrArray) h = history_new ();
  DsmWindow w = { 0 };

  g_test_summary ("A stale read among unrelated traffic shrinks to the write it missed and "
                  "the read itself.");
  add_op (h, 1, DSM_OP_READ, NULL, 0, 5, "ok", "Init");
  add_op (h, 1, DSM_OP_TRANSITION, "Running", 10, 20, "ok", "Running");
  add_op (h, 3, DSM_OP_TRANSITION, "Stopped", 1, 4, "rejected", "Init");
  add_op (h, 2, DSM_OP_READ, NULL, 30, 40, "ok", "Init");
  add_op (h, 1, DSM_OP_READ, NULL, 50, 60, "ok", "Running");
  g_assert_false (linearizable (h, config));
  g_assert_true (dsm_window_find (h, config, "m", 0, &w));
  g_assert_cmpuint (w.ops->len, ==, 2);
  g_assert_cmpuint (((DsmHistoryOp *) w.ops->pdata[0])->id, ==, 2);
  g_assert_cmpuint (((DsmHistoryOp *) w.ops->pdata[1])->id, ==, 4);
  g_assert_cmpuint (w.from_ms, ==, 10);
  g_assert_cmpuint (w.to_ms, ==, 40);
  assert_window_minimal (h, config, &w);
  dsm_window_clear (&w);
}

static void
test_unknown_is_never_dropped (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(GPtrArray) h = history_new ();
  DsmWindow w = { 0 };

  g_test_summary ("An unknown transition is weakened, never deleted: the window of 'it took "
                  "effect twice' keeps both reads of Running and the moves between them, not "
                  "a lone read that no write explains.");
  add_op (h, 1, DSM_OP_TRANSITION, "Running", 0, 10, "unknown", NULL);
  add_op (h, 2, DSM_OP_READ, NULL, 20, 30, "ok", "Running");
  add_op (h, 2, DSM_OP_TRANSITION, "Stopped", 40, 50, "ok", "Stopped");
  add_op (h, 2, DSM_OP_TRANSITION, "Init", 60, 70, "ok", "Init");
  add_op (h, 3, DSM_OP_READ, NULL, 80, 90, "ok", "Running");
  g_assert_true (dsm_window_find (h, config, "m", 0, &w));
  g_assert_cmpuint (w.ops->len, >=, 2);
  assert_window_minimal (h, config, &w);
  for (guint k = 0; k < w.ops->len; k++)
    g_assert_cmpuint (((DsmHistoryOp *) w.ops->pdata[k])->id, !=, 1);
  dsm_window_clear (&w);
}

static void
test_linearizable_has_none (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(GPtrArray) h = history_new ();
  DsmWindow w = { 0 };

  g_test_summary ("A linearizable machine has no window.");
  add_op (h, 1, DSM_OP_TRANSITION, "Running", 0, 10, "ok", "Running");
  add_op (h, 2, DSM_OP_READ, NULL, 20, 30, "ok", "Running");
  g_assert_false (dsm_window_find (h, config, "m", 0, &w));
  g_assert_null (w.ops);
}

static void
test_random_windows_minimal (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(GRand) rand = g_rand_new_with_seed (31);
  static const char *const states[] = { "Init", "Running", "Stopped" };
  guint n_windows = 0;

  g_test_summary ("On random small histories with random replies, every violation's window "
                  "fails with all else weakened and passes once any one of its replies is "
                  "weakened too.");
  for (guint i = 0; i < 400; i++)
    {
      g_autoptr(GPtrArray) h = history_new ();
      guint n_ops = (guint) g_rand_int_range (rand, 2, 12);
      DsmWindow w = { 0 };

      for (guint j = 0; j < n_ops; j++)
        {
          guint64 invoke = (guint64) g_rand_int_range (rand, 0, 40);
          guint64 complete = invoke + (guint64) g_rand_int_range (rand, 0, 15);
          const char *state = states[g_rand_int_range (rand, 0, 3)];
          gint kind = g_rand_int_range (rand, 0, 100);

          if (kind < 35)
            add_op (h, j + 1, DSM_OP_READ, NULL, invoke, complete, "ok", state);
          else
            {
              const char *to = states[g_rand_int_range (rand, 0, 3)];
              const char *result = kind < 75 ? "ok" : kind < 88 ? "rejected" : "unknown";
              add_op (h, j + 1, DSM_OP_TRANSITION, to, invoke, complete, result,
                      strcmp (result, "ok") == 0 ? to : strcmp (result, "rejected") == 0 ? state : NULL);
            }
        }
      if (linearizable (h, config))
        continue;
      g_assert_true (dsm_window_find (h, config, "m", 0, &w));
      g_assert_cmpuint (w.ops->len, >=, 1);
      assert_window_minimal (h, config, &w);
      dsm_window_clear (&w);
      n_windows++;
    }
  g_test_message ("%u violations, each window minimal", n_windows);
  g_assert_cmpuint (n_windows, >, 100);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/check/window/stale-read", test_stale_read);
  g_test_add_func ("/check/window/unknown-is-never-dropped", test_unknown_is_never_dropped);
  g_test_add_func ("/check/window/linearizable-has-none", test_linearizable_has_none);
  g_test_add_func ("/check/window/random-windows-minimal", test_random_windows_minimal);
  return g_test_run ();
}
