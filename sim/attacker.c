/* sim/attacker.c: the simulated attacker and the authenticated links it
 * attacks: forged, replayed and spoofed frames checked by the rules of
 * net/'s sealed frames and handshake (docs/SIMULATOR.md, "The attacker").
 *
 * A link is one direction between two members over one connection: a key
 * derived from the run's link secret (a stream of its own, which the
 * attacker never reads), the sender, the receiver and the connection's
 * generation (a crash of either end starts a new one), and the count of
 * frames its receiver accepted.  A frame is accepted when its tag is the
 * HMAC-SHA256 under that key of the next count and its bytes, as
 * dsm_frame_mac_open() checks (net/frame-mac.h): a forged tag, a frame
 * replayed (its count is behind), or one from another link or connection
 * (another key) is refused as "mac".  A stranger's connection must prove
 * the secret at the handshake ("auth"), after naming the cluster
 * ("wrong_cluster").  Genuine traffic is authentic by construction: it
 * only moves the counts on and is captured for replays. */
#include "sim-private.h"

#include <string.h>

#include "codec.h"

#define LINK_KEY_BYTES 32
#define LINK_TAG_BYTES 16
/* Frames kept for replays: the most recent deliveries. */
#define CAPTURE_MAX 1024

typedef struct {
  guint64 gen;              /* the connection: a crash of either end starts another */
  guint64 accepted;         /* frames its receiver accepted on it: the next one's seq */
} Link;

typedef struct {
  guint64 time_ms;
  DsmNodeId from;
  DsmNodeId to;
  guint64 gen;
  guint64 seq;
  DsmMessage *msg;
} Captured;

struct _SimAttacker {
  DsmPrng prng;             /* the attacker's dice: stream "attacker" */
  guint8 secret[LINK_KEY_BYTES]; /* stream "link-keys": the cluster's, never the attacker's */
  guint n;                  /* node ids 1..n have links */
  Link *links;              /* [from * (n + 1) + to] */
  Captured ring[CAPTURE_MAX];
  guint captured;           /* frames in ring */
  guint ring_next;          /* where the next capture goes */
  GString *scratch;
  GString *own_trace;       /* the run's trace when its caller asked for none */
  GString *twin_trace;      /* the attack-free twin's */
  gsize trace_start;        /* where this run's lines start in sim->trace */
};

static gboolean
trusts_unauthenticated (const DsmSim *sim)
{
#ifdef DSM_MUTANTS
  return sim->options.mutant == DSM_MUTANT_TRUST_UNAUTHENTICATED;
#else
  return FALSE;
#endif
}

static gboolean
scenario_attacks (const DsmScenario *scenario)
{
  for (guint i = 0; i < scenario->steps->len; i++)
    {
      const DsmStep *step = scenario->steps->pdata[i];
      if (step->kind >= DSM_STEP_FORGE && step->kind <= DSM_STEP_SPOOF)
        return TRUE;
    }
  return FALSE;
}

void
attacker_init (DsmSim *sim)
{
  DsmPrng keys;

  if (sim->options.disarmed || !scenario_attacks (sim->scenario))
    return;
  SimAttacker *a = g_new0 (SimAttacker, 1);
  dsm_prng_init (&a->prng, sim->seed, "attacker", 0);
  dsm_prng_init (&keys, sim->seed, "link-keys", 0);
  for (guint i = 0; i < LINK_KEY_BYTES; i += 8)
    {
      guint64 word = dsm_prng_next (&keys);
      memcpy (a->secret + i, &word, 8);
    }
  a->n = sim->capacity;
  a->links = g_new0 (Link, (gsize) (a->n + 1) * (a->n + 1));
  a->scratch = g_string_sized_new (1024);
  sim->attacker = a;
}

