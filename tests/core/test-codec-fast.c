/* tests/core/test-codec-fast.c: the decoder's fast path (core/codec-fast.c)
 * against the full reading (core/codec-read.c): what the fast path accepts,
 * the full reading accepts as an equal message; what dsm writes in the
 * common shapes, the fast path accepts; the rare shapes it declines. */
#include <string.h>

#include "codec.h"
#include "wire-samples.h"

/* The full reading alone, without the fast path in front. */
static DsmMessage *
decode_full (const char *text, gsize length, GError **error)
{
  g_autoptr(JsonNode) root = dsm_codec_parse (text, length, error);

  return root != NULL ? dsm_codec_message_from_json (root, error) : NULL;
}

/* The property: accepted by the fast path means accepted, equal, by the
 * full reading.  Returns whether the fast path accepted. */
static gboolean
check_agrees (const char *text, gsize length)
{
  g_autoptr(DsmMessage) fast = dsm_codec_decode_message_fast (text, length);
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmMessage) full = decode_full (text, length, &error);

  if (fast == NULL)
    return FALSE;
  if (full == NULL)
    g_error ("the fast path accepted what the full reading refuses (%s): %.*s", error->message,
             (int) MIN (length, 400), text);
  if (!dsm_message_equal (fast, full))
    g_error ("the fast path read a different message from: %.*s", (int) MIN (length, 400), text);
  return TRUE;
}

static const char *const names[] = { "m1", "pump/α\\1", "client-\"7\"", "a/b", "Running ✓", "x" };

static char *
random_name (GRand *rand)
{
  return g_strdup (names[g_rand_int_range (rand, 0, G_N_ELEMENTS (names))]);
}

/* A command entry with a random choice of the fields a transition, read or
 * define may carry. */
static DsmEntry *
random_command_entry (GRand *rand, guint64 index, guint64 epoch)
{
  static const DsmOp ops[] = { DSM_OP_TRANSITION, DSM_OP_READ, DSM_OP_DEFINE };
  DsmCommand cmd = { .op = ops[g_rand_int_range (rand, 0, G_N_ELEMENTS (ops))] };

  if (cmd.op != DSM_OP_DEFINE || g_rand_boolean (rand))
    cmd.machine = random_name (rand);
  if (cmd.op == DSM_OP_TRANSITION)
    cmd.to = random_name (rand);
  if (cmd.op == DSM_OP_DEFINE)
    {
      cmd.definition = random_name (rand);
      cmd.spec = g_strdup ("{\"states\":[\"A\",\"B\"],\"initial\":\"A\",\"transitions\":[[\"A\",\"B\"]]}");
    }
  else if (g_rand_boolean (rand))
    cmd.definition = g_strdup ("lifecycle");
  if (g_rand_int_range (rand, 0, 4) == 0)
    cmd.from = random_name (rand);
  if (g_rand_boolean (rand))
    {
      cmd.client_id = random_name (rand);
      cmd.seq = (guint64) g_rand_int_range (rand, 1, 1000000) * 1000;
    }
  if (cmd.op == DSM_OP_TRANSITION && g_rand_int_range (rand, 0, 3) == 0)
    cmd.payload = g_strdup ("{\"n\":7,\"note\":\"a \\\"quoted\\\" word/é\"}");
  if (cmd.op == DSM_OP_TRANSITION && g_rand_int_range (rand, 0, 3) == 0)
    {
      cmd.has_if_revision = TRUE;
      cmd.if_revision = (guint64) g_rand_int_range (rand, 0, 1 << 30);
    }
  return dsm_entry_new_take (index, epoch, &cmd);
}

