/* tests/core/test-client.c: one node's handling of client commands and
 * reads, message by message (PROTOCOL.md sections 8 to 10): replies after
 * apply, forwarding and relaying, the consensus timeout, sessions, bounds
 * and linearizable reads. */
#include <string.h>

#include "node-rig.h"

/* ---- a leader's commands ---- */

/* Makes the leader's log durable and node 2 Ack everything: commits it. */
static void
commit_all (Rig *rig)
{
  rig_persist_all (rig);
  rig_step (rig, rig_ack (2, dsm_node_get_epoch (rig->node), dsm_node_get_last_index (rig->node), 0));
}

static void
test_leader_ok_after_commit (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A command submitted to the leader is appended and answered OK only once "
                  "committed and applied, with the machine's new state and the entry's index.");
  rig_elect_committed (rig);
  rig_transition (rig, 10, "m", "Running", NULL, 0);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 2);
  g_assert_null (rig_find_reply (rig, 10));

  commit_all (rig);
  DsmClientReply *reply = rig_find_reply (rig, 10);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_OK);
  g_assert_cmpstr (reply->machine, ==, "m");
  g_assert_cmpstr (reply->state, ==, "Running");
  g_assert_cmpuint (reply->index, ==, 2);
}

static void
test_invalid_transition_rejected_at_apply (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("An illegal transition still enters the log and is refused when applied, "
                  "with the state at that position: the refusal is then linearizable and the "
                  "same on every node.");
  rig_elect_committed (rig);
  rig_transition (rig, 10, "m", "Stopped", NULL, 0);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 2);
  g_assert_null (rig_find_reply (rig, 10));

  commit_all (rig);
  DsmClientReply *reply = rig_find_reply (rig, 10);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_INVALID_TRANSITION);
  g_assert_cmpstr (reply->state, ==, "Init");
  g_assert_cmpstr (reply->requested, ==, "Stopped");
  g_assert_cmpuint (reply->index, ==, 2);
  g_assert_nonnull (reply->detail);
}

static void
test_unknown_state_bad_request (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A state the definition does not have can never become legal: refused "
                  "bad_request at once, nothing appended.");
  rig_elect_committed (rig);
  rig_transition (rig, 10, "m", "Flying", NULL, 0);

  DsmClientReply *reply = rig_find_reply (rig, 10);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_BAD_REQUEST);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 1);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_PROPOSAL), ==, 0);
}

/* ---- a follower's commands ---- */

static void
test_follower_forwards_and_relays_reply (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A follower forwards a command to its leader as a ClientRequest and hands the "
                  "leader's ClientReply to its client under the same request id.");
  rig_follow (rig, 2, 1);
  rig_transition (rig, 5, "m", "Running", NULL, 0);

  DsmMessage *fwd = rig_find_message (rig, DSM_MSG_CLIENT_REQUEST, 2);
  g_assert_nonnull (fwd);
  g_assert_cmpuint (fwd->request_id, ==, 5);
  g_assert_cmpstr (fwd->cmd.machine, ==, "m");
  g_assert_cmpstr (fwd->cmd.to, ==, "Running");
  g_assert_cmpuint (rig->out.replies->len, ==, 0);

  DsmMessage *msg = rig_message (DSM_MSG_CLIENT_REPLY, 2, 1);
  msg->request_id = 5;
  msg->status = DSM_REPLY_OK;
  msg->state = g_strdup ("Running");
  msg->index = 3;
  rig_step (rig, msg);
  DsmClientReply *reply = rig_find_reply (rig, 5);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_OK);
  g_assert_cmpstr (reply->state, ==, "Running");
  g_assert_cmpuint (reply->index, ==, 3);
}

