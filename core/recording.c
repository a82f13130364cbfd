/* core/recording.c: a node's inputs as JSON lines and its drains'
 * digests (recording.h); written by hand, read through core/json.h. */
#include "recording.h"

#include <string.h>

#include "codec.h"
#include "error.h"
#include "event.h"
#include "json.h"
#include "record.h"

static const char *const input_names[DSM_INPUT_N_KINDS + 1] = {
  [DSM_INPUT_TICK] = "tick",
  [DSM_INPUT_STEP] = "step",
  [DSM_INPUT_SUBMIT] = "submit",
  [DSM_INPUT_PERSISTED] = "persisted",
  [DSM_INPUT_UNSENT] = "unsent",
  [DSM_INPUT_INVALID] = "invalid",
  [DSM_INPUT_EVENT_MASK] = "event_mask",
  [DSM_INPUT_REPORT_APPLIES] = "report_applies",
  [DSM_INPUT_DRAIN] = "drain",
  [DSM_INPUT_END] = "end",
  [DSM_INPUT_DISK_FULL] = "disk_full",
  [DSM_INPUT_START] = "start",
  [DSM_INPUT_N_KINDS] = NULL,
};

const char *
dsm_input_kind_to_string (DsmInputKind kind)
{
  g_return_val_if_fail ((guint) kind < DSM_INPUT_N_KINDS, "?");
  return input_names[kind];
}

/* ---- writing ---- */

static void
write_kind (GString *out, DsmInputKind kind)
{
  g_string_append_printf (out, "{\"i\":\"%s\"", input_names[kind]);
}

static void
write_time (GString *out, guint64 now_ms)
{
  g_string_append (out, ",\"t\":");
  dsm_codec_write_uint (out, now_ms);
}

/* The durable state as the records a WAL would replay into it. */
static char *
durable_to_base64 (const DsmDurableState *durable)
{
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  DsmPersist hard = { .kind = DSM_PERSIST_HARD_STATE, .seq = 1, .epoch = durable->epoch,
                      .voted_for = durable->voted_for };

  dsm_record_encode (bytes, &hard);
  if (durable->snapshot != NULL)
    {
      DsmPersist snapshot = { .kind = DSM_PERSIST_SNAPSHOT, .seq = 2, .index = durable->snapshot_index,
                              .snapshot_epoch = durable->snapshot_epoch, .snapshot = durable->snapshot,
                              .reset_log = TRUE };
      dsm_record_encode (bytes, &snapshot);
    }
  if (durable->entries != NULL && durable->entries->len > 0)
    {
      DsmPersist entries = { .kind = DSM_PERSIST_ENTRIES, .seq = 3, .first_index = durable->snapshot_index + 1,
                             .entries = durable->entries };
      dsm_record_encode (bytes, &entries);
    }
  return g_base64_encode (bytes->data, bytes->len);
}

void
dsm_recording_write_header (GString *out, const DsmConfig *config, DsmNodeId id, guint32 seed,
                            const DsmDurableState *durable, guint64 now_ms)
{
  DsmDurableState none = { 0 };
  g_autoptr(DsmConfig) copy = NULL;

  g_return_if_fail (out != NULL);
  g_return_if_fail (config != NULL);

  copy = dsm_config_copy (config);
  g_clear_pointer (&copy->secret, g_free);
  g_clear_pointer (&copy->secret_file, g_free);
  g_autofree char *config_json = dsm_config_to_json (copy);
  g_autoptr(JsonNode) root = dsm_json_parse (config_json, -1, NULL, NULL, NULL);
  g_autofree char *compact = root != NULL ? json_to_string (root, FALSE) : NULL;
  g_assert (compact != NULL);  /* our own writer's output parses */
  g_autofree char *records = durable_to_base64 (durable != NULL ? durable : &none);

  g_string_append_printf (out, "{\"dsm_record\":%d,\"node\":%u,\"seed\":%u", DSM_RECORDING_FORMAT, id, seed);
  write_time (out, now_ms);
  g_string_append_printf (out, ",\"config\":%s,\"durable\":\"%s\"}\n", compact, records);
}

void
dsm_recording_write_tick (GString *out, guint64 now_ms)
{
  write_kind (out, DSM_INPUT_TICK);
  write_time (out, now_ms);
  g_string_append (out, "}\n");
}

void
dsm_recording_write_start (GString *out, guint64 now_ms)
{
  write_kind (out, DSM_INPUT_START);
  write_time (out, now_ms);
  g_string_append (out, "}\n");
}

void
dsm_recording_write_step (GString *out, guint64 now_ms, const DsmMessage *msg)
{
  write_kind (out, DSM_INPUT_STEP);
  write_time (out, now_ms);
  g_string_append (out, ",\"msg\":");
  dsm_codec_write_message (out, msg);
  g_string_append (out, "}\n");
}

