/* tests/check/test-linearizability.c: the client history's JSON lines and
 * the linearizability checker: one behaviour per hand-made history, then
 * seeded random histories that must pass, and mutations that must not. */
#include <string.h>

#include "check/history-file.h"
#include "check/history-pack.h"
#include "check/linearizability.h"
#include "seeds.h"

#define DOOR_JSON \
  "{\"name\": \"door\", \"states\": [\"Closed\", \"Open\", \"Locked\"]," \
  " \"initial\": \"Closed\", \"transitions\": [" \
  "{\"from\": \"Closed\", \"to\": \"Open\"}, {\"from\": \"Open\", \"to\": \"Closed\"}," \
  "{\"from\": \"Closed\", \"to\": \"Locked\"}, {\"from\": \"Locked\", \"to\": \"Closed\"}]}"

/* ---- building histories by hand ---- */

static GPtrArray *
history_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
}

/* @result: "ok", "rejected" (invalid_transition), "unknown" or "pending"
 * (@complete_ms ignored).  Ids count from 1 in the order ops are added. */
static DsmHistoryOp *
add_op (GPtrArray *history, guint client, const char *machine, DsmOp kind,
        const char *requested, guint64 invoke_ms, guint64 complete_ms, const char *result,
        const char *state)
{
  DsmHistoryOp *op = dsm_history_op_new ();

  op->id = history->len + 1;
  op->client = client;
  op->op = kind;
  op->machine = g_strdup (machine);
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
  g_ptr_array_add (history, op);
  return op;
}

/* A transition on machine "m". */
static DsmHistoryOp *
tr (GPtrArray *history, guint client, const char *to, guint64 invoke_ms, guint64 complete_ms,
    const char *result, const char *state)
{
  return add_op (history, client, "m", DSM_OP_TRANSITION, to, invoke_ms, complete_ms, result,
                 state);
}

/* An answered read of machine "m". */
static DsmHistoryOp *
rd (GPtrArray *history, guint client, guint64 invoke_ms, guint64 complete_ms, const char *state)
{
  return add_op (history, client, "m", DSM_OP_READ, NULL, invoke_ms, complete_ms, "ok", state);
}

static DsmConfig *
config_new (void)
{
  return dsm_config_new_default (3);
}

static void
assert_linearizable (GPtrArray *history, DsmConfig *config)
{
  DsmLinearizabilityResult result = { 0 };
  gboolean ok = dsm_linearizability_check (history, config, 0, &result);

  if (!ok)
    g_test_message ("machine %s: %s", result.machine, result.explanation);
  g_assert_true (ok);
  g_assert_true (result.linearizable);
  g_assert_false (result.inconclusive);
  g_assert_null (result.explanation);
  dsm_linearizability_result_clear (&result);
}

/* With DSM_PLANTED_DIR set, every history this file plants as a
 * violation is also written there as a history file named
 * planted-N-MACHINE.jsonl, so tests/check/test-dsm-check.c can show
 * dsm-check finds each of them too. */
static void
planted_dump (GPtrArray *history, DsmConfig *config, const char *machine)
{
  static guint n_dumped;
  const char *dir = g_getenv ("DSM_PLANTED_DIR");
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  if (dir == NULL)
    return;
  dsm_history_write_header (text, config);
  for (guint i = 0; i < history->len; i++)
    {
      dsm_history_op_write_json (text, g_ptr_array_index (history, i));
      g_string_append_c (text, '\n');
    }
  g_autofree char *name = g_strdup_printf ("planted-%03u-%s.jsonl", ++n_dumped, machine);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text->str, (gssize) text->len, &error));
  g_assert_no_error (error);
}

/* Returns: (transfer full): the explanation of the violation. */
static char *
assert_violation (GPtrArray *history, DsmConfig *config, const char *machine)
{
  DsmLinearizabilityResult result = { 0 };
  char *explanation;

  g_assert_false (dsm_linearizability_check (history, config, 0, &result));
  g_assert_false (result.linearizable);
  g_assert_false (result.inconclusive);
  g_assert_cmpstr (result.machine, ==, machine);
  g_assert_nonnull (result.explanation);
  g_test_message ("machine %s: %s", result.machine, result.explanation);
  explanation = g_steal_pointer (&result.explanation);
  dsm_linearizability_result_clear (&result);
  planted_dump (history, config, machine);
  return explanation;
}

static void
assert_contains (const char *text, const char *part)
{
  if (strstr (text, part) == NULL)
    g_error ("expected \"%s\" in:\n%s", part, text);
}

/* ---- behaviours, one history each ---- */

static void
test_sequential_legal (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("A sequential history that follows the lifecycle is linearizable.");
  rd (h, 1, 0, 5, "Init");
  tr (h, 1, "Running", 10, 20, "ok", "Running");
  rd (h, 2, 30, 35, "Running");
  tr (h, 2, "Stopped", 40, 50, "ok", "Stopped");
  tr (h, 1, "Init", 60, 70, "ok", "Init");
  rd (h, 1, 80, 90, "Init");
  assert_linearizable (h, config);
}

static void
test_concurrent_either_order (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) before = history_new ();
  g_autoptr(GPtrArray) after = history_new ();

  g_test_summary ("A read overlapping a write may see the state before or after it.");
  tr (before, 1, "Running", 10, 30, "ok", "Running");
  rd (before, 2, 15, 25, "Init");
  assert_linearizable (before, config);
  tr (after, 1, "Running", 10, 30, "ok", "Running");
  rd (after, 2, 15, 25, "Running");
  assert_linearizable (after, config);
}

static void
test_equal_times_concurrent (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("An op completing at t and one invoked at t are concurrent: either "
                  "may come first.");
  rd (h, 1, 10, 20, "Running");
  tr (h, 2, "Running", 20, 30, "ok", "Running");
  assert_linearizable (h, config);
}

static void
test_read_never_existing_state (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();
  g_autofree char *why = NULL;

  g_test_summary ("A read of a state the definition does not have is a violation.");
  tr (h, 1, "Running", 0, 10, "ok", "Running");
  rd (h, 2, 20, 30, "Paused");
  why = assert_violation (h, config, "m");
  assert_contains (why, "op 2 (client 2, 20-30 ms)");
  assert_contains (why, "\"Paused\"");
}

static void
test_stale_read (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();
  g_autofree char *why = NULL;

  g_test_summary ("A read invoked after a write completed must not return the old state; "
                  "the explanation names the read, its client, times and states.");
  tr (h, 1, "Running", 0, 10, "ok", "Running");
  rd (h, 2, 20, 30, "Init");
  rd (h, 3, 40, 50, "Running");
  why = assert_violation (h, config, "m");
  assert_contains (why, "The first reply that cannot be explained is op 2 (client 2, 20-30 ms): "
                        "read -> ok, state Init");
  assert_contains (why, "op 1 (client 1, 0-10 ms): transition to Running -> ok, state Running "
                        "=> Running");
  assert_contains (why, "it saw Init, but the state was Running");
}

static void
test_lost_write (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();
  g_autofree char *why = NULL;

  g_test_summary ("An acknowledged transition that a later read does not show (and no "
                  "other writer undid) is a violation.");
  tr (h, 1, "Running", 0, 10, "ok", "Running");
  tr (h, 1, "Stopped", 20, 30, "ok", "Stopped");
  rd (h, 2, 100, 110, "Running");
  why = assert_violation (h, config, "m");
  assert_contains (why, "op 3 ");
}

static void
test_double_start (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();
  g_autofree char *why = NULL;

  g_test_summary ("Two concurrent Init -> Running from different clients cannot both "
                  "succeed: only the first is legal.");
  tr (h, 1, "Running", 0, 20, "ok", "Running");
  tr (h, 2, "Running", 5, 25, "ok", "Running");
  why = assert_violation (h, config, "m");
  assert_contains (why, "Running -> Running is not a legal transition");
}

