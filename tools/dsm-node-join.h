/* tools/dsm-node-join.h: how a new node gets its id from a running
 * cluster (dsm-node --join URL). */
#pragma once

#include <glib.h>

#include "types.h"

G_BEGIN_DECLS

typedef struct {
  const char *url;             /* a member's client URL */
  const char *token;           /* nullable: an admin bearer token */
  const char *cacert;          /* nullable: an absolute path, for https */
  const char *peer_address;    /* where the others will dial this node */
  const char *client_address;  /* where it serves clients */
  const char *native_address;  /* nullable: where it serves the native protocol */
  guint timeout_s;
} DsmNodeJoinOptions;

/* The id a data directory already belongs to (a joined node restarting),
 * or DSM_NODE_NONE in @id for a new one; FALSE for an unreadable one or
 * one of another cluster. */
gboolean dsm_node_join_known_id (const char *data_dir, const char *cluster_id, DsmNodeId *id, GError **error);

/* Asks the cluster to add this node as a learner, retrying while it has
 * no leader or another change is under way; @id is the id it was given. */
gboolean dsm_node_join (const DsmNodeJoinOptions *options, DsmNodeId *id, GError **error);

G_END_DECLS