static DsmMessage *
random_message (GRand *rand)
{
  static const DsmMessageType types[] = { DSM_MSG_PROPOSAL, DSM_MSG_ACK, DSM_MSG_COMMIT };
  DsmMessageType type = types[g_rand_int_range (rand, 0, G_N_ELEMENTS (types))];
  guint64 epoch = (guint64) g_rand_int_range (rand, 1, 1000);
  DsmMessage *msg = dsm_message_new (type, (DsmNodeId) g_rand_int_range (rand, 1, 9),
                                     (DsmNodeId) g_rand_int_range (rand, 1, 9), epoch);

  msg->hb_seq = (guint64) g_rand_int_range (rand, 0, 100000);
  if (type == DSM_MSG_PROPOSAL)
    {
      guint n = (guint) g_rand_int_range (rand, 0, 6);

      msg->prev_index = (guint64) g_rand_int_range (rand, 0, 1 << 20);
      msg->prev_epoch = msg->prev_index == 0 ? 0 : (guint64) g_rand_int_range (rand, 1, (gint32) epoch + 1);
      msg->commit_index = (guint64) g_rand_int_range (rand, 0, (gint32) msg->prev_index + 1);
      msg->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
      for (guint i = 0; i < n; i++)
        {
          guint64 index = msg->prev_index + 1 + i;

          g_ptr_array_add (msg->entries, g_rand_int_range (rand, 0, 5) == 0
                                         ? dsm_entry_new (index, epoch, DSM_ENTRY_NOOP, NULL)
                                         : random_command_entry (rand, index, epoch));
        }
    }
  else if (type == DSM_MSG_ACK)
    {
      msg->match_index = (guint64) g_rand_int_range (rand, 0, 1 << 20);
      msg->last_index = msg->match_index;
    }
  else
    msg->commit_index = (guint64) g_rand_int_range (rand, 0, 1 << 20);
  return msg;
}

/* A random message that passes dsm_message_check(): the generator's picks
 * are independent, so some are impossible (a commit past the log) and
 * drawn again. */
static DsmMessage *
random_valid_message (GRand *rand)
{
  for (;;)
    {
      DsmMessage *msg = random_message (rand);

      if (dsm_message_check (msg, NULL))
        return msg;
      dsm_message_unref (msg);
    }
}

static void
test_written_shapes_accepted (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261202);

  g_test_summary ("Every Proposal, Ack and Commit dsm writes, with every optional command field, "
                  "escapes and non-ASCII names, takes the fast path and decodes equal to itself "
                  "and to the full reading.");
  for (guint i = 0; i < 1200; i++)
    {
      g_autoptr(DsmMessage) msg = random_valid_message (rand);
      g_autofree char *text = dsm_codec_encode_message (msg);

      if (!check_agrees (text, strlen (text)))
        g_error ("the fast path declined what dsm writes: %s", text);
      g_autoptr(DsmMessage) fast = dsm_codec_decode_message_fast (text, strlen (text));
      g_assert_true (dsm_message_equal (fast, msg));
    }
}

/* One random edit of @text: a byte replaced (by one JSON cares about, most
 * often), deleted or inserted, or a span repeated. */
static GString *
mutate (GRand *rand, const char *text)
{
  static const char interesting[] = "{}[]\":,0123456789\\u-.eE+ntrfl \t\xc3\xa9\x80\x01";
  GString *out = g_string_new (text);
  gsize at = (gsize) g_rand_int_range (rand, 0, (gint32) out->len);
  char c = g_rand_int_range (rand, 0, 4) == 0 ? (char) g_rand_int_range (rand, 0, 256)
                                              : interesting[g_rand_int_range (rand, 0, sizeof interesting - 1)];

  switch (g_rand_int_range (rand, 0, 4))
    {
    case 0:
      out->str[at] = c;
      break;
    case 1:
      g_string_erase (out, (gssize) at, 1);
      break;
    case 2:
      g_string_insert_c (out, (gssize) at, c);
      break;
    default:
      {
        gsize length = (gsize) g_rand_int_range (rand, 1, 40);
        g_autofree char *span = g_strndup (out->str + at, MIN (length, out->len - at));

        g_string_insert (out, (gssize) g_rand_int_range (rand, 0, (gint32) out->len), span);
      }
    }
  return out;
}

static void
test_mutations_agree (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  guint accepted = 0;
  guint declined = 0;

  g_test_summary ("About 50,000 random edits of written messages (bytes replaced, deleted, inserted, "
                  "spans repeated): whatever the fast path accepts, the full reading accepts as "
                  "an equal message; and the edits reach both outcomes.");
  for (guint i = 0; i < 500; i++)
    {
      g_autoptr(DsmMessage) msg = random_valid_message (rand);
      g_autofree char *text = dsm_codec_encode_message (msg);

      for (guint j = 0; j < 100; j++)
        {
          g_autoptr(GString) edited = mutate (rand, text);

          if (check_agrees (edited->str, edited->len))
            accepted++;
          else
            declined++;
        }
    }
  g_test_message ("fast path: %u edits accepted, %u declined", accepted, declined);
  g_assert_cmpuint (accepted, >, 1000);
  g_assert_cmpuint (declined, >, 1000);
}

typedef struct {
  const char *text;
  gboolean full_accepts;   /* the full reading decodes it */
} Rare;

