/* tests/core/test-replication.c: one node's replication handlers, message by
 * message (PROTOCOL.md section 7): a follower's Proposal and Commit handling,
 * a leader's Acks, the commit rule, back-off, pipelining, batching,
 * retries, heartbeats and check-quorum. */
#include "log.h"
#include "node-rig.h"

static guint64
epoch_at (Rig *rig, guint64 index)
{
  guint64 epoch = 0;

  g_assert_true (dsm_log_epoch_at (dsm_node_get_log (rig->node), index, &epoch));
  return epoch;
}

/* ---- follower: Proposal ---- */

static void
test_follower_appends_acks_after_persist (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  static const guint64 epochs[] = { 1, 1 };

  g_test_summary ("A follower appends a Proposal's entries and Acks match = prev + n, echoing "
                  "hb_seq, only once they are durable: the leader counts that Ack towards a "
                  "commit (rule P).");
  DsmMessage *msg = rig_proposal (2, 1, 0, 0, 0, epochs, 2);
  msg->hb_seq = 3;
  rig_step (rig, msg);

  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 2);
  g_assert_cmpuint (dsm_node_get_leader (rig->node), ==, 2);
  DsmPersist *persist = rig_find_persist (rig, DSM_PERSIST_ENTRIES);
  g_assert_nonnull (persist);
  g_assert_cmpuint (persist->first_index, ==, 1);
  g_assert_cmpuint (persist->entries->len, ==, 2);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_ACK), ==, 0);

  rig_persist_all (rig);
  DsmMessage *ack = rig_find_message (rig, DSM_MSG_ACK, 2);
  g_assert_nonnull (ack);
  g_assert_cmpuint (ack->match_index, ==, 2);
  g_assert_cmpuint (ack->hb_seq, ==, 3);
  g_assert_cmpuint (ack->epoch, ==, 1);
}

static void
test_follower_rejects_short_log (void)
{
  static const guint64 log_epochs[] = { 1, 1 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 1, log_epochs, 2);
  static const guint64 epochs[] = { 1 };

  g_test_summary ("A Proposal after an index the follower does not have is refused "
                  "log_mismatch with hint last_index + 1: the leader jumps straight there.");
  DsmMessage *msg = rig_proposal (2, 1, 5, 1, 0, epochs, 1);
  msg->hb_seq = 4;
  rig_step (rig, msg);

  DsmMessage *reject = rig_find_message (rig, DSM_MSG_REJECT, 2);
  g_assert_nonnull (reject);
  g_assert_cmpint (reject->reason, ==, DSM_REJECT_LOG_MISMATCH);
  g_assert_cmpuint (reject->prev_index, ==, 5);
  g_assert_cmpuint (reject->hb_seq, ==, 4);
  g_assert_cmpuint (reject->hint_index, ==, 3);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 2);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_ACK), ==, 0);
}

static void
test_follower_rejects_conflicting_epoch (void)
{
  static const guint64 log_epochs[] = { 1, 1, 2, 2 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 3, log_epochs, 4);

  g_test_summary ("When the entry at prev_index has another epoch, the hint is the first index "
                  "of that epoch in the follower's log, so the leader skips the whole "
                  "conflicting epoch in one round trip.");
  rig_step (rig, rig_proposal (2, 3, 4, 3, 0, NULL, 0));

  DsmMessage *reject = rig_find_message (rig, DSM_MSG_REJECT, 2);
  g_assert_nonnull (reject);
  g_assert_cmpint (reject->reason, ==, DSM_REJECT_LOG_MISMATCH);
  g_assert_cmpuint (reject->prev_index, ==, 4);
  g_assert_cmpuint (reject->hint_index, ==, 3);
  g_assert_cmpuint (reject->hint_epoch, ==, 2);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 4);
}

static void
test_follower_truncates_conflict (void)
{
  static const guint64 log_epochs[] = { 1, 1, 2, 2 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 3, log_epochs, 4);
  static const guint64 epochs[] = { 3 };

  g_test_summary ("A follower drops its entries from the first one whose epoch differs from "
                  "the leader's, and the ENTRIES persist starts there so the disk drops them too.");
  rig_step (rig, rig_proposal (2, 3, 2, 1, 0, epochs, 1));

  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 3);
  g_assert_cmpuint (epoch_at (rig, 3), ==, 3);
  DsmPersist *persist = rig_find_persist (rig, DSM_PERSIST_ENTRIES);
  g_assert_nonnull (persist);
  g_assert_cmpuint (persist->first_index, ==, 3);
  g_assert_cmpuint (persist->entries->len, ==, 1);
  rig_persist_all (rig);
  DsmMessage *ack = rig_find_message (rig, DSM_MSG_ACK, 2);
  g_assert_nonnull (ack);
  g_assert_cmpuint (ack->match_index, ==, 3);
}

