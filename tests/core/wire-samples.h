/* tests/core/wire-samples.h: one valid message of each type with every
 * field its type uses set, shared by the message and codec tests. */
#pragma once

#include <glib.h>

#include "message.h"

/* A command with every optional part set; @op READ leaves `to` out. */
static inline void
sample_command_init (DsmCommand *cmd, DsmOp op)
{
  *cmd = (DsmCommand) {
    .op = op,
    .client_id = g_strdup ("client-\"7\""),
    .seq = 42,
    .machine = g_strdup ("pump/α\\1"),
    .definition = g_strdup ("lifecycle"),
    .from = g_strdup ("Init"),
    .to = op == DSM_OP_TRANSITION ? g_strdup ("Running ✓") : NULL,
  };
}

static inline GPtrArray *
sample_entries (guint64 first_index, guint64 epoch)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);
  DsmCommand transition;
  DsmCommand read = { .op = DSM_OP_READ, .machine = (char *) "m2" };

  sample_command_init (&transition, DSM_OP_TRANSITION);
  g_ptr_array_add (entries, dsm_entry_new (first_index, epoch - 1, DSM_ENTRY_NOOP, NULL));
  g_ptr_array_add (entries, dsm_entry_new (first_index + 1, epoch, DSM_ENTRY_COMMAND, &transition));
  g_ptr_array_add (entries, dsm_entry_new (first_index + 2, epoch, DSM_ENTRY_COMMAND, &read));
  dsm_command_clear (&transition);
  return entries;
}

/* Every byte value, so base64 sees them all. */
static inline GBytes *
sample_data (gsize size)
{
  /* A GByteArray, not g_malloc (size): g_malloc (0) is NULL, and with the
   * caller's loop unrolled gcc -O3 warned of a write into it. */
  GByteArray *data = g_byte_array_sized_new ((guint) size);

  for (gsize i = 0; i < size; i++)
    {
      guchar byte = (guchar) (i * 7 + 3);

      g_byte_array_append (data, &byte, 1);
    }
  return g_byte_array_free_to_bytes (data);
}

static inline DsmMessage *
sample_message (DsmMessageType type)
{
  DsmMessage *msg = dsm_message_new (type, 1, 2, 7);

  switch (type)
    {
    case DSM_MSG_VOTE_REQUEST:
      msg->pre_vote = TRUE;
      msg->last_index = 41;
      msg->last_epoch = 6;
      msg->transfer = TRUE;
      break;
    case DSM_MSG_VOTE:
      msg->pre_vote = TRUE;
      msg->granted = TRUE;
      break;
    case DSM_MSG_PROPOSAL:
      msg->prev_index = 10;
      msg->prev_epoch = 5;
      msg->commit_index = 9;
      msg->hb_seq = 77;
      msg->entries = sample_entries (11, 7);
      break;
    case DSM_MSG_ACK:
      msg->match_index = 12;
      msg->snapshot_offset = 4096;
      msg->hb_seq = 77;
      break;
    case DSM_MSG_COMMIT:
      msg->commit_index = 12;
      msg->hb_seq = 78;
      break;
    case DSM_MSG_REJECT:
      msg->reason = DSM_REJECT_LOG_MISMATCH;
      msg->hint_index = 8;
      msg->hint_epoch = 4;
      msg->leader_hint = 3;
      msg->hb_seq = 77;
      msg->request_id = 99;
      sample_command_init (&msg->cmd, DSM_OP_TRANSITION);
      msg->state = g_strdup ("Stopped");
      msg->detail = g_strdup ("a \"quoted\" \\ detail\n\t\x01\x1f\x7f é ✓ 😀");
      break;
    case DSM_MSG_CLIENT_REQUEST:
      msg->request_id = 99;
      sample_command_init (&msg->cmd, DSM_OP_TRANSITION);
      break;
    case DSM_MSG_CLIENT_REPLY:
      msg->request_id = 99;
      msg->status = DSM_REPLY_REJECTED;
      msg->reason = DSM_REJECT_INVALID_TRANSITION;
      msg->index = 12;
      msg->leader_hint = 2;
      msg->member = 4;
      sample_command_init (&msg->cmd, DSM_OP_TRANSITION);
      msg->state = g_strdup ("Init");
      msg->detail = g_strdup ("Init -> Running ✓ is not allowed");
      break;
    case DSM_MSG_SNAPSHOT:
      msg->last_index = 100;
      msg->last_epoch = 7;
      msg->snapshot_offset = 65536;
      msg->data = sample_data (1000);
      msg->done = TRUE;
      break;
    case DSM_MSG_TIMEOUT_NOW:
      break;
    case DSM_MSG_N_TYPES:
    default:
      g_assert_not_reached ();
    }
  return msg;
}
