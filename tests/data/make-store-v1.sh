#!/bin/sh
# Regenerate tests/data/store-v1.sqlite (the schema version 1 fixture of test_store_sqlite)
# from make-store-v1.c, under the test master key tests/data/store-v1.key.
# The output is not byte-reproducible (every record has a random confounder); the test only
# relies on what make-store-v1.c documents. Needs cc, pkg-config, MIT krb5 and sqlite3 headers.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -Wall -Wextra -o "$tmp/make-store-v1" "$here/make-store-v1.c" \
    $(pkg-config --cflags --libs krb5 sqlite3)
"$tmp/make-store-v1" "$tmp/store-v1.sqlite" "$here/store-v1.key"
mv "$tmp/store-v1.sqlite" "$here/store-v1.sqlite"
echo "wrote $here/store-v1.sqlite ($(wc -c <"$here/store-v1.sqlite") bytes)"
