#!/bin/bash
# scope = session, peers without an audit session (loginuid unset: this test process itself):
# unsessioned_peers = deny refuses every request with KRB5_FCC_PERM and logs one line per
# connection naming the pid and the exe; after `cachetctl reload` with unsessioned_peers = user
# they get a collection of their own, which no login of the same uid sees.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/session_lib.sh"
session_prereqs
it_init "session scope: peers without an audit session"
chmod 0755 "$T"
session_env
daemon_config scope=session control_socket="$T/control.sock"
daemon_start

[ "$(cat /proc/self/sessionid)" = 4294967295 ] || skip "this shell has an audit session"
expect_fail klist -l
assert_out_contains "permissions"
if kinit_as alice; then
    fail "kinit without an audit session succeeded"
fi
n=$(grep -c "denied pid .*(/usr/bin/klist\|denied pid .*klist) of uid 0: no audit session" "$DAEMON_ERR")
[ "$n" -eq 1 ] || fail "expected one denial line for klist's connection, got $n"
grep -q "unsessioned_peers = deny" "$DAEMON_ERR" || fail "denial line does not name the option"
# One line per connection, not per request: klist -l sent several requests on one connection.
n=$(grep -c "no audit session" "$DAEMON_ERR")
log "$n denial lines for 2 client runs"
[ "$n" -le 4 ] || fail "denials logged per request ($n lines)"

# Switch to unsessioned_peers = user without a restart.
sed -i '/^unsessioned_peers/d' "$CONF"
echo "unsessioned_peers = user" >>"$CONF"
ok "$CACHETCTL" -S "$T/control.sock" reload
wait_log "configuration reloaded" 1 "the reload was not logged"
ok_kinit alice
ok klist
assert_out_contains "Default principal: $(realm_princ alice)"

# A login of root (same uid) does not see the session-less collection, and vice versa.
in_session r "klist -s && exit 40; echo bob-Secret1 | kinit bob >/dev/null || exit 41; exit 0" ||
    fail "root's login (status $?)"
ok klist
assert_out_contains "Default principal: $(realm_princ alice)"
assert_out_lacks "bob@"
ok "$CACHETCTL" -S "$T/control.sock" list
assert_out_contains "$(realm_princ alice)"
assert_out_contains "$(realm_princ bob)"
daemon_alive
daemon_stop
it_pass
