/* core/config-http.c: the "http" section of the cluster configuration:
 * defaults, JSON in and out, checks (docs/CONFIG.md, "HTTP"). */
#include <string.h>

#include "config-private.h"
#include "error.h"

static const DsmConfigUint http_uints[] = {
  { "workers", G_STRUCT_OFFSET (DsmHttpConfig, workers), 1, 64, 2 },
  { "max_connections", G_STRUCT_OFFSET (DsmHttpConfig, max_connections), 1, 1000000, 1024 },
  { "max_connections_per_address", G_STRUCT_OFFSET (DsmHttpConfig, max_connections_per_address), 1, 1000000, 128 },
  { "max_pipelined_requests", G_STRUCT_OFFSET (DsmHttpConfig, max_pipelined_requests), 1, 1024, 16 },
  { "header_timeout_ms", G_STRUCT_OFFSET (DsmHttpConfig, header_timeout_ms), 10, 3600000, 10000 },
  { "body_timeout_ms", G_STRUCT_OFFSET (DsmHttpConfig, body_timeout_ms), 10, 3600000, 10000 },
  { "idle_timeout_ms", G_STRUCT_OFFSET (DsmHttpConfig, idle_timeout_ms), 10, 3600000, 60000 },
  { "write_timeout_ms", G_STRUCT_OFFSET (DsmHttpConfig, write_timeout_ms), 10, 3600000, 10000 },
  { "max_request_line_bytes", G_STRUCT_OFFSET (DsmHttpConfig, max_request_line_bytes), 64, 1048576, 8192 },
  { "max_header_bytes", G_STRUCT_OFFSET (DsmHttpConfig, max_header_bytes), 256, 1048576, 16384 },
  { "max_header_count", G_STRUCT_OFFSET (DsmHttpConfig, max_header_count), 4, 10000, 64 },
  { "max_body_bytes", G_STRUCT_OFFSET (DsmHttpConfig, max_body_bytes), 256, 16777216, 65536 },
  { "rate_per_second", G_STRUCT_OFFSET (DsmHttpConfig, rate_per_second), 0, 10000000, 0 },
  { "rate_burst", G_STRUCT_OFFSET (DsmHttpConfig, rate_burst), 1, 100000000, 100 },
  { "max_watchers", G_STRUCT_OFFSET (DsmHttpConfig, max_watchers), 0, 1000000, 256 },
  { "max_watchers_per_client", G_STRUCT_OFFSET (DsmHttpConfig, max_watchers_per_client), 1, 1000000, 16 },
  { "watch_buffer_bytes", G_STRUCT_OFFSET (DsmHttpConfig, watch_buffer_bytes), 1024, 67108864, 262144 },
  { "watch_keepalive_ms", G_STRUCT_OFFSET (DsmHttpConfig, watch_keepalive_ms), 100, 3600000, 15000 },
};

static const struct {
  const char *name;
  gsize offset;
} http_files[] = {
  { "token_file", G_STRUCT_OFFSET (DsmHttpConfig, token_file) },
  { "tls_cert_file", G_STRUCT_OFFSET (DsmHttpConfig, tls_cert_file) },
  { "tls_key_file", G_STRUCT_OFFSET (DsmHttpConfig, tls_key_file) },
  { "client_ca_file", G_STRUCT_OFFSET (DsmHttpConfig, client_ca_file) },
};

static const struct {
  const char *name;
  gsize offset;
} http_flags[] = {
  { "client_cert_required", G_STRUCT_OFFSET (DsmHttpConfig, client_cert_required) },
  { "insecure_open", G_STRUCT_OFFSET (DsmHttpConfig, insecure_open) },
};

/* The paths "open_paths" may name: the read-only views besides /healthz
 * (which is always open). */
static const char *const openable_paths[] = { "/metrics", "/v1/cluster", "/v1/machines", NULL };
#define OPENABLE_PATHS 3

static const char *const role_names[] = { "read", "write", "admin", NULL };

void
dsm_http_config_init (DsmHttpConfig *http)
{
  memset (http, 0, sizeof *http);
  dsm_config_uints_init (http, http_uints, G_N_ELEMENTS (http_uints));
  http->client_cert_roles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  http->open_paths = g_new0 (char *, 1);
}

