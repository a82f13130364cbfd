/* tests/plugin/test-plugin-spec.c: the linearizability checker judges a
 * machine plugin's history by the plugin's own apply (check/plugin-spec.h):
 * it accepts what the machine could have answered, in some order the
 * clients' real time allows, and names what it could not, including the
 * replies of a replicated ledger whose apply is not deterministic. */
#include "check/plugin-spec.h"
#include "plugin/plugin.h"
#include "tool.h"

#include <string.h>

static DsmPlugin *
load (const char *path)
{
  g_autoptr(GError) error = NULL;
  DsmPlugin *plugin = dsm_plugin_load (path, &error);

  g_assert_no_error (error);
  return plugin;
}

/* Appends an op of machine "bank" to @ops; @output only for ok replies. */
static void
add_op (GPtrArray *ops, guint64 invoke_ms, guint64 complete_ms, const char *op_name,
        const char *payload, const char *result, const char *output)
{
  DsmHistoryOp *op = dsm_history_op_new ();

  op->id = ops->len + 1;
  op->client = (guint) ops->len % 3;
  op->op = DSM_OP_TRANSITION;
  op->machine = g_strdup ("bank");
  op->definition = g_strdup ("bank-ledger");
  op->requested = g_strdup (op_name);
  op->payload = g_strdup (payload);
  op->invoke_ms = invoke_ms;
  if (strcmp (result, "pending") != 0)
    {
      op->completed = TRUE;
      op->complete_ms = complete_ms;
      g_assert_true (dsm_reply_status_from_string (result, &op->status));
      if (op->status == DSM_REPLY_REJECTED)
        op->reason = DSM_REJECT_INVALID_TRANSITION;
      op->output = g_strdup (output);
    }
  g_ptr_array_add (ops, op);
}

static GPtrArray *
ops_new_opened (void)
{
  GPtrArray *ops = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);

  add_op (ops, 0, 5, "open", "{\"account\":\"a\"}", "ok", "{\"account\":\"a\",\"balance\":0}");
  add_op (ops, 6, 9, "open", "{\"account\":\"b\"}", "ok", "{\"balance\":0,\"account\":\"b\"}");
  add_op (ops, 10, 15, "deposit", "{\"account\":\"a\",\"amount\":100}", "ok", "{\"account\":\"a\",\"balance\":100}");
  return ops;
}

static gboolean
check (GPtrArray *ops, const char *path, DsmLinearizabilityResult *result)
{
  g_autoptr(DsmPlugin) plugin = load (path);

  return dsm_plugin_spec_check (ops, dsm_plugin_get_impl (plugin), 0, result);
}

static void
test_concurrent_transfers (void)
{
  g_autoptr(GPtrArray) ops = ops_new_opened ();
  DsmLinearizabilityResult result = { 0 };

  g_test_summary ("Two concurrent transfers of 60 from 100: one ok and one refused is a legal history, in either order.");
  add_op (ops, 20, 40, "transfer", "{\"from\":\"a\",\"to\":\"b\",\"amount\":60}", "rejected", NULL);
  add_op (ops, 21, 30, "transfer", "{\"from\":\"a\",\"to\":\"b\",\"amount\":60}", "ok",
          "{\"from_balance\":40,\"to_balance\":60}");
  add_op (ops, 50, 55, "balance", "{\"account\":\"b\"}", "ok", "{\"account\":\"b\",\"balance\":60}");
  g_assert_true (check (ops, BANK_LEDGER_PATH, &result));
  g_assert_true (result.linearizable);
  g_assert_cmpuint (result.machines_checked, ==, 1);
  g_assert_cmpuint (result.ops_checked, ==, 6);
  dsm_linearizability_result_clear (&result);
}

static void
test_overdraft_caught (void)
{
  g_autoptr(GPtrArray) ops = ops_new_opened ();
  DsmLinearizabilityResult result = { 0 };

  g_test_summary ("Both concurrent transfers of 60 from 100 reported ok is an overdraft the ledger's own validate refuses: a violation naming it.");
  add_op (ops, 20, 40, "transfer", "{\"from\":\"a\",\"to\":\"b\",\"amount\":60}", "ok", NULL);
  add_op (ops, 21, 30, "transfer", "{\"from\":\"a\",\"to\":\"b\",\"amount\":60}", "ok", NULL);
  g_assert_false (check (ops, BANK_LEDGER_PATH, &result));
  g_assert_false (result.linearizable);
  g_assert_cmpstr (result.machine, ==, "bank");
  if (strstr (result.explanation, "has 40, cannot transfer 60") == NULL)
    g_error ("explanation: %s", result.explanation);
  dsm_linearizability_result_clear (&result);
}

