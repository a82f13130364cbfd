/* scenario/scenario-write.c: a scenario back out as canonical JSON: every key
 * with its defaults explicit, in schema order, so equal scenarios give
 * equal text (traces embed it for exact replay; the shrinker writes it). */
#include "scenario/scenario-private.h"

#include <stdlib.h>
#include <string.h>

#include "check/checker.h"

/* Pretty output puts a container on one line when it holds no object and
 * fits in this many columns. */
#define LINE_MAX_COLUMNS 100

/* ---- the tree ---- */

static void
add_uint (JsonBuilder *builder, const char *key, guint64 value)
{
  /* Every value the reader accepts fits: see DSM_SCENARIO_SEED_MAX. */
  g_assert (value <= (guint64) G_MAXINT64);
  json_builder_set_member_name (builder, key);
  json_builder_add_int_value (builder, (gint64) value);
}

static void
add_string (JsonBuilder *builder, const char *key, const char *value)
{
  json_builder_set_member_name (builder, key);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

static void
add_double (JsonBuilder *builder, const char *key, double value)
{
  json_builder_set_member_name (builder, key);
  json_builder_add_double_value (builder, value);
}

static void
add_target (JsonBuilder *builder, const char *key, const DsmTarget *target)
{
  static const char *const words[] = {
    [DSM_TARGET_LEADER] = "leader",
    [DSM_TARGET_FOLLOWER] = "follower",
    [DSM_TARGET_RANDOM] = "random",
    [DSM_TARGET_ALL] = "all",
  };

  if (target->kind == DSM_TARGET_NODE)
    {
      add_uint (builder, key, target->id);
      return;
    }
  g_assert ((guint) target->kind < G_N_ELEMENTS (words));
  add_string (builder, key, words[target->kind]);
}

static void
build_cluster (JsonBuilder *builder, const DsmConfig *config)
{
  g_autofree char *text = dsm_config_to_json (config);
  JsonNode *node = json_from_string (text, NULL);

  /* The scenario's "nodes" holds the node count. */
  g_assert (node != NULL && JSON_NODE_HOLDS_OBJECT (node));
  json_object_remove_member (json_node_get_object (node), "nodes");
  json_builder_set_member_name (builder, "cluster");
  json_builder_add_value (builder, node);
}

static void
build_network (JsonBuilder *builder, const DsmNetworkModel *net, const DsmDiskModel *disk)
{
  json_builder_set_member_name (builder, "network");
  json_builder_begin_object (builder);
  add_uint (builder, "latency_ms_min", net->latency_ms_min);
  add_uint (builder, "latency_ms_max", net->latency_ms_max);
  add_uint (builder, "loss_percent", net->loss_percent);
  add_uint (builder, "duplicate_percent", net->duplicate_percent);
  add_uint (builder, "reorder_percent", net->reorder_percent);
  add_uint (builder, "reorder_ms_max", net->reorder_ms_max);
  add_uint (builder, "client_latency_ms_min", net->client_latency_ms_min);
  add_uint (builder, "client_latency_ms_max", net->client_latency_ms_max);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "disk");
  json_builder_begin_object (builder);
  add_uint (builder, "fsync_ms_min", disk->fsync_ms_min);
  add_uint (builder, "fsync_ms_max", disk->fsync_ms_max);
  json_builder_end_object (builder);
}

static void
build_workload (JsonBuilder *builder, const DsmWorkload *load)
{
  json_builder_set_member_name (builder, "workload");
  json_builder_begin_object (builder);
  add_uint (builder, "clients", load->clients);
  add_uint (builder, "machines", load->machines);
  add_string (builder, "definition", load->definition);
  add_double (builder, "rate_per_s", load->rate_per_s);
  add_uint (builder, "read_percent", load->read_percent);
  add_uint (builder, "start_ms", load->start_ms);
  add_uint (builder, "duration_ms", load->duration_ms);
  add_string (builder, "target", load->target == DSM_WORKLOAD_TARGET_LEADER ? "leader" : "random");
  json_builder_set_member_name (builder, "idempotent");
  json_builder_add_boolean_value (builder, load->idempotent);
  if (load->watchers > 0)
    add_uint (builder, "watchers", load->watchers);
  if (load->payload_percent > 0)
    add_uint (builder, "payload_percent", load->payload_percent);
  if (load->cas_percent > 0)
    add_uint (builder, "cas_percent", load->cas_percent);
  json_builder_end_object (builder);
}

