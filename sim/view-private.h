/* sim/view-private.h: the page's data as it is gathered from a trace and
 * a history (sim/view.c, sim/view-faults.c), before sim/view-page.c
 * writes it into the page. */
#pragma once

#include <json-glib/json-glib.h>

#include "check/history-file.h"
#include "scenario/scenario.h"
#include "view.h"

/* Node ids above this get no lane (the scenario format allows 51). */
#define VIEW_NODE_MAX 255

/* A message copy's fate, as the page's script numbers them. */
enum {
  VIEW_FATE_DELIVERED = 0,
  VIEW_FATE_DROPPED = 1,          /* in flight: the receiver was down or cut off by then */
  VIEW_FATE_CORRUPT = 2,
  VIEW_FATE_DROPPED_AT_SEND = 3,  /* never left: loss, or a partition at the send */
};

typedef struct {
  char *role;               /* NULL: no role known (down, or before the first change) */
  guint64 since;
  guint64 epoch;
} ViewRole;

typedef struct {
  guint64 id;               /* the key of ViewData.ops */
  DsmHistoryOp *op;         /* owned: the latest record of it */
  guint node;               /* the node it was (last) sent to; 0 unknown */
} ViewOp;

/* An interval open since @since, with its text. */
typedef struct {
  gboolean open;
  guint64 since;
  char *text;
} ViewOpen;

typedef enum {
  VIEW_WINDOW_LOSS,
  VIEW_WINDOW_DELAY,
  VIEW_WINDOW_DUPLICATE,
  VIEW_WINDOW_REORDER,
  VIEW_WINDOW_CORRUPT,
  VIEW_WINDOW_N,
} ViewWindowKind;

typedef struct {
  /* interned strings; the JSON refers to them by position */
  GPtrArray *strings;
  GHashTable *str_index;
  /* the trace's header */
  guint64 seed;
  char *name;
  char *scenario_json;
  JsonNode *steps;          /* nullable: the scenario's steps */
  DsmScenario *scenario;    /* nullable: the header read as a scenario (its definitions) */
  /* lanes */
  gboolean lane_seen[VIEW_NODE_MAX + 1];
  guint lanes;
  guint64 end_ms;
  guint64 lines;
  /* flat arrays of numbers, each with a trailing comma */
  GString *msgs;            /* send, arrival, from, to, type, epoch, fate, detail */
  GString *roles;           /* node, from, to, role, epoch */
  GString *applies;         /* t, node, index, epoch, text */
  GString *marks;           /* t, node, kind, text */
  GString *faults;          /* node (0: the network), from, to, kind, text */
  guint64 arrows;
  guint64 sent;
  guint64 in_flight;
  guint64 syncs;
  guint64 n_marks;
  GHashTable *pending;      /* message key -> SendQueue */
  ViewRole roles_open[VIEW_NODE_MAX + 1];
  /* faults still in force */
  ViewOpen down[VIEW_NODE_MAX + 1];
  ViewOpen isolated[VIEW_NODE_MAX + 1];
  ViewOpen disk_full[VIEW_NODE_MAX + 1];
  ViewOpen partition;
  ViewOpen windows[VIEW_WINDOW_N];
  guint64 window_until[VIEW_WINDOW_N];
  GHashTable *cuts;         /* "from>to" -> ViewOpen */
  /* operations, by id */
  GHashTable *ops;          /* guint64 id -> ViewOp */
  DsmHistoryFile *history;  /* nullable */
  GPtrArray *finals;        /* nullable (element-type DsmHistoryFinal), not owned elements */
} ViewData;

ViewData *view_data_new (void);
void view_data_free (ViewData *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (ViewData, view_data_free)

/* Reads a whole trace into @d. */
gboolean view_read_trace (ViewData *d, const char *text, gsize length, GError **error);

/* The position of @text in the string table (interned). */
guint view_str (ViewData *d, const char *text);
void view_lane (ViewData *d, guint node);
/* Ends @node's role interval (a role change, a crash, the trace's end). */
void view_role_close (ViewData *d, guint node, guint64 t);
void view_mark (ViewData *d, guint64 t, guint node, const char *kind, const char *text);
void view_fault (ViewData *d, guint node, guint64 from, guint64 to, const char *kind, const char *text);
/* Forgets every operation gathered so far. */
void view_ops_clear (ViewData *d);
/* Takes @op (owned). */
void view_op (ViewData *d, DsmHistoryOp *op, guint node);
/* @o's member @name as a number (booleans 0 or 1), or @fallback. */
gint64 view_int (JsonObject *o, const char *name, gint64 fallback);
/* (nullable) @o's member @name when it is a string. */
const char *view_string (JsonObject *o, const char *name);
char *view_raw_text (const char *line, gsize len);
void view_write_string (GString *out, const char *s);

/* sim/view-faults.c: a line that is not a message, an apply, a node event
 * or an operation: faults, crashes, heals, and kinds this reader does not
 * know (drawn as marks with their text). */
void view_fault_line (ViewData *d, const char *ev, JsonObject *o, const char *line, gsize len, guint64 t);
/* Closes every fault still in force at @t. */
void view_faults_close (ViewData *d, guint64 t);