void
dsm_recording_write_submit (GString *out, guint64 now_ms, guint64 request_id, const DsmCommand *cmd)
{
  write_kind (out, DSM_INPUT_SUBMIT);
  write_time (out, now_ms);
  g_string_append (out, ",\"id\":");
  dsm_codec_write_uint (out, request_id);
  g_string_append (out, ",\"cmd\":");
  dsm_codec_write_command (out, cmd);
  g_string_append (out, "}\n");
}

void
dsm_recording_write_persisted (GString *out, guint64 now_ms, guint64 seq)
{
  write_kind (out, DSM_INPUT_PERSISTED);
  write_time (out, now_ms);
  g_string_append (out, ",\"seq\":");
  dsm_codec_write_uint (out, seq);
  g_string_append (out, "}\n");
}

void
dsm_recording_write_disk_full (GString *out, guint64 now_ms, gboolean full)
{
  write_kind (out, DSM_INPUT_DISK_FULL);
  write_time (out, now_ms);
  g_string_append (out, full ? ",\"on\":true}\n" : ",\"on\":false}\n");
}

void
dsm_recording_write_unsent (GString *out, const DsmMessage *msg)
{
  write_kind (out, DSM_INPUT_UNSENT);
  g_string_append (out, ",\"msg\":");
  dsm_codec_write_message (out, msg);
  g_string_append (out, "}\n");
}

void
dsm_recording_write_invalid (GString *out)
{
  write_kind (out, DSM_INPUT_INVALID);
  g_string_append (out, "}\n");
}

void
dsm_recording_write_event_mask (GString *out, guint32 mask)
{
  write_kind (out, DSM_INPUT_EVENT_MASK);
  g_string_append_printf (out, ",\"mask\":%u}\n", mask);
}

void
dsm_recording_write_report_applies (GString *out, gboolean on)
{
  write_kind (out, DSM_INPUT_REPORT_APPLIES);
  g_string_append_printf (out, ",\"on\":%s}\n", on ? "true" : "false");
}

void
dsm_recording_write_drain (GString *out, const DsmOutbox *outbox)
{
  char hex[DSM_RECORDING_DIGEST_HEX + 1];

  dsm_recording_digest (outbox, hex);
  write_kind (out, DSM_INPUT_DRAIN);
  g_string_append_printf (out, ",\"out\":[%u,%u,%u,%u,%u],\"sha\":\"%s\"}\n", outbox->persists->len,
                          outbox->messages->len, outbox->replies->len, outbox->applies->len,
                          outbox->events->len, hex);
}

void
dsm_recording_write_end (GString *out, const char *why)
{
  write_kind (out, DSM_INPUT_END);
  g_string_append (out, ",\"why\":");
  dsm_codec_write_string (out, why);
  g_string_append (out, "}\n");
}

/* ---- the digest ---- */

static void
digest_string (GString *buf, const char *text)
{
  if (text == NULL)
    g_string_append (buf, "\x01");
  else
    g_string_append_len (buf, text, (gssize) strlen (text) + 1);
}

void
dsm_recording_digest (const DsmOutbox *outbox, char *hex)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GString) buf = g_string_new (NULL);
  g_autoptr(GByteArray) record = g_byte_array_new ();
  guint8 digest[32];
  gsize length = sizeof digest;

  g_return_if_fail (outbox != NULL);
  g_return_if_fail (hex != NULL);

  for (guint i = 0; i < outbox->persists->len; i++)
    {
      g_byte_array_set_size (record, 0);
      dsm_record_encode (record, outbox->persists->pdata[i]);
      g_checksum_update (sum, (const guchar *) "P", 1);
      g_checksum_update (sum, record->data, record->len);
    }
  for (guint i = 0; i < outbox->messages->len; i++)
    {
      g_string_assign (buf, "M");
      dsm_codec_write_message (buf, outbox->messages->pdata[i]);
      g_checksum_update (sum, (const guchar *) buf->str, buf->len);
    }
  for (guint i = 0; i < outbox->replies->len; i++)
    {
      const DsmClientReply *r = outbox->replies->pdata[i];
      g_string_printf (buf, "R%" G_GUINT64_FORMAT " %d %d %d %" G_GUINT64_FORMAT " %u %u %" G_GUINT64_FORMAT " ",
                       r->request_id, r->status, r->reason, r->op, r->index, r->member, r->leader_hint,
                       r->latency_ms);
      digest_string (buf, r->machine);
      digest_string (buf, r->state);
      digest_string (buf, r->requested);
      digest_string (buf, r->detail);
      g_checksum_update (sum, (const guchar *) buf->str, buf->len);
    }
  for (guint i = 0; i < outbox->applies->len; i++)
    {
      const DsmApplied *a = outbox->applies->pdata[i];
      g_string_assign (buf, "A");
      dsm_codec_write_entry (buf, a->entry);
      g_string_append_printf (buf, " %d %d %d %" G_GUINT64_FORMAT " %u ", a->result.status, a->result.reason,
                              a->result.duplicate, a->result.result_index, a->result.member);
      digest_string (buf, a->result.from);
      digest_string (buf, a->result.state);
      g_checksum_update (sum, (const guchar *) buf->str, buf->len);
    }
  for (guint i = 0; i < outbox->events->len; i++)
    {
      g_string_assign (buf, "E");
      dsm_event_write_json (buf, outbox->events->pdata[i]);
      g_checksum_update (sum, (const guchar *) buf->str, buf->len);
    }
  g_checksum_get_digest (sum, digest, &length);
  for (guint i = 0; i < DSM_RECORDING_DIGEST_HEX / 2; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", digest[i]);
}

