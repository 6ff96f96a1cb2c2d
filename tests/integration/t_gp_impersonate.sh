#!/bin/bash
# impersonate = yes (gssproxy's s4u2self + s4u2proxy for users): uid 1 (daemon), with no
# tickets and no keytab, initiates through Debian's interposer; cachetd takes the service's own
# keytab credential (host/localhost), impersonates daemon@REALM (the name of the peer's uid)
# and the acceptor sees daemon. Negative controls: the same service without impersonate, an
# impersonator whose s4u2self ticket is not forwardable, and a third service, for which the
# KDC must allow constrained delegation (MIT's DB2 back end cannot: its refusal comes back as
# the GSS error). A trusted service (rpc.gssd style) impersonates the uid it names.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gp_lib.sh"

gp_init "GSS-Proxy: impersonate = yes (s4u2self for the peer's uid)"
gp_need_proxymech
[ "$(id -u)" = 0 ] || skip "needs root to run the client as uid 1 (daemon)"
need_cmd setpriv
# uid 1 runs the raw XDR client: root's python3 may be a shim under /root.
SYS_PY=/usr/bin/python3
[ -x "$SYS_PY" ] || skip "$SYS_PY not found (the raw client runs as uid 1)"
USER1=$(getent passwd 1 | cut -d: -f1)
[ -n "$USER1" ] || skip "no user with uid 1 in NSS"
chmod 755 "$T"

kadm() {
    KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "$1" >>"$T/kdc-setup.log" 2>&1 ||
        hard_error "kadmin.local '$1' failed"
}
[ "$USER1" = daemon ] || kadm "addprinc -pw x $USER1"
kadm "modprinc +ok_to_auth_as_delegate host/localhost"
kadm "addprinc -randkey other/localhost"
kadm "ktadd -k $KDC_KEYTAB other/localhost"

svc() { # NAME SOCKET extra lines...
    local name=$1 sock=$2
    shift 2
    printf '%s\n' "[service/$name]" "  mechs = krb5" "  socket = $T/$sock" \
        "  cred_store = keytab:$KDC_KEYTAB" "$@"
}
gp_config "$(svc imp imp.sock "  krb5_principal = host/localhost" "  impersonate = yes" \
                "  allow_any_uid = yes" "  euid = 0")" \
          "$(svc imp-default imp-default.sock "  impersonate = yes" "  allow_any_uid = yes" \
                "  euid = 0")" \
          "$(svc plain plain.sock "  krb5_principal = host/localhost" "  allow_any_uid = yes" \
                "  euid = 0")" \
          "$(svc nfs-client gssd.sock "  cred_usage = initiate" "  trusted = yes" \
                "  impersonate = yes" "  euid = 0")"
gp_daemon_start

mkdir -p "$T/u1" && chown 1:1 "$T/u1"
# u1 SOCKET [keep]: the command prefix of an interposer client as uid 1 (no tickets, no
# keytab); its ccache file starts empty unless "keep".
u1() {
    [ "${2:-}" = keep ] || rm -f "$T/u1/client.ccache"
    printf '%s ' setpriv --reuid=1 --regid=1 --clear-groups env HOME="$T/u1" \
        ASAN_OPTIONS=detect_leaks=0 GSS_USE_PROXY=yes GSSPROXY_SOCKET="$T/$1" \
        GSSPROXY_BEHAVIOR=REMOTE_ONLY GSS_MECH_CONFIG="$T/mech.conf" \
        KRB5_KTNAME="FILE:$T/no-such.keytab" KRB5_CLIENT_KTNAME="FILE:$T/no-such-client.keytab" \
        KRB5CCNAME="FILE:$T/u1/client.ccache"
}

# The uid has nothing of its own.
expect_fail setpriv --reuid=1 --regid=1 --clear-groups env KRB5CCNAME=KCM: klist

# Positive: impersonated, the acceptor (host/localhost, the impersonator itself) sees the user.
ok $(u1 imp.sock) "$GP_PAIR" pair host@localhost 2
assert_out_contains "mutual, initiator $USER1@$KDC_REALM, localname $USER1"
grep -q "gssproxy: service imp: impersonating $USER1 (uid 1)" "$DAEMON_ERR" ||
    fail "cachetd did not log the impersonation"
