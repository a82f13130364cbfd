/* sim/network.c: the network model (see network.h). */
#include "network.h"

#include <string.h>

#include "codec.h"
#include "error.h"

typedef struct {
  guint percent;
  guint64 ms;
  DsmCorruptMode mode;
  guint64 until_ms;         /* 0: inactive */
} Storm;

struct _DsmSimNet {
  guint n;                  /* node ids 1..n */
  DsmNetworkModel model;
  DsmPrng prng;
  guint *group;             /* [id]: partition group, 0 = none */
  guint32 *cut;             /* [from * (n + 1) + to]: 1 << DsmMessageType dropped; CUT_ALL */
  gboolean *isolated;       /* [id] */
  gboolean any_cut;
  Storm storms[DSM_STORM_N];
  GString *scratch;
  guint64 corrupted;
};

/* A cut of every message (a cut's mask of types is at most DSM_MSG_N_TYPES bits). */
#define CUT_ALL G_MAXUINT32
G_STATIC_ASSERT (DSM_MSG_N_TYPES < 32);

DsmSimNet *
dsm_sim_net_new (guint n_nodes, const DsmNetworkModel *model, guint64 seed)
{
  DsmSimNet *net = g_new0 (DsmSimNet, 1);

  net->n = n_nodes;
  net->model = *model;
  dsm_prng_init (&net->prng, seed, "network", 0);
  net->group = g_new0 (guint, n_nodes + 1);
  net->isolated = g_new0 (gboolean, n_nodes + 1);
  net->cut = g_new0 (guint32, (gsize) (n_nodes + 1) * (n_nodes + 1));
  net->scratch = g_string_sized_new (1024);
  return net;
}

void
dsm_sim_net_free (DsmSimNet *net)
{
  if (net == NULL)
    return;
  g_free (net->group);
  g_free (net->isolated);
  g_free (net->cut);
  g_string_free (net->scratch, TRUE);
  g_free (net);
}

gboolean
dsm_sim_net_connected (const DsmSimNet *net, DsmNodeId from, DsmNodeId to)
{
  if (!net->any_cut)
    return TRUE;
  return net->group[from] == net->group[to] && !net->isolated[from] && !net->isolated[to]
         && net->cut[from * (net->n + 1) + to] != CUT_ALL;
}

gboolean
dsm_sim_net_carries (const DsmSimNet *net, DsmNodeId from, DsmNodeId to, DsmMessageType type)
{
  g_assert ((guint) type < DSM_MSG_N_TYPES);
  return dsm_sim_net_connected (net, from, to)
         && (!net->any_cut || (net->cut[from * (net->n + 1) + to] & (1u << type)) == 0);
}

static guint
storm_percent (const DsmSimNet *net, DsmStormKind kind, guint64 now_ms)
{
  const Storm *storm = &net->storms[kind];
  return storm->until_ms > now_ms ? storm->percent : 0;
}

static guint64
fate_latency (DsmSimNet *net, guint64 now_ms)
{
  guint64 delay = dsm_prng_range (&net->prng, net->model.latency_ms_min, net->model.latency_ms_max);
  const Storm *spike = &net->storms[DSM_STORM_DELAY];
  guint reorder = MAX (net->model.reorder_percent, storm_percent (net, DSM_STORM_REORDER, now_ms));
  guint64 reorder_ms = net->storms[DSM_STORM_REORDER].until_ms > now_ms
                           ? net->storms[DSM_STORM_REORDER].ms
                           : net->model.reorder_ms_max;

  if (spike->until_ms > now_ms)
    delay += spike->ms;
  if (reorder > 0 && reorder_ms > 0 && dsm_prng_chance (&net->prng, reorder))
    delay += dsm_prng_range (&net->prng, 1, reorder_ms);
  return delay;
}

void
dsm_sim_net_fate (DsmSimNet *net, guint64 now_ms, DsmNodeId from, DsmNodeId to, DsmMessageType type,
                  DsmNetFate *fate)
{
  memset (fate, 0, sizeof *fate);
  if (!dsm_sim_net_connected (net, from, to))
    {
      fate->drop_reason = "partition";
      return;
    }
  if (!dsm_sim_net_carries (net, from, to, type))
    {
      fate->drop_reason = "cut";
      return;
    }
  guint loss = MAX (net->model.loss_percent, storm_percent (net, DSM_STORM_LOSS, now_ms));
  if (loss > 0 && dsm_prng_chance (&net->prng, loss))
    {
      fate->drop_reason = "loss";
      return;
    }
  guint duplicate = MAX (net->model.duplicate_percent, storm_percent (net, DSM_STORM_DUPLICATE, now_ms));
  guint corrupt = storm_percent (net, DSM_STORM_CORRUPT, now_ms);
  fate->n = duplicate > 0 && dsm_prng_chance (&net->prng, duplicate) ? 2 : 1;
  for (guint i = 0; i < fate->n; i++)
    {
      fate->delay_ms[i] = fate_latency (net, now_ms);
      fate->corrupt[i] = corrupt > 0 && dsm_prng_chance (&net->prng, corrupt);
    }
}

