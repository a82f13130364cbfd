/* core/message.h: the messages nodes exchange (PROTOCOL.md, "Messages").
 * One flat, reference-counted struct; each type uses the fields its
 * section below names and leaves the others zero. */
#pragma once

#include <glib.h>

#include "entry.h"
#include "types.h"

G_BEGIN_DECLS

typedef enum {
  DSM_MSG_VOTE_REQUEST,   /* candidate -> all: vote for me in `epoch` */
  DSM_MSG_VOTE,           /* voter -> candidate: granted or not */
  DSM_MSG_PROPOSAL,       /* leader -> follower: entries after (prev_index, prev_epoch) */
  DSM_MSG_ACK,            /* follower -> leader: my log matches yours up to match_index */
  DSM_MSG_COMMIT,         /* leader -> follower: commit_index; doubles as heartbeat */
  DSM_MSG_REJECT,         /* negative answer to a Proposal or a client request */
  DSM_MSG_CLIENT_REQUEST, /* node -> leader: a client command forwarded */
  DSM_MSG_CLIENT_REPLY,   /* leader -> node: the outcome of a forwarded command */
  DSM_MSG_SNAPSHOT,       /* leader -> follower: one chunk of a snapshot */
  DSM_MSG_TIMEOUT_NOW,    /* leader -> chosen voter: campaign now (leadership transfer) */
  DSM_MSG_N_TYPES,
} DsmMessageType;

const char *dsm_message_type_to_string (DsmMessageType type);
gboolean dsm_message_type_from_string (const char *text, DsmMessageType *out);

/* Largest number of entries a Proposal may carry, and largest snapshot chunk;
 * the codec refuses anything bigger. */
#define DSM_MESSAGE_ENTRIES_MAX 4096
#define DSM_MESSAGE_CHUNK_BYTES_MAX (1024 * 1024)

typedef struct {
  /*< private >*/
  gint ref_count;

  /*< public >*/
  DsmMessageType type;
  DsmNodeId from;
  DsmNodeId to;
  guint64 epoch;           /* the sender's epoch, on every message */

  /* VOTE_REQUEST: the candidate's last log position.  VOTE: `granted`.
   * Both: `pre_vote` marks the pre-vote round, which changes no state. */
  gboolean pre_vote;
  guint64 last_index;
  guint64 last_epoch;
  gboolean granted;
  gboolean transfer;       /* VOTE_REQUEST: the leader handed over (TimeoutNow): not ignored in lease */

  /* PROPOSAL: entries follow (prev_index, prev_epoch); `commit_index` is the
   * leader's.  COMMIT: `commit_index` only.  Both carry the leader's
   * heartbeat round `hb_seq`, which ACK and REJECT echo back (read index and
   * check-quorum count those echoes). */
  guint64 prev_index;
  guint64 prev_epoch;
  guint64 commit_index;
  GPtrArray *entries;      /* (element-type DsmEntry) (nullable) */
  guint64 hb_seq;

  /* ACK: the follower's log matches the leader's up to match_index (0 when
   * answering a COMMIT, which proves nothing about the log).  Answering a
   * SNAPSHOT chunk it also sets last_index to the snapshot's index and
   * `snapshot_offset` to the next byte it wants (0: start again). */
  guint64 match_index;
  guint64 snapshot_offset;

  /* REJECT: `reason`; LOG_MISMATCH and STALE_EPOCH echo the Proposal's
   * prev_index and hb_seq; LOG_MISMATCH hints the index the leader should
   * send next (hint_index) and the epoch of the conflicting entry (hint_epoch);
   * NOT_LEADER hints `leader_hint`; client rejects carry request_id, the
   * log `index` where the command was judged (0 if refused before), the
   * current state and `detail`. */
  DsmRejectReason reason;
  guint64 hint_index;
  guint64 hint_epoch;
  DsmNodeId leader_hint;

  /* CLIENT_REQUEST: `request_id` is the forwarding node's handle;
   * CLIENT_REPLY and client REJECTs echo it.  CLIENT_REPLY: `status`,
   * `index` of the entry (or read index), `state` after the command. */
  guint64 request_id;
  DsmCommand cmd;
  DsmReplyStatus status;
  guint64 index;
  DsmNodeId member;        /* CLIENT_REPLY: the node id a membership change added or named */
  char *state;             /* nullable */
  char *detail;            /* nullable: human-readable reason */
  /* CLIENT_REPLY and client REJECTs: the machine's revision (the index of
   * the entry that last changed it; 0: never) and, answering a read, its
   * data (a JSON object's text; NULL when empty). */
  guint64 revision;
  char *machine_data;      /* nullable */

  /* SNAPSHOT: a chunk [snapshot_offset, +len(data)) of the snapshot that
   * covers the log up to (last_index, last_epoch); `done` on the final one. */
  GBytes *data;            /* nullable */
  gboolean done;
} DsmMessage;

/**
 * dsm_message_new:
 * Returns: (transfer full): a zeroed message of @type with one reference.
 */
DsmMessage *dsm_message_new (DsmMessageType type, DsmNodeId from, DsmNodeId to,
                             guint64 epoch);
DsmMessage *dsm_message_ref (DsmMessage *msg);
void dsm_message_unref (DsmMessage *msg);  /* NULL is ignored */

/**
 * dsm_message_copy:
 * Returns: (transfer full): a new message equal to @msg (entries shared),
 * which the caller may change (the simulator redirects duplicates with it).
 */
DsmMessage *dsm_message_copy (const DsmMessage *msg);

/* Deep comparison, for the codec's round-trip tests. */
gboolean dsm_message_equal (const DsmMessage *a, const DsmMessage *b);

/**
 * dsm_message_check:
 * Checks a message's internal consistency: ids set, entries contiguous and
 * following prev_index, no entry newer than the message's epoch, fields
 * valid for the type.  Called on encode and again on decode.
 *
 * Returns: FALSE with @error (DSM_CODEC_ERROR_INVALID) naming the field.
 */
gboolean dsm_message_check (const DsmMessage *msg, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmMessage, dsm_message_unref)

G_END_DECLS
