/* tools/bench/bench-replay.c: one bad input of docs/SECURITY.md's two
 * "Bad input" tables sent to one node, and what the node answered; driven
 * by tools/attack-replay, which watches the cluster meanwhile.
 *
 *   bench-replay raw  --url HOST:PORT [--wait S] [--hold S] [--count STATUS]  < BYTES
 *       sends BYTES, reads nothing for --hold seconds (default 0), then
 *       reads until the node closes or --wait seconds (default 3) pass;
 *       --count adds how many answers had that status
 *   bench-replay peer ROW --url HOST:PORT --config FILE --from ID --to ID [--wait S]
 *       a peer-port row (see rows[] below); ROWs after the handshake first
 *       complete it as node ID with the cluster's secret, as a peer would
 *
 * Prints one JSON object: bytes sent, the answer (an HTTP status and its
 * "reason", or the peer frames' handshake step and reason), bytes back,
 * whether the node closed, and after how many seconds. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "config.h"
#include "fingerprint.h"
#include "frame-mac.h"
#include "frame.h"
#include "handshake.h"
#include "message.h"
#include "peer-auth.h"

static G_NORETURN void die (const char *format, ...) G_GNUC_PRINTF (1, 2);

static G_NORETURN void
die (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  fprintf (stderr, "bench-replay: ");
  vfprintf (stderr, format, args);
  fprintf (stderr, "\n");
  va_end (args);
  exit (2);
}

static double
now_s (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static int
dial (const char *url)
{
  const char *colon = strrchr (url, ':');
  char host[64];
  struct sockaddr_in sa = { .sin_family = AF_INET };
  int fd;

  if (colon == NULL || colon - url >= (long) sizeof host)
    die ("--url HOST:PORT");
  memcpy (host, url, (size_t) (colon - url));
  host[colon - url] = '\0';
  sa.sin_port = htons ((guint16) atoi (colon + 1));
  if (inet_pton (AF_INET, host, &sa.sin_addr) != 1)
    die ("--url: %s is not an IPv4 address", host);
  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    die ("connect %s: %s", url, g_strerror (errno));
  return fd;
}

/* Sends what it can: a node that answers early and closes makes the rest fail. */
static gsize
send_all (int fd, const void *data, gsize length)
{
  gsize done = 0;

  while (done < length)
    {
      gssize n = send (fd, (const char *) data + done, length - done, MSG_NOSIGNAL);
      if (n <= 0)
        break;
      done += (gsize) n;
    }
  return done;
}

/* Reads into @back until the node closes (TRUE) or @wait_s pass (FALSE). */
static gboolean
read_until_close (int fd, GByteArray *back, double wait_s, double *closed_after)
{
  double start = now_s ();
  char buf[65536];

  for (;;)
    {
      double left = wait_s - (now_s () - start);
      struct pollfd p = { .fd = fd, .events = POLLIN };
      if (left <= 0)
        return FALSE;
      if (poll (&p, 1, (int) (left * 1000) + 1) <= 0)
        continue;
      gssize n = recv (fd, buf, sizeof buf, 0);
      if (n <= 0)
        {
          *closed_after = now_s () - start;
          return TRUE;
        }
      if (back->len < 1024 * 1024)
        g_byte_array_append (back, (const guint8 *) buf, (guint) n);
    }
}

/* "400 bad_length": the first status line's code and the body's "reason". */
static char *
describe_http (GByteArray *back)
{
  if (back->len == 0)
    return g_strdup ("nothing");

  g_autofree char *text = g_strndup ((const char *) back->data, back->len);
  const char *reason = strstr (text, "\"reason\":\"");
  g_autofree char *word = NULL;

  if (reason != NULL)
    word = g_strndup (reason + 10, strcspn (reason + 10, "\""));
  if (back->len >= 12 && memcmp (text, "HTTP/1.", 7) == 0)
    return g_strdup_printf ("%.3s%s%s", text + 9, word ? " " : "", word ? word : "");
  return g_strdup ("not http");
}

