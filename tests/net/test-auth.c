/* tests/net/test-auth.c: how a node's peer authentication is resolved
 * from its config: the security keys' rules, secret files and their mode,
 * "{id}" in paths, certificates that must verify, and the refusal to run
 * unauthenticated unless the config says "insecure" on loopback. */
#include <glib/gstdio.h>
#include <string.h>

#include "config-files.h"
#include "error.h"
#include "peer-auth.h"

typedef struct {
  char *dir;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("dsm-auth-test-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_remove (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

/* A 3-node loopback config with @extra members at the top level. */
static DsmConfig *
config_with (const char *extra, const char *host, GError **error)
{
  g_autofree char *text = g_strdup_printf (
    "{\"cluster_id\": \"test\", %s%s\"nodes\": ["
    "{\"id\": 1, \"peer_address\": \"%s:7001\"}, {\"id\": 2, \"peer_address\": \"127.0.0.1:7002\"},"
    "{\"id\": 3, \"peer_address\": \"[::1]:7003\"}]}",
    extra, extra[0] != '\0' ? ", " : "", host != NULL ? host : "127.0.0.9");

  return dsm_config_new_from_data (text, -1, NULL, NULL, error);
}

static void
write_file (const char *path, const char *text, int mode)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

static void
test_no_auth_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = config_with ("", NULL, &error);

  g_test_summary ("A node of a multi-node cluster with no secret, no TLS and no \"insecure\" refuses to "
                  "start, naming the keys that would fix it; a single node needs none.");
  g_assert_no_error (error);
  g_autoptr(DsmPeerAuth) auth = dsm_peer_auth_new (config, 1, f->dir, &error);
  g_assert_null (auth);
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_MISSING);
  g_assert_nonnull (strstr (error->message, "secret_file"));
  g_assert_nonnull (strstr (error->message, "insecure"));

  g_autoptr(DsmConfig) single = dsm_config_new_default (1);
  g_autoptr(DsmPeerAuth) alone = dsm_peer_auth_new (single, 1, NULL, NULL);
  g_assert_nonnull (alone);
}

static void
test_insecure_rules (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) ok = config_with ("\"insecure\": true", NULL, &error);

  g_test_summary ("\"insecure\": true is accepted only when every peer address is a loopback IP and no "
                  "other peer security is set; such a node runs and says it is insecure.");
  g_assert_no_error (error);
  g_autoptr(DsmPeerAuth) auth = dsm_peer_auth_new (ok, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (dsm_peer_auth_is_insecure (auth));
  g_assert_cmpstr (dsm_peer_auth_describe (auth), ==, "insecure");

  const char *bad_hosts[] = { "10.0.0.1", "localhost", "127.0.0.256", "128.0.0.1", "[::2]" };
  for (guint i = 0; i < G_N_ELEMENTS (bad_hosts); i++)
    {
      g_autoptr(GError) e = NULL;
      g_autoptr(DsmConfig) c = config_with ("\"insecure\": true", bad_hosts[i], &e);
      g_assert_null (c);
      g_assert_error (e, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID);
      g_assert_nonnull (strstr (e->message, "loopback"));
    }
  g_autoptr(DsmConfig) both = config_with ("\"insecure\": true, \"secret\": \"0123456789abcdef\"", NULL, &error);
  g_assert_null (both);
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID);
  g_clear_error (&error);
  g_autoptr(DsmConfig) typed = config_with ("\"insecure\": 1", NULL, &error);
  g_assert_null (typed);
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_TYPE);
}

