/* tests/net/load.h: a client load on a cluster of real nodes, and the
 * checks that nothing it was told was lost (test-crash.c, test-nospace.c).
 *
 * Clients are threads, each with its own SoupSession, client id and
 * machines; they retry every command with the same (client_id, seq) until
 * it is acknowledged, moving to the next node after no answer, a 503 or a
 * 507, so the last acknowledgement of a machine is its final state.  Any
 * other answer (a 409: a transition lost or applied twice) fails the
 * test. */
#pragma once

#include "cluster.h"

#define LOAD_CLIENTS 4
#define LOAD_MACHINES_PER_CLIENT 6

typedef struct _Load Load;

/* Starts LOAD_CLIENTS clients on @c: client ids "@prefix-@seed-client-K",
 * machines "@prefix-cK-mM". */
Load *load_start (Cluster *c, const char *prefix, guint32 seed);

/* Acknowledgements so far, over every client. */
gint load_acked (Load *load);

/* Waits until @more acknowledgements more; past a budget, prints the
 * nodes' views and fails the test, naming @after ("with node 2 full"). */
void load_wait_progress (Load *load, gint more, const char *after);

/* Stops the clients (each finishes its command in flight); fails the test
 * on a client's failure or acknowledgements out of order.  Returns the
 * retries, over every client. */
guint64 load_stop (Load *load);

/**
 * load_check:
 * After load_stop(): the nodes converge on one commit index; every node
 * has each machine in its last acknowledged state; their listings agree;
 * then every node stops cleanly (SIGTERM, exit 0), and every data
 * directory passes `dsm-node --check-data-dir --config` (its node builds) and holds each
 * acknowledged transition after its snapshot at the index its 200 named,
 * once.  Returns: the commit index.
 */
gint64 load_check (Load *load);

void load_free (Load *load);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Load, load_free)
