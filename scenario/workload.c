/* scenario/workload.c: the operations a scenario's clients issue
 * (scenario/workload.h): names, streams, think times and choices. */
#include "scenario/workload.h"

struct _DsmWorkloadRun {
  const DsmWorkload *workload;
  const DsmConfig *config;
  guint n_clients;
  char **client_ids;       /* n_clients */
  guint64 *next_seq;       /* n_clients */
  DsmPrng *prngs;          /* n_clients */
  char **machines;         /* "m0".."m{machines-1}", NULL-terminated */
  GHashTable *observed;    /* machine -> canonical state a client last saw */
};

DsmWorkloadRun *
dsm_workload_run_new (const DsmWorkload *workload, const DsmConfig *config, guint64 seed)
{
  DsmWorkloadRun *run;
  guint n_machines;

  g_return_val_if_fail (workload != NULL, NULL);
  g_return_val_if_fail (config != NULL, NULL);

  run = g_new0 (DsmWorkloadRun, 1);
  run->workload = workload;
  run->config = config;
  run->n_clients = workload->clients + 1; /* the last one is the script's */
  run->client_ids = g_new0 (char *, run->n_clients + 1);
  run->next_seq = g_new0 (guint64, run->n_clients);
  run->prngs = g_new0 (DsmPrng, run->n_clients);
  for (guint i = 0; i < run->n_clients; i++)
    {
      run->client_ids[i] = i < workload->clients ? g_strdup_printf ("c%u", i)
                                                 : g_strdup ("script");
      dsm_prng_init (&run->prngs[i], seed, "client", i);
    }
  n_machines = MAX (workload->machines, 1);
  run->machines = g_new0 (char *, n_machines + 1);
  for (guint i = 0; i < n_machines; i++)
    run->machines[i] = g_strdup_printf ("m%u", i);
  run->observed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  return run;
}

void
dsm_workload_run_free (DsmWorkloadRun *run)
{
  if (run == NULL)
    return;
  g_strfreev (run->client_ids);
  g_free (run->next_seq);
  g_free (run->prngs);
  g_strfreev (run->machines);
  g_hash_table_unref (run->observed);
  g_free (run);
}

guint
dsm_workload_run_get_n_clients (const DsmWorkloadRun *run)
{
  g_return_val_if_fail (run != NULL, 0);
  return run->n_clients;
}

const char *
dsm_workload_run_get_client_id (const DsmWorkloadRun *run, guint client)
{
  g_return_val_if_fail (run != NULL, NULL);
  g_return_val_if_fail (client < run->n_clients, NULL);
  return run->client_ids[client];
}

DsmPrng *
dsm_workload_run_get_prng (DsmWorkloadRun *run, guint client)
{
  g_return_val_if_fail (run != NULL, NULL);
  g_return_val_if_fail (client < run->n_clients, NULL);
  return &run->prngs[client];
}

guint64
dsm_workload_run_think_ms (DsmWorkloadRun *run, guint client)
{
  const DsmWorkload *w;
  double mean_ms;

  g_return_val_if_fail (run != NULL, 0);
  g_return_val_if_fail (client < run->workload->clients, 0);

  w = run->workload;
  mean_ms = w->rate_per_s > 0 ? 1000.0 * w->clients / w->rate_per_s : 1000.0;
  return (guint64) (dsm_prng_double (&run->prngs[client]) * 2.0 * mean_ms);
}

/* Mostly legal moves from the state last seen, some deliberate nonsense. */
static const char *
next_pick_state (DsmWorkloadRun *run, DsmPrng *prng, const DsmMachineDef *def,
                 const char *machine)
{
  guint n = dsm_machine_def_get_n_states (def);
  const char *seen = g_hash_table_lookup (run->observed, machine);

  g_assert (n >= 1);
  if (seen == NULL)
    seen = dsm_machine_def_get_initial (def);
  if (dsm_prng_chance (prng, 75))
    {
      guint start = (guint) dsm_prng_range (prng, 0, n - 1);

      for (guint k = 0; k < n; k++)
        {
          const char *to = dsm_machine_def_get_state (def, (start + k) % n);

          if (dsm_machine_def_allows (def, seen, to))
            return to;
        }
    }
  return dsm_machine_def_get_state (def, (guint) dsm_prng_range (prng, 0, n - 1));
}

void
dsm_workload_run_next (DsmWorkloadRun *run, guint client, DsmCommand *cmd)
{
  const DsmWorkload *w;
  const DsmMachineDef *def;
  DsmPrng *prng;
  const char *machine;

  g_return_if_fail (run != NULL);
  g_return_if_fail (client < run->workload->clients);
  g_return_if_fail (cmd != NULL);

  w = run->workload;
  prng = &run->prngs[client];
  /* The scenario reader checked the workload's definition exists. */
  def = dsm_config_find_definition (run->config, w->definition);
  g_assert (def != NULL);
  machine = run->machines[dsm_prng_range (prng, 0, MAX (w->machines, 1) - 1)];
  *cmd = (DsmCommand) { .machine = (char *) machine, .definition = w->definition };
  if (dsm_prng_chance (prng, w->read_percent))
    cmd->op = DSM_OP_READ;
  else
    {
      cmd->op = DSM_OP_TRANSITION;
      cmd->to = (char *) next_pick_state (run, prng, def, machine);
    }
  if (w->idempotent)
    {
      cmd->client_id = run->client_ids[client];
      cmd->seq = ++run->next_seq[client];
    }
}

void
dsm_workload_run_observe (DsmWorkloadRun *run, const char *machine, const char *definition,
                          const char *state)
{
  const DsmMachineDef *def;
  const char *canonical;

  g_return_if_fail (run != NULL);
  g_return_if_fail (machine != NULL);
  g_return_if_fail (state != NULL);

  def = dsm_config_find_definition (run->config, definition);
  canonical = def != NULL ? dsm_machine_def_lookup_state (def, state) : NULL;
  /* The table keeps the definition's own spelling, which outlives it. */
  if (canonical != NULL)
    g_hash_table_replace (run->observed, g_strdup (machine), (gpointer) canonical);
}

gboolean
dsm_workload_unchanged (DsmReplyStatus status, DsmRejectReason reason)
{
  /* A removed node changes nothing either, nor a node whose disk is full:
   * try another (like not_leader). */
  return status == DSM_REPLY_REJECTED
         && (reason == DSM_REJECT_NOT_LEADER || reason == DSM_REJECT_OVERLOADED
             || reason == DSM_REJECT_REMOVED || reason == DSM_REJECT_NO_SPACE);
}

gboolean
dsm_workload_retry (const DsmCommand *cmd, guint attempts, guint retry_attempts,
                    DsmReplyStatus status, DsmRejectReason reason)
{
  gboolean idempotent;

  g_return_val_if_fail (cmd != NULL, FALSE);
  g_return_val_if_fail (attempts >= 1, FALSE);

  idempotent = cmd->client_id != NULL || cmd->op == DSM_OP_READ;
  return (dsm_workload_unchanged (status, reason) || (status == DSM_REPLY_UNKNOWN && idempotent))
         && attempts <= retry_attempts;
}

DsmReplyStatus
dsm_workload_outcome (DsmReplyStatus status, DsmRejectReason reason, gboolean maybe_applied)
{
  if (maybe_applied && dsm_workload_unchanged (status, reason))
    return DSM_REPLY_UNKNOWN;
  return status;
}
