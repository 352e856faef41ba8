#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
#
# coverage.sh - line and branch coverage of src/ with clang's source-based
# coverage (-fprofile-instr-generate -fcoverage-mapping, llvm-profdata,
# llvm-cov).  `make coverage` and `make fuzz-coverage` call it; see
# fuzz/README.md.
#
#   coverage.sh [OPTION...]
#
#   --srcdir=DIR        the source tree (default: the directory above this
#                       script)
#   --builddir=DIR      the coverage build: configured there (static library,
#                       clang, coverage flags) when it is not yet, then
#                       built (default: ./coverage)
#   --cc=CC             the compiler (default: $COVERAGE_CC or clang); the
#                       llvm-profdata/llvm-cov of the same major version are
#                       used when installed (llvm-profdata-14, ...)
#   --min-lines=P       fail when src/ line coverage is below P percent
#   --min-branches=P    fail when src/ branch coverage is below P percent
#   --harnesses=LIST    instead of the test suite: replay each fuzz harness
#                       (fuzz/fuzz_map ...) over corpus/<t>/ and, with
#                       --work, over WORK/<t>/corpus/ too, and report the
#                       coverage of the source files that harness targets
#   --work=DIR          a `make fuzz` work folder (fuzz-work)
#   --label=NAME        the name in the PASS:/FAIL: line (default: coverage)
#
# Default mode: `make check` in the coverage build (unit, stress and example
# tests, tests/random_diff, and a replay of every corpus/<t>/), one merged
# profile, an HTML report in BUILDDIR/coverage-html/index.html, the per-file
# table in BUILDDIR/coverage-report.txt, and on the console one line:
#   coverage src/: lines 96.1% (1793/1866), branches 93.5% (942/1008)
# then "PASS: coverage" or "FAIL: coverage (...)".  Long output goes to
# BUILDDIR/coverage.log.  Installs clang and llvm with apt-get when missing.
set -u

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
builddir=coverage
cc=${COVERAGE_CC:-clang}
min_lines=
min_branches=
harnesses=
work=
label=coverage
for arg; do
	case $arg in
	--srcdir=*) srcdir=${arg#*=} ;;
	--builddir=*) builddir=${arg#*=} ;;
	--cc=*) cc=${arg#*=} ;;
	--min-lines=*) min_lines=${arg#*=} ;;
	--min-branches=*) min_branches=${arg#*=} ;;
	--harnesses=*) harnesses=${arg#*=} ;;
	--work=*) work=${arg#*=} ;;
	--label=*) label=${arg#*=} ;;
	*)
		echo "coverage.sh: unknown argument $arg" >&2
		exit 2
		;;
	esac
done
# Absolute paths: they are what the compiler records, and what llvm-cov
# matches the source file arguments against.
srcdir=$(cd "$srcdir" && pwd -P) || exit 2
mkdir -p "$builddir" && builddir=$(cd "$builddir" && pwd -P) || exit 2
if [ -n "$work" ]; then
	if [ -d "$work" ]; then
		work=$(cd "$work" && pwd -P) || exit 2
	else
		echo "$label: no work folder $work yet (make fuzz): corpus/ alone"
		work=
	fi
fi
log=$builddir/coverage.log

# The source files each harness is meant to exercise (src/ relative); a
# harness missing here is measured against all of src/.
targets_of() {
	case $1 in
	fuzz_map) echo "access.c map.c region.c typed.c" ;;
	fuzz_space) echo "space.c space_atomic.c grace.c" ;;
	fuzz_dirty) echo "dirty.c" ;;
	fuzz_io) echo "io.c" ;;
	*) (cd "$srcdir/src" && echo *.c) ;;
	esac
}

