/* tests/core/test-payload.c: data on machines: payloads on the wire and in
 * records, judged against a definition's fields, merged into the machine's
 * data, kept by snapshots; revisions and compare-and-set on them. */
#include <string.h>

#include "codec.h"
#include "config.h"
#include "error.h"
#include "json.h"
#include "machine.h"
#include "payload.h"
#include "store.h"

/* A "job" definition with data: Init -> Running requires an owner. */
static const char job_spec[] =
  "{\"name\":\"job\",\"states\":[\"Init\",\"Running\",\"Done\"],\"initial\":\"Init\","
  "\"transitions\":[{\"from\":\"Init\",\"to\":\"Running\",\"requires\":[\"owner\"]},"
  "{\"from\":\"Running\",\"to\":\"Running\"},{\"from\":\"Running\",\"to\":\"Done\"}],"
  "\"fields\":{\"owner\":\"string\",\"retries\":\"integer\",\"amount\":\"number\","
  "\"tags\":\"array\",\"urgent\":\"boolean\",\"extra\":\"object\"}}";

static DsmConfig *
job_config (void)
{
  g_autofree char *text = g_strdup_printf ("{\"cluster_id\":\"t\",\"nodes\":[{\"id\":1}],"
                                           "\"definitions\":[%s]}", job_spec);
  g_autoptr(GError) error = NULL;
  DsmConfig *config = dsm_config_new_from_data (text, -1, NULL, NULL, &error);

  g_assert_no_error (error);
  return config;
}

static DsmEntry *
transition (guint64 index, const char *machine, const char *to, const char *payload,
            gboolean cas, guint64 if_revision)
{
  DsmCommand cmd = {
    .op = DSM_OP_TRANSITION,
    .machine = (char *) machine,
    .definition = (char *) "job",
    .to = (char *) to,
    .payload = (char *) payload,
    .has_if_revision = cas,
    .if_revision = if_revision,
  };
  return dsm_entry_new (index, 1, DSM_ENTRY_COMMAND, &cmd);
}

/* Applies the next entry; returns its status. */
static DsmReplyStatus
apply (DsmStore *store, DsmEntry *entry, guint64 *revision)
{
  DsmApplyResult result;
  g_autoptr(GError) error = NULL;

  g_assert_true (dsm_store_apply (store, entry, &result, &error));
  g_assert_no_error (error);
  if (revision != NULL)
    *revision = result.revision;
  dsm_apply_result_clear (&result);
  dsm_entry_unref (entry);
  return result.status;
}

static void
test_canonical (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = dsm_payload_parse ("{ \"b\": [1, 2.0, 0.1, -7], \"a\": {\"y\": null, \"x\": true}, \"c\": \"\\u00e9\\n\" }",
                                                "payload", &dsm_payload_ceilings, &error);

  g_test_summary ("A payload has one canonical spelling (keys sorted, a double stays a double, "
                  "shortest exact numbers), and writing it again changes nothing: nodes compare "
                  "machine data byte for byte.");
  g_assert_no_error (error);
  g_autofree char *text = dsm_payload_to_text (node);
  g_assert_cmpstr (text, ==, "{\"a\":{\"x\":true,\"y\":null},\"b\":[1,2.0,0.1,-7],\"c\":\"\xc3\xa9\\n\"}");
  g_autoptr(JsonNode) again = dsm_payload_parse (text, "payload", &dsm_payload_ceilings, &error);
  g_assert_no_error (error);
  g_autofree char *text2 = dsm_payload_to_text (again);
  g_assert_cmpstr (text2, ==, text);
}

