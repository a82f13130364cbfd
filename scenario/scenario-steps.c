/* scenario/scenario-steps.c: the "steps" of a scenario file: one table row per
 * step kind (its verb, its keys, its reader), so the reader and the typo
 * guard agree on every kind's keys (docs/SCENARIOS.md, "Actions"). */
#include "scenario/scenario-private.h"

#include <string.h>

#include "error.h"
#include "payload.h"

typedef struct {
  const DsmScenario *scenario;
  const char *where;          /* "steps[3]" */
  guint max_id;               /* the config's nodes and one per add_node step */
  GHashTable *defined;        /* definition names earlier define steps introduce */
} StepContext;

typedef gboolean (*StepReadFunc) (const StepContext *ctx, JsonObject *object, DsmStep *step,
                                  GError **error);

typedef struct {
  const char *verb;           /* "do", "await" or "expect" */
  const char *name;           /* the verb's value: "crash" */
  DsmStepKind kind;
  DsmCondition condition;     /* AWAIT and EXPECT */
  const char *keys[11];       /* besides the verb, "at_ms" and "after_ms" */
  StepReadFunc read;
} StepSpec;

/* Node ids a step may name: the bootstrap's, and the fresh ones add_node
 * steps give, in order (docs/SCENARIOS.md, "Membership"). */
static guint
n_nodes (const StepContext *ctx)
{
  return ctx->max_id;
}

/* ---- faults ---- */

static gboolean
read_node (const StepContext *ctx, JsonObject *object, DsmStep *step, DsmSelect allowed,
           GError **error)
{
  return dsm_scenario_json_target (object, ctx->where, "node", TRUE, allowed, n_nodes (ctx),
                                   &step->target, error);
}

static gboolean
read_crash (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return read_node (ctx, object, step, DSM_SELECT_LIVE | DSM_SELECT_ALL, error);
}

/* The leader and the followers are live: only an id or "all" (every
 * crashed node) names a node to restart.  The same for a disk to give
 * room again: the leader is unlikely to be the node whose disk filled. */
static gboolean
read_restart (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return read_node (ctx, object, step, DSM_SELECT_ALL, error);
}

static gboolean
read_isolate (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return read_node (ctx, object, step, DSM_SELECT_LIVE, error);
}

/* One member of a group: a node id, or "leader", "follower" or "random"
 * (resolved when the step runs; docs/SCENARIOS.md, "Node selectors"). */
static gboolean
read_partition_member (const StepContext *ctx, JsonNode *node, const char *path, DsmTarget *out,
                       GError **error)
{
  static const struct {
    const char *word;
    DsmTargetKind kind;
  } words[] = { { "leader", DSM_TARGET_LEADER }, { "follower", DSM_TARGET_FOLLOWER }, { "random", DSM_TARGET_RANDOM } };

  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    {
      const char *text = json_node_get_string (node);
      for (guint w = 0; w < G_N_ELEMENTS (words); w++)
        if (strcmp (text, words[w].word) == 0)
          {
            out->kind = words[w].kind;
            out->id = DSM_NODE_NONE;
            return TRUE;
          }
      g_autofree char *found = dsm_scenario_json_quote (text);
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_UNKNOWN,
                   "%s: expected a node id (1 to %u), \"leader\", \"follower\" or \"random\", found %s", path,
                   n_nodes (ctx), found);
      return FALSE;
    }
  out->kind = DSM_TARGET_NODE;
  return dsm_scenario_json_node_id (node, path, n_nodes (ctx), &out->id, error);
}

static gboolean
read_partition_group (const StepContext *ctx, JsonNode *node, guint index, GArray *group,
                      guint *seen_in, guint *leader_in, GError **error)
{
  g_autofree char *path = g_strdup_printf ("%s.groups[%u]", ctx->where, index);
  JsonArray *array;

  if (!(array = dsm_scenario_json_array (node, path, "an array of node ids", error)))
    return FALSE;
  if (json_array_get_length (array) == 0)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                   "%s: empty group; list at least one node id", path);
      return FALSE;
    }
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *item_path = g_strdup_printf ("%s[%u]", path, i);
      DsmTarget target;

      if (!read_partition_member (ctx, json_array_get_element (array, i), item_path, &target, error))
        return FALSE;
      /* seen_in and leader_in hold group index + 1, 0 for "not yet listed". */
      guint *seen = target.kind == DSM_TARGET_NODE ? &seen_in[target.id]
                    : target.kind == DSM_TARGET_LEADER ? leader_in : NULL;
      if (seen != NULL && *seen != 0)
        {
          g_autofree char *what = target.kind == DSM_TARGET_NODE ? g_strdup_printf ("node %u", target.id)
                                                                 : g_strdup ("\"leader\"");
          g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                       "%s: %s is listed twice (also in groups[%u]); a node is in one "
                       "group", item_path, what, *seen - 1);
          return FALSE;
        }
      if (seen != NULL)
        *seen = index + 1;
      g_array_append_val (group, target);
    }
  return TRUE;
}

