/* fuzz/fuzz-config.c: the cluster config a node starts from
 * (core/config.c, core/config-http.c) with the definition files it names,
 * then what a node makes of it for each of its members: the peer
 * authentication (net/peer-auth.c) and the HTTP API's own settings
 * (net/http.c).  A config that parses must write back to JSON that
 * parses to one writing the same text.
 *
 * Input: [config JSON] NUL [the definition file every path names]. */
#include "fuzz.h"

#include "codec.h"
#include "config.h"
#include "http.h"
#include "peer-auth.h"

/* The one definition "file" of this input. */
typedef struct {
  const char *text;
  size_t size;
} Files;

static JsonNode *
fuzz_config_load (const char *path, gpointer user_data, GError **error)
{
  Files *files = user_data;

  return dsm_codec_parse (files->text, files->size, error);
}

/* What a node does with @config as member @id before it listens: every
 * file it names is relative to an empty directory, so those fail with an
 * error, never a crash. */
static void
fuzz_config_node (DsmConfig *config, DsmNodeId id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmPeerAuth) auth = dsm_peer_auth_new (config, id, dsm_fuzz_scratch_dir (), &error);

  g_assert_true ((auth == NULL) == (error != NULL));
  g_clear_error (&error);
  DsmHttpApi *api = dsm_http_api_new_detached (config, id, dsm_fuzz_scratch_dir (), &error);
  g_assert_true ((api == NULL) == (error != NULL));
  if (api != NULL)
    dsm_http_api_free (api);
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
  DsmFuzzInput in = { data, size };
  const uint8_t *config_bytes, *file_bytes;
  size_t config_size = dsm_fuzz_take_until (&in, 0, &config_bytes);
  Files files;
  g_autoptr(GError) error = NULL;

  files.size = dsm_fuzz_take_bytes (&in, in.size, &file_bytes);
  files.text = (const char *) file_bytes;
  g_autoptr(DsmConfig) config = dsm_config_new_from_data ((const char *) config_bytes, (gssize) config_size,
                                                          fuzz_config_load, &files, &error);
  if (config == NULL)
    {
      g_assert_nonnull (error);
      return 0;
    }
  g_assert_true (dsm_config_check (config, NULL));
  g_autofree char *text = dsm_config_to_json (config);
  g_autoptr(DsmConfig) again = dsm_config_new_from_data (text, -1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_autofree char *text_again = dsm_config_to_json (again);
  g_assert_cmpstr (text, ==, text_again);
  for (guint i = 0; i < config->n_nodes && i < 2; i++)
    fuzz_config_node (config, config->nodes[i].id);
  return 0;
}
