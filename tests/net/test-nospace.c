/* tests/net/test-nospace.c: a node whose data directory fills up while a
 * client load runs (load.h), with real processes and real files.  Every
 * node's data directory is a small tmpfs of its own; a test fills one (a
 * follower's, or the leader's) with a file, then checks the alarm in
 * /healthz and /metrics, a 507 for a write sent to that node, the cluster
 * committing without it (under another leader when it led), and, once the
 * file is gone, the node clearing the alarm by itself, catching up and
 * snapshotting; at the end every acknowledged write is on every node and
 * in every data directory (load_check).
 *
 * Mounting needs CAP_SYS_ADMIN (root, as CI runs): without it both tests
 * are skipped and say why.  The mounts live in a mount namespace of the
 * test's own (unshare at the start of main), so none outlives it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cluster.h"
#include "load.h"

/* Snapshots every 1000 entries: each node takes several while the test
 * runs, the full one too once it has room again (the node of issue 10's
 * table exited at its first snapshot after space came back). */
#define CONFIG_EXTRA "\"snapshot_threshold_entries\": 1000"
#define TMPFS_OPTIONS "size=16m,mode=0700"
#define BUDGET_MS 20000
#define POLL_US (20 * 1000)

/* Why a tmpfs cannot be mounted here, or NULL. */
static char *mount_skip_reason;

/* Run first in main(), before any thread exists (unshare refuses a
 * process whose threads share its file system context). */
