/* core/message.c: the messages nodes exchange: lifetime, comparison and
 * the consistency check that guards both ends of the wire. */
#include "message.h"

#include <string.h>

#include "error.h"

static const char *const type_names[DSM_MSG_N_TYPES] = {
  [DSM_MSG_VOTE_REQUEST] = "vote_request",
  [DSM_MSG_VOTE] = "vote",
  [DSM_MSG_PROPOSAL] = "proposal",
  [DSM_MSG_ACK] = "ack",
  [DSM_MSG_COMMIT] = "commit",
  [DSM_MSG_REJECT] = "reject",
  [DSM_MSG_CLIENT_REQUEST] = "client_request",
  [DSM_MSG_CLIENT_REPLY] = "client_reply",
  [DSM_MSG_SNAPSHOT] = "snapshot",
  [DSM_MSG_TIMEOUT_NOW] = "timeout_now",
};

const char *
dsm_message_type_to_string (DsmMessageType type)
{
  g_return_val_if_fail ((guint) type < DSM_MSG_N_TYPES, "?");
  return type_names[type];
}

gboolean
dsm_message_type_from_string (const char *text, DsmMessageType *out)
{
  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);

  for (guint i = 0; i < DSM_MSG_N_TYPES; i++)
    if (strcmp (text, type_names[i]) == 0)
      {
        *out = (DsmMessageType) i;
        return TRUE;
      }
  return FALSE;
}

/* Messages live on one thread (a node's, or the simulator's), like
 * entries: the reference count is not atomic. */
DsmMessage *
dsm_message_new (DsmMessageType type, DsmNodeId from, DsmNodeId to,
                 guint64 epoch)
{
  DsmMessage *msg;

  g_return_val_if_fail ((guint) type < DSM_MSG_N_TYPES, NULL);

  msg = g_new0 (DsmMessage, 1);
  msg->ref_count = 1;
  msg->type = type;
  msg->from = from;
  msg->to = to;
  msg->epoch = epoch;
  return msg;
}

DsmMessage *
dsm_message_ref (DsmMessage *msg)
{
  g_return_val_if_fail (msg != NULL, NULL);
  g_return_val_if_fail (msg->ref_count > 0, NULL);

  msg->ref_count++;
  return msg;
}

void
dsm_message_unref (DsmMessage *msg)
{
  if (msg == NULL)
    return;
  g_return_if_fail (msg->ref_count > 0);

  if (--msg->ref_count > 0)
    return;
  g_clear_pointer (&msg->entries, g_ptr_array_unref);
  dsm_command_clear (&msg->cmd);
  g_free (msg->state);
  g_free (msg->detail);
  g_free (msg->machine_data);
  g_clear_pointer (&msg->data, g_bytes_unref);
  g_free (msg);
}

DsmMessage *
dsm_message_copy (const DsmMessage *msg)
{
  DsmMessage *copy;

  g_return_val_if_fail (msg != NULL, NULL);

  copy = g_new (DsmMessage, 1);
  *copy = *msg;
  copy->ref_count = 1;

  /* A new array holding new references to the same immutable entries, so
   * the caller may edit the copy's list without touching the original. */
  if (msg->entries != NULL)
    {
      copy->entries = g_ptr_array_new_full (msg->entries->len,
                                            (GDestroyNotify) dsm_entry_unref);
      for (guint i = 0; i < msg->entries->len; i++)
        g_ptr_array_add (copy->entries,
                         dsm_entry_ref (g_ptr_array_index (msg->entries, i)));
    }
  dsm_command_init_copy (&copy->cmd, &msg->cmd);
  copy->state = g_strdup (msg->state);
  copy->detail = g_strdup (msg->detail);
  copy->machine_data = g_strdup (msg->machine_data);
  if (msg->data != NULL)
    copy->data = g_bytes_ref (msg->data);
  return copy;
}

static guint
entries_length (const GPtrArray *entries)
{
  return entries == NULL ? 0 : entries->len;
}

/* NULL and empty entry lists are the same list: the codec always decodes
 * a Proposal's entries into an array, possibly empty. */
