/* tests/net/native-raw.h: raw frames to a node's native port
 * (docs/CLIENT.md), for tests that send what libdsm-client never would:
 * bad frames, old versions, hostile payloads.  Blocking sockets with a
 * timeout; every read has one. */
#pragma once

#include "client/dsm-wire.h"
#include "cluster.h"

typedef struct {
  GIOStream *stream;            /* plain TCP, or TLS over it */
  GByteArray *rx;
  guint version;                /* frames are encoded and decoded in it (DSM_WIRE_VERSION) */
} NativeRaw;

/* Connects to node @id's native port on 127.0.0.1. */
NativeRaw *native_raw_connect (Cluster *c, guint id);
/* Wraps an open stream (a TLS connection, say); takes it. */
NativeRaw *native_raw_new (GIOStream *stream);
void native_raw_free (NativeRaw *raw);
void native_raw_send_bytes (NativeRaw *raw, const guint8 *data, gsize length);
void native_raw_send (NativeRaw *raw, const DsmWireMsg *msg);
/* The next answer, decoded in raw->version; FALSE at the end of the stream. */
gboolean native_raw_next (NativeRaw *raw, DsmWireMsg *msg);
/* A hello in raw->version with @token, and its welcome. */
void native_raw_hello (NativeRaw *raw, const char *token);
/* Expects an ERROR of @code (@closing: then the end of the stream). */
void native_raw_expect_error (NativeRaw *raw, const char *code, gboolean closing);
/* Sends @msg and expects a RESULT with status ok; its answer into
 * @answer (cleared by the caller), or dropped when @answer is NULL. */
void native_raw_expect_ok (NativeRaw *raw, const DsmWireMsg *msg, DsmWireMsg *answer);
/* A TRANSITION of @machine to @to, its strings borrowed. */
DsmWireMsg native_raw_transition (guint64 id, const char *machine, const char *to);
