/* net/native-private.h: the native protocol's state, shared by native.c
 * (the protocol object, the hello, requests on the workers, the loop's
 * side, metrics) and native-server.c (worker threads, connections, bytes,
 * deadlines).  Not for other users. */
#pragma once

#include "native.h"

#include "accept.h"
#include "client/dsm-wire.h"
#include "config.h"
#include "entry.h"
#include "histogram.h"
#include "host.h"
#include "http-auth.h"
#include "http-rate.h"
#include "loop-queue.h"
#include "wake.h"

G_BEGIN_DECLS

/* Error codes of ERROR frames (docs/CLIENT.md, "Errors"), counted by code. */
typedef enum {
  NE_BAD_FRAME,
  NE_FRAME_TOO_LARGE,
  NE_BAD_TYPE,
  NE_BAD_REQUEST,
  NE_BAD_VERSION,
  NE_HELLO_REQUIRED,
  NE_BAD_TOKEN,
  NE_FORBIDDEN,
  NE_TOO_MANY_IN_FLIGHT,
  NE_RATE_LIMITED,
  NE_OVERLOADED,
  NE_NOT_LEADER,
  NE_NO_LEADER,
  NE_STOPPING,
  NE_TIMEOUT,
  NE_TOO_MANY_CONNECTIONS,
  NE_BAD_PAYLOAD,
  NE_TLS_REQUIRED,
  NE_N,
} NativeError;

const char *native_error_name (NativeError code);
/* By code: "bad_frame", ... (native.c). */
extern const char *const native_error_names[NE_N];

typedef enum { NT_HELLO, NT_IDLE, NT_WRITE, NT_N } NativeTimeout;
/* By DsmAdmit (accept.h). */
typedef enum {
  NR_NODE_CAP = DSM_ADMIT_NODE_CAP,
  NR_ADDRESS_CAP = DSM_ADMIT_ADDRESS_CAP,
  NR_STOPPING = DSM_ADMIT_STOPPING,
  NR_N,
} NativeRefusal;

typedef struct _NativeWorker NativeWorker;
typedef struct _NativeConn NativeConn;

#define NATIVE_ADD(n, field, k) ((void) __atomic_fetch_add (&(n)->field, (guint64) (k), __ATOMIC_RELAXED))

struct _DsmNative {
  DsmHost *host;                /* the loop's thread only */
  DsmConfig *config;            /* immutable */
  DsmNativeConfig limits;
  DsmNodeId node;
  DsmHttpAuth *auth;            /* NULL: anyone, as admin (loopback or insecure_open) */
  GTlsCertificate *tls_certificate; /* NULL: plain TCP; else the HTTP port's (http.tls_cert_file) */
  DsmHttpRate *rate;
  DsmLoopQueue *queue;
  GQueue in_flight;             /* NativeCall waiting on the core (loop only) */
  guint holding;                /* the loop's: answers wait for dsm_native_release_answers() */
  gint stopping;                /* atomic */

  int listen_fd;
  guint16 port;
  NativeWorker **workers;
  guint n_workers;
  gboolean started;
  gint accepting;               /* atomic */
  guint sweep_ms;
  DsmConnCaps caps;

  /* Counted by any thread with relaxed atomics. */
  guint64 requests[4];          /* by type: hello, transition, read, stale read */
  guint64 errors[NE_N];
  guint64 accepted;
  guint64 refused[NR_N];
  guint64 closed;
  guint64 timeouts[NT_N];
  guint64 bytes_in;
  guint64 bytes_out;
  guint64 answers_dropped;
  guint64 answers_loop_written;  /* answers the loop wrote on the socket itself */
  guint64 tls_handshake_failures;
  DsmNetHistogram latency;
};

/* The room a call keeps for its answer: a result with a machine and a
 * state name of 32 bytes each (and no detail or data) takes 110 bytes. */
#define NATIVE_ANSWER_ROOM_BYTES 128

/* One request on its way to the loop and back.  It holds a reference on
 * its connection, dropped on the connection's worker when the answer is
 * delivered (or dropped): a connection is only ever freed there. */
