/* examples/job-queue/job-queue.c: a job queue with leases as a dsm machine
 * plugin (docs/PLUGINS.md).  Time is what the command says it is ("now",
 * in milliseconds of whatever clock the clients share: virtual time in the
 * simulator), never a clock read here, so every replica agrees.
 *
 * Operations (payload keys):
 *   enqueue  {"job": J}                            -> {"job": J, "position": P}
 *   lease    {"worker": W, "now": T, "lease_ms": D} -> {"job": J, "deadline": T+D} or {"job": null}
 *   complete {"job": J, "worker": W, "now": T}      -> {"job": J, "state": "done"}
 *   expire   {"now": T}                             -> {"expired": [J, ...]}
 * A job is queued, leased (to one worker, until a deadline) or done.  A
 * lease takes the oldest queued job; complete needs the lease's worker and
 * a time before its deadline; expire returns every lease whose deadline
 * has passed to the queue, in enqueue order. */
#include <dsm-machine.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define NAME_MAX_BYTES 64
#define JOBS_MAX 100000
#define TIME_MAX G_GINT64_CONSTANT (1000000000000000)  /* 10^15 ms */

typedef enum { JOB_QUEUED, JOB_LEASED, JOB_DONE } JobState;
static const char *const job_state_names[] = { "queued", "leased", "done" };

typedef struct {
  char *id;
  JobState state;
  char *worker;     /* leased only */
  gint64 deadline;  /* leased only */
} Job;

/* Jobs in enqueue order (a lease takes the first queued one), and by id. */
typedef struct {
  GPtrArray *jobs;  /* Job*, owned */
  GHashTable *ids;  /* id -> Job*, for lookups only: never iterated */
} Queue;

static void
job_free (Job *job)
{
  g_free (job->id);
  g_free (job->worker);
  g_free (job);
}

static Queue *
queue_new (void)
{
  Queue *queue = g_new0 (Queue, 1);
  queue->jobs = g_ptr_array_new_with_free_func ((GDestroyNotify) job_free);
  queue->ids = g_hash_table_new (g_str_hash, g_str_equal);
  return queue;
}

static Job *
queue_add (Queue *queue, const char *id, JobState state, const char *worker, gint64 deadline)
{
  Job *job = g_new0 (Job, 1);
  job->id = g_strdup (id);
  job->state = state;
  job->worker = g_strdup (worker);
  job->deadline = deadline;
  g_ptr_array_add (queue->jobs, job);
  g_hash_table_insert (queue->ids, job->id, job);
  return job;
}

static gpointer
queue_state_new (void)
{
  return queue_new ();
}

static void
queue_state_free (gpointer state)
{
  Queue *queue = state;
  g_hash_table_unref (queue->ids);
  g_ptr_array_unref (queue->jobs);
  g_free (queue);
}

static gpointer
queue_state_copy (gconstpointer state)
{
  const Queue *queue = state;
  Queue *copy = queue_new ();
  for (guint i = 0; i < queue->jobs->len; i++)
    {
      const Job *job = queue->jobs->pdata[i];
      queue_add (copy, job->id, job->state, job->worker, job->deadline);
    }
  return copy;
}

/* Returns: (transfer full): @text as a JSON string, quoted and escaped. */
static char *
json_quote (const char *text)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);
  json_node_set_string (node, text);
  return json_to_string (node, FALSE);
}

/* ---- reading a payload ---- */

static JsonObject *
payload_parse (const char *payload, JsonNode **root, char **error_message)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  GError *error = NULL;

  if (!json_parser_load_from_data (parser, payload, -1, &error))
    {
      *error_message = g_strdup_printf ("payload: not JSON: %s", error->message);
      g_error_free (error);
      return NULL;
    }
  JsonNode *node = json_parser_get_root (parser);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      *error_message = g_strdup ("payload: expected an object");
      return NULL;
    }
  *root = json_node_copy (node);
  return json_node_get_object (*root);
}

static const char *
payload_name (JsonObject *object, const char *key, char **error_message)
{
  JsonNode *node = json_object_get_member (object, key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      *error_message = g_strdup_printf ("payload.%s: expected a string", key);
      return NULL;
    }
  const char *name = json_node_get_string (node);
  gsize n = strlen (name);
  if (n == 0 || n > NAME_MAX_BYTES || !g_utf8_validate (name, -1, NULL))
    {
      *error_message = g_strdup_printf ("payload.%s: 1 to %d bytes of UTF-8", key, NAME_MAX_BYTES);
      return NULL;
    }
  return name;
}

static gboolean
payload_time (JsonObject *object, const char *key, gint64 min, gint64 *out, char **error_message)
{
  JsonNode *node = json_object_get_member (object, key);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64
      || json_node_get_int (node) < min || json_node_get_int (node) > TIME_MAX)
    {
      *error_message = g_strdup_printf ("payload.%s: expected an integer in %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT,
                                        key, min, TIME_MAX);
      return FALSE;
    }
  *out = json_node_get_int (node);
  return TRUE;
}

