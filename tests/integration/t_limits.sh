#!/bin/bash
# Limits: max_caches_per_uid = 2 refuses a third cache; idle_timeout = 1
# closes idle connections while the MIT tools keep working (they reconnect
# once on EPIPE).
. "$(dirname "$0")/lib.sh"
it_init "max_caches_per_uid and idle_timeout"

daemon_config max_caches_per_uid=2
daemon_start
ok_kinit alice
ok_kinit bob
if kinit_as carol; then
    fail "a third cache was accepted with max_caches_per_uid = 2"
fi
log "third cache refused, as expected"
ok klist -l
assert_eq "$(klist_l_count)" 2 "caches at the limit"
assert_out_lacks "$(realm_princ carol)"
# Refreshing an existing cache is not a new cache.
ok_kinit alice
ok kvno host/localhost
ok klist -l
assert_eq "$(klist_l_count)" 2 "caches after refreshing alice"
# Freeing one makes room again.
ok kdestroy -p "$(realm_princ bob)"
ok_kinit carol
ok klist -l
assert_eq "$(klist_l_count)" 2 "caches after replacing bob by carol"
daemon_alive
daemon_stop

CONF=$T/idle.conf
daemon_config idle_timeout=1
daemon_start
ok python3 "$IT_DIR/kcmraw.py" "$SOCK" idle 5
# kinit connects before prompting; the password arrives after the daemon has
# dropped the idle connection, so storing the TGT hits EPIPE and MIT reconnects.
echo "+ (sleep 2.5; password) | kinit alice"
OUT=$( (sleep 2.5; kdc_password alice) | timeout "$CACHET_CLIENT_TIMEOUT" kinit alice 2>&1)
rc=$?
printf '%s\n' "$OUT" | sed 's/^/  | /'
[ $rc -eq 0 ] || fail "kinit with a slow password failed (status $rc)"
sleep 1.5
ok klist
assert_out_contains "Default principal: $(realm_princ alice)"
ok kvno host/localhost
sleep 1.5
ok kvno host/localhost
ok klist
assert_eq "$(klist_ticket_count)" 2 "tickets with idle_timeout = 1"
ok kdestroy
daemon_alive
daemon_stop
it_pass