static void
test_parse_bounds (void)
{
  static const DsmPayloadLimits small = { 64, 2, 2 };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  g_test_summary ("Payload limits are enforced while parsing, each refusal naming what broke "
                  "the bound: bytes before anything is allocated, nesting, top-level fields, "
                  "and a payload that is not an object.");
  node = dsm_payload_parse ("{\"a\":\"0123456789012345678901234567890123456789012345678901234567890\"}",
                            "payload", &small, &error);
  g_assert_null (node);
  g_assert_nonnull (strstr (error->message, "more than 64"));
  g_clear_error (&error);
  node = dsm_payload_parse ("{\"a\":[[1]]}", "payload", &small, &error);
  g_assert_null (node);
  g_assert_error (error, DSM_JSON_ERROR, DSM_JSON_ERROR_TOO_DEEP);
  g_clear_error (&error);
  node = dsm_payload_parse ("{\"a\":1,\"b\":2,\"c\":3}", "payload", &small, &error);
  g_assert_null (node);
  g_assert_cmpstr (error->message, ==, "payload: 3 fields, more than 2");
  g_clear_error (&error);
  node = dsm_payload_parse ("[1]", "payload", &small, &error);
  g_assert_null (node);
  g_assert_cmpstr (error->message, ==, "payload: expected an object, found an array");
}

static void
test_codec_round_trip (void)
{
  g_autoptr(DsmEntry) entry = transition (9, "job-1", "Running", "{\"owner\":\"ann\"}", TRUE, 0);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  g_test_summary ("An entry's payload and if_revision travel and are recorded as written (the "
                  "payload as a string, so its nesting is not the message's); an entry written "
                  "before they existed reads as no payload and no revision condition.");
  dsm_codec_write_entry (out, entry);
  g_assert_nonnull (strstr (out->str, "\"payload\":\"{\\\"owner\\\":\\\"ann\\\"}\",\"if_revision\":0"));
  g_autoptr(JsonNode) node = dsm_codec_parse (out->str, out->len, &error);
  g_assert_no_error (error);
  g_autoptr(DsmEntry) back = dsm_codec_entry_from_json (node, "entry", &error);
  g_assert_no_error (error);
  g_assert_true (dsm_entry_equal (entry, back));
  g_assert_true (back->cmd.has_if_revision);
  g_assert_cmpuint (back->cmd.if_revision, ==, 0);

  static const char old[] = "{\"index\":3,\"epoch\":1,\"kind\":\"command\",\"op\":\"transition\","
                            "\"machine\":\"m\",\"to\":\"Running\"}";
  g_autoptr(JsonNode) old_node = dsm_codec_parse (old, strlen (old), &error);
  g_autoptr(DsmEntry) old_entry = dsm_codec_entry_from_json (old_node, "entry", &error);
  g_assert_no_error (error);
  g_assert_null (old_entry->cmd.payload);
  g_assert_false (old_entry->cmd.has_if_revision);

  static const char on_read[] = "{\"index\":3,\"epoch\":1,\"kind\":\"command\",\"op\":\"read\","
                                "\"machine\":\"m\",\"payload\":\"{}\"}";
  g_autoptr(JsonNode) read_node = dsm_codec_parse (on_read, strlen (on_read), &error);
  g_autoptr(DsmEntry) read_entry = dsm_codec_entry_from_json (read_node, "entry", &error);
  g_assert_null (read_entry);
  g_assert_nonnull (strstr (error->message, "payload: not allowed in a read command"));
}

