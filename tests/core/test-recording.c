/* tests/core/test-recording.c: the lines a recorded node's inputs are
 * written as (core/recording.h): every kind read back as written, the
 * header with a durable state and without the secret, the drain digest
 * sensitive to any output, and bad lines refused naming the field. */
#include <string.h>

#include "codec.h"
#include "error.h"
#include "recording.h"

static DsmInput
read_line (const char *text)
{
  DsmInput in = { 0 };
  g_autoptr(GError) error = NULL;
  gsize length = strlen (text);

  g_assert_true (length > 0 && text[length - 1] == '\n');
  if (!dsm_recording_read_input (text, length - 1, &in, &error))
    g_error ("%s: %s", text, error->message);
  return in;
}

static void
test_inputs_round_trip (void)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(DsmMessage) msg = dsm_message_new (DSM_MSG_COMMIT, 2, 1, 7);
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = (char *) "job", .to = (char *) "Running",
                     .client_id = (char *) "c1", .seq = 4 };
  DsmInput in;

  g_test_summary ("Every kind of input line reads back with what was written.");
  msg->commit_index = 12;
  dsm_recording_write_tick (out, 1234);
  in = read_line (out->str);
  g_assert_cmpint (in.kind, ==, DSM_INPUT_TICK);
  g_assert_cmpuint (in.now_ms, ==, 1234);
  dsm_input_clear (&in);

  g_string_truncate (out, 0);
  dsm_recording_write_start (out, 1200);
  in = read_line (out->str);
  g_assert_cmpint (in.kind, ==, DSM_INPUT_START);
  g_assert_cmpuint (in.now_ms, ==, 1200);
  dsm_input_clear (&in);

  g_string_truncate (out, 0);
  dsm_recording_write_step (out, 1300, msg);
  in = read_line (out->str);
  g_assert_cmpint (in.kind, ==, DSM_INPUT_STEP);
  g_assert_cmpuint (in.now_ms, ==, 1300);
  g_assert_cmpint (in.msg->type, ==, DSM_MSG_COMMIT);
  g_assert_cmpuint (in.msg->from, ==, 2);
  g_assert_cmpuint (in.msg->commit_index, ==, 12);
  dsm_input_clear (&in);

  g_string_truncate (out, 0);
  dsm_recording_write_submit (out, 1400, 9, &cmd);
  in = read_line (out->str);
  g_assert_cmpint (in.kind, ==, DSM_INPUT_SUBMIT);
  g_assert_cmpuint (in.request_id, ==, 9);
  g_assert_cmpstr (in.cmd.machine, ==, "job");
  g_assert_cmpstr (in.cmd.to, ==, "Running");
  g_assert_cmpstr (in.cmd.client_id, ==, "c1");
  g_assert_cmpuint (in.cmd.seq, ==, 4);
  dsm_input_clear (&in);

  g_string_truncate (out, 0);
  dsm_recording_write_persisted (out, 1500, 17);
  in = read_line (out->str);
  g_assert_cmpint (in.kind, ==, DSM_INPUT_PERSISTED);
  g_assert_cmpuint (in.seq, ==, 17);
  dsm_input_clear (&in);

  g_string_truncate (out, 0);
  dsm_recording_write_event_mask (out, 0x5a);
  in = read_line (out->str);
  g_assert_cmpuint (in.mask, ==, 0x5a);
  dsm_input_clear (&in);

  g_string_truncate (out, 0);
  dsm_recording_write_report_applies (out, TRUE);
  in = read_line (out->str);
  g_assert_true (in.on);
  dsm_input_clear (&in);

  g_string_truncate (out, 0);
  dsm_recording_write_disk_full (out, 1600, TRUE);
  in = read_line (out->str);
  g_assert_cmpint (in.kind, ==, DSM_INPUT_DISK_FULL);
  g_assert_cmpuint (in.now_ms, ==, 1600);
  g_assert_true (in.on);
  dsm_input_clear (&in);

  g_string_truncate (out, 0);
  dsm_recording_write_unsent (out, msg);
  in = read_line (out->str);
  g_assert_cmpint (in.kind, ==, DSM_INPUT_UNSENT);
  g_assert_cmpuint (in.msg->to, ==, 1);
  dsm_input_clear (&in);

  g_string_truncate (out, 0);
  dsm_recording_write_end (out, "limit");
  in = read_line (out->str);
  g_assert_cmpstr (in.why, ==, "limit");
  dsm_input_clear (&in);
}

