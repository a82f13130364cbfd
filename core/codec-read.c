/* core/codec-read.c: the wire format in: messages, entries and commands
 * from JSON (core/codec.c says the format), read with the typed readers of
 * core/json.h so every error names its field's path ("proposal.entries[1]
 * .epoch: expected a non-negative integer, found \"1\"").
 *
 * Decoding is strict and never aborts; unknown fields are ignored, at
 * every level, so a newer peer may add some (core/codec.c). */
#include "codec.h"

#include <string.h>

#include "error.h"
#include "json.h"
#include "membership.h"

JsonNode *
dsm_codec_parse (const char *data, gsize length, GError **error)
{
  static const DsmJsonLimits limits = { DSM_CODEC_INPUT_BYTES_MAX, DSM_CODEC_DEPTH_MAX };

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return dsm_json_parse (data, (gssize) length, &limits, &dsm_codec_json_errors, error);
}

JsonNode *
dsm_codec_parse_snapshot (const char *data, gsize length, GError **error)
{
  static const DsmJsonLimits limits = { DSM_CODEC_SNAPSHOT_BYTES_MAX, DSM_CODEC_DEPTH_MAX };

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  G_STATIC_ASSERT (DSM_CODEC_SNAPSHOT_BYTES_MAX >= DSM_CODEC_INPUT_BYTES_MAX);

  return dsm_json_parse (data, (gssize) length, &limits, &dsm_codec_json_errors, error);
}

/* ---- the wire's kinds of field ---- */

static gboolean
read_uint (const DsmJsonAt *object, const char *key, guint64 *out, GError **error)
{
  return dsm_json_read_uint (object, key, DSM_JSON_REQUIRED, 0, DSM_CODEC_UINT_MAX, out, error);
}

/* Node ids on the wire are 0..DSM_NODE_ID_MAX, the one range of every
 * part of dsm; 0 means none (leader_hint), which dsm_message_check()
 * refuses where an id is needed. */
static gboolean
read_node_id (const DsmJsonAt *object, const char *key, DsmNodeId *out, GError **error)
{
  guint value = 0;

  if (!dsm_json_read_uint32 (object, key, DSM_JSON_REQUIRED, 0, DSM_NODE_ID_MAX, &value, error))
    return FALSE;
  *out = (DsmNodeId) value;
  return TRUE;
}

static gboolean
read_optional_node_id (const DsmJsonAt *object, const char *key, DsmNodeId *out,
                       GError **error)
{
  guint value = *out;

  if (!dsm_json_read_uint32 (object, key, DSM_JSON_OPTIONAL, 0, DSM_NODE_ID_MAX, &value, error))
    return FALSE;
  *out = (DsmNodeId) value;
  return TRUE;
}

/* A name (at most DSM_NAME_MAX bytes), copied; optional ones may be
 * absent or null, leaving *@out NULL. */
static gboolean
read_name (const DsmJsonAt *object, const char *key, gboolean required, char **out,
           GError **error)
{
  const char *text = NULL;

  if (!dsm_json_read_string (object, key, required ? DSM_JSON_REQUIRED : DSM_JSON_NULLABLE,
                             DSM_NAME_MAX, &text, error))
    return FALSE;
  *out = g_strdup (text);
  return TRUE;
}

static gboolean
read_text (const DsmJsonAt *object, const char *key, gboolean required, gsize bytes_max,
           char **out, GError **error)
{
  const char *text = NULL;

  if (!dsm_json_read_string (object, key, required ? DSM_JSON_REQUIRED : DSM_JSON_NULLABLE,
                             bytes_max, &text, error))
    return FALSE;
  *out = g_strdup (text);
  return TRUE;
}

/* ---- commands and entries ---- */

/* Fills @cmd (zeroed first, cleared again on failure) from the command
 * members of the object at @at, without dsm_command_check(). */
