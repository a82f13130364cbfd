/* net/http-auth.c: bearer tokens and client-certificate roles (http-auth.h):
 * the token file's reader, its reload, and the constant-time lookups. */
#include "http-auth.h"

#include <string.h>

#include "config-files.h"
#include "error.h"

#define DIGEST_BYTES 32
#define TOKEN_FILE_BYTES_MAX (1024 * 1024)
#define NAME_BYTES_MAX 64

typedef struct {
  guint8 digest[DIGEST_BYTES];  /* SHA-256 of the token: the token is not kept */
  DsmHttpRole role;
  char *name;
} Token;

struct _DsmHttpAuth {
  /* Workers look tokens up while the loop's thread may swap in a reloaded
   * set (SIGHUP): the lock covers @tokens and @reloads, and a lookup copies
   * the name it answers with, so nothing borrowed outlives a swap. */
  GMutex lock;
  GArray *tokens;               /* Token */
  guint64 reloads[2];           /* token file reloads: [0] refused, [1] taken */
  char *path;                   /* (nullable) the token file, read again by reload (loop only) */
  GHashTable *cert_roles;       /* common name ("*": any) -> DsmHttpRole; fixed once serving */
};

static const char *const role_names[] = {
  [DSM_HTTP_ROLE_NONE] = "none",
  [DSM_HTTP_ROLE_READ] = "read",
  [DSM_HTTP_ROLE_WRITE] = "write",
  [DSM_HTTP_ROLE_ADMIN] = "admin",
};

const char *
dsm_http_role_to_string (DsmHttpRole role)
{
  g_return_val_if_fail ((guint) role < G_N_ELEMENTS (role_names), "none");
  return role_names[role];
}

gboolean
dsm_http_role_from_string (const char *text, DsmHttpRole *out)
{
  for (guint r = DSM_HTTP_ROLE_READ; r < G_N_ELEMENTS (role_names); r++)
    if (strcmp (text, role_names[r]) == 0)
      {
        *out = (DsmHttpRole) r;
        return TRUE;
      }
  return FALSE;
}

static void
token_clear (gpointer data)
{
  Token *t = data;

  g_free (t->name);
}

static GArray *
tokens_new (void)
{
  GArray *tokens = g_array_new (FALSE, TRUE, sizeof (Token));

  g_array_set_clear_func (tokens, token_clear);
  return tokens;
}

DsmHttpAuth *
dsm_http_auth_new (void)
{
  DsmHttpAuth *auth = g_new0 (DsmHttpAuth, 1);

  g_mutex_init (&auth->lock);
  auth->tokens = tokens_new ();
  auth->cert_roles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return auth;
}

void
dsm_http_auth_free (DsmHttpAuth *auth)
{
  if (auth == NULL)
    return;
  g_array_unref (auth->tokens);
  g_hash_table_unref (auth->cert_roles);
  g_mutex_clear (&auth->lock);
  g_free (auth->path);
  g_free (auth);
}

guint
dsm_http_auth_get_n_tokens (DsmHttpAuth *auth)
{
  g_autoptr(GMutexLocker) G_GNUC_UNUSED locker = g_mutex_locker_new (&auth->lock);

  return auth->tokens->len;
}

guint64
dsm_http_auth_get_reloads (DsmHttpAuth *auth, gboolean taken)
{
  g_autoptr(GMutexLocker) G_GNUC_UNUSED locker = g_mutex_locker_new (&auth->lock);

  return auth->reloads[taken ? 1 : 0];
}

static void
token_digest (const char *token, guint8 digest[DIGEST_BYTES])
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize length = DIGEST_BYTES;

  g_checksum_update (sum, (const guchar *) token, (gssize) strlen (token));
  g_checksum_get_digest (sum, digest, &length);
  g_assert (length == DIGEST_BYTES);
}