void
dsm_http_config_clear (DsmHttpConfig *http)
{
  for (guint i = 0; i < G_N_ELEMENTS (http_files); i++)
    g_clear_pointer (&G_STRUCT_MEMBER (char *, http, http_files[i].offset), g_free);
  g_clear_pointer (&http->client_cert_roles, g_hash_table_unref);
  g_clear_pointer (&http->open_paths, g_strfreev);
}

void
dsm_http_config_copy (DsmHttpConfig *dest, const DsmHttpConfig *src)
{
  GHashTableIter iter;
  gpointer key, value;

  *dest = *src;
  for (guint i = 0; i < G_N_ELEMENTS (http_files); i++)
    G_STRUCT_MEMBER (char *, dest, http_files[i].offset) = g_strdup (G_STRUCT_MEMBER (char *, src, http_files[i].offset));
  dest->client_cert_roles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (src->client_cert_roles != NULL)
    {
      g_hash_table_iter_init (&iter, src->client_cert_roles);
      while (g_hash_table_iter_next (&iter, &key, &value))
        g_hash_table_insert (dest->client_cert_roles, g_strdup (key), g_strdup (value));
    }
  dest->open_paths = g_strdupv (src->open_paths);
}

static gboolean
apply_open_paths (DsmHttpConfig *http, const DsmJsonAt *at, GError **error)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  guint length;

  if (!dsm_json_get_array (at, OPENABLE_PATHS, &length, error))
    return FALSE;
  for (guint i = 0; i < length; i++)
    {
      DsmJsonAt element;
      guint which;

      dsm_json_at_element (&element, at, i);
      if (!dsm_json_get_enum (&element, openable_paths, &which, error))
        return FALSE;
      if (g_ptr_array_find_with_equal_func (paths, openable_paths[which], g_str_equal, NULL))
        return dsm_json_fail (&element, DSM_JSON_ERROR_INVALID, error, "\"%s\" given twice", openable_paths[which]);
      g_ptr_array_add (paths, g_strdup (openable_paths[which]));
    }
  g_ptr_array_add (paths, NULL);
  g_strfreev (http->open_paths);
  http->open_paths = (char **) g_ptr_array_free (g_steal_pointer (&paths), FALSE);
  return TRUE;
}

static gboolean
apply_cert_roles (DsmHttpConfig *http, const DsmJsonAt *at, GError **error)
{
  g_autoptr(GHashTable) roles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  if (!dsm_json_get_object (at, NULL, error))
    return FALSE;
  json_object_iter_init_ordered (&iter, json_node_get_object (at->node));
  while (json_object_iter_next_ordered (&iter, &name, &value))
    {
      DsmJsonAt role_at;
      guint role;

      /* "comment" is a comment in every object, this map included. */
      if (strcmp (name, "comment") == 0)
        continue;
      dsm_json_at_member (&role_at, at, name);
      if (name[0] == '\0')
        return dsm_json_fail (&role_at, DSM_JSON_ERROR_INVALID, error, "an empty common name");
      if (!dsm_json_get_enum (&role_at, role_names, &role, error))
        return FALSE;
      g_hash_table_insert (roles, g_strdup (name), g_strdup (role_names[role]));
    }
  g_hash_table_unref (http->client_cert_roles);
  http->client_cert_roles = g_steal_pointer (&roles);
  return TRUE;
}

