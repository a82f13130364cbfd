/* tests/check/test-checker.c: the online and end-of-run checkers
 * (check/checker.h), each shown a hand-made violation through the DsmChecker
 * API: a checker is trusted only once it has caught one (DESIGN.md
 * section 3).  Entries, apply results and history ops are built by hand
 * (core/entry.h, core/outbox.h, check/history.h); the machine is the
 * built-in lifecycle, Init -> Running -> Stopped -> Init. */
#include <string.h>

#include "check/checker.h"

typedef struct {
  DsmConfig *config;
  DsmChecker *checker;
  GPtrArray *entries;  /* DsmEntry, the tests' (the checker keeps digests, not entries) */
  GPtrArray *history;  /* DsmHistoryOp */
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->config = dsm_config_new_default (3);
  f->checker = dsm_checker_new (f->config, DSM_INVARIANTS_ALL);
  f->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  f->history = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  dsm_checker_free (f->checker);
  g_ptr_array_unref (f->entries);
  g_ptr_array_unref (f->history);
  dsm_config_unref (f->config);
}

/* ---- building blocks ---- */

static DsmEntry *
noop (Fixture *f, guint64 index, guint64 epoch)
{
  DsmEntry *e = dsm_entry_new (index, epoch, DSM_ENTRY_NOOP, NULL);

  g_ptr_array_add (f->entries, e);
  return e;
}

/* A transition of @machine to @to; @client_id NULL: no session. */
static DsmEntry *
command (Fixture *f, guint64 index, guint64 epoch, const char *machine, const char *to,
         const char *client_id, guint64 seq)
{
  DsmCommand cmd = {
    .op = DSM_OP_TRANSITION,
    .client_id = (char *) client_id,
    .seq = client_id != NULL ? seq : 0,
    .machine = (char *) machine,
    .to = (char *) to,
  };
  DsmEntry *e = dsm_entry_new (index, epoch, DSM_ENTRY_COMMAND, &cmd);

  g_ptr_array_add (f->entries, e);
  return e;
}

/* An entry of @cmd (copied). */
static DsmEntry *
command_with (Fixture *f, guint64 index, guint64 epoch, const DsmCommand *cmd)
{
  DsmEntry *e = dsm_entry_new (index, epoch, DSM_ENTRY_COMMAND, cmd);

  g_ptr_array_add (f->entries, e);
  return e;
}

/* Node @id applies @e with the given outcome. */
static void
apply_full (Fixture *f, DsmNodeId id, DsmEntry *e, DsmReplyStatus status, DsmRejectReason reason,
            const char *from, const char *state, gboolean duplicate)
{
  DsmApplied applied = {
    .entry = e,
    .result = {
      .index = e->index,
      .epoch = e->epoch,
      .status = status,
      .reason = reason,
      .duplicate = duplicate,
      .result_index = e->index,
      .from = from,
      .state = state,
    },
  };
  dsm_checker_apply (f->checker, 10 * e->index, id, &applied);
}

static void
apply_ok (Fixture *f, DsmNodeId id, DsmEntry *e, const char *from, const char *to)
{
  apply_full (f, id, e, DSM_REPLY_OK, DSM_REJECT_NONE, from, to, FALSE);
}

static void
apply_noop (Fixture *f, DsmNodeId id, DsmEntry *e)
{
  apply_full (f, id, e, DSM_REPLY_OK, DSM_REJECT_NONE, NULL, NULL, FALSE);
}

static void
apply_rejected (Fixture *f, DsmNodeId id, DsmEntry *e, const char *current)
{
  apply_full (f, id, e, DSM_REPLY_REJECTED, DSM_REJECT_INVALID_TRANSITION, current, current, FALSE);
}

/* A transition op the client saw answered ok at @index. */
static DsmHistoryOp *
acked_op (Fixture *f, guint client, const char *machine, const char *to, const char *client_id,
          guint64 seq, guint64 index, guint64 invoke_ms, guint64 complete_ms)
{
  DsmHistoryOp *op = dsm_history_op_new ();

  op->id = f->history->len + 1;
  op->client = client;
  op->client_id = g_strdup (client_id);
  op->seq = client_id != NULL ? seq : 0;
  op->op = DSM_OP_TRANSITION;
  op->machine = g_strdup (machine);
  op->requested = g_strdup (to);
  op->completed = TRUE;
  op->status = DSM_REPLY_OK;
  op->state = g_strdup (to);
  op->index = index;
  op->invoke_ms = invoke_ms;
  op->complete_ms = complete_ms;
  g_ptr_array_add (f->history, op);
  return op;
}

static DsmHistoryOp *
read_op (Fixture *f, guint client, const char *machine, const char *state, guint64 invoke_ms,
         guint64 complete_ms)
{
  DsmHistoryOp *op = dsm_history_op_new ();

  op->id = f->history->len + 1;
  op->client = client;
  op->op = DSM_OP_READ;
  op->machine = g_strdup (machine);
  op->completed = TRUE;
  op->status = DSM_REPLY_OK;
  op->state = g_strdup (state);
  op->invoke_ms = invoke_ms;
  op->complete_ms = complete_ms;
  g_ptr_array_add (f->history, op);
  return op;
}

static void
assert_ok (Fixture *f)
{
  if (!dsm_checker_ok (f->checker))
    g_error ("unexpected %s violation: %s", dsm_invariant_to_string (dsm_checker_get_failed (f->checker)),
             dsm_checker_get_message (f->checker));
}

