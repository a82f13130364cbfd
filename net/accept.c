/* net/accept.c: the listening socket, client addresses and connection caps
 * the client servers share (accept.h). */
#include "accept.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "address.h"

void
dsm_conn_caps_init (DsmConnCaps *caps, guint max, guint max_per_address)
{
  g_mutex_init (&caps->lock);
  caps->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  caps->open = 0;
  caps->open_max = 0;
  caps->max = max;
  caps->max_per_address = max_per_address;
}

void
dsm_conn_caps_clear (DsmConnCaps *caps)
{
  g_assert (caps->open == 0);
  g_hash_table_unref (caps->per_address);
  g_mutex_clear (&caps->lock);
}

DsmAdmit
dsm_conn_caps_admit (DsmConnCaps *caps, const char *host, gboolean accepting)
{
  DsmAdmit verdict = DSM_ADMIT_OK;

  g_mutex_lock (&caps->lock);
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (caps->per_address, host));
  if (!accepting)
    verdict = DSM_ADMIT_STOPPING;
  else if (caps->open >= caps->max)
    verdict = DSM_ADMIT_NODE_CAP;
  else if (count >= caps->max_per_address)
    verdict = DSM_ADMIT_ADDRESS_CAP;
  else
    {
      g_hash_table_replace (caps->per_address, g_strdup (host), GUINT_TO_POINTER (count + 1));
      caps->open++;
      caps->open_max = MAX (caps->open_max, caps->open);
    }
  g_mutex_unlock (&caps->lock);
  return verdict;
}

void
dsm_conn_caps_release (DsmConnCaps *caps, const char *host)
{
  g_mutex_lock (&caps->lock);
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (caps->per_address, host));
  g_assert (count > 0);
  g_assert (caps->open > 0);
  if (count == 1)
    g_hash_table_remove (caps->per_address, host);
  else
    g_hash_table_replace (caps->per_address, g_strdup (host), GUINT_TO_POINTER (count - 1));
  caps->open--;
  g_mutex_unlock (&caps->lock);
}

void
dsm_conn_caps_get (DsmConnCaps *caps, guint *open, guint *open_max)
{
  g_mutex_lock (&caps->lock);
  *open = caps->open;
  *open_max = caps->open_max;
  g_mutex_unlock (&caps->lock);
}

int
dsm_net_listen_tcp (const char *address, const char *what, guint16 *port, GError **error)
{
  g_autoptr(GSocketAddress) addr = dsm_net_resolve (address, what, error);
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int fd, one = 1;

  if (addr == NULL || !g_socket_address_to_native (addr, &ss, sizeof ss, error))
    return -1;
  fd = socket (ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    goto failed;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  /* Accepted sockets inherit it: an answer leaves in one segment, at once. */
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (bind (fd, (struct sockaddr *) &ss, (socklen_t) g_socket_address_get_native_size (addr)) < 0
      || listen (fd, DSM_NET_LISTEN_BACKLOG) < 0 || getsockname (fd, (struct sockaddr *) &ss, &len) < 0)
    goto failed;
  *port = g_ntohs (ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *) &ss)->sin6_port
                                            : ((struct sockaddr_in *) &ss)->sin_port);
  return fd;

failed:
  {
    int saved = errno;
    if (fd >= 0)
      close (fd);
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s on %s: %s", what, address,
                 g_strerror (saved));
    return -1;
  }
}

void
dsm_net_peer_host (const struct sockaddr_storage *ss, char *out, gsize size)
{
  if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
    {
      g_snprintf (out, size, "unknown");
      return;
    }
  gboolean v6 = ss->ss_family == AF_INET6;
  const void *addr = v6 ? (const void *) &((const struct sockaddr_in6 *) ss)->sin6_addr
                        : (const void *) &((const struct sockaddr_in *) ss)->sin_addr;
  g_autoptr(GInetAddress) a = g_inet_address_new_from_bytes (addr, v6 ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_IPV4);
  g_autofree char *text = g_inet_address_to_string (a);
  g_snprintf (out, size, "%s", text);
}
