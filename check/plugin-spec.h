/* check/plugin-spec.h: is a history of commands to a machine plugin
 * linearizable, with the plugin's own validate and apply as the
 * sequential specification (docs/PLUGINS.md, "Checking")?  A Wing & Gong
 * search with memoization, one machine instance at a time. */
#pragma once

#include <glib.h>

#include "check/history.h"
#include "check/linearizability.h"
#include "plugin/dsm-machine.h"

G_BEGIN_DECLS

/**
 * dsm_plugin_spec_check:
 * @ops: (element-type DsmHistoryOp): the history, in any order; only the
 *   transitions that name @impl's name as their definition are judged
 * @impl: the machine (loaded and checked: plugin/plugin.h)
 * @max_states: search budget per machine instance (0: 1 million)
 * @result: (out caller-allocates): zeroed or cleared; filled in
 *
 * Sequential specification, per instance, from @impl->state_new():
 *  - an ok command: validate(S, op, payload) accepts it, S := apply(S, op,
 *    payload), and the reported output, when recorded, equals apply's
 *    result as JSON (same values, any spacing or key order);
 *  - a command rejected as invalid_transition: validate refuses it in S;
 *    no effect;
 *  - unknown or never answered: either of those, or no effect at all;
 *  - rejected for another reason, and reads: left out (they had no effect
 *    and the plugin's state is not what a read reports).
 * Real time as in dsm_linearizability_check().
 *
 * Returns: TRUE when every instance's history is linearizable (or its
 * search inconclusive, which @result says).
 */
gboolean dsm_plugin_spec_check (GPtrArray *ops, const DsmMachineImpl *impl, guint64 max_states,
                                DsmLinearizabilityResult *result);

G_END_DECLS
