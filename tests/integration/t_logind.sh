#!/bin/bash
# logind over a private D-Bus with python3-dbusmock's logind template: SessionNew makes cachetd
# read the session's Audit and Leader properties; SessionRemoved wipes exactly that session's
# caches (wipe_on_logout); with wipe_on_leader_exit the leader's exit wipes; killing the bus
# does not stop cachetd, and a bus that comes back is used again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/session_lib.sh"
session_prereqs
. "$(dirname "$0")/logind_lib.sh"
logind_prereqs
it_init "logind: session wipes over a private bus"
chmod 0755 "$T"
session_env

LEADERS=()
trap 'rc=$?; kill "${BUS_PIDS[@]}" "${LEADERS[@]}" 2>/dev/null; (exit $rc); _it_cleanup' EXIT

# login NAME USER: a login of nobody that kinits USER; sets SID_<NAME>.
login() {
    in_session "$1" "echo $2-Secret1 | \$AS kinit $2 >/dev/null" || fail "login $1: kinit $2"
    eval "SID_$1=\$(cat \"\$T/$1.sid\")"
}

has_session() {
    "$CACHETCTL" -S "$T/control.sock" --json list | grep -q "\"session\": $1,"
}

bus_start
export DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDR
daemon_config scope=session control_socket="$T/control.sock" logind_reconnect_interval=1
daemon_start
wait_log "logind: connected to the system bus"

login a alice
login b bob
sleep 1000 &
LEADERS+=($!)
LEADER_A=$!
sleep 1000 &
LEADERS+=($!)
LEADER_B=$!
mock add "$SID_a" "$NOBODY_UID" "$SID_a" "$LEADER_A"
mock new "$SID_a"
mock add "$SID_b" "$NOBODY_UID" "$SID_b" "$LEADER_B"
mock new "$SID_b"
wait_log "logind session $SID_a: uid $NOBODY_UID, audit session $SID_a, leader pid $LEADER_A"
wait_log "logind session $SID_b: uid $NOBODY_UID, audit session $SID_b, leader pid $LEADER_B"
ok "$CACHETCTL" -S "$T/control.sock" list
assert_out_contains "$(realm_princ alice)"
assert_out_contains "$(realm_princ bob)"
ok "$CACHETCTL" -S "$T/control.sock" status
assert_out_contains "2 (bus connected)"

echo "--- SessionRemoved for login A wipes A, and only A"
mock removed "$SID_a"
wait_log "logind session $SID_a (audit session $SID_a) ended (SessionRemoved): 1 caches wiped"
ok "$CACHETCTL" -S "$T/control.sock" list
assert_out_lacks "$(realm_princ alice)"
assert_out_contains "$(realm_princ bob)"
has_session "$SID_b" || fail "login B's collection is gone"
has_session "$SID_a" && fail "login A's collection is still there"

echo "--- wipe_on_leader_exit = yes (reload): login B's leader exits"
echo "wipe_on_leader_exit = yes" >>"$CONF"
ok "$CACHETCTL" -S "$T/control.sock" reload
wait_log "configuration reloaded"
kill "$LEADER_B"
wait "$LEADER_B" 2>/dev/null
wait_log "logind session $SID_b (audit session $SID_b) lost its leader"
has_session "$SID_b" && fail "login B's collection survived its leader"

echo "--- the bus goes away: cachetd keeps serving"
kill "$MOCK_PID" "$BUS_PID"
wait "$MOCK_PID" "$BUS_PID" 2>/dev/null
wait_log "logind: system bus unavailable"
daemon_alive
login c carol
ok "$CACHETCTL" -S "$T/control.sock" status
assert_out_contains "(bus not connected)"

echo "--- the bus comes back: cachetd reconnects and wipes again"
bus_start
wait_log "logind: connected to the system bus" 2
login d doug
mock add "$SID_d" "$NOBODY_UID" "$SID_d" "$$"
mock new "$SID_d"
wait_log "logind session $SID_d: uid $NOBODY_UID, audit session $SID_d"
has_session "$SID_d" || fail "login D has no collection"
mock removed "$SID_d"
wait_log "logind session $SID_d (audit session $SID_d) ended (SessionRemoved): 1 caches wiped"
has_session "$SID_d" && fail "login D's collection survived SessionRemoved"
has_session "$SID_c" || fail "login C (never announced) lost its collection"
daemon_alive
daemon_stop
it_pass