static void
test_drain_digest (void)
{
  DsmOutbox a, b;
  char ha[DSM_RECORDING_DIGEST_HEX + 1], hb[DSM_RECORDING_DIGEST_HEX + 1];
  g_autoptr(GString) out = g_string_new (NULL);

  g_test_summary ("A drain's digest is the same for the same outputs and changes with any "
                  "field of any output; its line carries the counts and the digest.");
  dsm_outbox_init (&a);
  dsm_outbox_init (&b);
  for (guint k = 0; k < 2; k++)
    {
      DsmOutbox *o = k == 0 ? &a : &b;
      DsmClientReply fields = { .request_id = 3, .status = DSM_REPLY_OK, .machine = "job",
                                .state = "Running", .latency_ms = 12 };
      g_ptr_array_add (o->replies, dsm_client_reply_new (&fields));
      g_ptr_array_add (o->messages, dsm_message_new (DSM_MSG_COMMIT, 1, 2, 3));
    }
  dsm_recording_digest (&a, ha);
  dsm_recording_digest (&b, hb);
  g_assert_cmpuint (strlen (ha), ==, DSM_RECORDING_DIGEST_HEX);
  g_assert_cmpstr (ha, ==, hb);
  ((DsmClientReply *) b.replies->pdata[0])->latency_ms = 13;
  dsm_recording_digest (&b, hb);
  g_assert_cmpstr (ha, !=, hb);
  ((DsmClientReply *) b.replies->pdata[0])->latency_ms = 12;
  ((DsmMessage *) b.messages->pdata[0])->epoch = 4;
  dsm_recording_digest (&b, hb);
  g_assert_cmpstr (ha, !=, hb);

  dsm_recording_write_drain (out, &a);
  DsmInput in = read_line (out->str);
  g_assert_cmpint (in.kind, ==, DSM_INPUT_DRAIN);
  g_assert_cmpuint (in.counts[1], ==, 1);
  g_assert_cmpuint (in.counts[2], ==, 1);
  g_assert_cmpstr (in.digest, ==, ha);
  dsm_input_clear (&in);
  dsm_outbox_clear (&a);
  dsm_outbox_clear (&b);
}

static void
test_header (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(GString) out = g_string_new (NULL);
  DsmDurableState durable = { .epoch = 5, .voted_for = 2, .entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref) };
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = (char *) "job", .to = (char *) "Running" };
  DsmRecordingHeader header = { 0 };
  g_autoptr(GError) error = NULL;

  g_test_summary ("The header holds the config without its secret, the seed, the time and "
                  "the durable state the node was built from.");
  config->secret = g_strdup ("do-not-write-me");
  g_ptr_array_add (durable.entries, dsm_entry_new (1, 4, DSM_ENTRY_NOOP, NULL));
  g_ptr_array_add (durable.entries, dsm_entry_new (2, 5, DSM_ENTRY_COMMAND, &cmd));
  dsm_recording_write_header (out, config, 2, 987654, &durable, 4242);
  g_assert_null (strstr (out->str, "do-not-write-me"));
  g_assert_true (dsm_recording_read_header (out->str, out->len - 1, &header, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (header.id, ==, 2);
  g_assert_cmpuint (header.seed, ==, 987654);
  g_assert_cmpuint (header.now_ms, ==, 4242);
  g_assert_cmpuint (header.config->n_nodes, ==, 3);
  g_assert_null (header.config->secret);
  g_assert_cmpuint (header.durable.epoch, ==, 5);
  g_assert_cmpuint (header.durable.voted_for, ==, 2);
  g_assert_cmpuint (header.durable.entries->len, ==, 2);
  g_assert_true (dsm_entry_equal (header.durable.entries->pdata[1], durable.entries->pdata[1]));
  dsm_recording_header_clear (&header);
  dsm_durable_state_clear (&durable);
}

static const struct {
  const char *line;
  const char *message;
} bad_lines[] = {
  { "{\"i\":\"tock\",\"t\":1}", "i: " },
  { "{\"i\":\"tick\"}", "t: required key is missing" },
  { "{\"i\":\"tick\",\"t\":-1}", "t: " },
  { "{\"i\":\"tick\",\"t\":1,\"colour\":1}", "colour: unknown key" },
  { "{\"i\":\"drain\",\"out\":[1,2,3],\"sha\":\"00000000000000000000000000000000\"}", "out: expected 5 counts, found 3" },
  { "{\"i\":\"drain\",\"out\":[0,0,0,0,0],\"sha\":\"abc\"}", "sha: expected 32 hex digits" },
  { "{\"i\":\"step\",\"t\":1,\"msg\":{\"type\":\"bogus\"}}", "msg: " },
  { "{\"i\":\"tick\",\"t\":1} {}", "trailing" },
};

static void
test_bad_lines (void)
{
  g_test_summary ("A recording is outside input: bad lines are refused with the field named.");
  for (guint i = 0; i < G_N_ELEMENTS (bad_lines); i++)
    {
      DsmInput in = { 0 };
      g_autoptr(GError) error = NULL;
      g_assert_false (dsm_recording_read_input (bad_lines[i].line, strlen (bad_lines[i].line), &in, &error));
      g_assert_nonnull (error);
      if (strstr (error->message, bad_lines[i].message) == NULL)
        g_error ("%s: expected \"%s\" in \"%s\"", bad_lines[i].line, bad_lines[i].message, error->message);
      dsm_input_clear (&in);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/recording/inputs-round-trip", test_inputs_round_trip);
  g_test_add_func ("/core/recording/drain-digest", test_drain_digest);
  g_test_add_func ("/core/recording/header", test_header);
  g_test_add_func ("/core/recording/bad-lines", test_bad_lines);
  return g_test_run ();
}
