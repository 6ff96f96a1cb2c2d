#!/bin/bash
# tests/nfs/nfs-vm.sh - the real kernel: Debian's kernel under QEMU, its nfsd using cachetd as
# the GSS-Proxy daemon, Kerberized NFSv4 mounts on the guest's loopback.
#
# Modelled on the team's feasibility study (nfs-vm.md, nfs-vm-recipe.sh): one uncompressed
# initramfs built from a cached debootstrap, no disk, no network device, TCG by default.
# Scenario (guest PID 1):
#   KDC (NFSVM.TEST; nfs/nfsvm.test in /etc/krb5.keytab; alice uid 1000)
#   -> cachetd with gssproxy = yes reading Debian's /etc/gssproxy/24-nfs-server.conf unchanged
#      (kernel_nfsd = yes, socket /run/gssproxy.sock); wait for use-gss-proxy = 1
#   -> nfsd exporting a tmpfs sec=krb5:krb5i:krb5p -> rpc.gssd -> mount sec=krb5
#   -> alice without a ticket is refused; with one she writes and reads a file
#   -> the same with sec=krb5i; krb5p reported only (6.1.192+ fails it with any daemon)
#   -> cachetd must have served the kernel's ACCEPT_SEC_CONTEXT calls and still run;
#   -> cachetd restarts without writing use-gss-proxy: the kernel reconnects from an nfsd
#      thread (a kernel thread, no executable) and a new mount is served by nfs-server.
# NFSVM_MODE=negative kills cachetd after the kernel switched to it: the krb5 mount must fail
# (it hangs until the guest's 120 s timeout).
#
# Not part of make check (minutes, root, the Debian mirror). Exit 0 pass, 1 fail, 77 skip.
# Env: WORK (cache + logs, default /var/tmp/cachet-nfsvm), CACHETD (default src/cachetd),
#      NFSVM_MODE (positive|negative), ACCEL (tcg|kvm), QEMU_TIMEOUT (300), QEMU_SMP (2),
#      MIRROR, KERNEL_PKG, REBUILD_ROOTFS=1, KRB5P_REQUIRED=1.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CACHETD=${CACHETD:-$TOP/src/cachetd}
WORK=${WORK:-/var/tmp/cachet-nfsvm}
ACCEL=${ACCEL:-tcg}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-300}
QEMU_SMP=${QEMU_SMP:-2}
NFSVM_MODE=${NFSVM_MODE:-positive}
MIRROR=${MIRROR:-$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
# cachetd's own runtime libraries on top of the NFS/Kerberos userland.
PKGS=nfs-kernel-server,nfs-common,krb5-kdc,krb5-admin-server,krb5-user,gssproxy,kmod,procps
PKGS=$PKGS,iproute2,libtalloc2,libtevent0,libtirpc3,libsqlite3-0,libsystemd0

skip() { echo "nfs-vm: SKIP: $*"; exit 77; }
t0=$(date +%s)
log() { echo "[nfs-vm +$(( $(date +%s) - t0 ))s] $*"; }

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, device nodes in the guest tree)"
[ -x "$CACHETD" ] || skip "no daemon at $CACHETD (build first)"
for c in qemu-system-x86_64 debootstrap cpio depmod modprobe; do
    command -v "$c" >/dev/null || skip "$c not installed (scripts/deps-proxy.txt)"
done
[ -x /bin/busybox ] && /bin/busybox --list | grep -qx poweroff ||
    skip "static busybox not installed (busybox-static)"
mkdir -p "$WORK"
cd "$WORK"

