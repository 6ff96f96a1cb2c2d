#!/bin/bash
# cachet demo: install dependencies, build, start a throw-away MIT KDC and
# cachetd on a private socket, then drive it with the stock MIT tools.
# Nothing outside a temp dir (and the build dir) is touched; the system's
# krb5.conf, KDC and KCM socket are not used.
#
#     bash scripts/demo.sh            # SKIP_DEPS=1 to skip the package check
set -uo pipefail

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRCDIR" || exit 1

if [ "${SKIP_DEPS:-0}" != 1 ]; then
    bash scripts/deps.sh || exit 1
fi

. scripts/build.sh
BUILD_LOG=$(mktemp /tmp/cachet-demo-build.XXXXXX.log)
builddir=$(cachet_default_builddir)
echo "=== building in $builddir (log: $BUILD_LOG)"
if ! cachet_build "$builddir" >"$BUILD_LOG" 2>&1; then
    tail -n 40 "$BUILD_LOG" >&2
    echo "demo: build failed; full log in $BUILD_LOG" >&2
    exit 1
fi
rm -f "$BUILD_LOG"
CACHETD=$CACHET_BUILDDIR/src/cachetd
[ -x "$CACHETD" ] || { echo "demo: $CACHETD was not built" >&2; exit 1; }

. scripts/kdc.sh

T=$(mktemp -d /tmp/cachet-demo.XXXXXX) || exit 1
DAEMON_PID=
cleanup() {
    [ -z "$DAEMON_PID" ] || { kill -TERM "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; }
    kdc_stop
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

die() {
    echo "demo: FAILED: $*" >&2
    if [ -s "$T/cachetd.err" ]; then
        echo "--- last lines of the daemon log ---" >&2
        tail -n 20 "$T/cachetd.err" >&2
    fi
    exit 1
}

# Echo a command, run it with a timeout, fail the demo if it fails.
show() {
    printf '\n$ %s\n' "$*"
    timeout 60 "$@" || die "'$*' exited with status $?"
}

SOCK=$T/kcm.sock
printf '\n=== throw-away KDC\n'
kdc_setup "$T" "$SOCK" || die "KDC setup failed"
kdc_start || die "KDC did not start"
echo "realm $KDC_REALM on 127.0.0.1:$KDC_PORT, files in $T"
echo "KRB5_CONFIG=$KRB5_CONFIG KRB5CCNAME=$KRB5CCNAME"

printf '\n=== cachetd\n'
cat >"$T/cachet.conf" <<EOF
[cachetd]
socket_path = $SOCK
storage = memory
state_dir = $T/state
memlock = degraded
log_level = info
control_socket = $T/control.sock
EOF
mkdir -p "$T/state"
cat "$T/cachet.conf"
echo "\$ $CACHETD -c $T/cachet.conf"
"$CACHETD" -c "$T/cachet.conf" >"$T/cachetd.out" 2>"$T/cachetd.err" &
DAEMON_PID=$!
for _ in $(seq 1 200); do
    grep -q '^cachetd: ready, listening on ' "$T/cachetd.out" 2>/dev/null && break
    kill -0 "$DAEMON_PID" 2>/dev/null || die "cachetd exited during start-up"
    sleep 0.1
done
grep '^cachetd: ready, listening on ' "$T/cachetd.out" || die "cachetd did not report ready"

printf '\n=== MIT tools against cachetd (passwords: <user>-Secret1)\n'
printf '\n$ kinit alice\n'
kdc_password alice | timeout 60 kinit alice || die "kinit alice failed"
show klist
show kvno host/localhost
printf '\n$ kinit bob\n'
kdc_password bob | timeout 60 kinit bob || die "kinit bob failed"
show klist -l
show kswitch -p alice
show klist
show kdestroy -A
printf '\n$ klist -l\n'
out=$(timeout 60 klist -l 2>&1)
echo "$out"
[ "$(echo "$out" | grep -c "@$KDC_REALM")" -eq 0 ] || die "caches left after kdestroy -A"

kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
rc=$?
DAEMON_PID=
[ $rc -eq 0 ] || die "cachetd exited with status $rc on SIGTERM"
printf '\n=== demo finished: cachetd stopped cleanly\n'
