/* tests/scenario/test-scenario.c: scenario files: every key and its default,
 * canonical JSON that reads back to the same text, deep copies, a table of
 * bad files each failing with its code and the field's path, and every
 * bundled scenario in scenarios/. */
#include <string.h>

#include <glib/gstdio.h>

#include "check/checker.h"
#include "error.h"
#include "scenario/scenario.h"

/* JSON in C strings reads better with single quotes; no test string
 * needs an apostrophe. */
static char *
json_text (const char *single_quoted)
{
  char *text = g_strdup (single_quoted);

  g_strdelimit (text, "'", '"');
  return text;
}

static DsmScenario *
load (const char *single_quoted, GError **error)
{
  g_autofree char *text = json_text (single_quoted);

  return dsm_scenario_new_from_data (text, -1, "test.json", error);
}

static DsmScenario *
load_ok (const char *single_quoted)
{
  g_autoptr(GError) error = NULL;
  DsmScenario *scenario = load (single_quoted, &error);

  g_assert_no_error (error);
  g_assert_nonnull (scenario);
  return scenario;
}

static const DsmStep *
step_at (const DsmScenario *scenario, guint i)
{
  g_assert_cmpuint (i, <, scenario->steps->len);
  return g_ptr_array_index (scenario->steps, i);
}

#define HEAD "'summary': 'A test.', 'seed': 1, 'nodes': 5"

/* ---- defaults ---- */

static void
test_defaults (void)
{
  g_autoptr(DsmScenario) s = load_ok ("{" HEAD "}");

  g_test_summary ("A minimal file gets every documented default.");
  g_assert_cmpstr (s->name, ==, "test");
  g_assert_cmpstr (s->summary, ==, "A test.");
  g_assert_null (s->path);
  g_assert_cmpuint (s->seed, ==, 1);
  g_assert_cmpuint (s->config->n_nodes, ==, 5);
  g_assert_cmpuint (s->config->election_timeout_ms_max, ==, 300);

  g_assert_cmpuint (s->network.latency_ms_min, ==, 1);
  g_assert_cmpuint (s->network.latency_ms_max, ==, 10);
  g_assert_cmpuint (s->network.loss_percent, ==, 0);
  g_assert_cmpuint (s->network.duplicate_percent, ==, 0);
  g_assert_cmpuint (s->network.reorder_percent, ==, 0);
  g_assert_cmpuint (s->network.reorder_ms_max, ==, 50);
  g_assert_cmpuint (s->network.client_latency_ms_min, ==, 0);
  g_assert_cmpuint (s->network.client_latency_ms_max, ==, 2);
  g_assert_cmpuint (s->disk.fsync_ms_min, ==, 0);
  g_assert_cmpuint (s->disk.fsync_ms_max, ==, 2);

  g_assert_cmpuint (s->workload.clients, ==, 0);
  g_assert_cmpuint (s->workload.machines, ==, 4);
  g_assert_null (s->workload.definition);
  g_assert_cmpfloat (s->workload.rate_per_s, ==, 50);
  g_assert_cmpuint (s->workload.read_percent, ==, 20);
  g_assert_cmpuint (s->workload.start_ms, ==, 0);
  g_assert_cmpuint (s->workload.duration_ms, ==, 0);
  g_assert_cmpint (s->workload.target, ==, DSM_WORKLOAD_TARGET_RANDOM);
  g_assert_true (s->workload.idempotent);

  g_assert_cmpuint (s->steps->len, ==, 0);

  g_assert_cmphex (s->expect.invariants, ==, DSM_INVARIANTS_ALL);
  g_assert_cmpuint (s->expect.min_commits, ==, 0);
  g_assert_cmpuint (s->expect.leader_within_ms, ==, 5 * 300);
  /* (retry_attempts + 1) * (consensus_timeout_ms + 500) with the defaults */
  g_assert_cmpuint (s->expect.settle_ms, ==, 15000);
  g_assert_cmpuint (s->expect.min_unknown, ==, 0);
  g_assert_cmpuint (s->expect.min_rejected, ==, 0);
  g_assert_cmpuint (s->expect.min_retries, ==, 0);
  g_assert_cmpuint (s->expect.min_elections, ==, 0);
  g_assert_cmpuint (s->expect.max_elections, ==, 0);
  g_assert_cmpuint (s->expect.min_snapshots_installed, ==, 0);
  g_assert_cmpuint (s->expect.min_invalid_messages, ==, 0);
  g_assert_cmpuint (g_hash_table_size (s->expect.final_states), ==, 0);

  /* Compact canonical JSON, for trace headers. */
  g_assert_nonnull (s->json);
  g_assert_null (strchr (s->json, '\n'));
  g_assert_true (g_str_has_prefix (s->json, "{\"name\":\"test\",\"summary\":"));
}

static void
test_defaults_from_config (void)
{
  g_autoptr(DsmScenario) s = load_ok (
    "{" HEAD ", 'cluster': {'election_timeout_ms_max': 400, 'consensus_timeout_ms': 1500},"
    " 'network': {'reorder_ms_max': 30},"
    " 'steps': [{'do': 'propose', 'machine': 'm', 'to': 'Running', 'expect': 'ok'},"
    "           {'do': 'read', 'machine': 'm', 'expect': 'unknown'},"
    "           {'do': 'reorder', 'percent': 5}]}");

  g_test_summary ("Timing defaults follow the cluster config and the network model.");
  g_assert_cmpuint (s->expect.leader_within_ms, ==, 5 * 400);
  g_assert_cmpuint (step_at (s, 0)->within_ms, ==, 1500 + 1000);
  g_assert_cmpuint (step_at (s, 1)->within_ms, ==, 1500 + 1000);
  g_assert_cmpuint (step_at (s, 2)->ms, ==, 30);
}

static void
test_step_defaults (void)
{
  g_autoptr(DsmScenario) s = load_ok (
    "{" HEAD ", 'steps': ["
    " {'do': 'propose', 'machine': 'm', 'to': 'Running'},"
    " {'do': 'propose', 'machine': 'm', 'to': 'Stopped', 'client_id': 'c1'},"
    " {'do': 'loss', 'percent': 10},"
    " {'do': 'corrupt', 'percent': 10},"
    " {'expect': 'state', 'machine': 'm', 'state': 'Running'}]}");
  const DsmStep *step;

  g_test_summary ("Optional step keys get their documented defaults.");
  step = step_at (s, 0);
  g_assert_cmpint (step->kind, ==, DSM_STEP_PROPOSE);
  g_assert_cmpstr (step->where, ==, "steps[0]");
  g_assert_false (step->has_at);
  g_assert_cmpuint (step->after_ms, ==, 0);
  g_assert_cmpint (step->target.kind, ==, DSM_TARGET_RANDOM);
  g_assert_false (step->has_expect_reply);
  g_assert_cmpuint (step->within_ms, ==, 0);
  g_assert_null (step->cmd.client_id);
  g_assert_cmpuint (step->cmd.seq, ==, 0);
  g_assert_null (step->cmd.from);
  g_assert_null (step->cmd.definition);

  step = step_at (s, 1);
  g_assert_cmpstr (step->cmd.client_id, ==, "c1");
  g_assert_cmpuint (step->cmd.seq, ==, 1);

  step = step_at (s, 2);
  g_assert_cmpuint (step->for_ms, ==, 0);

  step = step_at (s, 3);
  g_assert_cmpint (step->corrupt_mode, ==, DSM_CORRUPT_FLIP);

  step = step_at (s, 4);
  g_assert_cmpint (step->on, ==, DSM_NODES_LIVE);
}

/* ---- every key ---- */

