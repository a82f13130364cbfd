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
#include "machine-private.h"

/* The transition matrix is one 64-bit row per state. */
G_STATIC_ASSERT (DSM_MACHINE_STATES_MAX <= 64);

/* Error messages quote at most this many characters of a value. */
#define QUOTE_CHARS_MAX 48

struct _DsmMachineDef {
  gatomicrefcount ref_count;
  char *name;
  char *states[DSM_MACHINE_STATES_MAX];  /* owned, canonical spellings */
  guint n_states;
  guint initial;                         /* index into states */
  guint64 allowed[DSM_MACHINE_STATES_MAX]; /* bit j of row i: states[i] -> states[j] */
};

/* ---- shared JSON helpers (machine-private.h) ---- */

char *
dsm_machine_json_quote (const char *text)
{
  g_autofree char *valid = NULL;
  GString *quoted;
  guint n_chars = 0;

  g_return_val_if_fail (text != NULL, NULL);

  if (!g_utf8_validate (text, -1, NULL))
    text = valid = g_utf8_make_valid (text, -1);
  quoted = g_string_new ("\"");
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p), n_chars++)
    {
      gunichar c = g_utf8_get_char (p);

      if (n_chars == QUOTE_CHARS_MAX)
        {
          g_string_append (quoted, "...");
          break;
        }
      if (c == '"' || c == '\\')
        g_string_append_printf (quoted, "\\%c", (char) c);
      else if (c == '\n')
        g_string_append (quoted, "\\n");
      else if (c == '\t')
        g_string_append (quoted, "\\t");
      /* C0, DEL and C1 would garble a terminal or a log line. */
      else if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
        g_string_append_printf (quoted, "\\u%04X", c);
      else
        g_string_append_len (quoted, p, g_utf8_next_char (p) - p);
    }
  g_string_append_c (quoted, '"');
  return g_string_free (quoted, FALSE);
}

char *
dsm_machine_json_describe (JsonNode *node)
{
  if (node == NULL)
    return g_strdup ("nothing");
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return g_strdup ("an object");
    case JSON_NODE_ARRAY:
      return g_strdup ("an array");
    case JSON_NODE_NULL:
      return g_strdup ("null");
    case JSON_NODE_VALUE:
    default:
      break;
    }
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return dsm_machine_json_quote (json_node_get_string (node));
  return json_to_string (node, FALSE);
}

char *
dsm_machine_json_join (const char *where, const char *field)
{
  if (where != NULL && field != NULL)
    return g_strconcat (where, ".", field, NULL);
  if (where != NULL)
    return g_strdup (where);
  if (field != NULL)
    return g_strdup (field);
  return g_strdup ("(root)");
}

static int
json_check_members_compare (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Levenshtein distance, for "did you mean" hints; long names get none. */
static guint
json_check_members_distance (const char *a, const char *b)
{
  gsize la = strlen (a);
  gsize lb = strlen (b);
  guint row[65];

  if (la > 64 || lb > 64)
    return G_MAXUINT;
  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint) j;
  for (gsize i = 1; i <= la; i++)
    {
      guint diagonal = row[0];

      row[0] = (guint) i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint above = row[j];
          guint cost = a[i - 1] == b[j - 1] ? 0 : 1;

          row[j] = MIN (MIN (above + 1, row[j - 1] + 1), diagonal + cost);
          diagonal = above;
        }
    }
  return row[lb];
}

/* The words of a snake_case name, sorted: "election_timeout_min_ms" and
 * "election_timeout_ms_min" have the same (STYLE.md: unit last). */
static char *
json_check_members_words (const char *name)
{
  g_auto(GStrv) words = g_strsplit (name, "_", -1);

  qsort (words, g_strv_length (words), sizeof (char *), json_check_members_compare);
  return g_strjoinv ("_", words);
}

static const char *
json_check_members_suggest (const char *key, const char *const *known)
{
  g_autofree char *key_words = json_check_members_words (key);
  const char *best = NULL;
  guint best_distance = G_MAXUINT;

  for (guint i = 0; known[i] != NULL; i++)
    {
      g_autofree char *known_words = json_check_members_words (known[i]);
      guint distance = strcmp (key_words, known_words) == 0
                       ? 0 : json_check_members_distance (key, known[i]);

      if (distance < best_distance)
        {
          best = known[i];
          best_distance = distance;
        }
    }
  if (best != NULL && best_distance <= 3 && best_distance < strlen (best) / 2 + 1)
    return best;
  return NULL;
}

