#!/bin/bash
# Capture golden KCM frames from the installed MIT krb5 tools (kinit, klist, kvno, kswitch,
# kdestroy) talking to cachetd through tests/tools/kcm-capture.py.
#
#     bash tests/tools/capture-golden.sh OUTDIR [CACHETD]
#
# Runs two sessions against a throw-away KDC (scripts/kdc.sh):
#   full/  : cachetd with the MIT extensions (RETRIEVE, GET_CRED_LIST, REPLACE)
#   nomit/ : cachetd with mit_extensions = no, so the clients fall back to
#            INITIALIZE + SET_KDC_OFFSET + STORE, GET_CRED_UUID_LIST + GET_CRED_BY_UUID
# Every frame pair lands in OUTDIR/<session>/NNNN-<step>-<OP>.{req,rep} plus index.tsv.
# tests/data/kcm/ holds a selection of them (see tests/data/kcm/README.md).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: capture-golden.sh OUTDIR [CACHETD]}
cachetd=${2:-$top/src/cachetd}
mkdir -p "$out"
out=$(cd "$out" && pwd)

. "$top/scripts/kdc.sh"

T=$(mktemp -d /tmp/cachet-cap.XXXXXX)
CAP_PID=
D_PID=
cleanup() {
    [ -n "$CAP_PID" ] && kill "$CAP_PID" 2>/dev/null && wait "$CAP_PID" 2>/dev/null
    [ -n "$D_PID" ] && kill "$D_PID" 2>/dev/null && wait "$D_PID" 2>/dev/null
    kdc_stop
    rm -rf "$T"
}
trap cleanup EXIT

PROXY=$T/proxy.sock
kdc_setup "$T" "$PROXY" || exit 1
kdc_start || exit 1
echo "KDC on 127.0.0.1:$KDC_PORT realm $KDC_REALM"

start_session() { # NAME MIT_EXT
    local name=$1 ext=$2
    cat >"$T/cachet-$name.conf" <<EOF
[cachetd]
storage = memory
memlock = degraded
log_level = debug
mit_extensions = $ext
socket_path = $T/cachetd.sock
EOF
    rm -f "$T/cachetd.sock"
    "$cachetd" -c "$T/cachet-$name.conf" -s "$T/cachetd.sock" >"$T/d-$name.out" \
        2>"$T/d-$name.err" &
    D_PID=$!
    for _ in $(seq 100); do
        grep -q '^cachetd: ready' "$T/d-$name.out" 2>/dev/null && break
        sleep 0.05
    done
    grep -q '^cachetd: ready' "$T/d-$name.out" || { echo "cachetd did not start"; exit 1; }
    rm -rf "${out:?}/$name"
    python3 "$top/tests/tools/kcm-capture.py" --listen "$PROXY" --upstream "$T/cachetd.sock" \
        --out "$out/$name" --label-file "$T/label" >"$T/cap-$name.out" 2>&1 &
    CAP_PID=$!
    for _ in $(seq 100); do
        [ -S "$PROXY" ] && break
        sleep 0.05
    done
}

stop_session() {
    kill "$CAP_PID" && wait "$CAP_PID" 2>/dev/null
    CAP_PID=
    kill "$D_PID" && wait "$D_PID" 2>/dev/null
    D_PID=
    rm -f "$PROXY"
}

step() { # LABEL cmd...
    local label=$1
    shift
    echo "$label" >"$T/label"
    echo "+ [$label] $*"
    "$@" 2>&1 | sed 's/^/  | /'
}

kin() { # [kinit args] USER
    local u=${*: -1}
    kdc_password "$u" | kinit "$@" >/dev/null
}

session() {
    step klist-empty klist
    step kinit-alice kin -f -r 2d alice
    step klist klist
    step kvno-miss kvno host/localhost
    step kvno-hit kvno host/localhost
    step kinit-bob kin bob
    step klist-l klist -l
    step klist-A klist -A
    step kswitch kswitch -p alice
    step kinit-R kinit -R
    step kdestroy kdestroy
    step klist-A-after klist -A
    step kdestroy-A kdestroy -A
    step klist-A-empty klist -A
}

start_session full yes
session
stop_session

start_session nomit no
session
stop_session

echo "captured into $out/full and $out/nomit"
