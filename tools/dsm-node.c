/* tools/dsm-node.c: one node of a dsm cluster as a process: argument
 * parsing and wiring only (net/host.c does the work).
 *
 *   dsm-node --config cluster.json --id N --data-dir DIR [--plugin P]... [--log-level L] [--log-format F]
 *   dsm-node --config cluster.json --data-dir DIR --join URL --peer-address A --client-address B
 *   dsm-node --config cluster.json --id N --data-dir DIR --restore BACKUP   (seeds DIR, exits)
 *   dsm-node --check-data-dir DIR [--config cluster.json [--plugin P]...]
 *
 * Exit codes: 0 clean stop (SIGTERM/SIGINT), 1 runtime failure (data
 * directory, ports, WAL), 2 bad arguments or config. */
#include <errno.h>
#include <glib-unix.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "backup.h"
#include "config.h"
#include "dsm-node-join.h"
#include "error.h"
#include "codec.h"
#include "handshake.h"
#include "host.h"
#include "membership.h"
#include "netlog.h"
#include "peer-auth.h"
#include "plugin/plugins.h"
#include "wal.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define DEFINITION_BYTES_MAX (1024 * 1024)

typedef struct {
  GMainLoop *loop;
  DsmHost *host;
  guint signals;
} App;

/* Definition files named in the config resolve relative to it. */
static JsonNode *
load_definition (const char *path, gpointer user_data, GError **error)
{
  const char *config_dir = user_data;
  g_autofree char *full = g_path_is_absolute (path) ? g_strdup (path) : g_build_filename (config_dir, path, NULL);
  g_autofree char *text = NULL;
  gsize length;

  if (!g_file_get_contents (full, &text, &length, error))
    return NULL;
  if (length > DEFINITION_BYTES_MAX)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %" G_GSIZE_FORMAT " bytes, more than %d",
                   full, length, DEFINITION_BYTES_MAX);
      return NULL;
    }
  return dsm_codec_parse (text, length, error);
}

/* The config at PATH; DIR is its folder, where the files it names resolve. */
static DsmConfig *
load_config (const char *path, char *dir, GError **error)
{
  g_autofree char *text = NULL;
  gsize length;

  if (!g_file_get_contents (path, &text, &length, error))
    return NULL;
  DsmConfig *config = dsm_config_new_from_data (text, (gssize) length, load_definition, dir, error);
  if (config == NULL)
    g_prefix_error (error, "%s: ", path);
  return config;
}

/* The config, then its plugins: before anything reads the config, since
 * plugins add definitions, which the fingerprint, the WAL's snapshots and
 * backups name. */
static gboolean
load_config_and_plugins (const char *path, char *dir, char **plugin_flags, DsmConfig **config,
                         DsmPluginSet **plugins, GError **error)
{
  *config = load_config (path, dir, error);
  if (*config == NULL)
    return FALSE;
  *plugins = dsm_plugin_set_load (*config, (const char *const *) plugin_flags, dir, error);
  if (*plugins == NULL)
    {
      g_prefix_error (error, "%s: ", path);
      g_clear_pointer (config, dsm_config_unref);
      return FALSE;
    }
  return TRUE;
}

static gboolean
on_signal (gpointer data)
{
  App *app = data;

  if (++app->signals > 1)
    {
      /* A second signal: the operator does not want to wait. */
      fprintf (stderr, "dsm-node: second signal, exiting now\n");
      exit (EXIT_RUNTIME);
    }
  dsm_host_stop (app->host);
  return G_SOURCE_CONTINUE;
}

/* SIGHUP: read the token file again (docs/OPERATIONS.md, "Authentication");
 * the host logs what it did. */
static gboolean
on_reload (gpointer data)
{
  App *app = data;

  dsm_host_reload_tokens (app->host, NULL);
  return G_SOURCE_CONTINUE;
}

