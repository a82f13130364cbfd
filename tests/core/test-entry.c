/* tests/core/test-entry.c: commands (copy, compare, shape check) and
 * reference-counted log entries. */
#include <string.h>

#include "entry.h"
#include "error.h"

static void
test_op_names (void)
{
  g_test_summary ("Ops have the names the wire and the HTTP API use.");

  g_assert_cmpstr (dsm_op_to_string (DSM_OP_TRANSITION), ==, "transition");
  g_assert_cmpstr (dsm_op_to_string (DSM_OP_READ), ==, "read");
}

static void
test_command_copy_is_deep (void)
{
  DsmCommand src = { .op = DSM_OP_TRANSITION, .client_id = (char *) "c", .seq = 3,
                     .machine = (char *) "m", .definition = (char *) "d",
                     .from = (char *) "A", .to = (char *) "B" };
  DsmCommand copy;

  g_test_summary ("A copied command owns its strings and equals the original.");

  dsm_command_init_copy (&copy, &src);
  g_assert_true (dsm_command_equal (&copy, &src));
  g_assert_true (copy.machine != src.machine);
  g_assert_true (copy.to != src.to);
  dsm_command_clear (&copy);
  g_assert_null (copy.machine);
  g_assert_cmpuint (copy.seq, ==, 0);
}

static void
test_command_packed_copy (void)
{
  DsmCommand src = { .op = DSM_OP_TRANSITION, .client_id = (char *) "c1", .seq = 3,
                     .machine = (char *) "m", .to = (char *) "B", .payload = (char *) "{\"k\":1}" };
  DsmCommand empty = { .op = DSM_OP_READ };
  DsmCommand copy;
  gsize size = dsm_command_strings_size (&src);
  g_autofree char *strings = g_malloc (size);

  g_test_summary ("A packed copy of a command equals it and keeps every string in the caller's "
                  "buffer, which it fills exactly; a command without strings needs none.");
  g_assert_cmpuint (size, ==, strlen ("c1") + strlen ("m") + strlen ("B") + strlen ("{\"k\":1}") + 4);
  dsm_command_init_packed (&copy, &src, strings, size);
  g_assert_true (dsm_command_equal (&copy, &src));
  g_assert_true (copy.client_id == strings);
  g_assert_true (copy.machine > strings && copy.machine < strings + size);
  g_assert_true (copy.payload + strlen (copy.payload) + 1 == strings + size);
  g_assert_null (copy.from);
  g_assert_cmpuint (dsm_command_strings_size (&empty), ==, 0);
  dsm_command_init_packed (&copy, &empty, NULL, 0);
  g_assert_true (dsm_command_equal (&copy, &empty));
}

static void
test_entry_strings_packed (void)
{
  DsmCommand src = { .op = DSM_OP_TRANSITION, .client_id = (char *) "c1", .seq = 3,
                     .machine = (char *) "m", .definition = (char *) "d", .from = (char *) "A",
                     .to = (char *) "B", .spec = (char *) "{}", .payload = (char *) "{\"k\":1}",
                     .has_if_revision = TRUE, .if_revision = 9 };
  DsmCommand empty = { .op = DSM_OP_READ };

  g_test_summary ("An entry keeps copies of its command's strings in its own allocation, equal to the "
                  "command's; one without strings, and one that took a command's, free theirs as before.");
  DsmEntry *e = dsm_entry_new (4, 2, DSM_ENTRY_COMMAND, &src);
  g_assert_true (dsm_command_equal (&e->cmd, &src));
  g_assert_true (e->cmd.machine != src.machine);
  g_assert_true (e->cmd.payload > e->cmd.client_id);
  g_assert_null (e->cmd.peer_address);
  DsmEntry *none = dsm_entry_new (5, 2, DSM_ENTRY_COMMAND, &empty);
  g_assert_true (dsm_command_equal (&none->cmd, &empty));
  DsmCommand taken;
  dsm_command_init_copy (&taken, &src);
  DsmEntry *took = dsm_entry_new_take (6, 2, &taken);
  g_assert_true (dsm_command_equal (&took->cmd, &src));
  g_assert_true (dsm_entry_equal (e, e));
  /* Freed without a leak or a bad free (the sanitizer build checks). */
  dsm_entry_unref (e);
  dsm_entry_unref (none);
  dsm_entry_unref (took);
}

