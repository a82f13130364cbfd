/* core/codec-fast.c: the wire decoder's fast path: the messages a busy
 * cluster sends most (Proposal, Ack, Commit), in the shapes dsm writes
 * them, read straight from the text into a DsmMessage without a JSON tree.
 *
 * It only ever accepts what the full decoder (core/codec-read.c) accepts,
 * as an equal message; anything else it declines (NULL) and the full
 * decoder decides, with its errors.  So it changes no answer and no error
 * message, only the cost: a follower spent over a third of its loop
 * building and reading trees of Proposals (docs/BENCHMARKS.md, "The
 * followers' decoding").  It declines rather than reads whatever is rare:
 * other message types, unknown or repeated keys, \u escapes, numbers other
 * than plain integers, config entries, membership commands, null where a
 * value is required.  fuzz/fuzz-codec.c and tests/core/test-codec-fast.c
 * hold it to "accepted means equal". */
#include "codec.h"

#include <string.h>

#include "scan-private.h"

/* A key the fast path knows, with its length (no strlen per compare). */
typedef struct {
  const char *name;
  gsize length;
} Key;

#define KEY(name) { name, sizeof name - 1 }

/* The index of @key among the @n @keys, or -1. */
static gint
key_find (const Span *key, const Key *keys, gint n)
{
  g_assert (n > 0);
  if (key->escaped)
    return -1;
  for (gint i = 0; i < n; i++)
    if (key->length == keys[i].length && memcmp (key->text, keys[i].name, keys[i].length) == 0)
      return i;
  return -1;
}

/* ---- entries ---- */

enum {
  E_INDEX, E_EPOCH, E_KIND, E_OP, E_MACHINE, E_TO, E_FROM, E_DEFINITION, E_CLIENT_ID,
  E_SPEC, E_PEER_ADDRESS, E_CLIENT_ADDRESS, E_NATIVE_ADDRESS, E_PAYLOAD,
  E_NODE, E_IF_REVISION, E_SEQ, E_N_KEYS
};

static const Key entry_keys[] = {
  KEY ("index"), KEY ("epoch"), KEY ("kind"), KEY ("op"), KEY ("machine"), KEY ("to"),
  KEY ("from"), KEY ("definition"), KEY ("client_id"), KEY ("spec"), KEY ("peer_address"),
  KEY ("client_address"), KEY ("native_address"), KEY ("payload"), KEY ("node"),
  KEY ("if_revision"), KEY ("seq")
};
G_STATIC_ASSERT (G_N_ELEMENTS (entry_keys) == E_N_KEYS);

/* The string fields of a command: where each goes and its bound, as
 * command_read() in core/codec-read.c reads them. */
#define E_FIRST_STRING E_MACHINE
#define E_N_STRINGS (E_PAYLOAD - E_MACHINE + 1)

static gsize
entry_string_bound (guint key)
{
  switch (key)
    {
    case E_MACHINE: case E_TO: case E_FROM: case E_DEFINITION: case E_CLIENT_ID:
      return DSM_NAME_MAX;
    case E_SPEC:
      return DSM_SPEC_BYTES_MAX;
    case E_PAYLOAD:
      return DSM_PAYLOAD_BYTES_MAX;
    default:
      return 0;
    }
}

static char **
command_slot (DsmCommand *cmd, guint key)
{
  switch (key)
    {
    case E_MACHINE: return &cmd->machine;
    case E_TO: return &cmd->to;
    case E_FROM: return &cmd->from;
    case E_DEFINITION: return &cmd->definition;
    case E_CLIENT_ID: return &cmd->client_id;
    case E_SPEC: return &cmd->spec;
    case E_PEER_ADDRESS: return &cmd->peer_address;
    case E_CLIENT_ADDRESS: return &cmd->client_address;
    case E_NATIVE_ADDRESS: return &cmd->native_address;
    case E_PAYLOAD: return &cmd->payload;
    default: g_assert_not_reached ();
    }
}