static void
test_validated_on_apply (void)
{
  g_autoptr(DsmConfig) config = job_config ();
  g_autoptr(DsmStore) store = dsm_store_new (config);
  static const struct {
    const char *payload;
    const char *to;
    const char *message;
  } bad[] = {
    { NULL, "Running", "payload: missing, Init -> Running requires \"owner\"" },
    { "{\"retries\":1}", "Running", "payload.owner: required by Init -> Running, missing" },
    { "{\"owner\":null}", "Running", "payload.owner: required by Init -> Running, null" },
    { "{\"owner\":7}", "Running", "payload.owner: expected a string, found 7" },
    { "{\"owner\":\"a\",\"retries\":1.5}", "Running", "payload.retries: expected an integer, found 1.5" },
    { "{\"owner\":\"a\",\"ownr\":1}", "Running", "payload.ownr: unknown key (did you mean \"owner\"?)" },
    { "{\"owner\":\"a\",\"tags\":{}}", "Running", "payload.tags: expected an array, found an object" },
    { "{\"owner\":\"a\",", "Running", "payload: byte 13: unexpected end of input" },
  };

  g_test_summary ("A payload the definition refuses is a Reject when applied, the same on every "
                  "node, whose reason names the field: missing required ones, wrong types, "
                  "unknown keys (with a suggestion), text that is not JSON.");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      DsmApplyResult result;
      g_autoptr(DsmEntry) entry = transition (i + 1, "job-1", bad[i].to, bad[i].payload, FALSE, 0);
      g_autoptr(GError) error = NULL;
      DsmRejectReason reason = DSM_REJECT_NONE;

      g_assert_false (dsm_store_validate (store, &entry->cmd, &reason, NULL, NULL, &error));
      g_assert_cmpint (reason, ==, DSM_REJECT_BAD_REQUEST);
      if (strstr (error->message, bad[i].message) == NULL)
        g_error ("%s: expected \"%s\"", error->message, bad[i].message);
      g_assert_true (dsm_store_apply (store, entry, &result, NULL));
      g_assert_cmpint (result.status, ==, DSM_REPLY_REJECTED);
      g_assert_cmpint (result.reason, ==, DSM_REJECT_BAD_REQUEST);
      g_assert_cmpuint (result.revision, ==, 0);
      dsm_apply_result_clear (&result);
    }
  g_assert_cmpuint (dsm_store_get_n_machines (store), ==, 0);
}

static void
test_merge_and_revision (void)
{
  g_autoptr(DsmConfig) config = job_config ();
  g_autoptr(DsmStore) store = dsm_store_new (config);
  guint64 revision = 0;
  const char *data = NULL;

  g_test_summary ("A payload merges into the machine's data one level deep (a key replaces, "
                  "null removes), and the machine's revision is the index of the entry that last "
                  "changed it; reads return both.");
  g_assert_cmpint (apply (store, transition (1, "job-1", "Running",
                                             "{\"owner\":\"ann\",\"tags\":[\"a\"],\"retries\":0}",
                                             FALSE, 0), &revision), ==, DSM_REPLY_OK);
  g_assert_cmpuint (revision, ==, 1);
  g_assert_cmpint (apply (store, transition (2, "job-2", "Running", "{\"owner\":\"bob\"}", FALSE, 0),
                          NULL), ==, DSM_REPLY_OK);
  g_assert_cmpint (apply (store, transition (3, "job-1", "Running",
                                             "{\"retries\":1,\"tags\":null,\"amount\":2.5}",
                                             FALSE, 0), &revision), ==, DSM_REPLY_OK);
  g_assert_cmpuint (revision, ==, 3);
  const char *state = dsm_store_read_data (store, "job-1", NULL, NULL, &revision, &data);
  g_assert_cmpstr (state, ==, "Running");
  g_assert_cmpuint (revision, ==, 3);
  g_assert_cmpstr (data, ==, "{\"amount\":2.5,\"owner\":\"ann\",\"retries\":1}");
  /* No payload: the data stays, the revision moves. */
  g_assert_cmpint (apply (store, transition (4, "job-1", "Done", NULL, FALSE, 0), &revision), ==,
                   DSM_REPLY_OK);
  dsm_store_read_data (store, "job-1", NULL, NULL, &revision, &data);
  g_assert_cmpuint (revision, ==, 4);
  g_assert_cmpstr (data, ==, "{\"amount\":2.5,\"owner\":\"ann\",\"retries\":1}");
  dsm_store_read_data (store, "never", "job", NULL, &revision, &data);
  g_assert_cmpuint (revision, ==, 0);
  g_assert_null (data);
}

