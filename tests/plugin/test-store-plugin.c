/* tests/plugin/test-store-plugin.c: the replicated store runs a machine
 * plugin's instances (core/store.c): commands reach the plugin's validate
 * and apply through log entries, its answers come back, refusals change
 * nothing, and its state travels in snapshots that restore only where the
 * same plugin runs (docs/PLUGINS.md). */
#include "core/config.h"
#include "core/error.h"
#include "core/fingerprint.h"
#include "core/store.h"
#include "plugin/plugin.h"

#include <string.h>

typedef struct {
  DsmPlugin *plugin;
  DsmConfig *config;
  DsmStore *store;
  guint64 index;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer path)
{
  g_autoptr(GError) error = NULL;

  f->plugin = dsm_plugin_load (path, &error);
  g_assert_no_error (error);
  f->config = dsm_config_new_default (3);
  g_assert_true (dsm_config_add_plugin (f->config, dsm_plugin_get_impl (f->plugin), &error));
  g_assert_no_error (error);
  f->store = dsm_store_new (f->config);
}

static void
fixture_tear_down (Fixture *f, gconstpointer path)
{
  dsm_store_free (f->store);
  dsm_config_unref (f->config);
  dsm_plugin_free (f->plugin);
}

/* Applies op @to with @payload to machine "bank" as the next log entry. */
static DsmReplyStatus
apply (Fixture *f, const char *to, const char *payload, char **output)
{
  DsmCommand cmd = {
    .op = DSM_OP_TRANSITION,
    .machine = (char *) "bank",
    .definition = (char *) "bank-ledger",
    .to = (char *) to,
    .payload = (char *) payload,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmEntry) entry = dsm_entry_new (++f->index, 1, DSM_ENTRY_COMMAND, &cmd);
  DsmApplyResult result;

  g_assert_true (dsm_store_apply (f->store, entry, &result, &error));
  g_assert_no_error (error);
  DsmReplyStatus status = result.status;
  if (status == DSM_REPLY_REJECTED)
    g_assert_cmpint (result.reason, ==, DSM_REJECT_INVALID_TRANSITION);
  if (output != NULL)
    *output = g_steal_pointer (&result.output);
  dsm_apply_result_clear (&result);
  return status;
}

static void
test_apply (Fixture *f, gconstpointer path)
{
  g_autofree char *a = NULL, *b = NULL, *c = NULL;

  g_test_summary ("Log entries reach the plugin: ok commands answer with its result, a refused one changes nothing.");
  g_assert_cmpint (apply (f, "open", "{\"account\":\"a\"}", &a), ==, DSM_REPLY_OK);
  g_assert_cmpstr (a, ==, "{\"account\":\"a\",\"balance\":0}");
  g_assert_cmpint (apply (f, "open", "{\"account\":\"b\"}", NULL), ==, DSM_REPLY_OK);
  g_assert_cmpint (apply (f, "deposit", "{\"account\":\"a\",\"amount\":10}", NULL), ==, DSM_REPLY_OK);
  const char *data = NULL;
  dsm_store_read_data (f->store, "bank", NULL, NULL, NULL, &data);
  g_autofree char *before = g_strdup (data);
  g_assert_cmpstr (before, ==, "{\"plugin_state\":\"{\\\"accounts\\\":[[\\\"a\\\",10],[\\\"b\\\",0]]}\"}");
  g_assert_cmpint (apply (f, "transfer", "{\"amount\":11,\"from\":\"a\",\"to\":\"b\"}", &b), ==, DSM_REPLY_REJECTED);
  g_assert_null (b);
  dsm_store_read_data (f->store, "bank", NULL, NULL, NULL, &data);
  g_assert_cmpstr (data, ==, before);
  g_assert_cmpint (apply (f, "transfer", "{\"amount\":10,\"from\":\"a\",\"to\":\"b\"}", &c), ==, DSM_REPLY_OK);
  g_assert_cmpstr (c, ==, "{\"from_balance\":0,\"to_balance\":10}");

  /* The leader's check before proposing names the plugin's reason. */
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = (char *) "bank", .to = (char *) "transfer",
                     .payload = (char *) "{\"amount\":1,\"from\":\"a\",\"to\":\"b\"}" };
  DsmRejectReason reason = DSM_REJECT_NONE;
  g_autoptr(GError) error = NULL;
  g_assert_false (dsm_store_validate (f->store, &cmd, &reason, NULL, NULL, &error));
  g_assert_cmpint (reason, ==, DSM_REJECT_INVALID_TRANSITION);
  g_assert_nonnull (strstr (error->message, "account \"a\" has 0, cannot transfer 1"));
}

static void
test_snapshot (Fixture *f, gconstpointer path)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("A snapshot carries the plugin's state: a store restored from it has the same digest and goes on alike.");
  apply (f, "open", "{\"account\":\"a\"}", NULL);
  apply (f, "deposit", "{\"account\":\"a\",\"amount\":7}", NULL);
  g_autoptr(GBytes) snapshot = dsm_store_snapshot (f->store);
  g_autoptr(DsmStore) other = dsm_store_new (f->config);
  g_assert_true (dsm_store_restore (other, snapshot, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_store_digest (other), ==, dsm_store_digest (f->store));
  g_autoptr(GBytes) again = dsm_store_snapshot (other);
  g_assert_true (g_bytes_equal (snapshot, again));

  /* Another node without the plugin refuses the snapshot, naming it. */
  g_autoptr(DsmConfig) bare = dsm_config_new_default (3);
  g_autoptr(DsmStore) stranger = dsm_store_new (bare);
  g_assert_false (dsm_store_restore (stranger, snapshot, &error));
  g_assert_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "needs the machine plugin"));
}

