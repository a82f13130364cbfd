/* tests/storage/fixture.h: what the storage tests share: a fresh temp
 * directory per test, persist builders, a reference fold to compare the
 * WAL's recovery against, file helpers, and capture of the WAL's warnings. */
#pragma once

#include "node.h"
#include "outbox.h"
#include "record.h"
#include "wal.h"

typedef struct {
  char *dir;                 /* fresh, removed at tear-down */
  DsmDurableState expected;  /* the fold of everything appended (reference) */
  guint64 seq;               /* of the last persist built */
  DsmWal *wal;               /* nullable */
} Fixture;

/* Installs the log writer that captures torn-tail warnings; call first in main(). */
void fixture_init_logging (void);

/* Returns: (transfer full): the captured warning messages since the last call. */
GPtrArray *fixture_take_warnings (void);

void fixture_set_up (Fixture *f, gconstpointer data);
void fixture_tear_down (Fixture *f, gconstpointer data);

/* DsmWalOptions.preallocate_bytes of fixture_open() (0 unless a test sets it). */
extern guint64 fixture_preallocate_bytes;

/* Opens f->dir (asserting success) into @state, closing any open WAL first. */
DsmWal *fixture_open (Fixture *f, guint64 segment_bytes, DsmDurableState *state);

/* Builds the next persist (seq from f->seq), folds it into f->expected,
 * appends it to f->wal (when open) and returns it (transfer full). */
DsmPersist *fixture_hard_state (Fixture *f, guint64 epoch, DsmNodeId voted_for);
DsmPersist *fixture_entries (Fixture *f, guint64 first_index, guint n, guint64 epoch);
DsmPersist *fixture_snapshot (Fixture *f, guint64 index, guint64 epoch, gboolean reset_log,
                              GBytes *bytes);

/* Appends without keeping the persist. */
void fixture_append_hard_state (Fixture *f, guint64 epoch, DsmNodeId voted_for);
void fixture_append_entries (Fixture *f, guint64 first_index, guint n, guint64 epoch);
void fixture_append_snapshot (Fixture *f, guint64 index, guint64 epoch, gboolean reset_log);

/* Blocks until no sync and no snapshot writer runs: what dsm_wal_close()
 * waits for, without closing.  A snapshot writer works in its own thread
 * after its sync answered, so an answer does not mean it is done. */
void fixture_wait_idle (DsmWal *wal);

/* Blocking sync asserting success; returns the durable seq. */
guint64 fixture_sync (Fixture *f);

/* What dsm_wal_sync_async() answered, counted: set @wal before the call,
 * pass fixture_on_synced() and the result as its callback and data. */
typedef struct {
  guint calls;
  guint64 seq;
  GError *error;
  DsmWal *wal;
} FixtureSyncResult;

void fixture_on_synced (GObject *source, GAsyncResult *result, gpointer user_data);

/* Iterates the default context until @r saw @calls callbacks (at most
 * 1,000 iterations), and asserts it saw exactly that many. */
void fixture_iterate_until (FixtureSyncResult *r, guint calls);

/* What the WAL's sync thread told (dsm_wal_sync_start()'s notify), waited
 * for on a condition variable: the notify comes from that thread.  Init
 * lock and cond first. */
typedef struct {
  GMutex lock;
  GCond cond;
  guint notified;
  GThread *thread;             /* the thread of the last notify */
} FixtureNotified;

/* A DsmWalNotify counting into a FixtureNotified. */
void fixture_on_notify (gpointer data);

/* Starts a sync in @wal's own thread, waits for its notify (exactly one),
 * collects it: returns what dsm_wal_sync_collect() gave. */
guint64 fixture_sync_thread (DsmWal *wal, FixtureNotified *n, GError **error);

void assert_state_equal (const DsmDurableState *a, const DsmDurableState *b);

/* Files in @dir whose names start with @prefix, sorted; count and list. */
guint count_files (const char *dir, const char *prefix);
GPtrArray *list_files (const char *dir, const char *prefix);

/* A string of "name size crc32" lines of every file in @dir: equal
 * fingerprints mean an untouched directory. */
char *dir_fingerprint (const char *dir);
/* The same with the zeros after a segment's last record left out (a
 * record never ends with a zero byte: its payload is JSON text): equal
 * for directories that hold the same records, preallocated or not. */
char *dir_fingerprint_records (const char *dir);

/* Copies the regular files of @from into the new directory @to. */
void copy_dir (const char *from, const char *to);
void remove_dir (const char *dir);

/* File contents; writes without fsync (tests damage files on purpose). */
GBytes *read_file (const char *path);
void write_file (const char *path, const void *data, gsize length);
gsize file_size (const char *path);