static void
test_one_start_one_rejected (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("Of two concurrent starts, one succeeding and one rejected seeing "
                  "Running is linearizable.");
  tr (h, 1, "Running", 0, 20, "ok", "Running");
  tr (h, 2, "Running", 5, 25, "rejected", "Running");
  assert_linearizable (h, config);
}

static void
test_rejected_wrong_state (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();
  g_autofree char *why = NULL;

  g_test_summary ("An invalid_transition rejection reporting a state that was never "
                  "current is a violation.");
  tr (h, 1, "Stopped", 0, 10, "rejected", "Stopped");
  why = assert_violation (h, config, "m");
  assert_contains (why, "it reported Stopped, but the state was Init");
}

static void
test_rejected_right_state (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("An invalid_transition rejection reporting the current state is fine.");
  tr (h, 1, "Stopped", 0, 10, "rejected", "Init");
  tr (h, 1, "Running", 20, 30, "ok", "Running");
  tr (h, 2, "Init", 40, 50, "rejected", "Running");
  assert_linearizable (h, config);
}

static void
test_rejected_legal_transition (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("Rejecting a transition that was legal at every possible point is a "
                  "violation.");
  tr (h, 1, "Running", 0, 10, "rejected", "Init");
  g_free (assert_violation (h, config, "m"));
}

static void
test_other_rejections_ignored (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();
  DsmHistoryOp *op;

  g_test_summary ("Rejections for other reasons (not_leader...) and unanswered reads had "
                  "no effect and observed nothing.");
  op = tr (h, 1, "Stopped", 0, 10, "rejected", "Stopped");
  op->reason = DSM_REJECT_NOT_LEADER;
  add_op (h, 2, "m", DSM_OP_READ, NULL, 0, 10, "unknown", "Stopped");
  add_op (h, 3, "m", DSM_OP_READ, NULL, 0, 0, "pending", NULL);
  rd (h, 1, 20, 30, "Init");
  assert_linearizable (h, config);
}

static void
test_unknown_took_effect (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("A transition answered unknown may have taken effect: a later read "
                  "showing it is linearizable.");
  tr (h, 1, "Running", 0, 10, "unknown", NULL);
  rd (h, 2, 20, 30, "Running");
  assert_linearizable (h, config);
}

static void
test_unknown_no_effect (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("A transition answered unknown may have had no effect: later reads of "
                  "the old state are linearizable.");
  tr (h, 1, "Running", 0, 10, "unknown", NULL);
  rd (h, 2, 20, 30, "Init");
  rd (h, 3, 40, 50, "Init");
  assert_linearizable (h, config);
}

static void
test_unknown_takes_effect_late (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("An unknown outcome returns at infinity: it may take effect long after "
                  "its reply, between two later reads.");
  tr (h, 1, "Running", 0, 10, "unknown", NULL);
  rd (h, 2, 20, 30, "Init");
  rd (h, 3, 40, 50, "Running");
  assert_linearizable (h, config);
}

static void
test_unknown_takes_effect_once (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("An op of unknown outcome takes effect at most once: it cannot explain "
                  "two starts.");
  tr (h, 1, "Running", 0, 10, "unknown", NULL);
  rd (h, 2, 20, 30, "Running");
  tr (h, 2, "Stopped", 40, 50, "ok", "Stopped");
  tr (h, 2, "Init", 60, 70, "ok", "Init");
  rd (h, 3, 80, 90, "Running");
  g_free (assert_violation (h, config, "m"));
}

static void
test_pending_both_ways (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) took = history_new ();
  g_autoptr(GPtrArray) not_took = history_new ();
  g_autoptr(GPtrArray) flip_flop = history_new ();

  g_test_summary ("A transition never answered may or may not have taken effect, but "
                  "not both.");
  tr (took, 1, "Running", 0, 0, "pending", NULL);
  rd (took, 2, 20, 30, "Running");
  assert_linearizable (took, config);

  tr (not_took, 1, "Running", 0, 0, "pending", NULL);
  rd (not_took, 2, 20, 30, "Init");
  assert_linearizable (not_took, config);

  tr (flip_flop, 1, "Running", 0, 0, "pending", NULL);
  rd (flip_flop, 2, 20, 30, "Running");
  rd (flip_flop, 2, 40, 50, "Init");
  g_free (assert_violation (flip_flop, config, "m"));
}

static void
test_compare_and_set (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) matched = history_new ();
  g_autoptr(GPtrArray) ok_mismatch = history_new ();
  g_autoptr(GPtrArray) rejected_mismatch = history_new ();
  g_autofree char *why = NULL;

  g_test_summary ("A transition with `from` is legal only when the state is `from`, "
                  "even when the move itself is allowed.");
  tr (matched, 1, "Running", 0, 10, "ok", "Running")->from = g_strdup ("Init");
  tr (matched, 1, "Stopped", 20, 30, "ok", "Stopped")->from = g_strdup ("Running");
  assert_linearizable (matched, config);

  tr (ok_mismatch, 1, "Running", 0, 10, "ok", "Running")->from = g_strdup ("Stopped");
  why = assert_violation (ok_mismatch, config, "m");
  assert_contains (why, "its from Stopped does not match the state Init");

  tr (rejected_mismatch, 1, "Running", 0, 10, "rejected", "Init")->from = g_strdup ("Stopped");
  rd (rejected_mismatch, 2, 20, 30, "Init");
  assert_linearizable (rejected_mismatch, config);
}

static void
test_independent_machines (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();
  DsmLinearizabilityResult result = { 0 };

  g_test_summary ("Instances are checked apart: concurrent starts of two machines are "
                  "fine, and a stale read is blamed on its own machine.");
  add_op (h, 1, "a", DSM_OP_TRANSITION, "Running", 0, 20, "ok", "Running");
  add_op (h, 2, "b", DSM_OP_TRANSITION, "Running", 5, 25, "ok", "Running");
  add_op (h, 3, "a", DSM_OP_READ, NULL, 30, 40, "ok", "Running");
  add_op (h, 3, "b", DSM_OP_READ, NULL, 50, 60, "ok", "Running");
  assert_linearizable (h, config);

  add_op (h, 1, "b", DSM_OP_READ, NULL, 70, 80, "ok", "Init");
  g_free (assert_violation (h, config, "b"));

  g_assert_false (dsm_linearizability_check (h, config, 0, &result));
  g_assert_cmpuint (result.ops_checked, ==, 5);
  dsm_linearizability_result_clear (&result);
}

/* A transition sent again with the same (client id, seq): one operation. */
static DsmHistoryOp *
retry (GPtrArray *history, guint client, const char *to, guint64 invoke_ms, guint64 complete_ms,
       const char *result, const char *state, guint64 index)
{
  DsmHistoryOp *op = tr (history, client, to, invoke_ms, complete_ms, result, state);
  op->client_id = g_strdup ("c");
  op->seq = 1;
  op->index = index;
  return op;
}

static void
test_retry_is_one_operation (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("Copies of one (client id, seq) are one operation: the cluster applies it "
                  "once and answers each copy with that outcome.");
  retry (h, 1, "Running", 0, 10, "ok", "Running", 2);
  retry (h, 1, "Running", 20, 30, "ok", "Running", 2);
  rd (h, 2, 40, 50, "Running");
  assert_linearizable (h, config);
}

static void
test_retry_after_unknown (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("An 'unknown' copy and a later copy that reports the outcome are one "
                  "operation, which may take effect from the first copy's invocation.");
  retry (h, 1, "Running", 0, 100, "unknown", NULL, 0);
  rd (h, 2, 40, 50, "Running");
  retry (h, 1, "Running", 200, 210, "ok", "Running", 2);
  assert_linearizable (h, config);
}

static void
test_retry_with_another_outcome (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GPtrArray) h = history_new ();

  g_test_summary ("Two copies of one (client id, seq) answered with different outcomes break "
                  "at-most-once: a violation.");
  retry (h, 1, "Running", 0, 10, "ok", "Running", 2);
  retry (h, 1, "Running", 20, 30, "ok", "Running", 5);
  g_autofree char *explanation = assert_violation (h, config, "m");
  assert_contains (explanation, "answered twice");
}