static void
test_rare_shapes_declined (void)
{
  static const Rare rare[] = {
    /* valid, read by the full reading only */
    { "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":3,\"commit_index\":4,\"hb_seq\":5,\"later\":true}", TRUE },
    { "{\"type\":\"\\u0063ommit\",\"from\":1,\"to\":2,\"epoch\":3,\"commit_index\":4,\"hb_seq\":5}", TRUE },
    { "{\"type\":\"vote\",\"from\":1,\"to\":2,\"epoch\":3,\"pre_vote\":false,\"granted\":true}", TRUE },
    { "{\"type\":\"proposal\",\"from\":1,\"to\":2,\"epoch\":3,\"prev_index\":0,\"prev_epoch\":0,"
      "\"commit_index\":0,\"hb_seq\":1,\"entries\":[{\"index\":1,\"epoch\":3,\"kind\":\"noop\",\"op\":\"read\"}]}", TRUE },
    { "{\"type\":\"proposal\",\"from\":1,\"to\":2,\"epoch\":3,\"prev_index\":0,\"prev_epoch\":0,"
      "\"commit_index\":0,\"hb_seq\":1,\"entries\":[{\"index\":1,\"epoch\":3,\"kind\":\"command\","
      "\"op\":\"transition\",\"machine\":\"m\\u00e9\",\"to\":\"Running\"}]}", TRUE },
    /* errors: the full reading names them */
    { "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":3,\"commit_index\":4,\"hb_seq\":5,\"hb_seq\":5}", FALSE },
    { "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":3,\"commit_index\":4e0,\"hb_seq\":5}", FALSE },
    { "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":3,\"commit_index\":04,\"hb_seq\":5}", FALSE },
    { "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":3,\"commit_index\":-4,\"hb_seq\":5}", FALSE },
    { "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":9007199254740993,\"commit_index\":4,\"hb_seq\":5}", FALSE },
    { "{\"type\":\"commit\",\"from\":2147483648,\"to\":2,\"epoch\":3,\"commit_index\":4,\"hb_seq\":5}", FALSE },
    { "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":3,\"commit_index\":4,\"hb_seq\":5} x", FALSE },
    { "{\"type\":\"commit\",\"from\":1,\"to\":2,\"epoch\":3,\"commit_index\":4}", FALSE },
    { "{\"type\":\"proposal\",\"from\":1,\"to\":2,\"epoch\":3,\"prev_index\":0,\"prev_epoch\":0,"
      "\"commit_index\":0,\"hb_seq\":1,\"entries\":[{\"index\":1,\"epoch\":3,\"kind\":\"command\","
      "\"op\":\"transition\",\"machine\":null,\"to\":\"Running\"}]}", FALSE },
    { "{\"type\":\"proposal\",\"from\":1,\"to\":2,\"epoch\":3,\"prev_index\":0,\"prev_epoch\":0,"
      "\"commit_index\":0,\"hb_seq\":1,\"entries\":[{\"index\":1,\"epoch\":3,\"kind\":\"command\","
      "\"op\":\"add_member\",\"node\":4}]}", FALSE },
    { "{\"type\":\"proposal\",\"from\":1,\"to\":2,\"epoch\":3,\"prev_index\":0,\"prev_epoch\":0,"
      "\"commit_index\":0,\"hb_seq\":1,\"entries\":[{\"index\":1,\"epoch\":3,\"kind\":\"command\","
      "\"op\":\"transition\",\"machine\":\"m\",\"to\":\"R\",\"client_id\":\"c\"}]}", FALSE },
    { "{\"type\":\"proposal\",\"from\":1,\"to\":2,\"epoch\":3,\"prev_index\":0,\"prev_epoch\":0,"
      "\"commit_index\":0,\"hb_seq\":1,\"entries\":[{\"index\":1,\"epoch\":3,\"kind\":\"command\","
      "\"op\":\"transition\",\"machine\":\"\xff\",\"to\":\"R\"}]}", FALSE },
    { "{\"type\":\"proposal\",\"from\":1,\"to\":2,\"epoch\":3,\"prev_index\":0,\"prev_epoch\":0,"
      "\"commit_index\":0,\"hb_seq\":1,\"entries\":[{\"index\":1,\"epoch\":3,\"kind\":\"command\","
      "\"op\":\"transition\",\"machine\":\"m\",\"to\":\"R\tx\"}]}", FALSE },
  };

  g_test_summary ("Rare shapes (unknown keys, \\u escapes, other types, noops with command "
                  "fields, invalid numbers, duplicates, nulls, membership commands, bad UTF-8, "
                  "raw control characters, trailing text): the fast path declines each, and the "
                  "full reading decides as before, accepting or naming the error.");
  for (guint i = 0; i < G_N_ELEMENTS (rare); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DsmMessage) full = decode_full (rare[i].text, strlen (rare[i].text), &error);
      g_autoptr(DsmMessage) fast = dsm_codec_decode_message_fast (rare[i].text, strlen (rare[i].text));
      g_autoptr(GError) error_via = NULL;
      g_autoptr(DsmMessage) via = dsm_codec_decode_message (rare[i].text, strlen (rare[i].text), &error_via);

      g_test_message ("case %u", i);
      g_assert_null (fast);
      g_assert_true ((full != NULL) == rare[i].full_accepts);
      /* The decoder as callers see it: the full reading's result and error. */
      g_assert_true ((via != NULL) == rare[i].full_accepts);
      if (!rare[i].full_accepts)
        g_assert_cmpstr (error_via->message, ==, error->message);
    }
}

