/* core/fingerprint.c: the cluster fingerprint (see fingerprint.h).  Two
 * nodes whose bootstraps differ would apply the same log to different
 * states; comparing this digest at the handshake refuses them instead. */
#include "fingerprint.h"

#include "codec.h"
#include "definitions.h"
#include "membership.h"

/* Bumped whenever what the text covers changes meaning. */
#define FINGERPRINT_FORMAT "dsm-bootstrap-1"

char *
dsm_fingerprint_text (const DsmConfig *config)
{
  GString *out = g_string_new (FINGERPRINT_FORMAT);
  g_autoptr(DsmMembership) membership = NULL;
  g_autoptr(DsmDefinitions) defs = NULL;

  g_return_val_if_fail (config != NULL, NULL);
  membership = dsm_membership_new_bootstrap (config);
  defs = dsm_definitions_new_bootstrap (config);
  g_string_append (out, "\ncluster_id=");
  dsm_codec_write_string (out, config->cluster_id);
  g_string_append (out, "\ndefault_definition=");
  dsm_codec_write_string (out, config->default_definition);
  g_string_append_printf (out, "\nsession_window=%u\nmax_sessions=%u\nmembership=", config->session_window,
                          config->max_sessions);
  dsm_membership_write_json (out, membership);
  g_string_append (out, "\ndefinitions=");
  dsm_definitions_write_json (out, defs);
  g_string_append_c (out, '\n');
  return g_string_free (out, FALSE);
}

char *
dsm_fingerprint_compute (const DsmConfig *config)
{
  g_autofree char *text = dsm_fingerprint_text (config);

  g_return_val_if_fail (config != NULL, NULL);
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
}
