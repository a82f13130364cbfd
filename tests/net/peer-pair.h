/* tests/net/peer-pair.h: two live peer transports (nodes 1 and 2 of a
 * 3-node config) on 127.0.0.1:0 in one process, for the transport tests:
 * waiting on the main context within a budget, messages to send and look
 * for, metrics, and the blocking frame I/O of hostile peers in threads.
 *
 * Budgets hold on a loaded machine: handshakes get seconds, waits a
 * minute, which only a failing test ever reaches (the machine runs
 * several builds at once, and sanitizers slow our code and GnuTLS). */
#pragma once

#include <gio/gio.h>

#include "config.h"
#include "message.h"
#include "transport.h"

G_BEGIN_DECLS

/* How long a wait may take before the test fails. */
#define PEER_PAIR_BUDGET_MS 60000
/* The handshake deadline of TLS fixtures: a TLS handshake under
 * AddressSanitizer on a busy machine takes seconds. */
#define PEER_PAIR_TLS_HANDSHAKE_MS 20000

typedef struct {
  DsmConfig *config;
  DsmTransport *t[3];           /* nodes 1 and 2 (index 0 unused) */
  guint16 port[3];
  GPtrArray *received[3];       /* DsmMessage received by node i */
  guint unsent[3];
  guint invalid[3];
} PeerPair;

/**
 * peer_pair_init:
 * @config: (transfer full): a config of nodes 1..3; node 3 never runs
 *   (its address is 127.0.0.1:1, where dials fail)
 * @options: (nullable): the transports' options (NULL: the defaults)
 *
 * Creates and binds transports 1 and 2 (not started), points each at the
 * other's port, and adds a 5 ms wakeup so the loop turns while a helper
 * thread works.
 */
void peer_pair_init (PeerPair *p, DsmConfig *config, const DsmTransportOptions *options);

/* A transport for node @id on @address ("127.0.0.1:0" or a port to reuse),
 * recording into p->received[@id] (created when NULL), p->unsent, p->invalid. */
DsmTransport *peer_pair_new_transport (PeerPair *p, DsmNodeId id, const char *address,
                                       const DsmTransportOptions *options);

/* Stops and frees both transports, lets cancelled operations unwind, and
 * drops the config and the wakeup. */
void peer_pair_clear (PeerPair *p);

typedef gboolean (*PeerPairCond) (PeerPair *p, gpointer data);

/* Iterates the default main context until @cond holds; FALSE after
 * PEER_PAIR_BUDGET_MS. */
gboolean peer_pair_wait (PeerPair *p, PeerPairCond cond, gpointer data);

/* Both transports hold the same established connection and neither has a
 * dial in flight: nothing can replace it, and no crossing handshake can
 * still fail and be counted. */
gboolean peer_pair_both_connected (PeerPair *p, gpointer data);

/* Returns: (transfer full): a Commit from @from to @to carrying @commit_index. */
DsmMessage *peer_pair_commit_message (DsmNodeId from, DsmNodeId to, guint64 commit_index);

/* Whether node @to received a message carrying @commit_index. */
gboolean peer_pair_has_commit (PeerPair *p, DsmNodeId to, guint64 commit_index);

/* Waits for both to be connected, sends a Commit carrying @tag from @from
 * to @to and waits for it to arrive. */
void peer_pair_assert_delivers (PeerPair *p, DsmNodeId from, DsmNodeId to, guint64 tag);

/* The sample "@name{@labels}" of @t's metrics; fails the test when absent. */
guint64 peer_pair_metric (DsmTransport *t, const char *name, const char *labels);

/* Log writer: records only with --verbose.  Hostile input is logged as
 * warnings, and the tests provoke it on purpose. */
/* Signal handlers for any transport: "message" appends a reference to the
 * GPtrArray @data, "unsent" counts in the guint @data. */
void peer_pair_on_message (DsmTransport *t, DsmMessage *msg, gpointer data);
void peer_pair_on_unsent (DsmTransport *t, DsmMessage *msg, gpointer data);

GLogWriterOutput peer_pair_log_writer (GLogLevelFlags level, const GLogField *fields, gsize n,
                                       gpointer data);

/* ---- a hostile peer's blocking I/O, in a thread ---- */

/* Connects to 127.0.0.1:@port; reads time out after PEER_PAIR_BUDGET_MS. */
GSocketConnection *peer_pair_connect (guint16 port);

/* Returns: (transfer full) (nullable): the next plain frame's payload;
 * NULL at EOF, on an error, or past @max_bytes. */
GBytes *peer_pair_read_frame (GInputStream *in, gsize max_bytes);

/* Writes @text as one plain frame. */
void peer_pair_write_frame (GOutputStream *out, const char *text);

/* Reads until the peer closes (EOF or reset): TRUE, or FALSE when the
 * read timed out. */
gboolean peer_pair_read_to_close (GInputStream *in);

/**
 * peer_pair_handshake_as:
 * @fingerprint: the bootstrap fingerprint the hello presents
 * @secret: (nullable): what the dialer proves with (NULL: no secret)
 * @nonce_d, @nonce_a: (out): the nonces, DSM_HANDSHAKE_NONCE_HEX + 1 bytes each
 *
 * Dials through @in/@out as node @from to node @to of cluster "dsm": hello,
 * the welcome (asserted), ready.  The welcome's proof is not checked.
 */
void peer_pair_handshake_as (GInputStream *in, GOutputStream *out, DsmNodeId from, DsmNodeId to,
                             const char *fingerprint, GBytes *secret, char *nonce_d, char *nonce_a);

/* Removes @path and everything under it. */
void peer_pair_remove_tree (const char *path);

G_END_DECLS
