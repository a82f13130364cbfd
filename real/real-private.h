/* real/real-private.h: a real run's state, shared by the files that drive
 * it: run.c (the run, polling the nodes, the verdict), procs.c (node
 * processes, the config, counters), disk.c (disk faults and reading the
 * data directories), clients.c (workload and scripted operations, in
 * threads) and script.c (steps in real time, the final heal).
 *
 * Threads: the driver's (run.c and script.c), one per workload client,
 * one per scripted operation, and the proxy's.  Everything clients touch
 * (the history, the workload's state, the checker, counters) is under
 * DsmReal.lock. */
#pragma once

#include <gio/gio.h>

#include "check/history-file.h"
#include "real/api.h"
#include "real/real.h"
#include "scenario/prng.h"
#include "scenario/workload.h"

G_BEGIN_DECLS

/* How often the driver looks at the nodes while it waits. */
#define REAL_POLL_MS 20
/* A poll of one node's view or state must answer within this. */
#define REAL_POLL_TIMEOUT_US (500 * 1000)

/* Counters a node keeps in memory only: scraped from /metrics, banked
 * when it is killed. */
typedef struct {
  guint64 retries;
  guint64 snapshots_installed;
  guint64 invalid;            /* dsm_messages_invalid_total + refused frames */
} RealCounters;

typedef struct {
  DsmNodeId id;
  guint16 peer_port;          /* where it listens for peers (the proxy dials it) */
  guint16 client_port;
  char *data_dir;
  char *log_path;
  GSubprocess *proc;          /* NULL while down */
  gboolean refused;           /* exited by itself: it would not start (a damaged disk) */
  guint starts;
  DsmDiskFault armed;         /* what its next crash does to its disk */
  gint64 paused_until_us;     /* SIGSTOPped until then (0: running) */
  RealCounters banked;        /* earlier incarnations */
  RealCounters last;          /* this one, as last scraped */
} RealNode;

/* One client operation in flight or done. */
typedef struct {
  DsmReal *real;
  DsmHistoryOp *op;           /* owned by DsmReal.history */
  DsmCommand cmd;
  guint client;
  gboolean scripted;
  DsmNodeId node;             /* where the first attempt goes */
  volatile gint done;
} RealOp;

struct _DsmReal {
  DsmScenario *scenario;
  DsmConfig *config;
  DsmRealOptions options;
  guint64 seed;
  char *dir;
  gboolean own_dir;           /* made here: removed at the end unless kept */
  char *config_path;
  char *token;
  guint n;
  RealNode *nodes;            /* [1..n] */
  DsmProxy *proxy;
  gint64 start_us;            /* t = 0 */
  gint64 deadline_us;
  DsmPrng fault_prng;
  gboolean stopped;           /* the bound or a signal ended the run */
  gint64 last_scrape_us;

  /* Partitions, isolations and one-way cuts, as the proxy's links. */
  guint *group;               /* [1..n]: partition group */
  gboolean *isolated;         /* [1..n] */
  gboolean *cut;              /* [from * (n + 1) + to] */

  GMutex lock;
  DsmChecker *checker;
  GPtrArray *history;         /* DsmHistoryOp, owned */
  GPtrArray *ops;             /* RealOp, owned */
  DsmWorkloadRun *workload;
  guint64 workload_end_ms;
  guint64 max_acked_index;
  DsmNodeId leader;           /* the latest the driver saw, for clients' hints */
  guint scripted_pending;
  gint stop_clients;
  GPtrArray *threads;         /* GThread: clients and scripted operations */
  GHashTable *skipped;        /* fault kind -> reason */
  guint n_skipped_steps;
  GPtrArray *finals;          /* DsmHistoryFinal, at the end */
  DsmRealReport report;
};

/* run.c */
guint64 real_now_ms (const DsmReal *real);
void real_log (DsmReal *real, const char *format, ...) G_GNUC_PRINTF (2, 3);
void real_fail (DsmReal *real, DsmInvariant invariant, const char *format, ...) G_GNUC_PRINTF (3, 4);
gboolean real_ok (DsmReal *real);
/* Sleeps up to @until_us in poll-sized slices; FALSE once the run must end. */
gboolean real_wait_until (DsmReal *real, gint64 until_us);
DsmNodeId real_leader (DsmReal *real, DsmRealView *views);
gboolean real_leader_ready (DsmReal *real);
gboolean real_caught_up (DsmReal *real, GString *why);

/* procs.c */
gboolean real_nodes_prepare (DsmReal *real, GError **error);
void real_node_start (DsmReal *real, RealNode *rn);
void real_node_crash (DsmReal *real, RealNode *rn);
void real_node_pause (DsmReal *real, RealNode *rn, guint64 ms);
/* SIGCONT to every node whose pause is over (all of them with @all). */
void real_nodes_resume_due (DsmReal *real, gboolean all);
gboolean real_node_running (DsmReal *real, RealNode *rn);
void real_node_scrape (DsmReal *real, RealNode *rn);
void real_nodes_scrape_due (DsmReal *real);
void real_nodes_stop (DsmReal *real);
void real_nodes_kill (DsmReal *real);
RealCounters real_counters_total (DsmReal *real);
void real_nodes_read_logs (DsmReal *real);

/* disk.c */
void real_disk_strike (DsmReal *real, RealNode *rn);
void real_disk_check_logs (DsmReal *real, guint64 commit_index);

/* clients.c */
void real_clients_start (DsmReal *real);
RealOp *real_clients_issue_scripted (DsmReal *real, const DsmCommand *cmd, DsmNodeId node);
guint real_clients_pending (DsmReal *real);
void real_clients_join (DsmReal *real);
DsmNodeId real_pick_live (DsmReal *real, gboolean followers_only);

/* script.c */
/* admin.c: a transfer_leader step to @to (DSM_NODE_NONE: the leader's
 * choice), started on the leader, or skipped saying why. */
void real_admin_transfer (DsmReal *real, const DsmStep *step, DsmNodeId to);
/* admin.c: a define step, retried until it is done or within_ms passes
 * (one attempt unless admin_wait); FALSE with the last answer in @why. */
gboolean real_admin_define (DsmReal *real, const DsmStep *step, GString *why);
void real_script_run (DsmReal *real);
void real_final_run (DsmReal *real);

G_END_DECLS
