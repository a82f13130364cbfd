/* tools/dsmctl-native.c: dsmctl's propose and get over the native
 * protocol (docs/CLIENT.md) through libdsm-client: --native ADDR,... (or
 * DSM_NATIVE) names the nodes' native addresses; the library finds the
 * leader, follows redirects and retries within --timeout, and a propose
 * carries one session, so a retry applies it at most once.  --payload and
 * --if-revision ride along; a get prints the revision and the data.
 * --native-tls speaks TLS, trusting --cacert. */
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
  g_string_append_printf (out, ",\"index\":%" G_GUINT64_FORMAT ",\"revision\":%" G_GUINT64_FORMAT
                          ",\"outcome\":\"%s\"", r->index, r->revision, status[r->status]);
  /* The node's canonical JSON text, as it is. */
  if (r->data != NULL)
    g_string_append_printf (out, ",\"data\":%s", r->data);
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
cmd_native (const CtlNative *args)
{
  g_auto(GStrv) list = g_strsplit (args->nodes, ",", -1);
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(DsmClient) client = NULL;
  g_autoptr(DsmClientResult) result = NULL;
  g_autoptr(GError) error = NULL;
  DsmClientOptions options;

  if (list[0] == NULL || list[0][0] == '\0')
    return ctl_usage ("--native: no address given");
  dsm_client_options_init (&options);
  options.nodes = (const char *const *) list;
  options.token = args->token;
  options.retry_delay_ms = NATIVE_RETRY_MS;
  options.request_timeout_ms = (guint) MAX (args->timeout_s * 1000, 1);
  options.attempts = (guint) MAX (args->timeout_s * 1000 / NATIVE_RETRY_MS, 1);
  options.tls = args->tls;
  options.tls_ca_file = args->tls_ca_file;
  options.tls_server_name = args->tls_server_name;
  client = dsm_client_new_full (&options, context, &error);
  if (client == NULL)
    return ctl_usage ("--cacert: %s", error->message);
  if (g_str_equal (args->command, "propose"))
    {
      DsmClientTransitionOptions t;
      dsm_client_transition_options_init (&t);
      t.from = args->from;
      t.definition = args->definition;
      t.payload = args->payload;
      t.has_if_revision = args->if_revision >= 0;
      t.if_revision = args->if_revision >= 0 ? (guint64) args->if_revision : 0;
      result = dsm_client_transition_full_sync (client, args->name, args->state, &t, &error);
    }
  else
    result = dsm_client_read_sync (client, args->name, NULL, args->stale, &error);
  if (result == NULL)
    {
      gboolean refused = g_error_matches (error, DSM_CLIENT_ERROR, DSM_CLIENT_ERROR_REFUSED);
      fprintf (stderr, "dsmctl: %s: %s\n", refused ? "refused" : "cluster unavailable", error->message);
      return refused ? EXIT_REFUSED : EXIT_UNAVAILABLE;
    }
  if (args->json)
    native_print_json (result);
  else if (result->status == DSM_CLIENT_OK)
    {
      /* As over HTTP (dsmctl.c, ctl_report). */
      printf ("%s: %s (index %" G_GUINT64_FORMAT ", revision %" G_GUINT64_FORMAT ")", result->machine, result->state,
              result->index, result->revision);
      if (result->data != NULL)
        printf (" data %s", result->data);
      printf ("\n");
    }
  else
    fprintf (stderr, "dsmctl: %s (%s): %s\n", result->status == DSM_CLIENT_REJECTED ? "refused" : "outcome unknown",
             result->reason != NULL ? result->reason : "?", result->detail != NULL ? result->detail : "");
  return result->status == DSM_CLIENT_OK ? 0 : result->status == DSM_CLIENT_REJECTED ? EXIT_REFUSED
                                                                                     : EXIT_UNAVAILABLE;
}
