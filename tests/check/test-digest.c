/* tests/check/test-digest.c: the entry digest the agreement checker keeps
 * instead of the entry (check/digest.h), and the intern table of names
 * the checker and the simulator's history share (check/names.h). */
#include <string.h>

#include "check/digest.h"
#include "check/history.h"
#include "check/names.h"
#include "config.h"
#include "membership.h"

static DsmCommand
base_command (void)
{
  DsmCommand cmd = {
    .op = DSM_OP_TRANSITION,
    .client_id = (char *) "c1",
    .seq = 7,
    .machine = (char *) "m",
    .definition = (char *) "lifecycle",
    .from = (char *) "Init",
    .to = (char *) "Running",
    .payload = (char *) "{\"k\":1}",
    .has_if_revision = TRUE,
    .if_revision = 3,
  };
  return cmd;
}

static void
digest_of (guint64 index, guint64 epoch, DsmEntryKind kind, const DsmCommand *cmd, DsmDigest *out)
{
  g_autoptr(DsmEntry) e = dsm_entry_new (index, epoch, kind, cmd);
  dsm_digest_entry (e, out);
}

static void
test_equal_entries (void)
{
  DsmCommand cmd = base_command ();
  g_autofree char *machine = g_strdup ("m");
  DsmCommand same = cmd;
  DsmDigest a, b;

  g_test_summary ("Equal entries built apart (as decoded from the wire) have equal digests: "
                  "agreement does not fail on copies.");
  same.machine = machine;
  digest_of (5, 2, DSM_ENTRY_COMMAND, &cmd, &a);
  digest_of (5, 2, DSM_ENTRY_COMMAND, &same, &b);
  g_assert_true (dsm_digest_equal (&a, &b));
}

static void
test_every_field_counts (void)
{
  DsmDigest ref, other;
  DsmCommand cmd = base_command ();

  g_test_summary ("Changing any one field dsm_entry_equal() compares changes the digest: index, "
                  "epoch, kind and every command field, a NULL string apart from an empty one, "
                  "and strings whose bytes merely move between fields.");
  digest_of (5, 2, DSM_ENTRY_COMMAND, &cmd, &ref);
  digest_of (6, 2, DSM_ENTRY_COMMAND, &cmd, &other);
  g_assert_false (dsm_digest_equal (&ref, &other));
  digest_of (5, 3, DSM_ENTRY_COMMAND, &cmd, &other);
  g_assert_false (dsm_digest_equal (&ref, &other));
  digest_of (5, 2, DSM_ENTRY_NOOP, NULL, &other);
  g_assert_false (dsm_digest_equal (&ref, &other));

  const gsize string_fields[] = {
    G_STRUCT_OFFSET (DsmCommand, client_id), G_STRUCT_OFFSET (DsmCommand, machine),
    G_STRUCT_OFFSET (DsmCommand, definition), G_STRUCT_OFFSET (DsmCommand, from),
    G_STRUCT_OFFSET (DsmCommand, to), G_STRUCT_OFFSET (DsmCommand, spec),
    G_STRUCT_OFFSET (DsmCommand, peer_address), G_STRUCT_OFFSET (DsmCommand, client_address),
    G_STRUCT_OFFSET (DsmCommand, native_address), G_STRUCT_OFFSET (DsmCommand, payload),
  };
  const char *const values[] = { NULL, "", "x", "Running!", "a longer value than one eight-byte word" };
  for (guint f = 0; f < G_N_ELEMENTS (string_fields); f++)
    for (guint v = 0; v < G_N_ELEMENTS (values); v++)
      {
        DsmCommand changed = base_command ();
        char **field = G_STRUCT_MEMBER_P (&changed, string_fields[f]);
        if (g_strcmp0 (*field, values[v]) == 0)
          continue;
        *field = (char *) values[v];
        digest_of (5, 2, DSM_ENTRY_COMMAND, &changed, &other);
        g_assert_false (dsm_digest_equal (&ref, &other));
      }

  DsmCommand changed = base_command ();
  changed.seq = 8;
  digest_of (5, 2, DSM_ENTRY_COMMAND, &changed, &other);
  g_assert_false (dsm_digest_equal (&ref, &other));
  changed = base_command ();
  changed.op = DSM_OP_READ;
  digest_of (5, 2, DSM_ENTRY_COMMAND, &changed, &other);
  g_assert_false (dsm_digest_equal (&ref, &other));
  changed = base_command ();
  changed.node = 4;
  digest_of (5, 2, DSM_ENTRY_COMMAND, &changed, &other);
  g_assert_false (dsm_digest_equal (&ref, &other));
  changed = base_command ();
  changed.has_if_revision = FALSE;
  digest_of (5, 2, DSM_ENTRY_COMMAND, &changed, &other);
  g_assert_false (dsm_digest_equal (&ref, &other));
  changed = base_command ();
  changed.if_revision = 4;
  digest_of (5, 2, DSM_ENTRY_COMMAND, &changed, &other);
  g_assert_false (dsm_digest_equal (&ref, &other));

  /* The same bytes framed differently: "Init"+"Running" against
   * "InitR"+"unning". */
  changed = base_command ();
  changed.from = (char *) "InitR";
  changed.to = (char *) "unning";
  digest_of (5, 2, DSM_ENTRY_COMMAND, &changed, &other);
  g_assert_false (dsm_digest_equal (&ref, &other));
}

