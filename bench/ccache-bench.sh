#!/bin/bash
# bench/ccache-bench.sh - the SESSION: cache type (libcachet-ccache) against MIT's own KCM:
# client, same cachetd, same workloads; prints the per-operation times and the ratio
# SESSION/KCM (target: <= 1.10, i.e. at most 10% overhead).
#
# Workloads (src/ccache-plugin/ccp_probe.c, public krb5 API, synthetic creds, no KDC):
#   retrieve  krb5_cc_retrieve_cred of one service ticket from a 20-cred cache
#   iterate   start_seq_get / next_cred x20 / end_seq_get
#   resolve   resolve the cache by name + get_principal + close (MIT's KCM connects per handle)
#   list      a krb5_cccol cursor walk of the collection
#   store     new_unique + initialize + store 20 creds + destroy
#   klist     the unchanged `klist -s`, one process per op: KCM: with the plain krb5.conf vs
#             SESSION: through the profile-module krb5.conf (includes loading the module)
# Rounds interleave the two types; the table shows medians.
#
# Needs a built tree (make), python3 is not needed. SESSION: needs a login session: an audit
# session id and a session keyring of its own. Run from a normal login as is; as root outside
# any login the script makes one (writes /proc/self/loginuid in a child, `keyctl session`).
# Not part of make check.
set -u

usage() {
    cat <<EOF
usage: bench/ccache-bench.sh [-b BUILDDIR] [-n OPS] [-r ROUNDS] [-w "WORKLOADS"] [-k KLIST_OPS]
  -b DIR   build directory (default: the source tree if built in place, else _build)
  -n N     operations per run for the API workloads (default $OPS)
  -k N     klist processes per run (default $KLIST_OPS)
  -r N     rounds, medians reported (default $ROUNDS)
  -w LIST  workloads (default "$WORKLOADS")
EOF
}

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=
OPS=2000
KLIST_OPS=200
ROUNDS=5
WORKLOADS="retrieve iterate resolve list store klist"
while [ $# -gt 0 ]; do
    case "$1" in
    -b) BUILD=$2; shift 2 ;;
    -n) OPS=$2; shift 2 ;;
    -k) KLIST_OPS=$2; shift 2 ;;
    -r) ROUNDS=$2; shift 2 ;;
    -w) WORKLOADS=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done
if [ -z "$BUILD" ]; then
    if [ -x "$TOP/src/cachetd" ]; then BUILD=$TOP; else BUILD=$TOP/_build; fi
fi
BUILD=$(cd "$BUILD" && pwd) || exit 2
CACHETD=$BUILD/src/cachetd
PROBE=$BUILD/src/ccache-plugin/ccp-probe
SO=$BUILD/src/ccache-plugin/.libs/libcachet-ccache.so.0
for f in "$CACHETD" "$PROBE" "$SO"; do
    [ -e "$f" ] || { echo "ccache-bench: $f not found: build first (make)" >&2; exit 2; }
done