static void
assert_failed (Fixture *f, DsmInvariant invariant, const char *fragment)
{
  g_assert_false (dsm_checker_ok (f->checker));
  g_test_message ("%s: %s", dsm_invariant_to_string (dsm_checker_get_failed (f->checker)),
                  dsm_checker_get_message (f->checker));
  g_assert_cmpstr (dsm_invariant_to_string (dsm_checker_get_failed (f->checker)), ==,
                   dsm_invariant_to_string (invariant));
  g_assert_nonnull (strstr (dsm_checker_get_message (f->checker), fragment));
}

/* Every node applies the first leader's no-op at index 1, then
 * m: Init -> Running at index 2 (client c1, seq 1). */
static void
clean_prefix (Fixture *f)
{
  DsmEntry *e1 = noop (f, 1, 1);
  DsmEntry *e2 = command (f, 2, 1, "m", "Running", "c1", 1);

  dsm_checker_leader (f->checker, 5, 1, 1);
  for (DsmNodeId id = 1; id <= 3; id++)
    {
      apply_noop (f, id, e1);
      apply_ok (f, id, e2, "Init", "Running");
    }
}

/* ---- a clean run ---- */

static void
test_clean (Fixture *f, gconstpointer data)
{
  g_test_summary ("A correct sequence (one leader per epoch, the same entries and outcomes "
                  "everywhere, legal transitions, acks that match, a linearizable history, every "
                  "live node caught up) passes every checker.");
  clean_prefix (f);
  DsmHistoryOp *op = acked_op (f, 0, "m", "Running", "c1", 1, 2, 15, 25);
  dsm_checker_acked (f->checker, 25, op);
  read_op (f, 1, "m", "Running", 30, 40);

  /* Epoch 2: another leader; a rejected illegal move; a duplicate retry. */
  dsm_checker_leader (f->checker, 50, 2, 2);
  dsm_checker_leader (f->checker, 60, 2, 2); /* the same leader, seen again */
  DsmEntry *e3 = noop (f, 3, 2);
  DsmEntry *e4 = command (f, 4, 2, "m", "Init", "c2", 1);
  DsmEntry *e5 = command (f, 5, 2, "m", "Running", "c1", 1);
  DsmEntry *e6 = command (f, 6, 2, "m", "Stopped", NULL, 0);
  for (DsmNodeId id = 1; id <= 3; id++)
    {
      apply_noop (f, id, e3);
      apply_rejected (f, id, e4, "Running");
      apply_full (f, id, e5, DSM_REPLY_OK, DSM_REJECT_NONE, "Init", "Running", TRUE);
      apply_ok (f, id, e6, "Running", "Stopped");
    }
  assert_ok (f);

  guint64 applied[3] = { 6, 6, 6 };
  dsm_checker_finish (f->checker, 100, f->history, applied, 3);
  assert_ok (f);
  g_assert_cmpuint (dsm_checker_get_committed (f->checker), ==, 6);
}

/* ---- election safety ---- */

static void
test_two_leaders (Fixture *f, gconstpointer data)
{
  g_test_summary ("Two nodes leading one epoch violate election safety.");
  dsm_checker_leader (f->checker, 10, 1, 4);
  dsm_checker_leader (f->checker, 20, 2, 5);
  assert_ok (f);
  dsm_checker_leader (f->checker, 30, 3, 4);
  assert_failed (f, DSM_INVARIANT_ELECTION_SAFETY, "nodes 1 and 3 are both leaders of epoch 4");
  g_assert_cmpuint (dsm_checker_get_failed_at (f->checker), ==, 30);
}

/* ---- agreement ---- */

static void
test_different_entries (Fixture *f, gconstpointer data)
{
  g_test_summary ("Two nodes applying different entries at one index violate agreement.");
  DsmEntry *a = command (f, 1, 1, "m", "Running", "c1", 1);
  DsmEntry *b = command (f, 1, 2, "m", "Running", "c2", 1);

  apply_ok (f, 1, a, "Init", "Running");
  apply_ok (f, 2, b, "Init", "Running");
  assert_failed (f, DSM_INVARIANT_AGREEMENT, "nodes 1 and 2 applied different entries at index 1");
}

static void
test_wide_numbers (Fixture *f, gconstpointer data)
{
  g_test_summary ("A committed record keeps epochs, seqs and node ids past its 32 (16) bits "
                  "whole: the messages name them, and an ack is matched on the whole seq.");
  guint64 epoch = G_GUINT64_CONSTANT (1) << 33, seq = G_GUINT64_CONSTANT (1) << 40;
  DsmEntry *a = command (f, 1, epoch, "m", "Running", "c1", seq);

  apply_ok (f, 70000, a, "Init", "Running");
  dsm_checker_acked (f->checker, 20, acked_op (f, 0, "m", "Running", "c1", seq, 1, 5, 20));
  assert_ok (f);
  dsm_checker_acked (f->checker, 21, acked_op (f, 1, "m", "Running", "c1", seq + (G_GUINT64_CONSTANT (1) << 32), 1,
                                               6, 21));
  assert_failed (f, DSM_INVARIANT_DURABILITY, "which holds something else");
}

static void
test_wide_numbers_agreement (Fixture *f, gconstpointer data)
{
  g_test_summary ("Agreement's message names the first node and epoch of an index whole, past "
                  "the record's 16 and 32 bits.");
  guint64 epoch = G_GUINT64_CONSTANT (1) << 33;
  DsmEntry *a = command (f, 1, epoch, "m", "Running", "c1", 1);
  DsmEntry *b = command (f, 1, 2, "m", "Running", "c2", 1);

  apply_ok (f, 70000, a, "Init", "Running");
  apply_ok (f, 2, b, "Init", "Running");
  assert_failed (f, DSM_INVARIANT_AGREEMENT,
                 "nodes 70000 and 2 applied different entries at index 1 (epochs 8589934592 and 2)");
}

