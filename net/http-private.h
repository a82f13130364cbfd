/* net/http-private.h: the HTTP API's state and its calls, shared by
 * http.c (the API object, the hand-off, metrics), http-route.c (worker
 * side: routing, credentials, strict query and body), http-views.c and
 * http-machines.c (loop side: what each endpoint answers).  Not for other
 * users. */
#pragma once

#include "entry.h"
#include "histogram.h"
#include "host.h"
#include "http-auth.h"
#include "http-rate.h"
#include "http-server.h"
#include "http.h"
#include "loop-queue.h"
#include "metrics.h"
#include "watch.h"

G_BEGIN_DECLS

typedef enum {
  ROUTE_HEALTHZ,
  ROUTE_METRICS,
  ROUTE_CLUSTER,
  ROUTE_MACHINES_LIST,
  ROUTE_MACHINE_GET,
  ROUTE_MACHINE_POST,
  ROUTE_MEMBERS,
  ROUTE_MEMBERS_POST,
  ROUTE_TRANSFER,
  ROUTE_DEFINITION_PUT,
  ROUTE_SNAPSHOT,
  ROUTE_WATCH,
  ROUTE_OTHER,
  ROUTE_N,
} Route;

/* What the consensus loop is asked to do, decided on the worker. */
typedef enum {
  OP_NONE,                      /* answered on the worker */
  OP_HEALTHZ,
  OP_METRICS,
  OP_CLUSTER,
  OP_LIST,
  OP_STALE_READ,
  OP_SUBMIT,                    /* a transition or a linearizable read, through the core */
  OP_ADMIN_SUBMIT,              /* a membership change or a define, through the core */
  OP_MEMBERS,
  OP_TRANSFER,
  OP_SNAPSHOT,
  OP_WATCH,                     /* a watch stream, served from this node's applied state */
} Op;

typedef enum {
  AUTH_FAIL_MISSING,            /* 401: no credentials */
  AUTH_FAIL_INVALID,            /* 401: a token that matches none, or a malformed Authorization */
  AUTH_FAIL_FORBIDDEN,          /* 403: a role too low */
  AUTH_FAIL_N,
} AuthFailure;

#define HTTP_STATUS_SLOTS 600

/* Why the node ended a watch stream (http-watch.c). */
typedef enum {
  WATCH_CLOSE_SLOW,             /* its buffer was full: cut off */
  WATCH_CLOSE_GONE,             /* the client went away */
  WATCH_CLOSE_STOPPING,
  WATCH_CLOSE_RESYNC_TOO_LARGE, /* the compacted answer did not fit its buffer */
  WATCH_CLOSE_N,
} WatchClose;

typedef enum {
  WATCH_REFUSE_NODE_CAP,
  WATCH_REFUSE_CLIENT_CAP,
  WATCH_REFUSE_N,
} WatchRefuse;

typedef struct _HttpWatcher HttpWatcher;

struct _DsmHttpApi {
  DsmHost *host;                /* loop thread only */
  DsmConfig *config;            /* immutable: workers read it too */
  DsmNodeId node;
  DsmHttpServer *server;
  DsmLoopQueue *queue;          /* calls handed to the loop */
  DsmHttpAuth *auth;            /* NULL: no credentials asked (insecure_open or loopback) */
  DsmHttpRate *rate;
  gboolean tls;
  gint stopping;                /* atomic */
  GQueue in_flight;             /* HttpCall waiting on the core (loop thread only) */
  GString *metrics_text;        /* the last /metrics rendering (loop thread only) */
  gint64 metrics_iteration;     /* the loop iteration it was rendered in (g_source_get_time) */

  /* Counted by whichever thread answers, with relaxed atomics. */
  guint64 (*answers)[HTTP_STATUS_SLOTS];   /* [ROUTE_N][status] */
  DsmNetHistogram latency[ROUTE_N];
  guint64 auth_failures[AUTH_FAIL_N];
  guint64 rate_limited;
  guint64 overloaded;           /* the loop's queue was full */