/* The plain frames the node sent before any sealing: "refuse wrong_cluster",
 * "welcome", or "bytes" when they do not decode. */
static char *
describe_frames (const guint8 *data, gsize length)
{
  g_autoptr(DsmFrameReader) reader = dsm_frame_reader_new (1024 * 1024);
  GString *out = g_string_new (NULL);
  GBytes *payload = NULL;
  GError *error = NULL;

  dsm_frame_reader_push (reader, data, length);
  while (dsm_frame_reader_pop (reader, &payload, &error))
    {
      gsize n;
      const char *text = g_bytes_get_data (payload, &n);
      g_autoptr(DsmHandshake) hs = dsm_handshake_decode (text, n, DSM_HANDSHAKE_WELCOME, &error);
      g_string_append_printf (out, "%s%s", out->len ? "+" : "",
                              hs != NULL ? "welcome" : error != NULL && strstr (error->message, "refus") ? "refuse" : "frame");
      if (hs == NULL && error != NULL)
        {
          const char *r = strstr (text, "\"reason\":\"");
          if (r != NULL)
            g_string_append_printf (out, " %.*s", (int) strcspn (r + 10, "\""), r + 10);
        }
      g_clear_error (&error);
      g_bytes_unref (payload);
    }
  g_clear_error (&error);
  if (out->len == 0)
    g_string_append (out, length ? "bytes" : "nothing");
  return g_string_free (out, FALSE);
}

static void
print_result (gsize sent, const char *answer, gsize back, gboolean closed, double after)
{
  printf ("{\"sent\":%" G_GSIZE_FORMAT ",\"answer\":\"%s\",\"bytes_back\":%" G_GSIZE_FORMAT
          ",\"closed\":%s,\"closed_after_s\":%.2f}\n", sent, answer, back, closed ? "true" : "false",
          closed ? after : -1.0);
}

/* How many answers in @back have status @status. */
static guint
count_status (GByteArray *back, const char *status)
{
  g_autofree char *needle = g_strdup_printf ("HTTP/1.1 %s ", status);
  guint n = 0;

  for (gsize i = 0; i + strlen (needle) <= back->len; i++)
    if (memcmp (back->data + i, needle, strlen (needle)) == 0)
      n++;
  return n;
}

static int
run_raw (const char *url, double wait_s, double hold_s, const char *count)
{
  g_autoptr(GByteArray) in = g_byte_array_new ();
  g_autoptr(GByteArray) back = g_byte_array_new ();
  char buf[65536];
  size_t n;
  gsize sent = 0;
  double after = 0;

  while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
    g_byte_array_append (in, (const guint8 *) buf, (guint) n);
  int fd = dial (url);
  sent = send_all (fd, in->data, in->len);
  if (hold_s > 0)
    g_usleep ((gulong) (hold_s * G_USEC_PER_SEC));
  gboolean closed = read_until_close (fd, back, wait_s, &after);
  g_autofree char *first = describe_http (back);
  g_autofree char *answer = count != NULL ? g_strdup_printf ("%s; %u of them %s", first, count_status (back, count), count)
                                          : g_strdup (first);
  print_result (sent, answer, back->len, closed, after);
  close (fd);
  return 0;
}

/* ---- peer rows ---- */

typedef struct {
  DsmConfig *config;
  GBytes *secret;
  char *fingerprint;
  DsmNodeId from, to;
  int fd;
  GByteArray *out;       /* bytes to send */
  GByteArray *back;      /* bytes answered */
  DsmFrameMac *send_mac;
  DsmFrameMac *reflect_mac;   /* the other direction's key */
} Peer;

static void
peer_frame (Peer *p, const char *text)
{
  g_autoptr(GBytes) frame = dsm_frame_encode (text, strlen (text));
  g_byte_array_append (p->out, g_bytes_get_data (frame, NULL), (guint) g_bytes_get_size (frame));
}

