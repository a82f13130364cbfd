/* core/config.c: the cluster configuration: defaults, JSON in and out, and
 * the checks that keep a bad value from reaching the engine (docs/CONFIG.md).
 *
 * Every path in gives the same result: parse each key (type and range,
 * naming the field), then dsm_config_check() for what spans fields.  The
 * core reads no files: string entries of "definitions" go through the
 * host's DsmDefinitionLoader. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "entry.h"
#include "error.h"
#include "config-private.h"
#include "json.h"
#include "machine-private.h"

/* Node ids: the one range of every part of dsm (core/types.h). */
#define NODE_ID_MAX DSM_NODE_ID_MAX

/* Longest host in "host:port" (a DNS name is at most 253 bytes). */
#define HOST_MAX 253

typedef struct {
  const char *name;
  gsize offset;
  guint min;            /* 0 or 1 */
  guint default_value;
} UintField;

/* Schema order: parsing, checking and writing all walk this table.  The
 * defaults are documented in docs/CONFIG.md. */
static const UintField uint_fields[] = {
  { "heartbeat_ms", G_STRUCT_OFFSET (DsmConfig, heartbeat_ms), 1, 50 },
  { "election_timeout_ms_min", G_STRUCT_OFFSET (DsmConfig, election_timeout_ms_min), 1, 150 },
  { "election_timeout_ms_max", G_STRUCT_OFFSET (DsmConfig, election_timeout_ms_max), 1, 300 },
  { "consensus_timeout_ms", G_STRUCT_OFFSET (DsmConfig, consensus_timeout_ms), 1, 2000 },
  { "retry_attempts", G_STRUCT_OFFSET (DsmConfig, retry_attempts), 1, 5 },
  { "retry_delay_ms", G_STRUCT_OFFSET (DsmConfig, retry_delay_ms), 1, 100 },
  { "max_batch_entries", G_STRUCT_OFFSET (DsmConfig, max_batch_entries), 1, 256 },
  { "max_batch_bytes", G_STRUCT_OFFSET (DsmConfig, max_batch_bytes), 1, 256 * 1024 },
  { "max_inflight_proposals", G_STRUCT_OFFSET (DsmConfig, max_inflight_proposals), 1, 8 },
  { "max_pending_requests", G_STRUCT_OFFSET (DsmConfig, max_pending_requests), 1, 10000 },
  { "max_uncommitted_entries", G_STRUCT_OFFSET (DsmConfig, max_uncommitted_entries), 1, 20000 },
  { "max_sessions", G_STRUCT_OFFSET (DsmConfig, max_sessions), 1, 10000 },
  { "session_window", G_STRUCT_OFFSET (DsmConfig, session_window), 1, 64 },
  /* A transition's payload (PROTOCOL.md, "Payloads"), at most core/entry.h's ceilings. */
  { "payload_bytes_max", G_STRUCT_OFFSET (DsmConfig, payload_bytes_max), 1, 4096 },
  { "payload_fields_max", G_STRUCT_OFFSET (DsmConfig, payload_fields_max), 1, 32 },
  { "payload_depth_max", G_STRUCT_OFFSET (DsmConfig, payload_depth_max), 1, 4 },
  { "max_frame_bytes", G_STRUCT_OFFSET (DsmConfig, max_frame_bytes), 1, 4 * 1024 * 1024 },
  { "max_write_queue_bytes", G_STRUCT_OFFSET (DsmConfig, max_write_queue_bytes), 1,
    64 * 1024 * 1024 },
  { "reconnect_ms_min", G_STRUCT_OFFSET (DsmConfig, reconnect_ms_min), 1, 50 },
  { "reconnect_ms_max", G_STRUCT_OFFSET (DsmConfig, reconnect_ms_max), 1, 2000 },
  /* 0 disables snapshots. */
  { "snapshot_threshold_entries", G_STRUCT_OFFSET (DsmConfig, snapshot_threshold_entries), 0,
    10000 },
  { "snapshot_chunk_bytes", G_STRUCT_OFFSET (DsmConfig, snapshot_chunk_bytes), 1, 256 * 1024 },
  { "snapshot_slice_machines", G_STRUCT_OFFSET (DsmConfig, snapshot_slice_machines), 1, 4096 },
  { "learner_catch_up_entries", G_STRUCT_OFFSET (DsmConfig, learner_catch_up_entries), 0, 64 },
  /* 0: learners are promoted only by command. */
  { "learner_catch_up_rounds", G_STRUCT_OFFSET (DsmConfig, learner_catch_up_rounds), 0, 3 },
};

static guint *
uint_field (DsmConfig *config, const UintField *field)
{
  return G_STRUCT_MEMBER_P (config, field->offset);
}

static guint
uint_field_get (const DsmConfig *config, const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (uint_fields); i++)
    if (strcmp (uint_fields[i].name, name) == 0)
      return G_STRUCT_MEMBER (guint, config, uint_fields[i].offset);
  g_assert_not_reached ();
}

/* The peer-security strings (docs/CONFIG.md, "Security"), each a string
 * or null, written back only when set. */
typedef struct {
  const char *name;
  gsize offset;
} PathField;

