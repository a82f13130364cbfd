/* tests/core/test-disk-full.c: one node whose host's disk is full
 * (dsm_node_set_disk_full, PROTOCOL.md "A full disk"): a leader steps
 * down and none runs for election or votes; a follower takes nothing from
 * the leader and answers it nothing, but applies what it learns is
 * committed; client transitions are refused no_space and those in the log
 * answered unknown; reads go on; and everything resumes with room. */
#include "node-rig.h"

static void
set_full (Rig *rig, gboolean full)
{
  dsm_node_set_disk_full (rig->node, rig->now_ms, full);
  rig_drain (rig);
}

static void
test_leader_steps_down (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A leader whose disk fills steps down at once in its epoch, so the others "
                  "elect a leader that can make entries durable and commits go on.");
  rig_elect_committed (rig);
  guint64 epoch = dsm_node_get_epoch (rig->node);
  set_full (rig, TRUE);
  g_assert_true (dsm_node_get_disk_full (rig->node));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_get_leader (rig->node), ==, DSM_NODE_NONE);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, epoch);
  g_assert_cmpuint (rig_count_events (rig, DSM_EVENT_STEP_DOWN), ==, 1);
  g_assert_cmpuint (rig->out.persists->len, ==, 0);
}

static void
test_no_election_while_full (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A node with a full disk never runs for election, however long it hears "
                  "nothing: its epoch and its vote for itself could not be made durable, so it "
                  "could not win; with room again it runs as usual.");
  set_full (rig, TRUE);
  for (guint64 t = 100; t <= 10000; t += 100)
    {
      rig_tick (rig, t);
      g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_VOTE_REQUEST), ==, 0);
      g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
      g_assert_cmpuint (dsm_node_next_deadline (rig->node), >, t);
    }
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 0);

  set_full (rig, FALSE);
  rig_tick (rig, dsm_node_next_deadline (rig->node));
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_VOTE_REQUEST), ==, 2);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_PRE_CANDIDATE);
}

static void
test_candidate_gives_up (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A pre-candidate whose disk fills gives up the election at once.");
  rig_tick (rig, dsm_node_next_deadline (rig->node));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_PRE_CANDIDATE);
  set_full (rig, TRUE);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  rig_step (rig, rig_vote (2, 1, TRUE, TRUE));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_VOTE_REQUEST), ==, 0);
}

static void
test_no_vote_while_full (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A node with a full disk ignores real vote requests (neither the epoch nor the "
                  "vote could be made durable: as if the request were lost), but answers "
                  "pre-votes, which promise nothing.");
  set_full (rig, TRUE);
  rig_step (rig, rig_vote_request (2, 1, FALSE, 0, 0));
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_VOTE), ==, 0);
  g_assert_cmpuint (rig->out.persists->len, ==, 0);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 0);
  g_assert_cmpuint (dsm_node_get_voted_for (rig->node), ==, DSM_NODE_NONE);

  rig_step (rig, rig_vote_request (2, 1, TRUE, 0, 0));
  DsmMessage *vote = rig_find_message (rig, DSM_MSG_VOTE, 2);
  g_assert_nonnull (vote);
  g_assert_true (vote->pre_vote);
  g_assert_true (vote->granted);
}

static void
test_follower_takes_nothing (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  const guint64 epochs[] = { 1, 1, 1 };

  g_test_summary ("A follower with a full disk appends no entries and answers the leader nothing "
                  "(the leader counts it unreachable), but keeps following it and applies what a "
                  "Commit says is committed within its log.");
  rig_follow (rig, 2, 1);
  rig_step (rig, rig_proposal (2, 1, 0, 0, 0, epochs, 2));
  rig_persist_all (rig);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 2);
  set_full (rig, TRUE);

  rig->now_ms = 1000;
  rig_step (rig, rig_proposal (2, 1, 2, 1, 2, epochs, 1));
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 2);
  g_assert_cmpuint (rig->out.persists->len, ==, 0);
  g_assert_cmpuint (rig->out.messages->len, ==, 0);
  /* Still the leader's follower: no election of its own. */
  g_assert_cmpuint (dsm_node_get_leader (rig->node), ==, 2);
  g_assert_cmpuint (dsm_node_next_deadline (rig->node), >, rig->now_ms);

  rig_step (rig, rig_commit (2, 1, 3, 7));
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 2);
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 2);
  g_assert_cmpuint (rig->out.messages->len, ==, 0);
}

static void
test_follower_resumes (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  const guint64 epochs[] = { 1, 1 };

  g_test_summary ("With room again a follower takes the leader's next Proposal and Acks it once "
                  "it is durable: the leader finds it reachable and it catches up.");
  rig_follow (rig, 2, 1);
  set_full (rig, TRUE);
  rig_step (rig, rig_proposal (2, 1, 0, 0, 0, epochs, 2));
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 0);
  set_full (rig, FALSE);
  rig_step (rig, rig_proposal (2, 1, 0, 0, 0, epochs, 2));
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 2);
  g_assert_cmpuint (rig_count_persists (rig, DSM_PERSIST_ENTRIES), ==, 1);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_ACK), ==, 0);  /* rule P: after the persist */
  rig_persist_all (rig);
  DsmMessage *ack = rig_find_message (rig, DSM_MSG_ACK, 2);
  g_assert_nonnull (ack);
  g_assert_cmpuint (ack->match_index, ==, 2);
}