/* Applies a deposit of @amount to "a" from client "c1" at @seq; returns
 * the answer and whether the session answered it. */
static char *
apply_session (Fixture *f, DsmStore *store, guint64 seq, guint amount, gboolean *duplicate)
{
  g_autofree char *payload = g_strdup_printf ("{\"account\":\"a\",\"amount\":%u}", amount);
  DsmCommand cmd = {
    .op = DSM_OP_TRANSITION,
    .machine = (char *) "bank",
    .definition = (char *) "bank-ledger",
    .to = (char *) "deposit",
    .payload = payload,
    .client_id = (char *) "c1",
    .seq = seq,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmEntry) entry = dsm_entry_new (++f->index, 1, DSM_ENTRY_COMMAND, &cmd);
  DsmApplyResult result;

  g_assert_true (dsm_store_apply (store, entry, &result, &error));
  g_assert_no_error (error);
  g_assert_cmpint (result.status, ==, DSM_REPLY_OK);
  *duplicate = result.duplicate;
  char *output = g_steal_pointer (&result.output);
  dsm_apply_result_clear (&result);
  return output;
}

static void
test_session (Fixture *f, gconstpointer path)
{
  gboolean duplicate = FALSE;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A retried command (same client and sequence) is not applied again and hears the plugin's "
                  "first answer, also from a store restored from a snapshot.");
  apply (f, "open", "{\"account\":\"a\"}", NULL);
  g_autofree char *first = apply_session (f, f->store, 1, 5, &duplicate);
  g_assert_false (duplicate);
  g_assert_cmpstr (first, ==, "{\"account\":\"a\",\"balance\":5}");
  g_autofree char *again = apply_session (f, f->store, 1, 5, &duplicate);
  g_assert_true (duplicate);
  g_assert_cmpstr (again, ==, first);
  const char *data = NULL;
  dsm_store_read_data (f->store, "bank", NULL, NULL, NULL, &data);
  g_assert_nonnull (strstr (data, "[\\\"a\\\",5]"));

  g_autoptr(GBytes) snapshot = dsm_store_snapshot (f->store);
  g_autoptr(DsmStore) other = dsm_store_new (f->config);
  g_assert_true (dsm_store_restore (other, snapshot, &error));
  g_assert_no_error (error);
  g_autofree char *restored = apply_session (f, other, 1, 5, &duplicate);
  g_assert_true (duplicate);
  g_assert_cmpstr (restored, ==, first);
}

/* Applies @op to machine "m" of the BAD_OUTPUT plugin ("bad"). */
static DsmReplyStatus
apply_bad (Fixture *f, const char *op, char **detail)
{
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = (char *) "m", .definition = (char *) "bad",
                     .to = (char *) op };
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmEntry) entry = dsm_entry_new (++f->index, 1, DSM_ENTRY_COMMAND, &cmd);
  DsmApplyResult result;

  g_assert_true (dsm_store_apply (f->store, entry, &result, &error));
  g_assert_no_error (error);
  DsmReplyStatus status = result.status;
  *detail = g_steal_pointer (&result.detail);
  dsm_apply_result_clear (&result);
  return status;
}

static void
test_bad_output (Fixture *f, gconstpointer path)
{
  g_autofree char *ok = NULL, *garbage = NULL, *grow = NULL;
  const char *data = NULL;

  g_test_summary ("A plugin whose apply answers what is no JSON, or grows its state past the data limit, "
                  "has that command refused, naming why, and its state unchanged: never an abort.");
  g_assert_cmpint (apply_bad (f, "step", &ok), ==, DSM_REPLY_OK);
  dsm_store_read_data (f->store, "m", NULL, NULL, NULL, &data);
  g_autofree char *before = g_strdup (data);

  g_assert_cmpint (apply_bad (f, "garbage", &garbage), ==, DSM_REPLY_REJECTED);
  g_assert_nonnull (strstr (garbage, "bad's apply of garbage gave no usable answer"));
  g_assert_cmpint (apply_bad (f, "grow", &grow), ==, DSM_REPLY_REJECTED);
  g_assert_nonnull (strstr (grow, "more than 262144"));
  dsm_store_read_data (f->store, "m", NULL, NULL, NULL, &data);
  g_assert_cmpstr (data, ==, before);
}

static void
test_fingerprint (Fixture *f, gconstpointer path)
{
  g_test_summary ("The plugin's name and version are in the cluster fingerprint: nodes that run another one do not peer.");
  g_autofree char *text = dsm_fingerprint_text (f->config);
  g_assert_nonnull (strstr (text, "bank-ledger"));
  g_assert_nonnull (strstr (text, "1.0.0"));
  g_autoptr(DsmConfig) bare = dsm_config_new_default (3);
  g_autofree char *a = dsm_fingerprint_compute (f->config);
  g_autofree char *b = dsm_fingerprint_compute (bare);
  g_assert_cmpstr (a, !=, b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/plugin/store/apply", Fixture, BANK_LEDGER_PATH, fixture_set_up, test_apply, fixture_tear_down);
  g_test_add ("/plugin/store/snapshot", Fixture, BANK_LEDGER_PATH, fixture_set_up, test_snapshot, fixture_tear_down);
  g_test_add ("/plugin/store/session", Fixture, BANK_LEDGER_PATH, fixture_set_up, test_session, fixture_tear_down);
  g_test_add ("/plugin/store/bad-output", Fixture, BAD_OUTPUT_PATH, fixture_set_up, test_bad_output,
              fixture_tear_down);
  g_test_add ("/plugin/store/fingerprint", Fixture, BANK_LEDGER_PATH, fixture_set_up, test_fingerprint, fixture_tear_down);
  return g_test_run ();
}
