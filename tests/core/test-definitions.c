/* tests/core/test-definitions.c: machine definitions as replicated state
 * (PROTOCOL.md, "Machine definitions"): defined through the log,
 * versioned by index, identical everywhere, refused at proposal when
 * unknown or invalid, carried by snapshots; a committed entry a node
 * cannot apply stops its apply loop (PROTOCOL.md, "Entries a node cannot
 * apply"); and the bootstrap fingerprint. */
#include <glib.h>
#include <string.h>

#include "codec.h"
#include "fingerprint.h"
#include "harness.h"
#include "log.h"
#include "node-rig.h"

#define WAIT_MS 20000

static const char door_v1[] =
  "{\"name\":\"door\",\"states\":[\"Closed\",\"Open\"],\"initial\":\"Closed\","
  "\"transitions\":[{\"from\":\"Closed\",\"to\":\"Open\"},{\"from\":\"Open\",\"to\":\"Closed\"}]}";
static const char door_v2[] =
  "{\"name\":\"door\",\"states\":[\"Closed\",\"Open\",\"Locked\"],\"initial\":\"Closed\","
  "\"transitions\":[{\"from\":\"Closed\",\"to\":\"Open\"},{\"from\":\"Open\",\"to\":\"Closed\"},"
  "{\"from\":\"Closed\",\"to\":\"Locked\"}]}";
static const char door_no_open[] =
  "{\"name\":\"door\",\"states\":[\"Closed\"],\"initial\":\"Closed\",\"transitions\":[]}";

static guint64 next_request = 1;

static const DsmClientReply *
run (Harness *h, const DsmCommand *cmd)
{
  guint64 id = next_request++;

  harness_submit (h, harness_leader (h), id, cmd);
  g_assert_true (harness_wait_reply (h, id, WAIT_MS));
  return harness_reply (h, id);
}

static const DsmClientReply *
define (Harness *h, const char *name, const char *spec)
{
  DsmCommand cmd = { .op = DSM_OP_DEFINE, .definition = (char *) name, .spec = (char *) spec };
  return run (h, &cmd);
}

static const DsmClientReply *
move (Harness *h, const char *machine, const char *definition, const char *to)
{
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = (char *) machine,
                     .definition = (char *) definition, .to = (char *) to };
  return run (h, &cmd);
}

static gboolean
done_applied (Harness *h, gpointer data)
{
  guint64 index = *(guint64 *) data;
  for (guint id = 1; id <= h->n; id++)
    if (h->nodes[id] != NULL && dsm_node_get_applied_index (h->nodes[id]) < index)
      return FALSE;
  return TRUE;
}

static Harness *
cluster (guint64 seed, DsmConfig *config)
{
  Harness *h = harness_new (3, seed, config);

  g_assert_true (harness_wait_leader (h, WAIT_MS));
  return h;
}

static void
test_replicated_and_versioned (void)
{
  g_autoptr(Harness) h = cluster (41, NULL);

  g_test_summary ("A definition defined through the log is on every node at the same version (its "
                  "entry's index), and a transition naming it then works everywhere.");
  const DsmClientReply *reply = define (h, "door", door_v1);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_OK);
  guint64 version = reply->index;
  g_assert_cmpuint (version, >, 0);
  reply = move (h, "front", "door", "Open");
  g_assert_cmpint (reply->status, ==, DSM_REPLY_OK);
  guint64 index = reply->index;
  g_assert_true (harness_run (h, WAIT_MS, done_applied, &index));
  for (DsmNodeId id = 1; id <= 3; id++)
    {
      guint64 v = 0;
      const DsmMachineDef *def = dsm_definitions_find (dsm_store_get_definitions (dsm_node_get_store (h->nodes[id])),
                                                       "door", &v);
      g_assert_nonnull (def);
      g_assert_cmpuint (v, ==, version);
      g_assert_cmpstr (dsm_store_read (dsm_node_get_store (h->nodes[id]), "front", NULL, NULL), ==, "Open");
    }
}

static void
test_unknown_refused_at_proposal (void)
{
  g_autoptr(Harness) h = cluster (42, NULL);

  g_test_summary ("A transition naming a definition nobody defined is refused where it is proposed: "
                  "bad_request, and nothing enters the log.");
  DsmNodeId leader = harness_leader (h);
  guint64 last = dsm_node_get_last_index (h->nodes[leader]);
  const DsmClientReply *reply = move (h, "o-2", "order", "Paid");
  g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (reply->reason, ==, DSM_REJECT_BAD_REQUEST);
  g_assert_nonnull (strstr (reply->detail, "order"));
  g_assert_cmpuint (dsm_node_get_last_index (h->nodes[leader]), ==, last);
}

