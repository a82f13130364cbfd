/* net/config-files.h: files the cluster config names (certificates, the
 * peer secret, bearer tokens): where they are for one node, and reading
 * those that hold secrets only when nobody else may read them. */
#pragma once

#include <glib.h>

#include "types.h"

G_BEGIN_DECLS

/**
 * dsm_config_file_path:
 * @name: a file name from the config; "{id}" in it stands for @node
 * @dir: (nullable): where relative names start (the config file's
 *   directory, itself absolute or relative to the working directory);
 *   NULL: the working directory
 *
 * Returns: (transfer full): the absolute path (GTlsFileDatabase, for one,
 * refuses relative ones).
 */
char *dsm_config_file_path (const char *name, DsmNodeId node, const char *dir);

/**
 * dsm_config_file_read_private:
 * @key: the config key naming the file, for messages ("http.token_file")
 * @length: (out): bytes read
 *
 * Reads a file that holds secrets: it must be a regular file that only its
 * owner may read or write (mode 0600 or stricter; ssh refuses such keys
 * too), of at most @bytes_max bytes.
 *
 * Returns: (transfer full): its contents, NUL-terminated, or NULL with a
 * G_FILE_ERROR (it cannot be read) or a DSM_CONFIG_ERROR_INVALID naming
 * @key and the path.
 */
char *dsm_config_file_read_private (const char *path, const char *key, gsize bytes_max, gsize *length,
                                    GError **error);

G_END_DECLS
