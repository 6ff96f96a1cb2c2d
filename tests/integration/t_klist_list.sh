#!/bin/bash
# klist -l and klist -A with several principals (one cache each).
. "$(dirname "$0")/lib.sh"
it_init "klist -l / klist -A with four principals"
daemon_start

expect_fail klist -A -s
run klist -l
assert_eq "$(klist_l_count)" 0 "caches in an empty collection"

for u in alice bob carol doug; do
    ok_kinit "$u"
done
ok klist -A -s
ok klist -l
assert_eq "$(klist_l_count)" 4 "caches after four kinits"
assert_eq "$(klist_l_primary)" "$(realm_princ doug)" "primary (listed first) after kinit doug"
for u in alice bob carol doug; do
    n=$(klist_l_principals | grep -cx "$(realm_princ "$u")")
    assert_eq "$n" 1 "klist -l entries for $u"
done
n=$(printf '%s\n' "$OUT" | grep -c " KCM:$MYUID")
assert_eq "$n" 4 "caches named KCM:$MYUID... (the caller's namespace)"

ok klist -A
assert_eq "$(printf '%s\n' "$OUT" | grep -c '^Ticket cache: KCM:')" 4 "caches in klist -A"
assert_eq "$(printf '%s\n' "$OUT" | grep -c "krbtgt/$KDC_REALM@$KDC_REALM")" 4 "TGTs in klist -A"
for u in alice bob carol doug; do
    assert_out_contains "Default principal: $(realm_princ "$u")"
done
# Config entries (e.g. fast_avail) are stored by kinit but hidden by klist.
assert_out_lacks "X-CACHECONF"

# kinit of an existing principal reuses its cache and makes it primary.
ok_kinit alice
ok klist -l
assert_eq "$(klist_l_count)" 4 "caches after re-kinit of alice"
assert_eq "$(klist_l_primary)" "$(realm_princ alice)" "primary after re-kinit of alice"

# kinit -c into an explicit subsidiary name.
ok_kinit carol -c KCM:$MYUID:explicit
ok klist -l
assert_eq "$(klist_l_count)" 5 "caches after kinit -c KCM:$MYUID:explicit"
assert_out_contains "KCM:$MYUID:explicit"
ok klist -c KCM:$MYUID:explicit
assert_out_contains "Default principal: $(realm_princ carol)"

daemon_stop
it_pass
