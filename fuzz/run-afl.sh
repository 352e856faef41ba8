#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
#
# run-afl.sh - build a libgmem fuzz harness with AFL++ and fuzz it with
# afl-fuzz for a bounded time, from the same seeds as libFuzzer.
#
#   bash fuzz/run-afl.sh [TARGET [SECONDS]]     default: fuzz_map 60
#
# As root on Debian 12, from anywhere in a clone.  Installs afl++ (and the
# build tools) with apt-get when they are missing.  Then, in the build
# directory $AFL_BUILDDIR (default _ci/afl, out of the source tree):
#   configure CC=afl-clang-fast --enable-fuzzing
#     --enable-sanitizers=address,undefined --disable-shared
#     LIB_FUZZING_ENGINE=<AFL++'s libFuzzer-compatible driver>
# (the driver, libAFLDriver.a, provides main(); Debian installs it as
# /usr/lib/afl/libAFLDriver.a, `dpkg -L afl++` lists it; AFL_DRIVER
# overrides), builds fuzz/TARGET and runs
#   afl-fuzz -i corpus/TARGET -o AFL_BUILDDIR/afl-out/TARGET
#            -x fuzz/TARGET.dict -m none -t 5000 -V SECONDS -- fuzz/TARGET
# corpus/TARGET/ is only read.  Each run is a fresh session (an earlier
# one with findings is renamed afl-out/TARGET.<date>, else removed);
# AFL_RESUME=1 resumes the earlier one instead.  It prints a status line every
# AFL_STATUS_EVERY (10) seconds and a summary from fuzzer_stats; findings
# stay in afl-out/TARGET/default/crashes/ and hangs/, each printed with a
# one-line reproduction command, and the exit status is 1 if there is any.
#
# Only environment variables of this process are set, never system
# settings: AFL_SKIP_CPUFREQ=1 (the CPU governor of a VM or container
# cannot be changed), AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 (core_pattern
# may pipe core dumps to a helper), AFL_NO_AFFINITY=1 (other jobs may hold
# every core), AFL_NO_UI=1.  Set any of them to 0 to restore AFL++'s
# default.  AFL_FUZZ_ARGS adds afl-fuzz flags.
#
# The corpus formats are shared: the new inputs in afl-out/TARGET/default/
# queue/ can be merged into corpus/TARGET/ with the libFuzzer build
# (fuzz/README.md, "AFL++").
set -u

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${1:-fuzz_map}
seconds=${2:-60}
builddir=${AFL_BUILDDIR:-$top/_ci/afl}
every=${AFL_STATUS_EVERY:-10}
case $seconds in '' | 0 | *[!0-9]*)
	echo "run-afl.sh: SECONDS must be a positive number" >&2
	exit 2
	;;
esac
if [ ! -f "$top/fuzz/$target.c" ] || [ ! -d "$top/corpus/$target" ]; then
	echo "run-afl.sh: no harness fuzz/$target.c with seeds corpus/$target/" >&2
	exit 2
fi

# ---------------------------------------------------------- packages ---
need=()
command -v afl-fuzz >/dev/null 2>&1 && command -v afl-clang-fast >/dev/null 2>&1 || need+=(afl++)
for p in autoconf automake libtool pkg-config make clang libclang-rt-14-dev; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "run-afl.sh: install ${need[*]} first (apt-get install -y ${need[*]})" >&2
		exit 1
	fi
	echo "afl: installing ${need[*]} (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q </dev/null >/dev/null &&
		apt-get install -y -q --no-install-recommends "${need[@]}" </dev/null || exit 1
fi
driver=${AFL_DRIVER:-}
if [ -z "$driver" ]; then
	driver=$(dpkg -L afl++ 2>/dev/null | grep '/libAFLDriver\.a$' | head -n 1)
	[ -n "$driver" ] || driver=/usr/lib/afl/libAFLDriver.a
fi
if [ ! -f "$driver" ]; then
	echo "run-afl.sh: AFL++'s libFuzzer driver $driver is missing (set AFL_DRIVER)" >&2
	exit 1
fi
echo "afl: afl++ $(dpkg-query -W -f='${Version}' afl++ 2>/dev/null || echo '(version unknown)'), driver $driver"

