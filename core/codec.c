/* core/codec.c: the wire format: messages, entries and commands as
 * one-line JSON, and writing them, by hand into a GString with the writer
 * of core/json-write.h.  Reading them is core/codec-read.c's.
 *
 * Wire format.  Every message is one object whose field names are the
 * DsmMessage member names.  All types carry "type" (the names of
 * dsm_message_type_to_string()), "from", "to" and "epoch"; then:
 *
 *   type            required fields                          optional fields
 *   --------------  ---------------------------------------  -----------------
 *   vote_request    pre_vote last_index last_epoch           transfer
 *   vote            pre_vote granted
 *   proposal        prev_index prev_epoch commit_index
 *                   hb_seq entries
 *   ack             match_index snapshot_offset last_index
 *                   hb_seq
 *   commit          commit_index hb_seq
 *   reject          reason prev_index hint_index hint_epoch  cmd state detail
 *                   leader_hint hb_seq request_id index      revision machine_data
 *   client_request  request_id cmd
 *   client_reply    request_id status reason index           cmd state detail
 *                   leader_hint                              member revision
 *                                                            machine_data
 *   timeout_now                                              last_index last_epoch
 *   snapshot        last_index last_epoch snapshot_offset
 *                   hb_seq data done
 *
 * Beyond message.h's comments, the engine uses: ack.last_index (non-zero:
 * the snapshot a chunk ack is about), snapshot.hb_seq (echoed like a
 * Proposal's), reject.prev_index (which Proposal a log_mismatch answers),
 * reject.index (where a client command was judged) and
 * client_reply.leader_hint.
 *
 * Numbers are unsigned integers up to 2^53 (what every JSON reader keeps
 * exact); node ids are 0..DSM_NODE_ID_MAX (2^31 - 1), as everywhere.  pre_vote, granted and done are booleans.
 * reason and status are strings (dsm_reject_reason_to_string(),
 * dsm_reply_status_to_string(); client_reply's reason is "none" when the
 * status is "ok").  data is standard base64 with padding.  Optional fields
 * are left out when unset; the decoder also takes null for them.  The
 * encoder writes only the fields of the table; the decoder requires every
 * required one.
 *
 *   entry    {"index":N,"epoch":N,"kind":"noop"}
 *            {"index":N,"epoch":N,"kind":"command",<command members>}
 *            {"index":N,"epoch":N,"kind":"config",<command members>,
 *             "membership":{"next_id":N,"members":[{"id":N,"role":"voter"|
 *             "learner","peer_address":S,"client_address":S,"native_address":S},...]}}
 *   command  {"op":"transition"|"read","machine":S,"to":S,"from":S,
 *             "definition":S,"payload":S,"if_revision":N,"client_id":S,
 *             "seq":N}
 *            {"op":"define","definition":S,"spec":S}
 *            {"op":"add_member","node":N,"peer_address":S,"client_address":S,"native_address":S}
 *            {"op":"remove_member"|"promote_member","node":N}
 *            op is required; machine is required for transitions and reads,
 *            to for transitions (refused for reads); definition and spec
 *            (the definition's JSON text) for define; node for remove and
 *            promote (an add without one takes the next free id); fields an
 *            op does not use are refused; client_id is optional for every
 *            op; seq comes with client_id and only with it.  payload
 *            (a JSON object's text, in a string so that its nesting is
 *            not the message's) and if_revision are a transition's, and
 *            optional: entries written before they existed have neither,
 *            which reads as no payload and no revision condition.  A config
 *            entry carries a membership op and the whole membership it
 *            made (PROTOCOL.md, "Membership changes").
 *
 * Unknown fields are ignored, at every level (memberships and their
 * members included): a newer peer may add fields an older one does not
 * know (forward compatibility), as long as the ones above keep their
 * meaning; unknown values of known fields (type, kind, op, role, reason,
 * status) are refused.  Fields a type does not use are unknown to it.
 * docs/PROTOCOL.md, "Wire format", gives the rule and why.
 *
 * Reading is core/codec-read.c's: parsing by core/json-parse.c with the
 * wire's bounds (the input's size, nesting), where a repeated key,
 * trailing data, raw control characters, \u0000, lone surrogates, invalid
 * UTF-8 and integers past 64 bits are errors; then the typed readers of
 * core/json.h, which refuse a fraction or an exponent where an integer
 * goes, naming the field. */
