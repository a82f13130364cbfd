/* tests/storage/faults.c: the wrapped system calls of faults.h.  The WAL
 * calls them from its worker threads too, so the state is under a mutex. */
#define _GNU_SOURCE
#include "faults.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

/* The real calls (the linker's --wrap gives them these names). */
ssize_t __real_pwrite64 (int fd, const void *buf, size_t count, off64_t offset);
int __real_open64 (const char *path, int flags, ...);
int __real_rename (const char *from, const char *to);
int __real_fdatasync (int fd);
int __real_fsync (int fd);
int __real_ftruncate64 (int fd, off64_t length);

ssize_t __wrap_pwrite64 (int fd, const void *buf, size_t count, off64_t offset);
int __wrap_open64 (const char *path, int flags, ...);
int __wrap_rename (const char *from, const char *to);
int __wrap_fdatasync (int fd);
int __wrap_fsync (int fd);
int __wrap_ftruncate64 (int fd, off64_t length);

typedef struct {
  guint count;
  guint fail_at;       /* 0: not armed */
  int errsv;
  gboolean sticky;
  gboolean short_done; /* pwrite: the short write went out, the next call fails */
} Fault;

static GMutex lock;
static Fault faults[FAULT_N_CALLS];
static guint injected;

/* The gate (faults_gate_close()), under lock. */
static GCond gate_cond;
static FaultCall gate_call = FAULT_N_CALLS;  /* FAULT_N_CALLS: open */
static char *gate_suffix;
static guint gate_waiting;
static gboolean gate_gave_up;

static const char *const call_names[FAULT_N_CALLS] = {
  [FAULT_PWRITE] = "pwrite",
  [FAULT_CREATE] = "create",
  [FAULT_RENAME] = "rename",
  [FAULT_FDATASYNC] = "fdatasync",
  [FAULT_FSYNC] = "fsync",
  [FAULT_FTRUNCATE] = "ftruncate",
};

const char *
faults_call_name (FaultCall call)
{
  return call_names[call];
}

void
faults_reset (void)
{
  g_mutex_lock (&lock);
  memset (faults, 0, sizeof faults);
  injected = 0;
  g_mutex_unlock (&lock);
}

void
faults_arm (FaultCall call, guint nth, int errsv, gboolean sticky)
{
  g_assert (nth >= 1);
  g_mutex_lock (&lock);
  faults[call].fail_at = faults[call].count + nth;
  faults[call].errsv = errsv;
  faults[call].sticky = sticky;
  faults[call].short_done = FALSE;
  g_mutex_unlock (&lock);
}

void
faults_disarm (FaultCall call)
{
  g_mutex_lock (&lock);
  faults[call].fail_at = 0;
  faults[call].short_done = FALSE;
  g_mutex_unlock (&lock);
}

guint
faults_count (FaultCall call)
{
  guint count;

  g_mutex_lock (&lock);
  count = faults[call].count;
  g_mutex_unlock (&lock);
  return count;
}

guint
faults_injected (void)
{
  guint n;

  g_mutex_lock (&lock);
  n = injected;
  g_mutex_unlock (&lock);
  return n;
}

void
faults_gate_close (FaultCall call, const char *suffix)
{
  g_assert (call == FAULT_CREATE || call == FAULT_RENAME);
  g_mutex_lock (&lock);
  g_assert (gate_call == FAULT_N_CALLS);
  gate_call = call;
  gate_suffix = g_strdup (suffix);
  gate_waiting = 0;
  gate_gave_up = FALSE;
  g_mutex_unlock (&lock);
}

void
faults_gate_wait (void)
{
  g_mutex_lock (&lock);
  while (gate_waiting == 0 && gate_call != FAULT_N_CALLS)
    g_cond_wait (&gate_cond, &lock);
  g_mutex_unlock (&lock);
}

gboolean
faults_gate_open (void)
{
  gboolean gave_up;

  g_mutex_lock (&lock);
  gate_call = FAULT_N_CALLS;
  g_clear_pointer (&gate_suffix, g_free);
  gave_up = gate_gave_up;
  g_cond_broadcast (&gate_cond);
  g_mutex_unlock (&lock);
  return !gave_up;
}

/* A call of @call on @path waits while the gate is closed for it. */
static void
gate_pass (FaultCall call, const char *path)
{
  gint64 give_up_at = g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND;

  g_mutex_lock (&lock);
  if (gate_call == call && g_str_has_suffix (path, gate_suffix))
    {
      gate_waiting++;
      g_cond_broadcast (&gate_cond);
      while (gate_call == call)
        if (!g_cond_wait_until (&gate_cond, &lock, give_up_at))
          {
            gate_gave_up = TRUE;
            break;
          }
    }
  g_mutex_unlock (&lock);
}

/* Counts a call of @call; returns the errno to fail it with, or 0. */
static int
fault_check (FaultCall call)
{
  Fault *f = &faults[call];
  int errsv = 0;

  g_mutex_lock (&lock);
  f->count++;
  if (f->fail_at != 0 && (f->count == f->fail_at || (f->sticky && f->count > f->fail_at)))
    {
      errsv = f->errsv;
      injected++;
    }
  g_mutex_unlock (&lock);
  return errsv;
}

ssize_t
__wrap_pwrite64 (int fd, const void *buf, size_t count, off64_t offset)
{
  Fault *f = &faults[FAULT_PWRITE];
  int errsv = fault_check (FAULT_PWRITE);

  if (errsv == 0)
    return __real_pwrite64 (fd, buf, count, offset);
  g_mutex_lock (&lock);
  gboolean short_write = !f->short_done && count > 1;
  f->short_done = TRUE;
  g_mutex_unlock (&lock);
  if (short_write)
    {
      /* Half goes out; the caller's next call (the rest) fails.  That one
       * must fail even when the fault is not sticky. */
      ssize_t n = __real_pwrite64 (fd, buf, count / 2, offset);
      g_mutex_lock (&lock);
      if (!f->sticky)
        f->fail_at = f->count + 1;
      g_mutex_unlock (&lock);
      return n;
    }
  errno = errsv;
  return -1;
}

int
__wrap_open64 (const char *path, int flags, ...)
{
  mode_t mode = 0;

  if ((flags & O_CREAT) != 0)
    {
      va_list args;
      int errsv;

      va_start (args, flags);
      mode = (mode_t) va_arg (args, int);
      va_end (args);
      gate_pass (FAULT_CREATE, path);
      if ((errsv = fault_check (FAULT_CREATE)) != 0)
        {
          errno = errsv;
          return -1;
        }
    }
  return __real_open64 (path, flags, mode);
}

#define WRAP(call, kind, ...)                   \
  int errsv = fault_check (kind);               \
  if (errsv != 0)                               \
    {                                           \
      errno = errsv;                            \
      return -1;                                \
    }                                           \
  return __real_##call (__VA_ARGS__)

int
__wrap_rename (const char *from, const char *to)
{
  gate_pass (FAULT_RENAME, to);
  WRAP (rename, FAULT_RENAME, from, to);
}

int
__wrap_fdatasync (int fd)
{
  WRAP (fdatasync, FAULT_FDATASYNC, fd);
}

int
__wrap_fsync (int fd)
{
  WRAP (fsync, FAULT_FSYNC, fd);
}

int
__wrap_ftruncate64 (int fd, off64_t length)
{
  WRAP (ftruncate64, FAULT_FTRUNCATE, fd, length);
}
