/* fuzz/fuzz-http.c: the HTTP request -> command path without sockets:
 * the request parser (net/http-parser*.c) on a byte stream of pipelined
 * requests, then each complete request through what a worker does with
 * it (net/http-route.c: routing, credentials, strict query and body).
 * Every request ends either answered by the worker (a 4xx with the JSON
 * error shape) or handed to the loop as a command that passes the core's
 * own checks.
 *
 * Input: [flags][bytes]; flags bit 0: the API has bearer tokens (the
 * tokens of fuzz/corpus/http are those of tokens_text below), bit 1: the
 * client is not on loopback, bits 2-4: bytes per parser feed. */
#include "fuzz.h"

#include <glib/gstdio.h>

#include "codec.h"
#include "http-parser.h"
#include "http.h"

static const char tokens_text[] =
  "admin  fuzz-admin-token-01234567890  ops\n"
  "write  fuzz-write-token-0123456789  app\n"
  "read   fuzz-read-token-01234567890  prometheus\n";

static const size_t feed_sizes[] = { 65536, 1, 2, 3, 5, 16, 100, 1000 };

static DsmConfig *open_config, *token_config;

static DsmConfig *
fuzz_http_config (const char *http)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strdup_printf (
    "{\"cluster_id\": \"fuzz\", \"nodes\": ["
    "{\"id\": 1, \"peer_address\": \"127.0.0.1:7001\", \"client_address\": \"127.0.0.1:7101\"},"
    "{\"id\": 2, \"peer_address\": \"127.0.0.1:7002\", \"client_address\": \"127.0.0.1:7102\"},"
    "{\"id\": 3, \"peer_address\": \"127.0.0.1:7003\", \"client_address\": \"127.0.0.1:7103\"}],"
    " \"secret\": \"a secret of the fuzzed cluster\", \"http\": %s}", http);
  DsmConfig *config = dsm_config_new_from_data (text, -1, NULL, NULL, &error);

  g_assert_no_error (error);
  return config;
}

/* What the worker made of one request must be one of its two outcomes. */
static void
fuzz_http_check (const DsmHttpRouted *routed)
{
  g_autoptr(GError) error = NULL;

  if (routed->op == NULL)
    {
      g_assert_cmpuint (routed->status, >=, 400);
      g_assert_cmpuint (routed->status, <, 600);
      g_autoptr(JsonNode) root = dsm_codec_parse (routed->body, strlen (routed->body), &error);
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
      g_assert_true (json_object_has_member (json_node_get_object (root), "error"));
      g_assert_true (json_object_has_member (json_node_get_object (root), "reason"));
      return;
    }
  g_assert_cmpuint (routed->status, ==, 0);
  if (strcmp (routed->op, "watch") == 0)
    {
      /* One machine by a name the core takes, or a prefix by the same rule (or empty). */
      g_assert_true ((routed->watch_machine == NULL) != (routed->watch_prefix == NULL));
      g_assert_true (routed->watch_machine == NULL
                     || dsm_command_check_machine_name ("machine", routed->watch_machine, NULL));
      g_assert_true (routed->watch_prefix == NULL || routed->watch_prefix[0] == '\0'
                     || dsm_command_check_name ("prefix", routed->watch_prefix, NULL));
      g_assert_true (routed->from_given || routed->from_revision == 0);
      g_assert_cmpuint (routed->from_revision, <=, G_MAXINT64);
      g_assert_true (dsm_command_is_empty (&routed->cmd));
      return;
    }
  if (strcmp (routed->op, "submit") != 0 && strcmp (routed->op, "stale_read") != 0
      && strcmp (routed->op, "admin_submit") != 0)
    {
      g_assert_true (dsm_command_is_empty (&routed->cmd));
      return;
    }
  /* The command the loop gets is one the core would take from a client,
   * and one the wire carries unchanged. */
  g_assert_true (dsm_command_check (&routed->cmd, &error));
  g_assert_no_error (error);
  g_autoptr(GString) text = g_string_new (NULL);
  dsm_codec_write_command (text, &routed->cmd);
  g_autoptr(JsonNode) root = dsm_codec_parse (text->str, text->len, &error);
  g_assert_no_error (error);
  DsmCommand again = { 0 };
  g_assert_true (dsm_codec_command_from_json (root, "command", &again, &error));
  g_assert_no_error (error);
  g_assert_true (dsm_command_equal (&routed->cmd, &again));
  dsm_command_clear (&again);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tokens = NULL;

  dsm_fuzz_setup ();
  tokens = g_build_filename (dsm_fuzz_scratch_dir (), "tokens", NULL);
  g_file_set_contents_full (tokens, tokens_text, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  open_config = fuzz_http_config ("{\"open_paths\": [\"/metrics\"]}");
  token_config = fuzz_http_config ("{\"token_file\": \"tokens\", \"open_paths\": [\"/v1/cluster\"]}");
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  DsmFuzzInput in = { data, size };
  guint8 flags = dsm_fuzz_take_byte (&in);
  DsmConfig *config = flags & 1 ? token_config : open_config;
  const char *peer = flags & 2 ? "192.0.2.7" : "127.0.0.1";
  size_t feed = feed_sizes[(flags >> 2) % G_N_ELEMENTS (feed_sizes)];
  const DsmHttpConfig *http = &config->http;
  DsmHttpParserLimits limits = {
    .request_line_bytes_max = http->max_request_line_bytes,
    .header_bytes_max = http->max_header_bytes,
    .header_count_max = http->max_header_count,
    .body_bytes_max = http->max_body_bytes,
  };
  g_autoptr(GError) error = NULL;
  /* A fresh API per input: its counters and rate buckets are state. */
  DsmHttpApi *api = dsm_http_api_new_detached (config, 1, dsm_fuzz_scratch_dir (), &error);
  g_autoptr(DsmHttpParser) parser = dsm_http_parser_new (&limits);

  g_assert_no_error (error);
  /* Until the parser wants more than there is: a request with no body
   * completes after its HEAD without another byte. */
  for (;;)
    {
      gsize used = 0;
      gsize offered = MIN (feed, in.size);
      DsmHttpFeedResult result = dsm_http_parser_feed (parser, in.data, offered, &used, &error);

      g_assert_cmpuint (used, <=, offered);
      in.data += used;
      in.size -= used;
      if (result == DSM_HTTP_FEED_ERROR)
        {
          g_assert_nonnull (error);
          g_assert_cmpuint (dsm_http_parse_error_status (error->code), >=, 400);
          break;
        }
      if (result == DSM_HTTP_FEED_MORE)
        {
          /* MORE takes every byte it was given. */
          g_assert_cmpuint (used, ==, offered);
          if (in.size == 0)
            break;
        }
      if (result == DSM_HTTP_FEED_DONE)
        {
          DsmHttpRouted routed;
          dsm_http_api_route (api, dsm_http_parser_take (parser), peer, &routed);
          fuzz_http_check (&routed);
          dsm_http_routed_clear (&routed);
        }
    }
  dsm_http_api_free (api);
  return 0;
}
