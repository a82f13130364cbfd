/* tools/dsm-node.c: one node of a dsm cluster as a process: argument
 * parsing and wiring only (net/host.c does the work).
 *
 *   dsm-node --config cluster.json --id N --data-dir DIR [--log-level L] [--log-format F]
 *   dsm-node --check-data-dir DIR
 *
 * Exit codes: 0 clean stop (SIGTERM/SIGINT), 1 runtime failure (data
 * directory, ports, WAL), 2 bad arguments or config. */
#include <errno.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "config.h"
#include "error.h"
#include "codec.h"
#include "handshake.h"
#include "host.h"
#include "membership.h"
#include "netlog.h"
#include "peer-auth.h"
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

static DsmConfig *
load_config (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  gsize length;

  if (!g_file_get_contents (path, &text, &length, error))
    return NULL;
  DsmConfig *config = dsm_config_new_from_data (text, (gssize) length, load_definition, dir, error);
  if (config == NULL)
    g_prefix_error (error, "%s: ", path);
  return config;
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

static int
check_data_dir (const char *dir)
{
  g_autoptr(GString) report = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  gboolean ok = dsm_wal_check_dir (dir, report, &error);

  fputs (report->str, stdout);
  if (!ok)
    {
      fprintf (stderr, "dsm-node: %s\n", error->message);
      return 1;
    }
  return 0;
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
  gboolean version = FALSE;
  gboolean no_fsync = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Cluster config (JSON, docs/CONFIG.md)", "FILE" },
    { "id", 'i', 0, G_OPTION_ARG_INT64, &id, "This node's id in the config", "N" },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir, "Directory of the node's write-ahead log", "DIR" },
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
    { "check-data-dir", 0, 0, G_OPTION_ARG_FILENAME, &check_dir,
      "Verify a data directory offline, print a report and exit 0 (sound) or 1", "DIR" },
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL },
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- one node of a dsm cluster");
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Listens for peers on its peer_address and for clients (HTTP/JSON) on its client_address,\n"
    "keeps its durable state in --data-dir and stops cleanly on SIGTERM or SIGINT.\n"
    "Exit codes: 0 stopped cleanly, 1 runtime failure, 2 bad arguments or config.\n"
    "See docs/OPERATIONS.md.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return usage_error (context, "%s", error->message);
  if (version)
    {
      printf ("dsm-node %s (protocol %d)\n", DSM_VERSION, DSM_PROTOCOL_VERSION);
      return 0;
    }
  if (check_dir != NULL)
    return check_data_dir (check_dir);
  if (argc > 1)
    return usage_error (context, "unexpected argument \"%s\"", argv[1]);
  if (config_path == NULL || data_dir == NULL || id == 0)
    return usage_error (context, "--config, --id and --data-dir are required");
  if (id < 1 || id > G_MAXINT32)
    return usage_error (context, "--id %" G_GINT64_FORMAT ": expected 1..%d", id, G_MAXINT32);
  if (peer_listen != NULL && !dsm_membership_check_address ("--peer-listen", peer_listen, &error))
    return usage_error (context, "%s", error->message);
  if (record_max_bytes < 0 || record_keep < 0 || record_keep > 100)
    return usage_error (context, "--record-max-bytes takes a size, --record-keep 1..100");
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

  g_autoptr(DsmConfig) config = load_config (config_path, &error);
  if (config == NULL)
    return usage_error (context, "%s", error->message);
  const DsmNodeConfig *self = dsm_config_find_node (config, (DsmNodeId) id);
  if (self == NULL)
    return usage_error (context, "%s: no node with id %" G_GINT64_FORMAT " in \"nodes\"", config_path, id);
  if (config->n_nodes > 1 && self->peer_address == NULL)
    return usage_error (context, "%s: node %" G_GINT64_FORMAT " has no peer_address", config_path, id);
  if (self->client_address == NULL)
    return usage_error (context, "%s: node %" G_GINT64_FORMAT " has no client_address", config_path, id);
  for (guint i = 0; i < config->n_nodes; i++)
    if (config->n_nodes > 1 && config->nodes[i].peer_address == NULL)
      return usage_error (context, "%s: node %u has no peer_address", config_path, config->nodes[i].id);

  /* Secret file and certificates: a bad one is a config error, exit 2. */
  g_autofree char *config_dir = g_path_get_dirname (config_path);
  g_autoptr(DsmPeerAuth) auth = dsm_peer_auth_new (config, (DsmNodeId) id, config_dir, &error);
  if (auth == NULL)
    return usage_error (context, "%s: %s", config_path, error->message);

  signal (SIGPIPE, SIG_IGN);
  raise_file_limit ();
  DsmHostOptions options;
  dsm_host_options_init (&options);
  options.data_dir = data_dir;
  options.config_dir = config_dir;
  options.transport.auth = auth;
  options.no_sync = no_fsync;
  options.peer_listen_address = peer_listen;
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
  dsm_host_start (app.host);
  g_main_loop_run (app.loop);

  int status = dsm_host_failed (app.host) ? EXIT_RUNTIME : 0;
  dsm_host_free (app.host);
  g_main_loop_unref (app.loop);
  return status;
}
