/* core/event.c: formatting of the structured events a node reports, as
 * one human line (logs) and as a JSON object (traces). */
#include "event.h"

#include "codec.h"

static const char *const kind_names[DSM_EVENT_N_KINDS] = {
  [DSM_EVENT_ROLE_CHANGE] = "role_change",
  [DSM_EVENT_ELECTION_START] = "election_start",
  [DSM_EVENT_ELECTION_WON] = "election_won",
  [DSM_EVENT_ELECTION_LOST] = "election_lost",
  [DSM_EVENT_STEP_DOWN] = "step_down",
  [DSM_EVENT_PROPOSAL] = "proposal",
  [DSM_EVENT_COMMIT] = "commit",
  [DSM_EVENT_REJECT] = "reject",
  [DSM_EVENT_RETRY] = "retry",
  [DSM_EVENT_PEER_UNREACHABLE] = "peer_unreachable",
  [DSM_EVENT_PEER_REACHABLE] = "peer_reachable",
  [DSM_EVENT_TIMEOUT] = "timeout",
  [DSM_EVENT_SNAPSHOT] = "snapshot",
  [DSM_EVENT_DATA_LOSS] = "data_loss",
  [DSM_EVENT_MEMBERSHIP] = "membership",
  [DSM_EVENT_REMOVED] = "removed",
  [DSM_EVENT_TRANSFER] = "transfer",
  [DSM_EVENT_APPLY_STALLED] = "apply_stalled",
  [DSM_EVENT_SNAPSHOT_REFUSED] = "snapshot_refused",
};
G_STATIC_ASSERT (DSM_EVENT_N_KINDS <= 32); /* hosts filter kinds with a guint32 mask */

const char *
dsm_event_kind_to_string (DsmEventKind kind)
{
  g_return_val_if_fail ((guint) kind < DSM_EVENT_N_KINDS, "?");
  return kind_names[kind];
}

void
dsm_event_free (DsmEvent *event)
{
  if (event == NULL)
    return;
  g_free (event->detail);
  g_free (event);
}

GLogLevelFlags
dsm_event_level (const DsmEvent *event)
{
  switch (event->kind)
    {
    case DSM_EVENT_APPLY_STALLED:
      return G_LOG_LEVEL_CRITICAL;
    case DSM_EVENT_STEP_DOWN:
    case DSM_EVENT_TIMEOUT:
    case DSM_EVENT_PEER_UNREACHABLE:
    case DSM_EVENT_DATA_LOSS:
    case DSM_EVENT_REMOVED:
    case DSM_EVENT_SNAPSHOT_REFUSED:
      return G_LOG_LEVEL_WARNING;
    case DSM_EVENT_ROLE_CHANGE:
    case DSM_EVENT_ELECTION_START:
    case DSM_EVENT_ELECTION_WON:
    case DSM_EVENT_ELECTION_LOST:
    case DSM_EVENT_PEER_REACHABLE:
    case DSM_EVENT_SNAPSHOT:
    case DSM_EVENT_MEMBERSHIP:
    case DSM_EVENT_TRANSFER:
      return G_LOG_LEVEL_MESSAGE;
    case DSM_EVENT_RETRY:
    case DSM_EVENT_REJECT:
      return G_LOG_LEVEL_INFO;
    case DSM_EVENT_PROPOSAL:
    case DSM_EVENT_COMMIT:
    case DSM_EVENT_N_KINDS:
    default:
      return G_LOG_LEVEL_DEBUG;
    }
}