static char *
peer_hello (Peer *p, guint protocol, const char *cluster, DsmNodeId from, DsmNodeId to, gboolean auth)
{
  char nonce[DSM_HANDSHAKE_NONCE_HEX + 1];
  dsm_handshake_new_nonce (nonce);
  DsmHandshake hello = { .kind = DSM_HANDSHAKE_HELLO, .protocol = protocol, .cluster_id = (char *) cluster,
                         .fingerprint = p->fingerprint, .from = from, .to = to, .nonce = nonce, .auth = auth };
  return dsm_handshake_encode (&hello);
}

/* Completes the handshake as @p->from, leaving both MACs keyed. */
static void
peer_handshake (Peer *p)
{
  char nonce[DSM_HANDSHAKE_NONCE_HEX + 1];
  g_autoptr(DsmFrameReader) reader = dsm_frame_reader_new (1024 * 1024);
  g_autoptr(GBytes) payload = NULL;
  GError *error = NULL;
  char buf[4096];

  dsm_handshake_new_nonce (nonce);
  DsmHandshake hello = { .kind = DSM_HANDSHAKE_HELLO, .protocol = DSM_PROTOCOL_VERSION,
                         .cluster_id = p->config->cluster_id, .fingerprint = p->fingerprint,
                         .from = p->from, .to = p->to, .nonce = nonce, .auth = p->secret != NULL };
  g_autofree char *text = dsm_handshake_encode (&hello);
  g_autoptr(GBytes) frame = dsm_frame_encode (text, strlen (text));
  send_all (p->fd, g_bytes_get_data (frame, NULL), g_bytes_get_size (frame));
  while (!dsm_frame_reader_pop (reader, &payload, &error))
    {
      gssize n = recv (p->fd, buf, sizeof buf, 0);
      if (error != NULL || n <= 0)
        die ("handshake as node %u: %s", p->from, error ? error->message : "closed");
      dsm_frame_reader_push (reader, buf, (gsize) n);
    }
  gsize n;
  const char *wtext = g_bytes_get_data (payload, &n);
  g_autoptr(DsmHandshake) welcome = dsm_handshake_decode (wtext, n, DSM_HANDSHAKE_WELCOME, &error);
  if (welcome == NULL)
    die ("handshake as node %u: %s", p->from, error->message);
  g_autofree char *proof = p->secret ? dsm_handshake_proof (p->secret, "ready", p->config->cluster_id, p->from,
                                                            p->to, nonce, welcome->nonce) : NULL;
  DsmHandshake ready = { .kind = DSM_HANDSHAKE_READY, .proof = proof };
  g_autofree char *rtext = dsm_handshake_encode (&ready);
  g_autoptr(GBytes) rframe = dsm_frame_encode (rtext, strlen (rtext));
  send_all (p->fd, g_bytes_get_data (rframe, NULL), g_bytes_get_size (rframe));
  if (p->secret == NULL)
    return;
  DsmFrameKeys keys;
  dsm_frame_mac_derive_keys (p->secret, p->config->cluster_id, p->from, p->to, nonce, welcome->nonce, &keys);
  p->send_mac = dsm_frame_mac_new (keys.dialer_to_acceptor);
  p->reflect_mac = dsm_frame_mac_new (keys.acceptor_to_dialer);
}

/* A frame after the handshake: sealed with @mac when the cluster has a secret. */
static GBytes *
peer_seal (Peer *p, DsmFrameMac *mac, const char *text)
{
  if (mac != NULL)
    return dsm_frame_mac_seal (mac, text, strlen (text));
  return dsm_frame_encode (text, strlen (text));
}

static void
peer_append (Peer *p, GBytes *frame)
{
  g_byte_array_append (p->out, g_bytes_get_data (frame, NULL), (guint) g_bytes_get_size (frame));
  g_bytes_unref (frame);
}

/* A valid message from @from (a COMMIT, the leader's heartbeat). */
static char *
peer_message (DsmNodeId from, DsmNodeId to)
{
  g_autoptr(DsmMessage) msg = dsm_message_new (DSM_MSG_COMMIT, from, to, 0);
  return dsm_codec_encode_message (msg);
}