static gboolean
command_read (const DsmJsonAt *at, DsmCommand *cmd, GError **error)
{
  JsonObject *object = json_node_get_object (at->node);
  const char *op = NULL;
  gboolean machine_op;
  DsmJsonAt member;

  memset (cmd, 0, sizeof *cmd);
  if (!dsm_json_read_string (at, "op", DSM_JSON_REQUIRED, 0, &op, error))
    return FALSE;
  if (!dsm_op_from_string (op, &cmd->op))
    {
      dsm_json_at_member (&member, at, "op");
      return dsm_json_fail (&member, DSM_JSON_ERROR_CHOICE, error,
                            "expected \"transition\", \"read\", \"define\", \"add_member\", "
                            "\"remove_member\" or \"promote_member\"");
    }
  machine_op = cmd->op == DSM_OP_TRANSITION || cmd->op == DSM_OP_READ;

  if (!read_name (at, "machine", machine_op, &cmd->machine, error)
      || !read_name (at, "to", cmd->op == DSM_OP_TRANSITION, &cmd->to, error)
      || !read_name (at, "from", FALSE, &cmd->from, error)
      || !read_name (at, "definition", cmd->op == DSM_OP_DEFINE, &cmd->definition, error)
      || !read_name (at, "client_id", FALSE, &cmd->client_id, error)
      || !read_text (at, "spec", cmd->op == DSM_OP_DEFINE, DSM_SPEC_BYTES_MAX, &cmd->spec,
                     error)
      || !read_text (at, "peer_address", FALSE, 0, &cmd->peer_address, error)
      || !read_text (at, "client_address", FALSE, 0, &cmd->client_address, error)
      || !read_text (at, "native_address", FALSE, 0, &cmd->native_address, error)
      || !read_text (at, "payload", FALSE, DSM_PAYLOAD_BYTES_MAX, &cmd->payload, error))
    goto fail;
  if (!dsm_json_read_member (&member, at, "if_revision", DSM_JSON_NULLABLE, error))
    goto fail;
  if (member.node != NULL && !JSON_NODE_HOLDS_NULL (member.node))
    {
      if (!read_uint (at, "if_revision", &cmd->if_revision, error))
        goto fail;
      cmd->has_if_revision = TRUE;
    }
  if ((dsm_op_is_membership (cmd->op) && cmd->op != DSM_OP_ADD_MEMBER)
      || json_object_has_member (object, "node"))
    if (!read_node_id (at, "node", &cmd->node, error))
      goto fail;

  /* seq is required with a client id; without one, dsm_command_check()
   * refuses it, so it is read here to be refused there. */
  if (cmd->client_id != NULL || json_object_has_member (object, "seq"))
    if (!read_uint (at, "seq", &cmd->seq, error))
      goto fail;
  return TRUE;

fail:
  dsm_command_clear (cmd);
  return FALSE;
}

/* dsm_command_check()'s "FIELD: problem", under the command's path. */
static gboolean
command_check_at (const DsmCommand *cmd, const DsmJsonAt *at, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *path = NULL;

  if (dsm_command_check (cmd, &local))
    return TRUE;
  path = dsm_json_at_path (at);
  g_set_error (error, DSM_CODEC_ERROR, local->code, "%s.%s", path, local->message);
  return FALSE;
}

