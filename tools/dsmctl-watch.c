/* tools/dsmctl-watch.c: `dsmctl watch NAME` and `dsmctl watch --prefix P`:
 * prints each change as the cluster commits it, and when a stream ends
 * (a node dies, the watcher is cut off) resumes on the next endpoint from
 * the last revision it printed; a "compacted" answer is printed as the
 * state to resync from (docs/API.md, "Watching machines"). */
#include <stdio.h>
#include <string.h>

#include "dsmctl.h"

/* A stream silent this long (keepalives included) is taken for dead. */
#define WATCH_SILENCE_S 60

typedef struct {
  Ctl *ctl;
  const char *name;           /* one of the two */
  const char *prefix;
  guint64 revision;           /* the last one printed (or resynced to) */
  gboolean has_revision;
  gint64 count;               /* stop after this many changes (0: never) */
  gint64 printed;
  gboolean streamed;          /* the last connection got its 200 */
} Watch;

static void
watch_print_change (Watch *w, JsonObject *data, const char *line)
{
  if (w->ctl->json)
    printf ("%s\n", line);
  else
    printf ("%" G_GINT64_FORMAT " %s %s -> %s\n", json_object_get_int_member (data, "revision"),
            json_object_get_string_member (data, "machine"), json_object_get_string_member (data, "from"),
            json_object_get_string_member (data, "to"));
}

static void
watch_print_compacted (Watch *w, JsonObject *data, const char *line)
{
  gint64 revision = json_object_get_int_member (data, "revision");

  fprintf (stderr, "dsmctl: the changes after revision %" G_GUINT64_FORMAT " were compacted away: resync from "
           "the state as of revision %" G_GINT64_FORMAT "\n", w->revision, revision);
  if (w->ctl->json)
    {
      printf ("%s\n", line);
      return;
    }
  if (json_object_has_member (data, "machine"))
    printf ("%" G_GINT64_FORMAT " %s is %s\n", revision, json_object_get_string_member (data, "machine"),
            json_object_get_string_member (data, "state"));
  else
    {
      JsonArray *machines = json_object_get_array_member (data, "machines");
      for (guint i = 0; machines != NULL && i < json_array_get_length (machines); i++)
        {
          JsonObject *m = json_array_get_object_element (machines, i);
          printf ("%" G_GINT64_FORMAT " %s is %s\n", revision, json_object_get_string_member (m, "machine"),
                  json_object_get_string_member (m, "state"));
        }
    }
}

/* One event; FALSE once --count changes were printed. */
static gboolean
watch_on_event (Watch *w, const char *event, const char *data_line, guint64 id)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *data;

  if (event == NULL || data_line == NULL || !json_parser_load_from_data (parser, data_line, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return TRUE;
  data = json_node_get_object (json_parser_get_root (parser));
  if (strcmp (event, "change") == 0 && id > w->revision)
    {
      watch_print_change (w, data, data_line);
      w->revision = id;
      w->has_revision = TRUE;
      fflush (stdout);
      return w->count == 0 || ++w->printed < w->count;
    }
  if (strcmp (event, "compacted") == 0)
    {
      watch_print_compacted (w, data, data_line);
      w->revision = id;
      w->has_revision = TRUE;
    }
  else if (strcmp (event, "cutoff") == 0)
    fprintf (stderr, "dsmctl: the node ended the watch (%s): resuming from revision %" G_GUINT64_FORMAT "\n",
             json_object_has_member (data, "reason") ? json_object_get_string_member (data, "reason") : "?",
             w->revision);
  fflush (stdout);
  return TRUE;
}

typedef enum {
  STREAM_DONE,                /* --count reached */
  STREAM_ENDED,               /* resume elsewhere */
  STREAM_REFUSED,             /* 4xx: no point resuming */
} StreamEnd;

/* Reads one stream until it ends. */
static StreamEnd
watch_read (Watch *w, GInputStream *body)
{
  g_autoptr(GDataInputStream) in = g_data_input_stream_new (body);
  g_autofree char *event = NULL;
  g_autofree char *data = NULL;
  guint64 id = 0;

  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_LF);
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, &error);
      if (line == NULL)
        {
          ctl_problem (w->ctl, "the stream ended: %s", error != NULL ? error->message : "closed by the node");
          return STREAM_ENDED;
        }
      if (line[0] == '\0')
        {
          gboolean more = watch_on_event (w, event, data, id);
          g_clear_pointer (&event, g_free);
          g_clear_pointer (&data, g_free);
          id = 0;
          if (!more)
            return STREAM_DONE;
        }
      else if (g_str_has_prefix (line, "id: "))
        id = g_ascii_strtoull (line + 4, NULL, 10);
      else if (g_str_has_prefix (line, "event: "))
        {
          g_free (event);
          event = g_strdup (line + 7);
        }
      else if (g_str_has_prefix (line, "data: "))
        {
          g_free (data);
          data = g_strdup (line + 6);
        }
    }
}

