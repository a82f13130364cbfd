/* check/checker.h: the invariants checked on every simulated run
 * (../shared/DESIGN.md section 3, docs/CHECKERS.md): each checked as the
 * run goes where it can be, the rest at its end. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  DSM_INVARIANT_ELECTION_SAFETY,      /* at most one leader per epoch */
  DSM_INVARIANT_AGREEMENT,            /* no two nodes apply different entries at one index */
  DSM_INVARIANT_STATE_MACHINE_SAFETY, /* nodes that applied an index agree on its outcome */
  DSM_INVARIANT_VALIDITY,             /* committed transitions legal; illegal ones rejected */
  DSM_INVARIANT_DURABILITY,           /* an acknowledged commit is never lost */
  DSM_INVARIANT_LINEARIZABILITY,      /* the client history has a legal sequential order */
  DSM_INVARIANT_LIVENESS,             /* after the faults heal, a leader and answers */
  DSM_INVARIANT_EXPECTATIONS,         /* the scenario's own awaits and expectations */
  DSM_INVARIANT_QUORUMS,              /* elections and commits by a quorum of the right configuration */
  DSM_INVARIANT_ATTACKER_INERT,       /* injected frames change nothing: the run equals its attack-free twin */
  DSM_INVARIANT_WATCH,                /* each watcher sees every change of its machines, in order, once */
  DSM_INVARIANT_N,
} DsmInvariant;

#define DSM_INVARIANTS_ALL ((1u << DSM_INVARIANT_N) - 1)

const char *dsm_invariant_to_string (DsmInvariant invariant);
gboolean dsm_invariant_from_string (const char *text, DsmInvariant *out);

G_END_DECLS

#include "config.h"
#include "check/history.h"
#include "check/linearizability.h"
#include "membership.h"
#include "outbox.h"

G_BEGIN_DECLS

typedef struct _DsmChecker DsmChecker;

/**
 * dsm_checker_new:
 * @invariants: bits (1 << DsmInvariant) to check; failures of the others
 *   are ignored: they do not fail the run.
 */
DsmChecker *dsm_checker_new (DsmConfig *config, guint32 invariants);
void dsm_checker_free (DsmChecker *checker);

/* A node is leader of @epoch (election safety). */
void dsm_checker_leader (DsmChecker *checker, guint64 now_ms, DsmNodeId id, guint64 epoch);

/**
 * dsm_checker_track_submissions:
 * From now on every command an entry carries must be one a client (or an
 * operator) submitted, reported with dsm_checker_submitted(): validity
 * also means nothing invented is committed.  A run that cannot report
 * every submission does not call it.
 */
void dsm_checker_track_submissions (DsmChecker *checker);

/* A client submitted @cmd (once per command, not per attempt: retries
 * carry the same client id and seq). */
void dsm_checker_submitted (DsmChecker *checker, const DsmCommand *cmd);

/* A node applied an entry (agreement, state machine safety, validity, durability). */
void dsm_checker_apply (DsmChecker *checker, guint64 now_ms, DsmNodeId id, const DsmApplied *applied);

/**
 * dsm_checker_quorum:
 * @used: the configuration node @id used (the latest in its log)
 * @support: the votes it won with, or the voters of @used whose disks hold
 *   the entry it just committed
 * @what: "election" or "commit", for the message
 *
 * Quorums per configuration (docs/CHECKERS.md, "Quorums"): @support must
 * be a majority of @used's voters, @id one of them for an election, and
 * @used at most one voter away from the latest configuration committed by
 * an entry of @epoch or earlier (the one-change-at-a-time rule, as the
 * cluster sees it; a stale leader is judged by what its epoch could know).
 */
void dsm_checker_quorum (DsmChecker *checker, guint64 now_ms, DsmNodeId id, guint64 epoch,
                         const DsmMembership *used, guint support, const char *what);

/* A definition the cluster acknowledged (a real cluster's 200 to a PUT,
 * where no applies are seen): the model judges later operations by it.
 * FALSE with @error when @spec does not parse. */
gboolean dsm_checker_defined (DsmChecker *checker, const char *name, const char *spec, GError **error);

