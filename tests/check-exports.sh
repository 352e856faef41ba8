#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
#
# check-exports.sh - TAP test: the shared library exports gmem_* only.
#
# Runs `nm -D --defined-only` on the libgmem.so libtool built and emits one
# TAP point per exported symbol (passing when its name starts with gmem_),
# one point that at least $GMEM_MIN_EXPORTS (default 50) gmem_ symbols are
# exported, and one that they carry the GMEM_ version from src/libgmem.map.
# Without a shared library (--disable-shared) it emits a single SKIP point.
#
# Environment (set by make check): top_builddir, NM.
set -u

builddir=${top_builddir:-.}
min=${GMEM_MIN_EXPORTS:-50}
nm_cmd=${NM:-nm}
la=$builddir/libgmem.la

if [ ! -f "$la" ]; then
	echo "Bail out! $la not found (build the library first)"
	exit 1
fi

# libtool records the shared library's soname in dlname; it is empty when
# only the static library was built.
dlname=$(sed -n "s/^dlname='\(.*\)'\$/\1/p" "$la")
if [ -z "$dlname" ]; then
	echo "ok 1 - exported symbols # SKIP shared library not built (--disable-shared)"
	echo "1..1"
	exit 0
fi
so=$builddir/.libs/$dlname
if [ ! -f "$so" ]; then
	echo "Bail out! $so not found although $la names it"
	exit 1
fi

tmp=${TMPDIR:-/tmp}/gmem-exports.$$
trap 'rm -f "$tmp"' EXIT HUP INT TERM
# $nm_cmd is unquoted on purpose: libtool's NM may carry options ("nm -B").
# shellcheck disable=SC2086
if ! $nm_cmd -D --defined-only "$so" >"$tmp" 2>&1; then
	echo "Bail out! $nm_cmd -D --defined-only $so failed: $(head -n 3 "$tmp")"
	exit 1
fi

echo "# $so"
# Lines look like "0000000000001234 T gmem_read@@GMEM_0.1".  The version
# definition itself shows up as an absolute symbol ("A GMEM_0.1"): it is
# not a function or object, so it is not counted.
awk -v min="$min" '
NF >= 2 {
	type = $(NF - 1); sym = $NF
	name = sym; ver = ""
	at = index(sym, "@")
	if (at > 0) {
		name = substr(sym, 1, at - 1)
		ver = substr(sym, at); sub(/^@+/, "", ver)
	}
	n++; types[n] = type; names[n] = name; vers[n] = ver
	if (ver != "") versions[ver] = 1
}
END {
	t = 0; good = 0; unversioned = 0; anyver = 0
	for (i = 1; i <= n; i++) {
		if (types[i] == "A" && (names[i] in versions))
			continue
		t++
		if (substr(names[i], 1, 5) == "gmem_") {
			good++
			printf "ok %d - %s (%s)\n", t, names[i], types[i]
		} else {
			printf "not ok %d - %s (%s) is exported but not gmem_*\n", t, names[i], types[i]
		}
		if (vers[i] == "")
			unversioned++
		else
			anyver = 1
	}
	t++
	if (good >= min)
		printf "ok %d - %d gmem_ symbols exported (at least %d)\n", t, good, min
	else
		printf "not ok %d - only %d gmem_ symbols exported (expected at least %d)\n", t, good, min
	t++
	if (!anyver)
		printf "ok %d - symbol versions # SKIP nm shows no versions\n", t
	else if (unversioned == 0)
		printf "ok %d - every exported symbol is versioned (src/libgmem.map)\n", t
	else
		printf "not ok %d - %d exported symbols have no version\n", t, unversioned
	printf "1..%d\n", t
}' "$tmp"
