/* scenario/scenario-read.c: the field readers of the scenario parser, as the
 * scenario files' own words for core/json.h's typed readers: each reads one
 * member at "WHERE.KEY" and fails as the layer does, "PATH: expected WHAT,
 * found VALUE", in the DSM_SCENARIO_ERROR domain. */
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
  return dsm_json_quote (text);
}

char *
dsm_scenario_json_describe (JsonNode *node)
{
  /* The layer calls an absent value "nothing"; a scenario's are present. */
  return node == NULL ? g_strdup ("null") : dsm_json_describe (node);
}

gboolean
dsm_scenario_json_check_members (JsonObject *object, const char *where,
                                 const char *const *known, const char *owner,
                                 const char *const *elsewhere, GError **error)
{
  g_autoptr(JsonNode) node = NULL;
  JsonObjectIter iter;
  DsmJsonAt at;
  const char *key;

  g_return_val_if_fail (object != NULL, FALSE);
  g_return_val_if_fail (known != NULL, FALSE);

  /* A key of a sibling schema ("node" on a heal step) is a misplaced key,
   * not a typo: say whose keys these are.  The first stray key decides, as
   * the layer's check would take it first. */
  json_object_iter_init_ordered (&iter, object);
  while (owner != NULL && elsewhere != NULL && json_object_iter_next_ordered (&iter, &key, NULL))
    {
      if (strcmp (key, "comment") == 0 || g_strv_contains (known, key))
        continue;
      if (!g_strv_contains (elsewhere, key))
        break;
      g_autofree char *path = dsm_scenario_json_path (where, key);
      g_autofree char *keys = g_strjoinv (", ", (char **) known);
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_UNKNOWN,
                   "%s: not a key of %s (its keys: %s)", path, owner, keys);
      return FALSE;
    }
  node = json_node_init_object (json_node_alloc (), object);
  dsm_json_at_root (&at, &dsm_scenario_json_errors, node, where);
  return dsm_json_get_object (&at, known, error);
}

JsonObject *
dsm_scenario_json_object (JsonNode *node, const char *path, GError **error)
{
  DsmJsonAt at;

  dsm_json_at_root (&at, &dsm_scenario_json_errors, node, path);
  if (!dsm_json_get_object (&at, NULL, error))
    return NULL;
  return json_node_get_object (node);
}

JsonArray *
dsm_scenario_json_array (JsonNode *node, const char *path, const char *expected,
                         GError **error)
{
  g_autofree char *found = NULL;
  DsmJsonAt at;

  if (JSON_NODE_HOLDS_ARRAY (node))
    return json_node_get_array (node);
  /* Says what the array holds ("an array of node ids"), which the layer's
   * "expected an array" cannot. */
  found = dsm_scenario_json_describe (node);
  dsm_json_at_root (&at, &dsm_scenario_json_errors, node, path);
  dsm_json_fail (&at, DSM_JSON_ERROR_TYPE, error, "expected %s, found %s", expected, found);
  return NULL;
}

gboolean
dsm_scenario_json_missing (const char *where, const char *key, const char *expected,
                           GError **error)
{
  g_autofree char *path = dsm_scenario_json_path (where, key);
  DsmJsonAt at;

  dsm_json_at_root (&at, &dsm_scenario_json_errors, NULL, path);
  return dsm_json_fail (&at, DSM_JSON_ERROR_MISSING, error, "required key is missing (%s)",
                        expected);
}

/* A cursor on the member @key of @object, labelled with its whole path
 * (*@path keeps the label alive).  FALSE with MISSING when a @required
 * member is absent; otherwise TRUE, at->node NULL when it is absent. */
static gboolean
member_at (JsonObject *object, const char *where, const char *key, gboolean required,
           const char *expected, DsmJsonAt *at, char **path, GError **error)
{
  JsonNode *member = json_object_get_member (object, key);

  g_assert (*path == NULL);
  if (member == NULL)
    {
      at->node = NULL;
      return !required || dsm_scenario_json_missing (where, key, expected, error);
    }
  *path = dsm_scenario_json_path (where, key);
  dsm_json_at_root (at, &dsm_scenario_json_errors, member, *path);
  return TRUE;
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
  g_autofree char *expected = NULL;
  g_autofree char *path = NULL;
  JsonNode *member = json_object_get_member (object, key);
  DsmJsonAt at;

  g_return_val_if_fail (min <= max, FALSE);

  if (member == NULL)
    {
      expected = uint_expected (min, max);
      return !required || dsm_scenario_json_missing (where, key, expected, error);
    }
  path = dsm_scenario_json_path (where, key);
  dsm_json_at_root (&at, &dsm_scenario_json_errors, member, path);
  return dsm_json_get_uint (&at, min, max, out, error);
}

gboolean
dsm_scenario_json_uint32 (JsonObject *object, const char *where, const char *key,
                          gboolean required, guint min, guint max, guint *out, GError **error)
{
  guint64 value = *out;

  if (!dsm_scenario_json_uint (object, where, key, required, min, max, &value, error))
    return FALSE;
  g_assert (value <= max);
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
  DsmJsonAt at;

  g_ascii_dtostr (min_text, sizeof min_text, min);
  g_ascii_dtostr (max_text, sizeof max_text, max);
  expected = g_strdup_printf ("a number from %s to %s", min_text, max_text);
  if (!member_at (object, where, key, required, expected, &at, &path, error))
    return FALSE;
  return at.node == NULL || dsm_json_get_double (&at, min, max, out, error);
}

