/* core/store-plugin.c: a machine plugin's command run against its
 * instance's data: restore the plugin's state, ask validate, apply, write
 * the state back (docs/PLUGINS.md, "In a cluster").
 *
 * A plugin instance keeps the plugin's state as its data, the canonical
 * object {"plugin_state": TEXT} (the plugin's snapshot, when it is UTF-8
 * without NUL) or {"plugin_state_base64": B64}: snapshots, copy on write
 * and restores then carry it like any machine's data. */
#include "store-plugin.h"

#include <string.h>

#include "error.h"
#include "payload.h"

#define PLUGIN_STATE_KEY "plugin_state"
#define PLUGIN_STATE_B64_KEY "plugin_state_base64"

/* An answer is a JSON object of any number of fields. */
static const DsmPayloadLimits output_limits = {
  DSM_PLUGIN_OUTPUT_BYTES_MAX, DSM_PAYLOAD_DEPTH_MAX, G_MAXUINT,
};

/* Returns: (transfer full): the state @data holds (NULL: a new one), or
 * NULL with a DSM_MACHINE_ERROR_CORRUPT. */
static gpointer
run_restore (const DsmMachineImpl *impl, const char *machine, const char *data, GError **error)
{
  if (data == NULL)
    {
      gpointer state = impl->state_new ();
      g_assert (state != NULL);
      return state;
    }

  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) node = dsm_payload_parse (data, "data", &dsm_payload_data_limits, &local);
  JsonObject *object = node != NULL ? json_node_get_object (node) : NULL;
  JsonNode *text = object != NULL ? json_object_get_member (object, PLUGIN_STATE_KEY) : NULL;
  JsonNode *b64 = object != NULL ? json_object_get_member (object, PLUGIN_STATE_B64_KEY) : NULL;
  JsonNode *value = text != NULL ? text : b64;
  if (value == NULL || json_object_get_size (object) != 1 || !JSON_NODE_HOLDS_VALUE (value)
      || json_node_get_value_type (value) != G_TYPE_STRING)
    {
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT,
                   "machine \"%s\": its data holds no %s state", machine, impl->name);
      return NULL;
    }

  g_autoptr(GBytes) bytes = NULL;
  const char *string = json_node_get_string (value);
  if (text != NULL)
    bytes = g_bytes_new (string, strlen (string));
  else
    {
      gsize size = 0;
      guchar *decoded = g_base64_decode (string, &size);
      bytes = g_bytes_new_take (decoded, size);
    }
  g_autofree char *message = NULL;
  gpointer state = impl->restore (bytes, &message);
  if (state == NULL)
    {
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT,
                   "machine \"%s\": %s refuses its state: %s", machine, impl->name,
                   message != NULL ? message : "(no reason given)");
      return NULL;
    }
  return state;
}

/* Returns: (transfer full): @state as a plugin instance's data. */
static char *
run_snapshot (const DsmMachineImpl *impl, gconstpointer state)
{
  g_autoptr(GBytes) bytes = impl->snapshot (state);
  gsize size = 0;
  const char *raw = bytes != NULL ? g_bytes_get_data (bytes, &size) : NULL;
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonObject) object = json_object_new ();

  if (raw == NULL)
    raw = "";
  if (memchr (raw, '\0', size) == NULL && g_utf8_validate (raw, (gssize) size, NULL))
    {
      g_autofree char *text = g_strndup (raw, size);
      json_object_set_string_member (object, PLUGIN_STATE_KEY, text);
    }
  else
    {
      g_autofree char *b64 = g_base64_encode ((const guchar *) raw, size);
      json_object_set_string_member (object, PLUGIN_STATE_B64_KEY, b64);
    }
  json_node_set_object (node, object);
  return dsm_payload_to_text (node);
}

/* Applies the accepted command to @state; the new data and the answer,
 * or FALSE when the plugin's output is unusable (the command is then
 * refused and @state thrown away by the caller). */
static gboolean
run_apply (const DsmMachineImpl *impl, const DsmCommand *cmd, const char *payload, gpointer state,
           char **merged, char **output, GError **error)
{
  g_autofree char *answer = impl->apply (state, cmd->to, payload);
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) parsed = answer != NULL ? dsm_payload_parse (answer, "answer", &output_limits, &local)
                                              : NULL;

  if (parsed == NULL)
    {
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT,
                   "machine \"%s\": %s's apply of %s gave no usable answer (%s): nothing changed",
                   cmd->machine, impl->name, cmd->to, local != NULL ? local->message : "NULL");
      return FALSE;
    }
  g_autofree char *data = run_snapshot (impl, state);
  if (strlen (data) > DSM_DATA_BYTES_MAX)
    {
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT,
                   "machine \"%s\": %s's state would take %" G_GSIZE_FORMAT " bytes after %s, more than %d: "
                   "nothing changed", cmd->machine, impl->name, strlen (data), cmd->to, DSM_DATA_BYTES_MAX);
      return FALSE;
    }
  *merged = g_steal_pointer (&data);
  if (output != NULL)
    *output = dsm_payload_to_text (parsed);
  return TRUE;
}

gboolean
dsm_store_plugin_run (const DsmMachineImpl *impl, const DsmCommand *cmd, const char *data, char **merged,
                      char **output, GError **error)
{
  g_return_val_if_fail (impl != NULL, FALSE);
  g_return_val_if_fail (cmd != NULL && cmd->to != NULL && cmd->machine != NULL, FALSE);
  g_return_val_if_fail (output == NULL || merged != NULL, FALSE);

  const char *payload = cmd->payload != NULL ? cmd->payload : "{}";
  gpointer state = run_restore (impl, cmd->machine, data, error);
  g_autofree char *message = NULL;
  gboolean ok = TRUE;

  if (state == NULL)
    return FALSE;
  if (!impl->validate (state, cmd->to, payload, &message))
    {
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_INVALID_TRANSITION,
                   "machine \"%s\": %s %s refused: %s", cmd->machine, impl->name, cmd->to,
                   message != NULL ? message : "(no reason given)");
      ok = FALSE;
    }
  else if (merged != NULL)
    ok = run_apply (impl, cmd, payload, state, merged, output, error);
  impl->state_free (state);
  g_assert (!ok || merged == NULL || *merged != NULL);
  return ok;
}
