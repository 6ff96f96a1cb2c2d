#!/bin/bash
# The README demo flow with assertions: kinit, klist shows alice and the TGT,
# kvno gets a service ticket, kdestroy empties the cache, SIGTERM exits 0.
# Also checks that -s overrides socket_path from the config file.
. "$(dirname "$0")/lib.sh"
it_init "kinit/klist/kvno/kdestroy flow"

daemon_config socket_path="$T/not-this.sock"
daemon_start -s "$SOCK"
[ ! -e "$T/not-this.sock" ] || fail "-s did not override socket_path"

expect_fail klist -s
ok_kinit alice
ok klist
assert_out_contains "Ticket cache: KCM:"
assert_out_contains "Default principal: $(realm_princ alice)"
assert_out_contains "krbtgt/$KDC_REALM@$KDC_REALM"
assert_eq "$(klist_ticket_count)" 1 "tickets after kinit"
ok klist -s

ok kvno host/localhost
assert_out_contains "host/localhost@$KDC_REALM: kvno = "
ok klist
assert_out_contains "host/localhost@$KDC_REALM"
assert_eq "$(klist_ticket_count)" 2 "tickets after kvno"

# A second kinit of the same principal reuses the cache (one TGT, service ticket gone).
ok_kinit alice
ok klist -l
assert_eq "$(klist_l_count)" 1 "caches after re-kinit of alice"
ok klist
assert_eq "$(klist_ticket_count)" 1 "tickets after re-kinit"

ok kdestroy
expect_fail klist -s
expect_fail klist
daemon_alive
daemon_stop
it_pass
