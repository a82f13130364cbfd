/* fuzz/fuzz.h: what every fuzz target shares.  Input from outside must
 * never reach an assertion, a g_return_if_fail or a critical log: the
 * harness makes those abort, so libFuzzer (or the corpus replay in the
 * test suite) reports them as crashes (docs/SECURITY.md, "Fuzzing"). */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"

G_BEGIN_DECLS

/* libFuzzer's entry points, defined by each target. */
int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Once per process: criticals and errors abort (with their message on
 * stderr), everything else logged is dropped (fuzzing speed). */
void dsm_fuzz_setup (void);

/* Reads input as a little byte stream: the targets that need a few
 * choices (a mode, chunk sizes) take them from the front of the input. */
typedef struct {
  const uint8_t *data;
  size_t size;
} DsmFuzzInput;

/* The next byte (0 once the input is spent). */
guint8 dsm_fuzz_take_byte (DsmFuzzInput *in);
/* The next 4 bytes, little-endian (missing bytes are 0). */
guint32 dsm_fuzz_take_u32 (DsmFuzzInput *in);
/* Up to @length bytes: *@out points into the input; returns how many. */
size_t dsm_fuzz_take_bytes (DsmFuzzInput *in, size_t length, const uint8_t **out);
/* The bytes up to the next @separator (taken, not returned) or the end. */
size_t dsm_fuzz_take_until (DsmFuzzInput *in, guint8 separator, const uint8_t **out);

/* Returns: (transfer full): a 3-node default config of cluster "fuzz",
 * the one data directories and backups of the targets are made for. */
DsmConfig *dsm_fuzz_config_new (void);

/* A private scratch directory for this process, made once and removed at
 * exit (under $TMPDIR). */
const char *dsm_fuzz_scratch_dir (void);

G_END_DECLS