static void
test_follower_keeps_present_prefix (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  static const guint64 epochs[] = { 1, 1, 1 };

  g_test_summary ("A duplicated or reordered Proposal whose entries the follower already holds "
                  "truncates nothing: entries after it may already be Acked to the leader.");
  rig_step (rig, rig_proposal (2, 1, 0, 0, 0, epochs, 3));
  rig_persist_all (rig);

  rig_step (rig, rig_proposal (2, 1, 0, 0, 0, epochs, 1));
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 3);
  g_assert_cmpuint (rig->out.persists->len, ==, 0);
  DsmMessage *ack = rig_find_message (rig, DSM_MSG_ACK, 2);
  g_assert_nonnull (ack);
  g_assert_cmpuint (ack->match_index, ==, 1);

  rig_step (rig, rig_proposal (2, 1, 1, 1, 0, epochs, 1));
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 3);
  g_assert_cmpuint (rig->out.persists->len, ==, 0);
  ack = rig_find_message (rig, DSM_MSG_ACK, 2);
  g_assert_nonnull (ack);
  g_assert_cmpuint (ack->match_index, ==, 2);
}

static void
test_follower_commit_bounded_by_match (void)
{
  static const guint64 log_epochs[] = { 1, 1, 2, 2 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 3, log_epochs, 4);

  g_test_summary ("A follower commits min(leader commit, prev + n): entries past what the "
                  "Proposal proved may be a deposed leader's and must not be applied "
                  "(agreement).");
  rig_step (rig, rig_proposal (2, 3, 2, 1, 4, NULL, 0));

  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 2);
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 2);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 4);
  DsmMessage *ack = rig_find_message (rig, DSM_MSG_ACK, 2);
  g_assert_nonnull (ack);
  g_assert_cmpuint (ack->match_index, ==, 2);
}

static void
test_follower_never_truncates_committed (void)
{
  static const guint64 log_epochs[] = { 1, 1, 1 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 1, log_epochs, 3);
  static const guint64 epochs[] = { 2 };

  g_test_summary ("A Proposal that would overwrite a committed entry cannot come from a real "
                  "leader: it is dropped unanswered and the log keeps the entry.");
  rig_step (rig, rig_commit (2, 1, 2, 0));
  rig_persist_all (rig);
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 2);
  guint64 ignored = dsm_node_get_metrics (rig->node)->messages_ignored;

  rig_step (rig, rig_proposal (3, 2, 1, 1, 0, epochs, 1));
  rig_persist_all (rig);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 3);
  g_assert_cmpuint (epoch_at (rig, 2), ==, 1);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_ACK), ==, 0);
  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->messages_ignored, ==, ignored + 1);
}

/* ---- follower: Commit ---- */

static void
test_commit_bounded_by_last_index (void)
{
  static const guint64 log_epochs[] = { 1, 1, 1 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 1, log_epochs, 3);

  g_test_summary ("On a Commit a follower commits min(commit_index, last_index) and applies: "
                  "it cannot commit entries it does not hold.");
  rig_step (rig, rig_commit (2, 1, 10, 0));

  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 3);
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 3);
  g_assert_cmpuint (rig->out.applies->len, ==, 3);
}

static void
test_commit_acks_hb_seq (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A Commit is answered Ack(match_index 0) echoing hb_seq: the echo is what "
                  "confirms reads and keeps check-quorum satisfied, and 0 claims nothing "
                  "about the log.");
  rig_follow (rig, 2, 1);
  rig_step (rig, rig_commit (2, 1, 0, 7));

  DsmMessage *ack = rig_find_message (rig, DSM_MSG_ACK, 2);
  g_assert_nonnull (ack);
  g_assert_cmpuint (ack->match_index, ==, 0);
  g_assert_cmpuint (ack->hb_seq, ==, 7);
}

