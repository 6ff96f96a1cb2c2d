#!/bin/bash
# bench/run.sh - benchmark cachetd against Heimdal's kcm and sssd-kcm, side by side.
#
# One command: builds what is missing, installs the peer servers with apt-get if needed, starts
# every server on its own socket, drives each one with bench/kcmbench (MIT libkrb5's own KCM:
# client, synthetic credentials, no KDC), interleaving servers round by round so that a noisy
# machine hurts them all alike, and prints a table of medians and ratios.
#
# Needs root: it installs packages, Heimdal 7.8's kcm always binds
# /var/run/.heim_org.h5l.kcm-socket, and sssd_kcm keeps its config and data under /var/lib/sss.
# The clients run as a dedicated uid (default 24242) so that no real user's caches are touched.
# Every daemon started here is stopped on exit; only unix sockets are used, and the script aborts
# if any server it started holds an IP socket.
set -u

usage() {
    cat <<EOF
usage: bench/run.sh [options]
  -t SECS      measured seconds per run (default ${DURATION})
  -r N         rounds; the table shows the median (default ${ROUNDS})
  -s LIST      servers (default "${SERVERS}")
  -w LIST      workloads (default "${WORKLOADS}")
  -p LIST      client process counts (default "${PROCS}")
  -u UID       uid the clients run as (default ${BENCH_UID})
  -o DIR       output directory (default bench/out/<timestamp>)
  -R REV       benchmark cachetd built from a clean export of commit REV (in
               bench/out/build-<rev>/) instead of the working tree's src/cachetd
  --syscalls N after the timed rounds, count each server's system calls per op with
               strace -c (runs of N and 2N ops of one client; deterministic, unlike time)
  --table RAW  only print the tables of an earlier run's results.raw
  --no-null    do not measure the canned-reply KCM server (the upper bound column "null")
               nor its durable variants (null-sqlite, null-seal: the bounds for cachet-sqlite)
  --no-install do not apt-get install missing peer servers
  --no-build   do not run make (use the existing binaries)
  --quick      -t 0.5 -r 1 (smoke test)
Environment: CACHETD (binary to benchmark, default src/cachetd, built here; CACHETD_DESC
  describes it in the report),
  CACHET_LOG_LEVEL (default warning), SSSD_STORAGE (secdb|memory, default secdb).
EOF
}

TOP=$(cd "$(dirname "$0")/.." && pwd)
DURATION=2
ROUNDS=5
SERVERS="cachet-mem cachet-sqlite heimdal sssd"
WORKLOADS="store retrieve iterate list"
PROCS="1 16"
BENCH_UID=24242
OUT=""
REV=""
INSTALL=1
BUILD=1
SYSCALL_OPS=0
NULLSRV=null
TABLE_ONLY=""
CACHET_LOG_LEVEL=${CACHET_LOG_LEVEL:-warning}
SSSD_STORAGE=${SSSD_STORAGE:-secdb}

while [ $# -gt 0 ]; do
    case "$1" in
    -t) DURATION=$2; shift 2 ;;
    -r) ROUNDS=$2; shift 2 ;;
    -s) SERVERS=$2; shift 2 ;;
    -w) WORKLOADS=$2; shift 2 ;;
    -p) PROCS=$2; shift 2 ;;
    -u) BENCH_UID=$2; shift 2 ;;
    -o) OUT=$2; shift 2 ;;
    -R) REV=$2; shift 2 ;;
    --syscalls) SYSCALL_OPS=$2; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --no-null) NULLSRV=""; shift ;;
    --table) TABLE_ONLY=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --quick) DURATION=0.5; ROUNDS=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

HEIM_SOCK=/var/run/.heim_org.h5l.kcm-socket
HEIM_KCM=/usr/sbin/kcm
SSSD_KCM=/usr/libexec/sssd/sssd_kcm
SSSD_CONFDB=/var/lib/sss/db/config.ldb
SSSD_SECRETS=/var/lib/sss/secrets/secrets.ldb