static void
test_key_rules (Fixture *f, gconstpointer data)
{
  const struct {
    const char *extra;
    gint code;
    const char *names;
  } cases[] = {
    { "\"secret\": \"0123456789abcdef\", \"secret_file\": \"s\"", DSM_CONFIG_ERROR_INVALID, "secret_file" },
    { "\"secret_file\": \"\"", DSM_CONFIG_ERROR_INVALID, "secret_file" },
    { "\"peer_tls_ca_file\": \"ca.crt\"", DSM_CONFIG_ERROR_MISSING, "peer_tls_cert_file" },
    { "\"peer_tls_ca_file\": \"ca.crt\", \"peer_tls_cert_file\": \"c\"", DSM_CONFIG_ERROR_MISSING, "peer_tls_key_file" },
    { "\"peer_tls_ca_file\": 7", DSM_CONFIG_ERROR_TYPE, "peer_tls_ca_file" },
  };

  g_test_summary ("secret and secret_file exclude each other; the three peer_tls_* keys go together; "
                  "empty and mistyped values are refused, naming the key.");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DsmConfig) c = config_with (cases[i].extra, NULL, &error);
      g_assert_null (c);
      g_assert_error (error, DSM_CONFIG_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].names));
    }
  /* With TLS the cluster id must be able to name certificates. */
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) c = dsm_config_new_from_data (
    "{\"cluster_id\": \"my cluster\", \"peer_tls_ca_file\": \"a\", \"peer_tls_cert_file\": \"b\", "
    "\"peer_tls_key_file\": \"c\", \"nodes\": 2}", -1, NULL, NULL, &error);
  g_assert_null (c);
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "cluster_id"));
}

static void
test_secret_file (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "secret-2", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = config_with ("\"secret_file\": \"secret-{id}\"", NULL, &error);

  g_test_summary ("secret_file resolves against the config's folder with {id} as the node's id, loses "
                  "one line ending, from a folder given relative to the working directory too, and is refused "
                  "when others may read it, when missing, or when short.");
  g_assert_no_error (error);
  write_file (path, "0123456789abcdef-two\n", 0600);
  g_autoptr(DsmPeerAuth) auth = dsm_peer_auth_new (config, 2, f->dir, &error);
  g_assert_no_error (error);
  gsize n = 0;
  const char *secret = g_bytes_get_data (dsm_peer_auth_get_secret (auth), &n);
  g_assert_cmpmem (secret, n, "0123456789abcdef-two", 20);
  g_assert_cmpstr (dsm_peer_auth_describe (auth), ==, "secret");
  g_assert_false (dsm_peer_auth_is_insecure (auth));

  g_assert_cmpint (g_chmod (path, 0640), ==, 0);
  g_assert_null (dsm_peer_auth_new (config, 2, f->dir, &error));
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "chmod 600"));
  g_clear_error (&error);

  /* Node 3's file does not exist. */
  g_assert_null (dsm_peer_auth_new (config, 3, f->dir, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);

  write_file (path, "short\n", 0600);
  g_assert_null (dsm_peer_auth_new (config, 2, f->dir, &error));
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID);
  g_clear_error (&error);

  /* "dsm-node --config cluster.json" names the folder "."; "sub/cluster.json", "sub". */
  write_file (path, "0123456789abcdef-two\n", 0600);
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *parent = g_path_get_dirname (f->dir);
  g_autofree char *base = g_path_get_basename (f->dir);
  g_assert_cmpint (g_chdir (f->dir), ==, 0);
  g_autoptr(DsmPeerAuth) from_dot = dsm_peer_auth_new (config, 2, ".", &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chdir (parent), ==, 0);
  g_autoptr(DsmPeerAuth) from_sub = dsm_peer_auth_new (config, 2, base, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chdir (cwd), ==, 0);
  secret = g_bytes_get_data (dsm_peer_auth_get_secret (from_dot), &n);
  g_assert_cmpmem (secret, n, "0123456789abcdef-two", 20);
  secret = g_bytes_get_data (dsm_peer_auth_get_secret (from_sub), &n);
  g_assert_cmpmem (secret, n, "0123456789abcdef-two", 20);
  g_autofree char *resolved = dsm_config_file_path ("secret-{id}", 2, base);
  g_assert_true (g_path_is_absolute (resolved));
  g_assert_true (g_str_has_suffix (resolved, "/secret-2"));

  g_autoptr(DsmConfig) inline_short = config_with ("\"secret\": \"short\"", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (dsm_peer_auth_new (inline_short, 1, NULL, &error));
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID);
}

