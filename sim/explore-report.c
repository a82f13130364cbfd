/* sim/explore-report.c: an exploration's report as JSON lines, sharding a
 * seed range over machines, and merging the shards' reports back into
 * one (docs/SIMULATOR.md, "Exploring on many machines"). */
#include "explore-report.h"

#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

G_DEFINE_QUARK (dsm-explore-report-error-quark, dsm_explore_report_error)

#define SHARDS_MAX 1000000

void
dsm_explore_shard_range (guint64 first, guint64 seeds, guint k, guint n, guint64 *from, guint64 *count)
{
  g_return_if_fail (n >= 1 && k >= 1 && k <= n);

  /* floor(i * seeds / n) without overflow: seeds < 2^63, n <= 10^6. */
  guint64 start = (seeds / n) * (k - 1) + (seeds % n) * (k - 1) / n;
  guint64 end = (seeds / n) * k + (seeds % n) * k / n;
  g_assert (start <= end && end <= seeds);
  *from = first + start;
  *count = end - start;
}

gboolean
dsm_explore_shard_parse (const char *text, guint *k, guint *n, GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text, "/", 3);
  guint64 kk = 0, nn = 0;

  if (g_strv_length (parts) != 2 || !g_ascii_string_to_unsigned (parts[0], 10, 1, SHARDS_MAX, &kk, NULL)
      || !g_ascii_string_to_unsigned (parts[1], 10, 1, SHARDS_MAX, &nn, NULL) || kk > nn)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--shard \"%s\": expected K/N with 1 <= K <= N <= %d", text, SHARDS_MAX);
      return FALSE;
    }
  *k = (guint) kk;
  *n = (guint) nn;
  return TRUE;
}

void
dsm_explore_report_header (GString *out, guint64 first, guint64 seeds, guint k, guint n, guint64 from,
                           guint64 count, const char *options)
{
  g_string_append_printf (out, "{\"dsm_explore_report\":1,\"first\":%" G_GUINT64_FORMAT ",\"seeds\":%" G_GUINT64_FORMAT
                          ",\"shard\":%u,\"shards\":%u,\"from\":%" G_GUINT64_FORMAT ",\"count\":%" G_GUINT64_FORMAT
                          ",\"options\":",
                          first, seeds, k, n, from, count);
  dsm_codec_write_string (out, options);
  g_string_append (out, "}\n");
}

void
dsm_explore_report_failure (GString *out, guint64 seed, const DsmSimReport *report, const char *scenario_path)
{
  g_string_append_printf (out, "{\"seed\":%" G_GUINT64_FORMAT ",\"invariant\":\"%s\",\"at_ms\":%" G_GUINT64_FORMAT
                          ",\"failure\":",
                          seed, dsm_invariant_to_string (report->failed_invariant), report->failed_at_ms);
  dsm_codec_write_string (out, report->failure != NULL ? report->failure : "");
  g_string_append (out, ",\"scenario\":");
  dsm_codec_write_string (out, scenario_path);
  g_string_append (out, "}\n");
}

void
dsm_explore_report_end (GString *out, guint64 explored, guint64 failed, double wall_s)
{
  g_string_append_printf (out, "{\"end\":true,\"explored\":%" G_GUINT64_FORMAT ",\"failed\":%" G_GUINT64_FORMAT
                          ",\"wall_s\":%.3f}\n",
                          explored, failed, wall_s);
}

/* ---- merging ---- */

typedef struct {
  guint64 first, seeds, from, count, explored, failed;
  guint k, n;
  double wall_s;
  char *options;
  gboolean ended;
} Shard;

typedef struct {
  guint64 seed;
  char *line;
} Failure;

static gint
merge_failure_cmp (gconstpointer a, gconstpointer b)
{
  const Failure *x = a, *y = b;
  return x->seed < y->seed ? -1 : x->seed > y->seed;
}

static void
merge_failure_clear (gpointer data)
{
  g_free (((Failure *) data)->line);
}

static gboolean
merge_uint (JsonObject *o, const char *key, guint64 *out)
{
  JsonNode *m = json_object_get_member (o, key);
  if (m == NULL || !JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_INT64
      || json_node_get_int (m) < 0)
    return FALSE;
  *out = (guint64) json_node_get_int (m);
  return TRUE;
}

/* Reads one shard's report: its header into @shard, its failures into
 * @failures; FALSE with @error naming the file and line. */
