/* tests/sim/test-network.c: the simulator's network model (sim/network.h)
 * on its own: latencies, loss, duplication, reordering, partitions, cuts,
 * isolation, healing, storms and corruption through the real codec.
 * Every draw comes from a fixed seed, so the counts below are exact runs,
 * checked against tolerant bounds that any fair PRNG meets. */
#include <string.h>

#include "codec.h"
#include "error.h"
#include "network.h"

#define N_MESSAGES 10000

static DsmNetworkModel
model_default (void)
{
  return (DsmNetworkModel) {
    .latency_ms_min = 1,
    .latency_ms_max = 10,
    .reorder_ms_max = 50,
    .client_latency_ms_min = 0,
    .client_latency_ms_max = 2,
  };
}

/* Fates of N_MESSAGES messages 1 -> 2 at @now_ms; fills the counters. */
typedef struct {
  guint dropped;
  guint once;
  guint twice;
  guint corrupt;
  guint64 delay_min;
  guint64 delay_max;
} FateCounts;

static FateCounts
count_fates (DsmSimNet *net, guint64 now_ms)
{
  FateCounts c = { .delay_min = G_MAXUINT64 };

  for (guint i = 0; i < N_MESSAGES; i++)
    {
      DsmNetFate fate;
      dsm_sim_net_fate (net, now_ms, 1, 2, DSM_MSG_PROPOSAL, &fate);
      if (fate.n == 0)
        {
          g_assert_nonnull (fate.drop_reason);
          c.dropped++;
          continue;
        }
      g_assert_null (fate.drop_reason);
      g_assert_cmpuint (fate.n, <=, 2);
      if (fate.n == 1)
        c.once++;
      else
        c.twice++;
      for (guint k = 0; k < fate.n; k++)
        {
          c.delay_min = MIN (c.delay_min, fate.delay_ms[k]);
          c.delay_max = MAX (c.delay_max, fate.delay_ms[k]);
          c.corrupt += fate.corrupt[k] ? 1 : 0;
        }
    }
  return c;
}

/* ---- latency, loss, duplication, reordering ---- */

static void
test_latency_range (void)
{
  DsmNetworkModel model = model_default ();
  model.latency_ms_min = 5;
  model.latency_ms_max = 15;
  DsmSimNet *net = dsm_sim_net_new (3, &model, 1);

  g_test_summary ("Every message's latency is drawn within [latency_ms_min, latency_ms_max], "
                  "and both ends are reached.");
  FateCounts c = count_fates (net, 0);
  g_assert_cmpuint (c.dropped, ==, 0);
  g_assert_cmpuint (c.twice, ==, 0);
  g_assert_cmpuint (c.once, ==, N_MESSAGES);
  g_assert_cmpuint (c.delay_min, ==, 5);
  g_assert_cmpuint (c.delay_max, ==, 15);
  dsm_sim_net_free (net);
}

static void
test_latency_fixed (void)
{
  DsmNetworkModel model = model_default ();
  model.latency_ms_min = 7;
  model.latency_ms_max = 7;
  DsmSimNet *net = dsm_sim_net_new (3, &model, 2);

  g_test_summary ("With min = max every message takes exactly that long: no natural reordering.");
  FateCounts c = count_fates (net, 0);
  g_assert_cmpuint (c.delay_min, ==, 7);
  g_assert_cmpuint (c.delay_max, ==, 7);
  dsm_sim_net_free (net);
}

static void
test_client_latency (void)
{
  DsmNetworkModel model = model_default ();
  model.client_latency_ms_min = 3;
  model.client_latency_ms_max = 4;
  DsmSimNet *net = dsm_sim_net_new (3, &model, 3);
  guint seen[5] = { 0 };

  g_test_summary ("A client hop takes client_latency_ms_min to client_latency_ms_max.");
  for (guint i = 0; i < 1000; i++)
    {
      guint64 ms = dsm_sim_net_client_latency (net);
      g_assert_cmpuint (ms, >=, 3);
      g_assert_cmpuint (ms, <=, 4);
      seen[ms]++;
    }
  g_assert_cmpuint (seen[3], >, 0);
  g_assert_cmpuint (seen[4], >, 0);
  dsm_sim_net_free (net);
}