static void
test_if_revision (void)
{
  g_autoptr(DsmConfig) config = job_config ();
  g_autoptr(DsmStore) store = dsm_store_new (config);
  guint64 revision = 0;
  const char *data = NULL;

  g_test_summary ("A transition with if_revision applies only while the machine is still at that "
                  "revision (0: never changed); otherwise it is refused naming the current "
                  "revision and state, and changes nothing.");
  g_assert_cmpint (apply (store, transition (1, "c", "Running", "{\"owner\":\"a\",\"retries\":1}",
                                             TRUE, 0), &revision), ==, DSM_REPLY_OK);
  g_assert_cmpint (apply (store, transition (2, "c", "Running", "{\"retries\":2}", TRUE, 1),
                          &revision), ==, DSM_REPLY_OK);
  g_assert_cmpuint (revision, ==, 2);

  g_autoptr(DsmEntry) stale = transition (3, "c", "Running", "{\"retries\":2}", TRUE, 1);
  g_autoptr(GError) error = NULL;
  DsmRejectReason reason = DSM_REJECT_NONE;
  g_assert_false (dsm_store_validate (store, &stale->cmd, &reason, NULL, NULL, &error));
  g_assert_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_REVISION_MISMATCH);
  g_assert_cmpstr (error->message, ==,
                   "machine \"c\" is at revision 2 (in Running), not 1: transition to Running refused");
  g_assert_cmpint (reason, ==, DSM_REJECT_INVALID_TRANSITION);
  g_assert_cmpint (apply (store, dsm_entry_ref (stale), &revision), ==, DSM_REPLY_REJECTED);
  g_assert_cmpuint (revision, ==, 2);
  dsm_store_read_data (store, "c", NULL, NULL, &revision, &data);
  g_assert_cmpuint (revision, ==, 2);
  g_assert_cmpstr (data, ==, "{\"owner\":\"a\",\"retries\":2}");
}

static void
test_snapshot_keeps_data (void)
{
  g_autoptr(DsmConfig) config = job_config ();
  g_autoptr(DsmStore) store = dsm_store_new (config);
  g_autoptr(DsmStore) restored = dsm_store_new (config);
  g_autoptr(GError) error = NULL;
  guint64 revision = 0;
  const char *data = NULL;

  g_test_summary ("Snapshots carry each machine's data and revision, restore them exactly, and an "
                  "incremental snapshot keeps the data of its begin for machines changed while it "
                  "is written.");
  apply (store, transition (1, "a", "Running", "{\"owner\":\"ann\"}", FALSE, 0), NULL);
  apply (store, transition (2, "b", "Running", "{\"owner\":\"bob\"}", FALSE, 0), NULL);
  g_autoptr(GBytes) whole = dsm_store_snapshot (store);
  dsm_store_snapshot_begin (store);
  apply (store, transition (3, "b", "Running", "{\"owner\":\"eve\"}", FALSE, 0), NULL);
  while (!dsm_store_snapshot_step (store, 1))
    ;
  g_autoptr(GBytes) incremental = dsm_store_snapshot_finish (store);
  g_assert_true (g_bytes_equal (whole, incremental));

  g_assert_true (dsm_store_restore (restored, whole, &error));
  g_assert_no_error (error);
  dsm_store_read_data (restored, "b", NULL, NULL, &revision, &data);
  g_assert_cmpuint (revision, ==, 2);
  g_assert_cmpstr (data, ==, "{\"owner\":\"bob\"}");
  g_autoptr(GBytes) again = dsm_store_snapshot (restored);
  g_assert_true (g_bytes_equal (whole, again));
}

