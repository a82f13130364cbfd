/* core/node.h: the consensus engine of one node.  Pure: it is fed inputs
 * (a message, the time, a client command, a persist completion) and
 * answers through an outbox; it never reads a clock, a socket, a file or a
 * hidden random source.  docs/PROTOCOL.md is its specification. */
#pragma once

#include <glib.h>

#include "config.h"
#include "entry.h"
#include "log.h"
#include "membership.h"
#include "message.h"
#include "metrics.h"
#include "outbox.h"
#include "store.h"
#include "types.h"

G_BEGIN_DECLS

typedef struct _DsmNode DsmNode;

/**
 * DsmDurableState:
 * What a node persisted, handed back on restart.  @entries are contiguous
 * and start at @snapshot_index + 1.  All fields zero: a new node.
 */
typedef struct {
  guint64 epoch;
  DsmNodeId voted_for;
  guint64 snapshot_index;
  guint64 snapshot_epoch;
  GBytes *snapshot;          /* nullable */
  GPtrArray *entries;        /* (element-type DsmEntry) (nullable) */
} DsmDurableState;

void dsm_durable_state_clear (DsmDurableState *state);

/**
 * dsm_node_new:
 * @config: referenced.  Its nodes and definitions only bootstrap the
 *   replicated membership and definitions (every node of a cluster must
 *   start from the same bootstrap: dsm_config_bootstrap_digest()); @id
 *   need not be among its nodes: a node joining later starts with empty
 *   @durable state, follows whichever leader replicates to it, and takes
 *   part once the log makes it a member.
 * @rng: (transfer full): the node's only source of randomness (election
 *   timeouts); the simulator derives it from the run's seed
 * @durable: (nullable): state persisted before a restart
 * @now_ms: the host's current time
 *
 * Returns: (transfer full): a follower, or NULL with @error when @durable
 * is inconsistent (entries not contiguous, a snapshot that does not restore).
 */
DsmNode *dsm_node_new (DsmConfig *config, DsmNodeId id, GRand *rng,
                       const DsmDurableState *durable, guint64 now_ms, GError **error);
void dsm_node_free (DsmNode *node);

/**
 * dsm_node_start:
 * The host has finished loading @node and serves from @now_ms on.  A
 * node built from a large snapshot or log may have taken seconds to
 * construct; its election timer counts from here, not from dsm_node_new(),
 * so that the load does not count as silence from the leader and the
 * first tick is not an election.  Optional (the simulator builds nodes in
 * no time); at most once, before any other input; it produces no output.
 */
void dsm_node_start (DsmNode *node, guint64 now_ms);

/* A message from a peer (borrowed: the node references what it keeps). */
void dsm_node_step (DsmNode *node, guint64 now_ms, const DsmMessage *msg);

/* Time passes: elections, heartbeats, retries and timeouts fire. */
void dsm_node_tick (DsmNode *node, guint64 now_ms);

/**
 * dsm_node_submit:
 * A client command (transition or read) arriving at this node; the answer
 * comes back as a DsmClientReply with @request_id, from this node whatever
 * its role (followers forward to the leader).  Every submitted command is
 * answered exactly once, at the latest after consensus_timeout_ms.
 */
void dsm_node_submit (DsmNode *node, guint64 now_ms, guint64 request_id,
                      const DsmCommand *cmd);

/**
 * dsm_node_transfer_leadership:
 * @target: a voter, or DSM_NODE_NONE for the most up-to-date one
 *
 * Hands leadership over (PROTOCOL.md, "Leadership transfer"): the leader
 * holds new proposals back, brings @target's log up to its own, and tells
 * it to campaign at once (TimeoutNow).  Events DSM_EVENT_TRANSFER report
 * the progress; after twice election_timeout_ms_max without a new leader
 * the leader takes the held proposals and leads on.
 *
 * Returns: FALSE with a DSM_CONSENSUS_ERROR when this node is not the
 * leader (NOT_LEADER), @target is not another voter (NOT_LEADER), or a
 * transfer is already under way (BUSY).
 */
gboolean dsm_node_transfer_leadership (DsmNode *node, guint64 now_ms, DsmNodeId target,
                                       GError **error);

/* Every persist with seq <= @seq is durable. */
void dsm_node_persisted (DsmNode *node, guint64 now_ms, guint64 seq);

