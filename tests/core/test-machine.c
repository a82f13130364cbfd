/* tests/core/test-machine.c: machine definitions: the built-in lifecycle,
 * transition checks and their messages, and JSON definitions in and out. */
#include <string.h>

#include "error.h"
#include "machine.h"

static JsonNode *
parse (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_ref (json_parser_get_root (parser));
}

static DsmMachineDef *
door_new (void)
{
  g_autoptr(JsonNode) node = parse (
    "{\"name\": \"door\", \"states\": [\"Closed\", \"Open\", \"Locked\"],"
    " \"initial\": \"Closed\", \"transitions\": ["
    "  {\"from\": \"Closed\", \"to\": \"Open\"}, {\"from\": \"Open\", \"to\": \"Closed\"},"
    "  {\"from\": \"Closed\", \"to\": \"Locked\"}, {\"from\": \"Locked\", \"to\": \"Closed\"}]}");
  g_autoptr(GError) error = NULL;
  DsmMachineDef *def = dsm_machine_def_new_from_json (node, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (def);
  return def;
}

static void
test_lifecycle_shape (void)
{
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_lifecycle ();

  g_test_summary ("The built-in definition is exactly Init, Running, Stopped, starting at Init.");
  g_assert_cmpstr (dsm_machine_def_get_name (def), ==, DSM_MACHINE_LIFECYCLE);
  g_assert_cmpuint (dsm_machine_def_get_n_states (def), ==, 3);
  g_assert_cmpstr (dsm_machine_def_get_state (def, 0), ==, "Init");
  g_assert_cmpstr (dsm_machine_def_get_state (def, 1), ==, "Running");
  g_assert_cmpstr (dsm_machine_def_get_state (def, 2), ==, "Stopped");
  g_assert_cmpstr (dsm_machine_def_get_initial (def), ==, "Init");
}

/* All nine (from, to) pairs of lifecycle; exactly three are legal. */
typedef struct {
  const char *from;
  const char *to;
  gboolean legal;
} Pair;

static const Pair lifecycle_pairs[] = {
  { "Init", "Init", FALSE },
  { "Init", "Running", TRUE },
  { "Init", "Stopped", FALSE },
  { "Running", "Init", FALSE },
  { "Running", "Running", FALSE },
  { "Running", "Stopped", TRUE },
  { "Stopped", "Init", TRUE },
  { "Stopped", "Running", FALSE },
  { "Stopped", "Stopped", FALSE },
};

static void
test_lifecycle_pair (gconstpointer data)
{
  const Pair *pair = data;
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_lifecycle ();
  g_autoptr(GError) error = NULL;
  gboolean ok;

  g_test_summary ("Each lifecycle move is legal exactly when the definition lists it; "
                  "a refusal names the machine, the current and the requested state.");
  g_assert_cmpint (dsm_machine_def_allows (def, pair->from, pair->to), ==, pair->legal);
  ok = dsm_machine_def_validate (def, "job-42", pair->from, pair->to, &error);
  g_assert_cmpint (ok, ==, pair->legal);
  if (pair->legal)
    {
      g_assert_no_error (error);
      return;
    }
  g_assert_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_INVALID_TRANSITION);
  g_assert_nonnull (strstr (error->message, "\"job-42\""));
  {
    g_autofree char *move = g_strdup_printf ("transition %s -> %s is not allowed",
                                             pair->from, pair->to);

    g_assert_nonnull (strstr (error->message, move));
  }
}

static void
test_validate_message (void)
{
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_lifecycle ();
  g_autoptr(GError) error = NULL;

  g_test_summary ("The refusal says what is allowed instead, for the operator reading it.");
  g_assert_false (dsm_machine_def_validate (def, "job-42", "Running", "Init", &error));
  g_assert_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_INVALID_TRANSITION);
  g_assert_cmpstr (error->message, ==,
                   "machine \"job-42\": transition Running -> Init is not allowed "
                   "(lifecycle allows Running -> Stopped)");
}

static void
test_validate_dead_end_message (void)
{
  g_autoptr(JsonNode) node = parse ("{\"name\": \"once\", \"states\": [\"New\", \"Done\"],"
                                    " \"initial\": \"New\","
                                    " \"transitions\": [{\"from\": \"New\", \"to\": \"Done\"}]}");
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_from_json (node, NULL, NULL);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A state with no way out says so rather than listing nothing.");
  g_assert_nonnull (def);
  g_assert_false (dsm_machine_def_validate (def, "m", "Done", "New", &error));
  g_assert_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_INVALID_TRANSITION);
  g_assert_nonnull (strstr (error->message, "once allows no transition from Done"));
}

