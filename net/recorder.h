/* net/recorder.h: the file a real node records its core's inputs to
 * (`dsm-node --record FILE`; the lines are core/recording.h's): bounded in
 * bytes, rotated at every start, private (mode 0600), written at each
 * drain.  A failure to write stops the recording, never the node. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _DsmRecorder DsmRecorder;

typedef struct {
  const char *path;
  guint64 max_bytes;        /* past this the recording ends ("limit") */
  guint keep;               /* recordings kept: FILE, FILE.1 ... FILE.(keep-1), newest first */
} DsmRecorderOptions;

#define DSM_RECORDER_MAX_BYTES_DEFAULT (G_GUINT64_CONSTANT (64) * 1024 * 1024)
#define DSM_RECORDER_KEEP_DEFAULT 4

/* Moves the recordings of earlier starts aside and opens a new one.
 * Returns: (transfer full): the recorder, or NULL with @error. */
DsmRecorder *dsm_recorder_open (const DsmRecorderOptions *options, GError **error);

/* The lines not yet written (borrowed); NULL once the recording ended:
 * callers append to it only while it is not NULL. */
GString *dsm_recorder_lines (DsmRecorder *recorder);

/* Writes the lines held; past max_bytes, ends the recording instead. */
void dsm_recorder_flush (DsmRecorder *recorder);

/* Writes what is held, an "end" line with @why, and closes the file.
 * NULL is ignored. */
void dsm_recorder_close (DsmRecorder *recorder, const char *why);

G_END_DECLS
