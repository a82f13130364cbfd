/* core/entry.c: client commands (copy, compare, shape check) and the
 * immutable, reference-counted log entries that carry them. */
#include "entry.h"

#include <string.h>

#include "error.h"
#include "membership.h"

static const char *const op_names[DSM_OP_N_OPS] = {
  [DSM_OP_TRANSITION] = "transition",
  [DSM_OP_READ] = "read",
  [DSM_OP_DEFINE] = "define",
  [DSM_OP_ADD_MEMBER] = "add_member",
  [DSM_OP_REMOVE_MEMBER] = "remove_member",
  [DSM_OP_PROMOTE_MEMBER] = "promote_member",
};

const char *
dsm_op_to_string (DsmOp op)
{
  g_return_val_if_fail ((guint) op < G_N_ELEMENTS (op_names), "?");
  return op_names[op];
}

gboolean
dsm_op_from_string (const char *text, DsmOp *out)
{
  g_return_val_if_fail (text != NULL, FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (op_names); i++)
    if (strcmp (text, op_names[i]) == 0)
      {
        *out = (DsmOp) i;
        return TRUE;
      }
  return FALSE;
}

gboolean
dsm_op_is_membership (DsmOp op)
{
  return op == DSM_OP_ADD_MEMBER || op == DSM_OP_REMOVE_MEMBER || op == DSM_OP_PROMOTE_MEMBER;
}

static const char *const kind_names[DSM_ENTRY_N_KINDS] = {
  [DSM_ENTRY_NOOP] = "noop",
  [DSM_ENTRY_COMMAND] = "command",
  [DSM_ENTRY_CONFIG] = "config",
};

const char *
dsm_entry_kind_to_string (DsmEntryKind kind)
{
  g_return_val_if_fail ((guint) kind < DSM_ENTRY_N_KINDS, "?");
  return kind_names[kind];
}

/* Every string field of a DsmCommand: copying, clearing and packing one
 * (dsm_entry_new()) walk this list, so a new field is added here once. */
static const gsize command_strings[] = {
  G_STRUCT_OFFSET (DsmCommand, client_id),      G_STRUCT_OFFSET (DsmCommand, machine),
  G_STRUCT_OFFSET (DsmCommand, definition),     G_STRUCT_OFFSET (DsmCommand, from),
  G_STRUCT_OFFSET (DsmCommand, to),             G_STRUCT_OFFSET (DsmCommand, spec),
  G_STRUCT_OFFSET (DsmCommand, peer_address),   G_STRUCT_OFFSET (DsmCommand, client_address),
  G_STRUCT_OFFSET (DsmCommand, native_address), G_STRUCT_OFFSET (DsmCommand, payload),
};

/* The @i-th string field of @cmd (command_strings). */
static inline char **
command_string (DsmCommand *cmd, guint i)
{
  g_assert (i < G_N_ELEMENTS (command_strings));
  return (char **) (gpointer) ((char *) cmd + command_strings[i]);
}

void
dsm_command_init_copy (DsmCommand *dest, const DsmCommand *src)
{
  g_return_if_fail (dest != NULL);
  g_return_if_fail (src != NULL);

  *dest = *src;
  for (guint i = 0; i < G_N_ELEMENTS (command_strings); i++)
    *command_string (dest, i) = g_strdup (*command_string (dest, i));
}

void
dsm_command_clear (DsmCommand *cmd)
{
  if (cmd == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (command_strings); i++)
    g_free (*command_string (cmd, i));
  memset (cmd, 0, sizeof *cmd);
}

gsize
dsm_command_strings_size (const DsmCommand *cmd)
{
  gsize size = 0;

  g_return_val_if_fail (cmd != NULL, 0);
  for (guint i = 0; i < G_N_ELEMENTS (command_strings); i++)
    {
      const char *field = *command_string ((DsmCommand *) cmd, i);
      size += field != NULL ? strlen (field) + 1 : 0;
    }
  return size;
}

