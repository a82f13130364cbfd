/* tests/net/test-host-sync.c: a one-node host in this process, real files
 * and fsyncs, its WAL's system calls wrapped (tests/storage/faults.c): both
 * ways a group commit runs, on the loop (a small batch, the worker idle)
 * and in the WAL's own sync thread, answer a write only once it is durable, and a
 * failed fsync stops the node on both without answering it. */
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#include "faults.h"
#include "host.h"

#define BUDGET_US (30 * G_USEC_PER_SEC)

/* Critical "wal_failed" lines the node logged (expected in the failure
 * tests: they are counted, not fatal). */
static guint wal_failed_logged;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n, gpointer data)
{
  for (gsize i = 0; i < n; i++)
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && fields[i].length < 0
        && strstr (fields[i].value, "write-ahead log failed") != NULL)
      {
        wal_failed_logged++;
        return G_LOG_WRITER_HANDLED;
      }
  if (g_test_verbose () || (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) != 0)
    return g_log_writer_standard_streams (level, fields, n, data);
  return G_LOG_WRITER_HANDLED;
}

typedef struct {
  char *dir;
  DsmConfig *config;
  DsmHost *host;
  gboolean stopped;
  guint replies;
  DsmReplyStatus status;
} Fixture;

static gboolean
on_stopped (gpointer data)
{
  Fixture *f = data;

  f->stopped = TRUE;
  return G_SOURCE_REMOVE;
}

static void
on_reply (const DsmClientReply *reply, gpointer data)
{
  Fixture *f = data;

  f->replies++;
  f->status = reply->status;
}

/* Iterates the default context until @cond holds, within BUDGET_US. */
static void
iterate_until (gboolean (*cond) (Fixture *f), Fixture *f, const char *what)
{
  gint64 deadline = g_get_monotonic_time () + BUDGET_US;

  while (!cond (f))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("no %s within %d s", what, (int) (BUDGET_US / G_USEC_PER_SEC));
      g_main_context_iteration (NULL, TRUE);
    }
}

static gboolean
is_leader (Fixture *f)
{
  return dsm_node_get_role (dsm_host_get_node (f->host)) == DSM_ROLE_LEADER;
}

static gboolean
has_reply_or_stopped (Fixture *f)
{
  return f->replies > 0 || f->stopped;
}

static gboolean
has_stopped (Fixture *f)
{
  return f->stopped;
}

/* Starts the one-node host on f->dir, fsyncing inline batches of up to
 * @inline_max entries, and waits until it leads. */
static void
host_start (Fixture *f, guint inline_max)
{
  DsmHostOptions options;
  g_autoptr(GError) error = NULL;

  dsm_host_options_init (&options);
  options.data_dir = f->dir;
  options.sync_inline_entries_max = inline_max;
  f->host = dsm_host_new (f->config, 1, &options, &error);
  g_assert_no_error (error);
  dsm_host_set_stopped_func (f->host, on_stopped, f);
  dsm_host_start (f->host);
  iterate_until (is_leader, f, "leadership");
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("dsm-host-sync-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->config = dsm_config_new_default (1);
  /* A write the node holds longer than consensus_timeout_ms is answered
   * "timeout" (REJECTED while the leader still waits for its own first
   * entry to commit, UNKNOWN once appended), and the default of 2 s is
   * one slow fdatasync on a busy machine: with every fdatasync delayed
   * 2.5 s (strace -e inject=fdatasync:delay_exit=2500000), both tests
   * below failed so, worker-answers-durable with REJECTED as it once did
   * under load.  These tests are about durability, not timeouts: only a
   * hang may fail them. */
  f->config->consensus_timeout_ms = BUDGET_US / 1000;
  faults_reset ();
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  faults_reset ();
  if (f->host != NULL && !f->stopped)
    {
      dsm_host_stop (f->host);
      iterate_until (has_stopped, f, "stop");
    }
  g_clear_pointer (&f->host, dsm_host_free);
  g_clear_pointer (&f->config, dsm_config_unref);
  remove_tree (f->dir);
  g_free (f->dir);
}

static guint64
submit_write (Fixture *f, const char *machine)
{
  DsmCommand cmd = { .op = DSM_OP_TRANSITION, .machine = (char *) machine, .to = (char *) "Running" };

  f->replies = 0;
  return dsm_host_submit (f->host, &cmd, on_reply, f);
}

/* The value of the metric line starting with @name in the host's metrics. */
static double
host_metric (Fixture *f, const char *name)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;

  dsm_host_render_metrics (f->host, out);
  lines = g_strsplit (out->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], name) && (lines[i][strlen (name)] == ' ' || lines[i][strlen (name)] == '{'))
      return g_ascii_strtod (strrchr (lines[i], ' ') + 1, NULL);
  g_error ("no metric %s", name);
}

/* The machines of the WAL in f->dir once reopened, as its recovery folds
 * them: the transitions' machine names, in log order. */
