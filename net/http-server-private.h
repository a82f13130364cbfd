/* net/http-server-private.h: the server's workers, connections and
 * requests, shared by http-server.c (workers, accepting, answers, metrics)
 * and http-conn.c (one connection: TLS, reading, parsing, writing,
 * deadlines).  Not for other users. */
#pragma once

#include "accept.h"
#include "http-server.h"
#include "wake.h"

G_BEGIN_DECLS

typedef struct _Worker Worker;
typedef struct _Conn Conn;

#define STATUS_SLOTS 600

typedef enum {
  TIMEOUT_HEADER,               /* head (or TLS handshake) not complete in time */
  TIMEOUT_BODY,
  TIMEOUT_IDLE,
  TIMEOUT_WRITE,
  TIMEOUT_N,
} TimeoutKind;

/* By DsmAdmit (accept.h). */
typedef enum {
  REFUSE_NODE_CAP = DSM_ADMIT_NODE_CAP,         /* max_connections reached */
  REFUSE_ADDRESS_CAP = DSM_ADMIT_ADDRESS_CAP,   /* max_connections_per_address reached */
  REFUSE_STOPPING = DSM_ADMIT_STOPPING,
  REFUSE_N,
} RefuseKind;

/* Counters written by one worker with relaxed atomics, summed by whoever
 * renders the metrics (another thread). */
typedef struct {
  guint64 accepted;
  guint64 refused[REFUSE_N];
  guint64 closed;
  guint64 timeouts[TIMEOUT_N];
  guint64 parse_errors[DSM_HTTP_PARSE_ERROR_N_CODES];
  guint64 tls_handshake_failures;
  guint64 bytes_read;
  guint64 bytes_written;
  guint64 answered[STATUS_SLOTS];
  guint64 answers_dropped;      /* the client went away first */
  guint64 answer_batches;       /* wake-ups by other threads' answers */
  guint64 answers_from_threads;
  guint64 streams_open;         /* gauge: added and taken away */
  guint64 stream_keepalives;
} WorkerStats;

#define STAT_ADD(w, field, n) ((void) __atomic_fetch_add (&(w)->stats.field, (guint64) (n), __ATOMIC_RELAXED))

struct _DsmHttpServer {
  DsmHttpServerOptions options;
  DsmHttpHeadFunc head_func;
  DsmHttpRequestFunc request_func;
  gpointer user_data;

  int listen_fd;                /* -1 until listening, and after stop_accepting */
  guint16 port;
  Worker **workers;
  guint n_workers;
  gboolean started;
  gint accepting;               /* atomic */
  guint sweep_ms;               /* how often workers check deadlines */

  DsmConnCaps caps;
};

struct _Worker {
  DsmHttpServer *server;
  guint index;
  GThread *thread;
  GThread *self;                /* atomic: the worker's own thread, set when it starts */
  GMainContext *context;
  GMainLoop *loop;
  int epfd;
  GSource *epoll_source;
  GSource *sweep_source;
  GSource *answer_source;       /* dispatched when other threads queued answers */
  DsmWake answer_wake;          /* how they signal it (wake.h) */

  GMutex answers_lock;
  GPtrArray *answers;           /* DsmHttpRequest, answered by other threads */
  GPtrArray *answers_spare;     /* swapped in while a batch is written */
  GPtrArray *streams;           /* DsmHttpStream (referenced) with bytes written by other threads */
  GPtrArray *streams_spare;

  GQueue conns;                 /* Conn, every open one (for the deadline sweep) */
  GPtrArray *dirty;             /* Conn with answers to write at the end of this dispatch */
  GPtrArray *dead;              /* Conn closed in this dispatch, freed at its end */
  guint8 *scratch;              /* READ_BYTES: every read lands here first */
  char date[40];                /* "Date: ..." of the current second */
  gint64 date_second;
  WorkerStats stats;
};

/* A request, shared by its connection (while in its pipeline) and by its
 * handler (until answered); the last reference frees it. */
struct _DsmHttpRequest {
  gint ref_count;
  Worker *worker;               /* immutable; NULL: detached (no connection ever) */
  char *detached_host;          /* detached: the peer host it claims */
  Conn *conn;                   /* worker thread only; NULL once the connection is gone */
  DsmHttpMessage *msg;          /* the head, then the whole request; NULL for the server's own answers */
  gboolean msg_owned;           /* FALSE while the parser still fills it (until the request is complete) */
  gboolean keep_alive;          /* copied from the head */
  guint version_minor;
  gpointer data;
  GDestroyNotify data_destroy;
  gint64 received_us;           /* head complete */

  /* The answer, set by whoever responds, read by the worker after the hand-off. */
  gint answered;                /* atomic: respond() was called */
  gboolean ready;               /* the worker holds the answer (worker thread only) */
  guint status;
  char *content_type;
  GString *body;
  GString *extra_headers;       /* "Name: value\r\n"... */
  gboolean close_after;
  DsmHttpStream *stream;        /* nullable: a streamed answer (referenced) */
};

/* A streamed answer (http-stream.c): the producer writes from any thread,
 * the worker moves what it wrote to the connection once the connection
 * has written what it had; what waits in between is bounded. */
struct _DsmHttpStream {
  gint ref_count;
  Worker *worker;               /* immutable; NULL: detached */
  gsize bytes_max;              /* immutable */
  guint keepalive_ms;           /* immutable */
  GMutex lock;
  GString *pending;             /* lock: written, not yet taken by the worker */
  gboolean queued;              /* lock: in worker->streams */
  gboolean ended;               /* lock: the producer is done */
  gint gone;                    /* atomic: the connection is gone (or never was) */
  Conn *conn;                   /* worker thread only: set once the head is in the connection's output */
  gint64 written_us;            /* worker thread only: the last bytes handed to the connection */
};

