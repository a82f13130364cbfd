/* scenario/scenario.h: a scenario file, parsed: one story of a cluster under
 * faults.  docs/SCENARIOS.md documents every key with examples.  Parsing
 * is strict: a bad file is a DSM_SCENARIO_ERROR naming the field path and
 * the problem ("steps[3].node: expected a node id, \"leader\", \"follower\",
 * \"random\" or \"all\", found \"lead\""). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "config.h"
#include "entry.h"
#include "message.h"
#include "plugin/plugins.h"

G_BEGIN_DECLS

#define DSM_SCENARIO_ERROR (dsm_scenario_error_quark ())
GQuark dsm_scenario_error_quark (void);

typedef enum {
  DSM_SCENARIO_ERROR_PARSE,    /* not JSON */
  DSM_SCENARIO_ERROR_MISSING,  /* a required key is absent */
  DSM_SCENARIO_ERROR_TYPE,     /* wrong JSON type */
  DSM_SCENARIO_ERROR_RANGE,    /* a number out of range */
  DSM_SCENARIO_ERROR_INVALID,  /* inconsistent (unknown node, min > max, ...) */
  DSM_SCENARIO_ERROR_UNKNOWN,  /* a key or value the schema does not have */
} DsmScenarioError;

/* What a fault aimed at "leader", "follower" or "random" does when no
 * node holds that role as it runs (docs/SCENARIOS.md, "Node selectors"). */
typedef enum {
  DSM_NO_TARGET_FAIL,   /* the step fails (expectations) */
  DSM_NO_TARGET_SKIP,   /* the step does nothing; the trace says "skipped" */
  DSM_NO_TARGET_WAIT,   /* the step waits for the role, up to expect.leader_within_ms */
} DsmNoTarget;

/* Which node a step acts on, resolved when the step runs. */
typedef enum {
  DSM_TARGET_NODE,      /* a fixed id */
  DSM_TARGET_LEADER,    /* the current leader (the step fails if there is none) */
  DSM_TARGET_FOLLOWER,  /* a live non-leader, chosen by the run's PRNG */
  DSM_TARGET_RANDOM,    /* any live node, chosen by the run's PRNG */
  DSM_TARGET_ALL,       /* every node (crash: every live node; restart: every crashed
                         * node; cut: every other node) */
} DsmTargetKind;

typedef struct {
  DsmTargetKind kind;
  DsmNodeId id;         /* DSM_TARGET_NODE */
} DsmTarget;