static char *
durable_machines (Fixture *f)
{
  DsmDurableState state = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmWal) wal = dsm_wal_open (f->dir, f->config->cluster_id, 1, NULL, &state, &error);
  g_autoptr(GString) names = g_string_new (NULL);

  g_assert_no_error (error);
  g_assert_cmpuint (dsm_wal_get_durable_seq (wal), ==, 0);   /* a fresh open: nothing synced by it yet */
  for (guint i = 0; state.entries != NULL && i < state.entries->len; i++)
    {
      const DsmEntry *entry = state.entries->pdata[i];
      if (entry->cmd.op == DSM_OP_TRANSITION && entry->cmd.machine != NULL)
        g_string_append_printf (names, "%s%s", names->len > 0 ? " " : "", entry->cmd.machine);
    }
  dsm_durable_state_clear (&state);
  return g_strdup (names->str);
}

/* What both paths promise: a write answered OK is in the log on disk. */
static void
write_and_check (Fixture *f, guint inline_max)
{
  g_autofree char *machines = NULL;

  host_start (f, inline_max);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *machine = g_strdup_printf ("job-%u", i);
      submit_write (f, machine);
      iterate_until (has_reply_or_stopped, f, "reply");
      g_assert_false (f->stopped);
      g_assert_cmpint (f->status, ==, DSM_REPLY_OK);
    }
  if (inline_max > 0)
    g_assert_cmpfloat (host_metric (f, "dsm_wal_syncs_inline_total"), >=, 3);
  else
    g_assert_cmpfloat (host_metric (f, "dsm_wal_syncs_inline_total"), ==, 0);
  /* Gone as a crash would take it: nothing synced after the answers. */
  faults_arm (FAULT_FDATASYNC, 1, EIO, TRUE);
  faults_arm (FAULT_FSYNC, 1, EIO, TRUE);
  dsm_host_stop (f->host);
  iterate_until (has_stopped, f, "stop");
  g_clear_pointer (&f->host, dsm_host_free);
  faults_reset ();
  machines = durable_machines (f);
  g_assert_cmpstr (machines, ==, "job-0 job-1 job-2");
}

static void
test_inline_answers_durable (Fixture *f, gconstpointer data)
{
  g_test_summary ("With the loop idle and one write at a time, each batch is fsynced on the loop "
                  "(counted by dsm_wal_syncs_inline_total), and every write answered OK is in the "
                  "log on disk.");
  write_and_check (f, DSM_HOST_SYNC_INLINE_ENTRIES_DEFAULT);
}

static void
test_worker_answers_durable (Fixture *f, gconstpointer data)
{
  g_test_summary ("With inline syncs off (--sync-inline-entries 0) every batch goes to the WAL's "
                  "worker, and every write answered OK is in the log on disk.");
  write_and_check (f, 0);
}

/* A failed fsync stops the node; the write it held is never answered OK. */
static void
fail_and_check (Fixture *f, guint inline_max)
{
  guint logged = wal_failed_logged;

  host_start (f, inline_max);
  /* One write first: the leader's own entry is durable, and the failing
   * fsync is the next write's. */
  submit_write (f, "job-kept");
  iterate_until (has_reply_or_stopped, f, "reply");
  g_assert_cmpint (f->status, ==, DSM_REPLY_OK);
  faults_arm (FAULT_FDATASYNC, 1, EIO, TRUE);
  submit_write (f, "job-lost");
  iterate_until (has_stopped, f, "stop after the failed fsync");
  g_assert_true (dsm_host_failed (f->host));
  g_assert_cmpuint (wal_failed_logged, ==, logged + 1);
  g_assert_cmpuint (faults_injected (), >=, 1);
  g_assert_true (f->replies == 0 || f->status != DSM_REPLY_OK);
  if (inline_max > 0)
    g_assert_cmpfloat (host_metric (f, "dsm_wal_syncs_inline_total"), >=, 1);
  else
    g_assert_cmpfloat (host_metric (f, "dsm_wal_syncs_inline_total"), ==, 0);
}

static void
test_inline_failure_stops (Fixture *f, gconstpointer data)
{
  g_test_summary ("An fdatasync that fails on the loop stops the node as one in the worker does: "
                  "dsm_host_failed(), the stopped callback, and the write it held not answered OK.");
  fail_and_check (f, DSM_HOST_SYNC_INLINE_ENTRIES_DEFAULT);
}

static void
test_worker_failure_stops (Fixture *f, gconstpointer data)
{
  g_test_summary ("An fdatasync that fails in the WAL's worker stops the node: dsm_host_failed(), "
                  "the stopped callback, and the write it held not answered OK.");
  fail_and_check (f, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (log_writer, NULL, NULL);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/net/host-sync/inline-answers-durable", test_inline_answers_durable);
  ADD ("/net/host-sync/worker-answers-durable", test_worker_answers_durable);
  ADD ("/net/host-sync/inline-failure-stops", test_inline_failure_stops);
  ADD ("/net/host-sync/worker-failure-stops", test_worker_failure_stops);
  return g_test_run ();
}