/* Whether a command of @op must carry the string field @key: what
 * command_read() reads as required. */
static gboolean
command_requires (DsmOp op, guint key)
{
  switch (key)
    {
    case E_MACHINE: return op == DSM_OP_TRANSITION || op == DSM_OP_READ;
    case E_TO: return op == DSM_OP_TRANSITION;
    case E_DEFINITION: case E_SPEC: return op == DSM_OP_DEFINE;
    default: return FALSE;
    }
}

typedef struct {
  guint32 seen;                    /* bit per key */
  guint64 uints[E_N_KEYS];         /* E_INDEX, E_EPOCH, E_NODE, E_IF_REVISION, E_SEQ */
  gboolean null_if_revision;
  Span spans[E_N_KEYS];            /* E_KIND, E_OP and the strings */
  guint32 nulls;                   /* bit per string key given as null */
} EntryFields;

static gboolean
entry_scan_value (Scan *s, guint key, EntryFields *f)
{
  switch (key)
    {
    case E_INDEX: case E_EPOCH: case E_SEQ:
      return scan_uint (s, DSM_CODEC_UINT_MAX, &f->uints[key]);
    case E_NODE:
      return scan_uint (s, DSM_NODE_ID_MAX, &f->uints[key]);
    case E_IF_REVISION:
      if (scan_null (s))
        {
          f->null_if_revision = TRUE;
          return TRUE;
        }
      return scan_uint (s, DSM_CODEC_UINT_MAX, &f->uints[key]);
    case E_KIND: case E_OP:
      return scan_string (s, &f->spans[key]);
    default:
      g_assert (key >= E_FIRST_STRING && key < E_FIRST_STRING + E_N_STRINGS);
      if (scan_null (s))
        {
          f->nulls |= 1u << key;
          return TRUE;
        }
      return scan_string (s, &f->spans[key]);
    }
}

/* The bytes entry_command() may write: each given string's text and its
 * NUL (decoding escapes never lengthens one). */
static gsize
entry_strings_bytes (const EntryFields *f)
{
  gsize bytes = 0;

  for (guint key = E_FIRST_STRING; key < E_FIRST_STRING + E_N_STRINGS; key++)
    if ((f->seen & (1u << key)) && !(f->nulls & (1u << key)))
      bytes += f->spans[key].length + 1;
  return bytes;
}

/* Fills @cmd from @f as command_read() would, its strings written to
 * @strings (entry_strings_bytes() of room: the entry's own allocation),
 * or FALSE (decline). */
static gboolean
entry_command (const EntryFields *f, DsmCommand *cmd, char *strings)
{
  char op_name[32];
  const Span *op = &f->spans[E_OP];
  char *cursor = strings;

  memset (cmd, 0, sizeof *cmd);
  if (!(f->seen & (1u << E_OP)) || op->escaped || op->length >= sizeof op_name)
    return FALSE;
  memcpy (op_name, op->text, op->length);
  op_name[op->length] = '\0';
  /* A membership op is a config entry's; the full decoder names the error. */
  if (!dsm_op_from_string (op_name, &cmd->op) || dsm_op_is_membership (cmd->op))
    return FALSE;
  for (guint key = E_FIRST_STRING; key < E_FIRST_STRING + E_N_STRINGS; key++)
    {
      gboolean given = (f->seen & (1u << key)) && !(f->nulls & (1u << key));
      const Span *span = &f->spans[key];
      gsize n;

      if (!given)
        {
          /* Absent or null: required ones are errors (null included). */
          if (command_requires (cmd->op, key))
            return FALSE;
          continue;
        }
      /* span_dup()'s judgement, written in place. */
      if (!span->escaped)
        {
          memcpy (cursor, span->text, span->length);
          n = span->length;
        }
      else
        n = span_unescape (span, cursor);
      cursor[n] = '\0';
      if (!span_fits (span, cursor, n, entry_string_bound (key)))
        return FALSE;
      *command_slot (cmd, key) = cursor;
      cursor += n + 1;
    }
  g_assert ((gsize) (cursor - strings) <= entry_strings_bytes (f));
  if ((f->seen & (1u << E_IF_REVISION)) && !f->null_if_revision)
    {
      cmd->has_if_revision = TRUE;
      cmd->if_revision = f->uints[E_IF_REVISION];
    }
  if (f->seen & (1u << E_NODE))
    cmd->node = (DsmNodeId) f->uints[E_NODE];
  /* seq comes with a client id and only with one. */
  if ((cmd->client_id != NULL) != ((f->seen & (1u << E_SEQ)) != 0))
    return FALSE;
  cmd->seq = f->uints[E_SEQ];
  return TRUE;
}