static void
test_unknown_target (void)
{
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_lifecycle ();
  g_autoptr(GError) error = NULL;

  g_test_summary ("Asking for a state the definition lacks is UNKNOWN_STATE, not a refusal.");
  g_assert_false (dsm_machine_def_allows (def, "Init", "Runing"));
  g_assert_false (dsm_machine_def_validate (def, "job-42", "Init", "Runing", &error));
  g_assert_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_UNKNOWN_STATE);
  g_assert_nonnull (strstr (error->message, "\"job-42\""));
  g_assert_nonnull (strstr (error->message, "Init"));
  g_assert_nonnull (strstr (error->message, "\"Runing\" is not a state of lifecycle"));
}

static void
test_unknown_current (void)
{
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_lifecycle ();
  g_autoptr(GError) error = NULL;

  g_test_summary ("An unknown current state is UNKNOWN_STATE too, naming it.");
  g_assert_false (dsm_machine_def_validate (def, "job-42", "Paused", "Running", &error));
  g_assert_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_UNKNOWN_STATE);
  g_assert_nonnull (strstr (error->message, "\"Paused\" is not a state of lifecycle"));
}

static void
test_states_compare_exactly (void)
{
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_lifecycle ();

  g_test_summary ("State names are case-sensitive: \"running\" is not Running.");
  g_assert_null (dsm_machine_def_lookup_state (def, "running"));
  g_assert_null (dsm_machine_def_lookup_state (def, "Running "));
  g_assert_null (dsm_machine_def_lookup_state (def, ""));
}

static void
test_lookup_canonical (void)
{
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_lifecycle ();
  g_autofree char *copy = g_strdup ("Running");
  const char *canonical = dsm_machine_def_lookup_state (def, "Running");

  g_test_summary ("Lookups return the definition's own string, so callers compare pointers.");
  g_assert_nonnull (canonical);
  g_assert_true (canonical == dsm_machine_def_get_state (def, 1));
  g_assert_true (dsm_machine_def_lookup_state (def, copy) == canonical);
  g_assert_true (dsm_machine_def_lookup_state (def, canonical) == canonical);
}

static void
test_self_transition_listed (void)
{
  g_autoptr(JsonNode) node = parse ("{\"name\": \"ping\", \"states\": [\"Up\"],"
                                    " \"initial\": \"Up\","
                                    " \"transitions\": [{\"from\": \"Up\", \"to\": \"Up\"}]}");
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_from_json (node, NULL, &error);

  g_test_summary ("Staying put is legal when, and only when, the definition lists it.");
  g_assert_no_error (error);
  g_assert_true (dsm_machine_def_validate (def, "p", "Up", "Up", &error));
  g_assert_no_error (error);
}

static void
test_ref_unref (void)
{
  DsmMachineDef *def = dsm_machine_def_new_lifecycle ();
  const char *init = dsm_machine_def_get_initial (def);

  g_test_summary ("A definition lives while anyone holds a reference.");
  g_assert_true (dsm_machine_def_ref (def) == def);
  dsm_machine_def_unref (def);
  g_assert_cmpstr (init, ==, "Init");
  dsm_machine_def_unref (def);
}

static void
test_json_reads_door (void)
{
  g_autoptr(DsmMachineDef) def = door_new ();

  g_test_summary ("A JSON definition gives its name, states in order, initial and moves.");
  g_assert_cmpstr (dsm_machine_def_get_name (def), ==, "door");
  g_assert_cmpuint (dsm_machine_def_get_n_states (def), ==, 3);
  g_assert_cmpstr (dsm_machine_def_get_state (def, 2), ==, "Locked");
  g_assert_cmpstr (dsm_machine_def_get_initial (def), ==, "Closed");
  g_assert_true (dsm_machine_def_allows (def, "Closed", "Locked"));
  g_assert_false (dsm_machine_def_allows (def, "Open", "Locked"));
  g_assert_false (dsm_machine_def_allows (def, "Locked", "Open"));
}