/* Groups of ids only become the node ids of every group (the nodes left
 * out one more); groups with a selector stay as written, for the run. */
static gboolean
read_partition (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  g_autofree char *path = dsm_scenario_json_path (ctx->where, "groups");
  g_autofree guint *seen_in = g_new0 (guint, n_nodes (ctx) + 1);
  g_autoptr(GPtrArray) written = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  gboolean selectors = FALSE;
  guint leader_in = 0;
  GArray *rest;
  JsonNode *member;
  JsonArray *array;

  if (!(member = json_object_get_member (object, "groups")))
    return dsm_scenario_json_missing (ctx->where, "groups", "an array of arrays of node ids",
                                      error);
  if (!(array = dsm_scenario_json_array (member, path, "an array of arrays of node ids", error)))
    return FALSE;
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      GArray *group = g_array_new (FALSE, FALSE, sizeof (DsmTarget));

      g_ptr_array_add (written, group);
      if (!read_partition_group (ctx, json_array_get_element (array, i), i, group, seen_in, &leader_in,
                                 error))
        return FALSE;
      for (guint k = 0; k < group->len; k++)
        selectors = selectors || g_array_index (group, DsmTarget, k).kind != DSM_TARGET_NODE;
    }
  if (selectors)
    {
      step->group_targets = g_steal_pointer (&written);
      return TRUE;
    }
  for (guint i = 0; i < written->len; i++)
    {
      const GArray *targets = written->pdata[i];
      GArray *ids = g_array_new (FALSE, FALSE, sizeof (DsmNodeId));
      for (guint k = 0; k < targets->len; k++)
        g_array_append_val (ids, g_array_index (targets, DsmTarget, k).id);
      g_ptr_array_add (groups, ids);
    }
  /* The nodes left out form one more group, so every node is in one. */
  rest = g_array_new (FALSE, FALSE, sizeof (DsmNodeId));
  for (DsmNodeId id = 1; id <= n_nodes (ctx); id++)
    if (seen_in[id] == 0)
      g_array_append_val (rest, id);
  if (rest->len > 0)
    g_ptr_array_add (groups, rest);
  else
    g_array_unref (rest);
  if (groups->len < 2)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                   "%s: one group holding every node cuts nothing; a partition needs two "
                   "groups or more", path);
      return FALSE;
    }
  step->groups = g_steal_pointer (&groups);
  return TRUE;
}

/* "messages": the kinds of peer message a cut drops (all when absent). */
static gboolean
read_cut_messages (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  g_autofree char *path = g_strdup_printf ("%s.messages", ctx->where);
  JsonNode *member = json_object_get_member (object, "messages");
  JsonArray *array;

  step->message_types = 0;
  if (member == NULL)
    return TRUE;
  if (!(array = dsm_scenario_json_array (member, path, "an array of message types", error)))
    return FALSE;
  if (json_array_get_length (array) == 0)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                   "%s: empty; leave \"messages\" out to cut every message", path);
      return FALSE;
    }
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      DsmMessageType type;

      gboolean is_string = JSON_NODE_HOLDS_VALUE (item) && json_node_get_value_type (item) == G_TYPE_STRING;
      if (!is_string || !dsm_message_type_from_string (json_node_get_string (item), &type))
        {
          g_autoptr(GString) known = g_string_new (NULL);
          for (guint t = 0; t < DSM_MSG_N_TYPES; t++)
            g_string_append_printf (known, "%s%s", t > 0 ? ", " : "", dsm_message_type_to_string (t));
          g_set_error (error, DSM_SCENARIO_ERROR, is_string ? DSM_SCENARIO_ERROR_UNKNOWN : DSM_SCENARIO_ERROR_TYPE,
                       "%s[%u]: expected a message type (%s)", path, i, known->str);
          return FALSE;
        }
      if (step->message_types & (1u << type))
        {
          g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID, "%s[%u]: \"%s\" is listed twice",
                       path, i, dsm_message_type_to_string (type));
          return FALSE;
        }
      step->message_types |= 1u << type;
    }
  g_assert (step->message_types != 0);
  return TRUE;
}

