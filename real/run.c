/* real/run.c: one real run (real.h): the folder, the proxy and the nodes,
 * the script and the clients on the wall clock, the cluster as polling
 * its API shows it, and the verdict:
 *
 *   prepare --nodes started--> script (+ workload) --> final heal, leader,
 *   convergence --> final states listed --> nodes stopped (SIGTERM) -->
 *   data directories and logs read --> linearizability --> report
 *
 * Every path out, a failure or the bound included, stops every node. */
#include "real-private.h"

#include <glib/gstdio.h>
#include <string.h>

/* ---- time, reports, failures ---- */

guint64
real_now_ms (const DsmReal *real)
{
  return (guint64) MAX (0, g_get_monotonic_time () - real->start_us) / 1000;
}

void
real_log (DsmReal *real, const char *format, ...)
{
  va_list args;

  if (real->options.log == NULL)
    return;
  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  g_autofree char *line = g_strdup_printf ("t=%" G_GUINT64_FORMAT " ms %s", real_now_ms (real), what);
  real->options.log (line, real->options.log_data);
}

void
real_fail (DsmReal *real, DsmInvariant invariant, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_autofree char *what = g_strdup_vprintf (format, args);
  va_end (args);
  g_mutex_lock (&real->lock);
  dsm_checker_fail (real->checker, invariant, real_now_ms (real), "%s", what);
  g_mutex_unlock (&real->lock);
  real_log (real, "%s: %s", dsm_invariant_to_string (invariant), what);
}

gboolean
real_ok (DsmReal *real)
{
  g_mutex_lock (&real->lock);
  gboolean ok = dsm_checker_ok (real->checker);
  g_mutex_unlock (&real->lock);
  return ok && !real->stopped;
}

/* The bound and a signal end a run from any wait. */
static gboolean
real_must_stop (DsmReal *real)
{
  if (real->stopped)
    return TRUE;
  if (real->options.stop != NULL && g_atomic_int_get (real->options.stop))
    {
      real->stopped = TRUE;
      real_fail (real, DSM_INVARIANT_LIVENESS, "the run was interrupted");
    }
  else if (g_get_monotonic_time () >= real->deadline_us)
    {
      real->stopped = TRUE;
      real_fail (real, DSM_INVARIANT_LIVENESS, "the run passed its bound of %" G_GUINT64_FORMAT " ms",
                 (guint64) (real->deadline_us - real->start_us) / 1000);
    }
  return real->stopped;
}

gboolean
real_wait_until (DsmReal *real, gint64 until_us)
{
  for (;;)
    {
      if (real_must_stop (real) || !real_ok (real))
        return FALSE;
      real_nodes_resume_due (real, FALSE);
      real_nodes_scrape_due (real);
      gint64 left = until_us - g_get_monotonic_time ();
      if (left <= 0)
        return TRUE;
      g_usleep (MIN (left, REAL_POLL_MS * 1000));
    }
}

/* ---- the cluster, as its API shows it ---- */

DsmNodeId
real_leader (DsmReal *real, DsmRealView *views)
{
  DsmNodeId leader = DSM_NODE_NONE;
  guint64 epoch = 0;

  for (guint id = 1; id <= real->n; id++)
    {
      DsmRealView view = { 0 };
      /* A paused node answers nobody (and would cost a poll's timeout). */
      if (real_node_running (real, &real->nodes[id]) && real->nodes[id].paused_until_us == 0)
        dsm_real_api_view (real->nodes[id].client_port, real->token, REAL_POLL_TIMEOUT_US, &view);
      if (views != NULL)
        views[id] = view;
      if (view.answered && view.role == DSM_ROLE_LEADER && view.epoch >= epoch)
        {
          leader = id;
          epoch = view.epoch;
        }
    }
  g_mutex_lock (&real->lock);
  real->leader = leader;
  g_mutex_unlock (&real->lock);
  return leader;
}

/* A leader clients can use: it answers a linearizable read, which it does
 * only once it has committed an entry of its own epoch (PROTOCOL.md,
 * "Reads").  The probe machine is never written. */
gboolean
real_leader_ready (DsmReal *real)
{
  DsmNodeId leader = real_leader (real, NULL);
  DsmCommand probe = { .op = DSM_OP_READ, .machine = (char *) "dsm-real-probe" };
  DsmRealReply reply = { 0 };

  if (leader == DSM_NODE_NONE)
    return FALSE;
  dsm_real_api_command (real->nodes[leader].client_port, real->token, &probe, REAL_POLL_TIMEOUT_US, &reply);
  gboolean ready = reply.status == DSM_REPLY_OK;
  dsm_real_reply_clear (&reply);
  return ready;
}