static void
test_same_node_different_entry (Fixture *f, gconstpointer data)
{
  g_test_summary ("A node re-applying an index (after a restart) with another entry than it applied "
                  "there before is named once, not as 'nodes 1 and 1'.");
  DsmEntry *a = command (f, 1, 1, "m", "Running", "c1", 1);
  DsmEntry *b = command (f, 1, 2, "m", "Running", "c2", 1);

  apply_ok (f, 1, a, "Init", "Running");
  apply_ok (f, 1, b, "Init", "Running");
  assert_failed (f, DSM_INVARIANT_AGREEMENT,
                 "node 1 applied a different entry at index 1 than it applied there before (epochs 1 and 2)");
}

static void
test_equal_entries_agree (Fixture *f, gconstpointer data)
{
  g_test_summary ("Equal entries (separate copies, as decoded from the wire) agree.");
  DsmEntry *a = command (f, 1, 1, "m", "Running", "c1", 1);
  DsmEntry *copy = command (f, 1, 1, "m", "Running", "c1", 1);

  apply_ok (f, 1, a, "Init", "Running");
  apply_ok (f, 2, copy, "Init", "Running");
  assert_ok (f);
}

static void
test_entries_not_kept (Fixture *f, gconstpointer data)
{
  g_test_summary ("The checker keeps a digest of each committed entry, not the entry (but for a "
                  "reference to the 256 latest): the first node's copy released, a later equal "
                  "copy still agrees and one differing only in its payload still violates "
                  "agreement (ASan sees no use after free).");
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .client_id = (char *) "c1", .seq = 1,
                     .machine = (char *) "m", .to = (char *) "Running", .payload = (char *) "{\"a\":1}" };
  DsmEntry *first = dsm_entry_new (1, 1, DSM_ENTRY_COMMAND, &cmd);

  apply_ok (f, 1, first, "Init", "Running");
  dsm_entry_unref (first);
  apply_ok (f, 2, command_with (f, 1, 1, &cmd), "Init", "Running");
  assert_ok (f);
  cmd.payload = (char *) "{\"a\":2}";
  apply_ok (f, 3, command_with (f, 1, 1, &cmd), "Init", "Running");
  assert_failed (f, DSM_INVARIANT_AGREEMENT, "nodes 1 and 3 applied different entries at index 1 (epochs 1 and 1)");
}

static void
test_same_entry_shortcut (Fixture *f, gconstpointer data)
{
  g_test_summary ("A node applying the very entry another applied first agrees without hashing "
                  "it again; a different entry at the index is still hashed and refused, also "
                  "once the index's slot of recent entries holds a later index.");
  DsmEntry *a = command (f, 1, 1, "m", "Running", "c1", 1);

  apply_ok (f, 1, a, "Init", "Running");
  apply_ok (f, 2, a, "Init", "Running");
  assert_ok (f);
  /* Node 1 applies 1,000 more indices: index 1's slot is reused. */
  for (guint64 i = 2; i <= 1001; i++)
    apply_noop (f, 1, noop (f, i, 1));
  apply_ok (f, 2, a, "Init", "Running");
  assert_ok (f);
  apply_ok (f, 3, command (f, 1, 1, "m", "Running", "c2", 1), "Init", "Running");
  assert_failed (f, DSM_INVARIANT_AGREEMENT, "nodes 1 and 3 applied different entries at index 1 (epochs 1 and 1)");
}

static void
test_apply_gap (Fixture *f, gconstpointer data)
{
  g_test_summary ("Applying index 3 before anyone applied 2 is an agreement violation: applies "
                  "go in index order.");
  apply_noop (f, 1, noop (f, 1, 1));
  apply_noop (f, 1, noop (f, 3, 1));
  assert_failed (f, DSM_INVARIANT_AGREEMENT, "node 1 applied index 3 before anyone applied 2");
}

/* ---- state machine safety ---- */

static void
test_different_outcome (Fixture *f, gconstpointer data)
{
  g_test_summary ("The same entry with a different outcome on two nodes violates state machine "
                  "safety.");
  DsmEntry *e = command (f, 1, 1, "m", "Running", "c1", 1);

  apply_ok (f, 1, e, "Init", "Running");
  apply_rejected (f, 2, e, "Init");
  assert_failed (f, DSM_INVARIANT_STATE_MACHINE_SAFETY, "index 1: node 1 got ok (Running), node 2 got rejected (Init)");
}

static void
test_different_state (Fixture *f, gconstpointer data)
{
  g_test_summary ("Both ok but reporting different states also violates state machine safety.");
  DsmEntry *e = command (f, 1, 1, "m", "Running", "c1", 1);

  apply_ok (f, 1, e, "Init", "Running");
  apply_ok (f, 2, e, "Init", "Stopped");
  assert_failed (f, DSM_INVARIANT_STATE_MACHINE_SAFETY, "index 1");
}

/* ---- validity ---- */

static void
test_illegal_ok (Fixture *f, gconstpointer data)
{
  g_test_summary ("An ok transition the model finds illegal from its state violates validity "
                  "(Init -> Stopped is not a lifecycle move).");
  apply_ok (f, 1, command (f, 1, 1, "m", "Stopped", "c1", 1), "Init", "Stopped");
  assert_failed (f, DSM_INVARIANT_VALIDITY, "m moved Init -> Stopped, which is not legal");
}

static void
test_illegal_after_history (Fixture *f, gconstpointer data)
{
  g_test_summary ("The validity model follows the committed sequence: Running -> Running is "
                  "illegal once m is Running.");
  clean_prefix (f);
  apply_ok (f, 1, command (f, 3, 1, "m", "Running", "c1", 2), "Running", "Running");
  assert_failed (f, DSM_INVARIANT_VALIDITY, "m moved Running -> Running");
}