static void
test_loss_percent (void)
{
  DsmNetworkModel model = model_default ();
  model.loss_percent = 30;
  DsmSimNet *net = dsm_sim_net_new (3, &model, 4);

  g_test_summary ("loss_percent drops about that share of messages (30% of 10,000 within 2%), "
                  "each with the reason \"loss\".");
  FateCounts c = count_fates (net, 0);
  g_test_message ("dropped %u of %u", c.dropped, N_MESSAGES);
  g_assert_cmpuint (c.dropped, >=, 2800);
  g_assert_cmpuint (c.dropped, <=, 3200);
  g_assert_cmpuint (c.dropped + c.once, ==, N_MESSAGES);

  DsmNetFate fate;
  do
    dsm_sim_net_fate (net, 0, 1, 2, DSM_MSG_PROPOSAL, &fate);
  while (fate.n != 0);
  g_assert_cmpstr (fate.drop_reason, ==, "loss");
  dsm_sim_net_free (net);
}

static void
test_loss_extremes (void)
{
  DsmNetworkModel model = model_default ();
  DsmSimNet *net = dsm_sim_net_new (3, &model, 5);

  g_test_summary ("A loss storm of 100% drops everything; 0% drops nothing.");
  g_assert_cmpuint (count_fates (net, 0).dropped, ==, 0);
  dsm_sim_net_storm (net, DSM_STORM_LOSS, 100, 0, DSM_CORRUPT_FLIP, G_MAXUINT64);
  g_assert_cmpuint (count_fates (net, 0).dropped, ==, N_MESSAGES);
  dsm_sim_net_free (net);
}

static void
test_duplication (void)
{
  DsmNetworkModel model = model_default ();
  model.duplicate_percent = 100;
  DsmSimNet *net = dsm_sim_net_new (3, &model, 6);

  g_test_summary ("A duplicated message is delivered twice, each copy with its own latency "
                  "in range; duplicate_percent sets the share.");
  DsmNetFate fate;
  dsm_sim_net_fate (net, 0, 1, 2, DSM_MSG_PROPOSAL, &fate);
  g_assert_cmpuint (fate.n, ==, 2);
  for (guint k = 0; k < 2; k++)
    {
      g_assert_cmpuint (fate.delay_ms[k], >=, 1);
      g_assert_cmpuint (fate.delay_ms[k], <=, 10);
    }
  FateCounts c = count_fates (net, 0);
  g_assert_cmpuint (c.twice, ==, N_MESSAGES);
  dsm_sim_net_free (net);

  model.duplicate_percent = 10;
  net = dsm_sim_net_new (3, &model, 6);
  c = count_fates (net, 0);
  g_test_message ("duplicated %u of %u", c.twice, N_MESSAGES);
  g_assert_cmpuint (c.twice, >=, 800);
  g_assert_cmpuint (c.twice, <=, 1200);
  g_assert_cmpuint (c.dropped, ==, 0);
  dsm_sim_net_free (net);
}

static void
test_reorder (void)
{
  DsmNetworkModel model = model_default ();
  model.latency_ms_min = 10;
  model.latency_ms_max = 10;
  model.reorder_percent = 50;
  model.reorder_ms_max = 40;
  DsmSimNet *net = dsm_sim_net_new (3, &model, 7);
  guint held = 0;

  g_test_summary ("A reordered message is held back by 1 to reorder_ms_max more, so later ones "
                  "overtake it; reorder_percent sets the share.");
  for (guint i = 0; i < N_MESSAGES; i++)
    {
      DsmNetFate fate;
      dsm_sim_net_fate (net, 0, 1, 2, DSM_MSG_PROPOSAL, &fate);
      g_assert_cmpuint (fate.n, ==, 1);
      g_assert_cmpuint (fate.delay_ms[0], >=, 10);
      g_assert_cmpuint (fate.delay_ms[0], <=, 50);
      held += fate.delay_ms[0] > 10 ? 1 : 0;
    }
  g_test_message ("held back %u of %u", held, N_MESSAGES);
  g_assert_cmpuint (held, >=, 4800);
  g_assert_cmpuint (held, <=, 5200);
  dsm_sim_net_free (net);
}

