#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
#
# plot.sh - BENCHMARKS-w1.png (W1 ns/op versus R) from a side-by-side run.
#
#   bench/plot.sh RAW... [-o OUT.png]
#
# RAW: the raw outputs of the peers' run.sh (build/raw-*.txt, or a directory
# holding them, e.g. the WORK directory bench/run-peers.sh printed), or any
# file with the programs' RES lines.  Default output: BENCHMARKS-w1.png in
# the repository root.  Needs gnuplot (Debian: gnuplot-nox).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/../BENCHMARKS-w1.png"
files=()
while [ $# -gt 0 ]; do
	case "$1" in
	-o) OUT="$2"; shift 2 ;;
	-h|--help) sed -n '4,12p' "$0"; exit 0 ;;
	*)
		if [ -d "$1" ]; then
			for f in "$1"/raw-*.txt "$1"/build/raw-*.txt; do [ -f "$f" ] && files+=("$f"); done
		else
			files+=("$1")
		fi
		shift ;;
	esac
done
[ ${#files[@]} -gt 0 ] || { echo "usage: plot.sh RAW... [-o OUT.png]" >&2; exit 2; }
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 2; }

DAT="$(mktemp)"
trap 'rm -f "$DAT"' EXIT
# RES <impl> <workload> <R> <ns/op> ...  ->  R gmem vm-memory c-floor dpdk 1-region
awk '
$1 == "RES" && $3 == "W1" { ns[$2, $4] = $5; rs[$4] = 1 }
END {
	n = split("gmem vm-memory c-floor dpdk-vhost c-floor-1region", im, " ")
	for (r in rs) {
		line = r
		for (i = 1; i <= n; i++) line = line " " (((im[i], r) in ns) ? ns[im[i], r] : "-")
		print line
	}
}' "${files[@]}" | sort -n >"$DAT"
[ -s "$DAT" ] || { echo "plot.sh: no W1 RES lines in ${files[*]}" >&2; exit 1; }
echo "plot.sh: W1 data (R gmem vm-memory c-floor dpdk-vhost c-floor-1region):" >&2
cat "$DAT" >&2

SUB="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), nproc=$(nproc), kernel $(uname -r); median of 5 passes over 1,048,576 random addresses"
gnuplot -e "data='$DAT'; out='$OUT'; subtitle='$SUB'" "$HERE/plot.gp"
echo "plot.sh: wrote $OUT" >&2