static void
test_membership_counts (void)
{
  g_autoptr(DsmConfig) config = dsm_config_new_default (3);
  g_autoptr(DsmMembership) boot = dsm_membership_new_bootstrap (config);
  g_autoptr(DsmMembership) removed = NULL;
  g_autoptr(GError) error = NULL;
  DsmCommand cmd = { .op = DSM_OP_REMOVE_MEMBER, .node = 3 };
  DsmDigest a, b, c;

  g_test_summary ("A CONFIG entry's digest covers its membership: the same command carrying "
                  "another configuration differs.");
  removed = dsm_membership_change (boot, &cmd, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(DsmEntry) x = dsm_entry_new_config (4, 1, &cmd, boot);
  g_autoptr(DsmEntry) y = dsm_entry_new_config (4, 1, &cmd, removed);
  g_autoptr(DsmEntry) z = dsm_entry_new_config (4, 1, &cmd, removed);
  dsm_digest_entry (x, &a);
  dsm_digest_entry (y, &b);
  dsm_digest_entry (z, &c);
  g_assert_false (dsm_digest_equal (&a, &b));
  g_assert_true (dsm_digest_equal (&b, &c));
}

static void
test_names (void)
{
  g_autoptr(DsmNames) names = dsm_names_new ();
  char buffer[8];

  g_test_summary ("Interned names: NULL is id 0, ids count up in first-seen order, an equal name "
                  "gets the same id and the same pointer whatever buffer it came from.");
  g_assert_cmpuint (dsm_names_id (names, NULL), ==, 0);
  g_assert_null (dsm_names_get (names, 0));
  g_assert_null (dsm_names_intern (names, NULL));
  g_assert_cmpuint (dsm_names_id (names, "m1"), ==, 1);
  g_assert_cmpuint (dsm_names_id (names, "Running"), ==, 2);
  strcpy (buffer, "m1");
  g_assert_cmpuint (dsm_names_id (names, buffer), ==, 1);
  g_assert_true (dsm_names_intern (names, buffer) == dsm_names_get (names, 1));
  g_assert_true (dsm_names_intern (names, buffer) != buffer);
  g_assert_cmpstr (dsm_names_get (names, 2), ==, "Running");
  g_assert_cmpuint (dsm_names_id (names, ""), ==, 3);
  g_assert_cmpuint (dsm_names_get_n (names), ==, 3);
}

static void
test_interned_history_op (void)
{
  g_autoptr(DsmNames) names = dsm_names_new ();
  DsmCommand cmd = base_command ();
  DsmHistoryOp *a = dsm_history_op_new_interned (1, 0, &cmd, 10, names);
  DsmHistoryOp *b = dsm_history_op_new_interned (2, 1, &cmd, 20, names);

  g_test_summary ("History ops with interned names share one copy of each name and free only "
                  "what they own (the payload); a copy owns all its strings and outlives the "
                  "table (ASan checks both).");
  g_assert_true (a->names_interned);
  g_assert_true (a->machine == b->machine);
  g_assert_true (a->requested == b->requested);
  g_assert_true (a->payload != b->payload);
  g_assert_cmpstr (a->payload, ==, cmd.payload);
  g_assert_cmpstr (a->from, ==, "Init");
  g_assert_cmpuint (a->if_revision, ==, 3);
  a->state = (char *) dsm_names_intern (names, "Running");
  DsmHistoryOp *copy = dsm_history_op_copy (a);
  g_assert_false (copy->names_interned);
  g_assert_true (copy->machine != a->machine);
  dsm_history_op_free (a);
  dsm_history_op_free (b);
  g_clear_pointer (&names, dsm_names_free);
  g_assert_cmpstr (copy->machine, ==, "m");
  g_assert_cmpstr (copy->state, ==, "Running");
  dsm_history_op_free (copy);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/check/digest/equal-entries", test_equal_entries);
  g_test_add_func ("/check/digest/every-field-counts", test_every_field_counts);
  g_test_add_func ("/check/digest/membership-counts", test_membership_counts);
  g_test_add_func ("/check/names/intern", test_names);
  g_test_add_func ("/check/names/interned-history-op", test_interned_history_op);
  return g_test_run ();
}
