#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
#
# run-fuzzers.sh - run libgmem's libFuzzer harnesses.  `make fuzz`,
# `make fuzz-smoke`, `make fuzz-tsan` and `make fuzz-merge` call it; see
# fuzz/README.md.
#
#   run-fuzzers.sh run   [OPTION...] PROGRAM...  fuzz every harness, print a
#                                                table, fail on any finding
#   run-fuzzers.sh merge [OPTION...] PROGRAM...  merge the work folder's new
#                                                inputs into corpus/<target>/
#
# A PROGRAM is a libFuzzer executable (fuzz/fuzz_map, ...); its base name is
# the target name.  Options:
#   --srcdir=DIR    the source tree: corpus/<t>/, fuzz/<t>.dict,
#                   fuzz/<t>.options (default: the directory above this
#                   script)
#   --workdir=DIR   the work folder (default: fuzz-work, in the build tree)
#   --seconds=N     fuzzing time per target (default 60)
#   --jobs=N        libFuzzer worker processes per target; N > 1 runs
#                   libFuzzer with -fork=N (default 1)
#   --targets=LIST  only these targets (names separated by spaces or commas;
#                   default: every PROGRAM)
#   --fresh         empty the work corpora first, so the run starts from the
#                   committed corpus alone (kept findings stay)
#   --label=NAME    the name in the PASS:/FAIL: result lines (default: fuzz)
# Environment:
#   FUZZ_ARGS          extra libFuzzer flags, last on the command line
#   FUZZ_MERGE_ARGS    libFuzzer flags of `merge` (default -use_counters=0:
#                      an input is added when it covers a new edge; empty:
#                      libFuzzer's full features, hit counts too)
#   FUZZ_VERBOSE=1     show libFuzzer's own output instead of status lines
#   FUZZ_STATUS_EVERY  seconds between status lines (default 10)
#   FUZZ_TIMEOUT       libFuzzer -timeout, seconds per input (default 25)
#   ASAN_OPTIONS, UBSAN_OPTIONS, TSAN_OPTIONS  passed on (make sets them)
#
# Work folder, per target:
#   WORKDIR/<t>/corpus/     libFuzzer's output corpus: the new inputs, kept
#                           across runs until `make fuzz-clean`
#   WORKDIR/<t>/artifacts/  findings (crash-*, leak-*, timeout-*, oom-*),
#                           kept until removed by hand
#   WORKDIR/<t>/fuzz.log    libFuzzer's output of the last run
#   WORKDIR/<t>/merge.log   libFuzzer's output of the last merge
# The committed corpus, corpus/<t>/, is a second, read-only corpus
# directory: `run` never writes to the source tree.  `merge` is the one
# command that does, on purpose.
#
# `run` prints a status line per target every FUZZ_STATUS_EVERY seconds,
# then a table (target, seconds, executions, execs/s, cov, ft, corpus files
# before and after, new inputs, findings), one "PASS: LABEL <t>" or
# "FAIL: LABEL <t>" line per target, and for every finding a one-line
# reproduction command.  It exits 1 if any target crashed, leaked, timed
# out, ran out of memory, printed a sanitizer report or exited non-zero.
set -u

mode=${1:-}
case $mode in
run | merge) shift ;;
*)
	echo "usage: run-fuzzers.sh run|merge [--srcdir=DIR] [--workdir=DIR] [--seconds=N] [--jobs=N] [--targets=LIST] [--fresh] [--label=NAME] PROGRAM..." >&2
	exit 2
	;;
esac

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
workdir=fuzz-work
seconds=60
jobs=1
targets=
fresh=0
label=fuzz
progs=()
for arg; do
	case $arg in
	--srcdir=*) srcdir=${arg#*=} ;;
	--workdir=*) workdir=${arg#*=} ;;
	--seconds=*) seconds=${arg#*=} ;;
	--jobs=*) jobs=${arg#*=} ;;
	--targets=*) targets=${arg#*=} ;;
	--fresh) fresh=1 ;;
	--label=*) label=${arg#*=} ;;
	-*)
		echo "run-fuzzers.sh: unknown option $arg" >&2
		exit 2
		;;
	*) progs+=("$arg") ;;
	esac
done
case $seconds in '' | *[!0-9]*)
	echo "run-fuzzers.sh: --seconds must be a number, not '$seconds'" >&2
	exit 2
	;;
esac
case $jobs in '' | 0 | *[!0-9]*)
	echo "run-fuzzers.sh: --jobs must be a positive number, not '$jobs'" >&2
	exit 2
	;;
