/* check/checker.c: the invariants of docs/CHECKERS.md, checked as a run
 * goes.  Validity is judged by a model of the machines kept here from the
 * definitions alone, independent of core/store.c, so a bug in the store
 * shows as a disagreement rather than hiding behind it. */
#include "check/checker.h"

#include <string.h>

#include "check/digest.h"
#include "check/linearizability.h"
#include "check/names.h"
#include "check/plugin-spec.h"
#include "definitions.h"

static const char *const invariant_names[DSM_INVARIANT_N] = {
  [DSM_INVARIANT_ELECTION_SAFETY] = "election_safety",
  [DSM_INVARIANT_AGREEMENT] = "agreement",
  [DSM_INVARIANT_STATE_MACHINE_SAFETY] = "state_machine_safety",
  [DSM_INVARIANT_VALIDITY] = "validity",
  [DSM_INVARIANT_DURABILITY] = "durability",
  [DSM_INVARIANT_LINEARIZABILITY] = "linearizability",
  [DSM_INVARIANT_LIVENESS] = "liveness",
  [DSM_INVARIANT_EXPECTATIONS] = "expectations",
  [DSM_INVARIANT_QUORUMS] = "quorums",
  [DSM_INVARIANT_ATTACKER_INERT] = "attacker_inert",
  [DSM_INVARIANT_WATCH] = "watch",
};

const char *
dsm_invariant_to_string (DsmInvariant invariant)
{
  g_return_val_if_fail ((guint) invariant < DSM_INVARIANT_N, "?");
  return invariant_names[invariant];
}

gboolean
dsm_invariant_from_string (const char *text, DsmInvariant *out)
{
  for (guint i = 0; i < DSM_INVARIANT_N; i++)
    if (g_strcmp0 (text, invariant_names[i]) == 0)
      {
        *out = (DsmInvariant) i;
        return TRUE;
      }
  return FALSE;
}

/* What the first node to apply an index did with it, without the entry:
 * a long run commits tens of thousands, and keeping each one held every
 * entry of the run alive long after the nodes' logs let it go.  The
 * digest answers agreement (equality is all it needs); the rest names
 * the command for durability, watches and messages (docs/CHECKERS.md,
 * "Agreement"). */
typedef struct {
  DsmDigest digest;
  guint32 epoch;            /* the numbers in 32 bits; with @wide, in DsmChecker.wide */
  guint32 seq;              /* with client_id: the command's session */
  guint32 machine;          /* DsmChecker.names ids (0: none) */
  guint32 to;
  guint32 client_id;
  guint32 state;            /* the outcome's state */
  guint16 node;
  guint8 kind;              /* DsmEntryKind */
  guint8 op;                /* DsmOp */
  guint8 status;            /* DsmReplyStatus */
  guint8 reason;            /* DsmRejectReason */
  guint8 duplicate : 1;
  guint8 wide : 1;          /* epoch, seq or node did not fit: see DsmChecker.wide */
} Committed;

G_STATIC_ASSERT (sizeof (Committed) == 48);

/* A committed record's numbers that did not fit it (a run's epochs,
 * seqs and node ids fit by far). */
typedef struct {
  guint64 epoch;
  guint64 seq;
  DsmNodeId node;
} CommittedWide;

/* Committed records live in blocks that never move: no reallocation
 * copies them as the run grows, and no doubling leaves half a block
 * spare. */
#define COMMITTED_BLOCK 4096

/* The entries applied first most recently, by index modulo RECENT_N, each
 * referenced: a node applying the very entry another applied first (the
 * simulator's nodes share entries, and an entry is immutable) has the
 * digest of the index's record without hashing it again; any other entry
 * is hashed and compared.  256 covers the spread of the nodes' applies
 * on the benchmark workload but for restarts. */
#define RECENT_N 256

typedef struct {
  guint64 index;
  DsmEntry *entry;          /* referenced; NULL: empty */
} RecentEntry;

/* The clients' sessions the validity model saw applied: per client id, a
 * bitmap of its seqs (clients number their commands 1, 2, 3...), and a
 * table for seqs too far out for the bitmap. */
#define SESSION_BITMAP_MAX_SEQ (1u << 20)

typedef struct {
  guint8 *bits;             /* seq -> bit; n_bytes of them */
  gsize n_bytes;
  GHashTable *far;          /* guint64 seq (owned) set, nullable */
  gboolean submitted;       /* dsm_checker_submitted() saw the client, */
  guint64 submitted_max;    /* with this highest seq */
} SessionSeqs;

/* A machine of the validity model: known once a command named it with a
 * definition that applied (def set); its canonical state (NULL: the
 * definition's initial) and the index that last changed it (0: none). */
typedef struct {
  const DsmMachineDef *def;
  const char *state;
  guint64 revision;
} ModelMachine;

