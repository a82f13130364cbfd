/* net/peer-auth.c: resolving a node's peer authentication from the config
 * (secret file, certificates, the insecure opt-out) and binding a peer's
 * certificate to its node id (peer-auth.h). */
#include "peer-auth.h"

#include <string.h>

#include "config-files.h"
#include "error.h"
#include "net-error.h"

struct _DsmPeerAuth {
  gint ref_count;
  char *cluster_id;
  GBytes *secret;                 /* nullable */
  GTlsCertificate *certificate;   /* nullable: no TLS */
  GTlsDatabase *database;         /* the configured CA; with certificate */
  gboolean insecure;
};

DsmPeerAuth *
dsm_peer_auth_ref (DsmPeerAuth *auth)
{
  g_atomic_int_inc (&auth->ref_count);
  return auth;
}

void
dsm_peer_auth_unref (DsmPeerAuth *auth)
{
  if (auth == NULL || !g_atomic_int_dec_and_test (&auth->ref_count))
    return;
  g_free (auth->cluster_id);
  g_clear_pointer (&auth->secret, g_bytes_unref);
  g_clear_object (&auth->certificate);
  g_clear_object (&auth->database);
  g_free (auth);
}

/* "{id}" becomes @self; a relative path resolves against @dir. */
static gboolean
auth_new_check_length (gsize length, const char *key, GError **error)
{
  if (length >= DSM_PEER_SECRET_BYTES_MIN)
    return TRUE;
  g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
               "%s: %" G_GSIZE_FORMAT " bytes; a secret needs at least %d (dsm-cluster makes 32 random "
               "hex digits)", key, length, DSM_PEER_SECRET_BYTES_MIN);
  return FALSE;
}

/* The secret's file must be private (config-files.h). */
static GBytes *
auth_new_read_secret (const char *path, GError **error)
{
  gsize length;
  g_autofree char *text = dsm_config_file_read_private (path, "secret_file", DSM_PEER_SECRET_FILE_BYTES_MAX, &length,
                                                        error);

  if (text == NULL)
    return NULL;
  /* One line ending is the editor's, not the secret's. */
  if (length > 0 && text[length - 1] == '\n')
    length--;
  if (length > 0 && text[length - 1] == '\r')
    length--;
  if (!auth_new_check_length (length, "secret_file", error))
    return NULL;
  return g_bytes_new (text, length);
}

static gboolean
auth_new_tls (DsmPeerAuth *auth, const DsmConfig *config, DsmNodeId self, const char *dir,
              GError **error)
{
  g_autofree char *ca = dsm_config_file_path (config->peer_tls_ca_file, self, dir);
  g_autofree char *cert = dsm_config_file_path (config->peer_tls_cert_file, self, dir);
  g_autofree char *key = dsm_config_file_path (config->peer_tls_key_file, self, dir);
  g_autoptr(GError) local = NULL;

  auth->certificate = g_tls_certificate_new_from_files (cert, key, &local);
  if (auth->certificate == NULL)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "peer_tls_cert_file \"%s\", peer_tls_key_file \"%s\": %s", cert, key, local->message);
      return FALSE;
    }
  auth->database = g_tls_file_database_new (ca, &local);
  if (auth->database == NULL)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID, "peer_tls_ca_file \"%s\": %s",
                   ca, local->message);
      return FALSE;
    }
  /* Our own certificate must pass the check our peers make of it: a
   * mistake here is found at start, not as a cluster that never forms. */
  GTlsCertificateFlags flags = g_tls_database_verify_chain (auth->database, auth->certificate,
                                                            G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                                            NULL, NULL, G_TLS_DATABASE_VERIFY_NONE,
                                                            NULL, &local);
  if (local != NULL || flags != 0)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID,
                   "peer_tls_cert_file \"%s\": does not verify against peer_tls_ca_file \"%s\" (%s)",
                   cert, ca, local != NULL ? local->message : "untrusted, expired or not for TLS");
      return FALSE;
    }
  return TRUE;
}

DsmPeerAuth *
dsm_peer_auth_new (const DsmConfig *config, DsmNodeId self, const char *config_dir, GError **error)
{
  g_autoptr(DsmPeerAuth) auth = g_new0 (DsmPeerAuth, 1);

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (self != DSM_NODE_NONE, NULL);

  auth->ref_count = 1;
  auth->cluster_id = g_strdup (config->cluster_id);
  auth->insecure = config->insecure;
  if (config->secret != NULL)
    {
      if (!auth_new_check_length (strlen (config->secret), "secret", error))
        return NULL;
      auth->secret = g_bytes_new (config->secret, strlen (config->secret));
    }
  else if (config->secret_file != NULL)
    {
      g_autofree char *path = dsm_config_file_path (config->secret_file, self, config_dir);
      if ((auth->secret = auth_new_read_secret (path, error)) == NULL)
        return NULL;
    }
  if (config->peer_tls_cert_file != NULL && !auth_new_tls (auth, config, self, config_dir, error))
    return NULL;
  /* docs/SECURITY.md, "Insecure mode": never by default. */
  if (config->n_nodes > 1 && auth->secret == NULL && auth->certificate == NULL && !auth->insecure)
    {
      g_set_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_MISSING,
                   "no peer authentication: set secret or secret_file, or peer_tls_ca_file, "
                   "peer_tls_cert_file and peer_tls_key_file (docs/SECURITY.md); "
                   "\"insecure\": true runs without, on loopback addresses only");
      return NULL;
    }
  return g_steal_pointer (&auth);
}

