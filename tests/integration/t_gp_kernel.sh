#!/bin/bash
# The kernel's view: byte-exact nfsd ACCEPT_SEC_CONTEXT calls (linux_lucid_v1 + linux_creds_v1)
# on ONE connection with several calls in flight after a NULL ping, decoded under the kernel's
# limits. The lucid key must equal the initiator's context key; linux_creds_v1 must carry the
# local account for a mapped principal and -1/-1/0 for an unmapped one.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gp_lib.sh"

gp_init "GSS-Proxy: kernel nfsd accept path"
gp_config "[service/nfs-server]" "  mechs = krb5" "  socket = $GP_KSOCK" \
    "  cred_store = keytab:$KDC_KEYTAB" "  trusted = yes" "  kernel_nfsd = yes" "  euid = $ME"
# kernel_nfsd = yes: point the handshake at a file of ours (the real one is /proc/net/rpc/...).
: >"$T/use-gss-proxy"
gp_daemon_start gssproxy_kernel_file="$T/use-gss-proxy"
[ "$(cat "$T/use-gss-proxy")" = 1 ] || fail "kernel_nfsd = yes: '1' not written after listen()"
grep -q "gssproxy: kernel nfsd uses us" "$DAEMON_ERR" || fail "no log line for the kernel handshake"
log "kernel handshake: '1' written to the use-gss-proxy file once the sockets listen"

# Initiators: daemon (a local account) and alice (none here, unless the host has one).
export KRB5CCNAME=FILE:$T/daemon.cc
kinit_as daemon || fail "kinit daemon"
ok "$GP_PAIR" token host@localhost 6
printf '%s\n' "$OUT" >"$T/tokens"
export KRB5CCNAME=FILE:$T/alice.cc
kinit_as alice || fail "kinit alice"
ok "$GP_PAIR" token host@localhost 2
printf '%s\n' "$OUT" >>"$T/tokens"

ok python3 "$IT_DIR/gpkernel.py" "$GP_KSOCK" check "$T/tokens"
assert_out_contains "NULL ping answered: empty SUCCESS"
d_uid=$(id -u daemon) d_gid=$(id -g daemon)
d_groups=$(id -G daemon | tr ' ' '\n' | sort -n | paste -sd, | sed 's/,/, /g')
d_ngroups=$(id -G daemon | wc -w)
n=0
while read -r line; do
    # creds=(uid, gid, count, [groups]): the groups in any order, as NSS lists them.
    got=$(printf '%s\n' "$line" | sed -n 's/.* creds=([0-9]*, [0-9]*, \([0-9]*\), \[\([0-9, ]*\)\]).*/\1 \2/p')
    count=${got%% *}
    groups=$(printf '%s\n' "${got#* }" | tr -d ' ' | tr ',' '\n' | sort -n | paste -sd, | sed 's/,/, /g')
    [ "$count" = "$d_ngroups" ] && [ "$groups" = "$d_groups" ] && n=$((n + 1))
done < <(printf '%s\n' "$OUT" | grep "^ok src=daemon@$KDC_REALM creds=($d_uid, $d_gid, ")
[ "$n" = 6 ] ||
    fail "expected 6 daemon contexts with uid $d_uid gid $d_gid groups [$d_groups], got $n"
if ! id alice >/dev/null 2>&1; then
    n=$(printf '%s\n' "$OUT" | grep -c "^ok src=alice@$KDC_REALM creds=(-1, -1, 0, \[\])")
    [ "$n" = 2 ] || fail "expected 2 unmapped alice contexts (-1, -1, 0), got $n"
else
    log "alice exists in this machine's NSS: the unmapped-principal check (-1, -1, 0) is not run"
fi
printf '%s\n' "$OUT" | grep -q "lucid=52B flags=0x2 enctype=18" || fail "aes256 lucid layout"
log "8 kernel accepts: lucid keys equal the initiator's, creds mapped and unmapped"

# The names of the reply byte for byte as MIT's gss_display_name/gss_export_name give them (and
# gssproxy sends them): cachetd builds them from the principals, the acceptor's from the ticket.
cat >"$T/names.py" <<'EOF2'
import sys
sys.path.insert(0, sys.argv[1])
import gpkernel as g
names = []
def skip_name(r, keep_display=False):
    f = [r.opaque() for _ in range(4)]
    nattrs = r.u32()
    names.append(f + [nattrs, len(r.options())])
    return f[0]
g.skip_name = skip_name
c = g.Conn(sys.argv[2])
tok = g.read_tokens(sys.argv[3])[0]["token"]
c.send(g.record(g.call_header(5, g.ACCEPT) + g.kernel_accept_args(tok)))
xid, stat, body = g.parse_reply(c.recv_record())
res = g.decode_accept(body)
assert res["major"] == 0 and len(names) == 2, (res["major"], len(names))
oid = bytes.fromhex("2a864886f712010202")
nt_principal = bytes.fromhex("2a864886f71201020201")
for (disp, ntype, exp, comp, nattrs, next_), want in zip(names, sys.argv[4:6]):
    want = want.encode()
    assert disp == want, (disp, want)
    assert ntype == nt_principal, ntype.hex()
    assert exp == b"\x04\x01\x00\x0b\x06\x09" + oid + len(want).to_bytes(4, "big") + want, exp
    assert comp == b"" and nattrs == 0 and next_ == 0
    print("name %s: display, type, exported name as GSSAPI's" % want.decode())
