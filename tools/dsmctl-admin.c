/* tools/dsmctl-admin.c: dsmctl's administrative commands: the membership,
 * leadership transfer, machine definitions and backups
 * (docs/API.md, "Administration"; they need the admin role). */
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "backup.h"
#include "dsmctl.h"
#include "membership.h"
#include "output.h"

/* ---- member ---- */

static void
member_print (JsonObject *obj, const char *key)
{
  JsonNode *node = json_object_get_member (obj, key);
  JsonArray *members = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;

  printf ("%-6s %-8s %-24s %s\n", "ID", "ROLE", "PEER_ADDRESS", "CLIENT_URL");
  for (guint i = 0; members != NULL && i < json_array_get_length (members); i++)
    {
      JsonNode *item = json_array_get_element (members, i);
      if (!JSON_NODE_HOLDS_OBJECT (item))
        continue;
      JsonObject *m = json_node_get_object (item);
      printf ("%-6" G_GINT64_FORMAT " %-8s %-24s %s\n", json_object_get_int_member_with_default (m, "id", 0),
              json_object_get_string_member_with_default (m, "role", "?"),
              json_object_get_string_member_with_default (m, "peer_address", "-"),
              json_object_get_string_member_with_default (m, "client_url", "-"));
    }
}

static int
member_list (Ctl *ctl)
{
  Answer a;
  int status = ctl_command (ctl, "GET", "/v1/members", NULL, &a);

  if (status != 0 || ctl->json || a.root == NULL || !JSON_NODE_HOLDS_OBJECT (a.root))
    return ctl_report (ctl, status, &a);
  JsonObject *obj = json_node_get_object (a.root);
  member_print (obj, "members");
  printf ("(node %" G_GINT64_FORMAT "'s membership, from index %" G_GINT64_FORMAT "%s; next id %" G_GINT64_FORMAT ")\n",
          answer_int (&a, "node", 0), answer_int (&a, "index", 0),
          json_object_get_boolean_member_with_default (obj, "committed", FALSE) ? ", committed" : ", NOT committed yet",
          answer_int (&a, "next_id", 0));
  answer_clear (&a);
  return 0;
}

/* One membership change; @id 0 lets an add take the next free id. */
static int
member_change (Ctl *ctl, const char *op, gint64 id, const char *peer_address, const char *client_address)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *client_id = ctl_new_client_id ();
  Answer a;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "op");
  json_builder_add_string_value (b, op);
  if (id != 0)
    {
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, id);
    }
  if (peer_address != NULL)
    {
      json_builder_set_member_name (b, "peer_address");
      json_builder_add_string_value (b, peer_address);
      json_builder_set_member_name (b, "client_address");
      json_builder_add_string_value (b, client_address);
    }
  /* A change resent after a lost answer applies once. */
  json_builder_set_member_name (b, "client_id");
  json_builder_add_string_value (b, client_id);
  json_builder_set_member_name (b, "seq");
  json_builder_add_int_value (b, 1);
  json_builder_end_object (b);
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *body = json_to_string (root, FALSE);
  int status = ctl_command (ctl, "POST", "/v1/members", body, &a);
  if (status != 0 || ctl->json)
    return ctl_report (ctl, status, &a);
  printf ("%s node %" G_GINT64_FORMAT " (index %" G_GINT64_FORMAT ")\n",
          g_str_equal (op, "add") ? "added as a learner:" : g_str_equal (op, "promote") ? "promoted to voter:"
                                                                                        : "removed:",
          answer_int (&a, "id", 0), answer_int (&a, "index", 0));
  answer_clear (&a);
  return 0;
}

static gboolean
member_parse_id (const char *text, gint64 *id)
{
  guint64 v = 0;

  if (!g_ascii_string_to_unsigned (text, 10, 1, DSM_NODE_ID_MAX, &v, NULL))
    return FALSE;
  *id = (gint64) v;
  return TRUE;
}

int
cmd_member (Ctl *ctl, int argc, char **argv, gint64 id)
{
  g_autoptr(GError) error = NULL;
  gint64 target = 0;

  if (argc < 2)
    return ctl_usage ("member: expected list, add, promote or remove");
  const char *sub = argv[1];
  if (g_str_equal (sub, "list") && argc == 2 && id == 0)
    return member_list (ctl);
  if (g_str_equal (sub, "add") && argc == 4)
    {
      if (!dsm_membership_check_address ("PEER_ADDR", argv[2], &error)
          || !dsm_membership_check_address ("CLIENT_ADDR", argv[3], &error))
        return ctl_usage ("member add: %s", error->message);
      if (id < 0 || id > DSM_NODE_ID_MAX)
        return ctl_usage ("--id %" G_GINT64_FORMAT ": expected 1..%u", id, (guint) DSM_NODE_ID_MAX);
      return member_change (ctl, "add", id, argv[2], argv[3]);
    }
  if ((g_str_equal (sub, "promote") || g_str_equal (sub, "remove")) && argc == 3 && id == 0)
    {
      if (!member_parse_id (argv[2], &target))
        return ctl_usage ("member %s: \"%s\" is not a node id", sub, argv[2]);
      return member_change (ctl, sub, target, NULL, NULL);
    }
  return ctl_usage ("member: expected list, add PEER_ADDR CLIENT_ADDR [--id N], promote ID or remove ID");
}

/* ---- leader transfer ---- */

/* After the leader accepted, polls the endpoints until one names another
 * leader (the transfer's outcome), within the deadline. */
