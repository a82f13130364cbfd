/* check/history.h: the client history of a simulated run: one record per
 * client operation, from invocation to completion in virtual time.  The
 * linearizability checker reads it; `dsm-sim run --history` writes it as
 * JSON lines. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "check/names.h"
#include "entry.h"
#include "json.h"
#include "types.h"

G_BEGIN_DECLS

/* A history file that does not read back: every message starts with the
 * line ("line 3: complete_ms: ..."). */
#define DSM_HISTORY_ERROR (dsm_history_error_quark ())
GQuark dsm_history_error_quark (void);

typedef enum {
  DSM_HISTORY_ERROR_PARSE,    /* a line is not one JSON object */
  DSM_HISTORY_ERROR_MISSING,  /* a required key is absent */
  DSM_HISTORY_ERROR_TYPE,     /* wrong JSON type, or a number out of range */
  DSM_HISTORY_ERROR_INVALID,  /* inconsistent (pending with a state, duplicate id...) */
  DSM_HISTORY_ERROR_UNKNOWN,  /* a key or value the format does not have */
} DsmHistoryError;

/* The JSON layer's errors (core/json.h) as DSM_HISTORY_ERRORs. */
extern const DsmJsonErrors dsm_history_json_errors;

/**
 * DsmHistoryOp:
 * One logical client operation.  A client that retries an "unknown"
 * outcome with the same (client id, seq) is still one operation: invoked
 * at its first send, completed by its final reply.
 *
 * @completed is FALSE for an operation never answered (its client gave up
 * or the run ended); like DSM_REPLY_UNKNOWN, it may or may not have taken
 * effect.  @state is what the reply reported: the state after an OK
 * transition, the current state for a transition rejected as
 * INVALID_TRANSITION, the value of a read.  @reason is DSM_REJECT_NONE
 * unless the reply gave one (always for REJECTED; UNKNOWN may carry
 * STALE_REQUEST).  @index is the log index the reply named (0: none).
 * A command to a machine plugin (docs/PLUGINS.md) requests its operation
 * name in @requested and carries @payload; an ok reply's @output is the
 * plugin's result (NULL: not recorded, checks nothing).  A transition of
 * a built-in definition may carry a @payload too (merged into the
 * machine's data) and a compare-and-set on the revision (@if_revision);
 * a reply may name the machine's @revision, and an ok read its @data
 * (docs/HISTORY.md).
 * Every string is owned by the op, except when @names_interned is set:
 * then @client_id, @machine, @definition, @from, @requested and @state
 * point into a DsmNames table (check/names.h) that outlives the op (the
 * simulator's history: a long run records tens of thousands of ops over
 * a few hundred names), and only the other strings are freed with it.
 * The fields are ordered so the struct has no padding.
 */
typedef struct {
  guint64 id;
  guint client;
  DsmOp op;
  char *client_id;          /* nullable */
  guint64 seq;
  char *machine;
  char *definition;         /* nullable: the config's default */
  char *from;               /* nullable: compare-and-set */
  char *requested;          /* transitions: the requested state; NULL for reads */
  gboolean completed;
  DsmReplyStatus status;    /* meaningful when completed */
  DsmRejectReason reason;
  gboolean has_if_revision; /* transitions: compare-and-set on the revision */
  char *state;              /* nullable */
  char *payload;            /* nullable: a plugin command's payload, JSON object text */
  char *output;             /* nullable: what a plugin's apply answered an ok command, JSON text */
  guint64 if_revision;
  gboolean has_revision;    /* the reply named the machine's revision (completed ops only) */
  gboolean names_interned;  /* the names are borrowed from a DsmNames (see above) */
  guint64 revision;         /* after an ok transition; current for a read or an invalid_transition */
  char *data;               /* nullable: an ok read's data, a JSON object's text ("{}": empty) */
  guint64 index;
  guint64 invoke_ms;
  guint64 complete_ms;      /* meaningful when completed */
} DsmHistoryOp;

/* Longest payload or output a history op carries, in bytes. */
#define DSM_HISTORY_TEXT_MAX (16 * 1024)

/* Returns: (transfer full): an op with every field zero / NULL. */
DsmHistoryOp *dsm_history_op_new (void);
/* Returns: (transfer full): the op a client starts when it sends @cmd
 * (copied) at @invoke_ms: not completed yet. */
