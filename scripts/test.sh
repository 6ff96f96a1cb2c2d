#!/bin/bash
# cachet test suite, as run by CI (.ci/run):
#   1. dependencies (scripts/deps.sh; SKIP_DEPS=1 to skip)
#   2. normal build + `make check` (unit and integration tests)
#   3. AddressSanitizer/UBSan build in _build-san/ + `make check`
#   4. fuzzers, if tests/fuzz/run.sh exists
#   5. the daemon under valgrind, if tests/integration/valgrind.sh exists
#   6. the kernel NFS server in a QEMU guest using cachetd as GSS proxy (SKIP_NFS_VM=1 skips)
# Exits non-zero if any step fails; all steps run even after a failure
# (set STOP_ON_FAILURE=1 to stop at the first one). Budget: well under an
# hour on 2 cores.
set -uo pipefail

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
cd "$SRCDIR" || exit 1
. scripts/build.sh

failed=()
start=$SECONDS

step() {
    local name=$1
    shift
    printf '\n######## %s\n' "$name"
    local t0=$SECONDS
    if "$@"; then
        printf '######## %s: OK (%ds)\n' "$name" $((SECONDS - t0))
    else
        printf '######## %s: FAILED (%ds)\n' "$name" $((SECONDS - t0))
        failed+=("$name")
        if [ "${STOP_ON_FAILURE:-0}" = 1 ]; then
            if [ -f tests/nfs/nfs-vm.sh ] && [ -n "$NORMAL_BUILDDIR" ] && [ "${SKIP_NFS_VM:-0}" != 1 ]; then
    step "kernel nfsd in QEMU (tests/nfs/nfs-vm.sh)" run_nfs_vm
else
    printf '\n######## kernel nfsd in QEMU: skipped (SKIP_NFS_VM=1 or no build)\n'
fi

summary
        fi
    fi
}

summary() {
    printf '\n######## summary (%ds)\n' $((SECONDS - start))
    if [ ${#failed[@]} -eq 0 ]; then
        echo "all steps passed"
        exit 0
    fi
    printf 'FAILED: %s\n' "${failed[@]}"
    exit 1
}

# make check; on failure show the logs the harness wrote (parallel driver) as well.
check_in() {
    local dir=$1
    (cd "$dir" && make -j"$CACHET_JOBS" check) && return 0
    find "$dir" -name 'test-suite.log' -exec cat {} + 2>/dev/null
    return 1
}

normal_build() {
    cachet_build "$(cachet_default_builddir)" && NORMAL_BUILDDIR=$CACHET_BUILDDIR
}

san_build() {
    cachet_build "$SRCDIR/_build-san" --enable-sanitizers && SAN_BUILDDIR=$CACHET_BUILDDIR
}

run_fuzz() {
    # Owned by tests/fuzz; it decides how to build its targets.
    TOP_SRCDIR=$SRCDIR TOP_BUILDDIR=${NORMAL_BUILDDIR:-} bash tests/fuzz/run.sh
}

# The real kernel: nfsd in a QEMU guest using cachetd as its GSS proxy, then the negative
# control (cachetd killed: the mount must fail). Exit 77 = skipped with a printed reason.
run_nfs_vm() {
    local mode rc
    for mode in positive negative; do
        echo "---- nfs-vm ($mode)"
        CACHETD=$NORMAL_BUILDDIR/src/cachetd NFSVM_MODE=$mode timeout 1500 bash tests/nfs/nfs-vm.sh
        rc=$?
        if [ "$rc" -eq 77 ]; then
            echo "nfs-vm ($mode): skipped (reason above)"
        elif [ "$rc" -ne 0 ]; then
            return 1
        fi
    done
}

run_valgrind() {
    CACHETD=$NORMAL_BUILDDIR/src/cachetd TOP_SRCDIR=$SRCDIR TOP_BUILDDIR=$NORMAL_BUILDDIR \
        bash tests/integration/valgrind.sh
}

# Sanitizer reports must fail the run, and LSan must check the daemon at exit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ "${SKIP_DEPS:-0}" != 1 ]; then
    step "dependencies" bash scripts/deps.sh
fi

NORMAL_BUILDDIR=
step "build" normal_build
if [ -n "$NORMAL_BUILDDIR" ]; then
    step "make check" check_in "$NORMAL_BUILDDIR"
fi

SAN_BUILDDIR=
step "sanitizer build (--enable-sanitizers)" san_build
if [ -n "$SAN_BUILDDIR" ]; then
    step "make check (sanitizers)" check_in "$SAN_BUILDDIR"
fi

if [ -f tests/fuzz/run.sh ]; then
    step "fuzzing (tests/fuzz/run.sh)" run_fuzz
else
    printf '\n######## fuzzing: skipped (no tests/fuzz/run.sh)\n'
fi

if [ -f tests/integration/valgrind.sh ] && [ -n "$NORMAL_BUILDDIR" ]; then
    step "valgrind (tests/integration/valgrind.sh)" run_valgrind
else
    printf '\n######## valgrind: skipped (no tests/integration/valgrind.sh or no build)\n'
fi

if [ -f tests/nfs/nfs-vm.sh ] && [ -n "$NORMAL_BUILDDIR" ] && [ "${SKIP_NFS_VM:-0}" != 1 ]; then
    step "kernel nfsd in QEMU (tests/nfs/nfs-vm.sh)" run_nfs_vm
else
    printf '\n######## kernel nfsd in QEMU: skipped (SKIP_NFS_VM=1 or no build)\n'
fi

summary
