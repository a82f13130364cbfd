/* check/lin-model.h: the sequential specification the linearizability
 * search places operations against (docs/CHECKERS.md, "The sequential
 * specification"): a machine instance's state, revision and data, and
 * whether one operation fits a given one.  Private to check/. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "config.h"
#include "check/history.h"

G_BEGIN_DECLS

/* A model state is an id.  Ids below model->n_slots are "slots":
 * SLOT_ABSENT before anything created the instance (a read then sees the
 * initial state of the definition it names), else base + i for state i of
 * one candidate definition, at revision 0 with no data.  With revisions
 * or data tracked (dsm_lin_model_resolve()), the states an operation
 * leads to are interned as further ids: (slot, revision, data). */
#define SLOT_ABSENT 0u

#define DEF_INSTANCE (-1)  /* the op names no definition: the instance's, or the default */
#define DEF_UNKNOWN (-2)   /* the op names a definition the config lacks */

/* The revision after a transition that took effect at an index nobody
 * reported (an unknown outcome): any revision no known write has. */
#define REV_UNKNOWN G_MAXUINT64

typedef struct {
  const DsmMachineDef *def;
  guint n_states;
  guint base;
  guint initial;
  guint64 allows[DSM_MACHINE_STATES_MAX];  /* bit j of row i: i -> j is legal */
} ModelDef;

typedef struct {
  guint slot;
  guint data;        /* an id in the model's data table: 0 is {} */
  guint64 revision;  /* 0: never changed; REV_UNKNOWN */
} ModelState;

typedef struct {
  ModelDef *defs;   /* [0] is the config's default, then those the ops name */
  guint n_defs;
  guint n_slots;
  guint *slot_def;
  guint *slot_state;
  gboolean tracks_revision;   /* some op compares the revision: states carry it */
  GHashTable *known_revisions;/* revisions of the ok transitions (index -> TRUE) */
  GArray *states;             /* ModelState by id; the first n_slots are the slots */
  GHashTable *state_ids;      /* ModelState -> id + 1 */
  GPtrArray *data_texts;      /* data id -> canonical text (0: "{}") */
  GPtrArray *data_nodes;      /* data id -> its object (JsonNode) */
  GHashTable *data_ids;       /* canonical text -> id + 1 */
  GPtrArray *payloads;        /* payload id - 1 -> the object a transition merges */
  GHashTable *merges;         /* (data id, payload id) -> data id + 1 */
} Model;

typedef enum {
  KIND_DROPPED,    /* no effect and observed nothing: left out */
  KIND_READ,       /* read answered OK: observed the state */
  KIND_OK,         /* transition answered OK: took effect, observed the new state */
  KIND_INVALID,    /* rejected as invalid_transition: no effect, observed the state */
  KIND_UNCERTAIN,  /* unknown or pending transition: took effect or not */
} OpKind;

#define PAYLOAD_NONE 0u
#define PAYLOAD_BAD G_MAXUINT   /* not a JSON object: it could not have been applied */
#define DATA_UNSEEN G_MAXUINT   /* the reply reported no data */
#define DATA_BAD (G_MAXUINT - 1)/* the reply's data is not a JSON object */

typedef struct {
  const DsmHistoryOp *op;
  OpKind kind;
  gint def;              /* index in model->defs, DEF_INSTANCE or DEF_UNKNOWN */
  gint16 *to;            /* per candidate definition: state index or -1 */
  gint16 *from;          /* likewise; NULL without compare-and-set */
  gint16 *seen;          /* likewise; NULL when the reply named no state */
  guint effect;          /* transitions: ops with equal (def, from, to, payload, if_revision) share it */
  guint rank;            /* definite ops: place in completion order */
  guint payload;         /* PAYLOAD_NONE, PAYLOAD_BAD or a payload id */
  guint seen_data;       /* DATA_UNSEEN, DATA_BAD or the data id the reply reported */
} MachineOp;

/* Returns: (transfer full): the candidate definitions of an instance
 * whose ops are @ops: the config's default and every one they name. */
Model *dsm_lin_model_new (DsmConfig *config, GPtrArray *ops);
void dsm_lin_model_free (Model *model);

/* The kept ops of the instance, @kind set: decides what the states track
 * and resolves each op's payload and reported data. */
void dsm_lin_model_resolve (Model *model, MachineOp *mops, guint n_mops);

/**
 * dsm_lin_model_step:
 * Can @mop take effect (@kind KIND_UNCERTAIN) or produce its reply (a
 * definite kind) with the instance in @state?  Sets *@next to the state
 * after it.  @why, when set, receives the reason it cannot.
 */
gboolean dsm_lin_model_step (Model *model, const MachineOp *mop, OpKind kind, guint state, guint *next,
                             GString *why);

/* Appends @state as explanations show it: "Running", "door:Open",
 * "Running at revision 7 with data {...}". */
void dsm_lin_model_append_state (GString *out, const Model *model, guint state);

/* Returns: the index of @state in @def, -1 when it has none (or NULL). */
gint dsm_lin_def_state_index (const DsmMachineDef *def, const char *state);

static inline gboolean
dsm_lin_op_definite (OpKind kind)
{
  return kind == KIND_READ || kind == KIND_OK || kind == KIND_INVALID;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Model, dsm_lin_model_free)

G_END_DECLS
