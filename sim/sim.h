/* sim/sim.h: one simulated run: unmodified core nodes on a virtual clock,
 * driven by a scenario and its seed through the modelled network, disks
 * and clients, checked on every event (docs/SIMULATOR.md). */
#pragma once

#include <glib.h>

#include "check/checker.h"
#include "check/history.h"
#include "scenario/scenario.h"

G_BEGIN_DECLS

typedef struct _DsmSim DsmSim;

typedef struct {
  gboolean has_seed;        /* run with `seed` instead of the scenario's */
  guint64 seed;
  GString *trace;           /* nullable: JSON lines of every event go here */
  guint64 max_events;       /* 0: default (50 million) */
  int mutant;               /* a DsmMutant, in mutant builds only; 0 elsewhere */
  gboolean disarmed;        /* attack steps inject nothing: the attack-free twin
                             * (docs/SIMULATOR.md, "The attacker") */
} DsmSimOptions;

typedef struct {
  gboolean ok;
  DsmInvariant failed_invariant;
  char *failure;            /* what went wrong, when !ok */
  guint64 failed_at_ms;
  guint64 seed;
  guint64 virtual_ms;
  guint64 events;
  guint64 messages_sent;
  guint64 messages_delivered;
  guint64 messages_dropped;
  guint64 messages_duplicated;
  guint64 messages_corrupted;
  guint64 ops;              /* client operations issued */
  guint64 ops_ok;
  guint64 ops_rejected;
  guint64 ops_unknown;
  guint64 commits;          /* transitions acknowledged as committed */
  guint64 entries_committed;/* the highest index any node applied */
  guint64 elections;        /* elections won */
  guint64 retries;
  guint64 snapshots_installed;
  guint64 invalid_messages;
  guint64 crashes;
  guint64 disk_alarms;      /* times a node's disk-full alarm was raised */
  guint64 fsyncs;
  guint64 lin_states;
  guint64 membership_changes;/* membership changes and defines that committed */
  guint64 transfers;        /* leadership transfers started */
  guint64 attacks_injected; /* frames and connections the attacker tried */
  guint64 attacks_refused;  /* of those, refused by the link or the handshake */
  guint64 attacks_accepted; /* of those, handed to a core (only a planted bug lets one through) */
  guint64 watch_connects;   /* simulated watchers' streams opened (first ones and resumes) */
  guint64 watch_resyncs;    /* of those, answered "compacted" */
} DsmSimReport;

void dsm_sim_report_clear (DsmSimReport *report);

/* @scenario is copied.  Returns: (transfer full). */
DsmSim *dsm_sim_new (const DsmScenario *scenario, const DsmSimOptions *options);
void dsm_sim_free (DsmSim *sim);

/* Runs to the end (or the first violation) and fills @report. */
void dsm_sim_run (DsmSim *sim, DsmSimReport *report);

/* (transfer none) (element-type DsmHistoryOp): the client history, as
 * copies made for this call (the simulator keeps it packed:
 * check/history-pack.h), valid until the next call or dsm_sim_free().
 * A whole history at once is as large as the simulator's own copy was:
 * for tests and small runs. */
GPtrArray *dsm_sim_get_history (DsmSim *sim);

/* The indices below which the checker dropped its committed records
 * (docs/CHECKERS.md, "Forgetting what no node can apply again"); 0: none. */
guint64 dsm_sim_get_forgotten (DsmSim *sim);

/* The number of client operations in the history. */
guint dsm_sim_get_n_ops (DsmSim *sim);

/* dsm_history_longest_unavailable() of the history, without copying it. */
guint64 dsm_sim_longest_unavailable (DsmSim *sim, guint64 from_ms, guint64 to_ms);

/**
 * dsm_sim_write_history:
 * Appends the run's history file (docs/HISTORY.md): the header with the
 * scenario's definitions, one line per client operation, then the final
 * states of every live node, for `dsm-check`.
 */
void dsm_sim_write_history (DsmSim *sim, GString *out);

/* Appends the trace header line (scenario and seed) to @trace. */
void dsm_sim_write_trace_header (const DsmScenario *scenario, guint64 seed, GString *trace);

/* The same, naming the planted bug the run has (@mutant: a mutant's name,
 * or NULL for none), so that replay reproduces it (docs/SIMULATOR.md,
 * "Traces and replay"). */
void dsm_sim_write_trace_header_full (const DsmScenario *scenario, guint64 seed, const char *mutant,
                                      GString *trace);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmSim, dsm_sim_free)

G_END_DECLS
