/* core/entry.h: client commands and the log entries that carry them.
 * Entries are immutable once built and reference counted, so one entry is
 * shared by the log, every Proposal that carries it and the simulator. */
#pragma once

#include <glib.h>

#include "types.h"

G_BEGIN_DECLS

typedef enum {
  DSM_OP_TRANSITION,     /* move a machine instance to state `to` */
  DSM_OP_READ,           /* linearizable read of a machine instance */
  DSM_OP_DEFINE,         /* define or update machine definition `definition` from `spec` */
  DSM_OP_ADD_MEMBER,     /* add a learner: `node` (0: the next free id) at the addresses */
  DSM_OP_REMOVE_MEMBER,  /* remove member `node` */
  DSM_OP_PROMOTE_MEMBER, /* make learner `node` a voter */
  DSM_OP_N_OPS,
} DsmOp;

const char *dsm_op_to_string (DsmOp op);
gboolean dsm_op_from_string (const char *text, DsmOp *out);

/* TRUE for the ops that change the membership (a CONFIG entry carries them). */
gboolean dsm_op_is_membership (DsmOp op);

/* Longest definition text (`spec`) a DEFINE command may carry, in bytes. */
#define DSM_SPEC_BYTES_MAX (64 * 1024)

/* Ceilings of a transition's payload every node applies whatever its
 * config (docs/CONFIG.md, "Payloads": the configured limits, checked
 * before a command is proposed, are at most these): its text in bytes,
 * its nesting (the payload object itself is 1) and its top-level keys.
 * A machine's merged data is bounded by DSM_DATA_BYTES_MAX. */
#define DSM_PAYLOAD_BYTES_MAX (64 * 1024)
#define DSM_PAYLOAD_DEPTH_MAX 16
#define DSM_PAYLOAD_FIELDS_MAX 256
#define DSM_DATA_BYTES_MAX (256 * 1024)

typedef struct _DsmMembership DsmMembership;

/* Longest machine, state, definition or client id name, in bytes. */
#define DSM_NAME_MAX 128

/**
 * DsmCommand:
 * What a client asks for.  Strings are owned by the command.
 *
 * @client_id and @seq make a command idempotent: the cluster applies a given
 * (client_id, seq) at most once (PROTOCOL.md, "Client sessions").  A command
 * without a client id is applied once per submission.
 *
 * @definition names the machine definition used when @machine is first
 * touched (NULL: the config's default, "lifecycle"); later commands must
 * name the same definition or none.  @from, when set, makes the command a
 * compare-and-set: it is rejected unless the current state is @from.
 * @has_if_revision makes it one on the machine's revision (the log index
 * of the entry that last changed it; 0 for a machine never changed):
 * rejected unless the revision is still @if_revision.
 *
 * @payload, when set, is the text of a JSON object a transition carries:
 * its fields are checked against the definition and merged into the
 * machine's data when it applies (PROTOCOL.md, "Payloads").  Commands
 * only bound its size and encoding (dsm_command_check()); the store
 * parses and judges it, identically on every node.
 *
 * Administrative commands go through the log like transitions
 * (PROTOCOL.md, "Membership changes" and "Machine definitions"): DEFINE
 * names the definition in @definition and carries its JSON text in @spec;
 * the membership ops name a node in @node, and an add carries the new
 * member's addresses.  Fields an op does not use stay NULL / 0.
 */
typedef struct {
  DsmOp op;
  char *client_id;   /* nullable */
  guint64 seq;       /* meaningful only with client_id; starts at 1 */
  char *machine;     /* transitions and reads */
  char *definition;  /* nullable; required by DEFINE */
  char *from;        /* nullable */
  char *to;          /* transitions only */
  char *spec;        /* DEFINE: the definition as JSON text */
  DsmNodeId node;    /* membership ops (an add may leave it 0) */
  char *peer_address;   /* ADD_MEMBER, nullable */
  char *client_address; /* ADD_MEMBER, nullable */
  char *native_address; /* ADD_MEMBER, nullable: where it serves the native protocol */
  char *payload;     /* transitions, nullable: a JSON object as text */
  gboolean has_if_revision; /* transitions: @if_revision is a condition */
  guint64 if_revision;
} DsmCommand;

void dsm_command_init_copy (DsmCommand *dest, const DsmCommand *src);
void dsm_command_clear (DsmCommand *cmd);
/* A copy whose strings live in @strings, @size bytes that the caller
 * allocated with its own struct (dsm_command_strings_size() of @src):
 * one allocation for a command kept on the per-write path instead of one
 * per string.  Never dsm_command_clear() it: the strings go with the
 * caller's allocation. */
gsize dsm_command_strings_size (const DsmCommand *cmd);
void dsm_command_init_packed (DsmCommand *dest, const DsmCommand *src, char *strings, gsize size);
/* TRUE for an all-zero command (messages that carry none). */
gboolean dsm_command_is_empty (const DsmCommand *cmd);
gboolean dsm_command_equal (const DsmCommand *a, const DsmCommand *b);

/* A well-mixed hash of a (client id, seq) pair, for tables keyed by it:
 * client ids like "c1", "c2" hash close together, so the pair needs real
 * mixing or such tables degrade into long chains. */
guint dsm_session_hash (const char *client_id, guint64 seq);

/**
 * dsm_command_check:
 * Checks the shape of a command (names present, short, printable; @to set
 * for transitions).  It does not know machine definitions: that is
 * dsm_store_validate()'s job.
 *
 * Returns: FALSE with @error (DSM_CODEC_ERROR) when malformed.
 */
