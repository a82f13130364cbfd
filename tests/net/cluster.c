/* tests/net/cluster.c: real dsm-node processes for the integration tests
 * (cluster.h). */
#include "cluster.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <errno.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fingerprint.h"

#define POLL_US (20 * 1000)

static const char *
tool_path (const char *env)
{
  const char *path = g_getenv (env);

  if (path == NULL)
    g_error ("%s is not set (meson test sets it to the built binary)", env);
  return path;
}

/* A claim on TCP port @port among the test programs running at once: an
 * abstract Unix socket named after it, bound only if no other process
 * holds that name, released when closed or when the process ends however
 * it ends.  -1 when another test program holds it. */
static int
claim_port (guint16 port)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int n = g_snprintf (sa.sun_path + 1, sizeof sa.sun_path - 1, "dsm-test-port-%u", port);
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  if (bind (fd, (struct sockaddr *) &sa, (socklen_t) (offsetof (struct sockaddr_un, sun_path) + 1 + n)) == 0)
    return fd;
  g_assert_cmpint (errno, ==, EADDRINUSE);
  close (fd);
  return -1;
}

/* Free ports, all bound at once so they differ, and below the kernel's
 * ephemeral range (32768 and up by default): between this pick and a
 * node's bind, an outgoing connection of a test running alongside takes
 * its local port from that range, and the kernel's own port-0 picks come
 * from it too, so a port from there could be gone by the time the node
 * binds it ("Address already in use").  The test bind is released before
 * the nodes bind, so each port is also claimed (claim_port()) for as long
 * as the cluster lives: another test program picking its ports meanwhile
 * skips it, where it could bind it and take it first (a node of a
 * one-node cluster then exits, and no leader comes). */
static void
cluster_pick_ports (Cluster *c)
{
  GSocket *sockets[3 * CLUSTER_MAX];
  guint16 ports[3 * CLUSTER_MAX];
  g_autoptr(GRand) rand = g_rand_new ();

  /* Every slot gets ports: nodes may join later. */
  for (guint i = 0; i < 3 * CLUSTER_MAX; i++)
    {
      g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      guint attempt;
      for (attempt = 0; attempt < 1000; attempt++)
        {
          g_autoptr(GError) error = NULL;
          ports[i] = (guint16) g_rand_int_range (rand, 20000, 32000);
          gboolean taken = FALSE;
          for (guint j = 0; j < i; j++)
            taken |= ports[j] == ports[i];  /* reuse lets an unlistened port be bound twice */
          if (taken || (c->port_claims[i] = claim_port (ports[i])) < 0)
            continue;
          g_autoptr(GSocketAddress) address = g_inet_socket_address_new (lo, ports[i]);
          sockets[i] = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
          g_assert_no_error (error);
          if (g_socket_bind (sockets[i], address, TRUE, NULL))
            break;
          g_clear_object (&sockets[i]);
          close (c->port_claims[i]);
          c->port_claims[i] = -1;
        }
      g_assert_cmpuint (attempt, <, 1000);
    }
  for (guint i = 0; i < 3 * CLUSTER_MAX; i++)
    g_object_unref (sockets[i]);
  for (guint id = 1; id <= CLUSTER_MAX; id++)
    {
      c->peer_port[id] = ports[2 * (id - 1)];
      c->client_port[id] = ports[2 * (id - 1) + 1];
      c->native_port[id] = ports[2 * CLUSTER_MAX + id - 1];
    }
}

static void
cluster_write_config (Cluster *c)
{
  g_autoptr(GString) json = g_string_new ("{\n  \"cluster_id\": \"test\",\n  \"secret\": \"integration-test-secret\",\n");
  g_autoptr(GError) error = NULL;

  if (c->config_extra != NULL)
    g_string_append_printf (json, "  %s,\n", c->config_extra);
  g_string_append (json, "  \"reconnect_ms_min\": 20,\n  \"reconnect_ms_max\": 500,\n  \"nodes\": [\n");
  for (guint id = 1; id <= c->n; id++)
    g_string_append_printf (json, "    { \"id\": %u, \"peer_address\": \"127.0.0.1:%u\", \"client_address\": \"127.0.0.1:%u\", "
                            "\"native_address\": \"127.0.0.1:%u\" }%s\n",
                            id, c->peer_port[id], c->client_port[id], c->native_port[id], id < c->n ? "," : "");
  g_string_append (json, "  ]\n}\n");
  c->config_path = g_build_filename (c->dir, "cluster.json", NULL);
  g_assert_true (g_file_set_contents (c->config_path, json->str, (gssize) json->len, &error));
  g_assert_no_error (error);
}