static gboolean
entries_equal (const GPtrArray *a, const GPtrArray *b)
{
  guint length = entries_length (a);

  if (length != entries_length (b))
    return FALSE;
  for (guint i = 0; i < length; i++)
    {
      const DsmEntry *ea = g_ptr_array_index (a, i);
      const DsmEntry *eb = g_ptr_array_index (b, i);

      if (ea == NULL || eb == NULL ? ea != eb : !dsm_entry_equal (ea, eb))
        return FALSE;
    }
  return TRUE;
}

static gboolean
data_equal (GBytes *a, GBytes *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_bytes_equal (a, b);
}

gboolean
dsm_message_equal (const DsmMessage *a, const DsmMessage *b)
{
  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);

  return a->type == b->type
         && a->from == b->from
         && a->to == b->to
         && a->epoch == b->epoch
         && !a->pre_vote == !b->pre_vote
         && a->last_index == b->last_index
         && a->last_epoch == b->last_epoch
         && !a->granted == !b->granted
         && !a->transfer == !b->transfer
         && a->member == b->member
         && a->prev_index == b->prev_index
         && a->prev_epoch == b->prev_epoch
         && a->commit_index == b->commit_index
         && entries_equal (a->entries, b->entries)
         && a->hb_seq == b->hb_seq
         && a->match_index == b->match_index
         && a->snapshot_offset == b->snapshot_offset
         && a->reason == b->reason
         && a->hint_index == b->hint_index
         && a->hint_epoch == b->hint_epoch
         && a->leader_hint == b->leader_hint
         && a->request_id == b->request_id
         && dsm_command_equal (&a->cmd, &b->cmd)
         && a->status == b->status
         && a->index == b->index
         && g_strcmp0 (a->state, b->state) == 0
         && g_strcmp0 (a->detail, b->detail) == 0
         && a->revision == b->revision
         && g_strcmp0 (a->machine_data, b->machine_data) == 0
         && data_equal (a->data, b->data)
         && !a->done == !b->done;
}

/* Every check failure is INVALID and names "<type>.<field>". */
static gboolean G_GNUC_PRINTF (4, 5)
check_fail (GError **error, const DsmMessage *msg, const char *field,
            const char *format, ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID, "%s.%s: %s",
               type_names[msg->type], field, what);
  return FALSE;
}

static gboolean
command_is_empty (const DsmCommand *cmd)
{
  return dsm_command_is_empty (cmd);
}

/* dsm_command_check() names the field inside the command; say where the
 * command is, keeping its INVALID code. */
static gboolean
check_command (const DsmMessage *msg, const char *where, const DsmCommand *cmd,
               GError **error)
{
  GError *local = NULL;

  if (dsm_command_check (cmd, &local))
    return TRUE;
  g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID, "%s.%s.%s",
               type_names[msg->type], where, local->message);
  g_error_free (local);
  return FALSE;
}

static gboolean
check_state_and_detail (const DsmMessage *msg, GError **error)
{
  const char *end = NULL;
  GError *local = NULL;

  /* A state is a name, by the same rules as the command's names. */
  if (msg->state != NULL && !dsm_command_check_name ("state", msg->state, &local))
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID, "%s.%s",
                   type_names[msg->type], local->message);
      g_error_free (local);
      return FALSE;
    }
  if (msg->detail != NULL && !g_utf8_validate (msg->detail, -1, &end))
    return check_fail (error, msg, "detail", "not valid UTF-8 at byte %" G_GSIZE_FORMAT,
                       (gsize) (end - msg->detail));
  if (msg->machine_data != NULL && (msg->machine_data[0] != '{'
                                    || strlen (msg->machine_data) > DSM_DATA_BYTES_MAX
                                    || !g_utf8_validate (msg->machine_data, -1, NULL)))
    return check_fail (error, msg, "machine_data", "expected an object's text of at most %d bytes",
                       DSM_DATA_BYTES_MAX);
  return TRUE;
}

/* A Proposal's entries must be exactly the ones after (prev_index,
 * prev_epoch), with epochs that never decrease and never pass the
 * leader's (PROTOCOL.md, "Log matching"). */
