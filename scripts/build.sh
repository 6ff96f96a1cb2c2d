#!/bin/bash
# Build helpers shared by scripts/demo.sh and scripts/test.sh (sourced).
#
# cachet_build BUILDDIR [configure args...]
#     Builds the tree in BUILDDIR and sets CACHET_BUILDDIR to it. Runs
#     autogen.sh in the source dir if configure is missing, configure if
#     BUILDDIR is not configured yet, then `make -j$CACHET_JOBS`.
#     If the source dir itself is configured (someone ran ./configure there),
#     automake refuses VPATH builds from it: the "normal" build (BUILDDIR =
#     "$CACHET_SRCDIR") then happens in-tree, and any other BUILDDIR is built
#     from a clean copy of the sources (tracked and untracked, not ignored).

CACHET_SRCDIR=${CACHET_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
CACHET_JOBS=${CACHET_JOBS:-2}

_cachet_say() {
    printf '\n=== %s\n' "$*"
}

# Copy the source tree (what git would commit, plus untracked non-ignored
# files) into $1, without build products.
_cachet_copy_sources() {
    local dest=$1
    if ! git -C "$CACHET_SRCDIR" rev-parse --git-dir >/dev/null 2>&1; then
        echo "build.sh: $CACHET_SRCDIR is configured in-tree and is not a git checkout;" \
             "run 'make distclean' there to allow VPATH builds" >&2
        return 1
    fi
    rm -rf "$dest"
    mkdir -p "$dest" || return 1
    (cd "$CACHET_SRCDIR" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            [ -e "$f" ] && printf '%s\0' "$f"
        done | tar --null -T - -cf -) | (cd "$dest" && tar -xf -)
}

cachet_build() {
    local builddir=$1
    shift
    local srcdir=$CACHET_SRCDIR
    if [ "$builddir" != "$CACHET_SRCDIR" ] && [ -f "$CACHET_SRCDIR/config.status" ]; then
        _cachet_say "source tree is configured in-tree; building $builddir from a copy of the sources"
        _cachet_copy_sources "$builddir/source" || return 1
        srcdir=$builddir/source
        builddir=$builddir/source
    fi
    if [ ! -x "$srcdir/configure" ]; then
        _cachet_say "autogen.sh (in $srcdir)"
        (cd "$srcdir" && ./autogen.sh) || return 1
    fi
    mkdir -p "$builddir" || return 1
    if [ ! -f "$builddir/config.status" ]; then
        _cachet_say "configure $* (in $builddir)"
        (cd "$builddir" && "$srcdir/configure" "$@") || return 1
    fi
    _cachet_say "make -j$CACHET_JOBS (in $builddir)"
    (cd "$builddir" && make -j"$CACHET_JOBS") || return 1
    CACHET_BUILDDIR=$builddir
}

# The build dir used for the normal build: in-tree if the source tree is
# configured there, else _build/.
cachet_default_builddir() {
    if [ -f "$CACHET_SRCDIR/config.status" ]; then
        echo "$CACHET_SRCDIR"
    else
        echo "$CACHET_SRCDIR/_build"
    fi
}
