/* tests/net/raw-http.h: raw TCP to a node's HTTP port, for requests no
 * well-behaved client would send: partial heads, lying lengths, pipelines,
 * TLS bytes on a plain port.  Every wait has a budget, none a fixed sleep. */
#pragma once

#include <gio/gio.h>

typedef struct {
  GSocket *socket;
  GString *in;                  /* bytes received, not yet taken as a response */
  gboolean closed;              /* the server closed (EOF or reset) */
} RawConn;

typedef struct {
  guint status;                 /* 0: none (the connection closed first) */
  char *head;                   /* status line and headers */
  char *body;
} RawResponse;

/* Connects to 127.0.0.1:@port from @source (NULL: 127.0.0.1). */
RawConn *raw_connect (guint16 port, const char *source);
RawConn *raw_connect_with_rcvbuf (guint16 port, int rcvbuf);
/* FALSE when the server had already closed (a reset). */
gboolean raw_send (RawConn *r, const void *data, gsize length);
gboolean raw_send_str (RawConn *r, const char *text);
/* Waits up to @budget_ms for bytes or the close; TRUE if something came. */
gboolean raw_wait (RawConn *r, guint budget_ms);
/* The next whole response (Content-Length framed), within @budget_ms. */
RawResponse raw_read_response (RawConn *r, guint budget_ms);
/* Whether the server closes the connection within @budget_ms (reading and
 * keeping whatever comes before). */
gboolean raw_wait_closed (RawConn *r, guint budget_ms);
void raw_response_clear (RawResponse *response);
/* The value of header @name in @response (case-insensitive), or NULL (transfer full). */
char *raw_response_header (const RawResponse *response, const char *name);
void raw_close (RawConn *r);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RawConn, raw_close)