static gboolean
check_proposal_entry (const DsmMessage *msg, guint i, guint64 min_epoch,
                      GError **error)
{
  const DsmEntry *entry = g_ptr_array_index (msg->entries, i);
  guint64 expected = msg->prev_index + 1 + i;
  char field[64];

  /* Field names are formatted only on failure: this runs for every entry
   * of every Proposal encoded or decoded. */
  if (entry == NULL)
    {
      g_snprintf (field, sizeof field, "entries[%u]", i);
      return check_fail (error, msg, field, "missing entry (NULL)");
    }
  if (entry->index != expected)
    {
      g_snprintf (field, sizeof field, "entries[%u].index", i);
      return check_fail (error, msg, field, "expected %" G_GUINT64_FORMAT
                         ", found %" G_GUINT64_FORMAT, expected, entry->index);
    }
  if (entry->epoch > msg->epoch)
    {
      g_snprintf (field, sizeof field, "entries[%u].epoch", i);
      return check_fail (error, msg, field, "%" G_GUINT64_FORMAT
                         " is newer than the message epoch %" G_GUINT64_FORMAT,
                         entry->epoch, msg->epoch);
    }
  if (entry->epoch < min_epoch)
    {
      g_snprintf (field, sizeof field, "entries[%u].epoch", i);
      return check_fail (error, msg, field, "%" G_GUINT64_FORMAT
                         " is older than the epoch %" G_GUINT64_FORMAT " before it",
                         entry->epoch, min_epoch);
    }
  if (entry->kind == DSM_ENTRY_CONFIG
      && (entry->membership == NULL || !dsm_op_is_membership (entry->cmd.op)))
    {
      g_snprintf (field, sizeof field, "entries[%u].membership", i);
      return check_fail (error, msg, field, "a config entry carries a membership change and its result");
    }
  if (entry->kind == DSM_ENTRY_COMMAND && dsm_op_is_membership (entry->cmd.op))
    {
      g_snprintf (field, sizeof field, "entries[%u].kind", i);
      return check_fail (error, msg, field, "a membership change is a config entry");
    }
  if (entry->kind == DSM_ENTRY_COMMAND || entry->kind == DSM_ENTRY_CONFIG)
    {
      GError *local = NULL;

      if (dsm_command_check (&entry->cmd, &local))
        return TRUE;
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID, "%s.entries[%u].%s",
                   type_names[msg->type], i, local->message);
      g_error_free (local);
      return FALSE;
    }
  if (entry->kind != DSM_ENTRY_NOOP || !command_is_empty (&entry->cmd))
    {
      g_snprintf (field, sizeof field, "entries[%u].kind", i);
      if (entry->kind != DSM_ENTRY_NOOP)
        return check_fail (error, msg, field, "unknown kind %d", (int) entry->kind);
      return check_fail (error, msg, field, "a noop entry carries a command");
    }
  return TRUE;
}

static gboolean
check_proposal (const DsmMessage *msg, GError **error)
{
  guint length = entries_length (msg->entries);
  guint64 min_epoch = msg->prev_epoch;

  if (msg->prev_epoch > msg->epoch)
    return check_fail (error, msg, "prev_epoch", "%" G_GUINT64_FORMAT
                       " is newer than the message epoch %" G_GUINT64_FORMAT,
                       msg->prev_epoch, msg->epoch);
  if (length > DSM_MESSAGE_ENTRIES_MAX)
    return check_fail (error, msg, "entries", "%u entries, more than %d",
                       length, DSM_MESSAGE_ENTRIES_MAX);
  for (guint i = 0; i < length; i++)
    {
      if (!check_proposal_entry (msg, i, min_epoch, error))
        return FALSE;
      min_epoch = ((const DsmEntry *) g_ptr_array_index (msg->entries, i))->epoch;
    }
  return TRUE;
}

/* REJECT and CLIENT_REPLY may echo the client's command; when they do it
 * is the one the CLIENT_REQUEST carried, so it passed the same check. */
static gboolean
check_optional_command (const DsmMessage *msg, GError **error)
{
  return command_is_empty (&msg->cmd) || check_command (msg, "cmd", &msg->cmd, error);
}

