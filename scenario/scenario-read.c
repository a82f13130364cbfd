/* scenario/scenario-read.c: the field readers of the scenario parser.  Each reads
 * one member, checks its type and range, and words a failure as
 * "PATH: expected WHAT, found VALUE" so every error names its field. */
#include "scenario/scenario-private.h"

#include <string.h>

#include "error.h"

const DsmJsonErrors dsm_scenario_json_errors = {
  dsm_scenario_error_quark,
  {
    [DSM_JSON_ERROR_SYNTAX] = DSM_SCENARIO_ERROR_PARSE,
    [DSM_JSON_ERROR_DUPLICATE] = DSM_SCENARIO_ERROR_PARSE,
    [DSM_JSON_ERROR_TOO_DEEP] = DSM_SCENARIO_ERROR_PARSE,
    [DSM_JSON_ERROR_TOO_LARGE] = DSM_SCENARIO_ERROR_RANGE,
    [DSM_JSON_ERROR_MISSING] = DSM_SCENARIO_ERROR_MISSING,
    [DSM_JSON_ERROR_TYPE] = DSM_SCENARIO_ERROR_TYPE,
    [DSM_JSON_ERROR_RANGE] = DSM_SCENARIO_ERROR_RANGE,
    [DSM_JSON_ERROR_CHOICE] = DSM_SCENARIO_ERROR_UNKNOWN,
    [DSM_JSON_ERROR_UNKNOWN] = DSM_SCENARIO_ERROR_UNKNOWN,
    [DSM_JSON_ERROR_INVALID] = DSM_SCENARIO_ERROR_INVALID,
  },
};

/* Strings quoted in messages are cut here: a message is one line. */
#define QUOTE_MAX 40

char *
dsm_scenario_json_path (const char *where, const char *key)
{
  g_return_val_if_fail (key != NULL, NULL);

  if (where == NULL || *where == '\0')
    return g_strdup (key);
  return g_strconcat (where, ".", key, NULL);
}

char *
dsm_scenario_json_quote (const char *text)
{
  GString *out = g_string_new ("\"");
  gsize length = strlen (text);

  for (gsize i = 0; i < length && i < QUOTE_MAX; i++)
    {
      guchar c = (guchar) text[i];

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, (char) c);
    }
  /* Cutting may split a UTF-8 sequence: the message stays valid text
   * because the ellipsis replaces whatever follows. */
  if (length > QUOTE_MAX)
    g_string_append (out, "...");
  g_string_append_c (out, '"');
  if (!g_utf8_validate (out->str, -1, NULL))
    {
      g_autofree char *valid = g_utf8_make_valid (out->str, -1);

      g_string_assign (out, valid);
    }
  return g_string_free (out, FALSE);
}

char *
dsm_scenario_json_describe (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return g_strdup ("null");
  if (JSON_NODE_HOLDS_OBJECT (node))
    return g_strdup ("an object");
  if (JSON_NODE_HOLDS_ARRAY (node))
    return g_strdup ("an array");
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return dsm_scenario_json_quote (json_node_get_string (node));
    case G_TYPE_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
    case G_TYPE_DOUBLE:
      {
        char buffer[G_ASCII_DTOSTR_BUF_SIZE];

        return g_strdup (g_ascii_dtostr (buffer, sizeof buffer, json_node_get_double (node)));
      }
    case G_TYPE_BOOLEAN:
      return g_strdup (json_node_get_boolean (node) ? "true" : "false");
    default:
      return g_strdup ("a value");
    }
}

