#!/bin/bash
# storage = sqlite, group commit: concurrent clients' changes share commits, and kill -9 in
# the middle of them loses nothing that was acknowledged. Each writer records a credential only
# after the daemon answered its STORE with success; after kill -9 and a restart, every
# recorded credential must be there. Also checks that commits were in fact shared.
. "$(dirname "$0")/lib.sh"
it_init "sqlite group commit: kill -9 under concurrent writers"
need_cmd python3
daemon_config storage=sqlite log_level=debug max_creds_per_cache=100000 \
    max_bytes_per_uid=1073741824
ACK=$T/ack

for round in 1 2 3; do
    daemon_start
    python3 "$IT_DIR/kcmstore.py" "$SOCK" write "$MYUID" 8 "$ACK.r$round" &
    writers=$!
    it_track_pid "$writers"
    sleep "0.$((3 + round * 2))"
    kill -KILL "$DAEMON_PID"
    wait "$DAEMON_PID" 2>/dev/null
    DAEMON_PID=
    wait "$writers"
    acked=$(cat "$ACK.r$round".* 2>/dev/null | wc -l)
    [ "$acked" -gt 8 ] || fail "round $round: only $acked changes acknowledged before kill -9"
    daemon_start
    ok python3 "$IT_DIR/kcmstore.py" "$SOCK" check "$ACK.r$round"
    daemon_stop
done
grep -q 'committing [0-9]* operations together' "$T"/daemon*.err ||
    fail "no commit was shared between clients"
log "shared commits: $(cat "$T"/daemon*.err | grep -c 'operations together')"
it_pass
