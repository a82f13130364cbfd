/* tests/sim/test-view.c: `dsm-sim view` pages opened in headless Chromium:
 * what each page drew (lanes, arrows, operations, the finding) against
 * counts taken from the trace or history here, independently; a
 * screenshot of each is kept in the meson log folder.  Without chromium
 * the tests skip, or fail when DSM_REQUIRE_CHROMIUM=1 (CI sets it). */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "lines.h"
#include "sim.h"
#include "tool.h"
#include "view.h"

#define EXIT_OK 0
#define EXIT_FAILED 1
#define EXIT_BAD_INPUT 2

static const char *dsm_sim;
static const char *dsm_sim_mutant;
static char *chromium;

/* Chromium, or a skip (a failure when it is required). */
static gboolean
have_chromium (void)
{
  if (chromium != NULL)
    return TRUE;
  if (g_strcmp0 (g_getenv ("DSM_REQUIRE_CHROMIUM"), "1") == 0)
    g_test_fail_printf ("chromium is not in PATH and DSM_REQUIRE_CHROMIUM=1: "
                        "tools/bootstrap installs Debian's chromium package");
  else
    g_test_skip ("chromium is not in PATH (tools/bootstrap installs it; DSM_REQUIRE_CHROMIUM=1 makes this a failure)");
  return FALSE;
}

/* Opens @page (at @fragment, nullable: "#finding", "#t=A-B") in headless
 * Chromium with a private profile (removed afterwards) and returns the DOM
 * once its script has drawn; with @png, also keeps a screenshot there.  The page draws at load; Chromium's
 * virtual time budget, not a sleep, decides when it is done. */
static char *
chromium_open (const char *page, const char *fragment, const char *png)
{
  g_autofree char *profile = g_dir_make_tmp ("dsm-view-chromium-XXXXXX", NULL);
  g_autofree char *profile_arg = g_strdup_printf ("--user-data-dir=%s", profile);
  g_autofree char *file_url = g_filename_to_uri (page, NULL, NULL);
  g_autofree char *url = file_url != NULL ? g_strconcat (file_url, fragment, NULL) : NULL;
  g_autofree char *screenshot_arg = png != NULL ? g_strdup_printf ("--screenshot=%s", png) : NULL;
  const char *argv[] = { chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-extensions", "--disable-dev-shm-usage", profile_arg,
                         "--virtual-time-budget=5000", "--window-size=1400,1000", "--dump-dom", url,
                         screenshot_arg, NULL };

  g_assert_nonnull (profile);
  g_assert_nonnull (url);
  Result r = run_argv (NULL, argv);
  tree_remove (profile);
  assert_status (&r, EXIT_OK);
  char *out = g_steal_pointer (&r.out);
  result_clear (&r);
  return out;
}

typedef struct {
  guint64 lanes;
  guint64 arrows;
  guint64 ops;
  guint64 window_ops;
  char *finding;
} Counts;

static void
counts_clear (Counts *c)
{
  g_clear_pointer (&c->finding, g_free);
}

/* The value of attribute @name of the page's #counts element. */
static char *
dom_attr (const char *dom, const char *name)
{
  const char *counts = strstr (dom, "id=\"counts\"");
  if (counts == NULL)
    g_error ("the page wrote no #counts (its script did not finish):\n%.2000s", dom);
  const char *end = strchr (counts, '>');
  g_autofree char *pattern = g_strdup_printf (" %s=\"", name);
  const char *at = g_strstr_len (counts, end - counts, pattern);
  if (at == NULL)
    return g_strdup ("");
  at += strlen (pattern);
  return g_strndup (at, strchr (at, '"') - at);
}

static guint64
dom_number (const char *dom, const char *name)
{
  g_autofree char *text = dom_attr (dom, name);
  guint64 value = 0;
  g_autoptr(GError) error = NULL;
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, &value, &error))
    g_error ("#counts %s=\"%s\": %s", name, text, error->message);
  return value;
}

