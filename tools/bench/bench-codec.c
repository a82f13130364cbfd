/* tools/bench/bench-codec.c: encodes and decodes the peer messages of a
 * busy leader in a loop, for instruction counts under callgrind.
 *
 * The mix is what one Proposal round costs on the hot path: a Proposal of
 * 64 transition entries, the follower's Ack, a Commit and a Vote.  Counts,
 * not times, are what docs/BENCHMARKS.md ("Codec") compares:
 *
 *     valgrind --tool=callgrind build/tools/bench/bench-codec 2000
 *
 * Each round must decode to a message equal to the one encoded, so a
 * broken codec cannot look fast. */
#include <stdlib.h>

#include "codec.h"
#include "message.h"

#define ENTRIES 64

static DsmMessage *
make_proposal (void)
{
  DsmMessage *msg = dsm_message_new (DSM_MSG_PROPOSAL, 1, 2, 7);

  msg->prev_index = 1000;
  msg->prev_epoch = 7;
  msg->commit_index = 990;
  msg->hb_seq = 4242;
  msg->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  for (guint i = 0; i < ENTRIES; i++)
    {
      g_autofree char *machine = g_strdup_printf ("job-%u", i * 37);
      g_autofree char *client = g_strdup_printf ("client-%u", i % 16);
      DsmCommand cmd = { .op = DSM_OP_TRANSITION, .client_id = client, .seq = 100 + i,
                         .machine = machine, .to = (char *) "Running" };

      g_ptr_array_add (msg->entries, dsm_entry_new (1001 + i, 7, DSM_ENTRY_COMMAND, &cmd));
    }
  return msg;
}

static DsmMessage *
make_small (DsmMessageType type)
{
  DsmMessage *msg = dsm_message_new (type, 2, 1, 7);

  if (type == DSM_MSG_ACK || type == DSM_MSG_COMMIT)
    msg->hb_seq = 4242;
  if (type == DSM_MSG_ACK)
    msg->match_index = 1064;
  else if (type == DSM_MSG_COMMIT)
    msg->commit_index = 1064;
  else if (type == DSM_MSG_VOTE)
    msg->granted = TRUE;
  return msg;
}

int
main (int argc, char **argv)
{
  guint rounds = argc > 1 ? (guint) strtoul (argv[1], NULL, 10) : 2000;
  DsmMessage *msgs[] = {
    make_proposal (), make_small (DSM_MSG_ACK), make_small (DSM_MSG_COMMIT),
    make_small (DSM_MSG_VOTE),
  };
  GString *out = g_string_sized_new (16 * 1024);
  gsize bytes = 0;

  for (guint r = 0; r < rounds; r++)
    for (guint m = 0; m < G_N_ELEMENTS (msgs); m++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(DsmMessage) back = NULL;

        g_string_truncate (out, 0);
        dsm_codec_write_message (out, msgs[m]);
        bytes += out->len;
        back = dsm_codec_decode_message (out->str, out->len, &error);
        if (back == NULL || !dsm_message_equal (back, msgs[m]))
          g_error ("round %u message %u: %s", r, m, error ? error->message : "differs");
      }
  g_print ("%u rounds, %" G_GSIZE_FORMAT " bytes encoded and decoded\n", rounds, bytes);
  for (guint m = 0; m < G_N_ELEMENTS (msgs); m++)
    dsm_message_unref (msgs[m]);
  g_string_free (out, TRUE);
  return 0;
}