say() { printf '%s\n' "$*"; }
note() { printf 'run.sh: %s\n' "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }

has_server() { case " $SERVERS " in *" $1 "*) return 0 ;; esac; return 1; }
drop_server() {
    local s new=""
    for s in $SERVERS; do [ "$s" = "$1" ] || new="$new $s"; done
    SERVERS=${new# }
}

# render_table RAW [SERVERS REALSERVERS WORKLOADS PROCS DURATION ROUNDS]: empty lists are taken
# from the RESULT lines themselves (--table mode).
render_table() {
awk -v servers="${2:-}" -v realservers="${3:-}" -v workloads="${4:-}" -v procs="${5:-}" \
    -v duration="${6:-}" -v rounds="${7:-}" -v ncpu="$(nproc)" '
function median(key) { return med(key, 0) }
function med(key, which,    n, i, j, t, v) {
    n = which == 0 ? cnt[key] : (which == 1 ? scnt[key] : ccnt[key])
    if (n == 0) return -1
    for (i = 1; i <= n; i++) v[i] = which == 0 ? val[key, i] : (which == 1 ? sval[key, i] : cval[key, i])
    for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    if (n % 2) return v[(n + 1) / 2]
    return (v[n / 2] + v[n / 2 + 1]) / 2
}
# Median over rounds of the per-round ratio a/b: servers measured side by side in a round share
# the machine'"'"'s state at that moment, so this is steadier than a ratio of medians.
function rratio(a, b, w, p,    r, n, i, j, t, v, x, y) {
    n = 0
    for (r in rounds_seen) {
        x = rv[a SUBSEP w SUBSEP p, r]; y = rv[b SUBSEP w SUBSEP p, r]
        if (x > 0 && y > 0) v[++n] = x / y
    }
    if (n == 0) return -1
    for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    if (n % 2) return v[(n + 1) / 2]
    return (v[n / 2] + v[n / 2 + 1]) / 2
}
function fmt(x) { return x < 0 ? "-" : (x >= 100 ? sprintf("%.0f", x) : sprintf("%.1f", x)) }
function ratio(a, b) { return (a <= 0 || b <= 0) ? -1 : a / b }
function rfmt(x) { return x < 0 ? "n/a" : (x >= 100 ? sprintf("%.0fx", x) : sprintf("%.2fx", x)) }
function verdict(x, t) { return x < 0 ? "" : (x >= t ? "ok" : "MISS") }
/^SYSCALLS / {
    delete g
    for (i = 2; i <= NF; i++) { k = $i; sub(/=.*/, "", k); v = $i; sub(/^[^=]*=/, "", v); g[k] = v }
    sys[g["label"], g["workload"]] = g["total"]; nsys++
    next
}
/^# duration=/ && duration == "" {
    d = $2; sub(/duration=/, "", d); sub(/s$/, "", d); duration = d
    r = $3; sub(/rounds=/, "", r); rounds = r
}
/^RESULT / {
    delete f
    for (i = 2; i <= NF; i++) { k = $i; sub(/=.*/, "", k); v = $i; sub(/^[^=]*=/, "", v); f[k] = v }
    key = f["label"] SUBSEP f["workload"] SUBSEP f["procs"]
    cnt[key]++; val[key, cnt[key]] = f["ops_per_sec"] + 0
    rv[key, f["round"]] = f["ops_per_sec"] + 0; rounds_seen[f["round"]] = 1
    if (!(f["label"] in seen_l)) { seen_l[f["label"]] = 1; lorder[++nl] = f["label"] }
    seen_w[f["workload"]] = 1; seen_p[f["procs"]] = 1
    if ("srv_us_per_op" in f) { scnt[key]++; sval[key, scnt[key]] = f["srv_us_per_op"] + 0 }
    if ("cli_us_per_op" in f) { ccnt[key]++; cval[key, ccnt[key]] = f["cli_us_per_op"] + 0 }
    if (f["errors"] + 0 > 0 || f["failed_procs"] + 0 > 0 || f["rc"] != "0") bad[key] = 1
    if (index($0, " error=\"")) { e = $0; sub(/.* error="/, "", e); sub(/".*/, "", e); err[key] = e }
}
END {
    if (servers == "") {
        for (i = 1; i <= nl; i++) if (lorder[i] != "floor" && lorder[i] !~ /^null/) realservers = realservers " " lorder[i]
        servers = realservers (("null" in seen_l) ? " null" : "")
    }
    if (workloads == "") {
        split("store retrieve iterate list", ALLW, " ")
        for (i = 1; i <= 4; i++) if (ALLW[i] in seen_w) workloads = workloads " " ALLW[i]
    }
    if (procs == "") {
        for (p in seen_p) procs = procs " " p
        np = split(procs, P, " ")
        for (i = 2; i <= np; i++) { t = P[i]; for (j = i - 1; j >= 1 && P[j] + 0 > t + 0; j--) P[j + 1] = P[j]; P[j + 1] = t }
        procs = ""; for (i = 1; i <= np; i++) procs = procs " " P[i]
    }
    ns = split(servers, S, " "); nw = split(workloads, W, " "); np = split(procs, P, " ")
    for (b = 1; b <= np; b++) { sq[P[b]] = -1; ret_mem[P[b]] = -1 }
    tgt_h["store"] = 1.5; tgt_h["retrieve"] = 2; tgt_h["iterate"] = 8; tgt_h["list"] = 2
    printf "ops/s, median of %d round(s) of %ss; higher is better; ! = errors in a run (see below)\n", rounds, duration
    printf "ratios: median over rounds of the per-round ratio\n\n"
    printf "%-9s %5s", "workload", "procs"
    for (i = 1; i <= ns; i++) printf " %14s", S[i]
    printf "  | %-20s %-9s | %-20s | %s\n", "mem/heimdal  target", "bound", "mem/sssd    target", "mem/sqlite"
    for (a = 1; a <= nw; a++) for (b = 1; b <= np; b++) {
        w = W[a]; p = P[b]
        printf "%-9s %5s", w, p
        for (i = 1; i <= ns; i++) {
            m[S[i]] = median(S[i] SUBSEP w SUBSEP p)
            printf " %13s%s", fmt(m[S[i]]), (bad[S[i], w, p] ? "!" : " ")
        }
        rh = rratio("cachet-mem", "heimdal", w, p); rs = rratio("cachet-mem", "sssd", w, p)
        rq = rratio("cachet-mem", "cachet-sqlite", w, p)
        rb = rratio("null", "heimdal", w, p)
        printf "  | %7s %-6s %-5s %-9s | %7s %-6s %-5s | %s\n", rfmt(rh), ">=" tgt_h[w] "x", verdict(rh, tgt_h[w]),
            rfmt(rb), rfmt(rs), ">=50x", verdict(rs, 50), rfmt(rq)
        if (w == "store") { sq[p] = rratio("cachet-sqlite", "heimdal", w, p) }
        if (w == "retrieve") { ret_mem[p] = m["cachet-mem"] }
    }
    printf "\n"
    printf "floor: raw AF_UNIX 16-byte request/reply against a single-threaded epoll echo server\n"
    printf "(floorconn: a new connection for every round trip)\n"
    for (b = 1; b <= np; b++) {
        p = P[b]; fl = median("floor" SUBSEP "floor" SUBSEP p); fc = median("floor" SUBSEP "floorconn" SUBSEP p)
        printf "  %2s procs: floor %s ops/s (server %s us/op), floorconn %s ops/s (server %s us/op)", p,
            fmt(fl), fmt(med("floor" SUBSEP "floor" SUBSEP p, 1)), fmt(fc), fmt(med("floor" SUBSEP "floorconn" SUBSEP p, 1))
        if (ret_mem[p] > 0 && fl > 0) printf "; cachet-mem retrieve = %.0f%% of floor", 100 * ret_mem[p] / fl
        printf "\n"
    }
    printf "\nnull = kcmbench'"'"'s canned-reply KCM server (stores nothing, answers from precomputed bytes):\n"
    printf "the most any server can reach with this client on this machine. bound = null/heimdal,\n"
    printf "the highest mem/heimdal ratio that is possible at all.\n"
    printf "\npersistence: mem/sqlite above is how many times faster memory storage is (1.00x = free).\n"
    for (b = 1; b <= np; b++) {
        p = P[b]
        printf "sqlite store vs heimdal store, %s procs: %s (target >=1.3x) %s\n", p, rfmt(sq[p]), verdict(sq[p], 1.3)
    }
    if (("null-sqlite" in seen_l) || ("null-seal" in seen_l)) {
        printf "\nbounds for a durable store: the null server committing every change request to sqlite\n"
        printf "(cachetd'"'"'s WAL settings, one transaction per loop round) before replying, as a bare\n"
        printf "append (null-sqlite), and with each STORE sealed by krb5_c_encrypt first (null-seal):\n"
        printf "no server that commits what it acknowledges and encrypts credentials at rest can pass\n"
        printf "null-seal/heimdal.\n"
        for (b = 1; b <= np; b++) {
            p = P[b]
            printf "  %2s procs: null-sqlite %s ops/s (server %s us/op) = %s heimdal; null-seal %s ops/s (server %s us/op) = %s heimdal; cachet-sqlite = %s of null-seal\n",
                p, fmt(median("null-sqlite" SUBSEP "store" SUBSEP p)), fmt(med("null-sqlite" SUBSEP "store" SUBSEP p, 1)),
                rfmt(rratio("null-sqlite", "heimdal", "store", p)),
                fmt(median("null-seal" SUBSEP "store" SUBSEP p)), fmt(med("null-seal" SUBSEP "store" SUBSEP p, 1)),
                rfmt(rratio("null-seal", "heimdal", "store", p)), rfmt(rratio("cachet-sqlite", "null-seal", "store", p))
        }
    }
    printf "\nCPU microseconds per op (median): server [client = libkrb5 + kcmbench, per op]\n"
    printf "This isolates the server: throughput above also pays for the client, and on this\n"
    printf "%d-CPU machine the clients and the server share the CPUs.\n\n", ncpu
    printf "%-9s %5s", "workload", "procs"
    for (i = 1; i <= ns; i++) printf " %18s", S[i]
    printf "   %-14s %-14s\n", "heimdal/mem", "sssd/mem"
    for (a = 1; a <= nw; a++) for (b = 1; b <= np; b++) {
        w = W[a]; p = P[b]
        printf "%-9s %5s", w, p
        for (i = 1; i <= ns; i++) {
            k = S[i] SUBSEP w SUBSEP p
            sc[S[i]] = med(k, 1); cc = med(k, 2)
            printf " %18s", fmt(sc[S[i]]) " [" fmt(cc) "]"
        }
        printf "   %-14s %-14s\n", rfmt(ratio(sc["heimdal"], sc["cachet-mem"])),
            rfmt(ratio(sc["sssd"], sc["cachet-mem"]))
    }
    if (nsys > 0) {
        printf "\nsystem calls per op made by the server (strace -c, one client, fixed op count)\n\n"
        nr = split(realservers, R, " ")
        printf "%-9s", "workload"
        for (i = 1; i <= nr; i++) printf " %14s", R[i]
        printf "\n"
        for (a = 1; a <= nw; a++) {
            printf "%-9s", W[a]
            for (i = 1; i <= nr; i++) {
                k = R[i] SUBSEP W[a]
                printf " %14s", (k in sys) ? sys[k] : "-"
            }
            printf "\n"
        }
        printf "(per-call breakdown: SYSCALLS lines in results.raw)\n"
    }
    first = 1
    for (k in err) {
        if (first) { printf "\nerrors (first message per cell):\n"; first = 0 }
        split(k, kk, SUBSEP); printf "  %s %s %s procs: %s\n", kk[1], kk[2], kk[3], err[k]
    }
}' "$1"
}

