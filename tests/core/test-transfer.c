/* tests/core/test-transfer.c: leadership transfer (PROTOCOL.md,
 * "Leadership transfer"): to a named voter or the most up-to-date one,
 * refusals, proposals held meanwhile, the deadline, and the lease bypass
 * that lets the target win at once. */
#include <glib.h>
#include <string.h>

#include "error.h"
#include "harness.h"
#include "node-rig.h"

#define WAIT_MS 20000

static Harness *
cluster (guint n, guint64 seed)
{
  Harness *h = harness_new (n, seed, NULL);

  g_assert_true (harness_wait_leader (h, WAIT_MS));
  return h;
}

static gboolean
done_leads (Harness *h, gpointer data)
{
  DsmNodeId id = GPOINTER_TO_UINT (data);
  return harness_leader (h) == id
         && dsm_node_get_commit_index (h->nodes[id]) == dsm_node_get_last_index (h->nodes[id]);
}

static void
test_to_target (void)
{
  g_autoptr(Harness) h = cluster (3, 31);
  g_autoptr(GError) error = NULL;

  g_test_summary ("The leader hands over to the voter it names: the target leads the next epoch "
                  "and the old leader follows it.");
  DsmNodeId old = harness_leader (h);
  DsmNodeId target = old == 3 ? 1 : 3;
  guint64 epoch = dsm_node_get_epoch (h->nodes[old]);
  g_assert_true (dsm_node_transfer_leadership (h->nodes[old], h->now_ms, target, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_node_get_transfer_target (h->nodes[old]), ==, target);
  g_assert_true (harness_run (h, WAIT_MS, done_leads, GUINT_TO_POINTER (target)));
  g_assert_cmpuint (dsm_node_get_epoch (h->nodes[target]), ==, epoch + 1);
  g_assert_cmpint (dsm_node_get_role (h->nodes[old]), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_get_transfer_target (h->nodes[old]), ==, DSM_NODE_NONE);
  g_assert_cmpuint (dsm_node_get_metrics (h->nodes[old])->transfers_completed, ==, 1);
}

static void
test_most_up_to_date (void)
{
  g_autoptr(Harness) h = cluster (5, 32);
  g_autoptr(GError) error = NULL;

  g_test_summary ("Without a target the leader picks the most up-to-date voter and hands over to it.");
  DsmNodeId old = harness_leader (h);
  g_assert_true (dsm_node_transfer_leadership (h->nodes[old], h->now_ms, DSM_NODE_NONE, &error));
  DsmNodeId target = dsm_node_get_transfer_target (h->nodes[old]);
  g_assert_cmpuint (target, !=, DSM_NODE_NONE);
  g_assert_cmpuint (target, !=, old);
  g_assert_true (harness_run (h, WAIT_MS, done_leads, GUINT_TO_POINTER (target)));
}

static void
test_refusals (void)
{
  g_autoptr(Harness) h = cluster (3, 33);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A transfer is refused off the leader, to the leader itself, to a node that "
                  "is not a voter, and while another is under way.");
  DsmNodeId leader = harness_leader (h);
  DsmNodeId follower = leader == 1 ? 2 : 1;
  g_assert_false (dsm_node_transfer_leadership (h->nodes[follower], h->now_ms, leader, &error));
  g_assert_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_NOT_LEADER);
  g_clear_error (&error);
  g_assert_false (dsm_node_transfer_leadership (h->nodes[leader], h->now_ms, leader, &error));
  g_assert_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_NOT_LEADER);
  g_clear_error (&error);
  g_assert_false (dsm_node_transfer_leadership (h->nodes[leader], h->now_ms, 7, &error));
  g_assert_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_NOT_LEADER);
  g_clear_error (&error);
  harness_partition (h, HARNESS_BIT (leader));
  g_assert_true (dsm_node_transfer_leadership (h->nodes[leader], h->now_ms, follower, &error));
  g_assert_false (dsm_node_transfer_leadership (h->nodes[leader], h->now_ms, follower, &error));
  g_assert_error (error, DSM_CONSENSUS_ERROR, DSM_CONSENSUS_ERROR_BUSY);
}