/**
 * dsm_node_set_disk_full:
 * The host's disk is out of space (@full TRUE: a persist could not be
 * written and waits for a retry), or has room again (FALSE).  Rule P is
 * unchanged: nothing that depends on an unwritten persist leaves.  While
 * full the node also gives up what needs its disk (PROTOCOL.md, "A full
 * disk"): it steps down if it leads (unless it is the only voter), starts
 * no election and grants no vote, takes no entries or snapshot from the
 * leader and answers it nothing, refuses client transitions with
 * DSM_REJECT_NO_SPACE, and answers those it had appended "unknown".  It
 * goes on following the leader, applying what it learns is committed,
 * forwarding reads and answering pre-votes.
 */
void dsm_node_set_disk_full (DsmNode *node, guint64 now_ms, gboolean full);

/* The host could not deliver @msg (no connection, queue full): counted as a
 * delivery failure; retries are the node's job. */
void dsm_node_report_unsent (DsmNode *node, const DsmMessage *msg);

/* The host could not decode something a peer sent. */
void dsm_node_report_invalid (DsmNode *node);

/**
 * dsm_node_drain:
 * Builds the Proposals and Commits owed to peers (batching everything
 * appended since the last drain) and moves all pending output into @out,
 * which must be empty.
 */
void dsm_node_drain (DsmNode *node, DsmOutbox *out);

/* TRUE when dsm_node_drain() would produce something. */
gboolean dsm_node_has_output (const DsmNode *node);

/* The earliest time at which dsm_node_tick() has work (G_MAXUINT64: none);
 * the current time while committed entries wait to be applied. */
guint64 dsm_node_next_deadline (const DsmNode *node);

/* Committed entries a node applies in one input at most.  A node learns of
 * a long run of committed entries at once after a restart (its commit
 * index starts at its snapshot's); the rest is applied
 * DSM_NODE_APPLY_PER_INPUT at a time by dsm_node_tick(), once per loop
 * iteration, while it goes on answering its peers (PROTOCOL.md, "Applying
 * committed entries"). */
#define DSM_NODE_APPLY_PER_INPUT 1024

/* Which events reach the outbox (bit 1 << DsmEventKind); default all. */
void dsm_node_set_event_mask (DsmNode *node, guint32 mask);

/* Whether applied entries reach the outbox (default TRUE). */
void dsm_node_set_report_applies (DsmNode *node, gboolean report);

DsmNodeId dsm_node_get_id (const DsmNode *node);
DsmRole dsm_node_get_role (const DsmNode *node);
guint64 dsm_node_get_epoch (const DsmNode *node);
DsmNodeId dsm_node_get_voted_for (const DsmNode *node);
DsmNodeId dsm_node_get_leader (const DsmNode *node);   /* DSM_NODE_NONE when unknown */
gboolean dsm_node_get_disk_full (const DsmNode *node);
guint64 dsm_node_get_commit_index (const DsmNode *node);
guint64 dsm_node_get_applied_index (const DsmNode *node);
guint64 dsm_node_get_last_index (const DsmNode *node);
/* The last index of the log this node's disk holds (reported durable). */
guint64 dsm_node_get_durable_index (const DsmNode *node);
const DsmLog *dsm_node_get_log (const DsmNode *node);
const DsmStore *dsm_node_get_store (const DsmNode *node);
DsmConfig *dsm_node_get_config (const DsmNode *node);

/**
 * dsm_node_set_snapshot_bytes_max:
 * Lowers the largest snapshot @node keeps, from DSM_CODEC_SNAPSHOT_BYTES_MAX
 * (1 GiB, what a store restores) to @bytes: a larger one is dropped, the
 * log is not compacted, and DSM_EVENT_SNAPSHOT_REFUSED says so (a host
 * bounding its memory; tests).
 */
void dsm_node_set_snapshot_bytes_max (DsmNode *node, guint64 bytes);

/**
 * dsm_node_get_membership:
 * @index: (out) (optional): the log index of the CONFIG entry it comes from
 *   (0: the config file's bootstrap)
 * Returns: (transfer none): the membership this node uses: the latest in
 *   its log, committed or not (PROTOCOL.md, "Membership changes").  Hosts
 *   learn peers' addresses from it.  Valid until the next input.
 */
DsmMembership *dsm_node_get_membership (const DsmNode *node, guint64 *index);

/* Returns: (transfer none): the membership as of the applied index. */
DsmMembership *dsm_node_get_committed_membership (const DsmNode *node, guint64 *index);

/* TRUE once the committed membership no longer lists this node (or a
 * member told it so): it campaigns, votes and serves no more, for good. */
