/* real/admin.c: what an operator does to a real cluster, through the
 * nodes' admin API (docs/API.md, "Administration"): leadership
 * transfers and machine definitions through the log, as sim/admin.c does
 * to simulated cores.
 *
 *   transfer_leader: POST /v1/leader/transfer to the leader, once
 *   define: PUT /v1/definitions/NAME to the leader --200--> known to the
 *           checkers (no applies are seen here), done
 *           --503, no answer, no leader--> again after retry_delay_ms,
 *           until within_ms */
#include "real-private.h"

/* An admin request's budget: a commit under faults takes up to the
 * consensus timeout. */
static gint64
admin_timeout_us (DsmReal *real)
{
  return (gint64) (real->config->consensus_timeout_ms + 1000) * 1000;
}

void
real_admin_transfer (DsmReal *real, const DsmStep *step, DsmNodeId to)
{
  DsmNodeId leader = real_leader (real, NULL);
  DsmRealAnswer answer = { 0 };

  if (leader == DSM_NODE_NONE)
    {
      real_log (real, "%s (transfer_leader): skipped: no leader now", step->where);
      return;
    }
  g_autofree char *body = to != DSM_NODE_NONE ? g_strdup_printf ("{\"to\":%u}", to) : g_strdup ("{}");
  dsm_real_api_request (real->nodes[leader].client_port, "POST", "/v1/leader/transfer", real->token, body,
                        admin_timeout_us (real), &answer);
  if (answer.body != NULL)
    g_strchomp (answer.body);
  if (answer.status == 202)
    real_log (real, "%s (transfer_leader): node %u hands over: %s", step->where, leader, answer.body);
  else
    /* As in the simulator: a transfer the leader refuses is skipped, said why. */
    real_log (real, "%s (transfer_leader): skipped: node %u answered %u %s", step->where, leader, answer.status,
              answer.body != NULL ? answer.body : "(nothing)");
  dsm_real_answer_clear (&answer);
}

/* 503 (nothing happened, or unknown: a definition applied twice is the
 * same definition), no answer, no leader: worth another attempt. */
static gboolean
define_retryable (const DsmRealAnswer *answer)
{
  return answer->delivery != DSM_REAL_ANSWERED || answer->status == 503;
}

gboolean
real_admin_define (DsmReal *real, const DsmStep *step, GString *why)
{
  g_autofree char *path = g_strdup_printf ("/v1/definitions/%s", step->cmd.definition);
  gint64 deadline = g_get_monotonic_time () + (gint64) step->within_ms * 1000;

  g_return_val_if_fail (step->cmd.spec != NULL, FALSE);

  for (guint attempt = 1;; attempt++)
    {
      DsmRealAnswer answer = { 0 };
      DsmNodeId leader = real_leader (real, NULL);
      if (leader != DSM_NODE_NONE)
        dsm_real_api_request (real->nodes[leader].client_port, "PUT", path, real->token, step->cmd.spec,
                              admin_timeout_us (real), &answer);
      if (answer.body != NULL)
        g_strchomp (answer.body);
      if (answer.status == 200)
        {
          g_autoptr(GError) error = NULL;
          g_mutex_lock (&real->lock);
          gboolean known = dsm_checker_defined (real->checker, step->cmd.definition, step->cmd.spec, &error);
          g_mutex_unlock (&real->lock);
          if (!known)
            real_fail (real, DSM_INVARIANT_VALIDITY, "%s (define): acknowledged but does not parse: %s",
                       step->where, error->message);
          real_log (real, "%s (define): %s defined after %u attempt%s: %s", step->where, step->cmd.definition,
                    attempt, attempt == 1 ? "" : "s", answer.body);
          dsm_real_answer_clear (&answer);
          return TRUE;
        }
      g_string_truncate (why, 0);
      if (leader == DSM_NODE_NONE)
        g_string_append (why, "no leader");
      else
        g_string_append_printf (why, "node %u answered %u %s", leader, answer.status,
                                answer.body != NULL ? answer.body : "(nothing)");
      gboolean again = leader == DSM_NODE_NONE || define_retryable (&answer);
      dsm_real_answer_clear (&answer);
      gint64 next = g_get_monotonic_time () + (gint64) real->config->retry_delay_ms * 1000;
      if (!again || !step->admin_wait || next >= deadline || !real_wait_until (real, next))
        return FALSE;
    }
}