static gboolean
validate_complete (const Queue *queue, JsonObject *object, char **error_message)
{
  gint64 now;
  const char *id = payload_name (object, "job", error_message);
  const char *worker = id != NULL ? payload_name (object, "worker", error_message) : NULL;
  if (worker == NULL || !payload_time (object, "now", 0, &now, error_message))
    return FALSE;
  const Job *job = g_hash_table_lookup (queue->ids, id);
  if (job == NULL)
    {
      *error_message = g_strdup_printf ("no job \"%s\"", id);
      return FALSE;
    }
  if (job->state != JOB_LEASED || strcmp (job->worker, worker) != 0)
    {
      *error_message = g_strdup_printf ("job \"%s\" is %s%s%s, not leased to \"%s\"", id,
                                        job_state_names[job->state], job->worker != NULL ? " by " : "",
                                        job->worker != NULL ? job->worker : "", worker);
      return FALSE;
    }
  if (now >= job->deadline)
    {
      *error_message = g_strdup_printf ("job \"%s\": the lease ended at %" G_GINT64_FORMAT ", it is %" G_GINT64_FORMAT,
                                        id, job->deadline, now);
      return FALSE;
    }
  return TRUE;
}

static gboolean
queue_validate (gconstpointer state, const char *op, const char *payload, char **error_message)
{
  const Queue *queue = state;
  g_autoptr(JsonNode) root = NULL;
  JsonObject *object = payload_parse (payload, &root, error_message);
  gint64 value;

  if (object == NULL)
    return FALSE;
  if (strcmp (op, "enqueue") == 0)
    {
      const char *id = payload_name (object, "job", error_message);
      if (id == NULL)
        return FALSE;
      if (g_hash_table_contains (queue->ids, id))
        {
          *error_message = g_strdup_printf ("job \"%s\" was already enqueued", id);
          return FALSE;
        }
      if (queue->jobs->len >= JOBS_MAX)
        {
          *error_message = g_strdup_printf ("the queue holds its most jobs, %d", JOBS_MAX);
          return FALSE;
        }
      return TRUE;
    }
  if (strcmp (op, "lease") == 0)
    return payload_name (object, "worker", error_message) != NULL
           && payload_time (object, "now", 0, &value, error_message)
           && payload_time (object, "lease_ms", 1, &value, error_message);
  if (strcmp (op, "complete") == 0)
    return validate_complete (queue, object, error_message);
  if (strcmp (op, "expire") == 0)
    return payload_time (object, "now", 0, &value, error_message);
  *error_message = g_strdup_printf ("unknown operation \"%s\" (enqueue, lease, complete, expire)", op);
  return FALSE;
}

static char *
apply_lease (Queue *queue, JsonObject *object)
{
  gint64 now = json_object_get_int_member (object, "now");
  gint64 deadline = now + json_object_get_int_member (object, "lease_ms");

  for (guint i = 0; i < queue->jobs->len; i++)
    {
      Job *job = queue->jobs->pdata[i];
      if (job->state != JOB_QUEUED)
        continue;
      job->state = JOB_LEASED;
      job->worker = g_strdup (json_object_get_string_member (object, "worker"));
      job->deadline = deadline;
      g_autofree char *id = json_quote (job->id);
      return g_strdup_printf ("{\"job\":%s,\"deadline\":%" G_GINT64_FORMAT "}", id, deadline);
    }
  return g_strdup ("{\"job\":null}");
}