gboolean
dsm_scenario_json_check_members (JsonObject *object, const char *where,
                                 const char *const *known, const char *owner,
                                 const char *const *elsewhere, GError **error)
{
  JsonObjectIter iter;
  const char *key;

  g_return_val_if_fail (object != NULL, FALSE);
  g_return_val_if_fail (known != NULL, FALSE);

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &key, NULL))
    {
      g_autofree char *path = NULL;
      g_autofree char *keys = NULL;
      const char *hint;

      if (strcmp (key, "comment") == 0 || g_strv_contains (known, key))
        continue;
      path = dsm_scenario_json_path (where, key);
      if (owner != NULL && elsewhere != NULL && g_strv_contains (elsewhere, key))
        {
          keys = g_strjoinv (", ", (char **) known);
          g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_UNKNOWN,
                       "%s: not a key of %s (its keys: %s)", path, owner, keys);
          return FALSE;
        }
      hint = dsm_json_suggest (key, known);
      if (hint != NULL)
        g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_UNKNOWN,
                     "%s: unknown key (did you mean \"%s\"?)", path, hint);
      else
        {
          keys = g_strjoinv (", ", (char **) known);
          g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_UNKNOWN,
                       "%s: unknown key (known: %s)", path, keys);
        }
      return FALSE;
    }
  return TRUE;
}

JsonObject *
dsm_scenario_json_object (JsonNode *node, const char *path, GError **error)
{
  g_autofree char *found = NULL;

  if (JSON_NODE_HOLDS_OBJECT (node))
    return json_node_get_object (node);
  found = dsm_scenario_json_describe (node);
  g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_TYPE,
               "%s: expected an object, found %s", path, found);
  return NULL;
}

JsonArray *
dsm_scenario_json_array (JsonNode *node, const char *path, const char *expected,
                         GError **error)
{
  g_autofree char *found = NULL;

  if (JSON_NODE_HOLDS_ARRAY (node))
    return json_node_get_array (node);
  found = dsm_scenario_json_describe (node);
  g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_TYPE,
               "%s: expected %s, found %s", path, expected, found);
  return NULL;
}

gboolean
dsm_scenario_json_missing (const char *where, const char *key, const char *expected,
                           GError **error)
{
  g_autofree char *path = dsm_scenario_json_path (where, key);

  g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_MISSING,
               "%s: required key is missing (%s)", path, expected);
  return FALSE;
}

/* The member, or NULL: absent is an error only when @required. */
static JsonNode *
member_get (JsonObject *object, const char *where, const char *key, gboolean required,
            const char *expected, gboolean *ok, GError **error)
{
  JsonNode *member = json_object_get_member (object, key);

  *ok = member != NULL || !required;
  if (member == NULL && required)
    dsm_scenario_json_missing (where, key, expected, error);
  return member;
}

static char *
uint_expected (guint64 min, guint64 max)
{
  if (max == DSM_SCENARIO_NO_MAX)
    {
      if (min == 0)
        return g_strdup ("a non-negative integer");
      if (min == 1)
        return g_strdup ("a positive integer");
      return g_strdup_printf ("an integer >= %" G_GUINT64_FORMAT, min);
    }
  return g_strdup_printf ("an integer from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                          min, max);
}

gboolean
dsm_scenario_json_uint (JsonObject *object, const char *where, const char *key,
                        gboolean required, guint64 min, guint64 max, guint64 *out,
                        GError **error)
{
  g_autofree char *expected = uint_expected (min, max);
  g_autofree char *path = NULL;
  JsonNode *member;
  gboolean ok;
  gint64 value;

  if (!(member = member_get (object, where, key, required, expected, &ok, error)))
    return ok;
  path = dsm_scenario_json_path (where, key);
  if (!JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_INT64)
    {
      g_autofree char *found = dsm_scenario_json_describe (member);

      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_TYPE,
                   "%s: expected %s, found %s", path, expected, found);
      return FALSE;
    }
  /* json-glib 1.6 wraps integers beyond 2^63: they arrive negative. */
  value = json_node_get_int (member);
  if (value < 0 || (guint64) value < min || (guint64) value > max)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_RANGE,
                   "%s: expected %s, found %" G_GINT64_FORMAT, path, expected, value);
      return FALSE;
    }
  *out = (guint64) value;
  return TRUE;
}

gboolean
dsm_scenario_json_uint32 (JsonObject *object, const char *where, const char *key,
                          gboolean required, guint min, guint max, guint *out, GError **error)
{
  guint64 value = *out;

  if (!dsm_scenario_json_uint (object, where, key, required, min, max, &value, error))
    return FALSE;
  *out = (guint) value;
  return TRUE;
}