static void
test_same_seed_same_fates (void)
{
  DsmNetworkModel model = model_default ();
  model.loss_percent = 20;
  model.duplicate_percent = 20;
  model.reorder_percent = 20;
  DsmSimNet *a = dsm_sim_net_new (3, &model, 8);
  DsmSimNet *b = dsm_sim_net_new (3, &model, 8);
  DsmSimNet *c = dsm_sim_net_new (3, &model, 9);
  guint differ = 0;

  g_test_summary ("The network's dice are a function of the seed: the same seed gives the same "
                  "fates, another seed other fates.");
  for (guint i = 0; i < 1000; i++)
    {
      DsmNetFate fa, fb, fc;
      dsm_sim_net_fate (a, i, 1, 2, DSM_MSG_PROPOSAL, &fa);
      dsm_sim_net_fate (b, i, 1, 2, DSM_MSG_PROPOSAL, &fb);
      dsm_sim_net_fate (c, i, 1, 2, DSM_MSG_PROPOSAL, &fc);
      g_assert_cmpuint (fa.n, ==, fb.n);
      for (guint k = 0; k < fa.n; k++)
        g_assert_cmpuint (fa.delay_ms[k], ==, fb.delay_ms[k]);
      differ += fa.n != fc.n || (fa.n > 0 && fa.delay_ms[0] != fc.delay_ms[0]);
    }
  g_assert_cmpuint (differ, >, 100);
  dsm_sim_net_free (a);
  dsm_sim_net_free (b);
  dsm_sim_net_free (c);
}

/* ---- partitions, cuts, isolation, heal ---- */

/* Asserts connected(from, to) for every pair of 1..n against @expected,
 * a string of n*n '1' and '0', row @from, column @to (the diagonal is
 * ignored). */
static void
assert_connectivity (const DsmSimNet *net, guint n, const char *expected)
{
  g_assert_cmpuint (strlen (expected), ==, n * n);
  for (DsmNodeId from = 1; from <= n; from++)
    for (DsmNodeId to = 1; to <= n; to++)
      {
        if (from == to)
          continue;
        gboolean want = expected[(from - 1) * n + (to - 1)] == '1';
        if (dsm_sim_net_connected (net, from, to) != want)
          g_error ("connected(%u, %u) is %s, expected %s", from, to, want ? "FALSE" : "TRUE",
                   want ? "TRUE" : "FALSE");
      }
}

static GPtrArray *
groups_new (const char *spec)
{
  /* "12|34": groups [1,2] and [3,4] (single-digit ids). */
  GPtrArray *groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_auto(GStrv) parts = g_strsplit (spec, "|", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      GArray *ids = g_array_new (FALSE, FALSE, sizeof (DsmNodeId));
      for (const char *p = parts[i]; *p != '\0'; p++)
        {
          DsmNodeId id = (DsmNodeId) (*p - '0');
          g_array_append_val (ids, id);
        }
      g_ptr_array_add (groups, ids);
    }
  return groups;
}

static void
test_connected_by_default (void)
{
  DsmNetworkModel model = model_default ();
  DsmSimNet *net = dsm_sim_net_new (4, &model, 1);

  g_test_summary ("A new network connects every pair both ways and is healed.");
  assert_connectivity (net, 4, "1111" "1111" "1111" "1111");
  g_assert_true (dsm_sim_net_is_healed (net, 0));
  dsm_sim_net_free (net);
}

static void
test_partition_groups (void)
{
  DsmNetworkModel model = model_default ();
  DsmSimNet *net = dsm_sim_net_new (5, &model, 1);
  g_autoptr(GPtrArray) groups = groups_new ("12|3");

  g_test_summary ("A partition lets nodes talk only within their group; the unlisted nodes form "
                  "one more group; messages across are dropped as \"partition\".");
  dsm_sim_net_partition (net, groups);
  assert_connectivity (net, 5,
                       "11000"
                       "11000"
                       "00100"
                       "00011"
                       "00011");
  g_assert_false (dsm_sim_net_is_healed (net, 0));

  DsmNetFate fate;
  dsm_sim_net_fate (net, 0, 1, 3, DSM_MSG_PROPOSAL, &fate);
  g_assert_cmpuint (fate.n, ==, 0);
  g_assert_cmpstr (fate.drop_reason, ==, "partition");
  dsm_sim_net_fate (net, 0, 4, 5, DSM_MSG_PROPOSAL, &fate);
  g_assert_cmpuint (fate.n, ==, 1);
  dsm_sim_net_free (net);
}

