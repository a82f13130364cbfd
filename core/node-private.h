/* core/node-private.h: the consensus engine's state, shared by the files
 * that implement it: node.c (inputs, outputs, roles, apply), election.c,
 * replication.c, client.c and snapshot.c.  Not installed; not for hosts. */
#pragma once

#include "error.h"
#include "log.h"
#include "node.h"

G_BEGIN_DECLS

/* What the leader knows of one follower (PROTOCOL.md, "Replication"). */
typedef struct {
  DsmNodeId id;
  gboolean voter;            /* a voter of the effective membership: its answers count */
  gboolean departing;        /* removed by an uncommitted entry: told until it commits */
  guint catch_up_rounds;     /* a learner's consecutive heartbeats within reach (members.c) */
  gboolean answered_round;   /* it answered us in this epoch since the last such check */
  guint64 catch_up_at_ms;    /* the next such check */
  guint64 next_index;        /* next entry to send */
  guint64 match_index;       /* highest index known to match ours */
  gboolean probing;          /* one Proposal at a time until a match is found */
  guint64 probe_next;        /* next_index when the last probe was sent; 0: none */
  guint64 *inflight;         /* ring of last indexes of unacknowledged Proposals */
  guint inflight_head;
  guint inflight_count;
  guint64 retry_deadline_ms; /* resend if still unanswered then (0: nothing owed) */
  guint attempts;            /* resends without an answer */
  gboolean reachable;
  guint64 last_heard_ms;     /* any answer in this epoch (check-quorum) */
  guint64 last_sent_ms;
  guint64 acked_hb_seq;      /* highest heartbeat round echoed back */
  guint64 commit_sent;       /* highest commit index told to it */
  gboolean heartbeat_due;

  /* A snapshot being streamed to it (snapshot.c). */
  GBytes *snapshot;
  guint64 snapshot_index;
  guint64 snapshot_epoch;
  guint64 snapshot_offset;   /* next byte to send */
  gboolean snapshot_in_flight;

  /* Votes in the current round. */
  gboolean vote_answered;
  gboolean vote_granted;
} Peer;

typedef enum {
  REQ_WAIT_LEADER,   /* no leader known yet */
  REQ_FORWARDED,     /* sent to the leader, awaiting its reply */
  REQ_APPENDED,      /* in our log at (index, epoch), awaiting apply */
  REQ_READ_COMMIT,   /* leader has not committed in its epoch yet */
  REQ_READ_CONFIRM,  /* awaiting a quorum's echo of read_round */
  REQ_READ_APPLY,    /* confirmed; awaiting apply of index */
} RequestPhase;

typedef struct _Request Request;
struct _Request {
  guint64 request_id;
  DsmNodeId origin;          /* DSM_NODE_NONE: a local client; else the forwarding node */
  DsmCommand cmd;            /* its strings packed after the request (client_submit()) */
  guint64 submitted_ms;
  guint64 deadline_ms;
  RequestPhase phase;
  guint64 index;             /* REQ_APPENDED: entry; reads: read index */
  guint64 epoch;             /* REQ_APPENDED: entry epoch */
  guint64 read_round;
  guint attempts;            /* forwards sent */
  guint64 retry_ms;          /* REQ_FORWARDED: resend then (idempotent commands only) */
  gboolean maybe_applied;    /* it reached a leader's log, or may have */
  GList deadline_link;       /* in DsmNode.requests, deadline order; owns the request */
  GList phase_link;          /* in the queue of its phase, if any */
  GQueue *phase_queue;       /* nullable */
  DsmNodeId forwarded_to;
};

typedef struct {
  DsmMessage *msg;
  guint64 seq;               /* send once persisted_seq >= seq */
} HeldMessage;

typedef struct {
  guint64 seq;
  guint64 last_index;        /* the log's last index once that write is durable */
} PendingWrite;

struct _DsmNode {
  DsmConfig *config;
  DsmNodeId id;
  GRand *rng;
  guint64 now_ms;
  gboolean had_input;        /* a timed input came: dsm_node_start() is too late */

  /* Durable (PROTOCOL.md, "Persistent state"). */
  guint64 epoch;
  DsmNodeId voted_for;
  DsmLog *log;
  DsmStore *store;

  /* Volatile. */
  DsmRole role;
  DsmNodeId leader_id;
  guint64 commit_index;
  guint64 election_deadline_ms;
  guint64 last_leader_contact_ms;
  /* Our last Ack, to spare Commits an answer that says nothing new
   * (replication_on_commit()): its epoch, to whom, the round it echoed. */
  guint64 last_ack_epoch;
  DsmNodeId last_ack_to;
  guint64 last_ack_hb_seq;
  Peer *peers;               /* every other member (and departing ones on a leader), by id */
  guint n_peers;

  /* Membership (members.c; PROTOCOL.md, "Membership changes"). */
  DsmMembership *membership; /* effective: the latest CONFIG entry in the log, else the store's */
  guint64 membership_index;  /* the entry it comes from (the store's membership_index otherwise) */
  GArray *config_indexes;    /* guint64: CONFIG entries in the log past the applied index, ascending */
  gboolean voter;            /* a voter of the effective membership */
  gboolean removed;          /* the committed membership no longer lists us, or a member said so */
  guint64 removed_index;     /* the entry that removed us (0: told by a member) */