static DsmConfig *
config_new_with_door (void)
{
  DsmConfig *config = config_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, "{\"definitions\": [" DOOR_JSON "]}", -1,
                                             &error));
  g_assert_true (dsm_config_update_from_json (config, json_parser_get_root (parser), NULL, NULL,
                                              &error));
  g_assert_no_error (error);
  return config;
}

static DsmHistoryOp *
door_op (GPtrArray *history, guint client, DsmOp kind, const char *requested,
         guint64 invoke_ms, guint64 complete_ms, const char *result, const char *state)
{
  DsmHistoryOp *op = add_op (history, client, "front", kind, requested, invoke_ms, complete_ms,
                             result, state);

  op->definition = g_strdup ("door");
  return op;
}

static void
test_custom_definition (void)
{
  g_autoptr(DsmConfig) config = config_new_with_door ();
  g_autoptr(GPtrArray) legal = history_new ();
  g_autoptr(GPtrArray) illegal = history_new ();
  g_autofree char *why = NULL;

  g_test_summary ("Ops naming a definition from the config are checked against it: its "
                  "initial state and its transitions.");
  door_op (legal, 1, DSM_OP_READ, NULL, 0, 5, "ok", "Closed");
  door_op (legal, 1, DSM_OP_TRANSITION, "Open", 10, 20, "ok", "Open");
  door_op (legal, 2, DSM_OP_TRANSITION, "Locked", 30, 40, "rejected", "Open");
  door_op (legal, 2, DSM_OP_TRANSITION, "Closed", 50, 60, "ok", "Closed");
  door_op (legal, 1, DSM_OP_TRANSITION, "Locked", 70, 80, "ok", "Locked");
  /* Naming no definition means the instance's. */
  add_op (legal, 3, "front", DSM_OP_READ, NULL, 90, 95, "ok", "Locked");
  assert_linearizable (legal, config);

  door_op (illegal, 1, DSM_OP_TRANSITION, "Open", 10, 20, "ok", "Open");
  door_op (illegal, 1, DSM_OP_TRANSITION, "Locked", 30, 40, "ok", "Locked");
  why = assert_violation (illegal, config, "front");
  assert_contains (why, "Open -> Locked is not a legal transition");
}

static void
test_definition_chosen_by_creation (void)
{
  g_autoptr(DsmConfig) config = config_new_with_door ();
  g_autoptr(GPtrArray) h = history_new ();
  g_autoptr(GPtrArray) mismatch = history_new ();
  g_autofree char *why = NULL;

  g_test_summary ("Before any transition creates an instance, a read naming no "
                  "definition sees the default's initial state; the first transition "
                  "fixes the definition.");
  add_op (h, 1, "front", DSM_OP_READ, NULL, 0, 5, "ok", "Init");
  door_op (h, 2, DSM_OP_TRANSITION, "Open", 10, 20, "ok", "Open");
  add_op (h, 1, "front", DSM_OP_READ, NULL, 30, 35, "ok", "Open");
  assert_linearizable (h, config);

  door_op (mismatch, 2, DSM_OP_TRANSITION, "Open", 10, 20, "ok", "Open");
  add_op (mismatch, 1, "front", DSM_OP_TRANSITION, "Running", 30, 40, "ok", "Running")
    ->definition = g_strdup (DSM_MACHINE_LIFECYCLE);
  why = assert_violation (mismatch, config, "front");
  assert_contains (why, "it names definition \"lifecycle\", but the instance is a \"door\"");
}

/* ---- JSON lines ---- */

static void
assert_op_equal (const DsmHistoryOp *a, const DsmHistoryOp *b)
{
  g_assert_cmpuint (a->id, ==, b->id);
  g_assert_cmpuint (a->client, ==, b->client);
  g_assert_cmpstr (a->client_id, ==, b->client_id);
  g_assert_cmpuint (a->seq, ==, b->seq);
  g_assert_cmpint (a->op, ==, b->op);
  g_assert_cmpstr (a->machine, ==, b->machine);
  g_assert_cmpstr (a->definition, ==, b->definition);
  g_assert_cmpstr (a->from, ==, b->from);
  g_assert_cmpstr (a->requested, ==, b->requested);
  g_assert_cmpint (a->completed, ==, b->completed);
  g_assert_cmpint (a->reason, ==, b->reason);
  g_assert_cmpstr (a->state, ==, b->state);
  g_assert_cmpuint (a->index, ==, b->index);
  g_assert_cmpuint (a->invoke_ms, ==, b->invoke_ms);
  /* Meaningful only once completed (history.h). */
  if (a->completed)
    {
      g_assert_cmpint (a->status, ==, b->status);
      g_assert_cmpuint (a->complete_ms, ==, b->complete_ms);
    }
}

