# A private system bus with python3-dbusmock's logind template (sourced after lib.sh).
#
#   logind_prereqs        skip with a reason unless dbus-daemon and dbusmock are here
#   bus_start             start (or restart) the bus and the mock; sets BUS_ADDR, BUS_PID,
#                         MOCK_PID and adds both to BUS_PIDS (callers' EXIT traps kill those)
#   mock ARGS...          drive the mock (logind_mock.py: add, new, removed)
# (wait_log, for the daemon's log lines, is in lib.sh.)

logind_prereqs() {
    need_cmd dbus-daemon
    PY=
    local p
    for p in /usr/bin/python3 python3; do
        if "$p" -c 'import dbus, dbusmock' 2>/dev/null; then
            PY=$p
            break
        fi
    done
    [ -n "$PY" ] || skip "no python3 with dbus and dbusmock (apt install python3-dbusmock)"
    BUS_PIDS=()
}

bus_start() {
    local i
    BUS_ADDR=unix:path=$T/bus
    cat >"$T/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>$BUS_ADDR</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
EOF
    rm -f "$T/bus"
    dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile >"$T/bus.log" 2>&1 &
    BUS_PID=$!
    BUS_PIDS+=("$BUS_PID")
    for i in $(seq 1 100); do
        [ -S "$T/bus" ] && break
        sleep 0.05
    done
    [ -S "$T/bus" ] || hard_error "private dbus-daemon did not start: $(cat "$T/bus.log")"
    DBUS_SYSTEM_BUS_ADDRESS=$BUS_ADDR "$PY" -m dbusmock --system --template logind \
        >"$T/mock.log" 2>&1 &
    MOCK_PID=$!
    BUS_PIDS+=("$MOCK_PID")
    "$PY" "$IT_DIR/logind_mock.py" "$BUS_ADDR" wait ||
        hard_error "dbusmock logind did not start: $(cat "$T/mock.log")"
    log "private system bus at $BUS_ADDR (dbus-daemon $BUS_PID, logind mock $MOCK_PID)"
}

mock() {
    echo "+ [logind mock] $*"
    "$PY" "$IT_DIR/logind_mock.py" "$BUS_ADDR" "$@" || fail "logind mock: $* failed"
}