if [ -n "$TABLE_ONLY" ]; then
    [ -r "$TABLE_ONLY" ] || die "cannot read $TABLE_ONLY"
    sed -n 's/^# //p' "$TABLE_ONLY"
    echo
    render_table "$TABLE_ONLY"
    exit 0
fi

[ "$(id -u)" = 0 ] || die "run as root (see the header of this script for why)"

[ -n "$OUT" ] || OUT="$TOP/bench/out/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT/logs" || die "cannot create $OUT"
RAW="$OUT/results.raw"
: > "$RAW"

# ---------------------------------------------------------------------------------------------
# State to undo on exit

RUN=""
declare -A PID=() SOCK=()
STOPPED_UNITS=""
STOPPED_INITD=""
HEIM_SOCK_OURS=0
SSSD_CONFDB_SAVED=""
SSSD_CONFDB_ABSENT=0
SSSD_SECRETS_ABSENT=0
SSSD_SECRETS_SAVED=""

stop_daemon() {
    local name=$1 pid=${PID[$1]:-} i
    [ -n "$pid" ] || return 0
    # Each daemon was started with setsid: its pid is its process group.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        note "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    unset "PID[$name]"
}

cleanup() {
    local name u
    trap - EXIT INT TERM
    for name in "${!PID[@]}"; do
        stop_daemon "$name"
    done
    if [ "$HEIM_SOCK_OURS" = 1 ]; then
        rm -f "$HEIM_SOCK"
    fi
    if [ -n "$SSSD_CONFDB_SAVED" ]; then
        cp -p "$SSSD_CONFDB_SAVED" "$SSSD_CONFDB"
    elif [ "$SSSD_CONFDB_ABSENT" = 1 ]; then
        rm -f "$SSSD_CONFDB"
    fi
    if [ -n "$SSSD_SECRETS_SAVED" ]; then
        mv -f "$SSSD_SECRETS_SAVED" "$SSSD_SECRETS"
    elif [ "$SSSD_SECRETS_ABSENT" = 1 ]; then
        rm -f "$SSSD_SECRETS"
    fi
    for u in $STOPPED_UNITS; do
        note "restarting $u, which this run stopped"
        systemctl start "$u" || note "could not restart $u"
    done
    if [ -n "$STOPPED_INITD" ]; then
        note "restarting heimdal-kcm (init script), which this run stopped"
        /etc/init.d/heimdal-kcm start || note "could not restart heimdal-kcm"
    fi
    if [ -n "$RUN" ] && [ -d "$RUN" ]; then
        rm -rf "$RUN"
    fi
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT TERM

# ---------------------------------------------------------------------------------------------
# Build

KCMBENCH="$TOP/bench/kcmbench"
# CACHETD=/path/to/cachetd benchmarks that binary instead (e.g. one built from a clean checkout
# of a given commit) and skips building it here.
CACHETD_GIVEN=${CACHETD:+1}
CACHETD=${CACHETD:-$TOP/src/cachetd}

build() {
    local log="$OUT/logs/build.log"
    (
        cd "$TOP" || exit 1
        if [ ! -f Makefile ]; then
            if [ ! -x configure ]; then ./autogen.sh || exit 1; fi
            ./configure || exit 1
        fi
    ) >"$log" 2>&1 || note "configure failed (see $log)"
    if [ -f "$TOP/Makefile" ]; then
        if [ -z "$CACHETD_GIVEN" ] && { has_server cachet-mem || has_server cachet-sqlite; }; then
            make -C "$TOP" -j2 src/cachetd >>"$log" 2>&1 || note "make src/cachetd failed (see $log)"
        fi
        make -C "$TOP" -j2 bench/kcmbench >>"$log" 2>&1 || note "make bench/kcmbench failed"
    fi
    local newer=0 f
    for f in "$TOP"/bench/kcmbench.c "$TOP"/bench/kcmbench.h "$TOP"/bench/kb_*.c; do
        [ "$f" -nt "$KCMBENCH" ] && newer=1
    done
    if [ ! -x "$KCMBENCH" ] || [ "$newer" = 1 ]; then
        # The tree could not be configured: build the client by hand; it needs only libkrb5.
        KCMBENCH="$OUT/kcmbench"
        note "building kcmbench directly into $KCMBENCH"
        # shellcheck disable=SC2046
        cc -O2 -g -o "$KCMBENCH" "$TOP"/bench/kcmbench.c "$TOP"/bench/kb_kcm.c "$TOP"/bench/kb_servers.c \
            $(pkg-config --cflags --libs krb5) -lm >>"$log" 2>&1 ||
            die "cannot build kcmbench (see $log)"
    fi
}

# Build cachetd from `git archive REV` so that the figures belong to a commit, not to whatever
# the working tree holds at the moment.
build_rev() {
    local sha dir log="$OUT/logs/build-rev.log"
    git -C "$TOP" rev-parse -q --verify "$REV^{commit}" >/dev/null || die "unknown revision $REV"
    # Key the build by the last commit that touched anything outside bench/: commits to the
    # benchmark alone do not change cachetd.
    sha=$(git -C "$TOP" log -1 --format=%h "$REV" -- . ':(exclude)bench')
    dir="$TOP/bench/out/build-$sha"
    if [ ! -x "$dir/src/cachetd" ]; then
        note "building cachetd at $sha in $dir"
        rm -rf "$dir" && mkdir -p "$dir" || die "cannot create $dir"
        git -C "$TOP" archive "$sha" | tar -x -C "$dir" || die "git archive $sha failed"
        (cd "$dir" && ./autogen.sh && ./configure && make -j2 src/cachetd) >"$log" 2>&1 ||
            die "cannot build cachetd at $sha (see $log)"
    fi
    CACHETD="$dir/src/cachetd"
    CACHETD_GIVEN=1
    CACHETD_DESC="(commit $sha = cachetd as of $REV, built from a clean export)"
}

if [ -n "$REV" ]; then
    build_rev
fi
if [ "$BUILD" = 1 ]; then
    build
fi
[ -x "$KCMBENCH" ] || die "no $KCMBENCH (run without --no-build)"
if has_server cachet-mem || has_server cachet-sqlite; then
    if [ ! -x "$CACHETD" ]; then
        note "no $CACHETD: benchmarking the peers only"
        drop_server cachet-mem
        drop_server cachet-sqlite
    fi
fi

# ---------------------------------------------------------------------------------------------
# Peer packages

install_peers() {
    local pkgs=""
    if has_server heimdal && [ ! -x "$HEIM_KCM" ]; then pkgs="$pkgs heimdal-kcm"; fi
    if has_server sssd && [ ! -x "$SSSD_KCM" ]; then pkgs="$pkgs sssd-kcm"; fi
    if has_server sssd && ! command -v systemd-socket-activate >/dev/null; then pkgs="$pkgs systemd"; fi
    [ -n "$pkgs" ] || return 0
    if [ "$INSTALL" = 0 ]; then
        note "missing:$pkgs (and --no-install given)"
        return 0
    fi
    note "installing:$pkgs"
    {
        apt-get update &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y $pkgs
    } >"$OUT/logs/apt.log" 2>&1 || note "apt-get failed (see $OUT/logs/apt.log)"
}
install_peers
if has_server heimdal && [ ! -x "$HEIM_KCM" ]; then note "no $HEIM_KCM: skipping heimdal"; drop_server heimdal; fi
if has_server sssd && [ ! -x "$SSSD_KCM" ]; then note "no $SSSD_KCM: skipping sssd"; drop_server sssd; fi
if [ -f /etc/krb5.conf.d/kcm_default_ccache ]; then
    note "note: sssd-kcm installed /etc/krb5.conf.d/kcm_default_ccache (default_ccache_name = KCM:)" \
        "for the whole machine; this benchmark uses its own KRB5_CONFIG and is not affected."
fi

# ---------------------------------------------------------------------------------------------
# Servers

RUN=$(mktemp -d /tmp/cachet-bench.XXXXXX) || die "mktemp failed"
chmod 755 "$RUN"

# Who holds a listening unix socket at this path ("" if nobody)?
socket_owner() {
    local p=$1 alt
    alt=${p/#\/var\/run\//\/run\/}
    ss -Hxlp 2>/dev/null | awk -v a="$p" -v b="$alt" '$5 == a || $5 == b { print }'
}

# Abort if a daemon we started holds any TCP/UDP socket.
check_no_ip() {
    local name=$1 pid=${PID[$1]:-}
    [ -n "$pid" ] || return 0
    if ss -Hatupn 2>/dev/null | grep -q "pid=$pid,"; then
        note "FATAL: $name (pid $pid) holds an IP socket:"
        ss -Hatupn | grep "pid=$pid," >&2
        exit 1
    fi
}

# kcmbench -w clean doubles as a readiness probe: it must complete a collection walk.
probe() {
    local name=$1 i
    for i in $(seq 100); do
        if "$KCMBENCH" -w clean -S "${SOCK[$name]}" -u "$BENCH_UID" -l "$name" \
            >>"$OUT/logs/$name.probe" 2>&1; then
            return 0
        fi
        if ! kill -0 "${PID[$name]}" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    return 1
}

# start NAME SOCKET READY-REGEX command...
start() {
    local name=$1 sock=$2 ready=$3 i
    shift 3
    SOCK[$name]=$sock
    setsid "$@" >"$OUT/logs/$name.log" 2>&1 </dev/null &
    PID[$name]=$!
    for i in $(seq 150); do
        if ! kill -0 "${PID[$name]}" 2>/dev/null; then
            note "$name exited at start-up:"
            tail -n 20 "$OUT/logs/$name.log" >&2
            unset "PID[$name]"
            return 1
        fi
        if [ -n "$ready" ]; then
            grep -q "$ready" "$OUT/logs/$name.log" && break
        elif [ -S "$sock" ]; then
            break
        fi
        sleep 0.1
    done
    if [ -n "$ready" ] && ! grep -q "$ready" "$OUT/logs/$name.log"; then
        note "$name did not print '$ready' within 15 s"
        stop_daemon "$name"
        return 1
    fi
    check_no_ip "$name"
    return 0
}

start_cachet() {
    local name=$1 storage=$2 dir="$RUN/$1"
    mkdir -p "$dir" && mkdir -m 700 "$dir/state"
    cat >"$dir/cachetd.conf" <<EOF
[cachetd]
socket_path = $dir/kcm.sock
storage = $storage
state_dir = $dir/state
log_level = $CACHET_LOG_LEVEL
EOF
    start "$name" "$dir/kcm.sock" "cachetd: ready, listening on" "$CACHETD" -c "$dir/cachetd.conf"
}

free_heimdal_socket() {
    local owner
    owner=$(socket_owner "$HEIM_SOCK")
    [ -n "$owner" ] || { rm -f "$HEIM_SOCK"; return 0; }
    note "$HEIM_SOCK is in use: $owner"
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        local u
        for u in sssd-kcm.socket sssd-kcm.service heimdal-kcm.service; do
            if systemctl -q is-active "$u" 2>/dev/null; then
                note "stopping $u for the duration of the benchmark"
                systemctl stop "$u" && STOPPED_UNITS="$STOPPED_UNITS $u"
            fi
        done
    elif [[ "$owner" == *'"kcm"'* ]] && [ -x /etc/init.d/heimdal-kcm ]; then
        note "stopping heimdal-kcm (init script) for the duration of the benchmark"
        /etc/init.d/heimdal-kcm stop && STOPPED_INITD=1
    fi
    sleep 0.5
    owner=$(socket_owner "$HEIM_SOCK")
    if [ -n "$owner" ]; then
        note "$HEIM_SOCK is still owned by: $owner -- skipping heimdal (Heimdal 7.8 cannot use another path)"
        return 1
    fi
    rm -f "$HEIM_SOCK"
    return 0
}

start_heimdal() {
    local dir="$RUN/heimdal"
    mkdir -p "$dir"
    free_heimdal_socket || return 1
    # Heimdal reads KRB5_CONFIG too; an empty kcm.conf keeps the machine's kcm.conf out.
    printf '[libdefaults]\n  default_realm = BENCH.TEST\n' >"$dir/krb5.conf"
    : >"$dir/kcm.conf"
    HEIM_SOCK_OURS=1
    start heimdal "$HEIM_SOCK" "" env KRB5_CONFIG="$dir/krb5.conf" "$HEIM_KCM" \
        --config-file="$dir/kcm.conf"
}

start_sssd() {
    local dir="$RUN/sssd"
    mkdir -p "$dir"
    # sssd_kcm reads only the confdb (/var/lib/sss/db/config.ldb), which
    # `sssd --genconf-section=kcm` builds from an sssd.conf; keep whatever was there and put it
    # back on exit.
    if [ -f "$SSSD_CONFDB" ]; then
        SSSD_CONFDB_SAVED="$RUN/config.ldb.saved"
        cp -p "$SSSD_CONFDB" "$SSSD_CONFDB_SAVED"
    else
        SSSD_CONFDB_ABSENT=1
    fi
    # Start from an empty secrets database, as cachet-sqlite starts from an empty state_dir
    # (a database grown by earlier runs is slower). Move the existing one aside and put it
    # back on exit -- unless another sssd_kcm is running and may be using it.
    if pgrep -x sssd_kcm >/dev/null; then
        note "another sssd_kcm is running: using $SSSD_SECRETS as it is"
    elif [ -f "$SSSD_SECRETS" ]; then
        SSSD_SECRETS_SAVED="$RUN/secrets.ldb.saved"
        mv "$SSSD_SECRETS" "$SSSD_SECRETS_SAVED"
    else
        SSSD_SECRETS_ABSENT=1
    fi
    cat >"$dir/sssd.conf" <<EOF
[sssd]
services = kcm

[kcm]
socket_path = $dir/kcm.sock
ccache_storage = $SSSD_STORAGE
# Never exit when idle (the default 300 s would end the process between rounds).
responder_idle_timeout = 0
EOF
    chmod 600 "$dir/sssd.conf"
    /usr/sbin/sssd --genconf-section=kcm -c "$dir/sssd.conf" >"$OUT/logs/sssd-genconf.log" 2>&1 ||
        { note "sssd --genconf-section=kcm failed (see $OUT/logs/sssd-genconf.log)"; return 1; }
    # As the Debian unit does (sssd-kcm.service): socket activation, --uid 0 --gid 0.
    start sssd "$dir/kcm.sock" "" systemd-socket-activate -l "$dir/kcm.sock" \
        "$SSSD_KCM" --uid 0 --gid 0 --logger=stderr || return 1
    # systemd-socket-activate creates the socket 0755; the clients are not root.
    chmod 666 "$dir/kcm.sock"
}

start_server() {
    case "$1" in
    cachet-mem) start_cachet cachet-mem memory ;;
    cachet-sqlite) start_cachet cachet-sqlite sqlite ;;
    heimdal) start_heimdal ;;
    sssd) start_sssd ;;
    *) note "unknown server $1"; return 1 ;;
    esac
}