static const PathField path_fields[] = {
  { "secret", G_STRUCT_OFFSET (DsmConfig, secret) },
  { "secret_file", G_STRUCT_OFFSET (DsmConfig, secret_file) },
  { "peer_tls_ca_file", G_STRUCT_OFFSET (DsmConfig, peer_tls_ca_file) },
  { "peer_tls_cert_file", G_STRUCT_OFFSET (DsmConfig, peer_tls_cert_file) },
  { "peer_tls_key_file", G_STRUCT_OFFSET (DsmConfig, peer_tls_key_file) },
};

static char **
path_field (const DsmConfig *config, const PathField *field)
{
  return G_STRUCT_MEMBER_P ((DsmConfig *) config, field->offset);
}

/* ---- lifetime ---- */

static GHashTable *
definitions_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                (GDestroyNotify) dsm_machine_def_unref);
}

static void
definitions_add (GHashTable *definitions, DsmMachineDef *def)
{
  g_hash_table_replace (definitions, g_strdup (dsm_machine_def_get_name (def)), def);
}

static void
nodes_free (DsmNodeConfig *nodes, guint n_nodes)
{
  for (guint i = 0; i < n_nodes; i++)
    {
      g_free (nodes[i].peer_address);
      g_free (nodes[i].client_address);
      g_free (nodes[i].native_address);
    }
  g_free (nodes);
}

static DsmNodeConfig *
nodes_new_count (guint n_nodes)
{
  DsmNodeConfig *nodes = g_new0 (DsmNodeConfig, n_nodes);

  for (guint i = 0; i < n_nodes; i++)
    nodes[i].id = i + 1;
  return nodes;
}

DsmConfig *
dsm_config_new_default (guint n_nodes)
{
  DsmConfig *config;

  g_return_val_if_fail (n_nodes >= 1, NULL);
  g_return_val_if_fail (n_nodes <= DSM_MAX_NODES, NULL);

  config = g_new0 (DsmConfig, 1);
  config->ref_count = 1;
  config->cluster_id = g_strdup ("dsm");
  config->nodes = nodes_new_count (n_nodes);
  config->n_nodes = n_nodes;
  for (guint i = 0; i < G_N_ELEMENTS (uint_fields); i++)
    *uint_field (config, &uint_fields[i]) = uint_fields[i].default_value;
  dsm_http_config_init (&config->http);
  dsm_native_config_init (&config->native);
  config->definitions = definitions_new ();
  definitions_add (config->definitions, dsm_machine_def_new_lifecycle ());
  config->default_definition = g_strdup (DSM_MACHINE_LIFECYCLE);
  return config;
}

static void
config_clear (DsmConfig *config)
{
  g_free (config->cluster_id);
  nodes_free (config->nodes, config->n_nodes);
  for (guint i = 0; i < G_N_ELEMENTS (path_fields); i++)
    g_free (*path_field (config, &path_fields[i]));
  dsm_http_config_clear (&config->http);
  g_clear_pointer (&config->definitions, g_hash_table_unref);
  g_free (config->default_definition);
  g_strfreev (config->plugins);
}

DsmConfig *
dsm_config_ref (DsmConfig *config)
{
  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (g_atomic_int_get (&config->ref_count) > 0, NULL);
  g_atomic_int_inc (&config->ref_count);
  return config;
}

void
dsm_config_unref (DsmConfig *config)
{
  if (config == NULL)
    return;
  g_return_if_fail (g_atomic_int_get (&config->ref_count) > 0);
  if (!g_atomic_int_dec_and_test (&config->ref_count))
    return;
  config_clear (config);
  g_free (config);
}

DsmConfig *
dsm_config_copy (const DsmConfig *config)
{
  DsmConfig *copy;
  GHashTableIter iter;
  gpointer value;

  g_return_val_if_fail (config != NULL, NULL);

  copy = g_new (DsmConfig, 1);
  *copy = *config;
  copy->ref_count = 1;
  copy->cluster_id = g_strdup (config->cluster_id);
  copy->nodes = g_new0 (DsmNodeConfig, MAX (config->n_nodes, 1));
  for (guint i = 0; i < config->n_nodes; i++)
    {
      copy->nodes[i].id = config->nodes[i].id;
      copy->nodes[i].peer_address = g_strdup (config->nodes[i].peer_address);
      copy->nodes[i].client_address = g_strdup (config->nodes[i].client_address);
      copy->nodes[i].native_address = g_strdup (config->nodes[i].native_address);
    }
  for (guint i = 0; i < G_N_ELEMENTS (path_fields); i++)
    *path_field (copy, &path_fields[i]) = g_strdup (*path_field (config, &path_fields[i]));
  dsm_http_config_copy (&copy->http, &config->http);
  /* Definitions are immutable: the copy shares them. */
  copy->definitions = definitions_new ();
  if (config->definitions != NULL)
    {
      g_hash_table_iter_init (&iter, config->definitions);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        definitions_add (copy->definitions, dsm_machine_def_ref (value));
    }
  copy->default_definition = g_strdup (config->default_definition);
  copy->plugins = g_strdupv (config->plugins);
  return copy;
}

/* ---- queries ---- */

const DsmNodeConfig *
dsm_config_find_node (const DsmConfig *config, DsmNodeId id)
{
  g_return_val_if_fail (config != NULL, NULL);

  for (guint i = 0; i < config->n_nodes; i++)
    if (config->nodes[i].id == id)
      return &config->nodes[i];
  return NULL;
}

