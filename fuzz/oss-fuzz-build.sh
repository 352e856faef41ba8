#!/bin/bash -eu
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
#
# oss-fuzz-build.sh - build libgmem's fuzz harnesses the OSS-Fuzz way.
#
# OSS-Fuzz's projects/libgmem/build.sh is one line:
#   bash $SRC/libgmem/fuzz/oss-fuzz-build.sh
# It reads the variables OSS-Fuzz sets: CC, CXX, CFLAGS, CXXFLAGS (with the
# sanitizer and -fsanitize=fuzzer-no-link), LIB_FUZZING_ENGINE (libFuzzer's
# -fsanitize=fuzzer, or an AFL++/honggfuzz/centipede driver archive), SRC
# (the clone is $SRC/libgmem, or the directory above this script), OUT (the
# results) and WORK (scratch space; a temporary directory when unset).
#
# It configures out of tree with --disable-shared --enable-fuzzing (the
# flags above pass through; configure adds only warnings, hardening and
# -fsanitize=fuzzer-no-link), builds the static library, the shared
# reference model and every harness object with make, and links each
# harness with $CXX, as OSS-Fuzz wants (libFuzzer is C++).  Into $OUT go,
# for every harness <t> of FUZZ_PROGS in Makefile.am:
#   <t>                   the fuzzer
#   <t>_seed_corpus.zip   corpus/<t>/ (seeds and crash reproducers)
#   <t>.dict, <t>.options the dictionary and the libFuzzer options
#
# Local test (fuzz/README.md):
#   SRC=/tmp/oss OUT=/tmp/out CC=clang CXX=clang++ \
#   CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -fsanitize=address,fuzzer-no-link" \
#   CXXFLAGS="$CFLAGS" LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
#   bash /tmp/oss/libgmem/fuzz/oss-fuzz-build.sh

: "${CC:?}" "${CXX:?}" "${LIB_FUZZING_ENGINE:?}" "${OUT:?}"
: "${CFLAGS=}" "${CXXFLAGS=}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${SRC:-}" ] && [ -f "$SRC/libgmem/fuzz/oss-fuzz-build.sh" ]; then
	src=$(cd "$SRC/libgmem" && pwd)
else
	src=$here
fi
if [ -n "${WORK:-}" ]; then
	build=$WORK/libgmem-build
else
	build=$(mktemp -d "${TMPDIR:-/tmp}/libgmem-oss-fuzz.XXXXXX")
fi
jobs=$(nproc 2>/dev/null || echo 2)
# What the build needs beyond the compilers (OSS-Fuzz's Dockerfile installs
# them; elsewhere they are installed here when missing and possible).
need=
for tool in zip:zip autoreconf:autoconf aclocal:automake libtoolize:libtool make:make; do
	command -v "${tool%%:*}" >/dev/null 2>&1 || need="$need ${tool#*:}"
done
if [ -n "$need" ]; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "oss-fuzz-build.sh: installing$need"
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >/dev/null &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need </dev/null >/dev/null
	else
		echo "oss-fuzz-build.sh: missing:$need (apt-get install -y$need)" >&2
		exit 1
	fi
fi

# The harnesses: FUZZ_PROGS of Makefile.am, the one list of them.
harnesses=$(awk '/^FUZZ_PROGS =/ { on = 1; sub(/^FUZZ_PROGS =/, "") }
	on { line = $0; more = sub(/\\$/, "", line); n = split(line, w, /[ \t]+/)
	     for (i = 1; i <= n; i++) if (w[i] != "") print w[i]
	     if (!more) exit }' "$src/Makefile.am" | sed 's|^fuzz/||')
[ -n "$harnesses" ] || { echo "oss-fuzz-build.sh: no FUZZ_PROGS in $src/Makefile.am" >&2; exit 1; }

cd "$src"
if [ ! -x configure ] || [ ! -f build-aux/tap-driver.sh ]; then
	autoreconf -fi
fi
mkdir -p "$build" "$OUT"
cd "$build"
"$src/configure" --disable-shared --enable-fuzzing \
	CC="$CC" CFLAGS="$CFLAGS" LIB_FUZZING_ENGINE="$LIB_FUZZING_ENGINE"
objs=
for t in $harnesses; do objs="$objs fuzz/$t.o"; done
# shellcheck disable=SC2086
make -j"$jobs" libgmem.la fuzz/libfuzzsupport.a $objs

for t in $harnesses; do
	# shellcheck disable=SC2086
	$CXX $CXXFLAGS -o "$OUT/$t" "fuzz/$t.o" fuzz/libfuzzsupport.a \
		.libs/libgmem.a $LIB_FUZZING_ENGINE -pthread
	rm -f "$OUT/${t}_seed_corpus.zip"
	if [ -d "$src/corpus/$t" ]; then
		(cd "$src/corpus/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
	fi
	for ext in dict options; do
		if [ -f "$src/fuzz/$t.$ext" ]; then
			cp "$src/fuzz/$t.$ext" "$OUT/$t.$ext"
		fi
	done
	echo "oss-fuzz-build.sh: $OUT/$t"
done