static DsmEntry *
entry_scan (Scan *s)
{
  EntryFields f = { 0 };
  Span key;
  gint k;
  DsmEntry *entry;
  char *strings;

  if (!scan_char (s, '{'))
    return NULL;
  do
    {
      if (!scan_string (s, &key) || (k = key_find (&key, entry_keys, E_N_KEYS)) < 0
          || (f.seen & (1u << k)) || !scan_char (s, ':') || !entry_scan_value (s, (guint) k, &f))
        return NULL;
      g_assert (k < E_N_KEYS);
      f.seen |= 1u << k;
    }
  while (scan_char (s, ','));
  if (!scan_char (s, '}'))
    return NULL;

  if ((f.seen & 7u) != 7u)   /* index, epoch and kind are required */
    return NULL;
  if (span_is (&f.spans[E_KIND], "noop"))
    return f.seen == 7u ? dsm_entry_new (f.uints[E_INDEX], f.uints[E_EPOCH], DSM_ENTRY_NOOP, NULL)
                        : NULL;
  if (!span_is (&f.spans[E_KIND], "command"))
    return NULL;
  /* The strings in the entry's own allocation (a follower decodes every
   * entry of every Proposal): one malloc an entry, not one a string. */
  entry = dsm_entry_new_packed (f.uints[E_INDEX], f.uints[E_EPOCH], MAX (entry_strings_bytes (&f), 1),
                                &strings);
  if (!entry_command (&f, &entry->cmd, strings))
    {
      dsm_entry_unref (entry);
      return NULL;
    }
  dsm_entry_packed_done (entry);
  return entry;
}

static GPtrArray *
entries_scan (Scan *s)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_entry_unref);

  if (!scan_char (s, '['))
    return NULL;
  if (scan_char (s, ']'))
    return g_steal_pointer (&entries);
  do
    {
      DsmEntry *entry;

      if (entries->len == DSM_MESSAGE_ENTRIES_MAX || (entry = entry_scan (s)) == NULL)
        return NULL;
      g_ptr_array_add (entries, entry);
    }
  while (scan_char (s, ','));
  if (!scan_char (s, ']'))
    return NULL;
  return g_steal_pointer (&entries);
}

/* ---- messages ---- */

enum {
  M_TYPE, M_FROM, M_TO, M_EPOCH, M_PREV_INDEX, M_PREV_EPOCH, M_COMMIT_INDEX, M_HB_SEQ,
  M_MATCH_INDEX, M_SNAPSHOT_OFFSET, M_LAST_INDEX, M_ENTRIES, M_N_KEYS
};

static const Key message_keys[] = {
  KEY ("type"), KEY ("from"), KEY ("to"), KEY ("epoch"), KEY ("prev_index"),
  KEY ("prev_epoch"), KEY ("commit_index"), KEY ("hb_seq"), KEY ("match_index"),
  KEY ("snapshot_offset"), KEY ("last_index"), KEY ("entries")
};
G_STATIC_ASSERT (G_N_ELEMENTS (message_keys) == M_N_KEYS);

