/* core/config-private.h: the "http" and "native" sections' readers and
 * writers (config-http.c, config-native.c), called by config.c.  Not for other users. */
#pragma once

#include "config.h"
#include "json.h"

G_BEGIN_DECLS

/* An unsigned integer of a section, by its offset in the section's struct
 * (config-uints.c): each function takes the section and its table. */
typedef struct {
  const char *name;
  gsize offset;
  guint min;
  guint max;
  guint default_value;
} DsmConfigUint;

void dsm_config_uints_init (gpointer section, const DsmConfigUint *fields, guint n);
/* Reads the keys present at @at (absent ones keep their value), each in its range. */
gboolean dsm_config_uints_read (gpointer section, const DsmConfigUint *fields, guint n, const DsmJsonAt *at,
                                GError **error);
/* Each value in its range; errors name it as "@prefix.NAME". */
gboolean dsm_config_uints_check (gconstpointer section, const DsmConfigUint *fields, guint n, const char *prefix,
                                 GError **error);
/* Adds each as a member of the object @builder is in. */
void dsm_config_uints_to_json (gconstpointer section, const DsmConfigUint *fields, guint n, JsonBuilder *builder);

void dsm_http_config_init (DsmHttpConfig *http);
void dsm_http_config_clear (DsmHttpConfig *http);
void dsm_http_config_copy (DsmHttpConfig *dest, const DsmHttpConfig *src);
/* Lays the keys of the "http" object at @at over @http; absent keys keep their value. */
gboolean dsm_http_config_apply (DsmHttpConfig *http, const DsmJsonAt *at, GError **error);
/* What spans keys (a certificate without its key...). */
gboolean dsm_http_config_check (const DsmHttpConfig *http, GError **error);
void dsm_http_config_to_json (const DsmHttpConfig *http, JsonBuilder *builder);

/* The "native" section (config-native.c): plain integers, so a struct copy copies it. */
void dsm_native_config_init (DsmNativeConfig *native);
gboolean dsm_native_config_apply (DsmNativeConfig *native, const DsmJsonAt *at, GError **error);
gboolean dsm_native_config_check (const DsmNativeConfig *native, GError **error);
void dsm_native_config_to_json (const DsmNativeConfig *native, JsonBuilder *builder);

/* The "plugins" array (config-plugins.c): names or paths, kept as strings. */
gboolean dsm_plugins_config_apply (char ***plugins, const DsmJsonAt *at, GError **error);
/* Adds "plugins" to the object @builder is in, when there are any. */
void dsm_plugins_config_to_json (char *const *plugins, JsonBuilder *builder);

G_END_DECLS