for s in $SERVERS; do
    if start_server "$s" && probe "$s"; then
        say "started $s (pid ${PID[$s]}) on ${SOCK[$s]}"
    else
        note "$s could not be started or does not answer; skipping it (log: $OUT/logs/$s.log)"
        stop_daemon "$s"
        drop_server "$s"
    fi
done
for s in $SERVERS; do check_no_ip "$s"; done
[ -n "$SERVERS" ] || die "no server to benchmark"

# ---------------------------------------------------------------------------------------------
# Measurements: round-robin over servers inside every (workload, procs) cell, rotating the
# server order each round.

{
    echo "# cachet bench $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "# host: $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
    if [ -n "$CACHETD_GIVEN" ]; then
        echo "# cachet: $CACHETD ${CACHETD_DESC:-}"
    else
        echo "# cachet: $(git -C "$TOP" describe --always --dirty 2>/dev/null) ($CACHETD)"
    fi
    echo "# heimdal-kcm: $(dpkg-query -W -f '${Version}' heimdal-kcm 2>/dev/null)"
    echo "# sssd-kcm: $(dpkg-query -W -f '${Version}' sssd-kcm 2>/dev/null) (ccache_storage=$SSSD_STORAGE)"
    echo "# libkrb5: $(dpkg-query -W -f '${Version}' libkrb5-3 2>/dev/null)"
    echo "# duration=${DURATION}s rounds=$ROUNDS uid=$BENCH_UID"
    echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews 1-process figures most)"
} >>"$RAW"

