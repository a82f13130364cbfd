/* net/host.h: a real node: the core's DsmNode fed by real time, the peer
 * transport and the HTTP API, its persists made durable by the WAL with
 * group commit, its events logged.  The host keeps the core's contract
 * (core/outbox.h): persists are appended in order and reported with
 * dsm_node_persisted() once fsynced; messages go out as drained; replies
 * go to the client that asked.
 *
 * Inputs (a message, a client command, a timer, a finished fsync) only
 * schedule a drain: one idle source at default priority drains after all
 * inputs of a loop iteration, so a leader batches every command of that
 * iteration into one Proposal per peer and one WAL sync.  The sync runs in
 * the WAL's worker, or, for a small batch on a follower whose loop has
 * nothing else to do, on the loop itself (docs/OPERATIONS.md, "Group
 * commit on the loop").
 *
 * A full disk raises the nospace alarm instead of stopping the node: the
 * WAL keeps what did not fit, the host retries it every second, tells the
 * node (dsm_node_set_disk_full) and clears the alarm once a write
 * succeeds (docs/OPERATIONS.md, "A full disk"). */
#pragma once

#include <gio/gio.h>

#include "config.h"
#include "node.h"
#include "outbox.h"
#include "transport.h"
#include "wal.h"
#include "watch.h"

G_BEGIN_DECLS

typedef struct _DsmHost DsmHost;

typedef struct {
  const char *data_dir;
  const char *config_dir;            /* nullable: where the config's relative paths start */
  gboolean no_sync;                  /* WAL without fsync: benchmarks of the CPU path only */
  const char *peer_listen_address;   /* nullable: listen for peers here rather than on the config's
                                      * peer_address, which peers still dial (a proxy or NAT between) */
  const char *peer_address;          /* nullable: the config's; required for a node the config's
                                      * nodes do not list (one that joined later) */
  const char *client_address;        /* nullable: the config's; likewise */
  const char *native_address;        /* nullable: the config's; a node that joined serves the native
                                      * protocol only when given one */
  const char *record_path;           /* nullable: record the core's inputs here (net/recorder.h) */
  guint64 record_max_bytes;          /* 0: the default */
  guint record_keep;                 /* 0: the default */
  guint sync_inline_entries_max;     /* a batch of at most this many entries, with no sync in the
                                      * WAL's worker, is fsynced on the loop (0: never;
                                      * docs/OPERATIONS.md, "Group commit on the loop") */
  DsmTransportOptions transport;
} DsmHostOptions;

#define DSM_HOST_SYNC_INLINE_ENTRIES_DEFAULT 4

void dsm_host_options_init (DsmHostOptions *options);

/**
 * dsm_host_new:
 * Opens the WAL in options->data_dir (recovering the node's durable
 * state), builds the node, binds the peer and client addresses of @id
 * (from @config's nodes, or from @options for a node they do not list:
 * one that joined later).  Peers are the members of the node's
 * membership, as its log says (they follow every change).  Nothing runs
 * until dsm_host_start().
 *
 * Returns: (transfer full): the host, or NULL with @error (a WAL error, an
 * inconsistent durable state, an address that does not bind).
 */
DsmHost *dsm_host_new (DsmConfig *config, DsmNodeId id, const DsmHostOptions *options, GError **error);

/* Starts dialing peers and the node's timers. */
void dsm_host_start (DsmHost *host);

/* @func runs once when the host has stopped, for whatever reason (a
 * dsm_host_stop() call or a WAL failure). */
void dsm_host_set_stopped_func (DsmHost *host, GSourceFunc func, gpointer user_data);

/**
 * dsm_host_stop:
 * Graceful stop: answers pending HTTP requests 503, closes peer
 * connections, lets the fsync in flight finish and syncs what remains,
 * then calls the stopped func.  Also the path taken when the WAL fails.
 */
void dsm_host_stop (DsmHost *host);

/**
 * dsm_host_reload_tokens:
 * Reads http.token_file again for both client ports (dsm-node does on
 * SIGHUP; docs/OPERATIONS.md, "Authentication"): a file taken whole
 * replaces the tokens for every later request and hello; a refused one
 * changes nothing and is logged.  Returns: FALSE with @error if refused.
 */
gboolean dsm_host_reload_tokens (DsmHost *host, GError **error);

/* TRUE once the WAL failed: the process must exit non-zero.  (A full disk
 * is not a failure: it raises an alarm.) */
gboolean dsm_host_failed (const DsmHost *host);

typedef enum {
  DSM_HOST_ALARM_NONE,
  DSM_HOST_ALARM_NOSPACE,    /* a write waits for room on the disk: the node takes no writes */
} DsmHostAlarm;

/* "none", "nospace": the kind label of the alarm metrics. */
const char *dsm_host_alarm_to_string (DsmHostAlarm alarm);

/**
 * dsm_host_get_alarm:
 * The alarm raised on this node now.  While it is NOSPACE the node refuses
 * client transitions (the core answers them DSM_REJECT_NO_SPACE: HTTP 507),
 * is no leader (unless it is the only node), and serves reads.
 * @reason: (out) (optional) (transfer none): what could not be written
 *   (file names relative to the data directory), or NULL; valid until the
 *   alarm changes, in a later main-loop iteration
 * @since_us: (out) (optional): g_get_monotonic_time() when it was raised
 */
DsmHostAlarm dsm_host_get_alarm (DsmHost *host, const char **reason, gint64 *since_us);

void dsm_host_free (DsmHost *host);

/* The answer to one submitted command (borrowed). */
typedef void (*DsmHostReplyFunc) (const DsmClientReply *reply, gpointer user_data);

/* Submits @cmd; @func runs exactly once with the core's reply (unless the
 * host stops first).  Returns the request id. */
guint64 dsm_host_submit (DsmHost *host, const DsmCommand *cmd, DsmHostReplyFunc func, gpointer user_data);

/**
 * dsm_host_transfer_leadership:
 * @target: a voter, or DSM_NODE_NONE for the most up-to-date one
 * dsm_node_transfer_leadership() on this host's node, now.  A recording
 * (--record) ends first: the recording format has no transfer input, and
 * a replay that missed it would diverge.
 * Returns: FALSE with its DSM_CONSENSUS_ERROR (not the leader, a bad
 * target, a transfer under way).
 */
gboolean dsm_host_transfer_leadership (DsmHost *host, DsmNodeId target, GError **error);

/* Forgets the callback of @request_id (its client went away). */
void dsm_host_forget (DsmHost *host, guint64 request_id);

DsmNode *dsm_host_get_node (DsmHost *host);
/* The changes this node applied, for watches (borrowed; loop thread). */
const DsmWatchFeed *dsm_host_get_watch_feed (DsmHost *host);
DsmTransport *dsm_host_get_transport (DsmHost *host);
DsmConfig *dsm_host_get_config (DsmHost *host);

/* Appends node, transport, WAL and host metrics in Prometheus text. */
void dsm_host_render_metrics (DsmHost *host, GString *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmHost, dsm_host_free)

G_END_DECLS