static void
child_setup (gpointer data)
{
  /* The node dies with the test, even when an assertion aborts it. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void cluster_spawn (Cluster *c, guint id, const char *join_url);

void
cluster_start_node (Cluster *c, guint id)
{
  cluster_spawn (c, id, NULL);
}

guint
cluster_start_joiner (Cluster *c, guint member)
{
  g_autofree char *url = cluster_url (c, member, "");

  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  gint64 id = 0;

  g_assert_cmpuint (c->n, <, CLUSTER_MAX);
  c->n++;
  cluster_spawn (c, c->n, url);
  /* Serving means joined: wait for it, so that the next joiner cannot
   * take this slot's id first, and check the id is the slot's. */
  while (id == 0)
    {
      g_autoptr(JsonNode) root = NULL;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (cluster_http (c, c->n, "GET", "/healthz", NULL, &root) != 0 && root != NULL)
        id = json_get_int (root, "node");
      else
        g_usleep (POLL_US);
    }
  g_assert_cmpint (id, ==, (gint64) c->n);
  return c->n;
}

/* Node @id, or with @join_url a new node joining at slot @id's ports. */
static void
cluster_spawn (Cluster *c, guint id, const char *join_url)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autofree char *data = cluster_data_dir (c, id);
  g_autofree char *log = g_strdup_printf ("%s/node%u.log", c->dir, id);
  g_autofree char *id_s = g_strdup_printf ("%u", id);
  g_autoptr(GError) error = NULL;

  g_assert_null (c->proc[id]);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  /* Appended, not set_std*_file_path(), which opens without O_TRUNC or
   * O_APPEND: a restarted node would overwrite its predecessor's log from
   * the first byte and leave a garbled mix. */
  int fd = g_open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_autofree char *banner = g_strdup_printf ("---- test harness: starting node %u ----\n", id);
  g_assert_cmpint (write (fd, banner, strlen (banner)), ==, (gssize) strlen (banner));
  g_subprocess_launcher_take_stdout_fd (launcher, fd);
  g_subprocess_launcher_take_stderr_fd (launcher, dup (fd));
  const char *config = c->node_config[id] != NULL ? c->node_config[id] : c->config_path;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup (tool_path ("DSM_NODE")));
  g_ptr_array_add (argv, g_strdup ("--config"));
  g_ptr_array_add (argv, g_strdup (config));
  g_ptr_array_add (argv, g_strdup ("--data-dir"));
  g_ptr_array_add (argv, g_strdup (data));
  g_ptr_array_add (argv, g_strdup ("--log-level"));
  g_ptr_array_add (argv, g_strdup ("info"));
  if (join_url != NULL)
    {
      g_ptr_array_add (argv, g_strdup ("--join"));
      g_ptr_array_add (argv, g_strdup (join_url));
    }
  else
    {
      g_ptr_array_add (argv, g_strdup ("--id"));
      g_ptr_array_add (argv, g_strdup (id_s));
    }
  if (c->peer_listen[id] != 0)
    {
      g_ptr_array_add (argv, g_strdup ("--peer-listen"));
      g_ptr_array_add (argv, g_strdup_printf ("127.0.0.1:%u", c->peer_listen[id]));
    }
  /* A node the config does not list says where it is. */
  if (id > c->n_bootstrap)
    {
      g_ptr_array_add (argv, g_strdup ("--peer-address"));
      g_ptr_array_add (argv, g_strdup_printf ("127.0.0.1:%u", c->peer_port[id]));
      g_ptr_array_add (argv, g_strdup ("--client-address"));
      g_ptr_array_add (argv, g_strdup_printf ("127.0.0.1:%u", c->client_port[id]));
      g_ptr_array_add (argv, g_strdup ("--native-address"));
      g_ptr_array_add (argv, cluster_native_address (c, id));
    }
  for (guint i = 0; c->node_args != NULL && c->node_args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (c->node_args[i]));
  g_ptr_array_add (argv, NULL);
  c->proc[id] = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
}