static gboolean
read_cut (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  const DsmSelect allowed = DSM_SELECT_LIVE | DSM_SELECT_ALL;

  if (!dsm_scenario_json_target (object, ctx->where, "from", TRUE, allowed, n_nodes (ctx),
                                 &step->target, error)
      || !dsm_scenario_json_target (object, ctx->where, "to", TRUE, allowed, n_nodes (ctx),
                                    &step->target_to, error))
    return FALSE;
  if (step->target.kind == DSM_TARGET_ALL && step->target_to.kind == DSM_TARGET_ALL)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                   "%s.to: \"all\" to \"all\" silences the whole network; use "
                   "{\"do\": \"loss\", \"percent\": 100}", ctx->where);
      return FALSE;
    }
  if (step->target.kind == DSM_TARGET_NODE && step->target_to.kind == DSM_TARGET_NODE
      && step->target.id == step->target_to.id)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                   "%s.to: node %u cannot be cut from itself", ctx->where, step->target.id);
      return FALSE;
    }
  return read_cut_messages (ctx, object, step, error);
}

static gboolean
read_for_ms (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  step->for_ms = 0;
  return dsm_scenario_json_uint (object, ctx->where, "for_ms", FALSE, 0, DSM_SCENARIO_MS_MAX,
                                 &step->for_ms, error);
}

static gboolean
read_percent (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return dsm_scenario_json_uint32 (object, ctx->where, "percent", TRUE, 0, 100, &step->percent,
                                   error)
      && read_for_ms (ctx, object, step, error);
}

static gboolean
read_delay (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return dsm_scenario_json_uint (object, ctx->where, "ms", TRUE, 1, 60000, &step->ms, error)
      && read_for_ms (ctx, object, step, error);
}

static gboolean
read_reorder (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  step->ms = ctx->scenario->network.reorder_ms_max;
  return read_percent (ctx, object, step, error)
      && dsm_scenario_json_uint (object, ctx->where, "ms", FALSE, 0, 60000, &step->ms, error);
}

static gboolean
read_corrupt (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  static const char *const modes[] = { "flip", "truncate", NULL };
  guint mode = DSM_CORRUPT_FLIP;

  if (!read_percent (ctx, object, step, error)
      || !dsm_scenario_json_choice (object, ctx->where, "mode", FALSE, modes, &mode, error))
    return FALSE;
  step->corrupt_mode = (DsmCorruptMode) mode;
  return TRUE;
}

static gboolean
read_disk (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  /* In DsmDiskFault order, after NONE. */
  static const char *const faults[] = { "torn_write", "lost_fsync", "corrupt_record", NULL };
  guint fault = 0;

  if (!read_node (ctx, object, step, DSM_SELECT_LIVE | DSM_SELECT_ALL, error)
      || !dsm_scenario_json_choice (object, ctx->where, "fault", TRUE, faults, &fault, error))
    return FALSE;
  step->disk_fault = (DsmDiskFault) (DSM_DISK_FAULT_TORN_WRITE + fault);
  return TRUE;
}

static gboolean
read_skew (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return read_node (ctx, object, step, DSM_SELECT_LIVE | DSM_SELECT_ALL, error)
      && dsm_scenario_json_double (object, ctx->where, "rate", TRUE, 0.5, 2.0, &step->rate,
                                   error);
}

static gboolean
read_pause (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return read_node (ctx, object, step, DSM_SELECT_LIVE | DSM_SELECT_ALL, error)
      && dsm_scenario_json_uint (object, ctx->where, "ms", TRUE, 1, 600000, &step->ms, error);
}

static gboolean
read_nothing (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return TRUE;
}

/* ---- clients ---- */

/* "expect" and "within_ms": whether the step waits for its reply. */
static gboolean
read_client_reply (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  /* In DsmReplyStatus order. */
  static const char *const statuses[] = { "ok", "rejected", "unknown", NULL };
  guint status = DSM_REPLY_OK;

  G_STATIC_ASSERT (DSM_REPLY_N_STATUSES == 3);
  step->has_expect_reply = json_object_has_member (object, "expect");
  if (!step->has_expect_reply)
    {
      if (json_object_has_member (object, "within_ms"))
        {
          g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                       "%s.within_ms: only with \"expect\" (without it the step does not "
                       "wait for the reply)", ctx->where);
          return FALSE;
        }
      return TRUE;
    }
  if (!dsm_scenario_json_choice (object, ctx->where, "expect", TRUE, statuses, &status, error))
    return FALSE;
  step->expect_reply = (DsmReplyStatus) status;
  /* Long enough for the core to answer "outcome unknown" itself. */
  step->within_ms = (guint64) ctx->scenario->config->consensus_timeout_ms + 1000;
  return dsm_scenario_json_uint (object, ctx->where, "within_ms", FALSE, 1, DSM_SCENARIO_MS_MAX,
                                 &step->within_ms, error);
}

