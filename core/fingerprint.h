/* core/fingerprint.h: the cluster fingerprint: a stable digest of the
 * settings every node of one cluster must bootstrap identically, for the
 * peer handshake to compare (PROTOCOL.md, "Bootstrap"). */
#pragma once

#include <glib.h>

#include "config.h"

G_BEGIN_DECLS

/**
 * dsm_fingerprint_text:
 * Returns: (transfer full): the canonical text the fingerprint hashes:
 * the cluster id, the bootstrap membership (ids, addresses), the bootstrap
 * machine definitions, the default definition and the session bounds that
 * decide apply results (session_window, max_sessions).  Timers, batching
 * and other node-local settings are left out: they may differ per node.
 */
char *dsm_fingerprint_text (const DsmConfig *config);

/* Returns: (transfer full): the SHA-256 of dsm_fingerprint_text(), in hex. */
char *dsm_fingerprint_compute (const DsmConfig *config);

G_END_DECLS