# Inside the login: run the measurements (the script re-enters itself there; the options come
# through the environment, since keyctl would take them for its own).
if [ "${CCACHE_BENCH_INNER:-}" = 1 ]; then
    OPS=$CB_OPS KLIST_OPS=$CB_KLIST_OPS ROUNDS=$CB_ROUNDS WORKLOADS=$CB_WORKLOADS
    median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
    srv_ns() { # the daemon's CPU time so far (main thread: the event loop), in ns
        local run rest
        read -r run rest </proc/"$DAEMON_PID"/schedstat && echo "$run"
    }
    run_api() { # TYPE WORKLOAD -> "wall_us cpu_us srv_us" per op
        local s0 s1 v
        s0=$(srv_ns)
        v=$(KRB5_CONFIG=$PLAIN "$PROBE" bench "$1" "$2" "$OPS" |
            sed -n 's/.*us_per_op=\([0-9.]*\) cpu_us_per_op=\([0-9.]*\).*/\1 \2/p')
        s1=$(srv_ns)
        [ -n "$v" ] && echo "$v $(awk -v d=$((s1 - s0)) -v n="$OPS" 'BEGIN {printf "%.1f", d / 1000 / n}')"
    }
    run_klist() { # TYPE -> "wall_us cpu_us" per process, on the same cache by name
        local conf=$PLAIN t0 t1 c i
        [ "$1" = SESSION ] && conf=$MODULE
        t0=$(date +%s%N)
        c=$( { TIMEFORMAT='%U %S'; time (
            for ((i = 0; i < KLIST_OPS; i++)); do
                KRB5_CONFIG=$conf KRB5CCNAME=$1:$RESIDUAL klist -s ||
                    { echo "klist -s failed ($1)" >&2; exit 1; }
            done ) ; } 2>&1 ) || return 1
        t1=$(date +%s%N)
        awk -v w=$(( (t1 - t0) / 1000 )) -v n="$KLIST_OPS" -v c="$c" \
            'BEGIN {split(c, a, " "); printf "%.1f %.1f\n", w / n, (a[1] + a[2]) * 1e6 / n}'
    }
    name=$(KRB5_CONFIG=$PLAIN "$PROBE" fill SESSION) || { echo "$name" >&2; exit 1; }
    RESIDUAL=${name#SESSION:}
    for w in $WORKLOADS; do
        for type in KCM SESSION; do : >"$OUT/$w.$type"; done
        for ((r = 1; r <= ROUNDS; r++)); do
            for type in KCM SESSION; do
                if [ "$w" = klist ]; then v=$(run_klist $type); else v=$(run_api $type "$w"); fi
                [ -n "$v" ] || { echo "ccache-bench: $w on $type failed" >&2; exit 1; }
                echo "$v" >>"$OUT/$w.$type"
            done
        done
    done
    col() { awk -v c="$1" '{print $c}' "$2" | median; }
    echo "medians of $ROUNDS rounds, microseconds per op; wall = elapsed (daemon included),"
    echo "cpu = client CPU, srv = the daemon's event-loop CPU (API workloads only)"
    printf '%-9s %9s %9s %6s  %8s %8s %6s  %7s %7s  %s\n' workload "KCM wall" "SES wall" ratio \
        "KCM cpu" "SES cpu" ratio "KCM srv" "SES srv" "target <= 1.10 (wall)"
    for w in $WORKLOADS; do
        kw=$(col 1 "$OUT/$w.KCM"); sw=$(col 1 "$OUT/$w.SESSION")
        kc=$(col 2 "$OUT/$w.KCM"); sc=$(col 2 "$OUT/$w.SESSION")
        ks=$(col 3 "$OUT/$w.KCM"); ss=$(col 3 "$OUT/$w.SESSION")
        awk -v w="$w" -v kw="$kw" -v sw="$sw" -v kc="$kc" -v sc="$sc" -v ks="$ks" -v ss="$ss" 'BEGIN {
            rw = sw / kw; rc = (kc > 0) ? sc / kc : 0
            printf "%-9s %9.1f %9.1f %6.3f  %8.1f %8.1f %6.3f  %7s %7s  %s\n", w, kw, sw, rw, kc, sc,
                   rc, ks, ss, (rw <= 1.10) ? "ok" : "OVER"}'
    done
    exit 0
fi

command -v keyctl >/dev/null 2>&1 || { echo "ccache-bench: keyctl (keyutils) is needed" >&2; exit 2; }
WORK=$(mktemp -d /tmp/ccache-bench.XXXXXX) || exit 2
DAEMON_PID=
cleanup() {
    [ -n "$DAEMON_PID" ] && kill -TERM "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
SOCK=$WORK/kcm.sock
cat >"$WORK/cachet.conf" <<EOF
[cachetd]
socket_path = $SOCK
control_socket = $WORK/control.sock
storage = memory
state_dir = $WORK
memlock = degraded
log_level = warning
scope = session
max_caches_per_uid = 10000
EOF
cat >"$WORK/krb5.conf" <<EOF
[libdefaults]
    default_realm = PROBE.TEST
    kcm_socket = $SOCK
    kcm_mach_service = -
    dns_lookup_kdc = false
EOF
printf 'module %s:%s\n' "$SO" "$WORK/krb5.conf" >"$WORK/krb5-module.conf"
"$CACHETD" -c "$WORK/cachet.conf" >"$WORK/daemon.out" 2>"$WORK/daemon.err" &
DAEMON_PID=$!
for i in $(seq 1 100); do
    grep -q '^cachetd: ready' "$WORK/daemon.out" 2>/dev/null && break
    kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$WORK/daemon.err" >&2; exit 1; }
    sleep 0.1
done
echo "ccache-bench: cachetd $(basename "$BUILD") pid $DAEMON_PID; $OPS ops x $ROUNDS rounds" \
     "(klist: $KLIST_OPS processes); $(nproc) CPUs"
export CCACHE_BENCH_INNER=1 DAEMON_PID PLAIN=$WORK/krb5.conf MODULE=$WORK/krb5-module.conf OUT=$WORK \
    PROBE CB_OPS=$OPS CB_KLIST_OPS=$KLIST_OPS CB_ROUNDS=$ROUNDS CB_WORKLOADS=$WORKLOADS \
    KRB5CCNAME=KCM:
# A login: our audit session if we have one, else a fresh one (root, loginuid unset).
if [ "$(cat /proc/self/sessionid 2>/dev/null)" = 4294967295 ]; then
    exec_login='printf 0 >/proc/self/loginuid || { echo "cannot create an audit session" >&2; exit 2; }; '
else
    exec_login=
fi
bash -c "${exec_login}"'exec keyctl session - bash "$0"' "$0" \
    2> >(grep -v '^Joined session keyring' >&2)
