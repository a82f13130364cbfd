/* check/plugin-spec.c: linearizability of a machine plugin's history with
 * the plugin's own apply as the specification (plugin-spec.h).  The search
 * keeps a stack of plugin states (copied before each apply) and memoizes
 * (operations done, snapshot of the state): the snapshot is canonical
 * (docs/PLUGINS.md, "Snapshots"), so equal states meet in the cache. */
#include "check/plugin-spec.h"

#include <json-glib/json-glib.h>
#include <string.h>

#define MAX_STATES_DEFAULT G_GUINT64_CONSTANT (1000000)
#define EXPLAIN_CANDIDATES_MAX 6

typedef enum {
  KIND_OK,       /* took effect, with this output */
  KIND_REFUSED,  /* validate refused it: no effect */
  KIND_MAYBE,    /* unknown or pending: either, or nothing */
} Kind;

typedef struct {
  const DsmHistoryOp *op;
  Kind kind;
  guint64 complete_ms;  /* G_MAXUINT64: never completed */
} SpecOp;

typedef struct {
  const DsmMachineImpl *impl;
  SpecOp *ops;
  guint n_ops;
  guint8 *done;          /* bit i: ops[i] is linearized */
  guint n_done;
  GHashTable *seen;      /* GBytes (done bits + snapshot) */
  guint64 states;
  guint64 max_states;
  gboolean over_budget;
  guint deepest;         /* most ops linearized at any point */
  GString *why;          /* at the deepest point: why nothing came next */
  guint why_count;
} Search;

static gboolean
done_get (const Search *s, guint i)
{
  return (s->done[i / 8] >> (i % 8)) & 1;
}

static void
done_set (Search *s, guint i, gboolean value)
{
  g_assert (done_get (s, i) != value);
  if (value)
    s->done[i / 8] |= (guint8) (1u << (i % 8));
  else
    s->done[i / 8] &= (guint8) ~(1u << (i % 8));
  s->n_done += value ? 1 : -1;
}

/* Two JSON texts with the same value. */
static gboolean
output_equal (const char *a, const char *b)
{
  g_autoptr(JsonParser) pa = json_parser_new ();
  g_autoptr(JsonParser) pb = json_parser_new ();

  if (!json_parser_load_from_data (pa, a, -1, NULL) || !json_parser_load_from_data (pb, b, -1, NULL))
    return strcmp (a, b) == 0;
  return json_node_equal (json_parser_get_root (pa), json_parser_get_root (pb));
}

static const char *
op_payload (const SpecOp *o)
{
  return o->op->payload != NULL ? o->op->payload : "{}";
}

/* Notes why @o cannot come next at the current depth, for the explanation. */
static void
search_note (Search *s, const SpecOp *o, const char *what)
{
  if (s->n_done > s->deepest)
    {
      s->deepest = s->n_done;
      g_string_truncate (s->why, 0);
      s->why_count = 0;
    }
  if (s->n_done < s->deepest || s->why_count >= EXPLAIN_CANDIDATES_MAX)
    return;
  s->why_count++;
  g_string_append (s->why, "  ");
  dsm_history_op_describe (s->why, o->op);
  g_string_append_printf (s->why, "\n    cannot come next: %s\n", what);
}

static gboolean search_run (Search *s, gconstpointer state);

/* Tries @o next, taking effect in @state: validate must accept it and,
 * for an ok reply, apply's result must be the output reported. */
static gboolean
search_try_effect (Search *s, guint i, gconstpointer state)
{
  const SpecOp *o = &s->ops[i];
  g_autofree char *message = NULL;

  if (!s->impl->validate (state, o->op->requested, op_payload (o), &message))
    {
      if (o->kind == KIND_OK)
        {
          g_autofree char *what = g_strdup_printf ("the machine refuses it here: %s", message);
          search_note (s, o, what);
        }
      return FALSE;
    }
  gpointer next = s->impl->state_copy (state);
  g_autofree char *output = s->impl->apply (next, o->op->requested, op_payload (o));
  gboolean found = FALSE;
  if (o->kind == KIND_OK && o->op->output != NULL && !output_equal (output, o->op->output))
    {
      g_autofree char *what = g_strdup_printf ("applied here the machine answers %s", output);
      search_note (s, o, what);
    }
  else
    {
      done_set (s, i, TRUE);
      found = search_run (s, next);
      done_set (s, i, FALSE);
    }
  s->impl->state_free (next);
  return found;
}

/* Tries @o next without effect: a refusal validate must agree with, or an
 * unknown outcome that did nothing. */
static gboolean
search_try_no_effect (Search *s, guint i, gconstpointer state)
{
  const SpecOp *o = &s->ops[i];

  if (o->kind == KIND_REFUSED)
    {
      g_autofree char *message = NULL;
      if (s->impl->validate (state, o->op->requested, op_payload (o), &message))
        {
          search_note (s, o, "the machine accepts it here, but it was refused");
          return FALSE;
        }
    }
  done_set (s, i, TRUE);
  gboolean found = search_run (s, state);
  done_set (s, i, FALSE);
  return found;
}

