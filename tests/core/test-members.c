/* tests/core/test-members.c: membership through the log (PROTOCOL.md,
 * "Membership changes"), one rule per test, on whole clusters in the
 * harness (which checks one leader per epoch and identical applied
 * entries after every input): learners, one change at a time, the new
 * leader's own-epoch rule, removal of followers and of the leader, ids
 * never reused, configurations across truncation, restarts and snapshots. */
#include <glib.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "harness.h"
#include "log.h"
#include "membership.h"
#include "node-rig.h"
#include "record.h"

#define WAIT_MS 20000

static guint64 next_request = 1000;

static DsmConfig *
config_quiet (guint n, guint rounds)
{
  DsmConfig *config = dsm_config_new_default (n);
  config->learner_catch_up_rounds = rounds;
  return config;
}

static Harness *
cluster (guint n, guint rounds, guint64 seed)
{
  g_autoptr(DsmConfig) config = config_quiet (n, rounds);
  Harness *h = harness_new (n, seed, config);

  g_assert_true (harness_wait_leader (h, WAIT_MS));
  return h;
}

/* Submits a membership command at @via (0: the leader) and waits for its
 * reply, which it returns. */
static const DsmClientReply *
member_op (Harness *h, DsmNodeId via, DsmOp op, DsmNodeId node)
{
  DsmCommand cmd = { .op = op, .node = node };
  guint64 id = next_request++;

  harness_submit (h, via != 0 ? via : harness_leader (h), id, &cmd);
  g_assert_true (harness_wait_reply (h, id, WAIT_MS));
  return harness_reply (h, id);
}

static void
assert_ok (const DsmClientReply *reply)
{
  if (reply->status != DSM_REPLY_OK)
    g_error ("expected ok, got %s (%s): %s", dsm_reply_status_to_string (reply->status),
             dsm_reject_reason_to_string (reply->reason), reply->detail ? reply->detail : "");
}

static gboolean
done_all_see (Harness *h, gpointer data)
{
  const guint64 *index = data;
  for (guint id = 1; id <= h->n; id++)
    if (h->nodes[id] != NULL && !dsm_node_is_removed (h->nodes[id])
        && dsm_node_get_applied_index (h->nodes[id]) < *index)
      return FALSE;
  return TRUE;
}

/* What each node is at, printed when a wait fails. */
static void
dump_cluster (Harness *h)
{
  for (guint id = 1; id <= h->n; id++)
    if (h->nodes[id] != NULL)
      g_printerr ("node %u: %s, epoch %" G_GUINT64_FORMAT ", commit %" G_GUINT64_FORMAT
                  ", applied %" G_GUINT64_FORMAT ", last %" G_GUINT64_FORMAT "%s\n",
                  id, dsm_role_to_string (dsm_node_get_role (h->nodes[id])),
                  dsm_node_get_epoch (h->nodes[id]), dsm_node_get_commit_index (h->nodes[id]),
                  dsm_node_get_applied_index (h->nodes[id]), dsm_node_get_last_index (h->nodes[id]),
                  dsm_node_is_removed (h->nodes[id]) ? ", removed" : "");
}

/* Every live member applied up to the leader's commit index. */
static void
wait_settled (Harness *h)
{
  g_assert_true (harness_wait_leader (h, WAIT_MS));
  guint64 index = dsm_node_get_commit_index (h->nodes[harness_leader (h)]);
  if (!harness_run (h, WAIT_MS, done_all_see, &index))
    {
      dump_cluster (h);
      g_error ("seed %" G_GUINT64_FORMAT ": not every node applied up to %" G_GUINT64_FORMAT, h->seed, index);
    }
}

static void
commit_one (Harness *h, const char *to)
{
  guint64 id = next_request++;
  harness_transition (h, harness_leader (h), id, "job", to, NULL, 0);
  g_assert_true (harness_wait_reply (h, id, WAIT_MS));
  g_assert_cmpint (harness_reply (h, id)->status, ==, DSM_REPLY_OK);
}

/* ---- learners ---- */

static void
test_learner_does_not_vote (void)
{
  g_autoptr(Harness) h = cluster (3, 0, 11);

  g_test_summary ("A learner is asked for no vote and never campaigns, even cut off for many "
                  "election timeouts: only voters of the latest configuration stand for election "
                  "or are asked (PROTOCOL.md, Learners).");
  harness_add_node (h, 4);
  const DsmClientReply *reply = member_op (h, 0, DSM_OP_ADD_MEMBER, 0);
  assert_ok (reply);
  g_assert_cmpuint (reply->member, ==, 4);
  wait_settled (h);
  DsmNode *learner = h->nodes[4];
  const DsmMember *me = dsm_membership_find (dsm_node_get_membership (learner, NULL), 4);
  g_assert_nonnull (me);
  g_assert_cmpint (me->role, ==, DSM_MEMBER_LEARNER);
  g_assert_false (dsm_node_is_voter (learner));

  /* The leader dies: an election among the voters asks the learner nothing. */
  harness_crash (h, harness_leader (h));
  g_assert_true (harness_wait_leader (h, WAIT_MS));
  g_assert_cmpuint (dsm_node_get_metrics (learner)->messages_received[DSM_MSG_VOTE_REQUEST], ==, 0);

  /* Cut off for many election timeouts: not one VoteRequest of its own. */
  harness_partition (h, HARNESS_BIT (4));
  harness_advance (h, 5000);
  g_assert_cmpuint (dsm_node_get_metrics (learner)->messages_sent[DSM_MSG_VOTE_REQUEST], ==, 0);
  g_assert_cmpint (dsm_node_get_role (learner), ==, DSM_ROLE_FOLLOWER);
}

