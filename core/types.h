/* core/types.h: the small vocabulary every part of dsm shares: node ids,
 * roles, reject reasons and client reply statuses (docs/PROTOCOL.md words). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Node ids come from the cluster config; 0 means "nobody" (no vote cast,
 * no leader known). */
typedef guint32 DsmNodeId;
#define DSM_NODE_NONE ((DsmNodeId) 0)

/* The largest node id, everywhere: commands, memberships, the wire, the
 * WAL, config files and command lines all take ids in 1..DSM_NODE_ID_MAX
 * (what every JSON reader and every language's int holds), so an id one
 * part accepts never fails to decode in another (PROTOCOL.md, "Wire
 * format"). */
#define DSM_NODE_ID_MAX ((DsmNodeId) G_MAXINT32)

/* A node can host at most this many peers; quorum arithmetic and the
 * per-peer tables are sized by it. */
#define DSM_MAX_NODES 64

typedef enum {
  DSM_ROLE_FOLLOWER,
  DSM_ROLE_PRE_CANDIDATE,
  DSM_ROLE_CANDIDATE,
  DSM_ROLE_LEADER,
} DsmRole;

const char *dsm_role_to_string (DsmRole role);

/* Why a Reject was sent (PROTOCOL.md, "Reject"). */
typedef enum {
  DSM_REJECT_NONE,
  DSM_REJECT_STALE_EPOCH,        /* the sender's epoch is behind ours */
  DSM_REJECT_LOG_MISMATCH,       /* no entry at (prev_index, prev_epoch); carries a hint */
  DSM_REJECT_INVALID_TRANSITION, /* the machine's current state does not allow it */
  DSM_REJECT_NOT_LEADER,         /* carries a leader hint when one is known */
  DSM_REJECT_BAD_REQUEST,        /* unknown state, unknown definition, malformed command */
  DSM_REJECT_OVERLOADED,         /* a bounded queue is full; nothing was accepted */
  DSM_REJECT_STALE_REQUEST,      /* a client sequence older than the session remembers */
  DSM_REJECT_NO_SPACE,           /* the node's disk is full: it takes no writes (nothing was accepted) */
  DSM_REJECT_CHANGE_IN_PROGRESS, /* a membership change or leadership transfer is under way: retry */
  DSM_REJECT_REMOVED,            /* to a node: you were removed from the cluster */
  DSM_REJECT_N_REASONS,
} DsmRejectReason;

const char *dsm_reject_reason_to_string (DsmRejectReason reason);
gboolean dsm_reject_reason_from_string (const char *text, DsmRejectReason *out);

/* What a client learns about its command.  Only OK and REJECTED are final
 * statements about the command's effect; UNKNOWN means it may or may not
 * commit later (consensus timeout, leadership lost): retry it with the same
 * (client id, sequence) to find out, which is safe because the cluster
 * applies each (client id, sequence) at most once. */
typedef enum {
  DSM_REPLY_OK,
  DSM_REPLY_REJECTED,  /* not applied, see reason: nothing changed */
  DSM_REPLY_UNKNOWN,   /* timeout or leadership lost: outcome unknown */
  DSM_REPLY_N_STATUSES,
} DsmReplyStatus;

const char *dsm_reply_status_to_string (DsmReplyStatus status);
gboolean dsm_reply_status_from_string (const char *text, DsmReplyStatus *out);

G_END_DECLS