/* Returns: (transfer none): the config with the definitions the log
 * defined so far added (the model validity and linearizability use). */
DsmConfig *dsm_checker_get_config (const DsmChecker *checker);

/* The latest configuration any node applied (the bootstrap at first). */
const DsmMembership *dsm_checker_get_membership (const DsmChecker *checker);

/* A client was told its transition committed at op->index (durability).
 * @op is read now; an ack ahead of every apply is kept as a copy until the
 * index is applied (interned names stay borrowed from their DsmNames,
 * which must outlive the run's applies). */
void dsm_checker_acked (DsmChecker *checker, guint64 now_ms, const DsmHistoryOp *op);

/* Records a violation found elsewhere (liveness, expectations). */
void dsm_checker_fail (DsmChecker *checker, DsmInvariant invariant, guint64 now_ms,
                       const char *format, ...) G_GNUC_PRINTF (4, 5);

/* End of run: linearizability of @history, and that every acknowledged
 * commit was applied by every node in @applied_index (live nodes). */
void dsm_checker_finish (DsmChecker *checker, guint64 now_ms, GPtrArray *history,
                         const guint64 *applied_index, guint n_live);

/**
 * dsm_checker_finish_each:
 * dsm_checker_finish() for a history handed over one machine at a time
 * (dsm_linearizability_check_each(): @machines sorted, @get_ops filling
 * one machine's ops): the same checks, verdict, message and
 * dsm_checker_get_lin_states().  The caller promises what
 * dsm_linearizability_check_each() asks (no (client id, seq) pair on two
 * transitions) and that no op names a machine plugin's definition (those
 * are judged by the plugin: use dsm_checker_finish()).
 */
void dsm_checker_finish_each (DsmChecker *checker, guint64 now_ms, const char *const *machines, guint n_machines,
                              DsmLinearizabilityOpsFunc get_ops, gpointer user_data,
                              const guint64 *applied_index, guint n_live);

/* Whether the config holds a machine plugin's definition (whose machines
 * dsm_checker_finish_each() cannot judge). */
gboolean dsm_checker_has_plugins (const DsmChecker *checker);

/* TRUE while no checked invariant failed. */
gboolean dsm_checker_ok (const DsmChecker *checker);
DsmInvariant dsm_checker_get_failed (const DsmChecker *checker);
const char *dsm_checker_get_message (const DsmChecker *checker);
guint64 dsm_checker_get_failed_at (const DsmChecker *checker);
guint64 dsm_checker_get_committed (const DsmChecker *checker);   /* highest index applied anywhere */
guint64 dsm_checker_get_lin_states (const DsmChecker *checker);

/**
 * dsm_checker_get_change:
 * The committed log as the first node to apply each index applied it:
 * whether the entry at @index is a transition that took effect, and if so
 * which machine it moved to which state (borrowed, valid until the
 * checker is freed).  FALSE also for an index no node applied yet.
 */
gboolean dsm_checker_get_change (const DsmChecker *checker, guint64 index, const char **machine,
                                 const char **state);

/**
 * dsm_checker_forget_below:
 * Drops the committed records of indices below @index, in whole blocks
 * (docs/CHECKERS.md, "Forgetting what no node can apply again").  The
 * caller promises that no node applies an index below @index again, that
 * no watcher asks for one (dsm_checker_get_change()), and that any
 * client op still to be acknowledged was sent after every index below
 * @index was first applied, by a client whose (client id, seq) pairs are
 * fresh: an acknowledgement naming such an index then cannot match it.
 * An apply below the mark fails agreement; an acknowledgement below it
 * fails durability, as the record would have.
 */
void dsm_checker_forget_below (DsmChecker *checker, guint64 index);
/* Indices below it have no record any more (0: none forgotten). */
guint64 dsm_checker_get_forgotten (const DsmChecker *checker);

/* The state @machine starts in: its definition's initial state (the
 * config's default definition for a machine no entry named yet). */
const char *dsm_checker_get_initial (const DsmChecker *checker, const char *machine);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmChecker, dsm_checker_free)

G_END_DECLS