/* Every key of the schema at a value other than its default. */
static const char full_scenario[] =
  "{"
  " 'comment': ['comments', 'may', 'be', 'anything'],"
  " 'name': 'everything',"
  " 'summary': 'Every key of the schema, none at its default.',"
  " 'seed': 9007199254740993,"
  " 'nodes': 7,"
  " 'cluster': {'comment': 1, 'heartbeat_ms': 20, 'election_timeout_ms_min': 100,"
  "   'election_timeout_ms_max': 200, 'consensus_timeout_ms': 1000,"
  "   'snapshot_threshold_entries': 50,"
  "   'definitions': [{'name': 'door', 'states': ['Closed', 'Open'], 'initial': 'Closed',"
  "                    'transitions': [{'from': 'Closed', 'to': 'Open'}]}]},"
  " 'network': {'comment': null, 'latency_ms_min': 2, 'latency_ms_max': 20, 'loss_percent': 1,"
  "   'duplicate_percent': 2, 'reorder_percent': 3, 'reorder_ms_max': 40,"
  "   'client_latency_ms_min': 1, 'client_latency_ms_max': 5},"
  " 'disk': {'fsync_ms_min': 1, 'fsync_ms_max': 4},"
  " 'workload': {'clients': 3, 'machines': 2, 'definition': 'door', 'rate_per_s': 12.5,"
  "   'read_percent': 30, 'start_ms': 100, 'duration_ms': 5000, 'target': 'leader',"
  "   'idempotent': false},"
  " 'steps': ["
  "  {'comment': 'step 0', 'await': 'leader', 'within_ms': 2000},"               /* 0 */
  "  {'do': 'crash', 'node': 'leader', 'at_ms': 3000},"                          /* 1 */
  "  {'do': 'restart', 'node': 'all', 'after_ms': 500},"                         /* 2 */
  "  {'do': 'partition', 'groups': [[1, 2], [3, 4]]},"                           /* 3 */
  "  {'do': 'isolate', 'node': 'follower'},"                                     /* 4 */
  "  {'do': 'cut', 'from': 2, 'to': 'random', 'messages': ['snapshot', 'proposal']},"  /* 5 */
  "  {'do': 'heal'},"                                                            /* 6 */
  "  {'do': 'loss', 'percent': 40, 'for_ms': 1000},"                             /* 7 */
  "  {'do': 'delay', 'ms': 80, 'for_ms': 900},"                                  /* 8 */
  "  {'do': 'duplicate', 'percent': 20, 'for_ms': 800},"                         /* 9 */
  "  {'do': 'reorder', 'percent': 30, 'ms': 70, 'for_ms': 700},"                 /* 10 */
  "  {'do': 'corrupt', 'percent': 5, 'mode': 'truncate', 'for_ms': 600},"        /* 11 */
  "  {'do': 'disk', 'node': 3, 'fault': 'lost_fsync'},"                          /* 12 */
  "  {'do': 'skew', 'node': 'all', 'rate': 0.7},"                                /* 13 */
  "  {'do': 'propose', 'node': 4, 'machine': 'gate', 'to': 'Open', 'from': 'Closed',"
  "   'definition': 'door', 'client_id': 'alice', 'seq': 7, 'expect': 'rejected',"
  "   'within_ms': 1234},"                                                       /* 14 */
  "  {'do': 'read', 'node': 'leader', 'machine': 'gate', 'definition': 'door',"
  "   'expect': 'ok', 'within_ms': 999},"                                        /* 15 */
  "  {'do': 'wait', 'ms': 250},"                                                 /* 16 */
  "  {'await': 'no_leader', 'within_ms': 100},"                                  /* 17 */
  "  {'await': 'committed', 'machine': 'gate', 'state': 'Open', 'within_ms': 300},"  /* 18 */
  "  {'await': 'caught_up', 'within_ms': 400},"                                  /* 19 */
  "  {'await': 'replies', 'within_ms': 500},"                                    /* 20 */
  "  {'expect': 'state', 'machine': 'gate', 'state': 'Open', 'on': 6},"          /* 21 */
  "  {'expect': 'state', 'machine': 'gate', 'state': 'Open', 'on': 'all'},"      /* 22 */
  "  {'expect': 'leader', 'at_ms': 3000},"                                       /* 23 */
  "  {'expect': 'no_leader'},"                                                   /* 24 */
  "  {'do': 'pause', 'node': 'follower', 'ms': 700},"                            /* 25 */
  "  {'do': 'disk_full', 'node': 'leader'},"                                     /* 26 */
  "  {'do': 'disk_space_restored', 'node': 'all'}"                               /* 27 */
  " ],"
  " 'expect': {'invariants': ['agreement', 'liveness'], 'min_commits': 10,"
  "   'leader_within_ms': 3000, 'settle_ms': 20000, 'min_unknown': 1, 'min_rejected': 2,"
  "   'min_retries': 3, 'min_elections': 4, 'max_elections': 9,"
  "   'min_snapshots_installed': 5, 'min_invalid_messages': 6,"
  "   'final_states': {'gate': 'Open', 'm0': 'Closed'}}"
  "}";

static void
test_every_key_top (void)
{
  g_autoptr(DsmScenario) s = load_ok (full_scenario);

  g_test_summary ("Every top-level, network, disk, workload and expect key is read.");
  g_assert_cmpstr (s->name, ==, "everything");
  g_assert_cmpuint (s->seed, ==, G_GUINT64_CONSTANT (9007199254740993));
  g_assert_cmpuint (s->config->n_nodes, ==, 7);
  g_assert_cmpuint (s->config->heartbeat_ms, ==, 20);
  g_assert_cmpuint (s->config->snapshot_threshold_entries, ==, 50);
  g_assert_nonnull (dsm_config_find_definition (s->config, "door"));

  g_assert_cmpuint (s->network.latency_ms_min, ==, 2);
  g_assert_cmpuint (s->network.latency_ms_max, ==, 20);
  g_assert_cmpuint (s->network.loss_percent, ==, 1);
  g_assert_cmpuint (s->network.duplicate_percent, ==, 2);
  g_assert_cmpuint (s->network.reorder_percent, ==, 3);
  g_assert_cmpuint (s->network.reorder_ms_max, ==, 40);
  g_assert_cmpuint (s->network.client_latency_ms_min, ==, 1);
  g_assert_cmpuint (s->network.client_latency_ms_max, ==, 5);
  g_assert_cmpuint (s->disk.fsync_ms_min, ==, 1);
  g_assert_cmpuint (s->disk.fsync_ms_max, ==, 4);

  g_assert_cmpuint (s->workload.clients, ==, 3);
  g_assert_cmpuint (s->workload.machines, ==, 2);
  g_assert_cmpstr (s->workload.definition, ==, "door");
  g_assert_cmpfloat (s->workload.rate_per_s, ==, 12.5);
  g_assert_cmpuint (s->workload.read_percent, ==, 30);
  g_assert_cmpuint (s->workload.start_ms, ==, 100);
  g_assert_cmpuint (s->workload.duration_ms, ==, 5000);
  g_assert_cmpint (s->workload.target, ==, DSM_WORKLOAD_TARGET_LEADER);
  g_assert_false (s->workload.idempotent);

  g_assert_cmphex (s->expect.invariants, ==,
                   (1u << DSM_INVARIANT_AGREEMENT) | (1u << DSM_INVARIANT_LIVENESS));
  g_assert_cmpuint (s->expect.min_commits, ==, 10);
  g_assert_cmpuint (s->expect.leader_within_ms, ==, 3000);
  g_assert_cmpuint (s->expect.settle_ms, ==, 20000);
  g_assert_cmpuint (s->expect.min_unknown, ==, 1);
  g_assert_cmpuint (s->expect.min_rejected, ==, 2);
  g_assert_cmpuint (s->expect.min_retries, ==, 3);
  g_assert_cmpuint (s->expect.min_elections, ==, 4);
  g_assert_cmpuint (s->expect.max_elections, ==, 9);
  g_assert_cmpuint (s->expect.min_snapshots_installed, ==, 5);
  g_assert_cmpuint (s->expect.min_invalid_messages, ==, 6);
  g_assert_cmpuint (g_hash_table_size (s->expect.final_states), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (s->expect.final_states, "gate"), ==, "Open");
  g_assert_cmpstr (g_hash_table_lookup (s->expect.final_states, "m0"), ==, "Closed");
}

static void
assert_group (const DsmStep *step, guint i, guint n, const DsmNodeId *ids)
{
  const GArray *group = g_ptr_array_index (step->groups, i);

  g_assert_cmpuint (group->len, ==, n);
  for (guint k = 0; k < n; k++)
    g_assert_cmpuint (g_array_index (group, DsmNodeId, k), ==, ids[k]);
}