static void
test_command_equal_compares_every_field (void)
{
  DsmCommand a = { .op = DSM_OP_TRANSITION, .client_id = (char *) "c", .seq = 3,
                   .machine = (char *) "m", .definition = (char *) "d",
                   .from = (char *) "A", .to = (char *) "B" };
  DsmCommand b;

  g_test_summary ("dsm_command_equal() notices a change in any field, NULL included.");

  b = a; b.op = DSM_OP_READ;              g_assert_false (dsm_command_equal (&a, &b));
  b = a; b.client_id = NULL;              g_assert_false (dsm_command_equal (&a, &b));
  b = a; b.seq = 4;                       g_assert_false (dsm_command_equal (&a, &b));
  b = a; b.machine = (char *) "n";        g_assert_false (dsm_command_equal (&a, &b));
  b = a; b.definition = NULL;             g_assert_false (dsm_command_equal (&a, &b));
  b = a; b.from = (char *) "X";           g_assert_false (dsm_command_equal (&a, &b));
  b = a; b.to = NULL;                     g_assert_false (dsm_command_equal (&a, &b));
  b = a;                                  g_assert_true (dsm_command_equal (&a, &b));
}

static void
test_command_check_accepts_valid (void)
{
  DsmCommand transition = { .op = DSM_OP_TRANSITION, .machine = (char *) "pump-1",
                            .to = (char *) "Running" };
  DsmCommand read = { .op = DSM_OP_READ, .machine = (char *) "pump-1",
                      .client_id = (char *) "c1", .seq = 1 };
  char longest[DSM_NAME_MAX + 1];
  g_autoptr(GError) error = NULL;

  g_test_summary ("Well-formed transitions and reads pass, names of exactly "
                  "DSM_NAME_MAX bytes and non-ASCII names included.");

  g_assert_true (dsm_command_check (&transition, &error));
  g_assert_no_error (error);
  g_assert_true (dsm_command_check (&read, &error));
  g_assert_no_error (error);

  memset (longest, 'x', DSM_NAME_MAX);
  longest[DSM_NAME_MAX] = '\0';
  transition.machine = longest;
  transition.to = (char *) "Démarré ✓";
  g_assert_true (dsm_command_check (&transition, &error));
  g_assert_no_error (error);
}

typedef struct {
  const char *name;
  DsmCommand cmd;
  const char *message;  /* the error message starts with this */
} BadCommand;

static char too_long[DSM_NAME_MAX + 2];

static const BadCommand bad_commands[] = {
  { "missing-machine", { .op = DSM_OP_READ }, "machine: missing" },
  { "empty-machine", { .op = DSM_OP_READ, .machine = (char *) "" }, "machine: empty name" },
  { "long-machine", { .op = DSM_OP_READ, .machine = too_long }, "machine: name of 129 bytes" },
  { "bad-utf8-machine", { .op = DSM_OP_READ, .machine = (char *) "ab\xff" }, "machine: not valid UTF-8" },
  { "c0-machine", { .op = DSM_OP_READ, .machine = (char *) "a\tb" }, "machine: control character U+0009" },
  { "del-machine", { .op = DSM_OP_READ, .machine = (char *) "a\x7f" }, "machine: control character U+007F" },
  { "c1-machine", { .op = DSM_OP_READ, .machine = (char *) "a\xc2\x85" }, "machine: control character U+0085" },
  { "transition-without-to", { .op = DSM_OP_TRANSITION, .machine = (char *) "m" }, "to: missing" },
  { "empty-to", { .op = DSM_OP_TRANSITION, .machine = (char *) "m", .to = (char *) "" }, "to: empty name" },
  { "read-with-to", { .op = DSM_OP_READ, .machine = (char *) "m", .to = (char *) "B" }, "to: not allowed" },
  { "empty-from", { .op = DSM_OP_READ, .machine = (char *) "m", .from = (char *) "" }, "from: empty name" },
  { "newline-definition", { .op = DSM_OP_READ, .machine = (char *) "m", .definition = (char *) "d\n" }, "definition: control character" },
  { "empty-client", { .op = DSM_OP_READ, .machine = (char *) "m", .client_id = (char *) "", .seq = 1 }, "client_id: empty name" },
  { "seq-zero", { .op = DSM_OP_READ, .machine = (char *) "m", .client_id = (char *) "c" }, "seq: must be at least 1" },
  { "seq-without-client", { .op = DSM_OP_READ, .machine = (char *) "m", .seq = 5 }, "seq: 5 given without a client_id" },
  { "unknown-op", { .op = (DsmOp) 7, .machine = (char *) "m" }, "op: unknown op 7" },
};