gboolean
dsm_scenario_json_double (JsonObject *object, const char *where, const char *key,
                          gboolean required, double min, double max, double *out,
                          GError **error)
{
  char min_text[G_ASCII_DTOSTR_BUF_SIZE];
  char max_text[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *expected = NULL;
  g_autofree char *path = NULL;
  g_autofree char *found = NULL;
  JsonNode *member;
  GType type;
  gboolean ok;
  double value;

  g_ascii_dtostr (min_text, sizeof min_text, min);
  g_ascii_dtostr (max_text, sizeof max_text, max);
  expected = g_strdup_printf ("a number from %s to %s", min_text, max_text);
  if (!(member = member_get (object, where, key, required, expected, &ok, error)))
    return ok;
  path = dsm_scenario_json_path (where, key);
  found = dsm_scenario_json_describe (member);
  type = JSON_NODE_HOLDS_VALUE (member) ? json_node_get_value_type (member) : G_TYPE_INVALID;
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_TYPE,
                   "%s: expected %s, found %s", path, expected, found);
      return FALSE;
    }
  value = type == G_TYPE_INT64 ? (double) json_node_get_int (member)
                               : json_node_get_double (member);
  /* Written this way round so a NaN is out of range too. */
  if (!(value >= min && value <= max))
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_RANGE,
                   "%s: expected %s, found %s", path, expected, found);
      return FALSE;
    }
  *out = value;
  return TRUE;
}

gboolean
dsm_scenario_json_bool (JsonObject *object, const char *where, const char *key,
                        gboolean required, gboolean *out, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *found = NULL;
  JsonNode *member;
  gboolean ok;

  if (!(member = member_get (object, where, key, required, "true or false", &ok, error)))
    return ok;
  if (JSON_NODE_HOLDS_VALUE (member) && json_node_get_value_type (member) == G_TYPE_BOOLEAN)
    {
      *out = json_node_get_boolean (member);
      return TRUE;
    }
  path = dsm_scenario_json_path (where, key);
  found = dsm_scenario_json_describe (member);
  g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_TYPE,
               "%s: expected true or false, found %s", path, found);
  return FALSE;
}

/* A string member, or NULL with a TYPE error. */
static const char *
string_get (JsonNode *member, const char *path, const char *expected, GError **error)
{
  g_autofree char *found = NULL;

  if (JSON_NODE_HOLDS_VALUE (member) && json_node_get_value_type (member) == G_TYPE_STRING)
    return json_node_get_string (member);
  found = dsm_scenario_json_describe (member);
  g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_TYPE,
               "%s: expected %s, found %s", path, expected, found);
  return NULL;
}

gboolean
dsm_scenario_json_name (JsonObject *object, const char *where, const char *key,
                        gboolean required, gboolean nullable, char **out, GError **error)
{
  const char *expected = nullable ? "a string or null" : "a string";
  g_autofree char *path = NULL;
  GError *local_error = NULL;
  JsonNode *member;
  const char *text;
  gboolean ok;

  if (!(member = member_get (object, where, key, required, expected, &ok, error)))
    return ok;
  path = dsm_scenario_json_path (where, key);
  if (nullable && JSON_NODE_HOLDS_NULL (member))
    {
      g_clear_pointer (out, g_free);
      return TRUE;
    }
  if (!(text = string_get (member, path, expected, error)))
    return FALSE;
  /* The same rules as the names a command carries on the wire; machine
   * names have one more (docs/CONFIG.md, "Names"). */
  if (!(strcmp (key, "machine") == 0 ? dsm_command_check_machine_name (path, text, &local_error)
                                     : dsm_command_check_name (path, text, &local_error)))
    {
      g_set_error_literal (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                           local_error->message);
      g_error_free (local_error);
      return FALSE;
    }
  g_free (*out);
  *out = g_strdup (text);
  return TRUE;
}