gboolean
dsm_codec_command_from_json (JsonNode *node, const char *where, DsmCommand *cmd,
                             GError **error)
{
  DsmJsonAt at;

  g_return_val_if_fail (node != NULL, FALSE);
  g_return_val_if_fail (cmd != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (cmd, 0, sizeof *cmd);
  dsm_json_at_root (&at, &dsm_codec_json_errors, node, where != NULL ? where : "cmd");
  if (!dsm_json_get_object (&at, NULL, error) || !command_read (&at, cmd, error))
    return FALSE;
  if (!command_check_at (cmd, &at, error))
    {
      dsm_command_clear (cmd);
      return FALSE;
    }
  return TRUE;
}

/* A config entry: its change and the membership that change made. */
static DsmEntry *
entry_read_config (const DsmJsonAt *at, guint64 index, guint64 epoch, const DsmCommand *cmd,
                   GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr(DsmMembership) membership = NULL;
  DsmJsonAt member;

  if (!dsm_json_read_member (&member, at, "membership", DSM_JSON_REQUIRED, error))
    return NULL;
  if (!dsm_op_is_membership (cmd->op))
    {
      DsmJsonAt op;

      dsm_json_at_member (&op, at, "op");
      dsm_json_fail (&op, DSM_JSON_ERROR_INVALID, error,
                     "a config entry carries add_member, remove_member or promote_member");
      return NULL;
    }
  path = dsm_json_at_path (&member);
  membership = dsm_membership_from_json (member.node, path, error);
  if (membership == NULL)
    return NULL;
  return dsm_entry_new_config (index, epoch, cmd, membership);
}

/* An entry without the command check (dsm_message_check() does it for a
 * message's entries). */
static DsmEntry *
entry_read (const DsmJsonAt *at, GError **error)
{
  static const char *const kinds[] = { "noop", "command", "config", NULL };
  guint64 index = 0;
  guint64 epoch = 0;
  guint kind = 0;
  DsmCommand cmd;
  DsmEntry *entry;

  if (!dsm_json_get_object (at, NULL, error)
      || !read_uint (at, "index", &index, error)
      || !read_uint (at, "epoch", &epoch, error)
      || !dsm_json_read_enum (at, "kind", DSM_JSON_REQUIRED, kinds, &kind, error))
    return NULL;
  if (kind == 0)
    return dsm_entry_new (index, epoch, DSM_ENTRY_NOOP, NULL);
  if (!command_read (at, &cmd, error))
    return NULL;
  if (kind == 2)
    entry = entry_read_config (at, index, epoch, &cmd, error);
  else if (dsm_op_is_membership (cmd.op))
    {
      DsmJsonAt op;

      dsm_json_at_member (&op, at, "op");
      dsm_json_fail (&op, DSM_JSON_ERROR_INVALID, error,
                     "a membership change is a \"config\" entry");
      entry = NULL;
    }
  else
    entry = dsm_entry_new (index, epoch, DSM_ENTRY_COMMAND, &cmd);
  dsm_command_clear (&cmd);
  return entry;
}

DsmEntry *
dsm_codec_entry_from_json (JsonNode *node, const char *where, GError **error)
{
  g_autoptr(DsmEntry) entry = NULL;
  DsmJsonAt at;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  dsm_json_at_root (&at, &dsm_codec_json_errors, node, where != NULL ? where : "entry");
  entry = entry_read (&at, error);
  if (entry == NULL)
    return NULL;
  /* Index 0 is the empty log's position: no entry lives there. */
  if (entry->index == 0)
    {
      DsmJsonAt index;

      dsm_json_at_member (&index, &at, "index");
      dsm_json_fail (&index, DSM_JSON_ERROR_INVALID, error, "must be at least 1");
      return NULL;
    }
  if (entry->kind == DSM_ENTRY_COMMAND && !command_check_at (&entry->cmd, &at, error))
    return NULL;
  return g_steal_pointer (&entry);
}

DsmEntry *
dsm_codec_decode_entry (const char *data, gsize length, GError **error)
{
  g_autoptr(JsonNode) root = dsm_codec_parse (data, length, error);

  if (root == NULL)
    return NULL;
  return dsm_codec_entry_from_json (root, "entry", error);
}

/* ---- messages ---- */

static gboolean
message_read_entries (DsmMessage *msg, const DsmJsonAt *object, GError **error)
{
  DsmJsonAt at;
  guint length = 0;

  if (!dsm_json_read_member (&at, object, "entries", DSM_JSON_REQUIRED, error)
      || !dsm_json_get_array (&at, DSM_MESSAGE_ENTRIES_MAX, &length, error))
    return FALSE;
  msg->entries = g_ptr_array_new_full (length, (GDestroyNotify) dsm_entry_unref);
  for (guint i = 0; i < length; i++)
    {
      DsmJsonAt element;
      DsmEntry *entry;

      dsm_json_at_element (&element, &at, i);
      if ((entry = entry_read (&element, error)) == NULL)
        return FALSE;
      g_ptr_array_add (msg->entries, entry);
    }
  return TRUE;
}

static gboolean
message_read_command (DsmMessage *msg, const DsmJsonAt *object, gboolean required,
                      GError **error)
{
  DsmJsonAt at;

  if (!dsm_json_read_member (&at, object, "cmd",
                             required ? DSM_JSON_REQUIRED : DSM_JSON_NULLABLE, error))
    return FALSE;
  if (at.node == NULL || (!required && JSON_NODE_HOLDS_NULL (at.node)))
    return TRUE;
  return dsm_json_get_object (&at, NULL, error) && command_read (&at, &msg->cmd, error);
}

static gboolean
message_read_data (DsmMessage *msg, const DsmJsonAt *object, GError **error)
{
  DsmJsonAt at;

  return dsm_json_read_member (&at, object, "data", DSM_JSON_REQUIRED, error)
         && dsm_json_get_base64 (&at, DSM_MESSAGE_CHUNK_BYTES_MAX, &msg->data, error);
}

static gboolean
message_read_reason (DsmMessage *msg, const DsmJsonAt *object, GError **error)
{
  const char *text = NULL;
  DsmJsonAt at;

  if (!dsm_json_read_member (&at, object, "reason", DSM_JSON_REQUIRED, error)
      || !dsm_json_get_string (&at, 0, &text, error))
    return FALSE;
  if (!dsm_reject_reason_from_string (text, &msg->reason))
    return dsm_json_fail (&at, DSM_JSON_ERROR_CHOICE, error, "unknown reason");
  return TRUE;
}

static gboolean
message_read_status (DsmMessage *msg, const DsmJsonAt *object, GError **error)
{
  const char *text = NULL;
  DsmJsonAt at;

  if (!dsm_json_read_member (&at, object, "status", DSM_JSON_REQUIRED, error)
      || !dsm_json_get_string (&at, 0, &text, error))
    return FALSE;
  if (!dsm_reply_status_from_string (text, &msg->status))
    return dsm_json_fail (&at, DSM_JSON_ERROR_CHOICE, error, "unknown status");
  return TRUE;
}

static gboolean
message_read_state_and_detail (DsmMessage *msg, const DsmJsonAt *at, GError **error)
{
  return read_name (at, "state", FALSE, &msg->state, error)
         && read_text (at, "detail", FALSE, 0, &msg->detail, error)
         && dsm_json_read_uint (at, "revision", DSM_JSON_OPTIONAL, 0, DSM_CODEC_UINT_MAX, &msg->revision,
                                error)
         && read_text (at, "machine_data", FALSE, DSM_DATA_BYTES_MAX, &msg->machine_data, error);
}

static gboolean
message_read_fields (DsmMessage *msg, const DsmJsonAt *at, GError **error)
{
  switch (msg->type)
    {
    case DSM_MSG_VOTE_REQUEST:
      return dsm_json_read_bool (at, "pre_vote", DSM_JSON_REQUIRED, &msg->pre_vote, error)
             && read_uint (at, "last_index", &msg->last_index, error)
             && read_uint (at, "last_epoch", &msg->last_epoch, error)
             && dsm_json_read_bool (at, "transfer", DSM_JSON_OPTIONAL, &msg->transfer, error);
    case DSM_MSG_VOTE:
      return dsm_json_read_bool (at, "pre_vote", DSM_JSON_REQUIRED, &msg->pre_vote, error)
             && dsm_json_read_bool (at, "granted", DSM_JSON_REQUIRED, &msg->granted, error);
    case DSM_MSG_PROPOSAL:
      return read_uint (at, "prev_index", &msg->prev_index, error)
             && read_uint (at, "prev_epoch", &msg->prev_epoch, error)
             && read_uint (at, "commit_index", &msg->commit_index, error)
             && read_uint (at, "hb_seq", &msg->hb_seq, error)
             && message_read_entries (msg, at, error);
    case DSM_MSG_ACK:
      return read_uint (at, "match_index", &msg->match_index, error)
             && read_uint (at, "snapshot_offset", &msg->snapshot_offset, error)
             && read_uint (at, "last_index", &msg->last_index, error)
             && read_uint (at, "hb_seq", &msg->hb_seq, error);
    case DSM_MSG_COMMIT:
      return read_uint (at, "commit_index", &msg->commit_index, error)
             && read_uint (at, "hb_seq", &msg->hb_seq, error);
    case DSM_MSG_REJECT:
      return message_read_reason (msg, at, error)
             && read_uint (at, "prev_index", &msg->prev_index, error)
             && read_uint (at, "hint_index", &msg->hint_index, error)
             && read_uint (at, "hint_epoch", &msg->hint_epoch, error)
             && read_node_id (at, "leader_hint", &msg->leader_hint, error)
             && read_uint (at, "hb_seq", &msg->hb_seq, error)
             && read_uint (at, "request_id", &msg->request_id, error)
             && read_uint (at, "index", &msg->index, error)
             && message_read_command (msg, at, FALSE, error)
             && message_read_state_and_detail (msg, at, error);
    case DSM_MSG_CLIENT_REQUEST:
      return read_uint (at, "request_id", &msg->request_id, error)
             && message_read_command (msg, at, TRUE, error);
    case DSM_MSG_CLIENT_REPLY:
      return read_uint (at, "request_id", &msg->request_id, error)
             && message_read_status (msg, at, error)
             && message_read_reason (msg, at, error)
             && read_uint (at, "index", &msg->index, error)
             && read_node_id (at, "leader_hint", &msg->leader_hint, error)
             && read_optional_node_id (at, "member", &msg->member, error)
             && message_read_command (msg, at, FALSE, error)
             && message_read_state_and_detail (msg, at, error);
    case DSM_MSG_TIMEOUT_NOW:
      /* Optional: a TimeoutNow from a node that predates them (0: no
       * claim about the log) is taken as before (PROTOCOL.md, "Leadership
       * transfer"). */
      return dsm_json_read_uint (at, "last_index", DSM_JSON_OPTIONAL, 0, DSM_CODEC_UINT_MAX, &msg->last_index, error)
             && dsm_json_read_uint (at, "last_epoch", DSM_JSON_OPTIONAL, 0, DSM_CODEC_UINT_MAX, &msg->last_epoch,
                                    error);
    case DSM_MSG_SNAPSHOT:
      return read_uint (at, "last_index", &msg->last_index, error)
             && read_uint (at, "last_epoch", &msg->last_epoch, error)
             && read_uint (at, "snapshot_offset", &msg->snapshot_offset, error)
             && read_uint (at, "hb_seq", &msg->hb_seq, error)
             && message_read_data (msg, at, error)
             && dsm_json_read_bool (at, "done", DSM_JSON_REQUIRED, &msg->done, error);
    case DSM_MSG_N_TYPES:
    default:
      g_assert_not_reached ();
    }
}

DsmMessage *
dsm_codec_message_from_json (JsonNode *node, GError **error)
{
  g_autoptr(DsmMessage) msg = NULL;
  const char *type_name = NULL;
  DsmMessageType type;
  DsmNodeId from = 0;
  DsmNodeId to = 0;
  guint64 epoch = 0;
  DsmJsonAt at;
  DsmJsonAt member;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  dsm_json_at_root (&at, &dsm_codec_json_errors, node, "message");
  if (!dsm_json_get_object (&at, NULL, error)
      || !dsm_json_read_member (&member, &at, "type", DSM_JSON_REQUIRED, error)
      || !dsm_json_get_string (&member, 0, &type_name, error))
    return NULL;
  if (!dsm_message_type_from_string (type_name, &type))
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_UNKNOWN_TYPE,
                   "message.type: unknown type");
      return NULL;
    }
  /* From here on, paths start with the type: "proposal.entries[2].epoch". */
  dsm_json_at_root (&at, &dsm_codec_json_errors, node, dsm_message_type_to_string (type));
  if (!read_node_id (&at, "from", &from, error)
      || !read_node_id (&at, "to", &to, error)
      || !read_uint (&at, "epoch", &epoch, error))
    return NULL;

  msg = dsm_message_new (type, from, to, epoch);
  if (!message_read_fields (msg, &at, error) || !dsm_message_check (msg, error))
    return NULL;
  return g_steal_pointer (&msg);
}

DsmMessage *
dsm_codec_decode_message (const char *data, gsize length, GError **error)
{
  g_autoptr(JsonNode) root = NULL;
  DsmMessage *msg;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* The hot messages' common shapes without a tree (core/codec-fast.c);
   * everything else, errors included, is read in full. */
  if ((msg = dsm_codec_decode_message_fast (data, length)) != NULL)
    return msg;
  root = dsm_codec_parse (data, length, error);
  if (root == NULL)
    return NULL;
  return dsm_codec_message_from_json (root, error);
}
