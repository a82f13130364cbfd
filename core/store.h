/* core/store.h: the replicated state machine every node applies committed
 * entries to: the named machine instances and the client sessions that
 * make retried commands apply at most once.  This is the state machine
 * interface the consensus engine drives: validate, apply, snapshot,
 * restore (plus read).  It is deterministic: the same entries in the same
 * order give byte-identical snapshots on every node. */
#pragma once

#include <glib.h>

#include "config.h"
#include "definitions.h"
#include "entry.h"
#include "machine.h"
#include "membership.h"
#include "types.h"

G_BEGIN_DECLS

typedef struct _DsmStore DsmStore;

/**
 * DsmApplyResult:
 * What applying one entry did.  @def is referenced; @from and @state are
 * owned by @def (canonical state names), so they live as long as it does.
 */
typedef struct {
  guint64 index;
  guint64 epoch;
  DsmReplyStatus status;      /* OK, REJECTED or UNKNOWN (stale session seq) */
  DsmRejectReason reason;     /* for REJECTED / UNKNOWN */
  gboolean duplicate;         /* a retried (client, seq): the first outcome is repeated */
  guint64 result_index;       /* index where the command first took effect */
  DsmMachineDef *def;         /* nullable: NOOP entries, unknown definitions */
  const char *from;           /* state before (nullable) */
  const char *state;          /* state after (== from when rejected) */
  guint64 revision;           /* the machine's after (its current one when rejected; 0: never changed) */
  char *output;               /* owned, nullable: a machine plugin's answer to an ok command (sessions keep it for retries) */
  DsmNodeId member;           /* a membership change: the node it added, removed or promoted */
  char *detail;               /* nullable, owned: why a payload was refused when applied */
} DsmApplyResult;

void dsm_apply_result_clear (DsmApplyResult *result);

/**
 * dsm_store_new:
 * @config: definitions, default definition and session bounds; referenced.
 * Returns: (transfer full): an empty store (every instance at its initial state).
 */
DsmStore *dsm_store_new (DsmConfig *config);
void dsm_store_free (DsmStore *store);

/**
 * dsm_store_check:
 * Checks what can be known of @cmd without its machine's current state:
 * the definition exists, an existing instance has that definition, the
 * named states exist.  An instance's definition never changes name, and a
 * newer version keeps every state, so a node may refuse such a command at
 * once (PROTOCOL.md, "Validation").  A DEFINE is checked whole: its text
 * parses into a valid definition of that name, which may replace the
 * current version (dsm_definitions_check_update()).  Membership commands
 * are the node's to check, not the store's.
 *
 * Returns: FALSE with @reason BAD_REQUEST and a DSM_MACHINE_ERROR.
 */
gboolean dsm_store_check (const DsmStore *store, const DsmCommand *cmd,
                          DsmRejectReason *reason, GError **error);

/**
 * dsm_store_validate:
 * @reason: (out): INVALID_TRANSITION or BAD_REQUEST on failure
 * @def_out: (out) (optional): the instance's definition (not referenced)
 * @to_out: (out) (optional): the canonical spelling of the requested state
 *
 * Checks @cmd against the machine's current state, as applying it would:
 * dsm_store_check(), then a `from` must match and the transition must be
 * legal.  Failure is a DSM_MACHINE_ERROR naming the machine, the current
 * state and the requested state.  Reads only get dsm_store_check().
 *
 * Returns: TRUE when applying @cmd now would succeed.
 */
gboolean dsm_store_validate (const DsmStore *store, const DsmCommand *cmd,
                             DsmRejectReason *reason, const DsmMachineDef **def_out,
                             const char **to_out, GError **error);

/**
 * dsm_store_apply:
 * Applies entry @entry (the next index: exactly applied_index + 1),
 * filling @result.  Commands are validated again here, so an entry that
 * became illegal while it waited is rejected identically on every node;
 * a (client, seq) seen before repeats its first outcome without effect.
 * A CONFIG entry becomes the committed membership; a DEFINE the latest
 * version of its definition (version = the entry's index).
 *
 * Returns: FALSE, with nothing applied and @error saying why, when this
 * node cannot interpret @entry at all (a definition its validator refuses:
 * impossible when every node runs the same validator as the leader that
 * proposed it).  The caller must stop applying there, never skip
 * (PROTOCOL.md, "Entries a node cannot apply").
 */
gboolean dsm_store_apply (DsmStore *store, const DsmEntry *entry, DsmApplyResult *result,
                          GError **error);

/**
 * dsm_store_get_membership:
 * @index: (out) (optional): the CONFIG entry that set it (0: the config's)
 * Returns: (transfer none): the membership as of the applied index.
 */
DsmMembership *dsm_store_get_membership (const DsmStore *store, guint64 *index);

/* Returns: (transfer none): the definitions as of the applied index. */
const DsmDefinitions *dsm_store_get_definitions (const DsmStore *store);