#include "codec.h"

#include <string.h>

#include "json-write.h"
#include "membership.h"

/* ------------------------------------------------------------------ */
/* Encoding: appends only, no allocation besides the GString growing.  */

/* `key` is a literal; every field but the first follows a comma. */
#define WRITE_UINT(out, key, value) \
  G_STMT_START { DSM_JSON_APPEND_LITERAL (out, ",\"" key "\":"); dsm_json_write_uint (out, value); } G_STMT_END
#define WRITE_BOOL(out, key, value) \
  G_STMT_START { DSM_JSON_APPEND_LITERAL (out, ",\"" key "\":"); dsm_json_write_bool (out, value); } G_STMT_END
#define WRITE_STRING(out, key, value) \
  G_STMT_START { DSM_JSON_APPEND_LITERAL (out, ",\"" key "\":"); dsm_json_write_string (out, value); } G_STMT_END
#define WRITE_OPTIONAL_STRING(out, key, value) \
  G_STMT_START { if ((value) != NULL) WRITE_STRING (out, key, value); } G_STMT_END
/* For our own enum names, which need no escaping. */
#define WRITE_NAME(out, key, value) \
  G_STMT_START { \
    DSM_JSON_APPEND_LITERAL (out, ",\"" key "\":\""); \
    dsm_json_append_str (out, value); \
    dsm_json_append_c (out, '"'); \
  } G_STMT_END

void
dsm_codec_write_uint (GString *out, guint64 value)
{
  dsm_json_write_uint (out, value);
}

void
dsm_codec_write_string (GString *out, const char *text)
{
  dsm_json_write_string (out, text);
}

/* The members of a command, each after a comma: an entry carries them
 * inline, a message wraps them in "cmd":{...}. */
static void
write_command_members (GString *out, const DsmCommand *cmd)
{
  DSM_JSON_APPEND_LITERAL (out, "\"op\":\"");
  dsm_json_append_str (out, dsm_op_to_string (cmd->op));
  dsm_json_append_c (out, '"');
  WRITE_OPTIONAL_STRING (out, "machine", cmd->machine);
  WRITE_OPTIONAL_STRING (out, "to", cmd->to);
  WRITE_OPTIONAL_STRING (out, "from", cmd->from);
  WRITE_OPTIONAL_STRING (out, "definition", cmd->definition);
  WRITE_OPTIONAL_STRING (out, "spec", cmd->spec);
  if (cmd->node != DSM_NODE_NONE)
    WRITE_UINT (out, "node", cmd->node);
  WRITE_OPTIONAL_STRING (out, "peer_address", cmd->peer_address);
  WRITE_OPTIONAL_STRING (out, "client_address", cmd->client_address);
  WRITE_OPTIONAL_STRING (out, "native_address", cmd->native_address);
  WRITE_OPTIONAL_STRING (out, "payload", cmd->payload);
  if (cmd->has_if_revision)
    WRITE_UINT (out, "if_revision", cmd->if_revision);
  if (cmd->client_id != NULL)
    {
      WRITE_STRING (out, "client_id", cmd->client_id);
      WRITE_UINT (out, "seq", cmd->seq);
    }
}

void
dsm_codec_write_command (GString *out, const DsmCommand *cmd)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (cmd != NULL);

  dsm_json_append_c (out, '{');
  write_command_members (out, cmd);
  dsm_json_append_c (out, '}');
}

static void
write_entry_fields (GString *out, const DsmEntry *entry)
{
  DSM_JSON_APPEND_LITERAL (out, "{\"index\":");
  dsm_json_write_uint (out, entry->index);
  WRITE_UINT (out, "epoch", entry->epoch);
  if (entry->kind == DSM_ENTRY_COMMAND)
    {
      DSM_JSON_APPEND_LITERAL (out, ",\"kind\":\"command\",");
      write_command_members (out, &entry->cmd);
    }
  else if (entry->kind == DSM_ENTRY_CONFIG)
    {
      DSM_JSON_APPEND_LITERAL (out, ",\"kind\":\"config\",");
      write_command_members (out, &entry->cmd);
      DSM_JSON_APPEND_LITERAL (out, ",\"membership\":");
      dsm_membership_write_json (out, entry->membership);
    }
  else
    DSM_JSON_APPEND_LITERAL (out, ",\"kind\":\"noop\"");
  dsm_json_append_c (out, '}');
}