gboolean
dsm_http_config_apply (DsmHttpConfig *http, const DsmJsonAt *at, GError **error)
{
  g_autoptr(GPtrArray) known = g_ptr_array_new ();
  DsmJsonAt member;

  for (guint i = 0; i < G_N_ELEMENTS (http_uints); i++)
    g_ptr_array_add (known, (gpointer) http_uints[i].name);
  for (guint i = 0; i < G_N_ELEMENTS (http_files); i++)
    g_ptr_array_add (known, (gpointer) http_files[i].name);
  for (guint i = 0; i < G_N_ELEMENTS (http_flags); i++)
    g_ptr_array_add (known, (gpointer) http_flags[i].name);
  g_ptr_array_add (known, (gpointer) "client_cert_roles");
  g_ptr_array_add (known, (gpointer) "open_paths");
  g_ptr_array_add (known, NULL);
  if (!dsm_json_get_object (at, (const char *const *) known->pdata, error))
    return FALSE;

  if (!dsm_config_uints_read (http, http_uints, G_N_ELEMENTS (http_uints), at, error))
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (http_files); i++)
    {
      char **field = &G_STRUCT_MEMBER (char *, http, http_files[i].offset);
      const char *value = *field;

      if (!dsm_json_read_string (at, http_files[i].name, DSM_JSON_NULLABLE, 4096, &value, error))
        return FALSE;
      if (value == *field)
        continue;
      if (value != NULL && value[0] == '\0')
        {
          dsm_json_at_member (&member, at, http_files[i].name);
          return dsm_json_fail (&member, DSM_JSON_ERROR_INVALID, error, "empty; leave it out or null");
        }
      g_free (*field);
      *field = g_strdup (value);
    }
  for (guint i = 0; i < G_N_ELEMENTS (http_flags); i++)
    if (!dsm_json_read_bool (at, http_flags[i].name, DSM_JSON_OPTIONAL,
                             &G_STRUCT_MEMBER (gboolean, http, http_flags[i].offset), error))
      return FALSE;
  dsm_json_at_member (&member, at, "client_cert_roles");
  if (member.node != NULL && !apply_cert_roles (http, &member, error))
    return FALSE;
  dsm_json_at_member (&member, at, "open_paths");
  if (member.node != NULL && !apply_open_paths (http, &member, error))
    return FALSE;
  return TRUE;
}

gboolean
dsm_http_config_check (const DsmHttpConfig *http, GError **error)
{
  if (!dsm_config_uints_check (http, http_uints, G_N_ELEMENTS (http_uints), "http", error))
    return FALSE;
  if ((http->tls_cert_file == NULL) != (http->tls_key_file == NULL))
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "http.%s: needed with http.%s (a certificate and its private key go together)",
                   http->tls_cert_file == NULL ? "tls_cert_file" : "tls_key_file",
                   http->tls_cert_file == NULL ? "tls_key_file" : "tls_cert_file");
      return FALSE;
    }
  if (http->client_ca_file != NULL && http->tls_cert_file == NULL)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "http.client_ca_file: client certificates need TLS; set http.tls_cert_file and http.tls_key_file");
      return FALSE;
    }
  if ((http->client_cert_required || g_hash_table_size (http->client_cert_roles) > 0) && http->client_ca_file == NULL)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID, "http.%s: needs http.client_ca_file",
                   http->client_cert_required ? "client_cert_required" : "client_cert_roles");
      return FALSE;
    }
  if (http->insecure_open && (http->token_file != NULL || http->client_ca_file != NULL))
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "http.insecure_open: true, but http.%s asks for credentials; choose one",
                   http->token_file != NULL ? "token_file" : "client_ca_file");
      return FALSE;
    }
  return TRUE;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

void
dsm_http_config_to_json (const DsmHttpConfig *http, JsonBuilder *b)
{
  g_autofree const char **names = NULL;
  guint n_names;

  json_builder_set_member_name (b, "http");
  json_builder_begin_object (b);
  dsm_config_uints_to_json (http, http_uints, G_N_ELEMENTS (http_uints), b);
  for (guint i = 0; i < G_N_ELEMENTS (http_files); i++)
    if (G_STRUCT_MEMBER (char *, http, http_files[i].offset) != NULL)
      {
        json_builder_set_member_name (b, http_files[i].name);
        json_builder_add_string_value (b, G_STRUCT_MEMBER (char *, http, http_files[i].offset));
      }
  for (guint i = 0; i < G_N_ELEMENTS (http_flags); i++)
    {
      json_builder_set_member_name (b, http_flags[i].name);
      json_builder_add_boolean_value (b, G_STRUCT_MEMBER (gboolean, http, http_flags[i].offset));
    }
  json_builder_set_member_name (b, "client_cert_roles");
  json_builder_begin_object (b);
  /* Sorted, so equal configs write equal text. */
  names = (const char **) g_hash_table_get_keys_as_array (http->client_cert_roles, &n_names);
  qsort (names, n_names, sizeof *names, compare_strings);
  for (guint i = 0; i < n_names; i++)
    {
      json_builder_set_member_name (b, names[i]);
      json_builder_add_string_value (b, g_hash_table_lookup (http->client_cert_roles, names[i]));
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "open_paths");
  json_builder_begin_array (b);
  for (char **p = http->open_paths; *p != NULL; p++)
    json_builder_add_string_value (b, *p);
  json_builder_end_array (b);
  json_builder_end_object (b);
}