gboolean
real_caught_up (DsmReal *real, GString *why)
{
  g_autofree DsmRealView *views = g_new0 (DsmRealView, real->n + 1);
  DsmNodeId id = real_leader (real, views);

  if (id == DSM_NODE_NONE || !real_leader_ready (real))
    {
      if (why != NULL)
        g_string_append (why, id == DSM_NODE_NONE ? "no leader" : "the leader has not committed in its epoch");
      return FALSE;
    }
  guint64 commit = views[id].commit_index;
  g_mutex_lock (&real->lock);
  guint64 acked = real->max_acked_index;
  g_mutex_unlock (&real->lock);
  if (commit < acked)
    {
      if (why != NULL)
        g_string_append_printf (why, "leader %u committed %" G_GUINT64_FORMAT ", short of acknowledged index %"
                                G_GUINT64_FORMAT, id, commit, acked);
      return FALSE;
    }
  for (guint i = 1; i <= real->n; i++)
    if (real->nodes[i].proc != NULL && (!views[i].answered || views[i].applied_index < commit))
      {
        if (why != NULL)
          g_string_append_printf (why, "node %u applied %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT, i,
                                  views[i].applied_index, commit);
        return FALSE;
      }
  return TRUE;
}

/* ---- construction ---- */

guint64
dsm_real_bound_ms (const DsmScenario *scenario)
{
  guint64 bound = scenario->workload.start_ms + scenario->workload.duration_ms;

  for (guint i = 0; i < scenario->steps->len; i++)
    {
      const DsmStep *step = scenario->steps->pdata[i];
      bound = MAX (bound, step->has_at ? step->at_ms : 0);
      bound += step->after_ms + step->within_ms + (step->kind == DSM_STEP_WAIT ? step->ms : 0);
    }
  return bound + scenario->expect.leader_within_ms + scenario->expect.settle_ms + 30000;
}

DsmReal *
dsm_real_new (const DsmScenario *scenario, const DsmRealOptions *options)
{
  DsmReal *real = g_new0 (DsmReal, 1);

  g_return_val_if_fail (options != NULL && options->node_path != NULL, NULL);

  real->scenario = dsm_scenario_copy (scenario);
  real->config = dsm_config_ref (real->scenario->config);
  real->options = *options;
  real->seed = options->has_seed ? options->seed : scenario->seed;
  real->n = real->config->n_nodes;
  real->nodes = g_new0 (RealNode, real->n + 1);
  real->group = g_new0 (guint, real->n + 1);
  real->isolated = g_new0 (gboolean, real->n + 1);
  real->cut = g_new0 (gboolean, (real->n + 1) * (real->n + 1));
  g_mutex_init (&real->lock);
  real->checker = dsm_checker_new (real->config, real->scenario->expect.invariants);
  real->history = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
  real->workload = dsm_workload_run_new (&real->scenario->workload, real->config, real->seed);
  real->skipped = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  dsm_prng_init (&real->fault_prng, real->seed, "faults", 0);
  const DsmWorkload *w = &real->scenario->workload;
  real->workload_end_ms = w->clients > 0 ? w->start_ms + w->duration_ms : 0;
  return real;
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
    }
  g_remove (path);
}

void
dsm_real_free (DsmReal *real)
{
  if (real == NULL)
    return;
  if (real->threads != NULL)
    real_clients_join (real);
  real_nodes_kill (real);
  dsm_proxy_free (real->proxy);
  if (real->dir != NULL && real->own_dir && !real->options.keep)
    remove_tree (real->dir);
  for (guint id = 0; id <= real->n; id++)
    {
      g_free (real->nodes[id].data_dir);
      g_free (real->nodes[id].log_path);
    }
  g_free (real->nodes);
  g_free (real->group);
  g_free (real->isolated);
  g_free (real->cut);
  g_clear_pointer (&real->ops, g_ptr_array_unref);
  g_clear_pointer (&real->threads, g_ptr_array_unref);
  g_clear_pointer (&real->finals, g_ptr_array_unref);
  g_ptr_array_unref (real->history);
  dsm_workload_run_free (real->workload);
  g_hash_table_unref (real->skipped);
  dsm_checker_free (real->checker);
  g_mutex_clear (&real->lock);
  dsm_real_report_clear (&real->report);
  g_free (real->config_path);
  g_free (real->token);
  g_free (real->dir);
  dsm_config_unref (real->config);
  dsm_scenario_free (real->scenario);
  g_free (real);
}

