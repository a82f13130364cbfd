/* core/machine-fields.c: the data a definition declares: typed fields,
 * the fields each transition requires, and judging a payload by them
 * (docs/CONFIG.md, "Machine definitions"; docs/PROTOCOL.md, "Payloads").
 *
 * The verdict depends on the definition and the payload's text only,
 * both replicated, so every node applying an entry gives the same one. */
#include "machine-private.h"

#include <string.h>

#include "entry.h"
#include "error.h"
#include "json.h"

static const char *const type_names[] = {
  "string", "integer", "number", "boolean", "array", "object", NULL,
};

typedef enum {
  FIELD_STRING,
  FIELD_INTEGER,
  FIELD_NUMBER,
  FIELD_BOOLEAN,
  FIELD_ARRAY,
  FIELD_OBJECT,
} FieldType;

typedef struct {
  char *name;
  FieldType type;
} Field;

struct _DsmMachineFields {
  GArray *fields;           /* Field, in the definition's order */
  const char **names;       /* NULL-terminated, borrowed from fields: the known keys */
  GHashTable *requires;     /* (from * 64 + to) + 1 -> GPtrArray of field names (borrowed) */
  gboolean declared;        /* the definition has "fields" (even {}): payloads are checked */
};

static void
field_clear (Field *field)
{
  g_free (field->name);
}

void
dsm_machine_fields_free (DsmMachineFields *fields)
{
  if (fields == NULL)
    return;
  g_array_unref (fields->fields);
  g_free (fields->names);
  g_hash_table_unref (fields->requires);
  g_free (fields);
}

static gint
fields_find (const DsmMachineFields *fields, const char *name)
{
  for (guint i = 0; i < fields->fields->len; i++)
    if (strcmp (g_array_index (fields->fields, Field, i).name, name) == 0)
      return (gint) i;
  return -1;
}

/* The declared fields of the "fields" object at @at, into @fields. */
static gboolean
from_json_fields (DsmMachineFields *fields, const DsmJsonAt *at, GError **error)
{
  if (!dsm_json_get_object (at, NULL, error))
    return FALSE;
  JsonObject *object = json_node_get_object (at->node);
  if (json_object_get_size (object) > DSM_PAYLOAD_FIELDS_MAX)
    return dsm_json_fail (at, DSM_JSON_ERROR_TOO_LARGE, error, "%u fields, more than %d",
                          json_object_get_size (object), DSM_PAYLOAD_FIELDS_MAX);
  g_autoptr(GList) keys = json_object_get_members (object);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      DsmJsonAt member;
      guint type = 0;
      g_autofree char *path = NULL;

      dsm_json_at_member (&member, at, l->data);
      path = dsm_json_at_path (&member);
      if (!dsm_machine_check_name (l->data, path, error)
          || !dsm_json_get_enum (&member, type_names, &type, error))
        return FALSE;
      Field field = { g_strdup (l->data), (FieldType) type };
      g_array_append_val (fields->fields, field);
    }
  return TRUE;
}

DsmMachineFields *
dsm_machine_fields_from_json (const DsmJsonAt *definition, GError **error)
{
  DsmJsonAt at = { 0 };

  if (definition->node != NULL
      && !dsm_json_read_member (&at, definition, "fields", DSM_JSON_OPTIONAL, error))
    return NULL;
  DsmMachineFields *fields = g_new0 (DsmMachineFields, 1);
  fields->fields = g_array_new (FALSE, FALSE, sizeof (Field));
  g_array_set_clear_func (fields->fields, (GDestroyNotify) field_clear);
  fields->requires = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_ptr_array_unref);
  fields->declared = at.node != NULL;
  if (fields->declared && !from_json_fields (fields, &at, error))
    {
      dsm_machine_fields_free (fields);
      return NULL;
    }
  fields->names = g_new0 (const char *, fields->fields->len + 1);
  for (guint i = 0; i < fields->fields->len; i++)
    fields->names[i] = g_array_index (fields->fields, Field, i).name;
  return fields;
}

gboolean
dsm_machine_fields_declared (const DsmMachineFields *fields)
{
  return fields->declared;
}

gboolean
dsm_machine_fields_read_requires (DsmMachineFields *fields, const DsmJsonAt *transition, guint from, guint to,
                                  GError **error)
{
  DsmJsonAt at;
  guint length = 0;

  if (!dsm_json_read_member (&at, transition, "requires", DSM_JSON_OPTIONAL, error))
    return FALSE;
  if (at.node == NULL)
    return TRUE;
  if (!fields->declared)
    return dsm_json_fail (&at, DSM_JSON_ERROR_INVALID, error,
                          "the definition declares no \"fields\" to require");
  if (!dsm_json_get_array (&at, DSM_PAYLOAD_FIELDS_MAX, &length, error))
    return FALSE;
  GPtrArray *names = g_ptr_array_new ();
  g_hash_table_insert (fields->requires, GUINT_TO_POINTER (from * 64 + to + 1), names);
  for (guint i = 0; i < length; i++)
    {
      DsmJsonAt element;
      const char *name = NULL;

      dsm_json_at_element (&element, &at, i);
      if (!dsm_json_get_string (&element, DSM_NAME_MAX, &name, error))
        return FALSE;
      gint index = fields_find (fields, name);
      if (index < 0)
        {
          const char *near = dsm_json_suggest (name, fields->names);
          g_autofree char *quoted = dsm_json_quote (name);

          return near != NULL
                     ? dsm_json_fail (&element, DSM_JSON_ERROR_INVALID, error,
                                      "%s is not a declared field (did you mean \"%s\"?)",
                                      quoted, near)
                     : dsm_json_fail (&element, DSM_JSON_ERROR_INVALID, error,
                                      "%s is not a declared field", quoted);
        }
      const char *canonical = g_array_index (fields->fields, Field, index).name;
      for (guint j = 0; j < names->len; j++)
        if (names->pdata[j] == canonical)
          return dsm_json_fail (&element, DSM_JSON_ERROR_INVALID, error,
                                "\"%s\" is required twice", canonical);
      g_ptr_array_add (names, (gpointer) canonical);
    }
  return TRUE;
}