static void
test_learner_vote_not_counted (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  g_autoptr(DsmMembership) grown = NULL;
  DsmCommand add = { .op = DSM_OP_ADD_MEMBER, .node = 4 };

  g_test_summary ("A vote from a node that is a learner in the candidate's configuration counts "
                  "in no quorum; a voter's does.");
  rig_follow (rig, 2, 1);
  grown = dsm_membership_change (dsm_node_get_membership (rig->node, NULL), &add, NULL, NULL);
  DsmMessage *p = rig_proposal (2, 1, 0, 0, 1, NULL, 0);
  p->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  g_ptr_array_add (p->entries, dsm_entry_new_config (1, 1, &add, grown));
  p->commit_index = 1;
  rig_step (rig, p);
  rig_persist_all (rig);
  g_assert_cmpuint (dsm_membership_get_n_members (dsm_node_get_membership (rig->node, NULL)), ==, 4);

  rig_tick (rig, rig->now_ms + 10000);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_PRE_CANDIDATE);
  g_assert_null (rig_find_message (rig, DSM_MSG_VOTE_REQUEST, 4));   /* not asked */
  rig_step (rig, rig_vote (4, 2, TRUE, TRUE));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_PRE_CANDIDATE);
  rig_step (rig, rig_vote (3, 2, TRUE, TRUE));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_CANDIDATE);
}

static void
test_learner_does_not_count (void)
{
  g_autoptr(Harness) h = cluster (3, 0, 12);

  g_test_summary ("A learner's acknowledgements count in no quorum: a leader with one learner and "
                  "no other voter commits nothing new.");
  harness_add_node (h, 4);
  assert_ok (member_op (h, 0, DSM_OP_ADD_MEMBER, 0));
  wait_settled (h);

  DsmNodeId leader = harness_leader (h);
  guint64 commit = dsm_node_get_commit_index (h->nodes[leader]);
  harness_partition (h, HARNESS_BIT (leader) | HARNESS_BIT (4));
  guint64 id = next_request++;
  harness_transition (h, leader, id, "job", "Running", NULL, 0);
  harness_advance (h, 200);
  g_assert_cmpuint (dsm_node_get_commit_index (h->nodes[leader]), ==, commit);
  g_assert_cmpuint (dsm_node_get_last_index (h->nodes[4]), ==, dsm_node_get_last_index (h->nodes[leader]));
}

static gboolean
done_promoted (Harness *h, gpointer data)
{
  DsmNodeId id = GPOINTER_TO_UINT (data);
  for (guint n = 1; n <= h->n; n++)
    if (h->nodes[n] != NULL && !dsm_membership_is_voter (dsm_node_get_membership (h->nodes[n], NULL), id))
      return FALSE;
  return TRUE;
}

static void
test_learner_promoted_when_caught_up (void)
{
  g_autoptr(Harness) h = cluster (3, 3, 13);

  g_test_summary ("The leader promotes a learner once its log stayed within "
                  "learner_catch_up_entries of its own for learner_catch_up_rounds heartbeats.");
  for (guint i = 0; i < 20; i++)
    commit_one (h, (const char *[]) { "Running", "Stopped", "Init" }[i % 3]);
  harness_add_node (h, 4);
  assert_ok (member_op (h, 0, DSM_OP_ADD_MEMBER, 0));
  g_assert_true (harness_run (h, WAIT_MS, done_promoted, GUINT_TO_POINTER (4)));
  g_assert_cmpuint (dsm_membership_get_n_voters (dsm_node_get_membership (h->nodes[1], NULL)), ==, 4);
}

/* promote_member, retried while the learner is not ready yet (it has to
 * answer with the whole committed log first). */
static const DsmClientReply *
promote_when_ready (Harness *h, DsmNodeId id)
{
  for (guint attempt = 0; attempt < 100; attempt++)
    {
      const DsmClientReply *reply = member_op (h, 0, DSM_OP_PROMOTE_MEMBER, id);
      if (reply->reason != DSM_REJECT_CHANGE_IN_PROGRESS)
        return reply;
      harness_advance (h, 50);
    }
  g_error ("node %u never became ready for promotion", id);
}

static gboolean
done_matched (Harness *h, gpointer data)
{
  DsmNodeId leader = harness_leader (h);
  DsmPeerStatus peers[DSM_MAX_NODES];

  if (leader == 0)
    return FALSE;
  guint n = dsm_node_get_peers (h->nodes[leader], peers, G_N_ELEMENTS (peers));
  for (guint i = 0; i < n; i++)
    if (peers[i].id == GPOINTER_TO_UINT (data))
      return peers[i].match_index >= dsm_node_get_commit_index (h->nodes[leader]);
  return FALSE;
}