/* The command's shape, as the wire would check it: names the fields. */
static gboolean
read_client_check (const StepContext *ctx, DsmStep *step, GError **error)
{
  GError *local_error = NULL;

  if (dsm_command_check (&step->cmd, &local_error))
    return TRUE;
  g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID, "%s.%s", ctx->where,
               local_error->message);
  g_error_free (local_error);
  return FALSE;
}

static gboolean
read_client_common (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  g_autofree char *definition_path = dsm_scenario_json_path (ctx->where, "definition");

  step->target.kind = DSM_TARGET_RANDOM;
  return dsm_scenario_json_target (object, ctx->where, "node", FALSE, DSM_SELECT_LIVE,
                                   n_nodes (ctx), &step->target, error)
      && dsm_scenario_json_name (object, ctx->where, "machine", TRUE, FALSE, &step->cmd.machine,
                                 error)
      && dsm_scenario_json_name (object, ctx->where, "definition", FALSE, TRUE,
                                 &step->cmd.definition, error)
      && (step->cmd.definition != NULL && g_hash_table_contains (ctx->defined, step->cmd.definition)
          ? TRUE
          : dsm_scenario_check_definition (ctx->scenario->config, definition_path,
                                           step->cmd.definition, error));
}

/* "payload": an object, kept as the canonical text a client sends
 * (core/payload.h), within the ceilings every node applies. */
static gboolean
read_propose_payload (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  JsonNode *member = json_object_get_member (object, "payload");
  g_autofree char *path = dsm_scenario_json_path (ctx->where, "payload");
  g_autoptr(GError) local = NULL;

  if (member == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (member))
    {
      g_autofree char *found = dsm_scenario_json_describe (member);
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_TYPE, "%s: expected an object, found %s", path,
                   found);
      return FALSE;
    }
  g_autofree char *text = dsm_payload_to_text (member);
  g_autoptr(JsonNode) checked = dsm_payload_parse (text, path, &dsm_payload_ceilings, &local);
  if (checked == NULL)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID, "%s", local->message);
      return FALSE;
    }
  step->cmd.payload = g_steal_pointer (&text);
  return TRUE;
}

static gboolean
read_propose (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  step->cmd.op = DSM_OP_TRANSITION;
  if (!read_client_common (ctx, object, step, error)
      || !dsm_scenario_json_name (object, ctx->where, "to", TRUE, FALSE, &step->cmd.to, error)
      || !dsm_scenario_json_name (object, ctx->where, "from", FALSE, TRUE, &step->cmd.from,
                                  error)
      || !dsm_scenario_json_name (object, ctx->where, "client_id", FALSE, TRUE,
                                  &step->cmd.client_id, error))
    return FALSE;
  if (step->cmd.client_id == NULL && json_object_has_member (object, "seq"))
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                   "%s.seq: only with \"client_id\" (a sequence number belongs to a client)",
                   ctx->where);
      return FALSE;
    }
  if (step->cmd.client_id != NULL)
    {
      step->cmd.seq = 1;
      if (!dsm_scenario_json_uint (object, ctx->where, "seq", FALSE, 1, (guint64) G_MAXINT64,
                                   &step->cmd.seq, error))
        return FALSE;
    }
  if (!read_propose_payload (ctx, object, step, error))
    return FALSE;
  return read_client_reply (ctx, object, step, error)
      && read_client_check (ctx, step, error);
}

static gboolean
read_read (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  step->cmd.op = DSM_OP_READ;
  return read_client_common (ctx, object, step, error)
      && read_client_reply (ctx, object, step, error)
      && read_client_check (ctx, step, error);
}

static gboolean read_within (const StepContext *ctx, JsonObject *object, DsmStep *step,
                             GError **error);

/* ---- membership and definitions ---- */

/* "expect": "ok" (the default: the step waits for the change to commit
 * and fails the run if it does not within within_ms) or "any" (the step
 * starts it and goes on: explore's random changes). */
static gboolean
read_admin_common (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  static const char *const expects[] = { "ok", "any", NULL };
  guint expect = 0;

  step->within_ms = 10000;
  if (!dsm_scenario_json_choice (object, ctx->where, "expect", FALSE, expects, &expect, error)
      || !dsm_scenario_json_uint (object, ctx->where, "within_ms", FALSE, 1, DSM_SCENARIO_MS_MAX,
                                  &step->within_ms, error))
    return FALSE;
  step->admin_wait = expect == 0;
  return TRUE;
}