static void
test_commit_same_round_unanswered (void)
{
  static const guint64 log_epochs[] = { 1, 1, 1 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 1, log_epochs, 3);

  g_test_summary ("A follower does not Ack a Commit when its last Ack, to the same leader in the "
                  "same epoch, already echoed the Commit's hb_seq: that Ack would claim nothing "
                  "(match_index 0) and echo nothing new.  It still commits and applies, and a new "
                  "round, a Proposal, another leader or another epoch are answered as before.");
  rig_follow (rig, 2, 1);
  rig_step (rig, rig_commit (2, 1, 1, 7));
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_ACK), ==, 1);

  /* The same round again, with news: committed and applied, not answered. */
  rig_step (rig, rig_commit (2, 1, 2, 7));
  g_assert_cmpuint (rig->out.messages->len, ==, 0);
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 2);
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 2);
  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->commits_unanswered, ==, 1);

  /* A new round is answered. */
  rig_step (rig, rig_commit (2, 1, 2, 8));
  DsmMessage *ack = rig_find_message (rig, DSM_MSG_ACK, 2);
  g_assert_nonnull (ack);
  g_assert_cmpuint (ack->hb_seq, ==, 8);

  /* A Proposal's Ack echoes its round: a Commit of that round adds nothing. */
  DsmMessage *probe = rig_proposal (2, 1, 3, 1, 2, NULL, 0);
  probe->hb_seq = 9;
  rig_step (rig, probe);
  ack = rig_find_message (rig, DSM_MSG_ACK, 2);
  g_assert_nonnull (ack);
  g_assert_cmpuint (ack->match_index, ==, 3);
  g_assert_cmpuint (ack->hb_seq, ==, 9);
  rig_step (rig, rig_commit (2, 1, 3, 9));
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_ACK), ==, 0);
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 3);
  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->commits_unanswered, ==, 2);

  /* A new epoch's leader is answered, whatever the round. */
  rig_step (rig, rig_commit (3, 2, 3, 9));
  rig_persist_all (rig);
  ack = rig_find_message (rig, DSM_MSG_ACK, 3);
  g_assert_nonnull (ack);
  g_assert_cmpuint (ack->epoch, ==, 2);
  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->commits_unanswered, ==, 2);
}

/* ---- leader: Acks and the commit rule ---- */

static void
test_ack_advances_match_and_commit (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  DsmPeerStatus peer;

  g_test_summary ("An Ack moves the follower's match_index and next_index, and once a quorum "
                  "(the leader's durable log included) holds an entry of its epoch, it commits.");
  rig_elect (rig);
  rig_persist_all (rig);
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 0);
  rig_step (rig, rig_ack (2, 1, 1, 0));

  g_assert_true (rig_peer (rig, 2, &peer));
  g_assert_cmpuint (peer.match_index, ==, 1);
  g_assert_cmpuint (peer.next_index, ==, 2);
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 1);
  g_assert_cmpuint (rig_count_events (rig, DSM_EVENT_COMMIT), ==, 1);
}

static void
test_leader_counts_itself_when_durable (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("The leader writes in parallel with sending, so it counts itself only for "
                  "entries its own disk holds: one follower's Ack is not a quorum of three "
                  "until the leader's write is reported.");
  rig_elect (rig);
  rig_step (rig, rig_ack (2, 1, 1, 0));
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 0);

  rig_persist_all (rig);
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 1);
}

static void
test_own_epoch_commit_rule (void)
{
  static const guint64 log_epochs[] = { 1 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 1, log_epochs, 1);

  g_test_summary ("An entry of an older epoch held by every node is not committed by counting "
                  "replicas; it commits with the new leader's no-op (Raft's Figure 8).");
  rig_elect (rig);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 2);
  rig_persist_all (rig);
  rig_step (rig, rig_ack (2, 2, 1, 0));
  rig_step (rig, rig_ack (3, 2, 1, 0));
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 0);

  rig_step (rig, rig_ack (2, 2, 2, 0));
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 2);
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 2);
}

static void
test_log_mismatch_backs_off (void)
{
  static const guint64 log_epochs[] = { 1, 1, 1 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 1, log_epochs, 3);
  DsmPeerStatus peer;

  g_test_summary ("Reject(log_mismatch) moves next_index back to min(prev_index, hint) and the "
                  "leader resends from there, so a lagging follower catches up.");
  rig_elect (rig);
  DsmMessage *first = rig_find_message (rig, DSM_MSG_PROPOSAL, 2);
  g_assert_nonnull (first);
  g_assert_cmpuint (first->prev_index, ==, 3);

  DsmMessage *reject = rig_message (DSM_MSG_REJECT, 2, 2);
  reject->reason = DSM_REJECT_LOG_MISMATCH;
  reject->prev_index = 3;
  reject->hint_index = 2;
  dsm_node_step (rig->node, rig->now_ms, reject);
  dsm_message_unref (reject);
  g_assert_true (rig_peer (rig, 2, &peer));
  g_assert_cmpuint (peer.next_index, ==, 2);

  rig_drain (rig);
  DsmMessage *resent = rig_find_message (rig, DSM_MSG_PROPOSAL, 2);
  g_assert_nonnull (resent);
  g_assert_cmpuint (resent->prev_index, ==, 1);
  g_assert_cmpuint (resent->prev_epoch, ==, 1);
  g_assert_cmpuint (resent->entries->len, ==, 3);
  g_assert_cmpuint (((DsmEntry *) resent->entries->pdata[0])->index, ==, 2);
  g_assert_null (rig_find_message (rig, DSM_MSG_PROPOSAL, 3));
}

/* ---- leader: pipelining and batching ---- */

