#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
#
# bench-smoke.sh - TAP test: the benchmark program still runs and its
# self-checks (stream sums, checksums, failed calls) pass, so `make bench`
# cannot rot.  Seconds-long smoke mode (R=8, tiny stream); nothing is timed.
#
# Environment (set by make check): top_builddir.
set -u

bench=${top_builddir:-.}/bench/gmem-bench
if [ ! -x "$bench" ]; then
	echo "Bail out! $bench not built"
	exit 1
fi
out=$("$bench" --smoke 2>&1)
rc=$?
n=0
for wl in W1 W2 W3 W4 W5 W6a W6b W6c; do
	n=$((n + 1))
	if printf '%s\n' "$out" | grep -q "^RES gmem $wl "; then
		echo "ok $n - gmem-bench --smoke reports $wl"
	else
		echo "not ok $n - gmem-bench --smoke reports $wl"
	fi
done
n=$((n + 1))
if [ "$rc" -eq 0 ]; then
	echo "ok $n - gmem-bench --smoke: every checksum verified (exit 0)"
else
	echo "not ok $n - gmem-bench --smoke exited $rc"
	printf '%s\n' "$out" | sed 's/^/# /' | tail -n 20
fi
echo "1..$n"
