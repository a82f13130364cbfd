/* scenario/scenario-attack.c: the "attack" steps of a scenario file (forge,
 * replay, spoof) and the message templates they inject (docs/SCENARIOS.md,
 * "Attacks"); the simulator's attacker (sim/attacker.c) runs them. */
#include "scenario/scenario-private.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"

/* Most frames one replay step re-injects. */
#define ATTACK_REPLAY_COUNT_MAX 1000

/* Fields of a template counted from the receiver's state when written
 * "+N" or "-N": its epoch, its last log index, the epoch of that entry. */
static const char *const epoch_fields[] = { "epoch", NULL };
static const char *const index_fields[] = { "prev_index", "commit_index", "last_index",
                                            "match_index", "hint_index", "index", NULL };
static const char *const last_epoch_fields[] = { "prev_epoch", "last_epoch", "hint_epoch", NULL };

static gboolean
field_in (const char *name, const char *const *fields)
{
  for (guint i = 0; fields[i] != NULL; i++)
    if (strcmp (name, fields[i]) == 0)
      return TRUE;
  return FALSE;
}

/* Replaces a "+N" or "-N" member of @object by @base plus N. */
static gboolean
attack_resolve_member (JsonObject *object, const char *name, guint64 base, const char *path,
                       GError **error)
{
  g_autofree char *field = path != NULL ? g_strdup_printf ("%s.%s", path, name) : g_strdup (name);
  JsonNode *member = json_object_get_member (object, name);
  const char *text;
  char *end = NULL;

  if (!JSON_NODE_HOLDS_VALUE (member) || json_node_get_value_type (member) != G_TYPE_STRING)
    return TRUE; /* a plain number, or what the codec will name as wrong */
  text = json_node_get_string (member);
  if ((text[0] != '+' && text[0] != '-') || !g_ascii_isdigit (text[1]))
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_TYPE,
                   "%s: expected a number or \"+N\" / \"-N\" (counted from the receiver's "
                   "state), found \"%s\"", field, text);
      return FALSE;
    }
  guint64 n = g_ascii_strtoull (text + 1, &end, 10);
  if (*end != '\0' || n > G_MAXINT32)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_RANGE,
                   "%s: \"%s\" is not \"+N\" or \"-N\" with N up to %d", field, text,
                   G_MAXINT32);
      return FALSE;
    }
  if (text[0] == '-' && n > base)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_RANGE,
                   "%s: \"%s\" from %" G_GUINT64_FORMAT " is below 0", field, text, base);
      return FALSE;
    }
  json_object_set_int_member (object, name, (gint64) (text[0] == '-' ? base - n : base + n));
  return TRUE;
}

static gboolean
attack_resolve_object (JsonObject *object, const DsmAttackBase *base, gboolean entry,
                       const char *path, GError **error)
{
  g_autoptr(GList) names = json_object_get_members (object);

  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *name = l->data;
      gboolean ok = TRUE;

      /* In an entry "epoch" is the entry's, counted from the receiver's
       * epoch like the message's: "+100" appends at a forged epoch. */
      if (field_in (name, epoch_fields))
        ok = attack_resolve_member (object, name, base->epoch, path, error);
      else if (field_in (name, index_fields))
        ok = attack_resolve_member (object, name, base->last_index, path, error);
      else if (!entry && field_in (name, last_epoch_fields))
        ok = attack_resolve_member (object, name, base->last_epoch, path, error);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

DsmMessage *
dsm_scenario_attack_message (const char *template_json, const DsmAttackBase *base,
                             DsmNodeId from, DsmNodeId to, GError **error)
{
  g_return_val_if_fail (template_json != NULL, NULL);
  g_return_val_if_fail (base != NULL, NULL);

  g_autoptr(JsonNode) root = json_from_string (template_json, error);
  if (root == NULL)
    return NULL;
  g_assert (JSON_NODE_HOLDS_OBJECT (root)); /* the reader checked it */
  JsonObject *object = json_node_get_object (root);
  if (!json_object_has_member (object, "from"))
    json_object_set_int_member (object, "from", from);
  if (!json_object_has_member (object, "to"))
    json_object_set_int_member (object, "to", to);
  if (!attack_resolve_object (object, base, FALSE, NULL, error))
    return NULL;
  JsonNode *entries = json_object_get_member (object, "entries");
  if (entries != NULL && JSON_NODE_HOLDS_ARRAY (entries))
    {
      JsonArray *array = json_node_get_array (entries);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *item = json_array_get_element (array, i);
          g_autofree char *path = g_strdup_printf ("entries[%u]", i);
          if (JSON_NODE_HOLDS_OBJECT (item)
              && !attack_resolve_object (json_node_get_object (item), base, TRUE, path, error))
            return NULL;
        }
    }
  return dsm_codec_message_from_json (root, error);
}

/* ---- reading the steps ---- */

