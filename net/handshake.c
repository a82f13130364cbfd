/* net/handshake.c: building, parsing and checking the handshake frames
 * (handshake.h); the connection code drives the steps. */
#include "handshake.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "codec.h"
#include "json.h"
#include "net-error.h"

static const char *const kind_names[] = {
  [DSM_HANDSHAKE_HELLO] = "hello",
  [DSM_HANDSHAKE_WELCOME] = "welcome",
  [DSM_HANDSHAKE_READY] = "ready",
  [DSM_HANDSHAKE_REFUSE] = "refuse",
};

void
dsm_handshake_free (DsmHandshake *hs)
{
  if (hs == NULL)
    return;
  g_free (hs->cluster_id);
  g_free (hs->fingerprint);
  g_free (hs->plugins);
  g_free (hs->nonce);
  g_free (hs->proof);
  g_free (hs->reason);
  g_free (hs->detail);
  g_free (hs);
}

/* ---- encoding ---- */

static void
write_key_string (GString *out, const char *key, const char *value)
{
  g_string_append_printf (out, "%s\"%s\":", out->str[out->len - 1] == '{' ? "" : ",", key);
  dsm_codec_write_string (out, value);
}

/* A refusal's detail quotes what the peer sent (its cluster id, up to
 * 1 KiB): sent as is it could outgrow what the peer reads, which would then
 * hear a malformed handshake instead of the reason.  So: valid UTF-8,
 * control characters as '?', at most DSM_HANDSHAKE_DETAIL_BYTES_MAX bytes
 * cut at a character boundary (found by fuzz/fuzz-handshake.c). */
static char *
encode_clip_detail (const char *detail)
{
  char *text = g_utf8_make_valid (detail != NULL ? detail : "", -1);
  gsize length = strlen (text);

  for (char *c = text; *c != '\0'; c++)
    if ((guchar) *c < 0x20 || *c == 0x7f)
      *c = '?';
  if (length > DSM_HANDSHAKE_DETAIL_BYTES_MAX)
    {
      const char *end = g_utf8_find_prev_char (text, text + DSM_HANDSHAKE_DETAIL_BYTES_MAX + 1);
      g_assert (end != NULL);
      text[end - text] = '\0';
    }
  g_assert (strlen (text) <= DSM_HANDSHAKE_DETAIL_BYTES_MAX);
  return text;
}

char *
dsm_handshake_encode (const DsmHandshake *hs)
{
  g_autofree char *detail = NULL;

  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "{\"%s\":{", kind_names[hs->kind]);
  switch (hs->kind)
    {
    case DSM_HANDSHAKE_HELLO:
    case DSM_HANDSHAKE_WELCOME:
      g_string_append_printf (out, "\"protocol\":%u,\"from\":%u,\"to\":%u", hs->protocol, hs->from, hs->to);
      write_key_string (out, "cluster_id", hs->cluster_id);
      if (hs->fingerprint != NULL)
        write_key_string (out, "fingerprint", hs->fingerprint);
      /* Only when there are any: a node without plugins speaks to nodes
       * that predate them as before. */
      if (hs->plugins != NULL)
        write_key_string (out, "plugins", hs->plugins);
      write_key_string (out, "nonce", hs->nonce);
      if (hs->kind == DSM_HANDSHAKE_HELLO)
        g_string_append_printf (out, ",\"auth\":%s", hs->auth ? "true" : "false");
      else if (hs->proof != NULL)
        write_key_string (out, "proof", hs->proof);
      break;
    case DSM_HANDSHAKE_READY:
      if (hs->proof != NULL)
        write_key_string (out, "proof", hs->proof);
      break;
    case DSM_HANDSHAKE_REFUSE:
      write_key_string (out, "reason", hs->reason);
      detail = encode_clip_detail (hs->detail);
      write_key_string (out, "detail", detail);
      break;
    default:
      g_assert_not_reached ();
    }
  g_string_append (out, "}}");
  return g_string_free (out, FALSE);
}