void
dsm_sim_net_partition (DsmSimNet *net, GPtrArray *groups)
{
  for (guint id = 0; id <= net->n; id++)
    net->group[id] = groups->len + 1; /* the unlisted */
  for (guint g = 0; g < groups->len; g++)
    {
      GArray *ids = groups->pdata[g];
      for (guint i = 0; i < ids->len; i++)
        net->group[g_array_index (ids, DsmNodeId, i)] = g + 1;
    }
  net->any_cut = TRUE;
}

void
dsm_sim_net_isolate (DsmSimNet *net, DsmNodeId id)
{
  net->isolated[id] = TRUE;
  net->any_cut = TRUE;
}

void
dsm_sim_net_cut (DsmSimNet *net, DsmNodeId from, DsmNodeId to, guint32 types)
{
  g_assert (from != to && from <= net->n && to <= net->n);
  g_assert (types == 0 || types < (1u << DSM_MSG_N_TYPES));
  net->cut[from * (net->n + 1) + to] |= types != 0 ? types : CUT_ALL;
  net->any_cut = TRUE;
}

void
dsm_sim_net_heal (DsmSimNet *net)
{
  memset (net->group, 0, sizeof (guint) * (net->n + 1));
  memset (net->isolated, 0, sizeof (gboolean) * (net->n + 1));
  memset (net->cut, 0, sizeof (guint32) * (net->n + 1) * (net->n + 1));
  net->any_cut = FALSE;
  memset (net->storms, 0, sizeof net->storms);
}

gboolean
dsm_sim_net_is_healed (const DsmSimNet *net, guint64 now_ms)
{
  if (net->any_cut)
    return FALSE;
  for (guint k = 0; k < DSM_STORM_N; k++)
    if (net->storms[k].until_ms > now_ms)
      return FALSE;
  return TRUE;
}

void
dsm_sim_net_storm (DsmSimNet *net, DsmStormKind kind, guint percent, guint64 ms,
                   DsmCorruptMode mode, guint64 until_ms)
{
  g_assert ((guint) kind < DSM_STORM_N);
  net->storms[kind] = (Storm) { .percent = percent, .ms = ms, .mode = mode, .until_ms = until_ms };
}

guint64
dsm_sim_net_client_latency (DsmSimNet *net)
{
  return dsm_prng_range (&net->prng, net->model.client_latency_ms_min, net->model.client_latency_ms_max);
}

DsmMessage *
dsm_sim_net_corrupt (DsmSimNet *net, const DsmMessage *msg, GError **error)
{
  GString *text = net->scratch;

  g_string_truncate (text, 0);
  dsm_codec_write_message (text, msg);
  g_autofree char *original = g_strndup (text->str, text->len);
  gsize length = text->len;

  if (net->storms[DSM_STORM_CORRUPT].mode == DSM_CORRUPT_TRUNCATE)
    g_string_truncate (text, dsm_prng_range (&net->prng, 0, length - 1));
  else
    {
      guint flips = (guint) dsm_prng_range (&net->prng, 1, 3);
      for (guint i = 0; i < flips; i++)
        text->str[dsm_prng_range (&net->prng, 0, length - 1)] ^= (char) (1u << dsm_prng_range (&net->prng, 0, 7));
    }
  net->corrupted++;

  g_autoptr(DsmMessage) decoded = dsm_codec_decode_message (text->str, text->len, error);
  if (decoded == NULL)
    return NULL;
  if (text->len != length || memcmp (text->str, original, length) != 0)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "frame checksum mismatch (the damage still decoded as a %s)",
                   dsm_message_type_to_string (decoded->type));
      return NULL;
    }
  return g_steal_pointer (&decoded);
}

guint64
dsm_sim_net_get_corrupted (const DsmSimNet *net)
{
  return net->corrupted;
}