struct _DsmChecker {
  DsmConfig *config;
  guint32 invariants;
  GHashTable *leaders;        /* epoch -> node id */
  GPtrArray *committed_blocks;/* Committed[COMMITTED_BLOCK] each, owned; NULL once forgotten */
  guint64 forgotten;          /* indices below it have no record (dsm_checker_forget_below()) */
  GHashTable *wide;           /* guint64 index -> CommittedWide: records whose numbers did not fit */
  guint64 n_committed;        /* indices 0..n_committed - 1 have a record (0 unused) */
  DsmNames *names;            /* what Committed's ids name */
  GArray *model;              /* ModelMachine by the machine's names id: the validity model */
  GArray *model_sessions;     /* SessionSeqs, by client id's names id */
  GHashTable *acked;          /* &op->index -> a copy of the DsmHistoryOp (owned): acks of
                               * indices nobody applied yet (dsm_checker_acked) */
  guint64 max_acked;          /* the highest index a client was told committed (0: none) */
  gboolean failed;
  DsmInvariant failed_invariant;
  char *message;
  guint64 failed_at;
  guint64 lin_states;
  GArray *configs;            /* CommittedConfig, in index (so epoch) order; the last is
                               * the latest CONFIG entry applied anywhere */
  RecentEntry recent[RECENT_N];
  /* What clients submitted (dsm_checker_track_submissions()), NULL when
   * not tracked: the "op machine to" of commands submitted without a
   * client id (a client's highest seq is in its SessionSeqs). */
  GHashTable *submitted_anon;
};
/* A configuration the cluster committed, with the epoch of the entry that
 * carries it (0: the bootstrap one). */
typedef struct {
  guint64 epoch;
  DsmMembership *membership;
} CommittedConfig;

static void
committed_config_clear (CommittedConfig *c)
{
  g_clear_pointer (&c->membership, dsm_membership_unref);
}

/* The latest committed configuration a leader of @epoch must stay within
 * one voter of: the last one carried by an entry of @epoch or earlier.  A
 * stale leader that has not heard of a later epoch's changes is judged
 * against what was committed up to its own epoch (docs/CHECKERS.md,
 * "Quorums"). */
static const DsmMembership *
committed_config_for_epoch (const DsmChecker *checker, guint64 epoch)
{
  g_assert (checker->configs->len >= 1);
  for (guint i = checker->configs->len; i-- > 0;)
    {
      const CommittedConfig *c = &g_array_index (checker->configs, CommittedConfig, i);
      if (c->epoch <= epoch)
        return c->membership;
    }
  /* The bootstrap configuration is at epoch 0, which no epoch precedes. */
  g_assert_not_reached ();
}

static Committed *
committed_at (const DsmChecker *checker, guint64 index)
{
  g_assert (index < checker->n_committed);
  g_assert (index >= checker->forgotten);
  Committed *block = checker->committed_blocks->pdata[index / COMMITTED_BLOCK];
  return &block[index % COMMITTED_BLOCK];
}

/* Index checker->n_committed's record, zeroed. */
static Committed *
committed_append (DsmChecker *checker)
{
  guint64 index = checker->n_committed;

  if (index % COMMITTED_BLOCK == 0)
    g_ptr_array_add (checker->committed_blocks, g_new0 (Committed, COMMITTED_BLOCK));
  g_assert (index / COMMITTED_BLOCK < checker->committed_blocks->len);
  checker->n_committed++;
  return committed_at (checker, index);
}

/* The whole numbers of @index's record @c. */
static const CommittedWide *
committed_wide (const DsmChecker *checker, guint64 index, const Committed *c)
{
  if (!c->wide)
    return NULL;
  const CommittedWide *w = g_hash_table_lookup (checker->wide, &index);
  g_assert (w != NULL);
  return w;
}

static guint64
committed_epoch (const DsmChecker *checker, guint64 index, const Committed *c)
{
  const CommittedWide *w = committed_wide (checker, index, c);
  return w != NULL ? w->epoch : c->epoch;
}

static guint64
committed_seq (const DsmChecker *checker, guint64 index, const Committed *c)
{
  const CommittedWide *w = committed_wide (checker, index, c);
  return w != NULL ? w->seq : c->seq;
}

static DsmNodeId
committed_node (const DsmChecker *checker, guint64 index, const Committed *c)
{
  const CommittedWide *w = committed_wide (checker, index, c);
  return w != NULL ? w->node : c->node;
}

static void
session_seqs_clear (SessionSeqs *seqs)
{
  g_clear_pointer (&seqs->bits, g_free);
  g_clear_pointer (&seqs->far, g_hash_table_unref);
}

/* The sessions of @client_id, created empty when new. */
static SessionSeqs *
session_seqs_for (DsmChecker *checker, const char *client_id)
{
  guint32 id = dsm_names_id (checker->names, client_id);

  if (id >= checker->model_sessions->len)
    g_array_set_size (checker->model_sessions, id + 1);
  return &g_array_index (checker->model_sessions, SessionSeqs, id);
}

static gboolean
session_seen (DsmChecker *checker, const DsmCommand *cmd)
{
  const SessionSeqs *seqs = session_seqs_for (checker, cmd->client_id);

  if (cmd->seq < SESSION_BITMAP_MAX_SEQ)
    return cmd->seq / 8 < seqs->n_bytes && (seqs->bits[cmd->seq / 8] & (1u << (cmd->seq % 8))) != 0;
  return seqs->far != NULL && g_hash_table_contains (seqs->far, &cmd->seq);
}

static void
session_add (DsmChecker *checker, const DsmCommand *cmd)
{
  SessionSeqs *seqs = session_seqs_for (checker, cmd->client_id);

  if (cmd->seq >= SESSION_BITMAP_MAX_SEQ)
    {
      if (seqs->far == NULL)
        seqs->far = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
      g_hash_table_add (seqs->far, g_memdup2 (&cmd->seq, sizeof cmd->seq));
      return;
    }
  if (cmd->seq / 8 >= seqs->n_bytes)
    {
      /* Doubling: a client's seqs grow one by one. */
      gsize n = MAX (MAX (16, 2 * seqs->n_bytes), cmd->seq / 8 + 1);
      seqs->bits = g_realloc (seqs->bits, n);
      memset (seqs->bits + seqs->n_bytes, 0, n - seqs->n_bytes);
      seqs->n_bytes = n;
    }
  seqs->bits[cmd->seq / 8] |= (guint8) (1u << (cmd->seq % 8));
  g_assert (session_seen (checker, cmd));
}

