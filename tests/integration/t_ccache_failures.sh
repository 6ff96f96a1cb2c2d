#!/bin/bash
# SESSION: when things go wrong: clear krb5 errors, no crash, no hang.
# - no daemon (no socket; stale socket file), a stopped daemon (the I/O deadline), a KCM server
#   without the capability opcode, a process without a session keyring of its own;
# - the daemon restarted in the middle of a cred iteration and a collection walk (memory
#   storage: the caches are gone; sqlite: they are back), through the application route
#   (cachet_ccache_register).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t_ccache_lib.sh"
ccache_prereqs
it_init "SESSION: failures and restarts"
ccache_env
export ALICE=$(realm_princ alice) KDC_REALM

# A process that dumps core or is killed by a signal reports 128+n through bash.
no_crash() {
    grep -E 'status (13[0-9]|1[4-9][0-9])\)' "$1" && fail "a client crashed (see above)"
    return 0
}

log "--- no daemon at all"
in_login nodaemon '
start=$(date +%s)
out klist; rc=$?
[ $rc -eq 1 ] || { echo "klist status $rc"; exit 1; }
has "cachetd is not running"
mustnot kinit_as alice
out klist -l; has "cachetd is not running"
[ $(( $(date +%s) - start )) -lt 10 ] || { echo "took too long"; exit 1; }
exit 0
' || fail "no-daemon login failed"

daemon_config scope=session storage=memory
daemon_start
log "--- stale socket file (daemon killed)"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
[ -S "$SOCK" ] || fail "expected the socket file to stay behind"
in_login stale '
out klist; [ $? -eq 1 ] || exit 1
has "cachetd is not running"
exit 0
' || fail "stale-socket login failed"
rm -f "$SOCK"
daemon_start

log "--- a stopped daemon: the I/O deadline (CACHET_CCACHE_TIMEOUT=2)"
kill -STOP "$DAEMON_PID"
in_login stopped '
start=$(date +%s)
out env CACHET_CCACHE_TIMEOUT=2 klist; rc=$?
took=$(( $(date +%s) - start ))
echo "    status $rc after ${took}s"
[ $rc -eq 1 ] || exit 1
has "no answer from cachetd within 2 s"
[ $took -le 8 ] || { echo "the timeout did not hold"; exit 1; }
exit 0
'
rc=$?
kill -CONT "$DAEMON_PID"
[ $rc -eq 0 ] || fail "stopped-daemon login failed"
daemon_alive

log "--- a KCM server without the capability opcode (CACHET_SOCKET override)"
cat >"$T/fakekcm.py" <<'EOF'
import os, socket, struct, sys
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(8)
open(path + ".ready", "w").close()
srv.settimeout(30)
while True:
    try:
        c, _ = srv.accept()
    except socket.timeout:
        break
    c.settimeout(5)
    try:
        while True:
            hdr = c.recv(4)
            if len(hdr) < 4:
                break
            n = struct.unpack(">L", hdr)[0]
            body = b""
            while len(body) < n:
                body += c.recv(n - len(body))
            # Heimdal-style: every opcode unknown -> inner KRB5_FCC_INTERNAL.
            c.sendall(struct.pack(">LLl", 4, 0, -1765328188))
    except OSError:
        pass
    c.close()
EOF
python3 "$T/fakekcm.py" "$T/fake.sock" &
FAKE_PID=$!
wait_file "$T/fake.sock.ready" || fail "fake KCM server did not start"
in_login fake '
out env CACHET_SOCKET=$T/fake.sock klist; rc=$?
[ $rc -eq 1 ] || exit 1
has "does not support session capabilities"
exit 0
'
rc=$?
kill "$FAKE_PID" 2>/dev/null
wait "$FAKE_PID" 2>/dev/null
[ $rc -eq 0 ] || fail "fake-server login failed"

log "--- no session keyring of its own (@s is the user-session keyring)"
in_login nokeyring '
out keyctl session _uid_ses.0 klist; rc=$?
[ $rc -eq 1 ] || exit 1
has "no session keyring of its own"
exit 0
' || fail "no-keyring login failed"
daemon_stop

for storage in memory sqlite; do
    log "--- daemon restart in the middle of an iteration (storage = $storage)"
    CONF=$T/cachet-$storage.conf
    daemon_config scope=session storage="$storage" state_dir="$T/state-$storage"
    daemon_start
    rm -f "$T/go" "$T/go.ready"
    in_login_bg iter-$storage '
    must kinit_as alice
    must kvno host/localhost
    must kinit_as bob
    must kswitch -p "$ALICE"
    echo "+ ccp-probe pause-iter SESSION: (application route, plain krb5.conf)"
    KRB5_CONFIG=$PLAIN_CONF "$CCP_PROBE" pause-iter SESSION: "$T/go"; rc=$?
    echo "    probe status $rc"
    exit $rc
    '
    ITER_PID=$LOGIN_PID
    wait_file "$T/go.ready" || { kill $ITER_PID; cat "$T/iter-$storage.out"; fail "probe not ready"; }
    daemon_stop
    daemon_start
    touch "$T/go"
    wait "$ITER_PID"
    rc=$?
    sed 's/^/  | /' "$T/iter-$storage.out"
    no_crash "$T/iter-$storage.out"
    [ $rc -eq 0 ] || fail "probe failed across the restart (status $rc)"
    grep -q '^creds 3 (end: -1765328242)' "$T/iter-$storage.out" ||
        fail "the cred iteration did not finish with all 3 creds and KRB5_CC_END"
    if [ "$storage" = sqlite ]; then
        grep -q '^get_principal after -> 0$' "$T/iter-$storage.out" ||
            fail "cache not served after the restart with sqlite"
    else
        grep -q '^get_principal after -> -1765328189$' "$T/iter-$storage.out" ||
            fail "expected KRB5_FCC_NOFILE for a cache lost with the memory store"
    fi
    daemon_stop
done
it_pass
