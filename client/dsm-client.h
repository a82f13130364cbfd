/* dsm-client.h: libdsm-client, the C client of dsm's native protocol
 * (docs/CLIENT.md): one TCP connection to the leader, many requests in
 * flight on it, answers in any order; leader discovery, redirects and
 * retries with bounded attempts; every transition carries a session
 * (client id, sequence number) so a retry never applies it twice.
 *
 * Asynchronous calls run their callback on the client's GMainContext; the
 * _sync wrappers iterate that context until their answer comes.  A client
 * is used from one thread (the one running its context).
 *
 *   pkg-config --cflags --libs dsm-client */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DSM_CLIENT_VERSION "0.2.0"

typedef struct _DsmClient DsmClient;

typedef struct {
  const char *const *nodes;     /* "host:port" native addresses, NULL-terminated (copied) */
  const char *token;            /* nullable: a bearer token of the nodes' token file */
  const char *client_id;        /* nullable: a random one; the session of every transition */
  guint attempts;               /* tries of one request before it fails (10) */
  guint retry_delay_ms;         /* between tries, and before reconnecting (50) */
  guint request_timeout_ms;     /* one try's wait for its answer (5000) */
  guint max_in_flight;          /* requests sent and unanswered; more wait here (64, at most
                                 * the node's native.max_in_flight and its session_window) */
  /* Since 0.2.0: TLS, for nodes whose HTTP port has it (docs/CLIENT.md, "TLS"). */
  gboolean tls;                 /* FALSE: plain TCP */
  const char *tls_ca_file;      /* nullable: PEM CA certificates to trust (copied); NULL: the system's */
  const char *tls_server_name;  /* nullable: the name every node's certificate must carry; NULL: the
                                 * host of the address connected to (IP or DNS name) */
} DsmClientOptions;

/* The defaults above, and no nodes. */
void dsm_client_options_init (DsmClientOptions *options);

typedef enum {
  DSM_CLIENT_OK,                /* applied (a transition) or read */
  DSM_CLIENT_REJECTED,          /* not applied: see reason ("invalid_transition"...) */
  DSM_CLIENT_UNKNOWN,           /* the last try's outcome is unknown (the attempts ran out) */
} DsmClientStatus;

/* An answer; its strings live as long as the result. */
typedef struct {
  DsmClientStatus status;
  const char *reason;           /* NULL when OK */
  const char *machine;
  const char *state;            /* the state after the command, or the current one */
  guint64 index;                /* the log index of the entry, or the read's index */
  const char *detail;           /* nullable, human-readable */
  /* Since 0.2.0 (protocol version 2; 0 and NULL from a node of version 1): */
  guint64 revision;             /* the machine's after the transition, its current one when a
                                 * compare-and-set (if_revision, from) or the definition refused it,
                                 * or the one read; 0: never changed */
  const char *data;             /* nullable: a read's machine data, a JSON object's text; NULL: none */
} DsmClientResult;

#define DSM_CLIENT_ERROR (dsm_client_error_quark ())
GQuark dsm_client_error_quark (void);

typedef enum {
  DSM_CLIENT_ERROR_FAILED,      /* no node answered within the attempts, or every node
                                 * showed a TLS certificate this client refuses */
  DSM_CLIENT_ERROR_REFUSED,     /* a node refused it and no retry helps: bad_token, forbidden,
                                 * bad_request...; the message starts with the code */
  DSM_CLIENT_ERROR_INVALID,     /* bad arguments */
} DsmClientErrorCode;

/* Exactly one of @result and @error is set; both are borrowed. */
typedef void (*DsmClientFunc) (DsmClient *client, const DsmClientResult *result, const GError *error,
                               gpointer user_data);

/**
 * dsm_client_new:
 * @context: (nullable): where callbacks run; NULL: the thread-default context
 * Returns: (transfer full): a client; it connects at its first request.
 * With a tls_ca_file it cannot read, every request fails with
 * DSM_CLIENT_ERROR_INVALID naming the file: dsm_client_new_full() says so
 * at once.
 */
DsmClient *dsm_client_new (const DsmClientOptions *options, GMainContext *context);

/* dsm_client_new(), or NULL with @error (DSM_CLIENT_ERROR_INVALID) when
 * the options name a tls_ca_file that cannot be read. */
DsmClient *dsm_client_new_full (const DsmClientOptions *options, GMainContext *context, GError **error);

/* Closes the connection.  Callbacks of requests still pending are not called. */
void dsm_client_free (DsmClient *client);

/* Moves @machine to @to (@from: only from that state; @definition: its
 * definition when first touched; both nullable). */
void dsm_client_transition (DsmClient *client, const char *machine, const char *to, const char *from,
                            const char *definition, DsmClientFunc func, gpointer user_data);

/* What a transition may carry besides its target state; every field is
 * optional and borrowed for the length of the call (copied). */
typedef struct {
  const char *from;             /* nullable: compare-and-set on the state */
  const char *definition;       /* nullable: the machine's definition when first touched */
  const char *payload;          /* nullable: a JSON object's text, checked against the definition and
                                 * merged into the machine's data (docs/CLIENT.md, "Payloads") */
  gboolean has_if_revision;     /* compare-and-set on the revision: refused (invalid_transition,
                                 * with the current revision) unless it is still @if_revision */
  guint64 if_revision;          /* 0: the machine was never changed */
} DsmClientTransitionOptions;

/* Everything unset. */
void dsm_client_transition_options_init (DsmClientTransitionOptions *options);

/**
 * dsm_client_transition_full:
 * @options: (nullable): borrowed; its strings are copied
 *
 * dsm_client_transition() with a payload and a compare-and-set on the
 * revision.  A node refuses a payload that is not a JSON object
 * (DSM_CLIENT_ERROR_REFUSED, "bad_request"), one over its payload limits
 * ("bad_payload", before anything is proposed) and one the definition
 * does not take (a REJECTED result, reason "bad_request").  A node of
 * protocol version 1 cannot carry them: such a transition fails with
 * DSM_CLIENT_ERROR_REFUSED, "unsupported".
 */
void dsm_client_transition_full (DsmClient *client, const char *machine, const char *to,
                                 const DsmClientTransitionOptions *options, DsmClientFunc func,
                                 gpointer user_data);

/* Reads @machine: linearizable through the leader, or @stale from the
 * node connected to (it may lag).  The result carries the machine's
 * revision and data. */
void dsm_client_read (DsmClient *client, const char *machine, const char *definition, gboolean stale,
                      DsmClientFunc func, gpointer user_data);

/* The blocking forms: iterate the client's context until the answer.
 * Returns: (transfer full) the result, or NULL with @error. */
DsmClientResult *dsm_client_transition_sync (DsmClient *client, const char *machine, const char *to,
                                             const char *from, const char *definition, GError **error);
DsmClientResult *dsm_client_transition_full_sync (DsmClient *client, const char *machine, const char *to,
                                                  const DsmClientTransitionOptions *options, GError **error);
DsmClientResult *dsm_client_read_sync (DsmClient *client, const char *machine, const char *definition,
                                       gboolean stale, GError **error);
void dsm_client_result_free (DsmClientResult *result);

/* Requests waiting for an answer or a try. */
guint dsm_client_get_pending (DsmClient *client);
/* Tries beyond each request's first, so far. */
guint64 dsm_client_get_retries (DsmClient *client);
/* The node connected to (0: none yet) and its address. */
guint dsm_client_get_node (DsmClient *client);
const char *dsm_client_get_address (DsmClient *client);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmClient, dsm_client_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmClientResult, dsm_client_result_free)

G_END_DECLS