void
cluster_kill_node (Cluster *c, guint id)
{
  g_assert_nonnull (c->proc[id]);
  g_subprocess_force_exit (c->proc[id]);
  g_subprocess_wait (c->proc[id], NULL, NULL);
  g_clear_object (&c->proc[id]);
}

gboolean
cluster_node_running (Cluster *c, guint id)
{
  const char *pid = c->proc[id] != NULL ? g_subprocess_get_identifier (c->proc[id]) : NULL;
  g_autofree char *path = pid != NULL ? g_strdup_printf ("/proc/%s/stat", pid) : NULL;
  g_autofree char *stat = NULL;

  /* Not waitpid(): GSubprocess reaps its child itself.  An exited child
   * not yet reaped is a zombie: "pid (comm) Z ...". */
  if (path == NULL || !g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  const char *end = strrchr (stat, ')');
  return end != NULL && end[1] == ' ' && end[2] != 'Z' && end[2] != 'X';
}

void
cluster_signal_node (Cluster *c, guint id, int sig)
{
  g_assert_nonnull (c->proc[id]);
  g_subprocess_send_signal (c->proc[id], sig);
}

Cluster *
cluster_new (guint n)
{
  return cluster_new_with_config (n, NULL);
}

Cluster *
cluster_prepare (guint n, const char *config_extra)
{
  Cluster *c = g_new0 (Cluster, 1);
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (n, <=, CLUSTER_MAX);
  c->n = n;
  c->n_bootstrap = n;
  c->config_extra = g_strdup (config_extra);
  c->scheme = "http";
  c->dir = g_dir_make_tmp ("dsm-net-test-XXXXXX", &error);
  g_assert_no_error (error);
  /* A request's budget, reached only when a node hangs: a busy machine
   * (several builds, sanitizers) can take seconds to answer. */
  c->session = soup_session_new_with_options ("timeout", CLUSTER_REQUEST_TIMEOUT_S, "proxy-resolver", NULL, NULL);
  cluster_pick_ports (c);
  cluster_write_config (c);
  return c;
}

/* The last lines of node @id's log, to stderr. */
static void
cluster_print_log_tail (Cluster *c, guint id)
{
  g_autofree char *path = g_strdup_printf ("%s/node%u.log", c->dir, id);
  g_autofree char *text = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &text, &len, NULL))
    return;
  const char *start = text + len;
  for (guint lines = 0; start > text && lines <= 20; start--)
    lines += start[-1] == '\n';
  g_printerr ("# the end of node %u's log (%s):\n%s\n", id, path, start);
}

void
cluster_start_all (Cluster *c)
{
  for (guint id = 1; id <= c->n; id++)
    cluster_start_node (c, id);
  guint leader = cluster_wait_leader (c, CLUSTER_BUDGET_MS);
  if (leader == 0)
    {
      /* Say why: a node that exited (a port taken between
       * cluster_pick_ports() and its bind, a crash) or one that serves
       * but never learns of a leader. */
      cluster_print_views (c);
      for (guint id = 1; id <= c->n; id++)
        cluster_print_log_tail (c, id);
    }
  g_assert_cmpuint (leader, !=, 0);
}

Cluster *
cluster_new_with_config (guint n, const char *config_extra)
{
  Cluster *c = cluster_prepare (n, config_extra);

  cluster_start_all (c);
  return c;
}

void
cluster_set_node_args (Cluster *c, const char *const *args)
{
  g_strfreev (c->node_args);
  c->node_args = g_strdupv ((char **) args);
}

void
cluster_set_token (Cluster *c, const char *token)
{
  g_free (c->token);
  c->token = g_strdup (token);
}

void
cluster_use_tls (Cluster *c, const char *ca_file)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsDatabase) ca = g_tls_file_database_new (ca_file, &error);

  g_assert_no_error (error);
  soup_session_set_tls_database (c->session, ca);
  c->scheme = "https";
}

char *
cluster_write_file (Cluster *c, const char *name, const char *contents, int mode)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (c->dir, name, NULL);

  g_assert_true (g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, mode, &error));
  g_assert_no_error (error);
  return path;
}

