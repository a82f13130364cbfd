/* tests/plugin/test-examples.c: the example machines (examples/), loaded
 * as dsm loads them, do what their files say: the ledger never lets a
 * balance go negative, the queue's leases end at their deadline, and both
 * restore exactly what they snapshot and refuse damaged snapshots. */
#include "plugin/plugin.h"

#include <string.h>

typedef struct {
  DsmPlugin *plugin;
  const DsmMachineImpl *impl;
  gpointer state;
} Machine;

static void
machine_open (Machine *m, const char *path)
{
  g_autoptr(GError) error = NULL;

  m->plugin = dsm_plugin_load (path, &error);
  g_assert_no_error (error);
  m->impl = dsm_plugin_get_impl (m->plugin);
  m->state = m->impl->state_new ();
}

static void
machine_close (Machine *m)
{
  m->impl->state_free (m->state);
  dsm_plugin_free (m->plugin);
}

/* Applies a command that must be valid; checks its result. */
static void
machine_ok (Machine *m, const char *op, const char *payload, const char *result)
{
  g_autofree char *message = NULL;

  if (!m->impl->validate (m->state, op, payload, &message))
    g_error ("%s %s refused: %s", op, payload, message);
  g_assert_null (message);
  g_autofree char *got = m->impl->apply (m->state, op, payload);
  g_assert_cmpstr (got, ==, result);
}

/* A command that must be refused, with a message containing @says; the
 * state must be unchanged. */
static void
machine_refused (Machine *m, const char *op, const char *payload, const char *says)
{
  g_autofree char *message = NULL;
  g_autoptr(GBytes) before = m->impl->snapshot (m->state);

  g_assert_false (m->impl->validate (m->state, op, payload, &message));
  g_assert_nonnull (message);
  if (strstr (message, says) == NULL)
    g_error ("%s %s: \"%s\" does not say \"%s\"", op, payload, message, says);
  g_autoptr(GBytes) after = m->impl->snapshot (m->state);
  g_assert_true (g_bytes_equal (before, after));
}

/* snapshot -> restore -> snapshot gives the same bytes, and a copy is
 * independent of its original. */
static void
machine_check_roundtrip (Machine *m)
{
  g_autofree char *message = NULL;
  g_autoptr(GBytes) bytes = m->impl->snapshot (m->state);
  gpointer restored = m->impl->restore (bytes, &message);

  g_assert_null (message);
  g_assert_nonnull (restored);
  g_autoptr(GBytes) again = m->impl->snapshot (restored);
  g_assert_true (g_bytes_equal (bytes, again));
  m->impl->state_free (restored);

  gpointer copy = m->impl->state_copy (m->state);
  g_autoptr(GBytes) copied = m->impl->snapshot (copy);
  g_assert_true (g_bytes_equal (bytes, copied));
  m->impl->state_free (copy);
}

static void
machine_check_refuses_snapshot (Machine *m, const char *text)
{
  g_autofree char *message = NULL;
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));

  g_assert_null (m->impl->restore (bytes, &message));
  g_assert_nonnull (message);
}

static void
test_ledger_never_negative (void)
{
  Machine m;

  g_test_summary ("The ledger moves money between open accounts and refuses any transfer that would overdraw.");
  machine_open (&m, BANK_LEDGER_PATH);
  machine_ok (&m, "open", "{\"account\":\"alice\"}", "{\"account\":\"alice\",\"balance\":0}");
  machine_ok (&m, "open", "{\"account\":\"bob\"}", "{\"account\":\"bob\",\"balance\":0}");
  machine_ok (&m, "deposit", "{\"account\":\"alice\",\"amount\":100}", "{\"account\":\"alice\",\"balance\":100}");
  machine_ok (&m, "transfer", "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":60}",
              "{\"from_balance\":40,\"to_balance\":60}");
  machine_refused (&m, "transfer", "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":41}", "has 40, cannot transfer 41");
  machine_ok (&m, "transfer", "{\"from\":\"alice\",\"to\":\"bob\",\"amount\":40}",
              "{\"from_balance\":0,\"to_balance\":100}");
  machine_ok (&m, "balance", "{\"account\":\"bob\"}", "{\"account\":\"bob\",\"balance\":100}");
  machine_refused (&m, "open", "{\"account\":\"bob\"}", "already exists");
  machine_refused (&m, "deposit", "{\"account\":\"carol\",\"amount\":1}", "\"carol\" does not exist");
  machine_refused (&m, "deposit", "{\"account\":\"bob\",\"amount\":0}", "payload.amount");
  machine_refused (&m, "deposit", "{\"account\":\"bob\",\"amount\":\"5\"}", "payload.amount: expected an integer");
  machine_refused (&m, "transfer", "{\"from\":\"bob\",\"to\":\"bob\",\"amount\":1}", "to itself");
  machine_refused (&m, "withdraw", "{}", "unknown operation \"withdraw\"");
  machine_refused (&m, "open", "[1]", "payload: expected an object");
  machine_refused (&m, "open", "{", "payload: not JSON");
  machine_check_roundtrip (&m);
  machine_close (&m);
}