/* The template must make a message the codec takes: tried against a
 * receiver at epoch 2000 whose 1000 entries end at epoch 1000, so a
 * typo is the file's error; against a real receiver a template may still
 * fail (the trace says so). */
static gboolean
read_message (const char *where, JsonObject *object, DsmStep *step, GError **error)
{
  const DsmAttackBase probe = { 2000, 1000, 1000 };
  JsonNode *member = json_object_get_member (object, "message");
  g_autofree char *path = dsm_scenario_json_path (where, "message");
  GError *local_error = NULL;

  if (member == NULL)
    return dsm_scenario_json_missing (where, "message", "a message object", error);
  if (dsm_scenario_json_object (member, path, error) == NULL)
    return FALSE;
  step->message = json_to_string (member, FALSE);
  g_autoptr(DsmMessage) msg = dsm_scenario_attack_message (step->message, &probe, 1, 2, &local_error);
  if (msg != NULL)
    return TRUE;
  g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID, "%s: %s", path,
               local_error->message);
  g_error_free (local_error);
  return FALSE;
}

static gboolean
read_forge (const char *where, guint max_id, JsonObject *object, DsmStep *step, GError **error)
{
  if (!dsm_scenario_json_target (object, where, "to", TRUE, DSM_SELECT_LIVE, max_id, &step->target,
                                 error)
      || !dsm_scenario_json_target (object, where, "as", TRUE, DSM_SELECT_LIVE, max_id,
                                    &step->target_as, error)
      || !read_message (where, object, step, error))
    return FALSE;
  if (step->target.kind == DSM_TARGET_NODE && step->target_as.kind == DSM_TARGET_NODE
      && step->target.id == step->target_as.id)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                   "%s.as: node %u has no link to itself", where, step->target.id);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_replay (const char *where, guint max_id, JsonObject *object, DsmStep *step, GError **error)
{
  guint64 count = 1;

  step->target.kind = DSM_TARGET_ALL;
  if (!dsm_scenario_json_target (object, where, "to", FALSE, DSM_SELECT_LIVE | DSM_SELECT_ALL,
                                 max_id, &step->target, error)
      || !dsm_scenario_json_uint (object, where, "count", FALSE, 1, ATTACK_REPLAY_COUNT_MAX, &count,
                                  error)
      || !dsm_scenario_json_uint (object, where, "window_ms", FALSE, 0, DSM_SCENARIO_MS_MAX,
                                  &step->window_ms, error))
    return FALSE;
  step->count = (guint) count;
  return TRUE;
}

static gboolean
read_spoof (const char *where, guint max_id, JsonObject *object, DsmStep *step, GError **error)
{
  /* A stranger may claim any id: a member's, or one nobody has. */
  return dsm_scenario_json_target (object, where, "to", TRUE, DSM_SELECT_LIVE, max_id,
                                   &step->target, error)
      && dsm_scenario_json_target (object, where, "as", TRUE, DSM_SELECT_LIVE, DSM_NODE_ID_MAX,
                                   &step->target_as, error)
      && dsm_scenario_json_name (object, where, "cluster", FALSE, TRUE, &step->cluster, error)
      && read_message (where, object, step, error);
}

gboolean
dsm_scenario_read_attack (const char *where, guint max_id, JsonObject *object, DsmStep *step,
                          GError **error)
{
  switch (step->kind)
    {
    case DSM_STEP_FORGE:
      return read_forge (where, max_id, object, step, error);
    case DSM_STEP_REPLAY:
      return read_replay (where, max_id, object, step, error);
    case DSM_STEP_SPOOF:
      return read_spoof (where, max_id, object, step, error);
    default:
      g_assert_not_reached ();
    }
}

void
dsm_scenario_build_attack (JsonBuilder *builder, const DsmStep *step,
                           void (*add_target) (JsonBuilder *, const char *, const DsmTarget *))
{
  switch (step->kind)
    {
    case DSM_STEP_FORGE:
    case DSM_STEP_SPOOF:
      {
        add_target (builder, "to", &step->target);
        add_target (builder, "as", &step->target_as);
        if (step->kind == DSM_STEP_SPOOF)
          {
            json_builder_set_member_name (builder, "cluster");
            if (step->cluster != NULL)
              json_builder_add_string_value (builder, step->cluster);
            else
              json_builder_add_null_value (builder);
          }
        g_autoptr(JsonNode) message = json_from_string (step->message, NULL);
        g_assert (message != NULL); /* read_message() parsed it */
        json_builder_set_member_name (builder, "message");
        json_builder_add_value (builder, g_steal_pointer (&message));
        break;
      }
    case DSM_STEP_REPLAY:
      add_target (builder, "to", &step->target);
      json_builder_set_member_name (builder, "count");
      json_builder_add_int_value (builder, step->count);
      json_builder_set_member_name (builder, "window_ms");
      json_builder_add_int_value (builder, (gint64) step->window_ms);
      break;
    default:
      g_assert_not_reached ();
    }
}