gboolean
dsm_config_add_plugin (DsmConfig *config, const DsmMachineImpl *impl, GError **error)
{
  g_return_val_if_fail (config != NULL && impl != NULL, FALSE);
  g_return_val_if_fail (g_atomic_int_get (&config->ref_count) == 1, FALSE);

  if (g_hash_table_contains (config->definitions, impl->name))
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "plugins: machine plugin \"%s\" has the name of a definition the config has", impl->name);
      return FALSE;
    }
  definitions_add (config->definitions, dsm_machine_def_new_plugin (impl));
  return TRUE;
}

const DsmMachineDef *
dsm_config_find_definition (const DsmConfig *config, const char *name)
{
  g_return_val_if_fail (config != NULL, NULL);

  if (name == NULL)
    name = config->default_definition;
  if (name == NULL || config->definitions == NULL)
    return NULL;
  return g_hash_table_lookup (config->definitions, name);
}

guint
dsm_config_quorum (const DsmConfig *config)
{
  g_return_val_if_fail (config != NULL, 0);
  g_return_val_if_fail (config->n_nodes >= 1, 0);
  return config->n_nodes / 2 + 1;
}

/* ---- checks shared by parsing and dsm_config_check() ---- */

static gboolean
check_port (const char *text, guint *port)
{
  guint64 value;

  if (*text == '\0' || strlen (text) > 5)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  value = g_ascii_strtoull (text, NULL, 10);
  if (value < 1 || value > 65535)
    return FALSE;
  *port = (guint) value;
  return TRUE;
}

/* "host:port" or "[v6]:port" with port 1..65535.  Returns the form two
 * addresses are compared in ("example.org:7001"), or NULL with @error. */
static char *
check_address (const char *address, const char *path, GError **error)
{
  g_autofree char *host = NULL;
  g_autofree char *quoted = dsm_json_quote (address);
  g_autofree char *lower = NULL;
  const char *port_text;
  guint port;

  if (address[0] == '[')
    {
      const char *close = strchr (address, ']');

      if (close == NULL || close[1] != ':')
        goto bad_form;
      host = g_strndup (address + 1, (gsize) (close - address - 1));
      port_text = close + 2;
    }
  else
    {
      const char *colon = strrchr (address, ':');

      if (colon == NULL)
        goto bad_form;
      host = g_strndup (address, (gsize) (colon - address));
      port_text = colon + 1;
      if (strchr (host, ':') != NULL)
        {
          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                       "%s: %s: write an IPv6 host in brackets, as \"[::1]:7001\"", path, quoted);
          return NULL;
        }
    }
  if (host[0] == '\0' || strlen (host) > HOST_MAX)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "%s: %s: the host must have 1 to %d bytes", path, quoted, HOST_MAX);
      return NULL;
    }
  for (const char *p = host; *p != '\0'; p++)
    if (!g_ascii_isgraph (*p) || strchr ("[]/@", *p) != NULL)
      {
        g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                     "%s: %s: the host has a character hosts do not have", path, quoted);
        return NULL;
      }
  if (!check_port (port_text, &port))
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "%s: %s: the port must be a number in 1..65535", path, quoted);
      return NULL;
    }
  lower = g_ascii_strdown (host, -1);
  return g_strdup_printf ("%s:%u", lower, port);

bad_form:
  g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
               "%s: expected \"host:port\", found %s", path, quoted);
  return NULL;
}

/* Ids in range and unique, addresses well formed and unique across all
 * nodes (a peer address equal to a client address could not be bound
 * twice either).  @nodes may be unsorted: indices in messages are the
 * array's own, so a parsed file's errors point at its lines. */
static gboolean
check_nodes (const DsmNodeConfig *nodes, guint n_nodes, GError **error)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (nodes == NULL || n_nodes < 1 || n_nodes > DSM_MAX_NODES)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_RANGE,
                   "nodes: %u nodes; a cluster has 1 to %d", nodes ? n_nodes : 0, DSM_MAX_NODES);
      return FALSE;
    }
  for (guint i = 0; i < n_nodes; i++)
    {
      const char *addresses[] = { nodes[i].peer_address, nodes[i].client_address, nodes[i].native_address };
      const char *keys[] = { "peer_address", "client_address", "native_address" };

      if (nodes[i].id < 1 || nodes[i].id > NODE_ID_MAX)
        {
          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_RANGE,
                       "nodes[%u].id: %u is out of 1..%u", i, nodes[i].id, NODE_ID_MAX);
          return FALSE;
        }
      for (guint j = 0; j < i; j++)
        if (nodes[j].id == nodes[i].id)
          {
            g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                         "nodes[%u].id: duplicate id %u (also nodes[%u])", i, nodes[i].id, j);
            return FALSE;
          }
      for (guint k = 0; k < G_N_ELEMENTS (addresses); k++)
        {
          g_autofree char *path = NULL;
          g_autofree char *normal = NULL;
          const char *other;

          if (addresses[k] == NULL)
            continue;
          path = g_strdup_printf ("nodes[%u].%s", i, keys[k]);
          if (!(normal = check_address (addresses[k], path, error)))
            return FALSE;
          if ((other = g_hash_table_lookup (seen, normal)) != NULL)
            {
              g_autofree char *quoted = dsm_json_quote (addresses[k]);

              g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                           "%s: %s is already used by %s", path, quoted, other);
              return FALSE;
            }
          g_hash_table_insert (seen, g_steal_pointer (&normal), g_steal_pointer (&path));
        }
    }
  return TRUE;
}

