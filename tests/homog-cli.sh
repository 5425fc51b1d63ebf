#!/bin/sh
# The node homogeneity check in nam56r-launch exec mode without the plugin
# (a fake job step's SLURM_* environment, the echo runtime): an admin map
# that the node's own islands contradict, a map naming a GPU the node does
# not have, a step with another GPU count than the node: exit 1 with the
# message, nothing run; a node that agrees runs with NAM56R_NODE_SHAPE, and
# so does a step on the GPUs Slurm names for it (SLURM_STEP_GPUS).
# Uses ../shared/fixtures/topology (skipped when absent).
set -u
top=$(cd "${srcdir:-.}" && pwd)
bld=$(pwd)
bin=${N56_LAUNCH:-$bld/nam56r-launch}
echo_rt=$bld/tests/n56-echo-runtime
fx=$top/../shared/fixtures/topology
xml=$fx/derived_ipa20-2islands.xml
[ -x "$echo_rt" ] || { echo "SKIP: $echo_rt is not built"; exit 77; }
[ -f "$xml" ] || { echo "SKIP: $fx is absent"; exit 77; }
# A job step reads only a site policy (NAM56R_POLICY, root-owned, not
# writable by others): --policy is refused there.
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (the step's policy must be root-owned)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# policy FILE ISLANDS...: a site policy whose admin map has these entries.
policy() {
	f=$1; shift
	{
		printf 'schema: 1\nruntime:\n  allowed_commands:\n'
		printf '    - "%s"\n    - python3\ntopology:\n  islands:\n' \
			"$echo_rt"
		for e in "$@"; do printf '    - %s\n' "$e"; done
	} >"$f"
}

# step NODES TASKS NODELIST POLICY: rank 9 (node 2, local 1) of the step,
# on the 4-GPU ipa20 node whose own islands (NVLink distances) are 2+2.
step() {
	env -i PATH=/usr/bin:/bin NAM56R_TOPOLOGY="$xml" SLURM_JOB_ID=4321 \
		SLURM_PROCID=9 SLURM_NNODES="$1" SLURM_NTASKS="$2" \
		SLURM_NODEID=2 SLURM_LOCALID=1 SLURM_STEP_NODELIST="$3" \
		N56_ECHO_DIR="$tmp/out" NAM56R_POLICY="$4" \
		"$bin" --runtime "$echo_rt" >"$tmp/stdout" \
		2>"$tmp/err"
}

# expect STATUS MESSAGE: the last step's exit status and its whole stderr.
expect() {
	[ "$got" = "$1" ] || fail "exit $got, want $1"
	[ "$(cat "$tmp/err")" = "$2" ] ||
		{ fail "stderr: want '$2'"; sed 's/^/  stderr: /' "$tmp/err"; }
	if [ "$1" != 0 ] && [ -n "$(find "$tmp/out" -type f 2>/dev/null)" ]; then
		fail "the runtime ran although the node was refused"
	fi
	rm -rf "$tmp/out"
}

mkdir -p "$tmp/out"
policy "$tmp/one.yaml" '{nodes: "ipa[1-4]", gpus: "0-3", domain: nvl-a}'
step 4 16 'ipa[1-4]' "$tmp/one.yaml"; got=$?
expect 1 "nam56r-launch: the admin map puts GPUs 0-3 of ipa3 in domain nvl-a, but hwloc-distances on ipa3 finds islands 0-1 | 2-3; fix topology.islands in $tmp/one.yaml or the node, or run with island_source per-node"

policy "$tmp/gpu7.yaml" '{nodes: "ipa[1-4]", gpus: "0-7", domain: nvl-a}'
step 4 16 'ipa[1-4]' "$tmp/gpu7.yaml"; got=$?
expect 1 "nam56r-launch: topology: $tmp/gpu7.yaml:8:7: error: topology.islands[0].gpus: GPU 7 is not on this node (it has 4 GPUs, 0-3)"

policy "$tmp/pairs.yaml" '{nodes: "ipa[1-4]", gpus: "0-1", domain: a}' \
	'{nodes: "ipa[1-4]", gpus: "2-3", domain: b}'
step 2 16 'ipa[1-4]' "$tmp/pairs.yaml"; got=$?
expect 1 "nam56r-launch: the step expects 8 GPUs on ipa3, but hwloc on ipa3 finds 4 (topology $xml): run at most one rank per GPU (srun --ntasks-per-node=4)"

# The map agrees with the node: the rank runs, carrying the node's shape.
mkdir -p "$tmp/out"
step 4 16 'ipa[1-4]' "$tmp/pairs.yaml"; got=$?
rec=$(find "$tmp/out" -name '*.9.txt' | head -1)
[ "$got" = 0 ] || { fail "exit $got, want 0"; sed 's/^/  stderr: /' "$tmp/err"; }
if [ -z "$rec" ]; then
	fail "the echo runtime wrote no record"
else
	grep -qx 'NAM56R_NODE_SHAPE=2+2' "$rec" ||
		fail "NAM56R_NODE_SHAPE: $(grep NODE_SHAPE "$rec")"
fi

# A step of 2 ranks per node on the 4-GPU node: refused unless Slurm
# names the step's GPUs; then placement uses their island only (rank 5,
# node 2, local 1, on GPU 3 of the node, Slurm's 3 of 2,3).
half() {
	env -i PATH=/usr/bin:/bin NAM56R_TOPOLOGY="$xml" SLURM_JOB_ID=4321 \
		SLURM_PROCID=5 SLURM_NNODES=4 SLURM_NTASKS=8 \
		SLURM_NODEID=2 SLURM_LOCALID=1 SLURM_STEP_NODELIST='ipa[1-4]' \
		CUDA_VISIBLE_DEVICES=2,3 N56_ECHO_DIR="$tmp/out" \
		NAM56R_POLICY="$tmp/pairs.yaml" "$@" "$bin" \
		--runtime "$echo_rt" >"$tmp/stdout" 2>"$tmp/err"
}
rm -rf "$tmp/out" && mkdir -p "$tmp/out"
half env; got=$?
expect 1 "nam56r-launch: the step expects 2 GPUs on ipa3, but hwloc on ipa3 finds 4 (topology $xml; Slurm names the step's GPUs as '(none)'): run one rank per GPU (srun --ntasks-per-node=4) or ask for 2 GPUs per node (--gpus-per-node=2) so that Slurm names them"
mkdir -p "$tmp/out"
half env SLURM_STEP_GPUS=2-3; got=$?
rec=$(find "$tmp/out" -name '*.5.txt' | head -1)
[ "$got" = 0 ] || { fail "exit $got, want 0"; sed 's/^/  stderr: /' "$tmp/err"; }
if [ -z "$rec" ]; then
	fail "the echo runtime wrote no record for the step's GPUs 2-3"
else
	grep -qx 'NAM56R_NODE_SHAPE=2' "$rec" ||
		fail "NAM56R_NODE_SHAPE: $(grep NODE_SHAPE "$rec")"
	grep -qx 'CUDA_VISIBLE_DEVICES=2,3' "$rec" ||
		fail "CUDA_VISIBLE_DEVICES: $(grep CUDA_VISIBLE "$rec")"
fi

[ "$fails" = 0 ] || exit 1
echo "homog-cli: all cases passed"