# ------------------------------------------------------------- tools ---
if ! command -v "$cc" >/dev/null 2>&1 || ! command -v llvm-profdata >/dev/null 2>&1 ||
	! command -v llvm-cov >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "$label: installing clang and llvm (apt-get)"
		export DEBIAN_FRONTEND=noninteractive
		{ apt-get update -q && apt-get install -y -q --no-install-recommends clang llvm; } \
			</dev/null >"$builddir/apt.log" 2>&1 ||
			{ tail -n 20 "$builddir/apt.log"; exit 1; }
	else
		echo "$label: needs $cc, llvm-profdata and llvm-cov (Debian: apt-get install clang llvm)" >&2
		exit 1
	fi
fi
major=$("$cc" --version 2>/dev/null | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -n 1)
profdata=llvm-profdata
llvmcov=llvm-cov
if [ -n "$major" ] && command -v "llvm-profdata-$major" >/dev/null 2>&1 &&
	command -v "llvm-cov-$major" >/dev/null 2>&1; then
	profdata=llvm-profdata-$major
	llvmcov=llvm-cov-$major
fi

# ------------------------------------------------------------- build ---
covflags="-O1 -g -fprofile-instr-generate -fcoverage-mapping"
confargs="CC=$cc CFLAGS=$covflags LDFLAGS=-fprofile-instr-generate --disable-shared"
cd "$builddir" || exit 1
if [ ! -f Makefile ] || [ "$(cat .coverage-configure 2>/dev/null)" != "$srcdir $confargs" ]; then
	echo "$label: configuring a coverage build in $builddir"
	"$srcdir/configure" CC="$cc" CFLAGS="$covflags" \
		LDFLAGS=-fprofile-instr-generate --disable-shared </dev/null >"$log" 2>&1 ||
		{ tail -n 30 "$log"; echo "FAIL: $label (configure failed, see $log)"; exit 1; }
	echo "$srcdir $confargs" >.coverage-configure
fi
jobs=$(nproc 2>/dev/null || echo 2)
if [ -n "$harnesses" ]; then
	progs=$harnesses
	# Only the harnesses (replay flavour) are needed.
	# shellcheck disable=SC2086
	make -j"$jobs" $progs </dev/null >>"$log" 2>&1 ||
		{ tail -n 30 "$log"; echo "FAIL: $label (build failed, see $log)"; exit 1; }
else
	make -j"$jobs" </dev/null >>"$log" 2>&1 ||
		{ tail -n 30 "$log"; echo "FAIL: $label (build failed, see $log)"; exit 1; }
fi

# Summary numbers ("covered count" for lines and branches) of a JSON export.
totals() {
	sed -n 's/.*"totals":{\(.*\)/\1/p' | awk '{
		l = $0; sub(/.*"lines":\{"count":/, "", l); split(l, a, /[,:}]/)
		b = $0; sub(/.*"branches":\{"count":/, "", b); split(b, c, /[,:}]/)
		print a[3], a[1], c[3], c[1]
	}'
}
pct() { # covered count
	if [ "$2" -eq 0 ]; then echo "-"; else awk -v c="$1" -v n="$2" 'BEGIN { printf "%.1f%%", 100 * c / n }'; fi
}
below() { # covered count min -> true when below min percent
	[ -n "$3" ] && [ "$2" -gt 0 ] && awk -v c="$1" -v n="$2" -v m="$3" 'BEGIN { exit !(100 * c / n < m) }'
}

