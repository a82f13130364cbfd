/* tests/plugin/test-plugin.c: the loader opens a machine plugin by path or
 * by name and refuses, with an error naming the file and the fault, one it
 * cannot trust (docs/PLUGINS.md, "Loading" and "Versioning"). */
#include "plugin/plugin.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static void
test_load_by_path (void)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("A plugin named by its path loads, and its table says which machine it is.");
  g_autoptr(DsmPlugin) plugin = dsm_plugin_load (BANK_LEDGER_PATH, &error);
  g_assert_no_error (error);
  const DsmMachineImpl *impl = dsm_plugin_get_impl (plugin);
  g_assert_cmpstr (impl->name, ==, "bank-ledger");
  g_assert_cmpstr (impl->version, ==, "1.0.0");
  g_assert_cmpuint (impl->abi_version, ==, DSM_MACHINE_ABI_VERSION);
  g_assert_cmpstr (dsm_plugin_get_path (plugin), ==, BANK_LEDGER_PATH);
}

static void
test_load_by_name (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (JOB_QUEUE_PATH);
  g_autofree char *path = g_strdup_printf ("/nonexistent-dsm-plugins:%s", dir);

  g_test_summary ("A plugin named by its name is found as lib<name>.so in DSM_PLUGIN_PATH's directories.");
  g_setenv ("DSM_PLUGIN_PATH", path, TRUE);
  g_autoptr(DsmPlugin) plugin = dsm_plugin_load ("job-queue", &error);
  g_unsetenv ("DSM_PLUGIN_PATH");
  g_assert_no_error (error);
  g_assert_cmpstr (dsm_plugin_get_impl (plugin)->name, ==, "job-queue");
}

static void
test_refuse_missing (void)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("A missing plugin is an error naming what was tried, by name and by path.");
  g_setenv ("DSM_PLUGIN_PATH", "/nonexistent-dsm-plugins", TRUE);
  g_assert_null (dsm_plugin_load ("no-such-machine", &error));
  g_unsetenv ("DSM_PLUGIN_PATH");
  g_assert_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/nonexistent-dsm-plugins/libno-such-machine.so"));
  g_clear_error (&error);

  g_assert_null (dsm_plugin_load ("/nonexistent-dsm-plugins/x.so", &error));
  g_assert_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_null (dsm_plugin_load ("../x", &error));
  g_assert_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (dsm_plugin_load ("bad name", &error));
  g_assert_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_NOT_FOUND);
}

static void
test_refuse_not_a_module (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("dsm-plugin-XXXXXX.so", &path, &error);

  g_test_summary ("A file that is no shared module is refused with the dynamic loader's reason.");
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (path, "not an ELF file\n", -1, &error));
  g_assert_no_error (error);
  close (fd);
  g_assert_null (dsm_plugin_load (path, &error));
  g_assert_error (error, DSM_PLUGIN_ERROR, DSM_PLUGIN_ERROR_OPEN);
  g_assert_nonnull (strstr (error->message, path));
  g_unlink (path);
}

typedef struct {
  const char *path;
  DsmPluginError code;
  const char *says;
} Refusal;

static void
test_refuse (gconstpointer data)
{
  const Refusal *r = data;
  g_autoptr(GError) error = NULL;

  g_assert_null (dsm_plugin_load (r->path, &error));
  g_assert_error (error, DSM_PLUGIN_ERROR, (gint) r->code);
  g_assert_nonnull (strstr (error->message, r->path));
  if (strstr (error->message, r->says) == NULL)
    g_error ("\"%s\" does not say \"%s\"", error->message, r->says);
}

static const Refusal refusals[] = {
  { BAD_ABI_PATH, DSM_PLUGIN_ERROR_ABI, "built for machine ABI 2, this dsm speaks 1" },
  { SHORT_STRUCT_PATH, DSM_PLUGIN_ERROR_ABI, "its DsmMachineImpl has 16 bytes" },
  { NO_APPLY_PATH, DSM_PLUGIN_ERROR_INVALID, "has no apply function" },
  { BAD_NAME_PATH, DSM_PLUGIN_ERROR_INVALID, "name and version must be" },
  { NO_ENTRY_PATH, DSM_PLUGIN_ERROR_NO_ENTRY, "exports no dsm_machine_entry" },
};

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plugin/load/by-path", test_load_by_path);
  g_test_add_func ("/plugin/load/by-name", test_load_by_name);
  g_test_add_func ("/plugin/refuse/missing", test_refuse_missing);
  g_test_add_func ("/plugin/refuse/not-a-module", test_refuse_not_a_module);
  g_test_add_data_func ("/plugin/refuse/abi-mismatch", &refusals[0], test_refuse);
  g_test_add_data_func ("/plugin/refuse/short-struct", &refusals[1], test_refuse);
  g_test_add_data_func ("/plugin/refuse/missing-function", &refusals[2], test_refuse);
  g_test_add_data_func ("/plugin/refuse/bad-name", &refusals[3], test_refuse);
  g_test_add_data_func ("/plugin/refuse/no-entry", &refusals[4], test_refuse);
  return g_test_run ();
}