void
dsm_command_init_packed (DsmCommand *dest, const DsmCommand *src, char *strings, gsize size)
{
  char *cursor = strings;

  g_return_if_fail (dest != NULL);
  g_return_if_fail (src != NULL);

  *dest = *src;
  for (guint i = 0; i < G_N_ELEMENTS (command_strings); i++)
    {
      char **field = command_string (dest, i);
      if (*field == NULL)
        continue;
      gsize n = strlen (*field) + 1;
      g_assert (n <= size - (gsize) (cursor - strings));
      *field = memcpy (cursor, *field, n);
      cursor += n;
    }
  g_assert (cursor == strings + size);
}

gboolean
dsm_command_is_empty (const DsmCommand *cmd)
{
  return cmd->op == 0 && cmd->client_id == NULL && cmd->seq == 0 && cmd->machine == NULL
         && cmd->definition == NULL && cmd->from == NULL && cmd->to == NULL && cmd->spec == NULL
         && cmd->node == DSM_NODE_NONE && cmd->peer_address == NULL && cmd->client_address == NULL
         && cmd->native_address == NULL
         && cmd->payload == NULL && !cmd->has_if_revision && cmd->if_revision == 0;
}

gboolean
dsm_command_equal (const DsmCommand *a, const DsmCommand *b)
{
  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);

  return a->op == b->op
         && a->seq == b->seq
         && g_strcmp0 (a->client_id, b->client_id) == 0
         && g_strcmp0 (a->machine, b->machine) == 0
         && g_strcmp0 (a->definition, b->definition) == 0
         && g_strcmp0 (a->from, b->from) == 0
         && g_strcmp0 (a->to, b->to) == 0
         && g_strcmp0 (a->spec, b->spec) == 0
         && a->node == b->node
         && g_strcmp0 (a->peer_address, b->peer_address) == 0
         && g_strcmp0 (a->client_address, b->client_address) == 0
         && g_strcmp0 (a->native_address, b->native_address) == 0
         && g_strcmp0 (a->payload, b->payload) == 0
         && a->has_if_revision == b->has_if_revision
         && a->if_revision == b->if_revision;
}

/* A name is what a person types and a log line prints: non-empty, short,
 * UTF-8, and free of control characters (Unicode's Cc: C0, DEL and C1)
 * that would corrupt a terminal, a trace line or a metric label.  Checked
 * on every encode and decode, so ASCII takes a one-pass fast path. */
gboolean
dsm_command_check_name (const char *field, const char *name, GError **error)
{
  gsize length;
  const char *end = NULL;
  guchar high = 0;

  g_return_val_if_fail (field != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  length = strlen (name);
  if (length == 0)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "%s: empty name", field);
      return FALSE;
    }
  if (length > DSM_NAME_MAX)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "%s: name of %" G_GSIZE_FORMAT " bytes, longer than %d",
                   field, length, DSM_NAME_MAX);
      return FALSE;
    }
  for (gsize i = 0; i < length; i++)
    {
      guchar c = (guchar) name[i];

      if (c < 0x20 || c == 0x7f)
        {
          g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                       "%s: control character U+%04X at byte %" G_GSIZE_FORMAT,
                       field, (guint) c, i);
          return FALSE;
        }
      high |= c & 0x80;
    }
  if (high == 0)
    return TRUE;

  if (!g_utf8_validate (name, (gssize) length, &end))
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "%s: not valid UTF-8 at byte %" G_GSIZE_FORMAT,
                   field, (gsize) (end - name));
      return FALSE;
    }
  /* In valid UTF-8, C1 controls U+0080..U+009F are exactly 0xC2 0x80..0x9F. */
  for (gsize i = 0; i + 1 < length; i++)
    if ((guchar) name[i] == 0xc2 && (guchar) name[i + 1] >= 0x80 && (guchar) name[i + 1] <= 0x9f)
      {
        g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                     "%s: control character U+%04X at byte %" G_GSIZE_FORMAT,
                     field, (guint) (guchar) name[i + 1], i);
        return FALSE;
      }
  return TRUE;
}

gboolean
dsm_command_check_machine_name (const char *field, const char *name, GError **error)
{
  g_return_val_if_fail (field != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "%s: \"%s\" is not a machine name (\".\" and \"..\" are path segments in URLs)", field, name);
      return FALSE;
    }
  return dsm_command_check_name (field, name, error);
}

