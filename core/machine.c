/* core/machine.c: machine definitions: states, the initial state and the
 * legal transitions, built in ("lifecycle") or read from JSON.
 *
 * A definition is immutable once built and reference counted, so the
 * config, the store and every apply result share one copy.  The built-in
 * lifecycle machine, as dsm_machine_def_new_lifecycle() builds it:
 *
 *     Init --> Running --> Stopped
 *      ^                      |
 *      +----------------------+
 *
 * Any other move, including staying put (Init -> Init), is refused by
 * dsm_machine_def_validate(). */
#include "machine.h"

#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "error.h"
#include "json.h"
#include "machine-private.h"

/* The transition matrix is one 64-bit row per state. */
G_STATIC_ASSERT (DSM_MACHINE_STATES_MAX <= 64);

struct _DsmMachineDef {
  gatomicrefcount ref_count;
  char *name;
  char *states[DSM_MACHINE_STATES_MAX];  /* owned, canonical spellings */
  guint n_states;
  guint initial;                         /* index into states */
  guint64 allowed[DSM_MACHINE_STATES_MAX]; /* bit j of row i: states[i] -> states[j] */
  DsmMachineFields *fields;              /* the data it declares (machine-fields.c) */
  const DsmMachineImpl *impl;            /* nullable: a machine plugin's (docs/PLUGINS.md) */
};

/* ---- names (machine-private.h) ---- */

gboolean
dsm_machine_check_name (const char *name, const char *path, GError **error)
{
  gsize length;

  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  length = strlen (name);
  if (length == 0)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "%s: empty; a name needs 1 to %d bytes", path, DSM_NAME_MAX);
      return FALSE;
    }
  if (length > DSM_NAME_MAX)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "%s: %" G_GSIZE_FORMAT " bytes, longer than %d", path, length, DSM_NAME_MAX);
      return FALSE;
    }
  if (!g_utf8_validate (name, (gssize) length, NULL))
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "%s: not valid UTF-8", path);
      return FALSE;
    }
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      /* C0, DEL and C1: fixed ranges, no Unicode tables involved. */
      if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
        {
          g_autofree char *quoted = dsm_json_quote (name);

          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                       "%s: %s contains a control character (U+%04X)", path, quoted, c);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- building ---- */

static DsmMachineDef *
def_new (void)
{
  DsmMachineDef *def = g_new0 (DsmMachineDef, 1);

  g_atomic_ref_count_init (&def->ref_count);
  return def;
}

static gint
def_index (const DsmMachineDef *def, const char *state)
{
  /* Callers mostly hand back our own canonical pointers. */
  for (guint i = 0; i < def->n_states; i++)
    if (def->states[i] == state)
      return (gint) i;
  for (guint i = 0; i < def->n_states; i++)
    if (strcmp (def->states[i], state) == 0)
      return (gint) i;
  return -1;
}

static void
def_add_state (DsmMachineDef *def, const char *state)
{
  g_assert (def->n_states < DSM_MACHINE_STATES_MAX);
  g_assert (def_index (def, state) < 0);
  def->states[def->n_states++] = g_strdup (state);
}

static void
def_allow (DsmMachineDef *def, guint from, guint to)
{
  g_assert (from < def->n_states);
  g_assert (to < def->n_states);
  def->allowed[from] |= G_GUINT64_CONSTANT (1) << to;
}

DsmMachineDef *
dsm_machine_def_new_lifecycle (void)
{
  DsmMachineDef *def = def_new ();

  def->name = g_strdup (DSM_MACHINE_LIFECYCLE);
  def->fields = dsm_machine_fields_from_json (&(DsmJsonAt) { 0 }, NULL);
  def_add_state (def, "Init");
  def_add_state (def, "Running");
  def_add_state (def, "Stopped");
  def->initial = 0;
  def_allow (def, 0, 1);
  def_allow (def, 1, 2);
  def_allow (def, 2, 0);
  return def;
}

DsmMachineDef *
dsm_machine_def_new_plugin (const DsmMachineImpl *impl)
{
  DsmMachineDef *def = def_new ();

  g_return_val_if_fail (impl != NULL && impl->name != NULL && impl->version != NULL, NULL);
  def->name = g_strdup (impl->name);
  def->fields = dsm_machine_fields_from_json (&(DsmJsonAt) { 0 }, NULL);
  def_add_state (def, DSM_MACHINE_PLUGIN_STATE);
  def->initial = 0;
  def->impl = impl;
  return def;
}

