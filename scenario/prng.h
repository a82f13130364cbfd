/* scenario/prng.h: the simulator's pseudo-random numbers: xoshiro256** seeded
 * through splitmix64.  Every random choice of a run derives from its one
 * seed through named streams, so removing a fault (shrinking) does not
 * shift the network's or the workload's choices. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint64 s[4];
} DsmPrng;

/* Seeds @prng from @seed and a stream name plus number ("node", 3). */
void dsm_prng_init (DsmPrng *prng, guint64 seed, const char *stream, guint64 n);

guint64 dsm_prng_next (DsmPrng *prng);

/* Uniform in [lo, hi] (inclusive); lo <= hi. */
guint64 dsm_prng_range (DsmPrng *prng, guint64 lo, guint64 hi);

/* TRUE with probability percent / 100. */
gboolean dsm_prng_chance (DsmPrng *prng, guint percent);

/* Uniform in [0, 1). */
double dsm_prng_double (DsmPrng *prng);

/* A GRand for a core node (which only takes GRand), seeded from this stream. */
GRand *dsm_prng_new_grand (DsmPrng *prng);

G_END_DECLS