char *
cluster_data_dir (Cluster *c, guint id)
{
  return g_strdup_printf ("%s/node%u", c->dir, id);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    while ((name = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *child = g_build_filename (path, name, NULL);
        remove_tree (child);
      }
  g_remove (path);
}

static void cluster_free_keeping (Cluster *c, gboolean keep);

void
cluster_free (Cluster *c)
{
  cluster_free_keeping (c, g_test_failed ());
}

void
cluster_free_after_run (Cluster *c, int status)
{
  cluster_free_keeping (c, status != 0);
}

static void
cluster_free_keeping (Cluster *c, gboolean keep)
{
  for (guint id = 1; id <= c->n; id++)
    if (c->proc[id] != NULL)
      {
        g_subprocess_send_signal (c->proc[id], SIGCONT);
        cluster_kill_node (c, id);
      }
  g_object_unref (c->session);
  /* Keep the logs of a failed run for whoever debugs it. */
  if (keep || g_getenv ("DSM_KEEP_TEST_DIR") != NULL)
    g_printerr ("# cluster logs kept in %s\n", c->dir);
  else
    remove_tree (c->dir);
  g_free (c->config_path);
  g_free (c->config_extra);
  for (guint id = 0; id <= CLUSTER_MAX; id++)
    g_free (c->node_config[id]);
  g_free (c->token);
  g_strfreev (c->node_args);
  g_free (c->dir);
  for (guint i = 0; i < G_N_ELEMENTS (c->port_claims); i++)
    close (c->port_claims[i]);
  g_free (c);
}

void
cluster_set_node_config (Cluster *c, guint id, const char *search, const char *replace)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  if (search == NULL)
    {
      g_clear_pointer (&c->node_config[id], g_free);
      return;
    }
  g_assert_true (g_file_get_contents (c->node_config[id] != NULL ? c->node_config[id] : c->config_path,
                                      &text, NULL, &error));
  g_autoptr(GString) s = g_string_new (text);
  g_assert_cmpuint (g_string_replace (s, search, replace, 0), >=, 1);
  if (c->node_config[id] == NULL)
    c->node_config[id] = g_strdup_printf ("%s/node%u.json", c->dir, id);
  g_assert_true (g_file_set_contents (c->node_config[id], s->str, (gssize) s->len, &error));
  g_assert_no_error (error);
}

/* ---- HTTP ---- */

char *
cluster_url (Cluster *c, guint id, const char *path)
{
  return g_strdup_printf ("%s://127.0.0.1:%u%s", c->scheme, c->client_port[id], path);
}

char *
cluster_native_address (Cluster *c, guint id)
{
  return g_strdup_printf ("127.0.0.1:%u", c->native_port[id]);
}

char *
cluster_endpoints (Cluster *c)
{
  GString *s = g_string_new (NULL);

  for (guint id = 1; id <= c->n; id++)
    g_string_append_printf (s, "%s%s://127.0.0.1:%u", id > 1 ? "," : "", c->scheme, c->client_port[id]);
  return g_string_free (s, FALSE);
}

static GBytes *
cluster_send (Cluster *c, guint id, const char *method, const char *path, const char *body, guint *status)
{
  g_autofree char *url = cluster_url (c, id, path);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GError) error = NULL;
  GBytes *reply;

  g_assert_nonnull (msg);
  if (c->token != NULL)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", c->token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", bearer);
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  reply = soup_session_send_and_read (c->session, msg, NULL, &error);
  *status = reply != NULL ? soup_message_get_status (msg) : 0;
  return reply;
}

guint
cluster_http (Cluster *c, guint id, const char *method, const char *path, const char *body, JsonNode **root)
{
  guint status;
  g_autoptr(GBytes) reply = cluster_send (c, id, method, path, body, &status);

  if (root != NULL)
    *root = NULL;
  if (reply != NULL && root != NULL)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      gsize n;
      const char *data = g_bytes_get_data (reply, &n);
      if (json_parser_load_from_data (parser, data, (gssize) n, NULL))
        *root = json_node_ref (json_parser_get_root (parser));
    }
  return status;
}

char *
cluster_http_text (Cluster *c, guint id, const char *path, guint *status)
{
  g_autoptr(GBytes) reply = cluster_send (c, id, "GET", path, NULL, status);

  if (reply == NULL)
    return NULL;
  return g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
}

