# Helpers for the session-scope tests (sourced after lib.sh).
#
# Real kernel audit sessions: t_newsession writes /proc/self/loginuid, so the kernel gives the
# command a fresh session id, exactly as pam_loginuid does at login. That is possible only while
# our own loginuid is unset (or with CAP_AUDIT_CONTROL and a mutable loginuid).

NEWSESSION=$HELPERS/t_newsession
CACHETCTL=${CACHETCTL:-$TOP_BUILDDIR/src/tools/cachetctl}

# session_prereqs: skip with a reason unless we can make real sessions and switch uids.
session_prereqs() {
    [ "$(id -u)" -eq 0 ] || skip "needs root (to run clients as another uid and set loginuid)"
    id nobody >/dev/null 2>&1 || skip "no 'nobody' user"
    [ -r /proc/self/loginuid ] || skip "no /proc/self/loginuid (kernel without CONFIG_AUDIT)"
    local lu
    lu=$(cat /proc/self/loginuid)
    [ "$lu" = 4294967295 ] ||
        skip "loginuid is already set ($lu) for this test run: cannot create fresh audit sessions"
    [ -x "$NEWSESSION" ] || hard_error "helper not built: $NEWSESSION (make check builds it)"
    if [ "$(cat /proc/sys/kernel/audit_loginuid_immutable 2>/dev/null || echo 0)" != 0 ]; then
        skip "loginuid is immutable on this system"
    fi
    "$NEWSESSION" -- true || skip "cannot write /proc/self/loginuid here"
    NOBODY_UID=$(id -u nobody)
    NOBODY_GID=$(id -g nobody)
    AS_NOBODY=(setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups)
    command -v setpriv >/dev/null 2>&1 || skip "setpriv not installed"
}

# in_session NAME SCRIPT: run the bash SCRIPT as root in a fresh audit session (loginuid =
# nobody's uid, like a login of nobody that then uses su); its output goes to $T/NAME.out and
# its session id to $T/NAME.sid. Returns the script's status.
in_session() {
    local name=$1 script=$2 rc
    printf '%s\n' "$script" >"$T/$name.sh"
    echo "+ [session $name] $(tr '\n' ';' <"$T/$name.sh" | cut -c1-300)"
    timeout "$CACHET_CLIENT_TIMEOUT" "$NEWSESSION" -l "$NOBODY_UID" -- \
        bash -c 'cat /proc/self/sessionid >"$1.sid"; exec bash "$1.sh"' _ "$T/$name" \
        >"$T/$name.out" 2>&1
    rc=$?
    sed 's/^/  | /' "$T/$name.out"
    [ $rc -ne 124 ] || fail "session $name timed out"
    return $rc
}

# Inside session scripts: "$AS" runs a command as nobody (same session), "$PW" is a password.
session_env() {
    export AS="setpriv --reuid=$NOBODY_UID --regid=$NOBODY_GID --clear-groups"
    export KRB5_CONFIG KRB5_KDC_PROFILE
}

# ctl ARGS...: cachetctl on the test's control socket; output in $OUT.
ctl() {
    run "$CACHETCTL" -S "$T/control.sock" "$@"
}