static int
leader_wait (Ctl *ctl, gint64 old_leader)
{
  while (g_get_monotonic_time () < ctl->deadline_us)
    {
      for (guint i = 0; i < ctl->endpoints->len; i++)
        {
          Answer a;
          if (!ctl_request (ctl, "GET", ctl->endpoints->pdata[i], "/v1/cluster", NULL, &a))
            continue;
          gint64 leader = a.status == 200 ? answer_int (&a, "leader", 0) : 0;
          gint64 epoch = answer_int (&a, "epoch", 0);
          answer_clear (&a);
          if (leader != 0 && leader != old_leader)
            {
              printf ("leader: node %" G_GINT64_FORMAT " (was node %" G_GINT64_FORMAT "), epoch %" G_GINT64_FORMAT "\n",
                      leader, old_leader, epoch);
              return 0;
            }
        }
      g_usleep (100 * 1000);
    }
  fprintf (stderr, "dsmctl: the transfer started but no other leader appeared before --timeout "
                   "(the old leader leads on after 2 x election_timeout_ms_max)\n");
  return EXIT_UNAVAILABLE;
}

int
cmd_leader (Ctl *ctl, int argc, char **argv)
{
  gint64 target = 0;
  Answer a;

  if (argc < 2 || !g_str_equal (argv[1], "transfer") || argc > 3)
    return ctl_usage ("leader: expected transfer [ID]");
  if (argc == 3 && !member_parse_id (argv[2], &target))
    return ctl_usage ("leader transfer: \"%s\" is not a node id", argv[2]);
  g_autofree char *body = target != 0 ? g_strdup_printf ("{\"to\":%" G_GINT64_FORMAT "}", target) : g_strdup ("{}");
  int status = ctl_command (ctl, "POST", "/v1/leader/transfer", body, &a);
  if (status != 0 || ctl->json)
    return ctl_report (ctl, status, &a);
  gint64 from = answer_int (&a, "from", 0);
  printf ("transfer started: node %" G_GINT64_FORMAT " to node %" G_GINT64_FORMAT "\n", from, answer_int (&a, "to", 0));
  answer_clear (&a);
  return leader_wait (ctl, from);
}

/* ---- definition put ---- */

int
cmd_definition (Ctl *ctl, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *spec = NULL;
  gsize length = 0;
  Answer a;

  if (argc != 4 || !g_str_equal (argv[1], "put"))
    return ctl_usage ("definition: expected put NAME FILE");
  g_autofree char *escaped = g_uri_escape_string (argv[2], NULL, FALSE);
  if (!g_file_get_contents (argv[3], &spec, &length, &error))
    return ctl_usage ("definition put: %s", error->message);
  if (length != strlen (spec))
    return ctl_usage ("definition put: %s holds a NUL byte", argv[3]);
  g_autofree char *path = g_strconcat ("/v1/definitions/", escaped, NULL);
  g_autofree char *client_id = ctl_new_client_id ();
  ctl->client_id = client_id;
  ctl->seq = 1;
  int status = ctl_command (ctl, "PUT", path, spec, &a);
  ctl->client_id = NULL;
  if (status != 0 || ctl->json)
    return ctl_report (ctl, status, &a);
  printf ("definition %s: version %" G_GINT64_FORMAT "\n", answer_string (&a, "definition"),
          answer_int (&a, "version", 0));
  answer_clear (&a);
  return 0;
}

/* ---- snapshot save ---- */

/* Verified twice: the header's digest against the bytes received, and the
 * digest the node sent apart (Dsm-Snapshot-Sha256) against the header's;
 * written durably, replacing FILE only once complete. */
int
cmd_snapshot (Ctl *ctl, int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  DsmBackup backup = { 0 };
  Answer a;

  if (argc != 3 || !g_str_equal (argv[1], "save"))
    return ctl_usage ("snapshot: expected save FILE");
  int status = ctl_command (ctl, "GET", "/v1/snapshot", NULL, &a);
  if (status != 0)
    return ctl_report (ctl, status, &a);
  gsize length = 0;
  const guint8 *data = g_bytes_get_data (a.body, &length);
  if (!dsm_backup_read (data, length, "the node's answer", &backup, &error)
      || g_strcmp0 (a.digest, backup.sha256) != 0)
    {
      fprintf (stderr, "dsmctl: snapshot save: %s\n",
               error != NULL ? error->message : "the answer's Dsm-Snapshot-Sha256 differs from its header's digest");
      answer_clear (&a);
      dsm_backup_clear (&backup);
      return EXIT_UNAVAILABLE;
    }
  if (!dsm_output_write (argv[2], (const char *) data, length,
                         G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, &error))
    {
      fprintf (stderr, "dsmctl: snapshot save: %s\n", error->message);
      answer_clear (&a);
      dsm_backup_clear (&backup);
      return EXIT_REFUSED;
    }
  g_autofree char *file = g_strescape (argv[2], NULL);
  if (ctl->json)
    printf ("{\"file\":\"%s\",\"node\":%u,\"index\":%" G_GUINT64_FORMAT ",\"bytes\":%" G_GSIZE_FORMAT
            ",\"sha256\":\"%s\"}\n", file, backup.node, backup.index, g_bytes_get_size (backup.snapshot),
            backup.sha256);
  else
    printf ("saved node %u's state at index %" G_GUINT64_FORMAT " to %s (%" G_GSIZE_FORMAT " bytes, sha256 %s)\n",
            backup.node, backup.index, argv[2], g_bytes_get_size (backup.snapshot), backup.sha256);
  answer_clear (&a);
  dsm_backup_clear (&backup);
  return 0;
}
