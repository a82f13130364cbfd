/* fuzz/fuzz-native.c: the native protocol's decoder (client/dsm-wire.c)
 * from both ends: any byte stream cut into frames (bounded by the header,
 * CRC checked), each payload decoded as a request in every version a node
 * speaks, and as an answer in every version libdsm-client speaks (a broken
 * or hostile node is outside input to the client too).  Whatever decodes
 * must encode back to the same frame; a request's command and payload must
 * pass or fail the checks the node applies (net/native.c), never crash
 * them. */
#include "fuzz.h"

#include "client/dsm-wire.h"
#include "entry.h"
#include "json.h"
#include "payload.h"

#define FRAME_BYTES_MAX 4096

/* A transition's payload as the node checks it: parsed within the
 * ceilings, then its canonical text within a config's limits. */
static void
fuzz_native_payload (const char *text)
{
  static const DsmPayloadLimits limits = { 4096, 4, 32 };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) parsed = dsm_payload_parse (text, "payload", &dsm_payload_ceilings, &error);
  g_autofree char *canonical = NULL;

  if (parsed == NULL)
    {
      g_assert (error != NULL && error->domain == DSM_JSON_ERROR);
      return;
    }
  canonical = dsm_payload_canonical (parsed, "payload", &limits, &error);
  g_assert ((canonical == NULL) == (error != NULL));
  if (canonical != NULL)
    {
      /* Canonical text is a fixed point. */
      g_autoptr(JsonNode) again = dsm_payload_parse (canonical, "payload", &limits, NULL);
      g_autofree char *twice = NULL;
      g_assert (again != NULL);
      twice = dsm_payload_to_text (again);
      g_assert_cmpstr (twice, ==, canonical);
    }
}

static void
fuzz_native_request (const guint8 *frame, gsize frame_length, const guint8 *payload, gsize length, guint version)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) again = g_byte_array_new ();
  DsmWireMsg msg;

  if (!dsm_wire_decode_version (payload, length, TRUE, version, &msg, &error))
    {
      g_assert (error != NULL && error->domain == DSM_WIRE_ERROR_DOMAIN);
      g_assert (error->message != NULL);
      dsm_wire_msg_clear (&msg);
      return;
    }
  g_assert (msg.type == DSM_WIRE_HELLO || msg.type == DSM_WIRE_TRANSITION || msg.type == DSM_WIRE_READ);
  /* Empty strings decode as absent, and absent encodes as empty: the
   * same bytes. */
  dsm_wire_encode_version (&msg, version, again);
  g_assert_cmpuint (again->len, ==, frame_length);
  g_assert (memcmp (again->data, frame, frame_length) == 0);
  if (msg.type != DSM_WIRE_HELLO && msg.machine != NULL)
    {
      DsmCommand cmd = { .op = msg.type == DSM_WIRE_TRANSITION ? DSM_OP_TRANSITION : DSM_OP_READ,
                         .machine = msg.machine, .to = msg.to, .from = msg.from, .definition = msg.definition,
                         .client_id = msg.client_id, .seq = msg.seq };
      g_autoptr(GError) check = NULL;
      if (dsm_command_check_machine_name ("machine", cmd.machine, &check))
        (void) dsm_command_check (&cmd, &check);
    }
  if (msg.payload != NULL)
    fuzz_native_payload (msg.payload);
  dsm_wire_msg_clear (&msg);
}

/* An answer as libdsm-client reads it (client/dsm-client-conn.c): only the
 * answer types decode, and they encode back to the same frame. */
static void
fuzz_native_answer (const guint8 *frame, gsize frame_length, const guint8 *payload, gsize length, guint version)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) again = g_byte_array_new ();
  DsmWireMsg msg;

  if (!dsm_wire_decode_version (payload, length, FALSE, version, &msg, &error))
    {
      g_assert (error != NULL && error->domain == DSM_WIRE_ERROR_DOMAIN);
      g_assert (error->message != NULL);
      dsm_wire_msg_clear (&msg);
      return;
    }
  g_assert (msg.type == DSM_WIRE_WELCOME || msg.type == DSM_WIRE_RESULT || msg.type == DSM_WIRE_ERROR);
  g_assert (dsm_wire_type_name (msg.type) != NULL);
  dsm_wire_encode_version (&msg, version, again);
  g_assert_cmpuint (again->len, ==, frame_length);
  g_assert (memcmp (again->data, frame, frame_length) == 0);
  dsm_wire_msg_clear (&msg);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  dsm_fuzz_setup ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  gsize at = 0;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      const guint8 *payload;
      gsize length, used;
      int cut = dsm_wire_cut (data + at, size - at, FRAME_BYTES_MAX, &payload, &length, &used, &error);

      if (cut == 0)
        break;
      if (cut < 0)
        {
          g_assert (error != NULL && dsm_wire_error_is_fatal ((DsmWireErrorCode) error->code));
          break;
        }
      g_assert (length >= 1 && length <= FRAME_BYTES_MAX);
      g_assert (used == length + DSM_WIRE_HEADER_BYTES);
      for (guint version = DSM_WIRE_VERSION_MIN; version <= DSM_WIRE_VERSION; version++)
        {
          fuzz_native_request (data + at, used, payload, length, version);
          fuzz_native_answer (data + at, used, payload, length, version);
        }
      at += used;
    }
  return 0;
}
