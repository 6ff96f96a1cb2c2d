#!/bin/bash
# bench/scale.sh - a large persistent store: how fast it loads, and whether it serves as fast as
# a small one.
#
#   1. fill: a cachetd (storage = sqlite, the default) gets UIDS x CACHES caches of CREDS
#      credentials (TICKET random ticket bytes) through the KCM protocol (bench/scale fill:
#      one REPLACE per cache, connected as each uid), then stops;
#   2. load: it is started again on that state ROUNDS times; time-to-ready is the wall time
#      from exec to the "cachetd: ready" line (every record read; decryption continues in the
#      background, an owner asked for is decrypted first), with the daemon's CPU time at that
#      moment; full load is the daemon's own "loaded ... in N s" figure (every record
#      decrypted and linked);
#   3. serve: bench/scale ops measures RETRIEVE, GET_CRED_LIST, GET_PRINCIPAL and STORE on the
#      big store, on a small one (1 uid, same cache shape, also loaded from disk) and on the
#      small one with storage = memory (the cost of persistence per request); ROUNDS rounds,
#      the three servers interleaved; the table shows medians.
#
# Needs root (the clients connect as UIDS different uids). Not part of `make check`.
set -u -o pipefail

usage() {
    cat <<EOF
usage: bench/scale.sh [options]
  -n UIDS      owners (default $UIDS)
  -c CACHES    caches per owner (default $CACHES)
  -k CREDS     credentials per cache (default $CREDS)
  -t BYTES     ticket bytes per credential (default $TICKET)
  -N OPS       requests per read measurement (default $OPS; STORE: OPS/20)
  -r ROUNDS    restarts measured, and rounds of requests (default $ROUNDS)
  -s DIR       reuse a state directory made by an earlier run (skips the fill)
  -o DIR       output directory (default bench/out/scale-<timestamp>)
  --no-build   do not run make
Environment: CACHETD (default src/cachetd).
EOF
}

TOP=$(cd "$(dirname "$0")/.." && pwd)
UIDS=1000
CACHES=10
CREDS=20
TICKET=1300
OPS=100000
ROUNDS=3
FIRST_UID=200000
STATE_GIVEN=""
OUT=""
BUILD=1

while [ $# -gt 0 ]; do
    case "$1" in
    -n) UIDS=$2; shift 2 ;;
    -c) CACHES=$2; shift 2 ;;
    -k) CREDS=$2; shift 2 ;;
    -t) TICKET=$2; shift 2 ;;
    -N) OPS=$2; shift 2 ;;
    -r) ROUNDS=$2; shift 2 ;;
    -s) STATE_GIVEN=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

