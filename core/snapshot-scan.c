/* core/snapshot-scan.c: reads a store snapshot straight from its text:
 * restoring one through a JSON tree held a node per value, 3.2 MB for
 * five snapshots of 1,000 machines in the simulator's benchmark workload
 * (docs/BENCHMARKS.md, "The simulator against raft_fixture").
 *
 * As core/codec-fast.c does for messages, it accepts only the shape
 * core/store.c writes and declines the rest (core/snapshot-scan.h), so
 * the full reader keeps every error.  tests/core/test-snapshot-scan.c
 * holds it to "accepted means equal". */
#include "snapshot-scan.h"

#include "codec.h"
#include "scan-private.h"
#include "store-plugin.h"
#include "types.h"

/* Scratch strings, reused for every machine and result. */
enum { T_NAME, T_DEFINITION, T_FROM, T_STATE, T_DATA, T_OUTPUT, T_STATUS, T_REASON, T_N };

typedef struct {
  Scan s;
  GString *text[T_N];
  const DsmSnapshotScanFuncs *funcs;
  gpointer user_data;
} Reader;

/* ,"@key": (the comma when @comma), or FALSE. */
static gboolean
read_key (Reader *r, gboolean comma, const char *key)
{
  Span span;

  return (!comma || scan_char (&r->s, ',')) && scan_string (&r->s, &span) && span_is (&span, key)
         && scan_char (&r->s, ':');
}

static gboolean
read_string (Reader *r, guint slot, gsize bytes_max)
{
  Span span;

  return scan_string (&r->s, &span) && span_into (&span, r->text[slot], bytes_max);
}

static gboolean
read_uint (Reader *r, gboolean comma, const char *key, guint64 max, guint64 *out)
{
  return read_key (r, comma, key) && scan_uint (&r->s, max, out);
}

/* Past one JSON value, its text in *@text and *@length; declines a value
 * nested so deep that, one level down in the snapshot, the full parser
 * might refuse it.  Its syntax is left to the reader of the text. */
static gboolean
read_skip_value (Reader *r, const char **text, gsize *length)
{
  guint depth = 0;

  scan_space (&r->s);
  *text = r->s.at;
  do
    {
      Span span;

      if (r->s.at >= r->s.end)
        return FALSE;
      switch (*r->s.at)
        {
        case '"':
          if (!scan_string (&r->s, &span))
            return FALSE;
          continue;
        case '{':
        case '[':
          if (++depth + 2 > DSM_CODEC_DEPTH_MAX)
            return FALSE;
          break;
        case '}':
        case ']':
          if (depth-- == 0)
            return FALSE;
          break;
        default:
          break;
        }
      r->s.at++;
    }
  while (depth > 0);
  *length = (gsize) (r->s.at - *text);
  return TRUE;
}

/* [ @read_item, ... ] */
static gboolean
read_array (Reader *r, gboolean (*read_item) (Reader *r))
{
  if (!scan_char (&r->s, '['))
    return FALSE;
  if (scan_char (&r->s, ']'))
    return TRUE;
  do
    if (!read_item (r))
      return FALSE;
  while (scan_char (&r->s, ','));
  return scan_char (&r->s, ']');
}

static gboolean
read_machine (Reader *r)
{
  guint64 index = 0;
  gboolean data = FALSE;

  if (!scan_char (&r->s, '{') || !read_key (r, FALSE, "name") || !read_string (r, T_NAME, 0)
      || !read_key (r, TRUE, "definition") || !read_string (r, T_DEFINITION, 0)
      || !read_key (r, TRUE, "state") || !read_string (r, T_STATE, 0)
      || !read_uint (r, TRUE, "index", G_MAXUINT64, &index))
    return FALSE;
  if (!scan_char (&r->s, '}'))
    {
      if (!read_key (r, TRUE, "data") || !read_string (r, T_DATA, 0) || !scan_char (&r->s, '}'))
        return FALSE;
      data = TRUE;
    }
  return r->funcs->machine (r->text[T_NAME]->str, r->text[T_DEFINITION]->str, r->text[T_STATE]->str,
                            index, data ? r->text[T_DATA]->str : NULL, r->user_data);
}

/* A result's optional members, in the order they are written. */
enum { R_DEFINITION, R_FROM, R_STATE, R_MEMBER, R_REVISION, R_OUTPUT, R_N };
static const char *const result_keys[R_N] = {
  "definition", "from", "state", "member", "revision", "output"
};