static void
build_step_groups (JsonBuilder *builder, const DsmStep *step)
{
  static const char *const words[] = {
    [DSM_TARGET_LEADER] = "leader",
    [DSM_TARGET_FOLLOWER] = "follower",
    [DSM_TARGET_RANDOM] = "random",
  };
  const GPtrArray *groups = step->groups != NULL ? step->groups : step->group_targets;

  json_builder_set_member_name (builder, "groups");
  json_builder_begin_array (builder);
  for (guint i = 0; groups != NULL && i < groups->len; i++)
    {
      const GArray *group = g_ptr_array_index (groups, i);

      json_builder_begin_array (builder);
      for (guint k = 0; k < group->len; k++)
        if (step->groups != NULL)
          json_builder_add_int_value (builder, g_array_index (group, DsmNodeId, k));
        else
          {
            const DsmTarget *t = &g_array_index (group, DsmTarget, k);
            g_assert (t->kind == DSM_TARGET_NODE || (t->kind < G_N_ELEMENTS (words) && words[t->kind] != NULL));
            if (t->kind == DSM_TARGET_NODE)
              json_builder_add_int_value (builder, t->id);
            else
              json_builder_add_string_value (builder, words[t->kind]);
          }
      json_builder_end_array (builder);
    }
  json_builder_end_array (builder);
}

static void
build_step_client (JsonBuilder *builder, const DsmStep *step)
{
  add_target (builder, "node", &step->target);
  add_string (builder, "machine", step->cmd.machine);
  if (step->kind == DSM_STEP_PROPOSE)
    {
      add_string (builder, "to", step->cmd.to);
      add_string (builder, "from", step->cmd.from);
    }
  add_string (builder, "definition", step->cmd.definition);
  if (step->kind == DSM_STEP_PROPOSE)
    {
      add_string (builder, "client_id", step->cmd.client_id);
      if (step->cmd.client_id != NULL)
        add_uint (builder, "seq", step->cmd.seq);
      if (step->cmd.payload != NULL)
        {
          /* Canonical text the reader made: it parses. */
          JsonNode *payload = json_from_string (step->cmd.payload, NULL);
          g_assert (payload != NULL);
          json_builder_set_member_name (builder, "payload");
          json_builder_add_value (builder, payload);
        }
    }
  if (step->has_expect_reply)
    {
      add_string (builder, "expect", dsm_reply_status_to_string (step->expect_reply));
      add_uint (builder, "within_ms", step->within_ms);
    }
}

static void
build_step_condition (JsonBuilder *builder, const DsmStep *step)
{
  if (step->condition == DSM_CONDITION_COMMITTED || step->condition == DSM_CONDITION_STATE)
    {
      add_string (builder, "machine", step->machine);
      add_string (builder, "state", step->state);
    }
  if (step->condition == DSM_CONDITION_VOTERS)
    add_uint (builder, "count", step->count);
  if (step->kind == DSM_STEP_AWAIT)
    add_uint (builder, "within_ms", step->within_ms);
  if (step->condition != DSM_CONDITION_STATE)
    return;
  if (step->on == DSM_NODES_ONE)
    add_uint (builder, "on", step->on_id);
  else
    add_string (builder, "on", step->on == DSM_NODES_ALL ? "all" : "live-nodes");
}

static void
build_step_admin (JsonBuilder *builder, const DsmStep *step)
{
  switch (step->kind)
    {
    case DSM_STEP_ADD_NODE:
      if (step->count != 0)
        add_uint (builder, "max_members", step->count);
      break;
    case DSM_STEP_REMOVE_NODE:
      add_target (builder, "node", &step->target);
      if (step->count != 0)
        add_uint (builder, "keep_voters", step->count);
      break;
    case DSM_STEP_PROMOTE:
      add_target (builder, "node", &step->target);
      break;
    case DSM_STEP_TRANSFER_LEADER:
      if (step->target_to.kind != DSM_TARGET_ALL)
        add_target (builder, "to", &step->target_to);
      return;
    case DSM_STEP_DEFINE:
      {
        g_autoptr(JsonNode) spec = json_from_string (step->cmd.spec, NULL);
        g_assert (spec != NULL); /* read_define() parsed it */
        json_builder_set_member_name (builder, "definition");
        json_builder_add_value (builder, g_steal_pointer (&spec));
        break;
      }
    default:
      g_assert_not_reached ();
    }
  add_string (builder, "expect", step->admin_wait ? "ok" : "any");
  add_uint (builder, "within_ms", step->within_ms);
}

