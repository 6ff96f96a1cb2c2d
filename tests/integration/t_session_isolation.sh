#!/bin/bash
# scope = session with real kernel audit sessions: two logins of the same uid (nobody) have
# separate collections and default caches; descendants of a login keep its caches after
# setsid, a double fork, nohup and su; another login of the same uid reaches none of them,
# not even by naming KCM:<uid> explicitly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/session_lib.sh"
session_prereqs
it_init "session scope: same uid, two audit sessions"
chmod 0755 "$T"
mkdir -m 1777 "$T/w" # where nobody writes
session_env
setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups test -r "$KRB5_CONFIG" ||
    skip "nobody cannot read $KRB5_CONFIG"
daemon_config scope=session control_socket="$T/control.sock"
daemon_start

# Login A: kinit, then descendants in every shape; then wait until login B has run, and check
# that A still sees only its own tickets.
cat >"$T/a.sh" <<EOF
set -u
echo alice-Secret1 | \$AS kinit alice || exit 10
\$AS klist || exit 11
echo "--- setsid"
\$AS setsid -w klist -s || exit 12
echo "--- double fork + setsid, parent gone"
\$AS sh -c '( setsid sh -c "sleep 0.2; klist -s; echo \\\$? >$T/w/a.dfork" & ) &'
for i in \$(seq 1 100); do [ -s $T/w/a.dfork ] && break; sleep 0.1; done
[ "\$(cat $T/w/a.dfork 2>/dev/null)" = 0 ] || exit 13
echo "--- nohup"
\$AS nohup klist -s >/dev/null 2>&1 || exit 14
if command -v su >/dev/null 2>&1; then
    echo "--- su (root in the login, back to nobody)"
    su -s /bin/sh nobody -c 'klist -s' || exit 15
fi
if command -v sudo >/dev/null 2>&1 && sudo -n -u nobody true 2>/dev/null; then
    echo "--- sudo"
    sudo -u nobody klist -s || exit 16
fi
touch $T/a.ready
for i in \$(seq 1 600); do [ -e $T/b.done ] && break; sleep 0.1; done
echo "--- after login B"
\$AS klist >$T/a.after 2>&1 || exit 17
\$AS klist -l >>$T/a.after 2>&1 || exit 18
exit 0
EOF
echo "+ [login A] $T/a.sh (in the background)"
"$NEWSESSION" -l "$NOBODY_UID" -- bash -c 'cat /proc/self/sessionid >"$1.sid"; exec bash "$1.sh"' \
    _ "$T/a" >"$T/a.out" 2>&1 &
A_PID=$!
for i in $(seq 1 $((CACHET_CLIENT_TIMEOUT * 10))); do
    [ -e "$T/a.ready" ] && break
    kill -0 $A_PID 2>/dev/null || break
    sleep 0.1
done
if [ ! -e "$T/a.ready" ]; then
    wait $A_PID
    rc=$?
    sed 's/^/  | /' "$T/a.out"
    fail "login A failed before its descendants were all checked (status $rc)"
fi
sed 's/^/  | /' "$T/a.out"
SID_A=$(cat "$T/a.sid")
log "login A has audit session $SID_A; its descendants kept access"

# Login B: same uid, another session. Sees nothing of A, even naming A's caches.
in_session b "
set -u
\$AS klist -s && { echo 'B sees a default cache'; exit 20; }
\$AS klist -l
\$AS klist -l | grep -q alice && { echo 'B lists alice'; exit 21; }
\$AS klist -c KCM:$NOBODY_UID && { echo 'B reads KCM:$NOBODY_UID'; exit 22; }
\$AS klist -A -s && exit 23
echo bob-Secret1 | \$AS kinit bob || exit 24
\$AS klist | grep -q 'bob@' || exit 25
\$AS klist -l | grep -q alice && exit 26
exit 0
" || fail "login B (status $?)"
SID_B=$(cat "$T/b.sid")
[ "$SID_A" != "$SID_B" ] || fail "both logins got audit session $SID_A"
touch "$T/b.done"
wait $A_PID || { sed 's/^/  | /' "$T/a.out"; fail "login A after login B (status $?)"; }
sed 's/^/  | /' "$T/a.after"
grep -q "Default principal: $(realm_princ alice)" "$T/a.after" ||
    fail "login A lost its default cache"
if grep -q "bob@" "$T/a.after"; then
    fail "login A sees login B's tickets"
fi

# A third login of nobody sees nothing.
in_session c "\$AS klist -l | grep -q '@' && exit 30; exit 0" || fail "login C sees caches"

# Root's view through cachetctl: two session collections of nobody.
ok "$CACHETCTL" -S "$T/control.sock" list
assert_out_contains "$SID_A"
assert_out_contains "$SID_B"
assert_out_contains "$(realm_princ alice)"
assert_out_contains "$(realm_princ bob)"
daemon_alive
daemon_stop
it_pass
