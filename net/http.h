/* net/http.h: the HTTP/JSON client API of a node, on its client_address:
 * a strict HTTP/1.1 front end on worker threads (http-server.h) with TLS,
 * bearer tokens and roles, limits and timeouts, handing commands to the
 * consensus loop in batches.  docs/OPERATIONS.md, "HTTP API", lists every
 * endpoint and status:
 *
 *   POST /v1/machines/{name}   {"to": S, "from"?, "definition"?, "client_id"?, "seq"?}   role write
 *   GET  /v1/machines/{name}   linearizable; ?stale=1 reads this node's state             role read
 *   GET  /v1/machines          this node's applied view, a page at a time                role read
 *   GET  /v1/cluster           ids, role, leader, epoch, indexes, peers                   role read
 *   GET  /metrics              Prometheus text                                            role read
 *   GET  /healthz              open
 *   GET  /v1/machines/{name}?watch=1&from_revision=R, GET /v1/machines?watch=1&prefix=P:
 *        Server-Sent Events of every committed change, from this node's applied state     role read
 *
 * Commands and linearizable reads are submitted to the core, which
 * forwards them to the leader when this node is a follower; the request
 * waits for the core's reply (at the latest consensus_timeout_ms).  The
 * consensus loop never reads or writes a client socket. */
#pragma once

#include <glib.h>

#include "config.h"
#include "entry.h"
#include "http-parser.h"
#include "watch.h"

G_BEGIN_DECLS

typedef struct _DsmHost DsmHost;
typedef struct _DsmHttpApi DsmHttpApi;

/* GET /v1/machines answers in pages: the work of one request on the event
 * loop stays bounded however many machines exist (a listing of 200,000 in
 * one answer held the loop past the election timeout). */
#define DSM_HTTP_LIST_LIMIT_DEFAULT 1000
#define DSM_HTTP_LIST_LIMIT_MAX 10000

/* Requests the consensus loop runs per iteration before it serves its
 * timers and peers again. */
#define DSM_HTTP_LOOP_BATCH_MAX 256

/**
 * dsm_http_api_new:
 * @host: borrowed: it outlives the API
 * @base_dir: where relative file names of the config's "http" section
 *   resolve (the config file's directory)
 *
 * Reads the token file, the TLS certificate and key ("{id}" in their names
 * becomes the node id) and the client CA named by the config.
 *
 * Returns: (transfer full): the API, or NULL with @error naming the file.
 */
DsmHttpApi *dsm_http_api_new (DsmHost *host, const char *base_dir, GError **error);

/* Listens on @address ("host:port").  Without credentials configured it
 * refuses an address that is not loopback unless http.insecure_open is
 * set (docs/OPERATIONS.md, "Authentication"). */
gboolean dsm_http_api_listen (DsmHttpApi *api, const char *address, GError **error);

/* The port bound (after listening on port 0). */
guint16 dsm_http_api_get_port (DsmHttpApi *api);

/* Starts the worker threads. */
void dsm_http_api_start (DsmHttpApi *api);

/* Answers every waiting request 503 ("node shutting down") and every new one. */
void dsm_http_api_shutdown (DsmHttpApi *api);

/* Stops the workers and closes every client connection (after shutdown). */
void dsm_http_api_disconnect (DsmHttpApi *api);

void dsm_http_api_free (DsmHttpApi *api);

/**
 * dsm_http_api_reload_tokens:
 * Reads http.token_file again and, if it is whole and valid, serves its
 * tokens from the next request on; otherwise keeps the ones in use.  Any
 * thread.  Returns: TRUE when there is no token file or it was taken;
 * FALSE with @error (as the first load words it) when refused.
 */
gboolean dsm_http_api_reload_tokens (DsmHttpApi *api, GError **error);

/* A committed change this node applied: to the watches it matches.  On
 * the loop's thread, in apply order (docs/API.md, "Watching machines"). */
void dsm_http_api_publish (DsmHttpApi *api, const DsmChange *change);

/* After a drain's changes and the feed's sync: a watch the feed's floor
 * passed (a snapshot installed past it) gets a "compacted" resync. */
void dsm_http_api_resync_behind (DsmHttpApi *api);

/* Appends the API's own metrics (dsm_http_*).  On the loop's thread. */
void dsm_http_api_render_metrics (DsmHttpApi *api, GString *out);

/* ---- the worker side alone: no sockets, no loop (tests, fuzzing) ---- */

/**
 * dsm_http_api_new_detached:
 * @config: (transfer none): referenced
 *
 * The API as its workers see it (routing, credentials, rate limit, strict
 * query and body) for @config's node @node, with neither server nor
 * consensus loop: dsm_http_api_route() drives it.
 *
 * Returns: (transfer full): the API, or NULL with @error naming the file.
 */
DsmHttpApi *dsm_http_api_new_detached (DsmConfig *config, DsmNodeId node, const char *base_dir,
                                       GError **error);

/* What the worker side made of one request. */
typedef struct {
  guint status;            /* the worker answered it (a refusal): the status; 0: handed to the loop */
  char *body;              /* the worker's answer (owned), when it answered */
  const char *op;          /* handed to the loop: "healthz", "metrics", "cluster", "list",
                            * "stale_read", "submit", "admin_submit", "members", "transfer"
                            * "snapshot" or "watch" (static) */
  DsmCommand cmd;          /* "stale_read", "submit", "admin_submit": the command for the
                            * core (owned) */
  char *watch_machine;     /* "watch": the machine watched (owned), or NULL for a prefix */
  char *watch_prefix;      /* "watch": the prefix watched (owned), or NULL for a machine */
  guint64 from_revision;   /* "watch", when from_given */
  gboolean from_given;
} DsmHttpRouted;

/**
 * dsm_http_api_route:
 * @msg: (transfer full): a complete request (dsm_http_parser_take())
 * @peer_host: the client's address
 *
 * Runs @msg through exactly what a worker does before the consensus loop
 * (http-route.c) and says where it ended (@out, cleared by
 * dsm_http_routed_clear()).
 */
void dsm_http_api_route (DsmHttpApi *api, DsmHttpMessage *msg, const char *peer_host, DsmHttpRouted *out);
void dsm_http_routed_clear (DsmHttpRouted *routed);

G_END_DECLS