/* ---- reading ---- */

void
dsm_recording_header_clear (DsmRecordingHeader *header)
{
  g_clear_pointer (&header->config, dsm_config_unref);
  dsm_durable_state_clear (&header->durable);
  memset (header, 0, sizeof *header);
}

void
dsm_input_clear (DsmInput *input)
{
  g_clear_pointer (&input->msg, dsm_message_unref);
  dsm_command_clear (&input->cmd);
  g_clear_pointer (&input->why, g_free);
  memset (input, 0, sizeof *input);
}

static const DsmJsonLimits recording_limits = { DSM_RECORDING_LINE_BYTES_MAX, 64 };

static gboolean
header_fold (const DsmPersist *persist, const DsmRecordInfo *info, gpointer user_data, GError **error)
{
  dsm_durable_state_apply (user_data, persist);
  return TRUE;
}

gboolean
dsm_recording_read_header (const char *line, gsize length, DsmRecordingHeader *header, GError **error)
{
  static const char *const known[] = { "dsm_record", "node", "seed", "t", "config", "durable", NULL };
  g_autoptr(JsonNode) root = dsm_json_parse (line, (gssize) length, &recording_limits, &dsm_codec_json_errors, error);
  DsmJsonAt at, config;
  guint64 format = 0, seed = 0;
  const char *durable = NULL;

  g_return_val_if_fail (header != NULL, FALSE);
  memset (header, 0, sizeof *header);
  if (root == NULL)
    return FALSE;
  dsm_json_at_root (&at, &dsm_codec_json_errors, root, NULL);
  if (!dsm_json_get_object (&at, known, error)
      || !dsm_json_read_uint (&at, "dsm_record", DSM_JSON_REQUIRED, DSM_RECORDING_FORMAT, DSM_RECORDING_FORMAT,
                              &format, error)
      || !dsm_json_read_node_id (&at, "node", DSM_JSON_REQUIRED, &header->id, error)
      || !dsm_json_read_uint (&at, "seed", DSM_JSON_REQUIRED, 0, G_MAXUINT32, &seed, error)
      || !dsm_json_read_uint (&at, "t", DSM_JSON_REQUIRED, 0, G_MAXINT64, &header->now_ms, error)
      || !dsm_json_read_member (&config, &at, "config", DSM_JSON_REQUIRED, error)
      || !dsm_json_read_string (&at, "durable", DSM_JSON_REQUIRED, 0, &durable, error))
    return FALSE;
  header->seed = (guint32) seed;
  header->config = dsm_config_new_from_json (config.node, NULL, NULL, error);
  if (header->config == NULL)
    {
      g_prefix_error (error, "config: ");
      return FALSE;
    }
  gsize n = 0;
  g_autofree guint8 *records = g_base64_decode (durable, &n);
  gsize valid = 0;
  gboolean torn = FALSE;
  if (!dsm_record_scan (records, n, "durable", header_fold, &header->durable, &valid, &torn, error))
    return FALSE;
  if (torn)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID, "durable: the records end in a torn one");
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_message (const DsmJsonAt *at, DsmMessage **out, GError **error)
{
  DsmJsonAt member;

  if (!dsm_json_read_member (&member, at, "msg", DSM_JSON_REQUIRED, error))
    return FALSE;
  *out = dsm_codec_message_from_json (member.node, error);
  if (*out == NULL)
    g_prefix_error (error, "msg: ");
  return *out != NULL;
}

