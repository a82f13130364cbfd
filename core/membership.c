/* core/membership.c: the membership value (voters, learners, addresses,
 * next id), the one-step changes the log may make to it, and its JSON. */
#include "membership.h"

#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "error.h"
#include "json.h"

G_DEFINE_QUARK (dsm-membership-error-quark, dsm_membership_error)

struct _DsmMembership {
  DsmMember *members;   /* n_members, sorted by id */
  guint n_members;
  guint n_voters;
  DsmNodeId next_id;
};

static const char *const role_names[] = {
  [DSM_MEMBER_VOTER] = "voter",
  [DSM_MEMBER_LEARNER] = "learner",
};
static const char *const role_names_list[] = { "voter", "learner", NULL };

const char *
dsm_member_role_to_string (DsmMemberRole role)
{
  g_return_val_if_fail ((guint) role < G_N_ELEMENTS (role_names), "?");
  return role_names[role];
}

gboolean
dsm_membership_check_address (const char *field, const char *address, GError **error)
{
  const char *colon = strrchr (address, ':');
  gsize length = strlen (address);

  if (length > DSM_ADDRESS_MAX || colon == NULL || colon == address || colon[1] == '\0')
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "%s: expected \"host:port\", found \"%.64s\"", field, address);
      return FALSE;
    }
  for (const char *p = address; p < colon; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f)
      {
        g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                     "%s: the host has a space or a character outside printable ASCII", field);
        return FALSE;
      }
  guint64 port = 0;
  for (const char *p = colon + 1; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p) || port > 65535)
        {
          port = 0;
          break;
        }
      port = port * 10 + (guint64) (*p - '0');
    }
  if (port == 0 || port > 65535)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "%s: the port of \"%.64s\" is not 1 to 65535", field, address);
      return FALSE;
    }
  return TRUE;
}

static int
member_compare (const void *a, const void *b)
{
  const DsmMember *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id ? 1 : 0;
}

DsmMembership *
dsm_membership_new (const DsmMember *members, guint n_members, DsmNodeId next_id, GError **error)
{
  GError *local = NULL;

  g_return_val_if_fail (members != NULL || n_members == 0, NULL);

  if (next_id > (guint64) DSM_NODE_ID_MAX + 1)
    {
      g_set_error (error, DSM_MEMBERSHIP_ERROR, DSM_MEMBERSHIP_ERROR_INVALID,
                   "next_id %u: past the last node id %u", next_id, DSM_NODE_ID_MAX);
      return NULL;
    }
  if (n_members > DSM_MAX_NODES)
    {
      g_set_error (error, DSM_MEMBERSHIP_ERROR, DSM_MEMBERSHIP_ERROR_INVALID,
                   "%u members, more than %d", n_members, DSM_MAX_NODES);
      return NULL;
    }
  g_autofree DsmMember *sorted = g_new0 (DsmMember, MAX (n_members, 1));
  memcpy (sorted, members, n_members * sizeof (DsmMember));
  qsort (sorted, n_members, sizeof (DsmMember), member_compare);

  guint n_voters = 0;
  for (guint i = 0; i < n_members; i++)
    {
      const DsmMember *m = &sorted[i];
      /* next_id is at most DSM_NODE_ID_MAX + 1, so ids are in range too. */
      if (m->id == DSM_NODE_NONE || m->id >= next_id)
        {
          g_set_error (error, DSM_MEMBERSHIP_ERROR, DSM_MEMBERSHIP_ERROR_INVALID,
                       "member id %u: ids run from 1 to next_id - 1 (%u)", m->id,
                       next_id > 0 ? next_id - 1 : 0);
          return NULL;
        }
      if (i > 0 && sorted[i - 1].id == m->id)
        {
          g_set_error (error, DSM_MEMBERSHIP_ERROR, DSM_MEMBERSHIP_ERROR_INVALID,
                       "member id %u: listed twice", m->id);
          return NULL;
        }
      if ((guint) m->role >= G_N_ELEMENTS (role_names))
        {
          g_set_error (error, DSM_MEMBERSHIP_ERROR, DSM_MEMBERSHIP_ERROR_INVALID,
                       "member %u: unknown role", m->id);
          return NULL;
        }
      if ((m->peer_address != NULL && !dsm_membership_check_address ("peer_address", m->peer_address, &local))
          || (m->client_address != NULL
              && !dsm_membership_check_address ("client_address", m->client_address, &local))
          || (m->native_address != NULL
              && !dsm_membership_check_address ("native_address", m->native_address, &local)))
        {
          g_set_error (error, DSM_MEMBERSHIP_ERROR, DSM_MEMBERSHIP_ERROR_INVALID,
                       "member %u: %s", m->id, local->message);
          g_error_free (local);
          return NULL;
        }
      if (m->role == DSM_MEMBER_VOTER)
        n_voters++;
    }
  if (n_voters == 0)
    {
      g_set_error (error, DSM_MEMBERSHIP_ERROR, DSM_MEMBERSHIP_ERROR_INVALID,
                   "no voter: a cluster needs at least one");
      return NULL;
    }

  DsmMembership *membership = g_atomic_rc_box_new0 (DsmMembership);
  membership->members = g_steal_pointer (&sorted);
  membership->n_members = n_members;
  membership->n_voters = n_voters;
  membership->next_id = next_id;
  for (guint i = 0; i < n_members; i++)
    {
      membership->members[i].peer_address = g_strdup (membership->members[i].peer_address);
      membership->members[i].client_address = g_strdup (membership->members[i].client_address);
      membership->members[i].native_address = g_strdup (membership->members[i].native_address);
    }
  return membership;
}