static char *
history_write (GPtrArray *history)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < history->len; i++)
    {
      dsm_history_op_write_json (out, g_ptr_array_index (history, i));
      g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

/* Writes @history, reads it back, and checks both the ops and the text. */
static void
assert_round_trip (GPtrArray *history)
{
  g_autofree char *text = history_write (history);
  g_autofree char *again = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) read = dsm_history_read (text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_nonnull (read);
  g_assert_cmpuint (read->len, ==, history->len);
  for (guint i = 0; i < read->len; i++)
    assert_op_equal (g_ptr_array_index (history, i), g_ptr_array_index (read, i));
  again = history_write (read);
  g_assert_cmpstr (again, ==, text);
}

static void
test_history_round_trip (void)
{
  g_autoptr(GPtrArray) h = history_new ();
  g_autoptr(GPtrArray) no_newline = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autoptr(DsmHistoryOp) copy = NULL;
  DsmHistoryOp *op;

  g_test_summary ("Every kind of op survives JSON lines unchanged, escaped names "
                  "included; the final newline is optional.");
  op = tr (h, 1, "Running", 10, 20, "ok", "Running");
  op->client_id = g_strdup ("client-1");
  op->seq = 4;
  op->from = g_strdup ("Init");
  op->definition = g_strdup (DSM_MACHINE_LIFECYCLE);
  op->index = 7;
  tr (h, 2, "Stopped", 15, 25, "rejected", "Running");
  op = tr (h, 3, "Init", 30, 90, "unknown", NULL);
  op->reason = DSM_REJECT_STALE_REQUEST;
  tr (h, 4, "Init", 40, 0, "pending", NULL);
  rd (h, 5, 50, 50, "Running");
  add_op (h, 1, "m \"quoted\" \\ caf\xc3\xa9", DSM_OP_READ, NULL, 60, 61, "ok", "Init");
  op = add_op (h, 2, "m", DSM_OP_TRANSITION, "Running", 70, 71, "rejected", NULL);
  op->reason = DSM_REJECT_NOT_LEADER;
  op = g_ptr_array_index (h, 0);
  op->id = (G_GUINT64_CONSTANT (1) << 53);
  assert_round_trip (h);

  copy = dsm_history_op_copy (op);
  assert_op_equal (copy, op);
  g_assert_true (copy->machine != op->machine);

  text = history_write (h);
  no_newline = dsm_history_read (text, strlen (text) - 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (no_newline->len, ==, h->len);
}

static void
test_history_pending_form (void)
{
  g_autoptr(GPtrArray) h = history_new ();
  g_autofree char *text = NULL;

  g_test_summary ("A pending op writes \"result\":\"pending\" and no complete_ms.");
  tr (h, 4, "Init", 40, 0, "pending", NULL);
  text = history_write (h);
  g_assert_cmpstr (text, ==,
                   "{\"id\":1,\"client\":4,\"seq\":0,\"op\":\"transition\",\"machine\":\"m\","
                   "\"requested\":\"Init\",\"result\":\"pending\",\"invoke_ms\":40}\n");
}

#define GOOD_LINE \
  "{\"id\":1,\"client\":1,\"seq\":0,\"op\":\"read\",\"machine\":\"m\",\"result\":\"ok\"," \
  "\"state\":\"Init\",\"index\":0,\"invoke_ms\":1,\"complete_ms\":2}\n"

typedef struct {
  const char *line;
  DsmHistoryError code;
  const char *message_prefix;
} BadLine;

static const BadLine bad_lines[] = {
  { "not json", DSM_HISTORY_ERROR_PARSE, "line 2: byte 0: unexpected word" },
  { "", DSM_HISTORY_ERROR_PARSE, "line 2: empty line" },
  { "{\"id\":2} {}", DSM_HISTORY_ERROR_PARSE, "line 2: byte 9: trailing data" },
  { "[1, 2]", DSM_HISTORY_ERROR_TYPE, "line 2: expected an object, found an array" },
  { "{\"client\":1,\"seq\":0,\"op\":\"read\",\"machine\":\"m\",\"result\":\"ok\",\"index\":0,"
    "\"invoke_ms\":1,\"complete_ms\":2}",
    DSM_HISTORY_ERROR_MISSING, "line 2: id: required key is missing" },
  { "{\"id\":2,\"client\":\"one\",\"seq\":0,\"op\":\"read\",\"machine\":\"m\",\"result\":\"ok\","
    "\"index\":0,\"invoke_ms\":1,\"complete_ms\":2}",
    DSM_HISTORY_ERROR_TYPE, "line 2: client: expected a non-negative integer, found \"one\"" },
  { "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"read\",\"machine\":\"m\",\"result\":\"ok\","
    "\"index\":0,\"invoke_ms\":-1,\"complete_ms\":2}",
    DSM_HISTORY_ERROR_TYPE, "line 2: invoke_ms: expected a non-negative integer, found -1" },
  { "{\"id\":2.5,\"client\":1,\"seq\":0,\"op\":\"read\",\"machine\":\"m\",\"result\":\"ok\","
    "\"index\":0,\"invoke_ms\":1,\"complete_ms\":2}",
    DSM_HISTORY_ERROR_TYPE, "line 2: id: expected a non-negative integer, found 2.5" },
  { "{\"id\":9007199254740993,\"client\":1,\"seq\":0,\"op\":\"read\",\"machine\":\"m\","
    "\"result\":\"ok\",\"index\":0,\"invoke_ms\":1,\"complete_ms\":2}",
    DSM_HISTORY_ERROR_TYPE, "line 2: id: expected a non-negative integer, found 9007199254740993, more than 9007199254740992" },
  { "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"write\",\"machine\":\"m\",\"result\":\"ok\","
    "\"index\":0,\"invoke_ms\":1,\"complete_ms\":2}",
    DSM_HISTORY_ERROR_UNKNOWN, "line 2: op: expected \"transition\" or \"read\"" },
  { "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"read\",\"machine\":\"m\",\"result\":\"maybe\","
    "\"index\":0,\"invoke_ms\":1,\"complete_ms\":2}",
    DSM_HISTORY_ERROR_UNKNOWN, "line 2: result: expected \"ok\"" },
  { "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"read\",\"machine\":\"m\",\"result\":\"ok\","
    "\"index\":0,\"invoke_ms\":1,\"complete_ms\":2,\"colour\":\"red\"}",
    DSM_HISTORY_ERROR_UNKNOWN, "line 2: colour: unknown key (known: id, client, client_id, seq, op, machine, definition, from, requested, result, reason, state, payload, if_revision, output, revision, data, index, invoke_ms, complete_ms)" },
  { "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"transition\",\"machine\":\"m\",\"result\":\"ok\","
    "\"index\":0,\"invoke_ms\":1,\"complete_ms\":2}",
    DSM_HISTORY_ERROR_MISSING, "line 2: requested: a transition needs" },
  { "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"read\",\"machine\":\"m\",\"requested\":\"Init\","
    "\"result\":\"ok\",\"index\":0,\"invoke_ms\":1,\"complete_ms\":2}",
    DSM_HISTORY_ERROR_INVALID, "line 2: requested: a read requests no state" },
  { "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"transition\",\"machine\":\"m\","
    "\"requested\":\"Init\",\"result\":\"rejected\",\"index\":0,\"invoke_ms\":1,"
    "\"complete_ms\":2}",
    DSM_HISTORY_ERROR_MISSING, "line 2: reason: a rejection needs" },
  { "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"transition\",\"machine\":\"m\","
    "\"requested\":\"Init\",\"result\":\"rejected\",\"reason\":\"because\",\"index\":0,"
    "\"invoke_ms\":1,\"complete_ms\":2}",
    DSM_HISTORY_ERROR_UNKNOWN, "line 2: reason: no such reason" },
  { "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"read\",\"machine\":\"m\",\"result\":\"ok\","
    "\"index\":0,\"invoke_ms\":9,\"complete_ms\":5}",
    DSM_HISTORY_ERROR_INVALID, "line 2: complete_ms: 5 is before invoke_ms 9" },
  { "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"transition\",\"machine\":\"m\","
    "\"requested\":\"Init\",\"result\":\"pending\",\"invoke_ms\":1,\"complete_ms\":2}",
    DSM_HISTORY_ERROR_INVALID, "line 2: complete_ms: a pending operation never completed" },
  { "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"transition\",\"machine\":\"m\","
    "\"requested\":\"Init\",\"result\":\"pending\",\"state\":\"Init\",\"invoke_ms\":1}",
    DSM_HISTORY_ERROR_INVALID, "line 2: state: a pending operation was told nothing" },
  { "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"read\",\"machine\":\"m\",\"result\":\"ok\","
    "\"index\":0,\"invoke_ms\":1}",
    DSM_HISTORY_ERROR_MISSING, "line 2: complete_ms: required key is missing" },
  { "{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"read\",\"machine\":\"m\\u0001\",\"result\":\"ok\","
    "\"index\":0,\"invoke_ms\":1,\"complete_ms\":2}",
    DSM_HISTORY_ERROR_INVALID, "line 2: machine: " },
  { "{\"id\":1,\"client\":1,\"seq\":0,\"op\":\"read\",\"machine\":\"m\",\"result\":\"ok\","
    "\"index\":0,\"invoke_ms\":1,\"complete_ms\":2}",
    DSM_HISTORY_ERROR_INVALID, "line 2: id: 1 is already the id on line 1" },
};

static void
test_history_bad_lines (void)
{
  g_test_summary ("A bad history line is an error naming the line and the field; the "
                  "reader never aborts.");

  for (guint i = 0; i < G_N_ELEMENTS (bad_lines); i++)
    {
      g_autofree char *text = g_strconcat (GOOD_LINE, bad_lines[i].line, "\n", NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) ops = dsm_history_read (text, strlen (text), &error);

      g_test_message ("bad line %u: %s", i, error != NULL ? error->message : "(accepted)");
      g_assert_null (ops);
      g_assert_error (error, DSM_HISTORY_ERROR, (gint) bad_lines[i].code);
      if (!g_str_has_prefix (error->message, bad_lines[i].message_prefix))
        g_error ("bad line %u: expected \"%s...\", got \"%s\"", i, bad_lines[i].message_prefix,
                 error->message);
    }
}

/* ---- random linearizable histories ---- */

#define RANDOM_CLIENTS_MAX 8

static const char *const lifecycle_states[] = { "Init", "Running", "Stopped" };

/* The shape of a random history. */
typedef struct {
  guint n_ops;
  guint n_clients;
  guint n_machines;
  guint unknown_percent;  /* of transitions */
  guint step_ms_max;      /* between consecutive linearization points */
  guint jitter_ms_max;    /* invocation before and completion after its point */
} RandomShape;

/* Dense: intervals span ~10 points, every client usually busy. */
static const RandomShape shape_dense = { 300, 5, 1, 8, 4, 20 };
/* Dense with 8 clients. */
static const RandomShape shape_dense_8 = { 300, 8, 1, 8, 4, 20 };
/* 8 clients over 3 instances. */
static const RandomShape shape_machines = { 300, 8, 3, 8, 4, 20 };
/* Sparse: 2-3 ops in flight, few unknowns, so one changed state usually
 * shows. */
static const RandomShape shape_sparse = { 300, 5, 1, 2, 8, 6 };

/* A sequential lifecycle execution, each op given a random interval
 * around its linearization point; every client has one op at a time.
 * Some transitions end unknown (taking effect or not), 5% are rejected as
 * not_leader, some clients' last unknown op is left pending; the result
 * is shuffled. */
static GPtrArray *
random_history (guint32 seed, const RandomShape *shape)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  GPtrArray *h = history_new ();
  guint64 busy_until[RANDOM_CLIENTS_MAX] = { 0 };
  DsmHistoryOp *last[RANDOM_CLIENTS_MAX] = { NULL };
  guint current[4] = { 0 };
  guint64 point = 100;
  guint n_clients = shape->n_clients;
  guint unknown_percent = shape->unknown_percent;
  gint32 jitter = (gint32) shape->jitter_ms_max + 1;

  g_assert (n_clients <= RANDOM_CLIENTS_MAX && shape->n_machines <= G_N_ELEMENTS (current));
  for (guint i = 0; i < shape->n_ops; i++)
    {
      guint machine = (guint) g_rand_int_range (rand, 0, (gint32) shape->n_machines);
      g_autofree char *name = g_strdup_printf ("m%u", machine);
      guint *cur = &current[machine];
      guint client = (guint) g_rand_int_range (rand, 0, (gint32) n_clients);
      DsmHistoryOp *op;

      point += (guint64) g_rand_int_range (rand, 0, (gint32) shape->step_ms_max + 1);
      /* The first free client from a random start; if all are busy, wait. */
      for (guint j = 0; j < n_clients && busy_until[client] >= point; j++)
        client = (client + 1) % n_clients;
      if (busy_until[client] >= point)
        {
          for (guint c = 0; c < n_clients; c++)
            if (busy_until[c] < busy_until[client])
              client = c;
          point = busy_until[client] + 1;
        }
      if (g_rand_int_range (rand, 0, 100) < 35)
        {
          gboolean answered = g_rand_int_range (rand, 0, 100) < 90;

          op = add_op (h, client + 1, name, DSM_OP_READ, NULL, 0, 0, answered ? "ok" : "unknown",
                       answered ? lifecycle_states[*cur] : NULL);
        }
      else
        {
          guint to = g_rand_int_range (rand, 0, 100) < 60 ? (*cur + 1) % 3
                                                          : (guint) g_rand_int_range (rand, 0, 3);
          gint from = -1;
          gboolean legal;
          gint outcome = g_rand_int_range (rand, 0, 100);

          if (g_rand_int_range (rand, 0, 100) < 20)
            from = g_rand_boolean (rand) ? (gint) *cur : g_rand_int_range (rand, 0, 3);
          legal = (from < 0 || (guint) from == *cur) && to == (*cur + 1) % 3;
          if (legal && outcome < 95 - (gint) unknown_percent)
            {
              *cur = to;
              op = add_op (h, client + 1, name, DSM_OP_TRANSITION, lifecycle_states[to], 0, 0,
                           "ok", lifecycle_states[to]);
            }
          else if (!legal && outcome < 95 - (gint) unknown_percent)
            op = add_op (h, client + 1, name, DSM_OP_TRANSITION, lifecycle_states[to], 0, 0,
                         "rejected", lifecycle_states[*cur]);
          else if (outcome < 95)
            {
              /* Unknown: a legal one takes effect or not, a coin decides. */
              if (legal && g_rand_boolean (rand))
                *cur = to;
              op = add_op (h, client + 1, name, DSM_OP_TRANSITION, lifecycle_states[to], 0, 0,
                           "unknown", NULL);
            }
          else
            {
              op = add_op (h, client + 1, name, DSM_OP_TRANSITION, lifecycle_states[to], 0, 0,
                           "rejected", NULL);
              op->reason = DSM_REJECT_NOT_LEADER;
            }
          if (from >= 0)
            op->from = g_strdup (lifecycle_states[from]);
        }
      op->invoke_ms = MAX (busy_until[client] + 1,
                           point - MIN (point, (guint64) g_rand_int_range (rand, 0, jitter)));
      op->complete_ms = point + (guint64) g_rand_int_range (rand, 0, jitter);
      busy_until[client] = op->complete_ms;
      last[client] = op;
    }
  for (guint c = 0; c < n_clients; c++)
    if (last[c] != NULL && last[c]->op == DSM_OP_TRANSITION && last[c]->completed
        && last[c]->status == DSM_REPLY_UNKNOWN && g_rand_boolean (rand))
      {
        last[c]->completed = FALSE;
        last[c]->complete_ms = 0;
        last[c]->reason = DSM_REJECT_NONE;
      }
  for (guint i = h->len; i > 1; i--)
    {
      guint j = (guint) g_rand_int_range (rand, 0, (gint32) i);
      gpointer swap = h->pdata[i - 1];

      h->pdata[i - 1] = h->pdata[j];
      h->pdata[j] = swap;
    }
  return h;
}

/* Random histories per stress test (fewer under DSM_TEST_FEWER_SEEDS). */
#define STRESS_HISTORIES dsm_test_seeds (40)

/* Checks @STRESS_HISTORIES random histories of @shape, all of which must
 * pass; returns the mean milliseconds per check. */
static double
check_random_linearizable (DsmConfig *config, const RandomShape *shape, guint32 first_seed,
                           gboolean round_trip)
{
  gint64 total_us = 0;
  guint64 total_states = 0;

  for (guint32 seed = first_seed; seed < first_seed + STRESS_HISTORIES; seed++)
    {
      g_autoptr(GPtrArray) h = random_history (seed, shape);
      DsmLinearizabilityResult result = { 0 };
      gint64 start = g_get_monotonic_time ();
      gboolean ok = dsm_linearizability_check (h, config, 0, &result);

      total_us += g_get_monotonic_time () - start;
      total_states += result.states_explored;
      if (!ok || result.inconclusive)
        g_error ("random_history (seed %u, %u ops, %u clients): machine %s: %s", seed,
                 shape->n_ops, shape->n_clients, result.machine, result.explanation);
      g_assert_cmpuint (result.machines_checked, ==, shape->n_machines);
      dsm_linearizability_result_clear (&result);
      if (round_trip)
        assert_round_trip (h);
    }
  g_test_message ("%u histories of %u ops, %u clients, %u instances: %.3f ms and %.0f "
                  "states per history", STRESS_HISTORIES, shape->n_ops, shape->n_clients,
                  shape->n_machines, total_us / 1000.0 / STRESS_HISTORIES,
                  (double) total_states / STRESS_HISTORIES);
  return total_us / 1000.0 / STRESS_HISTORIES;
}

static void
test_random_linearizable (void)
{
  g_autoptr(DsmConfig) config = config_new ();

  g_test_summary ("Random histories made from a sequential execution (5 or 8 clients, "
                  "300 ops, unknown and pending outcomes) are all linearizable.");
  check_random_linearizable (config, &shape_dense, 1, FALSE);
  check_random_linearizable (config, &shape_dense_8, 1000, FALSE);
  check_random_linearizable (config, &shape_sparse, 2000, FALSE);
}

static void
test_random_linearizable_machines (void)
{
  g_autoptr(DsmConfig) config = config_new ();

  g_test_summary ("Random histories over 3 instances and 8 clients are linearizable and "
                  "survive JSON lines.");
  check_random_linearizable (config, &shape_machines, 100, TRUE);
}

/* A random op that reported a state, optionally only reads. */
static DsmHistoryOp *
random_observer (GPtrArray *h, GRand *rand, gboolean reads_only)
{
  for (;;)
    {
      DsmHistoryOp *op = g_ptr_array_index (h, g_rand_int_range (rand, 0, (gint32) h->len));

      if (op->completed && op->state != NULL && (!reads_only || op->op == DSM_OP_READ)
          && (op->status == DSM_REPLY_OK || op->reason == DSM_REJECT_INVALID_TRANSITION))
        return op;
    }
}

static void
test_random_mutated_never_existing (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  g_test_summary ("A random history with one read changed to a state that never existed "
                  "is a violation naming that read.");
  for (guint32 seed = 1; seed <= STRESS_HISTORIES; seed++)
    {
      g_autoptr(GPtrArray) h = random_history (seed, &shape_dense);
      DsmHistoryOp *op = random_observer (h, rand, TRUE);
      g_autofree char *why = NULL;
      g_autofree char *id = NULL;

      g_free (op->state);
      op->state = g_strdup ("Bogus");
      why = assert_violation (h, config, "m0");
      id = g_strdup_printf ("op %" G_GUINT64_FORMAT " ", op->id);
      assert_contains (why, id);
    }
}

/* Changes @op's reported state to another state of the lifecycle. */
static void
mutate_state (DsmHistoryOp *op, GRand *rand)
{
  const char *other;

  do
    other = lifecycle_states[g_rand_int_range (rand, 0, 3)];
  while (strcmp (other, op->state) == 0);
  g_free (op->state);
  op->state = g_strdup (other);
}

static void
test_random_mutated_states (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  guint n_violations = 0;
  gint64 total_us = 0;

  g_test_summary ("Changing one observed state of a random history to another real "
                  "state makes most of them violations (the rest are still explained by "
                  "concurrent or unknown ops).");
  for (guint32 seed = 1; seed <= STRESS_HISTORIES; seed++)
    {
      g_autoptr(GPtrArray) h = random_history (seed, &shape_sparse);
      DsmLinearizabilityResult result = { 0 };
      gint64 start;

      mutate_state (random_observer (h, rand, FALSE), rand);
      start = g_get_monotonic_time ();
      if (!dsm_linearizability_check (h, config, 0, &result))
        {
          n_violations++;
          planted_dump (h, config, result.machine);
        }
      total_us += g_get_monotonic_time () - start;
      g_assert_false (result.inconclusive);
      dsm_linearizability_result_clear (&result);
    }
  g_test_message ("%u of %u mutated histories are violations; %.3f ms per check",
                  n_violations, STRESS_HISTORIES, total_us / 1000.0 / STRESS_HISTORIES);
  g_assert_cmpuint (n_violations * 3, >=, STRESS_HISTORIES * 2);
}

/* ---- one machine at a time (dsm_linearizability_check_each) ---- */

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The ops of one machine, in history order. */
static void
each_get_ops (const char *machine, GPtrArray *ops, gpointer user_data)
{
  GPtrArray *history = user_data;

  for (guint i = 0; i < history->len; i++)
    if (strcmp (((const DsmHistoryOp *) history->pdata[i])->machine, machine) == 0)
      g_ptr_array_add (ops, history->pdata[i]);
}

/* Checks @history whole and one machine at a time: the same result in
 * every field.  Returns the verdict. */
static gboolean
assert_each_matches_whole (GPtrArray *history, DsmConfig *config, guint64 max_states)
{
  DsmLinearizabilityResult whole = { 0 }, each = { 0 };
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < history->len; i++)
    g_hash_table_add (names, ((DsmHistoryOp *) history->pdata[i])->machine);
  guint n = 0;
  g_autofree const char **machines = (const char **) g_hash_table_get_keys_as_array (names, &n);
  qsort (machines, n, sizeof *machines, compare_strings);

  gboolean ok = dsm_linearizability_check (history, config, max_states, &whole);
  g_assert_cmpint (dsm_linearizability_check_each (machines, n, each_get_ops, history, config, max_states, &each),
                   ==, ok);
  g_assert_cmpint (each.linearizable, ==, whole.linearizable);
  g_assert_cmpint (each.inconclusive, ==, whole.inconclusive);
  g_assert_cmpstr (each.machine, ==, whole.machine);
  g_assert_cmpstr (each.explanation, ==, whole.explanation);
  g_assert_cmpuint (each.states_explored, ==, whole.states_explored);
  g_assert_cmpuint (each.machines_checked, ==, whole.machines_checked);
  g_assert_cmpuint (each.ops_checked, ==, whole.ops_checked);
  dsm_linearizability_result_clear (&whole);
  dsm_linearizability_result_clear (&each);
  return ok;
}