static void
test_entry_strings_packed (void)
{
  static const char text[] =
    "{\"type\":\"proposal\",\"from\":1,\"to\":2,\"epoch\":3,\"prev_index\":0,\"prev_epoch\":0,"
    "\"commit_index\":0,\"hb_seq\":1,\"entries\":[{\"index\":1,\"epoch\":3,\"kind\":\"command\","
    "\"op\":\"transition\",\"client_id\":\"c\\\"1\",\"seq\":2,\"machine\":\"m\\/1\",\"to\":\"R\","
    "\"payload\":\"{\\\"k\\\":1}\"},{\"index\":2,\"epoch\":3,\"kind\":\"noop\"}]}";
  g_autoptr(DsmMessage) fast = dsm_codec_decode_message_fast (text, strlen (text));

  g_test_summary ("The fast path writes a decoded command's strings, escapes decoded, into its "
                  "entry's own allocation (one allocation an entry), and they equal the full "
                  "reading's.");
  g_assert_nonnull (fast);
  g_assert_true (check_agrees (text, strlen (text)));
  g_assert_cmpuint (fast->entries->len, ==, 2);
  DsmEntry *e = fast->entries->pdata[0];
  const char *lo = (const char *) (e + 1);
  /* Packed one after the other: within the four strings' bytes. */
  const char *hi = lo + strlen ("c\"1") + strlen ("m/1") + strlen ("R") + strlen ("{\"k\":1}") + 4;
  g_assert_cmpstr (e->cmd.client_id, ==, "c\"1");
  g_assert_cmpstr (e->cmd.machine, ==, "m/1");
  g_assert_cmpstr (e->cmd.to, ==, "R");
  g_assert_cmpstr (e->cmd.payload, ==, "{\"k\":1}");
  g_assert_null (e->cmd.from);
  for (const char *const *s = (const char *const[]) { e->cmd.client_id, e->cmd.machine, e->cmd.to,
                                                      e->cmd.payload, NULL }; *s != NULL; s++)
    g_assert_true (*s >= lo && *s + strlen (*s) < hi);
  g_assert_cmpint (((DsmEntry *) fast->entries->pdata[1])->kind, ==, DSM_ENTRY_NOOP);
}

static void
test_whitespace_and_order (void)
{
  static const char *const texts[] = {
    " { \"hb_seq\" : 5 ,\n\"commit_index\":4,\t\"epoch\":3,\"to\":2,\"from\":1,\"type\":\"commit\" } \n",
    "{\"entries\":[ ],\"type\":\"proposal\",\"from\":1,\"to\":2,\"epoch\":3,\"prev_index\":0,"
    "\"prev_epoch\":0,\"commit_index\":0,\"hb_seq\":1}",
  };

  g_test_summary ("Whitespace anywhere and keys in any order still take the fast path.");
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    g_assert_true (check_agrees (texts[i], strlen (texts[i])));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/codec/fast/written-shapes-accepted", test_written_shapes_accepted);
  g_test_add_func ("/codec/fast/mutations-agree", test_mutations_agree);
  g_test_add_func ("/codec/fast/rare-shapes-declined", test_rare_shapes_declined);
  g_test_add_func ("/codec/fast/whitespace-and-order", test_whitespace_and_order);
  g_test_add_func ("/codec/fast/entry-strings-packed", test_entry_strings_packed);
  return g_test_run ();
}
