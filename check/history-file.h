/* check/history-file.h: a whole history file as docs/HISTORY.md defines
 * it: an optional header naming the machine definitions, one line per
 * client operation, and optional lines giving nodes' final states.
 * Written by both backends, read by dsm-check. */
#pragma once

#include <glib.h>

#include "config.h"
#include "check/history.h"

G_BEGIN_DECLS

/* The header's format version. */
#define DSM_HISTORY_FORMAT 1

/* A file's lines are bounded before they are parsed. */
#define DSM_HISTORY_LINE_BYTES_MAX (1024 * 1024)

/**
 * DsmHistoryFinal:
 * One node's machines at the end of the run: what a listing of its store
 * showed.  @node is the file's name for it (a node id as text, or any
 * name a recording system uses).
 */
typedef struct {
  char *node;
  GHashTable *machines;     /* machine -> state, both owned */
  guint line;
} DsmHistoryFinal;

typedef struct {
  DsmConfig *config;        /* the definitions the ops are judged by */
  gboolean header_definitions; /* they came from the file's header */
  GPtrArray *ops;           /* (element-type DsmHistoryOp) in file order */
  GPtrArray *finals;        /* (element-type DsmHistoryFinal) */
} DsmHistoryFile;

/**
 * dsm_history_file_read:
 * @text: the file; not necessarily NUL-terminated
 * @base: (nullable): definitions to use when the header names none
 *   (referenced); NULL: the built-in lifecycle only
 *
 * Line 1 may be the header {"dsm_history":1,"definitions":[...],
 * "default_definition":"..."}; every other line is an operation (what
 * dsm_history_op_write_json() writes) or a final state
 * {"final":{"node":"1","machines":{"m0":"Running"}}}.  Strict, like
 * dsm_history_read(): unknown keys, wrong types, blank lines, a header
 * past line 1, a node given twice, ids used twice are errors.
 *
 * Returns: (transfer full): the file, or NULL with a DSM_HISTORY_ERROR
 * whose message starts with "line N: ".
 */
DsmHistoryFile *dsm_history_file_read (const char *text, gsize length, DsmConfig *base,
                                       GError **error);
void dsm_history_file_free (DsmHistoryFile *file);

/* Appends the header line (with a newline): @config's definitions other
 * than the built-in one, and its default. */
void dsm_history_write_header (GString *out, const DsmConfig *config);

/* Appends one final line (with a newline); @machines maps machine -> state
 * and is written in name order. */
void dsm_history_write_final (GString *out, const char *node, GHashTable *machines);

/**
 * dsm_history_finals_agree:
 * @why: (out) (transfer full): on disagreement, the first machine two
 *   nodes differ on, naming both nodes and states
 * Returns: TRUE when every final line lists the same machines in the
 * same states (fewer than two lines agree trivially).
 */
gboolean dsm_history_finals_agree (GPtrArray *finals, char **why);

/**
 * dsm_history_final_reads:
 * Read operations that observe each machine of @final in its state after
 * every op of @ops has ended (invoked one millisecond after the latest
 * time of @ops, ids past the largest): a final state must be one the
 * history can end in, which the linearizability checker then decides.
 * Only machines that @ops touch get one: a machine the history never
 * names was written by someone the history does not show.
 *
 * Returns: (transfer full) (element-type DsmHistoryOp)
 */
GPtrArray *dsm_history_final_reads (GPtrArray *ops, const DsmHistoryFinal *final);

/**
 * dsm_history_final_untouched:
 * Returns: the first machine of @final, in name order, that no op of @ops
 * names; NULL when there is none.  Where @ops hold every operation since
 * the cluster was empty (dsm-real's runs), such a machine was invented:
 * validity (CHECKERS.md) fails.  Owned by @final.
 */
const char *dsm_history_final_untouched (GPtrArray *ops, const DsmHistoryFinal *final);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmHistoryFile, dsm_history_file_free)

G_END_DECLS