const char *
json_get_string (JsonNode *root, const char *key)
{
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  JsonNode *node = json_object_get_member (json_node_get_object (root), key);
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gint64
json_get_int (JsonNode *root, const char *key)
{
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return -1;
  JsonNode *node = json_object_get_member (json_node_get_object (root), key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return -1;
  return json_node_get_int (node);
}

/* ---- waiting ---- */

guint
cluster_wait_leader (Cluster *c, guint budget_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) budget_ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      gint64 leader = 0;
      gboolean agree = TRUE;
      for (guint id = 1; id <= c->n && agree; id++)
        {
          g_autoptr(JsonNode) root = NULL;
          if (c->proc[id] == NULL)
            continue;
          if (cluster_http (c, id, "GET", "/v1/cluster", NULL, &root) != 200)
            agree = FALSE;
          else if (leader == 0)
            leader = json_get_int (root, "leader");
          else
            agree = json_get_int (root, "leader") == leader;
        }
      if (agree && leader > 0 && c->proc[leader] != NULL)
        return (guint) leader;
      g_usleep (POLL_US);
    }
  return 0;
}

guint
cluster_other_node (Cluster *c, guint not_a, guint not_b)
{
  for (guint id = 1; id <= c->n; id++)
    if (id != not_a && id != not_b && c->proc[id] != NULL)
      return id;
  g_assert_not_reached ();
}

gboolean
cluster_wait_state_everywhere (Cluster *c, const char *machine, const char *state, guint budget_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) budget_ms * 1000;
  g_autofree char *escaped = g_uri_escape_string (machine, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("/v1/machines/%s?stale=1", escaped);

  while (g_get_monotonic_time () < deadline)
    {
      gboolean all = TRUE;
      for (guint id = 1; id <= c->n && all; id++)
        {
          g_autoptr(JsonNode) root = NULL;
          if (c->proc[id] == NULL)
            continue;
          all = cluster_http (c, id, "GET", path, NULL, &root) == 200
                && g_strcmp0 (json_get_string (root, "state"), state) == 0;
        }
      if (all)
        return TRUE;
      g_usleep (POLL_US);
    }
  return FALSE;
}

guint
cluster_propose (Cluster *c, guint id, const char *machine, const char *state, const char *client_id,
                 guint64 seq, guint budget_ms, JsonNode **root)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) budget_ms * 1000;
  g_autofree char *escaped = g_uri_escape_string (machine, NULL, FALSE);
  g_autofree char *path = g_strdup_printf ("/v1/machines/%s", escaped);
  g_autofree char *body = client_id != NULL
    ? g_strdup_printf ("{\"to\":\"%s\",\"client_id\":\"%s\",\"seq\":%" G_GUINT64_FORMAT "}", state, client_id, seq)
    : g_strdup_printf ("{\"to\":\"%s\"}", state);
  guint status = 0;

  *root = NULL;
  do
    {
      g_clear_pointer (root, json_node_unref);
      status = cluster_http (c, id, "POST", path, body, root);
      if (status == 200 || status == 409 || (status >= 400 && status < 500))
        return status;
      g_usleep (POLL_US);
    }
  while (client_id != NULL && g_get_monotonic_time () < deadline);
  return status;
}

int
cluster_run_tool (const char *const *argv, char **out, char **err)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                                   &error);

  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (proc, NULL, NULL, out, err, &error));
  g_assert_no_error (error);
  return g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : -1;
}

int
cluster_run_tool_tls (const char *const *argv, char **out, char **err)
{
  const char *asan = g_getenv ("ASAN_OPTIONS");
  g_autofree char *saved = g_strdup (asan);
  g_autofree char *options = g_strdup_printf ("%s%sdetect_leaks=0", asan != NULL ? asan : "",
                                              asan != NULL && asan[0] != '\0' ? ":" : "");
  int status;

  g_setenv ("ASAN_OPTIONS", options, TRUE);
  status = cluster_run_tool (argv, out, err);
  if (saved != NULL)
    g_setenv ("ASAN_OPTIONS", saved, TRUE);
  else
    g_unsetenv ("ASAN_OPTIONS");
  return status;
}