esac
every=${FUZZ_STATUS_EVERY:-10}
timeout_s=${FUZZ_TIMEOUT:-25}
srcdir=$(cd "$srcdir" && pwd) || exit 2
mkdir -p "$workdir" && workdir=$(cd "$workdir" && pwd) || exit 2

# The selected programs, as absolute paths.
selected=()
targets=$(echo "$targets" | tr ',' ' ')
for p in ${progs[@]+"${progs[@]}"}; do
	t=$(basename "$p")
	if [ -n "$targets" ]; then
		case " $targets " in *" $t "*) ;; *) continue ;; esac
	fi
	case $p in /*) ;; *) p=$(pwd)/$p ;; esac
	if [ ! -x "$p" ]; then
		echo "run-fuzzers.sh: $p is not built" >&2
		exit 2
	fi
	selected+=("$p")
done
for t in $targets; do
	found=0
	for p in ${selected[@]+"${selected[@]}"}; do
		[ "$(basename "$p")" = "$t" ] && found=1
	done
	if [ $found -eq 0 ]; then
		echo "run-fuzzers.sh: unknown target '$t' (known: $(for p in ${progs[@]+"${progs[@]}"}; do printf '%s ' "$(basename "$p")"; done))" >&2
		exit 2
	fi
done
if [ ${#selected[@]} -eq 0 ]; then
	echo "run-fuzzers.sh: no fuzz programs given" >&2
	exit 2
fi

# Number of regular, non-hidden files in a directory (0 if it is missing).
nfiles() {
	if [ -d "$1" ]; then
		find "$1" -maxdepth 1 -type f ! -name '.*' | wc -l | tr -d ' '
	else
		echo 0
	fi
}

# The finding files of an artifacts directory, one per line, sorted.
findings() {
	[ -d "$1" ] || return 0
	find "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \) | LC_ALL=C sort
}

# libFuzzer flags from the [libfuzzer] section of fuzz/<t>.options (the
# OSS-Fuzz format), " -key=value" each; "dict" is skipped: its path is
# relative to OSS-Fuzz's $OUT, and the dictionary is passed here directly.
options_of() {
	local f=$srcdir/fuzz/$1.options
	[ -f "$f" ] || return 0
	awk '/^[ \t]*\[/ { s = ($0 ~ /^[ \t]*\[libfuzzer\]/); next }
	s && index($0, "=") > 1 {
		k = substr($0, 1, index($0, "=") - 1); v = substr($0, index($0, "=") + 1)
		gsub(/^[ \t]+|[ \t]+$/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v)
		if (k ~ /^[A-Za-z_][A-Za-z0-9_]*$/ && k != "dict") printf " -%s=%s", k, v
	}' "$f"
}

# The latest libFuzzer status line of a log as "execs cov ft corp exec/s";
# both the plain ("#N  NEW cov: ...") and the -fork ("#N: cov: ...") forms.
status_of() {
	awk '/^#[0-9]+/ { last = $0 }
	END {
		n = split(last, f, /[ \t]+/)
		execs = f[1]; sub(/^#/, "", execs); sub(/:$/, "", execs)
		cov = ft = corp = eps = "-"
		for (i = 2; i < n; i++) {
			if (f[i] == "cov:") cov = f[i + 1]
			else if (f[i] == "ft:") ft = f[i + 1]
			else if (f[i] == "corp:") { corp = f[i + 1]; sub(/\/.*/, "", corp) }
			else if (f[i] == "exec/s:" || f[i] == "exec/s") eps = f[i + 1]
		}
		if (execs == "") execs = 0
		print execs, cov, ft, corp, eps
	}' "$1"
}

# stat::KEY of -print_final_stats, or nothing.
final_stat() {
	awk -v k="stat::$2:" '$1 == k { v = $2 } END { if (v != "") print v }' "$1"
}

# The interesting part of a failed run's log: from a few lines before the
# first report on, without status lines and ASan's shadow-byte dump.
excerpt() {
	grep -v -E '^#[0-9]+|NEW_FUNC|^ +0x[0-9a-f]+: |^=>0x|^Shadow byte|^  (Addressable|Partially|Heap|Freed|Stack|Global|Poisoned|Container|Array|Intra|ASan|Left|Right)[ a-z]*:' "$1" |
		awk -v re="$sanitizer_re|ALARM:|out-of-memory|fuzz_[a-z_]+: op " '
		{ line[NR] = $0 }
		$0 ~ re && !first { first = NR }
		/Test unit written|^SUMMARY:/ { keep[NR] = 1 }
		END {
			if (!first) first = (NR > 30 ? NR - 30 : 1)
			s = (first > 5 ? first - 5 : 1)
			for (i = s; i <= NR && i < s + 40; i++) print line[i]
			for (i = s + 40; i <= NR; i++) if (keep[i]) print line[i]
		}'
}

