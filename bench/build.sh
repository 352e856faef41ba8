#!/bin/sh
# bench/build.sh [OUT] - build gmem-bench the way the peers' C programs are
# built (clang -O2 -march=x86-64-v2, no LTO), for side-by-side runs with
# bench/run-peers.sh.  The library sources are compiled as library objects
# (-DGMEM_BUILDING_LIBRARY) and the benchmark as a library user, so it gets
# gmem.h's inline fast paths exactly as a VMM would.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-bench/gmem-bench-peer}
cc=${CC:-clang}
flags="-O2 -march=x86-64-v2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$top"/src/*.c; do
	$cc $flags -DGMEM_BUILDING_LIBRARY -I"$top/include" -I"$top/src" \
		-c "$f" -o "$tmp/$(basename "$f" .c).o"
done
$cc $flags -DCFLAGS_STR="\"$cc $flags, library objects linked in\"" \
	-I"$top/include" "$top/bench/gmem-bench.c" "$tmp"/*.o -o "$out" -pthread
echo "built $out"