static void
test_partition_replaces (void)
{
  DsmNetworkModel model = model_default ();
  DsmSimNet *net = dsm_sim_net_new (4, &model, 1);
  g_autoptr(GPtrArray) first = groups_new ("12");
  g_autoptr(GPtrArray) second = groups_new ("13");

  g_test_summary ("A new partition replaces the previous one.");
  dsm_sim_net_partition (net, first);
  dsm_sim_net_partition (net, second);
  assert_connectivity (net, 4,
                       "1010"
                       "0101"
                       "1010"
                       "0101");
  dsm_sim_net_free (net);
}

static void
test_one_way_cut (void)
{
  DsmNetworkModel model = model_default ();
  DsmSimNet *net = dsm_sim_net_new (3, &model, 1);

  g_test_summary ("A cut drops one direction only: 1 -> 2 is gone, 2 -> 1 and every other pair "
                  "still work.");
  dsm_sim_net_cut (net, 1, 2, 0);
  assert_connectivity (net, 3,
                       "101"
                       "111"
                       "111");
  dsm_sim_net_cut (net, 3, 1, 0);
  assert_connectivity (net, 3,
                       "101"
                       "111"
                       "011");
  dsm_sim_net_free (net);
}

static void
test_cut_some_types (void)
{
  DsmNetworkModel model = model_default ();
  DsmSimNet *net = dsm_sim_net_new (3, &model, 1);
  DsmNetFate fate;

  g_test_summary ("A cut of some message types drops those from 1 to 2 only (the fate says \"cut\"); the "
                  "pair stays connected for the leader's selectors; another type, the other direction and "
                  "heal are untouched, and a full cut over it disconnects.");
  dsm_sim_net_cut (net, 1, 2, (1u << DSM_MSG_PROPOSAL) | (1u << DSM_MSG_SNAPSHOT));
  g_assert_true (dsm_sim_net_connected (net, 1, 2));
  g_assert_false (dsm_sim_net_carries (net, 1, 2, DSM_MSG_PROPOSAL));
  g_assert_false (dsm_sim_net_carries (net, 1, 2, DSM_MSG_SNAPSHOT));
  g_assert_true (dsm_sim_net_carries (net, 1, 2, DSM_MSG_COMMIT));
  g_assert_true (dsm_sim_net_carries (net, 1, 2, DSM_MSG_VOTE_REQUEST));
  g_assert_true (dsm_sim_net_carries (net, 2, 1, DSM_MSG_PROPOSAL));
  g_assert_true (dsm_sim_net_carries (net, 1, 3, DSM_MSG_PROPOSAL));
  dsm_sim_net_fate (net, 0, 1, 2, DSM_MSG_PROPOSAL, &fate);
  g_assert_cmpuint (fate.n, ==, 0);
  g_assert_cmpstr (fate.drop_reason, ==, "cut");
  dsm_sim_net_fate (net, 0, 1, 2, DSM_MSG_COMMIT, &fate);
  g_assert_cmpuint (fate.n, ==, 1);
  g_assert_false (dsm_sim_net_is_healed (net, 0));
  dsm_sim_net_cut (net, 1, 2, 0);
  g_assert_false (dsm_sim_net_connected (net, 1, 2));
  g_assert_false (dsm_sim_net_carries (net, 1, 2, DSM_MSG_COMMIT));
  dsm_sim_net_heal (net);
  g_assert_true (dsm_sim_net_carries (net, 1, 2, DSM_MSG_PROPOSAL));
  g_assert_true (dsm_sim_net_is_healed (net, 0));
  dsm_sim_net_free (net);
}

static void
test_isolate (void)
{
  DsmNetworkModel model = model_default ();
  DsmSimNet *net = dsm_sim_net_new (4, &model, 1);

  g_test_summary ("An isolated node can neither send to nor hear from anyone; the others still "
                  "talk.");
  dsm_sim_net_isolate (net, 2);
  assert_connectivity (net, 4,
                       "1011"
                       "0000"
                       "1011"
                       "1011");
  dsm_sim_net_free (net);
}