static void
test_times_out_and_resumes (void)
{
  g_autoptr(Harness) h = cluster (3, 34);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A target that never takes over: after twice the maximum election timeout the "
                  "leader leads on and proposes what it held meanwhile.");
  DsmNodeId leader = harness_leader (h);
  DsmNodeId target = leader == 3 ? 1 : 3;
  /* The target hears nothing: no TimeoutNow reaches it. */
  harness_partition (h, HARNESS_BIT (target));
  g_assert_true (dsm_node_transfer_leadership (h->nodes[leader], h->now_ms, target, &error));
  guint64 last = dsm_node_get_last_index (h->nodes[leader]);
  harness_transition (h, leader, 1, "job", "Running", NULL, 0);
  g_assert_null (harness_reply (h, 1));
  g_assert_cmpuint (dsm_node_get_last_index (h->nodes[leader]), ==, last);  /* held, not appended */
  g_assert_true (harness_wait_reply (h, 1, WAIT_MS));
  g_assert_cmpint (harness_reply (h, 1)->status, ==, DSM_REPLY_OK);
  g_assert_cmpuint (harness_leader (h), ==, leader);
  g_assert_cmpuint (dsm_node_get_transfer_target (h->nodes[leader]), ==, DSM_NODE_NONE);
  g_assert_cmpuint (dsm_node_get_metrics (h->nodes[leader])->transfers_completed, ==, 0);
}

static void
test_held_proposals_reach_new_leader (void)
{
  g_autoptr(Harness) h = cluster (3, 35);
  g_autoptr(GError) error = NULL;

  g_test_summary ("Commands that arrive while the leader hands over are held, then carried out "
                  "by the new leader: the client sees one ok.");
  DsmNodeId leader = harness_leader (h);
  DsmNodeId target = leader == 2 ? 3 : 2;
  g_assert_true (dsm_node_transfer_leadership (h->nodes[leader], h->now_ms, target, &error));
  harness_transition (h, leader, 1, "job", "Running", "c", 1);
  g_assert_true (harness_wait_reply (h, 1, WAIT_MS));
  g_assert_cmpint (harness_reply (h, 1)->status, ==, DSM_REPLY_OK);
  g_assert_cmpstr (harness_reply (h, 1)->state, ==, "Running");
  g_assert_cmpuint (harness_leader (h), ==, target);
}

/* ---- the target's side, message by message ---- */

static void
test_transfer_vote_passes_lease (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A follower in lease ignores a VoteRequest of a higher epoch, but answers one "
                  "marked as a leadership transfer (its leader sent the candidate).");
  rig_follow (rig, 2, 1);
  rig_step (rig, rig_vote_request (3, 2, FALSE, 0, 0));
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_VOTE), ==, 0);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 1);

  DsmMessage *ask = rig_vote_request (3, 2, FALSE, 0, 0);
  ask->transfer = TRUE;
  rig_step (rig, ask);
  rig_persist_all (rig);
  DsmMessage *vote = rig_find_message (rig, DSM_MSG_VOTE, 3);
  g_assert_nonnull (vote);
  g_assert_true (vote->granted);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 2);
}

static void
test_timeout_now_campaigns_at_once (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("TimeoutNow from its leader makes a voter campaign at once: no pre-vote, a "
                  "real VoteRequest of the next epoch marked as a transfer.");
  rig_follow (rig, 2, 1);
  rig_step (rig, rig_message (DSM_MSG_TIMEOUT_NOW, 2, 1));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_CANDIDATE);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, 2);
  rig_persist_all (rig);
  DsmMessage *ask = rig_find_message (rig, DSM_MSG_VOTE_REQUEST, 3);
  g_assert_nonnull (ask);
  g_assert_false (ask->pre_vote);
  g_assert_true (ask->transfer);
}

