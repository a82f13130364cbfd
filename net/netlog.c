/* net/netlog.c: structured log records of real nodes and the writer
 * dsm-node installs (netlog.h). */
#include "netlog.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"

static DsmNetEpochFunc epoch_func;
static gpointer epoch_data;

void
dsm_net_log_set_epoch_func (DsmNetEpochFunc func, gpointer user_data)
{
  epoch_func = func;
  epoch_data = user_data;
}

static const char *
level_priority (GLogLevelFlags level)
{
  /* syslog priorities, as GLib's own writers map them. */
  if (level & G_LOG_LEVEL_ERROR)
    return "3";
  if (level & G_LOG_LEVEL_CRITICAL)
    return "4";
  if (level & G_LOG_LEVEL_WARNING)
    return "4";
  if (level & G_LOG_LEVEL_MESSAGE)
    return "5";
  if (level & G_LOG_LEVEL_INFO)
    return "6";
  return "7";
}

typedef struct {
  GLogField fields[12];
  gsize n;
} Record;

static void
record_add (Record *r, const char *key, const char *value)
{
  g_assert (r->n < G_N_ELEMENTS (r->fields));
  r->fields[r->n++] = (GLogField) { key, value, -1 };
}

void
dsm_net_log (GLogLevelFlags level, DsmNodeId node, DsmNodeId peer, const char *event,
             const char *format, ...)
{
  Record r = { 0 };
  va_list args;
  char node_s[16], peer_s[16], epoch_s[24];

  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_snprintf (node_s, sizeof node_s, "%u", node);
  g_snprintf (peer_s, sizeof peer_s, "%u", peer);
  g_snprintf (epoch_s, sizeof epoch_s, "%" G_GUINT64_FORMAT, epoch_func != NULL ? epoch_func (epoch_data) : 0);

  record_add (&r, "MESSAGE", message);
  record_add (&r, "PRIORITY", level_priority (level));
  record_add (&r, "GLIB_DOMAIN", DSM_LOG_DOMAIN);
  record_add (&r, "DSM_NODE", node_s);
  record_add (&r, "DSM_EPOCH", epoch_s);
  record_add (&r, "DSM_EVENT", event);
  if (peer != DSM_NODE_NONE)
    record_add (&r, "DSM_PEER", peer_s);
  g_log_structured_array (level, r.fields, r.n);
}

/* ---- rate-limited records, from any thread ---- */

/* Keys remembered at once: past it they share one slot (DsmLogLimiter),
 * so a flood of sources still costs one record per interval. */
#define LIMIT_KEYS_MAX 1024

static GMutex limit_lock;
static DsmLogLimiter *limit_shared;   /* keys "event\x1fkey"; under limit_lock */

gboolean
dsm_net_log_limited (GLogLevelFlags level, DsmNodeId node, const char *event, const char *key,
                     const char *format, ...)
{
  g_autofree char *id = NULL;
  guint64 suppressed = 0;
  gboolean admitted;
  va_list args;

  if (!dsm_net_log_level_enabled (level))
    return FALSE;
  id = g_strdup_printf ("%s\x1f%s", event, key);
  g_mutex_lock (&limit_lock);
  if (limit_shared == NULL)
    limit_shared = dsm_log_limiter_new (DSM_NET_LOG_LIMIT_INTERVAL_MS, LIMIT_KEYS_MAX);
  admitted = dsm_log_limiter_allow (limit_shared, id, g_get_monotonic_time (), &suppressed);
  g_mutex_unlock (&limit_lock);
  if (!admitted)
    return FALSE;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  if (suppressed > 0)
    dsm_net_log (level, node, DSM_NODE_NONE, event, "%s (%" G_GUINT64_FORMAT " more like it suppressed in the "
                 "last %d s)", message, suppressed, DSM_NET_LOG_LIMIT_INTERVAL_MS / 1000);
  else
    dsm_net_log (level, node, DSM_NODE_NONE, event, "%s", message);
  return TRUE;
}

guint64
dsm_net_log_get_suppressed (void)
{
  guint64 total;

  g_mutex_lock (&limit_lock);
  total = limit_shared != NULL ? dsm_log_limiter_get_suppressed_total (limit_shared) : 0;
  g_mutex_unlock (&limit_lock);
  return total;
}

