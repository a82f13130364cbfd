/* core/outbox.h: everything a node asks its host to do after an input:
 * records to persist, messages to send, client replies, applied entries
 * and events.  The host's contract (PROTOCOL.md, "Host contract"):
 *
 *   1. perform `persists` in order; once all up to seq S are durable call
 *      dsm_node_persisted(S) (one call may cover many: group commit);
 *   2. send `messages` now: the node already held back every message that
 *      depends on a persist not yet reported;
 *   3. hand `replies` to the local clients named by their request ids;
 *   4. `applies` and `events` are for observation (logs, traces, checkers);
 *   5. a disk without room is not a failure: keep the persists, retry them,
 *      and say so with dsm_node_set_disk_full() (PROTOCOL.md, "A full disk"). */
#pragma once

#include <glib.h>

#include "entry.h"
#include "event.h"
#include "message.h"
#include "store.h"
#include "types.h"

G_BEGIN_DECLS

typedef enum {
  DSM_PERSIST_HARD_STATE, /* epoch and voted_for */
  DSM_PERSIST_ENTRIES,    /* drop entries >= first_index, then append `entries` */
  DSM_PERSIST_SNAPSHOT,   /* snapshot covering the log up to (index, epoch) */
} DsmPersistKind;

const char *dsm_persist_kind_to_string (DsmPersistKind kind);

/**
 * DsmPersist:
 * One durable write.  For SNAPSHOT, `reset_log` says whether the log is
 * dropped entirely (a follower installing a leader's snapshot its log does
 * not reach) or only up to `index` (a node compacting its own log).
 */
typedef struct {
  DsmPersistKind kind;
  guint64 seq;              /* report with dsm_node_persisted() */

  guint64 epoch;            /* HARD_STATE */
  DsmNodeId voted_for;      /* HARD_STATE */

  guint64 first_index;      /* ENTRIES */
  GPtrArray *entries;       /* ENTRIES (element-type DsmEntry), may be empty: truncation only */

  guint64 index;            /* SNAPSHOT */
  guint64 snapshot_epoch;   /* SNAPSHOT */
  GBytes *snapshot;         /* SNAPSHOT: dsm_store_snapshot() bytes */
  gboolean reset_log;       /* SNAPSHOT */
} DsmPersist;

void dsm_persist_free (DsmPersist *persist);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmPersist, dsm_persist_free)

/**
 * DsmClientReply:
 * The answer to a command a host submitted with dsm_node_submit().
 * @state is the machine's state after the command (OK), or its current
 * state (REJECTED for an invalid transition); @requested the state asked for.
 */
typedef struct {
  guint64 request_id;
  DsmReplyStatus status;
  DsmRejectReason reason;   /* when not OK */
  DsmOp op;
  char *machine;
  char *state;              /* nullable */
  char *requested;          /* nullable */
  guint64 index;            /* log index of the entry, or the read index; a define's version */
  DsmNodeId member;         /* a membership change: the node it added (its new id), removed or promoted */
  DsmNodeId leader_hint;
  char *detail;             /* nullable: human-readable reason */
  guint64 revision;         /* the machine's after a transition (its current one when refused), or read */
  char *data;               /* nullable: a read's machine data, a JSON object's text; NULL when empty */
  guint64 latency_ms;       /* submit to reply, virtual or real ms */
} DsmClientReply;

/* A copy of @fields whose strings live in its own allocation, after it:
 * a node answers every write with one, and a string of its own each was
 * three to five more mallocs and frees a write.  Every reply is built
 * here, and its strings are never replaced. */
DsmClientReply *dsm_client_reply_new (const DsmClientReply *fields);
void dsm_client_reply_free (DsmClientReply *reply);

/* One entry applied to the store, and what it did. */
typedef struct {
  DsmEntry *entry;          /* referenced */
  DsmApplyResult result;
} DsmApplied;

void dsm_applied_free (DsmApplied *applied);

typedef struct {
  GPtrArray *persists;  /* (element-type DsmPersist) */
  GPtrArray *messages;  /* (element-type DsmMessage) */
  GPtrArray *replies;   /* (element-type DsmClientReply) */
  GPtrArray *applies;   /* (element-type DsmApplied) */
  GPtrArray *events;    /* (element-type DsmEvent) */
} DsmOutbox;

void dsm_outbox_init (DsmOutbox *out);
void dsm_outbox_clear (DsmOutbox *out);     /* frees what it holds */
void dsm_outbox_reset (DsmOutbox *out);     /* empties, keeps the arrays */
gboolean dsm_outbox_is_empty (const DsmOutbox *out);

G_END_DECLS