static void
test_promote_refuses_unready (void)
{
  g_autoptr(Harness) h = cluster (3, 0, 24);

  g_test_summary ("promote_member is refused (change_in_progress) for a learner that has not "
                  "answered with the whole committed log, such as one never started; once it "
                  "has, it is accepted.");
  const DsmClientReply *added = member_op (h, 0, DSM_OP_ADD_MEMBER, 0);
  assert_ok (added);
  g_assert_cmpuint (added->member, ==, 4);
  harness_advance (h, 500);
  const DsmClientReply *early = member_op (h, 0, DSM_OP_PROMOTE_MEMBER, 4);
  g_assert_cmpint (early->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (early->reason, ==, DSM_REJECT_CHANGE_IN_PROGRESS);
  g_assert_nonnull (strstr (early->detail, "not ready"));
  g_assert_false (dsm_membership_is_voter (dsm_node_get_membership (h->nodes[harness_leader (h)], NULL), 4));

  harness_add_node (h, 4);
  assert_ok (promote_when_ready (h, 4));
  wait_settled (h);
  g_assert_true (done_promoted (h, GUINT_TO_POINTER (4)));
}

/* A one-voter cluster (node 1) with learner 2 added, started, and given
 * time to catch up. */
static Harness *
one_voter_and_learner (guint64 seed)
{
  Harness *h = cluster (1, 0, seed);

  harness_add_node (h, 2);
  assert_ok (member_op (h, 0, DSM_OP_ADD_MEMBER, 0));
  harness_advance (h, 500);
  return h;
}

static void
test_single_voter_keeps_leading (void)
{
  g_autoptr(Harness) h = one_voter_and_learner (25);

  g_test_summary ("A one-voter cluster does not promote a learner cut off behind its commit "
                  "index (it could never commit again, nor undo it): the command is refused "
                  "and the voter keeps leading.");
  harness_partition (h, HARNESS_BIT (2));
  commit_one (h, "Running");
  const DsmClientReply *reply = member_op (h, 1, DSM_OP_PROMOTE_MEMBER, 2);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_CHANGE_IN_PROGRESS);
  harness_advance (h, 1000);
  g_assert_cmpint (dsm_node_get_role (h->nodes[1]), ==, DSM_ROLE_LEADER);
  commit_one (h, "Stopped");
}

static void
test_silent_learner_not_promoted (void)
{
  g_autoptr(Harness) h = cluster (3, 3, 26);

  g_test_summary ("A learner is promoted automatically only for rounds in which it answered: one "
                  "that caught up and then died stays a learner however long it stays quiet.");
  harness_add_node (h, 4);
  assert_ok (member_op (h, 0, DSM_OP_ADD_MEMBER, 0));
  g_assert_true (harness_run (h, WAIT_MS, done_matched, GUINT_TO_POINTER (4)));
  harness_crash (h, 4);
  harness_advance (h, 3000);
  g_assert_false (dsm_membership_is_voter (dsm_node_get_membership (h->nodes[harness_leader (h)], NULL), 4));
}

static void
test_promote_command (void)
{
  g_autoptr(Harness) h = cluster (3, 0, 14);

  g_test_summary ("promote_member makes a learner a voter; promoting a voter is refused.");
  harness_add_node (h, 4);
  assert_ok (member_op (h, 0, DSM_OP_ADD_MEMBER, 0));
  assert_ok (promote_when_ready (h, 4));
  wait_settled (h);
  g_assert_true (done_promoted (h, GUINT_TO_POINTER (4)));
  const DsmClientReply *again = member_op (h, 0, DSM_OP_PROMOTE_MEMBER, 4);
  g_assert_cmpint (again->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (again->reason, ==, DSM_REJECT_BAD_REQUEST);
}

/* ---- one change at a time ---- */

static void
test_one_change_in_flight (void)
{
  g_autoptr(Harness) h = cluster (3, 0, 15);

  g_test_summary ("While a configuration entry is uncommitted the leader refuses a second change "
                  "(change_in_progress), and accepts it once the first commits.");
  DsmNodeId leader = harness_leader (h);
  harness_partition (h, HARNESS_BIT (leader));
  DsmCommand add = { .op = DSM_OP_ADD_MEMBER };
  guint64 first = next_request++;
  harness_submit (h, leader, first, &add);
  g_assert_null (harness_reply (h, first));
  g_assert_cmpint (dsm_log_get (dsm_node_get_log (h->nodes[leader]), dsm_node_get_last_index (h->nodes[leader]))->kind,
                   ==, DSM_ENTRY_CONFIG);

  guint64 second = next_request++;
  harness_submit (h, leader, second, &add);
  const DsmClientReply *reply = harness_reply (h, second);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_CHANGE_IN_PROGRESS);

  harness_heal (h);
  g_assert_true (harness_wait_reply (h, first, WAIT_MS));
  assert_ok (harness_reply (h, first));
  assert_ok (member_op (h, 0, DSM_OP_ADD_MEMBER, 0));
}

