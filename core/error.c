/* core/error.c: the GError domains of the core (see error.h). */
#include "error.h"

G_DEFINE_QUARK (dsm-codec-error-quark, dsm_codec_error)
G_DEFINE_QUARK (dsm-config-error-quark, dsm_config_error)
G_DEFINE_QUARK (dsm-machine-error-quark, dsm_machine_error)
G_DEFINE_QUARK (dsm-consensus-error-quark, dsm_consensus_error)

const DsmJsonErrors dsm_config_json_errors = {
  dsm_config_error_quark,
  {
    [DSM_JSON_ERROR_SYNTAX] = DSM_CONFIG_ERROR_PARSE,
    [DSM_JSON_ERROR_DUPLICATE] = DSM_CONFIG_ERROR_PARSE,
    [DSM_JSON_ERROR_TOO_DEEP] = DSM_CONFIG_ERROR_PARSE,
    [DSM_JSON_ERROR_TOO_LARGE] = DSM_CONFIG_ERROR_RANGE,
    [DSM_JSON_ERROR_MISSING] = DSM_CONFIG_ERROR_MISSING,
    [DSM_JSON_ERROR_TYPE] = DSM_CONFIG_ERROR_TYPE,
    [DSM_JSON_ERROR_RANGE] = DSM_CONFIG_ERROR_RANGE,
    [DSM_JSON_ERROR_CHOICE] = DSM_CONFIG_ERROR_INVALID,
    [DSM_JSON_ERROR_UNKNOWN] = DSM_CONFIG_ERROR_UNKNOWN,
    [DSM_JSON_ERROR_INVALID] = DSM_CONFIG_ERROR_INVALID,
  },
};

/* The wire has no RANGE: a number out of range is the wrong TYPE there. */
const DsmJsonErrors dsm_codec_json_errors = {
  dsm_codec_error_quark,
  {
    [DSM_JSON_ERROR_SYNTAX] = DSM_CODEC_ERROR_SYNTAX,
    [DSM_JSON_ERROR_DUPLICATE] = DSM_CODEC_ERROR_SYNTAX,
    [DSM_JSON_ERROR_TOO_DEEP] = DSM_CODEC_ERROR_SYNTAX,
    [DSM_JSON_ERROR_TOO_LARGE] = DSM_CODEC_ERROR_TOO_LARGE,
    [DSM_JSON_ERROR_MISSING] = DSM_CODEC_ERROR_MISSING,
    [DSM_JSON_ERROR_TYPE] = DSM_CODEC_ERROR_TYPE,
    [DSM_JSON_ERROR_RANGE] = DSM_CODEC_ERROR_TYPE,
    [DSM_JSON_ERROR_CHOICE] = DSM_CODEC_ERROR_TYPE,
    [DSM_JSON_ERROR_UNKNOWN] = DSM_CODEC_ERROR_INVALID,
    [DSM_JSON_ERROR_INVALID] = DSM_CODEC_ERROR_INVALID,
  },
};