static void
test_each_matches_whole (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (13);
  static const RandomShape shape_four = { 200, 8, 4, 8, 4, 20 };
  guint n_violations = 0, n_inconclusive = 0;

  g_test_summary ("Checking a history one machine at a time, as the simulator hands it "
                  "over from its packed form, gives the whole check's result in every field "
                  "(verdict, machine named, explanation, states, counts): for linearizable "
                  "histories over four machines, for ones with an observed state changed, "
                  "and at a small budget where searches run out.");
  for (guint32 seed = 1; seed <= STRESS_HISTORIES; seed++)
    {
      g_autoptr(GPtrArray) h = random_history (seed, &shape_four);
      g_assert_true (assert_each_matches_whole (h, config, 0));
      mutate_state (random_observer (h, rand, FALSE), rand);
      if (g_rand_boolean (rand))
        mutate_state (random_observer (h, rand, FALSE), rand);
      if (!assert_each_matches_whole (h, config, 0))
        n_violations++;
      DsmLinearizabilityResult small = { 0 };
      dsm_linearizability_check (h, config, 40, &small);
      n_inconclusive += small.inconclusive ? 1 : 0;
      dsm_linearizability_result_clear (&small);
      assert_each_matches_whole (h, config, 40);
    }
  g_test_message ("%u violations and %u inconclusive at 40 states, of %u histories", n_violations,
                  n_inconclusive, STRESS_HISTORIES);
  g_assert_cmpuint (n_violations, >, 0);
  g_assert_cmpuint (n_inconclusive, >, 0);
}

