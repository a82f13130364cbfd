/* tools/dsm-sim-view.h: `dsm-sim view`, and the page every failure that
 * run, explore and shrink report gets (docs/SIMULATOR.md, "Seeing a run"). */
#pragma once

#include <glib.h>

#include "sim.h"

/* `dsm-sim view [TRACE] [--history FILE] [-o OUT]`; returns the exit
 * status.  A trace's planted bug comes from its header. */
int dsm_sim_view_command (int argc, char **argv);

/**
 * dsm_sim_view_failure:
 * @mutant, @mutant_name: the planted bug of the run (0 and NULL: none)
 * @trace: (nullable): the failing run's trace, if it was traced; else the
 *   run is repeated (same scenario, seed and mutant) with a trace
 * @trace_path: where the trace goes (written unless @trace_written); the
 *   page goes next to it (dsm_view_path_for)
 *
 * Writes the page of a failed run and returns its path (transfer full), or
 * NULL with @error set.
 */
char *dsm_sim_view_failure (const DsmScenario *scenario, guint64 seed, int mutant, const char *mutant_name,
                            const GString *trace,
                            const char *trace_path, gboolean trace_written, const DsmSimReport *report,
                            GError **error);