static void
test_invalid_refused_at_proposal (void)
{
  g_autoptr(Harness) h = cluster (43, NULL);

  g_test_summary ("A define whose text the machine validator refuses, names another definition, "
                  "or redefines the built-in lifecycle is refused before the log.");
  DsmNodeId leader = harness_leader (h);
  guint64 last = dsm_node_get_last_index (h->nodes[leader]);
  const char *bad[][2] = {
    { "door", "{\"name\":\"door\",\"states\":[],\"initial\":\"X\",\"transitions\":[]}" },
    { "door", "not json" },
    { "gate", door_v1 },
    { "lifecycle", "{\"name\":\"lifecycle\",\"states\":[\"A\"],\"initial\":\"A\",\"transitions\":[]}" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const DsmClientReply *reply = define (h, bad[i][0], bad[i][1]);
      g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
      g_assert_cmpint (reply->reason, ==, DSM_REJECT_BAD_REQUEST);
    }
  g_assert_cmpuint (dsm_node_get_last_index (h->nodes[leader]), ==, last);
}

static void
test_update_keeps_states (void)
{
  g_autoptr(Harness) h = cluster (44, NULL);

  g_test_summary ("A new version may add states and change transitions, and the instances follow "
                  "it; one that drops a state is refused.");
  g_assert_cmpint (define (h, "door", door_v1)->status, ==, DSM_REPLY_OK);
  g_assert_cmpint (move (h, "front", "door", "Open")->status, ==, DSM_REPLY_OK);
  g_assert_cmpint (move (h, "front", NULL, "Closed")->status, ==, DSM_REPLY_OK);
  g_assert_cmpint (move (h, "front", NULL, "Locked")->status, ==, DSM_REPLY_REJECTED);
  g_assert_cmpint (define (h, "door", door_v2)->status, ==, DSM_REPLY_OK);
  g_assert_cmpint (move (h, "front", NULL, "Locked")->status, ==, DSM_REPLY_OK);
  const DsmClientReply *reply = define (h, "door", door_no_open);
  g_assert_cmpint (reply->status, ==, DSM_REPLY_REJECTED);
  g_assert_nonnull (strstr (reply->detail, "drops state"));
}

static void
test_survive_snapshot_and_restart (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  config->snapshot_threshold_entries = 4;
  g_autoptr(Harness) h = cluster (45, config);

  g_test_summary ("Definitions are state: compacted into snapshots and read back on a restart of "
                  "every node, at the same version.");
  const DsmClientReply *reply = define (h, "door", door_v1);
  guint64 version = reply->index;
  for (guint i = 0; i < 12; i++)
    g_assert_cmpint (move (h, "front", "door", i % 2 ? "Closed" : "Open")->status, ==, DSM_REPLY_OK);
  guint64 index = dsm_node_get_commit_index (h->nodes[harness_leader (h)]);
  g_assert_true (harness_run (h, WAIT_MS, done_applied, &index));
  for (DsmNodeId id = 1; id <= 3; id++)
    harness_crash (h, id);
  for (DsmNodeId id = 1; id <= 3; id++)
    {
      harness_restart (h, id);
      g_assert_nonnull (h->durable[id].snapshot);
      g_assert_cmpuint (h->durable[id].snapshot_index, >, version);
      guint64 v = 0;
      g_assert_nonnull (dsm_definitions_find (dsm_store_get_definitions (dsm_node_get_store (h->nodes[id])),
                                              "door", &v));
      g_assert_cmpuint (v, ==, version);
    }
}

/* ---- an entry a node cannot apply ---- */

static void
test_unappliable_entry_stalls (void)
{
  g_autoptr(Rig) rig = rig_new (rig_config (3), NULL);

  g_test_summary ("A committed entry this node cannot interpret (a definition its validator "
                  "refuses) stops its apply loop at that index, loudly, for good: nothing after it "
                  "is applied, it is never skipped, and the node stands for no election.");
  rig_follow (rig, 2, 1);
  g_autoptr(DsmMessage) p = rig_proposal (2, 1, 0, 0, 3, (const guint64[]) { 1, 1, 1 }, 3);
  DsmCommand bad = { .op = DSM_OP_DEFINE, .definition = "door", .spec = "{\"name\":\"door\",\"states\":7}" };
  dsm_entry_unref (p->entries->pdata[1]);
  p->entries->pdata[1] = dsm_entry_new (2, 1, DSM_ENTRY_COMMAND, &bad);
  rig_step (rig, g_steal_pointer (&p));
  g_assert_cmpuint (rig_count_events (rig, DSM_EVENT_APPLY_STALLED), ==, 1);
  rig_persist_all (rig);

  const char *reason = NULL;
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 3);
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 1);
  g_assert_cmpuint (dsm_node_get_stalled_index (rig->node, &reason), ==, 2);
  g_assert_nonnull (strstr (reason, "spec"));
  g_assert_cmpuint (dsm_node_get_metrics (rig->node)->apply_stalled_index, ==, 2);
  /* Nothing left it can apply: no tick is asked for (a host would spin). */
  g_assert_cmpuint (dsm_node_next_deadline (rig->node), >, rig->now_ms);

  rig_step (rig, rig_proposal (2, 1, 3, 1, 4, (const guint64[]) { 1 }, 1));
  g_assert_cmpuint (dsm_node_get_commit_index (rig->node), ==, 4);
  g_assert_cmpuint (dsm_node_get_applied_index (rig->node), ==, 1);

  rig_tick (rig, rig->now_ms + 10000);
  g_assert_cmpint (dsm_node_get_role (rig->node), ==, DSM_ROLE_FOLLOWER);
  g_assert_cmpuint (rig_count_messages (rig, DSM_MSG_VOTE_REQUEST), ==, 0);
}

