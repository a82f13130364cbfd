/* check/names.h: interned names (machines, states, definitions, client
 * ids) for the records a long run keeps by the ten thousand: one copy of
 * each name, and a small integer for it where a pointer is too wide. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _DsmNames DsmNames;

/* Returns: (transfer full): an empty table. */
DsmNames *dsm_names_new (void);
/* Frees every name it handed out: free what points into it first.  NULL
 * is ignored. */
void dsm_names_free (DsmNames *names);

/**
 * dsm_names_id:
 * Returns: @name's number in @names, adding it when new: 0 for NULL, then
 * 1, 2, ... in the order names were first seen (so a run numbers its
 * names the same way every time).
 */
guint32 dsm_names_id (DsmNames *names, const char *name);

/* Returns: @name's number, 0 when @names does not hold it (or @name is
 * NULL); adds nothing. */
guint32 dsm_names_find (const DsmNames *names, const char *name);

/* Returns: (transfer none): the name numbered @id (NULL for 0); valid
 * until dsm_names_free().  @id must come from dsm_names_id(). */
const char *dsm_names_get (const DsmNames *names, guint32 id);

/* Returns: the number of @interned, a pointer @names handed out
 * (dsm_names_get(), dsm_names_intern()), without a lookup: 0 for NULL.
 * Any other pointer is a bug. */
guint32 dsm_names_id_of (const DsmNames *names, const char *interned);

/* Returns: (transfer none): @names' one copy of @name (NULL for NULL),
 * equal to it, valid until dsm_names_free(): two interned names are
 * equal exactly when they are the same pointer. */
const char *dsm_names_intern (DsmNames *names, const char *name);

/* Names held. */
guint dsm_names_get_n (const DsmNames *names);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmNames, dsm_names_free)

G_END_DECLS
