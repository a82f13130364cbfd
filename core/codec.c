/* core/codec.c: messages, entries and commands to and from one-line JSON.
 * Encoding is by hand into a GString; decoding is json-glib behind a strict
 * lexical pre-scan, then typed field reads and dsm_message_check().
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
 *                   leader_hint hb_seq request_id index
 *   client_request  request_id cmd
 *   client_reply    request_id status reason index           cmd state detail
 *                   leader_hint                              member
 *   timeout_now     (none)
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
 * exact); node ids fit 32 bits.  pre_vote, granted and done are booleans.
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
 *             "learner","peer_address":S,"client_address":S},...]}}
 *   command  {"op":"transition"|"read","machine":S,"to":S,"from":S,
 *             "definition":S,"client_id":S,"seq":N}
 *            {"op":"define","definition":S,"spec":S}
 *            {"op":"add_member","node":N,"peer_address":S,"client_address":S}
 *            {"op":"remove_member"|"promote_member","node":N}
 *            op is required; machine is required for transitions and reads,
 *            to for transitions (refused for reads); definition and spec
 *            (the definition's JSON text) for define; node for remove and
 *            promote (an add without one takes the next free id); fields an
 *            op does not use are refused; client_id is optional for every
 *            op; seq comes with client_id and only with it.  A config
 *            entry carries a membership op and the whole membership it
 *            made (PROTOCOL.md, "Membership changes").
 *
 * Unknown fields are ignored, at every level: a newer peer may add fields
 * an older one does not know (forward compatibility), as long as the ones
 * above keep their meaning.  Fields a type does not use are unknown to it.
 *
 * Parsing is core/json-parse.c's, with the wire's bounds (the input's
 * size, nesting): a repeated key, trailing data, raw control characters,
 * \u0000, lone surrogates and invalid UTF-8 are SYNTAX errors.  Numbers
 * that are not 64-bit integers parse as doubles, so the field reads
 * refuse them with the field's name. */
#include "codec.h"

#include <string.h>

#include "error.h"
#include "json.h"
#include "membership.h"

/* The largest integer every JSON implementation holds exactly. */
#define UINT_WIRE_MAX (G_GUINT64_CONSTANT (1) << 53)

/* ------------------------------------------------------------------ */
/* Encoding: appends only, no allocation besides the GString growing.  */

/* GLib 2.74's g_string_append_len() is an out-of-line call with checks;
 * these inline the common case (room left) and let GString grow the
 * buffer, geometrically, otherwise. */
static inline void
append_len (GString *out, const char *data, gsize length)
{
  gsize at = out->len;

  if (G_UNLIKELY (at + length >= out->allocated_len))
    {
      g_string_set_size (out, at + length);
      out->len = at;
    }
  memcpy (out->str + at, data, length);
  out->len = at + length;
  out->str[out->len] = '\0';
}

static inline void
append_c (GString *out, char c)
{
  append_len (out, &c, 1);
}

static inline void
append_str (GString *out, const char *text)
{
  append_len (out, text, strlen (text));
}

#define APPEND_LITERAL(out, literal) \
  append_len ((out), "" literal, sizeof (literal) - 1)

void
dsm_codec_write_uint (GString *out, guint64 value)
{
  char digits[24];
  gsize at = sizeof digits;

  do
    {
      digits[--at] = (char) ('0' + value % 10);
      value /= 10;
    }
  while (value != 0);
  append_len (out, digits + at, sizeof digits - at);
}

static void
write_bool (GString *out, gboolean value)
{
  if (value)
    APPEND_LITERAL (out, "true");
  else
    APPEND_LITERAL (out, "false");
}

/* `key` is a literal; every field but the first follows a comma. */
#define WRITE_UINT(out, key, value) \
  G_STMT_START { APPEND_LITERAL (out, ",\"" key "\":"); dsm_codec_write_uint (out, value); } G_STMT_END
#define WRITE_BOOL(out, key, value) \
  G_STMT_START { APPEND_LITERAL (out, ",\"" key "\":"); write_bool (out, value); } G_STMT_END
#define WRITE_STRING(out, key, value) \
  G_STMT_START { APPEND_LITERAL (out, ",\"" key "\":"); dsm_codec_write_string (out, value); } G_STMT_END