/* An IPv4 literal in 127.0.0.0/8 or [::1]: a host only this machine can
 * reach.  Names are refused, since the core does not resolve them. */
static gboolean
address_is_loopback (const char *address)
{
  const char *colon = strrchr (address, ':');
  g_autofree char *host = colon != NULL ? g_strndup (address, (gsize) (colon - address)) : NULL;
  g_auto(GStrv) parts = NULL;

  if (host == NULL)
    return FALSE;
  if (strcmp (host, "[::1]") == 0)
    return TRUE;
  parts = g_strsplit (host, ".", -1);
  if (g_strv_length (parts) != 4)
    return FALSE;
  for (guint i = 0; i < 4; i++)
    {
      if (parts[i][0] == '\0' || strlen (parts[i]) > 3)
        return FALSE;
      for (const char *p = parts[i]; *p != '\0'; p++)
        if (!g_ascii_isdigit (*p))
          return FALSE;
      if (g_ascii_strtoull (parts[i], NULL, 10) > 255)
        return FALSE;
    }
  return strcmp (parts[0], "127") == 0;
}

/* Letters, digits and inner '-', 1..63 bytes: a cluster id that can be
 * part of a peer certificate's DNS name (docs/SECURITY.md). */
static gboolean
name_is_dns_label (const char *name)
{
  gsize n = strlen (name);

  if (n < 1 || n > 63 || name[0] == '-' || name[n - 1] == '-')
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum (name[i]) && name[i] != '-')
      return FALSE;
  return TRUE;
}

/* The peer-security keys agree with each other (docs/CONFIG.md,
 * "Security").  Whether a node may run with none of them is the host's
 * call: the simulator has no peer links to protect. */
static gboolean
check_peer_security (const DsmConfig *config, GError **error)
{
  const char *tls[] = { config->peer_tls_ca_file, config->peer_tls_cert_file, config->peer_tls_key_file };
  guint n_tls = 0;

  for (guint i = 0; i < G_N_ELEMENTS (path_fields); i++)
    {
      const char *value = *path_field (config, &path_fields[i]);

      if (value != NULL && value[0] == '\0')
        {
          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                       "%s: empty; leave it out (or null) when unused", path_fields[i].name);
          return FALSE;
        }
    }
  if (config->secret != NULL && config->secret_file != NULL)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "secret_file: give the secret inline (secret) or in a file (secret_file), not both");
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (tls); i++)
    n_tls += tls[i] != NULL;
  if (n_tls != 0 && n_tls != G_N_ELEMENTS (tls))
    {
      const char *missing = tls[0] == NULL ? "peer_tls_ca_file"
                            : tls[1] == NULL ? "peer_tls_cert_file" : "peer_tls_key_file";

      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_MISSING,
                   "%s: missing; peer_tls_ca_file, peer_tls_cert_file and peer_tls_key_file go together",
                   missing);
      return FALSE;
    }
  if (n_tls != 0 && !name_is_dns_label (config->cluster_id))
    {
      g_autofree char *quoted = dsm_json_quote (config->cluster_id);

      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "cluster_id: %s cannot name peer certificates (node-ID.CLUSTER): with peer TLS "
                   "use letters, digits and inner '-', at most 63", quoted);
      return FALSE;
    }
  if (!config->insecure)
    return TRUE;
  if (n_tls != 0 || config->secret != NULL || config->secret_file != NULL)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "insecure: true, but %s is set; drop one or the other",
                   n_tls != 0 ? "peer TLS" : config->secret != NULL ? "secret" : "secret_file");
      return FALSE;
    }
  for (guint i = 0; i < config->n_nodes; i++)
    if (config->nodes[i].peer_address != NULL && !address_is_loopback (config->nodes[i].peer_address))
      {
        g_autofree char *quoted = dsm_json_quote (config->nodes[i].peer_address);

        g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                     "insecure: true is allowed only when every peer address is a loopback IP "
                     "(127.0.0.0/8 or [::1]); node %u's peer_address %s is not",
                     config->nodes[i].id, quoted);
        return FALSE;
      }
  return TRUE;
}

static gboolean
check_definitions (const DsmConfig *config, GError **error)
{
  g_autoptr(DsmMachineDef) builtin = dsm_machine_def_new_lifecycle ();
  g_autoptr(JsonNode) builtin_json = dsm_machine_def_to_json (builtin);
  g_autoptr(JsonNode) lifecycle_json = NULL;
  const DsmMachineDef *lifecycle;
  GHashTableIter iter;
  gpointer key, value;

  if (config->definitions == NULL
      || !(lifecycle = g_hash_table_lookup (config->definitions, DSM_MACHINE_LIFECYCLE)))
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "definitions: the built-in \"lifecycle\" definition is missing");
      return FALSE;
    }
  lifecycle_json = dsm_machine_def_to_json (lifecycle);
  if (!json_node_equal (lifecycle_json, builtin_json))
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "definitions: \"lifecycle\" is built in and may not be redefined");
      return FALSE;
    }
  g_hash_table_iter_init (&iter, config->definitions);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (value == NULL || strcmp (key, dsm_machine_def_get_name (value)) != 0)
      {
        g_autofree char *quoted = dsm_json_quote (key);

        g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                     "definitions: %s is filed under another definition's name", quoted);
        return FALSE;
      }
  return TRUE;
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Returns: (transfer container): the definitions' names, sorted, NULL-terminated. */
static const char **
definitions_sorted_names (GHashTable *definitions)
{
  guint n_names;
  const char **names = (const char **) g_hash_table_get_keys_as_array (definitions, &n_names);

  qsort (names, n_names, sizeof (char *), compare_names);
  return names;
}