gboolean dsm_command_check (const DsmCommand *cmd, GError **error);

/**
 * dsm_command_check_name:
 * @field: named in the error ("machine", "reject.state")
 * Checks one name by the rules dsm_command_check() applies to a command's
 * names: non-empty, at most DSM_NAME_MAX bytes, UTF-8, no control
 * characters.  Messages use it for the state names they carry.
 *
 * Returns: FALSE with @error (DSM_CODEC_ERROR_INVALID) "@field: ...".
 */
gboolean dsm_command_check_name (const char *field, const char *name, GError **error);

/**
 * dsm_command_check_machine_name:
 * The one rule for machine names, applied alike by the core, the HTTP API,
 * dsmctl and the simulator's scenario reader (docs/CONFIG.md, "Names"):
 * dsm_command_check_name()'s rule, and not "." or ".." (a path segment
 * with a meaning of its own in URLs, which clients and proxies resolve
 * before we see it, so such a machine could not be addressed).
 *
 * Returns: FALSE with @error (DSM_CODEC_ERROR_INVALID) "@field: ...".
 */
gboolean dsm_command_check_machine_name (const char *field, const char *name, GError **error);

typedef enum {
  DSM_ENTRY_NOOP,    /* appended by every new leader (PROTOCOL.md, "Elections") */
  DSM_ENTRY_COMMAND, /* a client transition or a DEFINE */
  DSM_ENTRY_CONFIG,  /* a membership change: the whole new membership */
  DSM_ENTRY_N_KINDS,
} DsmEntryKind;

const char *dsm_entry_kind_to_string (DsmEntryKind kind);

/* A CONFIG entry's @cmd is the change that made it (an add names the id it
 * gave) and @membership the configuration every node uses from the moment
 * it appends the entry (PROTOCOL.md, "Membership changes"). */
typedef struct {
  guint64 index;
  guint64 epoch;
  DsmEntryKind kind;
  DsmCommand cmd;    /* zeroed for NOOP */
  DsmMembership *membership; /* CONFIG only; referenced */
  /*< private >*/
  gsize size_bytes;  /* dsm_entry_size_bytes(), computed once */
  gpointer json;     /* DsmEntryJson *, set once (atomically) by dsm_entry_cache_json() */
  gint ref_count;    /* atomic (core/entry.c, dsm_entry_ref()) */
  gboolean strings_packed; /* the command's strings live after the entry, in its allocation */
} DsmEntry;

/**
 * dsm_entry_new:
 * @cmd: (nullable): copied; NULL for a NOOP entry.
 * Returns: (transfer full): a new entry with one reference.
 */
DsmEntry *dsm_entry_new (guint64 index, guint64 epoch, DsmEntryKind kind,
                         const DsmCommand *cmd);
/**
 * dsm_entry_new_take:
 * @cmd: moved into the entry (left zeroed): a decoder's fresh command
 * Returns: (transfer full): a new COMMAND entry with one reference.
 */
DsmEntry *dsm_entry_new_take (guint64 index, guint64 epoch, DsmCommand *cmd);
/**
 * dsm_entry_new_packed:
 * @strings_bytes: room for the command's strings, in the entry's own
 *   allocation (*@strings); at least 1
 * Returns: (transfer full): a COMMAND entry with an empty command for a
 * decoder to fill in place, its strings written into *@strings (one
 * allocation an entry, not one a string), then dsm_entry_packed_done()
 * before the entry is shared.  A decoder that gives up unrefs it.
 */
DsmEntry *dsm_entry_new_packed (guint64 index, guint64 epoch, gsize strings_bytes, char **strings);
void dsm_entry_packed_done (DsmEntry *entry);
/**
 * dsm_entry_new_config:
 * @cmd: the membership command that made @membership (copied)
 * @membership: referenced
 * Returns: (transfer full): a CONFIG entry.
 */
DsmEntry *dsm_entry_new_config (guint64 index, guint64 epoch, const DsmCommand *cmd,
                                DsmMembership *membership);
DsmEntry *dsm_entry_ref (DsmEntry *entry);
void dsm_entry_unref (DsmEntry *entry);  /* NULL is ignored */
gboolean dsm_entry_equal (const DsmEntry *a, const DsmEntry *b);

/**
 * DsmEntryJson:
 * An entry's JSON text as dsm_codec_write_entry() writes it, kept by the
 * entry: a leader sends each entry to every follower (and again on each
 * retransmission) and writes it to its WAL, and the text is the same every
 * time (the entry is immutable).  @text is NUL-terminated.
 */
typedef struct {
  gsize length;
  char text[];
} DsmEntryJson;

/**
 * dsm_entry_get_json:
 * Returns: (transfer none) (nullable): the entry's cached JSON, or NULL
 * when none was cached yet.  Valid as long as the entry is.  Safe from
 * any thread holding a reference.
 */
const DsmEntryJson *dsm_entry_get_json (const DsmEntry *entry);

/**
 * dsm_entry_cache_json:
 * @text: (array length=length): what dsm_codec_write_entry() wrote for @entry
 * Keeps a copy of @text as @entry's JSON unless one is kept already (two
 * threads may race to cache it: the first wins, both texts are equal).
 * Returns: (transfer none): the entry's cached JSON.
 */
const DsmEntryJson *dsm_entry_cache_json (const DsmEntry *entry, const char *text, gsize length);

/* Approximate encoded size, for batching limits. */
gsize dsm_entry_size_bytes (const DsmEntry *entry);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmEntry, dsm_entry_unref)

G_END_DECLS