DsmMembership *
dsm_membership_new_bootstrap (const DsmConfig *config)
{
  g_autofree DsmMember *members = g_new0 (DsmMember, MAX (config->n_nodes, 1));
  DsmNodeId next_id = 1;
  g_autoptr(GError) error = NULL;

  g_return_val_if_fail (config != NULL, NULL);
  for (guint i = 0; i < config->n_nodes; i++)
    {
      members[i].id = config->nodes[i].id;
      members[i].role = DSM_MEMBER_VOTER;
      members[i].peer_address = config->nodes[i].peer_address;
      members[i].client_address = config->nodes[i].client_address;
      next_id = MAX (next_id, members[i].id + 1);
    }
  DsmMembership *membership = dsm_membership_new (members, config->n_nodes, next_id, &error);
  /* The config was checked when it was read: its nodes form a membership. */
  g_assert_no_error (error);
  g_assert (membership != NULL);
  return membership;
}

static void
membership_clear (gpointer data)
{
  DsmMembership *membership = data;

  for (guint i = 0; i < membership->n_members; i++)
    {
      g_free (membership->members[i].peer_address);
      g_free (membership->members[i].client_address);
      g_free (membership->members[i].native_address);
    }
  g_free (membership->members);
}

DsmMembership *
dsm_membership_ref (DsmMembership *membership)
{
  g_return_val_if_fail (membership != NULL, NULL);
  return g_atomic_rc_box_acquire (membership);
}

void
dsm_membership_unref (DsmMembership *membership)
{
  if (membership != NULL)
    g_atomic_rc_box_release_full (membership, membership_clear);
}

guint
dsm_membership_get_n_members (const DsmMembership *membership)
{
  return membership->n_members;
}

const DsmMember *
dsm_membership_get_member (const DsmMembership *membership, guint i)
{
  g_return_val_if_fail (i < membership->n_members, NULL);
  return &membership->members[i];
}

const DsmMember *
dsm_membership_find (const DsmMembership *membership, DsmNodeId id)
{
  DsmMember key = { .id = id };

  return bsearch (&key, membership->members, membership->n_members, sizeof (DsmMember),
                  member_compare);
}

