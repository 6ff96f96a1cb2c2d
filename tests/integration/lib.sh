# Shared shell library for cachet's integration tests (sourced, not executed).
#
# A test does:
#     . "$(dirname "$0")/lib.sh"
#     it_init "what this test checks"      # temp dir, KDC, cleanup trap; may exit 77
#     daemon_config key=value ...         # writes $T/cachet.conf
#     daemon_start                        # starts $CACHETD, waits for the ready line
#     ... kinit_as alice / run klist / expect_fail ... / assert_* ...
#     it_track_pid PID                    # extra background process, killed at exit
#     it_pass
#
# Environment (set by `make check` through AM_TESTS_ENVIRONMENT; defaults work
# for an in-tree build when run by hand):
#     CACHETD       the daemon binary
#     TOP_SRCDIR    source tree, TOP_BUILDDIR  build tree (VPATH builds)
#     CACHETD_WRAPPER  command prefix for the daemon, e.g. "valgrind -q"
#     CACHET_READY_TIMEOUT  seconds to wait for the ready line (default 20)
#     CACHET_KEEP_TMP=1     keep the temp dir even when the test passes
#
# Exit codes follow automake: 0 pass, 77 skip, 99 hard error, anything else fail.

_it_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${TOP_SRCDIR:=$(cd "$_it_lib_dir/../.." && pwd)}"
if [ -z "${TOP_BUILDDIR:-}" ]; then
    # make check runs tests from the top build directory.
    if [ -f "$PWD/config.status" ] && [ -f "$PWD/Makefile" ]; then
        TOP_BUILDDIR=$PWD
    else
        TOP_BUILDDIR=$TOP_SRCDIR
    fi
fi
: "${CACHETD:=$TOP_BUILDDIR/src/cachetd}"
: "${CACHETD_WRAPPER:=}"
: "${CACHET_READY_TIMEOUT:=20}"
: "${CACHET_CLIENT_TIMEOUT:=60}"
HELPERS=$TOP_BUILDDIR/tests/integration/helpers
IT_DIR=$_it_lib_dir
MYUID=$(id -u)      # caches are named KCM:<uid>[:...]
export LC_ALL=C

. "$TOP_SRCDIR/scripts/kdc.sh"

IT_NAME=$(basename "$0" .sh)
T=
DAEMON_PID=
DAEMON_N=0
_it_failed=1

log() {
    printf '%s: %s\n' "$IT_NAME" "$*"
}

skip() {
    log "SKIP: $*"
    _it_failed=0
    exit 77
}

fail() {
    log "FAIL: $*"
    exit 1
}

hard_error() {
    log "ERROR: $*"
    exit 99
}

it_pass() {
    _it_failed=0
    log "PASS"
    exit 0
}

# Extra background processes of a test (it_track_pid PID): killed at exit.
IT_PIDS=()
it_track_pid() {
    IT_PIDS+=("$1")
}

_it_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local p
    for p in "${IT_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    if [ -n "$DAEMON_PID" ]; then
        kill -TERM "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=
    fi
    kdc_stop
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "$T" ]; then
        local f
        for f in "$T"/daemon*.err "$T"/daemon*.out "$T"/valgrind*.log "$T"/kdc.log; do
            [ -s "$f" ] || continue
            case $f in
                *kdc.log)
                    echo "----- last lines of $f -----"
                    tail -n 8 "$f" | cut -c1-200 ;;
                *valgrind*)
                    # Errors come before the heap summary.
                    echo "----- $f -----"
                    grep -v '^==[0-9]*== *$' "$f" | head -n 150 ;;
                *)
                    echo "----- last lines of $f -----"
                    tail -n 40 "$f" ;;
            esac
        done
    fi
    if [ -n "$T" ] && [ -d "$T" ]; then
        if [ "${CACHET_KEEP_TMP:-0}" = 1 ]; then
            log "keeping $T"
        else
            rm -rf "$T"
        fi
    fi
    exit "$rc"
}

need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || skip "'$c' not installed (try: bash scripts/deps.sh)"
    done
}

