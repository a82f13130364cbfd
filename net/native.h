/* net/native.h: the native client protocol of a node, on its
 * native_address: framed, pipelined requests over one TCP connection, each
 * with a client-chosen id, answered in any order (docs/CLIENT.md).  Worker
 * threads, each with its own GMainContext and epoll set, own the sockets,
 * the hello (bearer tokens and roles, as on the HTTP port), the limits and
 * the deadlines; they hand requests to the consensus loop in batches
 * (loop-queue.h), which answers them without touching a socket.  A node
 * that does not lead answers writes and linearizable reads with the
 * leader's id and native address instead of forwarding them. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _DsmHost DsmHost;
typedef struct _DsmNative DsmNative;

/* Requests the loop runs per iteration before its timers and peers. */
#define DSM_NATIVE_LOOP_BATCH_MAX 256

/**
 * dsm_native_new:
 * @host: borrowed: it outlives the protocol
 * @base_dir: where the config's relative file names (http.token_file) start
 *
 * Reads the bearer tokens of http.token_file, and the HTTP port's TLS
 * certificate and key (http.tls_cert_file) when it has them.
 * Returns: (transfer full): the protocol, listening nowhere yet, or NULL
 * with @error naming the file.
 */
DsmNative *dsm_native_new (DsmHost *host, const char *base_dir, GError **error);

/* Listens on @address, with TLS when the HTTP port has it (its
 * certificate, read by dsm_native_new()).  Refused (a DSM_CONFIG_ERROR) on
 * an address that is not loopback without credentials unless
 * http.insecure_open is set (docs/CLIENT.md, "Security"). */
gboolean dsm_native_listen (DsmNative *native, const char *address, GError **error);
guint16 dsm_native_get_port (DsmNative *native);
void dsm_native_start (DsmNative *native);

/* On the loop: answers what waits "stopping", and every new request. */
void dsm_native_shutdown (DsmNative *native);

/* On the loop, after dsm_native_shutdown(): stops the workers. */
void dsm_native_free (DsmNative *native);

/**
 * dsm_native_hold_answers:
 * From here to the matching dsm_native_release_answers() (they nest), the
 * loop's answers are queued to their workers without waking them; the
 * release wakes each worker that got any, once.  The host holds them over
 * a drain, which may answer a whole batch of requests: one wake-up per
 * worker instead of one per answer (docs/BENCHMARKS.md, "The leader's
 * answers").  The loop's thread only.
 */
void dsm_native_hold_answers (DsmNative *native);
void dsm_native_release_answers (DsmNative *native);

/* http.token_file read again, as dsm_http_api_reload_tokens() does for
 * the HTTP port: a later hello is checked against the new tokens (a
 * connection already past its hello keeps its role). */
gboolean dsm_native_reload_tokens (DsmNative *native, GError **error);

/* Appends the dsm_native_* metrics.  On the loop's thread. */
void dsm_native_render_metrics (DsmNative *native, GString *out);

G_END_DECLS
