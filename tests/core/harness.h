/* tests/core/harness.h: a small deterministic cluster for the core's tests:
 * N nodes, a seeded message queue with latency and loss, partitions,
 * crashes and restarts from in-memory durable state.  Persists complete
 * immediately.  After every input it checks election safety and that no
 * two nodes apply different entries at one index.  (The full simulator,
 * with its fault model and checkers, is sim/.) */
#pragma once

#include "config.h"
#include "node.h"

#define HARNESS_MAX 8

typedef struct {
  guint64 deliver_ms;
  guint64 seq;
  DsmMessage *msg;
} HarnessMessage;

typedef struct {
  DsmConfig *config;
  guint n;
  guint64 seed;
  GRand *rng;
  guint64 now_ms;
  guint64 seq;

  DsmNode *nodes[HARNESS_MAX + 1];        /* by id; NULL while crashed */
  DsmDurableState durable[HARNESS_MAX + 1];
  guint restarts[HARNESS_MAX + 1];

  GPtrArray *in_flight;                   /* HarnessMessage */
  gboolean cut[HARNESS_MAX + 1][HARNESS_MAX + 1]; /* from -> to dropped */
  guint loss_percent;
  guint latency_ms_min;
  guint latency_ms_max;

  GHashTable *replies;                    /* request_id -> DsmClientReply */
  GHashTable *leaders;                    /* epoch -> leader id */
  GPtrArray *committed;                   /* index -> DsmEntry applied anywhere */
  guint64 applied_count[HARNESS_MAX + 1];
  guint64 messages_delivered;
  guint64 messages_dropped;
} Harness;

Harness *harness_new (guint n, guint64 seed, DsmConfig *config);
void harness_free (Harness *h);

/* Processes events until @done returns TRUE or @budget_ms of virtual time
 * pass; returns whether @done held. */
typedef gboolean (*HarnessDone) (Harness *h, gpointer data);
gboolean harness_run (Harness *h, guint64 budget_ms, HarnessDone done, gpointer data);

/* Runs for exactly @ms of virtual time. */
void harness_advance (Harness *h, guint64 ms);

void harness_submit (Harness *h, DsmNodeId node, guint64 request_id, const DsmCommand *cmd);
void harness_transition (Harness *h, DsmNodeId node, guint64 request_id, const char *machine,
                         const char *to, const char *client_id, guint64 seq);

/* The reply to @request_id, or NULL if none yet. */
const DsmClientReply *harness_reply (Harness *h, guint64 request_id);
gboolean harness_wait_reply (Harness *h, guint64 request_id, guint64 budget_ms);

/* The unique leader with the highest epoch among live nodes, or 0. */
DsmNodeId harness_leader (Harness *h);
gboolean harness_wait_leader (Harness *h, guint64 budget_ms);

/* Cuts both directions between the nodes in @group (a bit mask of ids) and the rest. */
void harness_partition (Harness *h, guint32 group);
void harness_heal (Harness *h);

void harness_crash (Harness *h, DsmNodeId id);
void harness_restart (Harness *h, DsmNodeId id);

/* Starts node @id (at most HARNESS_MAX) with no durable state: a node
 * joining the cluster, or one replacing a dead one under a fresh id. */
void harness_add_node (Harness *h, DsmNodeId id);

/* Crashes @id and forgets its disk. */
void harness_wipe (Harness *h, DsmNodeId id);

/* Hands @msg (transfer full) to its addressee now and moves its output. */
void harness_deliver (Harness *h, DsmMessage *msg);

/* TRUE when every live node applied up to @index. */
gboolean harness_all_applied (Harness *h, guint64 index);

const char *harness_state (Harness *h, DsmNodeId id, const char *machine);

#define HARNESS_BIT(id) (1u << (id))

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Harness, harness_free)