#define BIT(k) (1u << (k))
#define HEAD (BIT (M_TYPE) | BIT (M_FROM) | BIT (M_TO) | BIT (M_EPOCH))

/* The keys each type read here has; all of them are required. */
static guint32
message_keys_of (DsmMessageType type)
{
  switch (type)
    {
    case DSM_MSG_PROPOSAL:
      return HEAD | BIT (M_PREV_INDEX) | BIT (M_PREV_EPOCH) | BIT (M_COMMIT_INDEX) | BIT (M_HB_SEQ)
             | BIT (M_ENTRIES);
    case DSM_MSG_ACK:
      return HEAD | BIT (M_MATCH_INDEX) | BIT (M_SNAPSHOT_OFFSET) | BIT (M_LAST_INDEX) | BIT (M_HB_SEQ);
    case DSM_MSG_COMMIT:
      return HEAD | BIT (M_COMMIT_INDEX) | BIT (M_HB_SEQ);
    default:
      return 0;   /* not read here */
    }
}

DsmMessage *
dsm_codec_decode_message_fast (const char *data, gsize length)
{
  g_autoptr(GPtrArray) entries = NULL;
  guint64 v[M_N_KEYS] = { 0 };
  guint32 seen = 0;
  Span type_span = { 0 };
  char type_name[16];
  DsmMessageType type;
  DsmMessage *msg;
  Scan s = { data, data + length };
  Span key;
  gint k;

  g_return_val_if_fail (data != NULL || length == 0, NULL);

  if (length > DSM_CODEC_INPUT_BYTES_MAX || !scan_char (&s, '{'))
    return NULL;
  do
    {
      if (!scan_string (&s, &key) || (k = key_find (&key, message_keys, M_N_KEYS)) < 0 || (seen & BIT (k))
          || !scan_char (&s, ':'))
        return NULL;
      g_assert (k < M_N_KEYS);
      seen |= BIT (k);
      if (k == M_TYPE)
        {
          if (!scan_string (&s, &type_span))
            return NULL;
        }
      else if (k == M_ENTRIES)
        {
          if ((entries = entries_scan (&s)) == NULL)
            return NULL;
        }
      else
        {
          guint64 value;
          if (!scan_uint (&s, k == M_FROM || k == M_TO ? DSM_NODE_ID_MAX : DSM_CODEC_UINT_MAX, &value))
            return NULL;
          v[k] = value;
        }
    }
  while (scan_char (&s, ','));
  if (!scan_char (&s, '}'))
    return NULL;
  scan_space (&s);
  if (s.at != s.end)
    return NULL;   /* trailing text: a syntax error */

  if (!(seen & BIT (M_TYPE)) || type_span.escaped || type_span.length >= sizeof type_name)
    return NULL;
  memcpy (type_name, type_span.text, type_span.length);
  type_name[type_span.length] = '\0';
  if (!dsm_message_type_from_string (type_name, &type) || seen != message_keys_of (type))
    return NULL;

  msg = dsm_message_new (type, (DsmNodeId) v[M_FROM], (DsmNodeId) v[M_TO], v[M_EPOCH]);
  msg->prev_index = v[M_PREV_INDEX];
  msg->prev_epoch = v[M_PREV_EPOCH];
  msg->commit_index = v[M_COMMIT_INDEX];
  msg->hb_seq = v[M_HB_SEQ];
  msg->match_index = v[M_MATCH_INDEX];
  msg->snapshot_offset = v[M_SNAPSHOT_OFFSET];
  msg->last_index = v[M_LAST_INDEX];
  msg->entries = g_steal_pointer (&entries);
  g_assert ((msg->entries != NULL) == (type == DSM_MSG_PROPOSAL));
  /* The full decoder's last step; its error is the full decoder's to give. */
  if (!dsm_message_check (msg, NULL))
    {
      dsm_message_unref (msg);
      return NULL;
    }
  return msg;
}
