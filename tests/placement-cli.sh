#!/bin/sh
# `nam56r-launch placement JOBID` without slurmctld: a stand-in libslurm
# (tests/fake_slurm, loaded through NAM56R_SLURM_LIBRARY) answers
# slurm_load_job from the environment. The tables must be byte for byte
# those in tests/golden/placement-*, which the command printed when it
# still read `scontrol show job` and `scontrol show hostnames`; every
# refusal has its exit code and message.
set -u
top=$(cd "${srcdir:-.}" && pwd)
bld=$(pwd)
bin=${N56_LAUNCH:-$bld/nam56r-launch}
fake=$bld/tests/fake_slurm/.libs/libfakeslurm.so
[ -x "$bld/nam56r-launch" ] || { echo "SKIP: $bld/nam56r-launch not built"; exit 77; }
[ -r "$fake" ] || { echo "SKIP: $fake not built (configure found no libslurm, so placement is not built to use it)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

rec="nam56r:1 sha256=ab12cd34ef56 world=16 nodes=2 gpn=8 tp=2 cp=1 ep=2 etp=1 dp=4 pp=2 vpp=2 order=tp-cp-ep-dp-pp islands=4+4 master=gpu07:29517"

# run WANT_STATUS [VAR=value...] -- ARGS...: placement with the stand-in;
# stdout in $tmp/out, stderr in $tmp/err.
run() {
	want=$1; shift
	(
		unset FAKE_SLURM_COMMENT FAKE_SLURM_ADMIN_COMMENT \
			FAKE_SLURM_NODES FAKE_SLURM_ERRNO FAKE_SLURM_ARRAY
		NAM56R_SLURM_LIBRARY=$fake
		export NAM56R_SLURM_LIBRARY
		while [ $# -gt 0 ] && [ "$1" != -- ]; do
			export "$1"
			shift
		done
		shift
		exec "$bin" placement "$@"
	) >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$got" -eq "$want" ] ||
		fail "exit $got, not $want: $* ($(cat "$tmp/err"))"
}

expect_err() {
	grep -qxF "nam56r-launch placement: $1" "$tmp/err" ||
		fail "stderr is '$(cat "$tmp/err")', not 'nam56r-launch placement: $1'"
}

# The tables, as the scontrol version printed them.
run 0 FAKE_SLURM_COMMENT="my sweep 3 | $rec" FAKE_SLURM_NODES='gpu[07-08]' -- 42
cmp -s "$tmp/out" "$top/tests/golden/placement-42.txt" ||
	fail "text table differs: $(diff "$top/tests/golden/placement-42.txt" "$tmp/out" | head -5)"
run 0 FAKE_SLURM_COMMENT="my sweep 3 | $rec" FAKE_SLURM_NODES='gpu[07-08]' -- 42 --format json
cmp -s "$tmp/out" "$top/tests/golden/placement-42.json" ||
	fail "JSON differs: $(diff "$top/tests/golden/placement-42.json" "$tmp/out" | head -5)"
# The record in AdminComment; a node list of two brackets per name.
run 0 FAKE_SLURM_ADMIN_COMMENT="$rec" FAKE_SLURM_NODES='rack[1-2]-n[01]' -- 43
cmp -s "$tmp/out" "$top/tests/golden/placement-43.txt" ||
	fail "AdminComment table differs: $(diff "$top/tests/golden/placement-43.txt" "$tmp/out" | head -5)"
# An array task: JOBID_TASK picks its record (task 1 runs on gpu[07-08]).
run 0 FAKE_SLURM_ARRAY=1 FAKE_SLURM_COMMENT="my sweep 3 | $rec" FAKE_SLURM_NODES='gpu[07-08]' -- 42_1
sed 1d "$tmp/out" >"$tmp/rows"
sed 1d "$top/tests/golden/placement-42.txt" | cmp -s - "$tmp/rows" ||
	fail "array task 42_1: the table is not task 1's"
head -n 1 "$tmp/out" | grep -q '^job 42_1: nam56r:1 ' || fail "array task 42_1: header '$(head -n 1 "$tmp/out")'"
run 0 FAKE_SLURM_ARRAY=1 FAKE_SLURM_COMMENT="$rec" FAKE_SLURM_NODES='gpu[07-08]' -- 42_0
grep -q ' gpu01 ' "$tmp/out" && ! grep -q ' gpu07 ' "$tmp/out" ||
	fail "array task 42_0: not on gpu[01-02]"
run 1 FAKE_SLURM_ARRAY=1 FAKE_SLURM_COMMENT="$rec" -- 42_5
expect_err "slurmctld knows no job 42_5"

# Refusals: exit 2 for a job without a usable record, 1 for failures.
run 2 FAKE_SLURM_COMMENT=hello FAKE_SLURM_NODES='gpu[07-08]' -- 44
expect_err "job 44 has no nam56r placement record (it was not submitted with --nam56r-recipe, no step has started yet, or the site publishes none)"
run 2 FAKE_SLURM_COMMENT="nam56r:1 world=x" FAKE_SLURM_NODES='gpu[07-08]' -- 45
expect_err "job 45 Comment: placement record: bad value world=x"
run 2 FAKE_SLURM_COMMENT="$rec" FAKE_SLURM_NODES=gpu07 -- 46
expect_err "the record says 2 nodes but job 46 has 1 (gpu07)"
run 2 FAKE_SLURM_COMMENT="$rec" -- 47
expect_err "job 47 has no node list yet"
run 1 FAKE_SLURM_COMMENT="$rec" FAKE_SLURM_NODES='gpu[07-0x]' -- 48
expect_err "job 48: its node list: bad host list 'gpu[07-0x]': '[07-0x]' is not a list of numbers and ranges like [1-18] or [001-004,010]"
run 1 FAKE_SLURM_ERRNO=invalid_job_id -- 404
expect_err "slurm_load_job(404): Invalid job id specified"
run 1 -- 12_
expect_err "'12_' is not a job id (JOBID or JOBID_TASK)"
run 2 -- 12x
grep -q '^usage: nam56r-launch placement JOBID' "$tmp/err" || fail "12x: no usage"
# Without libslurm on the node: said plainly, exit 1.
run 1 NAM56R_SLURM_LIBRARY="$tmp/libslurm.so.0" -- 42
grep -q "^nam56r-launch placement: cannot load $tmp/libslurm.so.0 (.*): placement reads the job from slurmctld through Slurm's client library; run it where Slurm's commands work\$" "$tmp/err" ||
	fail "no libslurm: '$(cat "$tmp/err")'"

# A library that is not libslurm.
other=$bld/tests/fake_nvml/.libs/libfakenvml.so
if [ -r "$other" ]; then
	run 1 NAM56R_SLURM_LIBRARY="$other" -- 42
	expect_err "$other has no slurm_load_job, slurm_free_job_info_msg or slurm_strerror"
fi

[ "$fails" -eq 0 ] && echo "PASS: placement with a stand-in libslurm"
[ "$fails" -eq 0 ]