/* What @page drew of the whole run (its counts are written before it goes
 * to @fragment), and its screenshot kept as @png (nullable). */
static void
page_counts (const char *page, const char *fragment, const char *png, Counts *c)
{
  g_autofree char *dom = chromium_open (page, fragment, png);
  c->lanes = dom_number (dom, "data-lanes");
  c->arrows = dom_number (dom, "data-arrows");
  c->ops = dom_number (dom, "data-ops");
  c->window_ops = dom_number (dom, "data-window-ops");
  c->finding = dom_attr (dom, "data-finding");
  /* Every arrow the whole-run view holds is drawn, one by one or in a bin. */
  g_assert_cmpuint (dom_number (dom, "data-arrows-individual") + dom_number (dom, "data-arrows-binned"), ==, c->arrows);
}

static JsonObject *
parse_line (JsonParser *parser, const char *line)
{
  g_autoptr(GError) error = NULL;
  if (!json_parser_load_from_data (parser, line, -1, &error))
    g_error ("%s: %s", line, error->message);
  return json_node_get_object (json_parser_get_root (parser));
}

/* From the trace, independently of sim/view.c: a lane per node of the
 * scenario (and per node that joined), an arrow per message copy with a
 * fate (delivered, dropped, corrupted: one line each), a bar per
 * operation id invoked. */
static void
trace_counts (const char *trace_path, Counts *c)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_assert_true (g_file_get_contents (trace_path, &text, NULL, &error));
  g_auto(GStrv) lines = test_lines_split (text);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GHashTable) ops = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GHashTable) joined = g_hash_table_new (NULL, NULL);
  g_autoptr(GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint64));

  JsonObject *header = parse_line (parser, lines[0]);
  gint64 nodes = json_object_get_int_member (json_object_get_object_member (header, "scenario"), "nodes");
  memset (c, 0, sizeof *c);
  for (guint i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      JsonObject *o = parse_line (parser, lines[i]);
      const char *ev = json_object_get_string_member (o, "ev");
      if (g_strcmp0 (ev, "deliver") == 0 || g_strcmp0 (ev, "drop") == 0 || g_strcmp0 (ev, "corrupt") == 0)
        c->arrows++;
      else if (g_strcmp0 (ev, "join") == 0 && json_object_get_int_member (o, "node") > nodes)
        g_hash_table_add (joined, GINT_TO_POINTER ((int) json_object_get_int_member (o, "node")));
      else if (g_strcmp0 (ev, "invoke") == 0)
        {
          gint64 id = json_object_get_int_member (json_object_get_object_member (o, "op"), "id");
          g_array_append_val (ids, id);
        }
    }
  for (guint i = 0; i < ids->len; i++)
    g_hash_table_add (ops, &g_array_index (ids, gint64, i));
  c->lanes = (guint64) nodes + g_hash_table_size (joined);
  c->ops = g_hash_table_size (ops);
}

/* Where a page's screenshot is kept: the meson log folder
 * (DSM_VIEW_ARTIFACTS), else @fallback. */
static char *
screenshot_path (const char *fallback, const char *name)
{
  const char *dir = g_getenv ("DSM_VIEW_ARTIFACTS");
  return g_build_filename (dir != NULL ? dir : fallback, name, NULL);
}

static void
assert_png (const char *png)
{
  g_autofree char *bytes = NULL;
  gsize length = 0;

  g_assert_true (g_file_get_contents (png, &bytes, &length, NULL));
  g_assert_cmpuint (length, >, 8);
  g_assert_cmpmem (bytes, 8, "\x89PNG\r\n\x1a\n", 8);
  g_test_message ("screenshot: %s", png);
}

/* The line of @out after @prefix (up to the end of the line). */
static char *
after (const char *out, const char *prefix)
{
  const char *at = strstr (out, prefix);
  if (at == NULL)
    g_error ("\"%s\" not in:\n%s", prefix, out);
  at += strlen (prefix);
  return g_strndup (at, strcspn (at, "\n"));
}