static void
test_new_leader_commits_its_epoch_first (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  DsmCommand add = { .op = DSM_OP_ADD_MEMBER };

  g_test_summary ("A new leader refuses a membership change until an entry of its own epoch "
                  "committed (the fix to single-server changes), then accepts it.");
  rig_elect (rig);
  dsm_node_submit (rig->node, rig->now_ms, 1, &add);
  rig_drain (rig);
  DsmClientReply *reply = rig_find_reply (rig, 1);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_CHANGE_IN_PROGRESS);
  g_assert_nonnull (strstr (reply->detail, "epoch"));

  guint64 noop = dsm_node_get_last_index (rig->node);
  rig_persist_all (rig);
  rig_step (rig, rig_ack (2, dsm_node_get_epoch (rig->node), noop, 0));
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, noop);
  dsm_node_submit (rig->node, rig->now_ms, 2, &add);
  rig_drain (rig);
  g_assert_null (rig_find_reply (rig, 2));
  const DsmEntry *entry = dsm_log_get (dsm_node_get_log (rig->node), noop + 1);
  g_assert_nonnull (entry);
  g_assert_cmpint (entry->kind, ==, DSM_ENTRY_CONFIG);
  g_assert_cmpuint (entry->cmd.node, ==, 4);
  /* In force on append: four members, still three voters. */
  g_assert_cmpuint (dsm_membership_get_n_members (dsm_node_get_membership (rig->node, NULL)), ==, 4);
  g_assert_cmpuint (dsm_membership_get_n_voters (dsm_node_get_membership (rig->node, NULL)), ==, 3);
}

/* ---- ids ---- */

static void
test_ids_never_reused (void)
{
  g_autoptr(Harness) h = cluster (3, 0, 17);

  g_test_summary ("A removed node's id is never handed out again: an add naming it is refused, "
                  "an add without an id gets the next fresh one.");
  assert_ok (member_op (h, 0, DSM_OP_REMOVE_MEMBER, harness_leader (h) == 3 ? 2 : 3));
  DsmCommand add = { .op = DSM_OP_ADD_MEMBER, .node = 3 };
  guint64 id = next_request++;
  harness_submit (h, harness_leader (h), id, &add);
  g_assert_true (harness_wait_reply (h, id, WAIT_MS));
  g_assert_cmpint (harness_reply (h, id)->reason, ==, DSM_REJECT_BAD_REQUEST);
  g_assert_nonnull (strstr (harness_reply (h, id)->detail, "never reused"));
  const DsmClientReply *fresh = member_op (h, 0, DSM_OP_ADD_MEMBER, 0);
  assert_ok (fresh);
  g_assert_cmpuint (fresh->member, ==, 4);
}

/* ---- removal ---- */

static gboolean
done_removed (Harness *h, gpointer data)
{
  DsmNodeId id = GPOINTER_TO_UINT (data);
  return h->nodes[id] == NULL || dsm_node_is_removed (h->nodes[id]);
}

static void
test_remove_follower (void)
{
  g_autoptr(Harness) h = cluster (3, 0, 18);

  g_test_summary ("A removed follower learns it was removed, says so, and sends no VoteRequest "
                  "however long it hears nothing; the other two go on committing.");
  DsmNodeId leader = harness_leader (h);
  DsmNodeId gone = leader == 3 ? 2 : 3;
  assert_ok (member_op (h, 0, DSM_OP_REMOVE_MEMBER, gone));
  g_assert_true (harness_run (h, WAIT_MS, done_removed, GUINT_TO_POINTER (gone)));
  guint64 asked = dsm_node_get_metrics (h->nodes[gone])->messages_sent[DSM_MSG_VOTE_REQUEST];
  harness_advance (h, 5000);
  g_assert_cmpuint (dsm_node_get_metrics (h->nodes[gone])->messages_sent[DSM_MSG_VOTE_REQUEST], ==, asked);
  g_assert_cmpuint (dsm_membership_get_n_voters (dsm_node_get_membership (h->nodes[leader], NULL)), ==, 2);
  commit_one (h, "Running");
  /* A client of the removed node is told. */
  guint64 id = next_request++;
  harness_transition (h, gone, id, "job", "Stopped", NULL, 0);
  g_assert_cmpint (harness_reply (h, id)->reason, ==, DSM_REJECT_REMOVED);
}

static gboolean
done_other_leader (Harness *h, gpointer data)
{
  DsmNodeId leader = harness_leader (h);
  return leader != 0 && leader != GPOINTER_TO_UINT (data)
         && dsm_node_get_commit_index (h->nodes[leader]) == dsm_node_get_last_index (h->nodes[leader]);
}

static void
test_remove_leader (void)
{
  g_autoptr(Harness) h = cluster (3, 0, 19);

  g_test_summary ("Removing the leader: it leads until the change commits (without counting "
                  "itself), then hands leadership to another voter and steps down, removed.");
  DsmNodeId leader = harness_leader (h);
  assert_ok (member_op (h, 0, DSM_OP_REMOVE_MEMBER, leader));
  g_assert_true (harness_run (h, WAIT_MS, done_removed, GUINT_TO_POINTER (leader)));
  g_assert_true (harness_run (h, WAIT_MS, done_other_leader, GUINT_TO_POINTER (leader)));
  DsmNodeId next = harness_leader (h);
  g_assert_cmpuint (next, !=, leader);
  g_assert_cmpint (dsm_node_get_role (h->nodes[leader]), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_get_metrics (h->nodes[leader])->transfers_started, ==, 1);
  commit_one (h, "Running");
  harness_advance (h, 3000);
  g_assert_cmpint (dsm_node_get_role (h->nodes[leader]), ==, DSM_ROLE_FOLLOWER);
}