/* RFC 6750, 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static gboolean
token_well_formed (const char *token)
{
  gsize length = strlen (token), i = 0;

  if (length < DSM_HTTP_TOKEN_BYTES_MIN || length > DSM_HTTP_TOKEN_BYTES_MAX)
    return FALSE;
  while (i < length && (g_ascii_isalnum (token[i]) || strchr ("-._~+/", token[i]) != NULL))
    i++;
  if (i == 0)
    return FALSE;
  while (i < length && token[i] == '=')
    i++;
  return i == length;
}

static gboolean
name_well_formed (const char *name)
{
  gsize length = strlen (name);

  if (length == 0 || length > NAME_BYTES_MAX)
    return FALSE;
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isalnum (name[i]) && strchr ("-._@", name[i]) == NULL)
      return FALSE;
  return TRUE;
}

static gboolean
load_line (GArray *tokens, const char *path, guint line_no, char *line, GError **error)
{
  g_auto(GStrv) fields = NULL;
  g_autofree char *default_name = NULL;
  guint n = 0;
  Token t = { 0 };

  g_strstrip (line);
  if (line[0] == '\0' || line[0] == '#')
    return TRUE;
  fields = g_regex_split_simple ("[ \t]+", line, 0, 0);
  n = g_strv_length (fields);
  if (n < 2 || n > 3)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "http.token_file \"%s\", line %u: expected \"ROLE TOKEN [NAME]\"", path, line_no);
      return FALSE;
    }
  if (!dsm_http_role_from_string (fields[0], &t.role))
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "http.token_file \"%s\", line %u: role \"%.16s\" is not read, write or admin", path, line_no, fields[0]);
      return FALSE;
    }
  if (!token_well_formed (fields[1]))
    {
      /* The token is not quoted: the message must not leak it into a log. */
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "http.token_file \"%s\", line %u: a token is %d to %d characters of A-Z a-z 0-9 - . _ ~ + / "
                   "(then '=' padding)", path, line_no, DSM_HTTP_TOKEN_BYTES_MIN, DSM_HTTP_TOKEN_BYTES_MAX);
      return FALSE;
    }
  default_name = g_strdup_printf ("line-%u", line_no);
  if (n == 3 && !name_well_formed (fields[2]))
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "http.token_file \"%s\", line %u: a name is 1 to %d characters of A-Z a-z 0-9 - . _ @", path, line_no,
                   NAME_BYTES_MAX);
      return FALSE;
    }
  token_digest (fields[1], t.digest);
  for (guint i = 0; i < tokens->len; i++)
    {
      const Token *other = &g_array_index (tokens, Token, i);
      if (memcmp (other->digest, t.digest, DIGEST_BYTES) == 0 || strcmp (other->name, n == 3 ? fields[2] : default_name) == 0)
        {
          g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                       "http.token_file \"%s\", line %u: the same token or name as \"%s\"", path, line_no, other->name);
          return FALSE;
        }
    }
  t.name = g_strdup (n == 3 ? fields[2] : default_name);
  g_array_append_val (tokens, t);
  return TRUE;
}

/* The whole file into a new token set, or NULL: a file is taken whole or
 * not at all. */
static GArray *
load_tokens_read (const char *path, GError **error)
{
  gsize length;
  g_autofree char *text = dsm_config_file_read_private (path, "http.token_file", TOKEN_FILE_BYTES_MAX, &length,
                                                        error);
  g_autoptr(GArray) tokens = NULL;
  g_auto(GStrv) lines = NULL;

  if (text == NULL)
    return NULL;
  if (memchr (text, '\0', length) != NULL)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID, "http.token_file \"%s\": a NUL byte", path);
      return NULL;
    }
  tokens = tokens_new ();
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (!load_line (tokens, path, i + 1, lines[i], error))
      return NULL;
  if (tokens->len == 0)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID, "http.token_file \"%s\": no token in it", path);
      return NULL;
    }
  return g_steal_pointer (&tokens);
}

gboolean
dsm_http_auth_load_tokens (DsmHttpAuth *auth, const char *path, GError **error)
{
  if (g_strcmp0 (auth->path, path) != 0)
    {
      g_free (auth->path);
      auth->path = g_strdup (path);
    }
  g_autoptr(GArray) tokens = load_tokens_read (auth->path, error);
  g_autoptr(GMutexLocker) G_GNUC_UNUSED locker = g_mutex_locker_new (&auth->lock);

  auth->reloads[tokens != NULL ? 1 : 0]++;
  if (tokens == NULL)
    return FALSE;
  /* The old set is freed on return, after the lock: lookups copy what they
   * answer, so none borrows from it. */
  GArray *old = auth->tokens;
  auth->tokens = g_steal_pointer (&tokens);
  tokens = old;
  g_assert (auth->tokens->len > 0);
  return TRUE;
}