static void
test_pipelining_window (void)
{
  DsmConfig *config = rig_config (3);
  config->max_inflight_proposals = 3;
  g_autoptr(Rig) rig = rig_new (config, NULL);

  g_test_summary ("Once a follower's log matches, up to max_inflight_proposals Proposals are in "
                  "flight to it at once; the next waits for an Ack.");
  rig_elect_committed (rig);
  for (guint i = 0; i < 3; i++)
    {
      rig_transition (rig, 10 + i, "m", "Running", NULL, 0);
      DsmMessage *msg = rig_find_message (rig, DSM_MSG_PROPOSAL, 2);
      g_assert_nonnull (msg);
      g_assert_cmpuint (msg->prev_index, ==, 1 + i);
      g_assert_cmpuint (msg->entries->len, ==, 1);
    }
  rig_transition (rig, 13, "m", "Running", NULL, 0);
  g_assert_null (rig_find_message (rig, DSM_MSG_PROPOSAL, 2));

  rig_step (rig, rig_ack (2, 1, 2, 0));
  DsmMessage *msg = rig_find_message (rig, DSM_MSG_PROPOSAL, 2);
  g_assert_nonnull (msg);
  g_assert_cmpuint (msg->prev_index, ==, 4);
  g_assert_cmpuint (msg->entries->len, ==, 1);
}

static void
test_batching (void)
{
  DsmConfig *config = rig_config (3);
  config->max_batch_entries = 2;
  g_autoptr(Rig) rig = rig_new (config, NULL);
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = (char *) "m", .to = (char *) "Running" };

  g_test_summary ("Entries appended between two drains leave in as few Proposals as "
                  "max_batch_entries allows, and in one ENTRIES persist (group commit).");
  rig_elect_committed (rig);
  for (guint i = 0; i < 5; i++)
    dsm_node_submit (rig->node, rig->now_ms, 10 + i, &cmd);
  rig_drain (rig);

  static const guint expected_len[] = { 2, 2, 1 };
  guint n = 0;
  for (guint i = 0; i < rig->out.messages->len; i++)
    {
      DsmMessage *msg = rig->out.messages->pdata[i];
      if (msg->type != DSM_MSG_PROPOSAL || msg->to != 2)
        continue;
      g_assert_cmpuint (n, <, G_N_ELEMENTS (expected_len));
      g_assert_cmpuint (msg->entries->len, ==, expected_len[n]);
      g_assert_cmpuint (msg->prev_index, ==, 1 + 2 * n);
      n++;
    }
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpuint (rig_count_persists (rig, DSM_PERSIST_ENTRIES), ==, 1);
  DsmPersist *persist = rig_find_persist (rig, DSM_PERSIST_ENTRIES);
  g_assert_cmpuint (persist->first_index, ==, 2);
  g_assert_cmpuint (persist->entries->len, ==, 5);
}

/* ---- leader: retries ---- */

static void
test_retry_after_delay (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  guint delay = rig->config->retry_delay_ms;

  g_test_summary ("A Proposal unanswered for retry_delay_ms is resent from match_index + 1 and "
                  "counted in the retries metric: lost messages are recovered.");
  rig_elect (rig);
  guint64 sent = rig->now_ms;
  rig_step (rig, rig_ack (3, 1, 1, 0));

  rig_tick (rig, sent + delay - 1);
  g_assert_null (rig_find_message (rig, DSM_MSG_PROPOSAL, 2));
  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->retries, ==, 0);

  rig_tick (rig, sent + delay);
  DsmMessage *msg = rig_find_message (rig, DSM_MSG_PROPOSAL, 2);
  g_assert_nonnull (msg);
  g_assert_cmpuint (msg->prev_index, ==, 0);
  g_assert_cmpuint (msg->entries->len, ==, 1);
  g_assert_null (rig_find_message (rig, DSM_MSG_PROPOSAL, 3));
  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->retries, ==, 1);
  g_assert_cmpuint (rig_count_events (rig, DSM_EVENT_RETRY), ==, 1);
}

static void
test_retry_keeps_probe_place (void)
{
  static const guint64 log_epochs[] = { 1, 1, 1, 1, 1 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 1, log_epochs, 5);
  guint delay = rig->config->retry_delay_ms;

  g_test_summary ("A new leader's lost probe is resent where it was, not from index 1 (match_index "
                  "is 0 until a peer answers): a peer down during the election is not sent the "
                  "whole log, or the whole snapshot. After a Reject moved it back, from there.");
  rig_elect (rig);
  DsmMessage *first = rig_find_message (rig, DSM_MSG_PROPOSAL, 2);
  g_assert_nonnull (first);
  g_assert_cmpuint (first->prev_index, ==, 5);
  rig_step (rig, rig_ack (3, 2, 6, 0));

  rig_tick (rig, rig->now_ms + delay);
  DsmMessage *resent = rig_find_message (rig, DSM_MSG_PROPOSAL, 2);
  g_assert_nonnull (resent);
  g_assert_cmpuint (resent->prev_index, ==, 5);
  g_assert_cmpuint (resent->entries->len, ==, 1);
  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->retries, ==, 1);

  DsmMessage *reject = rig_message (DSM_MSG_REJECT, 2, 2);
  reject->reason = DSM_REJECT_LOG_MISMATCH;
  reject->prev_index = 5;
  reject->hint_index = 3;
  rig_step (rig, reject);
  resent = rig_find_message (rig, DSM_MSG_PROPOSAL, 2);
  g_assert_nonnull (resent);
  g_assert_cmpuint (resent->prev_index, ==, 2);

  rig_tick (rig, rig->now_ms + delay);
  resent = rig_find_message (rig, DSM_MSG_PROPOSAL, 2);
  g_assert_nonnull (resent);
  g_assert_cmpuint (resent->prev_index, ==, 2);
  g_assert_cmpuint (resent->entries->len, ==, 4);
  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->retries, ==, 2);
}

