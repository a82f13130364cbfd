/* tests/net/test-http-route.c: the HTTP API's worker side without sockets
 * (dsm_http_api_route()): what a parsed request becomes, a refusal or a
 * command for the consensus loop. */
#include <glib/gstdio.h>
#include <string.h>

#include "http-parser.h"
#include "http.h"

#define TOKEN_WRITE "route-write-token-0123456789"
#define TOKEN_READ "route-read-token-01234567890"

typedef struct {
  char *dir;
  DsmConfig *config;
  DsmHttpApi *api;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  const char *http = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *tokens = NULL;
  g_autofree char *text = g_strdup_printf (
    "{\"cluster_id\": \"t\", \"secret\": \"a secret of the test cluster\", \"nodes\": ["
    "{\"id\": 1, \"peer_address\": \"127.0.0.1:7001\", \"client_address\": \"127.0.0.1:7101\"}],"
    " \"http\": %s}", http);

  f->dir = g_dir_make_tmp ("dsm-route-XXXXXX", &error);
  g_assert_no_error (error);
  tokens = g_build_filename (f->dir, "tokens", NULL);
  g_assert_true (g_file_set_contents_full (tokens, "write " TOKEN_WRITE " app\nread " TOKEN_READ "\n", -1,
                                           G_FILE_SET_CONTENTS_NONE, 0600, &error));
  f->config = dsm_config_new_from_data (text, -1, NULL, NULL, &error);
  g_assert_no_error (error);
  f->api = dsm_http_api_new_detached (f->config, 1, f->dir, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_autofree char *tokens = g_build_filename (f->dir, "tokens", NULL);

  dsm_http_api_free (f->api);
  dsm_config_unref (f->config);
  g_unlink (tokens);
  g_rmdir (f->dir);
  g_free (f->dir);
}

/* Parses @text (one whole request) and routes it from @peer. */
static void
route (Fixture *f, const char *text, const char *peer, DsmHttpRouted *out)
{
  DsmHttpParserLimits limits = { 1024, 4096, 32, 4096 };
  g_autoptr(DsmHttpParser) parser = dsm_http_parser_new (&limits);
  g_autoptr(GError) error = NULL;
  gsize used = 0;
  DsmHttpFeedResult result = dsm_http_parser_feed (parser, (const guint8 *) text, strlen (text), &used, &error);

  g_assert_no_error (error);
  if (result == DSM_HTTP_FEED_HEAD)
    {
      gsize more = 0;
      result = dsm_http_parser_feed (parser, (const guint8 *) text + used, strlen (text) - used, &more, &error);
      used += more;
    }
  g_assert_no_error (error);
  g_assert_cmpint (result, ==, DSM_HTTP_FEED_DONE);
  g_assert_cmpuint (used, ==, strlen (text));
  dsm_http_api_route (f->api, dsm_http_parser_take (parser), peer, out);
}

static void
test_post_becomes_command (Fixture *f, gconstpointer data)
{
  const char *body = "{\"to\":\"Running\",\"client_id\":\"c1\",\"seq\":3}";
  g_autofree char *text = g_strdup_printf ("POST /v1/machines/pump%%2F1 HTTP/1.1\r\nHost: n\r\n"
                                           "Authorization: Bearer " TOKEN_WRITE "\r\n"
                                           "Content-Length: %zu\r\n\r\n%s", strlen (body), body);
  DsmHttpRouted routed;

  g_test_summary ("A POST with a write token is handed to the loop as the transition its path "
                  "and body say, the machine name percent-decoded.");
  route (f, text, "192.0.2.1", &routed);
  g_assert_cmpuint (routed.status, ==, 0);
  g_assert_cmpstr (routed.op, ==, "submit");
  g_assert_cmpint (routed.cmd.op, ==, DSM_OP_TRANSITION);
  g_assert_cmpstr (routed.cmd.machine, ==, "pump/1");
  g_assert_cmpstr (routed.cmd.to, ==, "Running");
  g_assert_cmpstr (routed.cmd.client_id, ==, "c1");
  g_assert_cmpuint (routed.cmd.seq, ==, 3);
  dsm_http_routed_clear (&routed);
}

static void
test_refusals_answered_by_worker (Fixture *f, gconstpointer data)
{
#define POST(auth) "POST /v1/machines/m HTTP/1.1\r\nHost: n\r\n" auth "Content-Length: 16\r\n\r\n{\"to\":\"Running\"}"
  const char *no_token = POST ("");
  const char *read_token = POST ("Authorization: Bearer " TOKEN_READ "\r\n");
#undef POST
  DsmHttpRouted routed;

  g_test_summary ("What the worker refuses never reaches the loop: no token 401, a read token on "
                  "a POST 403, the machine '..' 400, /healthz open to anyone.");
  route (f, no_token, "192.0.2.1", &routed);
  g_assert_cmpuint (routed.status, ==, 401);
  g_assert_null (routed.op);
  g_assert_nonnull (strstr (routed.body, "\"reason\":\"unauthorized\""));
  dsm_http_routed_clear (&routed);

  route (f, read_token, "192.0.2.1", &routed);
  g_assert_cmpuint (routed.status, ==, 403);
  dsm_http_routed_clear (&routed);

  route (f, "GET /v1/machines/%2E%2E HTTP/1.1\r\nHost: n\r\nAuthorization: Bearer " TOKEN_READ "\r\n\r\n",
         "192.0.2.1", &routed);
  g_assert_cmpuint (routed.status, ==, 400);
  g_assert_nonnull (strstr (routed.body, "bad_name"));
  dsm_http_routed_clear (&routed);

  route (f, "GET /healthz HTTP/1.1\r\nHost: n\r\n\r\n", "192.0.2.1", &routed);
  g_assert_cmpuint (routed.status, ==, 0);
  g_assert_cmpstr (routed.op, ==, "healthz");
  dsm_http_routed_clear (&routed);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, http, func) g_test_add (path, Fixture, http, fixture_set_up, func, fixture_tear_down)
  ADD ("/net/http-route/post-becomes-command", "{\"token_file\": \"tokens\"}", test_post_becomes_command);
  ADD ("/net/http-route/refusals-answered-by-worker", "{\"token_file\": \"tokens\"}", test_refusals_answered_by_worker);
#undef ADD
  return g_test_run ();
}
