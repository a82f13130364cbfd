/* core/error.c: the GError domains of the core (see error.h). */
#include "error.h"

G_DEFINE_QUARK (dsm-codec-error-quark, dsm_codec_error)
G_DEFINE_QUARK (dsm-config-error-quark, dsm_config_error)
G_DEFINE_QUARK (dsm-machine-error-quark, dsm_machine_error)
G_DEFINE_QUARK (dsm-consensus-error-quark, dsm_consensus_error)