static gboolean
read_count (const StepContext *ctx, JsonObject *object, const char *key, gboolean required,
            DsmStep *step, GError **error)
{
  guint64 count = 0;

  if (!dsm_scenario_json_uint (object, ctx->where, key, required, 0, DSM_MAX_NODES, &count, error))
    return FALSE;
  step->count = (guint) count;
  return TRUE;
}

static gboolean
read_add_node (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return read_count (ctx, object, "max_members", FALSE, step, error)
      && read_admin_common (ctx, object, step, error);
}

static gboolean
read_remove_node (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return read_node (ctx, object, step, DSM_SELECT_LIVE, error)
      && read_count (ctx, object, "keep_voters", FALSE, step, error)
      && read_admin_common (ctx, object, step, error);
}

static gboolean
read_promote (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return read_node (ctx, object, step, 0, error)
      && read_admin_common (ctx, object, step, error);
}

static gboolean
read_transfer (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  step->target_to.kind = DSM_TARGET_ALL;
  return dsm_scenario_json_target (object, ctx->where, "to", FALSE,
                                   DSM_SELECT_FOLLOWER | DSM_SELECT_RANDOM, n_nodes (ctx),
                                   &step->target_to, error);
}

/* The definition object is checked by the machine validator here, so a
 * typo is the file's error, not a refusal at run time. */
static gboolean
read_define (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  g_autofree char *path = dsm_scenario_json_path (ctx->where, "definition");
  JsonNode *member = json_object_get_member (object, "definition");

  if (member == NULL)
    return dsm_scenario_json_missing (ctx->where, "definition", "a definition object", error);
  g_autoptr(DsmMachineDef) def = dsm_machine_def_new_from_json (member, path, error);
  if (def == NULL)
    return FALSE;
  step->cmd.op = DSM_OP_DEFINE;
  step->cmd.definition = g_strdup (dsm_machine_def_get_name (def));
  step->cmd.spec = json_to_string (member, FALSE);
  g_hash_table_add (ctx->defined, g_strdup (step->cmd.definition));
  return read_admin_common (ctx, object, step, error)
      && read_client_check (ctx, step, error);
}

static gboolean
read_voters (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  if (!read_count (ctx, object, "count", TRUE, step, error))
    return FALSE;
  if (step->count == 0)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_RANGE,
                   "%s.count: a cluster has at least one voter", ctx->where);
      return FALSE;
    }
  return step->kind != DSM_STEP_AWAIT || read_within (ctx, object, step, error);
}

/* ---- time and conditions ---- */

static gboolean
read_wait (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return dsm_scenario_json_uint (object, ctx->where, "ms", TRUE, 0, DSM_SCENARIO_MS_MAX,
                                 &step->ms, error);
}

static gboolean
read_within (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return dsm_scenario_json_uint (object, ctx->where, "within_ms", TRUE, 1, DSM_SCENARIO_MS_MAX,
                                 &step->within_ms, error);
}

static gboolean
read_machine_state (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return dsm_scenario_json_name (object, ctx->where, "machine", TRUE, FALSE, &step->machine,
                                 error)
      && dsm_scenario_json_name (object, ctx->where, "state", TRUE, FALSE, &step->state, error);
}

static gboolean
read_committed (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return read_machine_state (ctx, object, step, error)
      && read_within (ctx, object, step, error);
}

static gboolean
read_state (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  g_autofree char *path = dsm_scenario_json_path (ctx->where, "on");
  JsonNode *member = json_object_get_member (object, "on");
  g_autofree char *found = NULL;
  const char *text = NULL;

  if (!read_machine_state (ctx, object, step, error))
    return FALSE;
  step->on = DSM_NODES_LIVE;
  if (member == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (member) && json_node_get_value_type (member) == G_TYPE_INT64)
    {
      step->on = DSM_NODES_ONE;
      return dsm_scenario_json_node_id (member, path, n_nodes (ctx), &step->on_id, error);
    }
  if (JSON_NODE_HOLDS_VALUE (member) && json_node_get_value_type (member) == G_TYPE_STRING)
    text = json_node_get_string (member);
  if (g_strcmp0 (text, "live-nodes") == 0 || g_strcmp0 (text, "all") == 0)
    {
      step->on = strcmp (text, "all") == 0 ? DSM_NODES_ALL : DSM_NODES_LIVE;
      return TRUE;
    }
  found = dsm_scenario_json_describe (member);
  g_set_error (error, DSM_SCENARIO_ERROR,
               text != NULL ? DSM_SCENARIO_ERROR_UNKNOWN : DSM_SCENARIO_ERROR_TYPE,
               "%s: expected a node id, \"live-nodes\" or \"all\", found %s", path, found);
  return FALSE;
}