DsmChecker *
dsm_checker_new (DsmConfig *config, guint32 invariants)
{
  DsmChecker *checker = g_new0 (DsmChecker, 1);

  /* A copy: definitions the log adds join its model (check_definition()). */
  checker->config = dsm_config_copy (config);
  checker->configs = g_array_new (FALSE, TRUE, sizeof (CommittedConfig));
  g_array_set_clear_func (checker->configs, (GDestroyNotify) committed_config_clear);
  CommittedConfig bootstrap = { .epoch = 0, .membership = dsm_membership_new_bootstrap (config) };
  g_array_append_val (checker->configs, bootstrap);
  checker->invariants = invariants;
  checker->leaders = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  checker->committed_blocks = g_ptr_array_new_with_free_func (g_free);
  checker->wide = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  checker->names = dsm_names_new ();
  committed_append (checker); /* index 0: no entry */
  checker->model = g_array_new (FALSE, TRUE, sizeof (ModelMachine));
  checker->model_sessions = g_array_new (FALSE, TRUE, sizeof (SessionSeqs));
  g_array_set_clear_func (checker->model_sessions, (GDestroyNotify) session_seqs_clear);
  checker->acked = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, (GDestroyNotify) dsm_history_op_free);
  return checker;
}

void
dsm_checker_free (DsmChecker *checker)
{
  if (checker == NULL)
    return;
  g_hash_table_unref (checker->leaders);
  for (guint i = 0; i < RECENT_N; i++)
    g_clear_pointer (&checker->recent[i].entry, dsm_entry_unref);
  g_ptr_array_unref (checker->committed_blocks);
  g_hash_table_unref (checker->wide);
  g_array_unref (checker->model);
  g_array_unref (checker->model_sessions);
  g_hash_table_unref (checker->acked);
  g_clear_pointer (&checker->submitted_anon, g_hash_table_unref);
  dsm_names_free (checker->names);
  dsm_config_unref (checker->config);
  g_array_unref (checker->configs);
  g_free (checker->message);
  g_free (checker);
}

void
dsm_checker_fail (DsmChecker *checker, DsmInvariant invariant, guint64 now_ms,
                  const char *format, ...)
{
  if (checker->failed || (checker->invariants & (1u << invariant)) == 0)
    return;
  va_list args;
  va_start (args, format);
  checker->message = g_strdup_vprintf (format, args);
  va_end (args);
  checker->failed = TRUE;
  checker->failed_invariant = invariant;
  checker->failed_at = now_ms;
}

void
dsm_checker_leader (DsmChecker *checker, guint64 now_ms, DsmNodeId id, guint64 epoch)
{
  gpointer other = g_hash_table_lookup (checker->leaders, &epoch);

  if (other == NULL)
    g_hash_table_insert (checker->leaders, g_memdup2 (&epoch, sizeof epoch), GUINT_TO_POINTER (id));
  else if (GPOINTER_TO_UINT (other) != id)
    dsm_checker_fail (checker, DSM_INVARIANT_ELECTION_SAFETY, now_ms,
                      "nodes %u and %u are both leaders of epoch %" G_GUINT64_FORMAT,
                      GPOINTER_TO_UINT (other), id, epoch);
}

