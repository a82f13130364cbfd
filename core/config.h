/* core/config.h: the cluster configuration, parsed from JSON and checked
 * field by field.  docs/CONFIG.md documents every key. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "machine.h"
#include "types.h"

G_BEGIN_DECLS

typedef struct {
  DsmNodeId id;
  char *peer_address;    /* "host:port" peers dial (net/ only; nullable in sim) */
  char *client_address;  /* "host:port" of the HTTP API (nullable) */
  char *native_address;  /* "host:port" of the native client protocol (nullable: none) */
} DsmNodeConfig;

/* The HTTP API of real nodes (net/ only; the simulator ignores it).
 * docs/CONFIG.md, "HTTP", documents every key. */
typedef struct {
  guint workers;                  /* HTTP worker threads */
  guint max_connections;          /* open client connections, all addresses */
  guint max_connections_per_address;
  guint max_pipelined_requests;   /* per connection, awaiting their answers */
  guint header_timeout_ms;        /* a request head (and TLS handshake) must arrive within this */
  guint body_timeout_ms;
  guint idle_timeout_ms;          /* a kept-alive connection's wait for its next request */
  guint write_timeout_ms;         /* a client must take its answer within this */
  guint max_request_line_bytes;
  guint max_header_bytes;
  guint max_header_count;
  guint max_body_bytes;
  guint rate_per_second;          /* requests per client key; 0: no limit */
  guint rate_burst;
  guint max_watchers;             /* watch streams open on this node; 0: watching is off */
  guint max_watchers_per_client;  /* per client key (token, certificate or address) */
  guint watch_buffer_bytes;       /* a watcher's events not yet written, past which it is cut off */
  guint watch_keepalive_ms;       /* a quiet watch stream gets a comment line this often */
  char *token_file;               /* nullable: no bearer tokens */
  char *tls_cert_file;            /* nullable: plain HTTP; "{id}" stands for the node id */
  char *tls_key_file;
  char *client_ca_file;           /* nullable: no client certificates */
  gboolean client_cert_required;
  GHashTable *client_cert_roles;  /* certificate common name ("*": any) -> "read" | "write" | "admin" */
  char **open_paths;              /* NULL-terminated: paths served without credentials */
  gboolean insecure_open;         /* no credentials at all, on a non-loopback address */
} DsmHttpConfig;

/* The native client protocol of real nodes (net/native.h; the simulator
 * ignores it).  docs/CONFIG.md, "Native protocol", documents every key. */
typedef struct {
  guint workers;                  /* native worker threads */
  guint max_connections;          /* open native connections, all addresses */
  guint max_connections_per_address;
  guint max_in_flight;            /* requests of one connection awaiting their answer */
  guint max_frame_bytes;          /* largest request frame accepted */
  guint hello_timeout_ms;         /* the hello must arrive within this after connecting */
  guint idle_timeout_ms;          /* a connection with nothing in flight may stay this long */
  guint write_timeout_ms;         /* a client must take its answers within this */
  guint rate_per_second;          /* requests per token (or address); 0: no limit */
  guint rate_burst;
  guint loop_write_bytes_max;     /* the most the loop writes on a client's socket per drain; 0: none */
} DsmNativeConfig;

typedef struct {
  /*< private >*/
  gint ref_count;

  /*< public >*/
  char *cluster_id;
  DsmNodeConfig *nodes;  /* n_nodes, sorted by id */
  guint n_nodes;

  /* Timing (PROTOCOL.md, "Timers"). */
  guint heartbeat_ms;
  guint election_timeout_ms_min;
  guint election_timeout_ms_max;
  guint consensus_timeout_ms;
  guint retry_attempts;           /* resends of an unanswered Proposal before the peer counts unreachable */
  guint retry_delay_ms;

  /* Batching and pipelining. */
  guint max_batch_entries;        /* entries per Proposal */
  guint max_batch_bytes;          /* approximate encoded bytes per Proposal */
  guint max_inflight_proposals;   /* unacknowledged Proposals per peer */

  /* Bounds. */
  guint max_pending_requests;     /* client requests waiting on one node */
  guint max_uncommitted_entries;  /* leader refuses new commands past this */
  guint max_sessions;             /* client sessions the machine remembers */
  guint session_window;           /* sequence numbers remembered per client */
  guint payload_bytes_max;        /* a transition's payload text (PROTOCOL.md, "Payloads") */
  guint payload_fields_max;       /* its top-level keys */
  guint payload_depth_max;        /* its nesting; the payload object is 1 */
  guint max_frame_bytes;          /* net/: largest frame accepted */
  guint max_write_queue_bytes;    /* net/: bytes queued to one peer before shedding */
  guint reconnect_ms_min;         /* net/: first reconnect delay */
  guint reconnect_ms_max;         /* net/: backoff ceiling */

  /* Snapshots (0 disables). */
  guint snapshot_threshold_entries;
  guint snapshot_chunk_bytes;
  guint snapshot_slice_machines;  /* machines a snapshot in progress writes per slice (5 ms apart) */

  /* Membership (PROTOCOL.md, "Learners"): a learner whose log is within
   * learner_catch_up_entries of the leader's at learner_catch_up_rounds
   * consecutive heartbeats is promoted (0 rounds: only by command). */
  guint learner_catch_up_entries;
  guint learner_catch_up_rounds;

  /* Peer authentication (net/, docs/SECURITY.md); nullable strings are
   * unset.  The core reads no files: the host resolves the paths ("{id}"
   * in them stands for the node's id). */
  char *secret;                   /* shared secret, inline */
  char *secret_file;              /* or a file holding it */
  char *peer_tls_ca_file;         /* mutual TLS: all three or none */
  char *peer_tls_cert_file;
  char *peer_tls_key_file;
  gboolean insecure;              /* no peer authentication, on purpose (loopback only) */

  /* The client APIs (net/). */
  DsmHttpConfig http;
  DsmNativeConfig native;

  /* Machine definitions by name; always holds "lifecycle", and the
   * definitions of the plugins the host loaded (dsm_config_add_plugin()). */
  GHashTable *definitions;        /* char* -> DsmMachineDef* */
  char *default_definition;

  /* The machine plugins the host is to load, as the config names them
   * (a name, or a path: docs/CONFIG.md, "Machine plugins"); NULL or
   * empty: none.  The core loads nothing: dsm-node and dsm-sim load them
   * (plugin/plugins.h) and add them with dsm_config_add_plugin(). */
  char **plugins;                 /* NULL-terminated, nullable */
} DsmConfig;