static gboolean
read_attack (const StepContext *ctx, JsonObject *object, DsmStep *step, GError **error)
{
  return dsm_scenario_read_attack (ctx->where, n_nodes (ctx), object, step, error);
}

/* ---- the table ---- */

#define DO(name, kind, read, ...) \
  { "do", name, kind, 0, { __VA_ARGS__ }, read }
#define ATTACK(name, kind, ...) \
  { "attack", name, kind, 0, { __VA_ARGS__ }, read_attack }
#define CONDITION(verb, name, condition, kind, read, ...) \
  { verb, name, kind, condition, { __VA_ARGS__ }, read }

static const StepSpec specs[] = {
  DO ("crash", DSM_STEP_CRASH, read_crash, "node", "no_target"),
  DO ("restart", DSM_STEP_RESTART, read_restart, "node"),
  DO ("partition", DSM_STEP_PARTITION, read_partition, "groups", "no_target"),
  DO ("isolate", DSM_STEP_ISOLATE, read_isolate, "node", "no_target"),
  DO ("cut", DSM_STEP_CUT, read_cut, "from", "to", "messages", "no_target"),
  DO ("heal", DSM_STEP_HEAL, read_nothing, NULL),
  DO ("watch_reconnect", DSM_STEP_WATCH_RECONNECT, read_nothing, NULL),
  DO ("loss", DSM_STEP_LOSS, read_percent, "percent", "for_ms"),
  DO ("delay", DSM_STEP_DELAY, read_delay, "ms", "for_ms"),
  DO ("duplicate", DSM_STEP_DUPLICATE, read_percent, "percent", "for_ms"),
  DO ("reorder", DSM_STEP_REORDER, read_reorder, "percent", "ms", "for_ms"),
  DO ("corrupt", DSM_STEP_CORRUPT, read_corrupt, "percent", "mode", "for_ms"),
  DO ("disk", DSM_STEP_DISK_FAULT, read_disk, "node", "fault", "no_target"),
  DO ("skew", DSM_STEP_SKEW, read_skew, "node", "rate", "no_target"),
  DO ("pause", DSM_STEP_PAUSE, read_pause, "node", "ms", "no_target"),
  DO ("disk_full", DSM_STEP_DISK_FULL, read_crash, "node", "no_target"),
  DO ("disk_space_restored", DSM_STEP_DISK_SPACE_RESTORED, read_restart, "node"),
  DO ("propose", DSM_STEP_PROPOSE, read_propose, "node", "machine", "to", "from",
         "definition", "client_id", "seq", "payload", "expect", "within_ms"),
  DO ("read", DSM_STEP_READ, read_read, "node", "machine", "definition", "expect",
         "within_ms"),
  DO ("add_node", DSM_STEP_ADD_NODE, read_add_node, "max_members", "expect", "within_ms"),
  DO ("remove_node", DSM_STEP_REMOVE_NODE, read_remove_node, "node", "keep_voters", "expect",
      "within_ms"),
  DO ("promote", DSM_STEP_PROMOTE, read_promote, "node", "expect", "within_ms"),
  DO ("transfer_leader", DSM_STEP_TRANSFER_LEADER, read_transfer, "to"),
  DO ("define", DSM_STEP_DEFINE, read_define, "definition", "expect", "within_ms"),
  DO ("wait", DSM_STEP_WAIT, read_wait, "ms"),
  CONDITION ("await", "leader", DSM_CONDITION_LEADER, DSM_STEP_AWAIT, read_within,
             "within_ms"),
  CONDITION ("await", "no_leader", DSM_CONDITION_NO_LEADER, DSM_STEP_AWAIT, read_within,
             "within_ms"),
  CONDITION ("await", "committed", DSM_CONDITION_COMMITTED, DSM_STEP_AWAIT, read_committed,
             "machine", "state", "within_ms"),
  CONDITION ("await", "caught_up", DSM_CONDITION_CAUGHT_UP, DSM_STEP_AWAIT, read_within,
             "within_ms"),
  CONDITION ("await", "replies", DSM_CONDITION_REPLIES, DSM_STEP_AWAIT, read_within,
             "within_ms"),
  CONDITION ("expect", "state", DSM_CONDITION_STATE, DSM_STEP_EXPECT, read_state,
             "machine", "state", "on"),
  CONDITION ("await", "voters", DSM_CONDITION_VOTERS, DSM_STEP_AWAIT, read_voters, "count",
             "within_ms"),
  CONDITION ("expect", "voters", DSM_CONDITION_VOTERS, DSM_STEP_EXPECT, read_voters, "count"),
  CONDITION ("expect", "leader", DSM_CONDITION_LEADER, DSM_STEP_EXPECT, read_nothing, NULL),
  CONDITION ("expect", "no_leader", DSM_CONDITION_NO_LEADER, DSM_STEP_EXPECT, read_nothing,
             NULL),
  ATTACK ("forge", DSM_STEP_FORGE, "to", "as", "message"),
  ATTACK ("replay", DSM_STEP_REPLAY, "to", "count", "window_ms"),
  ATTACK ("spoof", DSM_STEP_SPOOF, "to", "as", "cluster", "message"),
};