# ------------------------------------------------------------- build ---
cd "$top" || exit 1
if [ ! -x configure ] || [ ! -f build-aux/tap-driver.sh ] ||
	[ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	echo "afl: autoreconf -fi"
	autoreconf -fi || exit 1
fi
mkdir -p "$builddir" && cd "$builddir" || exit 1
builddir=$(pwd)
confargs="CC=afl-clang-fast --enable-fuzzing --enable-sanitizers=address,undefined --disable-shared LIB_FUZZING_ENGINE=$driver"
if [ ! -f Makefile ] || [ "$(cat .afl-configure 2>/dev/null)" != "$top $confargs" ]; then
	echo "afl: configure in $builddir (log: $builddir/configure.log)"
	AFL_QUIET=1 "$top/configure" CC=afl-clang-fast --enable-fuzzing \
		--enable-sanitizers=address,undefined --disable-shared \
		LIB_FUZZING_ENGINE="$driver" </dev/null >configure.log 2>&1 ||
		{ tail -n 30 configure.log; exit 1; }
	echo "$top $confargs" >.afl-configure
fi
echo "afl: build fuzz/$target (log: $builddir/build.log)"
AFL_QUIET=1 make -j"$(nproc)" "fuzz/$target" </dev/null >build.log 2>&1 ||
	{ tail -n 30 build.log; exit 1; }

# -------------------------------------------------------------- fuzz ---
out=$builddir/afl-out/$target
if [ "${AFL_RESUME:-0}" != 0 ]; then
	export AFL_AUTORESUME=1
elif [ -d "$out" ]; then
	# A fresh session; an earlier one with findings is kept aside.
	if [ -n "$(find "$out/default/crashes" "$out/default/hangs" -type f -name 'id:*' 2>/dev/null | head -n 1)" ]; then
		kept=$out.$(date +%Y%m%d-%H%M%S)
		mv "$out" "$kept" && echo "afl: the earlier session had findings: kept in $kept"
	else
		rm -rf "$out"
	fi
fi
mkdir -p "$out"
dict=()
[ -f "$top/fuzz/$target.dict" ] && dict=(-x "$top/fuzz/$target.dict")
export AFL_SKIP_CPUFREQ=${AFL_SKIP_CPUFREQ:-1}
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=${AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES:-1}
export AFL_NO_AFFINITY=${AFL_NO_AFFINITY:-1}
export AFL_NO_UI=${AFL_NO_UI:-1}
for v in AFL_SKIP_CPUFREQ AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES AFL_NO_AFFINITY AFL_NO_UI; do
	[ "${!v}" = 0 ] && unset "$v"
done
# What AFL++ requires of the sanitizers: abort, do not symbolize.
export ASAN_OPTIONS=abort_on_error=1:symbolize=0:detect_leaks=0
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:symbolize=0
# shellcheck disable=SC2206
cmd=(afl-fuzz -i "$top/corpus/$target" -o "$out" "${dict[@]}" -m none -t 5000
	-V "$seconds" ${AFL_FUZZ_ARGS:-} -- "$builddir/fuzz/$target")
log=$out/afl-fuzz.log
echo "afl: $target for ${seconds}s from $(find "$top/corpus/$target" -maxdepth 1 -type f | wc -l) seeds (log: $log)"
echo "  + ${cmd[*]}"
stat_of() { # KEY -> value from fuzzer_stats (written at start and end)
	awk -v k="$1" '$1 == k { print $3 }' "$out/default/fuzzer_stats" 2>/dev/null
}
start=$(date +%s)
timeout -k 30 $((seconds + 300)) "${cmd[@]}" >"$log" 2>&1 &
pid=$!
next=$((start + every))
while kill -0 "$pid" 2>/dev/null; do
	sleep 1
	now=$(date +%s)
	if [ "$now" -ge "$next" ]; then
		# With AFL_NO_UI, afl-fuzz writes fuzzer_stats and plot_data
		# only at the start and the end; its log says what it fuzzes.
		last=$(sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' "$log" 2>/dev/null |
			grep -E 'Fuzzing test case #[0-9]+ \([0-9]+ total' | tail -n 1)
		if [ -n "$last" ]; then
			printf '  [%s %3ds/%ds] %s\n' "$target" $((now - start)) "$seconds" \
				"$(echo "$last" | sed -n 's/.*Fuzzing test case \(#[0-9]*\) (\([0-9]*\) total, \([0-9]*\) crashes saved.*/queue entry \1, corpus \2, crashes \3/p')"
		else
			printf '  [%s %3ds/%ds] starting (dry run of the seeds)\n' "$target" $((now - start)) "$seconds"
		fi
		next=$((next + every))
	fi
done
wait "$pid"
rc=$?
secs=$(($(date +%s) - start))
if [ ! -f "$out/default/fuzzer_stats" ]; then
	echo "afl: afl-fuzz did not start (exit $rc):"
	grep -v '^\s*$' "$log" | tail -n 30 | sed 's/^/  | /'
	echo "FAIL: afl $target"
	exit 1
fi
crashes=$(find "$out/default/crashes" "$out/default/hangs" -type f -name 'id:*' 2>/dev/null | LC_ALL=C sort)
ncrash=$(printf '%s' "$crashes" | grep -c . || true)
echo
echo "afl: results ($out)"
printf '%-12s %5s %11s %8s %7s %8s %8s %7s %6s\n' target secs execs exec/s corpus edges bitmap crashes hangs
printf '%-12s %5s %11s %8s %7s %8s %8s %7s %6s\n' "$target" "$secs" "$(stat_of execs_done)" \
	"$(stat_of execs_per_sec)" "$(stat_of corpus_count)" "$(stat_of edges_found)" \
	"$(stat_of bitmap_cvg)" "$(stat_of saved_crashes)" "$(stat_of saved_hangs)"
while IFS= read -r f; do
	[ -n "$f" ] && echo "$target: $(basename "$(dirname "$f")")/$(basename "$f"): reproduce with: $builddir/fuzz/$target '$f'"
done <<<"$crashes"
if [ "$rc" -ne 0 ] || [ "$ncrash" -gt 0 ]; then
	[ "$rc" -ne 0 ] && { echo "afl: afl-fuzz exited $rc:"; grep -v '^\s*$' "$log" | tail -n 20 | sed 's/^/  | /'; }
	echo "FAIL: afl $target"
	exit 1
fi
echo "PASS: afl $target"
exit 0