/* The value at @at has type @type (null was taken care of). */
static gboolean
check_type (const DsmJsonAt *at, FieldType type, GError **error)
{
  JsonNode *node = at->node;
  gboolean ok = FALSE;

  switch (type)
    {
    case FIELD_STRING:
      ok = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING;
      break;
    case FIELD_INTEGER:
      ok = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
      break;
    case FIELD_NUMBER:
      ok = JSON_NODE_HOLDS_VALUE (node) && (json_node_get_value_type (node) == G_TYPE_INT64
                                            || json_node_get_value_type (node) == G_TYPE_DOUBLE);
      break;
    case FIELD_BOOLEAN:
      ok = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN;
      break;
    case FIELD_ARRAY:
      ok = JSON_NODE_HOLDS_ARRAY (node);
      break;
    case FIELD_OBJECT:
      ok = JSON_NODE_HOLDS_OBJECT (node);
      break;
    default:
      g_assert_not_reached ();
    }
  if (ok)
    return TRUE;
  g_autofree char *found = dsm_json_describe (node);
  return dsm_json_fail (at, DSM_JSON_ERROR_TYPE, error, "expected %s %s, found %s",
                        type == FIELD_INTEGER || type == FIELD_OBJECT || type == FIELD_ARRAY
                            ? "an"
                            : "a",
                        type_names[type], found);
}

gboolean
dsm_machine_fields_check (const DsmMachineFields *fields, const char *from_name,
                          guint from, const char *to_name, guint to, JsonNode *payload,
                          GError **error)
{
  const GPtrArray *required = from_name == NULL
                                 ? NULL
                                 : g_hash_table_lookup (fields->requires,
                                                        GUINT_TO_POINTER (from * 64 + to + 1));
  DsmJsonAt root;

  dsm_json_at_root (&root, NULL, payload, "payload");
  if (payload != NULL && fields->declared)
    {
      /* Unknown keys first, with a "did you mean". */
      if (!dsm_json_get_object (&root, fields->names, error))
        return FALSE;
      for (guint i = 0; i < fields->fields->len; i++)
        {
          const Field *field = &g_array_index (fields->fields, Field, i);
          DsmJsonAt member;

          dsm_json_at_member (&member, &root, field->name);
          if (member.node != NULL && !JSON_NODE_HOLDS_NULL (member.node)
              && !check_type (&member, field->type, error))
            return FALSE;
        }
    }
  for (guint i = 0; required != NULL && i < required->len; i++)
    {
      DsmJsonAt member;

      if (payload == NULL)
        {
          g_set_error (error, DSM_JSON_ERROR, DSM_JSON_ERROR_MISSING,
                       "payload: missing, %s -> %s requires \"%s\"", from_name, to_name,
                       (const char *) required->pdata[i]);
          return FALSE;
        }
      dsm_json_at_member (&member, &root, required->pdata[i]);
      if (member.node == NULL || JSON_NODE_HOLDS_NULL (member.node))
        return dsm_json_fail (&member, DSM_JSON_ERROR_MISSING, error,
                              "required by %s -> %s, %s", from_name, to_name,
                              member.node == NULL ? "missing" : "null");
    }
  return TRUE;
}

void
dsm_machine_fields_to_json (const DsmMachineFields *fields, JsonBuilder *builder)
{
  if (!dsm_machine_fields_declared (fields))
    return;
  json_builder_set_member_name (builder, "fields");
  json_builder_begin_object (builder);
  for (guint i = 0; i < fields->fields->len; i++)
    {
      const Field *field = &g_array_index (fields->fields, Field, i);

      json_builder_set_member_name (builder, field->name);
      json_builder_add_string_value (builder, type_names[field->type]);
    }
  json_builder_end_object (builder);
}

void
dsm_machine_fields_requires_to_json (const DsmMachineFields *fields, guint from, guint to,
                                     JsonBuilder *builder)
{
  const GPtrArray *required = g_hash_table_lookup (fields->requires,
                                                   GUINT_TO_POINTER (from * 64 + to + 1));
  if (required == NULL)
    return;
  json_builder_set_member_name (builder, "requires");
  json_builder_begin_array (builder);
  for (guint i = 0; i < required->len; i++)
    json_builder_add_string_value (builder, required->pdata[i]);
  json_builder_end_array (builder);
}
