/* tests/net/cluster.h: a cluster of real dsm-node processes on loopback
 * for the integration tests: a temp dir with the config, data dirs and
 * logs, free ports, an HTTP client, and polling helpers that wait on the
 * API with a deadline (never a fixed sleep).  Children die with the test
 * process (PR_SET_PDEATHSIG), so a failed assertion leaves none behind. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#define CLUSTER_MAX 5

/* Budgets that hold on a heavily loaded machine (several builds at once,
 * sanitizers): a wait fails only after this long, which a passing test
 * never comes near, and a request gives up after CLUSTER_REQUEST_TIMEOUT_S. */
#define CLUSTER_BUDGET_MS 60000
#define CLUSTER_REQUEST_TIMEOUT_S 30

typedef struct {
  guint n;                              /* nodes 1..n: the config's, then those that joined */
  guint n_bootstrap;                    /* the config's nodes */
  char *dir;
  char *config_path;
  guint16 peer_port[CLUSTER_MAX + 1];
  guint16 client_port[CLUSTER_MAX + 1];
  guint16 native_port[CLUSTER_MAX + 1]; /* the native protocol (docs/CLIENT.md) */
  GSubprocess *proc[CLUSTER_MAX + 1];   /* NULL while down */
  SoupSession *session;
  char *config_extra;                   /* top-level config members, or NULL */
  char *node_config[CLUSTER_MAX + 1];   /* a node's own config file, or NULL: config_path */
  guint16 peer_listen[CLUSTER_MAX + 1]; /* nonzero: listens for peers on this port, while its
                                         * peers dial the config's address (a proxy) */
  char *token;                          /* sent as a bearer token, or NULL */
  const char *scheme;                   /* "http" or "https" */
  char **node_args;                     /* more dsm-node arguments for every start, or NULL */
  int port_claims[3 * CLUSTER_MAX];     /* this process's claims on its ports (cluster_pick_ports()) */
} Cluster;

/* Starts @n nodes and waits until every node knows the same leader. */
Cluster *cluster_new (guint n);
/* The same, with @config_extra (e.g. "\"snapshot_threshold_entries\": 500")
 * added to the top level of the config every node reads. */
Cluster *cluster_new_with_config (guint n, const char *config_extra);

/* The directory, ports and config, no node started: the test may write
 * files the config names (relative names resolve in c->dir), then
 * cluster_start_all(). */
Cluster *cluster_prepare (guint n, const char *config_extra);
/* Adds @args (NULL-terminated, copied) to every later dsm-node start. */
void cluster_set_node_args (Cluster *c, const char *const *args);
/* Starts every node and waits until they agree on a leader. */
void cluster_start_all (Cluster *c);

/* Requests carry "Authorization: Bearer @token" from now on (NULL: none). */
void cluster_set_token (Cluster *c, const char *token);
/* Requests go over https, trusting the CA in @ca_file. */
void cluster_use_tls (Cluster *c, const char *ca_file);

/* Writes @contents to c->dir/@name with @mode; returns the path (transfer full). */
char *cluster_write_file (Cluster *c, const char *name, const char *contents, int mode);

void cluster_free (Cluster *c);
/* For a cluster shared by several tests, freed after g_test_run(): its
 * logs are kept when @status says a test failed. */
void cluster_free_after_run (Cluster *c, int status);

/* Returns: (transfer full): node @id's data directory. */
char *cluster_data_dir (Cluster *c, guint id);

void cluster_start_node (Cluster *c, guint id);
/* Starts a new node with `--join` @member's URL, at the ports of slot
 * c->n + 1, which it takes (c->n grows), and waits until it serves; it
 * must have been given that id (ids are handed out in order, and one
 * joiner at a time).  Returns the slot. */
guint cluster_start_joiner (Cluster *c, guint member);
void cluster_kill_node (Cluster *c, guint id);           /* SIGKILL, reaped */
void cluster_signal_node (Cluster *c, guint id, int sig);
/* Whether node @id's process is up (started and not exited on its own). */
gboolean cluster_node_running (Cluster *c, guint id);