static gboolean
command_check_optional_name (const char *field, const char *name, GError **error)
{
  return name == NULL || dsm_command_check_name (field, name, error);
}

/* A field the op does not use must be left unset. */
static gboolean
command_check_unused (const DsmCommand *cmd, GError **error)
{
  const char *field = NULL;
  gboolean machine_op = cmd->op == DSM_OP_TRANSITION || cmd->op == DSM_OP_READ;

  if (!machine_op && cmd->machine != NULL)
    field = "machine";
  else if (cmd->op != DSM_OP_TRANSITION && cmd->to != NULL)
    field = "to";
  else if (!machine_op && cmd->from != NULL)
    field = "from";
  else if (!machine_op && cmd->op != DSM_OP_DEFINE && cmd->definition != NULL)
    field = "definition";
  else if (cmd->op != DSM_OP_DEFINE && cmd->spec != NULL)
    field = "spec";
  else if (!dsm_op_is_membership (cmd->op) && cmd->node != DSM_NODE_NONE)
    field = "node";
  else if (cmd->op != DSM_OP_ADD_MEMBER && cmd->peer_address != NULL)
    field = "peer_address";
  else if (cmd->op != DSM_OP_ADD_MEMBER && cmd->client_address != NULL)
    field = "client_address";
  else if (cmd->op != DSM_OP_ADD_MEMBER && cmd->native_address != NULL)
    field = "native_address";
  else if (cmd->op != DSM_OP_TRANSITION && cmd->payload != NULL)
    field = "payload";
  else if (cmd->op != DSM_OP_TRANSITION && (cmd->has_if_revision || cmd->if_revision != 0))
    field = "if_revision";
  if (field == NULL)
    return TRUE;
  g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
               "%s: not allowed in a %s command", field, dsm_op_to_string (cmd->op));
  return FALSE;
}

/* A payload is judged by the store against the machine's definition
 * (dsm_store_validate(), on the leader and again when applied); here only
 * what lets it travel: an object's text, bounded, UTF-8. */
static gboolean
command_check_payload (const char *payload, GError **error)
{
  gsize length = strlen (payload);

  if (length < 2 || length > DSM_PAYLOAD_BYTES_MAX)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "payload: %" G_GSIZE_FORMAT " bytes, expected 2 to %d", length,
                   DSM_PAYLOAD_BYTES_MAX);
      return FALSE;
    }
  if (payload[0] != '{')
    {
      g_set_error_literal (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                           "payload: expected a JSON object");
      return FALSE;
    }
  if (!g_utf8_validate (payload, (gssize) length, NULL))
    {
      g_set_error_literal (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                           "payload: not valid UTF-8");
      return FALSE;
    }
  return TRUE;
}

static gboolean
command_check_machine_op (const DsmCommand *cmd, GError **error)
{
  if (cmd->machine == NULL)
    {
      g_set_error_literal (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                           "machine: missing");
      return FALSE;
    }
  if (!dsm_command_check_machine_name ("machine", cmd->machine, error)
      || !command_check_optional_name ("definition", cmd->definition, error)
      || !command_check_optional_name ("from", cmd->from, error))
    return FALSE;
  if (cmd->op == DSM_OP_TRANSITION)
    {
      if (cmd->to == NULL)
        {
          g_set_error_literal (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                               "to: missing, a transition needs a target state");
          return FALSE;
        }
      if (!dsm_command_check_name ("to", cmd->to, error))
        return FALSE;
    }
  if (!cmd->has_if_revision && cmd->if_revision != 0)
    {
      g_set_error_literal (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                           "if_revision: set without has_if_revision");
      return FALSE;
    }
  return cmd->payload == NULL || command_check_payload (cmd->payload, error);
}

/* The definition's text is judged by the machine validator when the
 * leader proposes it (and again when applied); here only its size and
 * encoding, so that it always travels. */