static void
test_failing_run (void)
{
  g_test_summary ("A planted bug's failure (dsm-sim-mutant explore) writes a page next to its trace and prints "
                  "its path; in headless Chromium it draws a lane per node, an arrow per message copy and a bar "
                  "per operation of the trace, and names the invariant that failed.");
  if (!have_chromium ())
    return;
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *out_arg = g_strdup_printf ("--out=%s", dir);
  Result r = run_cmd (NULL, dsm_sim_mutant, "explore", "--mutant=vote-any-log", "--seeds", "200", "--stop-first",
                      out_arg, NULL);
  assert_status (&r, EXIT_FAILED);
  g_autofree char *failed = after (r.out, "FAILED explore-");
  g_autofree char *page = after (r.out, "  page: ");
  result_clear (&r);
  g_assert_true (g_str_has_suffix (page, ".html"));
  g_autofree char *stem = g_strndup (page, strlen (page) - strlen (".html"));
  g_autofree char *trace = g_strconcat (stem, ".trace", NULL);
  g_assert_true (g_file_test (trace, G_FILE_TEST_IS_REGULAR));
  /* "5: agreement at t=..." */
  g_autofree char *invariant = g_strndup (strchr (failed, ' ') + 1, strstr (failed, " at t=") - strchr (failed, ' ') - 1);

  Counts want = { 0 }, got = { 0 };
  g_autofree char *png = screenshot_path (dir, "view-failing.png");
  g_unlink (png);
  trace_counts (trace, &want);
  page_counts (page, "#finding", png, &got);
  assert_png (png);
  g_assert_cmpuint (want.arrows, >, 0);
  g_assert_cmpuint (got.lanes, ==, want.lanes);
  g_assert_cmpuint (got.arrows, ==, want.arrows);
  g_assert_cmpuint (got.ops, ==, want.ops);
  g_assert_cmpstr (got.finding, ==, invariant);
  counts_clear (&want);
  counts_clear (&got);
}

static void
test_passing_run (void)
{
  g_test_summary ("A passing run's trace drawn by dsm-sim view: Chromium draws every node lane, message copy and "
                  "operation of the trace, and no finding; a passing run writes no page by itself.");
  if (!have_chromium ())
    return;
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *trace = g_build_filename (dir, "leader-crash.trace", NULL);
  g_autofree char *page = g_build_filename (dir, "leader-crash.html", NULL);
  Result r = run_cmd (NULL, dsm_sim, "run", DSM_SCENARIOS_DIR "/leader-crash.json", "--trace", trace, NULL);
  assert_status (&r, EXIT_OK);
  g_assert_null (strstr (r.out, "page:"));
  g_assert_false (g_file_test (page, G_FILE_TEST_EXISTS));
  result_clear (&r);
  Result v = run_cmd (NULL, dsm_sim, "view", trace, NULL);
  assert_status (&v, EXIT_OK);
  g_autofree char *wrote = g_strdup_printf ("wrote %s: ", page);
  assert_contains (v.out, wrote);
  result_clear (&v);

  Counts want = { 0 }, got = { 0 };
  g_autofree char *png = screenshot_path (dir, "view-passing.png");
  g_unlink (png);
  trace_counts (trace, &want);
  page_counts (page, "#t=0-2000", png, &got);
  assert_png (png);
  g_assert_cmpuint (want.arrows, >, 1000);
  g_assert_cmpuint (got.lanes, ==, want.lanes);
  g_assert_cmpuint (got.arrows, ==, want.arrows);
  g_assert_cmpuint (got.ops, ==, want.ops);
  g_assert_cmpstr (got.finding, ==, "");
  counts_clear (&want);
  counts_clear (&got);
}

/* docs/HISTORY.md, "A complete example", with the read moved after the
 * refusal: three replies that cannot all be true. */
