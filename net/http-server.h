/* net/http-server.h: a strict HTTP/1.1 server on worker threads, each with
 * its own GMainContext and epoll set: connections, keep-alive, pipelining
 * answered in order, TLS, and every limit (sizes, timeouts, connection
 * caps) enforced before the bytes it guards are buffered.  It knows no
 * endpoint: a handler routes each request and answers it from any thread.
 * docs/OPERATIONS.md, "HTTP front end".
 *
 *   worker thread: accept -> [TLS handshake] -> parse head -> head_func
 *                  -> read body -> request_func -> ... dsm_http_request_respond()
 *   any thread:    dsm_http_request_respond() -> the worker writes the answer,
 *                  in request order, batching the answers of one wake-up. */
#pragma once

#include <gio/gio.h>

#include "http-parser.h"

G_BEGIN_DECLS

typedef struct _DsmHttpServer DsmHttpServer;
typedef struct _DsmHttpRequest DsmHttpRequest;
typedef struct _DsmHttpStream DsmHttpStream;

typedef struct {
  guint workers;                    /* threads serving connections (>= 1) */
  DsmHttpParserLimits limits;       /* request line, headers, body */
  guint header_timeout_ms;          /* a request head (and a TLS handshake) must arrive within this */
  guint body_timeout_ms;            /* a body must arrive within this after its head */
  guint idle_timeout_ms;            /* a kept-alive connection may wait this long for its next request */
  guint write_timeout_ms;           /* an answer must be taken by the client within this */
  guint max_connections;            /* open connections, all addresses */
  guint max_connections_per_address;
  guint max_pipelined_requests;     /* requests of one connection awaiting their answer */
  GTlsCertificate *tls_certificate; /* nullable: plain HTTP; else HTTPS only */
  GTlsDatabase *tls_client_ca;      /* nullable: client certificates are not asked for */
  gboolean tls_client_cert_required;
  guint node;                       /* for log records */
} DsmHttpServerOptions;

/* The documented defaults (docs/CONFIG.md, "HTTP"); no TLS. */
void dsm_http_server_options_init (DsmHttpServerOptions *options);

/* Called on the worker thread when a request's head is complete, before
 * any byte of its body is read.  Return FALSE after answering the request
 * (a refusal): its body is then never read, and the connection closes after
 * the answer when one was announced. */
typedef gboolean (*DsmHttpHeadFunc) (DsmHttpRequest *request, gpointer user_data);

/* Called on the worker thread when the request is complete (body read).
 * The handler must answer it exactly once, from any thread, at any later
 * time: dsm_http_request_respond(). */
typedef void (*DsmHttpRequestFunc) (DsmHttpRequest *request, gpointer user_data);

/**
 * dsm_http_server_new:
 * @options: copied (the certificate and database are referenced)
 * Returns: (transfer full): a server that listens nowhere yet.
 */
DsmHttpServer *dsm_http_server_new (const DsmHttpServerOptions *options, DsmHttpHeadFunc head_func,
                                    DsmHttpRequestFunc request_func, gpointer user_data);

/* Binds and listens on @address ("host:port"); FALSE with @error. */
gboolean dsm_http_server_listen (DsmHttpServer *server, const char *address, GError **error);

/* The port bound (useful after listening on port 0). */
guint16 dsm_http_server_get_port (DsmHttpServer *server);

/* Starts the worker threads: connections are accepted from now on. */
void dsm_http_server_start (DsmHttpServer *server);

/* Stops accepting (the listening socket closes); open connections go on. */
void dsm_http_server_stop_accepting (DsmHttpServer *server);

/* Stops the workers and closes every connection.  Requests not answered
 * yet are dropped: their handlers must not answer them afterwards. */
void dsm_http_server_free (DsmHttpServer *server);

/* Appends the server's metrics (dsm_http_connections_*, dsm_http_timeouts_total...)
 * in Prometheus text, each sample labelled with @labels ('node="1"'). */
void dsm_http_server_render_metrics (DsmHttpServer *server, GString *out, const char *labels);

/* Requests answered with @status so far (every route, every worker). */
guint64 dsm_http_server_get_answered (DsmHttpServer *server, guint status);

/* ---- requests (valid from the head callback until answered) ---- */

const DsmHttpMessage *dsm_http_request_get_message (DsmHttpRequest *request);
const char *dsm_http_request_get_method (DsmHttpRequest *request);
/* The raw request-target ("/v1/machines/a%2Fb?stale=1"). */
const char *dsm_http_request_get_target (DsmHttpRequest *request);
/* The lower-case header @name, NULL when absent. */
const char *dsm_http_request_get_header (DsmHttpRequest *request, const char *name);
/* The body (complete from request_func on; empty before). */
const guint8 *dsm_http_request_get_body (DsmHttpRequest *request, gsize *length);
/* The client's address ("127.0.0.1"), without its port. */
const char *dsm_http_request_get_peer_host (DsmHttpRequest *request);
/* The certificate the client presented and the CA verified; NULL without one. */
GTlsCertificate *dsm_http_request_get_peer_certificate (DsmHttpRequest *request);

