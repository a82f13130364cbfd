/* tests/core/test-election.c: one node's election handlers, message by
 * message (PROTOCOL.md sections 5 and 6): pre-vote, candidacy, voting,
 * the lease, and what a higher or lower epoch does. */
#include "log.h"
#include "node-rig.h"

/* ---- elections ---- */

static void
test_timeout_starts_pre_vote (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  guint64 deadline = dsm_node_next_deadline (rig->node);

  g_test_summary ("When the election deadline passes a follower asks for pre-votes in epoch + 1 "
                  "without touching its epoch or vote: a node cut off must not inflate its epoch "
                  "and later depose a healthy leader (PROTOCOL.md, Elections).");
  rig_tick (rig, deadline - 1);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (rig->out.messages->len, ==, 0);

  rig_tick (rig, deadline);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_PRE_CANDIDATE);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_VOTE_REQUEST), ==, 2);
  for (DsmNodeId to = 2; to <= 3; to++)
    {
      DsmMessage *msg = rig_find_message (rig, DSM_MSG_VOTE_REQUEST, to);
      g_assert_nonnull (msg);
      g_assert_true (msg->pre_vote);
      g_assert_cmpuint (msg->epoch, ==, 1);
      g_assert_cmpuint (msg->last_index, ==, 0);
      g_assert_cmpuint (msg->last_epoch, ==, 0);
    }
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 0);
  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, DSM_NODE_NONE);
  g_assert_cmpuint (rig->out.persists->len, ==, 0);
}

static void
test_pre_vote_quorum_starts_election (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A quorum of pre-votes makes a candidate: epoch + 1, a vote for itself, a "
                  "HARD_STATE persist, and VoteRequests held until that persist is reported, "
                  "or a restart could vote twice in the epoch (rule P).");
  rig_tick (rig, dsm_node_next_deadline (rig->node));
  rig_step (rig, rig_vote (2, 1, TRUE, TRUE));

  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_CANDIDATE);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 1);
  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, RIG_SELF);
  g_assert_cmpuint (rig->out.persists->len, ==, 1);
  DsmPersist *persist = rig_find_persist (rig, DSM_PERSIST_HARD_STATE);
  g_assert_nonnull (persist);
  g_assert_cmpuint (persist->epoch, ==, 1);
  g_assert_cmpuint (persist->voted_for, ==, RIG_SELF);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_VOTE_REQUEST), ==, 0);

  rig_persist_all (rig);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_VOTE_REQUEST), ==, 2);
  for (DsmNodeId to = 2; to <= 3; to++)
    {
      DsmMessage *msg = rig_find_message (rig, DSM_MSG_VOTE_REQUEST, to);
      g_assert_nonnull (msg);
      g_assert_false (msg->pre_vote);
      g_assert_cmpuint (msg->epoch, ==, 1);
    }
}

static void
test_votes_make_leader (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A candidate with votes from a quorum, itself included, leads its epoch.");
  rig_tick (rig, dsm_node_next_deadline (rig->node));
  rig_step (rig, rig_vote (2, 1, TRUE, TRUE));
  rig_persist_all (rig);
  rig_step (rig, rig_vote (3, 1, FALSE, TRUE));

  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_LEADER);
  g_assert_cmpuint (dsm_node_get_leader (rig->node), ==, RIG_SELF);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 1);
  g_assert_cmpuint (rig_count_events (rig, DSM_EVENT_ELECTION_WON), ==, 1);
}

static void
test_five_nodes_need_three (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (5), NULL);

  g_test_summary ("In five nodes a quorum is three: one grant besides its own is not enough, "
                  "for the pre-vote as for the vote.");
  rig_tick (rig, dsm_node_next_deadline (rig->node));
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_VOTE_REQUEST), ==, 4);
  rig_step (rig, rig_vote (2, 1, TRUE, TRUE));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_PRE_CANDIDATE);
  rig_step (rig, rig_vote (2, 1, TRUE, TRUE));   /* a duplicate counts once */
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_PRE_CANDIDATE);
  rig_step (rig, rig_vote (4, 1, TRUE, TRUE));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_CANDIDATE);

  rig_persist_all (rig);
  rig_step (rig, rig_vote (3, 1, FALSE, TRUE));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_CANDIDATE);
  rig_step (rig, rig_vote (5, 1, FALSE, TRUE));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_LEADER);
}