static void
test_invented (Fixture *f, gconstpointer data)
{
  DsmCommand submitted = { .op = DSM_OP_TRANSITION, .client_id = (char *) "c1", .seq = 2, .machine = (char *) "m",
                           .to = (char *) "Running" };
  DsmCommand anon = { .op = DSM_OP_TRANSITION, .machine = (char *) "n", .to = (char *) "Running" };

  g_test_summary ("With submissions tracked, a command entry nobody submitted violates validity: a "
                  "client's seq past its highest submitted, or a command without client id whose "
                  "op, machine and target no submission had; what was submitted (or retried) passes.");
  dsm_checker_track_submissions (f->checker);
  dsm_checker_submitted (f->checker, &submitted);
  dsm_checker_submitted (f->checker, &anon);
  apply_ok (f, 1, command (f, 1, 1, "m", "Running", "c1", 1), "Init", "Running"); /* an earlier seq */
  apply_ok (f, 1, command (f, 2, 1, "n", "Running", NULL, 0), "Init", "Running");
  apply_ok (f, 2, f->entries->pdata[0], "Init", "Running");
  assert_ok (f);

  /* A fresh checker for each invention. */
  for (guint invention = 0; invention < 2; invention++)
    {
      dsm_checker_free (f->checker);
      f->checker = dsm_checker_new (f->config, DSM_INVARIANTS_ALL);
      dsm_checker_track_submissions (f->checker);
      dsm_checker_submitted (f->checker, &submitted);
      dsm_checker_submitted (f->checker, &anon);
      if (invention == 0)
        {
          apply_ok (f, 1, command (f, 1, 1, "m", "Running", "c1", 3), "Init", "Running");
          assert_failed (f, DSM_INVARIANT_VALIDITY, "index 1: (c1, 3) was never submitted: the entry was invented");
        }
      else
        {
          apply_ok (f, 1, command (f, 1, 1, "n", "Stopped", NULL, 0), "Init", "Stopped");
          assert_failed (f, DSM_INVARIANT_VALIDITY,
                         "index 1: transition n -> Stopped was never submitted: the entry was invented");
        }
    }

  /* Not tracked: nothing is judged so. */
  dsm_checker_free (f->checker);
  f->checker = dsm_checker_new (f->config, DSM_INVARIANTS_ALL);
  apply_ok (f, 1, command (f, 1, 1, "m", "Running", "c9", 7), "Init", "Running");
  g_assert_true (dsm_checker_ok (f->checker));
}

static void
test_legal_rejected (Fixture *f, gconstpointer data)
{
  g_test_summary ("A legal transition rejected as invalid violates validity.");
  apply_rejected (f, 1, command (f, 1, 1, "m", "Running", "c1", 1), "Init");
  assert_failed (f, DSM_INVARIANT_VALIDITY, "m -> Running from Init is legal but was rejected");
}

static void
test_wrong_result_state (Fixture *f, gconstpointer data)
{
  g_test_summary ("A legal ok transition that reports another resulting state violates "
                  "validity.");
  apply_ok (f, 1, command (f, 1, 1, "m", "Running", "c1", 1), "Init", "Stopped");
  assert_failed (f, DSM_INVARIANT_VALIDITY, "expected Init -> Running");
}

static void
test_applied_twice (Fixture *f, gconstpointer data)
{
  g_test_summary ("A (client, seq) applied with effect at two indices violates validity "
                  "(at-most-once).");
  clean_prefix (f);
  apply_ok (f, 1, command (f, 3, 1, "m", "Stopped", NULL, 0), "Running", "Stopped");
  apply_ok (f, 1, command (f, 4, 1, "m", "Init", NULL, 0), "Stopped", "Init");
  apply_ok (f, 1, command (f, 5, 1, "m", "Running", "c1", 1), "Init", "Running");
  assert_failed (f, DSM_INVARIANT_VALIDITY, "(c1, 1) applied a second time");
}

static void
test_duplicate_never_applied (Fixture *f, gconstpointer data)
{
  g_test_summary ("An entry treated as a duplicate of a (client, seq) never applied violates "
                  "validity.");
  apply_full (f, 1, command (f, 1, 1, "m", "Running", "c9", 4), DSM_REPLY_OK, DSM_REJECT_NONE,
              "Init", "Running", TRUE);
  assert_failed (f, DSM_INVARIANT_VALIDITY, "treated as a duplicate, but (c9, 4) was never applied");
}

static void
test_sessions_far_seq (Fixture *f, gconstpointer data)
{
  g_test_summary ("Sessions far past a client's bitmap (seq 2^40) are remembered too: applied "
                  "twice fails, a duplicate of one never applied fails.");
  clean_prefix (f);
  guint64 far = G_GUINT64_CONSTANT (1) << 40;
  apply_ok (f, 1, command (f, 3, 1, "m", "Stopped", "c1", far), "Running", "Stopped");
  apply_full (f, 1, command (f, 4, 1, "m", "Stopped", "c1", far), DSM_REPLY_OK, DSM_REJECT_NONE,
              "Stopped", "Stopped", TRUE);
  assert_ok (f);
  apply_full (f, 1, command (f, 5, 1, "m", "Stopped", "c1", far + 1), DSM_REPLY_OK, DSM_REJECT_NONE,
              "Stopped", "Stopped", TRUE);
  assert_failed (f, DSM_INVARIANT_VALIDITY, "treated as a duplicate, but (c1, 1099511627777) was never applied");
}