typedef enum {
  /* Faults. */
  DSM_STEP_CRASH,        /* target */
  DSM_STEP_RESTART,      /* target (ALL: every crashed node) */
  DSM_STEP_PARTITION,    /* groups: nodes in different groups cannot talk */
  DSM_STEP_ISOLATE,      /* target: cut off from everyone, both ways */
  DSM_STEP_CUT,          /* one-way: from -> to dropped */
  DSM_STEP_HEAL,         /* undo every partition, isolation and cut */
  DSM_STEP_LOSS,         /* percent of messages dropped, for_ms */
  DSM_STEP_DELAY,        /* ms added to every message, for_ms */
  DSM_STEP_DUPLICATE,    /* percent of messages delivered twice, for_ms */
  DSM_STEP_REORDER,      /* percent of messages delayed up to ms more, for_ms */
  DSM_STEP_CORRUPT,      /* percent of messages corrupted (flip or truncate), for_ms */
  DSM_STEP_DISK_FAULT,   /* target, disk_fault: what the node's next crash does to its disk */
  DSM_STEP_SKEW,         /* target, rate: the node's clock runs at rate x virtual time */
  DSM_STEP_PAUSE,        /* target, ms: the node takes no input for ms (a stall, SIGSTOP) */
  DSM_STEP_DISK_FULL,    /* target: the node's disk has no room: its syncs fail until restored */
  DSM_STEP_DISK_SPACE_RESTORED, /* target (ALL: every disk): room again */
  /* Clients. */
  DSM_STEP_PROPOSE,      /* target node receives cmd; optional expect/wait */
  DSM_STEP_READ,         /* target node receives a read of cmd.machine */
  /* Membership and definitions through the log (docs/SCENARIOS.md, "Membership"). */
  DSM_STEP_ADD_NODE,     /* a fresh node joins; count: skipped at that many members (0: never) */
  DSM_STEP_REMOVE_NODE,  /* target leaves; count: skipped at that many voters or fewer */
  DSM_STEP_PROMOTE,      /* target, a learner, becomes a voter */
  DSM_STEP_TRANSFER_LEADER, /* the leader hands over to target_to (ALL: the most up-to-date) */
  DSM_STEP_DEFINE,       /* cmd: a DEFINE of cmd.definition from cmd.spec */
  /* Time. */
  DSM_STEP_WAIT,         /* ms */
  DSM_STEP_AWAIT,        /* await condition, within_ms */
  DSM_STEP_EXPECT,       /* expect condition, now */
  /* Attacks (docs/SCENARIOS.md, "Attacks"): verb "attack", not "do". */
  DSM_STEP_FORGE,        /* message (a template) injected on the link target_as -> target */
  DSM_STEP_REPLAY,       /* count captured frames re-injected (target; ALL: their own receivers) */
  DSM_STEP_SPOOF,        /* a stranger's connection to target, claiming target_as and cluster */
  DSM_STEP_WATCH_RECONNECT, /* every simulated watcher drops its stream and resumes on another node */
} DsmStepKind;

typedef enum {
  DSM_CONDITION_LEADER,     /* a leader whose epoch's no-op committed */
  DSM_CONDITION_NO_LEADER,  /* no live node leads */
  DSM_CONDITION_COMMITTED,  /* the leader applied machine in state */
  DSM_CONDITION_CAUGHT_UP,  /* every live node applied the leader's commit index */
  DSM_CONDITION_REPLIES,    /* every scripted propose/read was answered */
  DSM_CONDITION_STATE,      /* machine is in state on `on` nodes */
  DSM_CONDITION_VOTERS,     /* the leader's committed membership has `count` voters, no learner */
} DsmCondition;

typedef enum {
  DSM_NODES_LIVE,           /* every live node */
  DSM_NODES_ALL,            /* every node: one that is down fails the expectation */
  DSM_NODES_ONE,            /* on.id */
} DsmNodesKind;

typedef enum {
  DSM_DISK_FAULT_NONE,
  DSM_DISK_FAULT_TORN_WRITE,     /* the last unsynced write survives in part */
  DSM_DISK_FAULT_LOST_FSYNC,     /* the last completed fsync did not reach the platter */
  DSM_DISK_FAULT_CORRUPT_RECORD, /* one synced record is damaged: the node must refuse to start */
} DsmDiskFault;

typedef enum {
  DSM_CORRUPT_FLIP,       /* flip bytes of the encoded message */
  DSM_CORRUPT_TRUNCATE,   /* cut the encoded message short */
} DsmCorruptMode;

