/* scenario/workload.c: the operations a scenario's clients issue
 * (scenario/workload.h): names, streams, think times and choices. */
#include "scenario/workload.h"

#include "payload.h"

/* Where a client's read-modify-write is (dsm_workload_run_next()). */
typedef enum {
  CAS_NONE,
  CAS_READING,   /* its read is out */
  CAS_READY,     /* the read was answered: the conditional write goes next */
} CasStage;

typedef struct {
  DsmPrng prng;            /* ("payload", client): payload and CAS choices only */
  char *payload;           /* the last payload handed out */
  CasStage stage;
  const char *machine;     /* the machine read (one of run->machines) */
  const char *state;       /* the state read (the definition's spelling) */
  guint64 revision;        /* the revision read */
  gint64 counter;          /* its data's "n" */
} ClientData;

struct _DsmWorkloadRun {
  const DsmWorkload *workload;
  const DsmConfig *config;
  guint n_clients;
  char **client_ids;       /* n_clients */
  guint64 *next_seq;       /* n_clients */
  DsmPrng *prngs;          /* n_clients */
  char **machines;         /* "m0".."m{machines-1}", NULL-terminated */
  GHashTable *observed;    /* machine -> canonical state a client last saw */
  ClientData *data;        /* n_clients */
  const DsmMachineDef *def; /* the workload's definition, found on first use */
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
  run->data = g_new0 (ClientData, run->n_clients);
  for (guint i = 0; i < run->n_clients; i++)
    dsm_prng_init (&run->data[i].prng, seed, "payload", i);
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
  for (guint i = 0; i < run->n_clients; i++)
    g_free (run->data[i].payload);
  g_free (run->data);
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

/* A legal move from @state (the definition's first, in its order), or
 * any state when none is legal: the write half of a read-modify-write. */
static const char *
next_cas_state (const DsmMachineDef *def, const char *state)
{
  guint n = dsm_machine_def_get_n_states (def);

  for (guint k = 0; k < n; k++)
    if (dsm_machine_def_allows (def, state, dsm_machine_def_get_state (def, k)))
      return dsm_machine_def_get_state (def, k);
  return dsm_machine_def_get_state (def, 0);
}

/* A payload of one or two of the keys k0..k3, each an integer or null
 * (which removes it): merges replace and remove keys. */
static char *
next_payload (DsmPrng *prng)
{
  GString *out = g_string_new ("{");
  guint first = (guint) dsm_prng_range (prng, 0, 3);
  guint n = dsm_prng_chance (prng, 50) ? 2 : 1;

  for (guint i = 0; i < n; i++)
    {
      g_string_append_printf (out, "%s\"k%u\":", i > 0 ? "," : "", (first + i) % 4);
      if (dsm_prng_chance (prng, 20))
        g_string_append (out, "null");
      else
        g_string_append_printf (out, "%u", (guint) dsm_prng_range (prng, 0, 99));
    }
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

void
dsm_workload_run_next (DsmWorkloadRun *run, guint client, DsmCommand *cmd)
{
  ClientData *cd;
  const DsmWorkload *w;
  const DsmMachineDef *def;
  DsmPrng *prng;
  const char *machine;

  g_return_if_fail (run != NULL);
  g_return_if_fail (client < run->workload->clients);
  g_return_if_fail (cmd != NULL);

  w = run->workload;
  prng = &run->prngs[client];
  cd = &run->data[client];
  g_clear_pointer (&cd->payload, g_free);
  /* The scenario reader checked the workload's definition exists; the
   * config does not change under a run. */
  if (run->def == NULL)
    run->def = dsm_config_find_definition (run->config, w->definition);
  def = run->def;
  g_assert (def != NULL);
  if (cd->stage == CAS_READY)
    {
      /* The write half: only if nothing changed the machine since the read. */
      g_assert (cd->machine != NULL);
      g_assert (cd->state != NULL);
      cd->payload = g_strdup_printf ("{\"n\":%" G_GINT64_FORMAT ",\"by\":\"%s\"}", cd->counter + 1,
                                     run->client_ids[client]);
      *cmd = (DsmCommand) { .op = DSM_OP_TRANSITION, .machine = (char *) cd->machine, .definition = w->definition,
                            .to = (char *) next_cas_state (def, cd->state), .payload = cd->payload,
                            .has_if_revision = TRUE, .if_revision = cd->revision };
      cd->stage = CAS_NONE;
    }
  else
    {
      machine = run->machines[dsm_prng_range (prng, 0, MAX (w->machines, 1) - 1)];
      *cmd = (DsmCommand) { .machine = (char *) machine, .definition = w->definition };
      if (dsm_prng_chance (prng, w->read_percent))
        cmd->op = DSM_OP_READ;
      else
        {
          cmd->op = DSM_OP_TRANSITION;
          cmd->to = (char *) next_pick_state (run, prng, def, machine);
        }
      /* Drawn from the client's payload stream, so a workload without
       * payloads draws the same operations as before they existed. */
      if (w->cas_percent > 0 && dsm_prng_chance (&cd->prng, w->cas_percent))
        {
          cmd->op = DSM_OP_READ;
          cmd->to = NULL;
          cd->stage = CAS_READING;
          cd->machine = machine;
        }
      else if (cmd->op == DSM_OP_TRANSITION && w->payload_percent > 0
               && dsm_prng_chance (&cd->prng, w->payload_percent))
        cmd->payload = cd->payload = next_payload (&cd->prng);
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
  /* The table keeps the definition's own spelling, which outlives it;
   * a machine seen before keeps its key (no copy per observation). */
  if (canonical != NULL)
    {
      gpointer key = NULL;

      if (!g_hash_table_steal_extended (run->observed, machine, &key, NULL))
        key = g_strdup (machine);
      g_hash_table_insert (run->observed, key, (gpointer) canonical);
    }
}

void
dsm_workload_run_answered (DsmWorkloadRun *run, guint client, const DsmCommand *cmd, gboolean ok,
                           const char *state, guint64 revision, const char *data)
{
  ClientData *cd;
  const DsmMachineDef *def;
  g_autoptr(JsonNode) parsed = NULL;

  g_return_if_fail (run != NULL);
  g_return_if_fail (client < run->workload->clients);
  g_return_if_fail (cmd != NULL);

  cd = &run->data[client];
  if (cd->stage != CAS_READING)
    return;
  g_assert (cmd->op == DSM_OP_READ);
  g_assert (g_strcmp0 (cmd->machine, cd->machine) == 0);
  cd->stage = CAS_NONE;
  def = dsm_config_find_definition (run->config, cmd->definition);
  if (!ok || state == NULL || def == NULL || (cd->state = dsm_machine_def_lookup_state (def, state)) == NULL)
    return; /* no revision to build on: the write is not sent */
  cd->revision = revision;
  cd->counter = 0;
  /* The node's own canonical text: it parses (a node that sent anything
   * else leaves the counter at 0, which its write's 409 or the checker
   * will show). */
  parsed = data != NULL ? dsm_payload_parse (data, "data", &dsm_payload_data_limits, NULL) : NULL;
  if (parsed != NULL)
    {
      JsonObject *object = json_node_get_object (parsed);
      JsonNode *n = json_object_get_member (object, "n");
      if (n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_INT64)
        cd->counter = json_node_get_int (n);
    }
  cd->stage = CAS_READY;
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