static gboolean
quit_loop (gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static gboolean
on_stopped (gpointer data)
{
  App *app = data;

  /* At low priority: answers already queued (503s to waiting clients)
   * are written before the loop ends. */
  g_idle_add_full (G_PRIORITY_LOW, quit_loop, app->loop, NULL);
  return G_SOURCE_REMOVE;
}

/* glibc's fastbins keep small freed chunks apart until a large allocation
 * (1 KiB and up: a frame, a batch buffer) consolidates them all, which a
 * node under load did 5-7 times per write, walking a heap that grows
 * fragmented with the store; tcache still serves the small sizes without
 * them.  Measured with GLIBC_TUNABLES=glibc.malloc.mxfast=0 on the same
 * binary, 64 native clients, three alternating pairs: 7-12% less CPU per
 * write and a lower p99 (docs/BENCHMARKS.md, "The allocator"). */
static void
tune_allocator (void)
{
#ifdef __GLIBC__
  mallopt (M_MXFAST, 0);
#endif
}

/* Every client connection is a file descriptor: take the hard limit, so
 * http.max_connections is what caps them, not a soft limit of 1024. */
static void
raise_file_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max)
    {
      limit.rlim_cur = limit.rlim_max;
      setrlimit (RLIMIT_NOFILE, &limit);
    }
}

/* --check-data-dir with --config: what the WAL recovered, built into the
 * node a start would build from it (the snapshot restored into the store
 * with the config's definitions and plugins, the log checked on top). */
static gboolean
check_state (const DsmRecovery *rec, GString *report, gpointer data, GError **error)
{
  DsmConfig *config = data;

  if (rec->fresh)
    {
      g_string_append (report, "node: a new directory, nothing to build\n");
      return TRUE;
    }
  if (g_strcmp0 (rec->cluster_id, config->cluster_id) != 0)
    {
      g_set_error (error, DSM_WAL_ERROR, DSM_WAL_ERROR_FOREIGN, "meta.json: cluster \"%s\", not the config's \"%s\"",
                   rec->cluster_id, config->cluster_id);
      return FALSE;
    }
  g_autoptr(DsmNode) node = dsm_node_new (config, rec->node_id, g_rand_new_with_seed (0), &rec->state, 0, error);
  if (node == NULL)
    {
      g_prefix_error (error, "node %u, built from it with the config: ", rec->node_id);
      return FALSE;
    }
  g_string_append_printf (report, "node: built as node %u of cluster \"%s\": %u machines at applied index %"
                          G_GUINT64_FORMAT ", last index %" G_GUINT64_FORMAT "\n", rec->node_id, config->cluster_id,
                          dsm_store_get_n_machines (dsm_node_get_store (node)), dsm_node_get_applied_index (node),
                          dsm_node_get_last_index (node));
  return TRUE;
}

/* @config (nullable): also build the node from what recovered. */
static int
check_data_dir (const char *dir, DsmConfig *config)
{
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  gboolean ok = dsm_wal_check_dir_with (dir, config != NULL ? check_state : NULL, config, report, &error);

  fputs (report->str, stdout);
  if (!ok)
    {
      fprintf (stderr, "dsm-node: %s\n", error->message);
      return 1;
    }
  return 0;
}

/* --restore: seeds @data_dir from a backup, then the process exits. */
static int
restore_data_dir (DsmConfig *config, DsmNodeId id, const char *data_dir, const char *path)
{
  g_autoptr(GError) error = NULL;
  DsmBackup backup = { 0 };

  if (dsm_config_find_node (config, id) == NULL)
    {
      fprintf (stderr, "dsm-node: --restore: node %u is not in the config's nodes (a new cluster's members "
                       "are its config's)\n", id);
      return EXIT_USAGE;
    }
  if (!dsm_backup_restore (path, config, id, data_dir, &backup, &error))
    {
      fprintf (stderr, "dsm-node: --restore: %s\n", error->message);
      return EXIT_RUNTIME;
    }
  printf ("dsm-node: node %u's data directory %s seeded from %s (cluster \"%s\", node %u, index %" G_GUINT64_FORMAT
          ", sha256 %s); start the node without --restore\n", id, data_dir, path, backup.cluster_id, backup.node,
          backup.index, backup.sha256);
  dsm_backup_clear (&backup);
  return 0;
}