/* At most this many plugins, each named in at most this many bytes. */
#define DSM_CONFIG_PLUGINS_MAX 8
#define DSM_CONFIG_PLUGIN_SPEC_BYTES_MAX 4096

/* Resolves a definition named by a path in the config's "definitions" list
 * (the core reads no files; the host does).  Returns (transfer full) the
 * file's JSON, or NULL with @error set. */
typedef JsonNode *(*DsmDefinitionLoader) (const char *path, gpointer user_data, GError **error);

/**
 * dsm_config_new_default:
 * Returns: (transfer full): a config for nodes 1..@n_nodes with every
 * setting at its documented default and no addresses.
 */
DsmConfig *dsm_config_new_default (guint n_nodes);

/**
 * dsm_config_new_from_json:
 * @root: the config object
 * @loader: (nullable): resolves string entries of "definitions"; when NULL
 *   such entries are an error
 *
 * Returns: (transfer full): the config, or NULL with a DSM_CONFIG_ERROR
 * whose message names the field ("nodes[1].id: duplicate id 2").  A
 * loader's own error is passed on unchanged in domain and code, prefixed
 * with the entry and its path ("definitions[1] (\"door.json\"): ...").
 */
DsmConfig *dsm_config_new_from_json (JsonNode *root, DsmDefinitionLoader loader,
                                     gpointer loader_data, GError **error);

/* Parses @text (JSON) then calls dsm_config_new_from_json().  Trailing
 * data (even a second JSON value) and keys given twice in one object are
 * DSM_CONFIG_ERROR_PARSE. */
DsmConfig *dsm_config_new_from_data (const char *text, gssize length,
                                     DsmDefinitionLoader loader, gpointer loader_data,
                                     GError **error);

/* Parses the keys of a config object into an existing config: the simulator
 * lays a scenario's "cluster" over dsm_config_new_default().  Absent keys
 * keep their value; "nodes" may also be a count N (ids 1..N).  @config must
 * not be shared yet (ref_count 1) and is left unchanged on failure. */
gboolean dsm_config_update_from_json (DsmConfig *config, JsonNode *root,
                                      DsmDefinitionLoader loader, gpointer loader_data,
                                      GError **error);

/* Cross-field checks (min <= max, heartbeat < election timeout...). */
gboolean dsm_config_check (const DsmConfig *config, GError **error);

/* A config is immutable once shared: nodes and hosts hold references. */
DsmConfig *dsm_config_ref (DsmConfig *config);
void dsm_config_unref (DsmConfig *config);

/* Returns: (transfer full): an independent copy the caller may change. */
DsmConfig *dsm_config_copy (const DsmConfig *config);

const DsmNodeConfig *dsm_config_find_node (const DsmConfig *config, DsmNodeId id);
/* @name: (nullable): NULL means the config's default_definition. */
const DsmMachineDef *dsm_config_find_definition (const DsmConfig *config, const char *name);

/**
 * dsm_config_add_plugin:
 * @config: not shared yet (ref_count 1)
 * @impl: a loaded, checked machine plugin (plugin/plugin.h), outliving @config
 * Adds the plugin's definition (dsm_machine_def_new_plugin()): machines
 * naming it are the plugin's.  Its name and version enter the cluster
 * fingerprint with the other definitions (core/fingerprint.h).
 *
 * Returns: FALSE with a DSM_CONFIG_ERROR when a definition has its name.
 */
gboolean dsm_config_add_plugin (DsmConfig *config, const DsmMachineImpl *impl, GError **error);

/**
 * dsm_config_describe_plugins:
 * Returns: (transfer full): the plugins @config runs, "NAME VERSION" sorted
 * and joined by ", " ("bank-ledger 1.0.0, job-queue 1.0.0"), or "none".
 * Peers compare it in their handshake to name what differs.
 */
char *dsm_config_describe_plugins (const DsmConfig *config);

/* Majority of the voting members. */
guint dsm_config_quorum (const DsmConfig *config);

/* Writes the config as JSON that dsm_config_new_from_data() reads back. */
char *dsm_config_to_json (const DsmConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmConfig, dsm_config_unref)

G_END_DECLS