# ---- kernel: unpacked only, never installed
if ! ls kernel/boot/vmlinuz-* >/dev/null 2>&1; then
    img=${KERNEL_PKG:-$(apt-cache depends linux-image-amd64 2>/dev/null |
          awk '/Depends: linux-image-[0-9]/{print $2; exit}')}
    [ -n "$img" ] || skip "cannot find the kernel package (apt-cache depends linux-image-amd64)"
    log "downloading $img"
    rm -rf kernel kdeb && mkdir -p kernel kdeb
    (cd kdeb && apt-get download "$img" >/dev/null 2>&1) || skip "apt-get download $img failed"
    dpkg -x kdeb/*.deb kernel
fi
VMLINUZ=$(ls kernel/boot/vmlinuz-* | head -1)
KVER=${VMLINUZ##*/vmlinuz-}

# ---- guest userland (cached)
if [ ! -x rootfs/usr/sbin/rpc.nfsd ] || [ ! -e rootfs/usr/lib/x86_64-linux-gnu/libtevent.so.0 ] ||
   [ "${REBUILD_ROOTFS:-0}" = 1 ]; then
    log "debootstrap bookworm (+$PKGS), about 90 s"
    rm -rf rootfs && mkdir rootfs
    debootstrap --variant=minbase --include="$PKGS" bookworm rootfs "$MIRROR" \
        >debootstrap.log 2>&1 || { tail -5 debootstrap.log; skip "debootstrap failed"; }
fi
log "kernel $KVER, staging the guest"
rm -rf guest && mkdir guest && cp -a rootfs/. guest/
rm -rf guest/usr/share/{doc,man,info,locale,lintian} guest/var/cache/apt/* \
       guest/var/lib/apt/lists/*
cp /bin/busybox guest/bin/busybox
M=kernel/lib/modules/$KVER
depmod -b kernel "$KVER"
G=guest/lib/modules/$KVER
for f in $(for m in nfsd nfsv4 rpcsec_gss_krb5 auth_rpcgss; do
               modprobe -d kernel -S "$KVER" --show-depends "$m"; done |
           awk '$1=="insmod"{print $2}' | sort -u); do
    rel=${f#*/lib/modules/$KVER/}
    mkdir -p "$G/$(dirname "$rel")" && cp "$f" "$G/$rel"
done
mkdir -p "$G/kernel/arch/x86" "$G/kernel/lib"
cp -a "$M/kernel/crypto" "$G/kernel/"          # cts(cbc(aes)) etc. load on demand
cp -a "$M/kernel/arch/x86/crypto" "$G/kernel/arch/x86/"
[ -d "$M/kernel/lib/crypto" ] && cp -a "$M/kernel/lib/crypto" "$G/kernel/lib/"
cp "$M"/modules.order "$M"/modules.builtin* "$G/"
depmod -b guest "$KVER"

# ---- configuration
echo nfsvm.test >guest/etc/hostname
printf '127.0.0.1 localhost\n127.0.1.1 nfsvm.test nfsvm\n' >guest/etc/hosts
cat >guest/etc/krb5.conf <<'EOF'
[libdefaults]
    default_realm = NFSVM.TEST
    dns_lookup_realm = false
    dns_lookup_kdc = false
    rdns = false
[realms]
    NFSVM.TEST = {
        kdc = 127.0.0.1
        admin_server = 127.0.0.1
    }
[domain_realm]
    .nfsvm.test = NFSVM.TEST
    nfsvm.test = NFSVM.TEST
EOF
cat >guest/etc/krb5kdc/kdc.conf <<'EOF'
[kdcdefaults]
    kdc_ports = 88
    kdc_tcp_ports = 88
[realms]
    NFSVM.TEST = {
        database_name = /var/lib/krb5kdc/principal
        acl_file = /etc/krb5kdc/kadm5.acl
        key_stash_file = /etc/krb5kdc/stash
        max_life = 10h 0m 0s
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }
[logging]
    kdc = FILE:/var/log/krb5kdc.log
EOF
echo '/srv/nfs *(rw,sec=krb5:krb5i:krb5p,no_subtree_check,fsid=1)' >guest/etc/exports
printf '[General]\nDomain = nfsvm.test\n[Mapping]\nNobody-User = nobody\nNobody-Group = nogroup\n' \
    >guest/etc/idmapd.conf
