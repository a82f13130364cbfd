/* net/address.h: "host:port" strings of the cluster config to socket
 * addresses (resolved once at startup, before the loop serves anyone). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Pending connections a listening socket holds (the kernel caps it at
 * net.core.somaxconn).  GSocket's default, 10, overflowed when 64 clients
 * connected at once: the kernel dropped their handshakes and each waited
 * for a retransmission, a request taking 1 to 2 s (docs/BENCHMARKS.md). */
#define DSM_NET_LISTEN_BACKLOG 1024

/**
 * dsm_net_resolve:
 * @what: names the address in errors ("peer address", "client address")
 * Returns: (transfer full): the first address @address resolves to, or
 * NULL with a DSM_NET_ERROR_ADDRESS error.  Blocks while resolving.
 */
GSocketAddress *dsm_net_resolve (const char *address, const char *what, GError **error);

G_END_DECLS
