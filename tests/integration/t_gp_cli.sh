#!/bin/bash
# gssproxy's command line: cachetd run as "gssproxy" (a symlink) or with --gssproxy-compat takes
# gssproxy's flags. gssproxy's test-harness style (-i -s SOCK -c CONF) serves Debian's
# interposer and reloads on SIGHUP; -D detaches only once ready (parent exit status, pid
# file); -u --idle-timeout exits when idle; bad flags exit 2 with a message; cachetd's own
# flags keep working.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gp_lib.sh"

gp_init "GSS-Proxy: gssproxy's command line (-i -D -s -c -C -u -d --debug-level ...)"
gp_need_proxymech
gp_config "[service/apps]" "  mechs = krb5" "  cred_store = keytab:$KDC_KEYTAB" \
    "  cred_store = client_keytab:$KDC_KEYTAB" "  krb5_principal = alice" "  trusted = yes" \
    "  euid = $ME"
# cachetd's own file (optional in this mode): what a test machine needs.
CCONF=$T/cachet-gp.conf
printf '%s\n' "[cachetd]" "memlock = degraded" "log_level = info" >"$CCONF"
ln -s "$CACHETD" "$T/gssproxy"

# gp_start LOGNAME ARGS...: start "$T/gssproxy ARGS" in the background, wait for gssproxy's
# "Initialization complete." marker (its harness waits for that line).
gp_start() {
    local name=$1 i
    shift
    DAEMON_N=$((DAEMON_N + 1))
    DAEMON_ERR=$T/daemon$DAEMON_N.err
    DAEMON_OUT=$T/daemon$DAEMON_N.out
    log "starting: $T/gssproxy $*"
    # shellcheck disable=SC2086
    $CACHETD_WRAPPER "$T/gssproxy" "$@" >"$DAEMON_OUT" 2>"$DAEMON_ERR" &
    DAEMON_PID=$!
    for i in $(seq 1 $((CACHET_READY_TIMEOUT * 10))); do
        grep -q "Initialization complete." "$DAEMON_ERR" && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || { DAEMON_PID=; fail "$name exited before it was ready"; }
        sleep 0.1
    done
    fail "$name: no 'Initialization complete.' within ${CACHET_READY_TIMEOUT}s"
}

# 1. gssproxy's harness style.
gp_start harness -i -s "$GP_SOCK" -c "$GP_CONF" --cachet-config="$CCONF" -d
[ -S "$GP_SOCK" ] || fail "no socket at $GP_SOCK"
[ ! -e "$SOCK" ] || fail "gssproxy mode opened cachetd's KCM socket $SOCK"
ok env $(gp_client_env) "$GP_PAIR" pair host@localhost 1
assert_out_contains "mutual, initiator alice@$KDC_REALM"
[ "$(gp_count ACCEPT_SEC_CONTEXT apps)" -ge 1 ] || fail "-d did not turn on debug logging"
# The harness rewrites the file and sends SIGHUP, then waits for this line.
gp_config "[service/apps2]" "  mechs = krb5" "  cred_store = keytab:$KDC_KEYTAB" \
    "  cred_store = client_keytab:$KDC_KEYTAB" "  krb5_principal = alice" "  trusted = yes" \
    "  euid = $ME"
kill -HUP "$DAEMON_PID"
wait_log "New config loaded successfully" 1 "no reload after SIGHUP"
ok env $(gp_client_env) "$GP_PAIR" pair host@localhost 1
[ "$(gp_count ACCEPT_SEC_CONTEXT apps2)" -ge 1 ] || fail "the reloaded service was not used"
daemon_stop
[ ! -e "$GP_SOCK" ] || fail "socket left behind"
log "-i -s -c -d: interposer pair, SIGHUP reload, clean stop"

# 2. -C: a configuration directory (gssproxy reads NN-*.conf), --gssproxy-compat spelling,
#    --debug-level.
mkdir -p "$T/gpdir"
cp "$GP_CONF" "$T/gpdir/50-apps.conf"
sed -i 's/^\[gssproxy\]$//; s/^  worker threads = 4$//' "$T/gpdir/50-apps.conf"
echo "[service/never]" >"$T/gpdir/README" # not NN-*.conf: skipped
DAEMON_N=$((DAEMON_N + 1))
DAEMON_ERR=$T/daemon$DAEMON_N.err
"$CACHETD" --gssproxy-compat -i -C "$T/gpdir" -c /dev/null -s "$T/gp2.sock" --debug-level=2 \
    --cachet-config="$CCONF" >"$T/daemon$DAEMON_N.out" 2>"$DAEMON_ERR" &
DAEMON_PID=$!
wait_log "Initialization complete." 1 "-C: the daemon never completed its initialization"
GP_SOCK_SAVE=$GP_SOCK
GP_SOCK=$T/gp2.sock
ok env $(gp_client_env) "$GP_PAIR" pair host@localhost 1
[ "$(gp_count ACCEPT_SEC_CONTEXT apps2)" -ge 1 ] || fail "-C directory not read"
GP_SOCK=$GP_SOCK_SAVE
daemon_stop
log "--gssproxy-compat -C DIR --debug-level=2: served from the directory's 50-apps.conf"

