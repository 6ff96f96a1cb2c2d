#!/bin/bash
# Session capabilities: what the kernel's keyring possession and cachetd's checks allow.
# - a child of the login after `keyctl new_session` (or `keyctl session`) cannot reach the
#   caches, with or without a forged key in its new keyring;
# - on the wire: the login's token binds any connection of the same uid to the login's
#   collection; a forged token, another session id, another uid, a stale token (daemon
#   restarted) are refused;
# - after a daemon restart the login's own processes get a new capability transparently.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t_ccache_lib.sh"
ccache_prereqs
id nobody >/dev/null 2>&1 || skip "no 'nobody' user"
command -v setpriv >/dev/null 2>&1 || skip "setpriv not installed"
it_init "SESSION: capability possession, forgery, staleness"
chmod 0755 "$T"
daemon_config scope=session storage=sqlite
daemon_start
ccache_env
ALICE=$(realm_princ alice)
export ALICE KDC_REALM

# kcmcap.py SOCKET CAPFILE ACTION [SESSION]: PRESENT the capability in CAPFILE (the key's
# payload: version, session, boot id, token) or a variant of it, then print what the
# connection sees. ACTION: present | forge-token | other-session.
cat >"$T/kcmcap.py" <<'EOF'
import os, socket, struct, sys
sock, capfile, action = sys.argv[1], sys.argv[2], sys.argv[3]
cap = open(capfile, "rb").read()
assert len(cap) == 53 and cap[0] == 1, "unexpected key payload"
session, boot, token = struct.unpack(">L", cap[1:5])[0], cap[5:21], cap[21:53]
if action == "forge-token":
    token = os.urandom(32)
elif action == "other-session":
    session += 1000
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sock)
def call(op, payload=b""):
    body = struct.pack(">BBH", 2, 0, op) + payload
    s.sendall(struct.pack(">L", len(body)) + body)
    hdr = b""
    while len(hdr) < 8:
        hdr += s.recv(8 - len(hdr))
    n, outer = struct.unpack(">LL", hdr)
    data = b""
    while len(data) < n:
        data += s.recv(n - len(data))
    if outer:
        return outer - (1 << 32) if outer >= 1 << 31 else outer, b""
    return struct.unpack(">l", data[:4])[0], data[4:]
code, body = call(13100, struct.pack(">LLL", 1, 2, session) + boot + struct.pack(">L", 32) + token)
status = struct.unpack(">L", body[:4])[0] if code == 0 else None
print("present code %d status %s" % (code, status))
code, body = call(20)
name = body.split(b"\0")[0]
print("default %s" % name.decode())
code, body = call(8, name + b"\0")
print("principal code %d%s" % (code, " (has principal)" if code == 0 and body else ""))
EOF
export KCMCAP="python3 $T/kcmcap.py $SOCK"

in_login_bg a '
step "kinit in the login"
must kinit_as alice
must klist -s
id=$(keyctl search @s user cachet:session:0) || { echo "no capability key"; exit 1; }
keyctl pipe "$id" >"$T/a.cap" || exit 1
chmod 0644 "$T/a.cap"
step "keyctl new_session child: refused"
out bash -c "keyctl new_session >/dev/null && klist"; rc=$?
[ $rc -ne 0 ] || { echo "child after new_session reached the caches"; exit 1; }
has "does not hold its login session"
lacks "$ALICE"
step "keyctl session child: refused, klist -l lists nothing"
mustnot keyctl session - klist -s
out keyctl session - klist -l; lacks "$ALICE"
step "new keyring with a forged key (random payload): refused"
out bash -c "keyctl new_session >/dev/null; head -c 53 /dev/urandom | keyctl padd user cachet:session:0 @s >/dev/null; klist"
[ $? -ne 0 ] || exit 1
lacks "$ALICE"
step "new keyring with a forged key (right session and boot id, random token): refused"
{ head -c 21 "$T/a.cap"; head -c 32 /dev/urandom; } >"$T/forged.cap"
out bash -c "keyctl new_session >/dev/null; keyctl padd user cachet:session:0 @s <$T/forged.cap >/dev/null; klist"
[ $? -ne 0 ] || exit 1
lacks "$ALICE"
step "the login itself still works"
out must klist; has "$ALICE"
od -An -tx1 "$T/a.cap" >"$T/a.cap.before"
touch "$T/a.ready"
for i in $(seq 1 600); do [ -e "$T/restarted" ] && break; sleep 0.1; done
[ -e "$T/restarted" ] || { echo "no restart signal"; exit 1; }
step "after the daemon restart: the stale capability is replaced transparently"
out must klist; has "$ALICE"
id=$(keyctl search @s user cachet:session:0) || exit 1
keyctl pipe "$id" | od -An -tx1 >"$T/a.cap.after"
if cmp -s "$T/a.cap.before" "$T/a.cap.after"; then echo "capability not renewed"; exit 1; fi
step "and a new_session child is still refused (the session has its new capability)"
mustnot bash -c "keyctl new_session >/dev/null && klist -s"
exit 0
'
A_PID=$LOGIN_PID
wait_file "$T/a.ready" || { kill $A_PID 2>/dev/null; sed 's/^/  | /' "$T/a.out"; fail "login a did not get ready"; }
sed 's/^/  | /' "$T/a.out"

in_login c '
step "another login presents login a'"'"'s token: bound to a'"'"'s collection"
out $KCMCAP "$T/a.cap" present
has "present code 0 status 0"; has "principal code 0 (has principal)"
step "forged token: refused, and the connection stays in its own (empty) session"
out $KCMCAP "$T/a.cap" forge-token
has "present code 0 status 1"; lacks "(has principal)"
step "right token, other session id: refused"
out $KCMCAP "$T/a.cap" other-session
has "present code 0 status 1"; lacks "(has principal)"
step "right token, other uid (nobody): refused"
out setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups /usr/bin/python3 $T/kcmcap.py $SOCK $T/a.cap present
has "present code 0 status 1"; lacks "(has principal)"
exit 0
' || fail "login c failed"

log "restarting the daemon (sqlite keeps the caches, capabilities are not kept)"
daemon_stop
daemon_start
in_login d '
step "the stale token is refused after the restart"
out $KCMCAP "$T/a.cap" present
has "present code 0 status 1"; lacks "(has principal)"
exit 0
' || fail "login d failed"
touch "$T/restarted"
wait $A_PID
rc=$?
sed 's/^/  | /' "$T/a.out" | sed -n '/after the daemon restart/,$p'
[ $rc -eq 0 ] || fail "login a failed (status $rc)"
grep -q "session capability of uid 0 .* refused: unknown, stale or forged" "$DAEMON_ERR" ||
    fail "no refusal in the daemon log"
daemon_stop
it_pass
