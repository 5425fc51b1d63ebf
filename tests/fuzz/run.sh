#!/bin/sh
# run.sh SECONDS BUILDDIR: run each parser fuzzer (recipe, policy, the
# native-args check against Megatron's parser table, the job contract's
# host list, and Slurm's block topology: topology.conf and topology.yaml)
# for SECONDS on a copy of
# its seed corpus; exits non-zero when any of them finds a crash, leak or
# sanitizer error (the reproducer is left under BUILDDIR/fuzz-out/).
set -eu
if [ $# -ne 2 ]; then
	echo "usage: $0 SECONDS BUILDDIR" >&2
	exit 2
fi
seconds=$1
builddir=$2
srcdir=$(cd "$(dirname "$0")" && pwd)
out=$builddir/fuzz-out
status=0
for target in recipe policy args hostlist slurmblock; do
	bin=$builddir/tests/fuzz/fuzz_$target
	if [ ! -x "$bin" ]; then
		echo "run.sh: $bin missing (configure --enable-fuzzers CC=clang)" >&2
		exit 2
	fi
	work=$out/$target
	rm -rf "$work"
	mkdir -p "$work/corpus"
	cp "$srcdir/corpus/$target/"* "$work/corpus/"
	dict=$srcdir/yaml.dict
	[ -r "$srcdir/$target.dict" ] && dict=$srcdir/$target.dict
	# New inputs go to the copy: the seeds in the source tree stay small.
	if "$bin" -max_total_time="$seconds" -print_final_stats=1 \
		-dict="$dict" -artifact_prefix="$work/" \
		"$work/corpus" >"$work/log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
		echo "fuzz_$target: ok, ${execs:-?} runs in ${seconds}s," \
			"corpus $(ls "$work/corpus" | wc -l) inputs"
	else
		echo "fuzz_$target: FAILED; see $work/log" >&2
		tail -n 40 "$work/log" >&2
		status=1
	fi
done
exit $status