static void
test_command_check_refuses (gconstpointer data)
{
  const BadCommand *row = data;
  g_autoptr(GError) error = NULL;

  g_test_summary ("A malformed command is a DSM_CODEC_ERROR_INVALID naming the field.");

  g_assert_false (dsm_command_check (&row->cmd, &error));
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID);
  if (!g_str_has_prefix (error->message, row->message))
    g_error ("%s: expected a message starting \"%s\", got \"%s\"",
             row->name, row->message, error->message);
}

static void
test_check_name_uses_field (void)
{
  g_autoptr(GError) error = NULL;

  g_test_summary ("dsm_command_check_name() names the field it was given.");

  g_assert_true (dsm_command_check_name ("reject.state", "Running", NULL));
  g_assert_false (dsm_command_check_name ("reject.state", "", &error));
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "reject.state: empty name");
}

static void
test_machine_name_rule (void)
{
  g_autoptr(GError) error = NULL;
  DsmCommand cmd = { .op = DSM_OP_READ, .machine = (char *) ".." };

  g_test_summary ("Machine names follow the name rule and are not \".\" or \"..\" (URL path segments); "
                  "dsm_command_check() applies it to every command.");
  g_assert_true (dsm_command_check_machine_name ("machine", "a.b", NULL));
  g_assert_true (dsm_command_check_machine_name ("machine", "...", NULL));
  g_assert_true (dsm_command_check_machine_name ("machine", "a/b c", NULL));
  g_assert_false (dsm_command_check_machine_name ("machine", "", NULL));
  g_assert_false (dsm_command_check_machine_name ("machine", "a\x01", NULL));
  g_assert_false (dsm_command_check_machine_name ("NAME", ".", &error));
  g_assert_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "NAME: \".\" is not a machine name"));
  g_clear_error (&error);
  g_assert_false (dsm_command_check (&cmd, &error));
  g_assert_true (g_str_has_prefix (error->message, "machine: \"..\""));
}

static void
test_entry_new_copies_command (void)
{
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = g_strdup ("m"), .to = g_strdup ("B") };
  g_autoptr(DsmEntry) entry = dsm_entry_new (5, 2, DSM_ENTRY_COMMAND, &cmd);

  g_test_summary ("An entry keeps its own copy of the command it was built from.");

  dsm_command_clear (&cmd);
  g_assert_cmpuint (entry->index, ==, 5);
  g_assert_cmpuint (entry->epoch, ==, 2);
  g_assert_cmpint (entry->kind, ==, DSM_ENTRY_COMMAND);
  g_assert_cmpstr (entry->cmd.machine, ==, "m");
  g_assert_cmpstr (entry->cmd.to, ==, "B");
}

static void
test_entry_noop_has_no_command (void)
{
  g_autoptr(DsmEntry) entry = dsm_entry_new (1, 1, DSM_ENTRY_NOOP, NULL);

  g_test_summary ("A NOOP entry's command is zeroed.");

  g_assert_null (entry->cmd.machine);
  g_assert_null (entry->cmd.to);
  g_assert_cmpuint (entry->cmd.seq, ==, 0);
}

static void
test_entry_ref_shares (void)
{
  DsmCommand cmd = { .op = DSM_OP_READ, .machine = (char *) "m" };
  DsmEntry *entry = dsm_entry_new (3, 1, DSM_ENTRY_COMMAND, &cmd);
  DsmEntry *other = dsm_entry_ref (entry);

  g_test_summary ("A reference is the same entry and keeps it alive after "
                  "the first reference goes (ASan checks the frees).");

  g_assert_true (other == entry);
  dsm_entry_unref (entry);
  g_assert_cmpstr (other->cmd.machine, ==, "m");
  dsm_entry_unref (other);
}

static void
test_entry_cache_json_first_wins (void)
{
  DsmCommand cmd = { .op = DSM_OP_READ, .machine = (char *) "m" };
  g_autoptr(DsmEntry) entry = dsm_entry_new (3, 1, DSM_ENTRY_COMMAND, &cmd);
  const DsmEntryJson *first;

  g_test_summary ("An entry keeps the first JSON text cached for it, NUL-terminated, "
                  "and a second caller gets that one (threads may race to cache it).");

  g_assert_null (dsm_entry_get_json (entry));
  first = dsm_entry_cache_json (entry, "{\"index\":3}xyz", 11);
  g_assert_nonnull (first);
  g_assert_cmpuint (first->length, ==, 11);
  g_assert_cmpstr (first->text, ==, "{\"index\":3}");
  g_assert_true (dsm_entry_cache_json (entry, "{\"index\":3}", 11) == first);
  g_assert_true (dsm_entry_get_json (entry) == first);
}