EOF2
export KRB5CCNAME=FILE:$T/daemon.cc
"$GP_PAIR" token host@localhost 1 >"$T/names-tok" || fail "token generation"
ok python3 "$T/names.py" "$IT_DIR" "$GP_KSOCK" "$T/names-tok" "daemon@$KDC_REALM" \
    "$KDC_SERVICE@$KDC_REALM"
assert_out_contains "name $KDC_SERVICE@$KDC_REALM: display, type, exported name as GSSAPI's"
log "source and acceptor names of the lucid reply as GSSAPI gives them"

# 300 calls in flight on the one connection: over the per-uid in-flight limit (128), so the
# server stops reading until calls finish; every call must still be answered.
export KRB5CCNAME=FILE:$T/daemon.cc
"$GP_PAIR" token host@localhost 400 >"$T/many" || fail "token generation"
ok python3 "$IT_DIR/gpkernel.py" "$GP_KSOCK" bench "$T/many" 300
assert_out_contains "accepts 400 ok 400"
log "400 accepts with 300 in flight on one connection (limits exercised)"

# A replayed AP-REQ is refused (major != 0), the connection stays usable.
head -n 3 "$T/tokens" >"$T/replay"
if run python3 "$IT_DIR/gpkernel.py" "$GP_KSOCK" check "$T/replay"; then
    fail "a replayed authenticator was accepted"
fi
assert_out_contains "major 0x"
log "replay refused"

# Keytab rotation without restart: a ticket for the new kvno is accepted by the (cached)
# acceptor cred; once the old kvno leaves the keytab, its tickets no longer are.
export KRB5CCNAME=FILE:$T/daemon.cc
"$GP_PAIR" token host@localhost 1 >"$T/old1" || fail "token generation"
"$GP_PAIR" token host@localhost 1 >"$T/old2" || fail "token generation"
ok python3 "$IT_DIR/gpkernel.py" "$GP_KSOCK" check "$T/old1"
kt_kvno() { # the highest kvno of the service in the keytab
    klist -k "$KDC_KEYTAB" |
        awk -v p="$KDC_SERVICE@$KDC_REALM" '$2 == p && $1 > k {k = $1} END {print k}'
}
kvno_before=$(kt_kvno)
KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "ktadd -k $KDC_KEYTAB $KDC_SERVICE" \
    >>"$T/kdc-setup.log" 2>&1 || fail "ktadd (rotation) failed"
kvno_after=$(kt_kvno)
[ "$kvno_after" -gt "$kvno_before" ] || fail "rotation: kvno $kvno_before -> $kvno_after"
export KRB5CCNAME=FILE:$T/daemon-rotated.cc
kinit_as daemon || fail "kinit daemon"
"$GP_PAIR" token host@localhost 1 >"$T/new1" || fail "token generation"
"$GP_PAIR" token host@localhost 1 >"$T/new2" || fail "token generation"
tkvno=$(kvno "$KDC_SERVICE" 2>&1 | sed -n 's/.*kvno = \([0-9]*\).*/\1/p')
[ "$tkvno" = "$kvno_after" ] || fail "the new ticket has kvno '$tkvno', not $kvno_after"
ok python3 "$IT_DIR/gpkernel.py" "$GP_KSOCK" check "$T/new1"
KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "ktrem -k $KDC_KEYTAB $KDC_SERVICE old" \
    >>"$T/kdc-setup.log" 2>&1 || fail "ktrem old failed"
expect_fail python3 "$IT_DIR/gpkernel.py" "$GP_KSOCK" check "$T/old2"
ok python3 "$IT_DIR/gpkernel.py" "$GP_KSOCK" check "$T/new2"
log "keytab rotated (kvno $kvno_before -> $kvno_after) without restart: the new kvno is accepted,"
log "  the removed one refused"

# SIGHUP drops the acceptor creds of the old configuration: pointed at a keytab without the
# service key, accepts fail; pointed back, they succeed.
KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "ktadd -k $T/other.keytab -norandkey alice" \
    >>"$T/kdc-setup.log" 2>&1 || fail "ktadd other.keytab failed"
cp "$GP_CONF" "$T/kernel.conf"
sed "s|keytab:$KDC_KEYTAB|keytab:$T/other.keytab|" "$T/kernel.conf" >"$GP_CONF"
gp_reload() { # expected count of success lines
    kill -HUP "$DAEMON_PID"
    for _ in $(seq 1 50); do
        [ "$(grep -c "New config loaded successfully" "$DAEMON_ERR")" -ge "$1" ] && return 0
        sleep 0.1
    done
    fail "reload $1 not logged"
}
reloads=$(grep -c "New config loaded successfully" "$DAEMON_ERR")
gp_reload $((reloads + 1))
for i in 1 2 3; do
    "$GP_PAIR" token host@localhost 1 >"$T/r$i" || fail "token generation"
done
expect_fail python3 "$IT_DIR/gpkernel.py" "$GP_KSOCK" check "$T/r1"
cp "$T/kernel.conf" "$GP_CONF"
gp_reload $((reloads + 2))
ok python3 "$IT_DIR/gpkernel.py" "$GP_KSOCK" check "$T/r2"
log "reload: the new service keytab is used at once, and the old one again after reloading back"

daemon_stop
it_pass