void
attacker_clear (DsmSim *sim)
{
  SimAttacker *a = sim->attacker;

  if (a == NULL)
    return;
  for (guint i = 0; i < a->captured; i++)
    dsm_message_unref (a->ring[i].msg);
  g_free (a->links);
  g_string_free (a->scratch, TRUE);
  if (a->own_trace != NULL)
    g_string_free (a->own_trace, TRUE);
  if (a->twin_trace != NULL)
    g_string_free (a->twin_trace, TRUE);
  g_free (a);
  sim->attacker = NULL;
}

static Link *
link_get (SimAttacker *a, DsmNodeId from, DsmNodeId to)
{
  g_assert (from >= 1 && from <= a->n);
  g_assert (to >= 1 && to <= a->n);
  g_assert (from != to);
  return &a->links[from * (a->n + 1) + to];
}

/* ---- keys and tags ---- */

static void
link_key (const SimAttacker *a, DsmNodeId from, DsmNodeId to, guint64 gen, guint8 out[LINK_KEY_BYTES])
{
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, a->secret, LINK_KEY_BYTES);
  g_autofree char *info = g_strdup_printf ("dsm-sim-link\n%u\n%u\n%" G_GUINT64_FORMAT, from, to, gen);
  gsize length = LINK_KEY_BYTES;

  g_hmac_update (hmac, (const guchar *) info, -1);
  g_hmac_get_digest (hmac, out, &length);
  g_assert (length == LINK_KEY_BYTES);
}

static void
link_tag (const SimAttacker *a, DsmNodeId from, DsmNodeId to, guint64 gen, guint64 seq,
          const GString *bytes, guint8 out[LINK_TAG_BYTES])
{
  guint8 key[LINK_KEY_BYTES];
  guint8 digest[32];
  gsize length = sizeof digest;
  guint64 seq_be = GUINT64_TO_BE (seq);

  link_key (a, from, to, gen, key);
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, key, sizeof key);
  g_hmac_update (hmac, (const guchar *) &seq_be, sizeof seq_be);
  g_hmac_update (hmac, (const guchar *) bytes->str, (gssize) bytes->len);
  g_hmac_get_digest (hmac, digest, &length);
  memcpy (out, digest, LINK_TAG_BYTES);
}

/* ---- genuine traffic ---- */

void
attacker_on_deliver (DsmSim *sim, const DsmMessage *msg)
{
  SimAttacker *a = sim->attacker;

  if (a == NULL)
    return;
  Link *link = link_get (a, msg->from, msg->to);
  Captured *c = &a->ring[a->ring_next];
  if (a->captured == CAPTURE_MAX)
    dsm_message_unref (c->msg);
  else
    a->captured++;
  *c = (Captured) { sim->now_ms, msg->from, msg->to, link->gen, link->accepted, dsm_message_ref ((DsmMessage *) msg) };
  a->ring_next = (a->ring_next + 1) % CAPTURE_MAX;
  link->accepted++;
}

void
attacker_on_crash (DsmSim *sim, DsmNodeId id)
{
  SimAttacker *a = sim->attacker;

  if (a == NULL)
    return;
  for (DsmNodeId other = 1; other <= a->n; other++)
    if (other != id)
      {
        /* Both directions' connections end with the process. */
        *link_get (a, id, other) = (Link) { link_get (a, id, other)->gen + 1, 0 };
        *link_get (a, other, id) = (Link) { link_get (a, other, id)->gen + 1, 0 };
      }
}

/* ---- injections ---- */

static void
attack_trace (DsmSim *sim, const DsmStep *step, DsmNodeId from, DsmNodeId to, const DsmMessage *msg,
              const char *verdict, const char *why)
{
  if (sim->trace == NULL)
    return;
  GString *t = sim->trace;
  g_string_append_printf (t, "{\"t\":%" G_GUINT64_FORMAT ",\"ev\":\"attack\",\"kind\":\"%s\",\"step\":\"%s\",\"from\":%u,\"to\":%u",
                          sim->now_ms, dsm_step_kind_to_string (step->kind), step->where, from, to);
  if (msg != NULL)
    g_string_append_printf (t, ",\"msg\":\"%s\",\"epoch\":%" G_GUINT64_FORMAT, dsm_message_type_to_string (msg->type),
                            msg->epoch);
  g_string_append_printf (t, ",\"verdict\":\"%s\",\"why\":", verdict);
  dsm_codec_write_string (t, why);
  g_string_append (t, "}\n");
}

