/* client/dsm-client.c: libdsm-client (dsm-client.h): requests queued
 * and sent pipelined on one connection (dsm-client-conn.c) by the
 * scheduler here, which also connects, retries after delays and fails
 * what runs out of tries; the public calls and the blocking forms. */
#include "dsm-client.h"

#include <string.h>

#include "dsm-client-private.h"

G_DEFINE_QUARK (dsm-client-error-quark, dsm_client_error)

void
dsm_client_options_init (DsmClientOptions *options)
{
  memset (options, 0, sizeof *options);
  options->attempts = 10;
  options->retry_delay_ms = 50;
  options->request_timeout_ms = 5000;
  options->max_in_flight = 64;
}

/* ---- the scheduler ---- */

/* Sends what may go, connects when needed, fails requests out of tries or
 * time, and sets the next wake-up. */
static void client_kick_once (DsmClient *client);

/* Callbacks run from here may submit requests: those wait for the next
 * pass rather than changing the queue under the pass that runs them. */
void
client_kick (DsmClient *client)
{
  if (client->kicking)
    {
      client->kick_again = TRUE;
      return;
    }
  client->kicking = TRUE;
  do
    {
      client->kick_again = FALSE;
      client_kick_once (client);
    }
  while (client->kick_again);
  client->kicking = FALSE;
}

static void
client_kick_once (DsmClient *client)
{
  gint64 now = g_get_monotonic_time ();
  gint64 next = G_MAXINT64;
  GHashTableIter iter;
  gpointer value;
  Request *r;

  if (client->conn != NULL)
    {
      g_hash_table_iter_init (&iter, client->sent);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (((Request *) value)->deadline_us <= now)
          {
            g_autofree char *why = g_strdup_printf ("no answer from %s within %u ms", client->conn->address,
                                                    client->request_timeout_ms);
            client_drop (client, why, client->retry_delay_ms);
            break;
          }
        else
          next = MIN (next, ((Request *) value)->deadline_us);
    }
  /* Options no retry mends fail every request. */
  if (client->setup_error != NULL)
    while ((r = g_queue_pop_head (&client->waiting)) != NULL)
      request_fail (client, r, DSM_CLIENT_ERROR_INVALID, client->setup_error);
  /* Out of tries: the last error says why. */
  for (GList *l = client->waiting.head, *following; l != NULL; l = following)
    {
      following = l->next;
      r = l->data;
      if (r->tries >= client->attempts)
        {
          g_queue_delete_link (&client->waiting, l);
          request_fail (client, r, DSM_CLIENT_ERROR_FAILED, r->last_error != NULL ? r->last_error : "no answer");
        }
    }
  if (client->conn == NULL && client->waiting.length > 0)
    {
      if (now >= client->reconnect_at_us)
        client_connect (client);
      else
        next = MIN (next, client->reconnect_at_us);
    }
  if (client->conn != NULL && client->conn->ready)
    {
      for (GList *l = client->waiting.head, *following; l != NULL; l = following)
        {
          following = l->next;
          r = l->data;
          if (g_hash_table_size (client->sent) >= client->in_flight_cap)
            break;
          /* Requests go out in their session's order: a retry waiting
           * out its delay holds back every newer one.  A node remembers
           * a session's last session_window outcomes; had newer ones
           * overtaken a retry by more than that, the retry would be
           * answered "unknown" (too old to tell) on every try. */
          if (r->not_before_us > now)
            {
              next = MIN (next, r->not_before_us);
              break;
            }
          g_queue_delete_link (&client->waiting, l);
          if (client_send (client, r))
            next = MIN (next, r->deadline_us);
        }
      conn_flush (client->conn);
    }
  g_source_set_ready_time (client->tick, next == G_MAXINT64 ? -1 : next);
}

static gboolean
tick_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  g_source_set_ready_time (source, -1);
  client_kick (data);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs tick_funcs = { .dispatch = tick_dispatch };

/* ---- the public calls ---- */

DsmClient *
dsm_client_new_full (const DsmClientOptions *options, GMainContext *context, GError **error)
{
  DsmClient *client = dsm_client_new (options, context);

  if (client != NULL && client->setup_error != NULL)
    {
      g_set_error_literal (error, DSM_CLIENT_ERROR, DSM_CLIENT_ERROR_INVALID, client->setup_error);
      dsm_client_free (client);
      return NULL;
    }
  return client;
}

