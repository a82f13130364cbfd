/* check/linearizability.c: is a client history linearizable?  Wing & Gong's
 * search with Lowe's memoization, one machine instance at a time
 * (docs/CHECKERS.md, "Linearizability").
 *
 * Per instance: gather its candidate definitions (check/lin-model.c),
 * classify and resolve its ops (machine_build()), build a search over
 * them (search_new()) and run it (search_run()).  On a violation, a
 * bisection over prefixes finds the first completion that cannot be
 * explained (explain_shortest_prefix()) and explain_violation()
 * describes the search's deepest point there. */
#include "check/linearizability.h"

#include "check/lin-model.h"

#include <stdlib.h>
#include <string.h>

#define MAX_STATES_DEFAULT G_GUINT64_CONSTANT (10000000)
#define EXPLAIN_PATH_MAX 8
#define EXPLAIN_CANDIDATES_MAX 8
#define EXPLAIN_STATES_MIN G_GUINT64_CONSTANT (100000)

/* ---- the ops of one instance ---- */

typedef struct {
  Model *model;
  MachineOp *mops;       /* the kept ops, by invocation */
  guint n_mops;
  guint n_definite;
  guint n_effects;
  gint16 *indices;
} Machine;

static OpKind
op_kind (const DsmHistoryOp *op)
{
  if (op->op == DSM_OP_READ)
    return op->completed && op->status == DSM_REPLY_OK && op->state != NULL ? KIND_READ
                                                                            : KIND_DROPPED;
  if (!op->completed || op->status == DSM_REPLY_UNKNOWN)
    return KIND_UNCERTAIN;
  if (op->status == DSM_REPLY_OK)
    return KIND_OK;
  if (op->reason == DSM_REJECT_INVALID_TRANSITION)
    return KIND_INVALID;
  return KIND_DROPPED;
}