static void
test_unreachable_after_retries (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  guint delay = rig->config->retry_delay_ms;
  guint attempts = rig->config->retry_attempts;
  DsmPeerStatus peer;

  g_test_summary ("After retry_attempts unanswered resends a peer is counted unreachable (event, "
                  "metric, peer status) and gets only empty probes; its next answer makes it "
                  "reachable again.");
  rig_elect (rig);
  guint64 t = rig->now_ms;
  rig_step (rig, rig_ack (3, 1, 1, 0));
  for (guint i = 1; i <= attempts; i++)
    {
      t += delay;
      rig->now_ms = t;
      rig_step (rig, rig_ack (3, 1, 0, 0));   /* node 3 keeps the quorum alive */
      rig_tick (rig, t);
      DsmMessage *msg = rig_find_message (rig, DSM_MSG_PROPOSAL, 2);
      g_assert_nonnull (msg);
      g_assert_cmpuint (msg->entries->len, ==, 1);
      g_assert_true (rig_peer (rig, 2, &peer));
      g_assert_true (peer.reachable);
      g_assert_cmpuint (dsm_node_get_metrics (rig->node)->retries, ==, i);
    }

  t += delay;
  rig->now_ms = t;
  rig_step (rig, rig_ack (3, 1, 0, 0));
  rig_tick (rig, t);
  g_assert_cmpuint (rig_count_events (rig, DSM_EVENT_PEER_UNREACHABLE), ==, 1);
  g_assert_true (rig_peer (rig, 2, &peer));
  g_assert_false (peer.reachable);
  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->peers_unreachable_total, ==, 1);
  DsmMessage *probe = rig_find_message (rig, DSM_MSG_PROPOSAL, 2);
  g_assert_nonnull (probe);
  g_assert_cmpuint (probe->entries->len, ==, 0);

  rig_step (rig, rig_ack (2, 1, 0, 0));
  g_assert_cmpuint (rig_count_events (rig, DSM_EVENT_PEER_REACHABLE), ==, 1);
  g_assert_true (rig_peer (rig, 2, &peer));
  g_assert_true (peer.reachable);
}

/* ---- leader: heartbeats and check-quorum ---- */

static void
test_heartbeat_idle (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  guint hb = rig->config->heartbeat_ms;

  g_test_summary ("An idle leader sends each follower a Commit every heartbeat_ms, which keeps "
                  "their election timers from firing.");
  rig_elect_committed (rig);
  guint64 t = rig->now_ms;

  rig_tick (rig, t + hb - 1);
  g_assert_cmpuint (rig->out.messages->len, ==, 0);
  rig_tick (rig, t + hb);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_COMMIT), ==, 2);
  for (DsmNodeId to = 2; to <= 3; to++)
    {
      DsmMessage *msg = rig_find_message (rig, DSM_MSG_COMMIT, to);
      g_assert_nonnull (msg);
      g_assert_cmpuint (msg->commit_index, ==, 1);
    }
  g_assert_cmpuint (dsm_node_next_deadline (rig->node), ==, t + 2 * hb);
}