grep -q "PROTOCOL-TRANSITION s4u-client=$USER1@$KDC_REALM" "$KDC_DIR/kdc.log" ||
    fail "no s4u2self request in the KDC log"
log "impersonate: uid 1 with no tickets initiated as $USER1@$KDC_REALM"

# gss_acquire_cred stores the sealed handle in the client's ccache; the next acquisition gets
# it back as is instead of impersonating again. (A pair in one process would not show this:
# its acceptor stores an acceptor handle over it.)
ok $(u1 imp.sock) "$GP_PAIR" acquire
assert_out_contains "acquired $USER1@$KDC_REALM"
ok klist -c "FILE:$T/u1/client.ccache"
assert_out_contains "Encrypted/Credentials/v1@X-GSSPROXY:"
n1=$(grep -c "service imp: impersonating" "$DAEMON_ERR")
ok $(u1 imp.sock keep) "$GP_PAIR" acquire
assert_out_contains "acquired $USER1@$KDC_REALM"
n2=$(grep -c "service imp: impersonating" "$DAEMON_ERR")
assert_eq "$n2" "$n1" "the stored impersonated handle was not reused"

# Without krb5_principal the keytab's first entry (host/localhost here) impersonates.
ok $(u1 imp-default.sock) "$GP_PAIR" pair host@localhost 1
assert_out_contains "initiator $USER1@$KDC_REALM"

# Negative control: the same service without impersonate has nothing for uid 1.
expect_fail $(u1 plain.sock) "$GP_PAIR" pair host@localhost 1
log "without impersonate: refused"

# A third service needs s4u2proxy; MIT's DB2 KDB has no delegation ACLs (krbAllowedToDelegateTo
# and resource-based delegation are LDAP-only), so the KDC refuses and the client gets that.
expect_fail $(u1 imp.sock) "$GP_PAIR" pair other@localhost 1
assert_out_contains "gp_pair: gss_init_sec_context failed"
# Debian's 0.9.1 interposer reports remote failures as GSS_S_FAILURE/0 (REMOTE_ONLY); the
# status on the wire carries the KDC's error:
expect_fail setpriv --reuid=1 --regid=1 --clear-groups "$SYS_PY" "$IT_DIR/gpinit.py" \
    "$T/imp.sock" other@localhost
assert_out_contains "major 0xd0000"
assert_out_contains "minor string: KDC can't fulfill requested option"
grep -q "INIT_SEC_CONTEXT for service imp, uid 1: .*KDC can't fulfill requested option" \
    "$DAEMON_ERR" || fail "the daemon did not log the KDC's refusal"
# ... while the same raw call to the impersonator itself succeeds.
ok setpriv --reuid=1 --regid=1 --clear-groups "$SYS_PY" "$IT_DIR/gpinit.py" "$T/imp.sock" \
    host@localhost
assert_out_contains "major 0x1 minor 0"  # CONTINUE_NEEDED: mutual auth asked
grep -q "UNSUPPORTED_S4U2PROXY_REQUEST: .* host/localhost@$KDC_REALM for other/localhost@$KDC_REALM" \
    "$KDC_DIR/kdc.log" || fail "the KDC log shows no refused s4u2proxy request for other/localhost"
log "s4u2proxy to other/localhost: the KDC's refusal reaches the client"

# rpc.gssd style: a trusted root service names uid 1 (GSS_C_NT_STRING_UID_NAME) and gets the
# impersonated credential of its user.
ok env $(gp_client_env) GSSPROXY_SOCKET="$T/gssd.sock" KRB5CCNAME="FILE:$T/gssd.ccache" \
    "$GP_PAIR" acquire 1
assert_out_contains "acquired $USER1@$KDC_REALM"
# The service's own euid is no user request: it acts as itself (krb5_principal), and is not
# impersonated as "root".
ok env $(gp_client_env) GSSPROXY_SOCKET="$T/imp.sock" KRB5CCNAME="FILE:$T/root.ccache" \
    "$GP_PAIR" acquire
assert_out_contains "acquired host/localhost@$KDC_REALM"
log "trusted + impersonate: uid name 1 -> $USER1@$KDC_REALM"

daemon_alive
daemon_stop
it_pass