gboolean
dsm_http_auth_reload_tokens (DsmHttpAuth *auth, GError **error)
{
  return auth->path == NULL || dsm_http_auth_load_tokens (auth, auth->path, error);
}

gboolean
dsm_http_auth_has_token_file (const DsmHttpAuth *auth)
{
  return auth->path != NULL;
}

void
dsm_http_auth_add_certificate_role (DsmHttpAuth *auth, const char *common_name, DsmHttpRole role)
{
  g_return_if_fail (role != DSM_HTTP_ROLE_NONE);
  g_hash_table_replace (auth->cert_roles, g_strdup (common_name), GUINT_TO_POINTER (role));
}

DsmHttpRole
dsm_http_auth_check_token (DsmHttpAuth *auth, const char *token, char **name)
{
  guint8 digest[DIGEST_BYTES];
  guint matched = G_MAXUINT;
  DsmHttpRole role = DSM_HTTP_ROLE_NONE;

  g_return_val_if_fail (token != NULL, DSM_HTTP_ROLE_NONE);

  token_digest (token, digest);
  g_mutex_lock (&auth->lock);
  for (guint i = 0; i < auth->tokens->len; i++)
    {
      const Token *t = &g_array_index (auth->tokens, Token, i);
      guint8 diff = 0;
      for (guint b = 0; b < DIGEST_BYTES; b++)
        diff |= (guint8) (t->digest[b] ^ digest[b]);
      /* No early exit: every token is compared, whichever matches. */
      guint is_match = (guint) (((guint) diff - 1u) >> 8) & 1u;
      matched = is_match ? i : matched;
    }
  if (matched != G_MAXUINT)
    {
      const Token *t = &g_array_index (auth->tokens, Token, matched);
      g_assert (t->role != DSM_HTTP_ROLE_NONE);
      role = t->role;
      if (name != NULL)
        *name = g_strdup (t->name);
    }
  else if (name != NULL)
    *name = NULL;
  g_mutex_unlock (&auth->lock);
  return role;
}

char *
dsm_http_auth_common_name (const char *subject)
{
  const char *p = subject;

  while (p != NULL && *p != '\0')
    {
      gboolean is_cn = g_ascii_strncasecmp (p, "CN=", 3) == 0;
      GString *value = g_string_new (NULL);

      p = strchr (p, '=');
      if (p == NULL)
        {
          g_string_free (value, TRUE);
          break;
        }
      for (p++; *p != '\0' && *p != ','; p++)
        {
          if (*p == '\\' && p[1] != '\0')
            p++;
          g_string_append_c (value, *p);
        }
      if (is_cn)
        return g_string_free (value, FALSE);
      g_string_free (value, TRUE);
      if (*p == ',')
        p++;
    }
  return NULL;
}

DsmHttpRole
dsm_http_auth_check_certificate (const DsmHttpAuth *auth, GTlsCertificate *cert, char **common_name)
{
  g_autofree char *subject = NULL;
  g_autofree char *cn = NULL;
  gpointer role;

  if (common_name != NULL)
    *common_name = NULL;
  if (cert == NULL)
    return DSM_HTTP_ROLE_NONE;
  subject = g_tls_certificate_get_subject_name (cert);
  cn = subject != NULL ? dsm_http_auth_common_name (subject) : NULL;
  if (cn != NULL && g_hash_table_lookup_extended (auth->cert_roles, cn, NULL, &role))
    ;
  else if (!g_hash_table_lookup_extended (auth->cert_roles, "*", NULL, &role))
    role = GUINT_TO_POINTER (DSM_HTTP_ROLE_NONE);
  if (common_name != NULL)
    *common_name = g_steal_pointer (&cn);
  return (DsmHttpRole) GPOINTER_TO_UINT (role);
}
