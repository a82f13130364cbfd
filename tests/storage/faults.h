/* tests/storage/faults.h: errors injected into the system calls the WAL
 * makes, so a test can fill the disk at any one write point.  The test
 * programs that use it are linked with -Wl,--wrap=<call> for each call
 * below: storage/'s references to them land in faults.c, which runs the
 * real call unless a fault is armed.  Nothing in storage/ knows. */
#pragma once

#include <glib.h>

typedef enum {
  FAULT_PWRITE,     /* pwrite(2): record appends, segment headers, snapshot files */
  FAULT_CREATE,     /* open(2) with O_CREAT: segments, snapshot and meta files */
  FAULT_RENAME,     /* rename(2): snapshot files into place */
  FAULT_FDATASYNC,  /* fdatasync(2): segments and snapshot files */
  FAULT_FSYNC,      /* fsync(2): directories (and truncated files) */
  FAULT_FTRUNCATE,  /* ftruncate(2): a torn tail, an undone batch */
  FAULT_N_CALLS,
} FaultCall;

const char *faults_call_name (FaultCall call);

/* Forgets every armed fault and zeroes the call counts. */
void faults_reset (void);

/**
 * faults_arm:
 * The @nth call of @call from now (1: the next) fails with @errsv.  A
 * pwrite of more than one byte first writes half of it (a short write, as
 * a disk filling up in the middle of a write gives) and fails on the call
 * after.  @sticky: every later call of @call fails too, until
 * faults_disarm() (a disk that stays full); otherwise only that one.
 */
void faults_arm (FaultCall call, guint nth, int errsv, gboolean sticky);
void faults_disarm (FaultCall call);

/* Calls of @call made since the last reset, and failures injected. */
guint faults_count (FaultCall call);
guint faults_injected (void);

/**
 * faults_gate_close:
 * From now, a call of FAULT_CREATE (by the path it creates) or FAULT_RENAME
 * (by the path it renames to) whose path ends in @suffix waits at a gate,
 * not failing, until faults_gate_open(), so a test can hold a WAL thread at
 * a known point and look at what the others do meanwhile.
 * faults_gate_wait() returns once a call waits there.  A call waits at
 * most a minute, a guard against a test that would otherwise hang on a
 * bug: faults_gate_open() says FALSE when one gave up.
 */
void faults_gate_close (FaultCall call, const char *suffix);
void faults_gate_wait (void);
gboolean faults_gate_open (void);