static gboolean
command_check_define (const DsmCommand *cmd, GError **error)
{
  if (cmd->definition == NULL || cmd->spec == NULL)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID, "%s: missing, a define needs it",
                   cmd->definition == NULL ? "definition" : "spec");
      return FALSE;
    }
  if (!dsm_command_check_name ("definition", cmd->definition, error))
    return FALSE;
  gsize length = strlen (cmd->spec);
  if (length == 0 || length > DSM_SPEC_BYTES_MAX)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "spec: %" G_GSIZE_FORMAT " bytes, expected 1 to %d", length, DSM_SPEC_BYTES_MAX);
      return FALSE;
    }
  if (!g_utf8_validate (cmd->spec, (gssize) length, NULL))
    {
      g_set_error_literal (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID, "spec: not valid UTF-8");
      return FALSE;
    }
  return TRUE;
}

gboolean
dsm_command_check (const DsmCommand *cmd, GError **error)
{
  g_return_val_if_fail (cmd != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if ((guint) cmd->op >= G_N_ELEMENTS (op_names))
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "op: unknown op %d", (int) cmd->op);
      return FALSE;
    }
  if (!command_check_unused (cmd, error)
      || !command_check_optional_name ("client_id", cmd->client_id, error))
    return FALSE;

  switch (cmd->op)
    {
    case DSM_OP_TRANSITION:
    case DSM_OP_READ:
      if (!command_check_machine_op (cmd, error))
        return FALSE;
      break;
    case DSM_OP_DEFINE:
      if (!command_check_define (cmd, error))
        return FALSE;
      break;
    case DSM_OP_ADD_MEMBER:
    case DSM_OP_REMOVE_MEMBER:
    case DSM_OP_PROMOTE_MEMBER:
      if (!dsm_membership_check_command (cmd, error))
        return FALSE;
      break;
    case DSM_OP_N_OPS:
    default:
      g_assert_not_reached ();
    }

  /* Sessions number commands from 1 (PROTOCOL.md, "Client sessions"); a
   * seq without a client id means nothing and would not survive the wire. */
  if (cmd->client_id != NULL && cmd->seq == 0)
    {
      g_set_error_literal (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                           "seq: must be at least 1 with a client_id");
      return FALSE;
    }
  if (cmd->client_id == NULL && cmd->seq != 0)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "seq: %" G_GUINT64_FORMAT " given without a client_id", cmd->seq);
      return FALSE;
    }
  return TRUE;
}

static gsize
string_size_bytes (const char *text)
{
  /* "key":"text", plus a little for escapes. */
  return text == NULL ? 0 : strlen (text) + 16;
}

static gsize
entry_compute_size (const DsmEntry *entry)
{
  const DsmCommand *cmd;
  gsize size;

  /* {"index":N,"epoch":N,"kind":"noop"} with room for 13-digit numbers. */
  size = 64;
  if (entry->kind == DSM_ENTRY_NOOP)
    return size;

  cmd = &entry->cmd;
  size += 24; /* ,"op":"transition" */
  size += string_size_bytes (cmd->machine);
  size += string_size_bytes (cmd->definition);
  size += string_size_bytes (cmd->from);
  size += string_size_bytes (cmd->to);
  size += string_size_bytes (cmd->spec) + (cmd->spec != NULL ? strlen (cmd->spec) / 8 : 0);
  size += string_size_bytes (cmd->peer_address);
  size += string_size_bytes (cmd->client_address);
  size += string_size_bytes (cmd->native_address);
  size += string_size_bytes (cmd->payload) + (cmd->payload != NULL ? strlen (cmd->payload) / 8 : 0);
  if (cmd->has_if_revision)
    size += 32; /* ,"if_revision":N */
  if (entry->membership != NULL)
    size += 32 + 64 * dsm_membership_get_n_members (entry->membership)
            + 2 * 64 * dsm_membership_get_n_members (entry->membership);
  if (cmd->client_id != NULL)
    size += string_size_bytes (cmd->client_id) + 24; /* ,"seq":N */
  return size;
}