gboolean
dsm_membership_is_voter (const DsmMembership *membership, DsmNodeId id)
{
  const DsmMember *m = dsm_membership_find (membership, id);
  return m != NULL && m->role == DSM_MEMBER_VOTER;
}

guint
dsm_membership_get_n_voters (const DsmMembership *membership)
{
  return membership->n_voters;
}

guint
dsm_membership_quorum (const DsmMembership *membership)
{
  g_assert (membership->n_voters >= 1);
  return membership->n_voters / 2 + 1;
}

DsmNodeId
dsm_membership_get_next_id (const DsmMembership *membership)
{
  return membership->next_id;
}

gboolean
dsm_membership_was_removed (const DsmMembership *membership, DsmNodeId id)
{
  return id != DSM_NODE_NONE && id < membership->next_id && dsm_membership_find (membership, id) == NULL;
}

gboolean
dsm_membership_equal (const DsmMembership *a, const DsmMembership *b)
{
  if (a == b)
    return TRUE;
  if (a->n_members != b->n_members || a->next_id != b->next_id)
    return FALSE;
  for (guint i = 0; i < a->n_members; i++)
    {
      const DsmMember *x = &a->members[i], *y = &b->members[i];
      if (x->id != y->id || x->role != y->role || g_strcmp0 (x->peer_address, y->peer_address) != 0
          || g_strcmp0 (x->client_address, y->client_address) != 0
          || g_strcmp0 (x->native_address, y->native_address) != 0)
        return FALSE;
    }
  return TRUE;
}

guint
dsm_membership_voter_difference (const DsmMembership *a, const DsmMembership *b)
{
  guint n = 0;

  for (guint i = 0; i < a->n_members; i++)
    if (a->members[i].role == DSM_MEMBER_VOTER && !dsm_membership_is_voter (b, a->members[i].id))
      n++;
  for (guint i = 0; i < b->n_members; i++)
    if (b->members[i].role == DSM_MEMBER_VOTER && !dsm_membership_is_voter (a, b->members[i].id))
      n++;
  return n;
}

gboolean
dsm_membership_check_command (const DsmCommand *cmd, GError **error)
{
  g_return_val_if_fail (cmd != NULL, FALSE);
  g_return_val_if_fail (dsm_op_is_membership (cmd->op), FALSE);

  if (cmd->op != DSM_OP_ADD_MEMBER && cmd->node == DSM_NODE_NONE)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "node: missing, %s names the member", dsm_op_to_string (cmd->op));
      return FALSE;
    }
  /* The range every part of dsm decodes (PROTOCOL.md, "Wire format"): an id
   * past it would enter the log and fail to decode at the followers and
   * in the leader's own WAL. */
  if (cmd->node > DSM_NODE_ID_MAX)
    {
      g_set_error (error, DSM_CODEC_ERROR, DSM_CODEC_ERROR_INVALID,
                   "node: %u is out of 1..%u", cmd->node, DSM_NODE_ID_MAX);
      return FALSE;
    }
  if (cmd->peer_address != NULL && !dsm_membership_check_address ("peer_address", cmd->peer_address, error))
    return FALSE;
  if (cmd->client_address != NULL
      && !dsm_membership_check_address ("client_address", cmd->client_address, error))
    return FALSE;
  if (cmd->native_address != NULL
      && !dsm_membership_check_address ("native_address", cmd->native_address, error))
    return FALSE;
  return TRUE;
}

/* A refused change: the error, and no membership. */
#define CHANGE_REFUSED(error, code, ...) \
  (g_set_error ((error), DSM_MEMBERSHIP_ERROR, (code), __VA_ARGS__), (DsmMembership *) NULL)