GBytes *
dsm_peer_auth_get_secret (const DsmPeerAuth *auth)
{
  return auth->secret;
}

gboolean
dsm_peer_auth_uses_tls (const DsmPeerAuth *auth)
{
  return auth->certificate != NULL;
}

gboolean
dsm_peer_auth_is_insecure (const DsmPeerAuth *auth)
{
  return auth->secret == NULL && auth->certificate == NULL;
}

const char *
dsm_peer_auth_describe (const DsmPeerAuth *auth)
{
  if (auth->certificate != NULL)
    return auth->secret != NULL ? "tls+secret" : "tls";
  return auth->secret != NULL ? "secret" : "insecure";
}

char *
dsm_peer_auth_certificate_name (const char *cluster_id, DsmNodeId id)
{
  return g_strdup_printf ("node-%u.%s", id, cluster_id);
}

/* A TLS server accepts a client's certificate only when a handler says
 * so (GTlsConnection::accept-certificate): this one says so exactly when
 * the backend found no fault with it against our CA.  The node id it
 * names is checked at the hello (dsm_peer_auth_check_peer). */
static gboolean
wrap_accept_client (GTlsConnection *tls, GTlsCertificate *cert, GTlsCertificateFlags errors, gpointer data)
{
  return errors == 0;
}

GIOStream *
dsm_peer_auth_wrap (DsmPeerAuth *auth, GSocketConnection *connection, gboolean outbound,
                    DsmNodeId peer, GError **error)
{
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (auth->certificate != NULL, NULL);
  if (outbound)
    {
      /* The backend checks the server's name too; check_peer() then
       * insists on it exactly. */
      g_autofree char *name = dsm_peer_auth_certificate_name (auth->cluster_id, peer);
      g_autoptr(GSocketConnectable) identity = g_network_address_new (name, 0);
      tls = g_tls_client_connection_new (G_IO_STREAM (connection), identity, &local);
    }
  else
    tls = g_tls_server_connection_new (G_IO_STREAM (connection), auth->certificate, &local);
  if (tls == NULL)
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_TLS, "TLS: %s", local->message);
      return NULL;
    }
  g_tls_connection_set_certificate (G_TLS_CONNECTION (tls), auth->certificate);
  g_tls_connection_set_database (G_TLS_CONNECTION (tls), auth->database);
  /* A peer that drops the connection is an ordinary end, not an attack. */
  g_tls_connection_set_require_close_notify (G_TLS_CONNECTION (tls), FALSE);
  if (!outbound)
    {
      g_object_set (tls, "authentication-mode", G_TLS_AUTHENTICATION_REQUIRED, NULL);
      g_signal_connect (tls, "accept-certificate", G_CALLBACK (wrap_accept_client), NULL);
    }
  return g_steal_pointer (&tls);
}

static gboolean
check_peer_names (GTlsCertificate *cert, const char *expected, GString *found)
{
  g_autoptr(GPtrArray) names = g_tls_certificate_get_dns_names (cert);
  gboolean ok = FALSE;

  for (guint i = 0; names != NULL && i < names->len; i++)
    {
      gsize n = 0;
      const char *data = g_bytes_get_data (names->pdata[i], &n);
      if (n == strlen (expected) && memcmp (data, expected, n) == 0)
        ok = TRUE;
      if (found->len < 200)
        {
          g_autofree char *printable = g_strndup (data, MIN (n, 80));
          g_autofree char *escaped = g_strescape (printable, NULL);
          g_string_append_printf (found, "%s%s", found->len > 0 ? ", " : "", escaped);
        }
    }
  return ok;
}

gboolean
dsm_peer_auth_check_peer (DsmPeerAuth *auth, GTlsConnection *tls, DsmNodeId claimed, GError **error)
{
  GTlsCertificate *cert = g_tls_connection_get_peer_certificate (tls);
  g_autofree char *expected = dsm_peer_auth_certificate_name (auth->cluster_id, claimed);
  g_autoptr(GString) found = g_string_new (NULL);
  g_autoptr(GError) local = NULL;

  if (cert == NULL)
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH, "node %u presented no certificate", claimed);
      return FALSE;
    }
  /* The backend verified the chain during the handshake; verifying again
   * here keeps the binding independent of the backend's choices. */
  GTlsCertificateFlags flags = g_tls_database_verify_chain (auth->database, cert,
                                                            G_TLS_DATABASE_PURPOSE_AUTHENTICATE_CLIENT,
                                                            NULL, NULL, G_TLS_DATABASE_VERIFY_NONE,
                                                            NULL, &local);
  if (local != NULL || flags != 0)
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH,
                   "node %u's certificate does not verify against the CA (flags 0x%x%s%s)", claimed,
                   (guint) flags, local != NULL ? ": " : "", local != NULL ? local->message : "");
      return FALSE;
    }
  if (!check_peer_names (cert, expected, found))
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH,
                   "the peer claims node %u but its certificate names %s, not %s", claimed,
                   found->len > 0 ? found->str : "no DNS name", expected);
      return FALSE;
    }
  return TRUE;
}
