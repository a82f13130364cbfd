/* check/logs.c: agreement and durability over the logs nodes recovered
 * from their disks (logs.h). */
#include "check/logs.h"

#include "check/history.h"

/* The entry @log holds at @index, or NULL (before its snapshot, past its end). */
static const DsmEntry *
log_entry (const DsmDurableState *log, guint64 index)
{
  guint n = log->entries != NULL ? log->entries->len : 0;

  if (index <= log->snapshot_index || index > log->snapshot_index + n)
    return NULL;
  const DsmEntry *entry = log->entries->pdata[index - log->snapshot_index - 1];
  g_assert (entry->index == index);
  return entry;
}

static guint64
log_last_index (const DsmDurableState *log)
{
  return log->snapshot_index + (log->entries != NULL ? log->entries->len : 0);
}

/* Whether @entry is the command @op was told committed. */
static gboolean
entry_is_op (const DsmEntry *entry, const DsmHistoryOp *op)
{
  return entry->kind == DSM_ENTRY_COMMAND && entry->cmd.op == DSM_OP_TRANSITION
         && g_strcmp0 (entry->cmd.machine, op->machine) == 0
         && g_strcmp0 (entry->cmd.to, op->requested) == 0
         && g_strcmp0 (entry->cmd.client_id, op->client_id) == 0
         && (op->client_id == NULL || entry->cmd.seq == op->seq);
}

static gboolean
logs_agree (const DsmNodeLog *logs, guint n_logs, guint64 commit_index, char **why)
{
  for (guint a = 0; a < n_logs; a++)
    for (guint b = a + 1; b < n_logs; b++)
      {
        guint64 last = MIN (commit_index, MIN (log_last_index (logs[a].state), log_last_index (logs[b].state)));
        for (guint64 index = 1; index <= last; index++)
          {
            const DsmEntry *x = log_entry (logs[a].state, index);
            const DsmEntry *y = log_entry (logs[b].state, index);
            if (x == NULL || y == NULL || dsm_entry_equal (x, y))
              continue;
            *why = g_strdup_printf ("nodes %u and %u hold different entries at committed index %"
                                    G_GUINT64_FORMAT " (epochs %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT ")",
                                    logs[a].id, logs[b].id, index, x->epoch, y->epoch);
            return FALSE;
          }
      }
  return TRUE;
}

gboolean
dsm_logs_check (const DsmNodeLog *logs, guint n_logs, guint64 commit_index, GPtrArray *history,
                guint *checked, DsmInvariant *invariant, char **why)
{
  guint found = 0;

  g_return_val_if_fail (logs != NULL || n_logs == 0, FALSE);
  g_return_val_if_fail (history != NULL, FALSE);
  g_return_val_if_fail (invariant != NULL && why != NULL && *why == NULL, FALSE);

  if (!logs_agree (logs, n_logs, commit_index, why))
    {
      *invariant = DSM_INVARIANT_AGREEMENT;
      return FALSE;
    }
  for (guint i = 0; i < history->len; i++)
    {
      const DsmHistoryOp *op = history->pdata[i];
      if (!op->completed || op->status != DSM_REPLY_OK || op->op != DSM_OP_TRANSITION || op->index == 0)
        continue;
      for (guint k = 0; k < n_logs; k++)
        {
          const DsmDurableState *log = logs[k].state;
          if (op->index <= log->snapshot_index)
            continue;  /* in the snapshot: the final states judge it */
          const DsmEntry *entry = log_entry (log, op->index);
          if (entry != NULL && entry_is_op (entry, op))
            {
              found++;
              continue;
            }
          g_autoptr(GString) what = g_string_new (NULL);
          dsm_history_op_describe (what, op);
          *invariant = DSM_INVARIANT_DURABILITY;
          if (entry == NULL)
            *why = g_strdup_printf ("node %u's log ends at index %" G_GUINT64_FORMAT ", before acknowledged %s "
                                    "at index %" G_GUINT64_FORMAT, logs[k].id, log_last_index (log), what->str,
                                    op->index);
          else
            *why = g_strdup_printf ("node %u holds another entry (epoch %" G_GUINT64_FORMAT ") at index %"
                                    G_GUINT64_FORMAT " than acknowledged %s", logs[k].id, entry->epoch,
                                    op->index, what->str);
          return FALSE;
        }
    }
  if (checked != NULL)
    *checked = found;
  return TRUE;
}
