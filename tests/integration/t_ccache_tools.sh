#!/bin/bash
# Unchanged MIT tools with KRB5CCNAME=SESSION: through the krb5.conf profile module:
# kinit, klist, kvno, kswitch, kdestroy and the klist -l/-A collection semantics, in a login
# (fresh audit session + session keyring) against cachetd with scope = session. The
# capability lands in the session keyring with possessor-only rights; a second login sees
# none of the first one's caches; KCM: in the same login sees the same collection.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t_ccache_lib.sh"
ccache_prereqs
it_init "SESSION: with unchanged MIT tools (profile module)"
daemon_config scope=session
daemon_start
ccache_env
ALICE=$(realm_princ alice)
BOB=$(realm_princ bob)
export ALICE BOB KDC_REALM

in_login a '
step "no caches yet"
mustnot klist -s
out klist; has "SESSION"
step "kinit alice"
must kinit_as alice
out must klist; has "Ticket cache: SESSION:"; has "Default principal: $ALICE"
has "krbtgt/$KDC_REALM@$KDC_REALM"
step "the capability is in the session keyring, possessor view/read/search only"
out keyctl show @s; has "user: cachet:session:0"
id=$(keyctl search @s user cachet:session:0) || { echo "key not found"; exit 1; }
perm=$(keyctl rdescribe "$id" | cut -d";" -f4)
echo "    perm $perm"
[ "$perm" = 0b000000 ] || { echo "key permissions $perm, expected 0b000000"; exit 1; }
step "kvno"
must kvno host/localhost
out klist; has "host/localhost@$KDC_REALM"
step "kinit bob: a second cache in the collection, now primary"
must kinit_as bob
out must klist -l; has "$ALICE"; has "$BOB"
[ "$(printf "%s\n" "$O" | grep -c "SESSION:")" = 2 ] || { echo "expected 2 caches"; exit 1; }
primary=$(printf "%s\n" "$O" | awk "seen && NF {print \$1; exit} /^-+ +-+/ {seen=1}")
[ "$primary" = "$BOB" ] || { echo "primary $primary, expected $BOB"; exit 1; }
step "kswitch -p alice"
must kswitch -p "$ALICE"
out klist; has "Default principal: $ALICE"; has "host/localhost@$KDC_REALM"
step "klist -A lists both caches with their tickets"
out must klist -A; has "Default principal: $ALICE"; has "Default principal: $BOB"
step "kvno into a named cache; klist -c; kinit -c"
name=$(klist -l | awk -v b="$BOB" "\$1 == b {print \$2}")
echo "    bob cache: $name"
must kvno -c "$name" host/localhost
out klist -c "$name"; has "host/localhost@$KDC_REALM"
must kinit_as carol -c SESSION:0:carol
out klist -c SESSION:0:carol; has "Default principal: carol@$KDC_REALM"
step "KCM: in the same login is the same collection (same daemon, same session)"
out env KRB5CCNAME=KCM: klist -l; has "$ALICE"; has "$BOB"; has "carol@"
step "kdestroy -p bob, then -c, then -A"
must kdestroy -p "$BOB"
out klist -l; lacks "$BOB"; has "$ALICE"
must kdestroy -c SESSION:0:carol
out klist -l; lacks "carol@"
must kinit_as bob
must kdestroy -A
out klist -l; lacks "$ALICE"; lacks "$BOB"
mustnot klist -s
step "tickets for the next login check"
must kinit_as alice
exit 0
' || fail "login a failed"

in_login b '
step "another login of the same uid: none of login a'"'"'s caches"
out klist -l; lacks "$ALICE"
mustnot klist -s
must kinit_as bob
out klist -l; has "$BOB"; lacks "$ALICE"
exit 0
' || fail "login b failed"

if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null 2>&1 &&
    setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups test -r "$CCP_SO"; then
    chmod 0755 "$T"
    export AS_NOBODY="setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups"
    in_login n '
step "a login of nobody (uid 65534): its own key, <uid>:... names"
echo "+ [nobody] kinit alice"
pw alice | $AS_NOBODY kinit alice || exit 1
out $AS_NOBODY klist; has "Ticket cache: SESSION:65534"; has "Default principal: $ALICE"
out $AS_NOBODY keyctl show @s; has "user: cachet:session:65534"
echo "+ [nobody] kinit -c SESSION:65534:x bob"
pw bob | $AS_NOBODY kinit -c SESSION:65534:x bob || exit 1
echo "+ [nobody] kinit -c SESSION:0:x bob (a name outside its namespace)"
if pw bob | $AS_NOBODY kinit -c SESSION:0:x bob; then echo "nobody created SESSION:0:x"; exit 1; fi
out $AS_NOBODY klist -l; has "SESSION:65534:x"; lacks "SESSION:0"
exit 0
' 65534 || fail "login n (nobody) failed"
else
    log "skipping the nobody login: no nobody user, no setpriv, or the build is not readable"
fi

grep -q "session capability granted to uid 0 .* for session $(cat "$T/a.sid")" "$DAEMON_ERR" ||
    fail "no grant for login a's session in the daemon log"
grep -q "session capability granted to uid 0 .* for session $(cat "$T/b.sid")" "$DAEMON_ERR" ||
    fail "no grant for login b's session in the daemon log"
daemon_stop

log "--- scope = user: SESSION: still needs the capability, and serves the uid's collection"
CONF=$T/cachet-user.conf
daemon_config scope=user
daemon_start
in_login u '
must kinit_as alice
out klist; has "Ticket cache: SESSION:0"; has "Default principal: $ALICE"
out env KRB5CCNAME=KCM: klist; has "Default principal: $ALICE"
mustnot bash -c "keyctl new_session >/dev/null && klist -s"
exit 0
' || fail "login u (scope = user) failed"
daemon_stop
it_pass