static void
test_heal (void)
{
  DsmNetworkModel model = model_default ();
  DsmSimNet *net = dsm_sim_net_new (5, &model, 1);
  g_autoptr(GPtrArray) groups = groups_new ("12");

  g_test_summary ("heal undoes partitions, isolations, cuts and every storm at once.");
  dsm_sim_net_partition (net, groups);
  dsm_sim_net_isolate (net, 5);
  dsm_sim_net_cut (net, 3, 4, 0);
  dsm_sim_net_storm (net, DSM_STORM_LOSS, 100, 0, DSM_CORRUPT_FLIP, G_MAXUINT64);
  dsm_sim_net_storm (net, DSM_STORM_DELAY, 100, 500, DSM_CORRUPT_FLIP, G_MAXUINT64);
  g_assert_false (dsm_sim_net_is_healed (net, 0));

  dsm_sim_net_heal (net);
  g_assert_true (dsm_sim_net_is_healed (net, 0));
  assert_connectivity (net, 5, "1111111111111111111111111");
  FateCounts c = count_fates (net, 0);
  g_assert_cmpuint (c.dropped, ==, 0);
  g_assert_cmpuint (c.delay_max, <=, 10);
  dsm_sim_net_free (net);
}

/* ---- storms ---- */

static void
test_storm_expires (void)
{
  DsmNetworkModel model = model_default ();
  DsmSimNet *net = dsm_sim_net_new (3, &model, 1);

  g_test_summary ("A storm acts while now < until_ms and stops by itself at until_ms; the network "
                  "counts as healed from then on.");
  dsm_sim_net_storm (net, DSM_STORM_LOSS, 100, 0, DSM_CORRUPT_FLIP, 1000);
  g_assert_cmpuint (count_fates (net, 0).dropped, ==, N_MESSAGES);
  g_assert_cmpuint (count_fates (net, 999).dropped, ==, N_MESSAGES);
  g_assert_false (dsm_sim_net_is_healed (net, 999));
  g_assert_cmpuint (count_fates (net, 1000).dropped, ==, 0);
  g_assert_true (dsm_sim_net_is_healed (net, 1000));
  dsm_sim_net_free (net);
}

static void
test_storm_until_heal (void)
{
  DsmNetworkModel model = model_default ();
  DsmSimNet *net = dsm_sim_net_new (3, &model, 1);

  g_test_summary ("A storm without for_ms (until G_MAXUINT64) lasts until heal.");
  dsm_sim_net_storm (net, DSM_STORM_DUPLICATE, 100, 0, DSM_CORRUPT_FLIP, G_MAXUINT64);
  g_assert_cmpuint (count_fates (net, G_MAXUINT64 / 2).twice, ==, N_MESSAGES);
  g_assert_false (dsm_sim_net_is_healed (net, G_MAXUINT64 / 2));
  dsm_sim_net_heal (net);
  g_assert_cmpuint (count_fates (net, G_MAXUINT64 / 2).twice, ==, 0);
  dsm_sim_net_free (net);
}

static void
test_storm_loss_max (void)
{
  DsmNetworkModel model = model_default ();
  model.loss_percent = 50;
  DsmSimNet *net = dsm_sim_net_new (3, &model, 11);

  g_test_summary ("During a storm the larger of its percent and the model's applies: a 10% loss "
                  "storm does not lower a 50% model.");
  dsm_sim_net_storm (net, DSM_STORM_LOSS, 10, 0, DSM_CORRUPT_FLIP, 1000);
  FateCounts c = count_fates (net, 0);
  g_assert_cmpuint (c.dropped, >=, 4800);
  g_assert_cmpuint (c.dropped, <=, 5200);
  dsm_sim_net_free (net);
}

static void
test_storm_delay (void)
{
  DsmNetworkModel model = model_default ();
  DsmSimNet *net = dsm_sim_net_new (3, &model, 12);

  g_test_summary ("A delay storm adds its ms to every message while it lasts.");
  dsm_sim_net_storm (net, DSM_STORM_DELAY, 100, 300, DSM_CORRUPT_FLIP, 1000);
  FateCounts c = count_fates (net, 500);
  g_assert_cmpuint (c.delay_min, ==, 301);
  g_assert_cmpuint (c.delay_max, ==, 310);
  c = count_fates (net, 1000);
  g_assert_cmpuint (c.delay_min, ==, 1);
  g_assert_cmpuint (c.delay_max, ==, 10);
  dsm_sim_net_free (net);
}