#define WRITE_OPTIONAL_STRING(out, key, value) \
  G_STMT_START { if ((value) != NULL) WRITE_STRING (out, key, value); } G_STMT_END
/* For our own enum names, which need no escaping. */
#define WRITE_NAME(out, key, value) \
  G_STMT_START { \
    APPEND_LITERAL (out, ",\"" key "\":\""); \
    append_str (out, value); \
    append_c (out, '"'); \
  } G_STMT_END

/* Writes @text quoted and escaped; returns whether it had any byte past
 * ASCII (whose UTF-8 the caller then checks). */
static gboolean
write_string_escaped (GString *out, const char *text)
{
  static const char hex[] = "0123456789abcdef";
  const char *run = text;
  const char *p;
  guchar high = 0;

  append_c (out, '"');
  for (p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      high |= c & 0x80;
      if (c >= 0x20 && c != '"' && c != '\\')
        continue;
      append_len (out, run, (gsize) (p - run));
      run = p + 1;
      switch (c)
        {
        case '"': APPEND_LITERAL (out, "\\\""); break;
        case '\\': APPEND_LITERAL (out, "\\\\"); break;
        case '\n': APPEND_LITERAL (out, "\\n"); break;
        case '\r': APPEND_LITERAL (out, "\\r"); break;
        case '\t': APPEND_LITERAL (out, "\\t"); break;
        case '\b': APPEND_LITERAL (out, "\\b"); break;
        case '\f': APPEND_LITERAL (out, "\\f"); break;
        default:
          {
            char escape[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

            append_len (out, escape, sizeof escape);
          }
          break;
        }
    }
  append_len (out, run, (gsize) (p - run));
  append_c (out, '"');
  return high != 0;
}

void
dsm_codec_write_string (GString *out, const char *text)
{
  gsize start;

  g_return_if_fail (out != NULL);
  g_return_if_fail (text != NULL);

  /* JSON text is UTF-8: a broken sequence becomes U+FFFD rather than
   * output no reader accepts.  ASCII, the common case, is one pass. */
  start = out->len;
  if (G_LIKELY (!write_string_escaped (out, text)) || g_utf8_validate (text, -1, NULL))
    return;
  {
    g_autofree char *valid = g_utf8_make_valid (text, -1);

    g_string_truncate (out, start);
    write_string_escaped (out, valid);
  }
}

static void
write_base64 (GString *out, GBytes *bytes)
{
  gsize size = 0;
  const guchar *data = g_bytes_get_data (bytes, &size);
  gsize start = out->len;
  gsize written;
  gint state = 0;
  gint save = 0;

  /* Encode straight into the string's buffer (g_base64_encode_step()
   * needs at most (size / 3 + 1) * 4 + 4 bytes without line breaks). */
  g_string_set_size (out, start + 1 + (size / 3 + 1) * 4 + 4 + 1);
  out->str[start] = '"';
  written = g_base64_encode_step (data, size, FALSE, out->str + start + 1, &state, &save);
  written += g_base64_encode_close (FALSE, out->str + start + 1 + written, &state, &save);
  out->str[start + 1 + written] = '"';
  g_string_truncate (out, start + 1 + written + 1);
}

/* The members of a command, each after a comma: an entry carries them
 * inline, a message wraps them in "cmd":{...}. */
static void
write_command_members (GString *out, const DsmCommand *cmd)
{
  APPEND_LITERAL (out, "\"op\":\"");
  append_str (out, dsm_op_to_string (cmd->op));
  append_c (out, '"');
  WRITE_OPTIONAL_STRING (out, "machine", cmd->machine);
  WRITE_OPTIONAL_STRING (out, "to", cmd->to);
  WRITE_OPTIONAL_STRING (out, "from", cmd->from);
  WRITE_OPTIONAL_STRING (out, "definition", cmd->definition);
  WRITE_OPTIONAL_STRING (out, "spec", cmd->spec);
  if (cmd->node != DSM_NODE_NONE)
    WRITE_UINT (out, "node", cmd->node);
  WRITE_OPTIONAL_STRING (out, "peer_address", cmd->peer_address);
  WRITE_OPTIONAL_STRING (out, "client_address", cmd->client_address);
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

  append_c (out, '{');
  write_command_members (out, cmd);
  append_c (out, '}');
}

void
dsm_codec_write_entry (GString *out, const DsmEntry *entry)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (entry != NULL);
  g_return_if_fail ((entry->kind == DSM_ENTRY_CONFIG) == (entry->membership != NULL));

  APPEND_LITERAL (out, "{\"index\":");
  dsm_codec_write_uint (out, entry->index);
  WRITE_UINT (out, "epoch", entry->epoch);
  if (entry->kind == DSM_ENTRY_COMMAND)
    {
      APPEND_LITERAL (out, ",\"kind\":\"command\",");
      write_command_members (out, &entry->cmd);
    }
  else if (entry->kind == DSM_ENTRY_CONFIG)
    {
      APPEND_LITERAL (out, ",\"kind\":\"config\",");
      write_command_members (out, &entry->cmd);
      APPEND_LITERAL (out, ",\"membership\":");
      dsm_membership_write_json (out, entry->membership);
    }
  else
    APPEND_LITERAL (out, ",\"kind\":\"noop\"");
  append_c (out, '}');
}

