/* core/error.h: the GError domains of the core.  GError is for the world
 * going wrong (bad input, bad config, a command the machine refuses);
 * bugs are assertions.  net/ and sim/ add their own domains. */
#pragma once

#include <glib.h>

#include "json.h"

G_BEGIN_DECLS

/* Serialization: anything that does not decode into a valid message. */
#define DSM_CODEC_ERROR (dsm_codec_error_quark ())
GQuark dsm_codec_error_quark (void);

typedef enum {
  DSM_CODEC_ERROR_SYNTAX,     /* not JSON, trailing garbage, too deep */
  DSM_CODEC_ERROR_TOO_LARGE,  /* input or a field over its limit */
  DSM_CODEC_ERROR_UNKNOWN_TYPE,
  DSM_CODEC_ERROR_MISSING,    /* a required field is absent */
  DSM_CODEC_ERROR_TYPE,       /* a field has the wrong JSON type or range */
  DSM_CODEC_ERROR_INVALID,    /* well-typed but inconsistent */
} DsmCodecError;

/* Bad cluster configuration or machine definition. */
#define DSM_CONFIG_ERROR (dsm_config_error_quark ())
GQuark dsm_config_error_quark (void);

typedef enum {
  DSM_CONFIG_ERROR_PARSE,     /* not JSON */
  DSM_CONFIG_ERROR_MISSING,   /* a required field is absent */
  DSM_CONFIG_ERROR_TYPE,      /* wrong JSON type */
  DSM_CONFIG_ERROR_RANGE,     /* a number out of its range */
  DSM_CONFIG_ERROR_INVALID,   /* inconsistent values (duplicate ids, min > max...) */
  DSM_CONFIG_ERROR_UNKNOWN,   /* a key the schema does not have (typo guard) */
} DsmConfigError;

/* The JSON layer's errors (core/json.h) in these two domains: configs
 * and definitions, and the wire. */
extern const DsmJsonErrors dsm_config_json_errors;
extern const DsmJsonErrors dsm_codec_json_errors;

/* A command a machine definition refuses. */
#define DSM_MACHINE_ERROR (dsm_machine_error_quark ())
GQuark dsm_machine_error_quark (void);

typedef enum {
  DSM_MACHINE_ERROR_INVALID_TRANSITION, /* not allowed from the current state */
  DSM_MACHINE_ERROR_UNKNOWN_STATE,      /* the definition has no such state */
  DSM_MACHINE_ERROR_UNKNOWN_DEFINITION, /* no definition of that name */
  DSM_MACHINE_ERROR_DEFINITION_MISMATCH,/* instance exists with another definition */
  DSM_MACHINE_ERROR_STATE_MISMATCH,     /* compare-and-set `from` differs */
  DSM_MACHINE_ERROR_CORRUPT,            /* a snapshot that does not restore */
  DSM_MACHINE_ERROR_REVISION_MISMATCH,  /* compare-and-set `if_revision` differs */
  DSM_MACHINE_ERROR_BAD_PAYLOAD,        /* a payload the definition refuses */
} DsmMachineError;

/* What consensus tells a client that is not a machine verdict. */
#define DSM_CONSENSUS_ERROR (dsm_consensus_error_quark ())
GQuark dsm_consensus_error_quark (void);

typedef enum {
  DSM_CONSENSUS_ERROR_TIMEOUT,    /* not committed within consensus_timeout_ms: outcome unknown */
  DSM_CONSENSUS_ERROR_NOT_LEADER, /* and no leader to forward to */
  DSM_CONSENSUS_ERROR_DELIVERY,   /* a message could not be delivered after its retries */
  DSM_CONSENSUS_ERROR_OVERLOADED, /* a bounded queue is full */
  DSM_CONSENSUS_ERROR_DURABLE_STATE, /* persisted state handed back is inconsistent */
  DSM_CONSENSUS_ERROR_BUSY,       /* a leadership transfer is already under way */
} DsmConsensusError;

G_END_DECLS
