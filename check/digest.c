/* check/digest.c: the entry digest of digest.h: the fields fed as 64-bit
 * words through two lanes with different multipliers and rotations, each
 * finished by murmur3's avalanche. */
#include "check/digest.h"

#include <string.h>

#include "membership.h"

typedef struct {
  guint64 a;
  guint64 b;
} Lanes;

static inline guint64
rotl64 (guint64 x, int r)
{
  return (x << r) | (x >> (64 - r));
}

static inline void
lanes_word (Lanes *l, guint64 w)
{
  l->a = rotl64 (l->a ^ (w * G_GUINT64_CONSTANT (0x87c37b91114253d5)), 31) * G_GUINT64_CONSTANT (0x4cf5ad432745937f);
  l->b = rotl64 (l->b ^ (w * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15)), 27) * G_GUINT64_CONSTANT (0xff51afd7ed558ccd)
         + G_GUINT64_CONSTANT (0x52dce729);
}

/* A string as its length (G_MAXUINT64 for NULL) and its bytes, eight at a
 * time, the last word zero-padded: the length keeps the framing exact. */
static void
lanes_string (Lanes *l, const char *s)
{
  if (s == NULL)
    {
      lanes_word (l, G_MAXUINT64);
      return;
    }
  gsize n = strlen (s);
  lanes_word (l, n);
  for (gsize i = 0; i < n; i += 8)
    {
      guint64 w = 0;
      memcpy (&w, s + i, MIN (8, n - i));
      lanes_word (l, w);
    }
}

static inline guint64
fmix64 (guint64 k)
{
  k ^= k >> 33;
  k *= G_GUINT64_CONSTANT (0xff51afd7ed558ccd);
  k ^= k >> 33;
  k *= G_GUINT64_CONSTANT (0xc4ceb9fe1a85ec53);
  k ^= k >> 33;
  return k;
}

void
dsm_digest_entry (const DsmEntry *entry, DsmDigest *out)
{
  const DsmCommand *cmd = &entry->cmd;
  Lanes l = { G_GUINT64_CONSTANT (0x6a09e667f3bcc908), G_GUINT64_CONSTANT (0xbb67ae8584caa73b) };

  lanes_word (&l, entry->index);
  lanes_word (&l, entry->epoch);
  lanes_word (&l, (guint64) entry->kind);
  lanes_word (&l, (guint64) cmd->op);
  lanes_word (&l, cmd->seq);
  lanes_string (&l, cmd->client_id);
  lanes_string (&l, cmd->machine);
  lanes_string (&l, cmd->definition);
  lanes_string (&l, cmd->from);
  lanes_string (&l, cmd->to);
  lanes_string (&l, cmd->spec);
  lanes_word (&l, (guint64) cmd->node);
  lanes_string (&l, cmd->peer_address);
  lanes_string (&l, cmd->client_address);
  lanes_string (&l, cmd->native_address);
  lanes_string (&l, cmd->payload);
  lanes_word (&l, (guint64) cmd->has_if_revision);
  lanes_word (&l, cmd->if_revision);
  if (entry->membership == NULL)
    lanes_word (&l, G_MAXUINT64);
  else
    {
      const DsmMembership *m = entry->membership;
      guint n = dsm_membership_get_n_members (m);
      lanes_word (&l, n);
      lanes_word (&l, dsm_membership_get_next_id (m));
      for (guint i = 0; i < n; i++)
        {
          const DsmMember *member = dsm_membership_get_member (m, i);
          lanes_word (&l, ((guint64) member->id << 32) | (guint64) member->role);
          lanes_string (&l, member->peer_address);
          lanes_string (&l, member->client_address);
          lanes_string (&l, member->native_address);
        }
    }
  out->lo = fmix64 (l.a ^ rotl64 (l.b, 17));
  out->hi = fmix64 (l.b + l.a);
}