static void
build_step_fault (JsonBuilder *builder, const DsmStep *step)
{
  static const char *const disk_faults[] = {
    [DSM_DISK_FAULT_TORN_WRITE] = "torn_write",
    [DSM_DISK_FAULT_LOST_FSYNC] = "lost_fsync",
    [DSM_DISK_FAULT_CORRUPT_RECORD] = "corrupt_record",
  };

  switch (step->kind)
    {
    case DSM_STEP_CRASH:
    case DSM_STEP_RESTART:
    case DSM_STEP_ISOLATE:
    case DSM_STEP_DISK_FULL:
    case DSM_STEP_DISK_SPACE_RESTORED:
      add_target (builder, "node", &step->target);
      break;
    case DSM_STEP_PARTITION:
      build_step_groups (builder, step);
      break;
    case DSM_STEP_CUT:
      add_target (builder, "from", &step->target);
      add_target (builder, "to", &step->target_to);
      if (step->message_types != 0)
        {
          json_builder_set_member_name (builder, "messages");
          json_builder_begin_array (builder);
          for (guint t = 0; t < DSM_MSG_N_TYPES; t++)
            if (step->message_types & (1u << t))
              json_builder_add_string_value (builder, dsm_message_type_to_string (t));
          json_builder_end_array (builder);
        }
      break;
    case DSM_STEP_LOSS:
    case DSM_STEP_DUPLICATE:
    case DSM_STEP_REORDER:
    case DSM_STEP_CORRUPT:
      add_uint (builder, "percent", step->percent);
      if (step->kind == DSM_STEP_REORDER)
        add_uint (builder, "ms", step->ms);
      if (step->kind == DSM_STEP_CORRUPT)
        add_string (builder, "mode", step->corrupt_mode == DSM_CORRUPT_TRUNCATE ? "truncate"
                                                                                : "flip");
      add_uint (builder, "for_ms", step->for_ms);
      break;
    case DSM_STEP_DELAY:
      add_uint (builder, "ms", step->ms);
      add_uint (builder, "for_ms", step->for_ms);
      break;
    case DSM_STEP_DISK_FAULT:
      g_assert (step->disk_fault > DSM_DISK_FAULT_NONE
                && (guint) step->disk_fault < G_N_ELEMENTS (disk_faults));
      add_target (builder, "node", &step->target);
      add_string (builder, "fault", disk_faults[step->disk_fault]);
      break;
    case DSM_STEP_SKEW:
      add_target (builder, "node", &step->target);
      add_double (builder, "rate", step->rate);
      break;
    case DSM_STEP_PAUSE:
      add_target (builder, "node", &step->target);
      add_uint (builder, "ms", step->ms);
      break;
    case DSM_STEP_WAIT:
      add_uint (builder, "ms", step->ms);
      break;
    case DSM_STEP_HEAL:
    case DSM_STEP_WATCH_RECONNECT:
      break;
    case DSM_STEP_PROPOSE:
    case DSM_STEP_READ:
    case DSM_STEP_AWAIT:
    case DSM_STEP_EXPECT:
    default:
      g_assert_not_reached ();
    }
  /* "fail", the default, is left out: files written before the key stay
   * as they were. */
  if (step->no_target != DSM_NO_TARGET_FAIL)
    add_string (builder, "no_target", step->no_target == DSM_NO_TARGET_SKIP ? "skip" : "wait");
}

static void
build_step (JsonBuilder *builder, const DsmStep *step)
{
  gboolean is_condition = step->kind == DSM_STEP_AWAIT || step->kind == DSM_STEP_EXPECT;
  gboolean is_attack = step->kind >= DSM_STEP_FORGE && step->kind <= DSM_STEP_SPOOF;

  json_builder_begin_object (builder);
  if (is_attack)
    add_string (builder, "attack", dsm_step_kind_to_string (step->kind));
  else if (is_condition)
    add_string (builder, dsm_step_kind_to_string (step->kind),
                dsm_condition_to_string (step->condition));
  else
    add_string (builder, "do", dsm_step_kind_to_string (step->kind));
  if (step->has_at)
    add_uint (builder, "at_ms", step->at_ms);
  else
    add_uint (builder, "after_ms", step->after_ms);
  if (is_attack)
    dsm_scenario_build_attack (builder, step, add_target);
  else if (is_condition)
    build_step_condition (builder, step);
  else if (step->kind == DSM_STEP_PROPOSE || step->kind == DSM_STEP_READ)
    build_step_client (builder, step);
  else if (step->kind >= DSM_STEP_ADD_NODE && step->kind <= DSM_STEP_DEFINE)
    build_step_admin (builder, step);
  else
    build_step_fault (builder, step);
  json_builder_end_object (builder);
}

