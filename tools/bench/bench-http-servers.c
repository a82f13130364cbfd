/* tools/bench/bench-http-servers.c: one trivial endpoint (GET /healthz, a
 * 40-byte JSON answer) served by each HTTP server dsm could use, so wrk can
 * compare them on this machine (docs/BENCHMARKS.md, "HTTP servers"):
 *
 *   soup       libsoup 3's SoupServer on one GMainLoop (what dsm used)
 *   mhd        libmicrohttpd, epoll, a thread pool of --threads (if built)
 *   dsm        dsm's own server (net/http-server.c), --threads workers,
 *              answered on the worker
 *   dsm-loop   the same, each request handed to a "consensus loop" thread
 *              through net/loop-queue.c and answered from there (dsm's path)
 *
 *   bench-http-servers --server NAME --port P [--threads N]
 *   bench-http-servers --list          the servers built in, one a line
 *
 * Serves until SIGINT or SIGTERM; prints "ready PORT" once listening. */
#include <glib-unix.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_MHD
#include <microhttpd.h>
#endif

#include "http-server.h"
#include "loop-queue.h"

#define BODY "{\"status\":\"ok\",\"node\":1,\"role\":\"leader\"}\n"

static GMainLoop *main_loop;

static gboolean
on_signal (gpointer data)
{
  g_main_loop_quit (main_loop);
  return G_SOURCE_REMOVE;
}

static G_NORETURN void
die (const char *message)
{
  fprintf (stderr, "bench-http-servers: %s\n", message);
  exit (2);
}

/* ---- soup ---- */

static void
soup_handle (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC, BODY, strlen (BODY));
}

static void
run_soup (guint16 port)
{
  g_autoptr(SoupServer) server = soup_server_new ("server-header", "bench ", NULL);
  g_autoptr(GError) error = NULL;

  soup_server_add_handler (server, "/healthz", soup_handle, NULL, NULL);
  if (!soup_server_listen_local (server, port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    die (error->message);
  printf ("ready %u\n", port);
  fflush (stdout);
  g_main_loop_run (main_loop);
}

/* ---- libmicrohttpd ---- */

#ifdef HAVE_MHD
static enum MHD_Result
mhd_handle (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
            const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  static int first;
  struct MHD_Response *response;
  enum MHD_Result ret;

  /* The first call announces the request; the second may answer it. */
  if (*con_cls == NULL)
    {
      *con_cls = &first;
      return MHD_YES;
    }
  response = MHD_create_response_from_buffer (strlen (BODY), (void *) BODY, MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header (response, "Content-Type", "application/json");
  ret = MHD_queue_response (connection, strcmp (url, "/healthz") == 0 ? 200 : 404, response);
  MHD_destroy_response (response);
  return ret;
}

static void
run_mhd (guint16 port, guint threads)
{
  struct MHD_Daemon *daemon = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, port, NULL, NULL,
                                                mhd_handle, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned) threads,
                                                MHD_OPTION_CONNECTION_LIMIT, 4096u, MHD_OPTION_END);
  if (daemon == NULL)
    die ("MHD_start_daemon failed");
  printf ("ready %u\n", port);
  fflush (stdout);
  g_main_loop_run (main_loop);
  MHD_stop_daemon (daemon);
}
#endif

/* ---- dsm ---- */

static gboolean
dsm_head (DsmHttpRequest *request, gpointer data)
{
  return TRUE;
}

static void
dsm_answer (DsmHttpRequest *request)
{
  gboolean ok = strcmp (dsm_http_request_get_target (request), "/healthz") == 0;
  dsm_http_request_respond (request, ok ? 200 : 404, "application/json", g_string_new (BODY));
}

static void
dsm_request (DsmHttpRequest *request, gpointer data)
{
  DsmLoopQueue *queue = data;

  if (queue == NULL)
    dsm_answer (request);
  else if (!dsm_loop_queue_push (queue, request))
    dsm_http_request_respond (request, 503, "application/json", g_string_new ("{}\n"));
}

static void
dsm_on_loop (gpointer item, gpointer data)
{
  dsm_answer (item);
}

static void
run_dsm (guint16 port, guint threads, gboolean through_loop)
{
  DsmHttpServerOptions options;
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", port);
  g_autoptr(GError) error = NULL;
  DsmLoopQueue *queue = through_loop ? dsm_loop_queue_new (NULL, 100000, 256, dsm_on_loop, NULL) : NULL;
  DsmHttpServer *server;

  dsm_http_server_options_init (&options);
  options.workers = threads;
  options.max_connections = 4096;
  options.max_connections_per_address = 4096;
  server = dsm_http_server_new (&options, dsm_head, dsm_request, queue);
  if (!dsm_http_server_listen (server, address, &error))
    die (error->message);
  dsm_http_server_start (server);
  printf ("ready %u\n", port);
  fflush (stdout);
  g_main_loop_run (main_loop);
  if (queue != NULL)
    {
      g_autoptr(GPtrArray) left = dsm_loop_queue_close (queue);
      for (guint i = 0; i < left->len; i++)
        dsm_answer (left->pdata[i]);
    }
  dsm_http_server_free (server);
  if (queue != NULL)
    dsm_loop_queue_free (queue);
}

int
main (int argc, char **argv)
{
  const char *name = NULL;
  guint port = 0, threads = 2;

  if (argc == 2 && strcmp (argv[1], "--list") == 0)
    {
#ifdef HAVE_MHD
      printf ("soup\nmhd\ndsm\ndsm-loop\n");
#else
      printf ("soup\ndsm\ndsm-loop\n");
#endif
      return 0;
    }
  for (int i = 1; i + 1 < argc; i += 2)
    {
      if (strcmp (argv[i], "--server") == 0)
        name = argv[i + 1];
      else if (strcmp (argv[i], "--port") == 0)
        port = (guint) atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--threads") == 0)
        threads = (guint) atoi (argv[i + 1]);
      else
        die ("usage: bench-http-servers --server soup|mhd|dsm|dsm-loop --port P [--threads N]");
    }
  if (name == NULL || port == 0 || port > 65535 || threads < 1 || threads > 64)
    die ("usage: bench-http-servers --server soup|mhd|dsm|dsm-loop --port P [--threads N]");
  main_loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, on_signal, NULL);
  g_unix_signal_add (SIGTERM, on_signal, NULL);
  if (strcmp (name, "soup") == 0)
    run_soup ((guint16) port);
#ifdef HAVE_MHD
  else if (strcmp (name, "mhd") == 0)
    run_mhd ((guint16) port, threads);
#endif
  else if (strcmp (name, "dsm") == 0)
    run_dsm ((guint16) port, threads, FALSE);
  else if (strcmp (name, "dsm-loop") == 0)
    run_dsm ((guint16) port, threads, TRUE);
  else
    die ("unknown or not built --server (mhd needs libmicrohttpd-dev)");
  g_main_loop_unref (main_loop);
  return 0;
}