static char *
apply_expire (Queue *queue, gint64 now)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "expired");
  json_builder_begin_array (builder);
  for (guint i = 0; i < queue->jobs->len; i++)
    {
      Job *job = queue->jobs->pdata[i];
      if (job->state != JOB_LEASED || job->deadline > now)
        continue;
      job->state = JOB_QUEUED;
      g_clear_pointer (&job->worker, g_free);
      job->deadline = 0;
      json_builder_add_string_value (builder, job->id);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static char *
queue_apply (gpointer state, const char *op, const char *payload)
{
  Queue *queue = state;
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *unexpected = NULL;
  JsonObject *object = payload_parse (payload, &root, &unexpected);

  /* validate() accepted this very payload. */
  g_assert (object != NULL);
  if (strcmp (op, "enqueue") == 0)
    {
      Job *job = queue_add (queue, json_object_get_string_member (object, "job"), JOB_QUEUED, NULL, 0);
      g_autofree char *id = json_quote (job->id);
      return g_strdup_printf ("{\"job\":%s,\"position\":%u}", id, queue->jobs->len - 1);
    }
  if (strcmp (op, "lease") == 0)
    return apply_lease (queue, object);
  if (strcmp (op, "expire") == 0)
    return apply_expire (queue, json_object_get_int_member (object, "now"));
  g_assert (strcmp (op, "complete") == 0);
  Job *job = g_hash_table_lookup (queue->ids, json_object_get_string_member (object, "job"));
  g_assert (job != NULL && job->state == JOB_LEASED);
  job->state = JOB_DONE;
  g_clear_pointer (&job->worker, g_free);
  job->deadline = 0;
  g_autofree char *id = json_quote (job->id);
  return g_strdup_printf ("{\"job\":%s,\"state\":\"done\"}", id);
}

/* ---- snapshots: {"jobs":[["j1","queued"],["j2","leased","w1",1500],...]} in enqueue order ---- */

static GBytes *
queue_snapshot (gconstpointer state)
{
  const Queue *queue = state;
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "jobs");
  json_builder_begin_array (builder);
  for (guint i = 0; i < queue->jobs->len; i++)
    {
      const Job *job = queue->jobs->pdata[i];
      json_builder_begin_array (builder);
      json_builder_add_string_value (builder, job->id);
      json_builder_add_string_value (builder, job_state_names[job->state]);
      if (job->state == JOB_LEASED)
        {
          json_builder_add_string_value (builder, job->worker);
          json_builder_add_int_value (builder, job->deadline);
        }
      json_builder_end_array (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  g_autoptr(JsonNode) root = json_builder_get_root (builder);
  char *text = json_to_string (root, FALSE);
  return g_bytes_new_take (text, strlen (text));
}

static gboolean
restore_job (Queue *queue, JsonNode *node)
{
  JsonArray *a = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  guint n = a != NULL ? json_array_get_length (a) : 0;
  if (n != 2 && n != 4)
    return FALSE;
  for (guint k = 0; k < n; k++)
    {
      JsonNode *e = json_array_get_element (a, k);
      GType want = k == 3 ? G_TYPE_INT64 : G_TYPE_STRING;
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != want)
        return FALSE;
    }
  const char *id = json_array_get_string_element (a, 0);
  const char *state = json_array_get_string_element (a, 1);
  if (*id == '\0' || strlen (id) > NAME_MAX_BYTES || g_hash_table_contains (queue->ids, id))
    return FALSE;
  for (guint s = 0; s < G_N_ELEMENTS (job_state_names); s++)
    if (strcmp (state, job_state_names[s]) == 0 && (n == 4) == (s == JOB_LEASED))
      {
        gint64 deadline = n == 4 ? json_array_get_int_element (a, 3) : 0;
        if (deadline < 0 || deadline > 2 * TIME_MAX)
          return FALSE;
        queue_add (queue, id, s, n == 4 ? json_array_get_string_element (a, 2) : NULL, deadline);
        return TRUE;
      }
  return FALSE;
}

static gpointer
queue_restore (GBytes *bytes, char **error_message)
{
  gsize size = 0;
  const char *data = g_bytes_get_data (bytes, &size);
  g_autoptr(JsonParser) parser = json_parser_new ();
  GError *error = NULL;

  if (!json_parser_load_from_data (parser, data != NULL ? data : "", (gssize) size, &error))
    {
      *error_message = g_strdup_printf ("job-queue snapshot: not JSON: %s", error->message);
      g_error_free (error);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  JsonNode *jobs = root != NULL && JSON_NODE_HOLDS_OBJECT (root)
                       ? json_object_get_member (json_node_get_object (root), "jobs")
                       : NULL;
  if (jobs == NULL || !JSON_NODE_HOLDS_ARRAY (jobs) || json_array_get_length (json_node_get_array (jobs)) > JOBS_MAX)
    {
      *error_message = g_strdup ("job-queue snapshot: expected {\"jobs\": [...]}");
      return NULL;
    }
  JsonArray *array = json_node_get_array (jobs);
  Queue *queue = queue_new ();
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (!restore_job (queue, json_array_get_element (array, i)))
      {
        *error_message = g_strdup_printf ("job-queue snapshot: jobs[%u]: expected [id, \"queued\"|\"done\"] or [id, \"leased\", worker, deadline], ids unique", i);
        queue_state_free (queue);
        return NULL;
      }
  return queue;
}

static const DsmMachineImpl job_queue_impl = {
  .abi_version = DSM_MACHINE_ABI_VERSION,
  .struct_size = sizeof (DsmMachineImpl),
  .name = "job-queue",
  .version = "1.0.0",
  .state_new = queue_state_new,
  .state_copy = queue_state_copy,
  .state_free = queue_state_free,
  .validate = queue_validate,
  .apply = queue_apply,
  .snapshot = queue_snapshot,
  .restore = queue_restore,
};

DSM_MACHINE_DEFINE_ENTRY (job_queue_impl)