printf '[nfsd]\ngrace-time=10\nlease-time=10\n' >>guest/etc/nfs.conf
echo 'alice:x:1000:1000:alice:/home/alice:/bin/sh' >>guest/etc/passwd
echo 'alice:*:19000:0:99999:7:::' >>guest/etc/shadow
echo 'alice:x:1000:' >>guest/etc/group
mkdir -p guest/home/alice guest/srv/nfs guest/mnt/nfs guest/etc/cachet
chown 1000:1000 guest/home/alice
[ -f guest/etc/gssproxy/24-nfs-server.conf ] || skip "guest has no 24-nfs-server.conf"
# cachetd: Debian's gssproxy files unchanged; no gssproxy binary runs in the guest.
install -m 755 "$CACHETD" guest/usr/sbin/cachetd
rm -f guest/usr/sbin/gssproxy
cat >guest/etc/cachet/cachet.conf <<'EOF'
[cachetd]
socket_path = /run/cachet-kcm.sock
log_level = debug
storage = memory
memlock = degraded
control_socket = -
gssproxy = yes
EOF
echo "NFSVM_MODE='$NFSVM_MODE' KRB5P_REQUIRED='${KRB5P_REQUIRED:-0}'" >guest/etc/nfsvm.env

cat >guest/init <<'GUESTINIT'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
. /etc/nfsvm.env
up() { cut -d' ' -f1 /proc/uptime; }
step() { echo "NFSVM-STEP [$(up)s] $*"; }
finish() {
    dmesg >/tmp/dmesg.log
    echo "NFSVM-LOGS-BEGIN"
    (cd /tmp && /bin/busybox tar czf - *.log syslog /var/log/krb5kdc.log 2>/dev/null) |
        /bin/busybox base64
    echo "NFSVM-LOGS-END"
    sync; /bin/busybox poweroff -f
}
fail() { echo "NFSVM-RESULT FAIL $*"; finish; }
asalice() { setpriv --reuid=1000 --regid=1000 --init-groups \
            env HOME=/home/alice USER=alice KRB5CCNAME=FILE:/tmp/krb5cc_1000 "$@"; }
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mkdir -p /run/rpc_pipefs /run/lock /var/lib/gssproxy
chmod 1777 /tmp
hostname nfsvm.test
ip link set lo up
/bin/busybox syslogd -O /tmp/syslog
step "userspace up (kernel $(uname -r)), mode=$NFSVM_MODE"
for m in sunrpc auth_rpcgss rpcsec_gss_krb5 nfsd nfsv4; do modprobe $m || fail "modprobe $m"; done
mount -t rpc_pipefs rpc_pipefs /run/rpc_pipefs || fail rpc_pipefs
mount -t nfsd nfsd /proc/fs/nfsd || fail nfsdfs
step "modules loaded; use-gss-proxy=$(cat /proc/net/rpc/use-gss-proxy)"
kdb5_util create -s -r NFSVM.TEST -P masterpw >/tmp/kdb.log 2>&1 || fail kdb5_util
kadmin.local -q "addprinc -randkey nfs/nfsvm.test" >>/tmp/kdb.log 2>&1 || fail addprinc
kadmin.local -q "ktadd -k /etc/krb5.keytab nfs/nfsvm.test" >>/tmp/kdb.log 2>&1 || fail ktadd
kadmin.local -q "addprinc -pw alicepw alice" >>/tmp/kdb.log 2>&1 || fail addprinc-alice
krb5kdc || fail krb5kdc
step "KDC up"

