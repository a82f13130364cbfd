/* core/config-native.c: the "native" section of the cluster configuration
 * (the native client protocol's limits): defaults, JSON in and out, ranges
 * (docs/CONFIG.md, "Native protocol"). */
#include <string.h>

#include "config-private.h"
#include "error.h"

typedef struct {
  const char *name;
  gsize offset;
  guint min;
  guint max;
  guint default_value;
} NativeUint;

#define NATIVE(field) #field, G_STRUCT_OFFSET (DsmNativeConfig, field)

static const NativeUint native_uints[] = {
  { NATIVE (workers), 1, 64, 2 },
  { NATIVE (max_connections), 1, 1000000, 1024 },
  { NATIVE (max_connections_per_address), 1, 1000000, 128 },
  { NATIVE (max_in_flight), 1, 65536, 256 },
  /* At least 1 KiB (dsm-wire.h, DSM_WIRE_FRAME_BYTES_MIN): a transition
   * of names at their longest fits. */
  { NATIVE (max_frame_bytes), 1024, 16777216, 65536 },
  { NATIVE (hello_timeout_ms), 10, 3600000, 10000 },
  { NATIVE (idle_timeout_ms), 10, 86400000, 300000 },
  { NATIVE (write_timeout_ms), 10, 3600000, 10000 },
  { NATIVE (rate_per_second), 0, 10000000, 0 },
  { NATIVE (rate_burst), 1, 100000000, 1000 },
};

void
dsm_native_config_init (DsmNativeConfig *native)
{
  memset (native, 0, sizeof *native);
  for (guint i = 0; i < G_N_ELEMENTS (native_uints); i++)
    G_STRUCT_MEMBER (guint, native, native_uints[i].offset) = native_uints[i].default_value;
}

gboolean
dsm_native_config_apply (DsmNativeConfig *native, const DsmJsonAt *at, GError **error)
{
  const char *known[G_N_ELEMENTS (native_uints) + 1];

  for (guint i = 0; i < G_N_ELEMENTS (native_uints); i++)
    known[i] = native_uints[i].name;
  known[G_N_ELEMENTS (native_uints)] = NULL;
  if (!dsm_json_get_object (at, known, error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (native_uints); i++)
    if (!dsm_json_read_uint32 (at, native_uints[i].name, DSM_JSON_OPTIONAL, native_uints[i].min,
                               native_uints[i].max, &G_STRUCT_MEMBER (guint, native, native_uints[i].offset),
                               error))
      return FALSE;
  return TRUE;
}

gboolean
dsm_native_config_check (const DsmNativeConfig *native, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (native_uints); i++)
    {
      guint value = G_STRUCT_MEMBER (guint, native, native_uints[i].offset);
      if (value < native_uints[i].min || value > native_uints[i].max)
        {
          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_RANGE, "native.%s: %u is out of %u..%u",
                       native_uints[i].name, value, native_uints[i].min, native_uints[i].max);
          return FALSE;
        }
    }
  return TRUE;
}

void
dsm_native_config_to_json (const DsmNativeConfig *native, JsonBuilder *b)
{
  json_builder_set_member_name (b, "native");
  json_builder_begin_object (b);
  for (guint i = 0; i < G_N_ELEMENTS (native_uints); i++)
    {
      json_builder_set_member_name (b, native_uints[i].name);
      json_builder_add_int_value (b, G_STRUCT_MEMBER (guint, native, native_uints[i].offset));
    }
  json_builder_end_object (b);
}
