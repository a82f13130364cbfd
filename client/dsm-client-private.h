/* client/dsm-client-private.h: libdsm-client's state, shared by
 * dsm-client.c (the public calls, the scheduler, the blocking forms) and
 * dsm-client-conn.c (requests' fates, the connection).  Not installed;
 * its functions are hidden from the library's users. */
#pragma once

#include "dsm-client.h"
#include "dsm-wire.h"

G_BEGIN_DECLS

/* The largest answer frame read: answers are small; a bigger one is a bad stream. */
#define ANSWER_FRAME_MAX (1024 * 1024)
#define READ_BYTES (64 * 1024)

typedef struct _Conn Conn;

typedef struct {
  DsmWireMsg msg;               /* the request as sent (type, id, fields) */
  guint tries;
  gint64 deadline_us;           /* sent: its answer is due */
  gint64 not_before_us;         /* waiting: a retry's delay */
  char *last_error;             /* why the last try failed, for the final error */
  DsmClientFunc func;
  gpointer data;
} Request;

struct _Conn {
  gint refs;
  DsmClient *client;            /* NULL once dropped: its callbacks only clean up */
  GMainContext *context;        /* the client's (referenced): where GIO calls back */
  GCancellable *cancel;
  GSocketConnection *socket;
  guint8 *buf;
  GByteArray *rx;
  GByteArray *tx;               /* frames to write */
  GByteArray *tx_busy;          /* the frames being written */
  char *address;
  GTlsDatabase *tls_database;   /* nullable: the CA to trust (the system's when NULL) */
  char *tls_server_name;        /* nullable: the name to verify instead of the address's host */
  guint64 hello_id;
  guint version;                /* the protocol version its hello named */
  gboolean ready;               /* welcomed: requests may go */
};

struct _DsmClient {
  GMainContext *context;
  char **nodes;
  guint n_nodes;
  guint next_node;
  char *token;
  char *client_id;
  guint64 seq;
  guint64 next_id;
  guint version;                /* the version to say hello with: the newest, or 1 once a node refused it */
  guint attempts;
  guint retry_delay_ms;
  guint request_timeout_ms;
  guint max_in_flight;
  guint in_flight_cap;          /* max_in_flight, or less if the node says so */
  gboolean tls;
  GTlsDatabase *tls_database;   /* nullable: tls_ca_file's */
  char *tls_server_name;
  char *setup_error;            /* nullable: why no request can go (an unreadable tls_ca_file) */

  Conn *conn;
  char *redirect;               /* where to connect next: the leader a node named */
  gint64 reconnect_at_us;
  GHashTable *sent;             /* id -> Request */
  GQueue waiting;               /* Request, oldest first */
  GSource *tick;
  gboolean kicking;             /* in client_kick(): a callback's request waits for its next pass */
  gboolean kick_again;
  guint node;
  guint64 retries;
  guint cert_refusals;          /* certificates refused in a row, one per node tried since the last connection */
};


/* dsm-client-conn.c */
G_GNUC_INTERNAL void request_free (Request *r);
/* Runs the callback with @answer (a result) or @error, then frees @r. */
G_GNUC_INTERNAL void request_finish (DsmClient *client, Request *r, const DsmWireMsg *answer, const GError *error);
G_GNUC_INTERNAL void request_fail (DsmClient *client, Request *r, DsmClientErrorCode code, const char *message);
/* Back in the queue for another try after @delay_ms. */
G_GNUC_INTERNAL void request_retry (DsmClient *client, Request *r, guint delay_ms, const char *why);
G_GNUC_INTERNAL void conn_unref (Conn *c);
/* Drops the connection; what it had in flight goes back in the queue. */
G_GNUC_INTERNAL void client_drop (DsmClient *client, const char *why, guint delay_ms);
G_GNUC_INTERNAL void client_connect (DsmClient *client);
/* Queues @r's frame on the connection (conn_flush() writes it); FALSE
 * when @r needs a later protocol version than the connection speaks: it
 * was failed (and freed). */
G_GNUC_INTERNAL gboolean client_send (DsmClient *client, Request *r);
G_GNUC_INTERNAL void conn_flush (Conn *c);

/* dsm-client.c: sends what may go, connects, fails what is out of tries. */
G_GNUC_INTERNAL void client_kick (DsmClient *client);

G_END_DECLS
