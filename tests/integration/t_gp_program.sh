#!/bin/bash
# program = must be proven. The kernel reconnects to /run/gssproxy.sock from nfsd kernel threads,
# whose executable cannot be read; such a peer must reach the kernel_nfsd service and never a
# service with a program = in front of it. Mimicked with gpkernel.py (the kernel's bytes): first
# with cachetd able to read the client's executable (the program service serves it: the check
# is meaningful), then with cachetd in its own pid namespace, where the client's pid is not
# visible (SO_PEERCRED pid 0, no /proc entry): the kernel_nfsd service must serve it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gp_lib.sh"

gp_init "GSS-Proxy: peers whose executable cannot be read (kernel threads) and program ="
[ "$(id -u)" = 0 ] || skip "needs root for a pid namespace (unshare --pid)"
need_cmd unshare
unshare --pid --fork --mount-proc true 2>/dev/null ||
    skip "unshare --pid --fork --mount-proc is not permitted here"
NS_WRAP="unshare --pid --fork --mount-proc --kill-child=SIGKILL"
# ns_daemon_stop: unshare does not pass SIGTERM on; stop cachetd (its only child) directly.
ns_daemon_stop() {
    local child i rc
    child=$(cat "/proc/$DAEMON_PID/task/$DAEMON_PID/children" 2>/dev/null)
    [ -n "$child" ] || fail "no cachetd under unshare ($DAEMON_PID)"
    kill -TERM $child
    for i in $(seq 1 100); do
        kill -0 "$DAEMON_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$DAEMON_PID" 2>/dev/null && fail "cachetd in the pid namespace did not stop"
    wait "$DAEMON_PID"
    rc=$?
    DAEMON_PID=
    daemon_check_log
    [ "$rc" -eq 0 ] || fail "cachetd in the pid namespace exited with status $rc"
}
PY_EXE=$(python3 -c 'import os; print(os.readlink("/proc/self/exe"))')
[ -x "$PY_EXE" ] || hard_error "cannot find python3's executable ($PY_EXE)"
gp_config "[service/gssd]" "  mechs = krb5" "  socket = $GP_KSOCK" "  program = $PY_EXE" \
    "  cred_store = keytab:$KDC_KEYTAB" "  trusted = yes" "  euid = $ME" \
    "[service/nfs-server]" "  mechs = krb5" "  socket = $GP_KSOCK" \
    "  cred_store = keytab:$KDC_KEYTAB" "  trusted = yes" "  kernel_nfsd = yes" "  euid = $ME"
: >"$T/use-gss-proxy"

export KRB5CCNAME=FILE:$T/daemon.cc
kinit_as daemon || fail "kinit daemon"
ok "$GP_PAIR" token host@localhost 4
printf '%s\n' "$OUT" | head -n 6 >"$T/tokens1"  # 3 lines a token
printf '%s\n' "$OUT" | tail -n 6 >"$T/tokens2"

# 1. The executable is readable: the program service serves the call.
gp_daemon_start gssproxy_kernel_file="$T/use-gss-proxy"
ok python3 "$IT_DIR/gpkernel.py" "$GP_KSOCK" check "$T/tokens1"
assert_out_contains "ok src=daemon@$KDC_REALM"
[ "$(gp_count ACCEPT_SEC_CONTEXT gssd)" -ge 1 ] || fail "program = $PY_EXE did not match python"
[ "$(gp_count ACCEPT_SEC_CONTEXT nfs-server)" = 0 ] || fail "nfs-server served a provable program"
daemon_stop
log "readable executable: served by the program = service"

# 2. cachetd in its own pid namespace: the client's executable cannot be read.
rm -f "$GP_KSOCK" "$GP_SOCK"
CACHETD_WRAPPER=$NS_WRAP gp_daemon_start gssproxy_kernel_file="$T/use-gss-proxy"
ok python3 "$IT_DIR/gpkernel.py" "$GP_KSOCK" check "$T/tokens2"
assert_out_contains "ok src=daemon@$KDC_REALM"
grep -q "gssproxy: connection from uid $ME pid 0 (executable unknown)" "$DAEMON_ERR" ||
    fail "the peer's executable was not unknown"
[ "$(gp_count ACCEPT_SEC_CONTEXT nfs-server)" -ge 1 ] || fail "kernel_nfsd service not selected"
[ "$(gp_count ACCEPT_SEC_CONTEXT gssd)" = 0 ] || fail "a program = service matched an unknown exe"
log "unreadable executable: served by the kernel_nfsd service, never the program = one"

# 3. Without the kernel_nfsd fallback such a peer matches nothing: closed without a reply.
ns_daemon_stop
rm -f "$GP_KSOCK" "$GP_SOCK"
gp_config "[service/gssd]" "  mechs = krb5" "  socket = $GP_KSOCK" "  program = $PY_EXE" \
    "  cred_store = keytab:$KDC_KEYTAB" "  trusted = yes" "  euid = $ME"
CACHETD_WRAPPER=$NS_WRAP gp_daemon_start
expect_fail python3 "$IT_DIR/gpkernel.py" "$GP_KSOCK" check "$T/tokens2"
grep -q "gssproxy: no service matches uid $ME (executable unknown)" "$DAEMON_ERR" ||
    fail "no log line for the unmatched peer"
ns_daemon_stop
log "only a program = service: an unknown executable gets no service"
it_pass