static void
test_every_key_faults (void)
{
  g_autoptr(DsmScenario) s = load_ok (full_scenario);
  const DsmStep *step;

  g_test_summary ("Every fault step and its keys are read.");
  g_assert_cmpuint (s->steps->len, ==, 28);
  step = step_at (s, 0);
  g_assert_cmpint (step->kind, ==, DSM_STEP_AWAIT);
  g_assert_cmpint (step->condition, ==, DSM_CONDITION_LEADER);
  g_assert_cmpuint (step->within_ms, ==, 2000);

  step = step_at (s, 1);
  g_assert_cmpint (step->kind, ==, DSM_STEP_CRASH);
  g_assert_true (step->has_at);
  g_assert_cmpuint (step->at_ms, ==, 3000);
  g_assert_cmpint (step->target.kind, ==, DSM_TARGET_LEADER);

  step = step_at (s, 2);
  g_assert_cmpint (step->kind, ==, DSM_STEP_RESTART);
  g_assert_false (step->has_at);
  g_assert_cmpuint (step->after_ms, ==, 500);
  g_assert_cmpint (step->target.kind, ==, DSM_TARGET_ALL);

  step = step_at (s, 3);
  g_assert_cmpint (step->kind, ==, DSM_STEP_PARTITION);
  g_assert_cmpuint (step->groups->len, ==, 3);
  assert_group (step, 0, 2, (DsmNodeId[]) { 1, 2 });
  assert_group (step, 1, 2, (DsmNodeId[]) { 3, 4 });
  /* The nodes left out, as one more group. */
  assert_group (step, 2, 3, (DsmNodeId[]) { 5, 6, 7 });

  step = step_at (s, 4);
  g_assert_cmpint (step->kind, ==, DSM_STEP_ISOLATE);
  g_assert_cmpint (step->target.kind, ==, DSM_TARGET_FOLLOWER);

  step = step_at (s, 5);
  g_assert_cmpint (step->kind, ==, DSM_STEP_CUT);
  g_assert_cmpint (step->target.kind, ==, DSM_TARGET_NODE);
  g_assert_cmpuint (step->target.id, ==, 2);
  g_assert_cmpint (step->target_to.kind, ==, DSM_TARGET_RANDOM);
  g_assert_cmpuint (step->message_types, ==, (1u << DSM_MSG_PROPOSAL) | (1u << DSM_MSG_SNAPSHOT));

  g_assert_cmpint (step_at (s, 6)->kind, ==, DSM_STEP_HEAL);

  step = step_at (s, 7);
  g_assert_cmpint (step->kind, ==, DSM_STEP_LOSS);
  g_assert_cmpuint (step->percent, ==, 40);
  g_assert_cmpuint (step->for_ms, ==, 1000);

  step = step_at (s, 8);
  g_assert_cmpint (step->kind, ==, DSM_STEP_DELAY);
  g_assert_cmpuint (step->ms, ==, 80);
  g_assert_cmpuint (step->for_ms, ==, 900);

  step = step_at (s, 9);
  g_assert_cmpint (step->kind, ==, DSM_STEP_DUPLICATE);
  g_assert_cmpuint (step->percent, ==, 20);
  g_assert_cmpuint (step->for_ms, ==, 800);

  step = step_at (s, 10);
  g_assert_cmpint (step->kind, ==, DSM_STEP_REORDER);
  g_assert_cmpuint (step->percent, ==, 30);
  g_assert_cmpuint (step->ms, ==, 70);
  g_assert_cmpuint (step->for_ms, ==, 700);

  step = step_at (s, 11);
  g_assert_cmpint (step->kind, ==, DSM_STEP_CORRUPT);
  g_assert_cmpuint (step->percent, ==, 5);
  g_assert_cmpint (step->corrupt_mode, ==, DSM_CORRUPT_TRUNCATE);
  g_assert_cmpuint (step->for_ms, ==, 600);

  step = step_at (s, 12);
  g_assert_cmpint (step->kind, ==, DSM_STEP_DISK_FAULT);
  g_assert_cmpuint (step->target.id, ==, 3);
  g_assert_cmpint (step->disk_fault, ==, DSM_DISK_FAULT_LOST_FSYNC);

  step = step_at (s, 13);
  g_assert_cmpint (step->kind, ==, DSM_STEP_SKEW);
  g_assert_cmpint (step->target.kind, ==, DSM_TARGET_ALL);
  g_assert_cmpfloat (step->rate, ==, 0.7);

  step = step_at (s, 25);
  g_assert_cmpint (step->kind, ==, DSM_STEP_PAUSE);
  g_assert_cmpint (step->target.kind, ==, DSM_TARGET_FOLLOWER);
  g_assert_cmpuint (step->ms, ==, 700);
  step = step_at (s, 26);
  g_assert_cmpint (step->kind, ==, DSM_STEP_DISK_FULL);
  g_assert_cmpint (step->target.kind, ==, DSM_TARGET_LEADER);
  step = step_at (s, 27);
  g_assert_cmpint (step->kind, ==, DSM_STEP_DISK_SPACE_RESTORED);
  g_assert_cmpint (step->target.kind, ==, DSM_TARGET_ALL);
}

static void
test_every_key_clients (void)
{
  g_autoptr(DsmScenario) s = load_ok (full_scenario);
  const DsmStep *step;

  g_test_summary ("Every client, time and condition step and its keys are read.");
  step = step_at (s, 14);
  g_assert_cmpint (step->kind, ==, DSM_STEP_PROPOSE);
  g_assert_cmpuint (step->target.id, ==, 4);
  g_assert_cmpint (step->cmd.op, ==, DSM_OP_TRANSITION);
  g_assert_cmpstr (step->cmd.machine, ==, "gate");
  g_assert_cmpstr (step->cmd.to, ==, "Open");
  g_assert_cmpstr (step->cmd.from, ==, "Closed");
  g_assert_cmpstr (step->cmd.definition, ==, "door");
  g_assert_cmpstr (step->cmd.client_id, ==, "alice");
  g_assert_cmpuint (step->cmd.seq, ==, 7);
  g_assert_true (step->has_expect_reply);
  g_assert_cmpint (step->expect_reply, ==, DSM_REPLY_REJECTED);
  g_assert_cmpuint (step->within_ms, ==, 1234);

  step = step_at (s, 15);
  g_assert_cmpint (step->kind, ==, DSM_STEP_READ);
  g_assert_cmpint (step->target.kind, ==, DSM_TARGET_LEADER);
  g_assert_cmpint (step->cmd.op, ==, DSM_OP_READ);
  g_assert_cmpstr (step->cmd.machine, ==, "gate");
  g_assert_null (step->cmd.to);
  g_assert_cmpint (step->expect_reply, ==, DSM_REPLY_OK);
  g_assert_cmpuint (step->within_ms, ==, 999);

  step = step_at (s, 16);
  g_assert_cmpint (step->kind, ==, DSM_STEP_WAIT);
  g_assert_cmpuint (step->ms, ==, 250);

  g_assert_cmpint (step_at (s, 17)->condition, ==, DSM_CONDITION_NO_LEADER);
  step = step_at (s, 18);
  g_assert_cmpint (step->condition, ==, DSM_CONDITION_COMMITTED);
  g_assert_cmpstr (step->machine, ==, "gate");
  g_assert_cmpstr (step->state, ==, "Open");
  g_assert_cmpuint (step->within_ms, ==, 300);
  g_assert_cmpint (step_at (s, 19)->condition, ==, DSM_CONDITION_CAUGHT_UP);
  g_assert_cmpint (step_at (s, 20)->condition, ==, DSM_CONDITION_REPLIES);

  step = step_at (s, 21);
  g_assert_cmpint (step->kind, ==, DSM_STEP_EXPECT);
  g_assert_cmpint (step->condition, ==, DSM_CONDITION_STATE);
  g_assert_cmpint (step->on, ==, DSM_NODES_ONE);
  g_assert_cmpuint (step->on_id, ==, 6);
  g_assert_cmpint (step_at (s, 22)->on, ==, DSM_NODES_ALL);
  step = step_at (s, 23);
  g_assert_cmpint (step->kind, ==, DSM_STEP_EXPECT);
  g_assert_cmpint (step->condition, ==, DSM_CONDITION_LEADER);
  g_assert_true (step->has_at);
  g_assert_cmpint (step_at (s, 24)->condition, ==, DSM_CONDITION_NO_LEADER);
  g_assert_cmpstr (step_at (s, 24)->where, ==, "steps[24]");
}

/* ---- canonical JSON, copies ---- */

