/* check/history-pack.h: a long client history kept compactly.  The
 * simulator records tens of thousands of operations per run over a few
 * hundred names; a DsmHistoryOp of its own (160 bytes and an allocation)
 * for each was the largest single holder of its memory.  Here an op in
 * flight is a whole DsmHistoryOp; once its record can no longer change it
 * is sealed into a 48-byte record (names as DsmNames ids, no allocation of
 * its own), and read back as a DsmHistoryOp on demand, one at a time. */
#pragma once

#include <glib.h>

#include "check/history.h"
#include "check/names.h"

G_BEGIN_DECLS

typedef struct _DsmHistoryPack DsmHistoryPack;

/* Returns: (transfer full): an empty history whose ops' names are
 * interned in @names, which must outlive it. */
DsmHistoryPack *dsm_history_pack_new (DsmNames *names);
/* Frees every record and every op still in flight.  NULL is ignored. */
void dsm_history_pack_free (DsmHistoryPack *pack);

/**
 * dsm_history_pack_add:
 * @op: (transfer full): an op whose names are interned in the pack's
 *   DsmNames (@names_interned), numbered one past the last (@id =
 *   dsm_history_pack_get_len() + 1)
 *
 * Appends @op in flight: the caller may still change it (through the
 * pointer it keeps) until dsm_history_pack_seal().
 */
void dsm_history_pack_add (DsmHistoryPack *pack, DsmHistoryOp *op);

/**
 * dsm_history_pack_seal:
 * The op numbered @id will not change again: it is packed and freed (the
 * caller's pointer to it dangles from here on).  Sealing is optional: an
 * op never sealed is kept whole.
 */
void dsm_history_pack_seal (DsmHistoryPack *pack, guint64 id);

/* Returns: the number of ops added. */
guint dsm_history_pack_get_len (const DsmHistoryPack *pack);

/**
 * dsm_history_pack_get:
 * @i: 0 .. len - 1: the op numbered @i + 1
 * @scratch: (out caller-allocates): filled when the op is sealed
 *
 * Returns: (transfer none): the op in flight, or @scratch holding the
 * sealed op, equal field by field to what was sealed; its strings are
 * borrowed from the pack and its names (@names_interned is set): valid
 * until the pack is freed, and never to be freed with
 * dsm_history_op_free().
 */
const DsmHistoryOp *dsm_history_pack_get (const DsmHistoryPack *pack, guint i, DsmHistoryOp *scratch);

/* Returns: the names id of the machine of the op numbered @i + 1, without
 * unpacking it. */
guint32 dsm_history_pack_get_machine (const DsmHistoryPack *pack, guint i);

/* Bytes the records take (not counting the names, the ops in flight and
 * the few texts kept beside the records). */
gsize dsm_history_pack_get_record_bytes (const DsmHistoryPack *pack);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmHistoryPack, dsm_history_pack_free)

G_END_DECLS
