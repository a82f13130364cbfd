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
  char *name = NULL;

  g_test_summary ("A token file gives each token its role and name (line-N when unnamed); an unknown or "
                  "near-miss token has no role.");
  g_assert_true (dsm_http_auth_load_tokens (auth, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_http_auth_get_n_tokens (auth), ==, 3);
  g_assert_cmpint (dsm_http_auth_check_token (auth, "AAAAAAAAAAAAAAAA1", &name), ==, DSM_HTTP_ROLE_ADMIN);
  g_assert_cmpstr (name, ==, "ops");
  g_clear_pointer (&name, g_free);
  g_assert_cmpint (dsm_http_auth_check_token (auth, "BBBBBBBBBBBBBBBB2", &name), ==, DSM_HTTP_ROLE_WRITE);
  g_assert_cmpstr (name, ==, "writer");
  g_clear_pointer (&name, g_free);
  g_assert_cmpint (dsm_http_auth_check_token (auth, "CCCCCCCCCCCCCCCC3==", &name), ==, DSM_HTTP_ROLE_READ);
  g_assert_cmpstr (name, ==, "line-5");
  g_clear_pointer (&name, g_free);
  g_assert_cmpint (dsm_http_auth_check_token (auth, "AAAAAAAAAAAAAAAA", &name), ==, DSM_HTTP_ROLE_NONE);
  g_assert_null (name);
  g_assert_cmpint (dsm_http_auth_check_token (auth, "AAAAAAAAAAAAAAAA1 ", NULL), ==, DSM_HTTP_ROLE_NONE);
  g_assert_cmpint (dsm_http_auth_check_token (auth, "", NULL), ==, DSM_HTTP_ROLE_NONE);
  g_assert_cmpint (g_remove (path), ==, 0);
}

static void
test_reload (void)
{
  g_autofree char *path = write_tokens ("admin AAAAAAAAAAAAAAAA1 ops\n", 0600);
  g_autoptr(DsmHttpAuth) auth = dsm_http_auth_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;

  g_test_summary ("Loading the token file again replaces the whole set: a removed token has no role, a new "
                  "one has its own; a refused file (others may read it, a bad line) leaves the set in use "
                  "untouched; loads taken and refused are counted.");
  g_assert_true (dsm_http_auth_load_tokens (auth, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents_full (path, "write BBBBBBBBBBBBBBBB2 app\nread CCCCCCCCCCCCCCCC3\n", -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error));
  g_assert_true (dsm_http_auth_load_tokens (auth, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dsm_http_auth_get_n_tokens (auth), ==, 2);
  g_assert_cmpint (dsm_http_auth_check_token (auth, "AAAAAAAAAAAAAAAA1", NULL), ==, DSM_HTTP_ROLE_NONE);
  g_assert_cmpint (dsm_http_auth_check_token (auth, "BBBBBBBBBBBBBBBB2", &name), ==, DSM_HTTP_ROLE_WRITE);
  g_assert_cmpstr (name, ==, "app");

  g_assert_true (g_file_set_contents_full (path, "write BBBBBBBBBBBBBBBB2\nroot DDDDDDDDDDDDDDDD4\n", -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error));
  g_assert_false (dsm_http_auth_load_tokens (auth, path, &error));
  g_assert_nonnull (strstr (error->message, "line 2: role"));
  g_clear_error (&error);
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  g_assert_false (dsm_http_auth_load_tokens (auth, path, &error));
  g_assert_nonnull (strstr (error->message, "chmod 600"));
  g_assert_cmpuint (dsm_http_auth_get_n_tokens (auth), ==, 2);
  g_assert_cmpint (dsm_http_auth_check_token (auth, "CCCCCCCCCCCCCCCC3", NULL), ==, DSM_HTTP_ROLE_READ);
  g_assert_cmpuint (dsm_http_auth_get_reloads (auth, TRUE), ==, 2);
  g_assert_cmpuint (dsm_http_auth_get_reloads (auth, FALSE), ==, 2);
  g_assert_cmpint (g_remove (path), ==, 0);
}

typedef struct {
  DsmHttpAuth *auth;
  gint stop;
  guint lookups;
} Looker;

static gpointer
reload_race_look (gpointer data)
{
  Looker *l = data;

  while (!g_atomic_int_get (&l->stop))
    {
      g_autofree char *name = NULL;
      DsmHttpRole role = dsm_http_auth_check_token (l->auth, "AAAAAAAAAAAAAAAA1", &name);
      /* Either set knows this token, under one of its two names. */
      g_assert_cmpint (role, ==, DSM_HTTP_ROLE_ADMIN);
      g_assert_true (g_strcmp0 (name, "one") == 0 || g_strcmp0 (name, "two") == 0);
      l->lookups++;
    }
  return NULL;
}

static void
test_reload_while_looking (void)
{
  g_autofree char *one = write_tokens ("admin AAAAAAAAAAAAAAAA1 one\n", 0600);
  g_autofree char *two = write_tokens ("read BBBBBBBBBBBBBBBB2\nadmin AAAAAAAAAAAAAAAA1 two\n", 0600);
  g_autoptr(DsmHttpAuth) auth = dsm_http_auth_new ();
  Looker looker = { .auth = auth };

  g_test_summary ("Workers looking tokens up while the set is reloaded over and over always see one whole "
                  "set or the other, and the names they are given stay theirs (the sanitizer build would "
                  "see a name freed under them).");
  g_assert_true (dsm_http_auth_load_tokens (auth, one, NULL));
  GThread *thread = g_thread_new ("look", reload_race_look, &looker);
  for (guint i = 0; i < 200; i++)
    g_assert_true (dsm_http_auth_load_tokens (auth, i % 2 == 0 ? two : one, NULL));
  g_atomic_int_set (&looker.stop, 1);
  g_thread_join (thread);
  g_assert_cmpuint (dsm_http_auth_get_reloads (auth, TRUE), ==, 201);
  g_assert_cmpint (g_remove (one), ==, 0);
  g_assert_cmpint (g_remove (two), ==, 0);
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
  g_test_add_func ("/net/http-auth/reload", test_reload);
  g_test_add_func ("/net/http-auth/reload-while-looking", test_reload_while_looking);
  g_test_add_func ("/net/http-auth/bad-files", test_bad_files);
  g_test_add_func ("/net/http-auth/missing-file", test_missing_file);
  g_test_add_func ("/net/http-auth/common-name", test_common_name);
  g_test_add_func ("/net/http-auth/rate-bucket", test_rate_bucket);
  g_test_add_func ("/net/http-auth/rate-many-keys", test_rate_many_keys);
  return g_test_run ();
}
