#!/bin/bash
# The application route (cachet_ccache_register, plain krb5.conf) through MIT's public API:
# every cache operation gives the same transcript on SESSION: as on MIT's own KCM: against
# the same daemon, with and without the MIT extension opcodes (then both clients fall back);
# fork safety (the child never reuses the parent's stream; no socket without FD_CLOEXEC) and
# thread safety (concurrent contexts in one process).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t_ccache_lib.sh"
ccache_prereqs
it_init "SESSION: public API conformance with KCM:, fork, threads"
ccache_env

for ext in yes no; do
    CONF=$T/cachet-ext-$ext.conf
    daemon_config scope=session mit_extensions=$ext
    daemon_start
    in_login "ops-$ext" '
    export KRB5_CONFIG=$PLAIN_CONF
    must "$CCP_PROBE" register
    out "$CCP_PROBE" ops SESSION; [ $? -eq 0 ] || exit 1
    printf "%s\n" "$O" | sed "s/^type SESSION$/type X/" >"$T/ops-session"
    out "$CCP_PROBE" ops KCM; [ $? -eq 0 ] || exit 1
    printf "%s\n" "$O" | sed "s/^type KCM$/type X/" >"$T/ops-kcm"
    if ! diff -u "$T/ops-kcm" "$T/ops-session"; then
        echo "SESSION: and KCM: transcripts differ"
        exit 1
    fi
    grep -q "^retrieve svc/host7 -> 0$" "$T/ops-session" || exit 1
    grep -q "^config probe_key=yes$" "$T/ops-session" || exit 1
    grep -q "^moved creds 1$" "$T/ops-session" || exit 1
    exit 0
    ' || fail "ops transcripts (mit_extensions = $ext)"
    if [ $ext = no ]; then
        for op in RETRIEVE GET_CRED_LIST REPLACE; do
            grep -q "($op) unsupported" "$DAEMON_ERR" ||
                fail "the fallback for $op was not exercised"
        done
    fi
    daemon_stop
done

CONF=$T/cachet.conf
daemon_config scope=session
daemon_start
in_login forkthreads '
export KRB5_CONFIG=$PLAIN_CONF
KRB5_CONFIG=$MODULE_CONF must kinit_as alice
step "fork: child reconnects, parent keeps working, all sockets close-on-exec"
out "$CCP_PROBE" fork SESSION:; [ $? -eq 0 ] || exit 1
has "child ok"; has "parent ok, child ok"
step "threads: 8 threads x 40 rounds, each its own context"
out "$CCP_PROBE" threads SESSION 8 40; [ $? -eq 0 ] || exit 1
has "8 x 40: 0 failures"
exit 0
' || fail "fork/threads"
daemon_stop
it_pass
