/* dsm-machine.h: the C interface of a user's state machine, loaded by dsm
 * as a plugin (docs/PLUGINS.md).  Installed with dsm; needs GLib only.
 *
 * A plugin is a shared module exporting one function,
 *
 *   const DsmMachineImpl *dsm_machine_entry (void);
 *
 * which returns a static, filled-in DsmMachineImpl.  Replicated, these
 * functions run on every node in log order; dsm's linearizability
 * checker calls the same functions as the sequential specification of
 * the machine (docs/PLUGINS.md, "Status" says what runs today).  So every
 * function must be
 * deterministic: its result a function of its arguments only (no clock,
 * randomness, environment, static or global state, addresses, hash-table
 * iteration order of pointer keys, floating point that varies by CPU).
 *
 * A command is an operation name (`op`, what a client sends as "to") and
 * a JSON payload (`payload`, an object's text, "{}" when the client sent
 * none).  A machine instance's state is a value of the plugin's own type,
 * opaque to dsm (gpointer), owned by dsm between calls.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The ABI this header describes.  A plugin puts it in `abi_version`; the
 * loader refuses a plugin built against any other (docs/PLUGINS.md,
 * "Versioning"). */
#define DSM_MACHINE_ABI_VERSION 1u

/* The symbol dsm looks up in the module. */
#define DSM_MACHINE_ENTRY_SYMBOL "dsm_machine_entry"

/* Longest plugin name and version string, in bytes (printable ASCII). */
#define DSM_MACHINE_NAME_MAX 64

/**
 * DsmMachineImpl:
 * @abi_version: DSM_MACHINE_ABI_VERSION as the plugin was built
 * @struct_size: sizeof (DsmMachineImpl) as the plugin was built
 * @name: the machine's name ("bank-ledger"): a machine instance uses the
 *   plugin by naming it as its definition; letters, digits, '-', '_', '.'
 * @version: the plugin's version ("1.2.0"); every node of a cluster must
 *   run the same name and version (they are part of the config
 *   fingerprint peers compare in their handshake)
 * @state_new: (transfer full): the initial state of a new instance
 * @state_copy: (transfer full): an independent copy of @state
 * @state_free: frees a state made by state_new, state_copy or restore
 * @validate: may @op with @payload be applied to @state?  TRUE, or FALSE
 *   with *@error_message set (transfer full, g_malloc'd, one line naming
 *   the field and the problem): the command is then rejected on every
 *   node, with that message, and changes nothing.  Must not change @state.
 * @apply: applies @op with @payload to @state, in place.  Called only
 *   after @validate accepted the same (state, op, payload).  Returns
 *   (transfer full) the result as JSON text (an object; "{}" when there
 *   is nothing to say), what the client is answered.  Cannot fail.
 * @snapshot: (transfer full): @state as bytes, canonical: equal states give
 *   equal bytes, on every machine and every run (no pointers, no padding,
 *   a fixed byte order, hash tables written in sorted key order)
 * @restore: (transfer full): the state @bytes encode, or NULL with
 *   *@error_message set when they are not a snapshot of this plugin (dsm
 *   keeps them in snapshots and backups on disk: treat them as hostile)
 * @equal: (nullable): TRUE when @a and @b are the same state; NULL: dsm
 *   compares their snapshots
 * @digest: (nullable): a 64-bit digest of @state, equal for equal states;
 *   NULL: dsm hashes the snapshot
 *
 * Every function is required except @equal and @digest.  Every string
 * argument is NUL-terminated UTF-8; @payload is a JSON object's text.
 */
typedef struct _DsmMachineImpl DsmMachineImpl;

struct _DsmMachineImpl {
  guint32 abi_version;
  guint32 struct_size;
  const char *name;
  const char *version;

  gpointer (*state_new) (void);
  gpointer (*state_copy) (gconstpointer state);
  void (*state_free) (gpointer state);

  gboolean (*validate) (gconstpointer state, const char *op, const char *payload,
                        char **error_message);
  char *(*apply) (gpointer state, const char *op, const char *payload);

  GBytes *(*snapshot) (gconstpointer state);
  gpointer (*restore) (GBytes *bytes, char **error_message);

  gboolean (*equal) (gconstpointer a, gconstpointer b);
  guint64 (*digest) (gconstpointer state);
};

/* The entry point's type: what DSM_MACHINE_ENTRY_SYMBOL names. */
typedef const DsmMachineImpl *(*DsmMachineEntryFunc) (void);

/* Defines (and exports) the entry point in a plugin's source:
 *   static const DsmMachineImpl ledger_impl = { ... };
 *   DSM_MACHINE_DEFINE_ENTRY (ledger_impl)
 * A plugin built with -fvisibility=hidden still exports it. */
#define DSM_MACHINE_DEFINE_ENTRY(impl)                                              \
  __attribute__ ((visibility ("default"))) const DsmMachineImpl *dsm_machine_entry (void); \
  __attribute__ ((visibility ("default"))) const DsmMachineImpl *dsm_machine_entry (void)  \
  {                                                                                 \
    return &(impl);                                                                 \
  }

G_END_DECLS
