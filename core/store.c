/* core/store.c: the replicated state machine: named machine instances and
 * client sessions, applied in log order, snapshotted as canonical JSON.
 *
 * Sessions (PROTOCOL.md, "Client sessions"): per client id, the outcomes
 * of its last `session_window` sequence numbers.  A (client, seq) seen
 * again repeats its first outcome; one older than the window remembers is
 * answered "unknown" and not applied.  At most `max_sessions` clients are
 * remembered; the one whose last command is oldest is forgotten first.
 * All of it is a function of the applied entries, so every node agrees. */
#include "store.h"

#include <string.h>

#include "codec.h"
#include "definitions.h"
#include "error.h"
#include "json.h"
#include "json-write.h"
#include "membership.h"
#include "name-table.h"
#include "payload.h"
#include "snapshot-scan.h"
#include "store-plugin.h"

typedef struct {
  const char *name;           /* in the same allocation, after the struct:
                               * the lookup's strcmp() and the apply's reads
                               * touch one block (instance_new()) */
  const DsmMachineDef *def;   /* owned by store->defs: the latest version of its name */
  const char *state;          /* owned by def */
  guint64 index;              /* last entry that changed it: its revision */
  char *data;                 /* nullable (empty): canonical JSON object text */
  guint position;             /* in DsmStore.order */
} Instance;

/* An instance's fields as an incremental snapshot must write them: as
 * they were when the snapshot began. */
typedef struct {
  const char *state;
  guint64 index;
  char *data;                 /* owned */
} SavedInstance;

typedef struct {
  guint64 seq;
  DsmReplyStatus status;
  DsmRejectReason reason;
  guint64 index;
  const DsmMachineDef *def;   /* nullable; owned by store->defs */
  const char *from;           /* owned by def, nullable */
  const char *state;          /* owned by def, nullable */
  guint64 revision;           /* the machine's, after the command */
  DsmNodeId member;           /* membership changes: the node */
  char *output;               /* owned, nullable: a machine plugin's answer, repeated to a retry */
} SessionResult;

typedef struct {
  const char *client_id;      /* in the same allocation, after the struct
                               * (session_new()), as an instance's name */
  GArray *results;            /* SessionResult, ascending seq: the window is
                               * [first, len), at most session_window */
  guint first;                /* results before it left the window: removed in
                               * bulk (apply_record_session()), not one by one */
  guint64 last_index;
  GList link;                 /* in DsmStore.lru, data = this */
} Session;

#ifdef DSM_MUTANTS
#define STORE_FORGETS(store) ((store)->forget_sessions)
#else
#define STORE_FORGETS(store) FALSE
#endif

struct _DsmStore {
  DsmConfig *config;
  DsmDefinitions *defs;       /* replicated: the config's, then DEFINE entries' */
  DsmMembership *membership;  /* replicated: the latest CONFIG entry applied (or the config's) */
  guint64 membership_index;   /* the entry that set it; 0: the config's bootstrap */
  DsmNameTable *instances;    /* name -> Instance*: grows a shard at a time */
  GPtrArray *order;           /* Instance*, in creation order: the snapshot's order */
  GHashTable *sessions;       /* client_id -> Session* */
  GQueue lru;                 /* Session, least recently applied first */
  guint64 applied_index;
  guint64 applied_epoch;

  /* The snapshot being written (dsm_store_snapshot_begin()); snap_out is
   * NULL when none is.  It covers order[0, snap_n) as of its begin:
   * instances changed since, and not yet written, left their values of
   * then in snap_saved (position -> SavedInstance). */
  GString *snap_out;
  GString *snap_sessions;     /* the sessions part, written at the begin */
  guint snap_n;
  guint snap_next;            /* position of the next instance to write */
  GHashTable *snap_saved;
#ifdef DSM_MUTANTS
  gboolean forget_sessions;   /* DSM_MUTANT_FORGET_SESSIONS */
  gboolean keeps_states;      /* DSM_MUTANT_SNAPSHOT_KEEPS_STATES */
  gboolean ignore_if_revision;/* DSM_MUTANT_APPLY_IGNORES_IF_REVISION */
  gboolean merge_drops_keys;  /* DSM_MUTANT_MERGE_DROPS_KEYS */
#endif
};

void
dsm_apply_result_clear (DsmApplyResult *result)
{
  g_clear_pointer (&result->def, dsm_machine_def_unref);
  g_clear_pointer (&result->detail, g_free);
  g_clear_pointer (&result->output, g_free);
}

/* Returns: (transfer full): an instance named @name, its other fields zero. */
static Instance *
instance_new (const char *name)
{
  gsize len = strlen (name) + 1;
  Instance *instance = g_malloc0 (sizeof *instance + len);

  instance->name = memcpy (instance + 1, name, len);
  return instance;
}

static void
instance_free (Instance *instance)
{
  g_free (instance->data);
  g_free (instance);
}

static void
saved_instance_free (SavedInstance *saved)
{
  g_free (saved->data);
  g_free (saved);
}

static void
session_result_clear (gpointer data)
{
  SessionResult *r = data;

  g_clear_pointer (&r->output, g_free);
}

/* Returns: (transfer full): an empty window of results. */
static GArray *
session_results_new (void)
{
  GArray *results = g_array_new (FALSE, FALSE, sizeof (SessionResult));

  g_array_set_clear_func (results, session_result_clear);
  return results;
}

/* Returns: (transfer full): @client_id's session, with no results. */
static Session *
session_new (const char *client_id)
{
  gsize len = strlen (client_id) + 1;
  Session *session = g_malloc0 (sizeof *session + len);

  session->client_id = memcpy (session + 1, client_id, len);
  session->results = session_results_new ();
  session->link.data = session;
  return session;
}

static void
session_free (Session *session)
{
  g_array_unref (session->results);
  g_free (session);
}

static DsmNameTable *
instances_new (void)
{
  return dsm_name_table_new ((GDestroyNotify) instance_free);
}

static GHashTable *
sessions_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) session_free);
}

DsmStore *
dsm_store_new (DsmConfig *config)
{
  DsmStore *store = g_new0 (DsmStore, 1);

  store->config = dsm_config_ref (config);
  store->defs = dsm_definitions_new_bootstrap (config);
  store->membership = dsm_membership_new_bootstrap (config);
  store->instances = instances_new ();
  store->order = g_ptr_array_new ();
  store->sessions = sessions_new ();
  g_queue_init (&store->lru);
  return store;
}

void
dsm_store_free (DsmStore *store)
{
  if (store == NULL)
    return;
  dsm_store_snapshot_cancel (store);
  dsm_name_table_free (store->instances);
  g_ptr_array_unref (store->order);
  g_hash_table_unref (store->sessions);
  dsm_definitions_free (store->defs);
  dsm_membership_unref (store->membership);
  dsm_config_unref (store->config);
  g_free (store);
}

guint64
dsm_store_get_applied_index (const DsmStore *store)
{
  return store->applied_index;
}

guint64
dsm_store_get_applied_epoch (const DsmStore *store)
{
  return store->applied_epoch;
}

guint
dsm_store_get_n_machines (const DsmStore *store)
{
  return dsm_name_table_size (store->instances);
}

/* The config names the default definition; its latest version applies. */
static const DsmMachineDef *
store_default_def (const DsmStore *store)
{
  const DsmMachineDef *def = dsm_definitions_find (store->defs, store->config->default_definition, NULL);

  /* The config checked that it exists, and definitions are never dropped. */
  g_assert (def != NULL);
  return def;
}

/* The definition a command uses: the one it names, else the instance's,
 * else the config's default. */