/* Entries are immutable once built and shared: by the log, by every
 * Proposal carrying them, and by the host's threads (the WAL's worker
 * encodes them while the node moves on), so the count is atomic; an
 * unshared count raced and corrupted the heap.  It is the entry's own
 * field, counted with g_atomic_int_inc() and g_atomic_int_dec_and_test()
 * (compiled inline), not a g_atomic_rc_box: the simulator takes and drops
 * some 33 references an entry (logs, proposals, persists, applies,
 * disks), and the box's three calls a reference were 3% of its
 * instructions (docs/BENCHMARKS.md, "The store's lookups on the
 * simulator's hot path"). */
static DsmEntry *
entry_alloc (gsize strings)
{
  DsmEntry *entry = g_malloc0 (sizeof (DsmEntry) + strings);

  entry->ref_count = 1;
  entry->strings_packed = strings > 0;
  return entry;
}

DsmEntry *
dsm_entry_new (guint64 index, guint64 epoch, DsmEntryKind kind,
               const DsmCommand *cmd)
{
  DsmEntry *entry;
  gsize strings = 0;

  g_return_val_if_fail (kind == DSM_ENTRY_NOOP || kind == DSM_ENTRY_COMMAND, NULL);
  g_return_val_if_fail (cmd == NULL || !dsm_op_is_membership (cmd->op), NULL);
  g_return_val_if_fail ((kind == DSM_ENTRY_COMMAND) == (cmd != NULL), NULL);

  /* The command's strings are packed after the entry, in one allocation:
   * a log holds thousands of entries, and a string of its own took at
   * least 32 bytes of heap and a malloc and a free each (three a
   * transition: client id, machine, target). */
  if (cmd != NULL)
    strings = dsm_command_strings_size (cmd);
  entry = entry_alloc (strings);
  entry->index = index;
  entry->epoch = epoch;
  entry->kind = kind;
  if (cmd != NULL)
    dsm_command_init_packed (&entry->cmd, cmd, (char *) (entry + 1), strings);
  entry->size_bytes = entry_compute_size (entry);
  return entry;
}

DsmEntry *
dsm_entry_new_take (guint64 index, guint64 epoch, DsmCommand *cmd)
{
  DsmEntry *entry;

  g_return_val_if_fail (cmd != NULL, NULL);
  g_return_val_if_fail (!dsm_op_is_membership (cmd->op), NULL);

  entry = entry_alloc (0);
  entry->index = index;
  entry->epoch = epoch;
  entry->kind = DSM_ENTRY_COMMAND;
  entry->cmd = *cmd;
  memset (cmd, 0, sizeof *cmd);
  entry->size_bytes = entry_compute_size (entry);
  return entry;
}

DsmEntry *
dsm_entry_new_packed (guint64 index, guint64 epoch, gsize strings_bytes, char **strings)
{
  DsmEntry *entry;

  g_return_val_if_fail (strings_bytes >= 1, NULL);
  g_return_val_if_fail (strings != NULL, NULL);

  entry = entry_alloc (strings_bytes);
  g_assert (entry->strings_packed);
  /* The room for the strings, until dsm_entry_packed_done() sizes the entry. */
  entry->size_bytes = strings_bytes;
  entry->index = index;
  entry->epoch = epoch;
  entry->kind = DSM_ENTRY_COMMAND;
  *strings = (char *) (entry + 1);
  return entry;
}

void
dsm_entry_packed_done (DsmEntry *entry)
{
  g_return_if_fail (entry != NULL && entry->strings_packed);
  g_return_if_fail (!dsm_op_is_membership (entry->cmd.op));

  for (guint i = 0; i < G_N_ELEMENTS (command_strings); i++)
    {
      const char *field = *command_string (&entry->cmd, i);
      /* Every string in the entry's own allocation. */
      g_assert (field == NULL || (field >= (const char *) (entry + 1)
                                  && field + strlen (field) < (const char *) (entry + 1) + entry->size_bytes));
    }
  entry->size_bytes = entry_compute_size (entry);
}

