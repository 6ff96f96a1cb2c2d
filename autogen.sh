#!/bin/sh
# Regenerate the build system (configure, Makefile.in, gettext glue). Nothing generated is committed.
set -e
cd "$(dirname "$0")"
autoreconf -fi
