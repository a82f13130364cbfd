/* fuzz/fuzz-handshake.c: the peer handshake (net/handshake.c), both
 * sides: as the acceptor, a fuzzed hello then a fuzzed ready; as the
 * dialer, a fuzzed welcome (or refuse).  The other side is played
 * honestly by the harness, which checks that what one side answers the
 * other accepts: a welcome to a good hello, a ready to a good welcome, a
 * refusal that reads as one.  A proof or a fingerprint of 64 'f's stands
 * for "the right one", so the fuzzer gets past the HMAC and the SHA-256
 * to what follows.
 *
 * Input: [flags][first payload] NUL [second payload]; flags bit 0: play
 * the dialer, bit 1: the cluster has a secret. */
#include "fuzz.h"

#include "fingerprint.h"
#include "frame-mac.h"
#include "handshake.h"
#include "net-error.h"

#define SENTINEL "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
#define ACCEPTOR_NONCE "0123456789abcdef0123456789abcdef"
#define DIALER_NONCE "fedcba9876543210fedcba9876543210"

static DsmConfig *config;
static char *fingerprint;
static GBytes *secret;

/* The sentinel fingerprint stands for this config's. */
static void
fuzz_handshake_fingerprint (DsmHandshake *hs)
{
  if (g_strcmp0 (hs->fingerprint, SENTINEL) == 0)
    {
      g_free (hs->fingerprint);
      hs->fingerprint = g_strdup (fingerprint);
    }
}

/* What conn_refuse() sends for @error must reach the dialer as a refusal
 * (a fingerprint mismatch as one, so both ends count it). */
static void
fuzz_handshake_refuse (const GError *error)
{
  DsmHandshake refuse = {
    .kind = DSM_HANDSHAKE_REFUSE,
    .reason = (char *) dsm_net_error_label ((DsmNetError) error->code),
    .detail = error->message,
  };
  g_autofree char *text = dsm_handshake_encode (&refuse);
  g_autoptr(GError) local = NULL;
  g_autoptr(DsmHandshake) back = dsm_handshake_decode (text, strlen (text), DSM_HANDSHAKE_WELCOME, &local);
  gint expected = error->code == DSM_NET_ERROR_FINGERPRINT ? DSM_NET_ERROR_FINGERPRINT : DSM_NET_ERROR_REFUSED;

  g_assert_null (back);
  g_assert_error (local, DSM_NET_ERROR, expected);
}

static void
fuzz_handshake_keys (GBytes *key, DsmNodeId dialer, DsmNodeId acceptor, const char *dialer_nonce,
                     const char *acceptor_nonce)
{
  DsmFrameKeys keys;

  if (key != NULL)
    dsm_frame_mac_derive_keys (key, config->cluster_id, dialer, acceptor, dialer_nonce, acceptor_nonce, &keys);
}

static void
fuzz_handshake_acceptor (const uint8_t *hello_data, size_t hello_size, const uint8_t *ready_data,
                         size_t ready_size, GBytes *ours)
{
  const DsmNodeId self = 1;
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmHandshake) hello = dsm_handshake_decode ((const char *) hello_data, hello_size,
                                                        DSM_HANDSHAKE_HELLO, &error);

  if (hello == NULL)
    {
      g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_HANDSHAKE);
      return;
    }
  g_assert_cmpint (hello->kind, ==, DSM_HANDSHAKE_HELLO);
  g_assert_cmpuint (strlen (hello->nonce), ==, DSM_HANDSHAKE_NONCE_HEX);
  fuzz_handshake_fingerprint (hello);
  if (!dsm_handshake_check_hello (config, fingerprint, ours, self, hello, &error))
    {
      g_assert (error->domain == DSM_NET_ERROR);
      fuzz_handshake_refuse (error);
      return;
    }

  /* The welcome this node sends; the dialer (the honest peer) takes it. */
  g_autofree char *proof = ours != NULL
    ? dsm_handshake_proof (ours, "welcome", config->cluster_id, hello->from, self, hello->nonce, ACCEPTOR_NONCE)
    : NULL;
  DsmHandshake welcome = {
    .kind = DSM_HANDSHAKE_WELCOME, .protocol = DSM_PROTOCOL_VERSION, .cluster_id = config->cluster_id,
    .fingerprint = fingerprint, .from = self, .to = hello->from, .nonce = ACCEPTOR_NONCE, .proof = proof,
  };
  g_autofree char *text = dsm_handshake_encode (&welcome);
  g_autoptr(DsmHandshake) welcome_back = dsm_handshake_decode (text, strlen (text), DSM_HANDSHAKE_WELCOME, &error);
  g_assert_no_error (error);
  /* check_hello() held, so the dialer's secret setting is ours. */
  g_assert_true (dsm_handshake_check_welcome (config, fingerprint, ours, hello->from, self, hello->nonce, welcome_back, &error));
  g_assert_no_error (error);

  g_autoptr(DsmHandshake) ready = dsm_handshake_decode ((const char *) ready_data, ready_size,
                                                        DSM_HANDSHAKE_READY, &error);
  if (ready == NULL)
    {
      g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_HANDSHAKE);
      return;
    }
  if (ours != NULL && g_strcmp0 (ready->proof, SENTINEL) == 0)
    {
      g_free (ready->proof);
      ready->proof = dsm_handshake_proof (ours, "ready", config->cluster_id, hello->from, self,
                                          hello->nonce, ACCEPTOR_NONCE);
    }
  if (!dsm_handshake_check_ready (config, ours, self, hello->from, hello->nonce, ACCEPTOR_NONCE, ready, &error))
    {
      g_assert_error (error, DSM_NET_ERROR, DSM_NET_ERROR_AUTH);
      fuzz_handshake_refuse (error);
      return;
    }
  fuzz_handshake_keys (ours, hello->from, self, hello->nonce, ACCEPTOR_NONCE);
}