static const DsmMachineDef *
validate_find_definition (const DsmStore *store, const DsmCommand *cmd,
                          const DsmMachineDef *instance_def, DsmRejectReason *reason,
                          GError **error)
{
  if (cmd->definition == NULL)
    return instance_def != NULL
               ? instance_def
               : store_default_def (store);

  const DsmMachineDef *def = dsm_definitions_find (store->defs, cmd->definition, NULL);
  if (def == NULL)
    {
      *reason = DSM_REJECT_BAD_REQUEST;
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_UNKNOWN_DEFINITION,
                   "machine \"%s\": no definition named \"%s\"", cmd->machine, cmd->definition);
      return NULL;
    }
  if (instance_def != NULL && instance_def != def)
    {
      *reason = DSM_REJECT_BAD_REQUEST;
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_DEFINITION_MISMATCH,
                   "machine \"%s\" is a \"%s\", not a \"%s\"", cmd->machine,
                   dsm_machine_def_get_name (instance_def), cmd->definition);
      return NULL;
    }
  return def;
}

/* The static half of validation for @cmd on @instance (NULL: the machine
 * is new); fills in the definition, and (when given) the definition's own
 * spellings of the states it looked up: *@to_out for a built-in
 * machine's transition, *@from_out when the command names a from (each
 * left alone otherwise), so that validate_command() compares pointers
 * instead of looking the names up again. */
static gboolean
validate_static (const DsmStore *store, const DsmCommand *cmd, const Instance *instance,
                 DsmRejectReason *reason, const DsmMachineDef **def_out, const char **to_out,
                 const char **from_out, GError **error)
{
  const DsmMachineDef *def = validate_find_definition (store, cmd, instance ? instance->def : NULL,
                                                       reason, error);
  if (def == NULL)
    return FALSE;
  *def_out = def;

  const char *unknown = NULL;
  const char *to = NULL, *from = NULL;
  if (cmd->op == DSM_OP_TRANSITION && dsm_machine_def_get_impl (def) == NULL
      && (to = dsm_machine_def_lookup_state (def, cmd->to)) == NULL)
    unknown = cmd->to;
  else if (cmd->from != NULL && (from = dsm_machine_def_lookup_state (def, cmd->from)) == NULL)
    unknown = cmd->from;
  if (to_out != NULL && to != NULL)
    *to_out = to;
  if (from_out != NULL && from != NULL)
    *from_out = from;
  if (unknown != NULL)
    {
      *reason = DSM_REJECT_BAD_REQUEST;
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_UNKNOWN_STATE,
                   "machine \"%s\": \"%s\" has no state \"%s\"", cmd->machine,
                   dsm_machine_def_get_name (def), unknown);
      return FALSE;
    }
  return TRUE;
}

gboolean
dsm_store_check (const DsmStore *store, const DsmCommand *cmd, DsmRejectReason *reason,
                 GError **error)
{
  const DsmMachineDef *def;

  g_return_val_if_fail (store != NULL && cmd != NULL, FALSE);
  if (cmd->op == DSM_OP_DEFINE)
    {
      g_autoptr(DsmMachineDef) parsed = dsm_definitions_parse_spec (cmd->definition, cmd->spec, error);
      *reason = DSM_REJECT_BAD_REQUEST;
      return parsed != NULL && dsm_definitions_check_update (store->defs, parsed, error);
    }
  g_return_val_if_fail (cmd->machine != NULL, FALSE);
  if (!validate_static (store, cmd, dsm_name_table_lookup (store->instances, cmd->machine), reason, &def,
                        NULL, NULL, error))
    return FALSE;
  /* A plugin judges its payload itself, against the current state. */
  if (cmd->payload == NULL || dsm_machine_def_get_impl (def) != NULL)
    return TRUE;
  /* What the definition says of any move; the required fields depend on
   * the state the machine will be in, known when it applies. */
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) payload = dsm_payload_parse (cmd->payload, "payload", &dsm_payload_ceilings,
                                                   &local);
  if (payload == NULL || !dsm_machine_def_check_payload (def, NULL, NULL, payload, &local))
    {
      *reason = DSM_REJECT_BAD_REQUEST;
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_BAD_PAYLOAD, "machine \"%s\": %s",
                   cmd->machine, local->message);
      return FALSE;
    }
  return TRUE;
}

/* The payload of @cmd, judged for @def: parsed within the ceilings every
 * node applies, checked against the definition's fields for the move
 * @current -> @to, and merged into @data, whose result must stay within
 * DSM_DATA_BYTES_MAX.  *@merged (when given) takes the new data. */
static gboolean
validate_payload (const DsmCommand *cmd, const DsmMachineDef *def, const char *current,
                  const char *to, const char *data, char **merged, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) payload = dsm_payload_parse (cmd->payload, "payload", &dsm_payload_ceilings,
                                                   &local);

  if (payload == NULL
      || !dsm_machine_def_check_payload (def, current, to, payload, &local))
    {
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_BAD_PAYLOAD,
                   "machine \"%s\": %s", cmd->machine, local->message);
      return FALSE;
    }
  g_autofree char *result = dsm_payload_merge (data, payload);
  if (result != NULL && strlen (result) > DSM_DATA_BYTES_MAX)
    {
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_BAD_PAYLOAD,
                   "machine \"%s\": payload: the data would be %" G_GSIZE_FORMAT
                   " bytes, more than %d", cmd->machine, strlen (result), DSM_DATA_BYTES_MAX);
      return FALSE;
    }
  if (merged != NULL)
    *merged = g_steal_pointer (&result);
  return TRUE;
}

/* dsm_store_validate() for @cmd on @instance (the caller looked it up:
 * apply has it already), also giving the merged data.  @words FALSE: the
 * caller reads a refusal's message only for a payload or a machine plugin
 * (apply_transition()), so a built-in machine's state or revision
 * mismatch and disallowed transition are refused without one: every node
 * applying a refused entry would format it and drop it (~10% of the
 * simulator's instructions on the benchmark). */
static gboolean
validate_command (const DsmStore *store, const DsmCommand *cmd, const Instance *instance,
                  gboolean words, DsmRejectReason *reason, const DsmMachineDef **def_out,
                  const char **to_out, char **merged, char **output, GError **error)
{
  const DsmMachineDef *def = NULL;

  g_return_val_if_fail (store != NULL && cmd != NULL && cmd->machine != NULL, FALSE);
  const char *to = NULL, *from = NULL;
  gboolean ok = validate_static (store, cmd, instance, reason, &def, &to, &from, error);
  if (def_out != NULL)
    *def_out = def;
  if (!ok)
    return FALSE;
  if (cmd->op == DSM_OP_READ)
    return TRUE;

  const DsmMachineImpl *impl = dsm_machine_def_get_impl (def);
  GError **why = words || impl != NULL ? error : NULL;
  const char *current = instance != NULL ? instance->state : dsm_machine_def_get_initial (def);
  guint64 revision = instance != NULL ? instance->index : 0;
  if (to == NULL) /* a plugin's: validate_static() did not look it up */
    to = dsm_machine_def_lookup_state (def, cmd->to);
  if (cmd->from == NULL)
    from = current;
  else if (from == NULL) /* (validate_static() looked it up whenever it passed) */
    from = dsm_machine_def_lookup_state (def, cmd->from);
  if (from != current)
    {
      *reason = DSM_REJECT_INVALID_TRANSITION;
      g_set_error (why, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_STATE_MISMATCH,
                   "machine \"%s\" is in %s, not %s: transition to %s refused",
                   cmd->machine, current, from, to);
      return FALSE;
    }
  if (cmd->has_if_revision && cmd->if_revision != revision)
    {
      *reason = DSM_REJECT_INVALID_TRANSITION;
      g_set_error (why, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_REVISION_MISMATCH,
                   "machine \"%s\" is at revision %" G_GUINT64_FORMAT " (in %s), not %"
                   G_GUINT64_FORMAT ": transition to %s refused",
                   cmd->machine, revision, current, cmd->if_revision, to);
      return FALSE;
    }
  if (impl != NULL)
    {
      /* The plugin's verdict on its own state; the instance stays in its
       * one state (dsm_machine_def_new_plugin()). */
      if (!dsm_store_plugin_run (impl, cmd, instance != NULL ? instance->data : NULL, merged, output, error))
        {
          *reason = DSM_REJECT_INVALID_TRANSITION;
          return FALSE;
        }
      if (to_out != NULL)
        *to_out = current;
      return TRUE;
    }
  if (!dsm_machine_def_validate (def, cmd->machine, current, to, why))
    {
      *reason = DSM_REJECT_INVALID_TRANSITION;
      return FALSE;
    }
  const char *data = instance != NULL ? instance->data : NULL;
#ifdef DSM_MUTANTS
  if (store->merge_drops_keys)
    data = NULL; /* the bug: the payload alone becomes the data */
#endif
  if (cmd->payload != NULL && !validate_payload (cmd, def, current, to, data, merged, error))
    {
      *reason = DSM_REJECT_BAD_REQUEST;
      return FALSE;
    }
  if (cmd->payload == NULL && !dsm_machine_def_check_payload (def, current, to, NULL, error))
    {
      *reason = DSM_REJECT_BAD_REQUEST;
      return FALSE;
    }
  if (to_out != NULL)
    *to_out = to;
  return TRUE;
}