/* ---- decoding ----
 *
 * Through the core's JSON layer (core/json.h): strict parsing (no
 * duplicate keys, no trailing data, bounded size and depth), typed readers
 * naming the field ("handshake.hello.nonce: ..."), every failure a
 * DSM_NET_ERROR_HANDSHAKE. */

static const DsmJsonErrors handshake_json_errors = {
  dsm_net_error_quark,
  {
    [DSM_JSON_ERROR_SYNTAX] = DSM_NET_ERROR_HANDSHAKE,
    [DSM_JSON_ERROR_DUPLICATE] = DSM_NET_ERROR_HANDSHAKE,
    [DSM_JSON_ERROR_TOO_DEEP] = DSM_NET_ERROR_HANDSHAKE,
    [DSM_JSON_ERROR_TOO_LARGE] = DSM_NET_ERROR_HANDSHAKE,
    [DSM_JSON_ERROR_MISSING] = DSM_NET_ERROR_HANDSHAKE,
    [DSM_JSON_ERROR_TYPE] = DSM_NET_ERROR_HANDSHAKE,
    [DSM_JSON_ERROR_RANGE] = DSM_NET_ERROR_HANDSHAKE,
    [DSM_JSON_ERROR_CHOICE] = DSM_NET_ERROR_HANDSHAKE,
    [DSM_JSON_ERROR_UNKNOWN] = DSM_NET_ERROR_HANDSHAKE,
    [DSM_JSON_ERROR_INVALID] = DSM_NET_ERROR_HANDSHAKE,
  },
};

/* A handshake frame is one small object of one object. */
#define HANDSHAKE_BYTES_MAX 4096
#define HANDSHAKE_DEPTH_MAX 2

static gboolean
read_hex (const DsmJsonAt *body, const char *key, DsmJsonNeed need, gsize digits, char **out,
          GError **error)
{
  const char *value = NULL;
  DsmJsonAt at;

  if (!dsm_json_read_string (body, key, need, 256, &value, error))
    return FALSE;
  if (value == NULL)
    return TRUE;
  gboolean ok = strlen (value) == digits;
  for (gsize i = 0; ok && i < digits; i++)
    ok = g_ascii_isxdigit (value[i]) && !g_ascii_isupper (value[i]);
  if (!ok)
    {
      dsm_json_at_member (&at, body, key);
      return dsm_json_fail (&at, DSM_JSON_ERROR_INVALID, error, "expected %" G_GSIZE_FORMAT
                            " lowercase hex digits", digits);
    }
  *out = g_strdup (value);
  return TRUE;
}

static gboolean
read_text (const DsmJsonAt *body, const char *key, gsize bytes_max, char **out, GError **error)
{
  const char *value = NULL;

  if (!dsm_json_read_string (body, key, DSM_JSON_REQUIRED, bytes_max, &value, error))
    return FALSE;
  *out = g_strdup (value);
  return TRUE;
}

static gboolean
read_optional_text (const DsmJsonAt *body, const char *key, gsize bytes_max, char **out, GError **error)
{
  const char *value = NULL;

  if (!dsm_json_read_string (body, key, DSM_JSON_OPTIONAL, bytes_max, &value, error))
    return FALSE;
  *out = g_strdup (value);
  return TRUE;
}

