/* tests/net/test-http.c: the HTTP front end of a real dsm-node against
 * raw TCP: every limit answered with its status before the bytes it
 * refuses are read, timeouts, connection caps, the rate limit, keep-alive
 * and pipelining in order, and strict queries, bodies and machine names.
 * No timing is asserted: every wait has a budget. */
#include <string.h>

#include "cluster.h"
#include "raw-http.h"

#define BUDGET_MS 10000

/* One node with short timeouts and small limits, shared by the tests that
 * leave it as they found it. */
#define LIMITS_CONFIG "\"http\": { \"header_timeout_ms\": 500, \"body_timeout_ms\": 500, \"idle_timeout_ms\": 800, " \
                      "\"write_timeout_ms\": 500, \"max_request_line_bytes\": 1024, \"max_header_bytes\": 4096, " \
                      "\"max_pipelined_requests\": 4 }"

static Cluster *limits_cluster;

static guint16
port (void)
{
  return limits_cluster->client_port[1];
}

/* Sends @request on a fresh connection; returns the first response. */
static RawResponse
exchange (const char *request)
{
  g_autoptr(RawConn) r = raw_connect (port (), NULL);

  raw_send_str (r, request);
  return raw_read_response (r, BUDGET_MS);
}

static void
assert_refused (const char *request, guint status, const char *reason)
{
  g_autoptr(RawConn) r = raw_connect (port (), NULL);
  RawResponse response;
  g_autofree char *connection = NULL;
  g_autofree char *expected = g_strdup_printf ("\"reason\":\"%s\"", reason);

  raw_send_str (r, request);
  response = raw_read_response (r, BUDGET_MS);
  if (response.status != status || strstr (response.body, expected) == NULL)
    g_error ("%.60s...: got %u %s, expected %u %s", request, response.status, response.body, status, reason);
  g_assert_nonnull (strstr (response.body, "\"error\":"));
  connection = raw_response_header (&response, "Connection");
  g_assert_cmpstr (connection, ==, "close");
  g_assert_true (raw_wait_closed (r, BUDGET_MS));
  raw_response_clear (&response);
}

