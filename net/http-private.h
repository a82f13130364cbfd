/* net/http-private.h: the HTTP API's state and helpers, shared by http.c
 * (server, routing, cluster/metrics/health endpoints) and
 * http-machines.c (the machine endpoints).  Not for other users. */
#pragma once

#include <libsoup/soup.h>

#include "histogram.h"
#include "host.h"
#include "http.h"

G_BEGIN_DECLS

typedef enum {
  ROUTE_HEALTHZ,
  ROUTE_METRICS,
  ROUTE_CLUSTER,
  ROUTE_MACHINES_LIST,
  ROUTE_MACHINE_GET,
  ROUTE_MACHINE_POST,
  ROUTE_OTHER,
  ROUTE_N,
} Route;

struct _DsmHttpApi {
  DsmHost *host;
  SoupServer *server;
  GQueue in_flight;                 /* HttpCall, paused on the core */
  gboolean shutting_down;
  GHashTable *responses;            /* "route\x1fcode" -> guint64 count */
  DsmNetHistogram latency[ROUTE_N];
};

/* A request waiting for the core's answer. */
typedef struct {
  DsmHttpApi *api;
  SoupServerMessage *msg;           /* referenced */
  Route route;
  gint64 start_us;
  guint64 request_id;               /* 0 until submitted */
  gboolean answered;
  gulong finished_handler;
  GList link;                       /* in api->in_flight */
} HttpCall;

/* Sets status and a JSON body (taken), counts the response. */
void http_respond (DsmHttpApi *api, SoupServerMessage *msg, Route route, gint64 start_us,
                   guint status, GString *json);

/* {"error": MESSAGE, "reason": REASON} with @status. */
void http_respond_error (DsmHttpApi *api, SoupServerMessage *msg, Route route, gint64 start_us,
                         guint status, const char *reason, const char *format, ...) G_GNUC_PRINTF (7, 8);

/* Pauses @msg until http_call_answer(). */
HttpCall *http_call_new (DsmHttpApi *api, SoupServerMessage *msg, Route route, gint64 start_us);
void http_call_answer (HttpCall *call, guint status, GString *json);

/* JSON writing: `"key":` with a leading comma unless first in its object. */
void json_key (GString *out, const char *key);
void json_string (GString *out, const char *key, const char *value);  /* NULL: null */
void json_uint (GString *out, const char *key, guint64 value);

/* http-machines.c */
void http_machine_post (DsmHttpApi *api, SoupServerMessage *msg, const char *name, gint64 start_us);
void http_machine_get (DsmHttpApi *api, SoupServerMessage *msg, const char *name, GHashTable *query,
                       gint64 start_us);
void http_machines_list (DsmHttpApi *api, SoupServerMessage *msg, GHashTable *query, gint64 start_us);

G_END_DECLS
