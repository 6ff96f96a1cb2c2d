#!/bin/bash
# Two uids on one daemon: `nobody` sees none of root's caches, cannot name
# root's caches (KCM:0, KCM:0:x), and root does not see nobody's.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "needs root to run clients as another uid (nobody)"
id nobody >/dev/null 2>&1 || skip "no 'nobody' user"
# A command prefix (not a function) so that `run` can put `timeout` in front.
if command -v setpriv >/dev/null 2>&1; then
    as_nobody=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups)
elif command -v runuser >/dev/null 2>&1; then
    as_nobody=(runuser -u nobody --)
else
    skip "neither setpriv nor runuser available"
fi
it_init "uid isolation (root vs nobody)"
# nobody must reach the socket and read krb5.conf.
chmod 0755 "$T"
"${as_nobody[@]}" test -r "$KRB5_CONFIG" || skip "nobody cannot read $KRB5_CONFIG (temp dir not reachable)"
NOBODY_UID=$(id -u nobody)
# python3 may be a per-user shim (pyenv) that nobody cannot run.
PYTHON_FOR_NOBODY=
[ -x /usr/bin/python3 ] && PYTHON_FOR_NOBODY=/usr/bin/python3
daemon_start

ok_kinit alice
ok kvno host/localhost
ok_kinit bob -c KCM:0:second
ok klist -l
assert_eq "$(klist_l_count)" 2 "root's caches"
root_uuids=$(python3 "$IT_DIR/kcmraw.py" "$SOCK" uuids) || fail "uuid list as root failed"

# nobody's view.
nobody_kinit() {
    local u=$1
    shift
    echo "+ [nobody] kinit${*:+ $*} $u"
    OUT=$(kdc_password "$u" | "${as_nobody[@]}" timeout "$CACHET_CLIENT_TIMEOUT" kinit "$@" "$u" 2>&1)
    local rc=$?
    printf '%s\n' "$OUT" | sed 's/^/  | /'
    return $rc
}
echo "--- as nobody (uid $NOBODY_UID) ---"
run "${as_nobody[@]}" klist -l
assert_eq "$(klist_l_count)" 0 "caches visible to nobody"
assert_out_lacks "$KDC_REALM"
expect_fail "${as_nobody[@]}" klist
expect_fail "${as_nobody[@]}" klist -A -s
expect_fail "${as_nobody[@]}" klist -c KCM:0
assert_out_lacks "$(realm_princ alice)"
expect_fail "${as_nobody[@]}" klist -c KCM:0:second
assert_out_lacks "$(realm_princ bob)"
expect_fail "${as_nobody[@]}" env KRB5CCNAME=KCM:0:x klist
if nobody_kinit carol -c KCM:0:x; then
    fail "nobody could create KCM:0:x"
fi
if KRB5CCNAME=KCM:0:x nobody_kinit carol; then
    fail "nobody could create KCM:0:x through KRB5CCNAME"
fi
if nobody_kinit carol -c KCM:0; then
    fail "nobody could overwrite root's KCM:0"
fi
# A sloppy prefix check would accept "<uid>junk" names.
if nobody_kinit carol -c "KCM:${NOBODY_UID}0"; then
    fail "nobody could create KCM:${NOBODY_UID}0 (not <uid> or <uid>:...)"
fi
run "${as_nobody[@]}" kdestroy -c KCM:0
run "${as_nobody[@]}" kdestroy -c KCM:0:second
run "${as_nobody[@]}" kswitch -c KCM:0:second
if [ -n "$PYTHON_FOR_NOBODY" ] && "${as_nobody[@]}" "$PYTHON_FOR_NOBODY" -c 'pass' 2>/dev/null; then
    for u in $root_uuids; do
        r=$("${as_nobody[@]}" "$PYTHON_FOR_NOBODY" "$IT_DIR/kcmraw.py" "$SOCK" byuuid "$u")
        echo "+ [nobody] GET_CACHE_BY_UUID $u -> $r"
        case $r in
            code*) ;;
            *) fail "nobody resolved root's cache uuid $u to '$r'" ;;
        esac
    done
    r=$("${as_nobody[@]}" "$PYTHON_FOR_NOBODY" "$IT_DIR/kcmraw.py" "$SOCK" default)
    echo "+ [nobody] GET_DEFAULT_CACHE -> $r"
    case $r in
        "$NOBODY_UID"|"$NOBODY_UID":*) ;;
        *) fail "nobody's default cache name '$r' is not in nobody's namespace" ;;
    esac
else
    log "no python3 runnable as nobody; skipping the raw uuid probe"
fi

# nobody gets its own collection.
nobody_kinit doug || fail "nobody's own kinit failed"
run "${as_nobody[@]}" klist -l
assert_eq "$(klist_l_count)" 1 "nobody's caches"
assert_out_contains "$(realm_princ doug)"
assert_out_contains "KCM:$NOBODY_UID"
assert_out_lacks "$(realm_princ alice)"
nobody_kinit carol -c "KCM:$NOBODY_UID:extra" || fail "nobody could not create KCM:$NOBODY_UID:extra"
run "${as_nobody[@]}" klist -l
assert_eq "$(klist_l_count)" 2 "nobody's caches after KCM:$NOBODY_UID:extra"

echo "--- as root ---"
ok klist -l
assert_eq "$(klist_l_count)" 2 "root's caches after nobody's attempts"
assert_out_lacks "$(realm_princ doug)"
assert_out_lacks "$(realm_princ carol)"
ok klist -c KCM:0:second
assert_out_contains "Default principal: $(realm_princ bob)"
ok klist
assert_out_contains "Default principal: $(realm_princ alice)"
assert_out_contains "host/localhost@$KDC_REALM"
ok kswitch -p bob
ok klist
assert_out_contains "Default principal: $(realm_princ bob)"

ok kdestroy -A
run "${as_nobody[@]}" klist -l
assert_eq "$(klist_l_count)" 2 "nobody's caches after root's kdestroy -A"
run "${as_nobody[@]}" kdestroy -A
daemon_alive
daemon_stop
it_pass