static void
fuzz_handshake_dialer (const uint8_t *data, size_t size, GBytes *ours)
{
  const DsmNodeId self = 1, peer = 2;
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmHandshake) welcome = dsm_handshake_decode ((const char *) data, size, DSM_HANDSHAKE_WELCOME, &error);

  if (welcome == NULL)
    {
      g_assert (error->domain == DSM_NET_ERROR);
      g_assert (error->code == DSM_NET_ERROR_HANDSHAKE || error->code == DSM_NET_ERROR_REFUSED);
      return;
    }
  g_assert_cmpint (welcome->kind, ==, DSM_HANDSHAKE_WELCOME);
  fuzz_handshake_fingerprint (welcome);
  if (ours != NULL && g_strcmp0 (welcome->proof, SENTINEL) == 0)
    {
      g_free (welcome->proof);
      welcome->proof = dsm_handshake_proof (ours, "welcome", config->cluster_id, self, peer, DIALER_NONCE,
                                            welcome->nonce);
    }
  if (!dsm_handshake_check_welcome (config, fingerprint, ours, self, peer, DIALER_NONCE, welcome, &error))
    {
      g_assert (error->domain == DSM_NET_ERROR);
      return;
    }

  /* The ready this node sends; the acceptor (the honest peer) takes it. */
  g_autofree char *proof = ours != NULL
    ? dsm_handshake_proof (ours, "ready", config->cluster_id, self, peer, DIALER_NONCE, welcome->nonce)
    : NULL;
  DsmHandshake ready = { .kind = DSM_HANDSHAKE_READY, .proof = proof };
  g_autofree char *text = dsm_handshake_encode (&ready);
  g_autoptr(DsmHandshake) ready_back = dsm_handshake_decode (text, strlen (text), DSM_HANDSHAKE_READY, &error);
  g_assert_no_error (error);
  g_assert_true (dsm_handshake_check_ready (config, ours, peer, self, DIALER_NONCE, welcome->nonce,
                                            ready_back, &error));
  g_assert_no_error (error);
  fuzz_handshake_keys (ours, self, peer, DIALER_NONCE, welcome->nonce);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  dsm_fuzz_setup ();
  config = dsm_config_new_default (3);
  g_free (config->cluster_id);
  config->cluster_id = g_strdup ("fuzz");
  fingerprint = dsm_fingerprint_compute (config);
  secret = g_bytes_new_static ("a secret of the fuzzed cluster", 30);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  DsmFuzzInput in = { data, size };
  guint8 flags = dsm_fuzz_take_byte (&in);
  GBytes *ours = flags & 2 ? secret : NULL;
  const uint8_t *first, *second;
  size_t first_size = dsm_fuzz_take_until (&in, 0, &first);
  size_t second_size = dsm_fuzz_take_bytes (&in, in.size, &second);

  if (flags & 1)
    fuzz_handshake_dialer (first, first_size, ours);
  else
    fuzz_handshake_acceptor (first, first_size, second, second_size, ours);
  return 0;
}