gboolean
dsm_machine_json_check_members (JsonObject *object, const char *where,
                                const char *const *known, GError **error)
{
  JsonObjectIter iter;
  const char *key;

  g_return_val_if_fail (object != NULL, FALSE);
  g_return_val_if_fail (known != NULL, FALSE);

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &key, NULL))
    {
      g_autofree char *quoted = NULL;
      const char *hint;

      if (strcmp (key, "comment") == 0 || g_strv_contains (known, key))
        continue;
      quoted = dsm_machine_json_quote (key);
      hint = json_check_members_suggest (key, known);
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_UNKNOWN,
                   "%s%sunknown key %s%s%s%s", where ? where : "", where ? ": " : "",
                   quoted, hint ? " (did you mean \"" : "", hint ? hint : "", hint ? "\"?)" : "");
      return FALSE;
    }
  return TRUE;
}

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
          g_autofree char *quoted = dsm_machine_json_quote (name);

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
  g_free (def);
}

/* ---- reading JSON ---- */

static JsonNode *
new_from_json_member (JsonObject *object, const char *where, const char *key, GError **error)
{
  JsonNode *member = json_object_get_member (object, key);

  if (member == NULL)
    {
      g_autofree char *path = dsm_machine_json_join (where, key);

      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_MISSING,
                   "%s: required key is missing", path);
    }
  return member;
}

static const char *
new_from_json_string (JsonNode *node, const char *path, GError **error)
{
  g_autofree char *found = NULL;

  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  found = dsm_machine_json_describe (node);
  g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_TYPE,
               "%s: expected a string, found %s", path, found);
  return NULL;
}

static JsonArray *
new_from_json_array (JsonNode *node, const char *path, const char *what, GError **error)
{
  g_autofree char *found = NULL;

  if (JSON_NODE_HOLDS_ARRAY (node))
    return json_node_get_array (node);
  found = dsm_machine_json_describe (node);
  g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_TYPE,
               "%s: expected %s, found %s", path, what, found);
  return NULL;
}

static gboolean
new_from_json_name (DsmMachineDef *def, JsonObject *object, const char *where, GError **error)
{
  g_autofree char *path = dsm_machine_json_join (where, "name");
  JsonNode *member;
  const char *name;

  if (!(member = new_from_json_member (object, where, "name", error)))
    return FALSE;
  if (!(name = new_from_json_string (member, path, error)))
    return FALSE;
  if (!dsm_machine_check_name (name, path, error))
    return FALSE;
  def->name = g_strdup (name);
  return TRUE;
}

static gboolean
new_from_json_states (DsmMachineDef *def, JsonObject *object, const char *where, GError **error)
{
  g_autofree char *path = dsm_machine_json_join (where, "states");
  JsonNode *member;
  JsonArray *array;
  guint length;

  if (!(member = new_from_json_member (object, where, "states", error)))
    return FALSE;
  if (!(array = new_from_json_array (member, path, "an array of state names", error)))
    return FALSE;
  length = json_array_get_length (array);
  if (length == 0)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "%s: empty; a definition needs at least one state", path);
      return FALSE;
    }
  if (length > DSM_MACHINE_STATES_MAX)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_RANGE,
                   "%s: %u states, at most %d", path, length, DSM_MACHINE_STATES_MAX);
      return FALSE;
    }
  for (guint i = 0; i < length; i++)
    {
      g_autofree char *item_path = g_strdup_printf ("%s[%u]", path, i);
      const char *state;

      if (!(state = new_from_json_string (json_array_get_element (array, i), item_path, error)))
        return FALSE;
      if (!dsm_machine_check_name (state, item_path, error))
        return FALSE;
      if (def_index (def, state) >= 0)
        {
          g_autofree char *quoted = dsm_machine_json_quote (state);

          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                       "%s: duplicate state %s", item_path, quoted);
          return FALSE;
        }
      def_add_state (def, state);
    }
  return TRUE;
}