void
dsm_real_report_clear (DsmRealReport *report)
{
  g_clear_pointer (&report->failure, g_free);
  g_clear_pointer (&report->skipped, g_strfreev);
  g_clear_pointer (&report->work_dir, g_free);
}

/* ---- the end of a run ---- */

static void
final_free (DsmHistoryFinal *final)
{
  g_free (final->node);
  g_hash_table_unref (final->machines);
  g_free (final);
}

/* Every live node's machines, once all is settled: they must agree. */
static void
finish_finals (DsmReal *real)
{
  real->finals = g_ptr_array_new_with_free_func ((GDestroyNotify) final_free);
  for (guint id = 1; id <= real->n; id++)
    {
      if (!real_node_running (real, &real->nodes[id]))
        continue;
      GHashTable *machines = dsm_real_api_list (real->nodes[id].client_port, real->token, 5 * G_USEC_PER_SEC);
      if (machines == NULL)
        {
          real_fail (real, DSM_INVARIANT_LIVENESS, "node %u did not list its machines", id);
          continue;
        }
      DsmHistoryFinal *final = g_new0 (DsmHistoryFinal, 1);
      final->node = g_strdup_printf ("%u", id);
      final->machines = machines;
      g_ptr_array_add (real->finals, final);
    }
  g_autofree char *why = NULL;
  if (!dsm_history_finals_agree (real->finals, &why))
    real_fail (real, DSM_INVARIANT_STATE_MACHINE_SAFETY, "final states: %s", why);
  /* The cluster started empty and the history holds every operation since:
   * a machine none of them named came from nowhere (the simulator's
   * checker sees each entry; here the final states are what there is).
   * Nodes that disagree have failed above; nodes that agree list the same
   * machines, so the first node's finals say it for all, as in dsm-check. */
  if (real->finals->len == 0)
    return;
  const DsmHistoryFinal *first = real->finals->pdata[0];
  g_mutex_lock (&real->lock);
  g_autofree char *invented = g_strdup (dsm_history_final_untouched (real->history, first));
  g_mutex_unlock (&real->lock);
  if (invented != NULL)
    real_fail (real, DSM_INVARIANT_VALIDITY, "node %s holds machine \"%s\", which no operation of the run named: "
               "an entry nobody submitted was applied", first->node, invented);
}

/* Linearizability of the history ended by the final states (as dsm-check
 * judges it), and every acknowledged index applied by every live node. */
static void
finish_check (DsmReal *real, const guint64 *applied, guint n_live)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new ();
  g_autoptr(GPtrArray) reads = NULL;

  g_mutex_lock (&real->lock);
  for (guint i = 0; i < real->history->len; i++)
    g_ptr_array_add (ops, real->history->pdata[i]);
  if (real->finals->len > 0)
    {
      reads = dsm_history_final_reads (real->history, real->finals->pdata[0]);
      for (guint i = 0; i < reads->len; i++)
        g_ptr_array_add (ops, reads->pdata[i]);
    }
  dsm_checker_finish (real->checker, real_now_ms (real), ops, applied, n_live);
  g_mutex_unlock (&real->lock);
}