static gboolean
read_result_optional (Reader *r, guint key, DsmSnapshotResult *out)
{
  guint64 member = 0;

  switch (key)
    {
    case R_DEFINITION:
      return read_string (r, T_DEFINITION, 0) && (out->definition = r->text[T_DEFINITION]->str);
    case R_FROM:
      return read_string (r, T_FROM, 0) && (out->from = r->text[T_FROM]->str);
    case R_STATE:
      return read_string (r, T_STATE, 0) && (out->state = r->text[T_STATE]->str);
    case R_MEMBER:
      if (!scan_uint (&r->s, DSM_NODE_ID_MAX, &member))
        return FALSE;
      out->member = (guint) member;
      return TRUE;
    case R_REVISION:
      return scan_uint (&r->s, G_MAXUINT64, &out->revision);
    case R_OUTPUT:
      return read_string (r, T_OUTPUT, DSM_PLUGIN_OUTPUT_BYTES_MAX)
             && (out->output = r->text[T_OUTPUT]->str);
    default:
      g_assert_not_reached ();
    }
}

static gboolean
read_result (Reader *r)
{
  DsmSnapshotResult out = { 0 };
  guint next = 0;

  if (!scan_char (&r->s, '{') || !read_uint (r, FALSE, "seq", G_MAXUINT64, &out.seq)
      || !read_key (r, TRUE, "status") || !read_string (r, T_STATUS, 0)
      || !read_key (r, TRUE, "reason") || !read_string (r, T_REASON, 0)
      || !read_uint (r, TRUE, "index", G_MAXUINT64, &out.index))
    return FALSE;
  out.status = r->text[T_STATUS]->str;
  out.reason = r->text[T_REASON]->str;
  while (!scan_char (&r->s, '}'))
    {
      Span key;

      if (!scan_char (&r->s, ',') || !scan_string (&r->s, &key))
        return FALSE;
      while (next < R_N && !span_is (&key, result_keys[next]))
        next++;
      /* Each at most once, in order: anything else is for the full reader. */
      if (next == R_N || !scan_char (&r->s, ':') || !read_result_optional (r, next, &out))
        return FALSE;
      next++;
    }
  return r->funcs->result (&out, r->user_data);
}

static gboolean
read_session (Reader *r)
{
  guint64 last_index = 0;

  return scan_char (&r->s, '{') && read_key (r, FALSE, "client_id") && read_string (r, T_NAME, 0)
         && read_uint (r, TRUE, "last_index", G_MAXUINT64, &last_index)
         && r->funcs->session (r->text[T_NAME]->str, last_index, r->user_data)
         && read_key (r, TRUE, "results") && read_array (r, read_result) && scan_char (&r->s, '}');
}

static gboolean
read_snapshot (Reader *r)
{
  DsmSnapshotHeader header = { 0 };

  if (!scan_char (&r->s, '{') || !read_key (r, FALSE, "format") || !read_string (r, T_NAME, 0)
      || strcmp (r->text[T_NAME]->str, "dsm-store-2") != 0
      || !read_uint (r, TRUE, "applied_index", G_MAXUINT64, &header.applied_index)
      || !read_uint (r, TRUE, "applied_epoch", G_MAXUINT64, &header.applied_epoch)
      || !read_uint (r, TRUE, "membership_index", G_MAXUINT64, &header.membership_index)
      || !read_key (r, TRUE, "membership")
      || !read_skip_value (r, &header.membership, &header.membership_length)
      || !read_key (r, TRUE, "definitions")
      || !read_skip_value (r, &header.definitions, &header.definitions_length)
      || !r->funcs->header (&header, r->user_data)
      || !read_key (r, TRUE, "machines") || !read_array (r, read_machine)
      || !read_key (r, TRUE, "sessions") || !read_array (r, read_session)
      || !scan_char (&r->s, '}'))
    return FALSE;
  scan_space (&r->s);
  return r->s.at == r->s.end;
}

gboolean
dsm_snapshot_scan (const char *data, gsize length, const DsmSnapshotScanFuncs *funcs,
                   gpointer user_data)
{
  Reader r = { { data, data + length }, { NULL }, funcs, user_data };
  gboolean ok;

  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (funcs != NULL, FALSE);

  /* The full parser refuses such input whole: so must we. */
  if (length > DSM_CODEC_SNAPSHOT_BYTES_MAX)
    return FALSE;
  for (guint i = 0; i < T_N; i++)
    r.text[i] = g_string_sized_new (64);
  ok = read_snapshot (&r);
  for (guint i = 0; i < T_N; i++)
    g_string_free (r.text[i], TRUE);
  return ok;
}
