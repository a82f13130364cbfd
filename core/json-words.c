/* core/json-words.c: how the JSON layer shows values and names in its
 * messages: quoted and cut short, described by kind, and "did you mean".
 *
 * Everything here runs only when an error is being worded. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* Error messages quote at most this many characters of a value. */
#define QUOTE_CHARS_MAX 48

char *
dsm_json_quote (const char *text)
{
  g_autofree char *valid = NULL;
  GString *quoted;
  guint n_chars = 0;

  g_return_val_if_fail (text != NULL, NULL);

  if (!g_utf8_validate (text, -1, NULL))
    text = valid = g_utf8_make_valid (text, -1);
  quoted = g_string_new ("\"");
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p), n_chars++)
    {
      gunichar c = g_utf8_get_char (p);

      if (n_chars == QUOTE_CHARS_MAX)
        {
          g_string_append (quoted, "...");
          break;
        }
      if (c == '"' || c == '\\')
        g_string_append_printf (quoted, "\\%c", (char) c);
      else if (c == '\n')
        g_string_append (quoted, "\\n");
      else if (c == '\t')
        g_string_append (quoted, "\\t");
      /* C0, DEL and C1 would garble a terminal or a log line. */
      else if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
        g_string_append_printf (quoted, "\\u%04X", c);
      else
        g_string_append_len (quoted, p, g_utf8_next_char (p) - p);
    }
  g_string_append_c (quoted, '"');
  return g_string_free (quoted, FALSE);
}

char *
dsm_json_describe (JsonNode *node)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (node == NULL)
    return g_strdup ("nothing");
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return g_strdup ("an object");
    case JSON_NODE_ARRAY:
      return g_strdup ("an array");
    case JSON_NODE_NULL:
      return g_strdup ("null");
    case JSON_NODE_VALUE:
    default:
      break;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return dsm_json_quote (json_node_get_string (node));
    case G_TYPE_INT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
    case G_TYPE_DOUBLE:
      /* 7.0 must not read as the integer 7 it was refused for being. */
      g_ascii_dtostr (buffer, sizeof buffer, json_node_get_double (node));
      if (strpbrk (buffer, ".eEni") == NULL)
        return g_strconcat (buffer, ".0", NULL);
      return g_strdup (buffer);
    case G_TYPE_BOOLEAN:
      return g_strdup (json_node_get_boolean (node) ? "true" : "false");
    default:
      return g_strdup ("a value");
    }
}

/* Levenshtein distance; names longer than 64 bytes get no hint. */
static guint
suggest_distance (const char *a, const char *b)
{
  gsize la = strlen (a);
  gsize lb = strlen (b);
  guint row[65];

  if (la > 64 || lb > 64)
    return G_MAXUINT;
  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint) j;
  for (gsize i = 1; i <= la; i++)
    {
      guint diagonal = row[0];

      row[0] = (guint) i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint above = row[j];
          guint cost = a[i - 1] == b[j - 1] ? 0 : 1;

          row[j] = MIN (MIN (above + 1, row[j - 1] + 1), diagonal + cost);
          diagonal = above;
        }
    }
  return row[lb];
}

static int
suggest_words_compare (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The words of a snake_case name, sorted: "election_timeout_min_ms" and
 * "election_timeout_ms_min" have the same (STYLE.md: unit last). */
static char *
suggest_words (const char *name)
{
  g_auto(GStrv) words = g_strsplit (name, "_", -1);

  qsort (words, g_strv_length (words), sizeof (char *), suggest_words_compare);
  return g_strjoinv ("_", words);
}

const char *
dsm_json_suggest (const char *word, const char *const *known)
{
  g_autofree char *word_words = NULL;
  const char *best = NULL;
  guint best_distance = G_MAXUINT;

  g_return_val_if_fail (word != NULL, NULL);
  g_return_val_if_fail (known != NULL, NULL);

  word_words = suggest_words (word);
  for (guint i = 0; known[i] != NULL; i++)
    {
      g_autofree char *known_words = suggest_words (known[i]);
      guint distance = strcmp (word_words, known_words) == 0
                       ? 0 : suggest_distance (word, known[i]);

      if (distance < best_distance)
        {
          best = known[i];
          best_distance = distance;
        }
    }
  /* A typo changes a few letters, never most of a short name. */
  if (best == NULL || best_distance > MAX (2, strlen (word) / 3)
      || best_distance >= strlen (best) / 2 + 1)
    return NULL;
  return best;
}