DsmClient *
dsm_client_new (const DsmClientOptions *options, GMainContext *context)
{
  DsmClient *client;

  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (options->nodes != NULL && options->nodes[0] != NULL, NULL);
  g_return_val_if_fail (options->attempts >= 1, NULL);
  g_return_val_if_fail (options->max_in_flight >= 1, NULL);

  client = g_new0 (DsmClient, 1);
  client->context = context != NULL ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  client->nodes = g_strdupv ((char **) options->nodes);
  client->n_nodes = g_strv_length (client->nodes);
  client->next_node = g_random_int_range (0, (gint32) client->n_nodes);
  client->token = g_strdup (options->token);
  client->client_id = options->client_id != NULL ? g_strdup (options->client_id)
                                                 : g_strdup_printf ("c-%08x%08x", g_random_int (), g_random_int ());
  client->next_id = 1;
  client->version = DSM_WIRE_VERSION;
  client->attempts = options->attempts;
  client->retry_delay_ms = options->retry_delay_ms;
  client->request_timeout_ms = MAX (options->request_timeout_ms, 1);
  client->max_in_flight = options->max_in_flight;
  client->in_flight_cap = options->max_in_flight;
  client->sent = g_hash_table_new (g_int64_hash, g_int64_equal);
  client->tls = options->tls;
  client->tls_server_name = g_strdup (options->tls_server_name);
  if (options->tls && options->tls_ca_file != NULL)
    {
      g_autoptr(GError) error = NULL;
      /* GTlsFileDatabase wants an absolute path. */
      g_autofree char *absolute = g_canonicalize_filename (options->tls_ca_file, NULL);
      client->tls_database = g_tls_file_database_new (absolute, &error);
      if (client->tls_database == NULL)
        client->setup_error = g_strdup_printf ("tls_ca_file \"%s\": %s", options->tls_ca_file, error->message);
    }
  g_queue_init (&client->waiting);
  client->tick = g_source_new (&tick_funcs, sizeof (GSource));
  g_source_set_callback (client->tick, NULL, client, NULL);
  g_source_attach (client->tick, client->context);
  return client;
}

void
dsm_client_free (DsmClient *client)
{
  Request *r;

  if (client == NULL)
    return;
  /* What was in flight goes back to the queue, freed with it. */
  client_drop (client, "the client is freed", 0);
  g_assert (g_hash_table_size (client->sent) == 0);
  g_hash_table_unref (client->sent);
  while ((r = g_queue_pop_head (&client->waiting)) != NULL)
    request_free (r);
  g_source_destroy (client->tick);
  g_source_unref (client->tick);
  g_main_context_unref (client->context);
  g_strfreev (client->nodes);
  g_free (client->token);
  g_free (client->client_id);
  g_free (client->redirect);
  g_clear_object (&client->tls_database);
  g_free (client->tls_server_name);
  g_free (client->setup_error);
  g_free (client);
}

static void
client_submit (DsmClient *client, Request *r, DsmClientFunc func, gpointer data)
{
  r->func = func;
  r->data = data;
  r->msg.id = client->next_id++;
  g_queue_push_tail (&client->waiting, r);
  client_kick (client);
}

void
dsm_client_transition_options_init (DsmClientTransitionOptions *options)
{
  memset (options, 0, sizeof *options);
}

void
dsm_client_transition_full (DsmClient *client, const char *machine, const char *to,
                            const DsmClientTransitionOptions *options, DsmClientFunc func, gpointer user_data)
{
  DsmClientTransitionOptions none;
  Request *r;

  g_return_if_fail (client != NULL && machine != NULL && to != NULL && func != NULL);
  g_return_if_fail (options == NULL || options->payload == NULL
                    || g_utf8_validate (options->payload, -1, NULL));
  if (options == NULL)
    {
      dsm_client_transition_options_init (&none);
      options = &none;
    }
  r = g_new0 (Request, 1);
  r->msg.type = DSM_WIRE_TRANSITION;
  r->msg.machine = (char *) machine;
  r->msg.to = (char *) to;
  r->msg.from = (char *) options->from;
  r->msg.definition = (char *) options->definition;
  /* An empty payload is none on the wire: "{}" says "no keys" alike. */
  r->msg.payload = options->payload != NULL && options->payload[0] != '\0' ? (char *) options->payload : NULL;
  r->msg.flags = options->has_if_revision ? DSM_WIRE_TRANSITION_IF_REVISION : 0;
  r->msg.if_revision = options->has_if_revision ? options->if_revision : 0;
  /* One sequence number per transition, the same on every try. */
  r->msg.client_id = client->client_id;
  r->msg.seq = ++client->seq;
  /* The caller's strings, copied into one block the request keeps. */
  dsm_wire_msg_copy_strings (&r->msg);
  client_submit (client, r, func, user_data);
}