rotate() { # rotate LIST by N
    local n=$1; shift
    local a=("$@") i len=$#
    for ((i = 0; i < len; i++)); do printf '%s ' "${a[$(((i + n) % len))]}"; done
}

# The durable-store bounds (null-sqlite, null-seal) matter for the store workload only, and only
# when cachet-sqlite is measured next to them.
persist_bounds() { # persist_bounds WORKLOAD
    if [ "$1" = store ] && [ -n "$NULLSRV" ] && has_server cachet-sqlite; then
        echo null-sqlite null-seal
    fi
}

bench_one() { # bench_one SERVER WORKLOAD PROCS ROUND
    local line rc
    if [ "$1" = floor ]; then
        line=$("$KCMBENCH" -w "$2" -p "$3" -t "$DURATION" -u "$BENCH_UID" -l floor 2>>"$OUT/logs/kcmbench.err")
    elif [ "$1" = null ]; then
        line=$("$KCMBENCH" -w "$2" --null-server -p "$3" -t "$DURATION" -u "$BENCH_UID" \
            --clean -l null 2>>"$OUT/logs/kcmbench.err")
    elif [ "$1" = null-sqlite ] || [ "$1" = null-seal ]; then
        local mode=sqlite
        [ "$1" = null-seal ] && mode=sqlite-seal
        line=$("$KCMBENCH" -w "$2" --null-server="$mode" -p "$3" -t "$DURATION" -u "$BENCH_UID" \
            --clean -l "$1" 2>>"$OUT/logs/kcmbench.err")
    else
        line=$("$KCMBENCH" -w "$2" -S "${SOCK[$1]}" -p "$3" -t "$DURATION" -u "$BENCH_UID" \
            --clean --server-pid "${PID[$1]}" -l "$1" 2>>"$OUT/logs/kcmbench.err")
    fi
    rc=$?
    [ -n "$line" ] || line="RESULT label=$1 workload=$2 procs=$3 ops=0 errors=1 failed_procs=$3 secs=0 ops_per_sec=0 error=\"kcmbench exit $rc, no output\""
    echo "$line round=$4 rc=$rc" >>"$RAW"
    printf '  %-14s %-8s %3s procs: %s\n' "$1" "$2" "$3" \
        "$(echo "$line" | sed -n 's/.*ops_per_sec=\([0-9.]*\).*/\1 ops\/s/p')$(echo "$line" | grep -o ' error=.*')"
}

