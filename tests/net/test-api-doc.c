/* tests/net/test-api-doc.c: every example of docs/API.md, run in order
 * against a real 3-node cluster, must get the answer the page shows.
 *
 * An example is a ```http block holding a request (method, path, headers,
 * a blank line, the body) followed by a ```http block holding the answer
 * (status line, headers shown, blank line, JSON body).  An HTML comment
 * right before the request, <!-- example: KEY=VALUE ... -->, may say
 * node=follower or node=N (default: the leader), ignore=NAME,... (keys or headers
 * whose values change from run to run: they must be there, with a value
 * of the same JSON kind) and body=any (the body is not compared).  The
 * answer must match: status and reason phrase, every header shown, and the
 * body key for key, in both directions, so the page cannot fall behind
 * the code.
 *
 * A streamed answer (a watch: Server-Sent Events that never end) says
 * events=N: the test reads the stream until N events came, closes it, and
 * matches them against the N event blocks the page shows: the same event
 * names, ids (unless ignore= names "id"), and data key for key. */
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

#define ADMIN_TOKEN "admin-token-0123456789abcdef"
#define WRITE_TOKEN "write-token-0123456789abcdef"
#define READ_TOKEN "read-token-0123456789abcdefgh"
#define TOKENS "# role token name\n" \
               "admin " ADMIN_TOKEN " ops\n" \
               "write " WRITE_TOKEN " writer\n" \
               "read  " READ_TOKEN " reader\n"

typedef struct {
  guint line;               /* where the request block starts in the page */
  char *request;            /* the block's text */
  char *answer;
  gboolean follower;
  guint node;               /* nonzero: this node, whatever its role */
  gboolean any_body;
  guint events;             /* nonzero: a stream, read until this many events */
  GStrv ignore;
} Example;

static void
example_free (gpointer data)
{
  Example *e = data;

  g_free (e->request);
  g_free (e->answer);
  g_strfreev (e->ignore);
  g_free (e);
}

/* The next ```http block from line *@i on: its text, and where it began;
 * NULL when there is none. */
static char *
next_block (GStrv lines, guint *i, guint *start, char **annotation)
{
  *annotation = NULL;
  for (; lines[*i] != NULL; (*i)++)
    {
      if (g_str_has_prefix (lines[*i], "<!-- example:"))
        {
          g_free (*annotation);
          *annotation = g_strdup (lines[*i] + strlen ("<!-- example:"));
          char *end = strstr (*annotation, "-->");
          g_assert_nonnull (end);
          *end = '\0';
          continue;
        }
      if (strcmp (lines[*i], "```http") != 0)
        {
          if (lines[*i][0] != '\0')
            g_clear_pointer (annotation, g_free);  /* an annotation belongs to the very next block */
          continue;
        }
      GString *text = g_string_new (NULL);
      *start = ++(*i) + 1;
      for (; lines[*i] != NULL && strcmp (lines[*i], "```") != 0; (*i)++)
        g_string_append_printf (text, "%s\n", lines[*i]);
      g_assert_nonnull (lines[*i]);  /* the page's block is closed */
      (*i)++;
      return g_string_free (text, FALSE);
    }
  return NULL;
}

static GPtrArray *
examples_read (const char *path)
{
  g_autofree char *page = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *examples = g_ptr_array_new_with_free_func (example_free);

  g_assert_true (g_file_get_contents (path, &page, NULL, &error));
  g_auto(GStrv) lines = g_strsplit (page, "\n", -1);
  guint i = 0, start = 0, answer_start = 0;
  char *annotation = NULL, *unused = NULL;
  char *request;
  while ((request = next_block (lines, &i, &start, &annotation)) != NULL)
    {
      Example *e = g_new0 (Example, 1);
      e->line = start;
      e->request = request;
      e->answer = next_block (lines, &i, &answer_start, &unused);
      g_clear_pointer (&unused, g_free);
      if (e->answer == NULL || !g_str_has_prefix (e->answer, "HTTP/1.1 "))
        g_error ("%s:%u: a request block must be followed by its answer block", path, start);
      g_auto(GStrv) words = g_strsplit (annotation != NULL ? annotation : "", " ", -1);
      for (guint w = 0; words[w] != NULL; w++)
        {
          if (strcmp (words[w], "node=follower") == 0)
            e->follower = TRUE;
          else if (g_str_has_prefix (words[w], "node=") && g_ascii_isdigit (words[w][5]))
            e->node = (guint) atoi (words[w] + 5);
          else if (strcmp (words[w], "body=any") == 0)
            e->any_body = TRUE;
          else if (g_str_has_prefix (words[w], "events=") && g_ascii_isdigit (words[w][7]))
            e->events = (guint) atoi (words[w] + 7);
          else if (g_str_has_prefix (words[w], "ignore="))
            e->ignore = g_strsplit (words[w] + strlen ("ignore="), ",", -1);
          else if (words[w][0] != '\0')
            g_error ("%s:%u: unknown example setting \"%s\"", path, start, words[w]);
        }
      g_clear_pointer (&annotation, g_free);
      g_ptr_array_add (examples, e);
    }
  return examples;
}

