/* core/event.h: structured records of what a node does (role changes,
 * elections, proposals, commits, rejects, retries, timeouts).  Real nodes
 * log them through GLib's structured logging; the simulator traces them. */
#pragma once

#include <glib.h>

#include "types.h"

G_BEGIN_DECLS

typedef enum {
  DSM_EVENT_ROLE_CHANGE,       /* role, epoch, peer = leader if known */
  DSM_EVENT_ELECTION_START,    /* value = 1 for a pre-vote round */
  DSM_EVENT_ELECTION_WON,      /* value = votes */
  DSM_EVENT_ELECTION_LOST,     /* a higher epoch, a leader, or the timer won */
  DSM_EVENT_STEP_DOWN,         /* leader stops leading: detail says why */
  DSM_EVENT_PROPOSAL,          /* leader appended a client command at index */
  DSM_EVENT_COMMIT,            /* commit index advanced to index (value = entries) */
  DSM_EVENT_REJECT,            /* reject sent: reason, peer (0 = local client) */
  DSM_EVENT_RETRY,             /* unanswered Proposal resent to peer: value = attempt */
  DSM_EVENT_PEER_UNREACHABLE,  /* retries exhausted */
  DSM_EVENT_PEER_REACHABLE,    /* an unreachable peer answered again */
  DSM_EVENT_TIMEOUT,           /* client request answered "outcome unknown"; value = request id */
  DSM_EVENT_SNAPSHOT,          /* a snapshot taken (peer 0) or installed (peer = leader) at index */
  DSM_EVENT_DATA_LOSS,         /* peer's log ends at index, before what it acknowledged (value) */
  DSM_EVENT_MEMBERSHIP,        /* the membership in use changed: index of its entry, value = 1 if a voter, detail */
  DSM_EVENT_REMOVED,           /* this node was removed (index of the entry, or peer = the member that said so) */
  DSM_EVENT_TRANSFER,          /* leadership transfer to/from peer: value 0 started, 1 TimeoutNow sent,
                                * 2 done (stepped down), 3 aborted (deadline), 4 target campaigning,
                                * 5 a TimeoutNow for another log ignored */
  DSM_EVENT_APPLY_STALLED,     /* a committed entry at index cannot be applied: detail says why */
  DSM_EVENT_SNAPSHOT_REFUSED,  /* a snapshot at index too large to keep: value = its bytes */
  DSM_EVENT_N_KINDS,
} DsmEventKind;

const char *dsm_event_kind_to_string (DsmEventKind kind);

typedef struct {
  DsmEventKind kind;
  guint64 time_ms;
  DsmNodeId node;
  guint64 epoch;
  DsmRole role;
  DsmNodeId peer;
  guint64 index;
  guint64 value;
  DsmRejectReason reason;
  char *detail;                /* nullable, owned */
} DsmEvent;

void dsm_event_free (DsmEvent *event);

/* Suggested log level: warnings for step-downs, timeouts and unreachable
 * peers, messages for role changes and elections, debug for the rest. */
GLogLevelFlags dsm_event_level (const DsmEvent *event);

/* Returns: (transfer full): one human line ("elected leader of epoch 4 with 3 votes"). */
char *dsm_event_format (const DsmEvent *event);

/* Appends the event as a JSON object (no newline). */
void dsm_event_write_json (GString *out, const DsmEvent *event);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmEvent, dsm_event_free)

G_END_DECLS
