/* net/http-auth.h: who may do what on the HTTP API: bearer tokens from a
 * token file, each with a role, and client certificates mapped to roles by
 * their subject's common name.  docs/OPERATIONS.md, "Authentication".
 * Built on the loop's thread; workers share it.  The token file may be
 * read again while serving (SIGHUP): lookups and reloads are locked. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Ordered: each role may do what the ones below it may. */
typedef enum {
  DSM_HTTP_ROLE_NONE,
  DSM_HTTP_ROLE_READ,           /* GET /v1/machines..., /v1/cluster, /metrics */
  DSM_HTTP_ROLE_WRITE,          /* POST /v1/machines/{name} */
  DSM_HTTP_ROLE_ADMIN,          /* membership, transfers, definitions, snapshots */
} DsmHttpRole;

const char *dsm_http_role_to_string (DsmHttpRole role);
/* "read", "write" or "admin". */
gboolean dsm_http_role_from_string (const char *text, DsmHttpRole *out);

/* Tokens are 16 to 512 characters of RFC 6750's b64token alphabet. */
#define DSM_HTTP_TOKEN_BYTES_MIN 16
#define DSM_HTTP_TOKEN_BYTES_MAX 512

typedef struct _DsmHttpAuth DsmHttpAuth;

DsmHttpAuth *dsm_http_auth_new (void);
void dsm_http_auth_free (DsmHttpAuth *auth);

/**
 * dsm_http_auth_load_tokens:
 * Reads a token file: one token a line, "ROLE TOKEN [NAME]", blank lines
 * and '#' comments ignored.  NAME (default "line-N") stands for the token
 * in logs and rate limits; the token itself is never printed.  Refuses a
 * file that is not a regular file or that its group or others may access
 * (mode 0600 or stricter), a bad role, a short or malformed token, a
 * token or name given twice.
 *
 * Called again (a reload, docs/OPERATIONS.md "Authentication"), it
 * replaces the whole set atomically; a file refused leaves the set in use
 * as it was.  Safe while workers look tokens up.
 *
 * Returns: FALSE with @error naming the file and line: a G_FILE_ERROR
 * when it cannot be read, else a DSM_CONFIG_ERROR.
 */
gboolean dsm_http_auth_load_tokens (DsmHttpAuth *auth, const char *path, GError **error);

/* The token file dsm_http_auth_load_tokens() read, read again (SIGHUP);
 * TRUE when tokens never came from a file (certificates only). */
gboolean dsm_http_auth_reload_tokens (DsmHttpAuth *auth, GError **error);

/* Whether the tokens come from a file (dsm_http_auth_load_tokens()). */
gboolean dsm_http_auth_has_token_file (const DsmHttpAuth *auth);

/* Loads of the token file since start (the first one included): taken
 * (@taken TRUE) or refused. */
guint64 dsm_http_auth_get_reloads (DsmHttpAuth *auth, gboolean taken);

/* A client certificate whose subject common name is @common_name ("*":
 * any verified certificate) gets @role. */
void dsm_http_auth_add_certificate_role (DsmHttpAuth *auth, const char *common_name, DsmHttpRole role);

guint dsm_http_auth_get_n_tokens (DsmHttpAuth *auth);

/**
 * dsm_http_auth_check_token:
 * @name: (out) (optional) (transfer full): the token's name, NULL when none
 *   matches (a copy: a reload may free the set meanwhile)
 *
 * The role of a bearer token, DSM_HTTP_ROLE_NONE when none matches.  The
 * token's SHA-256 is compared with every known token's, all bytes of all
 * of them whatever matches, so the time taken says nothing about them.
 */
DsmHttpRole dsm_http_auth_check_token (DsmHttpAuth *auth, const char *token, char **name);

/**
 * dsm_http_auth_check_certificate:
 * @common_name: (out) (optional) (transfer full): the subject's CN
 *
 * The role of a client certificate the TLS handshake verified against
 * the client CA: by its subject's common name, else the "*" role, else
 * DSM_HTTP_ROLE_NONE.
 */
DsmHttpRole dsm_http_auth_check_certificate (const DsmHttpAuth *auth, GTlsCertificate *cert, char **common_name);

/* The CN of an RFC 4514 distinguished name ("CN=ops,O=dsm" -> "ops"), or NULL. */
char *dsm_http_auth_common_name (const char *subject);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmHttpAuth, dsm_http_auth_free)

G_END_DECLS
