/* net/http.h: the HTTP/JSON client API of a node (libsoup 3), on the
 * node's client_address.  docs/OPERATIONS.md, "HTTP API", lists every
 * endpoint with curl examples:
 *
 *   POST /v1/machines/{name}   {"to": S, "from"?, "definition"?, "client_id"?, "seq"?}
 *   GET  /v1/machines/{name}   linearizable; ?stale=1 reads this node's state
 *   GET  /v1/machines          this node's applied view of every instance
 *   GET  /v1/cluster           ids, role, leader, epoch, indexes, peers
 *   GET  /metrics              Prometheus text
 *   GET  /healthz
 *
 * Commands and linearizable reads are submitted to the core, which
 * forwards them to the leader when this node is a follower; the HTTP
 * request is paused until the core's reply comes back (at the latest
 * after consensus_timeout_ms). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _DsmHost DsmHost;
typedef struct _DsmHttpApi DsmHttpApi;

/* Largest request body accepted (a command is a few hundred bytes). */
#define DSM_HTTP_BODY_BYTES_MAX (64 * 1024)

/* GET /v1/machines answers in pages: the work of one request on the event
 * loop stays bounded however many machines exist (a listing of 200,000 in
 * one answer held the loop past the election timeout). */
#define DSM_HTTP_LIST_LIMIT_DEFAULT 1000
#define DSM_HTTP_LIST_LIMIT_MAX 10000

/* Returns: (transfer full): an API serving @host (borrowed: it outlives the API). */
DsmHttpApi *dsm_http_api_new (DsmHost *host);

/* Listens on @address ("host:port"); FALSE with @error when it cannot. */
gboolean dsm_http_api_listen (DsmHttpApi *api, const char *address, GError **error);

/* Answers every paused request 503 ("node shutting down") and refuses new ones. */
void dsm_http_api_shutdown (DsmHttpApi *api);

/* Closes the listening sockets and client connections. */
void dsm_http_api_disconnect (DsmHttpApi *api);

void dsm_http_api_free (DsmHttpApi *api);

/* Appends the API's own metrics (dsm_http_*). */
void dsm_http_api_render_metrics (DsmHttpApi *api, GString *out);

G_END_DECLS
