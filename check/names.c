/* check/names.c: the intern table of names.h: the strings live in one
 * GStringChunk (no allocation per name), each after its id (four bytes,
 * so an interned pointer tells its id without a lookup), and the store's
 * name table (core/name-table.h: one hash of the name, one slot read per
 * lookup) finds a name's id. */
#include "check/names.h"

#include <string.h>

#include "name-table.h"

struct _DsmNames {
  GStringChunk *chunk;   /* the names' bytes */
  DsmNameTable *ids;     /* name (in chunk) -> GUINT_TO_POINTER (id) */
  GPtrArray *by_id;      /* id -> name (in chunk); [0] is NULL */
};

DsmNames *
dsm_names_new (void)
{
  DsmNames *names = g_new0 (DsmNames, 1);

  names->chunk = g_string_chunk_new (4096);
  names->ids = dsm_name_table_new (NULL);
  names->by_id = g_ptr_array_new ();
  g_ptr_array_add (names->by_id, NULL);
  return names;
}

void
dsm_names_free (DsmNames *names)
{
  if (names == NULL)
    return;
  dsm_name_table_free (names->ids);
  g_ptr_array_unref (names->by_id);
  g_string_chunk_free (names->chunk);
  g_free (names);
}

guint32
dsm_names_id (DsmNames *names, const char *name)
{
  gpointer id;

  if (name == NULL)
    return 0;
  id = dsm_name_table_lookup (names->ids, name);
  if (id != NULL)
    return GPOINTER_TO_UINT (id);
  /* Ids are dense and never reused: a table of 2^32 names is a bug. */
  g_assert (names->by_id->len < G_MAXUINT32);
  guint32 fresh = names->by_id->len;
  gsize len = strlen (name);
  g_autofree char *prefixed = g_malloc (sizeof fresh + len);
  memcpy (prefixed, &fresh, sizeof fresh);
  memcpy (prefixed + sizeof fresh, name, len);
  char *copy = g_string_chunk_insert_len (names->chunk, prefixed, (gssize) (sizeof fresh + len)) + sizeof fresh;
  g_ptr_array_add (names->by_id, copy);
  dsm_name_table_insert (names->ids, copy, GUINT_TO_POINTER (fresh));
  g_assert (fresh != 0);
  return fresh;
}

guint32
dsm_names_find (const DsmNames *names, const char *name)
{
  return name != NULL ? GPOINTER_TO_UINT (dsm_name_table_lookup (names->ids, name)) : 0;
}

const char *
dsm_names_get (const DsmNames *names, guint32 id)
{
  g_assert (id < names->by_id->len);
  return names->by_id->pdata[id];
}

guint32
dsm_names_id_of (const DsmNames *names, const char *interned)
{
  guint32 id;

  if (interned == NULL)
    return 0;
  memcpy (&id, interned - sizeof id, sizeof id);
  /* Only a pointer this table handed out has its id before it. */
  g_assert (id != 0 && id < names->by_id->len && names->by_id->pdata[id] == interned);
  return id;
}

const char *
dsm_names_intern (DsmNames *names, const char *name)
{
  return dsm_names_get (names, dsm_names_id (names, name));
}

guint
dsm_names_get_n (const DsmNames *names)
{
  return names->by_id->len - 1;
}
