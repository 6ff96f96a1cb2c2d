#!/bin/bash
# Kept initiator tickets (gssproxy_keep_tickets, src/proxy/gp_tkt_cache.c), through Debian's
# interposer and a real KDC: a service whose cred_store names no ccache asks the KDC for a TGT
# and a service ticket once, not on every call (gssproxy's per-call MEMORY ccache does); the
# contexts still work. A rewritten client keytab, a reload, a ticket near its end and
# gssproxy_keep_tickets = no each make cachetd ask the KDC again. Counted in the KDC's own log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gp_lib.sh"

gp_init "GSS-Proxy: initiator tickets kept between calls"
gp_need_proxymech
# The service acts as itself (peer uid = euid, trusted): as in gssproxy its keytab is then also
# its client keytab, the one whose changes count.
CKT=$KDC_KEYTAB
gp_config "[service/apps]" "  mechs = krb5" "  cred_store = keytab:$KDC_KEYTAB" \
    "  cred_store = client_keytab:$CKT" "  krb5_principal = alice" "  trusted = yes" \
    "  allow_client_ccache_sync = yes" "  euid = $ME" \
    "[service/nosync]" "  mechs = krb5" "  socket = $T/nosync.sock" \
    "  cred_store = keytab:$KDC_KEYTAB" "  cred_store = client_keytab:$CKT" \
    "  krb5_principal = alice" "  trusted = yes" "  euid = $ME"

# AS and TGS requests the KDC has issued tickets for alice, since the last call.
KDC_LOG=$KDC_DIR/kdc.log
kdc_mark() { MARK=$(wc -l <"$KDC_LOG"); }
kdc_count() { # AS_REQ|TGS_REQ
    tail -n +$((MARK + 1)) "$KDC_LOG" | grep "$1" | grep -c "ISSUE.*alice@$KDC_REALM for" || true
}
rounds() { # N: N init+accept rounds through the interposer; sets AS and TGS
    kdc_mark
    ok env $(gp_client_env) "$GP_PAIR" pair host@localhost "$1"
    assert_out_contains "mutual, initiator alice@$KDC_REALM, localname alice"
    AS=$(kdc_count AS_REQ)
    TGS=$(kdc_count TGS_REQ)
}

gp_daemon_start
rounds 6
assert_eq "$AS" 1 "AS exchanges for 6 rounds with tickets kept"
assert_eq "$TGS" 1 "TGS exchanges for 6 rounds with tickets kept"
grep -q "kept credentials of alice@$KDC_REALM seeded" "$DAEMON_ERR" ||
    fail "no call started from the kept tickets"
# The interposer's stored handle comes back with ACQUIREs of the other usage every round: after
# the first import, cachetd knows it without decrypting it again.
grep -q "input handle is for another usage (sealed here)" "$DAEMON_ERR" ||
    fail "a handle of the wrong usage was imported again"
# ... and an initiator handle with tickets by value is known to be still good.
grep -q "input handle is still good (sealed here)" "$DAEMON_ERR" ||
    fail "a good initiator handle was imported again"
# The acceptor's ACQUIRE_CRED gives the cached acceptor cred's handle, made once.
n=$(grep -c "ACQUIRE_CRED: the cached acceptor cred's handle" "$DAEMON_ERR")
[ "$n" -ge 6 ] || fail "acceptor handles not reused ($n)"
log "6 rounds: one AS and one TGS exchange in all"

rounds 3
assert_eq "$AS$TGS" "00" "KDC exchanges for 3 more rounds"

# A service without allow_client_ccache_sync (no sync_creds test on INIT) keeps them too.
GP_SOCK_SAVE=$GP_SOCK
GP_SOCK=$T/nosync.sock
rounds 4
assert_eq "$AS" 1 "AS exchanges for 4 rounds without ccache sync"
assert_eq "$TGS" 1 "TGS exchanges for 4 rounds without ccache sync"
GP_SOCK=$GP_SOCK_SAVE
log "kept with and without ccache sync; no KDC exchange once kept"

# The client keytab rewritten (a new kvno would do the same): tickets are fetched again.
KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "ktadd -k $CKT -norandkey alice" \
    >>"$T/kdc-setup.log" 2>&1 || hard_error "ktadd alice again"
rounds 3
assert_eq "$AS" 1 "AS exchanges after the client keytab changed"
assert_eq "$TGS" 1 "TGS exchanges after the client keytab changed"
grep -q "client keytab $CKT changed: kept tickets dropped" "$DAEMON_ERR" ||
    fail "keytab change not noticed"

# A reload (SIGHUP) forgets them too.
kill -HUP "$DAEMON_PID"
wait_log "New config loaded successfully" 1 "no reload after SIGHUP"
rounds 2
assert_eq "$AS" 1 "AS exchanges after a reload"

# Tickets near their end are not used: alice's tickets now live 65 s, less than a minute
# is left after 5 s, so the next call asks for new ones.
KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "modprinc -maxlife 65sec alice" \
    >>"$T/kdc-setup.log" 2>&1 || hard_error "modprinc alice"
ok touch "$CKT" # new stamp: start from a short-lived TGT
rounds 1
assert_eq "$AS" 1 "AS exchanges for the short-lived TGT"
sleep 6
rounds 1
assert_eq "$AS" 1 "AS exchanges once the kept TGT has less than a minute left"
KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "modprinc -maxlife 1day alice" \
    >>"$T/kdc-setup.log" 2>&1 || hard_error "modprinc alice back"
daemon_stop

# gssproxy_keep_tickets = no: gssproxy's behaviour, one AS and one TGS per round.
CONF=$T/cachet-nokeep.conf
gp_daemon_start gssproxy_keep_tickets=no
rounds 3
assert_eq "$AS" 3 "AS exchanges for 3 rounds with gssproxy_keep_tickets = no"
assert_eq "$TGS" 3 "TGS exchanges for 3 rounds with gssproxy_keep_tickets = no"
! grep -q "kept credentials" "$DAEMON_ERR" || fail "tickets kept although switched off"
daemon_stop
it_pass
