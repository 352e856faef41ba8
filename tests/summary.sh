#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
#
# summary.sh - TAP test run last by make check: counts the TAP results of
# every other test of the run and prints them as one diagnostic line,
#   # N passed, N failed, N skipped
# (this test's own point included, so the numbers match automake's box).
#
# make check lists the .trs files in GMEM_SUMMARY_TRS (paths relative to the
# build directory, which is the current directory) and runs this test after
# all of them (tests/summary.log depends on their logs).  Run by hand, it
# counts every .trs under tests/ and fuzz/.
set -u

if [ -n "${GMEM_SUMMARY_TRS:-}" ]; then
	trs_list=$GMEM_SUMMARY_TRS
else
	trs_list=$(find tests fuzz -name '*.trs' ! -name summary.trs 2>/dev/null)
fi

files=
missing=
for f in $trs_list; do
	if [ -f "$f" ]; then
		files="$files $f"
	else
		missing="$missing $f"
	fi
done

# shellcheck disable=SC2086
counts=$(awk '
/^:test-result:/ {
	r = $2
	if (r == "PASS" || r == "XFAIL") p++
	else if (r == "SKIP") s++
	else f++
}
END { printf "%d %d %d\n", p, f, s }' /dev/null $files)
# shellcheck disable=SC2086
set -- $counts
passed=$(($1 + 1)) failed=$2 skipped=$3
# shellcheck disable=SC2086
nfiles=$(echo $files | wc -w)

for f in $missing; do
	echo "# no results for ${f%.trs} (did it run?)"
done
echo "# $passed passed, $failed failed, $skipped skipped"
echo "ok 1 - summary of $((passed + failed + skipped)) test points from $((nfiles + 1)) tests"
echo "1..1"