char *
dsm_event_format (const DsmEvent *event)
{
  const char *detail = event->detail != NULL ? event->detail : "";

  switch (event->kind)
    {
    case DSM_EVENT_ROLE_CHANGE:
      return g_strdup_printf ("became %s in epoch %" G_GUINT64_FORMAT "%s%s",
                              dsm_role_to_string (event->role), event->epoch,
                              event->detail != NULL ? ": " : "", detail);
    case DSM_EVENT_ELECTION_START:
      return g_strdup_printf ("%s for epoch %" G_GUINT64_FORMAT " (last index %" G_GUINT64_FORMAT ")",
                              event->value ? "pre-vote" : "election", event->epoch, event->index);
    case DSM_EVENT_ELECTION_WON:
      return g_strdup_printf ("elected leader of epoch %" G_GUINT64_FORMAT " with %" G_GUINT64_FORMAT " votes",
                              event->epoch, event->value);
    case DSM_EVENT_ELECTION_LOST:
      return g_strdup_printf ("lost election for epoch %" G_GUINT64_FORMAT ": %s", event->epoch, detail);
    case DSM_EVENT_STEP_DOWN:
      return g_strdup_printf ("stepped down as leader of epoch %" G_GUINT64_FORMAT ": %s", event->epoch, detail);
    case DSM_EVENT_PROPOSAL:
      return g_strdup_printf ("proposed index %" G_GUINT64_FORMAT ": %s", event->index, detail);
    case DSM_EVENT_COMMIT:
      return g_strdup_printf ("committed up to index %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " entries)",
                              event->index, event->value);
    case DSM_EVENT_REJECT:
      return g_strdup_printf ("rejected (%s) %s%u: %s", dsm_reject_reason_to_string (event->reason),
                              event->peer ? "node " : "local client", event->peer, detail);
    case DSM_EVENT_RETRY:
      return g_strdup_printf ("resending to node %u from index %" G_GUINT64_FORMAT " (attempt %" G_GUINT64_FORMAT ")",
                              event->peer, event->index, event->value);
    case DSM_EVENT_PEER_UNREACHABLE:
      return g_strdup_printf ("node %u unreachable after %" G_GUINT64_FORMAT " attempts", event->peer, event->value);
    case DSM_EVENT_PEER_REACHABLE:
      return g_strdup_printf ("node %u reachable again (match index %" G_GUINT64_FORMAT ")", event->peer, event->index);
    case DSM_EVENT_TIMEOUT:
      return g_strdup_printf ("request %" G_GUINT64_FORMAT " timed out, outcome unknown: %s", event->value, detail);
    case DSM_EVENT_DATA_LOSS:
      return g_strdup_printf ("node %u lost acknowledged entries: its log ends at index %" G_GUINT64_FORMAT
                              ", it had acknowledged %" G_GUINT64_FORMAT "; replicating them again",
                              event->peer, event->index, event->value);
    case DSM_EVENT_SNAPSHOT:
      if (event->peer == DSM_NODE_NONE)
        return g_strdup_printf ("snapshot taken at index %" G_GUINT64_FORMAT, event->index);
      return g_strdup_printf ("snapshot from node %u installed at index %" G_GUINT64_FORMAT, event->peer, event->index);
    case DSM_EVENT_MEMBERSHIP:
      return g_strdup_printf ("now using the membership of index %" G_GUINT64_FORMAT " (%s): %s",
                              event->index, event->value ? "a voter" : "not a voter", detail);
    case DSM_EVENT_REMOVED:
      return g_strdup_printf ("REMOVED from the cluster: %s", detail);
    case DSM_EVENT_TRANSFER:
      return g_strdup_printf ("leadership transfer (node %u): %s", event->peer, detail);
    case DSM_EVENT_APPLY_STALLED:
      return g_strdup_printf ("CANNOT APPLY committed entry %" G_GUINT64_FORMAT ": %s; applying stops here "
                              "until this node runs a version that can (it never skips an entry)",
                              event->index, detail);
    case DSM_EVENT_SNAPSHOT_REFUSED:
      return g_strdup_printf ("SNAPSHOT NOT KEPT at index %" G_GUINT64_FORMAT ": %s; the log is not compacted "
                              "and grows until the store is smaller (docs/OPERATIONS.md, \"Snapshot size\")",
                              event->index, detail);
    case DSM_EVENT_N_KINDS:
    default:
      g_assert_not_reached ();
    }
}

void
dsm_event_write_json (GString *out, const DsmEvent *event)
{
  g_string_append_printf (out, "{\"event\":\"%s\",\"t\":%" G_GUINT64_FORMAT ",\"node\":%u,\"epoch\":%" G_GUINT64_FORMAT ",\"role\":\"%s\"",
                          dsm_event_kind_to_string (event->kind), event->time_ms, event->node,
                          event->epoch, dsm_role_to_string (event->role));
  if (event->peer != DSM_NODE_NONE)
    g_string_append_printf (out, ",\"peer\":%u", event->peer);
  if (event->index != 0)
    g_string_append_printf (out, ",\"index\":%" G_GUINT64_FORMAT, event->index);
  if (event->value != 0)
    g_string_append_printf (out, ",\"value\":%" G_GUINT64_FORMAT, event->value);
  if (event->reason != DSM_REJECT_NONE)
    g_string_append_printf (out, ",\"reason\":\"%s\"", dsm_reject_reason_to_string (event->reason));
  if (event->detail != NULL)
    {
      g_string_append (out, ",\"detail\":");
      dsm_codec_write_string (out, event->detail);
    }
  g_string_append_c (out, '}');
}