/* --join: the id this data directory has, or one the cluster gives. */
static gboolean
join_cluster (DsmConfig *config, const char *data_dir, const char *url, const char *token_file, const char *cacert,
              guint timeout_s, const char *peer_address, const char *client_address, const char *native_address,
              DsmNodeId *id)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *ca = cacert != NULL ? g_canonicalize_filename (cacert, NULL) : NULL;

  if (!dsm_node_join_known_id (data_dir, config->cluster_id, id, &error))
    {
      fprintf (stderr, "dsm-node: --join: %s\n", error->message);
      return FALSE;
    }
  if (*id != DSM_NODE_NONE)
    {
      dsm_net_log (G_LOG_LEVEL_MESSAGE, *id, DSM_NODE_NONE, "join_known",
                   "%s already belongs to node %u: it starts as that node (no new join)", data_dir, *id);
      return TRUE;
    }
  if (token_file != NULL)
    {
      g_autofree char *text = NULL;
      g_auto(GStrv) lines = NULL;
      if (!g_file_get_contents (token_file, &text, NULL, &error))
        {
          fprintf (stderr, "dsm-node: --join-token-file: %s\n", error->message);
          return FALSE;
        }
      lines = g_strsplit (text, "\n", -1);
      for (char **l = lines; *l != NULL && token == NULL; l++)
        {
          g_strstrip (*l);
          if ((*l)[0] == '\0' || (*l)[0] == '#')
            continue;
          g_auto(GStrv) fields = g_regex_split_simple ("[ \t]+", *l, 0, 0);
          token = g_strdup (g_strv_length (fields) >= 2 ? fields[1] : fields[0]);
        }
    }
  DsmNodeJoinOptions options = { .url = url, .token = token, .cacert = ca, .peer_address = peer_address,
                                 .client_address = client_address, .native_address = native_address,
                                 .timeout_s = timeout_s };
  if (!dsm_node_join (&options, id, &error))
    {
      fprintf (stderr, "dsm-node: %s\n", error->message);
      return FALSE;
    }
  dsm_net_log (G_LOG_LEVEL_MESSAGE, *id, DSM_NODE_NONE, "joined",
               "the cluster added this node as learner %u (peers dial %s, clients %s)", *id, peer_address,
               client_address);
  return TRUE;
}

static int
usage_error (GOptionContext *context, const char *format, ...) G_GNUC_PRINTF (2, 3);

