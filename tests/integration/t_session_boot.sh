#!/bin/bash
# Session-bound caches live for one boot: with storage = sqlite, a restart under the same boot
# id keeps a login's caches (and the login still reaches them); a restart under another boot
# id (boot_id_file) discards every session-bound collection at start-up, while the
# session-less collection (unsessioned_peers = user) survives.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/session_lib.sh"
session_prereqs
it_init "session scope: boot id binds session caches"
chmod 0755 "$T"
session_env
echo 11111111-2222-3333-4444-555555555555 >"$T/boot_id"
daemon_config scope=session storage=sqlite control_socket="$T/control.sock" \
    unsessioned_peers=user boot_id_file="$T/boot_id"
daemon_start
if grep -q "not available in this build" "$DAEMON_ERR"; then
    skip "sqlite storage not available in this build"
fi

# A login that stays alive across the restarts, so that it can check its caches again.
cat >"$T/a.sh" <<EOF
echo alice-Secret1 | \$AS kinit alice >/dev/null || exit 10
touch $T/a.step1
for i in \$(seq 1 600); do [ -e $T/go2 ] && break; sleep 0.1; done
\$AS klist >$T/a.klist2 2>&1
touch $T/a.step2
for i in \$(seq 1 600); do [ -e $T/go3 ] && break; sleep 0.1; done
\$AS klist >$T/a.klist3 2>&1
touch $T/a.step3
EOF
"$NEWSESSION" -l "$NOBODY_UID" -- bash -c 'cat /proc/self/sessionid >"$1.sid"; exec bash "$1.sh"' \
    _ "$T/a" >"$T/a.out" 2>&1 &
A_PID=$!
wait_file() {
    local i
    for i in $(seq 1 $((CACHET_CLIENT_TIMEOUT * 10))); do
        [ -e "$1" ] && return 0
        kill -0 $A_PID 2>/dev/null || break
        sleep 0.1
    done
    cat "$T/a.out"
    fail "login A did not reach $(basename "$1")"
}
wait_file "$T/a.step1"
SID_A=$(cat "$T/a.sid")
ok_kinit bob # session-less collection of root
ok "$CACHETCTL" -S "$T/control.sock" list
assert_out_contains "$(realm_princ alice)"

echo "--- restart, same boot"
daemon_stop
daemon_start
touch "$T/go2"
wait_file "$T/a.step2"
sed 's/^/  | /' "$T/a.klist2"
grep -q "Default principal: $(realm_princ alice)" "$T/a.klist2" ||
    fail "login A lost its cache across a restart in the same boot"
ok "$CACHETCTL" -S "$T/control.sock" list
assert_out_contains "$SID_A"

echo "--- restart, new boot id"
daemon_stop
echo 99999999-2222-3333-4444-555555555555 >"$T/boot_id"
daemon_start
grep -q "discarded 1 session-bound collections of an earlier boot" "$DAEMON_ERR" ||
    fail "no discard logged at start-up"
touch "$T/go3"
wait_file "$T/a.step3"
sed 's/^/  | /' "$T/a.klist3"
if grep -q "alice@" "$T/a.klist3"; then
    fail "a session cache of the earlier boot was served"
fi
ok "$CACHETCTL" -S "$T/control.sock" list
assert_out_lacks "$(realm_princ alice)"
assert_out_contains "$(realm_princ bob)"
ok klist
assert_out_contains "Default principal: $(realm_princ bob)"

echo "--- and the discard was persisted"
daemon_stop
daemon_start
ok "$CACHETCTL" -S "$T/control.sock" list
assert_out_lacks "$(realm_princ alice)"
grep -q "discarded" "$DAEMON_ERR" && fail "discarded again: the first discard was not persisted"
wait $A_PID
daemon_alive
daemon_stop
it_pass
