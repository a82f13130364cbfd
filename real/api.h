/* real/api.h: the real backend as a client of a node's HTTP API
 * (docs/OPERATIONS.md, "HTTP API"): one blocking request per call on a
 * fresh loopback connection, with a deadline in microseconds, a bounded
 * answer, and the answer read as the core's reply.  Safe from any thread. */
#pragma once

#include <glib.h>

#include "entry.h"
#include "types.h"

G_BEGIN_DECLS

/* An answer is read whole; past this it is refused. */
#define DSM_REAL_ANSWER_BYTES_MAX (8u * 1024 * 1024)

typedef enum {
  DSM_REAL_SENT_NOTHING,    /* no connection: the node never saw the request */
  DSM_REAL_NO_ANSWER,       /* sent, but no whole answer before the deadline or the close */
  DSM_REAL_ANSWERED,
} DsmRealDelivery;

typedef struct {
  DsmRealDelivery delivery;
  guint status;             /* HTTP status when answered */
  char *body;               /* NUL-terminated, when answered */
  gsize length;
} DsmRealAnswer;

void dsm_real_answer_clear (DsmRealAnswer *answer);

/**
 * dsm_real_api_request:
 * @port: the node's client port on 127.0.0.1
 * @token: (nullable): the bearer token
 * @body: (nullable): a JSON body (POST)
 * @timeout_us: the whole exchange's budget, connect included
 *
 * Never fails: what happened is in @answer (zeroed by the caller).
 */
void dsm_real_api_request (guint16 port, const char *method, const char *path, const char *token,
                           const char *body, gint64 timeout_us, DsmRealAnswer *answer);

/* What one attempt of a client command came to, as the simulator's
 * clients see a DsmClientReply. */
typedef struct {
  DsmReplyStatus status;
  DsmRejectReason reason;
  char *state;              /* nullable */
  guint64 index;
  gboolean has_revision;    /* the answer named the machine's revision */
  guint64 revision;
  char *data;               /* nullable: a read's data, canonical JSON object text */
  DsmNodeId leader_hint;
  gboolean answered;        /* FALSE: no answer (connection refused or deadline) */
  gboolean maybe_sent;      /* FALSE only when the node certainly never saw it */
} DsmRealReply;

void dsm_real_reply_clear (DsmRealReply *reply);

/**
 * dsm_real_api_command:
 * Sends @cmd (a transition: POST /v1/machines/M; a read: the linearizable
 * GET) and reads the answer: 200 ok, 409 invalid_transition, 400 a bad
 * request, 503 "rejected" (not_leader, overloaded, stopping...) or
 * "unknown", no answer unknown.  A connection that was refused sent
 * nothing: not_leader, which changed nothing.
 */
void dsm_real_api_command (guint16 port, const char *token, const DsmCommand *cmd,
                           gint64 timeout_us, DsmRealReply *reply);

/* One node's view from GET /v1/cluster. */
typedef struct {
  gboolean answered;
  DsmRole role;
  DsmNodeId leader;
  guint64 epoch;
  guint64 commit_index;
  guint64 applied_index;
} DsmRealView;

void dsm_real_api_view (guint16 port, const char *token, gint64 timeout_us, DsmRealView *view);

/* GET /v1/machines/M?stale=1: the node's applied state (transfer full), or NULL. */
char *dsm_real_api_stale_state (guint16 port, const char *token, const char *machine, gint64 timeout_us);

/**
 * dsm_real_api_list:
 * Every machine the node holds (GET /v1/machines, page by page).
 * Returns: (transfer full): machine -> state, or NULL when a page did not come.
 */
GHashTable *dsm_real_api_list (guint16 port, const char *token, gint64 timeout_us);

/**
 * dsm_real_api_metric_sum:
 * @text: Prometheus text from GET /metrics
 * Returns: the sum of every sample of family @name (any labels); 0 when absent.
 */
double dsm_real_api_metric_sum (const char *text, const char *name);

G_END_DECLS