/* One pointer the handler may keep with the request, freed with it. */
void dsm_http_request_set_data (DsmHttpRequest *request, gpointer data, GDestroyNotify destroy);
gpointer dsm_http_request_get_data (DsmHttpRequest *request);

/* Adds a response header (not Content-Length, Content-Type, Connection or
 * Date, which the server writes).  Before dsm_http_request_respond(), from
 * the thread answering. */
void dsm_http_request_add_header (DsmHttpRequest *request, const char *name, const char *value);

/* The connection closes after this answer. */
void dsm_http_request_close_after (DsmHttpRequest *request);

/**
 * dsm_http_request_respond:
 * @body: (transfer full): the body; the server frees it
 *
 * Answers @request, from any thread, exactly once; @request must not be
 * used afterwards.  Answers from other threads reach the worker in batches
 * (one wake-up for all the answers queued meanwhile).  An answer to a
 * request whose client went away is dropped.
 */
void dsm_http_request_respond (DsmHttpRequest *request, guint status, const char *content_type, GString *body);

/* ---- streamed answers ---- */

/**
 * dsm_http_stream_new:
 * @bytes_max: bytes written and not yet taken by the connection, past
 *   which dsm_http_stream_write() refuses more
 * @keepalive_ms: a stream with nothing to write this long gets the
 *   comment line ": keepalive" (Server-Sent Events ignore it)
 *
 * A streamed answer for @request, not sent yet: what is written before
 * dsm_http_request_respond_stream() waits for it (and counts against
 * @bytes_max), so a first batch is bounded whatever the connection does.
 *
 * Returns: (transfer full): the producer's handle, to write to and end.
 */
DsmHttpStream *dsm_http_stream_new (DsmHttpRequest *request, gsize bytes_max, guint keepalive_ms);

/**
 * dsm_http_request_respond_stream:
 * Answers @request (like dsm_http_request_respond(), exactly once, from
 * any thread) with a head that has no Content-Length: its body is what the
 * producer of @stream (from dsm_http_stream_new() for this request) writes,
 * until it ends the stream; the connection closes after it (no request
 * after this one is read).
 */
void dsm_http_request_respond_stream (DsmHttpRequest *request, DsmHttpStream *stream, guint status,
                                      const char *content_type);

typedef enum {
  DSM_HTTP_STREAM_OK,
  DSM_HTTP_STREAM_FULL,    /* bytes_max would be passed: nothing was written */
  DSM_HTTP_STREAM_GONE,    /* the client went away (or the server stopped) */
} DsmHttpStreamResult;

/* From any thread, never blocking on the client: appends @data whole, or
 * nothing. */
DsmHttpStreamResult dsm_http_stream_write (DsmHttpStream *stream, const char *data, gsize length);

/* From any thread: whether the client went away (writes would say GONE). */
gboolean dsm_http_stream_is_gone (DsmHttpStream *stream);

/* From any thread: appends @last (nullable; written even past bytes_max:
 * keep it short), ends the stream (the connection closes once it is
 * written) and drops the producer's handle. */
void dsm_http_stream_end (DsmHttpStream *stream, const char *last);

/* ---- detached requests: the handlers without sockets (tests, fuzzing) ---- */

/**
 * dsm_http_request_new_detached:
 * @msg: (transfer full): a complete request, as dsm_http_parser_take() gives
 * @peer_host: the client address it is taken to come from
 *
 * A request no connection read, to hand to a server's handlers directly.
 * Answering it (dsm_http_request_respond(), which drops the handler's
 * reference as usual) keeps the answer with it, for
 * dsm_http_request_get_status().
 *
 * Returns: (transfer full): the request, with one reference (the caller's).
 */
DsmHttpRequest *dsm_http_request_new_detached (DsmHttpMessage *msg, const char *peer_host);
DsmHttpRequest *dsm_http_request_ref (DsmHttpRequest *request);
void dsm_http_request_unref (DsmHttpRequest *request);

/* The status @request was answered with; 0 while it is not answered. */
guint dsm_http_request_get_status (DsmHttpRequest *request);
/* The body it was answered with (borrowed); NULL while not answered. */
const char *dsm_http_request_get_answer_body (DsmHttpRequest *request);

/* The reason phrase of @status ("Not Found"). */
const char *dsm_http_status_phrase (guint status);

G_END_DECLS
