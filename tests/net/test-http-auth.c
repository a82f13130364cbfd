/* tests/net/test-http-auth.c: the token file reader, token and
 * certificate roles, and the per-client token buckets, without sockets. */
#include <glib/gstdio.h>
#include <string.h>

#include "http-auth.h"
#include "http-rate.h"

static char *
write_tokens (const char *text, int mode)
{
  g_autoptr(GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("dsm-tokens-XXXXXX", &path, &error);

  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_NONE, mode, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  return path;
}

static void
test_roles_from_file (void)
{
  g_autofree char *path = write_tokens ("# comment\n\nadmin AAAAAAAAAAAAAAAA1 ops\n"
                                        "write  BBBBBBBBBBBBBBBB2\t writer\nread CCCCCCCCCCCCCCCC3==\n", 0600);
  g_autoptr(DsmHttpAuth) auth = dsm_http_auth_new ();
  g_autoptr(GError) error = NULL;
  const char *name = NULL;

  g_test_summary ("A token file gives each token its role and name (line-N when unnamed); an unknown or "
                  "near-miss token has no role.");
  g_assert_true (dsm_http_auth_load_tokens (auth, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_http_auth_get_n_tokens (auth), ==, 3);
  g_assert_cmpint (dsm_http_auth_check_token (auth, "AAAAAAAAAAAAAAAA1", &name), ==, DSM_HTTP_ROLE_ADMIN);
  g_assert_cmpstr (name, ==, "ops");
  g_assert_cmpint (dsm_http_auth_check_token (auth, "BBBBBBBBBBBBBBBB2", &name), ==, DSM_HTTP_ROLE_WRITE);
  g_assert_cmpstr (name, ==, "writer");
  g_assert_cmpint (dsm_http_auth_check_token (auth, "CCCCCCCCCCCCCCCC3==", &name), ==, DSM_HTTP_ROLE_READ);
  g_assert_cmpstr (name, ==, "line-5");
  g_assert_cmpint (dsm_http_auth_check_token (auth, "AAAAAAAAAAAAAAAA", &name), ==, DSM_HTTP_ROLE_NONE);
  g_assert_null (name);
  g_assert_cmpint (dsm_http_auth_check_token (auth, "AAAAAAAAAAAAAAAA1 ", NULL), ==, DSM_HTTP_ROLE_NONE);
  g_assert_cmpint (dsm_http_auth_check_token (auth, "", NULL), ==, DSM_HTTP_ROLE_NONE);
  g_assert_cmpint (g_remove (path), ==, 0);
}

typedef struct {
  const char *name;
  const char *text;
  int mode;
  const char *message;
} BadFile;

static void
test_bad_files (void)
{
  static const BadFile cases[] = {
    { "group-readable", "admin AAAAAAAAAAAAAAAA1\n", 0640, "chmod 600" },
    { "world-readable", "admin AAAAAAAAAAAAAAAA1\n", 0604, "chmod 600" },
    { "bad-role", "root AAAAAAAAAAAAAAAA1\n", 0600, "line 1: role \"root\"" },
    { "short-token", "read short\n", 0600, "line 1: a token is 16" },
    { "bad-token-char", "read AAAAAAAAAAAAAAAA\"1\n", 0600, "line 1: a token is" },
    { "padding-inside", "read AAAAAAAA=AAAAAAAA\n", 0600, "line 1: a token is" },
    { "one-field", "AAAAAAAAAAAAAAAA1\n", 0600, "line 1: expected" },
    { "four-fields", "read AAAAAAAAAAAAAAAA1 a b\n", 0600, "line 1: expected" },
    { "bad-name", "read AAAAAAAAAAAAAAAA1 a:b\n", 0600, "line 1: a name" },
    { "same-token", "read AAAAAAAAAAAAAAAA1\nwrite AAAAAAAAAAAAAAAA1\n", 0600, "line 2: the same token" },
    { "same-name", "read AAAAAAAAAAAAAAAA1 x\nwrite AAAAAAAAAAAAAAAA2 x\n", 0600, "line 2: the same" },
    { "empty", "# nothing\n", 0600, "no token" },
  };

  g_test_summary ("A token file others may read, or with a bad role, token, name or a repeat, is refused "
                  "naming the line, and the message never holds the token.");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = write_tokens (cases[i].text, cases[i].mode);
      g_autoptr(DsmHttpAuth) auth = dsm_http_auth_new ();
      g_autoptr(GError) error = NULL;

      g_assert_false (dsm_http_auth_load_tokens (auth, path, &error));
      g_assert_nonnull (error);
      if (strstr (error->message, cases[i].message) == NULL || strstr (error->message, "AAAAAAAAAAAAAAAA") != NULL)
        g_error ("%s: %s", cases[i].name, error->message);
      g_assert_cmpint (g_remove (path), ==, 0);
    }
}

static void
test_missing_file (void)
{
  g_autoptr(DsmHttpAuth) auth = dsm_http_auth_new ();
  g_autoptr(GError) error = NULL;

  g_test_summary ("A token file that is not there is an error naming it.");
  g_assert_false (dsm_http_auth_load_tokens (auth, "/nonexistent/dsm-tokens", &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_nonnull (strstr (error->message, "/nonexistent/dsm-tokens"));
}

static void
test_common_name (void)
{
  g_test_summary ("The CN is read from an RFC 4514 subject, escapes undone; a subject without one has none.");
  const char *subjects[] = { "CN=ops,O=dsm", "O=dsm,CN=admin", "O=a\\,b,cn=x\\,y", "O=dsm", "" };
  const char *names[] = { "ops", "admin", "x,y", NULL, NULL };

  for (guint i = 0; i < G_N_ELEMENTS (subjects); i++)
    {
      g_autofree char *cn = dsm_http_auth_common_name (subjects[i]);
      g_assert_cmpstr (cn, ==, names[i]);
    }
}

static void
test_rate_bucket (void)
{
  g_autoptr(DsmHttpRate) rate = dsm_http_rate_new (2, 3);
  g_autoptr(DsmHttpRate) unlimited = dsm_http_rate_new (0, 1);
  guint retry;
  gint64 t = 1000000;

  g_test_summary ("A bucket lets a burst through, then refuses with the seconds until a token is back, "
                  "refills at the rate, keeps keys apart; rate 0 never refuses.");
  for (guint i = 0; i < 3; i++)
    g_assert_true (dsm_http_rate_take (rate, "a", t, &retry));
  g_assert_false (dsm_http_rate_take (rate, "a", t, &retry));
  g_assert_cmpuint (retry, ==, 1);
  g_assert_true (dsm_http_rate_take (rate, "b", t, &retry));
  g_assert_true (dsm_http_rate_take (rate, "a", t + 500000, &retry));
  g_assert_false (dsm_http_rate_take (rate, "a", t + 500000, &retry));
  g_assert_cmpuint (dsm_http_rate_get_refused (rate), ==, 2);
  for (guint i = 0; i < 100; i++)
    g_assert_true (dsm_http_rate_take (unlimited, "a", t, &retry));
}

static void
test_rate_many_keys (void)
{
  g_autoptr(DsmHttpRate) rate = dsm_http_rate_new (1, 1);
  guint retry;

  g_test_summary ("More keys than the table holds share one bucket once no full bucket can be forgotten, so "
                  "a flood of sources costs bounded memory.");
  for (guint i = 0; i < DSM_HTTP_RATE_KEYS_MAX; i++)
    {
      g_autofree char *key = g_strdup_printf ("k%u", i);
      g_assert_true (dsm_http_rate_take (rate, key, 0, &retry));
    }
  g_assert_true (dsm_http_rate_take (rate, "new-1", 0, &retry));
  g_assert_false (dsm_http_rate_take (rate, "new-2", 0, &retry));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/http-auth/roles-from-file", test_roles_from_file);
  g_test_add_func ("/net/http-auth/bad-files", test_bad_files);
  g_test_add_func ("/net/http-auth/missing-file", test_missing_file);
  g_test_add_func ("/net/http-auth/common-name", test_common_name);
  g_test_add_func ("/net/http-auth/rate-bucket", test_rate_bucket);
  g_test_add_func ("/net/http-auth/rate-many-keys", test_rate_many_keys);
  return g_test_run ();
}