static void
test_timeout_now_resent (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  g_autoptr(GError) error = NULL;

  g_test_summary ("TimeoutNow names the leader's last index and epoch, and goes again on every "
                  "later Ack of the target until the deadline: a lost one does not stall the "
                  "transfer until it aborts.");
  rig_elect_committed (rig);
  guint64 epoch = dsm_node_get_epoch (rig->node);
  guint64 last = dsm_node_get_last_index (rig->node);
  g_assert_true (dsm_node_transfer_leadership (rig->node, rig->now_ms, 2, &error));
  g_assert_no_error (error);
  rig_drain (rig);
  DsmMessage *first = rig_find_message (rig, DSM_MSG_TIMEOUT_NOW, 2);
  if (first == NULL)
    {
      rig_step (rig, rig_ack (2, epoch, last, 0));
      first = rig_find_message (rig, DSM_MSG_TIMEOUT_NOW, 2);
    }
  g_assert_nonnull (first);
  g_assert_cmpuint (first->last_index, ==, last);
  g_assert_cmpuint (first->last_epoch, ==, epoch);

  /* That one is lost; the target's next Ack brings another. */
  rig_step (rig, rig_ack (2, epoch, last, 0));
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_TIMEOUT_NOW), ==, 1);
  g_assert_nonnull (rig_find_message (rig, DSM_MSG_TIMEOUT_NOW, 2));
  /* Node 3's Acks bring none: it is not the target. */
  rig_step (rig, rig_ack (3, epoch, last, 0));
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_TIMEOUT_NOW), ==, 0);
}

static void
test_timeout_now_for_another_log_ignored (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  static const guint64 noops[] = { 1, 1 };

  g_test_summary ("A TimeoutNow naming a log other than ours (a stale one, delayed past an "
                  "aborted transfer) is ignored: no campaign bypassing every voter's lease; one "
                  "naming our log starts the campaign.");
  rig_follow (rig, 2, 1);
  rig_step (rig, rig_proposal (2, 1, 0, 0, 0, noops, G_N_ELEMENTS (noops)));
  rig_persist_all (rig);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, 2);

  DsmMessage *stale = rig_message (DSM_MSG_TIMEOUT_NOW, 2, 1);
  stale->last_index = 3;
  stale->last_epoch = 1;
  rig_step (rig, stale);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_VOTE_REQUEST), ==, 0);

  DsmMessage *ours = rig_message (DSM_MSG_TIMEOUT_NOW, 2, 1);
  ours->last_index = 2;
  ours->last_epoch = 1;
  rig_step (rig, ours);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_CANDIDATE);
}

static void
test_check_quorum_step_down_not_completed (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A transfer cut short by a step-down in the leader's own epoch (check-quorum) "
                  "is not counted completed: only a later epoch taking over completes it.");
  rig_elect_committed (rig);
  g_assert_true (dsm_node_transfer_leadership (rig->node, rig->now_ms, 2, &error));
  g_assert_no_error (error);
  guint64 epoch = dsm_node_get_epoch (rig->node);
  guint64 t0 = rig->now_ms;
  for (guint64 t = t0; t < t0 + 10000 && dsm_node_get_role (rig->node) == DSM_ROLE_LEADER; t += 10)
    rig_tick (rig, t);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_get_epoch (rig->node), ==, epoch);
  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->transfers_completed, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/transfer/to-target", test_to_target);
  g_test_add_func ("/core/transfer/most-up-to-date", test_most_up_to_date);
  g_test_add_func ("/core/transfer/refusals", test_refusals);
  g_test_add_func ("/core/transfer/times-out-and-resumes", test_times_out_and_resumes);
  g_test_add_func ("/core/transfer/held-proposals-reach-new-leader", test_held_proposals_reach_new_leader);
  g_test_add_func ("/core/transfer/vote-passes-lease", test_transfer_vote_passes_lease);
  g_test_add_func ("/core/transfer/timeout-now-campaigns-at-once", test_timeout_now_campaigns_at_once);
  g_test_add_func ("/core/transfer/timeout-now-resent", test_timeout_now_resent);
  g_test_add_func ("/core/transfer/check-quorum-step-down-not-completed",
                   test_check_quorum_step_down_not_completed);
  g_test_add_func ("/core/transfer/timeout-now-for-another-log-ignored",
                   test_timeout_now_for_another_log_ignored);
  return g_test_run ();
}