static const char door_late_read[] =
  "{\"dsm_history\":1,\"definitions\":[{\"name\":\"door\",\"states\":[\"Closed\",\"Open\"],\"initial\":\"Closed\","
  "\"transitions\":[{\"from\":\"Closed\",\"to\":\"Open\"},{\"from\":\"Open\",\"to\":\"Closed\"}]}],\"default_definition\":\"door\"}\n"
  "{\"id\":1,\"client\":1,\"client_id\":\"c1\",\"seq\":1,\"op\":\"transition\",\"machine\":\"front\",\"requested\":\"Open\",\"result\":\"ok\",\"state\":\"Open\",\"index\":2,\"invoke_ms\":0,\"complete_ms\":12}\n"
  "{\"id\":2,\"client\":2,\"client_id\":\"c2\",\"seq\":1,\"op\":\"transition\",\"machine\":\"front\",\"requested\":\"Closed\",\"result\":\"unknown\",\"index\":0,\"invoke_ms\":5,\"complete_ms\":1005}\n"
  "{\"id\":3,\"client\":3,\"seq\":0,\"op\":\"read\",\"machine\":\"front\",\"result\":\"ok\",\"state\":\"Open\",\"index\":2,\"invoke_ms\":50,\"complete_ms\":51}\n"
  "{\"id\":4,\"client\":1,\"client_id\":\"c1\",\"seq\":2,\"op\":\"transition\",\"machine\":\"front\",\"from\":\"Open\",\"requested\":\"Closed\",\"result\":\"rejected\",\"reason\":\"invalid_transition\",\"state\":\"Closed\",\"index\":3,\"invoke_ms\":30,\"complete_ms\":41}\n";

static void
test_history_window (void)
{
  g_test_summary ("A history alone (as real nodes record one) is drawn as client operations, and a "
                  "linearizability violation highlights the smallest window of replies that contradict one "
                  "another (3 of its 4 operations), as Porcupine shows them.");
  if (!have_chromium ())
    return;
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *history = g_build_filename (dir, "door.jsonl", NULL);
  g_autofree char *page = g_build_filename (dir, "door.html", NULL);
  g_assert_true (g_file_set_contents (history, door_late_read, -1, NULL));
  Result v = run_cmd (NULL, dsm_sim, "view", "--history", history, NULL);
  assert_status (&v, EXIT_OK);
  assert_contains (v.out, "the finding's window highlighted");
  result_clear (&v);

  Counts got = { 0 };
  page_counts (page, NULL, NULL, &got);
  g_assert_cmpuint (got.lanes, ==, 0);
  g_assert_cmpuint (got.arrows, ==, 0);
  g_assert_cmpuint (got.ops, ==, 4);
  g_assert_cmpuint (got.window_ops, ==, 3);
  g_assert_cmpstr (got.finding, ==, "linearizability");
  counts_clear (&got);
}

static void
test_bad_trace (void)
{
  g_test_summary ("dsm-sim view on a trace with a line that does not read exits 2 naming the line, and writes "
                  "no page.");
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *trace = g_build_filename (dir, "bad.trace", NULL);
  g_autofree char *page = g_build_filename (dir, "bad.html", NULL);
  Result r = run_cmd (NULL, dsm_sim, "run", DSM_SCENARIOS_DIR "/steady-state.json", "--trace", trace, NULL);
  assert_status (&r, EXIT_OK);
  result_clear (&r);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (trace, &text, NULL, NULL));
  char *second = strchr (text, '\n') + 1;
  char *third = strchr (second, '\n') + 1;
  g_autofree char *broken = g_strdup_printf ("%.*s{\"t\":1,\"ev\":\"send\",\"from\":\n%s", (int) (third - text), text,
                                             strchr (third, '\n') + 1);
  g_assert_true (g_file_set_contents (trace, broken, -1, NULL));

  Result v = run_cmd (NULL, dsm_sim, "view", trace, NULL);
  assert_status (&v, EXIT_BAD_INPUT);
  assert_contains (v.err, "line 3: ");
  g_assert_false (g_file_test (page, G_FILE_TEST_EXISTS));
  result_clear (&v);

  Result none = run_cmd (NULL, dsm_sim, "view", NULL);
  assert_status (&none, EXIT_BAD_INPUT);
  result_clear (&none);
}

