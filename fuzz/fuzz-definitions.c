/* fuzz/fuzz-definitions.c: machine definitions as a DEFINE command or a
 * config carries them (core/definitions.c, core/machine.c), and the
 * definitions list a snapshot restores.  A definition that parses must
 * write back to JSON that parses to the same states and transitions, and
 * replace its name in a definitions table only when the update rule says.
 *
 * Input: [mode] then, mode even: [name] NUL [spec]; mode odd: the JSON of
 * a snapshot's definitions list. */
#include "fuzz.h"

#include "codec.h"
#include "definitions.h"
#include "error.h"

static DsmConfig *config;

/* @a and @b define the same machine. */
static void
fuzz_definitions_same (const DsmMachineDef *a, const DsmMachineDef *b)
{
  guint n = dsm_machine_def_get_n_states (a);

  g_assert_cmpstr (dsm_machine_def_get_name (a), ==, dsm_machine_def_get_name (b));
  g_assert_cmpstr (dsm_machine_def_get_initial (a), ==, dsm_machine_def_get_initial (b));
  g_assert_cmpuint (n, ==, dsm_machine_def_get_n_states (b));
  for (guint i = 0; i < n; i++)
    {
      const char *from = dsm_machine_def_get_state (a, i);
      g_assert_cmpstr (from, ==, dsm_machine_def_get_state (b, i));
      g_assert_nonnull (dsm_machine_def_lookup_state (b, from));
      for (guint j = 0; j < n; j++)
        {
          const char *to = dsm_machine_def_get_state (a, j);
          gboolean allowed = dsm_machine_def_allows (a, from, to);
          g_autoptr(GError) error = NULL;
          g_assert_cmpint (allowed, ==, dsm_machine_def_allows (b, from, to));
          g_assert_cmpint (allowed, ==, dsm_machine_def_validate (b, "m", from, to, &error));
          g_assert_true (allowed == (error == NULL));
        }
    }
}

static void
fuzz_definitions_table (const DsmDefinitions *defs)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GString) again = g_string_new (NULL);
  g_autoptr(GError) error = NULL;

  dsm_definitions_write_json (text, defs);
  g_autoptr(JsonNode) root = dsm_codec_parse (text->str, text->len, &error);
  g_assert_no_error (error);
  g_autoptr(DsmDefinitions) back = dsm_definitions_from_json (root, "definitions", config, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_definitions_get_n (back), ==, dsm_definitions_get_n (defs));
  dsm_definitions_write_json (again, back);
  g_assert_cmpstr (text->str, ==, again->str);
}

static void
fuzz_definitions_spec (DsmFuzzInput *in)
{
  const uint8_t *name_bytes, *spec_bytes;
  size_t name_size = dsm_fuzz_take_until (in, 0, &name_bytes);
  size_t spec_size = dsm_fuzz_take_bytes (in, in->size, &spec_bytes);
  g_autofree char *name = g_strndup ((const char *) name_bytes, name_size);
  g_autofree char *spec = g_strndup ((const char *) spec_bytes, spec_size);
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmMachineDef) def = dsm_definitions_parse_spec (name, spec, &error);

  if (def == NULL)
    {
      g_assert_nonnull (error);
      return;
    }
  g_assert_cmpstr (dsm_machine_def_get_name (def), ==, name);
  g_assert_nonnull (dsm_machine_def_lookup_state (def, dsm_machine_def_get_initial (def)));

  g_autoptr(JsonNode) node = dsm_machine_def_to_json (def);
  g_autoptr(DsmMachineDef) back = dsm_machine_def_new_from_json (node, "fuzz", &error);
  g_assert_no_error (error);
  fuzz_definitions_same (def, back);

  g_autoptr(DsmDefinitions) defs = dsm_definitions_new_bootstrap (config);
  const DsmMachineDef *old = dsm_definitions_find (defs, name, NULL);
  if (!dsm_definitions_check_update (defs, def, &error))
    {
      g_assert_nonnull (error);
      g_assert_nonnull (old);
      return;
    }
  /* An update keeps every state of the version it replaces. */
  for (guint i = 0; old != NULL && i < dsm_machine_def_get_n_states (old); i++)
    g_assert_nonnull (dsm_machine_def_lookup_state (def, dsm_machine_def_get_state (old, i)));
  dsm_definitions_set (defs, def, 7);
  guint64 version = 0;
  g_assert_true (dsm_definitions_find (defs, name, &version) == def);
  g_assert_cmpuint (version, ==, 7);
  fuzz_definitions_table (defs);
}

static void
fuzz_definitions_restore (DsmFuzzInput *in)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = dsm_codec_parse ((const char *) in->data, in->size, &error);

  if (root == NULL)
    return;
  g_autoptr(DsmDefinitions) defs = dsm_definitions_from_json (root, "definitions", config, &error);
  if (defs == NULL)
    {
      g_assert_nonnull (error);
      return;
    }
  fuzz_definitions_table (defs);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  dsm_fuzz_setup ();
  config = dsm_config_new_default (3);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  DsmFuzzInput in = { data, size };

  if (dsm_fuzz_take_byte (&in) & 1)
    fuzz_definitions_restore (&in);
  else
    fuzz_definitions_spec (&in);
  return 0;
}