typedef struct {
  DsmStepKind kind;
  char *where;              /* "steps[3]", for messages */
  gboolean has_at;          /* start at at_ms (absolute virtual time) ... */
  guint64 at_ms;
  guint64 after_ms;         /* ... or this long after the previous step finished */

  DsmTarget target;
  DsmTarget target_to;      /* CUT: to */
  guint32 message_types;    /* CUT: the kinds dropped, 1 << DsmMessageType each; 0: every message */
  GPtrArray *groups;        /* PARTITION: (element-type GArray of DsmNodeId); every node
                             * is in exactly one group: the parser appends the nodes the
                             * file leaves out as a last group.  NULL when a group names
                             * a selector: then group_targets */
  GPtrArray *group_targets; /* PARTITION with selectors: (element-type GArray of DsmTarget)
                             * the groups as written ("leader", "follower", "random" or
                             * ids), resolved when the step runs; the nodes left out then
                             * form one more group */
  DsmNoTarget no_target;    /* faults aimed at a role nobody holds when they run */
  guint percent;            /* LOSS, DUPLICATE, REORDER, CORRUPT */
  guint64 ms;               /* DELAY, REORDER (max extra), WAIT, PAUSE */
  guint64 for_ms;           /* LOSS..CORRUPT: 0 = until heal */
  DsmCorruptMode corrupt_mode;
  DsmDiskFault disk_fault;
  double rate;              /* SKEW */

  DsmCommand cmd;           /* PROPOSE, READ (client_id/seq optional) */
  gboolean has_expect_reply;/* PROPOSE/READ: wait for the reply and check it */
  DsmReplyStatus expect_reply;

  guint count;              /* ADD_NODE, REMOVE_NODE: bounds; VOTERS: voters */
  gboolean admin_wait;      /* ADD_NODE...DEFINE: wait for the change and expect it ok */

  DsmCondition condition;   /* AWAIT, EXPECT */
  guint64 within_ms;        /* AWAIT (and PROPOSE/READ with an expected reply; else 0) */
  char *machine;            /* COMMITTED, STATE */
  char *state;              /* COMMITTED, STATE */
  DsmNodesKind on;          /* STATE */
  DsmNodeId on_id;

  DsmTarget target_as;      /* FORGE, SPOOF: the sender claimed (SPOOF: any id) */
  char *message;            /* FORGE, SPOOF: the message template, compact JSON */
  char *cluster;            /* SPOOF: the cluster id the hello claims; NULL: the cluster's own */
  guint64 window_ms;        /* REPLAY: frames captured within the last window_ms (0: any) */
} DsmStep;

typedef struct {
  guint latency_ms_min;
  guint latency_ms_max;
  guint loss_percent;
  guint duplicate_percent;
  guint reorder_percent;
  guint reorder_ms_max;
  guint client_latency_ms_min;
  guint client_latency_ms_max;
} DsmNetworkModel;

typedef struct {
  guint fsync_ms_min;
  guint fsync_ms_max;
} DsmDiskModel;

typedef enum {
  DSM_WORKLOAD_TARGET_RANDOM,  /* each op to a random live node */
  DSM_WORKLOAD_TARGET_LEADER,  /* follow leader hints, like dsmctl */
} DsmWorkloadTarget;

typedef struct {
  guint clients;            /* 0: no background workload */
  guint machines;           /* instances "m0".."m{machines-1}" */
  char *definition;         /* nullable: the config's default */
  double rate_per_s;        /* ops per second over all clients (each has one op in flight) */
  guint read_percent;
  guint64 start_ms;
  guint64 duration_ms;
  DsmWorkloadTarget target;
  gboolean idempotent;      /* ops carry (client id, seq) and are retried on "unknown" */
  guint watchers;           /* simulated watch streams (docs/SCENARIOS.md, "Watchers"); 0: none */
  guint payload_percent;    /* of the transitions drawn, those carrying a payload */
  guint cas_percent;        /* of the operations drawn, read-modify-writes: a read, then a
                             * transition with if_revision (docs/SCENARIOS.md, "Payloads and
                             * compare-and-set") */
} DsmWorkload;

typedef struct {
  guint32 invariants;       /* bit per DsmInvariant (check/checker.h); default all */
  guint64 min_commits;      /* client transitions committed OK */
  guint64 leader_within_ms; /* after the final heal */
  guint64 settle_ms;        /* the final heal phase's budget for convergence */
  guint64 min_unknown;      /* ops answered "outcome unknown" */
  guint64 min_rejected;
  guint64 min_retries;      /* Proposal resends, summed over nodes */
  guint64 min_elections;
  guint64 max_elections;    /* 0: no bound */
  guint64 min_snapshots_installed;
  guint64 min_invalid_messages;
  guint64 min_attacks_refused; /* injections the links and handshakes refused */
  GHashTable *final_states; /* machine -> state, on every live node at the end */
} DsmExpectations;