/* ---- the packed history (check/history-pack.h) ---- */

/* @op as its JSON line and its description. */
static char *
op_text (const DsmHistoryOp *op)
{
  g_autoptr(GString) text = g_string_new (NULL);

  dsm_history_op_write_json (text, op);
  g_string_append_c (text, '\n');
  dsm_history_op_describe (text, op);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
assert_same_op (const DsmHistoryOp *a, const DsmHistoryOp *b)
{
  g_autofree char *ta = op_text (a);
  g_autofree char *tb = op_text (b);

  g_assert_cmpstr (ta, ==, tb);
  g_assert_cmpuint (a->id, ==, b->id);
  g_assert_cmpuint (a->client, ==, b->client);
  g_assert_cmpint (a->op, ==, b->op);
  g_assert_cmpstr (a->client_id, ==, b->client_id);
  g_assert_cmpuint (a->seq, ==, b->seq);
  g_assert_cmpstr (a->machine, ==, b->machine);
  g_assert_cmpstr (a->definition, ==, b->definition);
  g_assert_cmpstr (a->from, ==, b->from);
  g_assert_cmpstr (a->requested, ==, b->requested);
  g_assert_cmpint (a->completed, ==, b->completed);
  g_assert_cmpint (a->status, ==, b->status);
  g_assert_cmpint (a->reason, ==, b->reason);
  g_assert_cmpint (a->has_if_revision, ==, b->has_if_revision);
  g_assert_cmpuint (a->if_revision, ==, b->if_revision);
  g_assert_cmpstr (a->state, ==, b->state);
  g_assert_cmpstr (a->payload, ==, b->payload);
  g_assert_cmpstr (a->output, ==, b->output);
  g_assert_cmpint (a->has_revision, ==, b->has_revision);
  g_assert_cmpuint (a->revision, ==, b->revision);
  g_assert_cmpstr (a->data, ==, b->data);
  g_assert_cmpuint (a->index, ==, b->index);
  g_assert_cmpuint (a->invoke_ms, ==, b->invoke_ms);
  g_assert_cmpuint (a->complete_ms, ==, b->complete_ms);
}

/* A copy of @op with its names interned in @names, as the simulator
 * records it. */
static DsmHistoryOp *
op_interned (const DsmHistoryOp *op, DsmNames *names)
{
  DsmHistoryOp *copy = dsm_history_op_copy (op);

  g_free (copy->client_id);
  g_free (copy->machine);
  g_free (copy->definition);
  g_free (copy->from);
  g_free (copy->requested);
  g_free (copy->state);
  copy->names_interned = TRUE;
  copy->client_id = (char *) dsm_names_intern (names, op->client_id);
  copy->machine = (char *) dsm_names_intern (names, op->machine);
  copy->definition = (char *) dsm_names_intern (names, op->definition);
  copy->from = (char *) dsm_names_intern (names, op->from);
  copy->requested = (char *) dsm_names_intern (names, op->requested);
  copy->state = (char *) dsm_names_intern (names, op->state);
  return copy;
}

static void
test_history_pack (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (17);
  /* Past one chunk of records. */
  static const RandomShape shape_long = { 5000, 8, 4, 8, 4, 20 };
  g_autoptr(GPtrArray) h = random_history (3, &shape_long);
  g_autoptr(DsmNames) names = dsm_names_new ();
  g_autoptr(DsmHistoryPack) pack = dsm_history_pack_new (names);
  g_autoptr(GPtrArray) live = g_ptr_array_new ();

  g_test_summary ("Ops packed into the compact history read back equal to what was sealed, "
                  "field by field and as JSON lines, with every optional field (client id, "
                  "definition, from, payload, output, data, revisions, huge numbers) and "
                  "unsealed ops in flight read as they are.");
  for (guint i = 0; i < h->len; i++)
    {
      DsmHistoryOp *op = h->pdata[i];
      op->id = i + 1;
      switch (g_rand_int_range (rand, 0, 9))
        {
        case 0:
          op->client_id = g_strdup_printf ("c%u", op->client);
          op->seq = g_rand_boolean (rand) ? i + 1 : (G_GUINT64_CONSTANT (1) << 53) - 1;
          break;
        case 1:
          op->definition = g_strdup ("lifecycle");
          break;
        case 2:
          if (op->op == DSM_OP_TRANSITION)
            {
              op->payload = g_strdup ("{\"n\":1}");
              op->has_if_revision = TRUE;
              op->if_revision = g_rand_boolean (rand) ? 0 : 7;
            }
          break;
        case 4:
          /* Past the record's 16-bit client and 32-bit times. */
          op->client += G_MAXUINT16;
          op->invoke_ms += G_GUINT64_CONSTANT (1) << 33;
          if (op->completed)
            op->complete_ms += G_GUINT64_CONSTANT (1) << 33;
          break;
        case 3:
          if (op->completed && op->status == DSM_REPLY_OK)
            {
              op->has_revision = TRUE;
              op->revision = op->index = (G_GUINT64_CONSTANT (1) << 53) - 1 - i;
              if (op->op == DSM_OP_READ)
                op->data = g_strdup ("{\"k\":\"v\"}");
              else
                op->output = g_strdup ("{}");
            }
          break;
        default:
          break;
        }
    }
  for (guint i = 0; i < h->len; i++)
    {
      DsmHistoryOp *in = op_interned (h->pdata[i], names);
      dsm_history_pack_add (pack, in);
      if (g_rand_int_range (rand, 0, 10) > 0)
        dsm_history_pack_seal (pack, in->id);
      else
        g_ptr_array_add (live, in);
    }
  g_assert_cmpuint (dsm_history_pack_get_len (pack), ==, h->len);
  for (guint i = 0; i < h->len; i++)
    {
      DsmHistoryOp scratch;
      const DsmHistoryOp *op = dsm_history_pack_get (pack, i, &scratch);
      assert_same_op (op, h->pdata[i]);
      g_assert_true (op->names_interned);
      g_assert_true (op->machine == dsm_names_intern (names, op->machine));
      g_assert_cmpuint (dsm_history_pack_get_machine (pack, i), ==, dsm_names_find (names, op->machine));
      g_assert_cmpuint (dsm_names_id_of (names, op->state), ==, dsm_names_find (names, op->state));
      g_assert_true (dsm_names_get (names, dsm_names_id_of (names, op->machine)) == op->machine);
    }
  /* An op in flight is the caller's to change until it is sealed. */
  for (guint i = 0; i < live->len; i++)
    {
      DsmHistoryOp *op = live->pdata[i];
      DsmHistoryOp scratch;
      g_assert_true (dsm_history_pack_get (pack, (guint) op->id - 1, &scratch) == op);
      op->complete_ms += 1000;
      g_autoptr(DsmHistoryOp) expected = dsm_history_op_copy (op);
      dsm_history_pack_seal (pack, expected->id);
      assert_same_op (dsm_history_pack_get (pack, (guint) expected->id - 1, &scratch), expected);
    }
  g_assert_cmpuint (dsm_history_pack_get_record_bytes (pack), ==, 2 * 4096 * 48);
}

static void
test_budget_inconclusive (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  g_autoptr(GPtrArray) h = NULL;
  DsmLinearizabilityResult result = { 0 };

  g_test_summary ("A search past max_states is inconclusive, not a violation, even on a "
                  "history that is one.");
  /* A violation whose search needs more than the budget to find it. */
  for (guint32 seed = 1; h == NULL; seed++)
    {
      g_autoptr(GPtrArray) candidate = random_history (seed, &shape_dense);

      g_assert_cmpuint (seed, <, 100);
      mutate_state (random_observer (candidate, rand, TRUE), rand);
      if (!dsm_linearizability_check (candidate, config, 0, &result)
          && result.states_explored > 1000)
        h = g_steal_pointer (&candidate);
      dsm_linearizability_result_clear (&result);
    }

  g_assert_true (dsm_linearizability_check (h, config, 50, &result));
  g_assert_true (result.linearizable);
  g_assert_true (result.inconclusive);
  g_assert_cmpstr (result.machine, ==, "m0");
  assert_contains (result.explanation, "budget of 50 states");
  g_assert_cmpuint (result.states_explored, <=, 51);
  dsm_linearizability_result_clear (&result);
}

/* ---- a brute-force oracle for small histories ---- */

/* The specification of linearizability.h read literally, on one lifecycle
 * instance: try every op that no remaining definite op completed before;
 * definite ops must produce their reply, uncertain transitions take
 * effect (when legal) or vanish. */
static gboolean
brute_force (GPtrArray *ops, gboolean *done, const DsmMachineDef *def, const char *state)
{
  gboolean any_left = FALSE;

  for (guint i = 0; i < ops->len; i++)
    {
      const DsmHistoryOp *x = g_ptr_array_index (ops, i);
      gboolean uncertain = x->op == DSM_OP_TRANSITION
                           && (!x->completed || x->status == DSM_REPLY_UNKNOWN);
      gboolean legal;
      gboolean blocked = FALSE;
      gboolean fits = FALSE;
      const char *next = state;

      if (done[i])
        continue;
      any_left = TRUE;
      for (guint j = 0; j < ops->len && !blocked; j++)
        {
          const DsmHistoryOp *y = g_ptr_array_index (ops, j);
          gboolean y_definite = y->completed && y->status != DSM_REPLY_UNKNOWN;

          blocked = !done[j] && j != i && y_definite && y->complete_ms < x->invoke_ms;
        }
      if (blocked)
        continue;
      legal = x->op == DSM_OP_TRANSITION && (x->from == NULL || strcmp (x->from, state) == 0)
              && dsm_machine_def_allows (def, state, x->requested);
      if (x->op == DSM_OP_READ)
        fits = strcmp (x->state, state) == 0;
      else if (uncertain)
        {
          done[i] = TRUE;
          if (brute_force (ops, done, def, state))
            return TRUE;
          done[i] = FALSE;
          fits = legal;
          next = x->requested;
        }
      else if (x->status == DSM_REPLY_OK)
        {
          fits = legal && (x->state == NULL || strcmp (x->state, x->requested) == 0);
          next = x->requested;
        }
      else
        fits = !legal && (x->state == NULL || strcmp (x->state, state) == 0);
      if (!fits)
        continue;
      done[i] = TRUE;
      if (brute_force (ops, done, def, next))
        return TRUE;
      done[i] = FALSE;
    }
  return !any_left;
}

/* 2-9 ops of every kind on one instance, intervals anywhere in 0-30 ms,
 * replies chosen at random (so most histories are violations). */
static GPtrArray *
random_small_history (GRand *rand)
{
  GPtrArray *h = history_new ();
  guint n_ops = (guint) g_rand_int_range (rand, 2, 10);

  for (guint i = 0; i < n_ops; i++)
    {
      guint64 invoke_ms = (guint64) g_rand_int_range (rand, 0, 30);
      guint64 complete_ms = invoke_ms + (guint64) g_rand_int_range (rand, 0, 12);
      const char *state = lifecycle_states[g_rand_int_range (rand, 0, 3)];
      gint kind = g_rand_int_range (rand, 0, 100);

      if (kind < 35)
        rd (h, i + 1, invoke_ms, complete_ms, state);
      else
        {
          const char *to = lifecycle_states[g_rand_int_range (rand, 0, 3)];
          const char *result = kind < 70 ? "ok" : kind < 85 ? "rejected"
                               : kind < 93 ? "unknown" : "pending";
          DsmHistoryOp *op = tr (h, i + 1, to, invoke_ms, complete_ms, result,
                                 strcmp (result, "ok") == 0 && g_rand_int_range (rand, 0, 4) > 0
                                     ? to
                                 : strcmp (result, "rejected") == 0 ? state
                                                                     : NULL);

          if (g_rand_int_range (rand, 0, 5) == 0)
            op->from = g_strdup (lifecycle_states[g_rand_int_range (rand, 0, 3)]);
        }
    }
  return h;
}

/* A short random linearizable history, one observed state changed half
 * of the time. */
static GPtrArray *
random_near_miss (GRand *rand, guint32 seed)
{
  RandomShape shape = { (guint) g_rand_int_range (rand, 2, 10), 3, 1, 25, 4, 20 };
  GPtrArray *h = random_history (seed, &shape);
  g_autoptr(GPtrArray) observers = g_ptr_array_new ();

  for (guint i = 0; i < h->len; i++)
    {
      DsmHistoryOp *op = g_ptr_array_index (h, i);

      if (op->completed && op->state != NULL)
        g_ptr_array_add (observers, op);
    }
  if (observers->len > 0 && g_rand_boolean (rand))
    {
      DsmHistoryOp *op = g_ptr_array_index (observers,
                                            g_rand_int_range (rand, 0, (gint32) observers->len));

      g_free (op->state);
      op->state = g_strdup (lifecycle_states[g_rand_int_range (rand, 0, 3)]);
    }
  return h;
}

static void
test_matches_brute_force (void)
{
  g_autoptr(DsmConfig) config = config_new ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (2024);
  const DsmMachineDef *def = dsm_config_find_definition (config, NULL);
  guint n_linearizable = 0;
  const guint n_histories = 20000;

  g_test_summary ("On thousands of small random histories the checker's verdict equals "
                  "a brute-force search over every order and every unknown outcome.");
  for (guint i = 0; i < n_histories; i++)
    {
      g_autoptr(GPtrArray) h = i % 2 == 0 ? random_small_history (rand)
                                          : random_near_miss (rand, i);
      g_autofree gboolean *done = g_new0 (gboolean, h->len);
      DsmLinearizabilityResult result = { 0 };
      gboolean expected;
      gboolean found = dsm_linearizability_check (h, config, 0, &result);

      /* Ops that had no effect and observed nothing are out of the story. */
      for (guint j = 0; j < h->len; j++)
        {
          const DsmHistoryOp *op = g_ptr_array_index (h, j);

          done[j] = op->op == DSM_OP_READ
                        ? !op->completed || op->status != DSM_REPLY_OK || op->state == NULL
                        : op->completed && op->status == DSM_REPLY_REJECTED
                              && op->reason != DSM_REJECT_INVALID_TRANSITION;
        }
      expected = brute_force (h, done, def, dsm_machine_def_get_initial (def));

      if (found != expected)
        {
          g_autofree char *text = history_write (h);

          g_error ("history %u: brute force says %s, the checker %s (%s):\n%s", i,
                   expected ? "linearizable" : "violation", found ? "linearizable" : "violation",
                   result.explanation, text);
        }
      n_linearizable += expected;
      dsm_linearizability_result_clear (&result);
    }
  g_test_message ("%u of %u random small histories are linearizable", n_linearizable,
                  n_histories);
  g_assert_cmpuint (n_linearizable, >, n_histories / 4);
  g_assert_cmpuint (n_linearizable, <, n_histories * 3 / 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/check/linearizability/sequential-legal", test_sequential_legal);
  g_test_add_func ("/check/linearizability/concurrent-either-order", test_concurrent_either_order);
  g_test_add_func ("/check/linearizability/equal-times-concurrent", test_equal_times_concurrent);
  g_test_add_func ("/check/linearizability/read-never-existing-state",
                   test_read_never_existing_state);
  g_test_add_func ("/check/linearizability/stale-read", test_stale_read);
  g_test_add_func ("/check/linearizability/lost-write", test_lost_write);
  g_test_add_func ("/check/linearizability/double-start", test_double_start);
  g_test_add_func ("/check/linearizability/one-start-one-rejected", test_one_start_one_rejected);
  g_test_add_func ("/check/linearizability/rejected-wrong-state", test_rejected_wrong_state);
  g_test_add_func ("/check/linearizability/rejected-right-state", test_rejected_right_state);
  g_test_add_func ("/check/linearizability/rejected-legal-transition",
                   test_rejected_legal_transition);
  g_test_add_func ("/check/linearizability/other-rejections-ignored", test_other_rejections_ignored);
  g_test_add_func ("/check/linearizability/unknown-took-effect", test_unknown_took_effect);
  g_test_add_func ("/check/linearizability/unknown-no-effect", test_unknown_no_effect);
  g_test_add_func ("/check/linearizability/unknown-takes-effect-late",
                   test_unknown_takes_effect_late);
  g_test_add_func ("/check/linearizability/unknown-takes-effect-once",
                   test_unknown_takes_effect_once);
  g_test_add_func ("/check/linearizability/pending-both-ways", test_pending_both_ways);
  g_test_add_func ("/check/linearizability/compare-and-set", test_compare_and_set);
  g_test_add_func ("/check/linearizability/independent-machines", test_independent_machines);
  g_test_add_func ("/check/linearizability/retry-is-one-operation", test_retry_is_one_operation);
  g_test_add_func ("/check/linearizability/retry-after-unknown", test_retry_after_unknown);
  g_test_add_func ("/check/linearizability/retry-with-another-outcome", test_retry_with_another_outcome);
  g_test_add_func ("/check/linearizability/custom-definition", test_custom_definition);
  g_test_add_func ("/check/linearizability/definition-chosen-by-creation",
                   test_definition_chosen_by_creation);
  g_test_add_func ("/check/history/round-trip", test_history_round_trip);
  g_test_add_func ("/check/history/pending-form", test_history_pending_form);
  g_test_add_func ("/check/history/bad-lines", test_history_bad_lines);
  g_test_add_func ("/check/linearizability/random-linearizable", test_random_linearizable);
  g_test_add_func ("/check/linearizability/random-linearizable-machines",
                   test_random_linearizable_machines);
  g_test_add_func ("/check/linearizability/random-mutated-never-existing",
                   test_random_mutated_never_existing);
  g_test_add_func ("/check/linearizability/random-mutated-states", test_random_mutated_states);
  g_test_add_func ("/check/linearizability/budget-inconclusive", test_budget_inconclusive);
  g_test_add_func ("/check/linearizability/each-matches-whole", test_each_matches_whole);
  g_test_add_func ("/check/history/pack", test_history_pack);
  g_test_add_func ("/check/linearizability/matches-brute-force", test_matches_brute_force);

  return g_test_run ();
}