static gboolean
ignored (const Example *e, const char *name)
{
  return e->ignore != NULL && g_strv_contains ((const char *const *) e->ignore, name);
}

/* Documented @want against @got; @where names the position for the message. */
static void
json_match (const Example *e, JsonNode *want, JsonNode *got, const char *where)
{
  if (JSON_NODE_TYPE (want) == JSON_NODE_OBJECT)
    {
      if (JSON_NODE_TYPE (got) != JSON_NODE_OBJECT)
        g_error ("docs/API.md:%u: %s: expected an object", e->line, where);
      JsonObject *w = json_node_get_object (want), *g = json_node_get_object (got);
      g_autoptr(GList) wkeys = json_object_get_members (w);
      g_autoptr(GList) gkeys = json_object_get_members (g);
      for (GList *k = gkeys; k != NULL; k = k->next)
        if (!json_object_has_member (w, k->data))
          g_error ("docs/API.md:%u: %s: the answer has \"%s\", which the page does not show", e->line, where,
                   (const char *) k->data);
      for (GList *k = wkeys; k != NULL; k = k->next)
        {
          g_autofree char *at = g_strdup_printf ("%s.%s", where, (const char *) k->data);
          if (!json_object_has_member (g, k->data))
            g_error ("docs/API.md:%u: %s: the page shows it, the answer has none", e->line, at);
          JsonNode *wv = json_object_get_member (w, k->data), *gv = json_object_get_member (g, k->data);
          if (ignored (e, k->data))
            {
              /* Changes from run to run: the same kind of value, or null for null-or-string. */
              gboolean same = JSON_NODE_TYPE (wv) == JSON_NODE_TYPE (gv)
                              || JSON_NODE_TYPE (wv) == JSON_NODE_NULL || JSON_NODE_TYPE (gv) == JSON_NODE_NULL;
              if (!same)
                g_error ("docs/API.md:%u: %s: not the kind of value the page shows", e->line, at);
              continue;
            }
          json_match (e, wv, gv, at);
        }
      return;
    }
  if (JSON_NODE_TYPE (want) == JSON_NODE_ARRAY)
    {
      if (JSON_NODE_TYPE (got) != JSON_NODE_ARRAY)
        g_error ("docs/API.md:%u: %s: expected an array", e->line, where);
      JsonArray *w = json_node_get_array (want), *g = json_node_get_array (got);
      if (json_array_get_length (w) != json_array_get_length (g))
        g_error ("docs/API.md:%u: %s: %u elements on the page, %u in the answer", e->line, where,
                 json_array_get_length (w), json_array_get_length (g));
      for (guint i = 0; i < json_array_get_length (w); i++)
        {
          g_autofree char *at = g_strdup_printf ("%s[%u]", where, i);
          json_match (e, json_array_get_element (w, i), json_array_get_element (g, i), at);
        }
      return;
    }
  if (!json_node_equal (want, got))
    {
      g_autofree char *ws = json_to_string (want, FALSE), *gs = json_to_string (got, FALSE);
      g_error ("docs/API.md:%u: %s: the page shows %s, the answer has %s", e->line, where, ws, gs);
    }
}

static JsonNode *
json_read (const Example *e, const char *text, gssize len, const char *what)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_data (parser, text, len, &error))
    g_error ("docs/API.md:%u: %s is not JSON: %s", e->line, what, error->message);
  return json_node_ref (json_parser_get_root (parser));
}