/* An entry's text: the copy kept on it if any, else written from its
 * fields and, when @keep, kept on it for the next writer. */
static void
write_entry (GString *out, const DsmEntry *entry, gboolean keep)
{
  const DsmEntryJson *json;
  gsize start;

  g_return_if_fail (out != NULL);
  g_return_if_fail (entry != NULL);
  g_return_if_fail ((entry->kind == DSM_ENTRY_CONFIG) == (entry->membership != NULL));

  json = dsm_entry_get_json (entry);
  if (json != NULL)
    {
      dsm_json_append_len (out, json->text, json->length);
      return;
    }
  start = out->len;
  write_entry_fields (out, entry);
  if (!keep)
    return;
  json = dsm_entry_cache_json (entry, out->str + start, out->len - start);
  /* Whoever cached it first wrote the same text. */
  g_assert (json->length == out->len - start);
}

void
dsm_codec_write_entry (GString *out, const DsmEntry *entry)
{
  write_entry (out, entry, FALSE);
}

void
dsm_codec_write_entry_keep (GString *out, const DsmEntry *entry)
{
  write_entry (out, entry, TRUE);
}

/* An entry not yet written: about what a benchmark transition with a
 * client id takes (~150 bytes), rounded up. */
#define ENTRY_SIZE_HINT_BYTES 192

gsize
dsm_codec_entries_size_hint (const GPtrArray *entries)
{
  gsize size = 0;

  for (guint i = 0; entries != NULL && i < entries->len; i++)
    {
      const DsmEntryJson *json = dsm_entry_get_json (entries->pdata[i]);

      size += (json != NULL ? json->length : ENTRY_SIZE_HINT_BYTES) + 1;
    }
  return size;
}

static void
write_optional_command (GString *out, const DsmCommand *cmd)
{
  if (dsm_command_is_empty (cmd))
    return;
  DSM_JSON_APPEND_LITERAL (out, ",\"cmd\":");
  dsm_codec_write_command (out, cmd);
}

/* Optional, left out when unset: peers that predate them read none. */
static void
write_revision_and_data (GString *out, const DsmMessage *msg)
{
  if (msg->revision != 0)
    WRITE_UINT (out, "revision", msg->revision);
  WRITE_OPTIONAL_STRING (out, "machine_data", msg->machine_data);
}