static void
test_old_snapshot (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (1);
  g_autoptr(DsmStore) store = dsm_store_new (config);
  g_autoptr(GError) error = NULL;
  guint64 revision = 0;
  const char *data = "x";
  static const char old[] =
    "{\"format\":\"dsm-store-1\",\"applied_index\":5,\"applied_epoch\":1,"
    "\"machines\":[{\"name\":\"m\",\"definition\":\"lifecycle\",\"state\":\"Running\",\"index\":4}],"
    "\"sessions\":[{\"client_id\":\"c\",\"last_index\":4,\"results\":[{\"seq\":1,\"status\":\"ok\","
    "\"reason\":\"none\",\"index\":4,\"definition\":\"lifecycle\",\"from\":\"Init\",\"state\":\"Running\"}]}]}";
  static const char bad_data[] =
    "{\"format\":\"dsm-store-1\",\"applied_index\":5,\"applied_epoch\":1,"
    "\"machines\":[{\"name\":\"m\",\"definition\":\"lifecycle\",\"state\":\"Running\",\"index\":4,"
    "\"data\":\"[1]\"}],\"sessions\":[]}";

  g_test_summary ("A snapshot written before machines had data restores with empty data, each "
                  "machine's revision its recorded index; data that is not an object's text is a "
                  "corrupt snapshot, named.");
  g_autoptr(GBytes) bytes = g_bytes_new_static (old, sizeof old - 1);
  g_assert_true (dsm_store_restore (store, bytes, &error));
  g_assert_no_error (error);
  dsm_store_read_data (store, "m", NULL, NULL, &revision, &data);
  g_assert_cmpuint (revision, ==, 4);
  g_assert_null (data);

  g_autoptr(GBytes) bad = g_bytes_new_static (bad_data, sizeof bad_data - 1);
  g_assert_false (dsm_store_restore (store, bad, &error));
  g_assert_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "snapshot.machines[0]: data: expected an object"));
}

static void
test_definition_fields (void)
{
  static const struct {
    const char *spec;
    const char *message;
  } bad[] = {
    { "{\"name\":\"d\",\"states\":[\"A\"],\"initial\":\"A\",\"transitions\":[],\"fields\":{\"n\":\"int\"}}",
      "fields.n: expected \"string\", \"integer\", \"number\", \"boolean\", \"array\" or \"object\", found \"int\"" },
    { "{\"name\":\"d\",\"states\":[\"A\"],\"initial\":\"A\",\"transitions\":[{\"from\":\"A\",\"to\":\"A\",\"requires\":[\"n\"]}]}",
      "transitions[0].requires: the definition declares no \"fields\" to require" },
    { "{\"name\":\"d\",\"states\":[\"A\"],\"initial\":\"A\",\"transitions\":[{\"from\":\"A\",\"to\":\"A\",\"requires\":[\"nme\"]}],\"fields\":{\"name\":\"string\"}}",
      "transitions[0].requires[0]: \"nme\" is not a declared field (did you mean \"name\"?)" },
  };

  g_test_summary ("A definition's fields and required fields are checked when it is read, each "
                  "problem naming its place; a valid one is written back with them.");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = dsm_json_parse (bad[i].spec, -1, NULL, NULL, &error);
      g_autoptr(DsmMachineDef) def = dsm_machine_def_new_from_json (node, NULL, &error);

      g_assert_null (def);
      if (strstr (error->message, bad[i].message) == NULL)
        g_error ("%s: expected \"%s\"", error->message, bad[i].message);
    }
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = dsm_json_parse (job_spec, -1, NULL, NULL, &error);
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_from_json (node, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(JsonNode) back = dsm_machine_def_to_json (def);
  g_autoptr(DsmMachineDef) again = dsm_machine_def_new_from_json (back, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(JsonNode) payload = dsm_payload_parse ("{\"retries\":1}", "payload", &dsm_payload_ceilings,
                                                   &error);
  g_assert_false (dsm_machine_def_check_payload (again, "Init", "Running", payload, NULL));
  g_assert_true (dsm_machine_def_check_payload (again, "Running", "Done", payload, NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/payload/canonical", test_canonical);
  g_test_add_func ("/payload/parse-bounds", test_parse_bounds);
  g_test_add_func ("/payload/codec-round-trip", test_codec_round_trip);
  g_test_add_func ("/payload/validated-on-apply", test_validated_on_apply);
  g_test_add_func ("/payload/merge-and-revision", test_merge_and_revision);
  g_test_add_func ("/payload/if-revision", test_if_revision);
  g_test_add_func ("/payload/snapshot-keeps-data", test_snapshot_keeps_data);
  g_test_add_func ("/payload/old-snapshot", test_old_snapshot);
  g_test_add_func ("/payload/definition-fields", test_definition_fields);
  return g_test_run ();
}
