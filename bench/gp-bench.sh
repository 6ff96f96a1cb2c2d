#!/bin/bash
# bench/gp-bench.sh - GSS-Proxy throughput: cachetd against Debian's gssproxy 0.9.1, one run.
#
#   kernel   kernel-style ACCEPT_SEC_CONTEXT (linux_lucid_v1 + linux_creds_v1, byte-exact as
#            nfsd sends them) from bench/gp-bench.c (a C client, compiled here), CONNSxINFLIGHT:
#              1x1      one connection, one call at a time
#              1x8 1x32 the kernel's case: ONE connection, several calls in flight
#              8x1 8x8  8 connections
#   interp   Debian's interposer (proxymech.so, REMOTE_ONLY) running the project's GSS pair
#            (tests/integration/helpers/gp_pair): init+accept with mutual auth per round,
#            1 and 8 concurrent client processes.
#
# Both servers read the same gssproxy.conf (worker threads = $WORKERS), run on private sockets
# in a temp dir with their own replay cache directory (gssproxy runs as "gssproxy -i -s SOCK
# -c CONF", as its own test suite does: -u would ignore the services; it writes its pid file), against a throw-away MIT KDC
# (scripts/kdc.sh). Each measurement uses fresh AP-REQs (a replay would be refused). Prints a
# table of rates and cachetd/gssproxy ratios. Not part of make check.
# -s: afterwards, system calls per kernel-style accept of each server (strace -c -f, 1x8; the
#     rates under strace mean nothing), with the most frequent calls, in OUTDIR/strace.*.
#
# usage: [WORKLOADS="interp:1 ..."] bench/gp-bench.sh [-n ACCEPTS] [-i ROUNDS] [-w WORKERS] [-o OUTDIR] [-s]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
N=${N:-2000}
ROUNDS=${ROUNDS:-40}
WORKERS=${WORKERS:-4}
OUT=
SYSCALLS=
while getopts "n:i:w:o:sh" o; do
    case $o in
        n) N=$OPTARG ;;
        i) ROUNDS=$OPTARG ;;
        w) WORKERS=$OPTARG ;;
        o) OUT=$OPTARG ;;
        s) SYSCALLS=1 ;;
        *) sed -n '2,22p' "$0"; exit 2 ;;
    esac