/* The events of a Server-Sent Events text ("id: N", "event: E", "data:
 * JSON" lines, blank-line separated; comments skipped): an array of
 * {"id", "event", "data"} objects. */
static JsonNode *
sse_events (const Example *e, const char *text, guint max)
{
  g_auto(GStrv) blocks = g_strsplit (text, "\n\n", -1);
  JsonArray *events = json_array_new ();

  for (guint b = 0; blocks[b] != NULL && json_array_get_length (events) < max; b++)
    {
      g_auto(GStrv) lines = g_strsplit (blocks[b], "\n", -1);
      JsonObject *event = json_object_new ();
      for (guint i = 0; lines[i] != NULL; i++)
        if (g_str_has_prefix (lines[i], "id: "))
          json_object_set_int_member (event, "id", g_ascii_strtoll (lines[i] + 4, NULL, 10));
        else if (g_str_has_prefix (lines[i], "event: "))
          json_object_set_string_member (event, "event", lines[i] + 7);
        else if (g_str_has_prefix (lines[i], "data: "))
          json_object_set_member (event, "data", json_read (e, lines[i] + 6, -1, "an event's data"));
        else if (lines[i][0] != ':' && lines[i][0] != '\0')
          g_error ("docs/API.md:%u: not a Server-Sent Events line: %s", e->line, lines[i]);
      if (json_object_has_member (event, "event"))
        json_array_add_object_element (events, event);
      else
        json_object_unref (event);
    }
  return json_node_init_array (json_node_alloc (), events);
}

/* Reads a streamed answer until @e's number of events came (within the
 * session's timeout); returns what was read. */
static GBytes *
stream_read_events (Cluster *c, const Example *e, SoupMessage *msg)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) in = soup_session_send (c->session, msg, NULL, &error);
  g_autoptr(GString) text = g_string_new (NULL);
  char buf[4096];

  if (in == NULL)
    g_error ("docs/API.md:%u: no answer: %s", e->line, error->message);
  for (;;)
    {
      g_autoptr(JsonNode) events = sse_events (e, text->str, e->events);
      /* Only whole events count: the last block may still be coming. */
      const char *end = g_strrstr (text->str, "\n\n");
      if (soup_message_get_status (msg) != 200
          || (end != NULL && json_array_get_length (json_node_get_array (events)) >= e->events))
        break;
      gssize n = g_input_stream_read (in, buf, sizeof buf, NULL, &error);
      if (n <= 0)
        break;
      g_string_append_len (text, buf, n);
    }
  g_input_stream_close (in, NULL, NULL);
  return g_bytes_new (text->str, text->len);
}

