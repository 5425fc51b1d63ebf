#!/bin/sh
# nam56r-launch exec mode without Slurm daemons: a fake job step's SLURM_*
# environment, the echo runtime as the runtime. Checks the per-rank env the
# wrapper computes when no plugin ran, the argv (generated args, then ARGS),
# the plugin path (carried recipe + NAM56R_PLAN_SHA256), and every exit code:
# 2 usage/contradiction/not allowed, 1 other failure, 127 exec failed.
set -u
top=$(cd "${srcdir:-.}" && pwd)
bld=$(pwd)
bin=${N56_LAUNCH:-$bld/nam56r-launch}
echo_rt=$bld/tests/n56-echo-runtime
[ -x "$echo_rt" ] || { echo "SKIP: $echo_rt is not built"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# A step of 2 nodes x 8 tasks; this is rank 11 (node 1, local 3).
step() {
	env -i PATH=/usr/bin:/bin NAM56R_POLICY=none SLURM_JOB_ID=4321 \
		SLURM_PROCID=11 SLURM_NNODES=2 SLURM_NTASKS=16 SLURM_NODEID=1 \
		SLURM_LOCALID=3 SLURM_STEP_NODELIST='gpu[07-08]' \
		CUDA_VISIBLE_DEVICES=8,9,10,11,12,13,14,15 \
		N56_ECHO_DIR="$tmp" NCCL_DEBUG=INFO "$@"
}

# expect STATUS CMD...: run, keep stderr in $tmp/err
expect() {
	want=$1; shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" = "$want" ] || { fail "exit $got, want $want: $*"; sed 's/^/  stderr: /' "$tmp/err" | head -5; }
}
stderr_has() {
	grep -qF -- "$1" "$tmp/err" || { fail "stderr lacks: $1"; sed 's/^/  stderr: /' "$tmp/err" | head -5; }
}
env_is() { # env_is NAME VALUE: in the echo runtime's record of rank 11
	grep -qx -- "$1=$2" "$tmp/rec" || fail "env $1: want '$2', got '$(grep "^$1=" "$tmp/rec")'"
}

# No plugin: the wrapper computes the rank's env and execs the runtime.
expect 0 step "$bin" --runtime "$echo_rt" -- --train-iters 3
rec=$(ls "$tmp"/*.11.txt 2>/dev/null | head -1)
[ -n "$rec" ] || { fail "the echo runtime wrote no record"; exit 1; }
mv "$rec" "$tmp/rec"
env_is RANK 11
env_is WORLD_SIZE 16
env_is LOCAL_RANK 3
env_is LOCAL_WORLD_SIZE 8
env_is GROUP_RANK 1
env_is MASTER_ADDR gpu07
env_is MASTER_PORT $((29500 + 4321 % 1000))
env_is NAM56R_PP_RANK 1
# Slurm's GPU numbering: our CUDA index i is Slurm's i-th device.
env_is CUDA_VISIBLE_DEVICES 8,9,10,11,12,13,14,15
# A user's export is kept when nothing pinned it.
env_is NCCL_DEBUG INFO
# argv: the generated native args of the same plan, then the user's ARGS.
"$bin" plan --nodes 2 --gpus-per-node 8 --format json >"$tmp/plan.json" 2>/dev/null
if command -v python3 >/dev/null; then
	python3 - "$tmp/plan.json" "$tmp/rec" "$echo_rt" <<'EOF' || fail "argv is not exactly the generated args + ARGS"
import json, sys
plan = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().split("\n")
argc = int(lines[0].split()[1])
argv = lines[1:1 + argc]
want = [sys.argv[3]] + plan["generated_native_args"] + ["--train-iters", "3"]
sys.exit(0 if argv == want else 1)
EOF
fi
sha=$(grep '^NAM56R_PLAN_SHA256=' "$tmp/rec" | cut -d= -f2)
[ ${#sha} = 64 ] || fail "NAM56R_PLAN_SHA256 missing"

# Slurm reserved ports for the step (MpiParams=ports): the first is the
# master port.
expect 0 step env SLURM_STEP_RESV_PORTS=41003-41011 "$bin" --runtime "$echo_rt"
grep -qx 'MASTER_PORT=41003' "$tmp"/*.11.txt || fail "MASTER_PORT is not the first reserved port"
rm -f "$tmp"/*.11.txt
expect 1 step env SLURM_STEP_RESV_PORTS=none "$bin" --runtime "$echo_rt"
stderr_has "nam56r-launch: SLURM_STEP_RESV_PORTS is 'none', not a port range"

# Fewer GPUs from Slurm than ranks on the node: never a GPU outside them.
expect 1 step env CUDA_VISIBLE_DEVICES=2,3,4,5,6,7 "$bin" --runtime "$echo_rt"
stderr_has "nam56r-launch: Slurm gave this step 6 GPUs on gpu08 (2,3,4,5,6,7) for 8 ranks: a NAM56R step runs one rank per GPU of the step (srun --ntasks-per-node=6, or give the step 8 GPUs with --gpus-per-node=8)"

# ARGS that contradict a generated flag: exit 2 naming both.
expect 2 step "$bin" --runtime "$echo_rt" -- --pipeline-model-parallel-size 4
stderr_has "argument '--pipeline-model-parallel-size 4' contradicts the generated '--pipeline-model-parallel-size 2'"
# An exact repeat is accepted.
expect 0 step "$bin" --runtime "$echo_rt" -- --pipeline-model-parallel-size 2
# The exec fails: 127 with the runtime and the reason.
expect 127 step "$bin" --runtime "$tmp/no-such-runtime"
stderr_has "nam56r-launch: exec $tmp/no-such-runtime: No such file or directory"
# A policy the user names is refused in a job step (the site's applies;
# the integration case runtime_not_allowed covers allowed_commands).
printf 'schema: 1\nruntime:\n  allowed_commands: ["*"]\n' >"$tmp/policy.yaml"
expect 2 step "$bin" --policy "$tmp/policy.yaml" --runtime "$echo_rt"
stderr_has "nam56r-launch: --policy $tmp/policy.yaml: inside a job step the site policy applies"
expect 2 step "$bin" --policy="$tmp/policy.yaml" --runtime "$echo_rt"
# A rank on the wrong node (cyclic distribution).
expect 1 step env SLURM_NODEID=0 "$bin" --runtime "$echo_rt"
stderr_has "nam56r-launch: Slurm starts rank 11 on node 0 of the step, but NAM56R places it on node 1: use the block distribution (srun -m block, the default)"
# Unknown options and no job step.
expect 2 step "$bin" --bogus
stderr_has "unknown option '--bogus' (runtime arguments go after --)"
expect 2 env -i PATH=/usr/bin:/bin "$bin" --runtime "$echo_rt"
stderr_has "not inside a job step"
expect 2 step env SLURM_NTASKS=15 "$bin" --runtime "$echo_rt"
stderr_has "the step runs 15 tasks on 2 nodes"

# The plugin ran: the recipe is the carried content, checked by sha256.
b64=$(base64 -w0 "$top/examples/nam56r.yaml")
rsha=$(sha256sum "$top/examples/nam56r.yaml" | cut -d' ' -f1)
plugin() {
	step env SLURM_SPANK_NAM56R_RECIPE_B64="$b64" \
		SLURM_SPANK_NAM56R_RECIPE_PATH=nam56r.yaml "$@"
}
expect 0 plugin env SLURM_SPANK_NAM56R_RECIPE_SHA256="$rsha" \
	NAM56R_PLAN_SHA256="$sha" "$bin" --runtime "$echo_rt"
expect 1 plugin env SLURM_SPANK_NAM56R_RECIPE_SHA256="$rsha" \
	NAM56R_PLAN_SHA256=0000 "$bin" --runtime "$echo_rt"
stderr_has "differs from the plugin's (0000)"
expect 2 plugin env SLURM_SPANK_NAM56R_RECIPE_SHA256=00ff \
	NAM56R_PLAN_SHA256="$sha" "$bin" --runtime "$echo_rt"
stderr_has "the carried recipe has sha256 ${rsha%${rsha#????????????}}, the submission recorded 00ff"

# --runtime-words N (the plugin's wrap=): the first N ARGS are the runtime,
# the rest the user's args, merged and checked as ever.
rm -f "$tmp"/*.11.txt
expect 0 step "$bin" --runtime-words 1 -- "$echo_rt" --train-iters 3
rec=$(ls "$tmp"/*.11.txt 2>/dev/null | head -1)
if [ -n "$rec" ] && command -v python3 >/dev/null; then
	python3 - "$tmp/plan.json" "$rec" "$echo_rt" <<'EOF' || fail "--runtime-words 1: argv is not the runtime + generated args + ARGS"
import json, sys
plan = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().split("\n")
argv = lines[1:1 + int(lines[0].split()[1])]
sys.exit(0 if argv == [sys.argv[3]] + plan["generated_native_args"] + ["--train-iters", "3"] else 1)
EOF
elif [ -z "$rec" ]; then
	fail "--runtime-words 1: the echo runtime wrote no record"
fi
expect 2 step "$bin" --runtime-words 1 -- "$echo_rt" --pipeline-model-parallel-size 4
stderr_has "argument '--pipeline-model-parallel-size 4' contradicts the generated '--pipeline-model-parallel-size 2'"
expect 2 step "$bin" --runtime-words 3 -- "$echo_rt" x
stderr_has "nam56r-launch: --runtime-words 3, but only 2 arguments follow"
expect 2 step "$bin" --runtime-words 0 -- "$echo_rt"
stderr_has "nam56r-launch: --runtime-words needs a number from 1 to 64, not '0'"
expect 2 step "$bin" --runtime-words=2x -- "$echo_rt"
stderr_has "nam56r-launch: --runtime-words needs a number from 1 to 64, not '2x'"
expect 2 step "$bin" --runtime-words 1 --runtime "$echo_rt" -- "$echo_rt"
stderr_has "nam56r-launch: --runtime and --runtime-words exclude each other"
expect 2 step env NAM56R_POLICY="$tmp/policy.yaml" "$bin" --runtime-words 1 -- "$echo_rt"
stderr_has "runtime '$echo_rt' is not allowed by the site policy $tmp/policy.yaml (runtime.allowed_commands; it is $echo_rt)"

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "exec-cli: all checks passed"