DsmMembership *
dsm_membership_change (const DsmMembership *membership, const DsmCommand *cmd,
                       DsmNodeId *member_out, GError **error)
{
  g_return_val_if_fail (membership != NULL && cmd != NULL, NULL);
  g_return_val_if_fail (dsm_op_is_membership (cmd->op), NULL);

  g_autofree DsmMember *members = g_new0 (DsmMember, membership->n_members + 1);
  guint n = membership->n_members;
  DsmNodeId next_id = membership->next_id;
  DsmNodeId id = cmd->node;
  const DsmMember *found = id != DSM_NODE_NONE ? dsm_membership_find (membership, id) : NULL;

  memcpy (members, membership->members, n * sizeof (DsmMember));
  switch (cmd->op)
    {
    case DSM_OP_ADD_MEMBER:
      if (n >= DSM_MAX_NODES)
        return CHANGE_REFUSED (error, DSM_MEMBERSHIP_ERROR_FULL, "the cluster has %d members already",
                            DSM_MAX_NODES);
      if (id == DSM_NODE_NONE)
        id = next_id;
      else if (id < next_id)
        return CHANGE_REFUSED (error, DSM_MEMBERSHIP_ERROR_ID_REUSED,
                            "node id %u is retired: every id below next_id (%u) was given out "
                            "or skipped, and ids are never reused",
                            id, next_id);
      if (id > DSM_NODE_ID_MAX)
        return CHANGE_REFUSED (error, DSM_MEMBERSHIP_ERROR_FULL,
                               "node id %u: node ids are exhausted (the last is %u)", id, DSM_NODE_ID_MAX);
      members[n++] = (DsmMember) {
        .id = id,
        .role = DSM_MEMBER_LEARNER,
        .peer_address = cmd->peer_address,
        .client_address = cmd->client_address,
        .native_address = cmd->native_address,
      };
      next_id = id + 1;
      break;
    case DSM_OP_REMOVE_MEMBER:
      if (found == NULL)
        return CHANGE_REFUSED (error, DSM_MEMBERSHIP_ERROR_UNKNOWN_MEMBER, "node %u is not a member", id);
      if (found->role == DSM_MEMBER_VOTER && membership->n_voters == 1)
        return CHANGE_REFUSED (error, DSM_MEMBERSHIP_ERROR_LAST_VOTER,
                            "node %u is the last voter; add and promote another first", id);
      members[found - membership->members] = members[n - 1];
      n--;
      break;
    case DSM_OP_PROMOTE_MEMBER:
      if (found == NULL)
        return CHANGE_REFUSED (error, DSM_MEMBERSHIP_ERROR_UNKNOWN_MEMBER, "node %u is not a member", id);
      if (found->role == DSM_MEMBER_VOTER)
        return CHANGE_REFUSED (error, DSM_MEMBERSHIP_ERROR_NOT_LEARNER, "node %u is a voter already", id);
      members[found - membership->members].role = DSM_MEMBER_VOTER;
      break;
    case DSM_OP_TRANSITION:
    case DSM_OP_READ:
    case DSM_OP_DEFINE:
    case DSM_OP_N_OPS:
    default:
      g_assert_not_reached ();
    }

  DsmMembership *changed = dsm_membership_new (members, n, next_id, error);
  if (changed == NULL)
    return NULL;
  /* One voter at a time: quorums of consecutive configurations intersect
   * (PROTOCOL.md, "Membership changes"). */
  g_assert (dsm_membership_voter_difference (membership, changed) <= 1);
  g_assert (changed->next_id >= membership->next_id);
  if (member_out != NULL)
    *member_out = id;
  return changed;
}

void
dsm_membership_write_json (GString *out, const DsmMembership *membership)
{
  g_string_append (out, "{\"next_id\":");
  dsm_codec_write_uint (out, membership->next_id);
  g_string_append (out, ",\"members\":[");
  for (guint i = 0; i < membership->n_members; i++)
    {
      const DsmMember *m = &membership->members[i];
      g_string_append (out, i > 0 ? ",{\"id\":" : "{\"id\":");
      dsm_codec_write_uint (out, m->id);
      g_string_append (out, ",\"role\":\"");
      g_string_append (out, role_names[m->role]);
      g_string_append_c (out, '"');
      if (m->peer_address != NULL)
        {
          g_string_append (out, ",\"peer_address\":");
          dsm_codec_write_string (out, m->peer_address);
        }
      if (m->client_address != NULL)
        {
          g_string_append (out, ",\"client_address\":");
          dsm_codec_write_string (out, m->client_address);
        }
      if (m->native_address != NULL)
        {
          g_string_append (out, ",\"native_address\":");
          dsm_codec_write_string (out, m->native_address);
        }
      g_string_append_c (out, '}');
    }
  g_string_append (out, "]}");
}