static void
test_json_round_trip (void)
{
  g_autoptr(DsmMachineDef) def = door_new ();
  g_autoptr(JsonNode) first = dsm_machine_def_to_json (def);
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmMachineDef) again = dsm_machine_def_new_from_json (first, NULL, &error);
  g_autoptr(JsonNode) second = NULL;

  g_test_summary ("to_json writes what new_from_json reads, unchanged.");
  g_assert_no_error (error);
  g_assert_cmpstr (dsm_machine_def_get_name (again), ==, "door");
  g_assert_cmpuint (dsm_machine_def_get_n_states (again), ==, 3);
  g_assert_cmpstr (dsm_machine_def_get_initial (again), ==, "Closed");
  for (guint i = 0; i < 3; i++)
    for (guint j = 0; j < 3; j++)
      {
        const char *from = dsm_machine_def_get_state (def, i);
        const char *to = dsm_machine_def_get_state (def, j);

        g_assert_cmpstr (dsm_machine_def_get_state (again, i), ==, from);
        g_assert_cmpint (dsm_machine_def_allows (again, from, to), ==,
                         dsm_machine_def_allows (def, from, to));
      }
  second = dsm_machine_def_to_json (again);
  g_assert_true (json_node_equal (first, second));
}

static void
test_json_lifecycle_round_trip (void)
{
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_lifecycle ();
  g_autoptr(JsonNode) node = dsm_machine_def_to_json (def);
  g_autofree char *text = json_to_string (node, FALSE);

  g_test_summary ("The built-in definition writes out in the documented format.");
  g_assert_cmpstr (text, ==,
                   "{\"name\":\"lifecycle\",\"states\":[\"Init\",\"Running\",\"Stopped\"],"
                   "\"initial\":\"Init\",\"transitions\":["
                   "{\"from\":\"Init\",\"to\":\"Running\"},"
                   "{\"from\":\"Running\",\"to\":\"Stopped\"},"
                   "{\"from\":\"Stopped\",\"to\":\"Init\"}]}");
}

static void
test_json_comment_allowed (void)
{
  g_autoptr(JsonNode) node = parse ("{\"comment\": \"for humans\", \"name\": \"n\","
                                    " \"states\": [\"A\"], \"initial\": \"A\","
                                    " \"transitions\": []}");
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_from_json (node, NULL, &error);

  g_test_summary ("A \"comment\" key is for humans and ignored; no transitions is allowed.");
  g_assert_no_error (error);
  g_assert_false (dsm_machine_def_allows (def, "A", "A"));
}

static void
test_json_where_prefix (void)
{
  g_autoptr(JsonNode) node = parse ("{\"name\": \"door\", \"states\": [\"Closed\", \"Open\"],"
                                    " \"initial\": \"Closed\", \"transitions\": ["
                                    "  {\"from\": \"Closed\", \"to\": \"Open\"},"
                                    "  {\"from\": \"Open\", \"to\": \"Closed\"},"
                                    "  {\"from\": \"Open\", \"to\": \"Open\"},"
                                    "  {\"from\": \"Closed\", \"to\": \"Opne\"}]}");
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_from_json (node, "definitions[1]", &error);

  g_test_summary ("Errors carry the caller's path, down to the offending field.");
  g_assert_null (def);
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==,
                   "definitions[1].transitions[3].to: \"Opne\" is not a state of \"door\"");
}

/* Bad definitions: each names the field at fault. */
typedef struct {
  const char *test;
  const char *json;
  DsmConfigError code;
  const char *field;   /* must appear in the message */
} BadDef;

#define T(from, to) "{\"from\": \"" from "\", \"to\": \"" to "\"}"
#define DEF(name, states, initial, transitions)                                        \
  "{\"name\": " name ", \"states\": " states ", \"initial\": " initial                 \
  ", \"transitions\": " transitions "}"

