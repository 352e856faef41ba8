#!/bin/sh
# autogen.sh - generate ./configure and the Makefile.in from a git checkout.
# Needs autoconf (>= 2.71), automake (>= 1.16), libtool and pkg-config
# (Debian: apt-get install autoconf automake libtool pkg-config).
set -e
cd "$(dirname "$0")"
for tool in autoreconf autoconf automake libtoolize; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "autogen.sh: $tool not found; install autoconf, automake, libtool and pkg-config" >&2
		exit 1
	fi
done
autoreconf -fi "$@"
echo "Now run ./configure (or configure from a separate build directory) and make."
