/* core/types.c: names of the shared enums, as they appear on the wire,
 * in logs and in traces. */
#include "types.h"

#include <string.h>

static const char *const role_names[] = {
  [DSM_ROLE_FOLLOWER] = "follower",
  [DSM_ROLE_PRE_CANDIDATE] = "pre-candidate",
  [DSM_ROLE_CANDIDATE] = "candidate",
  [DSM_ROLE_LEADER] = "leader",
};

const char *
dsm_role_to_string (DsmRole role)
{
  g_return_val_if_fail ((guint) role < G_N_ELEMENTS (role_names), "?");
  return role_names[role];
}

static const char *const reject_names[DSM_REJECT_N_REASONS] = {
  [DSM_REJECT_NONE] = "none",
  [DSM_REJECT_STALE_EPOCH] = "stale_epoch",
  [DSM_REJECT_LOG_MISMATCH] = "log_mismatch",
  [DSM_REJECT_INVALID_TRANSITION] = "invalid_transition",
  [DSM_REJECT_NOT_LEADER] = "not_leader",
  [DSM_REJECT_BAD_REQUEST] = "bad_request",
  [DSM_REJECT_OVERLOADED] = "overloaded",
  [DSM_REJECT_STALE_REQUEST] = "stale_request",
  [DSM_REJECT_NO_SPACE] = "no_space",
  [DSM_REJECT_CHANGE_IN_PROGRESS] = "change_in_progress",
  [DSM_REJECT_REMOVED] = "removed",
};

const char *
dsm_reject_reason_to_string (DsmRejectReason reason)
{
  g_return_val_if_fail ((guint) reason < DSM_REJECT_N_REASONS, "?");
  return reject_names[reason];
}

gboolean
dsm_reject_reason_from_string (const char *text, DsmRejectReason *out)
{
  g_return_val_if_fail (text != NULL, FALSE);
  for (guint i = 0; i < DSM_REJECT_N_REASONS; i++)
    if (strcmp (text, reject_names[i]) == 0)
      {
        *out = (DsmRejectReason) i;
        return TRUE;
      }
  return FALSE;
}

static const char *const status_names[DSM_REPLY_N_STATUSES] = {
  [DSM_REPLY_OK] = "ok",
  [DSM_REPLY_REJECTED] = "rejected",
  [DSM_REPLY_UNKNOWN] = "unknown",
};

const char *
dsm_reply_status_to_string (DsmReplyStatus status)
{
  g_return_val_if_fail ((guint) status < DSM_REPLY_N_STATUSES, "?");
  return status_names[status];
}

gboolean
dsm_reply_status_from_string (const char *text, DsmReplyStatus *out)
{
  g_return_val_if_fail (text != NULL, FALSE);
  for (guint i = 0; i < DSM_REPLY_N_STATUSES; i++)
    if (strcmp (text, status_names[i]) == 0)
      {
        *out = (DsmReplyStatus) i;
        return TRUE;
      }
  return FALSE;
}
