#!/bin/bash
# Build cachet's libFuzzer targets with clang in their own build directory and run each one.
#
#     bash tests/fuzz/run.sh [TARGET...]        (default: every fuzz_*.c here)
#
# Environment:
#     FUZZ_SECONDS   seconds per target (default 30)
#     FUZZ_JOBS      parallel fuzzing processes per target (default 1)
#     FUZZ_BUILD     build directory (default <top>/_build-fuzz)
#     CLANG          the compiler (default clang)
#
# The committed seed corpus (tests/fuzz/corpus/<target>/) is only read: new inputs go to
# $FUZZ_BUILD/corpus/<target>/, crashes to $FUZZ_BUILD/artifacts/<target>/. Exit status: 0 when
# every target ran clean (or when clang/libFuzzer is unavailable: a SKIP line says why), 1 on a
# crash, leak, timeout or sanitizer report (the reproducer's path is printed), 2 on a build error.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD:-$top/_build-fuzz}
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-1}
cc=${CLANG:-clang}

skip() {
    echo "fuzz: SKIP: $*"
    exit 0
}

command -v "$cc" >/dev/null 2>&1 || skip "'$cc' not found (install clang to run the fuzzers)"
probe=$(mktemp -d /tmp/cachet-fuzz-probe.XXXXXX)
cat >"$probe/p.c" <<'EOF'
#include <stdint.h>
#include <stddef.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }
EOF
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe/p.c" -o "$probe/p" >"$probe/log" 2>&1; then
    msg=$(head -n 3 "$probe/log" | tr '\n' ' ')
    rm -rf "$probe"
    skip "$cc cannot build libFuzzer targets (-fsanitize=fuzzer): $msg"
fi
rm -rf "$probe"

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in "$top"/tests/fuzz/fuzz_*.c; do
        targets+=("$(basename "$f" .c)")
    done
fi

# ---- build ----
# A true VPATH build needs an unconfigured source tree; when the tree is configured in place
# (the usual developer setup), build from a copy of its source files instead (tar keeps the
# mtimes, so an unchanged file is not rebuilt).
cflags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined"
cflags+=" -fno-sanitize-recover=undefined"
ldflags="-fsanitize=address,undefined"
mkdir -p "$build"
if [ -e "$top/config.status" ]; then
    src=$build/source
    objdir=$src
    mkdir -p "$src"
    (cd "$top" && git ls-files -co --exclude-standard -z | grep -zv '^_build' |
        tar --null -T - -cf -) | tar -xf - -C "$src" || exit 2
    if [ ! -e "$src/configure" ]; then
        (cd "$src" && ./autogen.sh >"$build/autogen.log" 2>&1) ||
            { echo "fuzz: autogen failed, see $build/autogen.log"; exit 2; }
    fi
    configure=$src/configure
else
    src=$top
    objdir=$build/obj
    mkdir -p "$objdir"
    if [ ! -e "$top/configure" ]; then
        (cd "$top" && ./autogen.sh >"$build/autogen.log" 2>&1) ||
            { echo "fuzz: autogen failed, see $build/autogen.log"; exit 2; }
    fi
    configure=$top/configure
fi
if [ ! -e "$objdir/config.status" ] || ! grep -q -- '--enable-fuzzing' "$objdir/config.status"; then
    echo "fuzz: configuring in $objdir"
    (cd "$objdir" && "$configure" -q --enable-fuzzing CC="$cc" CFLAGS="$cflags" \
        LDFLAGS="$ldflags" >"$build/configure.log" 2>&1) ||
        { echo "fuzz: configure failed, see $build/configure.log"; tail -n 5 "$build/configure.log"; exit 2; }
fi
bins=()
for t in "${targets[@]}"; do
    bins+=("tests/fuzz/$t")
done
echo "fuzz: building ${targets[*]}"
if ! make -C "$objdir" -j"$(nproc 2>/dev/null || echo 2)" "${bins[@]}" >"$build/make.log" 2>&1; then
    echo "fuzz: build failed, see $build/make.log"
    grep -E 'error|Error' "$build/make.log" | head -n 20
    exit 2
fi

# ---- run ----
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
rc=0
for t in "${targets[@]}"; do
    work=$build/corpus/$t
    art=$build/artifacts/$t/
    mkdir -p "$work" "$art"
    seeds=$top/tests/fuzz/corpus/$t
    [ -d "$seeds" ] || seeds=
    log=$build/$t.log
    echo "fuzz: running $t for ${seconds}s (log $log)"
    extra=()
    [ "$jobs" -gt 1 ] && extra+=(-jobs="$jobs" -workers="$jobs")
    "$objdir/tests/fuzz/$t" -max_len=65536 -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$art" "${extra[@]}" \
        "$work" ${seeds:+"$seeds"} >"$log" 2>&1
    st=$?
    if [ $st -ne 0 ]; then
        rc=1
        echo "fuzz: $t FAILED (exit $st)"
        grep -E 'ERROR: |SUMMARY: |runtime error|Test unit written to' "$log" | head -n 10
        for f in "$art"*; do
            [ -e "$f" ] && echo "fuzz: reproducer: $f  (rerun: $objdir/tests/fuzz/$t $f)"
        done
    else
        stats=$(grep -E '^stat::(number_of_executed_units|new_units_added|peak_rss_mb)' "$log" |
            sed 's/^stat:://' | tr -s ' \n' ' ')
        cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
        echo "fuzz: $t ok: $cov $stats"
    fi
done
exit $rc