static void
attack_refused (DsmSim *sim, const DsmStep *step, DsmNodeId from, DsmNodeId to, const DsmMessage *msg,
                const char *why)
{
  sim->report.attacks_refused++;
  attack_trace (sim, step, from, to, msg, "refused", why);
}

/* The receiver's core takes @msg: only a planted bug gets here. */
static void
attack_accepted (DsmSim *sim, const DsmStep *step, DsmNodeId from, DsmNodeId to, const DsmMessage *msg)
{
  SimNode *sn = &sim->nodes[to];

  g_assert (trusts_unauthenticated (sim));
  g_assert (sn->node != NULL);
  sim->report.attacks_accepted++;
  attack_trace (sim, step, from, to, msg, "accepted", "the link trusts unauthenticated frames");
  trace_message (sim, "deliver", msg, "injected");
  dsm_node_step (sn->node, sim_local_now (sn, sim->now_ms), msg);
  sim_process (sim, sn);
}

/* What a receiver does with a frame on the link @from -> @to carrying
 * @msg under @tag (net/transport-conn.c: the MAC first, then the ids). */
static void
link_receive (DsmSim *sim, const DsmStep *step, DsmNodeId from, DsmNodeId to, const DsmMessage *msg,
              const guint8 tag[LINK_TAG_BYTES])
{
  SimAttacker *a = sim->attacker;
  guint8 expected[LINK_TAG_BYTES];

  sim->report.attacks_injected++;
  if (sim->nodes[to].node == NULL)
    {
      attack_refused (sim, step, from, to, msg, "down");
      return;
    }
  Link *link = link_get (a, from, to);
  g_string_truncate (a->scratch, 0);
  dsm_codec_write_message (a->scratch, msg);
  link_tag (a, from, to, link->gen, link->accepted, a->scratch, expected);
  gboolean authentic = memcmp (expected, tag, LINK_TAG_BYTES) == 0;
  if (!authentic && !trusts_unauthenticated (sim))
    {
      attack_refused (sim, step, from, to, msg, "mac");
      return;
    }
  link->accepted++;
  if (msg->from != from || msg->to != to)
    {
      attack_refused (sim, step, from, to, msg, "spoofed");
      return;
    }
  attack_accepted (sim, step, from, to, msg);
}

static DsmNodeId
attack_pick_live (DsmSim *sim, gboolean followers_only, DsmNodeId except)
{
  DsmNodeId leader = sim_leader (sim);
  DsmNodeId candidates[DSM_MAX_NODES];
  guint n = 0;

  for (guint id = 1; id <= sim->n; id++)
    if (sim->nodes[id].node != NULL && id != except && !(followers_only && id == leader))
      candidates[n++] = id;
  return n == 0 ? DSM_NODE_NONE : candidates[dsm_prng_range (&sim->attacker->prng, 0, n - 1)];
}

/* Like script_resolve_target(), with the attacker's dice: an attack
 * leaves every other stream where its twin has it. */
static DsmNodeId
attack_resolve (DsmSim *sim, const DsmTarget *target, DsmNodeId except)
{
  switch (target->kind)
    {
    case DSM_TARGET_NODE:
      return target->id;
    case DSM_TARGET_LEADER:
      return sim_leader (sim);
    case DSM_TARGET_FOLLOWER:
      return attack_pick_live (sim, TRUE, except);
    case DSM_TARGET_RANDOM:
      return attack_pick_live (sim, FALSE, except);
    case DSM_TARGET_ALL:
    default:
      return DSM_NODE_NONE;
    }
}