sanitizer_re='ERROR: [A-Za-z]*Sanitizer|WARNING: [A-Za-z]*Sanitizer|runtime error:|==[0-9]+==ERROR|SUMMARY: [A-Za-z]*Sanitizer|ERROR: libFuzzer|deadly signal'

# ---------------------------------------------------------------- merge ---
if [ "$mode" = merge ]; then
	status=0
	for bin in "${selected[@]}"; do
		t=$(basename "$bin")
		w=$workdir/$t
		seeds=$srcdir/corpus/$t
		mkdir -p "$seeds" "$w/artifacts" || exit 1
		if [ ! -w "$seeds" ]; then
			echo "fuzz-merge: $seeds is not writable" >&2
			status=1
			continue
		fi
		before=$(nfiles "$seeds")
		new=$(nfiles "$w/corpus")
		if [ "$new" -eq 0 ]; then
			echo "fuzz-merge: $t: no new inputs in $w/corpus (run make fuzz first)"
		else
			# -merge=1 copies into the first directory the inputs of
			# the others that add coverage (set minimization); it never
			# removes a file of the first.  -use_counters=0: coverage
			# means edges, not hit counts, which keeps ~8x fewer files.
			# shellcheck disable=SC2046,SC2086
			"$bin" -merge=1 -timeout="$timeout_s" $(options_of "$t") \
				-artifact_prefix="$w/artifacts/" ${FUZZ_MERGE_ARGS--use_counters=0} \
				${FUZZ_ARGS:-} "$seeds" "$w/corpus" >"$w/merge.log" 2>&1
			rc=$?
			after=$(nfiles "$seeds")
			if [ $rc -ne 0 ]; then
				echo "fuzz-merge: $t: libFuzzer -merge=1 failed (exit $rc), see $w/merge.log"
				tail -n 20 "$w/merge.log"
				status=1
			else
				echo "fuzz-merge: $t: $((after - before)) of $new new inputs add coverage; corpus/$t: $before -> $after files"
			fi
		fi
		# Findings whose bug has been fixed become permanent reproducers,
		# corpus/<t>/crash-<sha1>; the others are reported and left.
		while IFS= read -r a; do
			[ -n "$a" ] || continue
			# shellcheck disable=SC2046
			if "$bin" -timeout="$timeout_s" $(options_of "$t") "$a" >"$w/repro.log" 2>&1 &&
				! grep -E "$sanitizer_re" "$w/repro.log" >/dev/null; then
				name=crash-$(sha1sum <"$a" | cut -c1-40)
				if [ -e "$seeds/$name" ]; then
					echo "fuzz-merge: $t: $(basename "$a") passes now and is already corpus/$t/$name"
				else
					cp "$a" "$seeds/$name" && chmod 644 "$seeds/$name"
					echo "fuzz-merge: $t: $(basename "$a") passes now: kept as reproducer corpus/$t/$name"
				fi
			else
				echo "fuzz-merge: $t: $(basename "$a") still fails; fix the bug, then merge again.  Reproduce: $bin $a"
			fi
		done <<<"$(findings "$w/artifacts")"
	done
	[ $status -eq 0 ] && echo "fuzz-merge: review and commit corpus/ (git status corpus/)"
	exit $status
fi

# ------------------------------------------------------------------ run ---
names=
for bin in "${selected[@]}"; do names="$names $(basename "$bin")"; done
echo "$label: targets:$names; ${seconds}s each, $jobs job(s) each; work folder $workdir"
echo "$label: seeds from $srcdir/corpus/<target>/ (read-only); new inputs go to $workdir/<target>/corpus/"