static void
test_removed_told_by_reject (void)
{
  g_autoptr(Harness) h = cluster (3, 0, 20);

  g_test_summary ("A node removed while cut off campaigns with its stale configuration; the "
                  "members answer with Reject(removed) and it stops, saying so.");
  DsmNodeId leader = harness_leader (h);
  DsmNodeId gone = leader == 3 ? 2 : 3;
  harness_partition (h, HARNESS_BIT (gone));
  assert_ok (member_op (h, 0, DSM_OP_REMOVE_MEMBER, gone));
  g_assert_false (dsm_node_is_removed (h->nodes[gone]));
  harness_heal (h);
  g_assert_true (harness_run (h, WAIT_MS, done_removed, GUINT_TO_POINTER (gone)));
  g_assert_cmpuint (dsm_node_get_leader (h->nodes[harness_leader (h)]), ==, harness_leader (h));
}

static void
test_removed_leader_hands_over (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  DsmCommand remove_self = { .op = DSM_OP_REMOVE_MEMBER, .node = RIG_SELF };
  guint timeout_now = 0;

  g_test_summary ("A leader whose own removal commits while entries after it are still "
                  "unacknowledged keeps reading Acks: when its successor's log matches, "
                  "TimeoutNow goes out at once, not at the deadline.");
  rig_elect_committed (rig);
  guint64 epoch = dsm_node_get_epoch (rig->node);
  dsm_node_submit (rig->node, rig->now_ms, 1, &remove_self);
  rig_drain (rig);
  guint64 removal = dsm_node_get_last_index (rig->node);
  g_assert_cmpint (dsm_log_get (dsm_node_get_log (rig->node), removal)->kind, ==, DSM_ENTRY_CONFIG);
  rig_transition (rig, 2, "job", "Running", NULL, 0);
  guint64 last = dsm_node_get_last_index (rig->node);
  g_assert_cmpuint (last, ==, removal + 1);
  rig_persist_all (rig);

  rig_step (rig, rig_ack (2, epoch, removal, 0));
  rig_step (rig, rig_ack (3, epoch, removal, 0));
  g_assert_true (dsm_node_is_removed (rig->node));
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_LEADER);
  DsmNodeId target = dsm_node_get_transfer_target (rig->node);
  g_assert_cmpuint (target, !=, DSM_NODE_NONE);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_TIMEOUT_NOW), ==, 0);

  rig_step (rig, rig_ack (target, epoch, last, 0));
  timeout_now = rig_count_messages (rig, DSM_MSG_TIMEOUT_NOW);
  g_assert_cmpuint (timeout_now, ==, 1);
  g_assert_nonnull (rig_find_message (rig, DSM_MSG_TIMEOUT_NOW, target));

  /* The successor's election ends the removed leader's term. */
  DsmMessage *campaign = rig_vote_request (target, epoch + 1, FALSE, last, epoch);
  campaign->transfer = TRUE;
  rig_step (rig, campaign);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->transfers_completed, ==, 1);
}

static void
test_removed_by_uncommitted_entry_campaigns (void)
{
  g_autoptr(Harness) h = cluster (4, 0, 23);

  g_test_summary ("A voter that holds an entry removing it, not yet committed, still campaigns "
                  "(without counting itself): when the leader dies its log may be the only "
                  "one the others can vote for.");
  DsmNodeId leader = harness_leader (h);
  DsmNodeId x = leader == 4 ? 3 : 4;
  harness_partition (h, HARNESS_BIT (leader) | HARNESS_BIT (x));
  DsmCommand rm = { .op = DSM_OP_REMOVE_MEMBER, .node = x };
  harness_submit (h, leader, next_request++, &rm);
  harness_advance (h, 100);
  g_assert_false (dsm_node_is_voter (h->nodes[x]));
  g_assert_false (dsm_node_is_removed (h->nodes[x]));
  harness_crash (h, leader);
  harness_heal (h);
  g_assert_true (harness_wait_leader (h, WAIT_MS));
  /* The removal commits in the end, and x is out for good. */
  g_assert_true (harness_run (h, WAIT_MS, done_removed, GUINT_TO_POINTER (x)));
  g_assert_true (harness_run (h, WAIT_MS, done_other_leader, GUINT_TO_POINTER (x)));
}

static void
test_removed_answers_forwarded (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  g_autoptr(DsmMembership) boot = dsm_membership_new_bootstrap (rig->config);
  DsmCommand remove_me = { .op = DSM_OP_REMOVE_MEMBER, .node = RIG_SELF };
  g_autoptr(DsmMembership) without = dsm_membership_change (boot, &remove_me, NULL, NULL);

  g_test_summary ("A removed node answers a command forwarded to it Reject(removed) instead of "
                  "dropping it, so the forwarding node answers its client at once.");
  g_assert_nonnull (without);
  rig_follow (rig, 2, 1);
  DsmMessage *p = rig_message (DSM_MSG_PROPOSAL, 2, 1);
  p->commit_index = 2;
  p->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  g_ptr_array_add (p->entries, dsm_entry_new (1, 1, DSM_ENTRY_NOOP, NULL));
  g_ptr_array_add (p->entries, dsm_entry_new_config (2, 1, &remove_me, without));
  rig_step (rig, p);
  rig_persist_all (rig);
  g_assert_true (dsm_node_is_removed (rig->node));

  DsmMessage *fwd = rig_message (DSM_MSG_CLIENT_REQUEST, 3, 1);
  fwd->request_id = 9;
  fwd->cmd.op = DSM_OP_TRANSITION;
  fwd->cmd.machine = g_strdup ("job");
  fwd->cmd.to = g_strdup ("Running");
  rig_step (rig, fwd);
  DsmMessage *answer = rig_find_message (rig, DSM_MSG_REJECT, 3);
  g_assert_nonnull (answer);
  g_assert_cmpuint (answer->request_id, ==, 9);
  g_assert_cmpint (answer->reason, ==, DSM_REJECT_REMOVED);
}