static void
test_sessions_far_seq_twice (Fixture *f, gconstpointer data)
{
  g_test_summary ("A far seq applied with effect twice violates validity like a near one.");
  clean_prefix (f);
  guint64 far = G_GUINT64_CONSTANT (1) << 40;
  apply_ok (f, 1, command (f, 3, 1, "m", "Stopped", "c1", far), "Running", "Stopped");
  apply_ok (f, 1, command (f, 4, 1, "m", "Init", "c1", far), "Stopped", "Init");
  assert_failed (f, DSM_INVARIANT_VALIDITY, "(c1, 1099511627776) applied a second time");
}

static void
test_sessions_sparse_seqs (Fixture *f, gconstpointer data)
{
  g_test_summary ("A client's seqs with gaps (ops that never committed): each applied one is "
                  "remembered, each gap is not.");
  clean_prefix (f);
  apply_ok (f, 1, command (f, 3, 1, "m", "Stopped", "c3", 5), "Running", "Stopped");
  apply_ok (f, 1, command (f, 4, 1, "m", "Init", "c3", 900), "Stopped", "Init");
  apply_full (f, 1, command (f, 5, 1, "m", "Init", "c3", 900), DSM_REPLY_OK, DSM_REJECT_NONE,
              "Init", "Init", TRUE);
  apply_full (f, 1, command (f, 6, 1, "m", "Stopped", "c3", 5), DSM_REPLY_OK, DSM_REJECT_NONE,
              "Init", "Init", TRUE);
  assert_ok (f);
  apply_full (f, 1, command (f, 7, 1, "m", "Init", "c3", 899), DSM_REPLY_OK, DSM_REJECT_NONE,
              "Init", "Init", TRUE);
  assert_failed (f, DSM_INVARIANT_VALIDITY, "(c3, 899) was never applied");
}

/* ---- durability ---- */

static void
test_ack_then_other_entry (Fixture *f, gconstpointer data)
{
  g_test_summary ("A client told its transition committed at index i, when i is later applied "
                  "holding another entry, is a durability violation (ack first).");
  DsmEntry *e1 = noop (f, 1, 1);

  apply_noop (f, 1, e1);
  DsmHistoryOp *op = acked_op (f, 0, "m", "Running", "c1", 1, 2, 5, 20);
  dsm_checker_acked (f->checker, 20, op);
  assert_ok (f);
  apply_ok (f, 1, command (f, 2, 2, "other", "Running", "c2", 1), "Init", "Running");
  assert_failed (f, DSM_INVARIANT_DURABILITY, "client 0 was told m -> Running committed at index 2");
}

static void
test_apply_then_other_ack (Fixture *f, gconstpointer data)
{
  g_test_summary ("A client told its transition committed at index i, when i was already applied "
                  "holding another entry, is a durability violation (apply first).");
  apply_noop (f, 1, noop (f, 1, 1));
  apply_ok (f, 1, command (f, 2, 1, "other", "Running", "c2", 1), "Init", "Running");
  DsmHistoryOp *op = acked_op (f, 0, "m", "Running", "c1", 1, 2, 5, 20);
  dsm_checker_acked (f->checker, 20, op);
  assert_failed (f, DSM_INVARIANT_DURABILITY, "which holds something else");
}

static void
test_ack_at_noop (Fixture *f, gconstpointer data)
{
  g_test_summary ("An ack naming the index of a leader's no-op is a durability violation.");
  apply_noop (f, 1, noop (f, 1, 1));
  DsmHistoryOp *op = acked_op (f, 0, "m", "Running", "c1", 1, 1, 5, 20);
  dsm_checker_acked (f->checker, 20, op);
  assert_failed (f, DSM_INVARIANT_DURABILITY, "which holds something else");
}

static void
test_ack_matches (Fixture *f, gconstpointer data)
{
  g_test_summary ("An ack of the entry actually at its index passes, in either order.");
  clean_prefix (f);
  dsm_checker_acked (f->checker, 30, acked_op (f, 0, "m", "Running", "c1", 1, 2, 5, 30));
  DsmHistoryOp *op = acked_op (f, 1, "m", "Stopped", "c2", 7, 3, 31, 40);
  dsm_checker_acked (f->checker, 40, op);
  apply_ok (f, 2, command (f, 3, 1, "m", "Stopped", "c2", 7), "Running", "Stopped");
  assert_ok (f);
}

/* ---- forgetting (dsm_checker_forget_below) ---- */

/* Node 1 applies no-ops 1..@n, then the transition (c1, 1) at @n + 1. */
static void
applied_run (Fixture *f, guint64 n)
{
  dsm_checker_leader (f->checker, 5, 1, 1);
  for (guint64 i = 1; i <= n; i++)
    apply_noop (f, 1, noop (f, i, 1));
  apply_ok (f, 1, command (f, n + 1, 1, "m", "Running", "c1", 1), "Init", "Running");
}

static void
test_forget_whole_blocks (Fixture *f, gconstpointer data)
{
  g_test_summary ("Records go a whole block at a time, never past the highest index applied, and the "
                  "indices above the mark are checked as before.");
  applied_run (f, 9000);
  dsm_checker_forget_below (f->checker, 4095);
  g_assert_cmpuint (dsm_checker_get_forgotten (f->checker), ==, 0);
  dsm_checker_forget_below (f->checker, 8200);
  g_assert_cmpuint (dsm_checker_get_forgotten (f->checker), ==, 8192);
  dsm_checker_forget_below (f->checker, G_MAXUINT64);
  g_assert_cmpuint (dsm_checker_get_forgotten (f->checker), ==, 8192);
  g_assert_cmpuint (dsm_checker_get_committed (f->checker), ==, 9001);
  /* Above the mark: the same entry agrees, another does not. */
  apply_noop (f, 2, f->entries->pdata[8199]);
  assert_ok (f);
  dsm_checker_acked (f->checker, 20, acked_op (f, 0, "m", "Running", "c1", 1, 9001, 5, 20));
  assert_ok (f);
  apply_noop (f, 2, noop (f, 8201, 2));
  assert_failed (f, DSM_INVARIANT_AGREEMENT, "nodes 1 and 2 applied different entries at index 8201");
}