cachetd -c /etc/cachet/cachet.conf >/tmp/cachetd.out 2>/tmp/cachetd.log &
CD=$!
i=0
while [ "$(cat /proc/net/rpc/use-gss-proxy)" != 1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
kill -0 $CD 2>/dev/null || fail "cachetd exited: $(tail -3 /tmp/cachetd.log | tr '\n' ' ')"
[ -S /run/gssproxy.sock ] || fail "no /run/gssproxy.sock"
[ "$(cat /proc/net/rpc/use-gss-proxy)" = 1 ] || fail "use-gss-proxy not 1"
step "cachetd pid $CD serving /run/gssproxy.sock; use-gss-proxy=1 after ${i}x0.1s"
if [ "$NFSVM_MODE" = negative ]; then
    kill $CD; wait $CD 2>/dev/null
    step "negative control: cachetd killed"
fi

mount -t tmpfs -o mode=0755 tmpfs /srv/nfs
mkdir /srv/nfs/alice && chown alice:alice /srv/nfs/alice
rpcbind -w || fail rpcbind
exportfs -ra || fail exportfs
rpc.mountd || fail rpc.mountd
rpc.idmapd || step "rpc.idmapd failed (ignored)"
rpc.nfsd 4 || fail rpc.nfsd
step "nfsd up"
rpc.gssd -vvv >/tmp/gssd.log 2>&1 &
sleep 1
if [ "$NFSVM_MODE" = negative ]; then
    if timeout 120 mount -t nfs4 -o sec=krb5 nfsvm.test:/srv/nfs /mnt/nfs >/tmp/mount.out 2>&1; then
        echo "NFSVM-RESULT FAIL negative control: mount succeeded without the daemon"
    else
        step "krb5 mount failed without cachetd (rc=$?)"
        echo "NFSVM-RESULT PASS (negative control)"
    fi
    finish
fi
mount -t nfs4 -o sec=krb5 nfsvm.test:/srv/nfs /mnt/nfs || fail "mount sec=krb5"
step "mounted sec=krb5"
if asalice ls /mnt/nfs/alice >/tmp/noticket.out 2>&1; then
    fail "alice without a ticket could list her directory"
fi
step "alice without ticket refused: $(cat /tmp/noticket.out)"
echo alicepw | asalice kinit alice >/tmp/kinit.log 2>&1 || fail kinit
asalice sh -c 'echo "hello from alice via krb5 nfs and cachetd" > /mnt/nfs/alice/hello.txt' ||
    fail "write as alice"
got=$(asalice cat /mnt/nfs/alice/hello.txt) || fail "read as alice"
[ "$got" = "hello from alice via krb5 nfs and cachetd" ] || fail "content mismatch: '$got'"
[ "$(cat /srv/nfs/alice/hello.txt)" = "$got" ] || fail "server copy differs"
step "sec=krb5 write+read as alice OK: $(ls -ln /srv/nfs/alice/hello.txt)"
umount /mnt/nfs || step "umount failed (ignored)"
for f in krb5i krb5p; do
    if mount -t nfs4 -o sec=$f nfsvm.test:/srv/nfs /mnt/nfs 2>/tmp/mount-$f.err &&
       asalice sh -c "echo $f-data > /mnt/nfs/alice/$f.txt" &&
       [ "$(asalice cat /mnt/nfs/alice/$f.txt)" = "$f-data" ]; then
        step "sec=$f mount + write/read as alice OK"
    elif [ $f = krb5p ] && [ "$KRB5P_REQUIRED" != 1 ]; then
        step "NOTE sec=krb5p failed (known kernel issue on 6.1.192+, not counted)"
    else
        fail "sec=$f"
    fi
    umount /mnt/nfs 2>/dev/null
done
kill -0 $CD 2>/dev/null || fail "cachetd died during the test"
n=$(grep -c 'ACCEPT_SEC_CONTEXT for service nfs-server' /tmp/cachetd.log)
[ "$n" -ge 1 ] || fail "cachetd logged no ACCEPT_SEC_CONTEXT"
step "cachetd served $n kernel ACCEPT_SEC_CONTEXT calls"
kill $CD; wait $CD
step "cachetd exited with status $?"

# A live kernel reconnect: a new cachetd that does NOT write use-gss-proxy (a write would make
# the kernel connect again from the writer, cachetd itself). The kernel's client still points
# at /run/gssproxy.sock; its next upcall reconnects from the nfsd thread that needs it, a
# kernel thread without an executable, which must still be served by the kernel_nfsd service.
sed 's|^gssproxy = yes|gssproxy = yes\ngssproxy_kernel_file = /tmp/no-use-gss-proxy|' \
    /etc/cachet/cachet.conf >/tmp/cachet-reconnect.conf
echo -1 >/tmp/no-use-gss-proxy
cachetd -c /tmp/cachet-reconnect.conf >/tmp/cachetd2.out 2>/tmp/cachetd2.log &
CD=$!
i=0
while ! grep -q '^cachetd: ready' /tmp/cachetd2.out 2>/dev/null && [ $i -lt 100 ]; do
    sleep 0.1; i=$((i+1))
done
kill -0 $CD 2>/dev/null || fail "second cachetd exited: $(tail -3 /tmp/cachetd2.log | tr '\n' ' ')"
step "second cachetd pid $CD on /run/gssproxy.sock (use-gss-proxy left alone)"
mount -t nfs4 -o sec=krb5 nfsvm.test:/srv/nfs /mnt/nfs || fail "mount sec=krb5 after the restart"
got=$(asalice cat /mnt/nfs/alice/hello.txt) || fail "read as alice after the restart"
[ "$got" = "hello from alice via krb5 nfs and cachetd" ] || fail "content after restart: '$got'"
umount /mnt/nfs 2>/dev/null
grep -q 'gssproxy: connection from uid 0 pid [0-9]* (kernel thread) on /run/gssproxy.sock' \
    /tmp/cachetd2.log || fail "the second cachetd saw no connection from a kernel thread"
n=$(grep -c 'ACCEPT_SEC_CONTEXT for service nfs-server' /tmp/cachetd2.log)
[ "$n" -ge 1 ] || fail "the kernel's reconnected upcalls were not served by nfs-server"
step "kernel reconnected from an nfsd thread; $n ACCEPT_SEC_CONTEXT calls served by nfs-server"
kill $CD; wait $CD
step "second cachetd exited with status $?"
echo "NFSVM-RESULT PASS"
finish
GUESTINIT
chmod 755 guest/init
(cd guest && find . -print0 | cpio --null -o -H newc --quiet) >guest.cpio
if [ "$ACCEL" = kvm ]; then accel=(-accel kvm -cpu host); else accel=(-accel tcg -cpu max); fi
log "booting ($ACCEL, -smp $QEMU_SMP, timeout ${QEMU_TIMEOUT}s), initramfs $(du -h guest.cpio | cut -f1)"
rc=0
timeout "$QEMU_TIMEOUT" qemu-system-x86_64 "${accel[@]}" -m 2048 -smp "$QEMU_SMP" \
    -kernel "$VMLINUZ" -initrd guest.cpio -append 'console=ttyS0 panic=-1 loglevel=4' \
    -nographic -no-reboot -nic none </dev/null >console.log 2>&1 || rc=$?
log "qemu exited rc=$rc"
rm -rf guest-logs && mkdir guest-logs
sed -n '/^NFSVM-LOGS-BEGIN/,/^NFSVM-LOGS-END/p' console.log | tr -d '\r' |
    grep -v '^NFSVM-LOGS' | base64 -d 2>/dev/null | tar xzf - -C guest-logs 2>/dev/null || true
grep -a -o -E 'NFSVM-(STEP|RESULT).*' console.log | tr -d '\r' || true
if grep -aq 'NFSVM-RESULT PASS' console.log; then
    log "PASS; logs in $WORK/guest-logs"
    exit 0
fi
log "FAIL; see $WORK/console.log and $WORK/guest-logs"
exit 1