/* Resolves a state named at @path; an unknown one names the definition. */
static gboolean
new_from_json_state_ref (DsmMachineDef *def, JsonNode *node, const char *path, guint *out,
                         GError **error)
{
  const char *state;
  gint index;

  if (!(state = new_from_json_string (node, path, error)))
    return FALSE;
  index = def_index (def, state);
  if (index < 0)
    {
      g_autofree char *quoted = dsm_machine_json_quote (state);
      g_autofree char *quoted_name = dsm_machine_json_quote (def->name);

      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "%s: %s is not a state of %s", path, quoted, quoted_name);
      return FALSE;
    }
  *out = (guint) index;
  return TRUE;
}

static gboolean
new_from_json_initial (DsmMachineDef *def, JsonObject *object, const char *where, GError **error)
{
  g_autofree char *path = dsm_machine_json_join (where, "initial");
  JsonNode *member;

  if (!(member = new_from_json_member (object, where, "initial", error)))
    return FALSE;
  return new_from_json_state_ref (def, member, path, &def->initial, error);
}

static gboolean
new_from_json_transition (DsmMachineDef *def, JsonNode *node, const char *path, GError **error)
{
  static const char *const known[] = { "from", "to", NULL };
  g_autofree char *from_path = dsm_machine_json_join (path, "from");
  g_autofree char *to_path = dsm_machine_json_join (path, "to");
  JsonObject *object;
  JsonNode *member;
  guint from, to;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_autofree char *found = dsm_machine_json_describe (node);

      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_TYPE,
                   "%s: expected an object {\"from\": A, \"to\": B}, found %s", path, found);
      return FALSE;
    }
  object = json_node_get_object (node);
  if (!dsm_machine_json_check_members (object, path, known, error))
    return FALSE;
  if (!(member = new_from_json_member (object, path, "from", error)))
    return FALSE;
  if (!new_from_json_state_ref (def, member, from_path, &from, error))
    return FALSE;
  if (!(member = new_from_json_member (object, path, "to", error)))
    return FALSE;
  if (!new_from_json_state_ref (def, member, to_path, &to, error))
    return FALSE;
  if (def->allowed[from] & (G_GUINT64_CONSTANT (1) << to))
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "%s: duplicate transition %s -> %s", path, def->states[from], def->states[to]);
      return FALSE;
    }
  def_allow (def, from, to);
  return TRUE;
}

static gboolean
new_from_json_transitions (DsmMachineDef *def, JsonObject *object, const char *where,
                           GError **error)
{
  g_autofree char *path = dsm_machine_json_join (where, "transitions");
  JsonNode *member;
  JsonArray *array;

  if (!(member = new_from_json_member (object, where, "transitions", error)))
    return FALSE;
  if (!(array = new_from_json_array (member, path, "an array of {\"from\", \"to\"} objects",
                                     error)))
    return FALSE;
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *item_path = g_strdup_printf ("%s[%u]", path, i);

      if (!new_from_json_transition (def, json_array_get_element (array, i), item_path, error))
        return FALSE;
    }
  return TRUE;
}

DsmMachineDef *
dsm_machine_def_new_from_json (JsonNode *node, const char *where, GError **error)
{
  static const char *const known[] = { "name", "states", "initial", "transitions", NULL };
  g_autoptr(DsmMachineDef) def = NULL;
  JsonObject *object;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_autofree char *found = dsm_machine_json_describe (node);

      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_TYPE,
                   "%s: expected a definition object, found %s",
                   where ? where : "definition", found);
      return NULL;
    }
  object = json_node_get_object (node);
  /* Unknown keys first: "transition" should read as a typo, not as
   * "transitions is missing". */
  if (!dsm_machine_json_check_members (object, where, known, error))
    return NULL;
  def = def_new ();
  if (!new_from_json_name (def, object, where, error)
      || !new_from_json_states (def, object, where, error)
      || !new_from_json_initial (def, object, where, error)
      || !new_from_json_transitions (def, object, where, error))
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
      g_autofree char *quoted = dsm_machine_json_quote (machine);

      subject = g_strdup_printf ("machine %s: ", quoted);
    }
  else
    subject = g_strdup ("");

  if (i < 0 || j < 0)
    {
      g_autofree char *quoted_from = dsm_machine_json_quote (from);
      g_autofree char *quoted_to = dsm_machine_json_quote (to);
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
          json_builder_end_object (builder);
        }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}