static guint64
longest_unavailable (DsmReal *real)
{
  const DsmWorkload *w = &real->scenario->workload;

  if (w->clients == 0)
    return 0;
  return dsm_history_longest_unavailable (real->history, w->start_ms, real->workload_end_ms);
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
run_report (DsmReal *real, DsmRealReport *report)
{
  RealCounters c = real_counters_total (real);
  g_autoptr(GPtrArray) skipped = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer kind, reason;

  *report = real->report;
  memset (&real->report, 0, sizeof real->report);
  report->ok = dsm_checker_ok (real->checker);
  if (!report->ok)
    {
      report->failed_invariant = dsm_checker_get_failed (real->checker);
      report->failure = g_strdup (dsm_checker_get_message (real->checker));
      report->failed_at_ms = dsm_checker_get_failed_at (real->checker);
    }
  report->seed = real->seed;
  report->wall_ms = real_now_ms (real);
  report->retries = c.retries;
  report->snapshots_installed = c.snapshots_installed;
  report->invalid_messages = c.invalid;
  report->longest_unavailable_ms = longest_unavailable (real);
  report->n_skipped_steps = real->n_skipped_steps;
  g_hash_table_iter_init (&iter, real->skipped);
  while (g_hash_table_iter_next (&iter, &kind, &reason))
    g_ptr_array_add (skipped, g_strdup_printf ("%s: %s", (const char *) kind, (const char *) reason));
  g_ptr_array_sort (skipped, compare_strings);
  g_ptr_array_add (skipped, NULL);
  report->skipped = (char **) g_ptr_array_free (g_steal_pointer (&skipped), FALSE);
  dsm_proxy_get_stats (real->proxy, &report->proxy);
  if (real->options.keep)
    report->work_dir = g_strdup (real->dir);
}

void
dsm_real_run (DsmReal *real, DsmRealReport *report)
{
  g_autoptr(GError) error = NULL;

  if (real->options.work_dir != NULL)
    {
      real->dir = g_strdup (real->options.work_dir);
      if (g_mkdir_with_parents (real->dir, 0700) != 0)
        g_set_error (&error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: cannot create", real->dir);
    }
  else if ((real->dir = g_dir_make_tmp ("dsm-real-XXXXXX", &error)) != NULL)
    real->own_dir = TRUE;
  real->start_us = g_get_monotonic_time ();
  if (error == NULL && !real_nodes_prepare (real, &error))
    g_prefix_error (&error, "preparing the nodes: ");
  if (error != NULL)
    {
      g_mutex_lock (&real->lock);
      dsm_checker_fail (real->checker, DSM_INVARIANT_LIVENESS, 0, "%s", error->message);
      g_mutex_unlock (&real->lock);
      if (real->ops == NULL)
        real->ops = g_ptr_array_new ();
      real->finals = g_ptr_array_new ();
      run_report (real, report);
      return;
    }
  real_log (real, "cluster of %u nodes in %s; peers through the proxy", real->n, real->dir);
  /* t = 0 and the bound count from the nodes' start (OPERATIONS.md, What a
   * real run does). */
  real->start_us = g_get_monotonic_time ();
  real->deadline_us = real->start_us
                      + (gint64) (real->options.timeout_ms != 0 ? real->options.timeout_ms
                                                                : dsm_real_bound_ms (real->scenario)) * 1000;
  for (guint id = 1; id <= real->n; id++)
    real_node_start (real, &real->nodes[id]);
  real_clients_start (real);
  real_script_run (real);
  if (real_ok (real))
    real_final_run (real);

  /* From here on nothing waits for the cluster: whatever happened, the
   * run ends, and every process with it. */
  real_clients_join (real);
  if (real->finals == NULL)
    real->finals = g_ptr_array_new ();
  guint64 commit = 0;
  g_autofree guint64 *applied = g_new0 (guint64, real->n);
  guint n_live = 0;
  gboolean settled = real_ok (real);
  if (settled)
    {
      g_autofree DsmRealView *views = g_new0 (DsmRealView, real->n + 1);
      DsmNodeId leader = real_leader (real, views);
      commit = leader != DSM_NODE_NONE ? views[leader].commit_index : 0;
      for (guint id = 1; id <= real->n; id++)
        if (views[id].answered)
          applied[n_live++] = views[id].applied_index;
      g_ptr_array_unref (real->finals);
      finish_finals (real);
    }
  real_nodes_stop (real);
  real_nodes_read_logs (real);
  if (settled)
    {
      real_disk_check_logs (real, commit);
      if (real_ok (real))
        finish_check (real, applied, n_live);
    }
  real->report.entries_committed = commit;
  real_log (real, "verdict: %s", dsm_checker_ok (real->checker) ? "ok"
                                                                 : dsm_invariant_to_string (dsm_checker_get_failed (real->checker)));
  run_report (real, report);
}

void
dsm_real_write_history (DsmReal *real, GString *out)
{
  g_return_if_fail (real != NULL);
  g_return_if_fail (out != NULL);

  g_mutex_lock (&real->lock);
  /* With the definitions the run defined: the file stands alone. */
  dsm_history_write_header (out, dsm_checker_get_config (real->checker));
  for (guint i = 0; i < real->history->len; i++)
    {
      dsm_history_op_write_json (out, real->history->pdata[i]);
      g_string_append_c (out, '\n');
    }
  for (guint i = 0; real->finals != NULL && i < real->finals->len; i++)
    {
      const DsmHistoryFinal *final = real->finals->pdata[i];
      dsm_history_write_final (out, final->node, final->machines);
    }
  g_mutex_unlock (&real->lock);
}
