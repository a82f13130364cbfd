/* real/procs.c: the dsm-node processes of a real run: their config (one
 * file for all, peers dialing the proxy's fronts), ports, data
 * directories and logs; start, SIGKILL, SIGTERM; the counters scraped
 * from their metrics and the elections read from their logs.  Children
 * die with the driver's thread (PR_SET_PDEATHSIG), however it ends. */
#include "real-private.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "json.h"

#define REAL_STOP_US (10 * G_USEC_PER_SEC)
#define REAL_SCRAPE_EVERY_US (250 * 1000)
#define REAL_SCRAPE_TIMEOUT_US (300 * 1000)

/* ---- preparing ---- */

/* Free loopback ports, all bound at once so they differ; @sockets keeps
 * them bound until the caller has bound its own (the proxy's fronts), so
 * the kernel cannot hand one of them out twice. */
static gboolean
prepare_ports (guint16 *ports, guint n, GPtrArray *sockets, GError **error)
{

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
      g_autoptr(GSocketAddress) bound = NULL;
      GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
      if (socket == NULL)
        return FALSE;
      g_ptr_array_add (sockets, socket);
      if (!g_socket_bind (socket, any, TRUE, error) || (bound = g_socket_get_local_address (socket, error)) == NULL)
        return FALSE;
      ports[i] = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    }
  return TRUE;
}

static char *
random_hex (guint bytes)
{
  GString *out = g_string_new (NULL);
  g_autoptr(GRand) rand = g_rand_new ();

  for (guint i = 0; i < bytes; i++)
    g_string_append_printf (out, "%02x", (guint) g_rand_int_range (rand, 0, 256));
  return g_string_free (out, FALSE);
}

/* The scenario's cluster, as the config every node reads: its settings
 * (timeouts, batches, snapshots, definitions) as they are, plus what real
 * nodes need: addresses, a secret, a token, quick redials. */
static gboolean
prepare_config (DsmReal *real, GError **error)
{
  g_autofree char *base = dsm_config_to_json (real->config);
  g_autoptr(JsonNode) root = dsm_json_parse (base, -1, NULL, NULL, error);
  if (root == NULL)
    return FALSE;
  JsonObject *object = json_node_get_object (root);
  g_autofree char *secret = random_hex (32);
  JsonArray *nodes = json_array_new ();

  json_object_set_string_member (object, "cluster_id", "real");
  json_object_set_string_member (object, "secret", secret);
  /* Faults cut connections often; a node should not wait seconds to redial. */
  json_object_set_int_member (object, "reconnect_ms_min", 20);
  json_object_set_int_member (object, "reconnect_ms_max", 500);
  for (guint id = 1; id <= real->n; id++)
    {
      JsonObject *node = json_object_new ();
      g_autofree char *peer = g_strdup_printf ("127.0.0.1:%u", dsm_proxy_get_port (real->proxy, id));
      g_autofree char *client = g_strdup_printf ("127.0.0.1:%u", real->nodes[id].client_port);
      json_object_set_int_member (node, "id", id);
      json_object_set_string_member (node, "peer_address", peer);
      json_object_set_string_member (node, "client_address", client);
      json_array_add_object_element (nodes, node);
    }
  json_object_set_array_member (object, "nodes", nodes);
  JsonObject *http = json_object_get_object_member (object, "http");
  if (http != NULL)
    {
      json_object_set_int_member (http, "workers", 1);
      json_object_set_string_member (http, "token_file", "tokens");
    }

  g_autofree char *tokens_path = g_build_filename (real->dir, "tokens", NULL);
  g_autofree char *tokens = g_strdup_printf ("admin %s real-backend\n", real->token);
  int fd = g_open (tokens_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write (fd, tokens, strlen (tokens)) != (gssize) strlen (tokens))
    {
      if (fd >= 0)
        close (fd);
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_IO, "%s: cannot write", tokens_path);
      return FALSE;
    }
  close (fd);
  g_autofree char *text = json_to_string (root, TRUE);
  real->config_path = g_build_filename (real->dir, "cluster.json", NULL);
  return g_file_set_contents (real->config_path, text, -1, error);
}

