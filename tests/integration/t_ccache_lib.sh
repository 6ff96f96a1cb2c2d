# Helpers for the SESSION ccache type tests (sourced after lib.sh; not a test itself).
#
# The unchanged MIT tools load libcachet-ccache through a krb5.conf whose only line is
#     module <build>/src/ccache-plugin/.libs/libcachet-ccache.so.0:$T/krb5.conf
# and use KRB5CCNAME=SESSION:. A "login" is a child that writes /proc/self/loginuid (the
# kernel gives it a fresh audit session, as pam_loginuid does) and joins a new anonymous
# session keyring (as pam_keyinit does), then runs a bash script.

CCP_SO=$TOP_BUILDDIR/src/ccache-plugin/.libs/libcachet-ccache.so.0
CCP_PROBE=$TOP_BUILDDIR/src/ccache-plugin/ccp-probe

# ccache_prereqs: skip with a reason unless logins can be made here.
ccache_prereqs() {
    [ "$(id -u)" -eq 0 ] || skip "needs root (to set loginuid for fresh audit sessions)"
    command -v keyctl >/dev/null 2>&1 || skip "keyctl not installed (keyutils)"
    [ -r /proc/self/loginuid ] || skip "no /proc/self/loginuid (kernel without CONFIG_AUDIT)"
    if [ "$(cat /proc/sys/kernel/audit_loginuid_immutable 2>/dev/null || echo 0)" != 0 ]; then
        skip "loginuid is immutable on this system"
    fi
    bash -c 'echo 0 >/proc/self/loginuid' 2>/dev/null ||
        skip "cannot write /proc/self/loginuid here (loginuid set, no CAP_AUDIT_CONTROL?)"
    keyctl session - true >/dev/null 2>&1 || skip "cannot join a new session keyring (keyctl session)"
    [ -f "$CCP_SO" ] || hard_error "library not built: $CCP_SO"
    [ -x "$CCP_PROBE" ] || hard_error "probe not built: $CCP_PROBE"
    case $CCP_SO in *:*) skip "build path contains ':' (the krb5.conf module path cannot)" ;; esac
}

# ccache_env: the module krb5.conf (after it_init wrote $T/krb5.conf) and the sanitizer
# runtime for tools that dlopen an instrumented library.
ccache_env() {
    PLAIN_CONF=$KRB5_CONFIG
    MODULE_CONF=$T/krb5-module.conf
    printf 'module %s:%s\n' "$CCP_SO" "$PLAIN_CONF" >"$MODULE_CONF"
    chmod 0644 "$MODULE_CONF"
    CCP_PRELOAD=
    local lib path
    for lib in $(readelf -d "$CCP_SO" 2>/dev/null | sed -n 's/.*NEEDED.*\[\(lib\(asan\|ubsan\)[^]]*\)\].*/\1/p'); do
        path=$(${CC:-gcc} -print-file-name="$lib" 2>/dev/null)
        [ -f "$path" ] && CCP_PRELOAD="${CCP_PRELOAD:+$CCP_PRELOAD:}$path"
    done
    if [ -n "$CCP_PRELOAD" ]; then
        # Sanitizer build: the unchanged MIT tools must load the sanitizer runtime before they
        # dlopen the instrumented library. Wrappers early in PATH do that for these tools only
        # (not for sed, bash, keyctl...). The tools' own leaks are not ours to report; the
        # library's are: the probe (instrumented itself) keeps LeakSanitizer on, and
        # t_ccache_valgrind checks the tools on the normal build.
        log "sanitizer build: MIT tools run with $CCP_PRELOAD preloaded"
        mkdir -p "$T/san-bin"
        local tool
        for tool in kinit klist kvno kswitch kdestroy; do
            printf '#!/bin/sh\nLD_PRELOAD=%s ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" exec %s "$@"\n' \
                "$CCP_PRELOAD" "$(command -v $tool)" >"$T/san-bin/$tool"
            chmod 0755 "$T/san-bin/$tool"
        done
        PATH=$T/san-bin:$PATH
    fi
    export KRB5_CONFIG KRB5_KDC_PROFILE PLAIN_CONF MODULE_CONF CCP_PROBE T SOCK PATH
}

# The prelude every login script starts with.
ccache_prelude() {
    cat <<'EOF'
set -u
export KRB5_CONFIG=$MODULE_CONF KRB5CCNAME=SESSION:
step() { echo "--- $*"; }
must() { echo "+ $*"; "$@" || { echo "FAILED (status $?): $*"; exit 1; }; }
mustnot() { echo "+ ! $*"; if "$@"; then echo "UNEXPECTEDLY SUCCEEDED: $*"; exit 1; fi; }
# out CMD: run, keep output in $O (also shown)
out() { echo "+ $*"; O=$("$@" 2>&1); local rc=$?; printf '%s\n' "$O" | sed 's/^/    /'; return $rc; }
has() { printf '%s\n' "$O" | grep -qF -- "$1" || { echo "MISSING in output: $1"; exit 1; }; }
lacks() { if printf '%s\n' "$O" | grep -qF -- "$1"; then echo "UNEXPECTED in output: $1"; exit 1; fi; }
pw() { printf '%s-Secret1' "$1"; }
kinit_as() { local u=$1; shift; echo "+ kinit $* $u"; pw "$u" | kinit "$@" "$u"; }
EOF
}

# in_login NAME SCRIPT [LOGINUID]: run SCRIPT (bash) in a fresh audit session with a new
# session keyring; output in $T/NAME.out (shown), the session id in $T/NAME.sid. Returns the
# script's status (77 if the login could not be made).
in_login() {
    local name=$1 script=$2 luid=${3:-0} rc
    { ccache_prelude; printf '%s\n' "$script"; } >"$T/$name.sh"
    echo "+ [login $name]"
    timeout "$CACHET_CLIENT_TIMEOUT" bash -c '
        printf %s "$1" >/proc/self/loginuid || exit 77
        cat /proc/self/sessionid >"$2.sid"
        exec keyctl session - bash "$2.sh"' _ "$luid" "$T/$name" >"$T/$name.out" 2>&1
    rc=$?
    sed -e '/^Joined session keyring/d' -e 's/^/  | /' "$T/$name.out"
    [ $rc -ne 124 ] || fail "login $name timed out"
    return $rc
}

# in_login_bg NAME SCRIPT: the same, in the background; sets LOGIN_PID.
in_login_bg() {
    local name=$1 script=$2
    { ccache_prelude; printf '%s\n' "$script"; } >"$T/$name.sh"
    echo "+ [login $name, background]"
    bash -c '
        printf 0 >/proc/self/loginuid || exit 77
        cat /proc/self/sessionid >"$1.sid"
        exec keyctl session - bash "$1.sh"' _ "$T/$name" >"$T/$name.out" 2>&1 &
    LOGIN_PID=$!
}

# wait_file PATH: until it exists (or the client timeout).
wait_file() {
    local i
    for i in $(seq 1 $((CACHET_CLIENT_TIMEOUT * 10))); do
        [ -e "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