const DsmMachineImpl *
dsm_machine_def_get_impl (const DsmMachineDef *def)
{
  g_return_val_if_fail (def != NULL, NULL);
  return def->impl;
}

DsmMachineDef *
dsm_machine_def_ref (DsmMachineDef *def)
{
  g_return_val_if_fail (def != NULL, NULL);
  g_atomic_ref_count_inc (&def->ref_count);
  return def;
}

void
dsm_machine_def_unref (DsmMachineDef *def)
{
  if (def == NULL)
    return;
  if (!g_atomic_ref_count_dec (&def->ref_count))
    return;
  for (guint i = 0; i < def->n_states; i++)
    g_free (def->states[i]);
  g_free (def->name);
  dsm_machine_fields_free (def->fields);
  g_free (def);
}

/* ---- reading JSON ---- */

/* A name, by dsm_machine_check_name()'s rule. */
static const char *
new_from_json_name_at (const DsmJsonAt *at, GError **error)
{
  g_autofree char *path = NULL;
  const char *name = NULL;

  if (!dsm_json_get_string (at, 0, &name, error))
    return NULL;
  path = dsm_json_at_path (at);
  if (!dsm_machine_check_name (name, path, error))
    return NULL;
  return name;
}

static gboolean
new_from_json_states (DsmMachineDef *def, const DsmJsonAt *object, GError **error)
{
  DsmJsonAt at;
  guint length;

  if (!dsm_json_read_member (&at, object, "states", DSM_JSON_REQUIRED, error))
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (at.node))
    {
      g_autofree char *found = dsm_json_describe (at.node);

      return dsm_json_fail (&at, DSM_JSON_ERROR_TYPE, error,
                            "expected an array of state names, found %s", found);
    }
  if (!dsm_json_get_array (&at, DSM_MACHINE_STATES_MAX, &length, error))
    return FALSE;
  if (length == 0)
    return dsm_json_fail (&at, DSM_JSON_ERROR_INVALID, error,
                          "empty; a definition needs at least one state");
  for (guint i = 0; i < length; i++)
    {
      DsmJsonAt element;
      const char *state;

      dsm_json_at_element (&element, &at, i);
      if (!(state = new_from_json_name_at (&element, error)))
        return FALSE;
      if (def_index (def, state) >= 0)
        {
          g_autofree char *quoted = dsm_json_quote (state);

          return dsm_json_fail (&element, DSM_JSON_ERROR_INVALID, error, "duplicate state %s",
                                quoted);
        }
      def_add_state (def, state);
    }
  return TRUE;
}

/* Resolves the state named at @at; an unknown one names the definition. */
static gboolean
new_from_json_state_ref (DsmMachineDef *def, const DsmJsonAt *at, guint *out, GError **error)
{
  const char *state = NULL;
  gint index;

  if (!dsm_json_get_string (at, 0, &state, error))
    return FALSE;
  index = def_index (def, state);
  if (index < 0)
    {
      g_autofree char *quoted = dsm_json_quote (state);
      g_autofree char *quoted_name = dsm_json_quote (def->name);

      return dsm_json_fail (at, DSM_JSON_ERROR_INVALID, error, "%s is not a state of %s",
                            quoted, quoted_name);
    }
  *out = (guint) index;
  return TRUE;
}

static gboolean
new_from_json_transition (DsmMachineDef *def, const DsmJsonAt *at, GError **error)
{
  static const char *const known[] = { "from", "to", "requires", NULL };
  DsmJsonAt member;
  guint from, to;

  if (!JSON_NODE_HOLDS_OBJECT (at->node))
    {
      g_autofree char *found = dsm_json_describe (at->node);

      return dsm_json_fail (at, DSM_JSON_ERROR_TYPE, error,
                            "expected an object {\"from\": A, \"to\": B}, found %s", found);
    }
  if (!dsm_json_get_object (at, known, error)
      || !dsm_json_read_member (&member, at, "from", DSM_JSON_REQUIRED, error)
      || !new_from_json_state_ref (def, &member, &from, error)
      || !dsm_json_read_member (&member, at, "to", DSM_JSON_REQUIRED, error)
      || !new_from_json_state_ref (def, &member, &to, error)
      || !dsm_machine_fields_read_requires (def->fields, at, from, to, error))
    return FALSE;
  if (def->allowed[from] & (G_GUINT64_CONSTANT (1) << to))
    return dsm_json_fail (at, DSM_JSON_ERROR_INVALID, error, "duplicate transition %s -> %s",
                          def->states[from], def->states[to]);
  def_allow (def, from, to);
  return TRUE;
}

