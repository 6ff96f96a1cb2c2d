#!/bin/bash
# Throw-away MIT KDC for cachet's demo and integration tests.
#
# As a library (what tests/integration/lib.sh and scripts/demo.sh do):
#     . scripts/kdc.sh
#     kdc_setup DIR KCM_SOCKET   # krb5.conf, kdc.conf, database, principals, keytab
#     kdc_start                  # krb5kdc -n on 127.0.0.1:<free port>, waits until it answers
#     kdc_stop
# Standalone (for poking at the daemon by hand):
#     bash scripts/kdc.sh [DIR [KCM_SOCKET]]
#     prints the environment to use, runs until interrupted, then removes DIR.
#
# Everything lives in DIR; nothing outside it is read or written. KRB5_CONFIG,
# KRB5_KDC_PROFILE and KRB5CCNAME are always set explicitly (the host's
# /etc/krb5.conf and its KCM snippets are never consulted).

KDC_REALM=${KDC_REALM:-CACHET.TEST}
KDC_USERS="alice bob carol doug"
KDC_SERVICE="host/localhost"
KDC_MASTER_PW="cachet-master-key"

# Password of a test user: kdc_password alice -> alice-Secret1
kdc_password() {
    printf '%s-Secret1' "$1"
}

# Print a TCP port that is free for both TCP and UDP on 127.0.0.1.
kdc_free_port() {
    python3 - <<'EOF'
import socket, sys
for _ in range(200):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close()
        continue
    u.close()
    t.close()
    if port > 1024:
        print(port)
        sys.exit(0)
sys.exit("no free port found")
EOF
}

# Write krb5.conf/kdc.conf pointing at a new port (used again on a start retry).
kdc_write_config() {
    local dir=$KDC_DIR
    KDC_PORT=$(kdc_free_port) || return 1
    cat >"$dir/krb5.conf" <<EOF
[libdefaults]
    default_realm = $KDC_REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    ignore_acceptor_hostname = true
    kcm_socket = $KDC_KCM_SOCKET
    kcm_mach_service = -
    default_ccache_name = KCM:
    default_keytab_name = FILE:$dir/keytab
    forwardable = true

[realms]
    $KDC_REALM = {
        kdc = 127.0.0.1:$KDC_PORT
    }

[domain_realm]
    localhost = $KDC_REALM
    .localhost = $KDC_REALM
EOF
    cat >"$dir/kdc.conf" <<EOF
[kdcdefaults]
    kdc_listen = 127.0.0.1:$KDC_PORT
    kdc_tcp_listen = 127.0.0.1:$KDC_PORT

[realms]
    $KDC_REALM = {
        database_name = $dir/db/principal
        key_stash_file = $dir/db/stash
        acl_file = $dir/db/kadm5.acl
        kdc_listen = 127.0.0.1:$KDC_PORT
        kdc_tcp_listen = 127.0.0.1:$KDC_PORT
        max_life = 1d
        max_renewable_life = 7d
    }

[logging]
    kdc = FILE:$dir/kdc.log
    default = FILE:$dir/kdc.log
EOF
    chmod 0644 "$dir/krb5.conf" "$dir/kdc.conf"
}

# kdc_setup DIR KCM_SOCKET
kdc_setup() {
    KDC_DIR=$1
    KDC_KCM_SOCKET=$2
    KDC_KEYTAB=$KDC_DIR/keytab
    mkdir -p "$KDC_DIR/db" || return 1
    : >"$KDC_DIR/db/kadm5.acl"
    kdc_write_config || return 1
    export KRB5_CONFIG=$KDC_DIR/krb5.conf
    export KRB5_KDC_PROFILE=$KDC_DIR/kdc.conf
    export KRB5_KTNAME=FILE:$KDC_KEYTAB
    export KRB5CCNAME=KCM:
    unset KRB5_CLIENT_KTNAME KRB5RCACHETYPE KRB5RCACHENAME

    local log=$KDC_DIR/kdc-setup.log
    if ! KRB5CCNAME=MEMORY: kdb5_util -r "$KDC_REALM" create -s -P "$KDC_MASTER_PW" \
            >"$log" 2>&1; then
        echo "kdc.sh: kdb5_util create failed:" >&2
        cat "$log" >&2
        return 1
    fi
    local u q=""
    for u in $KDC_USERS; do
        q+="addprinc -pw $(kdc_password "$u") $u"$'\n'
    done
    q+="addprinc -randkey $KDC_SERVICE"$'\n'
    q+="ktadd -k $KDC_KEYTAB $KDC_SERVICE"$'\n'
    # alice's keys also go into the keytab (without changing her password) so
    # keytab-based acquisition can be tested as a normal user principal.
    q+="ktadd -k $KDC_KEYTAB -norandkey alice"$'\n'
    while IFS= read -r line; do
        [ -n "$line" ] || continue
        if ! KRB5CCNAME=MEMORY: kadmin.local -r "$KDC_REALM" -q "$line" >>"$log" 2>&1; then
            echo "kdc.sh: kadmin.local '$line' failed:" >&2
            cat "$log" >&2
            return 1
        fi
    done <<<"$q"
    chmod 0644 "$KDC_KEYTAB"
}

# Is something answering on 127.0.0.1:$KDC_PORT (TCP)?
kdc_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$KDC_PORT") 2>/dev/null
}

kdc_start() {
    local attempt i
    for attempt in 1 2 3; do
        KRB5CCNAME=MEMORY: krb5kdc -n -r "$KDC_REALM" >>"$KDC_DIR/kdc.out" 2>&1 &
        KDC_PID=$!
        for i in $(seq 1 100); do
            if ! kill -0 "$KDC_PID" 2>/dev/null; then
                break
            fi
            if kdc_port_open; then
                return 0
            fi
            sleep 0.1
        done
        kill "$KDC_PID" 2>/dev/null
        wait "$KDC_PID" 2>/dev/null
        KDC_PID=
        # Most likely the port was taken between choosing and binding it.
        echo "kdc.sh: krb5kdc did not come up on port $KDC_PORT (attempt $attempt)" >&2
        tail -n 5 "$KDC_DIR/kdc.log" "$KDC_DIR/kdc.out" >&2 2>/dev/null
        kdc_write_config || return 1
    done
    return 1
}

kdc_stop() {
    if [ -n "${KDC_PID:-}" ]; then
        kill "$KDC_PID" 2>/dev/null
        wait "$KDC_PID" 2>/dev/null
        KDC_PID=
    fi
}

# Standalone mode.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -u
    dir=${1:-$(mktemp -d /tmp/cachet-kdc.XXXXXX)}
    sock=${2:-$dir/kcm.sock}
    trap 'kdc_stop; rm -rf "$dir"' EXIT
    trap 'exit 0' INT TERM
    kdc_setup "$dir" "$sock" || exit 1
    kdc_start || exit 1
    cat <<EOF
KDC for $KDC_REALM on 127.0.0.1:$KDC_PORT (pid $KDC_PID), files in $dir
Users: $KDC_USERS (password: <name>-Secret1); service: $KDC_SERVICE (keytab $KDC_KEYTAB)
Use:
  export KRB5_CONFIG=$KRB5_CONFIG KRB5_KDC_PROFILE=$KRB5_KDC_PROFILE KRB5CCNAME=KCM:
  # and start cachetd with socket_path = $sock
Press Ctrl-C to stop and remove $dir.
EOF
    while kill -0 "$KDC_PID" 2>/dev/null; do
        sleep 1
    done
    echo "kdc.sh: krb5kdc exited" >&2
    exit 1
fi
