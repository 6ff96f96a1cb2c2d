#!/bin/bash
# storage = sqlite: kill -9 loses nothing acknowledged; nothing secret or identifying is on
# disk in clear; a corrupt database is moved aside (never deleted) and the daemon serves on.
. "$(dirname "$0")/lib.sh"
it_init "sqlite persistence across kill -9 and corruption"
daemon_config storage=sqlite
daemon_start
ok_kinit alice
ok kvno host/localhost
ok_kinit bob
ok kswitch -p alice
ok klist -A
before=$OUT

# No clean shutdown: no checkpoint, the WAL is all there is.
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
db=$T/state/cachet.sqlite
[ -s "$db-wal" ] || fail "expected a WAL after kill -9 (ls: $(ls "$T/state"))"
python3 - "$T/state" "$KDC_REALM" <<'PY' || fail "plaintext found on disk"
import glob, os, sys
d, realm = sys.argv[1], sys.argv[2].encode()
key = open(os.path.join(d, "master.key"), "rb").read()
bad = 0
for f in glob.glob(os.path.join(d, "cachet.sqlite*")):
    data = open(f, "rb").read()
    for needle in (key, realm, b"alice", b"krbtgt", b"host/localhost"):
        if needle in data:
            print("FOUND", "master key" if needle == key else needle, "in", f)
            bad = 1
sys.exit(bad)
PY

daemon_start
ok klist -A
[ "$OUT" = "$before" ] || fail "klist -A differs after kill -9 + restart"
ok klist -l
assert_eq "$(klist_l_count)" 2 "caches after kill -9"
assert_eq "$(klist_l_primary)" "$(realm_princ alice)" "primary after kill -9"
kdc_stop
ok kvno host/localhost       # the service ticket came back too: no KDC needed
daemon_stop

# Corrupt the database: it must be moved aside, the daemon must start empty and serve.
python3 - "$db" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(0)
    f.write(b"this is not a database" * 64)
PY
rm -f "$db-wal" "$db-shm"
daemon_start
ls "$T/state" | grep -q 'cachet.sqlite.corrupt-' || fail "corrupt database not moved aside: $(ls "$T/state")"
grep -q 'corrupt' "$DAEMON_ERR" || fail "no log line about the corrupt database"
run klist -l
assert_eq "$(klist_l_count)" 0 "caches after starting on a corrupt database"
kdc_start || fail "KDC restart failed"
ok_kinit carol
ok klist
assert_out_contains "Default principal: $(realm_princ carol)"
daemon_stop
it_pass