gboolean
dsm_store_validate (const DsmStore *store, const DsmCommand *cmd, DsmRejectReason *reason,
                    const DsmMachineDef **def_out, const char **to_out, GError **error)
{
  g_return_val_if_fail (store != NULL && cmd != NULL && cmd->machine != NULL, FALSE);
  return validate_command (store, cmd, dsm_name_table_lookup (store->instances, cmd->machine), TRUE,
                           reason, def_out, to_out, NULL, NULL, error);
}

/* Results in @session's window. */
static guint
session_n (const Session *session)
{
  g_assert (session->first <= session->results->len);
  return session->results->len - session->first;
}

/* The @i-th result of @session's window (0: the oldest). */
static SessionResult *
session_at (const Session *session, guint i)
{
  g_assert (i < session_n (session));
  return &g_array_index (session->results, SessionResult, session->first + i);
}

static const SessionResult *
session_find (const Session *session, guint64 seq)
{
  /* Windows are small (session_window, 64 by default) and ascending: a
   * new sequence number, the common case, is past the last one. */
  guint n = session_n (session);
  if (n == 0 || seq > session_at (session, n - 1)->seq)
    return NULL;
  for (guint i = n; i-- > 0;)
    {
      const SessionResult *r = session_at (session, i);
      if (r->seq == seq)
        return r;
      if (r->seq < seq)
        break;
    }
  return NULL;
}

static gboolean
session_is_stale (const DsmStore *store, const Session *session, guint64 seq)
{
  return session_n (session) >= store->config->session_window && seq < session_at (session, 0)->seq;
}

static void
result_from_session (const SessionResult *r, DsmApplyResult *result)
{
  result->status = r->status;
  result->reason = r->reason;
  result->result_index = r->index;
  result->def = r->def != NULL ? dsm_machine_def_ref ((DsmMachineDef *) r->def) : NULL;
  result->from = r->from;
  result->state = r->state;
  result->revision = r->revision;
  result->member = r->member;
  /* A retry hears what the first attempt heard (docs/PLUGINS.md, "In a cluster"). */
  result->output = g_strdup (r->output);
}

/* dsm_store_lookup_session() on @session, already looked up (nullable). */
static gboolean
session_lookup (const DsmStore *store, const Session *session, guint64 seq, DsmApplyResult *result,
                gboolean *stale)
{
  *stale = FALSE;
  if (session == NULL)
    return FALSE;
  const SessionResult *r = session_find (session, seq);
  if (r != NULL)
    {
      result_from_session (r, result);
      result->duplicate = TRUE;
      return TRUE;
    }
  *stale = session_is_stale (store, session, seq);
  return FALSE;
}

gboolean
dsm_store_lookup_session (const DsmStore *store, const char *client_id, guint64 seq,
                          DsmApplyResult *result, gboolean *stale)
{
  return session_lookup (store, g_hash_table_lookup (store->sessions, client_id), seq, result, stale);
}

/* Records an outcome in the client's session @session (NULL: it has none
 * yet), creating the session (and forgetting the least recently used one
 * past max_sessions) if needed. */
static void
apply_record_session (DsmStore *store, Session *session, const char *client_id, guint64 seq,
                      const DsmApplyResult *result)
{
  if (session == NULL)
    {
      session = session_new (client_id);
      g_hash_table_insert (store->sessions, (gpointer) session->client_id, session);
      g_queue_push_tail_link (&store->lru, &session->link);
      while (g_hash_table_size (store->sessions) > store->config->max_sessions)
        {
          Session *oldest = g_queue_peek_head (&store->lru);
          g_queue_unlink (&store->lru, &oldest->link);
          g_hash_table_remove (store->sessions, oldest->client_id);
        }
    }
  else
    {
      g_queue_unlink (&store->lru, &session->link);
      g_queue_push_tail_link (&store->lru, &session->link);
    }
  session->last_index = result->index;

  SessionResult r = {
    .seq = seq,
    .status = result->status,
    .reason = result->reason,
    .index = result->result_index,
    .def = result->def,
    .from = result->from,
    .state = result->state,
    .revision = result->revision,
    .member = result->member,
    .output = g_strdup (result->output),
  };
  guint at = session_n (session);
  while (at > 0 && session_at (session, at - 1)->seq > seq)
    at--;
  g_array_insert_val (session->results, session->first + at, r);
  if (session_n (session) > store->config->session_window)
    {
      /* The oldest leaves the window; what left is removed a quarter
       * window at a time (removing it alone moved the whole window on
       * every apply).  The array then holds at most 5/4 of a window:
       * the same allocation as a window and the one result past it
       * took before. */
      session_result_clear (session_at (session, 0));
      session->first++;
      if (session->first >= MAX (1, store->config->session_window / 4))
        {
          g_array_remove_range (session->results, 0, session->first);
          session->first = 0;
        }
    }
  g_assert (session_n (session) <= store->config->session_window);
}

/* Applies a transition that passed (or failed) validation against the
 * stored state. */
static void
apply_transition (DsmStore *store, const DsmEntry *entry, DsmApplyResult *result)
{
  const DsmCommand *cmd = &entry->cmd;
  const DsmMachineDef *def = NULL;
  const char *to = NULL;
  DsmRejectReason reason = DSM_REJECT_NONE;
  Instance *instance = dsm_name_table_lookup (store->instances, cmd->machine);
  g_autofree char *merged = NULL;
  g_autofree char *output = NULL;

  g_autoptr(GError) refused = NULL;
#ifdef DSM_MUTANTS
  DsmCommand unconditional;
  if (store->ignore_if_revision && cmd->has_if_revision)
    {
      /* The bug: the condition was checked at submit; applying forgets it. */
      unconditional = *cmd; /* shallow: the strings stay the entry's */
      unconditional.has_if_revision = FALSE;
      unconditional.if_revision = 0;
      cmd = &unconditional;
    }
#endif
  /* A payload's refusal keeps its words (they name the field), and so
   * does a machine plugin's (its validate's message). */
  gboolean ok = validate_command (store, cmd, instance, FALSE, &reason, &def, &to, &merged, &output,
                                  &refused);
  if (refused != NULL && (g_error_matches (refused, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_BAD_PAYLOAD)
                          || (def != NULL && dsm_machine_def_get_impl (def) != NULL)))
    result->detail = g_strdup (refused->message);
  if (def != NULL)
    result->def = dsm_machine_def_ref ((DsmMachineDef *) def);
  result->from = instance != NULL ? instance->state
                 : def != NULL    ? dsm_machine_def_get_initial (def)
                                  : NULL;
  result->revision = instance != NULL ? instance->index : 0;
  if (!ok || cmd->op == DSM_OP_READ)
    {
      result->status = ok ? DSM_REPLY_OK : DSM_REPLY_REJECTED;
      result->reason = reason;
      result->state = result->from;
      return;
    }

  if (instance == NULL)
    {
      instance = instance_new (cmd->machine);
      instance->def = def;
      instance->position = store->order->len;
      dsm_name_table_insert (store->instances, instance->name, instance);
      g_ptr_array_add (store->order, instance);
    }
  else if (store->snap_out != NULL && instance->position >= store->snap_next
           && instance->position < store->snap_n
           && !g_hash_table_contains (store->snap_saved, GUINT_TO_POINTER (instance->position)))
    {
      /* Copy on write for the snapshot being written. */
      SavedInstance *saved = g_new (SavedInstance, 1);
      saved->state = instance->state;
      saved->index = instance->index;
      saved->data = g_strdup (instance->data);
      g_hash_table_insert (store->snap_saved, GUINT_TO_POINTER (instance->position), saved);
    }
  instance->state = to;
  instance->index = entry->index;
  if (cmd->payload != NULL || dsm_machine_def_get_impl (def) != NULL)
    {
      g_free (instance->data);
      instance->data = g_steal_pointer (&merged);
    }
  result->output = g_steal_pointer (&output);
  result->status = DSM_REPLY_OK;
  result->state = to;
  result->revision = entry->index;
}

