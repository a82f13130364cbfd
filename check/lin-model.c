/* check/lin-model.c: the linearizability checker's model of one machine
 * instance: its state in one candidate definition, its revision and its
 * data, judged op by op (docs/CHECKERS.md, "The sequential specification").
 * Independent of core/store.c: definitions from the config, its own merge. */
#include "check/lin-model.h"

#include <string.h>

#include "payload.h"

gint
dsm_lin_def_state_index (const DsmMachineDef *def, const char *state)
{
  if (state == NULL)
    return -1;
  for (guint i = 0; i < dsm_machine_def_get_n_states (def); i++)
    if (strcmp (dsm_machine_def_get_state (def, i), state) == 0)
      return (gint) i;
  return -1;
}

static void
model_add_def (Model *model, const DsmMachineDef *def)
{
  ModelDef *d;

  for (guint k = 0; k < model->n_defs; k++)
    if (model->defs[k].def == def)
      return;
  model->defs = g_renew (ModelDef, model->defs, model->n_defs + 1);
  d = &model->defs[model->n_defs++];
  memset (d, 0, sizeof *d);
  d->def = def;
  d->n_states = dsm_machine_def_get_n_states (def);
  d->initial = (guint) dsm_lin_def_state_index (def, dsm_machine_def_get_initial (def));
  for (guint i = 0; i < d->n_states; i++)
    for (guint j = 0; j < d->n_states; j++)
      if (dsm_machine_def_allows (def, dsm_machine_def_get_state (def, i),
                                  dsm_machine_def_get_state (def, j)))
        d->allows[i] |= G_GUINT64_CONSTANT (1) << j;
}

static guint
state_hash (gconstpointer p)
{
  const ModelState *s = p;
  return (guint) (s->slot * 2654435761u) ^ (guint) (s->revision * 40503u) ^ (s->data * 97u);
}

static gboolean
state_equal (gconstpointer a, gconstpointer b)
{
  const ModelState *x = a, *y = b;
  return x->slot == y->slot && x->revision == y->revision && x->data == y->data;
}

/* Data id for @text (taken), whose object is @node (taken). */
static guint
model_intern_data (Model *model, char *text, JsonNode *node)
{
  gpointer id = g_hash_table_lookup (model->data_ids, text);

  if (id != NULL)
    {
      g_free (text);
      json_node_unref (node);
      return GPOINTER_TO_UINT (id) - 1;
    }
  g_ptr_array_add (model->data_texts, text);
  g_ptr_array_add (model->data_nodes, node);
  g_hash_table_insert (model->data_ids, text, GUINT_TO_POINTER (model->data_texts->len));
  g_assert (model->data_texts->len < DATA_BAD);
  return model->data_texts->len - 1;
}

/* The state id of (@slot, @revision, @data): the slot itself when it
 * carries neither. */
static guint
model_intern_state (Model *model, guint slot, guint64 revision, guint data)
{
  ModelState key = { .slot = slot, .data = data, .revision = revision };
  gpointer id;

  g_assert (slot < model->n_slots);
  if (revision == 0 && data == 0)
    return slot;
  id = g_hash_table_lookup (model->state_ids, &key);
  if (id != NULL)
    return GPOINTER_TO_UINT (id) - 1;
  g_array_append_val (model->states, key);
  g_hash_table_insert (model->state_ids, g_memdup2 (&key, sizeof key), GUINT_TO_POINTER (model->states->len));
  return model->states->len - 1;
}

Model *
dsm_lin_model_new (DsmConfig *config, GPtrArray *ops)
{
  Model *model = g_new0 (Model, 1);
  guint slot = 1;

  model_add_def (model, dsm_config_find_definition (config, NULL));
  for (guint i = 0; i < ops->len; i++)
    {
      const DsmHistoryOp *op = g_ptr_array_index (ops, i);
      const DsmMachineDef *def = op->definition != NULL
                                     ? dsm_config_find_definition (config, op->definition)
                                     : NULL;
      if (def != NULL)
        model_add_def (model, def);
    }
  for (guint k = 0; k < model->n_defs; k++)
    {
      model->defs[k].base = slot;
      slot += model->defs[k].n_states;
    }
  model->n_slots = slot;
  model->slot_def = g_new0 (guint, slot);
  model->slot_state = g_new0 (guint, slot);
  model->states = g_array_sized_new (FALSE, TRUE, sizeof (ModelState), slot);
  for (guint s = 0; s < slot; s++)
    {
      ModelState plain = { .slot = s };
      g_array_append_val (model->states, plain);
    }
  for (guint k = 0; k < model->n_defs; k++)
    for (guint i = 0; i < model->defs[k].n_states; i++)
      {
        model->slot_def[model->defs[k].base + i] = k;
        model->slot_state[model->defs[k].base + i] = i;
      }
  model->state_ids = g_hash_table_new_full (state_hash, state_equal, g_free, NULL);
  model->known_revisions = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  model->data_texts = g_ptr_array_new_with_free_func (g_free);
  model->data_nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  model->data_ids = g_hash_table_new (g_str_hash, g_str_equal);
  model->payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  model->merges = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  model_intern_data (model, g_strdup ("{}"), json_node_init_object (json_node_alloc (), json_object_new ()));
  return model;
}