static void
write_optional_command (GString *out, const DsmCommand *cmd)
{
  if (dsm_command_is_empty (cmd))
    return;
  APPEND_LITERAL (out, ",\"cmd\":");
  dsm_codec_write_command (out, cmd);
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
      APPEND_LITERAL (out, ",\"entries\":[");
      for (guint i = 0; msg->entries != NULL && i < msg->entries->len; i++)
        {
          if (i > 0)
            append_c (out, ',');
          dsm_codec_write_entry (out, g_ptr_array_index (msg->entries, i));
        }
      append_c (out, ']');
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
      break;
    case DSM_MSG_CLIENT_REQUEST:
      WRITE_UINT (out, "request_id", msg->request_id);
      APPEND_LITERAL (out, ",\"cmd\":");
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
      break;
    case DSM_MSG_TIMEOUT_NOW:
      break;
    case DSM_MSG_SNAPSHOT:
      WRITE_UINT (out, "last_index", msg->last_index);
      WRITE_UINT (out, "last_epoch", msg->last_epoch);
      WRITE_UINT (out, "snapshot_offset", msg->snapshot_offset);
      WRITE_UINT (out, "hb_seq", msg->hb_seq);
      APPEND_LITERAL (out, ",\"data\":");
      write_base64 (out, msg->data);
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

  APPEND_LITERAL (out, "{\"type\":\"");
  append_str (out, dsm_message_type_to_string (msg->type));
  APPEND_LITERAL (out, "\",\"from\":");
  dsm_codec_write_uint (out, msg->from);
  WRITE_UINT (out, "to", msg->to);
  WRITE_UINT (out, "epoch", msg->epoch);
  write_message_fields (out, msg);
  append_c (out, '}');
}

char *
dsm_codec_encode_message (const DsmMessage *msg)
{
  GString *out;

  g_return_val_if_fail (msg != NULL, NULL);

  out = g_string_sized_new (256);
  dsm_codec_write_message (out, msg);
  return g_string_free (out, FALSE);
}

/* ------------------------------------------------------------------ */
/* Parsing: the strict parser of core/json.h, with the wire's limits.   */

JsonNode *
dsm_codec_parse (const char *data, gsize length, GError **error)
{
  static const DsmJsonLimits limits = { DSM_CODEC_INPUT_BYTES_MAX, DSM_CODEC_DEPTH_MAX };

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return dsm_json_parse (data, (gssize) length, &limits, &dsm_codec_json_errors, error);
}

/* ------------------------------------------------------------------ */
/* Decoding: typed field reads, each error naming the field's path.     */

/* Where an object sits: "<base>", "<base>.<member>" or "<base>.<member>[i]".
 * Formatted only when an error needs it. */
typedef struct {
  const char *base;
  const char *member;  /* nullable */
  gint64 index;        /* -1: none */
} Where;

static char *
where_format (const Where *where)
{
  if (where->member == NULL)
    return g_strdup (where->base);
  if (where->index < 0)
    return g_strconcat (where->base, ".", where->member, NULL);
  return g_strdup_printf ("%s.%s[%" G_GINT64_FORMAT "]", where->base, where->member,
                          where->index);
}

static gboolean G_GNUC_PRINTF (5, 6)
field_fail (GError **error, DsmCodecError code, const Where *where,
            const char *field, const char *format, ...)
{
  g_autofree char *path = where_format (where);
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  if (field != NULL)
    g_set_error (error, DSM_CODEC_ERROR, code, "%s.%s: %s", path, field, what);
  else
    g_set_error (error, DSM_CODEC_ERROR, code, "%s: %s", path, what);
  return FALSE;
}