/* '"a", "b" or "c"' */
static char *
choice_list (const char *const *names, gboolean with_id)
{
  GString *out = g_string_new (with_id ? "a node id" : NULL);
  guint n = g_strv_length ((char **) names);

  for (guint i = 0; i < n; i++)
    {
      if (out->len > 0)
        g_string_append (out, i + 1 == n ? " or " : ", ");
      g_string_append_printf (out, "\"%s\"", names[i]);
    }
  return g_string_free (out, FALSE);
}

gboolean
dsm_scenario_json_choice (JsonObject *object, const char *where, const char *key,
                          gboolean required, const char *const *names, guint *out,
                          GError **error)
{
  g_autofree char *expected = choice_list (names, FALSE);
  g_autofree char *path = NULL;
  g_autofree char *found = NULL;
  JsonNode *member;
  const char *text;
  gboolean ok;

  if (!(member = member_get (object, where, key, required, expected, &ok, error)))
    return ok;
  path = dsm_scenario_json_path (where, key);
  if (!(text = string_get (member, path, expected, error)))
    return FALSE;
  for (guint i = 0; names[i] != NULL; i++)
    if (strcmp (text, names[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  found = dsm_scenario_json_quote (text);
  g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_UNKNOWN,
               "%s: expected %s, found %s", path, expected, found);
  return FALSE;
}

gboolean
dsm_scenario_json_node_id (JsonNode *node, const char *path, guint n_nodes, DsmNodeId *out,
                           GError **error)
{
  gint64 value;

  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_autofree char *found = dsm_scenario_json_describe (node);

      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_TYPE,
                   "%s: expected a node id (1 to %u), found %s", path, n_nodes, found);
      return FALSE;
    }
  value = json_node_get_int (node);
  if (value < 1 || value > (gint64) n_nodes)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                   "%s: no node %" G_GINT64_FORMAT " in a %u-node cluster (ids 1 to %u)",
                   path, value, n_nodes, n_nodes);
      return FALSE;
    }
  *out = (DsmNodeId) value;
  return TRUE;
}

gboolean
dsm_scenario_json_target (JsonObject *object, const char *where, const char *key,
                          gboolean required, DsmSelect allowed, guint n_nodes, DsmTarget *out,
                          GError **error)
{
  static const struct {
    DsmSelect select;
    const char *word;
    DsmTargetKind kind;
  } words[] = {
    { DSM_SELECT_LEADER, "leader", DSM_TARGET_LEADER },
    { DSM_SELECT_FOLLOWER, "follower", DSM_TARGET_FOLLOWER },
    { DSM_SELECT_RANDOM, "random", DSM_TARGET_RANDOM },
    { DSM_SELECT_ALL, "all", DSM_TARGET_ALL },
  };
  const char *names[G_N_ELEMENTS (words) + 1] = { NULL };
  g_autofree char *expected = NULL;
  g_autofree char *path = NULL;
  g_autofree char *found = NULL;
  JsonNode *member;
  const char *text;
  gboolean ok;
  guint n = 0;

  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    if (allowed & words[i].select)
      names[n++] = words[i].word;
  expected = choice_list (names, TRUE);
  if (!(member = member_get (object, where, key, required, expected, &ok, error)))
    return ok;
  path = dsm_scenario_json_path (where, key);
  if (JSON_NODE_HOLDS_VALUE (member) && json_node_get_value_type (member) == G_TYPE_INT64)
    {
      out->kind = DSM_TARGET_NODE;
      return dsm_scenario_json_node_id (member, path, n_nodes, &out->id, error);
    }
  if (!(text = string_get (member, path, expected, error)))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    if ((allowed & words[i].select) && strcmp (text, words[i].word) == 0)
      {
        out->kind = words[i].kind;
        out->id = DSM_NODE_NONE;
        return TRUE;
      }
  found = dsm_scenario_json_quote (text);
  g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_UNKNOWN,
               "%s: expected %s, found %s", path, expected, found);
  return FALSE;
}