static gboolean
check_default_definition (const DsmConfig *config, GError **error)
{
  g_autofree const char **names = NULL;
  g_autofree char *known = NULL;
  g_autofree char *quoted = NULL;

  if (config->default_definition == NULL)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_MISSING,
                   "default_definition: missing");
      return FALSE;
    }
  if (g_hash_table_contains (config->definitions, config->default_definition))
    return TRUE;
  names = definitions_sorted_names (config->definitions);
  known = g_strjoinv (", ", (char **) names);
  quoted = dsm_json_quote (config->default_definition);
  g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
               "default_definition: %s is not a known definition (known: %s)", quoted, known);
  return FALSE;
}

/* @small <= @large / @divisor; the message names @small, or @large when
 * @blame_large (the key a user would have lowered). */
static gboolean
check_at_most (const DsmConfig *config, const char *small, const char *large, guint divisor,
               gboolean blame_large, GError **error)
{
  guint small_value = uint_field_get (config, small);
  guint large_value = uint_field_get (config, large);

  if (small_value <= large_value / divisor)
    return TRUE;
  if (blame_large)
    g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                 "%s: %u must be >= %s (%u)", large, large_value, small, small_value);
  else if (divisor == 1)
    g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                 "%s: %u must be <= %s (%u)", small, small_value, large, large_value);
  else
    g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                 "%s: %u must be at most 1/%u of %s (%u), leaving room for encoding", small,
                 small_value, divisor, large, large_value);
  return FALSE;
}

/* The configured payload limits stay within the ceilings every node
 * applies (core/entry.h), so a payload the config lets through is never
 * refused when applied for its size. */
static gboolean
check_payload_limits (const DsmConfig *config, GError **error)
{
  static const struct {
    const char *name;
    guint ceiling;
  } limits[] = {
    { "payload_bytes_max", DSM_PAYLOAD_BYTES_MAX },
    { "payload_fields_max", DSM_PAYLOAD_FIELDS_MAX },
    { "payload_depth_max", DSM_PAYLOAD_DEPTH_MAX },
  };

  for (guint i = 0; i < G_N_ELEMENTS (limits); i++)
    {
      guint value = uint_field_get (config, limits[i].name);

      if (value > limits[i].ceiling)
        {
          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_RANGE, "%s: %u, more than %u",
                       limits[i].name, value, limits[i].ceiling);
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
dsm_config_check (const DsmConfig *config, GError **error)
{
  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (config->cluster_id == NULL)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_MISSING, "cluster_id: missing");
      return FALSE;
    }
  if (!dsm_machine_check_name (config->cluster_id, "cluster_id", error))
    return FALSE;
  if (!check_nodes (config->nodes, config->n_nodes, error))
    return FALSE;
  for (guint i = 1; i < config->n_nodes; i++)
    if (config->nodes[i - 1].id > config->nodes[i].id)
      {
        g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                     "nodes[%u].id: %u follows %u; nodes must be sorted by id", i,
                     config->nodes[i].id, config->nodes[i - 1].id);
        return FALSE;
      }
  for (guint i = 0; i < G_N_ELEMENTS (uint_fields); i++)
    {
      guint value = G_STRUCT_MEMBER (guint, config, uint_fields[i].offset);

      if (value < uint_fields[i].min)
        {
          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_RANGE,
                       "%s: expected a positive integer, found %u", uint_fields[i].name, value);
          return FALSE;
        }
    }
  if (!check_payload_limits (config, error))
    return FALSE;
  /* A follower must hear several heartbeats before it may suspect the
   * leader (PROTOCOL.md, "Timers"). */
  if (config->heartbeat_ms >= config->election_timeout_ms_min)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "heartbeat_ms: %u must be < election_timeout_ms_min (%u)",
                   config->heartbeat_ms, config->election_timeout_ms_min);
      return FALSE;
    }
  if (!check_at_most (config, "election_timeout_ms_min", "election_timeout_ms_max", 1, FALSE,
                      error)
      || !check_at_most (config, "reconnect_ms_min", "reconnect_ms_max", 1, FALSE, error)
      /* A Proposal of max_batch_bytes and a snapshot chunk (base64 in JSON)
       * must fit in one frame with room to spare. */
      || !check_at_most (config, "max_batch_bytes", "max_frame_bytes", 2, FALSE, error)
      || !check_at_most (config, "snapshot_chunk_bytes", "max_frame_bytes", 2, FALSE, error)
      /* A peer's queue must hold at least one whole frame. */
      || !check_at_most (config, "max_frame_bytes", "max_write_queue_bytes", 1, TRUE, error))
    return FALSE;
  if (!check_peer_security (config, error))
    return FALSE;
  return dsm_http_config_check (&config->http, error) && dsm_native_config_check (&config->native, error)
         && check_definitions (config, error)
         && check_default_definition (config, error);
}

/* ---- reading JSON ---- */

typedef struct {
  DsmDefinitionLoader func;
  gpointer data;
} Loader;

/* A string "host:port", or null: the check itself is check_address()'s,
 * which dsm_config_check() runs on configs built in code too. */
