/* sim/sim-private.h: a simulated run's state, shared by the files that
 * drive it: cluster.c (event loop, nodes, network, disks), clients.c
 * (workload and scripted operations), admin.c (membership changes,
 * definitions and transfers), script.c (steps and the final heal),
 * attacker.c (attack steps and the links they hit) and trace.c (trace
 * lines). */
#pragma once

#include "check/history-pack.h"
#include "disk.h"
#include "network.h"
#include "node.h"
#include "scenario/prng.h"
#include "scenario/workload.h"
#include "sim.h"
#include "watch.h"

G_BEGIN_DECLS

typedef enum {
  EV_DELIVER,       /* a message reaches a node */
  EV_TICK,          /* a node's timer */
  EV_SYNC,          /* a node's fsync completes */
  EV_CLIENT_ARRIVE, /* a client request reaches a node */
  EV_CLIENT_REPLY,  /* a reply reaches its client */
  EV_CLIENT_TIMER,  /* a client gives up waiting, or retries */
  EV_CLIENT_NEXT,   /* a workload client starts its next operation */
  EV_SCRIPT,        /* the script or the final phase has a deadline */
  EV_ADMIN,         /* an operator's change: its timeout, or the pause before a retry */
  EV_DISK_RETRY,    /* a node whose disk is full tries its write again */
  EV_WATCH,         /* a watcher without a stream tries a node (client: the watcher) */
} EventKind;

typedef struct _ClientOp ClientOp;
typedef struct _AdminOp AdminOp;
typedef struct _SimAttacker SimAttacker;
typedef struct _SimWatcher SimWatcher;

typedef struct {
  guint64 time_ms;
  guint64 seq;
  guint heap_index;         /* where it sits in DsmSim.heap */
  EventKind kind;
  DsmNodeId node;
  guint64 gen;              /* TICK: tick generation; SYNC, DISK_RETRY: incarnation */
  guint64 request_id;       /* CLIENT_*: the attempt this is about */
  DsmMessage *msg;          /* DELIVER */
  gboolean corrupt;         /* DELIVER */
  DsmClientReply *reply;    /* CLIENT_REPLY */
  ClientOp *op;             /* CLIENT_*: a reference (clients_op_ref) */
  guint client;             /* CLIENT_NEXT */
  AdminOp *admin;           /* ADMIN */
} Event;

/* An entry of DsmSim.heap: the event's key beside it (cluster.c). */
typedef struct {
  guint64 time_ms;
  guint64 seq;
  Event *ev;
} SimHeapItem;

typedef struct {
  DsmNodeId id;
  DsmNode *node;            /* NULL while down */
  DsmSimDisk *disk;
  guint incarnation;
  gboolean refused;         /* its disk is corrupt: it refuses to start */
  guint64 tick_at;          /* virtual time of the pending tick, G_MAXUINT64: none */
  Event *tick_event;        /* that tick, in the heap */
  guint64 sync_target;
  gboolean nospace;         /* the host's alarm: a sync failed for lack of room */
  double rate;              /* clock rate (skew) */
  guint64 local_base;
  guint64 virtual_base;
  /* Counters summed over incarnations. */
  guint64 retries;
  guint64 snapshots_installed;
  guint64 invalid;
  guint64 elections_won;
  guint64 paused_until;     /* a pause step: it takes no input before then (0: none) */
  guint64 checked_commit;   /* the commit index the quorum check last saw (leader) */
  DsmWatchFeed *feed;       /* the changes its watchers replay (sim/watchers.c); NULL: none yet */
} SimNode;

/* A client operation in flight.  Counted references: the client's while
 * it runs (a scripted one's by DsmSim.ops, for the script reads it after
 * it completes), each pending event's and each DsmSim.requests entry's.
 * A workload op is freed once done and forgotten: a long run keeps only
 * its history op, not this. */
struct _ClientOp {
  guint refs;
  DsmHistoryOp *op;         /* owned by DsmSim.history; NULL once a workload op is done and
                             * sealed there (check/history-pack.h) */
  guint client;
  gboolean scripted;
  DsmCommand cmd;           /* its strings packed after the ClientOp (clients_issue()) */
  guint attempts;
  guint64 request_id;       /* the attempt in flight; 0: none */
  Event *timer;             /* its timeout (or the pause before a retry), in the heap */
  DsmNodeId node;
  gboolean maybe_applied;   /* an attempt ended without an answer */
  gboolean done;
  guint64 first_new;        /* the lowest index first applied after it was issued */
};

