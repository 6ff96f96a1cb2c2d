#!/bin/bash
# SESSION: on a host without audit sessions (no CONFIG_AUDIT, or a container where loginuid
# cannot be set): cachetd grants the session capability by the logind session the client's
# cgroup puts it in (user-<uid>.slice/session-<ID>.scope), provided logind (a private bus with
# dbusmock's logind template) lists that session for the client's uid. Checks:
# - a login in session c7 gets the capability and uses its caches with the unchanged tools;
# - a process in no session scope, or in a scope logind does not list, is refused;
# - a second keyring in the same session does not get a second capability;
# - SessionRemoved wipes the session's caches and its capability: the login is cut off.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t_ccache_lib.sh"
. "$(dirname "$0")/logind_lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root (to place processes in session cgroups)"
command -v keyctl >/dev/null 2>&1 || skip "keyctl not installed (keyutils)"
keyctl session - true >/dev/null 2>&1 || skip "cannot join a new session keyring (keyctl session)"
SID_SELF=$(cat /proc/self/sessionid 2>/dev/null || echo 4294967295)
[ "$SID_SELF" = 4294967295 ] ||
    skip "this run is in audit session $SID_SELF, which no child can leave: a client without an audit session cannot be made here"
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$CG2" ] || skip "no cgroup2 hierarchy mounted"
[ -f "$CCP_SO" ] || hard_error "library not built: $CCP_SO"
logind_prereqs
it_init "SESSION: capability by logind session when there is no audit session"
chmod 0755 "$T"

TOPCG=$CG2/cachet-test-$$.slice
USERCG=$TOPCG/user-0.slice
mkdir "$TOPCG" 2>/dev/null || skip "cannot create cgroups under $CG2"
mkdir -p "$USERCG/session-c7.scope" "$USERCG/session-c8.scope" ||
    hard_error "cannot create session cgroups under $USERCG"
LOGINS=()
cleanup_cgroups() {
    local d p
    for d in "$USERCG"/session-*.scope; do
        # Whatever is still in there goes back to the root cgroup so the directories can go.
        for p in $(cat "$d/cgroup.procs" 2>/dev/null); do
            echo "$p" >"$CG2/cgroup.procs" 2>/dev/null
        done
        rmdir "$d" 2>/dev/null
    done
    rmdir "$USERCG" "$TOPCG" 2>/dev/null
}
trap 'rc=$?; kill "${BUS_PIDS[@]}" "${LOGINS[@]}" 2>/dev/null; wait "${LOGINS[@]}" 2>/dev/null; cleanup_cgroups; (exit $rc); _it_cleanup' EXIT

# in_scope NAME SCOPE SCRIPT: run SCRIPT (bash, after the SESSION: prelude) with a new session
# keyring inside cgroup $USERCG/SCOPE (or, with SCOPE "-", where the test itself runs); output
# in $T/NAME.out. In the background with "&" as the 4th argument (sets LOGIN_PID).
in_scope() {
    local name=$1 scope=$2 script=$3 bg=${4:-} procs rc
    procs=$USERCG/$scope/cgroup.procs
    [ "$scope" != - ] || procs=/dev/null
    { ccache_prelude
      echo '[ "$(cat /proc/self/sessionid 2>/dev/null || echo 4294967295)" = 4294967295 ] || { echo "has an audit session"; exit 1; }'
      printf '%s\n' "$script"; } >"$T/$name.sh"
    echo "+ [$name in ${scope}${bg:+, background}]"
    if [ -n "$bg" ]; then
        bash -c 'echo $$ >"$1" || exit 77; exec keyctl session - bash "$2.sh"' _ "$procs" \
            "$T/$name" >"$T/$name.out" 2>&1 &
        LOGIN_PID=$!
        LOGINS+=("$LOGIN_PID")
        return 0
    fi
    timeout "$CACHET_CLIENT_TIMEOUT" bash -c \
        'echo $$ >"$1" || exit 77; exec keyctl session - bash "$2.sh"' _ "$procs" "$T/$name" \
        >"$T/$name.out" 2>&1
    rc=$?
    sed -e '/^Joined session keyring/d' -e 's/^/  | /' "$T/$name.out"
    [ $rc -ne 124 ] || fail "$name timed out"
    [ $rc -ne 77 ] || hard_error "cannot move a process into $USERCG/$scope"
    return $rc
}

bus_start
export DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDR
daemon_config scope=session logind_reconnect_interval=1
daemon_start
wait_log "logind: connected to the system bus"
ccache_env
ALICE=$(realm_princ alice)
BOB=$(realm_princ bob)
export ALICE BOB
KEY_C7=$((0x80000000 + 7))

mock add c7 0 0 $$
mock new c7
wait_log "logind session c7: uid 0, no audit session (session key $KEY_C7)"

in_scope a session-c7.scope '
step "login in logind session c7 without an audit session: kinit, klist"
must kinit_as alice
out must klist; has "$ALICE"
keyctl search @s user cachet:session:0 >/dev/null || { echo "no capability key in @s"; exit 1; }
touch "$T/a.ready"
for i in $(seq 1 600); do [ -e "$T/logout" ] && break; sleep 0.1; done
[ -e "$T/logout" ] || { echo "no logout signal"; exit 1; }
step "after logout: the caches and the capability are gone"
out klist; rc=$?
[ $rc -ne 0 ] || { echo "klist still worked after logout"; exit 1; }
lacks "$ALICE"
exit 0
' "&"
A_PID=$LOGIN_PID
wait_file "$T/a.ready" || { sed 's/^/  | /' "$T/a.out"; fail "login a did not get ready"; }
sed -e '/^Joined session keyring/d' -e 's/^/  | /' "$T/a.out"
grep -q "session capability granted to uid 0 (pid [0-9]*) for session $KEY_C7" "$DAEMON_ERR" ||
    fail "no grant for session $KEY_C7 in the daemon log"

in_scope b - '
step "no session scope, no audit session: refused with a clear message"
out kinit_as bob; rc=$?
[ $rc -ne 0 ] || { echo "kinit succeeded outside any session"; exit 1; }
has "not in a login session"
out klist -l; lacks "$ALICE"
exit 0
' || fail "process outside any session was not refused"
wait_log "refused to uid 0 (pid [0-9]*): no audit session, and its cgroup is in no login session of its uid"

in_scope c session-c8.scope '
step "session scope c8, which logind does not list: refused"
out kinit_as bob; rc=$?
[ $rc -ne 0 ] || { echo "kinit succeeded in an unknown session"; exit 1; }
out klist -l; lacks "$ALICE"
exit 0
' || fail "process in an unlisted session scope was not refused"
wait_log "no audit session, and logind does not list the session its cgroup names"

in_scope d session-c7.scope '
step "a second session keyring inside c7: no second capability, no access"
out klist; rc=$?
[ $rc -ne 0 ] || { echo "a new keyring in c7 reached the caches"; exit 1; }
lacks "$ALICE"
exit 0
' || fail "second keyring in session c7 was not refused"
wait_log "session capability refused to uid 0 (pid [0-9]*): session $KEY_C7 already has one"

echo "--- logout: SessionRemoved(c7) wipes c7's caches and capability"
mock removed c7
wait_log "logind session c7 (session key $KEY_C7) ended (SessionRemoved): 1 caches wiped"
touch "$T/logout"
wait $A_PID
rc=$?
sed -e 's/^/  | /' "$T/a.out" | sed -n '/after logout/,$p'
[ $rc -eq 0 ] || fail "login a failed after logout (status $rc)"
daemon_alive
daemon_stop
it_pass