static gboolean
merge_read (const char *text, const char *name, Shard *shard, GArray *failures, GError **error)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint64 k = 0, n = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '\0')
        continue;
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *o = NULL;
      if (json_parser_load_from_data (parser, lines[i], -1, NULL) && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        o = json_node_get_object (json_parser_get_root (parser));
      gboolean ok = o != NULL;
      if (ok && i == 0)
        ok = json_object_has_member (o, "dsm_explore_report") && merge_uint (o, "first", &shard->first)
             && merge_uint (o, "seeds", &shard->seeds) && merge_uint (o, "shard", &k) && merge_uint (o, "shards", &n)
             && merge_uint (o, "from", &shard->from) && merge_uint (o, "count", &shard->count)
             && json_object_get_string_member_with_default (o, "options", NULL) != NULL && n >= 1 && k >= 1 && k <= n
             && n <= SHARDS_MAX;
      else if (ok && json_object_has_member (o, "end"))
        ok = !shard->ended && merge_uint (o, "explored", &shard->explored) && merge_uint (o, "failed", &shard->failed);
      else if (ok)
        {
          Failure f = { 0 };
          ok = !shard->ended && merge_uint (o, "seed", &f.seed) && f.seed >= shard->from
               && f.seed - shard->from < shard->count;
          if (ok)
            {
              f.line = g_strdup (lines[i]);
              g_array_append_val (failures, f);
            }
        }
      if (!ok)
        {
          g_set_error (error, DSM_EXPLORE_REPORT_ERROR, DSM_EXPLORE_REPORT_ERROR_PARSE,
                       "%s: line %u: not a line of an exploration report%s", name, i + 1,
                       i == 0 ? " header" : " (a failure within the shard's seeds, or one end line)");
          return FALSE;
        }
      if (i == 0)
        {
          shard->k = (guint) k;
          shard->n = (guint) n;
          shard->options = g_strdup (json_object_get_string_member (o, "options"));
        }
      else if (json_object_has_member (o, "end"))
        {
          shard->ended = TRUE;
          shard->wall_s = json_object_get_double_member_with_default (o, "wall_s", 0);
        }
    }
  if (shard->options == NULL)
    {
      g_set_error (error, DSM_EXPLORE_REPORT_ERROR, DSM_EXPLORE_REPORT_ERROR_PARSE, "%s: empty", name);
      return FALSE;
    }
  return TRUE;
}

gboolean
dsm_explore_report_merge (GPtrArray *texts, GPtrArray *names, GString *out, guint64 *failed, GError **error)
{
  g_autoptr(GArray) failures = g_array_new (FALSE, TRUE, sizeof (Failure));
  g_autofree Shard *shards = g_new0 (Shard, MAX (texts->len, 1));
  gboolean ok = TRUE;

  g_return_val_if_fail (texts->len == names->len && texts->len > 0, FALSE);
  g_array_set_clear_func (failures, merge_failure_clear);
  for (guint i = 0; ok && i < texts->len; i++)
    ok = merge_read (texts->pdata[i], names->pdata[i], &shards[i], failures, error);

  const Shard *a = &shards[0];
  g_autofree gboolean *seen = ok ? g_new0 (gboolean, a->n + 1) : NULL;
  guint64 explored = 0, total_failed = 0;
  double wall_s = 0;
  for (guint i = 0; ok && i < texts->len; i++)
    {
      const Shard *s = &shards[i];
      guint64 from, count;
      const char *name = names->pdata[i];
      if (s->first != a->first || s->seeds != a->seeds || s->n != a->n || g_strcmp0 (s->options, a->options) != 0)
        {
          g_set_error (error, DSM_EXPLORE_REPORT_ERROR, DSM_EXPLORE_REPORT_ERROR_MISMATCH,
                       "%s: a shard of another run (seeds %" G_GUINT64_FORMAT " + %" G_GUINT64_FORMAT
                       " in %u shards, options \"%s\") than %s (seeds %" G_GUINT64_FORMAT " + %" G_GUINT64_FORMAT
                       " in %u shards, options \"%s\")",
                       name, s->first, s->seeds, s->n, s->options, (const char *) names->pdata[0], a->first, a->seeds,
                       a->n, a->options);
          ok = FALSE;
          break;
        }
      dsm_explore_shard_range (s->first, s->seeds, s->k, s->n, &from, &count);
      if (from != s->from || count != s->count)
        {
          g_set_error (error, DSM_EXPLORE_REPORT_ERROR, DSM_EXPLORE_REPORT_ERROR_MISMATCH,
                       "%s: shard %u/%u covers %" G_GUINT64_FORMAT " seeds from %" G_GUINT64_FORMAT
                       ", not the %" G_GUINT64_FORMAT " from %" G_GUINT64_FORMAT " of its range",
                       name, s->k, s->n, s->count, s->from, count, from);
          ok = FALSE;
        }
      else if (seen[s->k])
        {
          g_set_error (error, DSM_EXPLORE_REPORT_ERROR, DSM_EXPLORE_REPORT_ERROR_INCOMPLETE,
                       "%s: shard %u/%u is given twice", name, s->k, s->n);
          ok = FALSE;
        }
      else if (!s->ended)
        {
          g_set_error (error, DSM_EXPLORE_REPORT_ERROR, DSM_EXPLORE_REPORT_ERROR_INCOMPLETE,
                       "%s: shard %u/%u did not finish (no end line)", name, s->k, s->n);
          ok = FALSE;
        }
      else
        {
          seen[s->k] = TRUE;
          explored += s->explored;
          total_failed += s->failed;
          wall_s += s->wall_s;
        }
    }
  for (guint k = 1; ok && k <= a->n; k++)
    if (!seen[k])
      {
        g_set_error (error, DSM_EXPLORE_REPORT_ERROR, DSM_EXPLORE_REPORT_ERROR_INCOMPLETE,
                     "shard %u/%u is missing (%u of %u given)", k, a->n, texts->len, a->n);
        ok = FALSE;
      }
  if (ok)
    {
      g_array_sort (failures, merge_failure_cmp);
      dsm_explore_report_header (out, a->first, a->seeds, 1, 1, a->first, a->seeds, a->options);
      for (guint i = 0; i < failures->len; i++)
        g_string_append_printf (out, "%s\n", g_array_index (failures, Failure, i).line);
      dsm_explore_report_end (out, explored, total_failed, wall_s);
      *failed = total_failed;
    }
  for (guint i = 0; i < texts->len; i++)
    g_free (shards[i].options);
  return ok;
}