/* A client's delivery state; what it issues is sim->workload's. */
typedef struct {
  guint index;
  ClientOp *current;
  DsmNodeId leader_hint;
} Client;

typedef enum {
  PHASE_RUNNING,            /* steps and workload */
  PHASE_SETTLE_LEADER,      /* healed: waiting for a leader */
  PHASE_SETTLE_CONVERGE,    /* waiting for answers and caught-up nodes */
  PHASE_DONE,
} FinalPhase;

typedef enum {
  SCRIPT_READY,             /* run the next step when its time comes */
  SCRIPT_WAITING,           /* a wait step, until phase_deadline */
  SCRIPT_AWAITING,          /* an await, until its condition or phase_deadline */
  SCRIPT_REPLY,             /* a propose/read with an expected reply */
  SCRIPT_ADMIN,             /* a membership change or define, until it commits */
  SCRIPT_TARGET,            /* a fault with no_target "wait", until its role is held */
  SCRIPT_DONE,
} ScriptPhase;

struct _DsmSim {
  DsmScenario *scenario;
  DsmConfig *config;
  DsmSimOptions options;
  guint64 seed;
  GString *trace;           /* nullable */

  guint64 now_ms;
  guint64 event_seq;
  SimHeapItem *heap;        /* a binary heap of events by (time_ms, seq): [0, heap_len) */
  guint heap_len;
  guint heap_cap;
  GPtrArray *spare_events;  /* freed Events, reused */
  guint64 events;
  gboolean stop;

  guint n;                  /* nodes started so far: ids 1..n */
  guint capacity;           /* ids the run may use: the config's and one per add_node step */
  SimNode *nodes;           /* [1..capacity] */
  DsmSimNet *net;
  DsmChecker *checker;
  gboolean may_forget;      /* the run's steps let the checker drop records (sim_forget()) */
  guint64 forget_at;        /* the committed count at which sim_forget() looks again */
  guint64 max_acked_index;  /* highest index a client was told is committed */
  DsmPrng fault_prng;
  DsmOutbox out;

  DsmHistoryPack *history;  /* the client history; its ops' names are names' */
  GPtrArray *history_whole; /* dsm_sim_get_history()'s copy of it (NULL: not asked for) */
  gboolean history_copies;  /* a scripted transition named a (client id, seq): the history may
                             * hold copies of one pair (dsm_linearizability_check() merges them) */
  DsmNames *names;          /* the history's interned names (machines, states, client ids) */
  GPtrArray *ops;           /* scripted ClientOps, a reference each */
  GHashTable *requests;     /* request_id (in the pointer) -> ClientOp, a reference each */
  guint64 next_request_id;
  guint scripted_pending;   /* scripted operations not answered yet */
  Client *clients;          /* workload clients, then the script's client */
  guint n_clients;
  DsmWorkloadRun *workload; /* what the clients issue (scenario/workload.h) */
  guint64 workload_end_ms;

  guint step;
  GHashTable *script_wakeups; /* virtual times an EV_SCRIPT is already scheduled for */
  guint64 script_next_ms;   /* SCRIPT_READY: when the next step may start */
  ScriptPhase script;
  guint64 script_deadline;
  guint64 prev_done_ms;
  ClientOp *awaited;
  AdminOp *awaited_admin;

  GPtrArray *admin_ops;     /* AdminOp, owned */
  GHashTable *admin_requests; /* request_id -> AdminOp */
  guint64 admin_seq;
  FinalPhase final;
  guint64 final_deadline;

  SimAttacker *attacker;    /* NULL: no attack step, or the attack-free twin */
  SimWatcher *watchers;     /* workload.watchers of them (sim/watchers.c) */
  guint n_watchers;
  DsmPrng watch_prng;       /* their own stream: runs without watchers draw nothing */

  DsmSimReport report;
};