/* One connection to @base; what ended it. */
static StreamEnd
watch_connect (Watch *w, const char *base)
{
  Ctl *ctl = w->ctl;
  g_autofree char *escaped = w->name != NULL ? g_uri_escape_string (w->name, NULL, FALSE) : NULL;
  g_autofree char *prefix = w->prefix != NULL ? g_uri_escape_string (w->prefix, NULL, FALSE) : NULL;
  g_autofree char *from = w->has_revision ? g_strdup_printf ("&from_revision=%" G_GUINT64_FORMAT, w->revision)
                                          : g_strdup ("");
  g_autofree char *url = w->name != NULL ? g_strdup_printf ("%s/v1/machines/%s?watch=1%s", base, escaped, from)
                                         : g_strdup_printf ("%s/v1/machines?watch=1&prefix=%s%s", base, prefix, from);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) body = NULL;

  if (msg == NULL)
    {
      ctl_problem (ctl, "%s: not a valid URL", url);
      return STREAM_ENDED;
    }
  soup_session_set_timeout (ctl->session, WATCH_SILENCE_S);
  if (ctl->authorization != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", ctl->authorization);
  if (ctl->client_cert != NULL)
    soup_message_set_tls_client_certificate (msg, ctl->client_cert);
  body = soup_session_send (ctl->session, msg, NULL, &error);
  if (body == NULL)
    {
      ctl_problem (ctl, "%s: %s", base, error->message);
      return STREAM_ENDED;
    }
  if (soup_message_get_status (msg) != 200)
    {
      g_autoptr(GBytes) text = g_input_stream_read_bytes (body, 4096, NULL, NULL);
      ctl_problem (ctl, "%s: %u %.*s", base, soup_message_get_status (msg),
                   text != NULL ? (int) g_bytes_get_size (text) : 0,
                   text != NULL ? (const char *) g_bytes_get_data (text, NULL) : "");
      return soup_message_get_status (msg) >= 400 && soup_message_get_status (msg) < 500
             && soup_message_get_status (msg) != 429 ? STREAM_REFUSED : STREAM_ENDED;
    }
  w->streamed = TRUE;
  return watch_read (w, body);
}

int
cmd_watch (Ctl *ctl, const char *name, const char *prefix, gboolean has_from, gint64 from, gint64 count,
           double timeout_s)
{
  Watch w = { .ctl = ctl, .name = name, .prefix = prefix, .revision = (guint64) from, .has_revision = has_from,
              .count = count };
  gint64 give_up_us = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  guint next = 0;

  while (g_get_monotonic_time () < give_up_us)
    {
      const char *base = ctl->endpoints->pdata[next++ % ctl->endpoints->len];
      w.streamed = FALSE;
      switch (watch_connect (&w, base))
        {
        case STREAM_DONE:
          return 0;
        case STREAM_REFUSED:
          fprintf (stderr, "dsmctl: %s\n", ctl->last_problem);
          return EXIT_REFUSED;
        case STREAM_ENDED:
        default:
          break;
        }
      /* A stream that was open earns a fresh --timeout to resume in. */
      if (w.streamed)
        give_up_us = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
      else if (next % ctl->endpoints->len == 0)
        g_usleep (200 * 1000);    /* every endpoint failed: pause before the next round */
    }
  fprintf (stderr, "dsmctl: no endpoint kept the watch for %g s: %s\n", timeout_s,
           ctl->last_problem != NULL ? ctl->last_problem : "no answer");
  return EXIT_UNAVAILABLE;
}