static void
test_leader_appends_noop (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A new leader appends a no-op of its own epoch and starts replicating it: "
                  "older entries commit only through it, and reads wait for it.");
  rig_elect (rig);

  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 1);
  const DsmEntry *noop = dsm_log_get (dsm_node_get_log (rig->node), 1);
  g_assert_nonnull (noop);
  g_assert_cmpint (noop->kind, ==, DSM_ENTRY_NOOP);
  g_assert_cmpuint (noop->epoch, ==, dsm_node_get_epoch (rig->node));

  DsmPersist *persist = rig_find_persist (rig, DSM_PERSIST_ENTRIES);
  g_assert_nonnull (persist);
  g_assert_cmpuint (persist->first_index, ==, 1);
  g_assert_cmpuint (persist->entries->len, ==, 1);
  for (DsmNodeId to = 2; to <= 3; to++)
    {
      DsmMessage *msg = rig_find_message (rig, DSM_MSG_PROPOSAL, to);
      g_assert_nonnull (msg);
      g_assert_cmpuint (msg->prev_index, ==, 0);
      g_assert_cmpuint (msg->entries->len, ==, 1);
      g_assert_cmpuint (((DsmEntry *) msg->entries->pdata[0])->index, ==, 1);
    }
}

static void
test_denied_by_quorum (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A candidate refused by a quorum goes back to follower in its epoch instead "
                  "of waiting for its whole election timeout.");
  rig_tick (rig, dsm_node_next_deadline (rig->node));
  rig_step (rig, rig_vote (2, 1, TRUE, TRUE));
  rig_persist_all (rig);
  rig_step (rig, rig_vote (2, 1, FALSE, FALSE));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_CANDIDATE);
  rig_step (rig, rig_vote (3, 1, FALSE, FALSE));

  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 1);
  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, RIG_SELF);
  g_assert_cmpuint (rig_count_events (rig, DSM_EVENT_ELECTION_LOST), ==, 1);
}

/* ---- voting ---- */

/* The Vote in rig->out once every persist is reported. */
static DsmMessage *
vote_after_persist (Rig *rig, DsmNodeId to)
{
  rig_persist_all (rig);
  DsmMessage *vote = rig_find_message (rig, DSM_MSG_VOTE, to);
  g_assert_nonnull (vote);
  g_assert_false (vote->pre_vote);
  return vote;
}

static void
test_vote_grant_up_to_date (void)
{
  static const guint64 epochs[] = { 1, 1 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 1, epochs, 2);

  g_test_summary ("A voter grants a candidate whose log is as up to date as its own, adopting "
                  "its epoch and recording the vote durably.");
  rig_step (rig, rig_vote_request (2, 2, FALSE, 2, 1));

  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 2);
  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, 2);
  DsmPersist *last = rig->out.persists->pdata[rig->out.persists->len - 1];
  g_assert_cmpint (last->kind, ==, DSM_PERSIST_HARD_STATE);
  g_assert_cmpuint (last->epoch, ==, 2);
  g_assert_cmpuint (last->voted_for, ==, 2);
  DsmMessage *vote = vote_after_persist (rig, 2);
  g_assert_true (vote->granted);
  g_assert_cmpuint (vote->epoch, ==, 2);
}

static void
test_vote_deny_older_last_epoch (void)
{
  static const guint64 epochs[] = { 1, 2 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 2, epochs, 2);

  g_test_summary ("A candidate whose last entry has an older epoch may lack a committed entry: "
                  "no vote, however long its log (leader completeness).");
  rig_step (rig, rig_vote_request (2, 3, FALSE, 10, 1));

  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 3);
  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, DSM_NODE_NONE);
  g_assert_false (vote_after_persist (rig, 2)->granted);
}

static void
test_vote_deny_shorter_log (void)
{
  static const guint64 epochs[] = { 1, 1, 1 };
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 1, epochs, 3);

  g_test_summary ("Same last epoch but a shorter log is less up to date: no vote.");
  rig_step (rig, rig_vote_request (2, 2, FALSE, 2, 1));

  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, DSM_NODE_NONE);
  g_assert_false (vote_after_persist (rig, 2)->granted);
}

static void
test_vote_deny_second_candidate (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("One vote per epoch: a second candidate in the same epoch is refused, which "
                  "is what makes two leaders of one epoch impossible.");
  rig_step (rig, rig_vote_request (2, 1, FALSE, 0, 0));
  g_assert_true (vote_after_persist (rig, 2)->granted);

  rig_step (rig, rig_vote_request (3, 1, FALSE, 0, 0));
  DsmMessage *vote = rig_find_message (rig, DSM_MSG_VOTE, 3);
  g_assert_nonnull (vote);
  g_assert_false (vote->granted);
  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, 2);
  g_assert_cmpuint (rig->out.persists->len, ==, 0);
}