static DsmMessage *
attack_build (DsmSim *sim, const DsmStep *step, DsmNodeId from, DsmNodeId to)
{
  DsmAttackBase base = { 0 };
  g_autoptr(GError) error = NULL;
  DsmNode *node = sim->nodes[to].node;

  if (node != NULL)
    {
      const DsmLog *log = dsm_node_get_log (node);
      base = (DsmAttackBase) { dsm_node_get_epoch (node), dsm_log_last_index (log), dsm_log_last_epoch (log) };
    }
  DsmMessage *msg = dsm_scenario_attack_message (step->message, &base, from, to, &error);
  if (msg == NULL)
    attack_trace (sim, step, from, to, NULL, "skipped", error->message);
  return msg;
}

static void
attack_forge (DsmSim *sim, const DsmStep *step)
{
  DsmNodeId to = attack_resolve (sim, &step->target, DSM_NODE_NONE);
  DsmNodeId from = attack_resolve (sim, &step->target_as, to);
  guint8 tag[LINK_TAG_BYTES];

  if (to == DSM_NODE_NONE || from == DSM_NODE_NONE || from == to)
    {
      attack_trace (sim, step, from, to, NULL, "skipped", "no such pair of nodes now");
      return;
    }
  g_autoptr(DsmMessage) msg = attack_build (sim, step, from, to);
  if (msg == NULL)
    return;
  /* Without the key the attacker can only guess the tag. */
  for (guint i = 0; i < LINK_TAG_BYTES; i++)
    tag[i] = (guint8) dsm_prng_range (&sim->attacker->prng, 0, 255);
  link_receive (sim, step, from, to, msg, tag);
}

static void
attack_replay (DsmSim *sim, const DsmStep *step)
{
  SimAttacker *a = sim->attacker;
  gboolean own = step->target.kind == DSM_TARGET_ALL;
  DsmNodeId to = own ? DSM_NODE_NONE : attack_resolve (sim, &step->target, DSM_NODE_NONE);
  guint candidates[CAPTURE_MAX];
  guint n = 0;

  if (!own && to == DSM_NODE_NONE)
    {
      attack_trace (sim, step, DSM_NODE_NONE, to, NULL, "skipped", "no such node now");
      return;
    }
  /* Onto another receiver: frames of its peers, never its own. */
  for (guint i = 0; i < a->captured; i++)
    if ((step->window_ms == 0 || a->ring[i].time_ms + step->window_ms >= sim->now_ms)
        && (own || a->ring[i].from != to))
      candidates[n++] = i;
  if (n == 0)
    {
      attack_trace (sim, step, DSM_NODE_NONE, to, NULL, "skipped", "nothing captured");
      return;
    }
  for (guint k = 0; k < step->count; k++)
    {
      const Captured *c = &a->ring[candidates[dsm_prng_range (&a->prng, 0, n - 1)]];
      DsmNodeId receiver = own ? c->to : to;
      guint8 tag[LINK_TAG_BYTES];

      g_assert (receiver != c->from);
      /* The frame as it was on the wire: its bytes and the tag its sender
       * computed, valid for its own link, connection and seq only. */
      g_string_truncate (a->scratch, 0);
      dsm_codec_write_message (a->scratch, c->msg);
      link_tag (a, c->from, c->to, c->gen, c->seq, a->scratch, tag);
      g_assert (receiver != c->to || c->gen != link_get (a, c->from, receiver)->gen
                || c->seq < link_get (a, c->from, receiver)->accepted);
      link_receive (sim, step, c->from, receiver, c->msg, tag);
    }
}

/* A stranger dials @to: the handshake wants the cluster's id, then proof
 * of the secret (net/handshake.c); only then would a frame be read. */