static void
write_message_fields (GString *out, const DsmMessage *msg)
{
  switch (msg->type)
    {
    case DSM_MSG_VOTE_REQUEST:
      WRITE_BOOL (out, "pre_vote", msg->pre_vote);
      WRITE_UINT (out, "last_index", msg->last_index);
      WRITE_UINT (out, "last_epoch", msg->last_epoch);
      if (msg->transfer)
        WRITE_BOOL (out, "transfer", TRUE);
      break;
    case DSM_MSG_VOTE:
      WRITE_BOOL (out, "pre_vote", msg->pre_vote);
      WRITE_BOOL (out, "granted", msg->granted);
      break;
    case DSM_MSG_PROPOSAL:
      WRITE_UINT (out, "prev_index", msg->prev_index);
      WRITE_UINT (out, "prev_epoch", msg->prev_epoch);
      WRITE_UINT (out, "commit_index", msg->commit_index);
      WRITE_UINT (out, "hb_seq", msg->hb_seq);
      DSM_JSON_APPEND_LITERAL (out, ",\"entries\":[");
      for (guint i = 0; msg->entries != NULL && i < msg->entries->len; i++)
        {
          if (i > 0)
            dsm_json_append_c (out, ',');
          /* Sent to every follower, resent on retries: encoded once. */
          dsm_codec_write_entry_keep (out, g_ptr_array_index (msg->entries, i));
        }
      dsm_json_append_c (out, ']');
      break;
    case DSM_MSG_ACK:
      WRITE_UINT (out, "match_index", msg->match_index);
      WRITE_UINT (out, "snapshot_offset", msg->snapshot_offset);
      WRITE_UINT (out, "last_index", msg->last_index);
      WRITE_UINT (out, "hb_seq", msg->hb_seq);
      break;
    case DSM_MSG_COMMIT:
      WRITE_UINT (out, "commit_index", msg->commit_index);
      WRITE_UINT (out, "hb_seq", msg->hb_seq);
      break;
    case DSM_MSG_REJECT:
      WRITE_NAME (out, "reason", dsm_reject_reason_to_string (msg->reason));
      WRITE_UINT (out, "prev_index", msg->prev_index);
      WRITE_UINT (out, "hint_index", msg->hint_index);
      WRITE_UINT (out, "hint_epoch", msg->hint_epoch);
      WRITE_UINT (out, "leader_hint", msg->leader_hint);
      WRITE_UINT (out, "hb_seq", msg->hb_seq);
      WRITE_UINT (out, "request_id", msg->request_id);
      WRITE_UINT (out, "index", msg->index);
      write_optional_command (out, &msg->cmd);
      WRITE_OPTIONAL_STRING (out, "state", msg->state);
      WRITE_OPTIONAL_STRING (out, "detail", msg->detail);
      write_revision_and_data (out, msg);
      break;
    case DSM_MSG_CLIENT_REQUEST:
      WRITE_UINT (out, "request_id", msg->request_id);
      DSM_JSON_APPEND_LITERAL (out, ",\"cmd\":");
      dsm_codec_write_command (out, &msg->cmd);
      break;
    case DSM_MSG_CLIENT_REPLY:
      WRITE_UINT (out, "request_id", msg->request_id);
      WRITE_NAME (out, "status", dsm_reply_status_to_string (msg->status));
      WRITE_NAME (out, "reason", dsm_reject_reason_to_string (msg->reason));
      WRITE_UINT (out, "index", msg->index);
      WRITE_UINT (out, "leader_hint", msg->leader_hint);
      if (msg->member != DSM_NODE_NONE)
        WRITE_UINT (out, "member", msg->member);
      write_optional_command (out, &msg->cmd);
      WRITE_OPTIONAL_STRING (out, "state", msg->state);
      WRITE_OPTIONAL_STRING (out, "detail", msg->detail);
      write_revision_and_data (out, msg);
      break;
    case DSM_MSG_TIMEOUT_NOW:
      WRITE_UINT (out, "last_index", msg->last_index);
      WRITE_UINT (out, "last_epoch", msg->last_epoch);
      break;
    case DSM_MSG_SNAPSHOT:
      WRITE_UINT (out, "last_index", msg->last_index);
      WRITE_UINT (out, "last_epoch", msg->last_epoch);
      WRITE_UINT (out, "snapshot_offset", msg->snapshot_offset);
      WRITE_UINT (out, "hb_seq", msg->hb_seq);
      DSM_JSON_APPEND_LITERAL (out, ",\"data\":");
      dsm_json_write_base64 (out, msg->data);
      WRITE_BOOL (out, "done", msg->done);
      break;
    case DSM_MSG_N_TYPES:
    default:
      g_assert_not_reached ();
    }
}

void
dsm_codec_write_message (GString *out, const DsmMessage *msg)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (out != NULL);
  g_return_if_fail (msg != NULL);

  /* Encoding a malformed message is a bug in its sender (STYLE.md: check
   * a message on encode and again on decode). */
  if (!dsm_message_check (msg, &error))
    g_error ("dsm_codec_write_message: %s", error->message);

  DSM_JSON_APPEND_LITERAL (out, "{\"type\":\"");
  dsm_json_append_str (out, dsm_message_type_to_string (msg->type));
  DSM_JSON_APPEND_LITERAL (out, "\",\"from\":");
  dsm_json_write_uint (out, msg->from);
  WRITE_UINT (out, "to", msg->to);
  WRITE_UINT (out, "epoch", msg->epoch);
  write_message_fields (out, msg);
  dsm_json_append_c (out, '}');
}

char *
dsm_codec_encode_message (const DsmMessage *msg)
{
  GString *out;

  g_return_val_if_fail (msg != NULL, NULL);

  /* A Proposal's entries sized in advance: grown from 256 bytes, its
   * buffer was reallocated (and copied) several times per Proposal, a
   * few % of a busy leader's loop in glibc's realloc. */
  out = g_string_sized_new (256 + (msg->type == DSM_MSG_PROPOSAL
                                   ? dsm_codec_entries_size_hint (msg->entries) : 0));
  dsm_codec_write_message (out, msg);
  return g_string_free (out, FALSE);
}
