/* net/address.h: "host:port" strings of the cluster config to socket
 * addresses (resolved once at startup, before the loop serves anyone). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * dsm_net_resolve:
 * @what: names the address in errors ("peer address", "client address")
 * Returns: (transfer full): the first address @address resolves to, or
 * NULL with a DSM_NET_ERROR_ADDRESS error.  Blocks while resolving.
 */
GSocketAddress *dsm_net_resolve (const char *address, const char *what, GError **error);

G_END_DECLS