/* http-stream.c */
void http_stream_unref (DsmHttpStream *stream);
/* The connection is gone (or the request never reached one). */
void http_stream_set_gone (DsmHttpStream *stream);
/* On the worker: streams with bytes written, handed in by other threads. */
void http_worker_take_streams (Worker *w);
/* On the worker: the head of @stream's answer is in @conn's output. */
void http_conn_attach_stream (Conn *conn, DsmHttpStream *stream);
/* On the worker, once @conn wrote all it had: the stream's next bytes
 * (TRUE), or FALSE when nothing waits; sets *@ended when the producer is
 * done and nothing is left. */
gboolean http_conn_pull_stream (Conn *conn, gboolean *ended);
/* On closing @conn: its stream is gone for the producer. */
void http_conn_detach_stream (Conn *conn);
/* The sweep: a quiet stream gets a keepalive comment. */
void http_conn_check_stream (Conn *conn, gint64 now_us);

/* http-request.c */
DsmHttpRequest *http_request_new (Conn *conn, DsmHttpMessage *msg);
DsmHttpRequest *http_request_ref (DsmHttpRequest *request);
void http_request_unref (DsmHttpRequest *request);
/* On @w's thread: the answer of @request goes to its connection, if it is
 * still there; takes the handler's reference. */
void http_worker_deliver (Worker *w, DsmHttpRequest *request);

/* http-server.c */
const char *http_worker_date (Worker *w);
/* The end of every worker dispatch (and of a handshake callback): writes
 * what was answered, frees what was closed. */
void http_worker_end_dispatch (Worker *w);
void http_server_release_address (DsmHttpServer *server, const char *host);

/* One client connection, on one worker's thread only. */
struct _Conn {
  Worker *w;
  int fd;
  char *host;
  GList link;                   /* in w->conns */
  guint32 events;               /* what epoll watches for us; 0 before registration */
  gboolean registered;

  GSocketConnection *socket_conn;  /* TLS only: owns the socket (and fd) */
  GTlsConnection *tls;
  GPollableInputStream *tls_in;
  GPollableOutputStream *tls_out;
  GCancellable *cancel;
  gboolean awaiting_hello;      /* TLS port: waiting for a whole ClientHello before the handshake */
  gboolean handshaking;
  GTlsCertificate *peer_cert;

  DsmHttpParser *parser;
  GQueue pipeline;              /* DsmHttpRequest (the connection's references), oldest first */
  DsmHttpRequest *current;      /* head reported, request not complete yet (also in pipeline) */
  guint8 *held;                 /* bytes read but not parsed: the pipeline was full */
  gsize held_len;
  DsmHttpStream *stream;        /* nullable: the streamed answer this connection ends with (referenced) */
  GString *out;                 /* answers to write */
  gsize out_done;
  guint served;                 /* requests completed */

  gboolean dirty;               /* in w->dirty */
  gboolean no_more_requests;    /* a refusal, a parse error, Connection: close, a timeout */
  gboolean unread_input;        /* ...and the client may still be sending: linger */
  gboolean peer_eof;
  gboolean lingering;
  gsize lingered_bytes;
  gboolean closed;

  gint64 accepted_us;
  gint64 head_since_us;         /* the first byte of the request being read (0: none) */
  gint64 body_since_us;         /* its head (0: not in a body) */
  gint64 idle_since_us;         /* nothing to read, write or answer since (0: busy) */
  gint64 write_blocked_us;      /* the socket stopped taking our answers (0: not blocked) */
  gint64 linger_since_us;
};

/* http-conn.c */
Conn *http_conn_new (Worker *w, int fd, char *peer_host);
/* The worker has an answer for @request (on its thread): write what is now in order. */
void http_conn_on_answer (Conn *conn, DsmHttpRequest *request);
/* epoll said the socket is readable, writable, or hung up. */
void http_conn_on_events (Conn *conn, guint32 events);
/* Writes what answers queued (a dirty connection, at the end of a dispatch). */
void http_conn_flush (Conn *conn);
/* http-conn-deadline.c: closes @conn (or answers it 408) if a deadline passed. */
void http_conn_check_deadline (Conn *conn, gint64 now_us);
/* Closes at once (the worker stops); the connection goes to w->dead. */
void http_conn_abort (Conn *conn);
/* Frees a closed connection. */
void http_conn_free (Conn *conn);
gboolean http_conn_is_closed (const Conn *conn);
/* A TLS handshake is in flight (its callback will come). */
gboolean http_conn_is_handshaking (const Conn *conn);
/* Closes at once and puts @conn on w->dead. */
void http_conn_close (Conn *conn);
/* Reads and parses what the socket holds, within the connection's bounds. */
void http_conn_read (Conn *conn);
/* Everything answered: close now, or after a lingering read of what the
 * client still sends (a refused body). */
void http_conn_finish (Conn *conn);
/* Tells epoll what the connection waits for now. */
void http_conn_update_interest (Conn *conn);
/* An answer the connection gives itself (a parse error, a timeout), after
 * the answers to the requests before it; nothing more is read. */
void http_conn_answer_error (Conn *conn, guint status, const char *reason, const char *message);
/* @conn has answers to write at the end of this dispatch. */
void http_conn_mark_dirty (Conn *conn);

/* http-conn-tls.c: on a TLS port's new connection, waits for a whole
 * ClientHello (answering plain HTTP with a 400), then starts the handshake. */
void http_conn_peek_hello (Conn *conn);

G_END_DECLS
