/* sim/replay-node.c: replays a recorded real node through a fresh core
 * (replay-node.h) and compares every drain with the recorded digest. */
#include "replay-node.h"

#include <string.h>

#include "codec.h"
#include "error.h"
#include "event.h"
#include "node.h"
#include "recording.h"

void
dsm_replay_node_report_clear (DsmReplayNodeReport *report)
{
  g_clear_pointer (&report->diverged, g_free);
  g_clear_pointer (&report->end, g_free);
  memset (report, 0, sizeof *report);
}

/* ---- the trace: what went in, what came out ---- */

static void
trace_input (GString *trace, guint line, const DsmInput *in)
{
  g_string_append_printf (trace, "{\"line\":%u,\"in\":\"%s\"", line, dsm_input_kind_to_string (in->kind));
  switch (in->kind)
    {
    case DSM_INPUT_START:
    case DSM_INPUT_TICK:
    case DSM_INPUT_PERSISTED:
    case DSM_INPUT_STEP:
    case DSM_INPUT_SUBMIT:
      g_string_append_printf (trace, ",\"t\":%" G_GUINT64_FORMAT, in->now_ms);
      break;
    case DSM_INPUT_DISK_FULL:
      g_string_append_printf (trace, ",\"t\":%" G_GUINT64_FORMAT ",\"on\":%s", in->now_ms, in->on ? "true" : "false");
      break;
    default:
      break;
    }
  if (in->msg != NULL)
    {
      g_string_append (trace, ",\"msg\":");
      dsm_codec_write_message (trace, in->msg);
    }
  if (in->kind == DSM_INPUT_SUBMIT)
    {
      g_string_append_printf (trace, ",\"id\":%" G_GUINT64_FORMAT ",\"cmd\":", in->request_id);
      dsm_codec_write_command (trace, &in->cmd);
    }
  if (in->kind == DSM_INPUT_PERSISTED)
    g_string_append_printf (trace, ",\"seq\":%" G_GUINT64_FORMAT, in->seq);
  g_string_append (trace, "}\n");
}

static void
trace_outputs (GString *trace, guint line, const DsmOutbox *out)
{
  for (guint i = 0; i < out->persists->len; i++)
    {
      const DsmPersist *p = out->persists->pdata[i];
      g_string_append_printf (trace, "{\"line\":%u,\"out\":\"persist\",\"kind\":\"%s\",\"seq\":%" G_GUINT64_FORMAT "}\n",
                              line, dsm_persist_kind_to_string (p->kind), p->seq);
    }
  for (guint i = 0; i < out->messages->len; i++)
    {
      g_string_append_printf (trace, "{\"line\":%u,\"out\":\"send\",\"msg\":", line);
      dsm_codec_write_message (trace, out->messages->pdata[i]);
      g_string_append (trace, "}\n");
    }
  for (guint i = 0; i < out->replies->len; i++)
    {
      const DsmClientReply *r = out->replies->pdata[i];
      g_string_append_printf (trace, "{\"line\":%u,\"out\":\"reply\",\"id\":%" G_GUINT64_FORMAT ",\"status\":\"%s\","
                              "\"reason\":\"%s\",\"index\":%" G_GUINT64_FORMAT "}\n",
                              line, r->request_id, dsm_reply_status_to_string (r->status),
                              dsm_reject_reason_to_string (r->reason), r->index);
    }
  for (guint i = 0; i < out->events->len; i++)
    {
      g_string_append_printf (trace, "{\"line\":%u,\"out\":\"event\",\"event\":", line);
      dsm_event_write_json (trace, out->events->pdata[i]);
      g_string_append (trace, "}\n");
    }
}

/* ---- the replay ---- */