void
dsm_checker_track_submissions (DsmChecker *checker)
{
  g_return_if_fail (checker != NULL);
  g_return_if_fail (checker->n_committed <= 1); /* before anything was applied */
  if (checker->submitted_anon != NULL)
    return;
  checker->submitted_anon = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* What identifies a command without a client id: nothing finer is sure
 * to be the same in the entry as in the submission. */
static char *
anon_key (const DsmCommand *cmd)
{
  return g_strdup_printf ("%s %s %s", dsm_op_to_string (cmd->op), cmd->machine != NULL ? cmd->machine : "",
                          cmd->to != NULL ? cmd->to : "");
}

void
dsm_checker_submitted (DsmChecker *checker, const DsmCommand *cmd)
{
  g_return_if_fail (checker != NULL && cmd != NULL);
  if (checker->submitted_anon == NULL)
    return;
  if (cmd->client_id == NULL)
    {
      g_hash_table_add (checker->submitted_anon, anon_key (cmd));
      return;
    }
  SessionSeqs *seqs = session_seqs_for (checker, cmd->client_id);
  seqs->submitted_max = seqs->submitted ? MAX (seqs->submitted_max, cmd->seq) : cmd->seq;
  seqs->submitted = TRUE;
}

/* Validity, the consensus kind: a command entry carries only what was
 * submitted.  A client's seqs are issued in order, so its highest says
 * what exists.  CONFIG entries are judged by the quorum checks: a leader
 * appends some of its own (a caught-up learner's promotion). */
static void
check_provenance (DsmChecker *checker, guint64 now_ms, const DsmEntry *entry)
{
  const DsmCommand *cmd = &entry->cmd;

  g_assert (entry->kind != DSM_ENTRY_NOOP);
  if (checker->submitted_anon == NULL || entry->kind != DSM_ENTRY_COMMAND)
    return;
  if (cmd->client_id != NULL)
    {
      const SessionSeqs *seqs = session_seqs_for (checker, cmd->client_id);
      if (!seqs->submitted || cmd->seq > seqs->submitted_max)
        dsm_checker_fail (checker, DSM_INVARIANT_VALIDITY, now_ms,
                          "index %" G_GUINT64_FORMAT ": (%s, %" G_GUINT64_FORMAT ") was never submitted: "
                          "the entry was invented", entry->index, cmd->client_id, cmd->seq);
      return;
    }
  g_autofree char *key = anon_key (cmd);
  if (!g_hash_table_contains (checker->submitted_anon, key))
    dsm_checker_fail (checker, DSM_INVARIANT_VALIDITY, now_ms,
                      "index %" G_GUINT64_FORMAT ": %s %s -> %s was never submitted: the entry was invented",
                      entry->index, dsm_op_to_string (cmd->op), cmd->machine != NULL ? cmd->machine : "-",
                      cmd->to != NULL ? cmd->to : "-");
}

/* A define that applied joins the model's definitions: a transition
 * naming it is judged by it from then on (the latest version of a name;
 * docs/CHECKERS.md, "Validity"). */
static void
check_definition (DsmChecker *checker, guint64 now_ms, const DsmApplied *applied)
{
  const DsmCommand *cmd = &applied->entry->cmd;
  g_autoptr(GError) error = NULL;

  if (applied->result.status != DSM_REPLY_OK)
    return;
  DsmMachineDef *def = dsm_definitions_parse_spec (cmd->definition, cmd->spec, &error);
  if (def == NULL)
    {
      dsm_checker_fail (checker, DSM_INVARIANT_VALIDITY, now_ms,
                        "index %" G_GUINT64_FORMAT ": definition %s applied ok but does not parse: %s",
                        applied->entry->index, cmd->definition, error->message);
      return;
    }
  g_hash_table_replace (checker->config->definitions, g_strdup (cmd->definition), def);
}

gboolean
dsm_checker_defined (DsmChecker *checker, const char *name, const char *spec, GError **error)
{
  g_return_val_if_fail (checker != NULL, FALSE);
  g_return_val_if_fail (name != NULL && spec != NULL, FALSE);

  DsmMachineDef *def = dsm_definitions_parse_spec (name, spec, error);
  if (def == NULL)
    return FALSE;
  g_hash_table_replace (checker->config->definitions, g_strdup (name), def);
  return TRUE;
}

/* The model's machine named @machine_id (a DsmChecker.names id), created
 * unknown (def NULL) when new: names are dense, so is this array. */
static ModelMachine *
model_machine (DsmChecker *checker, guint32 machine_id)
{
  g_assert (machine_id != 0);
  if (machine_id >= checker->model->len)
    g_array_set_size (checker->model, machine_id + 1);
  return &g_array_index (checker->model, ModelMachine, machine_id);
}

/* The validity model: the machines' states from the committed sequence,
 * with the definitions' rules and the clients' (id, seq) dedupe.
 * @machine_id: the command's machine, interned. */
static void
check_validity (DsmChecker *checker, guint64 now_ms, const DsmApplied *applied, guint32 machine_id)
{
  const DsmEntry *entry = applied->entry;
  const DsmApplyResult *r = &applied->result;
  const DsmCommand *cmd = &entry->cmd;

  if (entry->kind == DSM_ENTRY_NOOP)
    return;
  check_provenance (checker, now_ms, entry);
  const DsmCommand *key = cmd->client_id != NULL ? cmd : NULL;
  if (r->duplicate || r->status == DSM_REPLY_UNKNOWN)
    {
      /* No effect; a duplicate must repeat something that was applied. */
      if (r->duplicate && (key == NULL || !session_seen (checker, key)))
        dsm_checker_fail (checker, DSM_INVARIANT_VALIDITY, now_ms,
                          "index %" G_GUINT64_FORMAT ": treated as a duplicate, but (%s, %" G_GUINT64_FORMAT ") was never applied",
                          entry->index, cmd->client_id, cmd->seq);
      return;
    }
  if (key != NULL && session_seen (checker, key))
    {
      dsm_checker_fail (checker, DSM_INVARIANT_VALIDITY, now_ms,
                        "index %" G_GUINT64_FORMAT ": (%s, %" G_GUINT64_FORMAT ") applied a second time",
                        entry->index, cmd->client_id, cmd->seq);
      return;
    }
  if (key != NULL)
    session_add (checker, key);
  if (entry->kind == DSM_ENTRY_CONFIG)
    return;  /* judged by the quorum checks */
  if (cmd->op == DSM_OP_DEFINE)
    {
      check_definition (checker, now_ms, applied);
      return;
    }

  g_assert (g_strcmp0 (dsm_names_get (checker->names, machine_id), cmd->machine) == 0);
  ModelMachine *machine = model_machine (checker, machine_id);
  const DsmMachineDef *def = machine->def;
  const DsmMachineDef *named = dsm_config_find_definition (checker->config, cmd->definition);
  gboolean bad_def = named == NULL || (def != NULL && cmd->definition != NULL && def != named);
  if (def == NULL)
    def = named;
  /* A machine plugin's commands are its own to judge: the checker replays
   * them through the plugin at the end (finish_linearizability()), and
   * replicas that disagree fail state machine safety. */
  if (!bad_def && dsm_machine_def_get_impl (def) != NULL)
    {
      machine->def = def;
      return;
    }
  const char *current = def == NULL ? NULL : machine->state;
  if (def != NULL && current == NULL)
    current = dsm_machine_def_get_initial (def);
  guint64 revision = machine->revision;
  gboolean legal = !bad_def && cmd->op == DSM_OP_TRANSITION
                   && dsm_machine_def_lookup_state (def, cmd->to) != NULL
                   && (cmd->from == NULL || g_strcmp0 (cmd->from, current) == 0)
                   && (!cmd->has_if_revision || cmd->if_revision == revision)
                   && dsm_machine_def_allows (def, current, cmd->to);

  /* A payload is judged by the definition's fields, which this model does
   * not restate: its refusal says nothing about the transition. */
  if (r->status == DSM_REPLY_REJECTED && r->reason == DSM_REJECT_BAD_REQUEST && cmd->payload != NULL)
    return;
  if (r->status == DSM_REPLY_OK && cmd->op == DSM_OP_TRANSITION && !legal && cmd->has_if_revision
      && cmd->if_revision != revision)
    dsm_checker_fail (checker, DSM_INVARIANT_VALIDITY, now_ms,
                      "index %" G_GUINT64_FORMAT ": %s moved %s -> %s if at revision %" G_GUINT64_FORMAT
                      ", but it was at revision %" G_GUINT64_FORMAT,
                      entry->index, cmd->machine, current ? current : "?", cmd->to, cmd->if_revision, revision);
  else if (r->status == DSM_REPLY_OK && cmd->op == DSM_OP_TRANSITION && !legal)
    dsm_checker_fail (checker, DSM_INVARIANT_VALIDITY, now_ms,
                      "index %" G_GUINT64_FORMAT ": %s moved %s -> %s, which is not legal",
                      entry->index, cmd->machine, current ? current : "?", cmd->to);
  else if (r->status != DSM_REPLY_OK && legal)
    dsm_checker_fail (checker, DSM_INVARIANT_VALIDITY, now_ms,
                      "index %" G_GUINT64_FORMAT ": %s -> %s from %s is legal but was rejected (%s)",
                      entry->index, cmd->machine, cmd->to, current, dsm_reject_reason_to_string (r->reason));
  else if (r->status == DSM_REPLY_OK && legal)
    {
      if (g_strcmp0 (r->state, cmd->to) != 0 || g_strcmp0 (r->from, current) != 0)
        dsm_checker_fail (checker, DSM_INVARIANT_VALIDITY, now_ms,
                          "index %" G_GUINT64_FORMAT ": %s went %s -> %s, expected %s -> %s",
                          entry->index, cmd->machine, r->from, r->state, current, cmd->to);
      machine->def = def;
      machine->state = dsm_machine_def_lookup_state (def, cmd->to);
      machine->revision = entry->index;
    }
}

/* Whether the committed record @c (of @op's index) is the command @op was
 * told committed. */
static gboolean
committed_matches (const DsmChecker *checker, const Committed *c, const DsmHistoryOp *op)
{
  g_assert (c == committed_at (checker, op->index));
  const char *client_id = dsm_names_get (checker->names, c->client_id);

  return c->kind == DSM_ENTRY_COMMAND
         && g_strcmp0 (dsm_names_get (checker->names, c->machine), op->machine) == 0
         && g_strcmp0 (dsm_names_get (checker->names, c->to), op->requested) == 0
         && g_strcmp0 (client_id, op->client_id) == 0
         && (client_id == NULL || committed_seq (checker, op->index, c) == op->seq);
}

/* An ack that came before anyone applied its index, now applied. */
static void
check_durability (DsmChecker *checker, guint64 now_ms, const DsmEntry *entry, const Committed *c)
{
  gpointer key = NULL, value = NULL;

  if (!g_hash_table_steal_extended (checker->acked, &entry->index, &key, &value))
    return;
  g_autoptr(DsmHistoryOp) op = value;
  if (!committed_matches (checker, c, op))
    dsm_checker_fail (checker, DSM_INVARIANT_DURABILITY, now_ms,
                      "client %u was told %s -> %s committed at index %" G_GUINT64_FORMAT
                      " (t=%" G_GUINT64_FORMAT "), but index %" G_GUINT64_FORMAT " holds %s",
                      op->client, op->machine, op->requested, op->index, op->complete_ms,
                      entry->index, entry->kind == DSM_ENTRY_NOOP ? "a no-op" : entry->cmd.machine);
}

/* The first node to apply @applied's index: its record. */
static void
apply_first (DsmChecker *checker, guint64 now_ms, DsmNodeId id, const DsmApplied *applied)
{
  const DsmEntry *entry = applied->entry;
  const DsmApplyResult *r = &applied->result;
  Committed *c = committed_append (checker);

  g_assert (checker->n_committed == entry->index + 1);
  dsm_digest_entry (entry, &c->digest);
  RecentEntry *recent = &checker->recent[entry->index % RECENT_N];
  g_clear_pointer (&recent->entry, dsm_entry_unref);
  recent->index = entry->index;
  recent->entry = dsm_entry_ref ((DsmEntry *) entry);
  c->epoch = (guint32) entry->epoch;
  c->node = (guint16) id;
  c->kind = (guint8) entry->kind;
  c->op = (guint8) entry->cmd.op;
  c->status = (guint8) r->status;
  c->reason = (guint8) r->reason;
  c->duplicate = r->duplicate != FALSE;
  c->state = dsm_names_id (checker->names, r->state);
  if (entry->kind != DSM_ENTRY_NOOP)
    {
      c->machine = dsm_names_id (checker->names, entry->cmd.machine);
      c->to = dsm_names_id (checker->names, entry->cmd.to);
      c->client_id = dsm_names_id (checker->names, entry->cmd.client_id);
      c->seq = (guint32) entry->cmd.seq;
    }
  guint64 seq = entry->kind != DSM_ENTRY_NOOP ? entry->cmd.seq : 0;
  if (entry->epoch > G_MAXUINT32 || seq > G_MAXUINT32 || id > G_MAXUINT16)
    {
      CommittedWide *w = g_new0 (CommittedWide, 1);
      w->epoch = entry->epoch;
      w->seq = seq;
      w->node = id;
      g_hash_table_insert (checker->wide, g_memdup2 (&entry->index, sizeof entry->index), w);
      c->wide = TRUE;
    }
  /* The narrow fields hold what they were given. */
  g_assert (c->kind == entry->kind);
  g_assert (c->status == r->status);
  g_assert (c->reason == r->reason);
  if (entry->kind == DSM_ENTRY_CONFIG)
    {
      const CommittedConfig *last = &g_array_index (checker->configs, CommittedConfig,
                                                    checker->configs->len - 1);
      /* Committed entries' epochs never decrease along the log. */
      g_assert (entry->epoch >= last->epoch);
      CommittedConfig config = { .epoch = entry->epoch,
                                .membership = dsm_membership_ref (entry->membership) };
      g_array_append_val (checker->configs, config);
    }
  check_validity (checker, now_ms, applied, c->machine);
  check_durability (checker, now_ms, entry, c);
}

void
dsm_checker_apply (DsmChecker *checker, guint64 now_ms, DsmNodeId id, const DsmApplied *applied)
{
  guint64 index = applied->entry->index;
  const DsmApplyResult *r = &applied->result;

  if (index >= checker->n_committed)
    {
      if (index != checker->n_committed)
        {
          /* Applies are in index order on every node; a node can only be
           * ahead of all others by one. */
          dsm_checker_fail (checker, DSM_INVARIANT_AGREEMENT, now_ms,
                            "node %u applied index %" G_GUINT64_FORMAT " before anyone applied %u",
                            id, index, (guint) checker->n_committed);
          return;
        }
      apply_first (checker, now_ms, id, applied);
      return;
    }

  if (index < checker->forgotten)
    {
      /* The caller promised no node could apply it again (a node applies
       * each index once, and after a restart only above its snapshot):
       * one did. */
      dsm_checker_fail (checker, DSM_INVARIANT_AGREEMENT, now_ms,
                        "node %u applied index %" G_GUINT64_FORMAT " again, below %" G_GUINT64_FORMAT
                        ", which every node had applied and its disk held in a snapshot",
                        id, index, checker->forgotten);
      return;
    }
  const Committed *c = committed_at (checker, index);
  const RecentEntry *recent = &checker->recent[index % RECENT_N];
  DsmDigest digest;
  if (recent->entry == applied->entry && recent->index == index)
    digest = c->digest;
  else
    dsm_digest_entry (applied->entry, &digest);
  if (!dsm_digest_equal (&c->digest, &digest))
    {
      /* The first node to apply the index may be this one, in an earlier
       * life: it re-applies after a restart, and its log changed.  The
       * trace's apply lines show both entries whole. */
      if (committed_node (checker, index, c) == id)
        dsm_checker_fail (checker, DSM_INVARIANT_AGREEMENT, now_ms,
                          "node %u applied a different entry at index %" G_GUINT64_FORMAT
                          " than it applied there before (epochs %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT ")",
                          id, index, committed_epoch (checker, index, c), applied->entry->epoch);
      else
        dsm_checker_fail (checker, DSM_INVARIANT_AGREEMENT, now_ms,
                          "nodes %u and %u applied different entries at index %" G_GUINT64_FORMAT
                          " (epochs %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT ")",
                          committed_node (checker, index, c), id, index, committed_epoch (checker, index, c),
                          applied->entry->epoch);
    }
  else if (c->status != r->status || c->reason != r->reason || c->duplicate != (r->duplicate != FALSE)
           || g_strcmp0 (dsm_names_get (checker->names, c->state), r->state) != 0)
    {
      const char *state = dsm_names_get (checker->names, c->state);
      dsm_checker_fail (checker, DSM_INVARIANT_STATE_MACHINE_SAFETY, now_ms,
                        "index %" G_GUINT64_FORMAT ": node %u got %s (%s), node %u got %s (%s)",
                        index, committed_node (checker, index, c), dsm_reply_status_to_string (c->status),
                        state ? state : "-",
                        id, dsm_reply_status_to_string (r->status), r->state ? r->state : "-");
    }
}

