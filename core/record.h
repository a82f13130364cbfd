/* core/record.h: the byte format of one persist record, shared by the real
 * write-ahead log (storage/) and the simulator's model disk (sim/), and the
 * fold of persist records into the state a node restarts from.  Pure: no
 * I/O.  docs/STORAGE.md, "Records", shows the format byte by byte.
 *
 * A record is [u32 LE payload length][u32 LE CRC-32 of payload][payload],
 * the payload one JSON object:
 *
 *   {"kind":"hard_state","seq":N,"epoch":N,"voted_for":N}
 *   {"kind":"entries","seq":N,"first_index":N,"entries":[<entry>...]}
 *   {"kind":"snapshot","seq":N,"index":N,"epoch":N,"reset_log":B,"data":"<base64>"}
 *   {"kind":"snapshot_ref","seq":N,"index":N,"epoch":N,"reset_log":B,
 *    "file":"<name>","size_bytes":N,"crc32":N}
 *
 * <entry> is dsm_codec_write_entry()'s.  "snapshot" carries the bytes
 * inline (the simulator keeps everything in memory); "snapshot_ref" is the
 * real WAL's marker for a snapshot kept in a separate file of the data
 * directory, checked against its size and CRC-32.  "seq" is the writer's
 * sequence number: the simulator writes the core's persist seq, the real
 * WAL its own log sequence number (one per record, never reused), so a
 * gap shows a lost record. */
#pragma once

#include <glib.h>

#include "node.h"
#include "outbox.h"

G_BEGIN_DECLS

#define DSM_RECORD_HEADER_BYTES 8

/* A length field past this is absurd: corruption unless it is the tail. */
#define DSM_RECORD_PAYLOAD_BYTES_MAX (G_GUINT64_CONSTANT (1) << 30)

/* Where the bytes of a snapshot_ref record's snapshot live. */
typedef struct {
  char *file;           /* a plain file name inside the data directory */
  guint64 size_bytes;   /* of the snapshot bytes */
  guint32 crc32;        /* of the snapshot bytes */
} DsmSnapshotRef;

void dsm_snapshot_ref_free (DsmSnapshotRef *ref);

/* Where one decoded record sat in the scanned bytes. */
typedef struct {
  gsize offset;                        /* of its header */
  gsize size_bytes;                    /* header + payload */
  const DsmSnapshotRef *snapshot_ref;  /* a snapshot_ref record (its persist has no bytes); else NULL */
} DsmRecordInfo;

/* CRC-32 (zlib's, the polynomial of gzip and PNG) of @length bytes. */
guint32 dsm_record_crc32 (const void *data, gsize length);

/**
 * dsm_record_frame:
 * Appends [length][CRC-32][@payload] to @out: the framing every record
 * uses, for callers with their own payloads (storage's snapshot files).
 */
void dsm_record_frame (GByteArray *out, const void *payload, gsize length);

/**
 * dsm_record_encode:
 * Appends @persist as one record to @out.  A SNAPSHOT carries its bytes
 * inline (it must have them).
 */
void dsm_record_encode (GByteArray *out, const DsmPersist *persist);

/**
 * dsm_record_encode_snapshot_ref:
 * Appends a snapshot_ref record for the SNAPSHOT @persist (its seq,
 * index, snapshot_epoch and reset_log; its bytes are ignored and may be
 * NULL) whose bytes live as @ref says.
 */
void dsm_record_encode_snapshot_ref (GByteArray *out, const DsmPersist *persist,
                                     const DsmSnapshotRef *ref);

/* Whether @name may be a snapshot_ref's file: 1..255 bytes of
 * [A-Za-z0-9._-], not starting with a dot. */
gboolean dsm_record_file_name_is_valid (const char *name);

/**
 * dsm_record_decode:
 * @data: bytes starting with a record's header
 * @record_bytes: (out): the record's size (header + payload) when its
 *   length field is plausible and fits in @length; otherwise 0
 * @ref: (out) (optional) (transfer full): the snapshot_ref of such a
 *   record; NULL for the other kinds
 *
 * Decodes the one record at the start of @data.
 *
 * Returns: (transfer full): the persist, or NULL with a DSM_CODEC_ERROR:
 * an incomplete header, a length past the end or past
 * DSM_RECORD_PAYLOAD_BYTES_MAX (TOO_LARGE), a checksum mismatch (INVALID),
 * or a payload that is not a valid record (the codec's codes).
 */
DsmPersist *dsm_record_decode (const guint8 *data, gsize length, gsize *record_bytes,
                               DsmSnapshotRef **ref, GError **error);

/**
 * DsmRecordFunc:
 * @persist: (transfer none): the decoded record; a snapshot_ref record
 *   gives a SNAPSHOT without bytes and @info->snapshot_ref set
 *
 * Returns: FALSE with @error to stop the scan (which then fails with it).
 */
typedef gboolean (*DsmRecordFunc) (const DsmPersist *persist, const DsmRecordInfo *info,
                                   gpointer user_data, GError **error);

/**
 * dsm_record_scan:
 * @where: names the bytes in errors (a file name)
 * @valid_bytes: (out): the length of the valid prefix: @length when every
 *   record decoded, else the offset of the first bad record
 * @torn: (out): whether the scan stopped at a torn tail
 *
 * Decodes the records of @data in order, calling @func with each.  At the
 * first bad record it decides:
 *
 * - a torn tail (an incomplete header, a length running past the end, a
 *   checksum or decode failure) when nothing but zero bytes follows the
 *   bad record and no valid record starts anywhere after its offset:
 *   TRUE, *@torn = TRUE;
 * - corruption otherwise (a bad record followed by more non-zero data or
 *   by a valid record): FALSE with a DSM_CODEC_ERROR_INVALID naming
 *   @where and the bad record's offset.
 *
 * An absurd length (past DSM_RECORD_PAYLOAD_BYTES_MAX) runs past the end,
 * so it follows the same rule: the tail when nothing valid follows.
 *
 * Returns: FALSE with @error on corruption or when @func failed.
 */
gboolean dsm_record_scan (const guint8 *data, gsize length, const char *where,
                          DsmRecordFunc func, gpointer user_data,
                          gsize *valid_bytes, gboolean *torn, GError **error);

/**
 * dsm_durable_state_apply:
 * Folds @persist into @state as a durable write of it would (outbox.h's
 * meanings): HARD_STATE sets epoch and vote; ENTRIES drops entries at or
 * after first_index and appends its entries (referenced); SNAPSHOT takes
 * the snapshot (referenced; it must have bytes) and drops the entries it
 * covers, or all of them with reset_log.
 */
void dsm_durable_state_apply (DsmDurableState *state, const DsmPersist *persist);

/**
 * dsm_durable_state_check:
 * Whether a node can restart from @state, by the rules dsm_node_new()
 * applies to it: a snapshot index only with a snapshot, and entries after
 * the snapshot contiguous, their epochs never decreasing (from the
 * snapshot's) and never past the hard state's epoch (entries at or below
 * the snapshot's index are skipped, as the node does).  The snapshot's
 * bytes are not decoded: that takes the store.
 *
 * Returns: FALSE with a DSM_CONSENSUS_ERROR_DURABLE_STATE naming the entry.
 */
gboolean dsm_durable_state_check (const DsmDurableState *state, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmSnapshotRef, dsm_snapshot_ref_free)

G_END_DECLS