/* Feeds one input to @node; a drain is checked against its digest. */
static gboolean
replay_input (DsmNode *node, DsmOutbox *out, const DsmInput *in, guint line, GString *trace,
              DsmReplayNodeReport *report, guint64 *issued)
{
  switch (in->kind)
    {
    case DSM_INPUT_START:
      dsm_node_start (node, in->now_ms);
      break;
    case DSM_INPUT_TICK:
      dsm_node_tick (node, in->now_ms);
      break;
    case DSM_INPUT_STEP:
      dsm_node_step (node, in->now_ms, in->msg);
      break;
    case DSM_INPUT_SUBMIT:
      dsm_node_submit (node, in->now_ms, in->request_id, &in->cmd);
      break;
    case DSM_INPUT_PERSISTED:
      dsm_node_persisted (node, in->now_ms, in->seq);
      break;
    case DSM_INPUT_UNSENT:
      dsm_node_report_unsent (node, in->msg);
      break;
    case DSM_INPUT_INVALID:
      dsm_node_report_invalid (node);
      break;
    case DSM_INPUT_EVENT_MASK:
      dsm_node_set_event_mask (node, in->mask);
      break;
    case DSM_INPUT_REPORT_APPLIES:
      dsm_node_set_report_applies (node, in->on);
      break;
    case DSM_INPUT_DISK_FULL:
      dsm_node_set_disk_full (node, in->now_ms, in->on);
      break;
    case DSM_INPUT_DRAIN:
      {
        char hex[DSM_RECORDING_DIGEST_HEX + 1];
        dsm_outbox_reset (out);
        dsm_node_drain (node, out);
        for (guint i = 0; i < out->persists->len; i++)
          *issued = MAX (*issued, ((DsmPersist *) out->persists->pdata[i])->seq);
        dsm_recording_digest (out, hex);
        report->drains++;
        if (trace != NULL)
          trace_outputs (trace, line, out);
        guint counts[5] = { out->persists->len, out->messages->len, out->replies->len, out->applies->len,
                            out->events->len };
        if (strcmp (hex, in->digest) != 0)
          {
            report->diverged_line = line;
            report->diverged = g_strdup_printf ("line %u: the node recorded [%u,%u,%u,%u,%u] outputs with digest %s; "
                                                "the replay gave [%u,%u,%u,%u,%u] with digest %s", line,
                                                in->counts[0], in->counts[1], in->counts[2], in->counts[3],
                                                in->counts[4], in->digest, counts[0], counts[1], counts[2],
                                                counts[3], counts[4], hex);
            return FALSE;
          }
        break;
      }
    case DSM_INPUT_END:
    case DSM_INPUT_N_KINDS:
    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

gboolean
dsm_replay_node (const char *text, gsize length, GString *trace, DsmReplayNodeReport *report, GError **error)
{
  DsmRecordingHeader header = { 0 };
  DsmOutbox out;
  gsize at = 0;
  guint line = 0;
  gboolean ok = TRUE;

  g_return_val_if_fail (text != NULL || length == 0, FALSE);
  g_return_val_if_fail (report != NULL, FALSE);

  guint64 issued = 0;     /* the highest persist seq the replayed core gave out */
  gboolean timed = FALSE; /* a timed input was fed: a start is too late */
  memset (report, 0, sizeof *report);
  report->identical = TRUE;
  dsm_outbox_init (&out);
  DsmNode *node = NULL;
  while (at < length && ok)
    {
      const char *start = text + at;
      const char *newline = memchr (start, '\n', length - at);
      gsize line_length = newline != NULL ? (gsize) (newline - start) : length - at;
      g_autoptr(GError) local = NULL;

      line++;
      at += line_length + (newline != NULL ? 1 : 0);
      if (line == 1)
        {
          if (!dsm_recording_read_header (start, line_length, &header, &local))
            ok = FALSE;
          else if ((node = dsm_node_new (header.config, header.id, g_rand_new_with_seed (header.seed),
                                         &header.durable, header.now_ms, &local)) == NULL)
            ok = FALSE;
        }
      else
        {
          DsmInput in = { 0 };
          if (report->end != NULL)
            {
              g_set_error (&local, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID, "a line after the end");
              ok = FALSE;
            }
          else if (!dsm_recording_read_input (start, line_length, &in, &local))
            ok = FALSE;
          else if (in.kind == DSM_INPUT_END)
            report->end = g_strdup (in.why);
          else if (in.kind == DSM_INPUT_PERSISTED && in.seq > issued)
            {
              /* The host contract: only a persist the core asked for can
               * be durable (outbox.h). */
              g_set_error (&local, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                           "seq: %" G_GUINT64_FORMAT " was never handed out (the core gave out %" G_GUINT64_FORMAT ")",
                           in.seq, issued);
              ok = FALSE;
            }
          else if (in.kind == DSM_INPUT_START && (timed || in.now_ms < header.now_ms))
            {
              /* The host contract: the start comes once, before any timed
               * input, not before the node was built (node.h). */
              if (timed)
                g_set_error_literal (&local, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                                     "start: after the node's first timed input (a start comes once, first)");
              else
                g_set_error (&local, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                             "start: t %" G_GUINT64_FORMAT " is before the header's t %" G_GUINT64_FORMAT,
                             in.now_ms, header.now_ms);
              ok = FALSE;
            }
          else
            {
              timed = timed || in.kind == DSM_INPUT_START || in.kind == DSM_INPUT_TICK || in.kind == DSM_INPUT_STEP
                      || in.kind == DSM_INPUT_SUBMIT || in.kind == DSM_INPUT_PERSISTED
                      || in.kind == DSM_INPUT_DISK_FULL;
              if (trace != NULL)
                trace_input (trace, line, &in);
              report->inputs++;
              if (!replay_input (node, &out, &in, line, trace, report, &issued))
                {
                  report->identical = FALSE;
                  dsm_input_clear (&in);
                  break;
                }
            }
          dsm_input_clear (&in);
        }
      if (!ok)
        g_propagate_prefixed_error (error, g_steal_pointer (&local), "line %u: ", line);
    }
  if (ok && line == 0)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_SYNTAX, "empty recording");
      ok = FALSE;
    }
  g_clear_pointer (&node, dsm_node_free);
  dsm_outbox_clear (&out);
  dsm_recording_header_clear (&header);
  return ok;
}
