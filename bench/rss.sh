#!/bin/bash
# bench/rss.sh - does cachetd's memory stay flat under a long mix of requests and connections?
#
# Starts a cachetd (storage = sqlite unless -s memory) on a fresh state directory and drives it
# with bench/churn: OPS requests (default one million) of INITIALIZE, STORE, RETRIEVE,
# GET_CRED_LIST, DESTROY, REPLACE, GEN_NEW and SET_DEFAULT_CACHE over short connections (1..20
# requests each) as UIDS different uids. VmRSS is sampled from /proc/PID/status; the growth from
# the end of the warm-up (the first 10% of the requests) to the end must stay within LIMIT
# percent, and the daemon must exit 0 on SIGTERM. Exit status 0 = pass, 1 = fail.
#
# --valgrind: the same, fewer requests (default 20000), with the daemon under
#     valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99
# which must exit 0 after SIGTERM (no memory error, no definite leak). RSS is not judged.
#
# Not part of `make check` (a minute or more). Root makes the clients many uids; otherwise they
# all use yours.
set -u

usage() {
    cat <<EOF
usage: bench/rss.sh [options]
  -N OPS       requests (default 1000000; 20000 with --valgrind)
  -p PROCS     client processes (default $PROCS)
  -n UIDS      uids the clients connect as (default $UIDS)
  -l PERCENT   allowed RSS growth after the warm-up (default $LIMIT)
  -s STORAGE   sqlite (default) or memory
  -o DIR       output directory (default bench/out/rss-<timestamp>)
  --valgrind   run the daemon under valgrind's leak check instead of judging RSS
  --no-build   do not run make
Environment: CACHETD (default src/cachetd).
EOF
}

TOP=$(cd "$(dirname "$0")/.." && pwd)
OPS=""
PROCS=4
UIDS=50
LIMIT=5
STORAGE=sqlite
OUT=""
VALGRIND=0
BUILD=1

while [ $# -gt 0 ]; do
    case "$1" in
    -N) OPS=$2; shift 2 ;;
    -p) PROCS=$2; shift 2 ;;
    -n) UIDS=$2; shift 2 ;;
    -l) LIMIT=$2; shift 2 ;;
    -s) STORAGE=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    --valgrind) VALGRIND=1; shift ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
[ -n "$OPS" ] || { [ "$VALGRIND" = 1 ] && OPS=20000 || OPS=1000000; }

say() { printf '%s\n' "$*"; }
die() { printf 'rss.sh: error: %s\n' "$*" >&2; exit 2; }

CACHETD=${CACHETD:-$TOP/src/cachetd}
CHURN=$TOP/bench/churn
if [ "$BUILD" = 1 ]; then
    make -C "$TOP" -j2 src/cachetd bench/churn >/dev/null || die "make failed"
fi
[ -x "$CACHETD" ] && [ -x "$CHURN" ] || die "no $CACHETD or $CHURN (run without --no-build)"
if [ "$VALGRIND" = 1 ]; then
    command -v valgrind >/dev/null || die "valgrind is not installed"
    # A libtool wrapper script would make valgrind check /bin/sh.
    [ "$(head -c 2 "$CACHETD")" != "#!" ] || die "$CACHETD is a script; give the real binary"
fi
[ -n "$OUT" ] || OUT="$TOP/bench/out/rss-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT" || die "cannot create $OUT"
RUN=$(mktemp -d /tmp/cachet-rss.XXXXXX) || die "mktemp failed"
chmod 755 "$RUN"
mkdir -m 700 "$RUN/state"
PID=""

cleanup() {
    trap - EXIT INT TERM
    if [ -n "$PID" ]; then
        kill -KILL "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$RUN/cachetd.conf" <<EOF
[cachetd]
socket_path = $RUN/kcm.sock
storage = $STORAGE
state_dir = $RUN/state
log_level = warning
control_socket = none
EOF

WRAP=()
if [ "$VALGRIND" = 1 ]; then
    WRAP=(valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99
        --show-leak-kinds=definite --num-callers=30 --log-file="$OUT/valgrind.log")
fi
{
    echo "# cachet rss $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# host: $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# cachet: $(git -C "$TOP" describe --always --dirty 2>/dev/null) ($CACHETD)"
    echo "# storage=$STORAGE ops=$OPS procs=$PROCS uids=$UIDS limit=${LIMIT}% valgrind=$VALGRIND"
} | tee "$OUT/results.txt"

"${WRAP[@]}" "$CACHETD" -c "$RUN/cachetd.conf" >"$RUN/out" 2>"$OUT/cachetd.log" </dev/null &
PID=$!
for _ in $(seq 1200); do
    grep -q '^cachetd: ready' "$RUN/out" 2>/dev/null && break
    kill -0 "$PID" 2>/dev/null || die "cachetd exited at start-up (see $OUT/cachetd.log)"
    sleep 0.05
done
grep -q '^cachetd: ready' "$RUN/out" || die "cachetd not ready after 60 s"

"$CHURN" -S "$RUN/kcm.sock" -N "$OPS" -p "$PROCS" -n "$UIDS" -P "$PID" -i 5 |
    tee -a "$OUT/results.txt"
churn_rc=${PIPESTATUS[0]}

kill -TERM "$PID"
wait "$PID"
daemon_rc=$?
PID=""
verdict=PASS
if [ "$churn_rc" != 0 ]; then
    say "FAIL: requests failed (churn exit $churn_rc)"
    verdict=FAIL
fi
if [ "$VALGRIND" = 1 ]; then
    grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|possibly lost' "$OUT/valgrind.log" |
        sed 's/^==[0-9]*== */valgrind: /' | tee -a "$OUT/results.txt"
    if [ "$daemon_rc" != 0 ]; then
        say "FAIL: cachetd under valgrind exited $daemon_rc after SIGTERM (99: errors or definite leaks; see $OUT/valgrind.log)"
        verdict=FAIL
    fi
else
    if [ "$daemon_rc" != 0 ]; then
        say "FAIL: cachetd exited $daemon_rc after SIGTERM"
        verdict=FAIL
    fi
    growth=$(sed -n 's/^CHURN .* growth_pct=\([-0-9.]*\).*/\1/p' "$OUT/results.txt")
    if [ -z "$growth" ]; then
        say "FAIL: no RSS figures"
        verdict=FAIL
    elif awk -v g="$growth" -v l="$LIMIT" 'BEGIN { exit !(g > l) }'; then
        say "FAIL: RSS grew ${growth}% after the warm-up (limit ${LIMIT}%)"
        verdict=FAIL
    fi
fi
say "$verdict" | tee -a "$OUT/results.txt"
say "output: $OUT"
[ "$verdict" = PASS ]