static void
test_only_voter_disk_full_keeps_leading (void)
{
  g_autoptr(Harness) h = one_voter_and_learner (27);

  g_test_summary ("The only voter keeps leading when its disk fills, learners or not: nobody "
                  "else could lead (learners never campaign), and it starts no election while "
                  "full.");
  dsm_node_set_disk_full (h->nodes[1], h->now_ms, TRUE);
  g_assert_cmpint (dsm_node_get_role (h->nodes[1]), ==, DSM_ROLE_LEADER);
}

/* ---- growing, replacing ---- */

static void
test_grow_and_replace (void)
{
  g_autoptr(Harness) h = cluster (3, 3, 21);

  g_test_summary ("Grow 3 -> 5 through learners promoted when caught up, then replace a crashed "
                  "node by a fresh one under a new id; every node applies the same entries.");
  for (DsmNodeId id = 4; id <= 5; id++)
    {
      harness_add_node (h, id);
      const DsmClientReply *reply = member_op (h, 0, DSM_OP_ADD_MEMBER, 0);
      assert_ok (reply);
      g_assert_cmpuint (reply->member, ==, id);
      g_assert_true (harness_run (h, WAIT_MS, done_promoted, GUINT_TO_POINTER (id)));
      commit_one (h, id == 4 ? "Running" : "Stopped");
    }
  g_assert_cmpuint (dsm_membership_get_n_voters (dsm_node_get_membership (h->nodes[harness_leader (h)], NULL)), ==, 5);

  DsmNodeId dead = harness_leader (h) == 2 ? 3 : 2;
  harness_wipe (h, dead);
  assert_ok (member_op (h, 0, DSM_OP_REMOVE_MEMBER, dead));
  harness_add_node (h, 6);
  assert_ok (member_op (h, 0, DSM_OP_ADD_MEMBER, 0));
  g_assert_true (harness_run (h, WAIT_MS, done_promoted, GUINT_TO_POINTER (6)));
  commit_one (h, "Init");
  wait_settled (h);
  DsmMembership *m = dsm_node_get_membership (h->nodes[6], NULL);
  g_assert_cmpuint (dsm_membership_get_n_voters (m), ==, 5);
  g_assert_null (dsm_membership_find (m, dead));
  g_assert_cmpuint (dsm_membership_get_next_id (m), ==, 7);
}

/* ---- durability of the configuration ---- */

static void
test_survives_restart (void)
{
  g_autoptr(DsmConfig) config = config_quiet (3, 3);
  config->snapshot_threshold_entries = 8;
  g_autoptr(Harness) h = harness_new (3, 22, config);

  g_test_summary ("The configuration lives in the log and in snapshots: after a whole-cluster "
                  "restart from disk, with the change compacted into a snapshot, every node uses "
                  "the grown configuration.");
  g_assert_true (harness_wait_leader (h, WAIT_MS));
  harness_add_node (h, 4);
  assert_ok (member_op (h, 0, DSM_OP_ADD_MEMBER, 0));
  g_assert_true (harness_run (h, WAIT_MS, done_promoted, GUINT_TO_POINTER (4)));
  for (guint i = 0; i < 30; i++)
    commit_one (h, (const char *[]) { "Running", "Stopped", "Init" }[i % 3]);
  wait_settled (h);
  for (DsmNodeId id = 1; id <= 4; id++)
    harness_crash (h, id);
  for (DsmNodeId id = 1; id <= 4; id++)
    {
      harness_restart (h, id);
      g_assert_nonnull (h->durable[id].snapshot);
      DsmMembership *m = dsm_node_get_membership (h->nodes[id], NULL);
      g_assert_cmpuint (dsm_membership_get_n_voters (m), ==, 4);
    }
  g_assert_true (harness_wait_leader (h, WAIT_MS));
  commit_one (h, "Running");
}

/* A follower given a config entry by a leader that is then deposed: the
 * next leader's log overwrites it, and the follower goes back to the
 * configuration before it. */
