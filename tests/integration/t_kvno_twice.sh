#!/bin/bash
# kvno twice for the same service leaves exactly one service ticket, in each
# of two caches.
. "$(dirname "$0")/lib.sh"
it_init "kvno twice keeps one service ticket"
daemon_start

ok_kinit alice
ok kvno host/localhost
ok kvno host/localhost
ok klist
assert_eq "$(printf '%s\n' "$OUT" | grep -c "host/localhost@$KDC_REALM")" 1 \
    "host/localhost tickets after two kvno"
assert_eq "$(klist_ticket_count)" 2 "tickets (TGT + service)"

# Same in a second, non-primary cache.
ok_kinit bob
ok kvno host/localhost
ok kvno host/localhost
ok kvno host/localhost
ok klist
assert_out_contains "Default principal: $(realm_princ bob)"
assert_eq "$(klist_ticket_count)" 2 "tickets in bob's cache"
ok kswitch -p alice
ok kvno host/localhost
ok klist -A
assert_eq "$(printf '%s\n' "$OUT" | grep -c "host/localhost@$KDC_REALM")" 2 \
    "host/localhost tickets over both caches"
assert_eq "$(klist_ticket_count)" 4 "tickets over both caches"

daemon_stop
it_pass
