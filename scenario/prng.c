/* scenario/prng.c: xoshiro256** (Blackman & Vigna) with splitmix64 seeding. */
#include "scenario/prng.h"

static guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

void
dsm_prng_init (DsmPrng *prng, guint64 seed, const char *stream, guint64 n)
{
  /* FNV-1a of the stream name keeps streams apart for one seed. */
  guint64 x = G_GUINT64_CONSTANT (14695981039346656037);
  for (const char *p = stream; *p != '\0'; p++)
    x = (x ^ (guchar) *p) * G_GUINT64_CONSTANT (1099511628211);
  x ^= seed * G_GUINT64_CONSTANT (0x2545F4914F6CDD1D);
  x ^= n * G_GUINT64_CONSTANT (0x9E3779B97F4A7C15) + 0x632BE59BD9B4E019u;
  for (guint i = 0; i < 4; i++)
    prng->s[i] = splitmix64 (&x);
}

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

guint64
dsm_prng_next (DsmPrng *prng)
{
  guint64 *s = prng->s;
  guint64 result = rotl (s[1] * 5, 7) * 9;
  guint64 t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

guint64
dsm_prng_range (DsmPrng *prng, guint64 lo, guint64 hi)
{
  g_assert (lo <= hi);
  guint64 span = hi - lo + 1;
  if (span == 0)
    return dsm_prng_next (prng); /* the whole 64-bit range */
  /* Rejection sampling: no modulo bias. */
  guint64 limit = G_MAXUINT64 - G_MAXUINT64 % span;
  guint64 x;
  do
    x = dsm_prng_next (prng);
  while (x >= limit);
  return lo + x % span;
}

gboolean
dsm_prng_chance (DsmPrng *prng, guint percent)
{
  return percent > 0 && (percent >= 100 || dsm_prng_range (prng, 0, 99) < percent);
}

double
dsm_prng_double (DsmPrng *prng)
{
  return (double) (dsm_prng_next (prng) >> 11) * (1.0 / 9007199254740992.0);
}

GRand *
dsm_prng_new_grand (DsmPrng *prng)
{
  guint32 seed[4];

  for (guint i = 0; i < 4; i++)
    seed[i] = (guint32) dsm_prng_next (prng);
  return g_rand_new_with_seed_array (seed, 4);
}