static gboolean
apply_node_address (const DsmJsonAt *node, const char *key, char **out, GError **error)
{
  DsmJsonAt at;

  if (!dsm_json_read_member (&at, node, key, DSM_JSON_OPTIONAL, error) || at.node == NULL)
    return at.node == NULL;
  if (JSON_NODE_HOLDS_NULL (at.node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (at.node) || json_node_get_value_type (at.node) != G_TYPE_STRING)
    {
      g_autofree char *found = dsm_json_describe (at.node);

      return dsm_json_fail (&at, DSM_JSON_ERROR_TYPE, error,
                            "expected \"host:port\" or null, found %s", found);
    }
  *out = g_strdup (json_node_get_string (at.node));
  return TRUE;
}

static gboolean
apply_node (DsmNodeConfig *node, const DsmJsonAt *at, GError **error)
{
  static const char *const known[] = { "id", "peer_address", "client_address", "native_address", NULL };

  if (!JSON_NODE_HOLDS_OBJECT (at->node))
    {
      g_autofree char *found = dsm_json_describe (at->node);

      return dsm_json_fail (at, DSM_JSON_ERROR_TYPE, error,
                            "expected a node object {\"id\": N, \"peer_address\": "
                            "\"host:port\", \"client_address\": \"host:port\"}, found %s",
                            found);
    }
  return dsm_json_get_object (at, known, error)
         && dsm_json_read_node_id (at, "id", DSM_JSON_REQUIRED, &node->id, error)
         && apply_node_address (at, "peer_address", &node->peer_address, error)
         && apply_node_address (at, "client_address", &node->client_address, error)
         && apply_node_address (at, "native_address", &node->native_address, error);
}

static int
compare_nodes (const void *a, const void *b)
{
  DsmNodeId x = ((const DsmNodeConfig *) a)->id;
  DsmNodeId y = ((const DsmNodeConfig *) b)->id;

  return x < y ? -1 : x > y;
}

/* "nodes": an array of node objects, or a count N meaning ids 1..N. */
static gboolean
apply_nodes (DsmConfig *work, const DsmJsonAt *at, GError **error)
{
  DsmNodeConfig *nodes;
  guint n_nodes = 0;

  if (JSON_NODE_HOLDS_VALUE (at->node) && json_node_get_value_type (at->node) == G_TYPE_INT64)
    {
      if (!dsm_json_get_uint32 (at, 1, DSM_MAX_NODES, &n_nodes, error))
        return FALSE;
      nodes = nodes_new_count (n_nodes);
    }
  else if (JSON_NODE_HOLDS_ARRAY (at->node))
    {
      n_nodes = json_array_get_length (json_node_get_array (at->node));
      if (n_nodes < 1 || n_nodes > DSM_MAX_NODES)
        return dsm_json_fail (at, DSM_JSON_ERROR_RANGE, error, "%u nodes; a cluster has 1 to %d",
                              n_nodes, DSM_MAX_NODES);
      nodes = g_new0 (DsmNodeConfig, n_nodes);
      for (guint i = 0; i < n_nodes; i++)
        {
          DsmJsonAt element;

          dsm_json_at_element (&element, at, i);
          if (!apply_node (&nodes[i], &element, error))
            {
              nodes_free (nodes, n_nodes);
              return FALSE;
            }
        }
      /* Checked in the file's order, so indices in errors match it. */
      if (!check_nodes (nodes, n_nodes, error))
        {
          nodes_free (nodes, n_nodes);
          return FALSE;
        }
      qsort (nodes, n_nodes, sizeof (DsmNodeConfig), compare_nodes);
    }
  else
    {
      g_autofree char *found = dsm_json_describe (at->node);

      return dsm_json_fail (at, DSM_JSON_ERROR_TYPE, error,
                            "expected an array of node objects or a node count, found %s", found);
    }
  nodes_free (work->nodes, work->n_nodes);
  work->nodes = nodes;
  work->n_nodes = n_nodes;
  return TRUE;
}

/* A string entry: the host's loader reads the file the core may not. */
static DsmMachineDef *
apply_definition_load (const char *path, const char *where, const Loader *loader,
                       GError **error)
{
  g_autoptr(JsonNode) loaded = NULL;
  g_autofree char *quoted = dsm_json_quote (path);
  g_autofree char *file_where = g_strdup_printf ("%s (%s)", where, quoted);
  GError *local_error = NULL;

  if (path[0] == '\0')
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "%s: empty file path", where);
      return NULL;
    }
  if (loader->func == NULL)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "%s: %s is a file path, but this host loads no definition files; "
                   "write the definition inline", where, quoted);
      return NULL;
    }
  loaded = loader->func (path, loader->data, &local_error);
  if (loaded == NULL)
    {
      /* The loader's own domain and code survive (G_FILE_ERROR_NOENT...). */
      g_assert (local_error != NULL);
      g_propagate_prefixed_error (error, local_error, "%s: ", file_where);
      return NULL;
    }
  g_assert (local_error == NULL);
  return dsm_machine_def_new_from_json (loaded, file_where, error);
}

