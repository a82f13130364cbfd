/* sim/trace.c: the trace of a run, one JSON object per line: a header
 * with the scenario and the seed, then every send, delivery, drop, timer,
 * role change, commit, apply, client invocation and completion, and fault,
 * each stamped with the virtual time "t".  The same scenario and seed
 * give the same bytes (docs/SIMULATOR.md, "Traces"). */
#include "sim-private.h"

#include "codec.h"

void
dsm_sim_write_trace_header (const DsmScenario *scenario, guint64 seed, GString *trace)
{
  dsm_sim_write_trace_header_full (scenario, seed, NULL, trace);
}

void
dsm_sim_write_trace_header_full (const DsmScenario *scenario, guint64 seed, const char *mutant, GString *trace)
{
  g_string_append_printf (trace, "{\"dsm_trace\":1,\"seed\":%" G_GUINT64_FORMAT, seed);
  if (mutant != NULL)
    {
      g_string_append (trace, ",\"mutant\":");
      dsm_codec_write_string (trace, mutant);
    }
  g_string_append_printf (trace, ",\"scenario\":%s}\n", scenario->json);
}

void
trace_line (DsmSim *sim, const char *format, ...)
{
  if (sim->trace == NULL)
    return;
  va_list args;
  va_start (args, format);
  g_string_append_printf (sim->trace, "{\"t\":%" G_GUINT64_FORMAT ",", sim->now_ms);
  g_string_append_vprintf (sim->trace, format, args);
  g_string_append (sim->trace, "}\n");
  va_end (args);
}

void
trace_message (DsmSim *sim, const char *what, const DsmMessage *msg, const char *extra)
{
  if (sim->trace == NULL)
    return;
  GString *t = sim->trace;
  g_string_append_printf (t, "{\"t\":%" G_GUINT64_FORMAT ",\"ev\":\"%s\",\"from\":%u,\"to\":%u,\"msg\":\"%s\",\"epoch\":%" G_GUINT64_FORMAT,
                          sim->now_ms, what, msg->from, msg->to, dsm_message_type_to_string (msg->type), msg->epoch);
  switch (msg->type)
    {
    case DSM_MSG_PROPOSAL:
      g_string_append_printf (t, ",\"prev\":%" G_GUINT64_FORMAT ",\"n\":%u,\"commit\":%" G_GUINT64_FORMAT,
                              msg->prev_index, msg->entries ? msg->entries->len : 0, msg->commit_index);
      break;
    case DSM_MSG_COMMIT:
      g_string_append_printf (t, ",\"commit\":%" G_GUINT64_FORMAT, msg->commit_index);
      break;
    case DSM_MSG_ACK:
      g_string_append_printf (t, ",\"match\":%" G_GUINT64_FORMAT, msg->match_index);
      break;
    case DSM_MSG_VOTE:
      g_string_append_printf (t, ",\"granted\":%s,\"pre\":%s", msg->granted ? "true" : "false",
                              msg->pre_vote ? "true" : "false");
      break;
    case DSM_MSG_VOTE_REQUEST:
      g_string_append_printf (t, ",\"last\":%" G_GUINT64_FORMAT ",\"pre\":%s", msg->last_index,
                              msg->pre_vote ? "true" : "false");
      break;
    case DSM_MSG_REJECT:
      g_string_append_printf (t, ",\"reason\":\"%s\"", dsm_reject_reason_to_string (msg->reason));
      break;
    case DSM_MSG_SNAPSHOT:
      g_string_append_printf (t, ",\"index\":%" G_GUINT64_FORMAT ",\"offset\":%" G_GUINT64_FORMAT,
                              msg->last_index, msg->snapshot_offset);
      break;
    case DSM_MSG_CLIENT_REQUEST:
    case DSM_MSG_CLIENT_REPLY:
      g_string_append_printf (t, ",\"request\":%" G_GUINT64_FORMAT, msg->request_id);
      break;
    default:
      break;
    }
  if (extra != NULL)
    {
      g_string_append (t, ",\"why\":");
      if (extra[0] == '"')
        g_string_append (t, extra);
      else
        dsm_codec_write_string (t, extra);
    }
  g_string_append (t, "}\n");
}

void
trace_node_event (DsmSim *sim, const DsmEvent *event)
{
  if (sim->trace == NULL)
    return;
  g_string_append_printf (sim->trace, "{\"t\":%" G_GUINT64_FORMAT ",\"ev\":\"node\",\"event\":", sim->now_ms);
  dsm_event_write_json (sim->trace, event);
  g_string_append (sim->trace, "}\n");
}

void
trace_apply (DsmSim *sim, DsmNodeId id, const DsmApplied *applied)
{
  if (sim->trace == NULL)
    return;
  const DsmEntry *e = applied->entry;
  const DsmApplyResult *r = &applied->result;
  GString *t = sim->trace;
  g_string_append_printf (t, "{\"t\":%" G_GUINT64_FORMAT ",\"ev\":\"apply\",\"node\":%u,\"index\":%" G_GUINT64_FORMAT ",\"epoch\":%" G_GUINT64_FORMAT ",\"status\":\"%s\"",
                          sim->now_ms, id, e->index, e->epoch, dsm_reply_status_to_string (r->status));
  if (e->kind == DSM_ENTRY_COMMAND && e->cmd.machine == NULL)
    {
      /* A definition through the log names no machine, only what it defines. */
      g_assert (e->cmd.op == DSM_OP_DEFINE);
      g_string_append (t, ",\"definition\":");
      dsm_codec_write_string (t, e->cmd.definition);
    }
  else if (e->kind == DSM_ENTRY_COMMAND)
    {
      g_string_append (t, ",\"machine\":");
      dsm_codec_write_string (t, e->cmd.machine);
      if (r->state != NULL)
        {
          g_string_append (t, ",\"state\":");
          dsm_codec_write_string (t, r->state);
        }
    }
  g_string_append (t, "}\n");
}

void
trace_op (DsmSim *sim, const char *what, const ClientOp *co)
{
  if (sim->trace == NULL)
    return;
  GString *t = sim->trace;
  g_string_append_printf (t, "{\"t\":%" G_GUINT64_FORMAT ",\"ev\":\"%s\",\"client\":%u,\"node\":%u,\"op\":",
                          sim->now_ms, what, co->client, co->node);
  dsm_history_op_write_json (t, co->op);
  g_string_append (t, "}\n");
}
