#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
#
# run-peers.sh - run libgmem's benchmark side by side with the peer programs
# (rust-vmm vm-memory, the C floor, DPDK vhost, liburcu).
#
#   bench/run-peers.sh [GMEM_BENCH_BINARY]
#
# Copies the peers' folder (PEERS, default /work/shared/bench/peers) to a
# writable temporary directory (WORK, default a new mktemp -d), installs the
# Debian prerequisites when missing and runs
#     GMEM_BENCH=<binary> ./run.sh
# there.  The table goes to stdout and to $WORK/run.txt; the raw RES lines
# stay in $WORK/build/raw-*.txt (bench/plot.sh reads them).
#
# Environment: PEERS, WORK, RS (region counts, passed on to run.sh),
# NO_APT=1 (never call apt-get; missing optional peers are skipped).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GMEM_BENCH="${1:-${GMEM_BENCH:-$HERE/gmem-bench}}"
PEERS="${PEERS:-/work/shared/bench/peers}"

[ -x "$GMEM_BENCH" ] || { echo "run-peers.sh: $GMEM_BENCH is not an executable (build it first)" >&2; exit 2; }
[ -f "$PEERS/run.sh" ] || { echo "run-peers.sh: no run.sh in $PEERS" >&2; exit 2; }
GMEM_BENCH="$(cd "$(dirname "$GMEM_BENCH")" && pwd)/$(basename "$GMEM_BENCH")"

# Debian prerequisites (see the peers' README.md).
PKGS="librust-vm-memory-dev libdpdk-dev liburcu-dev clang pkg-config gnuplot-nox"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "${NO_APT:-0}" = 1 ]; then
		echo "run-peers.sh: missing packages:$missing (NO_APT=1: not installing)" >&2
	elif [ "$(id -u)" = 0 ]; then
		echo "run-peers.sh: installing$missing" >&2
		apt-get update >&2
		# $missing is a space-separated package list: split it on purpose.
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >&2
	else
		echo "run-peers.sh: missing packages:$missing; run as root or: sudo apt-get install$missing" >&2
	fi
fi
command -v cargo >/dev/null || { echo "run-peers.sh: cargo/rustc must be on PATH" >&2; exit 2; }

WORK="${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/gmem-peers.XXXXXX")}"
mkdir -p "$WORK"
cp -a "$PEERS"/. "$WORK"/
chmod -R u+w "$WORK"
echo "run-peers.sh: peers copied to $WORK; libgmem program: $GMEM_BENCH" >&2

cd "$WORK"
GMEM_BENCH="$GMEM_BENCH" ./run.sh | tee "$WORK/run.txt"
echo "run-peers.sh: table in $WORK/run.txt, raw output in $WORK/build/raw-*.txt" >&2
