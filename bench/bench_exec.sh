#!/bin/bash
# What nam56r-launch adds before the runtime starts: a fake job step's
# environment (rank 11 of 2 nodes x 8, no plugin), then
#   direct   n56-echo-runtime ARGS           (the runtime alone)
#   wrapper  nam56r-launch --recipe examples/nam56r.yaml --runtime
#            n56-echo-runtime                (parse, plan, rank env, policy
#                                             check, bind, then execve)
# Blocks of RUNS runs alternate (the order flips every round) so that drift
# of the machine hits both alike. Prints the mean per run of each, the
# wrapper's own cost (the difference) and the ratio. Target: about 1 ms.
# LD_LIBRARY_PATH, when set, is passed to both (libraries a node lacks).
# Usage: bench/bench_exec.sh BUILDDIR [ROUNDS] [RUNS]  (defaults 10, 50)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
B=$(cd "$1" && pwd) || exit 2
rounds=${2:-10} runs=${3:-50}
launch=$B/nam56r-launch echo_rt=$B/tests/n56-echo-runtime
[ -x "$launch" ] && [ -x "$echo_rt" ] || { echo "bench_exec.sh: build $B first" >&2; exit 2; }
bindir=$(mktemp -d) || exit 1
trap 'rm -rf "$bindir"' EXIT
ln -s "$echo_rt" "$bindir/n56-echo-runtime"
# The example policy allows the program the wrapper resolves, by its real
# path (a bare name covers only programs in the system directories).
sed "s|^    - n56-echo-runtime .*|&\n    - \"$(readlink -f "$echo_rt")\"|" \
	"$top/examples/policy.yaml" >"$bindir/policy.yaml"

# The argv the wrapper generates, so that `direct` execs the same thing.
mapfile -t gen < <("$launch" plan --recipe "$top/examples/nam56r.yaml" \
	--policy "$top/examples/policy.yaml" --nodes 2 --gpus-per-node 8 --format json |
	python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["generated_native_args"]))')
[ ${#gen[@]} -gt 0 ] || { echo "bench_exec.sh: nam56r-launch plan failed" >&2; exit 1; }

# shellcheck disable=SC2054 # the comma is CUDA_VISIBLE_DEVICES's own
step_env=(env -i PATH="$bindir:/usr/bin:/bin" NAM56R_POLICY="$bindir/policy.yaml"
	SLURM_JOB_ID=4321 SLURM_PROCID=11 SLURM_NNODES=2 SLURM_NTASKS=16
	SLURM_NODEID=1 SLURM_LOCALID=3 SLURM_STEP_NODELIST='n[1-2]'
	CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7
	${LD_LIBRARY_PATH:+LD_LIBRARY_PATH="$LD_LIBRARY_PATH"})
run_direct() { "${step_env[@]}" n56-echo-runtime "${gen[@]}" >/dev/null; }
run_wrapper() {
	"${step_env[@]}" "$launch" --recipe "$top/examples/nam56r.yaml" \
		--runtime n56-echo-runtime >/dev/null
}
run_wrapper || { echo "bench_exec.sh: the wrapper failed:" >&2; run_wrapper; exit 1; }
# Both must exec the very same argv for the comparison to mean anything.
[ "$("${step_env[@]}" "$launch" --recipe "$top/examples/nam56r.yaml" \
	--runtime n56-echo-runtime | sed '/^envc /Q')" = \
	"$("${step_env[@]}" n56-echo-runtime "${gen[@]}" | sed '/^envc /Q')" ] ||
	echo "bench_exec.sh: warning: the wrapper's argv differs from the plan's" >&2

block() { # VARIANT: seconds for $runs runs, from bash's clock (no fork)
	local i t0=$EPOCHREALTIME
	for ((i = 0; i < runs; i++)); do "run_$1" || return 1; done
	awk -v a="$EPOCHREALTIME" -v b="$t0" 'BEGIN {print a - b}'
}
tot_direct=0 tot_wrapper=0
for ((r = 0; r < rounds; r++)); do
	if ((r % 2)); then order="wrapper direct"; else order="direct wrapper"; fi
	for v in $order; do
		s=$(block "$v") || { echo "bench_exec.sh: $v failed" >&2; exit 1; }
		if [ "$v" = direct ]; then
			tot_direct=$(awk -v a="$tot_direct" -v b="$s" 'BEGIN {print a + b}')
		else
			tot_wrapper=$(awk -v a="$tot_wrapper" -v b="$s" 'BEGIN {print a + b}')
		fi
	done
done
n=$((rounds * runs))
awk -v d="$tot_direct" -v w="$tot_wrapper" -v n="$n" 'BEGIN {
	printf "%d runs each, interleaved blocks (fork + exec included in both)\n", n
	printf "direct   %8.3f ms per run\n", d / n * 1000
	printf "wrapper  %8.3f ms per run\n", w / n * 1000
	printf "wrapper cost %.3f ms per start; ratio wrapper/direct %.2f\n", (w - d) / n * 1000, w / d
}'