static void
test_heartbeat_starts_round (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  guint hb = rig->config->heartbeat_ms;

  g_test_summary ("Each due heartbeat starts a new heartbeat round (hb_seq), so an idle "
                  "follower, which Acks only Commits of a round it has not echoed, answers every "
                  "heartbeat; a Commit sent because the commit index moved starts none.");
  rig_elect_committed (rig);
  guint64 t = rig->now_ms;

  rig_tick (rig, t + hb);
  DsmMessage *first = rig_find_message (rig, DSM_MSG_COMMIT, 2);
  g_assert_nonnull (first);
  guint64 round = first->hb_seq;
  g_assert_cmpuint (rig_find_message (rig, DSM_MSG_COMMIT, 3)->hb_seq, ==, round);
  rig_tick (rig, t + 2 * hb);
  for (DsmNodeId to = 2; to <= 3; to++)
    g_assert_cmpuint (rig_find_message (rig, DSM_MSG_COMMIT, to)->hb_seq, ==, round + 1);

  /* A write: its Proposals and the Commits its Acks release carry the
   * current round. */
  rig_transition (rig, 1, "job", "Running", NULL, 0);
  for (DsmNodeId to = 2; to <= 3; to++)
    g_assert_cmpuint (rig_find_message (rig, DSM_MSG_PROPOSAL, to)->hb_seq, ==, round + 1);
  rig_persist_all (rig);
  guint64 last = dsm_node_get_last_index (rig->node);
  rig_step (rig, rig_ack (2, 1, last, round + 1));
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, last);
  DsmMessage *commit = rig_find_message (rig, DSM_MSG_COMMIT, 2);
  g_assert_nonnull (commit);
  g_assert_cmpuint (commit->commit_index, ==, last);
  g_assert_cmpuint (commit->hb_seq, ==, round + 1);
}

/* The followers of test_check_quorum_keeps_idle_leader(), by the rule: a
 * Proposal is always answered; a Commit only in a round not echoed yet. */
static void
answer_by_rule (Rig *rig, GQueue *answers, guint64 *echoed, guint *unanswered)
{
  for (guint i = 0; i < rig->out.messages->len; i++)
    {
      const DsmMessage *msg = rig->out.messages->pdata[i];
      if (msg->type == DSM_MSG_COMMIT && echoed[msg->to] == msg->hb_seq)
        (*unanswered)++;
      else if (msg->type == DSM_MSG_COMMIT || msg->type == DSM_MSG_PROPOSAL)
        {
          guint64 match = msg->type == DSM_MSG_PROPOSAL ? msg->prev_index + msg->entries->len : 0;
          echoed[msg->to] = msg->hb_seq;
          g_queue_push_tail (answers, rig_ack (msg->to, msg->epoch, match, msg->hb_seq));
        }
    }
}

static void
test_check_quorum_keeps_idle_leader (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  guint window = rig->config->election_timeout_ms_max;
  guint64 echoed[4] = { 0 };
  guint answered = 0, unanswered = 0;
  GQueue answers = G_QUEUE_INIT;

  g_test_summary ("A leader whose followers answer only Commits of a round they have not echoed "
                  "(PROTOCOL.md, section 7) keeps leading through three check-quorum windows with a "
                  "write now and then and seven idle ones: every due heartbeat starts a round, so "
                  "check-quorum hears each follower once per heartbeat_ms.");
  rig_elect_committed (rig);
  guint64 t = rig->now_ms;
  for (guint ms = 1; ms <= 10 * window; ms++)
    {
      if (ms % 97 == 0 && ms <= 3 * window)
        rig_transition (rig, ms, "job", ms % 2 ? "Running" : "Stopped", NULL, 0);
      else
        rig_tick (rig, t + ms);
      answer_by_rule (rig, &answers, echoed, &unanswered);
      rig_persist_all (rig);
      answer_by_rule (rig, &answers, echoed, &unanswered);
      DsmMessage *ack;
      while ((ack = g_queue_pop_head (&answers)) != NULL)
        {
          answered++;
          rig_step (rig, ack);
          answer_by_rule (rig, &answers, echoed, &unanswered);
        }
      g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_LEADER);
    }
  g_test_message ("%u answers, %u Commits unanswered", answered, unanswered);
  g_assert_cmpuint (unanswered, >, 0);
  g_assert_cmpuint (answered, >=, 2 * 10 * window / rig->config->heartbeat_ms);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 1);
}

static void
test_check_quorum_steps_down (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  guint window = rig->config->election_timeout_ms_max;

  g_test_summary ("A leader that hears from no one steps down in its epoch: cut off in a "
                  "minority, it stops taking commands and clients fail over.");
  rig_elect (rig);
  guint64 epoch = dsm_node_get_epoch (rig->node);
  rig_persist_all (rig);
  rig->now_ms += 10;
  rig_step (rig, rig_ack (2, epoch, 1, 0));
  rig_step (rig, rig_ack (3, epoch, 1, 0));
  guint64 heard = rig->now_ms;

  /* The check runs once per window (the "check-quorum window" of
   * PROTOCOL.md's timers), so the step-down comes between one and two
   * windows after the last answer. */
  guint64 t = heard;
  while (dsm_node_get_role (rig->node) == DSM_ROLE_LEADER)
    {
      g_assert_cmpuint (t, <=, heard + 2 * window);
      rig_tick (rig, ++t);
    }
  g_test_message ("stepped down %" G_GUINT64_FORMAT " ms after the last answer (window %u ms)",
                  t - heard, window);
  g_assert_cmpuint (t, >, heard + window);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, epoch);
  g_assert_cmpuint (rig_count_events (rig, DSM_EVENT_STEP_DOWN), ==, 1);
}

