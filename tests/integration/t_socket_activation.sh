#!/bin/bash
# systemd socket activation: cachetd takes its listening socket from sd_listen_fds (started
# by systemd-socket-activate on the first connection), serves MIT clients on it, exits 0 on
# SIGTERM and leaves the socket file to its owner. Also: -s with an already served path fails.
. "$(dirname "$0")/lib.sh"
it_init "socket activation (sd_listen_fds)"
need_cmd systemd-socket-activate
daemon_config socket_path="$T/not-used.sock"

systemd-socket-activate -l "$SOCK" --fdname=kcm "$CACHETD" -c "$CONF" \
    >"$T/sa.out" 2>"$T/sa.err" &
SA_PID=$!
for _ in $(seq 1 100); do
    [ -S "$SOCK" ] && break
    sleep 0.05
done
[ -S "$SOCK" ] || fail "systemd-socket-activate did not create $SOCK: $(cat "$T/sa.err")"

ok_kinit alice              # the first connection starts cachetd
ok klist
assert_out_contains "Default principal: $(realm_princ alice)"
ok kvno host/localhost
grep -q '^cachetd: ready, listening on sockets from systemd$' "$T/sa.out" ||
    fail "ready line does not say the socket came from systemd: $(cat "$T/sa.out")"
[ ! -e "$T/not-used.sock" ] || fail "cachetd bound socket_path although systemd passed a socket"

# A second daemon refuses to steal a live socket.
CONF2=$T/second.conf
cp "$CONF" "$CONF2"
if timeout 10 "$CACHETD" -c "$CONF2" -s "$SOCK" >"$T/second.out" 2>"$T/second.err"; then
    fail "a second cachetd started on a socket that is being served"
fi
grep -q "already listening on $SOCK" "$T/second.err" ||
    fail "no clear error for a live socket: $(cat "$T/second.err")"

kill -TERM "$SA_PID"
wait "$SA_PID"
rc=$?
[ "$rc" -eq 0 ] || fail "socket-activated cachetd exited with $rc after SIGTERM"
[ -S "$SOCK" ] || fail "cachetd removed the socket file that systemd owns"
if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/sa.err"; then
    fail "sanitizer report: $(grep -m3 -E 'ERROR|runtime error' "$T/sa.err")"
fi
it_pass
