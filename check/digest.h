/* check/digest.h: a fixed-size digest of a log entry, so a checker can
 * compare what nodes applied at an index without keeping the entry
 * (docs/CHECKERS.md, "Agreement"). */
#pragma once

#include <glib.h>

#include "entry.h"

G_BEGIN_DECLS

/* 128 bits: two independently mixed 64-bit lanes. */
typedef struct {
  guint64 lo;
  guint64 hi;
} DsmDigest;

/**
 * dsm_digest_entry:
 * Digests every field dsm_entry_equal() compares (index, epoch, kind, the
 * whole command, a CONFIG entry's membership), each framed by its length
 * (a NULL string differs from an empty one), so equal entries have equal
 * digests and different ones differ but with probability about 2^-128
 * per pair: not a defence against a forger, which nothing in a run is.
 */
void dsm_digest_entry (const DsmEntry *entry, DsmDigest *out);

static inline gboolean
dsm_digest_equal (const DsmDigest *a, const DsmDigest *b)
{
  return a->lo == b->lo && a->hi == b->hi;
}

G_END_DECLS