void
dsm_checker_acked (DsmChecker *checker, guint64 now_ms, const DsmHistoryOp *op)
{
  g_assert (op->op == DSM_OP_TRANSITION && op->status == DSM_REPLY_OK);
  checker->max_acked = MAX (checker->max_acked, op->index);
  if (op->index < checker->n_committed)
    {
      /* Below the forgotten mark the caller promised the index was first
       * applied before the op's command was sent: it holds something else. */
      if (op->index < checker->forgotten || !committed_matches (checker, committed_at (checker, op->index), op))
        dsm_checker_fail (checker, DSM_INVARIANT_DURABILITY, now_ms,
                          "client %u was told %s -> %s committed at index %" G_GUINT64_FORMAT
                          ", which holds something else", op->client, op->machine, op->requested, op->index);
      return;
    }
  /* Ahead of every apply: judged when the index is first applied
   * (check_durability()).  Copied (the simulator packs its history op
   * once it is answered: check/history-pack.h), interned names borrowed
   * from their table as the op did; the first ack of an index is the
   * one held. */
  if (!g_hash_table_contains (checker->acked, &op->index))
    {
      DsmHistoryOp *copy;
      if (op->names_interned)
        {
          copy = g_memdup2 (op, sizeof *op);
          copy->payload = copy->output = copy->data = NULL;
        }
      else
        copy = dsm_history_op_copy (op);
      g_hash_table_insert (checker->acked, &copy->index, copy);
    }
}

