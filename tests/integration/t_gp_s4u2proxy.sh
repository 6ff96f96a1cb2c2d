#!/bin/bash
# impersonate = yes through to a third service (s4u2proxy, constrained delegation). MIT's KDC
# keeps delegation ACLs (krbAllowedToDelegateTo) only in its LDAP back end, so this test moves
# the realm into a private slapd (ldapi:// socket, mdb, in $T) and runs the KDC on kldap, as
# gssproxy's own suite does. uid 1 (daemon), without tickets, initiates to other/localhost
# through the interposer; the service's host/localhost impersonates daemon (s4u2self) and gets a
# ticket to other/localhost for daemon (s4u2proxy), which the acceptor sees. A service outside
# the ACL is refused by the KDC.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gp_lib.sh"

gp_init "GSS-Proxy: impersonate = yes + s4u2proxy with an LDAP-backed MIT KDC"
gp_need_proxymech
[ "$(id -u)" = 0 ] || skip "needs root to run the client as uid 1 (daemon)"
need_cmd setpriv slapd slapadd ldapmodify kdb5_ldap_util
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 not found (the raw client runs as uid 1)"
SCHEMA=
for d in /etc/ldap/schema /etc/openldap/schema; do
    [ -f "$d/core.schema" ] && SCHEMA=$d && break
done
[ -n "$SCHEMA" ] || skip "no OpenLDAP schema directory (package slapd)"
K5SCHEMA=
for f in /usr/share/doc/krb5-kdc-ldap/kerberos.schema.gz /usr/share/kerberos/ldap/kerberos.schema; do
    [ -f "$f" ] && K5SCHEMA=$f && break
done
[ -n "$K5SCHEMA" ] || skip "no kerberos.schema (package krb5-kdc-ldap)"
[ -n "$(find /usr/lib/*/krb5/plugins/kdb /usr/lib*/krb5/plugins/kdb -name kldap.so 2>/dev/null)" ] ||
    skip "MIT's kldap KDB module is not installed (package krb5-kdc-ldap)"
USER1=$(getent passwd 1 | cut -d: -f1)
[ -n "$USER1" ] || skip "no user with uid 1 in NSS"
chmod 755 "$T"

# --- the realm on LDAP -------------------------------------------------------------------
kdc_stop
L=$T/ldap
mkdir -p "$L/db"
case $K5SCHEMA in
*.gz) zcat "$K5SCHEMA" >"$L/kerberos.schema" ;;
*) cp "$K5SCHEMA" "$L/kerberos.schema" ;;
esac
BASE="dc=cachet,dc=test"
ROOTDN="cn=root,$BASE"
LDAPI="ldapi://$(printf '%s' "$L/ldapi" | sed 's|/|%2F|g')"
cat >"$L/slapd.conf" <<EOF
include $L/kerberos.schema
include $SCHEMA/core.schema
include $SCHEMA/cosine.schema
include $SCHEMA/inetorgperson.schema
include $SCHEMA/nis.schema
pidfile $L/slapd.pid
moduleload back_mdb
database mdb
suffix "$BASE"
rootdn "$ROOTDN"
rootpw ldap-secret
directory $L/db
EOF
printf '%s\n' "dn: $BASE" "objectClass: domain" "dc: cachet" "" \
    "dn: cn=Kerberos,$BASE" "objectClass: krbContainer" "cn: Kerberos" >"$L/base.ldif"
slapadd -f "$L/slapd.conf" -l "$L/base.ldif" >"$L/slapadd.log" 2>&1 ||
    { cat "$L/slapadd.log"; hard_error "slapadd failed"; }
slapd -f "$L/slapd.conf" -h "$LDAPI" >"$L/slapd.log" 2>&1 || hard_error "slapd did not start"
for i in $(seq 1 50); do
    [ -S "$L/ldapi" ] && [ -s "$L/slapd.pid" ] && break
    sleep 0.1
done
[ -s "$L/slapd.pid" ] || hard_error "slapd wrote no pid file"
it_track_pid "$(cat "$L/slapd.pid")"

cat >>"$KRB5_CONFIG" <<EOF

[dbmodules]
    $KDC_REALM = {
        db_library = kldap
        ldap_kerberos_container_dn = cn=Kerberos,$BASE
        ldap_kdc_dn = $ROOTDN
        ldap_kadmind_dn = $ROOTDN
        ldap_service_password_file = $L/service.pw
        ldap_servers = $LDAPI
    }
EOF
sed -i '/database_name/d' "$KRB5_KDC_PROFILE"
rm -f "$KDC_DIR"/db/stash
KRB5CCNAME=MEMORY: kdb5_ldap_util -H "$LDAPI" -D "$ROOTDN" -w ldap-secret create \
    -P "$KDC_MASTER_PW" -s -r "$KDC_REALM" >"$L/create.log" 2>&1 ||
    { cat "$L/create.log"; hard_error "kdb5_ldap_util create failed"; }
