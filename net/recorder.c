/* net/recorder.c: a node's recording file (recorder.h): rotation at open,
 * a byte budget, writes at each drain, a warning and an end line when
 * the budget is spent or a write fails. */
#include "recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "netlog.h"
#include "recording.h"

struct _DsmRecorder {
  char *path;
  int fd;
  guint64 max_bytes;
  guint64 written;
  GString *lines;           /* NULL once the recording ended */
};

static char *
rotated_name (const char *path, guint k)
{
  return k == 0 ? g_strdup (path) : g_strdup_printf ("%s.%u", path, k);
}

DsmRecorder *
dsm_recorder_open (const DsmRecorderOptions *options, GError **error)
{
  g_return_val_if_fail (options != NULL && options->path != NULL, NULL);

  guint keep = options->keep != 0 ? options->keep : DSM_RECORDER_KEEP_DEFAULT;
  /* The oldest goes; the others move one place down. */
  for (guint k = keep - 1; k >= 1; k--)
    {
      g_autofree char *from = rotated_name (options->path, k - 1);
      g_autofree char *to = rotated_name (options->path, k);
      if (g_rename (from, to) != 0 && errno != ENOENT)
        {
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: cannot rotate to %s: %s", from, to,
                       g_strerror (errno));
          return NULL;
        }
    }
  int fd = g_open (options->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s: %s", options->path, g_strerror (errno));
      return NULL;
    }
  DsmRecorder *recorder = g_new0 (DsmRecorder, 1);
  recorder->path = g_strdup (options->path);
  recorder->fd = fd;
  recorder->max_bytes = options->max_bytes != 0 ? options->max_bytes : DSM_RECORDER_MAX_BYTES_DEFAULT;
  recorder->lines = g_string_new (NULL);
  return recorder;
}

GString *
dsm_recorder_lines (DsmRecorder *recorder)
{
  return recorder != NULL ? recorder->lines : NULL;
}

static gboolean
recorder_write (DsmRecorder *recorder, const char *data, gsize length)
{
  while (length > 0)
    {
      gssize n = write (recorder->fd, data, length);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          dsm_net_log (G_LOG_LEVEL_WARNING, DSM_NODE_NONE, DSM_NODE_NONE, "record_failed",
                       "recording to %s stopped: %s", recorder->path, g_strerror (errno));
          return FALSE;
        }
      data += n;
      length -= (gsize) n;
      recorder->written += (guint64) n;
    }
  return TRUE;
}

/* The recording is over: nothing more is appended. */
static void
recorder_drop_lines (DsmRecorder *recorder)
{
  g_string_free (recorder->lines, TRUE);
  recorder->lines = NULL;
}

static void
recorder_end (DsmRecorder *recorder, const char *why)
{
  g_autoptr(GString) end = g_string_new (NULL);

  dsm_recording_write_end (end, why);
  recorder_write (recorder, end->str, end->len);
  recorder_drop_lines (recorder);
}

void
dsm_recorder_flush (DsmRecorder *recorder)
{
  if (recorder == NULL || recorder->lines == NULL || recorder->lines->len == 0)
    return;
  if (recorder->written + recorder->lines->len > recorder->max_bytes)
    {
      /* Whole drains only: the recording ends where the budget would
       * have cut one, and replays up to there. */
      dsm_net_log (G_LOG_LEVEL_WARNING, DSM_NODE_NONE, DSM_NODE_NONE, "record_limit",
                   "recording to %s ended: %" G_GUINT64_FORMAT " bytes written, the limit is %" G_GUINT64_FORMAT,
                   recorder->path, recorder->written, recorder->max_bytes);
      recorder_end (recorder, "limit");
      return;
    }
  if (!recorder_write (recorder, recorder->lines->str, recorder->lines->len))
    {
      recorder_drop_lines (recorder);
      return;
    }
  g_string_truncate (recorder->lines, 0);
}

void
dsm_recorder_close (DsmRecorder *recorder, const char *why)
{
  if (recorder == NULL)
    return;
  if (recorder->lines != NULL)
    {
      dsm_recorder_flush (recorder);
      if (recorder->lines != NULL)
        recorder_end (recorder, why);
    }
  close (recorder->fd);
  g_free (recorder->path);
  g_free (recorder);
}