static void
test_follower_relays_reject (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("The leader's Reject of a forwarded command reaches the client as REJECTED "
                  "with the leader's reason, state and detail.");
  rig_follow (rig, 2, 1);
  rig_transition (rig, 5, "m", "Stopped", NULL, 0);

  DsmMessage *msg = rig_message (DSM_MSG_REJECT, 2, 1);
  msg->reason = DSM_REJECT_INVALID_TRANSITION;
  msg->request_id = 5;
  msg->index = 3;
  msg->state = g_strdup ("Init");
  msg->detail = g_strdup ("refused when applied");
  rig_step (rig, msg);
  DsmClientReply *reply = rig_find_reply (rig, 5);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_INVALID_TRANSITION);
  g_assert_cmpstr (reply->state, ==, "Init");
  g_assert_cmpstr (reply->detail, ==, "refused when applied");
  g_assert_cmpuint (reply->index, ==, 3);
}

static void
test_waits_for_leader (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("Without a known leader a command waits, and is forwarded as soon as a "
                  "leader makes itself known.");
  rig_transition (rig, 5, "m", "Running", NULL, 0);
  g_assert_cmpuint (rig->out.messages->len, ==, 0);
  g_assert_cmpuint (rig->out.replies->len, ==, 0);

  rig_step (rig, rig_commit (3, 1, 0, 0));
  DsmMessage *fwd = rig_find_message (rig, DSM_MSG_CLIENT_REQUEST, 3);
  g_assert_nonnull (fwd);
  g_assert_cmpuint (fwd->request_id, ==, 5);
}

static void
test_consensus_timeout_unknown (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  guint timeout = rig->config->consensus_timeout_ms;

  g_test_summary ("A command appended but not committed is answered UNKNOWN exactly "
                  "consensus_timeout_ms after it arrived: it may still commit, so it is never "
                  "reported as failed.");
  rig_elect_committed (rig);
  guint64 submitted = rig->now_ms;
  rig_transition (rig, 10, "m", "Running", NULL, 0);

  /* Followers answer heartbeats (keeping the leader in office) but never
   * Ack the entry. */
  rig->now_ms = submitted + timeout - 1;
  rig_step (rig, rig_ack (2, 1, 0, 0));
  rig_tick (rig, rig->now_ms);
  g_assert_null (rig_find_reply (rig, 10));
  rig->now_ms = submitted + timeout;
  rig_step (rig, rig_ack (2, 1, 0, 0));
  rig_tick (rig, rig->now_ms);

  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_LEADER);
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 1);
  DsmClientReply *reply = rig_find_reply (rig, 10);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_UNKNOWN);
  g_assert_cmpuint (reply->latency_ms, ==, timeout);
  g_assert_nonnull (reply->detail);
  g_assert_nonnull (strstr (reply->detail, "outcome unknown"));
}

static void
test_never_forwarded_not_leader (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  guint timeout = rig->config->consensus_timeout_ms;

  g_test_summary ("A command that never reached a leader cannot have taken effect: at the "
                  "timeout it is REJECTED not_leader, a definite answer.");
  rig_transition (rig, 5, "m", "Running", NULL, 0);
  rig_tick (rig, timeout - 1);
  g_assert_null (rig_find_reply (rig, 5));
  rig_tick (rig, timeout);

  DsmClientReply *reply = rig_find_reply (rig, 5);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_NOT_LEADER);
}

static void
test_duplicate_session_attaches (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A retry of a (client_id, seq) still uncommitted on the leader waits for the "
                  "same entry instead of appending a copy; both get its OK.");
  rig_elect_committed (rig);
  rig_transition (rig, 1, "m", "Running", "c", 1);
  rig_transition (rig, 2, "m", "Running", "c", 1);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 2);

  commit_all (rig);
  for (guint64 id = 1; id <= 2; id++)
    {
      DsmClientReply *reply = rig_find_reply (rig, id);
      g_assert_nonnull (reply);
      g_assert_cmpint (reply->status, ==, DSM_REPLY_OK);
      g_assert_cmpuint (reply->index, ==, 2);
    }
}

static void
test_applied_session_answers_at_once (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A (client_id, seq) already applied is answered at once with its first "
                  "outcome and index, and changes nothing: at most once.");
  rig_elect_committed (rig);
  rig_transition (rig, 1, "m", "Running", "c", 1);
  commit_all (rig);
  g_assert_nonnull (rig_find_reply (rig, 1));

  rig_transition (rig, 2, "m", "Running", "c", 1);
  DsmClientReply *reply = rig_find_reply (rig, 2);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_OK);
  g_assert_cmpuint (reply->index, ==, 2);
  g_assert_cmpstr (reply->state, ==, "Running");
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 2);
}

