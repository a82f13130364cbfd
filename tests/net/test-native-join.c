/* tests/net/test-native-join.c: a node that joined with --join serves the
 * native protocol at the --native-address it gave, and the cluster tells
 * native clients about it (docs/CLIENT.md, "Leaders and redirects"): real
 * dsm-node processes, a leadership moved to the joined node. */
#include <string.h>

#include "client/dsm-client.h"
#include "native-raw.h"

#define BUDGET_MS 30000

static void
test_joined_leader (void)
{
  g_autoptr(Cluster) c = cluster_new (3);
  guint leader = cluster_wait_leader (c, BUDGET_MS);
  g_autofree char *joined_address = NULL;
  g_autofree char *first_address = NULL;
  gint64 deadline = g_get_monotonic_time () + (gint64) BUDGET_MS * 1000;
  int status = -1;
  guint joined, follower;

  g_test_summary ("A node added with `dsm-node --join --native-address` is named by the others' native ports "
                  "once it leads: a follower's welcome and not_leader carry its id and native address, and "
                  "libdsm-client given only a follower's address commits on it.");
  joined = cluster_start_joiner (c, leader);
  joined_address = cluster_native_address (c, joined);
  /* It is a voter once it caught up: only then does the transfer go. */
  while (status != 0)
    {
      g_autofree char *out = NULL, *err = NULL;
      g_autofree char *target = g_strdup_printf ("%u", joined);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      status = cluster_dsmctl (c, &out, &err, "leader", "transfer", target, NULL);
      if (status != 0)
        g_usleep (100 * 1000);
    }
  while (cluster_wait_leader (c, BUDGET_MS) != joined)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
  follower = cluster_other_node (c, joined, 0);

  NativeRaw *raw = native_raw_connect (c, follower);
  DsmWireMsg hello = { .type = DSM_WIRE_HELLO, .id = 1, .version = DSM_WIRE_VERSION };
  DsmWireMsg m = native_raw_transition (2, "join-a", "Running");
  DsmWireMsg answer;
  native_raw_send (raw, &hello);
  g_assert_true (native_raw_next (raw, &answer));
  g_assert_cmpint (answer.type, ==, DSM_WIRE_WELCOME);
  g_assert_cmpuint (answer.leader, ==, joined);
  g_assert_cmpstr (answer.leader_address, ==, joined_address);
  dsm_wire_msg_clear (&answer);
  native_raw_send (raw, &m);
  g_assert_true (native_raw_next (raw, &answer));
  g_assert_cmpint (answer.type, ==, DSM_WIRE_ERROR);
  g_assert_cmpstr (answer.code, ==, "not_leader");
  g_assert_cmpuint (answer.leader, ==, joined);
  g_assert_cmpstr (answer.leader_address, ==, joined_address);
  dsm_wire_msg_clear (&answer);
  native_raw_free (raw);

  first_address = cluster_native_address (c, follower);
  const char *nodes[] = { first_address, NULL };
  DsmClientOptions options;
  dsm_client_options_init (&options);
  options.nodes = nodes;
  g_autoptr(DsmClient) client = dsm_client_new (&options, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmClientResult) result = dsm_client_transition_sync (client, "join-b", "Running", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->status, ==, DSM_CLIENT_OK);
  g_assert_cmpuint (dsm_client_get_node (client), ==, joined);
  g_assert_cmpstr (dsm_client_get_address (client), ==, joined_address);
  g_assert_true (cluster_wait_state_everywhere (c, "join-b", "Running", BUDGET_MS));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/native/join/joined-leader-advertised", test_joined_leader);
  return g_test_run ();
}