static void
test_vote_grant_same_candidate_again (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A repeated VoteRequest from the candidate voted for is granted again (its "
                  "first Vote may have been lost), without a new persist.");
  rig_step (rig, rig_vote_request (2, 1, FALSE, 0, 0));
  g_assert_true (vote_after_persist (rig, 2)->granted);

  rig_step (rig, rig_vote_request (2, 1, FALSE, 0, 0));
  DsmMessage *vote = rig_find_message (rig, DSM_MSG_VOTE, 2);
  g_assert_nonnull (vote);
  g_assert_true (vote->granted);
  g_assert_cmpuint (rig->out.persists->len, ==, 0);
}

static void
test_vote_held_until_persisted (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("The Vote leaves only once the HARD_STATE recording it is durable: a voter "
                  "restarting after an undurable vote could vote again (rule P).");
  rig_step (rig, rig_vote_request (2, 1, FALSE, 0, 0));
  /* One HARD_STATE adopts epoch 1, the next records the vote. */
  g_assert_cmpuint (rig_count_persists (rig, DSM_PERSIST_HARD_STATE), ==, 2);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_VOTE), ==, 0);

  /* Reporting only the first is not enough. */
  DsmPersist *first = rig->out.persists->pdata[0];
  dsm_node_persisted (rig->node, rig->now_ms, first->seq);
  rig_drain (rig);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_VOTE), ==, 0);

  g_assert_true (vote_after_persist (rig, 2)->granted);
}

static void
test_vote_lease_ignores_higher_epoch (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A follower that heard from its leader within election_timeout_ms_min ignores "
                  "a VoteRequest of a higher epoch, without adopting it: a rejoining node cannot "
                  "depose a healthy leader.");
  rig->now_ms = 1000;
  rig_follow (rig, 2, 1);
  rig->now_ms += rig->config->election_timeout_ms_min - 1;
  rig_step (rig, rig_vote_request (3, 5, FALSE, 10, 1));

  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 1);
  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, DSM_NODE_NONE);
  g_assert_cmpuint (dsm_node_get_leader (rig->node), ==, 2);
  g_assert_cmpuint (rig->out.messages->len, ==, 0);
  g_assert_cmpuint (rig->out.persists->len, ==, 0);
}

static void
test_vote_lease_ends (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("The lease lasts election_timeout_ms_min: after it a higher-epoch candidate "
                  "gets the vote, so a dead leader can be replaced.");
  rig->now_ms = 1000;
  rig_follow (rig, 2, 1);
  rig->now_ms += rig->config->election_timeout_ms_min;
  rig_step (rig, rig_vote_request (3, 2, FALSE, 0, 0));

  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 2);
  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, 3);
  g_assert_true (vote_after_persist (rig, 3)->granted);
}

static void
test_vote_pre_vote_changes_nothing (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  guint64 deadline = dsm_node_next_deadline (rig->node);

  g_test_summary ("Granting a pre-vote changes nothing on the voter (epoch, vote, role, timer) "
                  "and needs no persist, so the answer leaves at once.");
  rig_step (rig, rig_vote_request (2, 1, TRUE, 0, 0));

  DsmMessage *vote = rig_find_message (rig, DSM_MSG_VOTE, 2);
  g_assert_nonnull (vote);
  g_assert_true (vote->pre_vote);
  g_assert_true (vote->granted);
  g_assert_cmpuint (vote->epoch, ==, 1);
  g_assert_cmpuint (rig->out.persists->len, ==, 0);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 0);
  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, DSM_NODE_NONE);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_next_deadline (rig->node), ==, deadline);
}

/* ---- epochs ---- */

static void
test_epoch_higher_deposes_leader (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("Any message of a higher epoch turns a leader into a follower of nobody, "
                  "with the epoch adopted, the vote cleared, and both persisted.");
  rig_elect_committed (rig);
  rig_step (rig, rig_ack (3, 4, 0, 0));

  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 4);
  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, DSM_NODE_NONE);
  g_assert_cmpuint (dsm_node_get_leader (rig->node), ==, DSM_NODE_NONE);
  DsmPersist *persist = rig_find_persist (rig, DSM_PERSIST_HARD_STATE);
  g_assert_nonnull (persist);
  g_assert_cmpuint (persist->epoch, ==, 4);
  g_assert_cmpuint (persist->voted_for, ==, DSM_NODE_NONE);
  g_assert_cmpuint (rig_count_events (rig, DSM_EVENT_STEP_DOWN), ==, 1);
}

static void
test_epoch_higher_commit_follows_sender (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A candidate hearing a leader's Commit of a higher epoch follows that leader.");
  rig_tick (rig, dsm_node_next_deadline (rig->node));
  rig_step (rig, rig_vote (2, 1, TRUE, TRUE));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_CANDIDATE);
  rig_step (rig, rig_commit (3, 2, 0, 0));

  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 2);
  g_assert_cmpuint (dsm_node_get_leader (rig->node), ==, 3);
  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, DSM_NODE_NONE);
  DsmPersist *persist = rig->out.persists->pdata[rig->out.persists->len - 1];
  g_assert_cmpint (persist->kind, ==, DSM_PERSIST_HARD_STATE);
  g_assert_cmpuint (persist->epoch, ==, 2);
  g_assert_cmpuint (persist->voted_for, ==, DSM_NODE_NONE);
}