gboolean dsm_node_is_removed (const DsmNode *node);

/* TRUE when this node is a voter of the membership it uses. */
gboolean dsm_node_is_voter (const DsmNode *node);

/* The voter a leadership transfer under way targets, or DSM_NODE_NONE. */
DsmNodeId dsm_node_get_transfer_target (const DsmNode *node);

/**
 * dsm_node_get_stalled_index:
 * @reason: (out) (optional) (transfer none): why, when stalled
 * Returns: 0, or the index of the committed entry this node cannot apply
 * (PROTOCOL.md, "Entries a node cannot apply"): nothing past it is applied
 * until the node restarts with a version that can; it never skips one.
 */
guint64 dsm_node_get_stalled_index (const DsmNode *node, const char **reason);

/* Metrics with gauges refreshed. (transfer none) */
const DsmMetrics *dsm_node_get_metrics (DsmNode *node);

/* What the leader knows of one peer (zeros on followers). */
typedef struct {
  DsmNodeId id;
  DsmMemberRole role;        /* in the membership this node uses */
  gboolean departing;        /* removed by a change not yet committed */
  gboolean reachable;
  guint64 match_index;
  guint64 next_index;
  guint64 last_heard_ms;
} DsmPeerStatus;

/* Fills @out with every peer (members but this node, and members being
 * removed), by id; returns the count.  DSM_MAX_NODES slots always do. */
guint dsm_node_get_peers (const DsmNode *node, DsmPeerStatus *out, guint n_out);

#ifdef DSM_MUTANTS
/* Planted protocol bugs, compiled only into the mutant build that
 * `dsm-sim mutants` uses to prove the checkers catch them. */
typedef enum {
  DSM_MUTANT_NONE,
  DSM_MUTANT_COMMIT_WITHOUT_MAJORITY,   /* commit on the leader's own append */
  DSM_MUTANT_DOUBLE_VOTE,               /* grant a second vote in one epoch */
  DSM_MUTANT_VOTE_ANY_LOG,              /* skip the up-to-date check on votes */
  DSM_MUTANT_APPLY_BEFORE_COMMIT,       /* followers apply what they append */
  DSM_MUTANT_COMMIT_OLD_EPOCH,          /* count replicas of older epochs' entries */
  DSM_MUTANT_FORGET_EPOCH,              /* restart with epoch 0 and no vote */
  DSM_MUTANT_ACK_BEFORE_PERSIST,        /* Ack (and vote) before the fsync */
  DSM_MUTANT_TWO_CHANGES,               /* membership changes without waiting for the last to commit */
  DSM_MUTANT_CONFIG_ON_COMMIT,          /* use a configuration only once committed */
  DSM_MUTANT_LEARNER_COUNTS,            /* count learners' acks towards commits */
  DSM_MUTANT_TRUST_UNAUTHENTICATED,     /* not the core's: the simulated links accept frames
                                         * without a valid MAC, and strangers without proof
                                         * (sim/attacker.c) */
  DSM_MUTANT_READ_WITHOUT_CONFIRM,      /* a leader answers reads without a quorum's heartbeat round */
  DSM_MUTANT_SNAPSHOT_KEEPS_STATES,     /* installing a snapshot keeps the node's own machine states */
  DSM_MUTANT_FORGET_SESSIONS,           /* a retried (client, seq) is applied again */
  DSM_MUTANT_STALE_EPOCH_APPEND,        /* a follower goes back to an older leader's epoch and follows it */
  DSM_MUTANT_VOTE_BEFORE_PERSIST,       /* a Vote leaves before the vote is on disk (Acks still wait) */
  DSM_MUTANT_WATCH_SKIP_ON_RESUME,      /* not the core's: a simulated watch that resumes loses the first
                                         * change it replays (sim/watchers.c) */
  DSM_MUTANT_APPLY_IGNORES_IF_REVISION, /* a compare-and-set on the revision is checked when submitted,
                                         * not when applied */
  DSM_MUTANT_MERGE_DROPS_KEYS,          /* a payload replaces the machine's data instead of merging */
  DSM_MUTANT_HEARTBEAT_SAME_ROUND,      /* a due heartbeat starts no new round: idle followers stop Acking */
  DSM_MUTANT_N,
} DsmMutant;

const char *dsm_mutant_to_string (DsmMutant mutant);
void dsm_node_set_mutant (DsmNode *node, DsmMutant mutant);
#endif

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmNode, dsm_node_free)

G_END_DECLS
