# shellcheck shell=bash disable=SC2154
# Cases of tests/integration/run.sh for what differs between Slurm releases
# (sourced by run.sh; they run on every release the suite runs on: the
# host's 22.05 and the chroots' 24.11 and 26.05, scripts/slurm-chroot.sh).

# The Slurm release of the running cluster, as slurmd says it: 24.11.5.
slurm_release() { slurmd -V 2>/dev/null | awk '{print $2}'; }
# release_at_least MAJOR.MINOR
release_at_least() {
	local have want
	have=$(slurm_release | awk -F. '{printf "%d%02d", $1, $2}')
	want=$(echo "$1" | awk -F. '{printf "%d%02d", $1, $2}')
	[ -n "$have" ] && [ "$have" -ge "$want" ]
}

# A step the plugin refuses on the node must fail the job, whatever the
# release: seen on 24.11, a refused step's srun returned 0 and the job
# COMPLETED 0:0. Three tasks on two nodes: sbatch and srun see no per-node
# geometry and check the recipe's smallest world (it fits); the nodes
# refuse the step from task_init (a NAM56R step runs as many ranks on each
# node). The local side must not be the one that refuses.
case_refused_step_fails_job() {
	local c; c=$(mkcase refused_step_fails_job) || return 1
	good_recipe "$c/r.yaml"
	cat >"$c/job.sh" <<EOF
#!/bin/bash
export PATH=$BIN:/usr/local/bin:/usr/bin:/bin
export N56_ECHO_DIR=$c/out
srun nam56r-launch --runtime n56-echo-runtime
rc=\$?
echo "srun exit \$rc"
exit \$rc
EOF
	local id out
	id=$(as_user "$c" sbatch --parsable -N2 -n3 --nam56r-recipe=r.yaml job.sh \
		2>"$c/sbatch.err")
	[ $? = 0 ] ||
		{ fail "sbatch refused what only the nodes can refuse: $(cat "$c/sbatch.err")"; return 1; }
	finish_job "$c" "$id" FAILED || return 1
	out=$c/slurm-$id.out
	grep -q 'nam56r: the step runs 3 tasks on 2 nodes' "$out" &&
		grep -q "step [0-9]* not started" "$out" ||
		{ fail "the job's output does not say the step was refused: $(head -5 "$out")"; return 1; }
	grep -q '^srun exit 0$' "$out" &&
		{ fail "srun of a refused step exited 0"; return 1; }
	[ -z "$(ls "$c/out")" ] || { fail "a rank of the refused step ran"; return 1; }
	[ "$(job_exit "$id")" != 0:0 ] ||
		{ fail "job $id FAILED with ExitCode=0:0"; return 1; }
	echo "    Slurm $(slurm_release): job $id FAILED ($(job_exit "$id")), $(grep -m1 '^srun exit' "$out")"
}

# Slurm 25.05+ reads slurm_spank_init_failure_mode: the plugin built for
# it must export ESPANK_JOB_FAILURE (a failed init fails the job, not the
# node); built for an older Slurm, the symbol must be absent (it would be
# meaningless there). Checked on the very .so the cluster loads.
case_init_failure_mode() {
	local c; c=$(mkcase init_failure_mode) || return 1
	command -v cc >/dev/null || { fail "no C compiler to read the plugin's symbol"; return 1; }
	cat >"$c/mode.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
#include <slurm/spank.h>
#include <slurm/slurm_version.h>
int main(int argc, char **argv)
{
	void *h = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
	if (!h) { printf("dlopen: %s\n", dlerror()); return 2; }
	int *mode = dlsym(h, "slurm_spank_init_failure_mode");
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(25, 5, 0)
	if (!mode) { printf("absent, want ESPANK_JOB_FAILURE\n"); return 1; }
	if (*mode != ESPANK_JOB_FAILURE) {
		printf("%d, want ESPANK_JOB_FAILURE (%d)\n", *mode, ESPANK_JOB_FAILURE);
		return 1;
	}
	printf("ESPANK_JOB_FAILURE\n");
#else
	if (mode) { printf("exported on a Slurm before 25.05\n"); return 1; }
	printf("absent (before 25.05)\n");
#endif
	return argc != 2;
}
EOF
	cc -o "$c/mode" "$c/mode.c" -ldl 2>"$c/cc.err" ||
		{ fail "cc: $(head -3 "$c/cc.err")"; return 1; }
	local got
	got=$("$c/mode" "$D/etc/spank_nam56r.so") ||
		{ fail "slurm_spank_init_failure_mode: $got"; return 1; }
	echo "    Slurm $(slurm_release): slurm_spank_init_failure_mode $got"
}

VERSION_CASES="refused_step_fails_job init_failure_mode"