typedef struct {
  NativeConn *conn;
  guint8 type;
  guint8 version;               /* its connection's: how the answer is encoded */
  guint64 id;
  gboolean stale;
  DsmCommand cmd;               /* its strings in @strings, but for the payload (its own) */
  gpointer strings;             /* the request's decoded strings (DsmWireMsg.strings) */
  gint64 start_us;
  DsmHttpRole role;             /* HELLO: the role its token gave */
  DsmNative *native;            /* set by the loop */
  guint64 host_request;         /* the host's id while the core has it */
  GList link;                   /* in native->in_flight while the core has it */
  guint8 *answer;               /* the encoded frame: answer_room or its own; NULL: none (dropped) */
  gsize answer_bytes;
  /* A write's answer (a result naming the machine and its state) fits
   * here: the loop encodes it without an allocation, and the worker that
   * frees the call frees nothing the loop allocated. */
  guint8 answer_room[NATIVE_ANSWER_ROOM_BYTES];
  guint8 loop_sent;             /* NativeLoopSent: who writes the answer */
  gsize answer_done;            /* NATIVE_LOOP_SENT_PART: the bytes the loop wrote; the rest follows */
  gint64 answered_us;           /* NATIVE_LOOP_SENT_ALL: when the loop wrote it */
} NativeCall;

/* Who writes a call's answer on its socket (native_loop_write_held()). */
typedef enum {
  NATIVE_LOOP_SENT_NONE,        /* its worker, from its connection's output */
  NATIVE_LOOP_SENT_ALL,         /* the loop wrote all of it: the worker only counts it */
  NATIVE_LOOP_SENT_PART,        /* the loop wrote answer_done bytes: the rest goes out first */
} NativeLoopSent;

/* Encodes @msg at @call's version as its answer (in its room if it fits). */
void native_call_set_answer (NativeCall *call, const DsmWireMsg *msg);

/* One worker thread (native-server.c); its connections are native-conn.c. */
struct _NativeWorker {
  DsmNative *n;
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  int epfd;
  GSource *epoll_source;
  GSource *sweep_source;
  GSource *answer_source;
  DsmWake answer_wake;          /* signalled when answers were queued (wake.h) */
  GMutex answers_lock;
  GPtrArray *answers;           /* NativeCall, answered by the loop: for the worker to write */
  GPtrArray *answered;          /* under answers_lock: NativeCall the loop wrote itself, for the worker's
                                 * bookkeeping, taken at its next dispatch without a wake-up */
  GPtrArray *held;              /* the loop's: answers held over a drain (dsm_native_hold_answers()) */
  GQueue conns;                 /* open ones */
  GPtrArray *dirty;             /* with output to write at the end of this dispatch */
  GPtrArray *to_loop;           /* NativeCall read in this dispatch, handed to the loop at its end */
  guint8 *scratch;
  guint handshakes;             /* TLS handshakes running on GLib's threads for this worker */
};

/* One connection, on its worker's thread only. */
struct _NativeConn {
  gint refs;                    /* atomic: the worker's (while open) and each call's */
  NativeWorker *w;
  int fd;
  char *host;
  GList link;
  guint32 events;
  gboolean registered;
  GByteArray *in;
  gsize in_start;
  GByteArray *out;
  gsize out_done;
  /* The loop writes whole answers on a plain socket itself when no part
   * of a frame is pending there (native_loop_write_held()); every send on
   * the socket, the worker's and the loop's, holds @send_lock. */
  gboolean plain;               /* immutable: no TLS on the port */
  GMutex send_lock;
  gboolean loop_may_send;       /* under send_lock: plain, open, not closing, and no part of
                                 * a frame of the worker's left on the socket */
  gboolean loop_partial;        /* under send_lock: the loop wrote part of a frame; its rest
                                 * is on its way to the worker */
  gboolean authed;
  guint version;                /* the hello's (DSM_WIRE_VERSION_MIN before it) */
  DsmHttpRole role;
  char *who;
  gint in_flight;                /* atomic: the worker adds, the writer of the answer takes away */
  gboolean closing;             /* nothing more is read; close once the output is written */
  gboolean lingering;
  gsize lingered;
  gboolean closed;
  gboolean dirty;
  /* TLS (native-conn-tls.c): waiting for a whole ClientHello, then the
   * handshake (the fd out of epoll), then reads and writes through @tls. */
  gboolean awaiting_tls;
  gboolean tls_partial;         /* part of the ClientHello came: looked at again by the sweep, not epoll */
  gboolean handshaking;
  GSocketConnection *socket_conn;
  GTlsConnection *tls;
  GPollableInputStream *tls_in;
  GPollableOutputStream *tls_out;
  GCancellable *cancel;
  gint64 accepted_us;
  gint64 active_us;             /* the last request, answer or write */
  gint64 write_blocked_us;
  gint64 linger_since_us;
};

