/* net/link.h: one framed byte stream (a TCP connection to a peer, TLS or
 * not: any GIOStream with pollable streams), read
 * and written without blocking from the main loop: the bytes that arrive
 * are cut into frames, and the frames queued during one loop iteration
 * leave in one vectored write.  The link knows nothing of handshakes or
 * messages; net/transport.c gives it meaning.
 *
 * A link is reference counted so that a callback may drop the owner's
 * reference safely.  Once closed (by its owner with dsm_link_close(), or
 * by itself on an error, which it reports through `closed`) it calls its
 * owner no more. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _DsmLink DsmLink;

typedef struct {
  /* A whole frame arrived (borrowed).  The owner may close the link here. */
  void (*frame) (DsmLink *link, GBytes *payload, gpointer user_data);
  /* A queued frame reached the socket (@tag as given to dsm_link_send). */
  void (*sent) (DsmLink *link, gpointer tag, gsize bytes, gpointer user_data);
  /* A queued frame will never be written (the link closed first). */
  void (*dropped) (DsmLink *link, gpointer tag, gpointer user_data);
  /* The link closed on its own: end of stream, socket error, bad frame or
   * a frame not completed within frame_timeout_ms.  Called once, after the
   * `dropped` calls. */
  void (*closed) (DsmLink *link, const GError *error, gpointer user_data);
  /* Frees a tag (a queued item's owner data) once sent or dropped. */
  GDestroyNotify tag_free;
} DsmLinkCallbacks;

/**
 * dsm_link_new:
 * @stream: (transfer none): a connected stream; referenced
 * @frame_timeout_ms: a frame started but not finished within this time
 *   closes the link (a peer sending half a frame then nothing)
 *
 * Returns: (transfer full): a link that starts reading at once.
 */
DsmLink *dsm_link_new (GIOStream *stream, gsize max_frame_bytes, guint frame_timeout_ms,
                       const DsmLinkCallbacks *callbacks, gpointer user_data);

DsmLink *dsm_link_ref (DsmLink *link);
void dsm_link_unref (DsmLink *link);

/* Queues @frame (referenced) for writing; @tag comes back through `sent`
 * or `dropped`.  The owner bounds the queue with dsm_link_get_queued_bytes(). */
void dsm_link_send (DsmLink *link, GBytes *frame, gpointer tag);

/* Bytes queued and not yet written. */
gsize dsm_link_get_queued_bytes (const DsmLink *link);

/* Bytes and frames moved so far. */
guint64 dsm_link_get_bytes_read (const DsmLink *link);

/* Frames read from now on are sealed (frame.h) and opened with @mac
 * (transfer full); frames written are sealed by the owner. */
typedef struct _DsmFrameMac DsmFrameMac;
void dsm_link_set_frame_mac (DsmLink *link, DsmFrameMac *mac);

/* Closes now: queued frames are dropped (reported), no callback follows. */
void dsm_link_close (DsmLink *link);

/* Stops reading and closes once the queued frames are written (at most
 * @linger_ms later): a refusal reaches the peer before the close.  The
 * link keeps itself alive until then, so the owner may unref it at once.
 * No callback follows. */
void dsm_link_close_after_flush (DsmLink *link, guint linger_ms);

gboolean dsm_link_is_closed (const DsmLink *link);

/* "127.0.0.1:50312" of the remote end, for logs. */
const char *dsm_link_get_remote (const DsmLink *link);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmLink, dsm_link_unref)

G_END_DECLS
