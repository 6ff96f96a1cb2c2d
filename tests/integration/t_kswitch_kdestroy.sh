#!/bin/bash
# kswitch -p / -c, kdestroy of the primary, kdestroy -p, kdestroy -c, kdestroy -A.
. "$(dirname "$0")/lib.sh"
it_init "kswitch and kdestroy variants"
daemon_start

for u in alice carol doug bob; do
    ok_kinit "$u"
done
ok klist -l
assert_eq "$(klist_l_count)" 4 "caches"
assert_eq "$(klist_l_primary)" "$(realm_princ bob)" "primary after kinit bob"

ok kswitch -p alice
ok klist
assert_out_contains "Default principal: $(realm_princ alice)"
ok klist -l
assert_eq "$(klist_l_primary)" "$(realm_princ alice)" "primary after kswitch -p alice"

carol_cache=$(printf '%s\n' "$OUT" | awk -v p="$(realm_princ carol)" '$1 == p {print $2}')
[ -n "$carol_cache" ] || fail "no cache for carol in klist -l"
ok kswitch -c "$carol_cache"
ok klist
assert_out_contains "Default principal: $(realm_princ carol)"

expect_fail kswitch -p nosuch
ok klist
assert_out_contains "Default principal: $(realm_princ carol)"

# kdestroy destroys only the primary and notes the others.
ok kdestroy
assert_out_contains "Other credential caches present"
ok klist -l
assert_eq "$(klist_l_count)" 3 "caches after kdestroy"
assert_out_lacks "$(realm_princ carol)"
# The primary name stays the destroyed cache's (stable primary, spec 2.4/8).
expect_fail klist -s

ok kdestroy -p "$(realm_princ doug)"
ok klist -l
assert_eq "$(klist_l_count)" 2 "caches after kdestroy -p doug"
assert_out_lacks "$(realm_princ doug)"
expect_fail kdestroy -p "$(realm_princ nosuch)"

ok klist -l
bob_cache=$(printf '%s\n' "$OUT" | awk -v p="$(realm_princ bob)" '$1 == p {print $2}')
[ -n "$bob_cache" ] || fail "no cache for bob in klist -l"
ok kdestroy -c "$bob_cache"
ok klist -l
assert_eq "$(klist_l_count)" 1 "caches after kdestroy -c bob's cache"
assert_out_contains "$(realm_princ alice)"

ok_kinit bob
ok_kinit carol
ok klist -l
assert_eq "$(klist_l_count)" 3 "caches before kdestroy -A"
ok kdestroy -A
run klist -l
assert_eq "$(klist_l_count)" 0 "caches after kdestroy -A"
expect_fail klist -A -s
# Nothing left: another kdestroy -A is harmless, and kinit works again.
ok kdestroy -A
ok_kinit alice
ok klist
assert_out_contains "Default principal: $(realm_princ alice)"

daemon_stop
it_pass