static void
mounts_init (void)
{
  g_autofree char *probe = NULL;

  if (unshare (CLONE_NEWNS) != 0)
    {
      mount_skip_reason = g_strdup_printf ("cannot make a mount namespace (unshare: %s); "
                                           "these tests need root (CAP_SYS_ADMIN), as CI has", g_strerror (errno));
      return;
    }
  /* Nothing mounted here propagates to the machine's namespace. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    {
      mount_skip_reason = g_strdup_printf ("cannot make / private in the test's mount namespace (%s)",
                                           g_strerror (errno));
      return;
    }
  probe = g_dir_make_tmp ("dsm-tmpfs-probe-XXXXXX", NULL);
  if (probe == NULL || mount ("tmpfs", probe, "tmpfs", 0, TMPFS_OPTIONS) != 0)
    mount_skip_reason = g_strdup_printf ("cannot mount a tmpfs (%s)", g_strerror (errno));
  else
    umount (probe);
  if (probe != NULL)
    g_rmdir (probe);
}

/* A cluster whose data directories are each a tmpfs. */
static Cluster *
cluster_on_tmpfs (void)
{
  Cluster *c = cluster_prepare (3, CONFIG_EXTRA);

  for (guint id = 1; id <= c->n; id++)
    {
      g_autofree char *data = cluster_data_dir (c, id);
      g_assert_cmpint (g_mkdir (data, 0700), ==, 0);
      g_assert_cmpint (mount ("tmpfs", data, "tmpfs", 0, TMPFS_OPTIONS), ==, 0);
    }
  cluster_start_all (c);
  g_printerr ("# cluster dir %s\n", c->dir);
  return c;
}

static void
cluster_unmount (Cluster *c)
{
  for (guint id = 1; id <= c->n; id++)
    {
      g_autofree char *data = cluster_data_dir (c, id);
      g_assert_cmpint (umount2 (data, MNT_DETACH), ==, 0);
    }
}

/* Writes a file into node @id's data directory until its file system has
 * not one byte left.  Returns: (transfer full): the file's path. */
static char *
fill_disk (Cluster *c, guint id)
{
  g_autofree char *data = cluster_data_dir (c, id);
  char *path = g_build_filename (data, "filler", NULL);
  static const char zeros[64 * 1024];
  gsize chunk = sizeof zeros;
  int fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  g_assert_cmpint (fd, >=, 0);
  while (chunk > 0)
    {
      ssize_t n = write (fd, zeros, chunk);
      if (n < 0)
        {
          g_assert_cmpint (errno, ==, ENOSPC);
          chunk /= 2;
        }
    }
  g_assert_cmpint (close (fd), ==, 0);
  return path;
}

static double
alarm_metric (Cluster *c, guint id, const char *name)
{
  g_autofree char *key = g_strdup_printf ("%s{node=\"%u\",kind=\"nospace\"}", name, id);
  return cluster_metric (c, id, key);
}

/* Polls node @id until /healthz and /metrics say the alarm is @raised. */
static void
wait_alarm (Cluster *c, guint id, gboolean raised)
{
  gint64 deadline = g_get_monotonic_time () + BUDGET_MS * 1000;

  for (;;)
    {
      g_autoptr(JsonNode) health = NULL;
      guint status = cluster_http (c, id, "GET", "/healthz", NULL, &health);
      if (status == (raised ? 503 : 200)
          && g_strcmp0 (json_get_string (health, "status"), raised ? "no_space" : "ok") == 0
          && alarm_metric (c, id, "dsm_alarm") == (raised ? 1 : 0))
        {
          JsonArray *alarms = json_object_get_array_member (json_node_get_object (health), "alarms");
          g_assert_cmpuint (json_array_get_length (alarms), ==, raised ? 1 : 0);
          if (raised)
            {
              JsonNode *alarm = json_array_get_element (alarms, 0);
              g_assert_cmpstr (json_get_string (alarm, "kind"), ==, "nospace");
              g_assert_nonnull (strstr (json_get_string (alarm, "reason"), g_strerror (ENOSPC)));
              /* The data directory's path is nobody's business. */
              g_assert_null (strstr (json_get_string (alarm, "reason"), c->dir));
            }
          return;
        }
      if (g_get_monotonic_time () >= deadline)
        {
          cluster_print_views (c);
          g_error ("node %u: no alarm %s within %d ms (healthz %u)", id, raised ? "raised" : "cleared",
                   BUDGET_MS, status);
        }
      g_usleep (POLL_US);
    }
}

/* A transition sent to the full node itself: refused, nothing applied. */
static void
assert_write_refused (Cluster *c, guint id)
{
  g_autoptr(JsonNode) root = NULL;

  g_assert_cmpuint (cluster_http (c, id, "POST", "/v1/machines/nospace-probe",
                                  "{\"to\":\"Running\",\"client_id\":\"probe\",\"seq\":1}", &root), ==, 507);
  g_assert_cmpstr (json_get_string (root, "reason"), ==, "no_space");
  g_assert_cmpstr (json_get_string (root, "outcome"), ==, "rejected");
}

static double
snapshots (Cluster *c, guint id)
{
  g_autofree char *taken = g_strdup_printf ("dsm_snapshots_taken_total{node=\"%u\"}", id);
  g_autofree char *installed = g_strdup_printf ("dsm_snapshots_installed_total{node=\"%u\"}", id);

  return cluster_metric (c, id, taken) + cluster_metric (c, id, installed);
}

/* Lines of node @id's log that name @event. */
static guint
log_count (Cluster *c, guint id, const char *event)
{
  g_autofree char *path = g_strdup_printf ("%s/node%u.log", c->dir, id);
  g_autofree char *text = NULL;
  g_autofree char *needle = g_strdup_printf ("event=%s", event);
  guint n = 0;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  for (const char *p = text; (p = strstr (p, needle)) != NULL; p += strlen (needle))
    n++;
  return n;
}

/* The story of both tests, with the disk of node @full_id filling. */
static void
run_full_disk (Cluster *c, guint full_id, gboolean was_leader)
{
  g_autoptr(Load) load = load_start (c, "nospace", (guint32) full_id);
  g_autofree char *filler = NULL;
  g_autofree char *after_full = g_strdup_printf ("with node %u's disk full", full_id);
  g_autofree char *failures = g_strdup_printf ("dsm_wal_nospace_failures_total{node=\"%u\"}", full_id);
  gint64 epoch = cluster_view_int (c, full_id, "epoch");
  double before;

  load_wait_progress (load, 100, "before the disk filled");
  filler = fill_disk (c, full_id);
  wait_alarm (c, full_id, TRUE);
  g_assert_cmpfloat (alarm_metric (c, full_id, "dsm_alarms_raised_total"), ==, 1);
  assert_write_refused (c, full_id);

  /* The others go on committing, under a leader that can write. */
  load_wait_progress (load, 200, after_full);
  guint leader = cluster_wait_leader (c, BUDGET_MS);
  g_assert_cmpuint (leader, !=, 0);
  g_assert_cmpuint (leader, !=, full_id);
  g_assert_true (cluster_node_running (c, full_id));
  /* A leader stepped down: its successor's epoch is newer. */
  if (was_leader)
    g_assert_cmpint (cluster_view_int (c, leader, "epoch"), >, epoch);

  g_assert_cmpint (g_unlink (filler), ==, 0);
  wait_alarm (c, full_id, FALSE);
  g_assert_cmpfloat (alarm_metric (c, full_id, "dsm_alarms_cleared_total"), ==, 1);
  g_assert_cmpfloat (cluster_metric (c, full_id, failures), >=, 1);

  /* Back: it catches up, and takes (or installs) a snapshot without exiting. */
  before = snapshots (c, full_id);
  cluster_wait_caught_up (c, full_id, BUDGET_MS);
  gint64 deadline = g_get_monotonic_time () + BUDGET_MS * 1000;
  while (snapshots (c, full_id) <= before)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      load_wait_progress (load, 50, "after the disk had room again");
    }
  cluster_assert_running (c);

  guint64 retries = load_stop (load);
  /* Raised and cleared once each, however many retries in between. */
  g_assert_cmpuint (log_count (c, full_id, "alarm_raised"), ==, 1);
  g_assert_cmpuint (log_count (c, full_id, "alarm_cleared"), ==, 1);
  gint64 commit = load_check (load);
  g_test_message ("node %u full and back: %d acknowledged transitions, %" G_GUINT64_FORMAT " retries, commit index %"
                  G_GINT64_FORMAT, full_id, load_acked (load), retries, commit);
}

