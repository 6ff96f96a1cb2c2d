#!/bin/bash
# cachetctl over the root-only control socket: status, list (never a secret), purge --expired,
# --uid, --session, reload; table and --json output; the socket is 0600 and refuses non-root
# peers even when its mode is opened up; bad usage exits 2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/session_lib.sh"
session_prereqs
it_init "cachetctl"
chmod 0755 "$T"
session_env
CTL=("$CACHETCTL" -S "$T/control.sock")
daemon_config scope=session control_socket="$T/control.sock" unsessioned_peers=user
daemon_start

json_ok() {
    printf '%s\n' "$OUT" | python3 -m json.tool >/dev/null || fail "not JSON: $OUT"
}
json_get() { # json_get PYTHON-EXPR (on d = the parsed $OUT)
    printf '%s\n' "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

echo "--- empty daemon"
ok "${CTL[@]}" status
assert_out_contains "scope:                 session"
assert_out_contains "storage:               memory"
ok "${CTL[@]}" --json status
json_ok
assert_eq "$(json_get 'd["caches"]')" 0 "caches"
ok "${CTL[@]}" list
ok "${CTL[@]}" --json list
json_ok
assert_eq "$(json_get 'len(d["collections"])')" 0 "collections"

echo "--- caches in two logins and one session-less collection"
in_session a "echo alice-Secret1 | \$AS kinit alice >/dev/null && \$AS kvno host/localhost >/dev/null" ||
    fail "login A"
in_session b "echo bob-Secret1 | \$AS kinit bob >/dev/null" || fail "login B"
SID_A=$(cat "$T/a.sid")
SID_B=$(cat "$T/b.sid")
ok_kinit carol -l 3s
ok_kinit doug -c KCM:0:second
ok "${CTL[@]}" status
assert_out_contains "caches:                4"
assert_out_contains "session collections:   2"
ok "${CTL[@]}" --json status
json_ok
assert_eq "$(json_get 'd["caches"], d["collections"], d["session_collections"]')" "4 3 2" \
    "status counts"
[ "$(json_get 'd["memory"]["mapped_bytes"] > 0')" = True ] || fail "no memory stats"
ok "${CTL[@]}" list
assert_out_contains "$(realm_princ alice)"
assert_out_contains "$(realm_princ carol)"
assert_out_contains "0:second"
ok "${CTL[@]}" --json list
json_ok
assert_eq "$(json_get '[ (c["uid"], c["session"], len(c["caches"])) for c in d["collections"] ]')" \
    "[(0, None, 2), ($NOBODY_UID, $SID_A, 1), ($NOBODY_UID, $SID_B, 1)]" "collections"
assert_eq "$(json_get '[c["caches"][0]["credentials"] for c in d["collections"] if c["session"] == '"$SID_A"']')" \
    "[3]" "login A's credentials (TGT, service ticket, config entry)"
# Never a secret: no key or ticket bytes, only names, principals, counts, times.
printf '%s\n' "$OUT" | grep -Eqi '"(key|ticket|keyblock)"' && fail "list output has secret fields"

echo "--- purge --expired"
sleep 4
ok "${CTL[@]}" purge --expired
assert_out_contains "expired credentials removed"
[ "${OUT%% *}" -ge 1 ] || fail "nothing expired was removed"
ok "${CTL[@]}" --json list
assert_out_lacks "$(realm_princ carol)"
assert_out_contains "$(realm_princ doug)"

echo "--- purge --session"
ok "${CTL[@]}" --json purge --session "$SID_A"
json_ok
assert_eq "$(json_get 'd["removed"]')" 1 "caches removed for session $SID_A"
ok "${CTL[@]}" list
assert_out_lacks "$(realm_princ alice)"
assert_out_contains "$(realm_princ bob)"
in_session b2 "\$AS klist -s && exit 1; exit 0" || fail "a new login sees something"

echo "--- purge --uid"
ok "${CTL[@]}" purge --uid "$NOBODY_UID"
assert_out_contains "1 caches removed"
ok "${CTL[@]}" list
assert_out_lacks "$(realm_princ bob)"
assert_out_contains "$(realm_princ doug)"

echo "--- reload"
ok "${CTL[@]}" reload
wait_log "configuration reloaded" 1 "reload not logged"

echo "--- root only"
mode=$(stat -c %a "$T/control.sock")
assert_eq "$mode" 600 "control socket mode"
chmod 0666 "$T/control.sock"
expect_fail "${AS_NOBODY[@]}" "${CTL[@]}" status
grep -q "control socket: refusing uid $NOBODY_UID" "$DAEMON_ERR" || fail "non-root peer not logged"

echo "--- usage errors"
run "${CTL[@]}" purge
assert_eq $? 2 "purge without a selector"
run "${CTL[@]}" purge --uid x
assert_eq $? 2 "purge --uid x"
run "${CTL[@]}" frobnicate
assert_eq $? 2 "unknown command"
run "$CACHETCTL" -S "$T/nonexistent.sock" status
assert_eq $? 1 "no daemon"
daemon_alive
daemon_stop
it_pass
