#!/bin/sh
# nam56r-launch local without GPUs: N children with the per-rank env the
# plugin would give, CMD then the generated native args then ARGS, the
# worst child's exit status, --gpu-order, an XML topology without NVLink
# facts (degraded), the site policy's preflight thresholds, and every
# usage error with its exact message. The runtime is a shell script that
# records what it was given.
set -u
top=$(cd "${srcdir:-.}" && pwd)
bld=$(pwd)
bin=${N56_LAUNCH:-$bld/nam56r-launch}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The runtime: one record per rank, then exit with $EXIT_BASE + RANK when
# EXIT_BASE is set.
cat >"$tmp/rt.sh" <<'EOF'
#!/bin/sh
{
	env | grep -E '^(RANK|WORLD_SIZE|LOCAL_RANK|MASTER_ADDR|MASTER_PORT|CUDA_VISIBLE_DEVICES|NAM56R_[A-Z_]*)='
	printf 'ARGV'
	printf ' %s' "$@"
	echo
} >"$REC_DIR/rank$RANK"
[ -n "${EXIT_BASE:-}" ] && exit $((EXIT_BASE + RANK))
exit 0
EOF
chmod +x "$tmp/rt.sh"

# run STATUS ARGS...: nam56r-launch local ARGS (with the VAR=VALUE words of
# $RUN_ENV in its environment), stderr kept in $tmp/err
run() {
	want=$1
	shift
	rm -f "$tmp"/rank*
	# shellcheck disable=SC2086 # RUN_ENV holds VAR=VALUE words
	env REC_DIR="$tmp" ${RUN_ENV:-} "$bin" local "$@" >"$tmp/out" \
		2>"$tmp/err"
	got=$?
	[ "$got" = "$want" ] || {
		fail "exit $got, want $want: local $*"
		sed 's/^/  stderr: /' "$tmp/err" | head -5
	}
}
stderr_is() {
	printf '%s\n' "$1" | cmp -s - "$tmp/err" ||
		{ fail "stderr is not: $1"; sed 's/^/  got: /' "$tmp/err"; }
}
stderr_has() {
	grep -qF -- "$1" "$tmp/err" ||
		{ fail "stderr lacks: $1"; sed 's/^/  got: /' "$tmp/err"; }
}
env_is() { # env_is RANK NAME VALUE
	grep -qx -- "$2=$3" "$tmp/rank$1" 2>/dev/null ||
		fail "rank $1 env $2: want '$3', got '$(grep "^$2=" \
			"$tmp/rank$1" 2>/dev/null)'"
}

recipe=$top/preflight/tp2.yaml
xml=$top/preflight/data/h200-x2-live.xml

# Usage errors: exit 2 and the exact message, no rank started.
run 2 -- "$tmp/rt.sh"
stderr_is "nam56r-launch local: -n N is required: the number of ranks"
run 2 -n 2
stderr_is "nam56r-launch local: no command: give it after --, e.g. \`-- nam56r-preflight\`"
run 2 -n 0 -- "$tmp/rt.sh"
stderr_is "nam56r-launch local: -n: '0' is not an integer in 1..64"
run 2 -n 2 --nodes 2 -- "$tmp/rt.sh"
stderr_is "nam56r-launch local: unknown option '--nodes' (the command goes after --)"
run 2 -n 2 --recipe "$recipe" --topology "$xml" --gpu-order 1,1 -- "$tmp/rt.sh"
stderr_has "nam56r-launch local: --gpu-order 1,1: each entry must be a distinct GPU index in 0..1"
run 2 -n 2 --recipe "$recipe" --topology "$xml" --gpu-order 1 -- "$tmp/rt.sh"
stderr_has "nam56r-launch local: --gpu-order 1 names 1 GPUs for 2 ranks"
run 2 -n 4 --recipe "$recipe" --topology "$xml" -- "$tmp/rt.sh"
stderr_is "nam56r-launch local: topology $xml has 2 GPUs, fewer than -n 4"
run 2 -n 2 --recipe "$tmp/missing.yaml" -- "$tmp/rt.sh"
stderr_has "$tmp/missing.yaml"
[ ! -e "$tmp/rank0" ] || fail "a rank ran despite a usage error"

# Two ranks of tp 2: the per-rank env and the argv.
run 0 -n 2 --recipe "$recipe" --master-port 29999 -- "$tmp/rt.sh" --my-flag x
for r in 0 1; do
	env_is $r RANK $r
	env_is $r LOCAL_RANK $r
	env_is $r WORLD_SIZE 2
	env_is $r MASTER_ADDR 127.0.0.1
	env_is $r MASTER_PORT 29999
	env_is $r NAM56R_TP_RANK $r
	env_is $r NAM56R_DP_RANK 0
	grep -q '^ARGV .*--tensor-model-parallel-size 2 .* --my-flag x$' \
		"$tmp/rank$r" || fail "rank $r argv: $(grep ^ARGV "$tmp/rank$r")"