DsmEntry *
dsm_entry_new_config (guint64 index, guint64 epoch, const DsmCommand *cmd,
                      DsmMembership *membership)
{
  DsmEntry *entry;

  g_return_val_if_fail (cmd != NULL, NULL);
  g_return_val_if_fail (dsm_op_is_membership (cmd->op), NULL);
  g_return_val_if_fail (membership != NULL, NULL);

  entry = entry_alloc (0);
  entry->index = index;
  entry->epoch = epoch;
  entry->kind = DSM_ENTRY_CONFIG;
  dsm_command_init_copy (&entry->cmd, cmd);
  entry->membership = dsm_membership_ref (membership);
  entry->size_bytes = entry_compute_size (entry);
  return entry;
}

DsmEntry *
dsm_entry_ref (DsmEntry *entry)
{
  g_return_val_if_fail (entry != NULL, NULL);
  g_assert (g_atomic_int_get (&entry->ref_count) > 0);
  g_atomic_int_inc (&entry->ref_count);
  return entry;
}

static void
entry_free (DsmEntry *entry)
{
  /* Packed strings go with the entry's allocation. */
  if (!entry->strings_packed)
    dsm_command_clear (&entry->cmd);
  g_clear_pointer (&entry->membership, dsm_membership_unref);
  g_free (entry->json);
  g_free (entry);
}

/* NULL is ignored, like g_bytes_unref(): a GPtrArray calls its free
 * function on NULL slots too. */
void
dsm_entry_unref (DsmEntry *entry)
{
  if (entry == NULL)
    return;
  g_assert (g_atomic_int_get (&entry->ref_count) > 0);
  if (g_atomic_int_dec_and_test (&entry->ref_count))
    entry_free (entry);
}

gboolean
dsm_entry_equal (const DsmEntry *a, const DsmEntry *b)
{
  g_return_val_if_fail (a != NULL, FALSE);
  g_return_val_if_fail (b != NULL, FALSE);

  if (a == b)
    return TRUE;
  return a->index == b->index
         && a->epoch == b->epoch
         && a->kind == b->kind
         && dsm_command_equal (&a->cmd, &b->cmd)
         && (a->membership == b->membership
             || (a->membership != NULL && b->membership != NULL
                 && dsm_membership_equal (a->membership, b->membership)));
}

const DsmEntryJson *
dsm_entry_get_json (const DsmEntry *entry)
{
  g_return_val_if_fail (entry != NULL, NULL);
  return g_atomic_pointer_get (&((DsmEntry *) entry)->json);
}

/* The cache is the one mutable part of an immutable entry: it is set at
 * most once, by compare-and-exchange, and only ever to the text the entry
 * encodes to, so readers on any thread see either nothing or that text. */
const DsmEntryJson *
dsm_entry_cache_json (const DsmEntry *entry, const char *text, gsize length)
{
  DsmEntry *mutable_entry = (DsmEntry *) entry;
  DsmEntryJson *json;

  g_return_val_if_fail (entry != NULL, NULL);
  g_return_val_if_fail (text != NULL, NULL);

  json = g_atomic_pointer_get (&mutable_entry->json);
  if (json != NULL)
    return json;
  json = g_malloc (sizeof (DsmEntryJson) + length + 1);
  json->length = length;
  memcpy (json->text, text, length);
  json->text[length] = '\0';
  if (!g_atomic_pointer_compare_and_exchange (&mutable_entry->json, NULL, json))
    {
      g_free (json);
      json = g_atomic_pointer_get (&mutable_entry->json);
    }
  g_assert (json != NULL);
  return json;
}

gsize
dsm_entry_size_bytes (const DsmEntry *entry)
{
  g_return_val_if_fail (entry != NULL, 0);
  return entry->size_bytes;
}

guint
dsm_session_hash (const char *client_id, guint64 seq)
{
  /* FNV-1a over the id, then the seq, then a murmur3 finalizer. */
  guint64 h = G_GUINT64_CONSTANT (14695981039346656037);
  for (const char *p = client_id; *p != '\0'; p++)
    h = (h ^ (guchar) *p) * G_GUINT64_CONSTANT (1099511628211);
  h ^= seq * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15);
  h ^= h >> 33;
  h *= G_GUINT64_CONSTANT (0xFF51AFD7ED558CCD);
  h ^= h >> 33;
  h *= G_GUINT64_CONSTANT (0xC4CEB9FE1A85EC53);
  h ^= h >> 33;
  return (guint) h;
}
