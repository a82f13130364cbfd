/* check/window.c: shrinking a non-linearizable machine to the replies
 * that contradict one another (window.h): delta debugging over which
 * replies to believe, every other operation weakened, never deleted. */
#include "check/window.h"

#include <string.h>

#include "check/linearizability.h"

#define WINDOW_CHECKS_DEFAULT 2000
/* Each probe is one machine's search; a probe past this many states
 * counts as passing, so a kept edit is always a proven violation. */
#define WINDOW_PROBE_STATES G_GUINT64_CONSTANT (2000000)

typedef struct {
  GPtrArray *mine;          /* the machine's ops (borrowed) */
  gboolean *weak;           /* per op of @mine */
  DsmConfig *config;
  guint checks;
  guint max_checks;
} Shrink;

void
dsm_window_clear (DsmWindow *window)
{
  g_return_if_fail (window != NULL);
  g_clear_pointer (&window->ops, g_ptr_array_unref);
  memset (window, 0, sizeof *window);
}

/* A reply the search must explain, which weakening can take away. */
static gboolean
op_believed (const DsmHistoryOp *op)
{
  if (!op->completed)
    return FALSE;
  if (op->op == DSM_OP_READ)
    return op->status == DSM_REPLY_OK && op->state != NULL;
  return op->status == DSM_REPLY_OK
         || (op->status == DSM_REPLY_REJECTED && op->reason == DSM_REJECT_INVALID_TRANSITION);
}

/* @op with its reply ignored, or NULL when leaving it out is the weaker
 * history: a read or a refusal had no effect, so without its reply it
 * constrains nothing; a transition told "ok" did have an effect, so it
 * stays, as one whose outcome is unknown (applied at most once, any time
 * after its invocation, or never: every order of the original stays
 * legal). */
static DsmHistoryOp *
op_weaken (const DsmHistoryOp *op)
{
  DsmHistoryOp *weak;

  if (op->op == DSM_OP_READ || op->status != DSM_REPLY_OK)
    return NULL;
  weak = dsm_history_op_copy (op);
  weak->status = DSM_REPLY_UNKNOWN;
  weak->reason = DSM_REJECT_NONE;
  weak->index = 0;
  g_clear_pointer (&weak->state, g_free);
  return weak;
}

/* Whether the history with the current marks is still a proven violation. */
static gboolean
shrink_fails (Shrink *s)
{
  g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
  g_autoptr(GPtrArray) ops = g_ptr_array_new ();
  DsmLinearizabilityResult result = { 0 };
  gboolean fails;

  for (guint i = 0; i < s->mine->len; i++)
    {
      const DsmHistoryOp *op = s->mine->pdata[i];
      DsmHistoryOp *weak;

      if (!s->weak[i])
        {
          g_ptr_array_add (ops, (gpointer) op);
          continue;
        }
      weak = op_weaken (op);
      if (weak == NULL)
        continue;
      g_ptr_array_add (owned, weak);
      g_ptr_array_add (ops, weak);
    }
  s->checks++;
  fails = !dsm_linearizability_check (ops, s->config, WINDOW_PROBE_STATES, &result)
          && !result.inconclusive;
  dsm_linearizability_result_clear (&result);
  return fails;
}

static gboolean
shrink_budget_left (const Shrink *s)
{
  return s->checks < s->max_checks;
}

/* Tries ignoring the replies of @believed[from, to); keeps it when the
 * history still fails, else puts them back. */
static gboolean
shrink_try_weaken (Shrink *s, GArray *believed, guint from, guint to)
{
  for (guint k = from; k < to; k++)
    s->weak[g_array_index (believed, guint, k)] = TRUE;
  if (shrink_fails (s))
    {
      g_array_remove_range (believed, from, to - from);
      return TRUE;
    }
  for (guint k = from; k < to; k++)
    s->weak[g_array_index (believed, guint, k)] = FALSE;
  return FALSE;
}

