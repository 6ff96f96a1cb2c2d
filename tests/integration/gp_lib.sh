# Shared helpers for the GSS-Proxy tests (sourced after lib.sh).
#
#     gp_init "what this test checks"   # it_init + gssproxy config paths
#     gp_config SERVICE_BLOCK...        # writes $GP_CONF ([gssproxy] + the given text)
#     gp_daemon_start                   # cachetd with gssproxy = yes on $GP_SOCK
#
# The GSS-Proxy sockets live in the test's temp dir; /run/gssproxy.sock is never touched.

GP_PAIR=$HELPERS/gp_pair
PROXYMECH=${PROXYMECH:-}

gp_init() {
    it_init "$@"
    need_cmd python3
    [ -x "$GP_PAIR" ] || hard_error "helper not built: $GP_PAIR (make check builds it)"
    GP_CONF=$T/gssproxy.conf
    GP_SOCK=$T/gp.sock
    GP_KSOCK=$T/kernel.sock
    ME=$(id -u)
    # Principals that map to local accounts (for linux_creds_v1 / localname).
    KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "addprinc -pw $(kdc_password daemon) daemon" \
        >>"$T/kdc-setup.log" 2>&1 || hard_error "addprinc daemon failed"
}

gp_config() {
    {
        echo "[gssproxy]"
        echo "  worker threads = 4"
        printf '%s\n' "$@"
    } >"$GP_CONF"
}

gp_daemon_start() {
    daemon_config gssproxy=yes gssproxy_config="$GP_CONF" gssproxy_config_dir=- \
        gssproxy_socket="$GP_SOCK" control_socket=- "$@"
    daemon_start
    local i
    for i in $(seq 1 50); do
        [ -S "$GP_SOCK" ] && break
        sleep 0.1
    done
    [ -S "$GP_SOCK" ] || fail "no GSS-Proxy socket at $GP_SOCK"
}

# Find Debian's interposer plugin (package gssproxy) or skip.
gp_need_proxymech() {
    local f
    for f in "$PROXYMECH" /usr/lib/x86_64-linux-gnu/gssproxy/proxymech.so \
             /usr/lib/*/gssproxy/proxymech.so /usr/lib64/gssproxy/proxymech.so; do
        if [ -n "$f" ] && [ -f "$f" ]; then
            PROXYMECH=$f
            echo "gssproxy_v1 2.16.840.1.113730.3.8.15.1 $PROXYMECH <interposer>" >"$T/mech.conf"
            return 0
        fi
    done
    skip "proxymech.so not found (Debian package gssproxy; or set PROXYMECH)"
}

# gp_client_env: the environment of a GSS client that goes through the interposer only
# (REMOTE_ONLY), with no keytab and no credentials of its own. Use: ok env $(gp_client_env) CMD
# Leak checking is off for the client only: Debian's proxymech.so leaks XDR references
# (gssrpc_xdr_reference) in a sanitizer build of the helper; the daemon is still checked.
gp_client_env() {
    printf '%s ' ASAN_OPTIONS=detect_leaks=0 GSS_USE_PROXY=yes GSSPROXY_SOCKET="$GP_SOCK" GSSPROXY_BEHAVIOR=REMOTE_ONLY \
        GSS_MECH_CONFIG="$T/mech.conf" KRB5_KTNAME="FILE:$T/no-such.keytab" \
        KRB5_CLIENT_KTNAME="FILE:$T/no-such-client.keytab" KRB5CCNAME="FILE:$T/client.ccache"
}

# Count "gssproxy: PROC for service S" debug lines in the daemon log.
gp_count() {
    grep -c "gssproxy: $1 for service $2" "$DAEMON_ERR" || true
}
