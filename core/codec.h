/* core/codec.h: messages and entries to and from JSON text.  Decoding is
 * strict and never aborts: anything off is a DSM_CODEC_ERROR naming the
 * field.  docs/PROTOCOL.md, "Wire format", shows every message. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "entry.h"
#include "message.h"

G_BEGIN_DECLS

/* Largest JSON text the decoder looks at, and deepest nesting it accepts.
 * A message nests at most 3 levels (message, entries array, entry). */
#define DSM_CODEC_INPUT_BYTES_MAX (64 * 1024 * 1024)
#define DSM_CODEC_DEPTH_MAX 8
/* The largest unsigned integer the wire carries: the largest every JSON
 * implementation holds exactly (2^53).  Both readers bound by it. */
#define DSM_CODEC_UINT_MAX (G_GUINT64_CONSTANT (1) << 53)
/* A snapshot is not a message: it holds the whole store.  The largest one
 * a store restores, a follower accepts from a leader, and a node keeps
 * (core/snapshot.c drops a larger one rather than keep what no node could
 * read back).  It was the message cap, 64 MiB, for restores only: a store
 * of ~700,000 machines wrote snapshots that neither a restart nor a
 * lagging follower could restore. */
#define DSM_CODEC_SNAPSHOT_BYTES_MAX (G_GUINT64_CONSTANT (1) << 30)

/* dsm_codec_parse() for a snapshot's text, up to
 * DSM_CODEC_SNAPSHOT_BYTES_MAX instead of DSM_CODEC_INPUT_BYTES_MAX. */
JsonNode *dsm_codec_parse_snapshot (const char *data, gsize length, GError **error);

/**
 * dsm_codec_write_message:
 * Appends @msg as one line of JSON (no newline) to @out.  @msg must pass
 * dsm_message_check(): encoding a malformed message is a bug.
 */
void dsm_codec_write_message (GString *out, const DsmMessage *msg);

/* Returns: (transfer full): @msg as a JSON string. */
char *dsm_codec_encode_message (const DsmMessage *msg);

/**
 * dsm_codec_decode_message:
 * @data: JSON text, not necessarily NUL-terminated
 * @length: bytes in @data
 *
 * Returns: (transfer full): the message, or NULL with a DSM_CODEC_ERROR:
 * not JSON or trailing garbage (SYNTAX), nesting past DSM_CODEC_DEPTH_MAX
 * (SYNTAX), input past DSM_CODEC_INPUT_BYTES_MAX (TOO_LARGE), unknown
 * "type" (UNKNOWN_TYPE), a missing field (MISSING), a field of the wrong
 * JSON type or out of range (TYPE), or a message failing
 * dsm_message_check() (INVALID).
 */
DsmMessage *dsm_codec_decode_message (const char *data, gsize length, GError **error);

/**
 * dsm_codec_decode_message_fast:
 * The decoder's fast path for the common shapes of Proposal, Ack and
 * Commit (core/codec-fast.c): the message, checked, or NULL when @data is
 * anything else, valid or not; then dsm_codec_decode_message()'s full
 * reading decides.  Whatever it returns, the full reading returns equal.
 * dsm_codec_decode_message() tries it first; tests and fuzzers compare.
 */
DsmMessage *dsm_codec_decode_message_fast (const char *data, gsize length);

/* The same, from a parsed tree (the HTTP layer and scenario files have one). */
DsmMessage *dsm_codec_message_from_json (JsonNode *node, GError **error);

/* Entries alone, as the write-ahead log stores them.  Both writers append
 * the entry's cached text when it has one (dsm_entry_get_json()); only
 * dsm_codec_write_entry_keep(), which a Proposal uses (a leader sends
 * each entry to every follower), caches what it wrote: a follower, which
 * writes each entry once, to its WAL, keeps no second copy. */
void dsm_codec_write_entry (GString *out, const DsmEntry *entry);
void dsm_codec_write_entry_keep (GString *out, const DsmEntry *entry);
/* The bytes @entries (nullable) take as a JSON array's elements: their
 * kept texts' lengths, a typical command's for the others.  A hint for
 * sizing a buffer once rather than growing it entry by entry. */
gsize dsm_codec_entries_size_hint (const GPtrArray *entries);
DsmEntry *dsm_codec_decode_entry (const char *data, gsize length, GError **error);
DsmEntry *dsm_codec_entry_from_json (JsonNode *node, const char *where, GError **error);

/* Commands alone, as the HTTP API and scenario files spell them. */
void dsm_codec_write_command (GString *out, const DsmCommand *cmd);
gboolean dsm_codec_command_from_json (JsonNode *node, const char *where,
                                      DsmCommand *cmd, GError **error);

/* Appends @value in decimal to @out (no allocation, no printf). */
void dsm_codec_write_uint (GString *out, guint64 value);

/* Appends @text as a JSON string literal (quoted, escaped) to @out. */
void dsm_codec_write_string (GString *out, const char *text);

/**
 * dsm_codec_parse:
 * Parses @data with the size and depth limits above, refusing trailing
 * garbage.  Every decoder goes through it.
 *
 * Returns: (transfer full): the root node, or NULL with a DSM_CODEC_ERROR.
 */
JsonNode *dsm_codec_parse (const char *data, gsize length, GError **error);

G_END_DECLS
