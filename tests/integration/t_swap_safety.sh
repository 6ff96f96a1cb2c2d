#!/bin/bash
# Swap-safety of a running daemon: secrets sit in locked, no-dump memory; the process is
# not dumpable (a same-uid peer cannot read /proc/PID/mem); a core taken by root does not
# contain a stored key pattern although the daemon still serves it.
. "$(dirname "$0")/lib.sh"
it_init "secrets locked, excluded from cores, unreadable by same-uid peers"
[ "$(id -u)" -eq 0 ] || skip "needs root (runs the daemon as nobody, takes a core with gcore)"
need_cmd gcore setpriv
PATTERN=$(python3 -c 'import os; print(("c4c4e7" + os.urandom(13).hex())[:32])')

# 1. Daemon as root: locked no-dump mappings, core without the pattern.
daemon_config memlock=refuse
daemon_start
run python3 "$IT_DIR/kcmsecret.py" "$SOCK" 0:swap "$PATTERN" store || fail "store failed"
run python3 "$IT_DIR/kcmsecret.py" "$SOCK" 0:swap "$PATTERN" check || fail "pattern not served"

# Every writable no-dump mapping (VmFlags "wr" and "dd"; the kernel's own vvar pages are
# read-only) must also be locked ("lo"), and some must exist.
awk '/^VmFlags:/{ if ($0 ~ / dd/ && $0 ~ / wr/) { dd++; if ($0 ~ / lo/) lo++ } }
     END { printf "%d %d\n", dd, lo }' "/proc/$DAEMON_PID/smaps" >"$T/flags"
read -r dd lo <"$T/flags"
log "no-dump mappings: $dd, of which locked: $lo"
[ "$dd" -gt 0 ] || fail "no MADV_DONTDUMP mapping found in the daemon"
if daemon_sanitized; then
    # AddressSanitizer's shadow memory is itself mapped no-dump and unlocked.
    [ "$lo" -gt 0 ] || fail "no locked no-dump mapping (secure memory) in the daemon"
    log "ASan build: not requiring every no-dump mapping to be locked (shadow memory)"
else
    [ "$dd" -eq "$lo" ] || fail "$((dd - lo)) no-dump mappings are not locked"
fi

if daemon_sanitized; then
    # ASan's terabytes of shadow mappings would make a (sparse) core of that size.
    log "ASan build: core-dump check skipped (the shadow memory makes the core terabytes big);" \
        "the normal build runs it"
else
    gcore -o "$T/core" "$DAEMON_PID" >"$T/gcore.log" 2>&1 ||
        fail "gcore failed: $(tail -3 "$T/gcore.log")"
    core=$(ls "$T"/core.* 2>/dev/null | head -1)
    [ -s "$core" ] || fail "no core file written"
    log "core $(stat -c %s "$core") bytes"
    if python3 - "$core" "$PATTERN" <<'PY'
import sys
needle = bytes.fromhex(sys.argv[2])
tail = b""
with open(sys.argv[1], "rb") as f:
    while True:
        chunk = f.read(1 << 20)
        if not chunk:
            sys.exit(1)
        if needle in tail + chunk:
            sys.exit(0)
        tail = chunk[-len(needle):]
PY
    then
        fail "the stored key pattern is present in the core dump"
    fi
    rm -f "$core"
fi
daemon_alive
run python3 "$IT_DIR/kcmsecret.py" "$SOCK" 0:swap "$PATTERN" check || fail "pattern lost after gcore"
daemon_stop

# 2. Daemon as nobody: another process of the same uid cannot read its memory.
NB=$T/nobody
mkdir -p "$NB/state"
chown nobody "$NB" "$NB/state"
chmod 755 "$T"
SOCK=$NB/kcm.sock
CONF=$NB/cachet.conf
daemon_config socket_path="$NB/kcm.sock" state_dir="$NB/state"
CACHETD_WRAPPER="setpriv --reuid=nobody --regid=nogroup --clear-groups" daemon_start
[ "$(stat -c %U "/proc/$DAEMON_PID")" = nobody ] || log "note: /proc/$DAEMON_PID owned by root (non-dumpable)"
if setpriv --reuid=nobody --regid=nogroup --clear-groups \
        dd if="/proc/$DAEMON_PID/mem" of=/dev/null bs=4096 count=1 skip=1 2>"$T/dd.err"; then
    fail "a same-uid process could read the daemon's /proc/PID/mem"
fi
log "same-uid /proc/PID/mem read refused: $(head -1 "$T/dd.err")"
if setpriv --reuid=nobody --regid=nogroup --clear-groups \
        gcore -o "$NB/core" "$DAEMON_PID" >"$T/gcore2.log" 2>&1 && ls "$NB"/core.* >/dev/null 2>&1; then
    fail "a same-uid process could take a core of the daemon"
fi
daemon_stop
it_pass