void
dsm_net_log_event (const DsmEvent *event)
{
  Record r = { 0 };
  char node_s[16], peer_s[16], epoch_s[24], index_s[24];
  g_autofree char *message = dsm_event_format (event);

  g_snprintf (node_s, sizeof node_s, "%u", event->node);
  g_snprintf (peer_s, sizeof peer_s, "%u", event->peer);
  g_snprintf (epoch_s, sizeof epoch_s, "%" G_GUINT64_FORMAT, event->epoch);
  g_snprintf (index_s, sizeof index_s, "%" G_GUINT64_FORMAT, event->index);

  GLogLevelFlags level = dsm_event_level (event);
  record_add (&r, "MESSAGE", message);
  record_add (&r, "PRIORITY", level_priority (level));
  record_add (&r, "GLIB_DOMAIN", DSM_LOG_DOMAIN);
  record_add (&r, "DSM_NODE", node_s);
  record_add (&r, "DSM_EPOCH", epoch_s);
  record_add (&r, "DSM_EVENT", dsm_event_kind_to_string (event->kind));
  record_add (&r, "DSM_ROLE", dsm_role_to_string (event->role));
  if (event->peer != DSM_NODE_NONE)
    record_add (&r, "DSM_PEER", peer_s);
  if (event->index != 0)
    record_add (&r, "DSM_INDEX", index_s);
  if (event->reason != DSM_REJECT_NONE)
    record_add (&r, "DSM_REASON", dsm_reject_reason_to_string (event->reason));
  g_log_structured_array (level, r.fields, r.n);
}

/* ---- rate limiting ---- */

typedef struct {
  gint64 last_us;        /* when a record about the key was last let through */
  guint64 suppressed;    /* since then */
} LimitSlot;

struct _DsmLogLimiter {
  gint64 interval_us;
  guint max_keys;
  GHashTable *slots;     /* key -> LimitSlot */
  LimitSlot overflow;    /* every key past max_keys */
  guint64 suppressed_total;
};

DsmLogLimiter *
dsm_log_limiter_new (guint interval_ms, guint max_keys)
{
  DsmLogLimiter *limiter = g_new0 (DsmLogLimiter, 1);

  g_return_val_if_fail (max_keys >= 1, NULL);
  limiter->interval_us = (gint64) interval_ms * 1000;
  limiter->max_keys = max_keys;
  limiter->slots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  limiter->overflow.last_us = G_MININT64;
  return limiter;
}

void
dsm_log_limiter_free (DsmLogLimiter *limiter)
{
  if (limiter == NULL)
    return;
  g_hash_table_unref (limiter->slots);
  g_free (limiter);
}

/* Forgets keys quiet for a whole interval: they owe nothing. */
static void
limiter_allow_expire (DsmLogLimiter *limiter, gint64 now_us)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, limiter->slots);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      LimitSlot *slot = value;
      if (now_us - slot->last_us >= limiter->interval_us && slot->suppressed == 0)
        g_hash_table_iter_remove (&iter);
    }
}

gboolean
dsm_log_limiter_allow (DsmLogLimiter *limiter, const char *key, gint64 now_us, guint64 *suppressed)
{
  LimitSlot *slot = g_hash_table_lookup (limiter->slots, key);

  *suppressed = 0;
  if (slot == NULL && g_hash_table_size (limiter->slots) >= limiter->max_keys)
    limiter_allow_expire (limiter, now_us);
  if (slot == NULL && g_hash_table_size (limiter->slots) < limiter->max_keys)
    {
      slot = g_new0 (LimitSlot, 1);
      slot->last_us = G_MININT64;
      g_hash_table_insert (limiter->slots, g_strdup (key), slot);
    }
  if (slot == NULL)
    slot = &limiter->overflow;
  g_assert (g_hash_table_size (limiter->slots) <= limiter->max_keys);
  if (slot->last_us != G_MININT64 && now_us - slot->last_us < limiter->interval_us)
    {
      slot->suppressed++;
      limiter->suppressed_total++;
      return FALSE;
    }
  *suppressed = slot->suppressed;
  slot->suppressed = 0;
  slot->last_us = now_us;
  return TRUE;
}

guint64
dsm_log_limiter_get_suppressed_total (const DsmLogLimiter *limiter)
{
  return limiter->suppressed_total;
}

/* ---- the writer ---- */

static GLogLevelFlags writer_threshold = G_LOG_LEVEL_MESSAGE;
static DsmLogFormat writer_format = DSM_LOG_FORMAT_TEXT;
static gboolean writer_journald;

static const struct {
  const char *name;
  GLogLevelFlags level;
} level_names[] = {
  { "error", G_LOG_LEVEL_ERROR },
  { "critical", G_LOG_LEVEL_CRITICAL },
  { "warning", G_LOG_LEVEL_WARNING },
  { "message", G_LOG_LEVEL_MESSAGE },
  { "info", G_LOG_LEVEL_INFO },
  { "debug", G_LOG_LEVEL_DEBUG },
};

