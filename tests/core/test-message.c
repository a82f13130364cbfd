/* tests/core/test-message.c: message lifetime, comparison, type names and
 * the consistency check run on both ends of the wire. */
#include <string.h>

#include "error.h"
#include "message.h"
#include "wire-samples.h"

static void
test_type_names_round_trip (void)
{
  static const char *const names[] = {
    "vote_request", "vote", "proposal", "ack", "commit", "reject",
    "client_request", "client_reply", "snapshot", "timeout_now",
  };

  g_test_summary ("Every type has its wire name, and the name maps back to the type.");

  G_STATIC_ASSERT (G_N_ELEMENTS (names) == DSM_MSG_N_TYPES);
  for (guint i = 0; i < DSM_MSG_N_TYPES; i++)
    {
      DsmMessageType type = DSM_MSG_N_TYPES;

      g_assert_cmpstr (dsm_message_type_to_string (i), ==, names[i]);
      g_assert_true (dsm_message_type_from_string (names[i], &type));
      g_assert_cmpint (type, ==, i);
    }
}

static void
test_type_from_string_refuses_unknown (void)
{
  DsmMessageType type = DSM_MSG_COMMIT;

  g_test_summary ("Unknown, differently cased or empty names are not types.");

  g_assert_false (dsm_message_type_from_string ("Commit", &type));
  g_assert_false (dsm_message_type_from_string ("", &type));
  g_assert_false (dsm_message_type_from_string ("commit ", &type));
  g_assert_cmpint (type, ==, DSM_MSG_COMMIT);
}

static void
test_new_is_zeroed (void)
{
  g_autoptr(DsmMessage) msg = dsm_message_new (DSM_MSG_ACK, 4, 5, 9);

  g_test_summary ("A new message has its header set and every other field zero.");

  g_assert_cmpint (msg->type, ==, DSM_MSG_ACK);
  g_assert_cmpuint (msg->from, ==, 4);
  g_assert_cmpuint (msg->to, ==, 5);
  g_assert_cmpuint (msg->epoch, ==, 9);
  g_assert_cmpuint (msg->match_index, ==, 0);
  g_assert_null (msg->entries);
  g_assert_null (msg->cmd.machine);
  g_assert_null (msg->data);
  g_assert_false (msg->granted);
}

static void
test_ref_keeps_alive (void)
{
  DsmMessage *msg = sample_message (DSM_MSG_REJECT);
  DsmMessage *ref = dsm_message_ref (msg);

  g_test_summary ("A reference keeps the message and what it owns alive "
                  "(ASan checks the frees).");

  g_assert_true (ref == msg);
  dsm_message_unref (msg);
  g_assert_cmpstr (ref->state, ==, "Stopped");
  dsm_message_unref (ref);
}

static void
test_copy_is_equal_and_independent (void)
{
  g_autoptr(DsmMessage) msg = sample_message (DSM_MSG_PROPOSAL);
  g_autoptr(DsmMessage) copy = dsm_message_copy (msg);

  g_test_summary ("A copy equals the original, shares its entries, and can be "
                  "changed (to, entries) without touching the original.");

  g_assert_cmpint (copy->ref_count, ==, 1);
  g_assert_true (dsm_message_equal (msg, copy));
  g_assert_true (copy->entries != msg->entries);
  g_assert_true (g_ptr_array_index (copy->entries, 0) == g_ptr_array_index (msg->entries, 0));

  copy->to = 3;
  g_ptr_array_set_size (copy->entries, 1);
  g_assert_cmpuint (msg->to, ==, 2);
  g_assert_cmpuint (msg->entries->len, ==, 3);
  g_assert_false (dsm_message_equal (msg, copy));
}