static void
test_content_length_refusals (void)
{
  g_test_summary ("A negative, non-numeric, repeated or conflicting Content-Length is 400 and one past the "
                  "body limit 413, answered from the head alone, and the connection closes.");
  assert_refused ("POST /v1/machines/m HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "bad_length");
  assert_refused ("POST /v1/machines/m HTTP/1.1\r\nHost: x\r\nContent-Length: 12ab\r\n\r\n", 400, "bad_length");
  assert_refused ("POST /v1/machines/m HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
                  400, "bad_length");
  assert_refused ("POST /v1/machines/m HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
                  400, "bad_request");
  /* 2^63 and more: too large, not a wrapped negative. */
  assert_refused ("POST /v1/machines/m HTTP/1.1\r\nHost: x\r\nContent-Length: 9223372036854775808\r\n\r\n", 413,
                  "body_too_large");
  assert_refused ("POST /v1/machines/m HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not_implemented");
}

static void
test_huge_body_refused_unread (void)
{
  g_autoptr(RawConn) r = raw_connect (port (), NULL);
  g_autofree char *chunk = g_strnfill (64 * 1024, 'x');
  RawResponse response;

  g_test_summary ("A 100 MB Content-Length is answered 413 before the client sends a byte of the body; what "
                  "the client sends anyway is dropped, not buffered, and the connection closes.");
  raw_send_str (r, "POST /v1/machines/m HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n");
  response = raw_read_response (r, BUDGET_MS);
  g_assert_cmpuint (response.status, ==, 413);
  g_assert_nonnull (strstr (response.body, "body_too_large"));
  /* The client goes on sending regardless: the node drops it and closes. */
  for (guint i = 0; i < 64 && raw_send (r, chunk, 64 * 1024); i++)
    ;
  g_assert_true (raw_wait_closed (r, BUDGET_MS));
  raw_response_clear (&response);
}

static void
test_chunked (void)
{
  RawResponse ok = exchange ("POST /v1/machines/chunky HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "5\r\n{\"to\"\r\nb\r\n:\"Running\"}\r\n0\r\n\r\n");
  g_autofree char *big = g_strdup_printf ("POST /v1/machines/m HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                          "\r\n%x\r\n", 65537);

  g_test_summary ("A chunked body is joined and served; chunks past the body limit are 413 as soon as the "
                  "chunk size says so.");
  g_assert_cmpuint (ok.status, ==, 200);
  g_assert_nonnull (strstr (ok.body, "\"state\":\"Running\""));
  raw_response_clear (&ok);
  assert_refused (big, 413, "body_too_large");
}

static void
test_oversized_heads (void)
{
  g_autofree char *a = g_strnfill (2000, 'a');
  g_autofree char *b = g_strnfill (200 * 1024, 'b');
  g_autofree char *line = g_strdup_printf ("GET /v1/machines/%s HTTP/1.1\r\nHost: x\r\n\r\n", a);
  g_autofree char *header = g_strdup_printf ("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", b);

  g_test_summary ("A request line past its limit is 414 and a 200 KB header 431, each refused without "
                  "reading the rest.");
  assert_refused (line, 414, "uri_too_long");
  assert_refused (header, 431, "header_too_large");
}

static void
test_not_http (void)
{
  /* The first bytes of a TLS 1.2/1.3 ClientHello. */
  static const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

  g_test_summary ("A TLS ClientHello on the plain port is 400 not_http at its first byte, and the connection "
                  "closes; so is an HTTP/2 preface 505 and a request without Host 400.");
  assert_refused (hello, 400, "not_http");
  assert_refused ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "version_not_supported");
  assert_refused ("GET /healthz HTTP/1.1\r\n\r\n", 400, "bad_request");
}

static void
test_header_timeout (void)
{
  g_autoptr(RawConn) r = raw_connect (port (), NULL);
  RawResponse response = { 0 };

  g_test_summary ("Slowloris: a head sent one header line at a time, each well within the timeout, is still "
                  "cut off by http.header_timeout_ms for the whole head: 408, then close.");
  raw_send_str (r, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
  for (guint i = 0; i < 200 && response.status == 0 && !r->closed; i++)
    {
      /* A line, then up to 100 ms for the node's verdict. */
      if (!raw_send_str (r, "X-Slow: 1\r\n"))
        break;
      raw_wait (r, 100);
      response = raw_read_response (r, 0);
    }
  if (response.status == 0)
    response = raw_read_response (r, BUDGET_MS);
  g_assert_cmpuint (response.status, ==, 408);
  g_assert_nonnull (strstr (response.body, "header_timeout_ms"));
  g_assert_true (raw_wait_closed (r, BUDGET_MS));
  raw_response_clear (&response);
}

static void
test_body_and_idle_timeouts (void)
{
  g_autoptr(RawConn) body = raw_connect (port (), NULL);
  g_autoptr(RawConn) idle = NULL;
  g_autoptr(RawConn) silent = NULL;
  RawResponse response;

  g_test_summary ("A body that stops short is 408 after http.body_timeout_ms; a kept-alive connection idle "
                  "past http.idle_timeout_ms, and one that never sends a byte, are closed.");
  raw_send_str (body, "POST /v1/machines/m HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n{\"to\"");
  response = raw_read_response (body, BUDGET_MS);
  g_assert_cmpuint (response.status, ==, 408);
  g_assert_nonnull (strstr (response.body, "body_timeout_ms"));
  g_assert_true (raw_wait_closed (body, BUDGET_MS));
  raw_response_clear (&response);

  idle = raw_connect (port (), NULL);
  raw_send_str (idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  response = raw_read_response (idle, BUDGET_MS);
  g_assert_cmpuint (response.status, ==, 200);
  g_assert_true (raw_wait_closed (idle, BUDGET_MS));
  g_assert_cmpuint (idle->in->len, ==, 0);
  raw_response_clear (&response);

  silent = raw_connect (port (), NULL);
  g_assert_true (raw_wait_closed (silent, BUDGET_MS));
}

static double
metric (Cluster *c, const char *key)
{
  guint status;
  g_autofree char *text = cluster_http_text (c, 1, "/metrics", &status);
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) samples = NULL;
  double *value;

  g_assert_cmpuint (status, ==, 200);
  samples = prometheus_parse (text, &error);
  g_assert_no_error (error);
  value = g_hash_table_lookup (samples, key);
  return value != NULL ? *value : -1;
}

static void
test_write_timeout (void)
{
  g_autoptr(RawConn) r = raw_connect_with_rcvbuf (port (), 1024);
  const char *key = "dsm_http_timeouts_total{node=\"1\",kind=\"write\"}";
  double before = metric (limits_cluster, key);
  gint64 deadline = g_get_monotonic_time () + BUDGET_MS * 1000;
  GString *pipeline = g_string_new (NULL);

  g_test_summary ("A client that sends requests and never reads the answers is cut off by "
                  "http.write_timeout_ms once its backlog is full; the node does not buffer without bound.");
  for (guint i = 0; i < 400; i++)
    g_string_append (pipeline, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  /* The node stops reading once answers pile up: the send may stall. */
  raw_send (r, pipeline->str, pipeline->len);
  g_string_free (pipeline, TRUE);
  while (metric (limits_cluster, key) <= before && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  g_assert_cmpfloat (metric (limits_cluster, key), >, before);
}

static void
test_keep_alive_and_pipelining (void)
{
  g_autoptr(RawConn) r = raw_connect (port (), NULL);
  const char *names[] = { "p1", "p2", "p3", "p4", "p5", "p6" };
  GString *pipeline = g_string_new (NULL);

  g_test_summary ("Six requests written at once on one connection (more than http.max_pipelined_requests) are "
                  "all answered, in order, on that connection, which stays open.");
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_string_append_printf (pipeline, "POST /v1/machines/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n"
                                      "{\"to\":\"Running\"}", names[i]);
  g_assert_true (raw_send (r, pipeline->str, pipeline->len));
  g_string_free (pipeline, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      RawResponse response = raw_read_response (r, BUDGET_MS);
      g_autofree char *expected = g_strdup_printf ("\"machine\":\"%s\"", names[i]);
      g_assert_cmpuint (response.status, ==, 200);
      g_assert_nonnull (strstr (response.body, expected));
      raw_response_clear (&response);
    }
  /* Still open: one more request on it. */
  raw_send_str (r, "GET /v1/machines/p6?stale=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  RawResponse last = raw_read_response (r, BUDGET_MS);
  g_assert_cmpuint (last.status, ==, 200);
  raw_response_clear (&last);
}

static void
test_expect_continue (void)
{
  g_autoptr(RawConn) ok = raw_connect (port (), NULL);
  RawResponse interim, final;

  g_test_summary ("Expect: 100-continue gets 100 Continue once the head is accepted, then the answer; a "
                  "refused head gets its refusal instead, without the 100.");
  raw_send_str (ok, "POST /v1/machines/cont HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 16\r\n\r\n");
  interim = raw_read_response (ok, BUDGET_MS);
  g_assert_cmpuint (interim.status, ==, 100);
  raw_send_str (ok, "{\"to\":\"Running\"}");
  final = raw_read_response (ok, BUDGET_MS);
  g_assert_cmpuint (final.status, ==, 200);
  raw_response_clear (&interim);
  raw_response_clear (&final);
  assert_refused ("POST /v1/machines/m HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n",
                  413, "body_too_large");
}

static void
test_http10 (void)
{
  g_autoptr(RawConn) r = raw_connect (port (), NULL);
  RawResponse response;
  g_autofree char *connection = NULL;

  g_test_summary ("An HTTP/1.0 request without keep-alive is answered and the connection closed.");
  raw_send_str (r, "GET /healthz HTTP/1.0\r\n\r\n");
  response = raw_read_response (r, BUDGET_MS);
  g_assert_cmpuint (response.status, ==, 200);
  connection = raw_response_header (&response, "Connection");
  g_assert_cmpstr (connection, ==, "close");
  g_assert_true (raw_wait_closed (r, BUDGET_MS));
  raw_response_clear (&response);
}

typedef struct {
  const char *request;
  guint status;
  const char *reason;
  const char *names;            /* a piece of the error message: the field it names */
} StrictCase;

static void
test_strict_input (void)
{
  static const StrictCase cases[] = {
    { "GET /v1/machines/m?stale=abc HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request", "stale" },
    { "GET /v1/machines/m?stale=1&stale=1 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request", "stale" },
    { "GET /v1/machines/m?colour=red HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request", "colour" },
    { "GET /v1/machines/m?stale=%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request", "stale=%zz" },
    { "POST /v1/machines/m?stale=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n{\"to\":\"Running\"}", 400,
      "bad_request", "stale" },
    { "GET /healthz?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request", "verbose" },
    { "POST /v1/machines/m HTTP/1.1\r\nHost: x\r\nContent-Length: 28\r\n\r\n{\"to\":\"Running\",\"to\":\"Init\"}", 400,
      "bad_json", "to: duplicate key" },
    { "POST /v1/machines/m HTTP/1.1\r\nHost: x\r\nContent-Length: 31\r\n\r\n{\"to\":\"Running\",\"colour\":\"red\"}",
      400, "bad_request", "colour" },
    { "GET /v1/machines/%2E%2E HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_name", ".." },
    { "GET /v1/machines/. HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_name", "\\\".\\\"" },
    { "POST /v1/machines/ HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n{\"to\":\"Running\"}", 405,
      "method_not_allowed", "POST" },
    { "GET /v1/machines/a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_name", "machine name" },
    { "GET /v1/machines/m HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", 400, "bad_request", "GET" },
    { "DELETE /v1/machines/m HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed", "DELETE" },
  };

  g_test_summary ("Malformed, repeated and unknown query parameters, duplicate and unknown JSON keys, the "
                  "machine names . and .., and bodies on GET are 400 (or 405) naming what is wrong.");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      RawResponse response = exchange (cases[i].request);
      g_autofree char *reason = g_strdup_printf ("\"reason\":\"%s\"", cases[i].reason);
      if (response.status != cases[i].status || response.body == NULL || strstr (response.body, reason) == NULL
          || strstr (response.body, cases[i].names) == NULL)
        g_error ("case %u (%.50s): got %u %s, expected %u %s naming %s", i, cases[i].request, response.status,
                 response.body, cases[i].status, cases[i].reason, cases[i].names);
      raw_response_clear (&response);
    }
}

/* Opens a connection from @source and has one request served on it, so
 * the node has surely counted it; NULL (closed) when the node refused it. */
static RawConn *
hold_connection (guint16 client_port, const char *source, RawResponse *refusal)
{
  RawConn *r = raw_connect (client_port, source);
  RawResponse response;

  raw_send_str (r, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  response = raw_read_response (r, BUDGET_MS);
  if (response.status == 200)
    {
      raw_response_clear (&response);
      return r;
    }
  g_assert_cmpuint (response.status, ==, 503);
  g_assert_true (raw_wait_closed (r, BUDGET_MS));
  raw_close (r);
  *refusal = response;
  return NULL;
}

static void
test_connection_caps (void)
{
  g_autoptr(Cluster) c = cluster_new_with_config (1, "\"http\": { \"max_connections\": 5, "
                                                     "\"max_connections_per_address\": 3 }");
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func ((GDestroyNotify) raw_close);
  RawResponse refusal = { 0 };
  RawConn *r;

  g_test_summary ("Past http.max_connections_per_address a connection from that address gets 503 and is "
                  "closed; past http.max_connections one from any address does.");
  for (guint i = 0; i < 3; i++)
    {
      r = hold_connection (c->client_port[1], "127.0.0.11", &refusal);
      g_assert_nonnull (r);
      g_ptr_array_add (held, r);
    }
  g_assert_null (hold_connection (c->client_port[1], "127.0.0.11", &refusal));
  g_assert_nonnull (strstr (refusal.body, "your address"));
  raw_response_clear (&refusal);
  /* One connection from each of other addresses, until the node is full
   * (the test's own HTTP client may hold one too). */
  for (guint i = 12; i < 20 && refusal.status == 0; i++)
    {
      g_autofree char *source = g_strdup_printf ("127.0.0.%u", i);
      if ((r = hold_connection (c->client_port[1], source, &refusal)) != NULL)
        g_ptr_array_add (held, r);
    }
  g_assert_cmpuint (refusal.status, ==, 503);
  g_assert_nonnull (strstr (refusal.body, "this node"));
  g_assert_cmpuint (held->len, <=, 5);
  raw_response_clear (&refusal);
}

static void
test_rate_limit (void)
{
  g_autoptr(Cluster) c = cluster_new_with_config (1, "\"http\": { \"rate_per_second\": 1, \"rate_burst\": 3 }");
  g_autoptr(RawConn) r = raw_connect (c->client_port[1], NULL);
  RawResponse limited = { 0 };

  g_test_summary ("Requests past the token bucket (http.rate_per_second, http.rate_burst) of one client get "
                  "429 with Retry-After and the JSON error shape.");
  for (guint i = 0; i < 20 && limited.status != 429; i++)
    {
      raw_response_clear (&limited);
      raw_send_str (r, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      limited = raw_read_response (r, BUDGET_MS);
      g_assert_true (limited.status == 200 || limited.status == 429);
    }
  g_assert_cmpuint (limited.status, ==, 429);
  g_assert_nonnull (strstr (limited.body, "\"reason\":\"rate_limited\""));
  g_autofree char *retry = raw_response_header (&limited, "Retry-After");
  g_assert_nonnull (retry);
  g_assert_cmpuint (g_ascii_strtoull (retry, NULL, 10), >=, 1);
  raw_response_clear (&limited);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/http/content-length-refusals", test_content_length_refusals);
  g_test_add_func ("/net/http/huge-body-refused-unread", test_huge_body_refused_unread);
  g_test_add_func ("/net/http/chunked", test_chunked);
  g_test_add_func ("/net/http/oversized-heads", test_oversized_heads);
  g_test_add_func ("/net/http/not-http", test_not_http);
  g_test_add_func ("/net/http/header-timeout", test_header_timeout);
  g_test_add_func ("/net/http/body-and-idle-timeouts", test_body_and_idle_timeouts);
  g_test_add_func ("/net/http/write-timeout", test_write_timeout);
  g_test_add_func ("/net/http/keep-alive-and-pipelining", test_keep_alive_and_pipelining);
  g_test_add_func ("/net/http/expect-continue", test_expect_continue);
  g_test_add_func ("/net/http/http10", test_http10);
  g_test_add_func ("/net/http/strict-input", test_strict_input);
  g_test_add_func ("/net/http/connection-caps", test_connection_caps);
  g_test_add_func ("/net/http/rate-limit", test_rate_limit);
  limits_cluster = cluster_new_with_config (1, LIMITS_CONFIG);
  status = g_test_run ();
  cluster_free_after_run (limits_cluster, status);
  return status;
}