/* The machines of a plugin's definition, and the plugins, in the order
 * the history first names them (so a run's verdict is the same every
 * time). */
static void
finish_linearizability_split (const DsmChecker *checker, GPtrArray *history, GHashTable *plugin_machines,
                              GPtrArray *impls)
{
  for (guint i = 0; i < history->len; i++)
    {
      const DsmHistoryOp *op = history->pdata[i];
      const DsmMachineDef *def = op->definition != NULL ? dsm_config_find_definition (checker->config, op->definition)
                                                        : NULL;
      const DsmMachineImpl *impl = def != NULL ? dsm_machine_def_get_impl (def) : NULL;
      if (impl == NULL)
        continue;
      g_hash_table_add (plugin_machines, op->machine);
      if (!g_ptr_array_find (impls, impl, NULL))
        g_ptr_array_add (impls, (gpointer) impl);
    }
}

/* Search states per plugin machine: each costs the plugin a restore, a
 * validate and a snapshot, where the graph model's cost a lookup; past
 * it the verdict is inconclusive (docs/CHECKERS.md, "Complexity and the
 * budget"), as the graph model's is past its own. */
#define CHECKER_PLUGIN_STATES_MAX 200000

/* Linearizability, judged by the model of the definitions for graph
 * machines and by the plugin's own validate and apply for a machine
 * plugin's (check/plugin-spec.c; docs/PLUGINS.md, "Checking"): a machine
 * the history names with a plugin's definition is the plugin's, reads
 * included. */