static void
test_ledger_snapshots (void)
{
  Machine m;

  g_test_summary ("The ledger's snapshot is canonical and a damaged one is refused, never trusted.");
  machine_open (&m, BANK_LEDGER_PATH);
  machine_ok (&m, "open", "{\"account\":\"zed\"}", "{\"account\":\"zed\",\"balance\":0}");
  machine_ok (&m, "open", "{\"account\":\"amy\"}", "{\"account\":\"amy\",\"balance\":0}");
  machine_ok (&m, "deposit", "{\"account\":\"zed\",\"amount\":7}", "{\"account\":\"zed\",\"balance\":7}");
  g_autoptr(GBytes) bytes = m.impl->snapshot (m.state);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   "{\"accounts\":[[\"amy\",0],[\"zed\",7]]}", 34);
  machine_check_roundtrip (&m);
  machine_check_refuses_snapshot (&m, "");
  machine_check_refuses_snapshot (&m, "{\"accounts\":[[\"a\",-1]]}");
  machine_check_refuses_snapshot (&m, "{\"accounts\":[[\"b\",1],[\"a\",1]]}");
  machine_check_refuses_snapshot (&m, "{\"accounts\":[[\"a\",1],[\"a\",1]]}");
  machine_check_refuses_snapshot (&m, "{\"accounts\":{}}");
  machine_close (&m);
}

static void
test_queue_leases (void)
{
  Machine m;

  g_test_summary ("The queue leases its oldest job until a deadline the commands' own time decides.");
  machine_open (&m, JOB_QUEUE_PATH);
  machine_ok (&m, "lease", "{\"worker\":\"w1\",\"now\":0,\"lease_ms\":100}", "{\"job\":null}");
  machine_ok (&m, "enqueue", "{\"job\":\"j1\"}", "{\"job\":\"j1\",\"position\":0}");
  machine_ok (&m, "enqueue", "{\"job\":\"j2\"}", "{\"job\":\"j2\",\"position\":1}");
  machine_refused (&m, "enqueue", "{\"job\":\"j1\"}", "already enqueued");
  machine_ok (&m, "lease", "{\"worker\":\"w1\",\"now\":1000,\"lease_ms\":100}", "{\"job\":\"j1\",\"deadline\":1100}");
  machine_ok (&m, "lease", "{\"worker\":\"w2\",\"now\":1010,\"lease_ms\":500}", "{\"job\":\"j2\",\"deadline\":1510}");
  machine_refused (&m, "complete", "{\"job\":\"j1\",\"worker\":\"w2\",\"now\":1020}", "not leased to \"w2\"");
  machine_refused (&m, "complete", "{\"job\":\"j1\",\"worker\":\"w1\",\"now\":1100}", "the lease ended at 1100");
  machine_ok (&m, "expire", "{\"now\":1100}", "{\"expired\":[\"j1\"]}");
  machine_refused (&m, "complete", "{\"job\":\"j1\",\"worker\":\"w1\",\"now\":1050}", "is queued");
  machine_ok (&m, "complete", "{\"job\":\"j2\",\"worker\":\"w2\",\"now\":1200}", "{\"job\":\"j2\",\"state\":\"done\"}");
  machine_ok (&m, "lease", "{\"worker\":\"w3\",\"now\":1300,\"lease_ms\":10}", "{\"job\":\"j1\",\"deadline\":1310}");
  machine_ok (&m, "expire", "{\"now\":1305}", "{\"expired\":[]}");
  machine_refused (&m, "lease", "{\"worker\":\"w3\",\"now\":-1,\"lease_ms\":10}", "payload.now");
  machine_refused (&m, "lease", "{\"worker\":\"w3\",\"now\":1,\"lease_ms\":0}", "payload.lease_ms");
  machine_refused (&m, "complete", "{\"job\":\"nope\",\"worker\":\"w3\",\"now\":1}", "no job \"nope\"");
  machine_refused (&m, "dequeue", "{}", "unknown operation");
  machine_check_roundtrip (&m);
  machine_check_refuses_snapshot (&m, "{\"jobs\":[[\"j1\",\"leased\"]]}");
  machine_check_refuses_snapshot (&m, "{\"jobs\":[[\"j1\",\"queued\"],[\"j1\",\"done\"]]}");
  machine_check_refuses_snapshot (&m, "{\"jobs\":[[\"j1\",\"lost\"]]}");
  machine_check_refuses_snapshot (&m, "nope");
  machine_close (&m);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plugin/examples/ledger/never-negative", test_ledger_never_negative);
  g_test_add_func ("/plugin/examples/ledger/snapshots", test_ledger_snapshots);
  g_test_add_func ("/plugin/examples/queue/leases", test_queue_leases);
  return g_test_run ();
}