void
dsm_client_transition (DsmClient *client, const char *machine, const char *to, const char *from,
                       const char *definition, DsmClientFunc func, gpointer user_data)
{
  DsmClientTransitionOptions options;

  dsm_client_transition_options_init (&options);
  options.from = from;
  options.definition = definition;
  dsm_client_transition_full (client, machine, to, &options, func, user_data);
}

void
dsm_client_read (DsmClient *client, const char *machine, const char *definition, gboolean stale,
                 DsmClientFunc func, gpointer user_data)
{
  Request *r;

  g_return_if_fail (client != NULL && machine != NULL && func != NULL);
  r = g_new0 (Request, 1);
  r->msg.type = DSM_WIRE_READ;
  r->msg.machine = (char *) machine;
  r->msg.definition = (char *) definition;
  r->msg.flags = stale ? DSM_WIRE_READ_STALE : 0;
  dsm_wire_msg_copy_strings (&r->msg);
  client_submit (client, r, func, user_data);
}

/* ---- the blocking forms ---- */

typedef struct {
  DsmClientResult result;       /* first: freed as one */
  char *strings[5];
  gboolean done;
  GError *error;
} Owned;

static void
sync_done (DsmClient *client, const DsmClientResult *result, const GError *error, gpointer data)
{
  Owned *o = data;

  o->done = TRUE;
  if (error != NULL)
    {
      o->error = g_error_copy (error);
      return;
    }
  o->result = *result;
  o->result.reason = o->strings[0] = g_strdup (result->reason);
  o->result.machine = o->strings[1] = g_strdup (result->machine);
  o->result.state = o->strings[2] = g_strdup (result->state);
  o->result.detail = o->strings[3] = g_strdup (result->detail);
  o->result.data = o->strings[4] = g_strdup (result->data);
}

static DsmClientResult *
sync_wait (DsmClient *client, Owned *o, GError **error)
{
  gboolean acquired = g_main_context_acquire (client->context);

  g_return_val_if_fail (acquired, NULL);
  while (!o->done)
    g_main_context_iteration (client->context, TRUE);
  g_main_context_release (client->context);
  if (o->error != NULL)
    {
      g_propagate_error (error, o->error);
      g_free (o);
      return NULL;
    }
  return &o->result;
}

DsmClientResult *
dsm_client_transition_sync (DsmClient *client, const char *machine, const char *to, const char *from,
                            const char *definition, GError **error)
{
  Owned *o = g_new0 (Owned, 1);

  dsm_client_transition (client, machine, to, from, definition, sync_done, o);
  return sync_wait (client, o, error);
}

DsmClientResult *
dsm_client_transition_full_sync (DsmClient *client, const char *machine, const char *to,
                                 const DsmClientTransitionOptions *options, GError **error)
{
  Owned *o = g_new0 (Owned, 1);

  dsm_client_transition_full (client, machine, to, options, sync_done, o);
  return sync_wait (client, o, error);
}

DsmClientResult *
dsm_client_read_sync (DsmClient *client, const char *machine, const char *definition, gboolean stale,
                      GError **error)
{
  Owned *o = g_new0 (Owned, 1);

  dsm_client_read (client, machine, definition, stale, sync_done, o);
  return sync_wait (client, o, error);
}

void
dsm_client_result_free (DsmClientResult *result)
{
  Owned *o = (Owned *) result;

  if (result == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (o->strings); i++)
    g_free (o->strings[i]);
  g_free (o);
}

guint
dsm_client_get_pending (DsmClient *client)
{
  return g_hash_table_size (client->sent) + client->waiting.length;
}

guint64
dsm_client_get_retries (DsmClient *client)
{
  return client->retries;
}

guint
dsm_client_get_node (DsmClient *client)
{
  return client->node;
}

const char *
dsm_client_get_address (DsmClient *client)
{
  return client->conn != NULL ? client->conn->address : NULL;
}