static void
test_truncation_reverts (void)
{
  g_autoptr(Harness) h = cluster (3, 0, 23);

  g_test_summary ("A configuration entry that is truncated stops counting at once: the node "
                  "returns to the configuration before it.");
  DsmNodeId leader = harness_leader (h);
  DsmNodeId follower = leader == 1 ? 2 : 1;
  DsmNode *f = h->nodes[follower];
  guint64 epoch = dsm_node_get_epoch (f);
  guint64 last = dsm_node_get_last_index (f);
  guint64 last_epoch = dsm_log_last_epoch (dsm_node_get_log (f));
  g_autoptr(DsmMembership) grown = NULL;
  {
    DsmCommand add = { .op = DSM_OP_ADD_MEMBER, .node = 4 };
    grown = dsm_membership_change (dsm_node_get_membership (f, NULL), &add, NULL, NULL);
  }
  /* A rival leader of a higher epoch appends an add... */
  harness_partition (h, HARNESS_BIT (follower));
  DsmMessage *p = dsm_message_new (DSM_MSG_PROPOSAL, 3 == follower ? 1 : 3, follower, epoch + 5);
  p->prev_index = last;
  p->prev_epoch = last_epoch;
  p->commit_index = 0;
  p->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  DsmCommand change = { .op = DSM_OP_ADD_MEMBER, .node = 4 };
  g_ptr_array_add (p->entries, dsm_entry_new_config (last + 1, epoch + 5, &change, grown));
  harness_deliver (h, p);
  guint64 index = 0;
  g_assert_true (dsm_membership_equal (dsm_node_get_membership (f, &index), grown));
  g_assert_cmpuint (index, ==, last + 1);
  /* ...and a later leader overwrites it. */
  DsmMessage *q = dsm_message_new (DSM_MSG_PROPOSAL, leader, follower, epoch + 6);
  q->prev_index = last;
  q->prev_epoch = last_epoch;
  q->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  g_ptr_array_add (q->entries, dsm_entry_new (last + 1, epoch + 6, DSM_ENTRY_NOOP, NULL));
  harness_deliver (h, q);
  g_assert_cmpuint (dsm_membership_get_n_members (dsm_node_get_membership (f, &index)), ==, 3);
  g_assert_cmpuint (index, ==, 0);
}

/* ---- the codec ---- */

static void
test_codec_round_trip (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(DsmMembership) base = dsm_membership_new_bootstrap (config);
  DsmCommand add = { .op = DSM_OP_ADD_MEMBER, .peer_address = "10.0.0.4:7000",
                     .client_address = "10.0.0.4:7100", .native_address = "10.0.0.4:7200",
                     .client_id = "ops", .seq = 3 };
  DsmNodeId member = 0;
  g_autoptr(DsmMembership) grown = dsm_membership_change (base, &add, &member, NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A config entry (change and whole membership, addresses included, a joined node's native "
                  "address too) survives "
                  "the codec, and one whose membership breaks the rules is refused with its path.");
  g_assert_cmpuint (member, ==, 4);
  add.node = member;
  g_autoptr(DsmEntry) entry = dsm_entry_new_config (9, 2, &add, grown);
  dsm_codec_write_entry (out, entry);
  g_autoptr(DsmEntry) back = dsm_codec_decode_entry (out->str, out->len, &error);
  g_assert_no_error (error);
  g_assert_true (dsm_entry_equal (entry, back));
  g_assert_cmpstr (dsm_membership_find (back->membership, 4)->peer_address, ==, "10.0.0.4:7000");
  g_assert_cmpstr (dsm_membership_find (back->membership, 4)->native_address, ==, "10.0.0.4:7200");
  g_assert_cmpstr (back->cmd.native_address, ==, "10.0.0.4:7200");
  /* The bootstrap's members keep theirs in the config file. */
  g_assert_null (dsm_membership_find (back->membership, 1)->native_address);

  const char *bad = "{\"index\":1,\"epoch\":1,\"kind\":\"config\",\"op\":\"add_member\",\"node\":4,"
                    "\"membership\":{\"next_id\":4,\"members\":[{\"id\":4,\"role\":\"voter\"}]}}";
  g_autoptr(DsmEntry) refused = dsm_codec_decode_entry (bad, strlen (bad), &error);
  g_assert_null (refused);
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "entry.membership"));
}

/* A config entry for @id, proposed by a leader in the rig: its Proposal
 * must decode at a follower and its ENTRIES record in the leader's WAL. */
static void
assert_add_round_trips (Rig *rig, guint64 request_id, DsmNodeId id)
{
  DsmCommand add = { .op = DSM_OP_ADD_MEMBER, .node = id };
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) record = g_byte_array_new ();
  gsize used = 0;

  dsm_node_submit (rig->node, rig->now_ms, request_id, &add);
  rig_drain (rig);
  g_assert_null (rig_find_reply (rig, request_id));
  DsmMessage *p = rig_find_message (rig, DSM_MSG_PROPOSAL, 2);
  g_assert_nonnull (p);
  g_autofree char *wire = dsm_codec_encode_message (p);
  g_autoptr(DsmMessage) back = dsm_codec_decode_message (wire, strlen (wire), &error);
  g_assert_no_error (error);
  g_assert_nonnull (back);
  DsmPersist *persist = rig_find_persist (rig, DSM_PERSIST_ENTRIES);
  g_assert_nonnull (persist);
  dsm_record_encode (record, persist);
  g_autoptr(DsmPersist) reread = dsm_record_decode (record->data, record->len, &used, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reread);
}