static void
test_max_pending_overloaded (void)
{
  DsmConfig *config = rig_config (3);
  config->max_pending_requests = 2;
  g_autoptr(Rig) rig = rig_new (config, NULL);

  g_test_summary ("Past max_pending_requests waiting commands a node refuses more with "
                  "OVERLOADED, appending nothing: memory stays bounded under overload.");
  rig_elect_committed (rig);
  rig_transition (rig, 1, "a", "Running", NULL, 0);
  rig_transition (rig, 2, "b", "Running", NULL, 0);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 3);
  rig_transition (rig, 3, "c", "Running", NULL, 0);

  DsmClientReply *reply = rig_find_reply (rig, 3);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_OVERLOADED);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 3);
}

static void
test_duplicate_request_id_keeps_first (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A host reusing a pending request id gets bad_request for the second "
                  "command; the first must still receive its leader's answer.");
  rig_follow (rig, 2, 1);
  rig_transition (rig, 5, "m", "Running", NULL, 0);
  g_assert_nonnull (rig_find_message (rig, DSM_MSG_CLIENT_REQUEST, 2));
  rig_transition (rig, 5, "n", "Running", NULL, 0);
  DsmClientReply *refused = rig_find_reply (rig, 5);
  g_assert_nonnull (refused);
  g_assert_cmpint (refused->reason, ==, DSM_REJECT_BAD_REQUEST);

  DsmMessage *msg = rig_message (DSM_MSG_CLIENT_REPLY, 2, 1);
  msg->request_id = 5;
  msg->status = DSM_REPLY_OK;
  msg->state = g_strdup ("Running");
  msg->index = 3;
  rig_step (rig, msg);
  DsmClientReply *reply = rig_find_reply (rig, 5);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_OK);
  g_assert_cmpuint (reply->index, ==, 3);
}

/* ---- reads ---- */

static void
test_read_waits_for_noop (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A new leader may not know every committed entry until its own no-op "
                  "commits: a read waits for it, then starts a heartbeat round to every "
                  "follower.");
  rig_elect (rig);
  rig_read (rig, 20, "m");
  g_assert_null (rig_find_reply (rig, 20));
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_COMMIT), ==, 0);

  rig_persist_all (rig);
  rig_step (rig, rig_ack (2, 1, 1, 0));
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 1);
  g_assert_null (rig_find_reply (rig, 20));
  for (DsmNodeId to = 2; to <= 3; to++)
    {
      DsmMessage *msg = rig_find_message (rig, DSM_MSG_COMMIT, to);
      g_assert_nonnull (msg);
      g_assert_cmpuint (msg->hb_seq, ==, 1);
    }
}

static void
test_read_needs_quorum_echo (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A read is answered only once a quorum echoed its heartbeat round: then no "
                  "other leader can have committed anything this one lacks.");
  rig_elect_committed (rig);
  rig_read (rig, 20, "m");
  g_assert_null (rig_find_reply (rig, 20));
  DsmMessage *round = rig_find_message (rig, DSM_MSG_COMMIT, 2);
  g_assert_nonnull (round);
  guint64 hb_seq = round->hb_seq;
  g_assert_cmpuint (hb_seq, >, 0);

  rig_step (rig, rig_ack (2, 1, 0, hb_seq - 1));
  g_assert_null (rig_find_reply (rig, 20));
  rig_step (rig, rig_ack (2, 1, 0, hb_seq));
  DsmClientReply *reply = rig_find_reply (rig, 20);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_OK);
  g_assert_cmpint (reply->op, ==, DSM_OP_READ);
  g_assert_cmpstr (reply->state, ==, "Init");
  g_assert_cmpuint (reply->index, ==, 1);
}