static void
test_full_follower (void)
{
  g_autoptr(Cluster) c = NULL;

  g_test_summary ("A follower's data directory fills under load: it raises the nospace alarm (/healthz 503, "
                  "dsm_alarm 1), refuses writes with 507, the leader and the other follower keep committing; "
                  "with room again it clears the alarm by itself, catches up and snapshots; every "
                  "acknowledged write is on every node.");
  if (mount_skip_reason != NULL)
    {
      g_test_skip (mount_skip_reason);
      return;
    }
  c = cluster_on_tmpfs ();
  guint leader = cluster_wait_leader (c, BUDGET_MS);
  run_full_disk (c, cluster_other_node (c, leader, 0), FALSE);
  cluster_unmount (c);
}

static void
test_full_leader (void)
{
  g_autoptr(Cluster) c = NULL;

  g_test_summary ("The leader's data directory fills under load: it raises the nospace alarm and steps down, "
                  "the other two elect a leader and keep committing, writes to it get 507; with room again "
                  "it clears the alarm, catches up and snapshots; every acknowledged write is on every node.");
  if (mount_skip_reason != NULL)
    {
      g_test_skip (mount_skip_reason);
      return;
    }
  c = cluster_on_tmpfs ();
  run_full_disk (c, cluster_wait_leader (c, BUDGET_MS), TRUE);
  cluster_unmount (c);
}

int
main (int argc, char **argv)
{
  mounts_init ();
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/nospace/full-follower", test_full_follower);
  g_test_add_func ("/net/nospace/full-leader", test_full_leader);
  return g_test_run ();
}