/* Every read lands in the worker's scratch buffer of this size first. */
#define NATIVE_READ_BYTES (64 * 1024)

/* ---- native-conn.c ---- */
NativeConn *native_conn_new (NativeWorker *w, int fd, const char *host);
void native_conn_close (NativeConn *c);
void native_conn_unref (NativeConn *c);
/* Tells epoll what the connection waits for now. */
void native_conn_watch (NativeConn *c);
void native_conn_read (NativeConn *c);
void native_conn_write (NativeConn *c);
/* The end of every worker dispatch: writes what was answered. */
void native_worker_end_dispatch (NativeWorker *w);
/* An answer from the loop reaches its connection (or is dropped). */
void native_worker_take_answer (NativeWorker *w, NativeCall *call);
gboolean native_worker_answer_dispatch (GSource *source, GSourceFunc callback, gpointer data);
/* The calls the loop answered itself, counted; first in every dispatch. */
void native_worker_take_answered (NativeWorker *w);
extern GSourceFuncs native_worker_answer_funcs;
gboolean native_worker_on_sweep (gpointer data);

/* Raw I/O, plain or TLS: > 0 bytes, 0 end of stream, -1 would block, -2 failed. */
gssize native_conn_recv (NativeConn *c, guint8 *buf, gsize size);
gssize native_conn_send_bytes (NativeConn *c, const guint8 *data, gsize length);

/* ---- native-conn-tls.c ---- */
/* A new connection on a TLS port: a whole ClientHello starts the
 * handshake; anything else is a plain client, told so in a plain frame. */
void native_conn_tls_peek (NativeConn *c);
/* Closes the socket (through its GSocket once TLS has one). */
void native_conn_close_socket (NativeConn *c);

/* ---- native-server.c ---- */
gboolean native_server_listen (DsmNative *n, const char *address, GError **error);
void native_server_start (DsmNative *n);
void native_server_stop_accepting (DsmNative *n);
void native_server_free (DsmNative *n);
/* From any thread: @call goes back to its connection's worker, which
 * writes call->answer (if the connection is still open) and frees it. */
void native_server_deliver (NativeCall *call);
/* The loop's answers: as native_server_deliver(), but while the loop holds
 * answers the worker is woken once, when it releases them. */
void native_server_deliver_from_loop (NativeCall *call);
/* The connection's peer host and who it authenticated as, and the
 * protocol version its hello named (its worker only). */
void native_conn_set_identity (NativeConn *c, DsmHttpRole role, const char *who, guint version);
guint native_conn_get_version (const NativeConn *c);
DsmHttpRole native_conn_get_role (const NativeConn *c);
const char *native_conn_get_who (const NativeConn *c);
const char *native_conn_get_host (const NativeConn *c);
gboolean native_conn_get_authed (const NativeConn *c);
guint native_conn_get_in_flight (const NativeConn *c);
/* Counts a request handed to the loop (its worker only). */
void native_conn_add_in_flight (NativeConn *c);
NativeConn *native_conn_ref (NativeConn *c);
/* Appends an answer frame (its worker only). */
void native_conn_send (NativeConn *c, const DsmWireMsg *msg);
/* An ERROR frame for request @id; @closing: nothing more is read, the
 * connection closes once it is written. */
void native_conn_error (NativeConn *c, guint64 id, NativeError code, gboolean closing, guint retry_after_ms,
                        const char *format, ...) G_GNUC_PRINTF (6, 7);

/* ---- native.c: on the worker, one decoded request of an open connection ---- */
void native_on_request (DsmNative *n, NativeConn *c, DsmWireMsg *msg);
/* The end of a worker dispatch: the requests it read go to the loop in
 * one batch; those the full queue refuses are answered "overloaded". */
void native_hand_to_loop (DsmNative *n, GPtrArray *calls);
void native_call_free (NativeCall *call);

G_END_DECLS
