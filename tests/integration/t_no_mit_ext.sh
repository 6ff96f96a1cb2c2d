#!/bin/bash
# mit_extensions = no: RETRIEVE, GET_CRED_LIST and REPLACE answer
# KRB5_FCC_INTERNAL, and MIT's fallbacks keep kinit/klist/kvno/kswitch/kdestroy working.
. "$(dirname "$0")/lib.sh"
it_init "tool flow with mit_extensions = no"
daemon_config mit_extensions=no
daemon_start

ok_kinit alice
ok klist
assert_out_contains "Default principal: $(realm_princ alice)"
assert_out_contains "krbtgt/$KDC_REALM@$KDC_REALM"
primary=$(printf '%s\n' "$OUT" | sed -n 's/^Ticket cache: KCM://p')
[ -n "$primary" ] || fail "no cache name in klist output"
ok python3 "$IT_DIR/kcmraw.py" "$SOCK" noext "$primary"

ok kvno host/localhost
ok kvno host/localhost
ok klist
assert_eq "$(printf '%s\n' "$OUT" | grep -c "host/localhost@$KDC_REALM")" 1 \
    "host/localhost tickets after two kvno (fallback)"
ok_kinit bob
ok klist -l
assert_eq "$(klist_l_count)" 2 "caches"
assert_eq "$(klist_l_primary)" "$(realm_princ bob)" "primary after kinit bob"
ok kswitch -p alice
ok klist
assert_out_contains "Default principal: $(realm_princ alice)"
assert_out_contains "host/localhost@$KDC_REALM"
ok kdestroy -p "$(realm_princ bob)"
ok klist -l
assert_eq "$(klist_l_count)" 1 "caches after kdestroy -p bob"
ok kdestroy -A
run klist -l
assert_eq "$(klist_l_count)" 0 "caches after kdestroy -A"

daemon_alive
daemon_stop
it_pass