static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static void
build_expect_invariants (JsonBuilder *builder, guint32 invariants)
{
  json_builder_set_member_name (builder, "invariants");
  if ((invariants & DSM_INVARIANTS_ALL) == DSM_INVARIANTS_ALL)
    {
      json_builder_add_string_value (builder, "all");
      return;
    }
  json_builder_begin_array (builder);
  for (guint i = 0; i < DSM_INVARIANT_N; i++)
    if (invariants & (1u << i))
      json_builder_add_string_value (builder, dsm_invariant_to_string ((DsmInvariant) i));
  json_builder_end_array (builder);
}

static void
build_expect (JsonBuilder *builder, const DsmExpectations *expect)
{
  g_autofree const char **machines = NULL;
  guint n_machines = 0;

  json_builder_set_member_name (builder, "expect");
  json_builder_begin_object (builder);
  build_expect_invariants (builder, expect->invariants);
  add_uint (builder, "min_commits", expect->min_commits);
  add_uint (builder, "leader_within_ms", expect->leader_within_ms);
  add_uint (builder, "settle_ms", expect->settle_ms);
  add_uint (builder, "min_unknown", expect->min_unknown);
  add_uint (builder, "min_rejected", expect->min_rejected);
  add_uint (builder, "min_retries", expect->min_retries);
  add_uint (builder, "min_elections", expect->min_elections);
  add_uint (builder, "max_elections", expect->max_elections);
  add_uint (builder, "min_snapshots_installed", expect->min_snapshots_installed);
  add_uint (builder, "min_invalid_messages", expect->min_invalid_messages);
  add_uint (builder, "min_attacks_refused", expect->min_attacks_refused);
  json_builder_set_member_name (builder, "final_states");
  json_builder_begin_object (builder);
  if (expect->final_states != NULL)
    machines = (const char **) g_hash_table_get_keys_as_array (expect->final_states,
                                                               &n_machines);
  /* Sorted, so equal scenarios write equal text. */
  if (machines != NULL)
    qsort (machines, n_machines, sizeof (char *), compare_strings);
  for (guint i = 0; i < n_machines; i++)
    add_string (builder, machines[i], g_hash_table_lookup (expect->final_states, machines[i]));
  json_builder_end_object (builder);
  json_builder_end_object (builder);
}

JsonNode *
dsm_scenario_build_json (const DsmScenario *self)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (self->config != NULL, NULL);

  json_builder_begin_object (builder);
  add_string (builder, "name", self->name);
  add_string (builder, "summary", self->summary);
  add_uint (builder, "seed", self->seed);
  add_uint (builder, "nodes", self->config->n_nodes);
  build_cluster (builder, self->config);
  build_network (builder, &self->network, &self->disk);
  build_workload (builder, &self->workload);
  json_builder_set_member_name (builder, "steps");
  json_builder_begin_array (builder);
  for (guint i = 0; self->steps != NULL && i < self->steps->len; i++)
    build_step (builder, g_ptr_array_index (self->steps, i));
  json_builder_end_array (builder);
  build_expect (builder, &self->expect);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

/* ---- the text ---- */

static void
write_string (GString *out, const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      switch (c)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (c < 0x20)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, (char) c);
        }
    }
  g_string_append_c (out, '"');
}

/* The shortest text that reads back as exactly @value: 50, 0.7, 12.5
 * (whole numbers without an exponent, which %g would give 50 as "5e+01"). */
static void
write_double (GString *out, double value)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  if (value > -1e15 && value < 1e15 && value == (double) (gint64) value)
    {
      g_string_append_printf (out, "%" G_GINT64_FORMAT, (gint64) value);
      return;
    }
  for (int precision = 1; precision <= 17; precision++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", precision);
      g_ascii_formatd (buffer, sizeof buffer, format, value);
      if (g_ascii_strtod (buffer, NULL) == value)
        break;
    }
  g_string_append (out, buffer);
}