static void
example_run (Cluster *c, const Example *e)
{
  guint leader = cluster_wait_leader (c, CLUSTER_BUDGET_MS);
  guint node = e->node != 0 ? e->node : e->follower ? cluster_other_node (c, leader, leader) : leader;

  /* The request: "METHOD PATH HTTP/1.1", headers, a blank line, the body. */
  g_auto(GStrv) parts = g_strsplit (e->request, "\n\n", 2);
  g_auto(GStrv) head = g_strsplit (parts[0], "\n", -1);
  g_auto(GStrv) line = g_strsplit (head[0], " ", -1);
  g_assert_cmpuint (g_strv_length (line), ==, 3);
  g_autofree char *url = cluster_url (c, node, line[1]);
  g_autoptr(SoupMessage) msg = soup_message_new (line[0], url);
  g_assert_nonnull (msg);
  const char *content_type = NULL;
  for (guint i = 1; head[i] != NULL && head[i][0] != '\0'; i++)
    {
      g_auto(GStrv) kv = g_strsplit (head[i], ": ", 2);
      g_assert_nonnull (kv[1]);
      g_autoptr(GString) value = g_string_new (kv[1]);
      g_string_replace (value, "$ADMIN", ADMIN_TOKEN, 0);
      g_string_replace (value, "$WRITE", WRITE_TOKEN, 0);
      g_string_replace (value, "$READ", READ_TOKEN, 0);
      if (g_ascii_strcasecmp (kv[0], "Content-Type") == 0)
        content_type = kv[1] == NULL ? NULL : g_intern_string (kv[1]);
      else
        soup_message_headers_replace (soup_message_get_request_headers (msg), kv[0], value->str);
    }
  if (parts[1] != NULL)
    {
      g_autoptr(GBytes) body = g_bytes_new (parts[1], strlen (parts[1]));
      soup_message_set_request_body_from_bytes (msg, content_type, body);
    }
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = e->events > 0 ? stream_read_events (c, e, msg)
                                          : soup_session_send_and_read (c->session, msg, NULL, &error);
  if (reply == NULL)
    g_error ("docs/API.md:%u: %s %s: no answer: %s", e->line, line[0], line[1], error->message);

  /* The answer: "HTTP/1.1 STATUS PHRASE", headers shown, the body. */
  g_auto(GStrv) aparts = g_strsplit (e->answer, "\n\n", 2);
  g_auto(GStrv) ahead = g_strsplit (aparts[0], "\n", -1);
  g_autofree char *got_status = g_strdup_printf ("HTTP/1.1 %u %s", soup_message_get_status (msg),
                                                 soup_message_get_reason_phrase (msg));
  if (strcmp (ahead[0], got_status) != 0)
    g_error ("docs/API.md:%u: %s %s: the page shows \"%s\", the answer was \"%s\": %.*s", e->line, line[0], line[1],
             ahead[0], got_status, (int) g_bytes_get_size (reply), (const char *) g_bytes_get_data (reply, NULL));
  for (guint i = 1; ahead[i] != NULL && ahead[i][0] != '\0'; i++)
    {
      g_auto(GStrv) kv = g_strsplit (ahead[i], ": ", 2);
      const char *got = soup_message_headers_get_one (soup_message_get_response_headers (msg), kv[0]);
      if (got == NULL)
        g_error ("docs/API.md:%u: the answer has no %s header", e->line, kv[0]);
      if (!ignored (e, kv[0]) && g_strcmp0 (got, kv[1]) != 0)
        g_error ("docs/API.md:%u: %s: the page shows \"%s\", the answer has \"%s\"", e->line, kv[0], kv[1], got);
    }
  if (e->any_body)
    return;
  if (e->events > 0 && soup_message_get_status (msg) == 200)
    {
      g_autofree char *got_text = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
      g_autoptr(JsonNode) want = sse_events (e, aparts[1], G_MAXUINT);
      g_autoptr(JsonNode) got = sse_events (e, got_text, e->events);
      if (json_array_get_length (json_node_get_array (want)) != e->events)
        g_error ("docs/API.md:%u: events=%u, the page shows %u", e->line, e->events,
                 json_array_get_length (json_node_get_array (want)));
      g_test_message ("docs/API.md:%u: %s %s streamed %s", e->line, line[0], line[1], got_text);
      json_match (e, want, got, "events");
      return;
    }
  g_autoptr(JsonNode) want = json_read (e, aparts[1], -1, "the page's answer");
  gsize n;
  const char *data = g_bytes_get_data (reply, &n);
  g_autoptr(JsonNode) got = json_read (e, data, (gssize) n, "the answer");
  g_test_message ("docs/API.md:%u: %s %s answered %s %.*s", e->line, line[0], line[1], got_status, (int) n, data);
  json_match (e, want, got, "body");
}

static void
test_examples (void)
{
  g_autofree char *page = g_build_filename (g_getenv ("DSM_SOURCE_ROOT"), "docs", "API.md", NULL);
  g_autoptr(GPtrArray) examples = examples_read (page);
  g_autoptr(Cluster) c = cluster_prepare (3, "\"http\": {\"token_file\": \"tokens\"}");
  g_free (cluster_write_file (c, "tokens", TOKENS, 0600));

  g_test_summary ("Every example of docs/API.md, in order, against a real 3-node cluster: the status, the "
                  "headers shown and the JSON body key for key, so the reference cannot fall behind the code.");
  /* Every endpoint has an example: the page is the reference. */
  g_assert_cmpuint (examples->len, >=, 25);
  cluster_set_token (c, ADMIN_TOKEN);
  cluster_start_all (c);
  for (guint i = 0; i < examples->len; i++)
    example_run (c, g_ptr_array_index (examples, i));
  cluster_assert_running (c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/api-doc/examples", test_examples);
  return g_test_run ();
}