static void
test_node_ids_one_range (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);
  g_autoptr(GError) error = NULL;
  DsmCommand past = { .op = DSM_OP_ADD_MEMBER, .node = (DsmNodeId) DSM_NODE_ID_MAX + 1 };

  g_test_summary ("Node ids have one range everywhere: an add naming an id past it is refused "
                  "before the log (it would enter the log and fail to decode at every follower "
                  "and in the leader's own WAL), the largest id round-trips through the wire "
                  "and the WAL, and after it ids are exhausted.");
  g_assert_false (dsm_command_check (&past, &error));
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "node"));
  g_clear_error (&error);

  rig_elect_committed (rig);
  guint64 last = dsm_node_get_last_index (rig->node);
  dsm_node_submit (rig->node, rig->now_ms, 1, &past);
  rig_drain (rig);
  DsmClientReply *reply = rig_find_reply (rig, 1);
  g_assert_nonnull (reply);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_BAD_REQUEST);
  g_assert_cmpuint (dsm_node_get_last_index (rig->node), ==, last);

  assert_add_round_trips (rig, 2, DSM_NODE_ID_MAX);
  g_assert_cmpuint (dsm_membership_get_next_id (dsm_node_get_membership (rig->node, NULL)), ==,
                    (guint64) DSM_NODE_ID_MAX + 1);

  /* The membership after it: no id left to hand out. */
  DsmCommand next = { .op = DSM_OP_ADD_MEMBER };
  g_autoptr(DsmMembership) none = dsm_membership_change (dsm_node_get_membership (rig->node, NULL), &next,
                                                         NULL, &error);
  g_assert_null (none);
  g_assert_error (error, DSM_MEMBERSHIP_ERROR, DSM_MEMBERSHIP_ERROR_FULL);
  g_clear_error (&error);

  /* And nothing past the range decodes. */
  const char *wire = "{\"type\":\"commit\",\"from\":3000000000,\"to\":1,\"epoch\":1,"
                     "\"commit_index\":0,\"hb_seq\":0}";
  g_autoptr(DsmMessage) refused = dsm_codec_decode_message (wire, strlen (wire), &error);
  g_assert_null (refused);
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_TYPE);
  g_assert_nonnull (strstr (error->message, "commit.from"));
}

static void
test_membership_ignores_unknown_keys (void)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("A membership read from the wire, the WAL or a snapshot ignores keys it does "
                  "not know, like every wire object (PROTOCOL.md, Wire format): a newer node may "
                  "add one without making older nodes refuse its Proposals or their own WAL.");
  const char *newer = "{\"index\":1,\"epoch\":1,\"kind\":\"config\",\"op\":\"add_member\",\"node\":2,"
                      "\"membership\":{\"next_id\":3,\"zone\":\"b\",\"members\":[{\"id\":1,"
                      "\"role\":\"voter\",\"weight\":1},{\"id\":2,\"role\":\"learner\"}]}}";
  g_autoptr(DsmEntry) entry = dsm_codec_decode_entry (newer, strlen (newer), &error);
  g_assert_no_error (error);
  g_assert_nonnull (entry);
  g_assert_cmpuint (dsm_membership_get_n_voters (entry->membership), ==, 1);
  g_assert_cmpuint (dsm_membership_get_n_members (entry->membership), ==, 2);

  /* A role it does not know is still refused: who counts is never guessed. */
  const char *role = "{\"index\":1,\"epoch\":1,\"kind\":\"config\",\"op\":\"add_member\",\"node\":2,"
                     "\"membership\":{\"next_id\":3,\"members\":[{\"id\":1,\"role\":\"voter\"},"
                     "{\"id\":2,\"role\":\"witness\"}]}}";
  g_autoptr(DsmEntry) refused = dsm_codec_decode_entry (role, strlen (role), &error);
  g_assert_null (refused);
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_TYPE);
  g_assert_nonnull (strstr (error->message, "members[1].role"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/members/learner-does-not-vote", test_learner_does_not_vote);
  g_test_add_func ("/core/members/learner-vote-not-counted", test_learner_vote_not_counted);
  g_test_add_func ("/core/members/learner-does-not-count", test_learner_does_not_count);
  g_test_add_func ("/core/members/learner-promoted-when-caught-up", test_learner_promoted_when_caught_up);
  g_test_add_func ("/core/members/promote-command", test_promote_command);
  g_test_add_func ("/core/members/promote-refuses-unready", test_promote_refuses_unready);
  g_test_add_func ("/core/members/single-voter-keeps-leading", test_single_voter_keeps_leading);
  g_test_add_func ("/core/members/silent-learner-not-promoted", test_silent_learner_not_promoted);
  g_test_add_func ("/core/members/one-change-in-flight", test_one_change_in_flight);
  g_test_add_func ("/core/members/new-leader-commits-its-epoch-first", test_new_leader_commits_its_epoch_first);
  g_test_add_func ("/core/members/ids-never-reused", test_ids_never_reused);
  g_test_add_func ("/core/members/remove-follower", test_remove_follower);
  g_test_add_func ("/core/members/remove-leader", test_remove_leader);
  g_test_add_func ("/core/members/removed-told-by-reject", test_removed_told_by_reject);
  g_test_add_func ("/core/members/removed-leader-hands-over", test_removed_leader_hands_over);
  g_test_add_func ("/core/members/removed-by-uncommitted-entry-campaigns",
                   test_removed_by_uncommitted_entry_campaigns);
  g_test_add_func ("/core/members/removed-answers-forwarded", test_removed_answers_forwarded);
  g_test_add_func ("/core/members/only-voter-disk-full-keeps-leading", test_only_voter_disk_full_keeps_leading);
  g_test_add_func ("/core/members/grow-and-replace", test_grow_and_replace);
  g_test_add_func ("/core/members/survives-restart", test_survives_restart);
  g_test_add_func ("/core/members/truncation-reverts", test_truncation_reverts);
  g_test_add_func ("/core/members/codec-round-trip", test_codec_round_trip);
  g_test_add_func ("/core/members/node-ids-one-range", test_node_ids_one_range);
  g_test_add_func ("/core/members/membership-ignores-unknown-keys", test_membership_ignores_unknown_keys);
  return g_test_run ();
}