/* Points the instances of a redefined machine at its new version (which
 * keeps all their states: dsm_definitions_check_update()). */
static void
apply_define_instances (DsmStore *store, const DsmMachineDef *def)
{
  const char *name = dsm_machine_def_get_name (def);

  for (guint i = 0; i < store->order->len; i++)
    {
      Instance *instance = store->order->pdata[i];
      if (strcmp (dsm_machine_def_get_name (instance->def), name) != 0)
        continue;
      const char *state = dsm_machine_def_lookup_state (def, instance->state);
      g_assert (state != NULL);
      instance->def = def;
      instance->state = state;
    }
}

/* A definition through the log.  Its text was validated when proposed;
 * a node whose validator still refuses it cannot apply it (FALSE): that is
 * not a verdict every node shares, so it must not be turned into one. */
static gboolean
apply_define (DsmStore *store, const DsmEntry *entry, DsmApplyResult *result, GError **error)
{
  const DsmCommand *cmd = &entry->cmd;
  g_autoptr(GError) refused = NULL;
  g_autoptr(DsmMachineDef) def = dsm_definitions_parse_spec (cmd->definition, cmd->spec, error);

  if (def == NULL)
    return FALSE;
  if (!dsm_definitions_check_update (store->defs, def, &refused))
    {
      /* A verdict on the applied prefix, the same on every node. */
      result->status = DSM_REPLY_REJECTED;
      result->reason = DSM_REJECT_BAD_REQUEST;
      return TRUE;
    }
  dsm_definitions_set (store->defs, def, entry->index);
  apply_define_instances (store, def);
  result->def = dsm_machine_def_ref (def);
  return TRUE;
}

gboolean
dsm_store_apply (DsmStore *store, const DsmEntry *entry, DsmApplyResult *result, GError **error)
{
  g_return_val_if_fail (store != NULL && entry != NULL && result != NULL, FALSE);
  g_assert (entry->index == store->applied_index + 1);

  memset (result, 0, sizeof *result);
  result->index = entry->index;
  result->epoch = entry->epoch;
  result->result_index = entry->index;
  result->status = DSM_REPLY_OK;
  if (entry->kind == DSM_ENTRY_NOOP)
    {
      store->applied_index = entry->index;
      store->applied_epoch = entry->epoch;
      return TRUE;
    }

  const DsmCommand *cmd = &entry->cmd;
  /* The client's session, looked up once for both the retry check and
   * the record (nothing between them adds or forgets a session). */
  Session *session = cmd->client_id != NULL ? g_hash_table_lookup (store->sessions, cmd->client_id) : NULL;
  if (entry->kind == DSM_ENTRY_CONFIG)
    {
      /* The membership took effect when the entry was appended (the node
       * uses its log's latest); the store keeps the committed one, for
       * snapshots.  Always, even for a retried (client, seq): the entry
       * is the configuration from here on. */
      g_assert (entry->membership != NULL);
      g_assert (dsm_membership_voter_difference (store->membership, entry->membership) <= 1);
      dsm_membership_unref (store->membership);
      store->membership = dsm_membership_ref (entry->membership);
      store->membership_index = entry->index;
      result->member = cmd->node;
    }
  if (cmd->client_id != NULL)
    {
      gboolean stale = FALSE;
      /* (The forget-sessions mutant looks nothing up: it applies again.) */
      if (!STORE_FORGETS (store) && session_lookup (store, session, cmd->seq, result, &stale))
        goto applied;
      if (stale)
        {
          /* Too old to tell whether it already took effect: refuse to
           * apply it a second time, and say the outcome is unknown. */
          result->status = DSM_REPLY_UNKNOWN;
          result->reason = DSM_REJECT_STALE_REQUEST;
          goto applied;
        }
    }
  if (cmd->op == DSM_OP_DEFINE)
    {
      if (!apply_define (store, entry, result, error))
        return FALSE; /* not applied: applied_index stays */
    }
  else if (entry->kind == DSM_ENTRY_COMMAND)
    apply_transition (store, entry, result);
  if (cmd->client_id != NULL)
    apply_record_session (store, session, cmd->client_id, cmd->seq, result);

applied:
  store->applied_index = entry->index;
  store->applied_epoch = entry->epoch;
  return TRUE;
}

DsmMembership *
dsm_store_get_membership (const DsmStore *store, guint64 *index)
{
  if (index != NULL)
    *index = store->membership_index;
  return store->membership;
}

const DsmDefinitions *
dsm_store_get_definitions (const DsmStore *store)
{
  return store->defs;
}

const char *
dsm_store_read (const DsmStore *store, const char *machine, const char *definition,
                const DsmMachineDef **def_out)
{
  return dsm_store_read_data (store, machine, definition, def_out, NULL, NULL);
}

const char *
dsm_store_read_data (const DsmStore *store, const char *machine, const char *definition,
                     const DsmMachineDef **def_out, guint64 *revision, const char **data)
{
  const Instance *instance = dsm_name_table_lookup (store->instances, machine);
  const DsmMachineDef *def;

  if (definition != NULL)
    {
      def = dsm_definitions_find (store->defs, definition, NULL);
      if (def == NULL || (instance != NULL && instance->def != def))
        return NULL;
    }
  else
    def = instance != NULL ? instance->def
                           : store_default_def (store);
  if (def_out != NULL)
    *def_out = def;
  if (revision != NULL)
    *revision = instance != NULL ? instance->index : 0;
  if (data != NULL)
    *data = instance != NULL ? instance->data : NULL;
  return instance != NULL ? instance->state : dsm_machine_def_get_initial (def);
}

guint
dsm_store_foreach_range (const DsmStore *store, guint start, guint limit, DsmStoreForeachFunc func,
                         gpointer user_data)
{
  guint end;

  g_return_val_if_fail (store != NULL, 0);
  g_return_val_if_fail (func != NULL, 0);

  if (start >= store->order->len)
    return 0;
  end = start + MIN (limit, store->order->len - start);
  for (guint i = start; i < end; i++)
    {
      const Instance *instance = store->order->pdata[i];
      func (instance->name, instance->def, instance->state, instance->index, user_data);
    }
  return end - start;
}