int
cluster_dsmctl_run (gboolean tls, char **out, char **err, const char *first, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  va_list args;

  g_ptr_array_add (argv, (char *) g_getenv ("DSMCTL"));
  va_start (args, first);
  for (const char *a = first; a != NULL; a = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  return tls ? cluster_run_tool_tls ((const char *const *) argv->pdata, out, err)
             : cluster_run_tool ((const char *const *) argv->pdata, out, err);
}

double
cluster_metric (Cluster *c, guint id, const char *key)
{
  guint status = 0;
  g_autofree char *text = cluster_http_text (c, id, "/metrics", &status);
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (status, ==, 200);
  g_autoptr(GHashTable) samples = prometheus_parse (text, &error);
  g_assert_no_error (error);
  double *v = g_hash_table_lookup (samples, key);
  return v != NULL ? *v : -1;
}

/* ---- Prometheus text ---- */

static gboolean
metric_name_ok (const char *s, gsize n)
{
  if (n == 0 || !(g_ascii_isalpha (s[0]) || s[0] == '_' || s[0] == ':'))
    return FALSE;
  for (gsize i = 1; i < n; i++)
    if (!(g_ascii_isalnum (s[i]) || s[i] == '_' || s[i] == ':'))
      return FALSE;
  return TRUE;
}

/* `a="x",b="y"`: names and quoted, escaped values. */
static gboolean
labels_ok (const char *s, gsize n)
{
  gsize i = 0;

  while (i < n)
    {
      gsize start = i;
      while (i < n && s[i] != '=')
        i++;
      if (i >= n || !metric_name_ok (s + start, i - start) || i + 1 >= n || s[i + 1] != '"')
        return FALSE;
      i += 2;
      while (i < n && s[i] != '"')
        i += s[i] == '\\' ? 2 : 1;
      if (i >= n)
        return FALSE;
      i++;
      if (i < n && s[i++] != ',')
        return FALSE;
    }
  return TRUE;
}

static const char *
family_of (GHashTable *types, const char *name)
{
  static const char *const suffixes[] = { "_bucket", "_sum", "_count" };

  if (g_hash_table_contains (types, name))
    return name;
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    if (g_str_has_suffix (name, suffixes[i]))
      {
        g_autofree char *base = g_strndup (name, strlen (name) - strlen (suffixes[i]));
        const char *type = g_hash_table_lookup (types, base);
        if (type != NULL && (g_str_equal (type, "histogram") || g_str_equal (type, "summary")))
          return type;
      }
  return NULL;
}

static gboolean
prometheus_line (const char *line, GHashTable *types, GHashTable *samples)
{
  static const char *const type_names[] = { "counter", "gauge", "histogram", "summary", "untyped", NULL };

  if (line[0] == '\0')
    return TRUE;
  if (g_str_has_prefix (line, "# HELP ") || g_str_has_prefix (line, "# TYPE "))
    {
      g_auto(GStrv) parts = g_strsplit (line + 7, " ", 2);
      if (parts[0] == NULL || parts[1] == NULL || !metric_name_ok (parts[0], strlen (parts[0])))
        return FALSE;
      if (line[2] == 'T')
        {
          if (!g_strv_contains (type_names, parts[1]) || g_hash_table_contains (types, parts[0]))
            return FALSE;
          g_hash_table_insert (types, g_strdup (parts[0]), g_strdup (parts[1]));
        }
      return TRUE;
    }
  if (line[0] == '#')
    return TRUE;
  const char *brace = strchr (line, '{');
  const char *space = strchr (line, ' ');
  if (space == NULL)
    return FALSE;
  gsize name_len = (brace != NULL && brace < space) ? (gsize) (brace - line) : (gsize) (space - line);
  g_autofree char *name = g_strndup (line, name_len);
  if (!metric_name_ok (name, name_len) || family_of (types, name) == NULL)
    return FALSE;
  const char *value = space + 1;
  if (brace != NULL && brace < space)
    {
      const char *close = strstr (brace, "} ");
      if (close == NULL || !labels_ok (brace + 1, (gsize) (close - brace - 1)))
        return FALSE;
      value = close + 2;
    }
  char *end = NULL;
  double v = g_ascii_strtod (value, &end);
  if ((end == value || (*end != '\0' && *end != ' '))
      && !g_str_equal (value, "+Inf") && !g_str_equal (value, "-Inf") && !g_str_equal (value, "NaN"))
    return FALSE;
  g_autofree char *key = g_strndup (line, (gsize) (value - line - 1));
  if (g_hash_table_contains (samples, key))
    return FALSE;
  g_hash_table_insert (samples, g_steal_pointer (&key), g_memdup2 (&v, sizeof v));
  return TRUE;
}

GHashTable *
prometheus_parse (const char *text, GError **error)
{
  g_autoptr(GHashTable) samples = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint ln = 0; lines[ln] != NULL; ln++)
    if (!prometheus_line (lines[ln], types, samples))
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "metrics line %u: %s", ln + 1, lines[ln]);
        return NULL;
      }
  return g_steal_pointer (&samples);
}

