/* net/transport-inbound.c: connections peers (and strangers) open to our
 * peer port: the bounded set of pending handshakes, evicted oldest-first,
 * and the rate-limited log of their trouble (docs/SECURITY.md, "Peer port
 * abuse"). */
#include "transport-private.h"

#include <string.h>

void
transport_log_inbound (DsmTransport *t, const Conn *conn, GLogLevelFlags level, const char *event,
                       const char *format, ...)
{
  guint64 suppressed = 0;
  va_list args;

  if (!dsm_net_log_level_enabled (level)
      || !dsm_log_limiter_allow (t->log_limiter, conn->source, g_get_monotonic_time (), &suppressed))
    return;
  va_start (args, format);
  g_autofree char *message = g_strdup_vprintf (format, args);
  va_end (args);
  if (suppressed > 0)
    dsm_net_log (level, t->self, conn->peer_id, event, "%s (and %" G_GUINT64_FORMAT " more records "
                 "about %s suppressed since the last)", message, suppressed, conn->source);
  else
    dsm_net_log (level, t->self, conn->peer_id, event, "%s", message);
}

/* The oldest pending inbound handshake, from @source when not NULL. */
static Conn *
transport_on_incoming_oldest (DsmTransport *t, const char *source, guint *from_source)
{
  Conn *oldest = NULL;

  *from_source = 0;
  for (guint i = 0; i < t->inbound->len; i++)
    {
      Conn *conn = t->inbound->pdata[i];
      if (source != NULL && strcmp (conn->source, source) != 0)
        continue;
      (*from_source)++;
      if (oldest == NULL || conn->accepted_seq < oldest->accepted_seq)
        oldest = conn;
    }
  return oldest;
}

/* Makes room for @fresh among the pending handshakes by closing the
 * oldest one (of its source first): a stranger holding silent
 * connections cannot lock a real peer out, even from the same address,
 * because the newcomer always gets in and a real handshake finishes in
 * milliseconds (docs/SECURITY.md, "Peer port abuse"). */
static void
transport_on_incoming_evict (DsmTransport *t, Conn *fresh)
{
  guint from_source = 0, all = 0;
  Conn *victim = transport_on_incoming_oldest (t, fresh->source, &from_source);

  if (from_source < t->options.max_pending_inbound_per_source)
    victim = NULL;
  if (victim == NULL && t->inbound->len >= t->options.max_pending_inbound)
    victim = transport_on_incoming_oldest (t, NULL, &all);
  if (victim == NULL)
    return;
  g_autoptr(GError) error = g_error_new (DSM_NET_ERROR, DSM_NET_ERROR_EVICTED,
                                         "closed to make room for a newer connection from %s "
                                         "(%u pending handshakes in all, %u from %s)",
                                         fresh->remote, t->inbound->len, from_source, fresh->source);
  t->m.inbound_evicted++;
  transport_conn_gone (t, victim, error);
}

gboolean
transport_on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source,
                       gpointer data)
{
  DsmTransport *t = data;

  if (t->stopped)
    return TRUE;  /* unreferenced, the connection closes */
  t->m.inbound_accepted++;
  Conn *conn = conn_new (t, connection, FALSE, DSM_NODE_NONE);
  conn->accepted_seq = ++t->accepted_seq;
  transport_on_incoming_evict (t, conn);
  g_assert (t->inbound->len < t->options.max_pending_inbound);
  g_ptr_array_add (t->inbound, conn);
  conn_start (conn);
  return TRUE;
}

