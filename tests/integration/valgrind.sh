#!/bin/bash
# Leak and memory-error check of the daemon: run cachetd under valgrind through
# a kinit/klist/kvno/kswitch/kdestroy flow plus malformed input, stop it with
# SIGTERM and require exit status 0 (valgrind exits 99 on any error or
# definite leak). Not part of `make check` (slow); scripts/test.sh runs it
# against the normal (non-sanitizer) build:
#     CACHETD=_build/src/cachetd bash tests/integration/valgrind.sh
. "$(dirname "$0")/lib.sh"
need_cmd valgrind
CACHET_READY_TIMEOUT=120

valgrind_summary() {
    local f=$T/valgrind-$VG_PID.log
    [ -f "$f" ] || fail "no valgrind log $f"
    grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost' "$f" |
        sed 's/^/  valgrind: /'
    grep -q 'ERROR SUMMARY: 0 errors' "$f" || fail "valgrind reported errors ($f)"
}

it_init "cachetd under valgrind"
# Valgrind's report goes to $T/valgrind-<pid>.log (printed on failure).
VALGRIND_OPTS_CACHET="--leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
--show-leak-kinds=definite --num-callers=30 --track-origins=yes --log-file=$T/valgrind-%p.log"
# A libtool wrapper script would make valgrind check /bin/sh instead.
if [ -f "$CACHETD" ] && [ "$(head -c 2 "$CACHETD")" = "#!" ]; then
    [ -x "$TOP_BUILDDIR/libtool" ] || hard_error "$CACHETD is a script and no libtool to run it"
    CACHETD_WRAPPER="$TOP_BUILDDIR/libtool --mode=execute valgrind $VALGRIND_OPTS_CACHET"
else
    CACHETD_WRAPPER="valgrind $VALGRIND_OPTS_CACHET"
fi

for storage in memory sqlite; do
    CONF=$T/cachet-$storage.conf
    daemon_config storage="$storage" log_level=debug
    daemon_start
    VG_PID=$DAEMON_PID
    ok_kinit alice
    ok klist
    ok kvno host/localhost
    ok kvno host/localhost
    ok_kinit bob
    ok klist -l
    ok klist -A
    ok kswitch -p alice
    ok klist
    ok python3 "$IT_DIR/kcmraw.py" "$SOCK" badinput
    ok kdestroy -p "$(realm_princ bob)"
    ok_kinit carol -c KCM:$MYUID:extra
    if [ "$storage" = sqlite ]; then
        # Restart on the same state: exercises loading the database.
        daemon_alive
        daemon_stop
        valgrind_summary
        daemon_start
        VG_PID=$DAEMON_PID
        ok klist -l
        assert_eq "$(klist_l_count)" 2 "caches after restart"
        ok klist -A
        ok kvno host/localhost
    fi
    ok kdestroy
    ok kdestroy -A
    run klist -l
    daemon_alive
    daemon_stop
    valgrind_summary
done
it_pass