# it_init DESCRIPTION: checks prerequisites, makes $T, sets up and starts the KDC.
it_init() {
    log "$*"
    need_cmd krb5kdc kdb5_util kadmin.local kinit klist kvno kswitch kdestroy python3 timeout
    [ -x "$CACHETD" ] || hard_error "daemon not found or not executable: $CACHETD"
    local base=${TMPDIR:-/tmp}
    # AF_UNIX paths are limited to 108 bytes.
    [ ${#base} -lt 60 ] || base=/tmp
    T=$(mktemp -d "$base/cachet-it.XXXXXX") || hard_error "mktemp failed"
    trap _it_cleanup EXIT
    trap 'exit 1' INT TERM
    SOCK=$T/kcm.sock
    kdc_setup "$T" "$SOCK" || hard_error "KDC setup failed"
    kdc_start || hard_error "KDC did not start"
    log "KDC on 127.0.0.1:$KDC_PORT, temp dir $T"
}

# daemon_config [key=value ...]: writes $T/cachet.conf (or $CONF if set) with
# test defaults, overridden/extended by the arguments.
daemon_config() {
    CONF=${CONF:-$T/cachet.conf}
    mkdir -p "$T/state"
    local -A kv=(
        [socket_path]=$SOCK
        [log_level]=debug
        [storage]=memory
        [state_dir]=$T/state
        [memlock]=degraded
        [control_socket]=$T/control.sock
    )
    local order="socket_path log_level storage state_dir memlock control_socket" a k
    local control_set=
    for a in "$@"; do
        k=${a%%=*}
        [ -n "${kv[$k]+x}" ] || order+=" $k"
        kv[$k]=${a#*=}
        [ "$k" != control_socket ] || control_set=1
    done
    # The root-only control socket goes next to the KCM socket (a directory
    # the daemon can write to even when a test runs it as another uid).
    [ -n "$control_set" ] || kv[control_socket]=$(dirname "${kv[socket_path]}")/control.sock
    {
        echo "[cachetd]"
        for k in $order; do
            echo "$k = ${kv[$k]}"
        done
    } >"$CONF"
    log "config $CONF: $(grep -v '^\[' "$CONF" | tr '\n' ';')"
}

# daemon_start [extra daemon args...]: starts the daemon on $CONF and waits for
# "cachetd: ready, listening on <path>". The expected path is $SOCK unless
# the arguments contain "-s PATH".
daemon_start() {
    [ -n "${CONF:-}" ] || daemon_config
    local expect=$SOCK a prev=
    for a in "$@"; do
        [ "$prev" = "-s" ] && expect=$a
        prev=$a
    done
    DAEMON_N=$((DAEMON_N + 1))
    DAEMON_OUT=$T/daemon$DAEMON_N.out
    DAEMON_ERR=$T/daemon$DAEMON_N.err
    log "starting: ${CACHETD_WRAPPER:+$CACHETD_WRAPPER }$CACHETD -c $CONF $*"
    # shellcheck disable=SC2086
    $CACHETD_WRAPPER "$CACHETD" -c "$CONF" "$@" >"$DAEMON_OUT" 2>"$DAEMON_ERR" &
    DAEMON_PID=$!
    local deadline=$((SECONDS + CACHET_READY_TIMEOUT))
    while :; do
        if grep -q '^cachetd: ready, listening on ' "$DAEMON_OUT" 2>/dev/null; then
            break
        fi
        if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
            wait "$DAEMON_PID"
            local rc=$?
            DAEMON_PID=
            fail "daemon exited with status $rc before printing the ready line"
        fi
        if [ $SECONDS -ge $deadline ]; then
            fail "no 'cachetd: ready, listening on ...' line on stdout after ${CACHET_READY_TIMEOUT}s" \
                 "(is stdout flushed?)"
        fi
        sleep 0.05
    done
    local line n
    line=$(grep '^cachetd: ready, listening on ' "$DAEMON_OUT")
    n=$(wc -l <"$DAEMON_OUT")
    [ "$n" -eq 1 ] || fail "expected exactly one line on stdout, got $n: $(cat "$DAEMON_OUT")"
    [ "$line" = "cachetd: ready, listening on $expect" ] ||
        fail "ready line '$line' does not name the socket $expect"
    [ -S "$expect" ] || fail "ready line printed but $expect is not a socket"
    log "daemon pid $DAEMON_PID ready on $expect"
}

# daemon_stop: SIGTERM, require exit status 0 and no sanitizer reports.
daemon_stop() {
    [ -n "$DAEMON_PID" ] || return 0
    local pid=$DAEMON_PID i rc
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 $((CACHET_READY_TIMEOUT * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        DAEMON_PID=
        fail "daemon did not exit within ${CACHET_READY_TIMEOUT}s of SIGTERM"
    fi
    wait "$pid"
    rc=$?
    DAEMON_PID=
    daemon_check_log
    [ "$rc" -eq 0 ] || fail "daemon exited with status $rc after SIGTERM (expected 0)"
    log "daemon stopped cleanly"
}

# Fail on sanitizer/valgrind findings in the daemon's stderr.
daemon_check_log() {
    local f
    for f in "$T"/daemon*.err "$T"/valgrind*.log; do
        [ -f "$f" ] || continue
        if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|definitely lost: [1-9]' "$f"; then
            fail "sanitizer/valgrind report in $f"
        fi
    done
}

daemon_alive() {
    [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null ||
        fail "daemon is no longer running"
}

# wait_log PATTERN [N] [WHAT]: wait (up to 10 s) until the daemon's log ($DAEMON_ERR) has N
# (default 1) lines matching PATTERN; fail with WHAT (or a generic message) otherwise.
wait_log() {
    local want=${2:-1} i
    for i in $(seq 1 200); do
        [ "$(grep -c -- "$1" "$DAEMON_ERR" 2>/dev/null)" -ge "$want" ] && return 0
        sleep 0.05
    done
    fail "${3:-daemon never logged '$1' ($want times)}"
}

# run CMD...: echo and run a client command with a timeout; output goes to
# stdout and into $OUT; returns the command's status.
run() {
    echo "+ $*"
    OUT=$(timeout "$CACHET_CLIENT_TIMEOUT" "$@" 2>&1)
    local rc=$?
    [ -z "$OUT" ] || printf '%s\n' "$OUT" | sed 's/^/  | /'
    [ $rc -ne 124 ] || fail "timed out after ${CACHET_CLIENT_TIMEOUT}s: $*"
    return $rc
}

# ok CMD...: run and require success.
ok() {
    run "$@" || fail "command failed (status $?): $*"
}

# expect_fail CMD...: run and require failure.
expect_fail() {
    if run "$@"; then
        fail "command unexpectedly succeeded: $*"
    fi
    return 0
}

# kinit_as USER [kinit options...]: kinit with the user's password on stdin.
kinit_as() {
    local u=$1
    shift
    echo "+ kinit${*:+ $*} $u   (password on stdin)"
    OUT=$(kdc_password "$u" | timeout "$CACHET_CLIENT_TIMEOUT" kinit "$@" "$u" 2>&1)
    local rc=$?
    [ -z "$OUT" ] || printf '%s\n' "$OUT" | sed 's/^/  | /'
    [ $rc -ne 124 ] || fail "kinit timed out"
    return $rc
}

ok_kinit() {
    kinit_as "$@" || fail "kinit $* failed"
}

assert_out_contains() {
    printf '%s\n' "$OUT" | grep -qF -- "$1" || fail "expected output to contain '$1'"
}

assert_out_lacks() {
    if printf '%s\n' "$OUT" | grep -qF -- "$1"; then
        fail "expected output not to contain '$1'"
    fi
}

# assert_eq ACTUAL EXPECTED MESSAGE
assert_eq() {
    [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

# Number of non-config service tickets in `klist` output ($OUT).
klist_ticket_count() {
    printf '%s\n' "$OUT" | grep -cE '^[0-9]{2}/[0-9]{2}/[0-9]{2,4} ' || true
}

# Number of caches listed by `klist -l` ($OUT): lines after the dashes line.
klist_l_count() {
    printf '%s\n' "$OUT" | awk 'seen && NF {n++} /^-+ +-+/ {seen=1} END {print n+0}'
}

# Principal of the first cache listed by `klist -l` ($OUT); MIT lists the
# primary cache first.
klist_l_primary() {
    printf '%s\n' "$OUT" | awk 'seen && NF {print $1; exit} /^-+ +-+/ {seen=1}'
}

# Principals listed by `klist -l` ($OUT), one per line, in order.
klist_l_principals() {
    printf '%s\n' "$OUT" | awk 'seen && NF {print $1} /^-+ +-+/ {seen=1}'
}

realm_princ() {
    printf '%s@%s' "$1" "$KDC_REALM"
}

# Is the daemon built with AddressSanitizer? (ASan's shadow memory is
# MADV_DONTDUMP and unlocked, which memory-layout checks must allow for.)
daemon_sanitized() {
    ldd "$CACHETD" 2>/dev/null | grep -q 'libasan'
}
