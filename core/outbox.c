/* core/outbox.c: the records a node hands its host after each input
 * (see outbox.h for the host's contract). */
#include "outbox.h"

#include <string.h>

static const char *const persist_names[] = {
  [DSM_PERSIST_HARD_STATE] = "hard_state",
  [DSM_PERSIST_ENTRIES] = "entries",
  [DSM_PERSIST_SNAPSHOT] = "snapshot",
};

const char *
dsm_persist_kind_to_string (DsmPersistKind kind)
{
  g_return_val_if_fail ((guint) kind < G_N_ELEMENTS (persist_names), "?");
  return persist_names[kind];
}

void
dsm_persist_free (DsmPersist *persist)
{
  if (persist == NULL)
    return;
  g_clear_pointer (&persist->entries, g_ptr_array_unref);
  g_clear_pointer (&persist->snapshot, g_bytes_unref);
  g_free (persist);
}

/* The strings a reply holds: dsm_client_reply_new() packs them after it. */
static const gsize reply_strings[] = {
  G_STRUCT_OFFSET (DsmClientReply, machine), G_STRUCT_OFFSET (DsmClientReply, state),
  G_STRUCT_OFFSET (DsmClientReply, requested), G_STRUCT_OFFSET (DsmClientReply, detail),
  G_STRUCT_OFFSET (DsmClientReply, data),
};

static inline char **
reply_string (DsmClientReply *reply, guint i)
{
  g_assert (i < G_N_ELEMENTS (reply_strings));
  return (char **) (gpointer) ((char *) reply + reply_strings[i]);
}

DsmClientReply *
dsm_client_reply_new (const DsmClientReply *fields)
{
  DsmClientReply *reply;
  gsize size = 0;
  char *cursor;

  g_return_val_if_fail (fields != NULL, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (reply_strings); i++)
    {
      const char *s = *reply_string ((DsmClientReply *) fields, i);
      size += s != NULL ? strlen (s) + 1 : 0;
    }
  reply = g_malloc (sizeof (DsmClientReply) + size);
  *reply = *fields;
  cursor = (char *) (reply + 1);
  for (guint i = 0; i < G_N_ELEMENTS (reply_strings); i++)
    {
      char **s = reply_string (reply, i);
      if (*s == NULL)
        continue;
      gsize n = strlen (*s) + 1;
      *s = memcpy (cursor, *s, n);
      cursor += n;
    }
  g_assert (cursor == (char *) (reply + 1) + size);
  return reply;
}

void
dsm_client_reply_free (DsmClientReply *reply)
{
  /* The strings go with it (dsm_client_reply_new()). */
  g_free (reply);
}

void
dsm_applied_free (DsmApplied *applied)
{
  if (applied == NULL)
    return;
  g_clear_pointer (&applied->entry, dsm_entry_unref);
  dsm_apply_result_clear (&applied->result);
  g_free (applied);
}

void
dsm_outbox_init (DsmOutbox *out)
{
  out->persists = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_persist_free);
  out->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_message_unref);
  out->replies = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_client_reply_free);
  out->applies = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_applied_free);
  out->events = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_event_free);
}

void
dsm_outbox_clear (DsmOutbox *out)
{
  g_clear_pointer (&out->persists, g_ptr_array_unref);
  g_clear_pointer (&out->messages, g_ptr_array_unref);
  g_clear_pointer (&out->replies, g_ptr_array_unref);
  g_clear_pointer (&out->applies, g_ptr_array_unref);
  g_clear_pointer (&out->events, g_ptr_array_unref);
}

void
dsm_outbox_reset (DsmOutbox *out)
{
  g_ptr_array_set_size (out->persists, 0);
  g_ptr_array_set_size (out->messages, 0);
  g_ptr_array_set_size (out->replies, 0);
  g_ptr_array_set_size (out->applies, 0);
  g_ptr_array_set_size (out->events, 0);
}

gboolean
dsm_outbox_is_empty (const DsmOutbox *out)
{
  return out->persists->len == 0 && out->messages->len == 0 && out->replies->len == 0
         && out->applies->len == 0 && out->events->len == 0;
}