static void
check_stale_reject (Rig *rig, guint64 prev_index, guint64 hb_seq)
{
  DsmMessage *reject = rig_find_message (rig, DSM_MSG_REJECT, 2);

  g_assert_nonnull (reject);
  g_assert_cmpint (reject->reason, ==, DSM_REJECT_STALE_EPOCH);
  g_assert_cmpuint (reject->epoch, ==, 3);
  g_assert_cmpuint (reject->prev_index, ==, prev_index);
  g_assert_cmpuint (reject->hb_seq, ==, hb_seq);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 3);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 0);
}

static void
test_epoch_stale_proposal_rejected (void)
{
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 3, NULL, 0);
  static const guint64 epochs[] = { 1 };

  g_test_summary ("A Proposal from an older epoch is answered Reject(stale_epoch) carrying our "
                  "epoch, its prev_index and hb_seq, and its entries are not taken.");
  DsmMessage *msg = rig_proposal (2, 1, 0, 0, 0, epochs, 1);
  msg->hb_seq = 6;
  rig_step (rig, msg);
  check_stale_reject (rig, 0, 6);
}

static void
test_epoch_stale_commit_rejected (void)
{
  g_autoptr(Rig) rig = rig_new_with_log (rig_config (3), 3, NULL, 0);

  g_test_summary ("A Commit from an older epoch is answered Reject(stale_epoch), so a deposed "
                  "leader that only sends heartbeats learns it too.");
  rig_step (rig, rig_commit (2, 2, 0, 9));
  check_stale_reject (rig, 0, 9);
  g_assert_cmpuint (dsm_node_get_leader (rig->node), ==, DSM_NODE_NONE);
}

static void
test_epoch_stale_reject_deposes_leader (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A leader receiving Reject(stale_epoch) steps down into the newer epoch.");
  rig_elect_committed (rig);
  DsmMessage *reject = rig_message (DSM_MSG_REJECT, 2, 7);
  reject->reason = DSM_REJECT_STALE_EPOCH;
  rig_step (rig, reject);

  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 7);
  g_assert_cmpuint (rig_count_events (rig, DSM_EVENT_STEP_DOWN), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/node/election/timeout-starts-pre-vote", test_timeout_starts_pre_vote);
  g_test_add_func ("/core/node/election/pre-vote-quorum-starts-election", test_pre_vote_quorum_starts_election);
  g_test_add_func ("/core/node/election/votes-make-leader", test_votes_make_leader);
  g_test_add_func ("/core/node/election/five-nodes-need-three", test_five_nodes_need_three);
  g_test_add_func ("/core/node/election/leader-appends-noop", test_leader_appends_noop);
  g_test_add_func ("/core/node/election/denied-by-quorum", test_denied_by_quorum);
  g_test_add_func ("/core/node/vote/grant-up-to-date", test_vote_grant_up_to_date);
  g_test_add_func ("/core/node/vote/deny-older-last-epoch", test_vote_deny_older_last_epoch);
  g_test_add_func ("/core/node/vote/deny-shorter-log", test_vote_deny_shorter_log);
  g_test_add_func ("/core/node/vote/deny-second-candidate", test_vote_deny_second_candidate);
  g_test_add_func ("/core/node/vote/grant-same-candidate-again", test_vote_grant_same_candidate_again);
  g_test_add_func ("/core/node/vote/held-until-persisted", test_vote_held_until_persisted);
  g_test_add_func ("/core/node/vote/lease-ignores-higher-epoch", test_vote_lease_ignores_higher_epoch);
  g_test_add_func ("/core/node/vote/lease-ends", test_vote_lease_ends);
  g_test_add_func ("/core/node/vote/pre-vote-changes-nothing", test_vote_pre_vote_changes_nothing);
  g_test_add_func ("/core/node/epoch/higher-deposes-leader", test_epoch_higher_deposes_leader);
  g_test_add_func ("/core/node/epoch/higher-commit-follows-sender", test_epoch_higher_commit_follows_sender);
  g_test_add_func ("/core/node/epoch/stale-proposal-rejected", test_epoch_stale_proposal_rejected);
  g_test_add_func ("/core/node/epoch/stale-commit-rejected", test_epoch_stale_commit_rejected);
  g_test_add_func ("/core/node/epoch/stale-reject-deposes-leader", test_epoch_stale_reject_deposes_leader);
  return g_test_run ();
}