static void
test_forget_apply_below (Fixture *f, gconstpointer data)
{
  g_test_summary ("A node that applies an index below the forgotten mark (one its caller said no node "
                  "could apply again) fails agreement, even with the very entry.");
  applied_run (f, 5000);
  dsm_checker_forget_below (f->checker, 5000);
  g_assert_cmpuint (dsm_checker_get_forgotten (f->checker), ==, 4096);
  apply_noop (f, 2, f->entries->pdata[9]);
  assert_failed (f, DSM_INVARIANT_AGREEMENT, "node 2 applied index 10 again, below 4096");
}

static void
test_forget_ack_below (Fixture *f, gconstpointer data)
{
  g_test_summary ("An ack naming an index below the forgotten mark fails durability as the record would "
                  "have: the caller promised the op was sent after that index was first applied.");
  applied_run (f, 5000);
  dsm_checker_forget_below (f->checker, 5000);
  dsm_checker_acked (f->checker, 20, acked_op (f, 0, "m", "Stopped", "c1", 2, 10, 5, 20));
  assert_failed (f, DSM_INVARIANT_DURABILITY, "client 0 was told m -> Stopped committed at index 10, which holds "
                                              "something else");
}

static void
test_finish_live_node_behind (Fixture *f, gconstpointer data)
{
  g_test_summary ("At the end, a live node that never applied an acknowledged index is a "
                  "durability violation.");
  clean_prefix (f);
  dsm_checker_acked (f->checker, 30, acked_op (f, 0, "m", "Running", "c1", 1, 2, 5, 30));
  guint64 applied[3] = { 2, 1, 2 };
  dsm_checker_finish (f->checker, 100, f->history, applied, 3);
  assert_failed (f, DSM_INVARIANT_DURABILITY, "acknowledged index 2 was never applied by a live node");
  g_assert_cmpuint (dsm_checker_get_failed_at (f->checker), ==, 100);
}

/* ---- linearizability ---- */

static void
test_finish_not_linearizable (Fixture *f, gconstpointer data)
{
  g_test_summary ("At the end, a history with no legal sequential order (a read after an ok "
                  "transition still sees the old state) violates linearizability.");
  acked_op (f, 0, "m", "Running", "c1", 1, 2, 0, 10);
  read_op (f, 1, "m", "Init", 20, 30);
  dsm_checker_finish (f->checker, 100, f->history, NULL, 0);
  assert_failed (f, DSM_INVARIANT_LINEARIZABILITY, "machine m:");
}

static void
test_finish_linearizable_concurrent (Fixture *f, gconstpointer data)
{
  g_test_summary ("A read concurrent with the transition may see either state: linearizable.");
  acked_op (f, 0, "m", "Running", "c1", 1, 2, 0, 10);
  read_op (f, 1, "m", "Init", 5, 30);
  dsm_checker_finish (f->checker, 100, f->history, NULL, 0);
  assert_ok (f);
  g_assert_cmpuint (dsm_checker_get_lin_states (f->checker), >, 0);
}

/* ---- liveness, expectations, selection ---- */

static void
test_fail_records (Fixture *f, gconstpointer data)
{
  g_test_summary ("Violations found elsewhere (liveness, expectations) are recorded with their "
                  "time; the first violation is the one reported.");
  dsm_checker_fail (f->checker, DSM_INVARIANT_LIVENESS, 1234, "no leader within %u ms", 1500u);
  dsm_checker_fail (f->checker, DSM_INVARIANT_EXPECTATIONS, 2000, "later");
  dsm_checker_leader (f->checker, 3000, 1, 1);
  dsm_checker_leader (f->checker, 3000, 2, 1);
  assert_failed (f, DSM_INVARIANT_LIVENESS, "no leader within 1500 ms");
  g_assert_cmpuint (dsm_checker_get_failed_at (f->checker), ==, 1234);
}

static void
test_unchecked_invariant (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  guint32 all_but = DSM_INVARIANTS_ALL & ~(1u << DSM_INVARIANT_ELECTION_SAFETY);
  g_autoptr(DsmChecker) checker = dsm_checker_new (config, all_but);

  g_test_summary ("An invariant the scenario leaves out of expect.invariants does not fail the "
                  "run; the others still do.");
  dsm_checker_leader (checker, 10, 1, 1);
  dsm_checker_leader (checker, 10, 2, 1);
  g_assert_true (dsm_checker_ok (checker));
  dsm_checker_fail (checker, DSM_INVARIANT_LIVENESS, 20, "stuck");
  g_assert_false (dsm_checker_ok (checker));
  g_assert_cmpint (dsm_checker_get_failed (checker), ==, DSM_INVARIANT_LIVENESS);
}

/* ---- quorums ---- */

static DsmMembership *
membership_change (const DsmMembership *base, DsmOp op, DsmNodeId id)
{
  DsmCommand cmd = { .op = op, .node = id };
  DsmMembership *m = dsm_membership_change (base, &cmd, NULL, NULL);
  g_assert_nonnull (m);
  return m;
}