/* ---- the fingerprint ---- */

static DsmConfig *
config_from (const char *text)
{
  g_autoptr(GError) error = NULL;
  DsmConfig *config = dsm_config_new_from_data (text, -1, NULL, NULL, &error);
  g_assert_no_error (error);
  return config;
}

static void
test_fingerprint (void)
{
  const char *base = "{\"cluster_id\":\"c\",\"nodes\":[{\"id\":1,\"peer_address\":\"127.0.0.1:7001\"},"
                     "{\"id\":2,\"peer_address\":\"127.0.0.1:7002\"}]}";
  const char *timers = "{\"cluster_id\":\"c\",\"heartbeat_ms\":40,\"nodes\":[{\"id\":1,\"peer_address\":"
                       "\"127.0.0.1:7001\"},{\"id\":2,\"peer_address\":\"127.0.0.1:7002\"}]}";
  const char *address = "{\"cluster_id\":\"c\",\"nodes\":[{\"id\":1,\"peer_address\":\"127.0.0.1:7001\"},"
                        "{\"id\":2,\"peer_address\":\"127.0.0.1:7009\"}]}";
  const char *window = "{\"cluster_id\":\"c\",\"session_window\":8,\"nodes\":[{\"id\":1,\"peer_address\":"
                       "\"127.0.0.1:7001\"},{\"id\":2,\"peer_address\":\"127.0.0.1:7002\"}]}";
  g_autoptr(DsmConfig) a = config_from (base);
  g_autoptr(DsmConfig) b = config_from (base);
  g_autoptr(DsmConfig) c = config_from (timers);
  g_autoptr(DsmConfig) d = config_from (address);
  g_autoptr(DsmConfig) e = config_from (window);
  g_autoptr(DsmConfig) f = dsm_config_copy (a);
  g_autofree char *fa = dsm_fingerprint_compute (a);
  g_autofree char *fb = dsm_fingerprint_compute (b);
  g_autofree char *fc = dsm_fingerprint_compute (c);
  g_autofree char *fd = dsm_fingerprint_compute (d);
  g_autofree char *fe = dsm_fingerprint_compute (e);

  g_test_summary ("The bootstrap fingerprint is the same for the same bootstrap, ignores node-local "
                  "settings such as timers, and changes with addresses, session bounds, definitions.");
  g_assert_cmpuint (strlen (fa), ==, 64);
  g_assert_cmpstr (fa, ==, fb);
  g_assert_cmpstr (fa, ==, fc);
  g_assert_cmpstr (fa, !=, fd);
  g_assert_cmpstr (fa, !=, fe);

  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) spec = dsm_codec_parse (door_v1, strlen (door_v1), &error);
  g_assert_no_error (error);
  g_hash_table_replace (f->definitions, g_strdup ("door"), dsm_machine_def_new_from_json (spec, NULL, &error));
  g_assert_no_error (error);
  g_autofree char *ff = dsm_fingerprint_compute (f);
  g_assert_cmpstr (fa, !=, ff);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/definitions/replicated-and-versioned", test_replicated_and_versioned);
  g_test_add_func ("/core/definitions/unknown-refused-at-proposal", test_unknown_refused_at_proposal);
  g_test_add_func ("/core/definitions/invalid-refused-at-proposal", test_invalid_refused_at_proposal);
  g_test_add_func ("/core/definitions/update-keeps-states", test_update_keeps_states);
  g_test_add_func ("/core/definitions/survive-snapshot-and-restart", test_survive_snapshot_and_restart);
  g_test_add_func ("/core/definitions/unappliable-entry-stalls", test_unappliable_entry_stalls);
  g_test_add_func ("/core/definitions/fingerprint", test_fingerprint);
  return g_test_run ();
}