static const BadDef bad_defs[] = {
  { "not-an-object", "[1, 2]", DSM_CONFIG_ERROR_TYPE, "where" },
  { "missing-name", "{\"states\": [\"A\"], \"initial\": \"A\", \"transitions\": []}",
    DSM_CONFIG_ERROR_MISSING, "where.name" },
  { "missing-states", "{\"name\": \"n\", \"initial\": \"A\", \"transitions\": []}",
    DSM_CONFIG_ERROR_MISSING, "where.states" },
  { "missing-initial", "{\"name\": \"n\", \"states\": [\"A\"], \"transitions\": []}",
    DSM_CONFIG_ERROR_MISSING, "where.initial" },
  { "missing-transitions", "{\"name\": \"n\", \"states\": [\"A\"], \"initial\": \"A\"}",
    DSM_CONFIG_ERROR_MISSING, "where.transitions" },
  { "unknown-key",
    "{\"name\": \"n\", \"states\": [\"A\"], \"initial\": \"A\", \"transition\": []}",
    DSM_CONFIG_ERROR_UNKNOWN, "where.transition: unknown key (did you mean \"transitions\"?)" },
  { "name-not-string", DEF ("7", "[\"A\"]", "\"A\"", "[]"), DSM_CONFIG_ERROR_TYPE,
    "where.name" },
  { "name-empty", DEF ("\"\"", "[\"A\"]", "\"A\"", "[]"), DSM_CONFIG_ERROR_INVALID,
    "where.name" },
  { "name-too-long",
    DEF ("\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
         "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"",
         "[\"A\"]", "\"A\"", "[]"),
    DSM_CONFIG_ERROR_INVALID, "where.name" },
  { "name-control-char", DEF ("\"do\\u0007or\"", "[\"A\"]", "\"A\"", "[]"),
    DSM_CONFIG_ERROR_INVALID, "where.name" },
  { "states-not-array", DEF ("\"n\"", "\"A\"", "\"A\"", "[]"), DSM_CONFIG_ERROR_TYPE,
    "where.states" },
  { "states-empty", DEF ("\"n\"", "[]", "\"A\"", "[]"), DSM_CONFIG_ERROR_INVALID,
    "where.states" },
  { "state-not-string", DEF ("\"n\"", "[\"A\", 2]", "\"A\"", "[]"), DSM_CONFIG_ERROR_TYPE,
    "where.states[1]" },
  { "state-empty", DEF ("\"n\"", "[\"A\", \"\"]", "\"A\"", "[]"), DSM_CONFIG_ERROR_INVALID,
    "where.states[1]" },
  { "state-newline", DEF ("\"n\"", "[\"A\", \"B\\n\"]", "\"A\"", "[]"),
    DSM_CONFIG_ERROR_INVALID, "where.states[1]" },
  { "state-c1-control", DEF ("\"n\"", "[\"A\", \"B\\u0085\"]", "\"A\"", "[]"),
    DSM_CONFIG_ERROR_INVALID, "where.states[1]" },
  { "state-duplicate", DEF ("\"n\"", "[\"A\", \"B\", \"A\"]", "\"A\"", "[]"),
    DSM_CONFIG_ERROR_INVALID, "where.states[2]" },
  { "initial-unknown", DEF ("\"n\"", "[\"A\", \"B\"]", "\"C\"", "[]"),
    DSM_CONFIG_ERROR_INVALID, "where.initial" },
  { "initial-not-string", DEF ("\"n\"", "[\"A\"]", "0", "[]"), DSM_CONFIG_ERROR_TYPE,
    "where.initial" },
  { "transitions-not-array", DEF ("\"n\"", "[\"A\"]", "\"A\"", "{}"), DSM_CONFIG_ERROR_TYPE,
    "where.transitions" },
  { "transition-not-object", DEF ("\"n\"", "[\"A\"]", "\"A\"", "[\"A->A\"]"),
    DSM_CONFIG_ERROR_TYPE, "where.transitions[0]" },
  { "transition-missing-to", DEF ("\"n\"", "[\"A\"]", "\"A\"", "[{\"from\": \"A\"}]"),
    DSM_CONFIG_ERROR_MISSING, "where.transitions[0].to" },
  { "transition-unknown-key",
    DEF ("\"n\"", "[\"A\"]", "\"A\"", "[{\"from\": \"A\", \"too\": \"A\"}]"),
    DSM_CONFIG_ERROR_UNKNOWN, "where.transitions[0]" },
  { "transition-from-unknown",
    DEF ("\"n\"", "[\"A\", \"B\"]", "\"A\"", "[" T ("A", "B") ", " T ("X", "B") "]"),
    DSM_CONFIG_ERROR_INVALID, "where.transitions[1].from" },
  { "transition-to-not-string",
    DEF ("\"n\"", "[\"A\"]", "\"A\"", "[{\"from\": \"A\", \"to\": null}]"),
    DSM_CONFIG_ERROR_TYPE, "where.transitions[0].to" },
  { "transition-duplicate",
    DEF ("\"n\"", "[\"A\", \"B\"]", "\"A\"",
         "[" T ("A", "B") ", " T ("B", "A") ", " T ("A", "B") "]"),
    DSM_CONFIG_ERROR_INVALID, "where.transitions[2]" },
};