static gboolean
apply_definitions (DsmConfig *work, const DsmJsonAt *at, const Loader *loader, GError **error)
{
  g_autoptr(GHashTable) definitions = definitions_new ();
  g_autoptr(GHashTable) wheres = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  JsonArray *array;

  if (!JSON_NODE_HOLDS_ARRAY (at->node))
    {
      g_autofree char *found = dsm_json_describe (at->node);

      return dsm_json_fail (at, DSM_JSON_ERROR_TYPE, error,
                            "expected an array of definition objects or file paths, found %s",
                            found);
    }
  array = json_node_get_array (at->node);
  definitions_add (definitions, dsm_machine_def_new_lifecycle ());
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      g_autofree char *where = g_strdup_printf ("definitions[%u]", i);
      g_autofree char *name_path = NULL;
      g_autofree char *quoted = NULL;
      g_autoptr(DsmMachineDef) def = NULL;
      const char *name;
      const char *first;

      if (JSON_NODE_HOLDS_OBJECT (item))
        def = dsm_machine_def_new_from_json (item, where, error);
      else if (JSON_NODE_HOLDS_VALUE (item) && json_node_get_value_type (item) == G_TYPE_STRING)
        def = apply_definition_load (json_node_get_string (item), where, loader, error);
      else
        {
          g_autofree char *found = dsm_json_describe (item);

          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_TYPE,
                       "%s: expected a definition object or a file path, found %s", where, found);
          return FALSE;
        }
      if (def == NULL)
        return FALSE;
      name = dsm_machine_def_get_name (def);
      name_path = g_strconcat (where, ".name", NULL);
      quoted = dsm_json_quote (name);
      if (strcmp (name, DSM_MACHINE_LIFECYCLE) == 0)
        {
          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                       "%s: %s is built in and may not be redefined", name_path, quoted);
          return FALSE;
        }
      if ((first = g_hash_table_lookup (wheres, name)) != NULL)
        {
          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                       "%s: duplicate definition %s (also %s)", name_path, quoted, first);
          return FALSE;
        }
      g_hash_table_insert (wheres, g_strdup (name), g_steal_pointer (&where));
      definitions_add (definitions, g_steal_pointer (&def));
    }
  g_clear_pointer (&work->definitions, g_hash_table_unref);
  work->definitions = g_steal_pointer (&definitions);
  return TRUE;
}

static gboolean
apply_name (const DsmJsonAt *root, const char *key, char **field, GError **error)
{
  const char *value = NULL;

  if (!dsm_json_read_string (root, key, DSM_JSON_OPTIONAL, 0, &value, error))
    return FALSE;
  if (value == NULL)
    return TRUE;
  if (!dsm_machine_check_name (value, key, error))
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

static gboolean
apply_peer_security (DsmConfig *work, const DsmJsonAt *root, GError **error)
{
  for (guint i = 0; i < G_N_ELEMENTS (path_fields); i++)
    {
      char **field = path_field (work, &path_fields[i]);
      const char *value = *field;

      if (!dsm_json_read_string (root, path_fields[i].name, DSM_JSON_NULLABLE, 0, &value, error))
        return FALSE;
      if (value == *field)
        continue;
      g_free (*field);
      *field = g_strdup (value);
    }
  return dsm_json_read_bool (root, "insecure", DSM_JSON_OPTIONAL, &work->insecure, error);
  return TRUE;
}

static gboolean
apply_check_members (const DsmJsonAt *root, GError **error)
{
  static const char *const fixed[] = {
    "cluster_id", "nodes", "http", "native", "definitions", "default_definition", "insecure", "plugins",
  };
  g_autoptr(GPtrArray) known = g_ptr_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    g_ptr_array_add (known, (gpointer) fixed[i]);
  for (guint i = 0; i < G_N_ELEMENTS (uint_fields); i++)
    g_ptr_array_add (known, (gpointer) uint_fields[i].name);
  for (guint i = 0; i < G_N_ELEMENTS (path_fields); i++)
    g_ptr_array_add (known, (gpointer) path_fields[i].name);
  g_ptr_array_add (known, NULL);
  return dsm_json_get_object (root, (const char *const *) known->pdata, error);
}

/* Lays the keys of @node over @work, in schema order whatever the file's
 * order, then checks the whole. */
static gboolean
apply (DsmConfig *work, JsonNode *node, gboolean require_nodes, const Loader *loader,
       GError **error)
{
  DsmJsonAt root;
  DsmJsonAt member;

  dsm_json_at_root (&root, &dsm_config_json_errors, node, NULL);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_autofree char *found = dsm_json_describe (node);

      return dsm_json_fail (&root, DSM_JSON_ERROR_TYPE, error,
                            "expected the configuration as a JSON object, found %s", found);
    }
  if (!apply_check_members (&root, error)
      || !apply_name (&root, "cluster_id", &work->cluster_id, error))
    return FALSE;
  dsm_json_at_member (&member, &root, "nodes");
  if (member.node != NULL)
    {
      if (!apply_nodes (work, &member, error))
        return FALSE;
    }
  else if (require_nodes)
    return dsm_json_fail (&member, DSM_JSON_ERROR_MISSING, error,
                          "required key is missing (an array of {\"id\", \"peer_address\", "
                          "\"client_address\"} or a node count)");
  for (guint i = 0; i < G_N_ELEMENTS (uint_fields); i++)
    if (!dsm_json_read_uint32 (&root, uint_fields[i].name, DSM_JSON_OPTIONAL,
                               uint_fields[i].min, G_MAXUINT,
                               uint_field (work, &uint_fields[i]), error))
      return FALSE;
  if (!apply_peer_security (work, &root, error))
    return FALSE;
  dsm_json_at_member (&member, &root, "http");
  if (member.node != NULL && !dsm_http_config_apply (&work->http, &member, error))
    return FALSE;
  dsm_json_at_member (&member, &root, "native");
  if (member.node != NULL && !dsm_native_config_apply (&work->native, &member, error))
    return FALSE;
  dsm_json_at_member (&member, &root, "plugins");
  if (member.node != NULL && !dsm_plugins_config_apply (&work->plugins, &member, error))
    return FALSE;
  dsm_json_at_member (&member, &root, "definitions");
  if (member.node != NULL && !apply_definitions (work, &member, loader, error))
    return FALSE;
  if (!apply_name (&root, "default_definition", &work->default_definition, error))
    return FALSE;
  return dsm_config_check (work, error);
}