  /* Leadership transfer (transfer.c). */
  DsmNodeId transfer_target; /* DSM_NODE_NONE: none under way */
  guint64 transfer_deadline_ms;
  gboolean transfer_resign;  /* removed: step down whatever comes of it */

  /* A committed entry this node cannot apply (PROTOCOL.md, "Entries a
   * node cannot apply"): applying stops there for good. */
  guint64 stalled_index;     /* 0: applying normally */
  char *stalled_reason;
  guint votes_granted;       /* including our own */
  guint votes_denied;

  /* Leader only. */
  guint64 heartbeat_deadline_ms;
  guint64 quorum_deadline_ms;
  guint64 hb_round;          /* the heartbeat round: a read or a due heartbeat starts one */
  guint64 epoch_first_index; /* the no-op this leader appended */
  GHashTable *proposed;      /* DsmCommand of an uncommitted entry (by client id, seq) -> index */
  GHashTable *forwards_seen; /* ForwardKey of forwarded commands without client id, this term */
  GQueue forwards_order;     /* the same keys, oldest first, to bound the set */

  /* Persistence (PROTOCOL.md, "Host contract"). */
  guint64 persist_seq;       /* last seq issued */
  guint64 persisted_seq;     /* last seq reported durable */
  guint64 unpersisted_from;  /* first index appended or truncated since the last ENTRIES persist; 0: none */
  GQueue held;               /* HeldMessage, ascending seq */
  GQueue writes;             /* PendingWrite, ascending seq */
  guint64 durable_index;     /* our log's durable last index */
  gboolean disk_full;        /* the host cannot persist for now (dsm_node_set_disk_full) */

  /* Snapshots (snapshot.c). */
  GBytes *snapshot;          /* the latest durable snapshot, served to lagging peers */
  guint64 snapshot_index;
  guint64 snapshot_epoch;
  guint64 snapshot_seq;      /* persist seq of the snapshot being written; 0: none */
  GBytes *pending_snapshot;  /* the snapshot being written */
  guint64 bytes_since_snapshot; /* entry bytes applied since the last snapshot began */
  guint64 snapshot_slice_at_ms; /* the next slice of a snapshot in progress, not before */
  guint64 snapshot_bytes_max;   /* the largest snapshot kept (DSM_CODEC_SNAPSHOT_BYTES_MAX or less) */
  guint64 snapshot_refused_bytes; /* the size of the last snapshot refused as too large; 0: none since */
  guint64 pending_index;
  guint64 pending_epoch;
  gboolean pending_reset;    /* it replaced the whole log */
  GByteArray *incoming;      /* a snapshot being received */
  guint64 incoming_index;
  guint64 incoming_epoch;
  DsmNodeId incoming_from;

  /* Client requests (client.c). */
  GQueue requests;           /* Request, by deadline; owns them */
  GHashTable *by_id;         /* request_id -> Request (local, forwarded) */
  GQueue appended;           /* REQ_APPENDED, by index */
  GQueue wait_leader;
  GQueue forwarded;          /* by retry_ms */
  GQueue read_commit;
  GQueue read_confirm;       /* by read_round */
  GQueue read_apply;         /* by index */
  gboolean read_broadcast;   /* a new read round needs heartbeats now */

  DsmOutbox out;
  DsmMetrics metrics;
  guint32 event_mask;
  gboolean report_applies;

#ifdef DSM_MUTANTS
  DsmMutant mutant;
#endif
};

#ifdef DSM_MUTANTS
#define MUTANT(node, m) ((node)->mutant == (m))
#else
#define MUTANT(node, m) FALSE
#endif

/* node.c */
guint node_quorum (const DsmNode *node);
/* Whether @id (a peer or ourselves) counts towards quorums: a voter of the
 * effective membership. */
gboolean node_counts (const DsmNode *node, DsmNodeId id);
Peer *node_find_peer (DsmNode *node, DsmNodeId id);
guint64 node_random_election_timeout (DsmNode *node);
void node_send (DsmNode *node, DsmMessage *msg);   /* takes ownership */
DsmMessage *node_message (DsmNode *node, DsmMessageType type, DsmNodeId to);
void node_event (DsmNode *node, DsmEventKind kind, DsmNodeId peer, guint64 index,
                 guint64 value, DsmRejectReason reason, const char *format, ...) G_GNUC_PRINTF (7, 8);
void node_persist_hard_state (DsmNode *node);
void node_persist_entries_flush (DsmNode *node);
guint64 node_persist_snapshot (DsmNode *node, guint64 index, guint64 epoch, GBytes *snapshot,
                               gboolean reset_log);
void node_log_append (DsmNode *node, DsmEntry *entry);
void node_log_truncate (DsmNode *node, guint64 index);
void node_become_follower (DsmNode *node, guint64 epoch, DsmNodeId leader, const char *why);
void node_become_leader (DsmNode *node);
void node_set_commit (DsmNode *node, guint64 index);
void node_apply_committed (DsmNode *node);
gboolean node_apply_pending (const DsmNode *node);
gboolean node_check_epoch (DsmNode *node, const DsmMessage *msg);