typedef struct {
  char *name;
  char *summary;
  char *path;               /* nullable: where it was read from */
  guint64 seed;
  DsmConfig *config;        /* nodes and "cluster" laid over the defaults */
  DsmPluginSet *plugins;    /* nullable: the machine plugins "cluster.plugins" names, loaded */
  DsmNetworkModel network;
  DsmDiskModel disk;
  DsmWorkload workload;
  GPtrArray *steps;         /* (element-type DsmStep) */
  DsmExpectations expect;
  char *json;               /* the scenario as canonical compact JSON (traces embed it);
                             * dsm_scenario_update_json() after changing fields */
} DsmScenario;

/**
 * dsm_scenario_new_from_file:
 * Returns: (transfer full): the scenario, or NULL with a DSM_SCENARIO_ERROR
 * (or G_FILE_ERROR) whose message starts with the file name.
 */
DsmScenario *dsm_scenario_new_from_file (const char *path, GError **error);

/* The same from text; @name names it in messages and defaults its name. */
DsmScenario *dsm_scenario_new_from_data (const char *text, gssize length, const char *name,
                                         GError **error);
DsmScenario *dsm_scenario_new_from_json (JsonNode *root, const char *name, GError **error);

/* Writes the scenario back as JSON that new_from_data() reads (pretty,
 * canonical: every key with its defaults explicit, steps in order; the
 * same scenario always gives the same text).  Returns: (transfer full). */
char *dsm_scenario_to_json (const DsmScenario *scenario);

/**
 * dsm_scenario_list_files:
 * @path: a scenario file, or a folder of them
 * Returns: (transfer full) (element-type filename): @path itself, or the
 *   folder's *.json files in name order (what `dsm-sim run DIR` and
 *   `dsm-real run DIR` run); NULL with @error when the folder cannot be read.
 */
GPtrArray *dsm_scenario_list_files (const char *path, GError **error);

/* Returns: (transfer full): a deep copy, with its own DsmConfig. */
DsmScenario *dsm_scenario_copy (const DsmScenario *scenario);
void dsm_scenario_free (DsmScenario *scenario);

/**
 * dsm_scenario_update_json:
 * Rewrites @scenario->json from the fields, after a caller changed them
 * (the shrinker, a seed override).  The fields must still describe a valid
 * scenario: dsm_scenario_to_json() must read back.
 */
void dsm_scenario_update_json (DsmScenario *scenario);

void dsm_step_clear (DsmStep *step);

/* The spelling in scenario files: "crash" ... "wait", "await", "expect". */
const char *dsm_step_kind_to_string (DsmStepKind kind);

/* The receiver's state an attack's relative numbers ("+100") count from. */
typedef struct {
  guint64 epoch;            /* its current epoch */
  guint64 last_index;       /* its last log index */
  guint64 last_epoch;       /* the epoch of that entry */
} DsmAttackBase;

/**
 * dsm_scenario_attack_message:
 * @template_json: a forge or spoof step's message (docs/SCENARIOS.md,
 *   "Attacks"): a wire-format message whose numbers may be "+N" or "-N",
 *   counted from @base, and whose "from" and "to" default to @from and @to
 *
 * Returns: (transfer full): the message, or NULL with a DSM_SCENARIO_ERROR
 * (a number below 0) or a DSM_CODEC_ERROR (a message the codec refuses).
 */
DsmMessage *dsm_scenario_attack_message (const char *template_json, const DsmAttackBase *base,
                                         DsmNodeId from, DsmNodeId to, GError **error);

/* "leader", "no_leader", "committed", "caught_up", "replies", "state". */
const char *dsm_condition_to_string (DsmCondition condition);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmScenario, dsm_scenario_free)

G_END_DECLS