# 3. -D (the Debian unit's Type=forking): the parent returns once the child is ready, so the
#    socket is there without waiting; the pid file names the daemon; SIGTERM removes both.
DAEMON_N=$((DAEMON_N + 1))
DAEMON_ERR=$T/daemon$DAEMON_N.err
timeout 30 "$T/gssproxy" -D -s "$T/gp3.sock" -c "$GP_CONF" --cachet-config="$CCONF" \
    --pid-file="$T/gp.pid" >"$T/daemon$DAEMON_N.out" 2>"$DAEMON_ERR" ||
    fail "-D: the parent exited with status $?"
[ -S "$T/gp3.sock" ] || fail "-D returned before the socket was listening"
pid=$(cat "$T/gp.pid") || fail "no pid file"
kill -0 "$pid" || fail "pid file names no live process"
it_track_pid "$pid"
GP_SOCK=$T/gp3.sock
ok env $(gp_client_env) "$GP_PAIR" pair host@localhost 1
GP_SOCK=$GP_SOCK_SAVE
kill -TERM "$pid"
for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
! kill -0 "$pid" 2>/dev/null || fail "the -D daemon did not stop on SIGTERM"
[ ! -e "$T/gp.pid" ] || fail "pid file left behind"
# A configuration that does not load: the parent's exit status says so.
printf '%s\n' "[service/bad]" "  mechs = krb5" >"$T/bad.conf"
timeout 30 "$T/gssproxy" -D -s "$T/gp4.sock" -c "$T/bad.conf" --cachet-config="$CCONF" \
    --pid-file="$T/gp4.pid" >"$T/bad-d.out" 2>"$T/bad-d.err"
rc=$?
[ "$rc" -eq 1 ] || fail "-D with a bad configuration: parent exit status $rc, expected 1"
grep -q "euid is required" "$T/bad-d.err" || fail "-D: the configuration error was not logged"
# (A shell's $(...) is not held open by the daemon: its stdout is a pipe, not kept.)
out=$(timeout 30 "$T/gssproxy" -D -s "$T/gp5.sock" -c "$GP_CONF" --cachet-config="$CCONF" \
    --pid-file="$T/gp5.pid") || fail "-D inside \$(...) failed or hung"
[ -s "$T/gp5.pid" ] || fail "-D: no pid file when the parent returned"
pid5=$(cat "$T/gp5.pid")
kill -0 "$pid5" 2>/dev/null || fail "-D: the daemon in the pid file ($pid5) is not running"
it_track_pid "$pid5"
kill -TERM "$pid5"
log "-D: ready before the parent exits, pid file, failure reported by the exit status"

# 4. -u --idle-timeout: gssproxy's user proxy exits after idling.
DAEMON_N=$((DAEMON_N + 1))
start=$SECONDS
timeout 30 "$T/gssproxy" -u -i -d --debug-level=1 -s "$T/user.sock" --idle-timeout=2 \
    --cachet-config="$CCONF" >"$T/u.out" 2>"$T/daemon-u.err"
rc=$?
[ "$rc" -eq 0 ] || { cat "$T/daemon-u.err"; fail "-u exited with status $rc"; }
grep -q "Initialization complete." "$T/daemon-u.err" || fail "-u: no start marker"
grep -q "Terminating, after idling" "$T/daemon-u.err" || fail "-u: no idle termination"
[ $((SECONDS - start)) -ge 2 ] || fail "-u: exited before the idle timeout"
log "-u --idle-timeout=2: exited after idling"

# 5. Bad flags: a message and status 2. --version: the version, status 0.
for args in "-i -D" "--bogus" "--debug-level=x" "--idle-timeout=-1" "-i extra" "-s" \
    "--extract-ccache=FILE:x"; do
    # shellcheck disable=SC2086
    "$T/gssproxy" $args >"$T/bad.out" 2>&1
    rc=$?
    [ "$rc" -eq 2 ] || { cat "$T/bad.out"; fail "'gssproxy $args' exited $rc, expected 2"; }
    grep -q "^gssproxy: " "$T/bad.out" || fail "'gssproxy $args': no error message"
    log "gssproxy $args -> 2: $(head -1 "$T/bad.out")"
done
ok "$T/gssproxy" --version
version=$("$CACHETD" -V | awk '{print $2}')
[ -n "$version" ] || fail "cachetd -V printed no version"
assert_out_contains "$version"

# cachetd's own command line is unchanged.
expect_fail "$CACHETD" -i
ok "$CACHETD" -V
assert_out_contains "cachetd "
ok "$CACHETD" --help
assert_out_contains "--gssproxy-compat"
daemon_check_log # every instance's stderr (also -D's and -u's): no sanitizer report
it_pass