static void
assert_round_trip (const DsmScenario *s)
{
  g_autofree char *first = dsm_scenario_to_json (s);
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmScenario) again = dsm_scenario_new_from_data (first, -1, "again.json", &error);
  g_autofree char *second = NULL;
  g_autoptr(DsmScenario) from_compact = NULL;

  g_assert_no_error (error);
  second = dsm_scenario_to_json (again);
  g_assert_cmpstr (first, ==, second);
  /* The compact form holds the same scenario. */
  g_assert_cmpstr (s->json, ==, again->json);
  from_compact = dsm_scenario_new_from_data (s->json, -1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (from_compact->json, ==, s->json);
}

static const char attack_scenario[] =
  "{" HEAD ", 'steps': ["
  " {'attack': 'forge', 'at_ms': 100, 'to': 'follower', 'as': 'leader', 'message': {"
  "   'type': 'proposal', 'epoch': '+100', 'prev_index': '+0', 'prev_epoch': '+0',"
  "   'commit_index': '+2', 'hb_seq': 0, 'entries': ["
  "     {'index': '+1', 'epoch': '+100', 'kind': 'command', 'op': 'transition',"
  "      'machine': 'job', 'to': 'Stopped'},"
  "     {'index': '+2', 'epoch': '+100', 'kind': 'noop'}]}},"
  " {'attack': 'replay', 'count': 7, 'window_ms': 300},"
  " {'attack': 'replay', 'to': 3},"
  " {'attack': 'spoof', 'to': 2, 'as': 99, 'cluster': 'other', 'message': {"
  "   'type': 'vote_request', 'from': 98, 'epoch': '-1', 'pre_vote': false,"
  "   'last_index': 5, 'last_epoch': '+0'}}]}";

static void
test_every_key_attacks (void)
{
  g_autoptr(DsmScenario) s = load_ok (attack_scenario);
  const DsmStep *forge = s->steps->pdata[0], *replay = s->steps->pdata[1];
  const DsmStep *replay_to = s->steps->pdata[2], *spoof = s->steps->pdata[3];
  const DsmAttackBase base = { .epoch = 7, .last_index = 40, .last_epoch = 6 };
  g_autoptr(GError) error = NULL;

  g_test_summary ("Attack steps read every key, write back canonically, and their templates "
                  "count \"+N\" from the receiver's epoch, last index and last epoch.");
  g_assert_cmpint (forge->kind, ==, DSM_STEP_FORGE);
  g_assert_cmpstr (dsm_step_kind_to_string (forge->kind), ==, "forge");
  g_assert_cmpint (forge->target.kind, ==, DSM_TARGET_FOLLOWER);
  g_assert_cmpint (forge->target_as.kind, ==, DSM_TARGET_LEADER);
  g_assert_cmpint (replay->kind, ==, DSM_STEP_REPLAY);
  g_assert_cmpint (replay->target.kind, ==, DSM_TARGET_ALL);
  g_assert_cmpuint (replay->count, ==, 7);
  g_assert_cmpuint (replay->window_ms, ==, 300);
  g_assert_cmpuint (replay_to->count, ==, 1);
  g_assert_cmpuint (replay_to->target.id, ==, 3);
  g_assert_cmpint (spoof->kind, ==, DSM_STEP_SPOOF);
  g_assert_cmpuint (spoof->target_as.id, ==, 99);
  g_assert_cmpstr (spoof->cluster, ==, "other");
  assert_round_trip (s);

  g_autoptr(DsmMessage) proposal = dsm_scenario_attack_message (forge->message, &base, 1, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (proposal->type, ==, DSM_MSG_PROPOSAL);
  g_assert_cmpuint (proposal->from, ==, 1);
  g_assert_cmpuint (proposal->to, ==, 2);
  g_assert_cmpuint (proposal->epoch, ==, 107);
  g_assert_cmpuint (proposal->prev_index, ==, 40);
  g_assert_cmpuint (proposal->prev_epoch, ==, 6);
  g_assert_cmpuint (proposal->commit_index, ==, 42);
  g_assert_cmpuint (proposal->entries->len, ==, 2);
  const DsmEntry *first = proposal->entries->pdata[0];
  g_assert_cmpuint (first->index, ==, 41);
  g_assert_cmpuint (first->epoch, ==, 107);
  g_assert_cmpstr (first->cmd.to, ==, "Stopped");

  /* "from" given is the claim; "-1" counts down. */
  g_autoptr(DsmMessage) vote = dsm_scenario_attack_message (spoof->message, &base, 99, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (vote->from, ==, 98);
  g_assert_cmpuint (vote->epoch, ==, 6);
  g_assert_cmpuint (vote->last_epoch, ==, 6);

  /* Below 0 is no message: the run says so instead of injecting. */
  const DsmAttackBase zero = { 0 };
  g_autoptr(DsmMessage) none = dsm_scenario_attack_message (spoof->message, &zero, 99, 2, &error);
  g_assert_null (none);
  g_assert_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_RANGE);
  g_assert_nonnull (strstr (error->message, "epoch: \"-1\" from 0 is below 0"));
}

static void
test_round_trip (void)
{
  g_autoptr(DsmScenario) full = load_ok (full_scenario);
  g_autoptr(DsmScenario) minimal = load_ok ("{" HEAD "}");
  g_autofree char *text = dsm_scenario_to_json (full);

  g_test_summary ("to_json writes canonical JSON that reads back to the same text.");
  assert_round_trip (full);
  assert_round_trip (minimal);
  /* Shortest numbers, every key explicit, comments gone. */
  g_assert_nonnull (strstr (text, "\"rate\": 0.7 "));
  g_assert_nonnull (strstr (text, "\"rate_per_s\": 12.5,"));
  g_assert_nonnull (strstr (text, "\"groups\": [[1, 2], [3, 4], [5, 6, 7]]"));
  g_assert_nonnull (strstr (text, "\"invariants\": [\"agreement\", \"liveness\"]"));
  g_assert_nonnull (strstr (text, "\"snapshot_threshold_entries\": 50"));
  g_assert_null (strstr (text, "comment"));
  g_assert_true (g_str_has_suffix (text, "}\n"));
}

static void
test_round_trip_defaults_explicit (void)
{
  g_autoptr(DsmScenario) s = load_ok (
    "{" HEAD ", 'steps': [{'do': 'propose', 'machine': 'm', 'to': 'Running', 'expect': 'ok'}]}");
  g_autofree char *text = dsm_scenario_to_json (s);

  g_test_summary ("Canonical JSON writes defaults out, so a reader needs no docs.");
  g_assert_nonnull (strstr (text, "\"leader_within_ms\": 1500"));
  g_assert_nonnull (strstr (text, "\"latency_ms_max\": 10"));
  g_assert_nonnull (strstr (text, "\"heartbeat_ms\": 50"));
  g_assert_nonnull (strstr (text, "\"after_ms\": 0,"));
  g_assert_nonnull (strstr (text, "\"node\": \"random\","));
  g_assert_nonnull (strstr (text, "\"from\": null,"));
  g_assert_nonnull (strstr (text, "\"within_ms\": 3000\n"));
  g_assert_nonnull (strstr (text, "\"invariants\": \"all\""));
  /* Whole numbers without an exponent: 50, not 5e+01 or 50.0. */
  g_assert_nonnull (strstr (text, "\"rate_per_s\": 50,"));
  g_assert_nonnull (strstr (s->json, "\"rate_per_s\":50,"));
}

static void
test_copy (void)
{
  g_autoptr(DsmScenario) s = load_ok (full_scenario);
  g_autoptr(DsmScenario) copy = dsm_scenario_copy (s);
  g_autofree char *before = dsm_scenario_to_json (s);
  g_autofree char *copied = dsm_scenario_to_json (copy);
  g_autofree char *after = NULL;
  DsmStep *step;

  g_test_summary ("A copy is deep: the shrinker edits one without touching the other.");
  g_assert_cmpstr (before, ==, copied);
  g_assert_cmpstr (s->json, ==, copy->json);
  g_assert_true (copy->config != s->config);

  /* Edit the copy the way the shrinker does. */
  g_ptr_array_remove_index (copy->steps, 24);
  step = g_ptr_array_index (copy->steps, 3);
  g_array_set_size (g_ptr_array_index (step->groups, 0), 1);
  g_array_append_val (g_ptr_array_index (step->groups, 2), (DsmNodeId) { 2 });
  step = g_ptr_array_index (copy->steps, 14);
  g_free (step->cmd.machine);
  step->cmd.machine = g_strdup ("other");
  g_hash_table_remove_all (copy->expect.final_states);
  copy->config->heartbeat_ms = 30;
  copy->seed = 42;
  dsm_scenario_update_json (copy);

  after = dsm_scenario_to_json (s);
  g_assert_cmpstr (before, ==, after);
  g_assert_cmpstr (copy->json, !=, s->json);
  g_assert_nonnull (strstr (copy->json, "\"seed\":42,"));
  g_assert_nonnull (strstr (copy->json, "\"machine\":\"other\""));
  assert_round_trip (copy);
}

/* ---- names and files ---- */

static void
test_name (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = json_text ("{" HEAD "}");
  g_autoptr(DsmScenario) from_path = dsm_scenario_new_from_data (text, -1, "dir/leader-crash.json",
                                                                 &error);
  g_autoptr(DsmScenario) unnamed = dsm_scenario_new_from_data (text, -1, NULL, &error);
  g_autoptr(DsmScenario) named = load_ok ("{'name': 'mine', " HEAD "}");

  g_test_summary ("The name defaults to the file's base name without .json.");
  g_assert_no_error (error);
  g_assert_cmpstr (from_path->name, ==, "leader-crash");
  g_assert_cmpstr (unnamed->name, ==, "scenario");
  g_assert_cmpstr (named->name, ==, "mine");
}

static void
test_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *folder = g_dir_make_tmp ("dsm-scenario-XXXXXX", &error);
  g_autofree char *defs = NULL;
  g_autofree char *path = NULL;
  g_autofree char *missing = NULL;
  g_autofree char *text = json_text (
    "{" HEAD ", 'cluster': {'definitions': ['door.json']},"
    " 'steps': [{'do': 'propose', 'machine': 'd', 'to': 'Open', 'definition': 'door'}]}");
  g_autofree char *door = json_text (
    "{'name': 'door', 'states': ['Closed', 'Open'], 'initial': 'Closed',"
    " 'transitions': [{'from': 'Closed', 'to': 'Open'}]}");
  g_autoptr(DsmScenario) s = NULL;
  g_autoptr(DsmScenario) inlined = NULL;

  g_test_summary ("Files load with their path, definitions next to them (parsed strictly), "
                  "errors naming the file.");
  g_assert_no_error (error);
  defs = g_build_filename (folder, "door.json", NULL);
  path = g_build_filename (folder, "with-door.json", NULL);
  missing = g_build_filename (folder, "missing.json", NULL);
  g_assert_true (g_file_set_contents (defs, door, -1, NULL));
  g_assert_true (g_file_set_contents (path, text, -1, NULL));

  s = dsm_scenario_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s->path, ==, path);
  g_assert_cmpstr (s->name, ==, "with-door");
  g_assert_nonnull (dsm_config_find_definition (s->config, "door"));
  /* Canonical JSON inlines the definition: replay needs no other file. */
  inlined = dsm_scenario_new_from_data (s->json, -1, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (dsm_config_find_definition (inlined->config, "door"));

  /* From text there is no folder to load definitions from. */
  g_clear_pointer (&s, dsm_scenario_free);
  s = dsm_scenario_new_from_data (text, -1, "text.json", &error);
  g_assert_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "text.json: cluster.definitions[0]"));
  g_clear_error (&error);

  s = dsm_scenario_new_from_file (missing, &error);
  g_assert_null (s);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_true (g_str_has_prefix (error->message, missing));
  g_clear_error (&error);

  /* A definition file is read as strictly as a config: a key given twice
   * is refused, naming the file and where. */
  g_assert_true (g_file_set_contents (defs, "{\"name\": \"door\", \"name\": \"gate\"}", -1, NULL));
  s = dsm_scenario_new_from_file (path, &error);
  g_assert_null (s);
  g_assert_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, defs));
  g_assert_nonnull (strstr (error->message, "name: duplicate key"));
  g_clear_error (&error);

  /* A missing definition file keeps its domain, with the path of the key. */
  g_assert_no_errno (g_remove (defs));
  s = dsm_scenario_new_from_file (path, &error);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_nonnull (strstr (error->message, ": cluster.definitions[0]"));
  g_clear_error (&error);

  g_assert_no_errno (g_remove (path));
  g_assert_no_errno (g_rmdir (folder));
}