# ----------------------------------------------------- harness mode ---
if [ -n "$harnesses" ]; then
	status=0
	for p in $harnesses; do
		t=$(basename "$p")
		files=$(targets_of "$t")
		src=()
		for f in $files; do src+=("$srcdir/src/$f"); done
		seeds_part=
		work_part=
		for what in seeds work; do
			dirs=("$srcdir/corpus/$t")
			if [ $what = work ]; then
				[ -n "$work" ] || break
				n=$(find "$work/$t/corpus" -maxdepth 1 -type f 2>/dev/null | wc -l | tr -d ' ')
				[ "$n" -gt 0 ] || break
				dirs+=("$work/$t/corpus")
			fi
			rm -rf "prof-$t-$what" && mkdir -p "prof-$t-$what"
			LLVM_PROFILE_FILE="$builddir/prof-$t-$what/%p.profraw" \
				"./fuzz/$t" "${dirs[@]}" </dev/null >"replay-$t-$what.log" 2>&1 || {
				echo "$label: $t replay failed, see $builddir/replay-$t-$what.log"
				status=1
			}
			"$profdata" merge -sparse "prof-$t-$what"/*.profraw -o "$t-$what.profdata" ||
				{ status=1; continue; }
			read -r lc ln bc bn <<<"$("$llvmcov" export -summary-only \
				-instr-profile="$t-$what.profdata" "./fuzz/$t" "${src[@]}" | totals)"
			part="lines $(pct "$lc" "$ln") ($lc/$ln), branches $(pct "$bc" "$bn") ($bc/$bn)"
			if [ $what = seeds ]; then
				seeds_part=$part
			else
				work_part="$part with the work folder (+$n inputs); "
			fi
		done
		printf '%-11s %s: %scorpus/%s alone: %s\n' "$t" "$files" "$work_part" "$t" "$seeds_part"
	done
	exit $status
fi

# ------------------------------------------------------- suite mode ---
rm -rf profiles coverage-html
mkdir -p profiles
echo "$label: make check in $builddir (log: $log)"
LLVM_PROFILE_FILE="$builddir/profiles/%p.profraw" make -j"$jobs" check </dev/null >>"$log" 2>&1
rc=$?
grep -E '^# (tests/)?summary\.sh: ' "$log" | tail -n 1 | sed "s/^# /$label: make check: /"
if [ $rc -ne 0 ]; then
	grep -E '^(FAIL|ERROR|XPASS): ' "$log" | head -n 20
fi
bins=()
while IFS= read -r f; do
	[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && bins+=("$f")
done <<<"$(find tests fuzz examples -type f -perm -u+x 2>/dev/null | LC_ALL=C sort)"
if [ ${#bins[@]} -eq 0 ] || ! ls profiles/*.profraw >/dev/null 2>&1; then
	echo "FAIL: $label (no test programs or no profiles)"
	exit 1
fi
"$profdata" merge -sparse profiles/*.profraw -o coverage.profdata >>"$log" 2>&1 ||
	{ echo "FAIL: $label (llvm-profdata merge failed, see $log)"; exit 1; }
objs=()
for b in "${bins[@]:1}"; do objs+=(-object "$b"); done
src=("$srcdir"/src/*.c "$srcdir"/src/*.h)
"$llvmcov" report -instr-profile=coverage.profdata -show-branch-summary \
	"${bins[0]}" "${objs[@]}" "${src[@]}" >coverage-report.txt 2>>"$log"
"$llvmcov" show -format=html -output-dir=coverage-html -show-branches=count \
	-show-line-counts-or-regions -instr-profile=coverage.profdata \
	"${bins[0]}" "${objs[@]}" "${src[@]}" >>"$log" 2>&1
read -r lc ln bc bn <<<"$("$llvmcov" export -summary-only -instr-profile=coverage.profdata \
	"${bins[0]}" "${objs[@]}" "${src[@]}" 2>>"$log" | totals)"
if [ -z "${ln:-}" ] || [ "$ln" -eq 0 ]; then
	echo "FAIL: $label (no coverage data for src/, see $log)"
	exit 1
fi
echo "coverage src/: lines $(pct "$lc" "$ln") ($lc/$ln), branches $(pct "$bc" "$bn") ($bc/$bn)"
echo "$label: per-file table $builddir/coverage-report.txt, HTML $builddir/coverage-html/index.html"
why=
[ $rc -ne 0 ] && why="make check failed"
below "$lc" "$ln" "$min_lines" && why="${why:+$why, }lines below $min_lines%"
below "$bc" "$bn" "$min_branches" && why="${why:+$why, }branches below $min_branches%"
if [ -n "$why" ]; then
	echo "FAIL: $label ($why)"
	exit 1
fi
echo "PASS: $label${min_lines:+ (lines >= $min_lines%}${min_branches:+, branches >= $min_branches%}${min_lines:+)}"
exit 0