static gboolean
decode_body (DsmHandshake *hs, const DsmJsonAt *body, GError **error)
{
  static const char *const hello_keys[] = { "protocol", "from", "to", "cluster_id", "fingerprint", "plugins",
                                            "nonce", "auth", NULL };
  static const char *const welcome_keys[] = { "protocol", "from", "to", "cluster_id", "fingerprint", "plugins",
                                              "nonce", "proof", NULL };
  static const char *const ready_keys[] = { "proof", NULL };
  static const char *const refuse_keys[] = { "reason", "detail", NULL };

  switch (hs->kind)
    {
    case DSM_HANDSHAKE_HELLO:
    case DSM_HANDSHAKE_WELCOME:
      if (!dsm_json_get_object (body, hs->kind == DSM_HANDSHAKE_HELLO ? hello_keys : welcome_keys, error)
          || !dsm_json_read_uint32 (body, "protocol", DSM_JSON_REQUIRED, 0, G_MAXUINT32, &hs->protocol, error)
          || !dsm_json_read_node_id (body, "from", DSM_JSON_REQUIRED, &hs->from, error)
          || !dsm_json_read_node_id (body, "to", DSM_JSON_REQUIRED, &hs->to, error)
          || !read_text (body, "cluster_id", 1024, &hs->cluster_id, error)
          /* optional here: a peer of an older protocol has none, and
           * hears "version" rather than "malformed" (check_common) */
          || !read_hex (body, "fingerprint", DSM_JSON_OPTIONAL, DSM_HANDSHAKE_FINGERPRINT_HEX, &hs->fingerprint,
                        error)
          || !read_hex (body, "nonce", DSM_JSON_REQUIRED, DSM_HANDSHAKE_NONCE_HEX, &hs->nonce, error)
          || !read_optional_text (body, "plugins", DSM_HANDSHAKE_PLUGINS_BYTES_MAX, &hs->plugins, error))
        return FALSE;
      if (hs->kind == DSM_HANDSHAKE_HELLO)
        return dsm_json_read_bool (body, "auth", DSM_JSON_REQUIRED, &hs->auth, error);
      return read_hex (body, "proof", DSM_JSON_OPTIONAL, DSM_HANDSHAKE_PROOF_HEX, &hs->proof, error);
    case DSM_HANDSHAKE_READY:
      return dsm_json_get_object (body, ready_keys, error)
             && read_hex (body, "proof", DSM_JSON_OPTIONAL, DSM_HANDSHAKE_PROOF_HEX, &hs->proof, error);
    case DSM_HANDSHAKE_REFUSE:
      return dsm_json_get_object (body, refuse_keys, error)
             && read_text (body, "reason", 64, &hs->reason, error)
             && read_text (body, "detail", DSM_HANDSHAKE_DETAIL_BYTES_MAX, &hs->detail, error);
    default:
      g_assert_not_reached ();
    }
}

DsmHandshake *
dsm_handshake_decode (const char *data, gsize length, DsmHandshakeKind expected, GError **error)
{
  static const DsmJsonLimits limits = { HANDSHAKE_BYTES_MAX, HANDSHAKE_DEPTH_MAX };
  const char *known[] = { kind_names[expected], expected == DSM_HANDSHAKE_WELCOME ? "refuse" : NULL, NULL };
  g_autoptr(JsonNode) root = dsm_json_parse (data, (gssize) length, &limits, &handshake_json_errors, error);
  DsmJsonAt top, body;

  if (root == NULL)
    {
      g_prefix_error (error, "handshake %s: ", kind_names[expected]);
      return NULL;
    }
  dsm_json_at_root (&top, &handshake_json_errors, root, "handshake");
  if (!dsm_json_get_object (&top, known, error))
    return NULL;
  if (json_object_get_size (json_node_get_object (root)) != 1)
    {
      dsm_json_fail (&top, DSM_JSON_ERROR_INVALID, error, "expected an object with one key, \"%s\"",
                     kind_names[expected]);
      return NULL;
    }

  g_autoptr(DsmHandshake) hs = g_new0 (DsmHandshake, 1);
  hs->kind = expected;
  dsm_json_at_member (&body, &top, kind_names[expected]);
  if (body.node == NULL && expected == DSM_HANDSHAKE_WELCOME)
    {
      dsm_json_at_member (&body, &top, kind_names[DSM_HANDSHAKE_REFUSE]);
      hs->kind = DSM_HANDSHAKE_REFUSE;
    }
  if (body.node == NULL)
    {
      dsm_json_fail (&top, DSM_JSON_ERROR_MISSING, error, "expected a \"%s\" object", kind_names[expected]);
      return NULL;
    }
  if (!decode_body (hs, &body, error))
    return NULL;
  if (hs->kind == DSM_HANDSHAKE_REFUSE)
    {
      /* A fingerprint refusal counts as one on the dialer's side too:
       * both ends must say the cluster is misconfigured. */
      gboolean fingerprint = strcmp (hs->reason, dsm_net_error_label (DSM_NET_ERROR_FINGERPRINT)) == 0;
      g_set_error (error, DSM_NET_ERROR, fingerprint ? DSM_NET_ERROR_FINGERPRINT : DSM_NET_ERROR_REFUSED,
                   "refused by peer (%s): %s", hs->reason, hs->detail);
      return NULL;
    }
  return g_steal_pointer (&hs);
}

