#!/bin/bash
# Initiation on behalf of a local user from cachetd's own KCM store: uid 4242 kinits into
# cachetd (KCM:), then a GSS client of that uid, through Debian's interposer with no keytab and
# an empty ccache file, initiates as alice: cachetd seeds the call's MEMORY ccache from the
# uid's default KCM cache under the access rules. Another uid with no tickets gets nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gp_lib.sh"

gp_init "GSS-Proxy: initiator credentials from the KCM store"
gp_need_proxymech
[ "$(id -u)" = 0 ] || skip "needs root to run clients as other uids"
need_cmd setpriv
chmod 755 "$T"
gp_config "[service/users]" "  mechs = krb5" "  cred_store = keytab:$KDC_KEYTAB" \
    "  allow_any_uid = yes" "  euid = 0"
gp_daemon_start

# as_uid UID: the command prefix that runs as UID (no groups) with the KCM: default cache.
as_uid() {
    mkdir -p "$T/u$1" && chown "$1:$1" "$T/u$1"
    printf '%s ' setpriv --reuid="$1" --regid="$1" --clear-groups env HOME="$T/u$1" KRB5CCNAME=KCM:
}
gp_user_env() { # UID
    printf '%s ' ASAN_OPTIONS=detect_leaks=0 GSS_USE_PROXY=yes GSSPROXY_SOCKET="$GP_SOCK" \
        GSSPROXY_BEHAVIOR=REMOTE_ONLY GSS_MECH_CONFIG="$T/mech.conf" \
        KRB5_KTNAME="FILE:$T/no-such.keytab" KRB5_CLIENT_KTNAME="FILE:$T/no-such-client.keytab" \
        KRB5CCNAME="FILE:$T/u$1/client.ccache"
}

echo "+ kinit alice as uid 4242 (KCM:)"
kdc_password alice | $(as_uid 4242) kinit alice >"$T/kinit.out" 2>&1 || { cat "$T/kinit.out"; fail "kinit"; }
ok $(as_uid 4242) klist
assert_out_contains "alice@$KDC_REALM"

ok $(as_uid 4242) $(gp_user_env 4242) "$GP_PAIR" pair host@localhost 2
assert_out_contains "mutual, initiator alice@$KDC_REALM"
grep -q "gssproxy: uid 4242: [1-9][0-9]* credentials from the KCM store" "$DAEMON_ERR" ||
    fail "no credentials were taken from the KCM store"
log "uid 4242 initiated as alice with tickets from cachetd's KCM store"

# A uid without tickets in the store gets none (and not 4242's).
expect_fail $(as_uid 4243) $(gp_user_env 4243) "$GP_PAIR" pair host@localhost 1
log "uid 4243 without tickets: refused"

daemon_stop
it_pass