static int
usage_error (GOptionContext *context, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "dsm-node: %s\nTry 'dsm-node --help'.\n", message);
  return EXIT_USAGE;
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *check_dir = NULL;
  g_autofree char *log_level = NULL;
  g_autofree char *log_format = NULL;
  g_autofree char *peer_listen = NULL;
  g_autofree char *record_path = NULL;
  gint64 record_max_bytes = 0;
  gint record_keep = 0;
  gint64 id = 0;
  g_autofree char *join_url = NULL;
  g_autofree char *join_token_file = NULL;
  g_autofree char *join_cacert = NULL;
  g_autofree char *peer_address = NULL;
  g_autofree char *client_address = NULL;
  g_autofree char *native_address = NULL;
  g_autofree char *restore_path = NULL;
  gint join_timeout_s = 60;
  gboolean version = FALSE;
  gboolean no_fsync = FALSE;
  gint sync_inline_entries = DSM_HOST_SYNC_INLINE_ENTRIES_DEFAULT;
  g_auto(GStrv) plugin_flags = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Cluster config (JSON, docs/CONFIG.md)", "FILE" },
    { "id", 'i', 0, G_OPTION_ARG_INT64, &id, "This node's id in the config", "N" },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir, "Directory of the node's write-ahead log", "DIR" },
    { "plugin", 'p', 0, G_OPTION_ARG_FILENAME_ARRAY, &plugin_flags,
      "Also load this machine plugin, by path or name (docs/PLUGINS.md); repeatable. Every node of a "
      "cluster must load the same plugins", "PLUGIN" },
    { "log-level", 'l', 0, G_OPTION_ARG_STRING, &log_level,
      "Least severe level logged: error, critical, warning, message (default), info, debug", "LEVEL" },
    { "log-format", 0, 0, G_OPTION_ARG_STRING, &log_format, "text (default) or json (one object per line)", "FORMAT" },
    { "peer-listen", 0, 0, G_OPTION_ARG_STRING, &peer_listen,
      "Listen for peers here instead of on the config's peer_address (peers still dial that: a proxy or NAT between)",
      "HOST:PORT" },
    { "record", 0, 0, G_OPTION_ARG_FILENAME, &record_path,
      "Record the core's inputs here, for `dsm-sim replay-node` (rotated at each start)", "FILE" },
    { "record-max-bytes", 0, 0, G_OPTION_ARG_INT64, &record_max_bytes,
      "End a recording past this size (default 64 MiB)", "N" },
    { "record-keep", 0, 0, G_OPTION_ARG_INT, &record_keep, "Recordings kept: FILE, FILE.1, ... (default 4)", "N" },
    { "no-fsync", 0, 0, G_OPTION_ARG_NONE, &no_fsync,
      "Skip fsync in the WAL: loses acknowledged writes on power loss (benchmarks only)", NULL },
    { "sync-inline-entries", 0, 0, G_OPTION_ARG_INT, &sync_inline_entries,
      "Fsync a batch of at most N entries on the event loop when no group commit runs (default "
      G_STRINGIFY (DSM_HOST_SYNC_INLINE_ENTRIES_DEFAULT) "; 0: always in the WAL's thread)", "N" },
    { "join", 0, 0, G_OPTION_ARG_STRING, &join_url,
      "Join the running cluster a member's client URL names: it adds this node as a learner and gives its id "
      "(a data directory that already joined keeps its id)", "URL" },
    { "join-token-file", 0, 0, G_OPTION_ARG_FILENAME, &join_token_file,
      "--join: an admin bearer token, the first token line of FILE", "FILE" },
    { "join-cacert", 0, 0, G_OPTION_ARG_FILENAME, &join_cacert, "--join: trust this CA for an https URL", "FILE" },
    { "join-timeout", 0, 0, G_OPTION_ARG_INT, &join_timeout_s, "--join: give up after S seconds (default 60)", "S" },
    { "peer-address", 0, 0, G_OPTION_ARG_STRING, &peer_address,
      "Where peers dial this node, for a node the config's nodes do not list (one that joined)", "HOST:PORT" },
    { "client-address", 0, 0, G_OPTION_ARG_STRING, &client_address,
      "Where this node serves clients, likewise", "HOST:PORT" },
    { "native-address", 0, 0, G_OPTION_ARG_STRING, &native_address,
      "Where this node serves the native protocol, likewise (optional; the cluster tells clients)", "HOST:PORT" },
    { "restore", 0, 0, G_OPTION_ARG_FILENAME, &restore_path,
      "Seed the empty --data-dir of node --id of a new cluster from a backup (dsmctl snapshot save), "
      "verified, then exit; start every node of the new cluster so, from the same file", "FILE" },
    { "check-data-dir", 0, 0, G_OPTION_ARG_FILENAME, &check_dir,
      "Verify a data directory offline, print a report and exit 0 (sound) or 1; with --config, also build "
      "the node from it as a start would (its snapshot restored with the config's definitions)", "DIR" },
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- one node of a dsm cluster");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Listens for peers on its peer_address and for clients (HTTP/JSON) on its client_address,\n"
    "keeps its durable state in --data-dir and stops cleanly on SIGTERM or SIGINT;\n"
    "SIGHUP reads http.token_file again.\n"
    "Exit codes: 0 stopped cleanly, 1 runtime failure, 2 bad arguments or config.\n"
    "See docs/OPERATIONS.md.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, "%s", error->message);
  if (version)
    {
      printf ("dsm-node %s (protocol %d)\n", DSM_VERSION, DSM_PROTOCOL_VERSION);
      return 0;
    }
  if (check_dir != NULL && argc > 1)
    return usage_error (context, "unexpected argument \"%s\"", argv[1]);
  if (check_dir != NULL && config_path == NULL)
    return check_data_dir (check_dir, NULL);
  if (argc > 1)
    return usage_error (context, "unexpected argument \"%s\"", argv[1]);
  if (check_dir != NULL)
    {
      /* With the config: the node a start would build (plugins first, as
       * below: they add definitions a snapshot may name). */
      g_autoptr(DsmConfig) config = NULL;
      g_autoptr(DsmPluginSet) plugins = NULL;
      g_autofree char *dir = g_path_get_dirname (config_path);
      if (!load_config_and_plugins (config_path, dir, plugin_flags, &config, &plugins, &error))
        return usage_error (context, "%s", error->message);
      return check_data_dir (check_dir, config);
    }
  if (config_path == NULL || data_dir == NULL || (id == 0 && join_url == NULL))
    return usage_error (context, "--config, --data-dir and --id (or --join) are required");
  if (join_url != NULL && (id != 0 || restore_path != NULL))
    return usage_error (context, "--join gives the node its id: no --id or --restore with it");
  if ((join_url != NULL || (peer_address != NULL) != (client_address != NULL))
      && (peer_address == NULL || client_address == NULL))
    return usage_error (context, "--join needs --peer-address and --client-address, which go together");
  if ((peer_address != NULL && !dsm_membership_check_address ("--peer-address", peer_address, &error))
      || (client_address != NULL && !dsm_membership_check_address ("--client-address", client_address, &error))
      || (native_address != NULL && !dsm_membership_check_address ("--native-address", native_address, &error)))
    return usage_error (context, "%s", error->message);
  if (native_address != NULL && peer_address == NULL)
    return usage_error (context, "--native-address goes with --peer-address and --client-address");
  if (join_url == NULL && (join_token_file != NULL || join_cacert != NULL))
    return usage_error (context, "--join-token-file and --join-cacert belong to --join");
  if (join_timeout_s < 1 || join_timeout_s > 3600)
    return usage_error (context, "--join-timeout %d: expected 1..3600", join_timeout_s);
  if (id != 0 && (id < 1 || id > DSM_NODE_ID_MAX))
    return usage_error (context, "--id %" G_GINT64_FORMAT ": expected 1..%u", id, (guint) DSM_NODE_ID_MAX);
  if (peer_listen != NULL && !dsm_membership_check_address ("--peer-listen", peer_listen, &error))
    return usage_error (context, "%s", error->message);
  if (record_max_bytes < 0 || record_keep < 0 || record_keep > 100)
    return usage_error (context, "--record-max-bytes takes a size, --record-keep 1..100");
  if (sync_inline_entries < 0 || sync_inline_entries > 4096)
    return usage_error (context, "--sync-inline-entries %d: expected 0..4096", sync_inline_entries);
  if ((record_max_bytes != 0 || record_keep != 0) && record_path == NULL)
    return usage_error (context, "--record-max-bytes and --record-keep need --record FILE");

  GLogLevelFlags threshold = g_getenv ("G_MESSAGES_DEBUG") != NULL ? G_LOG_LEVEL_DEBUG : G_LOG_LEVEL_MESSAGE;
  if (log_level != NULL && !dsm_net_log_level_from_string (log_level, &threshold))
    return usage_error (context, "--log-level \"%s\": expected error, critical, warning, message, info or debug", log_level);
  DsmLogFormat format = DSM_LOG_FORMAT_TEXT;
  if (log_format != NULL && g_strcmp0 (log_format, "json") == 0)
    format = DSM_LOG_FORMAT_JSON;
  else if (log_format != NULL && g_strcmp0 (log_format, "text") != 0)
    return usage_error (context, "--log-format \"%s\": expected text or json", log_format);
  dsm_net_log_install_writer (threshold, format);

  g_autoptr(DsmConfig) config = NULL;
  g_autoptr(DsmPluginSet) plugins = NULL;
  /* The config's folder: definitions, plugins, the secret file and certificates it names resolve there. */
  g_autofree char *config_dir = g_path_get_dirname (config_path);
  if (!load_config_and_plugins (config_path, config_dir, plugin_flags, &config, &plugins, &error))
    return usage_error (context, "%s", error->message);
  if (restore_path != NULL)
    return restore_data_dir (config, (DsmNodeId) id, data_dir, restore_path);
  if (join_url != NULL)
    {
      DsmNodeId joined = DSM_NODE_NONE;
      if (!join_cluster (config, data_dir, join_url, join_token_file, join_cacert, (guint) join_timeout_s,
                         peer_address, client_address, native_address, &joined))
        return EXIT_RUNTIME;
      id = joined;
    }
  const DsmNodeConfig *self = dsm_config_find_node (config, (DsmNodeId) id);
  if (self == NULL && peer_address == NULL)
    return usage_error (context, "%s: no node with id %" G_GINT64_FORMAT " in \"nodes\" (a node that joined "
                        "needs --peer-address and --client-address)", config_path, id);
  if (self != NULL && config->n_nodes > 1 && self->peer_address == NULL)
    return usage_error (context, "%s: node %" G_GINT64_FORMAT " has no peer_address", config_path, id);
  if (self != NULL && self->client_address == NULL)
    return usage_error (context, "%s: node %" G_GINT64_FORMAT " has no client_address", config_path, id);
  for (guint i = 0; i < config->n_nodes; i++)
    if (config->n_nodes > 1 && config->nodes[i].peer_address == NULL)
      return usage_error (context, "%s: node %u has no peer_address", config_path, config->nodes[i].id);

  /* Secret file and certificates: a bad one is a config error, exit 2. */
  g_autoptr(DsmPeerAuth) auth = dsm_peer_auth_new (config, (DsmNodeId) id, config_dir, &error);
  if (auth == NULL)
    return usage_error (context, "%s: %s", config_path, error->message);

  signal (SIGPIPE, SIG_IGN);
  tune_allocator ();
  raise_file_limit ();
  DsmHostOptions options;
  dsm_host_options_init (&options);
  options.data_dir = data_dir;
  options.config_dir = config_dir;
  options.transport.auth = auth;
  options.no_sync = no_fsync;
  options.sync_inline_entries_max = (guint) sync_inline_entries;
  options.peer_listen_address = peer_listen;
  options.peer_address = peer_address;
  options.client_address = client_address;
  options.native_address = native_address;
  options.record_path = record_path;
  options.record_max_bytes = (guint64) record_max_bytes;
  options.record_keep = (guint) record_keep;
  App app = { .loop = g_main_loop_new (NULL, FALSE) };
  app.host = dsm_host_new (config, (DsmNodeId) id, &options, &error);
  if (app.host == NULL)
    {
      fprintf (stderr, "dsm-node: node %" G_GINT64_FORMAT ": %s\n", id, error->message);
      g_main_loop_unref (app.loop);
      /* A file the config names that is wrong (a token file others may
       * read, a certificate that does not load) is the config's fault. */
      return error->domain == DSM_CONFIG_ERROR ? EXIT_USAGE : EXIT_RUNTIME;
    }
  dsm_host_set_stopped_func (app.host, on_stopped, &app);
  g_unix_signal_add (SIGTERM, on_signal, &app);
  g_unix_signal_add (SIGINT, on_signal, &app);
  g_unix_signal_add (SIGHUP, on_reload, &app);
  dsm_host_start (app.host);
  g_main_loop_run (app.loop);

  int status = dsm_host_failed (app.host) ? EXIT_RUNTIME : 0;
  dsm_host_free (app.host);
  g_main_loop_unref (app.loop);
  return status;
}
