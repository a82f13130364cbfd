/* core/config-uints.c: a config section's unsigned integers described by a
 * table (name, offset, range, default): defaults, reading, range checks and
 * JSON out, shared by the "http" and "native" sections (config-private.h). */
#include "config-private.h"
#include "error.h"

void
dsm_config_uints_init (gpointer section, const DsmConfigUint *fields, guint n)
{
  for (guint i = 0; i < n; i++)
    G_STRUCT_MEMBER (guint, section, fields[i].offset) = fields[i].default_value;
}

gboolean
dsm_config_uints_read (gpointer section, const DsmConfigUint *fields, guint n, const DsmJsonAt *at,
                       GError **error)
{
  for (guint i = 0; i < n; i++)
    if (!dsm_json_read_uint32 (at, fields[i].name, DSM_JSON_OPTIONAL, fields[i].min, fields[i].max,
                               &G_STRUCT_MEMBER (guint, section, fields[i].offset), error))
      return FALSE;
  return TRUE;
}

gboolean
dsm_config_uints_check (gconstpointer section, const DsmConfigUint *fields, guint n, const char *prefix,
                        GError **error)
{
  for (guint i = 0; i < n; i++)
    {
      guint value = G_STRUCT_MEMBER (guint, section, fields[i].offset);
      if (value < fields[i].min || value > fields[i].max)
        {
          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_RANGE, "%s.%s: %u is out of %u..%u", prefix,
                       fields[i].name, value, fields[i].min, fields[i].max);
          return FALSE;
        }
    }
  return TRUE;
}

void
dsm_config_uints_to_json (gconstpointer section, const DsmConfigUint *fields, guint n, JsonBuilder *b)
{
  for (guint i = 0; i < n; i++)
    {
      json_builder_set_member_name (b, fields[i].name);
      json_builder_add_int_value (b, G_STRUCT_MEMBER (guint, section, fields[i].offset));
    }
}