static void
test_failure_pages (void)
{
  g_test_summary ("run and shrink write a page for the failure they report and print its path: run next to "
                  "its --trace, or in dsm-sim-failures/ without one; shrink next to its output; --no-view "
                  "writes none.");
  g_autofree char *dir = tmp_dir_new ();
  g_autofree char *out_arg = g_strdup_printf ("--out=%s", dir);
  Result e = run_cmd (NULL, dsm_sim_mutant, "explore", "--mutant=commit-without-majority", "--seeds", "20",
                      "--stop-first", "-q", "--no-view", out_arg, NULL);
  assert_status (&e, EXIT_FAILED);
  g_autofree char *seed = after (e.out, "caught ");
  seed[strcspn (seed, " ")] = '\0';
  result_clear (&e);
  g_autofree char *name = g_strdup_printf ("explore-%s.json", seed);
  g_autofree char *scenario = g_build_filename (dir, name, NULL);
  g_autofree char *page_name = g_strdup_printf ("dsm-sim-failures/explore-%s-%s.html", seed, seed);
  g_autofree char *page_line = g_strdup_printf ("  page: %s\n", page_name);
  g_autofree char *page = g_build_filename (dir, page_name, NULL);
  g_assert_false (g_file_test (page, G_FILE_TEST_EXISTS));   /* --no-view wrote none */

  Result r = run_cmd (dir, dsm_sim_mutant, "run", scenario, "--mutant=commit-without-majority", NULL);
  assert_status (&r, EXIT_FAILED);
  assert_contains (r.out, page_line);
  g_assert_true (g_file_test (page, G_FILE_TEST_IS_REGULAR));
  result_clear (&r);

  Result t = run_cmd (dir, dsm_sim_mutant, "run", scenario, "--mutant=commit-without-majority", "--trace", "t.trace", NULL);
  assert_status (&t, EXIT_FAILED);
  assert_contains (t.out, "  page: t.html\n");
  result_clear (&t);

  Result n = run_cmd (dir, dsm_sim_mutant, "run", scenario, "--mutant=commit-without-majority", "--trace", "n.trace",
                      "--no-view", NULL);
  assert_status (&n, EXIT_FAILED);
  g_assert_null (strstr (n.out, "page:"));
  result_clear (&n);

  Result sh = run_cmd (dir, dsm_sim_mutant, "shrink", scenario, "-o", "small.json", "--mutant=commit-without-majority", NULL);
  assert_status (&sh, EXIT_OK);
  assert_contains (sh.out, "  page: small.html\n");
  result_clear (&sh);
  g_autofree char *small_page = g_build_filename (dir, "small.html", NULL);
  g_autofree char *small_trace = g_build_filename (dir, "small.trace", NULL);
  g_assert_true (g_file_test (small_page, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (small_trace, G_FILE_TEST_IS_REGULAR));
  g_autofree char *no_page = g_build_filename (dir, "n.html", NULL);
  g_assert_false (g_file_test (no_page, G_FILE_TEST_EXISTS));
  tree_remove (dir);
}

static void
test_render_window (void)
{
  g_test_summary ("A simulated run that failed linearizability gets the smallest window of replies that "
                  "contradict one another highlighted: a transition to Running acknowledged, then a read "
                  "of Init; the other machine's operation is not in it.");
  g_autoptr(GError) error = NULL;
  g_autoptr(DsmScenario) scenario = dsm_scenario_new_from_file (DSM_SCENARIOS_DIR "/steady-state.json", &error);
  g_assert_no_error (error);
  g_autoptr(GString) trace = g_string_new (NULL);
  dsm_sim_write_trace_header (scenario, 1, trace);
  g_string_append (trace,
    "{\"t\":10,\"ev\":\"complete\",\"client\":0,\"node\":1,\"op\":{\"id\":1,\"client\":0,\"seq\":0,\"op\":\"transition\","
    "\"machine\":\"m\",\"requested\":\"Running\",\"result\":\"ok\",\"state\":\"Running\",\"index\":1,\"invoke_ms\":0,\"complete_ms\":10}}\n"
    "{\"t\":15,\"ev\":\"complete\",\"client\":2,\"node\":3,\"op\":{\"id\":3,\"client\":2,\"seq\":0,\"op\":\"read\","
    "\"machine\":\"other\",\"result\":\"ok\",\"state\":\"Init\",\"index\":1,\"invoke_ms\":12,\"complete_ms\":15}}\n"
    "{\"t\":30,\"ev\":\"complete\",\"client\":1,\"node\":2,\"op\":{\"id\":2,\"client\":1,\"seq\":0,\"op\":\"read\","
    "\"machine\":\"m\",\"result\":\"ok\",\"state\":\"Init\",\"index\":1,\"invoke_ms\":20,\"complete_ms\":30}}\n");
  DsmViewInput input = {
    .trace = trace->str, .trace_len = trace->len, .has_finding = TRUE,
    .invariant = DSM_INVARIANT_LINEARIZABILITY, .failure = "machine m: no legal order", .failed_at_ms = 30,
  };
  g_autoptr(GString) page = g_string_new (NULL);
  DsmViewCounts counts = { 0 };
  g_assert_true (dsm_view_render (&input, page, &counts, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (counts.ops, ==, 3);
  g_assert_cmpuint (counts.window_ops, ==, 2);
  assert_contains (page->str, "\"ops\":[1,2]");
  g_assert_cmpuint (counts.lanes, ==, (guint) scenario->config->n_nodes);
}

static void
test_unknown_kind (void)
{
  g_test_summary ("A trace line of a kind the page does not know (a newer simulator's) is drawn as a mark "
                  "carrying the line, not refused.");
  g_autoptr(TmpDir) dir = tmp_dir_new ();
  g_autofree char *trace = g_build_filename (dir, "new.trace", NULL);
  g_autofree char *page = g_build_filename (dir, "new.html", NULL);
  Result r = run_cmd (NULL, dsm_sim, "run", DSM_SCENARIOS_DIR "/steady-state.json", "--trace", trace, NULL);
  assert_status (&r, EXIT_OK);
  result_clear (&r);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (trace, &text, NULL, NULL));
  g_autofree char *more = g_strconcat (text, "{\"t\":999999,\"ev\":\"probe_from_the_future\",\"node\":2,\"x\":[1]}\n", NULL);
  g_assert_true (g_file_set_contents (trace, more, -1, NULL));

  Result v = run_cmd (NULL, dsm_sim, "view", trace, NULL);
  assert_status (&v, EXIT_OK);
  result_clear (&v);
  g_autofree char *html = NULL;
  g_assert_true (g_file_get_contents (page, &html, NULL, NULL));
  assert_contains (html, "\"probe_from_the_future\"");   /* the mark's kind, in the string table */
  assert_contains (html, "\\\"ev\\\":\\\"probe_from_the_future\\\"");   /* its line, as a JSON string */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  dsm_sim = g_getenv ("DSM_SIM");
  dsm_sim_mutant = g_getenv ("DSM_SIM_MUTANT");
  if (dsm_sim == NULL || dsm_sim_mutant == NULL)
    {
      g_printerr ("test-view: set DSM_SIM and DSM_SIM_MUTANT to the binaries (meson test does)\n");
      return 1;
    }
  chromium = g_find_program_in_path ("chromium");

  g_test_add_func ("/sim/view/failing-run", test_failing_run);
  g_test_add_func ("/sim/view/passing-run", test_passing_run);
  g_test_add_func ("/sim/view/history-window", test_history_window);
  g_test_add_func ("/sim/view/bad-trace", test_bad_trace);
  g_test_add_func ("/sim/view/unknown-kind", test_unknown_kind);
  g_test_add_func ("/sim/view/failure-pages", test_failure_pages);
  g_test_add_func ("/sim/view/render-window", test_render_window);

  int status = g_test_run ();
  g_free (chromium);
  return status;
}