static gint
compare_by_invocation (gconstpointer a, gconstpointer b)
{
  const DsmHistoryOp *x = *(const DsmHistoryOp *const *) a;
  const DsmHistoryOp *y = *(const DsmHistoryOp *const *) b;

  if (x->invoke_ms != y->invoke_ms)
    return x->invoke_ms < y->invoke_ms ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static gint
compare_by_completion (gconstpointer a, gconstpointer b)
{
  const MachineOp *x = *(const MachineOp *const *) a;
  const MachineOp *y = *(const MachineOp *const *) b;

  if (x->op->complete_ms != y->op->complete_ms)
    return x->op->complete_ms < y->op->complete_ms ? -1 : 1;
  return compare_by_invocation (&x->op, &y->op);
}

static void
machine_free (Machine *machine)
{
  g_clear_pointer (&machine->model, dsm_lin_model_free);
  g_free (machine->mops);
  g_free (machine->indices);
  g_free (machine);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Machine, machine_free)

/* Effects are keyed by the MachineOp itself: (definition, from, to,
 * payload, if_revision). */
static guint
effect_hash (gconstpointer p)
{
  const MachineOp *mop = p;
  return g_str_hash (mop->op->requested) * 31u
         + (mop->op->from != NULL ? g_str_hash (mop->op->from) : 7u) * 17u + (guint) mop->def
         + mop->payload * 131u + (guint) mop->op->if_revision * 257u;
}

static gboolean
effect_equal (gconstpointer a, gconstpointer b)
{
  const MachineOp *x = a, *y = b;
  return x->def == y->def && g_strcmp0 (x->op->from, y->op->from) == 0
         && strcmp (x->op->requested, y->op->requested) == 0 && x->payload == y->payload
         && x->op->has_if_revision == y->op->has_if_revision && x->op->if_revision == y->op->if_revision;
}

/* Resolves each kept op's names against every candidate definition once,
 * so the search compares small integers. */
static void
machine_resolve (Machine *machine, DsmConfig *config, GHashTable *effects)
{
  const Model *model = machine->model;
  guint k_max = model->n_defs;

  machine->indices = g_new (gint16, (gsize) machine->n_mops * k_max * 3);
  for (guint m = 0; m < machine->n_mops; m++)
    {
      MachineOp *mop = &machine->mops[m];
      const DsmHistoryOp *op = mop->op;
      gint16 *at = machine->indices + (gsize) m * k_max * 3;

      mop->def = DEF_INSTANCE;
      if (op->definition != NULL)
        {
          const DsmMachineDef *def = dsm_config_find_definition (config, op->definition);

          mop->def = DEF_UNKNOWN;
          for (guint k = 0; k < k_max && def != NULL; k++)
            if (model->defs[k].def == def)
              mop->def = (gint) k;
        }
      mop->to = at;
      mop->from = op->from != NULL ? at + k_max : NULL;
      mop->seen = op->state != NULL ? at + 2 * k_max : NULL;
      for (guint k = 0; k < k_max; k++)
        {
          at[k] = (gint16) dsm_lin_def_state_index (model->defs[k].def, op->requested);
          at[k_max + k] = (gint16) dsm_lin_def_state_index (model->defs[k].def, op->from);
          at[2 * k_max + k] = (gint16) dsm_lin_def_state_index (model->defs[k].def, op->state);
        }
      if (op->op == DSM_OP_TRANSITION)
        {
          /* Ops with the same (definition, from, to) have the same effect. */
          gpointer value;

          if (!g_hash_table_lookup_extended (effects, mop, NULL, &value))
            {
              value = GUINT_TO_POINTER (g_hash_table_size (effects));
              g_hash_table_insert (effects, mop, value);
            }
          mop->effect = GPOINTER_TO_UINT (value);
        }
    }
}

/* g_ptr_array_sort() (stable), but an array already in order is only
 * looked at: a machine's ops usually come in the order they were
 * invoked, and most complete in that order too. */
static void
sort_unless_sorted (GPtrArray *array, GCompareFunc compare)
{
  for (guint i = 1; i < array->len; i++)
    if (compare (&array->pdata[i - 1], &array->pdata[i]) > 0)
      {
        g_ptr_array_sort (array, compare);
        return;
      }
}

/* @ops: this instance's ops, in any order. */
static Machine *
machine_build (DsmConfig *config, GPtrArray *ops)
{
  g_autoptr(Machine) machine = g_new0 (Machine, 1);
  g_autoptr(GPtrArray) sorted = g_ptr_array_copy (ops, NULL, NULL);
  g_autoptr(GPtrArray) definite = g_ptr_array_new ();
  g_autoptr(GHashTable) effects = g_hash_table_new (effect_hash, effect_equal);

  machine->model = dsm_lin_model_new (config, ops);
  sort_unless_sorted (sorted, compare_by_invocation);
  machine->mops = g_new (MachineOp, MAX (sorted->len, 1));
  for (guint i = 0; i < sorted->len; i++)
    {
      const DsmHistoryOp *op = g_ptr_array_index (sorted, i);
      OpKind kind = op_kind (op);

      if (kind == KIND_DROPPED)
        continue;
      /* Every field set (machine->mops is not zeroed). */
      machine->mops[machine->n_mops++] = (MachineOp) { .op = op, .kind = kind };
    }
  dsm_lin_model_resolve (machine->model, machine->mops, machine->n_mops);
  machine_resolve (machine, config, effects);
  machine->n_effects = g_hash_table_size (effects);
  for (guint m = 0; m < machine->n_mops; m++)
    if (dsm_lin_op_definite (machine->mops[m].kind))
      g_ptr_array_add (definite, &machine->mops[m]);
  sort_unless_sorted (definite, compare_by_completion);
  for (guint r = 0; r < definite->len; r++)
    ((MachineOp *) g_ptr_array_index (definite, r))->rank = r;
  machine->n_definite = definite->len;
  return g_steal_pointer (&machine);
}

/* ---- one search: a history (or a prefix of it) as a list of events ---- */

typedef struct _Event Event;
struct _Event {
  Event *prev;
  Event *next;
  guint item;
  gboolean is_return;    /* also set on the lists' tails */
  gboolean uncertain;    /* in the uncertain list */
  guint64 time_ms;
};

typedef struct {
  const MachineOp *mop;
  OpKind kind;           /* in this search: a definite kind or KIND_UNCERTAIN */
  gint prev_same;        /* uncertain: the previous uncertain item with its effect, or -1 */
  guint bit;             /* in the bitset of its kind: placed_definite or placed_uncertain */
  guint64 zobrist;       /* definite items */
  Event call;
  Event ret;
} Item;

/* Lowe's cache, with subsumption: for every (set of definite items
 * placed, model slot) reached, the sets of uncertain items that had taken
 * effect there.  A point that reaches a key with a superset of one of
 * them is no better off (uncertain items constrain nothing, so having
 * more of them left is never worse) and is cut. */
typedef struct {
  guint n_words;           /* per definite bitset */
  guint n_variant_words;   /* per uncertain bitset */
  guint64 *keys;           /* n_words per key */
  guint *slots;
  guint64 *hashes;
  guint32 *first_variant;  /* variant + 1, 0 when none */
  gsize n_keys;
  gsize key_capacity;
  guint32 *table;          /* key + 1, 0 when empty; open addressing */
  gsize table_size;        /* a power of two */
  guint64 *variants;       /* n_variant_words per variant */
  guint32 *next_variant;   /* variant + 1, 0 at the end of a key's list */
  gsize n_variants;        /* ever stored: the budget counts these */
  gsize variant_capacity;
} Cache;

typedef struct {
  guint item;
  guint slot;            /* the slot before the item */
  gboolean forced;       /* the only move tried (search_find_observer()) */
} Frame;

typedef enum {
  SEARCH_LINEARIZABLE,
  SEARCH_VIOLATION,
  SEARCH_INCONCLUSIVE,
} SearchOutcome;

typedef struct {
  const Machine *machine;
  Item *items;
  guint n_items;
  guint n_definite;
  guint n_in_flight;       /* definite ops of the history counted uncertain here */
  Event definite_head, definite_tail;  /* calls and returns of definite items */
  Event uncertain_head, uncertain_tail; /* calls of uncertain items */
  guint n_uncertain;
  guint64 *placed_definite;   /* bitsets over item->bit */
  guint64 *placed_uncertain;
  guint64 hash;            /* Zobrist hash of @placed_definite */
  Cache cache;
  guint64 max_states;
  /* The deepest point: most definite items placed. */
  guint best_definite;
  GArray *best_path;       /* guint items */
  guint best_slot;
} Search;

static guint64
splitmix64 (guint64 x)
{
  x += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  x = (x ^ (x >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  x = (x ^ (x >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return x ^ (x >> 31);
}

/* The table starts at twice the search's items (a search of a few dozen
 * ops reaches about as many keys) and doubles as it fills. */
static void
cache_init (Cache *cache, guint n_words, guint n_variant_words, guint n_items)
{
  memset (cache, 0, sizeof *cache);
  cache->n_words = n_words;
  cache->n_variant_words = n_variant_words;
  cache->table_size = 16;
  while (cache->table_size < 1024 && cache->table_size < (gsize) n_items * 2)
    cache->table_size *= 2;
  cache->table = g_new0 (guint32, cache->table_size);
}

static void
cache_clear (Cache *cache)
{
  g_free (cache->keys);
  g_free (cache->slots);
  g_free (cache->hashes);
  g_free (cache->first_variant);
  g_free (cache->table);
  g_free (cache->variants);
  g_free (cache->next_variant);
}

/* Makes room for one more key. */
static void
cache_grow_keys (Cache *cache)
{
  gsize mask;

  g_assert (cache->n_keys < G_MAXUINT32 - 1);
  if (cache->n_keys == cache->key_capacity)
    {
      cache->key_capacity = MAX (cache->key_capacity * 2, 256);
      cache->keys = g_renew (guint64, cache->keys, cache->key_capacity * cache->n_words);
      cache->slots = g_renew (guint, cache->slots, cache->key_capacity);
      cache->hashes = g_renew (guint64, cache->hashes, cache->key_capacity);
      cache->first_variant = g_renew (guint32, cache->first_variant, cache->key_capacity);
    }
  if ((cache->n_keys + 1) * 2 <= cache->table_size)
    return;
  g_free (cache->table);
  cache->table_size *= 2;
  cache->table = g_new0 (guint32, cache->table_size);
  mask = cache->table_size - 1;
  for (gsize e = 0; e < cache->n_keys; e++)
    {
      gsize at = cache->hashes[e] & mask;

      while (cache->table[at] != 0)
        at = (at + 1) & mask;
      cache->table[at] = (guint32) (e + 1);
    }
}

/* Returns: the key (@bits, @slot), added if new. */
static gsize
cache_find_key (Cache *cache, const guint64 *bits, guint slot, guint64 hash)
{
  gsize mask = cache->table_size - 1;
  gsize at = hash & mask;
  gsize e;

  for (; cache->table[at] != 0; at = (at + 1) & mask)
    {
      e = cache->table[at] - 1;
      if (cache->hashes[e] == hash && cache->slots[e] == slot
          && memcmp (cache->keys + e * cache->n_words, bits,
                     cache->n_words * sizeof (guint64)) == 0)
        return e;
    }
  cache_grow_keys (cache);
  e = cache->n_keys++;
  memcpy (cache->keys + e * cache->n_words, bits, cache->n_words * sizeof (guint64));
  cache->slots[e] = slot;
  cache->hashes[e] = hash;
  cache->first_variant[e] = 0;
  mask = cache->table_size - 1;
  for (at = hash & mask; cache->table[at] != 0; at = (at + 1) & mask)
    ;
  cache->table[at] = (guint32) (e + 1);
  return e;
}

static gboolean
bits_subset (const guint64 *a, const guint64 *b, guint n_words)
{
  for (guint w = 0; w < n_words; w++)
    if ((a[w] & ~b[w]) != 0)
      return FALSE;
  return TRUE;
}

/* Returns: TRUE when the point (@bits, @slot, @variant) is new and not
 * subsumed by one already reached (it is then remembered). */
static gboolean
cache_visit (Cache *cache, const guint64 *bits, guint slot, guint64 hash,
             const guint64 *variant)
{
  gsize key = cache_find_key (cache, bits, slot, hash);
  guint32 *link = &cache->first_variant[key];
  guint n_words = cache->n_variant_words;
  gsize v;

  while (*link != 0)
    {
      const guint64 *seen = cache->variants + (gsize) (*link - 1) * n_words;

      if (bits_subset (seen, variant, n_words))
        return FALSE;
      /* The new point subsumes this one: drop it from the list. */
      if (bits_subset (variant, seen, n_words))
        *link = cache->next_variant[*link - 1];
      else
        link = &cache->next_variant[*link - 1];
    }
  g_assert (cache->n_variants < G_MAXUINT32 - 1);
  if (cache->n_variants == cache->variant_capacity)
    {
      cache->variant_capacity = MAX (cache->variant_capacity * 2, 256);
      cache->variants = g_renew (guint64, cache->variants, cache->variant_capacity * n_words);
      cache->next_variant = g_renew (guint32, cache->next_variant, cache->variant_capacity);
    }
  v = cache->n_variants++;
  memcpy (cache->variants + v * n_words, variant, n_words * sizeof (guint64));
  cache->next_variant[v] = cache->first_variant[key];
  cache->first_variant[key] = (guint32) (v + 1);
  return TRUE;
}

/* Appends @e to the list that ends at *@last. */
static void
list_append (Event **last, Event *e)
{
  e->prev = *last;
  (*last)->next = e;
  *last = e;
}

static void
search_add_item (Search *s, const MachineOp *mop, OpKind kind)
{
  Item *item = &s->items[s->n_items];

  /* Every field set (s->items is not zeroed): the events' links by
   * search_new(). */
  *item = (Item) {
    .mop = mop,
    .kind = kind,
    .prev_same = -1,
    .bit = kind == KIND_UNCERTAIN ? s->n_uncertain++ : s->n_definite,
    .call = { .item = s->n_items, .uncertain = kind == KIND_UNCERTAIN, .time_ms = mop->op->invoke_ms },
    .ret = { .item = s->n_items, .is_return = TRUE, .time_ms = mop->op->complete_ms },
  };
  item->zobrist = splitmix64 (item->bit);
  s->n_items++;
  if (kind != KIND_UNCERTAIN)
    s->n_definite++;
  else if (dsm_lin_op_definite (mop->kind))
    s->n_in_flight++;
}

/* The prefix of the history that ends with the completion of definite op
 * number @n_definite (in completion order): those ops stay definite, the
 * other transitions invoked by then are in flight (uncertain), later ops
 * are left out.  @n_definite == machine->n_definite: the whole history. */
static Search *
search_new (const Machine *machine, guint n_definite, guint64 max_states)
{
  Search *s = g_new0 (Search, 1);
  guint64 cut_ms = G_MAXUINT64;
  g_autofree Event **returns = NULL;
  g_autofree gint *last_by_effect = NULL;
  Event *definite_last = &s->definite_head;
  Event *uncertain_last = &s->uncertain_head;
  guint r = 0;

  g_assert (n_definite <= machine->n_definite);
  if (n_definite < machine->n_definite)
    for (guint m = 0; m < machine->n_mops; m++)
      if (dsm_lin_op_definite (machine->mops[m].kind) && machine->mops[m].rank == n_definite - 1)
        cut_ms = machine->mops[m].op->complete_ms;

  s->machine = machine;
  s->max_states = max_states;
  s->items = g_new (Item, MAX (machine->n_mops, 1));
  last_by_effect = g_new (gint, MAX (machine->n_effects, 1));
  for (guint e = 0; e < machine->n_effects; e++)
    last_by_effect[e] = -1;
  for (guint m = 0; m < machine->n_mops; m++)
    {
      const MachineOp *mop = &machine->mops[m];

      if (dsm_lin_op_definite (mop->kind) && mop->rank < n_definite)
        search_add_item (s, mop, mop->kind);
      else if (mop->op->op == DSM_OP_TRANSITION && mop->op->invoke_ms <= cut_ms)
        search_add_item (s, mop, KIND_UNCERTAIN);
      else
        continue;
      /* Items come in invocation order: link each uncertain one to the
       * previous one with the same effect (search_run's symmetry rule). */
      if (s->items[s->n_items - 1].kind == KIND_UNCERTAIN)
        {
          s->items[s->n_items - 1].prev_same = last_by_effect[mop->effect];
          last_by_effect[mop->effect] = (gint) s->n_items - 1;
        }
    }
  /* The events in time order, a call before a return at the same time,
   * ties in item order, without sorting: the items' calls come in item
   * (invocation) order, and the definite items' returns in rank order,
   * which is completion order with ties in invocation order.  So the
   * definite list is a merge of the two; the uncertain one has only
   * calls. */
  returns = g_new (Event *, MAX (s->n_definite, 1));
  for (guint i = 0; i < s->n_items; i++)
    if (s->items[i].kind != KIND_UNCERTAIN)
      {
        g_assert (s->items[i].mop->rank < s->n_definite);
        returns[s->items[i].mop->rank] = &s->items[i].ret;
      }
  for (guint i = 0; i < s->n_items; i++)
    {
      Item *item = &s->items[i];

      if (item->kind == KIND_UNCERTAIN)
        {
          list_append (&uncertain_last, &item->call);
          continue;
        }
      while (r < s->n_definite && returns[r]->time_ms < item->call.time_ms)
        list_append (&definite_last, returns[r++]);
      list_append (&definite_last, &item->call);
    }
  while (r < s->n_definite)
    list_append (&definite_last, returns[r++]);
  s->definite_tail.is_return = TRUE;
  s->definite_tail.time_ms = G_MAXUINT64;
  list_append (&definite_last, &s->definite_tail);
  s->uncertain_head.uncertain = TRUE;
  s->uncertain_tail.is_return = TRUE;
  s->uncertain_tail.uncertain = TRUE;
  s->uncertain_tail.time_ms = G_MAXUINT64;
  list_append (&uncertain_last, &s->uncertain_tail);

  s->placed_definite = g_new0 (guint64, s->n_definite / 64 + 1);
  s->placed_uncertain = g_new0 (guint64, s->n_uncertain / 64 + 1);
  cache_init (&s->cache, s->n_definite / 64 + 1, s->n_uncertain / 64 + 1, s->n_items);
  s->best_path = g_array_new (FALSE, FALSE, sizeof (guint));
  return s;
}

static void
search_free (Search *s)
{
  cache_clear (&s->cache);
  g_free (s->items);
  g_free (s->placed_definite);
  g_free (s->placed_uncertain);
  g_array_unref (s->best_path);
  g_free (s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Search, search_free)

/* ---- the search ---- */

static gboolean
search_is_placed (const Search *s, guint item)
{
  const Item *it = &s->items[item];
  const guint64 *bits = it->kind == KIND_UNCERTAIN ? s->placed_uncertain : s->placed_definite;

  return (bits[it->bit / 64] >> (it->bit % 64)) & 1;
}

static void
search_flip (Search *s, guint item)
{
  const Item *it = &s->items[item];
  guint64 *bits = it->kind == KIND_UNCERTAIN ? s->placed_uncertain : s->placed_definite;

  bits[it->bit / 64] ^= G_GUINT64_CONSTANT (1) << (it->bit % 64);
  if (it->kind != KIND_UNCERTAIN)
    s->hash ^= it->zobrist;
}

static void
search_clear_placed (Search *s)
{
  memset (s->placed_definite, 0, (s->n_definite / 64 + 1) * sizeof (guint64));
  memset (s->placed_uncertain, 0, (s->n_uncertain / 64 + 1) * sizeof (guint64));
  s->hash = 0;
}

static void
event_unlink (Event *e)
{
  e->prev->next = e->next;
  e->next->prev = e->prev;
}

/* Dancing links: undone in exactly the reverse order. */
static void
event_relink (Event *e)
{
  e->prev->next = e;
  e->next->prev = e;
}

static void
search_lift (Search *s, guint item)
{
  event_unlink (&s->items[item].call);
  if (s->items[item].kind != KIND_UNCERTAIN)
    event_unlink (&s->items[item].ret);
}

static void
search_unlift (Search *s, guint item)
{
  if (s->items[item].kind != KIND_UNCERTAIN)
    event_relink (&s->items[item].ret);
  event_relink (&s->items[item].call);
}

/* The first completion among the definite items not yet placed: an item
 * invoked after it cannot go next. */
static guint64
search_window_end (const Search *s)
{
  const Event *e = s->definite_head.next;

  while (!e->is_return)
    e = e->next;
  return e->time_ms;
}

/* Tries to place @item next from @slot: TRUE when it can go and the
 * point it leads to is new (cache_visit()). */
static gboolean
search_try (Search *s, guint item, guint slot, guint *next)
{
  const Item *it = &s->items[item];

  /* Symmetry: uncertain ops with one effect are interchangeable once
   * invoked, so they take effect in invocation order. */
  if (it->prev_same >= 0 && !search_is_placed (s, (guint) it->prev_same))
    return FALSE;
  if (!dsm_lin_model_step (s->machine->model, it->mop, it->kind, slot, next, NULL))
    return FALSE;
  search_flip (s, item);
  if (cache_visit (&s->cache, s->placed_definite, *next,
                   s->hash ^ splitmix64 (G_GUINT64_CONSTANT (0x5107) << 32 | *next),
                   s->placed_uncertain))
    return TRUE;
  search_flip (s, item);
  return FALSE;
}

/* An op that changes nothing (a read, an invalid_transition rejection)
 * and fits now may as well go now: an order that places it later stays
 * legal with it moved here, since every op that had to precede it is
 * placed and it leaves the state as it was.  So when one fits, it is the
 * only move tried: the point fails if it does. */
static const Event *
search_find_observer (const Search *s, guint slot)
{
  for (const Event *e = s->definite_head.next; !e->is_return; e = e->next)
    {
      const Item *item = &s->items[e->item];
      guint next;

      if ((item->kind == KIND_READ || item->kind == KIND_INVALID)
          && dsm_lin_model_step (s->machine->model, item->mop, item->kind, slot, &next, NULL))
        return e;
    }
  return NULL;
}

/* Depth-first: at each point, an observer that fits (above), else the
 * definite ops that may go next (those invoked before the first pending
 * completion), then the uncertain ones; place the first that fits and
 * start over; when none fits, take back the last op placed and try the
 * ones after it. */
static SearchOutcome
search_run (Search *s)
{
  g_autoptr(GArray) stack = g_array_new (FALSE, FALSE, sizeof (Frame));
  const Event *entry = NULL;
  guint64 window_end = 0;
  guint slot = SLOT_ABSENT;
  guint n_placed_definite = 0;
  guint best_shared = 0;       /* leading frames of @stack equal to s->best_path */
  gboolean fresh = TRUE;

  s->best_slot = SLOT_ABSENT;
  while (n_placed_definite < s->n_definite)
    {
      const Event *candidate = NULL;
      gboolean forced = FALSE;
      guint next;

      if (fresh)
        {
          fresh = FALSE;
          entry = s->definite_head.next;
          candidate = search_find_observer (s, slot);
          forced = candidate != NULL;
        }
      if (candidate == NULL && !entry->is_return
          && (!entry->uncertain || entry->time_ms <= window_end))
        {
          candidate = entry;
          entry = entry->next;
        }
      else if (candidate == NULL && !entry->uncertain)
        {
          /* The definite candidates are done: on to the uncertain ones. */
          window_end = entry->time_ms;
          entry = s->uncertain_head.next;
          continue;
        }

      if (candidate != NULL && search_try (s, candidate->item, slot, &next))
        {
          Frame frame = { candidate->item, slot, forced };

          if (s->cache.n_variants > s->max_states)
            return SEARCH_INCONCLUSIVE;
          g_array_append_val (stack, frame);
          search_lift (s, candidate->item);
          slot = next;
          fresh = TRUE;
          if (!candidate->uncertain && ++n_placed_definite > s->best_definite)
            {
              s->best_definite = n_placed_definite;
              s->best_slot = slot;
              g_array_set_size (s->best_path, best_shared);
              for (guint i = best_shared; i < stack->len; i++)
                g_array_append_val (s->best_path, g_array_index (stack, Frame, i).item);
              best_shared = stack->len;
            }
          continue;
        }
      if (candidate != NULL && !forced)
        continue;

      /* This point fails: take back moves until one has siblings left. */
      for (;;)
        {
          Frame frame;
          const Item *item;

          if (stack->len == 0)
            return SEARCH_VIOLATION;
          frame = g_array_index (stack, Frame, stack->len - 1);
          item = &s->items[frame.item];
          g_array_set_size (stack, stack->len - 1);
          best_shared = MIN (best_shared, stack->len);
          search_unlift (s, frame.item);
          search_flip (s, frame.item);
          slot = frame.slot;
          if (item->kind != KIND_UNCERTAIN)
            n_placed_definite--;
          if (frame.forced)
            continue;
          if (item->kind == KIND_UNCERTAIN)
            window_end = search_window_end (s);
          entry = item->call.next;
          break;
        }
    }
  return SEARCH_LINEARIZABLE;
}

/* ---- explanations ---- */

/* The search's deepest point: the longest order found, then why none of
 * the ops that could go next fits there. */
static void
explain_deepest (GString *out, Search *s)
{
  Model *model = s->machine->model;
  guint n_path = s->best_path->len;
  guint n_shown = 0;
  guint slot = SLOT_ABSENT;
  guint64 window_end;

  search_clear_placed (s);
  if (n_path > 0)
    g_string_append_printf (out, "The longest legal order found places %u of them%s:\n",
                            s->best_definite,
                            n_path > EXPLAIN_PATH_MAX ? " (its end shown)" : "");
  for (guint i = 0; i < n_path; i++)
    {
      guint item = g_array_index (s->best_path, guint, i);
      guint next = slot;
      gboolean fits = dsm_lin_model_step (model, s->items[item].mop, s->items[item].kind, slot, &next, NULL);

      g_assert (fits);
      search_flip (s, item);
      slot = next;
      if (i + EXPLAIN_PATH_MAX < n_path)
        continue;
      g_string_append (out, "  ");
      dsm_history_op_describe (out, s->items[item].mop->op);
      g_string_append (out, s->items[item].kind == KIND_UNCERTAIN ? " (took effect) => " : " => ");
      dsm_lin_model_append_state (out, model, slot);
      g_string_append_c (out, '\n');
    }
  g_assert (slot == s->best_slot);

  window_end = G_MAXUINT64;
  for (guint i = 0; i < s->n_items; i++)
    if (s->items[i].kind != KIND_UNCERTAIN && !search_is_placed (s, i))
      window_end = MIN (window_end, s->items[i].ret.time_ms);
  g_string_append (out, n_path > 0 ? "Then the state is " : "No legal order can start: the state is ");
  dsm_lin_model_append_state (out, model, slot);
  g_string_append_printf (out, " and no operation that may come %s fits:\n",
                          n_path > 0 ? "next" : "first");
  for (guint i = 0; i < s->n_items; i++)
    {
      const Item *item = &s->items[i];
      guint next;

      if (item->kind == KIND_UNCERTAIN || search_is_placed (s, i)
          || item->call.time_ms > window_end)
        continue;
      if (n_shown++ == EXPLAIN_CANDIDATES_MAX)
        {
          g_string_append (out, "  ...\n");
          break;
        }
      g_string_append (out, "  ");
      dsm_history_op_describe (out, item->mop->op);
      g_string_append (out, ": ");
      if (dsm_lin_model_step (model, item->mop, item->kind, slot, &next, out))
        g_string_append (out, "it fits here, but nothing can follow it");
      g_string_append_c (out, '\n');
    }
}

/* @s failed: it covers the history up to the completion of @culprit. */
static char *
explain_violation (Search *s, const MachineOp *culprit, gboolean culprit_is_first)
{
  GString *out = g_string_new (NULL);
  const Model *model = s->machine->model;

  g_string_append_printf (out, "no order of its operations is legal for definition \"%s\"",
                          dsm_machine_def_get_name (model->defs[0].def));
  for (guint k = 1; k < model->n_defs; k++)
    g_string_append_printf (out, "%s\"%s\"", k + 1 == model->n_defs ? " or " : ", ",
                            dsm_machine_def_get_name (model->defs[k].def));
  g_string_append_printf (out, ".\n%s ", culprit_is_first ? "The first reply that cannot be "
                                                          "explained is"
                                                          : "The history up to");
  dsm_history_op_describe (out, culprit->op);
  g_string_append_printf (out, "%s\nBy then %u %s completed",
                          culprit_is_first ? "." : " already has no legal order.",
                          s->n_definite, s->n_definite == 1 ? "operation had" : "operations had");
  if (s->n_in_flight > 0)
    g_string_append_printf (out, " (%u more %s in flight)", s->n_in_flight,
                            s->n_in_flight == 1 ? "was" : "were");
  g_string_append (out, ". ");
  explain_deepest (out, s);
  return g_string_free (out, FALSE);
}

/* A reply naming a state no candidate definition has fails without a
 * search. */
static char *
explain_impossible_state (const Machine *machine)
{
  for (guint m = 0; m < machine->n_mops; m++)
    {
      const MachineOp *mop = &machine->mops[m];
      gboolean exists = FALSE;
      GString *out;

      if (!dsm_lin_op_definite (mop->kind) || mop->seen == NULL)
        continue;
      for (guint k = 0; k < machine->model->n_defs; k++)
        exists = exists || mop->seen[k] >= 0;
      if (exists)
        continue;
      out = g_string_new (NULL);
      dsm_history_op_describe (out, mop->op);
      g_string_append_printf (out, ": \"%s\" is not a state of \"%s\"", mop->op->state,
                              dsm_machine_def_get_name (machine->model->defs[0].def));
      for (guint k = 1; k < machine->model->n_defs; k++)
        g_string_append_printf (out, " or \"%s\"",
                                dsm_machine_def_get_name (machine->model->defs[k].def));
      return g_string_free (out, FALSE);
    }
  return NULL;
}

static const MachineOp *
machine_find_rank (const Machine *machine, guint rank)
{
  for (guint m = 0; m < machine->n_mops; m++)
    if (dsm_lin_op_definite (machine->mops[m].kind) && machine->mops[m].rank == rank)
      return &machine->mops[m];
  g_assert_not_reached ();
}

/* @whole (taken) failed on the whole history: find the shortest failing
 * prefix (longer prefixes inherit a failure, so bisect) and explain it.
 * A failing probe costs about as much as @whole did, so the bisection
 * gets twice @whole's states (at least EXPLAIN_STATES_MIN); past that it
 * explains the shortest failing prefix it found. */
static char *
explain_shortest_prefix (const Machine *machine, Search *whole, guint64 max_states,
                         guint64 *states)
{
  guint lo = 0;                      /* passes (the empty prefix) */
  guint hi = machine->n_definite;    /* fails */
  guint64 budget = MAX (2 * (guint64) whole->cache.n_variants, EXPLAIN_STATES_MIN);
  g_autoptr(Search) failing = whole;

  while (hi - lo > 1 && budget > 0)
    {
      guint mid = lo + (hi - lo) / 2;
      g_autoptr(Search) s = search_new (machine, mid, MIN (max_states, budget));
      SearchOutcome outcome = search_run (s);

      *states += s->cache.n_variants;
      budget -= MIN (budget, (guint64) s->cache.n_variants);
      if (outcome == SEARCH_INCONCLUSIVE)
        break;
      if (outcome == SEARCH_LINEARIZABLE)
        lo = mid;
      else
        {
          hi = mid;
          g_clear_pointer (&failing, search_free);
          failing = g_steal_pointer (&s);
        }
    }
  g_assert (failing->n_definite == hi);
  return explain_violation (failing, machine_find_rank (machine, hi - 1), hi - lo == 1);
}

/* ---- the public entry point ---- */

void
dsm_linearizability_result_clear (DsmLinearizabilityResult *result)
{
  g_return_if_fail (result != NULL);

  g_clear_pointer (&result->machine, g_free);
  g_clear_pointer (&result->explanation, g_free);
  memset (result, 0, sizeof *result);
}

/* Checks one instance.  Returns FALSE on a violation, with *@explanation. */
static SearchOutcome
check_machine (DsmConfig *config, GPtrArray *ops, guint64 max_states,
               DsmLinearizabilityResult *result, char **explanation)
{
  g_autoptr(Machine) machine = machine_build (config, ops);
  g_autoptr(Search) s = NULL;
  SearchOutcome outcome;

  result->ops_checked += machine->n_mops;
  *explanation = explain_impossible_state (machine);
  if (*explanation != NULL)
    return SEARCH_VIOLATION;
  if (machine->n_definite == 0)
    return SEARCH_LINEARIZABLE;
  s = search_new (machine, machine->n_definite, max_states);
  outcome = search_run (s);
  result->states_explored += s->cache.n_variants;
  if (outcome == SEARCH_INCONCLUSIVE)
    *explanation = g_strdup_printf ("the search passed its budget of %" G_GUINT64_FORMAT
                                    " states over %u operations; no verdict",
                                    max_states, machine->n_mops);
  else if (outcome == SEARCH_VIOLATION)
    *explanation = explain_shortest_prefix (machine, g_steal_pointer (&s), max_states,
                                            &result->states_explored);
  return outcome;
}

/* Checks the instance @name, whose ops are @ops, and folds its verdict
 * into @result: a violation ends the check, the first inconclusive
 * instance is named unless a violation comes after it. */
static void
check_instance (DsmConfig *config, const char *name, GPtrArray *ops, guint64 max_states,
                DsmLinearizabilityResult *result)
{
  g_autofree char *explanation = NULL;
  SearchOutcome outcome = check_machine (config, ops, max_states, result, &explanation);

  result->machines_checked++;
  if (outcome == SEARCH_LINEARIZABLE || (outcome == SEARCH_INCONCLUSIVE && result->inconclusive))
    return;
  /* A violation replaces an earlier inconclusive machine as the one named. */
  g_free (result->machine);
  g_free (result->explanation);
  result->machine = g_strdup (name);
  result->explanation = g_steal_pointer (&explanation);
  if (outcome == SEARCH_INCONCLUSIVE)
    result->inconclusive = TRUE;
  else
    result->linearizable = FALSE;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Is this reply the command's outcome (rather than "nothing happened
 * here" or "unknown")? */
static gboolean
op_is_outcome (const DsmHistoryOp *op)
{
  return op->completed
         && (op->status == DSM_REPLY_OK
             || (op->status == DSM_REPLY_REJECTED && op->reason == DSM_REJECT_INVALID_TRANSITION));
}

static gboolean
op_had_no_effect (const DsmHistoryOp *op)
{
  return op->completed && op->status == DSM_REPLY_REJECTED && !op_is_outcome (op);
}

/* Transitions sent again with the same (client id, seq) are one logical
 * operation: the cluster applies the pair at most once and answers every
 * copy with its first outcome.  The merged operation is invoked with the
 * first copy and completed by the first copy that reported the outcome;
 * with no such copy it stays open (unknown), or had no effect if every
 * copy was refused without one.  Returns the ops to check; merged ones are
 * new and owned by @owned. */
/* Groups transitions by (client id, seq), without formatting a key. */
static guint
retry_hash (gconstpointer p)
{
  const DsmHistoryOp *op = p;
  return dsm_session_hash (op->client_id, op->seq);
}

static gboolean
retry_equal (gconstpointer a, gconstpointer b)
{
  const DsmHistoryOp *x = a, *y = b;
  return x->seq == y->seq && strcmp (x->client_id, y->client_id) == 0;
}

/* Do two transitions of @ops carry one (client id, seq) pair, as
 * merge_retries() would merge?  A set of the pairs, open addressing, at
 * most half full. */
static gboolean
has_retry_copies (GPtrArray *ops)
{
  gsize size = 16;
  g_autofree const DsmHistoryOp **slots = NULL;

  while (size < (gsize) ops->len * 2)
    size *= 2;
  slots = g_new0 (const DsmHistoryOp *, size);
  for (guint i = 0; i < ops->len; i++)
    {
      const DsmHistoryOp *op = g_ptr_array_index (ops, i);
      gsize at;

      if (op->op != DSM_OP_TRANSITION || op->client_id == NULL)
        continue;
      for (at = retry_hash (op) & (size - 1); slots[at] != NULL; at = (at + 1) & (size - 1))
        if (retry_equal (slots[at], op))
          return TRUE;
      slots[at] = op;
    }
  return FALSE;
}

static GPtrArray *
merge_retries (GPtrArray *ops, GPtrArray *owned, char **conflict, const char **conflict_machine)
{
  g_autoptr(GHashTable) counts = g_hash_table_new (retry_hash, retry_equal);
  g_autoptr(GHashTable) groups = g_hash_table_new (retry_hash, retry_equal);
  GPtrArray *out = g_ptr_array_new ();

  /* Most pairs have one copy: only groups of two or more get a merged op. */
  for (guint i = 0; i < ops->len; i++)
    {
      const DsmHistoryOp *op = g_ptr_array_index (ops, i);
      if (op->op == DSM_OP_TRANSITION && op->client_id != NULL)
        g_hash_table_insert (counts, (gpointer) op,
                             GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (counts, op)) + 1));
    }
  for (guint i = 0; i < ops->len; i++)
    {
      const DsmHistoryOp *op = g_ptr_array_index (ops, i);
      if (op->op != DSM_OP_TRANSITION || op->client_id == NULL
          || GPOINTER_TO_UINT (g_hash_table_lookup (counts, op)) < 2)
        {
          g_ptr_array_add (out, (gpointer) op);
          continue;
        }
      DsmHistoryOp *merged = g_hash_table_lookup (groups, op);
      if (merged == NULL)
        {
          merged = dsm_history_op_copy (op);
          g_ptr_array_add (owned, merged);
          g_ptr_array_add (out, merged);
          g_hash_table_add (groups, merged);
          continue;
        }
      if (op_is_outcome (op) && op_is_outcome (merged) && *conflict == NULL
          && (op->status != merged->status || g_strcmp0 (op->state, merged->state) != 0
              || op->index != merged->index)
          && (*conflict_machine = op->machine) != NULL)
        *conflict = g_strdup_printf ("client \"%s\" seq %" G_GUINT64_FORMAT " was answered twice with different "
                                     "outcomes: %s %s at index %" G_GUINT64_FORMAT " (op %" G_GUINT64_FORMAT
                                     "), then %s %s at index %" G_GUINT64_FORMAT " (op %" G_GUINT64_FORMAT ")",
                                     op->client_id, op->seq, dsm_reply_status_to_string (merged->status),
                                     merged->state ? merged->state : "-", merged->index, merged->id,
                                     dsm_reply_status_to_string (op->status), op->state ? op->state : "-",
                                     op->index, op->id);
      merged->invoke_ms = MIN (merged->invoke_ms, op->invoke_ms);
      gboolean take = op_is_outcome (op)
                      && (!op_is_outcome (merged) || op->complete_ms < merged->complete_ms);
      if (!take && op_had_no_effect (merged) && !op_had_no_effect (op))
        take = TRUE; /* an open copy beats "nothing happened" */
      if (take)
        {
          merged->completed = op->completed;
          merged->status = op->status;
          merged->reason = op->reason;
          merged->index = op->index;
          merged->has_revision = op->has_revision;
          merged->revision = op->revision;
          merged->complete_ms = op->complete_ms;
          g_free (merged->state);
          merged->state = g_strdup (op->state);
        }
      if (!op_is_outcome (merged) && !op_had_no_effect (merged))
        merged->completed = FALSE; /* open: it may still take effect */
    }
  return out;
}

gboolean
dsm_linearizability_check (GPtrArray *ops, DsmConfig *config, guint64 max_states,
                           DsmLinearizabilityResult *result)
{
  g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func ((GDestroyNotify) dsm_history_op_free);
  g_autoptr(GPtrArray) all_ops = NULL;
  g_autoptr(GHashTable) by_machine = NULL;
  g_autofree const char **names = NULL;
  guint n_names = 0;

  g_return_val_if_fail (ops != NULL, FALSE);
  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (dsm_config_find_definition (config, NULL) != NULL, FALSE);
  g_return_val_if_fail (result != NULL, FALSE);

  memset (result, 0, sizeof *result);
  result->linearizable = TRUE;
  if (max_states == 0)
    max_states = MAX_STATES_DEFAULT;

  g_autofree char *conflict = NULL;
  const char *conflict_machine = NULL;
  all_ops = merge_retries (ops, owned, &conflict, &conflict_machine);
  ops = all_ops;
  if (conflict != NULL)
    {
      /* At-most-once promises every copy the first outcome. */
      result->linearizable = FALSE;
      result->machine = g_strdup (conflict_machine);
      result->explanation = g_steal_pointer (&conflict);
      return FALSE;
    }

  /* P-compositionality: a history is linearizable exactly when each
   * instance's sub-history is. */
  by_machine = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify) g_ptr_array_unref);
  for (guint i = 0; i < ops->len; i++)
    {
      const DsmHistoryOp *op = g_ptr_array_index (ops, i);
      GPtrArray *list;

      g_return_val_if_fail (op != NULL && op->machine != NULL, FALSE);
      g_return_val_if_fail (op->op != DSM_OP_TRANSITION || op->requested != NULL, FALSE);
      g_return_val_if_fail (!op->completed || op->complete_ms >= op->invoke_ms, FALSE);
      list = g_hash_table_lookup (by_machine, op->machine);
      if (list == NULL)
        {
          list = g_ptr_array_new ();
          g_hash_table_insert (by_machine, op->machine, list);
        }
      g_ptr_array_add (list, (gpointer) op);
    }
  names = (const char **) g_hash_table_get_keys_as_array (by_machine, &n_names);
  qsort (names, n_names, sizeof *names, compare_names);

  for (guint i = 0; i < n_names && result->linearizable; i++)
    check_instance (config, names[i], g_hash_table_lookup (by_machine, names[i]), max_states, result);
  return result->linearizable;
}

gboolean
dsm_linearizability_check_each (const char *const *machines, guint n_machines, DsmLinearizabilityOpsFunc get_ops,
                                gpointer user_data, DsmConfig *config, guint64 max_states,
                                DsmLinearizabilityResult *result)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new ();

  g_return_val_if_fail (machines != NULL || n_machines == 0, FALSE);
  g_return_val_if_fail (get_ops != NULL, FALSE);
  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (dsm_config_find_definition (config, NULL) != NULL, FALSE);
  g_return_val_if_fail (result != NULL, FALSE);

  memset (result, 0, sizeof *result);
  result->linearizable = TRUE;
  if (max_states == 0)
    max_states = MAX_STATES_DEFAULT;

  for (guint i = 0; i < n_machines && result->linearizable; i++)
    {
      g_ptr_array_set_size (ops, 0);
      get_ops (machines[i], ops, user_data);
      g_return_val_if_fail (i == 0 || strcmp (machines[i - 1], machines[i]) < 0, FALSE);
      for (guint j = 0; j < ops->len; j++)
        {
          const DsmHistoryOp *op = g_ptr_array_index (ops, j);
          g_return_val_if_fail (op != NULL && op->machine != NULL && strcmp (op->machine, machines[i]) == 0, FALSE);
          g_return_val_if_fail (op->op != DSM_OP_TRANSITION || op->requested != NULL, FALSE);
          g_return_val_if_fail (!op->completed || op->complete_ms >= op->invoke_ms, FALSE);
        }
      /* Nothing to merge: the caller's promise, checked here within the
       * instance (copies on two instances would be merged across them by
       * dsm_linearizability_check()). */
      g_return_val_if_fail (!has_retry_copies (ops), FALSE);
      check_instance (config, machines[i], ops, max_states, result);
    }
  return result->linearizable;
}
