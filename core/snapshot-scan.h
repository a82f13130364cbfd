/* core/snapshot-scan.h: a store snapshot read straight from its text in
 * the canonical form core/store.c writes, without a JSON tree. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A snapshot's replicated configuration: the numbers, and the JSON text
 * of the membership and definitions values (within the snapshot's bytes)
 * for their own readers. */
typedef struct {
  guint64 applied_index;
  guint64 applied_epoch;
  guint64 membership_index;
  const char *membership;
  gsize membership_length;
  const char *definitions;
  gsize definitions_length;
} DsmSnapshotHeader;

/* One result of a client session, as written: the strings are valid
 * until the next call; the nullable ones were absent. */
typedef struct {
  guint64 seq;
  const char *status;
  const char *reason;
  guint64 index;
  const char *definition;   /* nullable */
  const char *from;         /* nullable */
  const char *state;        /* nullable */
  guint member;             /* 0 when absent */
  guint64 revision;         /* 0 when absent */
  const char *output;       /* nullable */
} DsmSnapshotResult;

/* What a reader does with each part, in the snapshot's order; a FALSE
 * from any of them declines the whole snapshot.  Strings are valid until
 * the next call; @data is NULL when absent. */
typedef struct {
  gboolean (*header) (const DsmSnapshotHeader *header, gpointer user_data);
  gboolean (*machine) (const char *name, const char *definition, const char *state,
                       guint64 index, const char *data, gpointer user_data);
  gboolean (*session) (const char *client_id, guint64 last_index, gpointer user_data);
  gboolean (*result) (const DsmSnapshotResult *result, gpointer user_data);
} DsmSnapshotScanFuncs;

/**
 * dsm_snapshot_scan:
 * Reads the "dsm-store-2" snapshot @data in the shape core/store.c
 * writes it (keys in its order, strings without \u escapes, plain
 * integers), calling @funcs for each part.  It only reads what the full
 * JSON parser would read as the same values; anything else (another
 * format or shape, a syntax error, input past DSM_CODEC_INPUT_BYTES_MAX,
 * nesting near DSM_CODEC_DEPTH_MAX) it declines, as it does when a
 * callback does: the caller then reads the snapshot with the full parser,
 * which decides, with its errors.
 * Returns: TRUE when every part was read and accepted.
 */
gboolean dsm_snapshot_scan (const char *data, gsize length, const DsmSnapshotScanFuncs *funcs,
                            gpointer user_data);

G_END_DECLS
