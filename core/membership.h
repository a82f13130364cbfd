/* core/membership.h: the cluster's membership: which nodes take part, as
 * voters or learners, where they listen, and the next unused id.  It is
 * replicated state, carried whole by configuration entries in the log
 * (PROTOCOL.md, "Membership changes"); the config file only bootstraps it. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "config.h"
#include "entry.h"
#include "types.h"

G_BEGIN_DECLS

typedef enum {
  DSM_MEMBER_VOTER,    /* votes and counts towards every quorum */
  DSM_MEMBER_LEARNER,  /* replicates the log; never votes, never counts */
} DsmMemberRole;

const char *dsm_member_role_to_string (DsmMemberRole role);

/* Longest address a member may carry ("host:port"), in bytes. */
#define DSM_ADDRESS_MAX 255

typedef struct {
  DsmNodeId id;
  DsmMemberRole role;
  char *peer_address;    /* "host:port" peers dial; nullable (the simulator has none) */
  char *client_address;  /* "host:port" of the client API; nullable */
  char *native_address;  /* "host:port" of the native protocol; nullable (set by ADD_MEMBER only: the
                          * config's nodes keep theirs in the config) */
} DsmMember;

/* Immutable once built and shared (entries carry it to the WAL's worker
 * thread): the reference count is atomic. */
typedef struct _DsmMembership DsmMembership;

/* Membership changes a command may ask for; nothing else changes it. */
#define DSM_MEMBERSHIP_ERROR (dsm_membership_error_quark ())
GQuark dsm_membership_error_quark (void);

typedef enum {
  DSM_MEMBERSHIP_ERROR_INVALID,         /* malformed: duplicate ids, no voter, bad address */
  DSM_MEMBERSHIP_ERROR_UNKNOWN_MEMBER,  /* no member with that id */
  DSM_MEMBERSHIP_ERROR_ID_REUSED,       /* an id below next_id: ids are never reused */
  DSM_MEMBERSHIP_ERROR_NOT_LEARNER,     /* promote: already a voter */
  DSM_MEMBERSHIP_ERROR_LAST_VOTER,      /* remove: the cluster would have no voter */
  DSM_MEMBERSHIP_ERROR_FULL,            /* add: DSM_MAX_NODES members already */
} DsmMembershipError;

/**
 * dsm_membership_new_bootstrap:
 * Returns: (transfer full): every node of the config file as a voter, with
 * its addresses, and next_id one past the largest id.
 */
DsmMembership *dsm_membership_new_bootstrap (const DsmConfig *config);

/**
 * dsm_membership_new:
 * @members: copied; any order (kept sorted by id)
 *
 * Returns: (transfer full): the membership, or NULL with a
 * DSM_MEMBERSHIP_ERROR_INVALID naming the problem: no voter, more than
 * DSM_MAX_NODES members, id 0 or duplicated, an id at or past @next_id,
 * @next_id past DSM_NODE_ID_MAX + 1, an address that is not "host:port".
 */
DsmMembership *dsm_membership_new (const DsmMember *members, guint n_members,
                                   DsmNodeId next_id, GError **error);

DsmMembership *dsm_membership_ref (DsmMembership *membership);
void dsm_membership_unref (DsmMembership *membership);  /* NULL is ignored */

guint dsm_membership_get_n_members (const DsmMembership *membership);
/* Members sorted by id; @i < n_members. (transfer none) */
const DsmMember *dsm_membership_get_member (const DsmMembership *membership, guint i);
/* (transfer none) (nullable) */
const DsmMember *dsm_membership_find (const DsmMembership *membership, DsmNodeId id);
gboolean dsm_membership_is_voter (const DsmMembership *membership, DsmNodeId id);
guint dsm_membership_get_n_voters (const DsmMembership *membership);
/* A strict majority of the voters: n_voters / 2 + 1. */
guint dsm_membership_quorum (const DsmMembership *membership);
/* Every id below it was handed out once, or skipped by an add that named
 * a larger one; none of them is ever handed out (again).  It never
 * decreases, and is at most DSM_NODE_ID_MAX + 1. */
DsmNodeId dsm_membership_get_next_id (const DsmMembership *membership);
/* TRUE when @id is retired: below next_id and not a member, so removed
 * (or skipped, and so never a member): it never takes part again. */
gboolean dsm_membership_was_removed (const DsmMembership *membership, DsmNodeId id);
gboolean dsm_membership_equal (const DsmMembership *a, const DsmMembership *b);

/* How many ids are voters in exactly one of @a and @b (0 or 1 between
 * consecutive configurations: PROTOCOL.md, "Membership changes"). */
guint dsm_membership_voter_difference (const DsmMembership *a, const DsmMembership *b);

/**
 * dsm_membership_check_command:
 * Checks the shape of a membership command (DSM_OP_ADD_MEMBER,
 * REMOVE_MEMBER, PROMOTE_MEMBER): a node id where one is needed, none past
 * DSM_NODE_ID_MAX, addresses that are "host:port".  Needs no membership.
 *
 * Returns: FALSE with a DSM_CODEC_ERROR_INVALID naming the field.
 */
gboolean dsm_membership_check_command (const DsmCommand *cmd, GError **error);

/**
 * dsm_membership_change:
 * @cmd: an add, remove or promote command
 * @member_out: (out) (optional): the id added, removed or promoted (an add
 *   without an id gets next_id)
 *
 * Builds the configuration that @cmd makes of @membership: an add makes a
 * learner with a fresh id (one at or past next_id: never a reused one), a
 * remove drops a member (not the last voter), a promote turns a learner
 * into a voter.  The result differs from @membership by at most one voter.
 *
 * Returns: (transfer full): the new membership, or NULL with a
 * DSM_MEMBERSHIP_ERROR saying why the change is refused.
 */
DsmMembership *dsm_membership_change (const DsmMembership *membership, const DsmCommand *cmd,
                                      DsmNodeId *member_out, GError **error);

/* Appends {"next_id":N,"members":[{"id":N,"role":"voter","peer_address":S,
 * "client_address":S,"native_address":S},...]} (addresses only when set). */
void dsm_membership_write_json (GString *out, const DsmMembership *membership);

/**
 * dsm_membership_from_json:
 * @where: names the object in errors ("entry.membership")
 * Returns: (transfer full): the membership, or NULL with a DSM_CODEC_ERROR
 * naming the field.
 */
DsmMembership *dsm_membership_from_json (JsonNode *node, const char *where, GError **error);

/* Returns: (transfer full): one human line: "voters 1 2 3, learners 4". */
char *dsm_membership_format (const DsmMembership *membership);

/* Checks "host:port": a non-empty printable host, a port 1..65535. */
gboolean dsm_membership_check_address (const char *field, const char *address, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DsmMembership, dsm_membership_unref)

G_END_DECLS