printf 'ldap-secret\nldap-secret\n' | KRB5CCNAME=MEMORY: kdb5_ldap_util -H "$LDAPI" \
    stashsrvpw -w ldap-secret -f "$L/service.pw" "$ROOTDN" >"$L/stash.log" 2>&1 ||
    { cat "$L/stash.log"; hard_error "kdb5_ldap_util stashsrvpw failed"; }
kadm() {
    KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "$1" >>"$L/kadmin.log" 2>&1 &&
        ! grep -q "^kadmin.local: \|error\|failed" <(tail -n 2 "$L/kadmin.log") ||
        { tail -n 5 "$L/kadmin.log"; hard_error "kadmin.local '$1' failed"; }
}
rm -f "$KDC_KEYTAB"
kadm "addprinc -pw x $USER1"
kadm "addprinc -randkey +ok_to_auth_as_delegate host/localhost"
kadm "addprinc -randkey other/localhost"
kadm "addprinc -randkey third/localhost"
kadm "ktadd -k $KDC_KEYTAB host/localhost"
kadm "ktadd -k $KDC_KEYTAB other/localhost"
kadm "ktadd -k $KDC_KEYTAB third/localhost"
chmod 0644 "$KDC_KEYTAB"
# host/localhost may delegate to other/localhost only.
printf '%s\n' "dn: krbPrincipalName=host/localhost@$KDC_REALM,cn=$KDC_REALM,cn=Kerberos,$BASE" \
    "changetype: modify" "add: krbAllowedToDelegateTo" \
    "krbAllowedToDelegateTo: other/localhost@$KDC_REALM" >"$L/deleg.ldif"
ldapmodify -H "$LDAPI" -x -D "$ROOTDN" -w ldap-secret -f "$L/deleg.ldif" >"$L/modify.log" 2>&1 ||
    { cat "$L/modify.log"; hard_error "ldapmodify (krbAllowedToDelegateTo) failed"; }
kdc_start || hard_error "krb5kdc on the LDAP back end did not start"
log "realm $KDC_REALM on slapd ($LDAPI); host/localhost may delegate to other/localhost"

# --- cachetd -------------------------------------------------------------------------------
gp_config "[service/imp]" "  mechs = krb5" "  socket = $T/imp.sock" \
    "  cred_store = keytab:$KDC_KEYTAB" "  krb5_principal = host/localhost" \
    "  impersonate = yes" "  allow_any_uid = yes" "  euid = 0"
gp_daemon_start
mkdir -p "$T/u1" && chown 1:1 "$T/u1"
U1="setpriv --reuid=1 --regid=1 --clear-groups env HOME=$T/u1 ASAN_OPTIONS=detect_leaks=0
    GSS_USE_PROXY=yes GSSPROXY_SOCKET=$T/imp.sock GSSPROXY_BEHAVIOR=REMOTE_ONLY
    GSS_MECH_CONFIG=$T/mech.conf KRB5_KTNAME=FILE:$T/no-such.keytab
    KRB5_CLIENT_KTNAME=FILE:$T/no-such-client.keytab KRB5CCNAME=FILE:$T/u1/client.ccache"

# To the impersonator itself (evidence ticket), then to other/localhost (s4u2proxy).
# shellcheck disable=SC2086
ok $U1 "$GP_PAIR" pair host@localhost 1
assert_out_contains "initiator $USER1@$KDC_REALM"
rm -f "$T/u1/client.ccache"
# shellcheck disable=SC2086
ok $U1 "$GP_PAIR" pair other@localhost 2
assert_out_contains "mutual, initiator $USER1@$KDC_REALM, localname $USER1"
grep -q "CONSTRAINED-DELEGATION s4u-client=$USER1@$KDC_REALM" "$KDC_DIR/kdc.log" ||
    fail "no s4u2proxy (CONSTRAINED-DELEGATION) for $USER1 in the KDC log"
log "s4u2proxy: uid 1 with no tickets initiated to other/localhost as $USER1@$KDC_REALM"

# third/localhost is not in the ACL: the KDC refuses, the status says why.
rm -f "$T/u1/client.ccache"
# shellcheck disable=SC2086
expect_fail $U1 "$GP_PAIR" pair third@localhost 1
expect_fail setpriv --reuid=1 --regid=1 --clear-groups /usr/bin/python3 "$IT_DIR/gpinit.py" \
    "$T/imp.sock" third@localhost
assert_out_contains "major 0xd0000"
grep -q "INIT_SEC_CONTEXT for service imp, uid 1: .*KDC can't fulfill requested option" \
    "$DAEMON_ERR" || fail "the KDC's refusal was not logged"
grep -q "UNSUPPORTED_S4U2PROXY_REQUEST: .* for third/localhost@$KDC_REALM" \
    "$KDC_DIR/kdc.log" || fail "the KDC log shows no refusal for third/localhost"
log "s4u2proxy to third/localhost (not allowed): refused by the KDC"

daemon_stop
kill "$(cat "$L/slapd.pid")" 2>/dev/null
it_pass