static DsmMessage *
forwarded_read (DsmNodeId from, guint64 epoch, guint64 request_id, const char *machine)
{
  DsmMessage *msg = rig_message (DSM_MSG_CLIENT_REQUEST, from, epoch);

  msg->request_id = request_id;
  msg->cmd.op = DSM_OP_READ;
  msg->cmd.machine = g_strdup (machine);
  return msg;
}

static void
test_read_step_down_rejects_forwarded (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A leader that steps down answers an unconfirmed forwarded read not_leader, "
                  "naming the new leader: it can no longer prove the read is current.");
  rig_elect (rig);
  rig_step (rig, forwarded_read (2, 1, 30, "m"));
  g_assert_null (rig_find_message (rig, DSM_MSG_CLIENT_REPLY, 2));

  rig_step (rig, rig_commit (3, 2, 0, 0));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  DsmMessage *reject = rig_find_message (rig, DSM_MSG_REJECT, 2);
  g_assert_nonnull (reject);
  g_assert_cmpint (reject->reason, ==, DSM_REJECT_NOT_LEADER);
  g_assert_cmpuint (reject->request_id, ==, 30);
  g_assert_cmpuint (reject->leader_hint, ==, 3);
}

static void
test_read_step_down_reroutes_local (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A local client's unconfirmed read on a leader that steps down is not served "
                  "from the stale store: the node, now a follower, forwards it to the new "
                  "leader.");
  rig_elect (rig);
  rig_read (rig, 20, "m");
  rig_step (rig, rig_commit (3, 2, 0, 0));

  g_assert_null (rig_find_reply (rig, 20));
  DsmMessage *fwd = rig_find_message (rig, DSM_MSG_CLIENT_REQUEST, 3);
  g_assert_nonnull (fwd);
  g_assert_cmpuint (fwd->request_id, ==, 20);
  g_assert_cmpint (fwd->cmd.op, ==, DSM_OP_READ);
}

/* ---- a new leader's first moments ---- */

static const char door_spec[] =
  "{\"name\":\"door\",\"states\":[\"Closed\",\"Open\"],\"initial\":\"Closed\","
  "\"transitions\":[{\"from\":\"Closed\",\"to\":\"Open\"},{\"from\":\"Open\",\"to\":\"Closed\"}]}";

static void
test_new_leader_holds_until_settled (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  DsmCommand def = { .op = DSM_OP_DEFINE, .definition = "door", .spec = (char *) door_spec };
  DsmCommand move = { .op = DSM_OP_TRANSITION, .machine = "front", .definition = "door", .to = "Open" };
  DsmCommand look = { .op = DSM_OP_READ, .machine = "front", .definition = "door" };

  g_test_summary ("A new leader holds transitions and reads until an entry of its epoch commits: "
                  "a definition DEFINEd by an entry committed (and acknowledged) before it, which "
                  "it has not applied yet, is not refused as unknown.");
  DsmMessage *p = dsm_message_new (DSM_MSG_PROPOSAL, 2, RIG_SELF, 1);
  p->commit_index = 1;
  p->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  g_ptr_array_add (p->entries, dsm_entry_new (1, 1, DSM_ENTRY_NOOP, NULL));
  g_ptr_array_add (p->entries, dsm_entry_new (2, 1, DSM_ENTRY_COMMAND, &def));
  rig_step (rig, p);
  rig_persist_all (rig);
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 1);

  rig_elect (rig);
  guint64 noop = dsm_node_get_last_index (rig->node);
  dsm_node_submit (rig->node, rig->now_ms, 77, &move);
  dsm_node_submit (rig->node, rig->now_ms, 78, &look);
  rig_drain (rig);
  g_assert_null (rig_find_reply (rig, 77));
  g_assert_null (rig_find_reply (rig, 78));
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, noop);

  /* The no-op commits, door is applied: the transition goes in, and the
   * read waits for its heartbeat round, not refused. */
  commit_all (rig);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, noop + 1);
  g_assert_null (rig_find_reply (rig, 78));
  /* The read's heartbeat round rides on the Proposal of the transition. */
  DsmMessage *round = rig_find_message (rig, DSM_MSG_PROPOSAL, 2);
  g_assert_nonnull (round);
  guint64 hb_seq = round->hb_seq;
  commit_all (rig);
  DsmClientReply *moved = rig_find_reply (rig, 77);
  g_assert_nonnull (moved);
  g_assert_cmpint (moved->status, ==, DSM_REPLY_OK);
  g_assert_cmpstr (moved->state, ==, "Open");
  rig_step (rig, rig_ack (2, dsm_node_get_epoch (rig->node), noop + 1, hb_seq));
  DsmClientReply *read = rig_find_reply (rig, 78);
  g_assert_nonnull (read);
  g_assert_cmpint (read->status, ==, DSM_REPLY_OK);
}

