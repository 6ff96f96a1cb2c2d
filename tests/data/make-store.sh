#!/bin/sh
# Regenerate tests/data/store-vN.sqlite (the schema version N fixture of test_store_sqlite, N = 0
# or 1) from make-store-vN.c, under the test master key tests/data/store-vN.key.
# The output is not byte-reproducible (every record has a random confounder); the test only
# relies on what make-store-vN.c documents. Needs cc, pkg-config, MIT krb5 and sqlite3 headers.
# Usage: tests/data/make-store.sh 0|1
set -eu
case "${1:-}" in
0 | 1) v=$1 ;;
*) echo "usage: $0 0|1 (the schema version of the fixture to write)" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -Wall -Wextra -o "$tmp/make-store-v$v" "$here/make-store-v$v.c" \
    $(pkg-config --cflags --libs krb5 sqlite3)
"$tmp/make-store-v$v" "$tmp/store-v$v.sqlite" "$here/store-v$v.key"
mv "$tmp/store-v$v.sqlite" "$here/store-v$v.sqlite"
echo "wrote $here/store-v$v.sqlite ($(wc -c <"$here/store-v$v.sqlite") bytes)"