static void
snapshot_write_result (GString *out, const SessionResult *r)
{
  DSM_JSON_APPEND_LITERAL (out, "{\"seq\":");
  dsm_codec_write_uint (out, r->seq);
  DSM_JSON_APPEND_LITERAL (out, ",\"status\":\"");
  dsm_json_append_str (out, dsm_reply_status_to_string (r->status));
  DSM_JSON_APPEND_LITERAL (out, "\",\"reason\":\"");
  dsm_json_append_str (out, dsm_reject_reason_to_string (r->reason));
  DSM_JSON_APPEND_LITERAL (out, "\",\"index\":");
  dsm_codec_write_uint (out, r->index);
  if (r->def != NULL)
    {
      DSM_JSON_APPEND_LITERAL (out, ",\"definition\":");
      dsm_codec_write_string (out, dsm_machine_def_get_name (r->def));
    }
  if (r->from != NULL)
    {
      DSM_JSON_APPEND_LITERAL (out, ",\"from\":");
      dsm_codec_write_string (out, r->from);
    }
  if (r->state != NULL)
    {
      DSM_JSON_APPEND_LITERAL (out, ",\"state\":");
      dsm_codec_write_string (out, r->state);
    }
  if (r->member != DSM_NODE_NONE)
    {
      DSM_JSON_APPEND_LITERAL (out, ",\"member\":");
      dsm_codec_write_uint (out, r->member);
    }
  if (r->revision != 0)
    {
      DSM_JSON_APPEND_LITERAL (out, ",\"revision\":");
      dsm_codec_write_uint (out, r->revision);
    }
  if (r->output != NULL)
    {
      DSM_JSON_APPEND_LITERAL (out, ",\"output\":");
      dsm_codec_write_string (out, r->output);
    }
  dsm_json_append_c (out, '}');
}

/* Snapshots are canonical JSON: instances in creation order (the same on
 * every node, creation following the log, and kept by restore), sessions
 * in LRU order (the order decides who is forgotten next), so stores with
 * the same history give equal bytes with no sort.  They are written a
 * slice at a time: a store of 500,000 machines takes ~170 ms to write in
 * a live node, longer than an election timeout, so the node writes a
 * slice every few ms (snapshot.c) and the apply path keeps the
 * begin-time values of instances the snapshot has not reached yet. */

/* The replicated configuration comes first: the membership in force at
 * the applied index and the definitions with their versions. */
static void
snapshot_write_header (GString *out, const DsmStore *store)
{
  g_string_append_printf (out, "{\"format\":\"dsm-store-2\",\"applied_index\":%" G_GUINT64_FORMAT ",\"applied_epoch\":%" G_GUINT64_FORMAT ",\"membership_index\":%" G_GUINT64_FORMAT ",\"membership\":",
                          store->applied_index, store->applied_epoch, store->membership_index);
  dsm_membership_write_json (out, store->membership);
  DSM_JSON_APPEND_LITERAL (out, ",\"definitions\":");
  dsm_definitions_write_json (out, store->defs);
  DSM_JSON_APPEND_LITERAL (out, ",\"machines\":[");
}

/* The part of an instance's JSON that its definition and state decide,
 * `,"definition":"D","state":"S","index":`, written once for a run of
 * instances that share them (in a large store, most do) rather than
 * escaped again for each.  Keyed by pointers, so it lives for one call
 * writing instances: nothing is applied (and no definition freed) in it. */
typedef struct {
  const DsmMachineDef *def;
  const char *state;
  GString *text;
} SnapshotFragment;

static void
snapshot_fragment_init (SnapshotFragment *fragment)
{
  fragment->def = NULL;
  fragment->state = NULL;
  fragment->text = g_string_sized_new (96);
}

static void
snapshot_fragment_clear (SnapshotFragment *fragment)
{
  g_string_free (g_steal_pointer (&fragment->text), TRUE);
}

/* Instance @position with @state, @index and @data (its own, or saved). */
static void
snapshot_write_instance (GString *out, SnapshotFragment *fragment, guint position,
                         const Instance *instance, const char *state, guint64 index,
                         const char *data)
{
  g_assert (state != NULL);
  g_assert (instance->def != NULL);

  if (fragment->def != instance->def || fragment->state != state)
    {
      g_string_truncate (fragment->text, 0);
      DSM_JSON_APPEND_LITERAL (fragment->text, ",\"definition\":");
      dsm_json_write_string (fragment->text, dsm_machine_def_get_name (instance->def));
      DSM_JSON_APPEND_LITERAL (fragment->text, ",\"state\":");
      dsm_json_write_string (fragment->text, state);
      DSM_JSON_APPEND_LITERAL (fragment->text, ",\"index\":");
      fragment->def = instance->def;
      fragment->state = state;
    }
  if (position > 0)
    DSM_JSON_APPEND_LITERAL (out, ",{\"name\":");
  else
    DSM_JSON_APPEND_LITERAL (out, "{\"name\":");
  dsm_json_write_string (out, instance->name);
  dsm_json_append_len (out, fragment->text->str, fragment->text->len);
  dsm_json_write_uint (out, index);
  if (data != NULL)
    {
      /* A string, so that its nesting is not the snapshot's. */
      DSM_JSON_APPEND_LITERAL (out, ",\"data\":");
      dsm_json_write_string (out, data);
    }
  dsm_json_append_c (out, '}');
}

/* The sessions, in LRU order, without the enclosing brackets. */
static void
snapshot_write_sessions (GString *out, const DsmStore *store)
{
  for (GList *l = store->lru.head; l != NULL; l = l->next)
    {
      const Session *session = l->data;
      if (l != store->lru.head)
        dsm_json_append_c (out, ',');
      DSM_JSON_APPEND_LITERAL (out, "{\"client_id\":");
      dsm_codec_write_string (out, session->client_id);
      DSM_JSON_APPEND_LITERAL (out, ",\"last_index\":");
      dsm_codec_write_uint (out, session->last_index);
      DSM_JSON_APPEND_LITERAL (out, ",\"results\":[");
      for (guint i = 0; i < session_n (session); i++)
        {
          if (i > 0)
            dsm_json_append_c (out, ',');
          snapshot_write_result (out, session_at (session, i));
        }
      DSM_JSON_APPEND_LITERAL (out, "]}");
    }
}

static void
snapshot_write_footer (GString *out, const char *sessions, gsize sessions_length)
{
  g_string_append (out, "],\"sessions\":[");
  g_string_append_len (out, sessions, (gssize) sessions_length);
  g_string_append (out, "]}");
}

/* Returns: (transfer full): @out's text, in an allocation of its size.
 * The string grew by doubling, and a node holds its snapshot until the
 * next: at the peak of the simulator's benchmark workload the snapshots
 * took 3.1 MB of heap for 1.7 MB of text (docs/BENCHMARKS.md, "The
 * simulator against raft_fixture"), and a real node's snapshot of a large
 * store up to twice its size. */
static GBytes *
snapshot_bytes (GString *out)
{
  gsize length = out->len;
  char *text = g_string_free (out, FALSE);

  return g_bytes_new_take (g_realloc (text, length + 1), length);
}

gboolean
dsm_store_snapshot_in_progress (const DsmStore *store)
{
  return store->snap_out != NULL;
}

void
dsm_store_snapshot_begin (DsmStore *store)
{
  g_return_if_fail (store != NULL);
  g_return_if_fail (store->snap_out == NULL);

  store->snap_out = g_string_sized_new (128 + 64 * store->order->len);
  snapshot_write_header (store->snap_out, store);
  store->snap_n = store->order->len;
  store->snap_next = 0;
  store->snap_saved = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) saved_instance_free);
  /* Sessions are few (max_sessions) and change with every command: they
   * are written now, whole. */
  store->snap_sessions = g_string_new (NULL);
  snapshot_write_sessions (store->snap_sessions, store);
}

gboolean
dsm_store_snapshot_step (DsmStore *store, guint budget)
{
  SnapshotFragment fragment;
  guint end;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (store->snap_out != NULL, FALSE);

  end = store->snap_next + MIN (budget, store->snap_n - store->snap_next);
  snapshot_fragment_init (&fragment);
  for (guint i = store->snap_next; i < end; i++)
    {
      const Instance *instance = store->order->pdata[i];
      /* Usually none is saved: no lookup per instance then. */
      const SavedInstance *saved = g_hash_table_size (store->snap_saved) == 0 ? NULL
        : g_hash_table_lookup (store->snap_saved, GUINT_TO_POINTER (i));

      if (saved != NULL)
        {
          snapshot_write_instance (store->snap_out, &fragment, i, instance, saved->state,
                                   saved->index, saved->data);
          g_hash_table_remove (store->snap_saved, GUINT_TO_POINTER (i));
        }
      else
        snapshot_write_instance (store->snap_out, &fragment, i, instance, instance->state,
                                 instance->index, instance->data);
    }
  snapshot_fragment_clear (&fragment);
  store->snap_next = end;
  return end == store->snap_n;
}