static void
test_storm_reorder (void)
{
  DsmNetworkModel model = model_default ();
  model.latency_ms_min = 5;
  model.latency_ms_max = 5;
  DsmSimNet *net = dsm_sim_net_new (3, &model, 13);

  g_test_summary ("A reorder storm holds back its share of messages by up to its own ms "
                  "(not the model's reorder_ms_max).");
  dsm_sim_net_storm (net, DSM_STORM_REORDER, 100, 200, DSM_CORRUPT_FLIP, 1000);
  FateCounts c = count_fates (net, 0);
  g_assert_cmpuint (c.delay_min, >=, 6);
  g_assert_cmpuint (c.delay_max, >, 50);
  g_assert_cmpuint (c.delay_max, <=, 205);
  dsm_sim_net_free (net);
}

static void
test_storm_corrupt_marks (void)
{
  DsmNetworkModel model = model_default ();
  DsmSimNet *net = dsm_sim_net_new (3, &model, 14);

  g_test_summary ("A corruption storm marks its share of deliveries as corrupt, and only while "
                  "it lasts.");
  dsm_sim_net_storm (net, DSM_STORM_CORRUPT, 25, 0, DSM_CORRUPT_FLIP, 1000);
  FateCounts c = count_fates (net, 0);
  g_test_message ("corrupt %u of %u", c.corrupt, N_MESSAGES);
  g_assert_cmpuint (c.corrupt, >=, 2300);
  g_assert_cmpuint (c.corrupt, <=, 2700);
  g_assert_cmpuint (count_fates (net, 1000).corrupt, ==, 0);
  dsm_sim_net_free (net);
}

/* ---- corruption through the codec ---- */

static DsmEntry *
command_entry (guint64 index, guint64 epoch, const char *machine, const char *to, guint64 seq)
{
  DsmCommand cmd = {
    .op = DSM_OP_TRANSITION,
    .client_id = (char *) "c1",
    .seq = seq,
    .machine = (char *) machine,
    .to = (char *) to,
  };
  return dsm_entry_new (index, epoch, DSM_ENTRY_COMMAND, &cmd);
}

static DsmMessage *
proposal_new (void)
{
  DsmMessage *msg = dsm_message_new (DSM_MSG_PROPOSAL, 1, 2, 3);

  msg->prev_index = 4;
  msg->prev_epoch = 2;
  msg->commit_index = 4;
  msg->hb_seq = 17;
  msg->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  g_ptr_array_add (msg->entries, command_entry (5, 3, "job", "Running", 1));
  g_ptr_array_add (msg->entries, command_entry (6, 3, "door-7", "Stopped", 2));
  return msg;
}

static DsmMessage *
vote_request_new (void)
{
  DsmMessage *msg = dsm_message_new (DSM_MSG_VOTE_REQUEST, 3, 1, 9);

  msg->last_index = 120;
  msg->last_epoch = 8;
  return msg;
}

/* Corrupts @msg @n times; every outcome must be a refusal with a codec
 * error, or (damage that cancelled out) the very same message. */
static void
corrupt_many (DsmCorruptMode mode, DsmMessage *msg, guint n, guint *refused_checksum,
              guint *refused_codec, guint *survived)
{
  DsmNetworkModel model = model_default ();
  DsmSimNet *net = dsm_sim_net_new (3, &model, 15);

  dsm_sim_net_storm (net, DSM_STORM_CORRUPT, 100, 0, mode, G_MAXUINT64);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DsmMessage) out = dsm_sim_net_corrupt (net, msg, &error);
      if (out != NULL)
        {
          g_assert_no_error (error);
          g_assert_true (dsm_message_equal (out, msg));
          (*survived)++;
          continue;
        }
      g_assert_nonnull (error);
      g_assert_true (error->domain == DSM_CODEC_ERROR);
      if (strstr (error->message, "checksum") != NULL)
        (*refused_checksum)++;
      else
        (*refused_codec)++;
    }
  g_assert_cmpuint (dsm_sim_net_get_corrupted (net), ==, n);
  dsm_sim_net_free (net);
}