static void
write_scalar (GString *out, JsonNode *node)
{
  if (JSON_NODE_HOLDS_NULL (node))
    {
      g_string_append (out, "null");
      return;
    }
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      write_string (out, json_node_get_string (node));
      break;
    case G_TYPE_INT64:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
      break;
    case G_TYPE_DOUBLE:
      write_double (out, json_node_get_double (node));
      break;
    case G_TYPE_BOOLEAN:
      g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
      break;
    default:
      g_assert_not_reached ();
    }
}

/* One line: compact, or with a space after each comma and colon and
 * inside braces when @spaced. */
static void
write_line (GString *out, JsonNode *node, gboolean spaced)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      const char *key;
      JsonNode *value;
      gboolean first = TRUE;

      g_string_append_c (out, '{');
      json_object_iter_init_ordered (&iter, json_node_get_object (node));
      while (json_object_iter_next_ordered (&iter, &key, &value))
        {
          g_string_append (out, first ? (spaced ? " " : "") : (spaced ? ", " : ","));
          write_string (out, key);
          g_string_append (out, spaced ? ": " : ":");
          write_line (out, value, spaced);
          first = FALSE;
        }
      g_string_append (out, first || !spaced ? "}" : " }");
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      g_string_append_c (out, '[');
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          if (i > 0)
            g_string_append (out, spaced ? ", " : ",");
          write_line (out, json_array_get_element (array, i), spaced);
        }
      g_string_append_c (out, ']');
    }
  else
    write_scalar (out, node);
}

static gboolean
holds_object (JsonNode *node)
{
  JsonArray *array;

  if (JSON_NODE_HOLDS_OBJECT (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (holds_object (json_array_get_element (array, i)))
      return TRUE;
  return FALSE;
}

/* Whether @node goes on one line: no object inside, and short enough. */
static gboolean
write_pretty_fits (JsonNode *node, gsize column, GString *line)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObjectIter iter;
      const char *key;
      JsonNode *value;

      json_object_iter_init_ordered (&iter, json_node_get_object (node));
      while (json_object_iter_next_ordered (&iter, &key, &value))
        if (holds_object (value))
          return FALSE;
    }
  else if (JSON_NODE_HOLDS_ARRAY (node) && holds_object (node))
    return FALSE;
  write_line (line, node, TRUE);
  return column + line->len <= LINE_MAX_COLUMNS;
}

static void
write_pretty (GString *out, JsonNode *node, guint indent, gsize column)
{
  g_autoptr(GString) line = g_string_new (NULL);
  gboolean is_object = JSON_NODE_HOLDS_OBJECT (node);

  if (!JSON_NODE_HOLDS_OBJECT (node) && !JSON_NODE_HOLDS_ARRAY (node))
    {
      write_scalar (out, node);
      return;
    }
  if (write_pretty_fits (node, column, line))
    {
      g_string_append_len (out, line->str, (gssize) line->len);
      return;
    }
  g_string_append (out, is_object ? "{\n" : "[\n");
  if (is_object)
    {
      JsonObjectIter iter;
      const char *key;
      JsonNode *value;
      gboolean first = TRUE;

      json_object_iter_init_ordered (&iter, json_node_get_object (node));
      while (json_object_iter_next_ordered (&iter, &key, &value))
        {
          gsize start;

          g_string_append (out, first ? "" : ",\n");
          g_string_append_printf (out, "%*s", (int) (indent + 2), "");
          start = out->len;
          write_string (out, key);
          g_string_append (out, ": ");
          write_pretty (out, value, indent + 2, indent + 2 + (out->len - start));
          first = FALSE;
        }
    }
  else
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          g_string_append (out, i > 0 ? ",\n" : "");
          g_string_append_printf (out, "%*s", (int) (indent + 2), "");
          write_pretty (out, json_array_get_element (array, i), indent + 2, indent + 2);
        }
    }
  g_string_append_printf (out, "\n%*s%c", (int) indent, "", is_object ? '}' : ']');
}

char *
dsm_scenario_write_json (JsonNode *root, gboolean pretty)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (root != NULL, NULL);

  if (pretty)
    {
      write_pretty (out, root, 0, 0);
      g_string_append_c (out, '\n');
    }
  else
    write_line (out, root, FALSE);
  return g_string_free (out, FALSE);
}
