#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
#
# summarize-ci.sh - count test results for .ci/run.
#
#   summarize-ci.sh trs BUILDDIR...   results in the .trs files under
#                                     BUILDDIR/tests and BUILDDIR/fuzz
#   summarize-ci.sh summary FILE...   the totals tests/summary.sh printed
#                                     ("# tests/summary.sh: N passed, N
#                                     failed, N skipped") in captured console
#                                     output, for runs whose build tree is
#                                     gone (make distcheck)
#   summarize-ci.sh log FILE...       result lines ("PASS: ...", "FAIL: ...")
#                                     in captured output of a serial run
#                                     (make fuzz-smoke).  Not for make -jN
#                                     check: parallel tests can interleave
#                                     their console lines.
#
# Prints "PASSED FAILED SKIPPED".  PASS and XFAIL count as passed; FAIL,
# XPASS and ERROR as failed; SKIP as skipped.
set -eu

mode=${1:?usage: summarize-ci.sh trs|summary|log PATH...}
shift

count() {
	awk -v mode="$mode" '
	{
		if (mode == "trs") {
			if ($1 != ":test-result:") next
			r = $2
		} else if (mode == "summary") {
			if ($0 !~ /^# ([^ ]*\/)?summary\.sh: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/) next
			p += $3; f += $5; s += $7
			next
		} else {
			if ($0 !~ /^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR): /) next
			r = $1; sub(/:$/, "", r)
		}
		if (r == "PASS" || r == "XFAIL") p++
		else if (r == "SKIP") s++
		else f++
	}
	END { printf "%d %d %d\n", p, f, s }' /dev/null "$@"
}

case $mode in
trs)
	files=
	for d in "$@"; do
		for sub in tests fuzz; do
			[ -d "$d/$sub" ] || continue
			files="$files $(find "$d/$sub" -name '*.trs' | sort | tr '\n' ' ')"
		done
	done
	# shellcheck disable=SC2086
	count $files
	;;
log|summary)
	existing=
	for f in "$@"; do
		[ -f "$f" ] && existing="$existing $f"
	done
	# shellcheck disable=SC2086
	count $existing
	;;
*)
	echo "usage: summarize-ci.sh trs|summary|log PATH..." >&2
	exit 2
	;;
esac