/* Runs tools/dsm-certs (DSM_CERTS) with @args in @dir. */
static void
run_certs (const char *dir, const char *args)
{
  const char *certs = g_getenv ("DSM_CERTS");
  g_autofree char *command = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_nonnull (certs);
  command = g_strdup_printf ("%s %s --dir %s", certs, args, dir);
  g_assert_true (g_spawn_command_line_sync (command, &out, &err, &status, &error));
  g_assert_no_error (error);
  if (status != 0)
    g_error ("%s: %s", command, err);
}

static void
test_tls_files (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmConfig) config = config_with ("\"peer_tls_ca_file\": \"ca.crt\", "
                                             "\"peer_tls_cert_file\": \"peer-{id}.crt\", "
                                             "\"peer_tls_key_file\": \"peer-{id}.key\"", NULL, &error);

  g_test_summary ("The peer certificate, key and CA load with {id} per node; a certificate that does not "
                  "verify against the configured CA, or a missing file, stops the node at start.");
  g_assert_no_error (error);
  run_certs (f->dir, "peer --cluster test 1 2");
  g_autoptr(DsmPeerAuth) auth = dsm_peer_auth_new (config, 1, f->dir, &error);
  g_assert_no_error (error);
  g_assert_true (dsm_peer_auth_uses_tls (auth));
  g_assert_cmpstr (dsm_peer_auth_describe (auth), ==, "tls");

  /* Node 3 has no certificate. */
  g_assert_null (dsm_peer_auth_new (config, 3, f->dir, &error));
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "peer-3.crt"));
  g_clear_error (&error);

  /* Another CA's certificate for node 2. */
  g_autofree char *other = g_build_filename (f->dir, "other", NULL);
  g_assert_cmpint (g_mkdir (other, 0700), ==, 0);
  run_certs (other, "peer --cluster test 2");
  g_autofree char *from = g_build_filename (other, "peer-2.crt", NULL);
  g_autofree char *to = g_build_filename (f->dir, "peer-2.crt", NULL);
  g_autofree char *from_key = g_build_filename (other, "peer-2.key", NULL);
  g_autofree char *to_key = g_build_filename (f->dir, "peer-2.key", NULL);
  g_assert_cmpint (g_rename (from, to), ==, 0);
  g_assert_cmpint (g_rename (from_key, to_key), ==, 0);
  g_assert_null (dsm_peer_auth_new (config, 2, f->dir, &error));
  g_assert_error (error, DSM_CONFIG_ERROR, DSM_CONFIG_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "does not verify"));
  const char *left[] = { "ca.crt", "ca.key", "ca.srl", "peer-1.crt", "peer-1.key", "peer-2.crt", "peer-2.key" };
  for (guint i = 0; i < G_N_ELEMENTS (left); i++)
    {
      g_autofree char *p = g_build_filename (other, left[i], NULL);
      g_remove (p);
    }
  g_rmdir (other);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/net/auth/no-auth-refused", Fixture, NULL, fixture_set_up, test_no_auth_refused, fixture_tear_down);
  g_test_add ("/net/auth/insecure-rules", Fixture, NULL, fixture_set_up, test_insecure_rules, fixture_tear_down);
  g_test_add ("/net/auth/key-rules", Fixture, NULL, fixture_set_up, test_key_rules, fixture_tear_down);
  g_test_add ("/net/auth/secret-file", Fixture, NULL, fixture_set_up, test_secret_file, fixture_tear_down);
  g_test_add ("/net/auth/tls-files", Fixture, NULL, fixture_set_up, test_tls_files, fixture_tear_down);
  return g_test_run ();
}