static void
test_check_quorum_keeps_leader (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  guint window = rig->config->election_timeout_ms_max;

  g_test_summary ("A leader answered by one follower of three keeps leading past many windows: "
                  "itself and that follower are a quorum.");
  rig_elect_committed (rig);
  guint64 t = rig->now_ms;
  for (guint i = 0; i < 10; i++)
    {
      t += window / 2;
      rig_tick (rig, t);
      rig_step (rig, rig_ack (2, 1, 0, 0));
    }
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_LEADER);
}

/* ---- applying a backlog ---- */

static void
test_apply_backlog_in_slices (void)
{
  guint n = 2 * DSM_NODE_APPLY_PER_INPUT + 5;
  g_autofree guint64 *epochs = g_new (guint64, n);
  for (guint i = 0; i < n; i++)
    epochs[i] = 1;
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 1, epochs, n);

  g_test_summary ("A follower that learns of a long run of committed entries at once (a restart) "
                  "applies DSM_NODE_APPLY_PER_INPUT of them in that input and Acks at once; the rest "
                  "a slice per tick, in order, with its next deadline 'now' until done. Messages in "
                  "between apply nothing more.");
  rig_step (rig, rig_commit (2, 1, n, 7));
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, n);
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, DSM_NODE_APPLY_PER_INPUT);
  g_assert_cmpuint (rig->out.applies->len, ==, DSM_NODE_APPLY_PER_INPUT);
  g_assert_nonnull (rig_find_message (rig, DSM_MSG_ACK, 2));
  g_assert_cmpuint (dsm_node_next_deadline (rig->node), ==, rig->now_ms);

  rig_step (rig, rig_commit (2, 1, n, 8));
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, DSM_NODE_APPLY_PER_INPUT);
  g_assert_nonnull (rig_find_message (rig, DSM_MSG_ACK, 2));

  guint64 expect = DSM_NODE_APPLY_PER_INPUT + 1;
  guint ticks = 0;
  while (dsm_node_get_applied_index (rig->node) < n)
    {
      g_assert_cmpuint (dsm_node_next_deadline (rig->node), ==, rig->now_ms);
      rig_tick (rig, rig->now_ms);
      ticks++;
      g_assert_cmpuint (rig->out.applies->len, >, 0);
      g_assert_cmpuint (rig->out.applies->len, <=, DSM_NODE_APPLY_PER_INPUT);
      for (guint i = 0; i < rig->out.applies->len; i++)
        g_assert_cmpuint (((DsmApplied *) rig->out.applies->pdata[i])->entry->index, ==, expect++);
    }
  g_assert_cmpuint (ticks, ==, 2);
  g_assert_cmpuint (expect, ==, n + 1);
  g_assert_cmpuint (dsm_node_next_deadline (rig->node), >, rig->now_ms);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
}

/* Entry @index: client-@index's first command, m@index Init -> Running. */
static DsmEntry *
client_entry (guint64 index, guint64 epoch)
{
  g_autofree char *client = g_strdup_printf ("client-%" G_GUINT64_FORMAT, index);
  g_autofree char *machine = g_strdup_printf ("m%" G_GUINT64_FORMAT, index);
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .client_id = client, .seq = 1, .machine = machine,
                     .to = "Running" };

  return dsm_entry_new (index, epoch, DSM_ENTRY_COMMAND, &cmd);
}

static void
submit_retry (Rig *rig, guint64 request_id, guint64 index)
{
  g_autofree char *client = g_strdup_printf ("client-%" G_GUINT64_FORMAT, index);
  g_autofree char *machine = g_strdup_printf ("m%" G_GUINT64_FORMAT, index);

  rig_transition (rig, request_id, machine, "Running", client, 1);
}

/* Moves the replies of rig->out's last drain to @replies. */
static void
collect_replies (Rig *rig, GPtrArray *replies)
{
  for (guint j = 0; j < rig->out.replies->len; j++)
    g_ptr_array_add (replies, g_steal_pointer (&rig->out.replies->pdata[j]));
  g_ptr_array_set_size (rig->out.replies, 0);
}