/* Zeller's ddmin, complements only: split the believed replies in n
 * chunks, ignore one chunk at a time; on success go on with n - 1
 * chunks, else with twice as many, until chunks are single replies. */
static void
shrink_ddmin (Shrink *s, GArray *believed)
{
  guint n = 2;

  while (believed->len >= 2 && shrink_budget_left (s))
    {
      guint size = (believed->len + n - 1) / n;
      gboolean reduced = FALSE;

      for (guint from = 0; from < believed->len && shrink_budget_left (s); from += size)
        if (shrink_try_weaken (s, believed, from, MIN (from + size, believed->len)))
          {
            reduced = TRUE;
            n = MAX (n - 1, 2);
            break;
          }
      if (reduced)
        continue;
      if (n >= believed->len)
        break;
      n = MIN (2 * n, believed->len);
    }
}

/* One more pass, one reply at a time, until none can go: 1-minimal. */
static gboolean
shrink_one_by_one (Shrink *s, GArray *believed)
{
  gboolean changed = TRUE;

  while (changed)
    {
      changed = FALSE;
      for (guint k = 0; k < believed->len; k++)
        {
          if (!shrink_budget_left (s))
            return FALSE;
          if (shrink_try_weaken (s, believed, k, k + 1))
            {
              changed = TRUE;
              k--;
            }
        }
    }
  return TRUE;
}

static gint
compare_by_invocation (gconstpointer a, gconstpointer b)
{
  const DsmHistoryOp *x = *(DsmHistoryOp *const *) a;
  const DsmHistoryOp *y = *(DsmHistoryOp *const *) b;

  if (x->invoke_ms != y->invoke_ms)
    return x->invoke_ms < y->invoke_ms ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

gboolean
dsm_window_find (GPtrArray *ops, DsmConfig *config, const char *machine, guint max_checks,
                 DsmWindow *window)
{
  g_autoptr(GPtrArray) mine = g_ptr_array_new ();
  g_autoptr(GArray) believed = g_array_new (FALSE, FALSE, sizeof (guint));
  Shrink s = { .config = config, .max_checks = max_checks != 0 ? max_checks : WINDOW_CHECKS_DEFAULT };
  gboolean minimal;

  g_return_val_if_fail (ops != NULL, FALSE);
  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (machine != NULL, FALSE);
  g_return_val_if_fail (window != NULL, FALSE);

  memset (window, 0, sizeof *window);
  for (guint i = 0; i < ops->len; i++)
    {
      const DsmHistoryOp *op = ops->pdata[i];
      if (g_strcmp0 (op->machine, machine) == 0)
        g_ptr_array_add (mine, (gpointer) op);
    }
  s.mine = mine;
  s.weak = g_new0 (gboolean, mine->len);
  for (guint i = 0; i < mine->len; i++)
    if (op_believed (mine->pdata[i]))
      g_array_append_val (believed, i);

  /* Every later check keeps the invariant "the marks still fail". */
  if (!shrink_fails (&s))
    {
      g_free (s.weak);
      return FALSE;
    }
  shrink_ddmin (&s, believed);
  minimal = shrink_one_by_one (&s, believed);

  window->ops = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
  window->from_ms = G_MAXUINT64;
  for (guint k = 0; k < believed->len; k++)
    {
      const DsmHistoryOp *op = mine->pdata[g_array_index (believed, guint, k)];
      g_assert (!s.weak[g_array_index (believed, guint, k)]);
      g_ptr_array_add (window->ops, dsm_history_op_copy (op));
      window->from_ms = MIN (window->from_ms, op->invoke_ms);
      window->to_ms = MAX (window->to_ms, op->completed ? op->complete_ms : op->invoke_ms);
    }
  if (window->ops->len == 0)
    window->from_ms = 0;
  g_ptr_array_sort (window->ops, compare_by_invocation);
  for (guint i = 0; i < mine->len; i++)
    window->weakened += s.weak[i];
  window->machine_ops = mine->len;
  window->minimal = minimal;
  window->checks = s.checks;
  g_free (s.weak);
  return TRUE;
}