/* Every key some step has: a key of another kind is "not a key of
 * {\"do\": \"crash\"}" rather than an unknown key. */
static const char *const *
step_all_keys (void)
{
  static const char *keys[64];
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      guint n = 0;

      keys[n++] = "do";
      keys[n++] = "await";
      keys[n++] = "expect";
      keys[n++] = "attack";
      keys[n++] = "at_ms";
      keys[n++] = "after_ms";
      for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
        for (guint k = 0; specs[i].keys[k] != NULL; k++)
          {
            gboolean known = FALSE;

            for (guint j = 0; j < n; j++)
              known = known || strcmp (keys[j], specs[i].keys[k]) == 0;
            if (!known)
              keys[n++] = specs[i].keys[k];
            g_assert (n < G_N_ELEMENTS (keys));
          }
      keys[n] = NULL;
      g_once_init_leave (&once, 1);
    }
  return keys;
}

/* The one verb a step has: "do" (whose step may also carry "expect"),
 * else "await", "expect" or "attack". */
static gboolean
step_verb (JsonObject *object, const char *where, const char **verb, GError **error)
{
  gboolean has_do = json_object_has_member (object, "do");
  gboolean has_await = json_object_has_member (object, "await");
  gboolean has_expect = json_object_has_member (object, "expect");
  gboolean has_attack = json_object_has_member (object, "attack");

  if ((has_await && (has_do || has_expect)) || (has_attack && (has_do || has_await || has_expect)))
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                   "%s: has both \"%s\" and \"%s\"; a step does exactly one thing", where,
                   has_attack ? "attack" : "await",
                   has_do ? "do" : has_await ? "await" : "expect");
      return FALSE;
    }
  if (!has_do && !has_await && !has_expect && !has_attack)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_MISSING,
                   "%s: required key is missing (one of \"do\", \"await\", \"expect\" or "
                   "\"attack\")", where);
      return FALSE;
    }
  *verb = has_do ? "do" : has_await ? "await" : has_expect ? "expect" : "attack";
  return TRUE;
}

static const StepSpec *
step_spec (JsonObject *object, const char *where, const char *verb, GError **error)
{
  g_autoptr(GStrvBuilder) names = g_strv_builder_new ();
  g_auto(GStrv) list = NULL;
  g_autofree char *path = dsm_scenario_json_path (where, verb);
  g_autofree char *expected = NULL;
  g_autofree char *found = NULL;
  JsonNode *member = json_object_get_member (object, verb);
  const char *name = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
    if (strcmp (specs[i].verb, verb) == 0)
      g_strv_builder_add (names, specs[i].name);
  list = g_strv_builder_end (names);
  expected = g_strjoinv (", ", list);
  if (JSON_NODE_HOLDS_VALUE (member) && json_node_get_value_type (member) == G_TYPE_STRING)
    name = json_node_get_string (member);
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (specs); i++)
    if (strcmp (specs[i].verb, verb) == 0 && strcmp (specs[i].name, name) == 0)
      return &specs[i];
  found = dsm_scenario_json_describe (member);
  g_set_error (error, DSM_SCENARIO_ERROR,
               name != NULL ? DSM_SCENARIO_ERROR_UNKNOWN : DSM_SCENARIO_ERROR_TYPE,
               "%s: expected one of %s, found %s", path, expected, found);
  return NULL;
}

static gboolean
step_check_members (JsonObject *object, const char *where, const StepSpec *spec,
                    GError **error)
{
  const char *known[G_N_ELEMENTS (spec->keys) + 4] = { spec->verb, "at_ms", "after_ms" };
  g_autofree char *owner = g_strdup_printf ("{\"%s\": \"%s\"}", spec->verb, spec->name);
  guint n = 3;

  for (guint k = 0; spec->keys[k] != NULL; k++)
    known[n++] = spec->keys[k];
  known[n] = NULL;
  return dsm_scenario_json_check_members (object, where, known, owner, step_all_keys (),
                                          error);
}