void
dsm_lin_model_free (Model *model)
{
  if (model == NULL)
    return;
  g_free (model->defs);
  g_free (model->slot_def);
  g_free (model->slot_state);
  g_array_unref (model->states);
  g_hash_table_unref (model->state_ids);
  g_hash_table_unref (model->known_revisions);
  g_hash_table_unref (model->data_ids);
  g_ptr_array_unref (model->data_texts);
  g_ptr_array_unref (model->data_nodes);
  g_ptr_array_unref (model->payloads);
  g_hash_table_unref (model->merges);
  g_free (model);
}

/* A reported data text as a data id: DATA_BAD when it is not an object. */
static guint
resolve_data (Model *model, const char *text)
{
  JsonNode *node;

  if (strcmp (text, "{}") == 0)
    return 0;
  node = dsm_payload_parse (text, "data", &dsm_payload_data_limits, NULL);
  if (node == NULL)
    return DATA_BAD;
  return model_intern_data (model, dsm_payload_to_text (node), node);
}

void
dsm_lin_model_resolve (Model *model, MachineOp *mops, guint n_mops)
{
  g_autoptr(GHashTable) payload_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint m = 0; m < n_mops; m++)
    model->tracks_revision = model->tracks_revision || mops[m].op->has_if_revision;
  for (guint m = 0; m < n_mops; m++)
    {
      MachineOp *mop = &mops[m];
      const DsmHistoryOp *op = mop->op;

      /* Only a model that tracks revisions asks (revision_matches()). */
      if (model->tracks_revision && mop->kind == KIND_OK && op->index != 0)
        g_hash_table_add (model->known_revisions, g_memdup2 (&op->index, sizeof op->index));
      mop->seen_data = op->data != NULL && mop->kind == KIND_READ ? resolve_data (model, op->data) : DATA_UNSEEN;
      mop->payload = PAYLOAD_NONE;
      if (op->op != DSM_OP_TRANSITION || op->payload == NULL)
        continue;
      /* Ops with the same canonical payload share its id (and merges). */
      JsonNode *node = dsm_payload_parse (op->payload, "payload", &dsm_payload_ceilings, NULL);
      if (node == NULL)
        {
          mop->payload = PAYLOAD_BAD;
          continue;
        }
      char *text = dsm_payload_to_text (node);
      gpointer id = g_hash_table_lookup (payload_ids, text);
      if (id == NULL)
        {
          g_ptr_array_add (model->payloads, node);
          id = GUINT_TO_POINTER (model->payloads->len);
          g_hash_table_insert (payload_ids, text, id);
        }
      else
        {
          json_node_unref (node);
          g_free (text);
        }
      mop->payload = GPOINTER_TO_UINT (id);
      g_assert (mop->payload != PAYLOAD_BAD);
    }
}

/* @payload merged into @data one level deep: a key replaces, null removes
 * (PROTOCOL.md, "Payloads"), written out again here rather than taken from
 * core/payload.c, so a merge bug there shows as a difference. */