/* election.c */
void election_tick (DsmNode *node);
void election_start_pre_vote (DsmNode *node);
void election_on_vote_request (DsmNode *node, const DsmMessage *msg);
void election_on_vote (DsmNode *node, const DsmMessage *msg);
void election_start_transfer (DsmNode *node);
/* Whether this node may stand for election: a voter, not removed, applying. */
gboolean election_may_campaign (const DsmNode *node);
gboolean election_in_lease (const DsmNode *node);

/* replication.c */
void replication_reset_peers (DsmNode *node);
void replication_peer_reset_window (Peer *peer);
void replication_tick (DsmNode *node);
void replication_flush (DsmNode *node);
gboolean replication_peer_has_output (const DsmNode *node, const Peer *peer, gboolean read_broadcast);
void replication_on_proposal (DsmNode *node, const DsmMessage *msg);
void replication_on_commit (DsmNode *node, const DsmMessage *msg);
void replication_on_ack (DsmNode *node, const DsmMessage *msg);
void replication_on_reject (DsmNode *node, const DsmMessage *msg);
void replication_advance_commit (DsmNode *node);
guint64 replication_next_deadline (const DsmNode *node);
guint64 replication_confirmed_round (const DsmNode *node);
void replication_send_reject (DsmNode *node, DsmNodeId to, DsmRejectReason reason,
                              const DsmMessage *about);
gboolean replication_follow_leader (DsmNode *node, const DsmMessage *msg);
gboolean replication_disk_full (DsmNode *node);   /* TRUE (and counted ignored) while full */

/* client.c */
void client_init (DsmNode *node);
void client_clear (DsmNode *node);
void client_submit (DsmNode *node, guint64 request_id, DsmNodeId origin, const DsmCommand *cmd);
void client_tick (DsmNode *node);
guint64 client_next_deadline (const DsmNode *node);
void client_on_reply (DsmNode *node, const DsmMessage *msg);
void client_on_reject (DsmNode *node, const DsmMessage *msg);
void client_on_leader_known (DsmNode *node);
void client_on_step_down (DsmNode *node);
void client_on_disk_full (DsmNode *node);
void client_on_truncate (DsmNode *node, guint64 index);
void client_on_apply (DsmNode *node, const DsmEntry *entry, const DsmApplyResult *result);
void client_on_snapshot_installed (DsmNode *node);
void client_on_commit_advanced (DsmNode *node);
void client_on_applied (DsmNode *node);
void client_on_read_confirmed (DsmNode *node, guint64 round);
void client_on_transfer_end (DsmNode *node);
void client_leader_rebuild (DsmNode *node);
void client_forwards_reset (DsmNode *node);
guint client_proposed_hash (gconstpointer cmd);
gboolean client_proposed_equal (gconstpointer a, gconstpointer b);
guint client_pending (const DsmNode *node);

/* members.c */
void members_init (DsmNode *node);
void members_clear (DsmNode *node);
void members_on_append (DsmNode *node, const DsmEntry *entry);
void members_on_truncate (DsmNode *node, guint64 index);
void members_on_applied (DsmNode *node);
void members_on_snapshot_installed (DsmNode *node);
void members_on_become_leader (DsmNode *node);
void members_tick_leader (DsmNode *node);
guint64 members_next_deadline (const DsmNode *node);
/* Checks a membership command against the effective membership and the
 * one-change-at-a-time rule; on success returns the CONFIG entry to append. */
DsmEntry *members_propose (DsmNode *node, const DsmCommand *cmd, DsmRejectReason *reason,
                           GError **error);
guint members_uncommitted_changes (const DsmNode *node);
guint members_uncommitted_own_changes (const DsmNode *node);
Peer *members_best_voter (DsmNode *node);
void members_on_removed_reject (DsmNode *node, const DsmMessage *msg);

/* transfer.c */
gboolean transfer_start (DsmNode *node, DsmNodeId target, gboolean resign, GError **error);
void transfer_on_ack (DsmNode *node, Peer *peer);
void transfer_tick (DsmNode *node);
guint64 transfer_next_deadline (const DsmNode *node);
void transfer_on_step_down (DsmNode *node, gboolean newer_epoch);
void transfer_on_timeout_now (DsmNode *node, const DsmMessage *msg);
gboolean transfer_in_progress (const DsmNode *node);

/* snapshot.c */
void snapshot_maybe_take (DsmNode *node);
/* Writes the next slice of the snapshot in progress, if any and if due (on any input). */
void snapshot_continue (DsmNode *node);
void snapshot_on_persisted (DsmNode *node);
gboolean snapshot_flush_peer (DsmNode *node, Peer *peer);
void snapshot_on_chunk (DsmNode *node, const DsmMessage *msg);
void snapshot_on_ack (DsmNode *node, Peer *peer, const DsmMessage *msg);
void snapshot_peer_reset (Peer *peer);
gboolean snapshot_restore_durable (DsmNode *node, const DsmDurableState *durable, GError **error);

G_END_DECLS