/* "at_ms" or "after_ms" (default: right after the previous step). */
static gboolean
step_timing (JsonObject *object, const char *where, DsmStep *step, guint64 *last_at,
             const char **last_at_where, GError **error)
{
  step->has_at = json_object_has_member (object, "at_ms");
  if (step->has_at && json_object_has_member (object, "after_ms"))
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                   "%s.after_ms: a step starts at \"at_ms\" or \"after_ms\", not both", where);
      return FALSE;
    }
  if (!step->has_at)
    return dsm_scenario_json_uint (object, where, "after_ms", FALSE, 0, DSM_SCENARIO_MS_MAX,
                                   &step->after_ms, error);
  if (!dsm_scenario_json_uint (object, where, "at_ms", TRUE, 0, DSM_SCENARIO_MS_MAX,
                               &step->at_ms, error))
    return FALSE;
  if (*last_at_where != NULL && step->at_ms < *last_at)
    {
      g_set_error (error, DSM_SCENARIO_ERROR, DSM_SCENARIO_ERROR_INVALID,
                   "%s.at_ms: %" G_GUINT64_FORMAT " goes back in time (%s.at_ms is %"
                   G_GUINT64_FORMAT ")", where, step->at_ms, *last_at_where, *last_at);
      return FALSE;
    }
  *last_at = step->at_ms;
  *last_at_where = step->where;
  return TRUE;
}

/* "no_target": "fail" (the default), "skip" or "wait", on the faults that
 * take a selector. */
static gboolean
step_no_target (JsonObject *object, const char *where, const StepSpec *spec, DsmStep *step, GError **error)
{
  static const char *const choices[] = { "fail", "skip", "wait", NULL };
  guint choice = DSM_NO_TARGET_FAIL;

  for (guint k = 0; spec->keys[k] != NULL; k++)
    if (strcmp (spec->keys[k], "no_target") == 0)
      {
        if (!dsm_scenario_json_choice (object, where, "no_target", FALSE, choices, &choice, error))
          return FALSE;
        step->no_target = (DsmNoTarget) choice;
      }
  return TRUE;
}

static DsmStep *
read_step (StepContext *ctx_in, JsonNode *node, guint index, guint64 *last_at,
           const char **last_at_where, GError **error)
{
  g_autofree char *where = g_strdup_printf ("steps[%u]", index);
  g_autofree DsmStep *step = NULL;
  StepContext ctx = *ctx_in;
  const StepSpec *spec;
  JsonObject *object;
  const char *verb;

  if (!(object = dsm_scenario_json_object (node, where, error))
      || !step_verb (object, where, &verb, error)
      || !(spec = step_spec (object, where, verb, error))
      || !step_check_members (object, where, spec, error))
    return NULL;
  step = g_new0 (DsmStep, 1);
  step->kind = spec->kind;
  step->condition = spec->condition;
  step->where = g_steal_pointer (&where);
  ctx.where = step->where;
  if (!step_timing (object, step->where, step, last_at, last_at_where, error)
      || !spec->read (&ctx, object, step, error)
      || !step_no_target (object, step->where, spec, step, error))
    {
      dsm_step_clear (step);
      return NULL;
    }
  return g_steal_pointer (&step);
}

gboolean
dsm_scenario_read_steps (DsmScenario *self, JsonObject *root, GError **error)
{
  JsonNode *member = json_object_get_member (root, "steps");
  const char *last_at_where = NULL;
  guint64 last_at = 0;
  JsonArray *array;

  g_autoptr(GHashTable) defined = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  StepContext ctx = { self, NULL, self->config->n_nodes, defined };

  g_assert (self->steps->len == 0);
  if (member == NULL)
    return TRUE;
  if (!(array = dsm_scenario_json_array (member, "steps", "an array of step objects", error)))
    return FALSE;
  /* Every add_node step makes one more id nameable, from the start: ids
   * are handed out in step order (N + 1, N + 2...). */
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      if (JSON_NODE_HOLDS_OBJECT (item)
          && g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (item), "do", ""),
                        "add_node") == 0)
        ctx.max_id = MIN (ctx.max_id + 1, DSM_MAX_NODES);
    }
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      DsmStep *step = read_step (&ctx, json_array_get_element (array, i), i, &last_at,
                                 &last_at_where, error);

      if (step == NULL)
        return FALSE;
      g_ptr_array_add (self->steps, step);
    }
  return TRUE;
}