static void
finish_linearizability (DsmChecker *checker, guint64 now_ms, GPtrArray *history)
{
  g_autoptr(GHashTable) plugin_machines = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) impls = g_ptr_array_new ();
  g_autoptr(GPtrArray) graph_ops = g_ptr_array_new ();
  DsmLinearizabilityResult result = { 0 };

  finish_linearizability_split (checker, history, plugin_machines, impls);
  for (guint i = 0; i < history->len; i++)
    {
      const DsmHistoryOp *op = history->pdata[i];
      if (!g_hash_table_contains (plugin_machines, op->machine))
        g_ptr_array_add (graph_ops, history->pdata[i]);
    }
  g_assert (graph_ops->len <= history->len);
  if (!dsm_linearizability_check (graph_ops, checker->config, 0, &result))
    dsm_checker_fail (checker, DSM_INVARIANT_LINEARIZABILITY, now_ms, "machine %s: %s",
                      result.machine ? result.machine : "?", result.explanation ? result.explanation : "");
  checker->lin_states = result.states_explored;
  dsm_linearizability_result_clear (&result);
  for (guint i = 0; i < impls->len && !checker->failed; i++)
    {
      const DsmMachineImpl *impl = impls->pdata[i];
      DsmLinearizabilityResult presult = { 0 };
      if (!dsm_plugin_spec_check (history, impl, CHECKER_PLUGIN_STATES_MAX, &presult))
        dsm_checker_fail (checker, DSM_INVARIANT_LINEARIZABILITY, now_ms, "machine %s (plugin %s %s): %s",
                          presult.machine ? presult.machine : "?", impl->name, impl->version,
                          presult.explanation ? presult.explanation : "");
      checker->lin_states += presult.states_explored;
      dsm_linearizability_result_clear (&presult);
    }
}

/* The end of run's durability check.  Returns whether linearizability
 * is still to be checked. */
static gboolean
finish_durability (DsmChecker *checker, guint64 now_ms, const guint64 *applied_index, guint n_live)
{
  /* Every acknowledged index applied by every live node: the highest
   * one is the one to check. */
  for (guint i = 0; i < n_live; i++)
    if (applied_index[i] < checker->max_acked)
      {
        dsm_checker_fail (checker, DSM_INVARIANT_DURABILITY, now_ms,
                          "acknowledged index %" G_GUINT64_FORMAT " was never applied by a live node (it reached %"
                          G_GUINT64_FORMAT ")", checker->max_acked, applied_index[i]);
        return FALSE;
      }

  return (checker->invariants & (1u << DSM_INVARIANT_LINEARIZABILITY)) != 0 && !checker->failed;
}

void
dsm_checker_finish (DsmChecker *checker, guint64 now_ms, GPtrArray *history,
                    const guint64 *applied_index, guint n_live)
{
  if (finish_durability (checker, now_ms, applied_index, n_live))
    finish_linearizability (checker, now_ms, history);
}

void
dsm_checker_finish_each (DsmChecker *checker, guint64 now_ms, const char *const *machines, guint n_machines,
                         DsmLinearizabilityOpsFunc get_ops, gpointer user_data,
                         const guint64 *applied_index, guint n_live)
{
  DsmLinearizabilityResult result = { 0 };

  g_return_if_fail (!dsm_checker_has_plugins (checker));
  if (!finish_durability (checker, now_ms, applied_index, n_live))
    return;
  /* As finish_linearizability() with no plugin machine: every op is a
   * graph machine's. */
  if (!dsm_linearizability_check_each (machines, n_machines, get_ops, user_data, checker->config, 0, &result))
    dsm_checker_fail (checker, DSM_INVARIANT_LINEARIZABILITY, now_ms, "machine %s: %s",
                      result.machine ? result.machine : "?", result.explanation ? result.explanation : "");
  checker->lin_states = result.states_explored;
  dsm_linearizability_result_clear (&result);
}