static gboolean
check_type_fields (const DsmMessage *msg, GError **error)
{
  switch (msg->type)
    {
    case DSM_MSG_VOTE_REQUEST:
      if (msg->last_epoch > msg->epoch)
        return check_fail (error, msg, "last_epoch", "%" G_GUINT64_FORMAT
                           " is newer than the message epoch %" G_GUINT64_FORMAT,
                           msg->last_epoch, msg->epoch);
      return TRUE;
    case DSM_MSG_PROPOSAL:
      return check_proposal (msg, error);
    case DSM_MSG_REJECT:
      if (msg->reason == DSM_REJECT_NONE || (guint) msg->reason >= DSM_REJECT_N_REASONS)
        return check_fail (error, msg, "reason", "invalid reason %d", (int) msg->reason);
      return check_optional_command (msg, error) && check_state_and_detail (msg, error);
    case DSM_MSG_CLIENT_REQUEST:
      return check_command (msg, "cmd", &msg->cmd, error);
    case DSM_MSG_CLIENT_REPLY:
      if ((guint) msg->status >= DSM_REPLY_N_STATUSES)
        return check_fail (error, msg, "status", "invalid status %d", (int) msg->status);
      if ((guint) msg->reason >= DSM_REJECT_N_REASONS)
        return check_fail (error, msg, "reason", "invalid reason %d", (int) msg->reason);
      return check_optional_command (msg, error) && check_state_and_detail (msg, error);
    case DSM_MSG_SNAPSHOT:
      if (msg->data == NULL)
        return check_fail (error, msg, "data", "missing");
      if (g_bytes_get_size (msg->data) > DSM_MESSAGE_CHUNK_BYTES_MAX)
        return check_fail (error, msg, "data", "chunk of %" G_GSIZE_FORMAT
                           " bytes, more than %d", g_bytes_get_size (msg->data),
                           DSM_MESSAGE_CHUNK_BYTES_MAX);
      if (msg->last_index == 0)
        return check_fail (error, msg, "last_index", "must be at least 1");
      if (msg->last_epoch > msg->epoch)
        return check_fail (error, msg, "last_epoch", "%" G_GUINT64_FORMAT
                           " is newer than the message epoch %" G_GUINT64_FORMAT,
                           msg->last_epoch, msg->epoch);
      return TRUE;
    case DSM_MSG_TIMEOUT_NOW:
      if (msg->last_epoch > msg->epoch)
        return check_fail (error, msg, "last_epoch", "%" G_GUINT64_FORMAT
                           " is newer than the message epoch %" G_GUINT64_FORMAT,
                           msg->last_epoch, msg->epoch);
      return TRUE;
    case DSM_MSG_VOTE:
    case DSM_MSG_ACK:
    case DSM_MSG_COMMIT:
      return TRUE;
    case DSM_MSG_N_TYPES:
    default:
      g_assert_not_reached ();
    }
}

gboolean
dsm_message_check (const DsmMessage *msg, GError **error)
{
  g_return_val_if_fail (msg != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if ((guint) msg->type >= DSM_MSG_N_TYPES)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "message.type: unknown type %d", (int) msg->type);
      return FALSE;
    }
  if (msg->from == DSM_NODE_NONE)
    return check_fail (error, msg, "from", "must not be 0");
  if (msg->to == DSM_NODE_NONE)
    return check_fail (error, msg, "to", "must not be 0");
  if (msg->from == msg->to)
    return check_fail (error, msg, "to", "equals from (%u): a node does not "
                       "message itself", (guint) msg->from);
  /* One id range everywhere (PROTOCOL.md, "Wire format"): what leaves
   * here decodes at the other end. */
  if (msg->from > DSM_NODE_ID_MAX || msg->to > DSM_NODE_ID_MAX)
    return check_fail (error, msg, msg->from > DSM_NODE_ID_MAX ? "from" : "to",
                       "past the last node id %u", DSM_NODE_ID_MAX);
  if (msg->leader_hint > DSM_NODE_ID_MAX || msg->member > DSM_NODE_ID_MAX)
    return check_fail (error, msg, msg->leader_hint > DSM_NODE_ID_MAX ? "leader_hint" : "member",
                       "past the last node id %u", DSM_NODE_ID_MAX);
  return check_type_fields (msg, error);
}