done
CACHETD=${CACHETD:-$TOP/src/cachetd}
GP_PAIR=${GP_PAIR:-$TOP/tests/integration/helpers/gp_pair}
GSSPROXY=${GSSPROXY:-/usr/sbin/gssproxy}
PROXYMECH=${PROXYMECH:-$(ls /usr/lib/*/gssproxy/proxymech.so 2>/dev/null | head -n1)}
for f in "$CACHETD" "$GP_PAIR"; do
    [ -x "$f" ] || { echo "gp-bench: $f missing (make && make check TESTS=)"; exit 2; }
done
[ -x "$GSSPROXY" ] || { echo "gp-bench: $GSSPROXY missing (apt-get install gssproxy)"; exit 2; }
[ -f "$PROXYMECH" ] || { echo "gp-bench: proxymech.so missing (apt-get install gssproxy)"; exit 2; }
CC=${CC:-cc}

T=$(mktemp -d /tmp/gp-bench.XXXXXX)
OUT=${OUT:-$T}
mkdir -p "$OUT"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    kdc_stop
    [ "$OUT" = "$T" ] || [ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
. "$TOP/scripts/kdc.sh"
kdc_setup "$T" "$T/kcm.sock" >/dev/null || exit 1
kdc_start || exit 1
KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "addprinc -pw $(kdc_password daemon) daemon" \
    >/dev/null 2>&1
ME=$(id -u)
$CC -O2 -o "$T/gp-bench" "$HERE/gp-bench.c" || exit 2

cat >"$T/gssproxy.conf" <<EOF2
[gssproxy]
  worker threads = $WORKERS

[service/nfs-server]
  mechs = krb5
  socket = SOCKDIR/kernel.sock
  cred_store = keytab:$KDC_KEYTAB
  trusted = yes
  euid = $ME

[service/apps]
  mechs = krb5
  cred_store = keytab:$KDC_KEYTAB
  cred_store = client_keytab:$KDC_KEYTAB
  krb5_principal = alice
  trusted = yes
  allow_client_ccache_sync = yes
  euid = $ME
EOF2
echo "gssproxy_v1 2.16.840.1.113730.3.8.15.1 $PROXYMECH <interposer>" >"$T/mech.conf"

start_server() { # name
    local s=$1 d=$T/$1
    mkdir -p "$d/rcache"
    sed "s|SOCKDIR|$d|" "$T/gssproxy.conf" >"$d/gssproxy.conf"
    if [ "$s" = cachetd ]; then
        cat >"$d/cachet.conf" <<EOF2
[cachetd]
socket_path = $d/kcm.sock
log_level = warning
storage = memory
state_dir = $d
memlock = degraded
control_socket = -
gssproxy = yes
gssproxy_config = $d/gssproxy.conf
gssproxy_config_dir = -
gssproxy_socket = $d/gp.sock
EOF2
        KRB5RCACHEDIR=$d/rcache "$CACHETD" -c "$d/cachet.conf" >"$d/out" 2>"$d/err" &
    else
        KRB5RCACHEDIR=$d/rcache GSS_USE_PROXY=NO "$GSSPROXY" -i -s "$d/gp.sock" \
            -c "$d/gssproxy.conf" >"$d/out" 2>"$d/err" &
    fi
    PIDS+=($!)
    SPID[$s]=$!
    for _ in $(seq 1 100); do
        [ -S "$d/gp.sock" ] && [ -S "$d/kernel.sock" ] && return 0
        sleep 0.1
    done
    echo "gp-bench: $s did not come up"; cat "$d/err"; exit 1
}

export KRB5CCNAME=FILE:$T/daemon.cc
kdc_password daemon | kinit daemon >/dev/null || exit 1

tokens() { # file count
    "$GP_PAIR" token host@localhost "$2" >"$1" || exit 1
}

kernel_rate() { # server mode: CONNSxINFLIGHT
    local d=$T/$1 conns=${2%x*} inflight=${2#*x}
    tokens "$T/tok" "$N"
    "$T/gp-bench" "$d/kernel.sock" "$T/tok" "$conns" "$inflight"
}

interp_rate() { # server procs
    local d=$T/$1 procs=$2 i start end fails=0
    start=$(date +%s.%N)
    for i in $(seq 1 "$procs"); do
        env GSS_USE_PROXY=yes GSSPROXY_SOCKET="$d/gp.sock" GSSPROXY_BEHAVIOR=REMOTE_ONLY \
            GSS_MECH_CONFIG="$T/mech.conf" KRB5_KTNAME="FILE:$T/none.kt" \
            KRB5_CLIENT_KTNAME="FILE:$T/none.ckt" KRB5CCNAME="FILE:$T/$1.client$i.cc" \
            /usr/bin/time -f "%U %S" -o "$T/time.$i" \
            "$GP_PAIR" pair host@localhost "$ROUNDS" >"$T/i.$i" 2>&1 &
    done
    for i in $(seq 1 "$procs"); do wait -n || fails=$((fails + 1)); done
    end=$(date +%s.%N)
    # The clients' CPU (user + system) per round, next to the server's and the KDC's.
    cat "$T"/time.[0-9]* | awk -v s="$start" -v e="$end" -v n=$((procs * ROUNDS)) -v f=$fails \
        '{c += $1 + $2} END {printf "init+accept %d (failed procs %d) in %.3f s: %.0f/s," \
            " client cpu %.3f ms/op\n", n, f, e-s, n/(e-s), c * 1000 / n}'
    rm -f "$T"/time.[0-9]*
}

rate_of() { sed -n 's/.*: \([0-9]*\)\/s.*/\1/p' | tail -n1; }

# AS and TGS requests the KDC has logged so far ("AS TGS").
kdc_reqs() {
    awk '/AS_REQ/ {a++} /TGS_REQ/ {t++} END {print a + 0, t + 0}' "$KDC_DIR/kdc.log"
}

# CPU time (utime + stime, clock ticks) of a server process and all its threads.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A SPID=()

start_server cachetd
start_server gssproxy
TCK=$(getconf CLK_TCK)
printf '%-16s %10s %10s %7s %14s %14s\n' "workload" "cachetd/s" "gssproxy/s" "ratio" \
    "cachetd ms/op" "gssproxy ms/op" | tee "$OUT/gp-bench.txt"
for w in ${WORKLOADS:-kernel:1x1 kernel:1x8 kernel:1x32 kernel:8x1 kernel:8x8 interp:1 interp:8}; do
    kind=${w%%:*} arg=${w#*:}
    declare -A R=() C=()
    for s in cachetd gssproxy; do
        c0=$(cpu_ticks "${SPID[$s]}")
        k0=$(kdc_reqs)
        d0=$(cpu_ticks "$KDC_PID")
        if [ "$kind" = kernel ]; then
            line=$(kernel_rate "$s" "$arg")
            ops=$N
        else
            line=$(interp_rate "$s" "$arg")
            ops=$((arg * ROUNDS))
        fi
        c1=$(cpu_ticks "${SPID[$s]}")
        k1=$(kdc_reqs)
        d1=$(cpu_ticks "$KDC_PID")
        echo "$s $w: $line (server cpu $(((c1 - c0) * 1000 / TCK)) ms," \
            "KDC requests $((${k1% *} - ${k0% *})) AS $((${k1#* } - ${k0#* })) TGS," \
            "KDC cpu $(((d1 - d0) * 1000 / TCK)) ms)" >>"$OUT/gp-bench.log"
        R[$s]=$(printf '%s\n' "$line" | rate_of)
        C[$s]=$(awk -v c=$((c1 - c0)) -v t="$TCK" -v n="$ops" 'BEGIN {printf "%.3f", c * 1000 / t / n}')
    done
    ratio=$(awk -v a="${R[cachetd]:-0}" -v b="${R[gssproxy]:-0}" 'BEGIN {if (b > 0) printf "%.2fx", a/b; else print "-"}')
    printf '%-16s %10s %10s %7s %14s %14s\n' "$w" "${R[cachetd]:-?}" "${R[gssproxy]:-?}" \
        "$ratio" "${C[cachetd]}" "${C[gssproxy]}" |
        tee -a "$OUT/gp-bench.txt"
done
if [ -n "$SYSCALLS" ]; then
    command -v strace >/dev/null || { echo "gp-bench: -s needs strace"; exit 2; }
    for s in cachetd gssproxy; do
        tokens "$T/tok" "$N"
        strace -c -S calls -f -p "${SPID[$s]}" -o "$OUT/strace.$s" 2>/dev/null &
        st=$!
        sleep 1
        "$T/gp-bench" "$T/$s/kernel.sock" "$T/tok" 1 8 >/dev/null
        kill -INT "$st"
        wait "$st"
        awk -v s="$s" -v n="$N" '$NF == "total" {t = $4}
            $NF != "total" && $4 ~ /^[0-9]+$/ && i++ < 6 {
                top = top sprintf(" %s %.1f", $NF, $4 / n)
            }
            END {printf "%-9s %6.1f system calls per kernel accept:%s\n", s, t / n, top}' \
            "$OUT/strace.$s" | tee -a "$OUT/gp-bench.txt"
    done
fi
echo "details: $OUT/gp-bench.log"