say "benchmarking: $SERVERS; ${DURATION}s x $ROUNDS rounds; clients as uid $BENCH_UID; out: $OUT"
for r in $(seq "$ROUNDS"); do
    say "round $r/$ROUNDS"
    for p in $PROCS; do
        bench_one floor floor "$p" "$r"
        bench_one floor floorconn "$p" "$r"
    done
    for w in $WORKLOADS; do
        for p in $PROCS; do
            for s in $(rotate $((r - 1)) $SERVERS $NULLSRV $(persist_bounds "$w")); do
                bench_one "$s" "$w" "$p" "$r"
            done
        done
    done
    for s in $SERVERS; do
        if ! kill -0 "${PID[$s]}" 2>/dev/null; then
            note "$s died during round $r (log: $OUT/logs/$s.log)"
        fi
    done
done
# System calls per op: strace -c on the server while one client runs a fixed number of ops.
syscalls_one() { # syscalls_one SERVER WORKLOAD
    # Two traced runs, of N and 2N ops: the difference divided by N is the cost of one op,
    # without the fixtures (caches filled before the timed ops) and start-up of each run.
    local s=$1 w=$2 n k st
    for k in 1 2; do
        n=$((SYSCALL_OPS * k))
        "$KCMBENCH" -w clean -S "${SOCK[$s]}" -u "$BENCH_UID" -l "$s" >/dev/null 2>&1
        strace -c -f -p "${PID[$s]}" -o "$OUT/logs/strace.$s.$w.$k.txt" 2>/dev/null &
        st=$!
        sleep 0.5
        "$KCMBENCH" -w "$w" -S "${SOCK[$s]}" -u "$BENCH_UID" --clean -n "$n" -W 0 -l "$s" \
            >/dev/null 2>>"$OUT/logs/kcmbench.err"
        sleep 0.3
        kill -INT "$st" 2>/dev/null
        wait "$st" 2>/dev/null
    done
    awk -v n="$SYSCALL_OPS" -v s="$s" -v w="$w" '
        FNR <= 2 || /^-/ { next }
        { c = $4; name = $NF; if (FILENAME ~ /\.1\.txt$/) c = -c; d[name] += c }
        END { line = ""
              for (k in d) if (k != "total" && d[k] / n >= 0.5) line = line sprintf(" %s=%.1f", k, d[k] / n)
              printf "SYSCALLS label=%s workload=%s total=%.1f%s\n", s, w, d["total"] / n, line }' \
        "$OUT/logs/strace.$s.$w.1.txt" "$OUT/logs/strace.$s.$w.2.txt"
}
if [ "$SYSCALL_OPS" -gt 0 ]; then
    if ! command -v strace >/dev/null && [ "$INSTALL" = 1 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y strace >>"$OUT/logs/apt.log" 2>&1
    fi
    if command -v strace >/dev/null; then
        say "counting system calls per op ($SYSCALL_OPS ops, 1 client)"
        for w in $WORKLOADS; do
            for s in $SERVERS; do
                syscalls_one "$s" "$w" >>"$RAW"
            done
        done
    else
        note "no strace: skipping --syscalls"
    fi
fi

for s in $SERVERS; do check_no_ip "$s"; done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW"

# ---------------------------------------------------------------------------------------------
# Table


render_table "$RAW" "$SERVERS $NULLSRV" "$SERVERS" "$WORKLOADS" "$PROCS" "$DURATION" "$ROUNDS" \
    >"$OUT/table.txt"

say ""
sed -n 's/^# //p' "$RAW"
say ""
cat "$OUT/table.txt"
say ""
say "raw results: $RAW; logs: $OUT/logs/"