char *
cluster_fingerprint (Cluster *c)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (c->config_path, &text, &length, &error));
  g_autoptr(DsmConfig) config = dsm_config_new_from_data (text, (gssize) length, NULL, NULL, &error);
  g_assert_no_error (error);
  return dsm_fingerprint_compute (config);
}

/* ---- views ---- */

gint64
cluster_view_int (Cluster *c, guint id, const char *key)
{
  g_autoptr(JsonNode) root = NULL;

  if (cluster_http (c, id, "GET", "/v1/cluster", NULL, &root) != 200)
    return -1;
  return json_get_int (root, key);
}

void
cluster_print_views (Cluster *c)
{
  for (guint id = 1; id <= c->n; id++)
    {
      g_autoptr(JsonNode) root = NULL;
      guint status = c->proc[id] != NULL ? cluster_http (c, id, "GET", "/v1/cluster", NULL, &root) : 0;
      g_printerr ("# node %u: %s, status %u, role %s, leader %" G_GINT64_FORMAT ", epoch %" G_GINT64_FORMAT
                  ", commit %" G_GINT64_FORMAT ", applied %" G_GINT64_FORMAT ", last %" G_GINT64_FORMAT "\n",
                  id, c->proc[id] == NULL ? "down" : cluster_node_running (c, id) ? "running" : "EXITED", status,
                  json_get_string (root, "role"), json_get_int (root, "leader"), json_get_int (root, "epoch"),
                  json_get_int (root, "commit_index"), json_get_int (root, "applied_index"),
                  json_get_int (root, "last_index"));
    }
}

/* Node @id serves and has applied what the leader had committed when the
 * wait began. */
void
cluster_wait_caught_up (Cluster *c, guint id, guint budget_ms)
{
  guint leader = cluster_wait_leader (c, budget_ms);
  gint64 target, applied = -1;
  gint64 deadline = g_get_monotonic_time () + (gint64) budget_ms * 1000;

  g_assert_cmpuint (leader, !=, 0);
  target = cluster_view_int (c, leader, "commit_index");
  g_assert_cmpint (target, >, 0);
  while ((applied = cluster_view_int (c, id, "applied_index")) < target)
    {
      if (g_get_monotonic_time () >= deadline)
        {
          cluster_print_views (c);
          g_error ("node %u applied %" G_GINT64_FORMAT " after %u ms, leader %u had committed %" G_GINT64_FORMAT, id,
                   applied, budget_ms, leader, target);
        }
      g_usleep (POLL_US);
    }
}

/* A node that died on its own (an assertion, a WAL failure) is a bug a
 * test that restarts nodes would otherwise hide. */
void
cluster_assert_running (Cluster *c)
{
  for (guint id = 1; id <= c->n; id++)
    if (c->proc[id] != NULL && !cluster_node_running (c, id))
      g_error ("node %u exited on its own: see %s/node%u.log", id, c->dir, id);
}

int
cluster_dsmctl (Cluster *c, char **out, char **err, ...)
{
  g_autofree char *endpoints = cluster_endpoints (c);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  va_list args;
  const char *arg;

  g_ptr_array_add (argv, (char *) tool_path ("DSMCTL"));
  g_ptr_array_add (argv, (char *) "--endpoints");
  g_ptr_array_add (argv, endpoints);
  g_ptr_array_add (argv, (char *) "--timeout");
  g_ptr_array_add (argv, (char *) "30");
  va_start (args, err);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);
  return cluster_run_tool ((const char *const *) argv->pdata, out, err);
}
