#!/bin/bash
# libcachet-ccache under valgrind: the unchanged MIT tools through the profile module and the
# public-API probe (ops, fork, daemon restart) must show no memory error and no leak that
# involves the library. MIT's own tools are not required to be leak-free: only leak records
# whose stack names libcachet-ccache count; the probe frees everything, so for it any definite
# leak counts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/t_ccache_lib.sh"
ccache_prereqs
need_cmd valgrind
if readelf -d "$CCP_SO" 2>/dev/null | grep -q 'libasan'; then
    skip "sanitizer build: valgrind cannot run ASan-instrumented code (run it on the normal build)"
fi
it_init "SESSION: valgrind (tools through the module, probe)"
ccache_env
export KDC_REALM
daemon_config scope=session storage=sqlite
daemon_start
[ -x "$TOP_BUILDDIR/libtool" ] || hard_error "no libtool script in $TOP_BUILDDIR"
VG="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
--errors-for-leak-kinds=none --num-callers=40"
VG_STRICT="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
--errors-for-leak-kinds=definite --num-callers=40"
export VG VG_STRICT LIBTOOL_EXEC="$TOP_BUILDDIR/libtool --mode=execute"

in_login vg '
n=0
vg() { n=$((n + 1)); echo "+ valgrind $*"; $VG --log-file="$T/vg.$n.log" "$@"; local rc=$?
       [ $rc -ne 99 ] || { echo "valgrind errors:"; cat "$T/vg.$n.log"; exit 1; }; return $rc; }
echo alice-Secret1 >"$T/pw"
vg kinit alice <"$T/pw" || exit 1
vg klist || exit 1
vg kvno host/localhost || exit 1
echo bob-Secret1 >"$T/pw"
vg kinit bob <"$T/pw" || exit 1
vg klist -l || exit 1
vg klist -A || exit 1
vg kswitch -p alice || exit 1
vg kdestroy -p bob@$KDC_REALM || exit 1
vg env KRB5CCNAME=KCM: klist || exit 1
step "a refused child under valgrind"
echo "+ keyctl new_session; valgrind klist"
bash -c "keyctl new_session >/dev/null; exec \"\$@\"" _ $VG --log-file="$T/vg.child.log" klist
[ $? -eq 1 ] || { echo "expected klist to fail with status 1"; cat "$T/vg.child.log"; exit 1; }
step "the probe (application route), strict; ops last: it leaves the primary destroyed"
export KRB5_CONFIG=$PLAIN_CONF
echo "+ valgrind ccp-probe fork SESSION:"
$LIBTOOL_EXEC $VG_STRICT --log-file="$T/vg.fork.%p.log" "$CCP_PROBE" fork SESSION:  ||
    { cat "$T"/vg.fork.*.log; exit 1; }
echo "+ valgrind ccp-probe ops SESSION"
$LIBTOOL_EXEC $VG_STRICT --log-file="$T/vg.probe.log" "$CCP_PROBE" ops SESSION  ||
    { cat "$T/vg.probe.log"; exit 1; }
exit 0
' || fail "valgrind login failed"

# Leak records that involve the library (any kind shown: definite, indirect).
bad=0
for f in "$T"/vg.*.log; do
    if awk '/^==[0-9]+== *$/ {if (rec ~ /libcachet-ccache|ccp_/) {print rec; found=1} rec=""; next}
            {rec = rec "\n" $0}
            END {if (rec ~ /libcachet-ccache|ccp_/) {print rec; found=1}; exit !found}' "$f" |
        grep -q 'lost in loss record'; then
        log "leak involving libcachet-ccache in $f:"
        cat "$f"
        bad=1
    fi
done
[ $bad -eq 0 ] || fail "libcachet-ccache leaks memory"
daemon_stop
it_pass