GBytes *
dsm_store_snapshot_finish (DsmStore *store)
{
  GString *out;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (store->snap_out != NULL, NULL);
  g_return_val_if_fail (store->snap_next == store->snap_n, NULL);

  out = g_steal_pointer (&store->snap_out);
  snapshot_write_footer (out, store->snap_sessions->str, store->snap_sessions->len);
  dsm_store_snapshot_cancel (store);
  return snapshot_bytes (out);
}

void
dsm_store_snapshot_cancel (DsmStore *store)
{
  g_return_if_fail (store != NULL);

  if (store->snap_out != NULL)
    g_string_free (g_steal_pointer (&store->snap_out), TRUE);
  if (store->snap_sessions != NULL)
    g_string_free (g_steal_pointer (&store->snap_sessions), TRUE);
  g_clear_pointer (&store->snap_saved, g_hash_table_unref);
  store->snap_n = store->snap_next = 0;
}

GBytes *
dsm_store_snapshot (const DsmStore *store)
{
  g_autoptr(GString) sessions = g_string_new (NULL);
  SnapshotFragment fragment;
  GString *out;

  g_return_val_if_fail (store != NULL, NULL);

  /* The store as it is now, in one go; independent of any snapshot in
   * progress (the same writers, so the same bytes). */
  out = g_string_sized_new (128 + 64 * store->order->len);
  snapshot_write_header (out, store);
  snapshot_fragment_init (&fragment);
  for (guint i = 0; i < store->order->len; i++)
    {
      const Instance *instance = store->order->pdata[i];
      snapshot_write_instance (out, &fragment, i, instance, instance->state, instance->index,
                               instance->data);
    }
  snapshot_fragment_clear (&fragment);
  snapshot_write_sessions (sessions, store);
  snapshot_write_footer (out, sessions->str, sessions->len);
  return snapshot_bytes (out);
}

/* Reading a snapshot back: every field checked with the JSON layer
 * (core/json.h), errors naming the path ("snapshot.machines[3].state:
 * expected a string, found 7"); any of them is a corrupt snapshot. */
static const DsmJsonErrors restore_errors = {
  dsm_machine_error_quark,
  {
    [DSM_JSON_ERROR_SYNTAX] = DSM_MACHINE_ERROR_CORRUPT,
    [DSM_JSON_ERROR_DUPLICATE] = DSM_MACHINE_ERROR_CORRUPT,
    [DSM_JSON_ERROR_TOO_DEEP] = DSM_MACHINE_ERROR_CORRUPT,
    [DSM_JSON_ERROR_TOO_LARGE] = DSM_MACHINE_ERROR_CORRUPT,
    [DSM_JSON_ERROR_MISSING] = DSM_MACHINE_ERROR_CORRUPT,
    [DSM_JSON_ERROR_TYPE] = DSM_MACHINE_ERROR_CORRUPT,
    [DSM_JSON_ERROR_RANGE] = DSM_MACHINE_ERROR_CORRUPT,
    [DSM_JSON_ERROR_CHOICE] = DSM_MACHINE_ERROR_CORRUPT,
    [DSM_JSON_ERROR_UNKNOWN] = DSM_MACHINE_ERROR_CORRUPT,
    [DSM_JSON_ERROR_INVALID] = DSM_MACHINE_ERROR_CORRUPT,
  },
};

static gboolean
restore_get_uint (const DsmJsonAt *obj, const char *member, guint64 *out, GError **error)
{
  return dsm_json_read_uint (obj, member, DSM_JSON_REQUIRED, 0, G_MAXUINT64, out, error);
}

static const char *
restore_get_string (const DsmJsonAt *obj, const char *member, gboolean optional,
                    GError **error)
{
  const char *text = NULL;

  if (!dsm_json_read_string (obj, member, optional ? DSM_JSON_OPTIONAL : DSM_JSON_REQUIRED, 0,
                             &text, error))
    return NULL;
  return text;
}

/* The array @member of @obj into @at; *@length its length. */
static gboolean
restore_get_array (DsmJsonAt *at, const DsmJsonAt *obj, const char *member, guint *length,
                   GError **error)
{
  return dsm_json_read_member (at, obj, member, DSM_JSON_REQUIRED, error)
         && dsm_json_get_array (at, G_MAXUINT, length, error);
}

/* Resolves a definition name and, optionally, a state of it. */
static gboolean
restore_resolve (const DsmDefinitions *defs, const DsmJsonAt *at, const char *def_name,
                 const char *state_name, const DsmMachineDef **def, const char **state,
                 GError **error)
{
  *def = dsm_definitions_find (defs, def_name, NULL);
  if (*def == NULL)
    return dsm_json_fail (at, DSM_JSON_ERROR_INVALID, error, "no definition named \"%s\"",
                          def_name);
  if (state_name == NULL)
    return TRUE;
  *state = dsm_machine_def_lookup_state (*def, state_name);
  if (*state == NULL)
    return dsm_json_fail (at, DSM_JSON_ERROR_INVALID, error, "\"%s\" is not a state of \"%s\"",
                          state_name, def_name);
  return TRUE;
}

/* A machine's optional "data": an object's text within the ceilings,
 * kept in canonical form.  Snapshots written before payloads have none. */
static gboolean
restore_data_text (const char *text, char **out, GError **error)
{
  g_autoptr(JsonNode) node = dsm_payload_parse (text, "data", &dsm_payload_data_limits, error);
  if (node == NULL)
    return FALSE;
  if (json_object_get_size (json_node_get_object (node)) > 0)
    *out = dsm_payload_to_text (node);
  return TRUE;
}

static gboolean
restore_data (const DsmJsonAt *machine, char **out, GError **error)
{
  const char *text = NULL;
  g_autoptr(GError) local = NULL;

  if (!dsm_json_read_string (machine, "data", DSM_JSON_OPTIONAL, 0, &text, error))
    return FALSE;
  if (text != NULL && !restore_data_text (text, out, &local))
    return dsm_json_fail (machine, DSM_JSON_ERROR_INVALID, error, "%s", local->message);
  return TRUE;
}

/* A new instance at the end of @order; takes @data. */
static void
restore_add_instance (DsmNameTable *instances, GPtrArray *order, const char *name,
                      const DsmMachineDef *def, const char *state, guint64 index, char *data)
{
  Instance *instance = instance_new (name);

  g_assert (dsm_name_table_lookup (instances, name) == NULL);
  instance->data = data;
  instance->position = order->len;
  instance->def = def;
  instance->state = state;
  instance->index = index;
  dsm_name_table_insert (instances, instance->name, instance);
  g_ptr_array_add (order, instance);
}

static gboolean
restore_machines (const DsmDefinitions *defs, const DsmJsonAt *machines, guint n_machines,
                  DsmNameTable *instances, GPtrArray *order, GError **error)
{
  for (guint i = 0; i < n_machines; i++)
    {
      DsmJsonAt at;

      dsm_json_at_element (&at, machines, i);
      if (!dsm_json_get_object (&at, NULL, error))
        return FALSE;
      const char *name = restore_get_string (&at, "name", FALSE, error);
      const char *def_name = name ? restore_get_string (&at, "definition", FALSE, error) : NULL;
      const char *state_name = def_name ? restore_get_string (&at, "state", FALSE, error) : NULL;
      guint64 index = 0;
      const DsmMachineDef *def = NULL;
      const char *state = NULL;
      if (state_name == NULL || !restore_get_uint (&at, "index", &index, error)
          || !restore_resolve (defs, &at, def_name, state_name, &def, &state, error))
        return FALSE;
      if (dsm_name_table_lookup (instances, name) != NULL)
        {
          DsmJsonAt name_at;

          dsm_json_at_member (&name_at, &at, "name");
          return dsm_json_fail (&name_at, DSM_JSON_ERROR_INVALID, error,
                                "duplicate machine \"%s\"", name);
        }
      g_autofree char *data = NULL;
      if (!restore_data (&at, &data, error))
        return FALSE;
      restore_add_instance (instances, order, name, def, state, index, g_steal_pointer (&data));
    }
  return TRUE;
}

