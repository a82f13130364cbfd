/* sim/network.h: the modelled network between simulated nodes: latency,
 * loss, duplication, reordering, partitions, one-way cuts, and storms
 * (loss, delay, duplication, reordering, corruption for a time window).
 * Every choice comes from the network's own PRNG stream. */
#pragma once

#include <glib.h>

#include "message.h"
#include "scenario/prng.h"
#include "scenario/scenario.h"

G_BEGIN_DECLS

typedef struct _DsmSimNet DsmSimNet;

typedef enum {
  DSM_STORM_LOSS,
  DSM_STORM_DELAY,
  DSM_STORM_DUPLICATE,
  DSM_STORM_REORDER,
  DSM_STORM_CORRUPT,
  DSM_STORM_N,
} DsmStormKind;

/* What becomes of one message: dropped (n == 0, with a reason), or
 * delivered once or twice after the given delays, perhaps corrupted. */
typedef struct {
  guint n;
  guint64 delay_ms[2];
  gboolean corrupt[2];
  const char *drop_reason;
} DsmNetFate;

DsmSimNet *dsm_sim_net_new (guint n_nodes, const DsmNetworkModel *model, guint64 seed);
void dsm_sim_net_free (DsmSimNet *net);

void dsm_sim_net_fate (DsmSimNet *net, guint64 now_ms, DsmNodeId from, DsmNodeId to, DsmMessageType type,
                       DsmNetFate *fate);

/* FALSE when a partition, isolation or cut of every message separates
 * @from from @to now (a cut of some message types does not). */
gboolean dsm_sim_net_connected (const DsmSimNet *net, DsmNodeId from, DsmNodeId to);

/* Whether a message of @type from @from reaches @to now: connected, and
 * no cut of that type. */
gboolean dsm_sim_net_carries (const DsmSimNet *net, DsmNodeId from, DsmNodeId to, DsmMessageType type);

/* @groups: (element-type GArray of DsmNodeId); unlisted nodes form one more group. */
void dsm_sim_net_partition (DsmSimNet *net, GPtrArray *groups);
void dsm_sim_net_isolate (DsmSimNet *net, DsmNodeId id);
/* @types: 1 << DsmMessageType of the messages dropped; 0: all of them. */
void dsm_sim_net_cut (DsmSimNet *net, DsmNodeId from, DsmNodeId to, guint32 types);
/* Undoes partitions, isolations, cuts and storms. */
void dsm_sim_net_heal (DsmSimNet *net);
gboolean dsm_sim_net_is_healed (const DsmSimNet *net, guint64 now_ms);

/* A storm of @kind until @until_ms (G_MAXUINT64: until healed). */
void dsm_sim_net_storm (DsmSimNet *net, DsmStormKind kind, guint percent, guint64 ms,
                        DsmCorruptMode mode, guint64 until_ms);

/* Latency of one client <-> node hop. */
guint64 dsm_sim_net_client_latency (DsmSimNet *net);

/**
 * dsm_sim_net_corrupt:
 * Sends @msg through the real codec damaged as the active corruption storm
 * says (bytes flipped or the text cut short) and decodes it, the way a
 * receiving node would.  A frame checksum catches any change that still
 * decodes (net/ frames carry CRC-32), so only an unchanged message
 * survives.
 *
 * Returns: (transfer full) (nullable): the surviving message, or NULL with
 * @error saying why the receiver refused it.
 */
DsmMessage *dsm_sim_net_corrupt (DsmSimNet *net, const DsmMessage *msg, GError **error);

guint64 dsm_sim_net_get_corrupted (const DsmSimNet *net);

G_END_DECLS
