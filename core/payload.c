/* core/payload.c: payloads and machine data as canonical JSON text,
 * parsed within bounds and merged one level deep.
 *
 * Canonical text is what makes data agree byte for byte on every node
 * (snapshots and digests compare bytes): keys sorted, one spelling per
 * number.  docs/PROTOCOL.md, "Payloads", says what a payload does. */
#include "payload.h"

#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "json-write.h"
#include "json.h"

const DsmPayloadLimits dsm_payload_ceilings = {
  DSM_PAYLOAD_BYTES_MAX, DSM_PAYLOAD_DEPTH_MAX, DSM_PAYLOAD_FIELDS_MAX,
};

const DsmPayloadLimits dsm_payload_data_limits = {
  DSM_DATA_BYTES_MAX, DSM_PAYLOAD_DEPTH_MAX, G_MAXUINT,
};

static int
write_compare_keys (gconstpointer a, gconstpointer b)
{
  return strcmp (a, b);
}

/* The shortest of %.15g .. %.17g that reads back to @value (IEEE doubles
 * and C's correctly rounded printf make this the same on every node). */
static void
write_double (GString *out, double value)
{
  char text[G_ASCII_DTOSTR_BUF_SIZE];

  for (int digits = 15; digits <= 17; digits++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", digits);
      g_ascii_formatd (text, sizeof text, format, value);
      if (g_ascii_strtod (text, NULL) == value)
        break;
    }
  dsm_json_append_str (out, text);
  /* 2.0 is written "2.0", not "2", which would read back an integer. */
  if (strpbrk (text, ".eE") == NULL)
    DSM_JSON_APPEND_LITERAL (out, ".0");
}

static void
write_value (GString *out, JsonNode *node)
{
  GType type = json_node_get_value_type (node);

  if (type == G_TYPE_INT64)
    {
      gint64 value = json_node_get_int (node);

      if (value < 0)
        {
          dsm_json_append_c (out, '-');
          /* -(value + 1) + 1: no overflow at G_MININT64. */
          dsm_json_write_uint (out, (guint64) (-(value + 1)) + 1);
        }
      else
        dsm_json_write_uint (out, (guint64) value);
    }
  else if (type == G_TYPE_DOUBLE)
    write_double (out, json_node_get_double (node));
  else if (type == G_TYPE_BOOLEAN)
    dsm_json_write_bool (out, json_node_get_boolean (node));
  else if (type == G_TYPE_STRING)
    dsm_json_write_string (out, json_node_get_string (node));
  else
    /* dsm_json_parse() builds no other value types. */
    g_assert_not_reached ();
}

void
dsm_payload_write (GString *out, JsonNode *node)
{
  g_return_if_fail (out != NULL && node != NULL);

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_NULL:
      DSM_JSON_APPEND_LITERAL (out, "null");
      break;
    case JSON_NODE_VALUE:
      write_value (out, node);
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);

        dsm_json_append_c (out, '[');
        for (guint i = 0; i < n; i++)
          {
            if (i > 0)
              dsm_json_append_c (out, ',');
            dsm_payload_write (out, json_array_get_element (array, i));
          }
        dsm_json_append_c (out, ']');
      }
      break;
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        GList *keys = g_list_sort (json_object_get_members (object), write_compare_keys);

        dsm_json_append_c (out, '{');
        for (GList *l = keys; l != NULL; l = l->next)
          {
            if (l != keys)
              dsm_json_append_c (out, ',');
            dsm_json_write_string (out, l->data);
            dsm_json_append_c (out, ':');
            dsm_payload_write (out, json_object_get_member (object, l->data));
          }
        dsm_json_append_c (out, '}');
        g_list_free (keys);
      }
      break;
    default:
      g_assert_not_reached ();
    }
}

char *
dsm_payload_to_text (JsonNode *node)
{
  GString *out = g_string_sized_new (64);

  dsm_payload_write (out, node);
  return g_string_free (out, FALSE);
}

JsonNode *
dsm_payload_parse (const char *text, const char *what, const DsmPayloadLimits *limits,
                   GError **error)
{
  DsmJsonLimits bounds = { limits->bytes_max, limits->depth_max };
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) node = NULL;

  g_return_val_if_fail (text != NULL && what != NULL && limits != NULL, NULL);

  node = dsm_json_parse (text, -1, &bounds, NULL, &local);
  if (node == NULL)
    {
      g_set_error (error, DSM_JSON_ERROR, local->code, "%s: %s", what, local->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_autofree char *found = dsm_json_describe (node);

      g_set_error (error, DSM_JSON_ERROR, DSM_JSON_ERROR_TYPE, "%s: expected an object, found %s",
                   what, found);
      return NULL;
    }
  guint n = json_object_get_size (json_node_get_object (node));
  if (n > limits->fields_max)
    {
      g_set_error (error, DSM_JSON_ERROR, DSM_JSON_ERROR_TOO_LARGE,
                   "%s: %u fields, more than %u", what, n, limits->fields_max);
      return NULL;
    }
  return g_steal_pointer (&node);
}

char *
dsm_payload_canonical (JsonNode *payload, const char *what, const DsmPayloadLimits *limits, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) bounded = NULL;

  g_return_val_if_fail (payload != NULL && what != NULL && limits != NULL, NULL);

  if (!JSON_NODE_HOLDS_OBJECT (payload))
    {
      g_autofree char *found = dsm_json_describe (payload);

      g_set_error (error, DSM_JSON_ERROR, DSM_JSON_ERROR_TYPE, "%s: expected an object, found %s", what, found);
      return NULL;
    }
  text = dsm_payload_to_text (payload);
  /* The limits hold for the canonical text: what is replicated and stored. */
  bounded = dsm_payload_parse (text, what, limits, error);
  return bounded != NULL ? g_steal_pointer (&text) : NULL;
}

char *
dsm_payload_merge (const char *data, JsonNode *payload)
{
  g_autoptr(JsonNode) merged = NULL;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (payload != NULL && JSON_NODE_HOLDS_OBJECT (payload), NULL);

  if (data != NULL)
    {
      merged = dsm_payload_parse (data, "data", &dsm_payload_data_limits, &error);
      /* The store keeps only what this file wrote or a snapshot it
       * checked with the same limits. */
      g_assert (merged != NULL);
    }
  else
    merged = json_node_init_object (json_node_alloc (), json_object_new ());

  JsonObject *into = json_node_get_object (merged);
  JsonObject *from = json_node_get_object (payload);
  g_autoptr(GList) keys = json_object_get_members (from);
  for (GList *l = keys; l != NULL; l = l->next)
    {
      JsonNode *value = json_object_get_member (from, l->data);

      if (JSON_NODE_HOLDS_NULL (value))
        json_object_remove_member (into, l->data);
      else
        json_object_set_member (into, l->data, json_node_copy (value));
    }
  if (json_object_get_size (into) == 0)
    return NULL;
  return dsm_payload_to_text (merged);
}