rows=()
repros=()
results=()
any_fail=0
for bin in "${selected[@]}"; do
	t=$(basename "$bin")
	w=$workdir/$t
	seeds=$srcdir/corpus/$t
	if [ $fresh -eq 1 ]; then
		rm -rf "$w/corpus"
	fi
	mkdir -p "$w/corpus" "$w/artifacts" || exit 1
	log=$w/fuzz.log
	old_findings=$(findings "$w/artifacts")
	nseeds=$(nfiles "$seeds")
	before=$((nseeds + $(nfiles "$w/corpus")))
	opts=$(options_of "$t")
	dict=
	[ -f "$srcdir/fuzz/$t.dict" ] && dict=-dict=$srcdir/fuzz/$t.dict
	fork=
	[ "$jobs" -gt 1 ] && fork=-fork=$jobs
	# shellcheck disable=SC2206
	cmd=("$bin" -timeout="$timeout_s" $opts ${dict:+"$dict"} $fork
		-max_total_time="$seconds" -print_final_stats=1
		-artifact_prefix="$w/artifacts/" ${FUZZ_ARGS:-} "$w/corpus")
	[ -d "$seeds" ] && cmd+=("$seeds")
	echo
	echo "$label: $t: ${seconds}s from $nseeds seeds + $((before - nseeds)) earlier inputs (log: $log)"
	echo "  + ${cmd[*]}"
	start=$(date +%s)
	# A watchdog on top of libFuzzer's own -timeout and -max_total_time.
	limit=$((seconds + 300))
	if [ "${FUZZ_VERBOSE:-0}" != 0 ]; then
		timeout -k 30 "$limit" "${cmd[@]}" 2>&1 | tee "$log"
		rc=${PIPESTATUS[0]}
	else
		timeout -k 30 "$limit" "${cmd[@]}" >"$log" 2>&1 &
		pid=$!
		next=$((start + every))
		while kill -0 "$pid" 2>/dev/null; do
			sleep 1
			now=$(date +%s)
			if [ "$now" -ge "$next" ] && kill -0 "$pid" 2>/dev/null; then
				read -r s_execs s_cov s_ft s_corp s_eps <<<"$(status_of "$log")"
				printf '  [%s %3ds/%ds] execs %s  cov %s  ft %s  corpus %s  exec/s %s  findings %s\n' \
					"$t" $((now - start)) "$seconds" "$s_execs" "$s_cov" "$s_ft" \
					"$s_corp" "$s_eps" $(($(findings "$w/artifacts" | grep -c .) - $(printf '%s' "$old_findings" | grep -c .)))
				next=$((next + every))
			fi
		done
		wait "$pid"
		rc=$?
	fi
	secs=$(($(date +%s) - start))
	read -r execs cov ft _ eps <<<"$(status_of "$log")"
	v=$(final_stat "$log" number_of_executed_units) && [ -n "$v" ] && execs=$v
	if [ "$secs" -gt 0 ] && [ "$execs" -gt 0 ] 2>/dev/null; then
		eps=$((execs / secs))
	fi
	after=$((nseeds + $(nfiles "$w/corpus")))
	new_findings=$(LC_ALL=C comm -13 <(printf '%s\n' "$old_findings") <(findings "$w/artifacts") | grep . || true)
	nfind=$(printf '%s' "$new_findings" | grep -c . || true)
	reports=$(grep -c -E "$sanitizer_re" "$log" || true)
	why=
	[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why="hung: killed after ${limit}s"
	[ -z "$why" ] && [ "$rc" -ne 0 ] && why="exit $rc"
	[ "$nfind" -gt 0 ] && why="${why:+$why, }$nfind finding(s)"
	[ "$reports" -gt 0 ] && why="${why:+$why, }sanitizer/libFuzzer report in the log"
	if [ -n "$why" ]; then
		any_fail=1
		result=FAIL
		echo "  $t FAILED ($why); from $log:"
		excerpt "$log" | sed 's/^/  | /'
		if [ "$nfind" -gt 0 ]; then
			while IFS= read -r a; do
				repros+=("$t: $(basename "$a"): reproduce with: $bin $a")
			done <<<"$new_findings"
		else
			repros+=("$t: no input was saved; rerun with: ${cmd[*]}")
		fi
	else
		result=ok
	fi
	rows+=("$(printf '%-12s %5s %11s %8s %6s %7s %8s -> %-7s %6s %8s  %s' \
		"$t" "$secs" "$execs" "$eps" "$cov" "$ft" "$before" "$after" \
		$((after - before)) "$nfind" "$result")")
	if [ $result = ok ]; then
		results+=("PASS: $label $t")
	else
		results+=("FAIL: $label $t ($why)")
	fi
done

echo
echo "$label: results (work folder $workdir)"
printf '%-12s %5s %11s %8s %6s %7s %19s %6s %8s  %s\n' \
	target secs execs exec/s cov ft "corpus before->after" new crashes result
for r in "${rows[@]}"; do echo "$r"; done
for r in ${repros[@]+"${repros[@]}"}; do echo "$r"; done
for r in "${results[@]}"; do echo "$r"; done
if [ $any_fail -ne 0 ]; then
	echo "$label: FAILED; findings are kept in $workdir/<target>/artifacts/"
	exit 1
fi
echo "$label: no findings.  \`make fuzz-merge\` adds the new inputs that add coverage to corpus/<target>/."
exit 0