/* ---- nonces and proofs ---- */

void
dsm_handshake_new_nonce (char *out)
{
  guint8 raw[DSM_HANDSHAKE_NONCE_HEX / 2];
  gsize got = 0;

  /* The OS's CSPRNG: nonces must not be predictable. */
  while (got < sizeof raw)
    {
      ssize_t n = getrandom (raw + got, sizeof raw - got, 0);
      if (n < 0 && errno == EINTR)
        continue;
      g_assert (n > 0);
      got += (gsize) n;
    }
  for (gsize i = 0; i < sizeof raw; i++)
    g_snprintf (out + 2 * i, 3, "%02x", raw[i]);
}

char *
dsm_handshake_proof (GBytes *secret, const char *role, const char *cluster_id,
                     DsmNodeId dialer, DsmNodeId acceptor,
                     const char *dialer_nonce, const char *acceptor_nonce)
{
  g_autofree char *text = g_strdup_printf ("dsm-handshake-v2\n%s\n%s\n%u\n%u\n%s\n%s", role, cluster_id,
                                           dialer, acceptor, dialer_nonce, acceptor_nonce);
  gsize length = 0;
  const guchar *key = g_bytes_get_data (secret, &length);

  return g_compute_hmac_for_string (G_CHECKSUM_SHA256, key, length, text, -1);
}

/* Constant time: the comparison must not tell an attacker how many
 * leading characters of a forged proof were right. */
static gboolean
proof_equal (const char *a, const char *b)
{
  gsize n = strlen (a);
  guint8 diff = n == strlen (b) ? 0 : 1;

  for (gsize i = 0; i < n && b[i] != '\0'; i++)
    diff |= (guint8) (a[i] ^ b[i]);
  return diff == 0;
}

static gboolean
check_proof (const DsmConfig *config, GBytes *secret, const char *role, DsmNodeId dialer, DsmNodeId acceptor,
             const char *dialer_nonce, const char *acceptor_nonce, const char *proof,
             GError **error)
{
  if (secret == NULL)
    {
      if (proof != NULL)
        {
          g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH,
                       "node %u sent a %s proof but this node has no secret", role[0] == 'w' ? acceptor : dialer, role);
          return FALSE;
        }
      return TRUE;
    }
  if (proof == NULL)
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH,
                   "node %u sent no %s proof but this node has a secret", role[0] == 'w' ? acceptor : dialer, role);
      return FALSE;
    }
  g_autofree char *expected = dsm_handshake_proof (secret, role, config->cluster_id,
                                                   dialer, acceptor, dialer_nonce, acceptor_nonce);
  if (!proof_equal (expected, proof))
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH,
                   "node %u: wrong %s proof (different secret?)", role[0] == 'w' ? acceptor : dialer, role);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_common (const DsmConfig *config, const DsmHandshake *hs, GError **error)
{
  if (hs->protocol < DSM_PROTOCOL_VERSION_MIN || hs->protocol > DSM_PROTOCOL_VERSION)
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_VERSION,
                   "node %u speaks protocol %u, this node %u to %u (OPERATIONS.md, \"Rolling upgrades\")",
                   hs->from, hs->protocol, DSM_PROTOCOL_VERSION_MIN, DSM_PROTOCOL_VERSION);
      return FALSE;
    }
  if (strcmp (hs->cluster_id, config->cluster_id) != 0)
    {
      g_autofree char *theirs = g_strescape (hs->cluster_id, NULL);
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_WRONG_CLUSTER,
                   "node %u belongs to cluster \"%s\", not \"%s\"", hs->from, theirs, config->cluster_id);
      return FALSE;
    }
  return TRUE;
}

/* Last of the checks: a peer of another cluster, or one misdialed or
 * unauthenticated, hears that first. */