static void
test_snapshot_chunk_ignored (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  DsmMessage *chunk = rig_message (DSM_MSG_SNAPSHOT, 2, 1);

  g_test_summary ("A follower with a full disk installs no snapshot (it could not persist it) "
                  "and does not answer the chunk.");
  rig_follow (rig, 2, 1);
  set_full (rig, TRUE);
  chunk->last_index = 10;
  chunk->last_epoch = 1;
  chunk->snapshot_offset = 0;
  chunk->data = g_bytes_new_static ("{}", 2);
  chunk->done = TRUE;
  rig_step (rig, chunk);
  g_assert_cmpuint (rig->out.persists->len, ==, 0);
  g_assert_cmpuint (rig->out.messages->len, ==, 0);
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 0);
}

static void
test_transition_refused_read_forwarded (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A node with a full disk refuses client transitions at once, no_space with a "
                  "leader hint (nothing happened: retry on another node), and still forwards "
                  "linearizable reads to the leader, which need no disk.");
  rig_follow (rig, 2, 1);
  set_full (rig, TRUE);
  rig_transition (rig, 5, "m", "Running", "c", 1);
  DsmClientReply *reply = rig_find_reply (rig, 5);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_NO_SPACE);
  g_assert_cmpuint (reply->leader_hint, ==, 2);
  g_assert_nonnull (reply->detail);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_CLIENT_REQUEST), ==, 0);

  rig_read (rig, 6, "m");
  DsmMessage *fwd = rig_find_message (rig, DSM_MSG_CLIENT_REQUEST, 2);
  g_assert_nonnull (fwd);
  g_assert_cmpuint (fwd->request_id, ==, 6);
  g_assert_cmpint (fwd->cmd.op, ==, DSM_OP_READ);
}

static void
test_waiting_transition_refused (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("Transitions waiting for a leader when the disk fills never reached a log: "
                  "refused no_space at once; reads keep waiting for a leader.");
  rig_transition (rig, 5, "m", "Running", NULL, 0);
  rig_read (rig, 6, "m");
  g_assert_cmpuint (rig->out.replies->len, ==, 0);
  set_full (rig, TRUE);
  DsmClientReply *reply = rig_find_reply (rig, 5);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_NO_SPACE);
  g_assert_null (rig_find_reply (rig, 6));
  rig_step (rig, rig_commit (2, 1, 0, 0));
  g_assert_nonnull (rig_find_message (rig, DSM_MSG_CLIENT_REQUEST, 2));
}

static void
test_appended_answered_unknown (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("Transitions a leader had appended when its disk filled may still commit under "
                  "the next leader: answered unknown (reason no_space) at once, so clients retry "
                  "elsewhere with the same client id and seq to learn the outcome.");
  rig_elect_committed (rig);
  rig_transition (rig, 10, "m", "Running", "c", 1);
  g_assert_null (rig_find_reply (rig, 10));
  set_full (rig, TRUE);
  DsmClientReply *reply = rig_find_reply (rig, 10);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_UNKNOWN);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_NO_SPACE);
  g_assert_nonnull (reply->detail);
}

static void
test_single_node_stays_leader (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (1), NULL);

  g_test_summary ("The only node of a cluster keeps leading with a full disk (nobody else could), "
                  "refuses transitions no_space and still answers linearizable reads.");
  rig_tick (rig, dsm_node_next_deadline (rig->node));
  rig_persist_all (rig);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_LEADER);
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 1);
  set_full (rig, TRUE);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_LEADER);
  rig_transition (rig, 5, "m", "Running", NULL, 0);
  g_assert_cmpint (rig_find_reply (rig, 5)->reason, ==, DSM_REJECT_NO_SPACE);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 1);
  rig_read (rig, 6, "m");
  DsmClientReply *read = rig_find_reply (rig, 6);
  g_assert_nonnull (read);
  g_assert_cmpint (read->status, ==, DSM_REPLY_OK);
  g_assert_cmpstr (read->state, ==, "Init");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/disk-full/leader-steps-down", test_leader_steps_down);
  g_test_add_func ("/core/disk-full/no-election", test_no_election_while_full);
  g_test_add_func ("/core/disk-full/candidate-gives-up", test_candidate_gives_up);
  g_test_add_func ("/core/disk-full/no-vote", test_no_vote_while_full);
  g_test_add_func ("/core/disk-full/follower-takes-nothing", test_follower_takes_nothing);
  g_test_add_func ("/core/disk-full/follower-resumes", test_follower_resumes);
  g_test_add_func ("/core/disk-full/snapshot-chunk-ignored", test_snapshot_chunk_ignored);
  g_test_add_func ("/core/disk-full/transition-refused-read-forwarded", test_transition_refused_read_forwarded);
  g_test_add_func ("/core/disk-full/waiting-transition-refused", test_waiting_transition_refused);
  g_test_add_func ("/core/disk-full/appended-answered-unknown", test_appended_answered_unknown);
  g_test_add_func ("/core/disk-full/single-node-stays-leader", test_single_node_stays_leader);
  return g_test_run ();
}