static gboolean
restore_result (const DsmDefinitions *defs, const DsmJsonAt *at, SessionResult *r,
                GError **error)
{
  const char *status = restore_get_string (at, "status", FALSE, error);
  const char *reason = status ? restore_get_string (at, "reason", FALSE, error) : NULL;
  if (reason == NULL || !restore_get_uint (at, "seq", &r->seq, error)
      || !restore_get_uint (at, "index", &r->index, error))
    return FALSE;
  if (!dsm_reply_status_from_string (status, &r->status)
      || !dsm_reject_reason_from_string (reason, &r->reason))
    return dsm_json_fail (at, DSM_JSON_ERROR_CHOICE, error,
                          "bad status \"%s\" or reason \"%s\"", status, reason);
  guint member = r->member;
  if (!dsm_json_read_uint32 (at, "member", DSM_JSON_OPTIONAL, 0, DSM_NODE_ID_MAX, &member, error))
    return FALSE;
  r->member = (DsmNodeId) member;
  /* Optional: snapshots written before revisions (then 0, unknown). */
  if (!dsm_json_read_uint (at, "revision", DSM_JSON_OPTIONAL, 0, G_MAXUINT64, &r->revision, error))
    return FALSE;
  GError *local = NULL;
  const char *def_name = restore_get_string (at, "definition", TRUE, &local);
  const char *from = local == NULL ? restore_get_string (at, "from", TRUE, &local) : NULL;
  const char *state = local == NULL ? restore_get_string (at, "state", TRUE, &local) : NULL;
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  if (def_name == NULL)
    return (from == NULL && state == NULL)
           || dsm_json_fail (at, DSM_JSON_ERROR_INVALID, error, "states without a definition");
  if (!restore_resolve (defs, at, def_name, from, &r->def, &r->from, error)
      || !restore_resolve (defs, at, def_name, state, &r->def, &r->state, error))
    return FALSE;
  /* Last, so nothing fails after it is taken: a plugin's answer. */
  const char *output = NULL;
  if (!dsm_json_read_string (at, "output", DSM_JSON_OPTIONAL, DSM_PLUGIN_OUTPUT_BYTES_MAX, &output, error))
    return FALSE;
  r->output = g_strdup (output);
  return TRUE;
}

/* A new session, with no results, at the tail of @lru. */
static Session *
restore_add_session (GHashTable *table, GQueue *lru, const char *client_id, guint64 last_index)
{
  Session *session = session_new (client_id);

  g_assert (!g_hash_table_contains (table, client_id));
  session->last_index = last_index;
  g_hash_table_insert (table, (gpointer) session->client_id, session);
  g_queue_push_tail_link (lru, &session->link);
  return session;
}

static gboolean
restore_sessions (const DsmStore *store, const DsmDefinitions *defs, const DsmJsonAt *sessions,
                  guint n_sessions, GHashTable *table, GQueue *lru, GError **error)
{
  for (guint i = 0; i < n_sessions; i++)
    {
      DsmJsonAt at;
      DsmJsonAt results;
      guint n_results = 0;

      dsm_json_at_element (&at, sessions, i);
      if (!dsm_json_get_object (&at, NULL, error))
        return FALSE;
      const char *client_id = restore_get_string (&at, "client_id", FALSE, error);
      guint64 last_index = 0;
      if (client_id == NULL || !restore_get_uint (&at, "last_index", &last_index, error)
          || !restore_get_array (&results, &at, "results", &n_results, error))
        return FALSE;
      if (g_hash_table_contains (table, client_id) || n_results > store->config->session_window)
        return dsm_json_fail (&at, DSM_JSON_ERROR_INVALID, error,
                              "duplicate client or too many results");
      Session *session = restore_add_session (table, lru, client_id, last_index);
      for (guint j = 0; j < n_results; j++)
        {
          SessionResult r = { 0 };
          DsmJsonAt rat;

          dsm_json_at_element (&rat, &results, j);
          if (!dsm_json_get_object (&rat, NULL, error) || !restore_result (defs, &rat, &r, error))
            return FALSE;
          if (j > 0 && r.seq <= session_at (session, j - 1)->seq)
            {
              DsmJsonAt seq;

              dsm_json_at_member (&seq, &rat, "seq");
              session_result_clear (&r);
              return dsm_json_fail (&seq, DSM_JSON_ERROR_INVALID, error, "not ascending");
            }
          g_array_append_val (session->results, r);
        }
    }
  return TRUE;
}

/* A snapshot read, before it replaces the store's state. */
typedef struct {
  const DsmStore *store;
  guint64 applied_index;
  guint64 applied_epoch;
  guint64 membership_index;
  DsmDefinitions *defs;
  DsmMembership *membership;
  DsmNameTable *instances;
  GPtrArray *order;
  GHashTable *sessions;
  GQueue lru;                 /* its links live in the sessions */
  Session *session;           /* the session whose results are being read */
} Restored;

static void
restored_init (Restored *r, const DsmStore *store)
{
  *r = (Restored) { .store = store };
  r->instances = instances_new ();
  r->order = g_ptr_array_new ();
  r->sessions = sessions_new ();
  g_queue_init (&r->lru);
}

static void
restored_clear (Restored *r)
{
  g_clear_pointer (&r->defs, dsm_definitions_free);
  g_clear_pointer (&r->membership, dsm_membership_unref);
  g_clear_pointer (&r->instances, dsm_name_table_free);
  g_clear_pointer (&r->order, g_ptr_array_unref);
  g_clear_pointer (&r->sessions, g_hash_table_unref);
}

/* The config's default definition, which a store must hold, and the
 * membership index, which the applied index may not be behind. */
static gboolean
restore_check_header (const Restored *r, GError **error)
{
  if (dsm_definitions_find (r->defs, r->store->config->default_definition, NULL) == NULL)
    {
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT,
                   "snapshot.definitions: no \"%s\", the config's default definition",
                   r->store->config->default_definition);
      return FALSE;
    }
  if (r->membership_index > r->applied_index)
    {
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT,
                   "snapshot.membership_index: past the applied index");
      return FALSE;
    }
  return TRUE;
}

/* ---- the fast path: straight from the text (core/snapshot-scan.c) ---- */

/* Each callback declines (FALSE) whatever the full path would refuse, so
 * that path gives the error. */
static gboolean
restore_fast_header (const DsmSnapshotHeader *header, gpointer user_data)
{
  Restored *r = user_data;
  g_autoptr(JsonNode) membership = dsm_codec_parse (header->membership, header->membership_length, NULL);
  g_autoptr(JsonNode) definitions = dsm_codec_parse (header->definitions, header->definitions_length, NULL);

  r->applied_index = header->applied_index;
  r->applied_epoch = header->applied_epoch;
  r->membership_index = header->membership_index;
  if (membership == NULL || definitions == NULL)
    return FALSE;
  r->membership = dsm_membership_from_json (membership, "membership", NULL);
  r->defs = dsm_definitions_from_json (definitions, "definitions", r->store->config, NULL);
  return r->membership != NULL && r->defs != NULL && restore_check_header (r, NULL);
}

static gboolean
restore_fast_machine (const char *name, const char *def_name, const char *state_name,
                      guint64 index, const char *data, gpointer user_data)
{
  Restored *r = user_data;
  const DsmMachineDef *def = dsm_definitions_find (r->defs, def_name, NULL);
  const char *state = def != NULL ? dsm_machine_def_lookup_state (def, state_name) : NULL;
  char *text = NULL;

  if (state == NULL || dsm_name_table_lookup (r->instances, name) != NULL
      || (data != NULL && !restore_data_text (data, &text, NULL)))
    return FALSE;
  restore_add_instance (r->instances, r->order, name, def, state, index, text);
  return TRUE;
}