static void
test_quorum_clean (Fixture *f, gconstpointer data)
{
  g_autoptr(DsmMembership) boot = dsm_membership_new_bootstrap (f->config);
  g_autoptr(DsmMembership) grown = membership_change (boot, DSM_OP_ADD_MEMBER, 0);
  g_autoptr(DsmMembership) promoted = membership_change (grown, DSM_OP_PROMOTE_MEMBER, 4);

  g_test_summary ("An election and a commit by a majority of a configuration one change away "
                  "from the committed one pass.");
  dsm_checker_quorum (f->checker, 1, 1, 1, boot, 2, "election");
  dsm_checker_quorum (f->checker, 2, 1, 1, promoted, 3, "commit");
  g_assert_true (dsm_checker_ok (f->checker));
}

static void
test_quorum_short (Fixture *f, gconstpointer data)
{
  g_autoptr(DsmMembership) boot = dsm_membership_new_bootstrap (f->config);
  g_autoptr(DsmMembership) grown = membership_change (boot, DSM_OP_ADD_MEMBER, 0);
  g_autoptr(DsmMembership) promoted = membership_change (grown, DSM_OP_PROMOTE_MEMBER, 4);

  g_test_summary ("A commit held by 2 of the 4 voters of the configuration the leader uses is "
                  "short of its quorum, whatever the committed configuration's quorum is.");
  dsm_checker_quorum (f->checker, 5, 1, 2, promoted, 2, "commit");
  g_assert_false (dsm_checker_ok (f->checker));
  g_assert_cmpint (dsm_checker_get_failed (f->checker), ==, DSM_INVARIANT_QUORUMS);
  g_assert_nonnull (strstr (dsm_checker_get_message (f->checker), "2 of the 4 voters"));
}

static void
test_quorum_two_changes_away (Fixture *f, gconstpointer data)
{
  g_autoptr(DsmMembership) boot = dsm_membership_new_bootstrap (f->config);
  g_autoptr(DsmMembership) a = membership_change (boot, DSM_OP_REMOVE_MEMBER, 3);
  g_autoptr(DsmMembership) b = membership_change (a, DSM_OP_REMOVE_MEMBER, 2);

  g_test_summary ("A leader using a configuration two voters away from the committed one "
                  "(two changes in flight) violates quorums even with a majority of its own.");
  dsm_checker_quorum (f->checker, 5, 1, 2, b, 1, "commit");
  g_assert_false (dsm_checker_ok (f->checker));
  g_assert_cmpint (dsm_checker_get_failed (f->checker), ==, DSM_INVARIANT_QUORUMS);
  g_assert_nonnull (strstr (dsm_checker_get_message (f->checker), "2 voters away"));
}

static void
test_quorum_committed_config_tracked (Fixture *f, gconstpointer data)
{
  g_autoptr(DsmMembership) boot = dsm_membership_new_bootstrap (f->config);
  g_autoptr(DsmMembership) a = membership_change (boot, DSM_OP_REMOVE_MEMBER, 3);
  g_autoptr(DsmMembership) b = membership_change (a, DSM_OP_REMOVE_MEMBER, 2);
  DsmCommand cmd = { .op = DSM_OP_REMOVE_MEMBER, .node = 3 };
  DsmEntry *e = dsm_entry_new_config (1, 1, &cmd, a);

  g_test_summary ("A config entry applied anywhere becomes the committed configuration the "
                  "checks measure against: the second removal is then one change away.");
  g_ptr_array_add (f->entries, e);
  DsmApplied applied = { .entry = e, .result = { .index = 1, .epoch = 1, .status = DSM_REPLY_OK,
                                                 .result_index = 1, .member = 3 } };
  dsm_checker_apply (f->checker, 1, 1, &applied);
  g_assert_true (dsm_membership_equal (dsm_checker_get_membership (f->checker), a));
  dsm_checker_quorum (f->checker, 2, 1, 1, b, 1, "commit");
  g_assert_true (dsm_checker_ok (f->checker));
}

/* Node @id applies config entry @index of @epoch that made @membership. */
static void
apply_config (Fixture *f, DsmNodeId id, guint64 index, guint64 epoch, DsmOp op, DsmNodeId member,
              DsmMembership *membership)
{
  DsmCommand cmd = { .op = op, .node = member };
  DsmEntry *e = dsm_entry_new_config (index, epoch, &cmd, membership);
  DsmApplied applied = { .entry = e, .result = { .index = index, .epoch = epoch, .status = DSM_REPLY_OK,
                                                 .result_index = index, .member = member } };

  g_ptr_array_add (f->entries, e);
  dsm_checker_apply (f->checker, index, id, &applied);
}

static void
test_quorum_stale_leader_by_its_epoch (Fixture *f, gconstpointer data)
{
  g_autoptr(DsmMembership) boot = dsm_membership_new_bootstrap (f->config);
  g_autoptr(DsmMembership) grown = membership_change (boot, DSM_OP_ADD_MEMBER, 0);
  g_autoptr(DsmMembership) promoted = membership_change (grown, DSM_OP_PROMOTE_MEMBER, 4);
  g_autoptr(DsmMembership) shrunk = membership_change (grown, DSM_OP_REMOVE_MEMBER, 3);

  g_test_summary ("A leader cut off in epoch 2 that removes a voter, while epoch 3 commits a "
                  "promotion, commits with a configuration one change from what was committed up "
                  "to its epoch: safe, epoch 3's election quorum met its commit quorum (explore "
                  "seed 958,725 was failed for it).  The same configuration used in epoch 3 or "
                  "later is two changes from the committed one and fails.");
  apply_config (f, 1, 1, 1, DSM_OP_ADD_MEMBER, 4, grown);
  apply_config (f, 1, 2, 3, DSM_OP_PROMOTE_MEMBER, 4, promoted);
  g_assert_true (dsm_membership_equal (dsm_checker_get_membership (f->checker), promoted));
  dsm_checker_quorum (f->checker, 5, 1, 2, shrunk, 2, "commit");
  g_assert_true (dsm_checker_ok (f->checker));
  dsm_checker_quorum (f->checker, 6, 1, 3, shrunk, 2, "commit");
  g_assert_false (dsm_checker_ok (f->checker));
  g_assert_cmpint (dsm_checker_get_failed (f->checker), ==, DSM_INVARIANT_QUORUMS);
  g_assert_nonnull (strstr (dsm_checker_get_message (f->checker), "2 voters away"));
}

