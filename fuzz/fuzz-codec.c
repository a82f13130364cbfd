/* fuzz/fuzz-codec.c: the wire decoder (core/codec-read.c) on any bytes:
 * messages, log entries and commands.  Whatever decodes must encode back
 * to text that decodes to an equal value, and re-encode identically; and
 * what the fast path accepts, the full reading accepts, equal. */
#include "fuzz.h"

#include "codec.h"

/* The decoder's fast path (core/codec-fast.c) may only accept what the
 * full reading accepts, as an equal message. */
static void
fuzz_codec_message_fast (const char *data, size_t size)
{
  g_autoptr(DsmMessage) fast = dsm_codec_decode_message_fast (data, size);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(DsmMessage) full = NULL;

  if (fast == NULL)
    return;
  root = dsm_codec_parse (data, size, NULL);
  g_assert_nonnull (root);
  full = dsm_codec_message_from_json (root, NULL);
  g_assert_nonnull (full);
  g_assert_true (dsm_message_equal (fast, full));
}

static void
fuzz_codec_message (const char *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmMessage) msg = dsm_codec_decode_message (data, size, &error);

  fuzz_codec_message_fast (data, size);

  if (msg == NULL)
    {
      g_assert (error != NULL);
      return;
    }
  g_assert_no_error (error);
  g_assert_true (dsm_message_check (msg, NULL));
  g_autofree char *text = dsm_codec_encode_message (msg);
  g_autoptr(DsmMessage) again = dsm_codec_decode_message (text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_true (dsm_message_equal (msg, again));
  g_autofree char *text_again = dsm_codec_encode_message (again);
  g_assert_cmpstr (text, ==, text_again);
}

static void
fuzz_codec_entry (const char *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmEntry) entry = dsm_codec_decode_entry (data, size, &error);

  if (entry == NULL)
    {
      g_assert (error != NULL);
      return;
    }
  g_autoptr(GString) text = g_string_new (NULL);
  dsm_codec_write_entry (text, entry);
  g_autoptr(DsmEntry) again = dsm_codec_decode_entry (text->str, text->len, &error);
  g_assert_no_error (error);
  g_assert_true (dsm_entry_equal (entry, again));
}

static void
fuzz_codec_command (const char *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = dsm_codec_parse (data, size, &error);
  DsmCommand cmd = { 0 };
  DsmCommand again = { 0 };

  if (root == NULL)
    return;
  if (!dsm_codec_command_from_json (root, "command", &cmd, &error))
    {
      g_assert (error != NULL);
      dsm_command_clear (&cmd);
      return;
    }
  g_autoptr(GString) text = g_string_new (NULL);
  dsm_codec_write_command (text, &cmd);
  g_autoptr(JsonNode) root_again = dsm_codec_parse (text->str, text->len, &error);
  g_assert_no_error (error);
  g_assert_true (dsm_codec_command_from_json (root_again, "command", &again, &error));
  g_assert_no_error (error);
  g_assert_true (dsm_command_equal (&cmd, &again));
  dsm_command_clear (&cmd);
  dsm_command_clear (&again);
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
  fuzz_codec_message ((const char *) data, size);
  fuzz_codec_entry ((const char *) data, size);
  fuzz_codec_command ((const char *) data, size);
  return 0;
}