static gboolean
restore_fast_session (const char *client_id, guint64 last_index, gpointer user_data)
{
  Restored *r = user_data;

  if (g_hash_table_contains (r->sessions, client_id))
    return FALSE;
  r->session = restore_add_session (r->sessions, &r->lru, client_id, last_index);
  return TRUE;
}

/* @def_name's definition and, when given, its state @name into *@state. */
static gboolean
restore_fast_resolve (const DsmDefinitions *defs, const char *def_name, const char *name,
                      SessionResult *result, const char **state)
{
  if (def_name == NULL)
    return name == NULL;
  result->def = dsm_definitions_find (defs, def_name, NULL);
  return result->def != NULL
         && (name == NULL || (*state = dsm_machine_def_lookup_state (result->def, name)) != NULL);
}

static gboolean
restore_fast_result (const DsmSnapshotResult *in, gpointer user_data)
{
  Restored *r = user_data;
  Session *session = r->session;
  SessionResult result = { .seq = in->seq, .index = in->index, .member = (DsmNodeId) in->member,
                           .revision = in->revision };

  if (session == NULL || session_n (session) >= r->store->config->session_window
      || (session_n (session) > 0 && in->seq <= session_at (session, session_n (session) - 1)->seq)
      || !dsm_reply_status_from_string (in->status, &result.status)
      || !dsm_reject_reason_from_string (in->reason, &result.reason)
      || !restore_fast_resolve (r->defs, in->definition, in->from, &result, &result.from)
      || !restore_fast_resolve (r->defs, in->definition, in->state, &result, &result.state))
    return FALSE;
  result.output = g_strdup (in->output);
  g_array_append_val (session->results, result);
  return TRUE;
}

static gboolean
restore_fast (Restored *r, const char *data, gsize size)
{
  static const DsmSnapshotScanFuncs funcs = {
    restore_fast_header, restore_fast_machine, restore_fast_session, restore_fast_result,
  };

  return dsm_snapshot_scan (data, size, &funcs, r);
}

/* ---- the full path: a JSON tree, every error named ---- */

static gboolean
restore_full (Restored *r, const char *data, gsize size, GError **error)
{
  g_autoptr(GError) parse_error = NULL;
  g_autoptr(JsonNode) root = dsm_codec_parse_snapshot (data, size, &parse_error);
  if (root == NULL)
    {
      g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT, "snapshot: %s",
                   parse_error->message);
      return FALSE;
    }

  DsmJsonAt obj;
  dsm_json_at_root (&obj, &restore_errors, root, "snapshot");
  if (!dsm_json_get_object (&obj, NULL, error))
    return FALSE;
  /* dsm-store-1 came before membership and definitions were replicated:
   * its store had the config's. */
  static const char *const formats[] = { "dsm-store-1", "dsm-store-2", NULL };
  guint format = 0;
  if (!dsm_json_read_enum (&obj, "format", DSM_JSON_REQUIRED, formats, &format, error))
    return FALSE;
  gboolean v1 = format == 0;

  DsmJsonAt machines, sessions;
  guint n_machines = 0, n_sessions = 0;
  if (!restore_get_uint (&obj, "applied_index", &r->applied_index, error)
      || !restore_get_uint (&obj, "applied_epoch", &r->applied_epoch, error)
      || !restore_get_array (&machines, &obj, "machines", &n_machines, error)
      || !restore_get_array (&sessions, &obj, "sessions", &n_sessions, error))
    return FALSE;

  if (v1)
    {
      r->defs = dsm_definitions_new_bootstrap (r->store->config);
      r->membership = dsm_membership_new_bootstrap (r->store->config);
    }
  else
    {
      g_autoptr(GError) local = NULL;
      DsmJsonAt member, definitions;
      if (!restore_get_uint (&obj, "membership_index", &r->membership_index, error)
          || !dsm_json_read_member (&member, &obj, "membership", DSM_JSON_REQUIRED, error)
          || !dsm_json_read_member (&definitions, &obj, "definitions", DSM_JSON_REQUIRED,
                                    error))
        return FALSE;
      if ((r->membership = dsm_membership_from_json (member.node, "membership", &local)) == NULL)
        {
          g_set_error (error, DSM_MACHINE_ERROR, DSM_MACHINE_ERROR_CORRUPT,
                       "snapshot.membership: %s", local->message);
          return FALSE;
        }
      r->defs = dsm_definitions_from_json (definitions.node, "definitions", r->store->config, error);
      if (r->defs == NULL)
        return FALSE;
    }
  return restore_check_header (r, error)
         && restore_machines (r->defs, &machines, n_machines, r->instances, r->order, error)
         && restore_sessions (r->store, r->defs, &sessions, n_sessions, r->sessions, &r->lru, error);
}

#ifdef DSM_MUTANTS
static void restore_keep_states (DsmStore *store, const GPtrArray *order);
#endif

gboolean
dsm_store_restore (DsmStore *store, GBytes *snapshot, GError **error)
{
  g_return_val_if_fail (store != NULL && snapshot != NULL, FALSE);
  g_return_val_if_fail (store->snap_out == NULL, FALSE);

  gsize size = 0;
  const char *data = g_bytes_get_data (snapshot, &size);
  Restored r;

  /* The snapshots dsm writes take the fast path; anything else, and every
   * error, the full one. */
  restored_init (&r, store);
  if (!restore_fast (&r, data, size))
    {
      restored_clear (&r);
      restored_init (&r, store);
      if (!restore_full (&r, data, size, error))
        {
          restored_clear (&r);
          return FALSE;
        }
    }

#ifdef DSM_MUTANTS
  if (store->keeps_states)
    restore_keep_states (store, r.order);
#endif
  dsm_definitions_free (store->defs);
  store->defs = g_steal_pointer (&r.defs);
  dsm_membership_unref (store->membership);
  store->membership = g_steal_pointer (&r.membership);
  store->membership_index = r.membership_index;
  dsm_name_table_free (store->instances);
  g_ptr_array_unref (store->order);
  g_hash_table_unref (store->sessions);
  store->instances = g_steal_pointer (&r.instances);
  store->order = g_steal_pointer (&r.order);
  store->sessions = g_steal_pointer (&r.sessions);
  store->lru = r.lru;
  store->applied_index = r.applied_index;
  store->applied_epoch = r.applied_epoch;
  restored_clear (&r);
  return TRUE;
}

#ifdef DSM_MUTANTS
void
dsm_store_set_mutants (DsmStore *store, gboolean forget_sessions, gboolean restore_keeps_states)
{
  store->forget_sessions = forget_sessions;
  store->keeps_states = restore_keeps_states;
}

void
dsm_store_set_payload_mutants (DsmStore *store, gboolean ignore_if_revision, gboolean merge_drops_keys)
{
  store->ignore_if_revision = ignore_if_revision;
  store->merge_drops_keys = merge_drops_keys;
}

/* The snapshot-keeps-states bug: each machine of @order (the snapshot's)
 * that the store shares takes the state the store had. */
static void
restore_keep_states (DsmStore *store, const GPtrArray *order)
{
  for (guint i = 0; i < order->len; i++)
    {
      Instance *now = order->pdata[i];
      const Instance *before = dsm_name_table_lookup (store->instances, now->name);
      const char *state = before != NULL ? dsm_machine_def_lookup_state (now->def, before->state) : NULL;
      if (state != NULL)
        now->state = state;
    }
}
#endif

guint64
dsm_store_digest (const DsmStore *store)
{
  g_autoptr(GBytes) bytes = dsm_store_snapshot (store);
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  guint64 hash = 14695981039346656037ull; /* FNV-1a */

  for (gsize i = 0; i < size; i++)
    hash = (hash ^ data[i]) * 1099511628211ull;
  return hash;
}