/* Fills @p->out with @row's bytes; FALSE for an unknown row. */
static gboolean
peer_build (Peer *p, const char *row)
{
  DsmNodeId other = 0;
  for (guint i = 0; i < p->config->n_nodes; i++)
    if (p->config->nodes[i].id != p->from && p->config->nodes[i].id != p->to)
      other = p->config->nodes[i].id;
  g_autofree char *h = NULL;
  const char *id = p->config->cluster_id;

  if (strcmp (row, "random-bytes") == 0)
    {
      for (guint i = 0; i < 65536; i++)
        {
          guint8 b = (guint8) g_random_int ();
          g_byte_array_append (p->out, &b, 1);
        }
    }
  else if (strcmp (row, "http-request") == 0)
    g_byte_array_append (p->out, (const guint8 *) "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
  else if (strcmp (row, "silence") == 0)
    ;
  else if (strcmp (row, "hello-wrong-cluster") == 0)
    peer_frame (p, h = peer_hello (p, DSM_PROTOCOL_VERSION, "not-this-one", p->from, p->to, TRUE));
  else if (strcmp (row, "hello-unknown-id") == 0)
    peer_frame (p, h = peer_hello (p, DSM_PROTOCOL_VERSION, id, 99, p->to, TRUE));
  else if (strcmp (row, "hello-self-id") == 0)
    peer_frame (p, h = peer_hello (p, DSM_PROTOCOL_VERSION, id, p->to, p->to, TRUE));
  else if (strcmp (row, "hello-misaddressed") == 0)
    peer_frame (p, h = peer_hello (p, DSM_PROTOCOL_VERSION, id, p->from, other, TRUE));
  else if (strcmp (row, "hello-version") == 0)
    peer_frame (p, h = peer_hello (p, DSM_PROTOCOL_VERSION + 7, id, p->from, p->to, TRUE));
  else if (strcmp (row, "hello-no-secret") == 0)
    peer_frame (p, h = peer_hello (p, DSM_PROTOCOL_VERSION, id, p->from, p->to, FALSE));
  else if (strcmp (row, "hello-made-up-proof") == 0)
    {
      peer_frame (p, h = peer_hello (p, DSM_PROTOCOL_VERSION, id, p->from, p->to, TRUE));
      peer_frame (p, "{\"ready\":{\"proof\":\"00000000000000000000000000000000"
                     "00000000000000000000000000000000\"}}");
    }
  else if (strcmp (row, "hello-bad-json") == 0)
    peer_frame (p, "{\"hello\":{\"protocol\":");
  else if (strcmp (row, "hello-duplicate-key") == 0)
    {
      h = peer_hello (p, DSM_PROTOCOL_VERSION, id, p->from, p->to, TRUE);
      g_autofree char *t = g_strdup_printf ("{\"hello\":{\"from\":%u,%s", p->from, h + 10);
      peer_frame (p, t);
    }
  else if (strcmp (row, "hello-unknown-key") == 0)
    {
      h = peer_hello (p, DSM_PROTOCOL_VERSION, id, p->from, p->to, TRUE);
      g_autofree char *t = g_strdup_printf ("{\"hello\":{\"evil\":1,%s", h + 10);
      peer_frame (p, t);
    }
  else if (strcmp (row, "hello-wrong-type") == 0)
    {
      h = peer_hello (p, DSM_PROTOCOL_VERSION, id, p->from, p->to, TRUE);
      g_autofree char *t = g_strdup_printf ("{\"hello\":{\"protocol\":\"3\"%s", strchr (h, ','));
      peer_frame (p, t);
    }
  else if (strcmp (row, "hello-bad-nonce") == 0)
    {
      h = peer_hello (p, DSM_PROTOCOL_VERSION, id, p->from, p->to, TRUE);
      char *nonce = strstr (h, "\"nonce\":\"");
      g_assert (nonce != NULL);
      nonce[9] = 'Z';
      peer_frame (p, h);
    }
  else if (strcmp (row, "hello-over-4k") == 0)
    {
      h = peer_hello (p, DSM_PROTOCOL_VERSION, id, p->from, p->to, TRUE);
      g_autofree char *pad = g_strnfill (5000, ' ');
      g_autofree char *t = g_strdup_printf ("{\"hello\":%s%s", pad, h + 9);
      peer_frame (p, t);
    }
  else if (g_str_has_prefix (row, "after-"))
    {
      g_autofree char *msg = peer_message (p->from, p->to);
      peer_handshake (p);
      if (strcmp (row, "after-forged") == 0 || strcmp (row, "after-bit-flipped") == 0)
        {
          GBytes *f = peer_seal (p, p->send_mac, msg);
          g_byte_array_append (p->out, g_bytes_get_data (f, NULL), (guint) g_bytes_get_size (f));
          g_bytes_unref (f);
          /* forged: a tag of zeros; bit-flipped: one payload bit */
          if (strcmp (row, "after-forged") == 0)
            memset (p->out->data + 4, 0, DSM_FRAME_MAC_TAG_BYTES);
          else
            p->out->data[p->out->len - 2] ^= 0x01;
        }
      else if (strcmp (row, "after-replayed") == 0)
        {
          GBytes *f = peer_seal (p, p->send_mac, msg);
          g_byte_array_append (p->out, g_bytes_get_data (f, NULL), (guint) g_bytes_get_size (f));
          peer_append (p, f);
        }
      else if (strcmp (row, "after-reordered") == 0 || strcmp (row, "after-dropped") == 0)
        {
          GBytes *first = peer_seal (p, p->send_mac, msg);
          peer_append (p, peer_seal (p, p->send_mac, msg));
          if (strcmp (row, "after-reordered") == 0)
            peer_append (p, first);
          else
            g_bytes_unref (first);
        }
      else if (strcmp (row, "after-reflected") == 0)
        peer_append (p, peer_seal (p, p->reflect_mac, msg));
      else if (strcmp (row, "after-oversized") == 0)
        {
          guint8 header[DSM_FRAME_SEALED_HEADER_BYTES] = { 0x7f, 0xff, 0xff, 0xff };
          g_byte_array_append (p->out, header, sizeof header);
        }
      else if (strcmp (row, "after-empty") == 0)
        {
          guint8 header[DSM_FRAME_SEALED_HEADER_BYTES] = { 0 };
          g_byte_array_append (p->out, header, sizeof header);
        }
      else if (strcmp (row, "after-half-frame") == 0)
        {
          guint8 header[DSM_FRAME_SEALED_HEADER_BYTES] = { 0, 0, 0, 100 };
          g_byte_array_append (p->out, header, sizeof header);
          g_byte_array_append (p->out, (const guint8 *) "{\"commit\":", 10);
        }
      else if (strcmp (row, "after-crc-mismatch") == 0)
        {
          /* a plain frame with a wrong CRC: where the cluster seals, a bad tag */
          GBytes *f = dsm_frame_encode (msg, strlen (msg));
          g_byte_array_append (p->out, g_bytes_get_data (f, NULL), (guint) g_bytes_get_size (f));
          g_bytes_unref (f);
          p->out->data[5] ^= 0xff;
        }
      else if (strcmp (row, "after-bad-json") == 0)
        peer_append (p, peer_seal (p, p->send_mac, "{\"commit\":"));
      else if (strcmp (row, "after-unknown-type") == 0)
        peer_append (p, peer_seal (p, p->send_mac, "{\"gossip\":{\"from\":1}}"));
      else if (strcmp (row, "after-wrong-field-type") == 0)
        {
          g_autofree char *t = g_strdup (msg);
          char *epoch = strstr (t, "\"epoch\":");
          g_assert (epoch != NULL);
          epoch[8] = '"';   /* "epoch":"... : a string where a number goes */
          peer_append (p, peer_seal (p, p->send_mac, t));
        }
      else if (strcmp (row, "after-spoofed") == 0)
        {
          g_autofree char *spoof = peer_message (other, p->to);
          peer_append (p, peer_seal (p, p->send_mac, spoof));
        }
      else
        return FALSE;
    }
  else
    return FALSE;
  return TRUE;
}

static int
run_peer (const char *row, const char *url, const char *config_path, DsmNodeId from, DsmNodeId to,
          double wait_s)
{
  g_autofree char *text = NULL;
  g_autofree char *dir = g_path_get_dirname (config_path);
  gsize length;
  GError *error = NULL;
  Peer p = { .from = from, .to = to, .out = g_byte_array_new (), .back = g_byte_array_new () };

  if (!g_file_get_contents (config_path, &text, &length, &error)
      || (p.config = dsm_config_new_from_data (text, (gssize) length, NULL, NULL, &error)) == NULL)
    die ("%s: %s", config_path, error->message);
  g_autoptr(DsmPeerAuth) auth = dsm_peer_auth_new (p.config, from, dir, &error);
  if (auth == NULL)
    die ("%s: %s", config_path, error->message);
  p.secret = dsm_peer_auth_get_secret (auth);
  p.fingerprint = dsm_fingerprint_compute (p.config);
  p.fd = dial (url);
  if (!peer_build (&p, row))
    die ("unknown peer row \"%s\"", row);
  gsize sent = send_all (p.fd, p.out->data, p.out->len);
  double after = 0;
  gboolean closed = read_until_close (p.fd, p.back, wait_s, &after);
  /* after the handshake the node's frames are sealed: only count them */
  g_autofree char *answer = p.send_mac != NULL ? g_strdup_printf ("%s", p.back->len ? "sealed frames" : "nothing")
                                               : describe_frames (p.back->data, p.back->len);
  print_result (sent, answer, p.back->len, closed, after);
  close (p.fd);
  dsm_frame_mac_free (p.send_mac);
  dsm_frame_mac_free (p.reflect_mac);
  g_free (p.fingerprint);
  g_byte_array_unref (p.out);
  g_byte_array_unref (p.back);
  dsm_config_unref (p.config);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
  const char *row = NULL, *url = NULL, *config = NULL;
  const char *count = NULL;
  double wait_s = 3, hold_s = 0;
  guint from = 0, to = 0;
  int i = 2;

  if (strcmp (mode, "peer") == 0 && argc > 2)
    row = argv[i++];
  for (; i < argc; i += 2)
    {
      const char *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (v == NULL)
        die ("%s needs a value", argv[i]);
      if (strcmp (argv[i], "--url") == 0)
        url = v;
      else if (strcmp (argv[i], "--wait") == 0)
        wait_s = g_ascii_strtod (v, NULL);
      else if (strcmp (argv[i], "--hold") == 0)
        hold_s = g_ascii_strtod (v, NULL);
      else if (strcmp (argv[i], "--count") == 0)
        count = v;
      else if (strcmp (argv[i], "--config") == 0)
        config = v;
      else if (strcmp (argv[i], "--from") == 0)
        from = (guint) atoi (v);
      else if (strcmp (argv[i], "--to") == 0)
        to = (guint) atoi (v);
      else
        die ("unknown argument %s", argv[i]);
    }
  if (url == NULL)
    die ("usage: bench-replay raw --url HOST:PORT [--wait S] [--hold S] [--count STATUS] < BYTES\n"
         "       bench-replay peer ROW --url HOST:PORT --config FILE --from ID --to ID [--wait S]");
  if (strcmp (mode, "raw") == 0)
    return run_raw (url, wait_s, hold_s, count);
  if (row != NULL && config != NULL && from != 0 && to != 0)
    return run_peer (row, url, config, from, to, wait_s);
  die ("unknown mode \"%s\", or peer without ROW, --config, --from, --to", mode);
}
