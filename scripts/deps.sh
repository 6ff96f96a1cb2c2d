#!/bin/bash
# Install the Debian 12 packages needed to build and test cachet.
# Idempotent: asks dpkg which packages are missing and only runs apt-get
# when something is. Needs root (or sudo) only in that case.
#
# sssd-kcm is deliberately NOT installed: it drops
# /etc/krb5.conf.d/kcm_default_ccache and starts its own KCM socket.
set -euo pipefail

PACKAGES=(
    build-essential autoconf automake libtool pkg-config gettext autopoint
    libkrb5-dev libtalloc-dev libtevent-dev libsystemd-dev libcmocka-dev libsqlite3-dev
    krb5-kdc krb5-admin-server krb5-user
    clang libclang-rt-14-dev valgrind
    python3 python3-dbusmock dbus keyutils
    gdb   # gcore, for tests/integration/t_swap_safety.sh
)
# GSS-Proxy service (issue 5): the packages listed in scripts/deps-proxy.txt, one per line.
[ -f "$(dirname "$0")/deps-proxy.txt" ] && mapfile -t -O "${#PACKAGES[@]}" PACKAGES < <(grep -v '^#' "$(dirname "$0")/deps-proxy.txt")

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps.sh: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

echo "deps.sh: installing: ${missing[*]}"
SUDO=
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "deps.sh: not root and no sudo; install these packages first: ${missing[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# Packages such as krb5-kdc, slapd, heimdal-kcm and sssd-kcm would start their system daemons
# on install, listening beyond loopback or on the default sockets our tests stay away from.
# The tests start their own instances, so forbid service starts for the duration of the
# install (Debian's policy-rc.d protocol: exit 101), unless the machine already has a policy.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# cachet scripts/deps.sh: no service starts during this install\nexit 101\n' |
        $SUDO tee "$POLICY" >/dev/null && $SUDO chmod 0755 "$POLICY" &&
        trap '$SUDO rm -f "$POLICY"' EXIT
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update
# krb5-kdc/krb5-admin-server ask debconf questions (realm, servers); with the
# noninteractive frontend they take defaults and we never use the system KDC.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"

echo "deps.sh: done"
