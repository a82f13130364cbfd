/* net/address.c: config addresses to socket addresses (address.h). */
#include "address.h"

#include "net-error.h"

GSocketAddress *
dsm_net_resolve (const char *address, const char *what, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GSocketConnectable) connectable = g_network_address_parse (address, 0, &local);
  GSocketAddress *addr = NULL;

  if (connectable != NULL)
    {
      g_autoptr(GSocketAddressEnumerator) addresses = g_socket_connectable_enumerate (connectable);
      addr = g_socket_address_enumerator_next (addresses, NULL, &local);
    }
  if (addr == NULL)
    g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_ADDRESS, "%s \"%s\": %s", what, address,
                 local != NULL ? local->message : "resolves to no address");
  return addr;
}
