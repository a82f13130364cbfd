/* net/wake.c: a lock-free cross-thread wake-up for a GSource (wake.h): an
 * eventfd in the source's poll set, written by the waker, read by the
 * dispatch. */
#include "wake.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

void
dsm_wake_init (DsmWake *wake, GSource *source)
{
  g_return_if_fail (wake != NULL);
  g_return_if_fail (source != NULL);

  wake->fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake->fd < 0)
    g_error ("eventfd: %s", g_strerror (errno));
  wake->tag = g_source_add_unix_fd (source, wake->fd, G_IO_IN);
  g_source_set_can_recurse (source, TRUE);
}

void
dsm_wake_signal (DsmWake *wake)
{
  const guint64 one = 1;

  g_assert (wake->fd >= 0);
  /* EAGAIN: the counter is full, so a wake-up is pending anyway. */
  while (write (wake->fd, &one, sizeof one) < 0 && errno == EINTR)
    ;
}

void
dsm_wake_clear (DsmWake *wake)
{
  guint64 count;

  g_assert (wake->fd >= 0);
  while (read (wake->fd, &count, sizeof count) < 0 && errno == EINTR)
    ;
}

void
dsm_wake_finish (DsmWake *wake)
{
  if (wake->fd < 0)
    return;
  close (wake->fd);
  wake->fd = -1;
  wake->tag = NULL;
}