static gboolean
check_fingerprint (const DsmConfig *config, const char *fingerprint, const DsmHandshake *hs, GError **error)
{
  g_autofree char *ours = NULL;

  if (hs->fingerprint != NULL && strcmp (hs->fingerprint, fingerprint) == 0)
    return TRUE;
  /* The plugins are in the fingerprint (their definitions); when they
   * are what differs, say which (docs/PLUGINS.md, "In a cluster"). */
  ours = dsm_config_describe_plugins (config);
  if (strcmp (ours, hs->plugins != NULL ? hs->plugins : "none") != 0)
    {
      g_autofree char *theirs = g_strescape (hs->plugins != NULL ? hs->plugins : "none", NULL);
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_FINGERPRINT,
                   "node %u runs the machine plugins [%s], this node [%s]: every node of a cluster must "
                   "load the same plugins, in the same versions (docs/PLUGINS.md, \"In a cluster\")",
                   hs->from, theirs, ours);
      return FALSE;
    }
  g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_FINGERPRINT,
               "node %u has bootstrap fingerprint %.12s, this node %.12s: they were started from different "
               "bootstrap settings (cluster id, nodes, definitions, session bounds; PROTOCOL.md, "
               "\"Bootstrap\"): give both the same config file", hs->from,
               hs->fingerprint != NULL ? hs->fingerprint : "(none)", fingerprint);
  return FALSE;
}

gboolean
dsm_handshake_check_hello (const DsmConfig *config, const char *fingerprint, GBytes *secret, DsmNodeId self,
                           const DsmHandshake *hello, GError **error)
{
  g_return_val_if_fail (hello->kind == DSM_HANDSHAKE_HELLO, FALSE);
  g_return_val_if_fail (fingerprint != NULL, FALSE);

  if (!check_common (config, hello, error))
    return FALSE;
  /* Any other id may connect once authenticated: the membership lives
   * in the log, so a node joining may be unknown to us yet, and a
   * removed node must still hear that it was (PROTOCOL.md, "Removing a
   * node"); the transport bounds how many such connections it keeps. */
  if (hello->from == self)
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_UNKNOWN_NODE,
                   "hello from node %u, which is this node (two nodes with one id?)", hello->from);
      return FALSE;
    }
  if (hello->to != self)
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_UNKNOWN_NODE,
                   "node %u dialed node %u but reached node %u (check peer_address)",
                   hello->from, hello->to, self);
      return FALSE;
    }
  if (hello->auth != (secret != NULL))
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH, "node %u %s but this node %s",
                   hello->from, hello->auth ? "has a secret" : "has no secret",
                   secret != NULL ? "has one" : "has none");
      return FALSE;
    }
  return check_fingerprint (config, fingerprint, hello, error);
}

gboolean
dsm_handshake_check_welcome (const DsmConfig *config, const char *fingerprint, GBytes *secret, DsmNodeId self,
                             DsmNodeId peer, const char *dialer_nonce, const DsmHandshake *welcome,
                             GError **error)
{
  g_return_val_if_fail (welcome->kind == DSM_HANDSHAKE_WELCOME, FALSE);
  g_return_val_if_fail (fingerprint != NULL, FALSE);

  if (!check_common (config, welcome, error))
    return FALSE;
  if (welcome->from != peer || welcome->to != self)
    {
      g_set_error (error, DSM_NET_ERROR, DSM_NET_ERROR_UNKNOWN_NODE,
                   "dialed node %u but node %u answered (for node %u)", peer, welcome->from, welcome->to);
      return FALSE;
    }
  return check_fingerprint (config, fingerprint, welcome, error)
         && check_proof (config, secret, "welcome", self, peer, dialer_nonce, welcome->nonce, welcome->proof, error);
}

gboolean
dsm_handshake_check_ready (const DsmConfig *config, GBytes *secret, DsmNodeId self,
                           DsmNodeId peer, const char *dialer_nonce, const char *acceptor_nonce,
                           const DsmHandshake *ready, GError **error)
{
  g_return_val_if_fail (ready->kind == DSM_HANDSHAKE_READY, FALSE);
  return check_proof (config, secret, "ready", peer, self, dialer_nonce, acceptor_nonce, ready->proof, error);
}
