/* tools/dsmctl.h: what dsmctl's command files share: the client state,
 * one HTTP exchange, and sending a command to the cluster until it is
 * answered for good (dsmctl.c); the admin commands live in dsmctl-admin.c. */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_UNAVAILABLE 3

typedef struct {
  SoupSession *session;
  GPtrArray *endpoints;       /* char*, "http://host:port" */
  gboolean json;
  gint64 deadline_us;
  char *last_problem;         /* why the last attempt failed */
  char *authorization;        /* "Bearer TOKEN", or NULL */
  GTlsCertificate *client_cert;
  const char *client_id;      /* nullable: sent as Dsm-Client-Id with Dsm-Seq (a PUT's session) */
  gint64 seq;
} Ctl;

typedef struct {
  guint status;               /* 0: no HTTP answer */
  GBytes *body;
  JsonNode *root;             /* nullable: the body as JSON */
  char *digest;               /* nullable: the Dsm-Snapshot-Sha256 header */
} Answer;

void answer_clear (Answer *a);
/* A string or integer member of the answer's JSON object, if any. */
const char *answer_string (const Answer *a, const char *key);
gint64 answer_int (const Answer *a, const char *key, gint64 fallback);

void ctl_problem (Ctl *ctl, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* One HTTP exchange with @base, bounded by the overall deadline; FALSE
 * (and ctl->last_problem) when no HTTP answer came. */
gboolean ctl_request (Ctl *ctl, const char *method, const char *base, const char *path, const char *body,
                      Answer *out);
void ctl_print_raw (const Answer *a);
/* Sends one command, the leader first, until a 2xx (0) or 4xx
 * (EXIT_REFUSED) answer, or EXIT_UNAVAILABLE; @done holds the answer. */
int ctl_command (Ctl *ctl, const char *method, const char *path, const char *body, Answer *done);
/* Prints a refusal or the JSON (--json); returns @status. */
int ctl_report (Ctl *ctl, int status, Answer *a);
/* A fresh client id for this invocation: a resent command applies once. */
char *ctl_new_client_id (void);
/* Says what is wrong with the command line; returns EXIT_USAGE. */
int ctl_usage (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* dsmctl-admin.c: `member`, `leader`, `definition` and `snapshot`;
 * argv[0] is the command's name. */
int cmd_member (Ctl *ctl, int argc, char **argv, gint64 id);
/* dsmctl-native.c's command line, borrowed. */
typedef struct {
  const char *nodes;            /* "host:port,..." */
  const char *token;            /* nullable */
  double timeout_s;
  gboolean json;
  const char *command;          /* "propose" or "get" */
  const char *name;
  const char *state;            /* propose */
  const char *from;             /* nullable */
  const char *definition;       /* nullable */
  const char *payload;          /* nullable: a JSON object's text */
  gint64 if_revision;           /* -1: none */
  gboolean stale;
  gboolean tls;
  const char *tls_ca_file;      /* nullable: the system's CAs */
  const char *tls_server_name;  /* nullable: each address's host */
} CtlNative;

/* dsmctl-native.c: propose and get through libdsm-client, within the timeout. */
int cmd_native (const CtlNative *args);
int cmd_leader (Ctl *ctl, int argc, char **argv);
/* dsmctl-watch.c: follows machine @name, or every machine whose name
 * starts with @prefix, from revision @from (@has_from) or from now,
 * resuming on the next endpoint when a stream ends; stops after @count
 * changes (0: never), or gives up (EXIT_UNAVAILABLE) after @timeout_s
 * without an endpoint that answers. */
int cmd_watch (Ctl *ctl, const char *name, const char *prefix, gboolean has_from, gint64 from, gint64 count,
               double timeout_s);
int cmd_definition (Ctl *ctl, int argc, char **argv);
int cmd_snapshot (Ctl *ctl, int argc, char **argv);

G_END_DECLS
