/* tests/plugin/bad-machine.c: machine plugins the loader must refuse, one
 * fault per build (BAD_ABI, SHORT_STRUCT, NO_APPLY, BAD_NAME, NO_ENTRY),
 * and one it loads whose output the store must refuse (BAD_OUTPUT). */
#include "plugin/dsm-machine.h"

#include <string.h>

/* BAD_OUTPUT: a state of -1 snapshots to this many bytes, past what a
 * machine's data may hold. */
#define BAD_HUGE_BYTES (300 * 1024)

G_GNUC_UNUSED static gpointer
bad_state_new (void)
{
  return g_new0 (int, 1);
}

G_GNUC_UNUSED static gpointer
bad_state_copy (gconstpointer state)
{
  return g_memdup2 (state, sizeof (int));
}

G_GNUC_UNUSED static gboolean
bad_validate (gconstpointer state, const char *op, const char *payload, char **error_message)
{
  return TRUE;
}

G_GNUC_UNUSED static char *
bad_apply (gpointer state, const char *op, const char *payload)
{
#ifdef BAD_OUTPUT
  /* "garbage" answers what is no JSON; "grow" makes a state too large. */
  int *count = state;
  *count = strcmp (op, "grow") == 0 ? -1 : *count + 1;
  if (strcmp (op, "garbage") == 0)
    return g_strdup ("not json {");
  return g_strdup_printf ("{\"count\":%d}", *count);
#else
  return g_strdup ("{}");
#endif
}

G_GNUC_UNUSED static GBytes *
bad_snapshot (gconstpointer state)
{
  if (*(const int *) state == -1)
    return g_bytes_new_take (g_malloc0 (BAD_HUGE_BYTES), BAD_HUGE_BYTES);
  return g_bytes_new (state, sizeof (int));
}

G_GNUC_UNUSED static gpointer
bad_restore (GBytes *bytes, char **error_message)
{
  if (g_bytes_get_size (bytes) != sizeof (int))
    {
      *error_message = g_strdup ("not the bytes of an int");
      return NULL;
    }
  return g_memdup2 (g_bytes_get_data (bytes, NULL), sizeof (int));
}

#ifndef NO_ENTRY
static const DsmMachineImpl bad_impl = {
#ifdef BAD_ABI
  .abi_version = DSM_MACHINE_ABI_VERSION + 1,
#else
  .abi_version = DSM_MACHINE_ABI_VERSION,
#endif
#ifdef SHORT_STRUCT
  .struct_size = 16,
#else
  .struct_size = sizeof (DsmMachineImpl),
#endif
#ifdef BAD_NAME
  .name = "bad name",
#else
  .name = "bad",
#endif
  .version = "1",
  .state_new = bad_state_new,
  .state_copy = bad_state_copy,
  .state_free = g_free,
  .validate = bad_validate,
#ifndef NO_APPLY
  .apply = bad_apply,
#endif
  .snapshot = bad_snapshot,
  .restore = bad_restore,
};

DSM_MACHINE_DEFINE_ENTRY (bad_impl)
#else
/* A module, but no machine in it. */
__attribute__ ((visibility ("default"))) int bad_not_a_machine (void);
__attribute__ ((visibility ("default"))) int
bad_not_a_machine (void)
{
  return 0;
}
#endif
