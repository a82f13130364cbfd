/* core/config-native.c: the "native" section of the cluster configuration
 * (the native client protocol's limits): defaults, JSON in and out, ranges
 * (docs/CONFIG.md, "Native protocol"). */
#include <string.h>

#include "config-private.h"
#include "error.h"

#define NATIVE(field) #field, G_STRUCT_OFFSET (DsmNativeConfig, field)

static const DsmConfigUint native_uints[] = {
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
  { NATIVE (loop_write_bytes_max), 0, 16777216, 65536 },
};

void
dsm_native_config_init (DsmNativeConfig *native)
{
  memset (native, 0, sizeof *native);
  dsm_config_uints_init (native, native_uints, G_N_ELEMENTS (native_uints));
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
  return dsm_config_uints_read (native, native_uints, G_N_ELEMENTS (native_uints), at, error);
}

gboolean
dsm_native_config_check (const DsmNativeConfig *native, GError **error)
{
  return dsm_config_uints_check (native, native_uints, G_N_ELEMENTS (native_uints), "native", error);
}

void
dsm_native_config_to_json (const DsmNativeConfig *native, JsonBuilder *b)
{
  json_builder_set_member_name (b, "native");
  json_builder_begin_object (b);
  dsm_config_uints_to_json (native, native_uints, G_N_ELEMENTS (native_uints), b);
  json_builder_end_object (b);
}
