/* core/recording.h: a node's inputs as lines of JSON, and a digest of
 * what each drain gave out: what a real host records (`dsm-node --record`)
 * and what a replayer feeds to a new core to reproduce the node's outputs
 * exactly (docs/SIMULATOR.md, "Replaying a real node").  Pure: strings in,
 * strings out; the files are the host's and the replayer's.
 *
 *   {"dsm_record":1,"node":N,"seed":S,"t":T,"config":{...},"durable":"<base64 records>"}
 *   {"i":"start","t":T}          (at most once, before any other input)
 *   {"i":"tick","t":T}           {"i":"step","t":T,"msg":{...}}
 *   {"i":"submit","t":T,"id":N,"cmd":{...}}   {"i":"persisted","t":T,"seq":N}
 *   {"i":"unsent","msg":{...}}   {"i":"invalid"}
 *   {"i":"event_mask","mask":M}  {"i":"report_applies","on":B}
 *   {"i":"disk_full","t":T,"on":B}
 *   {"i":"drain","out":[P,M,R,A,E],"sha":"<32 hex>"}
 *   {"i":"end","why":"stop"|"limit"}
 */
#pragma once

#include <glib.h>

#include "config.h"
#include "node.h"
#include "outbox.h"

G_BEGIN_DECLS

#define DSM_RECORDING_FORMAT 1

/* A recording's lines are bounded before they are parsed. */
#define DSM_RECORDING_LINE_BYTES_MAX (64u * 1024 * 1024)

/* Hex digits of a drain's digest (the first 16 bytes of a SHA-256). */
#define DSM_RECORDING_DIGEST_HEX 32

/* ---- writing (each appends one line and its newline) ---- */

/**
 * dsm_recording_write_header:
 * @seed: the seed of the GRand the node was given (g_rand_new_with_seed)
 * @durable: (nullable): the state it was built from
 * @now_ms: the time it was built at
 *
 * The config is written without its secrets (`secret`, `secret_file`):
 * the core never reads them, and a recording is a file people pass around.
 */
void dsm_recording_write_header (GString *out, const DsmConfig *config, DsmNodeId id, guint32 seed,
                                 const DsmDurableState *durable, guint64 now_ms);
void dsm_recording_write_start (GString *out, guint64 now_ms);
void dsm_recording_write_tick (GString *out, guint64 now_ms);
void dsm_recording_write_step (GString *out, guint64 now_ms, const DsmMessage *msg);
void dsm_recording_write_submit (GString *out, guint64 now_ms, guint64 request_id, const DsmCommand *cmd);
void dsm_recording_write_persisted (GString *out, guint64 now_ms, guint64 seq);
void dsm_recording_write_unsent (GString *out, const DsmMessage *msg);
void dsm_recording_write_invalid (GString *out);
void dsm_recording_write_event_mask (GString *out, guint32 mask);
void dsm_recording_write_report_applies (GString *out, gboolean on);
void dsm_recording_write_disk_full (GString *out, guint64 now_ms, gboolean full);
/* One dsm_node_drain() call and what it put in @outbox. */
void dsm_recording_write_drain (GString *out, const DsmOutbox *outbox);
void dsm_recording_write_end (GString *out, const char *why);

/* The digest of one drain's outputs, every field of every output in
 * order: @hex gets DSM_RECORDING_DIGEST_HEX digits and a NUL. */
void dsm_recording_digest (const DsmOutbox *outbox, char *hex);

/* ---- reading ---- */

typedef struct {
  DsmConfig *config;
  DsmNodeId id;
  guint32 seed;
  DsmDurableState durable;
  guint64 now_ms;
} DsmRecordingHeader;

void dsm_recording_header_clear (DsmRecordingHeader *header);

typedef enum {
  DSM_INPUT_TICK,
  DSM_INPUT_STEP,
  DSM_INPUT_SUBMIT,
  DSM_INPUT_PERSISTED,
  DSM_INPUT_UNSENT,
  DSM_INPUT_INVALID,
  DSM_INPUT_EVENT_MASK,
  DSM_INPUT_REPORT_APPLIES,
  DSM_INPUT_DRAIN,
  DSM_INPUT_END,
  DSM_INPUT_DISK_FULL,
  DSM_INPUT_START,
  DSM_INPUT_N_KINDS,
} DsmInputKind;

const char *dsm_input_kind_to_string (DsmInputKind kind);

typedef struct {
  DsmInputKind kind;
  guint64 now_ms;           /* TICK, STEP, SUBMIT, PERSISTED, DISK_FULL, START */
  DsmMessage *msg;          /* STEP, UNSENT */
  guint64 request_id;       /* SUBMIT */
  DsmCommand cmd;           /* SUBMIT */
  guint64 seq;              /* PERSISTED */
  guint32 mask;             /* EVENT_MASK */
  gboolean on;              /* REPORT_APPLIES, DISK_FULL */
  guint counts[5];          /* DRAIN: persists, messages, replies, applies, events */
  char digest[DSM_RECORDING_DIGEST_HEX + 1]; /* DRAIN */
  char *why;                /* END */
} DsmInput;

void dsm_input_clear (DsmInput *input);

/* Reads the first line.  Errors are DSM_CODEC_ERRORs naming the field. */
gboolean dsm_recording_read_header (const char *line, gsize length, DsmRecordingHeader *header,
                                    GError **error);

/* Reads any other line into @input (zeroed or cleared). */
gboolean dsm_recording_read_input (const char *line, gsize length, DsmInput *input, GError **error);

G_END_DECLS