static const char *
node_kind (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return "object";
    case JSON_NODE_ARRAY:
      return "array";
    case JSON_NODE_NULL:
      return "null";
    case JSON_NODE_VALUE:
    default:
      break;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      return "integer";
    case G_TYPE_DOUBLE:
      return "number with a fraction or exponent";
    case G_TYPE_BOOLEAN:
      return "boolean";
    case G_TYPE_STRING:
      return "string";
    default:
      return "unknown value";
    }
}

static gboolean
node_holds (JsonNode *node, GType type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

static JsonNode *
member_required (JsonObject *object, const Where *where, const char *field,
                 GError **error)
{
  JsonNode *node = json_object_get_member (object, field);

  if (node == NULL)
    field_fail (error, DSM_CODEC_ERROR_MISSING, where, field, "required field missing");
  return node;
}

static gboolean
read_uint_node (JsonNode *node, const Where *where, const char *field,
                guint64 max, guint64 *out, GError **error)
{
  gint64 value;

  if (!node_holds (node, G_TYPE_INT64))
    return field_fail (error, DSM_CODEC_ERROR_TYPE, where, field,
                       "expected an unsigned integer, found %s", node_kind (node));
  value = json_node_get_int (node);
  /* json-glib saturates integers past 64 bits and shows those past 63
   * as negative: both land here. */
  if (value < 0)
    return field_fail (error, DSM_CODEC_ERROR_TYPE, where, field,
                       "expected an unsigned integer, found a negative or "
                       "out-of-range integer");
  if ((guint64) value > max)
    return field_fail (error, DSM_CODEC_ERROR_TYPE, where, field,
                       "expected an unsigned integer, found %" G_GINT64_FORMAT
                       ", more than %" G_GUINT64_FORMAT, value, max);
  *out = (guint64) value;
  return TRUE;
}

static gboolean
read_uint (JsonObject *object, const Where *where, const char *field,
           guint64 *out, GError **error)
{
  JsonNode *node = member_required (object, where, field, error);

  return node != NULL && read_uint_node (node, where, field, UINT_WIRE_MAX, out, error);
}

static gboolean
read_node_id (JsonObject *object, const Where *where, const char *field,
              DsmNodeId *out, GError **error)
{
  JsonNode *node = member_required (object, where, field, error);
  guint64 value = 0; /* -O3 cannot see read_uint_node() sets it on success */

  if (node == NULL || !read_uint_node (node, where, field, G_MAXUINT32, &value, error))
    return FALSE;
  *out = (DsmNodeId) value;
  return TRUE;
}

static gboolean
read_bool (JsonObject *object, const Where *where, const char *field,
           gboolean *out, GError **error)
{
  JsonNode *node = member_required (object, where, field, error);

  if (node == NULL)
    return FALSE;
  if (!node_holds (node, G_TYPE_BOOLEAN))
    return field_fail (error, DSM_CODEC_ERROR_TYPE, where, field,
                       "expected a boolean, found %s", node_kind (node));
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* A string member; *out borrows json-glib's copy.  @max_bytes 0: no limit
 * beyond the input's.  An optional member may be absent or null. */
static gboolean
read_string (JsonObject *object, const Where *where, const char *field,
             gboolean required, gsize max_bytes, const char **out, GError **error)
{
  JsonNode *node = json_object_get_member (object, field);
  const char *text;
  gsize length;

  *out = NULL;
  if (node == NULL || (!required && JSON_NODE_HOLDS_NULL (node)))
    {
      if (required)
        return field_fail (error, DSM_CODEC_ERROR_MISSING, where, field,
                           "required field missing");
      return TRUE;
    }
  if (!node_holds (node, G_TYPE_STRING))
    return field_fail (error, DSM_CODEC_ERROR_TYPE, where, field,
                       "expected a string, found %s", node_kind (node));
  text = json_node_get_string (node);
  length = strlen (text);
  if (max_bytes > 0 && length > max_bytes)
    return field_fail (error, DSM_CODEC_ERROR_TOO_LARGE, where, field,
                       "string of %" G_GSIZE_FORMAT " bytes, more than %" G_GSIZE_FORMAT,
                       length, max_bytes);
  *out = text;
  return TRUE;
}

static gboolean
read_name (JsonObject *object, const Where *where, const char *field,
           gboolean required, char **out, GError **error)
{
  const char *text;

  if (!read_string (object, where, field, required, DSM_NAME_MAX, &text, error))
    return FALSE;
  *out = g_strdup (text);
  return TRUE;
}

static JsonObject *
node_object (JsonNode *node, const Where *where, const char *field, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      field_fail (error, DSM_CODEC_ERROR_TYPE, where, field,
                  "expected an object, found %s", node_kind (node));
      return NULL;
    }
  return json_node_get_object (node);
}

/* Fills @cmd (zeroed first, cleared again on failure) from @object's
 * command members without dsm_command_check(). */
static gboolean
command_read (JsonObject *object, const Where *where, DsmCommand *cmd, GError **error)
{
  const char *op = NULL;

  const char *spec = NULL;
  const char *peer = NULL;
  const char *client = NULL;
  gboolean machine_op;

  memset (cmd, 0, sizeof *cmd);
  if (!read_string (object, where, "op", TRUE, 0, &op, error))
    return FALSE;
  if (!dsm_op_from_string (op, &cmd->op))
    return field_fail (error, DSM_CODEC_ERROR_TYPE, where, "op",
                       "expected \"transition\", \"read\", \"define\", \"add_member\", "
                       "\"remove_member\" or \"promote_member\"");
  machine_op = cmd->op == DSM_OP_TRANSITION || cmd->op == DSM_OP_READ;

  if (!read_name (object, where, "machine", machine_op, &cmd->machine, error)
      || !read_name (object, where, "to", cmd->op == DSM_OP_TRANSITION, &cmd->to, error)
      || !read_name (object, where, "from", FALSE, &cmd->from, error)
      || !read_name (object, where, "definition", cmd->op == DSM_OP_DEFINE, &cmd->definition, error)
      || !read_name (object, where, "client_id", FALSE, &cmd->client_id, error)
      || !read_string (object, where, "spec", cmd->op == DSM_OP_DEFINE, DSM_SPEC_BYTES_MAX, &spec, error)
      || !read_string (object, where, "peer_address", FALSE, 0, &peer, error)
      || !read_string (object, where, "client_address", FALSE, 0, &client, error))
    goto fail;
  cmd->spec = g_strdup (spec);
  cmd->peer_address = g_strdup (peer);
  cmd->client_address = g_strdup (client);
  if ((dsm_op_is_membership (cmd->op) && cmd->op != DSM_OP_ADD_MEMBER)
      || json_object_has_member (object, "node"))
    if (!read_node_id (object, where, "node", &cmd->node, error))
      goto fail;

  /* seq is required with a client id; without one, dsm_command_check()
   * refuses it, so it is read here to be refused there. */
  if (cmd->client_id != NULL || json_object_has_member (object, "seq"))
    if (!read_uint (object, where, "seq", &cmd->seq, error))
      goto fail;
  return TRUE;

fail:
  dsm_command_clear (cmd);
  return FALSE;
}

static gboolean
command_check_at (const DsmCommand *cmd, const Where *where, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *path = NULL;

  if (dsm_command_check (cmd, &local))
    return TRUE;
  path = where_format (where);
  g_set_error (error, DSM_CODEC_ERROR, local->code, "%s.%s", path, local->message);
  return FALSE;
}

gboolean
dsm_codec_command_from_json (JsonNode *node, const char *where, DsmCommand *cmd,
                             GError **error)
{
  Where at = { where != NULL ? where : "cmd", NULL, -1 };
  JsonObject *object;

  g_return_val_if_fail (node != NULL, FALSE);
  g_return_val_if_fail (cmd != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (cmd, 0, sizeof *cmd);
  object = node_object (node, &at, NULL, error);
  if (object == NULL || !command_read (object, &at, cmd, error))
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
entry_read_config (JsonObject *object, const Where *where, guint64 index, guint64 epoch,
                   const DsmCommand *cmd, GError **error)
{
  JsonNode *node = member_required (object, where, "membership", error);
  g_autofree char *base = NULL;
  g_autofree char *path = NULL;
  g_autoptr(DsmMembership) membership = NULL;

  if (node == NULL)
    return NULL;
  if (!dsm_op_is_membership (cmd->op))
    {
      field_fail (error, DSM_CODEC_ERROR_INVALID, where, "op",
                  "a config entry carries add_member, remove_member or promote_member");
      return NULL;
    }
  base = where_format (where);
  path = g_strconcat (base, ".membership", NULL);
  membership = dsm_membership_from_json (node, path, error);
  if (membership == NULL)
    return NULL;
  return dsm_entry_new_config (index, epoch, cmd, membership);
}

/* An entry without the command check (dsm_message_check() does it for a
 * message's entries). */
static DsmEntry *
entry_read (JsonNode *node, const Where *where, GError **error)
{
  JsonObject *object = node_object (node, where, NULL, error);
  const char *kind = NULL;
  guint64 index = 0;
  guint64 epoch = 0;
  DsmCommand cmd;
  DsmEntry *entry;

  if (object == NULL
      || !read_uint (object, where, "index", &index, error)
      || !read_uint (object, where, "epoch", &epoch, error)
      || !read_string (object, where, "kind", TRUE, 0, &kind, error))
    return NULL;
  if (strcmp (kind, "noop") == 0)
    return dsm_entry_new (index, epoch, DSM_ENTRY_NOOP, NULL);
  if (strcmp (kind, "command") != 0 && strcmp (kind, "config") != 0)
    {
      field_fail (error, DSM_CODEC_ERROR_TYPE, where, "kind",
                  "expected \"noop\", \"command\" or \"config\"");
      return NULL;
    }
  if (!command_read (object, where, &cmd, error))
    return NULL;
  if (strcmp (kind, "config") == 0)
    entry = entry_read_config (object, where, index, epoch, &cmd, error);
  else if (dsm_op_is_membership (cmd.op))
    {
      field_fail (error, DSM_CODEC_ERROR_INVALID, where, "op",
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
  Where at = { where != NULL ? where : "entry", NULL, -1 };
  g_autoptr(DsmEntry) entry = NULL;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  entry = entry_read (node, &at, error);
  if (entry == NULL)
    return NULL;
  /* Index 0 is the empty log's position: no entry lives there. */
  if (entry->index == 0)
    {
      field_fail (error, DSM_CODEC_ERROR_INVALID, &at, "index", "must be at least 1");
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

static gboolean
message_read_entries (DsmMessage *msg, JsonObject *object, const char *type_name,
                      GError **error)
{
  Where at = { type_name, NULL, -1 };
  JsonNode *node = member_required (object, &at, "entries", error);
  JsonArray *array;
  guint length;

  if (node == NULL)
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return field_fail (error, DSM_CODEC_ERROR_TYPE, &at, "entries",
                       "expected an array, found %s", node_kind (node));
  array = json_node_get_array (node);
  length = json_array_get_length (array);
  if (length > DSM_MESSAGE_ENTRIES_MAX)
    return field_fail (error, DSM_CODEC_ERROR_TOO_LARGE, &at, "entries",
                       "%u entries, more than %d", length, DSM_MESSAGE_ENTRIES_MAX);

  msg->entries = g_ptr_array_new_full (length, (GDestroyNotify) dsm_entry_unref);
  for (guint i = 0; i < length; i++)
    {
      Where entry_at = { type_name, "entries", i };
      DsmEntry *entry = entry_read (json_array_get_element (array, i), &entry_at, error);

      if (entry == NULL)
        return FALSE;
      g_ptr_array_add (msg->entries, entry);
    }
  return TRUE;
}

static gboolean
message_read_command (DsmMessage *msg, JsonObject *object, const char *type_name,
                      gboolean required, GError **error)
{
  Where at = { type_name, NULL, -1 };
  Where cmd_at = { type_name, "cmd", -1 };
  JsonNode *node = json_object_get_member (object, "cmd");

  if (node == NULL || (!required && JSON_NODE_HOLDS_NULL (node)))
    {
      if (required)
        return field_fail (error, DSM_CODEC_ERROR_MISSING, &at, "cmd",
                           "required field missing");
      return TRUE;
    }
  object = node_object (node, &at, "cmd", error);
  return object != NULL && command_read (object, &cmd_at, &msg->cmd, error);
}

static int
base64_value (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Base64 as g_base64_encode() writes it.  g_base64_decode() skips what it
 * does not know, so the alphabet, the padding and the unused low bits are
 * checked here: one chunk has one spelling. */
static gboolean
base64_check (const char *text, gsize length, gsize padding)
{
  gsize digits = length - padding;

  for (gsize i = 0; i < digits; i++)
    if (base64_value (text[i]) < 0)
      return FALSE;
  if (padding == 2)
    return (base64_value (text[digits - 1]) & 0x0f) == 0;
  if (padding == 1)
    return (base64_value (text[digits - 1]) & 0x03) == 0;
  return TRUE;
}

static gboolean
message_read_data (DsmMessage *msg, JsonObject *object, const char *type_name,
                   GError **error)
{
  Where at = { type_name, NULL, -1 };
  const char *text = NULL;
  gsize length;
  gsize padding = 0;
  gsize size;
  guchar *bytes;
  gint state = 0;
  guint save = 0;

  if (!read_string (object, &at, "data", TRUE, 0, &text, error))
    return FALSE;
  length = strlen (text);
  if (length % 4 != 0)
    return field_fail (error, DSM_CODEC_ERROR_TYPE, &at, "data",
                       "not base64: length %" G_GSIZE_FORMAT " is not a multiple of 4",
                       length);
  if (length > 0 && text[length - 1] == '=')
    padding = text[length - 2] == '=' ? 2 : 1;
  size = length / 4 * 3 - padding;
  if (size > DSM_MESSAGE_CHUNK_BYTES_MAX)
    return field_fail (error, DSM_CODEC_ERROR_TOO_LARGE, &at, "data",
                       "chunk of %" G_GSIZE_FORMAT " bytes, more than %d",
                       size, DSM_MESSAGE_CHUNK_BYTES_MAX);
  if (!base64_check (text, length, padding))
    return field_fail (error, DSM_CODEC_ERROR_TYPE, &at, "data",
                       "not base64: a character outside the alphabet or misplaced padding");

  bytes = g_malloc (size + 3);
  size = g_base64_decode_step (text, length, bytes, &state, &save);
  msg->data = g_bytes_new_take (bytes, size);
  return TRUE;
}

static gboolean
message_read_reason (DsmMessage *msg, JsonObject *object, const Where *at,
                     GError **error)
{
  const char *text = NULL;

  if (!read_string (object, at, "reason", TRUE, 0, &text, error))
    return FALSE;
  if (!dsm_reject_reason_from_string (text, &msg->reason))
    return field_fail (error, DSM_CODEC_ERROR_TYPE, at, "reason", "unknown reason");
  return TRUE;
}

static gboolean
message_read_state_and_detail (DsmMessage *msg, JsonObject *object, const Where *at,
                               GError **error)
{
  const char *detail = NULL;

  if (!read_name (object, at, "state", FALSE, &msg->state, error)
      || !read_string (object, at, "detail", FALSE, 0, &detail, error))
    return FALSE;
  msg->detail = g_strdup (detail);
  return TRUE;
}

static gboolean
message_read_fields (DsmMessage *msg, JsonObject *object, GError **error)
{
  const char *name = dsm_message_type_to_string (msg->type);
  Where at = { name, NULL, -1 };
  const char *status = NULL;

  switch (msg->type)
    {
    case DSM_MSG_VOTE_REQUEST:
      return read_bool (object, &at, "pre_vote", &msg->pre_vote, error)
             && read_uint (object, &at, "last_index", &msg->last_index, error)
             && read_uint (object, &at, "last_epoch", &msg->last_epoch, error)
             && (!json_object_has_member (object, "transfer")
                 || read_bool (object, &at, "transfer", &msg->transfer, error));
    case DSM_MSG_VOTE:
      return read_bool (object, &at, "pre_vote", &msg->pre_vote, error)
             && read_bool (object, &at, "granted", &msg->granted, error);
    case DSM_MSG_PROPOSAL:
      return read_uint (object, &at, "prev_index", &msg->prev_index, error)
             && read_uint (object, &at, "prev_epoch", &msg->prev_epoch, error)
             && read_uint (object, &at, "commit_index", &msg->commit_index, error)
             && read_uint (object, &at, "hb_seq", &msg->hb_seq, error)
             && message_read_entries (msg, object, name, error);
    case DSM_MSG_ACK:
      return read_uint (object, &at, "match_index", &msg->match_index, error)
             && read_uint (object, &at, "snapshot_offset", &msg->snapshot_offset, error)
             && read_uint (object, &at, "last_index", &msg->last_index, error)
             && read_uint (object, &at, "hb_seq", &msg->hb_seq, error);
    case DSM_MSG_COMMIT:
      return read_uint (object, &at, "commit_index", &msg->commit_index, error)
             && read_uint (object, &at, "hb_seq", &msg->hb_seq, error);
    case DSM_MSG_REJECT:
      return message_read_reason (msg, object, &at, error)
             && read_uint (object, &at, "prev_index", &msg->prev_index, error)
             && read_uint (object, &at, "hint_index", &msg->hint_index, error)
             && read_uint (object, &at, "hint_epoch", &msg->hint_epoch, error)
             && read_node_id (object, &at, "leader_hint", &msg->leader_hint, error)
             && read_uint (object, &at, "hb_seq", &msg->hb_seq, error)
             && read_uint (object, &at, "request_id", &msg->request_id, error)
             && read_uint (object, &at, "index", &msg->index, error)
             && message_read_command (msg, object, name, FALSE, error)
             && message_read_state_and_detail (msg, object, &at, error);
    case DSM_MSG_CLIENT_REQUEST:
      return read_uint (object, &at, "request_id", &msg->request_id, error)
             && message_read_command (msg, object, name, TRUE, error);
    case DSM_MSG_CLIENT_REPLY:
      if (!read_uint (object, &at, "request_id", &msg->request_id, error)
          || !read_string (object, &at, "status", TRUE, 0, &status, error))
        return FALSE;
      if (!dsm_reply_status_from_string (status, &msg->status))
        return field_fail (error, DSM_CODEC_ERROR_TYPE, &at, "status", "unknown status");
      return message_read_reason (msg, object, &at, error)
             && read_uint (object, &at, "index", &msg->index, error)
             && read_node_id (object, &at, "leader_hint", &msg->leader_hint, error)
             && (!json_object_has_member (object, "member")
                 || read_node_id (object, &at, "member", &msg->member, error))
             && message_read_command (msg, object, name, FALSE, error)
             && message_read_state_and_detail (msg, object, &at, error);
    case DSM_MSG_TIMEOUT_NOW:
      return TRUE;
    case DSM_MSG_SNAPSHOT:
      return read_uint (object, &at, "last_index", &msg->last_index, error)
             && read_uint (object, &at, "last_epoch", &msg->last_epoch, error)
             && read_uint (object, &at, "snapshot_offset", &msg->snapshot_offset, error)
             && read_uint (object, &at, "hb_seq", &msg->hb_seq, error)
             && message_read_data (msg, object, name, error)
             && read_bool (object, &at, "done", &msg->done, error);
    case DSM_MSG_N_TYPES:
    default:
      g_assert_not_reached ();
    }
}

DsmMessage *
dsm_codec_message_from_json (JsonNode *node, GError **error)
{
  Where at = { "message", NULL, -1 };
  g_autoptr(DsmMessage) msg = NULL;
  JsonObject *object;
  const char *type_name = NULL;
  DsmMessageType type;
  DsmNodeId from = 0;
  DsmNodeId to = 0;
  guint64 epoch = 0;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  object = node_object (node, &at, NULL, error);
  if (object == NULL || !read_string (object, &at, "type", TRUE, 0, &type_name, error))
    return NULL;
  if (!dsm_message_type_from_string (type_name, &type))
    {
      field_fail (error, DSM_CODEC_ERROR_UNKNOWN_TYPE, &at, "type", "unknown type");
      return NULL;
    }
  at.base = dsm_message_type_to_string (type);
  if (!read_node_id (object, &at, "from", &from, error)
      || !read_node_id (object, &at, "to", &to, error)
      || !read_uint (object, &at, "epoch", &epoch, error))
    return NULL;

  msg = dsm_message_new (type, from, to, epoch);
  if (!message_read_fields (msg, object, error) || !dsm_message_check (msg, error))
    return NULL;
  return g_steal_pointer (&msg);
}

DsmMessage *
dsm_codec_decode_message (const char *data, gsize length, GError **error)
{
  g_autoptr(JsonNode) root = dsm_codec_parse (data, length, error);

  if (root == NULL)
    return NULL;
  return dsm_codec_message_from_json (root, error);
}