static guint
model_merge (Model *model, guint data, guint payload)
{
  guint64 key = (guint64) data << 32 | payload;
  gpointer id = g_hash_table_lookup (model->merges, &key);
  JsonObject *base, *patch, *merged;
  JsonNode *node;
  g_autoptr(GList) members = NULL;

  if (id != NULL)
    return GPOINTER_TO_UINT (id) - 1;
  g_assert (payload != PAYLOAD_NONE && payload != PAYLOAD_BAD);
  base = json_node_get_object (g_ptr_array_index (model->data_nodes, data));
  patch = json_node_get_object (g_ptr_array_index (model->payloads, payload - 1));
  merged = json_object_new ();
  members = json_object_get_members (base);
  for (GList *l = members; l != NULL; l = l->next)
    if (!json_object_has_member (patch, l->data))
      json_object_set_member (merged, l->data, json_node_copy (json_object_get_member (base, l->data)));
  g_clear_pointer (&members, g_list_free);
  members = json_object_get_members (patch);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *value = json_object_get_member (patch, l->data);
      if (!JSON_NODE_HOLDS_NULL (value))
        json_object_set_member (merged, l->data, json_node_copy (value));
    }
  node = json_node_init_object (json_node_alloc (), merged);
  json_object_unref (merged);
  guint result = json_object_get_size (merged) == 0 ? 0 : model_intern_data (model, dsm_payload_to_text (node), node);
  if (result == 0)
    json_node_unref (node);
  g_hash_table_insert (model->merges, g_memdup2 (&key, sizeof key), GUINT_TO_POINTER (result + 1));
  return result;
}

/* Could the instance's revision @current be @reported?  An unknown one
 * (a write whose index nobody was told) is any revision no known write has. */
static gboolean
revision_matches (const Model *model, guint64 current, guint64 reported)
{
  if (current == reported)
    return TRUE;
  return current == REV_UNKNOWN && reported != 0 && !g_hash_table_contains (model->known_revisions, &reported);
}

static void
append_revision (GString *out, guint64 revision)
{
  if (revision == REV_UNKNOWN)
    g_string_append (out, "an unknown one (a write whose outcome was unknown)");
  else
    g_string_append_printf (out, "%" G_GUINT64_FORMAT, revision);
}

/* What a read or a refusal reports beside the state: the revision, and a
 * read's data. */
static gboolean
step_observes (const Model *model, const MachineOp *mop, const ModelState *cur, GString *why)
{
  const DsmHistoryOp *op = mop->op;

  if (model->tracks_revision && op->has_revision && !revision_matches (model, cur->revision, op->revision))
    {
      if (why != NULL)
        {
          g_string_append_printf (why, "it saw revision %" G_GUINT64_FORMAT ", but the revision was ", op->revision);
          append_revision (why, cur->revision);
        }
      return FALSE;
    }
  if (mop->seen_data == DATA_UNSEEN || mop->seen_data == cur->data)
    return TRUE;
  if (why != NULL && mop->seen_data == DATA_BAD)
    g_string_append_printf (why, "it saw data %s, which is not a JSON object", op->data);
  else if (why != NULL)
    g_string_append_printf (why, "it saw data %s, but the data was %s", op->data,
                            (const char *) g_ptr_array_index (model->data_texts, cur->data));
  return FALSE;
}

static const char *
state_name (const ModelDef *d, gint state)
{
  return dsm_machine_def_get_state (d->def, (guint) state);
}