  /* Watches (http-watch.c), loop thread only. */
  GQueue watchers;              /* HttpWatcher */
  GHashTable *watchers_by_who;  /* who -> guint* count */
  guint64 watch_opened;
  guint64 watch_closed[WATCH_CLOSE_N];
  guint64 watch_refused[WATCH_REFUSE_N];
  guint64 watch_events;
  guint64 watch_replayed;
  guint64 watch_compacted;
};

/* One request on its way: made on the worker when the head arrives,
 * handed to the loop, answered from either; it lives as long as its
 * DsmHttpRequest (their data) and must not be touched once answered. */
typedef struct {
  DsmHttpApi *api;
  DsmHttpRequest *request;
  Route route;
  Op op;
  gint64 start_us;
  char *who;                    /* "token NAME", "certificate CN", "address A": logs and rate limits */
  DsmCommand cmd;               /* OP_SUBMIT, OP_STALE_READ: machine, definition... (owned) */
  guint64 cursor;               /* OP_LIST */
  guint64 limit;
  guint64 request_id;           /* OP_SUBMIT on the loop: the host's id */
  DsmNodeId target;             /* OP_TRANSFER: 0 for the most up-to-date voter */
  char *prefix;                 /* OP_WATCH without a machine: the names watched ("" all) */
  guint64 from_revision;        /* OP_WATCH: changes after it */
  gboolean from_given;          /* OP_WATCH: else from now */
  GList link;                   /* in api->in_flight while the core has it */
} HttpCall;

/* ---- answering (any thread; the loop thread for calls in flight) ---- */

/* Answers with a JSON body (taken; a newline is added), counting it. */
void http_answer (HttpCall *call, guint status, GString *json);
/* {"error": MESSAGE, "reason": REASON}. */
void http_answer_error (HttpCall *call, guint status, const char *reason, const char *format, ...)
  G_GNUC_PRINTF (4, 5);
/* Any content type (the metrics' text). */
void http_answer_raw (HttpCall *call, guint status, const char *content_type, GString *body);

/* JSON writing: `"key":` with a leading comma unless first in its object. */
void json_key (GString *out, const char *key);
void json_string (GString *out, const char *key, const char *value);  /* NULL: null */
void json_uint (GString *out, const char *key, guint64 value);

/* ---- http-route.c (worker threads) ---- */
gboolean http_route_on_head (DsmHttpRequest *request, gpointer user_data);
void http_route_on_request (DsmHttpRequest *request, gpointer user_data);
void http_call_free (gpointer call);

/* ---- http-views.c, http-machines.c (the loop thread) ---- */
void http_view_healthz (HttpCall *call);
void http_view_metrics (HttpCall *call);
void http_view_cluster (HttpCall *call);
void http_machines_list (HttpCall *call);
void http_machine_stale_read (HttpCall *call);
void http_machine_submit (HttpCall *call);
/* Hands call->cmd to the core; @on_reply answers the call (in flight till then). */
void http_submit (HttpCall *call, DsmHostReplyFunc on_reply);
/* The core's verdict on a command as an HTTP status (and Retry-After). */
guint http_reply_status (HttpCall *call, const DsmClientReply *reply);

/* ---- http-watch.c (the loop thread) ---- */
void http_watch_start (HttpCall *call);
/* Ends every watch (the node stops): each gets a cutoff event. */
void http_watch_end_all (DsmHttpApi *api);
void http_watch_render_metrics (DsmHttpApi *api, GString *out, const char *labels);
/* The Server-Sent Event of @change (also the simulator's wording). */
void http_watch_format_change (GString *out, const DsmChange *change);

/* ---- http-admin.c (the loop thread) ---- */
void http_admin_members (HttpCall *call);
void http_admin_submit (HttpCall *call);
void http_admin_transfer (HttpCall *call);
void http_admin_snapshot (HttpCall *call);

G_END_DECLS