DsmConfig *
dsm_config_new_from_json (JsonNode *root, DsmDefinitionLoader loader, gpointer loader_data,
                          GError **error)
{
  g_autoptr(DsmConfig) work = NULL;
  Loader l = { loader, loader_data };

  g_return_val_if_fail (root != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  work = dsm_config_new_default (1);
  if (!apply (work, root, TRUE, &l, error))
    return NULL;
  return g_steal_pointer (&work);
}

gboolean
dsm_config_update_from_json (DsmConfig *config, JsonNode *root, DsmDefinitionLoader loader,
                             gpointer loader_data, GError **error)
{
  g_autoptr(DsmConfig) work = NULL;
  Loader l = { loader, loader_data };
  DsmConfig old;

  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (root != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  /* Nodes and hosts that hold a reference rely on it not changing. */
  g_return_val_if_fail (g_atomic_int_get (&config->ref_count) == 1, FALSE);

  /* Work on a copy so a failure leaves @config as it was. */
  work = dsm_config_copy (config);
  if (!apply (work, root, FALSE, &l, error))
    return FALSE;
  old = *config;
  *config = *work;
  config->ref_count = old.ref_count;
  *work = old;
  work->ref_count = 1;
  return TRUE;
}

DsmConfig *
dsm_config_new_from_data (const char *text, gssize length, DsmDefinitionLoader loader,
                          gpointer loader_data, GError **error)
{
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  root = dsm_json_parse (text, length, NULL, &dsm_config_json_errors, error);
  if (root == NULL)
    return NULL;
  return dsm_config_new_from_json (root, loader, loader_data, error);
}

/* ---- writing JSON ---- */

static void
to_json_nodes (const DsmConfig *config, JsonBuilder *builder)
{
  json_builder_set_member_name (builder, "nodes");
  json_builder_begin_array (builder);
  for (guint i = 0; i < config->n_nodes; i++)
    {
      const DsmNodeConfig *node = &config->nodes[i];

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_int_value (builder, node->id);
      if (node->peer_address != NULL)
        {
          json_builder_set_member_name (builder, "peer_address");
          json_builder_add_string_value (builder, node->peer_address);
        }
      if (node->client_address != NULL)
        {
          json_builder_set_member_name (builder, "client_address");
          json_builder_add_string_value (builder, node->client_address);
        }
      if (node->native_address != NULL)
        {
          json_builder_set_member_name (builder, "native_address");
          json_builder_add_string_value (builder, node->native_address);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

static void
to_json_definitions (const DsmConfig *config, JsonBuilder *builder)
{
  g_autofree const char **names = definitions_sorted_names (config->definitions);

  json_builder_set_member_name (builder, "definitions");
  json_builder_begin_array (builder);
  /* Sorted by name, so equal configs write equal text.  A plugin's
   * definition is its code: "plugins" names it instead. */
  for (guint i = 0; names[i] != NULL; i++)
    if (strcmp (names[i], DSM_MACHINE_LIFECYCLE) != 0
        && dsm_machine_def_get_impl (g_hash_table_lookup (config->definitions, names[i])) == NULL)
      json_builder_add_value (builder,
                              dsm_machine_def_to_json (g_hash_table_lookup (config->definitions,
                                                                            names[i])));
  json_builder_end_array (builder);
}

char *
dsm_config_to_json (const DsmConfig *config)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (config->definitions != NULL, NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "cluster_id");
  json_builder_add_string_value (builder, config->cluster_id);
  to_json_nodes (config, builder);
  for (guint i = 0; i < G_N_ELEMENTS (uint_fields); i++)
    {
      json_builder_set_member_name (builder, uint_fields[i].name);
      json_builder_add_int_value (builder,
                                  G_STRUCT_MEMBER (guint, config, uint_fields[i].offset));
    }
  for (guint i = 0; i < G_N_ELEMENTS (path_fields); i++)
    if (*path_field (config, &path_fields[i]) != NULL)
      {
        json_builder_set_member_name (builder, path_fields[i].name);
        json_builder_add_string_value (builder, *path_field (config, &path_fields[i]));
      }
  if (config->insecure)
    {
      json_builder_set_member_name (builder, "insecure");
      json_builder_add_boolean_value (builder, TRUE);
    }
  dsm_http_config_to_json (&config->http, builder);
  dsm_native_config_to_json (&config->native, builder);
  dsm_plugins_config_to_json (config->plugins, builder);
  to_json_definitions (config, builder);
  json_builder_set_member_name (builder, "default_definition");
  json_builder_add_string_value (builder, config->default_definition);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  return json_generator_to_data (generator, NULL);
}