static void
test_json_bad (gconstpointer data)
{
  const BadDef *bad = data;
  g_autoptr(JsonNode) node = parse (bad->json);
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_from_json (node, "where", &error);

  g_test_summary ("A bad definition is refused with the right code and the field's path.");
  g_assert_null (def);
  g_test_message ("%s", error ? error->message : "(no error)");
  g_assert_error (error, DSM_CONFIG_ERROR, (gint) bad->code);
  if (strstr (error->message, bad->field) == NULL)
    g_error ("message \"%s\" does not name %s", error->message, bad->field);
}

static void
test_json_too_many_states (void)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmMachineDef) def = NULL;

  g_test_summary ("A definition holds at most DSM_MACHINE_STATES_MAX states.");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, "big");
  json_builder_set_member_name (builder, "states");
  json_builder_begin_array (builder);
  for (guint i = 0; i < DSM_MACHINE_STATES_MAX + 1; i++)
    {
      g_autofree char *state = g_strdup_printf ("S%u", i);

      json_builder_add_string_value (builder, state);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "initial");
  json_builder_add_string_value (builder, "S0");
  json_builder_set_member_name (builder, "transitions");
  json_builder_begin_array (builder);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);

  def = dsm_machine_def_new_from_json (node, NULL, &error);
  g_assert_null (def);
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_RANGE);
  g_assert_true (g_str_has_prefix (error->message, "states: 65 elements, more than 64"));
}

static void
test_json_max_states (void)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmMachineDef) def = NULL;

  g_test_summary ("Exactly DSM_MACHINE_STATES_MAX states fit, and the last one's moves work.");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, "big");
  json_builder_set_member_name (builder, "states");
  json_builder_begin_array (builder);
  for (guint i = 0; i < DSM_MACHINE_STATES_MAX; i++)
    {
      g_autofree char *state = g_strdup_printf ("S%u", i);

      json_builder_add_string_value (builder, state);
    }
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "initial");
  json_builder_add_string_value (builder, "S63");
  json_builder_set_member_name (builder, "transitions");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "from");
  json_builder_add_string_value (builder, "S63");
  json_builder_set_member_name (builder, "to");
  json_builder_add_string_value (builder, "S63");
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  node = json_builder_get_root (builder);

  def = dsm_machine_def_new_from_json (node, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_machine_def_get_n_states (def), ==, DSM_MACHINE_STATES_MAX);
  g_assert_true (dsm_machine_def_allows (def, "S63", "S63"));
  g_assert_false (dsm_machine_def_allows (def, "S62", "S63"));
  g_assert_false (dsm_machine_def_allows (def, "S0", "S0"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/core/machine/lifecycle/shape", test_lifecycle_shape);
  for (guint i = 0; i < G_N_ELEMENTS (lifecycle_pairs); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/machine/lifecycle/%s-to-%s",
                                               lifecycle_pairs[i].from, lifecycle_pairs[i].to);

      g_test_add_data_func (path, &lifecycle_pairs[i], test_lifecycle_pair);
    }
  g_test_add_func ("/core/machine/validate/message", test_validate_message);
  g_test_add_func ("/core/machine/validate/dead-end-message", test_validate_dead_end_message);
  g_test_add_func ("/core/machine/validate/unknown-target", test_unknown_target);
  g_test_add_func ("/core/machine/validate/unknown-current", test_unknown_current);
  g_test_add_func ("/core/machine/validate/self-transition-listed", test_self_transition_listed);
  g_test_add_func ("/core/machine/lookup/exact", test_states_compare_exactly);
  g_test_add_func ("/core/machine/lookup/canonical", test_lookup_canonical);
  g_test_add_func ("/core/machine/ref-unref", test_ref_unref);
  g_test_add_func ("/core/machine/json/reads-door", test_json_reads_door);
  g_test_add_func ("/core/machine/json/round-trip", test_json_round_trip);
  g_test_add_func ("/core/machine/json/lifecycle-format", test_json_lifecycle_round_trip);
  g_test_add_func ("/core/machine/json/comment-allowed", test_json_comment_allowed);
  g_test_add_func ("/core/machine/json/where-prefix", test_json_where_prefix);
  g_test_add_func ("/core/machine/json/too-many-states", test_json_too_many_states);
  g_test_add_func ("/core/machine/json/max-states", test_json_max_states);
  for (guint i = 0; i < G_N_ELEMENTS (bad_defs); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/machine/json/bad/%s", bad_defs[i].test);

      g_test_add_data_func (path, &bad_defs[i], test_json_bad);
    }

  return g_test_run ();
}
