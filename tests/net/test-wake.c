/* tests/net/test-wake.c: the lock-free cross-thread wake-up of a GSource
 * (net/wake.c): a signal dispatches the source once, signals before the
 * dispatch clears them ride on it, one after the clear is never lost, and
 * another thread's signal ends a blocking iteration of the context. */

#include "wake.h"

typedef struct {
  GSource source;
  DsmWake wake;
  guint dispatched;
  gboolean signal_in_dispatch;  /* signal again right after clearing, as a pusher may */
} Woken;

static gboolean
woken_dispatch (GSource *source, GSourceFunc callback, gpointer data)
{
  Woken *w = (Woken *) source;

  dsm_wake_clear (&w->wake);
  w->dispatched++;
  if (w->signal_in_dispatch)
    {
      w->signal_in_dispatch = FALSE;
      dsm_wake_signal (&w->wake);
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs woken_funcs = { .dispatch = woken_dispatch };

static Woken *
woken_new (GMainContext *context)
{
  Woken *w = (Woken *) g_source_new (&woken_funcs, sizeof (Woken));

  dsm_wake_init (&w->wake, &w->source);
  g_source_attach (&w->source, context);
  return w;
}

static void
woken_free (Woken *w)
{
  g_source_destroy (&w->source);
  dsm_wake_finish (&w->wake);
  g_source_unref (&w->source);
}

static void
test_signals_coalesce (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  Woken *w = woken_new (context);

  g_test_summary ("A source is not dispatched before a signal; three signals before the dispatch make "
                  "one dispatch, and nothing is left pending after it.");
  g_assert_false (g_main_context_iteration (context, FALSE));
  g_assert_cmpuint (w->dispatched, ==, 0);
  dsm_wake_signal (&w->wake);
  dsm_wake_signal (&w->wake);
  dsm_wake_signal (&w->wake);
  g_assert_true (g_main_context_iteration (context, FALSE));
  g_assert_cmpuint (w->dispatched, ==, 1);
  g_assert_false (g_main_context_iteration (context, FALSE));
  g_assert_cmpuint (w->dispatched, ==, 1);
  woken_free (w);
}

static void
test_signal_after_clear (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  Woken *w = woken_new (context);

  g_test_summary ("A signal sent after the dispatch cleared the wake-up (work queued after the dispatch "
                  "took the queue) dispatches the source again: no wake-up is lost.");
  w->signal_in_dispatch = TRUE;
  dsm_wake_signal (&w->wake);
  g_assert_true (g_main_context_iteration (context, FALSE));
  g_assert_cmpuint (w->dispatched, ==, 1);
  g_assert_true (g_main_context_iteration (context, FALSE));
  g_assert_cmpuint (w->dispatched, ==, 2);
  g_assert_false (g_main_context_iteration (context, FALSE));
  woken_free (w);
}

typedef struct {
  Woken *w;
  GMutex lock;
  GCond cond;
  gboolean go;
} Signaller;

static gpointer
signal_when_told (gpointer data)
{
  Signaller *s = data;

  g_mutex_lock (&s->lock);
  while (!s->go)
    g_cond_wait (&s->cond, &s->lock);
  g_mutex_unlock (&s->lock);
  dsm_wake_signal (&s->w->wake);
  return NULL;
}

static gboolean
budget_over (gpointer data)
{
  gboolean *over = data;

  *over = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_other_thread_ends_poll (void)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  Signaller s = { woken_new (context), { 0 }, { 0 }, FALSE };
  gboolean over = FALSE;
  GSource *budget = g_timeout_source_new_seconds (30);
  GThread *thread;

  g_test_summary ("A signal from another thread ends the context's blocking poll and dispatches the "
                  "source on the context's own thread (a 30 s budget stands in for a hang).");
  g_source_set_callback (budget, budget_over, &over, NULL);
  g_source_attach (budget, context);
  g_mutex_init (&s.lock);
  g_cond_init (&s.cond);
  thread = g_thread_new ("signaller", signal_when_told, &s);
  g_mutex_lock (&s.lock);
  s.go = TRUE;
  g_cond_signal (&s.cond);
  g_mutex_unlock (&s.lock);
  while (s.w->dispatched == 0 && !over)
    g_main_context_iteration (context, TRUE);
  g_thread_join (thread);
  g_assert_false (over);
  g_assert_cmpuint (s.w->dispatched, ==, 1);
  g_source_destroy (budget);
  g_source_unref (budget);
  woken_free (s.w);
  g_mutex_clear (&s.lock);
  g_cond_clear (&s.cond);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/wake/signals-coalesce", test_signals_coalesce);
  g_test_add_func ("/net/wake/signal-after-clear", test_signal_after_clear);
  g_test_add_func ("/net/wake/other-thread-ends-poll", test_other_thread_ends_poll);
  return g_test_run ();
}
