#!/bin/bash
# trusted_helpers: copies of klist/kinit at paths listed in trusted_helpers, run by nobody
# outside any login (loginuid unset, as rpc.gssd's children are), reach nobody's most recently
# used login session; the same binaries under their usual path are refused, and a helper
# binary run inside another login is just that login.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/session_lib.sh"
session_prereqs
it_init "session scope: trusted helpers"
chmod 0755 "$T"
mkdir -m 0755 "$T/bin"
cp "$(command -v klist)" "$T/bin/klist-helper"
cp "$(command -v kvno)" "$T/bin/kvno-helper"
session_env
daemon_config scope=session control_socket="$T/control.sock" \
    trusted_helpers="$T/bin/klist-helper $T/bin/kvno-helper"
daemon_start
[ "$(cat /proc/self/sessionid)" = 4294967295 ] || skip "this shell has an audit session"

in_session a "echo alice-Secret1 | \$AS kinit alice >/dev/null || exit 50; exit 0" ||
    fail "login A (status $?)"
SID_A=$(cat "$T/a.sid")

echo "--- nobody, no audit session, plain klist: refused"
expect_fail "${AS_NOBODY[@]}" klist
assert_out_contains "permissions"
echo "--- nobody, no audit session, trusted helper: login A's tickets"
ok "${AS_NOBODY[@]}" "$T/bin/klist-helper"
assert_out_contains "Default principal: $(realm_princ alice)"
ok "${AS_NOBODY[@]}" "$T/bin/kvno-helper" host/localhost
ok "${AS_NOBODY[@]}" "$T/bin/klist-helper"
assert_out_contains "host/localhost@$KDC_REALM"

echo "--- root, no audit session, trusted helper: root's own uid only (nothing)"
expect_fail "$T/bin/klist-helper"
assert_out_lacks "alice@"

echo "--- the helper binary inside login B: only login B"
in_session b "
\$AS $T/bin/klist-helper -s && exit 60
echo bob-Secret1 | \$AS kinit bob >/dev/null || exit 61
\$AS $T/bin/klist-helper | grep -q 'bob@' || exit 62
exit 0" || fail "login B (status $?)"

echo "--- login B was used last: the helper now sees login B"
ok "${AS_NOBODY[@]}" "$T/bin/klist-helper"
assert_out_contains "Default principal: $(realm_princ bob)"
assert_out_lacks "alice@"

ok "$CACHETCTL" -S "$T/control.sock" list
assert_out_contains "$SID_A"
grep -q "denied pid .*of uid $NOBODY_UID: no audit session" "$DAEMON_ERR" ||
    fail "no denial line for the plain klist"
daemon_alive
daemon_stop
it_pass