/* ---- a reply's own copy ---- */

static void
test_reply_owns_packed_strings (void)
{
  char machine[] = "job", state[] = "Running", detail[] = "why";
  DsmClientReply fields = { .request_id = 5, .status = DSM_REPLY_REJECTED,
                            .reason = DSM_REJECT_INVALID_TRANSITION, .machine = machine,
                            .state = state, .detail = detail, .revision = 3, .latency_ms = 2 };

  g_test_summary ("A reply copies every field and its strings (into its own allocation): changing "
                  "the caller's afterwards changes nothing; absent strings stay NULL.");
  DsmClientReply *reply = dsm_client_reply_new (&fields);
  machine[0] = state[0] = detail[0] = 'x';
  g_assert_cmpuint (reply->request_id, ==, 5);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_INVALID_TRANSITION);
  g_assert_cmpuint (reply->revision, ==, 3);
  g_assert_cmpuint (reply->latency_ms, ==, 2);
  g_assert_cmpstr (reply->machine, ==, "job");
  g_assert_cmpstr (reply->state, ==, "Running");
  g_assert_cmpstr (reply->detail, ==, "why");
  g_assert_null (reply->requested);
  g_assert_null (reply->data);
  /* Freed without a leak or a bad free (the sanitizer build checks). */
  dsm_client_reply_free (reply);
  dsm_client_reply_free (NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/node/client/reply-owns-packed-strings", test_reply_owns_packed_strings);
  g_test_add_func ("/core/node/client/leader-ok-after-commit", test_leader_ok_after_commit);
  g_test_add_func ("/core/node/client/invalid-transition-rejected-at-apply", test_invalid_transition_rejected_at_apply);
  g_test_add_func ("/core/node/client/unknown-state-bad-request", test_unknown_state_bad_request);
  g_test_add_func ("/core/node/client/follower-forwards-and-relays-reply", test_follower_forwards_and_relays_reply);
  g_test_add_func ("/core/node/client/follower-relays-reject", test_follower_relays_reject);
  g_test_add_func ("/core/node/client/waits-for-leader", test_waits_for_leader);
  g_test_add_func ("/core/node/client/consensus-timeout-unknown", test_consensus_timeout_unknown);
  g_test_add_func ("/core/node/client/never-forwarded-not-leader", test_never_forwarded_not_leader);
  g_test_add_func ("/core/node/client/duplicate-session-attaches", test_duplicate_session_attaches);
  g_test_add_func ("/core/node/client/applied-session-answers-at-once", test_applied_session_answers_at_once);
  g_test_add_func ("/core/node/client/max-pending-overloaded", test_max_pending_overloaded);
  g_test_add_func ("/core/node/client/duplicate-request-id-keeps-first", test_duplicate_request_id_keeps_first);
  g_test_add_func ("/core/node/read/waits-for-noop", test_read_waits_for_noop);
  g_test_add_func ("/core/node/read/needs-quorum-echo", test_read_needs_quorum_echo);
  g_test_add_func ("/core/node/read/step-down-rejects-forwarded", test_read_step_down_rejects_forwarded);
  g_test_add_func ("/core/node/read/step-down-reroutes-local", test_read_step_down_reroutes_local);
  g_test_add_func ("/core/node/client/new-leader-holds-until-settled", test_new_leader_holds_until_settled);
  return g_test_run ();
}
