#!/bin/bash
# Debian's gssproxy interposer (proxymech.so, GSS_USE_PROXY=yes, REMOTE_ONLY) drives a GSS
# initiator/acceptor pair that has no keytab and no credentials: cachetd acquires, initiates
# and accepts for it. Checks mutual authentication, wrap/unwrap and MIC both ways on the
# proxied contexts, localname, the procedures seen, and the sealed credential the interposer
# stores in the client's ccache (credential sync).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gp_lib.sh"

gp_init "GSS-Proxy: Debian proxymech.so interposer against cachetd"
gp_need_proxymech
gp_config "[service/apps]" "  mechs = krb5" "  cred_store = keytab:$KDC_KEYTAB" \
    "  cred_store = client_keytab:$KDC_KEYTAB" "  krb5_principal = alice" "  trusted = yes" \
    "  allow_client_ccache_sync = yes" "  euid = $ME" \
    "[service/nfs-client]" "  mechs = krb5" "  socket = $T/client.sock" \
    "  cred_store = keytab:$KDC_KEYTAB" "  cred_store = client_keytab:$T/client-%U.keytab" \
    "  cred_usage = initiate" "  trusted = yes" "  euid = $ME" \
    "[service/impersonator]" "  mechs = krb5" "  socket = $T/imp.sock" \
    "  cred_store = keytab:$KDC_KEYTAB" "  krb5_principal = host/localhost" \
    "  allow_protocol_transition = yes" "  euid = $ME" \
    "[service/store]" "  mechs = krb5" "  socket = $T/store.sock" \
    "  cred_store = keytab:$KDC_KEYTAB" "  cred_store = ccache:FILE:$T/stored_%U" \
    "  euid = $ME"
gp_daemon_start

ok env $(gp_client_env) "$GP_PAIR" pair host@localhost 3
assert_out_contains "mutual, initiator alice@$KDC_REALM, localname alice"
assert_out_contains "wrap/unwrap/mic initiator->acceptor ok"
assert_out_contains "wrap/unwrap/mic acceptor->initiator ok"
for p in INDICATE_MECHS ACQUIRE_CRED INIT_SEC_CONTEXT ACCEPT_SEC_CONTEXT IMPORT_AND_CANON_NAME; do
    n=$(gp_count "$p" apps)
    [ "$n" -ge 1 ] || fail "no $p call reached cachetd"
    log "$p: $n calls"
done

# The interposer stored cachetd's sealed credential in the client's ccache.
ok klist -c "FILE:$T/client.ccache"
assert_out_contains "Encrypted/Credentials/v1@X-GSSPROXY:"
assert_out_contains "alice@$KDC_REALM"

# A second run reuses the stored handle (it decrypts: no error, still works).
ok env $(gp_client_env) "$GP_PAIR" pair host@localhost 1
ok env $(gp_client_env) "$GP_PAIR" acquire
assert_out_contains "acquired alice@$KDC_REALM"

# A trusted service names the user it acts for (rpc.gssd style): GSS_C_NT_STRING_UID_NAME
# "4242" selects client_keytab %U = 4242, which holds alice's key.
KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "ktadd -k $T/client-4242.keytab -norandkey alice" \
    >>"$T/kdc-setup.log" 2>&1 || hard_error "ktadd alice"
GP_SOCK_SAVE=$GP_SOCK
GP_SOCK=$T/client.sock
ok env $(gp_client_env) KRB5CCNAME="FILE:$T/uid.ccache" "$GP_PAIR" acquire 4242
assert_out_contains "acquired alice@$KDC_REALM"
expect_fail env $(gp_client_env) KRB5CCNAME="FILE:$T/uid2.ccache" "$GP_PAIR" acquire 4243
GP_SOCK=$GP_SOCK_SAVE
log "trusted service: uid name 4242 -> client_keytab %U -> alice; uid 4243 has none"

# Protocol transition: host/localhost (the service's own cred) impersonates bob (s4u2self) and
# the acceptor sees bob.
GP_SOCK=$T/imp.sock
ok env $(gp_client_env) KRB5CCNAME="FILE:$T/imp.ccache" "$GP_PAIR" impersonate \
    "bob@$KDC_REALM" host@localhost
assert_out_contains "initiator bob@$KDC_REALM"
# ... but that credential may not initiate to anyone else (no allow_constrained_delegation).
KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "addprinc -randkey other/localhost" \
    >>"$T/kdc-setup.log" 2>&1 || hard_error "addprinc other"
KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "ktadd -k $KDC_KEYTAB other/localhost" \
    >>"$T/kdc-setup.log" 2>&1 || hard_error "ktadd other"
expect_fail env $(gp_client_env) KRB5CCNAME="FILE:$T/imp2.ccache" "$GP_PAIR" impersonate \
    "bob@$KDC_REALM" other@localhost
grep -q "impersonated credential of host/localhost@$KDC_REALM may only initiate to itself" \
    "$DAEMON_ERR" || fail "impersonator restriction not applied"
GP_SOCK=$GP_SOCK_SAVE
log "impersonate_name: s4u2self as bob through the proxy; not usable for other targets"

# A handle sealed under another key is "no cred", not an error: tamper with the stored blob.
python3 - "$T/client.ccache" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
# The sealed blob ends the last credential: needs_release (4), second ticket length (4).
for k in range(len(b) - 48, len(b) - 16):
    b[k] ^= 0x5a
open(p, "wb").write(bytes(b))
PY
ok env $(gp_client_env) "$GP_PAIR" pair host@localhost 1
grep -q "credential handle does not decrypt" "$DAEMON_ERR" || fail "tampered handle not detected"
log "tampered stored credential: treated as none, fresh acquisition"

# EXPORT_CRED / IMPORT_CRED / STORE_CRED (raw XDR: the interposer never sends them).
[ ! -e "$T/stored_$ME" ] || fail "stored ccache exists before STORE_CRED"
ok python3 "$IT_DIR/gpcred.py" "$GP_SOCK" "$T/store.sock"
ok klist -c "FILE:$T/stored_$ME"
assert_out_contains "alice@$KDC_REALM"
log "export/import/store cred: handle round trip, tamper detection, stored into the service ccache"

# Without a matching service (other socket), REMOTE_ONLY clients fail cleanly.
GP_SOCK_SAVE=$GP_SOCK
GP_SOCK=$T/nothing-here.sock
expect_fail env $(gp_client_env) "$GP_PAIR" pair host@localhost 1
GP_SOCK=$GP_SOCK_SAVE
daemon_alive

daemon_stop
it_pass
