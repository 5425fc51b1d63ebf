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
	# The module is linked with -z now (BIND_NOW): what it takes from
	# Slurm's process (spank_*, slurm_info, ...) must resolve at dlopen.
	# Stand-ins, exported by the reader (-rdynamic), in a file of their own
	# (no spank.h prototypes to clash with).
	nm -D --undefined-only "$D/etc/spank_nam56r.so" | awk '{print $NF}' |
		grep -E '^(spank|slurm)_' | sed 's/.*/void &(void) {}/' >"$c/stubs.c"
	cc -rdynamic -o "$c/mode" "$c/mode.c" "$c/stubs.c" -ldl 2>"$c/cc.err" ||
		{ fail "cc: $(head -3 "$c/cc.err")"; return 1; }
	local got
	got=$("$c/mode" "$D/etc/spank_nam56r.so") ||
		{ fail "slurm_spank_init_failure_mode: $got"; return 1; }
	echo "    Slurm $(slurm_release): slurm_spank_init_failure_mode $got"
}

# plugstack wrap=PATH (off by default): where Slurm has
# spank_prepend_task_argv (23.11+), `srun --nam56r-recipe=r.yaml RUNTIME
# ARGS` runs through nam56r-launch: ranks get exactly what
# `srun nam56r-launch` gives them, a step running anything but the
# recipe's runtime is refused on the node. Before 23.11 the key is refused.
wrap_begin() { # name $BIN/nam56r-launch in plugstack.conf
	cp "$D/etc/plugstack.conf" "$D/etc/plugstack.conf.wrap" &&
		sed -i "/spank_nam56r.so/s|\$| wrap=$BIN/nam56r-launch|" \
			"$D/etc/plugstack.conf"
}
wrap_end() { mv "$D/etc/plugstack.conf.wrap" "$D/etc/plugstack.conf"; }

case_wrap_runs_launch() {
	local c; c=$(mkcase wrap_runs_launch) || return 1
	good_recipe "$c/r.yaml"
	sed -i 's/^  command: \[python3, pretrain_hybrid.py\]$/  command: [n56-echo-runtime]/' "$c/r.yaml"
	grep -q '^  command: \[n56-echo-runtime\]$' "$c/r.yaml" ||
		{ fail "examples/nam56r.yaml has no 'command: [python3, pretrain_hybrid.py]' line"; return 1; }
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	wrap_begin || { fail "cannot edit plugstack.conf"; return 1; }
	local rc=0 out
	if ! release_at_least 23.11; then
		out=$(as_user "$c" srun -N1 -n1 --nam56r-recipe=r.yaml n56-echo-runtime 2>&1) &&
			{ fail "srun ran with wrap= on Slurm $(slurm_release): $out"; rc=1; }
		echo "$out" | grep -qF "nam56r: plugstack.conf: wrap=$BIN/nam56r-launch needs Slurm 23.11 or later (spank_prepend_task_argv)" ||
			{ fail "srun said: $out"; rc=1; }
		wrap_end
		[ $rc = 0 ] && echo "    Slurm $(slurm_release): $(echo "$out" | grep -m1 'wrap=')"
		return $rc
	fi
	# The runtime named directly, with a user arg: as srun nam56r-launch.
	as_user "$c" env N56_ECHO_DIR="$c/out" timeout 60 srun -N"$NNODES" \
		--ntasks-per-node="$GPN" --gpus-per-node="$GPN" --nam56r-recipe=r.yaml \
		n56-echo-runtime --log-interval 10 >"$c/srun.out" 2>&1 ||
		{ fail "srun exited $?: $(head -5 "$c/srun.out")"; rc=1; }
	[ $rc = 0 ] && { check_ranks "$c" --sha256 "$(sha256_of "$c/r.yaml")" \
		--append=--log-interval --append=10 || rc=1; }
	# A user arg that contradicts a generated one: refused by nam56r-launch.
	rm -rf "$c/out"/*
	as_user "$c" env N56_ECHO_DIR="$c/out" timeout 60 srun -N"$NNODES" \
		--ntasks-per-node="$GPN" --gpus-per-node="$GPN" --nam56r-recipe=r.yaml \
		n56-echo-runtime --micro-batch-size 8 >"$c/contra.out" 2>&1 &&
		{ fail "a contradicting arg ran"; rc=1; }
	grep -q "contradicts the generated '--micro-batch-size 4'" "$c/contra.out" ||
		{ fail "no contradiction message: $(head -3 "$c/contra.out")"; rc=1; }
	# Anything but the recipe's runtime: refused on the node.
	as_user "$c" timeout 60 srun -N"$NNODES" --ntasks-per-node="$GPN" \
		--gpus-per-node="$GPN" --nam56r-recipe=r.yaml hostname >"$c/other.out" 2>&1 &&
		{ fail "srun hostname ran as a wrapped NAM56R step"; rc=1; }
	grep -q "nam56r: the step runs 'hostname'; with wrap= a NAM56R step runs the recipe's runtime.command 'n56-echo-runtime'" "$c/other.out" ||
		{ fail "no refusal message: $(head -3 "$c/other.out")"; rc=1; }
	[ -z "$(ls "$c/out")" ] || { fail "ranks ran in a refused step"; rc=1; }
	wrap_end
	[ $rc = 0 ] && echo "    Slurm $(slurm_release): 16 ranks via wrap=; $(grep -m1 -o "nam56r: the step runs 'hostname'.*" "$c/other.out" | cut -c1-90)..."
	return $rc
}

# srun with --export=LIST from the login node: the tasks' environment is
# only what the list names (and Slurm's own), so the recipe must reach them
# through Slurm's SPANK option forwarding and the job control environment,
# not the exported environment. 24.05 changed how options travel under
# --export; every rank must still get the plan on every release.
case_srun_export_list() {
	local c; c=$(mkcase srun_export_list) || return 1
	good_recipe "$c/r.yaml"
	plan_json "$c/r.yaml" "$c/plan.json" || return 1
	as_user "$c" env N56_ECHO_DIR="$c/out" timeout 60 srun -N"$NNODES" \
		--ntasks-per-node="$GPN" --gpus-per-node="$GPN" \
		--export=PATH,N56_ECHO_DIR --nam56r-recipe=r.yaml \
		nam56r-launch --runtime n56-echo-runtime >"$c/srun.out" 2>&1 ||
		{ fail "srun exited $?: $(head -5 "$c/srun.out")"; return 1; }
	check_ranks "$c" --sha256 "$(sha256_of "$c/r.yaml")" || return 1
	echo "    Slurm $(slurm_release): 16 ranks under --export=PATH,N56_ECHO_DIR"
}

# shellcheck disable=SC2034 # run.sh appends these to its ALL_CASES
VERSION_CASES="refused_step_fails_job init_failure_mode wrap_runs_launch
srun_export_list"