static void
test_corrupt_flip (void)
{
  g_autoptr(DsmMessage) proposal = proposal_new ();
  g_autoptr(DsmMessage) vote = vote_request_new ();
  guint checksum = 0, codec = 0, survived = 0;

  g_test_summary ("Flipped bits go through the real codec: the receiver refuses the message with "
                  "a decoding error, or with a checksum mismatch when the damage still decodes; "
                  "it never receives a different message.");
  corrupt_many (DSM_CORRUPT_FLIP, proposal, 2000, &checksum, &codec, &survived);
  corrupt_many (DSM_CORRUPT_FLIP, vote, 2000, &checksum, &codec, &survived);
  g_test_message ("flip: %u checksum, %u codec, %u unchanged", checksum, codec, survived);
  g_assert_cmpuint (checksum, >, 0);
  g_assert_cmpuint (codec, >, 0);
  g_assert_cmpuint (survived, <, 100);
}

static void
test_corrupt_truncate (void)
{
  g_autoptr(DsmMessage) proposal = proposal_new ();
  g_autoptr(DsmMessage) vote = vote_request_new ();
  guint checksum = 0, codec = 0, survived = 0;

  g_test_summary ("A truncated message never survives: the codec refuses the cut text.");
  corrupt_many (DSM_CORRUPT_TRUNCATE, proposal, 1000, &checksum, &codec, &survived);
  corrupt_many (DSM_CORRUPT_TRUNCATE, vote, 1000, &checksum, &codec, &survived);
  g_test_message ("truncate: %u checksum, %u codec", checksum, codec);
  g_assert_cmpuint (survived, ==, 0);
  g_assert_cmpuint (codec, >, 0);
}

static void
test_corrupt_leaves_original (void)
{
  g_autoptr(DsmMessage) proposal = proposal_new ();
  g_autoptr(DsmMessage) copy = proposal_new ();
  g_autofree char *before = dsm_codec_encode_message (proposal);
  guint checksum = 0, codec = 0, survived = 0;

  g_test_summary ("Corruption damages a copy of the bytes: the sender's message, which a "
                  "duplicate may still deliver intact, is unchanged.");
  corrupt_many (DSM_CORRUPT_FLIP, proposal, 200, &checksum, &codec, &survived);
  g_autofree char *after = dsm_codec_encode_message (proposal);
  g_assert_cmpstr (before, ==, after);
  g_assert_true (dsm_message_equal (proposal, copy));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sim/network/latency/range", test_latency_range);
  g_test_add_func ("/sim/network/latency/fixed", test_latency_fixed);
  g_test_add_func ("/sim/network/latency/client", test_client_latency);
  g_test_add_func ("/sim/network/loss/percent", test_loss_percent);
  g_test_add_func ("/sim/network/loss/extremes", test_loss_extremes);
  g_test_add_func ("/sim/network/duplicate", test_duplication);
  g_test_add_func ("/sim/network/reorder", test_reorder);
  g_test_add_func ("/sim/network/deterministic", test_same_seed_same_fates);
  g_test_add_func ("/sim/network/connected-by-default", test_connected_by_default);
  g_test_add_func ("/sim/network/partition/groups", test_partition_groups);
  g_test_add_func ("/sim/network/partition/replaces", test_partition_replaces);
  g_test_add_func ("/sim/network/cut/one-way", test_one_way_cut);
  g_test_add_func ("/sim/network/cut/some-types", test_cut_some_types);
  g_test_add_func ("/sim/network/isolate", test_isolate);
  g_test_add_func ("/sim/network/heal", test_heal);
  g_test_add_func ("/sim/network/storm/expires", test_storm_expires);
  g_test_add_func ("/sim/network/storm/until-heal", test_storm_until_heal);
  g_test_add_func ("/sim/network/storm/larger-percent-wins", test_storm_loss_max);
  g_test_add_func ("/sim/network/storm/delay", test_storm_delay);
  g_test_add_func ("/sim/network/storm/reorder", test_storm_reorder);
  g_test_add_func ("/sim/network/storm/corrupt-marks", test_storm_corrupt_marks);
  g_test_add_func ("/sim/network/corrupt/flip", test_corrupt_flip);
  g_test_add_func ("/sim/network/corrupt/truncate", test_corrupt_truncate);
  g_test_add_func ("/sim/network/corrupt/leaves-original", test_corrupt_leaves_original);

  return g_test_run ();
}
