/* tests/plugin/test-plugin-set.c: a host loads the plugins its config
 * ("plugins") and its --plugin flags name, and hands them to the config;
 * one it cannot load stops it with an error naming the entry
 * (docs/CONFIG.md, "Machine plugins"). */
#include "core/config.h"
#include "core/error.h"
#include "core/fingerprint.h"
#include "plugin/plugins.h"

#include <string.h>

static DsmConfig *
load (const char *json)
{
  g_autoptr(GError) error = NULL;
  DsmConfig *config = dsm_config_new_from_data (json, -1, NULL, NULL, &error);

  g_assert_no_error (error);
  return config;
}

static void
test_config_and_flags (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (BANK_LEDGER_PATH);
  g_autoptr(DsmConfig) config = load ("{\"nodes\": 3, \"plugins\": [\"bank-ledger\"]}");
  g_autoptr(DsmConfig) bare = load ("{\"nodes\": 3, \"plugins\": [\"bank-ledger\"]}");
  const char *flags[] = { JOB_QUEUE_PATH, NULL };

  g_test_summary ("The config's plugins (by name, in DSM_PLUGIN_PATH) and the flags' (by path) become "
                  "definitions; the set enters the fingerprint, and the config written back still names them.");
  g_setenv ("DSM_PLUGIN_PATH", dir, TRUE);
  g_autoptr(DsmPluginSet) set = dsm_plugin_set_load (config, flags, NULL, &error);
  g_unsetenv ("DSM_PLUGIN_PATH");
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_plugin_set_get_n (set), ==, 2);
  g_assert_cmpstr (dsm_plugin_set_get_impl (set, 1)->name, ==, "job-queue");
  g_assert_nonnull (dsm_plugin_set_find (set, "bank-ledger"));
  g_assert_null (dsm_plugin_set_find (set, "lifecycle"));

  const DsmMachineDef *def = dsm_config_find_definition (config, "job-queue");
  g_assert_nonnull (def);
  g_assert_true (dsm_machine_def_get_impl (def) == dsm_plugin_set_find (set, "job-queue"));
  g_autofree char *described = dsm_config_describe_plugins (config);
  g_assert_cmpstr (described, ==, "bank-ledger 1.0.0, job-queue 1.0.0");

  /* The same file without the flag's plugin is another cluster. */
  g_autofree char *a = dsm_fingerprint_compute (config);
  g_autofree char *b = dsm_fingerprint_compute (bare);
  g_assert_cmpstr (a, !=, b);

  /* Written back, the definitions a plugin brings are left out (its
   * code is what defines it): the text reads back as it was. */
  g_autofree char *text = dsm_config_to_json (config);
  g_assert_null (strstr (text, "\"plugin\""));
  g_autoptr(DsmConfig) again = load (text);
  g_assert_cmpstr (again->plugins[0], ==, "bank-ledger");
}

static void
test_relative_path (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (BANK_LEDGER_PATH);
  g_autofree char *base = g_path_get_basename (BANK_LEDGER_PATH);
  g_autofree char *json = g_strdup_printf ("{\"nodes\": 1, \"plugins\": [\"./%s\"]}", base);
  g_autoptr(DsmConfig) config = load (json);

  g_test_summary ("A relative path in \"plugins\" resolves against the config file's folder.");
  g_autoptr(DsmPluginSet) set = dsm_plugin_set_load (config, NULL, dir, &error);
  g_assert_nonnull (set);
  g_assert_no_error (error);
  g_assert_nonnull (dsm_config_find_definition (config, "bank-ledger"));
}

typedef struct {
  const char *config;   /* %s: the folder of the examples' plugins */
  const char *flag;     /* nullable */
  gboolean config_error; /* a DSM_CONFIG_ERROR, else a DSM_PLUGIN_ERROR */
  int code;
  const char *says;
} Refusal;

static void
test_refuse (gconstpointer data)
{
  const Refusal *r = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = load (r->config);
  const char *flags[] = { r->flag, NULL };

  g_test_summary ("A plugin that cannot run stops the host with an error naming the entry and the fault.");
  g_setenv ("DSM_PLUGIN_PATH", "/nonexistent-dsm-plugins", TRUE);
  g_autoptr(DsmPluginSet) set = dsm_plugin_set_load (config, flags, NULL, &error);
  g_unsetenv ("DSM_PLUGIN_PATH");
  g_assert_null (set);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (error->domain == (r->config_error ? DSM_CONFIG_ERROR : DSM_PLUGIN_ERROR));
  g_assert_cmpint (error->code, ==, r->code);
  if (strstr (error->message, r->says) == NULL)
    g_error ("\"%s\" does not say \"%s\"", error->message, r->says);
}

static const Refusal refusals[] = {
  { "{\"nodes\": 3, \"plugins\": [\"no-such-machine\"]}", NULL, FALSE, DSM_PLUGIN_ERROR_NOT_FOUND,
    "plugins[0] (\"no-such-machine\"): " },
  { "{\"nodes\": 3}", BAD_ABI_PATH, FALSE, DSM_PLUGIN_ERROR_ABI,
    "built for machine ABI 2, this dsm speaks 1" },
  { "{\"nodes\": 3, \"plugins\": [\"" BANK_LEDGER_PATH "\"]}", BANK_LEDGER_BUG_PATH, FALSE, DSM_PLUGIN_ERROR_INVALID,
    "a second plugin named \"bank-ledger\"" },
  { "{\"nodes\": 3, \"plugins\": [\"" JOB_QUEUE_PATH "\"], \"definitions\": [{\"name\": \"job-queue\", "
    "\"states\": [\"A\"], \"initial\": \"A\", \"transitions\": []}]}", NULL, TRUE, DSM_CONFIG_ERROR_INVALID,
    "plugins[0] (\"" JOB_QUEUE_PATH "\"): plugins: machine plugin \"job-queue\" has the name of a definition" },
};

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plugin/set/config-and-flags", test_config_and_flags);
  g_test_add_func ("/plugin/set/relative-path", test_relative_path);
  g_test_add_data_func ("/plugin/set/refuse/missing", &refusals[0], test_refuse);
  g_test_add_data_func ("/plugin/set/refuse/abi-mismatch", &refusals[1], test_refuse);
  g_test_add_data_func ("/plugin/set/refuse/same-name-twice", &refusals[2], test_refuse);
  g_test_add_data_func ("/plugin/set/refuse/name-of-a-definition", &refusals[3], test_refuse);
  return g_test_run ();
}