gboolean
dsm_checker_has_plugins (const DsmChecker *checker)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, checker->config->definitions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (dsm_machine_def_get_impl (value) != NULL)
      return TRUE;
  return FALSE;
}

void
dsm_checker_quorum (DsmChecker *checker, guint64 now_ms, DsmNodeId id, guint64 epoch,
                    const DsmMembership *used, guint support, const char *what)
{
  const DsmMembership *committed = committed_config_for_epoch (checker, epoch);
  guint quorum = dsm_membership_quorum (used);
  guint apart = dsm_membership_voter_difference (used, committed);

  if (support < quorum)
    dsm_checker_fail (checker, DSM_INVARIANT_QUORUMS, now_ms,
                      "%s by node %u in epoch %" G_GUINT64_FORMAT ": %u of the %u voters of its configuration, "
                      "short of a quorum of %u", what, id, epoch, support,
                      dsm_membership_get_n_voters (used), quorum);
  /* The winner is a voter of its configuration, or a node an entry in its
   * log removes (not known committed to it: it campaigns without counting
   * itself, PROTOCOL.md, "Elections"); never a learner, nor a node the
   * configuration never listed. */
  else if (strcmp (what, "election") == 0 && !dsm_membership_is_voter (used, id)
           && !(dsm_membership_find (used, id) == NULL && id < dsm_membership_get_next_id (used)))
    dsm_checker_fail (checker, DSM_INVARIANT_QUORUMS, now_ms,
                      "node %u won epoch %" G_GUINT64_FORMAT " but is no voter of its configuration",
                      id, epoch);
  else if (apart > 1)
    {
      g_autofree char *a = dsm_membership_format (used);
      g_autofree char *b = dsm_membership_format (committed);
      dsm_checker_fail (checker, DSM_INVARIANT_QUORUMS, now_ms,
                        "%s by node %u in epoch %" G_GUINT64_FORMAT " with configuration [%s], %u voters "
                        "away from the one committed up to that epoch [%s]: quorums of the two need not meet",
                        what, id, epoch, a, apart, b);
    }
}

DsmConfig *
dsm_checker_get_config (const DsmChecker *checker)
{
  return checker->config;
}

const DsmMembership *
dsm_checker_get_membership (const DsmChecker *checker)
{
  g_assert (checker->configs->len >= 1);
  return g_array_index (checker->configs, CommittedConfig, checker->configs->len - 1).membership;
}

gboolean
dsm_checker_ok (const DsmChecker *checker)
{
  return !checker->failed;
}

DsmInvariant
dsm_checker_get_failed (const DsmChecker *checker)
{
  return checker->failed_invariant;
}

const char *
dsm_checker_get_message (const DsmChecker *checker)
{
  return checker->message;
}

guint64
dsm_checker_get_failed_at (const DsmChecker *checker)
{
  return checker->failed_at;
}

guint64
dsm_checker_get_committed (const DsmChecker *checker)
{
  return checker->n_committed - 1;
}

gboolean
dsm_checker_get_change (const DsmChecker *checker, guint64 index, const char **machine, const char **state)
{
  const Committed *c;

  if (index == 0 || index >= checker->n_committed)
    return FALSE;
  g_return_val_if_fail (index >= checker->forgotten, FALSE);
  c = committed_at (checker, index);
  if (c->kind != DSM_ENTRY_COMMAND || c->op != DSM_OP_TRANSITION || c->status != DSM_REPLY_OK || c->duplicate
      || c->state == 0)
    return FALSE;
  *machine = dsm_names_get (checker->names, c->machine);
  *state = dsm_names_get (checker->names, c->state);
  return TRUE;
}

const char *
dsm_checker_get_initial (const DsmChecker *checker, const char *machine)
{
  guint32 id = dsm_names_find (checker->names, machine);
  const DsmMachineDef *def = id != 0 && id < checker->model->len
                             ? g_array_index (checker->model, ModelMachine, id).def : NULL;

  if (def == NULL)
    def = dsm_config_find_definition (checker->config, NULL);
  return def != NULL ? dsm_machine_def_get_initial (def) : NULL;
}

void
dsm_checker_forget_below (DsmChecker *checker, guint64 index)
{
  g_return_if_fail (checker != NULL);

  index = MIN (index, checker->n_committed);
  /* Whole blocks only: a block's record of the latest index applied
   * first stays. */
  for (guint64 b = checker->forgotten / COMMITTED_BLOCK; (b + 1) * COMMITTED_BLOCK <= index; b++)
    {
      g_assert (b < checker->committed_blocks->len);
      g_clear_pointer (&checker->committed_blocks->pdata[b], g_free);
      checker->forgotten = (b + 1) * COMMITTED_BLOCK;
    }
  if (g_hash_table_size (checker->wide) > 0)
    {
      GHashTableIter iter;
      gpointer key;
      g_hash_table_iter_init (&iter, checker->wide);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (*(const guint64 *) key < checker->forgotten)
          g_hash_table_iter_remove (&iter);
    }
}

guint64
dsm_checker_get_forgotten (const DsmChecker *checker)
{
  return checker->forgotten;
}

guint64
dsm_checker_get_lin_states (const DsmChecker *checker)
{
  return checker->lin_states;
}