static void
test_copy_owns_strings_and_data (void)
{
  g_autoptr(DsmMessage) msg = sample_message (DSM_MSG_CLIENT_REPLY);
  g_autoptr(DsmMessage) copy = dsm_message_copy (msg);
  g_autoptr(DsmMessage) snapshot = sample_message (DSM_MSG_SNAPSHOT);
  g_autoptr(DsmMessage) snapshot_copy = dsm_message_copy (snapshot);

  g_test_summary ("A copy owns its strings and command, and references the data.");

  g_assert_true (copy->state != msg->state);
  g_assert_true (copy->detail != msg->detail);
  g_assert_true (copy->cmd.machine != msg->cmd.machine);
  g_assert_true (snapshot_copy->data == snapshot->data);
  g_assert_true (dsm_message_equal (snapshot, snapshot_copy));
}

static void
test_equal_notices_each_field (void)
{
  g_autoptr(DsmMessage) a = sample_message (DSM_MSG_CLIENT_REPLY);

  g_test_summary ("dsm_message_equal() is a deep comparison: changing any one "
                  "field makes messages differ.");

#define DIFFERS(statement) \
  G_STMT_START { \
    g_autoptr(DsmMessage) b = dsm_message_copy (a); \
    statement; \
    if (dsm_message_equal (a, b)) \
      g_error ("still equal after: %s", #statement); \
  } G_STMT_END
  DIFFERS (b->type = DSM_MSG_REJECT);
  DIFFERS (b->from = 9);
  DIFFERS (b->to = 9);
  DIFFERS (b->epoch++);
  DIFFERS (b->pre_vote = TRUE);
  DIFFERS (b->last_index++);
  DIFFERS (b->last_epoch++);
  DIFFERS (b->granted = TRUE);
  DIFFERS (b->prev_index++);
  DIFFERS (b->prev_epoch++);
  DIFFERS (b->commit_index++);
  DIFFERS (b->entries = sample_entries (1, 2));
  DIFFERS (b->hb_seq++);
  DIFFERS (b->match_index++);
  DIFFERS (b->snapshot_offset++);
  DIFFERS (b->reason = DSM_REJECT_OVERLOADED);
  DIFFERS (b->hint_index++);
  DIFFERS (b->hint_epoch++);
  DIFFERS (b->leader_hint++);
  DIFFERS (b->request_id++);
  DIFFERS (g_free (b->cmd.to); b->cmd.to = g_strdup ("Other"));
  DIFFERS (b->status = DSM_REPLY_OK);
  DIFFERS (b->index++);
  DIFFERS (g_clear_pointer (&b->state, g_free));
  DIFFERS (g_free (b->detail); b->detail = g_strdup ("other"));
  DIFFERS (b->data = g_bytes_new_static ("x", 1));
  DIFFERS (b->done = TRUE);
#undef DIFFERS
}

static void
test_equal_booleans_by_truth (void)
{
  g_autoptr(DsmMessage) a = sample_message (DSM_MSG_VOTE);
  g_autoptr(DsmMessage) b = dsm_message_copy (a);

  g_test_summary ("Any non-zero gboolean is TRUE: 1 and 2 compare equal.");

  b->granted = 2;
  g_assert_true (dsm_message_equal (a, b));
}

static void
test_equal_null_entries_is_empty (void)
{
  g_autoptr(DsmMessage) a = dsm_message_new (DSM_MSG_PROPOSAL, 1, 2, 3);
  g_autoptr(DsmMessage) b = dsm_message_new (DSM_MSG_PROPOSAL, 1, 2, 3);

  g_test_summary ("A NULL entry list equals an empty one (the decoder always "
                  "builds an array).");

  b->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  g_assert_true (dsm_message_equal (a, b));
}

static void
test_check_accepts_samples (void)
{
  g_test_summary ("The fully populated sample of every type passes the check.");

  for (guint i = 0; i < DSM_MSG_N_TYPES; i++)
    {
      g_autoptr(DsmMessage) msg = sample_message (i);
      g_autoptr(GError) error = NULL;

      g_assert_true (dsm_message_check (msg, &error));
      g_assert_no_error (error);
    }
}

static void
test_check_accepts_edge_values (void)
{
  g_autoptr(DsmMessage) heartbeat = dsm_message_new (DSM_MSG_PROPOSAL, 1, 2, 3);
  g_autoptr(DsmMessage) first = dsm_message_new (DSM_MSG_PROPOSAL, 1, 2, 1);
  g_autoptr(DsmMessage) reply = dsm_message_new (DSM_MSG_CLIENT_REPLY, 1, 2, 1);
  g_autoptr(DsmMessage) snapshot = dsm_message_new (DSM_MSG_SNAPSHOT, 1, 2, 1);

  g_test_summary ("Limits are inclusive: no entries, the first log index, an "
                  "OK reply without command or state, an empty chunk.");

  g_assert_true (dsm_message_check (heartbeat, NULL));
  first->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  g_ptr_array_add (first->entries, dsm_entry_new (1, 1, DSM_ENTRY_NOOP, NULL));
  g_assert_true (dsm_message_check (first, NULL));
  g_assert_true (dsm_message_check (reply, NULL));
  snapshot->last_index = 1;
  snapshot->data = g_bytes_new (NULL, 0);
  g_assert_true (dsm_message_check (snapshot, NULL));
}

/* One inconsistency per row: the sample of @type, changed by @mutate, must
 * fail the check with a message starting with @message. */
typedef struct {
  const char *name;
  DsmMessageType type;
  void (*mutate) (DsmMessage *msg);
  const char *message;
} BadMessage;

static void from_zero (DsmMessage *m) { m->from = 0; }
static void to_zero (DsmMessage *m) { m->to = 0; }
static void to_from (DsmMessage *m) { m->to = m->from; }
static void vote_last_epoch (DsmMessage *m) { m->last_epoch = m->epoch + 1; }
static void prev_epoch_newer (DsmMessage *m) { m->prev_epoch = m->epoch + 1; }
static void reject_none (DsmMessage *m) { m->reason = DSM_REJECT_NONE; }
static void reject_range (DsmMessage *m) { m->reason = DSM_REJECT_N_REASONS; }
static void reject_state (DsmMessage *m) { g_free (m->state); m->state = g_strdup ("a\nb"); }
static void reject_detail (DsmMessage *m) { g_free (m->detail); m->detail = g_strdup ("\xff"); }
static void reject_cmd (DsmMessage *m) { g_clear_pointer (&m->cmd.to, g_free); }
static void request_no_cmd (DsmMessage *m) { dsm_command_clear (&m->cmd); }
static void request_empty_machine (DsmMessage *m) { m->cmd.machine[0] = '\0'; }
static void reply_status (DsmMessage *m) { m->status = DSM_REPLY_N_STATUSES; }
static void reply_reason (DsmMessage *m) { m->reason = (DsmRejectReason) 99; }
static void snapshot_no_data (DsmMessage *m) { g_clear_pointer (&m->data, g_bytes_unref); }
static void snapshot_last_index (DsmMessage *m) { m->last_index = 0; }
static void snapshot_last_epoch (DsmMessage *m) { m->last_epoch = m->epoch + 1; }

static void
snapshot_big (DsmMessage *m)
{
  g_bytes_unref (m->data);
  m->data = g_bytes_new_take (g_malloc0 (DSM_MESSAGE_CHUNK_BYTES_MAX + 1),
                              DSM_MESSAGE_CHUNK_BYTES_MAX + 1);
}

static void
replace_entry (DsmMessage *m, guint i, DsmEntry *entry)
{
  dsm_entry_unref (g_ptr_array_index (m->entries, i));
  g_ptr_array_index (m->entries, i) = entry;
}

static void
entries_gap (DsmMessage *m)
{
  DsmEntry *old = g_ptr_array_index (m->entries, 2);

  replace_entry (m, 2, dsm_entry_new (old->index + 1, old->epoch, old->kind, &old->cmd));
}

static void
entries_first (DsmMessage *m)
{
  replace_entry (m, 0, dsm_entry_new (m->prev_index, 6, DSM_ENTRY_NOOP, NULL));
}

static void
entries_epoch_newer (DsmMessage *m)
{
  DsmEntry *old = g_ptr_array_index (m->entries, 2);

  replace_entry (m, 2, dsm_entry_new (old->index, m->epoch + 1, old->kind, &old->cmd));
}

static void
entries_epoch_back (DsmMessage *m)
{
  DsmEntry *old = g_ptr_array_index (m->entries, 2);

  replace_entry (m, 2, dsm_entry_new (old->index, 6, old->kind, &old->cmd));
}

static void
entries_before_prev (DsmMessage *m)
{
  replace_entry (m, 0, dsm_entry_new (m->prev_index + 1, m->prev_epoch - 1,
                                      DSM_ENTRY_NOOP, NULL));
}

static void
entries_bad_command (DsmMessage *m)
{
  DsmEntry *entry = g_ptr_array_index (m->entries, 1);

  /* Entries are immutable by contract; the test breaks it on purpose.
   * dsm_entry_new() packed the string into the entry's own allocation:
   * it goes with the entry, not freed here. */
  entry->cmd.client_id = NULL;
}

static void
entries_noop_with_command (DsmMessage *m)
{
  DsmEntry *entry = g_ptr_array_index (m->entries, 0);

  entry->cmd.machine = g_strdup ("m");
}

static void
entries_null (DsmMessage *m)
{
  replace_entry (m, 1, NULL);
}

static void
entries_too_many (DsmMessage *m)
{
  g_ptr_array_set_size (m->entries, 0);
  for (guint i = 0; i <= DSM_MESSAGE_ENTRIES_MAX; i++)
    g_ptr_array_add (m->entries, dsm_entry_new (m->prev_index + 1 + i, m->epoch,
                                                DSM_ENTRY_NOOP, NULL));
}

static const BadMessage bad_messages[] = {
  { "from-zero", DSM_MSG_COMMIT, from_zero, "commit.from: must not be 0" },
  { "to-zero", DSM_MSG_VOTE, to_zero, "vote.to: must not be 0" },
  { "to-is-from", DSM_MSG_ACK, to_from, "ack.to: equals from (1)" },
  { "vote-request-last-epoch-newer", DSM_MSG_VOTE_REQUEST, vote_last_epoch,
    "vote_request.last_epoch: 8 is newer than the message epoch 7" },
  { "proposal-prev-epoch-newer", DSM_MSG_PROPOSAL, prev_epoch_newer,
    "proposal.prev_epoch: 8 is newer" },
  { "proposal-entries-gap", DSM_MSG_PROPOSAL, entries_gap,
    "proposal.entries[2].index: expected 13, found 14" },
  { "proposal-entries-first-not-after-prev", DSM_MSG_PROPOSAL, entries_first,
    "proposal.entries[0].index: expected 11, found 10" },
  { "proposal-entry-epoch-newer", DSM_MSG_PROPOSAL, entries_epoch_newer,
    "proposal.entries[2].epoch: 8 is newer than the message epoch 7" },
  { "proposal-entry-epoch-decreases", DSM_MSG_PROPOSAL, entries_epoch_back,
    "proposal.entries[2].epoch: 6 is older than the epoch 7 before it" },
  { "proposal-entry-epoch-before-prev", DSM_MSG_PROPOSAL, entries_before_prev,
    "proposal.entries[0].epoch: 4 is older than the epoch 5 before it" },
  { "proposal-entry-bad-command", DSM_MSG_PROPOSAL, entries_bad_command,
    "proposal.entries[1].seq: 42 given without a client_id" },
  { "proposal-noop-with-command", DSM_MSG_PROPOSAL, entries_noop_with_command,
    "proposal.entries[0].kind: a noop entry carries a command" },
  { "proposal-null-entry", DSM_MSG_PROPOSAL, entries_null,
    "proposal.entries[1]: missing entry" },
  { "proposal-too-many-entries", DSM_MSG_PROPOSAL, entries_too_many,
    "proposal.entries: 4097 entries, more than 4096" },
  { "reject-reason-none", DSM_MSG_REJECT, reject_none, "reject.reason: invalid reason 0" },
  { "reject-reason-out-of-range", DSM_MSG_REJECT, reject_range, "reject.reason: invalid reason" },
  { "reject-state-control", DSM_MSG_REJECT, reject_state,
    "reject.state: control character U+000A" },
  { "reject-detail-not-utf8", DSM_MSG_REJECT, reject_detail, "reject.detail: not valid UTF-8" },
  { "reject-bad-command", DSM_MSG_REJECT, reject_cmd, "reject.cmd.to: missing" },
  { "client-request-no-command", DSM_MSG_CLIENT_REQUEST, request_no_cmd,
    "client_request.cmd.machine: missing" },
  { "client-request-empty-machine", DSM_MSG_CLIENT_REQUEST, request_empty_machine,
    "client_request.cmd.machine: empty name" },
  { "client-reply-bad-status", DSM_MSG_CLIENT_REPLY, reply_status,
    "client_reply.status: invalid status 3" },
  { "client-reply-bad-reason", DSM_MSG_CLIENT_REPLY, reply_reason,
    "client_reply.reason: invalid reason 99" },
  { "snapshot-no-data", DSM_MSG_SNAPSHOT, snapshot_no_data, "snapshot.data: missing" },
  { "snapshot-chunk-too-big", DSM_MSG_SNAPSHOT, snapshot_big,
    "snapshot.data: chunk of 1048577 bytes, more than 1048576" },
  { "snapshot-last-index-zero", DSM_MSG_SNAPSHOT, snapshot_last_index,
    "snapshot.last_index: must be at least 1" },
  { "snapshot-last-epoch-newer", DSM_MSG_SNAPSHOT, snapshot_last_epoch,
    "snapshot.last_epoch: 8 is newer" },
};

static void
test_check_refuses (gconstpointer data)
{
  const BadMessage *row = data;
  g_autoptr(DsmMessage) msg = sample_message (row->type);
  g_autoptr(GError) error = NULL;

  g_test_summary ("An inconsistent message fails the check with "
                  "DSM_CODEC_ERROR_INVALID naming the field.");

  row->mutate (msg);
  g_assert_false (dsm_message_check (msg, &error));
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID);
  if (!g_str_has_prefix (error->message, row->message))
    g_error ("%s: expected a message starting \"%s\", got \"%s\"",
             row->name, row->message, error->message);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/core/message/type-names-round-trip", test_type_names_round_trip);
  g_test_add_func ("/core/message/type-from-string-refuses-unknown",
                   test_type_from_string_refuses_unknown);
  g_test_add_func ("/core/message/new-is-zeroed", test_new_is_zeroed);
  g_test_add_func ("/core/message/ref-keeps-alive", test_ref_keeps_alive);
  g_test_add_func ("/core/message/copy-is-equal-and-independent",
                   test_copy_is_equal_and_independent);
  g_test_add_func ("/core/message/copy-owns-strings-and-data", test_copy_owns_strings_and_data);
  g_test_add_func ("/core/message/equal-notices-each-field", test_equal_notices_each_field);
  g_test_add_func ("/core/message/equal-booleans-by-truth", test_equal_booleans_by_truth);
  g_test_add_func ("/core/message/equal-null-entries-is-empty", test_equal_null_entries_is_empty);
  g_test_add_func ("/core/message/check-accepts-samples", test_check_accepts_samples);
  g_test_add_func ("/core/message/check-accepts-edge-values", test_check_accepts_edge_values);
  for (guint i = 0; i < G_N_ELEMENTS (bad_messages); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/message/check-refuses/%s",
                                               bad_messages[i].name);

      g_test_add_data_func (path, &bad_messages[i], test_check_refuses);
    }
  return g_test_run ();
}