done
# The generated args come first, as the exec wrapper gives them.
first=$(sed -n 's/^ARGV \([^ ]*\).*/\1/p' "$tmp/rank0")
[ "$first" != "--my-flag" ] || fail "ARGS came before the native args"
grep -q "^nam56r-launch local: 2 ranks, tp 2 pp 1 cp 1 ep 1 dp 1, master 127.0.0.1:29999, plan " \
	"$tmp/err" || fail "no summary line: $(cat "$tmp/err")"

# A free port is picked when none is given, the same for every rank.
run 0 -n 2 --recipe "$recipe" -- "$tmp/rt.sh"
p0=$(sed -n 's/^MASTER_PORT=//p' "$tmp/rank0")
p1=$(sed -n 's/^MASTER_PORT=//p' "$tmp/rank1")
[ -n "$p0" ] && [ "$p0" = "$p1" ] || fail "master ports '$p0' '$p1'"

# Islands from an XML without NVLink facts: degraded, one per GPU.
run 0 -n 2 --recipe "$recipe" --topology "$xml" -- "$tmp/rt.sh"
env_is 0 NAM56R_ISLAND 0
env_is 1 NAM56R_ISLAND 1
env_is 0 NAM56R_ISLANDS_DEGRADED 1
env_is 0 CUDA_VISIBLE_DEVICES 0,1
stderr_has "nam56r-launch local: placement: islands unknown"

# A forced GPU order, against the plan.
run 0 -n 2 --recipe "$recipe" --topology "$xml" --gpu-order 1,0 -- "$tmp/rt.sh"
env_is 0 CUDA_VISIBLE_DEVICES 1,0
env_is 1 CUDA_VISIBLE_DEVICES 1,0
stderr_has "nam56r-launch local: GPU order forced to 1,0, against the plan"

# The worst child's status wins (rank 1 exits 4, rank 0 exits 3).
RUN_ENV="EXIT_BASE=3"
run 4 -n 2 --recipe "$recipe" -- "$tmp/rt.sh"
stderr_has "nam56r-launch local: rank 1 exited with status 4"
RUN_ENV=
# A command that cannot be exec'd: 127 from every rank. Not under memcheck
# (check-valgrind): it counts the forked child's copy of the parent's heap,
# abandoned at _exit, as lost and turns 127 into its own error status.
if [ -z "${N56_LAUNCH:-}" ]; then
	run 127 -n 2 --recipe "$recipe" -- "$tmp/no-such-runtime"
	stderr_has "nam56r-launch local: exec $tmp/no-such-runtime: No such file or directory"
fi

# The site policy's preflight thresholds reach the ranks; an operator's
# export wins.
cat >"$tmp/policy.yaml" <<'EOF'
schema: 1
preflight:
  min_tp_busbw_gbps: 250
  min_dp_busbw_gbps: 40.5
EOF
run 0 -n 2 --recipe "$recipe" --policy "$tmp/policy.yaml" -- "$tmp/rt.sh"
env_is 1 NAM56R_PREFLIGHT_MIN_TP_BUSBW 250
env_is 1 NAM56R_PREFLIGHT_MIN_DP_BUSBW 40.5
RUN_ENV="NAM56R_PREFLIGHT_MIN_TP_BUSBW=5"
run 0 -n 2 --recipe "$recipe" --policy "$tmp/policy.yaml" -- "$tmp/rt.sh"
env_is 0 NAM56R_PREFLIGHT_MIN_TP_BUSBW 5
RUN_ENV=

# `nam56r-launch preflight` is local mode running nam56r-preflight.
"$bin" preflight --help >"$tmp/out" 2>&1 || fail "preflight --help"
grep -q '^usage: nam56r-launch preflight -n N' "$tmp/out" ||
	fail "preflight --help: $(head -1 "$tmp/out")"

# The preflight program, where it was built: usage without a rank env.
if [ -x "$bld/nam56r-preflight" ]; then
	"$bin" preflight --recipe "$recipe" >"$tmp/out" 2>"$tmp/err"
	[ $? = 2 ] || fail "preflight without -n: want exit 2"
	stderr_is "nam56r-launch local: -n N is required: the number of ranks"
	env -u RANK "$bld/nam56r-preflight" >"$tmp/out" 2>"$tmp/err"
	[ $? = 2 ] || fail "nam56r-preflight without RANK: want exit 2"
	stderr_has "nam56r-preflight: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT must be set"
	"$bld/nam56r-preflight" --format xml >"$tmp/out" 2>"$tmp/err"
	[ $? = 2 ] || fail "nam56r-preflight --format xml: want exit 2"
	stderr_has "nam56r-preflight: --format: 'xml' is neither text nor json"
else
	env PATH=/usr/bin:/bin "$bin" preflight -n 2 >"$tmp/out" 2>"$tmp/err"
	[ $? = 127 ] || fail "preflight without the program: want exit 127"
	stderr_is "nam56r-launch preflight: nam56r-preflight is neither beside nam56r-launch nor in PATH; it is built only where configure finds the CUDA runtime and NCCL"
fi

[ "$fails" = 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "local-cli: all checks passed"
