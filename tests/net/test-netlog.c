/* tests/net/test-netlog.c: the node's log writer: in --log-format json,
 * the id, epoch and index fields are JSON numbers, the rest strings. */
#include "netlog.h"

static void
test_json_numbers (void)
{
  g_test_summary ("A JSON log line carries DSM_NODE, DSM_EPOCH and DSM_PEER as numbers, for jq to compare "
                  "(docs/OPERATIONS.md, Logs)");
  if (g_test_subprocess ())
    {
      dsm_net_log_install_writer (G_LOG_LEVEL_MESSAGE, DSM_LOG_FORMAT_JSON);
      dsm_net_log (G_LOG_LEVEL_MESSAGE, 3, 12, "peer_connected", "connected to node %u", 12);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  /* One line; the numbers bare, the words quoted (GLib 2.74 has no way
   * to read the child's stderr but patterns). */
  g_test_trap_assert_stderr ("{\"time\":*\"DSM_NODE\":3,*}\n");
  g_test_trap_assert_stderr ("*,\"DSM_PEER\":12*");
  g_test_trap_assert_stderr ("*,\"DSM_EPOCH\":0,*");
  g_test_trap_assert_stderr ("*,\"DSM_EVENT\":\"peer_connected\"*");
  g_test_trap_assert_stderr ("*\"MESSAGE\":\"connected to node 12\"*");
  g_test_trap_assert_stderr_unmatched ("*\"DSM_NODE\":\"*");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/netlog/json-numbers", test_json_numbers);
  return g_test_run ();
}
