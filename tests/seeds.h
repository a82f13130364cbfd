/* tests/seeds.h: how many seeds a test that repeats a scenario over many
 * seeds runs: all of them, or a fifth where time is dear.
 *
 * DSM_TEST_FEWER_SEEDS=1 (set by .ci/run for its sanitizer pass: the plain
 * pass runs the full count, README.md "Tests") divides each count by five,
 * keeping at least one.  Only the number of repetitions changes: every
 * assertion of every repetition still runs. */
#pragma once

#include <glib.h>

static inline guint
dsm_test_seeds (guint full)
{
  const char *fewer = g_getenv ("DSM_TEST_FEWER_SEEDS");

  if (fewer == NULL || *fewer == '\0' || g_strcmp0 (fewer, "0") == 0)
    return full;
  return MAX (full / 5, 1);
}