static void
attack_spoof (DsmSim *sim, const DsmStep *step)
{
  DsmNodeId to = attack_resolve (sim, &step->target, DSM_NODE_NONE);
  DsmNodeId as = attack_resolve (sim, &step->target_as, to);

  if (to == DSM_NODE_NONE || as == DSM_NODE_NONE)
    {
      attack_trace (sim, step, as, to, NULL, "skipped", "no such node now");
      return;
    }
  g_autoptr(DsmMessage) msg = attack_build (sim, step, as, to);
  if (msg == NULL)
    return;
  sim->report.attacks_injected++;
  if (sim->nodes[to].node == NULL)
    attack_refused (sim, step, as, to, msg, "down");
  else if (step->cluster != NULL && g_strcmp0 (step->cluster, sim->config->cluster_id) != 0)
    attack_refused (sim, step, as, to, msg, "wrong_cluster");
  else if (!trusts_unauthenticated (sim))
    attack_refused (sim, step, as, to, msg, "auth");
  else if (msg->from != as || msg->to != to)
    attack_refused (sim, step, as, to, msg, "spoofed");
  else
    attack_accepted (sim, step, as, to, msg);
}

void
attacker_run (DsmSim *sim, const DsmStep *step)
{
  if (sim->attacker == NULL)
    return; /* the attack-free twin */
  switch (step->kind)
    {
    case DSM_STEP_FORGE:
      attack_forge (sim, step);
      break;
    case DSM_STEP_REPLAY:
      attack_replay (sim, step);
      break;
    case DSM_STEP_SPOOF:
      attack_spoof (sim, step);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* ---- the attack-free twin ---- */

void
attacker_run_twin (DsmSim *sim)
{
  SimAttacker *a = sim->attacker;
  DsmSimReport twin_report = { 0 };

  if (a == NULL)
    return;
  DsmSimOptions options = sim->options;
  options.has_seed = TRUE;
  options.seed = sim->seed;
  options.disarmed = TRUE;
  options.trace = a->twin_trace = g_string_new (NULL);
  g_autoptr(DsmSim) twin = dsm_sim_new (sim->scenario, &options);
  dsm_sim_run (twin, &twin_report);
  dsm_sim_report_clear (&twin_report);
  if (sim->trace == NULL)
    sim->trace = a->own_trace = g_string_new (NULL);
  a->trace_start = sim->trace->len;
}

static gboolean
line_is_attack (const char *line)
{
  const char *after_time = strchr (line, ',');
  return after_time != NULL && g_str_has_prefix (after_time + 1, "\"ev\":\"attack\"");
}

/* The first line of @text from *@pos that is no attack line, cut at its
 * newline; NULL at the end. */
static const char *
next_core_line (const GString *text, gsize *pos, gsize *length)
{
  while (*pos < text->len)
    {
      const char *line = text->str + *pos;
      const char *end = memchr (line, '\n', text->len - *pos);
      gsize len = end != NULL ? (gsize) (end - line) : text->len - *pos;
      *pos += len + 1;
      if (!line_is_attack (line))
        {
          *length = len;
          return line;
        }
    }
  return NULL;
}

/* The run and its twin must have the same trace but for the attack lines:
 * every node got the same messages, timers and commands at the same
 * times, so nothing injected reached a core or moved any other stream. */
void
attacker_compare_twin (DsmSim *sim)
{
  SimAttacker *a = sim->attacker;
  gsize pos = a != NULL ? a->trace_start : 0, twin_pos = 0, len = 0, twin_len = 0;

  if (a == NULL || a->twin_trace == NULL || !dsm_checker_ok (sim->checker))
    return;
  for (guint n = 1;; n++)
    {
      const char *line = next_core_line (sim->trace, &pos, &len);
      const char *twin_line = next_core_line (a->twin_trace, &twin_pos, &twin_len);
      if (line == NULL && twin_line == NULL)
        return;
      if (line != NULL && twin_line != NULL && len == twin_len && memcmp (line, twin_line, len) == 0)
        continue;
      dsm_checker_fail (sim->checker, DSM_INVARIANT_ATTACKER_INERT, sim->now_ms,
                        "trace line %u differs from the attack-free twin's: %.*s (twin: %.*s)", n,
                        line ? (int) MIN (len, 300) : 5, line ? line : "(end)",
                        twin_line ? (int) MIN (twin_len, 300) : 5, twin_line ? twin_line : "(end)");
      return;
    }
}