gboolean
dsm_lin_model_step (Model *model, const MachineOp *mop, OpKind kind, guint state, guint *next, GString *why)
{
  const DsmHistoryOp *op = mop->op;
  const ModelState cur = g_array_index (model->states, ModelState, state);
  guint slot = cur.slot;
  const ModelDef *d;
  gint k = mop->def;
  gint at;
  gboolean legal;

  g_assert (state < model->states->len);
  if (slot != SLOT_ABSENT && k >= 0 && (guint) k != model->slot_def[slot])
    {
      if (why != NULL)
        g_string_append_printf (why, "it names definition \"%s\", but the instance is a \"%s\"",
                                op->definition,
                                dsm_machine_def_get_name (model->defs[model->slot_def[slot]].def));
      return FALSE;
    }
  if (k == DEF_UNKNOWN)
    {
      if (why != NULL)
        g_string_append_printf (why, "it names definition \"%s\", which the config lacks",
                                op->definition);
      return FALSE;
    }
  if (slot != SLOT_ABSENT)
    k = (gint) model->slot_def[slot];
  else if (k == DEF_INSTANCE)
    k = 0;
  d = &model->defs[k];
  at = slot != SLOT_ABSENT ? (gint) model->slot_state[slot] : (gint) d->initial;

  /* A name the definition lacks, or a payload that is no object, would
   * have been a bad_request. */
  if ((op->op == DSM_OP_TRANSITION && mop->to[k] < 0) || (mop->from != NULL && mop->from[k] < 0))
    {
      if (why != NULL)
        g_string_append_printf (why, "\"%s\" is not a state of \"%s\"",
                                mop->from != NULL && mop->from[k] < 0 ? op->from : op->requested,
                                dsm_machine_def_get_name (d->def));
      return FALSE;
    }
  if (mop->payload == PAYLOAD_BAD)
    {
      if (why != NULL)
        g_string_append_printf (why, "its payload %s is not a JSON object", op->payload);
      return FALSE;
    }
  *next = state;
  if (kind == KIND_READ)
    {
      if (mop->seen[k] != at)
        {
          if (why != NULL)
            g_string_append_printf (why, "it saw %s, but the state was %s", op->state, state_name (d, at));
          return FALSE;
        }
      return step_observes (model, mop, &cur, why);
    }

  gboolean revision_ok = !op->has_if_revision || revision_matches (model, cur.revision, op->if_revision);
  legal = (mop->from == NULL || mop->from[k] == at) && revision_ok
          && (d->allows[at] & (G_GUINT64_CONSTANT (1) << mop->to[k])) != 0;
  if (kind == KIND_INVALID)
    {
      /* An unknown revision may or may not be the one asked for. */
      if (legal && !(cur.revision == REV_UNKNOWN && op->has_if_revision))
        {
          if (why != NULL)
            g_string_append_printf (why, "it was rejected, but %s -> %s was legal%s", state_name (d, at),
                                    op->requested, op->has_if_revision ? " at that revision" : "");
          return FALSE;
        }
      if (mop->seen != NULL && mop->seen[k] != at)
        {
          if (why != NULL)
            g_string_append_printf (why, "it reported %s, but the state was %s", op->state, state_name (d, at));
          return FALSE;
        }
      return step_observes (model, mop, &cur, why);
    }

  if (!legal)
    {
      if (why == NULL)
        return FALSE;
      if (mop->from != NULL && mop->from[k] != at)
        g_string_append_printf (why, "its from %s does not match the state %s", op->from, state_name (d, at));
      else if (!revision_ok)
        {
          g_string_append_printf (why, "its if_revision %" G_GUINT64_FORMAT " does not match the revision ",
                                  op->if_revision);
          append_revision (why, cur.revision);
        }
      else
        g_string_append_printf (why, "%s -> %s is not a legal transition", state_name (d, at), op->requested);
      return FALSE;
    }
  if (kind == KIND_OK && mop->seen != NULL && mop->seen[k] != mop->to[k])
    {
      if (why != NULL)
        g_string_append_printf (why, "it reported %s, but %s -> %s leads to %s", op->state,
                                state_name (d, at), op->requested, op->requested);
      return FALSE;
    }
  if (kind == KIND_OK && op->has_revision && op->index != 0 && op->revision != op->index)
    {
      if (why != NULL)
        g_string_append_printf (why, "it reported revision %" G_GUINT64_FORMAT ", but it took effect at index %"
                                G_GUINT64_FORMAT, op->revision, op->index);
      return FALSE;
    }
  guint64 revision = 0;
  if (model->tracks_revision)
    revision = kind == KIND_OK && op->index != 0 ? op->index : REV_UNKNOWN;
  guint data = mop->payload != PAYLOAD_NONE ? model_merge (model, cur.data, mop->payload) : cur.data;
  *next = model_intern_state (model, d->base + (guint) mop->to[k], revision, data);
  return TRUE;
}

void
dsm_lin_model_append_state (GString *out, const Model *model, guint state)
{
  const ModelState *s = &g_array_index (model->states, ModelState, state);
  const ModelDef *d;

  if (s->slot == SLOT_ABSENT)
    {
      if (model->n_defs == 1)
        g_string_append_printf (out, "%s (untouched)", dsm_machine_def_get_initial (model->defs[0].def));
      else
        g_string_append (out, "untouched");
      return;
    }
  d = &model->defs[model->slot_def[s->slot]];
  if (model->n_defs > 1)
    g_string_append_printf (out, "%s:", dsm_machine_def_get_name (d->def));
  g_string_append (out, dsm_machine_def_get_state (d->def, model->slot_state[s->slot]));
  if (s->revision != 0)
    {
      g_string_append (out, " at revision ");
      append_revision (out, s->revision);
    }
  if (s->data != 0)
    g_string_append_printf (out, " with data %s", (const char *) g_ptr_array_index (model->data_texts, s->data));
}
