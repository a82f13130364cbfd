/* tests/core/node-rig.h: one node under test (id RIG_SELF), driven message
 * by message through its public API, with the outbox of its last drain.
 * The unit tests of the engine's handlers (test-election.c,
 * test-replication.c, test-client.c, test-snapshot.c, test-node.c) share it;
 * whole clusters are harness.h's job. */
#pragma once

#include "config.h"
#include "node.h"

#define RIG_SELF 1
#define RIG_SEED 42

typedef struct {
  DsmConfig *config;
  DsmNode *node;
  DsmOutbox out;        /* what the last rig_drain() produced */
  guint64 now_ms;       /* the time handed to every input */
  guint64 seq_seen;     /* highest persist seq any drain produced */
} Rig;

/**
 * rig_new:
 * @config: (transfer full): the cluster; node RIG_SELF must be in it
 * @durable: (nullable): state to restart from
 *
 * Returns: (transfer full): a follower at time 0 with a GRand seeded with
 * RIG_SEED; the test fails if @durable does not restore.
 */
Rig *rig_new (DsmConfig *config, const DsmDurableState *durable);
void rig_free (Rig *rig);

/* rig_new() restarting from hard state @epoch (no vote) and a log of no-ops
 * of @epochs at indexes 1, 2... */
Rig *rig_new_with_log (DsmConfig *config, guint64 epoch, const guint64 *epochs, guint n_entries);

/* A config for nodes 1..@n_nodes at the documented defaults, which the
 * caller may change before handing it to rig_new(). */
DsmConfig *rig_config (guint n_nodes);

/* Empties rig->out, then drains the node into it. */
void rig_drain (Rig *rig);

/* Each input below uses rig->now_ms, then drains. */
void rig_step (Rig *rig, DsmMessage *msg);          /* takes ownership of @msg */
void rig_tick (Rig *rig, guint64 now_ms);           /* sets rig->now_ms first */
void rig_persist_all (Rig *rig);                    /* reports every persist seen so far */
void rig_transition (Rig *rig, guint64 request_id, const char *machine, const char *to,
                     const char *client_id, guint64 seq);
void rig_read (Rig *rig, guint64 request_id, const char *machine);

/* Messages to RIG_SELF.  @epochs lists the epochs of no-op entries at
 * prev_index + 1, prev_index + 2... */
DsmMessage *rig_message (DsmMessageType type, DsmNodeId from, guint64 epoch);
DsmMessage *rig_vote_request (DsmNodeId from, guint64 epoch, gboolean pre_vote,
                              guint64 last_index, guint64 last_epoch);
DsmMessage *rig_vote (DsmNodeId from, guint64 epoch, gboolean pre_vote, gboolean granted);
DsmMessage *rig_proposal (DsmNodeId from, guint64 epoch, guint64 prev_index, guint64 prev_epoch,
                          guint64 commit_index, const guint64 *epochs, guint n_entries);
DsmMessage *rig_commit (DsmNodeId from, guint64 epoch, guint64 commit_index, guint64 hb_seq);
DsmMessage *rig_ack (DsmNodeId from, guint64 epoch, guint64 match_index, guint64 hb_seq);

/* (transfer full) (element-type DsmEntry): no-ops at @first_index... */
GPtrArray *rig_entries (guint64 first_index, const guint64 *epochs, guint n_entries);
/* (transfer full): a transition of @machine to @to, without client id. */
DsmEntry *rig_command_entry (guint64 index, guint64 epoch, const char *machine, const char *to);

/* Looking into rig->out.  The finders return the first match or NULL. */
guint rig_count_messages (const Rig *rig, DsmMessageType type);
DsmMessage *rig_find_message (const Rig *rig, DsmMessageType type, DsmNodeId to);
guint rig_count_persists (const Rig *rig, DsmPersistKind kind);
DsmPersist *rig_find_persist (const Rig *rig, DsmPersistKind kind);
DsmClientReply *rig_find_reply (const Rig *rig, guint64 request_id);
guint rig_count_events (const Rig *rig, DsmEventKind kind);

/* Fills *@out with what the leader knows of @peer; FALSE if no such peer. */
gboolean rig_peer (const Rig *rig, DsmNodeId peer, DsmPeerStatus *out);

/* Follower -> leader: the election deadline passes, node 2 grants the
 * pre-vote and (once the candidate's HARD_STATE persist is reported) the
 * vote.  rig->out is the drain right after winning: the no-op's ENTRIES
 * persist and the first Proposals. */
void rig_elect (Rig *rig);

/* rig_elect(), then the no-op is made durable and every peer Acks it:
 * the leader's commit_index reaches its no-op. */
void rig_elect_committed (Rig *rig);

/* A Commit from @leader in @epoch makes the node its follower; every
 * persist is reported. */
void rig_follow (Rig *rig, DsmNodeId leader, guint64 epoch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Rig, rig_free)