static void
test_quorum_learner_won (Fixture *f, gconstpointer data)
{
  g_autoptr(DsmMembership) boot = dsm_membership_new_bootstrap (f->config);
  g_autoptr(DsmMembership) grown = membership_change (boot, DSM_OP_ADD_MEMBER, 0);

  g_test_summary ("A learner that wins an election violates quorums, however many votes it claims.");
  dsm_checker_quorum (f->checker, 5, 4, 2, grown, 3, "election");
  g_assert_false (dsm_checker_ok (f->checker));
  g_assert_nonnull (strstr (dsm_checker_get_message (f->checker), "no voter"));
}

static void
test_quorum_removed_by_uncommitted_won (Fixture *f, gconstpointer data)
{
  g_autoptr(DsmMembership) boot = dsm_membership_new_bootstrap (f->config);
  g_autoptr(DsmMembership) without = membership_change (boot, DSM_OP_REMOVE_MEMBER, 3);

  g_test_summary ("A node that wins with a configuration that removed it (an entry in its log "
                  "it does not know committed), by a quorum of the others, passes; short of that "
                  "quorum it fails.");
  dsm_checker_quorum (f->checker, 5, 3, 2, without, 2, "election");
  g_assert_true (dsm_checker_ok (f->checker));
  dsm_checker_quorum (f->checker, 6, 3, 3, without, 1, "election");
  g_assert_false (dsm_checker_ok (f->checker));
}

static void
test_invariant_names (void)
{
  g_test_summary ("Every invariant has a name that reads back, as scenario files and reports "
                  "spell it.");
  for (guint i = 0; i < DSM_INVARIANT_N; i++)
    {
      DsmInvariant back = DSM_INVARIANT_N;
      const char *name = dsm_invariant_to_string ((DsmInvariant) i);
      g_assert_true (dsm_invariant_from_string (name, &back));
      g_assert_cmpint (back, ==, (int) i);
    }
  DsmInvariant out;
  g_assert_false (dsm_invariant_from_string ("safety", &out));
  g_assert_cmpstr (dsm_invariant_to_string (DSM_INVARIANT_STATE_MACHINE_SAFETY), ==, "state_machine_safety");
}

#define ADD(path, func) \
  g_test_add ("/check/checker/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  ADD ("clean", test_clean);
  ADD ("quorums/clean", test_quorum_clean);
  ADD ("quorums/short", test_quorum_short);
  ADD ("quorums/two-changes-away", test_quorum_two_changes_away);
  ADD ("quorums/committed-config-tracked", test_quorum_committed_config_tracked);
  ADD ("quorums/stale-leader-by-its-epoch", test_quorum_stale_leader_by_its_epoch);
  ADD ("quorums/learner-won", test_quorum_learner_won);
  ADD ("quorums/removed-by-uncommitted-won", test_quorum_removed_by_uncommitted_won);
  ADD ("election-safety/two-leaders", test_two_leaders);
  ADD ("agreement/different-entries", test_different_entries);
  ADD ("agreement/wide-numbers", test_wide_numbers_agreement);
  ADD ("durability/wide-numbers", test_wide_numbers);
  ADD ("agreement/same-node-different-entry", test_same_node_different_entry);
  ADD ("agreement/equal-copies", test_equal_entries_agree);
  ADD ("agreement/entries-not-kept", test_entries_not_kept);
  ADD ("agreement/same-entry-shortcut", test_same_entry_shortcut);
  ADD ("agreement/gap", test_apply_gap);
  ADD ("state-machine-safety/different-outcome", test_different_outcome);
  ADD ("state-machine-safety/different-state", test_different_state);
  ADD ("validity/illegal-ok", test_illegal_ok);
  ADD ("validity/illegal-after-history", test_illegal_after_history);
  ADD ("validity/legal-rejected", test_legal_rejected);
  ADD ("validity/invented", test_invented);
  ADD ("validity/wrong-result-state", test_wrong_result_state);
  ADD ("validity/applied-twice", test_applied_twice);
  ADD ("validity/duplicate-never-applied", test_duplicate_never_applied);
  ADD ("validity/sessions-far-seq", test_sessions_far_seq);
  ADD ("validity/sessions-far-seq-twice", test_sessions_far_seq_twice);
  ADD ("validity/sessions-sparse-seqs", test_sessions_sparse_seqs);
  ADD ("durability/ack-then-other-entry", test_ack_then_other_entry);
  ADD ("durability/apply-then-other-ack", test_apply_then_other_ack);
  ADD ("durability/ack-at-noop", test_ack_at_noop);
  ADD ("durability/ack-matches", test_ack_matches);
  ADD ("durability/finish-live-node-behind", test_finish_live_node_behind);
  ADD ("forget/whole-blocks", test_forget_whole_blocks);
  ADD ("forget/apply-below", test_forget_apply_below);
  ADD ("forget/ack-below", test_forget_ack_below);
  ADD ("linearizability/violation", test_finish_not_linearizable);
  ADD ("linearizability/concurrent-read", test_finish_linearizable_concurrent);
  ADD ("fail/first-wins", test_fail_records);
  g_test_add_func ("/check/checker/unchecked-invariant", test_unchecked_invariant);
  g_test_add_func ("/check/checker/names", test_invariant_names);

  return g_test_run ();
}