say() { printf '%s\n' "$*"; }
die() { printf 'scale.sh: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (the clients connect as $UIDS different uids)"
CACHETD=${CACHETD:-$TOP/src/cachetd}
SCALE=$TOP/bench/scale
if [ "$BUILD" = 1 ]; then
    make -C "$TOP" -j2 src/cachetd bench/scale >/dev/null || die "make failed"
fi
[ -x "$CACHETD" ] && [ -x "$SCALE" ] || die "no $CACHETD or $SCALE (run without --no-build)"
[ -n "$OUT" ] || OUT="$TOP/bench/out/scale-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT" || die "cannot create $OUT"
RUN=$(mktemp -d /tmp/cachet-scale.XXXXXX) || die "mktemp failed"
chmod 755 "$RUN" # the clients connect as other uids
declare -A PID=() SOCK=()

stop() {
    local name=$1
    [ -n "${PID[$name]:-}" ] || return 0
    kill -TERM "${PID[$name]}" 2>/dev/null
    wait "${PID[$name]}" 2>/dev/null
    unset "PID[$name]"
}

cleanup() {
    local name
    trap - EXIT INT TERM
    for name in "${!PID[@]}"; do stop "$name"; done
    rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME STORAGE STATEDIR: start cachetd and wait for its ready line; sets PID[NAME],
# SOCK[NAME] and READY_SECS.
start() {
    local name=$1 storage=$2 state=$3 t0 t1
    cat >"$RUN/$name.conf" <<EOF
[cachetd]
socket_path = $RUN/$name.sock
storage = $storage
state_dir = $state
log_level = info
control_socket = none
max_caches_per_uid = 10000
max_creds_per_cache = 100000
max_bytes_per_uid = 1073741824
EOF
    : >"$RUN/$name.out"
    t0=$(date +%s%N)
    setsid "$CACHETD" -c "$RUN/$name.conf" >"$RUN/$name.out" 2>>"$OUT/$name.log" </dev/null &
    PID[$name]=$!
    while ! grep -q '^cachetd: ready' "$RUN/$name.out"; do
        kill -0 "${PID[$name]}" 2>/dev/null || die "cachetd exited at start-up (see $OUT/$name.log)"
        sleep 0.005
    done
    t1=$(date +%s%N)
    READY_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
    SOCK[$name]=$RUN/$name.sock
}

# CPU seconds (user + system, exited threads included) and VmRSS (MiB) of a pid.
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
rss_mib() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

shape="-U $FIRST_UID -c $CACHES -k $CREDS -t $TICKET"
{
    echo "# cachet scale $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# host: $(uname -r), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# cachet: $(git -C "$TOP" describe --always --dirty 2>/dev/null) ($CACHETD)"
    echo "# shape: $UIDS uids x $CACHES caches x $CREDS creds, $TICKET-byte tickets"
} | tee "$OUT/results.txt"

# 1. fill
if [ -n "$STATE_GIVEN" ]; then
    BIG=$STATE_GIVEN
else
    BIG=$OUT/state-big
    rm -rf "$BIG" && mkdir -m 700 "$BIG"
    start big sqlite "$BIG"
    # shellcheck disable=SC2086
    "$SCALE" fill -S "${SOCK[big]}" -n "$UIDS" $shape -p 2 | tee -a "$OUT/results.txt" ||
        die "fill failed"
    stop big
fi
say "# database: $(du -m "$BIG/cachet.sqlite" | cut -f1) MiB" | tee -a "$OUT/results.txt"

# 2. load (the last start stays up for the measurements)
# The daemon is ready once every record is read; decryption goes on in the background (an
# owner asked for first is decrypted first) until its "loaded ... in N s" line: full_secs.
for r in $(seq "$ROUNDS"); do
    nloaded=$(grep -c 'loaded .* in [0-9.]* s' "$OUT/big.log" 2>/dev/null)
    start big sqlite "$BIG"
    ready_cpu=$(cpu_secs "${PID[big]}")
    while [ "$(grep -c 'loaded .* in [0-9.]* s' "$OUT/big.log")" -le "${nloaded:-0}" ]; do
        kill -0 "${PID[big]}" 2>/dev/null || die "cachetd exited while loading"
        sleep 0.01
    done
    loaded=$(grep -o 'loaded .* in [0-9.]* s ([^)]*)' "$OUT/big.log" | tail -n 1)
    full=$(printf '%s\n' "$loaded" | sed -n 's/.* in \([0-9.]*\) s (.*/\1/p')
    say "LOAD round=$r ready_secs=$READY_SECS cpu_secs=$ready_cpu full_secs=$full" \
        "full_cpu_secs=$(cpu_secs "${PID[big]}") rss_mib=$(rss_mib "${PID[big]}")" \
        "loadavg=$(cut -d' ' -f1 /proc/loadavg) log=\"$loaded\"" |
        tee -a "$OUT/results.txt"
    [ "$r" = "$ROUNDS" ] || stop big
done

# 3. serve
mkdir -m 700 "$RUN/state-small"
start small sqlite "$RUN/state-small"
# shellcheck disable=SC2086
"$SCALE" fill -S "${SOCK[small]}" -n 1 $shape -p 1 >/dev/null || die "small fill failed"
stop small
start small sqlite "$RUN/state-small"
start small-mem memory "$RUN/state-mem"
# shellcheck disable=SC2086
"$SCALE" fill -S "${SOCK[small-mem]}" -n 1 $shape -p 1 >/dev/null || die "memory fill failed"
servers=(big small small-mem)
for r in $(seq "$ROUNDS"); do
    for i in 0 1 2; do
        s=${servers[$(((i + r) % 3))]}
        n=$UIDS
        [ "$s" = big ] || n=1
        # shellcheck disable=SC2086
        "$SCALE" ops -S "${SOCK[$s]}" -n "$n" $shape -N "$OPS" -P "${PID[$s]}" -l "$s" |
            sed "s/\$/ round=$r/" | tee -a "$OUT/results.txt" || die "scale ops failed ($s)"
    done
done

# Table: medians over the rounds. big/small: the big store against the small one (1.00x = as
# fast); sqlite/mem: server CPU per request with persistence against storage = memory.
awk '
function median(str,    n, v, i, j, t) {
    n = split(str, v, " ")
    for (i = 2; i <= n; i++) {
        t = v[i]
        for (j = i - 1; j >= 1 && v[j] + 0 > t + 0; j--) v[j + 1] = v[j]
        v[j + 1] = t
    }
    return n == 0 ? 0 : (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2)
}
/^RESULT / {
    delete f
    for (i = 2; i <= NF; i++) { k = $i; sub(/=.*/, "", k); v = $i; sub(/^[^=]*=/, "", v); f[k] = v }
    key = f["workload"] " " f["pattern"]
    if (!(key in seen)) { order[++n] = key; seen[key] = 1 }
    us[f["label"], key] = us[f["label"], key] " " f["us_per_op"]
    srv[f["label"], key] = srv[f["label"], key] " " f["srv_us_per_op"]
}
/^LOAD / {
    for (i = 2; i <= NF; i++) {
        if ($i ~ /^ready_secs=/) { v = $i; sub(/.*=/, "", v); ready = ready " " v }
        if ($i ~ /^cpu_secs=/) { v = $i; sub(/.*=/, "", v); cpu = cpu " " v }
        if ($i ~ /^full_secs=/) { v = $i; sub(/.*=/, "", v); full = full " " v }
    }
}
END {
    printf "\ntime to ready, %d starts: median %.2f s (%s ); daemon CPU at ready: median %.2f s\n\n",
        split(ready, x, " "), median(ready), ready, median(cpu)
    printf "full load (every record decrypted and linked, daemon log): median %.2f s (%s )\n\n",
        median(full), full
    printf "%-17s %22s %22s %22s %9s %10s\n", "request", "big us/op [server]",
        "small us/op [server]", "small-mem us/op [srv]", "big/small", "sqlite/mem"
    for (i = 1; i <= n; i++) {
        k = order[i]
        b = median(us["big", k]); sm = median(us["small", k]); m = median(us["small-mem", k])
        bs = median(srv["big", k]); ss = median(srv["small", k]); ms = median(srv["small-mem", k])
        printf "%-17s %22s %22s %22s %8.2fx %9.2fx\n", k,
            sprintf("%.1f [%.1f]", b, bs), sprintf("%.1f [%.1f]", sm, ss),
            sprintf("%.1f [%.1f]", m, ms), (sm > 0 ? b / sm : 0), (ms > 0 ? ss / ms : 0)
    }
    printf "medians of the rounds; us/op: client-side time per request, one at a time; [server]:\n"
    printf "daemon CPU us per request; big/small: us/op, big store over small (1.00x = as fast);\n"
    printf "sqlite/mem: server CPU per request, persistence on over storage = memory.\n"
}' "$OUT/results.txt" | tee "$OUT/table.txt"
say "output: $OUT"