/**
 * dsm_store_lookup_session:
 * If (@client_id, @seq) was applied, fills @result with its outcome
 * and returns TRUE.  Sets *@stale when @seq is older than the session
 * window remembers (its outcome is no longer known).
 */
gboolean dsm_store_lookup_session (const DsmStore *store, const char *client_id,
                                   guint64 seq, DsmApplyResult *result, gboolean *stale);

/**
 * dsm_store_read:
 * Returns: the current state of @machine (its definition's initial state
 * when never touched), or NULL when @definition names no definition or
 * differs from the instance's.  Sets *@def_out (not referenced) if non-NULL.
 */
const char *dsm_store_read (const DsmStore *store, const char *machine,
                            const char *definition, const DsmMachineDef **def_out);

/**
 * dsm_store_read_data:
 * dsm_store_read(), also giving the machine's @revision (the index of
 * the entry that last changed it; 0 when never changed) and its @data
 * (canonical JSON object text, owned by the store until the next apply;
 * NULL when empty).  Both out parameters are optional.
 */
const char *dsm_store_read_data (const DsmStore *store, const char *machine,
                                 const char *definition, const DsmMachineDef **def_out,
                                 guint64 *revision, const char **data);

guint64 dsm_store_get_applied_index (const DsmStore *store);
guint64 dsm_store_get_applied_epoch (const DsmStore *store);
guint dsm_store_get_n_machines (const DsmStore *store);

/**
 * dsm_store_foreach_range:
 * @start: position of the first instance, in creation order
 * @limit: most instances to visit
 *
 * Calls @func for the instances at positions [@start, @start + @limit) in
 * creation order: the order of the entries that first touched them, the
 * same on every node that applied them, kept by snapshots.  Instances are
 * never removed, so a position names the same instance on every node and
 * at every later time: a listing can be read page by page (HTTP
 * `GET /v1/machines?cursor=`), each page costing O(@limit).
 *
 * Returns: how many instances were visited (0 once @start is past the end).
 */
typedef void (*DsmStoreForeachFunc) (const char *machine, const DsmMachineDef *def,
                                     const char *state, guint64 index, gpointer user_data);
guint dsm_store_foreach_range (const DsmStore *store, guint start, guint limit,
                               DsmStoreForeachFunc func, gpointer user_data);

/* Returns: (transfer full): a snapshot of every instance and session at the
 * applied index, as canonical JSON: instances in creation order (which
 * follows the log on every node and survives restore), sessions in
 * recency order, so stores with the same history give equal bytes. */
GBytes *dsm_store_snapshot (const DsmStore *store);

/**
 * dsm_store_snapshot_begin:
 * Starts the snapshot dsm_store_snapshot() would return now, to be
 * written a slice at a time with dsm_store_snapshot_step() while entries
 * go on being applied (the apply path keeps what the snapshot still needs
 * of the instances it changes), then taken with
 * dsm_store_snapshot_finish().  One at a time; dsm_store_restore() needs
 * none in progress (dsm_store_snapshot_cancel()).
 */
void dsm_store_snapshot_begin (DsmStore *store);

/* Writes up to @budget more instances; TRUE once all are written. */
gboolean dsm_store_snapshot_step (DsmStore *store, guint budget);

/* Returns: (transfer full): the snapshot, byte for byte what
 * dsm_store_snapshot() returned at its begin.  Needs every step done. */
GBytes *dsm_store_snapshot_finish (DsmStore *store);

/* Drops the snapshot in progress, if any. */
void dsm_store_snapshot_cancel (DsmStore *store);
gboolean dsm_store_snapshot_in_progress (const DsmStore *store);

/**
 * dsm_store_restore:
 * Replaces the store's contents with @snapshot.  On failure (corrupt,
 * unknown definition, state not in its definition) the store is unchanged
 * and @error is a DSM_MACHINE_ERROR_CORRUPT naming the problem.
 */
gboolean dsm_store_restore (DsmStore *store, GBytes *snapshot, GError **error);

#ifdef DSM_MUTANTS
/* Planted bugs (core/node.h, DsmMutant): @forget_sessions applies a
 * retried (client, seq) again rather than answer it from its session;
 * @restore_keeps_states makes dsm_store_restore() keep the state each
 * machine had here before, where the snapshot has it too. */
void dsm_store_set_mutants (DsmStore *store, gboolean forget_sessions, gboolean restore_keeps_states);
/* More planted bugs: @ignore_if_revision applies a compare-and-set on
 * the revision whatever the revision is when it applies (it was only
 * checked when submitted); @merge_drops_keys makes a payload replace the
 * machine's data rather than merge into it. */
void dsm_store_set_payload_mutants (DsmStore *store, gboolean ignore_if_revision, gboolean merge_drops_keys);
#endif

/* A 64-bit digest of the store's contents, for cross-node comparison. */
guint64 dsm_store_digest (const DsmStore *store);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmStore, dsm_store_free)

G_END_DECLS
