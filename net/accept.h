/* net/accept.h: what the client servers (the HTTP front end and the native
 * protocol) share about taking connections: the listening socket, the
 * client's address as text, and the caps on open connections per node and
 * per address, checked before a connection costs anything but its fd. */
#pragma once

#include <gio/gio.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/* Why a connection is refused, in the order the servers count refusals. */
typedef enum {
  DSM_ADMIT_NODE_CAP,           /* the node's cap on open connections */
  DSM_ADMIT_ADDRESS_CAP,        /* the cap per client address */
  DSM_ADMIT_STOPPING,           /* the server no longer accepts */
  DSM_ADMIT_OK,
} DsmAdmit;

/* Open connections, shared by a server's worker threads (its own lock). */
typedef struct {
  GMutex lock;
  GHashTable *per_address;      /* host -> open connections (GUINT_TO_POINTER) */
  guint open;
  guint open_max;               /* the most ever open at once */
  guint max;
  guint max_per_address;
} DsmConnCaps;

void dsm_conn_caps_init (DsmConnCaps *caps, guint max, guint max_per_address);
/* Every admitted connection must have been released. */
void dsm_conn_caps_clear (DsmConnCaps *caps);
/* Counts the connection in when it is DSM_ADMIT_OK; @accepting FALSE refuses. */
DsmAdmit dsm_conn_caps_admit (DsmConnCaps *caps, const char *host, gboolean accepting);
/* A connection that was admitted closed. */
void dsm_conn_caps_release (DsmConnCaps *caps, const char *host);
void dsm_conn_caps_get (DsmConnCaps *caps, guint *open, guint *open_max);

/**
 * dsm_net_listen_tcp:
 * @what: names the server in errors ("HTTP API", "native protocol")
 * @port: (out): the port bound (for port 0)
 * Returns: a non-blocking listening socket with TCP_NODELAY (accepted
 * sockets inherit it) and a backlog of DSM_NET_LISTEN_BACKLOG, or -1 with
 * @error.
 */
int dsm_net_listen_tcp (const char *address, const char *what, guint16 *port, GError **error);

/* The client's address as text ("127.0.0.1"), without its port. */
void dsm_net_peer_host (const struct sockaddr_storage *ss, char *out, gsize size);

G_END_DECLS