gboolean
dsm_recording_read_input (const char *line, gsize length, DsmInput *input, GError **error)
{
  static const char *const known[] = { "i", "t", "msg", "id", "cmd", "seq", "mask", "on", "out", "sha", "why", NULL };
  g_autoptr(JsonNode) root = dsm_json_parse (line, (gssize) length, &recording_limits, &dsm_codec_json_errors, error);
  DsmJsonAt at;
  guint kind = 0;

  g_return_val_if_fail (input != NULL, FALSE);
  memset (input, 0, sizeof *input);
  if (root == NULL)
    return FALSE;
  dsm_json_at_root (&at, &dsm_codec_json_errors, root, NULL);
  if (!dsm_json_get_object (&at, known, error)
      || !dsm_json_read_enum (&at, "i", DSM_JSON_REQUIRED, input_names, &kind, error))
    return FALSE;
  input->kind = (DsmInputKind) kind;
  switch (input->kind)
    {
    case DSM_INPUT_TICK:
    case DSM_INPUT_START:
      return dsm_json_read_uint (&at, "t", DSM_JSON_REQUIRED, 0, G_MAXINT64, &input->now_ms, error);
    case DSM_INPUT_STEP:
      return dsm_json_read_uint (&at, "t", DSM_JSON_REQUIRED, 0, G_MAXINT64, &input->now_ms, error)
             && read_message (&at, &input->msg, error);
    case DSM_INPUT_SUBMIT:
      {
        DsmJsonAt cmd;
        if (!dsm_json_read_uint (&at, "t", DSM_JSON_REQUIRED, 0, G_MAXINT64, &input->now_ms, error)
            || !dsm_json_read_uint (&at, "id", DSM_JSON_REQUIRED, 0, G_MAXINT64, &input->request_id, error)
            || !dsm_json_read_member (&cmd, &at, "cmd", DSM_JSON_REQUIRED, error))
          return FALSE;
        return dsm_codec_command_from_json (cmd.node, "cmd", &input->cmd, error);
      }
    case DSM_INPUT_PERSISTED:
      return dsm_json_read_uint (&at, "t", DSM_JSON_REQUIRED, 0, G_MAXINT64, &input->now_ms, error)
             && dsm_json_read_uint (&at, "seq", DSM_JSON_REQUIRED, 0, G_MAXINT64, &input->seq, error);
    case DSM_INPUT_UNSENT:
      return read_message (&at, &input->msg, error);
    case DSM_INPUT_INVALID:
      return TRUE;
    case DSM_INPUT_EVENT_MASK:
      {
        guint64 mask = 0;
        if (!dsm_json_read_uint (&at, "mask", DSM_JSON_REQUIRED, 0, G_MAXUINT32, &mask, error))
          return FALSE;
        input->mask = (guint32) mask;
        return TRUE;
      }
    case DSM_INPUT_REPORT_APPLIES:
      return dsm_json_read_bool (&at, "on", DSM_JSON_REQUIRED, &input->on, error);
    case DSM_INPUT_DISK_FULL:
      return dsm_json_read_uint (&at, "t", DSM_JSON_REQUIRED, 0, G_MAXINT64, &input->now_ms, error)
             && dsm_json_read_bool (&at, "on", DSM_JSON_REQUIRED, &input->on, error);
    case DSM_INPUT_DRAIN:
      {
        DsmJsonAt counts;
        guint n = 0;
        const char *sha = NULL;
        if (!dsm_json_read_member (&counts, &at, "out", DSM_JSON_REQUIRED, error)
            || !dsm_json_get_array (&counts, G_N_ELEMENTS (input->counts), &n, error))
          return FALSE;
        if (n != G_N_ELEMENTS (input->counts))
          return dsm_json_fail (&counts, DSM_JSON_ERROR_INVALID, error, "expected %u counts, found %u",
                                (guint) G_N_ELEMENTS (input->counts), n);
        for (guint k = 0; k < n; k++)
          {
            DsmJsonAt count;
            dsm_json_at_element (&count, &counts, k);
            if (!dsm_json_get_uint32 (&count, 0, G_MAXUINT32, &input->counts[k], error))
              return FALSE;
          }
        if (!dsm_json_read_string (&at, "sha", DSM_JSON_REQUIRED, DSM_RECORDING_DIGEST_HEX, &sha, error))
          return FALSE;
        if (strlen (sha) != DSM_RECORDING_DIGEST_HEX)
          {
            DsmJsonAt member;
            dsm_json_at_member (&member, &at, "sha");
            return dsm_json_fail (&member, DSM_JSON_ERROR_INVALID, error, "expected %d hex digits",
                                  DSM_RECORDING_DIGEST_HEX);
          }
        g_strlcpy (input->digest, sha, sizeof input->digest);
        return TRUE;
      }
    case DSM_INPUT_END:
      {
        const char *why = NULL;
        if (!dsm_json_read_string (&at, "why", DSM_JSON_REQUIRED, 64, &why, error))
          return FALSE;
        input->why = g_strdup (why);
        return TRUE;
      }
    case DSM_INPUT_N_KINDS:
    default:
      g_assert_not_reached ();
    }
}