gboolean
real_nodes_prepare (DsmReal *real, GError **error)
{
  g_autofree guint16 *ports = g_new0 (guint16, 2 * real->n);
  g_autofree guint16 *peer_ports = g_new0 (guint16, real->n + 1);

  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);
  if (!prepare_ports (ports, 2 * real->n, held, error))
    return FALSE;
  for (guint id = 1; id <= real->n; id++)
    {
      RealNode *rn = &real->nodes[id];
      rn->id = id;
      rn->peer_port = peer_ports[id] = ports[2 * (id - 1)];
      rn->client_port = ports[2 * (id - 1) + 1];
      rn->data_dir = g_strdup_printf ("%s/node%u", real->dir, id);
      rn->log_path = g_strdup_printf ("%s/node%u.log", real->dir, id);
    }
  const DsmNetworkModel *net = &real->scenario->network;
  real->proxy = dsm_proxy_new (real->n, peer_ports, TRUE, net->latency_ms_min, net->latency_ms_max,
                               real->seed, error);
  if (real->proxy == NULL)
    return FALSE;
  dsm_proxy_set_base_loss (real->proxy, net->loss_percent);
  real->token = random_hex (24);
  return prepare_config (real, error);
}

/* ---- processes ---- */

static void
child_setup (gpointer data)
{
  pid_t parent = GPOINTER_TO_INT (data);

  /* The node dies with the driver, even when the driver is killed. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (1);
}

void
real_node_start (DsmReal *real, RealNode *rn)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autofree char *id = g_strdup_printf ("%u", rn->id);
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", rn->peer_port);
  g_autoptr(GError) error = NULL;

  g_assert (rn->proc == NULL);
  g_assert (!rn->refused);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, GINT_TO_POINTER (getpid ()), NULL);
  /* Appended: a restarted node's log follows its predecessor's. */
  int fd = g_open (rn->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      real_fail (real, DSM_INVARIANT_LIVENESS, "node %u: cannot open its log %s", rn->id, rn->log_path);
      return;
    }
  g_subprocess_launcher_take_stdout_fd (launcher, fd);
  g_subprocess_launcher_take_stderr_fd (launcher, dup (fd));
  g_autofree char *record = g_strdup_printf ("%s/node%u.rec", real->dir, rn->id);
  const char *argv[] = { real->options.node_path, "--config", real->config_path, "--id", id,
                         "--data-dir", rn->data_dir, "--peer-listen", listen, "--log-level", "info",
                         "--log-format", "json", real->options.record ? "--record" : NULL, record, NULL };
  rn->proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  if (rn->proc == NULL)
    {
      real_fail (real, DSM_INVARIANT_LIVENESS, "node %u: %s", rn->id, error->message);
      return;
    }
  rn->starts++;
  rn->last = (RealCounters) { 0 };
}

/* Whether @proc still runs.  Not waitpid(): GSubprocess reaps its child
 * itself; an exited child not yet reaped is a zombie: "pid (comm) Z ...". */