static void
test_wrong_output_caught (void)
{
  g_autoptr(GPtrArray) ops = ops_new_opened ();
  DsmLinearizabilityResult result = { 0 };

  g_test_summary ("An ok reply whose result is not what apply answers in any legal order is a violation.");
  add_op (ops, 20, 30, "deposit", "{\"account\":\"b\",\"amount\":5}", "ok", "{\"account\":\"b\",\"balance\":6}");
  g_assert_false (check (ops, BANK_LEDGER_PATH, &result));
  if (strstr (result.explanation, "the machine answers {\"account\":\"b\",\"balance\":5}") == NULL)
    g_error ("explanation: %s", result.explanation);
  dsm_linearizability_result_clear (&result);
}

static void
test_unknown_either_way (void)
{
  DsmLinearizabilityResult result = { 0 };

  g_test_summary ("A command whose outcome is unknown may have taken effect or not: reads after it decide, and both are legal.");
  for (guint took = 0; took < 2; took++)
    {
      g_autoptr(GPtrArray) ops = ops_new_opened ();
      add_op (ops, 20, 0, "deposit", "{\"account\":\"a\",\"amount\":1}", took ? "unknown" : "pending", NULL);
      add_op (ops, 30, 35, "balance", "{\"account\":\"a\"}", "ok",
              took ? "{\"account\":\"a\",\"balance\":101}" : "{\"account\":\"a\",\"balance\":100}");
      g_assert_true (check (ops, BANK_LEDGER_PATH, &result));
      dsm_linearizability_result_clear (&result);
    }
}

static void
test_real_time_order (void)
{
  g_autoptr(GPtrArray) ops = ops_new_opened ();
  DsmLinearizabilityResult result = { 0 };

  g_test_summary ("A balance read after a deposit completed must see it: real time orders operations that do not overlap.");
  add_op (ops, 20, 25, "deposit", "{\"account\":\"a\",\"amount\":1}", "ok", NULL);
  add_op (ops, 26, 30, "balance", "{\"account\":\"a\"}", "ok", "{\"account\":\"a\",\"balance\":100}");
  g_assert_false (check (ops, BANK_LEDGER_PATH, &result));
  dsm_linearizability_result_clear (&result);
}

/* Three replicas of @path apply the same commands in the same (log) order,
 * as dsm's nodes do, and the first one's results are what the clients are
 * told; the history is what they saw. */
static GPtrArray *
replicated_history (const char *path)
{
  g_autoptr(DsmPlugin) plugin = load (path);
  const DsmMachineImpl *impl = dsm_plugin_get_impl (plugin);
  GPtrArray *ops = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
  gpointer replicas[3];
  static const char *const log[][2] = {
    { "open", "{\"account\":\"a\"}" },
    { "open", "{\"account\":\"b\"}" },
    { "deposit", "{\"account\":\"a\",\"amount\":50}" },
    { "transfer", "{\"from\":\"a\",\"to\":\"b\",\"amount\":30}" },
    { "transfer", "{\"from\":\"a\",\"to\":\"b\",\"amount\":30}" },
    { "transfer", "{\"from\":\"b\",\"to\":\"a\",\"amount\":40}" },
    { "transfer", "{\"from\":\"a\",\"to\":\"b\",\"amount\":45}" },
    { "transfer", "{\"from\":\"b\",\"to\":\"a\",\"amount\":40}" },
    { "balance", "{\"account\":\"a\"}" },
    { "balance", "{\"account\":\"b\"}" },
  };

  for (guint r = 0; r < 3; r++)
    replicas[r] = impl->state_new ();
  for (guint i = 0; i < G_N_ELEMENTS (log); i++)
    {
      g_autofree char *output = NULL;
      gboolean ok = FALSE;
      for (guint r = 0; r < 3; r++)
        {
          g_autofree char *message = NULL;
          g_autofree char *applied = NULL;
          gboolean valid = impl->validate (replicas[r], log[i][0], log[i][1], &message);
          if (valid)
            applied = impl->apply (replicas[r], log[i][0], log[i][1]);
          if (r == 0)
            {
              ok = valid;
              output = g_steal_pointer (&applied);
            }
        }
      add_op (ops, 10 * i, 10 * i + 5, log[i][0], log[i][1], ok ? "ok" : "rejected", output);
    }
  for (guint r = 0; r < 3; r++)
    impl->state_free (replicas[r]);
  return ops;
}