static void
test_new_leader_indexes_newest_uncommitted (void)
{
  guint n = 3 * DSM_NODE_APPLY_PER_INPUT;
  DsmDurableState durable = { .epoch = 1, .entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref) };
  for (guint64 i = 1; i <= n; i++)
    g_ptr_array_add (durable.entries, client_entry (i, 1));
  g_autoptr(Rig) rig = rig_new (rig_config (3), &durable);
  dsm_durable_state_clear (&durable);
  g_autoptr(GPtrArray) replies = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_client_reply_free);

  g_test_summary ("A leader elected over a long uncommitted log indexes only its newest "
                  "DSM_NODE_APPLY_PER_INPUT entries' (client, seq). Once its no-op commits, a retry "
                  "of an applied one is answered from its session, of an indexed one waits for it, "
                  "and of one neither applied nor indexed is appended again: applying the copy "
                  "repeats the first one's outcome. Each command is applied once.");
  rig_elect (rig);
  guint64 epoch = dsm_node_get_epoch (rig->node);
  guint64 noop = dsm_node_get_last_index (rig->node);
  g_assert_cmpuint (noop, ==, n + 1);
  submit_retry (rig, 100, n);
  submit_retry (rig, 101, n / 2);
  submit_retry (rig, 102, 1);
  /* Held until the no-op commits (a new leader settles first). */
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, noop);

  rig_persist_all (rig);
  rig_step (rig, rig_ack (2, epoch, noop, 0));
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, noop);
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, DSM_NODE_APPLY_PER_INPUT);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, noop + 1); /* 101's copy */
  collect_replies (rig, replies);
  g_assert_cmpuint (replies->len, ==, 1); /* 102, from its session */
  rig_persist_all (rig);
  rig_step (rig, rig_ack (2, epoch, noop + 1, 0));
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, noop + 1);
  collect_replies (rig, replies);
  while (dsm_node_get_applied_index (rig->node) < noop + 1)
    {
      rig_tick (rig, rig->now_ms);
      collect_replies (rig, replies);
    }

  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->entries_applied, ==, noop + 1);
  g_assert_cmpuint (replies->len, ==, 3);
  for (guint i = 0; i < replies->len; i++)
    {
      const DsmClientReply *reply = replies->pdata[i];
      g_assert_cmpint (reply->status, ==, DSM_REPLY_OK);
      g_assert_cmpstr (reply->state, ==, "Running");
      g_assert_cmpuint (reply->index, ==, reply->request_id == 100 ? n : reply->request_id == 101 ? n / 2 : 1);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/node/replication/follower-appends-acks-after-persist", test_follower_appends_acks_after_persist);
  g_test_add_func ("/core/node/replication/follower-rejects-short-log", test_follower_rejects_short_log);
  g_test_add_func ("/core/node/replication/follower-rejects-conflicting-epoch", test_follower_rejects_conflicting_epoch);
  g_test_add_func ("/core/node/replication/follower-truncates-conflict", test_follower_truncates_conflict);
  g_test_add_func ("/core/node/replication/follower-keeps-present-prefix", test_follower_keeps_present_prefix);
  g_test_add_func ("/core/node/replication/follower-commit-bounded-by-match", test_follower_commit_bounded_by_match);
  g_test_add_func ("/core/node/replication/follower-never-truncates-committed", test_follower_never_truncates_committed);
  g_test_add_func ("/core/node/replication/commit-bounded-by-last-index", test_commit_bounded_by_last_index);
  g_test_add_func ("/core/node/replication/commit-acks-hb-seq", test_commit_acks_hb_seq);
  g_test_add_func ("/core/node/replication/commit-same-round-unanswered", test_commit_same_round_unanswered);
  g_test_add_func ("/core/node/replication/ack-advances-match-and-commit", test_ack_advances_match_and_commit);
  g_test_add_func ("/core/node/replication/leader-counts-itself-when-durable", test_leader_counts_itself_when_durable);
  g_test_add_func ("/core/node/replication/own-epoch-commit-rule", test_own_epoch_commit_rule);
  g_test_add_func ("/core/node/replication/log-mismatch-backs-off", test_log_mismatch_backs_off);
  g_test_add_func ("/core/node/replication/pipelining-window", test_pipelining_window);
  g_test_add_func ("/core/node/replication/batching", test_batching);
  g_test_add_func ("/core/node/replication/retry-after-delay", test_retry_after_delay);
  g_test_add_func ("/core/node/replication/retry-keeps-probe-place", test_retry_keeps_probe_place);
  g_test_add_func ("/core/node/replication/unreachable-after-retries", test_unreachable_after_retries);
  g_test_add_func ("/core/node/replication/heartbeat-idle", test_heartbeat_idle);
  g_test_add_func ("/core/node/replication/heartbeat-starts-round", test_heartbeat_starts_round);
  g_test_add_func ("/core/node/replication/check-quorum-keeps-idle-leader", test_check_quorum_keeps_idle_leader);
  g_test_add_func ("/core/node/replication/check-quorum-steps-down", test_check_quorum_steps_down);
  g_test_add_func ("/core/node/replication/check-quorum-keeps-leader", test_check_quorum_keeps_leader);
  g_test_add_func ("/core/node/replication/apply-backlog-in-slices", test_apply_backlog_in_slices);
  g_test_add_func ("/core/node/replication/new-leader-indexes-newest-uncommitted",
                   test_new_leader_indexes_newest_uncommitted);
  return g_test_run ();
}
