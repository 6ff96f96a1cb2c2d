#!/bin/bash
# GSS-Proxy RPC layer: rejects exactly as the reference table, NULLPROC, multi-fragment records,
# the 1 MiB cap, pipelined calls; a peer no service matches is closed without a reply; unknown
# configuration keys warn with file:line; SIGHUP keeps the old configuration on error and opens
# new sockets on success.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gp_lib.sh"

gp_init "GSS-Proxy RPC framing, rejects, service matching, reload"
gp_config "[service/test]" "  mechs = krb5" "  cred_store = keytab:$KDC_KEYTAB" \
    "  euid = $ME" "  no_such_option = 1" \
    "[service/other]" "  mechs = krb5" "  socket = $T/other.sock" "  euid = 65534"
gp_daemon_start

grep -q "gssproxy.conf:7: unknown or unsupported key 'no_such_option'" "$DAEMON_ERR" ||
    fail "no file:line warning for the unknown key"
log "unknown key warned with file and line"

ok python3 "$IT_DIR/gprpc.py" "$GP_SOCK"

# A peer no service matches (the only service on other.sock is for uid 65534): the connection
# is closed without a reply, as gssproxy does.
run python3 - "$T/other.sock" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
body = struct.pack(">10I", 1, 0, 2, 400112, 1, 1, 0, 0, 0, 0) + b"\0" * 12
s.sendall(struct.pack(">I", 0x80000000 | len(body)) + body)
d = s.recv(100)
print("closed" if d == b"" else "reply %d bytes" % len(d))
PY
assert_out_contains "closed"
grep -q "no service matches uid $ME" "$DAEMON_ERR" || fail "no log line for the unmatched peer"
log "unmatched peer: closed without a reply"

# Broken configuration on SIGHUP: the running one stays.
cp "$GP_CONF" "$T/good.conf"
echo "[service/broken]" >>"$GP_CONF"
echo "  mechs = krb5 spnego" >>"$GP_CONF"
kill -HUP "$DAEMON_PID"
wait_log "gssproxy: reload failed" 1 "broken config was not reported"
ok python3 "$IT_DIR/gpkernel.py" "$GP_SOCK" raw "000000000000000000000000" 1
log "broken reload kept the old configuration"

# A good reload with a new per-service socket.
cp "$T/good.conf" "$GP_CONF"
printf '%s\n' "[service/second]" "  mechs = krb5" "  socket = $T/second.sock" \
    "  cred_store = keytab:$KDC_KEYTAB" "  euid = $ME" >>"$GP_CONF"
kill -HUP "$DAEMON_PID"
for i in $(seq 1 50); do
    [ -S "$T/second.sock" ] && break
    sleep 0.1
done
[ -S "$T/second.sock" ] || fail "new socket not opened on reload"
grep -q "New config loaded successfully" "$DAEMON_ERR" || fail "no reload success line"
ok python3 "$IT_DIR/gpkernel.py" "$T/second.sock" raw "000000000000000000000000" 1
log "reload opened $T/second.sock"

daemon_stop
[ ! -e "$GP_SOCK" ] || fail "GSS-Proxy socket left behind after exit"
it_pass
