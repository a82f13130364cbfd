/* tools/dsmctl-native.c: dsmctl's propose and get over the native
 * protocol (docs/CLIENT.md) through libdsm-client: --native ADDR,... (or
 * DSM_NATIVE) names the nodes' native addresses; the library finds the
 * leader, follows redirects and retries within --timeout, and a propose
 * carries one session, so a retry applies it at most once. */
#include <stdio.h>

#include "client/dsm-client.h"
#include "codec.h"

#include "dsmctl.h"

/* Tries spread over the timeout: one every 100 ms. */
#define NATIVE_RETRY_MS 100

static void
native_print_json (const DsmClientResult *r)
{
  g_autoptr(GString) out = g_string_new ("{\"machine\":");
  static const char *const status[] = { "ok", "rejected", "unknown" };

  dsm_codec_write_string (out, r->machine);
  g_string_append (out, ",\"state\":");
  if (r->state != NULL)
    dsm_codec_write_string (out, r->state);
  else
    g_string_append (out, "null");
  g_string_append_printf (out, ",\"index\":%" G_GUINT64_FORMAT ",\"outcome\":\"%s\"", r->index, status[r->status]);
  if (r->reason != NULL)
    {
      g_string_append (out, ",\"reason\":");
      dsm_codec_write_string (out, r->reason);
    }
  if (r->detail != NULL)
    {
      g_string_append (out, ",\"error\":");
      dsm_codec_write_string (out, r->detail);
    }
  printf ("%s}\n", out->str);
}

int
cmd_native (const char *nodes, const char *token, double timeout_s, gboolean json, const char *command, const char *name, const char *state, const char *from, const char *definition,
            gboolean stale)
{
  g_auto(GStrv) list = g_strsplit (nodes, ",", -1);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(DsmClient) client = NULL;
  g_autoptr(DsmClientResult) result = NULL;
  g_autoptr(GError) error = NULL;
  DsmClientOptions options;

  if (list[0] == NULL || list[0][0] == '\0')
    return ctl_usage ("--native: no address given");
  dsm_client_options_init (&options);
  options.nodes = (const char *const *) list;
  options.token = token;
  options.retry_delay_ms = NATIVE_RETRY_MS;
  options.request_timeout_ms = (guint) MAX (timeout_s * 1000, 1);
  options.attempts = (guint) MAX (timeout_s * 1000 / NATIVE_RETRY_MS, 1);
  client = dsm_client_new (&options, context);
  if (g_str_equal (command, "propose"))
    result = dsm_client_transition_sync (client, name, state, from, definition, &error);
  else
    result = dsm_client_read_sync (client, name, NULL, stale, &error);
  if (result == NULL)
    {
      gboolean refused = g_error_matches (error, DSM_CLIENT_ERROR, DSM_CLIENT_ERROR_REFUSED);
      fprintf (stderr, "dsmctl: %s: %s\n", refused ? "refused" : "cluster unavailable", error->message);
      return refused ? EXIT_REFUSED : EXIT_UNAVAILABLE;
    }
  if (json)
    native_print_json (result);
  else if (result->status == DSM_CLIENT_OK)
    printf ("%s: %s (index %" G_GUINT64_FORMAT ")\n", result->machine, result->state, result->index);
  else
    fprintf (stderr, "dsmctl: %s (%s): %s\n", result->status == DSM_CLIENT_REJECTED ? "refused" : "outcome unknown",
             result->reason != NULL ? result->reason : "?", result->detail != NULL ? result->detail : "");
  return result->status == DSM_CLIENT_OK ? 0 : result->status == DSM_CLIENT_REJECTED ? EXIT_REFUSED
                                                                                     : EXIT_UNAVAILABLE;
}
