#!/bin/bash
# Collection semantics through the public krb5 API (helpers/t_collection.c).
. "$(dirname "$0")/lib.sh"
it_init "ccache collection semantics (t_collection)"
[ -x "$HELPERS/t_collection" ] || hard_error "helper not built: $HELPERS/t_collection"
daemon_start
ok "$HELPERS/t_collection" KCM: "$KDC_REALM"
daemon_alive
daemon_stop
it_pass