static gboolean
proc_alive (GSubprocess *proc)
{
  const char *pid = g_subprocess_get_identifier (proc);
  g_autofree char *path = pid != NULL ? g_strdup_printf ("/proc/%s/stat", pid) : NULL;
  g_autofree char *stat = NULL;

  if (path == NULL || !g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  const char *end = strrchr (stat, ')');
  return end != NULL && end[1] == ' ' && end[2] != 'Z' && end[2] != 'X';
}

/* The last line of a node's log (transfer full), for a report. */
static char *
log_last_line (const char *path)
{
  g_autofree char *text = NULL;
  gsize length = 0;

  if (!g_file_get_contents (path, &text, &length, NULL) || length == 0)
    return NULL;
  while (length > 0 && text[length - 1] == '\n')
    text[--length] = '\0';
  const char *last = strrchr (text, '\n');
  return g_strndup (last != NULL ? last + 1 : text, 300);
}

gboolean
real_node_running (DsmReal *real, RealNode *rn)
{
  if (rn->proc == NULL)
    return FALSE;
  if (proc_alive (rn->proc))
    return TRUE;
  /* It ended by itself: a node that will not start from its disk. */
  g_subprocess_wait (rn->proc, NULL, NULL);
  int status = g_subprocess_get_if_exited (rn->proc) ? g_subprocess_get_exit_status (rn->proc) : -1;
  g_autofree char *why = log_last_line (rn->log_path);
  real_log (real, "node %u exited by itself (status %d): it stays down; its log ends: %s", rn->id, status,
            why != NULL ? why : "-");
  g_clear_object (&rn->proc);
  rn->refused = TRUE;
  return FALSE;
}

static void
counters_add (RealCounters *sum, const RealCounters *more)
{
  sum->retries += more->retries;
  sum->snapshots_installed += more->snapshots_installed;
  sum->invalid += more->invalid;
}

void
real_node_scrape (DsmReal *real, RealNode *rn)
{
  DsmRealAnswer answer = { 0 };

  if (rn->proc == NULL || rn->paused_until_us != 0)
    return;  /* a stopped process answers nothing */
  dsm_real_api_request (rn->client_port, "GET", "/metrics", real->token, NULL, REAL_SCRAPE_TIMEOUT_US, &answer);
  if (answer.status == 200)
    {
      /* Counters only grow within an incarnation. */
      RealCounters now = {
        .retries = (guint64) dsm_real_api_metric_sum (answer.body, "dsm_retries_total"),
        .snapshots_installed = (guint64) dsm_real_api_metric_sum (answer.body, "dsm_snapshots_installed_total"),
        .invalid = (guint64) (dsm_real_api_metric_sum (answer.body, "dsm_messages_invalid_total")
                              + dsm_real_api_metric_sum (answer.body, "dsm_net_protocol_errors_total")),
      };
      rn->last.retries = MAX (rn->last.retries, now.retries);
      rn->last.snapshots_installed = MAX (rn->last.snapshots_installed, now.snapshots_installed);
      rn->last.invalid = MAX (rn->last.invalid, now.invalid);
    }
  dsm_real_answer_clear (&answer);
}

void
real_nodes_scrape_due (DsmReal *real)
{
  gint64 now = g_get_monotonic_time ();

  if (now - real->last_scrape_us < REAL_SCRAPE_EVERY_US)
    return;
  real->last_scrape_us = now;
  for (guint id = 1; id <= real->n; id++)
    real_node_scrape (real, &real->nodes[id]);
}

RealCounters
real_counters_total (DsmReal *real)
{
  RealCounters total = { 0 };

  for (guint id = 1; id <= real->n; id++)
    {
      counters_add (&total, &real->nodes[id].banked);
      counters_add (&total, &real->nodes[id].last);
    }
  return total;
}

static void
node_bank (RealNode *rn)
{
  counters_add (&rn->banked, &rn->last);
  rn->last = (RealCounters) { 0 };
}

void
real_node_crash (DsmReal *real, RealNode *rn)
{
  if (rn->proc == NULL)
    return;
  /* Its counters die with it: read them first. */
  real_node_scrape (real, rn);
  g_subprocess_send_signal (rn->proc, SIGKILL);
  g_subprocess_wait (rn->proc, NULL, NULL);
  g_clear_object (&rn->proc);
  rn->paused_until_us = 0;
  node_bank (rn);
  g_mutex_lock (&real->lock);
  real->report.crashes++;
  g_mutex_unlock (&real->lock);
  real_disk_strike (real, rn);
}

void
real_node_pause (DsmReal *real, RealNode *rn, guint64 ms)
{
  if (rn->proc == NULL)
    return;
  /* Its counters cannot be read while it is stopped. */
  real_node_scrape (real, rn);
  g_subprocess_send_signal (rn->proc, SIGSTOP);
  rn->paused_until_us = MAX (rn->paused_until_us, g_get_monotonic_time () + (gint64) ms * 1000);
}

void
real_nodes_resume_due (DsmReal *real, gboolean all)
{
  gint64 now = g_get_monotonic_time ();

  for (guint id = 1; id <= real->n; id++)
    {
      RealNode *rn = &real->nodes[id];
      if (rn->paused_until_us == 0 || (!all && now < rn->paused_until_us))
        continue;
      if (rn->proc != NULL)
        g_subprocess_send_signal (rn->proc, SIGCONT);
      rn->paused_until_us = 0;
      real_log (real, "node %u resumed (SIGCONT)", id);
    }
}

/* SIGTERM, and a clean exit within the bound; else SIGKILL. */
static void
node_stop (DsmReal *real, RealNode *rn)
{
  if (rn->proc == NULL)
    return;
  g_subprocess_send_signal (rn->proc, SIGCONT);
  rn->paused_until_us = 0;
  real_node_scrape (real, rn);
  g_subprocess_send_signal (rn->proc, SIGTERM);
  gint64 deadline = g_get_monotonic_time () + REAL_STOP_US;
  while (proc_alive (rn->proc) && g_get_monotonic_time () < deadline)
    g_usleep (10 * 1000);
  if (proc_alive (rn->proc))
    {
      real_log (real, "node %u did not stop within %d s of SIGTERM: killed", rn->id,
                (int) (REAL_STOP_US / G_USEC_PER_SEC));
      g_subprocess_send_signal (rn->proc, SIGKILL);
    }
  g_subprocess_wait (rn->proc, NULL, NULL);
  if (g_subprocess_get_if_exited (rn->proc) && g_subprocess_get_exit_status (rn->proc) != 0)
    real_log (real, "node %u exited %d on SIGTERM", rn->id, g_subprocess_get_exit_status (rn->proc));
  g_clear_object (&rn->proc);
  node_bank (rn);
}

void
real_nodes_stop (DsmReal *real)
{
  for (guint id = 1; id <= real->n; id++)
    node_stop (real, &real->nodes[id]);
}

void
real_nodes_kill (DsmReal *real)
{
  for (guint id = 1; id <= real->n; id++)
    {
      RealNode *rn = &real->nodes[id];
      if (rn->proc == NULL)
        continue;
      g_subprocess_send_signal (rn->proc, SIGKILL);
      g_subprocess_wait (rn->proc, NULL, NULL);
      g_clear_object (&rn->proc);
    }
}

/* ---- logs ---- */

/* The value of @key in one JSON log line, or NULL. */
static const char *
log_field (JsonNode *root, const char *key)
{
  DsmJsonAt at;
  const char *value = NULL;

  dsm_json_at_root (&at, NULL, root, NULL);
  if (!dsm_json_read_string (&at, key, DSM_JSON_OPTIONAL, 256, &value, NULL))
    return NULL;
  return value;
}

/* Every election a node won, from its log (it outlives the process):
 * counted, and shown to the checker's election safety, which refuses a
 * second winner of one epoch. */
void
real_nodes_read_logs (DsmReal *real)
{
  guint64 elections = 0;

  for (guint id = 1; id <= real->n; id++)
    {
      g_autofree char *text = NULL;
      gsize length = 0;
      if (!g_file_get_contents (real->nodes[id].log_path, &text, &length, NULL))
        continue;
      g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          if (lines[i][0] != '{')
            continue;  /* a message the node printed before its log writer ran */
          g_autoptr(JsonNode) root = dsm_json_parse (lines[i], -1, NULL, NULL, NULL);
          if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)
              || g_strcmp0 (log_field (root, "DSM_EVENT"), "election_won") != 0)
            continue;
          /* DSM_EPOCH is a JSON number (docs/OPERATIONS.md, Logs). */
          guint64 epoch = 0;
          DsmJsonAt at;
          dsm_json_at_root (&at, NULL, root, NULL);
          dsm_json_read_uint (&at, "DSM_EPOCH", DSM_JSON_OPTIONAL, 0, G_MAXUINT64, &epoch, NULL);
          elections++;
          g_mutex_lock (&real->lock);
          dsm_checker_leader (real->checker, real_now_ms (real), id, epoch);
          g_mutex_unlock (&real->lock);
        }
    }
  real->report.elections = elections;
}