static gboolean
new_from_json_transitions (DsmMachineDef *def, const DsmJsonAt *object, GError **error)
{
  DsmJsonAt at;

  if (!dsm_json_read_member (&at, object, "transitions", DSM_JSON_REQUIRED, error))
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (at.node))
    {
      g_autofree char *found = dsm_json_describe (at.node);

      return dsm_json_fail (&at, DSM_JSON_ERROR_TYPE, error,
                            "expected an array of {\"from\", \"to\"} objects, found %s", found);
    }
  for (guint i = 0; i < json_array_get_length (json_node_get_array (at.node)); i++)
    {
      DsmJsonAt element;

      dsm_json_at_element (&element, &at, i);
      if (!new_from_json_transition (def, &element, error))
        return FALSE;
    }
  return TRUE;
}

DsmMachineDef *
dsm_machine_def_new_from_json (JsonNode *node, const char *where, GError **error)
{
  static const char *const known[] = { "name", "states", "initial", "transitions", "fields", NULL };
  g_autoptr(DsmMachineDef) def = NULL;
  DsmJsonAt root;
  DsmJsonAt member;
  const char *name;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  dsm_json_at_root (&root, &dsm_config_json_errors, node, where);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_autofree char *found = dsm_json_describe (node);

      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_TYPE,
                   "%s: expected a definition object, found %s",
                   where ? where : "definition", found);
      return NULL;
    }
  /* Unknown keys first: "transition" should read as a typo, not as
   * "transitions is missing". */
  if (!dsm_json_get_object (&root, known, error))
    return NULL;
  def = def_new ();
  if (!dsm_json_read_member (&member, &root, "name", DSM_JSON_REQUIRED, error)
      || !(name = new_from_json_name_at (&member, error)))
    return NULL;
  def->name = g_strdup (name);
  if ((def->fields = dsm_machine_fields_from_json (&root, error)) == NULL)
    return NULL;
  if (!new_from_json_states (def, &root, error)
      || !dsm_json_read_member (&member, &root, "initial", DSM_JSON_REQUIRED, error)
      || !new_from_json_state_ref (def, &member, &def->initial, error)
      || !new_from_json_transitions (def, &root, error))
    return NULL;
  return g_steal_pointer (&def);
}

/* ---- queries ---- */

const char *
dsm_machine_def_get_name (const DsmMachineDef *def)
{
  g_return_val_if_fail (def != NULL, NULL);
  return def->name;
}

guint
dsm_machine_def_get_n_states (const DsmMachineDef *def)
{
  g_return_val_if_fail (def != NULL, 0);
  return def->n_states;
}

const char *
dsm_machine_def_get_state (const DsmMachineDef *def, guint i)
{
  g_return_val_if_fail (def != NULL, NULL);
  g_return_val_if_fail (i < def->n_states, NULL);
  return def->states[i];
}

const char *
dsm_machine_def_get_initial (const DsmMachineDef *def)
{
  g_return_val_if_fail (def != NULL, NULL);
  return def->states[def->initial];
}

const char *
dsm_machine_def_lookup_state (const DsmMachineDef *def, const char *state)
{
  gint index;

  g_return_val_if_fail (def != NULL, NULL);
  g_return_val_if_fail (state != NULL, NULL);

  index = def_index (def, state);
  return index < 0 ? NULL : def->states[index];
}

gboolean
dsm_machine_def_allows (const DsmMachineDef *def, const char *from, const char *to)
{
  gint i, j;

  g_return_val_if_fail (def != NULL, FALSE);
  g_return_val_if_fail (from != NULL, FALSE);
  g_return_val_if_fail (to != NULL, FALSE);

  i = def_index (def, from);
  j = def_index (def, to);
  if (i < 0 || j < 0)
    return FALSE;
  return (def->allowed[i] & (G_GUINT64_CONSTANT (1) << j)) != 0;
}

/* "Running -> Stopped, Running -> Init", or "no transition from Stopped". */
static char *
validate_describe_allowed (const DsmMachineDef *def, guint from)
{
  GString *text = g_string_new (NULL);

  for (guint j = 0; j < def->n_states; j++)
    if (def->allowed[from] & (G_GUINT64_CONSTANT (1) << j))
      g_string_append_printf (text, "%s%s -> %s", text->len ? ", " : "",
                              def->states[from], def->states[j]);
  if (text->len == 0)
    g_string_append_printf (text, "no transition from %s", def->states[from]);
  return g_string_free (text, FALSE);
}

