/* tests/core/test-sessions.c: the store's client sessions (core/store.c,
 * PROTOCOL.md "Client sessions"): each client's window of its last
 * session_window outcomes slides as commands apply, answers retries from
 * it, calls older seqs stale, and goes into snapshots exactly. */
#include <string.h>

#include "config.h"
#include "store.h"

static void
apply (DsmStore *store, guint64 index, const char *to, guint64 seq)
{
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .client_id = (char *) "c1", .seq = seq,
                     .machine = (char *) "m", .to = (char *) to };
  g_autoptr(DsmEntry) entry = dsm_entry_new (index, 1, DSM_ENTRY_COMMAND, &cmd);
  DsmApplyResult result;
  g_autoptr(GError) error = NULL;

  g_assert_true (dsm_store_apply (store, entry, &result, &error));
  g_assert_no_error (error);
  dsm_apply_result_clear (&result);
}

/* Whether the store remembers (c1, @seq); *@stale as it says. */
static gboolean
remembers (DsmStore *store, guint64 seq, gboolean *stale)
{
  DsmApplyResult result = { 0 };
  gboolean found = dsm_store_lookup_session (store, "c1", seq, &result, stale);

  if (found)
    g_assert_true (result.duplicate);
  dsm_apply_result_clear (&result);
  return found;
}

/* Exactly seqs @lo..@hi (and the extra ones listed, 0-terminated) are
 * remembered; below the window is stale, anything else is new. */
static void
assert_window (DsmStore *store, guint64 lo, guint64 hi, const guint64 *extra)
{
  for (guint64 seq = 1; seq <= hi + 2; seq++)
    {
      gboolean stale = FALSE, in = seq >= lo && seq <= hi;
      for (const guint64 *e = extra; e != NULL && *e != 0; e++)
        in = in || seq == *e;
      g_assert_cmpint (remembers (store, seq, &stale), ==, in);
      if (!in)
        g_assert_cmpint (stale, ==, seq < lo);
    }
}

static const char *const cycle[] = { "Running", "Stopped", "Init" };

static void
test_window_slides (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (1);
  config->session_window = 4;
  g_autoptr(DsmStore) store = dsm_store_new (config);
  g_autoptr(DsmStore) restored = dsm_store_new (config);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A client's window keeps its last session_window outcomes as it slides over "
                  "many windows' worth of commands: those answer retries, older ones are stale, "
                  "and a snapshot holds exactly the window, which a restore brings back alike.");
  for (guint64 seq = 1; seq <= 23; seq++)
    {
      apply (store, seq, cycle[(seq - 1) % 3], seq);
      assert_window (store, seq > 4 ? seq - 3 : 1, seq, NULL);
    }
  g_autoptr(GBytes) snapshot = dsm_store_snapshot (store);
  g_autofree char *text = g_strndup (g_bytes_get_data (snapshot, NULL), g_bytes_get_size (snapshot));
  g_assert_nonnull (strstr (text, "\"seq\":20"));
  g_assert_null (strstr (text, "\"seq\":19,"));
  g_assert_true (dsm_store_restore (restored, snapshot, &error));
  g_assert_no_error (error);
  assert_window (restored, 20, 23, NULL);
  g_autoptr(GBytes) again = dsm_store_snapshot (restored);
  g_assert_true (g_bytes_equal (snapshot, again));
}

static void
test_window_out_of_order (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (1);
  config->session_window = 4;
  g_autoptr(DsmStore) store = dsm_store_new (config);
  const guint64 extra[] = { 25, 30, 0 };

  g_test_summary ("A seq older than the newest but inside the window takes its place in order: "
                  "the oldest leaves, the window stays ascending.");
  for (guint64 seq = 1; seq <= 10; seq++)
    apply (store, seq, cycle[(seq - 1) % 3], seq);
  apply (store, 11, "Running", 30);
  apply (store, 12, "Stopped", 25);
  assert_window (store, 9, 10, extra);
  /* The window is now 9, 10, 25, 30: a snapshot lists them ascending. */
  g_autoptr(GBytes) snapshot = dsm_store_snapshot (store);
  g_autofree char *text = g_strndup (g_bytes_get_data (snapshot, NULL), g_bytes_get_size (snapshot));
  const char *at9 = strstr (text, "\"seq\":9,"), *at25 = strstr (text, "\"seq\":25,"), *at30 = strstr (text, "\"seq\":30,");
  g_assert_true (at9 != NULL && at25 != NULL && at30 != NULL);
  g_assert_true (at9 < at25 && at25 < at30);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/store/sessions/window-slides", test_window_slides);
  g_test_add_func ("/core/store/sessions/window-out-of-order", test_window_out_of_order);
  return g_test_run ();
}
