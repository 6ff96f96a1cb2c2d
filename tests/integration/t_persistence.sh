#!/bin/bash
# storage = sqlite: caches, the primary and tickets survive a daemon restart.
. "$(dirname "$0")/lib.sh"
it_init "sqlite persistence across restarts"
daemon_config storage=sqlite
daemon_start

ok_kinit alice
ok kvno host/localhost
ok_kinit bob
ok kswitch -p alice
ok klist -A
before=$OUT
daemon_stop
[ -n "$(ls -A "$T/state")" ] || fail "state_dir $T/state is empty after a sqlite run"

daemon_start
ok klist -l
assert_eq "$(klist_l_count)" 2 "caches after restart"
assert_eq "$(klist_l_primary)" "$(realm_princ alice)" "primary after restart"
ok klist -A
[ "$OUT" = "$before" ] || fail "klist -A differs after restart"
ok kvno host/localhost
ok kdestroy -p "$(realm_princ bob)"
daemon_stop

daemon_start
ok klist -l
assert_eq "$(klist_l_count)" 1 "caches after destroy + restart"
assert_out_contains "$(realm_princ alice)"
ok kdestroy -A
daemon_stop
daemon_start
run klist -l
assert_eq "$(klist_l_count)" 0 "caches after kdestroy -A + restart"
daemon_stop
it_pass