/* Memberships are read from the wire, the WAL and snapshots only, so
 * they follow the wire's rule: unknown keys are ignored (PROTOCOL.md,
 * "Wire format"); a field that would change who counts must come with a
 * change older nodes refuse (a new role, say), never as an extra key. */
static gboolean
read_member (const DsmJsonAt *at, DsmMember *m, GError **error)
{
  guint role = DSM_MEMBER_VOTER;
  const char *peer = NULL;
  const char *client = NULL;
  const char *native = NULL;

  if (!dsm_json_get_object (at, NULL, error)
      || !dsm_json_read_node_id (at, "id", DSM_JSON_REQUIRED, &m->id, error)
      || !dsm_json_read_enum (at, "role", DSM_JSON_REQUIRED, role_names_list, &role, error)
      || !dsm_json_read_string (at, "peer_address", DSM_JSON_NULLABLE, DSM_ADDRESS_MAX, &peer, error)
      || !dsm_json_read_string (at, "client_address", DSM_JSON_NULLABLE, DSM_ADDRESS_MAX, &client, error)
      || !dsm_json_read_string (at, "native_address", DSM_JSON_NULLABLE, DSM_ADDRESS_MAX, &native, error))
    return FALSE;
  m->role = (DsmMemberRole) role;
  m->peer_address = (char *) peer;
  m->client_address = (char *) client;
  m->native_address = (char *) native;
  return TRUE;
}

DsmMembership *
dsm_membership_from_json (JsonNode *node, const char *where, GError **error)
{
  DsmJsonAt root, list;
  guint next_id = 0;
  guint n = 0;
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (node != NULL, NULL);
  dsm_json_at_root (&root, &dsm_codec_json_errors, node, where != NULL ? where : "membership");
  if (!dsm_json_get_object (&root, NULL, error)
      || !dsm_json_read_uint32 (&root, "next_id", DSM_JSON_REQUIRED, 1, (guint) DSM_NODE_ID_MAX + 1,
                                &next_id, error)
      || !dsm_json_read_member (&list, &root, "members", DSM_JSON_REQUIRED, error)
      || !dsm_json_get_array (&list, DSM_MAX_NODES, &n, error))
    return NULL;
  g_autofree DsmMember *members = g_new0 (DsmMember, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      DsmJsonAt element;
      dsm_json_at_element (&element, &list, i);
      if (!read_member (&element, &members[i], error))
        return NULL;
    }
  DsmMembership *membership = dsm_membership_new (members, n, next_id, &local);
  if (membership == NULL)
    {
      dsm_json_fail (&root, DSM_JSON_ERROR_INVALID, error, "%s", local->message);
      return NULL;
    }
  return membership;
}

char *
dsm_membership_format (const DsmMembership *membership)
{
  GString *out = g_string_new ("voters");

  for (guint pass = 0; pass < 2; pass++)
    {
      DsmMemberRole role = pass == 0 ? DSM_MEMBER_VOTER : DSM_MEMBER_LEARNER;
      gboolean any = FALSE;
      for (guint i = 0; i < membership->n_members; i++)
        if (membership->members[i].role == role)
          {
            if (pass == 1 && !any)
              g_string_append (out, ", learners");
            g_string_append_printf (out, " %u", membership->members[i].id);
            any = TRUE;
          }
    }
  g_string_append_printf (out, " (next id %u)", membership->next_id);
  return g_string_free (out, FALSE);
}