static void
test_planted_bug_caught (void)
{
  DsmLinearizabilityResult result = { 0 };

  g_test_summary ("The ledger built with its planted non-deterministic transfer check, replicated three times, "
                  "tells clients what its own apply cannot explain: the checker catches it; the correct ledger passes.");
  g_autoptr(GPtrArray) good = replicated_history (BANK_LEDGER_PATH);
  g_assert_true (check (good, BANK_LEDGER_PATH, &result));
  dsm_linearizability_result_clear (&result);

  g_autoptr(GPtrArray) bad = replicated_history (BANK_LEDGER_BUG_PATH);
  g_assert_false (check (bad, BANK_LEDGER_BUG_PATH, &result));
  g_assert_false (result.linearizable);
  g_assert_false (result.inconclusive);
  g_test_message ("caught: %s", result.explanation);
  dsm_linearizability_result_clear (&result);
}

/* Writes @ops as a history file dsm-check reads. */
static char *
write_history (const char *dir, const char *name, GPtrArray *ops)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  for (guint i = 0; i < ops->len; i++)
    {
      dsm_history_op_write_json (text, ops->pdata[i]);
      g_string_append_c (text, '\n');
    }
  g_assert_true (g_file_set_contents (path, text->str, (gssize) text->len, &error));
  g_assert_no_error (error);
  return path;
}

static void
test_dsm_check (void)
{
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autoptr(GPtrArray) good = replicated_history (BANK_LEDGER_PATH);
  g_autoptr(GPtrArray) bad = replicated_history (BANK_LEDGER_BUG_PATH);
  g_autofree char *good_path = write_history (dir, "good.jsonl", good);
  g_autofree char *bad_path = write_history (dir, "bad.jsonl", bad);

  g_test_summary ("dsm-check --plugin judges a history file's plugin machines by the plugin's apply: "
                  "exit 0 for the correct ledger's history, 1 naming the machine for the planted bug's.");
  Result r = run_cmd (NULL, DSM_CHECK, "--plugin", BANK_LEDGER_PATH, good_path, NULL);
  assert_status (&r, 0);
  assert_contains (r.out, "plugin bank-ledger 1.0.0: linearizable by its own apply, 1 machines, 10 operations");
  result_clear (&r);

  r = run_cmd (NULL, DSM_CHECK, "--plugin", BANK_LEDGER_BUG_PATH, bad_path, NULL);
  assert_status (&r, 1);
  assert_contains (r.out, "plugin bank-ledger 1.0.0: VIOLATION on machine \"bank\"");
  assert_contains (r.out, "verdict: violation");
  result_clear (&r);

  r = run_cmd (NULL, DSM_CHECK, "--plugin", "/nonexistent/libx.so", good_path, NULL);
  assert_status (&r, 2);
  assert_contains (r.err, "/nonexistent/libx.so: no such plugin file");
  result_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plugin/spec/concurrent-transfers", test_concurrent_transfers);
  g_test_add_func ("/plugin/spec/overdraft-caught", test_overdraft_caught);
  g_test_add_func ("/plugin/spec/wrong-output-caught", test_wrong_output_caught);
  g_test_add_func ("/plugin/spec/unknown-either-way", test_unknown_either_way);
  g_test_add_func ("/plugin/spec/real-time-order", test_real_time_order);
  g_test_add_func ("/plugin/spec/planted-bug-caught", test_planted_bug_caught);
  g_test_add_func ("/plugin/spec/dsm-check", test_dsm_check);
  return g_test_run ();
}