gboolean
dsm_net_log_level_from_string (const char *text, GLogLevelFlags *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (level_names); i++)
    if (g_ascii_strcasecmp (text, level_names[i].name) == 0)
      {
        *out = level_names[i].level;
        return TRUE;
      }
  return FALSE;
}

static const char *
level_name (GLogLevelFlags level)
{
  for (guint i = 0; i < G_N_ELEMENTS (level_names); i++)
    if (level & level_names[i].level)
      return level_names[i].name;
  return "debug";
}

/* GLib levels grow less severe as their bit rises. */
static gboolean
level_passes (GLogLevelFlags level)
{
  GLogLevelFlags l = level & G_LOG_LEVEL_MASK;
  return l != 0 && (l & ((writer_threshold << 1) - 1)) != 0;
}

gboolean
dsm_net_log_level_enabled (GLogLevelFlags level)
{
  return level_passes (level);
}

static void
writer_append_time (GString *line)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S");

  g_string_append_printf (line, "%s.%03dZ", stamp, g_date_time_get_microsecond (now) / 1000);
}

/* The fields that carry numbers (node and peer ids, epochs, log indices)
 * are written as JSON numbers, when they are one: journald's fields are
 * all text, a JSON log need not be (docs/OPERATIONS.md, "Logs"). */
static gboolean
writer_field_is_number (const char *key, const char *value)
{
  static const char *const numeric[] = { "DSM_NODE", "DSM_EPOCH", "DSM_PEER", "DSM_INDEX" };
  gboolean listed = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (numeric); i++)
    listed = listed || strcmp (key, numeric[i]) == 0;
  if (!listed || value[0] == '\0' || (value[0] == '0' && value[1] != '\0') || strlen (value) > 20)
    return FALSE;
  for (const char *c = value; *c != '\0'; c++)
    if (!g_ascii_isdigit (*c))
      return FALSE;
  return TRUE;
}

static GLogWriterOutput
dsm_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if (!level_passes (level))
    return G_LOG_WRITER_HANDLED;
  if (writer_journald)
    return g_log_writer_journald (level, fields, n_fields, user_data);

  GString *line = g_string_new (NULL);
  const char *message = "";
  if (writer_format == DSM_LOG_FORMAT_JSON)
    {
      g_string_append (line, "{\"time\":\"");
      writer_append_time (line);
      g_string_append_printf (line, "\",\"level\":\"%s\"", level_name (level));
      for (gsize i = 0; i < n_fields; i++)
        {
          if (fields[i].length >= 0 || strcmp (fields[i].key, "PRIORITY") == 0)
            continue;  /* binary fields, and the level said already */
          g_string_append_c (line, ',');
          dsm_codec_write_string (line, fields[i].key);
          g_string_append_c (line, ':');
          if (writer_field_is_number (fields[i].key, fields[i].value))
            g_string_append (line, fields[i].value);
          else
            dsm_codec_write_string (line, fields[i].value);
        }
      g_string_append (line, "}\n");
    }
  else
    {
      writer_append_time (line);
      g_string_append_printf (line, " %-7s", level_name (level));
      for (gsize i = 0; i < n_fields; i++)
        {
          const char *key = fields[i].key;
          if (fields[i].length >= 0)
            continue;
          if (strcmp (key, "MESSAGE") == 0)
            message = fields[i].value;
          else if (g_str_has_prefix (key, "DSM_"))
            {
              g_autofree char *k = g_ascii_strdown (key + 4, -1);
              g_string_append_printf (line, " %s=%s", k, (const char *) fields[i].value);
            }
          else if (strcmp (key, "GLIB_DOMAIN") == 0 && strcmp (fields[i].value, DSM_LOG_DOMAIN) != 0)
            g_string_append_printf (line, " domain=%s", (const char *) fields[i].value);
        }
      g_string_append_printf (line, ": %s\n", message);
    }
  fputs (line->str, stderr);
  fflush (stderr);
  g_string_free (line, TRUE);
  return G_LOG_WRITER_HANDLED;
}

void
dsm_net_log_install_writer (GLogLevelFlags threshold, DsmLogFormat format)
{
  writer_threshold = threshold;
  writer_format = format;
  writer_journald = g_log_writer_is_journald (fileno (stderr));
  if (threshold & (G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG))
    g_log_set_debug_enabled (TRUE);
  g_log_set_writer_func (dsm_log_writer, NULL, NULL);
}
