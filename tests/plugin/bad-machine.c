/* tests/plugin/bad-machine.c: machine plugins the loader must refuse, one
 * fault per build (BAD_ABI, SHORT_STRUCT, NO_APPLY, BAD_NAME, NO_ENTRY). */
#include "plugin/dsm-machine.h"

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
  return g_strdup ("{}");
}

G_GNUC_UNUSED static GBytes *
bad_snapshot (gconstpointer state)
{
  return g_bytes_new (state, sizeof (int));
}

G_GNUC_UNUSED static gpointer
bad_restore (GBytes *bytes, char **error_message)
{
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