static void
test_comments (void)
{
  g_autoptr(DsmScenario) s = load_ok (
    "{'comment': 'top', " HEAD ", 'network': {'comment': 'n'}, 'disk': {'comment': 'd'},"
    " 'workload': {'comment': 'w'}, 'cluster': {'comment': 'c'},"
    " 'steps': [{'comment': {'any': 'value'}, 'do': 'heal'}],"
    " 'expect': {'comment': 'e', 'final_states': {'comment': 1, 'job': 'Running'}}}");

  g_test_summary ("\"comment\" is allowed in every object, whatever its value.");
  g_assert_cmpuint (s->steps->len, ==, 1);
  g_assert_cmpuint (g_hash_table_size (s->expect.final_states), ==, 1);
}

/* ---- bad files ---- */

typedef struct {
  const char *what;
  const char *text;           /* single-quoted JSON */
  DsmScenarioError code;
  const char *path;           /* the message names it, after the file name */
} BadCase;

#define STEPS(...) "{" HEAD ", 'steps': [" __VA_ARGS__ "]}"

static const BadCase bad_cases[] = {
  /* The document. */
  { "not JSON", "{'summary': ", DSM_SCENARIO_ERROR_PARSE, "byte 12: unexpected end of input" },
  { "empty", "", DSM_SCENARIO_ERROR_PARSE, "input: empty" },
  { "array root", "[1, 2]", DSM_SCENARIO_ERROR_TYPE, "(root)" },
  { "trailing value", "{" HEAD "} {}", DSM_SCENARIO_ERROR_PARSE, "trailing data after the JSON value" },
  { "duplicate key", "{" HEAD ", 'seed': 2}", DSM_SCENARIO_ERROR_PARSE, "seed: duplicate key" },
  /* The top level. */
  { "missing seed", "{'summary': 'x', 'nodes': 3}", DSM_SCENARIO_ERROR_MISSING, "seed:" },
  { "seed as string", "{'summary': 'x', 'seed': '7', 'nodes': 3}", DSM_SCENARIO_ERROR_TYPE,
    "seed:" },
  { "negative seed", "{'summary': 'x', 'seed': -7, 'nodes': 3}", DSM_SCENARIO_ERROR_RANGE,
    "seed:" },
  { "seed past 2^63", "{'summary': 'x', 'seed': 18446744073709551615, 'nodes': 3}",
    DSM_SCENARIO_ERROR_RANGE, "seed:" },
  { "nodes 0", "{'summary': 'x', 'seed': 1, 'nodes': 0}", DSM_SCENARIO_ERROR_RANGE, "nodes:" },
  { "nodes 52", "{'summary': 'x', 'seed': 1, 'nodes': 52}", DSM_SCENARIO_ERROR_RANGE, "nodes:" },
  { "missing summary", "{'seed': 1, 'nodes': 3}", DSM_SCENARIO_ERROR_MISSING, "summary:" },
  { "empty summary", "{'summary': ' ', 'seed': 1, 'nodes': 3}", DSM_SCENARIO_ERROR_INVALID,
    "summary:" },
  { "empty name", "{'name': '', " HEAD "}", DSM_SCENARIO_ERROR_INVALID, "name:" },
  { "unknown top-level key", "{" HEAD ", 'stesp': []}", DSM_SCENARIO_ERROR_UNKNOWN,
    "stesp: unknown key (did you mean \"steps\"?)" },
  /* Sections. */
  { "typo in network key", "{" HEAD ", 'network': {'latency_ms_mx': 5}}",
    DSM_SCENARIO_ERROR_UNKNOWN, "network.latency_ms_mx:" },
  { "latency min > max", "{" HEAD ", 'network': {'latency_ms_min': 30, 'latency_ms_max': 20}}",
    DSM_SCENARIO_ERROR_INVALID, "network.latency_ms_min: 30 must be <= latency_ms_max (20)" },
  { "loss 101", "{" HEAD ", 'network': {'loss_percent': 101}}", DSM_SCENARIO_ERROR_RANGE,
    "network.loss_percent:" },
  { "network not an object", "{" HEAD ", 'network': []}", DSM_SCENARIO_ERROR_TYPE,
    "network:" },
  { "fsync min > max", "{" HEAD ", 'disk': {'fsync_ms_min': 5, 'fsync_ms_max': 1}}",
    DSM_SCENARIO_ERROR_INVALID, "disk.fsync_ms_min:" },
  { "cluster key typo", "{" HEAD ", 'cluster': {'heartbeat': 20}}", DSM_SCENARIO_ERROR_UNKNOWN,
    "cluster.heartbeat: unknown key (did you mean \"heartbeat_ms\"?)" },
  { "cluster value refused by the config",
    "{" HEAD ", 'cluster': {'election_timeout_ms_min': 400}}", DSM_SCENARIO_ERROR_INVALID,
    "cluster.election_timeout_ms_min:" },
  { "cluster value of the wrong type", "{" HEAD ", 'cluster': {'heartbeat_ms': 'fast'}}",
    DSM_SCENARIO_ERROR_TYPE, "cluster.heartbeat_ms:" },
  { "cluster nodes", "{" HEAD ", 'cluster': {'nodes': 3}}", DSM_SCENARIO_ERROR_UNKNOWN,
    "cluster.nodes:" },
  { "workload clients without duration_ms", "{" HEAD ", 'workload': {'clients': 2}}",
    DSM_SCENARIO_ERROR_MISSING, "workload.duration_ms:" },
  { "workload unknown definition",
    "{" HEAD ", 'workload': {'definition': 'door'}}", DSM_SCENARIO_ERROR_INVALID,
    "workload.definition:" },
  { "workload bad target", "{" HEAD ", 'workload': {'target': 'any'}}",
    DSM_SCENARIO_ERROR_UNKNOWN, "workload.target:" },
  { "workload idempotent not a boolean", "{" HEAD ", 'workload': {'idempotent': 1}}",
    DSM_SCENARIO_ERROR_TYPE, "workload.idempotent:" },
  { "bad invariant name", "{" HEAD ", 'expect': {'invariants': ['agreement', 'safety']}}",
    DSM_SCENARIO_ERROR_UNKNOWN, "expect.invariants[1]:" },
  { "invariant twice", "{" HEAD ", 'expect': {'invariants': ['liveness', 'liveness']}}",
    DSM_SCENARIO_ERROR_INVALID, "expect.invariants[1]:" },
  { "invariants a number", "{" HEAD ", 'expect': {'invariants': 3}}", DSM_SCENARIO_ERROR_TYPE,
    "expect.invariants:" },
  { "final_states non-string value", "{" HEAD ", 'expect': {'final_states': {'m0': 1}}}",
    DSM_SCENARIO_ERROR_TYPE, "expect.final_states.m0:" },
  { "min_elections > max_elections",
    "{" HEAD ", 'expect': {'min_elections': 5, 'max_elections': 3}}",
    DSM_SCENARIO_ERROR_INVALID, "expect.min_elections:" },
  { "settle_ms 0", "{" HEAD ", 'expect': {'settle_ms': 0}}", DSM_SCENARIO_ERROR_RANGE,
    "expect.settle_ms:" },
  /* Steps: shape and timing. */
  { "steps not an array", "{" HEAD ", 'steps': {}}", DSM_SCENARIO_ERROR_TYPE, "steps:" },
  { "step not an object", STEPS ("'heal'"), DSM_SCENARIO_ERROR_TYPE, "steps[0]:" },
  { "unknown step kind", STEPS ("{'do': 'explode'}"), DSM_SCENARIO_ERROR_UNKNOWN,
    "steps[0].do:" },
  { "step kind a number", STEPS ("{'do': 3}"), DSM_SCENARIO_ERROR_TYPE, "steps[0].do:" },
  { "unknown await", STEPS ("{'await': 'leaders', 'within_ms': 5}"), DSM_SCENARIO_ERROR_UNKNOWN,
    "steps[0].await:" },
  { "expect of an await-only condition", STEPS ("{'expect': 'caught_up'}"),
    DSM_SCENARIO_ERROR_UNKNOWN, "steps[0].expect:" },
  { "step with both do and await", STEPS ("{'do': 'heal', 'await': 'leader', 'within_ms': 5}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0]:" },
  { "step without do, await or expect", STEPS ("{'node': 1}"), DSM_SCENARIO_ERROR_MISSING,
    "steps[0]:" },
  { "at_ms going back in time",
    STEPS ("{'do': 'heal', 'at_ms': 2000}, {'do': 'heal', 'at_ms': 1000}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[1].at_ms: 1000 goes back in time (steps[0].at_ms is 2000)" },
  { "at_ms and after_ms together", STEPS ("{'do': 'heal', 'at_ms': 5, 'after_ms': 5}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].after_ms:" },
  { "a key of another step kind", STEPS ("{'do': 'crash', 'node': 1, 'percent': 5}"),
    DSM_SCENARIO_ERROR_UNKNOWN, "steps[0].percent: not a key of {\"do\": \"crash\"}" },
  { "a typo in a step key", STEPS ("{'do': 'loss', 'precent': 5}"), DSM_SCENARIO_ERROR_UNKNOWN,
    "steps[0].precent: unknown key (did you mean \"percent\"?)" },
  /* Steps: nodes. */
  { "crash of node 9 in a 5-node cluster", STEPS ("{'do': 'crash', 'node': 9}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].node: no node 9 in a 5-node cluster" },
  { "bad node selector", STEPS ("{'do': 'crash', 'node': 'lead'}"), DSM_SCENARIO_ERROR_UNKNOWN,
    "steps[0].node: expected a node id, \"leader\", \"follower\", \"random\" or \"all\", "
    "found \"lead\"" },
  { "node selector true", STEPS ("{'do': 'isolate', 'node': true}"), DSM_SCENARIO_ERROR_TYPE,
    "steps[0].node:" },
  { "restart of the leader", STEPS ("{'do': 'restart', 'node': 'leader'}"),
    DSM_SCENARIO_ERROR_UNKNOWN, "steps[0].node: expected a node id or \"all\"" },
  { "room again for the leader", STEPS ("{'do': 'disk_space_restored', 'node': 'leader'}"),
    DSM_SCENARIO_ERROR_UNKNOWN, "steps[0].node: expected a node id or \"all\"" },
  { "disk_full without node", STEPS ("{'do': 'disk_full'}"), DSM_SCENARIO_ERROR_MISSING,
    "steps[0].node:" },
  { "disk_full with a fault", STEPS ("{'do': 'disk_full', 'node': 1, 'fault': 'torn_write'}"),
    DSM_SCENARIO_ERROR_UNKNOWN, "steps[0].fault: not a key of {\"do\": \"disk_full\"}" },
  { "isolate all", STEPS ("{'do': 'isolate', 'node': 'all'}"), DSM_SCENARIO_ERROR_UNKNOWN,
    "steps[0].node:" },
  { "crash without node", STEPS ("{'do': 'crash'}"), DSM_SCENARIO_ERROR_MISSING,
    "steps[0].node:" },
  { "partition with an unknown id", STEPS ("{'do': 'partition', 'groups': [[1, 6]]}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].groups[0][1]:" },
  { "partition listing an id twice", STEPS ("{'do': 'partition', 'groups': [[1, 2], [2]]}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].groups[1][0]: node 2 is listed twice" },
  { "partition of one whole group",
    STEPS ("{'do': 'partition', 'groups': [[1, 2, 3, 4, 5]]}"), DSM_SCENARIO_ERROR_INVALID,
    "steps[0].groups:" },
  { "partition with an empty group", STEPS ("{'do': 'partition', 'groups': [[]]}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].groups[0]:" },
  { "cut without to", STEPS ("{'do': 'cut', 'from': 1}"), DSM_SCENARIO_ERROR_MISSING,
    "steps[0].to:" },
  { "cut of a node from itself", STEPS ("{'do': 'cut', 'from': 2, 'to': 2}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].to:" },
  { "cut of an unknown message type", STEPS ("{'do': 'cut', 'from': 1, 'to': 2, 'messages': ['gossip']}"),
    DSM_SCENARIO_ERROR_UNKNOWN, "steps[0].messages[0]: expected a message type (vote_request, vote, proposal" },
  { "cut of a message type not a string", STEPS ("{'do': 'cut', 'from': 1, 'to': 2, 'messages': [3]}"),
    DSM_SCENARIO_ERROR_TYPE, "steps[0].messages[0]: expected a message type" },
  { "cut of a message type twice", STEPS ("{'do': 'cut', 'from': 1, 'to': 2, 'messages': ['ack', 'ack']}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].messages[1]: \"ack\" is listed twice" },
  { "cut of no message type", STEPS ("{'do': 'cut', 'from': 1, 'to': 2, 'messages': []}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].messages: empty" },
  { "cut of message types not a list", STEPS ("{'do': 'cut', 'from': 1, 'to': 2, 'messages': 'ack'}"),
    DSM_SCENARIO_ERROR_TYPE, "steps[0].messages: expected an array of message types" },
  { "expect state on node 7 of 5",
    STEPS ("{'expect': 'state', 'machine': 'm', 'state': 'S', 'on': 7}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].on:" },
  { "expect state on nobody",
    STEPS ("{'expect': 'state', 'machine': 'm', 'state': 'S', 'on': 'nobody'}"),
    DSM_SCENARIO_ERROR_UNKNOWN, "steps[0].on:" },
  /* Steps: values. */
  { "skew rate 5", STEPS ("{'do': 'skew', 'node': 1, 'rate': 5}"), DSM_SCENARIO_ERROR_RANGE,
    "steps[0].rate:" },
  { "pause without ms", STEPS ("{'do': 'pause', 'node': 1}"), DSM_SCENARIO_ERROR_MISSING,
    "steps[0].ms:" },
  { "pause of 0 ms", STEPS ("{'do': 'pause', 'node': 1, 'ms': 0}"), DSM_SCENARIO_ERROR_RANGE,
    "steps[0].ms:" },
  { "pause past 10 minutes", STEPS ("{'do': 'pause', 'node': 1, 'ms': 600001}"), DSM_SCENARIO_ERROR_RANGE,
    "steps[0].ms:" },
  { "pause without node", STEPS ("{'do': 'pause', 'ms': 10}"), DSM_SCENARIO_ERROR_MISSING,
    "steps[0].node:" },
  { "loss percent 5.5", STEPS ("{'do': 'loss', 'percent': 5.5}"), DSM_SCENARIO_ERROR_TYPE,
    "steps[0].percent:" },
  { "bad corrupt mode", STEPS ("{'do': 'corrupt', 'percent': 5, 'mode': 'shred'}"),
    DSM_SCENARIO_ERROR_UNKNOWN, "steps[0].mode:" },
  { "bad disk fault", STEPS ("{'do': 'disk', 'node': 1, 'fault': 'fire'}"),
    DSM_SCENARIO_ERROR_UNKNOWN, "steps[0].fault:" },
  { "propose without machine", STEPS ("{'do': 'propose', 'to': 'Running'}"),
    DSM_SCENARIO_ERROR_MISSING, "steps[0].machine:" },
  { "propose without to", STEPS ("{'do': 'propose', 'machine': 'm'}"),
    DSM_SCENARIO_ERROR_MISSING, "steps[0].to:" },
  { "propose with an unknown definition",
    STEPS ("{'do': 'propose', 'machine': 'm', 'to': 'Open', 'definition': 'door'}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].definition:" },
  { "propose with a control character in machine",
    STEPS ("{'do': 'propose', 'machine': 'a\\u0001b', 'to': 'Running'}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].machine:" },
  { "propose to the machine ..",
    STEPS ("{'do': 'propose', 'machine': '..', 'to': 'Running'}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].machine: \"..\" is not a machine name" },
  { "expect state of the machine .",
    STEPS ("{'expect': 'state', 'machine': '.', 'state': 'Running'}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].machine: \".\" is not a machine name" },
  { "propose with a bad expected reply",
    STEPS ("{'do': 'propose', 'machine': 'm', 'to': 'Running', 'expect': 'maybe'}"),
    DSM_SCENARIO_ERROR_UNKNOWN, "steps[0].expect:" },
  { "within_ms without expect",
    STEPS ("{'do': 'propose', 'machine': 'm', 'to': 'Running', 'within_ms': 5}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].within_ms:" },
  { "seq without client_id",
    STEPS ("{'do': 'propose', 'machine': 'm', 'to': 'Running', 'seq': 5}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].seq:" },
  { "read with to", STEPS ("{'do': 'read', 'machine': 'm', 'to': 'Running'}"),
    DSM_SCENARIO_ERROR_UNKNOWN, "steps[0].to: not a key of {\"do\": \"read\"}" },
  { "await without within_ms", STEPS ("{'await': 'leader'}"), DSM_SCENARIO_ERROR_MISSING,
    "steps[0].within_ms:" },
  { "await committed without state",
    STEPS ("{'await': 'committed', 'machine': 'm', 'within_ms': 5}"),
    DSM_SCENARIO_ERROR_MISSING, "steps[0].state:" },
  { "expect state without machine", STEPS ("{'expect': 'state', 'state': 'Running'}"),
    DSM_SCENARIO_ERROR_MISSING, "steps[0].machine:" },
  { "expect leader with within_ms", STEPS ("{'expect': 'leader', 'within_ms': 5}"),
    DSM_SCENARIO_ERROR_UNKNOWN, "steps[0].within_ms: not a key of {\"expect\": \"leader\"}" },
  /* Attacks (docs/SCENARIOS.md, "Attacks"). */
  { "attack and do in one step", STEPS ("{'attack': 'replay', 'do': 'heal'}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0]:" },
  { "unknown attack", STEPS ("{'attack': 'flood'}"), DSM_SCENARIO_ERROR_UNKNOWN,
    "steps[0].attack: expected one of forge, replay, spoof" },
  { "forge without message", STEPS ("{'attack': 'forge', 'to': 1, 'as': 2}"),
    DSM_SCENARIO_ERROR_MISSING, "steps[0].message:" },
  { "forge without as",
    STEPS ("{'attack': 'forge', 'to': 1, 'message': {'type': 'commit', 'epoch': 1, "
           "'commit_index': 1, 'hb_seq': 0}}"),
    DSM_SCENARIO_ERROR_MISSING, "steps[0].as:" },
  { "forge on a node's link to itself",
    STEPS ("{'attack': 'forge', 'to': 2, 'as': 2, 'message': {'type': 'commit', 'epoch': 1, "
           "'commit_index': 1, 'hb_seq': 0}}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].as: node 2 has no link to itself" },
  { "forge as a node the cluster lacks",
    STEPS ("{'attack': 'forge', 'to': 1, 'as': 9, 'message': {'type': 'commit', 'epoch': 1, "
           "'commit_index': 1, 'hb_seq': 0}}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].as:" },
  { "relative number misspelt",
    STEPS ("{'attack': 'forge', 'to': 1, 'as': 2, 'message': {'type': 'commit', "
           "'epoch': '100+', 'commit_index': 1, 'hb_seq': 0}}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].message: epoch: expected a number or \"+N\"" },
  { "relative entry index misspelt",
    STEPS ("{'attack': 'forge', 'to': 1, 'as': 2, 'message': {'type': 'proposal', "
           "'epoch': 1, 'prev_index': 0, 'prev_epoch': 0, 'commit_index': 0, 'hb_seq': 0, "
           "'entries': [{'index': 'next', 'epoch': 1, 'kind': 'noop'}]}}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].message: entries[0].index:" },
  { "message the codec refuses",
    STEPS ("{'attack': 'forge', 'to': 1, 'as': 2, 'message': {'type': 'gossip', 'epoch': 1}}"),
    DSM_SCENARIO_ERROR_INVALID, "steps[0].message:" },
  { "message not an object", STEPS ("{'attack': 'spoof', 'to': 1, 'as': 99, 'message': 5}"),
    DSM_SCENARIO_ERROR_TYPE, "steps[0].message:" },
  { "replay of no frames", STEPS ("{'attack': 'replay', 'count': 0}"),
    DSM_SCENARIO_ERROR_RANGE, "steps[0].count:" },
  { "spoof with a replay's key",
    STEPS ("{'attack': 'spoof', 'to': 1, 'as': 99, 'window_ms': 5, 'message': {'type': "
           "'commit', 'epoch': 1, 'commit_index': 1, 'hb_seq': 0}}"),
    DSM_SCENARIO_ERROR_UNKNOWN, "steps[0].window_ms: not a key of {\"attack\": \"spoof\"}" },
  { "error deep in the list",
    STEPS ("{'do': 'heal'}, {'do': 'heal'}, {'do': 'wait', 'ms': -1}"),
    DSM_SCENARIO_ERROR_RANGE, "steps[2].ms:" },
};

static void
test_bad (gconstpointer data)
{
  const BadCase *bad = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = json_text (bad->text);
  g_autoptr(DsmScenario) s = dsm_scenario_new_from_data (text, -1, "bad.json", &error);
  g_autofree char *prefix = NULL;

  g_test_summary ("A bad file fails with its error code and a message naming the field.");
  g_assert_null (s);
  g_assert_error (error, DSM_SCENARIO_ERROR, (gint) bad->code);
  g_test_message ("%s -> %s", bad->what, error->message);
  g_assert_true (g_str_has_prefix (error->message, "bad.json: "));
  g_assert_nonnull (strstr (error->message, bad->path));
  /* The path comes first, right after the file name, unless the parser
   * only knows a line. */
  prefix = g_strconcat ("bad.json: ", bad->path, NULL);
  if (bad->code != DSM_SCENARIO_ERROR_PARSE)
    g_assert_true (g_str_has_prefix (error->message, prefix));
}

/* Every prefix of a valid file, and every file with one byte damaged,
 * either loads or fails cleanly: never an abort, never a leak. */
static void
test_damage_never_aborts (void)
{
  g_autofree char *text = json_text (full_scenario);
  gsize length = strlen (text);
  g_autoptr(GRand) rand = g_rand_new_with_seed (17);

  g_test_summary ("Truncated or damaged files fail with an error, never an abort.");
  for (gsize cut = 0; cut < length; cut += 7)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DsmScenario) s = dsm_scenario_new_from_data (text, (gssize) cut, "cut.json",
                                                             &error);

      g_assert_true ((s == NULL) != (error == NULL));
    }
  for (guint round = 0; round < 2000; round++)
    {
      static const char noise[] = "{}[]\",:0123456789-.eE ntfa'x\\";
      g_autofree char *damaged = g_strdup (text);
      g_autoptr(GError) error = NULL;
      g_autoptr(DsmScenario) s = NULL;

      damaged[g_rand_int_range (rand, 0, (gint32) length)] =
        noise[g_rand_int_range (rand, 0, sizeof noise - 1)];
      s = dsm_scenario_new_from_data (damaged, -1, "damaged.json", &error);
      g_assert_true ((s == NULL) != (error == NULL));
      if (s != NULL)
        assert_round_trip (s);
      else
        g_assert_true (error->domain == DSM_SCENARIO_ERROR);
    }
}

/* ---- the bundled scenarios ---- */

static void
test_bundled (gconstpointer data)
{
  const char *path = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmScenario) s = dsm_scenario_new_from_file (path, &error);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  g_test_summary ("A bundled scenario parses, is named after its file, and tells a short "
                  "story.");
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (base, ".json"));
  base[strlen (base) - strlen (".json")] = '\0';
  g_assert_cmpstr (s->name, ==, base);
  g_assert_cmpuint (s->config->n_nodes, <=, 7);
  g_assert_cmpuint (s->steps->len, >, 0);
  g_assert_cmpfloat (s->workload.rate_per_s * (s->workload.clients > 0), <=, 200);
  assert_round_trip (s);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), <=, 46);
}

static GPtrArray *
bundled_paths (void)
{
  g_autoptr(GDir) dir = g_dir_open (DSM_SCENARIOS_DIR, 0, NULL);
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".json"))
      g_ptr_array_add (paths, g_build_filename (DSM_SCENARIOS_DIR, name, NULL));
  g_ptr_array_sort (paths, (GCompareFunc) g_strcmp0);
  return paths;
}

static void
test_bundled_count (gconstpointer data)
{
  const GPtrArray *paths = data;

  g_test_summary ("The project ships at least 16 scenarios.");
  g_assert_cmpuint (paths->len, >=, 16);
}

/* ---- the documentation ---- */

/* Steps shown alone in docs/SCENARIOS.md run inside this scenario. */
#define DOC_STEP_HOST                                                               \
  "{'summary': 'Hosts a step of the docs.', 'seed': 1, 'nodes': 5,"                 \
  " 'cluster': {'definitions': [{'name': 'door', 'states': ['Closed', 'Open'],"     \
  "   'initial': 'Closed', 'transitions': [{'from': 'Closed', 'to': 'Open'}]}]},"   \
  " 'steps': ["

static void
test_doc_examples (void)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) blocks = NULL;
  guint n_scenarios = 0, n_steps = 0;

  g_test_summary ("Every JSON example of docs/SCENARIOS.md reads: whole scenarios as they "
                  "are, one-line steps inside a host scenario.");
  g_assert_true (g_file_get_contents (DSM_SCENARIOS_DOC, &text, NULL, NULL));
  blocks = g_strsplit (text, "```json\n", -1);
  for (guint i = 1; blocks[i] != NULL; i++)
    {
      g_autofree char *block = g_strndup (blocks[i], strstr (blocks[i], "```") - blocks[i]);
      g_auto(GStrv) lines = NULL;

      if (strstr (block, "\"summary\"") != NULL)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(DsmScenario) s = dsm_scenario_new_from_data (block, -1, "doc.json", &error);

          g_assert_no_error (error);
          g_assert_nonnull (s);
          n_scenarios++;
          continue;
        }
      lines = g_strsplit (block, "\n", -1);
      for (guint k = 0; lines[k] != NULL; k++)
        {
          g_autofree char *head = json_text (DOC_STEP_HOST);
          g_autofree char *scenario = NULL;
          g_autoptr(GError) error = NULL;
          g_autoptr(DsmScenario) s = NULL;

          if (*lines[k] == '\0')
            continue;
          scenario = g_strconcat (head, lines[k], "]}", NULL);
          s = dsm_scenario_new_from_data (scenario, -1, "doc-step.json", &error);
          g_assert_no_error (error);
          n_steps++;
        }
    }
  g_assert_cmpuint (n_scenarios, >=, 2);
  g_assert_cmpuint (n_steps, >=, 10);
}

int
main (int argc, char **argv)
{
  g_autoptr(GPtrArray) paths = NULL;
  int result;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/scenario/defaults", test_defaults);
  g_test_add_func ("/scenario/defaults-from-config", test_defaults_from_config);
  g_test_add_func ("/scenario/step-defaults", test_step_defaults);
  g_test_add_func ("/scenario/every-key/top-level", test_every_key_top);
  g_test_add_func ("/scenario/every-key/faults", test_every_key_faults);
  g_test_add_func ("/scenario/every-key/clients-and-conditions", test_every_key_clients);
  g_test_add_func ("/scenario/every-key/attacks", test_every_key_attacks);
  g_test_add_func ("/scenario/round-trip", test_round_trip);
  g_test_add_func ("/scenario/round-trip/defaults-explicit",
                   test_round_trip_defaults_explicit);
  g_test_add_func ("/scenario/copy", test_copy);
  g_test_add_func ("/scenario/name", test_name);
  g_test_add_func ("/scenario/file", test_file);
  g_test_add_func ("/scenario/comments", test_comments);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *what = g_strdup (bad_cases[i].what);
      g_autofree char *test_path = NULL;

      g_strcanon (what, G_CSET_a_2_z G_CSET_A_2_Z G_CSET_DIGITS "-", '-');
      test_path = g_strdup_printf ("/scenario/bad/%s", what);

      g_test_add_data_func (test_path, &bad_cases[i], test_bad);
    }
  g_test_add_func ("/scenario/damage-never-aborts", test_damage_never_aborts);
  g_test_add_func ("/scenario/doc-examples", test_doc_examples);

  paths = bundled_paths ();
  g_test_add_data_func ("/scenario/bundled/count", paths, test_bundled_count);
  for (guint i = 0; i < paths->len; i++)
    {
      g_autofree char *base = g_path_get_basename (g_ptr_array_index (paths, i));
      g_autofree char *test_path = NULL;

      base[strlen (base) - strlen (".json")] = '\0';
      test_path = g_strdup_printf ("/scenario/bundled/%s", base);
      g_test_add_data_func (test_path, g_ptr_array_index (paths, i), test_bundled);
    }
  result = g_test_run ();
  return result;
}