DsmHistoryOp *dsm_history_op_new_invoked (guint64 id, guint client, const DsmCommand *cmd,
                                          guint64 invoke_ms);
/* Returns: (transfer full): the same op with its names interned in
 * @names (dsm_names_intern()), which must outlive it: @names_interned is
 * set.  @cmd's payload is copied. */
DsmHistoryOp *dsm_history_op_new_interned (guint64 id, guint client, const DsmCommand *cmd,
                                           guint64 invoke_ms, DsmNames *names);
/* Returns: (transfer full): a deep copy of @op, owning all its strings
 * (@names_interned is not set). */
DsmHistoryOp *dsm_history_op_copy (const DsmHistoryOp *op);
void dsm_history_op_free (DsmHistoryOp *op);  /* NULL is ignored */

/**
 * dsm_history_op_write_json:
 * Appends @op as one JSON object, no newline, keys in this order:
 *
 *   {"id":7,"client":2,"client_id":"c2","seq":3,"op":"transition",
 *    "machine":"m1","definition":"door","from":"Init","requested":"Running",
 *    "result":"rejected","reason":"invalid_transition","state":"Stopped",
 *    "payload":"{}","if_revision":4,"output":"{}","revision":9,"data":"{}",
 *    "index":0,"invoke_ms":120,"complete_ms":180}
 *
 * "result" is "ok", "rejected", "unknown" or "pending" (not completed).
 * Nullable strings are left out when NULL, as are "requested" for reads,
 * "reason" when DSM_REJECT_NONE, "if_revision" and "revision" when not
 * set, and "index" and "complete_ms" for a pending op.  "payload",
 * "output" and "data" are JSON texts as strings, at most
 * DSM_HISTORY_TEXT_MAX bytes each.  @op must be well formed (what dsm_history_read() accepts):
 * anything else is a bug.
 */
void dsm_history_op_write_json (GString *out, const DsmHistoryOp *op);

/**
 * dsm_history_read:
 * @text: JSON lines as dsm_history_op_write_json() writes them, one op per
 *   line; not necessarily NUL-terminated; a final newline is optional
 * @length: bytes in @text
 *
 * Strict: unknown keys, missing or mistyped keys, numbers past 2^53,
 * names dsm_command_check_name() refuses, "requested" on a read or
 * missing on a transition, "complete_ms" before "invoke_ms" or on a
 * pending op, a pending op with a state, reason or index, a rejection
 * without a reason, blank lines and ids used twice are all a
 * DSM_HISTORY_ERROR whose message names the line and the field.
 *
 * Returns: (transfer full) (element-type DsmHistoryOp): the ops in file
 * order, or NULL with @error set.
 */
GPtrArray *dsm_history_read (const char *text, gsize length, GError **error);

/**
 * dsm_history_op_from_json:
 * @root: one parsed line
 * @line: its line number, for messages
 *
 * Reads one op line as dsm_history_read() does, with the same checks
 * (except ids used twice, which need the whole file).
 *
 * Returns: (transfer full): the op, or NULL with a DSM_HISTORY_ERROR
 * naming @line and the field.
 */
DsmHistoryOp *dsm_history_op_from_json (JsonNode *root, guint line, GError **error);

/**
 * dsm_history_op_describe:
 * Appends @op as explanations show it: "op 7 (client 2 \"c2\" seq 3,
 * 120-180 ms): transition to Running from Init -> ok, state Running".
 */
void dsm_history_op_describe (GString *out, const DsmHistoryOp *op);

/**
 * dsm_history_longest_unavailable:
 * @ops: (element-type DsmHistoryOp)
 * Returns: the longest stretch of [@from_ms, @to_ms] in which no
 * operation completed "ok": the time clients went without a successful
 * answer, the same measure for both backends' histories.
 */
guint64 dsm_history_longest_unavailable (GPtrArray *ops, guint64 from_ms, guint64 to_ms);

/* The same, from the completion times of the ops answered "ok" (@times:
 * guint64 in any order, any range; sorted in place). */
guint64 dsm_history_longest_unavailable_times (GArray *times, guint64 from_ms, guint64 to_ms);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmHistoryOp, dsm_history_op_free)

G_END_DECLS