/* Has (done, state) been explored?  Adds it if not. */
static gboolean
search_seen (Search *s, gconstpointer state)
{
  g_autoptr(GBytes) snapshot = s->impl->snapshot (state);
  gsize n_bits = (s->n_ops + 7) / 8, size = 0;
  const guint8 *data = g_bytes_get_data (snapshot, &size);
  guint8 *key = g_malloc (n_bits + size);

  memcpy (key, s->done, n_bits);
  if (size > 0)
    memcpy (key + n_bits, data, size);
  GBytes *bytes = g_bytes_new_take (key, n_bits + size);
  if (g_hash_table_contains (s->seen, bytes))
    {
      g_bytes_unref (bytes);
      return TRUE;
    }
  g_hash_table_add (s->seen, bytes);
  s->states++;
  return FALSE;
}

static gboolean
search_run (Search *s, gconstpointer state)
{
  if (s->n_done == s->n_ops)
    return TRUE;
  if (s->over_budget || search_seen (s, state))
    return FALSE;
  if (s->states > s->max_states)
    {
      s->over_budget = TRUE;
      return FALSE;
    }

  /* An op may come next unless another op not yet placed completed
   * before it was invoked. */
  guint64 first_complete = G_MAXUINT64;
  for (guint i = 0; i < s->n_ops; i++)
    if (!done_get (s, i))
      first_complete = MIN (first_complete, s->ops[i].complete_ms);
  for (guint i = 0; i < s->n_ops; i++)
    {
      const SpecOp *o = &s->ops[i];
      if (done_get (s, i) || o->op->invoke_ms > first_complete)
        continue;
      if (o->kind != KIND_REFUSED && search_try_effect (s, i, state))
        return TRUE;
      if (o->kind != KIND_OK && search_try_no_effect (s, i, state))
        return TRUE;
      if (s->over_budget)
        return FALSE;
    }
  return FALSE;
}

/* The ops of one instance the specification judges; the rest are left out. */
static GArray *
machine_ops (GPtrArray *ops)
{
  GArray *kept = g_array_new (FALSE, TRUE, sizeof (SpecOp));

  for (guint i = 0; i < ops->len; i++)
    {
      const DsmHistoryOp *op = ops->pdata[i];
      SpecOp o = { .op = op, .complete_ms = G_MAXUINT64 };
      g_assert (op->op == DSM_OP_TRANSITION);
      if (!op->completed || op->status == DSM_REPLY_UNKNOWN)
        o.kind = KIND_MAYBE;
      else if (op->status == DSM_REPLY_OK)
        {
          o.kind = KIND_OK;
          o.complete_ms = op->complete_ms;
        }
      else if (op->reason == DSM_REJECT_INVALID_TRANSITION)
        {
          o.kind = KIND_REFUSED;
          o.complete_ms = op->complete_ms;
        }
      else
        continue;
      g_array_append_val (kept, o);
    }
  return kept;
}

/* Checks one instance; FALSE with @result filled on a violation. */
static gboolean
check_machine (const char *machine, GPtrArray *ops, const DsmMachineImpl *impl, guint64 max_states,
               DsmLinearizabilityResult *result)
{
  g_autoptr(GArray) kept = machine_ops (ops);
  Search s = {
    .impl = impl,
    .ops = (SpecOp *) (gpointer) kept->data,
    .n_ops = kept->len,
    .done = g_malloc0 ((kept->len + 7) / 8 + 1),
    .seen = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL),
    .max_states = max_states,
    .why = g_string_new (NULL),
  };

  gpointer initial = impl->state_new ();
  gboolean found = search_run (&s, initial);
  impl->state_free (initial);

  result->machines_checked++;
  result->ops_checked += kept->len;
  result->states_explored += s.states;
  gboolean ok = found || s.over_budget;
  if (!found && s.over_budget && !result->inconclusive && result->machine == NULL)
    {
      result->inconclusive = TRUE;
      result->machine = g_strdup (machine);
      result->explanation = g_strdup_printf ("the search passed %" G_GUINT64_FORMAT " states", max_states);
    }
  else if (!ok)
    {
      g_free (result->machine);
      g_free (result->explanation);
      result->machine = g_strdup (machine);
      result->explanation = g_strdup_printf (
        "%s's own apply explains at most %u of its %u operations in a legal order; then none can come next:\n%s",
        impl->name, s.deepest, s.n_ops, s.why->str);
    }
  g_string_free (s.why, TRUE);
  g_hash_table_unref (s.seen);
  g_free (s.done);
  return ok;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

gboolean
dsm_plugin_spec_check (GPtrArray *ops, const DsmMachineImpl *impl, guint64 max_states,
                       DsmLinearizabilityResult *result)
{
  g_return_val_if_fail (ops != NULL && impl != NULL && result != NULL, FALSE);

  g_autoptr(GHashTable) machines = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                          (GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < ops->len; i++)
    {
      const DsmHistoryOp *op = ops->pdata[i];
      if (op->op != DSM_OP_TRANSITION || op->definition == NULL || strcmp (op->definition, impl->name) != 0)
        continue;
      GPtrArray *list = g_hash_table_lookup (machines, op->machine);
      if (list == NULL)
        g_hash_table_insert (machines, op->machine, list = g_ptr_array_new ());
      g_ptr_array_add (list, (gpointer) op);
    }

  /* Machines in name order, so the first violation named is the same
   * whatever order the history came in. */
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, machines);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (names, key);
  g_ptr_array_sort (names, compare_names);
  result->linearizable = TRUE;
  for (guint i = 0; i < names->len && result->linearizable; i++)
    result->linearizable = check_machine (names->pdata[i], g_hash_table_lookup (machines, names->pdata[i]),
                                          impl, max_states > 0 ? max_states : MAX_STATES_DEFAULT, result);
  return result->linearizable;
}