/* Waits until every live node reports the same leader; returns its id. */
guint cluster_wait_leader (Cluster *c, guint budget_ms);

/* Any live node other than @not. */
guint cluster_other_node (Cluster *c, guint not_a, guint not_b);

char *cluster_url (Cluster *c, guint id, const char *path);
/* Node @id's native port as "127.0.0.1:PORT" (docs/CLIENT.md). */
char *cluster_native_address (Cluster *c, guint id);
char *cluster_endpoints (Cluster *c);

/* One HTTP request to node @id; returns the status (0: no answer) and,
 * when the body is JSON, its root in @root. */
guint cluster_http (Cluster *c, guint id, const char *method, const char *path, const char *body,
                    JsonNode **root);
/* The raw body as text (for /metrics). */
char *cluster_http_text (Cluster *c, guint id, const char *path, guint *status);

const char *json_get_string (JsonNode *root, const char *key);
gint64 json_get_int (JsonNode *root, const char *key);

/* Polls GET /v1/machines/NAME?stale=1 on every live node until all say @state. */
gboolean cluster_wait_state_everywhere (Cluster *c, const char *machine, const char *state, guint budget_ms);

/* POSTs {"to": STATE, client_id, seq} to node @id until a 200 or 409 (or
 * the budget ends); returns the final status. */
guint cluster_propose (Cluster *c, guint id, const char *machine, const char *state,
                       const char *client_id, guint64 seq, guint budget_ms, JsonNode **root);

/* From node @id's next start on, it reads a copy of the cluster's config
 * (or of its own copy, when it has one already) with every @search
 * replaced by @replace (a wrong secret, another certificate...); @search
 * NULL goes back to the shared config. */
void cluster_set_node_config (Cluster *c, guint id, const char *search, const char *replace);

/* Returns: (transfer full): the bootstrap fingerprint of the shared
 * config (dsm_fingerprint_compute), for hand-made handshakes. */
char *cluster_fingerprint (Cluster *c);

/* One sample of node @id's /metrics ("name{labels}"); -1 when absent. */
double cluster_metric (Cluster *c, guint id, const char *key);
/* GET /v1/cluster on node @id: the integer @key, or -1. */
gint64 cluster_view_int (Cluster *c, guint id, const char *key);
/* Prints every node's view (role, leader, indexes) for a failed wait's message. */
void cluster_print_views (Cluster *c);
/* Waits until node @id has applied what the leader had committed when the
 * wait began; fails the test past @budget_ms. */
void cluster_wait_caught_up (Cluster *c, guint id, guint budget_ms);
/* Fails the test if a started node has exited on its own. */
void cluster_assert_running (Cluster *c);

/* Runs dsmctl against the cluster's endpoints with a 30 s --timeout (a
 * loaded machine may take a while to elect) and the arguments that
 * follow (NULL-terminated); returns its exit status. */
int cluster_dsmctl (Cluster *c, char **out, char **err, ...) G_GNUC_NULL_TERMINATED;

/* Runs a tool (dsmctl) and returns its exit status; output in @out/@err. */
int cluster_run_tool (const char *const *argv, char **out, char **err);
/* The same for a tool that speaks TLS: in the sanitizer build its
 * exit-time leak check is off (Debian 12's LeakSanitizer crashes scanning
 * the dynamic TLS blocks of the dlopen'd TLS backend, glib-networking and
 * GnuTLS, and without scanning them reports GLib's per-thread caches as
 * leaks).  Every run without TLS is still leak-checked. */
int cluster_run_tool_tls (const char *const *argv, char **out, char **err);
/* dsmctl ($DSMCTL) with the arguments that follow (NULL-terminated),
 * through cluster_run_tool_tls() when it speaks @tls, else
 * cluster_run_tool(). */
int cluster_dsmctl_run (gboolean tls, char **out, char **err, const char *first, ...) G_GNUC_NULL_TERMINATED;

/* Prometheus text -> "name{labels}" -> value; FALSE with @error naming the line. */
GHashTable *prometheus_parse (const char *text, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Cluster, cluster_free)