/* cluster.c */
void sim_schedule (DsmSim *sim, Event *ev);
void sim_unschedule (DsmSim *sim, Event *ev);
Event *sim_event_new (DsmSim *sim, EventKind kind, guint64 time_ms);
guint64 sim_local_now (const SimNode *sn, guint64 now_ms);
void sim_process (DsmSim *sim, SimNode *sn);
void sim_crash (DsmSim *sim, SimNode *sn);
gboolean sim_restart (DsmSim *sim, SimNode *sn);
void sim_set_rate (DsmSim *sim, SimNode *sn, double rate);
DsmNodeId sim_leader (DsmSim *sim);
gboolean sim_leader_ready (DsmSim *sim);
gboolean sim_caught_up (DsmSim *sim, GString *why);
void sim_node_add (DsmSim *sim, DsmNodeId id);

/* admin.c */
void admin_init (DsmSim *sim);
void admin_clear (DsmSim *sim);
gboolean sim_in_cluster (DsmSim *sim, DsmNodeId id);
gboolean admin_on_reply (DsmSim *sim, const DsmClientReply *reply);
void admin_event (DsmSim *sim, Event *ev);
AdminOp *admin_issue (DsmSim *sim, const DsmCommand *cmd, guint64 within_ms);
/* NULL (with @skipped saying why) when the bound says not now. */
AdminOp *admin_add_node (DsmSim *sim, guint64 within_ms, guint max_members, GString *skipped);
AdminOp *admin_remove_node (DsmSim *sim, DsmNodeId id, guint64 within_ms, guint keep_voters,
                            GString *skipped);
gboolean admin_op_done (const AdminOp *op, DsmReplyStatus *status, const char **detail);

/* clients.c */
ClientOp *clients_op_ref (ClientOp *co);
void clients_op_unref (ClientOp *co);
void clients_init (DsmSim *sim);
void clients_clear (DsmSim *sim);
void clients_start (DsmSim *sim);
ClientOp *clients_issue (DsmSim *sim, guint client, const DsmCommand *cmd, DsmNodeId node, gboolean scripted);
void clients_on_reply (DsmSim *sim, const DsmClientReply *reply);
void clients_event (DsmSim *sim, Event *ev);
guint clients_pending (DsmSim *sim);

/* script.c */
void script_advance (DsmSim *sim);
void script_poll (DsmSim *sim);
void final_poll (DsmSim *sim);
gboolean script_resolve_target (DsmSim *sim, const DsmTarget *target, const char *where, DsmNodeId *out);

/* attacker.c */
void attacker_init (DsmSim *sim);
void attacker_clear (DsmSim *sim);
/* A genuine message is accepted on its link (it moves the link's count on). */
void attacker_on_deliver (DsmSim *sim, const DsmMessage *msg);
/* A node's process ends: so do its connections. */
void attacker_on_crash (DsmSim *sim, DsmNodeId id);
void attacker_run (DsmSim *sim, const DsmStep *step);
/* Before the run: runs its attack-free twin; after: fails attacker_inert
 * when the run's trace, but for attack lines, differs from the twin's. */
void attacker_run_twin (DsmSim *sim);
void attacker_compare_twin (DsmSim *sim);

/* watchers.c */
void watchers_init (DsmSim *sim);
void watchers_clear (DsmSim *sim);
/* Every watcher opens its first stream (from revision 0). */
void watchers_start (DsmSim *sim);
void watchers_event (DsmSim *sim, Event *ev);
/* Node @sn applied @applies (after the checker saw them): its feed and watchers. */
void watchers_on_applies (DsmSim *sim, SimNode *sn, GPtrArray *applies);
/* Node @sn's process ended: its watchers' streams end too. */
void watchers_on_crash (DsmSim *sim, SimNode *sn);
/* The watch_reconnect step. */
void watchers_reconnect_all (DsmSim *sim);
/* End of run: each watcher has every change its node applied. */
void watchers_finish (DsmSim *sim);

/* trace.c */
void trace_line (DsmSim *sim, const char *format, ...) G_GNUC_PRINTF (2, 3);
void trace_message (DsmSim *sim, const char *what, const DsmMessage *msg, const char *extra);
void trace_node_event (DsmSim *sim, const DsmEvent *event);
void trace_apply (DsmSim *sim, DsmNodeId id, const DsmApplied *applied);
void trace_op (DsmSim *sim, const char *what, const ClientOp *co);

G_END_DECLS