gboolean
dsm_scenario_json_bool (JsonObject *object, const char *where, const char *key,
                        gboolean required, gboolean *out, GError **error)
{
  g_autofree char *path = NULL;
  DsmJsonAt at;

  if (!member_at (object, where, key, required, "true or false", &at, &path, error))
    return FALSE;
  return at.node == NULL || dsm_json_get_bool (&at, out, error);
}

gboolean
dsm_scenario_json_name (JsonObject *object, const char *where, const char *key,
                        gboolean required, gboolean nullable, char **out, GError **error)
{
  const char *expected = nullable ? "a string or null" : "a string";
  g_autofree char *path = NULL;
  GError *local_error = NULL;
  const char *text = NULL;
  DsmJsonAt at;

  if (!member_at (object, where, key, required, expected, &at, &path, error))
    return FALSE;
  if (at.node == NULL)
    return TRUE;
  if (nullable && JSON_NODE_HOLDS_NULL (at.node))
    {
      g_clear_pointer (out, g_free);
      return TRUE;
    }
  if (json_node_get_value_type (at.node) != G_TYPE_STRING)
    {
      g_autofree char *found = dsm_scenario_json_describe (at.node);
      return dsm_json_fail (&at, DSM_JSON_ERROR_TYPE, error, "expected %s, found %s", expected,
                            found);
    }
  if (!dsm_json_get_string (&at, 0, &text, error))
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

/* '"a", "b" or "c"', after @first ("a node id") when there is one. */
static char *
names_expected (const char *first, const char *const *names)
{
  GString *out = g_string_new (first);
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
  g_autofree char *expected = NULL;
  g_autofree char *path = NULL;
  DsmJsonAt at;

  g_return_val_if_fail (names != NULL && names[0] != NULL, FALSE);

  /* Only a missing key needs the list here: the layer words the rest. */
  if (required && !json_object_has_member (object, key))
    expected = names_expected (NULL, names);
  if (!member_at (object, where, key, required, expected, &at, &path, error))
    return FALSE;
  return at.node == NULL || dsm_json_get_enum (&at, names, out, error);
}

gboolean
dsm_scenario_json_node_id (JsonNode *node, const char *path, guint n_nodes, DsmNodeId *out,
                           GError **error)
{
  DsmJsonAt at;
  guint64 value = 0;

  g_return_val_if_fail (n_nodes >= 1, FALSE);

  dsm_json_at_root (&at, &dsm_scenario_json_errors, node, path);
  if (json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_autofree char *found = dsm_scenario_json_describe (node);
      return dsm_json_fail (&at, DSM_JSON_ERROR_TYPE, error,
                            "expected a node id (1 to %u), found %s", n_nodes, found);
    }
  if (json_node_get_int (node) < 1 || json_node_get_int (node) > (gint64) n_nodes)
    return dsm_json_fail (&at, DSM_JSON_ERROR_INVALID, error,
                          "no node %" G_GINT64_FORMAT " in a %u-node cluster (ids 1 to %u)",
                          json_node_get_int (node), n_nodes, n_nodes);
  if (!dsm_json_get_uint (&at, 1, n_nodes, &value, error))
    return FALSE;
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
  DsmTargetKind kinds[G_N_ELEMENTS (words)];
  g_autofree char *expected = NULL;
  g_autofree char *path = NULL;
  DsmJsonAt at;
  guint n = 0;
  guint chosen = 0;

  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    if (allowed & words[i].select)
      {
        kinds[n] = words[i].kind;
        names[n++] = words[i].word;
      }
  g_assert (n >= 1);
  expected = names_expected ("a node id", names);
  if (!member_at (object, where, key, required, expected, &at, &path, error))
    return FALSE;
  if (at.node == NULL)
    return TRUE;
  if (json_node_get_value_type (at.node) == G_TYPE_INT64)
    {
      out->kind = DSM_TARGET_NODE;
      return dsm_scenario_json_node_id (at.node, path, n_nodes, &out->id, error);
    }
  if (json_node_get_value_type (at.node) != G_TYPE_STRING)
    {
      g_autofree char *found = dsm_scenario_json_describe (at.node);
      return dsm_json_fail (&at, DSM_JSON_ERROR_TYPE, error, "expected %s, found %s", expected,
                            found);
    }
  if (!dsm_json_get_enum (&at, names, &chosen, NULL))
    {
      g_autofree char *found = dsm_scenario_json_quote (json_node_get_string (at.node));
      const char *hint = dsm_json_suggest (json_node_get_string (at.node), names);
      if (hint != NULL)
        return dsm_json_fail (&at, DSM_JSON_ERROR_CHOICE, error,
                              "expected %s, found %s (did you mean \"%s\"?)", expected, found, hint);
      return dsm_json_fail (&at, DSM_JSON_ERROR_CHOICE, error, "expected %s, found %s", expected,
                            found);
    }
  out->kind = kinds[chosen];
  out->id = DSM_NODE_NONE;
  return TRUE;
}