static void
test_entry_equal (void)
{
  DsmCommand cmd = { .op = DSM_OP_READ, .machine = (char *) "m" };
  DsmCommand other_cmd = { .op = DSM_OP_READ, .machine = (char *) "n" };
  g_autoptr(DsmEntry) a = dsm_entry_new (3, 1, DSM_ENTRY_COMMAND, &cmd);
  g_autoptr(DsmEntry) same = dsm_entry_new (3, 1, DSM_ENTRY_COMMAND, &cmd);
  g_autoptr(DsmEntry) index = dsm_entry_new (4, 1, DSM_ENTRY_COMMAND, &cmd);
  g_autoptr(DsmEntry) epoch = dsm_entry_new (3, 2, DSM_ENTRY_COMMAND, &cmd);
  g_autoptr(DsmEntry) noop = dsm_entry_new (3, 1, DSM_ENTRY_NOOP, NULL);
  g_autoptr(DsmEntry) command = dsm_entry_new (3, 1, DSM_ENTRY_COMMAND, &other_cmd);

  g_test_summary ("Entries are equal exactly when index, epoch, kind and command are.");

  g_assert_true (dsm_entry_equal (a, same));
  g_assert_false (dsm_entry_equal (a, index));
  g_assert_false (dsm_entry_equal (a, epoch));
  g_assert_false (dsm_entry_equal (a, noop));
  g_assert_false (dsm_entry_equal (a, command));
}

static void
test_entry_size_grows_with_names (void)
{
  DsmCommand small = { .op = DSM_OP_READ, .machine = (char *) "m" };
  DsmCommand big = { .op = DSM_OP_READ, .machine = too_long };
  g_autoptr(DsmEntry) noop = dsm_entry_new (1, 1, DSM_ENTRY_NOOP, NULL);
  g_autoptr(DsmEntry) a = dsm_entry_new (1, 1, DSM_ENTRY_COMMAND, &small);
  g_autoptr(DsmEntry) b = dsm_entry_new (1, 1, DSM_ENTRY_COMMAND, &big);

  g_test_summary ("The size estimate used for batching grows with the command.");

  g_assert_cmpuint (dsm_entry_size_bytes (noop), >, 0);
  g_assert_cmpuint (dsm_entry_size_bytes (noop), <, dsm_entry_size_bytes (a));
  g_assert_cmpuint (dsm_entry_size_bytes (a) + DSM_NAME_MAX, <=, dsm_entry_size_bytes (b));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  memset (too_long, 'x', DSM_NAME_MAX + 1);

  g_test_add_func ("/core/entry/op-names", test_op_names);
  g_test_add_func ("/core/entry/command-copy-is-deep", test_command_copy_is_deep);
  g_test_add_func ("/core/entry/command-packed-copy", test_command_packed_copy);
  g_test_add_func ("/core/entry/strings-packed", test_entry_strings_packed);
  g_test_add_func ("/core/entry/command-equal-compares-every-field",
                   test_command_equal_compares_every_field);
  g_test_add_func ("/core/entry/command-check-accepts-valid", test_command_check_accepts_valid);
  for (guint i = 0; i < G_N_ELEMENTS (bad_commands); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/entry/command-check-refuses/%s",
                                               bad_commands[i].name);

      g_test_add_data_func (path, &bad_commands[i], test_command_check_refuses);
    }
  g_test_add_func ("/core/entry/check-name-uses-field", test_check_name_uses_field);
  g_test_add_func ("/core/entry/machine-name-rule", test_machine_name_rule);
  g_test_add_func ("/core/entry/new-copies-command", test_entry_new_copies_command);
  g_test_add_func ("/core/entry/noop-has-no-command", test_entry_noop_has_no_command);
  g_test_add_func ("/core/entry/ref-shares", test_entry_ref_shares);
  g_test_add_func ("/core/entry/cache-json-first-wins", test_entry_cache_json_first_wins);
  g_test_add_func ("/core/entry/equal", test_entry_equal);
  g_test_add_func ("/core/entry/size-grows-with-names", test_entry_size_grows_with_names);
  return g_test_run ();
}