static char *
validate_describe_states (const DsmMachineDef *def)
{
  g_autofree const char **names = g_new0 (const char *, def->n_states + 1);

  for (guint i = 0; i < def->n_states; i++)
    names[i] = def->states[i];
  return g_strjoinv (", ", (char **) names);
}

gboolean
dsm_machine_def_validate (const DsmMachineDef *def, const char *machine, const char *from,
                          const char *to, GError **error)
{
  g_autofree char *subject = NULL;
  gint i, j;

  g_return_val_if_fail (def != NULL, FALSE);
  g_return_val_if_fail (from != NULL, FALSE);
  g_return_val_if_fail (to != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  i = def_index (def, from);
  j = def_index (def, to);
  if (i >= 0 && j >= 0 && (def->allowed[i] & (G_GUINT64_CONSTANT (1) << j)))
    return TRUE;
  if (error == NULL)
    return FALSE; /* every node applying a refused entry asks: say no cheaply */

  if (machine != NULL)
    {
      g_autofree char *quoted = dsm_json_quote (machine);

      subject = g_strdup_printf ("machine %s: ", quoted);
    }
  else
    subject = g_strdup ("");

  if (i < 0 || j < 0)
    {
      g_autofree char *quoted_from = dsm_json_quote (from);
      g_autofree char *quoted_to = dsm_json_quote (to);
      g_autofree char *states = validate_describe_states (def);

      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_UNKNOWN_STATE,
                   "%stransition %s -> %s: %s is not a state of %s (states: %s)", subject,
                   i < 0 ? quoted_from : def->states[i], j < 0 ? quoted_to : def->states[j],
                   i < 0 ? quoted_from : quoted_to, def->name, states);
      return FALSE;
    }

  {
    g_autofree char *allowed = validate_describe_allowed (def, (guint) i);

    g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_INVALID_TRANSITION,
                 "%stransition %s -> %s is not allowed (%s allows %s)", subject,
                 def->states[i], def->states[j], def->name, allowed);
  }
  return FALSE;
}

JsonNode *
dsm_machine_def_to_json (const DsmMachineDef *def)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  g_return_val_if_fail (def != NULL, NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, def->name);
  json_builder_set_member_name (builder, "states");
  json_builder_begin_array (builder);
  for (guint i = 0; i < def->n_states; i++)
    json_builder_add_string_value (builder, def->states[i]);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "initial");
  json_builder_add_string_value (builder, def->states[def->initial]);
  json_builder_set_member_name (builder, "transitions");
  json_builder_begin_array (builder);
  for (guint i = 0; i < def->n_states; i++)
    for (guint j = 0; j < def->n_states; j++)
      if (def->allowed[i] & (G_GUINT64_CONSTANT (1) << j))
        {
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "from");
          json_builder_add_string_value (builder, def->states[i]);
          json_builder_set_member_name (builder, "to");
          json_builder_add_string_value (builder, def->states[j]);
          dsm_machine_fields_requires_to_json (def->fields, i, j, builder);
          json_builder_end_object (builder);
        }
  json_builder_end_array (builder);
  if (def->impl != NULL)
    {
      /* Names the code, which no JSON can carry: every node must load
       * the same plugin (docs/PLUGINS.md, "Loading"). */
      json_builder_set_member_name (builder, "plugin");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, def->impl->name);
      json_builder_set_member_name (builder, "version");
      json_builder_add_string_value (builder, def->impl->version);
      json_builder_end_object (builder);
    }
  dsm_machine_fields_to_json (def->fields, builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

gboolean
dsm_machine_def_check_payload (const DsmMachineDef *def, const char *from, const char *to,
                               JsonNode *payload, GError **error)
{
  g_return_val_if_fail (def != NULL && (from == NULL) == (to == NULL), FALSE);

  if (from == NULL)
    return dsm_machine_fields_check (def->fields, NULL, 0, NULL, 0, payload, error);
  gint i = def_index (def, from);
  gint j = def_index (def, to);
  g_return_val_if_fail (i >= 0 && j >= 0, FALSE);
  return dsm_machine_fields_check (def->fields, def->states[i], (guint) i, def->states[j],
                                   (guint) j, payload, error);
}
